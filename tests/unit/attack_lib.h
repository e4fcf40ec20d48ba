/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * attack_lib.h - a black-box attacker of the governed figures (issue 10), shared by the
 * attack tests (tests/unit/test_attack_*.c) and the longer run (bench/attack_bench.c).
 *
 * The world: a generated région imported into a temporary store as real deliveries (two
 * vintages a year apart; one landlord with its own delivery dates, one joining alone at
 * another date), the cube built from the store, one agreement per audience (public,
 * members, a partner bound to a département), all indicators.
 *
 * The attacker only calls dh_figures_query() (access.h) for each role (public, analyst,
 * partner, a member that also reads its own rows), at every level and every date it tries
 * (delivery dates, the day before each, 1 January of each year, a few other days), and
 * knows what anyone knows: the geography (commune ⊂ EPCI ⊂ département ⊂ région ⊂ all; an
 * EPCI may straddle départements: every aggregate is the sum of its communes), the
 * definitions of domain.md (margins such as nb_ls = loues + vacants + vides + asso + autres,
 * rates as num / den with the published rounding, the latent numerators and denominators of
 * rates), that counts are non-negative integers. For every (role, date) it solves, with
 * GLPK, min and max of every hidden count and of every latent business count (linear
 * programming, bounds rounded to integers), then runs rational reconstruction of every
 * published rate over the feasible denominators (which continued fractions would find at
 * full precision) and feeds what it learns back into the LP until nothing changes; it
 * subtracts the intervals of two dates; the member adds its own rows as lower bounds.
 *
 * The judge (separate code, unrestricted): true values and per-landlord contributions from
 * the cube (dh_cube_query_split), and the protection interval of each cell of a landlord
 * business quantity: sensitive when fewer than ATK_MIN_LANDLORDS landlords are present, or
 * the p% rule (ATK_P) or the dominance rule (ATK_DOM_K %) fails; its protection level is the
 * largest of p% x1 - (X - x1 - x2), x1 x 100 / k - X and ATK_MIN_LEVEL; the interval
 * [X - level, X + level] is clipped to what the public stock structure already tells
 * (0 .. nb_ls for the subsets of the stock). A sensitive cell is RECOVERED when the
 * attacker's interval does not contain its protection interval (published sensitive
 * cells are recovered outright). The difference of a cell between two dates is judged
 * the same way, its contributors being the landlords whose figures changed there.
 */
#ifndef DH_ATTACK_LIB_H
#define DH_ATTACK_LIB_H

#include "datahabitat/access.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/gen.h"
#include "datahabitat/identity.h"
#include "datahabitat/import.h"

#include <glpk.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- the protection policy the judge applies (issue 10 defaults) ---- */
#define ATK_P 10.0            /* p% rule */
#define ATK_DOM_K 85.0        /* (1, k) dominance */
#define ATK_MIN_LANDLORDS 3u  /* fewer contributors present: sensitive */
#define ATK_MIN_LEVEL 1.0     /* minimum protection level of a sensitive count */
#define ATK_PROTECT_ZEROS 1   /* a zero with 1 or 2 landlords present is sensitive too */

#define ATK_MAXL 24   /* landlords */
#define ATK_MAXD 24   /* dates */
#define ATK_MAXV 96   /* quantities per territory */
#define ATK_ROLES 4
#define ATK_LEVELS 5

enum { ATK_PUBLIC, ATK_ANALYST, ATK_PARTNER, ATK_MEMBER };
static const char *const atk_role_name[ATK_ROLES] = { "public", "analyst", "partner", "member" };
static const dh_level atk_levels[ATK_LEVELS] = { DH_LEVEL_COMMUNE, DH_LEVEL_EPCI, DH_LEVEL_DEPARTEMENT,
						 DH_LEVEL_REGION, DH_LEVEL_ALL };

/* Attacks whose results are counted. */
enum { ATK_A_PUBLISHED, ATK_A_LP, ATK_A_RR, ATK_A_DATES, ATK_A_COUNT };
static const char *const atk_attack_name[ATK_A_COUNT] = { "published", "lp", "lp+rr", "dates" };

/* ---- the quantities of a territory: every count of the registry, then latent counts ---- */

typedef struct atk_rel {
	int le;            /* 0: sum lhs = sum rhs; 1: sum lhs <= sum rhs */
	const char *lhs[4];
	const char *rhs[10];
} atk_rel;

/* Relations that follow from the definitions of domain.md (each is checked on the truth
 * before use: one that does not hold on the generated data is dropped with a message). */
static const atk_rel atk_rels[] = {
	{ 0, { "nb_ls" }, { "loues", "vacants", "vides", "asso", "autres" } },
	{ 0, { "nb_ls" }, { "nb_p1", "nb_p2", "nb_p3", "nb_p4", "nb_p5p" } },
	{ 0, { "nb_ls" }, { "fin_plai", "fin_plus", "fin_plus_av77", "fin_pls", "fin_pli", "fin_autre" } },
	{ 0, { "nb_ls" }, { "age_lt5", "age_5_10", "age_10_20", "age_20_40", "age_40_60", "age_ge60" } },
	{ 0, { "nb_ls" }, { "dpe_e_a", "dpe_e_b", "dpe_e_c", "dpe_e_d", "dpe_e_e", "dpe_e_f", "dpe_e_g", "dpe_absent" } },
	{ 0, { "nb_ls" }, { "dpe_g_a", "dpe_g_b", "dpe_g_c", "dpe_g_d", "dpe_g_e", "dpe_g_f", "dpe_g_g", "dpe_absent" } },
	{ 0, { "interdit_2025" }, { "dpe_e_g" } },
	{ 0, { "interdit_2028" }, { "dpe_e_f" } },
	{ 0, { "interdit_2034" }, { "dpe_e_e" } },
	{ 0, { "interdit_sans_dpe" }, { "dpe_absent" } },
	{ 0, { "mes" }, { "mes_construits", "mes_acq_travaux", "mes_acq_sans_travaux", "mes_vefa" } },
	{ 0, { "sorties" }, { "sortie_vente_locataire", "sortie_vente_bailleur", "sortie_autre_vente",
			       "sortie_demolition", "sortie_autre" } },
	{ 1, { "mes" }, { "nb_ls" } },
	{ 1, { "#v3" }, { "vacants" } },
	{ 1, { "#mobd" }, { "loues", "vacants" } },
	{ 1, { "#mobn" }, { "#mobd" } },
	{ 1, { "#mobn" }, { "loues" } },
	{ 1, { "#coll", "#ind" }, { "nb_ls" } },
	{ 1, { "#qpv" }, { "nb_ls" } },
};

/* Rates: value = 100 num / den (PCT) or 100 (num / den - 1) (EVOLUTION). */
typedef struct atk_ratedef {
	const char *rate;
	const char *num[8];
	const char *den[8];
} atk_ratedef;

static const atk_ratedef atk_ratedefs[] = {
	{ "tx_vac", { "vacants" }, { "loues", "vacants" } },
	{ "tx_vac3", { "#v3" }, { "loues", "vacants" } },
	{ "tx_mob", { "#mobn" }, { "#mobd" } },
	{ "part_qpv", { "#qpv" }, { "nb_ls" } },
	{ "part_collectif", { "#coll" }, { "nb_ls" } },
	{ "part_individuel", { "#ind" }, { "nb_ls" } },
	{ "part_fg", { "dpe_e_f", "dpe_e_g" },
	  { "dpe_e_a", "dpe_e_b", "dpe_e_c", "dpe_e_d", "dpe_e_e", "dpe_e_f", "dpe_e_g" } },
	{ "evol_nb_ls", { "nb_ls" }, { "#prev" } },
};
#define ATK_NRATES (sizeof(atk_ratedefs) / sizeof(atk_ratedefs[0]))
#define ATK_NRELS (sizeof(atk_rels) / sizeof(atk_rels[0]))

/* Latent counts: name, business (sensitive class), capped by nb_ls. */
static const struct { const char *name; int business; } atk_latent[] = {
	{ "#v3", 1 }, { "#mobn", 1 }, { "#mobd", 1 }, { "#qpv", 0 }, { "#coll", 0 }, { "#ind", 0 },
	{ "#prev", 0 },
};
#define ATK_NLATENT (sizeof(atk_latent) / sizeof(atk_latent[0]))

#define ATK_MAXREL 192
#define ATK_MAXR 32

/* A relation over the quantities of one territory: sum lhs = (or <=) sum rhs. */
typedef struct atk_mrel {
	int le;
	size_t nl, nr;
	int lhs[4], rhs[16];
} atk_mrel;

/* A rate: value = mult x num / den (kind 0, 2) or 100 x (num / den - 1) (kind 1). */
typedef struct atk_mrate {
	int reg, kind, integer;
	double mult;
	size_t nn, nd;
	int num[16], den[16];
} atk_mrate;

typedef struct atk_model {
	size_t nv;
	const char *name[ATK_MAXV];
	int reg[ATK_MAXV];      /* registry position of the count, -1 for a latent count */
	int business[ATK_MAXV]; /* landlord business quantity: judged */
	int capped[ATK_MAXV];   /* a subset of the stock: 0 .. nb_ls is public knowledge */
	int integer[ATK_MAXV];  /* a count of dwellings (sums of rents, surfaces: not integers) */
	int nb_ls;              /* index of nb_ls */
	size_t nrel, nrate;
	atk_mrel rel[ATK_MAXREL];
	int rel_ok[ATK_MAXREL]; /* relation holds on the truth */
	atk_mrate rate[ATK_MAXR]; /* the ATK_NRATES of domain.md first (in that order) */
	int rate_ok[ATK_MAXR];
} atk_model;

static inline int atk_var(const atk_model *m, const char *name)
{
	for (size_t v = 0; v < m->nv; v++)
		if (strcmp(m->name[v], name) == 0)
			return (int)v;
	return -1;
}

/* Quantities named in a list (an array of names, or one "a + b + c" string when list is
 * NULL); -1 when one is unknown. */
static inline int atk_names(const atk_model *m, const char *const *names, size_t max, const char *list,
			    int *out, size_t cap, size_t *n)
{
	*n = 0;
	if (names) {
		for (size_t k = 0; k < max && names[k]; k++) {
			int v = atk_var(m, names[k]);
			if (v < 0 || *n == cap)
				return -1;
			out[(*n)++] = v;
		}
		return *n ? 0 : -1;
	}
	if (!list)
		return -1;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, " +"); tok; tok = strtok(NULL, " +")) {
		int v = atk_var(m, tok);
		if (v < 0 || *n == cap)
			return -1;
		out[(*n)++] = v;
	}
	return *n ? 0 : -1;
}

static inline void atk_add_rel(atk_model *m, int le, const int *lhs, size_t nl, const int *rhs, size_t nr)
{
	if (m->nrel == ATK_MAXREL || nl > 4 || nr > 16)
		return;
	atk_mrel *e = &m->rel[m->nrel];
	e->le = le, e->nl = nl, e->nr = nr;
	memcpy(e->lhs, lhs, nl * sizeof(int));
	memcpy(e->rhs, rhs, nr * sizeof(int));
	m->rel_ok[m->nrel++] = 1;
}

