/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * auth.c - who is calling the server: a session cookie opened by POST /api/v1/session
 * (HttpOnly, SameSite=Strict, Secure under TLS) with its CSRF token, or a bearer token of
 * the identity layer (dh_token_resolve). Session ids are 32 random bytes; only their
 * BLAKE2b hash is kept, compared in constant time. Failed logins are slowed per account
 * and per client address (429 with Retry-After), whether the account exists or not, and
 * every failure gets the same answer (no user enumeration). Logins are audited by
 * dh_user_authenticate itself.
 */
#include "server/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_MAX 4096
#define SESSION_SECONDS (8 * 3600)
#define ID_BYTES 32
#define ID_TEXT 44 /* base64url of 32 bytes without padding: 43 + NUL */

typedef struct session {
	unsigned char hash[32];   /* BLAKE2b of the session id; all zero: free slot */
	char csrf[ID_TEXT];
	char login[DH_LOGIN_MAX + 1];
	time_t expires;
} session;

struct srv_sessions {
	pthread_mutex_t lock;
	session slots[SESSION_MAX];
};

int srv_sessions_new(srv_sessions **out)
{
	srv_sessions *s = calloc(1, sizeof(*s));
	if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return DH_NOMEM;
	}
	*out = s;
	return DH_OK;
}

