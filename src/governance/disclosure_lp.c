/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure_lp.c - the interval audit of secondary suppression, by linear programming
 * (GLPK), in the manner of tau-ARGUS and sdcTable: every sensitive cell (primary) gets upper
 * and lower protection levels from the rule that hid it (p% rule, dominance, a relative
 * safety range for threshold cells, and a minimum for small counts and zeros), and the
 * attacker - who knows every published cell, every declared relation (sums, bounds) and that
 * cells are non-negative - must not be able to narrow the cell below [value - lower,
 * value + upper]. For each sensitive cell the audit maximises and minimises it over the
 * attacker's feasible set; when the range is too narrow it hides one more cell next to it
 * (reason INTERVAL), runs the single-equation fixpoint again, and repeats to a fixpoint.
 *
 * Size: the feasible set of the whole joint table has tens of thousands of hidden cells.
 * Each program keeps unknown only the hidden cells within a neighbourhood of the audited one
 * (breadth first along the relations, up to policy->lp_neighbourhood cells) and fixes every
 * other hidden cell at its true value: the attacker of the program knows more than the real
 * one, its feasible set is a subset of the real one, so a range found wide enough is wide
 * enough for the real attacker too (the split never drops a link: it can only make the audit
 * stricter). Public-structure cells count as known whatever their status (RPLS open data).
 * Integrality is not imposed: the relaxation is what tau-ARGUS audits too (docs/disclosure.md).
 */
#include "governance/internal.h"

#include <glpk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lp_work {
	const dh_disclosure_table *t;
	int32_t *var;        /* per cell: column in the current program (0: none), 1-based */
	uint32_t *vars;      /* cells of the current program */
	uint32_t nvars, cap;
	uint32_t *rel_stamp; /* per relation: stamp of the program that took it */
	uint32_t *rels;      /* relations of the current program */
	uint32_t nrels;
	uint32_t stamp;
	int *ia, *ja;        /* constraint matrix, 1-based (GLPK) */
	double *ar;
	size_t nz_cap;
} lp_work;

static int is_known(const dh_disclosure_table *t, uint32_t cell)
{
	return !cell_hidden(&t->cells[cell]) ||
	       t->col_class[cell % t->cols] == DH_DISCLOSURE_PUBLIC_STRUCTURE;
}

static int rel_used(uint8_t kind)
{
	return kind == REL_SUM || kind == REL_BOUND;
}

/* Protection levels of a sensitive cell (tau-ARGUS style, from the rule of its class). */
void dh__disclosure_protection(const dh_disclosure_table *t, const dh_disclosure_policy *policy,
                       uint32_t cell, double *upper, double *lower)
{
	const dh_disclosure_cell *c = &t->cells[cell];
	uint8_t cls = t->col_class[cell % t->cols];
	const dh_disclosure_rule *r = &policy->rule[cls == DH_DISCLOSURE_CLASS_UNSET
	                                                ? DH_DISCLOSURE_LANDLORD_BUSINESS : cls];
	double p = r->p_percent > 0 ? r->p_percent : 10.0;
	double v = fabs(c->value);
	double up = policy->min_protection;
	/* p%: the runner-up must stay p % of the largest away from it */
	double pp = p / 100.0 * c->top[0] - (c->total - c->top[0] - c->top[1]);
	if (pp > up)
		up = pp;
	if (r->dominance_n && r->dominance_k > 0) {
		double top = c->top[0] + (r->dominance_n == 2 ? c->top[1] : 0.0);
		double dom = top * 100.0 / r->dominance_k - c->total;
		if (dom > up)
			up = dom;
	}
	/* threshold, units or forced: a relative safety range of p % of the value */
	if (c->reason == DH_DISCLOSURE_REASON_LANDLORDS || c->reason == DH_DISCLOSURE_REASON_UNITS ||
	    c->reason == DH_DISCLOSURE_REASON_FORCED) {
		if (p / 100.0 * v > up)
			up = p / 100.0 * v;
	}
	/* what public figures alone already bound it by (a part of a public total, or bounded
	 * by public columns): the attacker learns nothing from that, and no suppression can
	 * widen it, so the upper level is capped there */
	double ub = INFINITY;
	for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1]; j++) {
		uint32_t rel = t->cell_rel[j], first = t->rel_off[rel];
		uint32_t head = t->rel_mem[first];
		if (t->rel_kind[rel] == REL_SUM && head != cell &&
		    t->col_class[head % t->cols] == DH_DISCLOSURE_PUBLIC_STRUCTURE) {
			if (t->cells[head].value < ub)
				ub = t->cells[head].value;
		} else if (t->rel_kind[rel] == REL_BOUND && head == cell) {
			double sum = 0;
			int pub = 1;
			for (uint32_t k = first + 1; k < t->rel_off[rel + 1] && pub; k++) {
				uint32_t m = t->rel_mem[k];
				pub = t->col_class[m % t->cols] == DH_DISCLOSURE_PUBLIC_STRUCTURE;
				sum += t->cells[m].value;
			}
			if (pub && sum < ub)
				ub = sum;
		}
	}
	*lower = up < v ? up : v; /* a count cannot go below 0: then 0 must stay possible */
	if (v + up > ub)
		up = ub > v ? ub - v : 0;
	*upper = up;
}

