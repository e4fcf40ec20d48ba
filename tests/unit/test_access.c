/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_access.c - the role x data matrix of dh_figures_query() (access.h) on a generated
 * Bretagne region (20 landlords, a few thousand dwellings imported into a temporary store):
 * what each role sees of its own data, another landlord's data, mixed territory tables,
 * the landlord level, with and without an agreement in force; that a member's own figures
 * equal the unsuppressed cube; that hidden cells never come out as numbers; that a hidden
 * commune cannot be recovered as its EPCI minus its published communes; the rate attacker
 * (published tx_vac x a denominator derived from published modes) and the subset attacker
 * (the same table asked with other indicators, one territory, another agreement) recover
 * nothing; the timing of the public commune table.
 */
#include "testutil.h"
#include "region_store.h"

#include "datahabitat/access.h"
#include "datahabitat/audit.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/gen.h"
#include "datahabitat/identity.h"
#include "datahabitat/import.h"

#include <math.h>
#include <time.h>

static char *dir;
static dh_store *store;
static dh_geo *geo;
static dh_cube *cube;
static int32_t day;
static char own_siren[10], other_siren[10];
static const dh_actor test_actor = { DH_ACTOR_CLI, "test", 0 };

static int setup(void **state)
{
	(void)state;
	dh_error err;
	dir = dh_tmpdir();
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK)
		return -1;
	char out[4200], sirens[2][10];
	if (dh_test_region_store(dir, geo, "53", 6000, 20, 7, &store, sirens, 2, out, sizeof(out)) != 0 ||
	    dh_cube_build_from_store(store, geo, &cube, NULL, &err) != DH_OK)
		return -1;
	snprintf(own_siren, sizeof(own_siren), "%s", sirens[0]);
	snprintf(other_siren, sizeof(other_siren), "%s", sirens[1]);
	day = 20250101;
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

static dh_identity ident(dh_role role, const char *org, const char *territory)
{
	dh_identity who;
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "u-%s", dh_role_name(role));
	who.role = role;
	if (org)
		snprintf(who.org_siren, sizeof(who.org_siren), "%s", org);
	dh_territory_parse(territory ? territory : "all", &who.territory, NULL);
	return who;
}

static int64_t add_agreement(const char *audience, const char *territory, const char *inds,
			     const char *start, const char *end)
{
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	dh_error err;
	assert_int_equal(dh_audience_parse(audience, &a, &err), DH_OK);
	assert_int_equal(dh_territory_parse(territory, &a.territory, &err), DH_OK);
	snprintf(a.indicators, sizeof(a.indicators), "%s", inds);
	snprintf(a.purpose, sizeof(a.purpose), "test");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "test");
	snprintf(a.start, sizeof(a.start), "%s", start);
	snprintf(a.end, sizeof(a.end), "%s", end);
	assert_int_equal(dh_agreement_add(store, &a, &test_actor, &err), DH_OK);
	return a.id;
}

static int query(const dh_identity *who, dh_level level, const char *territory, const char *landlord,
		 const char *today, dh_figures_result **out)
{
	dh_predicate pred = { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = landlord };
	dh_figures_request req = { .level = level, .reference_date = day, .territory = territory,
				   .filters = landlord ? &pred : NULL, .nfilters = landlord ? 1 : 0,
				   .today = today };
	dh_error err;
	dh_error_clear(&err);
	*out = NULL;
	return dh_figures_query(store, geo, cube, who, &req, out, &err);
}

