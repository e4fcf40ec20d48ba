/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * store.h - the persistent store: organisations, stock deliveries with their validation
 * report, the versioned dwelling stock and the reference geography.
 *
 * A dh_store is opened from a location: "sqlite:PATH" or a bare PATH selects the SQLite
 * backend; "postgresql://..." is reserved for a PostgreSQL backend (DH_INVAL until it
 * exists). Backends sit behind one ops table (src/store/backend.h) so callers never change.
 *
 * Versioning: each accepted delivery is the organisation's whole stock at its reference
 * date. The stock of an organisation "as of" a date D is the content of its latest
 * accepted delivery whose reference date is <= D. A delivery dated before existing ones
 * is inserted into history at its place: the later deliveries still read back unchanged.
 * See docs/store.md for the model and the figures behind it.
 *
 * Atomicity: an import session (dh_store_import_begin ... _end) runs in one transaction.
 * Readers (other connections or processes) see the previous state until it commits, and a
 * crash or kill at any moment leaves the previous state.
 *
 * Thread safety: a dh_store is used by one thread at a time. Several dh_store handles
 * (threads or processes) may open the same database; writers are serialised by the backend.
 */
#ifndef DATAHABITAT_STORE_H
#define DATAHABITAT_STORE_H

#include "datahabitat/base.h"
#include "datahabitat/rpls.h"

typedef struct dh_store dh_store;

/* Flags of dh_store_open(). */
#define DH_STORE_CREATE 0x1u   /* create the database (and its schema) if missing or empty */
#define DH_STORE_READONLY 0x2u /* open for reading only (no migration is run) */

/*
 * Open the store at `location`. Without DH_STORE_CREATE the database must exist and be a
 * datahabitat database; its schema is migrated to the current version if older.
 * Returns DH_OK; DH_NOTFOUND (no database there), DH_CONFLICT (a non-empty file or database
 * that is not a datahabitat store: it is left untouched), DH_INVAL (unknown scheme),
 * DH_CORRUPT (schema newer than this program, or damaged file), DH_STORE, DH_NOMEM.
 * *out is set on success only; close it with dh_store_close().
 * Files: a database is created 0600 whatever the umask; an existing one (and its -wal, -shm,
 * -journal) opened by its owner loses any group or other right, silently (SQLite backend).
 */
int dh_store_open(dh_store **out, const char *location, unsigned flags, dh_error *err);

/* Close the store, rolling back an unfinished import session. NULL is a no-op. */
void dh_store_close(dh_store *store);

/* What dh_store_info() reports. */
typedef struct dh_store_info {
	const char *backend;     /* "sqlite" (static string) */
	int schema_version;      /* migration level of the database */
	int created;             /* 1 if this dh_store_open() created the schema */
	uint64_t communes;       /* reference geography rows loaded */
	uint64_t former_communes;
	uint64_t epci;
	uint64_t departements;
	uint64_t regions;
	uint64_t organisations;
	uint64_t deliveries;
	uint64_t dwelling_versions; /* rows of the versioned stock, all organisations and dates */
} dh_store_info;

/* Fill *info. Returns DH_OK, DH_STORE. */
int dh_store_info_get(dh_store *store, dh_store_info *info, dh_error *err);

/*
 * Whether the calling process owns the database: its effective user id is the owner of the
 * database file (SQLite: geteuid() == st_uid). The operator's unrestricted mode (access.h)
 * requires it. Returns DH_OK when it does; DH_DENIED when it does not, or when the database
 * has no file (in memory); DH_STORE when the file cannot be examined.
 */
int dh_store_caller_owns(dh_store *store, dh_error *err);

/* ---- Reference geography and QPV list ------------------------------------------------- */

/*
 * The store keeps the reference geography and the QPV list as plain rows and knows nothing
 * of how they are loaded: the geography (geo.h: dh_geo_save(), dh_geo_qpv_save()) gives
 * them row by row through dh_store_areas_replace().
 */

