/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_snapshot_open.c - the snapshot file as seen by its readers and writers: the stamp of
 * the store state a cube reflects (deliveries, organisations, geography: no dwelling row is
 * read), opening <db>.cube when its stamp is the store's and rebuilding it otherwise, and the
 * refresh an accepted delivery calls.
 */
#include "datahabitat/cube_store.h"
#include "datahabitat/store_governance.h" /* dh_store_file_path */

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAMP_FORMAT "datahabitat cube stamp 1"

static void feed(crypto_generichash_state *st, const char *text)
{
	const char *t = text ? text : "";
	crypto_generichash_update(st, (const unsigned char *)t, strlen(t) + 1); /* with its NUL */
}

static void feed_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

static int on_delivery(void *ctx, const dh_delivery *d)
{
	crypto_generichash_state *st = ctx;
	feed(st, "delivery");
	feed_u64(st, (uint64_t)d->id);
	feed(st, d->siren);
	feed(st, d->layout);
	feed(st, d->reference_date);
	feed(st, d->received_at);
	feed(st, d->sha256);
	feed_u64(st, d->rows_accepted);
	feed_u64(st, (uint64_t)d->status);
	return DH_OK;
}

static int on_org(void *ctx, const dh_org *org)
{
	crypto_generichash_state *st = ctx;
	feed(st, "org");
	feed(st, org->siren);
	feed(st, org->name);
	feed_u64(st, (uint64_t)org->kind);
	return DH_OK;
}

/* Name of an area found by code, as dh_cube_builder_add_geo() reads it. */
static const char *area_name(const dh_area *a)
{
	return a ? a->name : NULL;
}

static void feed_geo(crypto_generichash_state *st, const dh_geo *geo)
{
	size_t n = dh_geo_commune_count(geo);
	feed(st, "geo");
	feed_u64(st, n);
	for (size_t i = 0; i < n; i++) {
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		int32_t e = c->epci[0] ? dh_geo_epci_find(geo, (dh_str){ c->epci, strlen(c->epci) }) : -1;
		int32_t d = dh_geo_departement_find(geo, (dh_str){ c->departement, strlen(c->departement) });
		int32_t r = dh_geo_region_find(geo, (dh_str){ c->region, strlen(c->region) });
		feed(st, c->code);
		feed(st, c->name);
		feed(st, c->epci);
		feed(st, e >= 0 ? area_name(dh_geo_epci(geo, e)) : NULL);
		feed(st, c->departement);
		feed(st, d >= 0 ? area_name(dh_geo_departement(geo, d)) : NULL);
		feed(st, c->region);
		feed(st, r >= 0 ? area_name(dh_geo_region(geo, r)) : NULL);
	}
	size_t nq = dh_geo_qpv_count(geo);
	feed_u64(st, nq);
	for (size_t i = 0; i < nq; i++) {
		const dh_qpv *q = dh_geo_qpv(geo, (int32_t)i);
		feed(st, q->code);
		feed(st, q->name);
	}
}

int dh_cube_store_stamp(dh_store *store, const dh_geo *geo, uint8_t stamp[DH_CUBE_STAMP_SIZE],
			dh_error *err)
{
	if (!store || !geo || !stamp)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "libsodium indisponible");
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, DH_CUBE_STAMP_SIZE);
	feed(&st, STAMP_FORMAT);
	int rc = dh_store_delivery_list(store, NULL, on_delivery, &st, err);
	if (rc == DH_OK)
		rc = dh_store_org_list(store, on_org, &st, err);
	if (rc != DH_OK)
		return rc;
	feed_geo(&st, geo);
	crypto_generichash_final(&st, stamp, DH_CUBE_STAMP_SIZE);
	return DH_OK;
}

/* The snapshot path of store into buf: path itself, or the database file + suffix. 0 when
 * the store has no file (in memory) or the path does not fit. */
static int snapshot_path(dh_store *store, const char *path, char *buf, size_t size)
{
	if (!path) {
		const char *db = dh_store_file_path(store);
		if (!db || !*db || strcmp(db, ":memory:") == 0)
			return 0;
		return snprintf(buf, size, "%s%s", db, DH_CUBE_SNAPSHOT_SUFFIX) < (int)size;
	}
	return *path && snprintf(buf, size, "%s", path) < (int)size;
}

/* Build from the store and, when there is a path, save; the write's result in *wrc. */
static int build_and_save(dh_store *store, const dh_geo *geo, const char *path,
			  const uint8_t *stamp, dh_cube **out, int *wrc, dh_error *err)
{
	int rc = dh_cube_build_from_store(store, geo, out, NULL, err);
	*wrc = DH_OK;
	if (rc != DH_OK || !path)
		return rc;
	dh_error werr;
	dh_error_clear(&werr);
	*wrc = dh_cube_snapshot_write(*out, stamp, path, &werr);
	if (*wrc != DH_OK && err)
		*err = werr; /* for a caller that wants to say why; the result stays DH_OK */
	return DH_OK;
}

int dh_cube_open_snapshot(dh_store *store, const dh_geo *geo, const char *path, dh_cube **out,
			  dh_cube_snapshot_info *info, dh_error *err)
{
	dh_cube_snapshot_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!store || !geo || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	char file[PATH_MAX];
	int has_file = snapshot_path(store, path, file, sizeof(file));
	uint8_t stamp[DH_CUBE_STAMP_SIZE];
	int rc = dh_cube_store_stamp(store, geo, stamp, err);
	if (rc != DH_OK)
		return rc;
	if (has_file) {
		dh_error lerr;
		dh_error_clear(&lerr);
		rc = dh_cube_snapshot_load(file, stamp, out, &lerr);
		if (rc == DH_OK) {
			info->opened = 1;
			return DH_OK;
		}
		if (rc == DH_NOMEM)
			return dh_error_set(err, rc, "mémoire insuffisante");
		info->why = rc;
	} else {
		info->why = DH_NOTFOUND;
	}
	info->rebuilt = 1;
	int wrc;
	rc = build_and_save(store, geo, has_file ? file : NULL, stamp, out, &wrc, err);
	info->written = rc == DH_OK && has_file && wrc == DH_OK;
	info->write_error = wrc;
	return rc;
}

int dh_cube_snapshot_refresh(dh_store *store, const dh_geo *geo, const char *path, dh_cube **out,
			     dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (out)
		*out = NULL;
	char file[PATH_MAX];
	if (!snapshot_path(store, path, file, sizeof(file)))
		return DH_OK; /* nothing to persist for a store without a file */
	uint8_t stamp[DH_CUBE_STAMP_SIZE];
	int rc = dh_cube_store_stamp(store, geo, stamp, err);
	dh_cube *cube = NULL;
	int wrc = DH_OK;
	if (rc == DH_OK)
		rc = build_and_save(store, geo, file, stamp, &cube, &wrc, err);
	if (rc == DH_OK)
		rc = wrc;
	if (out && rc == DH_OK)
		*out = cube;
	else
		dh_cube_release(cube);
	return rc;
}

int dh_cube_holder_open_snapshot(dh_cube_holder *h, dh_store *store, const dh_geo *geo,
				 const char *path, dh_cube_snapshot_info *info, dh_error *err)
{
	if (!h)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	dh_cube *cube = NULL;
	int rc = dh_cube_open_snapshot(store, geo, path, &cube, info, err);
	if (rc == DH_OK)
		dh_cube_holder_swap(h, cube); /* takes the reference */
	return rc;
}
