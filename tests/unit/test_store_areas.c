/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_store_areas.c - the store's row-level interface for the reference geography and the
 * QPV list (store.h: dh_store_areas_replace, dh_store_area_put), and geo's use of it
 * (geo.h: dh_geo_save, dh_geo_qpv_save, dh_geo_load_qpv_stored): rows stored as given,
 * a refused row or a failing fill leaves the previous tables whole, a QPV list survives the
 * round trip through the database.
 */
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

#include "testutil.h"

#include <sqlite3.h>

typedef struct fixture {
	char *dir;
	char path[4200];
	dh_store *store;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = dh_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/areas.db", f->dir);
	dh_error err;
	assert_int_equal(dh_store_open(&f->store, f->path, DH_STORE_CREATE, &err), DH_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dh_store_close(f->store);
	dh_rmtree(f->dir);
	free(f);
	return 0;
}

/* A fill that puts `n` rows and returns `ret` (DH_OK: what the puts returned). */
typedef struct rows {
	const dh_store_area *row;
	size_t n;
	int ignore_errors; /* go on and return DH_OK whatever the puts return */
	int put_rc;        /* first non-DH_OK put code */
} rows;

static int fill_rows(void *ctx, dh_store_area_sink *sink, dh_error *err)
{
	rows *r = ctx;
	for (size_t i = 0; i < r->n; i++) {
		int rc = dh_store_area_put(sink, &r->row[i], err);
		if (rc != DH_OK && r->put_rc == DH_OK)
			r->put_rc = rc;
		if (rc != DH_OK && !r->ignore_errors)
			return rc;
	}
	return DH_OK;
}

static const dh_store_area small_geography[] = {
	{ .kind = DH_STORE_AREA_REGION, .code = "53", .name = "Bretagne" },
	{ .kind = DH_STORE_AREA_DEPARTEMENT, .code = "35", .name = "Ille-et-Vilaine", .parent = "53" },
	{ .kind = DH_STORE_AREA_EPCI, .code = "243500139", .name = "Rennes Métropole", .category = "METRO" },
	{ .kind = DH_STORE_AREA_COMMUNE, .code = "35238", .name = "Rennes", .departement = "35",
	  .region = "53", .epci = "243500139", .population = 225081 },
	{ .kind = DH_STORE_AREA_COMMUNE, .code = "35999", .name = "Île sans EPCI", .departement = "35",
	  .region = "53", .epci = "" },
	{ .kind = DH_STORE_AREA_FORMER, .code = "35998", .name = "Ancienne", .parent = "35238",
	  .category = "D" },
};

static void counts(dh_store *st, uint64_t regions, uint64_t communes, uint64_t former)
{
	dh_store_info info;
	dh_error err;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.regions, regions);
	assert_int_equal(info.communes, communes);
	assert_int_equal(info.former_communes, former);
}

/* One column of one row read straight from the database ("(null)" for NULL). */
static void column(const char *path, const char *sql, char *out, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(out, size, "%s", t ? (const char *)t : "(null)");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void rows_stored_as_given(void **state)
{
	fixture *f = *state;
	dh_error err;
	rows r = { small_geography, 6, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &r, &err), DH_OK);
	counts(f->store, 1, 2, 1);
	char v[256];
	column(f->path, "SELECT epci_code || '/' || population FROM commune WHERE code = '35238'", v, sizeof(v));
	assert_string_equal(v, "243500139/225081");
	column(f->path, "SELECT epci_code FROM commune WHERE code = '35999'", v, sizeof(v));
	assert_string_equal(v, "(null)");
	column(f->path, "SELECT region_code FROM departement WHERE code = '35'", v, sizeof(v));
	assert_string_equal(v, "53");
	column(f->path, "SELECT kind FROM epci", v, sizeof(v));
	assert_string_equal(v, "METRO");
	column(f->path, "SELECT current_code || kind FROM former_commune", v, sizeof(v));
	assert_string_equal(v, "35238D");
	/* Replaced, not added: one region only. */
	rows one = { small_geography, 1, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &one, &err), DH_OK);
	counts(f->store, 1, 0, 0);
}

