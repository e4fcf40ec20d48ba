/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sqlite_stock.c - the SQLite backend's readers: an organisation's stock at a date, the scan
 * of every dwelling version (the cube), and the reference sources (import, list, scan).
 */
#include "store/internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Reading the stock ------------------------------------------------------------------------------- */

/* Decode column `col` of st into field f of row; nums[f] holds the text of numbers and dates. */
static int decode_field(sqlite3_stmt *st, int col, int f, dh_rpls_row *row, char nums[][40], dh_error *err)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return DH_OK;
	row->present |= (uint64_t)1 << f;
	switch (dh_rpls_field(f)->kind) {
	case DH_KIND_TEXT:
	case DH_KIND_CODE:
		row->text[f].ptr = (const char *)sqlite3_column_text(st, col);
		row->text[f].len = (size_t)sqlite3_column_bytes(st, col);
		break;
	case DH_KIND_INT:
	case DH_KIND_YEAR:
		row->value[f].i = sqlite3_column_int64(st, col);
		snprintf(nums[f], 40, "%lld", (long long)row->value[f].i);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	case DH_KIND_NUMBER:
		row->value[f].d = sqlite3_column_double(st, col);
		snprintf(nums[f], 40, "%.15g", row->value[f].d);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	case DH_KIND_DATE: {
		const char *iso = (const char *)sqlite3_column_text(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);
		if (!iso || dh__store_date_from_iso(iso, n, nums[f], 40, &row->value[f].i) != 0)
			return dh_error_set(err, DH_CORRUPT, "date stockée mal formée (champ %s)", dh_rpls_field(f)->name);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	}
	}
	return DH_OK;
}

int dh__sq_stock_read(void *state, const char *siren, const char *date, dh_delivery *delivery_out,
			 dh_stock_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	dh_org org;
	/* One read transaction: the delivery chosen and its rows come from the same snapshot. */
	int rc = dh__sq_exec(db, "BEGIN", err);
	if (rc != DH_OK)
		return rc;
	rc = dh__sq_org_get(s, siren, &org, err);
	sqlite3_stmt *st = NULL;
	char sql[768];
	snprintf(sql, sizeof(sql), "%s WHERE d.organisation_id = ?1 AND d.status = 'accepted' AND d.reference_date <= ?2"
				   " ORDER BY d.reference_date DESC LIMIT 1", SQL_DELIVERY_COLS);
	if (rc == DH_OK)
		rc = dh__sq_prepare(db, sql, &st, err);
	dh_delivery d;
	if (rc == DH_OK) {
		sqlite3_bind_int64(st, 1, org.id);
		dh__sq_bind_text(st, 2, date ? date : OPEN_END);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			dh__sq_read_delivery(st, &d);
		else if (step == SQLITE_DONE)
			rc = date ? dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée au %s", siren, date)
				  : dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée", siren);
		else
			rc = dh__sq_fail(db, err, "lecture des livraisons");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == DH_OK && delivery_out)
		*delivery_out = d;
	if (rc == DH_OK)
		rc = dh__sq_prepare(db, SQL_STOCK, &st, err);
	if (rc == DH_OK) {
		sqlite3_bind_int64(st, 1, org.id);
		sqlite3_bind_int64(st, 2, dh__sq_day_number(d.reference_date));
		char nums[DH_RPLS_NFIELDS][40];
		dh_rpls_row row;
		uint64_t rank = 0;
		int step = SQLITE_DONE;
		while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&row, 0, sizeof(row));
			row.commune = -1;
			row.line = ++rank;
			/* Every field is decoded even after a bad one: the last error is the one kept. */
			for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
				int field_rc = decode_field(st, 1 + f, f, &row, nums, err);
				if (field_rc != DH_OK)
					rc = field_rc;
			}
			if (rc != DH_OK)
				break;
			const unsigned char *commune = sqlite3_column_text(st, 0);
			rc = cb(ctx, &row, commune ? (const char *)commune : NULL);
		}
		if (rc == DH_OK && step != SQLITE_DONE)
			rc = dh__sq_fail(db, err, "lecture du patrimoine");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* ---- Scanning every version (the cube) ------------------------------------------------------ */

/* Decode columns first.. of st (fields f_of_col[0..ncols)) into a fresh row numbered line. */
static int decode_row(sqlite3_stmt *st, int first, const int *f_of_col, int ncols, dh_rpls_row *row,
		      uint64_t line, char nums[][40], dh_error *err)
{
	memset(row, 0, sizeof(*row));
	row->commune = -1;
	row->line = line;
	int rc = DH_OK;
	for (int c = 0; c < ncols && rc == DH_OK; c++)
		rc = decode_field(st, first + c, f_of_col[c], row, nums, err);
	return rc;
}

/* "head, d.<field>... tail" with the fields of the mask; f_of_col[c] = field of column c.
 * Returns 0, or -1 when sql is too small. */
