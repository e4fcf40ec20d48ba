/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * access.c - dh_figures_query(): who may see which figures (access.h). Checks the role,
 * the landlord dimension and the agreements, then either runs the caller's own query
 * unsuppressed or builds one disclosure table holding every level of the territorial
 * hierarchy (communes, EPCI, départements, régions, total) with the per-landlord
 * contributions of each cell (one commune x landlord cube query, dh_cube_query_split(),
 * summed up the hierarchy) over every indicator of the registry, declares row sums, column
 * sums and rates, applies the policy, and returns the requested columns of the rows of the
 * requested level inside the caller's scope, hidden cells as NaN: the suppression pattern
 * does not depend on the indicators, territory or agreement of the request.
 */
#include "datahabitat/access.h"

#include "datahabitat/audit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dh_figures_result_free(dh_figures_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows; i++) {
		free(r->codes ? r->codes[i] : NULL);
		free(r->names ? r->names[i] : NULL);
	}
	free(r->codes);
	free(r->names);
	free(r->columns);
	free(r->values);
	free(r->status);
	free(r);
}

static dh_figures_result *result_new(size_t nrows, size_t ncols)
{
	dh_figures_result *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nrows = nrows;
	r->ncols = ncols;
	r->codes = calloc(nrows ? nrows : 1, sizeof(char *));
	r->names = calloc(nrows ? nrows : 1, sizeof(char *));
	r->columns = calloc(ncols ? ncols : 1, sizeof(*r->columns));
	r->values = calloc(nrows * ncols + 1, sizeof(double));
	r->status = calloc(nrows * ncols + 1, 1);
	if (!r->codes || !r->names || !r->columns || !r->values || !r->status) {
		r->nrows = 0;
		dh_figures_result_free(r);
		return NULL;
	}
	return r;
}

static int set_row(dh_figures_result *r, size_t i, const char *code, const char *name)
{
	r->codes[i] = strdup(code ? code : "");
	r->names[i] = strdup(name ? name : "");
	return r->codes[i] && r->names[i] ? DH_OK : DH_NOMEM;
}

/* ---- audit ---- */

static int log_query(dh_store *store, const dh_identity *who, const dh_figures_request *req,
		     int64_t agreement, const char *purpose, const char *result, dh_error *err)
{
	char object[128];
	snprintf(object, sizeof(object), "indicators:%s%s%s", dh_level_name(req->level),
		 req->territory ? ":" : "", req->territory ? req->territory : "");
	dh_error aerr;
	dh_error_clear(&aerr);
	dh_actor actor = dh_identity_actor(who);
	int rc = dh_audit_log(store, &actor, "query", object, agreement, purpose ? purpose : "", result, &aerr);
	if (rc != DH_OK && err && strcmp(result, "ok") == 0)
		*err = aerr;
	return rc;
}

static int deny(dh_store *store, const dh_identity *who, const dh_figures_request *req,
		dh_error *err, const char *why)
{
	log_query(store, who, req, 0, "", "denied", NULL);
	return dh_error_set(err, DH_DENIED, "accès refusé : %s", why);
}

/* ---- territories ---- */

typedef struct geo_row {
	const char *epci, *dep, *region; /* parents of a commune row (NULL for other levels) */
} geo_row;

/* 1 if the territory (level, code) lies inside scope. For an EPCI, every one of its
 * communes must (communes[] of the hierarchy: n entries with their parents). */
static int inside(const dh_geo *geo, dh_level level, const char *code, const dh_territory *scope)
{
	if (scope->level == DH_LEVEL_ALL)
		return 1;
	const char *s = scope->code;
	switch (level) {
	case DH_LEVEL_COMMUNE: {
		int32_t i = dh_geo_commune_find(geo, (dh_str){ code, strlen(code) });
		if (i < 0)
			return 0;
		const dh_commune *c = dh_geo_commune(geo, i);
		return (scope->level == DH_LEVEL_COMMUNE && strcmp(c->code, s) == 0) ||
		       (scope->level == DH_LEVEL_EPCI && strcmp(c->epci, s) == 0) ||
		       (scope->level == DH_LEVEL_DEPARTEMENT && strcmp(c->departement, s) == 0) ||
		       (scope->level == DH_LEVEL_REGION && strcmp(c->region, s) == 0);
	}
	case DH_LEVEL_EPCI: {
		if (scope->level == DH_LEVEL_EPCI)
			return strcmp(code, s) == 0;
		if (scope->level != DH_LEVEL_DEPARTEMENT && scope->level != DH_LEVEL_REGION)
			return 0;
		size_t n = dh_geo_commune_count(geo), found = 0;
		for (size_t i = 0; i < n; i++) {
			const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
			if (strcmp(c->epci, code) != 0)
				continue;
			found++;
			if (strcmp(scope->level == DH_LEVEL_DEPARTEMENT ? c->departement : c->region, s) != 0)
				return 0;
		}
		return found > 0;
	}
	case DH_LEVEL_DEPARTEMENT: {
		if (scope->level == DH_LEVEL_DEPARTEMENT)
			return strcmp(code, s) == 0;
		if (scope->level != DH_LEVEL_REGION)
			return 0;
		int32_t i = dh_geo_departement_find(geo, (dh_str){ code, strlen(code) });
		return i >= 0 && strcmp(dh_geo_departement(geo, i)->parent, s) == 0;
	}
	case DH_LEVEL_REGION:
		return scope->level == DH_LEVEL_REGION && strcmp(code, s) == 0;
	default:
		return 0;
	}
}

