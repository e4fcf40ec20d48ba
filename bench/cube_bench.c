/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_bench.c - speed and memory of the in-memory cube on a national-size synthetic stock.
 *
 * Builds, through the public builder API only, a deterministic synthetic France (18 régions,
 * 101 départements, 1,212 EPCI (12 per département), 35,000 communes, 400 landlords) and ROWS dwelling versions
 * (default 5.4 M: about 5 % with an older version, so as-of and evolution have history), then
 * times: the build, the full commune table with every indicator at 1/1/2025, the EPCI,
 * département and landlord tables, one commune, one EPCI and one département. Prints
 * human-readable lines and machine-readable "RESULT name value unit" lines.
 *
 * Usage: cube_bench [rows] [threads]
 */
#include "datahabitat/cube.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint32_t rndn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the whole process (all threads): on a busy machine the wall clock also
 * counts time spent waiting for a core, the CPU time does not. */
static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double last_cpu; /* CPU seconds of the best run of the last time_query() */

static dh_str s(const char *t)
{
	return (dh_str){ t, strlen(t) };
}

#define NREG 18
#define NDEP 101
#define NEPCI 1255
#define NCOM 35000
#define NLANDLORDS 400

static void die(const char *what, const dh_error *err)
{
	fprintf(stderr, "cube_bench: %s: %s\n", what, err->message);
	exit(1);
}

/* Best of `reps` runs of a query, in seconds. */
static double time_query(const dh_cube *cube, const dh_cube_query *q, int reps, size_t *rows)
{
	double best = 1e9;
	for (int r = 0; r < reps; r++) {
		dh_cube_table *t;
		dh_error err;
		double t0 = now(), c0 = cpu();
		if (dh_cube_query_run(cube, q, &t, &err) != DH_OK)
			die("requête", &err);
		double dt = now() - t0, dc = cpu() - c0;
		if (dt < best) {
			best = dt;
			last_cpu = dc;
		}
		*rows = t->nrows;
		dh_cube_table_free(t);
	}
	return best;
}

/*
 * Best CPU time of `reps` runs of a query, each at a reference date not queried before (so neither
 * the per-date commune counters nor anything else computed for a date can be reused): the
 * cost of the first query at a new date. Dates are taken from *next_day, in 2024.
 */
static double time_fresh(const dh_cube *cube, dh_cube_query q, int reps, int *next_day,
			 size_t *rows)
{
	double best = 1e9;
	for (int r = 0; r < reps; r++) {
		int d = (*next_day)++;
		q.reference_date = 20240000 + (1 + d / 28 % 12) * 100 + 1 + d % 28;
		time_query(cube, &q, 1, rows);
		if (last_cpu < best)
			best = last_cpu;
	}
	last_cpu = best;
	return best;
}

