/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube/internal.h - layout of the in-memory cube shared by its builder (cube_build.c), its
 * query engine (cube_plan.c, cube_cache.c, cube_scan.c, cube_bitmap.c, cube_dateplan.c,
 * cube_split.c, cube_query.c) and the snapshot holder (cube_holder.c). Not a public header.
 */
#ifndef DH_CUBE_INTERNAL_H
#define DH_CUBE_INTERNAL_H

#include "datahabitat/cube.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Categorical columns: one byte per row, code into a per-column dictionary (0 = absent). */
enum cube_cat {
	CAT_MODE,
	CAT_TYPECONST,
	CAT_FINAN,
	CAT_DPE_ENERGIE,
	CAT_DPE_SERRE,
	CAT_QPV,
	CAT_ORIGINE,
	CAT_SORTIEPATRIM,
	CAT_PARC,        /* derived: "LS", "NC" or absent (cube_build.c) */
	CAT_DPE_RECENT,  /* derived: "1" or absent */
	CAT_NEWLOGT,
	CAT_OLDLOGT,
	CAT_COUNT
};

#define CUBE_DICT_MAX 256  /* codes 1..255 */
#define CUBE_CODE_MAX 15   /* longest categorical code kept */
#define CUBE_YEAR_DOMAIN 4096  /* years and month indexes are below this */
#define CUBE_PAD 64         /* columns have this many extra zeroed rows: vector loops and
                               64-row bitmap words may read past the last row */
#define CUBE_FLAG_RENT 1u  /* LOYERPRINC known (and not 9999) */
#define CUBE_FLAG_SURF 2u  /* SURFHAB known */

typedef struct cube_dict {
	uint32_t count;                             /* entries in use, including 0 = absent */
	char text[CUBE_DICT_MAX][CUBE_CODE_MAX + 1]; /* text[0] = "" */
} cube_dict;

/* A named territory (EPCI, département, région, QPV, landlord). */
typedef struct cube_area {
	char *code;
	char *name;
	uint32_t row_begin, row_end; /* contiguous rows (départements, régions); span otherwise */
	uint32_t nrows;              /* rows in the cube */
} cube_area;

typedef struct cube_commune {
	char *code;
	char *name;
	int32_t epci;        /* index in epcis, -1 if none */
	int32_t departement; /* index in departements */
	int32_t region;      /* index in regions */
	uint32_t row_begin, row_end;
} cube_commune;

/*
 * Per-row codes of the date-independent part of the default plan (all indicators, no
 * filter), computed once when the cube is built: a query whose keys and masks have the same
 * static lookup tables reads one byte per row instead of doing the lookups.
 */
#define CUBE_CACHE_MAX 16
#define CUBE_CACHE_FIELDS 4

typedef struct cube_cache_entry {
	int n;                                 /* static fields */
	dh_dim dims[CUBE_CACHE_FIELDS];
	uint32_t domains[CUBE_CACHE_FIELDS];
	void *luts[CUBE_CACHE_FIELDS];         /* key: uint16_t tables; mask: uint8_t 0/1 tables */
	uint8_t *col;                          /* key: per-row sum of the static tables */
	int bit;                               /* mask: bit in cube_cache.mask_bits */
} cube_cache_entry;

typedef struct cube_cache {
	cube_cache_entry keys[CUBE_CACHE_MAX], masks[8];
	int nkeys, nmasks;
	uint8_t *mask_bits;                    /* per row, bit m: static part of mask m holds */
} cube_cache;

/*
 * Per-row bitmaps (bit i of word w = row 64 w + i) of the date-independent predicates of the
 * registry's terms ("MODE in 1,2", "DPEENERGIE absent"...), built with the cube: a query ANDs
 * them with the bitmaps it computes for the date (validity, age classes, months since a
 * lease) and counts bits (cube_bitmap.c). Word sums of the summable columns let a masked sum
 * visit the rows outside the mask when the mask is dense.
 */
#define CUBE_BITS_MAX 96

