/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube.h - the in-memory cube: an immutable, columnar, dictionary-encoded copy of the
 * versioned social-housing stock, and the group-by queries that compute the indicators of
 * the registry (indicators.h) by territory at a reference date.
 *
 * Life cycle: a dh_cube_builder is fed with the territories (communes with their EPCI,
 * département and région, usually from a dh_geo), the landlords, and dwelling versions (one
 * per dwelling and validity period, from the store or an import); dh_cube_builder_finish()
 * sorts the rows by région, département, commune and landlord (so every territory of these
 * levels, and every landlord inside a commune, is one contiguous range of rows) and returns the immutable dh_cube. A dh_cube_holder keeps the
 * current cube and swaps it atomically when a new one is built: readers acquire a reference
 * and are never blocked by a build nor see a half-built cube. A cube opened from a snapshot
 * file (dh_cube_open_snapshot(), cube_store.h) is swapped in the same way.
 *
 * Dates are integers yyyymmdd. A version is valid on [valid_from, valid_to).
 */
#ifndef DATAHABITAT_CUBE_H
#define DATAHABITAT_CUBE_H

#include "datahabitat/base.h"
#include "datahabitat/geo.h"
#include "datahabitat/indicators.h"
#include "datahabitat/rpls.h"

typedef struct dh_cube dh_cube;
typedef struct dh_cube_builder dh_cube_builder;
typedef struct dh_cube_holder dh_cube_holder;

/* A commune and its parents, given to the builder (all strings copied). */
typedef struct dh_cube_commune {
	const char *code;             /* COG code, e.g. "35238" */
	const char *name;             /* may be NULL */
	const char *epci;             /* EPCI SIREN, NULL or "" if none */
	const char *epci_name;
	const char *departement;      /* "35" */
	const char *departement_name;
	const char *region;           /* "53" */
	const char *region_name;
} dh_cube_commune;

/*
 * One version of one dwelling. Text views are borrowed only for the duration of
 * dh_cube_builder_add(). Unknown values: empty views, 0 for integers and dates, NaN for
 * numbers.
 */
typedef struct dh_cube_version {
	int32_t landlord;     /* index from dh_cube_builder_add_landlord() */
	int32_t commune;      /* index from dh_cube_builder_add_commune() (= dh_geo index after
	                         dh_cube_builder_add_geo()), -1 if unknown */
	int32_t valid_from;   /* first day of validity, yyyymmdd */
	int32_t valid_to;     /* first day it is no longer valid, yyyymmdd; 0 = still valid */
	dh_str mode;          /* MODE "1".."5", "9" */
	dh_str typeconst;     /* "C", "I", "E" */
	dh_str finan;         /* FINAN code */
	dh_str dpe_energie;   /* DPEENERGIE class */
	dh_str dpe_serre;     /* DPESERRE class */
	dh_str qpv;           /* QPV flag "1" / "2" */
	dh_str qpv_code;      /* QPV_CODE, e.g. "QN03501M" */
	dh_str origine;       /* ORIGINE "1".."4" */
	dh_str sortiepatrim;  /* SORTIEPATRIM "1".."5", "9" */
	dh_str conv;          /* CONV "1" conventioned, "2" not */
	dh_str newlogt;       /* NEWLOGT "1" change of use, "2" fusion/scission */
	dh_str oldlogt;       /* OLDLOGT "1" change of use, "2" fusion/scission (gone dwelling) */
	int landlord_sem;     /* 1 if the landlord is a SEM (its CONV 2 dwellings are out of the
	                         parc locatif social) */
	int reference;        /* 1 for a row of a reference source (open data): no MODE, in the
	                         stock by definition */
	int32_t nbpiece;      /* NBPIECE */
	int32_t construct;    /* CONSTRUCT year */
	int32_t locat;        /* LOCAT year */
	int32_t bail;         /* BAIL, yyyymmdd (dd may be 0) */
	int32_t remlocdate;   /* REMLOCDATE, yyyymmdd (dd may be 0) */
	int32_t dpedate;      /* DPEDATE, yyyymmdd (dd may be 0); 01/1900 means no DPE */
	double loyerprinc;    /* LOYERPRINC, € per month; 9999 means not applicable */
	double surfhab;       /* SURFHAB, m² */
} dh_cube_version;

