/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure_audit.c - exact audit of secondary suppression against attacks that combine
 * several equations: a hidden cell is determined when its unit vector lies in the row space
 * of the linear system the published cells leave on the hidden ones, i.e. when it is zero in
 * every solution of the homogeneous system. Checked on each group of hidden cells linked by
 * sums (a group larger than the policy's limit is skipped and counted) by Gaussian
 * elimination modulo a prime to echelon form and one pseudo-random solution; formula links
 * (rates) propagate as "all other members known" (a published rate never has a hidden
 * term: disclosure.c hides it first, so its linearised equation num = rate x den has no
 * unknown). Each determined cell gets one more
 * partner hidden, the single-equation fixpoint runs again, and the audit repeats until
 * nothing is determined.
 */
#include "governance/internal.h"

#include "datahabitat/rng.h"

#include <stdlib.h>
#include <string.h>

/* Arithmetic modulo a prime below 2^31 so that a product fits in 64 bits. A rank computed
 * modulo p can only be lower than over the rationals, which makes a cell look determined
 * when it is not (more suppression), never the reverse, barring a minor divisible by p. */
#define PRIME UINT64_C(2147483647)

/* x mod (2^31 - 1) for x < 2^63, without a division (Mersenne reduction). */
static inline uint32_t mod_p(uint64_t x)
{
	x = (x & PRIME) + (x >> 31);
	x = (x & PRIME) + (x >> 31);
	return (uint32_t)(x >= PRIME ? x - PRIME : x);
}

static uint64_t pow_mod(uint64_t b, uint64_t e)
{
	uint64_t r = 1;
	b = mod_p(b);
	while (e) {
		if (e & 1)
			r = mod_p(r * b);
		b = mod_p(b * b);
		e >>= 1;
	}
	return r;
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static void uf_union(uint32_t *parent, uint32_t a, uint32_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

typedef struct audit_work {
	uint8_t *known;     /* per cell: value known to an attacker (published or determined) */
	uint32_t *parent;   /* union-find over cells */
	uint32_t *local;    /* per cell: column in the group's matrix */
	uint32_t *order;    /* unknown hidden cells sorted by group */
	uint32_t *rel_seen; /* per relation: stamp of the last group that used it */
	uint32_t *basis;    /* max_unknowns x max_unknowns, row-reduced */
	uint32_t *pivot;    /* pivot column of each basis row */
	uint32_t *vec;      /* row being reduced */
	uint32_t stamp;
} audit_work;

/* Elimination over the group's sums; marks determined cells known. Returns the number of
 * cells newly known. */
static size_t audit_group(secondary_state *s, audit_work *w, const uint32_t *cells, uint32_t n)
{
	dh_disclosure_table *t = s->t;
	uint32_t rank = 0;
	w->stamp++;
	for (uint32_t i = 0; i < n; i++)
		w->local[cells[i]] = i;
	for (uint32_t i = 0; i < n && rank < n; i++) {
		uint32_t cell = cells[i];
		for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1] && rank < n; j++) {
			uint32_t rel = t->cell_rel[j];
			if (t->rel_kind[rel] != REL_SUM || w->rel_seen[rel] == w->stamp)
				continue;
			w->rel_seen[rel] = w->stamp;
			memset(w->vec, 0, n * sizeof(uint32_t));
			for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1]; k++) {
				uint32_t m = t->rel_mem[k];
				if (w->known[m])
					continue; /* a constant on the right-hand side */
				/* total - sum of parts = 0: +1 for the total, -1 for a part */
				w->vec[w->local[m]] = k == t->rel_off[rel] ? 1u : (uint32_t)(PRIME - 1);
			}
			for (uint32_t b = 0; b < rank; b++) {
				uint64_t f = w->vec[w->pivot[b]];
				if (!f)
					continue;
				const uint32_t *row = w->basis + (size_t)b * n;
				for (uint32_t c = 0; c < n; c++)
					if (row[c])
						w->vec[c] = mod_p(w->vec[c] + (PRIME - f) * row[c]);
			}
			uint32_t pc = 0;
			while (pc < n && !w->vec[pc])
				pc++;
			if (pc == n)
				continue; /* dependent: nothing new */
			uint64_t inv = pow_mod(w->vec[pc], PRIME - 2);
			for (uint32_t c = pc; c < n; c++)
				w->vec[c] = mod_p(w->vec[c] * inv);
			memcpy(w->basis + (size_t)rank * n, w->vec, n * sizeof(uint32_t));
			w->pivot[rank++] = pc;
		}
	}
	/*
	 * Each row is zero at the pivots of the rows before it. A random point of the solution
	 * space of the homogeneous system: random free columns, then the pivots from the last
	 * row back. A cell that is not determined is zero there with probability 1/p only; a
	 * zero is taken as determined (the safe side). The seed is fixed: deterministic output.
	 */
	uint32_t *v = w->vec;
	dh_rng rng = dh_rng_init(n);
	memset(v, 0, n * sizeof(uint32_t));
	for (uint32_t b = 0; b < rank; b++)
		v[w->pivot[b]] = UINT32_MAX; /* mark pivots */
	for (uint32_t c = 0; c < n; c++)
		v[c] = v[c] == UINT32_MAX ? 0 : (uint32_t)(1 + dh_rng_below(&rng, PRIME - 1));
	for (uint32_t b = rank; b-- > 0;) {
		const uint32_t *row = w->basis + (size_t)b * n;
		uint32_t pc = w->pivot[b];
		uint64_t acc = 0;
		for (uint32_t c = pc + 1; c < n; c++)
			if (row[c] && v[c])
				acc = mod_p(acc + (uint64_t)row[c] * v[c]);
		v[pc] = acc ? (uint32_t)(PRIME - acc) : 0;
	}
	size_t found = 0;
	for (uint32_t c = 0; c < n; c++) {
		if (!v[c]) {
			w->known[cells[c]] = 1;
			found++;
		}
	}
	return found;
}

