/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sqlite.c - the SQLite backend of the store: one database file in WAL mode, foreign keys
 * on, schema migrations numbered by PRAGMA user_version, prepared statements only (column
 * lists come from the DH_RPLS_FIELDS table at compile time; values are always bound).
 *
 * Versioned stock (docs/store.md): table dwelling holds versions of each dwelling, keyed by
 * (organisation_id, IDENT_INT, valid_from), valid over [valid_from, valid_to) where both
 * bounds are reference dates of the organisation's accepted deliveries, stored as integers
 * yyyymmdd (4 bytes on disk instead of 10; 99991231 for "still valid"). A row identical to the version valid at the previous delivery (same
 * content hash) is not written again: that version simply stays valid.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLICATION_ID 0x44486162 /* "DHab" */
#define OPEN_END "9999-12-31"
#define OPEN_END_DAY 99991231 /* valid_to of a version still valid */
#define BUSY_TIMEOUT_MS 600000 /* an import can hold the write lock for minutes */
#define READ_CACHE_KIB "-262144"    /* page cache of a connection: 256 MiB at most */
#define IMPORT_CACHE_KIB "-2097152" /* during an import: 2 GiB at most (a national delivery) */

/* ---- Schema ------------------------------------------------------------------------- */

#define SQLTYPE_DH_KIND_TEXT "TEXT"
#define SQLTYPE_DH_KIND_CODE "TEXT"
#define SQLTYPE_DH_KIND_INT "INTEGER"
#define SQLTYPE_DH_KIND_YEAR "INTEGER"
#define SQLTYPE_DH_KIND_DATE "TEXT"
#define SQLTYPE_DH_KIND_NUMBER "REAL"

#define COL_DECL(id, kind, maxlen, required, label) ", " #id " " SQLTYPE_##kind
#define COL_NAME(id, kind, maxlen, required, label) ", " #id
#define COL_PARAM(id, kind, maxlen, required, label) ", ?"

/* Columns of a dwelling version before the RPLS fields. */
#define VERSION_COLS "organisation_id, valid_from, valid_to, content_hash, delivery_id, commune_code"
#define N_VERSION_COLS 6
#define RPLS_COLS DH_RPLS_FIELDS(COL_NAME)

#define SQL_CREATE_VERSION_INDEX "CREATE UNIQUE INDEX dwelling_version ON dwelling(organisation_id, IDENT_INT, valid_from)"