/* Which tables dh_store_areas_replace() replaces. */
typedef enum dh_store_area_scope {
	DH_STORE_SCOPE_GEOGRAPHY = 0, /* régions, départements, EPCI, communes, former communes */
	DH_STORE_SCOPE_QPV            /* the QPV list */
} dh_store_area_scope;

typedef enum dh_store_area_kind {
	DH_STORE_AREA_REGION = 0,  /* scope GEOGRAPHY */
	DH_STORE_AREA_DEPARTEMENT, /* scope GEOGRAPHY */
	DH_STORE_AREA_EPCI,        /* scope GEOGRAPHY */
	DH_STORE_AREA_COMMUNE,     /* scope GEOGRAPHY */
	DH_STORE_AREA_FORMER,      /* scope GEOGRAPHY: former commune, arrondissement, older code */
	DH_STORE_AREA_QPV          /* scope QPV */
} dh_store_area_kind;

/*
 * One row. Strings are borrowed for the call; NULL reads as "" where a field is optional.
 * Every text is at most DH_STORE_AREA_FIELD_MAX bytes, the code 1 or more.
 */
#define DH_STORE_AREA_FIELD_MAX 255
typedef struct dh_store_area {
	dh_store_area_kind kind;
	const char *code;        /* required */
	const char *name;
	const char *category;    /* EPCI: "CC", "CA", "CU", "METRO"...; former commune
				    (required): "D", "A", "M" or "F" */
	const char *parent;      /* département: its région (required); former commune: the code
				    of its current commune ("" if unknown) */
	const char *departement; /* commune: its département (required) */
	const char *region;      /* commune: its région (required) */
	const char *epci;        /* commune: its EPCI's SIREN, NULL or "" if none (stored NULL) */
	int64_t population;      /* commune: municipal population, >= 0 */
	const char *communes;    /* QPV: current commune codes separated by single spaces (no
				    length limit) */
} dh_store_area;

typedef struct dh_store_area_sink dh_store_area_sink;

/* Gives every row of the scope to dh_store_area_put(sink, ...); returns DH_OK to commit,
 * anything else (with err set) to roll back. */
typedef int (*dh_store_area_fill_fn)(void *ctx, dh_store_area_sink *sink, dh_error *err);

/*
 * Replace the tables of `scope` by the rows `fill` puts, in one write transaction: the
 * previous rows are deleted first, and nothing changes unless fill and every put succeed.
 * Returns DH_OK; DH_INVAL (bad argument or row: err says which), DH_CONFLICT (an import
 * session is open on this handle), DH_STORE, DH_NOMEM, or fill's code.
 */
int dh_store_areas_replace(dh_store *store, dh_store_area_scope scope, dh_store_area_fill_fn fill,
			   void *ctx, dh_error *err);

/*
 * Store one row (only inside fill). A row with the key of a row already put replaces it
 * (the key is the code; for a former commune, the code and its current commune). Returns DH_OK; DH_INVAL (a kind outside the scope, a missing or oversized
 * field), DH_STORE. After a failure the whole replacement is rolled back, whatever fill
 * returns, and further puts are refused.
 */
int dh_store_area_put(dh_store_area_sink *sink, const dh_store_area *area, dh_error *err);

/* One stored QPV: code, name, current commune codes separated by single spaces. */
typedef int (*dh_qpv_row_cb)(void *ctx, const char *code, const char *name, const char *communes);

/* Call cb for each stored QPV in code order (none when no list was loaded, also in a
 * database older than the QPV table). A non-DH_OK return of cb stops and is returned.
 * Returns DH_OK, DH_STORE, or cb's code. */
int dh_store_qpv_list(dh_store *store, dh_qpv_row_cb cb, void *ctx, dh_error *err);

/* ---- Reference sources (open data) --------------------------------------------------- */

/*
 * A reference source: a public file of dwellings without landlord identity (the SDES
 * open-data "données détaillées au logement"), imported under a name at a reference date.
 * Its rows feed the structure indicators where members' deliveries do not cover a commune
 * (cube_store.h); they never feed a business indicator.
 */
