/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * pseudo.h - pseudonymisation of identifiers of people (demand numbers, tenant ids) by a
 * keyed hash (BLAKE2b, libsodium crypto_generichash, 32-byte key), and rotation of the key.
 *
 * The key lives in a file next to the database ("<db>.key", mode 0600), never inside the
 * database, never in the repository, never logged. A key file readable by group or others
 * is refused. The file holds the chain of key versions: rotation does not need the
 * original identifiers, it re-hashes each stored pseudonym, new = H(k_new, old); so the
 * pseudonym of an identifier at version n is H(k_n, ... H(k_2, H(k_1, normalised id))),
 * and hashing a new identifier consistently needs every version (docs/gdpr.md says why
 * and what it protects against).
 *
 * Thread safety: functions on distinct dh_pseudo_key values are independent; a key is
 * read-only once loaded. Rotation must not run concurrently with itself.
 */
#ifndef DATAHABITAT_PSEUDO_H
#define DATAHABITAT_PSEUDO_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"
#include "datahabitat/store.h"

#define DH_PSEUDO_KEY_BYTES 32      /* one key version */
#define DH_PSEUDO_MAX_VERSIONS 64   /* rotations a key file can hold */
#define DH_PSEUDO_HEX_SIZE 65       /* a pseudonym: 64 lowercase hex digits and NUL */

typedef struct dh_pseudo_key {
	int count;                  /* key versions held (1..DH_PSEUDO_MAX_VERSIONS) */
	int64_t version;            /* current version (the last one) */
	unsigned char keys[DH_PSEUDO_MAX_VERSIONS][DH_PSEUDO_KEY_BYTES]; /* oldest first */
} dh_pseudo_key;

/*
 * The key file path for a database location ("sqlite:PATH" or PATH): "PATH.key" into buf.
 * Returns DH_OK, DH_INVAL (not a file location), DH_TOOBIG (buf too small).
 */
int dh_pseudo_key_path(const char *db_location, char *buf, size_t size, dh_error *err);

/*
 * Create a new key file (version 1, 32 random bytes) at key_path, with O_EXCL and mode
 * 0600, synced to disk. Returns DH_OK, DH_EXISTS (a file is already there: it is left
 * alone), DH_IO.
 */
int dh_pseudo_key_create(const char *key_path, dh_error *err);

/*
 * Load the key file. Returns DH_OK; DH_NOTFOUND; DH_DENIED (readable or writable by group
 * or others, or not a regular file); DH_CORRUPT (malformed); DH_IO. *key is wiped on
 * failure; release it with dh_pseudo_key_release().
 */
int dh_pseudo_key_load(const char *key_path, dh_pseudo_key *key, dh_error *err);

/*
 * Load the key of `store`: finishes or discards an interrupted rotation (a "<key>.new"
 * file left by a crash, kept if the database committed it), then checks that the key's
 * version is the one the database was hashed with. Returns dh_pseudo_key_load's codes and
 * DH_CONFLICT (key version differs from the database's: wrong key file), DH_STORE.
 */
int dh_pseudo_key_open(dh_store *store, const char *key_path, dh_pseudo_key *key, dh_error *err);

/* Wipe the key material. NULL is a no-op. */
void dh_pseudo_key_release(dh_pseudo_key *key);

/*
 * Pseudonym of an identifier (len bytes, UTF-8): normalised first (surrounding spaces and
 * tabs removed, ASCII letters upper-cased), then hashed through every key version; out
 * receives 64 lowercase hex digits. Returns DH_OK, DH_INVAL (empty after normalisation,
 * or NULL argument).
 */
int dh_pseudo_hash(const dh_pseudo_key *key, const char *identifier, size_t len, char out[DH_PSEUDO_HEX_SIZE],
		   dh_error *err);

/*
 * Declare that column `column` of table `table` holds pseudonyms, so that rotation re-hashes
 * it. Names are SQL identifiers ([A-Za-z_][A-Za-z0-9_]*). Returns DH_OK (also if already
 * declared), DH_INVAL, DH_STORE.
 */
int dh_pseudo_column_register(dh_store *store, const char *table, const char *column, dh_error *err);

/*
 * Rotate the key: a new random key version is written to "<key_path>.new" (0600, synced);
 * in one transaction every value of every registered column becomes H(k_new, value), the
 * database records the new version and an audit entry ("key-rotate", by `actor`) is
 * appended; after the commit the new file replaces the old one atomically (rename, then
 * the directory is synced). Until the commit the old key file stays in place; on any
 * failure before it nothing changes. *new_version (may be NULL) receives the version.
 * Returns DH_OK; dh_pseudo_key_open's codes; DH_CORRUPT (a stored value is not a
 * pseudonym); DH_TOOBIG (DH_PSEUDO_MAX_VERSIONS reached); DH_IO; DH_STORE.
 */
int dh_pseudo_rotate(dh_store *store, const char *key_path, const dh_actor *actor, int64_t *new_version,
		     dh_error *err);

#endif
