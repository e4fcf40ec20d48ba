/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sqlite_import.c - the SQLite backend's import sessions: one delivery's rows written as
 * versions of the dwelling table (docs/store.md), history inserted before or after the
 * deliveries already there, the delivery recorded at the end (see sqlite.c for the model).
 */
#include "store/internal.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Import sessions ------------------------------------------------------------------------------ */

static void session_free(sq_session *ss)
{
	sqlite3_exec(ss->store->db, "PRAGMA cache_size = " READ_CACHE_KIB, NULL, NULL, NULL);
	sqlite3_finalize(ss->insert);
	sqlite3_finalize(ss->find_prev);
	sqlite3_finalize(ss->find_next);
	sqlite3_finalize(ss->extend_next);
	sqlite3_finalize(ss->keep);
	sqlite3_finalize(ss->delivered);
	ss->store->in_session = 0;
	free(ss);
}

/* Roll back the transaction a session left open, if any. */
void dh__sq_rollback_open(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

void dh__sq_import_abort(void *session)
{
	sq_session *ss = session;
	if (!ss)
		return;
	dh__sq_rollback_open(ss->store->db);
	session_free(ss);
}

/* "YYYY-MM-DD" (checked by store.c) as yyyymmdd; 0 for "". */
int64_t dh__sq_day_number(const char *date)
{
	if (!date[0])
		return 0;
	return (int64_t)atoi(date) * 10000 + atoi(date + 5) * 100 + atoi(date + 8);
}

/* One date bound of the organisation's accepted deliveries around ref ("" if none). */
static int neighbour_date(sqlite3 *db, const char *sql, int64_t org, const char *ref, char out[DH_DATE_SIZE], dh_error *err)
{
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, org);
	dh__sq_bind_text(st, 2, ref);
	out[0] = '\0';
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		dh__sq_copy_col(out, 11, st, 0);
	else if (step != SQLITE_DONE)
		rc = dh__sq_fail(db, err, "lecture de l'historique");
	sqlite3_finalize(st);
	return rc;
}

/* Allocate a zeroed session of `size` bytes whose dh_field_kind[DH_RPLS_NFIELDS] array at
 * `kind_at` is filled with the RPLS field kinds, and mark the connection busy. */
int dh__sq_session_open(sq_store *s, void **out, size_t size, size_t kind_at, dh_error *err)
{
	if (s->in_session)
		return dh_error_set(err, DH_CONFLICT, "un import est déjà en cours sur cette connexion");
	unsigned char *p = calloc(1, size);
	if (!p)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	dh_field_kind *kind = (dh_field_kind *)(void *)(p + kind_at);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		kind[f] = dh_rpls_field(f)->kind;
	s->in_session = 1;
	*out = p;
	return DH_OK;
}

