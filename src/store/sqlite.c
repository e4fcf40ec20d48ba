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
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define APPLICATION_ID 0x44486162 /* "DHab" */
#define BUSY_TIMEOUT_MS 600000 /* an import can hold the write lock for minutes */

/* ---- Schema ------------------------------------------------------------------------- */

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
	/* 4: the QPV list (codes, names, current communes separated by spaces). */
	"CREATE TABLE qpv(code TEXT PRIMARY KEY, name TEXT NOT NULL, communes TEXT NOT NULL);",
	/* 5: reference sources (open data without landlord identity) and their rows. */
	"CREATE TABLE reference_source(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" reference_date TEXT NOT NULL, layout TEXT NOT NULL, file_name TEXT NOT NULL,"
	" sha256 TEXT NOT NULL, rows INTEGER NOT NULL, imported_at TEXT NOT NULL,"
	" UNIQUE (name, reference_date));"
	"CREATE TABLE reference_dwelling(source_id INTEGER NOT NULL REFERENCES reference_source(id),"
	" commune_code TEXT" DH_RPLS_FIELDS(COL_DECL) ");"
	"CREATE INDEX reference_dwelling_source ON reference_dwelling(source_id);",
	/* 6: OLDLOGT kept with the dwelling (exits by change of use or fusion/scission, an
	 * indicator of SDES's): the one field beyond DH_RPLS_FIELDS that the store keeps. */
	"ALTER TABLE dwelling ADD COLUMN OLDLOGT TEXT;",
	/* 7: partner audiences bound to a level (store/internal.h). */
	DH_SQLITE_PARTNER_LEVEL_MIGRATION,
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))


/* ---- Helpers shared by the SQLite backend's files (declared in store/internal.h) ---- */


int dh__sq_fail(sqlite3 *db, dh_error *err, const char *what)
{
	int code = sqlite3_errcode(db);
	int rc = DH_STORE;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		rc = DH_CORRUPT;
	else if (code == SQLITE_NOMEM)
		rc = DH_NOMEM;
	return dh_error_set(err, rc, "base de données : %s : %s", what, sqlite3_errmsg(db));
}

int dh__sq_exec(sqlite3 *db, const char *sql, dh_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dh__sq_fail(db, err, "exécution");
	return DH_OK;
}

int dh__sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, dh_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return dh__sq_fail(db, err, "préparation d'une requête");
	}
	return DH_OK;
}

/* Step a statement that returns no row (or whose rows are ignored) and reset it. */
int dh__sq_run(sqlite3 *db, sqlite3_stmt *st, dh_error *err, const char *what)
{
	int rc = sqlite3_step(st);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		int r = dh__sq_fail(db, err, what);
		sqlite3_reset(st);
		return r;
	}
	sqlite3_reset(st);
	return DH_OK;
}

int dh__sq_pragma_int(sqlite3 *db, const char *sql, int64_t *out, dh_error *err)
{
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		*out = 0;
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = dh__sq_fail(db, err, "lecture");
	sqlite3_finalize(st);
	return rc;
}

void dh__sq_copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	dh_strlcpy(dst, size, t ? (const char *)t : "");
}

/* ---- Open, migrate, close ------------------------------------------------------------------- */

static int migrate(sqlite3 *db, int from, dh_error *err)
{
	int rc = dh__sq_exec(db, "BEGIN IMMEDIATE", err);
	if (rc != DH_OK)
		return rc;
	for (int v = from; v < SCHEMA_VERSION; v++) {
		rc = dh__sq_exec(db, migrations[v], err);
		if (rc != DH_OK)
			goto rollback;
	}
	char sql[96];
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d", APPLICATION_ID,
		 SCHEMA_VERSION);
	rc = dh__sq_exec(db, sql, err);
	if (rc != DH_OK)
		goto rollback;
	return dh__sq_exec(db, "COMMIT", err);
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

/*
 * A database created before databases were made 0600 kept its mode, often 0644: when its
 * owner opens it, group and other rights are taken away from it and from its -wal, -shm and
 * -journal, silently (the library prints nothing; docs/governance.md). Files of another
 * user, symbolic links and special files are left alone; a failed chmod is ignored (the
 * database stays usable as before). chmod by path, never open()/close(): closing a
 * descriptor of the database would drop SQLite's POSIX locks held by other handles.
 */