/* One pass of the attacker: sums by groups, then formula links. Cells newly known. */
static size_t audit_pass(secondary_state *s, audit_work *w, uint32_t max_unknowns,
                         size_t *groups, size_t *skipped)
{
	dh_disclosure_table *t = s->t;
	size_t found = 0, nunknown = 0;
	for (uint32_t i = 0; i < t->ncells; i++)
		w->parent[i] = i;
	for (size_t r = 0; r < t->nrel; r++) {
		if (t->rel_kind[r] != REL_SUM)
			continue;
		uint32_t first = UINT32_MAX;
		for (uint32_t k = t->rel_off[r]; k < t->rel_off[r + 1]; k++) {
			uint32_t m = t->rel_mem[k];
			if (w->known[m])
				continue;
			if (first == UINT32_MAX)
				first = m;
			else
				uf_union(w->parent, first, m);
		}
	}
	/* group the unknown cells by root, each group in cell order (counting sort on root) */
	uint32_t *count = w->local; /* reused as counters: local is rewritten per group */
	memset(count, 0, t->ncells * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->ncells; i++) {
		if (w->known[i])
			continue;
		w->parent[i] = uf_find(w->parent, i); /* full compression: parent[i] is the root */
		count[w->parent[i]]++;
		nunknown++;
	}
	uint32_t sum = 0;
	for (uint32_t i = 0; i < t->ncells; i++) {
		uint32_t c = count[i];
		count[i] = sum;
		sum += c;
	}
	for (uint32_t i = 0; i < t->ncells; i++)
		if (!w->known[i])
			w->order[count[w->parent[i]]++] = i;
	for (size_t start = 0; start < nunknown;) {
		uint32_t root = w->parent[w->order[start]];
		size_t end = start;
		while (end < nunknown && w->parent[w->order[end]] == root)
			end++;
		uint32_t n = (uint32_t)(end - start);
		if (n <= max_unknowns) {
			found += audit_group(s, w, w->order + start, n);
			(*groups)++;
		} else {
			(*skipped)++;
		}
		start = end;
	}
	for (size_t r = 0; r < t->nrel; r++) {
		/* a formula, or a rate computed from its columns alone: any n - 1 give the last
		 * (an inexact rate gives nothing: its other term is not in the table) */
		if (t->rel_kind[r] != REL_LINK && t->rel_kind[r] != REL_RATE_EXACT)
			continue;
		uint32_t unknown = 0, last = 0;
		for (uint32_t k = t->rel_off[r]; k < t->rel_off[r + 1]; k++) {
			if (!w->known[t->rel_mem[k]]) {
				unknown++;
				last = t->rel_mem[k];
			}
		}
		if (unknown == 1) {
			w->known[last] = 1;
			found++;
		}
	}
	return found;
}