int dh__sq_import_begin(void *state, const dh_delivery *meta, void **session, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	sq_session *ss;
	int orc = dh__sq_session_open(s, (void **)&ss, sizeof(*ss), offsetof(sq_session, kind), err);
	if (orc != DH_OK)
		return orc;
	ss->store = s;
	dh_strlcpy(ss->ref_new, sizeof(ss->ref_new), meta->reference_date);
	/* A delivery is written in one transaction: a cache that holds most of it keeps pages
	 * from being spilled to the WAL and rewritten there (docs/store.md, figures). */
	int rc = dh__sq_exec(db, "PRAGMA cache_size = " IMPORT_CACHE_KIB "; BEGIN IMMEDIATE", err);
	if (rc != DH_OK) {
		session_free(ss);
		return rc;
	}
	dh_org org;
	rc = dh__sq_org_get(s, meta->siren, &org, err);
	if (rc != DH_OK)
		goto fail;
	ss->org_id = org.id;
	char same[DH_DATE_SIZE];
	rc = neighbour_date(db, "SELECT reference_date FROM delivery WHERE organisation_id = ?1 AND status = 'accepted'"
				" AND reference_date = ?2", org.id, ss->ref_new, same, err);
	if (rc != DH_OK)
		goto fail;
	if (same[0]) {
		rc = dh_error_set(err, DH_CONFLICT, "l'organisme %s a déjà une livraison acceptée au %s", meta->siren, same);
		goto fail;
	}
	rc = neighbour_date(db, "SELECT max(reference_date) FROM delivery WHERE organisation_id = ?1"
				" AND status = 'accepted' AND reference_date < ?2", org.id, ss->ref_new, ss->ref_prev, err);
	if (rc == DH_OK)
		rc = neighbour_date(db, "SELECT min(reference_date) FROM delivery WHERE organisation_id = ?1"
					" AND status = 'accepted' AND reference_date > ?2", org.id, ss->ref_new, ss->ref_next, err);
	if (rc != DH_OK)
		goto fail;
	ss->fast = !ss->ref_prev[0] && !ss->ref_next[0];
	ss->day_new = dh__sq_day_number(ss->ref_new);
	ss->day_prev = dh__sq_day_number(ss->ref_prev);
	ss->day_next = dh__sq_day_number(ss->ref_next);

	/* The delivery row exists from the start so that versions can reference it; it is
	 * completed at the end, and vanishes with the rest on rollback. */
	sqlite3_stmt *st;
	rc = dh__sq_prepare(db, "INSERT INTO delivery(organisation_id, layout, reference_date, received_at, file_name,"
			 " file_size, sha256, rows_read, rows_accepted, rows_rejected, status, report)"
			 " VALUES (?, ?, ?, '', ?, ?, '', 0, 0, 0, 'accepted', '')", &st, err);
	if (rc != DH_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, org.id);
	dh__sq_bind_text(st, 2, meta->layout[0] ? meta->layout : "rpls");
	dh__sq_bind_text(st, 3, ss->ref_new);
	dh__sq_bind_text(st, 4, meta->file_name);
	sqlite3_bind_int64(st, 5, (int64_t)meta->file_size);
	rc = dh__sq_run(db, st, err, "création de la livraison");
	sqlite3_finalize(st);
	if (rc != DH_OK)
		goto fail;
	ss->delivery_id = sqlite3_last_insert_rowid(db);

	rc = dh__sq_exec(db, "DELETE FROM temp.kept; DELETE FROM temp.delivered", err);
	if (rc == DH_OK && ss->fast) {
		int64_t any = 0;
		rc = dh__sq_pragma_int(db, "SELECT EXISTS (SELECT 1 FROM dwelling)", &any, err);
		if (rc == DH_OK && !any) {
			rc = dh__sq_exec(db, "DROP INDEX dwelling_version", err);
			ss->rebuild_index = rc == DH_OK;
		}
	}
	if (rc == DH_OK)
		rc = dh__sq_prepare(db, SQL_INSERT_VERSION, &ss->insert, err);
	if (rc == DH_OK && !ss->fast) {
		rc = dh__sq_prepare(db, "SELECT id, content_hash FROM dwelling WHERE organisation_id = ?1 AND IDENT_INT = ?2"
				 " AND valid_from <= ?3 AND valid_to > ?3", &ss->find_prev, err);
		if (rc == DH_OK)
			rc = dh__sq_prepare(db, "SELECT id, content_hash FROM dwelling WHERE organisation_id = ?1"
					 " AND IDENT_INT = ?2 AND valid_from = ?3", &ss->find_next, err);
		if (rc == DH_OK)
			rc = dh__sq_prepare(db, "UPDATE dwelling SET valid_from = ?2 WHERE id = ?1", &ss->extend_next, err);
		if (rc == DH_OK)
			rc = dh__sq_prepare(db, "INSERT INTO temp.kept(id) VALUES (?)", &ss->keep, err);
		if (rc == DH_OK)
			rc = dh__sq_prepare(db, "INSERT INTO temp.delivered(ident) VALUES (?)", &ss->delivered, err);
	}
	if (rc != DH_OK)
		goto fail;
	*session = ss;
	return DH_OK;
fail:
	dh__sq_import_abort(ss);
	return rc;
}

