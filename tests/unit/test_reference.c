/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_reference.c - an open-data file imported as a reference source (import.h,
 * dh_import_reference) feeds the structure indicators of its communes: a generated Bretagne
 * stock is projected onto the open-data layout (no ids, MODE, rents, lease dates, landlord),
 * imported as the source "od" at 1/1/2025, while one landlord delivers its own file at that
 * date. The cube built with sources (cube_store.h) is checked commune by commune: where the
 * reference is used, every structure indicator equals a plain SQL recomputation over the
 * stored reference rows and every other indicator is undefined; where members are used, the
 * figures are those of the members-only cube; with --source "od", the source wins wherever
 * it has rows.
 */
#include "testutil.h"

#include "datahabitat/cube.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/gen.h"
#include "datahabitat/geo.h"
#include "datahabitat/import.h"
#include "datahabitat/indicators.h"
#include "datahabitat/store.h"

#include <math.h>
#include <sqlite3.h>

#define ROWS 2500
#define LANDLORDS 3
#define DAY 20250101

static dh_geo *geo;
static char *dir;
static dh_store *store;
static sqlite3 *db;
static char member[10]; /* the landlord that delivers its own file */

/* ---- the SQL side: structure indicators from domain.md §4, over the reference rows ---- */

#define C(cond) "SUM(CASE WHEN " cond " THEN 1 ELSE 0 END)"

typedef struct sql_ind {
	const char *id;
	int pct;         /* 1: num / den * 100; 2: num / den; 0: count */
	const char *num, *den;
} sql_ind;

