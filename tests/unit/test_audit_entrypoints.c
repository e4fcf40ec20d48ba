/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_audit_entrypoints.c - every entry point of the library that changes data or reads
 * people's data writes exactly one audit entry, with the action and the actor given by its
 * caller (docs/gdpr.md "Who logs what"). The list below is the list of audited entry
 * points: a new one belongs here.
 */
#include "testutil.h"

#include "datahabitat/access.h"
#include "datahabitat/admin.h"
#include "datahabitat/audit.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/gdpr.h"
#include "datahabitat/identity.h"
#include "datahabitat/import.h"
#include "datahabitat/pseudo.h"

#define SIREN "443061841"

static char *dir;
static char location[4200];
static dh_geo *geo;
static dh_store *store;

static const dh_actor operator_actor = { DH_ACTOR_CLI, "operateur", 0 };

typedef struct last_entry {
	int64_t count;
	dh_audit_entry last;
} last_entry;

static int keep_last(void *ctx, const dh_audit_entry *e)
{
	last_entry *l = ctx;
	l->count++;
	l->last = *e;
	return DH_OK;
}

static last_entry chain(void)
{
	last_entry l;
	memset(&l, 0, sizeof(l));
	dh_error err;
	assert_int_equal(dh_audit_list(store, 1, keep_last, &l, &err), DH_OK);
	return l;
}

/* The call just made added exactly one entry, with this action, actor and result. */
static void one_entry(const char *call, int64_t before, const char *action, const char *actor, const char *result)
{
	last_entry l = chain();
	if (l.count != before + 1)
		fail_msg("%s: %lld audit entries written, 1 expected", call, (long long)(l.count - before));
	assert_string_equal(l.last.action, action);
	assert_string_equal(l.last.actor, actor);
	assert_string_equal(l.last.result, result);
}

static int count_rows(void *ctx, const dh_rpls_row *row, const char *commune)
{
	(void)row;
	(void)commune;
	++*(int *)ctx;
	return DH_OK;
}

static int setup(void **state)
{
	(void)state;
	dh_error err;
	dir = dh_tmpdir();
	snprintf(location, sizeof(location), "%s/ep.db", dir);
	return dh_geo_load(&geo, dh_src_path("data/ref"), &err) == DH_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dh_store_close(store);
	dh_geo_free(geo);
	dh_rmtree(dir);
	return 0;
}