/* Hash of what is stored of a row: field ids, their text or typed value, the commune. */
static int64_t content_hash(sq_session *ss, const dh_rpls_row *row, const char *commune)
{
	static const unsigned char key[crypto_shorthash_KEYBYTES] = "datahabitat-row";
	unsigned char *p = ss->hashbuf, *end = ss->hashbuf + sizeof(ss->hashbuf);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (!DH_RPLS_HAS(row, f))
			continue;
		dh_field_kind kind = ss->kind[f];
		size_t len = kind == DH_KIND_TEXT || kind == DH_KIND_CODE ? row->text[f].len : sizeof(row->value[f]);
		if ((size_t)(end - p) < len + 2)
			break; /* cannot happen within the field limits; hash what fits */
		*p++ = (unsigned char)f;
		if (kind == DH_KIND_TEXT || kind == DH_KIND_CODE)
			memcpy(p, row->text[f].ptr, len);
		else
			memcpy(p, &row->value[f], len);
		p += len;
		*p++ = 0xff; /* never a byte of UTF-8: separates the fields */
	}
	size_t clen = commune ? strlen(commune) : 0;
	if (clen && (size_t)(end - p) >= clen) {
		memcpy(p, commune, clen);
		p += clen;
	}
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, ss->hashbuf, (unsigned long long)(p - ss->hashbuf), key);
	int64_t h;
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Bind the RPLS fields of row to parameters first, first + 1...; dates converted into
 * dates[f]. Returns 0, or -1 for a date that cannot be converted. */
int dh__sq_bind_fields(const dh_field_kind *kind, char (*dates)[11], sqlite3_stmt *st, int first,
		       const dh_rpls_row *row)
{
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		int col = first + f;
		if (!DH_RPLS_HAS(row, f)) {
			sqlite3_bind_null(st, col);
			continue;
		}
		switch (kind[f]) {
		case DH_KIND_TEXT:
		case DH_KIND_CODE:
			sqlite3_bind_text(st, col, row->text[f].ptr, (int)row->text[f].len, SQLITE_STATIC);
			break;
		case DH_KIND_INT:
		case DH_KIND_YEAR:
			sqlite3_bind_int64(st, col, row->value[f].i);
			break;
		case DH_KIND_NUMBER:
			sqlite3_bind_double(st, col, row->value[f].d);
			break;
		case DH_KIND_DATE:
			if (dh__store_date_to_iso(row->value[f].i, dates[f], sizeof(dates[f])) != 0)
				return -1;
			sqlite3_bind_text(st, col, dates[f], dates[f][7] ? 10 : 7, SQLITE_STATIC);
			break;
		}
	}
	return 0;
}

static int bind_row(sq_session *ss, sqlite3_stmt *st, const dh_rpls_row *row)
{
	int col = N_VERSION_COLS + 1 + DH_RPLS_NFIELDS; /* EXTRA_COLS */
	if (DH_RPLS_HAS(row, DH_RPLS_OLDLOGT))
		sqlite3_bind_text(st, col, row->text[DH_RPLS_OLDLOGT].ptr, (int)row->text[DH_RPLS_OLDLOGT].len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
	return dh__sq_bind_fields(ss->kind, ss->dates, st, N_VERSION_COLS + 1, row);
}

static int insert_version(sq_session *ss, const dh_rpls_row *row, const char *commune, int64_t hash, dh_error *err)
{
	sqlite3_stmt *st = ss->insert;
	sqlite3_bind_int64(st, 1, ss->org_id);
	sqlite3_bind_int64(st, 2, ss->day_new);
	sqlite3_bind_int64(st, 3, ss->day_next ? ss->day_next : OPEN_END_DAY);
	sqlite3_bind_int64(st, 4, hash);
	sqlite3_bind_int64(st, 5, ss->delivery_id);
	if (commune)
		sqlite3_bind_text(st, 6, commune, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (bind_row(ss, st, row) != 0)
		return dh_error_set(err, DH_INVAL, "ligne %llu : date mal formée", (unsigned long long)row->line);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step == SQLITE_CONSTRAINT)
		return dh_error_set(err, DH_CONFLICT, "ligne %llu : IDENT_INT « %.*s » en double dans la livraison",
				    (unsigned long long)row->line, (int)row->text[DH_RPLS_IDENT_INT].len,
				    row->text[DH_RPLS_IDENT_INT].ptr);
	if (step != SQLITE_DONE)
		return dh__sq_fail(ss->store->db, err, "écriture d'un logement");
	return DH_OK;
}

/* Find the version of ident selected by st (bound to date); 1 if found with *id, *hash. */
static int find_version(sq_session *ss, sqlite3_stmt *st, dh_str ident, int64_t day, int64_t *id,
			int64_t *hash, dh_error *err)
{
	sqlite3_bind_int64(st, 1, ss->org_id);
	sqlite3_bind_text(st, 2, ident.ptr, (int)ident.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, day);
	int step = sqlite3_step(st);
	int found = 0;
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*hash = sqlite3_column_int64(st, 1);
		found = 1;
	} else if (step != SQLITE_DONE) {
		found = dh__sq_fail(ss->store->db, err, "lecture de l'historique") == DH_OK ? 0 : -1;
	}
	sqlite3_reset(st);
	return found;
}