typedef struct cube_bits {
	int n;                               /* predicates */
	dh_predicate preds[CUBE_BITS_MAX];   /* copies (sets point into the static registry) */
	uint64_t *words;                     /* n * nwords, predicate-major */
	size_t nwords;                       /* (nrows + 63) / 64 */
	uint64_t *sum_rent, *sum_surf, *sum_construct; /* nwords each: column sum per word */
} cube_bits;

/*
 * Per reference date, the values of the distinct terms of every indicator (no filter) per
 * commune, computed by the bitmap engine (cube_dateplan.c): a geographic table without filter
 * is then a sum of commune blocks, without reading the rows. Built once per date under date_lock (eagerly at build
 * time for the latest validity date), immutable afterwards, reference-counted so that an
 * evicted entry stays valid for the queries still reading it.
 */
#define CUBE_DATE_SLOTS 2
typedef struct cube_dateplan cube_dateplan;

struct dh_cube {
	atomic_long refs;
	size_t nrows;
	size_t memory;

	/* columns, nrows each */
	uint16_t *valid_lo;   /* row valid at epoch e iff (uint16_t)(e - valid_lo) <= valid_span */
	uint16_t *valid_span;
	uint16_t *landlord;
	uint16_t *qpv_code;   /* index in qpvs, 0 = none */
	uint8_t *cat[CAT_COUNT];
	uint8_t *nbpiece;     /* 0 unknown */
	uint8_t *flags;       /* CUBE_FLAG_* */
	uint16_t *construct;  /* year, 0 unknown */
	uint16_t *locat;      /* year, 0 unknown */
	uint16_t *bail;       /* month index (see cube_month_index), 0 unknown */
	uint16_t *remloc;     /* month index, 0 unknown */
	uint32_t *rent;       /* cents, 0 when not CUBE_FLAG_RENT */
	uint32_t *surf;       /* hundredths of m², 0 when not CUBE_FLAG_SURF */

	cube_dict dict[CAT_COUNT];

	int32_t *dates;       /* sorted distinct validity bounds */
	size_t ndates;

	cube_commune *communes;
	size_t ncommunes;
	uint32_t *commune_order; /* commune indexes in cube (row) order */
	cube_area *epcis, *departements, *regions, *qpvs, *landlords;
	size_t nepcis, ndepartements, nregions, nqpvs, nlandlords;
	uint32_t *epci_communes; /* commune indexes grouped by EPCI (cube order inside) */
	uint32_t *epci_first;    /* nepcis + 1 offsets into epci_communes */

	cube_cache cache;
	cube_bits bits;

	void *map;            /* opened from a snapshot (cube_snapshot.c): the read-only mapping
	                         that columns, cache, bitmaps and names point into; NULL when built */
	size_t map_size;

	pthread_mutex_t date_lock;                   /* guards dateplans and date_next */
	cube_dateplan *dateplans[CUBE_DATE_SLOTS];   /* per-date commune counters, or NULL */
	unsigned date_next;                          /* slot replaced next (round robin) */
};

/* Month index of a yyyymmdd date: (year - 1800) * 12 + month, 0 when out of 1800..2140. */
static inline uint16_t cube_month_index(int32_t date)
{
	int32_t y = date / 10000, m = (date / 100) % 100;
	if (y < 1800 || y > 2140 || m < 1 || m > 12)
		return 0;
	return (uint16_t)((y - 1800) * 12 + m);
}

/* Fill cube->cache and cube->bits (cube_cache.c). Returns DH_OK or DH_NOMEM. */
int dh__cube_cache_build(dh_cube *cube);
void dh__cube_cache_free(cube_cache *cache);
void dh__cube_bits_free(cube_bits *bits);

/* Build the per-date commune counters of `date` now (cube not yet shared). DH_OK or DH_NOMEM. */
int dh__cube_dateplan_warm(dh_cube *cube, int32_t date);
/* Drop every per-date entry (when the cube is freed). */
void dh__cube_dateplans_free(dh_cube *cube);
/* Bytes held by the per-date entries. Thread-safe. */
size_t dh__cube_dateplans_memory(const dh_cube *cube);

/* Snapshot files (cube_snapshot.c). Bump the version whenever the layout of the cube or of a
 * section changes: an older file is then rebuilt, never misread. */
