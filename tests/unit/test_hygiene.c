/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_hygiene.c - regression tests for input and output hygiene (issue 10, points 7 to 10)
 * on a small generated Bretagne region imported into a temporary store: list arguments of
 * figure requests, cube queries, filters and agreements are bounded and free of duplicates
 * (a 65-indicator request once overflowed a heap array); partner audiences are bound to a
 * level and a code (an agreement for département 53 is not one for région 53) and old
 * agreements are migrated; stored text is valid UTF-8 without control characters, not
 * blank and within its documented length, and audit details are made storable; the
 * database, its WAL and SHM are created 0600 whatever the umask.
 */
#include "testutil.h"
#include "region_store.h"

#include "datahabitat/access.h"
#include "datahabitat/audit.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/gen.h"
#include "datahabitat/identity.h"
#include "datahabitat/import.h"
#include "datahabitat/pseudo.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

static char *dir;
static dh_store *store;
static dh_geo *geo;
static dh_cube *cube;
static char stock_dir[4200];
static char first_siren[10];

static int setup(void **state)
{
	(void)state;
	dh_error err;
	dir = dh_tmpdir();
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK)
		return -1;
	char sirens[1][10];
	if (dh_test_region_store(dir, geo, "53", 2000, 4, 11, &store, sirens, 1, stock_dir, sizeof(stock_dir)) != 0 ||
	    dh_cube_build_from_store(store, geo, &cube, NULL, &err) != DH_OK)
		return -1;
	snprintf(first_siren, sizeof(first_siren), "%s", sirens[0]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dh_cube_release(cube);
	dh_store_close(store);
	dh_geo_free(geo);
	dh_rmtree(dir);
	return 0;
}

static dh_identity ident(dh_role role, const char *territory)
{
	dh_identity who;
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "u-%s", dh_role_name(role));
	who.role = role;
	assert_int_equal(dh_territory_parse(territory ? territory : "all", &who.territory, NULL), DH_OK);
	return who;
}

static int add_agreement(const char *audience, const char *territory, const char *inds,
			 const char *purpose, int64_t *id)
{
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	dh_error err;
	int rc = dh_audience_parse(audience, &a, &err);
	if (rc != DH_OK)
		return rc;
	assert_int_equal(dh_territory_parse(territory, &a.territory, &err), DH_OK);
	snprintf(a.indicators, sizeof(a.indicators), "%s", inds);
	snprintf(a.purpose, sizeof(a.purpose), "%s", purpose);
	snprintf(a.legal_basis, sizeof(a.legal_basis), "Convention de test");
	snprintf(a.start, sizeof(a.start), "2025-01-01");
	snprintf(a.end, sizeof(a.end), "2030-12-31");
	dh_actor actor = dh_actor_cli("test");
	rc = dh_agreement_add(store, &a, &actor, &err);
	if (id)
		*id = a.id;
	return rc;
}

static int figures(const dh_identity *who, dh_level level, const int *inds, size_t n)
{
	dh_figures_request req = { .level = level, .reference_date = 20250101, .indicators = inds,
				   .nindicators = n, .today = "2025-06-01" };
	dh_figures_result *r = NULL;
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_figures_query(store, geo, cube, who, &req, &r, &err);
	dh_figures_result_free(r);
	return rc;
}

/* Point 8: indicator lists longer than the registry or with repeats are refused, quickly,
 * at every entry point; so are filter sets and agreement lists with repeats. */
