/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * accounts.c - administration routes: users, API tokens, organisations and sharing
 * agreements (administrators; any signed-in user for its own tokens), the audit chain
 * (data protection officer) and the GDPR register. Each goes through the core entry point
 * that audits itself, with the caller as actor. A clear token is answered once, at its
 * creation; passwords are never answered nor logged.
 */
#include "server/internal.h"

#include "datahabitat/admin.h"
#include "datahabitat/audit.h"
#include "datahabitat/gdpr.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct MHD_Response *listed(srv_request *req, int rc, const dh_error *err, json_t *list)
{
	if (rc != DH_OK) {
		json_decref(list);
		return srv_problem_error(req, err);
	}
	return srv_json(req, 200, list);
}

static int positive_id(const char *text, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || end == text || v < 1 || !(text[0] >= '1' && text[0] <= '9'))
		return -1;
	*id = (int64_t)v;
	return 0;
}

/* ---- users ---- */

static int user_row(void *cls, const dh_user *u)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "login", u->login, "role", dh_role_name(u->role), "disabled",
			      u->disabled, "created_at", u->created_at);
	if (!o)
		return DH_NOMEM;
	srv_json_binding(o, u->role, u->org_siren, &u->territory);
	return json_array_append_new(cls, o) == 0 ? DH_OK : DH_NOMEM;
}

struct MHD_Response *srv_h_users(srv_state *st, srv_request *req)
{
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_user_list(conn->store, user_row, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	return listed(req, rc, &err, list);
}

struct MHD_Response *srv_h_user_post(srv_state *st, srv_request *req)
{
	struct MHD_Response *problem = NULL;
	json_t *b = srv_body_json(req, &problem);
	if (!b)
		return problem;
	const char *login = json_string_value(json_object_get(b, "login"));
	const char *role = json_string_value(json_object_get(b, "role"));
	const char *org = json_string_value(json_object_get(b, "organisation"));
	const char *territory = json_string_value(json_object_get(b, "territory"));
	json_t *pw = json_object_get(b, "password");
	dh_user u;
	memset(&u, 0, sizeof(u));
	dh_error err;
	dh_error_clear(&err);
	struct MHD_Response *r = NULL;
	int rv = role ? dh_role_parse(role) : -1;
	if (!login || rv < 0 || !json_is_string(pw) || strlen(login) > DH_LOGIN_MAX) {
		r = srv_problem(req, 400, "« login », « role » et « password » sont attendus");
		goto out;
	}
	dh_strlcpy(u.login, sizeof(u.login), login);
	u.role = (dh_role)rv;
	if (org) {
		if (strlen(org) >= sizeof(u.org_siren)) {
			r = srv_problem(req, 400, "SIREN invalide");
			goto out;
		}
		dh_strlcpy(u.org_siren, sizeof(u.org_siren), org);
	}
	if (territory && dh_territory_parse(territory, &u.territory, &err) != DH_OK) {
		r = srv_problem(req, 400, err.message);
		goto out;
	}
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_user_add(conn->store, &u, json_string_value(pw), json_string_length(pw), &actor, &err);
	srv_store_put(conn);
	if (rc != DH_OK) {
		r = srv_problem_error(req, &err);
		goto out;
	}
	json_t *list = json_array();
	user_row(list, &u);
	json_t *one = json_array_get(list, 0);
	json_incref(one);
	json_decref(list);
	r = srv_json(req, 201, one);
out:
	json_decref(b); /* the password's copy goes with it */
	return r;
}

struct MHD_Response *srv_h_user_delete(srv_state *st, srv_request *req)
{
	dh_error err;
	dh_error_clear(&err);
	if (!dh_login_valid(req->param))
		return srv_problem(req, 404, "utilisateur introuvable");
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_user_disable(conn->store, req->param, &actor, &err);
	srv_store_put(conn);
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	return srv_bytes(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* ---- tokens ---- */

static int token_row(void *cls, const dh_token *t)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)t->id, "login", t->login, "scope",
			      t->scope, "created_at", t->created_at, "expires_at", t->expires_at, "revoked", t->revoked);
	return o && json_array_append_new(cls, o) == 0 ? DH_OK : DH_NOMEM;
}

