/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_query.c - group-by queries on the cube, driven by the indicator registry.
 *
 * A query is compiled into a plan: the terms (numerators and denominators) of the chosen
 * indicators are grouped into *keys*, one per set of dimensions (a term whose dimensions are a
 * subset of another key's reuses it). For each key the values of every dimension are mapped
 * by a lookup table to a bucket (values the key's predicates cannot tell apart share a
 * bucket), so one row adds 1 to one counter per key (and its value to the key's sums); each
 * term is then the sum of the counters of the buckets where all its predicates hold.
 * Relative dimensions (age, months since a date) only change the lookup tables, built for
 * the reference date: the per-row work never depends on the date.
 *
 * Rows are sorted by région, département, commune, landlord: those levels (and the per-date
 * commune counters) run on the bitmap engine below, over the row ranges of each territory
 * (EPCI: the ranges of its communes), and so does the commune x landlord split (one range
 * per landlord inside each commune, dh_cube_query_split); QPV, landlord and the filtered
 * whole cube run the counter scan with a group index. Large queries are split between
 * threads.
 */
#include "cube/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEYS 64
#define MAX_KEY_FIELDS DH_TERM_MAX_PREDICATES
#define MAX_FIELD_PREDS 64
#define MAX_SUMS 3
#define MAX_THREADS 8
#define NO_GROUP UINT32_MAX

typedef struct kfield {
	dh_dim dim;
	const void *col;      /* uint8_t or uint16_t column */
	int wide;             /* 1: uint16_t */
	uint32_t domain;      /* number of column values */
	uint16_t *lut;        /* value -> bucket * stride */
	uint64_t *sig;        /* bucket -> bit set of the predicates it satisfies */
	uint32_t nbuckets, stride;
	const dh_predicate *preds[MAX_FIELD_PREDS];
	int npreds;
	int filter;           /* 1: every term of the key wants the same buckets: a row mask */
	uint8_t *flut;        /* filter: value -> 0/1 */
} kfield;

typedef struct key {
	uint32_t dimset;
	int shift;            /* 1: validity and relative values one year before */
	int nfields;
	kfield f[MAX_KEY_FIELDS];
	uint32_t nbins, off;  /* counters at off, sums at off + nbins * (1 + s) */
	int nsums;
	dh_dim sums[MAX_SUMS];
	int mask;             /* index of the row mask in plan.masks */
	int dead;             /* merged into another key */
	int nidx;             /* index fields (not filters) */
	kfield *idx[MAX_KEY_FIELDS];
	const uint8_t *static_col; /* cached sum of the static index tables, or NULL */
	int ndyn;             /* index fields still looked up per query */
	kfield *dyn[MAX_KEY_FIELDS];
} key;

/* Rows a key counts: valid at its date, and accepted by each filter field. */
typedef struct rowmask {
	int shift;
	int n;
	const kfield *f[MAX_KEY_FIELDS];
	int static_bit;       /* bit of cube->cache.mask_bits holding the static fields, or -1 */
	int ndyn;
	const kfield *dyn[MAX_KEY_FIELDS];
} rowmask;

typedef struct tref {
	const dh_term *term;
	int key;
	uint32_t *slots;
	uint32_t nslots;
	double scale;
} tref;

typedef struct filt {
	const void *col;
	int wide;
	uint8_t *lut;
} filt;

typedef struct plan {
	const dh_cube *cube;
	key keys[MAX_KEYS];
	int nkeys;
	rowmask masks[MAX_KEYS];
	int nmasks;
	int live[MAX_KEYS];     /* keys not merged away, in execution order */
	int nlive;
	uint32_t block;         /* int64 accumulators per group */
	size_t ncols;
	const dh_indicator **cols;
	tref *terms;            /* 2 per column: numerator, denominator (key -1 when none) */
	filt filters[DH_CUBE_MAX_FILTERS];
	int nfilters;
	uint16_t e0, e1;        /* epochs of the reference date and one year before */
	int need_prev;
	int32_t year[2];        /* reference year, and one year before */
	int32_t month[2];       /* month index of the reference date, and one year before */
	int32_t age[2][CUBE_YEAR_DOMAIN]; /* AGE for a CONSTRUCT year */
} plan;

/* ---------------------------------------------------------------- dimensions */

static int dim_categorical(dh_dim d, int *cat)
{
	switch (d) {
	case DH_DIM_MODE: *cat = CAT_MODE; return 1;
	case DH_DIM_TYPECONST: *cat = CAT_TYPECONST; return 1;
	case DH_DIM_FINAN: *cat = CAT_FINAN; return 1;
	case DH_DIM_DPE_ENERGIE: *cat = CAT_DPE_ENERGIE; return 1;
	case DH_DIM_DPE_SERRE: *cat = CAT_DPE_SERRE; return 1;
	case DH_DIM_QPV: *cat = CAT_QPV; return 1;
	case DH_DIM_ORIGINE: *cat = CAT_ORIGINE; return 1;
	case DH_DIM_SORTIEPATRIM: *cat = CAT_SORTIEPATRIM; return 1;
	default: return 0;
	}
}

/* Column, width and domain of a dimension. */
static void dim_column(const dh_cube *c, dh_dim d, const void **col, int *wide, uint32_t *domain)
{
	int cat;
	*wide = 1;
	*domain = CUBE_YEAR_DOMAIN;
	if (dim_categorical(d, &cat)) {
		*col = c->cat[cat];
		*wide = 0;
		*domain = c->dict[cat].count;
		return;
	}
	switch (d) {
	case DH_DIM_NBPIECE: *col = c->nbpiece; *wide = 0; *domain = 256; break;
	case DH_DIM_LOYERPRINC:
	case DH_DIM_SURFHAB: *col = c->flags; *wide = 0; *domain = 4; break;
	case DH_DIM_CONSTRUCT:
	case DH_DIM_AGE: *col = c->construct; break;
	case DH_DIM_LOCAT:
	case DH_DIM_LOCAT_YEARS: *col = c->locat; break;
	case DH_DIM_BAIL_MONTHS: *col = c->bail; break;
	case DH_DIM_REMLOC_MONTHS: *col = c->remloc; break;
	case DH_DIM_LANDLORD:
		*col = c->landlord;
		*domain = (uint32_t)(c->nlandlords ? c->nlandlords : 1);
		break;
	default: *col = NULL; *domain = 0; break;
	}
}

/* Value of column value x of dimension d at the reference date (shift 0) or a year before. */
typedef struct dval {
	int present;
	int numeric;       /* 1: num is meaningful */
	int64_t num;
	const char *text;  /* categorical text, or NULL */
} dval;

static dval dim_value(const plan *p, dh_dim d, uint32_t x, int shift)
{
	const dh_cube *c = p->cube;
	dval v = { 0, 0, 0, NULL };
	int cat;
	if (dim_categorical(d, &cat)) {
		v.present = x != 0;
		v.text = c->dict[cat].text[x];
		return v;
	}
	switch (d) {
	case DH_DIM_NBPIECE:
	case DH_DIM_CONSTRUCT:
	case DH_DIM_LOCAT:
		v.present = x != 0;
		v.numeric = 1;
		v.num = x;
		break;
	case DH_DIM_LOYERPRINC: v.present = (x & CUBE_FLAG_RENT) != 0; break;
	case DH_DIM_SURFHAB: v.present = (x & CUBE_FLAG_SURF) != 0; break;
	case DH_DIM_AGE:
	case DH_DIM_LOCAT_YEARS:
		v.present = x != 0;
		v.numeric = 1;
		v.num = (int64_t)p->year[shift] - x;
		break;
	case DH_DIM_BAIL_MONTHS:
	case DH_DIM_REMLOC_MONTHS:
		v.present = x != 0;
		v.numeric = 1;
		v.num = (int64_t)p->month[shift] - x;
		break;
	case DH_DIM_LANDLORD:
		v.present = x < c->nlandlords;
		v.text = v.present ? c->landlords[x].code : "";
		break;
	default: break;
	}
	return v;
}

/* Is `v` one of the comma-separated items of set? */
static int set_has(const char *set, const dval *v)
{
	const char *s = set ? set : "";
	while (*s) {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > s && t[-1] == ' ')
			t--;
		size_t n = (size_t)(t - s);
		if (v->numeric) {
			char buf[24];
			if (n && n < sizeof(buf)) {
				memcpy(buf, s, n);
				buf[n] = '\0';
				char *end;
				long long x = strtoll(buf, &end, 10);
				if (*end == '\0' && x == v->num)
					return 1;
			}
		} else if (v->text && strlen(v->text) == n && memcmp(v->text, s, n) == 0) {
			return 1;
		}
		s = *e ? e + 1 : e;
	}
	return 0;
}

static int pred_accepts(const dh_predicate *pr, const dval *v)
{
	switch (pr->op) {
	case DH_OP_PRESENT: return v->present;
	case DH_OP_ABSENT: return !v->present;
	case DH_OP_IN: return v->present && set_has(pr->set, v);
	case DH_OP_NOT_IN: return !v->present || !set_has(pr->set, v);
	case DH_OP_RANGE: {
		if (!v->present)
			return 0;
		int64_t x = v->num;
		if (!v->numeric) { /* a numeric code such as FINAN */
			char *end;
			x = strtoll(v->text, &end, 10);
			if (*end != '\0' || end == v->text)
				return 0;
		}
		return x >= pr->lo && x <= pr->hi;
	}
	}
	return 0;
}

static int pred_equal(const dh_predicate *a, const dh_predicate *b)
{
	if (a->dim != b->dim || a->op != b->op)
		return 0;
	if (a->op == DH_OP_RANGE)
		return a->lo == b->lo && a->hi == b->hi;
	if (a->op == DH_OP_IN || a->op == DH_OP_NOT_IN)
		return strcmp(a->set ? a->set : "", b->set ? b->set : "") == 0;
	return 1;
}

static int pred_valid(const dh_predicate *pr)
{
	if (pr->dim <= DH_DIM_NONE || pr->dim >= DH_DIM_COUNT)
		return 0;
	if (pr->op < DH_OP_IN || pr->op > DH_OP_ABSENT)
		return 0;
	if ((pr->dim == DH_DIM_LOYERPRINC || pr->dim == DH_DIM_SURFHAB) &&
	    pr->op != DH_OP_PRESENT && pr->op != DH_OP_ABSENT)
		return 0; /* only presence is kept for these */
	return pr->op != DH_OP_RANGE || pr->lo <= pr->hi;
}

/* ---------------------------------------------------------------- plan */

static int term_npreds(const dh_term *t)
{
	int n = 0;
	while (n < DH_TERM_MAX_PREDICATES && t->where[n].dim != DH_DIM_NONE)
		n++;
	return n;
}

static uint32_t term_dimset(const dh_term *t)
{
	uint32_t s = 0;
	for (int i = 0; i < term_npreds(t); i++)
		s |= 1u << t->where[i].dim;
	return s;
}

static int popcount32(uint32_t x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

static void plan_free(plan *p)
{
	if (!p)
		return;
	for (int k = 0; k < p->nkeys; k++)
		for (int f = 0; f < p->keys[k].nfields; f++) {
			free(p->keys[k].f[f].lut);
			free(p->keys[k].f[f].sig);
			free(p->keys[k].f[f].flut);
		}
	if (p->terms)
		for (size_t i = 0; i < 2 * p->ncols; i++)
			free(p->terms[i].slots);
	free(p->terms);
	free(p->cols);
	for (int i = 0; i < p->nfilters; i++)
		free(p->filters[i].lut);
	free(p);
}

static int cmp_tref_size(const void *a, const void *b)
{
	const tref *x = *(const tref *const *)a, *y = *(const tref *const *)b;
	return popcount32(term_dimset(y->term)) - popcount32(term_dimset(x->term));
}

static int32_t date_minus_year(int32_t d)
{
	int32_t y = d / 10000, md = d % 10000;
	if (md == 229)
		md = 228;
	return (y - 1) * 10000 + md;
}

/* Month index of a date's first day (BAIL_MONTHS counts whole months up to it). */
static int32_t month_of(int32_t d)
{
	return (d / 10000 - 1800) * 12 + (d / 100) % 100;
}

/* Build the bucket tables of one field of a key. */
static int build_field(plan *p, key *k, kfield *f)
{
	f->lut = malloc(f->domain * sizeof(uint16_t));
	f->sig = malloc(f->domain * sizeof(uint64_t));
	if (!f->lut || !f->sig)
		return DH_NOMEM;
	f->nbuckets = 0;
	for (uint32_t x = 0; x < f->domain; x++) {
		dval v = dim_value(p, f->dim, x, k->shift);
		uint64_t sig = 0;
		for (int j = 0; j < f->npreds; j++)
			if (pred_accepts(f->preds[j], &v))
				sig |= 1ull << j;
		uint32_t b = 0;
		while (b < f->nbuckets && f->sig[b] != sig)
			b++;
		if (b == f->nbuckets)
			f->sig[f->nbuckets++] = sig;
		f->lut[x] = (uint16_t)b; /* multiplied by the stride once known */
	}
	return DH_OK;
}

/* Slots of a term in its key: every bin where each of its predicates holds. */
/* Bit set of the predicates of field f that term t requires. */
static uint64_t term_need(const tref *t, const kfield *f)
{
	uint64_t need = 0;
	for (int i = 0; i < term_npreds(t->term); i++) {
		const dh_predicate *pr = &t->term->where[i];
		if (pr->dim != f->dim)
			continue;
		for (int j = 0; j < f->npreds; j++)
			if (pred_equal(f->preds[j], pr))
				need |= 1ull << j;
	}
	return need;
}

/* Buckets of f (as a bit set, nbuckets <= 64) that satisfy what t requires of f. */
static uint64_t term_buckets(const tref *t, const kfield *f)
{
	uint64_t need = term_need(t, f), set = 0;
	for (uint32_t b = 0; b < f->nbuckets; b++)
		if ((f->sig[b] & need) == need)
			set |= 1ull << b;
	return set;
}

static int same_mask(const rowmask *a, const rowmask *b)
{
	if (a->shift != b->shift || a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (a->f[i]->dim != b->f[i]->dim || a->f[i]->domain != b->f[i]->domain ||
		    memcmp(a->f[i]->flut, b->f[i]->flut, a->f[i]->domain) != 0)
			return 0;
	return 1;
}

#define MERGE_MAX_BINS 64

/*
 * Give the keys their final shape: a field on which every term of the key asks the same
 * buckets becomes a row filter (shared by keys with the same filters: one mask per row and
 * chunk); the other fields index the counters. Keys with the same mask and few bins are
 * merged, so one row increments fewer counters (terms then sum a few more bins).
 */
static int shape_keys(plan *p)
{
	for (int k = 0; k < p->nkeys; k++) {
		key *kk = &p->keys[k];
		rowmask m;
		memset(&m, 0, sizeof(m));
		m.shift = kk->shift;
		for (int f = 0; f < kk->nfields; f++) {
			kfield *kf = &kk->f[f];
			int filter = kf->nbuckets <= 64;
			uint64_t common = 0;
			int first = 1;
			for (size_t t = 0; t < 2 * p->ncols && filter; t++) {
				if (p->terms[t].key != k)
					continue;
				uint64_t set = term_buckets(&p->terms[t], kf);
				if (first)
					common = set, first = 0;
				else if (set != common)
					filter = 0;
			}
			if (filter) {
				kf->filter = 1;
				kf->flut = malloc(kf->domain);
				if (!kf->flut)
					return DH_NOMEM;
				for (uint32_t x = 0; x < kf->domain; x++)
					kf->flut[x] = (uint8_t)((common >> kf->lut[x]) & 1u);
				m.f[m.n++] = kf;
			} else {
				kk->idx[kk->nidx++] = kf;
			}
		}
		int mi = 0;
		while (mi < p->nmasks && !same_mask(&p->masks[mi], &m))
			mi++;
		if (mi == p->nmasks)
			p->masks[p->nmasks++] = m;
		kk->mask = mi;
	}
	/* merge */
	for (int a = 0; a < p->nkeys; a++) {
		key *ka = &p->keys[a];
		if (ka->dead)
			continue;
		for (int b = a + 1; b < p->nkeys; b++) {
			key *kb = &p->keys[b];
			if (kb->dead || kb->mask != ka->mask || ka->nidx + kb->nidx > MAX_KEY_FIELDS)
				continue;
			uint64_t bins = 1;
			int disjoint = 1;
			for (int i = 0; i < ka->nidx; i++)
				bins *= ka->idx[i]->nbuckets;
			for (int i = 0; i < kb->nidx; i++) {
				bins *= kb->idx[i]->nbuckets;
				for (int j = 0; j < ka->nidx; j++)
					disjoint &= kb->idx[i]->dim != ka->idx[j]->dim;
			}
			dh_dim sums[2 * MAX_SUMS];
			int nsums = 0;
			for (int i = 0; i < ka->nsums; i++)
				sums[nsums++] = ka->sums[i];
			for (int i = 0; i < kb->nsums; i++) {
				int seen = 0;
				for (int j = 0; j < ka->nsums; j++)
					seen |= ka->sums[j] == kb->sums[i];
				if (!seen)
					sums[nsums++] = kb->sums[i];
			}
			if (!disjoint || bins > MERGE_MAX_BINS || nsums > MAX_SUMS)
				continue;
			for (int i = 0; i < kb->nidx; i++)
				ka->idx[ka->nidx++] = kb->idx[i];
			memcpy(ka->sums, sums, (size_t)nsums * sizeof(dh_dim));
			ka->nsums = nsums;
			kb->dead = 1;
			for (size_t t = 0; t < 2 * p->ncols; t++)
				if (p->terms[t].key == b)
					p->terms[t].key = a;
		}
	}
	/* strides of the index fields; lookup tables hold bucket * stride */
	p->nlive = 0;
	for (int k = 0; k < p->nkeys; k++) {
		key *kk = &p->keys[k];
		if (kk->dead)
			continue;
		p->live[p->nlive++] = k;
		uint32_t stride = 1;
		for (int f = 0; f < kk->nidx; f++) {
			kfield *kf = kk->idx[f];
			if ((uint64_t)stride * kf->nbuckets > 65535)
				return DH_TOOBIG;
			kf->stride = stride;
			for (uint32_t x = 0; x < kf->domain; x++)
				kf->lut[x] = (uint16_t)(kf->lut[x] * stride);
			stride *= kf->nbuckets;
		}
		kk->nbins = stride;
	}
	return DH_OK;
}

/* Slots of a term in its key: every bin where each of its predicates holds. */
static int resolve_term(plan *p, tref *t)
{
	key *k = &p->keys[t->key];
	uint64_t need[MAX_KEY_FIELDS] = { 0 };
	for (int f = 0; f < k->nidx; f++)
		need[f] = term_need(t, k->idx[f]);
	int measure = 0;
	if (t->term->measure == DH_MEASURE_SUM)
		for (int s = 0; s < k->nsums; s++)
			if (k->sums[s] == t->term->sum_dim)
				measure = s + 1;
	t->slots = malloc(k->nbins * sizeof(uint32_t));
	if (!t->slots)
		return DH_NOMEM;
	t->nslots = 0;
	for (uint32_t bin = 0; bin < k->nbins; bin++) {
		int ok = 1;
		for (int f = 0; f < k->nidx && ok; f++) {
			uint32_t bucket = (bin / k->idx[f]->stride) % k->idx[f]->nbuckets;
			ok = (k->idx[f]->sig[bucket] & need[f]) == need[f];
		}
		if (ok)
			t->slots[t->nslots++] = k->off + (uint32_t)measure * k->nbins + bin;
	}
	t->scale = 1.0;
	if (t->term->measure == DH_MEASURE_SUM && t->term->sum_dim != DH_DIM_AGE)
		t->scale = 0.01; /* cents, hundredths of m² */
	return DH_OK;
}

/* ---------------------------------------------------------------- static cache */

static int dim_relative(dh_dim d)
{
	return d == DH_DIM_AGE || d == DH_DIM_LOCAT_YEARS || d == DH_DIM_BAIL_MONTHS ||
	       d == DH_DIM_REMLOC_MONTHS;
}

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
static void attach_cache(plan *p)
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
		key *k = &p->keys[p->live[l]];
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

void cube_cache_free(cube_cache *cache)
{
	for (int i = 0; i < cache->nkeys; i++)
		cache_entry_free(&cache->keys[i]);
	for (int i = 0; i < cache->nmasks; i++)
		cache_entry_free(&cache->masks[i]);
	free(cache->mask_bits);
	memset(cache, 0, sizeof(*cache));
}

static int plan_build(const dh_cube *c, const dh_cube_query *q, int with_keys, plan **out,
		      dh_error *err);

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
		dim_column(cube, e->dims[f], &cols[f], &wide[f], &dom);
	}
}

/* Row i's code in a dimension column of 8- or 16-bit codes. */
static inline uint32_t column_code(const void *col, int wide, size_t i)
{
	return wide ? ((const uint16_t *)col)[i] : ((const uint8_t *)col)[i];
}

/* ---------------------------------------------------------------- static bitmaps */

void cube_bits_free(cube_bits *bits)
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
		cube_bits_free(cb);
		return DH_NOMEM;
	}
	for (int k = 0; k < cb->n; k++) {
		const dh_predicate *pr = &cb->preds[k];
		const void *col;
		int wide;
		uint32_t domain;
		dim_column(cube, pr->dim, &col, &wide, &domain);
		uint8_t *lut = malloc(domain ? domain : 1);
		if (!lut) {
			cube_bits_free(cb);
			return DH_NOMEM;
		}
		for (uint32_t x = 0; x < domain; x++) {
			dval v = dim_value(p, pr->dim, x, 0);
			lut[x] = (uint8_t)pred_accepts(pr, &v);
		}
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

int cube_cache_build(dh_cube *cube)
{
	cube_cache *cc = &cube->cache;
	memset(cc, 0, sizeof(*cc));
	plan *p = NULL;
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = 20250101 };
	if (plan_build(cube, &q, 1, &p, NULL) != DH_OK)
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
		const key *k = &p->keys[p->live[l]];
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
	plan_free(p);
	if (rc != DH_OK)
		cube_cache_free(cc);
	return rc;
}