/* ---- agreements ---- */

typedef struct agreement_pick {
	const dh_identity *who;
	const char *today;
	const dh_figures_request *req;
	int want_all;        /* the request names no indicator */
	dh_agreement best;   /* chosen agreement */
	int found;
	size_t best_width;   /* indicators it allows */
} agreement_pick;

static int audience_matches(const dh_agreement *a, const dh_identity *who)
{
	switch (a->audience) {
	case DH_AUDIENCE_PUBLIC:
		return who->role == DH_ROLE_PUBLIC || who->role == DH_ROLE_MEMBER ||
		       who->role == DH_ROLE_ANALYST || who->role == DH_ROLE_PARTNER;
	case DH_AUDIENCE_MEMBERS:
		return who->role == DH_ROLE_MEMBER || who->role == DH_ROLE_ANALYST;
	case DH_AUDIENCE_PARTNER:
		/* the level too: an agreement for département 53 is not one for région 53 */
		return who->role == DH_ROLE_PARTNER && a->partner.level != DH_LEVEL_ALL &&
		       a->partner.level == who->territory.level &&
		       strcmp(a->partner.code, who->territory.code) == 0;
	}
	return 0;
}

/* 1 if agreement a allows indicator ind. */
static int allows(const dh_agreement *a, const dh_indicator *ind)
{
	if (strcmp(a->indicators, "all") == 0)
		return 1;
	if (strcmp(a->indicators, "public") == 0)
		return ind->sensitivity == DH_SENS_PUBLIC;
	size_t n = strlen(ind->id);
	for (const char *p = a->indicators; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && memcmp(p, ind->id, n) == 0)
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static int pick_cb(void *ctx, const dh_agreement *a)
{
	agreement_pick *p = ctx;
	if (strcmp(p->today, a->start) < 0 || strcmp(p->today, a->end) > 0)
		return DH_OK;
	if (!audience_matches(a, p->who))
		return DH_OK;
	size_t width = 0;
	if (p->want_all) {
		for (size_t i = 0; i < dh_indicator_count(); i++)
			width += (size_t)allows(a, dh_indicator_at(i));
		if (!width)
			return DH_OK;
	} else {
		for (size_t i = 0; i < p->req->nindicators; i++)
			if (!allows(a, dh_indicator_at((size_t)p->req->indicators[i])))
				return DH_OK;
		width = p->req->nindicators;
	}
	/* The territory asked for must be inside the agreement's scope; without one, the rows
	 * outside are dropped later. Prefer the widest agreement, then the oldest. */
	if (!p->found || width > p->best_width) {
		p->best = *a;
		p->best_width = width;
		p->found = 1;
	}
	return DH_OK;
}

/* ---- the joint hierarchy table ---- */

static dh_disclosure_class class_of(const dh_indicator *ind)
{
	switch (ind->sensitivity) {
	case DH_SENS_PUBLIC:
		return DH_DISCLOSURE_PUBLIC_STRUCTURE;
	case DH_SENS_BUSINESS:
		return DH_DISCLOSURE_LANDLORD_BUSINESS;
	case DH_SENS_HOUSEHOLD:
		return DH_DISCLOSURE_HOUSEHOLD;
	}
	return DH_DISCLOSURE_CLASS_UNSET;
}

/* Column sums that hold in the registry (total first, NULL ends each list). */
static const char *const col_sums[][10] = {
	{ "nb_ls", "loues", "vacants", "vides", "asso", "autres", NULL },
	{ "nb_ls", "nb_p1", "nb_p2", "nb_p3", "nb_p4", "nb_p5p", NULL },
	{ "nb_ls", "fin_plai", "fin_plus", "fin_plus_av77", "fin_pls", "fin_pli", "fin_autre", NULL },
	{ "nb_ls", "age_lt5", "age_5_10", "age_10_20", "age_20_40", "age_40_60", "age_ge60", NULL },
	{ "sorties", "sortie_vente_locataire", "sortie_vente_bailleur", "sortie_autre_vente",
	  "sortie_demolition", "sortie_autre", NULL },
};
/*
 * Rates and means (dh_disclosure_table_add_col_rate): the count columns of their numerator
 * and denominator, hidden with any of them; exact when the rate is computed from these
 * columns alone. pop: the columns whose per-landlord sum is the landlord's contribution to
 * the rate's population (units and dominance of the primary rule); none: its dwellings.
 */
typedef struct rate_decl {
	const char *rate;
	const char *num[3];
	const char *den[8];
	int exact;
	const char *pop[3];
} rate_decl;

static const rate_decl rate_decls[] = {
	{ "tx_vac", { "vacants" }, { "loues", "vacants" }, 1, { "loues", "vacants" } },
	{ "tx_vac3", { NULL }, { "loues", "vacants" }, 0, { "loues", "vacants" } },
	{ "tx_mob", { NULL }, { NULL }, 0, { "loues", "vacants" } },
	{ "loyer_m2", { NULL }, { NULL }, 0, { "loues" } },
	{ "evol_nb_ls", { "nb_ls" }, { NULL }, 0, { NULL } },
	{ "part_qpv", { NULL }, { "nb_ls" }, 0, { NULL } },
	{ "part_collectif", { NULL }, { "nb_ls" }, 0, { NULL } },
	{ "part_individuel", { NULL }, { "nb_ls" }, 0, { NULL } },
	{ "age_moyen", { NULL },
	  { "age_lt5", "age_5_10", "age_10_20", "age_20_40", "age_40_60", "age_ge60" }, 0, { NULL } },
	{ "part_fg", { "dpe_e_f", "dpe_e_g" },
	  { "dpe_e_a", "dpe_e_b", "dpe_e_c", "dpe_e_d", "dpe_e_e", "dpe_e_f", "dpe_e_g" }, 1, { NULL } },
};

/* Columns of the table named in names (up to max, NULL ends); 0 when one is missing. */
static size_t resolve(const dh_cube_table *t, const char *const *names, size_t max, size_t *out,
		      int *missing)
{
	size_t n = 0;
	for (size_t k = 0; k < max && names[k]; k++) {
		int c = dh_cube_table_column(t, names[k]);
		if (c < 0)
			*missing = 1;
		else
			out[n++] = (size_t)c;
	}
	return n;
}

typedef struct hier {
	size_t nrows, ncols;
	dh_cube_table *lvl[5];  /* commune, epci, departement, region, all: unfiltered values */
	size_t first[5];        /* first hierarchy row of each level */
	size_t *parent_epci;    /* commune row -> epci row or SIZE_MAX */
	size_t *parent_dep;     /* commune / epci row -> département row or SIZE_MAX */
	size_t *parent_region;  /* département row -> région row */
	int *nested;            /* epci row: 1 if all its communes are in one département */
	size_t *row_of_commune; /* dh_geo commune index -> commune row or SIZE_MAX */
	const dh_geo *geo;
	dh_disclosure_table *t;
} hier;

static const dh_level hier_levels[5] = { DH_LEVEL_COMMUNE, DH_LEVEL_EPCI, DH_LEVEL_DEPARTEMENT,
					 DH_LEVEL_REGION, DH_LEVEL_ALL };

static void hier_release(hier *h)
{
	for (int k = 0; k < 5; k++)
		dh_cube_table_free(h->lvl[k]);
	free(h->parent_epci);
	free(h->parent_dep);
	free(h->parent_region);
	free(h->nested);
	free(h->row_of_commune);
	dh_disclosure_table_free(h->t);
	memset(h, 0, sizeof(*h));
}

static size_t find_row(const hier *h, int k, const char *code)
{
	int r = code && *code ? dh_cube_table_row(h->lvl[k], code) : -1;
	return r < 0 ? SIZE_MAX : h->first[k] + (size_t)r;
}

static int add_children(hier *h, size_t total, const size_t *parent, size_t from, size_t to,
			size_t *buf, const int *skip, dh_error *err)
{
	size_t n = 0;
	for (size_t r = from; r < to; r++)
		if (parent[r] == total && !(skip && skip[r]))
			buf[n++] = r;
	return n ? dh_disclosure_table_add_row_sum(h->t, total, buf, n, err) : DH_OK;
}

static int hier_build(hier *h, const dh_geo *geo, const dh_cube *cube, int32_t date,
		      const int *cols, size_t ncols, const dh_disclosure_policy *policy, dh_error *err)
{
	int rc = DH_OK;
	h->ncols = ncols;
	for (int k = 0; k < 5 && rc == DH_OK; k++) {
		dh_cube_query q = { .level = hier_levels[k], .reference_date = date, .indicators = cols,
				    .nindicators = ncols };
		rc = dh_cube_query_run(cube, &q, &h->lvl[k], err);
		if (rc == DH_OK) {
			h->first[k] = h->nrows;
			h->nrows += h->lvl[k]->nrows;
		}
	}
	if (rc != DH_OK)
		return rc;
	size_t R = h->nrows, C = ncols;
	h->parent_epci = malloc(R * sizeof(size_t));
	h->parent_dep = malloc(R * sizeof(size_t));
	h->parent_region = malloc(R * sizeof(size_t));
	h->nested = calloc(R, sizeof(int));
	size_t ngeo = dh_geo_commune_count(geo);
	h->row_of_commune = malloc((ngeo + 1) * sizeof(size_t));
	size_t *buf = malloc(R * sizeof(size_t));
	if (!h->parent_epci || !h->parent_dep || !h->parent_region || !h->nested || !buf ||
	    !h->row_of_commune) {
		free(buf);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t r = 0; r < R; r++)
		h->parent_epci[r] = h->parent_dep[r] = h->parent_region[r] = SIZE_MAX;
	for (size_t i = 0; i < ngeo; i++)
		h->row_of_commune[i] = SIZE_MAX;
	/* communes: their EPCI and département; EPCI: nested when all communes share one */
	for (size_t i = 0; i < h->lvl[0]->nrows; i++) {
		int32_t g = dh_geo_commune_find(geo, (dh_str){ h->lvl[0]->codes[i], strlen(h->lvl[0]->codes[i]) });
		if (g < 0)
			continue;
		const dh_commune *c = dh_geo_commune(geo, g);
		size_t r = h->first[0] + i;
		h->row_of_commune[g] = r;
		h->parent_epci[r] = find_row(h, 1, c->epci);
		h->parent_dep[r] = find_row(h, 2, c->departement);
		size_t e = h->parent_epci[r];
		if (e != SIZE_MAX) {
			if (h->parent_dep[e] == SIZE_MAX && !h->nested[e]) {
				h->parent_dep[e] = h->parent_dep[r];
				h->nested[e] = 1;
			} else if (h->parent_dep[e] != h->parent_dep[r]) {
				h->nested[e] = -1; /* spans départements */
			}
		}
	}
	for (size_t i = 0; i < h->lvl[2]->nrows; i++) {
		int32_t g = dh_geo_departement_find(geo, (dh_str){ h->lvl[2]->codes[i], strlen(h->lvl[2]->codes[i]) });
		if (g >= 0)
			h->parent_region[h->first[2] + i] = find_row(h, 3, dh_geo_departement(geo, g)->parent);
	}
	h->geo = geo;
	rc = dh_disclosure_table_new(&h->t, R, C, err);
	if (rc != DH_OK) {
		free(buf);
		return rc;
	}
	for (size_t j = 0; j < C; j++) {
		const dh_indicator *ind = h->lvl[0]->columns[j];
		dh_disclosure_table_set_column(h->t, j, class_of(ind), ind->kind == DH_IND_COUNT);
	}
	/* row sums: EPCI = its communes; département = its nested EPCI + its other communes, and
	 * = all its communes; région = its départements; total = the régions */
	size_t c0 = h->first[0], e0 = h->first[1], d0 = h->first[2], g0 = h->first[3], a0 = h->first[4];
	int *stray = calloc(R, sizeof(int)); /* commune whose EPCI is nested: 1 (skip in the EPCI form) */
	if (!stray) {
		free(buf);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t r = c0; r < e0; r++)
		stray[r] = h->parent_epci[r] != SIZE_MAX && h->nested[h->parent_epci[r]] == 1;
	int *not_nested = calloc(R, sizeof(int));
	if (!not_nested) {
		free(buf);
		free(stray);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t r = e0; r < d0; r++)
		not_nested[r] = h->nested[r] != 1;
	for (size_t r = e0; r < d0 && rc == DH_OK; r++)
		rc = add_children(h, r, h->parent_epci, c0, e0, buf, NULL, err);
	for (size_t r = d0; r < g0 && rc == DH_OK; r++) {
		size_t n = 0;
		for (size_t k = e0; k < d0; k++)
			if (!not_nested[k] && h->parent_dep[k] == r)
				buf[n++] = k;
		for (size_t k = c0; k < e0; k++)
			if (!stray[k] && h->parent_dep[k] == r)
				buf[n++] = k;
		if (n)
			rc = dh_disclosure_table_add_row_sum(h->t, r, buf, n, err);
		if (rc == DH_OK)
			rc = add_children(h, r, h->parent_dep, c0, e0, buf, NULL, err);
	}
	for (size_t r = g0; r < a0 && rc == DH_OK; r++)
		rc = add_children(h, r, h->parent_region, d0, g0, buf, NULL, err);
	if (rc == DH_OK && a0 < R && g0 < a0) {
		size_t n = 0;
		for (size_t k = g0; k < a0; k++)
			buf[n++] = k;
		rc = dh_disclosure_table_add_row_sum(h->t, a0, buf, n, err);
	}
	free(stray);
	free(not_nested);
	/* column sums and links whose members are all in the table */
	for (size_t s = 0; s < sizeof(col_sums) / sizeof(col_sums[0]) && rc == DH_OK; s++) {
		int total = dh_cube_table_column(h->lvl[0], col_sums[s][0]);
		size_t parts[9], n = 0;
		int ok = total >= 0;
		for (size_t k = 1; col_sums[s][k] && ok; k++) {
			int c = dh_cube_table_column(h->lvl[0], col_sums[s][k]);
			ok = c >= 0;
			parts[n++] = (size_t)c;
		}
		if (ok)
			rc = dh_disclosure_table_add_col_sum(h->t, (size_t)total, parts, n, err);
	}
	for (size_t s = 0; s < sizeof(rate_decls) / sizeof(rate_decls[0]) && rc == DH_OK; s++) {
		const rate_decl *d = &rate_decls[s];
		int rate = dh_cube_table_column(h->lvl[0], d->rate), missing = 0;
		size_t num[3], den[8];
		size_t nnum = resolve(h->lvl[0], d->num, 3, num, &missing);
		size_t nden = resolve(h->lvl[0], d->den, 8, den, &missing);
		/* a term missing from the table: hidden with those present, never recomputed */
		if (rate >= 0 && nnum + nden > 0)
			rc = dh_disclosure_table_add_col_rate(h->t, (size_t)rate, num, nnum, den, nden,
							      d->exact && !missing, err);
	}
	free(buf);
	(void)policy;
	return rc;
}

/* Fill the cells: values from the unfiltered tables; contributions landlord by landlord from
 * one commune x landlord query (dh_cube_query_split), each landlord's commune parts summed
 * up the hierarchy. */
static int hier_fill(hier *h, const dh_cube *cube, int32_t date, const int *cols, size_t ncols,
		     dh_error *err)
{
	size_t R = h->nrows, C = ncols, W = C + 1; /* the columns, then nb_ls */
	dh_disclosure_cell *cells = dh_disclosure_table_cells(h->t);
	for (int k = 0; k < 5; k++)
		for (size_t i = 0; i < h->lvl[k]->nrows; i++)
			for (size_t j = 0; j < C; j++)
				cells[(h->first[k] + i) * C + j].value = dh_cube_table_value(h->lvl[k], i, j);
	int *qcols = malloc(W * sizeof(int));
	if (!qcols)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	memcpy(qcols, cols, C * sizeof(int));
	qcols[C] = dh_indicator_find(DH_STR_LIT("nb_ls"));
	/* population of each column: its own count, the declared columns of a rate, or the
	 * landlord's dwellings (position C) */
	size_t *pop_cols = malloc(C * 3 * sizeof(size_t)), *npop = calloc(C, sizeof(size_t));
	if (!pop_cols || !npop) {
		free(qcols);
		free(pop_cols);
		free(npop);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t j = 0; j < C; j++) {
		const dh_indicator *ind = h->lvl[0]->columns[j];
		pop_cols[j * 3] = ind->kind == DH_IND_COUNT ? j : C;
		npop[j] = 1;
		for (size_t s = 0; s < sizeof(rate_decls) / sizeof(rate_decls[0]); s++) {
			int missing = 0;
			size_t got[3];
			if (ind->kind == DH_IND_COUNT || strcmp(rate_decls[s].rate, ind->id) != 0)
				continue;
			size_t n = resolve(h->lvl[0], rate_decls[s].pop, 3, got, &missing);
			if (n && !missing) {
				memcpy(pop_cols + j * 3, got, n * sizeof(size_t));
				npop[j] = n;
			}
		}
	}
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = date, .indicators = qcols,
			    .nindicators = W };
	dh_cube_split *sp = NULL;
	int rc = dh_cube_query_split(cube, &q, &sp, err);
	free(qcols);
	if (rc != DH_OK) {
		free(pop_cols);
		free(npop);
		return rc;
	}
	size_t NL = sp->nlandlords, NP = sp->nparts;
	size_t *crow = malloc((sp->nrows + 1) * sizeof(size_t));   /* split row -> hierarchy row */
	size_t *lfirst = calloc(NL + 2, sizeof(size_t));           /* parts by landlord */
	size_t *bypart = malloc((NP + 1) * sizeof(size_t));
	size_t *prow = malloc((NP + 1) * sizeof(size_t));          /* part -> split row */
	size_t *touched = malloc((R + 1) * sizeof(size_t));
	uint8_t *mark = calloc(R + 1, 1);
	double *acc = calloc(R * W + 1, sizeof(double));
	if (!crow || !lfirst || !bypart || !prow || !touched || !mark || !acc) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	for (size_t i = 0; i < sp->nrows; i++) {
		int32_t g = dh_geo_commune_find(h->geo, (dh_str){ sp->codes[i], strlen(sp->codes[i]) });
		crow[i] = g < 0 ? SIZE_MAX : h->row_of_commune[g];
		for (size_t x = sp->first[i]; x < sp->first[i + 1]; x++) {
			prow[x] = i;
			lfirst[sp->landlord[x] + 2]++;
		}
	}
	for (size_t l = 0; l < NL; l++)
		lfirst[l + 2] += lfirst[l + 1];
	for (size_t x = 0; x < NP; x++) /* stable: a landlord's parts stay in commune order */
		bypart[lfirst[sp->landlord[x] + 1]++] = x;
	for (size_t l = 0; l < NL; l++) {
		size_t nt = 0;
		for (size_t y = lfirst[l]; y < lfirst[l + 1]; y++) {
			size_t x = bypart[y], r = crow[prow[x]];
			if (r == SIZE_MAX)
				continue;
			double *a = acc + r * W;
			const double *v = sp->values + x * W;
			for (size_t j = 0; j < W; j++)
				a[j] = isnan(v[j]) ? 0 : v[j];
			/* up the hierarchy: EPCI, département, région, total */
			size_t up[5] = { r, h->parent_epci[r], h->parent_dep[r], SIZE_MAX, SIZE_MAX };
			if (up[2] != SIZE_MAX)
				up[3] = h->parent_region[up[2]];
			if (h->first[4] < R)
				up[4] = h->first[4];
			for (int u = 0; u < 5; u++) {
				if (up[u] == SIZE_MAX)
					continue;
				if (!mark[up[u]]) {
					mark[up[u]] = 1;
					touched[nt++] = up[u];
				}
				if (u)
					for (size_t j = 0; j < W; j++)
						acc[up[u] * W + j] += a[j];
			}
		}
		for (size_t t = 0; t < nt; t++) {
			size_t r = touched[t];
			double *a = acc + r * W;
			double pop = a[C];
			if (pop > 0)
				for (size_t j = 0; j < C; j++) {
					double units = 0;
					for (size_t p = 0; p < npop[j]; p++)
						units += a[pop_cols[j * 3 + p]];
					if (units < 0)
						units = 0;
					dh_disclosure_cell_add(&cells[r * C + j], (uint64_t)units, units);
				}
			memset(a, 0, W * sizeof(double));
			mark[r] = 0;
		}
	}
done:
	free(pop_cols);
	free(npop);
	free(crow);
	free(lfirst);
	free(bypart);
	free(prow);
	free(touched);
	free(mark);
	free(acc);
	dh_cube_split_free(sp);
	return rc;
}