static int grow(lp_work *w, size_t need)
{
	if (need <= w->nz_cap)
		return DH_OK;
	size_t cap = w->nz_cap ? w->nz_cap : 1024;
	while (cap < need)
		cap *= 2;
	int *ia = realloc(w->ia, (cap + 1) * sizeof(int));
	if (ia)
		w->ia = ia;
	int *ja = realloc(w->ja, (cap + 1) * sizeof(int));
	if (ja)
		w->ja = ja;
	double *ar = realloc(w->ar, (cap + 1) * sizeof(double));
	if (ar)
		w->ar = ar;
	if (!ia || !ja || !ar)
		return DH_NOMEM;
	w->nz_cap = cap;
	return DH_OK;
}

/* The unknown cells around cell: breadth first along the used relations. */
static void neighbourhood(lp_work *w, uint32_t cell, uint32_t max)
{
	const dh_disclosure_table *t = w->t;
	w->nvars = 0;
	w->vars[w->nvars++] = cell;
	w->var[cell] = 1;
	for (uint32_t head = 0; head < w->nvars && w->nvars < max; head++) {
		uint32_t x = w->vars[head];
		for (uint32_t j = t->cell_off[x]; j < t->cell_off[x + 1] && w->nvars < max; j++) {
			uint32_t rel = t->cell_rel[j];
			if (!rel_used(t->rel_kind[rel]))
				continue;
			for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1] && w->nvars < max; k++) {
				uint32_t m = t->rel_mem[k];
				if (w->var[m] || is_known(t, m))
					continue;
				w->vars[w->nvars++] = m;
				w->var[m] = (int32_t)w->nvars;
			}
		}
	}
}

/*
 * Range of cell over the attacker's feasible set restricted to its neighbourhood: *lo and
 * *hi (hi = +inf when unbounded). Returns DH_OK, DH_NOMEM, or DH_INTERNAL when the program
 * could not be solved (the caller treats the cell as too narrow: safe side).
 */
