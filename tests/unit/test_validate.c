/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_validate.c - unit tests of the stock-file validator (src/ingest/validate.c,
 * rpls_rules.c, layout_opendata.c) and of the report writers (src/ingest/report.c):
 * every rule of docs/validation.md on an in-memory file where exactly one row breaks
 * exactly that rule, clean files, layouts, encodings, caps and callbacks.
 */
#include "testutil.h"

#include "datahabitat/report.h"
#include "datahabitat/validate.h"

#include <jansson.h>

static dh_geo *geo;

/* A clean dwelling in the canonical column order (Quimper, collective, 3 rooms, let). */
static const char *const base_row[DH_RPLS_NFIELDS] = {
	"1000000001", "LGT-000001", "1", "29232", "29000", "Quimper", "12", "", "RUE", "DE LA GARE",
	"A12", "2", "B", "C", "Les Tilleuls", "", "2", "", "C", "3", "65,5", "1975", "1976", "1976", "1",
	"52", "1", "CONV-29-1976-001", "01/1976", "1", "03/2019", "02/2019", "412,30", "25", "0", "13",
	"06/2021", "D", "E", "", "", "SEG1", "Quimper centre", "9", "", "7",
};

#define MAX_ISSUES 64

typedef struct collected {
	size_t n;
	struct {
		uint64_t row;
		uint32_t column;
		int field;
		char field_name[64];
		char code[40];
		dh_severity severity;
		char value[256];
		char message[512];
	} issue[MAX_ISSUES];
	size_t rows;
	dh_rpls_row last_row; /* copy of the scalar part of the last row */
	char last_depcom[8];
	int last_has_errors;
	int stop_on_issue;    /* return this from on_issue when non-zero */
	uint64_t digest;      /* FNV-1a over every issue (row, column, code, message), in order */
} collected;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001B3u;
	return h;
}

static int on_issue(void *ctx, const dh_issue *issue)
{
	collected *c = ctx;
	if (c->n < MAX_ISSUES) {
		c->issue[c->n].row = issue->row;
		c->issue[c->n].column = issue->column;
		c->issue[c->n].field = issue->field;
		c->issue[c->n].severity = issue->severity;
		dh_strlcpy(c->issue[c->n].field_name, sizeof(c->issue[0].field_name), issue->field_name);
		dh_strlcpy(c->issue[c->n].code, sizeof(c->issue[0].code), issue->code);
		dh_strlcpy_view(c->issue[c->n].value, sizeof(c->issue[0].value), issue->value);
		dh_strlcpy(c->issue[c->n].message, sizeof(c->issue[0].message), issue->message);
	}
	c->n++;
	c->digest = fnv(c->digest ? c->digest : 0xCBF29CE484222325u, &issue->row, sizeof(issue->row));
	c->digest = fnv(c->digest, &issue->column, sizeof(issue->column));
	c->digest = fnv(c->digest, issue->code, strlen(issue->code));
	c->digest = fnv(c->digest, issue->message, strlen(issue->message));
	return c->stop_on_issue;
}

static int on_row(void *ctx, const dh_rpls_row *row, int has_errors)
{
	collected *c = ctx;
	c->rows++;
	c->last_row = *row;
	dh_strlcpy_view(c->last_depcom, sizeof(c->last_depcom), row->text[DH_RPLS_DEPCOM]);
	c->last_has_errors = has_errors;
	return DH_OK;
}

typedef dh_textbuf buf; /* testutil.h */

static void add_header(buf *b)
{
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		dh_textbuf_str(b, dh_rpls_field(f)->name);
		dh_textbuf_str(b, f + 1 < DH_RPLS_NFIELDS ? ";" : "\n");
	}
}

/* Append base_row with ids numbered n and up to 3 fields replaced (field -1 ends the list). */
typedef struct change {
	int field;
	const char *value;
} change;

static void add_row(buf *b, int n, const change *changes)
{
	char rep[24], intl[32];
	snprintf(rep, sizeof(rep), "10000%05d", n);
	snprintf(intl, sizeof(intl), "LGT-%06d", n);
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const char *v = f == DH_RPLS_IDENT_REP ? rep : f == DH_RPLS_IDENT_INT ? intl : base_row[f];
		for (const change *c = changes; c && c->field >= 0; c++)
			if (c->field == f)
				v = c->value;
		dh_textbuf_str(b, v);
		dh_textbuf_str(b, f + 1 < DH_RPLS_NFIELDS ? ";" : "\n");
	}
}

static int run_opts(const char *data, size_t len, const dh_validate_options *opt, collected *c,
		    dh_validate_stats *stats)
{
	dh_csv *csv = NULL;
	dh_error err;
	dh_error_clear(&err);
	assert_int_equal(dh_csv_open_mem(&csv, data, len, "test.csv", &opt->csv, &err), DH_OK);
	dh_validate_callbacks cb = { .on_issue = on_issue, .on_row = on_row, .ctx = c };
	int rc = dh_validate_csv(csv, opt, geo, &cb, stats, &err);
	dh_csv_free(csv);
	return rc;
}

static int run(const char *data, collected *c, dh_validate_stats *stats)
{
	dh_validate_options opt = { .reference_year = 2025 };
	return run_opts(data, strlen(data), &opt, c, stats);
}