static inline void atk_add_rate(atk_model *m, int reg, const int *num, size_t nn, const int *den, size_t nd)
{
	if (m->nrate == ATK_MAXR)
		return;
	atk_mrate *q = &m->rate[m->nrate];
	memset(q, 0, sizeof(*q));
	q->reg = reg;
	if (reg >= 0 && nn && nd && nn <= 16 && nd <= 16) {
		const dh_indicator *ind = dh_indicator_at((size_t)reg);
		q->kind = ind->kind == DH_IND_EVOLUTION ? 1 : ind->kind == DH_IND_RATIO ? 2 : 0;
		q->mult = q->kind == 2 ? 1.0 : 100.0;
		q->nn = nn, q->nd = nd;
		memcpy(q->num, num, nn * sizeof(int));
		memcpy(q->den, den, nd * sizeof(int));
		q->integer = 1;
		for (size_t k = 0; k < nn; k++)
			q->integer &= m->integer[num[k]];
		for (size_t k = 0; k < nd; k++)
			q->integer &= m->integer[den[k]];
	}
	m->rate_ok[m->nrate++] = reg >= 0 && nn && nd;
}

static inline int atk_model_init(atk_model *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < dh_indicator_count(); i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		if (ind->kind != DH_IND_COUNT || m->nv >= ATK_MAXV)
			continue;
		m->name[m->nv] = ind->id;
		m->reg[m->nv] = (int)i;
		m->business[m->nv] = ind->sensitivity != DH_SENS_PUBLIC;
		m->integer[m->nv] = ind->num.measure == DH_MEASURE_COUNT;
		m->nv++;
	}
	for (size_t k = 0; k < ATK_NLATENT && m->nv < ATK_MAXV; k++) {
		m->name[m->nv] = atk_latent[k].name;
		m->reg[m->nv] = -1;
		m->business[m->nv] = atk_latent[k].business;
		m->integer[m->nv] = 1;
		m->nv++;
	}
	/* a count of dwellings in the stock (MODE 1 to 5) is at most nb_ls, which is public */
	for (size_t v = 0; v < m->nv; v++) {
		if (m->reg[v] < 0)
			continue;
		const dh_term *t = &dh_indicator_at((size_t)m->reg[v])->num;
		for (size_t k = 0; k < DH_TERM_MAX_PREDICATES && t->measure == DH_MEASURE_COUNT &&
				   t->where[k].dim != DH_DIM_NONE; k++)
			if (t->where[k].dim == DH_DIM_MODE && t->where[k].op == DH_OP_IN && t->where[k].set &&
			    strspn(t->where[k].set, "12345,") == strlen(t->where[k].set))
				m->capped[v] = strcmp(m->name[v], "nb_ls") != 0;
	}
	static const char *const sub[] = { "#v3", "#mobn", "#mobd", "#qpv", "#coll", "#ind" };
	for (size_t k = 0; k < sizeof(sub) / sizeof(sub[0]); k++) {
		int v = atk_var(m, sub[k]);
		if (v >= 0)
			m->capped[v] = 1;
	}
	m->nb_ls = atk_var(m, "nb_ls");
	int a[16], b[16];
	size_t na = 0, nb = 0;
	for (size_t r = 0; r < ATK_NRELS; r++)
		if (atk_names(m, atk_rels[r].lhs, 4, NULL, a, 4, &na) == 0 &&
		    atk_names(m, atk_rels[r].rhs, 10, NULL, b, 16, &nb) == 0)
			atk_add_rel(m, atk_rels[r].le, a, na, b, nb);
	for (size_t r = 0; r < ATK_NRATES; r++) {
		const atk_ratedef *d = &atk_ratedefs[r];
		int reg = dh_indicator_find((dh_str){ d->rate, strlen(d->rate) });
		if (atk_names(m, d->num, 8, NULL, a, 16, &na) != 0 || atk_names(m, d->den, 8, NULL, b, 16, &nb) != 0)
			reg = -1;
		atk_add_rate(m, reg, a, na, b, nb);
	}
#ifdef DH_IND_MAX_PARTS
	/* the registry declares its relations (partitions, bounds, rate formulas): use them too */
	for (size_t i = 0; i < dh_indicator_count(); i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		const dh_ind_relations *rel = &ind->rel;
		int self = atk_var(m, ind->id);
		if (ind->kind == DH_IND_COUNT && self >= 0) {
			for (size_t k = 0; k < DH_IND_MAX_PARTS && rel->parts[k]; k++)
				if (atk_names(m, NULL, 0, rel->parts[k], b, 16, &nb) == 0)
					atk_add_rel(m, 0, &self, 1, b, nb);
			if (rel->within && atk_names(m, NULL, 0, rel->within, b, 16, &nb) == 0)
				atk_add_rel(m, 1, &self, 1, b, nb);
		} else if (ind->kind != DH_IND_COUNT && rel->num && rel->den &&
			   atk_names(m, NULL, 0, rel->num, a, 16, &na) == 0 &&
			   atk_names(m, NULL, 0, rel->den, b, 16, &nb) == 0) {
			atk_add_rate(m, (int)i, a, na, b, nb);
		}
	}
#endif
	return m->nb_ls >= 0 ? 0 : -1;
}

/* ---- dates ---- */

static inline int32_t atk_day_add(int32_t ymd, int days)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = ymd / 10000 - 1900;
	tm.tm_mon = ymd / 100 % 100 - 1;
	tm.tm_mday = ymd % 100 + days;
	tm.tm_hour = 12;
	time_t t = timegm(&tm);
	struct tm out;
	gmtime_r(&t, &out);
	return (int32_t)((out.tm_year + 1900) * 10000 + (out.tm_mon + 1) * 100 + out.tm_mday);
}

/* The same day one year before (29 February: the 28th), as the cube's year_shift. */
static inline int32_t atk_year_before(int32_t ymd)
{
	int32_t y = ymd / 10000 - 1, md = ymd % 10000;
	return y * 10000 + (md == 229 ? 228 : md);
}

/* ---- the world ---- */

typedef struct atk_params {
	uint64_t seed;
	uint32_t landlords; /* 3 .. ATK_MAXL */
	uint64_t rows;      /* dwellings of the first vintage */
	const char *region; /* "53" */
	int quick;          /* fewer dates tried; the analyst (the public's agreement) at two */
} atk_params;

typedef struct atk_world {
	atk_params p;
	char *dir;
	dh_store *store;
	const dh_geo *geo;
	dh_cube *cube;
	size_t nl;
	char siren[ATK_MAXL][10];
	int32_t delivered[ATK_MAXL][2];
	int32_t dates[ATK_MAXD];
	size_t ndates;
	char partner_dep[4];
	size_t member;     /* landlord index of the member attacker */
} atk_world;

typedef struct atk_file_sink {
	FILE *f;
} atk_file_sink;

static inline int atk_sink_write(void *ctx, const void *data, size_t len)
{
	atk_file_sink *s = ctx;
	return fwrite(data, 1, len, s->f) == len ? DH_OK : DH_IO;
}

/* Write landlord i's file of a generation at (y, m, d), evolved from one year before when
 * evolve is 1, and import it as a delivery at that date. */
static inline int atk_deliver(atk_world *w, size_t i, int y, int mo, int d, int evolve, dh_error *err)
{
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.region = w->p.region;
	opt.rows = w->p.rows;
	opt.landlords = (uint32_t)w->nl;
	opt.seed = w->p.seed;
	opt.ref_year = y, opt.ref_month = mo, opt.ref_day = d;
	if (evolve)
		opt.from_year = y - 1, opt.from_month = mo, opt.from_day = d;
	dh_gen_plan *plan = NULL;
	int rc = dh_gen_plan_new(&plan, &opt, w->geo, err);
	if (rc != DH_OK)
		return rc;
	char path[4200];
	snprintf(path, sizeof(path), "%s/l%zu-%04d%02d%02d.csv", w->dir, i, y, mo, d);
	atk_file_sink s = { fopen(path, "wb") };
	if (!s.f) {
		dh_gen_plan_free(plan);
		return dh_error_set(err, DH_IO, "cannot write %s", path);
	}
	dh_gen_sink sink = { atk_sink_write, NULL, &s };
	rc = dh_gen_landlord_write(plan, i, &sink, err);
	fclose(s.f);
	dh_gen_plan_free(plan);
	if (rc != DH_OK)
		return rc;
	char date[11];
	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, mo, d);
	dh_import_options io;
	dh_import_options_init(&io);
	io.siren = w->siren[i];
	io.reference_date = date;
	io.max_reject_share = 0.5;
	dh_import_result res;
	memset(&res, 0, sizeof(res));
	rc = dh_import_file(w->store, w->geo, path, &io, &res, err);
	dh_import_result_release(&res);
	remove(path);
	return rc;
}

static inline int atk_add_agreement(dh_store *store, const char *audience, const char *alt_audience,
				    dh_error *err)
{
	dh_agreement a;
	memset(&a, 0, sizeof(a));
	int rc = dh_audience_parse(audience, &a, err);
	if (rc != DH_OK && alt_audience)
		rc = dh_audience_parse(alt_audience, &a, err);
	if (rc != DH_OK)
		return rc;
	dh_territory_parse("all", &a.territory, NULL);
	snprintf(a.indicators, sizeof(a.indicators), "all");
	snprintf(a.purpose, sizeof(a.purpose), "attaque de la diffusion (test)");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "test");
	snprintf(a.start, sizeof(a.start), "2000-01-01");
	snprintf(a.end, sizeof(a.end), "2099-12-31");
	dh_actor actor = dh_actor_cli("attack");
	return dh_agreement_add(store, &a, &actor, err);
}

static inline int atk_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/*
 * Build the world: landlords 0 .. L-3 deliver at 2024-01-01 and 2025-01-01, landlord L-1 at
 * 2024-06-15 and 2025-06-15 (its own dates), landlord L-2 joins alone at 2025-03-01 (with
 * 3 landlords: only L-1 has its own dates). The member attacker is landlord 0.
 */
