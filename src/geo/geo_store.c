/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * geo_store.c - the geography in the store: the reference geography and the QPV list
 * written as plain rows through store.h's dh_store_areas_replace(), and the stored QPV
 * list read back into a loaded geography. The geography uses the store, never the other
 * way round: the store knows nothing of dh_geo.
 */
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

/* The stored list rewritten as a small CSV that dh_geo_load_qpv_mem() reads back. */
typedef struct qpv_text {
	char *buf;
	size_t len, cap;
	size_t rows;
} qpv_text;

static int text_put(qpv_text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			return DH_NOMEM;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return DH_OK;
}

static int on_qpv_row(void *ctx, const char *code, const char *name, const char *communes)
{
	qpv_text *t = ctx;
	int rc = text_put(t, code, strlen(code));
	rc = rc == DH_OK ? text_put(t, ";\"", 2) : rc;
	for (const char *p = name; rc == DH_OK && *p; p++)
		rc = *p == '"' ? text_put(t, "\"\"", 2) : text_put(t, p, 1);
	rc = rc == DH_OK ? text_put(t, "\";", 2) : rc;
	rc = rc == DH_OK ? text_put(t, communes, strlen(communes)) : rc;
	rc = rc == DH_OK ? text_put(t, "\n", 1) : rc;
	t->rows++;
	return rc;
}

int dh_geo_load_qpv_stored(dh_geo *geo, dh_store *store, dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	qpv_text t = { NULL, 0, 0, 0 };
	int rc = text_put(&t, "code_qp;nom_qp;codes communes\n", 30);
	if (rc == DH_OK)
		rc = dh_store_qpv_list(store, on_qpv_row, &t, err);
	else
		dh_error_set(err, rc, "mémoire insuffisante");
	if (rc == DH_OK && t.rows)
		rc = dh_geo_load_qpv_mem(geo, t.buf, t.len, "base (table qpv)", err);
	free(t.buf);
	return rc;
}

/* ---- Writing --------------------------------------------------------------------------- */

static int put_areas(dh_store_area_sink *sink, dh_store_area_kind kind, const dh_geo *geo, size_t n,
		     const dh_area *(*get)(const dh_geo *, int32_t), dh_error *err)
{
	int rc = DH_OK;
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_area *a = get(geo, (int32_t)i);
		dh_store_area row = { .kind = kind, .code = a->code, .name = a->name };
		if (kind == DH_STORE_AREA_EPCI)
			row.category = a->kind;
		else if (kind == DH_STORE_AREA_DEPARTEMENT)
			row.parent = a->parent;
		rc = dh_store_area_put(sink, &row, err);
	}
	return rc;
}

static int fill_geography(void *ctx, dh_store_area_sink *sink, dh_error *err)
{
	const dh_geo *geo = ctx;
	int rc = put_areas(sink, DH_STORE_AREA_REGION, geo, dh_geo_region_count(geo), dh_geo_region, err);
	if (rc == DH_OK)
		rc = put_areas(sink, DH_STORE_AREA_DEPARTEMENT, geo, dh_geo_departement_count(geo),
			       dh_geo_departement, err);
	if (rc == DH_OK)
		rc = put_areas(sink, DH_STORE_AREA_EPCI, geo, dh_geo_epci_count(geo), dh_geo_epci, err);
	size_t n = dh_geo_commune_count(geo);
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		dh_store_area row = { .kind = DH_STORE_AREA_COMMUNE, .code = c->code, .name = c->name,
				      .departement = c->departement, .region = c->region, .epci = c->epci,
				      .population = c->population };
		rc = dh_store_area_put(sink, &row, err);
	}
	n = dh_geo_former_count(geo);
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_former_commune *f = dh_geo_former(geo, (int32_t)i);
		const dh_commune *cur = dh_geo_commune(geo, f->current);
		char kind[2] = { f->kind, 0 };
		dh_store_area row = { .kind = DH_STORE_AREA_FORMER, .code = f->code, .name = f->name,
				      .parent = cur ? cur->code : "", .category = kind };
		rc = dh_store_area_put(sink, &row, err);
	}
	return rc;
}

int dh_geo_save(const dh_geo *geo, dh_store *store, dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_areas_replace(store, DH_STORE_SCOPE_GEOGRAPHY, fill_geography, (void *)geo, err);
}

static int fill_qpv(void *ctx, dh_store_area_sink *sink, dh_error *err)
{
	const dh_geo *geo = ctx;
	size_t n = dh_geo_qpv_count(geo);
	char *list = NULL;
	int rc = DH_OK;
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_qpv *q = dh_geo_qpv(geo, (int32_t)i);
		char *grown = realloc(list, (size_t)q->ncommunes * 6 + 1);
		if (!grown) {
			rc = dh_error_nomem(err);
			break;
		}
		list = grown;
		size_t o = 0;
		for (uint32_t k = 0; k < q->ncommunes; k++) {
			const dh_commune *c = dh_geo_commune(geo, q->communes[k]);
			o += (size_t)snprintf(list + o, 7, "%s%s", k ? " " : "", c ? c->code : "");
		}
		list[o] = '\0';
		dh_store_area row = { .kind = DH_STORE_AREA_QPV, .code = q->code, .name = q->name,
				      .communes = list };
		rc = dh_store_area_put(sink, &row, err);
	}
	free(list);
	return rc;
}

int dh_geo_qpv_save(const dh_geo *geo, dh_store *store, dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return dh_store_areas_replace(store, DH_STORE_SCOPE_QPV, fill_qpv, (void *)geo, err);
}
