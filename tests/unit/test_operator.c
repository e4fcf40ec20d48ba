/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_operator.c - the operator's unrestricted mode of the access layer
 * (dh_figures_query_unrestricted, access.h) on the small indicator test stock imported into
 * a temporary store: the owner of the database file gets the cube's figures unchanged, and
 * one audit entry "query-operator ok"; a database without file (in memory) and a file owned
 * by another user are refused, without figures (the file's refusal with one audit entry
 * "query-operator refused").
 */
#include "testutil.h"

#include "datahabitat/access.h"
#include "datahabitat/audit.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/import.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char db_path[4200];
static dh_store *store;
static dh_geo *geo;
static dh_cube *cube;
static const dh_actor operator_actor = { DH_ACTOR_CLI, "exploitant", 0 };

static int setup(void **state)
{
	(void)state;
	dh_error err;
	dir = dh_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/t.db", dir);
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK ||
	    dh_store_open(&store, db_path, DH_STORE_CREATE, &err) != DH_OK)
		return -1;
	dh_org org = { .kind = DH_ORG_OPH };
	snprintf(org.siren, sizeof(org.siren), "443061841");
	snprintf(org.name, sizeof(org.name), "Office test");
	if (dh_store_org_add(store, &org, &err) != DH_OK)
		return -1;
	dh_import_options io;
	dh_import_options_init(&io);
	io.siren = org.siren;
	io.reference_date = "2025-01-01";
	dh_import_result res;
	if (dh_import_file(store, geo, dh_src_path("tests/data/indicators/stock-2025.csv"), &io, &res,
			   &err) != DH_OK)
		return -1;
	dh_import_result_release(&res);
	return dh_cube_build_from_store(store, geo, &cube, NULL, &err) == DH_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dh_cube_release(cube);
	dh_store_close(store);
	dh_geo_free(geo);
	dh_rmtree(dir);
	return 0;
}

/* The last entry of a store's audit chain, and how many there are. */
typedef struct last_entry {
	int64_t n;
	dh_audit_entry e;
} last_entry;

static int keep_last(void *ctx, const dh_audit_entry *e)
{
	last_entry *l = ctx;
	l->n++;
	l->e = *e;
	return DH_OK;
}

static last_entry audit_tail(dh_store *s)
{
	last_entry l;
	memset(&l, 0, sizeof(l));
	dh_error err;
	assert_int_equal(dh_audit_list(s, 1, keep_last, &l, &err), DH_OK);
	return l;
}

static const dh_figures_request departements = { .level = DH_LEVEL_DEPARTEMENT,
						 .reference_date = 20250101 };

static void test_owner_gets_the_cube(void **state)
{
	(void)state;
	dh_error err;
	last_entry before = audit_tail(store);
	dh_figures_result *r = NULL;
	assert_int_equal(dh_figures_query_unrestricted(store, cube, &operator_actor, &departements, &r, &err),
			 DH_OK);
	last_entry after = audit_tail(store);
	assert_int_equal(after.n, before.n + 1);
	assert_string_equal(after.e.actor, "exploitant");
	assert_string_equal(after.e.action, "query-operator");
	assert_string_equal(after.e.result, "ok");
	assert_string_equal(after.e.object, "indicators:departement");

	dh_cube_table *t = NULL;
	dh_cube_query q = { .level = DH_LEVEL_DEPARTEMENT, .reference_date = 20250101 };
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_OK);
	assert_int_equal(r->own, 1);
	assert_int_equal(r->hidden, 0);
	assert_int_equal(r->nrows, t->nrows);
	assert_int_equal(r->ncols, t->ncols);
	assert_true(t->nrows >= 2); /* the stock spans two départements */
	for (size_t i = 0; i < t->nrows; i++) {
		assert_string_equal(r->codes[i], t->codes[i]);
		for (size_t j = 0; j < t->ncols; j++) {
			double a = r->values[i * t->ncols + j], b = t->values[i * t->ncols + j];
			assert_true((isnan(a) && isnan(b)) || a == b);
		}
	}
	dh_cube_table_free(t);
	dh_figures_result_free(r);
}

static void test_memory_store_refused(void **state)
{
	(void)state;
	dh_error err;
	dh_store *mem = NULL;
	assert_int_equal(dh_store_open(&mem, ":memory:", DH_STORE_CREATE, &err), DH_OK);
	dh_figures_result *r = (dh_figures_result *)&err; /* must be reset to NULL */
	assert_int_equal(dh_figures_query_unrestricted(mem, cube, &operator_actor, &departements, &r, &err),
			 DH_DENIED);
	assert_null(r);
	assert_non_null(strstr(err.message, "sans fichier"));
	/* No key file can sit next to a database without file, so its keyed audit chain may
	 * stay empty; if anything was written, it is the refusal. */
	last_entry l = audit_tail(mem);
	if (l.n > 0) {
		assert_string_equal(l.e.action, "query-operator");
		assert_string_equal(l.e.result, "refused");
	}
	dh_store_close(mem);
}

static void test_other_owner_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give the file to another user */
	dh_error err;
	struct stat sb;
	assert_int_equal(stat(db_path, &sb), 0);
	assert_int_equal(chown(db_path, 65534, (gid_t)-1), 0);
	last_entry before = audit_tail(store);
	dh_figures_result *r = NULL;
	int rc = dh_figures_query_unrestricted(store, cube, &operator_actor, &departements, &r, &err);
	assert_int_equal(chown(db_path, sb.st_uid, (gid_t)-1), 0);
	assert_int_equal(rc, DH_DENIED);
	assert_null(r);
	assert_non_null(strstr(err.message, "autre utilisateur"));
	last_entry after = audit_tail(store);
	assert_int_equal(after.n, before.n + 1);
	assert_string_equal(after.e.result, "refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_gets_the_cube),
		cmocka_unit_test(test_memory_store_refused),
		cmocka_unit_test(test_other_owner_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