static const char *const migrations[] = {
	/* 1: organisations, deliveries, versioned dwellings, reference geography. */
	"CREATE TABLE organisation("
	" id INTEGER PRIMARY KEY,"
	" siren TEXT NOT NULL UNIQUE CHECK (length(siren) = 9),"
	" name TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('OPH', 'ESH', 'coop', 'SEM')),"
	" created_at TEXT NOT NULL);"
	"CREATE TABLE delivery("
	" id INTEGER PRIMARY KEY,"
	" organisation_id INTEGER NOT NULL REFERENCES organisation(id),"
	" layout TEXT NOT NULL,"
	" reference_date TEXT NOT NULL,"
	" received_at TEXT NOT NULL,"
	" file_name TEXT NOT NULL,"
	" file_size INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" rows_read INTEGER NOT NULL,"
	" rows_accepted INTEGER NOT NULL,"
	" rows_rejected INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('accepted', 'refused')),"
	" report TEXT NOT NULL,"
	" UNIQUE (organisation_id, sha256));"
	"CREATE UNIQUE INDEX delivery_accepted_date ON delivery(organisation_id, reference_date)"
	" WHERE status = 'accepted';"
	"CREATE TABLE dwelling("
	" id INTEGER PRIMARY KEY,"
	" organisation_id INTEGER NOT NULL REFERENCES organisation(id),"
	" valid_from INTEGER NOT NULL,"
	" valid_to INTEGER NOT NULL,"
	" content_hash INTEGER NOT NULL,"
	" delivery_id INTEGER NOT NULL REFERENCES delivery(id),"
	" commune_code TEXT" DH_RPLS_FIELDS(COL_DECL) ");"
	SQL_CREATE_VERSION_INDEX ";"
	"CREATE TABLE region(code TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE departement(code TEXT PRIMARY KEY, name TEXT NOT NULL, region_code TEXT NOT NULL);"
	"CREATE TABLE epci(code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL);"
	"CREATE TABLE commune(code TEXT PRIMARY KEY, name TEXT NOT NULL, departement_code TEXT NOT NULL,"
	" region_code TEXT NOT NULL, epci_code TEXT, population INTEGER NOT NULL);"
	"CREATE TABLE former_commune(code TEXT NOT NULL, name TEXT NOT NULL, current_code TEXT NOT NULL,"
	" kind TEXT NOT NULL, PRIMARY KEY (code, current_code));",
	/* 2: audit chain, registry of pseudonymised columns, key version (sqlite_audit.h). */
	DH_SQLITE_AUDIT_MIGRATION,
	/* 3: users, API tokens, sharing agreements (identity_backend.h). */
	DH_SQLITE_IDENTITY_MIGRATION,
	/* 4: partner audiences bound to a level (store/internal.h). */
	DH_SQLITE_PARTNER_LEVEL_MIGRATION,
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char SQL_INSERT_VERSION[] =
	"INSERT INTO dwelling(" VERSION_COLS RPLS_COLS ") VALUES (?, ?, ?, ?, ?, ?" DH_RPLS_FIELDS(COL_PARAM) ")";
/* The part of a version valid at ?3 that the new delivery does not keep, copied to start at
 * the next delivery (?4) when it was still valid then: history insertion in the past. */
static const char SQL_COPY_TO_NEXT[] =
	"INSERT INTO dwelling(" VERSION_COLS RPLS_COLS ")"
	" SELECT organisation_id, ?4, valid_to, content_hash, delivery_id, commune_code" RPLS_COLS
	" FROM dwelling WHERE organisation_id = ?1 AND valid_from <= ?3 AND valid_to > ?4"
	" AND id NOT IN (SELECT id FROM temp.kept)";
static const char SQL_CLOSE_PREVIOUS[] =
	"UPDATE dwelling SET valid_to = ?2 WHERE organisation_id = ?1 AND valid_from <= ?3"
	" AND valid_to > ?3 AND id NOT IN (SELECT id FROM temp.kept)";
static const char SQL_STOCK[] =
	"SELECT commune_code" RPLS_COLS " FROM dwelling WHERE organisation_id = ?1"
	" AND valid_from <= ?2 AND valid_to > ?2 ORDER BY IDENT_INT";

static const char SQL_DELIVERY_COLS[] =
	"SELECT d.id, o.siren, d.layout, d.reference_date, d.received_at, d.file_name, d.file_size,"
	" d.sha256, d.rows_read, d.rows_accepted, d.rows_rejected, d.status"
	" FROM delivery d JOIN organisation o ON o.id = d.organisation_id";

/* ---- Handles ---------------------------------------------------------------------------- */

typedef struct sq_store {
	sqlite3 *db;
	int in_session;
} sq_store;

typedef struct sq_session {
	sq_store *store;
	int64_t org_id;
	int64_t delivery_id;
	char ref_new[DH_DATE_SIZE];   /* this delivery's reference date */
	char ref_prev[DH_DATE_SIZE];  /* latest accepted delivery before it, "" if none */
	char ref_next[DH_DATE_SIZE];  /* earliest accepted delivery after it, "" if none */
	int64_t day_new, day_prev, day_next; /* the same as yyyymmdd integers, 0 if none */
	int fast;           /* no history around: every row is a new version */
	int rebuild_index;  /* dwelling was empty: its index is dropped and built at the end */
	sqlite3_stmt *insert;      /* SQL_INSERT_VERSION */
	sqlite3_stmt *find_prev;   /* version valid at ref_prev */
	sqlite3_stmt *find_next;   /* version starting at ref_next */
	sqlite3_stmt *extend_next; /* move its start back to ref_new */
	sqlite3_stmt *keep;        /* remember a version kept as is */
	sqlite3_stmt *delivered;   /* remember an IDENT_INT of this delivery */
	char dates[DH_RPLS_NFIELDS][DH_DATE_SIZE]; /* DATE fields converted to ISO for binding */
	dh_field_kind kind[DH_RPLS_NFIELDS]; /* kind of each RPLS field, looked up once */
	unsigned char hashbuf[1 << 15];
} sq_session;

static int fail(sqlite3 *db, dh_error *err, const char *what)
{
	int code = sqlite3_errcode(db);
	int rc = DH_STORE;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		rc = DH_CORRUPT;
	else if (code == SQLITE_NOMEM)
		rc = DH_NOMEM;
	return dh_error_set(err, rc, "base de données : %s : %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, dh_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, err, "exécution");
	return DH_OK;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, dh_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return fail(db, err, "préparation d'une requête");
	}
	return DH_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Step a statement that returns no row (or whose rows are ignored) and reset it. */
static int run(sqlite3 *db, sqlite3_stmt *st, dh_error *err, const char *what)
{
	int rc = sqlite3_step(st);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		int r = fail(db, err, what);
		sqlite3_reset(st);
		return r;
	}
	sqlite3_reset(st);
	return DH_OK;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out, dh_error *err)
{
	sqlite3_stmt *st;
	int rc = prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		*out = 0;
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = fail(db, err, "lecture");
	sqlite3_finalize(st);
	return rc;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	dh_strlcpy(dst, size, t ? (const char *)t : "");
}

/* ---- Open, migrate, close ------------------------------------------------------------------- */

static int migrate(sqlite3 *db, int from, dh_error *err)
{
	int rc = exec(db, "BEGIN IMMEDIATE", err);
	if (rc != DH_OK)
		return rc;
	for (int v = from; v < SCHEMA_VERSION; v++) {
		rc = exec(db, migrations[v], err);
		if (rc != DH_OK)
			goto rollback;
	}
	char sql[96];
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d", APPLICATION_ID,
		 SCHEMA_VERSION);
	rc = exec(db, sql, err);
	if (rc != DH_OK)
		goto rollback;
	return exec(db, "COMMIT", err);
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Process-wide SQLite settings, before the library initialises: no memory statistics
 * (they take a global mutex on every allocation, about 5 % of an import's writer). */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* SQLITE_MISUSE if already initialised: harmless */
}

/*
 * Create the database file 0600 whatever the umask when it does not exist yet: holding the
 * file is reading every dwelling, unsuppressed figures and password hashes. SQLite gives
 * the WAL, SHM and journal the mode of the database file (robust_open fixes the umask's
 * effect), so they are 0600 too. An existing file is left as it is.
 */
static int create_private(const char *path, dh_error *err)
{
	if (!path[0] || strcmp(path, ":memory:") == 0)
		return DH_OK;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? DH_OK
				       : dh_error_set(err, DH_STORE, "base « %s » : création impossible : %s", path,
						      strerror(errno));
	int ok = fchmod(fd, 0600) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return dh_error_set(err, DH_STORE, "base « %s » : droits 0600 impossibles", path);
	}
	return DH_OK;
}

