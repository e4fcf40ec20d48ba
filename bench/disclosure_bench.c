/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure_bench.c - times disclosure control on a région-size table: 1,202 communes,
 * 60 EPCI, 4 départements and the région (1,267 rows) x ~80 indicator columns with the
 * hierarchy, margins, rate links and the collective / individual filter as relations,
 * default policy (public audience). Prints human-readable lines and "RESULT name value unit"
 * lines. Built and run by bench/disclosure, not by make check.
 */
#include <stdio.h>
#include <time.h>

#include "../tests/unit/disclosure_gen.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21;
	if (runs < 1 || runs > 1000)
		runs = 21;
	gen_params p = { 42, 4, 60, 1202, 20, 1, 1 };
	gen_table g;
	if (gen_build(&g, &p) != 0) {
		fprintf(stderr, "disclosure_bench: out of memory\n");
		return 1;
	}
	size_t cols[GEN_MAX_COLS];
	for (size_t c = 0; c < g.cols; c++)
		cols[c] = c;
	printf("table: %zu rows x %zu columns = %zu cells, %zu dwellings\n", g.rows, g.cols,
	       g.rows * g.cols, g.dwellings);

	dh_disclosure_policy policy;
	dh_disclosure_policy_default(&policy);
	double *cold = malloc((size_t)runs * sizeof(double));
	double *warm = malloc((size_t)runs * sizeof(double));
	double *fill = malloc((size_t)runs * sizeof(double));
	double *noaudit = malloc((size_t)runs * sizeof(double));
	dh_disclosure_stats st = { 0 }, st_noaudit = { 0 };
	dh_disclosure_table *t = NULL;
	if (!cold || !warm || !fill || !noaudit)
		return 1;
	for (int i = 0; i < runs; i++) {
		/* cold: new table, fill and declare (timed apart), then expand the relations and
		 * apply */
		double t0 = now_ms();
		dh_disclosure_table_free(t);
		t = NULL;
		if (dh_disclosure_table_new(&t, g.rows, g.cols, NULL) != DH_OK ||
		    gen_fill(&g, t, cols, g.cols) != 0)
			return 1;
		double t1 = now_ms();
		if (dh_disclosure_apply(t, &policy, &st, NULL) != DH_OK)
			return 1;
		double t2 = now_ms();
		fill[i] = t1 - t0;
		cold[i] = t2 - t1;
		/* warm: same shape, cells rewritten, relations cached (a query after another) */
		dh_disclosure_cell *cells = dh_disclosure_table_cells(t);
		for (size_t k = 0; k < g.rows * g.cols; k++)
			cells[k].status = cells[k].reason = 0;
		double t3 = now_ms();
		if (dh_disclosure_apply(t, &policy, &st, NULL) != DH_OK)
			return 1;
		warm[i] = now_ms() - t3;
		dh_disclosure_policy fast = policy;
		fast.audit_max_unknowns = 0;
		fast.lp_audit = 0;
		double t4 = now_ms();
		if (dh_disclosure_apply(t, &fast, &st_noaudit, NULL) != DH_OK)
			return 1;
		noaudit[i] = now_ms() - t4;
	}
	qsort(cold, (size_t)runs, sizeof(double), cmp_double);
	qsort(warm, (size_t)runs, sizeof(double), cmp_double);
	qsort(fill, (size_t)runs, sizeof(double), cmp_double);
	qsort(noaudit, (size_t)runs, sizeof(double), cmp_double);
	double cells = (double)(g.rows * g.cols);
	printf("relations: %zu; primary %zu (%.1f %%), secondary %zu (%.1f %%, of which audit %zu),"
	       " empty %zu\n", st.relations, st.primary, 100.0 * (double)st.primary / cells,
	       st.secondary, 100.0 * (double)st.secondary / cells, st.audit_added, st.empty);
	printf("interval audit: %zu sensitive cells, %zu programs, %zu cells added, %zu unresolved\n",
	       st.lp_cells, st.lp_solves, st.lp_added, st.lp_unresolved);
	printf("audit: %zu groups solved, %zu groups above the limit of %u cells\n",
	       st.audit_groups, st.audit_skipped, policy.audit_max_unknowns);
	printf("median of %d runs: fill + declare %.2f ms, cold apply (relations expanded) %.2f ms, "
	       "warm apply %.2f ms, warm apply without audit %.2f ms (secondary %zu)\n", runs, fill[runs / 2],
	       cold[runs / 2], warm[runs / 2], noaudit[runs / 2], st_noaudit.secondary);
	printf("RESULT disclosure_cold_ms %.3f ms\n", cold[runs / 2]);
	printf("RESULT disclosure_warm_ms %.3f ms\n", warm[runs / 2]);
	printf("RESULT disclosure_noaudit_ms %.3f ms\n", noaudit[runs / 2]);
	printf("RESULT disclosure_primary_share %.4f ratio\n", (double)st.primary / cells);
	printf("RESULT disclosure_secondary_share %.4f ratio\n", (double)st.secondary / cells);
	dh_disclosure_table_free(t);
	free(cold);
	free(warm);
	free(fill);
	free(noaudit);
	gen_free(&g);
	return 0;
}
