/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_audit.c - the audit chain (audit.h) on SQLite: append, list, verify, and tampering
 * through raw SQL (triggers dropped first, as an attacker holding the file would): every
 * byte of every stored field of an entry, deletions, reordering, insertions.
 */
#include "testutil.h"

#include "datahabitat/audit.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

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
		dh_actor who = i % 2 ? dh_actor_user("analyste") : dh_actor_cli(NULL);
		assert_int_equal(dh_audit_log(f->store, &who, actions[i], object, i == 3 ? 42 : 0,
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

/* A new store in a new scratch folder (*dir, removed with dh_rmtree), its path in path. */
static dh_store *scratch_store(const char *name, char **dir, char path[4200])
{
	*dir = dh_tmpdir();
	snprintf(path, 4200, "%s/%s", *dir, name);
	dh_store *st;
	dh_error err;
	assert_int_equal(dh_store_open(&st, path, DH_STORE_CREATE, &err), DH_OK);
	return st;
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
	dh_actor nobody = dh_actor_user(""), cli = dh_actor_cli(NULL), bad = dh_actor_cli("a\033[2Jb");
	assert_int_equal(dh_audit_log(f->store, &nobody, "import", "x", 0, NULL, "ok", &err), DH_INVAL);
	assert_int_equal(dh_audit_log(f->store, NULL, "import", "x", 0, NULL, "ok", &err), DH_INVAL);
	assert_int_equal(dh_audit_log(f->store, &bad, "import", "x", 0, NULL, "ok", &err), DH_INVAL);
	assert_int_equal(dh_audit_log(f->store, &cli, "import", "x", 0, NULL, NULL, &err), DH_INVAL);
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
	char *dir, path[4200];
	dh_store *st = scratch_store("t.db", &dir, path);
	dh_error err;
	dh_actor cli = dh_actor_cli(NULL);
	assert_int_equal(dh_audit_log(st, &cli, "init", "", 0, "", "ok", &err), DH_OK);
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
	char *dir, path[4200];
	dh_store *st = scratch_store("old.db", &dir, path);
	dh_error err;
	dh_store_close(st);
	/* Make it a schema-1 database: drop every table later migrations added. */
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
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(dh_store_open(&st, path, 0, &err), DH_OK);
	dh_actor cli = dh_actor_cli(NULL);
	assert_int_equal(dh_audit_log(st, &cli, "init", "", 0, "", "ok", &err), DH_OK);
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_OK);
	assert_int_equal(check.entries, 1);
	dh_store_close(st);
	dh_rmtree(dir);
}

/* ---- The rule of the keyless chain (SHA-256, "datahabitat-audit-v1"), as a writer without
 * the key can compute it: used to forge entries the way an attacker would. ---- */

static void v1_field(crypto_hash_sha256_state *h, const char *s)
{
	unsigned char prefix[8];
	uint64_t n = strlen(s);
	for (int i = 7; i >= 0; i--, n >>= 8)
		prefix[i] = (unsigned char)(n & 0xff);
	crypto_hash_sha256_update(h, prefix, 8);
	crypto_hash_sha256_update(h, (const unsigned char *)s, strlen(s));
}

/* Rewrite entries from..last of the table with SHA-256 hashes chained from entry from-1's
 * stored hash: what rehashing the tail after an edit amounts to without the key. */
static void rehash_tail_v1(sqlite3 *db, int64_t from)
{
	char prev[65] = "";
	sqlite3_stmt *st;
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT hash FROM audit WHERE seq = %lld", (long long)(from - 1));
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(prev, sizeof(prev), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql),
		 "SELECT seq, time, actor, action, object, agreement, purpose, result FROM audit WHERE seq >= %lld"
		 " ORDER BY seq",
		 (long long)from);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_stmt *up;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", -1, &up, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		crypto_hash_sha256_state h;
		crypto_hash_sha256_init(&h);
		crypto_hash_sha256_update(&h, (const unsigned char *)"datahabitat-audit-v1", 20);
		for (int col = 0; col < 8; col++)
			v1_field(&h, (const char *)sqlite3_column_text(st, col));
		v1_field(&h, prev);
		unsigned char d[32];
		crypto_hash_sha256_final(&h, d);
		char hex[65];
		sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
		sqlite3_bind_text(up, 1, prev, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 2, hex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 3, sqlite3_column_int64(st, 0));
		assert_int_equal(sqlite3_step(up), SQLITE_DONE);
		sqlite3_reset(up);
		memcpy(prev, hex, sizeof(prev));
	}
	sqlite3_finalize(up);
	sqlite3_finalize(st);
}