struct MHD_Response *srv_h_tokens(srv_state *st, srv_request *req)
{
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	const char *login = req->who.role == DH_ROLE_ADMIN ? NULL : req->who.login;
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_token_list(conn->store, login, token_row, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	return listed(req, rc, &err, list);
}

struct MHD_Response *srv_h_token_post(srv_state *st, srv_request *req)
{
	struct MHD_Response *problem = NULL;
	json_t *b = srv_body_json(req, &problem);
	if (!b)
		return problem;
	const char *login = json_string_value(json_object_get(b, "login"));
	const char *scope = json_string_value(json_object_get(b, "scope"));
	json_t *days = json_object_get(b, "days");
	struct MHD_Response *r;
	if (!login)
		login = req->who.login;
	if (!scope || !dh_token_scope_valid(scope) || (days && !json_is_integer(days))) {
		r = srv_problem(req, 400, "« scope » (read:indicators, write:import ou admin) et « days » (entier) attendus");
	} else if (req->who.role != DH_ROLE_ADMIN &&
		   (strcmp(login, req->who.login) != 0 || strcmp(scope, "admin") == 0)) {
		r = srv_problem(req, 403, "un utilisateur ne crée de jeton que pour lui-même, sans portée admin");
	} else if (req->who.scope[0]) {
		r = srv_problem(req, 403, "un jeton ne crée pas d'autre jeton : connectez-vous");
	} else {
		json_int_t nd = days ? json_integer_value(days) : 90;
		char text[DH_TOKEN_TEXT_SIZE];
		dh_token meta;
		dh_error err;
		dh_error_clear(&err);
		dh_actor actor = dh_identity_actor(&req->who);
		int rc = DH_INVAL;
		if (nd >= 1 && nd <= 3650) {
			srv_conn *conn = srv_store_get(st);
			rc = dh_token_create(conn->store, login, scope, (int)nd, text, &meta, &actor, &err);
			srv_store_put(conn);
		} else {
			dh_error_set(&err, DH_INVAL, "« days » : de 1 à 3650 jours");
		}
		if (rc != DH_OK) {
			r = srv_problem_error(req, &err);
		} else {
			json_t *list = json_array();
			token_row(list, &meta);
			json_t *o = json_array_get(list, 0);
			json_incref(o);
			json_decref(list);
			if (o)
				json_object_set_new(o, "token", json_string(text));
			sodium_memzero(text, sizeof(text));
			r = srv_json(req, 201, o);
		}
	}
	json_decref(b);
	return r;
}

typedef struct owner_ctx {
	int64_t id;
	const char *login;
	int found;
} owner_ctx;

static int token_owned(void *cls, const dh_token *t)
{
	owner_ctx *o = cls;
	if (t->id == o->id)
		o->found = 1;
	return DH_OK;
}

struct MHD_Response *srv_h_token_delete(srv_state *st, srv_request *req)
{
	int64_t id;
	if (positive_id(req->param, &id) != 0)
		return srv_problem(req, 404, "jeton introuvable");
	dh_error err;
	dh_error_clear(&err);
	owner_ctx o = { id, req->who.login, 0 };
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = DH_OK;
	if (req->who.role != DH_ROLE_ADMIN) /* another user's token does not exist for the caller */
		rc = dh_token_list(conn->store, req->who.login, token_owned, &o, &err);
	else
		o.found = 1;
	if (rc == DH_OK && o.found)
		rc = dh_token_revoke(conn->store, id, &actor, &err);
	srv_store_put(conn);
	if (rc == DH_NOTFOUND || (rc == DH_OK && !o.found))
		return srv_problem(req, 404, "jeton introuvable");
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	return srv_bytes(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* ---- organisations ---- */

static int org_row(void *cls, const dh_org *o)
{
	json_t *j = json_pack("{s:s, s:o, s:s, s:s}", "siren", o->siren, "name", srv_json_text(o->name), "kind",
			      dh_org_kind_name(o->kind), "created_at", o->created_at);
	return j && json_array_append_new(cls, j) == 0 ? DH_OK : DH_NOMEM;
}

struct MHD_Response *srv_h_orgs(srv_state *st, srv_request *req)
{
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_store_org_list(conn->store, org_row, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	return listed(req, rc, &err, list);
}

struct MHD_Response *srv_h_org_post(srv_state *st, srv_request *req)
{
	struct MHD_Response *problem = NULL;
	json_t *b = srv_body_json(req, &problem);
	if (!b)
		return problem;
	const char *siren = json_string_value(json_object_get(b, "siren"));
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *kind = json_string_value(json_object_get(b, "kind"));
	int k = kind ? dh_org_kind_parse(kind) : -1;
	struct MHD_Response *r;
	if (!siren || !name || k < 0 || strlen(siren) >= DH_SIREN_SIZE || strlen(name) >= DH_TEXT_SIZE(DH_NAME_MAX)) {
		r = srv_problem(req, 400, "« siren », « name » et « kind » (OPH, ESH, coop, SEM) attendus");
	} else {
		dh_org o;
		memset(&o, 0, sizeof(o));
		dh_strlcpy(o.siren, sizeof(o.siren), siren);
		dh_strlcpy(o.name, sizeof(o.name), name);
		o.kind = (dh_org_kind)k;
		dh_error err;
		dh_error_clear(&err);
		dh_actor actor = dh_identity_actor(&req->who);
		srv_conn *conn = srv_store_get(st);
		int rc = dh_org_register(conn->store, &actor, &o, &err);
		srv_store_put(conn);
		if (rc != DH_OK) {
			r = srv_problem_error(req, &err);
		} else {
			json_t *list = json_array();
			org_row(list, &o);
			json_t *one = json_array_get(list, 0);
			json_incref(one);
			json_decref(list);
			r = srv_json(req, 201, one);
		}
	}
	json_decref(b);
	return r;
}

/* ---- agreements ---- */

static int agreement_row(void *cls, const dh_agreement *a)
{
	char partner[48], territory[48];
	dh_territory_format(&a->partner, partner, sizeof(partner));
	dh_territory_format(&a->territory, territory, sizeof(territory));
	json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "id", (json_int_t)a->id, "audience",
			      dh_audience_name(a->audience), "territory", territory, "indicators",
			      srv_json_text(a->indicators), "purpose", srv_json_text(a->purpose), "legal_basis",
			      srv_json_text(a->legal_basis), "start", a->start, "end", a->end);
	if (o && a->audience == DH_AUDIENCE_PARTNER)
		json_object_set_new(o, "partner", json_string(partner));
	return o && json_array_append_new(cls, o) == 0 ? DH_OK : DH_NOMEM;
}

struct MHD_Response *srv_h_agreements(srv_state *st, srv_request *req)
{
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_agreement_list(conn->store, agreement_row, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	return listed(req, rc, &err, list);
}

static int copy_text(char *dst, size_t size, json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) >= size)
		return -1;
	dh_strlcpy(dst, size, s);
	return 0;
}

struct MHD_Response *srv_h_agreement_post(srv_state *st, srv_request *req)
{
	struct MHD_Response *problem = NULL;
	json_t *b = srv_body_json(req, &problem);
	if (!b)
		return problem;
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	dh_error err;
	dh_error_clear(&err);
	struct MHD_Response *r = NULL;
	const char *audience = json_string_value(json_object_get(b, "audience"));
	const char *territory = json_string_value(json_object_get(b, "territory"));
	if (!audience || copy_text(a.indicators, sizeof(a.indicators), json_object_get(b, "indicators")) ||
	    copy_text(a.purpose, sizeof(a.purpose), json_object_get(b, "purpose")) ||
	    copy_text(a.legal_basis, sizeof(a.legal_basis), json_object_get(b, "legal_basis")) ||
	    copy_text(a.start, sizeof(a.start), json_object_get(b, "start")) ||
	    copy_text(a.end, sizeof(a.end), json_object_get(b, "end"))) {
		r = srv_problem(req, 400, "« audience », « indicators », « purpose », « legal_basis », « start » et « end » attendus");
		goto out;
	}
	if (dh_audience_parse(audience, &a, &err) != DH_OK ||
	    (territory && dh_territory_parse(territory, &a.territory, &err) != DH_OK)) {
		r = srv_problem(req, 400, err.message);
		goto out;
	}
	if (!territory)
		a.territory.level = DH_LEVEL_ALL;
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_agreement_add(conn->store, &a, &actor, &err);
	srv_store_put(conn);
	if (rc != DH_OK) {
		r = srv_problem_error(req, &err);
		goto out;
	}
	json_t *list = json_array();
	agreement_row(list, &a);
	json_t *one = json_array_get(list, 0);
	json_incref(one);
	json_decref(list);
	r = srv_json(req, 201, one);
out:
	json_decref(b);
	return r;
}

struct MHD_Response *srv_h_agreement_delete(srv_state *st, srv_request *req)
{
	int64_t id;
	if (positive_id(req->param, &id) != 0)
		return srv_problem(req, 404, "convention introuvable");
	dh_error err;
	dh_error_clear(&err);
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_agreement_end(conn->store, id, NULL, &actor, &err);
	srv_store_put(conn);
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	return srv_bytes(req, 204, "text/plain; charset=utf-8", "", 0);
}

/* ---- audit and register ---- */

static int audit_row(void *cls, const dh_audit_entry *e)
{
	json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "seq", (json_int_t)e->seq, "time",
			      srv_json_text(e->time), "actor", srv_json_text(e->actor), "action",
			      srv_json_text(e->action), "object", srv_json_text(e->object), "agreement",
			      (json_int_t)e->agreement, "purpose", srv_json_text(e->purpose), "result",
			      srv_json_text(e->result), "hash", srv_json_text(e->hash));
	json_t *list = cls;
	if (!o || json_array_append_new(list, o) != 0)
		return DH_NOMEM;
	return json_array_size(list) >= 1000 ? DH_EOF : DH_OK; /* one page */
}

struct MHD_Response *srv_h_audit(srv_state *st, srv_request *req)
{
	const char *from_text = srv_arg(req, "from");
	int64_t from = 1;
	if (from_text && positive_id(from_text, &from) != 0)
		return srv_problem(req, 400, "« from » : un numéro d'entrée (1 ou plus) attendu");
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_audit_list(conn->store, from, audit_row, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	return listed(req, rc == DH_EOF ? DH_OK : rc, &err, list);
}

struct MHD_Response *srv_h_gdpr(srv_state *st, srv_request *req)
{
	const char *format = srv_arg(req, "format");
	int json = !format || strcmp(format, "json") == 0;
	if (!json && strcmp(format, "markdown") != 0)
		return srv_problem(req, 400, "format inconnu (json ou markdown)");
	char *text = NULL;
	dh_error err;
	dh_error_clear(&err);
	dh_actor actor = dh_identity_actor(&req->who);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_gdpr_register(conn->store, &actor, json ? DH_GDPR_JSON : DH_GDPR_MARKDOWN, NULL, &text, &err);
	srv_store_put(conn);
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	struct MHD_Response *r = srv_bytes(req, 200, json ? "application/json; charset=utf-8" : "text/markdown; charset=utf-8",
					   text, strlen(text));
	free(text);
	return r;
}
