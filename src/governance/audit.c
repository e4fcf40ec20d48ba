/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * audit.c - the audit chain (audit.h): canonical serialisation of an entry, its keyed MAC
 * chained to the previous entry's, the audit key file, signed checkpoints of the head and
 * the verification that names the first bad entry. Storage is the store's
 * (store_governance.h); this file is backend-independent.
 *
 * Canonical form (docs/gdpr.md): a tag, then each field as an 8-byte big-endian length
 * followed by its bytes, in the order seq (decimal), time, actor, action, object, agreement
 * (decimal), purpose, result, prev_hash. Length prefixes make it unambiguous. Entries from
 * the key's `from` on are sealed with keyed BLAKE2b-256 under tag "datahabitat-audit-v2";
 * older ones (databases from before the key) keep SHA-256 under "datahabitat-audit-v1".
 *
 * Key file PATH.audit-key (text, mode 0600):
 *   datahabitat-audit-key 1
 *   from N          first entry sealed with this key
 *   every N         checkpoint interval
 *   mac HEX64       BLAKE2b key
 *   sign HEX64      Ed25519 seed
 * Checkpoint line (witness file, or `audit checkpoint`):
 *   datahabitat-audit-checkpoint 1 SEQ TIME MAC PUBKEY SIGNATURE
 * the signature being Ed25519 over the line up to PUBKEY included.
 */
#include "datahabitat/audit.h"

#include "datahabitat/store_governance.h"
#include "governance/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_V1 "datahabitat-audit-v1"
#define TAG_V2 "datahabitat-audit-v2"
#define KEY_MAGIC "datahabitat-audit-key 1\n"
#define KEY_SUFFIX ".audit-key"
#define WITNESS_SUFFIX ".audit-witness"
#define CKPT_MAGIC "datahabitat-audit-checkpoint 1"
/* How far from its position a moved entry is looked for (intact content, other seq). */
#define MOVE_WINDOW 4096

/* ---- Actors ---- */

int dh_actor_format(const dh_actor *actor, char buf[DH_ACTOR_TEXT_SIZE], dh_error *err)
{
	buf[0] = '\0';
	if (!actor)
		return dh_error_set(err, DH_INVAL, "acteur manquant");
	const char *name = actor->name;
	if (name) {
		size_t n = strnlen(name, 65);
		if (n > 64)
			return dh_error_set(err, DH_INVAL, "acteur : nom de plus de 64 octets");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				return dh_error_set(err, DH_INVAL, "acteur : caractère de contrôle dans le nom");
	}
	int has_name = name && *name;
	switch (actor->kind) {
	case DH_ACTOR_SYSTEM:
		dh_strlcpy(buf, DH_ACTOR_TEXT_SIZE, "system");
		return DH_OK;
	case DH_ACTOR_CLI:
		dh_strlcpy(buf, DH_ACTOR_TEXT_SIZE, has_name ? name : "cli");
		return DH_OK;
	case DH_ACTOR_USER:
		if (!has_name)
			return dh_error_set(err, DH_INVAL, "acteur : utilisateur sans identifiant");
		dh_strlcpy(buf, DH_ACTOR_TEXT_SIZE, name);
		return DH_OK;
	case DH_ACTOR_TOKEN:
		if (!has_name || actor->token < 1)
			return dh_error_set(err, DH_INVAL, "acteur : jeton sans identifiant ou sans numéro");
		snprintf(buf, DH_ACTOR_TEXT_SIZE, "%s/token:%" PRId64, name, actor->token);
		return DH_OK;
	}
	return dh_error_set(err, DH_INVAL, "acteur : type inconnu");
}

int dh_actor_check(const dh_actor *actor, dh_error *err)
{
	char text[DH_ACTOR_TEXT_SIZE];
	return dh_actor_format(actor, text, err);
}

/* ---- Canonical form and MACs ---- */

typedef struct canon {
	unsigned char buf[1024]; /* tag + 9 length prefixes + bounded fields: well under 1 KiB */
	size_t len;
} canon;

