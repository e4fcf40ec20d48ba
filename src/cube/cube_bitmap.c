/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_bitmap.c - the bitmap engine of the geographic levels, the per-date commune counters
 * and the commune x landlord split: a query's terms compiled into AND chains over per-row
 * bit sources, then counted 64 rows at a time. Hot loop: compiled with -O3 (Makefile).
 */
#include "cube/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- bitmap engine */

/*
 * The engine of the geographic levels and of the per-date commune counters. Every distinct
 * predicate of the query (with its year shift for the relative dimensions) is a *source*
 * of one bit per row: the cube's static bitmaps for the registry's date-independent
 * predicates (cube->bits), or computed per 64-row word for the date (validity at the
 * reference date and one year before, ranges of AGE, LOCAT_YEARS, BAIL_MONTHS,
 * REMLOC_MONTHS as ranges of the raw year / month column, any other predicate through a
 * 0/1 table). Each distinct term is a conjunction of sources, evaluated as a chain of
 * ANDs shared by the terms with the same leading sources (a trie of *nodes*); a count is a
 * popcount, a sum adds the column over the set bits (or subtracts the clear ones from the
 * word's total when the mask is dense). Everything is exact integer arithmetic: the terms
 * equal those of scan() bit for bit.
 */

void dh__bitplan_free(bitplan *bp)
{
	if (!bp)
		return;
	for (int i = 0; i < bp->nsrc; i++)
		free(bp->src[i].lut);
	free(bp->terms);
	free(bp->tid);
	free(bp->scale);
	free(bp);
}

static const dh_predicate construct_present = { DH_DIM_CONSTRUCT, DH_OP_PRESENT, NULL, 0, 0 };

/* Source index of predicate pr at year shift `shift` (created when new), or -1 when full. */
static int bsrc_get(bitplan *bp, const plan *p, const dh_predicate *pr, int shift)
{
	const dh_cube *c = bp->cube;
	int rel = dim_relative(pr->dim);
	if (!rel)
		shift = 0;
	for (int i = 0; i < bp->nsrc; i++) {
		const bsrc *s = &bp->src[i];
		if (s->pr && s->shift == shift && pred_equal(s->pr, pr))
			return i;
	}
	if (bp->nsrc == MAX_BSRC)
		return -1;
	bsrc *s = &bp->src[bp->nsrc];
	memset(s, 0, sizeof(*s));
	s->pr = pr;
	s->shift = shift;
	uint32_t domain;
	dh__dim_column(c, pr->dim, &s->col, &s->wide, &domain);
	if (!rel) {
		for (int k = 0; k < c->bits.n; k++)
			if (pred_equal(&c->bits.preds[k], pr)) {
				s->kind = SRC_STATIC;
				s->words = c->bits.words + (size_t)k * c->bits.nwords;
				return bp->nsrc++;
			}
	}
	if (rel && pr->op != DH_OP_IN && pr->op != DH_OP_NOT_IN) {
		/* value = base - x for x != 0: a range of x */
		int64_t base = pr->dim == DH_DIM_AGE || pr->dim == DH_DIM_LOCAT_YEARS
				       ? p->year[shift] : p->month[shift];
		int64_t lo = 1, hi = 65535;
		if (pr->op == DH_OP_RANGE) {
			lo = base - pr->hi;
			hi = base - pr->lo;
		} else if (pr->op == DH_OP_ABSENT) {
			lo = hi = 0;
		}
		if (pr->op != DH_OP_ABSENT && lo < 1)
			lo = 1;
		if (hi > 65535)
			hi = 65535;
		s->kind = lo > hi ? SRC_ZERO : SRC_RANGE;
		if (lo <= hi) {
			s->lo = (uint16_t)lo;
			s->span = (uint16_t)(hi - lo);
		}
		return bp->nsrc++;
	}
	s->kind = SRC_LUT;
	s->lut = malloc(domain ? domain : 1);
	if (!s->lut)
		return -1;
	dh__pred_lut(p, pr, shift, s->lut, domain);
	return bp->nsrc++;
}

static int same_term(const dh_term *a, const dh_term *b)
{
	if (a == b)
		return 1;
	int n = term_npreds(a);
	if (a->measure != b->measure || a->sum_dim != b->sum_dim ||
	    a->year_shift != b->year_shift || n != term_npreds(b))
		return 0;
	for (int i = 0; i < n; i++)
		if (!pred_equal(&a->where[i], &b->where[i]))
			return 0;
	return 1;
}

