/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * routes.c - the route table of `datahabitat serve` (method, path template, who may call
 * it, token scope, body limit) and the operational routes: /healthz, /readyz, /metrics,
 * /openapi.json (src/server/openapi.json, embedded in the binary at build time).
 * tests/server/run asserts every route x role cell against a running server, and that
 * openapi.json describes exactly these routes.
 */
#include "server/internal.h"

#define M SRV_ROLE(DH_ROLE_MEMBER)
#define A SRV_ROLE(DH_ROLE_ANALYST)
#define P SRV_ROLE(DH_ROLE_PARTNER)
#define U SRV_ROLE(DH_ROLE_PUBLIC)
#define D SRV_ROLE(DH_ROLE_ADMIN)
#define O SRV_ROLE(DH_ROLE_DPO)
#define ALL SRV_ANY_ROLE
#define KB 1024u

const srv_route srv_routes[] = {
	{ "GET", "/healthz", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_health },
	{ "GET", "/readyz", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_ready },
	{ "GET", "/metrics", SRV_PUBLIC, ALL, NULL, 0, 0, srv_metrics_response },
	{ "GET", "/openapi.json", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_openapi },
	{ "GET", "/", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_static_index },
	{ "GET", "/assets/{file}", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_static_assets },
	{ "GET", "/vendor/{file}", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_static_vendor },
	{ "GET", "/geo/{file}", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_static_geo },
	{ "POST", "/api/v1/session", SRV_PUBLIC, ALL, NULL, 4 * KB, 0, srv_session_create },
	{ "DELETE", "/api/v1/session", SRV_LOGIN, ALL, NULL, 0, 0, srv_session_delete },
	{ "GET", "/api/v1/me", SRV_LOGIN, ALL, NULL, 0, 0, srv_h_me },
	{ "GET", "/api/v1/indicators", SRV_PUBLIC, ALL, "read:indicators", 0, 0, srv_h_indicators },
	{ "GET", "/api/v1/indicators/registry", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_registry },
	{ "GET", "/api/v1/territories", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_territories },
	{ "GET", "/api/v1/dates", SRV_PUBLIC, ALL, NULL, 0, 0, srv_h_dates },
	{ "POST", "/api/v1/deliveries", SRV_LOGIN, M, "write:import", (size_t)1 << 42, 1, srv_h_delivery_post },
	{ "GET", "/api/v1/deliveries", SRV_LOGIN, M | D, NULL, 0, 0, srv_h_deliveries },
	{ "GET", "/api/v1/deliveries/{id}/report", SRV_LOGIN, M | D, NULL, 0, 0, srv_h_delivery_report },
	{ "GET", "/api/v1/stock", SRV_LOGIN, M, NULL, 0, 0, srv_h_stock },
	{ "GET", "/api/v1/users", SRV_LOGIN, D, "admin", 0, 0, srv_h_users },
	{ "POST", "/api/v1/users", SRV_LOGIN, D, "admin", 8 * KB, 0, srv_h_user_post },
	{ "DELETE", "/api/v1/users/{login}", SRV_LOGIN, D, "admin", 0, 0, srv_h_user_delete },
	{ "GET", "/api/v1/tokens", SRV_LOGIN, ALL & ~U, NULL, 0, 0, srv_h_tokens },
	{ "POST", "/api/v1/tokens", SRV_LOGIN, ALL & ~U, NULL, 4 * KB, 0, srv_h_token_post },
	{ "DELETE", "/api/v1/tokens/{id}", SRV_LOGIN, ALL & ~U, NULL, 0, 0, srv_h_token_delete },
	{ "GET", "/api/v1/organisations", SRV_LOGIN, D, "admin", 0, 0, srv_h_orgs },
	{ "POST", "/api/v1/organisations", SRV_LOGIN, D, "admin", 8 * KB, 0, srv_h_org_post },
	{ "GET", "/api/v1/agreements", SRV_LOGIN, D | O, NULL, 0, 0, srv_h_agreements },
	{ "POST", "/api/v1/agreements", SRV_LOGIN, D, "admin", 16 * KB, 0, srv_h_agreement_post },
	{ "DELETE", "/api/v1/agreements/{id}", SRV_LOGIN, D, "admin", 0, 0, srv_h_agreement_delete },
	{ "GET", "/api/v1/audit", SRV_LOGIN, O, NULL, 0, 0, srv_h_audit },
	{ "GET", "/api/v1/gdpr/register", SRV_LOGIN, O | D, NULL, 0, 0, srv_h_gdpr },
};
const size_t srv_nroutes = sizeof(srv_routes) / sizeof(srv_routes[0]);

struct MHD_Response *srv_h_health(srv_state *st, srv_request *req)
{
	(void)st;
	return srv_bytes(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

struct MHD_Response *srv_h_ready(srv_state *st, srv_request *req)
{
	if (!atomic_load(&st->ready) || atomic_load(&st->stopping))
		return srv_problem(req, 503, atomic_load(&st->stopping) ? "le serveur s'arrête" : "cube en construction");
	return srv_bytes(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
}

/* src/server/openapi.json, embedded (the Makefile makes routes.o depend on it). */
__asm__(".section .rodata\n"
	".global dh__srv_openapi\n"
	"dh__srv_openapi:\n"
	".incbin \"src/server/openapi.json\"\n"
	".global dh__srv_openapi_end\n"
	"dh__srv_openapi_end:\n"
	".byte 0\n"
	".previous\n");
extern const char dh__srv_openapi[], dh__srv_openapi_end[];

struct MHD_Response *srv_h_openapi(srv_state *st, srv_request *req)
{
	(void)st;
	return srv_bytes(req, 200, "application/json", dh__srv_openapi,
			 (size_t)(dh__srv_openapi_end - dh__srv_openapi));
}