#define DH__SNAP_VERSION 1u
/* Free a cube opened from a snapshot: its heap tables, its per-date entries, the mapping. */
void dh__cube_snapshot_unmap(dh_cube *cube);
/* The commune counters of `date` if the cube holds them (not computed), with their counters
 * per commune in *block; NULL otherwise. Valid as long as the cube. */
const int64_t *dh__cube_dateplan_blocks(const dh_cube *cube, int32_t date, size_t *block);
/* Take the commune counters of `date` from a snapshot (borrowed: (ncommunes + 1) * block
 * counters that outlive the cube). DH_OK, DH_CORRUPT (block is not the default plan's),
 * DH_NOMEM. Cube not yet shared. */
int dh__cube_dateplan_adopt(dh_cube *cube, int32_t date, const int64_t *blocks, size_t block);

/* Epoch of a date: number of distinct validity bounds <= date. */
uint16_t dh__cube_epoch(const dh_cube *cube, int32_t date);

/* ---------------------------------------------------------------- query engine */

/*
 * A query is compiled into a plan (cube_plan.c): the terms (numerators and denominators) of
 * the chosen indicators are grouped into *keys*, one per set of dimensions (a term whose
 * dimensions are a subset of another key's reuses it). For each key the values of every
 * dimension are mapped by a lookup table to a bucket (values the key's predicates cannot
 * tell apart share a bucket), so one row adds 1 to one counter per key (and its value to the
 * key's sums); each term is then the sum of the counters of the buckets where all its
 * predicates hold. Relative dimensions (age, months since a date) only change the lookup
 * tables, built for the reference date: the per-row work never depends on the date.
 *
 * Rows are sorted by région, département, commune, landlord: those levels (and the per-date
 * commune counters, cube_dateplan.c) run on the bitmap engine (cube_bitmap.c) over the row
 * ranges of each territory (EPCI: the ranges of its communes), and so does the commune x
 * landlord split (one range per landlord inside each commune, cube_split.c); QPV, landlord
 * and the filtered whole cube run the counter scan with a group index (cube_scan.c). The
 * query driver (cube_query.c) picks the engine and splits large queries between threads;
 * the static cache (cube_cache.c) holds what the cube precomputes for every query.
 */
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

typedef struct ckey {
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
} ckey;

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
	ckey keys[MAX_KEYS];
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

/* A row range and the counters (one per distinct term) it adds to. */
typedef struct brange {
	uint32_t a, b;
	int64_t *blk;
} brange;


/* A group of rows of a table (a territory), with its row ranges for the range levels. */
typedef struct group {
	const char *code, *name;
	uint32_t first_range, nranges; /* in the query's range list (range levels) */
	uint64_t rows;
} group;

/* A table and the pool holding its row codes and names. */
typedef struct table_impl {
	dh_cube_table pub;
	char *pool;
} table_impl;

/* Number of predicates of a term. */
static inline int term_npreds(const dh_term *t)
{
	int n = 0;
	while (n < DH_TERM_MAX_PREDICATES && t->where[n].dim != DH_DIM_NONE)
		n++;
	return n;
}

/* Dimensions whose value depends on the reference date. */
static inline int dim_relative(dh_dim d)
{
	return d == DH_DIM_AGE || d == DH_DIM_LOCAT_YEARS || d == DH_DIM_BAIL_MONTHS ||
	       d == DH_DIM_REMLOC_MONTHS;
}

/* Row i's code in a dimension column of 8- or 16-bit codes. */
static inline uint32_t column_code(const void *col, int wide, size_t i)
{
	return wide ? ((const uint16_t *)col)[i] : ((const uint8_t *)col)[i];
}

/* An indicator's value from its numerator and denominator (NAN when den is 0). */
static inline double indicator_combine(dh_ind_kind kind, double num, double den)
{
	switch (kind) {
	case DH_IND_COUNT: return num;
	case DH_IND_PCT: return den != 0 ? num / den * 100.0 : NAN;
	case DH_IND_RATIO: return den != 0 ? num / den : NAN;
	case DH_IND_EVOLUTION: return den != 0 ? (num / den - 1.0) * 100.0 : NAN;
	default: return NAN;
	}
}

