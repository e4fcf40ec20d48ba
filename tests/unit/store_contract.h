/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * store_contract.h - the contract every storage backend must pass (store.h), written once
 * and run on each backend: a test file defines contract_location() (a fresh, empty
 * database location for each test, and its cleanup) and includes this file, then runs
 * STORE_CONTRACT_TESTS. Rows are built by hand through the public row type, so the suite
 * does not depend on the validator.
 */
#ifndef DH_STORE_CONTRACT_H
#define DH_STORE_CONTRACT_H

#include "testutil.h"

#include "datahabitat/store.h"

#include <stdlib.h>
#include <string.h>

/* Provided by the including file: a fresh location for a new, empty database; and the
 * cleanup of what it created. */
static char *contract_location(void);
static void contract_cleanup(char *location);

#define ORG_A "443061841"
#define ORG_B "552100554"

/* ---- Hand-made rows --------------------------------------------------------------------- */

typedef struct trow {
	char text[DH_RPLS_NFIELDS][64];
	dh_rpls_row row;
} trow;

/* A plausible dwelling; `rent` and `mode` let tests make versions differ. Texts are in the
 * canonical form the store gives back (dates mm/aaaa, numbers without trailing zeros). */
static void trow_make(trow *t, const char *ident, const char *rent, const char *rooms)
{
	static const struct {
		int field;
		const char *value;
	} base[] = {
		{ DH_RPLS_DROIT, "1" },       { DH_RPLS_DEPCOM, "29232" },     { DH_RPLS_CODEPOSTAL, "29000" },
		{ DH_RPLS_LIBCOM, "Quimper" }, { DH_RPLS_NUMVOIE, "12" },       { DH_RPLS_TYPVOIE, "RUE" },
		{ DH_RPLS_NOMVOIE, "de l'Élorn" }, { DH_RPLS_QPV, "2" },         { DH_RPLS_TYPECONST, "C" },
		{ DH_RPLS_SURFHAB, "63.5" },  { DH_RPLS_CONSTRUCT, "1975" },   { DH_RPLS_LOCAT, "1976" },
		{ DH_RPLS_FINAN, "52" },      { DH_RPLS_CONV, "1" },           { DH_RPLS_DATCONV, "01/1978" },
		{ DH_RPLS_MODE, "1" },        { DH_RPLS_BAIL, "15/03/2019" },  { DH_RPLS_REMLOCDATE, "02/2019" },
		{ DH_RPLS_LOYERACC, "25" },   { DH_RPLS_DPEDATE, "06/2021" },  { DH_RPLS_DPEENERGIE, "D" },
		{ DH_RPLS_DPESERRE, "E" },    { DH_RPLS_CONTRESLOG, "7" },
	};
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		snprintf(t->text[base[i].field], sizeof(t->text[0]), "%s", base[i].value);
	snprintf(t->text[DH_RPLS_IDENT_INT], sizeof(t->text[0]), "%s", ident);
	snprintf(t->text[DH_RPLS_IDENT_REP], sizeof(t->text[0]), "R%s", ident);
	snprintf(t->text[DH_RPLS_LOYERPRINC], sizeof(t->text[0]), "%s", rent);
	snprintf(t->text[DH_RPLS_NBPIECE], sizeof(t->text[0]), "%s", rooms);
	t->row.commune = -1;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const char *s = t->text[f];
		if (!*s)
			continue;
		t->row.text[f] = (dh_str){ s, strlen(s) };
		t->row.present |= (uint64_t)1 << f;
		switch (dh_rpls_field(f)->kind) {
		case DH_KIND_INT:
		case DH_KIND_YEAR:
			t->row.value[f].i = atoll(s);
			break;
		case DH_KIND_NUMBER:
			t->row.value[f].d = strtod(s, NULL);
			break;
		case DH_KIND_DATE:
			if (strlen(s) == 7)
				t->row.value[f].i = atoll(s + 3) * 10000 + atoll(s) * 100;
			else
				t->row.value[f].i = atoll(s + 6) * 10000 + atoll(s + 3) * 100 + atoll(s);
			break;
		default:
			break;
		}
	}
}

/* One line per dwelling: every field's text joined by '|'. */
static char *join_row(const dh_rpls_row *row)
{
	size_t n = 0;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		n += row->text[f].len + 1;
	char *s = malloc(n + 1), *p = s;
	assert_non_null(s);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		memcpy(p, row->text[f].ptr ? row->text[f].ptr : "", row->text[f].len);
		p += row->text[f].len;
		*p++ = '|';
	}
	*p = '\0';
	return s;
}