/* A header, a clean row (line 2), the row with the changes (line 3), a clean row (line 4). */
static void check_one_rule(const change *changes, const char *code, int field, dh_severity severity)
{
	buf b = { 0 };
	add_header(&b);
	add_row(&b, 1, NULL);
	add_row(&b, 2, changes);
	add_row(&b, 3, NULL);
	collected *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	if (c->n != 1)
		for (size_t i = 0; i < c->n && i < MAX_ISSUES; i++)
			print_message("issue %zu: line %llu col %u %s %s: %s\n", i, (unsigned long long)c->issue[i].row,
				      c->issue[i].column, c->issue[i].code, c->issue[i].field_name, c->issue[i].message);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->issue[0].code, code);
	assert_int_equal(c->issue[0].row, 3);
	assert_int_equal(c->issue[0].field, field);
	assert_int_equal(c->issue[0].column, field + 1);
	assert_string_equal(c->issue[0].field_name, dh_rpls_field(field)->name);
	assert_int_equal(c->issue[0].severity, severity);
	assert_true(strlen(c->issue[0].message) > 10);
	assert_int_equal(stats.rows, 3);
	assert_int_equal(stats.rows_valid, severity == DH_SEV_ERROR ? 2 : 3);
	assert_int_equal(stats.errors, severity == DH_SEV_ERROR ? 1 : 0);
	assert_int_equal(stats.warnings, severity == DH_SEV_WARNING ? 1 : 0);
	/* the count of exactly that rule is 1, all others 0 */
	for (size_t i = 0; i < dh_validate_rule_count(); i++)
		assert_int_equal(stats.rule_counts[i], strcmp(dh_validate_rule_code(i), code) == 0 ? 1 : 0);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

#define ONE(field, value, code, sev)                                                                     \
	do {                                                                                             \
		const change ch[] = { { DH_RPLS_##field, value }, { -1, NULL } };                       \
		check_one_rule(ch, code, DH_RPLS_##field, sev);                                          \
	} while (0)

static void test_clean_file(void **state)
{
	(void)state;
	buf b = { 0 };
	add_header(&b);
	for (int i = 1; i <= 50; i++)
		add_row(&b, i, NULL);
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 0);
	assert_int_equal(c->rows, 50);
	assert_int_equal(stats.rows, 50);
	assert_int_equal(stats.rows_valid, 50);
	assert_int_equal(stats.errors + stats.warnings, 0);
	assert_int_equal(stats.has_header, 1);
	assert_int_equal(stats.layout, DH_LAYOUT_RPLS);
	assert_int_equal(stats.delimiter, ';');
	assert_string_equal(stats.encoding, "ascii");
	assert_int_equal(stats.bytes, b.len);
	/* typed values of the last row */
	assert_int_equal(c->last_row.line, 51);
	assert_int_equal(c->last_has_errors, 0);
	assert_true(c->last_row.value[DH_RPLS_SURFHAB].d > 65.49 && c->last_row.value[DH_RPLS_SURFHAB].d < 65.51);
	assert_true(c->last_row.value[DH_RPLS_LOYERPRINC].d > 412.29 && c->last_row.value[DH_RPLS_LOYERPRINC].d < 412.31);
	assert_int_equal(c->last_row.value[DH_RPLS_NBPIECE].i, 3);
	assert_int_equal(c->last_row.value[DH_RPLS_CONSTRUCT].i, 1975);
	assert_int_equal(c->last_row.value[DH_RPLS_BAIL].i, 20190300);
	assert_true(DH_RPLS_HAS(&c->last_row, DH_RPLS_DEPCOM));
	assert_false(DH_RPLS_HAS(&c->last_row, DH_RPLS_INDREP)); /* empty */
	assert_int_equal(c->last_row.commune, dh_geo_commune_find(geo, DH_STR_LIT("29232")));
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_no_header_and_landlord(void **state)
{
	(void)state;
	/* without header: canonical order, lines start at 1 */
	buf b = { 0 };
	add_row(&b, 1, NULL);
	const change bad[] = { { DH_RPLS_NBPIECE, "12" }, { -1, NULL } };
	add_row(&b, 2, bad);
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(stats.has_header, 0);
	assert_int_equal(stats.rows, 2);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->issue[0].row, 2);
	assert_string_equal(c->issue[0].code, "range");
	assert_string_equal(c->issue[0].message, "NBPIECE vaut « 12 » : attendu un entier de 1 à 9");
	dh_validate_stats_release(&stats);

	/* landlord record, then header, then rows: the SIREN is kept, lines count from the file */
	buf l = { 0 };
	dh_textbuf_str(&l, "552081317;OPH Exemple;2025\n");
	add_header(&l);
	add_row(&l, 1, NULL);
	add_row(&l, 2, bad);
	memset(c, 0, sizeof(*c));
	assert_int_equal(run(l.p, c, &stats), DH_OK);
	assert_string_equal(stats.landlord_siren, "552081317");
	assert_int_equal(stats.has_header, 1);
	assert_int_equal(stats.rows, 2);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->issue[0].row, 4);
	dh_validate_stats_release(&stats);

	/* a short first record not followed by a header is a data record: too-few-fields */
	buf s = { 0 };
	dh_textbuf_str(&s, "552081317;OPH Exemple\n");
	add_row(&s, 1, NULL);
	memset(c, 0, sizeof(*c));
	assert_int_equal(run(s.p, c, &stats), DH_OK);
	assert_string_equal(stats.landlord_siren, "");
	assert_int_equal(stats.rows, 2);
	assert_int_equal(stats.rows_valid, 1);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->issue[0].code, "too-few-fields");
	assert_int_equal(c->issue[0].row, 1);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
	free(l.p);
	free(s.p);
}

