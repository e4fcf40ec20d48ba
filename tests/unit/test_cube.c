/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_cube.c - the in-memory cube: hand-computed cases for every definition trap of the
 * stock indicators (domain.md §4-5), group-by at each level, filters, as-of dates with
 * history, a random cross-check against a direct per-row computation, and the snapshot
 * holder swapped under concurrent readers.
 */
#include "testutil.h"

#include "datahabitat/cube.h"

#include <math.h>
#include <pthread.h>

/* ---- a small hand-made territory ---- */

static const dh_cube_commune communes[] = {
	/* région 53: départements 35 and 29; EPCI 243500139 spans 35238 and 35051 */
	{ "35238", "Rennes", "243500139", "Rennes Métropole", "35", "Ille-et-Vilaine", "53", "Bretagne" },
	{ "35051", "Cesson-Sévigné", "243500139", "Rennes Métropole", "35", "Ille-et-Vilaine", "53", "Bretagne" },
	{ "29232", "Quimper", "242900314", "Quimper Bretagne Occidentale", "29", "Finistère", "53", "Bretagne" },
	/* région 52 */
	{ "44109", "Nantes", "244400404", "Nantes Métropole", "44", "Loire-Atlantique", "52", "Pays de la Loire" },
	/* a commune without dwellings */
	{ "29019", "Brest", "242900314", "Quimper Bretagne Occidentale", "29", "Finistère", "53", "Bretagne" },
};
#define NCOMMUNES (sizeof(communes) / sizeof(communes[0]))

static dh_str S(const char *t)
{
	return (dh_str){ t, strlen(t) };
}

/* A let dwelling at 1/1/2025 with plain values; tests change what they need. */
static dh_cube_version base_version(int32_t commune)
{
	dh_cube_version v;
	memset(&v, 0, sizeof(v));
	v.landlord = 0;
	v.commune = commune;
	v.valid_from = 20240101;
	v.mode = S("1");
	v.typeconst = S("C");
	v.finan = S("13");
	v.dpedate = 20220300;
	v.dpe_energie = S("D");
	v.dpe_serre = S("C");
	v.qpv = S("2");
	v.origine = S("1");
	v.sortiepatrim = S("9");
	v.nbpiece = 3;
	v.construct = 1990;
	v.locat = 1991;
	v.bail = 20150600;
	v.remlocdate = 20150500;
	v.loyerprinc = 350;
	v.surfhab = 65;
	return v;
}

static dh_cube_builder *new_builder(void)
{
	dh_cube_builder *b;
	dh_error err;
	assert_int_equal(dh_cube_builder_new(&b), DH_OK);
	for (size_t i = 0; i < NCOMMUNES; i++) {
		int32_t idx;
		assert_int_equal(dh_cube_builder_add_commune(b, &communes[i], &idx, &err), DH_OK);
		assert_int_equal(idx, (int32_t)i);
	}
	int32_t l;
	assert_int_equal(dh_cube_builder_add_landlord(b, "111111111", "Office A", &l, &err), DH_OK);
	assert_int_equal(l, 0);
	assert_int_equal(dh_cube_builder_add_landlord(b, "222222222", "ESH B", &l, &err), DH_OK);
	assert_int_equal(l, 1);
	assert_int_equal(dh_cube_builder_add_landlord(b, "333333333", "Coop C", &l, &err), DH_OK);
	return b;
}

static void add(dh_cube_builder *b, const dh_cube_version *v)
{
	dh_error err;
	int rc = dh_cube_builder_add(b, v, &err);
	if (rc != DH_OK)
		fail_msg("add: %s", err.message);
}

static dh_cube *finish(dh_cube_builder *b)
{
	dh_cube *c;
	dh_error err;
	assert_int_equal(dh_cube_builder_finish(b, &c, &err), DH_OK);
	dh_cube_builder_free(b);
	return c;
}

static dh_cube_table *run(const dh_cube *c, dh_level level, int32_t date, const char *territory,
			  const dh_predicate *filters, size_t nfilters)
{
	dh_cube_query q = { .level = level, .reference_date = date, .territory = territory,
			    .filters = filters, .nfilters = nfilters };
	dh_cube_table *t;
	dh_error err;
	int rc = dh_cube_query_run(c, &q, &t, &err);
	if (rc != DH_OK)
		fail_msg("query: %s", err.message);
	return t;
}

/* Value of indicator `id` for territory `code` (or the only row when code is NULL). */
static double val(const dh_cube_table *t, const char *code, const char *id)
{
	int col = dh_cube_table_column(t, id);
	if (col < 0)
		fail_msg("no column %s", id);
	int row = code ? dh_cube_table_row(t, code) : 0;
	if (row < 0)
		fail_msg("no row %s", code);
	return dh_cube_table_value(t, (size_t)row, (size_t)col);
}

static void assert_close_(double a, double b, int line)
{
	if (!(fabs(a - b) < 1e-9 * (1 + fabs(b))))
		fail_msg("line %d: %.12g != expected %.12g", line, a, b);
}
#define assert_close(a, b) assert_close_((double)(a), (double)(b), __LINE__)

/* ---- definition traps ---- */