/* Expected outcome of every role on every kind of data, before and after agreements. */
static void test_role_matrix(void **state)
{
	(void)state;
	dh_identity member = ident(DH_ROLE_MEMBER, own_siren, NULL);
	dh_identity analyst = ident(DH_ROLE_ANALYST, NULL, NULL);
	dh_identity partner = ident(DH_ROLE_PARTNER, NULL, "departement:35");
	dh_identity pub = ident(DH_ROLE_PUBLIC, NULL, NULL);
	dh_identity admin = ident(DH_ROLE_ADMIN, NULL, NULL);
	dh_identity dpo = ident(DH_ROLE_DPO, NULL, NULL);
	const dh_identity *all[] = { &member, &analyst, &partner, &pub, &admin, &dpo };
	dh_figures_result *r;
	/* no agreement yet: only the member's own data */
	assert_int_equal(query(&member, DH_LEVEL_LANDLORD, own_siren, NULL, "2025-06-01", &r), DH_OK);
	assert_true(r->own);
	dh_figures_result_free(r);
	assert_int_equal(query(&member, DH_LEVEL_COMMUNE, NULL, own_siren, "2025-06-01", &r), DH_OK);
	assert_true(r->own && r->nrows > 0);
	dh_figures_result_free(r);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(query(all[i], DH_LEVEL_COMMUNE, NULL, NULL, "2025-06-01", &r), DH_DENIED);
		assert_null(r);
		/* another landlord singled out: never */
		assert_int_equal(query(all[i], DH_LEVEL_LANDLORD, other_siren, NULL, "2025-06-01", &r), DH_DENIED);
		assert_int_equal(query(all[i], DH_LEVEL_COMMUNE, NULL, other_siren, "2025-06-01", &r), DH_DENIED);
		assert_int_equal(query(all[i], DH_LEVEL_LANDLORD, NULL, NULL, "2025-06-01", &r), DH_DENIED);
	}
	/* agreements: members everywhere (expired), partner:departement:35 on département 35, public everywhere
	 * from 2025-07-01 */
	add_agreement("members", "all", "all", "2024-01-01", "2024-12-31");
	int64_t part = add_agreement("partner:departement:35", "departement:35", "all", "2025-01-01", "2025-12-31");
	int64_t pubid = add_agreement("public", "all", "public", "2025-07-01", "2030-12-31");
	/* expired members agreement: still denied */
	assert_int_equal(query(&analyst, DH_LEVEL_DEPARTEMENT, NULL, NULL, "2025-06-01", &r), DH_DENIED);
	assert_int_equal(query(&member, DH_LEVEL_DEPARTEMENT, NULL, NULL, "2025-06-01", &r), DH_DENIED);
	/* the partner: its département only, suppression applied */
	assert_int_equal(query(&partner, DH_LEVEL_COMMUNE, NULL, NULL, "2025-06-01", &r), DH_OK);
	assert_int_equal(r->agreement, part);
	assert_false(r->own);
	for (size_t i = 0; i < r->nrows; i++)
		assert_true(strncmp(r->codes[i], "35", 2) == 0);
	dh_figures_result_free(r);
	assert_int_equal(query(&partner, DH_LEVEL_DEPARTEMENT, "29", NULL, "2025-06-01", &r), DH_DENIED);
	assert_int_equal(query(&partner, DH_LEVEL_REGION, NULL, NULL, "2025-06-01", &r), DH_DENIED);
	/* public agreement not yet in force, then in force (public structure indicators only) */
	assert_int_equal(query(&pub, DH_LEVEL_EPCI, NULL, NULL, "2025-06-30", &r), DH_DENIED);
	assert_int_equal(query(&pub, DH_LEVEL_EPCI, NULL, NULL, "2025-07-01", &r), DH_OK);
	assert_int_equal(r->agreement, pubid);
	for (size_t j = 0; j < r->ncols; j++)
		assert_int_equal(r->columns[j]->sensitivity, DH_SENS_PUBLIC);
	dh_figures_result_free(r);
	/* the public agreement also opens public figures to members and analysts, not to admin / dpo */
	assert_int_equal(query(&analyst, DH_LEVEL_REGION, NULL, NULL, "2025-07-01", &r), DH_OK);
	dh_figures_result_free(r);
	assert_int_equal(query(&admin, DH_LEVEL_REGION, NULL, NULL, "2025-07-01", &r), DH_DENIED);
	assert_int_equal(query(&dpo, DH_LEVEL_REGION, NULL, NULL, "2025-07-01", &r), DH_DENIED);
	/* a token scope other than read:indicators reads nothing */
	dh_identity writer = member;
	snprintf(writer.scope, sizeof(writer.scope), "write:import");
	assert_int_equal(query(&writer, DH_LEVEL_LANDLORD, own_siren, NULL, "2025-06-01", &r), DH_DENIED);
	/* refusals and queries were logged */
	dh_audit_check check;
	dh_error err;
	assert_int_equal(dh_audit_verify(store, &check, &err), DH_OK);
	assert_true(check.entries > 20);
}

