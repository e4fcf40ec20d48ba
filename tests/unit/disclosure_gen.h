/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure_gen.h - deterministic synthetic tables for the disclosure tests and benchmark:
 * a région of départements, EPCI and communes (many small communes, a few large towns),
 * ~20 landlords with unequal footprints, dwellings drawn like real stock (mode, rooms,
 * DPE, construction type, move-ins of households), aggregated into indicator columns with
 * each landlord's contribution; plus the attacker's side: the equations an outsider knows
 * (declared independently of the library, including implied cross-level sums), iterated
 * differencing, the rate attacker (published rate x derived denominator), and Gaussian
 * elimination over the published system with known rates linearised.
 *
 * Header-only (static inline) so that test_disclosure_attack.c and bench/disclosure_bench.c
 * share it; uses only the public API of the library.
 */
#ifndef DH_DISCLOSURE_GEN_H
#define DH_DISCLOSURE_GEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datahabitat/disclosure.h"
#include "datahabitat/rng.h"

enum gen_attr { A_MODE, A_ROOMS, A_DPE, A_GES, A_AGE, A_FIN, A_TYPE, A_QPV, A_MOVEIN, A_QUART,
	        A_HHSIZE, A_NEWLEASE, A_COUNT };

#define GEN_MAX_COLS 128
#define GEN_MAX_SUMS 64
#define GEN_MAX_PARTS 12
#define GEN_ANY (-1)

typedef struct gen_col {
	char name[24];
	uint8_t cls;      /* enum dh_disclosure_class */
	uint8_t additive; /* count (1) or rate (0) */
	int8_t cond[3][2]; /* up to three (attribute, value) conditions, attribute GEN_ANY: unused */
	int8_t filter;    /* construction type the column is restricted to (0 coll, 1 ind), -1 all */
	int16_t num, den[2]; /* rates: numerator column and denominator = den[0] (+ den[1]) */
} gen_col;

typedef struct gen_sum {
	size_t total, n, parts[GEN_MAX_PARTS];
} gen_sum;

typedef struct gen_params {
	uint64_t seed;
	uint32_t departements, epci, communes, landlords;
	int filters; /* 1: mode columns also for collective and individual dwellings */
	int full;    /* 1: the ~80 column set; 0: a small set */
} gen_params;

typedef struct gen_table {
	gen_params p;
	size_t rows, cols, ncommunes, nepci, ndeps; /* rows: communes, EPCI, départements, région */
	gen_col col[GEN_MAX_COLS];
	gen_sum sum[GEN_MAX_SUMS]; /* column sums */
	size_t nsums;
	size_t link[GEN_MAX_SUMS][4]; /* rate, numerator, other denominator parts (SIZE_MAX: none) */
	int link_num_in_den[GEN_MAX_SUMS]; /* the numerator is also a denominator part */
	size_t nlinks;
	uint32_t *parent;  /* per row: parent row (commune -> EPCI -> département -> région) */
	uint32_t *count;   /* rows x landlords x cols: per-landlord counts (count columns) */
	uint32_t *pop;     /* rows x landlords x 3: dwellings, all / collective / individual */
	double *value;     /* rows x cols: true values */
	size_t dwellings;
} gen_table;

static inline size_t gen_add_col(gen_table *g, const char *name, uint8_t cls, int8_t a1, int8_t v1,
                                 int8_t a2, int8_t v2, int8_t filter)
{
	gen_col *c = &g->col[g->cols];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->cls = cls;
	c->additive = 1;
	c->cond[0][0] = a1, c->cond[0][1] = v1;
	c->cond[1][0] = a2, c->cond[1][1] = v2;
	c->cond[2][0] = GEN_ANY;
	if (filter >= 0)
		c->cond[2][0] = A_TYPE, c->cond[2][1] = filter;
	c->filter = filter;
	c->num = c->den[0] = c->den[1] = -1;
	return g->cols++;
}

