/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * http.c - the request layer of `datahabitat serve`: route matching, authentication and
 * authorisation before any body is read (a refused request is answered at once and its
 * upload discarded), per-route body limits, uploads streamed to a spool file, responses
 * with the security headers, RFC 9457 problems with a French detail, and the JSON-lines
 * access log (method, route template, status, bytes, duration: no query string, no
 * address, no identity, no header).
 */
#include "server/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- responses ---- */

/* CSP and Cache-Control only where the handler set none (the dashboard's files, static.c). */
static void security_headers(struct MHD_Response *r)
{
	if (!MHD_get_response_header(r, "Content-Security-Policy"))
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (!MHD_get_response_header(r, "Cache-Control"))
		MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

struct MHD_Response *srv_bytes(srv_request *req, unsigned status, const char *type, const void *data,
			       size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return NULL;
	MHD_add_response_header(r, "Content-Type", type);
	req->status = status;
	atomic_store(&req->bytes, len);
	return r;
}

struct MHD_Response *srv_json(srv_request *req, unsigned status, json_t *json)
{
	if (!json)
		return NULL;
	char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(json);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	text[len] = '\0';
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	req->status = status;
	atomic_store(&req->bytes, len);
	return r;
}

static const char *status_title(unsigned status)
{
	switch (status) {
	case 400: return "Requête invalide";
	case 401: return "Authentification requise";
	case 403: return "Accès refusé";
	case 404: return "Introuvable";
	case 405: return "Méthode non autorisée";
	case 409: return "Conflit";
	case 413: return "Corps de requête trop grand";
	case 415: return "Type de contenu non pris en charge";
	case 422: return "Données non conformes";
	case 429: return "Trop de tentatives";
	case 503: return "Service indisponible";
	default: return status >= 500 ? "Erreur interne" : "Erreur";
	}
}

struct MHD_Response *srv_problem(srv_request *req, unsigned status, const char *detail)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:o}", "type", "about:blank", "title", status_title(status),
			      "status", (int)status, "detail", srv_json_text(detail));
	if (!o)
		return NULL;
	struct MHD_Response *r = srv_json(req, status, o);
	if (r) {
		MHD_del_response_header(r, "Content-Type", "application/json; charset=utf-8");
		MHD_add_response_header(r, "Content-Type", "application/problem+json; charset=utf-8");
	}
	return r;
}

struct MHD_Response *srv_problem_error(srv_request *req, const dh_error *err)
{
	int code = err->code ? err->code : DH_INTERNAL;
	unsigned status = (unsigned)dh_result_http_status(code);
	if (status < 400)
		status = 500;
	/* internal failures say no more than the table's message (no paths, no SQL) */
	const char *detail = status >= 500 || !err->message[0] ? dh_result_message(code) : err->message;
	return srv_problem(req, status, detail);
}

json_t *srv_json_text(const char *text)
{
	if (!text)
		return json_null();
	json_t *s = json_string(text);
	if (s)
		return s;
	/* not UTF-8: each offending byte written \xHH */
	size_t n = strlen(text);
	char *buf = malloc(4 * n + 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = dh_utf8_seq(text + i, n - i);
		if (k == 0) {
			o += (size_t)sprintf(buf + o, "\\x%02X", (unsigned char)text[i]);
			i++;
		} else {
			memcpy(buf + o, text + i, k);
			o += k;
			i += k;
		}
	}
	buf[o] = '\0';
	s = json_string(buf);
	free(buf);
	return s;
}

void srv_json_binding(json_t *o, dh_role role, const char *siren, const dh_territory *t)
{
	char territory[48];
	dh_territory_format(t, territory, sizeof(territory));
	json_object_set_new(o, "organisation", siren[0] ? json_string(siren) : json_null());
	json_object_set_new(o, "territory", role == DH_ROLE_PARTNER ? json_string(territory) : json_null());
}

