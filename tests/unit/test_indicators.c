/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_indicators.c - the indicator registry: the ids domain.md asks for are all there and
 * unique, each definition is well formed (rates have a denominator, every figure on the
 * SDES perimeter: a PARC predicate in each term), term descriptions, the disclosure relations
 * every row declares (dh_indicators_check: every rate has its formula, every count contained
 * in another is tied to it, and removing any one relation from any row makes the check
 * fail), and docs/indicators.md is the page the registry generates (DH_UPDATE_DOCS=1
 * rewrites it).
 */
#include "testutil.h"

#include "datahabitat/indicators.h"

static const char *const required_ids[] = {
	"nb_ls", "loues", "vacants", "vides", "asso", "autres", "tx_vac", "tx_vac3", "tx_mob",
	"loyer_m2", "part_qpv", "part_collectif", "part_individuel", "nb_p1", "nb_p2", "nb_p3",
	"nb_p4", "nb_p5p", "fin_plai", "fin_plus", "fin_plus_av77", "fin_pls", "fin_pli",
	"fin_autre", "age_lt5", "age_5_10", "age_10_20", "age_20_40", "age_40_60", "age_ge60",
	"age_moyen", "dpe_e_a", "dpe_e_g", "dpe_g_a", "dpe_g_g", "dpe_absent", "part_fg", "mes",
	"mes_construits", "mes_acq_travaux", "mes_acq_sans_travaux", "mes_vefa", "sorties",
	"evol_nb_ls", "interdit_2025", "interdit_2028", "interdit_2034", "interdit_sans_dpe",
	"parc_non_conv", "nb_lgt_tot", "nb_ls_etu", "dpe_e_a_new", "dpe_e_g_new", "dpe_e_nr_new",
	"mes_chgt_usage", "mes_fusion_scission", "sortie_chgt_usage", "sortie_fusion_scission",
};

static int has_scope(const dh_term *t)
{
	for (int i = 0; i < DH_TERM_MAX_PREDICATES && t->where[i].dim != DH_DIM_NONE; i++)
		if (t->where[i].dim == DH_DIM_PARC)
			return 1;
	return 0;
}

