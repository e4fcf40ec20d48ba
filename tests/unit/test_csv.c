/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_csv.c - unit tests of the streaming CSV reader (src/ingest/csv.c): delimiters,
 * quoting, line endings, encodings, limits, buffer boundaries, descriptors and memory.
 */
#include "testutil.h"

#include "ingest/internal.h"
#include "datahabitat/csv.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* All records of an input, copied out of the reader so they can be compared later. */
typedef struct rec_copy {
	size_t nfields;
	char **fields;
	size_t *lens;
	uint64_t line;
	uint64_t offset;
	int problem;
	uint32_t problem_column;
} rec_copy;

typedef struct parsed {
	rec_copy *recs;
	size_t n;
	char delim;
	dh_encoding enc;
	int saw_non_ascii;
	int had_bom;
	uint64_t bytes;
} parsed;

static void copy_record(parsed *out, const dh_csv_record *r)
{
	out->recs = realloc(out->recs, (out->n + 1) * sizeof(*out->recs));
	assert_non_null(out->recs);
	rec_copy *c = &out->recs[out->n++];
	c->nfields = r->nfields;
	c->fields = calloc(r->nfields + 1, sizeof(char *));
	c->lens = calloc(r->nfields + 1, sizeof(size_t));
	assert_non_null(c->fields);
	assert_non_null(c->lens);
	for (size_t i = 0; i < r->nfields; i++) {
		c->fields[i] = malloc(r->fields[i].len + 1);
		assert_non_null(c->fields[i]);
		if (r->fields[i].len)
			memcpy(c->fields[i], r->fields[i].ptr, r->fields[i].len);
		c->fields[i][r->fields[i].len] = 0;
		c->lens[i] = r->fields[i].len;
	}
	c->line = r->line;
	c->offset = r->offset;
	c->problem = r->problem;
	c->problem_column = r->problem_column;
}

static void read_all(dh_csv *csv, parsed *out)
{
	memset(out, 0, sizeof(*out));
	dh_csv_record r;
	dh_error err;
	dh_error_clear(&err);
	int rc;
	while ((rc = dh_csv_next(csv, &r, &err)) == DH_OK)
		copy_record(out, &r);
	assert_int_equal(rc, DH_EOF);
	/* EOF is sticky. */
	assert_int_equal(dh_csv_next(csv, &r, &err), DH_EOF);
	out->delim = dh_csv_delimiter(csv);
	out->enc = dh_csv_encoding(csv);
	out->saw_non_ascii = dh_csv_saw_non_ascii(csv);
	out->had_bom = dh_csv_had_bom(csv);
	out->bytes = dh_csv_bytes(csv);
}

static void parse_sized(const char *text, size_t len, const dh_csv_options *opt, size_t read_size,
                        parsed *out)
{
	dh_csv *csv = NULL;
	dh_error err;
	assert_int_equal(dh__csv_open_mem_sized(&csv, text, len, "test", opt, read_size, &err),
	                 DH_OK);
	read_all(csv, out);
	assert_int_equal(out->bytes, len);
	dh_csv_free(csv);
}

static void parse(const char *text, const dh_csv_options *opt, parsed *out)
{
	parse_sized(text, strlen(text), opt, 0, out);
}

static void parsed_release(parsed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		for (size_t j = 0; j < p->recs[i].nfields; j++)
			free(p->recs[i].fields[j]);
		free(p->recs[i].fields);
		free(p->recs[i].lens);
	}
	free(p->recs);
	memset(p, 0, sizeof(*p));
}

/* Record i has exactly these fields ("|"-free strings given as a NULL-terminated list). */
static void expect_fields(const parsed *p, size_t i, const char *const *want)
{
	assert_true(i < p->n);
	size_t n = 0;
	while (want[n])
		n++;
	assert_int_equal(p->recs[i].nfields, n);
	for (size_t j = 0; j < n; j++)
		assert_string_equal(p->recs[i].fields[j], want[j]);
}

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void same_records(const parsed *a, const parsed *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const rec_copy *x = &a->recs[i], *y = &b->recs[i];
		assert_int_equal(x->nfields, y->nfields);
		assert_int_equal(x->line, y->line);
		assert_int_equal(x->offset, y->offset);
		assert_int_equal(x->problem, y->problem);
		assert_int_equal(x->problem_column, y->problem_column);
		for (size_t j = 0; j < x->nfields; j++) {
			assert_int_equal(x->lens[j], y->lens[j]);
			assert_memory_equal(x->fields[j], y->fields[j], x->lens[j]);
		}
	}
}

/* ------------------------------------------------------------------------------------ */