typedef struct dh_reference_source {
	char name[64];           /* e.g. "rpls-2023" */
	char reference_date[11]; /* "YYYY-MM-DD" */
	char layout[32];         /* "rpls-opendata"... */
	char file_name[256];
	char sha256[65];
	uint64_t rows;           /* rows stored */
	char imported_at[21];    /* set by the store */
} dh_reference_source;

typedef struct dh_store_ref_import dh_store_ref_import;

/*
 * Start (re)loading the source meta->name at meta->reference_date: in one write
 * transaction, its previous rows at that date are replaced by the rows given to
 * dh_store_ref_import_row(), committed by dh_store_ref_import_end(). name: 1 to 63
 * characters among letters, digits, '-', '_' and '.'. Returns DH_OK, DH_INVAL, DH_CONFLICT
 * (another import open on this connection), DH_STORE, DH_NOMEM.
 */
int dh_store_ref_import_begin(dh_store *store, const dh_reference_source *meta,
			      dh_store_ref_import **out, dh_error *err);
int dh_store_ref_import_row(dh_store_ref_import *imp, const dh_rpls_row *row,
			    const char *commune_code, dh_error *err);
/* Commit with meta->rows, sha256 and file fields as given here; frees imp in all cases. */
int dh_store_ref_import_end(dh_store_ref_import *imp, const dh_reference_source *final,
			    dh_error *err);
/* Roll back and free (NULL is a no-op). */
void dh_store_ref_import_abort(dh_store_ref_import *imp);

typedef int (*dh_reference_cb)(void *ctx, const dh_reference_source *source);
/* Every stored (source, date), by name then date. Returns DH_OK, DH_STORE, or cb's code. */
int dh_store_ref_list(dh_store *store, dh_reference_cb cb, void *ctx, dh_error *err);

/* One row of a reference source as dh_store_ref_scan() gives it (borrowed for the call). */
typedef struct dh_reference_row {
	const char *source;       /* its name */
	int32_t date;             /* its reference date, yyyymmdd */
	const char *commune_code; /* current commune resolved at import, NULL if none */
	const dh_rpls_row *row;   /* fields (mask as dh_store_versions_scan()) */
} dh_reference_row;

typedef int (*dh_reference_row_cb)(void *ctx, const dh_reference_row *row);
/* Every row of every reference source, grouped by (source, date). Returns DH_OK,
 * DH_CORRUPT, DH_STORE, or cb's code; none in a database older than these tables. */
int dh_store_ref_scan(dh_store *store, uint64_t fields, dh_reference_row_cb cb, void *ctx,
		      dh_error *err);

/* ---- Organisations ---------------------------------------------------------------- */

typedef enum dh_org_kind {
	DH_ORG_OPH = 0, /* office public de l'habitat */
	DH_ORG_ESH,     /* entreprise sociale pour l'habitat */
	DH_ORG_COOP,    /* coopérative HLM */
	DH_ORG_SEM      /* société d'économie mixte */
} dh_org_kind;

/* "OPH", "ESH", "coop", "SEM"; NULL out of range. */
const char *dh_org_kind_name(dh_org_kind kind);
/* Parse a kind name (case-insensitive); -1 if unknown. */
int dh_org_kind_parse(const char *name);

/* 1 if `siren` is 9 digits with a valid Luhn checksum, 0 otherwise. */
int dh_siren_valid(const char *siren);

typedef struct dh_org {
	int64_t id;          /* store identifier, set by the store */
	char siren[DH_SIREN_SIZE];      /* 9 digits */
	char name[DH_TEXT_SIZE(DH_NAME_MAX)]; /* dh_text_check: at most DH_NAME_MAX characters */
	dh_org_kind kind;
	char created_at[DH_TIMESTAMP_SIZE]; /* UTC "YYYY-MM-DDTHH:MM:SSZ", set by the store */
} dh_org;