static void test_registry_ids(void **state)
{
	(void)state;
	size_t n = dh_indicator_count();
	assert_true(n >= sizeof(required_ids) / sizeof(required_ids[0]));
	for (size_t i = 0; i < sizeof(required_ids) / sizeof(required_ids[0]); i++) {
		int k = dh_indicator_find((dh_str){ required_ids[i], strlen(required_ids[i]) });
		if (k < 0)
			fail_msg("indicator %s missing", required_ids[i]);
		assert_string_equal(dh_indicator_at((size_t)k)->id, required_ids[i]);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(dh_indicator_at(i)->id, dh_indicator_at(j)->id);
	assert_null(dh_indicator_at(n));
	assert_int_equal(dh_indicator_find(DH_STR_LIT("nope")), -1);
}

static void test_registry_well_formed(void **state)
{
	(void)state;
	for (size_t i = 0; i < dh_indicator_count(); i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		assert_non_null(ind->label);
		assert_non_null(ind->family);
		assert_true(ind->num.measure != DH_MEASURE_NONE);
		if (ind->kind == DH_IND_COUNT)
			assert_int_equal(ind->den.measure, DH_MEASURE_NONE);
		else
			assert_true(ind->den.measure != DH_MEASURE_NONE);
		if (ind->kind == DH_IND_PCT || ind->kind == DH_IND_EVOLUTION)
			assert_int_equal(ind->unit, DH_UNIT_PCT);
		/* every figure says its perimeter (PARC LS, NC, or not NC for leaving dwellings) */
		assert_true(has_scope(&ind->num));
		if (ind->den.measure != DH_MEASURE_NONE)
			assert_true(has_scope(&ind->den));
		if (ind->num.year_shift || ind->den.year_shift)
			assert_true(ind->two_dates);
	}
	/* the traps, as data */
	const dh_indicator *v = dh_indicator_at((size_t)dh_indicator_find(DH_STR_LIT("tx_vac")));
	assert_int_equal(v->den.where[0].dim, DH_DIM_PARC);
	assert_string_equal(v->den.where[0].set, "LS");
	assert_int_equal(v->den.where[1].dim, DH_DIM_MODE);
	assert_string_equal(v->den.where[1].set, "1,2");
	/* SEM non-conventioned dwellings are outside nb_ls, published apart */
	const dh_indicator *nc = dh_indicator_at((size_t)dh_indicator_find(DH_STR_LIT("parc_non_conv")));
	assert_int_equal(nc->num.where[0].dim, DH_DIM_PARC);
	assert_string_equal(nc->num.where[0].set, "NC");
	const dh_indicator *m = dh_indicator_at((size_t)dh_indicator_find(DH_STR_LIT("tx_mob")));
	assert_true(m->two_dates);
	assert_int_equal(m->sensitivity, DH_SENS_BUSINESS);
	const dh_indicator *e = dh_indicator_at((size_t)dh_indicator_find(DH_STR_LIT("evol_nb_ls")));
	assert_int_equal(e->den.year_shift, 1);
	assert_int_equal(e->kind, DH_IND_EVOLUTION);
}

static void test_dims_and_describe(void **state)
{
	(void)state;
	assert_int_equal(dh_dim_find(DH_STR_LIT("mode")), DH_DIM_MODE);
	assert_int_equal(dh_dim_find(DH_STR_LIT("BAILLEUR")), DH_DIM_LANDLORD);
	assert_int_equal(dh_dim_find(DH_STR_LIT("MOD")), DH_DIM_NONE);
	assert_string_equal(dh_dim_name(DH_DIM_REMLOC_MONTHS), "REMLOC_MOIS");
	assert_int_equal(dh_dim_find(DH_STR_LIT("parc")), DH_DIM_PARC);
	assert_string_equal(dh_dim_name(DH_DIM_DPE_RECENT), "DPE_RECENT");
	char buf[256];
	const dh_indicator *v = dh_indicator_at((size_t)dh_indicator_find(DH_STR_LIT("tx_vac3")));
	size_t need = dh_term_describe(&v->num, buf, sizeof(buf));
	assert_int_equal(need, strlen(buf));
	assert_string_equal(buf, "nombre des logements où PARC ∈ {LS} et MODE ∈ {2} et REMLOC_MOIS ≥ 4");
	/* truncation keeps a terminated string and reports the full length */
	char small[8];
	assert_int_equal(dh_term_describe(&v->num, small, sizeof(small)), need);
	assert_int_equal(strlen(small), 7);
	assert_string_equal(dh_unit_label(DH_UNIT_EUR_M2), "€/m²/mois");
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_docs_page_up_to_date(void **state)
{
	(void)state;
	char *md;
	size_t len;
	assert_int_equal(dh_indicators_markdown(&md, &len), DH_OK);
	assert_int_equal(strlen(md), len);
	/* every indicator has its row */
	for (size_t i = 0; i < dh_indicator_count(); i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "| `%s` |", dh_indicator_at(i)->id);
		assert_non_null(strstr(md, needle));
	}
	const char *path = dh_src_path("docs/indicators.md");
	const char *update = getenv("DH_UPDATE_DOCS");
	if (update && strcmp(update, "1") == 0) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(md, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	size_t flen;
	char *file = read_all(path, &flen);
	if (!file || flen != len || memcmp(file, md, len) != 0)
		fail_msg("docs/indicators.md is not up to date: run DH_UPDATE_DOCS=1 test_indicators");
	free(file);
	free(md);
}

/* The registry copied, to break it one relation at a time. */
static dh_indicator *registry_copy(size_t *n)
{
	*n = dh_indicator_count();
	dh_indicator *reg = malloc(*n * sizeof(*reg));
	assert_non_null(reg);
	for (size_t i = 0; i < *n; i++)
		reg[i] = *dh_indicator_at(i);
	return reg;
}

static void test_relations_declared(void **state)
{
	(void)state;
	dh_error err;
	dh_error_clear(&err);
	if (dh_indicators_check(dh_indicator_at(0), dh_indicator_count(), &err) != DH_OK)
		fail_msg("%s", err.message);
	size_t rates = 0;
	for (size_t i = 0; i < dh_indicator_count(); i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		if (ind->kind == DH_IND_COUNT)
			continue;
		rates++;
		assert_non_null(ind->rel.num);
		assert_non_null(ind->rel.den);
		assert_non_null(ind->rel.pop);
		int cols[DH_IND_MAX_MEMBERS];
		assert_true(dh_indicators_resolve(dh_indicator_at(0), dh_indicator_count(), ind->rel.num,
						  cols, DH_IND_MAX_MEMBERS, NULL) > 0);
	}
	assert_true(rates >= 9);
	int cols[DH_IND_MAX_MEMBERS];
	assert_int_equal(dh_indicators_resolve(dh_indicator_at(0), dh_indicator_count(),
					       "loues + vacants", cols, DH_IND_MAX_MEMBERS, NULL), 2);
	assert_int_equal(cols[0], dh_indicator_find(DH_STR_LIT("loues")));
	assert_int_equal(cols[1], dh_indicator_find(DH_STR_LIT("vacants")));
	/* unknown, repeated, non-additive, malformed, too long */
	const char *bad[] = { "loues + vacant", "loues + loues", "tx_vac", "loues vacants", "",
			      "loues +", "nb_p1 + nb_p2 + nb_p3 + nb_p4 + nb_p5p + loues + vacants + "
			      "vides + asso" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(dh_indicators_resolve(dh_indicator_at(0), dh_indicator_count(), bad[k],
						       cols, DH_IND_MAX_MEMBERS, NULL), -1);
}

/* Remove each relation of each row in turn: the check must fail every time. */
static void test_each_relation_needed(void **state)
{
	(void)state;
	size_t n, tried = 0;
	dh_indicator *reg = registry_copy(&n);
	for (size_t i = 0; i < n; i++) {
		dh_ind_relations keep = reg[i].rel;
		const char **fields[DH_IND_MAX_PARTS + 4];
		size_t nf = 0;
		for (int p = 0; p < DH_IND_MAX_PARTS; p++)
			fields[nf++] = &reg[i].rel.parts[p];
		fields[nf++] = &reg[i].rel.within;
		fields[nf++] = &reg[i].rel.num;
		fields[nf++] = &reg[i].rel.den;
		fields[nf++] = &reg[i].rel.pop;
		for (size_t f = 0; f < nf; f++) {
			if (!*fields[f])
				continue;
			*fields[f] = NULL;
			/* keep the partitions packed (the list ends at the first NULL) */
			for (int p = 0; p + 1 < DH_IND_MAX_PARTS; p++)
				if (!reg[i].rel.parts[p]) {
					reg[i].rel.parts[p] = reg[i].rel.parts[p + 1];
					reg[i].rel.parts[p + 1] = NULL;
				}
			dh_error err;
			dh_error_clear(&err);
			if (dh_indicators_check(reg, n, &err) == DH_OK)
				fail_msg("relation %zu of « %s » removed: the check still passes", f, reg[i].id);
			reg[i].rel = keep;
			tried++;
		}
	}
	assert_true(tried >= 30);
	/* a renamed indicator: its relations no longer resolve */
	for (size_t i = 0; i < n; i++)
		if (strcmp(reg[i].id, "vacants") == 0)
			reg[i].id = "vacants_proposes";
	dh_error err;
	dh_error_clear(&err);
	assert_int_equal(dh_indicators_check(reg, n, &err), DH_INVAL);
	assert_non_null(strstr(err.message, "vacants"));
	free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_ids),
		cmocka_unit_test(test_registry_well_formed),
		cmocka_unit_test(test_dims_and_describe),
		cmocka_unit_test(test_docs_page_up_to_date),
		cmocka_unit_test(test_relations_declared),
		cmocka_unit_test(test_each_relation_needed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