static const sql_ind sql_inds[] = {
	{ "nb_ls", 0, C("1"), NULL },
	{ "part_qpv", 1, C("in_qpv"), C("1") },
	{ "part_collectif", 1, C("TYPECONST IN ('C', 'E')"), C("1") },
	{ "part_individuel", 1, C("TYPECONST = 'I'"), C("1") },
	{ "nb_qpv", 0, C("in_qpv"), NULL },
	{ "nb_collectif", 0, C("TYPECONST IN ('C', 'E')"), NULL },
	{ "nb_individuel", 0, C("TYPECONST = 'I'"), NULL },
	{ "nb_ls_etu", 0, C("TYPECONST = 'E'"), NULL },
	{ "nb_p1", 0, C("NBPIECE = 1"), NULL },
	{ "nb_p2", 0, C("NBPIECE = 2"), NULL },
	{ "nb_p3", 0, C("NBPIECE = 3"), NULL },
	{ "nb_p4", 0, C("NBPIECE = 4"), NULL },
	{ "nb_p5p", 0, C("NBPIECE >= 5"), NULL },
	{ "fin_plai", 0, C("FINAN IN ('10', '11')"), NULL },
	{ "fin_plus", 0, C("FINAN IN ('12', '13')"), NULL },
	{ "fin_plus_av77", 0, C("FINAN IN ('50', '51', '52', '53', '54', '55', '99')"), NULL },
	{ "fin_pls", 0, C("FINAN = '14'"), NULL },
	{ "fin_pli", 0, C("FINAN = '16'"), NULL },
	{ "fin_autre", 0,
	  C("(FINAN IS NULL OR FINAN NOT IN ('10', '11', '12', '13', '14', '16', '50', '51', '52', '53', '54', '55', '99'))"),
	  NULL },
	{ "age_lt5", 0, C("age BETWEEN 0 AND 4"), NULL },
	{ "age_5_10", 0, C("age BETWEEN 5 AND 9"), NULL },
	{ "age_10_20", 0, C("age BETWEEN 10 AND 19"), NULL },
	{ "age_20_40", 0, C("age BETWEEN 20 AND 39"), NULL },
	{ "age_40_60", 0, C("age BETWEEN 40 AND 59"), NULL },
	{ "age_ge60", 0, C("age >= 60"), NULL },
	{ "age_cumule", 0, "SUM(CASE WHEN age >= 0 THEN age ELSE 0 END)", NULL },
	{ "age_moyen", 2, "SUM(CASE WHEN age >= 0 THEN age ELSE 0 END)", C("age >= 0") },
	{ "dpe_e_a", 0, C("dpe_e = 'A'"), NULL },
	{ "dpe_e_b", 0, C("dpe_e = 'B'"), NULL },
	{ "dpe_e_c", 0, C("dpe_e = 'C'"), NULL },
	{ "dpe_e_d", 0, C("dpe_e = 'D'"), NULL },
	{ "dpe_e_e", 0, C("dpe_e = 'E'"), NULL },
	{ "dpe_e_f", 0, C("dpe_e = 'F'"), NULL },
	{ "dpe_e_g", 0, C("dpe_e = 'G'"), NULL },
	{ "dpe_g_a", 0, C("dpe_g = 'A'"), NULL },
	{ "dpe_g_b", 0, C("dpe_g = 'B'"), NULL },
	{ "dpe_g_c", 0, C("dpe_g = 'C'"), NULL },
	{ "dpe_g_d", 0, C("dpe_g = 'D'"), NULL },
	{ "dpe_g_e", 0, C("dpe_g = 'E'"), NULL },
	{ "dpe_g_f", 0, C("dpe_g = 'F'"), NULL },
	{ "dpe_g_g", 0, C("dpe_g = 'G'"), NULL },
	{ "dpe_absent", 0, C("dpe_e IS NULL"), NULL },
	{ "part_fg", 1, C("dpe_e IN ('F', 'G')"), C("dpe_e IS NOT NULL") },
	{ "interdit_2025", 0, C("dpe_e = 'G'"), NULL },
	{ "interdit_2028", 0, C("dpe_e = 'F'"), NULL },
	{ "interdit_2034", 0, C("dpe_e = 'E'"), NULL },
	{ "interdit_sans_dpe", 0, C("dpe_e IS NULL"), NULL },
	{ "dpe_e_a_new", 0, C("dpe_new AND dpe_e = 'A'"), NULL },
	{ "dpe_e_b_new", 0, C("dpe_new AND dpe_e = 'B'"), NULL },
	{ "dpe_e_c_new", 0, C("dpe_new AND dpe_e = 'C'"), NULL },
	{ "dpe_e_d_new", 0, C("dpe_new AND dpe_e = 'D'"), NULL },
	{ "dpe_e_e_new", 0, C("dpe_new AND dpe_e = 'E'"), NULL },
	{ "dpe_e_f_new", 0, C("dpe_new AND dpe_e = 'F'"), NULL },
	{ "dpe_e_g_new", 0, C("dpe_new AND dpe_e = 'G'"), NULL },
	{ "dpe_e_nr_new", 0, C("NOT dpe_new"), NULL },
	{ "mes", 0, C("LOCAT = 2024"), NULL },
	{ "mes_construits", 0, C("LOCAT = 2024 AND ORIGINE = '1'"), NULL },
	{ "mes_acq_travaux", 0, C("LOCAT = 2024 AND ORIGINE = '2'"), NULL },
	{ "mes_acq_sans_travaux", 0, C("LOCAT = 2024 AND ORIGINE = '3'"), NULL },
	{ "mes_vefa", 0, C("LOCAT = 2024 AND ORIGINE = '4'"), NULL },
	{ "mes_chgt_usage", 0, C("LOCAT = 2024 AND NEWLOGT = '1'"), NULL },
	{ "mes_fusion_scission", 0, C("LOCAT = 2024 AND NEWLOGT = '2'"), NULL },
};
#define N_SQL (sizeof(sql_inds) / sizeof(sql_inds[0]))

static const sql_ind *sql_of(const char *id)
{
	for (size_t i = 0; i < N_SQL; i++)
		if (strcmp(sql_inds[i].id, id) == 0)
			return &sql_inds[i];
	return NULL;
}