/* A member's own figures are exactly the cube's, unsuppressed. */
static void test_member_own_equals_cube(void **state)
{
	(void)state;
	dh_identity member = ident(DH_ROLE_MEMBER, own_siren, NULL);
	dh_figures_result *r;
	assert_int_equal(query(&member, DH_LEVEL_COMMUNE, NULL, own_siren, NULL, &r), DH_OK);
	dh_predicate pred = { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = own_siren };
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = day, .filters = &pred, .nfilters = 1 };
	dh_cube_table *t;
	dh_error err;
	assert_int_equal(dh_cube_query_run(cube, &q, &t, &err), DH_OK);
	assert_int_equal(r->nrows, t->nrows);
	assert_int_equal(r->ncols, t->ncols);
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		assert_int_equal(r->status[i], DH_DISCLOSURE_PUBLISHED);
		assert_true((isnan(r->values[i]) && isnan(t->values[i])) || r->values[i] == t->values[i]);
	}
	dh_cube_table_free(t);
	dh_figures_result_free(r);
}

/* Members' agreement on business figures: hidden cells are NaN, never numbers; a hidden commune
 * is never the only hidden one of its EPCI (EPCI minus published communes recovers nothing). */
static void test_suppression_holds(void **state)
{
	(void)state;
	add_agreement("members", "all", "all", "2025-01-01", "2025-12-31");
	dh_identity analyst = ident(DH_ROLE_ANALYST, NULL, NULL);
	dh_figures_result *com, *epci;
	assert_int_equal(query(&analyst, DH_LEVEL_COMMUNE, NULL, NULL, "2025-06-01", &com), DH_OK);
	assert_int_equal(query(&analyst, DH_LEVEL_EPCI, NULL, NULL, "2025-06-01", &epci), DH_OK);
	assert_true(com->hidden > 0);
	size_t hidden = 0;
	for (size_t i = 0; i < com->nrows * com->ncols; i++) {
		if (com->status[i] != DH_DISCLOSURE_PUBLISHED) {
			assert_true(isnan(com->values[i]));
			hidden++;
		}
	}
	assert_int_equal(hidden, com->hidden);
	int vac = -1;
	for (size_t j = 0; j < com->ncols; j++)
		if (strcmp(com->columns[j]->id, "vacants") == 0)
			vac = (int)j;
	assert_true(vac >= 0);
	/* differencing: for each EPCI with a published value, count hidden communes */
	size_t checked = 0;
	for (size_t e = 0; e < epci->nrows; e++) {
		if (dh_figures_hidden(epci, e, (size_t)vac))
			continue;
		size_t nhidden = 0;
		for (size_t i = 0; i < com->nrows; i++) {
			int32_t g = dh_geo_commune_find(geo, (dh_str){ com->codes[i], strlen(com->codes[i]) });
			if (g >= 0 && strcmp(dh_geo_commune(geo, g)->epci, epci->codes[e]) == 0)
				nhidden += (size_t)dh_figures_hidden(com, i, (size_t)vac);
		}
		assert_true(nhidden != 1);
		checked++;
	}
	assert_true(checked > 0);
	dh_figures_result_free(com);
	dh_figures_result_free(epci);
}

static int column_of(const dh_figures_result *r, const char *id)
{
	for (size_t j = 0; j < r->ncols; j++)
		if (strcmp(r->columns[j]->id, id) == 0)
			return (int)j;
	return -1;
}