typedef struct stock_set {
	char *lines[64];
	size_t n;
} stock_set;

static void set_free(stock_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i]);
	s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(void *ctx, const dh_rpls_row *row, const char *commune)
{
	(void)commune;
	stock_set *s = ctx;
	assert_true(s->n < 64);
	s->lines[s->n++] = join_row(row);
	return DH_OK;
}

/* Read the stock as of date and compare it, field by field, with the given rows. */
static void expect_stock(dh_store *st, const char *siren, const char *date, const trow *rows, size_t n,
			 const char *want_delivery_date)
{
	stock_set got = { .n = 0 }, want = { .n = 0 };
	dh_error err;
	dh_delivery d;
	int rc = dh_store_stock_read(st, siren, date, &d, collect, &got, &err);
	if (rc != DH_OK)
		fail_msg("stock_read(%s, %s): %s", siren, date ? date : "latest", err.message);
	assert_string_equal(d.reference_date, want_delivery_date);
	for (size_t i = 0; i < n; i++)
		want.lines[want.n++] = join_row(&rows[i].row);
	qsort(got.lines, got.n, sizeof(char *), cmp_str);
	qsort(want.lines, want.n, sizeof(char *), cmp_str);
	assert_int_equal(got.n, want.n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got.lines[i], want.lines[i]);
	set_free(&got);
	set_free(&want);
}

static void fake_sha(char out[65], int k)
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[(k * 7 + i) % 16];
	out[64] = '\0';
}

/* Write rows as one delivery of siren at date with the given status; returns the result. */
static int deliver(dh_store *st, const char *siren, const char *date, const trow *rows, size_t n,
		   dh_delivery_status status, int sha_key, dh_error *err)
{
	dh_delivery meta;
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.siren, sizeof(meta.siren), "%s", siren);
	snprintf(meta.reference_date, sizeof(meta.reference_date), "%s", date);
	snprintf(meta.file_name, sizeof(meta.file_name), "stock-%s.csv", date);
	meta.file_size = 100 * n;
	dh_store_import *imp;
	int rc = dh_store_import_begin(st, &meta, &imp, err);
	if (rc != DH_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = dh_store_import_row(imp, &rows[i].row, "29232", err);
		if (rc != DH_OK) {
			dh_store_import_abort(imp);
			return rc;
		}
	}
	dh_delivery final = meta;
	fake_sha(final.sha256, sha_key);
	final.rows_read = n;
	final.rows_accepted = status == DH_DELIVERY_ACCEPTED ? n : 0;
	final.rows_rejected = n - final.rows_accepted;
	final.status = status;
	return dh_store_import_end(imp, &final, "{\"test\":true}", err);
}

static dh_store *open_fresh(char **location)
{
	*location = contract_location();
	dh_store *st = NULL;
	dh_error err;
	int rc = dh_store_open(&st, *location, DH_STORE_CREATE, &err);
	if (rc != DH_OK)
		fail_msg("open %s: %s", *location, err.message);
	dh_org org = { .kind = DH_ORG_OPH };
	snprintf(org.siren, sizeof(org.siren), ORG_A);
	snprintf(org.name, sizeof(org.name), "Office A");
	assert_int_equal(dh_store_org_add(st, &org, &err), DH_OK);
	dh_org orgb = { .kind = DH_ORG_ESH };
	snprintf(orgb.siren, sizeof(orgb.siren), ORG_B);
	snprintf(orgb.name, sizeof(orgb.name), "ESH B");
	assert_int_equal(dh_store_org_add(st, &orgb, &err), DH_OK);
	return st;
}

/* ---- Tests ------------------------------------------------------------------------------------- */

static void contract_open_migrate(void **state)
{
	(void)state;
	char *loc = contract_location();
	dh_store *st = NULL;
	dh_error err;
	/* Missing database without CREATE. */
	assert_int_equal(dh_store_open(&st, loc, 0, &err), DH_NOTFOUND);
	assert_null(st);
	assert_int_equal(dh_store_open(&st, loc, DH_STORE_CREATE, &err), DH_OK);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.created, 1);
	assert_true(info.schema_version >= 1);
	assert_int_equal(info.organisations, 0);
	int version = info.schema_version;
	dh_store_close(st);
	/* Reopen: already at the current schema, nothing created. */
	assert_int_equal(dh_store_open(&st, loc, DH_STORE_CREATE, &err), DH_OK);
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.created, 0);
	assert_int_equal(info.schema_version, version);
	dh_store_close(st);
	assert_int_equal(dh_store_open(&st, "postgresql://localhost/db", 0, &err), DH_INVAL);
	assert_int_equal(dh_store_open(&st, "ftp://x", 0, &err), DH_INVAL);
	contract_cleanup(loc);
}