static int sq_open(void **state, const char *path, unsigned flags, int *created, dh_error *err)
{
	*created = 0;
	pthread_once(&sqlite_once, sqlite_setup);
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	int oflags = flags & DH_STORE_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if ((flags & DH_STORE_CREATE) && !(flags & DH_STORE_READONLY))
		oflags |= SQLITE_OPEN_CREATE;
	if (oflags & SQLITE_OPEN_CREATE) {
		int rc = create_private(path, err);
		if (rc != DH_OK)
			return rc;
	}
	sqlite3 *db = NULL;
	int s = sqlite3_open_v2(path, &db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (s != SQLITE_OK) {
		int rc = s == SQLITE_CANTOPEN && !(flags & DH_STORE_CREATE)
				 ? dh_error_set(err, DH_NOTFOUND, "base « %s » introuvable (créez-la avec « datahabitat init »)", path)
				 : dh_error_set(err, DH_STORE, "base « %s » : ouverture impossible : %s", path,
						db ? sqlite3_errmsg(db) : "mémoire insuffisante");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 0);
	int64_t version = 0, app = 0, tables = 0;
	int rc = pragma_int(db, "PRAGMA user_version", &version, err);
	if (rc == DH_OK)
		rc = pragma_int(db, "PRAGMA application_id", &app, err);
	if (rc == DH_OK)
		rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables, err);
	if (rc != DH_OK) {
		sqlite3_close(db);
		if (rc == DH_CORRUPT)
			return dh_error_set(err, DH_CONFLICT, "« %s » n'est pas une base datahabitat (fichier non SQLite)", path);
		return rc;
	}
	if (version == 0 && tables == 0) {
		if (!(flags & DH_STORE_CREATE) || (flags & DH_STORE_READONLY)) {
			sqlite3_close(db);
			return dh_error_set(err, DH_NOTFOUND, "base « %s » non initialisée (lancez « datahabitat init »)", path);
		}
	} else if (app != APPLICATION_ID) {
		sqlite3_close(db);
		return dh_error_set(err, DH_CONFLICT, "« %s » n'est pas une base datahabitat : elle est laissée intacte", path);
	} else if (version > SCHEMA_VERSION) {
		sqlite3_close(db);
		return dh_error_set(err, DH_CORRUPT, "base « %s » au schéma %d, plus récent que ce programme (%d)", path,
				    (int)version, SCHEMA_VERSION);
	}
	const char *setup = flags & DH_STORE_READONLY
				    ? "PRAGMA foreign_keys = ON; PRAGMA cache_size = " READ_CACHE_KIB "; PRAGMA temp_store = MEMORY"
				    : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
				      " PRAGMA cache_size = " READ_CACHE_KIB "; PRAGMA temp_store = MEMORY";
	/* A new file gets 16 KiB pages (set before WAL mode, which fixes the page size): fewer
	 * pages per row for the 52-column dwelling versions, faster bulk imports. */
	rc = version == 0 && tables == 0 && !(flags & DH_STORE_READONLY) ? exec(db, "PRAGMA page_size = 16384", err) : DH_OK;
	if (rc == DH_OK)
		rc = exec(db, setup, err);
	if (rc == DH_OK && version < SCHEMA_VERSION && !(flags & DH_STORE_READONLY)) {
		rc = migrate(db, (int)version, err);
		*created = version == 0;
	}
	if (rc == DH_OK)
		rc = exec(db, "CREATE TEMP TABLE kept(id INTEGER PRIMARY KEY);"
			      "CREATE TEMP TABLE delivered(ident TEXT PRIMARY KEY) WITHOUT ROWID", err);
	if (rc != DH_OK) {
		sqlite3_close(db);
		return rc;
	}
	sq_store *st = calloc(1, sizeof(*st));
	if (!st) {
		sqlite3_close(db);
		return dh_error_nomem(err);
	}
	st->db = db;
	*state = st;
	return DH_OK;
}

sqlite3 *dh__sqlite_db(void *state)
{
	return ((sq_store *)state)->db;
}

static void sq_close(void *state)
{
	sq_store *st = state;
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

static int count_rows(sqlite3 *db, const char *sql, uint64_t *out, dh_error *err)
{
	int64_t n = 0;
	int rc = pragma_int(db, sql, &n, err);
	*out = (uint64_t)n;
	return rc;
}

/* The database file belongs to the process's effective user. */
static int sq_caller_owns(void *state, dh_error *err)
{
	sq_store *st = state;
	const char *path = sqlite3_db_filename(st->db, "main");
	if (!path || !*path)
		return dh_error_set(err, DH_DENIED, "base sans fichier : aucun propriétaire");
	struct stat sb;
	if (stat(path, &sb) != 0)
		return dh_error_set(err, DH_STORE, "base « %s » : %s", path, strerror(errno));
	if (sb.st_uid != geteuid())
		return dh_error_set(err, DH_DENIED, "la base « %s » appartient à un autre utilisateur", path);
	return DH_OK;
}

static int sq_info(void *state, dh_store_info *info, dh_error *err)
{
	sq_store *st = state;
	int64_t v = 0;
	int rc = pragma_int(st->db, "PRAGMA user_version", &v, err);
	info->schema_version = (int)v;
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM commune", &info->communes, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM former_commune", &info->former_communes, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM epci", &info->epci, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM departement", &info->departements, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM region", &info->regions, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM organisation", &info->organisations, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM delivery", &info->deliveries, err);
	if (rc == DH_OK)
		rc = count_rows(st->db, "SELECT count(*) FROM dwelling", &info->dwelling_versions, err);
	return rc;
}

/* ---- Reference geography ---------------------------------------------------------------------- */

static int load_areas(sqlite3 *db, sqlite3_stmt *st, const dh_geo *geo, size_t n,
		      const dh_area *(*get)(const dh_geo *, int32_t), int kind_col, dh_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const dh_area *a = get(geo, (int32_t)i);
		bind_text(st, 1, a->code);
		bind_text(st, 2, a->name ? a->name : "");
		if (kind_col == 1)
			bind_text(st, 3, a->kind);
		else if (kind_col == 2)
			bind_text(st, 3, a->parent);
		int rc = run(db, st, err, "chargement de la géographie");
		if (rc != DH_OK)
			return rc;
	}
	return DH_OK;
}

