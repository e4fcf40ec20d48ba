/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * admin.c - the audited entry points of admin.h: store initialisation (schema, geography,
 * keys), organisation registration and stock export, each writing one audit entry.
 */
#include "datahabitat/admin.h"
#include "datahabitat/cube_store.h"

#include "datahabitat/audit.h"
#include "datahabitat/import.h"
#include "datahabitat/pseudo.h"

#include <stdio.h>
#include <string.h>

int dh_store_init(const char *location, const dh_geo *geo, const dh_actor *actor, int checkpoint_every,
		  dh_init_result *res, dh_store **out, dh_error *err)
{
	if (!location || !geo || !res || checkpoint_every < 0)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK)
		return DH_INVAL;
	memset(res, 0, sizeof(*res));
	if (out)
		*out = NULL;
	dh_store *store = NULL;
	int rc = dh_store_open(&store, location, DH_STORE_CREATE, err);
	if (rc != DH_OK)
		return rc;
	rc = dh_store_info_get(store, &res->info, err);
	res->already = rc == DH_OK && !res->info.created;
	/* A database created by an init that failed before its geography was loaded gets it now. */
	if (rc == DH_OK && (res->info.created || res->info.communes == 0)) {
		rc = dh_geo_save(geo, store, err);
		if (rc == DH_OK)
			rc = dh_store_info_get(store, &res->info, err);
	}
	/* The keys, next to the database (never inside it): made once. */
	if (rc == DH_OK &&
	    (rc = dh_pseudo_key_path(location, res->pseudo_key_path, sizeof(res->pseudo_key_path), err)) == DH_OK) {
		rc = dh_pseudo_key_create(res->pseudo_key_path, err);
		res->pseudo_key_created = rc == DH_OK;
		if (rc == DH_EXISTS)
			rc = DH_OK;
	}
	if (rc == DH_OK && (rc = dh_audit_key_path(store, res->audit_key_path, sizeof(res->audit_key_path), err)) == DH_OK) {
		rc = dh_audit_key_create(store, checkpoint_every, err);
		res->audit_key_created = rc == DH_OK;
		if (rc == DH_EXISTS)
			rc = DH_OK;
	}
	if (rc == DH_OK) {
		char object[64];
		snprintf(object, sizeof(object), "db%s%s%s", res->already ? " existing" : "",
			 res->pseudo_key_created ? " pseudo-key:v1" : "", res->audit_key_created ? " audit-key" : "");
		rc = dh_audit_log(store, actor, "init", object, 0, "", "ok", err);
	}
	if (rc != DH_OK || !out)
		dh_store_close(store);
	else
		*out = store;
	return rc;
}

int dh_org_register(dh_store *store, const dh_actor *actor, dh_org *org, dh_error *err)
{
	if (!store || !org)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK)
		return DH_INVAL;
	int rc = dh_store_org_add(store, org, err);
	char object[32];
	snprintf(object, sizeof(object), "org:%.9s", org->siren);
	dh_error aerr;
	dh_error_clear(&aerr);
	int arc = dh_audit_log(store, actor, "org-add", object, 0, "",
			       rc == DH_OK ? "ok" : rc == DH_EXISTS || rc == DH_INVAL ? "refused" : "error", &aerr);
	if (rc == DH_OK && arc != DH_OK) {
		if (err)
			*err = aerr;
		return arc;
	}
	return rc;
}

int dh_qpv_register(dh_store *store, const dh_actor *actor, const dh_geo *geo, dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (dh_actor_check(actor, err) != DH_OK)
		return DH_INVAL;
	int rc = dh_geo_qpv_save(geo, store, err);
	char object[32];
	snprintf(object, sizeof(object), "qpv:%zu", dh_geo_qpv_count(geo));
	dh_error aerr;
	dh_error_clear(&aerr);
	int arc = dh_audit_log(store, actor, "qpv-load", object, 0, "", rc == DH_OK ? "ok" : "error", &aerr);
	if (rc == DH_OK && arc != DH_OK) {
		if (err)
			*err = aerr;
		return arc;
	}
	return rc;
}

typedef struct latest_ctx {
	const char *date; /* NULL: any */
	dh_delivery found;
	int have;
} latest_ctx;

/* The latest accepted delivery dated on or before ctx->date (the rule of dh_store_stock_read). */
static int pick_latest(void *ctx, const dh_delivery *d)
{
	latest_ctx *l = ctx;
	if (d->status == DH_DELIVERY_ACCEPTED && (!l->date || strcmp(d->reference_date, l->date) <= 0) &&
	    (!l->have || strcmp(d->reference_date, l->found.reference_date) > 0)) {
		l->found = *d;
		l->have = 1;
	}
	return DH_OK;
}

