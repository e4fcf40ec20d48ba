/*
 * identity_backend.h - the part of a storage backend's ops table that keeps users, API
 * tokens and sharing agreements (identity.h). Internal: identity.c checks every argument
 * (login syntax, dates, SIREN, hashes) and logs to the audit chain, then calls these.
 */
#ifndef DH_STORE_IDENTITY_BACKEND_H
#define DH_STORE_IDENTITY_BACKEND_H

#include "datahabitat/identity.h"

#define DH_PWHASH_SIZE 128 /* >= crypto_pwhash_STRBYTES */

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

/* The identity ops of a store and its backend state (store.c); NULL if the backend has none. */
const dh_identity_ops *dh_store_identity(dh_store *store, void **state);

extern const dh_identity_ops dh_sqlite_identity_ops;

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

#endif