/* Node for node[parent] & src (created when new); -1 when full. */
static int bnode_get(bitplan *bp, int parent, int src)
{
	for (int i = 2; i < bp->nnodes; i++)
		if (bp->node_parent[i] == parent && bp->node_src[i] == src)
			return i;
	if (bp->nnodes == MAX_BNODES)
		return -1;
	bp->node_parent[bp->nnodes] = parent;
	bp->node_src[bp->nnodes] = src;
	return bp->nnodes++;
}

/* The bitmap program of plan p (its terms, reference dates and the query's filters). */
int dh__bitplan_build(const dh_cube *c, const plan *p, const dh_cube_query *q, bitplan **out)
{
	bitplan *bp = calloc(1, sizeof(*bp));
	size_t nt = 2 * p->ncols;
	int (*srcs)[DH_TERM_MAX_PREDICATES + 1] = NULL;
	int *nsrcs = NULL;
	if (!bp)
		return DH_NOMEM;
	bp->cube = c;
	bp->terms = calloc(nt + 1, sizeof(*bp->terms));
	bp->tid = malloc((nt + 1) * sizeof(int));
	bp->scale = malloc((nt + 1) * sizeof(double));
	srcs = malloc((nt + 1) * sizeof(*srcs));
	nsrcs = calloc(nt + 1, sizeof(int));
	int rc = DH_NOMEM;
	if (!bp->terms || !bp->tid || !bp->scale || !srcs || !nsrcs)
		goto done;
	rc = DH_TOOBIG;
	bp->year[0] = p->year[0];
	bp->year[1] = p->year[1];
	bp->need_prev = p->need_prev;
	for (int s = 0; s < 2; s++) { /* validity sources: no predicate */
		bsrc *v = &bp->src[bp->nsrc];
		memset(v, 0, sizeof(*v));
		v->kind = SRC_VALID;
		v->shift = s;
		bp->valid[s] = bp->nsrc++;
	}
	for (size_t i = 0; i < q->nfilters; i++) {
		int f = bsrc_get(bp, p, &q->filters[i], 0);
		if (f < 0)
			goto done;
		bp->filt[bp->nfilt++] = f;
	}
	/* distinct terms and their sources */
	for (size_t t = 0; t < nt; t++) {
		const dh_term *term = p->terms[t].term;
		bp->tid[t] = -1;
		bp->scale[t] = term->measure == DH_MEASURE_SUM && term->sum_dim != DH_DIM_AGE ? 0.01 : 1.0;
		if (term->measure == DH_MEASURE_NONE)
			continue;
		int k = 0;
		while (k < bp->nterms && !same_term(bp->terms[k].term, term))
			k++;
		bp->tid[t] = k;
		if (k < bp->nterms)
			continue;
		bterm *bt = &bp->terms[bp->nterms++];
		bt->term = term;
		bt->shift = term->year_shift ? 1 : 0;
		bt->sum = BSUM_NONE;
		if (term->measure == DH_MEASURE_SUM)
			bt->sum = term->sum_dim == DH_DIM_LOYERPRINC ? BSUM_RENT
				  : term->sum_dim == DH_DIM_SURFHAB ? BSUM_SURF : BSUM_AGE;
		int n = 0;
		for (int i = 0; i < term_npreds(term); i++) {
			int sidx = bsrc_get(bp, p, &term->where[i], bt->shift);
			if (sidx < 0)
				goto done;
			int dup = 0;
			for (int j = 0; j < n; j++)
				dup |= srcs[k][j] == sidx;
			if (!dup)
				srcs[k][n++] = sidx;
		}
		if (bt->sum == BSUM_AGE) { /* rows without CONSTRUCT count for 0 */
			int sidx = bsrc_get(bp, p, &construct_present, 0);
			if (sidx < 0)
				goto done;
			srcs[k][n++] = sidx;
		}
		nsrcs[k] = n;
		for (int j = 0; j < n; j++)
			bp->src[srcs[k][j]].uses++;
	}
	/* AND chains: most used sources first, so that terms share their prefixes */
	bp->nnodes = 2;
	for (int k = 0; k < bp->nterms; k++) {
		int *s = srcs[k], n = nsrcs[k];
		for (int a = 1; a < n; a++)
			for (int b = a; b > 0; b--) {
				const bsrc *x = &bp->src[s[b - 1]], *y = &bp->src[s[b]];
				if (x->uses > y->uses || (x->uses == y->uses && s[b - 1] < s[b]))
					break;
				int tmp = s[b];
				s[b] = s[b - 1];
				s[b - 1] = tmp;
			}
		int node = bp->terms[k].shift;
		for (int j = 0; j < n; j++)
			if ((node = bnode_get(bp, node, s[j])) < 0)
				goto done;
		bp->terms[k].node = node;
	}
	/* counts first: the inner loop over them is then a plain popcount per term */
	{
		bterm *sorted = malloc((nt + 1) * sizeof(*sorted));
		int *newi = malloc((nt + 1) * sizeof(int));
		rc = DH_NOMEM;
		if (!sorted || !newi) {
			free(sorted);
			free(newi);
			goto done;
		}
		int m = 0;
		for (int pass = 0; pass < 2; pass++)
			for (int k = 0; k < bp->nterms; k++)
				if ((bp->terms[k].sum != BSUM_NONE) == pass) {
					newi[k] = m;
					sorted[m++] = bp->terms[k];
				}
		bp->ncount = 0;
		for (int k = 0; k < bp->nterms; k++)
			bp->ncount += bp->terms[k].sum == BSUM_NONE;
		if (bp->ncount > 2 * MAX_BNODES) {
			free(sorted);
			free(newi);
			rc = DH_TOOBIG;
			goto done;
		}
		for (size_t t = 0; t < nt; t++)
			if (bp->tid[t] >= 0)
				bp->tid[t] = newi[bp->tid[t]];
		for (int k = 0; k < bp->ncount; k++)
			bp->count_node[k] = sorted[k].node;
		free(bp->terms);
		bp->terms = sorted;
		free(newi);
	}
	rc = DH_OK;
done:
	free(srcs);
	free(nsrcs);
	if (rc != DH_OK) {
		dh__bitplan_free(bp);
		return rc;
	}
	*out = bp;
	return DH_OK;
}

