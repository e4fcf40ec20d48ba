/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_audit.c - the audit chain (audit.h) on SQLite: append, list, verify, and tampering
 * through raw SQL (triggers dropped first, as an attacker holding the file would): every
 * byte of every stored field of an entry, deletions, reordering, insertions.
 */
#include "testutil.h"

#include "datahabitat/audit.h"

#include <sqlite3.h>

typedef struct fixture {
	char *dir;
	char path[4200];
	dh_store *store;
	sqlite3 *raw; /* second connection, for tampering */
} fixture;

static const char *const actions[] = { "init", "import", "export", "query", "login", "user-add", "key-rotate" };
#define N_ENTRIES 7

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = dh_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
	dh_error err;
	assert_int_equal(dh_store_open(&f->store, f->path, DH_STORE_CREATE, &err), DH_OK);
	for (int i = 0; i < N_ENTRIES; i++) {
		char object[64];
		snprintf(object, sizeof(object), "delivery:%d", 10 + i);
		assert_int_equal(dh_audit_log(f->store, i % 2 ? "analyste" : "cli", actions[i], object, i == 3 ? 42 : 0,
					      i == 3 ? "observatoire du parc" : "", i == 4 ? "denied" : "ok", &err),
				 DH_OK);
	}
	assert_int_equal(sqlite3_open(f->path, &f->raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->raw, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sqlite3_close(f->raw);
	dh_store_close(f->store);
	dh_rmtree(f->dir);
	free(f);
	return 0;
}

static void raw_exec(fixture *f, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(f->raw, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Verify and return first_bad (0 when intact); the problem text must name it. */
static int64_t verify(fixture *f, dh_audit_check *check)
{
	dh_error err;
	int rc = dh_audit_verify(f->store, check, &err);
	if (check->first_bad == 0) {
		assert_int_equal(rc, DH_OK);
		return 0;
	}
	assert_int_equal(rc, DH_CORRUPT);
	char name[32];
	snprintf(name, sizeof(name), "%lld", (long long)check->first_bad);
	assert_non_null(strstr(check->problem, name));
	assert_non_null(strstr(err.message, "chaîne d'audit rompue"));
	return check->first_bad;
}

typedef struct collected {
	int n;
	dh_audit_entry e[16];
} collected;

static int collect(void *ctx, const dh_audit_entry *e)
{
	collected *c = ctx;
	if (c->n < 16)
		c->e[c->n++] = *e;
	return DH_OK;
}

static void append_list_verify(void **state)
{
	fixture *f = *state;
	collected c = { 0 };
	dh_error err;
	assert_int_equal(dh_audit_list(f->store, 1, collect, &c, &err), DH_OK);
	assert_int_equal(c.n, N_ENTRIES);
	for (int i = 0; i < N_ENTRIES; i++) {
		assert_int_equal(c.e[i].seq, i + 1);
		assert_string_equal(c.e[i].action, actions[i]);
		assert_int_equal(strlen(c.e[i].hash), 64);
		assert_int_equal(strlen(c.e[i].time), 20);
		assert_string_equal(c.e[i].prev_hash, i ? c.e[i - 1].hash : "");
	}
	assert_int_equal(c.e[3].agreement, 42);
	assert_string_equal(c.e[3].purpose, "observatoire du parc");
	assert_string_equal(c.e[4].result, "denied");
	/* from */
	collected tail = { 0 };
	assert_int_equal(dh_audit_list(f->store, 5, collect, &tail, &err), DH_OK);
	assert_int_equal(tail.n, 3);
	assert_int_equal(tail.e[0].seq, 5);
	dh_audit_check check;
	assert_int_equal(verify(f, &check), 0);
	assert_int_equal(check.entries, N_ENTRIES);
	/* Required fields. */
	assert_int_equal(dh_audit_log(f->store, "", "import", "x", 0, NULL, "ok", &err), DH_INVAL);
	assert_int_equal(dh_audit_log(f->store, "cli", "import", "x", 0, NULL, NULL, &err), DH_INVAL);
	/* Caller-given time is kept; the chain goes on. */
	dh_audit_entry e;
	memset(&e, 0, sizeof(e));
	strcpy(e.time, "2024-01-02T03:04:05Z");
	strcpy(e.actor, "system");
	strcpy(e.action, "export");
	strcpy(e.result, "ok");
	assert_int_equal(dh_audit_append(f->store, &e, &err), DH_OK);
	assert_int_equal(e.seq, N_ENTRIES + 1);
	assert_string_equal(e.prev_hash, c.e[N_ENTRIES - 1].hash);
	assert_int_equal(verify(f, &check), 0);
	assert_int_equal(check.entries, N_ENTRIES + 1);
}

static void triggers_refuse_changes(void **state)
{
	fixture *f = *state;
	(void)f;
	char *dir = dh_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/t.db", dir);
	dh_store *st;
	dh_error err;
	assert_int_equal(dh_store_open(&st, path, DH_STORE_CREATE, &err), DH_OK);
	assert_int_equal(dh_audit_log(st, "cli", "init", "", 0, "", "ok", &err), DH_OK);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET actor = 'x'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	dh_store_close(st);
	dh_rmtree(dir);
}

static const char *const text_columns[] = { "time", "actor", "action", "object", "purpose", "result", "prev_hash",
					    "hash" };

/* Flip one bit of byte `pos` of column `col` of entry `seq`, check verify names the entry,
 * then restore and check the chain is intact again. */
static void every_byte_of_every_field(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	int tried = 0;
	for (int64_t seq = 1; seq <= N_ENTRIES; seq += 3) { /* first, middle, last entry */
		for (size_t c = 0; c < sizeof(text_columns) / sizeof(text_columns[0]); c++) {
			char sql[256];
			snprintf(sql, sizeof(sql), "SELECT %s FROM audit WHERE seq = %lld", text_columns[c], (long long)seq);
			sqlite3_stmt *st;
			assert_int_equal(sqlite3_prepare_v2(f->raw, sql, -1, &st, NULL), SQLITE_OK);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			char orig[256];
			snprintf(orig, sizeof(orig), "%s", (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
			size_t len = strlen(orig);
			snprintf(sql, sizeof(sql), "UPDATE audit SET %s = ? WHERE seq = %lld", text_columns[c], (long long)seq);
			sqlite3_stmt *up;
			assert_int_equal(sqlite3_prepare_v2(f->raw, sql, -1, &up, NULL), SQLITE_OK);
			for (size_t pos = 0; pos <= len; pos++) {
				char bad[258];
				memcpy(bad, orig, len + 1);
				if (pos < len) {
					bad[pos] = (char)(bad[pos] ^ 0x01);
				} else { /* one byte appended */
					bad[len] = 'x';
					bad[len + 1] = '\0';
				}
				sqlite3_bind_text(up, 1, bad, -1, SQLITE_TRANSIENT);
				assert_int_equal(sqlite3_step(up), SQLITE_DONE);
				sqlite3_reset(up);
				int64_t bad_at = verify(f, &check);
				if (bad_at != seq)
					fail_msg("column %s byte %zu of entry %lld: verify says %lld (%s)", text_columns[c], pos,
						 (long long)seq, (long long)bad_at, check.problem);
				tried++;
				sqlite3_bind_text(up, 1, orig, -1, SQLITE_TRANSIENT);
				assert_int_equal(sqlite3_step(up), SQLITE_DONE);
				sqlite3_reset(up);
			}
			sqlite3_finalize(up);
			assert_int_equal(verify(f, &check), 0);
		}
		/* Integer columns: agreement, and a value turned into text. */
		char sql[256];
		snprintf(sql, sizeof(sql), "UPDATE audit SET agreement = agreement + 1 WHERE seq = %lld", (long long)seq);
		raw_exec(f, sql);
		assert_int_equal(verify(f, &check), seq);
		assert_non_null(strstr(check.problem, "contenu modifié"));
		snprintf(sql, sizeof(sql), "UPDATE audit SET agreement = (agreement - 1) || 'x' WHERE seq = %lld",
			 (long long)seq);
		raw_exec(f, sql);
		assert_int_equal(verify(f, &check), seq);
		snprintf(sql, sizeof(sql), "UPDATE audit SET agreement = CAST(rtrim(agreement, 'x') AS INTEGER) WHERE seq = %lld",
			 (long long)seq);
		raw_exec(f, sql);
		assert_int_equal(verify(f, &check), 0);
	}
	assert_true(tried > 300);
}

static void deletion_detected(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	raw_exec(f, "DELETE FROM audit WHERE seq = 3");
	assert_int_equal(verify(f, &check), 3);
	assert_non_null(strstr(check.problem, "supprimée"));
	/* Deleted and renumbered to hide the gap: the link breaks at the entry after it. */
	raw_exec(f, "UPDATE audit SET seq = seq - 1 WHERE seq > 3");
	assert_int_equal(verify(f, &check), 3);
	/* Several in a row. */
	raw_exec(f, "DELETE FROM audit WHERE seq IN (4, 5)");
	assert_int_equal(verify(f, &check), 3);
}

static void first_entry_deleted(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	raw_exec(f, "DELETE FROM audit WHERE seq = 1");
	assert_int_equal(verify(f, &check), 1);
	assert_non_null(strstr(check.problem, "entrée 1 : supprimée"));
}

static void reordering_detected(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	/* Entries 4 and 5 exchange places, each keeping its content and hash. */
	raw_exec(f, "UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5;"
		    "UPDATE audit SET seq = 5 WHERE seq = -4");
	assert_int_equal(verify(f, &check), 4);
	assert_non_null(strstr(check.problem, "déplacée"));
	assert_non_null(strstr(check.problem, "position 5"));
	raw_exec(f, "UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5;"
		    "UPDATE audit SET seq = 5 WHERE seq = -4");
	assert_int_equal(verify(f, &check), 0);
	/* Contents exchanged between two rows that keep their numbers. */
	raw_exec(f, "CREATE TEMP TABLE a AS SELECT * FROM audit WHERE seq IN (2, 6);"
		    "UPDATE audit SET (time, actor, action, object, agreement, purpose, result, prev_hash, hash) ="
		    " (SELECT time, actor, action, object, agreement, purpose, result, prev_hash, hash FROM temp.a"
		    "  WHERE temp.a.seq = 8 - audit.seq) WHERE seq IN (2, 6)");
	assert_int_equal(verify(f, &check), 2);
}

static void insertion_detected(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	/* A forged entry at the end that does not chain. */
	raw_exec(f, "INSERT INTO audit SELECT 8, time, actor, 'export', object, agreement, purpose, result, prev_hash, hash"
		    " FROM audit WHERE seq = 7");
	assert_int_equal(verify(f, &check), 8);
	raw_exec(f, "DELETE FROM audit WHERE seq = 8");
	assert_int_equal(verify(f, &check), 0);
	/* In the middle: the following entries pushed down by one. */
	raw_exec(f, "UPDATE audit SET seq = seq + 100 WHERE seq >= 4; UPDATE audit SET seq = seq - 99 WHERE seq >= 104;"
		    "INSERT INTO audit SELECT 4, time, actor, 'login', object, agreement, purpose, result, hash, hash"
		    " FROM audit WHERE seq = 3");
	assert_int_equal(verify(f, &check), 4);
	/* Before the first entry. */
	raw_exec(f, "DELETE FROM audit WHERE seq = 4; UPDATE audit SET seq = seq - 1 WHERE seq >= 5;"
		    "INSERT INTO audit SELECT 0, time, actor, action, object, agreement, purpose, result, '', hash"
		    " FROM audit WHERE seq = 1");
	assert_int_equal(verify(f, &check), 1);
	assert_non_null(strstr(check.problem, "insérée"));
}

static void migration_upgrades_old_database(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/old.db", dir);
	dh_store *st;
	dh_error err;
	assert_int_equal(dh_store_open(&st, path, DH_STORE_CREATE, &err), DH_OK);
	dh_store_close(st);
	/* Make it a schema-1 database: drop every table later migrations added... */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (;;) {
		sqlite3_stmt *q;
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN"
						    " ('organisation', 'delivery', 'dwelling', 'region', 'departement',"
						    " 'epci', 'commune', 'former_commune') LIMIT 1",
						    -1, &q, NULL),
				 SQLITE_OK);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_finalize(q);
			break;
		}
		char drop[256];
		snprintf(drop, sizeof(drop), "DROP TABLE \"%s\"", (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		assert_int_equal(sqlite3_exec(db, drop, NULL, NULL, NULL), SQLITE_OK);
	}
	/* ... and the column migration 6 added to dwelling. */
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE dwelling DROP COLUMN OLDLOGT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(dh_store_open(&st, path, 0, &err), DH_OK);
	assert_int_equal(dh_audit_log(st, "cli", "init", "", 0, "", "ok", &err), DH_OK);
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_OK);
	assert_int_equal(check.entries, 1);
	dh_store_close(st);
	dh_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(append_list_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(triggers_refuse_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(every_byte_of_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(deletion_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(first_entry_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(reordering_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(insertion_detected, setup, teardown),
		cmocka_unit_test(migration_upgrades_old_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
