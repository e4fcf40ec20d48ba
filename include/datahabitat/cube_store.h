/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_store.h - building the in-memory cube (cube.h) from the store (store.h): every
 * dwelling version of every organisation with its validity [valid_from, valid_to) and its
 * landlord, over the reference geography, so that one cube answers any reference date.
 */
#ifndef DATAHABITAT_CUBE_STORE_H
#define DATAHABITAT_CUBE_STORE_H

#include "datahabitat/base.h"
#include "datahabitat/cube.h"
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

/* What dh_cube_build_from_store() met (may be ignored). */
typedef struct dh_cube_store_stats {
	uint64_t versions;        /* dwelling versions added to the cube */
	uint64_t landlords;       /* organisations declared */
	uint64_t unknown_commune; /* versions whose commune is not in geo (kept, in no territory) */
} dh_cube_store_stats;

/*
 * Build a cube of the whole versioned stock of `store`: the communes of geo (its index
 * order, with EPCI, département, région and QPV names), every organisation as a landlord
 * (code SIREN, its name), and every dwelling version with its validity and the commune
 * resolved at import. `stats` may be NULL. *out receives the cube (one reference: release
 * with dh_cube_release()).
 * Returns DH_OK, DH_STORE / DH_CORRUPT (reading the store), DH_TOOBIG (beyond the cube's
 * limits), DH_INVAL (inconsistent stored version), DH_NOMEM; err says why.
 * Thread safety: uses the store for the duration of the call (one thread at a time per
 * store, as store.h); geo is only read and may be shared.
 */
int dh_cube_build_from_store(dh_store *store, const dh_geo *geo, dh_cube **out,
			     dh_cube_store_stats *stats, dh_error *err);

/* Where the rows of a commune come from in a cube built by dh_cube_build_with_sources(). */
typedef enum dh_provenance {
	DH_FROM_NONE = 0,      /* no dwelling at the date */
	DH_FROM_MEMBERS = 1,   /* members' deliveries */
	DH_FROM_REFERENCE = 2  /* the reference source (open data) */
} dh_provenance;

/* In: the date and the choice; out: what was used. Release with dh_cube_sources_release(). */
typedef struct dh_cube_sources {
	int32_t date;            /* in: reference date of the queries, yyyymmdd */
	const char *source;      /* in: NULL: members wherever they have dwellings at `date`, the
	                            reference source elsewhere; a source name: that source wherever
	                            it has rows at `date`, members elsewhere */
	char used[64];           /* out: the reference source used, "" if none */
	int32_t used_date;       /* out: its reference date, 0 if none */
	char landlord[80];       /* out: landlord code of its rows in the cube ("source:NAME") */
	uint8_t *commune_from;   /* out: dh_provenance per geo commune (malloc'ed); all
	                            DH_FROM_NONE when no source applies (every row is a member's) */
	size_t ncommunes;
} dh_cube_sources;

/*
 * Build the cube for queries at src->date from the members' deliveries and one reference
 * source. A reference source (name, date d) applies at dates d <= D < d + 1 year; among those
 * that apply, the one named by src->source, else the most recent (then the first by name).
 * Per commune one provenance only (never both added up): by default members wherever they
 * have a dwelling valid at D, the reference source elsewhere; with src->source, the source
 * wherever it has rows, members elsewhere. The reference rows are declared as one landlord
 * `src->landlord` and are valid on [d, d + 1 year). Returns as dh_cube_build_from_store(),
 * and DH_NOTFOUND when src->source names no source that applies at D.
 */
int dh_cube_build_with_sources(dh_store *store, const dh_geo *geo, dh_cube_sources *src,
			       dh_cube **out, dh_cube_store_stats *stats, dh_error *err);
void dh_cube_sources_release(dh_cube_sources *src);

/* 1 if a reference source can give this indicator: structure figures (public), not the
 * business ones nor those that need the landlord's kind (parc_non_conv, nb_lgt_tot). */
int dh_indicator_from_reference(const dh_indicator *ind);

/*
 * After dh_cube_query_run(cube, q) gave t on a cube of dh_cube_build_with_sources(): say
 * where each row's figures come from and undefine (NaN) the indicators a reference source
 * cannot give on the rows that hold reference rows. *labels receives t->nrows malloc'ed
 * French strings ("adhérents", "référence NAME", "adhérents + référence NAME", "" when the
 * row has no dwelling at the date), freed with dh_cube_source_labels_free(). When no
 * reference source was used, every row is "adhérents" (or ""). Returns DH_OK, DH_NOMEM, or
 * a query error.
 */