static inline int atk_world_build(atk_world *w, const atk_params *p, const dh_geo *geo, dh_error *err)
{
	memset(w, 0, sizeof(*w));
	w->p = *p;
	w->geo = geo;
	w->nl = p->landlords < 3 ? 3 : p->landlords > ATK_MAXL ? ATK_MAXL : p->landlords;
	char tmpl[] = "/tmp/dhattack-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		return dh_error_set(err, DH_IO, "mkdtemp");
	w->dir = strdup(d);
	char loc[4200];
	snprintf(loc, sizeof(loc), "%s/a.db", w->dir);
	int rc = dh_store_open(&w->store, loc, DH_STORE_CREATE, err);
	if (rc != DH_OK)
		return rc;
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.region = p->region;
	opt.rows = p->rows;
	opt.landlords = (uint32_t)w->nl;
	opt.seed = p->seed;
	opt.ref_year = 2024, opt.ref_month = 1, opt.ref_day = 1;
	dh_gen_plan *plan = NULL;
	rc = dh_gen_plan_new(&plan, &opt, geo, err);
	if (rc != DH_OK)
		return rc;
	for (size_t i = 0; i < w->nl && rc == DH_OK; i++) {
		const dh_gen_landlord *gl = dh_gen_plan_landlord(plan, i);
		dh_org org;
		memset(&org, 0, sizeof(org));
		snprintf(org.siren, sizeof(org.siren), "%s", gl->siren);
		snprintf(org.name, sizeof(org.name), "%s", gl->name);
		org.kind = (dh_org_kind)dh_org_kind_parse(gl->kind);
		memcpy(w->siren[i], gl->siren, 10);
		rc = dh_store_org_add(w->store, &org, err);
	}
	dh_gen_plan_free(plan);
	size_t late = w->nl - 1, joiner = w->nl >= 4 ? w->nl - 2 : SIZE_MAX;
	/* in date order */
	for (size_t i = 0; i < w->nl && rc == DH_OK; i++)
		if (i != late && i != joiner) {
			rc = atk_deliver(w, i, 2024, 1, 1, 0, err);
			w->delivered[i][0] = 20240101;
		}
	if (rc == DH_OK) {
		rc = atk_deliver(w, late, 2024, 6, 15, 0, err);
		w->delivered[late][0] = 20240615;
	}
	for (size_t i = 0; i < w->nl && rc == DH_OK; i++)
		if (i != late && i != joiner) {
			rc = atk_deliver(w, i, 2025, 1, 1, 1, err);
			w->delivered[i][1] = 20250101;
		}
	if (rc == DH_OK && joiner != SIZE_MAX) {
		rc = atk_deliver(w, joiner, 2025, 3, 1, 0, err);
		w->delivered[joiner][0] = 20250301;
	}
	if (rc == DH_OK) {
		rc = atk_deliver(w, late, 2025, 6, 15, 1, err);
		w->delivered[late][1] = 20250615;
	}
	if (rc != DH_OK)
		return rc;
	rc = dh_cube_build_from_store(w->store, geo, &w->cube, NULL, err);
	if (rc != DH_OK)
		return rc;
	/* agreements: every audience, every indicator */
	w->member = 0;
	/* the partner's département: the one of the first commune with dwellings */
	dh_cube_query q = { .level = DH_LEVEL_DEPARTEMENT, .reference_date = 20250101 };
	dh_cube_table *t = NULL;
	rc = dh_cube_query_run(w->cube, &q, &t, err);
	if (rc != DH_OK)
		return rc;
	snprintf(w->partner_dep, sizeof(w->partner_dep), "%s", t->nrows ? t->codes[t->nrows - 1] : "35");
	dh_cube_table_free(t);
	char aud[64], alt[64];
	snprintf(aud, sizeof(aud), "partner:departement:%s", w->partner_dep);
	snprintf(alt, sizeof(alt), "partner:%s", w->partner_dep);
	if ((rc = atk_add_agreement(w->store, "public", NULL, err)) != DH_OK ||
	    (rc = atk_add_agreement(w->store, "members", NULL, err)) != DH_OK ||
	    (rc = atk_add_agreement(w->store, aud, alt, err)) != DH_OK)
		return rc;
	/* dates tried */
	int32_t cand[64];
	size_t n = 0;
	static const int32_t deliveries[] = { 20240101, 20240615, 20250101, 20250301, 20250615 };
	for (size_t i = 0; i < (p->quick ? 4u : 5u); i++) {
		if (deliveries[i] == 20250301 && joiner == SIZE_MAX)
			continue;
		cand[n++] = deliveries[i];
		if (!p->quick || deliveries[i] != 20240101)
			cand[n++] = atk_day_add(deliveries[i], -1);
	}
	if (!p->quick) {
		cand[n++] = 20260101;
		cand[n++] = 20240930;
		cand[n++] = 20250215;
		cand[n++] = 20250731;
		cand[n++] = 20251231;
	}
	qsort(cand, n, sizeof(int32_t), atk_cmp_i32);
	for (size_t i = 0; i < n && w->ndates < ATK_MAXD; i++)
		if (!w->ndates || w->dates[w->ndates - 1] != cand[i])
			w->dates[w->ndates++] = cand[i];
	return DH_OK;
}

static inline void atk_world_free(atk_world *w)
{
	dh_cube_release(w->cube);
	dh_store_close(w->store);
	if (w->dir) {
		char cmd[4300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "attack: could not remove %s\n", w->dir);
	}
	free(w->dir);
	memset(w, 0, sizeof(*w));
}

/* ---- territories: every row of every level, and its communes ---- */

typedef struct atk_terr {
	size_t n;                 /* rows: communes first, then EPCI, départements, régions, all */
	int level[1 << 14];       /* index into atk_levels */
	char code[1 << 14][16];
	size_t first[ATK_LEVELS + 1];
	size_t *members;          /* communes (row indices) of each row, CSR */
	size_t *moff;             /* n + 1 */
} atk_terr;

static inline size_t atk_terr_find(const atk_terr *t, int level, const char *code)
{
	for (size_t r = t->first[level]; r < t->first[level + 1]; r++)
		if (strcmp(t->code[r], code) == 0)
			return r;
	return SIZE_MAX;
}

/* 1 if commune row c belongs to aggregate row a. */
static inline int atk_terr_contains(const atk_terr *t, const dh_geo *geo, size_t a, size_t c)
{
	int32_t g = dh_geo_commune_find(geo, (dh_str){ t->code[c], strlen(t->code[c]) });
	if (g < 0)
		return 0;
	const dh_commune *cm = dh_geo_commune(geo, g);
	switch (t->level[a]) {
	case 0: return a == c;
	case 1: return strcmp(cm->epci, t->code[a]) == 0;
	case 2: return strcmp(cm->departement, t->code[a]) == 0;
	case 3: return strcmp(cm->region, t->code[a]) == 0;
	default: return 1;
	}
}

/* Every territory with rows in the cube (at any date), from the cube's own tables. */
static inline int atk_terr_build(atk_terr *t, const atk_world *w, dh_error *err)
{
	memset(t, 0, sizeof(*t));
	for (int k = 0; k < ATK_LEVELS; k++) {
		t->first[k] = t->n;
		dh_cube_query q = { .level = atk_levels[k], .reference_date = w->dates[w->ndates - 1],
				    .indicators = (int[]){ 0 }, .nindicators = 1 };
		dh_cube_table *tab = NULL;
		int rc = dh_cube_query_run(w->cube, &q, &tab, err);
		if (rc != DH_OK)
			return rc;
		for (size_t i = 0; i < tab->nrows && t->n < (1 << 14); i++) {
			t->level[t->n] = k;
			snprintf(t->code[t->n], sizeof(t->code[0]), "%s", tab->codes[i]);
			t->n++;
		}
		dh_cube_table_free(tab);
	}
	t->first[ATK_LEVELS] = t->n;
	size_t nc = t->first[1];
	t->moff = calloc(t->n + 1, sizeof(size_t));
	t->members = malloc((t->n * 4 + nc * ATK_LEVELS + 1) * sizeof(size_t));
	if (!t->moff || !t->members)
		return dh_error_set(err, DH_NOMEM, "memory");
	size_t m = 0;
	for (size_t a = 0; a < t->n; a++) {
		t->moff[a] = m;
		for (size_t c = 0; c < nc; c++)
			if (atk_terr_contains(t, w->geo, a, c))
				t->members[m++] = c;
	}
	t->moff[t->n] = m;
	return DH_OK;
}

static inline void atk_terr_free(atk_terr *t)
{
	free(t->members);
	free(t->moff);
	t->members = t->moff = NULL;
}

/* ---- the judge: true values and per-landlord contributions at a date ---- */

typedef struct atk_truth {
	int32_t date;
	size_t nrows, nv, nl;
	double *val;      /* nrows x nv x nl: each landlord's value */
	double *total;    /* nrows x nv */
	uint8_t *present; /* nrows x nl: landlord has stock or exits there */
	double *rate;     /* nrows x ATK_MAXR: the cube's rate (NaN: undefined) */
} atk_truth;

static inline void atk_truth_free(atk_truth *t)
{
	free(t->val);
	free(t->total);
	free(t->present);
	free(t->rate);
	memset(t, 0, sizeof(*t));
}

static inline int atk_split(const atk_world *w, int32_t date, const int *cols, size_t ncols,
			    const dh_predicate *f, size_t nf, dh_cube_split **out, dh_error *err)
{
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = date, .indicators = cols,
			    .nindicators = ncols, .filters = f, .nfilters = nf };
	return dh_cube_query_split(w->cube, &q, out, err);
}

static inline size_t atk_landlord_of(const atk_world *w, const char *siren)
{
	for (size_t l = 0; l < w->nl; l++)
		if (strcmp(w->siren[l], siren) == 0)
			return l;
	return SIZE_MAX;
}

static inline double atk_nz(double x)
{
	return isnan(x) ? 0.0 : x;
}