static inline uint64_t pack64(const uint8_t *b)
{
	uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (int k = 0; k < 8; k++) {
		uint64_t x;
		memcpy(&x, b + 8 * k, 8);
		/* byte i of x lands on bit 56 + i: no two partial products overlap */
		w |= ((x * 0x0102040810204080ull) >> 56) << (8 * k);
	}
#else
	for (int j = 0; j < 64; j++)
		w |= (uint64_t)b[j] << j;
#endif
	return w;
}

/* Word w (rows 64 w ..) of a computed source; the columns are padded by CUBE_PAD rows. */
static inline uint64_t bsrc_word(const bitplan *bp, const plan *p, const bsrc *s, size_t w)
{
	const dh_cube *c = bp->cube;
	uint8_t b[64];
	size_t i0 = w * 64;
	switch (s->kind) {
	case SRC_STATIC:
		return s->words[w];
	case SRC_VALID: {
		const uint16_t *lo = c->valid_lo + i0, *span = c->valid_span + i0;
		uint16_t e = s->shift ? p->e1 : p->e0;
		for (int j = 0; j < 64; j++)
			b[j] = (uint8_t)((uint16_t)(e - lo[j]) <= span[j]);
		return pack64(b);
	}
	case SRC_RANGE: {
		const uint16_t *x = (const uint16_t *)s->col + i0;
		uint16_t lo = s->lo, span = s->span;
		for (int j = 0; j < 64; j++)
			b[j] = (uint8_t)((uint16_t)(x[j] - lo) <= span);
		return pack64(b);
	}
	case SRC_LUT:
		if (s->wide) {
			const uint16_t *x = (const uint16_t *)s->col + i0;
			for (int j = 0; j < 64; j++)
				b[j] = s->lut[x[j]];
		} else {
			const uint8_t *x = (const uint8_t *)s->col + i0;
			for (int j = 0; j < 64; j++)
				b[j] = s->lut[x[j]];
		}
		return pack64(b);
	default:
		return 0;
	}
}

/* Sum of v over the set bits of m (word total `total`): visits the fewer of the set and
 * the clear bits. */
#define MASKED_SUM(type)                                                                   \
	static inline uint64_t masked_sum_##type(const type *v, uint64_t m, uint64_t total,    \
						 int count)                                    \
	{                                                                                  \
		uint64_t s = 0;                                                            \
		if (count > 32) {                                                          \
			for (uint64_t r = ~m; r; r &= r - 1)                               \
				s += v[__builtin_ctzll(r)];                                \
			return total - s;                                                  \
		}                                                                          \
		for (; m; m &= m - 1)                                                      \
			s += v[__builtin_ctzll(m)];                                        \
		return s;                                                                  \
	}
MASKED_SUM(uint32_t)
MASKED_SUM(uint16_t)

/*
 * Add the rows of ranges[0..n) (ascending, disjoint) to their counters. The words of the
 * sources are computed once per 64 rows; each range overlapping the word ANDs them under
 * its edge mask.
 */