/* ---- the query ---- */

static void today_utc(char day[11])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

/* Run q over the caller's own rows and copy its table, unsuppressed, into a new result. */
static int own_run(const dh_cube *cube, const dh_cube_query *q, dh_figures_result **out, dh_error *err)
{
	dh_cube_table *t = NULL;
	int rc = dh_cube_query_run(cube, q, &t, err);
	if (rc != DH_OK)
		return rc;
	dh_figures_result *r = result_new(t->nrows, t->ncols);
	if (!r) {
		dh_cube_table_free(t);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t j = 0; j < t->ncols; j++)
		r->columns[j] = t->columns[j];
	for (size_t i = 0; i < t->nrows && rc == DH_OK; i++)
		rc = set_row(r, i, t->codes[i], t->names[i]);
	memcpy(r->values, t->values, t->nrows * t->ncols * sizeof(double));
	r->own = 1;
	dh_cube_table_free(t);
	if (rc != DH_OK) {
		dh_figures_result_free(r);
		return dh_error_set(err, rc, "mémoire insuffisante");
	}
	*out = r;
	return DH_OK;
}

static int own_query(const dh_cube *cube, const dh_figures_request *req, const char *siren,
		     dh_figures_result **out, dh_error *err)
{
	dh_predicate pred = { .dim = DH_DIM_LANDLORD, .op = DH_OP_IN, .set = siren };
	dh_cube_query q = { .level = req->level, .reference_date = req->reference_date,
			    .territory = req->territory, .filters = &pred, .nfilters = 1,
			    .indicators = req->indicators, .nindicators = req->nindicators };
	return own_run(cube, &q, out, err);
}

