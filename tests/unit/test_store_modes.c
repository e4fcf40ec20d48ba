/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_store_modes.c - a database created 0644 by an older version (and its -wal, -shm) is
 * made 0600 when its owner opens it, read-write or read-only, while another connection holds
 * it open; a file that is not a datahabitat database keeps its mode.
 */
#include "datahabitat/store.h"

#include "testutil.h"

#include <sqlite3.h>
#include <sys/stat.h>

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static void old_database_tightened(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	char db[4200], wal[4300], shm[4300];
	snprintf(db, sizeof(db), "%s/old.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);
	dh_store *s;
	dh_error err;
	assert_int_equal(dh_store_open(&s, db, DH_STORE_CREATE, &err), DH_OK);
	dh_store_close(s);
	assert_int_equal(chmod(db, 0644), 0);
	/* Another connection keeps the WAL and SHM in place, made 0644 like their database. */
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(chmod(wal, 0644), 0);
	assert_int_equal(chmod(shm, 0644), 0);
	assert_int_equal(mode_of(db), 0644);

	assert_int_equal(dh_store_open(&s, db, 0, &err), DH_OK);
	assert_int_equal(mode_of(db), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(mode_of(shm), 0600);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(s, &info, &err), DH_OK);
	dh_store_close(s);
	/* the other connection is unharmed: it still writes */
	assert_int_equal(sqlite3_exec(raw, "INSERT INTO t VALUES (2)", NULL, NULL, NULL), SQLITE_OK);

	/* Read-only opens tighten too; an owner's own bits are kept. */
	assert_int_equal(chmod(db, 0664), 0);
	assert_int_equal(dh_store_open(&s, db, DH_STORE_READONLY, &err), DH_OK);
	assert_int_equal(mode_of(db), 0600);
	dh_store_close(s);
	sqlite3_close(raw);

	/* Another application's database is refused and left as it is. */
	char other[4300];
	snprintf(other, sizeof(other), "%s/other.db", dir);
	assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(chmod(other, 0644), 0);
	assert_int_equal(dh_store_open(&s, other, 0, &err), DH_CONFLICT);
	assert_int_equal(mode_of(other), 0644);
	dh_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(old_database_tightened),
	};
	return cmocka_run_group_tests_name("store_modes", tests, NULL, NULL);
}