static inline size_t gen_add_rate(gen_table *g, const char *name, uint8_t cls, size_t num,
                                  size_t den0, size_t den1, int8_t filter)
{
	size_t i = gen_add_col(g, name, cls, GEN_ANY, 0, GEN_ANY, 0, filter);
	g->col[i].additive = 0;
	g->col[i].num = (int16_t)num;
	g->col[i].den[0] = (int16_t)den0;
	g->col[i].den[1] = den1 == SIZE_MAX ? -1 : (int16_t)den1;
	size_t *l = g->link[g->nlinks];
	int in_den = den0 == num || den1 == num;
	g->link_num_in_den[g->nlinks++] = in_den;
	l[0] = i, l[1] = num;
	l[2] = den0 == num ? den1 : den0;
	l[3] = den0 == num || den1 == num ? SIZE_MAX : den1;
	return i;
}

/* Columns total = one column per value of attr (0..nvals-1), plus extra conditions. */
static inline void gen_add_group(gen_table *g, const char *prefix, uint8_t cls, size_t total,
                                 int8_t attr, int nvals, int8_t a2, int8_t v2, int8_t filter)
{
	gen_sum *s = &g->sum[g->nsums++];
	s->total = total;
	s->n = 0;
	for (int v = 0; v < nvals; v++) {
		char name[24];
		snprintf(name, sizeof(name), "%.12s%d", prefix, v % 100);
		s->parts[s->n++] = gen_add_col(g, name, cls, attr, (int8_t)v, a2, v2, filter);
	}
}

static inline void gen_columns(gen_table *g)
{
	const uint8_t PUB = DH_DISCLOSURE_PUBLIC_STRUCTURE, BUS = DH_DISCLOSURE_LANDLORD_BUSINESS,
	              HH = DH_DISCLOSURE_HOUSEHOLD;
	size_t nb = gen_add_col(g, "nb_ls", PUB, GEN_ANY, 0, GEN_ANY, 0, -1);
	gen_add_group(g, "mode", BUS, nb, A_MODE, 5, GEN_ANY, 0, -1); /* loues, vacants, ... */
	size_t loues = nb + 1, vacants = nb + 2;
	gen_add_rate(g, "tx_vac", BUS, vacants, loues, vacants, -1);
	gen_add_group(g, "pieces", PUB, nb, A_ROOMS, 5, GEN_ANY, 0, -1);
	size_t emm = gen_add_col(g, "emmenagements", HH, A_MOVEIN, 1, GEN_ANY, 0, -1);
	gen_add_group(g, "quartile", HH, emm, A_QUART, 4, A_MOVEIN, 1, -1);
	if (g->p.full) {
		gen_add_group(g, "dpe", PUB, nb, A_DPE, 8, GEN_ANY, 0, -1);
		gen_add_group(g, "ges", PUB, nb, A_GES, 8, GEN_ANY, 0, -1);
		gen_add_group(g, "age", PUB, nb, A_AGE, 6, GEN_ANY, 0, -1);
		gen_add_group(g, "financement", PUB, nb, A_FIN, 6, GEN_ANY, 0, -1);
		gen_add_group(g, "qpv", PUB, nb, A_QPV, 2, GEN_ANY, 0, -1);
		gen_add_group(g, "menage", HH, emm, A_HHSIZE, 5, A_MOVEIN, 1, -1);
		size_t baux = gen_add_col(g, "nouveaux_baux", BUS, A_NEWLEASE, 1, GEN_ANY, 0, -1);
		gen_add_rate(g, "tx_mob", BUS, baux, loues, vacants, -1);
	}
	if (g->p.filters) {
		size_t first_type = g->cols, start_of[2];
		gen_add_group(g, "type", PUB, nb, A_TYPE, 2, GEN_ANY, 0, -1); /* nb_coll, nb_ind */
		for (int8_t f = 0; f < 2; f++) {
			char prefix[16];
			snprintf(prefix, sizeof(prefix), "mode_%s", f ? "ind" : "coll");
			size_t start = start_of[f] = g->cols;
			gen_add_group(g, prefix, BUS, first_type + (size_t)f, A_MODE, 5, GEN_ANY, 0, f);
			gen_add_rate(g, f ? "tx_vac_ind" : "tx_vac_coll", BUS, start + 1, start,
			             start + 1, f);
			if (g->p.full) {
				snprintf(prefix, sizeof(prefix), "pieces_%s", f ? "ind" : "coll");
				gen_add_group(g, prefix, PUB, first_type + (size_t)f, A_ROOMS, 5, GEN_ANY, 0,
				              f);
			}
		}
		/* the filter as an additive dimension: all = collective + individual */
		size_t coll = start_of[0], ind = start_of[1];
		for (size_t m = 0; m < 5; m++) {
			gen_sum *s = &g->sum[g->nsums++];
			s->total = nb + 1 + m;
			s->n = 2;
			s->parts[0] = coll + m;
			s->parts[1] = ind + m;
		}
	}
}

