/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * actor.h - who performs an action, as every audited entry point of the library receives
 * it (audit.h, docs/gdpr.md "Who logs what"). One notion for all callers: the CLI passes
 * its operator, the HTTP server the principal it authenticated (a user or an API token),
 * scheduled work the system. The library writes the audit entry itself; callers never do.
 *
 * An actor is a small value: build it on the stack with the helpers below. `name` is
 * borrowed for the duration of the call. It is written to the audit chain as text
 * (dh_actor_format): "system", the CLI label (or "cli"), the user's login, or
 * "LOGIN/token:ID" for an API token.
 */
#ifndef DATAHABITAT_ACTOR_H
#define DATAHABITAT_ACTOR_H

#include "datahabitat/base.h"

typedef enum dh_actor_kind {
	DH_ACTOR_SYSTEM = 0, /* the platform itself (no person): name unused */
	DH_ACTOR_CLI,        /* an operator at the command line: name is a label ($DATAHABITAT_ACTOR),
	                        not an authentication (whoever opens the file has every right); NULL: "cli" */
	DH_ACTOR_USER,       /* an authenticated user (password): name is its login */
	DH_ACTOR_TOKEN       /* an API token: name is its owner's login, token its id */
} dh_actor_kind;

typedef struct dh_actor {
	dh_actor_kind kind;
	const char *name; /* see the kinds; borrowed */
	int64_t token;    /* DH_ACTOR_TOKEN: the token's id; 0 otherwise */
} dh_actor;

/* Size of the text form (dh_actor_format), NUL included. */
#define DH_ACTOR_TEXT_SIZE 96

static inline dh_actor dh_actor_system(void)
{
	return (dh_actor){ DH_ACTOR_SYSTEM, NULL, 0 };
}

static inline dh_actor dh_actor_cli(const char *label)
{
	return (dh_actor){ DH_ACTOR_CLI, label, 0 };
}

static inline dh_actor dh_actor_user(const char *login)
{
	return (dh_actor){ DH_ACTOR_USER, login, 0 };
}

static inline dh_actor dh_actor_token(const char *login, int64_t token_id)
{
	return (dh_actor){ DH_ACTOR_TOKEN, login, token_id };
}

/*
 * The text written to the audit chain into buf (DH_ACTOR_TEXT_SIZE bytes). Returns DH_OK,
 * or DH_INVAL (NULL actor, unknown kind, user or token without a name, a name longer than
 * 64 bytes or holding a control character, a token id below 1).
 */
int dh_actor_format(const dh_actor *actor, char buf[DH_ACTOR_TEXT_SIZE], dh_error *err);

/* DH_OK if dh_actor_format() accepts the actor, else its DH_INVAL. Audited entry points call
 * it before changing anything, so that nothing is done that could not be logged. */
int dh_actor_check(const dh_actor *actor, dh_error *err);

#endif