/*
 * Add an organisation (id and created_at are filled on success). Returns DH_OK, DH_INVAL
 * (bad SIREN checksum, name refused by dh_text_check (at most DH_NAME_MAX characters, not
 * blank, no control character), unknown kind: err->field says which), DH_EXISTS (SIREN
 * already registered), DH_STORE.
 */
int dh_store_org_add(dh_store *store, dh_org *org, dh_error *err);

/* Find an organisation by SIREN. Returns DH_OK, DH_NOTFOUND, DH_INVAL, DH_STORE. */
int dh_store_org_get(dh_store *store, const char *siren, dh_org *out, dh_error *err);

/* Callback of the listings: return DH_OK to go on, anything else stops and is returned.
 * The object is borrowed for the duration of the call. */
typedef int (*dh_org_cb)(void *ctx, const dh_org *org);

/* Call cb for each organisation in SIREN order. Returns DH_OK, DH_STORE, or cb's code. */
int dh_store_org_list(dh_store *store, dh_org_cb cb, void *ctx, dh_error *err);

/* ---- Deliveries --------------------------------------------------------------------- */

typedef enum dh_delivery_status {
	DH_DELIVERY_ACCEPTED = 0, /* rows stored, part of the history */
	DH_DELIVERY_REFUSED       /* too many rejected rows or unreadable: only the report is kept */
} dh_delivery_status;

/* "accepted", "refused". */
const char *dh_delivery_status_name(dh_delivery_status status);

typedef struct dh_delivery {
	int64_t id;                 /* set by the store */
	char siren[DH_SIREN_SIZE];             /* organisation */
	char layout[16];            /* "rpls", "rpls-opendata" */
	char reference_date[DH_DATE_SIZE];    /* "YYYY-MM-DD": the stock is the one at this date */
	char received_at[DH_TIMESTAMP_SIZE];       /* UTC "YYYY-MM-DDTHH:MM:SSZ", set by the store */
	char file_name[DH_TEXT_SIZE(DH_NAME_MAX)]; /* base name of the delivered file (dh_text_check) */
	uint64_t file_size;         /* bytes */
	char sha256[DH_HASH_HEX_SIZE];            /* lowercase hex of the file's SHA-256 */
	uint64_t rows_read;         /* data records */
	uint64_t rows_accepted;     /* stored */
	uint64_t rows_rejected;     /* with at least one error */
	dh_delivery_status status;
} dh_delivery;

typedef int (*dh_delivery_cb)(void *ctx, const dh_delivery *delivery);

/*
 * Find the delivery of an organisation with this SHA-256 (the same file sent twice).
 * Returns DH_OK (filled), DH_NOTFOUND, DH_STORE.
 */
int dh_store_delivery_find(dh_store *store, const char *siren, const char *sha256,
			   dh_delivery *out, dh_error *err);

/*
 * Call cb for each delivery, of one organisation (siren) or of all (siren NULL), ordered by
 * organisation, reference date, then id. Returns DH_OK, DH_STORE, or cb's code.
 */
int dh_store_delivery_list(dh_store *store, const char *siren, dh_delivery_cb cb, void *ctx,
			   dh_error *err);

/*
 * The JSON validation report stored with delivery `id`. *json_out is a NUL-terminated
 * string owned by the caller (free()). Returns DH_OK, DH_NOTFOUND, DH_STORE, DH_NOMEM.
 */
int dh_store_delivery_report(dh_store *store, int64_t id, char **json_out, dh_error *err);

/* ---- Import sessions ------------------------------------------------------------------ */

typedef struct dh_store_import dh_store_import;

/*
 * Start writing a delivery of `meta->siren` at `meta->reference_date` (other fields of meta
 * used: layout, file_name, file_size; the SHA-256, counts and status are given to
 * dh_store_import_end, so that the file can be hashed while it is imported). Opens the
 * write transaction (waits for another writer to finish).
 * Returns DH_OK and *out; DH_NOTFOUND (unknown organisation), DH_INVAL (bad date),
 * DH_CONFLICT (an accepted delivery of this organisation already has this reference date,
 * or another import session is open on this handle), DH_STORE.
 */