/* Dwelling attributes, drawn for a commune of size class `size` and a landlord. */
static inline void gen_dwelling(dh_rng *r, int size, uint32_t vac_per_mille, int8_t *a)
{
	uint64_t u = dh_rng_below(r, 1000);
	a[A_MODE] = u < 1000 - vac_per_mille - 30 ? 0 : u < 1000 - 30 ? 1 : (int8_t)(2 + (u % 3));
	static const uint16_t rooms[] = { 100, 320, 670, 920, 1000 };
	static const uint16_t dpe[] = { 20, 70, 270, 620, 820, 900, 930, 1000 };
	static const uint16_t age[] = { 60, 130, 300, 600, 850, 1000 };
	static const uint16_t fin[] = { 120, 500, 800, 900, 940, 1000 };
	u = dh_rng_below(r, 1000);
	a[A_ROOMS] = 0;
	while (u >= rooms[a[A_ROOMS]])
		a[A_ROOMS]++;
	u = dh_rng_below(r, 1000);
	a[A_DPE] = 0;
	while (u >= dpe[a[A_DPE]])
		a[A_DPE]++;
	u = dh_rng_below(r, 1000);
	a[A_GES] = 0;
	while (u >= dpe[a[A_GES]])
		a[A_GES]++;
	u = dh_rng_below(r, 1000);
	a[A_AGE] = 0;
	while (u >= age[a[A_AGE]])
		a[A_AGE]++;
	u = dh_rng_below(r, 1000);
	a[A_FIN] = 0;
	while (u >= fin[a[A_FIN]])
		a[A_FIN]++;
	a[A_TYPE] = (int8_t)(dh_rng_below(r, 100) < (size == 0 ? 35u : size == 1 ? 60u : 85u) ? 0 : 1);
	a[A_QPV] = (int8_t)(size >= 2 && dh_rng_below(r, 100) < 30);
	a[A_MOVEIN] = (int8_t)(a[A_MODE] == 0 && dh_rng_below(r, 100) < 9);
	a[A_QUART] = (int8_t)dh_rng_below(r, 4);
	a[A_HHSIZE] = (int8_t)dh_rng_below(r, 5);
	a[A_NEWLEASE] = (int8_t)(a[A_MODE] == 0 && dh_rng_below(r, 100) < 8);
}

static inline int gen_match(const gen_col *c, const int8_t *a)
{
	for (int k = 0; k < 3; k++)
		if (c->cond[k][0] != GEN_ANY && a[c->cond[k][0]] != c->cond[k][1])
			return 0;
	return 1;
}

static inline void gen_free(gen_table *g)
{
	free(g->parent);
	free(g->count);
	free(g->pop);
	free(g->value);
	memset(g, 0, sizeof(*g));
}

