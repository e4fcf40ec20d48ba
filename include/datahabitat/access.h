/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * access.h - the one entry point for figures: every read of indicators by a caller
 * (CLI `indicators --as`, the HTTP server later) goes through dh_figures_query(), which
 * takes the caller's identity (identity.h) and returns only what the rules allow
 * (docs/governance.md has the role x data matrix):
 *   - a landlord member reading its own organisation (level landlord restricted to its
 *     SIREN, or the filter BAILLEUR=<its SIREN>) gets its figures in full, unsuppressed;
 *   - anything mixing several landlords needs a sharing agreement in force that covers the
 *     caller's audience, the territory and the indicators (none: DH_DENIED, fail closed),
 *     and goes through disclosure control (disclosure.h, default policy of domain.md §7):
 *     the table is suppressed jointly with every level of the hierarchy (communes, EPCI,
 *     départements, régions, total) so that no level can be differenced against another;
 *   - no one but the member itself sees a landlord singled out (level landlord or a
 *     landlord filter is refused); administrators and data protection officers read no
 *     figures (least privilege).
 * Queries on others' data and refusals are appended to the audit chain (audit.h).
 * The one exception, dh_figures_query_unrestricted(), is the operator's: it requires owning
 * the database file and is audited too.
 *
 * Thread safety: uses the store (one thread at a time per store); cube and geo are only read.
 */
#ifndef DATAHABITAT_ACCESS_H
#define DATAHABITAT_ACCESS_H

#include "datahabitat/base.h"
#include "datahabitat/cube.h"
#include "datahabitat/disclosure.h"
#include "datahabitat/geo.h"
#include "datahabitat/identity.h"
#include "datahabitat/store.h"

typedef struct dh_figures_request {
	dh_level level;              /* commune, epci, departement, region, all; landlord: own only */
	int32_t reference_date;      /* yyyymmdd */
	const char *territory;       /* NULL: every territory of the level the caller may see */
	const dh_predicate *filters; /* only BAILLEUR=<own SIREN> for a member; others refused
	                                outside the member's own data (see docs/governance.md) */
	size_t nfilters;
	const int *indicators;       /* registry positions; NULL: all the agreement allows */
	size_t nindicators;
	const char *today;           /* "YYYY-MM-DD" to check agreements against; NULL: today UTC */
} dh_figures_request;

/* What the caller may see. Hidden cells hold NaN in values (the figure never leaves the
 * core) and status PRIMARY or SECONDARY; writers print "secret" / an empty value + flag. */
typedef struct dh_figures_result {
	size_t nrows, ncols;
	const dh_indicator **columns; /* registry entries (static) */
	char **codes;                 /* nrows territory codes */
	char **names;                 /* nrows names */
	double *values;               /* nrows * ncols, row-major; NaN: undefined or hidden */
	uint8_t *status;              /* nrows * ncols enum dh_disclosure_status */
	int own;                      /* 1: no suppression applied: the caller's own data, or
	                                 the operator's unrestricted mode */
	int64_t agreement;            /* agreement that allowed it, 0 for own data */
	size_t hidden;                /* cells hidden among those returned */
	dh_disclosure_stats stats;    /* of the joint hierarchy table (zero for own data) */
} dh_figures_result;

/*
 * Answer `req` for `who`. *out (caller frees with dh_figures_result_free) is set on success.
 * Returns DH_OK; DH_AUTH (who NULL); DH_DENIED (role without figures, landlord singled out,
 * no agreement in force covering audience, territory, indicators and date, territory out of
 * the caller's scope, unsupported level or filter for this audience: err says which);
 * DH_INVAL, DH_NOTFOUND (as dh_cube_query_run); DH_NOMEM; DH_STORE (audit log).
 */
int dh_figures_query(dh_store *store, const dh_geo *geo, const dh_cube *cube, const dh_identity *who,
		     const dh_figures_request *req, dh_figures_result **out, dh_error *err);

/*
 * The operator's unrestricted mode (CLI `indicators --unrestricted`): the figures of `req`
 * in full, as the cube computes them (any level, territory and filter; no agreement, no
 * disclosure control), for the person who runs the platform and already holds every row
 * in the database file. Refused unless the calling process owns that file
 * (dh_store_caller_owns). Granted and refused calls alike are appended to the audit chain
 * (action "query-operator", result "ok" or "refused", by `actor`); no figures are
 * returned when the entry cannot be written. req->today is not used.
 * Returns DH_OK (r->own = 1, nothing hidden); DH_DENIED (not the owner, or a database
 * without file); DH_INVAL, DH_NOTFOUND (as dh_cube_query_run); DH_NOMEM; DH_STORE.
 */
int dh_figures_query_unrestricted(dh_store *store, const dh_cube *cube, const dh_actor *actor,
				  const dh_figures_request *req, dh_figures_result **out, dh_error *err);

void dh_figures_result_free(dh_figures_result *r);

/* Value and status at (row, col); no bounds check. */
static inline int dh_figures_hidden(const dh_figures_result *r, size_t row, size_t col)
{
	return r->status[row * r->ncols + col] != DH_DISCLOSURE_PUBLISHED;
}

#endif