static void test_field_rules(void **state)
{
	(void)state;
	ONE(DEPCOM, "", "required", DH_SEV_ERROR);
	ONE(IDENT_INT, "", "required", DH_SEV_ERROR);
	ONE(MODE, " ", "required", DH_SEV_ERROR);
	ONE(NOMVOIE,
	    "RUE AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAXX",
	    "length", DH_SEV_ERROR);
	ONE(IDENT_REP, "12345678901", "length", DH_SEV_ERROR);
	ONE(NBPIECE, "abc", "type", DH_SEV_ERROR);
	ONE(SURFHAB, "12a", "type", DH_SEV_ERROR);
	ONE(SURFHAB, "1,2,3", "type", DH_SEV_ERROR);
	ONE(CONSTRUCT, "75", "type", DH_SEV_ERROR);
	ONE(LOYERACC, "n/a", "type", DH_SEV_ERROR);
	ONE(TYPECONST, "X", "code-list", DH_SEV_ERROR);
	ONE(FINAN, "18", "code-list", DH_SEV_ERROR);
	ONE(CUS, "12", "code-list", DH_SEV_ERROR);
	ONE(DROIT, "6", "code-list", DH_SEV_ERROR);
	ONE(DPEENERGIE, "H", "code-list", DH_SEV_ERROR);
	ONE(DEPCOM, "2C004", "code-list", DH_SEV_ERROR);
	ONE(CODEPOSTAL, "2900", "code-list", DH_SEV_ERROR);
	ONE(QPV_CODE, "QX029001", "code-list", DH_SEV_ERROR);
	ONE(CONTRESLOG, "8", "code-list", DH_SEV_ERROR);
	ONE(NBPIECE, "12", "range", DH_SEV_ERROR);
	ONE(NBPIECE, "0", "range", DH_SEV_ERROR);
	ONE(SURFHAB, "0", "range", DH_SEV_ERROR);
	ONE(SURFHAB, "1000,5", "range", DH_SEV_ERROR);
	ONE(LOYERPRINC, "-5", "range", DH_SEV_ERROR);
	ONE(CONTRIB, "-0,01", "range", DH_SEV_ERROR);
	ONE(CONSTRUCT, "1750", "range", DH_SEV_ERROR);
	ONE(BAIL, "13/2019", "date", DH_SEV_ERROR);
	ONE(DATCONV, "31/02/1976", "date", DH_SEV_ERROR);
	ONE(DATCONV, "1976-02-01", "date", DH_SEV_ERROR);
	ONE(REMLOCDATE, "12/1899", "date", DH_SEV_ERROR);
	ONE(SURFHAB,
	    "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
	    "1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111x",
	    "type", DH_SEV_ERROR);
	ONE(CONSTRUCT, "2031", "date-future", DH_SEV_ERROR);
	ONE(BAIL, "03/2026", "date-future", DH_SEV_ERROR);
	ONE(DPEDATE, "01/01/2027", "date-future", DH_SEV_ERROR);
}

static void test_field_rules_accepted(void **state)
{
	(void)state;
	/* values that look odd but are valid give no issue at all */
	static const change ok[][3] = {
		{ { DH_RPLS_SURFHAB, "65.5" }, { -1, NULL } },
		{ { DH_RPLS_SURFHAB, "  65 " }, { -1, NULL } },
		{ { DH_RPLS_DATCONV, "29/02/2024" }, { -1, NULL } },
		{ { DH_RPLS_BAIL, "12/2025" }, { -1, NULL } },
		{ { DH_RPLS_LOYERPRINC, "9999" }, { -1, NULL } },
		{ { DH_RPLS_QPV_CODE, "QN02902M" }, { DH_RPLS_QPV, "1" }, { -1, NULL } },
		{ { DH_RPLS_QPV_CODE, "QP029001" }, { -1, NULL } },
		{ { DH_RPLS_DEPCOM, "2A004" }, { DH_RPLS_CODEPOSTAL, "20090" }, { -1, NULL } },
		{ { DH_RPLS_NOMVOIE, "DE L'ÉGLISE SAINT-CORENTIN" }, { -1, NULL } },
		{ { DH_RPLS_DPEDATE, "01/1900" }, { DH_RPLS_DPEENERGIE, "" }, { DH_RPLS_DPESERRE, "" } },
		{ { DH_RPLS_MODE, "3" }, { DH_RPLS_BAIL, "" }, { DH_RPLS_REMLOCDATE, "" } },
	};
	for (size_t t = 0; t < sizeof(ok) / sizeof(ok[0]); t++) {
		buf b = { 0 };
		add_header(&b);
		change ch[4];
		size_t n = 0;
		for (; n < 3 && ok[t][n].value; n++)
			ch[n] = ok[t][n];
		ch[n] = (change){ -1, NULL };
		add_row(&b, 1, ch);
		collected *c = calloc(1, sizeof(*c));
		dh_validate_stats stats;
		assert_int_equal(run(b.p, c, &stats), DH_OK);
		if (c->n)
			print_message("case %zu: %s %s\n", t, c->issue[0].code, c->issue[0].message);
		assert_int_equal(c->n, 0);
		assert_int_equal(stats.rows_valid, 1);
		dh_validate_stats_release(&stats);
		free(c);
		free(b.p);
	}
}