static void test_delimiters_detected(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		char delim;
	} cases[] = {
	    {"a;b;c\n1;2;3\n", ';'},
	    {"a,b,c\n1,2,3\n", ','},
	    {"a\tb\tc\n1\t2\t3\n", '\t'},
	    {"a|b|c\n1|2|3\n", '|'},
	    /* ';' wins ties, counts ignore quoted text. */
	    {"a;b,c\n", ';'},
	    {"\"x;y;z\",b,c\n", ','},
	    {"single\n", ';'},
	    /* The first lines together decide (issue 8): a landlord line with two commas before a
	     * ';' file, a SIREN-only line before a tab or comma file, regular decimal commas. */
	    {"708785050;Habitat, Logement, Services SA\nA;B;C;D\n1;2;3;4\n5;6;7;8\n", ';'},
	    {"708785050\nA\tB\tC\n1\t2\t3\n", '\t'},
	    {"708785050\r\nA,B,C\r\n1,2,3\r\n", ','},
	    {"A;B;C;D;E\n1;65,5;3;4;5\n1;70,2;3;4;5\n1;48,0;3;4;5\n", ';'},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parsed p;
		parse(cases[i].text, NULL, &p);
		assert_int_equal(p.delim, cases[i].delim);
		parsed_release(&p);
	}
	parsed p;
	parse("a|b|c\n1|2|3\n", NULL, &p);
	expect_fields(&p, 0, FIELDS("a", "b", "c"));
	expect_fields(&p, 1, FIELDS("1", "2", "3"));
	parsed_release(&p);
	parse("a\tb c\t\n", NULL, &p);
	expect_fields(&p, 0, FIELDS("a", "b c", ""));
	parsed_release(&p);
}

/* Encoding decided over the first bytes: a valid UTF-8 file with one stray Latin-1 byte stays
 * UTF-8 (that field reported), a Latin-1 file stays Windows-1252; a UTF-8 BOM is skipped under
 * a forced encoding; encoding names are case-insensitive. */
static void test_encoding_window(void **state)
{
	(void)state;
	parsed p;
	parse("NOM;VILLE\nRUE DE L\xC9GLISE;QUIMPER\nALL\xC3\x89" "E;BREST\nCH\xC3\x82TEAU;RENNES\n", NULL, &p);
	assert_int_equal(p.enc, DH_ENC_UTF8);
	assert_int_equal(p.recs[1].problem, DH_CSV_BAD_UTF8);
	assert_int_equal(p.recs[1].problem_column, 1);
	assert_int_equal(p.recs[2].problem, DH_CSV_FINE);
	parsed_release(&p);
	parse("NOM;VILLE\nRUE DE L\xC9GLISE;QUIMPER\nALL\xC9" "E;BREST\n", NULL, &p);
	assert_int_equal(p.enc, DH_ENC_WINDOWS1252);
	expect_fields(&p, 2, FIELDS("ALL\xC3\x89" "E", "BREST"));
	parsed_release(&p);
	dh_csv_options o = { 0, DH_ENC_WINDOWS1252, 0, 0, 0 };
	parse("\xEF\xBB\xBFIDENT_REP;X\n1;2\n", &o, &p);
	assert_int_equal(p.had_bom, 1);
	expect_fields(&p, 0, FIELDS("IDENT_REP", "X"));
	parsed_release(&p);
	assert_int_equal(dh_encoding_parse("UTF-8"), DH_ENC_UTF8);
	assert_int_equal(dh_encoding_parse("ISO-8859-1"), DH_ENC_WINDOWS1252);
	assert_int_equal(dh_encoding_parse("Latin1"), DH_ENC_WINDOWS1252);
	assert_int_equal(dh_encoding_parse("CP1252"), DH_ENC_WINDOWS1252);
	assert_int_equal(dh_encoding_parse("windows-1252"), DH_ENC_WINDOWS1252);
	assert_int_equal(dh_encoding_parse("ebcdic"), -1);
}

static void test_delimiter_forced(void **state)
{
	(void)state;
	dh_csv_options opt = {.delimiter = ','};
	parsed p;
	parse("a;b,c;d\n", &opt, &p);
	assert_int_equal(p.delim, ',');
	expect_fields(&p, 0, FIELDS("a;b", "c;d"));
	parsed_release(&p);
}

static void test_quotes(void **state)
{
	(void)state;
	parsed p;
	parse("\"a;b\";\"say \"\"hi\"\"\";\"\";\"line1\nline2\";x\n"
	      "next;\"\"\"\"\n",
	      NULL, &p);
	assert_int_equal(p.n, 2);
	expect_fields(&p, 0, FIELDS("a;b", "say \"hi\"", "", "line1\nline2", "x"));
	assert_int_equal(p.recs[0].problem, DH_CSV_FINE);
	assert_int_equal(p.recs[0].line, 1);
	/* The quoted newline moves the next record to line 3. */
	assert_int_equal(p.recs[1].line, 3);
	expect_fields(&p, 1, FIELDS("next", "\""));
	parsed_release(&p);
}