/* tx_vac = vacants / (loues + vacants), not / nb_ls; MODE 9 is outside the stock. */
static void test_vacancy_denominator(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	for (int i = 0; i < 6; i++)
		add(b, &v);
	v.mode = S("2");
	add(b, &v);
	add(b, &v);
	v.mode = S("3");
	add(b, &v);
	v.mode = S("4");
	add(b, &v);
	v.mode = S("9");
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_int_equal(t->nrows, 1);
	assert_close(val(t, NULL, "nb_ls"), 10);  /* 6 + 2 + 1 + 1, MODE 9 excluded */
	assert_close(val(t, NULL, "loues"), 6);
	assert_close(val(t, NULL, "vacants"), 2);
	assert_close(val(t, NULL, "vides"), 1);
	assert_close(val(t, NULL, "asso"), 1);
	assert_close(val(t, NULL, "autres"), 0);
	assert_close(val(t, NULL, "tx_vac"), 25.0); /* 2 / 8, not 2 / 10 */
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* loyer_m2 excludes LOYERPRINC 9999 (and its surface) and non-let dwellings. */
static void test_rent_9999_excluded(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.loyerprinc = 300, v.surfhab = 60;
	add(b, &v);
	v.loyerprinc = 9999, v.surfhab = 50;
	add(b, &v);
	v.loyerprinc = 400.5, v.surfhab = 80;
	add(b, &v);
	v.mode = S("2"), v.loyerprinc = 1000, v.surfhab = 10; /* vacant: not in the rent */
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "loyer_m2"), 700.5 / 140.0);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* DPEDATE 01/1900 means no DPE whatever the classes say. */
static void test_dpe_1900_is_absent(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.dpe_energie = S("G"), v.dpe_serre = S("G");
	add(b, &v); /* a real G */
	v.dpedate = 19000100;
	add(b, &v); /* placeholder date: no DPE */
	v.dpedate = 0, v.dpe_energie = S(""), v.dpe_serre = S("");
	add(b, &v); /* empty: no DPE */
	v.dpedate = 20230100, v.dpe_energie = S("F"), v.dpe_serre = S("E");
	add(b, &v);
	v.dpe_energie = S("E");
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "dpe_e_g"), 1);
	assert_close(val(t, NULL, "dpe_g_g"), 1);
	assert_close(val(t, NULL, "dpe_absent"), 2);
	assert_close(val(t, NULL, "interdit_2025"), 1);
	assert_close(val(t, NULL, "interdit_2028"), 1);
	assert_close(val(t, NULL, "interdit_2034"), 1);
	assert_close(val(t, NULL, "interdit_sans_dpe"), 2);
	assert_close(val(t, NULL, "part_fg"), 2.0 / 3.0 * 100); /* among the 3 with a DPE */
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* Vacant over 3 months at 1/1/2025: REMLOCDATE <= 09/2024; 10/2024 is not. */
static void test_vacancy_3_months_boundary(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	add(b, &v); /* let */
	add(b, &v);
	v.mode = S("2");
	v.remlocdate = 20240900;
	add(b, &v); /* 4 whole months: counts */
	v.remlocdate = 20241000;
	add(b, &v); /* 3 months: does not */
	v.remlocdate = 20241215;
	add(b, &v); /* day given, same month rule */
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "tx_vac"), 3.0 / 5.0 * 100);
	assert_close(val(t, NULL, "tx_vac3"), 1.0 / 5.0 * 100);
	dh_cube_table_free(t);
	/* one month later 10/2024 also counts */
	t = run(c, DH_LEVEL_ALL, 20250201, NULL, NULL, 0);
	assert_close(val(t, NULL, "tx_vac3"), 2.0 / 5.0 * 100);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* Mobility: leases of 2024 among dwellings let before 2024; new dwellings of 2024 excluded. */
static void test_mobility_excludes_new(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.locat = 2010, v.bail = 20240300;
	add(b, &v); /* new lease in 2024 on an old dwelling: numerator */
	v.bail = 20241200;
	add(b, &v); /* December 2024: numerator */
	v.bail = 20231200;
	add(b, &v); /* lease of 2023: denominator only */
	v.locat = 2024, v.bail = 20240600, v.construct = 2024, v.origine = S("4");
	add(b, &v); /* first let in 2024: out of both */
	v.origine = S("2");
	add(b, &v);
	v.locat = 2023, v.bail = 20250100;
	add(b, &v); /* lease of 2025: after the window; denominator */
	v.mode = S("2"), v.locat = 2005, v.bail = 0;
	add(b, &v); /* vacant offered: denominator */
	v.mode = S("3");
	add(b, &v); /* empty: out */
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "tx_mob"), 2.0 / 5.0 * 100);
	assert_close(val(t, NULL, "mes"), 2);
	assert_close(val(t, NULL, "mes_vefa"), 1);
	assert_close(val(t, NULL, "mes_acq_travaux"), 1);
	assert_close(val(t, NULL, "mes_construits"), 0);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* Scope: MODE 9 is out of every stock figure; sorties count all declared rows. */
static void test_scope_mode_9(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.qpv = S("1");
	add(b, &v);
	v.qpv = S("2");
	v.typeconst = S("I");
	add(b, &v);
	v.mode = S("9"), v.sortiepatrim = S("1"), v.qpv = S("1"), v.typeconst = S("C");
	add(b, &v); /* sold to its tenant in 2024 */
	v.sortiepatrim = S("4");
	add(b, &v); /* demolished */
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "nb_ls"), 2);
	assert_close(val(t, NULL, "part_qpv"), 50);
	assert_close(val(t, NULL, "part_collectif"), 50);
	assert_close(val(t, NULL, "part_individuel"), 50);
	assert_close(val(t, NULL, "sorties"), 2);
	assert_close(val(t, NULL, "sortie_vente_locataire"), 1);
	assert_close(val(t, NULL, "sortie_demolition"), 1);
	assert_close(val(t, NULL, "fin_plus"), 2);
	assert_close(val(t, NULL, "nb_p3"), 2);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* Undefined rates are NaN, not 0; counts stay 0. */
static void test_zero_denominator_is_nan(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.mode = S("3"), v.dpedate = 19000100;
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_true(isnan(val(t, NULL, "tx_vac")));
	assert_true(isnan(val(t, NULL, "loyer_m2")));
	assert_true(isnan(val(t, NULL, "part_fg")));
	assert_close(val(t, NULL, "nb_ls"), 1);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* Ages: classes at the reference year and the mean over known years. */
static void test_age_classes(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	const int years[] = { 2021, 2020, 2015, 2005, 1985, 1965, 1964, 0 };
	for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++) {
		v.construct = years[i];
		add(b, &v);
	}
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "age_lt5"), 1);   /* 4 years */
	assert_close(val(t, NULL, "age_5_10"), 1);  /* 5 */
	assert_close(val(t, NULL, "age_10_20"), 1); /* 10 */
	assert_close(val(t, NULL, "age_20_40"), 1); /* 20 */
	assert_close(val(t, NULL, "age_40_60"), 1); /* 40 */
	assert_close(val(t, NULL, "age_ge60"), 2);  /* 60, 61 */
	assert_close(val(t, NULL, "age_moyen"), (4 + 5 + 10 + 20 + 40 + 60 + 61) / 7.0);
	dh_cube_table_free(t);
	dh_cube_release(c);
}

/* ---- levels, filters, history ---- */

static dh_cube *sample_cube(void)
{
	dh_cube_builder *b = new_builder();
	dh_cube_version v;
	/* Rennes 5 (landlord A, 2 in QPV), Cesson 3 (B), Quimper 4 (A 2, B 2), Nantes 2 (C) */
	const struct { int commune, landlord, n; const char *qpv; } plan[] = {
		{ 0, 0, 3, "" }, { 0, 0, 2, "QN03501M" }, { 1, 1, 3, "" }, { 2, 0, 2, "QN02902M" },
		{ 2, 1, 2, "" }, { 3, 2, 2, "" },
	};
	int k = 0;
	for (size_t p = 0; p < sizeof(plan) / sizeof(plan[0]); p++)
		for (int i = 0; i < plan[p].n; i++, k++) {
			v = base_version(plan[p].commune);
			v.landlord = plan[p].landlord;
			v.qpv_code = S(plan[p].qpv);
			v.mode = S(k % 4 == 0 ? "2" : "1");
			v.typeconst = S(k % 3 == 0 ? "I" : "C");
			v.finan = S(k % 5 == 0 ? "10" : "13");
			v.construct = 1960 + 3 * k;
			add(b, &v);
		}
	return finish(b);
}