/* Build the whole synthetic table. Returns 0, or -1 when out of memory. */
static inline int gen_build(gen_table *g, const gen_params *p)
{
	memset(g, 0, sizeof(*g));
	g->p = *p;
	gen_columns(g);
	g->ncommunes = p->communes;
	g->nepci = p->epci;
	g->ndeps = p->departements;
	g->rows = g->ncommunes + g->nepci + g->ndeps + 1;
	size_t L = p->landlords, R = g->rows, C = g->cols;
	g->parent = malloc(R * sizeof(uint32_t));
	g->count = calloc(R * L * C, sizeof(uint32_t));
	g->pop = calloc(R * L * 3, sizeof(uint32_t));
	g->value = calloc(R * C, sizeof(double));
	if (!g->parent || !g->count || !g->pop || !g->value) {
		gen_free(g);
		return -1;
	}
	size_t epci0 = g->ncommunes, dep0 = epci0 + g->nepci, region = dep0 + g->ndeps;
	for (size_t i = 0; i < g->ncommunes; i++) /* contiguous blocks */
		g->parent[i] = (uint32_t)(epci0 + i * g->nepci / g->ncommunes);
	for (size_t e = 0; e < g->nepci; e++)
		g->parent[epci0 + e] = (uint32_t)(dep0 + e * g->ndeps / g->nepci);
	for (size_t d = 0; d < g->ndeps; d++)
		g->parent[dep0 + d] = (uint32_t)region;
	g->parent[region] = UINT32_MAX;

	/* landlords: a few large ones everywhere, many local ones */
	uint32_t vac[64];
	for (size_t l = 0; l < L && l < 64; l++) {
		dh_rng r = dh_rng_derive(p->seed, 1000 + l);
		vac[l] = (uint32_t)dh_rng_range(&r, 10, 80); /* vacancy 1 % to 8 % */
	}
	int8_t a[A_COUNT];
	for (size_t i = 0; i < g->ncommunes; i++) {
		dh_rng r = dh_rng_derive(p->seed, i);
		uint64_t u = dh_rng_below(&r, 100);
		int size = u < 55 ? 0 : u < 85 ? 1 : u < 97 ? 2 : 3;
		static const int64_t lo[] = { 1, 30, 300, 2000 }, hi[] = { 30, 300, 2000, 6000 };
		static const int64_t lmin[] = { 1, 2, 3, 6 }, lmax[] = { 2, 4, 8, 16 };
		int64_t n = dh_rng_range(&r, lo[size], hi[size]);
		int64_t nl = dh_rng_range(&r, lmin[size], lmax[size]);
		if (size == 0 && dh_rng_below(&r, 100) < 70)
			nl = 1;
		if ((size_t)nl > L)
			nl = (int64_t)L;
		/* pick nl distinct landlords, the low-numbered (large) ones more often */
		uint32_t chosen[64], weight[64];
		int64_t got = 0;
		while (got < nl) {
			uint32_t l = (uint32_t)(dh_rng_below(&r, L) * dh_rng_below(&r, L) / L);
			int dup = 0;
			for (int64_t k = 0; k < got; k++)
				dup |= chosen[k] == l;
			if (!dup) {
				chosen[got] = l;
				weight[got] = (uint32_t)dh_rng_range(&r, 1, 10) * (got == 0 ? 4u : 1u);
				got++;
			}
		}
		uint32_t wsum = 0;
		for (int64_t k = 0; k < nl; k++)
			wsum += weight[k];
		for (int64_t d = 0; d < n; d++) {
			uint64_t w = dh_rng_below(&r, wsum);
			int64_t k = 0;
			while (w >= weight[k])
				w -= weight[k++];
			uint32_t l = chosen[k];
			gen_dwelling(&r, size, vac[l % 64], a);
			size_t rows[4] = { i, g->parent[i], g->parent[g->parent[i]], region };
			for (int h = 0; h < 4; h++) {
				uint32_t *cnt = g->count + (rows[h] * L + l) * C;
				for (size_t c = 0; c < C; c++)
					cnt[c] += g->col[c].additive && gen_match(&g->col[c], a);
				uint32_t *pp = g->pop + (rows[h] * L + l) * 3;
				pp[0]++;
				pp[1 + a[A_TYPE]]++;
			}
			g->dwellings++;
		}
	}
	for (size_t row = 0; row < R; row++) {
		for (size_t c = 0; c < C; c++) {
			const gen_col *col = &g->col[c];
			double v = 0;
			if (col->additive) {
				for (size_t l = 0; l < L; l++)
					v += g->count[(row * L + l) * C + c];
			} else {
				double num = 0, den = 0;
				for (size_t l = 0; l < L; l++) {
					const uint32_t *cnt = g->count + (row * L + l) * C;
					num += cnt[col->num];
					den += cnt[col->den[0]] + (col->den[1] >= 0 ? cnt[col->den[1]] : 0);
				}
				v = den > 0 ? num / den * 100.0 : 0.0;
			}
			g->value[row * C + c] = v;
		}
	}
	return 0;
}

/*
 * Fill a disclosure table with the columns cols[0..ncols-1] of g (table column j = g column
 * cols[j]) and declare the structure: row sums of the hierarchy, and every column sum and
 * rate whose members are all present. Rates are declared with dh_disclosure_table_add_col_rate
 * (numerator, denominator parts, exact), or, when legacy_links is 1, as the plain formula
 * links of dh_disclosure_table_add_col_link (the weaker protection, for the attack tests).
 */
