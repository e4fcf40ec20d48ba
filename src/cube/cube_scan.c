/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_scan.c - the counter scan: a chunk of rows at a time, validity and row masks, then
 * one counter per key and row (the QPV and landlord levels, the filtered whole cube), and
 * the indicator values from the counters. Hot loop: compiled with -O3 (Makefile).
 */
#include "cube/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- scan */

#define CHUNK 256

/* Per-thread working space of scan(): one chunk of rows, column at a time. */
typedef struct scratch {
	uint8_t valid[2][CHUNK];
	uint8_t mask[MAX_KEYS][CHUNK];
	uint32_t idx[MAX_KEYS][CHUNK];
	uint32_t base[CHUNK];
} scratch;

/* out[j] += lut[col[i0 + j]], for a byte or 16-bit column. */
static void gather16(uint32_t *restrict out, const kfield *f, size_t i0, size_t n)
{
	const uint16_t *lut = f->lut;
	if (f->wide) {
		const uint16_t *col = (const uint16_t *)f->col + i0;
		for (size_t j = 0; j < n; j++)
			out[j] += lut[col[j]];
	} else {
		const uint8_t *col = (const uint8_t *)f->col + i0;
		for (size_t j = 0; j < n; j++)
			out[j] += lut[col[j]];
	}
}

static void mask8(uint8_t *restrict out, const void *colv, int wide, const uint8_t *restrict lut,
		  size_t i0, size_t n)
{
	if (wide) {
		const uint16_t *col = (const uint16_t *)colv + i0;
		for (size_t j = 0; j < n; j++)
			out[j] &= lut[col[j]];
	} else {
		const uint8_t *col = (const uint8_t *)colv + i0;
		for (size_t j = 0; j < n; j++)
			out[j] &= lut[col[j]];
	}
}

/* Loops over a multiple of 16 rows with a constant inner trip count, so that compilers
 * vectorise them at -O2; the columns are padded (CUBE_PAD) so reading past a range is safe. */
