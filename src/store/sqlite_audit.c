/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sqlite_audit.c - the SQLite side of the audit chain and of pseudonymisation: appending an
 * entry in one write transaction (last hash read under the lock, so concurrent writers
 * cannot fork the chain), reading the chain back in seq order, the registry of
 * pseudonymised columns and their re-hashing at key rotation.
 *
 * The triggers of table audit (migration in sqlite_audit.h) refuse UPDATE and DELETE: a
 * first barrier against mistakes, not a security guarantee (anyone with the file can drop
 * them); the guarantee is the keyed MAC chain and the signed checkpoints of audit.c (docs/gdpr.md).
 */
#include "store/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int sq_fail(sqlite3 *db, dh_error *err, const char *what)
{
	int code = sqlite3_errcode(db);
	int rc = code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? DH_CORRUPT
		 : code == SQLITE_NOMEM ? DH_NOMEM : DH_STORE;
	return dh_error_set(err, rc, "base de données : %s : %s", what, sqlite3_errmsg(db));
}

/* Open a write transaction, or a savepoint when the caller already holds one (an entry
 * logged inside a larger transaction commits or rolls back with it). */
static int tx_begin(sqlite3 *db, int *nested, dh_error *err)
{
	*nested = !sqlite3_get_autocommit(db);
	const char *sql = *nested ? "SAVEPOINT dh_audit" : "BEGIN IMMEDIATE";
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(db, err, "début de transaction");
	return DH_OK;
}