static inline int atk_truth_build(atk_truth *T, const atk_world *w, const atk_terr *terr,
				  const atk_model *m, int32_t date, dh_error *err)
{
	memset(T, 0, sizeof(*T));
	T->date = date;
	T->nrows = terr->n, T->nv = m->nv, T->nl = w->nl;
	size_t NV = m->nv, NL = w->nl, nc = terr->first[1];
	T->val = calloc(terr->n * NV * NL + 1, sizeof(double));
	T->total = calloc(terr->n * NV + 1, sizeof(double));
	T->present = calloc(terr->n * NL + 1, 1);
	T->rate = calloc(terr->n * ATK_MAXR + 1, sizeof(double));
	if (!T->val || !T->total || !T->present || !T->rate)
		return dh_error_set(err, DH_NOMEM, "memory");
	/* the counts and the rates of every commune by landlord */
	int cols[ATK_MAXV + ATK_MAXR];
	size_t nq = 0;
	for (size_t v = 0; v < NV; v++)
		if (m->reg[v] >= 0)
			cols[nq++] = m->reg[v];
	size_t rate_col0 = nq;
	for (size_t r = 0; r < m->nrate; r++)
		cols[nq++] = m->rate[r].reg >= 0 ? m->rate[r].reg : 0;
	dh_cube_split *sp = NULL, *mob = NULL, *prev = NULL;
	int rc = atk_split(w, date, cols, nq, NULL, 0, &sp, err);
	/* tx_mob's denominator: let or vacant, let for the first time at least 2 years before */
	int lv[2] = { dh_indicator_find(DH_STR_LIT("loues")), dh_indicator_find(DH_STR_LIT("vacants")) };
	dh_predicate f = { .dim = DH_DIM_LOCAT_YEARS, .op = DH_OP_RANGE, .lo = 2, .hi = 9999 };
	if (rc == DH_OK)
		rc = atk_split(w, date, lv, 2, &f, 1, &mob, err);
	int nbc = m->reg[m->nb_ls];
	if (rc == DH_OK)
		rc = atk_split(w, atk_year_before(date), &nbc, 1, NULL, 0, &prev, err);
	if (rc != DH_OK) {
		dh_cube_split_free(sp);
		dh_cube_split_free(mob);
		dh_cube_split_free(prev);
		return rc;
	}
	int iv3 = atk_var(m, "#v3"), imn = atk_var(m, "#mobn"), imd = atk_var(m, "#mobd");
	int iq = atk_var(m, "#qpv"), ico = atk_var(m, "#coll"), iin = atk_var(m, "#ind");
	int ipr = atk_var(m, "#prev"), ilo = atk_var(m, "loues"), iva = atk_var(m, "vacants");
	int iso = atk_var(m, "sorties");
	for (size_t i = 0; i < sp->nrows; i++) {
		size_t row = atk_terr_find(terr, 0, sp->codes[i]);
		if (row == SIZE_MAX)
			continue;
		for (size_t x = sp->first[i]; x < sp->first[i + 1]; x++) {
			size_t l = atk_landlord_of(w, sp->landlords[sp->landlord[x]]);
			if (l == SIZE_MAX)
				continue;
			const double *pv = sp->values + x * sp->ncols;
			double *out = T->val + (row * NV) * NL + l;
			size_t k = 0;
			for (size_t v = 0; v < NV; v++)
				if (m->reg[v] >= 0)
					out[v * NL] = atk_nz(pv[k++]);
			const double *rt = pv + rate_col0;
			double lvd = out[ilo * NL] + out[iva * NL], nb = out[m->nb_ls * NL];
			out[iv3 * NL] = round(atk_nz(rt[1]) * lvd / 100.0);
			out[iq * NL] = round(atk_nz(rt[3]) * nb / 100.0);
			out[ico * NL] = round(atk_nz(rt[4]) * nb / 100.0);
			out[iin * NL] = round(atk_nz(rt[5]) * nb / 100.0);
			T->present[row * NL + l] = nb > 0 || out[iso * NL] > 0;
		}
	}
	for (size_t i = 0; i < mob->nrows; i++) {
		size_t row = atk_terr_find(terr, 0, mob->codes[i]);
		for (size_t x = mob->first[i]; x < mob->first[i + 1] && row != SIZE_MAX; x++) {
			size_t l = atk_landlord_of(w, mob->landlords[mob->landlord[x]]);
			if (l == SIZE_MAX)
				continue;
			double d = atk_nz(mob->values[x * 2]) + atk_nz(mob->values[x * 2 + 1]);
			T->val[(row * NV + (size_t)imd) * NL + l] = d;
		}
	}
	for (size_t i = 0; i < prev->nrows; i++) {
		size_t row = atk_terr_find(terr, 0, prev->codes[i]);
		for (size_t x = prev->first[i]; x < prev->first[i + 1] && row != SIZE_MAX; x++) {
			size_t l = atk_landlord_of(w, prev->landlords[prev->landlord[x]]);
			if (l != SIZE_MAX)
				T->val[(row * NV + (size_t)ipr) * NL + l] = atk_nz(prev->values[x]);
		}
	}
	/* mobility numerator: tx_mob x its denominator */
	for (size_t i = 0; i < sp->nrows; i++) {
		size_t row = atk_terr_find(terr, 0, sp->codes[i]);
		for (size_t x = sp->first[i]; x < sp->first[i + 1] && row != SIZE_MAX; x++) {
			size_t l = atk_landlord_of(w, sp->landlords[sp->landlord[x]]);
			if (l == SIZE_MAX)
				continue;
			double d = T->val[(row * NV + (size_t)imd) * NL + l];
			T->val[(row * NV + (size_t)imn) * NL + l] =
				round(atk_nz(sp->values[x * sp->ncols + rate_col0 + 2]) * d / 100.0);
		}
	}
	dh_cube_split_free(sp);
	dh_cube_split_free(mob);
	dh_cube_split_free(prev);
	/* aggregates: the sums of their communes */
	for (size_t a = nc; a < terr->n; a++)
		for (size_t k = terr->moff[a]; k < terr->moff[a + 1]; k++) {
			size_t c = terr->members[k];
			for (size_t j = 0; j < NV * NL; j++)
				T->val[a * NV * NL + j] += T->val[c * NV * NL + j];
			for (size_t l = 0; l < NL; l++)
				T->present[a * NL + l] |= T->present[c * NL + l];
		}
	for (size_t r = 0; r < terr->n; r++)
		for (size_t v = 0; v < NV; v++) {
			double s = 0;
			for (size_t l = 0; l < NL; l++)
				s += T->val[(r * NV + v) * NL + l];
			T->total[r * NV + v] = s;
		}
	/* the cube's rates of every territory (to check the formulas) */
	for (int k = 0; k < ATK_LEVELS; k++) {
		dh_cube_query q = { .level = atk_levels[k], .reference_date = date, .indicators = cols + rate_col0,
				    .nindicators = m->nrate };
		dh_cube_table *tab = NULL;
		rc = dh_cube_query_run(w->cube, &q, &tab, err);
		if (rc != DH_OK)
			return rc;
		for (size_t i = 0; i < tab->nrows; i++) {
			size_t row = atk_terr_find(terr, k, tab->codes[i]);
			if (row != SIZE_MAX)
				memcpy(T->rate + row * ATK_MAXR, tab->values + i * tab->ncols,
				       m->nrate * sizeof(double));
		}
		dh_cube_table_free(tab);
	}
	return DH_OK;
}

static inline double atk_sum_of(const double *rowtotal, const int *v, size_t n)
{
	double s = 0;
	for (size_t k = 0; k < n; k++)
		s += rowtotal[v[k]];
	return s;
}

/* The value of rate q from its numerator and denominator (NaN when den is 0). */
static inline double atk_rate_value(const atk_mrate *q, double n, double d)
{
	if (!(d > 0))
		return NAN;
	return q->kind == 1 ? (n / d - 1) * 100.0 : q->mult * n / d;
}

/* Drop the relations and rate formulas that do not hold on the truth (a modelling error of
 * the attacker, reported). Returns the number dropped. */
static inline size_t atk_model_check(atk_model *m, const atk_truth *T, int verbose)
{
	size_t dropped = 0;
	for (size_t r = 0; r < T->nrows; r++) {
		const double *tot = T->total + r * T->nv;
		for (size_t e = 0; e < m->nrel; e++) {
			if (!m->rel_ok[e])
				continue;
			const atk_mrel *re = &m->rel[e];
			double l = atk_sum_of(tot, re->lhs, re->nl), h = atk_sum_of(tot, re->rhs, re->nr);
			double tol = 1e-6 * fmax(1.0, fabs(h));
			if (re->le ? l > h + tol : fabs(l - h) > tol) {
				m->rel_ok[e] = 0;
				dropped++;
				if (verbose)
					fprintf(stderr, "# attack: relation %zu (%s ...) does not hold at %d: %g vs %g\n",
						e, m->name[re->lhs[0]], (int)T->date, l, h);
			}
		}
		for (size_t q = 0; q < m->nrate; q++) {
			if (!m->rate_ok[q])
				continue;
			const atk_mrate *rq = &m->rate[q];
			double n = atk_sum_of(tot, rq->num, rq->nn), d = atk_sum_of(tot, rq->den, rq->nd);
			double v = T->rate[r * ATK_MAXR + q], want = atk_rate_value(rq, n, d);
			if (isnan(v) != isnan(want) || (!isnan(v) && fabs(v - want) > 1e-6 * fmax(1.0, fabs(v)))) {
				m->rate_ok[q] = 0;
				dropped++;
				if (verbose)
					fprintf(stderr, "# attack: rate %s does not match its formula at %d (%g vs %g)\n",
						dh_indicator_at((size_t)rq->reg)->id, (int)T->date, v, want);
			}
		}
	}
	return dropped;
}

/* Protection interval of a quantity whose landlords contribute c[0..nl-1] (absolute values
 * for the rules), npresent landlords present; X the true value; [floor, cap] what is known
 * a priori. attacker: the landlord attacking (its own share known: the p% rule then protects
 * the largest other contribution from it), SIZE_MAX for an outsider (the p% rule protects
 * the largest from the second largest). Returns 1 if sensitive and sets [*lo, *hi]. */
static inline int atk_protection(double X, const double *c, size_t nl, size_t npresent, size_t attacker,
				 double floor_, double cap, double *lo, double *hi)
{
	double x1 = 0, x2 = 0, sum = 0, d1 = 0, dsum = 0;
	for (size_t l = 0; l < nl; l++) {
		double a = fabs(c[l]);
		dsum += a;
		d1 = fmax(d1, a);
		if (l == attacker)
			continue;
		sum += a;
		if (a > x1)
			x2 = x1, x1 = a;
		else if (a > x2)
			x2 = a;
	}
	if (attacker != SIZE_MAX)
		x2 = 0; /* the attacker's own share is known: what hides x1 is the rest */
	int threshold = npresent > 0 && npresent < ATK_MIN_LANDLORDS && (ATK_PROTECT_ZEROS || dsum > 0);
	int pct = x1 > 0 && sum - x1 - x2 < ATK_P / 100.0 * x1;
	int dom = d1 > 0 && d1 > ATK_DOM_K / 100.0 * dsum;
	if (!threshold && !pct && !dom)
		return 0;
	double level = ATK_MIN_LEVEL;
	if (pct)
		level = fmax(level, ATK_P / 100.0 * x1 - (sum - x1 - x2));
	if (dom)
		level = fmax(level, d1 * 100.0 / ATK_DOM_K - dsum);
	*lo = fmax(floor_, X - level);
	*hi = fmin(cap, X + level);
	return 1;
}

/* ---- the attacker's view: what dh_figures_query() gave for one role and date ---- */

typedef struct atk_view {
	int ok;                /* at least one table */
	size_t nrows;          /* = terr->n; rows not fetched have fetched 0 */
	uint8_t *fetched;      /* nrows */
	uint8_t *known;        /* nrows x nv: published count */
	double *value;         /* nrows x nv */
	uint8_t *hidden;       /* nrows x nv: returned as secret */
	double *rate;          /* nrows x ATK_MAXR: published rate, NaN (see rate_pub) */
	uint8_t *rate_pub;     /* 1 published (value may be NaN: undefined), 0 hidden/absent */
	double *own;           /* member: its own values (lower bounds), else NULL */
	int levels_ok[ATK_LEVELS];
	int32_t date;
} atk_view;

static inline void atk_view_free(atk_view *v)
{
	free(v->fetched);
	free(v->known);
	free(v->value);
	free(v->hidden);
	free(v->rate);
	free(v->rate_pub);
	free(v->own);
	memset(v, 0, sizeof(*v));
}

static inline dh_identity atk_identity(const atk_world *w, int role)
{
	dh_identity who;
	memset(&who, 0, sizeof(who));
	snprintf(who.login, sizeof(who.login), "attacker-%s", atk_role_name[role]);
	switch (role) {
	case ATK_PUBLIC: who.role = DH_ROLE_PUBLIC; break;
	case ATK_ANALYST: who.role = DH_ROLE_ANALYST; break;
	case ATK_PARTNER: who.role = DH_ROLE_PARTNER; break;
	default: who.role = DH_ROLE_MEMBER; break;
	}
	if (role == ATK_MEMBER)
		snprintf(who.org_siren, sizeof(who.org_siren), "%s", w->siren[w->member]);
	char terr[32];
	snprintf(terr, sizeof(terr), "departement:%s", w->partner_dep);
	dh_territory_parse(role == ATK_PARTNER ? terr : "all", &who.territory, NULL);
	return who;
}

