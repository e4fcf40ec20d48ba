/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_plan.c - the query compiler: dimension columns and their values at a reference date,
 * predicates, and the plan of a query (counter keys, row masks, bucket tables, filters)
 * that the counter scan (cube_scan.c) runs and the bitmap engine (cube_bitmap.c) starts from.
 * See "query engine" in internal.h for how the pieces fit.
 */
#include "cube/internal.h"

#include <stdlib.h>
#include <string.h>

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
void dh__dim_column(const dh_cube *c, dh_dim d, const void **col, int *wide, uint32_t *domain)
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

/* lut[x] = pr holds for column value x (x < domain) at year shift `shift`. */
void dh__pred_lut(const plan *p, const dh_predicate *pr, int shift, uint8_t *lut, uint32_t domain)
{
	for (uint32_t x = 0; x < domain; x++) {
		dval v = dim_value(p, pr->dim, x, shift);
		lut[x] = (uint8_t)pred_accepts(pr, &v);
	}
}

int dh__pred_valid(const dh_predicate *pr)
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

void dh__plan_free(plan *p)
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
static int build_field(plan *p, ckey *k, kfield *f)
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
		ckey *kk = &p->keys[k];
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
		ckey *ka = &p->keys[a];
		if (ka->dead)
			continue;
		for (int b = a + 1; b < p->nkeys; b++) {
			ckey *kb = &p->keys[b];
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
		ckey *kk = &p->keys[k];
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
	ckey *k = &p->keys[t->key];
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

/*
 * Compile a query. with_keys: also group the terms into counter keys for the counter scan
 * (the scatter levels); the bitmap engine only needs the terms, dates and filters.
 */
int dh__plan_build(const dh_cube *c, const dh_cube_query *q, int with_keys, plan **out,
		   dh_error *err)
{
	plan *p = calloc(1, sizeof(*p));
	if (!p)
		return dh_error_nomem(err);
	int rc = DH_OK;
	p->cube = c;
	p->ncols = q->indicators ? q->nindicators : dh_indicator_count();
	p->cols = calloc(p->ncols ? p->ncols : 1, sizeof(*p->cols));
	p->terms = calloc(2 * p->ncols + 1, sizeof(*p->terms));
	tref **order = calloc(2 * p->ncols + 1, sizeof(*order));
	if (!p->cols || !p->terms || !order) {
		rc = dh_error_nomem(err);
		goto done;
	}
	int32_t d = q->reference_date;
	p->year[0] = d / 10000;
	p->year[1] = p->year[0] - 1;
	p->month[0] = month_of(d);
	p->month[1] = p->month[0] - 12;
	p->e0 = dh__cube_epoch(c, d);
	p->e1 = dh__cube_epoch(c, date_minus_year(d));
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
				if (!dh__pred_valid(&ts[j]->where[k])) {
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
			ckey *nk = &p->keys[p->nkeys++];
			nk->dimset = ds;
			nk->shift = shift;
			for (int dim = 1; dim < DH_DIM_COUNT; dim++)
				if (ds & (1u << dim)) {
					kfield *f = &nk->f[nk->nfields++];
					f->dim = (dh_dim)dim;
					dh__dim_column(c, f->dim, &f->col, &f->wide, &f->domain);
				}
		}
		ckey *kk = &p->keys[k];
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
		ckey *kk = &p->keys[p->live[l]];
		kk->off = off;
		off += kk->nbins * (1u + (uint32_t)kk->nsums);
	}
	p->block = off ? off : 1;
	dh__cache_attach(p);
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
		if (!dh__pred_valid(pr)) {
			rc = dh_error_set(err, DH_INVAL, "cube : filtre invalide sur %s", dh_dim_name(pr->dim));
			goto done;
		}
		filt *fl = &p->filters[p->nfilters++];
		uint32_t domain;
		dh__dim_column(c, pr->dim, &fl->col, &fl->wide, &domain);
		fl->lut = malloc(domain);
		if (!fl->lut) {
			rc = dh_error_nomem(err);
			goto done;
		}
		dh__pred_lut(p, pr, 0, fl->lut, domain);
	}
done:
	free(order);
	if (rc != DH_OK) {
		dh__plan_free(p);
		return rc;
	}
	*out = p;
	return DH_OK;
}