/*
 * Compile a query. with_keys: also group the terms into counter keys for scan() (the
 * scatter levels); the bitmap engine only needs the terms, dates and filters.
 */
static int plan_build(const dh_cube *c, const dh_cube_query *q, int with_keys, plan **out,
		      dh_error *err)
{
	plan *p = calloc(1, sizeof(*p));
	if (!p)
		return dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
	int rc = DH_OK;
	p->cube = c;
	p->ncols = q->indicators ? q->nindicators : dh_indicator_count();
	p->cols = calloc(p->ncols ? p->ncols : 1, sizeof(*p->cols));
	p->terms = calloc(2 * p->ncols + 1, sizeof(*p->terms));
	tref **order = calloc(2 * p->ncols + 1, sizeof(*order));
	if (!p->cols || !p->terms || !order) {
		rc = dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
		goto done;
	}
	int32_t d = q->reference_date;
	p->year[0] = d / 10000;
	p->year[1] = p->year[0] - 1;
	p->month[0] = month_of(d);
	p->month[1] = p->month[0] - 12;
	p->e0 = cube_epoch(c, d);
	p->e1 = cube_epoch(c, date_minus_year(d));
	for (int s = 0; s < 2; s++)
		for (int y = 0; y < CUBE_YEAR_DOMAIN; y++)
			p->age[s][y] = y ? p->year[s] - y : 0;

	size_t nterms = 0;
	for (size_t i = 0; i < p->ncols; i++) {
		const dh_indicator *ind;
		if (q->indicators) {
			ind = dh_indicator_at((size_t)q->indicators[i]);
			if (q->indicators[i] < 0 || !ind) {
				rc = dh_error_set(err, DH_INVAL, "cube : indicateur n° %d inconnu",
						  q->indicators[i]);
				goto done;
			}
		} else {
			ind = dh_indicator_at(i);
		}
		p->cols[i] = ind;
		const dh_term *ts[2] = { &ind->num, &ind->den };
		for (int j = 0; j < 2; j++) {
			tref *t = &p->terms[2 * i + (size_t)j];
			t->term = ts[j];
			t->key = -1;
			if (ts[j]->measure == DH_MEASURE_NONE)
				continue;
			for (int k = 0; k < term_npreds(ts[j]); k++)
				if (!pred_valid(&ts[j]->where[k])) {
					rc = dh_error_set(err, DH_INVAL, "cube : prédicat invalide dans « %s »",
							  ind->id);
					goto done;
				}
			if (ts[j]->year_shift)
				p->need_prev = 1;
			order[nterms++] = t;
		}
	}
	if (!with_keys)
		goto filters;
	/* Keys: largest dimension sets first, smaller terms reuse a superset. */
	qsort(order, nterms, sizeof(*order), cmp_tref_size);
	uint32_t off = 0;
	for (size_t i = 0; i < nterms; i++) {
		tref *t = order[i];
		uint32_t ds = term_dimset(t->term);
		int shift = t->term->year_shift ? 1 : 0;
		int k;
		for (k = 0; k < p->nkeys; k++)
			if (p->keys[k].shift == shift && (p->keys[k].dimset & ds) == ds)
				break;
		if (k == p->nkeys) {
			if (p->nkeys == MAX_KEYS) {
				rc = dh_error_set(err, DH_TOOBIG, "cube : trop de combinaisons de dimensions");
				goto done;
			}
			key *nk = &p->keys[p->nkeys++];
			nk->dimset = ds;
			nk->shift = shift;
			for (int dim = 1; dim < DH_DIM_COUNT; dim++)
				if (ds & (1u << dim)) {
					kfield *f = &nk->f[nk->nfields++];
					f->dim = (dh_dim)dim;
					dim_column(c, f->dim, &f->col, &f->wide, &f->domain);
				}
		}
		key *kk = &p->keys[k];
		t->key = k;
		for (int j = 0; j < term_npreds(t->term); j++) {
			const dh_predicate *pr = &t->term->where[j];
			for (int f = 0; f < kk->nfields; f++) {
				kfield *kf = &kk->f[f];
				if (kf->dim != pr->dim)
					continue;
				int seen = 0;
				for (int m = 0; m < kf->npreds && !seen; m++)
					seen = pred_equal(kf->preds[m], pr);
				if (!seen) {
					if (kf->npreds == MAX_FIELD_PREDS) {
						rc = dh_error_set(err, DH_TOOBIG, "cube : trop de prédicats");
						goto done;
					}
					kf->preds[kf->npreds++] = pr;
				}
			}
		}
		if (t->term->measure == DH_MEASURE_SUM) {
			int seen = 0;
			for (int s = 0; s < kk->nsums; s++)
				seen |= kk->sums[s] == t->term->sum_dim;
			if (!seen) {
				dh_dim sd = t->term->sum_dim;
				if (kk->nsums == MAX_SUMS || (sd != DH_DIM_LOYERPRINC &&
							      sd != DH_DIM_SURFHAB && sd != DH_DIM_AGE)) {
					rc = dh_error_set(err, DH_INVAL, "cube : somme non prise en charge");
					goto done;
				}
				kk->sums[kk->nsums++] = sd;
			}
		}
	}
	for (int k = 0; k < p->nkeys; k++)
		for (int f = 0; f < p->keys[k].nfields; f++)
			if ((rc = build_field(p, &p->keys[k], &p->keys[k].f[f])) != DH_OK) {
				dh_error_set(err, rc, "cube : mémoire insuffisante");
				goto done;
			}
	if ((rc = shape_keys(p)) != DH_OK) {
		dh_error_set(err, rc, rc == DH_NOMEM ? "cube : mémoire insuffisante"
						     : "cube : trop de compteurs pour un terme");
		goto done;
	}
	for (int l = 0; l < p->nlive; l++) {
		key *kk = &p->keys[p->live[l]];
		kk->off = off;
		off += kk->nbins * (1u + (uint32_t)kk->nsums);
	}
	p->block = off ? off : 1;
	attach_cache(p);
	for (size_t i = 0; i < 2 * p->ncols; i++)
		if (p->terms[i].key >= 0 && (rc = resolve_term(p, &p->terms[i])) != DH_OK) {
			dh_error_set(err, rc, "cube : mémoire insuffisante");
			goto done;
		}

filters:
	/* Filters: one 0/1 table per predicate over its column. */
	if (q->nfilters > DH_CUBE_MAX_FILTERS) {
		rc = dh_error_set(err, DH_INVAL, "cube : plus de %d filtres", DH_CUBE_MAX_FILTERS);
		goto done;
	}
	for (size_t i = 0; i < q->nfilters; i++) {
		const dh_predicate *pr = &q->filters[i];
		if (!pred_valid(pr)) {
			rc = dh_error_set(err, DH_INVAL, "cube : filtre invalide sur %s", dh_dim_name(pr->dim));
			goto done;
		}
		filt *fl = &p->filters[p->nfilters++];
		uint32_t domain;
		dim_column(c, pr->dim, &fl->col, &fl->wide, &domain);
		fl->lut = malloc(domain);
		if (!fl->lut) {
			rc = dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
			goto done;
		}
		for (uint32_t x = 0; x < domain; x++) {
			dval v = dim_value(p, pr->dim, x, 0);
			fl->lut[x] = (uint8_t)pred_accepts(pr, &v);
		}
	}
done:
	free(order);
	if (rc != DH_OK) {
		plan_free(p);
		return rc;
	}
	*out = p;
	return DH_OK;
}

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
static int64_t masked_sum(const plan *p, const key *k, int s, const uint8_t *m, size_t i0, size_t len)
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
static void scatter_sum(const plan *p, const key *k, int s, const uint8_t *m, const uint32_t *idx,
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
			const key *k = &p->keys[p->live[l]];
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

static double term_value(const tref *t, const int64_t *blk)
{
	int64_t s = 0;
	for (uint32_t i = 0; i < t->nslots; i++)
		s += blk[t->slots[i]];
	return (double)s * t->scale;
}

/* An indicator's value from its numerator and denominator (NAN when den is 0). */
static double indicator_combine(dh_ind_kind kind, double num, double den)
{
	switch (kind) {
	case DH_IND_COUNT: return num;
	case DH_IND_PCT: return den != 0 ? num / den * 100.0 : NAN;
	case DH_IND_RATIO: return den != 0 ? num / den : NAN;
	case DH_IND_EVOLUTION: return den != 0 ? (num / den - 1.0) * 100.0 : NAN;
	default: return NAN;
	}
}

static void finalize(const plan *p, const int64_t *blk, double *row)
{
	for (size_t j = 0; j < p->ncols; j++) {
		const dh_indicator *ind = p->cols[j];
		double num = term_value(&p->terms[2 * j], blk);
		double den = p->terms[2 * j + 1].key >= 0 ? term_value(&p->terms[2 * j + 1], blk) : 0;
		row[j] = indicator_combine(ind->kind, num, den);
	}
}

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

#define MAX_BSRC 128
#define MAX_BNODES 512

enum { SRC_VALID, SRC_STATIC, SRC_RANGE, SRC_LUT, SRC_ZERO };
enum { BSUM_NONE, BSUM_RENT, BSUM_SURF, BSUM_AGE };

typedef struct bsrc {
	int kind;
	int shift;               /* year shift the source was made for (relative dims, validity) */
	const dh_predicate *pr;  /* NULL for validity */
	const uint64_t *words;   /* SRC_STATIC: cube bitmap */
	const void *col;         /* SRC_RANGE (uint16_t), SRC_LUT */
	int wide;
	uint16_t lo, span;       /* SRC_RANGE: (uint16_t)(x - lo) <= span */
	uint8_t *lut;            /* SRC_LUT, owned */
	int uses;                /* distinct terms using it (orders the AND chains) */
} bsrc;

typedef struct bterm {
	const dh_term *term;
	int shift;
	int node;                /* node whose bits are the rows of the term */
	int sum;                 /* BSUM_* */
} bterm;

typedef struct bitplan {
	const dh_cube *cube;
	int nsrc;
	bsrc src[MAX_BSRC];
	int nnodes;              /* nodes 0 and 1: valid (and filtered) at shift 0 and 1 */
	int node_parent[MAX_BNODES], node_src[MAX_BNODES];
	int nterms;              /* distinct terms: the counters of a group */
	bterm *terms;            /* the counts first, then the sums */
	int ncount;              /* counts */
	int count_node[2 * MAX_BNODES]; /* node of each count */
	int *tid;                /* per plan term (2 per column): distinct term, -1 when none */
	double *scale;           /* per plan term */
	int valid[2];            /* sources of the validity at shift 0 and 1 */
	int nfilt;
	int filt[DH_CUBE_MAX_FILTERS];
	int need_prev;
	int64_t year[2];
} bitplan;

static void bitplan_free(bitplan *bp)
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
	dim_column(c, pr->dim, &s->col, &s->wide, &domain);
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
	for (uint32_t x = 0; x < domain; x++) {
		dval v = dim_value(p, pr->dim, x, shift);
		s->lut[x] = (uint8_t)pred_accepts(pr, &v);
	}
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
static int bitplan_build(const dh_cube *c, const plan *p, const dh_cube_query *q, bitplan **out)
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
		bitplan_free(bp);
		return rc;
	}
	*out = bp;
	return DH_OK;
}