/* Issue 10 point 11: an entry rewritten and the tail rehashed, as a writer without the key
 * would (SHA-256, the rule before the key): the chain must not say intact. */
static void tail_rewrite_with_rehash_detected(void **state)
{
	fixture *f = *state;
	dh_audit_check check;
	raw_exec(f, "UPDATE audit SET object = 'delivery:99', result = 'ok' WHERE seq = 3");
	rehash_tail_v1(f->raw, 3);
	assert_int_equal(verify(f, &check), 3);
	assert_non_null(strstr(check.problem, "contenu modifié"));
	/* Deleting an entry and renumbering with the tail rehashed: the same. */
	raw_exec(f, "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = seq - 1 WHERE seq > 5");
	rehash_tail_v1(f->raw, 3);
	assert_int_equal(verify(f, &check), 3);
}

/* A signed checkpoint of the head, written to the witness file of the fixture. */
static void checkpoint_to(fixture *f, char *path, size_t size)
{
	snprintf(path, size, "%s/witness", f->dir);
	char line[DH_AUDIT_CHECKPOINT_SIZE];
	dh_error err;
	assert_int_equal(dh_audit_checkpoint(f->store, line, &err), DH_OK);
	FILE *out = fopen(path, "a");
	assert_non_null(out);
	fputs(line, out);
	fclose(out);
}

/* Verify against the witness file; first_bad (0 if intact), the message naming it in French. */
static int64_t verify_witness(fixture *f, const char *path, const char *pubkey, dh_audit_check *check)
{
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_audit_verify_checkpoints(f->store, path, pubkey, check, &err);
	if (check->first_bad == 0) {
		if (rc != DH_OK)
			fail_msg("verify with checkpoints: %s", err.message);
		return 0;
	}
	assert_int_equal(rc, DH_CORRUPT);
	char name[48];
	snprintf(name, sizeof(name), "rompue à l'entrée %lld", (long long)check->first_bad);
	assert_non_null(strstr(err.message, name));
	return check->first_bad;
}

typedef struct tampering {
	const char *what;
	const char *sql;  /* through the database file, triggers dropped */
	int64_t first_bad;
	const char *says; /* part of the French problem */
} tampering;

static const tampering tamperings[] = {
	{ "rewrite", "UPDATE audit SET object = 'org:000000000' WHERE seq = 3", 3, "contenu modifié" },
	{ "delete and renumber", "DELETE FROM audit WHERE seq = 3; UPDATE audit SET seq = seq - 1 WHERE seq > 3", 3,
	  "déplacée" },
	{ "reorder", "UPDATE audit SET seq = -4 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 5;"
		     "UPDATE audit SET seq = 5 WHERE seq = -4", 4, "déplacée" },
	{ "insert forged", "UPDATE audit SET seq = seq + 100 WHERE seq >= 4; UPDATE audit SET seq = seq - 99 WHERE seq >= 104;"
			   "INSERT INTO audit SELECT 4, time, actor, 'login', object, agreement, purpose, result, hash, hash"
			   " FROM audit WHERE seq = 3", 4, "contenu modifié" },
	{ "cut tail", "DELETE FROM audit WHERE seq >= 6", 6, "supprimée" },
	{ "cut everything", "DELETE FROM audit", 1, "supprimée" },
};