static void test_line_numbers_after_multiline(void **state)
{
	(void)state;
	parsed p;
	parse("h1;h2\r\n"
	      "1;\"a\r\nb\r\nc\"\r\n"
	      "\r\n"
	      "2;\"x\ry\"\n"
	      "3;z\n",
	      NULL, &p);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.recs[0].line, 1);
	assert_int_equal(p.recs[1].line, 2);
	expect_fields(&p, 1, FIELDS("1", "a\r\nb\r\nc"));
	assert_int_equal(p.recs[2].line, 6); /* lines 2-4 for the record, 5 blank */
	expect_fields(&p, 2, FIELDS("2", "x\ry"));
	assert_int_equal(p.recs[3].line, 8); /* the lone CR inside quotes counts as a break */
	assert_int_equal(p.recs[3].offset,
	                 strlen("h1;h2\r\n1;\"a\r\nb\r\nc\"\r\n\r\n2;\"x\ry\"\n"));
	parsed_release(&p);
}

static void test_line_endings(void **state)
{
	(void)state;
	const char *inputs[] = {"a;b\n1;2\n", "a;b\r\n1;2\r\n", "a;b\r1;2\r", "a;b\r\n1;2",
	                        "a;b\n1;2\r"};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		parsed p;
		parse(inputs[i], NULL, &p);
		assert_int_equal(p.n, 2);
		expect_fields(&p, 0, FIELDS("a", "b"));
		expect_fields(&p, 1, FIELDS("1", "2"));
		assert_int_equal(p.recs[1].line, 2);
		parsed_release(&p);
	}
}

static void test_blank_lines_and_final_record(void **state)
{
	(void)state;
	parsed p;
	parse("\n\r\n\na;b\n\n\n1;2\n\r\n\n\n", NULL, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.recs[0].line, 4);
	assert_int_equal(p.recs[1].line, 7);
	assert_int_equal(p.recs[1].offset, 10);
	parsed_release(&p);

	parse("a;b\nlast;\"q\"", NULL, &p);
	assert_int_equal(p.n, 2);
	expect_fields(&p, 1, FIELDS("last", "q"));
	assert_int_equal(p.recs[1].problem, DH_CSV_FINE);
	parsed_release(&p);

	parse("a;b;\n;\n", NULL, &p);
	expect_fields(&p, 0, FIELDS("a", "b", ""));
	expect_fields(&p, 1, FIELDS("", ""));
	parsed_release(&p);

	parse("", NULL, &p);
	assert_int_equal(p.n, 0);
	parsed_release(&p);
	parse("\r\n\n\r", NULL, &p);
	assert_int_equal(p.n, 0);
	parsed_release(&p);
}

static void test_bom_utf8(void **state)
{
	(void)state;
	parsed p;
	parse("\xEF\xBB\xBFnom;ville\nb\xC3\xA9"
	      "b\xC3\xA9;Orl\xC3\xA9"
	      "ans\n",
	      NULL, &p);
	assert_true(p.had_bom);
	assert_int_equal(p.enc, DH_ENC_UTF8);
	assert_true(p.saw_non_ascii);
	assert_int_equal(p.recs[0].offset, 3);
	expect_fields(&p, 0, FIELDS("nom", "ville"));
	expect_fields(&p, 1,
	              FIELDS("b\xC3\xA9"
	                     "b\xC3\xA9",
	                     "Orl\xC3\xA9"
	                     "ans"));
	assert_string_equal(dh_encoding_name(p.enc, p.saw_non_ascii), "utf-8");
	parsed_release(&p);

	parse("a;b\n", NULL, &p);
	assert_false(p.had_bom);
	assert_int_equal(p.enc, DH_ENC_AUTO);
	assert_string_equal(dh_encoding_name(p.enc, p.saw_non_ascii), "ascii");
	parsed_release(&p);
}

static void test_windows1252(void **state)
{
	(void)state;
	parsed p;
	/* é, €, œ, ’ and an undefined byte (0x81 -> U+0081). */
	parse("commune;montant\nVitry-sur-Seine;100\nP\xE9rigueux;\x80 5\n\x9C"
	      "uvre \x92"
	      "a\x81;\"\xE9\"\"\"\n",
	      NULL, &p);
	assert_int_equal(p.enc, DH_ENC_WINDOWS1252);
	assert_string_equal(dh_encoding_name(p.enc, p.saw_non_ascii), "windows-1252");
	expect_fields(&p, 2, FIELDS("P\xC3\xA9rigueux", "\xE2\x82\xAC 5"));
	expect_fields(&p, 3,
	              FIELDS("\xC5\x93uvre \xE2\x80\x99"
	                     "a\xC2\x81",
	                     "\xC3\xA9\""));
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.recs[i].problem, DH_CSV_FINE);
	parsed_release(&p);

	/* Forced Windows-1252: a valid UTF-8 sequence is still read as two characters. */
	dh_csv_options opt = {.encoding = DH_ENC_WINDOWS1252};
	parse("\xC3\xA9\n", &opt, &p);
	expect_fields(&p, 0, FIELDS("\xC3\x83\xC2\xA9"));
	parsed_release(&p);
}