static int cell_range(lp_work *w, uint32_t cell, uint32_t max, double *lo, double *hi,
                      size_t *solves)
{
	const dh_disclosure_table *t = w->t;
	neighbourhood(w, cell, max);
	w->stamp++;
	w->nrels = 0;
	size_t nz = 0;
	for (uint32_t v = 0; v < w->nvars; v++) {
		uint32_t x = w->vars[v];
		for (uint32_t j = t->cell_off[x]; j < t->cell_off[x + 1]; j++) {
			uint32_t rel = t->cell_rel[j];
			if (!rel_used(t->rel_kind[rel]) || w->rel_stamp[rel] == w->stamp)
				continue;
			w->rel_stamp[rel] = w->stamp;
			w->rels[w->nrels++] = rel;
			nz += t->rel_off[rel + 1] - t->rel_off[rel];
		}
	}
	if (grow(w, nz) != DH_OK)
		return DH_NOMEM;
	glp_prob *lp = glp_create_prob();
	glp_add_cols(lp, (int)w->nvars);
	for (uint32_t v = 0; v < w->nvars; v++)
		glp_set_col_bnds(lp, (int)v + 1, GLP_LO, 0.0, 0.0);
	if (w->nrels)
		glp_add_rows(lp, (int)w->nrels);
	size_t e = 0;
	for (uint32_t r = 0; r < w->nrels; r++) {
		uint32_t rel = w->rels[r];
		double rhs = 0, scale = 1;
		for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1]; k++) {
			uint32_t m = t->rel_mem[k];
			double coef = k == t->rel_off[rel] ? 1.0 : -1.0;
			if (w->var[m]) {
				e++;
				w->ia[e] = (int)r + 1;
				w->ja[e] = w->var[m];
				w->ar[e] = coef;
			} else {
				/* known, or hidden outside the neighbourhood: fixed at its value */
				rhs -= coef * t->cells[m].value;
				scale += fabs(t->cells[m].value);
			}
		}
		double eps = 1e-9 * scale;
		if (t->rel_kind[rel] == REL_BOUND)
			glp_set_row_bnds(lp, (int)r + 1, GLP_UP, 0.0, rhs + eps);
		else
			glp_set_row_bnds(lp, (int)r + 1, GLP_DB, rhs - eps, rhs + eps);
	}
	if (e)
		glp_load_matrix(lp, (int)e, w->ia, w->ja, w->ar);
	glp_set_obj_coef(lp, 1, 1.0);
	glp_smcp parm;
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_OFF;
	int rc = DH_OK;
	for (int dir = 0; dir < 2 && rc == DH_OK; dir++) {
		glp_set_obj_dir(lp, dir == 0 ? GLP_MAX : GLP_MIN);
		int ret = glp_simplex(lp, &parm); /* the second run starts from the first's basis */
		(*solves)++;
		int st = glp_get_status(lp);
		if (ret == 0 && st == GLP_UNBND && dir == 0)
			*hi = INFINITY;
		else if (ret == 0 && st == GLP_OPT)
			*(dir == 0 ? hi : lo) = glp_get_obj_val(lp);
		else
			rc = DH_INTERNAL;
	}
	glp_delete_prob(lp);
	for (uint32_t v = 0; v < w->nvars; v++)
		w->var[w->vars[v]] = 0;
	return rc;
}

/* A published, non-public cell sharing a relation with cell (or with one of its
 * neighbours), to hide so that cell's range widens; UINT32_MAX if none. */
static uint32_t repair_pick(secondary_state *s, uint32_t cell)
{
	const dh_disclosure_table *t = s->t;
	uint32_t pick = dh__disclosure_pick_around(s, cell);
	if (pick != UINT32_MAX && t->col_class[pick % t->cols] != DH_DISCLOSURE_PUBLIC_STRUCTURE)
		return pick;
	for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1]; j++) {
		uint32_t rel = t->cell_rel[j];
		for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1]; k++) {
			pick = dh__disclosure_pick_around(s, t->rel_mem[k]);
			if (pick != UINT32_MAX &&
			    t->col_class[pick % t->cols] != DH_DISCLOSURE_PUBLIC_STRUCTURE)
				return pick;
		}
	}
	return UINT32_MAX;
}

int dh__disclosure_lp_audit(secondary_state *s, const dh_disclosure_policy *policy,
                        dh_disclosure_stats *stats)
{
	dh_disclosure_table *t = s->t;
	uint32_t max = policy->lp_neighbourhood ? policy->lp_neighbourhood : 1;
	if (max > 4096)
		max = 4096;
	lp_work w = { 0 };
	w.t = t;
	w.var = calloc(t->ncells, sizeof(int32_t));
	w.vars = malloc((size_t)max * sizeof(uint32_t));
	w.rel_stamp = calloc(t->nrel ? t->nrel : 1, sizeof(uint32_t));
	w.rels = malloc((t->nrel ? t->nrel : 1) * sizeof(uint32_t));
	int rc = DH_OK;
	if (!w.var || !w.vars || !w.rel_stamp || !w.rels) {
		rc = DH_NOMEM;
		goto done;
	}
	glp_term_out(GLP_OFF);
	/*
	 * One sweep. Hiding more cells only enlarges the real attacker's feasible set, and a
	 * program that fixed a now-hidden cell at its value describes an attacker who knows more:
	 * a cell found wide enough stays so. Each sensitive cell (primary, additive, not public)
	 * is therefore audited once, repaired and audited again until its range is wide enough.
	 */
	for (uint32_t c = 0; c < t->ncells && rc == DH_OK; c++) {
		const dh_disclosure_cell *cell = &t->cells[c];
		if (cell->status != DH_DISCLOSURE_PRIMARY || !t->col_additive[c % t->cols] ||
		    is_known(t, c))
			continue;
		stats->lp_cells++;
		double upper, lower;
		dh__disclosure_protection(t, policy, c, &upper, &lower);
		for (int tries = 0; tries < 16; tries++) {
			double lo = 0, hi = 0;
			int r = cell_range(&w, c, max, &lo, &hi, &stats->lp_solves);
			if (r == DH_NOMEM) {
				rc = r;
				break;
			}
			double v = cell->value, tol = 1e-7 * (1 + fabs(v));
			if (r == DH_OK && hi >= v + upper - tol && lo <= v - lower + tol)
				break;
			uint32_t pick = repair_pick(s, c);
			if (pick == UINT32_MAX) {
				stats->lp_unresolved++;
				break;
			}
			dh__disclosure_hide(s, pick, DH_DISCLOSURE_REASON_INTERVAL);
			stats->lp_added++;
			size_t before = s->added;
			dh__disclosure_fixpoint(s);
			stats->lp_added += s->added - before;
			if (tries == 15)
				stats->lp_unresolved++;
		}
	}
done:
	free(w.var);
	free(w.vars);
	free(w.rel_stamp);
	free(w.rels);
	free(w.ia);
	free(w.ja);
	free(w.ar);
	return rc;
}

