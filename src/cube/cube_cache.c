/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_cache.c - what the cube computes once when it is built, for every later query: the
 * per-row codes of the date-independent part of the default plan (cube->cache) and the
 * bitmaps of the registry's date-independent predicates with their word sums (cube->bits);
 * and the matching of a new plan against those cached tables.
 */
#include "cube/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- static cache */

/* Does cache entry e hold exactly the static fields of fs[0..n) with these tables? */
static int cache_matches(const cube_cache_entry *e, const kfield *const *fs, int n, int is_mask)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		const kfield *f = fs[i];
		if (dim_relative(f->dim))
			continue;
		if (k >= e->n || e->dims[k] != f->dim || e->domains[k] != f->domain)
			return 0;
		if (is_mask ? memcmp(e->luts[k], f->flut, f->domain) != 0
			    : memcmp(e->luts[k], f->lut, f->domain * sizeof(uint16_t)) != 0)
			return 0;
		k++;
	}
	return k == e->n && k > 0;
}

/* Use the cube's cached static codes where the plan's tables are the cached ones. */
void dh__cache_attach(plan *p)
{
	const cube_cache *cc = &p->cube->cache;
	for (int m = 0; m < p->nmasks; m++) {
		rowmask *rm = &p->masks[m];
		rm->static_bit = -1;
		for (int e = 0; e < cc->nmasks && rm->static_bit < 0; e++)
			if (cache_matches(&cc->masks[e], rm->f, rm->n, 1))
				rm->static_bit = cc->masks[e].bit;
		rm->ndyn = 0;
		for (int f = 0; f < rm->n; f++)
			if (rm->static_bit < 0 || dim_relative(rm->f[f]->dim))
				rm->dyn[rm->ndyn++] = rm->f[f];
	}
	for (int l = 0; l < p->nlive; l++) {
		ckey *k = &p->keys[p->live[l]];
		k->static_col = NULL;
		for (int e = 0; e < cc->nkeys && !k->static_col; e++)
			if (cache_matches(&cc->keys[e], (const kfield *const *)k->idx, k->nidx, 0))
				k->static_col = cc->keys[e].col;
		k->ndyn = 0;
		for (int f = 0; f < k->nidx; f++)
			if (!k->static_col || dim_relative(k->idx[f]->dim))
				k->dyn[k->ndyn++] = k->idx[f];
	}
}

static void cache_entry_free(cube_cache_entry *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->luts[i]);
	free(e->col);
	memset(e, 0, sizeof(*e));
}

void dh__cube_cache_free(cube_cache *cache)
{
	for (int i = 0; i < cache->nkeys; i++)
		cache_entry_free(&cache->keys[i]);
	for (int i = 0; i < cache->nmasks; i++)
		cache_entry_free(&cache->masks[i]);
	free(cache->mask_bits);
	memset(cache, 0, sizeof(*cache));
}

/* Copy the static fields' tables of fs[0..n) into e; 0 when there are none. */
static int cache_entry_init(cube_cache_entry *e, const kfield *const *fs, int n, int is_mask)
{
	memset(e, 0, sizeof(*e));
	for (int i = 0; i < n; i++) {
		const kfield *f = fs[i];
		if (dim_relative(f->dim))
			continue;
		size_t bytes = is_mask ? f->domain : f->domain * sizeof(uint16_t);
		e->luts[e->n] = malloc(bytes);
		if (!e->luts[e->n])
			return -1;
		memcpy(e->luts[e->n], is_mask ? (const void *)f->flut : (const void *)f->lut, bytes);
		e->dims[e->n] = f->dim;
		e->domains[e->n] = f->domain;
		e->n++;
	}
	return e->n;
}

/* The cube columns of e's fields, and whether each holds 16-bit codes. */
static void cache_entry_columns(const dh_cube *cube, const cube_cache_entry *e,
				const void **cols, int *wide)
{
	for (int f = 0; f < e->n; f++) {
		uint32_t dom;
		dh__dim_column(cube, e->dims[f], &cols[f], &wide[f], &dom);
	}
}

/* ---------------------------------------------------------------- static bitmaps */

void dh__cube_bits_free(cube_bits *bits)
{
	free(bits->words);
	free(bits->sum_rent);
	free(bits->sum_surf);
	free(bits->sum_construct);
	memset(bits, 0, sizeof(*bits));
}