static void test_levels_sum(void **state)
{
	(void)state;
	dh_cube *c = sample_cube();
	assert_int_equal(dh_cube_row_count(c), 14);
	dh_cube_table *com = run(c, DH_LEVEL_COMMUNE, 20250101, NULL, NULL, 0);
	dh_cube_table *dep = run(c, DH_LEVEL_DEPARTEMENT, 20250101, NULL, NULL, 0);
	dh_cube_table *reg = run(c, DH_LEVEL_REGION, 20250101, NULL, NULL, 0);
	dh_cube_table *epci = run(c, DH_LEVEL_EPCI, 20250101, NULL, NULL, 0);
	dh_cube_table *all = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	dh_cube_table *ll = run(c, DH_LEVEL_LANDLORD, 20250101, NULL, NULL, 0);
	dh_cube_table *qpv = run(c, DH_LEVEL_QPV, 20250101, NULL, NULL, 0);
	assert_int_equal(com->nrows, 4); /* Brest has no dwelling */
	/* cube order: région 52 first, then 53 with département 29 before 35 */
	assert_string_equal(com->codes[0], "44109");
	assert_string_equal(com->codes[1], "29232");
	assert_string_equal(com->names[1], "Quimper");
	assert_int_equal(dep->nrows, 3);
	assert_int_equal(reg->nrows, 2);
	assert_int_equal(epci->nrows, 3);
	assert_int_equal(ll->nrows, 3);
	assert_int_equal(qpv->nrows, 2);
	assert_close(val(com, "35238", "nb_ls"), 5);
	assert_close(val(com, "35051", "nb_ls"), 3);
	assert_close(val(dep, "35", "nb_ls"), 8);
	assert_string_equal(dep->names[dh_cube_table_row(dep, "35")], "Ille-et-Vilaine");
	assert_close(val(epci, "243500139", "nb_ls"), 8);
	assert_close(val(epci, "242900314", "nb_ls"), 4);
	assert_close(val(reg, "53", "nb_ls"), 12);
	assert_close(val(reg, "52", "nb_ls"), 2);
	assert_close(val(all, NULL, "nb_ls"), 14);
	assert_close(val(ll, "111111111", "nb_ls"), 7);
	assert_close(val(ll, "222222222", "nb_ls"), 5);
	assert_close(val(qpv, "QN03501M", "nb_ls"), 2);
	/* every count column: département = sum of its communes, région = sum of départements */
	for (size_t j = 0; j < all->ncols; j++) {
		if (all->columns[j]->kind != DH_IND_COUNT)
			continue;
		const char *id = all->columns[j]->id;
		assert_close(val(dep, "35", id), val(com, "35238", id) + val(com, "35051", id));
		assert_close(val(reg, "53", id), val(dep, "35", id) + val(dep, "29", id));
		assert_close(val(all, NULL, id), val(reg, "53", id) + val(reg, "52", id));
		assert_close(val(all, NULL, id), val(ll, "111111111", id) + val(ll, "222222222", id) +
							 val(ll, "333333333", id));
	}
	/* rates recomputed from sums, not averaged: tx_vac of the département */
	double vac = val(com, "35238", "vacants") + val(com, "35051", "vacants");
	double let = val(com, "35238", "loues") + val(com, "35051", "loues");
	assert_close(val(dep, "35", "tx_vac"), vac / (vac + let) * 100);
	assert_close(val(all, NULL, "part_qpv"), 4.0 / 14 * 100);
	/* one territory gives the same figures as the full table */
	dh_cube_table *one = run(c, DH_LEVEL_EPCI, 20250101, "243500139", NULL, 0);
	assert_int_equal(one->nrows, 1);
	for (size_t j = 0; j < one->ncols; j++) {
		double a = dh_cube_table_value(one, 0, j);
		double e = val(epci, "243500139", one->columns[j]->id);
		assert_true((isnan(a) && isnan(e)) || fabs(a - e) < 1e-9);
	}
	dh_cube_table_free(one);
	one = run(c, DH_LEVEL_LANDLORD, 20250101, "222222222", NULL, 0);
	assert_close(val(one, NULL, "nb_ls"), 5);
	dh_cube_table_free(one);
	/* unknown territory */
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101, .territory = "29019" };
	dh_error err;
	assert_int_equal(dh_cube_query_run(c, &q, &one, &err), DH_NOTFOUND);
	assert_null(one);
	dh_cube_table_free(com);
	dh_cube_table_free(dep);
	dh_cube_table_free(reg);
	dh_cube_table_free(epci);
	dh_cube_table_free(all);
	dh_cube_table_free(ll);
	dh_cube_table_free(qpv);
	dh_cube_release(c);
}

static void test_filters(void **state)
{
	(void)state;
	dh_cube *c = sample_cube();
	dh_predicate f[3];
	dh_error err;
	/* k = 0..13: I when k % 3 == 0 -> 0,3,6,9,12 = 5 individual dwellings */
	assert_int_equal(dh_cube_filter_parse("TYPECONST=I", &f[0], &err), DH_OK);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, f, 1);
	assert_close(val(t, NULL, "nb_ls"), 5);
	assert_close(val(t, NULL, "part_individuel"), 100);
	dh_cube_table_free(t);
	/* PLAI: k % 5 == 0 -> 0, 5, 10 */
	assert_int_equal(dh_cube_filter_parse("FINAN=10,11", &f[0], &err), DH_OK);
	t = run(c, DH_LEVEL_ALL, 20250101, NULL, f, 1);
	assert_close(val(t, NULL, "nb_ls"), 3);
	assert_close(val(t, NULL, "fin_plai"), 3);
	dh_cube_table_free(t);
	/* construction period: 1960 + 3k in 1970..1979 -> k = 4, 5, 6 */
	assert_int_equal(dh_cube_filter_parse("CONSTRUCT=1970..1979", &f[0], &err), DH_OK);
	t = run(c, DH_LEVEL_ALL, 20250101, NULL, f, 1);
	assert_close(val(t, NULL, "nb_ls"), 3);
	dh_cube_table_free(t);
	/* landlord and QPV, combined, by commune */
	assert_int_equal(dh_cube_filter_parse("BAILLEUR=111111111", &f[0], &err), DH_OK);
	assert_int_equal(dh_cube_filter_parse("QPV=1", &f[1], &err), DH_OK);
	t = run(c, DH_LEVEL_COMMUNE, 20250101, NULL, f, 2);
	assert_close(val(t, "35238", "nb_ls"), 2);
	assert_close(val(t, "29232", "nb_ls"), 2);
	assert_close(val(t, "35051", "nb_ls"), 0);
	dh_cube_table_free(t);
	/* rooms and DPE */
	assert_int_equal(dh_cube_filter_parse("NBPIECE=3", &f[0], &err), DH_OK);
	assert_int_equal(dh_cube_filter_parse("DPEENERGIE=D", &f[1], &err), DH_OK);
	t = run(c, DH_LEVEL_ALL, 20250101, NULL, f, 2);
	assert_close(val(t, NULL, "nb_ls"), 14);
	dh_cube_table_free(t);
	/* bad filters */
	assert_int_equal(dh_cube_filter_parse("NOPE=1", &f[0], &err), DH_INVAL);
	assert_int_equal(dh_cube_filter_parse("TYPECONST", &f[0], &err), DH_INVAL);
	assert_int_equal(dh_cube_filter_parse("CONSTRUCT=1990..1980", &f[0], &err), DH_INVAL);
	assert_int_equal(dh_cube_filter_parse("LOYERPRINC=1..5", &f[0], &err), DH_INVAL);
	dh_cube_release(c);
}