static inline int gen_fill_rates(const gen_table *g, dh_disclosure_table *t, const size_t *cols,
                                 size_t ncols, int legacy_links)
{
	size_t L = g->p.landlords, C = g->cols;
	size_t map[GEN_MAX_COLS];
	for (size_t c = 0; c < C; c++)
		map[c] = SIZE_MAX;
	for (size_t j = 0; j < ncols; j++)
		map[cols[j]] = j;
	dh_disclosure_cell *cells = dh_disclosure_table_cells(t);
	for (size_t row = 0; row < g->rows; row++) {
		for (size_t j = 0; j < ncols; j++) {
			const gen_col *col = &g->col[cols[j]];
			dh_disclosure_cell *cell = &cells[row * ncols + j];
			memset(cell, 0, sizeof(*cell));
			cell->value = g->value[row * C + cols[j]];
			for (size_t l = 0; l < L; l++) {
				uint32_t pop = g->pop[(row * L + l) * 3 + (size_t)(col->filter + 1)];
				if (!pop)
					continue;
				const uint32_t *cnt = g->count + (row * L + l) * C;
				uint64_t units = col->additive ? cnt[cols[j]]
				                               : (uint64_t)cnt[col->den[0]] +
				                                         (col->den[1] >= 0 ? cnt[col->den[1]] : 0);
				dh_disclosure_cell_add(cell, units, (double)units);
			}
		}
	}
	for (size_t j = 0; j < ncols; j++)
		if (dh_disclosure_table_set_column(t, j, (dh_disclosure_class)g->col[cols[j]].cls,
		                                   g->col[cols[j]].additive) != DH_OK)
			return -1;
	/* hierarchy: each non-commune row is the sum of the rows whose parent it is */
	size_t *children = malloc(g->rows * sizeof(size_t));
	if (!children)
		return -1;
	for (size_t row = g->ncommunes; row < g->rows; row++) {
		size_t n = 0;
		for (size_t k = 0; k < g->rows; k++)
			if (g->parent[k] == row)
				children[n++] = k;
		if (n && dh_disclosure_table_add_row_sum(t, row, children, n, NULL) != DH_OK) {
			free(children);
			return -1;
		}
	}
	free(children);
	for (size_t s = 0; s < g->nsums; s++) {
		const gen_sum *sum = &g->sum[s];
		size_t parts[GEN_MAX_PARTS];
		int ok = map[sum->total] != SIZE_MAX;
		for (size_t k = 0; k < sum->n && ok; k++)
			ok = (parts[k] = map[sum->parts[k]]) != SIZE_MAX;
		if (ok && dh_disclosure_table_add_col_sum(t, map[sum->total], parts, sum->n, NULL))
			return -1;
	}
	for (size_t s = 0; s < g->nlinks; s++) {
		size_t lk[4], n = 0;
		int ok = 1;
		for (size_t k = 0; k < 4 && ok; k++) {
			if (g->link[s][k] == SIZE_MAX)
				continue;
			ok = (lk[n++] = map[g->link[s][k]]) != SIZE_MAX;
		}
		if (!ok)
			continue;
		if (legacy_links) {
			if (dh_disclosure_table_add_col_link(t, lk, n, NULL) != DH_OK)
				return -1;
			continue;
		}
		/* lk: rate, numerator, the other denominator parts */
		const gen_col *rc = &g->col[g->link[s][0]];
		size_t den[2], nden = 0;
		for (int k = 0; k < 2; k++)
			if (rc->den[k] >= 0)
				den[nden++] = map[rc->den[k]];
		if (dh_disclosure_table_add_col_rate(t, lk[0], &lk[1], 1, den, nden, 1, NULL) != DH_OK)
			return -1;
	}
	return 0;
}

static inline int gen_fill(const gen_table *g, dh_disclosure_table *t, const size_t *cols,
                           size_t ncols)
{
	return gen_fill_rates(g, t, cols, ncols, 0);
}

/* ---- the attacker ---- */

