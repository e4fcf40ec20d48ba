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
	int (*load_geo)(void *state, const dh_geo *geo, dh_error *err);
	int (*org_add)(void *state, dh_org *org, dh_error *err);
	int (*org_get)(void *state, const char *siren, dh_org *out, dh_error *err);
	int (*org_list)(void *state, dh_org_cb cb, void *ctx, dh_error *err);
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

#endif