static void test_cross_field_rules(void **state)
{
	(void)state;
	ONE(LOCAT, "1970", "locat-before-construct", DH_SEV_ERROR);
	ONE(PATRIMOINE, "1974", "patrimoine-before-construct", DH_SEV_ERROR);
	ONE(BAIL, "", "bail-missing", DH_SEV_ERROR);
	{
		const change ch[] = { { DH_RPLS_MODE, "2" }, { DH_RPLS_REMLOCDATE, "" }, { -1, NULL } };
		check_one_rule(ch, "remlocdate-missing", DH_RPLS_REMLOCDATE, DH_SEV_ERROR);
	}
	ONE(DPEDATE, "01/1900", "dpe-inconsistent", DH_SEV_ERROR);
	ONE(DPEDATE, "", "dpe-inconsistent", DH_SEV_ERROR);
	{
		const change ch[] = { { DH_RPLS_DPESERRE, "" }, { -1, NULL } };
		check_one_rule(ch, "dpe-inconsistent", DH_RPLS_DPEDATE, DH_SEV_ERROR);
	}
	ONE(SURFHAB, "15", "surface-implausible", DH_SEV_WARNING);
	ONE(SURFHAB, "230,5", "surface-implausible", DH_SEV_WARNING);
	/* a field that failed its own check does not also trigger the cross-field rule */
	ONE(LOCAT, "19x0", "type", DH_SEV_ERROR);
	ONE(CONSTRUCT, "2030", "date-future", DH_SEV_ERROR);
	ONE(BAIL, "00/2019", "date", DH_SEV_ERROR);
	ONE(DPEENERGIE, "Z", "code-list", DH_SEV_ERROR);
}