static void test_invalid_utf8_reported(void **state)
{
	(void)state;
	parsed p;
	/* The first non-ASCII sequence is valid UTF-8: the file is UTF-8 from then on. */
	parse("a;b;c\n\xC3\xA9;x;y\n1;caf\xE9;\xC3\xA9\n2;ok;\xF0\x9F\x98\x80\n", NULL, &p);
	assert_int_equal(p.enc, DH_ENC_UTF8);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.recs[1].problem, DH_CSV_FINE);
	assert_int_equal(p.recs[2].problem, DH_CSV_BAD_UTF8);
	assert_int_equal(p.recs[2].problem_column, 2);
	expect_fields(&p, 2, FIELDS("1", "caf\xEF\xBF\xBD", "\xC3\xA9"));
	assert_int_equal(p.recs[3].problem, DH_CSV_FINE);
	expect_fields(&p, 3, FIELDS("2", "ok", "\xF0\x9F\x98\x80"));
	parsed_release(&p);

	/* Overlong, surrogate and truncated sequences are invalid in a forced UTF-8 input. */
	dh_csv_options opt = {.encoding = DH_ENC_UTF8};
	const char *bad[] = {"x;\xC0\xAF\n", "x;\xED\xA0\x80\n", "x;\xE2\x82\n",
	                     "x;\xF4\x90\x80\x80\n"};
	for (size_t i = 0; i < 4; i++) {
		parse(bad[i], &opt, &p);
		assert_int_equal(p.recs[0].problem, DH_CSV_BAD_UTF8);
		assert_int_equal(p.recs[0].problem_column, 2);
		parsed_release(&p);
	}
}

static void test_bad_quotes_nul_unterminated(void **state)
{
	(void)state;
	parsed p;
	parse("a;b\"c;d\n\"x\"y;z\nok;ok\n", NULL, &p);
	assert_int_equal(p.recs[0].problem, DH_CSV_BAD_QUOTE);
	assert_int_equal(p.recs[0].problem_column, 2);
	expect_fields(&p, 0, FIELDS("a", "b\"c", "d"));
	assert_int_equal(p.recs[1].problem, DH_CSV_BAD_QUOTE);
	assert_int_equal(p.recs[1].problem_column, 1);
	expect_fields(&p, 1, FIELDS("xy", "z"));
	assert_int_equal(p.recs[2].problem, DH_CSV_FINE);
	parsed_release(&p);

	const char nul[] = "a;b\nc;d\0e;f\n";
	parse_sized(nul, sizeof(nul) - 1, NULL, 0, &p);
	assert_int_equal(p.recs[1].problem, DH_CSV_NUL_BYTE);
	assert_int_equal(p.recs[1].problem_column, 2);
	assert_int_equal(p.recs[1].lens[1], 3);
	parsed_release(&p);

	parse("a;b\n1;\"open\nstill open", NULL, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.recs[1].problem, DH_CSV_UNTERMINATED);
	assert_int_equal(p.recs[1].problem_column, 2);
	expect_fields(&p, 1, FIELDS("1", "open\nstill open"));
	parsed_release(&p);
}

static void test_field_too_long(void **state)
{
	(void)state;
	dh_csv_options opt = {.max_field = 4};
	parsed p;
	/* "aééé" is 7 bytes: a cut at 4 would split the second é, so 3 bytes are kept. */
	parse("abc;abcdefgh;a\xC3\xA9\xC3\xA9\xC3\xA9\nok;ok\n", &opt, &p);
	assert_int_equal(p.recs[0].problem, DH_CSV_FIELD_TOO_LONG);
	assert_int_equal(p.recs[0].problem_column, 2);
	expect_fields(&p, 0, FIELDS("abc", "abcd", "a\xC3\xA9"));
	assert_int_equal(p.recs[1].problem, DH_CSV_FINE);
	parsed_release(&p);

	/* Transcoding can make a field too long: the limit applies after it. */
	parse("x;\x80\x80\n", &opt, &p); /* 6 bytes once transcoded */
	assert_int_equal(p.enc, DH_ENC_WINDOWS1252);
	assert_int_equal(p.recs[0].problem, DH_CSV_FIELD_TOO_LONG);
	expect_fields(&p, 0, FIELDS("x", "\xE2\x82\xAC"));
	parsed_release(&p);
}

