/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_validate_par.c - the block-parallel validator gives exactly the sequential report:
 * random adversarial files (quoted fields with LF / CRLF / CR inside, blank lines, CRLF
 * terminators, UTF-8 and Windows-1252 bytes, invalid UTF-8, NUL, bad quotes, records too
 * long, wrong field counts, duplicate ids) validated sequentially, then in parallel with
 * blocks of 1 byte to 4 KiB, from memory and from a file; every issue, in order, and every
 * count must be equal.
 */
#include "testutil.h"

#include "ingest/internal.h"
#include "datahabitat/validate.h"

static dh_geo *geo;

static const char *const base_row[DH_RPLS_NFIELDS] = {
	"1000000001", "LGT-000001", "1", "29232", "29000", "Quimper", "12", "", "RUE", "DE LA GARE",
	"A12", "2", "B", "C", "Les Tilleuls", "", "2", "", "C", "3", "65,5", "1975", "1976", "1976", "1",
	"52", "1", "CONV-29-1976-001", "01/1976", "1", "03/2019", "02/2019", "412,30", "25", "0", "13",
	"06/2021", "D", "E", "", "", "SEG1", "Quimper centre", "9", "", "7",
};

/* Values that stress the reader and the rules; several straddle blocks when quoted. */
static const char *const tokens[] = {
	"\"Les\nTilleuls\"", "\"a\r\nb\r\nc\"", "\"x\ry\"", "\"q\"\"q\"", "\"29232\"", "Cr\xc3\xa9teil",
	"Cr\xe9teil", "\xe2\x82\xac", "\xe2\x82", "\xff\xfe", "\"unterminated", "x\"y", "", "  29232 ",
	"99999", "2A004", "29001", "13", "abc", "\"\"", "\"a;b\"", "1\xc2\xa0", "\"\n\n\n\"", "12/2099",
};

typedef dh_textbuf text; /* testutil.h */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
	return (unsigned)((rng_state >> 33) % n);
}

/* A random file of `rows` records (header unless no_header). */
static void make_file(text *t, uint64_t seed, int rows, int no_header)
{
	rng_state = seed * 0x9E3779B97F4A7C15u + 1;
	t->len = 0;
	dh_textbuf_add(t, "", 0);
	if (seed % 5 == 0)
		dh_textbuf_str(t, "\xef\xbb\xbf");
	if (seed % 7 == 0)
		dh_textbuf_str(t, "123456789;Office\n");
	if (!no_header) {
		for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
			dh_textbuf_str(t, dh_rpls_field(f)->name);
			dh_textbuf_str(t, f + 1 < DH_RPLS_NFIELDS ? ";" : "\n");
		}
	}
	static const char *const ends[] = { "\n", "\r\n", "\r", "\n", "\n", "\r\n" };
	for (int r = 0; r < rows; r++) {
		int nf = DH_RPLS_NFIELDS;
		unsigned shape = rnd(40);
		if (shape == 0)
			nf--;
		else if (shape == 1)
			nf++;
		for (int f = 0; f < nf; f++) {
			char id[32];
			const char *v = f < DH_RPLS_NFIELDS ? base_row[f] : "extra";
			if (f == DH_RPLS_IDENT_REP) {
				snprintf(id, sizeof(id), "10000%05u", rnd(3) ? (unsigned)r : rnd(50));
				v = id;
			} else if (f == DH_RPLS_IDENT_INT) {
				snprintf(id, sizeof(id), "LGT-%06u", rnd(4) ? (unsigned)r : rnd(50));
				v = id;
			}
			if (rnd(25) == 0)
				v = tokens[rnd(sizeof(tokens) / sizeof(tokens[0]))];
			if (rnd(400) == 0) { /* a record too long for max_record */
				for (int i = 0; i < 70; i++)
					dh_textbuf_str(t, "0123456789");
			}
			if (rnd(1000) == 0)
				dh_textbuf_add(t, "\0", 1);
			dh_textbuf_str(t, v);
			if (f + 1 < nf)
				dh_textbuf_str(t, ";");
		}
		dh_textbuf_str(t, ends[rnd(6)]);
		if (rnd(30) == 0)
			dh_textbuf_str(t, ends[rnd(6)]); /* blank line */
	}
	if (seed % 3 == 0)
		t->len -= t->len > 0; /* no final line break */
}