static int sq_load_geo(void *state, const dh_geo *geo, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	sqlite3_stmt *reg = NULL, *dep = NULL, *epci = NULL, *com = NULL, *former = NULL;
	int rc = exec(db, "BEGIN IMMEDIATE", err);
	if (rc != DH_OK)
		return rc;
	rc = exec(db, "DELETE FROM commune; DELETE FROM former_commune; DELETE FROM epci;"
		      " DELETE FROM departement; DELETE FROM region", err);
	if (rc == DH_OK)
		rc = prepare(db, "INSERT OR REPLACE INTO region(code, name) VALUES (?, ?)", &reg, err);
	if (rc == DH_OK)
		rc = prepare(db, "INSERT OR REPLACE INTO departement(code, name, region_code) VALUES (?, ?, ?)", &dep, err);
	if (rc == DH_OK)
		rc = prepare(db, "INSERT OR REPLACE INTO epci(code, name, kind) VALUES (?, ?, ?)", &epci, err);
	if (rc == DH_OK)
		rc = prepare(db, "INSERT OR REPLACE INTO commune(code, name, departement_code, region_code, epci_code,"
				 " population) VALUES (?, ?, ?, ?, ?, ?)", &com, err);
	if (rc == DH_OK)
		rc = prepare(db, "INSERT OR REPLACE INTO former_commune(code, name, current_code, kind)"
				 " VALUES (?, ?, ?, ?)", &former, err);
	if (rc == DH_OK)
		rc = load_areas(db, reg, geo, dh_geo_region_count(geo), dh_geo_region, 0, err);
	if (rc == DH_OK)
		rc = load_areas(db, dep, geo, dh_geo_departement_count(geo), dh_geo_departement, 2, err);
	if (rc == DH_OK)
		rc = load_areas(db, epci, geo, dh_geo_epci_count(geo), dh_geo_epci, 1, err);
	size_t n = dh_geo_commune_count(geo);
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		bind_text(com, 1, c->code);
		bind_text(com, 2, c->name ? c->name : "");
		bind_text(com, 3, c->departement);
		bind_text(com, 4, c->region);
		if (c->epci[0])
			bind_text(com, 5, c->epci);
		else
			sqlite3_bind_null(com, 5);
		sqlite3_bind_int64(com, 6, c->population);
		rc = run(db, com, err, "chargement des communes");
	}
	n = dh_geo_former_count(geo);
	for (size_t i = 0; rc == DH_OK && i < n; i++) {
		const dh_former_commune *f = dh_geo_former(geo, (int32_t)i);
		const dh_commune *cur = dh_geo_commune(geo, f->current);
		char kind[2] = { f->kind, 0 };
		bind_text(former, 1, f->code);
		bind_text(former, 2, f->name ? f->name : "");
		bind_text(former, 3, cur ? cur->code : "");
		bind_text(former, 4, kind);
		rc = run(db, former, err, "chargement des communes déléguées");
	}
	sqlite3_finalize(reg);
	sqlite3_finalize(dep);
	sqlite3_finalize(epci);
	sqlite3_finalize(com);
	sqlite3_finalize(former);
	if (rc == DH_OK)
		return exec(db, "COMMIT", err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- Organisations ------------------------------------------------------------------------------ */

static void read_org(sqlite3_stmt *st, dh_org *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	copy_col(o->siren, sizeof(o->siren), st, 1);
	copy_col(o->name, sizeof(o->name), st, 2);
	const unsigned char *k = sqlite3_column_text(st, 3);
	int kind = dh_org_kind_parse(k ? (const char *)k : "");
	o->kind = kind < 0 ? DH_ORG_OPH : (dh_org_kind)kind;
	copy_col(o->created_at, sizeof(o->created_at), st, 4);
}

static int sq_org_add(void *state, dh_org *org, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = prepare(s->db, "INSERT INTO organisation(siren, name, kind, created_at) VALUES (?, ?, ?, ?)", &st, err);
	if (rc != DH_OK)
		return rc;
	bind_text(st, 1, org->siren);
	bind_text(st, 2, org->name);
	bind_text(st, 3, dh_org_kind_name(org->kind));
	bind_text(st, 4, org->created_at);
	int step = sqlite3_step(st);
	if (step == SQLITE_CONSTRAINT)
		rc = dh_error_set(err, DH_EXISTS, "l'organisme de SIREN %s est déjà enregistré", org->siren);
	else if (step != SQLITE_DONE)
		rc = fail(s->db, err, "ajout d'un organisme");
	else
		org->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

static int sq_org_get(void *state, const char *siren, dh_org *out, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = prepare(s->db, "SELECT id, siren, name, kind, created_at FROM organisation WHERE siren = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	bind_text(st, 1, siren);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_org(st, out);
	else if (step == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "aucun organisme de SIREN %s (ajoutez-le avec « datahabitat org add »)", siren);
	else
		rc = fail(s->db, err, "lecture d'un organisme");
	sqlite3_finalize(st);
	return rc;
}

static int sq_org_list(void *state, dh_org_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = prepare(s->db, "SELECT id, siren, name, kind, created_at FROM organisation ORDER BY siren", &st, err);
	if (rc != DH_OK)
		return rc;
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		dh_org o;
		read_org(st, &o);
		rc = cb(ctx, &o);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = fail(s->db, err, "liste des organismes");
	sqlite3_finalize(st);
	return rc;
}

/* ---- Deliveries ----------------------------------------------------------------------------------- */

static void read_delivery(sqlite3_stmt *st, dh_delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	copy_col(d->siren, sizeof(d->siren), st, 1);
	copy_col(d->layout, sizeof(d->layout), st, 2);
	copy_col(d->reference_date, sizeof(d->reference_date), st, 3);
	copy_col(d->received_at, sizeof(d->received_at), st, 4);
	copy_col(d->file_name, sizeof(d->file_name), st, 5);
	d->file_size = (uint64_t)sqlite3_column_int64(st, 6);
	copy_col(d->sha256, sizeof(d->sha256), st, 7);
	d->rows_read = (uint64_t)sqlite3_column_int64(st, 8);
	d->rows_accepted = (uint64_t)sqlite3_column_int64(st, 9);
	d->rows_rejected = (uint64_t)sqlite3_column_int64(st, 10);
	const unsigned char *status = sqlite3_column_text(st, 11);
	d->status = status && strcmp((const char *)status, "refused") == 0 ? DH_DELIVERY_REFUSED : DH_DELIVERY_ACCEPTED;
}

static int sq_delivery_find(void *state, const char *siren, const char *sha256, dh_delivery *out, dh_error *err)
{
	sq_store *s = state;
	char sql[512];
	snprintf(sql, sizeof(sql), "%s WHERE o.siren = ? AND d.sha256 = ?", SQL_DELIVERY_COLS);
	sqlite3_stmt *st;
	int rc = prepare(s->db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	bind_text(st, 1, siren);
	bind_text(st, 2, sha256);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_delivery(st, out);
	else if (step == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "aucune livraison de ce fichier");
	else
		rc = fail(s->db, err, "recherche d'une livraison");
	sqlite3_finalize(st);
	return rc;
}

static int sq_delivery_list(void *state, const char *siren, dh_delivery_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	char sql[512];
	snprintf(sql, sizeof(sql), "%s WHERE ?1 IS NULL OR o.siren = ?1 ORDER BY o.siren, d.reference_date, d.id",
		 SQL_DELIVERY_COLS);
	sqlite3_stmt *st;
	int rc = prepare(s->db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	if (siren)
		bind_text(st, 1, siren);
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		dh_delivery d;
		read_delivery(st, &d);
		rc = cb(ctx, &d);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = fail(s->db, err, "liste des livraisons");
	sqlite3_finalize(st);
	return rc;
}

static int sq_delivery_report(void *state, int64_t id, char **json_out, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = prepare(s->db, "SELECT report FROM delivery WHERE id = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		*json_out = strdup(t ? (const char *)t : "");
		if (!*json_out)
			rc = dh_error_nomem(err);
	} else if (step == SQLITE_DONE) {
		rc = dh_error_set(err, DH_NOTFOUND, "livraison %lld introuvable", (long long)id);
	} else {
		rc = fail(s->db, err, "lecture d'un rapport");
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- Import sessions ------------------------------------------------------------------------------ */

static void session_free(sq_session *ss)
{
	sqlite3_exec(ss->store->db, "PRAGMA cache_size = " READ_CACHE_KIB, NULL, NULL, NULL);
	sqlite3_finalize(ss->insert);
	sqlite3_finalize(ss->find_prev);
	sqlite3_finalize(ss->find_next);
	sqlite3_finalize(ss->extend_next);
	sqlite3_finalize(ss->keep);
	sqlite3_finalize(ss->delivered);
	ss->store->in_session = 0;
	free(ss);
}

static void sq_import_abort(void *session)
{
	sq_session *ss = session;
	if (!ss)
		return;
	if (!sqlite3_get_autocommit(ss->store->db))
		sqlite3_exec(ss->store->db, "ROLLBACK", NULL, NULL, NULL);
	session_free(ss);
}

/* "YYYY-MM-DD" (checked by store.c) as yyyymmdd; 0 for "". */
static int64_t day_number(const char *date)
{
	if (!date[0])
		return 0;
	return (int64_t)atoi(date) * 10000 + atoi(date + 5) * 100 + atoi(date + 8);
}

/* One date bound of the organisation's accepted deliveries around ref ("" if none). */
static int neighbour_date(sqlite3 *db, const char *sql, int64_t org, const char *ref, char out[DH_DATE_SIZE], dh_error *err)
{
	sqlite3_stmt *st;
	int rc = prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, org);
	bind_text(st, 2, ref);
	out[0] = '\0';
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		copy_col(out, 11, st, 0);
	else if (step != SQLITE_DONE)
		rc = fail(db, err, "lecture de l'historique");
	sqlite3_finalize(st);
	return rc;
}

static int sq_import_begin(void *state, const dh_delivery *meta, void **session, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	if (s->in_session)
		return dh_error_set(err, DH_CONFLICT, "un import est déjà en cours sur cette connexion");
	sq_session *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return dh_error_nomem(err);
	ss->store = s;
	s->in_session = 1;
	dh_strlcpy(ss->ref_new, sizeof(ss->ref_new), meta->reference_date);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		ss->kind[f] = dh_rpls_field(f)->kind;
	/* A delivery is written in one transaction: a cache that holds most of it keeps pages
	 * from being spilled to the WAL and rewritten there (docs/store.md, figures). */
	int rc = exec(db, "PRAGMA cache_size = " IMPORT_CACHE_KIB "; BEGIN IMMEDIATE", err);
	if (rc != DH_OK) {
		session_free(ss);
		return rc;
	}
	dh_org org;
	rc = sq_org_get(s, meta->siren, &org, err);
	if (rc != DH_OK)
		goto fail;
	ss->org_id = org.id;
	char same[DH_DATE_SIZE];
	rc = neighbour_date(db, "SELECT reference_date FROM delivery WHERE organisation_id = ?1 AND status = 'accepted'"
				" AND reference_date = ?2", org.id, ss->ref_new, same, err);
	if (rc != DH_OK)
		goto fail;
	if (same[0]) {
		rc = dh_error_set(err, DH_CONFLICT, "l'organisme %s a déjà une livraison acceptée au %s", meta->siren, same);
		goto fail;
	}
	rc = neighbour_date(db, "SELECT max(reference_date) FROM delivery WHERE organisation_id = ?1"
				" AND status = 'accepted' AND reference_date < ?2", org.id, ss->ref_new, ss->ref_prev, err);
	if (rc == DH_OK)
		rc = neighbour_date(db, "SELECT min(reference_date) FROM delivery WHERE organisation_id = ?1"
					" AND status = 'accepted' AND reference_date > ?2", org.id, ss->ref_new, ss->ref_next, err);
	if (rc != DH_OK)
		goto fail;
	ss->fast = !ss->ref_prev[0] && !ss->ref_next[0];
	ss->day_new = day_number(ss->ref_new);
	ss->day_prev = day_number(ss->ref_prev);
	ss->day_next = day_number(ss->ref_next);

	/* The delivery row exists from the start so that versions can reference it; it is
	 * completed at the end, and vanishes with the rest on rollback. */
	sqlite3_stmt *st;
	rc = prepare(db, "INSERT INTO delivery(organisation_id, layout, reference_date, received_at, file_name,"
			 " file_size, sha256, rows_read, rows_accepted, rows_rejected, status, report)"
			 " VALUES (?, ?, ?, '', ?, ?, '', 0, 0, 0, 'accepted', '')", &st, err);
	if (rc != DH_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, org.id);
	bind_text(st, 2, meta->layout[0] ? meta->layout : "rpls");
	bind_text(st, 3, ss->ref_new);
	bind_text(st, 4, meta->file_name);
	sqlite3_bind_int64(st, 5, (int64_t)meta->file_size);
	rc = run(db, st, err, "création de la livraison");
	sqlite3_finalize(st);
	if (rc != DH_OK)
		goto fail;
	ss->delivery_id = sqlite3_last_insert_rowid(db);

	rc = exec(db, "DELETE FROM temp.kept; DELETE FROM temp.delivered", err);
	if (rc == DH_OK && ss->fast) {
		int64_t any = 0;
		rc = pragma_int(db, "SELECT EXISTS (SELECT 1 FROM dwelling)", &any, err);
		if (rc == DH_OK && !any) {
			rc = exec(db, "DROP INDEX dwelling_version", err);
			ss->rebuild_index = rc == DH_OK;
		}
	}
	if (rc == DH_OK)
		rc = prepare(db, SQL_INSERT_VERSION, &ss->insert, err);
	if (rc == DH_OK && !ss->fast) {
		rc = prepare(db, "SELECT id, content_hash FROM dwelling WHERE organisation_id = ?1 AND IDENT_INT = ?2"
				 " AND valid_from <= ?3 AND valid_to > ?3", &ss->find_prev, err);
		if (rc == DH_OK)
			rc = prepare(db, "SELECT id, content_hash FROM dwelling WHERE organisation_id = ?1"
					 " AND IDENT_INT = ?2 AND valid_from = ?3", &ss->find_next, err);
		if (rc == DH_OK)
			rc = prepare(db, "UPDATE dwelling SET valid_from = ?2 WHERE id = ?1", &ss->extend_next, err);
		if (rc == DH_OK)
			rc = prepare(db, "INSERT INTO temp.kept(id) VALUES (?)", &ss->keep, err);
		if (rc == DH_OK)
			rc = prepare(db, "INSERT INTO temp.delivered(ident) VALUES (?)", &ss->delivered, err);
	}
	if (rc != DH_OK)
		goto fail;
	*session = ss;
	return DH_OK;
fail:
	sq_import_abort(ss);
	return rc;
}

/* Hash of what is stored of a row: field ids, their text or typed value, the commune. */
static int64_t content_hash(sq_session *ss, const dh_rpls_row *row, const char *commune)
{
	static const unsigned char key[crypto_shorthash_KEYBYTES] = "datahabitat-row";
	unsigned char *p = ss->hashbuf, *end = ss->hashbuf + sizeof(ss->hashbuf);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (!DH_RPLS_HAS(row, f))
			continue;
		dh_field_kind kind = ss->kind[f];
		size_t len = kind == DH_KIND_TEXT || kind == DH_KIND_CODE ? row->text[f].len : sizeof(row->value[f]);
		if ((size_t)(end - p) < len + 2)
			break; /* cannot happen within the field limits; hash what fits */
		*p++ = (unsigned char)f;
		if (kind == DH_KIND_TEXT || kind == DH_KIND_CODE)
			memcpy(p, row->text[f].ptr, len);
		else
			memcpy(p, &row->value[f], len);
		p += len;
		*p++ = 0xff; /* never a byte of UTF-8: separates the fields */
	}
	size_t clen = commune ? strlen(commune) : 0;
	if (clen && (size_t)(end - p) >= clen) {
		memcpy(p, commune, clen);
		p += clen;
	}
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, ss->hashbuf, (unsigned long long)(p - ss->hashbuf), key);
	int64_t h;
	memcpy(&h, out, sizeof(h));
	return h;
}

static int bind_row(sq_session *ss, sqlite3_stmt *st, const dh_rpls_row *row)
{
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		int col = N_VERSION_COLS + 1 + f;
		if (!DH_RPLS_HAS(row, f)) {
			sqlite3_bind_null(st, col);
			continue;
		}
		switch (ss->kind[f]) {
		case DH_KIND_TEXT:
		case DH_KIND_CODE:
			sqlite3_bind_text(st, col, row->text[f].ptr, (int)row->text[f].len, SQLITE_STATIC);
			break;
		case DH_KIND_INT:
		case DH_KIND_YEAR:
			sqlite3_bind_int64(st, col, row->value[f].i);
			break;
		case DH_KIND_NUMBER:
			sqlite3_bind_double(st, col, row->value[f].d);
			break;
		case DH_KIND_DATE:
			if (dh__store_date_to_iso(row->value[f].i, ss->dates[f], sizeof(ss->dates[f])) != 0)
				return -1;
			sqlite3_bind_text(st, col, ss->dates[f], ss->dates[f][7] ? 10 : 7, SQLITE_STATIC);
			break;
		}
	}
	return 0;
}

static int insert_version(sq_session *ss, const dh_rpls_row *row, const char *commune, int64_t hash, dh_error *err)
{
	sqlite3_stmt *st = ss->insert;
	sqlite3_bind_int64(st, 1, ss->org_id);
	sqlite3_bind_int64(st, 2, ss->day_new);
	sqlite3_bind_int64(st, 3, ss->day_next ? ss->day_next : OPEN_END_DAY);
	sqlite3_bind_int64(st, 4, hash);
	sqlite3_bind_int64(st, 5, ss->delivery_id);
	if (commune)
		sqlite3_bind_text(st, 6, commune, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (bind_row(ss, st, row) != 0)
		return dh_error_set(err, DH_INVAL, "ligne %llu : date mal formée", (unsigned long long)row->line);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step == SQLITE_CONSTRAINT)
		return dh_error_set(err, DH_CONFLICT, "ligne %llu : IDENT_INT « %.*s » en double dans la livraison",
				    (unsigned long long)row->line, (int)row->text[DH_RPLS_IDENT_INT].len,
				    row->text[DH_RPLS_IDENT_INT].ptr);
	if (step != SQLITE_DONE)
		return fail(ss->store->db, err, "écriture d'un logement");
	return DH_OK;
}

/* Find the version of ident selected by st (bound to date); 1 if found with *id, *hash. */
static int find_version(sq_session *ss, sqlite3_stmt *st, dh_str ident, int64_t day, int64_t *id,
			int64_t *hash, dh_error *err)
{
	sqlite3_bind_int64(st, 1, ss->org_id);
	sqlite3_bind_text(st, 2, ident.ptr, (int)ident.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, day);
	int step = sqlite3_step(st);
	int found = 0;
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*hash = sqlite3_column_int64(st, 1);
		found = 1;
	} else if (step != SQLITE_DONE) {
		found = fail(ss->store->db, err, "lecture de l'historique") == DH_OK ? 0 : -1;
	}
	sqlite3_reset(st);
	return found;
}

static int sq_import_row(void *session, const dh_rpls_row *row, const char *commune, dh_error *err)
{
	sq_session *ss = session;
	int64_t hash = content_hash(ss, row, commune);
	if (ss->fast)
		return insert_version(ss, row, commune, hash, err);

	sqlite3 *db = ss->store->db;
	dh_str ident = row->text[DH_RPLS_IDENT_INT];
	sqlite3_bind_text(ss->delivered, 1, ident.ptr, (int)ident.len, SQLITE_STATIC);
	int step = sqlite3_step(ss->delivered);
	sqlite3_reset(ss->delivered);
	if (step == SQLITE_CONSTRAINT)
		return dh_error_set(err, DH_CONFLICT, "ligne %llu : IDENT_INT « %.*s » en double dans la livraison",
				    (unsigned long long)row->line, (int)ident.len, ident.ptr);
	if (step != SQLITE_DONE)
		return fail(db, err, "écriture d'un logement");

	int64_t id, old_hash;
	if (ss->ref_prev[0]) {
		int found = find_version(ss, ss->find_prev, ident, ss->day_prev, &id, &old_hash, err);
		if (found < 0)
			return err ? err->code : DH_STORE;
		if (found && old_hash == hash) {
			/* Unchanged since the previous delivery: that version stays valid through this one. */
			sqlite3_bind_int64(ss->keep, 1, id);
			return run(db, ss->keep, err, "écriture d'un logement");
		}
	}
	if (ss->ref_next[0]) {
		int found = find_version(ss, ss->find_next, ident, ss->day_next, &id, &old_hash, err);
		if (found < 0)
			return err ? err->code : DH_STORE;
		if (found && old_hash == hash) {
			/* Same as in the next delivery: that version now starts here. */
			sqlite3_bind_int64(ss->extend_next, 1, id);
			sqlite3_bind_int64(ss->extend_next, 2, ss->day_new);
			return run(db, ss->extend_next, err, "écriture d'un logement");
		}
	}
	return insert_version(ss, row, commune, hash, err);
}

static int finish_history(sq_session *ss, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	sqlite3_stmt *st;
	int rc = DH_OK;
	if (ss->ref_prev[0] && ss->ref_next[0]) {
		rc = prepare(db, SQL_COPY_TO_NEXT, &st, err);
		if (rc != DH_OK)
			return rc;
		sqlite3_bind_int64(st, 1, ss->org_id);
		sqlite3_bind_int64(st, 3, ss->day_prev);
		sqlite3_bind_int64(st, 4, ss->day_next);
		rc = run(db, st, err, "insertion dans l'historique");
		sqlite3_finalize(st);
		if (rc != DH_OK)
			return rc;
	}
	if (ss->ref_prev[0]) {
		rc = prepare(db, SQL_CLOSE_PREVIOUS, &st, err);
		if (rc != DH_OK)
			return rc;
		sqlite3_bind_int64(st, 1, ss->org_id);
		sqlite3_bind_int64(st, 2, ss->day_new);
		sqlite3_bind_int64(st, 3, ss->day_prev);
		rc = run(db, st, err, "clôture des versions précédentes");
		sqlite3_finalize(st);
	}
	return rc;
}

/* The version index, dropped for a bulk load into an empty table, built in one sorted pass
 * (faster than maintaining it row by row, and packed); a duplicate IDENT_INT makes the
 * unique index fail, and is then named. */
static int build_index(sq_session *ss, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	if (sqlite3_exec(db, SQL_CREATE_VERSION_INDEX, NULL, NULL, NULL) == SQLITE_OK)
		return DH_OK;
	if (sqlite3_errcode(db) != SQLITE_CONSTRAINT)
		return fail(db, err, "construction de l'index des versions");
	sqlite3_stmt *st;
	int rc = prepare(db, "SELECT IDENT_INT FROM dwelling WHERE organisation_id = ?1"
			     " GROUP BY IDENT_INT HAVING count(*) > 1 LIMIT 1", &st, err);
	if (rc != DH_OK)
		return rc;
	sqlite3_bind_int64(st, 1, ss->org_id);
	char ident[64] = "?";
	if (sqlite3_step(st) == SQLITE_ROW)
		copy_col(ident, sizeof(ident), st, 0);
	sqlite3_finalize(st);
	return dh_error_set(err, DH_CONFLICT, "IDENT_INT « %s » en double dans la livraison", ident);
}

static int record_delivery(sq_session *ss, int64_t id, const dh_delivery *final, const char *report, dh_error *err)
{
	sqlite3 *db = ss->store->db;
	sqlite3_stmt *st;
	const char *sql = id ? "UPDATE delivery SET received_at = ?2, sha256 = ?3, rows_read = ?4, rows_accepted = ?5,"
			       " rows_rejected = ?6, status = ?7, report = ?8, layout = ?9 WHERE id = ?1"
			     : "INSERT INTO delivery(organisation_id, received_at, sha256, rows_read, rows_accepted,"
			       " rows_rejected, status, report, layout, reference_date, file_name, file_size)"
			       " VALUES (?10, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?13)";
	int rc = prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	if (id)
		sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, final->received_at);
	bind_text(st, 3, final->sha256);
	sqlite3_bind_int64(st, 4, (int64_t)final->rows_read);
	sqlite3_bind_int64(st, 5, (int64_t)final->rows_accepted);
	sqlite3_bind_int64(st, 6, (int64_t)final->rows_rejected);
	bind_text(st, 7, dh_delivery_status_name(final->status));
	sqlite3_bind_text(st, 8, report, -1, SQLITE_STATIC);
	bind_text(st, 9, final->layout[0] ? final->layout : "rpls");
	if (!id) {
		sqlite3_bind_int64(st, 10, ss->org_id);
		bind_text(st, 11, ss->ref_new);
		bind_text(st, 12, final->file_name);
		sqlite3_bind_int64(st, 13, (int64_t)final->file_size);
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_CONSTRAINT)
		rc = dh_error_set(err, DH_EXISTS, "ce fichier a déjà été livré pour cet organisme");
	else if (step != SQLITE_DONE)
		rc = fail(db, err, "enregistrement de la livraison");
	sqlite3_finalize(st);
	return rc;
}

static int sq_import_end(void *session, dh_delivery *final, const char *report, dh_error *err)
{
	sq_session *ss = session;
	sqlite3 *db = ss->store->db;
	dh_store_now_utc(final->received_at, sizeof(final->received_at));
	int rc;
	if (final->status == DH_DELIVERY_ACCEPTED) {
		rc = ss->rebuild_index ? build_index(ss, err) : finish_history(ss, err);
		if (rc == DH_OK)
			rc = record_delivery(ss, ss->delivery_id, final, report, err);
		if (rc == DH_OK)
			rc = exec(db, "COMMIT", err);
		if (rc == DH_OK)
			final->id = ss->delivery_id;
	} else {
		/* Refused: none of the rows written stays; only the delivery and its report. */
		rc = exec(db, "ROLLBACK", err);
		if (rc == DH_OK)
			rc = exec(db, "BEGIN IMMEDIATE", err);
		if (rc == DH_OK)
			rc = record_delivery(ss, 0, final, report, err);
		if (rc == DH_OK)
			rc = exec(db, "COMMIT", err);
		if (rc == DH_OK)
			final->id = sqlite3_last_insert_rowid(db);
	}
	sq_import_abort(ss); /* rolls back what is left open after a failure, frees */
	return rc;
}

/* ---- Reading the stock ------------------------------------------------------------------------------- */

/* Decode column `col` of st into field f of row; nums[f] holds the text of numbers and dates. */
static int decode_field(sqlite3_stmt *st, int col, int f, dh_rpls_row *row, char nums[][40], dh_error *err)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return DH_OK;
	row->present |= (uint64_t)1 << f;
	switch (dh_rpls_field(f)->kind) {
	case DH_KIND_TEXT:
	case DH_KIND_CODE:
		row->text[f].ptr = (const char *)sqlite3_column_text(st, col);
		row->text[f].len = (size_t)sqlite3_column_bytes(st, col);
		break;
	case DH_KIND_INT:
	case DH_KIND_YEAR:
		row->value[f].i = sqlite3_column_int64(st, col);
		snprintf(nums[f], 40, "%lld", (long long)row->value[f].i);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	case DH_KIND_NUMBER:
		row->value[f].d = sqlite3_column_double(st, col);
		snprintf(nums[f], 40, "%.15g", row->value[f].d);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	case DH_KIND_DATE: {
		const char *iso = (const char *)sqlite3_column_text(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);
		if (!iso || dh__store_date_from_iso(iso, n, nums[f], 40, &row->value[f].i) != 0)
			return dh_error_set(err, DH_CORRUPT, "date stockée mal formée (champ %s)", dh_rpls_field(f)->name);
		row->text[f] = (dh_str){ nums[f], strlen(nums[f]) };
		break;
	}
	}
	return DH_OK;
}

