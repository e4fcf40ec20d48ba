/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_pipeline.c - the two-thread pipeline: a reader thread parses records into a
 * ring of batches while the calling thread checks them in order.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- two-thread pipeline ------------------------------------------------------------ */

/*
 * On large inputs, a reader thread runs the CSV parser and copies each record into a ring of
 * batches while the calling thread checks the batches in order: parsing and checking then
 * overlap on two cores, and issues, rows and callbacks stay in file order on the caller's
 * thread. Memory is bounded by the ring (PIPE_BATCHES x about PIPE_BYTES).
 */
#define PIPE_BATCHES 4
#define PIPE_RECORDS 1024
#define PIPE_BYTES ((size_t)256 << 10)

typedef struct pipe_rec {
	uint64_t line, offset;
	size_t nfields;
	uint32_t problem_column;
	int problem;
	size_t first; /* index of its first field in the batch's spans */
	uint64_t dup_first[2]; /* set by batch_ids */
} pipe_rec;

/* A field in a batch: offset and length in the batch's bytes. Half the size of a dh_str,
 * and stable when the bytes move: the batch crosses cores, so its size is what costs. */
typedef struct field_span {
	uint32_t off, len;
} field_span;

typedef struct batch {
	pipe_rec *recs; /* PIPE_RECORDS */
	size_t nrecs;
	field_span *spans;    /* fields of all records */
	size_t nspans, spans_cap;
	char *bytes;    /* the fields' bytes (about PIPE_BYTES, more for one long record) */
	uint64_t *hashes; /* PIPE_RECORDS IDENT_INT hashes, 0 when not checked */
	size_t nbytes, bytes_cap;
	int last; /* the reader stops after this batch */
	int rc;   /* with last: DH_OK at the end of input, or the reader's failure */
} batch;

typedef struct pipeline {
	dh_csv *csv;
	pthread_mutex_t mu;
	pthread_cond_t cv_full, cv_free;
	batch b[PIPE_BATCHES];
	int full[PIPE_BATCHES];
	int stop;     /* the checker asks the reader to stop */
	dh_error err; /* the reader's failure */
	dh_csv_record rec; /* the record being copied */
	validator *v;      /* its IDENT_REP set belongs to the reader during the pipeline */
	uint64_t *hashes;  /* PIPE_RECORDS IDENT_REP hashes of the batch being filled */
	int sized;         /* the reader sized the IDENT_REP set */
} pipeline;

int dh__grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return DH_OK;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX || n > SIZE_MAX / size)
		return DH_NOMEM;
	void *q = realloc(*p, n * size);
	if (!q)
		return DH_NOMEM;
	*p = q;
	*cap = n;
	return DH_OK;
}

/*
 * Copy one record into the batch. The common case, unquoted fields side by side in the
 * reader's buffer, is one copy of the record's span and one pass over its fields;
 * otherwise field by field.
 */
static int batch_add(batch *b, const dh_csv_record *rec)
{
	size_t n = rec->nfields;
	if (dh__grow((void **)&b->spans, &b->spans_cap, b->nspans + n, sizeof(field_span)))
		return DH_NOMEM;
	field_span *out = b->spans + b->nspans;
	int compact = n > 0 && rec->fields[0].ptr && rec->fields[n - 1].ptr;
	size_t used = 0;
	if (compact) {
		const char *lo = rec->fields[0].ptr;
		const char *hi = rec->fields[n - 1].ptr + rec->fields[n - 1].len;
		size_t extent = hi >= lo ? (size_t)(hi - lo) : SIZE_MAX;
		compact = extent <= UINT32_MAX / 2 &&
			  dh__grow((void **)&b->bytes, &b->bytes_cap, b->nbytes + extent + 1, 1) == DH_OK;
		uint32_t base = (uint32_t)b->nbytes;
		for (size_t i = 0; i < n && compact; i++) {
			const dh_str *f = &rec->fields[i];
			size_t delta = (size_t)(f->ptr - lo);
			compact = f->ptr >= lo && f->ptr <= hi && delta + f->len <= extent;
			out[i].off = base + (uint32_t)delta;
			out[i].len = (uint32_t)f->len;
		}
		if (compact) {
			memcpy(b->bytes + b->nbytes, lo, extent);
			used = extent;
		}
	}
	if (!compact) {
		size_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += rec->fields[i].len;
		if (dh__grow((void **)&b->bytes, &b->bytes_cap, b->nbytes + total + 1, 1))
			return DH_NOMEM;
		for (size_t i = 0; i < n; i++) {
			const dh_str *f = &rec->fields[i];
			if (f->len)
				memcpy(b->bytes + b->nbytes + used, f->ptr, f->len);
			out[i].off = (uint32_t)(b->nbytes + used);
			out[i].len = (uint32_t)f->len;
			used += f->len;
		}
	}
	pipe_rec *r = &b->recs[b->nrecs++];
	r->line = rec->line;
	r->offset = rec->offset;
	r->nfields = n;
	r->problem = rec->problem;
	r->problem_column = rec->problem_column;
	r->first = b->nspans;
	b->nspans += n;
	b->nbytes += used;
	return DH_OK;
}