static int request(const dh_identity *who, dh_level level, const char *territory, const char *ids,
		   const char *today, dh_figures_result **out)
{
	int ind[80];
	size_t n = 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", ids ? ids : "");
	for (char *tok = strtok(buf, ","); tok && n < 80; tok = strtok(NULL, ","))
		ind[n++] = dh_indicator_find((dh_str){ tok, strlen(tok) });
	dh_figures_request req = { .level = level, .reference_date = day, .territory = territory,
				   .indicators = ids ? ind : NULL, .nindicators = n, .today = today };
	dh_error err;
	*out = NULL;
	return dh_figures_query(store, geo, cube, who, &req, out, &err);
}

/*
 * The rate attacker on the governed tables, every level: for each published tx_vac whose
 * vacants is hidden, the denominator loues + vacants from the published modes (nb_ls - vides
 * - asso - autres) or loues, then vacants = tx_vac x den / 100, compared with the true value
 * (the unsuppressed cube). Nothing may come out; and no published rate has a hidden term.
 */
static void test_rate_attacker(void **state)
{
	(void)state;
	add_agreement("members", "all", "all", "2027-01-01", "2027-12-31");
	dh_identity analyst = ident(DH_ROLE_ANALYST, NULL, NULL);
	const dh_level levels[4] = { DH_LEVEL_COMMUNE, DH_LEVEL_EPCI, DH_LEVEL_DEPARTEMENT, DH_LEVEL_REGION };
	size_t tried = 0, recovered = 0, published_rates = 0, hidden_vacants = 0, bad_terms = 0;
	for (int k = 0; k < 4; k++) {
		dh_figures_result *r;
		assert_int_equal(request(&analyst, levels[k], NULL, NULL, "2027-06-01", &r), DH_OK);
		dh_cube_query q = { .level = levels[k], .reference_date = day };
		dh_cube_table *truth;
		dh_error err;
		assert_int_equal(dh_cube_query_run(cube, &q, &truth, &err), DH_OK);
		int nb = column_of(r, "nb_ls"), lo = column_of(r, "loues"), va = column_of(r, "vacants");
		int vi = column_of(r, "vides"), as = column_of(r, "asso"), au = column_of(r, "autres");
		int tx = column_of(r, "tx_vac"), tx3 = column_of(r, "tx_vac3"), fg = column_of(r, "part_fg");
		assert_true(nb >= 0 && lo >= 0 && va >= 0 && vi >= 0 && as >= 0 && au >= 0 && tx >= 0 &&
			    tx3 >= 0 && fg >= 0);
		for (size_t i = 0; i < r->nrows; i++) {
			int t = dh_cube_table_row(truth, r->codes[i]);
			assert_true(t >= 0);
			hidden_vacants += (size_t)dh_figures_hidden(r, i, (size_t)va);
			if (dh_figures_hidden(r, i, (size_t)tx))
				continue;
			published_rates++;
			/* a published rate has all its terms published (checked after the attack) */
			int terms = dh_figures_hidden(r, i, (size_t)lo) || dh_figures_hidden(r, i, (size_t)va);
			bad_terms += (size_t)terms;
			bad_terms += (size_t)(terms && !dh_figures_hidden(r, i, (size_t)tx3));
			if (!dh_figures_hidden(r, i, (size_t)va))
				continue;
			double den;
			const double *v = r->values + i * r->ncols;
			if (!dh_figures_hidden(r, i, (size_t)lo) || dh_figures_hidden(r, i, (size_t)nb) ||
			    dh_figures_hidden(r, i, (size_t)vi) || dh_figures_hidden(r, i, (size_t)as) ||
			    dh_figures_hidden(r, i, (size_t)au))
				continue;
			den = v[nb] - v[vi] - v[as] - v[au];
			tried++;
			double truev = dh_cube_table_value(truth, (size_t)t, (size_t)dh_cube_table_column(truth, "vacants"));
			recovered += fabs(v[tx] * den / 100.0 - truev) < 1e-6;
		}
		dh_cube_table_free(truth);
		dh_figures_result_free(r);
	}
	print_message("rate attacker: %zu published tx_vac, %zu hidden vacants, %zu attempts, %zu "
		      "recovered, %zu published rates with a hidden term\n", published_rates,
		      hidden_vacants, tried, recovered, bad_terms);
	assert_true(published_rates > 0 && hidden_vacants > 0);
	assert_int_equal(recovered, 0);
	assert_int_equal(bad_terms, 0);
}