/* The arguments of a request that come from outside: indicator positions bounded and each
 * once (one column per indicator: never more than the registry holds), filters bounded with
 * their value sets checked, the territory a short code of letters and digits. */
static int request_check(const dh_figures_request *req, dh_error *err)
{
	if (req->indicators && dh_indicator_list_check(req->indicators, req->nindicators, err) != DH_OK)
		return DH_INVAL;
	if (req->nfilters > DH_CUBE_MAX_FILTERS)
		return dh_error_set(err, DH_INVAL, "trop de filtres (au plus %d)", DH_CUBE_MAX_FILTERS);
	if (req->nfilters && !req->filters)
		return dh_error_set(err, DH_INVAL, "filtres absents");
	for (size_t i = 0; i < req->nfilters; i++)
		if (dh_predicate_set_check(&req->filters[i], err) != DH_OK)
			return DH_INVAL;
	if (req->territory) {
		size_t n = strnlen(req->territory, DH_TERRITORY_CODE_MAX + 1);
		int ok = n > 0 && n <= DH_TERRITORY_CODE_MAX;
		for (size_t i = 0; ok && i < n; i++) {
			char c = req->territory[i];
			ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		}
		if (!ok)
			return dh_error_set(err, DH_INVAL, "code de territoire invalide (au plus %d lettres "
							   "ou chiffres)", DH_TERRITORY_CODE_MAX);
	}
	return DH_OK;
}

