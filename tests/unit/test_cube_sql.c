/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_cube_sql.c - independent cross-check of the cube built from the store: a generated
 * Bretagne stock (several landlords, deliveries at 1/1/2024 and 1/1/2025, a third one
 * inserted in the past for one landlord, dwellings dropped between vintages, QPV codes) is imported
 * into a temporary SQLite store; every indicator of the registry is then computed a second
 * time with plain SQL on the store's tables, written from the definitions of domain.md §4
 * (not from the registry's terms), and compared cell by cell with the cube for every level,
 * several reference dates (before, between and after the deliveries) and with filters.
 * Counts must be equal; rates and ratios within 1e-9.
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

/* The default size keeps `make check` quick; bench/crosscheck sets DH_CROSSCHECK_ROWS and
 * DH_CROSSCHECK_REGION to run the same comparison on the national-size stock. */
#define ROWS 4000
#define LANDLORDS 5

static uint64_t rows_wanted(void)
{
	const char *e = getenv("DH_CROSSCHECK_ROWS");
	return e && *e ? strtoull(e, NULL, 10) : ROWS;
}

static const char *region_wanted(void)
{
	const char *e = getenv("DH_CROSSCHECK_REGION");
	return e && *e ? e : "53";
}
#define SEED 11

static dh_geo *geo;
static char *dir;
static dh_store *store;
static sqlite3 *db;  /* plain connection to the same file, for the SQL side */
static dh_cube *cube;
static dh_cube_store_stats stats;

/* ---- the SQL side: one expression per indicator, from domain.md §4 ---- */

/*
 * Per-row columns computed by the CTE below: v0 / v1 = version valid at D / at D minus one
 * year (and matching the filter), parc = MODE 1-5, y = year of D, age, locat_ans,
 * bail_idx / remloc_idx = month index (year*12 + month) of BAIL / REMLOCDATE, d_idx = month
 * index of D, dpe_e / dpe_g = DPE classes only with a real diagnostic, loyer = LOYERPRINC
 * unless 9999, in_qpv.
 */
#define CNT(cond) "SUM(CASE WHEN v0 AND (" cond ") THEN 1 ELSE 0 END)"
#define PARC(cond) CNT("parc AND (" cond ")")

typedef enum { K_COUNT, K_PCT, K_RATIO, K_EVOL } sql_kind;

typedef struct sql_indicator {
	const char *id;
	sql_kind kind;
	const char *num;
	const char *den; /* NULL for counts */
} sql_indicator;

static const sql_indicator sql_indicators[] = {
	{ "nb_ls", K_COUNT, CNT("parc"), NULL },
	{ "loues", K_COUNT, PARC("MODE = '1'"), NULL },
	{ "vacants", K_COUNT, PARC("MODE = '2'"), NULL },
	{ "vides", K_COUNT, PARC("MODE = '3'"), NULL },
	{ "asso", K_COUNT, PARC("MODE = '4'"), NULL },
	{ "autres", K_COUNT, PARC("MODE = '5'"), NULL },
	{ "nb_ls_prec", K_COUNT, "SUM(CASE WHEN v1 AND parc THEN 1 ELSE 0 END)", NULL },
	{ "evol_nb_ls", K_EVOL, CNT("parc"), "SUM(CASE WHEN v1 AND parc THEN 1 ELSE 0 END)" },
	{ "tx_vac", K_PCT, PARC("MODE = '2'"), PARC("MODE IN ('1', '2')") },
	/* vacant since more than 3 whole months, counted from the 1st of REMLOCDATE's month */
	{ "vacants_3m", K_COUNT, PARC("MODE = '2' AND d_idx - remloc_idx > 3"), NULL },
	{ "tx_vac3", K_PCT, PARC("MODE = '2' AND d_idx - remloc_idx > 3"), PARC("MODE IN ('1', '2')") },
	/* new leases in the 12 months before D's month, among dwellings let before year Y-1 */
	{ "proposes_1an", K_COUNT, PARC("MODE IN ('1', '2') AND LOCAT < y - 1"), NULL },
	{ "emmenagements", K_COUNT,
	  PARC("MODE = '1' AND bail_idx BETWEEN d_idx - 12 AND d_idx - 1 AND LOCAT < y - 1"), NULL },
	{ "tx_mob", K_PCT, PARC("MODE = '1' AND bail_idx BETWEEN d_idx - 12 AND d_idx - 1 AND LOCAT < y - 1"),
	  PARC("MODE IN ('1', '2') AND LOCAT < y - 1") },
	{ "loyer_total", K_COUNT,
	  "SUM(CASE WHEN v0 AND parc AND MODE = '1' AND loyer IS NOT NULL AND SURFHAB IS NOT NULL THEN loyer ELSE 0 END)",
	  NULL },
	{ "surface_louee", K_COUNT,
	  "SUM(CASE WHEN v0 AND parc AND MODE = '1' AND loyer IS NOT NULL AND SURFHAB IS NOT NULL THEN SURFHAB ELSE 0 END)",
	  NULL },
	{ "loyer_m2", K_RATIO,
	  "SUM(CASE WHEN v0 AND parc AND MODE = '1' AND loyer IS NOT NULL AND SURFHAB IS NOT NULL THEN loyer ELSE 0 END)",
	  "SUM(CASE WHEN v0 AND parc AND MODE = '1' AND loyer IS NOT NULL AND SURFHAB IS NOT NULL THEN SURFHAB ELSE 0 END)" },
	{ "nb_qpv", K_COUNT, PARC("in_qpv"), NULL },
	{ "part_qpv", K_PCT, PARC("in_qpv"), CNT("parc") },
	/* student dwellings (E) are collective for SDES, and counted apart too (nb_ls_etu) */
	{ "nb_collectif", K_COUNT, PARC("TYPECONST IN ('C', 'E')"), NULL },
	{ "nb_individuel", K_COUNT, PARC("TYPECONST = 'I'"), NULL },
	{ "part_collectif", K_PCT, PARC("TYPECONST IN ('C', 'E')"), CNT("parc") },
	{ "part_individuel", K_PCT, PARC("TYPECONST = 'I'"), CNT("parc") },
	{ "nb_p1", K_COUNT, PARC("NBPIECE = 1"), NULL },
	{ "nb_p2", K_COUNT, PARC("NBPIECE = 2"), NULL },
	{ "nb_p3", K_COUNT, PARC("NBPIECE = 3"), NULL },
	{ "nb_p4", K_COUNT, PARC("NBPIECE = 4"), NULL },
	{ "nb_p5p", K_COUNT, PARC("NBPIECE >= 5"), NULL },
	{ "fin_plai", K_COUNT, PARC("FINAN IN ('10', '11')"), NULL },
	{ "fin_plus", K_COUNT, PARC("FINAN IN ('12', '13')"), NULL },
	{ "fin_plus_av77", K_COUNT, PARC("FINAN IN ('50', '51', '52', '53', '54', '55', '99')"), NULL },
	{ "fin_pls", K_COUNT, PARC("FINAN = '14'"), NULL },
	{ "fin_pli", K_COUNT, PARC("FINAN = '16'"), NULL },
	{ "fin_autre", K_COUNT,
	  PARC("FINAN IS NULL OR FINAN NOT IN ('10', '11', '12', '13', '14', '16', '50', '51', '52', '53', '54', '55', '99')"),
	  NULL },
	{ "age_lt5", K_COUNT, PARC("age >= 0 AND age < 5"), NULL },
	{ "age_5_10", K_COUNT, PARC("age >= 5 AND age < 10"), NULL },
	{ "age_10_20", K_COUNT, PARC("age >= 10 AND age < 20"), NULL },
	{ "age_20_40", K_COUNT, PARC("age >= 20 AND age < 40"), NULL },
	{ "age_40_60", K_COUNT, PARC("age >= 40 AND age < 60"), NULL },
	{ "age_ge60", K_COUNT, PARC("age >= 60"), NULL },
	{ "age_cumule", K_COUNT, "SUM(CASE WHEN v0 AND parc AND age >= 0 THEN age ELSE 0 END)", NULL },
	{ "age_moyen", K_RATIO, "SUM(CASE WHEN v0 AND parc AND age >= 0 THEN age ELSE 0 END)",
	  PARC("age >= 0") },
	{ "dpe_e_a", K_COUNT, PARC("dpe_e = 'A'"), NULL },
	{ "dpe_e_b", K_COUNT, PARC("dpe_e = 'B'"), NULL },
	{ "dpe_e_c", K_COUNT, PARC("dpe_e = 'C'"), NULL },
	{ "dpe_e_d", K_COUNT, PARC("dpe_e = 'D'"), NULL },
	{ "dpe_e_e", K_COUNT, PARC("dpe_e = 'E'"), NULL },
	{ "dpe_e_f", K_COUNT, PARC("dpe_e = 'F'"), NULL },
	{ "dpe_e_g", K_COUNT, PARC("dpe_e = 'G'"), NULL },
	{ "dpe_g_a", K_COUNT, PARC("dpe_g = 'A'"), NULL },
	{ "dpe_g_b", K_COUNT, PARC("dpe_g = 'B'"), NULL },
	{ "dpe_g_c", K_COUNT, PARC("dpe_g = 'C'"), NULL },
	{ "dpe_g_d", K_COUNT, PARC("dpe_g = 'D'"), NULL },
	{ "dpe_g_e", K_COUNT, PARC("dpe_g = 'E'"), NULL },
	{ "dpe_g_f", K_COUNT, PARC("dpe_g = 'F'"), NULL },
	{ "dpe_g_g", K_COUNT, PARC("dpe_g = 'G'"), NULL },
	{ "dpe_absent", K_COUNT, PARC("dpe_e IS NULL"), NULL },
	{ "part_fg", K_PCT, PARC("dpe_e IN ('F', 'G')"), PARC("dpe_e IS NOT NULL") },
	{ "interdit_2025", K_COUNT, PARC("dpe_e = 'G'"), NULL },
	{ "interdit_2028", K_COUNT, PARC("dpe_e = 'F'"), NULL },
	{ "interdit_2034", K_COUNT, PARC("dpe_e = 'E'"), NULL },
	{ "interdit_sans_dpe", K_COUNT, PARC("dpe_e IS NULL"), NULL },
	{ "mes", K_COUNT, PARC("LOCAT = y - 1"), NULL },
	{ "mes_construits", K_COUNT, PARC("LOCAT = y - 1 AND ORIGINE = '1'"), NULL },
	{ "mes_acq_travaux", K_COUNT, PARC("LOCAT = y - 1 AND ORIGINE = '2'"), NULL },
	{ "mes_acq_sans_travaux", K_COUNT, PARC("LOCAT = y - 1 AND ORIGINE = '3'"), NULL },
	{ "mes_vefa", K_COUNT, PARC("LOCAT = y - 1 AND ORIGINE = '4'"), NULL },
	{ "sorties", K_COUNT, CNT("SORTIEPATRIM IN ('1', '2', '3', '4', '5') AND NOT nc"), NULL },
	{ "sortie_vente_locataire", K_COUNT, CNT("SORTIEPATRIM = '1' AND NOT nc"), NULL },
	{ "sortie_vente_bailleur", K_COUNT, CNT("SORTIEPATRIM = '2' AND NOT nc"), NULL },
	{ "sortie_autre_vente", K_COUNT, CNT("SORTIEPATRIM = '3' AND NOT nc"), NULL },
	{ "sortie_demolition", K_COUNT, CNT("SORTIEPATRIM = '4' AND NOT nc"), NULL },
	{ "sortie_autre", K_COUNT, CNT("SORTIEPATRIM = '5' AND NOT nc"), NULL },
	{ "parc_non_conv", K_COUNT, CNT("nc"), NULL },
	{ "nb_lgt_tot", K_COUNT, CNT("parc OR nc"), NULL },
	{ "nb_ls_etu", K_COUNT, PARC("TYPECONST = 'E'"), NULL },
	{ "dpe_e_a_new", K_COUNT, PARC("dpe_new AND dpe_e = 'A'"), NULL },
	{ "dpe_e_b_new", K_COUNT, PARC("dpe_new AND dpe_e = 'B'"), NULL },
	{ "dpe_e_c_new", K_COUNT, PARC("dpe_new AND dpe_e = 'C'"), NULL },
	{ "dpe_e_d_new", K_COUNT, PARC("dpe_new AND dpe_e = 'D'"), NULL },
	{ "dpe_e_e_new", K_COUNT, PARC("dpe_new AND dpe_e = 'E'"), NULL },
	{ "dpe_e_f_new", K_COUNT, PARC("dpe_new AND dpe_e = 'F'"), NULL },
	{ "dpe_e_g_new", K_COUNT, PARC("dpe_new AND dpe_e = 'G'"), NULL },
	{ "dpe_e_nr_new", K_COUNT, PARC("NOT dpe_new"), NULL },
	{ "mes_chgt_usage", K_COUNT, PARC("LOCAT = y - 1 AND NEWLOGT = '1'"), NULL },
	{ "mes_fusion_scission", K_COUNT, PARC("LOCAT = y - 1 AND NEWLOGT = '2'"), NULL },
	{ "sortie_chgt_usage", K_COUNT, CNT("OLDLOGT = '1' AND NOT nc"), NULL },
	{ "sortie_fusion_scission", K_COUNT, CNT("OLDLOGT = '2' AND NOT nc"), NULL },
};
#define N_SQL (sizeof(sql_indicators) / sizeof(sql_indicators[0]))

/* Territory of each level: code and name columns, as SQL over the store's tables. */
typedef struct sql_level {
	dh_level level;
	const char *code;
	const char *name;
	int check_names;
} sql_level;

static const sql_level sql_levels[] = {
	{ DH_LEVEL_ALL, "''", "'Ensemble'", 1 },
	{ DH_LEVEL_COMMUNE, "c.code", "c.name", 1 },
	{ DH_LEVEL_EPCI, "c.epci_code", "e.name", 1 },
	{ DH_LEVEL_DEPARTEMENT, "c.departement_code", "p.name", 1 },
	{ DH_LEVEL_REGION, "c.region_code", "r.name", 1 },
	{ DH_LEVEL_QPV, "d.QPV_CODE", "d.QPV_CODE", 0 },
	{ DH_LEVEL_LANDLORD, "o.siren", "o.name", 1 },
};

/* Month index of a stored date column "YYYY-MM[-DD]" (NULL stays NULL). */
#define MONTH_IDX(col) "(CAST(substr(" col ", 1, 4) AS INTEGER) * 12 + CAST(substr(" col ", 6, 2) AS INTEGER))"

/*
 * The query for one level: a row per territory that has any version at all (the cube
 * lists those), every indicator as a column; where_sql is an extra condition on the
 * dwelling (the filter), "1" for none.
 */
static char *build_sql(const sql_level *lv, const char *where_sql)
{
	size_t cap = 1 << 16, len = 0;
	char *sql = malloc(cap);
	assert_non_null(sql);
#define APPEND(...) (len += (size_t)snprintf(sql + len, cap - len, __VA_ARGS__), assert_true(len < cap))
	APPEND("WITH base AS (SELECT d.*, %s AS g_code, %s AS g_name,"
	       " (d.valid_from <= :d AND d.valid_to > :d AND (%s)) AS v0,"
	       " (d.valid_from <= :d1 AND d.valid_to > :d1 AND (%s)) AS v1,"
	       " (d.MODE IN ('1', '2', '3', '4', '5') AND NOT (o.kind = 'SEM' AND d.CONV = '2')) AS parc,"
	       " (d.MODE IN ('1', '2', '3', '4', '5') AND o.kind = 'SEM' AND d.CONV = '2') AS nc,"
	       " (d.DPEDATE IS NOT NULL AND d.DPEDATE NOT LIKE '1900-01%%' AND substr(d.DPEDATE, 1, 7) >= '2021-07')"
	       " AS dpe_new,"
	       " :y AS y, :y - d.CONSTRUCT AS age,"
	       " :y * 12 + :m AS d_idx,"
	       " " MONTH_IDX("d.BAIL") " AS bail_idx,"
	       " " MONTH_IDX("d.REMLOCDATE") " AS remloc_idx,"
	       " CASE WHEN d.DPEDATE IS NULL OR d.DPEDATE LIKE '1900-01%%' THEN NULL ELSE d.DPEENERGIE END AS dpe_e,"
	       " CASE WHEN d.DPEDATE IS NULL OR d.DPEDATE LIKE '1900-01%%' THEN NULL ELSE d.DPESERRE END AS dpe_g,"
	       " CASE WHEN d.LOYERPRINC = 9999 THEN NULL ELSE d.LOYERPRINC END AS loyer,"
	       " (d.QPV = '1' OR coalesce(d.QPV_CODE, '') <> '') AS in_qpv"
	       " FROM dwelling d JOIN organisation o ON o.id = d.organisation_id"
	       " LEFT JOIN commune c ON c.code = d.commune_code"
	       " LEFT JOIN epci e ON e.code = c.epci_code"
	       " LEFT JOIN departement p ON p.code = c.departement_code"
	       " LEFT JOIN region r ON r.code = c.region_code)"
	       " SELECT g_code, min(g_name)",
	       lv->code, lv->name, where_sql, where_sql);
	for (size_t i = 0; i < N_SQL; i++)
		APPEND(", %s, %s", sql_indicators[i].num, sql_indicators[i].den ? sql_indicators[i].den : "0");
	APPEND(" FROM base WHERE g_code IS NOT NULL AND (g_code <> '' OR %d) GROUP BY g_code",
	       lv->level == DH_LEVEL_ALL);
#undef APPEND
	return sql;
}

static double sql_value(const sql_indicator *ind, double num, double den)
{
	switch (ind->kind) {
	case K_COUNT:
		return num;
	case K_PCT:
		return den == 0 ? NAN : num / den * 100.0;
	case K_RATIO:
		return den == 0 ? NAN : num / den;
	case K_EVOL:
		return den == 0 ? NAN : (num / den - 1.0) * 100.0;
	}
	return NAN;
}

typedef struct check_totals {
	size_t cells, rows, nonzero;
} check_totals;

static check_totals totals;

/* Compare the cube with SQL for one level at date `day` under a filter. */
static void cross_check(const sql_level *lv, int32_t day, const dh_predicate *filters, size_t nfilters,
			const char *where_sql)
{
	dh_cube_query q = { .level = lv->level, .reference_date = day, .filters = filters, .nfilters = nfilters };
	dh_cube_table *t = NULL;
	dh_error err;
	int rc = dh_cube_query_run(cube, &q, &t, &err);
	if (rc != DH_OK)
		fail_msg("cube level %s at %d: %s", dh_level_name(lv->level), (int)day, err.message);
	assert_int_equal(t->ncols, dh_indicator_count());

	/* Column of each SQL indicator in the cube's table; every registry column is covered. */
	int col[N_SQL];
	size_t covered = 0;
	for (size_t i = 0; i < N_SQL; i++) {
		col[i] = dh_cube_table_column(t, sql_indicators[i].id);
		if (col[i] < 0)
			fail_msg("indicator %s missing from the registry", sql_indicators[i].id);
		covered++;
	}
	assert_int_equal(covered, t->ncols);

	char *sql = build_sql(lv, where_sql);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("SQL: %s", sqlite3_errmsg(db));
	int y = day / 10000, m = day / 100 % 100;
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":d"), day);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":d1"), day - 10000);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":y"), y);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":m"), m);
	size_t nrows = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		int r = dh_cube_table_row(t, code);
		if (r < 0)
			fail_msg("level %s at %d: territory %s missing from the cube", dh_level_name(lv->level),
				 (int)day, code);
		if (lv->check_names)
			assert_string_equal(t->names[r], name ? name : "");
		nrows++;
		for (size_t i = 0; i < N_SQL; i++) {
			double num = sqlite3_column_double(st, 2 + 2 * (int)i);
			double den = sqlite3_column_double(st, 3 + 2 * (int)i);
			double want = sql_value(&sql_indicators[i], num, den);
			double got = dh_cube_table_value(t, (size_t)r, (size_t)col[i]);
			int ok = isnan(want) ? isnan(got)
					     : (sql_indicators[i].kind == K_COUNT
						      /* exact for counts; sums of rents differ in the last bits */
						      ? fabs(got - want) <= 1e-12 * fabs(want)
						      : fabs(got - want) <= 1e-9);
			if (!ok)
				fail_msg("level %s, %s, date %d, filter %s: %s = %.17g in the cube, %.17g by SQL",
					 dh_level_name(lv->level), code, (int)day, where_sql, sql_indicators[i].id, got,
					 want);
			totals.cells++;
			if (!isnan(want) && want != 0)
				totals.nonzero++;
		}
	}
	if (step != SQLITE_DONE)
		fail_msg("SQL: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(sql);
	assert_int_equal(nrows, t->nrows);
	totals.rows += nrows;
	dh_cube_table_free(t);
}