static int tx_end(sqlite3 *db, int nested, int rc, dh_error *err)
{
	if (rc == DH_OK) {
		if (sqlite3_exec(db, nested ? "RELEASE dh_audit" : "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
			return DH_OK;
		rc = sq_fail(db, err, "validation de la transaction");
	}
	if (nested)
		sqlite3_exec(db, "ROLLBACK TO dh_audit; RELEASE dh_audit", NULL, NULL, NULL);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void col_copy(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	dh_strlcpy(dst, size, t ? (const char *)t : "");
}

int dh__sq_audit_append(void *state, dh_audit_entry *e, dh_audit_seal_fn seal, void *seal_ctx, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	int nested, rc = tx_begin(db, &nested, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = sq_fail(db, err, "lecture du journal d'audit");
		goto done;
	}
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		e->seq = sqlite3_column_int64(st, 0) + 1;
		col_copy(e->prev_hash, sizeof(e->prev_hash), st, 1);
	} else if (s == SQLITE_DONE) {
		e->seq = 1;
		e->prev_hash[0] = '\0';
	} else {
		rc = sq_fail(db, err, "lecture du journal d'audit");
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = seal(seal_ctx, e, err)) != DH_OK)
		goto done;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO audit(seq, time, actor, action, object, agreement, purpose, result,"
			       " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sq_fail(db, err, "écriture du journal d'audit");
		goto done;
	}
	sqlite3_bind_int64(st, 1, e->seq);
	sqlite3_bind_text(st, 2, e->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->object, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, e->agreement);
	sqlite3_bind_text(st, 7, e->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, e->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, e->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, e->hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_fail(db, err, "écriture du journal d'audit");
done:
	sqlite3_finalize(st);
	return tx_end(db, nested, rc, err);
}

#define AUDIT_SELECT "SELECT seq, time, actor, action, object, agreement, purpose, result, prev_hash, hash FROM audit"

/* One row of AUDIT_SELECT into *e. */
static void read_entry(sqlite3_stmt *st, dh_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	col_copy(e->time, sizeof(e->time), st, 1);
	col_copy(e->actor, sizeof(e->actor), st, 2);
	col_copy(e->action, sizeof(e->action), st, 3);
	col_copy(e->object, sizeof(e->object), st, 4);
	e->agreement = sqlite3_column_int64(st, 5);
	col_copy(e->purpose, sizeof(e->purpose), st, 6);
	col_copy(e->result, sizeof(e->result), st, 7);
	col_copy(e->prev_hash, sizeof(e->prev_hash), st, 8);
	col_copy(e->hash, sizeof(e->hash), st, 9);
	/* A value that does not fit its field was not written by append: make sure it
	 * cannot hash like the original once truncated. */
	if ((size_t)sqlite3_column_bytes(st, 1) >= sizeof(e->time) ||
	    (size_t)sqlite3_column_bytes(st, 2) >= sizeof(e->actor) ||
	    (size_t)sqlite3_column_bytes(st, 3) >= sizeof(e->action) ||
	    (size_t)sqlite3_column_bytes(st, 4) >= sizeof(e->object) ||
	    (size_t)sqlite3_column_bytes(st, 6) >= sizeof(e->purpose) ||
	    (size_t)sqlite3_column_bytes(st, 7) >= sizeof(e->result) ||
	    (size_t)sqlite3_column_bytes(st, 8) >= sizeof(e->prev_hash) ||
	    (size_t)sqlite3_column_bytes(st, 9) >= sizeof(e->hash) ||
	    sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_type(st, 5) != SQLITE_INTEGER)
		e->hash[0] = '!';
}

int dh__sq_audit_scan(void *state, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	/* CAST keeps a tampered non-integer cell from being read as something else silently:
	 * the text form is what is hashed. */
	if (sqlite3_prepare_v2(db, AUDIT_SELECT " WHERE seq >= ? ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(db, err, "lecture du journal d'audit");
	sqlite3_bind_int64(st, 1, from);
	int rc = DH_OK, s;
	dh_audit_entry e;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		read_entry(st, &e);
		rc = cb(ctx, &e);
		if (rc != DH_OK)
			break;
	}
	if (rc == DH_OK && s != SQLITE_DONE)
		rc = sq_fail(db, err, "lecture du journal d'audit");
	sqlite3_finalize(st);
	return rc;
}

int dh__sq_audit_last(void *state, dh_audit_entry *out, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, AUDIT_SELECT " ORDER BY seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(db, err, "lecture du journal d'audit");
	int s = sqlite3_step(st), rc = DH_OK;
	if (s == SQLITE_ROW)
		read_entry(st, out);
	else if (s == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "journal d'audit vide");
	else
		rc = sq_fail(db, err, "lecture du journal d'audit");
	sqlite3_finalize(st);
	return rc;
}

/* ---- Pseudonyms -------------------------------------------------------------------------- */

static int identifier_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64 || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

int dh__sq_pseudo_register(void *state, const char *table, const char *column, dh_error *err)
{
	if (!identifier_ok(table) || !identifier_ok(column))
		return dh_error_set(err, DH_INVAL, "nom de table ou de colonne invalide");
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO pseudo_column(table_name, column_name) VALUES (?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return sq_fail(db, err, "registre des pseudonymes");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? DH_OK : sq_fail(db, err, "registre des pseudonymes");
	sqlite3_finalize(st);
	return rc;
}

int dh__sq_pseudo_version(void *state, int64_t *version, dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT version FROM pseudo_key WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(db, err, "version de la clé");
	int s = sqlite3_step(st), rc = DH_OK;
	*version = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1; /* 1: the key made at init */
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = sq_fail(db, err, "version de la clé");
	sqlite3_finalize(st);
	return rc;
}

typedef struct rehash_ctx {
	dh_pseudo_map_fn map;
	void *ctx;
	dh_error *err;
	int rc;
} rehash_ctx;

/* SQL function dh_rehash(value): the mapped pseudonym; NULL stays NULL. */
static void sql_rehash(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	(void)argc;
	rehash_ctx *rc = sqlite3_user_data(c);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(c);
		return;
	}
	const unsigned char *v = sqlite3_value_text(argv[0]);
	char out[160];
	int r = rc->map(rc->ctx, v ? (const char *)v : "", out, sizeof(out), rc->err);
	if (r != DH_OK) {
		rc->rc = r;
		sqlite3_result_error(c, "pseudonym rehash failed", -1);
		return;
	}
	sqlite3_result_text(c, out, -1, SQLITE_TRANSIENT);
}

int dh__sq_pseudo_rehash(void *state, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			int (*before_commit)(void *ctx, dh_error *err), dh_error *err)
{
	sqlite3 *db = dh__sqlite_db(state);
	if (!sqlite3_get_autocommit(db))
		return dh_error_set(err, DH_CONFLICT, "une transaction est déjà ouverte sur cette connexion");
	rehash_ctx rctx = { map, ctx, err, DH_OK };
	if (sqlite3_create_function(db, "dh_rehash", 1, SQLITE_UTF8, &rctx, sql_rehash, NULL, NULL) != SQLITE_OK)
		return sq_fail(db, err, "fonction de re-hachage");
	int rc = DH_OK;
	sqlite3_stmt *cols = NULL, *st = NULL;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sq_fail(db, err, "début de transaction");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT table_name, column_name FROM pseudo_column ORDER BY 1, 2", -1, &cols,
			       NULL) != SQLITE_OK) {
		rc = sq_fail(db, err, "registre des pseudonymes");
		goto rollback;
	}
	int s;
	while ((s = sqlite3_step(cols)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(cols, 0);
		const char *column = (const char *)sqlite3_column_text(cols, 1);
		if (!identifier_ok(table) || !identifier_ok(column)) {
			rc = dh_error_set(err, DH_CORRUPT, "registre des pseudonymes : nom invalide");
			goto rollback;
		}
		char sql[256];
		/* Names checked as identifiers above: safe to quote into the statement. */
		snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = dh_rehash(\"%s\") WHERE \"%s\" IS NOT NULL",
			 table, column, column, column);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = rctx.rc != DH_OK ? rctx.rc : sq_fail(db, err, "re-hachage des pseudonymes");
			goto rollback;
		}
	}
	if (s != SQLITE_DONE) {
		rc = sq_fail(db, err, "registre des pseudonymes");
		goto rollback;
	}
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO pseudo_key(id, version) VALUES (1, ?)", -1, &st, NULL) !=
		    SQLITE_OK) {
		rc = sq_fail(db, err, "version de la clé");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, new_version);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sq_fail(db, err, "version de la clé");
		goto rollback;
	}
	if (before_commit && (rc = before_commit(ctx, err)) != DH_OK)
		goto rollback;
	sqlite3_finalize(cols);
	sqlite3_finalize(st);
	cols = st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sq_fail(db, err, "validation de la transaction");
		goto rollback;
	}
	goto out;
rollback:
	sqlite3_finalize(cols);
	sqlite3_finalize(st);
	cols = st = NULL;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_create_function(db, "dh_rehash", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
	return rc;
}