int dh_stock_export(dh_store *store, const dh_actor *actor, const char *siren, const char *date,
		    dh_delivery *delivery_out, dh_stock_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb || !dh_siren_valid(siren) || (date && !dh_date_valid(date)))
		return dh_error_set(err, DH_INVAL, "argument manquant ou invalide");
	if (dh_actor_check(actor, err) != DH_OK)
		return DH_INVAL;
	dh_org org;
	latest_ctx l = { date, { 0 }, 0 };
	int rc = dh_store_org_get(store, siren, &org, err);
	if (rc == DH_OK)
		rc = dh_store_delivery_list(store, siren, pick_latest, &l, err);
	if (rc == DH_OK && !l.have)
		rc = date ? dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée au %s", siren, date)
			  : dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée", siren);
	char object[96];
	int n = snprintf(object, sizeof(object), "stock:%s@%s", siren, date ? date : "latest");
	if (l.have)
		snprintf(object + n, sizeof(object) - (size_t)n, " delivery:%lld", (long long)l.found.id);
	dh_error aerr;
	dh_error_clear(&aerr);
	int arc = dh_audit_log(store, actor, "export", object, 0, "",
			       rc == DH_OK ? "ok" : rc == DH_NOTFOUND ? "refused" : "error", &aerr);
	if (rc != DH_OK)
		return rc;
	if (arc != DH_OK) { /* fail closed: no row leaves without its entry */
		if (err)
			*err = aerr;
		return arc;
	}
	/* At the found delivery's own date: a delivery imported since cannot slip in. */
	return dh_store_stock_read(store, siren, l.found.reference_date, delivery_out, cb, ctx, err);
}

/* ---- Deliveries: the import pipeline of ingest (import.h), audited here ---- */

/* Every import attempt that reaches the store is logged to the audit chain. */
int dh_import_file(dh_store *store, const dh_geo *geo, const char *path, const dh_import_options *opt,
		   dh_import_result *result, dh_error *err)
{
	dh_actor system = dh_actor_system();
	const dh_actor *actor = opt && opt->actor ? opt->actor : &system;
	if (dh_actor_check(actor, err) != DH_OK) /* before anything is stored */
		return DH_INVAL;
	int rc = dh_import_run(store, geo, path, opt, result, err);
	if (!store || !opt || !result || rc == DH_INVAL)
		return rc;
	char object[64];
	const char *outcome = rc == DH_OK ? (result->duplicate ? "duplicate" : "ok") : rc == DH_REFUSED || rc == DH_NOTFOUND || rc == DH_CONFLICT ? "refused" : "error";
	if (rc == DH_OK || rc == DH_REFUSED)
		snprintf(object, sizeof(object), "delivery:%lld org:%s", (long long)result->delivery.id, opt->siren);
	else
		snprintf(object, sizeof(object), "org:%s", opt->siren);
	dh_error log_err;
	dh_error_clear(&log_err);
	if (dh_audit_log(store, actor, "import", object, 0, "", outcome,
			 &log_err) != DH_OK &&
	    (rc == DH_OK || rc == DH_REFUSED)) {
		dh_import_result_release(result);
		return dh_error_set(err, log_err.code,
				    "livraison enregistrée, mais le journal d'audit n'a pas pu être écrit : %s",
				    log_err.message);
	}
	/* An accepted delivery changes the stock: the persisted cube (<db>.cube) is rebuilt and
	 * rewritten now, so that the next reader (CLI or server) opens it instead of rebuilding.
	 * Its failure does not undo the delivery: a stale or missing snapshot is rebuilt by the
	 * next dh_cube_open_snapshot(). */
	if (rc == DH_OK && !result->duplicate && result->delivery.status == DH_DELIVERY_ACCEPTED) {
		dh_error snap_err;
		dh_error_clear(&snap_err);
		(void)dh_cube_snapshot_refresh(store, geo, NULL, NULL, &snap_err);
	}
	return rc;
}

/* An open-data file as a reference source, logged as "reference-import". */
int dh_import_reference(dh_store *store, const dh_geo *geo, const char *path,
			const dh_reference_options *opt, dh_reference_result *result, dh_error *err)
{
	if (!store || !path || !opt || !result)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	memset(result, 0, sizeof(*result));
	dh_actor system = dh_actor_system();
	const dh_actor *actor = opt->actor ? opt->actor : &system;
	if (dh_actor_check(actor, err) != DH_OK) /* before anything is stored */
		return DH_INVAL;
	int rc = dh_import_reference_run(store, geo, path, opt, result, err);
	char object[128];
	snprintf(object, sizeof(object), "source:%s date:%s", opt->source ? opt->source : "",
		 opt->reference_date ? opt->reference_date : "");
	dh_error aerr;
	dh_error_clear(&aerr);
	int arc = dh_audit_log(store, actor, "reference-import",
			       object, 0, "", rc == DH_OK ? "ok" : "error", &aerr);
	if (rc == DH_OK && arc != DH_OK) {
		if (err)
			*err = aerr;
		return arc;
	}
	return rc;
}
