/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * figures_bench.c - end-to-end time of the governed public commune table: dh_figures_query()
 * with a public identity and a public agreement (all indicators), level commune, on a store
 * (e.g. a copy of the demo database), the cube already built. The store gets one public
 * agreement (and one audit entry per query): run it on a copy. Prints the median, minimum
 * and maximum of RUNS queries, CPU and wall, as human-readable lines and
 * "RESULT name value unit" lines.
 *
 * Usage: figures_bench DB [runs] [yyyymmdd]
 */
#include "datahabitat/access.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const dh_actor bench_actor = { DH_ACTOR_SYSTEM, NULL, 0 };

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: figures_bench DB [runs] [yyyymmdd]\n");
		return 2;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	if (runs < 1 || runs > 10000)
		runs = 20;
	dh_error err;
	dh_error_clear(&err);
	dh_store *store = NULL;
	dh_geo *geo = NULL;
	dh_cube *cube = NULL;
	if (dh_store_open(&store, argv[1], 0, &err) != DH_OK ||
	    dh_geo_load(&geo, dh_geo_default_dir(), &err) != DH_OK) {
		fprintf(stderr, "figures_bench: %s\n", err.message);
		return 1;
	}
	int32_t date = argc > 3 ? atoi(argv[3]) : 0;
	if (!date && dh_store_latest_reference_date(store, &date, &err) != DH_OK) {
		fprintf(stderr, "figures_bench: %s\n", err.message);
		return 1;
	}
	double t0 = clock_s(CLOCK_MONOTONIC);
	if (dh_cube_build_from_store(store, geo, &cube, NULL, &err) != DH_OK) {
		fprintf(stderr, "figures_bench: %s\n", err.message);
		return 1;
	}
	printf("cube: %zu rows, %.0f ms to build, %zu bytes\n", dh_cube_row_count(cube),
	       (clock_s(CLOCK_MONOTONIC) - t0) * 1e3, dh_cube_memory(cube));
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	if (dh_audience_parse("public", &a, &err) != DH_OK ||
	    dh_territory_parse("all", &a.territory, &err) != DH_OK) {
		fprintf(stderr, "figures_bench: %s\n", err.message);
		return 1;
	}
	snprintf(a.indicators, sizeof(a.indicators), "all");
	snprintf(a.purpose, sizeof(a.purpose), "benchmark");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "benchmark");
	snprintf(a.start, sizeof(a.start), "2000-01-01");
	snprintf(a.end, sizeof(a.end), "2099-12-31");
	if (dh_agreement_add(store, &a, &bench_actor, &err) != DH_OK) {
		fprintf(stderr, "figures_bench: %s\n", err.message);
		return 1;
	}
	dh_identity who;
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "bench-public");
	who.role = DH_ROLE_PUBLIC;
	dh_territory_parse("all", &who.territory, NULL);
	dh_figures_request req = { .level = DH_LEVEL_COMMUNE, .reference_date = date,
				   .today = "2025-06-01" };
	double *cpu = malloc((size_t)runs * sizeof(double)), *wall = malloc((size_t)runs * sizeof(double));
	if (!cpu || !wall)
		return 1;
	size_t rows = 0, cols = 0, hidden = 0;
	uint64_t digest = 0;
	for (int i = 0; i < runs; i++) {
		dh_figures_result *r = NULL;
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
		int rc = dh_figures_query(store, geo, cube, &who, &req, &r, &err);
		wall[i] = (clock_s(CLOCK_MONOTONIC) - w0) * 1e3;
		cpu[i] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3;
		if (rc != DH_OK) {
			fprintf(stderr, "figures_bench: %s\n", err.message);
			return 1;
		}
		rows = r->nrows, cols = r->ncols, hidden = r->hidden;
		digest = 1469598103934665603ull; /* FNV-1a of statuses and values: compare builds */
		for (size_t k = 0; k < rows * cols; k++) {
			uint64_t bits;
			memcpy(&bits, &r->values[k], sizeof(bits));
			digest = (digest ^ r->status[k]) * 1099511628211ull;
			digest = (digest ^ bits) * 1099511628211ull;
		}
		dh_figures_result_free(r);
	}
	qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
	qsort(wall, (size_t)runs, sizeof(double), cmp_double);
	printf("public commune table at %d: %zu rows x %zu cols, %zu hidden cells, digest %016llx\n",
	       (int)date, rows, cols, hidden, (unsigned long long)digest);
	printf("%d runs: CPU median %.1f ms (min %.1f, max %.1f); wall median %.1f ms (min %.1f, max %.1f)\n",
	       runs, cpu[runs / 2], cpu[0], cpu[runs - 1], wall[runs / 2], wall[0], wall[runs - 1]);
	printf("RESULT figures_public_commune_cpu_median %.2f ms\n", cpu[runs / 2]);
	printf("RESULT figures_public_commune_wall_median %.2f ms\n", wall[runs / 2]);
	printf("RESULT figures_public_commune_hidden %zu cells\n", hidden);
	free(cpu);
	free(wall);
	dh_cube_release(cube);
	dh_geo_free(geo);
	dh_store_close(store);
	return 0;
}
