/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_store.c - fills a cube builder from the store: geography from dh_geo, one landlord
 * per organisation, then one cube row per stored dwelling version (only the fields the
 * indicators read are fetched), keeping each version's validity interval.
 */
#include "datahabitat/cube_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct org_entry {
	char siren[DH_SIREN_SIZE];
	int32_t index;
	int sem; /* a SEM: its non-conventioned dwellings are outside the parc locatif social */
} org_entry;

typedef struct build_ctx {
	dh_cube_builder *builder;
	const dh_geo *geo;
	dh_error *err;
	org_entry *orgs;
	size_t norgs, cap;
	int32_t last_index;  /* landlord of the previous version (versions come grouped) */
	int last_sem;
	char last_siren[DH_SIREN_SIZE];
	char last_commune[6];
	int32_t last_commune_index;
	dh_cube_store_stats stats;
	const uint8_t *commune_from; /* with sources: skip members' rows where the reference is used */
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
	e->sem = org->kind == DH_ORG_SEM;
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
		b->last_sem = e->sem;
	}
	dh_cube_version v;
	dh_cube_version_from_rpls(&v, sv->row);
	v.landlord = b->last_index;
	v.landlord_sem = b->last_sem;
	v.valid_from = sv->valid_from;
	v.valid_to = sv->valid_to;
	/* Rows of one organisation come mostly grouped by program: cache the last commune. */
	const char *code = sv->commune_code ? sv->commune_code : "";
	if (strcmp(code, b->last_commune) != 0 || !code[0]) {
		b->last_commune_index = code[0] ? dh_geo_commune_find(b->geo, (dh_str){ code, strlen(code) }) : -1;
		dh_strlcpy(b->last_commune, sizeof(b->last_commune), code);
	}
	v.commune = b->last_commune_index;
	if (b->commune_from && v.commune >= 0 && b->commune_from[v.commune] == DH_FROM_REFERENCE)
		return DH_OK;
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
				 DH_RPLS_SURFHAB,      DH_RPLS_CONV,	  DH_RPLS_NEWLOGT,  DH_RPLS_OLDLOGT };
	uint64_t mask = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		mask |= (uint64_t)1 << f[i];
	return mask;
}

/* A builder in *b with the geography, every organisation and every member's version
 * (except, when commune_from is given, those of the communes taken from a reference). */
static int build_members(build_ctx *b, dh_store *store, const dh_geo *geo,
			 const uint8_t *commune_from, dh_error *err)
{
	memset(b, 0, sizeof(*b));
	b->geo = geo;
	b->err = err;
	b->last_commune_index = -1;
	b->commune_from = commune_from;
	int rc = dh_cube_builder_new(&b->builder);
	if (rc != DH_OK)
		return dh_error_set(err, rc, "mémoire insuffisante");
	rc = dh_cube_builder_add_geo(b->builder, geo, err);
	if (rc == DH_OK)
		rc = dh_store_org_list(store, on_org, b, err);
	if (rc == DH_OK) {
		/* Listed in SIREN order already; sort anyway so the lookup never depends on it. */
		qsort(b->orgs, b->norgs, sizeof(*b->orgs), cmp_org);
		b->stats.landlords = b->norgs;
		rc = dh_store_versions_scan(store, cube_fields(), on_version, b, err);
	}
	return rc;
}

/* Freeze the cube when rc is DH_OK; free the builder in all cases. */
static int build_finish(build_ctx *b, int rc, dh_cube **out, dh_cube_store_stats *stats,
			dh_error *err)
{
	if (rc == DH_OK)
		rc = dh_cube_builder_finish(b->builder, out, err);
	dh_cube_builder_free(b->builder);
	free(b->orgs);
	if (rc == DH_OK && stats)
		*stats = b->stats;
	return rc;
}