/* Versions: a dwelling vacant in 2024 then let; one sold at the end of 2024; one new in 2025. */
static void test_history_as_of(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(0);
	v.valid_from = 20240101, v.valid_to = 20250101, v.mode = S("2");
	add(b, &v);
	v.valid_from = 20250101, v.valid_to = 0, v.mode = S("1");
	add(b, &v);
	v.valid_from = 20240101, v.valid_to = 20250101;
	add(b, &v); /* sold: no version after 2024 */
	v.valid_from = 20230101, v.valid_to = 0;
	add(b, &v); /* unchanged since 2023 */
	v.valid_from = 20250101, v.locat = 2024;
	add(b, &v); /* new */
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20240601, NULL, NULL, 0);
	assert_close(val(t, NULL, "nb_ls"), 3);
	assert_close(val(t, NULL, "vacants"), 1);
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "nb_ls"), 4);
	assert_close(val(t, NULL, "vacants"), 0);
	assert_close(val(t, NULL, "evol_nb_ls"), (4.0 / 3.0 - 1) * 100);
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_ALL, 20241231, NULL, NULL, 0); /* last day of the old versions */
	assert_close(val(t, NULL, "nb_ls"), 3);
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_ALL, 20230101, NULL, NULL, 0);
	assert_close(val(t, NULL, "nb_ls"), 1);
	assert_true(isnan(val(t, NULL, "evol_nb_ls"))); /* nothing a year before */
	dh_cube_table_free(t);
	dh_cube_release(c);
}

static void test_builder_errors(void **state)
{
	(void)state;
	dh_cube_builder *b = new_builder();
	dh_error err;
	dh_cube_version v = base_version(0);
	v.landlord = 7;
	assert_int_equal(dh_cube_builder_add(b, &v, &err), DH_INVAL);
	v = base_version(99);
	assert_int_equal(dh_cube_builder_add(b, &v, &err), DH_INVAL);
	v = base_version(0);
	v.valid_to = 20240101; /* empty period */
	assert_int_equal(dh_cube_builder_add(b, &v, &err), DH_INVAL);
	assert_int_equal(dh_cube_builder_add_commune(b, &communes[0], NULL, &err), DH_EXISTS);
	assert_int_equal(dh_cube_builder_add_landlord(b, "111111111", NULL, NULL, &err), DH_EXISTS);
	v = base_version(-1); /* unknown commune: counted in the whole and by landlord only */
	add(b, &v);
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_ALL, 20250101, NULL, NULL, 0);
	assert_close(val(t, NULL, "nb_ls"), 1);
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_COMMUNE, 20250101, NULL, NULL, 0);
	assert_int_equal(t->nrows, 0);
	dh_cube_table_free(t);
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = 20251301 };
	assert_int_equal(dh_cube_query_run(c, &q, &t, &err), DH_INVAL);
	int bad = 10000;
	q = (dh_cube_query){ .level = DH_LEVEL_ALL, .reference_date = 20250101, .indicators = &bad,
			     .nindicators = 1 };
	assert_int_equal(dh_cube_query_run(c, &q, &t, &err), DH_INVAL);
	dh_cube_release(c);
}

/* ---- random cross-check against a direct computation ---- */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

typedef struct ref_row {
	int commune, mode, qpv, locat, construct, dpe_real;
	int32_t bail, remloc, from, to;
	double rent, surf;
} ref_row;

static void test_random_cross_check(void **state)
{
	(void)state;
	enum { N = 3000 };
	static ref_row rows[N];
	static const char *const modes[] = { "1", "1", "1", "2", "3", "4", "5", "9" };
	static char bufs[N][3][4];
	dh_cube_builder *b = new_builder();
	for (int i = 0; i < N; i++) {
		ref_row *r = &rows[i];
		r->commune = (int)rnd(4);
		r->mode = (int)rnd(8);
		r->qpv = rnd(3) == 0;
		r->locat = 2015 + (int)rnd(11);
		r->construct = r->locat - (int)rnd(80);
		r->dpe_real = rnd(4) != 0;
		r->bail = (2022 + (int32_t)rnd(4)) * 10000 + (1 + (int32_t)rnd(12)) * 100;
		r->remloc = (2023 + (int32_t)rnd(3)) * 10000 + (1 + (int32_t)rnd(12)) * 100;
		r->from = 20230101 + 10000 * (int32_t)rnd(3);
		r->to = rnd(3) == 0 ? r->from + 10000 * (1 + (int32_t)rnd(2)) : 0;
		r->rent = rnd(10) == 0 ? 9999 : 100 + rnd(600);
		r->surf = 15 + rnd(120);
		dh_cube_version v = base_version(r->commune);
		snprintf(bufs[i][0], 4, "%s", modes[r->mode]);
		v.mode = S(bufs[i][0]);
		v.qpv = S(r->qpv ? "1" : "2");
		v.locat = r->locat;
		v.construct = r->construct;
		v.dpedate = r->dpe_real ? 20220100 : 19000100;
		v.dpe_energie = S("F");
		v.bail = r->bail;
		v.remlocdate = r->remloc;
		v.valid_from = r->from;
		v.valid_to = r->to;
		v.loyerprinc = r->rent;
		v.surfhab = r->surf;
		add(b, &v);
	}
	dh_cube *c = finish(b);
	const int32_t dates[] = { 20240101, 20250101, 20250701, 20260101 };
	for (size_t di = 0; di < 4; di++) {
		int32_t d = dates[di], y = d / 10000, m = (d / 100) % 100;
		dh_cube_table *t = run(c, DH_LEVEL_COMMUNE, d, NULL, NULL, 0);
		for (int com = 0; com < 4; com++) {
			double nb = 0, nbprev = 0, loues = 0, vac = 0, vac3 = 0, mobn = 0, mobd = 0;
			double rent = 0, surf = 0, qpv = 0, fg = 0, age = 0, agen = 0, mes = 0;
			for (int i = 0; i < N; i++) {
				const ref_row *r = &rows[i];
				if (r->commune != com)
					continue;
				int md = modes[r->mode][0] - '0';
				int scope = md >= 1 && md <= 5;
				int32_t prev = d - 10000;
				if (r->from <= prev && (!r->to || prev < r->to) && scope)
					nbprev++;
				if (!(r->from <= d && (!r->to || d < r->to)) || !scope)
					continue;
				nb++;
				loues += md == 1;
				vac += md == 2;
				int rm = r->remloc / 10000 * 12 + r->remloc / 100 % 100;
				vac3 += md == 2 && (y * 12 + m) - rm > 3;
				int bm = r->bail / 10000 * 12 + r->bail / 100 % 100;
				int months = (y * 12 + m) - bm;
				int old = r->locat < y - 1;
				mobn += md == 1 && old && months >= 1 && months <= 12;
				mobd += (md == 1 || md == 2) && old;
				if (md == 1 && r->rent != 9999) {
					rent += r->rent;
					surf += r->surf;
				}
				qpv += r->qpv;
				fg += r->dpe_real;
				if (y - r->construct >= 0) {
					age += y - r->construct;
					agen++;
				}
				mes += r->locat == y - 1;
			}
			const char *code = communes[com].code;
			assert_close(val(t, code, "nb_ls"), nb);
			assert_close(val(t, code, "loues"), loues);
			assert_close(val(t, code, "tx_vac"), vac / (loues + vac) * 100);
			assert_close(val(t, code, "tx_vac3"), vac3 / (loues + vac) * 100);
			assert_close(val(t, code, "tx_mob"), mobn / mobd * 100);
			assert_close(val(t, code, "loyer_m2"), rent / surf);
			assert_close(val(t, code, "part_qpv"), qpv / nb * 100);
			assert_close(val(t, code, "dpe_e_f"), fg);
			assert_close(val(t, code, "dpe_absent"), nb - fg);
			assert_close(val(t, code, "age_moyen"), age / agen);
			assert_close(val(t, code, "mes"), mes);
			if (nbprev > 0)
				assert_close(val(t, code, "evol_nb_ls"), (nb / nbprev - 1) * 100);
		}
		dh_cube_table_free(t);
	}
	dh_cube_release(c);
}

