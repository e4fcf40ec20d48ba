/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * audit.c - the tamper-evident audit chain (audit.h): canonical serialisation of an entry,
 * its SHA-256 chained to the previous entry's, and the verification that names the first
 * broken entry. Storage is the store's (sqlite_audit.c); this file is backend-independent.
 *
 * Canonical form hashed (docs/gdpr.md): the tag "datahabitat-audit-v1", then each field as
 * an 8-byte big-endian length followed by its bytes, in the order seq (decimal), time,
 * actor, action, object, agreement (decimal), purpose, result, prev_hash. Length prefixes
 * make the serialisation unambiguous: no two different entries share it.
 */
#include "datahabitat/audit.h"

#include "store/internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AUDIT_TAG "datahabitat-audit-v1"
/* How far from its position a moved entry is looked for (intact content, other seq). */
#define MOVE_WINDOW 4096

static void put_field(crypto_hash_sha256_state *h, const char *s, size_t len)
{
	unsigned char prefix[8];
	uint64_t n = len;
	for (int i = 7; i >= 0; i--) {
		prefix[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	crypto_hash_sha256_update(h, prefix, sizeof(prefix));
	crypto_hash_sha256_update(h, (const unsigned char *)s, len);
}

static void put_str(crypto_hash_sha256_state *h, const char *s, size_t size)
{
	put_field(h, s, strnlen(s, size));
}

static void put_int(crypto_hash_sha256_state *h, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	put_field(h, buf, (size_t)n);
}

/* Hex SHA-256 of e's canonical form with e->seq replaced by seq, into out[65]. */
static void entry_hash(const dh_audit_entry *e, int64_t seq, char out[65])
{
	crypto_hash_sha256_state h;
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const unsigned char *)AUDIT_TAG, sizeof(AUDIT_TAG) - 1);
	put_int(&h, seq);
	put_str(&h, e->time, sizeof(e->time));
	put_str(&h, e->actor, sizeof(e->actor));
	put_str(&h, e->action, sizeof(e->action));
	put_str(&h, e->object, sizeof(e->object));
	put_int(&h, e->agreement);
	put_str(&h, e->purpose, sizeof(e->purpose));
	put_str(&h, e->result, sizeof(e->result));
	put_str(&h, e->prev_hash, sizeof(e->prev_hash));
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

static void seal(dh_audit_entry *e)
{
	entry_hash(e, e->seq, e->hash);
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
	return dh_store_audit_append(store, e, seal, err);
}

int dh_audit_log(dh_store *store, const char *actor, const char *action, const char *object, int64_t agreement,
		 const char *purpose, const char *result, dh_error *err)
{
	dh_audit_entry e;
	memset(&e, 0, sizeof(e));
	dh_strlcpy(e.actor, sizeof(e.actor), actor ? actor : "");
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

typedef struct verify_state {
	dh_audit_check *check;
	int64_t expected;    /* seq the next entry must have */
	char prev_hash[65];  /* stored hash of the previous entry */
} verify_state;

static int broken(verify_state *v, int64_t seq, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int broken(verify_state *v, int64_t seq, const char *fmt, ...)
{
	v->check->first_bad = seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->check->problem, sizeof(v->check->problem), fmt, ap);
	va_end(ap);
	return DH_CORRUPT;
}

static int verify_one(void *ctx, const dh_audit_entry *e)
{
	verify_state *v = ctx;
	v->check->entries++;
	if (e->seq > v->expected) {
		if (e->seq == v->expected + 1)
			return broken(v, v->expected, "entrée %" PRId64 " : supprimée", v->expected);
		return broken(v, v->expected, "entrée %" PRId64 " : supprimée (entrées %" PRId64 " à %" PRId64 " manquantes)",
			      v->expected, v->expected, e->seq - 1);
	}
	if (e->seq < v->expected) /* only below 1: seq is unique and read in order */
		return broken(v, v->expected, "entrée %" PRId64 " : une entrée a été insérée avant elle (numéro %" PRId64 ")",
			      v->expected, e->seq);
	char h[65];
	entry_hash(e, e->seq, h);
	int self_ok = sodium_memcmp(h, e->hash, 64) == 0 && strlen(e->hash) == 64;
	int link_ok = strcmp(e->prev_hash, v->prev_hash) == 0;
	if (!self_ok) {
		if (!link_ok) {
			/* Intact content carrying another position: the entry was moved here. */
			int64_t lo = e->seq > MOVE_WINDOW ? e->seq - MOVE_WINDOW : 1;
			for (int64_t k = lo; k <= e->seq + MOVE_WINDOW; k++) {
				if (k == e->seq)
					continue;
				entry_hash(e, k, h);
				if (strcmp(h, e->hash) == 0)
					return broken(v, e->seq,
						      "entrée %" PRId64 " : déplacée (écrite en position %" PRId64 ")",
						      e->seq, k);
			}
		}
		return broken(v, e->seq, "entrée %" PRId64 " : contenu modifié", e->seq);
	}
	if (!link_ok)
		return broken(v, e->seq,
			      "entrée %" PRId64 " : lien avec l'entrée précédente rompu (entrée supprimée, insérée ou déplacée)",
			      e->seq);
	memcpy(v->prev_hash, e->hash, sizeof(v->prev_hash));
	v->expected++;
	return DH_OK;
}

int dh_audit_verify(dh_store *store, dh_audit_check *check, dh_error *err)
{
	if (!store || !check)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	memset(check, 0, sizeof(*check));
	verify_state v = { check, 1, "" };
	/* From seq 0 would hide nothing: rows below 1 are caught as inserted. */
	int rc = dh_store_audit_scan(store, INT64_MIN, verify_one, &v, err);
	if (rc == DH_CORRUPT && check->first_bad) {
		const char *reason = strstr(check->problem, " : ");
		return dh_error_set(err, DH_CORRUPT, "chaîne d'audit rompue à l'entrée %" PRId64 " : %s",
				    check->first_bad, reason ? reason + 3 : check->problem);
	}
	return rc;
}