/* ---- fixture: generate, import, build ---- */

/*
 * Rewrite a generated file: drop every `drop`th data line (0: none; dwellings sold or
 * demolished between vintages), and give QPV codes (`QN0dd0kM`, dd the département) to
 * the dwellings flagged QPV = 1, and to a few flagged 2 (a code alone puts a dwelling in a
 * QPV), so that the QPV level and the QPV normalisation are exercised.
 */
static void rewrite(const char *path, size_t drop)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	f = fopen(path, "wb");
	assert_non_null(f);
	size_t line = 0;
	for (char *p = buf; p < buf + n;) {
		char *e = memchr(p, '\n', (size_t)(buf + n - p));
		size_t len = e ? (size_t)(e - p) + 1 : (size_t)(buf + n - p);
		line++;
		/* Fields of a data line: 46, no quoting in generated files. */
		char *field[DH_RPLS_NFIELDS + 1];
		size_t nf = 0;
		field[nf++] = p;
		for (char *q = p; q < p + len && nf <= DH_RPLS_NFIELDS; q++)
			if (*q == ';')
				field[nf++] = q + 1;
		int data = nf == DH_RPLS_NFIELDS && strncmp(p, "IDENT_REP", 9) != 0;
		if (data && drop && line % drop == 0) {
			p += len;
			continue;
		}
		/* A few student dwellings (TYPECONST E) and fusion/scission entries (NEWLOGT 2). */
		if (data && line % 23 == 0 && field[DH_RPLS_TYPECONST][0] == 'C')
			field[DH_RPLS_TYPECONST][0] = 'E';
		if (data && line % 2 == 0 && field[DH_RPLS_NEWLOGT][0] == '1')
			field[DH_RPLS_NEWLOGT][0] = '2';
		if (data && field[DH_RPLS_QPV_CODE + 1] == field[DH_RPLS_QPV_CODE] + 1 &&
		    ((field[DH_RPLS_QPV][0] == '1' && field[DH_RPLS_QPV][1] == ';') || line % 17 == 0)) {
			/* Everything before QPV_CODE's (empty) text, the code, then the rest. */
			fwrite(p, 1, (size_t)(field[DH_RPLS_QPV_CODE] - p), f);
			fprintf(f, "QN0%.2s0%zuM", field[DH_RPLS_DEPCOM], line % 4);
			fwrite(field[DH_RPLS_QPV_CODE], 1, len - (size_t)(field[DH_RPLS_QPV_CODE] - p), f);
		} else {
			fwrite(p, 1, len, f);
		}
		p += len;
	}
	fclose(f);
	free(buf);
}

