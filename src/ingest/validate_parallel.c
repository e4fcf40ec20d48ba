/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_parallel.c - block-parallel validation of large rereadable inputs without
 * on_row, with an ordered emission stage.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- block-parallel validation ------------------------------------------------------ */

/*
 * Large rereadable inputs (a regular file opened by path, or memory) validated without an
 * on_row callback (`datahabitat validate`) are cut into blocks of par_block bytes that two
 * threads (the caller and one worker) parse and check independently, as DuckDB's parallel
 * CSV reader does; an ordered emission stage on the calling thread then replays each block's
 * issues in file order. With an on_row callback (import), rows must come in order with their
 * memory: those inputs keep the two-thread pipeline.
 *
 * A block [start, end) owns the records that start in it. Its worker guesses the first
 * record boundary (the first line break at or after start - 1, assuming it is not inside
 * quotes), then parses and checks up to the first record starting at or after end, which it
 * reports (offset, relative line) without checking it. Line numbers are relative to the
 * block's first byte; issues and the ids (hashes, for the duplicate checks) are buffered.
 *
 * Emission, block after block, in order: the guess holds when the previous block's next
 * record is exactly the block's first record (parsing from a record start is deterministic)
 * and the encoding the worker decided, if it had to, agrees with the one decided before;
 * otherwise the block is parsed again from the true boundary on the calling thread (rare:
 * a quoted field with a line break across a boundary). Then the relative lines are fixed up,
 * the issues counted and handed to on_issue, the duplicate ids looked up in file order
 * (first lines stay right), and rows counted. So the report is the sequential one.
 * Memory: PAR_SLOTS blocks in flight (buffers of a few MiB) besides the id sets.
 */
#define PAR_SLOTS 4
#define PAR_BLOCK_DEFAULT ((size_t)4 << 20)
#define PAR_MIN_DEFAULT ((uint64_t)16 << 20)

static int par_enabled = 1;
static size_t par_block = PAR_BLOCK_DEFAULT;
static uint64_t par_min = PAR_MIN_DEFAULT;
static atomic_ullong par_runs, par_reparsed;

void dh__validate_set_parallel(int enabled, size_t block_size, uint64_t min_input)
{
	par_enabled = enabled;
	par_block = block_size ? block_size : PAR_BLOCK_DEFAULT;
	par_min = min_input ? min_input : PAR_MIN_DEFAULT;
}

int dh__validate_parallel_wanted(uint64_t size)
{
	return par_enabled && size >= par_min;
}

void dh__validate_parallel_counts(uint64_t *runs, uint64_t *reparsed)
{
	*runs = atomic_load(&par_runs);
	*reparsed = atomic_load(&par_reparsed);
}

typedef struct bissue {
	uint32_t rec;           /* index of its record in the block */
	uint32_t column;
	int rule, field;
	const char *field_name; /* static, or the validator's column names */
	size_t value_off, value_len; /* in the arena */
	size_t msg_off;         /* in the arena (NUL-terminated), SIZE_MAX without message */
} bissue;

typedef struct brec {
	uint64_t line;          /* relative to the block */
	uint64_t hash[2];       /* id hashes, 0 when not checked */
	size_t id_off[2];       /* trimmed id values in the arena, when present */
	uint32_t id_len[2];
	uint32_t issue_end;     /* its issues end there (they start where the previous ended) */
	unsigned present;       /* bit k: id k present (a duplicate is reported) */
} brec;

typedef struct block {
	size_t index;
	uint64_t start, end;    /* records starting in [start, end) */
	int exact;              /* start is a known record boundary (no guess) */
	dh_encoding enc_in;     /* encoding given to the reader */
	int state;              /* 0 free, 1 being parsed, 2 done */
	int rc;                 /* DH_OK, or the reader's / memory failure */
	dh_error err;
	uint64_t first_off, first_line; /* first record (guess) or start (exact, line 1) */
	uint64_t next_off, next_line;   /* first record at or after end, or end of input */
	int at_eof;
	dh_encoding enc_out;    /* encoding after its last record */
	int saw_non_ascii;
	brec *recs;
	size_t nrecs, recs_cap;
	bissue *issues;
	size_t nissues, issues_cap;
	char *arena;
	size_t arena_len, arena_cap;
} block;

