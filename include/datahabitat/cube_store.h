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

/*
 * The latest reference date of the accepted deliveries of the store, as yyyymmdd in *date
 * (0 when there is none). Returns DH_OK, DH_STORE.
 */
int dh_store_latest_reference_date(dh_store *store, int32_t *date, dh_error *err);

#endif
