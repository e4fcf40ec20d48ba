/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_files.c - the cube on a generated stock: reads every rpls-<SIREN>.csv of a directory
 * (from `datahabitat gen stock`) through the validator's typed rows into the cube builder,
 * then times the build, the memory per dwelling and the queries. Prints human-readable lines
 * and "RESULT name value unit" lines (bench/cube).
 *
 * Usage: cube_files DIR [threads]
 */
#include "datahabitat/cube.h"
#include "datahabitat/validate.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident memory of the process, in bytes (/proc/self/statm). */
static double rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (double)res * 4096.0;
}

static void die(const char *what, const dh_error *err)
{
	fprintf(stderr, "cube_files: %s: %s\n", what, err ? err->message : "");
	exit(1);
}

typedef struct feed {
	dh_cube_builder *b;
	int32_t landlord;
	size_t rows, rejected;
} feed;

static int on_row(void *ctx, const dh_rpls_row *row, int has_errors)
{
	feed *f = ctx;
	if (has_errors) {
		f->rejected++;
		return DH_OK;
	}
	dh_cube_version v;
	dh_cube_version_from_rpls(&v, row);
	v.landlord = f->landlord;
	v.valid_from = 20250101;
	dh_error err;
	if (dh_cube_builder_add(f->b, &v, &err) != DH_OK)
		die("version", &err);
	f->rows++;
	return DH_OK;
}

/* One query: best wall time of reps runs, and its CPU time (all threads). */
static dh_cube_table *timed(const dh_cube *c, const dh_cube_query *q, int reps, double *wall,
			    double *cpu)
{
	dh_cube_table *keep = NULL;
	*wall = 1e9;
	for (int r = 0; r < reps; r++) {
		dh_cube_table *t;
		dh_error err;
		double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (dh_cube_query_run(c, q, &t, &err) != DH_OK)
			die("requête", &err);
		double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (dt < *wall) {
			*wall = dt;
			*cpu = dc;
		}
		dh_cube_table_free(keep);
		keep = t;
	}
	return keep;
}