/*
 * Fill the dwelling fields of *v from a validated row (text views borrowed from the row, valid
 * as long as the row). Sets commune from row->commune; leaves landlord, valid_from and
 * valid_to at -1, 0, 0 for the caller to set. Thread-safe.
 */
void dh_cube_version_from_rpls(dh_cube_version *v, const dh_rpls_row *row);

/* New empty builder. Returns DH_OK or DH_NOMEM. Free with dh_cube_builder_free().
 * A builder is used by one thread at a time. */
int dh_cube_builder_new(dh_cube_builder **out);
void dh_cube_builder_free(dh_cube_builder *b);

/*
 * Declare a commune; *index (may be NULL) receives its index, to use in versions.
 * Returns DH_OK, DH_INVAL (missing code or département/région), DH_EXISTS (code already
 * declared), DH_TOOBIG (more than 65535 EPCI, départements or régions), DH_NOMEM.
 */
int dh_cube_builder_add_commune(dh_cube_builder *b, const dh_cube_commune *c, int32_t *index,
				dh_error *err);

/*
 * Declare every commune of geo, in geo order (commune index = dh_geo index), with its EPCI,
 * département and région names, and the names of geo's QPV. Call before any other
 * commune is declared. Returns as dh_cube_builder_add_commune(). geo is only read.
 */
int dh_cube_builder_add_geo(dh_cube_builder *b, const dh_geo *geo, dh_error *err);

/* Declare a landlord (code: SIREN; name may be NULL); *index receives its index.
 * Returns DH_OK, DH_INVAL, DH_EXISTS, DH_TOOBIG (more than 65535), DH_NOMEM. */
int dh_cube_builder_add_landlord(dh_cube_builder *b, const char *code, const char *name,
				 int32_t *index, dh_error *err);

/* Give the name of a QPV code (optional: QPV codes met in versions are named by their code). */
int dh_cube_builder_name_qpv(dh_cube_builder *b, const char *code, const char *name,
			     dh_error *err);

/*
 * Add one dwelling version. Returns DH_OK, DH_INVAL (bad landlord or commune index, or
 * valid_to <= valid_from: err says which), DH_TOOBIG (more than 255 distinct codes in a
 * field, 65535 QPV codes or 65534 distinct validity dates, 2^31 rows), DH_NOMEM.
 */
int dh_cube_builder_add(dh_cube_builder *b, const dh_cube_version *v, dh_error *err);

/*
 * Sort and freeze: *out receives the cube (one reference, owned by the caller: release
 * with dh_cube_release()). The builder is emptied and may then only be freed.
 * Returns DH_OK or DH_NOMEM.
 */
int dh_cube_builder_finish(dh_cube_builder *b, dh_cube **out, dh_error *err);

/* Take one more reference / drop one (the last frees the cube; NULL is a no-op).
 * Thread-safe (atomic reference count). */
void dh_cube_retain(dh_cube *cube);
void dh_cube_release(dh_cube *cube);

/* Number of rows (dwelling versions), and bytes of memory held by the cube. */
size_t dh_cube_row_count(const dh_cube *cube);
size_t dh_cube_memory(const dh_cube *cube);

/* --- Snapshot holder --- */

/* New holder, initially empty. Returns DH_OK or DH_NOMEM. */
int dh_cube_holder_new(dh_cube_holder **out);
/* Free the holder and release its cube. No reader may use the holder any more. */
void dh_cube_holder_free(dh_cube_holder *h);
/*
 * The current cube with one reference taken for the caller (release it with
 * dh_cube_release()), or NULL when none was set. Thread-safe; never waits for a build:
 * the only lock is held for the pointer copy and the reference increment.
 */