/* Everything the report shows: issues in order, then stats. */
static int on_issue(void *ctx, const dh_issue *is)
{
	text *t = ctx;
	char head[200];
	snprintf(head, sizeof(head), "%llu|%u|%d|%s|%s|%d|", (unsigned long long)is->row, is->column,
		 is->field, is->field_name, is->code, (int)is->severity);
	dh_textbuf_str(t, head);
	dh_textbuf_add(t, is->value.ptr ? is->value.ptr : "", is->value.len);
	dh_textbuf_str(t, "|");
	dh_textbuf_str(t, is->message);
	dh_textbuf_str(t, "\n");
	return DH_OK;
}

static void put_stats(text *t, int rc, const dh_validate_stats *st)
{
	char line[400];
	snprintf(line, sizeof(line), "rc=%d rows=%llu valid=%llu err=%llu warn=%llu bytes=%llu enc=%s delim=%d layout=%d hdr=%d siren=%s\n",
		 rc, (unsigned long long)st->rows, (unsigned long long)st->rows_valid,
		 (unsigned long long)st->errors, (unsigned long long)st->warnings, (unsigned long long)st->bytes,
		 st->encoding, st->delimiter, (int)st->layout, st->has_header, st->landlord_siren);
	dh_textbuf_str(t, line);
	for (size_t i = 0; st->rule_counts && i < dh_validate_rule_count(); i++) {
		snprintf(line, sizeof(line), "%s=%llu ", dh_validate_rule_code(i), (unsigned long long)st->rule_counts[i]);
		dh_textbuf_str(t, line);
	}
}

static char *report_of(const text *file, const dh_validate_options *opt, const char *path)
{
	text out = { 0 };
	dh_textbuf_add(&out, "", 0);
	dh_validate_callbacks cb = { .on_issue = on_issue, .ctx = &out };
	dh_validate_stats st;
	dh_error err;
	int rc;
	if (path) {
		rc = dh_validate_file(path, opt, geo, &cb, &st, &err);
	} else {
		dh_csv *csv = NULL;
		assert_int_equal(dh_csv_open_mem(&csv, file->p, file->len, "t.csv", &opt->csv, &err), DH_OK);
		rc = dh_validate_csv(csv, opt, geo, &cb, &st, &err);
		dh_csv_free(csv);
	}
	put_stats(&out, rc, &st);
	dh_validate_stats_release(&st);
	return out.p;
}

static void compare(const char *want, const char *got, const char *what, size_t block, uint64_t seed)
{
	if (strcmp(want, got) == 0)
		return;
	size_t i = 0;
	while (want[i] && want[i] == got[i])
		i++;
	while (i > 0 && want[i - 1] != '\n')
		i--;
	fail_msg("%s, block %zu, seed %llu: sequential vs parallel differ at:\n  seq: %.160s\n  par: %.160s", what,
		 block, (unsigned long long)seed, want + i, got + i);
}