static void test_geography_rules(void **state)
{
	(void)state;
	ONE(DEPCOM, "29999", "commune-unknown", DH_SEV_ERROR);
	ONE(CODEPOSTAL, "35000", "postcode-mismatch", DH_SEV_WARNING);
	{
		const change ch[] = { { DH_RPLS_DEPCOM, "29052" }, { DH_RPLS_CODEPOSTAL, "29770" }, { -1, NULL } };
		check_one_rule(ch, "commune-former", DH_RPLS_DEPCOM, DH_SEV_WARNING);
	}
	/* the former commune's row is attached to its current commune; the message names it */
	buf b = { 0 };
	add_header(&b);
	const change ch[] = { { DH_RPLS_DEPCOM, "29052" }, { DH_RPLS_CODEPOSTAL, "29770" }, { -1, NULL } };
	add_row(&b, 1, ch);
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->last_row.commune, dh_geo_commune_find(geo, DH_STR_LIT("29003")));
	assert_non_null(strstr(c->issue[0].message, "Esquibien"));
	assert_non_null(strstr(c->issue[0].message, "29003 Audierne"));
	assert_int_equal(c->last_has_errors, 0);
	dh_validate_stats_release(&stats);
	/* Paris arrondissements are subdivisions, not former communes: no warning */
	free(b.p);
	b = (buf){ 0 };
	add_header(&b);
	const change arr[] = { { DH_RPLS_DEPCOM, "75101" }, { DH_RPLS_CODEPOSTAL, "75001" }, { -1, NULL } };
	add_row(&b, 1, arr);
	memset(c, 0, sizeof(*c));
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 0);
	assert_int_equal(c->last_row.commune, dh_geo_commune_find(geo, DH_STR_LIT("75056")));
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_duplicates(void **state)
{
	(void)state;
	buf b = { 0 };
	add_header(&b);
	add_row(&b, 1, NULL);
	add_row(&b, 2, NULL);
	const change dup_rep[] = { { DH_RPLS_IDENT_REP, "1000000001" }, { -1, NULL } };
	add_row(&b, 3, dup_rep); /* line 4: IDENT_REP of line 2 */
	const change dup_int[] = { { DH_RPLS_IDENT_INT, "LGT-000002" }, { -1, NULL } };
	add_row(&b, 4, dup_int); /* line 5: IDENT_INT of line 3 */
	const change empty_rep[] = { { DH_RPLS_IDENT_REP, "" }, { -1, NULL } };
	add_row(&b, 5, empty_rep); /* empty IDENT_REP twice: not duplicates */
	add_row(&b, 6, empty_rep);
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->issue[0].code, "duplicate-ident-rep");
	assert_int_equal(c->issue[0].row, 4);
	assert_int_equal(c->issue[0].column, 1);
	assert_non_null(strstr(c->issue[0].message, "ligne 2"));
	assert_string_equal(c->issue[1].code, "duplicate-ident-int");
	assert_int_equal(c->issue[1].row, 5);
	assert_int_equal(c->issue[1].column, 2);
	assert_non_null(strstr(c->issue[1].message, "ligne 3"));
	assert_int_equal(stats.rows_valid, 4);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_duplicates_many(void **state)
{
	(void)state;
	/* 20000 distinct ids (the sets grow past their first size), then every 1000th repeated */
	buf b = { 0 };
	add_header(&b);
	for (int i = 1; i <= 20000; i++)
		add_row(&b, i, NULL);
	for (int i = 1000; i <= 20000; i += 1000) {
		char rep[24], intl[32];
		snprintf(rep, sizeof(rep), "10000%05d", i);
		snprintf(intl, sizeof(intl), "LGT-%06d", i);
		const change ch[] = { { DH_RPLS_IDENT_REP, rep }, { DH_RPLS_IDENT_INT, intl }, { -1, NULL } };
		add_row(&b, 0, ch);
	}
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	dh_validate_options opt = { .reference_year = 2025, .input_size = b.len };
	assert_int_equal(run_opts(b.p, b.len, &opt, c, &stats), DH_OK);
	assert_int_equal(c->n, 40);
	assert_int_equal(stats.rows, 20020);
	assert_int_equal(stats.rows_valid, 20000);
	for (size_t i = 0; i < dh_validate_rule_count(); i++) {
		const char *code = dh_validate_rule_code(i);
		int dup = strncmp(code, "duplicate-ident", 15) == 0;
		assert_int_equal(stats.rule_counts[i], dup ? 20 : 0);
	}
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

/* A file large enough for the two-thread pipeline and the dense commune tables gives exactly
 * the issues, in the same order, and the stats of the one-thread path. */
static void test_pipeline_same_result(void **state)
{
	(void)state;
	static const change faults[][3] = {
		{ { DH_RPLS_NBPIECE, "12" }, { -1, NULL } },
		{ { DH_RPLS_DEPCOM, "29052" }, { DH_RPLS_CODEPOSTAL, "29770" }, { -1, NULL } },
		{ { DH_RPLS_DEPCOM, "29999" }, { -1, NULL } },
		{ { DH_RPLS_CODEPOSTAL, "35000" }, { -1, NULL } },
		{ { DH_RPLS_IDENT_REP, "1000000005" }, { -1, NULL } },
		{ { DH_RPLS_IDENT_INT, "LGT-000007" }, { -1, NULL } },
		{ { DH_RPLS_IDENT_INT, "" }, { -1, NULL } },
		{ { DH_RPLS_DPEDATE, "" }, { -1, NULL } },
		{ { DH_RPLS_SURFHAB, "15" }, { -1, NULL } },
		{ { DH_RPLS_DEPCOM, "75101" }, { DH_RPLS_CODEPOSTAL, "75001" }, { -1, NULL } },
	};
	buf b = { 0 };
	add_header(&b);
	size_t nfaults = sizeof(faults) / sizeof(faults[0]);
	for (int i = 1; i <= 30000; i++) {
		change ch[4];
		size_t n = 0;
		if (i % 97 == 0)
			for (const change *f = faults[(size_t)(i / 97) % nfaults]; n < 3 && f->value; f++)
				ch[n++] = *f;
		ch[n] = (change){ -1, NULL };
		add_row(&b, i, ch);
	}
	dh_textbuf_str(&b, "1;2;3\n"); /* and a short record at the end */
	assert_true(b.len > ((size_t)4 << 20));
	collected *c[2];
	dh_validate_stats stats[2];
	for (int t = 0; t < 2; t++) {
		c[t] = calloc(1, sizeof(*c[t]));
		dh_validate_options opt = { .reference_year = 2025, .input_size = t ? b.len : 0 };
		assert_int_equal(run_opts(b.p, b.len, &opt, c[t], &stats[t]), DH_OK);
	}
	assert_int_equal(c[0]->n, c[1]->n);
	assert_true(c[0]->n > 250);
	assert_true(c[0]->digest == c[1]->digest);
	assert_int_equal(c[0]->rows, 30001);
	assert_int_equal(c[1]->rows, 30001);
	assert_int_equal(stats[0].rows_valid, stats[1].rows_valid);
	assert_int_equal(stats[0].errors, stats[1].errors);
	assert_int_equal(stats[0].warnings, stats[1].warnings);
	for (size_t i = 0; i < dh_validate_rule_count(); i++)
		assert_int_equal(stats[0].rule_counts[i], stats[1].rule_counts[i]);
	for (int t = 0; t < 2; t++) {
		dh_validate_stats_release(&stats[t]);
		free(c[t]);
	}
	free(b.p);
}

static void test_record_rules(void **state)
{
	(void)state;
	buf b = { 0 };
	add_header(&b);
	add_row(&b, 1, NULL);
	dh_textbuf_str(&b, "1000000002;LGT-2;1\n"); /* line 3 */
	add_row(&b, 3, NULL);
	b.len--;
	dh_textbuf_str(&b, ";extra\n");               /* line 4 */
	const change quote[] = { { DH_RPLS_NOMVOIE, "DE LA \"GARE" }, { -1, NULL } };
	add_row(&b, 4, quote);                 /* line 5 */
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 3);
	assert_string_equal(c->issue[0].code, "too-few-fields");
	assert_int_equal(c->issue[0].row, 3);
	assert_int_equal(c->issue[0].column, 0);
	assert_string_equal(c->issue[1].code, "too-many-fields");
	assert_int_equal(c->issue[1].row, 4);
	assert_string_equal(c->issue[2].code, "bad-quote");
	assert_int_equal(c->issue[2].row, 5);
	assert_int_equal(c->issue[2].column, DH_RPLS_NOMVOIE + 1);
	assert_string_equal(c->issue[2].field_name, "NOMVOIE");
	assert_int_equal(stats.rows, 4);
	assert_int_equal(stats.rows_valid, 1);
	dh_validate_stats_release(&stats);

	/* invalid UTF-8 in a UTF-8 file */
	free(b.p);
	b = (buf){ 0 };
	add_header(&b);
	const change bad_utf8[] = { { DH_RPLS_LIBCOM, "Quimper \xC3\xA9t\xC3" }, { -1, NULL } };
	add_row(&b, 1, bad_utf8);
	memset(c, 0, sizeof(*c));
	dh_validate_options opt = { .reference_year = 2025, .csv.encoding = DH_ENC_UTF8 };
	assert_int_equal(run_opts(b.p, b.len, &opt, c, &stats), DH_OK);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->issue[0].code, "invalid-utf8");
	assert_int_equal(c->issue[0].column, DH_RPLS_LIBCOM + 1);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_header_rules(void **state)
{
	(void)state;
	/* unknown column (warning, once), duplicate column (error), rows still checked */
	buf b = { 0 };
	add_header(&b);
	b.len--;
	dh_textbuf_str(&b, ";REMARQUE;nbpiece\n");
	for (int i = 1; i <= 3; i++) {
		add_row(&b, i, NULL);
		b.len--;
		dh_textbuf_str(&b, ";rien;4\n");
	}
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->issue[0].code, "unknown-column");
	assert_int_equal(c->issue[0].row, 1);
	assert_int_equal(c->issue[0].column, DH_RPLS_NFIELDS + 1);
	assert_string_equal(c->issue[0].field_name, "REMARQUE");
	assert_int_equal(c->issue[0].severity, DH_SEV_WARNING);
	assert_string_equal(c->issue[1].code, "duplicate-column");
	assert_int_equal(c->issue[1].column, DH_RPLS_NFIELDS + 2);
	assert_int_equal(c->issue[1].field, DH_RPLS_NBPIECE);
	assert_int_equal(stats.rows, 3);
	assert_int_equal(stats.rows_valid, 3);
	dh_validate_stats_release(&stats);

	/* missing required columns: one issue each, file not checked further */
	const char *missing = "IDENT_REP;IDENT_INT;DEPCOM;TYPECONST;NBPIECE;SURFHAB\n"
			      "1;A;29232;C;3;60\n";
	memset(c, 0, sizeof(*c));
	assert_int_equal(run(missing, c, &stats), DH_INVALID_DATA);
	assert_int_equal(stats.rows, 0);
	size_t required_absent = 0;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		required_absent += dh_rpls_field(f)->required && f != DH_RPLS_IDENT_REP && f != DH_RPLS_IDENT_INT &&
				   f != DH_RPLS_DEPCOM && f != DH_RPLS_TYPECONST && f != DH_RPLS_NBPIECE &&
				   f != DH_RPLS_SURFHAB;
	assert_true(required_absent > 0);
	assert_int_equal(c->n, required_absent);
	for (size_t i = 0; i < c->n; i++) {
		assert_string_equal(c->issue[i].code, "missing-column");
		assert_int_equal(c->issue[i].row, 1);
		assert_int_equal(c->issue[i].column, 0);
	}
	assert_int_equal(c->issue[0].field, DH_RPLS_DROIT);
	dh_validate_stats_release(&stats);

	/* empty file */
	memset(c, 0, sizeof(*c));
	assert_int_equal(run("", c, &stats), DH_INVALID_DATA);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->issue[0].code, "empty-file");
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