int dh_figures_query(dh_store *store, const dh_geo *geo, const dh_cube *cube, const dh_identity *who,
		     const dh_figures_request *req, dh_figures_result **out, dh_error *err)
{
	if (!who)
		return dh_error_set(err, DH_AUTH, "identité requise");
	if (!store || !geo || !cube || !req || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	/* List and text arguments first: bounded, no repeats (indicators.h), a plain code. */
	int rc = request_check(req, err);
	if (rc != DH_OK)
		return rc;
	if (who->role == DH_ROLE_ADMIN || who->role == DH_ROLE_DPO)
		return deny(store, who, req, err, "les administrateurs et délégués à la protection des "
						  "données ne consultent pas les chiffres");
	if ((unsigned)who->role >= DH_ROLE_COUNT)
		return deny(store, who, req, err, "rôle inconnu");
	if (who->scope[0] && strcmp(who->scope, "read:indicators") != 0)
		return deny(store, who, req, err, "la portée du jeton n'autorise pas la lecture des indicateurs");

	/* The landlord dimension: only a member, about its own organisation. */
	int own = 0, other_filter = 0;
	for (size_t i = 0; i < req->nfilters; i++) {
		const dh_predicate *p = &req->filters[i];
		if (p->dim != DH_DIM_LANDLORD) {
			other_filter = 1;
			continue;
		}
		if (who->role != DH_ROLE_MEMBER || p->op != DH_OP_IN || !p->set ||
		    strcmp(p->set, who->org_siren) != 0)
			return deny(store, who, req, err, "un bailleur ne peut pas être isolé");
		own = 1;
	}
	if (req->level == DH_LEVEL_LANDLORD) {
		if (who->role != DH_ROLE_MEMBER || !req->territory || strcmp(req->territory, who->org_siren) != 0)
			return deny(store, who, req, err, "le niveau bailleur n'est ouvert qu'au bailleur "
							  "lui-même, pour son organisme");
		own = 1;
	}
	if (own) {
		if (other_filter && req->nfilters > DH_CUBE_MAX_FILTERS - 1)
			return dh_error_set(err, DH_INVAL, "trop de filtres");
		if (other_filter) {
			/* own rows with further filters: run them with the landlord filter kept */
			dh_cube_query q = { .level = req->level, .reference_date = req->reference_date,
					    .territory = req->territory, .filters = req->filters,
					    .nfilters = req->nfilters, .indicators = req->indicators,
					    .nindicators = req->nindicators };
			int has_landlord = 0;
			for (size_t i = 0; i < req->nfilters; i++)
				has_landlord |= req->filters[i].dim == DH_DIM_LANDLORD;
			if (!has_landlord)
				return deny(store, who, req, err, "filtre non autorisé");
			return own_run(cube, &q, out, err);
		}
		return own_query(cube, req, who->org_siren, out, err);
	}

	/* Figures mixing landlords. */
	if (other_filter)
		return deny(store, who, req, err, "les filtres ne sont ouverts qu'aux données de son "
						  "propre organisme (risque de différenciation)");
	if (req->level != DH_LEVEL_COMMUNE && req->level != DH_LEVEL_EPCI &&
	    req->level != DH_LEVEL_DEPARTEMENT && req->level != DH_LEVEL_REGION && req->level != DH_LEVEL_ALL)
		return deny(store, who, req, err, "niveau non couvert par le contrôle de diffusion");
	char today[11];
	if (req->today && dh_date_valid(req->today))
		dh_strlcpy(today, sizeof(today), req->today);
	else
		today_utc(today);
	agreement_pick pick;
	memset(&pick, 0, sizeof(pick));
	pick.who = who;
	pick.today = today;
	pick.req = req;
	pick.want_all = req->indicators == NULL;
	rc = dh_agreement_list(store, pick_cb, &pick, err);
	if (rc != DH_OK)
		return rc;
	if (!pick.found)
		return deny(store, who, req, err, "aucune convention de partage en vigueur ne couvre ce public, "
						  "ces indicateurs et cette date");
	/* The scope: the agreement's, narrowed to the partner's own territory. */
	const dh_territory *scope = &pick.best.territory, *scope2 = NULL;
	if (who->role == DH_ROLE_PARTNER)
		scope2 = &who->territory;
	if (req->territory && !inside(geo, req->level, req->territory, scope))
		return deny(store, who, req, err, "territoire hors du périmètre de la convention");
	if (req->territory && scope2 && !inside(geo, req->level, req->territory, scope2))
		return deny(store, who, req, err, "territoire hors de celui du partenaire");

	/* Columns returned: those asked for, or all the agreement allows. The table suppressed
	 * holds every registry indicator, whatever is asked and whatever the agreement: the
	 * pattern then depends only on the data and the date, never on the request, so that no
	 * two answers (other indicators, another agreement or audience) can be compared to
	 * recover a cell hidden in one and published in the other. Projected afterwards. */
	size_t nall = dh_indicator_count(), ncols = 0;
	int *cols = malloc((nall + 1) * sizeof(int)), *all = malloc((nall + 1) * sizeof(int));
	if (!cols || !all) {
		free(cols);
		free(all);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	}
	for (size_t i = 0; i < nall; i++)
		all[i] = (int)i;
	if (req->indicators) {
		memcpy(cols, req->indicators, req->nindicators * sizeof(int));
		ncols = req->nindicators;
	} else {
		for (size_t i = 0; i < nall; i++)
			if (allows(&pick.best, dh_indicator_at(i)))
				cols[ncols++] = (int)i;
	}
	hier h;
	memset(&h, 0, sizeof(h));
	dh_disclosure_policy policy;
	dh_disclosure_policy_default(&policy);
	dh_figures_result *r = NULL;
	rc = hier_build(&h, geo, cube, req->reference_date, all, nall, &policy, err);
	if (rc == DH_OK)
		rc = hier_fill(&h, cube, req->reference_date, all, nall, err);
	dh_disclosure_stats stats;
	memset(&stats, 0, sizeof(stats));
	if (rc == DH_OK)
		rc = dh_disclosure_apply(h.t, &policy, &stats, err);
	if (rc != DH_OK)
		goto done;
	/* The rows of the requested level inside the scope. */
	int k = req->level == DH_LEVEL_COMMUNE ? 0 : req->level == DH_LEVEL_EPCI ? 1
		: req->level == DH_LEVEL_DEPARTEMENT ? 2 : req->level == DH_LEVEL_REGION ? 3 : 4;
	const dh_cube_table *lt = h.lvl[k];
	size_t n = 0;
	uint8_t *keep = calloc(lt->nrows + 1, 1);
	if (!keep) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	for (size_t i = 0; i < lt->nrows; i++) {
		const char *code = lt->codes[i];
		int ok = req->territory ? strcmp(code, req->territory) == 0 : 1;
		if (k == 4)
			ok = ok && scope->level == DH_LEVEL_ALL && !scope2;
		else
			ok = ok && inside(geo, req->level, code, scope) &&
			     (!scope2 || inside(geo, req->level, code, scope2));
		keep[i] = (uint8_t)ok;
		n += (size_t)ok;
	}
	if (n == 0) {
		free(keep);
		rc = req->territory ? dh_error_set(err, DH_NOTFOUND, "territoire « %s » sans logement",
						   req->territory)
				    : deny(store, who, req, err, "aucun territoire du niveau dans le périmètre");
		goto done;
	}
	r = result_new(n, ncols);
	if (!r) {
		free(keep);
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	for (size_t j = 0; j < ncols; j++)
		r->columns[j] = lt->columns[cols[j]]; /* table column = registry position */
	size_t o = 0;
	for (size_t i = 0; i < lt->nrows && rc == DH_OK; i++) {
		if (!keep[i])
			continue;
		rc = set_row(r, o, lt->codes[i], lt->names[i]);
		for (size_t j = 0; j < ncols; j++) {
			size_t c = (size_t)cols[j];
			dh_disclosure_status s = dh_disclosure_cell_status(h.t, h.first[k] + i, c);
			r->status[o * ncols + j] = (uint8_t)s;
			r->values[o * ncols + j] = s == DH_DISCLOSURE_PUBLISHED ? dh_cube_table_value(lt, i, c) : NAN;
			r->hidden += s != DH_DISCLOSURE_PUBLISHED;
		}
		o++;
	}
	free(keep);
	if (rc != DH_OK) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	r->agreement = pick.best.id;
	r->stats = stats;
	rc = log_query(store, who, req, pick.best.id, pick.best.purpose, "ok", err);
done:
	hier_release(&h);
	free(cols);
	free(all);
	if (rc != DH_OK) {
		dh_figures_result_free(r);
		return rc;
	}
	*out = r;
	return DH_OK;
}

/* ---- the operator's unrestricted mode ---- */

int dh_figures_query_unrestricted(dh_store *store, const dh_cube *cube, const dh_actor *actor,
				  const dh_figures_request *req, dh_figures_result **out, dh_error *err)
{
	if (!store || !cube || !req || !out || !actor)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	dh_error why;
	dh_error_clear(&why);
	int owns = dh_store_caller_owns(store, &why);
	char object[128];
	snprintf(object, sizeof(object), "indicators:%s%s%s", dh_level_name(req->level),
		 req->territory ? ":" : "", req->territory ? req->territory : "");
	int rc = dh_audit_log(store, actor, "query-operator", object, 0, "",
			      owns == DH_OK ? "ok" : "refused", err);
	if (owns != DH_OK)
		return dh_error_set(err, owns, "accès sans restriction refusé : %s ; ce mode est réservé au "
					       "propriétaire du fichier de la base", why.message);
	if (rc != DH_OK)
		return rc; /* no figures without their audit entry */
	dh_cube_query q = { .level = req->level, .reference_date = req->reference_date,
			    .territory = req->territory, .filters = req->filters,
			    .nfilters = req->nfilters, .indicators = req->indicators,
			    .nindicators = req->nindicators };
	return own_run(cube, &q, out, err);
}