/* Bitmaps of the date-independent predicates of p's terms, and the word sums. */
static int bits_build(dh_cube *cube, const plan *p)
{
	cube_bits *cb = &cube->bits;
	size_t n = cube->nrows, nw = (n + 63) / 64;
	memset(cb, 0, sizeof(*cb));
	cb->nwords = nw;
	for (size_t t = 0; t < 2 * p->ncols; t++) {
		const dh_term *term = p->terms[t].term;
		if (term->measure == DH_MEASURE_NONE)
			continue;
		for (int i = 0; i < term_npreds(term); i++) {
			const dh_predicate *pr = &term->where[i];
			if (dim_relative(pr->dim))
				continue;
			int seen = 0;
			for (int k = 0; k < cb->n && !seen; k++)
				seen = pred_equal(&cb->preds[k], pr);
			if (!seen && cb->n < CUBE_BITS_MAX)
				cb->preds[cb->n++] = *pr;
		}
	}
	cb->words = calloc((size_t)cb->n * nw + 1, sizeof(uint64_t));
	cb->sum_rent = calloc(nw + 1, sizeof(uint64_t));
	cb->sum_surf = calloc(nw + 1, sizeof(uint64_t));
	cb->sum_construct = calloc(nw + 1, sizeof(uint64_t));
	if (!cb->words || !cb->sum_rent || !cb->sum_surf || !cb->sum_construct) {
		dh__cube_bits_free(cb);
		return DH_NOMEM;
	}
	for (int k = 0; k < cb->n; k++) {
		const dh_predicate *pr = &cb->preds[k];
		const void *col;
		int wide;
		uint32_t domain;
		dh__dim_column(cube, pr->dim, &col, &wide, &domain);
		uint8_t *lut = malloc(domain ? domain : 1);
		if (!lut) {
			dh__cube_bits_free(cb);
			return DH_NOMEM;
		}
		dh__pred_lut(p, pr, 0, lut, domain);
		uint64_t *w = cb->words + (size_t)k * nw;
		for (size_t i = 0; i < n; i++) {
			uint32_t x = column_code(col, wide, i);
			w[i / 64] |= (uint64_t)lut[x] << (i % 64);
		}
		free(lut);
	}
	for (size_t i = 0; i < n; i++) {
		cb->sum_rent[i / 64] += cube->rent[i];
		cb->sum_surf[i / 64] += cube->surf[i];
		cb->sum_construct[i / 64] += cube->construct[i];
	}
	cube->memory += ((size_t)cb->n + 3) * nw * sizeof(uint64_t);
	return DH_OK;
}

int dh__cube_cache_build(dh_cube *cube)
{
	cube_cache *cc = &cube->cache;
	memset(cc, 0, sizeof(*cc));
	plan *p = NULL;
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = 20250101 };
	if (dh__plan_build(cube, &q, 1, &p, NULL) != DH_OK)
		return DH_NOMEM;
	size_t n = cube->nrows;
	int rc = DH_OK;
	for (int m = 0; m < p->nmasks && cc->nmasks < 8; m++) {
		cube_cache_entry *e = &cc->masks[cc->nmasks];
		int k = cache_entry_init(e, p->masks[m].f, p->masks[m].n, 1);
		if (k < 0) {
			cache_entry_free(e);
			rc = DH_NOMEM;
			goto done;
		}
		if (k == 0)
			continue;
		e->bit = cc->nmasks++;
	}
	if (cc->nmasks) {
		cc->mask_bits = calloc(n + CUBE_PAD, 1);
		if (!cc->mask_bits) {
			rc = DH_NOMEM;
			goto done;
		}
		for (int m = 0; m < cc->nmasks; m++) {
			const cube_cache_entry *e = &cc->masks[m];
			const void *cols[CUBE_CACHE_FIELDS];
			int wide[CUBE_CACHE_FIELDS];
			cache_entry_columns(cube, e, cols, wide);
			for (size_t i = 0; i < n; i++) {
				unsigned ok = 1;
				for (int f = 0; f < e->n; f++) {
					uint32_t x = column_code(cols[f], wide[f], i);
					ok &= ((const uint8_t *)e->luts[f])[x];
				}
				cc->mask_bits[i] |= (uint8_t)(ok << e->bit);
			}
		}
	}
	for (int l = 0; l < p->nlive && cc->nkeys < CUBE_CACHE_MAX; l++) {
		const ckey *k = &p->keys[p->live[l]];
		if (k->nbins > 256)
			continue;
		cube_cache_entry *e = &cc->keys[cc->nkeys];
		int nf = cache_entry_init(e, (const kfield *const *)k->idx, k->nidx, 0);
		if (nf < 0) {
			cache_entry_free(e);
			rc = DH_NOMEM;
			goto done;
		}
		if (nf == 0)
			continue;
		cc->nkeys++;
		e->col = calloc(n + CUBE_PAD, 1);
		if (!e->col) {
			rc = DH_NOMEM;
			goto done;
		}
		const void *cols[CUBE_CACHE_FIELDS];
		int wide[CUBE_CACHE_FIELDS];
		cache_entry_columns(cube, e, cols, wide);
		for (size_t i = 0; i < n; i++) {
			unsigned v = 0;
			for (int f = 0; f < e->n; f++) {
				uint32_t x = column_code(cols[f], wide[f], i);
				v += ((const uint16_t *)e->luts[f])[x];
			}
			e->col[i] = (uint8_t)v;
		}
	}
	cube->memory += (cc->nmasks ? n : 0) + (size_t)cc->nkeys * n;
	rc = bits_build(cube, p);
done:
	dh__plan_free(p);
	if (rc != DH_OK)
		dh__cube_cache_free(cc);
	return rc;
}
