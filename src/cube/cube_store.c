/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_store.c - fills a cube builder from the store: geography from dh_geo, one landlord
 * per organisation, then one cube row per stored dwelling version (only the fields the
 * indicators read are fetched), keeping each version's validity interval.
 */
#include "datahabitat/cube_store.h"

#include <stdlib.h>
#include <string.h>

typedef struct org_entry {
	char siren[DH_SIREN_SIZE];
	int32_t index;
} org_entry;

typedef struct build_ctx {
	dh_cube_builder *builder;
	const dh_geo *geo;
	dh_error *err;
	org_entry *orgs;
	size_t norgs, cap;
	int32_t last_index;  /* landlord of the previous version (versions come grouped) */
	char last_siren[DH_SIREN_SIZE];
	char last_commune[6];
	int32_t last_commune_index;
	dh_cube_store_stats stats;
} build_ctx;

static int on_org(void *ctx, const dh_org *org)
{
	build_ctx *b = ctx;
	if (b->norgs == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		org_entry *o = realloc(b->orgs, cap * sizeof(*o));
		if (!o)
			return dh_error_nomem(b->err);
		b->orgs = o;
		b->cap = cap;
	}
	org_entry *e = &b->orgs[b->norgs];
	memcpy(e->siren, org->siren, sizeof(e->siren));
	int rc = dh_cube_builder_add_landlord(b->builder, org->siren, org->name, &e->index, b->err);
	if (rc == DH_OK)
		b->norgs++;
	return rc;
}

static int cmp_org(const void *a, const void *c)
{
	return strcmp(((const org_entry *)a)->siren, ((const org_entry *)c)->siren);
}

static int on_version(void *ctx, const dh_stock_version *sv)
{
	build_ctx *b = ctx;
	if (strcmp(sv->siren, b->last_siren) != 0) {
		org_entry key;
		dh_strlcpy(key.siren, sizeof(key.siren), sv->siren);
		const org_entry *e = bsearch(&key, b->orgs, b->norgs, sizeof(*e), cmp_org);
		if (!e)
			return dh_error_set(b->err, DH_INVAL, "organisme %s inconnu de la liste des organismes", sv->siren);
		memcpy(b->last_siren, e->siren, sizeof(b->last_siren));
		b->last_index = e->index;
	}
	dh_cube_version v;
	dh_cube_version_from_rpls(&v, sv->row);
	v.landlord = b->last_index;
	v.valid_from = sv->valid_from;
	v.valid_to = sv->valid_to;
	/* Rows of one organisation come mostly grouped by program: cache the last commune. */
	const char *code = sv->commune_code ? sv->commune_code : "";
	if (strcmp(code, b->last_commune) != 0 || !code[0]) {
		b->last_commune_index = code[0] ? dh_geo_commune_find(b->geo, (dh_str){ code, strlen(code) }) : -1;
		dh_strlcpy(b->last_commune, sizeof(b->last_commune), code);
	}
	v.commune = b->last_commune_index;
	if (v.commune < 0)
		b->stats.unknown_commune++;
	int rc = dh_cube_builder_add(b->builder, &v, b->err);
	if (rc == DH_OK)
		b->stats.versions++;
	return rc;
}

/* The RPLS fields dh_cube_version_from_rpls() reads. */
static uint64_t cube_fields(void)
{
	static const int f[] = { DH_RPLS_MODE,	       DH_RPLS_TYPECONST, DH_RPLS_FINAN,    DH_RPLS_DPEENERGIE,
				 DH_RPLS_DPESERRE,     DH_RPLS_QPV,	  DH_RPLS_QPV_CODE, DH_RPLS_ORIGINE,
				 DH_RPLS_SORTIEPATRIM, DH_RPLS_NBPIECE,	  DH_RPLS_CONSTRUCT, DH_RPLS_LOCAT,
				 DH_RPLS_BAIL,	       DH_RPLS_REMLOCDATE, DH_RPLS_DPEDATE, DH_RPLS_LOYERPRINC,
				 DH_RPLS_SURFHAB };
	uint64_t mask = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		mask |= (uint64_t)1 << f[i];
	return mask;
}

int dh_cube_build_from_store(dh_store *store, const dh_geo *geo, dh_cube **out,
			     dh_cube_store_stats *stats, dh_error *err)
{
	if (!store || !geo || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	build_ctx b;
	memset(&b, 0, sizeof(b));
	b.geo = geo;
	b.err = err;
	b.last_commune_index = -1;
	int rc = dh_cube_builder_new(&b.builder);
	if (rc != DH_OK)
		return dh_error_set(err, rc, "mémoire insuffisante");
	rc = dh_cube_builder_add_geo(b.builder, geo, err);
	if (rc == DH_OK)
		rc = dh_store_org_list(store, on_org, &b, err);
	if (rc == DH_OK) {
		/* Listed in SIREN order already; sort anyway so the lookup never depends on it. */
		qsort(b.orgs, b.norgs, sizeof(*b.orgs), cmp_org);
		b.stats.landlords = b.norgs;
		rc = dh_store_versions_scan(store, cube_fields(), on_version, &b, err);
	}
	if (rc == DH_OK)
		rc = dh_cube_builder_finish(b.builder, out, err);
	dh_cube_builder_free(b.builder);
	free(b.orgs);
	if (rc == DH_OK && stats)
		*stats = b.stats;
	return rc;
}

typedef struct latest_ctx {
	int32_t date;
} latest_ctx;

static int on_delivery(void *ctx, const dh_delivery *d)
{
	latest_ctx *l = ctx;
	if (d->status != DH_DELIVERY_ACCEPTED)
		return DH_OK;
	/* "YYYY-MM-DD", checked by the store. */
	const char *s = d->reference_date;
	int32_t day = (int32_t)(atoi(s) * 10000 + atoi(s + 5) * 100 + atoi(s + 8));
	if (day > l->date)
		l->date = day;
	return DH_OK;
}

int dh_store_latest_reference_date(dh_store *store, int32_t *date, dh_error *err)
{
	if (!store || !date)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	latest_ctx l = { 0 };
	int rc = dh_store_delivery_list(store, NULL, on_delivery, &l, err);
	*date = rc == DH_OK ? l.date : 0;
	return rc;
}