static void put_field(canon *c, const char *s, size_t len)
{
	uint64_t n = len;
	for (int i = 7; i >= 0; i--) {
		c->buf[c->len + (size_t)i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	c->len += 8;
	memcpy(c->buf + c->len, s, len);
	c->len += len;
}

static void put_str(canon *c, const char *s, size_t size)
{
	put_field(c, s, strnlen(s, size));
}

static void put_int(canon *c, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	put_field(c, buf, (size_t)n);
}

typedef struct audit_key {
	int64_t from; /* first entry sealed with the key */
	int every;    /* checkpoint interval */
	unsigned char mac[crypto_generichash_KEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	int derived; /* pk and sk computed from seed (only when signing or checking: it costs) */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
} audit_key;

static audit_key *signing(audit_key *key)
{
	if (!key->derived) {
		crypto_sign_seed_keypair(key->pk, key->sk, key->seed);
		key->derived = 1;
	}
	return key;
}

/* Hex digest of e's canonical form with e->seq replaced by seq, into out[65]: the keyed MAC
 * when key covers seq, else the SHA-256 of the keyless chain. */
static void entry_digest(const audit_key *key, const dh_audit_entry *e, int64_t seq, char out[65])
{
	int keyed = key && seq >= key->from;
	const char *tag = keyed ? TAG_V2 : TAG_V1;
	canon c;
	c.len = 0;
	memcpy(c.buf, tag, strlen(tag));
	c.len = strlen(tag);
	put_int(&c, seq);
	put_str(&c, e->time, sizeof(e->time));
	put_str(&c, e->actor, sizeof(e->actor));
	put_str(&c, e->action, sizeof(e->action));
	put_str(&c, e->object, sizeof(e->object));
	put_int(&c, e->agreement);
	put_str(&c, e->purpose, sizeof(e->purpose));
	put_str(&c, e->result, sizeof(e->result));
	put_str(&c, e->prev_hash, sizeof(e->prev_hash));
	unsigned char digest[32];
	if (keyed)
		crypto_generichash(digest, sizeof(digest), c.buf, c.len, key->mac, sizeof(key->mac));
	else
		crypto_hash_sha256(digest, c.buf, c.len);
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* ---- Key file ---- */

static void key_release(audit_key *key)
{
	sodium_memzero(key, sizeof(*key));
}

static int write_key(const char *path, int64_t from, int every, dh_error *err)
{
	unsigned char mac[crypto_generichash_KEYBYTES], seed[crypto_sign_SEEDBYTES];
	crypto_generichash_keygen(mac);
	randombytes_buf(seed, sizeof(seed));
	char mac_hex[2 * sizeof(mac) + 1], seed_hex[2 * sizeof(seed) + 1], buf[512];
	sodium_bin2hex(mac_hex, sizeof(mac_hex), mac, sizeof(mac));
	sodium_bin2hex(seed_hex, sizeof(seed_hex), seed, sizeof(seed));
	int n = snprintf(buf, sizeof(buf), KEY_MAGIC "from %" PRId64 "\nevery %d\nmac %s\nsign %s\n", from, every, mac_hex,
			 seed_hex);
	int rc = dh__secret_file_write(path, buf, (size_t)n, err);
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(mac_hex, sizeof(mac_hex));
	sodium_memzero(seed_hex, sizeof(seed_hex));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Parse "NAME VALUE\n" at *p: the value's start and length; 0 if the line is not that. */
static int key_line(char **p, const char *name, char **value, size_t *len)
{
	size_t n = strlen(name);
	if (strncmp(*p, name, n) != 0 || (*p)[n] != ' ')
		return 0;
	char *nl = strchr(*p + n + 1, '\n');
	if (!nl)
		return 0;
	*value = *p + n + 1;
	*len = (size_t)(nl - *value);
	*p = nl + 1;
	return 1;
}

static int hex_exact(unsigned char *bin, size_t size, const char *hex, size_t len)
{
	size_t got = 0;
	return len == 2 * size && sodium_hex2bin(bin, size, hex, len, NULL, &got, NULL) == 0 && got == size;
}

static int load_key(const char *path, audit_key *key, dh_error *err)
{
	memset(key, 0, sizeof(*key));
	char buf[512];
	size_t n;
	int rc = dh__secret_file_read(path, "clé d'audit", buf, sizeof(buf), &n, err);
	if (rc != DH_OK)
		return rc;
	char *p = buf, *v, *end;
	size_t len;
	int ok = strncmp(p, KEY_MAGIC, strlen(KEY_MAGIC)) == 0;
	if (ok) {
		p += strlen(KEY_MAGIC);
		ok = key_line(&p, "from", &v, &len) && (key->from = strtoll(v, &end, 10)) >= 1 && end == v + len &&
		     key_line(&p, "every", &v, &len) && (key->every = (int)strtol(v, &end, 10)) >= 1 &&
		     end == v + len && key_line(&p, "mac", &v, &len) && hex_exact(key->mac, sizeof(key->mac), v, len) &&
		     key_line(&p, "sign", &v, &len) && hex_exact(key->seed, sizeof(key->seed), v, len) && *p == '\0';
	}
	sodium_memzero(buf, sizeof(buf));
	if (!ok) {
		key_release(key);
		return dh_error_set(err, DH_CORRUPT, "clé d'audit « %s » mal formée", path);
	}
	return DH_OK;
}

int dh_audit_key_path(dh_store *store, char *buf, size_t size, dh_error *err)
{
	if (!store || !buf)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh__sibling_path(store, KEY_SUFFIX, buf, size, err);
}

int dh_audit_witness_path(dh_store *store, char *buf, size_t size, dh_error *err)
{
	if (!store || !buf)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh__sibling_path(store, WITNESS_SUFFIX, buf, size, err);
}

/*
 * The store's key into *key (*have 1), or *have 0 when there is none and the chain is
 * still keyless (empty, or its last entry sealed with SHA-256: a database from before the
 * key); *next receives the number the next entry will have. A chain whose last entry is
 * not keyless while the key file is missing is DH_NOTFOUND.
 */
static int key_state(dh_store *store, audit_key *key, int *have, int64_t *next, dh_error *err)
{
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	char path[4200];
	int rc = dh_audit_key_path(store, path, sizeof(path), err);
	if (rc != DH_OK)
		return rc;
	*have = 0;
	dh_error kerr;
	dh_error_clear(&kerr);
	rc = load_key(path, key, &kerr);
	if (rc == DH_OK) {
		*have = 1;
		return DH_OK;
	}
	if (rc != DH_NOTFOUND) {
		if (err)
			*err = kerr;
		return rc;
	}
	dh_audit_entry last;
	rc = dh_store_audit_last(store, &last, err);
	if (rc == DH_NOTFOUND) {
		*next = 1;
		return DH_OK;
	}
	if (rc != DH_OK)
		return rc;
	char h[65];
	entry_digest(NULL, &last, last.seq, h);
	if (strcmp(h, last.hash) != 0)
		return dh_error_set(err, DH_NOTFOUND,
				    "clé d'audit « %s » introuvable alors que la chaîne en a été scellée : "
				    "restaurez-la (sauvegarde) ; la chaîne ne peut être ni prolongée ni vérifiée sans elle",
				    path);
	*next = last.seq + 1;
	return DH_OK;
}

static int create_key_from(dh_store *store, int64_t from, int every, dh_error *err)
{
	char path[4200];
	int rc = dh_audit_key_path(store, path, sizeof(path), err);
	if (rc != DH_OK)
		return rc;
	return write_key(path, from, every > 0 ? every : DH_AUDIT_CHECKPOINT_EVERY, err);
}

int dh_audit_key_create(dh_store *store, int every, dh_error *err)
{
	if (!store || every < 0)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	audit_key key;
	int have;
	int64_t next = 1;
	int rc = key_state(store, &key, &have, &next, err);
	key_release(&key);
	if (rc != DH_OK)
		return rc;
	if (have) {
		char path[4200];
		dh_audit_key_path(store, path, sizeof(path), NULL);
		return dh_error_set(err, DH_EXISTS, "clé d'audit « %s » déjà présente", path);
	}
	return create_key_from(store, next, every, err);
}

/* The key to append with: loaded, or created for a keyless chain (two processes racing
 * to create it: the loser loads the winner's). */
static int key_for_append(dh_store *store, audit_key *key, dh_error *err)
{
	int have;
	int64_t next = 1;
	int rc = key_state(store, key, &have, &next, err);
	if (rc != DH_OK || have)
		return rc;
	rc = create_key_from(store, next, 0, err);
	if (rc != DH_OK && rc != DH_EXISTS)
		return rc;
	char path[4200];
	if ((rc = dh_audit_key_path(store, path, sizeof(path), err)) != DH_OK)
		return rc;
	return load_key(path, key, err);
}

/* ---- Checkpoints ---- */

static void checkpoint_line(audit_key *key, int64_t seq, const char *mac, char line[DH_AUDIT_CHECKPOINT_SIZE])
{
	char now[24], pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1], sig_hex[2 * crypto_sign_BYTES + 1];
	unsigned char sig[crypto_sign_BYTES];
	dh_store_now_utc(now, sizeof(now));
	signing(key);
	sodium_bin2hex(pk_hex, sizeof(pk_hex), key->pk, sizeof(key->pk));
	int n = snprintf(line, DH_AUDIT_CHECKPOINT_SIZE, CKPT_MAGIC " %" PRId64 " %s %s %s", seq, now, mac, pk_hex);
	crypto_sign_detached(sig, NULL, (const unsigned char *)line, (unsigned long long)n, key->sk);
	sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	snprintf(line + n, DH_AUDIT_CHECKPOINT_SIZE - (size_t)n, " %s\n", sig_hex);
}

/* Append line to the witness file (created 0600 whatever the umask), synced. */
static int witness_append(const char *path, const char *line, dh_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		close(fd);
		fd = -1;
	} else if (fd < 0 && errno == EEXIST) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0)
		return dh_error_set(err, DH_IO, "témoin d'audit « %s » : ouverture impossible : %s", path, strerror(errno));
	size_t len = strlen(line);
	int rc = DH_OK;
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0)
		rc = dh_error_set(err, DH_IO, "témoin d'audit « %s » : écriture impossible : %s", path, strerror(errno));
	if (close(fd) != 0 && rc == DH_OK)
		rc = dh_error_set(err, DH_IO, "témoin d'audit « %s » : écriture impossible : %s", path, strerror(errno));
	return rc;
}

/* ---- Append ---- */

typedef struct seal_ctx {
	dh_store *store;
	audit_key *key;
} seal_ctx;

/* Called by the store under its write lock with e->seq and e->prev_hash set. When the
 * previous entry closes an interval, it (committed before this transaction) is checkpointed. */
static int seal(void *ctx, dh_audit_entry *e, dh_error *err)
{
	seal_ctx *s = ctx;
	entry_digest(s->key, e, e->seq, e->hash);
	if (e->seq > 1 && (e->seq - 1) % s->key->every == 0) {
		char path[4200], line[DH_AUDIT_CHECKPOINT_SIZE];
		int rc = dh_audit_witness_path(s->store, path, sizeof(path), err);
		if (rc != DH_OK)
			return rc;
		checkpoint_line(s->key, e->seq - 1, e->prev_hash, line);
		return witness_append(path, line, err);
	}
	return DH_OK;
}

static int terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int dh_audit_append(dh_store *store, dh_audit_entry *e, dh_error *err)
{
	if (!store || !e)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (!terminated(e->time, sizeof(e->time)) || !terminated(e->actor, sizeof(e->actor)) ||
	    !terminated(e->action, sizeof(e->action)) || !terminated(e->object, sizeof(e->object)) ||
	    !terminated(e->purpose, sizeof(e->purpose)) || !terminated(e->result, sizeof(e->result)))
		return dh_error_set(err, DH_INVAL, "entrée d'audit : champ non terminé");
	if (!e->actor[0] || !e->action[0] || !e->result[0])
		return dh_error_set(err, DH_INVAL, "entrée d'audit : acteur, action et résultat sont obligatoires");
	/* Every entry is kept, a refused request's raw code included: made storable text
	 * (valid UTF-8, no control character) rather than refused. */
	dh_text_sanitize(e->actor);
	dh_text_sanitize(e->action);
	dh_text_sanitize(e->object);
	dh_text_sanitize(e->purpose);
	dh_text_sanitize(e->result);
	if (!e->time[0])
		dh_store_now_utc(e->time, sizeof(e->time));
	audit_key key;
	int rc = key_for_append(store, &key, err);
	if (rc == DH_OK) {
		seal_ctx s = { store, &key };
		rc = dh_store_audit_append(store, e, seal, &s, err);
	}
	key_release(&key);
	return rc;
}

int dh_audit_log(dh_store *store, const dh_actor *actor, const char *action, const char *object, int64_t agreement,
		 const char *purpose, const char *result, dh_error *err)
{
	dh_audit_entry e;
	memset(&e, 0, sizeof(e));
	int rc = dh_actor_format(actor, e.actor, err);
	if (rc != DH_OK)
		return rc;
	dh_strlcpy(e.action, sizeof(e.action), action ? action : "");
	dh_strlcpy(e.object, sizeof(e.object), object ? object : "");
	e.agreement = agreement;
	dh_strlcpy(e.purpose, sizeof(e.purpose), purpose ? purpose : "");
	dh_strlcpy(e.result, sizeof(e.result), result ? result : "");
	return dh_audit_append(store, &e, err);
}

int dh_audit_list(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_audit_scan(store, from < 1 ? 1 : from, cb, ctx, err);
}

/* ---- Verify ---- */

typedef struct verify_state {
	dh_audit_check *check;
	const audit_key *key; /* NULL: keyless chain */
	int64_t expected;     /* seq the next entry must have */
	char prev_hash[65];   /* stored hash of the previous entry */
} verify_state;

static int broken(dh_audit_check *check, int64_t seq, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int broken(dh_audit_check *check, int64_t seq, const char *fmt, ...)
{
	check->first_bad = seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(check->problem, sizeof(check->problem), fmt, ap);
	va_end(ap);
	return DH_CORRUPT;
}

static int verify_one(void *ctx, const dh_audit_entry *e)
{
	verify_state *v = ctx;
	dh_audit_check *c = v->check;
	c->entries++;
	if (e->seq > v->expected) {
		if (e->seq == v->expected + 1)
			return broken(c, v->expected, "entrée %" PRId64 " : supprimée", v->expected);
		return broken(c, v->expected, "entrée %" PRId64 " : supprimée (entrées %" PRId64 " à %" PRId64 " manquantes)",
			      v->expected, v->expected, e->seq - 1);
	}
	if (e->seq < v->expected) /* only below 1: seq is unique and read in order */
		return broken(c, v->expected, "entrée %" PRId64 " : une entrée a été insérée avant elle (numéro %" PRId64 ")",
			      v->expected, e->seq);
	char h[65];
	entry_digest(v->key, e, e->seq, h);
	int self_ok = strlen(e->hash) == 64 && sodium_memcmp(h, e->hash, 64) == 0;
	int link_ok = strcmp(e->prev_hash, v->prev_hash) == 0;
	if (!self_ok) {
		if (!link_ok) {
			/* Intact content carrying another position: the entry was moved here. */
			int64_t lo = e->seq > MOVE_WINDOW ? e->seq - MOVE_WINDOW : 1;
			for (int64_t k = lo; k <= e->seq + MOVE_WINDOW; k++) {
				if (k == e->seq)
					continue;
				entry_digest(v->key, e, k, h);
				if (strcmp(h, e->hash) == 0)
					return broken(c, e->seq, "entrée %" PRId64 " : déplacée (écrite en position %" PRId64 ")",
						      e->seq, k);
			}
		}
		return broken(c, e->seq, "entrée %" PRId64 " : contenu modifié", e->seq);
	}
	if (!link_ok)
		return broken(c, e->seq,
			      "entrée %" PRId64 " : lien avec l'entrée précédente rompu (entrée supprimée, insérée ou déplacée)",
			      e->seq);
	memcpy(v->prev_hash, e->hash, sizeof(v->prev_hash));
	v->expected++;
	return DH_OK;
}

/* check->problem as the error: "chaîne d'audit rompue à l'entrée N : <reason>". */
static int report(dh_audit_check *check, dh_error *err)
{
	const char *reason = strstr(check->problem, " : ");
	return dh_error_set(err, DH_CORRUPT, "chaîne d'audit rompue à l'entrée %" PRId64 " : %s", check->first_bad,
			    reason ? reason + 3 : check->problem);
}

/* Verify the chain with the store's key (or none); the key, when there is one, stays in
 * *key for the caller (released by it). */
static int verify_chain(dh_store *store, audit_key *key, int *have, dh_audit_check *check, dh_error *err)
{
	memset(check, 0, sizeof(*check));
	int64_t next = 1;
	int rc = key_state(store, key, have, &next, err);
	if (rc != DH_OK)
		return rc;
	verify_state v = { check, *have ? key : NULL, 1, "" };
	check->keyed_from = *have ? key->from : 0;
	/* From INT64_MIN: rows below 1 are caught as inserted. */
	rc = dh_store_audit_scan(store, INT64_MIN, verify_one, &v, err);
	if (rc == DH_OK && *have && v.expected < key->from)
		/* The key was made when entries 1..from-1 existed: some of them are gone. */
		rc = broken(check, v.expected,
			    "entrée %" PRId64 " : supprimée (la clé d'audit a été créée après l'entrée %" PRId64 ")",
			    v.expected, key->from - 1);
	if (rc == DH_CORRUPT && check->first_bad)
		return report(check, err);
	return rc;
}

int dh_audit_verify(dh_store *store, dh_audit_check *check, dh_error *err)
{
	if (!store || !check)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	audit_key key;
	int have;
	int rc = verify_chain(store, &key, &have, check, err);
	key_release(&key);
	return rc;
}

typedef struct find_ctx {
	int64_t seq;
	int found;
	char hash[65];
} find_ctx;

static int find_one(void *ctx, const dh_audit_entry *e)
{
	find_ctx *f = ctx;
	f->found = e->seq == f->seq;
	memcpy(f->hash, e->hash, sizeof(f->hash));
	return DH_EOF; /* stop after the first */
}

/* Check one checkpoint line against the trusted public key and the (verified) chain. */
static int check_line(dh_store *store, const unsigned char pk[32], char *line, size_t lineno, int64_t last,
		      dh_audit_check *check, dh_error *err)
{
	char *sig = strrchr(line, ' ');
	char seq_text[24], time[24], mac[65], pk_hex[65];
	long long seq = 0;
	unsigned char sig_bin[crypto_sign_BYTES], line_pk[32];
	if (!sig || sscanf(line, CKPT_MAGIC " %23s %23s %64s %64s", seq_text, time, mac, pk_hex) != 4 ||
	    sscanf(seq_text, "%lld", &seq) != 1 || seq < 1 || strlen(mac) != 64 ||
	    !hex_exact(line_pk, sizeof(line_pk), pk_hex, strlen(pk_hex)) ||
	    !hex_exact(sig_bin, sizeof(sig_bin), sig + 1, strlen(sig + 1)))
		return broken(check, 1, "témoin : ligne %zu mal formée", lineno);
	if (sodium_memcmp(line_pk, pk, 32) != 0 ||
	    crypto_sign_verify_detached(sig_bin, (const unsigned char *)line, (unsigned long long)(sig - line), pk) != 0)
		return broken(check, seq, "entrée %lld : point de contrôle (ligne %zu du témoin) à la signature invalide",
			      seq, lineno);
	check->checkpoints++;
	if (seq > last)
		return broken(check, last + 1,
			      "entrée %" PRId64 " : supprimée (le point de contrôle signé du %s atteste l'entrée %lld, "
			      "la chaîne s'arrête à %" PRId64 ")",
			      last + 1, time, seq, last);
	find_ctx f = { seq, 0, "" };
	int rc = dh_store_audit_scan(store, seq, find_one, &f, err);
	if (rc != DH_OK && rc != DH_EOF)
		return rc;
	if (!f.found || strcmp(f.hash, mac) != 0)
		return broken(check, seq, "entrée %lld : différente de celle attestée par le point de contrôle signé du %s",
			      seq, time);
	if (seq > check->anchored)
		check->anchored = seq;
	return DH_OK;
}

int dh_audit_verify_checkpoints(dh_store *store, const char *path, const char *pubkey_hex, dh_audit_check *check,
				dh_error *err)
{
	if (!store || !path || !check)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	audit_key key;
	int have;
	int rc = verify_chain(store, &key, &have, check, err);
	unsigned char pk[32];
	if (rc == DH_OK && pubkey_hex) {
		if (!hex_exact(pk, sizeof(pk), pubkey_hex, strlen(pubkey_hex)))
			rc = dh_error_set(err, DH_INVAL, "clé publique « %s » invalide (64 chiffres hexadécimaux attendus)",
					  pubkey_hex);
	} else if (rc == DH_OK && !have) {
		rc = dh_error_set(err, DH_NOTFOUND, "pas de clé d'audit : aucun point de contrôle ne peut être vérifié");
	} else if (rc == DH_OK) {
		memcpy(pk, signing(&key)->pk, sizeof(pk));
	}
	key_release(&key);
	if (rc != DH_OK)
		return rc;
	FILE *f = fopen(path, "r");
	if (!f)
		return dh_error_set(err, errno == ENOENT ? DH_NOTFOUND : DH_IO, "témoin « %s » : lecture impossible : %s", path,
				    strerror(errno));
	/* The last entry, for cut tails: the chain was verified, so it is entry `entries`. */
	int64_t last = check->entries;
	char line[2 * DH_AUDIT_CHECKPOINT_SIZE];
	size_t lineno = 0;
	while (rc == DH_OK && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		rc = check_line(store, pk, line, lineno, last, check, err);
	}
	if (rc == DH_OK && ferror(f))
		rc = dh_error_set(err, DH_IO, "témoin « %s » : lecture impossible", path);
	fclose(f);
	if (rc == DH_CORRUPT && check->first_bad)
		return report(check, err);
	return rc;
}

int dh_audit_checkpoint(dh_store *store, char line[DH_AUDIT_CHECKPOINT_SIZE], dh_error *err)
{
	if (!store || !line)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	audit_key key;
	int have;
	dh_audit_check check;
	int rc = verify_chain(store, &key, &have, &check, err);
	dh_audit_entry last;
	if (rc == DH_OK && !have)
		rc = dh_error_set(err, DH_NOTFOUND, "pas de clé d'audit : rien à signer");
	if (rc == DH_OK && (rc = dh_store_audit_last(store, &last, err)) == DH_OK)
		checkpoint_line(&key, last.seq, last.hash, line);
	key_release(&key);
	return rc;
}

int dh_audit_public_key(dh_store *store, char hex[65], dh_error *err)
{
	if (!store || !hex)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	char path[4200];
	audit_key key;
	int rc = dh_audit_key_path(store, path, sizeof(path), err);
	if (rc == DH_OK && (rc = load_key(path, &key, err)) == DH_OK)
		sodium_bin2hex(hex, 65, signing(&key)->pk, sizeof(key.pk));
	key_release(&key);
	return rc;
}