static void test_record_too_long_then_resume(void **state)
{
	(void)state;
	/* A 300-byte record (with a quoted multi-line field) against max_record 100. */
	char text[1024];
	char big[301];
	memset(big, 'x', 300);
	big[300] = 0;
	snprintf(text, sizeof(text), "h1;h2\n%s;\"q\nq\"\nafter;1\n", big);
	dh_csv_options opt = {.max_record = 100};
	for (size_t rs = 0; rs < 40; rs += (rs < 10 ? 1 : 7)) {
		parsed p;
		parse_sized(text, strlen(text), &opt, rs, &p);
		assert_int_equal(p.n, 3);
		assert_int_equal(p.recs[1].problem, DH_CSV_RECORD_TOO_LONG);
		assert_int_equal(p.recs[1].nfields, 0);
		assert_int_equal(p.recs[1].line, 2);
		assert_int_equal(p.recs[1].offset, 6);
		expect_fields(&p, 2, FIELDS("after", "1"));
		assert_int_equal(p.recs[2].line, 4);
		assert_int_equal(p.recs[2].problem, DH_CSV_FINE);
		parsed_release(&p);
	}

	/* Exactly max_record bytes is fine, one more is too long, whatever the line ending
	 * and wherever the buffer refills fall (the CR waits for a possible LF). */
	for (size_t extra = 0; extra < 2; extra++) {
		for (int crlf = 0; crlf < 3; crlf++) {
			char at_limit[256];
			memset(at_limit, 'y', 100 + extra);
			snprintf(at_limit + 100 + extra, sizeof(at_limit) - 100 - extra, "%snext\n",
			         crlf == 0   ? "\n"
			         : crlf == 1 ? "\r\n"
			                     : "\r");
			for (size_t rs = 0; rs < 12; rs++) {
				parsed p;
				parse_sized(at_limit, strlen(at_limit), &opt, rs, &p);
				assert_int_equal(p.n, 2);
				assert_int_equal(p.recs[0].problem,
				                 extra ? DH_CSV_RECORD_TOO_LONG : DH_CSV_FINE);
				assert_int_equal(p.recs[0].nfields, extra ? 0 : 1);
				expect_fields(&p, 1, FIELDS("next"));
				assert_int_equal(p.recs[1].line, 2);
				parsed_release(&p);
			}
		}
	}

	dh_csv_options few = {.max_fields = 3};
	parsed p;
	parse("a;b;c\n1;2;3;4\n5;6;7\n", &few, &p);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.recs[1].problem, DH_CSV_RECORD_TOO_LONG);
	assert_int_equal(p.recs[1].nfields, 0);
	expect_fields(&p, 2, FIELDS("5", "6", "7"));
	assert_int_equal(p.recs[2].line, 3);
	parsed_release(&p);
}

/* An input mixing every feature, to be read with every small read size. */
static const char mixed[] = "\xEF\xBB\xBF"
                            "code;libell\xC3\xA9;montant\r\n"
                            "1;\"texte; avec \"\"guillemets\"\"\";12,5\r\n"
                            "\r\n"
                            "2;\"sur\ndeux lignes\";\xE2\x82\xAC\r\n"
                            "3;b\"ad;x\r"
                            "4;caf\xE9;\"\"\n"
                            "5;;\n"
                            "6;\"fin\"";

static void test_buffer_boundaries(void **state)
{
	(void)state;
	parsed ref;
	parse_sized(mixed, sizeof(mixed) - 1, NULL, 0, &ref);
	assert_int_equal(ref.n, 7);
	assert_true(ref.had_bom);
	expect_fields(&ref, 1, FIELDS("1", "texte; avec \"guillemets\"", "12,5"));
	expect_fields(&ref, 2, FIELDS("2", "sur\ndeux lignes", "\xE2\x82\xAC"));
	assert_int_equal(ref.recs[2].line, 4);
	assert_int_equal(ref.recs[3].line, 6);
	assert_int_equal(ref.recs[3].problem, DH_CSV_BAD_QUOTE);
	assert_int_equal(ref.recs[4].problem, DH_CSV_BAD_UTF8);
	assert_int_equal(ref.recs[4].problem_column, 2);
	expect_fields(&ref, 6, FIELDS("6", "fin"));
	for (size_t rs = 1; rs <= sizeof(mixed); rs++) {
		parsed p;
		parse_sized(mixed, sizeof(mixed) - 1, NULL, rs, &p);
		same_records(&ref, &p);
		assert_int_equal(p.delim, ';');
		parsed_release(&p);
	}
	parsed_release(&ref);
}

