/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_pseudo.c - pseudonymisation (pseudo.h): key file creation and permissions,
 * determinism and normalisation of the keyed hash, rotation re-hashing a test table of
 * pseudonyms while keeping linkage, failed rotation leaving everything unchanged, and
 * recovery of a rotation interrupted between commit and rename.
 */
#include "testutil.h"

#include "datahabitat/audit.h"
#include "datahabitat/pseudo.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

/* The actor of the rotations (actor.h). */
static const dh_actor dpo_actor = { DH_ACTOR_USER, "dpo", 0 };

typedef struct fixture {
	char *dir;
	char db[4200];
	char key[4300];
	dh_store *store;
	sqlite3 *raw;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = dh_tmpdir();
	snprintf(f->db, sizeof(f->db), "%s/dh.db", f->dir);
	dh_error err;
	assert_int_equal(dh_pseudo_key_path(f->db, f->key, sizeof(f->key), &err), DH_OK);
	assert_int_equal(dh_store_open(&f->store, f->db, DH_STORE_CREATE, &err), DH_OK);
	assert_int_equal(dh_pseudo_key_create(f->key, &err), DH_OK);
	assert_int_equal(sqlite3_open(f->db, &f->raw), SQLITE_OK);
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

static void key_path_and_file_mode(void **state)
{
	fixture *f = *state;
	char buf[4300];
	dh_error err;
	assert_int_equal(dh_pseudo_key_path("sqlite:/var/lib/dh.db", buf, sizeof(buf), &err), DH_OK);
	assert_string_equal(buf, "/var/lib/dh.db.key");
	assert_int_equal(dh_pseudo_key_path("postgresql://h/db", buf, sizeof(buf), &err), DH_INVAL);
	struct stat sb;
	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* O_EXCL: never overwritten. */
	char before[512] = { 0 }, after[512] = { 0 };
	FILE *k = fopen(f->key, "r");
	assert_true(fread(before, 1, sizeof(before) - 1, k) > 0);
	fclose(k);
	assert_int_equal(dh_pseudo_key_create(f->key, &err), DH_EXISTS);
	k = fopen(f->key, "r");
	assert_true(fread(after, 1, sizeof(after) - 1, k) > 0);
	fclose(k);
	assert_string_equal(before, after);
	/* Not inside the database: no 32-byte key text in the file. */
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_load(f->key, &key, &err), DH_OK);
	assert_int_equal(key.count, 1);
	assert_int_equal(key.version, 1);
	dh_pseudo_key_release(&key);
}

static void readable_key_refused(void **state)
{
	fixture *f = *state;
	dh_error err;
	dh_pseudo_key key;
	const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->key, bad[i]), 0);
		assert_int_equal(dh_pseudo_key_load(f->key, &key, &err), DH_DENIED);
		assert_non_null(strstr(err.message, "chmod 600"));
		assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_DENIED);
	}
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	dh_pseudo_key_release(&key);
	/* Symbolic link and missing file. */
	char link[4400];
	snprintf(link, sizeof(link), "%s/link.key", f->dir);
	assert_int_equal(symlink(f->key, link), 0);
	assert_int_equal(dh_pseudo_key_load(link, &key, &err), DH_DENIED);
	snprintf(link, sizeof(link), "%s/none.key", f->dir);
	assert_int_equal(dh_pseudo_key_load(link, &key, &err), DH_NOTFOUND);
	/* Malformed. */
	char *bad_file = dh_write_file(f->dir, "bad.key", "datahabitat-pseudo-key 1\n1 abcd\n", 31);
	assert_int_equal(chmod(bad_file, 0600), 0);
	assert_int_equal(dh_pseudo_key_load(bad_file, &key, &err), DH_CORRUPT);
	free(bad_file);
}

