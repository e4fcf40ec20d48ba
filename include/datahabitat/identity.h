/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * identity.h - who is asking: users with a role (and the organisation or territory the role
 * is bound to), passwords hashed with Argon2id, API tokens stored hashed with an expiry and
 * a scope, and the sharing agreements that say which audience may see which indicators of
 * which territory, for which purpose and on which legal basis, between two dates.
 * The access function (access.h) reads these to decide what a caller sees. See
 * docs/governance.md for the roles and the role x data matrix.
 *
 * Secrets: passwords and tokens are never stored nor logged in clear. The clear token is
 * given once by dh_token_create(); only its BLAKE2b hash (libsodium generic hash) is kept.
 * Administration (user add/disable, token create/revoke, agreement add/end) and logins are
 * appended to the audit chain (audit.h) by these functions, with the actor given.
 *
 * Thread safety: as the store (one thread at a time per dh_store). Call dh_identity_init()
 * (sodium_init) once before using passwords or tokens; it is idempotent and thread-safe.
 */
#ifndef DATAHABITAT_IDENTITY_H
#define DATAHABITAT_IDENTITY_H

#include "datahabitat/base.h"
#include "datahabitat/actor.h"
#include "datahabitat/cube.h"
#include "datahabitat/store.h"

/* Roles (docs/governance.md). */
typedef enum dh_role {
	DH_ROLE_MEMBER = 0, /* landlord member: bound to one organisation (SIREN) */
	DH_ROLE_ANALYST,    /* federation analyst: every territory, disclosure applied */
	DH_ROLE_PARTNER,    /* partner (EPCI, département...): bound to a territory */
	DH_ROLE_PUBLIC,     /* anyone: public agreements only */
	DH_ROLE_ADMIN,      /* administrator: manages users, tokens, agreements; no figures */
	DH_ROLE_DPO,        /* data protection officer: audit and register; no figures */
	DH_ROLE_COUNT
} dh_role;

/* "member", "analyst", "partner", "public", "admin", "dpo"; NULL out of range. */
const char *dh_role_name(dh_role role);
/* Role of a name; -1 if unknown. */
int dh_role_parse(const char *name);

#define DH_LOGIN_MAX 64

/* 1 if login is 1 to 64 characters of [a-z0-9._-], 0 otherwise. */
int dh_login_valid(const char *login);

#define DH_TERRITORY_CODE_MAX 15 /* bytes of a territory code: letters and digits */

/* A territory: a level (DH_LEVEL_ALL for "everywhere") and a code. */
typedef struct dh_territory {
	dh_level level;                       /* DH_LEVEL_ALL, COMMUNE, EPCI, DEPARTEMENT or REGION */
	char code[DH_TERRITORY_CODE_MAX + 1]; /* "" for DH_LEVEL_ALL */
} dh_territory;

/*
 * Parse "all" or "LEVEL:CODE" (epci:243500139, departement:35, region:53, commune:35238).
 * Returns DH_OK or DH_INVAL (err says why). The code is not checked against the geography.
 */
int dh_territory_parse(const char *text, dh_territory *out, dh_error *err);
/* Write "all" or "LEVEL:CODE" into buf (always NUL-terminated). */
void dh_territory_format(const dh_territory *t, char *buf, size_t size);

typedef struct dh_user {
	int64_t id;                   /* set by the store */
	char login[DH_LOGIN_MAX + 1]; /* unique, [a-z0-9._-] */
	dh_role role;
	char org_siren[DH_SIREN_SIZE];           /* member: its organisation; "" otherwise */
	dh_territory territory;       /* partner: its territory; level ALL otherwise */
	int disabled;                 /* 1: can no longer log in nor use its tokens */
	char created_at[DH_TIMESTAMP_SIZE];          /* UTC "YYYY-MM-DDTHH:MM:SSZ", set by the store */
} dh_user;

/* The caller of the access function: an authenticated user (or the anonymous public). */
typedef struct dh_identity {
	char login[DH_LOGIN_MAX + 1]; /* "public" for the anonymous caller */
	dh_role role;
	char org_siren[DH_SIREN_SIZE];           /* member: its organisation */
	dh_territory territory;       /* partner: its territory */
	char scope[32];               /* token scope, "" when authenticated by password */
	int64_t token_id;             /* the token that authenticated it, 0 for a password or the public */
} dh_identity;