/* Doubled quotes, CRLF and non-ASCII bytes inside quotes at every offset around the
 * scanner's 64-byte blocks. */
static void test_quotes_across_scan_blocks(void **state)
{
	(void)state;
	for (size_t pad = 0; pad < 140; pad++) {
		char text[512], want[256];
		memset(text, 'p', pad);
		snprintf(text + pad, sizeof(text) - pad,
		         ";\"a\"\"\"\"b\r\n\xC3\xA9\";\"\";z\nnext\n");
		snprintf(want, sizeof(want), "a\"\"b\r\n\xC3\xA9");
		parsed p;
		parse(text, NULL, &p);
		assert_int_equal(p.n, 2);
		assert_int_equal(p.recs[0].nfields, 4);
		assert_int_equal(p.recs[0].lens[0], pad);
		assert_string_equal(p.recs[0].fields[1], want);
		assert_string_equal(p.recs[0].fields[2], "");
		assert_string_equal(p.recs[0].fields[3], "z");
		assert_int_equal(p.recs[0].problem, DH_CSV_FINE);
		assert_int_equal(p.recs[1].line, 3);
		parsed_release(&p);
	}
}

/* Many records through a tiny buffer: each one straddles several refills. */
static void test_long_input_small_buffer(void **state)
{
	(void)state;
	size_t cap = 200000, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	int n = 0;
	while (len + 200 < cap) {
		len += (size_t)snprintf(text + len, cap - len, "%d;\"q%d\"\"\";val\xC3\xA9%d;%s\n",
		                        n, n, n, n % 7 == 0 ? "\"multi\nline\"" : "plain");
		n++;
	}
	dh_csv_options opt = {.max_record = 64};
	parsed ref, p;
	parse_sized(text, len, &opt, 0, &ref);
	assert_int_equal(ref.n, (size_t)n);
	uint64_t line = 1;
	for (int i = 0; i < n; i++) {
		char want[64];
		assert_int_equal(ref.recs[i].line, line);
		assert_int_equal(ref.recs[i].nfields, 4);
		snprintf(want, sizeof(want), "q%d\"", i);
		assert_string_equal(ref.recs[i].fields[1], want);
		line += i % 7 == 0 ? 2 : 1;
	}
	for (size_t rs = 1; rs < 100; rs += 13) {
		parse_sized(text, len, &opt, rs, &p);
		same_records(&ref, &p);
		parsed_release(&p);
	}
	parsed_release(&ref);
	free(text);
}

/* Read standard input replaced by a pipe a child feeds with raw[0, len), 5 bytes at a time;
 * returns 1 when the reader took it for UTF-16. */
static int read_stdin_fed(const unsigned char *raw, size_t len, parsed *p)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t i = 0; i < len; i += 5) {
			size_t n = len - i < 5 ? len - i : 5;
			if (write(fds[1], raw + i, n) != (ssize_t)n)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	int saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fds[0], 0), 0);
	close(fds[0]);
	dh_csv *csv = NULL;
	dh_error err;
	assert_int_equal(dh_csv_open_path(&csv, "-", NULL, &err), DH_OK);
	assert_string_equal(dh_csv_name(csv), "<stdin>");
	read_all(csv, p);
	int utf16 = dh__csv_was_utf16(csv);
	dh_csv_free(csv);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return utf16;
}

static void test_stdin_pipe(void **state)
{
	(void)state;
	/* Written slowly in small pieces so that reads return partial data. */
	size_t cap = 2000 * 32, len = 0;
	unsigned char *text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf((char *)text + len, cap - len, "%d,\"a,b\",z\r\n", i);
	parsed p;
	assert_int_equal(read_stdin_fed(text, len, &p), 0);
	free(text);
	assert_int_equal(p.n, 2000);
	assert_int_equal(p.delim, ',');
	expect_fields(&p, 1999, FIELDS("1999", "a,b", "z"));
	assert_int_equal(p.recs[1999].line, 2000);
	parsed_release(&p);
}

