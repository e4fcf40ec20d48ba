/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_import.c - the import pipeline (import.h) on real files: acceptance with rejected
 * rows listed, refusal above the limit, duplicate files, unknown organisation, and the
 * round trip: what the validator read from a file is exactly, field by field, what the
 * store gives back for that date.
 */
#include "testutil.h"

#include "datahabitat/gen.h"
#include "datahabitat/geo.h"
#include "datahabitat/import.h"
#include "datahabitat/store.h"
#include "datahabitat/validate.h"

#include <jansson.h>

#define ORG "443061841"

static dh_geo *geo;

static int setup(void **state)
{
	(void)state;
	dh_error err;
	if (dh_geo_load(&geo, dh_src_path("data/ref"), &err) != DH_OK) {
		fprintf(stderr, "geo: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dh_geo_free(geo);
	return 0;
}

static const char *fixture(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/tests/data/store/%s", DH_SOURCE_DIR, name);
	return buf;
}

typedef struct fixture_db {
	char *dir;
	dh_store *store;
} fixture_db;

static void db_open(fixture_db *f)
{
	f->dir = dh_tmpdir();
	char loc[4200];
	snprintf(loc, sizeof(loc), "%s/t.db", f->dir);
	dh_error err;
	assert_int_equal(dh_store_open(&f->store, loc, DH_STORE_CREATE, &err), DH_OK);
	dh_org org = { .kind = DH_ORG_OPH };
	snprintf(org.siren, sizeof(org.siren), ORG);
	snprintf(org.name, sizeof(org.name), "Office test");
	assert_int_equal(dh_store_org_add(f->store, &org, &err), DH_OK);
}

static void db_close(fixture_db *f)
{
	dh_store_close(f->store);
	dh_rmtree(f->dir);
}

static int import(fixture_db *f, const char *file, const char *date, double share, dh_import_result *res)
{
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = ORG;
	opt.reference_date = date;
	opt.max_reject_share = share;
	dh_error err;
	return dh_import_file(f->store, geo, fixture(file), &opt, res, &err);
}

/* Canonical text of a row: each field as the store writes it back, joined by '|'. */
static char *canonical(const dh_rpls_row *row)
{
	char *out = malloc(8192), *p = out;
	assert_non_null(out);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (DH_RPLS_HAS(row, f)) {
			switch (dh_rpls_field(f)->kind) {
			case DH_KIND_INT:
			case DH_KIND_YEAR:
				p += sprintf(p, "%lld", (long long)row->value[f].i);
				break;
			case DH_KIND_NUMBER:
				p += sprintf(p, "%.15g", row->value[f].d);
				break;
			case DH_KIND_DATE: {
				long long v = (long long)row->value[f].i;
				if (v % 100)
					p += sprintf(p, "%02lld/%02lld/%04lld", v % 100, v / 100 % 100, v / 10000);
				else
					p += sprintf(p, "%02lld/%04lld", v / 100 % 100, v / 10000);
				break;
			}
			default:
				memcpy(p, row->text[f].ptr, row->text[f].len);
				p += row->text[f].len;
			}
		}
		*p++ = '|';
	}
	*p = '\0';
	return out;
}

typedef struct rowset {
	char **lines;
	size_t n, cap;
} rowset;

static void rowset_add(rowset *s, char *line)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->lines = realloc(s->lines, s->cap * sizeof(char *));
		assert_non_null(s->lines);
	}
	s->lines[s->n++] = line;
}

static void rowset_free(rowset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i]);
	free(s->lines);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int from_file(void *ctx, const dh_rpls_row *row, int has_errors)
{
	if (!has_errors)
		rowset_add(ctx, canonical(row));
	return DH_OK;
}

static int from_store(void *ctx, const dh_rpls_row *row, const char *commune)
{
	assert_non_null(commune);
	rowset_add(ctx, canonical(row));
	return DH_OK;
}

/* The store's stock at date is exactly the valid rows of file. */
static void expect_round_trip(fixture_db *f, const char *file, const char *date, size_t want_rows)
{
	rowset a = { 0 }, b = { 0 };
	dh_validate_callbacks cb = { .on_row = from_file, .ctx = &a };
	dh_validate_stats stats;
	dh_error err;
	assert_int_equal(dh_validate_file(fixture(file), NULL, geo, &cb, &stats, &err), DH_OK);
	dh_validate_stats_release(&stats);
	assert_int_equal(dh_store_stock_read(f->store, ORG, date, NULL, from_store, &b, &err), DH_OK);
	assert_int_equal(a.n, want_rows);
	assert_int_equal(b.n, a.n);
	qsort(a.lines, a.n, sizeof(char *), cmp);
	qsort(b.lines, b.n, sizeof(char *), cmp);
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(b.lines[i], a.lines[i]);
	rowset_free(&a);
	rowset_free(&b);
}