static void test_list_arguments(void **state)
{
	(void)state;
	int64_t pub_id;
	assert_int_equal(add_agreement("public", "all", "all", "Observatoire", &pub_id), DH_OK);
	dh_identity pub = ident(DH_ROLE_PUBLIC, NULL);
	size_t count = dh_indicator_count();
	int *many = malloc(5000 * sizeof(int));
	assert_non_null(many);
	for (size_t i = 0; i < 5000; i++)
		many[i] = (int)(i % count);
	assert_true(count <= DH_QUERY_MAX_INDICATORS && DH_QUERY_MAX_INDICATORS <= DH_CUBE_MAX_COLUMNS);
	int nb_ls = dh_indicator_find(DH_STR_LIT("nb_ls"));
	int ok[2] = { nb_ls, dh_indicator_find(DH_STR_LIT("loues")) };
	assert_int_equal(figures(&pub, DH_LEVEL_DEPARTEMENT, ok, 2), DH_OK);
	/* one more than the registry holds (65 once wrote past a 64-entry array) */
	assert_int_equal(figures(&pub, DH_LEVEL_DEPARTEMENT, many, count + 1), DH_INVAL);
	/* 65 ids: distinct ones are a valid request now that the registry holds more (and must
	 * not write past anything: ASan), repeated ones are refused */
	assert_int_equal(figures(&pub, DH_LEVEL_DEPARTEMENT, many, 65), count >= 65 ? DH_OK : DH_INVAL);
	int dup[2] = { nb_ls, nb_ls };
	assert_int_equal(figures(&pub, DH_LEVEL_DEPARTEMENT, dup, 2), DH_INVAL);
	/* 5,000 ids: refused at once, not minutes of work */
	clock_t t0 = clock();
	assert_int_equal(figures(&pub, DH_LEVEL_COMMUNE, many, 5000), DH_INVAL);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	/* every registry indicator once is still fine */
	assert_int_equal(figures(&pub, DH_LEVEL_REGION, many, count), DH_OK);

	/* the cube's own entry point: columns may repeat (a population column beside the
	 * caller's), but their number is bounded */
	dh_error err;
	dh_cube_table *t = NULL;
	dh_cube_query q = { .level = DH_LEVEL_DEPARTEMENT, .reference_date = 20250101,
			    .indicators = many, .nindicators = DH_CUBE_MAX_COLUMNS + 1 };
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_INVAL);
	assert_null(t);
	q.nindicators = 5000;
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_INVAL);
	dh_cube_split *sp = NULL;
	q.level = DH_LEVEL_COMMUNE;
	assert_int_equal(dh_cube_query_split(cube, &q, &sp, &err), DH_INVAL);
	assert_null(sp);

	/* filter sets: repeats and more than DH_FILTER_MAX_VALUES values refused */
	dh_predicate p;
	assert_int_equal(dh_cube_filter_parse("FINAN=10,11", &p, &err), DH_OK);
	assert_int_equal(dh_cube_filter_parse("FINAN=10,11,10", &p, &err), DH_INVAL);
	dh_textbuf b = { 0 };
	dh_textbuf_str(&b, "CONSTRUCT=");
	for (int y = 0; y <= DH_FILTER_MAX_VALUES; y++) {
		char v[16];
		snprintf(v, sizeof(v), "%s%d", y ? "," : "", 1900 + y);
		dh_textbuf_str(&b, v);
	}
	assert_int_equal(dh_cube_filter_parse(b.p, &p, &err), DH_INVAL);
	free(b.p);
	/* a set that bypassed the parser is checked by the query too */
	dh_predicate bad = { .dim = DH_DIM_FINAN, .op = DH_OP_IN, .set = "10,10" };
	dh_cube_query qf = { .level = DH_LEVEL_DEPARTEMENT, .reference_date = 20250101,
			     .filters = &bad, .nfilters = 1 };
	assert_int_equal(dh_cube_query_run(cube, &qf, &t, &err), DH_INVAL);
	dh_predicate own = { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = "552100554,552100554" };
	dh_figures_request req = { .level = DH_LEVEL_COMMUNE, .reference_date = 20250101,
				   .filters = &own, .nfilters = 1, .today = "2025-06-01" };
	dh_figures_result *r = NULL;
	assert_int_equal(dh_figures_query(store, geo, cube, &pub, &req, &r, &err), DH_INVAL);
	req.filters = NULL;
	req.nfilters = 0;
	req.territory = "29\x1b[2J";
	assert_int_equal(dh_figures_query(store, geo, cube, &pub, &req, &r, &err), DH_INVAL);
	assert_null(r);

	free(many);
	/* agreements: the same indicator twice */
	assert_int_equal(add_agreement("members", "all", "nb_ls,loues,nb_ls", "Observatoire", NULL), DH_INVAL);
	/* the public agreement ends before the next tests */
	dh_actor actor = dh_actor_cli("test");
	assert_int_equal(dh_agreement_end(store, pub_id, "2025-01-01", &actor, &err), DH_OK);
}