static void hash_deterministic_and_normalised(void **state)
{
	fixture *f = *state;
	dh_error err;
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_load(f->key, &key, &err), DH_OK);
	char a[DH_PSEUDO_HEX_SIZE], b[DH_PSEUDO_HEX_SIZE], c[DH_PSEUDO_HEX_SIZE];
	assert_int_equal(dh_pseudo_hash(&key, "0290123456789", 13, a, &err), DH_OK);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(dh_pseudo_hash(&key, "0290123456789", 13, b, &err), DH_OK);
	assert_string_equal(a, b);
	/* Expected value computed independently with libsodium. */
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)"0290123456789", 13, key.keys[0], 32);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	assert_string_equal(a, hex);
	/* Trim and upper-case. */
	assert_int_equal(dh_pseudo_hash(&key, "  ab12x\t", 8, b, &err), DH_OK);
	assert_int_equal(dh_pseudo_hash(&key, "AB12X", 5, c, &err), DH_OK);
	assert_string_equal(b, c);
	assert_string_not_equal(a, b);
	assert_int_equal(dh_pseudo_hash(&key, "   ", 3, c, &err), DH_INVAL);
	/* Another key gives another pseudonym. */
	dh_pseudo_key other = key;
	other.keys[0][0] ^= 1;
	assert_int_equal(dh_pseudo_hash(&other, "0290123456789", 13, c, &err), DH_OK);
	assert_string_not_equal(a, c);
	dh_pseudo_key_release(&other);
	dh_pseudo_key_release(&key);
}

static const char *const ids[] = { "D-0001", "D-0002", "d-0001 ", "D-0003", "D-0002" };
#define N_IDS 5

