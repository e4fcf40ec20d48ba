/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_internal.h - layout of the in-memory cube shared by its builder (cube_build.c), its
 * query engine (cube_query.c) and the snapshot holder (cube_holder.c). Not a public header.
 */
#ifndef DH_CUBE_INTERNAL_H
#define DH_CUBE_INTERNAL_H

#include "datahabitat/cube.h"

#include <pthread.h>
#include <stdatomic.h>

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
 * lease) and counts bits (cube_query.c). Word sums of the summable columns let a masked sum
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
 * commune, computed by the bitmap engine (cube_query.c): a geographic table without filter
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

/* Fill cube->cache and cube->bits (cube_query.c). Returns DH_OK or DH_NOMEM. */
int cube_cache_build(dh_cube *cube);
void cube_cache_free(cube_cache *cache);
void cube_bits_free(cube_bits *bits);

/* Build the per-date commune counters of `date` now (cube not yet shared). DH_OK or DH_NOMEM. */
int cube_dateplan_warm(dh_cube *cube, int32_t date);
/* Drop every per-date entry (when the cube is freed). */
void cube_dateplans_free(dh_cube *cube);
/* Bytes held by the per-date entries. Thread-safe. */
size_t cube_dateplans_memory(const dh_cube *cube);

/* Epoch of a date: number of distinct validity bounds <= date. */
uint16_t cube_epoch(const dh_cube *cube, int32_t date);

#endif
