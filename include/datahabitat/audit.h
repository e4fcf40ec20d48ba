/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * audit.h - the tamper-evident audit chain: an append-only table where each entry carries
 * the SHA-256 of the previous entry, so that any modified, deleted or reordered entry is
 * detected by dh_audit_verify(), which names the first broken entry.
 *
 * Who logs what: imports, exports, queries on other organisations' data, logins and
 * failed logins, administration (users, tokens, agreements, keys). Entries never hold
 * personal data in clear: actors are logins, objects are ids or codes.
 *
 * Thread safety: appends are serialised by the store (one transaction each).
 */
#ifndef DATAHABITAT_AUDIT_H
#define DATAHABITAT_AUDIT_H

#include "datahabitat/base.h"
#include "datahabitat/store.h"

typedef struct dh_audit_entry {
	int64_t seq;          /* 1-based position in the chain (filled by append) */
	char time[24];        /* UTC "YYYY-MM-DDTHH:MM:SSZ" (filled by append when empty) */
	char actor[64];       /* login, "system" or "public" */
	char action[32];      /* "import", "export", "query", "login", "login-failed", "user-add", ... */
	char object[128];     /* what it was about: "org:123456782", "delivery:12", "indicators:commune" */
	int64_t agreement;    /* sharing agreement id that allowed it, 0 if none */
	char purpose[128];    /* purpose given or taken from the agreement, "" if none */
	char result[32];      /* "ok", "denied", "refused", "error" */
	char prev_hash[65];   /* hex SHA-256 of the previous entry ("" for the first; filled by append) */
	char hash[65];        /* hex SHA-256 of this entry's canonical form (filled by append) */
} dh_audit_entry;

/*
 * Append an entry at the end of the chain. seq, time (if empty), prev_hash and hash are
 * filled in *e. Text fields are made storable first (dh_text_sanitize: invalid UTF-8 and
 * control characters become '?'), so that a refused request's raw input is still recorded.
 * Returns DH_OK, DH_STORE, DH_INVAL (missing actor/action/result).
 */
int dh_audit_append(dh_store *store, dh_audit_entry *e, dh_error *err);

/* Convenience: append with the given strings (agreement 0 and purpose "" allowed). */
int dh_audit_log(dh_store *store, const char *actor, const char *action, const char *object,
		 int64_t agreement, const char *purpose, const char *result, dh_error *err);

typedef int (*dh_audit_cb)(void *ctx, const dh_audit_entry *e);

/* Entries in chain order, from seq `from` (1 = all); the callback may stop by returning != DH_OK. */
int dh_audit_list(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);

typedef struct dh_audit_check {
	int64_t entries;     /* entries checked */
	int64_t first_bad;   /* seq (or position) of the first broken entry, 0 if the chain is intact */
	char problem[256];   /* French description: "entrée 12 modifiée", "entrée 7 supprimée", ... */
} dh_audit_check;

/*
 * Recompute the chain. Returns DH_OK with check->first_bad == 0 when intact, DH_CORRUPT
 * with check filled when an entry was modified, deleted, inserted or reordered.
 */
int dh_audit_verify(dh_store *store, dh_audit_check *check, dh_error *err);

#endif