/* A row range and the counters (one per distinct term) it adds to. */
typedef struct brange {
	uint32_t a, b;
	int64_t *blk;
} brange;

/* Bits of the 64 bytes b[0..64) (each 0 or 1): bit j = b[j]. */
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

static void bit_scan(const bitplan *bp, const plan *p, const brange *ranges, size_t n)
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

/* finalize() from distinct-term counters, for the columns cols[0..ncols) of p (all when
 * cols is NULL). */
static void bit_finalize(const plan *p, const bitplan *bp, const int64_t *blk, const int *cols,
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

/* ---------------------------------------------------------------- groups and threads */

typedef struct group {
	const char *code, *name;
	uint32_t first_range, nranges; /* in the query's range list (range levels) */
	uint64_t rows;
} group;

/* Index of the group coded code in groups[0..ng), or ng when there is none. */
static size_t group_find(const group *groups, size_t ng, const char *code)
{
	size_t k = 0;
	while (k < ng && strcmp(groups[k].code, code) != 0)
		k++;
	return k;
}

typedef struct job {
	const plan *p;
	const bitplan *bp;    /* range levels */
	group *groups;
	uint32_t (*ranges)[2];
	double *values;
	/* range levels: groups [g0, g1) */
	size_t g0, g1;
	/* scatter levels: rows [r0, r1) into blocks */
	size_t r0, r1;
	int64_t *blocks;
	const uint16_t *gid;
	const uint32_t *gid_map;
	int rc;
} job;

static void *run_range_job(void *arg)
{
	job *j = arg;
	const plan *p = j->p;
	const bitplan *bp = j->bp;
	size_t block = bp->nterms ? (size_t)bp->nterms : 1, maxr = 1;
	for (size_t g = j->g0; g < j->g1; g++)
		if (j->groups[g].nranges > maxr)
			maxr = j->groups[g].nranges;
	int64_t *blk = malloc(block * sizeof(int64_t));
	brange *br = malloc(maxr * sizeof(*br));
	if (!blk || !br) {
		free(blk);
		free(br);
		j->rc = DH_NOMEM;
		return NULL;
	}
	for (size_t g = j->g0; g < j->g1; g++) {
		memset(blk, 0, block * sizeof(int64_t));
		const group *gr = &j->groups[g];
		for (uint32_t r = 0; r < gr->nranges; r++)
			br[r] = (brange){ j->ranges[gr->first_range + r][0],
					  j->ranges[gr->first_range + r][1], blk };
		bit_scan(bp, p, br, gr->nranges);
		bit_finalize(p, bp, blk, NULL, p->ncols, j->values + g * p->ncols);
	}
	free(blk);
	free(br);
	return NULL;
}

static void *run_scatter_job(void *arg)
{
	job *j = arg;
	scratch *w = malloc(sizeof(*w));
	if (!w) {
		j->rc = DH_NOMEM;
		return NULL;
	}
	scan(j->p, w, j->r0, j->r1, j->blocks, j->gid, j->gid_map);
	free(w);
	return NULL;
}

static int thread_count(const dh_cube_query *q, uint64_t rows)
{
	int t = q->threads;
	if (t <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		t = n > 0 ? (int)n : 1;
		if (rows < 200000)
			t = 1;
	}
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	return t < 1 ? 1 : t;
}

/* Run jobs[0..n): jobs 1.. on threads, job 0 on the caller; falls back to running inline. */
static void run_jobs(job *jobs, int n, void *(*fn)(void *))
{
	pthread_t th[MAX_THREADS];
	int started[MAX_THREADS] = { 0 };
	for (int i = 1; i < n; i++)
		started[i] = pthread_create(&th[i], NULL, fn, &jobs[i]) == 0;
	fn(&jobs[0]);
	for (int i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			fn(&jobs[i]);
	}
}

/* ---------------------------------------------------------------- tables */

typedef struct table_impl {
	dh_cube_table pub;
	char *pool;
} table_impl;

void dh_cube_table_free(dh_cube_table *t)
{
	if (!t)
		return;
	table_impl *ti = (table_impl *)t;
	free(ti->pool);
	free(t->codes);
	free(t->names);
	free(t->values);
	free(t->columns);
	free(ti);
}

int dh_cube_table_column(const dh_cube_table *t, const char *id)
{
	for (size_t j = 0; j < t->ncols; j++)
		if (strcmp(t->columns[j]->id, id) == 0)
			return (int)j;
	return -1;
}

int dh_cube_table_row(const dh_cube_table *t, const char *code)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (strcmp(t->codes[i], code) == 0)
			return (int)i;
	return -1;
}