static void accepted_with_rejected_rows(void **state)
{
	(void)state;
	fixture_db f;
	db_open(&f);
	dh_import_result r;
	assert_int_equal(import(&f, "stock-2023.csv", "2023-01-01", 0.05, &r), DH_OK);
	assert_int_equal(r.delivery.status, DH_DELIVERY_ACCEPTED);
	assert_int_equal(r.delivery.rows_read, 20);
	assert_int_equal(r.delivery.rows_accepted, 20);
	assert_int_equal(strlen(r.delivery.sha256), 64);
	dh_import_result_release(&r);
	assert_int_equal(import(&f, "stock-2024.csv", "2024-01-01", 0.05, &r), DH_OK);
	assert_int_equal(r.duplicate, 0);
	assert_int_equal(r.delivery.rows_read, 22);
	assert_int_equal(r.delivery.rows_accepted, 21);
	assert_int_equal(r.delivery.rows_rejected, 1);
	assert_int_equal(r.errors, 1);
	/* The stored report lists the rejected line and counts the rule. */
	char *stored = NULL;
	dh_error err;
	assert_int_equal(dh_store_delivery_report(f.store, r.delivery.id, &stored, &err), DH_OK);
	json_t *rep = json_loads(stored, 0, NULL);
	assert_non_null(rep);
	json_t *rejected = json_object_get(json_object_get(rep, "delivery"), "rejected_rows");
	assert_int_equal(json_array_size(rejected), 1);
	assert_int_equal(json_integer_value(json_array_get(rejected, 0)), 23);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "counts"), "range")), 1);
	json_decref(rep);
	free(stored);
	dh_import_result_release(&r);
	expect_round_trip(&f, "stock-2023.csv", "2023-12-31", 20);
	expect_round_trip(&f, "stock-2024.csv", "2024-01-01", 21);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(f.store, &info, &err), DH_OK);
	/* 20 versions, 5 new rents, 3 new dwellings: 13 rows shared between the deliveries. */
	assert_int_equal(info.dwelling_versions, 28);
	db_close(&f);
}

static void refused_above_limit(void **state)
{
	(void)state;
	fixture_db f;
	db_open(&f);
	dh_import_result r;
	assert_int_equal(import(&f, "stock-2023.csv", "2023-01-01", 0.05, &r), DH_OK);
	dh_import_result_release(&r);
	assert_int_equal(import(&f, "stock-bad.csv", "2024-01-01", 0.05, &r), DH_REFUSED);
	assert_int_equal(r.delivery.status, DH_DELIVERY_REFUSED);
	assert_int_equal(r.delivery.rows_rejected, 3);
	assert_non_null(strstr(r.report_json, "\"commune-unknown\":1"));
	dh_import_result_release(&r);
	/* Nothing of it is visible: the latest stock is still 2023's. */
	expect_round_trip(&f, "stock-2023.csv", "2030-01-01", 20);
	/* One error in 22 rows is 4.5 %: refused with a limit of 0, accepted with 0.05. */
	assert_int_equal(import(&f, "stock-2024.csv", "2024-01-01", 0.0, &r), DH_REFUSED);
	dh_import_result_release(&r);
	expect_round_trip(&f, "stock-2023.csv", "2030-01-01", 20);
	/* The same refused file again is a duplicate now, whatever the limit. */
	assert_int_equal(import(&f, "stock-2024.csv", "2024-01-01", 0.05, &r), DH_OK);
	assert_int_equal(r.duplicate, 1);
	assert_int_equal(r.delivery.status, DH_DELIVERY_REFUSED);
	dh_import_result_release(&r);
	db_close(&f);
}

static void duplicate_is_a_no_op(void **state)
{
	(void)state;
	fixture_db f;
	db_open(&f);
	dh_import_result r;
	assert_int_equal(import(&f, "stock-2023.csv", "2023-01-01", 0.05, &r), DH_OK);
	int64_t first = r.delivery.id;
	dh_import_result_release(&r);
	/* Same date (meets the existing delivery) and another date (found by its hash). */
	assert_int_equal(import(&f, "stock-2023.csv", "2023-01-01", 0.05, &r), DH_OK);
	assert_int_equal(r.duplicate, 1);
	assert_int_equal(r.delivery.id, first);
	dh_import_result_release(&r);
	assert_int_equal(import(&f, "stock-2023.csv", "2025-01-01", 0.05, &r), DH_OK);
	assert_int_equal(r.duplicate, 1);
	dh_import_result_release(&r);
	dh_store_info info;
	dh_error err;
	assert_int_equal(dh_store_info_get(f.store, &info, &err), DH_OK);
	assert_int_equal(info.deliveries, 1);
	assert_int_equal(info.dwelling_versions, 20);
	db_close(&f);
}