/* Exactly equal (NaN equal to NaN): both paths add the same integer counters. */
static void assert_same_tables(const dh_cube_table *a, const dh_cube_table *b, const char *what)
{
	assert_int_equal(a->nrows, b->nrows);
	assert_int_equal(a->ncols, b->ncols);
	for (size_t i = 0; i < a->nrows; i++) {
		assert_string_equal(a->codes[i], b->codes[i]);
		assert_string_equal(a->names[i], b->names[i]);
		for (size_t j = 0; j < a->ncols; j++) {
			assert_ptr_equal(a->columns[j], b->columns[j]);
			double x = dh_cube_table_value(a, i, j), y = dh_cube_table_value(b, i, j);
			if (!(x == y || (isnan(x) && isnan(y))))
				fail_msg("%s: row %s, %s: %.17g != %.17g", what, a->codes[i],
					 a->columns[j]->id, x, y);
		}
	}
}

/*
 * Geographic tables without filter come from per-date commune counters (cached, built at
 * the cube's latest date or on the first whole table of a date); with a filter, rows are
 * scanned. A filter that holds for every row (MODE not in {0}, a code no row has: the empty
 * set is refused since dh_predicate_set_check) takes the scanning path: both must give the
 * same tables at every level, date, territory and column subset, including the rows without
 * commune and the dates evicted from the cache.
 */
static void test_commune_counters_match_scan(void **state)
{
	(void)state;
	static const char *const modes[] = { "1", "1", "1", "2", "3", "4", "5", "9", "" };
	static const char *const classes[] = { "A", "C", "D", "E", "F", "G", "" };
	static const char *const finans[] = { "10", "12", "13", "51", "53", "" };
	dh_cube_builder *b = new_builder();
	for (int i = 0; i < 4000; i++) {
		int commune = (int)rnd(5) - (rnd(30) == 0 ? 5 : 0); /* some without commune */
		dh_cube_version v = base_version(commune < 0 ? -1 : commune);
		v.landlord = (int32_t)rnd(3);
		v.mode = S(modes[rnd(9)]);
		v.typeconst = S(rnd(2) ? "C" : "I");
		v.finan = S(finans[rnd(6)]);
		v.dpe_energie = S(classes[rnd(7)]);
		v.dpe_serre = S(classes[rnd(7)]);
		v.dpedate = rnd(5) ? 20210300 : 19000100;
		v.qpv = S(rnd(4) ? "2" : "1");
		v.nbpiece = (int32_t)rnd(8);
		v.locat = 2010 + (int32_t)rnd(16);
		v.construct = rnd(10) ? v.locat - (int32_t)rnd(90) : 0;
		v.bail = (2020 + (int32_t)rnd(6)) * 10000 + (1 + (int32_t)rnd(12)) * 100;
		v.remlocdate = (2022 + (int32_t)rnd(4)) * 10000 + (1 + (int32_t)rnd(12)) * 100;
		v.valid_from = 20220101 + 10000 * (int32_t)rnd(4);
		v.valid_to = rnd(3) == 0 ? v.valid_from + 10000 * (1 + (int32_t)rnd(2)) : 0;
		v.loyerprinc = rnd(10) == 0 ? 9999 : 100 + rnd(600) + 0.37;
		v.surfhab = rnd(20) == 0 ? NAN : 15 + rnd(120) + 0.5;
		add(b, &v);
	}
	dh_cube *c = finish(b);
	dh_predicate all = { .dim = DH_DIM_MODE, .op = DH_OP_NOT_IN, .set = "0" };
	const int32_t dates[] = { 20250101, 20230615, 20240101, 20260101, 20250101, 20231231 };
	const dh_level levels[] = { DH_LEVEL_ALL, DH_LEVEL_COMMUNE, DH_LEVEL_EPCI,
				    DH_LEVEL_DEPARTEMENT, DH_LEVEL_REGION };
	const char *const territories[] = { NULL, NULL, "35238", "243500139", "29", "52" };
	const dh_level tlevels[] = { 0, 0, DH_LEVEL_COMMUNE, DH_LEVEL_EPCI, DH_LEVEL_DEPARTEMENT,
				     DH_LEVEL_REGION };
	int subset[] = { 5, 0, 17, 3, (int)dh_indicator_count() - 1 };
	for (size_t di = 0; di < sizeof(dates) / sizeof(dates[0]); di++) {
		for (size_t ti = 1; ti < sizeof(territories) / sizeof(territories[0]); ti++) {
			/* one territory before and after its date's counters exist */
			for (size_t li = 0; li < sizeof(levels) / sizeof(levels[0]); li++) {
				const char *terr = territories[ti] && tlevels[ti] == levels[li]
							   ? territories[ti] : NULL;
				if (ti > 1 && !terr)
					continue;
				for (int sub = 0; sub < 2; sub++) {
					dh_cube_query q = { .level = levels[li], .reference_date = dates[di],
							    .territory = terr,
							    .indicators = sub ? subset : NULL,
							    .nindicators = sub ? 5 : 0 };
					dh_cube_table *fast, *slow;
					dh_error err;
					assert_int_equal(dh_cube_query_run(c, &q, &fast, &err), DH_OK);
					q.filters = &all;
					q.nfilters = 1;
					assert_int_equal(dh_cube_query_run(c, &q, &slow, &err), DH_OK);
					assert_same_tables(fast, slow, dh_level_name(levels[li]));
					dh_cube_table_free(fast);
					dh_cube_table_free(slow);
				}
			}
		}
	}
	/* errors are the same on both paths */
	dh_cube_table *t;
	dh_error err;
	int bad[] = { 0, 9999 };
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101,
			    .indicators = bad, .nindicators = 2 };
	assert_int_equal(dh_cube_query_run(c, &q, &t, &err), DH_INVAL);
	q = (dh_cube_query){ .level = DH_LEVEL_COMMUNE, .reference_date = 20250101,
			     .territory = "99999" };
	assert_int_equal(dh_cube_query_run(c, &q, &t, &err), DH_NOTFOUND);
	dh_cube_release(c);
}