/* Code of the row with the most dwellings (nb_ls) of a table. */
static const char *biggest(const dh_cube_table *t)
{
	int col = dh_cube_table_column(t, "nb_ls");
	size_t best = 0;
	for (size_t i = 1; i < t->nrows; i++)
		if (dh_cube_table_value(t, i, (size_t)col) > dh_cube_table_value(t, best, (size_t)col))
			best = i;
	return t->codes[best];
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage : cube_files RÉP [fils]\n");
		return 2;
	}
	const char *dir = argv[1];
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	dh_error err;
	dh_geo *geo;
	if (dh_geo_load(&geo, DH_REF_DIR, &err) != DH_OK)
		die("géographie", &err);
	double rss0 = rss();
	double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	feed f = { 0 };
	if (dh_cube_builder_new(&f.b) != DH_OK || dh_cube_builder_add_geo(f.b, geo, &err) != DH_OK)
		die("géographie du cube", &err);
	DIR *d = opendir(dir);
	if (!d)
		die(dir, NULL);
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "rpls-", 5) != 0 || !strstr(e->d_name, ".csv"))
			continue;
		char siren[10];
		snprintf(siren, sizeof(siren), "%.9s", e->d_name + 5);
		if (dh_cube_builder_add_landlord(f.b, siren, NULL, &f.landlord, &err) != DH_OK)
			die("bailleur", &err);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		dh_validate_options opt = { .reference_year = 2025 };
		dh_validate_callbacks cb = { .on_row = on_row, .ctx = &f };
		dh_validate_stats st;
		int rc = dh_validate_file(path, &opt, geo, &cb, &st, &err);
		dh_validate_stats_release(&st);
		if (rc != DH_OK)
			die(path, &err);
	}
	closedir(d);
	dh_cube *cube;
	if (dh_cube_builder_finish(f.b, &cube, &err) != DH_OK)
		die("construction", &err);
	dh_cube_builder_free(f.b);
	double build_wall = clock_s(CLOCK_MONOTONIC) - t0;
	double build_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	double rss_row = (rss() - rss0) / (double)f.rows;
	double mem_row = (double)dh_cube_memory(cube) / (double)f.rows;
	printf("rows %zu (rejected %zu), build (validate + cube) %.2f s wall, %.2f s CPU\n", f.rows,
	       f.rejected, build_wall, build_cpu);
	printf("memory: %.1f B/row counted by the cube, %.1f B/row RSS delta\n", mem_row, rss_row);

	double w, c;
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101, .threads = threads };
	dh_cube_table *com = timed(cube, &q, 5, &w, &c);
	printf("commune table, %zu indicators x %zu communes: %.2f ms wall, %.2f ms CPU\n",
	       com->ncols, com->nrows, w * 1e3, c * 1e3);
	printf("RESULT cube.rows %zu rows\n", f.rows);
	printf("RESULT cube.build_s %.3f s\n", build_wall);
	printf("RESULT cube.build_cpu_s %.3f s\n", build_cpu);
	printf("RESULT cube.bytes_per_row %.1f B\n", mem_row);
	printf("RESULT cube.rss_bytes_per_row %.1f B\n", rss_row);
	printf("RESULT cube.commune_table_ms %.2f ms\n", w * 1e3);
	printf("RESULT cube.commune_table_cpu_ms %.2f ms\n", c * 1e3);
	/* a date whose commune counters are not cached: one pass over the rows */
	q.reference_date = 20250701;
	dh_cube_table *cold = timed(cube, &q, 1, &w, &c);
	printf("commune table at an uncached date (first query): %.2f ms wall, %.2f ms CPU\n",
	       w * 1e3, c * 1e3);
	printf("RESULT cube.commune_table_cold_ms %.2f ms\n", w * 1e3);
	printf("RESULT cube.commune_table_cold_cpu_ms %.2f ms\n", c * 1e3);
	dh_cube_table_free(cold);
	q.reference_date = 20250101;
	static const dh_level levels[] = { DH_LEVEL_COMMUNE, DH_LEVEL_EPCI, DH_LEVEL_DEPARTEMENT };
	static const char *const names[] = { "commune", "epci", "departement" };
	for (int l = 0; l < 3; l++) {
		q.level = levels[l];
		q.territory = NULL;
		dh_cube_table *all = timed(cube, &q, 3, &w, &c);
		char code[32];
		snprintf(code, sizeof(code), "%s", biggest(all));
		dh_cube_table_free(all);
		q.territory = code;
		dh_cube_table_free(timed(cube, &q, 20, &w, &c));
		printf("one %s (%s, the largest): %.3f ms wall, %.3f ms CPU\n", names[l], code,
		       w * 1e3, c * 1e3);
		printf("RESULT cube.one_%s_ms %.3f ms\n", names[l], w * 1e3);
		q.reference_date = 20251001; /* uncached date: scans the territory's rows */
		dh_cube_table_free(timed(cube, &q, 5, &w, &c));
		printf("one %s at an uncached date: %.3f ms wall, %.3f ms CPU\n", names[l], w * 1e3,
		       c * 1e3);
		printf("RESULT cube.one_%s_uncached_ms %.3f ms\n", names[l], w * 1e3);
		q.reference_date = 20250101;
	}
	/* the figures DuckDB and SQLite must reproduce (checked by bench/cube): every
	 * indicator of the largest commune and of communes spread over the table */
	size_t picks[5] = { 0, com->nrows / 3, com->nrows / 2, 2 * com->nrows / 3, com->nrows - 1 };
	const char *big = biggest(com);
	for (int k = 0; k < 5 && com->nrows; k++) {
		size_t row = k ? picks[k] : (size_t)dh_cube_table_row(com, big);
		printf("CHECK %s", com->codes[row]);
		for (size_t j = 0; j < com->ncols; j++)
			printf(" %s=%.17g", com->columns[j]->id, dh_cube_table_value(com, row, j));
		printf("\n");
	}
	dh_cube_table_free(com);
	dh_cube_release(cube);
	dh_geo_free(geo);
	return 0;
}