/* The test table of pseudonyms, filled with the current key. */
static void fill_demands(fixture *f)
{
	dh_error err;
	assert_int_equal(sqlite3_exec(f->raw, "CREATE TABLE demand(id INTEGER PRIMARY KEY, applicant TEXT, note TEXT)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(dh_pseudo_column_register(f->store, "demand", "applicant", &err), DH_OK);
	assert_int_equal(dh_pseudo_column_register(f->store, "demand", "applicant", &err), DH_OK);
	assert_int_equal(dh_pseudo_column_register(f->store, "demand; DROP", "x", &err), DH_INVAL);
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->raw, "INSERT INTO demand(applicant, note) VALUES (?, 'n')", -1, &st, NULL),
			 SQLITE_OK);
	for (int i = 0; i < N_IDS; i++) {
		char p[DH_PSEUDO_HEX_SIZE];
		assert_int_equal(dh_pseudo_hash(&key, ids[i], strlen(ids[i]), p, &err), DH_OK);
		sqlite3_bind_text(st, 1, p, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(f->raw, "INSERT INTO demand(applicant, note) VALUES (NULL, 'sans')", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	dh_pseudo_key_release(&key);
}

static void read_demands(fixture *f, char out[N_IDS + 1][DH_PSEUDO_HEX_SIZE])
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->raw, "SELECT applicant FROM demand ORDER BY id", -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i <= N_IDS; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out[i], DH_PSEUDO_HEX_SIZE, "%s", t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
}

static void file_text(const char *path, char *buf, size_t size)
{
	memset(buf, 0, size);
	FILE *k = fopen(path, "r");
	assert_non_null(k);
	assert_true(fread(buf, 1, size - 1, k) > 0);
	fclose(k);
}

static void rotation_rehashes_and_keeps_linkage(void **state)
{
	fixture *f = *state;
	fill_demands(f);
	char before[N_IDS + 1][DH_PSEUDO_HEX_SIZE], after[N_IDS + 1][DH_PSEUDO_HEX_SIZE];
	read_demands(f, before);
	dh_pseudo_key old_key;
	dh_error err;
	assert_int_equal(dh_pseudo_key_load(f->key, &old_key, &err), DH_OK);
	int64_t version = 0;
	assert_int_equal(dh_pseudo_rotate(f->store, f->key, &dpo_actor, &version, &err), DH_OK);
	assert_int_equal(version, 2);
	read_demands(f, after);
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	assert_int_equal(key.version, 2);
	assert_int_equal(key.count, 2);
	assert_memory_equal(key.keys[0], old_key.keys[0], 32); /* the chain keeps version 1 */
	for (int i = 0; i < N_IDS; i++) {
		assert_string_not_equal(before[i], after[i]);
		/* new = H(k2, old) */
		unsigned char h[32];
		crypto_generichash(h, sizeof(h), (const unsigned char *)before[i], 64, key.keys[1], 32);
		char hex[65];
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		assert_string_equal(after[i], hex);
		/* A new identifier hashed with the rotated key links to the stored pseudonym. */
		char p[DH_PSEUDO_HEX_SIZE];
		assert_int_equal(dh_pseudo_hash(&key, ids[i], strlen(ids[i]), p, &err), DH_OK);
		assert_string_equal(p, after[i]);
		/* The old key alone no longer finds it. */
		assert_int_equal(dh_pseudo_hash(&old_key, ids[i], strlen(ids[i]), p, &err), DH_OK);
		assert_string_not_equal(p, after[i]);
	}
	assert_string_equal(after[0], after[2]); /* same person, same pseudonym */
	assert_string_equal(after[1], after[4]);
	assert_string_not_equal(after[0], after[1]);
	assert_string_equal(after[N_IDS], ""); /* NULL stays NULL */
	/* Key file replaced, still 0600, no leftover. */
	struct stat sb;
	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char pending[4400];
	snprintf(pending, sizeof(pending), "%s.new", f->key);
	assert_int_not_equal(access(pending, F_OK), 0);
	/* Logged, and the chain is intact. */
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(f->store, &check, &err), DH_OK);
	assert_int_equal(check.entries, 1);
	dh_pseudo_key_release(&key);
	dh_pseudo_key_release(&old_key);
}

static void failed_rotation_changes_nothing(void **state)
{
	fixture *f = *state;
	fill_demands(f);
	dh_error err;
	/* A stored value that is not a pseudonym makes the rotation fail. */
	assert_int_equal(sqlite3_exec(f->raw, "INSERT INTO demand(applicant) VALUES ('en clair')", NULL, NULL, NULL),
			 SQLITE_OK);
	char before[N_IDS + 1][DH_PSEUDO_HEX_SIZE], after[N_IDS + 1][DH_PSEUDO_HEX_SIZE];
	read_demands(f, before);
	char key_before[1024], key_after[1024];
	file_text(f->key, key_before, sizeof(key_before));
	assert_int_equal(dh_pseudo_rotate(f->store, f->key, &dpo_actor, NULL, &err), DH_CORRUPT);
	read_demands(f, after);
	for (int i = 0; i <= N_IDS; i++)
		assert_string_equal(before[i], after[i]);
	file_text(f->key, key_after, sizeof(key_after));
	assert_string_equal(key_before, key_after);
	char pending[4400];
	snprintf(pending, sizeof(pending), "%s.new", f->key);
	assert_int_not_equal(access(pending, F_OK), 0);
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	assert_int_equal(key.version, 1);
	dh_pseudo_key_release(&key);
	/* A registered column that does not exist: the same. */
	assert_int_equal(sqlite3_exec(f->raw, "DELETE FROM demand WHERE applicant = 'en clair'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(dh_pseudo_column_register(f->store, "missing", "col", &err), DH_OK);
	assert_int_not_equal(dh_pseudo_rotate(f->store, f->key, &dpo_actor, NULL, &err), DH_OK);
	file_text(f->key, key_after, sizeof(key_after));
	assert_string_equal(key_before, key_after);
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(f->store, &check, &err), DH_OK);
	assert_int_equal(check.entries, 0);
}

static void interrupted_rotation_recovered(void **state)
{
	fixture *f = *state;
	fill_demands(f);
	dh_error err;
	char v1[1024], v2[1024];
	file_text(f->key, v1, sizeof(v1));
	assert_int_equal(dh_pseudo_rotate(f->store, f->key, &dpo_actor, NULL, &err), DH_OK);
	file_text(f->key, v2, sizeof(v2));
	/* As if the process died after the commit, before the rename: v1 in place, v2 pending. */
	char pending[4400];
	snprintf(pending, sizeof(pending), "%s.new", f->key);
	assert_int_equal(rename(f->key, pending), 0);
	free(dh_write_file(f->dir, "dh.db.key", v1, strlen(v1)));
	assert_int_equal(chmod(f->key, 0600), 0);
	dh_pseudo_key key;
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	assert_int_equal(key.version, 2);
	dh_pseudo_key_release(&key);
	char now[1024];
	file_text(f->key, now, sizeof(now));
	assert_string_equal(now, v2);
	/* As if it died before the commit: a pending v3 the database never saw is dropped. */
	free(dh_write_file(f->dir, "dh.db.key.new", v1, strlen(v1)));
	assert_int_equal(chmod(pending, 0600), 0);
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_OK);
	assert_int_equal(key.version, 2);
	dh_pseudo_key_release(&key);
	assert_int_not_equal(access(pending, F_OK), 0);
	/* The wrong key file (version 1) for a version-2 database is refused. */
	free(dh_write_file(f->dir, "dh.db.key.tmp", v1, strlen(v1)));
	char tmp[4400];
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->key);
	assert_int_equal(chmod(tmp, 0600), 0);
	assert_int_equal(rename(tmp, f->key), 0);
	assert_int_equal(dh_pseudo_key_open(f->store, f->key, &key, &err), DH_CONFLICT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(key_path_and_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(readable_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(hash_deterministic_and_normalised, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_rehashes_and_keeps_linkage, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_rotation_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupted_rotation_recovered, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