static void gen(const char *sub, int year)
{
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.region = region_wanted();
	opt.rows = rows_wanted();
	opt.landlords = LANDLORDS;
	opt.seed = SEED;
	opt.ref_year = year;
	opt.ref_month = 1;
	opt.ref_day = 1;
	char out[4200];
	snprintf(out, sizeof(out), "%s/%s", dir, sub);
	opt.out_dir = out;
	dh_error err;
	if (dh_gen_stock(&opt, geo, NULL, &err) != DH_OK)
		fail_msg("gen: %s", err.message);
}

typedef struct org_list {
	char siren[LANDLORDS][10];
	size_t n;
} org_list;

static void register_orgs(org_list *orgs)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/v2024/landlords.csv", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1024];
	dh_error err;
	while (fgets(line, sizeof(line), f)) {
		char *semi = strchr(line, ';');
		if (!semi || semi - line != 9)
			continue;
		*semi = '\0';
		if (!dh_siren_valid(line))
			continue; /* header */
		char *name = semi + 1, *kind = strchr(name, ';');
		assert_non_null(kind);
		*kind++ = '\0';
		kind[strcspn(kind, "\r\n")] = '\0';
		dh_org org;
		memset(&org, 0, sizeof(org));
		dh_strlcpy(org.siren, sizeof(org.siren), line);
		dh_strlcpy(org.name, sizeof(org.name), name);
		int k = dh_org_kind_parse(kind);
		assert_true(k >= 0);
		org.kind = (dh_org_kind)k;
		if (orgs->n == 0)
			org.kind = DH_ORG_SEM; /* its CONV 2 dwellings are parc_non_conv */
		assert_int_equal(dh_store_org_add(store, &org, &err), DH_OK);
		assert_true(orgs->n < LANDLORDS);
		dh_strlcpy(orgs->siren[orgs->n++], 10, line);
	}
	fclose(f);
	assert_int_equal(orgs->n, LANDLORDS);
}