/* Same dwellings with accents in UTF-8 and in Windows-1252: same issues, same messages. */
static void test_encodings(void **state)
{
	(void)state;
	char long_utf8[256] = "", long_cp[128] = "";
	for (int i = 0; i < 101; i++) { /* 101 characters: one more than LIBSEGPATRIM allows */
		strcat(long_utf8, "\xC3\xA9");
		strcat(long_cp, "\xE9");
	}
	const char *utf8_vals[4] = { "Quimper", "DE L'\xC3\x89GLISE", "R\xC3\xA9sidence des \xC3\x89t\xC3\xA9s du Steir",
				     long_utf8 };
	const char *cp_vals[4] = { "Quimper", "DE L'\xC9GLISE", "R\xE9sidence des \xC9t\xE9s du Steir", long_cp };
	collected *res[2];
	dh_validate_stats stats[2];
	for (int e = 0; e < 2; e++) {
		const char *const *vals = e == 0 ? utf8_vals : cp_vals;
		buf b = { 0 };
		add_header(&b);
		const change ch[] = { { DH_RPLS_LIBCOM, vals[0] }, { DH_RPLS_NOMVOIE, vals[1] }, { DH_RPLS_IMMEU, vals[2] },
				      { -1, NULL } };
		add_row(&b, 1, ch);
		const change ch2[] = { { DH_RPLS_NOMVOIE, vals[1] }, { DH_RPLS_LIBSEGPATRIM, vals[3] }, { DH_RPLS_NBPIECE, "x" },
				       { -1, NULL } };
		add_row(&b, 2, ch2);
		res[e] = calloc(1, sizeof(*res[e]));
		assert_int_equal(run(b.p, res[e], &stats[e]), DH_OK);
		free(b.p);
	}
	assert_string_equal(stats[0].encoding, "utf-8");
	assert_string_equal(stats[1].encoding, "windows-1252");
	assert_int_equal(res[0]->n, 2);
	assert_int_equal(res[1]->n, 2);
	assert_string_equal(res[0]->issue[0].code, "type");
	assert_string_equal(res[0]->issue[1].code, "length");
	assert_non_null(strstr(res[0]->issue[1].message, "101 caractères"));
	for (size_t i = 0; i < res[0]->n; i++) {
		assert_int_equal(res[0]->issue[i].row, res[1]->issue[i].row);
		assert_int_equal(res[0]->issue[i].column, res[1]->issue[i].column);
		assert_string_equal(res[0]->issue[i].code, res[1]->issue[i].code);
		assert_string_equal(res[0]->issue[i].value, res[1]->issue[i].value);
		assert_string_equal(res[0]->issue[i].message, res[1]->issue[i].message);
	}
	for (int e = 0; e < 2; e++) {
		dh_validate_stats_release(&stats[e]);
		free(res[e]);
	}
}