/*
 * The geographic levels run on the bitmap engine (per-row bitmaps ANDed per 64 rows), the
 * landlord level on the reference row-by-row counter scan. With one landlord per commune,
 * the two must give the same values, cell for cell, with filters of every kind (static,
 * relative to the date, sets, ranges, absent) at dates with and without history.
 */
static void test_bitmap_engine_matches_row_scan(void **state)
{
	(void)state;
	static const char *const modes[] = { "1", "1", "1", "2", "3", "4", "5", "9", "" };
	static const char *const classes[] = { "A", "C", "D", "E", "F", "G", "" };
	static const char *const finans[] = { "10", "12", "13", "14", "16", "51", "53", "17", "" };
	static const char *const origines[] = { "1", "2", "3", "4", "" };
	static const char *const sorties[] = { "", "", "", "1", "2", "4", "5" };
	static const char *const lcodes[] = { "100000001", "100000002", "100000003", "100000004",
					      "100000005" };
	dh_cube_builder *b;
	dh_error err;
	assert_int_equal(dh_cube_builder_new(&b), DH_OK);
	for (size_t i = 0; i < NCOMMUNES; i++) {
		assert_int_equal(dh_cube_builder_add_commune(b, &communes[i], NULL, &err), DH_OK);
		assert_int_equal(dh_cube_builder_add_landlord(b, lcodes[i], "Bailleur", NULL, &err),
				 DH_OK);
	}
	for (int i = 0; i < 5000; i++) {
		int commune = (int)rnd(NCOMMUNES);
		dh_cube_version v = base_version(commune);
		v.landlord = commune;
		v.mode = S(modes[rnd(9)]);
		v.typeconst = S(rnd(3) ? (rnd(2) ? "C" : "I") : "E");
		v.finan = S(finans[rnd(9)]);
		v.dpe_energie = S(classes[rnd(7)]);
		v.dpe_serre = S(classes[rnd(7)]);
		v.dpedate = rnd(5) ? 20210300 : 19000100;
		v.qpv = S(rnd(4) ? "2" : "1");
		v.origine = S(origines[rnd(5)]);
		v.sortiepatrim = S(sorties[rnd(7)]);
		v.nbpiece = (int32_t)rnd(8);
		v.locat = rnd(20) ? 2008 + (int32_t)rnd(19) : 0;
		v.construct = rnd(10) ? 2026 - (int32_t)rnd(100) : 0;
		v.bail = rnd(15) ? (2020 + (int32_t)rnd(7)) * 10000 + (1 + (int32_t)rnd(12)) * 100 : 0;
		v.remlocdate = rnd(15) ? (2022 + (int32_t)rnd(5)) * 10000 + (1 + (int32_t)rnd(12)) * 100
				       : 0;
		v.valid_from = 20220101 + 10000 * (int32_t)rnd(4) + 100 * (int32_t)rnd(6);
		v.valid_to = rnd(3) == 0 ? v.valid_from + 10000 * (1 + (int32_t)rnd(2)) : 0;
		v.loyerprinc = rnd(10) == 0 ? 9999 : 100 + rnd(600) + 0.37;
		v.surfhab = rnd(20) == 0 ? NAN : 15 + rnd(120) + 0.5;
		add(b, &v);
	}
	dh_cube *c = finish(b);
	const dh_predicate filters[][2] = {
		{ { DH_DIM_TYPECONST, DH_OP_IN, "C", 0, 0 }, { DH_DIM_NONE, 0, NULL, 0, 0 } },
		{ { DH_DIM_AGE, DH_OP_RANGE, NULL, 10, 49 }, { DH_DIM_FINAN, DH_OP_NOT_IN, "13", 0, 0 } },
		{ { DH_DIM_BAIL_MONTHS, DH_OP_IN, "3,5,7,30", 0, 0 }, { DH_DIM_NONE, 0, NULL, 0, 0 } },
		{ { DH_DIM_REMLOC_MONTHS, DH_OP_ABSENT, NULL, 0, 0 }, { DH_DIM_NONE, 0, NULL, 0, 0 } },
		{ { DH_DIM_LOCAT_YEARS, DH_OP_RANGE, NULL, -3, 2 }, { DH_DIM_QPV, DH_OP_IN, "1", 0, 0 } },
		{ { DH_DIM_CONSTRUCT, DH_OP_RANGE, NULL, 1950, 1999 },
		  { DH_DIM_DPE_ENERGIE, DH_OP_ABSENT, NULL, 0, 0 } },
		{ { DH_DIM_NBPIECE, DH_OP_RANGE, NULL, 2, 3 }, { DH_DIM_SURFHAB, DH_OP_PRESENT, NULL, 0, 0 } },
		{ { DH_DIM_AGE, DH_OP_IN, "0,1,2,30", 0, 0 }, { DH_DIM_NONE, 0, NULL, 0, 0 } },
	};
	const size_t nfilters[] = { 1, 2, 1, 1, 2, 2, 2, 1 };
	const int32_t dates[] = { 20250101, 20230615, 20240229, 20260101, 20270315, 20220101 };
	size_t compared = 0;
	for (size_t di = 0; di < sizeof(dates) / sizeof(dates[0]); di++) {
		for (size_t fi = 0; fi <= sizeof(filters) / sizeof(filters[0]); fi++) {
			const dh_predicate *f = fi ? filters[fi - 1] : NULL;
			size_t nf = fi ? nfilters[fi - 1] : 0;
			dh_cube_table *bits = run(c, DH_LEVEL_COMMUNE, dates[di], NULL, f, nf);
			dh_cube_table *rows = run(c, DH_LEVEL_LANDLORD, dates[di], NULL, f, nf);
			assert_int_equal(bits->nrows, rows->nrows);
			assert_int_equal(bits->ncols, rows->ncols);
			for (size_t i = 0; i < NCOMMUNES; i++) {
				int bi = dh_cube_table_row(bits, communes[i].code);
				int ri = dh_cube_table_row(rows, lcodes[i]);
				assert_true(bi >= 0 && ri >= 0);
				for (size_t j = 0; j < bits->ncols; j++) {
					double x = dh_cube_table_value(bits, (size_t)bi, j);
					double y = dh_cube_table_value(rows, (size_t)ri, j);
					if (!(x == y || (isnan(x) && isnan(y))))
						fail_msg("date %d, filter %zu, %s, %s: %.17g != %.17g",
							 (int)dates[di], fi, communes[i].code,
							 bits->columns[j]->id, x, y);
					compared += x != 0 && !isnan(x);
				}
			}
			dh_cube_table_free(bits);
			dh_cube_table_free(rows);
		}
	}
	assert_true(compared > 1000); /* the data exercise the indicators */
	dh_cube_release(c);
}