int dh__sq_import_row(void *session, const dh_rpls_row *row, const char *commune, dh_error *err)
{
	sq_session *ss = session;
	int64_t hash = content_hash(ss, row, commune);
	if (ss->fast)
		return insert_version(ss, row, commune, hash, err);

	sqlite3 *db = ss->store->db;
	dh_str ident = row->text[DH_RPLS_IDENT_INT];
	sqlite3_bind_text(ss->delivered, 1, ident.ptr, (int)ident.len, SQLITE_STATIC);
	int step = sqlite3_step(ss->delivered);
	sqlite3_reset(ss->delivered);
	if (step == SQLITE_CONSTRAINT)
		return dh_error_set(err, DH_CONFLICT, "ligne %llu : IDENT_INT « %.*s » en double dans la livraison",
				    (unsigned long long)row->line, (int)ident.len, ident.ptr);
	if (step != SQLITE_DONE)
		return dh__sq_fail(db, err, "écriture d'un logement");

	int64_t id, old_hash;
	if (ss->ref_prev[0]) {
		int found = find_version(ss, ss->find_prev, ident, ss->day_prev, &id, &old_hash, err);
		if (found < 0)
			return err ? err->code : DH_STORE;
		if (found && old_hash == hash) {
			/* Unchanged since the previous delivery: that version stays valid through this one. */
			sqlite3_bind_int64(ss->keep, 1, id);
			return dh__sq_run(db, ss->keep, err, "écriture d'un logement");
		}
	}
	if (ss->ref_next[0]) {
		int found = find_version(ss, ss->find_next, ident, ss->day_next, &id, &old_hash, err);
		if (found < 0)
			return err ? err->code : DH_STORE;
		if (found && old_hash == hash) {
			/* Same as in the next delivery: that version now starts here. */
			sqlite3_bind_int64(ss->extend_next, 1, id);
			sqlite3_bind_int64(ss->extend_next, 2, ss->day_new);
			return dh__sq_run(db, ss->extend_next, err, "écriture d'un logement");
		}
	}
	return insert_version(ss, row, commune, hash, err);
}

static int finish_history(sq_session *ss, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	sqlite3_stmt *st;
	int rc = DH_OK;
	if (ss->ref_prev[0] && ss->ref_next[0]) {
		rc = dh__sq_prepare(db, SQL_COPY_TO_NEXT, &st, err);
		if (rc != DH_OK)
			return rc;
		sqlite3_bind_int64(st, 1, ss->org_id);
		sqlite3_bind_int64(st, 3, ss->day_prev);
		sqlite3_bind_int64(st, 4, ss->day_next);
		rc = dh__sq_run(db, st, err, "insertion dans l'historique");
		sqlite3_finalize(st);
		if (rc != DH_OK)
			return rc;
	}
	if (ss->ref_prev[0]) {
		rc = dh__sq_prepare(db, SQL_CLOSE_PREVIOUS, &st, err);
		if (rc != DH_OK)
			return rc;
		sqlite3_bind_int64(st, 1, ss->org_id);
		sqlite3_bind_int64(st, 2, ss->day_new);
		sqlite3_bind_int64(st, 3, ss->day_prev);
		rc = dh__sq_run(db, st, err, "clôture des versions précédentes");
		sqlite3_finalize(st);
	}
	return rc;
}

/* The version index, dropped for a bulk load into an empty table, built in one sorted pass
 * (faster than maintaining it row by row, and packed); a duplicate IDENT_INT makes the
 * unique index fail, and is then named. */