/* Fetch every level at one date for a role (and, for the member, its own rows). */
static inline int atk_view_fetch(atk_view *V, const atk_world *w, const atk_terr *terr, const atk_model *m,
				 int role, int32_t date, size_t *queries)
{
	memset(V, 0, sizeof(*V));
	V->date = date;
	V->nrows = terr->n;
	size_t NV = m->nv;
	V->fetched = calloc(terr->n + 1, 1);
	V->known = calloc(terr->n * NV + 1, 1);
	V->hidden = calloc(terr->n * NV + 1, 1);
	V->value = calloc(terr->n * NV + 1, sizeof(double));
	V->rate = calloc(terr->n * ATK_MAXR + 1, sizeof(double));
	V->rate_pub = calloc(terr->n * ATK_MAXR + 1, 1);
	if (!V->fetched || !V->known || !V->hidden || !V->value || !V->rate || !V->rate_pub)
		return -1;
	dh_identity who = atk_identity(w, role);
	for (int k = 0; k < ATK_LEVELS; k++) {
		dh_figures_request req = { .level = atk_levels[k], .reference_date = date, .today = "2026-06-01" };
		dh_figures_result *r = NULL;
		dh_error err;
		dh_error_clear(&err);
		(*queries)++;
		if (dh_figures_query(w->store, w->geo, w->cube, &who, &req, &r, &err) != DH_OK)
			continue;
		V->levels_ok[k] = 1;
		V->ok = 1;
		int colv[ATK_MAXV], colr[ATK_MAXR];
		for (size_t v = 0; v < NV; v++) {
			colv[v] = -1;
			for (size_t j = 0; j < r->ncols && m->reg[v] >= 0; j++)
				if (r->columns[j] == dh_indicator_at((size_t)m->reg[v]))
					colv[v] = (int)j;
		}
		for (size_t q = 0; q < m->nrate; q++) {
			colr[q] = -1;
			for (size_t j = 0; j < r->ncols && m->rate[q].reg >= 0; j++)
				if (r->columns[j] == dh_indicator_at((size_t)m->rate[q].reg))
					colr[q] = (int)j;
		}
		for (size_t i = 0; i < r->nrows; i++) {
			size_t row = atk_terr_find(terr, k, r->codes[i]);
			if (row == SIZE_MAX)
				continue;
			V->fetched[row] = 1;
			for (size_t v = 0; v < NV; v++) {
				if (colv[v] < 0)
					continue;
				size_t c = (size_t)colv[v];
				if (dh_figures_hidden(r, i, c)) {
					V->hidden[row * NV + v] = 1;
				} else if (!isnan(r->values[i * r->ncols + c])) {
					V->known[row * NV + v] = 1;
					V->value[row * NV + v] = r->values[i * r->ncols + c];
				}
			}
			for (size_t q = 0; q < m->nrate; q++) {
				if (colr[q] < 0 || dh_figures_hidden(r, i, (size_t)colr[q]))
					continue;
				V->rate_pub[row * ATK_MAXR + q] = 1;
				V->rate[row * ATK_MAXR + q] = r->values[i * r->ncols + (size_t)colr[q]];
			}
		}
		dh_figures_result_free(r);
	}
	if (role != ATK_MEMBER)
		return 0;
	/* the member's own rows: every commune, unsuppressed, and its own mobility denominator */
	V->own = calloc(terr->n * NV + 1, sizeof(double));
	if (!V->own)
		return -1;
	int ilo = atk_var(m, "loues"), iva = atk_var(m, "vacants");
	for (int pass = 0; pass < 2; pass++) {
		dh_predicate f[2] = { { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = who.org_siren },
				      { .dim = DH_DIM_LOCAT_YEARS, .op = DH_OP_RANGE, .lo = 2, .hi = 9999 } };
		dh_figures_request req = { .level = DH_LEVEL_COMMUNE, .reference_date = date, .filters = f,
					   .nfilters = pass ? 2 : 1, .today = "2026-06-01" };
		dh_figures_result *r = NULL;
		dh_error err;
		(*queries)++;
		if (dh_figures_query(w->store, w->geo, w->cube, &who, &req, &r, &err) != DH_OK)
			continue;
		for (size_t i = 0; i < r->nrows; i++) {
			size_t row = atk_terr_find(terr, 0, r->codes[i]);
			if (row == SIZE_MAX)
				continue;
			double *o = V->own + row * NV;
			double vals[ATK_MAXV + ATK_MAXR];
			for (size_t j = 0; j < r->ncols; j++)
				vals[j] = atk_nz(r->values[i * r->ncols + j]);
			for (size_t j = 0; j < r->ncols; j++) {
				const dh_indicator *ind = r->columns[j];
				if (pass) {
					if (strcmp(ind->id, "loues") == 0 || strcmp(ind->id, "vacants") == 0)
						o[atk_var(m, "#mobd")] += vals[j];
					continue;
				}
				int v = atk_var(m, ind->id);
				if (v >= 0 && ind->kind == DH_IND_COUNT)
					o[v] = vals[j];
			}
			if (pass)
				continue;
			for (size_t j = 0; j < r->ncols; j++) {
				const char *id = r->columns[j]->id;
				double lvd = o[ilo] + o[iva], nb = o[m->nb_ls];
				if (strcmp(id, "tx_vac3") == 0)
					o[atk_var(m, "#v3")] = round(vals[j] * lvd / 100.0);
				else if (strcmp(id, "part_qpv") == 0)
					o[atk_var(m, "#qpv")] = round(vals[j] * nb / 100.0);
				else if (strcmp(id, "part_collectif") == 0)
					o[atk_var(m, "#coll")] = round(vals[j] * nb / 100.0);
				else if (strcmp(id, "part_individuel") == 0)
					o[atk_var(m, "#ind")] = round(vals[j] * nb / 100.0);
			}
		}
		dh_figures_result_free(r);
	}
	/* own mobility numerator from its own tx_mob */
	{
		dh_predicate f = { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = who.org_siren };
		int col = dh_indicator_find(DH_STR_LIT("tx_mob"));
		dh_figures_request req = { .level = DH_LEVEL_COMMUNE, .reference_date = date, .filters = &f,
					   .nfilters = 1, .indicators = &col, .nindicators = 1, .today = "2026-06-01" };
		dh_figures_result *r = NULL;
		dh_error err;
		(*queries)++;
		if (dh_figures_query(w->store, w->geo, w->cube, &who, &req, &r, &err) == DH_OK) {
			for (size_t i = 0; i < r->nrows; i++) {
				size_t row = atk_terr_find(terr, 0, r->codes[i]);
				if (row == SIZE_MAX)
					continue;
				double *o = V->own + row * NV;
				o[atk_var(m, "#mobn")] = round(atk_nz(r->values[i]) * o[atk_var(m, "#mobd")] / 100.0);
			}
			dh_figures_result_free(r);
		}
	}
	size_t nc = terr->first[1];
	for (size_t a = nc; a < terr->n; a++)
		for (size_t k = terr->moff[a]; k < terr->moff[a + 1]; k++)
			for (size_t v = 0; v < NV; v++)
				V->own[a * NV + v] += V->own[terr->members[k] * NV + v];
	return 0;
}

/* Decimals of the publication of rate column q: -1 full precision, else 0 .. 6. */
static inline int atk_rate_decimals(const atk_view *const *views, size_t nviews, size_t q)
{
	int dec = 0;
	for (size_t k = 0; k < nviews; k++) {
		const atk_view *V = views[k];
		for (size_t r = 0; r < V->nrows; r++) {
			if (!V->rate_pub[r * ATK_MAXR + q])
				continue;
			double x = V->rate[r * ATK_MAXR + q];
			if (isnan(x))
				continue;
			int d = 0;
			while (d <= 6 && fabs(x * pow(10, d) - round(x * pow(10, d))) > 1e-6)
				d++;
			if (d > 6)
				return -1;
			if (d > dec)
				dec = d;
		}
	}
	return dec;
}

/* ---- the attacker's programme ---- */

typedef struct atk_bounds {
	double *lo, *hi;       /* nrows x nv: what the attacker knows (±inf: nothing) */
	double *lo_lp, *hi_lp; /* after the first LP, before rational reconstruction */
	size_t lps, rr_gains, targets;
	int infeasible;
} atk_bounds;

static inline void atk_bounds_free(atk_bounds *b)
{
	free(b->lo);
	free(b->hi);
	free(b->lo_lp);
	free(b->hi_lp);
	memset(b, 0, sizeof(*b));
}

/* The attacker's system: unknown columns (one per unknown cell) with bounds, and linear rows
 * over them (known cells folded into the row bounds). Solved component by component (columns
 * linked by rows), one GLPK problem each, warm-started from objective to objective. */
typedef struct atk_sys {
	size_t N;                 /* cells */
	int *colof;               /* cell -> column or -1 */
	double *kval;             /* cell -> known value */
	size_t ncols;
	size_t *cell;             /* column -> cell */
	double *lo, *hi;          /* column bounds */
	size_t nrows, cap_rows, nnz, cap_nnz;
	size_t *roff;             /* nrows + 1 */
	int *rcol;
	double *rval;
	int *rtype;
	double *rlo, *rhi;
	/* components */
	int *comp;                /* column -> component */
	int *local;               /* column -> 1-based index in its component's problem */
	size_t ncomp;
	glp_prob **prob;          /* ncomp, built lazily */
	size_t *lps;
	int fail;
} atk_sys;

static inline void atk_sys_free_probs(atk_sys *S)
{
	for (size_t c = 0; c < S->ncomp && S->prob; c++)
		if (S->prob[c])
			glp_delete_prob(S->prob[c]);
	free(S->prob);
	S->prob = NULL;
}

static inline void atk_sys_free(atk_sys *S)
{
	atk_sys_free_probs(S);
	free(S->colof);
	free(S->kval);
	free(S->cell);
	free(S->lo);
	free(S->hi);
	free(S->roff);
	free(S->rcol);
	free(S->rval);
	free(S->rtype);
	free(S->rlo);
	free(S->rhi);
	free(S->comp);
	free(S->local);
	memset(S, 0, sizeof(*S));
}

/* Add a row sum(coef x cell) in [lo, hi] (type GLP_FX, GLP_UP, GLP_LO, GLP_DB), known cells
 * folded into the bounds. Returns 1 if a row was added (it has an unknown), 0 if not, -1 on
 * memory failure. */
static inline int atk_sys_row(atk_sys *S, const size_t *cells, const double *coef, size_t n, int type,
			      double lo, double hi)
{
	if (S->nrows + 1 >= S->cap_rows) {
		size_t cap = S->cap_rows ? S->cap_rows * 2 : 1024;
		size_t *ro = realloc(S->roff, (cap + 1) * sizeof(size_t));
		if (ro)
			S->roff = ro;
		int *rt = realloc(S->rtype, cap * sizeof(int));
		if (rt)
			S->rtype = rt;
		double *rl = realloc(S->rlo, cap * sizeof(double));
		if (rl)
			S->rlo = rl;
		double *rh = realloc(S->rhi, cap * sizeof(double));
		if (rh)
			S->rhi = rh;
		if (!ro || !rt || !rl || !rh)
			return -1;
		if (!S->cap_rows)
			S->roff[0] = 0;
		S->cap_rows = cap;
	}
	if (S->nnz + n >= S->cap_nnz) {
		size_t cap = (S->cap_nnz + n) * 2 + 4096;
		int *rc = realloc(S->rcol, cap * sizeof(int));
		if (rc)
			S->rcol = rc;
		double *rv = realloc(S->rval, cap * sizeof(double));
		if (rv)
			S->rval = rv;
		if (!rc || !rv)
			return -1;
		S->cap_nnz = cap;
	}
	size_t start = S->roff[S->nrows], nz = 0;
	double k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = S->colof[cells[i]];
		if (c < 0) {
			k += coef[i] * S->kval[cells[i]];
			continue;
		}
		int dup = 0;
		for (size_t z = 0; z < nz && n <= 64; z++)
			if (S->rcol[start + z] == c)
				S->rval[start + z] += coef[i], dup = 1;
		if (!dup)
			S->rcol[start + nz] = c, S->rval[start + nz++] = coef[i];
	}
	if (!nz)
		return 0;
	S->nnz += nz;
	S->rtype[S->nrows] = type;
	S->rlo[S->nrows] = lo - k;
	S->rhi[S->nrows] = hi - k;
	S->roff[++S->nrows] = S->nnz;
	return 1;
}

static inline int atk_uf_find(int *p, int x)
{
	while (p[x] != x)
		x = p[x] = p[p[x]];
	return x;
}