static int scan_sql(char *sql, size_t size, const char *head, const char *tail, uint64_t fields,
		    int extra, int *f_of_col, int *ncols)
{
	size_t len = (size_t)snprintf(sql, size, "%s", head);
	*ncols = 0;
	for (int f = 0; f < DH_RPLS_NALL && len < size; f++) {
		if (!((fields >> f) & 1u) || (f >= DH_RPLS_NFIELDS && !(extra && f == DH_RPLS_OLDLOGT)))
			continue;
		len += (size_t)snprintf(sql + len, size - len, ", d.%s", dh_rpls_field(f)->name);
		f_of_col[(*ncols)++] = f;
	}
	if (len < size)
		len += (size_t)snprintf(sql + len, size - len, "%s", tail);
	return len < size ? 0 : -1;
}

int dh__sq_versions_scan(void *state, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	if (fields == 0)
		fields = ~(uint64_t)0;
	/* Only the columns asked for: column names come from the static field table. */
	char sql[2048];
	int f_of_col[DH_RPLS_NALL];
	int ncols = 0;
	if (scan_sql(sql, sizeof(sql), "SELECT o.siren, d.valid_from, d.valid_to, d.commune_code",
		     " FROM dwelling d JOIN organisation o ON o.id = d.organisation_id", fields, 1, f_of_col,
		     &ncols) != 0)
		return dh_error_set(err, DH_STORE, "requête de parcours trop longue");
	int rc = dh__sq_exec(db, "BEGIN", err);
	if (rc != DH_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = dh__sq_prepare(db, sql, &st, err);
	if (rc == DH_OK) {
		char nums[DH_RPLS_NALL][40];
		char siren[DH_SIREN_SIZE];
		dh_rpls_row row;
		dh_stock_version v;
		uint64_t rank = 0;
		int step = SQLITE_DONE;
		while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
			rc = decode_row(st, 4, f_of_col, ncols, &row, ++rank, nums, err);
			if (rc != DH_OK)
				break;
			dh__sq_copy_col(siren, sizeof(siren), st, 0);
			int64_t to = sqlite3_column_int64(st, 2);
			const unsigned char *commune = sqlite3_column_text(st, 3);
			v.siren = siren;
			v.valid_from = (int32_t)sqlite3_column_int64(st, 1);
			v.valid_to = to >= OPEN_END_DAY ? 0 : (int32_t)to;
			v.commune_code = commune ? (const char *)commune : NULL;
			v.row = &row;
			rc = cb(ctx, &v);
		}
		if (rc == DH_OK && step != SQLITE_DONE)
			rc = dh__sq_fail(db, err, "parcours des versions");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* ---- Reference sources ---------------------------------------------------------------------------- */

typedef struct sq_ref_session {
	sq_store *store;
	int64_t source_id;
	sqlite3_stmt *insert;
	char dates[DH_RPLS_NFIELDS][11];
	dh_field_kind kind[DH_RPLS_NFIELDS];
} sq_ref_session;

/* Free a reference session, rolling back what it left open (nothing after a commit). */
void dh__sq_ref_abort(void *session)
{
	sq_ref_session *rs = session;
	if (!rs)
		return;
	dh__sq_rollback_open(rs->store->db);
	sqlite3_finalize(rs->insert);
	rs->store->in_session = 0;
	free(rs);
}

int dh__sq_ref_begin(void *state, const dh_reference_source *meta, void **session, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	sq_ref_session *rs;
	int rc = dh__sq_session_open(s, (void **)&rs, sizeof(*rs), offsetof(sq_ref_session, kind), err);
	if (rc != DH_OK)
		return rc;
	rs->store = s;
	rc = dh__sq_exec(db, "BEGIN IMMEDIATE", err);
	if (rc != DH_OK) {
		dh__sq_ref_abort(rs);
		return rc;
	}
	/* What the source held at that date goes: its rows, then its record. */
	static const char *const replace[] = {
		"DELETE FROM reference_dwelling WHERE source_id IN (SELECT id FROM reference_source"
		" WHERE name = ?1 AND reference_date = ?2)",
		"DELETE FROM reference_source WHERE name = ?1 AND reference_date = ?2",
	};
	sqlite3_stmt *st = NULL;
	for (size_t k = 0; k < 2 && rc == DH_OK; k++) {
		rc = dh__sq_prepare(db, replace[k], &st, err);
		if (rc != DH_OK)
			break;
		dh__sq_bind_text(st, 1, meta->name);
		dh__sq_bind_text(st, 2, meta->reference_date);
		rc = dh__sq_run(db, st, err, "remplacement de la source de référence");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == DH_OK)
		rc = dh__sq_prepare(db, "INSERT INTO reference_source(name, reference_date, layout, file_name, sha256, rows,"
				 " imported_at) VALUES (?, ?, ?, ?, '', 0, ?)", &st, err);
	if (rc == DH_OK) {
		char now[21];
		dh_store_now_utc(now, sizeof(now));
		dh__sq_bind_text(st, 1, meta->name);
		dh__sq_bind_text(st, 2, meta->reference_date);
		dh__sq_bind_text(st, 3, meta->layout);
		dh__sq_bind_text(st, 4, meta->file_name);
		dh__sq_bind_text(st, 5, now);
		rc = dh__sq_run(db, st, err, "enregistrement de la source de référence");
		sqlite3_finalize(st);
		rs->source_id = sqlite3_last_insert_rowid(db);
	}
	if (rc == DH_OK)
		rc = dh__sq_prepare(db, "INSERT INTO reference_dwelling(source_id, commune_code" RPLS_COLS ") VALUES (?, ?"
				 DH_RPLS_FIELDS(COL_PARAM) ")", &rs->insert, err);
	if (rc != DH_OK) {
		dh__sq_ref_abort(rs);
		return rc;
	}
	*session = rs;
	return DH_OK;
}

int dh__sq_ref_row(void *session, const dh_rpls_row *row, const char *commune_code, dh_error *err)
{
	sq_ref_session *rs = session;
	sqlite3_stmt *st = rs->insert;
	sqlite3_bind_int64(st, 1, rs->source_id);
	if (commune_code)
		dh__sq_bind_text(st, 2, commune_code);
	else
		sqlite3_bind_null(st, 2);
	if (dh__sq_bind_fields(rs->kind, rs->dates, st, 3, row) != 0)
		return dh_error_set(err, DH_INVAL, "ligne %llu : date invalide", (unsigned long long)row->line);
	return dh__sq_run(rs->store->db, st, err, "enregistrement d'une ligne de la source de référence");
}

int dh__sq_ref_end(void *session, const dh_reference_source *final, dh_error *err)
{
	sq_ref_session *rs = session;
	sqlite3 *db = rs->store->db;
	sqlite3_stmt *st = NULL;
	int rc = dh__sq_prepare(db, "UPDATE reference_source SET rows = ?, sha256 = ?, file_name = ?, layout = ? WHERE id = ?",
			 &st, err);
	if (rc == DH_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)final->rows);
		dh__sq_bind_text(st, 2, final->sha256);
		dh__sq_bind_text(st, 3, final->file_name);
		dh__sq_bind_text(st, 4, final->layout);
		sqlite3_bind_int64(st, 5, rs->source_id);
		rc = dh__sq_run(db, st, err, "enregistrement de la source de référence");
		sqlite3_finalize(st);
	}
	if (rc == DH_OK)
		rc = dh__sq_exec(db, "COMMIT", err);
	dh__sq_ref_abort(rs); /* committed: frees only */
	return rc;
}