static void contract_orgs(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	dh_org dup = { .kind = DH_ORG_SEM };
	snprintf(dup.siren, sizeof(dup.siren), ORG_A);
	snprintf(dup.name, sizeof(dup.name), "Doublon");
	assert_int_equal(dh_store_org_add(st, &dup, &err), DH_EXISTS);
	dh_org bad = { .kind = DH_ORG_SEM };
	snprintf(bad.siren, sizeof(bad.siren), "443061842"); /* Luhn key off by one */
	snprintf(bad.name, sizeof(bad.name), "Clé fausse");
	assert_int_equal(dh_store_org_add(st, &bad, &err), DH_INVAL);
	assert_string_equal(err.field, "siren");
	snprintf(bad.siren, sizeof(bad.siren), "35600000"); /* 8 digits */
	assert_int_equal(dh_store_org_add(st, &bad, &err), DH_INVAL);
	snprintf(bad.siren, sizeof(bad.siren), "356000000");
	snprintf(bad.name, sizeof(bad.name), "  ");
	assert_int_equal(dh_store_org_add(st, &bad, &err), DH_INVAL);
	snprintf(bad.name, sizeof(bad.name), "Coopérative C");
	bad.kind = DH_ORG_COOP;
	assert_int_equal(dh_store_org_add(st, &bad, &err), DH_OK);
	dh_org got;
	assert_int_equal(dh_store_org_get(st, "356000000", &got, &err), DH_OK);
	assert_string_equal(got.name, "Coopérative C");
	assert_int_equal(got.kind, DH_ORG_COOP);
	assert_int_equal(strlen(got.created_at), 20);
	assert_int_equal(dh_store_org_get(st, "732829320", &got, &err), DH_NOTFOUND);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.organisations, 3);
	dh_store_close(st);
	contract_cleanup(loc);
}