/* UTF-16 text (BOM first) of a UTF-8 string: little-endian when le. Returns its length. */
static size_t to_utf16(const char *utf8, int le, unsigned char *out)
{
	size_t n = 0;
	out[n++] = le ? 0xFF : 0xFE;
	out[n++] = le ? 0xFE : 0xFF;
	const unsigned char *p = (const unsigned char *)utf8;
	while (*p) {
		uint32_t cp;
		if (*p < 0x80) {
			cp = *p++;
		} else if ((*p & 0xE0) == 0xC0) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			p += 2;
		} else if ((*p & 0xF0) == 0xE0) {
			cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			p += 3;
		} else {
			cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
			     (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
			p += 4;
		}
		uint32_t units[2] = { cp, 0 };
		int nu = 1;
		if (cp >= 0x10000) {
			units[0] = 0xD800 + ((cp - 0x10000) >> 10);
			units[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
			nu = 2;
		}
		for (int k = 0; k < nu; k++) {
			out[n++] = (unsigned char)(le ? units[k] & 0xFF : units[k] >> 8);
			out[n++] = (unsigned char)(le ? units[k] >> 8 : units[k] & 0xFF);
		}
	}
	return n;
}

static const char utf16_text[] = "NOM\tVILLE\tNOTE\r\n"
				 "Résidence Œillets\tSaint-Étienne\t\xF0\x9F\x8F\xA0\r\n"
				 "\"a\tb\"\tx\ty\r\n";

static void expect_utf16_records(const parsed *p)
{
	assert_int_equal(p->n, 3);
	assert_int_equal(p->delim, '\t');
	assert_int_equal(p->enc, DH_ENC_UTF8);
	assert_int_equal(p->bytes, strlen(utf16_text));
	expect_fields(p, 1, FIELDS("Résidence Œillets", "Saint-Étienne", "\xF0\x9F\x8F\xA0"));
	expect_fields(p, 2, FIELDS("a\tb", "x", "y"));
	assert_int_equal(p->recs[2].line, 3);
	assert_int_equal(p->recs[0].problem, DH_CSV_FINE);
	assert_int_equal(p->recs[1].problem, DH_CSV_FINE);
}

/* A UTF-16 BOM is detected in memory, on a pipe read as standard input, and on a file opened
 * by path, whatever the read size and a forced Windows-1252 encoding: the records are those of
 * the UTF-8 text. */
static void test_utf16_everywhere(void **state)
{
	(void)state;
	unsigned char raw[512];
	for (int le = 0; le < 2; le++) {
		size_t len = to_utf16(utf16_text, le, raw);
		static const size_t sizes[] = { 0, 1, 3, 7 };
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			dh_csv_options opt = { 0, k == 3 ? DH_ENC_WINDOWS1252 : DH_ENC_AUTO, 0, 0, 0 };
			dh_csv *csv = NULL;
			dh_error err;
			assert_int_equal(dh__csv_open_mem_sized(&csv, raw, len, "m", &opt, sizes[k], &err), DH_OK);
			parsed p;
			read_all(csv, &p);
			assert_true(dh__csv_was_utf16(csv));
			dh_csv_free(csv);
			expect_utf16_records(&p);
			parsed_release(&p);
		}

		/* Standard input: a pipe fed a few bytes at a time. */
		parsed p;
		assert_int_equal(read_stdin_fed(raw, len, &p), 1);
		expect_utf16_records(&p);
		parsed_release(&p);

		/* A file by path, and the same file as a descriptor. */
		dh_csv *csv = NULL;
		dh_error err;
		char *dir = dh_tmpdir();
		char path[4200];
		snprintf(path, sizeof(path), "%s/u16.csv", dir);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(raw, 1, len, f), len);
		fclose(f);
		assert_int_equal(dh_csv_open_path(&csv, path, NULL, &err), DH_OK);
		read_all(csv, &p);
		dh_csv_free(csv);
		expect_utf16_records(&p);
		parsed_release(&p);
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(dh__csv_open_fd_sized(&csv, fd, path, NULL, 2, &err), DH_OK);
		read_all(csv, &p);
		dh_csv_free(csv);
		close(fd);
		expect_utf16_records(&p);
		parsed_release(&p);
		dh_rmtree(dir);
	}
	/* A BOM alone is an empty input; a BOM after the first bytes is data. */
	dh_csv *csv = NULL;
	dh_error err;
	assert_int_equal(dh_csv_open_mem(&csv, "\xFF\xFE", 2, "m", NULL, &err), DH_OK);
	parsed p;
	read_all(csv, &p);
	assert_int_equal(p.n, 0);
	dh_csv_free(csv);
	parsed_release(&p);
	parse("a;b\n\xFF\xFE;c\n", NULL, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.enc, DH_ENC_WINDOWS1252);
	parsed_release(&p);
}

