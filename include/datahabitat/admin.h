/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * admin.h - the audited entry points for setting up a store and for the data that the
 * store functions alone would handle without a trace: creating and initialising the
 * database (geography, keys), registering an organisation, exporting a landlord's stock.
 * Each call appends exactly one entry to the audit chain (audit.h) with the actor its
 * caller passes (actor.h); a call refused for its arguments (DH_INVAL) writes none.
 * Applications (CLI, server) use these rather than dh_store_org_add / dh_store_stock_read.
 */
#ifndef DATAHABITAT_ADMIN_H
#define DATAHABITAT_ADMIN_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

typedef struct dh_init_result {
	dh_store_info info;          /* the store after initialisation */
	int already;                 /* 1: it was an initialised datahabitat database already */
	int pseudo_key_created;      /* 1: the pseudonymisation key was created (pseudo.h) */
	int audit_key_created;       /* 1: the audit key was created (audit.h) */
	char pseudo_key_path[4200];  /* where the pseudonymisation key is */
	char audit_key_path[4200];   /* where the audit key is */
} dh_init_result;

/*
 * Create (or complete) the store at `location`: schema, reference geography when missing,
 * pseudonymisation key and audit key next to the database (0600; audit checkpoints every
 * `checkpoint_every` entries, 0 for DH_AUDIT_CHECKPOINT_EVERY), then one "init" entry.
 * An existing store is left as it is (keys made if missing). *out (may be NULL) receives the
 * open store. Returns DH_OK; dh_store_open's codes; DH_IO, DH_DENIED (key files), DH_STORE.
 */
int dh_store_init(const char *location, const dh_geo *geo, const dh_actor *actor, int checkpoint_every,
		  dh_init_result *res, dh_store **out, dh_error *err);

/*
 * dh_store_org_add, logged as "org-add" (object "org:SIREN", result ok, refused for an
 * existing SIREN or invalid fields, error). Returns dh_store_org_add's codes, or the
 * audit chain's when the entry cannot be written.
 */
int dh_org_register(dh_store *store, const dh_actor *actor, dh_org *org, dh_error *err);

/*
 * dh_geo_qpv_save (the QPV list loaded in geo replaces the stored one), logged as
 * "qpv-load" (object "qpv:N" with N the number of QPV, result ok or error). Returns
 * dh_geo_qpv_save's codes, or the audit chain's when the entry cannot be written.
 */
int dh_qpv_register(dh_store *store, const dh_actor *actor, const dh_geo *geo, dh_error *err);

/*
 * Export the stock of `siren` as of `date` (NULL: latest), as dh_store_stock_read gives it.
 * Logged as "export" (object "stock:SIREN@DATE|latest", plus " delivery:ID" when found)
 * BEFORE any row is handed to cb: if the entry cannot be written nothing is exported.
 * A missing organisation or delivery is logged "refused" (DH_NOTFOUND).
 */
int dh_stock_export(dh_store *store, const dh_actor *actor, const char *siren, const char *date,
		    dh_delivery *delivery_out, dh_stock_cb cb, void *ctx, dh_error *err);

#endif