static void contract_versions_as_of(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	trow d1[3], d2[3];
	trow_make(&d1[0], "A", "410.5", "3");
	trow_make(&d1[1], "B", "380", "2");
	trow_make(&d1[2], "C", "455.25", "4");
	trow_make(&d2[0], "A", "410.5", "3");  /* unchanged */
	trow_make(&d2[1], "B", "391.2", "2");  /* new rent */
	trow_make(&d2[2], "D", "500", "5");    /* new dwelling; C left the stock */
	assert_int_equal(deliver(st, ORG_A, "2022-01-01", d1, 3, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", d2, 3, DH_DELIVERY_ACCEPTED, 2, &err), DH_OK);
	expect_stock(st, ORG_A, "2022-01-01", d1, 3, "2022-01-01");
	expect_stock(st, ORG_A, "2022-12-31", d1, 3, "2022-01-01");
	expect_stock(st, ORG_A, "2023-01-01", d2, 3, "2023-01-01");
	expect_stock(st, ORG_A, NULL, d2, 3, "2023-01-01");
	stock_set none = { .n = 0 };
	assert_int_equal(dh_store_stock_read(st, ORG_A, "2021-12-31", NULL, collect, &none, &err), DH_NOTFOUND);
	assert_int_equal(dh_store_stock_read(st, ORG_B, NULL, NULL, collect, &none, &err), DH_NOTFOUND);
	assert_int_equal(dh_store_stock_read(st, ORG_A, "2023-02-30", NULL, collect, &none, &err), DH_INVAL);
	assert_int_equal(none.n, 0);
	/* A was shared: 3 versions from the first delivery, 2 new ones from the second. */
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.dwelling_versions, 5);
	assert_int_equal(info.deliveries, 2);
	/* Another accepted delivery at an existing date is a conflict. */
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", d1, 3, DH_DELIVERY_ACCEPTED, 3, &err), DH_CONFLICT);
	/* Organisations are independent. */
	assert_int_equal(deliver(st, ORG_B, "2023-01-01", d1, 3, DH_DELIVERY_ACCEPTED, 3, &err), DH_OK);
	expect_stock(st, ORG_B, "2024-01-01", d1, 3, "2023-01-01");
	expect_stock(st, ORG_A, "2024-01-01", d2, 3, "2023-01-01");
	dh_store_close(st);
	contract_cleanup(loc);
}

static void contract_history_in_the_past(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	trow d1[3], d2[3], mid[4], early[2];
	trow_make(&d1[0], "A", "410.5", "3");
	trow_make(&d1[1], "B", "380", "2");
	trow_make(&d1[2], "C", "455.25", "4");
	trow_make(&d2[0], "A", "410.5", "3");
	trow_make(&d2[1], "B", "391.2", "2");
	trow_make(&d2[2], "D", "500", "5");
	assert_int_equal(deliver(st, ORG_A, "2022-01-01", d1, 3, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	assert_int_equal(deliver(st, ORG_A, "2024-01-01", d2, 3, DH_DELIVERY_ACCEPTED, 2, &err), DH_OK);
	/* Delivered late, dated between the two: A changed, B already at its 2024 value, C
	 * still there, E only in this one. */
	trow_make(&mid[0], "A", "415", "3");
	trow_make(&mid[1], "B", "391.2", "2");
	trow_make(&mid[2], "C", "455.25", "4");
	trow_make(&mid[3], "E", "300", "1");
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", mid, 4, DH_DELIVERY_ACCEPTED, 3, &err), DH_OK);
	expect_stock(st, ORG_A, "2022-06-01", d1, 3, "2022-01-01");
	expect_stock(st, ORG_A, "2023-06-01", mid, 4, "2023-01-01");
	expect_stock(st, ORG_A, "2024-01-01", d2, 3, "2024-01-01");
	expect_stock(st, ORG_A, NULL, d2, 3, "2024-01-01");
	/* Before everything: A as in 2022 (shared forward), F only then. */
	trow_make(&early[0], "A", "410.5", "3");
	trow_make(&early[1], "F", "350", "2");
	assert_int_equal(deliver(st, ORG_A, "2021-01-01", early, 2, DH_DELIVERY_ACCEPTED, 4, &err), DH_OK);
	expect_stock(st, ORG_A, "2021-12-31", early, 2, "2021-01-01");
	expect_stock(st, ORG_A, "2022-01-01", d1, 3, "2022-01-01");
	expect_stock(st, ORG_A, "2023-01-01", mid, 4, "2023-01-01");
	expect_stock(st, ORG_A, "2030-01-01", d2, 3, "2024-01-01");
	dh_store_close(st);
	contract_cleanup(loc);
}

static int count_delivery(void *ctx, const dh_delivery *d)
{
	dh_delivery *last = ctx;
	*last = *d;
	return DH_OK;
}

static void contract_refusal_and_duplicate(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	trow d1[2], d2[2];
	trow_make(&d1[0], "A", "410.5", "3");
	trow_make(&d1[1], "B", "380", "2");
	trow_make(&d2[0], "A", "999", "3");
	trow_make(&d2[1], "Z", "1", "1");
	assert_int_equal(deliver(st, ORG_A, "2022-01-01", d1, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	/* Refused: recorded with its report, none of its rows visible, history unchanged. */
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", d2, 2, DH_DELIVERY_REFUSED, 2, &err), DH_OK);
	expect_stock(st, ORG_A, NULL, d1, 2, "2022-01-01");
	dh_delivery last;
	memset(&last, 0, sizeof(last));
	assert_int_equal(dh_store_delivery_list(st, ORG_A, count_delivery, &last, &err), DH_OK);
	assert_int_equal(last.status, DH_DELIVERY_REFUSED);
	assert_string_equal(last.reference_date, "2023-01-01");
	assert_int_equal(last.rows_rejected, 2);
	char *report = NULL;
	assert_int_equal(dh_store_delivery_report(st, last.id, &report, &err), DH_OK);
	assert_string_equal(report, "{\"test\":true}");
	free(report);
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.dwelling_versions, 2);
	/* A refused delivery does not block an accepted one at the same date. */
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", d2, 2, DH_DELIVERY_ACCEPTED, 3, &err), DH_OK);
	expect_stock(st, ORG_A, NULL, d2, 2, "2023-01-01");
	/* The same file (same SHA-256) again for the same organisation: refused by the store. */
	assert_int_equal(deliver(st, ORG_A, "2024-01-01", d1, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_EXISTS);
	expect_stock(st, ORG_A, NULL, d2, 2, "2023-01-01");
	dh_delivery found;
	char sha[65];
	fake_sha(sha, 1);
	assert_int_equal(dh_store_delivery_find(st, ORG_A, sha, &found, &err), DH_OK);
	assert_string_equal(found.reference_date, "2022-01-01");
	assert_int_equal(dh_store_delivery_find(st, ORG_B, sha, &found, &err), DH_NOTFOUND);
	/* ... but another organisation may deliver identical bytes. */
	assert_int_equal(deliver(st, ORG_B, "2024-01-01", d1, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	dh_store_close(st);
	contract_cleanup(loc);
}

static void contract_rollback(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	trow d1[2], d2[3];
	trow_make(&d1[0], "A", "410.5", "3");
	trow_make(&d1[1], "B", "380", "2");
	trow_make(&d2[0], "A", "1", "3");
	trow_make(&d2[1], "C", "2", "2");
	trow_make(&d2[2], "C", "3", "2"); /* same IDENT_INT twice */
	assert_int_equal(deliver(st, ORG_A, "2022-01-01", d1, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", d2, 3, DH_DELIVERY_ACCEPTED, 2, &err), DH_CONFLICT);
	expect_stock(st, ORG_A, NULL, d1, 2, "2022-01-01");
	/* Explicit abort after rows were written. */
	dh_delivery meta;
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.siren, sizeof(meta.siren), ORG_A);
	snprintf(meta.reference_date, sizeof(meta.reference_date), "2023-01-01");
	dh_store_import *imp;
	assert_int_equal(dh_store_import_begin(st, &meta, &imp, &err), DH_OK);
	dh_store_import *second;
	assert_int_equal(dh_store_import_begin(st, &meta, &second, &err), DH_CONFLICT);
	assert_int_equal(dh_store_import_row(imp, &d2[0].row, NULL, &err), DH_OK);
	dh_store_import_abort(imp);
	expect_stock(st, ORG_A, NULL, d1, 2, "2022-01-01");
	/* Closing the store with a session open rolls it back. */
	assert_int_equal(dh_store_import_begin(st, &meta, &imp, &err), DH_OK);
	assert_int_equal(dh_store_import_row(imp, &d2[1].row, NULL, &err), DH_OK);
	dh_store_close(st);
	assert_int_equal(dh_store_open(&st, loc, 0, &err), DH_OK);
	expect_stock(st, ORG_A, NULL, d1, 2, "2022-01-01");
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.deliveries, 1);
	assert_int_equal(info.dwelling_versions, 2);
	/* A row without IDENT_INT is refused and the session can only be aborted. */
	assert_int_equal(dh_store_import_begin(st, &meta, &imp, &err), DH_OK);
	trow noid;
	trow_make(&noid, "", "1", "1");
	assert_int_equal(dh_store_import_row(imp, &noid.row, NULL, &err), DH_INVAL);
	dh_delivery final = meta;
	fake_sha(final.sha256, 9);
	assert_int_equal(dh_store_import_end(imp, &final, "{}", &err), DH_INVAL);
	expect_stock(st, ORG_A, NULL, d1, 2, "2022-01-01");
	/* Unknown organisation. */
	snprintf(meta.siren, sizeof(meta.siren), "356000000");
	assert_int_equal(dh_store_import_begin(st, &meta, &imp, &err), DH_NOTFOUND);
	dh_store_close(st);
	contract_cleanup(loc);
}

static void contract_readers_see_previous_state(void **state)
{
	(void)state;
	char *loc;
	dh_store *writer = open_fresh(&loc);
	dh_error err;
	trow d1[2], d2[2];
	trow_make(&d1[0], "A", "410.5", "3");
	trow_make(&d1[1], "B", "380", "2");
	trow_make(&d2[0], "A", "420", "3");
	trow_make(&d2[1], "C", "300", "1");
	assert_int_equal(deliver(writer, ORG_A, "2022-01-01", d1, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	dh_store *reader;
	assert_int_equal(dh_store_open(&reader, loc, 0, &err), DH_OK);
	dh_delivery meta;
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.siren, sizeof(meta.siren), ORG_A);
	snprintf(meta.reference_date, sizeof(meta.reference_date), "2023-01-01");
	dh_store_import *imp;
	assert_int_equal(dh_store_import_begin(writer, &meta, &imp, &err), DH_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(dh_store_import_row(imp, &d2[i].row, NULL, &err), DH_OK);
	/* Uncommitted: the other connection still reads the first delivery. */
	expect_stock(reader, ORG_A, NULL, d1, 2, "2022-01-01");
	dh_delivery final = meta;
	fake_sha(final.sha256, 2);
	final.rows_read = final.rows_accepted = 2;
	final.status = DH_DELIVERY_ACCEPTED;
	assert_int_equal(dh_store_import_end(imp, &final, "{}", &err), DH_OK);
	assert_true(final.id > 0);
	expect_stock(reader, ORG_A, NULL, d2, 2, "2023-01-01");
	expect_stock(reader, ORG_A, "2022-01-01", d1, 2, "2022-01-01");
	dh_store_close(reader);
	dh_store_close(writer);
	contract_cleanup(loc);
}

static void contract_values(void **state)
{
	(void)state;
	assert_true(dh_siren_valid("443061841"));
	assert_true(dh_siren_valid("356000000"));
	assert_false(dh_siren_valid("443061842"));
	assert_false(dh_siren_valid("44306184"));
	assert_false(dh_siren_valid("4430618410"));
	assert_false(dh_siren_valid("44306184a"));
	assert_false(dh_siren_valid(NULL));
	assert_true(dh_date_valid("2024-02-29"));
	assert_false(dh_date_valid("2023-02-29"));
	assert_false(dh_date_valid("2023-13-01"));
	assert_false(dh_date_valid("2023-1-01"));
	assert_int_equal(dh_org_kind_parse("esh"), DH_ORG_ESH);
	assert_int_equal(dh_org_kind_parse("coop"), DH_ORG_COOP);
	assert_int_equal(dh_org_kind_parse("HLM"), -1);
	assert_string_equal(dh_org_kind_name(DH_ORG_SEM), "SEM");
}

/* A first delivery into an empty store (the bulk path: no lookups, index built at the end)
 * still refuses a duplicate IDENT_INT and keeps nothing; so does a later one. */
static void contract_duplicate_in_bulk_load(void **state)
{
	(void)state;
	char *loc;
	dh_store *st = open_fresh(&loc);
	dh_error err;
	trow bad[3], good[2];
	trow_make(&bad[0], "A", "410.5", "3");
	trow_make(&bad[1], "B", "380", "2");
	trow_make(&bad[2], "A", "400", "3"); /* same IDENT_INT twice */
	trow_make(&good[0], "A", "410.5", "3");
	trow_make(&good[1], "B", "380", "2");
	int rc = deliver(st, ORG_A, "2022-01-01", bad, 3, DH_DELIVERY_ACCEPTED, 1, &err);
	assert_int_equal(rc, DH_CONFLICT);
	assert_non_null(strstr(err.message, "« A »"));
	dh_store_info info;
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.deliveries, 0);
	assert_int_equal(info.dwelling_versions, 0);
	assert_int_equal(deliver(st, ORG_A, "2022-01-01", good, 2, DH_DELIVERY_ACCEPTED, 1, &err), DH_OK);
	expect_stock(st, ORG_A, NULL, good, 2, "2022-01-01");
	/* The second organisation's first delivery, the table no longer empty. */
	assert_int_equal(deliver(st, ORG_B, "2022-01-01", bad, 3, DH_DELIVERY_ACCEPTED, 2, &err), DH_CONFLICT);
	assert_int_equal(deliver(st, ORG_A, "2023-01-01", bad, 3, DH_DELIVERY_ACCEPTED, 3, &err), DH_CONFLICT);
	assert_int_equal(dh_store_info_get(st, &info, &err), DH_OK);
	assert_int_equal(info.deliveries, 1);
	assert_int_equal(info.dwelling_versions, 2);
	expect_stock(st, ORG_A, NULL, good, 2, "2022-01-01");
	dh_store_close(st);
	contract_cleanup(loc);
}

#define STORE_CONTRACT_TESTS                                            \
	cmocka_unit_test(contract_values),                              \
	cmocka_unit_test(contract_open_migrate),                        \
	cmocka_unit_test(contract_orgs),                                \
	cmocka_unit_test(contract_versions_as_of),                      \
	cmocka_unit_test(contract_history_in_the_past),                 \
	cmocka_unit_test(contract_refusal_and_duplicate),               \
	cmocka_unit_test(contract_rollback),                            \
	cmocka_unit_test(contract_duplicate_in_bulk_load),              \
	cmocka_unit_test(contract_readers_see_previous_state)

#endif
