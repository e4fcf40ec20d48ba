/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_split.c - the commune x landlord split (dh_cube_query_split): the bitmap engine over
 * one row range per run of a landlord's rows inside each commune, for secondary disclosure
 * control (governance/access.c).
 */
#include "cube/internal.h"

#include <stdlib.h>
#include <string.h>

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
	dh__bit_scan(j->bp, j->p, j->ranges + j->r0, j->r1 - j->r0);
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
	if (dh__cube_query_lists_check(q, err) != DH_OK)
		return DH_INVAL;
	if (q->level != DH_LEVEL_COMMUNE)
		return dh_error_set(err, DH_INVAL, "cube : la ventilation par bailleur se fait par commune");
	if (!valid_ref_date(q->reference_date))
		return dh_error_set(err, DH_INVAL, "cube : date de référence %d invalide",
				    (int)q->reference_date);
	plan *p = NULL;
	int rc = dh__plan_build(cube, q, 0, &p, err);
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
	rc = dh__bitplan_build(cube, p, q, &bp);
	if (rc != DH_OK)
		goto done;
	rc = dh__range_groups(cube, DH_LEVEL_COMMUNE, &groups, &ng, &granges);
	if (rc != DH_OK)
		goto done;
	if (q->territory) {
		size_t k = dh__group_find(groups, ng, q->territory);
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
	int nt = dh__thread_count(q, total);
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
	dh__run_jobs(jobs, sizeof(jobs[0]), nt, run_split_job);
	for (size_t x = 0; x < s->nparts; x++)
		dh__bit_finalize(p, bp, blocks + x * block, NULL, ncols, s->values + x * ncols);
	rc = DH_OK;
done:
	dh__plan_free(p);
	dh__bitplan_free(bp);
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

