/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * internal.h - the store subsystem's internal interface: the ops table every backend
 * implements, the identity part of it, and the SQLite backend's audit tables. Governance
 * modules never include this header: they use the public dispatchers of
 * datahabitat/store_governance.h (docs/governance.md).
 */
#ifndef DH_STORE_INTERNAL_H
#define DH_STORE_INTERNAL_H

/*
 * backend.h - the ops table every storage backend implements (SQLite today, PostgreSQL
 * later), in the manner of SQLite's VFS or curl's TLS backends. Internal to the library:
 * callers use store.h, whose functions check their arguments and then dispatch here, so a
 * backend receives only validated input (SIREN checked, dates well formed, non-NULL).
 */

#include "datahabitat/store_governance.h"

typedef struct dh_store_ops {
	const char *name; /* "sqlite" */
	/* Open `location` (scheme already stripped); *state receives the backend's handle. */
	int (*open)(void **state, const char *location, unsigned flags, int *created, dh_error *err);
	void (*close)(void *state);
	int (*info)(void *state, dh_store_info *info, dh_error *err);
	int (*caller_owns)(void *state, dh_error *err); /* see dh_store_caller_owns() */
	/* Reference geography and QPV list (dh_store_areas_replace): begin opens the write
	 * transaction and empties the scope's tables; put stores one row that store.c checked
	 * (kind within the scope, required fields present); end commits (commit != 0) or rolls
	 * back, and frees the session in all cases. */
	int (*areas_begin)(void *state, dh_store_area_scope scope, void **session, dh_error *err);
	int (*areas_put)(void *session, const dh_store_area *area, dh_error *err);
	int (*areas_end)(void *session, int commit, dh_error *err);
	int (*org_add)(void *state, dh_org *org, dh_error *err);
	int (*org_get)(void *state, const char *siren, dh_org *out, dh_error *err);
	int (*org_list)(void *state, dh_org_cb cb, void *ctx, dh_error *err);
	int (*qpv_list)(void *state, dh_qpv_row_cb cb, void *ctx, dh_error *err);
	/* Reference sources: same session protocol as the deliveries' import. */
	int (*ref_begin)(void *state, const dh_reference_source *meta, void **session, dh_error *err);
	int (*ref_row)(void *session, const dh_rpls_row *row, const char *commune_code, dh_error *err);
	int (*ref_end)(void *session, const dh_reference_source *final, dh_error *err);
	void (*ref_abort)(void *session);
	int (*ref_list)(void *state, dh_reference_cb cb, void *ctx, dh_error *err);
	int (*ref_scan)(void *state, uint64_t fields, dh_reference_row_cb cb, void *ctx, dh_error *err);
	int (*delivery_find)(void *state, const char *siren, const char *sha256, dh_delivery *out,
			     dh_error *err);
	int (*delivery_list)(void *state, const char *siren, dh_delivery_cb cb, void *ctx, dh_error *err);
	int (*delivery_report)(void *state, int64_t id, char **json_out, dh_error *err);
	/* Import session: *session is the backend's; end frees it in all cases, abort too. */
	int (*import_begin)(void *state, const dh_delivery *meta, void **session, dh_error *err);
	int (*import_row)(void *session, const dh_rpls_row *row, const char *commune_code, dh_error *err);
	int (*import_end)(void *session, dh_delivery *final, const char *report_json, dh_error *err);
	void (*import_abort)(void *session);
	int (*stock_read)(void *state, const char *siren, const char *date, dh_delivery *delivery_out,
			  dh_stock_cb cb, void *ctx, dh_error *err);
	int (*versions_scan)(void *state, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err);
	/* Audit chain (sqlite_audit.c): append runs in one write transaction, reads the last
	 * entry, fills e->seq and e->prev_hash, calls seal (which sets e->hash), inserts. */
	int (*audit_append)(void *state, dh_audit_entry *e, dh_audit_seal_fn seal, void *seal_ctx, dh_error *err);
	int (*audit_scan)(void *state, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
	int (*audit_last)(void *state, dh_audit_entry *out, dh_error *err);
	/* Pseudonyms: in one transaction, replace every value of every registered column by
	 * map(value), record new_version, call before_commit (which may fail and roll back), commit. */
	int (*pseudo_rehash)(void *state, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			     int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
	int (*pseudo_version)(void *state, int64_t *version, dh_error *err);
	int (*pseudo_register)(void *state, const char *table, const char *column, dh_error *err);
	/* Users, tokens, agreements (engineer A, identity_backend.h, sqlite_identity.c). */
	const struct dh_identity_ops *identity;
} dh_store_ops;

extern const dh_store_ops dh__store_sqlite_ops;

/* The governance dispatchers (audit, pseudonyms, identities) are public:
 * datahabitat/store_governance.h. Shared helpers for backends (store.c): */

/*
 * Convert a validated DATE value (yyyymmdd, dd = 0 for mm/aaaa) into the stored text form
 * "YYYY-MM" or "YYYY-MM-DD" (buf of at least 11 bytes), and back: the stored text into the
 * transmission text "mm/aaaa" or "jj/mm/aaaa" and the value. Return 0 on success, -1 if the
 * input is not of that shape.
 */
int dh__store_date_to_iso(int64_t value, char *buf, size_t size);
int dh__store_date_from_iso(const char *iso, size_t len, char *text, size_t size, int64_t *value);

/*
 * The part of a storage backend's ops table that keeps users, API tokens and sharing
 * agreements (identity.h), reached through store_governance.h's dispatchers: identity.c
 * checks every argument (login syntax, dates, SIREN, hashes) and logs, then calls these.
 */

typedef struct dh_identity_ops {
	/* Insert a user with its password hash (NUL-terminated). DH_EXISTS if the login is taken. */
	int (*user_insert)(void *state, dh_user *user, const char *pwhash, dh_error *err);
	/* Read a user and (when pwhash is not NULL) its password hash. DH_NOTFOUND if none. */
	int (*user_get)(void *state, const char *login, dh_user *out, char pwhash[DH_PWHASH_SIZE],
			dh_error *err);
	int (*user_list)(void *state, dh_user_cb cb, void *ctx, dh_error *err);
	int (*user_disable)(void *state, const char *login, dh_error *err);
	/* Insert a token record with the 32-byte hash of its clear text. */
	int (*token_insert)(void *state, dh_token *token, const unsigned char hash[32], dh_error *err);
	/* Find the token whose hash is `hash`. DH_NOTFOUND if none. */
	int (*token_find)(void *state, const unsigned char hash[32], dh_token *out, dh_error *err);
	int (*token_revoke)(void *state, int64_t id, dh_error *err);
	int (*token_list)(void *state, const char *login, dh_token_cb cb, void *ctx, dh_error *err);
	int (*agreement_insert)(void *state, dh_agreement *a, dh_error *err);
	int (*agreement_list)(void *state, dh_agreement_cb cb, void *ctx, dh_error *err);
	/* Set the end date of agreement id. DH_NOTFOUND if none. */
	int (*agreement_set_end)(void *state, int64_t id, const char *end, dh_error *err);
} dh_identity_ops;

extern const dh_identity_ops dh__sqlite_identity_ops;

/*
 * Migration adding users, tokens and agreements (sqlite_identity.c), appended to sqlite.c's
 * migrations[].
 */
#define DH_SQLITE_IDENTITY_MIGRATION                                                               \
	"CREATE TABLE app_user("                                                                   \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" login TEXT NOT NULL UNIQUE,"                                                             \
	" role TEXT NOT NULL CHECK (role IN ('member','analyst','partner','public','admin','dpo')),"\
	" org_siren TEXT NOT NULL,"                                                                \
	" territory_level TEXT NOT NULL,"                                                          \
	" territory_code TEXT NOT NULL,"                                                           \
	" pwhash TEXT NOT NULL,"                                                                   \
	" disabled INTEGER NOT NULL DEFAULT 0,"                                                    \
	" created_at TEXT NOT NULL);"                                                              \
	"CREATE TABLE api_token("                                                                  \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" user_id INTEGER NOT NULL REFERENCES app_user(id),"                                       \
	" hash BLOB NOT NULL UNIQUE,"                                                              \
	" scope TEXT NOT NULL,"                                                                    \
	" created_at TEXT NOT NULL,"                                                               \
	" expires_at TEXT NOT NULL,"                                                               \
	" revoked INTEGER NOT NULL DEFAULT 0);"                                                    \
	"CREATE TABLE agreement("                                                                  \
	" id INTEGER PRIMARY KEY,"                                                                 \
	" audience TEXT NOT NULL CHECK (audience IN ('public','members','partner')),"              \
	" partner TEXT NOT NULL,"                                                                  \
	" territory_level TEXT NOT NULL,"                                                          \
	" territory_code TEXT NOT NULL,"                                                           \
	" indicators TEXT NOT NULL,"                                                               \
	" purpose TEXT NOT NULL CHECK (length(purpose) > 0),"                                      \
	" legal_basis TEXT NOT NULL CHECK (length(legal_basis) > 0),"                              \
	" start_date TEXT NOT NULL,"                                                               \
	" end_date TEXT NOT NULL,"                                                                 \
	" created_at TEXT NOT NULL);"

/*
 * Partner audiences bound to a level as well as a code (issue 10, point 7): partner_level
 * beside partner. An agreement recorded with a bare code gets the level of its own scope
 * when the scope has that code, else the level the code's shape names (9 characters: EPCI,
 * 5: commune), else département (two digits were meant for a département: a région
 * partner needs an agreement naming the région).
 */
#define DH_SQLITE_PARTNER_LEVEL_MIGRATION                                                          \
	"ALTER TABLE agreement ADD COLUMN partner_level TEXT NOT NULL DEFAULT '';"                  \
	"UPDATE agreement SET partner_level = CASE"                                                \
	" WHEN territory_code = partner"                                                           \
	"  AND territory_level IN ('commune', 'epci', 'departement', 'region') THEN territory_level"\
	" WHEN length(partner) = 9 THEN 'epci'"                                                    \
	" WHEN length(partner) = 5 THEN 'commune'"                                                 \
	" ELSE 'departement' END"                                                                  \
	" WHERE audience = 'partner' AND partner <> '';"

/*
 * sqlite_audit.h - internal to the SQLite backend: the audit chain and pseudonym tables
 * (sqlite_audit.c), hooked into sqlite.c's ops table and migrations[].
 */


#include <sqlite3.h>

/* The connection of a SQLite backend state (defined in sqlite.c). */
sqlite3 *dh__sqlite_db(void *state);

/*
 * Migration adding the audit chain (append-only table guarded by triggers), the registry of
 * pseudonymised columns and the current pseudonymisation key version. Appended to
 * sqlite.c's migrations[].
 */
#define DH_SQLITE_AUDIT_MIGRATION                                                                  \
	"CREATE TABLE audit("                                                                      \
	" seq INTEGER PRIMARY KEY,"                                                                \
	" time TEXT NOT NULL,"                                                                     \
	" actor TEXT NOT NULL,"                                                                    \
	" action TEXT NOT NULL,"                                                                   \
	" object TEXT NOT NULL,"                                                                   \
	" agreement INTEGER NOT NULL,"                                                             \
	" purpose TEXT NOT NULL,"                                                                  \
	" result TEXT NOT NULL,"                                                                   \
	" prev_hash TEXT NOT NULL,"                                                                \
	" hash TEXT NOT NULL);"                                                                    \
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"                                    \
	" BEGIN SELECT RAISE(ABORT, 'audit: append-only'); END;"                                   \
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"                                    \
	" BEGIN SELECT RAISE(ABORT, 'audit: append-only'); END;"                                   \
	"CREATE TABLE pseudo_column("                                                              \
	" table_name TEXT NOT NULL,"                                                               \
	" column_name TEXT NOT NULL,"                                                              \
	" PRIMARY KEY (table_name, column_name));"                                                 \
	"CREATE TABLE pseudo_key(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"

int dh__sq_audit_append(void *state, dh_audit_entry *e, dh_audit_seal_fn seal, void *seal_ctx, dh_error *err);
int dh__sq_audit_scan(void *state, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
int dh__sq_audit_last(void *state, dh_audit_entry *out, dh_error *err);
int dh__sq_pseudo_rehash(void *state, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
int dh__sq_pseudo_version(void *state, int64_t *version, dh_error *err);
int dh__sq_pseudo_register(void *state, const char *table, const char *column, dh_error *err);


/* ---- The SQLite backend's own parts: sqlite.c (open, migrations, organisations,
 * deliveries, helpers), sqlite_import.c (dwelling-version import sessions) and
 * sqlite_stock.c (stock reading, version scans, reference sources). ---- */

#define OPEN_END "9999-12-31"
#define OPEN_END_DAY 99991231 /* valid_to of a version still valid */
#define READ_CACHE_KIB "-262144"    /* page cache of a connection: 256 MiB at most */
#define IMPORT_CACHE_KIB "-2097152" /* during an import: 2 GiB at most (a national delivery) */

#define SQLTYPE_DH_KIND_TEXT "TEXT"
#define SQLTYPE_DH_KIND_CODE "TEXT"
#define SQLTYPE_DH_KIND_INT "INTEGER"
#define SQLTYPE_DH_KIND_YEAR "INTEGER"
#define SQLTYPE_DH_KIND_DATE "TEXT"
#define SQLTYPE_DH_KIND_NUMBER "REAL"

#define COL_DECL(id, kind, maxlen, required, label) ", " #id " " SQLTYPE_##kind
#define COL_NAME(id, kind, maxlen, required, label) ", " #id
#define COL_PARAM(id, kind, maxlen, required, label) ", ?"

/* Columns of a dwelling version before the RPLS fields. */
#define VERSION_COLS "organisation_id, valid_from, valid_to, content_hash, delivery_id, commune_code"
#define N_VERSION_COLS 6
#define RPLS_COLS DH_RPLS_FIELDS(COL_NAME)

#define SQL_CREATE_VERSION_INDEX "CREATE UNIQUE INDEX dwelling_version ON dwelling(organisation_id, IDENT_INT, valid_from)"
/* Fields beyond DH_RPLS_FIELDS kept in the dwelling table (migration 6), after them. */
#define EXTRA_COLS ", OLDLOGT"
static const char SQL_INSERT_VERSION[] =
	"INSERT INTO dwelling(" VERSION_COLS RPLS_COLS EXTRA_COLS ") VALUES (?, ?, ?, ?, ?, ?"
	DH_RPLS_FIELDS(COL_PARAM) ", ?)";
/* The part of a version valid at ?3 that the new delivery does not keep, copied to start at
 * the next delivery (?4) when it was still valid then: history insertion in the past. */
static const char SQL_COPY_TO_NEXT[] =
	"INSERT INTO dwelling(" VERSION_COLS RPLS_COLS EXTRA_COLS ")"
	" SELECT organisation_id, ?4, valid_to, content_hash, delivery_id, commune_code" RPLS_COLS EXTRA_COLS
	" FROM dwelling WHERE organisation_id = ?1 AND valid_from <= ?3 AND valid_to > ?4"
	" AND id NOT IN (SELECT id FROM temp.kept)";
static const char SQL_CLOSE_PREVIOUS[] =
	"UPDATE dwelling SET valid_to = ?2 WHERE organisation_id = ?1 AND valid_from <= ?3"
	" AND valid_to > ?3 AND id NOT IN (SELECT id FROM temp.kept)";
static const char SQL_STOCK[] =
	"SELECT commune_code" RPLS_COLS " FROM dwelling WHERE organisation_id = ?1"
	" AND valid_from <= ?2 AND valid_to > ?2 ORDER BY IDENT_INT";

static const char SQL_DELIVERY_COLS[] =
	"SELECT d.id, o.siren, d.layout, d.reference_date, d.received_at, d.file_name, d.file_size,"
	" d.sha256, d.rows_read, d.rows_accepted, d.rows_rejected, d.status"
	" FROM delivery d JOIN organisation o ON o.id = d.organisation_id";

/* ---- Handles ---------------------------------------------------------------------------- */

typedef struct sq_store {
	sqlite3 *db;
	int in_session;
} sq_store;

typedef struct sq_session {
	sq_store *store;
	int64_t org_id;
	int64_t delivery_id;
	char ref_new[DH_DATE_SIZE];   /* this delivery's reference date */
	char ref_prev[DH_DATE_SIZE];  /* latest accepted delivery before it, "" if none */
	char ref_next[DH_DATE_SIZE];  /* earliest accepted delivery after it, "" if none */
	int64_t day_new, day_prev, day_next; /* the same as yyyymmdd integers, 0 if none */
	int fast;           /* no history around: every row is a new version */
	int rebuild_index;  /* dwelling was empty: its index is dropped and built at the end */
	sqlite3_stmt *insert;      /* SQL_INSERT_VERSION */
	sqlite3_stmt *find_prev;   /* version valid at ref_prev */
	sqlite3_stmt *find_next;   /* version starting at ref_next */
	sqlite3_stmt *extend_next; /* move its start back to ref_new */
	sqlite3_stmt *keep;        /* remember a version kept as is */
	sqlite3_stmt *delivered;   /* remember an IDENT_INT of this delivery */
	char dates[DH_RPLS_NFIELDS][DH_DATE_SIZE]; /* DATE fields converted to ISO for binding */
	dh_field_kind kind[DH_RPLS_NFIELDS]; /* kind of each RPLS field, looked up once */
	unsigned char hashbuf[1 << 15];
} sq_session;
int dh__sq_fail(sqlite3 *db, dh_error *err, const char *what);
int dh__sq_exec(sqlite3 *db, const char *sql, dh_error *err);
int dh__sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, dh_error *err);
int dh__sq_run(sqlite3 *db, sqlite3_stmt *st, dh_error *err, const char *what);
int dh__sq_pragma_int(sqlite3 *db, const char *sql, int64_t *out, dh_error *err);
void dh__sq_copy_col(char *dst, size_t size, sqlite3_stmt *st, int col);
int dh__sq_table_exists(sqlite3 *db, const char *name, int *exists, dh_error *err);
void dh__sq_read_delivery(sqlite3_stmt *st, dh_delivery *d);
int dh__sq_org_get(void *state, const char *siren, dh_org *out, dh_error *err);

static inline void dh__sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* sqlite_import.c */
int64_t dh__sq_day_number(const char *date);
void dh__sq_rollback_open(sqlite3 *db);
int dh__sq_session_open(sq_store *s, void **out, size_t size, size_t kind_at, dh_error *err);
int dh__sq_bind_fields(const dh_field_kind *kind, char (*dates)[11], sqlite3_stmt *st, int first,
		       const dh_rpls_row *row);
int dh__sq_import_begin(void *state, const dh_delivery *meta, void **session, dh_error *err);
int dh__sq_import_row(void *session, const dh_rpls_row *row, const char *commune, dh_error *err);
int dh__sq_import_end(void *session, dh_delivery *final, const char *report, dh_error *err);
void dh__sq_import_abort(void *session);

/* sqlite_stock.c */
int dh__sq_stock_read(void *state, const char *siren, const char *date, dh_delivery *delivery_out,
		      dh_stock_cb cb, void *ctx, dh_error *err);
int dh__sq_versions_scan(void *state, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err);
int dh__sq_ref_begin(void *state, const dh_reference_source *meta, void **session, dh_error *err);
int dh__sq_ref_row(void *session, const dh_rpls_row *row, const char *commune_code, dh_error *err);
int dh__sq_ref_end(void *session, const dh_reference_source *final, dh_error *err);
void dh__sq_ref_abort(void *session);
int dh__sq_ref_list(void *state, dh_reference_cb cb, void *ctx, dh_error *err);
int dh__sq_ref_scan(void *state, uint64_t fields, dh_reference_row_cb cb, void *ctx, dh_error *err);

#endif