/* Point 7: a partner audience names a level and a code. */
static void test_partner_level(void **state)
{
	(void)state;
	dh_agreement a;
	dh_error err;
	assert_int_equal(dh_audience_parse("partner:53", &a, &err), DH_INVAL);
	assert_int_equal(dh_audience_parse("partner:all", &a, &err), DH_INVAL);
	assert_int_equal(dh_audience_parse("partner:departement:53", &a, &err), DH_OK);
	assert_int_equal(a.partner.level, DH_LEVEL_DEPARTEMENT);
	assert_string_equal(a.partner.code, "53");
	int64_t id;
	assert_int_equal(add_agreement("partner:departement:53", "all", "all", "PLH Mayenne", &id), DH_OK);
	int nb_ls = dh_indicator_find(DH_STR_LIT("nb_ls"));
	/* the région 53 partner is not the département 53 partner */
	dh_identity region = ident(DH_ROLE_PARTNER, "region:53");
	assert_int_equal(figures(&region, DH_LEVEL_DEPARTEMENT, &nb_ls, 1), DH_DENIED);
	assert_int_equal(add_agreement("partner:region:53", "all", "nb_ls", "Observatoire régional", NULL), DH_OK);
	assert_int_equal(figures(&region, DH_LEVEL_DEPARTEMENT, &nb_ls, 1), DH_OK);
	/* and the département 35 partner gets its agreement */
	dh_identity dep = ident(DH_ROLE_PARTNER, "departement:35");
	assert_int_equal(figures(&dep, DH_LEVEL_COMMUNE, &nb_ls, 1), DH_DENIED);
	assert_int_equal(add_agreement("partner:departement:35", "all", "nb_ls", "PLH", NULL), DH_OK);
	assert_int_equal(figures(&dep, DH_LEVEL_COMMUNE, &nb_ls, 1), DH_OK);
	assert_int_equal(figures(&region, DH_LEVEL_DEPARTEMENT, &nb_ls, 1), DH_OK);
}

typedef struct partner_seen {
	char text[8][48];
	int n;
} partner_seen;

static int collect_partner(void *ctx, const dh_agreement *a)
{
	partner_seen *s = ctx;
	if (s->n < 8)
		dh_territory_format(&a->partner, s->text[s->n++], sizeof(s->text[0]));
	return DH_OK;
}

static void sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", text, msg ? msg : "?");
}