static void check_seed(uint64_t seed, int rows, dh_encoding enc, int check_file)
{
	static const size_t blocks[] = { 1, 3, 17, 301, 4096 };
	text file = { 0 };
	make_file(&file, seed, rows, seed % 11 == 0);
	dh_validate_options opt = { .reference_year = 2025 };
	opt.csv.encoding = enc;
	opt.csv.max_record = 600;
	opt.csv.max_field = 200;
	dh__validate_set_parallel(0, 0, 0);
	char *want = report_of(&file, &opt, NULL);
	uint64_t runs0, re0, runs1, re1;
	dh__validate_parallel_counts(&runs0, &re0);
	for (size_t b = seed % 4 != 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		dh__validate_set_parallel(1 + (b % 2), blocks[b], 1);
		char *got = report_of(&file, &opt, NULL);
		compare(want, got, "memory", blocks[b], seed);
		free(got);
	}
	if (check_file) {
		char *dir = dh_tmpdir();
		char *path = dh_write_file(dir, "t.csv", file.p, file.len);
		dh__validate_set_parallel(0, 0, 0);
		char *want_file = report_of(&file, &opt, path);
		dh__validate_set_parallel(1, 97, 1);
		char *got = report_of(&file, &opt, path);
		compare(want_file, got, "file", 97, seed);
		free(got);
		free(want_file);
		free(path);
		dh_rmtree(dir);
	}
	dh__validate_parallel_counts(&runs1, &re1);
	if (strstr(want, "rc=0 ")) /* else the file cannot be checked: nothing to parallelise */
		assert_true(runs1 > runs0);
	dh__validate_set_parallel(1, 0, 0);
	free(want);
	free(file.p);
}

static void test_parallel_equals_sequential_auto(void **state)
{
	(void)state;
	uint64_t r0, re0, r1, re1;
	dh__validate_parallel_counts(&r0, &re0);
	for (uint64_t seed = 1; seed <= 40; seed++)
		check_seed(seed, 60, DH_ENC_AUTO, seed % 4 == 0);
	dh__validate_parallel_counts(&r1, &re1);
	assert_true(re1 > re0); /* wrong guesses happened and were corrected */
}

static void test_parallel_equals_sequential_forced_encodings(void **state)
{
	(void)state;
	for (uint64_t seed = 100; seed <= 115; seed++) {
		check_seed(seed, 50, DH_ENC_UTF8, seed % 4 == 0);
		check_seed(seed, 50, DH_ENC_WINDOWS1252, seed % 4 == 1);
	}
}

/* Many rows: duplicates found across blocks, first lines right. */
static void test_parallel_large(void **state)
{
	(void)state;
	check_seed(7777, 3000, DH_ENC_AUTO, 1);
}

/* A quoted field whose line breaks span many blocks, and an empty data part. */
static void test_parallel_hand_made(void **state)
{
	(void)state;
	static const char *const files[] = {
		"IDENT_REP;IDENT_INT\n1;\"a\n\n\nb\n\nc\"\n2;x\n\n\n",
		"IDENT_REP;IDENT_INT\r\n\"1\r\n2\r\n3\";\"4\"\r\n5;6\r\n5;6",
		"IDENT_REP;IDENT_INT\n",
		"IDENT_REP;IDENT_INT\n\n\n\r\n\r\r",
		"IDENT_REP;IDENT_INT\n1;\"\xe9\n\xc3\xa9\"\n2;\xc3\xa9\n3;\xe9\n",
		"IDENT_REP;IDENT_INT\n1;\"unterminated\n2;x\n3;y\n",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		text file = { 0 };
		dh_textbuf_add(&file, files[i], strlen(files[i]));
		dh_validate_options opt = { .reference_year = 2025 };
		dh__validate_set_parallel(0, 0, 0);
		char *want = report_of(&file, &opt, NULL);
		for (size_t b = 1; b < 12; b++) {
			dh__validate_set_parallel(1 + (b % 2), b, 1);
			char *got = report_of(&file, &opt, NULL);
			compare(want, got, "hand-made", b, i);
			free(got);
		}
		dh__validate_set_parallel(1, 0, 0);
		free(want);
		free(file.p);
	}
}

static int setup(void **state)
{
	(void)state;
	dh_error err;
	return dh_geo_load(&geo, dh_src_path("data/ref"), &err) == DH_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dh_geo_free(geo);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parallel_hand_made),
		cmocka_unit_test(test_parallel_equals_sequential_auto),
		cmocka_unit_test(test_parallel_equals_sequential_forced_encodings),
		cmocka_unit_test(test_parallel_large),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