/*
 * Lookups of id k for a whole batch, in file order, prefetching a few records ahead. The
 * reader thread hashes both ids when it has filled a batch and looks IDENT_REP up; the
 * checking thread looks IDENT_INT up before it checks the batch (this split balances the
 * two threads). Each set has one owner and is sized from its first batch.
 */
#define PREFETCH_AHEAD 8

static void batch_hashes(const validator *v, const batch *b, int k, uint64_t *hashes)
{
	int col = v->col_of[dh__id_fields[k]];
	for (size_t r = 0; r < b->nrecs; r++) {
		const pipe_rec *pr = &b->recs[r];
		hashes[r] = 0;
		if (col >= 0 && pr->nfields == v->ncols) {
			const field_span *sp = &b->spans[pr->first + (size_t)col];
			dh_str s = { b->bytes + sp->off, sp->len };
			hashes[r] = dh__id_hash_field(v, col, pr->problem, pr->nfields, s);
		}
	}
}

static int batch_lookups(validator *v, batch *b, int k, const uint64_t *hashes, int *sized)
{
	if (v->col_of[dh__id_fields[k]] < 0)
		return DH_OK;
	size_t n = b->nrecs;
	if (!*sized && n >= 64) {
		*sized = 1;
		uint64_t extent = b->recs[n - 1].offset - b->recs[0].offset;
		uint64_t per_row = extent / (n - 1);
		if (v->input_size && per_row) {
			uint64_t rows = v->input_size / per_row;
			int rc = dh__idset_reserve(&v->ids[k], rows + rows / 20);
			if (rc)
				return rc;
		}
	}
	for (size_t r = 0; r < n; r++) {
		if (r + PREFETCH_AHEAD < n && hashes[r + PREFETCH_AHEAD])
			dh__idset_prefetch(&v->ids[k], hashes[r + PREFETCH_AHEAD]);
		int rc = dh__id_lookup(v, k, hashes[r], b->recs[r].line, &b->recs[r].dup_first[k]);
		if (rc)
			return rc;
	}
	return DH_OK;
}

