/*
 * backend.h - the ops table every storage backend implements (SQLite today, PostgreSQL
 * later), in the manner of SQLite's VFS or curl's TLS backends. Internal to the library:
 * callers use store.h, whose functions check their arguments and then dispatch here, so a
 * backend receives only validated input (SIREN checked, dates well formed, non-NULL).
 */
#ifndef DH_STORE_BACKEND_H
#define DH_STORE_BACKEND_H

#include "datahabitat/audit.h"
#include "datahabitat/store.h"

/* Map one stored pseudonym (hex text) to its new value (out: out_size bytes, NUL-terminated). */
typedef int (*dh_pseudo_map_fn)(void *ctx, const char *old_value, char *out, size_t out_size, dh_error *err);

typedef struct dh_store_ops {
	const char *name; /* "sqlite" */
	/* Open `location` (scheme already stripped); *state receives the backend's handle. */
	int (*open)(void **state, const char *location, unsigned flags, int *created, dh_error *err);
	void (*close)(void *state);
	int (*info)(void *state, dh_store_info *info, dh_error *err);
	int (*load_geo)(void *state, const dh_geo *geo, dh_error *err);
	int (*org_add)(void *state, dh_org *org, dh_error *err);
	int (*org_get)(void *state, const char *siren, dh_org *out, dh_error *err);
	int (*org_list)(void *state, dh_org_cb cb, void *ctx, dh_error *err);
	int (*delivery_find)(void *state, const char *siren, const char *sha256, dh_delivery *out,
			     dh_error *err);
	int (*delivery_list)(void *state, const char *siren, dh_delivery_cb cb, void *ctx, dh_error *err);
	int (*delivery_report)(void *state, int64_t id, char **json_out, dh_error *err);
	/* Import session: *session is the backend's; end frees it in all cases, abort too. */
	int (*import_begin)(void *state, const dh_delivery *meta, void **session, dh_error *err);
	int (*import_row)(void *session, const dh_rpls_row *row, const char *commune_code, dh_error *err);
	int (*import_end)(void *session, dh_delivery *final, const char *report_json, dh_error *err);
	void (*import_abort)(void *session);
	int (*stock_read)(void *state, const char *siren, const char *date, dh_delivery *delivery_out,
			  dh_stock_cb cb, void *ctx, dh_error *err);
	int (*versions_scan)(void *state, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err);
	/* Audit chain (engineer B, sqlite_audit.c): append runs in one write transaction, reads
	 * the last entry, fills e->seq and e->prev_hash, calls seal(e) for e->hash, inserts. */
	int (*audit_append)(void *state, dh_audit_entry *e, void (*seal)(dh_audit_entry *e), dh_error *err);
	int (*audit_scan)(void *state, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
	/* Pseudonyms: in one transaction, replace every value of every registered column by
	 * map(value), record new_version, call before_commit (which may fail and roll back), commit. */
	int (*pseudo_rehash)(void *state, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			     int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
	int (*pseudo_version)(void *state, int64_t *version, dh_error *err);
	int (*pseudo_register)(void *state, const char *table, const char *column, dh_error *err);
	/* Users, tokens, agreements (engineer A, identity_backend.h, sqlite_identity.c). */
	const struct dh_identity_ops *identity;
} dh_store_ops;

extern const dh_store_ops dh_store_sqlite_ops;

/* Dispatchers of store.c for core modules that own their public API (audit.c, pseudo.c):
 * the store argument is non-NULL, the rest is as in the ops above. */
int dh_store_audit_append(dh_store *store, dh_audit_entry *e, void (*seal)(dh_audit_entry *e), dh_error *err);
int dh_store_audit_scan(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err);
int dh_store_pseudo_rehash(dh_store *store, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			   int (*before_commit)(void *ctx, dh_error *err), dh_error *err);
int dh_store_pseudo_version(dh_store *store, int64_t *version, dh_error *err);
int dh_store_pseudo_register(dh_store *store, const char *table, const char *column, dh_error *err);

/* Shared helpers for backends (store.c). */

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void dh_store_now_utc(char *buf, size_t size);

/*
 * Convert a validated DATE value (yyyymmdd, dd = 0 for mm/aaaa) into the stored text form
 * "YYYY-MM" or "YYYY-MM-DD" (buf of at least 11 bytes), and back: the stored text into the
 * transmission text "mm/aaaa" or "jj/mm/aaaa" and the value. Return 0 on success, -1 if the
 * input is not of that shape.
 */
int dh_store_date_to_iso(int64_t value, char *buf, size_t size);
int dh_store_date_from_iso(const char *iso, size_t len, char *text, size_t size, int64_t *value);

#endif