static void tighten_private(sqlite3 *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	const char *path = sqlite3_db_filename(db, "main");
	if (!path || !path[0])
		return;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char p[PATH_MAX];
		struct stat sb;
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffix[i]) < sizeof(p) && lstat(p, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077))
			(void)chmod(p, sb.st_mode & 0700); /* on failure the mode stays as it was */
	}
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
	int rc = dh__sq_pragma_int(db, "PRAGMA user_version", &version, err);
	if (rc == DH_OK)
		rc = dh__sq_pragma_int(db, "PRAGMA application_id", &app, err);
	if (rc == DH_OK)
		rc = dh__sq_pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables, err);
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
	rc = version == 0 && tables == 0 && !(flags & DH_STORE_READONLY) ? dh__sq_exec(db, "PRAGMA page_size = 16384", err) : DH_OK;
	if (rc == DH_OK)
		rc = dh__sq_exec(db, setup, err);
	if (rc == DH_OK)
		tighten_private(db); /* a datahabitat database, its WAL and SHM there by now */
	if (rc == DH_OK && version < SCHEMA_VERSION && !(flags & DH_STORE_READONLY)) {
		rc = migrate(db, (int)version, err);
		*created = version == 0;
	}
	if (rc == DH_OK)
		rc = dh__sq_exec(db, "CREATE TEMP TABLE kept(id INTEGER PRIMARY KEY);"
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
	int rc = dh__sq_pragma_int(db, sql, &n, err);
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
	int rc = dh__sq_pragma_int(st->db, "PRAGMA user_version", &v, err);
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

/* ---- Reference geography and QPV list ------------------------------------------------------------ */

/* One replacement of dh_store_areas_replace(): a statement per kind of row (NULL outside
 * the scope), the write transaction open. */
typedef struct sq_areas {
	sqlite3 *db;
	sqlite3_stmt *ins[DH_STORE_AREA_QPV + 1];
} sq_areas;

static const char *const area_insert_sql[DH_STORE_AREA_QPV + 1] = {
	[DH_STORE_AREA_REGION] = "INSERT OR REPLACE INTO region(code, name) VALUES (?, ?)",
	[DH_STORE_AREA_DEPARTEMENT] = "INSERT OR REPLACE INTO departement(code, name, region_code) VALUES (?, ?, ?)",
	[DH_STORE_AREA_EPCI] = "INSERT OR REPLACE INTO epci(code, name, kind) VALUES (?, ?, ?)",
	[DH_STORE_AREA_COMMUNE] = "INSERT OR REPLACE INTO commune(code, name, departement_code, region_code,"
				  " epci_code, population) VALUES (?, ?, ?, ?, ?, ?)",
	[DH_STORE_AREA_FORMER] = "INSERT OR REPLACE INTO former_commune(code, name, current_code, kind)"
				 " VALUES (?, ?, ?, ?)",
	[DH_STORE_AREA_QPV] = "INSERT OR REPLACE INTO qpv(code, name, communes) VALUES (?, ?, ?)",
};

static int sq_areas_end(void *session, int commit, dh_error *err)
{
	sq_areas *a = session;
	for (size_t k = 0; k < sizeof(a->ins) / sizeof(a->ins[0]); k++)
		sqlite3_finalize(a->ins[k]);
	int rc = commit ? dh__sq_exec(a->db, "COMMIT", err) : DH_OK;
	if (!commit || rc != DH_OK)
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	free(a);
	return rc;
}

static int sq_areas_begin(void *state, dh_store_area_scope scope, void **session, dh_error *err)
{
	sq_store *s = state;
	sq_areas *a = calloc(1, sizeof(*a));
	if (!a)
		return dh_error_nomem(err);
	a->db = s->db;
	int geo = scope == DH_STORE_SCOPE_GEOGRAPHY;
	int rc = dh__sq_exec(a->db, "BEGIN IMMEDIATE", err);
	if (rc != DH_OK) {
		free(a);
		return rc;
	}
	rc = dh__sq_exec(a->db, geo ? "DELETE FROM commune; DELETE FROM former_commune; DELETE FROM epci;"
				      " DELETE FROM departement; DELETE FROM region"
				    : "DELETE FROM qpv", err);
	for (int k = geo ? DH_STORE_AREA_REGION : DH_STORE_AREA_QPV;
	     rc == DH_OK && k <= (geo ? DH_STORE_AREA_FORMER : DH_STORE_AREA_QPV); k++)
		rc = dh__sq_prepare(a->db, area_insert_sql[k], &a->ins[k], err);
	if (rc != DH_OK) {
		sq_areas_end(a, 0, NULL);
		return rc;
	}
	*session = a;
	return DH_OK;
}

static void bind_opt(sqlite3_stmt *st, int col, const char *text)
{
	dh__sq_bind_text(st, col, text ? text : "");
}

static int sq_areas_put(void *session, const dh_store_area *area, dh_error *err)
{
	sq_areas *a = session;
	sqlite3_stmt *st = a->ins[area->kind];
	dh__sq_bind_text(st, 1, area->code);
	bind_opt(st, 2, area->name);
	switch (area->kind) {
	case DH_STORE_AREA_DEPARTEMENT:
		bind_opt(st, 3, area->parent);
		break;
	case DH_STORE_AREA_EPCI:
		bind_opt(st, 3, area->category);
		break;
	case DH_STORE_AREA_COMMUNE:
		bind_opt(st, 3, area->departement);
		bind_opt(st, 4, area->region);
		if (area->epci && area->epci[0])
			dh__sq_bind_text(st, 5, area->epci);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, area->population);
		break;
	case DH_STORE_AREA_FORMER:
		bind_opt(st, 3, area->parent);
		bind_opt(st, 4, area->category);
		break;
	case DH_STORE_AREA_QPV:
		bind_opt(st, 3, area->communes);
		break;
	case DH_STORE_AREA_REGION:
		break;
	}
	return dh__sq_run(a->db, st, err, area->kind == DH_STORE_AREA_QPV ? "enregistrement des QPV"
									   : "chargement de la géographie");
}