/* Components of the columns linked by rows; previous problems are freed. */
static inline int atk_sys_components(atk_sys *S)
{
	atk_sys_free_probs(S);
	free(S->comp);
	free(S->local);
	S->comp = malloc((S->ncols + 1) * sizeof(int));
	S->local = malloc((S->ncols + 1) * sizeof(int));
	int *p = malloc((S->ncols + 1) * sizeof(int));
	if (!S->comp || !S->local || !p) {
		free(p);
		return -1;
	}
	for (size_t c = 0; c < S->ncols; c++)
		p[c] = (int)c;
	for (size_t r = 0; r < S->nrows; r++) {
		int a = atk_uf_find(p, S->rcol[S->roff[r]]);
		for (size_t z = S->roff[r] + 1; z < S->roff[r + 1]; z++) {
			int b = atk_uf_find(p, S->rcol[z]);
			if (a != b)
				p[b] = a;
		}
	}
	int *id = malloc((S->ncols + 1) * sizeof(int));
	if (!id) {
		free(p);
		return -1;
	}
	for (size_t c = 0; c < S->ncols; c++)
		id[c] = -1;
	S->ncomp = 0;
	int *count = calloc(S->ncols + 1, sizeof(int));
	for (size_t c = 0; c < S->ncols && count; c++) {
		int root = atk_uf_find(p, (int)c);
		if (id[root] < 0)
			id[root] = (int)S->ncomp++;
		S->comp[c] = id[root];
		S->local[c] = ++count[id[root]];
	}
	free(count);
	free(id);
	free(p);
	S->prob = calloc(S->ncomp + 1, sizeof(glp_prob *));
	return S->prob ? 0 : -1;
}

static inline int atk_glp_type(double lo, double hi)
{
	if (isinf(lo) && isinf(hi))
		return GLP_FR;
	if (isinf(hi))
		return GLP_LO;
	if (isinf(lo))
		return GLP_UP;
	return lo == hi ? GLP_FX : GLP_DB;
}

static inline glp_prob *atk_sys_prob(atk_sys *S, int comp)
{
	if (S->prob[comp])
		return S->prob[comp];
	glp_prob *P = glp_create_prob();
	size_t n = 0;
	for (size_t c = 0; c < S->ncols; c++)
		n += S->comp[c] == comp;
	glp_add_cols(P, (int)n);
	for (size_t c = 0; c < S->ncols; c++)
		if (S->comp[c] == comp)
			glp_set_col_bnds(P, S->local[c], atk_glp_type(S->lo[c], S->hi[c]), isinf(S->lo[c]) ? 0 : S->lo[c],
					 isinf(S->hi[c]) ? 0 : S->hi[c]);
	int *ind = NULL;
	double *val = NULL;
	size_t cap = 0;
	for (size_t r = 0; r < S->nrows; r++) {
		if (S->comp[S->rcol[S->roff[r]]] != comp)
			continue;
		size_t nz = S->roff[r + 1] - S->roff[r];
		if (nz + 1 > cap) {
			cap = nz + 64;
			free(ind);
			free(val);
			ind = malloc(cap * sizeof(int));
			val = malloc(cap * sizeof(double));
			if (!ind || !val)
				break;
		}
		for (size_t z = 0; z < nz; z++)
			ind[z + 1] = S->local[S->rcol[S->roff[r] + z]], val[z + 1] = S->rval[S->roff[r] + z];
		int row = glp_add_rows(P, 1);
		glp_set_row_bnds(P, row, S->rtype[r], S->rlo[r], S->rhi[r]);
		glp_set_mat_row(P, row, (int)nz, ind, val);
	}
	free(ind);
	free(val);
	S->prob[comp] = P;
	return P;
}

/* Min (sense -1) or max (+1) of sum coef x cell over the system; ±inf when unbounded.
 * Separable: the terms of each component are optimised in that component. */
static inline double atk_sys_opt(atk_sys *S, const size_t *cells, const double *coef, size_t n, int sense)
{
	double res = 0;
	int done[64];
	size_t ndone = 0;
	for (size_t i = 0; i < n; i++) {
		int c = S->colof[cells[i]];
		if (c < 0) {
			res += coef[i] * S->kval[cells[i]];
			continue;
		}
		int comp = S->comp[c], seen = 0;
		for (size_t k = 0; k < ndone; k++)
			seen |= done[k] == comp;
		if (seen || ndone == 64)
			continue;
		done[ndone++] = comp;
		glp_prob *P = atk_sys_prob(S, comp);
		for (size_t j = i; j < n; j++) {
			int cj = S->colof[cells[j]];
			if (cj >= 0 && S->comp[cj] == comp)
				glp_set_obj_coef(P, S->local[cj], glp_get_obj_coef(P, S->local[cj]) + coef[j]);
		}
		glp_set_obj_dir(P, sense > 0 ? GLP_MAX : GLP_MIN);
		glp_smcp parm;
		glp_init_smcp(&parm);
		parm.msg_lev = GLP_MSG_OFF;
		int rc = glp_simplex(P, &parm);
		if (rc != 0) {
			glp_adv_basis(P, 0);
			rc = glp_simplex(P, &parm);
		}
		(*S->lps)++;
		int st = glp_get_status(P);
		if (rc == 0 && st == GLP_OPT)
			res += glp_get_obj_val(P);
		else if (rc == 0 && st == GLP_UNBND)
			res = sense > 0 ? INFINITY : -INFINITY;
		else
			S->fail = 1, res = sense > 0 ? INFINITY : -INFINITY;
		for (size_t j = i; j < n; j++) {
			int cj = S->colof[cells[j]];
			if (cj >= 0 && S->comp[cj] == comp)
				glp_set_obj_coef(P, S->local[cj], 0.0);
		}
		if (isinf(res))
			return res;
	}
	return res;
}

/* Expression cells of quantities v[0..n-1] at row r, each with coefficient c. */
static inline size_t atk_expr(const atk_model *m, size_t r, const int *v, size_t n, size_t *cells,
			      double *coef, double c)
{
	for (size_t k = 0; k < n; k++) {
		cells[k] = r * m->nv + (size_t)v[k];
		coef[k] = c;
	}
	return n;
}

/* Tolerance of a published rate value: full precision or half a unit of the last decimal. */
static inline double atk_rate_delta(int dec, double base)
{
	return dec < 0 ? 1e-9 * fmax(1.0, fabs(base)) : 0.5 * pow(10, -dec) + 1e-9;
}

/*
 * Solve the attacker's programme for one view: bounds of every target quantity (hidden or
 * latent; with targets_all 0 only the landlord business ones), LP then rational
 * reconstruction of the published business rates to a fixpoint (at most max_rounds).
 * dec[q]: publication decimals of rate q (-1 full precision).
 */
static inline int atk_solve(atk_bounds *B, const atk_view *V, const atk_terr *terr, const atk_model *m,
			    const int *dec, int max_rounds, int targets_all)
{
	memset(B, 0, sizeof(*B));
	size_t NV = m->nv, N = terr->n * NV, nc = terr->first[1];
	atk_sys S;
	memset(&S, 0, sizeof(S));
	S.N = N;
	S.lps = &B->lps;
	B->lo = malloc(N * sizeof(double));
	B->hi = malloc(N * sizeof(double));
	B->lo_lp = malloc(N * sizeof(double));
	B->hi_lp = malloc(N * sizeof(double));
	S.colof = malloc(N * sizeof(int));
	S.kval = calloc(N, sizeof(double));
	S.cell = malloc(N * sizeof(size_t));
	S.lo = malloc(N * sizeof(double));
	S.hi = malloc(N * sizeof(double));
	uint8_t *target = calloc(N, 1), *dirty = NULL;
	size_t *cells = malloc((nc + 2) * sizeof(size_t));
	double *coef = malloc((nc + 2) * sizeof(double));
	int rc = -1;
	if (!B->lo || !B->hi || !B->lo_lp || !B->hi_lp || !S.colof || !S.kval || !S.cell || !S.lo || !S.hi ||
	    !target || !cells || !coef)
		goto out;
	for (size_t r = 0; r < terr->n; r++) {
		for (size_t v = 0; v < NV; v++) {
			size_t i = r * NV + v;
			S.colof[i] = -1;
			B->lo[i] = -INFINITY, B->hi[i] = INFINITY;
			if (!V->fetched[r])
				continue;
			if (V->known[i]) {
				S.kval[i] = V->value[i];
				B->lo[i] = B->hi[i] = V->value[i];
				continue;
			}
			S.colof[i] = (int)S.ncols;
			S.cell[S.ncols] = i;
			S.lo[S.ncols] = B->lo[i] = V->own ? V->own[i] : 0.0;
			S.hi[S.ncols] = INFINITY;
			S.ncols++;
			if (m->business[v] || targets_all)
				target[i] = 1;
		}
	}
	/* hierarchy: an aggregate is the sum of its communes (those not in the commune table
	 * have no dwelling) */
	for (size_t a = nc; a < terr->n && V->levels_ok[0]; a++) {
		if (!V->fetched[a])
			continue;
		for (size_t v = 0; v < NV; v++) {
			size_t n = 0;
			for (size_t k = terr->moff[a]; k < terr->moff[a + 1]; k++)
				if (V->fetched[terr->members[k]])
					cells[n] = terr->members[k] * NV + v, coef[n++] = 1.0;
			cells[n] = a * NV + v, coef[n++] = -1.0;
			if (atk_sys_row(&S, cells, coef, n, GLP_FX, 0, 0) < 0)
				goto out;
		}
	}
	/* margins and rate formulas of every row */
	for (size_t r = 0; r < terr->n; r++) {
		if (!V->fetched[r])
			continue;
		size_t ec[40];
		double ek[40];
		for (size_t e = 0; e < m->nrel; e++) {
			if (!m->rel_ok[e])
				continue;
			const atk_mrel *re = &m->rel[e];
			size_t n = atk_expr(m, r, re->lhs, re->nl, ec, ek, 1.0);
			n += atk_expr(m, r, re->rhs, re->nr, ec + n, ek + n, -1.0);
			if (atk_sys_row(&S, ec, ek, n, re->le ? GLP_UP : GLP_FX, 0, 0) < 0)
				goto out;
		}
		for (size_t q = 0; q < m->nrate; q++) {
			if (!m->rate_ok[q] || !V->rate_pub[r * ATK_MAXR + q])
				continue;
			const atk_mrate *rq = &m->rate[q];
			double x = V->rate[r * ATK_MAXR + q];
			size_t nn = atk_expr(m, r, rq->num, rq->nn, ec, ek, rq->mult);
			if (isnan(x)) { /* undefined: the denominator is zero */
				size_t nd = atk_expr(m, r, rq->den, rq->nd, ec, ek, 1.0);
				if (atk_sys_row(&S, ec, ek, nd, GLP_FX, 0, 0) < 0)
					goto out;
				continue;
			}
			double base = rq->kind == 1 ? 100.0 + x : x, delta = atk_rate_delta(dec[q], base);
			/* mult num - (x + delta) den <= 0 and mult num - (x - delta) den >= 0 */
			for (int side = 0; side < 2; side++) {
				double xs = side ? base - delta : base + delta;
				size_t nd = atk_expr(m, r, rq->den, rq->nd, ec + nn, ek + nn, -xs);
				if (atk_sys_row(&S, ec, ek, nn + nd, side ? GLP_LO : GLP_UP, 0, 0) < 0)
					goto out;
			}
			/* published rate: its denominator is positive */
			size_t nd = atk_expr(m, r, rq->den, rq->nd, ec, ek, 1.0);
			if (rq->integer && atk_sys_row(&S, ec, ek, nd, GLP_LO, 1, 0) < 0)
				goto out;
		}
	}
	if (atk_sys_components(&S) != 0)
		goto out;
	dirty = malloc(S.ncomp + 1);
	if (!dirty)
		goto out;
	memset(dirty, 1, S.ncomp + 1);
	for (int round_ = 0; round_ < max_rounds; round_++) {
		/* bounds of every target of the components that changed, rounded to integers */
		for (size_t c = 0; c < S.ncols; c++) {
			size_t i = S.cell[c];
			if (!target[i] || !dirty[S.comp[c]])
				continue;
			double one = 1.0;
			double lo = atk_sys_opt(&S, &i, &one, 1, -1);
			double hi = atk_sys_opt(&S, &i, &one, 1, +1);
			if (m->integer[i % NV])
				lo = ceil(lo - 1e-6), hi = floor(hi + 1e-6);
			B->lo[i] = S.lo[c] = fmax(S.lo[c], lo);
			B->hi[i] = S.hi[c] = fmin(S.hi[c], hi);
			glp_set_col_bnds(atk_sys_prob(&S, S.comp[c]), S.local[c], atk_glp_type(S.lo[c], S.hi[c]),
					 S.lo[c], isinf(S.hi[c]) ? 0.0 : S.hi[c]);
		}
		if (round_ == 0) {
			memcpy(B->lo_lp, B->lo, N * sizeof(double));
			memcpy(B->hi_lp, B->hi, N * sizeof(double));
		}
		if (round_ + 1 >= max_rounds)
			break;
		/* rational reconstruction: integer (num, den) pairs compatible with the rate */
		size_t gains = 0, rows_before = S.nrows;
		for (size_t r = 0; r < terr->n; r++) {
			if (!V->fetched[r])
				continue;
			for (size_t q = 0; q < m->nrate; q++) {
				if (!m->rate_ok[q] || !V->rate_pub[r * ATK_MAXR + q] || !m->rate[q].integer)
					continue;
				const atk_mrate *rq = &m->rate[q];
				double x = V->rate[r * ATK_MAXR + q];
				if (isnan(x) || (!targets_all && !m->business[rq->num[0]]))
					continue;
				size_t ncl[16], dc[16];
				double nk[16], dk[16];
				size_t nn = atk_expr(m, r, rq->num, rq->nn, ncl, nk, 1.0);
				size_t nd = atk_expr(m, r, rq->den, rq->nd, dc, dk, 1.0);
				int touched = 0;
				for (size_t k = 0; k < nn; k++)
					touched |= S.colof[ncl[k]] >= 0 && dirty[S.comp[S.colof[ncl[k]]]];
				for (size_t k = 0; k < nd; k++)
					touched |= S.colof[dc[k]] >= 0 && dirty[S.comp[S.colof[dc[k]]]];
				if (!touched)
					continue;
				double nlo = atk_sys_opt(&S, ncl, nk, nn, -1), nhi = atk_sys_opt(&S, ncl, nk, nn, +1);
				double dlo = atk_sys_opt(&S, dc, dk, nd, -1), dhi = atk_sys_opt(&S, dc, dk, nd, +1);
				dlo = fmax(1.0, ceil(dlo - 1e-6)), dhi = floor(dhi + 1e-6);
				nlo = fmax(0.0, ceil(nlo - 1e-6)), nhi = floor(nhi + 1e-6);
				if (isinf(dhi) || dhi - dlo > 200000 || dhi < dlo)
					continue;
				double base = rq->kind == 1 ? 100.0 + x : x, delta = atk_rate_delta(dec[q], base);
				double pmin = INFINITY, pmax = -INFINITY, qmin = INFINITY, qmax = -INFINITY;
				for (double d = dlo; d <= dhi; d++) {
					double a = fmax(nlo, ceil((base - delta) * d / rq->mult - 1e-9));
					double b = fmin(nhi, floor((base + delta) * d / rq->mult + 1e-9));
					if (a > b)
						continue;
					pmin = fmin(pmin, a), pmax = fmax(pmax, b);
					qmin = fmin(qmin, d), qmax = fmax(qmax, d);
				}
				if (isinf(qmin))
					continue;
				if (qmin > dlo || qmax < dhi) {
					if (atk_sys_row(&S, dc, dk, nd, qmin == qmax ? GLP_FX : GLP_DB, qmin, qmax) < 0)
						goto out;
					gains++;
				}
				if (pmin > nlo || pmax < nhi) {
					if (atk_sys_row(&S, ncl, nk, nn, pmin == pmax ? GLP_FX : GLP_DB, pmin, pmax) < 0)
						goto out;
					gains++;
				}
			}
		}
		B->rr_gains += gains;
		if (!gains)
			break;
		/* the components that received a row are solved again */
		if (atk_sys_components(&S) != 0)
			goto out;
		free(dirty);
		dirty = calloc(S.ncomp + 1, 1);
		if (!dirty)
			goto out;
		for (size_t r = rows_before; r < S.nrows; r++)
			dirty[S.comp[S.rcol[S.roff[r]]]] = 1;
	}
	for (size_t i = 0; i < N; i++)
		B->targets += target[i];
	B->infeasible = S.fail;
	rc = 0;
out:
	atk_sys_free(&S);
	free(target);
	free(dirty);
	free(cells);
	free(coef);
	return rc;
}