static int arena_put(block *b, const char *p, size_t n, int nul, size_t *off)
{
	if (dh__grow((void **)&b->arena, &b->arena_cap, b->arena_len + n + 1, 1))
		return DH_NOMEM;
	*off = b->arena_len;
	if (n)
		memcpy(b->arena + b->arena_len, p, n);
	b->arena_len += n;
	if (nul)
		b->arena[b->arena_len++] = '\0';
	return DH_OK;
}

int dh__sink_record(validator *v, uint64_t line)
{
	block *b = v->sink;
	if (dh__grow((void **)&b->recs, &b->recs_cap, b->nrecs + 1, sizeof(brec)))
		return DH_NOMEM;
	brec *r = &b->recs[b->nrecs++];
	memset(r, 0, sizeof(*r));
	r->line = line;
	return DH_OK;
}

void dh__sink_record_done(validator *v)
{
	block *b = v->sink;
	b->recs[b->nrecs - 1].issue_end = (uint32_t)b->nissues;
}

int dh__sink_issue(validator *v, int rule, uint32_t column, int field, const char *field_name,
		      dh_str value, const char *message)
{
	block *b = v->sink;
	if (dh__grow((void **)&b->issues, &b->issues_cap, b->nissues + 1, sizeof(bissue)))
		return DH_NOMEM;
	bissue *is = &b->issues[b->nissues];
	is->rec = (uint32_t)(b->nrecs - 1);
	is->column = column;
	is->rule = rule;
	is->field = field;
	is->field_name = field_name;
	is->value_len = value.len;
	is->msg_off = SIZE_MAX;
	if (arena_put(b, value.ptr, value.len, 0, &is->value_off) ||
	    (message && arena_put(b, message, strlen(message), 1, &is->msg_off)))
		return DH_NOMEM;
	b->nissues++;
	return DH_OK;
}

int dh__sink_ids(validator *v, const dh_csv_record *rec)
{
	block *b = v->sink;
	brec *r = &b->recs[b->nrecs - 1];
	for (int k = 0; k < 2; k++) {
		r->hash[k] = dh__id_hash_of(v, rec, k);
		if (!r->hash[k] || !DH__PRESENT(v, dh__id_fields[k]))
			continue;
		dh_str s = v->row.text[dh__id_fields[k]];
		r->present |= 1u << k;
		r->id_len[k] = (uint32_t)s.len;
		if (arena_put(b, s.ptr, s.len, 0, &r->id_off[k]))
			return DH_NOMEM;
	}
	return DH_OK;
}

/* Parse and check block b with the worker validator w and its reader rd. */
static void process_block(validator *w, dh_csv *rd, block *b)
{
	b->nrecs = b->nissues = b->arena_len = 0;
	b->rc = DH_OK;
	b->at_eof = 0;
	b->enc_out = b->enc_in;
	b->saw_non_ascii = 0;
	b->first_off = b->next_off = UINT64_MAX;
	b->first_line = b->next_line = 1;
	dh_error_clear(&b->err);
	w->sink = b;
	dh__csv_seek(rd, b->exact ? b->start : b->start - 1, b->enc_in);
	if (b->exact)
		b->first_off = b->start;
	else if ((b->rc = dh__csv_skip_line(rd, &b->err)) != DH_OK)
		return;
	int first = !b->exact;
	dh_csv_record rec;
	for (;;) {
		int rc = dh_csv_next(rd, &rec, &b->err);
		if (rc == DH_EOF) {
			b->at_eof = 1;
			b->next_off = dh_csv_bytes(rd);
			b->next_line = dh__csv_line(rd);
			if (first) {
				b->first_off = b->next_off;
				b->first_line = b->next_line;
			}
			return;
		}
		if (rc != DH_OK) {
			b->rc = rc;
			return;
		}
		if (first) {
			first = 0;
			b->first_off = rec.offset;
			b->first_line = rec.line;
		}
		if (rec.offset >= b->end) {
			b->next_off = rec.offset;
			b->next_line = rec.line;
			return;
		}
		if ((rc = dh__check_record(w, &rec)) != DH_OK) {
			b->rc = rc;
			return;
		}
		b->enc_out = dh_csv_encoding(rd);
		b->saw_non_ascii |= dh_csv_saw_non_ascii(rd);
	}
}

typedef struct worker {
	validator v;  /* clone of the main validator, buffering into its block */
	dh_csv *rd;   /* its range reader */
} worker;