int dh__disclosure_audit(secondary_state *s, uint32_t max_unknowns, dh_disclosure_stats *stats)
{
	dh_disclosure_table *t = s->t;
	if (max_unknowns > 4096)
		max_unknowns = 4096; /* the matrix is max_unknowns^2 words */
	audit_work w = { 0 };
	size_t ncells = t->ncells;
	w.known = malloc(ncells);
	w.parent = malloc(ncells * sizeof(uint32_t));
	w.local = malloc(ncells * sizeof(uint32_t));
	w.order = malloc(ncells * sizeof(uint32_t));
	w.rel_seen = calloc(t->nrel ? t->nrel : 1, sizeof(uint32_t));
	w.basis = malloc((size_t)max_unknowns * max_unknowns * sizeof(uint32_t));
	w.pivot = malloc(max_unknowns * sizeof(uint32_t));
	w.vec = malloc(max_unknowns * sizeof(uint32_t));
	uint8_t *touched = calloc(t->nrel ? t->nrel : 1, 1);
	int rc = DH_OK;
	if (!w.known || !w.parent || !w.local || !w.order || !w.rel_seen || !w.basis || !w.pivot ||
	    !w.vec || !touched) {
		rc = DH_NOMEM;
		goto done;
	}
	for (size_t round = 0; round <= ncells; round++) {
		size_t groups = 0, skipped = 0;
		for (size_t i = 0; i < ncells; i++)
			w.known[i] = !cell_hidden(&t->cells[i]);
		while (audit_pass(s, &w, max_unknowns, &groups, &skipped) > 0) {
			groups = skipped = 0;
		}
		stats->audit_groups = groups;
		stats->audit_skipped = skipped;
		/* repair: one more partner for each determined cell whose relations were not
		 * already given one in this round */
		size_t repaired = 0, determined = 0;
		memset(touched, 0, t->nrel ? t->nrel : 1);
		for (uint32_t i = 0; i < ncells; i++) {
			if (!cell_hidden(&t->cells[i]) || !w.known[i])
				continue;
			determined++;
			int skip = 0;
			for (uint32_t j = t->cell_off[i]; j < t->cell_off[i + 1]; j++)
				skip |= touched[t->cell_rel[j]];
			if (skip)
				continue;
			uint32_t pick = dh__disclosure_pick_around(s, i);
			if (pick == UINT32_MAX) {
				/* closed neighbourhood: widen to the neighbours' relations */
				for (uint32_t j = t->cell_off[i]; j < t->cell_off[i + 1] &&
				                                  pick == UINT32_MAX; j++) {
					uint32_t rel = t->cell_rel[j];
					for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1] &&
					                                   pick == UINT32_MAX; k++)
						pick = dh__disclosure_pick_around(s, t->rel_mem[k]);
				}
			}
			if (pick == UINT32_MAX)
				continue;
			for (uint32_t j = t->cell_off[i]; j < t->cell_off[i + 1]; j++)
				touched[t->cell_rel[j]] = 1;
			for (uint32_t j = t->cell_off[pick]; j < t->cell_off[pick + 1]; j++)
				touched[t->cell_rel[j]] = 1;
			dh__disclosure_hide(s, pick, DH_DISCLOSURE_REASON_AUDIT);
			stats->audit_added++;
			repaired++;
		}
		if (determined == 0 || repaired == 0)
			break;
		size_t before = s->added;
		dh__disclosure_fixpoint(s);
		stats->audit_added += s->added - before;
	}
done:
	free(w.known);
	free(w.parent);
	free(w.local);
	free(w.order);
	free(w.rel_seen);
	free(w.basis);
	free(w.pivot);
	free(w.vec);
	free(touched);
	return rc;
}