static void import(const char *sub, const char *siren, const char *date)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s/rpls-%s.csv", dir, sub, siren);
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = siren;
	opt.reference_date = date;
	dh_import_result res;
	memset(&res, 0, sizeof(res));
	dh_error err;
	int rc = dh_import_file(store, geo, path, &opt, &res, &err);
	if (rc != DH_OK)
		fail_msg("import %s at %s: %s", path, date, err.message);
	assert_false(res.duplicate);
	/* The rewritten files stay clean: every row is stored. */
	assert_int_equal(res.delivery.rows_rejected, 0);
	assert_true(res.delivery.rows_accepted > 0);
	dh_import_result_release(&res);
}

static int setup(void **state)
{
	(void)state;
	dh_error err;
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK) {
		fprintf(stderr, "geo: %s\n", err.message);
		return -1;
	}
	dir = dh_tmpdir();
	gen("v2023", 2023);
	gen("v2024", 2024);
	gen("v2025", 2025);
	char loc[4200];
	snprintf(loc, sizeof(loc), "%s/t.db", dir);
	if (dh_store_open(&store, loc, DH_STORE_CREATE, &err) != DH_OK ||
	    dh_geo_save(geo, store, &err) != DH_OK) {
		fprintf(stderr, "store: %s\n", err.message);
		return -1;
	}
	org_list orgs = { .n = 0 };
	register_orgs(&orgs);
	for (size_t i = 0; i < orgs.n; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/v2024/rpls-%s.csv", dir, orgs.siren[i]);
		rewrite(path, 0);
		snprintf(path, sizeof(path), "%s/v2025/rpls-%s.csv", dir, orgs.siren[i]);
		rewrite(path, 13);
		import("v2024", orgs.siren[i], "2024-01-01");
		import("v2025", orgs.siren[i], "2025-01-01");
	}
	/* History inserted in the past for the first landlord. */
	import("v2023", orgs.siren[0], "2023-01-01");
	if (dh_cube_build_from_store(store, geo, &cube, &stats, &err) != DH_OK) {
		fprintf(stderr, "cube: %s\n", err.message);
		return -1;
	}
	if (sqlite3_open_v2(loc, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (totals.cells)
		fprintf(stderr, "# cube vs SQL: %zu territory rows, %zu cells compared (%zu non-zero)\n",
			totals.rows, totals.cells, totals.nonzero);
	sqlite3_close(db);
	dh_cube_release(cube);
	dh_store_close(store);
	dh_geo_free(geo);
	dh_rmtree(dir);
	return 0;
}

/* ---- tests ---- */

static void test_cube_holds_every_version(void **state)
{
	(void)state;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*), count(DISTINCT organisation_id),"
					    " sum(valid_to < 99991231), count(DISTINCT valid_from) FROM dwelling",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	uint64_t versions = (uint64_t)sqlite3_column_int64(st, 0);
	assert_int_equal(stats.versions, versions);
	assert_int_equal(dh_cube_row_count(cube), versions);
	assert_int_equal(stats.landlords, LANDLORDS);
	assert_int_equal(sqlite3_column_int64(st, 1), LANDLORDS);
	/* Real history: closed versions and three delivery dates. */
	assert_true(sqlite3_column_int64(st, 2) > 0);
	assert_int_equal(sqlite3_column_int64(st, 3), 3);
	assert_int_equal(stats.unknown_commune, 0);
	/* More versions than dwellings at any single date: some were changed or dropped. */
	assert_true(versions > rows_wanted());
	sqlite3_finalize(st);
}

