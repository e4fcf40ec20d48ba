/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * store.c - the generic layer of the store: picks the backend from the location, checks
 * every argument once (SIREN checksum, dates, kinds, session state) and dispatches through
 * the ops table of backend.h. Also the small value helpers the backends share.
 */
#include "store/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct dh_store {
	const dh_store_ops *ops;
	void *state;       /* backend's handle */
	int created;       /* the schema was created by this open */
	dh_store_import *session; /* the open import session, if any */
	char *path;        /* the database file (location without its scheme) */
	dh_store_ref_import *ref_session; /* the open reference-source import, if any */
};

struct dh_store_ref_import {
	dh_store *store;
	void *session;
	int failed;
};

struct dh_store_import {
	dh_store *store;
	void *session;     /* backend's session */
	int failed;        /* a row failed: only abort is allowed */
};

static const char *const kind_names[] = { "OPH", "ESH", "coop", "SEM" };

const char *dh_org_kind_name(dh_org_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : NULL;
}

int dh_org_kind_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcasecmp(name, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *dh_delivery_status_name(dh_delivery_status status)
{
	return status == DH_DELIVERY_ACCEPTED ? "accepted" : "refused";
}

int dh_siren_valid(const char *siren)
{
	if (!siren || strlen(siren) != 9)
		return 0;
	int sum = 0;
	for (int i = 0; i < 9; i++) {
		if (!isdigit((unsigned char)siren[i]))
			return 0;
		int d = siren[i] - '0';
		/* Luhn: from the right, every second digit is doubled; the 9th digit is the key. */
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

int dh_date_valid(const char *date)
{
	if (!date || strlen(date) != 10 || date[4] != '-' || date[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)date[i]))
			return 0;
	int y = atoi(date), m = atoi(date + 5), d = atoi(date + 8);
	return y >= 1900 && m >= 1 && m <= 12 && d >= 1 && d <= dh_days_in_month(y, m);
}

void dh_store_now_utc(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int dh__store_date_to_iso(int64_t value, char *buf, size_t size)
{
	int64_t y = value / 10000, m = value / 100 % 100, d = value % 100;
	if (value < 0 || y > 9999 || m < 1 || m > 12 || d < 0 || d > 31 || size < 11)
		return -1;
	/* Written by hand: this runs for every date of every imported row. */
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	if (d == 0) {
		buf[7] = '\0';
		return 0;
	}
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
	return 0;
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int dh__store_date_from_iso(const char *iso, size_t len, char *text, size_t size, int64_t *value)
{
	if (size < 11 || (len != 7 && len != 10) || !digits(iso, 4) || iso[4] != '-' ||
	    !digits(iso + 5, 2) || (len == 10 && (iso[7] != '-' || !digits(iso + 8, 2))))
		return -1;
	int y = atoi(iso), m = atoi(iso + 5), d = len == 10 ? atoi(iso + 8) : 0;
	if (len == 7)
		snprintf(text, size, "%02d/%04d", m, y);
	else
		snprintf(text, size, "%02d/%02d/%04d", d, m, y);
	*value = (int64_t)y * 10000 + m * 100 + d;
	return 0;
}

/* ---- Open / close ------------------------------------------------------------------ */

int dh_store_open(dh_store **out, const char *location, unsigned flags, dh_error *err)
{
	if (!out || !location || !*location)
		return dh_error_set(err, DH_INVAL, "emplacement de la base manquant");
	*out = NULL;
	const dh_store_ops *ops = &dh__store_sqlite_ops;
	const char *rest = location;
	if (strncmp(location, "sqlite:", 7) == 0) {
		rest = location + 7;
		if (strncmp(rest, "//", 2) == 0)
			rest += 2;
	} else if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0) {
		return dh_error_set(err, DH_INVAL,
				    "« %s » : le moteur PostgreSQL n'est pas disponible dans cette version",
				    location);
	} else if (strstr(location, "://")) {
		return dh_error_set(err, DH_INVAL, "« %s » : type de base inconnu (sqlite:CHEMIN attendu)",
				    location);
	}
	if (!*rest)
		return dh_error_set(err, DH_INVAL, "« %s » : chemin de la base manquant", location);
	dh_store *s = calloc(1, sizeof(*s));
	if (!s)
		return dh_error_nomem(err);
	s->ops = ops;
	s->path = strdup(rest);
	if (!s->path) {
		free(s);
		return dh_error_nomem(err);
	}
	int rc = ops->open(&s->state, rest, flags, &s->created, err);
	if (rc != DH_OK) {
		free(s->path);
		free(s);
		return rc;
	}
	*out = s;
	return DH_OK;
}

void dh_store_close(dh_store *store)
{
	if (!store)
		return;
	if (store->session)
		dh_store_import_abort(store->session);
	if (store->ref_session)
		dh_store_ref_import_abort(store->ref_session);
	store->ops->close(store->state);
	free(store->path);
	free(store);
}

int dh_store_info_get(dh_store *store, dh_store_info *info, dh_error *err)
{
	if (!store || !info)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	memset(info, 0, sizeof(*info));
	info->backend = store->ops->name;
	info->created = store->created;
	return store->ops->info(store->state, info, err);
}

int dh_store_caller_owns(dh_store *store, dh_error *err)
{
	if (!store)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->caller_owns(store->state, err);
}

/* ---- Reference geography and QPV list ---------------------------------------------- */

struct dh_store_area_sink {
	dh_store *store;
	void *session;             /* backend's */
	dh_store_area_scope scope;
	int failed;                /* a put failed: the replacement is rolled back */
};

static const char *const area_kind_names[] = { "région", "département", "EPCI", "commune",
					       "commune déléguée", "QPV" };

/* A text field of a row: present (when required) and at most DH_STORE_AREA_FIELD_MAX bytes. */
static int area_field(const dh_store_area *a, const char *field, const char *value, int required,
		      dh_error *err)
{
	size_t n = value ? strlen(value) : 0;
	if (n <= DH_STORE_AREA_FIELD_MAX && (n > 0 || !required))
		return DH_OK;
	if (err)
		dh_strlcpy(err->field, sizeof(err->field), field);
	const char *code = a->code ? a->code : "";
	if (n)
		return dh_error_set(err, DH_INVAL, "%s « %.20s » : champ %s de plus de %d octets",
				    area_kind_names[a->kind], code, field, DH_STORE_AREA_FIELD_MAX);
	return dh_error_set(err, DH_INVAL, "%s « %.20s » : champ %s manquant", area_kind_names[a->kind],
			    code, field);
}

static int area_check(dh_store_area_scope scope, const dh_store_area *a, dh_error *err)
{
	int geo = a->kind <= DH_STORE_AREA_FORMER;
	if ((unsigned)a->kind > DH_STORE_AREA_QPV || geo != (scope == DH_STORE_SCOPE_GEOGRAPHY))
		return dh_error_set(err, DH_INVAL, "type de ligne %d hors de la table remplacée", (int)a->kind);
	int rc = area_field(a, "code", a->code, 1, err);
	if (rc == DH_OK)
		rc = area_field(a, "name", a->name, 0, err);
	if (rc == DH_OK)
		rc = area_field(a, "category", a->category, a->kind == DH_STORE_AREA_FORMER, err);
	if (rc == DH_OK)
		rc = area_field(a, "parent", a->parent, a->kind == DH_STORE_AREA_DEPARTEMENT, err);
	if (rc == DH_OK)
		rc = area_field(a, "departement", a->departement, a->kind == DH_STORE_AREA_COMMUNE, err);
	if (rc == DH_OK)
		rc = area_field(a, "region", a->region, a->kind == DH_STORE_AREA_COMMUNE, err);
	if (rc == DH_OK)
		rc = area_field(a, "epci", a->epci, 0, err);
	if (rc == DH_OK && a->population < 0)
		rc = dh_error_set(err, DH_INVAL, "commune « %s » : population négative", a->code);
	return rc;
}

int dh_store_areas_replace(dh_store *store, dh_store_area_scope scope, dh_store_area_fill_fn fill,
			   void *ctx, dh_error *err)
{
	if (!store || !fill)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (scope != DH_STORE_SCOPE_GEOGRAPHY && scope != DH_STORE_SCOPE_QPV)
		return dh_error_set(err, DH_INVAL, "table de référence %d inconnue", (int)scope);
	if (store->session || store->ref_session)
		return dh_error_set(err, DH_CONFLICT, "un import est déjà en cours sur cette connexion");
	dh_store_area_sink sink = { store, NULL, scope, 0 };
	int rc = store->ops->areas_begin(store->state, scope, &sink.session, err);
	if (rc != DH_OK)
		return rc;
	rc = fill(ctx, &sink, err);
	if (rc == DH_OK && sink.failed)
		rc = dh_error_set(err, DH_INVAL, "une ligne refusée : rien n'est remplacé");
	dh_error end_err;
	dh_error_clear(&end_err);
	int erc = store->ops->areas_end(sink.session, rc == DH_OK, rc == DH_OK ? err : &end_err);
	return rc == DH_OK ? erc : rc;
}

int dh_store_area_put(dh_store_area_sink *sink, const dh_store_area *area, dh_error *err)
{
	if (!sink || !area)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (sink->failed)
		return dh_error_set(err, DH_INVAL, "remplacement interrompu par une erreur précédente");
	int rc = area_check(sink->scope, area, err);
	if (rc == DH_OK)
		rc = sink->store->ops->areas_put(sink->session, area, err);
	if (rc != DH_OK)
		sink->failed = 1;
	return rc;
}

/* ---- Organisations ------------------------------------------------------------------ */

static int check_siren(const char *siren, dh_error *err)
{
	if (dh_siren_valid(siren))
		return DH_OK;
	if (err) {
		dh_strlcpy(err->field, sizeof(err->field), "siren");
		dh_strlcpy(err->expected, sizeof(err->expected), "9 chiffres avec une clé de contrôle valide");
		dh_strlcpy(err->found, sizeof(err->found), siren ? siren : "");
	}
	return dh_error_set(err, DH_INVAL, "SIREN « %s » invalide : 9 chiffres avec une clé de Luhn valide attendus",
			    siren ? siren : "");
}

int dh_store_org_add(dh_store *store, dh_org *org, dh_error *err)
{
	if (!store || !org)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	int rc = check_siren(org->siren, err);
	if (rc != DH_OK)
		return rc;
	if (dh_text_check(org->name, DH_NAME_MAX, "nom de l'organisme", err) != DH_OK)
		return DH_INVAL;
	if (!dh_org_kind_name(org->kind)) {
		if (err)
			dh_strlcpy(err->field, sizeof(err->field), "kind");
		return dh_error_set(err, DH_INVAL, "catégorie d'organisme inconnue (OPH, ESH, coop ou SEM)");
	}
	dh_store_now_utc(org->created_at, sizeof(org->created_at));
	return store->ops->org_add(store->state, org, err);
}

int dh_store_org_get(dh_store *store, const char *siren, dh_org *out, dh_error *err)
{
	if (!store || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	int rc = check_siren(siren, err);
	if (rc != DH_OK)
		return rc;
	return store->ops->org_get(store->state, siren, out, err);
}

int dh_store_org_list(dh_store *store, dh_org_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->org_list(store->state, cb, ctx, err);
}

/* ---- Deliveries ------------------------------------------------------------------------ */

static int sha256_hex_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	return 1;
}

int dh_store_delivery_find(dh_store *store, const char *siren, const char *sha256, dh_delivery *out,
			   dh_error *err)
{
	if (!store || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	int rc = check_siren(siren, err);
	if (rc != DH_OK)
		return rc;
	if (!sha256_hex_valid(sha256))
		return dh_error_set(err, DH_INVAL, "empreinte SHA-256 invalide (64 chiffres hexadécimaux attendus)");
	return store->ops->delivery_find(store->state, siren, sha256, out, err);
}

int dh_store_delivery_list(dh_store *store, const char *siren, dh_delivery_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (siren) {
		int rc = check_siren(siren, err);
		if (rc != DH_OK)
			return rc;
	}
	return store->ops->delivery_list(store->state, siren, cb, ctx, err);
}

int dh_store_delivery_report(dh_store *store, int64_t id, char **json_out, dh_error *err)
{
	if (!store || !json_out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*json_out = NULL;
	return store->ops->delivery_report(store->state, id, json_out, err);
}

/* ---- Import sessions --------------------------------------------------------------------- */

int dh_store_import_begin(dh_store *store, const dh_delivery *meta, dh_store_import **out, dh_error *err)
{
	if (!store || !meta || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	if (store->session)
		return dh_error_set(err, DH_CONFLICT, "un import est déjà en cours sur cette connexion");
	int rc = check_siren(meta->siren, err);
	if (rc != DH_OK)
		return rc;
	if (!dh_date_valid(meta->reference_date))
		return dh_error_set(err, DH_INVAL, "date de référence « %s » invalide (AAAA-MM-JJ attendu)",
				    meta->reference_date);
	dh_store_import *imp = calloc(1, sizeof(*imp));
	if (!imp)
		return dh_error_nomem(err);
	rc = store->ops->import_begin(store->state, meta, &imp->session, err);
	if (rc != DH_OK) {
		free(imp);
		return rc;
	}
	imp->store = store;
	store->session = imp;
	*out = imp;
	return DH_OK;
}

int dh_store_import_row(dh_store_import *imp, const dh_rpls_row *row, const char *commune_code, dh_error *err)
{
	if (!imp || !row)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (imp->failed)
		return dh_error_set(err, DH_INVAL, "import interrompu par une erreur précédente");
	if (!DH_RPLS_HAS(row, DH_RPLS_IDENT_INT) || row->text[DH_RPLS_IDENT_INT].len == 0) {
		imp->failed = 1;
		return dh_error_set(err, DH_INVAL, "ligne %llu : IDENT_INT manquant", (unsigned long long)row->line);
	}
	int rc = imp->store->ops->import_row(imp->session, row, commune_code, err);
	if (rc != DH_OK)
		imp->failed = 1;
	return rc;
}

int dh_store_import_end(dh_store_import *imp, dh_delivery *final, const char *report_json, dh_error *err)
{
	if (!imp)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (!final || imp->failed) {
		dh_store_import_abort(imp);
		return dh_error_set(err, DH_INVAL, final ? "import interrompu par une erreur précédente"
							 : "argument manquant");
	}
	if (!sha256_hex_valid(final->sha256)) {
		dh_store_import_abort(imp);
		return dh_error_set(err, DH_INVAL, "empreinte SHA-256 invalide (64 chiffres hexadécimaux attendus)");
	}
	if (final->status != DH_DELIVERY_ACCEPTED && final->status != DH_DELIVERY_REFUSED) {
		dh_store_import_abort(imp);
		return dh_error_set(err, DH_INVAL, "statut de livraison invalide");
	}
	dh_store *store = imp->store;
	int rc = store->ops->import_end(imp->session, final, report_json ? report_json : "{}", err);
	store->session = NULL;
	free(imp);
	return rc;
}

void dh_store_import_abort(dh_store_import *imp)
{
	if (!imp)
		return;
	imp->store->ops->import_abort(imp->session);
	imp->store->session = NULL;
	free(imp);
}

/* ---- Stock ----------------------------------------------------------------------------- */

int dh_store_stock_read(dh_store *store, const char *siren, const char *date, dh_delivery *delivery_out,
			dh_stock_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	int rc = check_siren(siren, err);
	if (rc != DH_OK)
		return rc;
	if (date && !dh_date_valid(date))
		return dh_error_set(err, DH_INVAL, "date « %s » invalide (AAAA-MM-JJ attendu)", date);
	return store->ops->stock_read(store->state, siren, date, delivery_out, cb, ctx, err);
}

int dh_store_versions_scan(dh_store *store, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (!store->ops->versions_scan)
		return dh_error_set(err, DH_INVAL, "parcours des versions non disponible pour ce stockage");
	return store->ops->versions_scan(store->state, fields, cb, ctx, err);
}

/* ---- Governance records (store_governance.h) ------------------------------------------------ */

const char *dh_store_file_path(dh_store *store)
{
	return store ? store->path : NULL;
}

#define NEED_OP(op, what)                                                                     \
	if (!store || !store->ops->op)                                                       \
		return dh_error_set(err, DH_INVAL, what " non disponible pour ce stockage")

int dh_store_audit_append(dh_store *store, dh_audit_entry *e, dh_audit_seal_fn seal, void *seal_ctx,
			  dh_error *err)
{
	NEED_OP(audit_append, "journal d'audit");
	if (!e || !seal)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->audit_append(store->state, e, seal, seal_ctx, err);
}

int dh_store_audit_scan(dh_store *store, int64_t from, dh_audit_cb cb, void *ctx, dh_error *err)
{
	NEED_OP(audit_scan, "journal d'audit");
	if (!cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->audit_scan(store->state, from, cb, ctx, err);
}

int dh_store_audit_last(dh_store *store, dh_audit_entry *out, dh_error *err)
{
	NEED_OP(audit_last, "journal d'audit");
	if (!out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->audit_last(store->state, out, err);
}

int dh_store_pseudo_rehash(dh_store *store, int64_t new_version, dh_pseudo_map_fn map, void *ctx,
			   int (*before_commit)(void *ctx, dh_error *err), dh_error *err)
{
	NEED_OP(pseudo_rehash, "pseudonymisation");
	if (store->session)
		return dh_error_set(err, DH_CONFLICT, "un import est en cours sur cette connexion");
	return store->ops->pseudo_rehash(store->state, new_version, map, ctx, before_commit, err);
}

int dh_store_pseudo_version(dh_store *store, int64_t *version, dh_error *err)
{
	NEED_OP(pseudo_version, "pseudonymisation");
	return store->ops->pseudo_version(store->state, version, err);
}

int dh_store_pseudo_register(dh_store *store, const char *table, const char *column, dh_error *err)
{
	NEED_OP(pseudo_register, "pseudonymisation");
	return store->ops->pseudo_register(store->state, table, column, err);
}

/* The identity ops, checked once: every dispatcher below starts with it. */
#define NEED_IDENTITY()                                                                       \
	if (!store || !store->ops->identity)                                                 \
		return dh_error_set(err, DH_INVAL, "identités non disponibles pour ce stockage");       \
	const dh_identity_ops *id = store->ops->identity

int dh_store_user_insert(dh_store *store, dh_user *user, const char *pwhash, dh_error *err)
{
	NEED_IDENTITY();
	return id->user_insert(store->state, user, pwhash, err);
}

int dh_store_user_get(dh_store *store, const char *login, dh_user *out, char pwhash[DH_PWHASH_SIZE], dh_error *err)
{
	NEED_IDENTITY();
	return id->user_get(store->state, login, out, pwhash, err);
}

int dh_store_user_list(dh_store *store, dh_user_cb cb, void *ctx, dh_error *err)
{
	NEED_IDENTITY();
	return id->user_list(store->state, cb, ctx, err);
}

int dh_store_user_disable(dh_store *store, const char *login, dh_error *err)
{
	NEED_IDENTITY();
	return id->user_disable(store->state, login, err);
}

int dh_store_token_insert(dh_store *store, dh_token *token, const unsigned char hash[32], dh_error *err)
{
	NEED_IDENTITY();
	return id->token_insert(store->state, token, hash, err);
}

int dh_store_token_find(dh_store *store, const unsigned char hash[32], dh_token *out, dh_error *err)
{
	NEED_IDENTITY();
	return id->token_find(store->state, hash, out, err);
}

int dh_store_token_revoke(dh_store *store, int64_t token_id, dh_error *err)
{
	NEED_IDENTITY();
	return id->token_revoke(store->state, token_id, err);
}

int dh_store_token_list(dh_store *store, const char *login, dh_token_cb cb, void *ctx, dh_error *err)
{
	NEED_IDENTITY();
	return id->token_list(store->state, login, cb, ctx, err);
}

int dh_store_agreement_insert(dh_store *store, dh_agreement *a, dh_error *err)
{
	NEED_IDENTITY();
	return id->agreement_insert(store->state, a, err);
}

int dh_store_agreement_list(dh_store *store, dh_agreement_cb cb, void *ctx, dh_error *err)
{
	NEED_IDENTITY();
	return id->agreement_list(store->state, cb, ctx, err);
}

int dh_store_agreement_set_end(dh_store *store, int64_t agreement_id, const char *end, dh_error *err)
{
	NEED_IDENTITY();
	return id->agreement_set_end(store->state, agreement_id, end, err);
}

/* ---- QPV list ------------------------------------------------------------------------ */

int dh_store_qpv_list(dh_store *store, dh_qpv_row_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->qpv_list(store->state, cb, ctx, err);
}

/* ---- Reference sources -------------------------------------------------------------- */

static int source_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return 0;
	return 1;
}

int dh_store_ref_import_begin(dh_store *store, const dh_reference_source *meta,
			      dh_store_ref_import **out, dh_error *err)
{
	if (!store || !meta || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	if (store->session || store->ref_session)
		return dh_error_set(err, DH_CONFLICT, "un import est déjà en cours sur cette connexion");
	if (!source_name_valid(meta->name))
		return dh_error_set(err, DH_INVAL,
				    "nom de source « %s » invalide : 1 à 63 lettres, chiffres, « - », « _ » ou « . »",
				    meta->name);
	if (!dh_date_valid(meta->reference_date))
		return dh_error_set(err, DH_INVAL, "date de référence « %s » invalide (AAAA-MM-JJ attendu)",
				    meta->reference_date);
	dh_store_ref_import *imp = calloc(1, sizeof(*imp));
	if (!imp)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	int rc = store->ops->ref_begin(store->state, meta, &imp->session, err);
	if (rc != DH_OK) {
		free(imp);
		return rc;
	}
	imp->store = store;
	store->ref_session = imp;
	*out = imp;
	return DH_OK;
}

int dh_store_ref_import_row(dh_store_ref_import *imp, const dh_rpls_row *row,
			    const char *commune_code, dh_error *err)
{
	if (!imp || !row)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	if (imp->failed)
		return dh_error_set(err, DH_INVAL, "import interrompu par une erreur précédente");
	int rc = imp->store->ops->ref_row(imp->session, row, commune_code, err);
	if (rc != DH_OK)
		imp->failed = 1;
	return rc;
}

int dh_store_ref_import_end(dh_store_ref_import *imp, const dh_reference_source *final,
			    dh_error *err)
{
	if (!imp || !final || imp->failed) {
		dh_store_ref_import_abort(imp);
		return dh_error_set(err, DH_INVAL, final ? "import interrompu par une erreur précédente"
							 : "argument manquant");
	}
	int rc = imp->store->ops->ref_end(imp->session, final, err);
	imp->store->ref_session = NULL;
	free(imp);
	return rc;
}

void dh_store_ref_import_abort(dh_store_ref_import *imp)
{
	if (!imp)
		return;
	imp->store->ops->ref_abort(imp->session);
	imp->store->ref_session = NULL;
	free(imp);
}

int dh_store_ref_list(dh_store *store, dh_reference_cb cb, void *ctx, dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->ref_list(store->state, cb, ctx, err);
}

int dh_store_ref_scan(dh_store *store, uint64_t fields, dh_reference_row_cb cb, void *ctx,
		      dh_error *err)
{
	if (!store || !cb)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	return store->ops->ref_scan(store->state, fields, cb, ctx, err);
}