int dh_cube_table_apply_sources(const dh_cube *cube, const dh_cube_query *q,
				const dh_cube_sources *src, dh_cube_table *t, char ***labels,
				dh_error *err);
void dh_cube_source_labels_free(char **labels, size_t n);

/* ---- Persisted cube (snapshot file next to the database) ------------------------------- */

/*
 * The stamp of the store state a cube of dh_cube_build_from_store() reflects: a BLAKE2b
 * digest of every delivery (id, organisation, date, reception time, file hash, rows, status),
 * every organisation (SIREN, name, kind) and of geo as the builder reads it (communes and
 * their parents with names, QPV codes and names). Any accepted import, new organisation or
 * geography change gives another stamp. Cheap: no dwelling row is read.
 * Returns DH_OK, DH_STORE, DH_NOMEM.
 */
int dh_cube_store_stamp(dh_store *store, const dh_geo *geo, uint8_t stamp[DH_CUBE_STAMP_SIZE],
			dh_error *err);

/* What dh_cube_open_snapshot() did (may be ignored). */
typedef struct dh_cube_snapshot_info {
	int opened;      /* 1: the snapshot file was used as it was */
	int rebuilt;     /* 1: the cube was built from the store (file missing, stale or refused) */
	int why;         /* when rebuilt: the load's result (DH_NOTFOUND, DH_CONFLICT, DH_CORRUPT...) */
	int written;     /* 1: the rebuilt cube was saved as the new snapshot */
	int write_error; /* when rebuilt but not written: the write's result (the cube is still good) */
} dh_cube_snapshot_info;

/*
 * The cube of the whole versioned stock, from the snapshot file at path (NULL: the database
 * file's path + DH_CUBE_SNAPSHOT_SUFFIX) when it reflects the store's current state, else
 * built from the store (dh_cube_build_from_store) and saved there for the next reader. geo
 * must be the one the cube is built over, QPV names applied (dh_geo_load_qpv_stored) as every
 * caller does, or the stamps never match. *out: one reference, dh_cube_release() (unmaps).
 * A server keeps the result in a dh_cube_holder and swaps after each accepted delivery.
 * Returns DH_OK or a result of dh_cube_build_from_store(); a snapshot that cannot be read or
 * written never fails the call (see info). Uses the store: one thread at a time per store.
 */
int dh_cube_open_snapshot(dh_store *store, const dh_geo *geo, const char *path, dh_cube **out,
			  dh_cube_snapshot_info *info, dh_error *err);

/*
 * dh_cube_open_snapshot() and, on success, dh_cube_holder_swap() of the result into h: what a
 * server calls at start and after each accepted delivery (dh_import_file has rewritten the
 * file by then). Readers holding the previous cube keep it (and its mapping) until they
 * release it. Returns as dh_cube_open_snapshot(); on failure h keeps its cube.
 */
int dh_cube_holder_open_snapshot(dh_cube_holder *h, dh_store *store, const dh_geo *geo,
				 const char *path, dh_cube_snapshot_info *info, dh_error *err);

/*
 * The operator's cube at src->date (dh_cube_build_with_sources()): when src->source is NULL
 * and no reference source applies at the date, that cube is the members' one, opened from
 * the snapshot as dh_cube_open_snapshot() (src filled as dh_cube_build_with_sources() fills
 * it: no source used); otherwise built. Returns as dh_cube_build_with_sources().
 */
int dh_cube_open_with_sources(dh_store *store, const dh_geo *geo, const char *path,
			      dh_cube_sources *src, dh_cube **out, dh_cube_snapshot_info *info,
			      dh_error *err);

/*
 * Build the cube from the store and save it as the snapshot at path (NULL: as above),
 * whatever the file holds: what an accepted delivery calls (dh_import_file does). *out may
 * be NULL (cube released), else receives the built cube. Returns DH_OK, a build error, or
 * the write's DH_IO / DH_NOMEM.
 */
int dh_cube_snapshot_refresh(dh_store *store, const dh_geo *geo, const char *path, dh_cube **out,
			     dh_error *err);

/*
 * The latest reference date of the accepted deliveries of the store, as yyyymmdd in *date
 * (0 when there is none). Returns DH_OK, DH_STORE.
 */
int dh_store_latest_reference_date(dh_store *store, int32_t *date, dh_error *err);

#endif