static void test_levels_at_dates(void **state)
{
	(void)state;
	/* Before any delivery but the past one, at each delivery, between two, after all. */
	static const int32_t dates[] = { 20230601, 20240101, 20240715, 20250101, 20260301 };
	/* DH_CROSSCHECK_QUICK (bench/crosscheck at national size): the latest delivery date only. */
	const char *quick = getenv("DH_CROSSCHECK_QUICK");
	size_t first = quick && *quick == '1' ? 3 : 0, last = quick && *quick == '1' ? 4 : 5;
	for (size_t d = first; d < last; d++)
		for (size_t l = 0; l < sizeof(sql_levels) / sizeof(sql_levels[0]); l++)
			cross_check(&sql_levels[l], dates[d], NULL, 0, "1");
}

static void test_levels_with_filters(void **state)
{
	(void)state;
	dh_predicate f[2];
	dh_error err;
	char t1[] = "FINAN=10,11,13", t2[] = "CONSTRUCT=1970..1999";
	const char *quick = getenv("DH_CROSSCHECK_QUICK");
	if (quick && *quick == '1')
		skip();
	assert_int_equal(dh_cube_filter_parse(t1, &f[0], &err), DH_OK);
	assert_int_equal(dh_cube_filter_parse(t2, &f[1], &err), DH_OK);
	for (size_t l = 0; l < sizeof(sql_levels) / sizeof(sql_levels[0]); l++) {
		cross_check(&sql_levels[l], 20250101, f, 1, "d.FINAN IN ('10', '11', '13')");
		cross_check(&sql_levels[l], 20250101, f, 2,
			    "d.FINAN IN ('10', '11', '13') AND d.CONSTRUCT BETWEEN 1970 AND 1999");
	}
}