int dh_store_import_begin(dh_store *store, const dh_delivery *meta, dh_store_import **out,
			  dh_error *err);

/*
 * Add one accepted dwelling. Only fields whose present bit is set are stored (others are
 * NULL). IDENT_INT must be present. commune_code is the current commune code the validator
 * resolved (NULL if none). The row is borrowed for the call only.
 * Returns DH_OK, DH_INVAL (no IDENT_INT), DH_CONFLICT (IDENT_INT twice in the delivery),
 * DH_STORE. After a failure the session can only be aborted.
 */
int dh_store_import_row(dh_store_import *imp, const dh_rpls_row *row, const char *commune_code,
			dh_error *err);

/*
 * Finish the session. final carries sha256, layout, file_name, file_size, the counts
 * (rows_read/accepted/rejected) and the status:
 * ACCEPTED makes the delivery and its rows part of the history, atomically; REFUSED discards
 * the rows written and records only the delivery and its report. report_json (NUL-terminated,
 * borrowed) is stored with the delivery. On success final->id and received_at are set.
 * The session is freed in all cases. Returns DH_OK, DH_INVAL (bad sha256 or status),
 * DH_EXISTS (this file was already delivered for the organisation), DH_STORE; on any
 * failure nothing of the session is stored.
 */
int dh_store_import_end(dh_store_import *imp, dh_delivery *final, const char *report_json,
			dh_error *err);

/* Roll back and free the session: nothing of it is stored. NULL is a no-op. */
void dh_store_import_abort(dh_store_import *imp);

/* ---- Reading the stock ------------------------------------------------------------------ */

/*
 * Callback of dh_store_stock_read: one dwelling. Every field's text is its canonical
 * transmission form (dates mm/aaaa or jj/mm/aaaa, numbers with a dot); value[] and present
 * are filled as the validator fills them; commune is -1 (store rows carry the code in
 * commune_code instead); line is the 1-based rank in the export. Borrowed for the call.
 */
typedef int (*dh_stock_cb)(void *ctx, const dh_rpls_row *row, const char *commune_code);

/*
 * Read the stock of `siren` as of `date` ("YYYY-MM-DD"; NULL for the latest): the content
 * of its latest accepted delivery with reference_date <= date, in IDENT_INT order.
 * *delivery_out (may be NULL) receives that delivery. Returns DH_OK, DH_NOTFOUND (unknown
 * organisation, or no accepted delivery at that date), DH_INVAL, DH_STORE, or cb's code.
 */
int dh_store_stock_read(dh_store *store, const char *siren, const char *date, dh_delivery *delivery_out,
			dh_stock_cb cb, void *ctx, dh_error *err);

/* One dwelling version as dh_store_versions_scan() gives it (borrowed for the call). */
typedef struct dh_stock_version {
	const char *siren;        /* organisation */
	int32_t valid_from;       /* first day of validity, yyyymmdd (a delivery's reference date) */
	int32_t valid_to;         /* first day it is no longer valid, yyyymmdd; 0: still valid */
	const char *commune_code; /* current commune resolved at import, NULL if none */
	const dh_rpls_row *row;   /* fields as dh_store_stock_read() gives them (commune -1) */
} dh_stock_version;

typedef int (*dh_version_cb)(void *ctx, const dh_stock_version *version);

/*
 * Call cb for every dwelling version of every organisation (the whole history: each
 * version with its validity), in no particular order, from one read snapshot. `fields` is
 * a mask of the RPLS fields to read (bit f for field f; 0: all): others are left absent,
 * which makes a scan for the cube much cheaper. Returns DH_OK, DH_CORRUPT (a stored value
 * is malformed), DH_STORE, or cb's code. Added for the cube (cube_store.h).
 */
int dh_store_versions_scan(dh_store *store, uint64_t fields, dh_version_cb cb, void *ctx,
			   dh_error *err);

/* 1 if `date` is a real calendar date written "YYYY-MM-DD", 0 otherwise. */
int dh_date_valid(const char *date);

#endif