static int sq_stock_read(void *state, const char *siren, const char *date, dh_delivery *delivery_out,
			 dh_stock_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	dh_org org;
	/* One read transaction: the delivery chosen and its rows come from the same snapshot. */
	int rc = exec(db, "BEGIN", err);
	if (rc != DH_OK)
		return rc;
	rc = sq_org_get(s, siren, &org, err);
	sqlite3_stmt *st = NULL;
	char sql[768];
	snprintf(sql, sizeof(sql), "%s WHERE d.organisation_id = ?1 AND d.status = 'accepted' AND d.reference_date <= ?2"
				   " ORDER BY d.reference_date DESC LIMIT 1", SQL_DELIVERY_COLS);
	if (rc == DH_OK)
		rc = prepare(db, sql, &st, err);
	dh_delivery d;
	if (rc == DH_OK) {
		sqlite3_bind_int64(st, 1, org.id);
		bind_text(st, 2, date ? date : OPEN_END);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			read_delivery(st, &d);
		else if (step == SQLITE_DONE)
			rc = date ? dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée au %s", siren, date)
				  : dh_error_set(err, DH_NOTFOUND, "l'organisme %s n'a aucune livraison acceptée", siren);
		else
			rc = fail(db, err, "lecture des livraisons");
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == DH_OK && delivery_out)
		*delivery_out = d;
	if (rc == DH_OK)
		rc = prepare(db, SQL_STOCK, &st, err);
	if (rc == DH_OK) {
		sqlite3_bind_int64(st, 1, org.id);
		sqlite3_bind_int64(st, 2, day_number(d.reference_date));
		char nums[DH_RPLS_NFIELDS][40];
		dh_rpls_row row;
		uint64_t rank = 0;
		int step = SQLITE_DONE;
		while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&row, 0, sizeof(row));
			row.commune = -1;
			row.line = ++rank;
			/* Every field is decoded even after a bad one: the last error is the one kept. */
			for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
				int field_rc = decode_field(st, 1 + f, f, &row, nums, err);
				if (field_rc != DH_OK)
					rc = field_rc;
			}
			if (rc != DH_OK)
				break;
			const unsigned char *commune = sqlite3_column_text(st, 0);
			rc = cb(ctx, &row, commune ? (const char *)commune : NULL);
		}
		if (rc == DH_OK && step != SQLITE_DONE)
			rc = fail(db, err, "lecture du patrimoine");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

