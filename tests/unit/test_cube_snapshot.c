/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_cube_snapshot.c - the persisted cube (<db>.cube, cube_snapshot*.c): written by every
 * accepted delivery, opened with mmap when it reflects the store, and rebuilt, with figures
 * identical to a fresh build in every cell of every level, when it is missing, stale,
 * truncated, of another version or byte order, or corrupt in any section or header field.
 */
#include "datahabitat/cube_store.h"
#include "datahabitat/geo.h" /* before testutil.h: dh_test_geo() */

#include "testutil.h"
#include "region_store.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
	char *dir;
	dh_geo *geo;
	dh_store *store;
	char db[4200];
	char snap[4300];
	unsigned char *bytes; /* the snapshot as written by the imports */
	size_t size;
} fixture;

static unsigned char *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	unsigned char *b = malloc((size_t)n);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return b;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = dh_tmpdir();
	fx->geo = dh_test_geo();
	assert_non_null(fx->geo);
	char stock[4300];
	char sirens[1][10];
	assert_int_equal(dh_test_region_store(fx->dir, fx->geo, "53", 6000, 3, 7, &fx->store, sirens, 1,
					      stock, sizeof(stock)),
			 0);
	dh_error err;
	assert_int_equal(dh_geo_load_qpv_stored(fx->geo, fx->store, &err), DH_OK);
	snprintf(fx->db, sizeof(fx->db), "%s/t.db", fx->dir);
	snprintf(fx->snap, sizeof(fx->snap), "%s/t.db%s", fx->dir, DH_CUBE_SNAPSHOT_SUFFIX);
	fx->bytes = read_all(fx->snap, &fx->size);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	dh_store_close(fx->store);
	dh_geo_free(fx->geo);
	free(fx->bytes);
	dh_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Same double, NaN included (bit patterns may differ only for NaN). */
static int same_value(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* Every cell of every level at the first ndates dates (the latest, with its stored commune
 * counters, then another), and the commune x landlord split: a equals b. */
static void assert_same_figures(const dh_cube *a, const dh_cube *b, size_t ndates)
{
	static const dh_level levels[] = { DH_LEVEL_ALL,    DH_LEVEL_COMMUNE, DH_LEVEL_EPCI,
					   DH_LEVEL_DEPARTEMENT, DH_LEVEL_REGION, DH_LEVEL_QPV,
					   DH_LEVEL_LANDLORD };
	static const int32_t dates[] = { 20250101, 20240101 }; /* latest (stored counters), other */
	assert_int_equal(dh_cube_row_count(a), dh_cube_row_count(b));
	size_t cells = 0;
	for (size_t d = 0; d < ndates && d < sizeof(dates) / sizeof(dates[0]); d++) {
		for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			dh_cube_query q = { .level = levels[l], .reference_date = dates[d], .threads = 1 };
			dh_cube_table *ta = NULL, *tb = NULL;
			dh_error err;
			int ra = dh_cube_query_run(a, &q, &ta, &err);
			int rb = dh_cube_query_run(b, &q, &tb, &err);
			assert_int_equal(ra, rb);
			if (ra != DH_OK)
				continue;
			assert_int_equal(ta->nrows, tb->nrows);
			assert_int_equal(ta->ncols, tb->ncols);
			for (size_t r = 0; r < ta->nrows; r++) {
				assert_string_equal(ta->codes[r], tb->codes[r]);
				assert_string_equal(ta->names[r], tb->names[r]);
				for (size_t c = 0; c < ta->ncols; c++, cells++)
					if (!same_value(dh_cube_table_value(ta, r, c), dh_cube_table_value(tb, r, c)))
						fail_msg("level %d date %d row %s column %s: %g != %g", (int)levels[l],
							 (int)dates[d], ta->codes[r], ta->columns[c]->id,
							 dh_cube_table_value(ta, r, c), dh_cube_table_value(tb, r, c));
			}
			dh_cube_table_free(ta);
			dh_cube_table_free(tb);
		}
		/* a filtered query (row scan, static cache) and the split (per-landlord ranges) */
		dh_predicate f;
		dh_error err;
		assert_int_equal(dh_cube_filter_parse("TYPECONST=C", &f, &err), DH_OK);
		dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = dates[d], .filters = &f,
				    .nfilters = 1, .threads = 1 };
		dh_cube_split *sa = NULL, *sb = NULL;
		assert_int_equal(dh_cube_query_split(a, &q, &sa, &err), DH_OK);
		assert_int_equal(dh_cube_query_split(b, &q, &sb, &err), DH_OK);
		assert_int_equal(sa->nrows, sb->nrows);
		assert_int_equal(sa->nparts, sb->nparts);
		for (size_t p = 0; p < sa->nparts * sa->ncols; p++, cells++)
			assert_true(same_value(sa->values[p], sb->values[p]));
		for (size_t p = 0; p < sa->nparts; p++)
			assert_string_equal(sa->landlords[sa->landlord[p]], sb->landlords[sb->landlord[p]]);
		dh_cube_split_free(sa);
		dh_cube_split_free(sb);
	}
	assert_true(cells > 10000); /* the comparison did look at figures */
}