static inline __attribute__((always_inline)) void bit_scan_body(const bitplan *bp, const plan *p,
								const brange *ranges, size_t n)
{
	const dh_cube *c = bp->cube;
	const cube_bits *cb = &c->bits;
	uint64_t bw[MAX_BSRC], nw[MAX_BNODES];
	const int nsrc = bp->nsrc, nnodes = bp->nnodes, nterms = bp->nterms;
	size_t r = 0, pos = 0;
	while (r < n) {
		if (ranges[r].a >= ranges[r].b) {
			r++;
			continue;
		}
		size_t start = ranges[r].a > pos ? ranges[r].a : pos;
		size_t w = start / 64, wa = w * 64, wb = wa + 64;
		for (int s = 0; s < nsrc; s++)
			bw[s] = bsrc_word(bp, p, &bp->src[s], w);
		uint64_t f = ~0ull;
		for (int k = 0; k < bp->nfilt; k++)
			f &= bw[bp->filt[k]];
		uint64_t v0 = bw[bp->valid[0]] & f, v1 = bp->need_prev ? bw[bp->valid[1]] & f : 0;
		size_t q = r;
		while (q < n && ranges[q].a < wb) {
			size_t lo = ranges[q].a > wa ? ranges[q].a : wa;
			size_t hi = ranges[q].b < wb ? ranges[q].b : wb;
			if (lo < hi) {
				uint64_t edge = (hi - wa == 64 ? ~0ull : (1ull << (hi - wa)) - 1) &
						~((1ull << (lo - wa)) - 1);
				nw[0] = v0 & edge;
				nw[1] = v1 & edge;
				if (nw[0] | nw[1]) {
					for (int k = 2; k < nnodes; k++)
						nw[k] = nw[bp->node_parent[k]] & bw[bp->node_src[k]];
					int64_t *blk = ranges[q].blk;
					const int ncount = bp->ncount;
					for (int t = 0; t < ncount; t++)
						blk[t] += __builtin_popcountll(nw[bp->count_node[t]]);
					for (int t = ncount; t < nterms; t++) {
						const bterm *bt = &bp->terms[t];
						uint64_t m = nw[bt->node];
						int cnt = __builtin_popcountll(m);
						switch (bt->sum) {
						case BSUM_NONE:
							blk[t] += cnt;
							break;
						case BSUM_RENT:
							blk[t] += (int64_t)masked_sum_uint32_t(
								c->rent + wa, m, cb->sum_rent[w], cnt);
							break;
						case BSUM_SURF:
							blk[t] += (int64_t)masked_sum_uint32_t(
								c->surf + wa, m, cb->sum_surf[w], cnt);
							break;
						default:
							blk[t] += bp->year[bt->shift] * cnt -
								  (int64_t)masked_sum_uint16_t(
									  c->construct + wa, m,
									  cb->sum_construct[w], cnt);
							break;
						}
					}
				}
			}
			if (ranges[q].b <= wb)
				q++;
			else
				break;
		}
		r = q;
		pos = wb;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
/* With the popcnt instruction (checked at run time): __builtin_popcountll is otherwise a
 * library call. */
__attribute__((target("popcnt"))) static void bit_scan_popcnt(const bitplan *bp, const plan *p,
							     const brange *ranges, size_t n)
{
	bit_scan_body(bp, p, ranges, n);
}
#endif

static void bit_scan_generic(const bitplan *bp, const plan *p, const brange *ranges, size_t n)
{
	bit_scan_body(bp, p, ranges, n);
}

void dh__bit_scan(const bitplan *bp, const plan *p, const brange *ranges, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("popcnt")) {
		bit_scan_popcnt(bp, p, ranges, n);
		return;
	}
#endif
	bit_scan_generic(bp, p, ranges, n);
}

/* Value of plan term t from the distinct-term counters blk. */
static double bit_term_value(const bitplan *bp, size_t t, const int64_t *blk)
{
	return bp->tid[t] >= 0 ? (double)blk[bp->tid[t]] * bp->scale[t] : 0;
}

/* dh__finalize() from distinct-term counters, for the columns cols[0..ncols) of p (all when
 * cols is NULL). */
void dh__bit_finalize(const plan *p, const bitplan *bp, const int64_t *blk, const int *cols,
			 size_t ncols, double *row)
{
	for (size_t j = 0; j < ncols; j++) {
		size_t i = cols ? (size_t)cols[j] : j;
		const dh_indicator *ind = p->cols[i];
		double num = bit_term_value(bp, 2 * i, blk);
		double den = ind->den.measure != DH_MEASURE_NONE ? bit_term_value(bp, 2 * i + 1, blk) : 0;
		row[j] = indicator_combine(ind->kind, num, den);
	}
}

