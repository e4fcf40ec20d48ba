/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * pseudo.c - keyed pseudonymisation (pseudo.h): key files (creation with O_EXCL and mode
 * 0600, refusal of readable-by-others files, versioned key chain), the keyed BLAKE2b hash
 * of normalised identifiers, and key rotation with re-hashing of every registered column.
 *
 * Key file format (text, so that an operator can check it has not been truncated):
 *   datahabitat-pseudo-key 1
 *   1 <64 hex digits>
 *   2 <64 hex digits>       one line per key version, oldest first
 */
#include "datahabitat/pseudo.h"

#include "datahabitat/audit.h"
#include "datahabitat/store_governance.h"
#include "governance/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAGIC "datahabitat-pseudo-key 1\n"
#define KEY_FILE_MAX (sizeof(KEY_MAGIC) + DH_PSEUDO_MAX_VERSIONS * 96)

int dh_pseudo_key_path(const char *db_location, char *buf, size_t size, dh_error *err)
{
	if (!db_location || !buf)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	const char *path = db_location;
	if (strncmp(path, "sqlite:", 7) == 0) {
		path += 7;
		if (strncmp(path, "//", 2) == 0)
			path += 2;
	} else if (strstr(path, "://")) {
		return dh_error_set(err, DH_INVAL, "« %s » : la clé de pseudonymisation n'est gérée que pour une base fichier",
				    db_location);
	}
	if (!*path)
		return dh_error_set(err, DH_INVAL, "chemin de la base manquant");
	int n = snprintf(buf, size, "%s.key", path);
	if (n < 0 || (size_t)n >= size)
		return dh_error_set(err, DH_TOOBIG, "chemin de la clé trop long");
	return DH_OK;
}

void dh_pseudo_key_release(dh_pseudo_key *key)
{
	if (key)
		sodium_memzero(key, sizeof(*key));
}

/* Write the key chain to path: O_EXCL, 0600, fsync. */
static int write_key_file(const char *path, const dh_pseudo_key *key, dh_error *err)
{
	char buf[KEY_FILE_MAX];
	size_t len = strlen(KEY_MAGIC);
	memcpy(buf, KEY_MAGIC, len);
	int64_t first = key->version - key->count + 1;
	for (int i = 0; i < key->count; i++) {
		char hex[2 * DH_PSEUDO_KEY_BYTES + 1];
		sodium_bin2hex(hex, sizeof(hex), key->keys[i], DH_PSEUDO_KEY_BYTES);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%" PRId64 " %s\n", first + i, hex);
		sodium_memzero(hex, sizeof(hex));
	}
	int rc = dh__secret_file_write(path, buf, len, err);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int dh_pseudo_key_create(const char *key_path, dh_error *err)
{
	if (!key_path)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	dh_pseudo_key key;
	memset(&key, 0, sizeof(key));
	key.count = 1;
	key.version = 1;
	randombytes_buf(key.keys[0], DH_PSEUDO_KEY_BYTES);
	int rc = write_key_file(key_path, &key, err);
	dh_pseudo_key_release(&key);
	return rc;
}

int dh_pseudo_key_load(const char *key_path, dh_pseudo_key *key, dh_error *err)
{
	if (!key_path || !key)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	memset(key, 0, sizeof(*key));
	char buf[KEY_FILE_MAX + 2];
	size_t n;
	int rc = dh__secret_file_read(key_path, "clé de pseudonymisation", buf, sizeof(buf), &n, err);
	if (rc != DH_OK)
		return rc;
	if (n > KEY_FILE_MAX || n < strlen(KEY_MAGIC) || memcmp(buf, KEY_MAGIC, strlen(KEY_MAGIC)) != 0)
		goto corrupt;
	char *p = buf + strlen(KEY_MAGIC);
	while (*p) {
		char *end;
		if (key->count == DH_PSEUDO_MAX_VERSIONS)
			goto corrupt;
		long long v = strtoll(p, &end, 10);
		if (end == p || *end != ' ' || v < 1 || (key->count && v != key->version + 1))
			goto corrupt;
		p = end + 1;
		char *nl = strchr(p, '\n');
		size_t bin_len = 0;
		if (!nl || nl - p != 2 * DH_PSEUDO_KEY_BYTES ||
		    sodium_hex2bin(key->keys[key->count], DH_PSEUDO_KEY_BYTES, p, (size_t)(nl - p), NULL, &bin_len,
				   NULL) != 0 ||
		    bin_len != DH_PSEUDO_KEY_BYTES)
			goto corrupt;
		key->version = v;
		key->count++;
		p = nl + 1;
	}
	if (key->count == 0)
		goto corrupt;
	goto out;
corrupt:
	rc = dh_error_set(err, DH_CORRUPT, "clé « %s » mal formée", key_path);
out:
	sodium_memzero(buf, sizeof(buf));
	if (rc != DH_OK)
		dh_pseudo_key_release(key);
	return rc;
}

static void new_path(const char *key_path, char *buf, size_t size)
{
	snprintf(buf, size, "%s.new", key_path);
}

/* fsync the directory holding path, so that a rename is durable. */
static void sync_dir(const char *path)
{
	char dir[4096];
	dh_strlcpy(dir, sizeof(dir), path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		dh_strlcpy(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int dh_pseudo_key_open(dh_store *store, const char *key_path, dh_pseudo_key *key, dh_error *err)
{
	if (!store || !key_path || !key)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	int64_t db_version;
	int rc = dh_store_pseudo_version(store, &db_version, err);
	if (rc != DH_OK)
		return rc;
	/* An interrupted rotation: keep its key if the database committed it, else drop it. */
	char pending[4200];
	new_path(key_path, pending, sizeof(pending));
	dh_pseudo_key next;
	rc = dh_pseudo_key_load(pending, &next, err);
	if (rc == DH_OK) {
		int committed = next.version == db_version;
		dh_pseudo_key_release(&next);
		if (committed) {
			if (rename(pending, key_path) != 0)
				return dh_error_set(err, DH_IO, "clé « %s » : fin de rotation impossible : %s", key_path,
						    strerror(errno));
			sync_dir(key_path);
		} else {
			unlink(pending);
		}
	} else if (rc == DH_CORRUPT) {
		unlink(pending); /* a write cut short before its fsync: never committed */
	} else if (rc != DH_NOTFOUND) {
		return rc;
	}
	rc = dh_pseudo_key_load(key_path, key, err);
	if (rc != DH_OK)
		return rc;
	if (key->version != db_version) {
		dh_pseudo_key_release(key);
		return dh_error_set(err, DH_CONFLICT,
				    "clé « %s » en version %" PRId64 " alors que la base a été pseudonymisée en version %" PRId64,
				    key_path, key->version, db_version);
	}
	return DH_OK;
}

static void hash_step(const unsigned char k[DH_PSEUDO_KEY_BYTES], const unsigned char *in, size_t len,
		      char out[DH_PSEUDO_HEX_SIZE])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), in, len, k, DH_PSEUDO_KEY_BYTES);
	sodium_bin2hex(out, DH_PSEUDO_HEX_SIZE, h, sizeof(h));
}

int dh_pseudo_hash(const dh_pseudo_key *key, const char *identifier, size_t len, char out[DH_PSEUDO_HEX_SIZE],
		   dh_error *err)
{
	if (!key || !identifier || !out || key->count < 1)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	while (len && (*identifier == ' ' || *identifier == '\t')) {
		identifier++;
		len--;
	}
	while (len && (identifier[len - 1] == ' ' || identifier[len - 1] == '\t'))
		len--;
	if (len == 0)
		return dh_error_set(err, DH_INVAL, "identifiant vide");
	if (len > 256)
		return dh_error_set(err, DH_TOOBIG, "identifiant trop long (256 octets au plus)");
	unsigned char norm[256];
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)identifier[i];
		norm[i] = c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
	}
	hash_step(key->keys[0], norm, len, out);
	for (int v = 1; v < key->count; v++) {
		char prev[DH_PSEUDO_HEX_SIZE];
		memcpy(prev, out, sizeof(prev));
		hash_step(key->keys[v], (const unsigned char *)prev, 64, out);
	}
	sodium_memzero(norm, sizeof(norm));
	return DH_OK;
}