/* Value of one indicator for one commune by SQL over the rows of source "od". */
static double sql_value(const sql_ind *ind, const char *commune)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
		 "WITH base AS (SELECT d.*, 2025 - d.CONSTRUCT AS age,"
		 " (d.QPV = '1' OR coalesce(d.QPV_CODE, '') <> '') AS in_qpv,"
		 " CASE WHEN d.DPEDATE IS NULL OR d.DPEDATE LIKE '1900-01%%' THEN NULL ELSE d.DPEENERGIE END AS dpe_e,"
		 " CASE WHEN d.DPEDATE IS NULL OR d.DPEDATE LIKE '1900-01%%' THEN NULL ELSE d.DPESERRE END AS dpe_g,"
		 " (d.DPEDATE IS NOT NULL AND d.DPEDATE NOT LIKE '1900-01%%' AND substr(d.DPEDATE, 1, 7) >= '2021-07')"
		 " AS dpe_new"
		 " FROM reference_dwelling d JOIN reference_source s ON s.id = d.source_id"
		 " WHERE s.name = 'od' AND d.commune_code = ?)"
		 " SELECT %s, %s FROM base",
		 ind->num, ind->den ? ind->den : "0");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("SQL: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, commune, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	double num = sqlite3_column_double(st, 0), den = sqlite3_column_double(st, 1);
	sqlite3_finalize(st);
	if (ind->pct == 0)
		return num;
	if (den == 0)
		return NAN;
	return ind->pct == 1 ? num / den * 100.0 : num / den;
}

/* ---- fixture: generate, project onto the open-data layout, import ---- */

/* The open-data columns written, and the RPLS field each one takes. */
static const struct {
	const char *name;
	int field; /* -1: a constant */
} od_columns[] = {
	{ "REG_CODE", -1 },
	{ "DEPCOM_CODE", DH_RPLS_DEPCOM },
	{ "QPV", DH_RPLS_QPV },
	{ "QPV_CODE", DH_RPLS_QPV_CODE },
	{ "TYPECONST_CODE", DH_RPLS_TYPECONST },
	{ "NBPIECE", DH_RPLS_NBPIECE },
	{ "SURFHAB", DH_RPLS_SURFHAB },
	{ "CONSTRUCT", DH_RPLS_CONSTRUCT },
	{ "LOCAT", DH_RPLS_LOCAT },
	{ "ORIGINE_CODE", DH_RPLS_ORIGINE },
	{ "FINAN_CODE", DH_RPLS_FINAN },
	{ "CONV_CODE", DH_RPLS_CONV },
	{ "DPEDATE", DH_RPLS_DPEDATE },
	{ "DPEENERGIE", DH_RPLS_DPEENERGIE },
	{ "DPESERRE", DH_RPLS_DPESERRE },
};
#define N_OD (sizeof(od_columns) / sizeof(od_columns[0]))

/* Append the data lines of the generated landlord file `path` to out, projected. A few
 * collective dwellings become student dwellings (E). */
static void project(const char *path, FILE *out, size_t *written)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *field[DH_RPLS_NFIELDS + 1];
		size_t nf = 0;
		field[nf++] = line;
		for (char *q = line; *q && nf <= DH_RPLS_NFIELDS; q++)
			if (*q == ';') {
				*q = '\0';
				field[nf++] = q + 1;
			}
		if (nf != DH_RPLS_NFIELDS || strcmp(field[0], "IDENT_REP") == 0)
			continue;
		++*written;
		if (*written % 19 == 0 && strcmp(field[DH_RPLS_TYPECONST], "C") == 0)
			field[DH_RPLS_TYPECONST][0] = 'E';
		for (size_t c = 0; c < N_OD; c++)
			fprintf(out, "%s%s", c ? ";" : "", od_columns[c].field < 0 ? "53" : field[od_columns[c].field]);
		fputc('\n', out);
	}
	fclose(f);
}

static void import_member(const char *path)
{
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = member;
	opt.reference_date = "2025-01-01";
	dh_import_result res;
	dh_error err;
	if (dh_import_file(store, geo, path, &opt, &res, &err) != DH_OK)
		fail_msg("import %s: %s", path, err.message);
	dh_import_result_release(&res);
}