int dh_cube_build_from_store(dh_store *store, const dh_geo *geo, dh_cube **out,
			     dh_cube_store_stats *stats, dh_error *err)
{
	if (!store || !geo || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	build_ctx b;
	int rc = build_members(&b, store, geo, NULL, err);
	return build_finish(&b, rc, out, stats, err);
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

/* ---- Members and a reference source ------------------------------------------------- */

void dh_cube_sources_release(dh_cube_sources *src)
{
	if (!src)
		return;
	free(src->commune_from);
	src->commune_from = NULL;
	src->ncommunes = 0;
}

static int32_t day_of_text(const char *s)
{
	return (int32_t)(atoi(s) * 10000 + atoi(s + 5) * 100 + atoi(s + 8));
}

/* Choose the source that applies at the date (see cube_store.h). */
typedef struct pick_ctx {
	dh_cube_sources *src;
} pick_ctx;

static int on_source(void *ctx, const dh_reference_source *rs)
{
	dh_cube_sources *src = ((pick_ctx *)ctx)->src;
	int32_t d = day_of_text(rs->reference_date);
	if (d > src->date || src->date >= d + 10000)
		return DH_OK;
	if (src->source && strcmp(src->source, rs->name) != 0)
		return DH_OK;
	if (d > src->used_date) { /* listed by name then date: ties keep the first name */
		dh_strlcpy(src->used, sizeof(src->used), rs->name);
		src->used_date = d;
	}
	return DH_OK;
}

typedef struct cover_ctx {
	const dh_geo *geo;
	dh_cube_sources *src;
	uint8_t *members, *reference; /* per commune: has rows at the date */
	char last[6];
	int32_t last_index;
	build_ctx *b;                 /* second pass: add the chosen reference rows */
	int32_t landlord;
} cover_ctx;

static int32_t commune_index(cover_ctx *c, const char *code)
{
	if (!code || !code[0])
		return -1;
	if (strcmp(code, c->last) != 0) {
		c->last_index = dh_geo_commune_find(c->geo, (dh_str){ code, strlen(code) });
		dh_strlcpy(c->last, sizeof(c->last), code);
	}
	return c->last_index;
}

static int on_member_cover(void *ctx, const dh_stock_version *sv)
{
	cover_ctx *c = ctx;
	int32_t i = commune_index(c, sv->commune_code);
	if (i >= 0 && sv->valid_from <= c->src->date && (sv->valid_to == 0 || c->src->date < sv->valid_to))
		c->members[i] = 1;
	return DH_OK;
}

/* Commune of a row of the chosen source, or -1 (another source or date, no commune). */
static int32_t chosen_commune(cover_ctx *c, const dh_reference_row *r)
{
	if (r->date != c->src->used_date || strcmp(r->source, c->src->used) != 0)
		return -1;
	return commune_index(c, r->commune_code);
}

static int on_reference_cover(void *ctx, const dh_reference_row *r)
{
	cover_ctx *c = ctx;
	int32_t i = chosen_commune(c, r);
	if (i >= 0)
		c->reference[i] = 1;
	return DH_OK;
}

static int on_reference_add(void *ctx, const dh_reference_row *r)
{
	cover_ctx *c = ctx;
	int32_t i = chosen_commune(c, r);
	if (i < 0 || c->src->commune_from[i] != DH_FROM_REFERENCE)
		return DH_OK;
	dh_cube_version v;
	dh_cube_version_from_rpls(&v, r->row);
	v.landlord = c->landlord;
	v.commune = i;
	v.valid_from = r->date;
	v.valid_to = r->date + 10000; /* one year: 1 January to 1 January */
	v.reference = 1;
	int rc = dh_cube_builder_add(c->b->builder, &v, c->b->err);
	if (rc == DH_OK)
		c->b->stats.versions++;
	return rc;
}

int dh_cube_build_with_sources(dh_store *store, const dh_geo *geo, dh_cube_sources *src,
			       dh_cube **out, dh_cube_store_stats *stats, dh_error *err)
{
	if (!store || !geo || !src || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	src->used[0] = '\0';
	src->used_date = 0;
	src->landlord[0] = '\0';
	free(src->commune_from);
	src->ncommunes = dh_geo_commune_count(geo);
	src->commune_from = calloc(src->ncommunes ? src->ncommunes : 1, 1);
	cover_ctx c;
	memset(&c, 0, sizeof(c));
	c.geo = geo;
	c.src = src;
	c.last_index = -1;
	c.members = calloc(src->ncommunes ? src->ncommunes : 1, 1);
	c.reference = calloc(src->ncommunes ? src->ncommunes : 1, 1);
	int rc = src->commune_from && c.members && c.reference ? DH_OK
							      : dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	pick_ctx pick = { src };
	if (rc == DH_OK)
		rc = dh_store_ref_list(store, on_source, &pick, err);
	if (rc == DH_OK && src->source && !src->used[0])
		rc = dh_error_set(err, DH_NOTFOUND, "la source de référence « %s » ne couvre pas le %02d/%02d/%04d",
				  src->source, (int)(src->date % 100), (int)(src->date / 100 % 100),
				  (int)(src->date / 10000));
	/* Coverage only matters when a source applies: otherwise every row is a member's. */
	if (rc == DH_OK && src->used[0])
		rc = dh_store_versions_scan(store, (uint64_t)1 << DH_RPLS_MODE, on_member_cover, &c, err);
	if (rc == DH_OK && src->used[0])
		rc = dh_store_ref_scan(store, (uint64_t)1 << DH_RPLS_TYPECONST, on_reference_cover, &c, err);
	for (size_t i = 0; rc == DH_OK && i < src->ncommunes; i++) {
		int members = c.members[i], reference = c.reference[i];
		if (src->source)
			src->commune_from[i] = reference ? DH_FROM_REFERENCE : members ? DH_FROM_MEMBERS : DH_FROM_NONE;
		else
			src->commune_from[i] = members ? DH_FROM_MEMBERS : reference ? DH_FROM_REFERENCE : DH_FROM_NONE;
	}
	free(c.members);
	free(c.reference);
	if (rc != DH_OK) {
		dh_cube_sources_release(src);
		return rc;
	}

	build_ctx b;
	rc = build_members(&b, store, geo, src->commune_from, err);
	if (rc == DH_OK && src->used[0]) {
		snprintf(src->landlord, sizeof(src->landlord), "source:%s", src->used);
		char name[128];
		snprintf(name, sizeof(name), "Source de référence %s", src->used);
		c.b = &b;
		c.last[0] = '\0';
		c.last_index = -1;
		rc = dh_cube_builder_add_landlord(b.builder, src->landlord, name, &c.landlord, err);
		if (rc == DH_OK)
			rc = dh_store_ref_scan(store, cube_fields(), on_reference_add, &c, err);
	}
	rc = build_finish(&b, rc, out, stats, err);
	if (rc != DH_OK)
		dh_cube_sources_release(src);
	return rc;
}

int dh_cube_open_with_sources(dh_store *store, const dh_geo *geo, const char *path,
			      dh_cube_sources *src, dh_cube **out, dh_cube_snapshot_info *info,
			      dh_error *err)
{
	if (!store || !geo || !src || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (info)
		memset(info, 0, sizeof(*info));
	if (src->source)
		return dh_cube_build_with_sources(store, geo, src, out, NULL, err);
	dh_cube_sources probe = *src;
	probe.used[0] = '\0';
	probe.used_date = 0;
	pick_ctx pick = { &probe };
	int rc = dh_store_ref_list(store, on_source, &pick, err);
	if (rc != DH_OK)
		return rc;
	if (probe.used[0])
		return dh_cube_build_with_sources(store, geo, src, out, NULL, err);
	/* No source applies: every row is a member's, the cube is the members' one. */
	src->used[0] = '\0';
	src->used_date = 0;
	src->landlord[0] = '\0';
	free(src->commune_from);
	src->ncommunes = dh_geo_commune_count(geo);
	src->commune_from = calloc(src->ncommunes ? src->ncommunes : 1, 1); /* DH_FROM_NONE */
	if (!src->commune_from)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	rc = dh_cube_open_snapshot(store, geo, path, out, info, err);
	if (rc != DH_OK)
		dh_cube_sources_release(src);
	return rc;
}

int dh_indicator_from_reference(const dh_indicator *ind)
{
	/* a source describes one date: nothing a year before (nb_ls_prec) */
	return ind->sensitivity == DH_SENS_PUBLIC && strcmp(ind->id, "parc_non_conv") != 0 &&
	       strcmp(ind->id, "nb_lgt_tot") != 0 && strcmp(ind->id, "nb_ls_prec") != 0;
}

void dh_cube_source_labels_free(char **labels, size_t n)
{
	for (size_t i = 0; labels && i < n; i++)
		free(labels[i]);
	free(labels);
}

/* Dwellings (PARC LS or NC) of each row of t whose landlord is (op IN) or is not (NOT_IN)
 * the reference source, at q's date, into count[t->nrows]. */
static int count_rows_of(const dh_cube *cube, const dh_cube_query *q, const dh_cube_sources *src,
			 dh_op op, const dh_cube_table *t, double *count, dh_error *err)
{
	dh_predicate filters[DH_CUBE_MAX_FILTERS];
	if (q->nfilters >= DH_CUBE_MAX_FILTERS)
		return dh_error_set(err, DH_INVAL, "au plus %d filtres quand une source de référence est utilisée",
				    DH_CUBE_MAX_FILTERS - 1);
	size_t n = q->nfilters;
	for (size_t i = 0; i < n; i++)
		filters[i] = q->filters[i];
	filters[n++] = (dh_predicate){ DH_DIM_LANDLORD, op, src->landlord, 0, 0 };
	int col = dh_indicator_find(DH_STR_LIT("nb_lgt_tot"));
	dh_cube_query q2 = *q;
	q2.filters = filters;
	q2.nfilters = n;
	q2.indicators = &col;
	q2.nindicators = 1;
	dh_cube_table *part = NULL;
	for (size_t r = 0; r < t->nrows; r++)
		count[r] = 0;
	int rc = dh_cube_query_run(cube, &q2, &part, err);
	if (rc == DH_NOTFOUND) { /* the territory has no such row */
		dh_error_clear(err);
		return DH_OK;
	}
	if (rc != DH_OK)
		return rc;
	for (size_t r = 0; r < t->nrows; r++) {
		int k = dh_cube_table_row(part, t->codes[r]);
		count[r] = k >= 0 ? dh_cube_table_value(part, (size_t)k, 0) : 0;
	}
	dh_cube_table_free(part);
	return DH_OK;
}

int dh_cube_table_apply_sources(const dh_cube *cube, const dh_cube_query *q,
				const dh_cube_sources *src, dh_cube_table *t, char ***labels,
				dh_error *err)
{
	*labels = calloc(t->nrows ? t->nrows : 1, sizeof(char *));
	double *members = calloc(t->nrows ? t->nrows : 1, sizeof(double));
	double *reference = calloc(t->nrows ? t->nrows : 1, sizeof(double));
	int rc = *labels && members && reference ? DH_OK : dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	if (rc == DH_OK && src->used[0]) {
		rc = count_rows_of(cube, q, src, DH_OP_IN, t, reference, err);
		if (rc == DH_OK)
			rc = count_rows_of(cube, q, src, DH_OP_NOT_IN, t, members, err);
	} else if (rc == DH_OK) {
		for (size_t r = 0; r < t->nrows; r++)
			members[r] = 1;
	}
	char ref_label[96];
	snprintf(ref_label, sizeof(ref_label), "référence %s", src->used);
	for (size_t r = 0; rc == DH_OK && r < t->nrows; r++) {
		char text[128];
		if (members[r] > 0 && reference[r] > 0)
			snprintf(text, sizeof(text), "adhérents + %s", ref_label);
		else
			snprintf(text, sizeof(text), "%s",
				 reference[r] > 0 ? ref_label : members[r] > 0 ? "adhérents" : "");
		if (!((*labels)[r] = strdup(text)))
			rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		if (reference[r] > 0)
			for (size_t c = 0; c < t->ncols; c++)
				if (!dh_indicator_from_reference(t->columns[c]))
					t->values[r * t->ncols + c] = NAN;
	}
	free(members);
	free(reference);
	if (rc != DH_OK) {
		dh_cube_source_labels_free(*labels, t->nrows);
		*labels = NULL;
	}
	return rc;
}