int main(int argc, char **argv)
{
	size_t nrows = argc > 1 ? strtoul(argv[1], NULL, 10) : 5400000;
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	dh_error err;
	dh_cube_builder *b;
	if (dh_cube_builder_new(&b) != DH_OK)
		return 1;

	double t0 = now();
	char code[16], epci[16], dep[8], reg[8], name[32];
	for (int c = 0; c < NCOM; c++) {
		/* EPCI inside a département, as in reality: about 12 per département */
		int d = c % NDEP, e = (d * 12 + (c / NDEP) % 12) % NEPCI;
		snprintf(code, sizeof(code), "%02d%03d", d + 1, c / NDEP);
		snprintf(epci, sizeof(epci), "2%08d", e);
		snprintf(dep, sizeof(dep), "%02d", d + 1);
		snprintf(reg, sizeof(reg), "%02d", d % NREG + 1);
		snprintf(name, sizeof(name), "Commune %d", c);
		dh_cube_commune cc = { code, name, epci, "EPCI", dep, "Département", reg, "Région" };
		if (dh_cube_builder_add_commune(b, &cc, NULL, &err) != DH_OK)
			die("commune", &err);
	}
	for (int l = 0; l < NLANDLORDS; l++) {
		snprintf(code, sizeof(code), "%09d", 200000000 + l);
		if (dh_cube_builder_add_landlord(b, code, "Bailleur", NULL, &err) != DH_OK)
			die("bailleur", &err);
	}
	static const char *const modes[] = { "1", "1", "1", "1", "1", "1", "1", "1", "1", "1",
					     "1", "1", "1", "1", "1", "1", "1", "2", "3", "4", "5", "9" };
	static const char *const finans[] = { "10", "11", "12", "13", "13", "13", "14", "15",
					      "16", "17", "49", "50", "51", "52", "53", "99" };
	static const char *const classes[] = { "A", "B", "C", "D", "D", "E", "E", "F", "G" };
	static const char *const tc[] = { "C", "C", "C", "I", "E" };
	static const char *const orig[] = { "1", "2", "3", "4" };
	static const char *const sortie[] = { "", "", "", "", "", "", "", "", "", "1", "4" };
	char qpvcode[16];
	size_t made = 0;
	while (made < nrows) {
		/* skewed commune sizes: a few big towns, many small ones */
		uint32_t u = rndn(1000);
		int32_t commune = u < 300 ? (int32_t)rndn(300) : (int32_t)rndn(NCOM);
		dh_cube_version v = { 0 };
		v.landlord = (int32_t)((uint32_t)commune * 7 % NLANDLORDS);
		if (rndn(4) == 0)
			v.landlord = (int32_t)rndn(NLANDLORDS);
		v.commune = commune;
		v.valid_from = 20230101;
		v.mode = s(modes[rndn(22)]);
		v.typeconst = s(tc[rndn(5)]);
		v.finan = s(finans[rndn(16)]);
		v.dpedate = rndn(10) == 0 ? 19000100 : 20210600;
		v.dpe_energie = s(classes[rndn(9)]);
		v.dpe_serre = s(classes[rndn(9)]);
		int inqpv = rndn(5) == 0;
		v.qpv = s(inqpv ? "1" : "2");
		if (inqpv) {
			snprintf(qpvcode, sizeof(qpvcode), "QN%03d%02dM", commune % 999, (int)rndn(3));
			v.qpv_code = s(qpvcode);
		}
		v.origine = s(orig[rndn(4)]);
		v.sortiepatrim = s(sortie[rndn(11)]);
		v.nbpiece = 1 + (int32_t)rndn(6);
		v.construct = 1900 + (int32_t)rndn(125);
		v.locat = v.construct + (int32_t)rndn(3);
		if (v.locat > 2024)
			v.locat = 2024;
		v.bail = (2000 + (int32_t)rndn(25)) * 10000 + (1 + (int32_t)rndn(12)) * 100;
		v.remlocdate = (2023 + (int32_t)rndn(2)) * 10000 + (1 + (int32_t)rndn(12)) * 100;
		v.loyerprinc = rndn(50) == 0 ? 9999 : 200 + rndn(500);
		v.surfhab = 20 + rndn(100);
		if (rndn(20) == 0 && made + 1 < nrows) {
			/* an older version, replaced on 1/1/2025 */
			dh_cube_version old = v;
			old.valid_to = 20250101;
			old.mode = s("2");
			if (dh_cube_builder_add(b, &old, &err) != DH_OK)
				die("version", &err);
			v.valid_from = 20250101;
			made++;
		}
		if (dh_cube_builder_add(b, &v, &err) != DH_OK)
			die("version", &err);
		made++;
	}
	double t_feed = now() - t0;
	dh_cube *cube;
	t0 = now();
	if (dh_cube_builder_finish(b, &cube, &err) != DH_OK)
		die("construction", &err);
	double t_finish = now() - t0;
	dh_cube_builder_free(b);

	size_t rows;
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101, .threads = threads };
	double t_com = time_query(cube, &q, 5, &rows);
	printf("commune table, all %zu indicators: %.1f ms wall, %.1f ms CPU (%zu communes)\n",
	       dh_indicator_count(), t_com * 1e3, last_cpu * 1e3, rows);
	double c_com = last_cpu;
	q.threads = 1;
	double t_com1 = time_query(cube, &q, 3, &rows);
	printf("commune table, one thread:        %.1f ms wall, %.1f ms CPU\n", t_com1 * 1e3, last_cpu * 1e3);
	double c_com1 = last_cpu;
	q.threads = threads;
	q.level = DH_LEVEL_EPCI;
	double t_epci = time_query(cube, &q, 3, &rows);
	printf("EPCI table:                       %.1f ms wall, %.1f ms CPU (%zu EPCI)\n", t_epci * 1e3, last_cpu * 1e3, rows);
	q.level = DH_LEVEL_DEPARTEMENT;
	double t_dep = time_query(cube, &q, 3, &rows);
	printf("département table:                %.1f ms wall, %.1f ms CPU (%zu)\n", t_dep * 1e3, last_cpu * 1e3, rows);
	q.level = DH_LEVEL_LANDLORD;
	double t_ll = time_query(cube, &q, 3, &rows);
	printf("landlord table:                   %.1f ms wall, %.1f ms CPU (%zu)\n", t_ll * 1e3, last_cpu * 1e3, rows);
	q.level = DH_LEVEL_ALL;
	double t_all = time_query(cube, &q, 3, &rows);
	printf("whole cube:                       %.1f ms wall, %.1f ms CPU\n", t_all * 1e3, last_cpu * 1e3);
	q.level = DH_LEVEL_COMMUNE;
	q.territory = "01001"; /* one of the big towns */
	double t_one = time_query(cube, &q, 20, &rows);
	printf("one commune:                      %.3f ms wall, %.3f ms CPU\n", t_one * 1e3, last_cpu * 1e3);
	q.level = DH_LEVEL_EPCI;
	q.territory = "200000001";
	double t_one_epci = time_query(cube, &q, 20, &rows);
	printf("one EPCI:                         %.3f ms wall, %.3f ms CPU\n", t_one_epci * 1e3, last_cpu * 1e3);
	q.level = DH_LEVEL_DEPARTEMENT;
	q.territory = "35";
	double t_one_dep = time_query(cube, &q, 10, &rows);
	printf("one département:                  %.3f ms wall, %.3f ms CPU\n", t_one_dep * 1e3, last_cpu * 1e3);

	/* First queries at dates never queried before (nothing cached for them). */
	int day = 0;
	q.territory = NULL;
	q.level = DH_LEVEL_COMMUNE;
	double f_com = time_fresh(cube, q, 5, &day, &rows);
	printf("commune table, new date:          %.1f ms CPU (best of 5 dates)\n", f_com * 1e3);
	q.threads = 1;
	double f_com1 = time_fresh(cube, q, 3, &day, &rows);
	printf("commune table, new date, 1 thread: %.1f ms CPU\n", f_com1 * 1e3);
	q.threads = threads;
	q.territory = "01001";
	double f_one = time_fresh(cube, q, 20, &day, &rows);
	printf("one commune, new date:            %.3f ms CPU\n", f_one * 1e3);
	q.level = DH_LEVEL_EPCI;
	q.territory = "200000001";
	double f_one_epci = time_fresh(cube, q, 20, &day, &rows);
	printf("one EPCI, new date:               %.3f ms CPU\n", f_one_epci * 1e3);
	q.level = DH_LEVEL_DEPARTEMENT;
	q.territory = "35";
	double f_one_dep = time_fresh(cube, q, 10, &day, &rows);
	printf("one département, new date:        %.3f ms CPU\n", f_one_dep * 1e3);

	double bpd = (double)dh_cube_memory(cube) / (double)dh_cube_row_count(cube);
	printf("rows %zu, build %.2f s (feed %.2f s, sort+freeze %.2f s), %.1f bytes per row\n",
	       dh_cube_row_count(cube), t_feed + t_finish, t_feed, t_finish, bpd);

	printf("RESULT cube.rows %zu rows\n", dh_cube_row_count(cube));
	printf("RESULT cube.build_s %.3f s\n", t_feed + t_finish);
	printf("RESULT cube.commune_table_ms %.2f ms\n", t_com * 1e3);
	printf("RESULT cube.commune_table_1thread_ms %.2f ms\n", t_com1 * 1e3);
	printf("RESULT cube.commune_table_cpu_ms %.2f ms\n", c_com * 1e3);
	printf("RESULT cube.commune_table_1thread_cpu_ms %.2f ms\n", c_com1 * 1e3);
	printf("RESULT cube.epci_table_ms %.2f ms\n", t_epci * 1e3);
	printf("RESULT cube.departement_table_ms %.2f ms\n", t_dep * 1e3);
	printf("RESULT cube.landlord_table_ms %.2f ms\n", t_ll * 1e3);
	printf("RESULT cube.one_commune_ms %.3f ms\n", t_one * 1e3);
	printf("RESULT cube.one_epci_ms %.3f ms\n", t_one_epci * 1e3);
	printf("RESULT cube.one_departement_ms %.3f ms\n", t_one_dep * 1e3);
	printf("RESULT cube.new_date_commune_table_cpu_ms %.2f ms\n", f_com * 1e3);
	printf("RESULT cube.new_date_commune_table_1thread_cpu_ms %.2f ms\n", f_com1 * 1e3);
	printf("RESULT cube.new_date_one_commune_cpu_ms %.3f ms\n", f_one * 1e3);
	printf("RESULT cube.new_date_one_epci_cpu_ms %.3f ms\n", f_one_epci * 1e3);
	printf("RESULT cube.new_date_one_departement_cpu_ms %.3f ms\n", f_one_dep * 1e3);
	printf("RESULT cube.bytes_per_row %.1f B\n", bpd);
	dh_cube_release(cube);
	return 0;
}