static void bad_requests(void **state)
{
	(void)state;
	fixture_db f;
	db_open(&f);
	dh_import_options opt;
	dh_import_options_init(&opt);
	dh_import_result r;
	dh_error err;
	opt.siren = "552100554"; /* valid, not registered */
	opt.reference_date = "2024-01-01";
	assert_int_equal(dh_import_file(f.store, geo, fixture("stock-2023.csv"), &opt, &r, &err), DH_NOTFOUND);
	opt.siren = ORG;
	assert_int_equal(dh_import_file(f.store, geo, fixture("missing.csv"), &opt, &r, &err), DH_NOTFOUND);
	opt.reference_date = "2024-02-30";
	assert_int_equal(dh_import_file(f.store, geo, fixture("stock-2023.csv"), &opt, &r, &err), DH_INVAL);
	opt.reference_date = "2024-01-01";
	opt.max_reject_share = 1.5;
	assert_int_equal(dh_import_file(f.store, geo, fixture("stock-2023.csv"), &opt, &r, &err), DH_INVAL);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(f.store, &info, &err), DH_OK);
	assert_int_equal(info.deliveries, 0);
	char hex[65];
	uint64_t size = 0;
	assert_int_equal(dh_sha256_file(fixture("stock-2023.csv"), hex, &size, &err), DH_OK);
	assert_int_equal(size, 3941);
	/* as computed by sha256sum(1) */
	assert_string_equal(hex, "816908575b9e4c8800d48f4690fa02a1c96a4e61b0e5da30f5fd6f81ae9d20a4");
	db_close(&f);
}

/* Generated data: a file with injected faults, imported; the stock read back is exactly,
 * field by field, what the validator accepted from the file. */
static void generated_round_trip(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	dh_gen_options gopt;
	dh_gen_options_init(&gopt);
	gopt.region = "53";
	gopt.rows = 3000;
	gopt.landlords = 1;
	gopt.seed = 7;
	gopt.fault_rate = 0.02;
	gopt.ref_year = 2024;
	gopt.ref_month = 1;
	gopt.ref_day = 1;
	gopt.out_dir = dir;
	dh_gen_summary sum;
	dh_error err;
	if (dh_gen_stock(&gopt, geo, &sum, &err) != DH_OK)
		fail_msg("gen: %s", err.message);
	assert_int_equal(sum.rows, 3000);
	/* landlords.csv: header, then SIREN;name;kind */
	char path[4200], siren[10] = { 0 };
	snprintf(path, sizeof(path), "%s/landlords.csv", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	memcpy(siren, line, 9);
	assert_true(dh_siren_valid(siren));
	snprintf(path, sizeof(path), "%s/rpls-%s.csv", dir, siren);

	char loc[4200];
	snprintf(loc, sizeof(loc), "%s/t.db", dir);
	dh_store *st;
	assert_int_equal(dh_store_open(&st, loc, DH_STORE_CREATE, &err), DH_OK);
	dh_org org = { .kind = DH_ORG_ESH };
	memcpy(org.siren, siren, 10);
	snprintf(org.name, sizeof(org.name), "Bailleur généré");
	assert_int_equal(dh_store_org_add(st, &org, &err), DH_OK);
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = siren;
	opt.reference_date = "2024-01-01";
	dh_import_result r;
	assert_int_equal(dh_import_file(st, geo, path, &opt, &r, &err), DH_OK);
	assert_int_equal(r.delivery.rows_read, 3000);
	assert_int_equal(r.delivery.rows_accepted + r.delivery.rows_rejected, 3000);
	/* Faults that are warnings keep their row: rejected rows are at most the faulty ones. */
	assert_true(r.delivery.rows_rejected > 0 && r.delivery.rows_rejected <= sum.faults);
	uint64_t accepted = r.delivery.rows_accepted;
	dh_import_result_release(&r);

	rowset a = { 0 }, b = { 0 };
	dh_validate_callbacks cb = { .on_row = from_file, .ctx = &a };
	dh_validate_stats stats;
	dh_validate_options vopt;
	memset(&vopt, 0, sizeof(vopt));
	vopt.reference_year = 2024;
	assert_int_equal(dh_validate_file(path, &vopt, geo, &cb, &stats, &err), DH_OK);
	dh_validate_stats_release(&stats);
	assert_int_equal(dh_store_stock_read(st, siren, "2024-06-30", NULL, from_store, &b, &err), DH_OK);
	assert_int_equal(a.n, accepted);
	assert_int_equal(b.n, a.n);
	qsort(a.lines, a.n, sizeof(char *), cmp);
	qsort(b.lines, b.n, sizeof(char *), cmp);
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(b.lines[i], a.lines[i]);
	rowset_free(&a);
	rowset_free(&b);
	dh_store_close(st);
	dh_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted_with_rejected_rows),
		cmocka_unit_test(refused_above_limit),
		cmocka_unit_test(duplicate_is_a_no_op),
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(generated_round_trip),
	};
	return cmocka_run_group_tests_name("import", tests, setup, teardown);
}
