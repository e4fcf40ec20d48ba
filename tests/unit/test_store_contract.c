/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_store_contract.c - the backend contract suite (store_contract.h) on SQLite, plus
 * what only the SQLite backend can show: refusing foreign files and loading the
 * reference geography at init.
 */
#include "store_contract.h"

#include "datahabitat/geo.h"

#include <sqlite3.h>

static char *contract_location(void)
{
	char *dir = dh_tmpdir();
	size_t n = strlen(dir) + 32;
	char *loc = malloc(n);
	assert_non_null(loc);
	snprintf(loc, n, "sqlite:%s/store.db", dir);
	free(dir);
	return loc;
}

static void contract_cleanup(char *location)
{
	char *dir = strdup(location + strlen("sqlite:"));
	assert_non_null(dir);
	*strrchr(dir, '/') = '\0';
	dh_rmtree(dir);
	free(location);
}

static void sqlite_refuses_foreign_files(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	dh_error err;
	dh_store *st = NULL;
	/* A text file: not touched. */
	const char text[] = "IDENT_INT;DEPCOM\n1;29232\n";
	char *path = dh_write_file(dir, "notes.csv", text, sizeof(text) - 1);
	assert_int_equal(dh_store_open(&st, path, DH_STORE_CREATE, &err), DH_CONFLICT);
	assert_null(st);
	FILE *f = fopen(path, "rb");
	char back[64] = { 0 };
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(text) - 1);
	fclose(f);
	assert_string_equal(back, text);
	free(path);
	/* Another application's SQLite database: refused, its table kept. */
	char other[4200];
	snprintf(other, sizeof(other), "%s/other.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(dh_store_open(&st, other, DH_STORE_CREATE, &err), DH_CONFLICT);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT x FROM t", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* Bare path and sqlite: prefix open the same database; it is in WAL mode. */
	char loc[4300];
	snprintf(loc, sizeof(loc), "%s/dh.db", dir);
	assert_int_equal(dh_store_open(&st, loc, DH_STORE_CREATE, &err), DH_OK);
	dh_store_close(st);
	snprintf(loc, sizeof(loc), "sqlite:%s/dh.db", dir);
	assert_int_equal(dh_store_open(&st, loc, 0, &err), DH_OK);
	dh_store_close(st);
	snprintf(loc, sizeof(loc), "%s/dh.db", dir);
	assert_int_equal(sqlite3_open(loc, &db), SQLITE_OK);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	dh_rmtree(dir);
}

static void sqlite_loads_geography(void **state)
{
	(void)state;
	dh_geo *geo = NULL;
	dh_error err;
	int rc = dh_geo_load(&geo, dh_src_path("data/ref"), &err);
	if (rc != DH_OK)
		fail_msg("geo: %s", err.message);
	char *loc = contract_location();
	dh_store *st;
	assert_int_equal(dh_store_open(&st, loc, DH_STORE_CREATE, &err), DH_OK);
	assert_int_equal(dh_geo_save(geo, st, &err), DH_OK);
	/* Loading twice replaces, it does not add. */
	assert_int_equal(dh_geo_save(geo, st, &err), DH_OK);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.communes, dh_geo_commune_count(geo));
	assert_int_equal(info.epci, dh_geo_epci_count(geo));
	assert_int_equal(info.departements, dh_geo_departement_count(geo));
	assert_int_equal(info.regions, dh_geo_region_count(geo));
	assert_true(info.communes > 30000);
	assert_true(info.former_communes > 0);
	dh_store_close(st);
	contract_cleanup(loc);
	dh_geo_free(geo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_CONTRACT_TESTS,
		cmocka_unit_test(sqlite_refuses_foreign_files),
		cmocka_unit_test(sqlite_loads_geography),
	};
	return cmocka_run_group_tests_name("store_contract_sqlite", tests, NULL, NULL);
}