static int setup(void **state)
{
	(void)state;
	dh_error err;
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK)
		return -1;
	dir = dh_tmpdir();
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.region = "53";
	opt.rows = ROWS;
	opt.landlords = LANDLORDS;
	opt.seed = 5;
	opt.ref_year = 2025;
	opt.ref_month = 1;
	opt.ref_day = 1;
	opt.out_dir = dir;
	if (dh_gen_stock(&opt, geo, NULL, &err) != DH_OK)
		return -1;
	char loc[4200], path[4200], od[4200];
	snprintf(loc, sizeof(loc), "%s/t.db", dir);
	if (dh_store_open(&store, loc, DH_STORE_CREATE, &err) != DH_OK ||
	    dh_geo_save(geo, store, &err) != DH_OK)
		return -1;
	/* Every landlord's rows go to the open-data file; the first one also delivers. */
	snprintf(path, sizeof(path), "%s/landlords.csv", dir);
	FILE *l = fopen(path, "r");
	snprintf(od, sizeof(od), "%s/opendata.csv", dir);
	FILE *out = fopen(od, "w");
	if (!l || !out)
		return -1;
	for (size_t c = 0; c < N_OD; c++)
		fprintf(out, "%s%s", c ? ";" : "", od_columns[c].name);
	fputc('\n', out);
	char line[1024];
	size_t written = 0;
	while (fgets(line, sizeof(line), l)) {
		if (line[9] != ';' || !dh_siren_valid((line[9] = '\0', line)))
			continue;
		if (!member[0]) {
			dh_strlcpy(member, sizeof(member), line);
			dh_org org = { .kind = DH_ORG_OPH };
			dh_strlcpy(org.siren, sizeof(org.siren), line);
			dh_strlcpy(org.name, sizeof(org.name), "Adhérent");
			if (dh_store_org_add(store, &org, &err) != DH_OK)
				return -1;
		}
		snprintf(path, sizeof(path), "%s/rpls-%s.csv", dir, line);
		project(path, out, &written);
	}
	fclose(l);
	fclose(out);
	snprintf(path, sizeof(path), "%s/rpls-%s.csv", dir, member);
	import_member(path);
	dh_reference_options ro = { .source = "od", .reference_date = "2025-01-01", .layout = DH_LAYOUT_AUTO };
	dh_reference_result rr;
	if (dh_import_reference(store, geo, od, &ro, &rr, &err) != DH_OK) {
		fprintf(stderr, "reference: %s\n", err.message);
		return -1;
	}
	if (rr.source.rows + rr.rows_rejected != written || rr.source.rows < written * 9 / 10) {
		fprintf(stderr, "reference: %llu rows stored of %zu\n", (unsigned long long)rr.source.rows, written);
		return -1;
	}
	return sqlite3_open_v2(loc, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	dh_store_close(store);
	dh_geo_free(geo);
	dh_rmtree(dir);
	return 0;
}

/* ---- tests ---- */

static dh_cube_table *commune_table(dh_cube *cube)
{
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = DAY };
	dh_cube_table *t = NULL;
	dh_error err;
	if (dh_cube_query_run(cube, &q, &t, &err) != DH_OK)
		fail_msg("query: %s", err.message);
	return t;
}

/* Check every commune of a cube built with sources; returns the communes per provenance. */
static void check_communes(dh_cube_sources *src, size_t counts[3])
{
	dh_error err;
	dh_cube *cube = NULL, *members_only = NULL;
	if (dh_cube_build_with_sources(store, geo, src, &cube, NULL, &err) != DH_OK)
		fail_msg("cube: %s", err.message);
	assert_string_equal(src->used, "od");
	assert_int_equal(src->used_date, DAY);
	assert_int_equal(dh_cube_build_from_store(store, geo, &members_only, NULL, &err), DH_OK);
	dh_cube_table *t = commune_table(cube), *m = commune_table(members_only);
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = DAY };
	char **labels = NULL;
	assert_int_equal(dh_cube_table_apply_sources(cube, &q, src, t, &labels, &err), DH_OK);
	counts[0] = counts[1] = counts[2] = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		int32_t ci = dh_geo_commune_find(geo, (dh_str){ t->codes[r], strlen(t->codes[r]) });
		assert_true(ci >= 0);
		dh_provenance from = (dh_provenance)src->commune_from[ci];
		counts[from]++;
		if (from == DH_FROM_REFERENCE) {
			assert_string_equal(labels[r], "référence od");
			for (size_t c = 0; c < t->ncols; c++) {
				const dh_indicator *ind = t->columns[c];
				double got = dh_cube_table_value(t, r, c);
				const sql_ind *s = sql_of(ind->id);
				if (!dh_indicator_from_reference(ind) || strcmp(ind->id, "evol_nb_ls") == 0) {
					if (!isnan(got))
						fail_msg("%s in %s: %g from a reference source", ind->id, t->codes[r], got);
					continue;
				}
				if (!s)
					fail_msg("indicator %s has no SQL recomputation", ind->id);
				double want = sql_value(s, t->codes[r]);
				int ok = isnan(want) ? isnan(got) : fabs(got - want) <= 1e-9;
				if (!ok)
					fail_msg("%s in %s: %.17g in the cube, %.17g by SQL", ind->id, t->codes[r], got, want);
			}
		} else if (from == DH_FROM_MEMBERS) {
			assert_string_equal(labels[r], "adhérents");
			int k = dh_cube_table_row(m, t->codes[r]);
			assert_true(k >= 0);
			for (size_t c = 0; c < t->ncols; c++) {
				double got = dh_cube_table_value(t, r, c), want = dh_cube_table_value(m, (size_t)k, c);
				assert_true(isnan(want) ? isnan(got) : got == want);
			}
		}
	}
	dh_cube_source_labels_free(labels, t->nrows);
	dh_cube_table_free(t);
	dh_cube_table_free(m);
	dh_cube_release(cube);
	dh_cube_release(members_only);
}