static void test_open_path_and_errors(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	const char data[] = "a;b\n1;2\n";
	char *path = dh_write_file(dir, "f.csv", data, sizeof(data) - 1);
	dh_csv *csv = NULL;
	dh_error err;
	dh_error_clear(&err);
	assert_int_equal(dh_csv_open_path(&csv, path, NULL, &err), DH_OK);
	assert_string_equal(dh_csv_name(csv), path);
	parsed p;
	read_all(csv, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.bytes, sizeof(data) - 1);
	parsed_release(&p);
	dh_csv_free(csv);
	free(path);

	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/absent.csv", dir);
	dh_error_clear(&err);
	assert_int_equal(dh_csv_open_path(&csv, missing, NULL, &err), DH_NOTFOUND);
	assert_null(csv);
	assert_non_null(strstr(err.message, "absent.csv"));
	assert_string_equal(err.file, missing);

	/* A directory opens but cannot be read: DH_IO, sticky. */
	assert_int_equal(dh_csv_open_path(&csv, dir, NULL, &err), DH_OK);
	dh_csv_record r;
	assert_int_equal(dh_csv_next(csv, &r, &err), DH_IO);
	assert_int_equal(err.code, DH_IO);
	assert_int_equal(dh_csv_next(csv, &r, &err), DH_IO);
	dh_csv_free(csv);

	dh_csv_options bad = {.delimiter = '"'};
	assert_int_equal(dh_csv_open_mem(&csv, "a", 1, "m", &bad, &err), DH_INVAL);
	assert_null(csv);
	dh_csv_options bad_enc = {.encoding = (dh_encoding)7};
	assert_int_equal(dh_csv_open_mem(&csv, "a", 1, "m", &bad_enc, &err), DH_INVAL);
	dh_csv_free(NULL);
	dh_rmtree(dir);
}

static void test_messages(void **state)
{
	(void)state;
	for (int i = DH_CSV_FINE; i <= DH_CSV_NUL_BYTE; i++) {
		const char *m = dh_csv_problem_message(i);
		assert_non_null(m);
		assert_true(strlen(m) > 5);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(m, dh_csv_problem_message(j));
	}
	assert_string_equal(dh_csv_problem_message(99), "problème inconnu");
	assert_string_equal(dh_csv_problem_message(DH_CSV_BAD_UTF8), "séquence UTF-8 invalide");
}

/* Tens of MB through a file: every record parsed, memory stays what it was at the start. */
static void test_large_input_constant_memory(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/big.csv", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	const long nrec = 200000;
	for (long i = 0; i < nrec; i++)
		fprintf(f,
		        "%ld;13055;%s;Marseille;%ld;\"2 rue du \"\"Port\"\"\";T3;65,%ld;2010;%s\n",
		        i, i % 2 ? "HLM" : "PLS", i * 7, i % 100, i == nrec / 2 ? "fin" : "ok");
	long size = ftell(f);
	assert_int_equal(fclose(f), 0);
	assert_true(size > 10L * 1024 * 1024);

	dh_csv_options opt = {.max_record = 4096};
	dh_csv *csv = NULL;
	dh_error err;
	assert_int_equal(dh__csv_open_fd_sized(&csv, -1, "x", &opt, 0, &err), DH_INVAL);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dh__csv_open_fd_sized(&csv, fd, path, &opt, 64 * 1024, &err), DH_OK);
	dh_csv_record r;
	assert_int_equal(dh_csv_next(csv, &r, &err), DH_OK);
	size_t mem_start = dh__csv_memory(csv);
	long count = 1;
	int rc;
	while ((rc = dh_csv_next(csv, &r, &err)) == DH_OK) {
		assert_int_equal(r.nfields, 10);
		assert_int_equal(r.problem, DH_CSV_FINE);
		assert_int_equal(r.line, (uint64_t)count + 1);
		assert_true(dh_str_eq(r.fields[5], "2 rue du \"Port\""));
		if (count == nrec / 2)
			assert_true(dh_str_eq(r.fields[9], "fin"));
		count++;
	}
	assert_int_equal(rc, DH_EOF);
	assert_int_equal(count, nrec);
	assert_int_equal(dh_csv_bytes(csv), (uint64_t)size);
	/* The buffer is max_record + read size: far below the input, and it never grew. */
	assert_int_equal(dh__csv_memory(csv), mem_start);
	assert_true(mem_start < 4096 + 64 * 1024 + 32 * 1024);
	dh_csv_free(csv);
	close(fd);
	dh_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delimiters_detected),
	    cmocka_unit_test(test_delimiter_forced),
	    cmocka_unit_test(test_encoding_window),
	    cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_line_numbers_after_multiline),
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_blank_lines_and_final_record),
	    cmocka_unit_test(test_bom_utf8),
	    cmocka_unit_test(test_windows1252),
	    cmocka_unit_test(test_invalid_utf8_reported),
	    cmocka_unit_test(test_bad_quotes_nul_unterminated),
	    cmocka_unit_test(test_field_too_long),
	    cmocka_unit_test(test_record_too_long_then_resume),
	    cmocka_unit_test(test_buffer_boundaries),
	    cmocka_unit_test(test_quotes_across_scan_blocks),
	    cmocka_unit_test(test_long_input_small_buffer),
	    cmocka_unit_test(test_stdin_pipe),
	    cmocka_unit_test(test_utf16_everywhere),
	    cmocka_unit_test(test_open_path_and_errors),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_large_input_constant_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