typedef struct par {
	validator *v;
	uint64_t s0, size;
	size_t nblocks, next_take, next_emit;
	block slots[PAR_SLOTS];
	int stop;
	dh_encoding enc;        /* decided so far (published to the blocks taken later) */
	int saw_non_ascii;
	uint64_t prev_next_off; /* where the previous block's next record starts */
	uint64_t line;          /* its absolute line */
	uint64_t bytes;         /* input size at the end */
	pthread_mutex_t mu;
	pthread_cond_t cv;
} par;

/* With the lock: take the next block if its slot is free. */
static block *take_block(par *p)
{
	if (p->stop || p->next_take >= p->nblocks || p->next_take >= p->next_emit + PAR_SLOTS)
		return NULL;
	size_t i = p->next_take++;
	block *b = &p->slots[i % PAR_SLOTS];
	b->index = i;
	b->start = p->s0 + (uint64_t)i * par_block;
	b->end = i + 1 == p->nblocks ? UINT64_MAX : b->start + par_block;
	b->exact = i == 0;
	b->enc_in = par_enabled == 2 ? DH_ENC_AUTO : p->enc;
	b->state = 1;
	return b;
}

static void *worker_main(void *arg)
{
	void **args = arg;
	par *p = args[0];
	worker *w = args[1];
	pthread_mutex_lock(&p->mu);
	for (;;) {
		block *b;
		while (!(b = take_block(p)) && !p->stop && p->next_take < p->nblocks)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!b)
			break;
		pthread_mutex_unlock(&p->mu);
		process_block(&w->v, w->rd, b);
		pthread_mutex_lock(&p->mu);
		b->state = 2;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

#define PAR_PREFETCH 8

/* Emit block b in file order (calling thread, lock not held); `self` re-parses it when the
 * guess was wrong. */
static int emit_block(par *p, worker *self, block *b, dh_error *err)
{
	validator *v = p->v;
	dh_encoding enc = p->enc; /* only this thread writes it */
	int enc_clash = b->enc_in == DH_ENC_AUTO && b->enc_out != DH_ENC_AUTO && enc != DH_ENC_AUTO &&
			b->enc_out != enc;
	if (enc_clash || (!b->exact && (b->rc != DH_OK || b->first_off != p->prev_next_off))) {
		b->exact = 1;
		b->start = p->prev_next_off;
		b->enc_in = enc;
		atomic_fetch_add(&par_reparsed, 1);
		process_block(&self->v, self->rd, b);
	}
	if (b->exact)
		b->first_line = 1;
	uint64_t shift = p->line - b->first_line; /* absolute = relative + shift (mod 2^64) */
	if (enc == DH_ENC_AUTO && b->enc_out != DH_ENC_AUTO) {
		pthread_mutex_lock(&p->mu);
		p->enc = b->enc_out;
		pthread_mutex_unlock(&p->mu);
	}
	p->saw_non_ascii |= b->saw_non_ascii;
	if (!v->sized && b->nrecs >= 2 && b->next_off > b->first_off) {
		v->sized = 1;
		uint64_t per_row = (b->next_off - b->first_off) / b->nrecs;
		uint64_t rows = p->size / (per_row ? per_row : 1);
		rows += rows / 20;
		for (int k = 0; k < 2; k++)
			if (v->col_of[dh__id_fields[k]] >= 0 && dh__idset_reserve(&v->ids[k], rows) != DH_OK)
				return DH_NOMEM;
	}
	int rc = DH_OK;
	size_t is = 0;
	for (size_t r = 0; r < b->nrecs; r++) {
		const brec *br = &b->recs[r];
		uint64_t line = br->line + shift;
		v->stats->rows++;
		v->row_error = 0;
		for (; is < br->issue_end; is++) {
			const bissue *x = &b->issues[is];
			dh_str value = { b->arena + x->value_off, x->value_len };
			const char *msg = x->msg_off == SIZE_MAX ? NULL : b->arena + x->msg_off;
			if ((rc = dh__emit_message(v, x->rule, line, x->column, x->field, x->field_name, value, msg)))
				return rc;
		}
		if (r + PAR_PREFETCH < b->nrecs) {
			for (int k = 0; k < 2; k++)
				if (b->recs[r + PAR_PREFETCH].hash[k])
					dh__idset_prefetch(&v->ids[k], b->recs[r + PAR_PREFETCH].hash[k]);
		}
		uint64_t first[2];
		for (int k = 0; k < 2; k++)
			if ((rc = dh__id_lookup(v, k, br->hash[k], line, &first[k])) != DH_OK)
				return rc;
		for (int k = 0; k < 2; k++) {
			if (!first[k] || !(br->present & (1u << k)))
				continue;
			dh_str s = { b->arena + br->id_off[k], br->id_len[k] };
			if ((rc = dh__report_duplicate(v, k, line, s, first[k])) != DH_OK)
				return rc;
		}
		if (!v->row_error)
			v->stats->rows_valid++;
	}
	if (b->rc != DH_OK) {
		if (err)
			*err = b->err;
		return b->rc;
	}
	p->prev_next_off = b->next_off;
	p->line = b->next_line + shift;
	if (b->at_eof)
		p->bytes = b->next_off;
	return DH_OK;
}

static int worker_init(worker *w, const validator *v, const dh_csv *csv, dh_error *err)
{
	w->v = *v;
	memset(&w->v.ids, 0, sizeof(w->v.ids));
	w->v.commune_lookups = DH__DENSE_AFTER + 1; /* the tables are shared, never built by a worker */
	return dh__csv_open_like(&w->rd, csv, 0, err);
}

/*
 * Validate the rest of the input (from the reader's position) by blocks. Returns DH_EOF
 * when the input was read to its end, or a failure (reader, memory, callback).
 */
int dh__validate_parallel(validator *v, dh_csv *csv, uint64_t size, dh_error *err)
{
	uint64_t s0 = dh_csv_bytes(csv);
	atomic_fetch_add(&par_runs, 1);
	if (v->geo && !v->communes && !v->tables_failed) {
		v->commune_lookups = DH__DENSE_AFTER + 1;
		dh__validator_tables(v);
	}
	par *p = calloc(1, sizeof(*p));
	worker *ws = calloc(2, sizeof(*ws));
	if (!p || !ws || pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		free(ws);
		return DH_NOMEM;
	}
	if (pthread_cond_init(&p->cv, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		free(ws);
		return DH_NOMEM;
	}
	p->v = v;
	p->s0 = s0;
	p->size = size;
	p->nblocks = size > s0 ? (size_t)((size - s0 + par_block - 1) / par_block) : 1;
	p->enc = dh_csv_encoding(csv);
	p->saw_non_ascii = dh_csv_saw_non_ascii(csv);
	p->prev_next_off = s0;
	p->line = dh__csv_line(csv);
	p->bytes = s0;
	int rc = worker_init(&ws[0], v, csv, err);
	pthread_t thread;
	int threaded = 0;
	void *args[2] = { p, &ws[1] };
	if (rc == DH_OK && worker_init(&ws[1], v, csv, NULL) == DH_OK)
		threaded = pthread_create(&thread, NULL, worker_main, args) == 0;
	pthread_mutex_lock(&p->mu);
	while (rc == DH_OK && p->next_emit < p->nblocks) {
		block *b = &p->slots[p->next_emit % PAR_SLOTS];
		if (b->state == 2 && b->index == p->next_emit) {
			pthread_mutex_unlock(&p->mu);
			rc = emit_block(p, &ws[0], b, err);
			pthread_mutex_lock(&p->mu);
			b->state = 0;
			p->next_emit++;
			pthread_cond_broadcast(&p->cv);
			continue;
		}
		if ((b = take_block(p)) != NULL) {
			pthread_mutex_unlock(&p->mu);
			process_block(&ws[0].v, ws[0].rd, b);
			pthread_mutex_lock(&p->mu);
			b->state = 2;
			continue;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (threaded)
		pthread_join(thread, NULL);
	if (rc == DH_OK) {
		rc = DH_EOF;
		v->stats->bytes = p->bytes;
		v->stats->encoding = dh_encoding_name(p->enc, p->saw_non_ascii);
	}
	for (int i = 0; i < 2; i++)
		dh_csv_free(ws[i].rd);
	for (int i = 0; i < PAR_SLOTS; i++) {
		free(p->slots[i].recs);
		free(p->slots[i].issues);
		free(p->slots[i].arena);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	free(ws);
	return rc;
}