static void test_length_counts_characters(void **state)
{
	(void)state;
	/* 10 characters, 20 bytes: fits IDENT_REP (10) */
	const change ok[] = { { DH_RPLS_IDENT_REP, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9" },
			      { -1, NULL } };
	buf b = { 0 };
	add_header(&b);
	add_row(&b, 1, ok);
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_OK);
	assert_int_equal(c->n, 0);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_opendata_layout(void **state)
{
	(void)state;
	const char *od =
		"REG_CODE;REG_LIBELLE;DEP_CODE;DEP_LIBELLE;EPCI_CODE;EPCI_LIBELLE;DEPCOM_CODE;DEPCOM_LIBELLE;"
		"CODEPOSTAL;NUMVOIE;TYPVOIE;NOMVOIE;QPV_CODE;TYPECONST_CODE;TYPECONST_LIBELLE;NBPIECE;SURFHAB;"
		"CONSTRUCT;LOCAT;ORIGINE_CODE;FINAN_CODE;FINAN_LIBELLE;CONV_CODE;DPEDATE;DPEENERGIE;DPESERRE;X;Y\n"
		"53;Bretagne;29;Finistère;200068120;Quimper Bretagne Occidentale;29232;Quimper;29000;12;RUE;DE LA GARE;;"
		"C;Collectif;3;65;1975;1976;1;52;HLM/O;1;06/2021;D;E;171234.5;6789012.3\n"
		"53;Bretagne;29;Finistère;200068120;Quimper Bretagne Occidentale;29232;Quimper;29000;14;RUE;DE LA GARE;;"
		"Z;?;3;65;1975;1976;1;52;HLM/O;1;06/2021;D;E;171234.5;6789012.3\n";
	collected *c = calloc(1, sizeof(*c));
	dh_validate_stats stats;
	assert_int_equal(run(od, c, &stats), DH_OK);
	assert_int_equal(stats.layout, DH_LAYOUT_RPLS_OPENDATA_DIDO);
	assert_int_equal(stats.rows, 2);
	assert_int_equal(stats.rows_valid, 1);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->issue[0].code, "code-list");
	assert_int_equal(c->issue[0].row, 3);
	assert_int_equal(c->issue[0].column, 14);
	assert_int_equal(c->issue[0].field, DH_RPLS_TYPECONST);
	assert_string_equal(c->issue[0].field_name, "TYPECONST_CODE");
	assert_int_equal(c->last_row.commune, dh_geo_commune_find(geo, DH_STR_LIT("29232")));
	dh_validate_stats_release(&stats);

	/* forced RPLS layout on the open-data file: *_CODE columns are unknown, required ones missing */
	memset(c, 0, sizeof(*c));
	dh_validate_options opt = { .layout = DH_LAYOUT_RPLS, .reference_year = 2025 };
	assert_int_equal(run_opts(od, strlen(od), &opt, c, &stats), DH_INVALID_DATA);
	assert_true(stats.rule_counts[0] + stats.errors > 0);
	int missing = 0, unknown = 0;
	for (size_t i = 0; i < c->n; i++) {
		missing += strcmp(c->issue[i].code, "missing-column") == 0;
		unknown += strcmp(c->issue[i].code, "unknown-column") == 0;
	}
	assert_true(missing > 0);
	assert_true(unknown > 0);
	dh_validate_stats_release(&stats);

	/* the open-data layout needs a header */
	memset(c, 0, sizeof(*c));
	buf b = { 0 };
	add_row(&b, 1, NULL);
	opt.layout = DH_LAYOUT_RPLS_OPENDATA;
	assert_int_equal(run_opts(b.p, b.len, &opt, c, &stats), DH_INVALID_DATA);
	dh_validate_stats_release(&stats);
	free(b.p);
	free(c);
}

