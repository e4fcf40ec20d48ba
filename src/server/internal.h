/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * internal.h - what the files of the HTTP server (`datahabitat serve`, src/server/) share:
 * the server state, the per-request context, the route table entry, response helpers
 * (problem JSON, security headers), sessions and login throttling, metrics. A thin layer on
 * libmicrohttpd: every figure comes from dh_figures_query(), every change goes through the
 * core entry points that audit themselves; the server writes nothing to the audit chain.
 * Not a public header.
 */
#ifndef DH_SERVER_INTERNAL_H
#define DH_SERVER_INTERNAL_H

#include "datahabitat/access.h"
#include "datahabitat/cube.h"
#include "datahabitat/geo.h"
#include "datahabitat/identity.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "server/serve.h"

#define SRV_MAX_PATH_PARAM 64
#define SRV_DISCARD_MAX ((uint64_t)1 << 20) /* body bytes read and dropped past a limit */

typedef struct srv_sessions srv_sessions;
typedef struct srv_throttle srv_throttle;

#define SRV_POOL_MAX 65 /* database connections: one per worker thread, and one more */

/* One connection of the pool: a dh_store is used by one thread at a time. */
typedef struct srv_conn {
	dh_store *store;
	pthread_mutex_t lock;
} srv_conn;

typedef struct srv_state {
	dh_store *store;            /* the first connection of the pool (setup only) */
	srv_conn pool[SRV_POOL_MAX]; /* SQLite in WAL mode: readers in parallel, writers one at
	                                a time (the audit chain appends in BEGIN IMMEDIATE) */
	unsigned npool;
	atomic_uint next_conn;
	dh_geo *geo;                /* read only once loaded */
	dh_cube_holder *cubes;      /* the current cube (swapped after an accepted delivery) */
	_Atomic int64_t cube_built; /* time() of the current cube */
	char spool[1024];           /* uploads arrive in this folder before their import */
	char db[1024];              /* the database, for the connections of long streamed reads */
	int tls;                    /* 1: cookies are Secure */
	atomic_int ready;           /* 1 once the cube is built */
	atomic_int stopping;        /* 1 after SIGTERM: /readyz answers 503 */
	srv_sessions *sessions;
	srv_throttle *throttle;
	uint64_t max_upload;        /* bytes of one delivery */
	atomic_uint_fast64_t deliveries_accepted, deliveries_refused;
} srv_state;

/* Limits of the daemon. */
typedef struct srv_limits {
	unsigned threads;         /* thread pool */
	unsigned max_connections; /* connections at once; more wait in the kernel's backlog */
	unsigned timeout;         /* seconds of inactivity before a connection is closed */
} srv_limits;

/* ---- server.c ---- */
/* Open the state: geography, `connections` database connections, spool folder (emptied),
 * holder, sessions, the cube. Returns a dh_result code (err set); srv_close() in every case. */
int srv_open(srv_state *st, const char *db, const char *ref, unsigned connections, dh_error *err);
/* A free connection of the pool, locked for the caller (waits when all are taken). */
srv_conn *srv_store_get(srv_state *st);
void srv_store_put(srv_conn *c);
/* Start the daemon on sa (TLS when both PEM texts are given); NULL on failure. */
struct MHD_Daemon *srv_start(srv_state *st, const struct sockaddr_in *sa, const srv_limits *lim,
			     const char *cert_pem, const char *key_pem);
/* Stop accepting, let running requests finish (up to grace_seconds), stop the daemon. */
void srv_stop(srv_state *st, struct MHD_Daemon *d, unsigned grace_seconds);
void srv_close(srv_state *st);

struct srv_request;
/* A handler fills req->status and returns the response (NULL: out of memory -> 503). */
typedef struct MHD_Response *(*srv_handler)(srv_state *st, struct srv_request *req);

enum srv_auth {
	SRV_PUBLIC = 0, /* anyone; the identity is the public's unless credentials are given */
	SRV_LOGIN       /* a session or a bearer token is required (401 otherwise) */
};

/* Role bits for srv_route.roles. */
#define SRV_ROLE(r) (1u << (r))
#define SRV_ANY_ROLE 0xFFu

typedef struct srv_route {
	const char *method;   /* "GET", "POST", "DELETE" */
	const char *pattern;  /* "/api/v1/deliveries/{id}/report": {x} matches one segment */
	enum srv_auth auth;
	unsigned roles;       /* roles allowed (SRV_ROLE bits); 403 for the others */
	const char *scope;    /* token scope required (NULL: any); "admin" tokens pass everywhere */
	size_t max_body;      /* bytes accepted in the request body (0: none) */
	int upload;           /* 1: the body is streamed to a spool file, not buffered */
	srv_handler handler;
} srv_route;