/*
 * The interval rule on single equations, cheap enough for every query: in a sum whose total
 * is known (published or public), the hidden parts sum to a known S, so each lies in [0, S].
 * A sensitive part x needs S - x, the mass of the other hidden parts, to be at least its
 * upper protection level; two hidden zeros under a published 0 are both pinned at 0. When it
 * is not, one more member is hidden (a non-zero part first, else the total) and the
 * single-equation fixpoint runs again, to a fixpoint. Necessary, not sufficient: the
 * programs of dh__disclosure_lp_audit() see several equations at once.
 */
int dh__disclosure_mass_rule(secondary_state *s, const dh_disclosure_policy *policy,
                         dh_disclosure_stats *stats)
{
	dh_disclosure_table *t = s->t;
	for (size_t round = 0; round < 64; round++) {
		size_t added = 0;
		for (uint32_t rel = 0; rel < t->nrel; rel++) {
			if (t->rel_kind[rel] != REL_SUM)
				continue;
			uint32_t first = t->rel_off[rel], end = t->rel_off[rel + 1];
			if (!is_known(t, t->rel_mem[first]))
				continue;
			double mass = 0;
			for (uint32_t k = first + 1; k < end; k++)
				if (!is_known(t, t->rel_mem[k]))
					mass += fabs(t->cells[t->rel_mem[k]].value);
			int short_of = 0;
			for (uint32_t k = first + 1; k < end && !short_of; k++) {
				uint32_t m = t->rel_mem[k];
				if (t->cells[m].status != DH_DISCLOSURE_PRIMARY || is_known(t, m))
					continue;
				double up, lo;
				dh__disclosure_protection(t, policy, m, &up, &lo);
				short_of = mass - fabs(t->cells[m].value) < up - 1e-9;
			}
			if (!short_of)
				continue;
			/* a published non-public part with mass, the largest first; else the total */
			uint32_t pick = UINT32_MAX;
			for (uint32_t k = first + 1; k < end; k++) {
				uint32_t m = t->rel_mem[k];
				if (is_known(t, m) && !cell_hidden(&t->cells[m]) && t->cells[m].value > 0 &&
				    t->col_class[m % t->cols] != DH_DISCLOSURE_PUBLIC_STRUCTURE &&
				    (pick == UINT32_MAX || t->cells[m].value > t->cells[pick].value))
					pick = m;
			}
			uint32_t total = t->rel_mem[first];
			if (pick == UINT32_MAX && !cell_hidden(&t->cells[total]) &&
			    t->col_class[total % t->cols] != DH_DISCLOSURE_PUBLIC_STRUCTURE)
				pick = total;
			if (pick == UINT32_MAX) {
				stats->lp_unresolved++;
				continue;
			}
			dh__disclosure_hide(s, pick, DH_DISCLOSURE_REASON_INTERVAL);
			added++;
			dh__disclosure_fixpoint(s);
		}
		stats->lp_added += added;
		if (added == 0)
			break;
	}
	return DH_OK;
}