static void refused_rows_change_nothing(void **state)
{
	fixture *f = *state;
	dh_error err;
	rows r = { small_geography, 6, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &r, &err), DH_OK);
	/* A commune without its département: refused, named, the previous tables kept. */
	dh_store_area bad[2] = { small_geography[0], small_geography[3] };
	bad[1].departement = NULL;
	rows b = { bad, 2, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &b, &err), DH_INVAL);
	assert_string_equal(err.field, "departement");
	counts(f->store, 1, 2, 1);
	/* A fill that ignores the refusal and says DH_OK: still rolled back. */
	b.ignore_errors = 1;
	b.put_rc = DH_OK;
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &b, &err), DH_INVAL);
	assert_int_equal(b.put_rc, DH_INVAL);
	counts(f->store, 1, 2, 1);
	/* A QPV row while the geography is replaced, an oversized name, a negative population. */
	dh_store_area q = { .kind = DH_STORE_AREA_QPV, .code = "QN03591Z", .communes = "35238" };
	rows rq = { &q, 1, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &rq, &err), DH_INVAL);
	char longname[DH_STORE_AREA_FIELD_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	dh_store_area big = small_geography[0];
	big.name = longname;
	rows rb = { &big, 1, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &rb, &err), DH_INVAL);
	assert_string_equal(err.field, "name");
	dh_store_area neg = small_geography[3];
	neg.population = -1;
	rows rn = { &neg, 1, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &rn, &err), DH_INVAL);
	counts(f->store, 1, 2, 1);
	/* The QPV scope takes QPV rows only. */
	rows rg = { small_geography, 1, 0, DH_OK };
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_QPV, fill_rows, &rg, &err), DH_INVAL);
	/* Not while an import is open on the handle. */
	dh_reference_source meta = { .name = "src", .reference_date = "2024-01-01", .layout = "rpls-opendata" };
	dh_store_ref_import *imp = NULL;
	assert_int_equal(dh_store_ref_import_begin(f->store, &meta, &imp, &err), DH_OK);
	assert_int_equal(dh_store_areas_replace(f->store, DH_STORE_SCOPE_GEOGRAPHY, fill_rows, &r, &err), DH_CONFLICT);
	dh_store_ref_import_abort(imp);
	counts(f->store, 1, 2, 1);
}

static int collect_qpv(void *ctx, const char *code, const char *name, const char *communes)
{
	dh_textbuf_str(ctx, code);
	dh_textbuf_str(ctx, "|");
	dh_textbuf_str(ctx, name);
	dh_textbuf_str(ctx, "|");
	dh_textbuf_str(ctx, communes);
	dh_textbuf_str(ctx, "\n");
	return DH_OK;
}

static void geo_through_the_store(void **state)
{
	fixture *f = *state;
	dh_error err;
	dh_geo *geo = dh_test_geo();
	assert_non_null(geo);
	assert_int_equal(dh_geo_save(geo, f->store, &err), DH_OK);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(f->store, &info, &err), DH_OK);
	assert_int_equal(info.communes, dh_geo_commune_count(geo));
	assert_int_equal(info.former_communes, dh_geo_former_count(geo));
	assert_int_equal(info.epci, dh_geo_epci_count(geo));
	assert_true(info.communes > 30000);

	static const char list[] = "Code quartier;Quartier prioritaire;codes communes\n"
				   "QP035001;\"Ancien \"\"quartier\"\"\";75101 / 22007\n"
				   "QN02A01X;Corse;2A004\n";
	assert_int_equal(dh_geo_load_qpv_mem(geo, list, sizeof(list) - 1, "l.csv", &err), DH_OK);
	assert_int_equal(dh_geo_qpv_save(geo, f->store, &err), DH_OK);
	dh_textbuf got = { 0 };
	assert_int_equal(dh_store_qpv_list(f->store, collect_qpv, &got, &err), DH_OK);
	assert_string_equal(got.p, "QN02A01X|Corse|2A004\nQP035001|Ancien \"quartier\"|75056 22055\n");
	free(got.p);

	/* Read back into a fresh geography: the stored list replaces the one of data/ref. */
	dh_geo *fresh = dh_test_geo();
	assert_non_null(fresh);
	assert_int_not_equal(dh_geo_qpv_count(fresh), 2);
	assert_int_equal(dh_geo_load_qpv_stored(fresh, f->store, &err), DH_OK);
	assert_int_equal(dh_geo_qpv_count(fresh), 2);
	int32_t i = dh_geo_qpv_find(fresh, DH_STR_LIT("QP035001"));
	assert_true(i >= 0);
	const dh_qpv *q = dh_geo_qpv(fresh, i);
	assert_string_equal(q->name, "Ancien \"quartier\"");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(dh_geo_commune(fresh, q->communes[0])->code, "75056");
	dh_geo_free(fresh);
	dh_geo_free(geo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rows_stored_as_given, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_rows_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(geo_through_the_store, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_areas", tests, NULL, NULL);
}