/* A fresh cube built from the store. */
static dh_cube *fresh(fixture *fx)
{
	dh_cube *c = NULL;
	dh_error err;
	assert_int_equal(dh_cube_build_from_store(fx->store, fx->geo, &c, NULL, &err), DH_OK);
	assert_false(dh_cube_is_snapshot(c));
	return c;
}

/* Open through dh_cube_open_snapshot(), expecting it to rebuild because of `why` (DH_OK:
 * expecting it to use the file); the figures equal a fresh build either way (at ndates). */
static void open_expect_at(fixture *fx, int why, size_t ndates)
{
	dh_cube *c = NULL;
	dh_cube_snapshot_info info;
	dh_error err;
	assert_int_equal(dh_cube_open_snapshot(fx->store, fx->geo, NULL, &c, &info, &err), DH_OK);
	if (why == DH_OK) {
		assert_int_equal(info.opened, 1);
		assert_int_equal(info.rebuilt, 0);
		assert_true(dh_cube_is_snapshot(c));
	} else {
		assert_int_equal(info.opened, 0);
		assert_int_equal(info.rebuilt, 1);
		assert_int_equal(info.why, why);
		assert_int_equal(info.written, 1);
	}
	dh_cube *f = fresh(fx);
	assert_same_figures(c, f, ndates);
	dh_cube_release(f);
	dh_cube_release(c);
}

static void open_expect(fixture *fx, int why)
{
	open_expect_at(fx, why, 2);
}

