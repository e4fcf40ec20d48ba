/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * audit.h - the audit chain: an append-only table where each entry carries a keyed MAC
 * (BLAKE2b-256 under a key kept outside the database) over its content and the previous
 * entry's MAC, plus signed checkpoints of the head (Ed25519) written to a witness file.
 * Someone who can write the database but not the key file cannot rewrite, delete,
 * renumber, reorder or insert an entry without dh_audit_verify() naming the first bad
 * one, nor cut the tail up to the last checkpoint it is given (docs/gdpr.md).
 *
 * Who logs what: the library's entry points that change data or read people's data log
 * themselves, with the actor their caller passes (actor.h); callers never log. The list
 * is in docs/gdpr.md ("Who logs what") and tests/unit/test_audit_entrypoints.c.
 * Entries never hold personal data in clear: actors are logins, objects are ids or codes.
 *
 * Files next to the database PATH: PATH.audit-key (MAC key and signing key, mode 0600,
 * created by dh_store_init or by the first append on a database that has none) and
 * PATH.audit-witness (checkpoints appended every DH_AUDIT_CHECKPOINT_EVERY entries).
 *
 * Thread safety: appends are serialised by the store (one transaction each).
 */
#ifndef DATAHABITAT_AUDIT_H
#define DATAHABITAT_AUDIT_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"
#include "datahabitat/store.h"

typedef struct dh_audit_entry {
	int64_t seq;          /* 1-based position in the chain (filled by append) */
	char time[24];        /* UTC "YYYY-MM-DDTHH:MM:SSZ" (filled by append when empty) */
	char actor[DH_ACTOR_TEXT_SIZE]; /* dh_actor_format(): login, "system", "cli", "LOGIN/token:ID" */
	char action[32];      /* "import", "export", "query", "login", "login-failed", "user-add", ... */
	char object[128];     /* what it was about: "org:123456782", "delivery:12", "indicators:commune" */
	int64_t agreement;    /* sharing agreement id that allowed it, 0 if none */
	char purpose[128];    /* purpose given or taken from the agreement, "" if none */
	char result[32];      /* "ok", "denied", "refused", "error" */
	char prev_hash[DH_HASH_HEX_SIZE];   /* hex MAC of the previous entry ("" for the first; filled by append) */
	char hash[DH_HASH_HEX_SIZE];        /* hex MAC of this entry's canonical form (SHA-256 before the key; filled by append) */
} dh_audit_entry;

/* Checkpoint interval used when the audit key is created without one. */
#define DH_AUDIT_CHECKPOINT_EVERY 100

/*
 * Create the audit key file of the store (PATH.audit-key, O_EXCL, 0600): a MAC key, an
 * Ed25519 signing key, the first entry it seals (the next one: older entries keep their
 * SHA-256 chain, docs/gdpr.md) and the checkpoint interval (`every`, 0 for the default).
 * Returns DH_OK, DH_EXISTS (left alone), DH_INVAL (not a file database), DH_IO, DH_STORE.
 */
int dh_audit_key_create(dh_store *store, int every, dh_error *err);

/*
 * Append an entry at the end of the chain. seq, time (if empty), prev_hash and hash are
 * filled in *e. Text fields are made storable first (dh_text_sanitize: invalid UTF-8 and
 * control characters become '?'), so that a refused request's raw input is still recorded.
 * The audit key is created first if the database has none and its chain is
 * still the keyless one (a database from before the key); a chain sealed with a key that
 * is now missing is refused (DH_NOTFOUND). When the entry's number is one past a multiple
 * of the interval, a checkpoint of the previous entry is appended to the witness file.
 * Returns DH_OK, DH_STORE, DH_INVAL (missing actor/action/result), DH_NOTFOUND, DH_DENIED
 * (key file readable by others), DH_CORRUPT (key file), DH_IO.
 */
int dh_audit_append(dh_store *store, dh_audit_entry *e, dh_error *err);

/* Append with the given actor and strings (agreement 0 and purpose "" allowed). The one
 * function the library's audited entry points call. */
int dh_audit_log(dh_store *store, const dh_actor *actor, const char *action, const char *object,
		 int64_t agreement, const char *purpose, const char *result, dh_error *err);

typedef int (*dh_audit_cb)(void *ctx, const dh_audit_entry *e);

/* Entries in chain order, from seq `from` (1 = all); the callback may stop by returning != DH_OK. */
int dh_audit_list(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);

typedef struct dh_audit_check {
	int64_t entries;     /* entries checked */
	int64_t first_bad;   /* seq (or position) of the first broken entry, 0 if the chain is intact */
	char problem[256];   /* French description: "entrée 12 : contenu modifié", ... */
	int64_t keyed_from;  /* first entry sealed with the key (older ones: SHA-256 chain); 0 without key */
	int64_t checkpoints; /* checkpoints checked (dh_audit_verify_checkpoints) */
	int64_t anchored;    /* highest entry a valid checkpoint attests, 0 if none */
} dh_audit_check;

/*
 * Recompute the chain. Returns DH_OK with check->first_bad == 0 when intact, DH_CORRUPT
 * with check filled when an entry was modified, deleted, inserted or reordered; DH_NOTFOUND
 * when the chain is sealed with a key whose file is missing.
 */
int dh_audit_verify(dh_store *store, dh_audit_check *check, dh_error *err);

/*
 * dh_audit_verify, then every checkpoint line of the witness file `path`: its Ed25519
 * signature under `pubkey_hex` (64 hex digits; NULL: the store's audit key), and that the
 * entry it attests is in the chain with that MAC. A checkpoint beyond the last entry means
 * the tail was cut: first_bad is then the first missing entry. Returns as dh_audit_verify;
 * DH_NOTFOUND / DH_IO for an unreadable file; DH_CORRUPT also for a bad signature or line.
 */
int dh_audit_verify_checkpoints(dh_store *store, const char *path, const char *pubkey_hex, dh_audit_check *check,
				dh_error *err);

/* Size of a checkpoint line, newline and NUL included. */
#define DH_AUDIT_CHECKPOINT_SIZE 384

/*
 * Sign a checkpoint of the current head (last entry) after verifying the chain (a broken
 * chain is not signed: DH_CORRUPT): line receives
 * "datahabitat-audit-checkpoint 1 SEQ TIME MAC PUBKEY SIGNATURE\n". Returns DH_OK,
 * DH_NOTFOUND (empty chain, or no key), dh_audit_verify's codes.
 */
int dh_audit_checkpoint(dh_store *store, char line[DH_AUDIT_CHECKPOINT_SIZE], dh_error *err);

/* The store's audit public key (Ed25519) as 64 hex digits into hex. DH_OK, DH_NOTFOUND, ... */
int dh_audit_public_key(dh_store *store, char hex[DH_HASH_HEX_SIZE], dh_error *err);

/* The audit key file of the store ("PATH.audit-key") into buf. DH_OK, DH_INVAL, DH_TOOBIG. */
int dh_audit_key_path(dh_store *store, char *buf, size_t size, dh_error *err);

/* The witness file of the store ("PATH.audit-witness") into buf. DH_OK, DH_INVAL, DH_TOOBIG. */
int dh_audit_witness_path(dh_store *store, char *buf, size_t size, dh_error *err);

#endif