typedef struct srv_request {
	struct MHD_Connection *conn;
	const srv_route *route;  /* NULL: no route matched (404/405 answered) */
	int route_index;         /* for metrics: index in the table, or -1 */
	char method[8];
	char param[SRV_MAX_PATH_PARAM]; /* the {x} segment of the path, if any */
	char *body;              /* buffered body (NUL-terminated) */
	size_t body_len, body_cap;
	uint64_t limit;          /* body bytes accepted (the route's, or the upload limit) */
	int too_big;             /* the body passed the limit */
	uint64_t discarded;      /* bytes dropped since (see SRV_DISCARD_MAX) */
	int upload_fd;           /* spool file of an upload, -1 otherwise */
	char upload_path[1100];
	uint64_t upload_len;
	int upload_failed;       /* writing the spool file failed */
	dh_identity who;         /* the caller (public when not authenticated) */
	int authenticated;       /* 1: session or token */
	int via_cookie;          /* 1: authenticated by the session cookie (CSRF applies) */
	char session_hash[65];   /* hash of the session id when via_cookie */
	char client[64];         /* peer address (throttling only; never logged) */
	struct timespec start;
	unsigned status;         /* HTTP status answered */
	atomic_uint_fast64_t bytes; /* body bytes sent */
	atomic_int refs;         /* the connection, plus a streamed response while it lives */
	int queued;              /* a response was queued */
	char set_cookie[256];    /* Set-Cookie to add to the response, "" if none */
} srv_request;

/* ---- http.c: responses ---- */
/* A JSON response (takes json); status set in req. */
struct MHD_Response *srv_json(srv_request *req, unsigned status, json_t *json);
/* An RFC 9457 problem (application/problem+json) with a French detail. */
struct MHD_Response *srv_problem(srv_request *req, unsigned status, const char *detail);
/* The problem for a core error: status from the result table, detail from err. */
struct MHD_Response *srv_problem_error(srv_request *req, const dh_error *err);
/* A response from bytes copied (type: Content-Type). */
struct MHD_Response *srv_bytes(srv_request *req, unsigned status, const char *type, const void *data,
			       size_t len);
/* Take one reference to req for a streamed response; srv_request_release() drops one. */
void srv_request_retain(srv_request *req);
void srv_request_release(srv_request *req);
/* A query argument (NULL if absent). */
const char *srv_arg(srv_request *req, const char *name);
/* The request body parsed as a JSON object; NULL with *problem set otherwise. */
json_t *srv_body_json(srv_request *req, struct MHD_Response **problem);
/* JSON string of text: invalid UTF-8 written \xHH (never lost). */
json_t *srv_json_text(const char *text);
/* Add "organisation" (a member's SIREN) and "territory" (a partner's) to o, null otherwise. */
void srv_json_binding(json_t *o, dh_role role, const char *siren, const dh_territory *t);
/* Current UTC date "YYYY-MM-DD". */
void srv_today(char out[DH_DATE_SIZE]);
/* 1 if text is valid UTF-8 without control characters, 0 otherwise. */
int srv_text_clean(const char *text);

/* The request dispatcher (MHD access handler) and its completion callback. */
enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			   const char *version, const char *upload_data, size_t *upload_data_size,
			   void **con_cls);
void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);

/* ---- routes.c ---- */
extern const srv_route srv_routes[];
extern const size_t srv_nroutes;

/* ---- auth.c: sessions, tokens, throttling ---- */
int srv_sessions_new(srv_sessions **out);
void srv_sessions_free(srv_sessions *s);
int srv_throttle_new(srv_throttle **out);
void srv_throttle_free(srv_throttle *t);
/* Authenticate from the cookie or the bearer token into req->who; a bad credential is
 * a 401 (*problem set), none leaves the public. Returns 0, or -1 with *problem. */
int srv_authenticate(srv_state *st, srv_request *req, struct MHD_Response **problem);
/* 1 if an unsafe request authenticated by cookie carries the session's CSRF token. */
int srv_csrf_ok(srv_state *st, srv_request *req);
struct MHD_Response *srv_session_create(srv_state *st, srv_request *req);
struct MHD_Response *srv_session_delete(srv_state *st, srv_request *req);

/* ---- metrics.c ---- */
void srv_metrics_record(int route_index, unsigned status, double seconds);
struct MHD_Response *srv_metrics_response(srv_state *st, srv_request *req);

/* ---- cube.c: where the cube comes from ---- */
/* Build (or, later, open the persisted snapshot of) the cube and make it current. Holds a
 * connection of the pool while it reads the store. Returns a dh_result code (err set). */
int srv_cube_refresh(srv_state *st, dh_error *err);

/* ---- handlers ---- */
struct MHD_Response *srv_h_health(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_ready(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_openapi(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_me(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_indicators(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_registry(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_territories(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_dates(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_delivery_post(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_deliveries(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_delivery_report(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_stock(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_users(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_user_post(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_user_delete(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_tokens(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_token_post(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_token_delete(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_orgs(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_org_post(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_agreements(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_agreement_post(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_agreement_delete(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_audit(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_gdpr(srv_state *st, srv_request *req);
/* static.c: the web dashboard's files */
struct MHD_Response *srv_h_static_index(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_static_assets(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_static_vendor(srv_state *st, srv_request *req);
struct MHD_Response *srv_h_static_geo(srv_state *st, srv_request *req);

#endif