static void test_report_cap_and_json(void **state)
{
	(void)state;
	buf b = { 0 };
	add_header(&b);
	const change bad[] = { { DH_RPLS_NBPIECE, "12" }, { -1, NULL } };
	for (int i = 1; i <= 5; i++)
		add_row(&b, i, bad);
	const change warn[] = { { DH_RPLS_SURFHAB, "15" }, { -1, NULL } };
	add_row(&b, 6, warn);

	dh_report *r;
	assert_int_equal(dh_report_new(&r, 2), DH_OK);
	dh_csv *csv;
	dh_error err;
	assert_int_equal(dh_csv_open_mem(&csv, b.p, b.len, "t.csv", NULL, &err), DH_OK);
	dh_validate_callbacks cb = { .on_issue = dh_report_on_issue, .ctx = r };
	dh_validate_options opt = { .reference_year = 2025 };
	dh_validate_stats stats;
	assert_int_equal(dh_validate_csv(csv, &opt, geo, &cb, &stats, &err), DH_OK);
	dh_csv_free(csv);
	assert_int_equal(dh_report_set_stats(r, "t.csv", &stats), DH_OK);
	dh_validate_stats_release(&stats);
	assert_int_equal(dh_report_issue_count(r), 2);
	assert_int_equal(dh_report_omitted(r), 4);

	char *text = NULL;
	assert_int_equal(dh_report_to_json_string(r, &text), DH_OK);
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_true(json_is_false(json_object_get(root, "valid")));
	json_t *st = json_object_get(root, "stats");
	assert_int_equal(json_integer_value(json_object_get(st, "rows")), 6);
	assert_int_equal(json_integer_value(json_object_get(st, "rows_valid")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "errors")), 5);
	assert_int_equal(json_integer_value(json_object_get(st, "warnings")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "bytes")), b.len);
	assert_string_equal(json_string_value(json_object_get(st, "delimiter")), ";");
	assert_string_equal(json_string_value(json_object_get(st, "layout")), "rpls");
	assert_string_equal(json_string_value(json_object_get(st, "encoding")), "ascii");
	json_t *errors = json_object_get(root, "errors");
	assert_int_equal(json_array_size(errors), 2);
	json_t *e0 = json_array_get(errors, 0);
	assert_int_equal(json_integer_value(json_object_get(e0, "row")), 2);
	assert_int_equal(json_integer_value(json_object_get(e0, "column")), DH_RPLS_NBPIECE + 1);
	assert_string_equal(json_string_value(json_object_get(e0, "field")), "NBPIECE");
	assert_string_equal(json_string_value(json_object_get(e0, "value")), "12");
	assert_string_equal(json_string_value(json_object_get(e0, "code")), "range");
	assert_string_equal(json_string_value(json_object_get(e0, "severity")), "error");
	json_t *counts = json_object_get(root, "counts");
	assert_int_equal(json_object_size(counts), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "range")), 5);
	assert_int_equal(json_integer_value(json_object_get(counts, "surface-implausible")), 1);
	json_decref(root);
	free(text);

	/* CSV and text writers */
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	assert_int_equal(dh_report_write_csv(r, f), DH_OK);
	fclose(f);
	assert_non_null(strstr(mem, "row;column;field;value;code;severity;message\n2;20;NBPIECE;12;range;error;"));
	free(mem);
	f = open_memstream(&mem, &memlen);
	assert_int_equal(dh_report_write_text(r, f), DH_OK);
	fclose(f);
	assert_non_null(strstr(mem, "ligne 2, colonne 20 (NBPIECE) : erreur [range] : NBPIECE vaut « 12 »"));
	assert_non_null(strstr(mem, "4 autres problèmes"));
	assert_non_null(strstr(mem, "fichier non conforme"));
	free(mem);
	dh_report_free(r);
	free(b.p);
}

static void test_callback_stops(void **state)
{
	(void)state;
	buf b = { 0 };
	add_header(&b);
	const change bad[] = { { DH_RPLS_NBPIECE, "12" }, { -1, NULL } };
	for (int i = 1; i <= 5; i++)
		add_row(&b, i, bad);
	collected *c = calloc(1, sizeof(*c));
	c->stop_on_issue = DH_CONFLICT;
	dh_validate_stats stats;
	assert_int_equal(run(b.p, c, &stats), DH_CONFLICT);
	assert_int_equal(c->n, 1);
	dh_validate_stats_release(&stats);
	free(c);
	free(b.p);
}

static void test_rule_table(void **state)
{
	(void)state;
	/* every code of docs/validation.md is in the table, with a French label */
	static const char *const codes[] = {
		"empty-file", "missing-column", "duplicate-column", "unknown-column", "too-many-fields",
		"too-few-fields", "invalid-utf8", "bad-quote", "field-too-long", "record-too-long", "required",
		"length", "type", "code-list", "range", "date", "date-future", "locat-before-construct",
		"patrimoine-before-construct", "bail-missing", "remlocdate-missing", "dpe-inconsistent",
		"surface-implausible", "commune-unknown", "commune-former", "postcode-mismatch",
		"duplicate-ident-rep", "duplicate-ident-int",
	};
	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		int found = 0;
		for (size_t i = 0; i < dh_validate_rule_count(); i++)
			if (strcmp(dh_validate_rule_code(i), codes[k]) == 0) {
				found = 1;
				assert_true(strlen(dh_validate_rule_label(i)) > 5);
			}
		if (!found)
			print_message("missing rule %s\n", codes[k]);
		assert_true(found);
	}
	assert_null(dh_validate_rule_code(dh_validate_rule_count()));
	assert_int_equal(dh_layout_parse("rpls-opendata"), DH_LAYOUT_RPLS_OPENDATA);
	assert_int_equal(dh_layout_parse("xml"), -1);
	assert_string_equal(dh_layout_name(DH_LAYOUT_RPLS), "rpls");
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
		cmocka_unit_test(test_clean_file),
		cmocka_unit_test(test_no_header_and_landlord),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_field_rules_accepted),
		cmocka_unit_test(test_cross_field_rules),
		cmocka_unit_test(test_geography_rules),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_duplicates_many),
		cmocka_unit_test(test_pipeline_same_result),
		cmocka_unit_test(test_record_rules),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_length_counts_characters),
		cmocka_unit_test(test_opendata_layout),
		cmocka_unit_test(test_report_cap_and_json),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_rule_table),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