static table_impl *table_new(const plan *p, const group *groups, size_t ngroups)
{
	table_impl *ti = calloc(1, sizeof(*ti));
	if (!ti)
		return NULL;
	dh_cube_table *t = &ti->pub;
	size_t pool = 0;
	for (size_t g = 0; g < ngroups; g++)
		pool += strlen(groups[g].code) + strlen(groups[g].name) + 2;
	t->nrows = ngroups;
	t->ncols = p->ncols;
	ti->pool = malloc(pool ? pool : 1);
	t->codes = malloc((ngroups ? ngroups : 1) * sizeof(char *));
	t->names = malloc((ngroups ? ngroups : 1) * sizeof(char *));
	size_t nvalues = ngroups * p->ncols;
	t->values = malloc((nvalues ? nvalues : 1) * sizeof(double));
	t->columns = malloc((p->ncols ? p->ncols : 1) * sizeof(*t->columns));
	if (!ti->pool || !t->codes || !t->names || !t->values || !t->columns) {
		dh_cube_table_free(t);
		return NULL;
	}
	memcpy(t->columns, p->cols, p->ncols * sizeof(*t->columns));
	char *w = ti->pool;
	for (size_t g = 0; g < ngroups; g++) {
		size_t n = strlen(groups[g].code) + 1;
		memcpy(w, groups[g].code, n);
		t->codes[g] = w;
		w += n;
		n = strlen(groups[g].name) + 1;
		memcpy(w, groups[g].name, n);
		t->names[g] = w;
		w += n;
	}
	return ti;
}