/* The commune x landlord query equals, part by part, the commune query filtered on each
 * landlord, on random data whose landlords are interleaved in every commune (so the build's
 * sort by landlord is what makes each part one range), with and without filters, with
 * several threads, at several dates; landlords without a part count nothing there. */
static void test_split_equals_landlord_filters(void **state)
{
	(void)state;
	static const char *const lcodes[] = { "100000001", "100000002", "100000003", "100000004",
					      "100000005", "100000006", "100000007" };
	const size_t nl = sizeof(lcodes) / sizeof(lcodes[0]);
	static const char *const modes[] = { "1", "1", "2", "3", "9", "" };
	static const char *const finans[] = { "10", "12", "13", "16", "51", "" };
	dh_cube_builder *b;
	dh_error err;
	assert_int_equal(dh_cube_builder_new(&b), DH_OK);
	for (size_t i = 0; i < NCOMMUNES; i++)
		assert_int_equal(dh_cube_builder_add_commune(b, &communes[i], NULL, &err), DH_OK);
	for (size_t l = 0; l < nl; l++)
		assert_int_equal(dh_cube_builder_add_landlord(b, lcodes[l], NULL, NULL, &err), DH_OK);
	for (int i = 0; i < 4000; i++) {
		/* Brest (index 4) stays without dwellings; landlord 6 only in Quimper */
		int commune = (int)rnd(4);
		dh_cube_version v = base_version(commune);
		v.landlord = (int32_t)rnd((uint32_t)nl - 1);
		if (commune == 2 && rnd(5) == 0)
			v.landlord = 6;
		v.mode = S(modes[rnd(6)]);
		v.finan = S(finans[rnd(6)]);
		v.typeconst = S(rnd(3) ? "C" : "I");
		v.nbpiece = (int32_t)rnd(7);
		v.construct = rnd(10) ? 2026 - (int32_t)rnd(90) : 0;
		v.sortiepatrim = S(rnd(4) ? "" : "2");
		v.valid_from = 20220101 + 10000 * (int32_t)rnd(4);
		v.valid_to = rnd(3) == 0 ? v.valid_from + 10000 * (1 + (int32_t)rnd(2)) : 0;
		v.loyerprinc = rnd(10) == 0 ? 9999 : 150 + rnd(500) + 0.25;
		v.surfhab = rnd(20) == 0 ? NAN : 20 + rnd(100) + 0.5;
		add(b, &v);
	}
	dh_cube *c = finish(b);
	const dh_predicate finan = { DH_DIM_FINAN, DH_OP_IN, "13,16", 0, 0 };
	const int32_t dates[] = { 20250101, 20230615, 20260101 };
	size_t compared = 0;
	for (size_t di = 0; di < sizeof(dates) / sizeof(dates[0]); di++) {
		for (int filtered = 0; filtered < 2; filtered++) {
			dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = dates[di],
					    .filters = filtered ? &finan : NULL, .nfilters = (size_t)filtered,
					    .threads = 1 + (int)di };
			dh_cube_split *sp;
			assert_int_equal(dh_cube_query_split(c, &q, &sp, &err), DH_OK);
			dh_cube_table *all = run(c, DH_LEVEL_COMMUNE, dates[di], NULL, q.filters, q.nfilters);
			assert_int_equal(sp->nrows, all->nrows);
			assert_int_equal(sp->ncols, all->ncols);
			assert_int_equal(sp->nlandlords, nl);
			assert_int_equal(sp->first[0], 0);
			assert_int_equal(sp->first[sp->nrows], sp->nparts);
			int nb = dh_cube_table_column(all, "nb_ls");
			assert_true(nb >= 0);
			for (size_t l = 0; l < nl; l++) {
				dh_predicate f[2] = { finan, { DH_DIM_LANDLORD, DH_OP_IN, lcodes[l], 0, 0 } };
				dh_cube_table *t = run(c, DH_LEVEL_COMMUNE, dates[di], NULL,
						       filtered ? f : f + 1, filtered ? 2 : 1);
				assert_int_equal(t->nrows, sp->nrows);
				for (size_t i = 0; i < sp->nrows; i++) {
					assert_string_equal(sp->codes[i], t->codes[i]);
					size_t x = sp->first[i];
					while (x < sp->first[i + 1] && sp->landlord[x] != l)
						x++;
					if (x == sp->first[i + 1]) { /* no part: nothing counted */
						assert_true(dh_cube_table_value(t, i, (size_t)nb) == 0);
						assert_true(l == 6 ? strcmp(t->codes[i], "29232") != 0 : 1);
						continue;
					}
					assert_string_equal(sp->landlords[sp->landlord[x]], lcodes[l]);
					for (size_t j = 0; j < sp->ncols; j++) {
						double a = sp->values[x * sp->ncols + j];
						double e = dh_cube_table_value(t, i, j);
						if (!(a == e || (isnan(a) && isnan(e))))
							fail_msg("date %d, %s, landlord %s, %s: %.17g != %.17g",
								 (int)dates[di], t->codes[i], lcodes[l],
								 sp->columns[j]->id, a, e);
						compared += a != 0 && !isnan(a);
					}
				}
				dh_cube_table_free(t);
			}
			/* parts sum to the commune's counts */
			for (size_t i = 0; i < sp->nrows; i++) {
				double sum = 0;
				for (size_t x = sp->first[i]; x < sp->first[i + 1]; x++) {
					assert_true(x == sp->first[i] || sp->landlord[x - 1] < sp->landlord[x]);
					sum += sp->values[x * sp->ncols + (size_t)nb];
				}
				assert_true(sum == dh_cube_table_value(all, i, (size_t)nb));
			}
			dh_cube_table_free(all);
			dh_cube_split_free(sp);
		}
	}
	assert_true(compared > 2000);
	/* one commune; level and territory errors */
	dh_cube_query one = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101,
			      .territory = "29232" };
	dh_cube_split *sp;
	assert_int_equal(dh_cube_query_split(c, &one, &sp, &err), DH_OK);
	assert_int_equal(sp->nrows, 1);
	assert_string_equal(sp->codes[0], "29232");
	assert_int_equal(sp->landlord[sp->nparts - 1], 6);
	dh_cube_split_free(sp);
	one.territory = "29019";
	assert_int_equal(dh_cube_query_split(c, &one, &sp, &err), DH_NOTFOUND);
	assert_null(sp);
	one.territory = NULL;
	one.level = DH_LEVEL_EPCI;
	assert_int_equal(dh_cube_query_split(c, &one, &sp, &err), DH_INVAL);
	dh_cube_split_free(NULL);
	dh_cube_release(c);
}