int dh_pseudo_column_register(dh_store *store, const char *table, const char *column, dh_error *err)
{
	if (!store || !table || !column)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_pseudo_register(store, table, column, err);
}

typedef struct rotation {
	dh_store *store;
	const unsigned char *new_key;
	const dh_actor *actor;
	int64_t version;
} rotation;

static int rehash_value(void *ctx, const char *old_value, char *out, size_t out_size, dh_error *err)
{
	rotation *r = ctx;
	size_t len = strlen(old_value);
	int ok = len == 64 && out_size >= DH_PSEUDO_HEX_SIZE;
	for (size_t i = 0; ok && i < len; i++)
		ok = (old_value[i] >= '0' && old_value[i] <= '9') || (old_value[i] >= 'a' && old_value[i] <= 'f');
	if (!ok)
		return dh_error_set(err, DH_CORRUPT, "valeur stockée « %.16s » qui n'est pas un pseudonyme", old_value);
	hash_step(r->new_key, (const unsigned char *)old_value, 64, out);
	return DH_OK;
}

static int log_rotation(void *ctx, dh_error *err)
{
	rotation *r = ctx;
	char object[64];
	snprintf(object, sizeof(object), "pseudo-key:v%" PRId64, r->version);
	return dh_audit_log(r->store, r->actor, "key-rotate", object, 0, "", "ok", err);
}

int dh_pseudo_rotate(dh_store *store, const char *key_path, const dh_actor *actor, int64_t *new_version, dh_error *err)
{
	dh_pseudo_key key;
	int rc = dh_pseudo_key_open(store, key_path, &key, err);
	if (rc != DH_OK)
		return rc;
	if (key.count == DH_PSEUDO_MAX_VERSIONS) {
		dh_pseudo_key_release(&key);
		return dh_error_set(err, DH_TOOBIG, "clé « %s » : %d versions au plus", key_path, DH_PSEUDO_MAX_VERSIONS);
	}
	randombytes_buf(key.keys[key.count], DH_PSEUDO_KEY_BYTES);
	key.count++;
	key.version++;
	char pending[4200];
	new_path(key_path, pending, sizeof(pending));
	rc = write_key_file(pending, &key, err);
	if (rc == DH_OK) {
		rotation r = { store, key.keys[key.count - 1], actor, key.version };
		rc = dh_store_pseudo_rehash(store, key.version, rehash_value, &r, log_rotation, err);
		if (rc != DH_OK) {
			unlink(pending);
		} else if (rename(pending, key_path) != 0) {
			/* Committed: dh_pseudo_key_open() finishes the rename next time. */
			rc = dh_error_set(err, DH_IO,
					  "clé « %s » : remplacement impossible (%s) ; la nouvelle clé est dans « %s » "
					  "et sera reprise à la prochaine ouverture",
					  key_path, strerror(errno), pending);
		} else {
			sync_dir(key_path);
		}
	}
	if (rc == DH_OK && new_version)
		*new_version = key.version;
	dh_pseudo_key_release(&key);
	return rc;
}