int srv_text_clean(const char *text)
{
	size_t n = strlen(text);
	for (size_t i = 0; i < n;) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return 0;
		size_t k = dh_utf8_seq(text + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

void srv_today(char out[DH_DATE_SIZE])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char buf[32];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	dh_strlcpy(out, DH_DATE_SIZE, buf);
}

const char *srv_arg(srv_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *srv_body_json(srv_request *req, struct MHD_Response **problem)
{
	const char *type = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type");
	if (!type || strncasecmp(type, "application/json", 16) != 0) {
		*problem = srv_problem(req, 415, "le corps de la requête doit être du JSON (Content-Type: application/json)");
		return NULL;
	}
	json_error_t jerr;
	json_t *j = req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!j || !json_is_object(j)) {
		json_decref(j);
		*problem = srv_problem(req, 400, "corps JSON mal formé : un objet JSON est attendu");
		return NULL;
	}
	return j;
}

/* ---- request contexts ---- */

void srv_request_retain(srv_request *req)
{
	atomic_fetch_add(&req->refs, 1);
}

void srv_request_release(srv_request *req)
{
	if (atomic_fetch_sub(&req->refs, 1) != 1)
		return;
	if (req->upload_fd >= 0)
		close(req->upload_fd);
	if (req->upload_path[0])
		unlink(req->upload_path);
	free(req->body);
	free(req);
}

/* Match path against pattern: 1 if it matches ({x} one non-empty segment copied in param). */
static int match(const char *pattern, const char *path, char *param, size_t size)
{
	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *end = strchr(pattern, '}');
			size_t seg = strcspn(path, "/");
			if (!end || seg == 0 || seg >= size)
				return 0;
			memcpy(param, path, seg);
			param[seg] = '\0';
			pattern = end + 1;
			path += seg;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static const char *route_name(const srv_request *req)
{
	return req->route ? req->route->pattern : "none";
}

static void access_log(const srv_request *req)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	double secs = (double)(end.tv_sec - req->start.tv_sec) + (double)(end.tv_nsec - req->start.tv_nsec) / 1e9;
	srv_metrics_record(req->route_index, req->status, secs);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	/* the route template, never the path: it may hold an identifier or a login */
	fprintf(stderr,
		"{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"method\":\"%s\",\"route\":\"%s\","
		"\"status\":%u,\"bytes\":%llu,\"duration_ms\":%.3f}\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		now.tv_nsec / 1000000, req->method, route_name(req), req->status,
		(unsigned long long)atomic_load(&req->bytes), secs * 1000.0);
}

static enum MHD_Result queue(srv_request *req, struct MHD_Response *r)
{
	if (!r) {
		static const char nomem[] = "{\"type\":\"about:blank\",\"title\":\"Service indisponible\","
					    "\"status\":503,\"detail\":\"mémoire insuffisante\"}";
		r = MHD_create_response_from_buffer(sizeof(nomem) - 1, (void *)(uintptr_t)nomem,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", "application/problem+json; charset=utf-8");
		req->status = 503;
		atomic_store(&req->bytes, sizeof(nomem) - 1);
	}
	security_headers(r);
	if (req->set_cookie[0])
		MHD_add_response_header(r, "Set-Cookie", req->set_cookie);
	if (req->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"datahabitat\"");
	enum MHD_Result ret = MHD_queue_response(req->conn, req->status, r);
	MHD_destroy_response(r);
	req->queued = 1;
	return ret;
}

/* The client's address as a throttling key: IPv4 address, or the /64 of an IPv6 one
 * (the port is left out: it changes with every connection). Never logged. */
static void client_key(const struct sockaddr *sa, char *out, size_t size)
{
	const unsigned char *a = NULL;
	size_t n = 0;
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		a = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		n = 8;
	}
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02x", a[i]);
}

static int unsafe_method(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* First call for a request: route, identity, rights, limits. Returns NULL to go on, or
 * the response that ends the request now (its body, if any, is then discarded). */
static struct MHD_Response *admit(srv_state *st, srv_request *req, const char *url)
{
	if (strlen(url) > 1024 || !srv_text_clean(url))
		return srv_problem(req, 400, "chemin invalide");
	int path_matched = 0;
	for (size_t i = 0; i < srv_nroutes; i++) {
		char param[SRV_MAX_PATH_PARAM] = "";
		if (!match(srv_routes[i].pattern, url, param, sizeof(param)))
			continue;
		path_matched = 1;
		if (strcmp(srv_routes[i].method, req->method) != 0 &&
		    !(strcmp(req->method, "HEAD") == 0 && strcmp(srv_routes[i].method, "GET") == 0))
			continue;
		req->route = &srv_routes[i];
		req->route_index = (int)i;
		memcpy(req->param, param, sizeof(param));
		break;
	}
	if (!req->route)
		return path_matched ? srv_problem(req, 405, "méthode non autorisée pour cette ressource")
				    : srv_problem(req, 404, "ressource inconnue");
	const srv_route *rt = req->route;
	if (atomic_load(&st->stopping) && rt->upload)
		return srv_problem(req, 503, "le serveur s'arrête : réessayez plus tard");
	struct MHD_Response *problem = NULL;
	if (srv_authenticate(st, req, &problem) != 0)
		return problem;
	if (rt->auth == SRV_LOGIN && !req->authenticated)
		return srv_problem(req, 401, "authentification requise (session ou jeton)");
	if (!(rt->roles & SRV_ROLE(req->who.role)))
		return srv_problem(req, 403, "votre rôle ne donne pas accès à cette ressource");
	if (rt->scope && req->who.scope[0] && strcmp(req->who.scope, rt->scope) != 0 &&
	    strcmp(req->who.scope, "admin") != 0)
		return srv_problem(req, 403, "la portée de ce jeton ne couvre pas cette ressource");
	if (unsafe_method(req->method) && req->via_cookie && !srv_csrf_ok(st, req))
		return srv_problem(req, 403, "jeton CSRF absent ou invalide (en-tête X-CSRF-Token)");
	req->limit = rt->upload ? st->max_upload : rt->max_body;
	const char *clen = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
	if (clen) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(clen, &end, 10);
		if (errno || *end || end == clen)
			return srv_problem(req, 400, "en-tête Content-Length invalide");
		if (n > req->limit)
			return srv_problem(req, 413, "corps de requête trop grand pour cette ressource");
	}
	if (rt->upload) {
		snprintf(req->upload_path, sizeof(req->upload_path), "%s/upload-XXXXXX", st->spool);
		req->upload_fd = mkstemp(req->upload_path);
		if (req->upload_fd < 0) {
			req->upload_path[0] = '\0';
			return srv_problem(req, 503, "espace de réception indisponible");
		}
	}
	return NULL;
}

/* Body bytes: buffered up to the route's limit, or appended to the spool file. */
static int take_body(srv_request *req, const char *data, size_t n)
{
	const srv_route *rt = req->route;
	uint64_t have = rt->upload ? req->upload_len : req->body_len;
	if (have + n > req->limit) {
		req->too_big = 1;
		return -1;
	}
	if (rt->upload) {
		while (n && !req->upload_failed) {
			ssize_t w = write(req->upload_fd, data, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				req->upload_failed = 1;
				break;
			}
			data += w;
			n -= (size_t)w;
			req->upload_len += (uint64_t)w;
		}
		return req->upload_failed ? -1 : 0;
	}
	if (req->body_len + n + 1 > req->body_cap) {
		size_t cap = req->body_cap ? req->body_cap : 1024;
		while (cap < req->body_len + n + 1)
			cap *= 2;
		char *b = realloc(req->body, cap);
		if (!b)
			return -1;
		req->body = b;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
	return 0;
}

enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			   const char *version, const char *upload_data, size_t *upload_data_size,
			   void **con_cls)
{
	(void)version;
	srv_state *st = cls;
	srv_request *req = *con_cls;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		atomic_init(&req->refs, 1);
		req->conn = conn;
		req->route_index = -1;
		req->upload_fd = -1;
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		dh_strlcpy(req->method, sizeof(req->method), method);
		dh_identity_public(&req->who);
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr)
			client_key(ci->client_addr, req->client, sizeof(req->client));
		*con_cls = req;
		struct MHD_Response *early = admit(st, req, url);
		if (early || req->status)
			return queue(req, early);
		return MHD_YES;
	}
	if (req->queued) { /* answered early: the rest of the upload is discarded */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->too_big) {
			/* past the limit: read and drop up to SRV_DISCARD_MAX more so that the client
			 * gets its 413; past that, answer now and let the connection close */
			req->discarded += n;
			if (req->discarded > SRV_DISCARD_MAX)
				return queue(req, srv_problem(req, 413, "corps de requête trop grand pour cette ressource"));
			return MHD_YES;
		}
		if (take_body(req, upload_data, n) != 0 && !req->too_big)
			return queue(req, srv_problem(req, 503, "réception du corps impossible"));
		return MHD_YES;
	}
	if (req->too_big)
		return queue(req, srv_problem(req, 413, "corps de requête trop grand pour cette ressource"));
	if (req->upload_fd >= 0) {
		if (fsync(req->upload_fd) != 0 || close(req->upload_fd) != 0)
			req->upload_failed = 1;
		req->upload_fd = -1;
		if (req->upload_failed)
			return queue(req, srv_problem(req, 503, "réception du fichier impossible"));
	}
	return queue(req, req->route->handler(st, req));
}

void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	srv_request *req = *con_cls;
	if (!req)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->queued)
		req->status = 499; /* the client went away (or timed out) before the answer */
	access_log(req);
	*con_cls = NULL;
	srv_request_release(req);
}