/* The actor (actor.h) to pass to audited functions on behalf of `who`: its token when it
 * came with one, else its login. */
static inline dh_actor dh_identity_actor(const dh_identity *who)
{
	return who->token_id > 0 ? dh_actor_token(who->login, who->token_id) : dh_actor_user(who->login);
}

/* The anonymous public caller (role public, login "public"). */
void dh_identity_public(dh_identity *who);

/* Initialise libsodium. Returns DH_OK or DH_INTERNAL. */
int dh_identity_init(dh_error *err);

/*
 * Add a user with its password (password, len bytes, borrowed; hashed with Argon2id, the
 * MODERATE limits for admin and dpo, INTERACTIVE otherwise). user->id and created_at are
 * filled. Checks: login syntax, member has a valid SIREN of a registered organisation,
 * partner has a territory other than "all", password of 8 to 1024 bytes.
 * Logs "user-add" by `actor`. Returns DH_OK, DH_INVAL (err->field says which), DH_NOTFOUND
 * (unknown organisation), DH_EXISTS (login taken), DH_NOMEM, DH_STORE.
 */
int dh_user_add(dh_store *store, dh_user *user, const char *password, size_t len,
		const dh_actor *actor, dh_error *err);

/* Find a user by login. Returns DH_OK, DH_NOTFOUND, DH_INVAL, DH_STORE. */
int dh_user_get(dh_store *store, const char *login, dh_user *out, dh_error *err);

typedef int (*dh_user_cb)(void *ctx, const dh_user *user);
/* Every user in login order (borrowed for the call). Returns DH_OK, DH_STORE or cb's code. */
int dh_user_list(dh_store *store, dh_user_cb cb, void *ctx, dh_error *err);

/* Disable a user (its tokens stop working too). Logs "user-disable". Returns DH_OK,
 * DH_NOTFOUND, DH_INVAL, DH_STORE. */
int dh_user_disable(dh_store *store, const char *login, const dh_actor *actor, dh_error *err);

/*
 * Check a login and password (crypto_pwhash_str_verify; an unknown login costs the same
 * time as a wrong password). Logs "login" or "login-failed". On success fills *who.
 * Returns DH_OK, DH_AUTH (unknown login, wrong password or disabled user: the same code
 * for all three), DH_STORE, DH_NOMEM.
 */
int dh_user_authenticate(dh_store *store, const char *login, const char *password, size_t len,
			 dh_identity *who, dh_error *err);

/* The identity of a user as the trusted operator sees it (CLI `--as`, tests): no password
 * check, DH_AUTH if disabled. Returns DH_OK, DH_NOTFOUND, DH_AUTH, DH_STORE. */
int dh_identity_of_user(dh_store *store, const char *login, dh_identity *who, dh_error *err);

/* ---- API tokens ---- */

/* "dh_" + 43 characters of unpadded base64url (32 random bytes) + NUL. */
#define DH_TOKEN_TEXT_SIZE 48
#define DH_TOKEN_TEXT_LEN 46 /* strlen of a token */

typedef struct dh_token {
	int64_t id;                   /* set by the store */
	char login[DH_LOGIN_MAX + 1]; /* owner */
	char scope[32];               /* "read:indicators", "write:import", "admin" */
	char created_at[DH_TIMESTAMP_SIZE];          /* UTC, set by the store */
	char expires_at[DH_TIMESTAMP_SIZE];          /* UTC "YYYY-MM-DDTHH:MM:SSZ" */
	int revoked;                  /* 1 once revoked */
} dh_token;

/* 1 if scope is one of the known scopes, 0 otherwise. */
int dh_token_scope_valid(const char *scope);

/*
 * Create a token for `login` with `scope`, valid `days` days (1 to 3650). The clear token
 * is written once into text (DH_TOKEN_TEXT_SIZE bytes); only its hash is stored. *meta (may
 * be NULL) receives the stored record. Logs "token-create". Returns DH_OK, DH_INVAL,
 * DH_NOTFOUND (unknown login), DH_AUTH (disabled user), DH_STORE.
 */