/* Default: members where they have dwellings, the reference elsewhere. */
static void test_members_first(void **state)
{
	(void)state;
	dh_cube_sources src = { .date = DAY };
	size_t counts[3];
	check_communes(&src, counts);
	assert_true(counts[DH_FROM_MEMBERS] > 0);
	assert_true(counts[DH_FROM_REFERENCE] > 0);
	fprintf(stderr, "# communes from members %zu, from the reference %zu\n", counts[DH_FROM_MEMBERS],
		counts[DH_FROM_REFERENCE]);
	dh_cube_sources_release(&src);
}

/* --source od: the reference wherever it has rows (every commune of the generated stock). */
static void test_source_chosen(void **state)
{
	(void)state;
	dh_cube_sources src = { .date = DAY, .source = "od" };
	size_t counts[3];
	check_communes(&src, counts);
	assert_int_equal(counts[DH_FROM_MEMBERS], 0);
	assert_true(counts[DH_FROM_REFERENCE] > 0);
	dh_cube_sources_release(&src);
}

/* A source applies for one year from its date; an unknown name is an error. */
static void test_source_dates(void **state)
{
	(void)state;
	dh_error err;
	dh_cube *cube = NULL;
	dh_cube_sources src = { .date = 20260101, .source = "od" };
	assert_int_equal(dh_cube_build_with_sources(store, geo, &src, &cube, NULL, &err), DH_NOTFOUND);
	src = (dh_cube_sources){ .date = 20251231 };
	assert_int_equal(dh_cube_build_with_sources(store, geo, &src, &cube, NULL, &err), DH_OK);
	assert_string_equal(src.used, "od");
	dh_cube_release(cube);
	dh_cube_sources_release(&src);
	src = (dh_cube_sources){ .date = 20241231 };
	assert_int_equal(dh_cube_build_with_sources(store, geo, &src, &cube, NULL, &err), DH_OK);
	assert_string_equal(src.used, "");
	dh_cube_release(cube);
	dh_cube_sources_release(&src);
	src = (dh_cube_sources){ .date = DAY, .source = "nope" };
	assert_int_equal(dh_cube_build_with_sources(store, geo, &src, &cube, NULL, &err), DH_NOTFOUND);
}

/* A landlord's file is not a reference source. */
static void test_landlord_file_refused(void **state)
{
	(void)state;
	char path[4200];
	snprintf(path, sizeof(path), "%s/rpls-%s.csv", dir, member);
	dh_reference_options ro = { .source = "x", .reference_date = "2025-01-01", .layout = DH_LAYOUT_AUTO };
	dh_reference_result rr;
	dh_error err;
	assert_int_equal(dh_import_reference(store, geo, path, &ro, &rr, &err), DH_INVAL);
	ro.layout = DH_LAYOUT_RPLS;
	assert_int_equal(dh_import_reference(store, geo, path, &ro, &rr, &err), DH_INVAL);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM reference_source WHERE name = 'x'", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_first),
		cmocka_unit_test(test_source_chosen),
		cmocka_unit_test(test_source_dates),
		cmocka_unit_test(test_landlord_file_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