static void test_import_writes_snapshot(void **state)
{
	fixture *fx = *state;
	struct stat st;
	assert_int_equal(stat(fx->snap, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	open_expect(fx, DH_OK);
	/* no temporary file left beside it */
	char cmd[4400];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q tmp", fx->dir);
	assert_int_not_equal(system(cmd), 0);
}

/* The header layout of cube_snapshot.c, version 1: what the corruption tests aim at. */
enum { H_MAGIC = 0, H_VERSION = 8, H_ENDIAN = 12, H_SIZE = 16, H_STAMP = 24, H_NSECT = 56,
       H_HSIZE = 60, H_HASH = 64, H_SECT = 72, SECT_BYTES = 24 };

static uint64_t u64_at(const unsigned char *b, size_t off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

/* Write the original bytes with byte `off` flipped, load: refused as corrupt; then the
 * opening rebuilds with identical figures and rewrites a good file. */
static void corrupt_at(fixture *fx, size_t off, const char *what)
{
	unsigned char *b = malloc(fx->size);
	assert_non_null(b);
	memcpy(b, fx->bytes, fx->size);
	b[off] ^= 0x5a;
	write_bytes(fx->snap, b, fx->size);
	free(b);
	uint8_t stamp[DH_CUBE_STAMP_SIZE];
	dh_cube *c = NULL;
	dh_error err;
	assert_int_equal(dh_cube_store_stamp(fx->store, fx->geo, stamp, &err), DH_OK);
	int rc = dh_cube_snapshot_load(fx->snap, stamp, &c, &err);
	if (rc != DH_CORRUPT)
		fail_msg("%s (byte %zu): load gave %d, expected DH_CORRUPT", what, off, rc);
	assert_null(c);
	open_expect_at(fx, DH_CORRUPT, 1);
}

static void test_corrupt_every_section(void **state)
{
	fixture *fx = *state;
	uint32_t nsect;
	memcpy(&nsect, fx->bytes + H_NSECT, 4);
	assert_true(nsect > 20);
	int tested = 0;
	for (uint32_t s = 0; s < nsect; s++) {
		uint64_t off = u64_at(fx->bytes, H_SECT + s * SECT_BYTES);
		uint64_t size = u64_at(fx->bytes, H_SECT + s * SECT_BYTES + 8);
		if (!size)
			continue;
		char what[64];
		snprintf(what, sizeof(what), "section %u", s);
		/* first, middle or last byte, in turn */
		corrupt_at(fx, (size_t)(off + (s % 3 == 0 ? 0 : s % 3 == 1 ? size / 2 : size - 1)), what);
		tested++;
	}
	assert_true(tested > 20);
	open_expect(fx, DH_OK); /* the last rewritten file is used again */
}

static void test_corrupt_header_fields(void **state)
{
	fixture *fx = *state;
	static const struct {
		size_t off;
		const char *what;
	} fields[] = {
		{ H_MAGIC, "magic" },	    { H_VERSION, "version" },	   { H_ENDIAN, "byte order" },
		{ H_SIZE, "file size" },    { H_STAMP + 5, "stamp" },	   { H_NSECT, "section count" },
		{ H_HSIZE, "header size" }, { H_HASH, "header checksum" }, { H_SECT, "section offset" },
		{ H_SECT + 8, "section size" }, { H_SECT + 16, "section checksum" },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		corrupt_at(fx, fields[i].off, fields[i].what);
}

/* Another format version or byte order is named as such (checked before the checksum). */
static void test_version_and_byte_order(void **state)
{
	fixture *fx = *state;
	unsigned char *b = malloc(fx->size);
	assert_non_null(b);
	dh_cube *c = NULL;
	dh_error err;
	memcpy(b, fx->bytes, fx->size);
	uint32_t v = 2;
	memcpy(b + H_VERSION, &v, 4);
	write_bytes(fx->snap, b, fx->size);
	assert_int_equal(dh_cube_snapshot_load(fx->snap, NULL, &c, &err), DH_CORRUPT);
	assert_non_null(strstr(err.message, "version"));
	open_expect(fx, DH_CORRUPT);
	memcpy(b, fx->bytes, fx->size);
	uint32_t e = 0x04030201u;
	memcpy(b + H_ENDIAN, &e, 4);
	write_bytes(fx->snap, b, fx->size);
	assert_int_equal(dh_cube_snapshot_load(fx->snap, NULL, &c, &err), DH_CORRUPT);
	assert_non_null(strstr(err.message, "octets"));
	open_expect(fx, DH_CORRUPT);
	free(b);
}

static void test_truncated(void **state)
{
	fixture *fx = *state;
	size_t lengths[] = { 0, 7, H_SECT + 3, fx->size / 2, fx->size - 1 };
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		write_bytes(fx->snap, fx->bytes, lengths[i]);
		dh_cube *c = NULL;
		dh_error err;
		assert_int_equal(dh_cube_snapshot_load(fx->snap, NULL, &c, &err), DH_CORRUPT);
		open_expect(fx, DH_CORRUPT);
	}
	/* and one byte too many */
	unsigned char *b = malloc(fx->size + 1);
	assert_non_null(b);
	memcpy(b, fx->bytes, fx->size);
	b[fx->size] = 0;
	write_bytes(fx->snap, b, fx->size + 1);
	free(b);
	open_expect(fx, DH_CORRUPT);
}

static void test_missing(void **state)
{
	fixture *fx = *state;
	assert_int_equal(unlink(fx->snap), 0);
	dh_cube *c = NULL;
	dh_error err;
	assert_int_equal(dh_cube_snapshot_load(fx->snap, NULL, &c, &err), DH_NOTFOUND);
	open_expect(fx, DH_NOTFOUND);
	open_expect(fx, DH_OK);
}

/* A change to the store (here a new organisation) makes the file stale: refused with
 * DH_CONFLICT against the new stamp, rebuilt; an older stamp no longer opens the new file. */
static void test_stale(void **state)
{
	fixture *fx = *state;
	write_bytes(fx->snap, fx->bytes, fx->size);
	open_expect(fx, DH_OK);
	uint8_t before[DH_CUBE_STAMP_SIZE], after[DH_CUBE_STAMP_SIZE];
	dh_error err;
	assert_int_equal(dh_cube_store_stamp(fx->store, fx->geo, before, &err), DH_OK);
	dh_org org;
	memset(&org, 0, sizeof(org));
	snprintf(org.siren, sizeof(org.siren), "%s", "443061841");
	snprintf(org.name, sizeof(org.name), "%s", "Office nouveau");
	org.kind = DH_ORG_OPH;
	assert_int_equal(dh_store_org_add(fx->store, &org, &err), DH_OK);
	assert_int_equal(dh_cube_store_stamp(fx->store, fx->geo, after, &err), DH_OK);
	assert_memory_not_equal(before, after, DH_CUBE_STAMP_SIZE);
	dh_cube *c = NULL;
	assert_int_equal(dh_cube_snapshot_load(fx->snap, after, &c, &err), DH_CONFLICT);
	open_expect(fx, DH_CONFLICT);
	assert_int_equal(dh_cube_snapshot_load(fx->snap, before, &c, &err), DH_CONFLICT);
	open_expect(fx, DH_OK);
}

/* A reader keeps its mapped cube while the file is replaced, and a holder swaps cubes. */
static void test_replace_while_open(void **state)
{
	fixture *fx = *state;
	dh_cube *old = NULL, *cur = NULL;
	dh_error err;
	assert_int_equal(dh_cube_open_snapshot(fx->store, fx->geo, NULL, &old, NULL, &err), DH_OK);
	dh_cube_holder *h;
	assert_int_equal(dh_cube_holder_new(&h), DH_OK);
	dh_cube_retain(old);
	dh_cube_holder_swap(h, old);
	dh_cube *reader = dh_cube_holder_acquire(h);
	assert_ptr_equal(reader, old);
	assert_int_equal(dh_cube_snapshot_refresh(fx->store, fx->geo, NULL, NULL, &err), DH_OK);
	dh_cube_snapshot_info info;
	assert_int_equal(dh_cube_holder_open_snapshot(h, fx->store, fx->geo, NULL, &info, &err), DH_OK);
	assert_int_equal(info.opened, 1);
	cur = dh_cube_holder_acquire(h);
	assert_ptr_not_equal(cur, old);
	assert_true(dh_cube_is_snapshot(cur));
	assert_same_figures(reader, cur, 2); /* the old mapping still reads */
	dh_cube_release(reader);
	dh_cube_release(cur);
	/* a snapshot cube is not written again (the file is the copy) */
	uint8_t stamp[DH_CUBE_STAMP_SIZE] = { 0 };
	assert_int_equal(dh_cube_snapshot_write(old, stamp, fx->snap, &err), DH_INVAL);
	dh_cube_release(old);
	dh_cube_holder_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_writes_snapshot),
		cmocka_unit_test(test_corrupt_every_section),
		cmocka_unit_test(test_corrupt_header_fields),
		cmocka_unit_test(test_version_and_byte_order),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_replace_while_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