dh_cube *dh_cube_holder_acquire(dh_cube_holder *h);
/*
 * Make `cube` the current one. Takes over the caller's reference; releases the holder's
 * reference to the previous cube (freed once its last reader releases it). Thread-safe.
 */
void dh_cube_holder_swap(dh_cube_holder *h, dh_cube *cube);

/* --- Snapshot files ---
 *
 * A built cube can be saved as a file (by convention <database>.cube, see cube_store.h
 * for dh_cube_open_snapshot(), the one call a reader needs) and opened again with mmap: no
 * parse, no copy of the columns. The file is versioned, checksummed section by section and
 * carries the stamp of the store state the cube reflects; a file that does not hold is
 * refused, never used.
 */
#define DH_CUBE_STAMP_SIZE 32
#define DH_CUBE_SNAPSHOT_SUFFIX ".cube"

/*
 * Write cube to path atomically (temporary file 0600 in the same directory, fsync, rename,
 * fsync of the directory), tagged with `stamp`. The cube is only read. Returns DH_OK,
 * DH_INVAL (cube itself opened from a snapshot: copy the file instead), DH_IO, DH_NOMEM.
 */
int dh_cube_snapshot_write(const dh_cube *cube, const uint8_t stamp[DH_CUBE_STAMP_SIZE],
			   const char *path, dh_error *err);
/*
 * Open the snapshot at path read-only (mmap); *out receives a cube like any other (one
 * reference; dh_cube_release() of the last one unmaps it). With a non-NULL `stamp`, a file
 * of another store state is refused. Every section's checksum is verified before use.
 * Returns DH_OK, DH_NOTFOUND (no file), DH_CONFLICT (stale: other stamp), DH_CORRUPT
 * (truncated, wrong magic, version or byte order, checksum, inconsistent sizes or indexes),
 * DH_IO, DH_NOMEM.
 */
int dh_cube_snapshot_load(const char *path, const uint8_t stamp[DH_CUBE_STAMP_SIZE], dh_cube **out,
			  dh_error *err);
/* 1 if cube was opened from a snapshot file, 0 if it was built in memory. */
int dh_cube_is_snapshot(const dh_cube *cube);

/* --- Queries --- */

typedef enum dh_level {
	DH_LEVEL_ALL,
	DH_LEVEL_COMMUNE,
	DH_LEVEL_EPCI,
	DH_LEVEL_DEPARTEMENT,
	DH_LEVEL_REGION,
	DH_LEVEL_QPV,      /* by QPV code; dwellings with only the QPV flag are in no QPV row */
	DH_LEVEL_LANDLORD
} dh_level;

/* "all", "commune", "epci", "departement", "region", "qpv", "bailleur". */
const char *dh_level_name(dh_level level);
/* Level of a name (also accepts "landlord", "département", "région"); -1 if unknown. */
int dh_level_find(dh_str name);

#define DH_CUBE_MAX_FILTERS 8
#define DH_CUBE_MAX_COLUMNS 256 /* indicator positions in one query (repeats allowed) */

typedef struct dh_cube_query {
	dh_level level;
	int32_t reference_date;    /* yyyymmdd; rows valid at this date are counted */
	const char *territory;     /* NULL: every territory of the level; else one code */
	const dh_predicate *filters; /* conjunction applied to every term (may be NULL) */
	size_t nfilters;           /* at most DH_CUBE_MAX_FILTERS */
	const int *indicators;     /* registry positions of the columns; NULL: all */
	size_t nindicators;        /* at most DH_CUBE_MAX_COLUMNS */
	int threads;               /* 0: automatic (up to the online CPUs, at most 8); 1: none */
} dh_cube_query;

/* A result: rows are territories, columns indicators. Owned by the caller. */
typedef struct dh_cube_table {
	size_t nrows, ncols;
	const dh_indicator **columns; /* registry entries (static) */
	char **codes;                 /* territory codes, nrows strings */
	char **names;                 /* territory names, nrows strings ("" when unknown) */
	double *values;               /* nrows * ncols, row-major; NaN when undefined (0/0) */
} dh_cube_table;

