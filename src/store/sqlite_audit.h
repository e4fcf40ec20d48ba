/*
 * sqlite_audit.h - internal to the SQLite backend: the audit chain and pseudonym tables
 * (sqlite_audit.c), hooked into sqlite.c's ops table and migrations[].
 */
#ifndef DH_STORE_SQLITE_AUDIT_H
#define DH_STORE_SQLITE_AUDIT_H

#include "store/backend.h"

#include <sqlite3.h>

/* The connection of a SQLite backend state (defined in sqlite.c). */
sqlite3 *dh_sqlite_db(void *state);

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

int dh_sq_audit_append(void *state, dh_audit_entry *e, void (*seal)(dh_audit_entry *e), dh_error *err);
int dh_sq_audit_scan(void *state, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
int dh_sq_pseudo_rehash(void *state, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
int dh_sq_pseudo_version(void *state, int64_t *version, dh_error *err);
int dh_sq_pseudo_register(void *state, const char *table, const char *column, dh_error *err);

#endif
