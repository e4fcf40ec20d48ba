/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_dateplan.c - the per-date commune counters: one pass of the bitmap engine gives the
 * default plan's counters of every commune at a date (cached for CUBE_DATE_SLOTS dates,
 * reference-counted); a geographic table without filter is then a sum of commune blocks.
 */
#include "cube/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
	int borrowed;         /* blocks belong to a snapshot mapping (not freed here) */
	size_t memory;        /* bytes held */
};

void dh__dateplan_release(cube_dateplan *dp)
{
	if (!dp || atomic_fetch_sub_explicit(&dp->refs, 1, memory_order_acq_rel) != 1)
		return;
	dh__plan_free(dp->p);
	dh__bitplan_free(dp->bp);
	if (!dp->borrowed)
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
	dh__bit_scan(j->dp->bp, j->dp->p, j->ranges + j->k0, j->k1 - j->k0);
	return NULL;
}

/* The default plan of `date` and its bitmap program, with the commune ranks; counters not
 * computed (blocks NULL). */
static int dateplan_new(const dh_cube *c, int32_t date, cube_dateplan **out)
{
	cube_dateplan *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return DH_NOMEM;
	atomic_init(&dp->refs, 1);
	dp->date = date;
	dh_cube_query q = { .level = DH_LEVEL_ALL, .reference_date = date };
	int rc = dh__plan_build(c, &q, 0, &dp->p, NULL);
	if (rc == DH_OK)
		rc = dh__bitplan_build(c, dp->p, &q, &dp->bp);
	size_t nc = c->ncommunes;
	if (rc == DH_OK && !(dp->rank = malloc((nc ? nc : 1) * sizeof(uint32_t))))
		rc = DH_NOMEM;
	if (rc != DH_OK) {
		dh__dateplan_release(dp);
		return rc;
	}
	dp->block = dp->bp->nterms ? (size_t)dp->bp->nterms : 1;
	for (size_t k = 0; k < nc; k++)
		dp->rank[c->commune_order[k]] = (uint32_t)k;
	dp->memory = sizeof(*dp) + (nc + 1) * dp->block * sizeof(int64_t) + nc * sizeof(uint32_t);
	*out = dp;
	return DH_OK;
}

/* One pass over the rows: the default plan's counters of every commune at `date`. */
static int dateplan_build(const dh_cube *c, int32_t date, int threads, cube_dateplan **out)
{
	cube_dateplan *dp;
	int rc = dateplan_new(c, date, &dp);
	if (rc != DH_OK)
		return rc;
	size_t nc = c->ncommunes;
	size_t block = dp->block;
	dp->blocks = calloc((nc + 1) * block, sizeof(int64_t));
	brange *ranges = malloc((nc + 1) * sizeof(*ranges));
	if (!dp->blocks || !ranges) {
		free(ranges);
		dh__dateplan_release(dp);
		return DH_NOMEM;
	}
	uint32_t tail = 0;
	for (size_t k = 0; k < nc; k++) {
		const cube_commune *cc = &c->communes[c->commune_order[k]];
		ranges[k] = (brange){ cc->row_begin, cc->row_end, dp->blocks + k * block };
		if (cc->row_end > tail)
			tail = cc->row_end;
	}
	ranges[nc] = (brange){ tail, (uint32_t)c->nrows, dp->blocks + nc * block };
	dh_cube_query tq = { .threads = threads };
	int nt = dh__thread_count(&tq, c->nrows);
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
	dh__run_jobs(jobs, sizeof(jobs[0]), nt, run_block_job);
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
	dh__dateplan_release(c->dateplans[i]);
	c->dateplans[i] = dp;
}

int dh__cube_dateplan_warm(dh_cube *cube, int32_t date)
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

int dh__cube_dateplan_adopt(dh_cube *cube, int32_t date, const int64_t *blocks, size_t block)
{
	if (!valid_ref_date(date))
		return DH_CORRUPT;
	cube_dateplan *dp;
	int rc = dateplan_new(cube, date, &dp);
	if (rc != DH_OK)
		return rc;
	if (dp->block != block) {
		dh__dateplan_release(dp);
		return DH_CORRUPT;
	}
	dp->blocks = (int64_t *)(uintptr_t)blocks;
	dp->borrowed = 1;
	dp->memory -= (cube->ncommunes + 1) * block * sizeof(int64_t);
	pthread_mutex_lock(&cube->date_lock);
	dateplan_insert(cube, dp);
	pthread_mutex_unlock(&cube->date_lock);
	return DH_OK;
}

const int64_t *dh__cube_dateplan_blocks(const dh_cube *cube, int32_t date, size_t *block)
{
	dh_cube *c = (dh_cube *)(uintptr_t)cube; /* the lock is not part of the value */
	const int64_t *blocks = NULL;
	pthread_mutex_lock(&c->date_lock);
	for (unsigned i = 0; i < CUBE_DATE_SLOTS && !blocks; i++)
		if (c->dateplans[i] && c->dateplans[i]->date == date) {
			blocks = c->dateplans[i]->blocks;
			*block = c->dateplans[i]->block;
		}
	pthread_mutex_unlock(&c->date_lock);
	return blocks;
}

void dh__cube_dateplans_free(dh_cube *cube)
{
	for (unsigned i = 0; i < CUBE_DATE_SLOTS; i++) {
		dh__dateplan_release(cube->dateplans[i]);
		cube->dateplans[i] = NULL;
	}
}

size_t dh__cube_dateplans_memory(const dh_cube *cube)
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
cube_dateplan *dh__dateplan_acquire(const dh_cube *cube, int32_t date, int build, int threads)
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
 * order of dh__range_groups(). */
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
int dh__dateplan_table(const dh_cube *c, const cube_dateplan *dp, const dh_cube_query *q,
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
		return dh_error_nomem(err);
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
	ti = dh__table_new(&shape, groups, ng);
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
		dh__bit_finalize(p, dp->bp, blk, q->indicators, ncols, ti->pub.values + g * ncols);
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