/* Issue 10: each kind of tampering through the file, checked against a signed checkpoint. */
static void checkpoints_detect_every_tampering(void **state)
{
	fixture *f = *state;
	char witness[4300];
	checkpoint_to(f, witness, sizeof(witness));
	dh_audit_check check;
	assert_int_equal(verify_witness(f, witness, NULL, &check), 0);
	assert_int_equal(check.checkpoints, 1);
	assert_int_equal(check.anchored, N_ENTRIES);
	raw_exec(f, "CREATE TEMP TABLE saved AS SELECT * FROM audit");
	for (size_t i = 0; i < sizeof(tamperings) / sizeof(tamperings[0]); i++) {
		const tampering *t = &tamperings[i];
		raw_exec(f, t->sql);
		int64_t bad = verify_witness(f, witness, NULL, &check);
		if (bad != t->first_bad || !strstr(check.problem, t->says))
			fail_msg("%s: first bad %lld (%s), expected %lld (%s)", t->what, (long long)bad, check.problem,
				 (long long)t->first_bad, t->says);
		raw_exec(f, "DELETE FROM audit; INSERT INTO audit SELECT * FROM temp.saved");
		assert_int_equal(verify_witness(f, witness, NULL, &check), 0);
	}
	/* A cut tail alone is what the chain cannot see: the checkpoint is what catches it. */
	raw_exec(f, "DELETE FROM audit WHERE seq >= 6");
	assert_int_equal(verify(f, &check), 0);
	raw_exec(f, "DELETE FROM audit; INSERT INTO audit SELECT * FROM temp.saved");
}

/* The witness file: a forged line, another key, another signer. */
static void checkpoint_signatures_checked(void **state)
{
	fixture *f = *state;
	char witness[4300];
	checkpoint_to(f, witness, sizeof(witness));
	dh_audit_check check;
	/* Trusted key given explicitly: the store's own. */
	char pk[65];
	dh_error err;
	assert_int_equal(dh_audit_public_key(f->store, pk, &err), DH_OK);
	assert_int_equal(verify_witness(f, witness, pk, &check), 0);
	/* Another trusted key: the line's signer is not it. */
	char other[65];
	memcpy(other, pk, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	assert_int_equal(verify_witness(f, witness, other, &check), N_ENTRIES);
	assert_non_null(strstr(check.problem, "signature invalide"));
	/* A checkpoint claiming more entries than were signed (seq changed): bad signature. */
	FILE *in = fopen(witness, "r");
	char line[512];
	assert_non_null(fgets(line, sizeof(line), in));
	fclose(in);
	char *seq = line + strlen("datahabitat-audit-checkpoint 1 ");
	assert_int_equal(*seq, '0' + N_ENTRIES);
	*seq = '9';
	FILE *out = fopen(witness, "w");
	fputs(line, out);
	fclose(out);
	assert_int_equal(verify_witness(f, witness, NULL, &check), 9);
	assert_non_null(strstr(check.problem, "signature invalide"));
	/* A line that is not a checkpoint. */
	out = fopen(witness, "w");
	fputs("datahabitat-audit-checkpoint 1 7 x\n", out);
	fclose(out);
	assert_int_equal(verify_witness(f, witness, NULL, &check), 1);
	assert_non_null(strstr(check.problem, "mal formée"));
}

static int count_lines(const char *path, int64_t seqs[], int max)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return 0;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), in) && n < max)
		seqs[n++] = strtoll(line + strlen("datahabitat-audit-checkpoint 1 "), NULL, 10);
	fclose(in);
	return n;
}

/* Checkpoints every N entries, in the witness file next to the database, 0600 whatever
 * the umask, like the key file. */