/* ---- scoring ---- */

typedef struct atk_score {
	size_t attacked, sensitive, exact, recovered;
	size_t unsound; /* the truth outside the attacker's interval: a bug of the attacker */
} atk_score;

typedef struct atk_leak {
	int role, attack, level;
	int32_t date, date2;
	char code[16];
	const char *var;
	double truth, lo, hi, plo, phi;
} atk_leak;

typedef struct atk_report {
	atk_score s[ATK_ROLES][ATK_A_COUNT];
	atk_score member_gain; /* recovered by the member, not by the public, same cell and date */
	atk_leak *leaks;
	size_t nleaks, cap_leaks;
	size_t queries, lps, rr_gains, dates_ok[ATK_ROLES], infeasible;
	size_t hidden[ATK_ROLES], published_business[ATK_ROLES];
} atk_report;

static inline void atk_report_leak(atk_report *R, const atk_leak *l)
{
	if (R->nleaks == R->cap_leaks) {
		size_t cap = R->cap_leaks ? R->cap_leaks * 2 : 256;
		atk_leak *p = realloc(R->leaks, cap * sizeof(*p));
		if (!p)
			return;
		R->leaks = p, R->cap_leaks = cap;
	}
	R->leaks[R->nleaks++] = *l;
}

static inline double atk_cap(const atk_model *m, const double *total_row, size_t v)
{
	return m->capped[v] ? total_row[m->nb_ls] : INFINITY;
}

/* Score one cell given the attacker's interval [lo, hi]. Returns 1 when recovered. */
static inline int atk_score_cell(atk_score *s, double X, const double *contrib, size_t nl, size_t npresent,
				 size_t attacker, double floor_, double cap, double lo, double hi, int hidden,
				 double *plo, double *phi)
{
	s->attacked++;
	if (X < lo - 1e-6 || X > hi + 1e-6)
		s->unsound++;
	if (hidden && hi - lo < 0.5 && fabs(lo - X) < 1e-6)
		s->exact++;
	if (!atk_protection(X, contrib, nl, npresent, attacker, floor_, cap, plo, phi))
		return 0;
	s->sensitive++;
	if (lo > *plo + 1e-6 || hi < *phi - 1e-6) {
		s->recovered++;
		return 1;
	}
	return 0;
}

static inline size_t atk_present_count(const atk_truth *T, size_t r)
{
	size_t n = 0;
	for (size_t l = 0; l < T->nl; l++)
		n += T->present[r * T->nl + l];
	return n;
}

/* Score the business quantities of one (role, date) against the truth. A member is judged
 * on the others' contributions only (its own figures are its own): its share is left out of
 * the rules and is the floor of the interval. */
static inline void atk_score_view(atk_report *R, int role, const atk_view *V, const atk_bounds *B,
				  const atk_terr *terr, const atk_model *m, const atk_truth *T,
				  const atk_bounds *public_b, size_t member)
{
	size_t NV = m->nv;
	double *cbuf = malloc((T->nl + 1) * sizeof(double));
	if (!cbuf)
		return;
	for (size_t r = 0; r < terr->n; r++) {
		if (!V->fetched[r])
			continue;
		size_t npres = atk_present_count(T, r);
		for (size_t v = 0; v < NV; v++) {
			size_t i = r * NV + v;
			R->hidden[role] += V->hidden[i];
			if (!m->business[v])
				continue;
			memcpy(cbuf, T->val + i * T->nl, T->nl * sizeof(double));
			size_t attacker = role == ATK_MEMBER ? member : SIZE_MAX;
			double floor_ = role == ATK_MEMBER ? cbuf[member] : 0.0;
			const double *c = cbuf;
			double X = T->total[i], cap = atk_cap(m, T->total + r * NV, v), plo, phi;
			if (role == ATK_MEMBER && m->capped[v]) /* the others' stock is public too */
				cap = floor_ + T->total[r * NV + (size_t)m->nb_ls] -
				      T->val[(r * NV + (size_t)m->nb_ls) * T->nl + member];
			int attacks[3] = { ATK_A_PUBLISHED, ATK_A_LP, ATK_A_RR };
			for (int a = 0; a < 3; a++) {
				int att = attacks[a];
				if (att == ATK_A_PUBLISHED && !V->known[i])
					continue;
				if (att != ATK_A_PUBLISHED && V->known[i])
					continue;
				if (att == ATK_A_PUBLISHED)
					R->published_business[role]++;
				double lo = att == ATK_A_LP ? B->lo_lp[i] : B->lo[i];
				double hi = att == ATK_A_LP ? B->hi_lp[i] : B->hi[i];
				if (atk_score_cell(&R->s[role][att], X, c, T->nl, npres, attacker, floor_, cap, lo, hi,
						   V->hidden[i] || m->reg[v] < 0, &plo, &phi)) {
					atk_leak l = { role, att, terr->level[r], V->date, 0, "", m->name[v], X, lo,
						       hi, plo, phi };
					snprintf(l.code, sizeof(l.code), "%s", terr->code[r]);
					atk_report_leak(R, &l);
					if (role == ATK_MEMBER && att == ATK_A_RR && public_b &&
					    !(public_b->lo[i] > plo + 1e-6 || public_b->hi[i] < phi - 1e-6))
						R->member_gain.recovered++;
				}
			}
		}
	}
	free(cbuf);
}

/* Score the differences of business quantities between two dates of one role. */
static inline void atk_score_dates(atk_report *R, int role, const atk_view *V1, const atk_bounds *B1,
				   const atk_truth *T1, const atk_view *V2, const atk_bounds *B2,
				   const atk_truth *T2, const atk_terr *terr, const atk_model *m, size_t member)
{
	size_t NV = m->nv, NL = T1->nl;
	double *delta = malloc(NL * sizeof(double));
	if (!delta)
		return;
	for (size_t r = 0; r < terr->n; r++) {
		if (!V1->fetched[r] || !V2->fetched[r])
			continue;
		/* contributors: landlords whose figures changed in the territory */
		size_t changed = 0;
		for (size_t l = 0; l < NL; l++) {
			int ch = 0;
			for (size_t v = 0; v < NV && !ch; v++)
				ch = T1->val[(r * NV + v) * NL + l] != T2->val[(r * NV + v) * NL + l];
			changed += (size_t)ch;
		}
		if (!changed)
			continue;
		for (size_t v = 0; v < NV; v++) {
			if (!m->business[v])
				continue;
			size_t i = r * NV + v;
			/* both published: a plain difference, scored as published */
			for (size_t l = 0; l < NL; l++)
				delta[l] = T2->val[i * NL + l] - T1->val[i * NL + l];
			double X = T2->total[i] - T1->total[i];
			double lo = B2->lo[i] - B1->hi[i], hi = B2->hi[i] - B1->lo[i];
			/* known a priori: the value at each date is >= 0 (and <= nb_ls for a subset of
			 * the stock), so the difference lies in [-X1, cap2] */
			double cap2 = atk_cap(m, T2->total + r * NV, v), plo, phi;
			if (atk_score_cell(&R->s[role][ATK_A_DATES], X, delta, NL, changed,
					   role == ATK_MEMBER ? member : SIZE_MAX, -T1->total[i], cap2, lo, hi,
					   !(V1->known[i] && V2->known[i]), &plo, &phi)) {
				atk_leak l = { role, ATK_A_DATES, terr->level[r], T1->date, T2->date, "", m->name[v],
					       X, lo, hi, plo, phi };
				snprintf(l.code, sizeof(l.code), "%s", terr->code[r]);
				atk_report_leak(R, &l);
			}
		}
	}
	free(delta);
}