/* ---------------------------------------------------------------- levels */

static const char *const level_names[] = { "all", "commune", "epci", "departement", "region",
					   "qpv", "bailleur" };

const char *dh_level_name(dh_level level)
{
	return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level]
									      : "?";
}

int dh_level_find(dh_str name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (dh_str_eq(name, level_names[i]))
			return (int)i;
	if (dh_str_eq(name, "landlord"))
		return DH_LEVEL_LANDLORD;
	if (dh_str_eq(name, "département"))
		return DH_LEVEL_DEPARTEMENT;
	if (dh_str_eq(name, "région"))
		return DH_LEVEL_REGION;
	if (dh_str_eq(name, "france") || dh_str_eq(name, "tout"))
		return DH_LEVEL_ALL;
	return -1;
}

static int valid_ref_date(int32_t d)
{
	int32_t y = d / 10000, m = (d / 100) % 100, day = d % 100;
	return y >= 1801 && y <= 2140 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* Geographic levels: groups with their row ranges. */
static int range_groups(const dh_cube *c, dh_level level, group **gout, size_t *ngout,
			uint32_t (**rout)[2])
{
	size_t cap = c->ncommunes + 1, ng = 0, nr = 0;
	group *g = calloc(cap, sizeof(*g));
	uint32_t(*r)[2] = malloc(cap * sizeof(*r));
	if (!g || !r) {
		free(g);
		free(r);
		return DH_NOMEM;
	}
	if (level == DH_LEVEL_COMMUNE) {
		for (size_t k = 0; k < c->ncommunes; k++) {
			const cube_commune *cc = &c->communes[c->commune_order[k]];
			if (cc->row_end == cc->row_begin)
				continue;
			g[ng] = (group){ cc->code, cc->name, (uint32_t)nr, 1, cc->row_end - cc->row_begin };
			r[nr][0] = cc->row_begin;
			r[nr][1] = cc->row_end;
			nr++, ng++;
		}
	} else if (level == DH_LEVEL_DEPARTEMENT || level == DH_LEVEL_REGION) {
		const cube_area *a = level == DH_LEVEL_REGION ? c->regions : c->departements;
		size_t na = level == DH_LEVEL_REGION ? c->nregions : c->ndepartements;
		/* in row order */
		for (size_t k = 0; k < c->ncommunes; k++) {
			const cube_commune *cc = &c->communes[c->commune_order[k]];
			const cube_area *ar = &a[level == DH_LEVEL_REGION ? cc->region : cc->departement];
			if (!ar->nrows || ar->row_begin != cc->row_begin || cc->row_end == cc->row_begin)
				continue;
			g[ng] = (group){ ar->code, ar->name, (uint32_t)nr, 1, ar->nrows };
			r[nr][0] = ar->row_begin;
			r[nr][1] = ar->row_end;
			nr++, ng++;
		}
		(void)na;
	} else { /* EPCI: the ranges of its communes */
		for (size_t e = 0; e < c->nepcis; e++) {
			if (!c->epcis[e].nrows)
				continue;
			g[ng] = (group){ c->epcis[e].code, c->epcis[e].name, (uint32_t)nr, 0, c->epcis[e].nrows };
			for (uint32_t m = c->epci_first[e]; m < c->epci_first[e + 1]; m++) {
				const cube_commune *cc = &c->communes[c->epci_communes[m]];
				if (cc->row_end == cc->row_begin)
					continue;
				if (g[ng].nranges && r[nr - 1][1] == cc->row_begin) {
					r[nr - 1][1] = cc->row_end; /* adjacent communes: one range */
					continue;
				}
				r[nr][0] = cc->row_begin;
				r[nr][1] = cc->row_end;
				nr++;
				g[ng].nranges++;
			}
			ng++;
		}
	}
	*gout = g;
	*ngout = ng;
	*rout = r;
	return DH_OK;
}

static int run_range_groups(const dh_cube *c, const plan *p, const bitplan *bp,
			    const dh_cube_query *q, dh_cube_table **out, dh_error *err)
{
	group *groups = NULL;
	size_t ng = 0;
	uint32_t(*ranges)[2] = NULL;
	if (range_groups(c, q->level, &groups, &ng, &ranges) != DH_OK)
		return dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
	if (q->territory) {
		size_t k = group_find(groups, ng, q->territory);
		if (k == ng) {
			free(groups);
			free(ranges);
			return dh_error_set(err, DH_NOTFOUND, "cube : territoire « %s » sans logement",
					    q->territory);
		}
		groups[0] = groups[k];
		ng = 1;
	}
	table_impl *ti = table_new(p, groups, ng);
	if (!ti) {
		free(groups);
		free(ranges);
		return dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
	}
	uint64_t total = 0;
	for (size_t g = 0; g < ng; g++)
		total += groups[g].rows;
	int nt = thread_count(q, total);
	if ((size_t)nt > ng)
		nt = ng ? (int)ng : 1;
	job jobs[MAX_THREADS];
	uint64_t acc = 0;
	size_t g = 0;
	for (int t = 0; t < nt; t++) {
		jobs[t] = (job){ .p = p, .bp = bp, .groups = groups, .ranges = ranges,
				 .values = ti->pub.values };
		jobs[t].g0 = g;
		uint64_t target = total * (uint64_t)(t + 1) / (uint64_t)nt;
		while (g < ng && (acc < target || t == nt - 1)) {
			acc += groups[g].rows;
			g++;
		}
		jobs[t].g1 = g;
	}
	run_jobs(jobs, nt, run_range_job);
	int rc = DH_OK;
	for (int t = 0; t < nt; t++)
		if (jobs[t].rc != DH_OK)
			rc = jobs[t].rc;
	free(groups);
	free(ranges);
	if (rc != DH_OK) {
		dh_cube_table_free(&ti->pub);
		return dh_error_set(err, rc, "cube : mémoire insuffisante");
	}
	*out = &ti->pub;
	return DH_OK;
}

/* Geographic levels: the bitmap engine over the row ranges of each territory. */
static int run_range_level(const dh_cube *c, const plan *p, const dh_cube_query *q,
			   dh_cube_table **out, dh_error *err)
{
	bitplan *bp = NULL;
	int rc = bitplan_build(c, p, q, &bp);
	if (rc != DH_OK)
		return dh_error_set(err, rc, rc == DH_NOMEM ? "cube : mémoire insuffisante"
							    : "cube : requête trop complexe");
	rc = run_range_groups(c, p, bp, q, out, err);
	bitplan_free(bp);
	return rc;
}

static int run_scatter_level(const dh_cube *c, const plan *p, const dh_cube_query *q,
			     dh_cube_table **out, dh_error *err)
{
	const cube_area *areas = NULL;
	size_t nareas = 0;
	const uint16_t *gid = NULL;
	if (q->level == DH_LEVEL_QPV) {
		areas = c->qpvs;
		nareas = c->nqpvs;
		gid = c->qpv_code;
	} else if (q->level == DH_LEVEL_LANDLORD) {
		areas = c->landlords;
		nareas = c->nlandlords;
		gid = c->landlord;
	}
	size_t ng = 0;
	group *groups = malloc((nareas + 1) * sizeof(*groups));
	uint32_t *gid_map = malloc((nareas + 1) * sizeof(*gid_map));
	int64_t *blocks = NULL;
	table_impl *ti = NULL;
	int rc = DH_OK;
	size_t r0 = 0, r1 = c->nrows;
	if (!groups || !gid_map) {
		rc = DH_NOMEM;
		goto done;
	}
	if (!gid) {
		groups[ng++] = (group){ "", "Ensemble", 0, 0, c->nrows };
	} else {
		for (size_t a = 0; a < nareas; a++) {
			gid_map[a] = NO_GROUP;
			if (!areas[a].nrows || !areas[a].code[0])
				continue;
			if (q->territory && strcmp(q->territory, areas[a].code) != 0)
				continue;
			gid_map[a] = (uint32_t)ng;
			groups[ng++] = (group){ areas[a].code, areas[a].name, 0, 0, areas[a].nrows };
			if (q->territory) {
				r0 = areas[a].row_begin;
				r1 = areas[a].row_end;
			}
		}
		if (q->territory && !ng) {
			free(groups);
			free(gid_map);
			return dh_error_set(err, DH_NOTFOUND, "cube : territoire « %s » sans logement",
					    q->territory);
		}
	}
	int nt = thread_count(q, r1 - r0);
	blocks = calloc((size_t)nt * (ng ? ng : 1) * p->block, sizeof(int64_t));
	ti = table_new(p, groups, ng);
	if (!blocks || !ti) {
		rc = DH_NOMEM;
		goto done;
	}
	job jobs[MAX_THREADS];
	for (int t = 0; t < nt; t++) {
		jobs[t] = (job){ .p = p, .gid = gid, .gid_map = gid_map };
		jobs[t].r0 = r0 + (r1 - r0) * (size_t)t / (size_t)nt;
		jobs[t].r1 = r0 + (r1 - r0) * (size_t)(t + 1) / (size_t)nt;
		jobs[t].blocks = blocks + (size_t)t * (ng ? ng : 1) * p->block;
	}
	run_jobs(jobs, nt, run_scatter_job);
	for (int t = 0; t < nt; t++)
		if (jobs[t].rc != DH_OK)
			rc = jobs[t].rc;
	if (rc != DH_OK)
		goto done;
	size_t nacc = ng * p->block;
	for (int t = 1; t < nt; t++)
		for (size_t k = 0; k < nacc; k++)
			blocks[k] += jobs[t].blocks[k];
	for (size_t g = 0; g < ng; g++)
		finalize(p, blocks + g * p->block, ti->pub.values + g * p->ncols);
done:
	free(groups);
	free(gid_map);
	free(blocks);
	if (rc != DH_OK) {
		if (ti)
			dh_cube_table_free(&ti->pub);
		return dh_error_set(err, rc, "cube : mémoire insuffisante");
	}
	*out = &ti->pub;
	return DH_OK;
}

/* ---------------------------------------------------------------- per-date commune counters */

struct cube_dateplan {
	atomic_long refs;     /* the cache's reference plus one per reading query */
	int32_t date;         /* reference date */
	plan *p;              /* default plan: every indicator (column i = registry position) */
	bitplan *bp;          /* its bitmap program: the distinct terms are the counters */
	size_t block;         /* counters per commune (distinct terms, at least 1) */
	int64_t *blocks;      /* (ncommunes + 1) blocks of `block` counters, by commune rank in
	                         cube order; the last one holds the rows without commune */
	uint32_t *rank;       /* commune index -> rank in cube order */
	size_t memory;        /* bytes held */
};

static void dateplan_release(cube_dateplan *dp)
{
	if (!dp || atomic_fetch_sub_explicit(&dp->refs, 1, memory_order_acq_rel) != 1)
		return;
	plan_free(dp->p);
	bitplan_free(dp->bp);
	free(dp->blocks);
	free(dp->rank);
	free(dp);
}

typedef struct block_job {
	const cube_dateplan *dp;
	const brange *ranges; /* one per commune rank, and the rows without commune */
	size_t k0, k1;        /* ranks of this job */
} block_job;

static void *run_block_job(void *arg)
{
	block_job *j = arg;
	bit_scan(j->dp->bp, j->dp->p, j->ranges + j->k0, j->k1 - j->k0);
	return NULL;
}

/* One pass over the rows: the default plan's counters of every commune at `date`. */
static int dateplan_build(const dh_cube *c, int32_t date, int threads, cube_dateplan **out)
{
	cube_dateplan *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return DH_NOMEM;
	atomic_init(&dp->refs, 1);
	dp->date = date;
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = date };
	int rc = plan_build(c, &q, 0, &dp->p, NULL);
	if (rc == DH_OK)
		rc = bitplan_build(c, dp->p, &q, &dp->bp);
	if (rc != DH_OK) {
		dateplan_release(dp);
		return rc;
	}
	size_t nc = c->ncommunes;
	size_t block = dp->block = dp->bp->nterms ? (size_t)dp->bp->nterms : 1;
	dp->blocks = calloc((nc + 1) * block, sizeof(int64_t));
	dp->rank = malloc((nc ? nc : 1) * sizeof(uint32_t));
	brange *ranges = malloc((nc + 1) * sizeof(*ranges));
	if (!dp->blocks || !dp->rank || !ranges) {
		free(ranges);
		dateplan_release(dp);
		return DH_NOMEM;
	}
	dp->memory = sizeof(*dp) + (nc + 1) * block * sizeof(int64_t) + nc * sizeof(uint32_t);
	uint32_t tail = 0;
	for (size_t k = 0; k < nc; k++) {
		const cube_commune *cc = &c->communes[c->commune_order[k]];
		dp->rank[c->commune_order[k]] = (uint32_t)k;
		ranges[k] = (brange){ cc->row_begin, cc->row_end, dp->blocks + k * block };
		if (cc->row_end > tail)
			tail = cc->row_end;
	}
	ranges[nc] = (brange){ tail, (uint32_t)c->nrows, dp->blocks + nc * block };
	dh_cube_query tq = { .threads = threads };
	int nt = thread_count(&tq, c->nrows);
	block_job jobs[MAX_THREADS];
	size_t k = 0;
	uint64_t acc = 0;
	for (int t = 0; t < nt; t++) {
		jobs[t] = (block_job){ .dp = dp, .ranges = ranges };
		jobs[t].k0 = k;
		uint64_t target = (uint64_t)c->nrows * (uint64_t)(t + 1) / (uint64_t)nt;
		while (k <= nc && (acc < target || t == nt - 1)) {
			acc += ranges[k].b - ranges[k].a;
			k++;
		}
		jobs[t].k1 = k;
	}
	pthread_t th[MAX_THREADS];
	int started[MAX_THREADS] = { 0 };
	for (int t = 1; t < nt; t++)
		started[t] = pthread_create(&th[t], NULL, run_block_job, &jobs[t]) == 0;
	run_block_job(&jobs[0]);
	for (int t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			run_block_job(&jobs[t]);
	}
	free(ranges);
	*out = dp;
	return DH_OK;
}

