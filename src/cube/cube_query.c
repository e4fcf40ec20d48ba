/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_query.c - group-by queries on the cube (dh_cube_query_run): picks the engine for a
 * level (the per-date commune counters, the bitmap engine over territory row ranges, or the
 * counter scan with a group index), shares the work between threads and builds the table.
 * See "query engine" in internal.h for the other files of the engine.
 */
#include "cube/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- groups and threads */

/* Index of the group coded code in groups[0..ng), or ng when there is none. */
size_t dh__group_find(const group *groups, size_t ng, const char *code)
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
		dh__bit_scan(bp, p, br, gr->nranges);
		dh__bit_finalize(p, bp, blk, NULL, p->ncols, j->values + g * p->ncols);
	}
	free(blk);
	free(br);
	return NULL;
}

static void *run_scatter_job(void *arg)
{
	job *j = arg;
	j->rc = dh__scan(j->p, j->r0, j->r1, j->blocks, j->gid, j->gid_map);
	return NULL;
}

int dh__thread_count(const dh_cube_query *q, uint64_t rows)
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

/* Run jobs[0..n) (each `size` bytes): jobs 1.. on threads, job 0 on the caller; falls back
 * to running inline. */
void dh__run_jobs(void *jobs, size_t size, int n, void *(*fn)(void *))
{
	char *j = jobs;
	pthread_t th[MAX_THREADS];
	int started[MAX_THREADS] = { 0 };
	for (int i = 1; i < n; i++)
		started[i] = pthread_create(&th[i], NULL, fn, j + (size_t)i * size) == 0;
	fn(j);
	for (int i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			fn(j + (size_t)i * size);
	}
}

/* ---------------------------------------------------------------- tables */
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

table_impl *dh__table_new(const plan *p, const group *groups, size_t ngroups)
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

/* Geographic levels: groups with their row ranges. */
int dh__range_groups(const dh_cube *c, dh_level level, group **gout, size_t *ngout,
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
	if (dh__range_groups(c, q->level, &groups, &ng, &ranges) != DH_OK)
		return dh_error_nomem(err);
	if (q->territory) {
		size_t k = dh__group_find(groups, ng, q->territory);
		if (k == ng) {
			free(groups);
			free(ranges);
			return dh_error_set(err, DH_NOTFOUND, "cube : territoire « %s » sans logement",
					    q->territory);
		}
		groups[0] = groups[k];
		ng = 1;
	}
	table_impl *ti = dh__table_new(p, groups, ng);
	if (!ti) {
		free(groups);
		free(ranges);
		return dh_error_nomem(err);
	}
	uint64_t total = 0;
	for (size_t g = 0; g < ng; g++)
		total += groups[g].rows;
	int nt = dh__thread_count(q, total);
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
	dh__run_jobs(jobs, sizeof(jobs[0]), nt, run_range_job);
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
	int rc = dh__bitplan_build(c, p, q, &bp);
	if (rc != DH_OK)
		return dh_error_set(err, rc, rc == DH_NOMEM ? "cube : mémoire insuffisante"
							    : "cube : requête trop complexe");
	rc = run_range_groups(c, p, bp, q, out, err);
	dh__bitplan_free(bp);
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
	int nt = dh__thread_count(q, r1 - r0);
	blocks = calloc((size_t)nt * (ng ? ng : 1) * p->block, sizeof(int64_t));
	ti = dh__table_new(p, groups, ng);
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
	dh__run_jobs(jobs, sizeof(jobs[0]), nt, run_scatter_job);
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
		dh__finalize(p, blocks + g * p->block, ti->pub.values + g * p->ncols);
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

/* The list arguments of a query bounded and checked before any work: columns (a column may
 * repeat, as the callers' own columns plus a population column), filters and their sets. */
int dh__cube_query_lists_check(const dh_cube_query *q, dh_error *err)
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
	if (dh__cube_query_lists_check(q, err) != DH_OK)
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
		cube_dateplan *dp = dh__dateplan_acquire(cube, q->reference_date, !q->territory,
						     q->threads);
		if (dp) {
			int frc = dh__dateplan_table(cube, dp, q, out, err);
			dh__dateplan_release(dp);
			return frc;
		}
	}
	plan *p = NULL;
	int rc = dh__plan_build(cube, q, q->level >= DH_LEVEL_QPV || q->level == DH_LEVEL_ALL, &p, err);
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
	dh__plan_free(p);
	return rc;
}

