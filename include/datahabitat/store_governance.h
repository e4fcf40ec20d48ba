/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * store_governance.h - the part of the store's public interface that the governance
 * modules (audit chain, pseudonymisation, users, tokens, agreements) use, and that every
 * storage backend must provide (src/store/internal.h, dh_store_ops). Governance reaches the
 * store only through these dispatchers (store.c), never through the backend's internals.
 *
 * These functions store and read records exactly as given: they do not check logins,
 * hashes or agreements, and they do not log to the audit chain. Applications call the
 * checked and audited functions of identity.h, audit.h and pseudo.h instead.
 *
 * For backend authors (docs/governance.md): audit_append must read the last entry and
 * insert the new one in one write transaction (two writers must never extend the same
 * entry), or in a savepoint when the connection already holds a transaction; audit rows
 * must be append-only as far as the backend can enforce it; pseudo_rehash must update
 * every registered column, record the version and call before_commit in one transaction.
 */
#ifndef DATAHABITAT_STORE_GOVERNANCE_H
#define DATAHABITAT_STORE_GOVERNANCE_H

#include "datahabitat/audit.h"
#include "datahabitat/identity.h"
#include "datahabitat/store.h"

/* Size of a stored password hash, NUL included (>= libsodium's crypto_pwhash_STRBYTES). */
#define DH_PWHASH_SIZE 128

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void dh_store_now_utc(char *buf, size_t size);

/*
 * The file the database lives in (the location without its "sqlite:" scheme), for the key
 * and witness files kept next to it; NULL for a backend that is not a local file.
 */
const char *dh_store_file_path(dh_store *store);

/* ---- Audit chain ---- */

/*
 * Fill in an entry about to be appended: e->seq and e->prev_hash are set by the store from
 * the current last entry; seal computes e->hash (and may refuse: its code aborts the append).
 */
typedef int (*dh_audit_seal_fn)(void *ctx, dh_audit_entry *e, dh_error *err);

/* Append e at the end of the chain (see the backend rule above). Returns DH_OK, DH_STORE,
 * or seal's code. */
int dh_store_audit_append(dh_store *store, dh_audit_entry *e, dh_audit_seal_fn seal, void *seal_ctx,
			  dh_error *err);
/* Entries with seq >= from in seq order (cb may stop by returning != DH_OK). */
int dh_store_audit_scan(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
/* The last entry into *out; DH_NOTFOUND when the chain is empty. */
int dh_store_audit_last(dh_store *store, dh_audit_entry *out, dh_error *err);

/* ---- Pseudonyms ---- */

/* Map one stored pseudonym (hex text) to its new value (out: out_size bytes, NUL-terminated). */
typedef int (*dh_pseudo_map_fn)(void *ctx, const char *old_value, char *out, size_t out_size, dh_error *err);

/* In one transaction: replace every value of every registered column by map(value), record
 * new_version, call before_commit (which may fail and roll back), commit. */
int dh_store_pseudo_rehash(dh_store *store, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			   int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
/* The key version the stored pseudonyms were hashed with (1 if never rotated). */
int dh_store_pseudo_version(dh_store *store, int64_t *version, dh_error *err);
/* Declare a pseudonymised column (SQL identifiers). */
int dh_store_pseudo_register(dh_store *store, const char *table, const char *column, dh_error *err);

/* ---- Users, tokens, agreements (records only: identity.h checks and logs) ---- */

/* Insert a user with its password hash (NUL-terminated). DH_EXISTS if the login is taken. */
int dh_store_user_insert(dh_store *store, dh_user *user, const char *pwhash, dh_error *err);
/* Read a user and (when pwhash is not NULL) its password hash. DH_NOTFOUND if none. */
int dh_store_user_get(dh_store *store, const char *login, dh_user *out, char pwhash[DH_PWHASH_SIZE],
		      dh_error *err);
int dh_store_user_list(dh_store *store, dh_user_cb cb, void *ctx, dh_error *err);
int dh_store_user_disable(dh_store *store, const char *login, dh_error *err);
/* Insert a token record with the 32-byte hash of its clear text. */
int dh_store_token_insert(dh_store *store, dh_token *token, const unsigned char hash[32], dh_error *err);
/* Find the token whose hash is `hash`. DH_NOTFOUND if none. */
int dh_store_token_find(dh_store *store, const unsigned char hash[32], dh_token *out, dh_error *err);
int dh_store_token_revoke(dh_store *store, int64_t id, dh_error *err);
int dh_store_token_list(dh_store *store, const char *login, dh_token_cb cb, void *ctx, dh_error *err);
int dh_store_agreement_insert(dh_store *store, dh_agreement *a, dh_error *err);
int dh_store_agreement_list(dh_store *store, dh_agreement_cb cb, void *ctx, dh_error *err);
/* Set the end date of agreement id. DH_NOTFOUND if none. */
int dh_store_agreement_set_end(dh_store *store, int64_t id, const char *end, dh_error *err);

#endif