/* Put dp in the cache (caller holds date_lock), replacing the oldest entry. */
static void dateplan_insert(dh_cube *c, cube_dateplan *dp)
{
	for (unsigned i = 0; i < CUBE_DATE_SLOTS; i++)
		if (!c->dateplans[i]) {
			c->dateplans[i] = dp;
			return;
		}
	unsigned i = c->date_next++ % CUBE_DATE_SLOTS;
	dateplan_release(c->dateplans[i]);
	c->dateplans[i] = dp;
}

int cube_dateplan_warm(dh_cube *cube, int32_t date)
{
	if (!valid_ref_date(date))
		return DH_OK; /* not a usable reference date: nothing to prepare */
	cube_dateplan *dp;
	int rc = dateplan_build(cube, date, 0, &dp);
	if (rc != DH_OK)
		return rc;
	pthread_mutex_lock(&cube->date_lock);
	dateplan_insert(cube, dp);
	pthread_mutex_unlock(&cube->date_lock);
	return DH_OK;
}

void cube_dateplans_free(dh_cube *cube)
{
	for (unsigned i = 0; i < CUBE_DATE_SLOTS; i++) {
		dateplan_release(cube->dateplans[i]);
		cube->dateplans[i] = NULL;
	}
}

size_t cube_dateplans_memory(const dh_cube *cube)
{
	dh_cube *c = (dh_cube *)(uintptr_t)cube; /* the lock is not part of the value */
	size_t m = 0;
	pthread_mutex_lock(&c->date_lock);
	for (unsigned i = 0; i < CUBE_DATE_SLOTS; i++)
		if (c->dateplans[i])
			m += c->dateplans[i]->memory;
	pthread_mutex_unlock(&c->date_lock);
	return m;
}

/*
 * The commune counters at `date` with one reference for the caller, or NULL. When they are
 * not cached and `build` is set, they are computed (once: other queries of the same date
 * wait for them). NULL on failure too: the caller then takes the row-scanning path.
 */
static cube_dateplan *dateplan_acquire(const dh_cube *cube, int32_t date, int build, int threads)
{
	dh_cube *c = (dh_cube *)(uintptr_t)cube; /* the cache is not part of the cube's value */
	cube_dateplan *dp = NULL;
	pthread_mutex_lock(&c->date_lock);
	for (unsigned i = 0; i < CUBE_DATE_SLOTS && !dp; i++)
		if (c->dateplans[i] && c->dateplans[i]->date == date)
			dp = c->dateplans[i];
	if (!dp && build && dateplan_build(c, date, threads, &dp) == DH_OK)
		dateplan_insert(c, dp);
	if (dp)
		atomic_fetch_add_explicit(&dp->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&c->date_lock);
	return dp;
}

/* A group of the fast path: commune ranks ranks[first .. first + n). */
typedef struct rgroup {
	const char *code, *name;
	uint32_t first, n;
} rgroup;

/* Groups of a geographic level (or the whole cube) as lists of commune ranks, in the
 * order of range_groups(). */