int dh_token_create(dh_store *store, const char *login, const char *scope, int days,
		    char text[DH_TOKEN_TEXT_SIZE], dh_token *meta, const dh_actor *actor, dh_error *err);

/* Revoke token `id`. Logs "token-revoke". Returns DH_OK, DH_NOTFOUND, DH_STORE. */
int dh_token_revoke(dh_store *store, int64_t id, const dh_actor *actor, dh_error *err);

/*
 * The identity behind a clear token (its scope in who->scope). Returns DH_OK; DH_AUTH for
 * a malformed, unknown, revoked or expired token or a disabled user (same code for all);
 * DH_STORE. `now` is the UTC time to compare with ("YYYY-MM-DDTHH:MM:SSZ"; NULL: now).
 */
int dh_token_resolve(dh_store *store, const char *token, const char *now, dh_identity *who,
		     dh_error *err);

typedef int (*dh_token_cb)(void *ctx, const dh_token *token);
/* Tokens of one user (login) or all (NULL), by id. Returns DH_OK, DH_STORE or cb's code. */
int dh_token_list(dh_store *store, const char *login, dh_token_cb cb, void *ctx, dh_error *err);

/* ---- Sharing agreements ---- */

typedef enum dh_audience {
	DH_AUDIENCE_PUBLIC = 0, /* everyone (the public, and every role that reads figures) */
	DH_AUDIENCE_MEMBERS,    /* landlord members and federation analysts */
	DH_AUDIENCE_PARTNER     /* the partner users bound to the territory `partner` (same level
	                           and code: département 53 is not région 53) */
} dh_audience;

/* "public", "members", "partner"; NULL out of range. */
const char *dh_audience_name(dh_audience a);

typedef struct dh_agreement {
	int64_t id;               /* set by the store */
	dh_audience audience;
	dh_territory partner;     /* DH_AUDIENCE_PARTNER: the partner's territory; level ALL otherwise */
	dh_territory territory;   /* scope: the rows must lie inside it (level ALL: everywhere) */
	char indicators[512];     /* "all", "public" (structure class only) or "id,id,..." */
	char purpose[DH_TEXT_SIZE(DH_PURPOSE_MAX)];     /* required text (dh_text_check) */
	char legal_basis[DH_TEXT_SIZE(DH_PURPOSE_MAX)]; /* required text (dh_text_check) */
	char start[DH_DATE_SIZE];           /* "YYYY-MM-DD", first day of validity */
	char end[DH_DATE_SIZE];             /* "YYYY-MM-DD", last day of validity */
	char created_at[DH_TIMESTAMP_SIZE];      /* set by the store */
} dh_agreement;

/*
 * Parse "public", "members" or "partner:LEVEL:CODE" (partner:departement:29,
 * partner:epci:243500139: the level is required) into a->audience and a->partner.
 * Returns DH_OK or DH_INVAL.
 */
int dh_audience_parse(const char *text, dh_agreement *a, dh_error *err);

/*
 * Record an agreement (id and created_at filled). Checks: purpose and legal basis are text
 * of at most DH_PURPOSE_MAX characters (dh_text_check: not blank, valid UTF-8, no control
 * character), valid dates with start <= end, indicators "all", "public" or known ids each
 * named once, a partner territory (level and code) for a partner audience. Logs
 * "agreement-add". Returns DH_OK, DH_INVAL (err->field says which), DH_STORE.
 */
int dh_agreement_add(dh_store *store, dh_agreement *a, const dh_actor *actor, dh_error *err);

typedef int (*dh_agreement_cb)(void *ctx, const dh_agreement *a);
/* Every agreement by id. Returns DH_OK, DH_STORE or cb's code. */
int dh_agreement_list(dh_store *store, dh_agreement_cb cb, void *ctx, dh_error *err);

/* End agreement `id` on `today` ("YYYY-MM-DD"; NULL: today UTC): its end date becomes the
 * day before, so it no longer applies from today on. Logs "agreement-end".
 * Returns DH_OK, DH_NOTFOUND, DH_INVAL, DH_STORE. */
int dh_agreement_end(dh_store *store, int64_t id, const char *today, const dh_actor *actor,
		     dh_error *err);

#endif