void srv_sessions_free(srv_sessions *s)
{
	if (!s)
		return;
	sodium_memzero(s->slots, sizeof(s->slots));
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void random_text(char out[ID_TEXT])
{
	unsigned char raw[ID_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, ID_TEXT, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static void hash_id(const char *id, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)id, strlen(id), NULL, 0);
}

/* Slot of the session whose id hashes to h, or -1; the scan is over every slot, each
 * compared in constant time. Caller holds the lock. */
static int find_session(srv_sessions *s, const unsigned char h[32], time_t now)
{
	int found = -1;
	for (int i = 0; i < SESSION_MAX; i++)
		if (sodium_memcmp(s->slots[i].hash, h, 32) == 0 && s->slots[i].expires > now)
			found = i;
	return found;
}

/* ---- throttling of failed logins ---- */

#define THROTTLE_MAX 4096
#define THROTTLE_FREE 5       /* failures before slowing down: then 2 s, 4 s, 8 s... */
#define THROTTLE_CAP 300      /* longest wait, seconds */
#define THROTTLE_FORGET 3600  /* an entry without failure for this long is forgotten */

typedef struct throttle_entry {
	char key[80];   /* "a:LOGIN" or "c:ADDRESS" */
	unsigned failures;
	time_t last, until;
} throttle_entry;

struct srv_throttle {
	pthread_mutex_t lock;
	throttle_entry e[THROTTLE_MAX];
};

int srv_throttle_new(srv_throttle **out)
{
	srv_throttle *t = calloc(1, sizeof(*t));
	if (!t || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return DH_NOMEM;
	}
	*out = t;
	return DH_OK;
}

void srv_throttle_free(srv_throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Entry of key (created, replacing the oldest, when create). Caller holds the lock. */
static throttle_entry *throttle_find(srv_throttle *t, const char *key, int create, time_t now)
{
	throttle_entry *oldest = &t->e[0];
	for (int i = 0; i < THROTTLE_MAX; i++) {
		throttle_entry *e = &t->e[i];
		if (e->key[0] && now - e->last > THROTTLE_FORGET)
			e->key[0] = '\0';
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!e->key[0] || e->last < oldest->last)
			oldest = e;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	dh_strlcpy(oldest->key, sizeof(oldest->key), key);
	oldest->last = now;
	return oldest;
}

/* Seconds to wait before another attempt for either key (0: go). */
static long throttle_wait(srv_throttle *t, const char *k1, const char *k2, time_t now)
{
	long wait = 0;
	pthread_mutex_lock(&t->lock);
	const char *keys[2] = { k1, k2 };
	for (int i = 0; i < 2; i++) {
		throttle_entry *e = throttle_find(t, keys[i], 0, now);
		if (e && e->until > now && e->until - now > wait)
			wait = (long)(e->until - now);
	}
	pthread_mutex_unlock(&t->lock);
	return wait;
}

static void throttle_fail(srv_throttle *t, const char *key, time_t now)
{
	pthread_mutex_lock(&t->lock);
	throttle_entry *e = throttle_find(t, key, 1, now);
	e->failures++;
	e->last = now;
	if (e->failures >= THROTTLE_FREE) {
		unsigned shift = e->failures - THROTTLE_FREE;
		long delay = shift >= 8 ? THROTTLE_CAP : 2L << shift;
		e->until = now + (delay > THROTTLE_CAP ? THROTTLE_CAP : delay);
	}
	pthread_mutex_unlock(&t->lock);
}

static void throttle_clear(srv_throttle *t, const char *key, time_t now)
{
	pthread_mutex_lock(&t->lock);
	throttle_entry *e = throttle_find(t, key, 0, now);
	if (e)
		e->key[0] = '\0';
	pthread_mutex_unlock(&t->lock);
}

/* ---- authentication of a request ---- */

/* The value of cookie `name` in the Cookie header into out; 0 if found. */
static int cookie_value(srv_request *req, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
	if (!v || strlen(v) >= size)
		return -1;
	dh_strlcpy(out, size, v);
	return 0;
}

int srv_authenticate(srv_state *st, srv_request *req, struct MHD_Response **problem)
{
	dh_error err;
	dh_error_clear(&err);
	const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
	if (auth) {
		if (strncasecmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != DH_TOKEN_TEXT_LEN) {
			*problem = srv_problem(req, 401, "jeton d'accès invalide, expiré ou révoqué");
			return -1;
		}
		srv_conn *conn = srv_store_get(st);
		int rc = dh_token_resolve(conn->store, auth + 7, NULL, &req->who, &err);
		srv_store_put(conn);
		if (rc != DH_OK) {
			dh_identity_public(&req->who);
			*problem = rc == DH_AUTH ? srv_problem(req, 401, "jeton d'accès invalide, expiré ou révoqué")
						 : srv_problem_error(req, &err);
			return -1;
		}
		req->authenticated = 1;
		return 0;
	}
	char id[ID_TEXT + 4];
	if (cookie_value(req, "dh_session", id, sizeof(id)) != 0)
		return 0; /* the public */
	unsigned char h[32];
	hash_id(id, h);
	sodium_memzero(id, sizeof(id));
	char login[DH_LOGIN_MAX + 1] = "";
	srv_sessions *s = st->sessions;
	pthread_mutex_lock(&s->lock);
	int i = find_session(s, h, time(NULL));
	if (i >= 0)
		dh_strlcpy(login, sizeof(login), s->slots[i].login);
	pthread_mutex_unlock(&s->lock);
	if (i < 0)
		return 0; /* unknown or expired session: the public (a login route answers 401) */
	/* the user as it is now: a disabled user's session stops at once */
	srv_conn *conn = srv_store_get(st);
	int rc = dh_identity_of_user(conn->store, login, &req->who, &err);
	srv_store_put(conn);
	if (rc != DH_OK) {
		dh_identity_public(&req->who);
		return 0;
	}
	req->authenticated = 1;
	req->via_cookie = 1;
	sodium_bin2hex(req->session_hash, sizeof(req->session_hash), h, sizeof(h));
	return 0;
}

int srv_csrf_ok(srv_state *st, srv_request *req)
{
	const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	if (!given || strlen(given) != ID_TEXT - 1)
		return 0;
	unsigned char h[32];
	if (sodium_hex2bin(h, sizeof(h), req->session_hash, 64, NULL, NULL, NULL) != 0)
		return 0;
	int ok = 0;
	srv_sessions *s = st->sessions;
	pthread_mutex_lock(&s->lock);
	int i = find_session(s, h, time(NULL));
	if (i >= 0)
		ok = sodium_memcmp(s->slots[i].csrf, given, ID_TEXT - 1) == 0;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static json_t *identity_json(const dh_identity *who)
{
	json_t *o = json_pack("{s:s, s:s}", "login", who->login, "role", dh_role_name(who->role));
	if (!o)
		return NULL;
	srv_json_binding(o, who->role, who->org_siren, &who->territory);
	json_object_set_new(o, "scope", who->scope[0] ? json_string(who->scope) : json_null());
	return o;
}

struct MHD_Response *srv_h_me(srv_state *st, srv_request *req)
{
	(void)st;
	return srv_json(req, 200, identity_json(&req->who));
}

struct MHD_Response *srv_session_create(srv_state *st, srv_request *req)
{
	struct MHD_Response *problem = NULL;
	json_t *body = srv_body_json(req, &problem);
	if (!body)
		return problem;
	const char *login = json_string_value(json_object_get(body, "login"));
	json_t *pw = json_object_get(body, "password");
	if (!login || !json_is_string(pw)) {
		json_decref(body);
		return srv_problem(req, 400, "« login » et « password » (texte) sont attendus");
	}
	char akey[80], ckey[80];
	snprintf(akey, sizeof(akey), "a:%.64s", login);
	snprintf(ckey, sizeof(ckey), "c:%s", req->client);
	time_t now = time(NULL);
	long wait = throttle_wait(st->throttle, akey, ckey, now);
	if (wait > 0) {
		json_decref(body);
		struct MHD_Response *r = srv_problem(req, 429, "trop d'échecs de connexion : réessayez plus tard");
		char secs[24];
		snprintf(secs, sizeof(secs), "%ld", wait);
		if (r)
			MHD_add_response_header(r, "Retry-After", secs);
		return r;
	}
	dh_identity who;
	dh_error err;
	dh_error_clear(&err);
	int rc = DH_AUTH;
	if (strlen(login) <= DH_LOGIN_MAX) {
		srv_conn *conn = srv_store_get(st);
		rc = dh_user_authenticate(conn->store, login, json_string_value(pw), json_string_length(pw), &who, &err);
		srv_store_put(conn);
	}
	json_decref(body);
	if (rc == DH_AUTH || rc == DH_INVAL || rc == DH_NOTFOUND) {
		now = time(NULL); /* the wait runs from the answer, not from the request */
		throttle_fail(st->throttle, akey, now);
		throttle_fail(st->throttle, ckey, now);
		return srv_problem(req, 401, "identifiant ou mot de passe incorrect");
	}
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	throttle_clear(st->throttle, akey, now);
	char id[ID_TEXT], csrf[ID_TEXT];
	random_text(id);
	random_text(csrf);
	srv_sessions *s = st->sessions;
	pthread_mutex_lock(&s->lock);
	int slot = 0;
	for (int i = 0; i < SESSION_MAX; i++) {
		if (s->slots[i].expires <= now) {
			slot = i;
			break;
		}
		if (s->slots[i].expires < s->slots[slot].expires)
			slot = i; /* full: the session closest to its end gives way */
	}
	session *se = &s->slots[slot];
	hash_id(id, se->hash);
	memcpy(se->csrf, csrf, sizeof(csrf));
	dh_strlcpy(se->login, sizeof(se->login), who.login);
	se->expires = now + SESSION_SECONDS;
	pthread_mutex_unlock(&s->lock);
	snprintf(req->set_cookie, sizeof(req->set_cookie),
		 "dh_session=%s; Path=/api/; Max-Age=%d; HttpOnly; SameSite=Strict%s", id, SESSION_SECONDS,
		 st->tls ? "; Secure" : "");
	sodium_memzero(id, sizeof(id));
	json_t *o = identity_json(&who);
	if (o)
		json_object_set_new(o, "csrf_token", json_string(csrf));
	return srv_json(req, 201, o);
}

struct MHD_Response *srv_session_delete(srv_state *st, srv_request *req)
{
	if (req->via_cookie) {
		unsigned char h[32];
		if (sodium_hex2bin(h, sizeof(h), req->session_hash, 64, NULL, NULL, NULL) == 0) {
			srv_sessions *s = st->sessions;
			pthread_mutex_lock(&s->lock);
			int i = find_session(s, h, time(NULL));
			if (i >= 0)
				memset(&s->slots[i], 0, sizeof(s->slots[i]));
			pthread_mutex_unlock(&s->lock);
		}
	}
	snprintf(req->set_cookie, sizeof(req->set_cookie),
		 "dh_session=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict%s", st->tls ? "; Secure" : "");
	return srv_bytes(req, 204, "text/plain; charset=utf-8", "", 0);
}