int dh__sq_ref_list(void *state, dh_reference_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	int exists = 0;
	int rc = dh__sq_table_exists(s->db, "reference_source", &exists, err);
	if (rc != DH_OK || !exists)
		return rc;
	sqlite3_stmt *st;
	rc = dh__sq_prepare(s->db, "SELECT name, reference_date, layout, file_name, sha256, rows, imported_at"
			    " FROM reference_source ORDER BY name, reference_date", &st, err);
	if (rc != DH_OK)
		return rc;
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		dh_reference_source src;
		memset(&src, 0, sizeof(src));
		dh__sq_copy_col(src.name, sizeof(src.name), st, 0);
		dh__sq_copy_col(src.reference_date, sizeof(src.reference_date), st, 1);
		dh__sq_copy_col(src.layout, sizeof(src.layout), st, 2);
		dh__sq_copy_col(src.file_name, sizeof(src.file_name), st, 3);
		dh__sq_copy_col(src.sha256, sizeof(src.sha256), st, 4);
		src.rows = (uint64_t)sqlite3_column_int64(st, 5);
		dh__sq_copy_col(src.imported_at, sizeof(src.imported_at), st, 6);
		rc = cb(ctx, &src);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = dh__sq_fail(s->db, err, "liste des sources de référence");
	sqlite3_finalize(st);
	return rc;
}

int dh__sq_ref_scan(void *state, uint64_t fields, dh_reference_row_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	int exists = 0;
	int rc = dh__sq_table_exists(db, "reference_dwelling", &exists, err);
	if (rc != DH_OK || !exists)
		return rc;
	if (fields == 0)
		fields = ~(uint64_t)0;
	char sql[2048];
	int f_of_col[DH_RPLS_NALL];
	int ncols = 0;
	if (scan_sql(sql, sizeof(sql), "SELECT s.name, s.reference_date, d.commune_code",
		     " FROM reference_dwelling d JOIN reference_source s ON s.id = d.source_id ORDER BY d.source_id",
		     fields, 0, f_of_col, &ncols) != 0)
		return dh_error_set(err, DH_STORE, "requête de parcours trop longue");
	sqlite3_stmt *st = NULL;
	rc = dh__sq_prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	char nums[DH_RPLS_NALL][40];
	char name[64], date[11];
	dh_rpls_row row;
	uint64_t rank = 0;
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = decode_row(st, 3, f_of_col, ncols, &row, ++rank, nums, err);
		if (rc != DH_OK)
			break;
		dh__sq_copy_col(name, sizeof(name), st, 0);
		dh__sq_copy_col(date, sizeof(date), st, 1);
		const unsigned char *commune = sqlite3_column_text(st, 2);
		dh_reference_row r = { name, (int32_t)dh__sq_day_number(date),
				       commune ? (const char *)commune : NULL, &row };
		rc = cb(ctx, &r);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = dh__sq_fail(db, err, "parcours des sources de référence");
	sqlite3_finalize(st);
	return rc;
}