/* ---- Organisations ------------------------------------------------------------------------------ */

static void read_org(sqlite3_stmt *st, dh_org *o)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	dh__sq_copy_col(o->siren, sizeof(o->siren), st, 1);
	dh__sq_copy_col(o->name, sizeof(o->name), st, 2);
	const unsigned char *k = sqlite3_column_text(st, 3);
	int kind = dh_org_kind_parse(k ? (const char *)k : "");
	o->kind = kind < 0 ? DH_ORG_OPH : (dh_org_kind)kind;
	dh__sq_copy_col(o->created_at, sizeof(o->created_at), st, 4);
}

static int sq_org_add(void *state, dh_org *org, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(s->db, "INSERT INTO organisation(siren, name, kind, created_at) VALUES (?, ?, ?, ?)", &st, err);
	if (rc != DH_OK)
		return rc;
	dh__sq_bind_text(st, 1, org->siren);
	dh__sq_bind_text(st, 2, org->name);
	dh__sq_bind_text(st, 3, dh_org_kind_name(org->kind));
	dh__sq_bind_text(st, 4, org->created_at);
	int step = sqlite3_step(st);
	if (step == SQLITE_CONSTRAINT)
		rc = dh_error_set(err, DH_EXISTS, "l'organisme de SIREN %s est déjà enregistré", org->siren);
	else if (step != SQLITE_DONE)
		rc = dh__sq_fail(s->db, err, "ajout d'un organisme");
	else
		org->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

int dh__sq_org_get(void *state, const char *siren, dh_org *out, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(s->db, "SELECT id, siren, name, kind, created_at FROM organisation WHERE siren = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	dh__sq_bind_text(st, 1, siren);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_org(st, out);
	else if (step == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "aucun organisme de SIREN %s (ajoutez-le avec « datahabitat org add »)", siren);
	else
		rc = dh__sq_fail(s->db, err, "lecture d'un organisme");
	sqlite3_finalize(st);
	return rc;
}

static int sq_org_list(void *state, dh_org_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(s->db, "SELECT id, siren, name, kind, created_at FROM organisation ORDER BY siren", &st, err);
	if (rc != DH_OK)
		return rc;
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		dh_org o;
		read_org(st, &o);
		rc = cb(ctx, &o);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = dh__sq_fail(s->db, err, "liste des organismes");
	sqlite3_finalize(st);
	return rc;
}

/* ---- QPV list --------------------------------------------------------------------------------------- */

/* *exists = 1 if the database has the table (a read-only open skips migrations). */
int dh__sq_table_exists(sqlite3 *db, const char *name, int *exists, dh_error *err)
{
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", &st, err);
	if (rc != DH_OK)
		return rc;
	dh__sq_bind_text(st, 1, name);
	*exists = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return DH_OK;
}

static int sq_qpv_list(void *state, dh_qpv_row_cb cb, void *ctx, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	/* A database opened read-only may predate the table: no list then. */
	int exists = 0;
	int rc = dh__sq_table_exists(s->db, "qpv", &exists, err);
	if (rc != DH_OK || !exists)
		return rc;
	rc = dh__sq_prepare(s->db, "SELECT code, name, communes FROM qpv ORDER BY code", &st, err);
	if (rc != DH_OK)
		return rc;
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[3];
		for (int k = 0; k < 3; k++) {
			f[k] = (const char *)sqlite3_column_text(st, k);
			if (!f[k])
				f[k] = "";
		}
		rc = cb(ctx, f[0], f[1], f[2]);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = dh__sq_fail(s->db, err, "liste des QPV");
	sqlite3_finalize(st);
	return rc;
}

/* ---- Deliveries ----------------------------------------------------------------------------------- */

void dh__sq_read_delivery(sqlite3_stmt *st, dh_delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	dh__sq_copy_col(d->siren, sizeof(d->siren), st, 1);
	dh__sq_copy_col(d->layout, sizeof(d->layout), st, 2);
	dh__sq_copy_col(d->reference_date, sizeof(d->reference_date), st, 3);
	dh__sq_copy_col(d->received_at, sizeof(d->received_at), st, 4);
	dh__sq_copy_col(d->file_name, sizeof(d->file_name), st, 5);
	d->file_size = (uint64_t)sqlite3_column_int64(st, 6);
	dh__sq_copy_col(d->sha256, sizeof(d->sha256), st, 7);
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
	int rc = dh__sq_prepare(s->db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	dh__sq_bind_text(st, 1, siren);
	dh__sq_bind_text(st, 2, sha256);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		dh__sq_read_delivery(st, out);
	else if (step == SQLITE_DONE)
		rc = dh_error_set(err, DH_NOTFOUND, "aucune livraison de ce fichier");
	else
		rc = dh__sq_fail(s->db, err, "recherche d'une livraison");
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
	int rc = dh__sq_prepare(s->db, sql, &st, err);
	if (rc != DH_OK)
		return rc;
	if (siren)
		dh__sq_bind_text(st, 1, siren);
	int step = SQLITE_DONE;
	while (rc == DH_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		dh_delivery d;
		dh__sq_read_delivery(st, &d);
		rc = cb(ctx, &d);
	}
	if (rc == DH_OK && step != SQLITE_DONE)
		rc = dh__sq_fail(s->db, err, "liste des livraisons");
	sqlite3_finalize(st);
	return rc;
}

static int sq_delivery_report(void *state, int64_t id, char **json_out, dh_error *err)
{
	sq_store *s = state;
	sqlite3_stmt *st;
	int rc = dh__sq_prepare(s->db, "SELECT report FROM delivery WHERE id = ?", &st, err);
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
		rc = dh__sq_fail(s->db, err, "lecture d'un rapport");
	}
	sqlite3_finalize(st);
	return rc;
}


const dh_store_ops dh__store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.info = sq_info,
	.caller_owns = sq_caller_owns,
	.areas_begin = sq_areas_begin,
	.areas_put = sq_areas_put,
	.areas_end = sq_areas_end,
	.org_add = sq_org_add,
	.org_get = dh__sq_org_get,
	.org_list = sq_org_list,
	.qpv_list = sq_qpv_list,
	.ref_begin = dh__sq_ref_begin,
	.ref_row = dh__sq_ref_row,
	.ref_end = dh__sq_ref_end,
	.ref_abort = dh__sq_ref_abort,
	.ref_list = dh__sq_ref_list,
	.ref_scan = dh__sq_ref_scan,
	.delivery_find = sq_delivery_find,
	.delivery_list = sq_delivery_list,
	.delivery_report = sq_delivery_report,
	.import_begin = dh__sq_import_begin,
	.import_row = dh__sq_import_row,
	.import_end = dh__sq_import_end,
	.import_abort = dh__sq_import_abort,
	.stock_read = dh__sq_stock_read,
	.versions_scan = dh__sq_versions_scan,
	.audit_append = dh__sq_audit_append,
	.audit_scan = dh__sq_audit_scan,
	.audit_last = dh__sq_audit_last,
	.pseudo_rehash = dh__sq_pseudo_rehash,
	.pseudo_version = dh__sq_pseudo_version,
	.pseudo_register = dh__sq_pseudo_register,
	.identity = &dh__sqlite_identity_ops,
};