/* ---- the whole attack on one world ---- */

typedef struct atk_options {
	int roles[ATK_ROLES]; /* 1: attack with this role */
	int max_rounds;       /* LP + rational reconstruction rounds (1: LP only) */
	int targets_all;      /* 1: bounds of every hidden quantity, public structure too */
	int verbose;
} atk_options;

static inline void atk_options_default(atk_options *o)
{
	memset(o, 0, sizeof(*o));
	for (int r = 0; r < ATK_ROLES; r++)
		o->roles[r] = 1;
	o->max_rounds = 4;
}

/* A digest of what a view published, to solve identical views once. */
static inline uint64_t atk_view_digest(const atk_view *V, const atk_model *m)
{
	uint64_t h = 1469598103934665603ull;
	size_t N = V->nrows * m->nv;
	for (size_t i = 0; i < V->nrows; i++)
		h = (h ^ V->fetched[i]) * 1099511628211ull;
	for (size_t i = 0; i < N; i++) {
		uint64_t bits;
		memcpy(&bits, &V->value[i], sizeof(bits));
		h = (h ^ V->known[i] ^ ((uint64_t)V->hidden[i] << 1)) * 1099511628211ull;
		h = (h ^ bits) * 1099511628211ull;
	}
	for (size_t i = 0; i < V->nrows * ATK_MAXR; i++) {
		uint64_t bits;
		memcpy(&bits, &V->rate[i], sizeof(bits));
		h = (h ^ V->rate_pub[i]) * 1099511628211ull;
		h = (h ^ bits) * 1099511628211ull;
	}
	return h;
}

static inline int atk_run(atk_report *R, const atk_world *w, const atk_options *o, dh_error *err)
{
	atk_model m;
	if (atk_model_init(&m) != 0)
		return dh_error_set(err, DH_INVAL, "model");
	atk_terr *terr = calloc(1, sizeof(*terr));
	if (!terr)
		return dh_error_set(err, DH_NOMEM, "memory");
	int rc = atk_terr_build(terr, w, err);
	size_t ND = w->ndates;
	atk_truth *T = calloc(ND, sizeof(atk_truth));
	atk_view *V = calloc(ND * ATK_ROLES, sizeof(atk_view));
	atk_bounds *B = calloc(ND * ATK_ROLES, sizeof(atk_bounds));
	uint64_t *dig = calloc(ND * ATK_ROLES, sizeof(uint64_t));
	if (!T || !V || !B || !dig)
		rc = dh_error_set(err, DH_NOMEM, "memory");
	for (size_t d = 0; d < ND && rc == DH_OK; d++)
		rc = atk_truth_build(&T[d], w, terr, &m, w->dates[d], err);
	for (size_t d = 0; d < ND && rc == DH_OK; d++)
		atk_model_check(&m, &T[d], o->verbose);
	for (size_t d = 0; d < ND && rc == DH_OK; d++)
		for (int role = 0; role < ATK_ROLES; role++)
			if (o->roles[role] && (!w->p.quick || role != ATK_ANALYST || d == 0 || d + 1 == ND) &&
			    atk_view_fetch(&V[d * ATK_ROLES + role], w, terr, &m, role, w->dates[d],
							     &R->queries) != 0)
				rc = dh_error_set(err, DH_NOMEM, "memory");
	if (rc == DH_OK) {
		const atk_view **all = malloc(ND * ATK_ROLES * sizeof(*all));
		size_t na = 0;
		for (size_t k = 0; k < ND * ATK_ROLES && all; k++)
			if (V[k].ok)
				all[na++] = &V[k];
		/* one publication policy for all percentages: full precision if any shows it, else
		 * the most decimals seen */
		int dec[ATK_MAXR], unit_dec[8];
		for (size_t u = 0; u < 8; u++)
			unit_dec[u] = 0;
		for (size_t q = 0; q < m.nrate; q++) {
			if (!m.rate_ok[q])
				continue;
			size_t u = (size_t)dh_indicator_at((size_t)m.rate[q].reg)->unit % 8;
			dec[q] = all ? atk_rate_decimals(all, na, q) : -1;
			unit_dec[u] = unit_dec[u] < 0 || dec[q] < 0 ? -1 : dec[q] > unit_dec[u] ? dec[q] : unit_dec[u];
		}
		for (size_t q = 0; q < m.nrate; q++)
			if (m.rate_ok[q])
				dec[q] = unit_dec[(size_t)dh_indicator_at((size_t)m.rate[q].reg)->unit % 8];
		free(all);
		if (o->verbose)
			for (size_t q = 0; q < m.nrate; q++)
				if (m.rate_ok[q])
					fprintf(stderr, "# attack: %s published with %s\n", dh_indicator_at((size_t)m.rate[q].reg)->id,
					dec[q] < 0 ? "full precision" : "rounded");
		for (size_t d = 0; d < ND; d++)
			for (int role = 0; role < ATK_ROLES; role++) {
				size_t k = d * ATK_ROLES + (size_t)role;
				if (!V[k].ok)
					continue;
				R->dates_ok[role]++;
				dig[k] = atk_view_digest(&V[k], &m);
				/* an identical view already solved (the public and the analyst) */
				int reused = 0;
				for (int r2 = 0; r2 < role && !V[k].own; r2++) {
					size_t k2 = d * ATK_ROLES + (size_t)r2;
					if (V[k2].ok && !V[k2].own && dig[k2] == dig[k]) {
						size_t N = terr->n * m.nv;
						B[k] = B[k2];
						B[k].lo = malloc(N * sizeof(double)), B[k].hi = malloc(N * sizeof(double));
						B[k].lo_lp = malloc(N * sizeof(double)), B[k].hi_lp = malloc(N * sizeof(double));
						if (B[k].lo && B[k].hi && B[k].lo_lp && B[k].hi_lp) {
							memcpy(B[k].lo, B[k2].lo, N * sizeof(double));
							memcpy(B[k].hi, B[k2].hi, N * sizeof(double));
							memcpy(B[k].lo_lp, B[k2].lo_lp, N * sizeof(double));
							memcpy(B[k].hi_lp, B[k2].hi_lp, N * sizeof(double));
							B[k].lps = 0;
							reused = 1;
						}
						break;
					}
				}
				if (!reused && atk_solve(&B[k], &V[k], terr, &m, dec, o->max_rounds, o->targets_all) != 0) {
					rc = dh_error_set(err, DH_NOMEM, "memory");
					break;
				}
				R->lps += B[k].lps;
				R->rr_gains += B[k].rr_gains;
				R->infeasible += (size_t)B[k].infeasible;
				atk_score_view(R, role, &V[k], &B[k], terr, &m, &T[d],
					       role == ATK_MEMBER && V[d * ATK_ROLES].ok ? &B[d * ATK_ROLES] : NULL,
					       w->member);
				if (o->verbose)
					fprintf(stderr, "# attack: %s at %d: %zu LP, %zu rr gains%s\n", atk_role_name[role],
						(int)w->dates[d], B[k].lps, B[k].rr_gains, reused ? " (same view as before)" : "");
			}
		/* differences between consecutive dates a role could fetch */
		for (int role = 0; role < ATK_ROLES; role++) {
			size_t prev = SIZE_MAX;
			for (size_t d = 0; d < ND; d++) {
				size_t k = d * ATK_ROLES + (size_t)role;
				if (!V[k].ok)
					continue;
				if (prev != SIZE_MAX)
					atk_score_dates(R, role, &V[prev * ATK_ROLES + (size_t)role],
							&B[prev * ATK_ROLES + (size_t)role], &T[prev], &V[k], &B[k], &T[d],
							terr, &m, w->member);
				prev = d;
			}
		}
	}
	for (size_t k = 0; k < ND * ATK_ROLES && V && B; k++) {
		atk_view_free(&V[k]);
		atk_bounds_free(&B[k]);
	}
	for (size_t d = 0; d < ND && T; d++)
		atk_truth_free(&T[d]);
	free(T);
	free(V);
	free(B);
	free(dig);
	atk_terr_free(terr);
	free(terr);
	return rc;
}

static inline void atk_report_free(atk_report *R)
{
	free(R->leaks);
	memset(R, 0, sizeof(*R));
}

static inline size_t atk_total_recovered(const atk_report *R, int attack)
{
	size_t n = 0;
	for (int role = 0; role < ATK_ROLES; role++)
		n += R->s[role][attack].recovered;
	return n;
}

static inline void atk_report_print(FILE *f, const atk_report *R, const char *title, size_t max_leaks)
{
	fprintf(f, "# %s: %zu queries, %zu LP solved, %zu rational-reconstruction gains%s\n", title,
		R->queries, R->lps, R->rr_gains, R->infeasible ? ", SOME LP FAILED" : "");
	fprintf(f, "# %-8s %-10s %9s %9s %9s %9s %7s\n", "role", "attack", "attacked", "sensitive", "exact",
		"recovered", "unsound");
	for (int role = 0; role < ATK_ROLES; role++) {
		if (!R->dates_ok[role])
			continue;
		for (int a = 0; a < ATK_A_COUNT; a++) {
			const atk_score *s = &R->s[role][a];
			fprintf(f, "# %-8s %-10s %9zu %9zu %9zu %9zu %7zu\n", atk_role_name[role], atk_attack_name[a],
				s->attacked, s->sensitive, s->exact, s->recovered, s->unsound);
		}
		fprintf(f, "# %-8s %zu dates answered, %zu cells hidden, %zu business cells published\n",
			atk_role_name[role], R->dates_ok[role], R->hidden[role], R->published_business[role]);
	}
	fprintf(f, "# member: %zu recoveries the public could not make (own rows)\n", R->member_gain.recovered);
	static const char *const lv[ATK_LEVELS] = { "commune", "epci", "departement", "region", "all" };
	for (size_t k = 0; k < R->nleaks && k < max_leaks; k++) {
		const atk_leak *l = &R->leaks[k];
		char dates[32];
		if (l->date2)
			snprintf(dates, sizeof(dates), "%d-%d", (int)l->date, (int)l->date2);
		else
			snprintf(dates, sizeof(dates), "%d", (int)l->date);
		fprintf(f, "# leak: %s %s %s %s:%s at %s: true %g, attacker [%g, %g], protection [%g, %g]\n",
			atk_role_name[l->role], atk_attack_name[l->attack], l->var, lv[l->level], l->code, dates,
			l->truth, l->lo, l->hi, l->plo, l->phi);
	}
}

#endif