/* The territory comes from the official geography; versions come from validated rows. */
static void test_geo_and_rpls_rows(void **state)
{
	(void)state;
	dh_geo *geo;
	dh_error err;
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK)
		fail_msg("geo: %s", err.message);
	dh_cube_builder *b;
	assert_int_equal(dh_cube_builder_new(&b), DH_OK);
	assert_int_equal(dh_cube_builder_add_geo(b, geo, &err), DH_OK);
	int32_t landlord;
	assert_int_equal(dh_cube_builder_add_landlord(b, "111111111", NULL, &landlord, &err), DH_OK);
	const char *codes[] = { "35238", "35238", "35051", "29232" };
	for (size_t i = 0; i < 4; i++) {
		/* a validated row as the validator gives it */
		dh_rpls_row row;
		memset(&row, 0, sizeof(row));
		row.commune = dh_geo_commune_find(geo, S(codes[i]));
		assert_true(row.commune >= 0);
#define TXT(f, t) (row.text[DH_RPLS_##f] = S(t), row.present |= 1ull << DH_RPLS_##f)
#define INT(f, v) (row.value[DH_RPLS_##f].i = (v), row.present |= 1ull << DH_RPLS_##f)
#define NUM(f, v) (row.value[DH_RPLS_##f].d = (v), row.present |= 1ull << DH_RPLS_##f)
		TXT(MODE, i == 3 ? "2" : "1");
		TXT(TYPECONST, "C");
		TXT(FINAN, "13");
		TXT(DPEENERGIE, "G");
		TXT(DPESERRE, "F");
		INT(DPEDATE, i == 0 ? 19000100 : 20220100);
		INT(CONSTRUCT, 2000);
		INT(LOCAT, 2001);
		INT(NBPIECE, 2);
		NUM(LOYERPRINC, i == 1 ? 9999 : 300);
		NUM(SURFHAB, 50);
#undef TXT
#undef INT
#undef NUM
		dh_cube_version v;
		dh_cube_version_from_rpls(&v, &row);
		assert_int_equal(v.commune, row.commune);
		v.landlord = landlord;
		v.valid_from = 20250101;
		add(b, &v);
	}
	dh_cube *c = finish(b);
	dh_cube_table *t = run(c, DH_LEVEL_DEPARTEMENT, 20250101, NULL, NULL, 0);
	assert_int_equal(t->nrows, 2);
	assert_close(val(t, "35", "nb_ls"), 3);
	assert_string_equal(t->names[dh_cube_table_row(t, "35")], "Ille-et-Vilaine");
	assert_close(val(t, "35", "dpe_absent"), 1); /* DPEDATE 01/1900 */
	assert_close(val(t, "35", "interdit_2025"), 2);
	assert_close(val(t, "35", "loyer_m2"), 6.0); /* 9999 left out */
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_EPCI, 20250101, NULL, NULL, 0);
	int32_t rennes = dh_geo_commune_find(geo, S("35238"));
	const char *epci = dh_geo_commune(geo, rennes)->epci;
	assert_close(val(t, epci, "nb_ls"), 3); /* Rennes and Cesson-Sévigné: same EPCI */
	dh_cube_table_free(t);
	t = run(c, DH_LEVEL_REGION, 20250101, "53", NULL, 0);
	assert_close(val(t, NULL, "tx_vac"), 25);
	dh_cube_table_free(t);
	dh_cube_release(c);
	dh_geo_free(geo);
}

/* ---- snapshot holder under concurrent readers ---- */

typedef struct reader_arg {
	dh_cube_holder *holder;
	int iterations;
	int bad;
	int seen[3];
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;
	int nb_ls = dh_indicator_find(DH_STR_LIT("nb_ls"));
	for (int i = 0; i < a->iterations; i++) {
		dh_cube *c = dh_cube_holder_acquire(a->holder);
		if (!c) {
			a->bad++;
			continue;
		}
		dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = 20250101,
				    .indicators = &nb_ls, .nindicators = 1, .threads = 1 };
		dh_cube_table *t;
		dh_error err;
		if (dh_cube_query_run(c, &q, &t, &err) != DH_OK) {
			a->bad++;
		} else {
			double v = dh_cube_table_value(t, 0, 0);
			/* a complete snapshot has 100, 200 or 300 dwellings, never in between */
			if (v == 100 || v == 200 || v == 300)
				a->seen[(int)v / 100 - 1]++;
			else
				a->bad++;
			dh_cube_table_free(t);
		}
		dh_cube_release(c);
	}
	return NULL;
}

static dh_cube *cube_of_size(int n)
{
	dh_cube_builder *b = new_builder();
	dh_cube_version v = base_version(n % 4);
	for (int i = 0; i < n; i++)
		add(b, &v);
	return finish(b);
}

static void test_holder_swap_under_readers(void **state)
{
	(void)state;
	dh_cube_holder *h;
	assert_int_equal(dh_cube_holder_new(&h), DH_OK);
	assert_null(dh_cube_holder_acquire(h));
	dh_cube_holder_swap(h, cube_of_size(100));
	enum { NREADERS = 4 };
	pthread_t th[NREADERS];
	reader_arg args[NREADERS];
	for (int i = 0; i < NREADERS; i++) {
		args[i] = (reader_arg){ h, 3000, 0, { 0, 0, 0 } };
		assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]), 0);
	}
	/* the writer builds new cubes outside the holder and swaps them in */
	for (int s = 0; s < 200; s++)
		dh_cube_holder_swap(h, cube_of_size(100 * (1 + s % 3)));
	for (int i = 0; i < NREADERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
		assert_int_equal(args[i].seen[0] + args[i].seen[1] + args[i].seen[2], 3000);
	}
	/* a reader keeps its snapshot alive after a swap */
	dh_cube *kept = dh_cube_holder_acquire(h);
	size_t rows = dh_cube_row_count(kept);
	dh_cube_holder_swap(h, cube_of_size(rows == 100 ? 200 : 100));
	assert_int_equal(dh_cube_row_count(kept), rows);
	dh_cube_release(kept);
	dh_cube_holder_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vacancy_denominator),
		cmocka_unit_test(test_rent_9999_excluded),
		cmocka_unit_test(test_dpe_1900_is_absent),
		cmocka_unit_test(test_vacancy_3_months_boundary),
		cmocka_unit_test(test_mobility_excludes_new),
		cmocka_unit_test(test_scope_mode_9),
		cmocka_unit_test(test_zero_denominator_is_nan),
		cmocka_unit_test(test_age_classes),
		cmocka_unit_test(test_levels_sum),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_history_as_of),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_random_cross_check),
		cmocka_unit_test(test_commune_counters_match_scan),
		cmocka_unit_test(test_bitmap_engine_matches_row_scan),
		cmocka_unit_test(test_split_equals_landlord_filters),
		cmocka_unit_test(test_geo_and_rpls_rows),
		cmocka_unit_test(test_holder_swap_under_readers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