/* ---- Scanning every version (the cube) ------------------------------------------------------ */

static int sq_versions_scan(void *state, uint64_t fields, dh_version_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3 *db = s->db;
	if (fields == 0)
		fields = ~(uint64_t)0;
	/* Only the columns asked for: column names come from the static field table. */
	char sql[2048];
	int f_of_col[DH_RPLS_NFIELDS];
	int ncols = 0;
	size_t len = (size_t)snprintf(sql, sizeof(sql), "SELECT o.siren, d.valid_from, d.valid_to, d.commune_code");
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (!((fields >> f) & 1u))
			continue;
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", d.%s", dh_rpls_field(f)->name);
		f_of_col[ncols++] = f;
	}
	len += (size_t)snprintf(sql + len, sizeof(sql) - len,
				" FROM dwelling d JOIN organisation o ON o.id = d.organisation_id");
	if (len >= sizeof(sql))
		return dh_error_set(err, DH_STORE, "requête de parcours trop longue");
	int rc = exec(db, "BEGIN", err);
	if (rc != DH_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = prepare(db, sql, &st, err);
	if (rc == DH_OK) {
		char nums[DH_RPLS_NFIELDS][40];
		char siren[DH_SIREN_SIZE];
		dh_rpls_row row;
		dh_stock_version v;
		uint64_t rank = 0;
		int step = SQLITE_DONE;
		while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&row, 0, sizeof(row));
			row.commune = -1;
			row.line = ++rank;
			for (int c = 0; c < ncols && rc == DH_OK; c++)
				rc = decode_field(st, 4 + c, f_of_col[c], &row, nums, err);
			if (rc != DH_OK)
				break;
			copy_col(siren, sizeof(siren), st, 0);
			int64_t to = sqlite3_column_int64(st, 2);
			const unsigned char *commune = sqlite3_column_text(st, 3);
			v.siren = siren;
			v.valid_from = (int32_t)sqlite3_column_int64(st, 1);
			v.valid_to = to >= OPEN_END_DAY ? 0 : (int32_t)to;
			v.commune_code = commune ? (const char *)commune : NULL;
			v.row = &row;
			rc = cb(ctx, &v);
		}
		if (rc == DH_OK && step != SQLITE_DONE)
			rc = fail(db, err, "parcours des versions");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

const dh_store_ops dh__store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.info = sq_info,
	.caller_owns = sq_caller_owns,
	.load_geo = sq_load_geo,
	.org_add = sq_org_add,
	.org_get = sq_org_get,
	.org_list = sq_org_list,
	.delivery_find = sq_delivery_find,
	.delivery_list = sq_delivery_list,
	.delivery_report = sq_delivery_report,
	.import_begin = sq_import_begin,
	.import_row = sq_import_row,
	.import_end = sq_import_end,
	.import_abort = sq_import_abort,
	.stock_read = sq_stock_read,
	.versions_scan = sq_versions_scan,
	.audit_append = dh__sq_audit_append,
	.audit_scan = dh__sq_audit_scan,
	.audit_last = dh__sq_audit_last,
	.pseudo_rehash = dh__sq_pseudo_rehash,
	.pseudo_version = dh__sq_pseudo_version,
	.pseudo_register = dh__sq_pseudo_register,
	.identity = &dh__sqlite_identity_ops,
};