/*
 * Run a query on cube (only read: any number of threads may query one cube at once).
 * Rows are the territories of the level that have at least one row in the cube, in cube
 * order (région, département, EPCI, commune for geographic levels), or only `territory`.
 * Returns DH_OK, DH_INVAL (bad level, date, indicator position, more than
 * DH_CUBE_MAX_COLUMNS columns, filter or filter set refused by dh_predicate_set_check), DH_NOTFOUND
 * (territory code unknown or without dwellings), DH_TOOBIG (a term needs too many
 * counters), DH_NOMEM. *out is freed with dh_cube_table_free().
 */
int dh_cube_query_run(const dh_cube *cube, const dh_cube_query *q, dh_cube_table **out,
		      dh_error *err);

void dh_cube_table_free(dh_cube_table *t);

/*
 * A commune table split by landlord: for each commune row, one *part* per landlord with rows
 * in the commune, holding that landlord's values of the columns. Owned by the caller (free
 * with dh_cube_split_free()); all strings and arrays are freed with it.
 */
typedef struct dh_cube_split {
	size_t nrows, ncols;          /* communes, columns */
	const dh_indicator **columns; /* registry entries (static) */
	char **codes;                 /* commune codes, nrows strings (as dh_cube_query_run()) */
	char **names;                 /* commune names, nrows strings ("" when unknown) */
	size_t nlandlords;
	char **landlords;             /* landlord codes (SIREN) in cube order, nlandlords strings */
	size_t nparts;
	size_t *first;                /* nrows + 1: the parts of row i are first[i] .. first[i+1] */
	uint32_t *landlord;           /* nparts: index into landlords, increasing inside a row */
	double *values;               /* nparts * ncols, row-major; NaN when undefined (0/0) */
} dh_cube_split;

/*
 * The commune table of q split by landlord, in one pass over the rows (each landlord's rows
 * in a commune are one contiguous range). q->level must be DH_LEVEL_COMMUNE; territory,
 * filters, indicators and threads as dh_cube_query_run(). Rows are those of
 * dh_cube_query_run(q) in the same order; the parts of a row are the landlords with at
 * least one row in the commune (at any date), and part values are exactly those of
 * dh_cube_query_run() with the filter BAILLEUR=<landlord> added (a landlord without a part
 * in a commune has zero counts there). Only reads the cube: any number of threads may run
 * it at once. Returns DH_OK, DH_INVAL (level not commune, bad date, indicator or filter),
 * DH_NOTFOUND (territory unknown or without dwellings), DH_TOOBIG, DH_NOMEM.
 */
int dh_cube_query_split(const dh_cube *cube, const dh_cube_query *q, dh_cube_split **out,
			dh_error *err);

/* Free a split table (NULL is a no-op). */
void dh_cube_split_free(dh_cube_split *s);

/* Value at (row, col); no bounds check. */
static inline double dh_cube_table_value(const dh_cube_table *t, size_t row, size_t col)
{
	return t->values[row * t->ncols + col];
}

/* Column of indicator `id` in t, or -1. */
int dh_cube_table_column(const dh_cube_table *t, const char *id);
/* Row of territory `code` in t, or -1. */
int dh_cube_table_row(const dh_cube_table *t, const char *code);

/*
 * Parse a filter written "DIM=v1,v2" (set), "DIM=lo..hi" (range, inclusive), "DIM=-" (absent)
 * or "DIM=*" (present), e.g. "TYPECONST=C", "FINAN=10,11", "CONSTRUCT=1970..1989",
 * "BAILLEUR=123456789". The predicate's set points into `text`, which must outlive it.
 * Returns DH_OK or DH_INVAL (err says why).
 */
int dh_cube_filter_parse(const char *text, dh_predicate *out, dh_error *err);

#endif