static void every_entry_point_logs_once(void **state)
{
	(void)state;
	dh_error err;
	int64_t n;

	/* dh_store_init: creation, then again on the existing store. */
	dh_init_result init;
	assert_int_equal(dh_store_init(location, geo, &operator_actor, 0, &init, &store, &err), DH_OK);
	assert_true(init.pseudo_key_created && init.audit_key_created && !init.already);
	one_entry("dh_store_init", 0, "init", "operateur", "ok");
	dh_store_close(store);
	store = NULL;
	dh_actor sys = dh_actor_system();
	assert_int_equal(dh_store_init(location, geo, &sys, 0, &init, &store, &err), DH_OK);
	assert_true(init.already && !init.pseudo_key_created && !init.audit_key_created);
	one_entry("dh_store_init (existing)", 1, "init", "system", "ok");

	/* dh_org_register: accepted, then the same SIREN refused. */
	dh_org org;
	memset(&org, 0, sizeof(org));
	snprintf(org.siren, sizeof(org.siren), SIREN);
	snprintf(org.name, sizeof(org.name), "Office");
	n = chain().count;
	assert_int_equal(dh_org_register(store, &operator_actor, &org, &err), DH_OK);
	one_entry("dh_org_register", n, "org-add", "operateur", "ok");
	n++;
	assert_int_equal(dh_org_register(store, &operator_actor, &org, &err), DH_EXISTS);
	one_entry("dh_org_register (existing)", n, "org-add", "operateur", "refused");

	/* dh_import_file, by an API token's owner. */
	dh_import_options io;
	dh_import_options_init(&io);
	io.siren = SIREN;
	io.reference_date = "2023-01-01";
	dh_actor tok = dh_actor_token("bailleur.a", 12);
	io.actor = &tok;
	dh_import_result res;
	n = chain().count;
	assert_int_equal(dh_import_file(store, geo, dh_src_path("tests/data/store/stock-2023.csv"), &io, &res, &err), DH_OK);
	dh_import_result_release(&res);
	one_entry("dh_import_file", n, "import", "bailleur.a/token:12", "ok");

	/* dh_stock_export: found (logged before the rows), then no delivery at that date. */
	int rows = 0;
	n = chain().count;
	assert_int_equal(dh_stock_export(store, &operator_actor, SIREN, NULL, NULL, count_rows, &rows, &err), DH_OK);
	assert_true(rows > 0);
	one_entry("dh_stock_export", n, "export", "operateur", "ok");
	n++;
	assert_int_equal(dh_stock_export(store, &operator_actor, SIREN, "2001-01-01", NULL, count_rows, &rows, &err),
			 DH_NOTFOUND);
	one_entry("dh_stock_export (none)", n, "export", "operateur", "refused");

	/* Users, logins, tokens. */
	dh_user u;
	memset(&u, 0, sizeof(u));
	snprintf(u.login, sizeof(u.login), "alice");
	u.role = DH_ROLE_MEMBER;
	snprintf(u.org_siren, sizeof(u.org_siren), SIREN);
	n = chain().count;
	assert_int_equal(dh_user_add(store, &u, "motdepasse8", 11, &operator_actor, &err), DH_OK);
	one_entry("dh_user_add", n, "user-add", "operateur", "ok");
	dh_identity who;
	n = chain().count;
	assert_int_equal(dh_user_authenticate(store, "alice", "motdepasse8", 11, &who, &err), DH_OK);
	one_entry("dh_user_authenticate", n, "login", "alice", "ok");
	n++;
	assert_int_equal(dh_user_authenticate(store, "alice", "mauvais!!", 9, &who, &err), DH_AUTH);
	one_entry("dh_user_authenticate (wrong)", n, "login-failed", "alice", "denied");
	char text[DH_TOKEN_TEXT_SIZE];
	dh_token meta;
	n = chain().count;
	assert_int_equal(dh_token_create(store, "alice", "read:indicators", 30, text, &meta, &operator_actor, &err), DH_OK);
	one_entry("dh_token_create", n, "token-create", "operateur", "ok");

	/* Figures: the token's holder asks; its actor says which token. */
	dh_identity holder;
	assert_int_equal(dh_token_resolve(store, text, NULL, &holder, &err), DH_OK);
	dh_cube *cube;
	assert_int_equal(dh_cube_build_from_store(store, geo, &cube, NULL, &err), DH_OK);
	dh_figures_request req = { .level = DH_LEVEL_COMMUNE, .reference_date = 20230101 };
	dh_figures_result *fig = NULL;
	n = chain().count;
	assert_int_equal(dh_figures_query(store, geo, cube, &holder, &req, &fig, &err), DH_DENIED); /* no agreement */
	char token_actor[96];
	snprintf(token_actor, sizeof(token_actor), "alice/token:%lld", (long long)meta.id);
	one_entry("dh_figures_query (denied)", n, "query", token_actor, "denied");

	/* Agreements. */
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(dh_audience_parse("public", &a, &err), DH_OK);
	assert_int_equal(dh_territory_parse("all", &a.territory, &err), DH_OK);
	snprintf(a.indicators, sizeof(a.indicators), "all");
	snprintf(a.purpose, sizeof(a.purpose), "Observatoire");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "Mission de service public");
	snprintf(a.start, sizeof(a.start), "2020-01-01");
	snprintf(a.end, sizeof(a.end), "2099-12-31");
	n = chain().count;
	assert_int_equal(dh_agreement_add(store, &a, &operator_actor, &err), DH_OK);
	one_entry("dh_agreement_add", n, "agreement-add", "operateur", "ok");
	dh_identity public_who;
	dh_identity_public(&public_who);
	n = chain().count;
	assert_int_equal(dh_figures_query(store, geo, cube, &public_who, &req, &fig, &err), DH_OK);
	dh_figures_result_free(fig);
	one_entry("dh_figures_query", n, "query", "public", "ok");
	dh_cube_release(cube);
	n = chain().count;
	assert_int_equal(dh_agreement_end(store, a.id, NULL, &operator_actor, &err), DH_OK);
	one_entry("dh_agreement_end", n, "agreement-end", "operateur", "ok");
	n = chain().count;
	assert_int_equal(dh_token_revoke(store, meta.id, &operator_actor, &err), DH_OK);
	one_entry("dh_token_revoke", n, "token-revoke", "operateur", "ok");
	n = chain().count;
	assert_int_equal(dh_user_disable(store, "alice", &operator_actor, &err), DH_OK);
	one_entry("dh_user_disable", n, "user-disable", "operateur", "ok");

	/* Key rotation and the GDPR register. */
	n = chain().count;
	assert_int_equal(dh_pseudo_rotate(store, init.pseudo_key_path, &operator_actor, NULL, &err), DH_OK);
	one_entry("dh_pseudo_rotate", n, "key-rotate", "operateur", "ok");
	char *reg = NULL;
	n = chain().count;
	assert_int_equal(dh_gdpr_register(store, &operator_actor, DH_GDPR_JSON, "2025-01-01", &reg, &err), DH_OK);
	free(reg);
	one_entry("dh_gdpr_register", n, "gdpr-register", "operateur", "ok");

	/* A call refused for its actor writes nothing and changes nothing. */
	dh_actor bad = dh_actor_user(NULL);
	n = chain().count;
	memset(&org, 0, sizeof(org));
	snprintf(org.siren, sizeof(org.siren), "732829320");
	snprintf(org.name, sizeof(org.name), "Essai");
	assert_int_equal(dh_org_register(store, &bad, &org, &err), DH_INVAL);
	assert_int_equal(dh_org_register(store, NULL, &org, &err), DH_INVAL);
	memset(&u, 0, sizeof(u));
	snprintf(u.login, sizeof(u.login), "bob");
	u.role = DH_ROLE_ANALYST;
	assert_int_equal(dh_user_add(store, &u, "motdepasse8", 11, &bad, &err), DH_INVAL);
	assert_int_equal(dh_agreement_add(store, &a, NULL, &err), DH_INVAL);
	io.actor = &bad;
	io.reference_date = "2024-01-01";
	assert_int_equal(dh_import_file(store, geo, dh_src_path("tests/data/store/stock-2023.csv"), &io, &res, &err),
			 DH_INVAL);
	assert_int_equal(chain().count, n);
	assert_int_equal(dh_store_org_get(store, "732829320", &org, &err), DH_NOTFOUND);
	assert_int_equal(dh_user_get(store, "bob", &u, &err), DH_NOTFOUND);

	dh_audit_check check;
	assert_int_equal(dh_audit_verify(store, &check, &err), DH_OK);
	assert_int_equal(check.entries, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_entry_point_logs_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