/*
 * The subset attacker: the same level asked with different indicator lists, one territory,
 * or through another agreement (public structure only vs all) has the same hidden cells on
 * the columns in common, so that comparing two answers gives nothing.
 */
static void test_subset_attacker(void **state)
{
	(void)state;
	add_agreement("public", "all", "public", "2027-01-01", "2027-12-31");
	dh_identity analyst = ident(DH_ROLE_ANALYST, NULL, NULL);
	dh_identity pub = ident(DH_ROLE_PUBLIC, NULL, NULL);
	static const char *const lists[] = {
		"vacants,tx_vac", "nb_ls,loues,vacants", "loyer_m2,vacants,vides,nb_ls",
		"tx_vac,tx_vac3,tx_mob", "sorties,sortie_demolition", "nb_ls,part_qpv,age_moyen",
	};
	const dh_level levels[2] = { DH_LEVEL_COMMUNE, DH_LEVEL_EPCI };
	size_t compared = 0, hidden_seen = 0, single = 0;
	for (int k = 0; k < 2; k++) {
		dh_figures_result *full, *sub, *structure;
		assert_int_equal(request(&analyst, levels[k], NULL, NULL, "2027-06-01", &full), DH_OK);
		assert_int_equal(request(&pub, levels[k], NULL, NULL, "2027-06-01", &structure), DH_OK);
		assert_true(structure->ncols < full->ncols);
		dh_figures_result *answers[8];
		size_t na = 0;
		answers[na++] = structure;
		for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
			assert_int_equal(request(&analyst, levels[k], NULL, lists[l], "2027-06-01", &sub), DH_OK);
			answers[na++] = sub;
		}
		for (size_t a = 0; a < na; a++) {
			const dh_figures_result *s = answers[a];
			assert_int_equal(s->nrows, full->nrows);
			for (size_t j = 0; j < s->ncols; j++) {
				int fj = column_of(full, s->columns[j]->id);
				assert_true(fj >= 0);
				for (size_t i = 0; i < s->nrows; i++) {
					assert_string_equal(s->codes[i], full->codes[i]);
					assert_int_equal(s->status[i * s->ncols + j],
							 full->status[i * full->ncols + (size_t)fj]);
					hidden_seen += dh_figures_hidden(s, i, j);
					compared++;
				}
			}
		}
		/* one territory at a time: its row of the full table */
		for (size_t i = 0; i < full->nrows; i += 7) {
			assert_int_equal(request(&analyst, levels[k], full->codes[i], "vacants,tx_vac,loues",
						 "2027-06-01", &sub), DH_OK);
			assert_int_equal(sub->nrows, 1);
			for (size_t j = 0; j < sub->ncols; j++) {
				int fj = column_of(full, sub->columns[j]->id);
				assert_int_equal(sub->status[j], full->status[i * full->ncols + (size_t)fj]);
			}
			dh_figures_result_free(sub);
			single++;
		}
		for (size_t a = 0; a < na; a++)
			dh_figures_result_free(answers[a]);
		dh_figures_result_free(full);
	}
	print_message("subset attacker: %zu cells compared (%zu hidden), %zu single territories\n",
		      compared, hidden_seen, single);
	assert_true(hidden_seen > 0 && single > 0);
}