static int build_index(sq_session *ss, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	if (sqlite3_exec(db, SQL_CREATE_VERSION_INDEX, NULL, NULL, NULL) == SQLITE_OK)
		return DH_OK;
	if (sqlite3_errcode(db) != SQLITE_CONSTRAINT)
		return dh__sq_fail(db, err, "construction de l'index des versions");
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(db, "SELECT IDENT_INT FROM dwelling WHERE organisation_id = ?1"
			     " GROUP BY IDENT_INT HAVING count(*) > 1 LIMIT 1", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, ss->org_id);
	char ident[64] = "?";
	if (sqlite3_step(st) == SQLITE_ROW)
		dh__sq_copy_col(ident, sizeof(ident), st, 0);
	sqlite3_finalize(st);
	return dh_error_set(err, DH_CONFLICT, "IDENT_INT « %s » en double dans la livraison", ident);
}

static int record_delivery(sq_session *ss, int64_t id, const dh_delivery *final, const char *report, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	sqlite3_stmt *st;
	const char *sql = id ? "UPDATE delivery SET received_at = ?2, sha256 = ?3, rows_read = ?4, rows_accepted = ?5,"
			       " rows_rejected = ?6, status = ?7, report = ?8, layout = ?9 WHERE id = ?1"
			     : "INSERT INTO delivery(organisation_id, received_at, sha256, rows_read, rows_accepted,"
			       " rows_rejected, status, report, layout, reference_date, file_name, file_size)"
			       " VALUES (?10, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?13)";
	int rc = dh__sq_prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	if (id)
		sqlite3_bind_int64(st, 1, id);
	dh__sq_bind_text(st, 2, final->received_at);
	dh__sq_bind_text(st, 3, final->sha256);
	sqlite3_bind_int64(st, 4, (int64_t)final->rows_read);
	sqlite3_bind_int64(st, 5, (int64_t)final->rows_accepted);
	sqlite3_bind_int64(st, 6, (int64_t)final->rows_rejected);
	dh__sq_bind_text(st, 7, dh_delivery_status_name(final->status));
	sqlite3_bind_text(st, 8, report, -1, SQLITE_STATIC);
	dh__sq_bind_text(st, 9, final->layout[0] ? final->layout : "rpls");
	if (!id) {
		sqlite3_bind_int64(st, 10, ss->org_id);
		dh__sq_bind_text(st, 11, ss->ref_new);
		dh__sq_bind_text(st, 12, final->file_name);
		sqlite3_bind_int64(st, 13, (int64_t)final->file_size);
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_CONSTRAINT)
		rc = dh_error_set(err, DH_EXISTS, "ce fichier a déjà été livré pour cet organisme");
	else if (step != SQLITE_DONE)
		rc = dh__sq_fail(db, err, "enregistrement de la livraison");
	sqlite3_finalize(st);
	return rc;
}

int dh__sq_import_end(void *session, dh_delivery *final, const char *report, dh_error *err)
{
	sq_session *ss = session;
	sqlite3 *db = ss->store->db;
	dh_store_now_utc(final->received_at, sizeof(final->received_at));
	int rc;
	if (final->status == DH_DELIVERY_ACCEPTED) {
		rc = ss->rebuild_index ? build_index(ss, err) : finish_history(ss, err);
		if (rc == DH_OK)
			rc = record_delivery(ss, ss->delivery_id, final, report, err);
		if (rc == DH_OK)
			rc = dh__sq_exec(db, "COMMIT", err);
		if (rc == DH_OK)
			final->id = ss->delivery_id;
	} else {
		/* Refused: none of the rows written stays; only the delivery and its report. */
		rc = dh__sq_exec(db, "ROLLBACK", err);
		if (rc == DH_OK)
			rc = dh__sq_exec(db, "BEGIN IMMEDIATE", err);
		if (rc == DH_OK)
			rc = record_delivery(ss, 0, final, report, err);
		if (rc == DH_OK)
			rc = dh__sq_exec(db, "COMMIT", err);
		if (rc == DH_OK)
			final->id = sqlite3_last_insert_rowid(db);
	}
	dh__sq_import_abort(ss); /* rolls back what is left open after a failure, frees */
	return rc;
}