#define FOR16(j, len) \
	for (size_t j##b_ = 0; j##b_ < (len); j##b_ += 16) \
		for (size_t j = j##b_; j < j##b_ + 16; j++)

/* The helpers below take restrict pointers: without them gcc -O2 (whose cost model refuses
 * run-time alias checks) leaves these loops scalar. */

/* out[j] = row valid at epoch e, for len rows (a multiple of 16). */
static void valid_rows(uint8_t *restrict out, const uint16_t *restrict lo,
		       const uint16_t *restrict span, uint16_t e, size_t len)
{
	FOR16(j, len)
		out[j] = (uint8_t)((uint16_t)(e - lo[j]) <= span[j]);
}

/* out[j] = v[j] & bit `bit` of bits[j]. */
static void mask_static(uint8_t *restrict out, const uint8_t *restrict v,
			const uint8_t *restrict bits, int bit, size_t len)
{
	FOR16(j, len)
		out[j] = v[j] & (uint8_t)((bits[j] >> bit) & 1u);
}

/* idx[j] = off + sc[j] (+ base[j] when base is not NULL). */
static void index_static(uint32_t *restrict idx, const uint8_t *restrict sc,
			 const uint32_t *restrict base, uint32_t off, size_t len)
{
	if (base)
		FOR16(j, len)
			idx[j] = base[j] + off + sc[j];
	else
		FOR16(j, len)
			idx[j] = off + sc[j];
}

static uint32_t count_bytes(const uint8_t *restrict m, size_t len)
{
	uint32_t cnt = 0;
	FOR16(j, len)
		cnt += m[j];
	return cnt;
}

/* Sum of sum column s of key k over the rows of the chunk its mask keeps (mask is 0 past
 * the rows of the chunk; len is a multiple of 16). */
static int64_t masked_sum(const plan *p, const ckey *k, int s, const uint8_t *m, size_t i0, size_t len)
{
	const dh_cube *c = p->cube;
	uint64_t a = 0;
	if (k->sums[s] == DH_DIM_LOYERPRINC || k->sums[s] == DH_DIM_SURFHAB) {
		const uint32_t *v = (k->sums[s] == DH_DIM_LOYERPRINC ? c->rent : c->surf) + i0;
		FOR16(j, len)
			a += v[j] & (0u - (uint32_t)m[j]);
		return (int64_t)a;
	}
	const uint16_t *v = c->construct + i0;
	const int32_t *age = p->age[k->shift];
	int64_t sa = 0;
	for (size_t j = 0; j < len; j++)
		sa += m[j] ? age[v[j]] : 0;
	return sa;
}

/* acc[idx[j]] += value of sum column s for the rows the mask keeps. */
static void scatter_sum(const plan *p, const ckey *k, int s, const uint8_t *m, const uint32_t *idx,
			int64_t *acc, size_t i0, size_t n)
{
	const dh_cube *c = p->cube;
	if (k->sums[s] == DH_DIM_LOYERPRINC || k->sums[s] == DH_DIM_SURFHAB) {
		const uint32_t *v = (k->sums[s] == DH_DIM_LOYERPRINC ? c->rent : c->surf) + i0;
		for (size_t j = 0; j < n; j++)
			acc[idx[j]] += m[j] ? (int64_t)v[j] : 0;
	} else {
		const uint16_t *v = c->construct + i0;
		const int32_t *age = p->age[k->shift];
		for (size_t j = 0; j < n; j++)
			acc[idx[j]] += m[j] ? age[v[j]] : 0;
	}
}

/*
 * Add rows [a, b) to the accumulators: to blocks (one block) when gid is NULL, else to
 * blocks + group * block for group = gid_map[gid[i]] (rows of NO_GROUP are skipped).
 * Works a chunk of rows at a time: validity and masks, then the counter index of every key,
 * then one pass that increments the counters (the only per-row scattered writes).
 */
static void scan(const plan *p, scratch *w, size_t a, size_t b, int64_t *blocks,
		 const uint16_t *gid, const uint32_t *gid_map)
{
	const dh_cube *c = p->cube;
	const int nlive = p->nlive;
	for (size_t i0 = a; i0 < b; i0 += CHUNK) {
		size_t n = b - i0 < CHUNK ? b - i0 : CHUNK;
		size_t len = (n + 15) & ~(size_t)15;
		const uint16_t *lo = c->valid_lo + i0, *span = c->valid_span + i0;
		uint16_t e0 = p->e0, e1 = p->e1;
		uint8_t *v0 = w->valid[0], *v1 = w->valid[1];
		valid_rows(v0, lo, span, e0, len);
		if (p->need_prev)
			valid_rows(v1, lo, span, e1, len);
		for (size_t j = n; j < len; j++)
			v0[j] = v1[j] = 0;
		unsigned any = 0;
		FOR16(j, len)
			any |= v0[j] | (p->need_prev ? v1[j] : 0u);
		if (!any)
			continue;
		for (int f = 0; f < p->nfilters; f++)
			for (int s = 0; s <= p->need_prev; s++)
				mask8(w->valid[s], p->filters[f].col, p->filters[f].wide, p->filters[f].lut,
				      i0, n);
		if (gid) {
			for (size_t j = 0; j < n; j++) {
				uint32_t g = gid_map[gid[i0 + j]];
				uint8_t keep = g != NO_GROUP;
				w->base[j] = keep ? g * p->block : 0;
				v0[j] &= keep;
				if (p->need_prev)
					v1[j] &= keep;
			}
			for (size_t j = n; j < len; j++)
				w->base[j] = 0;
		}
		for (int m = 0; m < p->nmasks; m++) {
			const rowmask *rm = &p->masks[m];
			uint8_t *mk = w->mask[m];
			const uint8_t *v = w->valid[rm->shift];
			if (rm->static_bit >= 0) {
				mask_static(mk, v, c->cache.mask_bits + i0, rm->static_bit, len);
			} else {
				memcpy(mk, v, len);
			}
			for (int f = 0; f < rm->ndyn; f++)
				mask8(mk, rm->dyn[f]->col, rm->dyn[f]->wide, rm->dyn[f]->flut, i0, n);
		}
		/* Keys with a single bin and no group index only count their mask. */
		const uint8_t *mk[MAX_KEYS];
		const uint32_t *ix[MAX_KEYS];
		int nscatter = 0;
		for (int l = 0; l < nlive; l++) {
			const ckey *k = &p->keys[p->live[l]];
			const uint8_t *m = w->mask[k->mask];
			if (k->nbins == 1 && !gid) {
				blocks[k->off] += count_bytes(m, len);
				for (int s = 0; s < k->nsums; s++)
					blocks[k->off + 1u + (uint32_t)s] += masked_sum(p, k, s, m, i0, len);
				continue;
			}
			uint32_t *idx = w->idx[l];
			uint32_t off = k->off;
			if (k->static_col) {
				index_static(idx, k->static_col + i0, gid ? w->base : NULL, off, len);
			} else if (gid) {
				FOR16(j, len)
					idx[j] = w->base[j] + off;
			} else {
				FOR16(j, len)
					idx[j] = off;
			}
			for (int f = 0; f < k->ndyn; f++)
				gather16(idx, k->dyn[f], i0, n);
			mk[nscatter] = m;
			ix[nscatter++] = idx;
			for (int s = 0; s < k->nsums; s++)
				scatter_sum(p, k, s, m, idx, blocks + k->nbins * (1u + (uint32_t)s), i0, n);
		}
		/* the only scattered writes: one counter per key and row, keys interleaved so
		 * that consecutive increments of one counter do not wait for each other */
		for (size_t j = 0; j < n; j++)
			for (int l = 0; l < nscatter; l++)
				blocks[ix[l][j]] += mk[l][j];
	}
}

/* Rows [a, b) of plan p into blocks (see scan()), with working space of its own. */
int dh__scan(const plan *p, size_t a, size_t b, int64_t *blocks, const uint16_t *gid,
	     const uint32_t *gid_map)
{
	scratch *w = malloc(sizeof(*w));
	if (!w)
		return DH_NOMEM;
	scan(p, w, a, b, blocks, gid, gid_map);
	free(w);
	return DH_OK;
}

static double term_value(const tref *t, const int64_t *blk)
{
	int64_t s = 0;
	for (uint32_t i = 0; i < t->nslots; i++)
		s += blk[t->slots[i]];
	return (double)s * t->scale;
}

void dh__finalize(const plan *p, const int64_t *blk, double *row)
{
	for (size_t j = 0; j < p->ncols; j++) {
		const dh_indicator *ind = p->cols[j];
		double num = term_value(&p->terms[2 * j], blk);
		double den = p->terms[2 * j + 1].key >= 0 ? term_value(&p->terms[2 * j + 1], blk) : 0;
		row[j] = indicator_combine(ind->kind, num, den);
	}
}