/* Point 7: agreements recorded with a bare partner code get a level from the migration. */
static void test_partner_migration(void **state)
{
	(void)state;
	char loc[4200];
	snprintf(loc, sizeof(loc), "%s/old.db", dir);
	dh_store *s;
	dh_error err;
	assert_int_equal(dh_store_open(&s, loc, DH_STORE_CREATE, &err), DH_OK);
	dh_store_close(s);
	/* back to the schema before the migration: bare codes, no partner level */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(loc, &db), SQLITE_OK);
	/* the partner-level migration is the last one: the schema before it is one less */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	char *down = sqlite3_mprintf("ALTER TABLE agreement DROP COLUMN partner_level;"
				     " PRAGMA user_version = %d;", version - 1);
	sql(db, down);
	sqlite3_free(down);
	const char *rows[][3] = {
		{ "53", "region", "53" },          /* its scope names the level: région */
		{ "53", "all", "" },               /* two digits: a département */
		{ "243500139", "all", "" },        /* EPCI */
		{ "35238", "departement", "35" },  /* commune */
		{ "2A", "all", "" },               /* Corse-du-Sud */
		{ "974", "all", "" },              /* La Réunion */
	};
	for (size_t i = 0; i < 6; i++) {
		char *q = sqlite3_mprintf("INSERT INTO agreement(audience, partner, territory_level,"
					  " territory_code, indicators, purpose, legal_basis, start_date,"
					  " end_date, created_at) VALUES ('partner', %Q, %Q, %Q, 'all', 'x',"
					  " 'y', '2024-01-01', '2030-12-31', '2024-01-01T00:00:00Z')",
					  rows[i][0], rows[i][1], rows[i][2]);
		sql(db, q);
		sqlite3_free(q);
	}
	sql(db, "INSERT INTO agreement(audience, partner, territory_level, territory_code, indicators,"
		" purpose, legal_basis, start_date, end_date, created_at) VALUES ('public', '', 'all',"
		" '', 'all', 'x', 'y', '2024-01-01', '2030-12-31', '2024-01-01T00:00:00Z')");
	sqlite3_close(db);
	assert_int_equal(dh_store_open(&s, loc, 0, &err), DH_OK);
	partner_seen seen = { .n = 0 };
	assert_int_equal(dh_agreement_list(s, collect_partner, &seen, &err), DH_OK);
	dh_store_close(s);
	assert_int_equal(seen.n, 7);
	assert_string_equal(seen.text[0], "region:53");
	assert_string_equal(seen.text[1], "departement:53");
	assert_string_equal(seen.text[2], "epci:243500139");
	assert_string_equal(seen.text[3], "commune:35238");
	assert_string_equal(seen.text[4], "departement:2A");
	assert_string_equal(seen.text[5], "departement:974");
	assert_string_equal(seen.text[6], "all");
}

typedef struct audit_tail {
	char object[256], actor[128];
} audit_tail;

static int keep_last(void *ctx, const dh_audit_entry *e)
{
	audit_tail *t = ctx;
	snprintf(t->object, sizeof(t->object), "%s", e->object);
	snprintf(t->actor, sizeof(t->actor), "%s", e->actor);
	return DH_OK;
}

/* Point 9: what the library stores is valid UTF-8, without control characters, not blank
 * and within its documented length. */