static void automatic_checkpoints(void **state)
{
	(void)state;
	char *dir, path[4200], witness[4300], key[4300];
	mode_t old = umask(0);
	dh_store *st = scratch_store("auto.db", &dir, path);
	dh_error err;
	assert_int_equal(dh_audit_key_create(st, 2, &err), DH_OK);
	assert_int_equal(dh_audit_key_create(st, 2, &err), DH_EXISTS);
	dh_actor sys = dh_actor_system();
	for (int i = 0; i < 7; i++)
		assert_int_equal(dh_audit_log(st, &sys, "import", "x", 0, "", "ok", &err), DH_OK);
	umask(old);
	assert_int_equal(dh_audit_witness_path(st, witness, sizeof(witness), &err), DH_OK);
	assert_int_equal(dh_audit_key_path(st, key, sizeof(key), &err), DH_OK);
	struct stat sb;
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(witness, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* Entry 2k is checkpointed when entry 2k+1 is appended (it is committed by then). */
	int64_t seqs[8];
	assert_int_equal(count_lines(witness, seqs, 8), 3);
	assert_int_equal(seqs[0], 2);
	assert_int_equal(seqs[1], 4);
	assert_int_equal(seqs[2], 6);
	dh_audit_check check;
	assert_int_equal(dh_audit_verify_checkpoints(st, witness, NULL, &check, &err), DH_OK);
	assert_int_equal(check.checkpoints, 3);
	assert_int_equal(check.anchored, 6);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 6", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(dh_audit_verify_checkpoints(st, witness, NULL, &check, &err), DH_CORRUPT);
	assert_int_equal(check.first_bad, 6);
	dh_store_close(st);
	dh_rmtree(dir);
}

/* Without its key the chain can neither grow nor be verified; a key readable by others is
 * refused. */
static void missing_or_open_key_refused(void **state)
{
	fixture *f = *state;
	char key[4300];
	dh_error err;
	assert_int_equal(dh_audit_key_path(f->store, key, sizeof(key), &err), DH_OK);
	assert_int_equal(chmod(key, 0644), 0);
	dh_actor sys = dh_actor_system();
	assert_int_equal(dh_audit_log(f->store, &sys, "import", "x", 0, "", "ok", &err), DH_DENIED);
	assert_int_equal(chmod(key, 0600), 0);
	char moved[4400];
	snprintf(moved, sizeof(moved), "%s.away", key);
	assert_int_equal(rename(key, moved), 0);
	assert_int_equal(dh_audit_log(f->store, &sys, "import", "x", 0, "", "ok", &err), DH_NOTFOUND);
	assert_non_null(strstr(err.message, "clé d'audit"));
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(f->store, &check, &err), DH_NOTFOUND);
	assert_int_equal(rename(moved, key), 0);
	assert_int_equal(verify(f, &check), 0);
}

/* A database from before the key: its SHA-256 entries stay, the key seals from the next
 * one on, and that first keyed entry anchors the old ones. */
static void keyless_chain_migrated(void **state)
{
	(void)state;
	char *dir, path[4200];
	dh_store *st = scratch_store("old.db", &dir, path);
	dh_error err;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* Three entries as the previous version wrote them (no key file). */
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO audit VALUES (1, '2024-01-01T00:00:00Z', 'cli', 'init', 'db', 0, '', 'ok', '', '');"
				      "INSERT INTO audit VALUES (2, '2024-01-01T00:00:01Z', 'cli', 'org-add', 'org:443061841', 0,"
				      " '', 'ok', '', '');"
				      "INSERT INTO audit VALUES (3, '2024-01-01T00:00:02Z', 'cli', 'import', 'delivery:1', 0, '',"
				      " 'ok', '', '')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete", NULL, NULL, NULL),
			 SQLITE_OK);
	rehash_tail_v1(db, 1);
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_OK); /* keyless, intact */
	assert_int_equal(check.keyed_from, 0);
	dh_actor cli = dh_actor_cli(NULL);
	assert_int_equal(dh_audit_log(st, &cli, "export", "stock:443061841@latest", 0, "", "ok", &err), DH_OK);
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_OK);
	assert_int_equal(check.keyed_from, 4);
	assert_int_equal(check.entries, 4);
	/* The old part rewritten and rehashed: entry 4, sealed with the key, no longer links. */
	assert_int_equal(sqlite3_exec(db, "UPDATE audit SET object = 'delivery:2' WHERE seq = 3", NULL, NULL, NULL),
			 SQLITE_OK);
	rehash_tail_v1(db, 3);
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_CORRUPT);
	assert_int_equal(check.first_bad, 4);
	/* Everything from the key on removed: the key file knows entries 1 to 3 existed. */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM audit WHERE seq >= 3", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(dh_audit_verify(st, &check, &err), DH_CORRUPT);
	assert_int_equal(check.first_bad, 3);
	sqlite3_close(db);
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
		cmocka_unit_test_setup_teardown(tail_rewrite_with_rehash_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoints_detect_every_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_signatures_checked, setup, teardown),
		cmocka_unit_test(automatic_checkpoints),
		cmocka_unit_test_setup_teardown(missing_or_open_key_refused, setup, teardown),
		cmocka_unit_test(keyless_chain_migrated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