/* Passwords and tokens through the store. */
static void test_identity(void **state)
{
	(void)state;
	dh_error err;
	dh_user u;
	memset(&u, 0, sizeof(u));
	snprintf(u.login, sizeof(u.login), "bailleur.a");
	u.role = DH_ROLE_MEMBER;
	snprintf(u.org_siren, sizeof(u.org_siren), "%s", own_siren);
	assert_int_equal(dh_user_add(store, &u, "correct horse", 13, &test_actor, &err), DH_OK);
	assert_int_equal(dh_user_add(store, &u, "correct horse", 13, &test_actor, &err), DH_EXISTS);
	dh_identity who;
	assert_int_equal(dh_user_authenticate(store, "bailleur.a", "correct horse", 13, &who, &err), DH_OK);
	assert_string_equal(who.org_siren, own_siren);
	assert_int_equal(dh_user_authenticate(store, "bailleur.a", "wrong horse!", 12, &who, &err), DH_AUTH);
	assert_int_equal(dh_user_authenticate(store, "nobody", "correct horse", 13, &who, &err), DH_AUTH);
	char tok[DH_TOKEN_TEXT_SIZE];
	dh_token meta;
	assert_int_equal(dh_token_create(store, "bailleur.a", "read:indicators", 30, tok, &meta, &test_actor, &err), DH_OK);
	assert_int_equal(strlen(tok), DH_TOKEN_TEXT_LEN);
	assert_int_equal(dh_token_resolve(store, tok, NULL, &who, &err), DH_OK);
	assert_string_equal(who.scope, "read:indicators");
	assert_int_equal(dh_token_resolve(store, tok, "2999-01-01T00:00:00Z", &who, &err), DH_AUTH);
	tok[10] ^= 1;
	assert_int_equal(dh_token_resolve(store, tok, NULL, &who, &err), DH_AUTH);
	tok[10] ^= 1;
	assert_int_equal(dh_token_revoke(store, meta.id, &test_actor, &err), DH_OK);
	assert_int_equal(dh_token_resolve(store, tok, NULL, &who, &err), DH_AUTH);
	assert_int_equal(dh_token_create(store, "bailleur.a", "admin", 30, tok, &meta, &test_actor, &err), DH_INVAL);
	assert_int_equal(dh_token_create(store, "bailleur.a", "read:indicators", 30, tok, &meta, &test_actor, &err), DH_OK);
	assert_int_equal(dh_user_disable(store, "bailleur.a", &test_actor, &err), DH_OK);
	assert_int_equal(dh_token_resolve(store, tok, NULL, &who, &err), DH_AUTH);
	assert_int_equal(dh_user_authenticate(store, "bailleur.a", "correct horse", 13, &who, &err), DH_AUTH);
	/* bad inputs */
	snprintf(u.login, sizeof(u.login), "Bad Login");
	assert_int_equal(dh_user_add(store, &u, "correct horse", 13, &test_actor, &err), DH_INVAL);
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	snprintf(a.indicators, sizeof(a.indicators), "all");
	snprintf(a.start, sizeof(a.start), "2025-01-01");
	snprintf(a.end, sizeof(a.end), "2025-12-31");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "x");
	assert_int_equal(dh_agreement_add(store, &a, &test_actor, &err), DH_INVAL); /* no purpose */
}

/* Timing of the public commune table with every indicator (reported, not asserted under ASan). */
static void test_public_commune_timing(void **state)
{
	(void)state;
	add_agreement("public", "all", "all", "2025-01-01", "2025-12-31");
	dh_identity pub = ident(DH_ROLE_PUBLIC, NULL, NULL);
	dh_figures_result *r;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(query(&pub, DH_LEVEL_COMMUNE, NULL, NULL, "2025-06-01", &r), DH_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "# public commune table: %zu rows x %zu cols, %zu hidden, %.1f ms\n", r->nrows,
		r->ncols, r->hidden, ms);
	dh_figures_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_matrix),
		cmocka_unit_test(test_member_own_equals_cube),
		cmocka_unit_test(test_suppression_holds),
		cmocka_unit_test(test_rate_attacker),
		cmocka_unit_test(test_subset_attacker),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_public_commune_timing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