static void test_stored_text(void **state)
{
	(void)state;
	dh_error err;
	dh_org org;
	memset(&org, 0, sizeof(org));
	snprintf(org.siren, sizeof(org.siren), "552100554");
	org.kind = DH_ORG_ESH;
	const char *bad_names[] = { "Office \x1b[31mrouge", "Nom\xff", "Nom\nsur deux lignes", " ",
				    "\xc2\xa0", "\xc2\x9b" "31m", "\xed\xa0\x80" };
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(org.name, sizeof(org.name), "%s", bad_names[i]);
		assert_int_equal(dh_store_org_add(store, &org, &err), DH_INVAL);
	}
	memset(org.name, 'a', DH_NAME_MAX + 1);
	org.name[DH_NAME_MAX + 1] = '\0';
	assert_int_equal(dh_store_org_add(store, &org, &err), DH_INVAL);
	/* 200 two-byte characters: within the limit */
	assert_true(sizeof(org.name) > 2 * DH_NAME_MAX);
	for (size_t i = 0; i < DH_NAME_MAX; i++)
		memcpy(org.name + 2 * i, "\xc3\xa9", 2);
	org.name[2 * DH_NAME_MAX] = '\0';
	assert_int_equal(dh_store_org_add(store, &org, &err), DH_OK);
	dh_org back;
	assert_int_equal(dh_store_org_get(store, "552100554", &back, &err), DH_OK);
	assert_string_equal(back.name, org.name);

	/* agreements: a one-space purpose, a 1,001-character one, a control character */
	assert_int_equal(add_agreement("members", "all", "nb_ls", " ", NULL), DH_INVAL);
	assert_int_equal(add_agreement("members", "all", "nb_ls", "Observatoire\x07", NULL), DH_INVAL);
	char *purpose = malloc(2 * DH_PURPOSE_MAX + 2);
	assert_non_null(purpose);
	memset(purpose, 'p', DH_PURPOSE_MAX + 1);
	purpose[DH_PURPOSE_MAX + 1] = '\0';
	assert_int_equal(add_agreement("members", "all", "nb_ls", purpose, NULL), DH_INVAL);
	for (size_t i = 0; i < DH_PURPOSE_MAX; i++)
		memcpy(purpose + 2 * i, "\xc3\xa0", 2);
	purpose[2 * DH_PURPOSE_MAX] = '\0';
	assert_int_equal(add_agreement("members", "all", "nb_ls", purpose, NULL), DH_OK);
	free(purpose);

	/* deliveries: the source name recorded */
	char path[4400];
	snprintf(path, sizeof(path), "%s/rpls-%s.csv", stock_dir, first_siren);
	dh_import_options io;
	dh_import_options_init(&io);
	io.siren = first_siren;
	io.reference_date = "2025-06-01";
	io.max_reject_share = 0.5;
	io.file_name = "livraison\x1b]0;titre\x07.csv";
	dh_import_result res;
	memset(&res, 0, sizeof(res));
	assert_int_equal(dh_import_file(store, geo, path, &io, &res, &err), DH_INVAL);
	dh_import_result_release(&res);

	/* the audit chain keeps every entry, made storable */
	dh_actor cli = dh_actor_cli("cli");
	assert_int_equal(dh_audit_log(store, &cli, "query", "indicators:commune:\xff\x1b[2J", 0, "",
				      "denied", &err), DH_OK);
	audit_tail tail;
	assert_int_equal(dh_audit_list(store, 1, keep_last, &tail, &err), DH_OK);
	assert_int_equal(dh_text_check(tail.object, 1000, "objet", &err), DH_OK);
	assert_int_equal(dh_text_check(tail.actor, 1000, "acteur", &err), DH_OK);
	assert_string_equal(tail.object, "indicators:commune:??[2J");
	dh_audit_check check;
	assert_int_equal(dh_audit_verify(store, &check, &err), DH_OK);
	assert_int_equal(check.first_bad, 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

/* Point 10: the database, its WAL and SHM, and the key file are 0600 whatever the umask. */
static void test_file_modes(void **state)
{
	(void)state;
	const mode_t masks[] = { 022, 0 };
	for (size_t m = 0; m < 2; m++) {
		mode_t old = umask(masks[m]);
		char loc[4200], wal[4300], shm[4300], key[4300];
		snprintf(loc, sizeof(loc), "%s/mode%zu.db", dir, m);
		snprintf(wal, sizeof(wal), "%s-wal", loc);
		snprintf(shm, sizeof(shm), "%s-shm", loc);
		dh_store *s;
		dh_error err;
		assert_int_equal(dh_store_open(&s, loc, DH_STORE_CREATE, &err), DH_OK);
		dh_org org;
		memset(&org, 0, sizeof(org));
		snprintf(org.siren, sizeof(org.siren), "552100554");
		snprintf(org.name, sizeof(org.name), "ESH B");
		org.kind = DH_ORG_ESH;
		assert_int_equal(dh_store_org_add(s, &org, &err), DH_OK);
		assert_int_equal(mode_of(loc), 0600);
		assert_int_equal(mode_of(wal), 0600);
		assert_int_equal(mode_of(shm), 0600);
		assert_int_equal(dh_pseudo_key_path(loc, key, sizeof(key), &err), DH_OK);
		assert_int_equal(dh_pseudo_key_create(key, &err), DH_OK);
		assert_int_equal(mode_of(key), 0600);
		dh_store_close(s);
		umask(old);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_arguments),
		cmocka_unit_test(test_partner_level),
		cmocka_unit_test(test_partner_migration),
		cmocka_unit_test(test_stored_text),
		cmocka_unit_test(test_file_modes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
