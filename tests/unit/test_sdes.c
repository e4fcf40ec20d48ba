/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_sdes.c - the reader of SDES's results by commune (src/ingest/sdes_results.c) on the
 * hand-made sample tests/data/sdes-resultats-communes-sample.csv (group-label rows, then the
 * technical names): header found under the labels, French decimals and their precision,
 * secret cells, a code without its leading zero, arrondissements folded into their commune
 * (counts added, rates undefined), and files that are not such a table.
 */
#include "datahabitat/sdes.h"

#include "testutil.h"

#include <math.h>

static dh_geo *geo;

static int setup(void **state)
{
	(void)state;
	return (geo = dh_test_geo()) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dh_geo_free(geo);
	return 0;
}

/* Value of SDES variable `name` for commune `code`, and its decimals. */
static double value(const dh_sdes_table *t, const char *code, const char *name, int *decimals)
{
	long r = dh_sdes_table_row(t, code);
	assert_true(r >= 0);
	for (size_t k = 0; k < t->nvars; k++)
		if (strcmp(dh_sdes_variable_at(t->var[k])->name, name) == 0) {
			if (decimals)
				*decimals = t->decimals[(size_t)r * t->nvars + k];
			return t->values[(size_t)r * t->nvars + k];
		}
	fail_msg("variable %s not read", name);
	return NAN;
}

static void test_sample(void **state)
{
	(void)state;
	dh_sdes_table *t = NULL;
	dh_error err;
	assert_int_equal(dh_sdes_read(dh_src_path("tests/data/sdes-resultats-communes-sample.csv"), geo, &t, &err),
			 DH_OK);
	assert_int_equal(t->rows_read, 5);
	assert_int_equal(t->nrows, 4); /* Paris 1er and 2e folded into 75056 */
	assert_int_equal(t->nvars, 23);  /* every column but REG, DEP, codes, labels, densite, occup_temp */
	int dec;
	assert_true(value(t, "29232", "tx_vac", &dec) == 33.3);
	assert_int_equal(dec, 1);
	assert_true(value(t, "29232", "loymoy", &dec) == 7.45);
	assert_int_equal(dec, 2);
	assert_true(isnan(value(t, "35238", "tx_vac3", NULL))); /* "s": secret */
	assert_true(value(t, "75056", "nb_ls", NULL) == 200);    /* 120 + 80 */
	assert_true(isnan(value(t, "75056", "tx_vac", NULL)));  /* a rate is not folded */
	assert_string_equal(t->names[dh_sdes_table_row(t, "75056")], "Paris");
	assert_true(value(t, "01001", "nb_loues", NULL) == 11);  /* written 1001 */
	assert_string_equal(t->names[dh_sdes_table_row(t, "29232")], "Quimper");
	dh_sdes_table_free(t);
}

static void test_not_a_results_table(void **state)
{
	(void)state;
	dh_sdes_table *t = NULL;
	dh_error err;
	assert_int_equal(dh_sdes_read(dh_src_path("tests/data/qpv-insee-2024-sample.csv"), geo, &t, &err), DH_PARSE);
	assert_non_null(strstr(err.message, "DEPCOM_ARM"));
	assert_int_equal(dh_sdes_read(dh_src_path("tests/data/stock-clean.csv"), geo, &t, &err), DH_PARSE);
	assert_int_equal(dh_sdes_read("/nonexistent/x.csv", geo, &t, &err), DH_NOTFOUND);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_not_a_results_table),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