/* The equations known to the attacker, over cells of the full g table (row * g->cols + col).
 * kind 1, linear: mem[0] = sum of mem[1..]; kind 0 and 2, rate links: mem = rate, numerator,
 * other denominator parts, the numerator being itself a denominator part for kind 2
 * (tx_vac = vacants / (loues + vacants)). */
typedef struct gen_attack {
	size_t neq;
	int *linear; /* kind */
	size_t *off; /* neq + 1 */
	size_t *mem;
} gen_attack;

static inline void gen_attack_free(gen_attack *a)
{
	free(a->linear);
	free(a->off);
	free(a->mem);
	memset(a, 0, sizeof(*a));
}

/* Every equation an outsider knows about the full table, declared from the geography and
 * the indicator definitions (not from the library): sums at every level and across levels
 * (département = its communes, région = its EPCI...), column sums, rate formulas. */
static inline int gen_attack_equations(const gen_table *g, gen_attack *a)
{
	size_t C = g->cols, R = g->rows;
	size_t cap_eq = R * C * 4 + 16, cap_mem = R * C * 16 + 64;
	memset(a, 0, sizeof(*a));
	a->linear = malloc(cap_eq * sizeof(int));
	a->off = malloc((cap_eq + 1) * sizeof(size_t));
	a->mem = malloc(cap_mem * sizeof(size_t));
	if (!a->linear || !a->off || !a->mem)
		return -1;
	size_t m = 0;
	a->off[0] = 0;
#define GEN_PUSH(x)                                   \
	do {                                          \
		if (m == cap_mem)                     \
			return -1;                    \
		a->mem[m++] = (x);                    \
	} while (0)
	/* ancestors at each distance: a row is the sum of its descendants at depth d */
	for (size_t top = g->ncommunes; top < R; top++) {
		for (int depth = 1; depth <= 3; depth++) {
			size_t members_before = m;
			for (size_t c = 0; c < C; c++) {
				if (!g->col[c].additive)
					continue;
				size_t start = m;
				GEN_PUSH(top * C + c);
				for (size_t k = 0; k < R; k++) {
					size_t anc = k;
					int d = 0;
					while (d < depth && anc != SIZE_MAX)
						anc = g->parent[anc] == UINT32_MAX ? SIZE_MAX : g->parent[anc], d++;
					/* k is a descendant at exactly `depth` levels, and a leaf-or-level row */
					if (anc == top && d == depth)
						GEN_PUSH(k * C + c);
				}
				if (m - start < 2) {
					m = start;
					continue;
				}
				if (a->neq == cap_eq)
					return -1;
				a->linear[a->neq] = 1;
				a->off[++a->neq] = m;
			}
			(void)members_before;
		}
	}
	for (size_t row = 0; row < R; row++) {
		for (size_t s = 0; s < g->nsums; s++) {
			GEN_PUSH(row * C + g->sum[s].total);
			for (size_t k = 0; k < g->sum[s].n; k++)
				GEN_PUSH(row * C + g->sum[s].parts[k]);
			if (a->neq == cap_eq)
				return -1;
			a->linear[a->neq] = 1;
			a->off[++a->neq] = m;
		}
		for (size_t s = 0; s < g->nlinks; s++) {
			for (size_t k = 0; k < 4; k++)
				if (g->link[s][k] != SIZE_MAX)
					GEN_PUSH(row * C + g->link[s][k]);
			if (a->neq == cap_eq)
				return -1;
			a->linear[a->neq] = g->link_num_in_den[s] ? 2 : 0;
			a->off[++a->neq] = m;
		}
	}
#undef GEN_PUSH
	return 0;
}

/*
 * Iterated differencing: while an equation has exactly one unknown member, compute it from
 * the others (parent minus children, margin minus components, rate formula inverted) and
 * mark it known, so it can unlock others. known[] (one per cell of g) is updated in place.
 * Returns the number of cells hidden[] = 1 whose value was recovered exactly.
 */