static int rank_groups(const dh_cube *c, const cube_dateplan *dp, dh_level level,
		       rgroup **gout, size_t *ngout, uint32_t **rout)
{
	size_t nc = c->ncommunes, ng = 0, nr = 0;
	rgroup *g = malloc((nc + 1) * sizeof(*g));
	uint32_t *r = malloc((nc + 1) * sizeof(*r));
	if (!g || !r) {
		free(g);
		free(r);
		return DH_NOMEM;
	}
	if (level == DH_LEVEL_ALL) {
		g[ng++] = (rgroup){ "", "Ensemble", 0, (uint32_t)nc + 1 };
		for (size_t k = 0; k <= nc; k++)
			r[nr++] = (uint32_t)k;
	} else if (level == DH_LEVEL_COMMUNE) {
		for (size_t k = 0; k < nc; k++) {
			const cube_commune *cc = &c->communes[c->commune_order[k]];
			if (cc->row_end == cc->row_begin)
				continue;
			g[ng++] = (rgroup){ cc->code, cc->name, (uint32_t)nr, 1 };
			r[nr++] = (uint32_t)k;
		}
	} else if (level == DH_LEVEL_DEPARTEMENT || level == DH_LEVEL_REGION) {
		const cube_area *a = level == DH_LEVEL_REGION ? c->regions : c->departements;
		int32_t cur = -1;
		for (size_t k = 0; k < nc; k++) {
			const cube_commune *cc = &c->communes[c->commune_order[k]];
			int32_t ai = level == DH_LEVEL_REGION ? cc->region : cc->departement;
			if (!a[ai].nrows)
				continue;
			if (ai != cur) {
				g[ng++] = (rgroup){ a[ai].code, a[ai].name, (uint32_t)nr, 0 };
				cur = ai;
			}
			if (cc->row_end == cc->row_begin)
				continue;
			r[nr++] = (uint32_t)k;
			g[ng - 1].n++;
		}
	} else { /* EPCI */
		for (size_t e = 0; e < c->nepcis; e++) {
			if (!c->epcis[e].nrows)
				continue;
			g[ng] = (rgroup){ c->epcis[e].code, c->epcis[e].name, (uint32_t)nr, 0 };
			for (uint32_t m = c->epci_first[e]; m < c->epci_first[e + 1]; m++) {
				const cube_commune *cc = &c->communes[c->epci_communes[m]];
				if (cc->row_end == cc->row_begin)
					continue;
				r[nr++] = dp->rank[c->epci_communes[m]];
				g[ng].n++;
			}
			ng++;
		}
	}
	*gout = g;
	*ngout = ng;
	*rout = r;
	return DH_OK;
}

/* A geographic table without filter from the per-date commune counters. */
static int run_from_dateplan(const dh_cube *c, const cube_dateplan *dp, const dh_cube_query *q,
			     dh_cube_table **out, dh_error *err)
{
	const plan *p = dp->p;
	size_t ncols = q->indicators ? q->nindicators : p->ncols;
	for (size_t j = 0; q->indicators && j < ncols; j++)
		if (q->indicators[j] < 0 || (size_t)q->indicators[j] >= p->ncols)
			return dh_error_set(err, DH_INVAL, "cube : indicateur n° %d inconnu",
					    q->indicators[j]);
	rgroup *rg = NULL;
	uint32_t *ranks = NULL;
	size_t ng = 0;
	if (rank_groups(c, dp, q->level, &rg, &ng, &ranks) != DH_OK)
		return dh_error_set(err, DH_NOMEM, "cube : mémoire insuffisante");
	if (q->territory && q->level != DH_LEVEL_ALL) {
		size_t k = 0;
		while (k < ng && strcmp(rg[k].code, q->territory) != 0)
			k++;
		if (k == ng) {
			free(rg);
			free(ranks);
			return dh_error_set(err, DH_NOTFOUND, "cube : territoire « %s » sans logement",
					    q->territory);
		}
		rg[0] = rg[k];
		ng = 1;
	}
	/* the table's shape: columns of the query, rows of the groups */
	plan shape;
	shape.ncols = ncols;
	const dh_indicator **cols = malloc((ncols ? ncols : 1) * sizeof(*cols));
	group *groups = malloc((ng ? ng : 1) * sizeof(*groups));
	int64_t *sum = malloc(dp->block * sizeof(int64_t));
	table_impl *ti = NULL;
	int rc = DH_NOMEM;
	if (!cols || !groups || !sum)
		goto done;
	for (size_t j = 0; j < ncols; j++)
		cols[j] = p->cols[q->indicators ? (size_t)q->indicators[j] : j];
	shape.cols = cols;
	for (size_t g = 0; g < ng; g++)
		groups[g] = (group){ rg[g].code, rg[g].name, 0, 0, 0 };
	ti = table_new(&shape, groups, ng);
	if (!ti)
		goto done;
	for (size_t g = 0; g < ng; g++) {
		const int64_t *blk;
		if (rg[g].n == 1) {
			blk = dp->blocks + (size_t)ranks[rg[g].first] * dp->block;
		} else {
			memset(sum, 0, dp->block * sizeof(int64_t));
			for (uint32_t m = 0; m < rg[g].n; m++) {
				const int64_t *b = dp->blocks + (size_t)ranks[rg[g].first + m] * dp->block;
				for (size_t x = 0; x < dp->block; x++)
					sum[x] += b[x];
			}
			blk = sum;
		}
		bit_finalize(p, dp->bp, blk, q->indicators, ncols, ti->pub.values + g * ncols);
	}
	rc = DH_OK;
done:
	free(cols);
	free(groups);
	free(sum);
	free(rg);
	free(ranks);
	if (rc != DH_OK) {
		if (ti)
			dh_cube_table_free(&ti->pub);
		return dh_error_set(err, rc, "cube : mémoire insuffisante");
	}
	*out = &ti->pub;
	return DH_OK;
}

/* The list arguments of a query bounded and checked before any work: columns (a column may
 * repeat, as the callers' own columns plus a population column), filters and their sets. */
static int query_lists_check(const dh_cube_query *q, dh_error *err)
{
	if (q->indicators && q->nindicators > DH_CUBE_MAX_COLUMNS)
		return dh_error_set(err, DH_INVAL, "cube : trop de colonnes (%zu, au plus %d)", q->nindicators,
				    DH_CUBE_MAX_COLUMNS);
	for (size_t i = 0; q->indicators && i < q->nindicators; i++)
		if (q->indicators[i] < 0 || (size_t)q->indicators[i] >= dh_indicator_count())
			return dh_error_set(err, DH_INVAL, "cube : indicateur n° %d inconnu", q->indicators[i]);
	if (q->nfilters > DH_CUBE_MAX_FILTERS)
		return dh_error_set(err, DH_INVAL, "cube : plus de %d filtres", DH_CUBE_MAX_FILTERS);
	if (q->nfilters && !q->filters)
		return dh_error_set(err, DH_INVAL, "cube : filtres absents");
	for (size_t i = 0; i < q->nfilters; i++)
		if (dh_predicate_set_check(&q->filters[i], err) != DH_OK)
			return DH_INVAL;
	return DH_OK;
}

int dh_cube_query_run(const dh_cube *cube, const dh_cube_query *q, dh_cube_table **out,
		      dh_error *err)
{
	*out = NULL;
	if (query_lists_check(q, err) != DH_OK)
		return DH_INVAL;
	if ((unsigned)q->level > DH_LEVEL_LANDLORD)
		return dh_error_set(err, DH_INVAL, "cube : niveau géographique inconnu");
	if (!valid_ref_date(q->reference_date))
		return dh_error_set(err, DH_INVAL, "cube : date de référence %d invalide",
				    (int)q->reference_date);
	/* Geographic tables without filter: from the per-date commune counters, computed
	 * here for a whole table, only used if already there for one territory (one
	 * territory alone is cheaper to scan than a whole pass over the cube). */
	if (!q->nfilters && q->level <= DH_LEVEL_REGION) {
		cube_dateplan *dp = dateplan_acquire(cube, q->reference_date, !q->territory,
						     q->threads);
		if (dp) {
			int frc = run_from_dateplan(cube, dp, q, out, err);
			dateplan_release(dp);
			return frc;
		}
	}
	plan *p = NULL;
	int rc = plan_build(cube, q, q->level >= DH_LEVEL_QPV || q->level == DH_LEVEL_ALL, &p, err);
	if (rc != DH_OK)
		return rc;
	switch (q->level) {
	case DH_LEVEL_COMMUNE:
	case DH_LEVEL_EPCI:
	case DH_LEVEL_DEPARTEMENT:
	case DH_LEVEL_REGION:
		rc = run_range_level(cube, p, q, out, err);
		break;
	default:
		rc = run_scatter_level(cube, p, q, out, err);
		break;
	}
	plan_free(p);
	return rc;
}

/* ---------------------------------------------------------------- commune x landlord */

void dh_cube_split_free(dh_cube_split *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrows; i++) {
		free(s->codes ? s->codes[i] : NULL);
		free(s->names ? s->names[i] : NULL);
	}
	for (size_t l = 0; l < s->nlandlords; l++)
		free(s->landlords ? s->landlords[l] : NULL);
	free(s->codes);
	free(s->names);
	free(s->landlords);
	free(s->columns);
	free(s->first);
	free(s->landlord);
	free(s->values);
	free(s);
}

typedef struct split_job {
	const bitplan *bp;
	const plan *p;
	const brange *ranges;
	size_t r0, r1;        /* ranges of this job: whole communes, so no part is shared */
} split_job;

static void *run_split_job(void *arg)
{
	split_job *j = arg;
	bit_scan(j->bp, j->p, j->ranges + j->r0, j->r1 - j->r0);
	return NULL;
}

/*
 * The parts of the communes groups[0..ng) (s->first, s->landlord, s->nparts) and the row
 * ranges to count: one per run of one landlord's rows, in row order, *part receiving the
 * part each adds to, rfirst[g] .. rfirst[g + 1] those of commune g. Runs of a landlord met
 * twice in one commune (never after the build's sort) add to the same part.
 */