/* The sanity of the data itself: the checks above must compare real values. */
static void test_data_exercises_the_definitions(void **state)
{
	(void)state;
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = 20250101 };
	dh_cube_table *t;
	dh_error err;
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_OK);
	assert_int_equal(t->nrows, 1);
	static const char *const positive[] = { "nb_ls", "loues", "vacants", "tx_vac", "tx_vac3", "tx_mob",
						"loyer_m2", "part_collectif", "dpe_absent", "age_moyen",
						"parc_non_conv", "nb_ls_etu", "dpe_e_d_new", "dpe_e_nr_new",
						"dpe_e_d" };
	for (size_t i = 0; i < sizeof(positive) / sizeof(positive[0]); i++) {
		double v = dh_cube_table_value(t, 0, (size_t)dh_cube_table_column(t, positive[i]));
		if (!(v > 0))
			fail_msg("%s = %g: the generated data do not exercise it", positive[i], v);
	}
	/* Dropped dwellings: fewer at 2025 than at 2024 for the same landlords. */
	double evol = dh_cube_table_value(t, 0, (size_t)dh_cube_table_column(t, "evol_nb_ls"));
	assert_true(evol < 0);
	dh_cube_table_free(t);
	/* QPV codes were given: the QPV level has territories. */
	q.level = DH_LEVEL_QPV;
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_OK);
	assert_true(t->nrows >= 4);
	dh_cube_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cube_holds_every_version),
		cmocka_unit_test(test_levels_at_dates),
		cmocka_unit_test(test_levels_with_filters),
		cmocka_unit_test(test_data_exercises_the_definitions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