static inline size_t gen_attack_differencing(const gen_table *g, const gen_attack *a,
                                             uint8_t *known, const uint8_t *hidden)
{
	size_t recovered = 0;
	int changed = 1;
	while (changed) {
		changed = 0;
		for (size_t e = 0; e < a->neq; e++) {
			const size_t *mem = a->mem + a->off[e];
			size_t n = a->off[e + 1] - a->off[e], unknown = 0, which = 0;
			for (size_t k = 0; k < n; k++)
				if (!known[mem[k]])
					unknown++, which = k;
			if (unknown != 1)
				continue;
			double est;
			if (a->linear[e] == 1) {
				double parts = 0;
				for (size_t k = 1; k < n; k++)
					if (k != which)
						parts += g->value[mem[k]];
				est = which == 0 ? parts : g->value[mem[0]] - parts;
			} else {
				/* rate = num / (other parts [+ num]) * 100, solved for the unknown */
				int in_den = a->linear[e] == 2;
				double rate = g->value[mem[0]], num = g->value[mem[1]], others = 0;
				for (size_t k = 2; k < n; k++)
					if (k != which)
						others += g->value[mem[k]];
				if (which == 0) {
					double den = others + (in_den ? num : 0);
					est = den > 0 ? num / den * 100.0 : 0.0;
				} else if (which == 1) {
					if (in_den && rate >= 100.0)
						continue; /* every dwelling vacant: the count is not given */
					est = in_den ? rate * others / (100.0 - rate) : rate * others / 100.0;
				} else if (rate > 0) {
					est = num * 100.0 / rate - others - (in_den ? num : 0);
				} else {
					continue; /* a zero rate says nothing about the denominator */
				}
			}
			known[mem[which]] = 1;
			changed = 1;
			if (hidden[mem[which]] && fabs(est - g->value[mem[which]]) < 1e-6)
				recovered++;
		}
	}
	return recovered;
}

/*
 * The rate attacker: for every published rate whose numerator is not known, derive its
 * denominator from published linear relations (its parts all known, or a column sum holding
 * them all with its total and other parts known: loues + vacants = nb_ls - vides - asso -
 * autres), then numerator = rate x denominator; differencing runs again on what it gives,
 * to a fixpoint. known[] is updated in place. Returns the hidden cells recovered exactly.
 */
static inline size_t gen_attack_rates(const gen_table *g, const gen_attack *a, uint8_t *known,
                                      const uint8_t *hidden)
{
	size_t C = g->cols, recovered = gen_attack_differencing(g, a, known, hidden);
	int changed = 1;
	while (changed) {
		changed = 0;
		for (size_t row = 0; row < g->rows; row++) {
			for (size_t s = 0; s < g->nlinks; s++) {
				const gen_col *rc = &g->col[g->link[s][0]];
				size_t rate = row * C + g->link[s][0], num = row * C + (size_t)rc->num;
				if (!known[rate] || known[num])
					continue;
				size_t dc[2], nd = 0;
				for (int k = 0; k < 2; k++)
					if (rc->den[k] >= 0)
						dc[nd++] = (size_t)rc->den[k];
				double den = 0;
				int got = 1;
				for (size_t k = 0; k < nd; k++) {
					got &= known[row * C + dc[k]];
					den += g->value[row * C + dc[k]];
				}
				for (size_t m = 0; m < g->nsums && !got; m++) {
					const gen_sum *sm = &g->sum[m];
					size_t inside = 0;
					for (size_t k = 0; k < sm->n; k++)
						for (size_t q = 0; q < nd; q++)
							inside += sm->parts[k] == dc[q];
					if (inside != nd || !known[row * C + sm->total])
						continue;
					double rest = g->value[row * C + sm->total];
					int ok = 1;
					for (size_t k = 0; k < sm->n && ok; k++) {
						int in_den = 0;
						for (size_t q = 0; q < nd; q++)
							in_den |= sm->parts[k] == dc[q];
						if (in_den)
							continue;
						ok = known[row * C + sm->parts[k]];
						rest -= g->value[row * C + sm->parts[k]];
					}
					if (ok)
						den = rest, got = 1;
				}
				if (!got)
					continue;
				double est = g->value[rate] * den / 100.0;
				known[num] = 1;
				changed = 1;
				if (hidden[num] && fabs(est - g->value[num]) < 1e-6)
					recovered++;
			}
		}
		if (changed)
			recovered += gen_attack_differencing(g, a, known, hidden);
	}
	return recovered;
}