static int split_parts(const dh_cube *c, const group *groups, size_t ng,
		       const uint32_t (*granges)[2], dh_cube_split *s, brange **rout,
		       size_t **pout, size_t **rfout)
{
	size_t cap = 0;
	for (size_t g = 0; g < ng; g++) {
		uint32_t a = granges[groups[g].first_range][0], b = granges[groups[g].first_range][1];
		for (uint32_t i = a; i < b; i++)
			cap += i == a || c->landlord[i] != c->landlord[i - 1];
	}
	brange *r = malloc((cap ? cap : 1) * sizeof(*r));
	size_t *part = malloc((cap ? cap : 1) * sizeof(size_t));
	size_t *rfirst = malloc((ng + 1) * sizeof(size_t));
	int32_t *slot = malloc((c->nlandlords ? c->nlandlords : 1) * sizeof(int32_t));
	s->first = malloc((ng + 1) * sizeof(size_t));
	s->landlord = malloc((cap ? cap : 1) * sizeof(uint32_t));
	if (!r || !part || !rfirst || !slot || !s->first || !s->landlord) {
		free(r);
		free(part);
		free(rfirst);
		free(slot);
		return DH_NOMEM;
	}
	for (size_t l = 0; l < c->nlandlords; l++)
		slot[l] = -1;
	size_t nr = 0, np = 0;
	for (size_t g = 0; g < ng; g++) {
		uint32_t a = granges[groups[g].first_range][0], b = granges[groups[g].first_range][1];
		size_t p0 = np;
		s->first[g] = p0;
		rfirst[g] = nr;
		for (uint32_t i = a; i < b;) {
			uint16_t l = c->landlord[i];
			uint32_t e = i + 1;
			while (e < b && c->landlord[e] == l)
				e++;
			if (slot[l] < 0) {
				slot[l] = 0;
				s->landlord[np++] = l;
			}
			r[nr++] = (brange){ i, e, NULL };
			i = e;
		}
		/* parts by increasing landlord inside the commune (insertion sort: few parts) */
		for (size_t x = p0 + 1; x < np; x++)
			for (size_t y = x; y > p0 && s->landlord[y - 1] > s->landlord[y]; y--) {
				uint32_t t = s->landlord[y];
				s->landlord[y] = s->landlord[y - 1];
				s->landlord[y - 1] = t;
			}
		for (size_t x = p0; x < np; x++)
			slot[s->landlord[x]] = (int32_t)x - (int32_t)p0;
		for (size_t k = rfirst[g]; k < nr; k++)
			part[k] = p0 + (size_t)slot[c->landlord[r[k].a]];
		for (size_t x = p0; x < np; x++)
			slot[s->landlord[x]] = -1;
	}
	s->first[ng] = np;
	rfirst[ng] = nr;
	s->nparts = np;
	free(slot);
	*rout = r;
	*pout = part;
	*rfout = rfirst;
	return DH_OK;
}

int dh_cube_query_split(const dh_cube *cube, const dh_cube_query *q, dh_cube_split **out,
			dh_error *err)
{
	*out = NULL;
	if (query_lists_check(q, err) != DH_OK)
		return DH_INVAL;
	if (q->level != DH_LEVEL_COMMUNE)
		return dh_error_set(err, DH_INVAL, "cube : la ventilation par bailleur se fait par commune");
	if (!valid_ref_date(q->reference_date))
		return dh_error_set(err, DH_INVAL, "cube : date de référence %d invalide",
				    (int)q->reference_date);
	plan *p = NULL;
	int rc = plan_build(cube, q, 0, &p, err);
	if (rc != DH_OK)
		return rc;
	bitplan *bp = NULL;
	group *groups = NULL;
	size_t ng = 0;
	uint32_t(*granges)[2] = NULL;
	brange *ranges = NULL;
	size_t *part = NULL, *rfirst = NULL;
	int64_t *blocks = NULL;
	dh_cube_split *s = calloc(1, sizeof(*s));
	rc = DH_NOMEM;
	if (!s)
		goto done;
	rc = bitplan_build(cube, p, q, &bp);
	if (rc != DH_OK)
		goto done;
	rc = range_groups(cube, DH_LEVEL_COMMUNE, &groups, &ng, &granges);
	if (rc != DH_OK)
		goto done;
	if (q->territory) {
		size_t k = group_find(groups, ng, q->territory);
		if (k == ng) {
			rc = DH_NOTFOUND;
			goto done;
		}
		groups[0] = groups[k];
		ng = 1;
	}
	rc = split_parts(cube, groups, ng, (const uint32_t(*)[2])granges, s, &ranges, &part, &rfirst);
	if (rc != DH_OK)
		goto done;
	rc = DH_NOMEM;
	size_t block = bp->nterms ? (size_t)bp->nterms : 1, ncols = p->ncols;
	size_t nvalues = s->nparts * ncols;
	blocks = calloc((s->nparts ? s->nparts : 1) * block, sizeof(int64_t));
	s->nrows = ng;
	s->ncols = ncols;
	s->nlandlords = cube->nlandlords;
	s->codes = calloc(ng ? ng : 1, sizeof(char *));
	s->names = calloc(ng ? ng : 1, sizeof(char *));
	s->landlords = calloc(s->nlandlords ? s->nlandlords : 1, sizeof(char *));
	s->columns = malloc((ncols ? ncols : 1) * sizeof(*s->columns));
	s->values = malloc((nvalues ? nvalues : 1) * sizeof(double));
	if (!blocks || !s->codes || !s->names || !s->landlords || !s->columns || !s->values)
		goto done;
	memcpy(s->columns, p->cols, ncols * sizeof(*s->columns));
	for (size_t g = 0; g < ng; g++)
		if (!(s->codes[g] = strdup(groups[g].code)) || !(s->names[g] = strdup(groups[g].name)))
			goto done;
	for (size_t l = 0; l < s->nlandlords; l++)
		if (!(s->landlords[l] = strdup(cube->landlords[l].code)))
			goto done;
	for (size_t k = 0; k < rfirst[ng]; k++)
		ranges[k].blk = blocks + part[k] * block;
	/* threads over whole communes: the counters of a part are written by one thread */
	uint64_t total = 0;
	for (size_t g = 0; g < ng; g++)
		total += groups[g].rows;
	int nt = thread_count(q, total);
	split_job jobs[MAX_THREADS];
	size_t g = 0;
	uint64_t acc = 0;
	for (int t = 0; t < nt; t++) {
		jobs[t] = (split_job){ .bp = bp, .p = p, .ranges = ranges, .r0 = rfirst[g] };
		uint64_t target = total * (uint64_t)(t + 1) / (uint64_t)nt;
		while (g < ng && (acc < target || t == nt - 1))
			acc += groups[g++].rows;
		jobs[t].r1 = rfirst[g];
	}
	pthread_t th[MAX_THREADS];
	int started[MAX_THREADS] = { 0 };
	for (int t = 1; t < nt; t++)
		started[t] = pthread_create(&th[t], NULL, run_split_job, &jobs[t]) == 0;
	run_split_job(&jobs[0]);
	for (int t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			run_split_job(&jobs[t]);
	}
	for (size_t x = 0; x < s->nparts; x++)
		bit_finalize(p, bp, blocks + x * block, NULL, ncols, s->values + x * ncols);
	rc = DH_OK;
done:
	plan_free(p);
	bitplan_free(bp);
	free(groups);
	free(granges);
	free(ranges);
	free(part);
	free(rfirst);
	free(blocks);
	if (rc != DH_OK) {
		dh_cube_split_free(s);
		if (rc == DH_NOTFOUND)
			return dh_error_set(err, rc, "cube : territoire « %s » sans logement",
					    q->territory);
		return dh_error_set(err, rc, rc == DH_TOOBIG ? "cube : requête trop complexe"
							     : "cube : mémoire insuffisante");
	}
	*out = s;
	return DH_OK;
}

/* ---------------------------------------------------------------- filters */

int dh_cube_filter_parse(const char *text, dh_predicate *out, dh_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *eq = strchr(text, '=');
	if (!eq || eq == text)
		return dh_error_set(err, DH_INVAL, "filtre « %s » : forme attendue CHAMP=valeurs", text);
	dh_dim d = dh_dim_find((dh_str){ text, (size_t)(eq - text) });
	if (d == DH_DIM_NONE)
		return dh_error_set(err, DH_INVAL, "filtre « %s » : champ inconnu", text);
	const char *v = eq + 1;
	out->dim = d;
	const char *dots = strstr(v, "..");
	if (strcmp(v, "-") == 0) {
		out->op = DH_OP_ABSENT;
	} else if (strcmp(v, "*") == 0) {
		out->op = DH_OP_PRESENT;
	} else if (dots) {
		char *end;
		long lo = strtol(v, &end, 10);
		if (end != dots)
			return dh_error_set(err, DH_INVAL, "filtre « %s » : borne basse invalide", text);
		long hi = strtol(dots + 2, &end, 10);
		if (*end || end == dots + 2 || lo > hi || lo < INT32_MIN || hi > INT32_MAX)
			return dh_error_set(err, DH_INVAL, "filtre « %s » : intervalle invalide", text);
		out->op = DH_OP_RANGE;
		out->lo = (int32_t)lo;
		out->hi = (int32_t)hi;
	} else if (*v) {
		out->op = DH_OP_IN;
		out->set = v;
	} else {
		return dh_error_set(err, DH_INVAL, "filtre « %s » : valeur manquante", text);
	}
	if (!pred_valid(out))
		return dh_error_set(err, DH_INVAL, "filtre « %s » : opération impossible sur ce champ",
				    text);
	return dh_predicate_set_check(out, err);
}