/* Same predicate (inline: the plan and bitmap compilers call it in their inner loops). */
static inline int pred_equal(const dh_predicate *a, const dh_predicate *b)
{
	if (a->dim != b->dim || a->op != b->op)
		return 0;
	if (a->op == DH_OP_RANGE)
		return a->lo == b->lo && a->hi == b->hi;
	if (a->op == DH_OP_IN || a->op == DH_OP_NOT_IN)
		return strcmp(a->set ? a->set : "", b->set ? b->set : "") == 0;
	return 1;
}

/* A reference date the engine accepts (yyyymmdd, years 1801..2140). */
static inline int valid_ref_date(int32_t d)
{
	int32_t y = d / 10000, m = (d / 100) % 100, day = d % 100;
	return y >= 1801 && y <= 2140 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* cube_plan.c */
/* Column, width and domain of a dimension. */
void dh__dim_column(const dh_cube *c, dh_dim d, const void **col, int *wide, uint32_t *domain);
/* lut[x] = pr holds for column value x (x < domain) at year shift `shift` of plan p's dates. */
void dh__pred_lut(const plan *p, const dh_predicate *pr, int shift, uint8_t *lut, uint32_t domain);
int dh__pred_valid(const dh_predicate *pr);
/* Compile a query; with_keys: also the counter keys of the counter scan. */
int dh__plan_build(const dh_cube *c, const dh_cube_query *q, int with_keys, plan **out,
		   dh_error *err);
void dh__plan_free(plan *p);

/* cube_cache.c: use the cube's cached static codes where the plan's tables are the cached ones. */
void dh__cache_attach(plan *p);

/* cube_scan.c: rows [a, b) into blocks (one block when gid is NULL, else per group
 * gid_map[gid[row]]); DH_OK or DH_NOMEM. dh__finalize: a table row from a block. */
int dh__scan(const plan *p, size_t a, size_t b, int64_t *blocks, const uint16_t *gid,
	     const uint32_t *gid_map);
void dh__finalize(const plan *p, const int64_t *blk, double *row);

/* cube_bitmap.c */
int dh__bitplan_build(const dh_cube *c, const plan *p, const dh_cube_query *q, bitplan **out);
void dh__bitplan_free(bitplan *bp);
/* Add the rows of ranges[0..n) (ascending, disjoint) to their counters. */
void dh__bit_scan(const bitplan *bp, const plan *p, const brange *ranges, size_t n);
/* Table row from distinct-term counters, for the columns cols[0..ncols) of p (all when NULL). */
void dh__bit_finalize(const plan *p, const bitplan *bp, const int64_t *blk, const int *cols,
		      size_t ncols, double *row);

/* cube_query.c */
int dh__thread_count(const dh_cube_query *q, uint64_t rows);
/* Run fn on jobs[0..n) (each `size` bytes): 1.. on threads, 0 on the caller. */
void dh__run_jobs(void *jobs, size_t size, int n, void *(*fn)(void *));
table_impl *dh__table_new(const plan *p, const group *groups, size_t ngroups);
/* Groups of a geographic level with their row ranges (EPCI: the ranges of its communes). */
int dh__range_groups(const dh_cube *c, dh_level level, group **gout, size_t *ngout,
		     uint32_t (**rout)[2]);
/* Index of the group coded code in groups[0..ng), or ng when there is none. */
size_t dh__group_find(const group *groups, size_t ng, const char *code);

/* cube_dateplan.c: the commune counters at `date` with one reference for the caller (built
 * when missing and `build` is set), or NULL; a table from them; the reference dropped. */
cube_dateplan *dh__dateplan_acquire(const dh_cube *cube, int32_t date, int build, int threads);
int dh__dateplan_table(const dh_cube *c, const cube_dateplan *dp, const dh_cube_query *q,
		       dh_cube_table **out, dh_error *err);
void dh__dateplan_release(cube_dateplan *dp);

/* The list arguments of a query (columns, filters and their sets) bounded and checked:
 * DH_OK or DH_INVAL with err filled (cube_query.c). */
int dh__cube_query_lists_check(const dh_cube_query *q, dh_error *err);

#endif