/*
 * Gaussian elimination (doubles, partial pivoting) over the linear equations restricted to
 * the unknown cells, and the rate formulas whose rate is known, linearised
 * (num - rate x den = 0); a cell is determined when a row of the reduced form is its unit vector.
 * Determined cells become known, rate links with a single unknown member too, and the
 * whole repeats. Returns the number of hidden cells determined; -1 if too large.
 */
static inline long gen_attack_gauss(const gen_table *g, const gen_attack *a, uint8_t *known,
                                    const uint8_t *hidden, size_t max_unknowns)
{
	size_t ncells = g->rows * g->cols;
	size_t *col_of = malloc(ncells * sizeof(size_t));
	size_t *cells = malloc(ncells * sizeof(size_t));
	if (!col_of || !cells) {
		free(col_of);
		free(cells);
		return -1;
	}
	long determined = 0;
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < ncells; i++) {
			col_of[i] = SIZE_MAX;
			if (!known[i])
				col_of[i] = n, cells[n++] = i;
		}
		if (n == 0 || n > max_unknowns)
			break;
		size_t rows = 0;
		double *mat = calloc(a->neq * n, sizeof(double));
		if (!mat) {
			determined = -1;
			break;
		}
		for (size_t e = 0; e < a->neq; e++) {
			double *row = mat + rows * n;
			int any = 0;
			if (a->linear[e] != 1) {
				/* a known rate is a linear equation on its terms: num - rate/100 x den = 0,
				 * i.e. (1 - r) num - r x other parts when num is a denominator part too */
				if (!known[a->mem[a->off[e]]])
					continue;
				double r = g->value[a->mem[a->off[e]]] / 100.0;
				for (size_t k = a->off[e] + 1; k < a->off[e + 1]; k++) {
					size_t c = col_of[a->mem[k]];
					if (c == SIZE_MAX)
						continue;
					int is_num = k == a->off[e] + 1;
					row[c] = is_num ? (a->linear[e] == 2 ? 1.0 - r : 1.0) : -r;
					any = 1;
				}
				rows += any;
				continue;
			}
			for (size_t k = a->off[e]; k < a->off[e + 1]; k++) {
				size_t c = col_of[a->mem[k]];
				if (c != SIZE_MAX)
					row[c] = k == a->off[e] ? 1.0 : -1.0, any = 1;
			}
			rows += any;
		}
		size_t rank = 0;
		size_t *pivcol = malloc((n + 1) * sizeof(size_t));
		for (size_t c = 0; c < n && rank < rows && pivcol; c++) {
			size_t best = rank;
			for (size_t r = rank; r < rows; r++)
				if (fabs(mat[r * n + c]) > fabs(mat[best * n + c]))
					best = r;
			if (fabs(mat[best * n + c]) < 1e-9)
				continue;
			for (size_t k = 0; k < n; k++) {
				double tmp = mat[rank * n + k];
				mat[rank * n + k] = mat[best * n + k];
				mat[best * n + k] = tmp;
			}
			double pv = mat[rank * n + c];
			for (size_t k = 0; k < n; k++)
				mat[rank * n + k] /= pv;
			for (size_t r = 0; r < rows; r++) {
				if (r == rank || fabs(mat[r * n + c]) < 1e-12)
					continue;
				double f = mat[r * n + c];
				for (size_t k = 0; k < n; k++)
					mat[r * n + k] -= f * mat[rank * n + k];
			}
			pivcol[rank++] = c;
		}
		size_t found = 0;
		for (size_t r = 0; r < rank && pivcol; r++) {
			size_t nz = 0;
			for (size_t k = 0; k < n; k++)
				nz += fabs(mat[r * n + k]) > 1e-9;
			if (nz == 1) {
				known[cells[pivcol[r]]] = 1;
				determined += hidden[cells[pivcol[r]]];
				found++;
			}
		}
		free(pivcol);
		free(mat);
		for (size_t e = 0; e < a->neq; e++) {
			if (a->linear[e] == 1)
				continue;
			size_t unknown = 0, last = 0;
			for (size_t k = a->off[e]; k < a->off[e + 1]; k++)
				if (!known[a->mem[k]])
					unknown++, last = a->mem[k];
			if (unknown == 1) {
				known[last] = 1;
				determined += hidden[last];
				found++;
			}
		}
		if (!found)
			break;
	}
	free(col_of);
	free(cells);
	return determined;
}

#endif