static void *reader_main(void *arg)
{
	pipeline *p = arg;
	for (size_t i = 0;; i = (i + 1) % PIPE_BATCHES) {
		pthread_mutex_lock(&p->mu);
		while (p->full[i] && !p->stop)
			pthread_cond_wait(&p->cv_free, &p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		batch *b = &p->b[i];
		b->nrecs = b->nspans = b->nbytes = 0;
		b->last = 0;
		b->rc = DH_OK;
		while (b->nrecs < PIPE_RECORDS && b->nbytes < PIPE_BYTES) {
			int rc = dh_csv_next(p->csv, &p->rec, &p->err);
			if (rc == DH_OK)
				rc = batch_add(b, &p->rec);
			if (rc != DH_OK) {
				b->last = 1;
				b->rc = rc == DH_EOF ? DH_OK : rc;
				if (rc == DH_NOMEM)
					dh_error_set(&p->err, DH_NOMEM, "mémoire insuffisante pour lire « %s »",
						     dh_csv_name(p->csv));
				break;
			}
		}
		batch_hashes(p->v, b, 0, p->hashes);
		batch_hashes(p->v, b, 1, b->hashes);
		if (batch_lookups(p->v, b, 0, p->hashes, &p->sized) != DH_OK) {
			b->last = 1;
			b->rc = DH_NOMEM;
			dh_error_set(&p->err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(p->csv));
		}
		pthread_mutex_lock(&p->mu);
		p->full[i] = 1;
		pthread_cond_signal(&p->cv_full);
		pthread_mutex_unlock(&p->mu);
		if (b->last)
			return NULL;
	}
}

/* Check the rest of the input with a reader thread. Returns DH_EOF when the input was read
 * to its end, or a failure (reader or callback); falls back to DH_OK (the caller goes on
 * alone) when the thread cannot be started. */
int dh__validate_pipeline(validator *v, dh_csv *csv, dh_error *err)
{
	pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return DH_OK;
	int rc = DH_OK;
	p->v = v;
	dh_str *fields = NULL; /* the record being checked, as views into its batch */
	size_t fields_cap = 0;
	int sized = 0; /* this thread sized the IDENT_INT set */
	if (!(p->hashes = malloc(PIPE_RECORDS * sizeof(*p->hashes))))
		rc = DH_NOMEM;
	for (int i = 0; i < PIPE_BATCHES && rc == DH_OK; i++) {
		p->b[i].bytes_cap = PIPE_BYTES;
		if (!(p->b[i].recs = malloc(PIPE_RECORDS * sizeof(pipe_rec))) ||
		    !(p->b[i].hashes = malloc(PIPE_RECORDS * sizeof(uint64_t))) ||
		    !(p->b[i].bytes = malloc(PIPE_BYTES)))
			rc = DH_NOMEM;
	}
	p->csv = csv;
	int threaded = 0;
	if (rc == DH_OK && pthread_mutex_init(&p->mu, NULL) == 0) {
		if (pthread_cond_init(&p->cv_full, NULL) == 0) {
			if (pthread_cond_init(&p->cv_free, NULL) == 0) {
				pthread_t reader;
				if (pthread_create(&reader, NULL, reader_main, p) == 0) {
					threaded = 1;
					v->dup_known = 1;
					rc = DH_OK;
					for (size_t i = 0; rc == DH_OK; i = (i + 1) % PIPE_BATCHES) {
						pthread_mutex_lock(&p->mu);
						while (!p->full[i])
							pthread_cond_wait(&p->cv_full, &p->mu);
						pthread_mutex_unlock(&p->mu);
						batch *b = &p->b[i];
						rc = batch_lookups(v, b, 1, b->hashes, &sized);
						for (size_t r = 0; r < b->nrecs && rc == DH_OK; r++) {
							const pipe_rec *pr = &b->recs[r];
							if (dh__grow((void **)&fields, &fields_cap, pr->nfields, sizeof(dh_str))) {
								rc = DH_NOMEM;
								break;
							}
							const field_span *sp = b->spans + pr->first;
							for (size_t j = 0; j < pr->nfields; j++) {
								fields[j].ptr = b->bytes + sp[j].off;
								fields[j].len = sp[j].len;
							}
							dh_csv_record rec = { .fields = fields, .nfields = pr->nfields,
									      .line = pr->line, .offset = pr->offset,
									      .problem = pr->problem,
									      .problem_column = pr->problem_column };
							v->dup_first[0] = pr->dup_first[0];
							v->dup_first[1] = pr->dup_first[1];
							rc = dh__check_record(v, &rec);
						}
						int last = b->last, brc = b->rc;
						pthread_mutex_lock(&p->mu);
						p->full[i] = 0;
						pthread_cond_signal(&p->cv_free);
						pthread_mutex_unlock(&p->mu);
						if (rc == DH_OK && last) {
							rc = brc == DH_OK ? DH_EOF : brc;
							if (brc != DH_OK && err)
								*err = p->err;
						}
					}
					pthread_mutex_lock(&p->mu);
					p->stop = 1;
					pthread_cond_broadcast(&p->cv_free);
					pthread_mutex_unlock(&p->mu);
					pthread_join(reader, NULL);
					v->dup_known = 0;
				}
				pthread_cond_destroy(&p->cv_free);
			}
			pthread_cond_destroy(&p->cv_full);
		}
		pthread_mutex_destroy(&p->mu);
	}
	for (int i = 0; i < PIPE_BATCHES; i++) {
		free(p->b[i].recs);
		free(p->b[i].spans);
		free(p->b[i].hashes);
		free(p->b[i].bytes);
	}
	free(p->hashes);
	free(p);
	free(fields);
	if (!threaded && rc == DH_NOMEM)
		return DH_OK; /* no room for the ring: check on this thread alone */
	return rc;
}
