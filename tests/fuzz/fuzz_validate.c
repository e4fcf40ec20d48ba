/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * fuzz_validate.c - libFuzzer target of the stock-file validator and its report writers:
 * the first byte picks options (encoding, layout, delimiter, report cap), the rest is the
 * file, checked against the real geography (loaded once) and written as text, JSON and CSV.
 * Each input is also validated by the block-parallel path with tiny blocks (1 to 64 bytes,
 * some with the encoding undecided in every block), which must give exactly the sequential
 * issues and counts. `make check` replays the corpus tests/fuzz/corpus/fuzz_validate/ through
 * replay.c.
 */
#include "ingest/internal.h"
#include "datahabitat/report.h"
#include "datahabitat/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dh_geo *geo;

static const dh_geo *load_geo(void)
{
	static int tried;
	if (!tried) {
		tried = 1;
		dh_error err;
		if (dh_geo_load(&geo, DH_SOURCE_DIR "/data/ref", &err) != DH_OK &&
		    dh_geo_load(&geo, dh_geo_default_dir(), &err) != DH_OK) {
			fprintf(stderr, "fuzz_validate: no geography: %s\n", err.message);
			abort();
		}
	}
	return geo;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001B3u;
	return h;
}

typedef struct sink {
	dh_report *report;
	uint64_t digest; /* every issue, in order */
} sink;

/* Issue callback that checks the issue is well formed before keeping it in the report. */
static int on_issue(void *ctx, const dh_issue *issue)
{
	if (!issue->code || !issue->code[0] || !issue->message || !issue->field_name ||
	    (issue->value.len && !issue->value.ptr))
		abort();
	sink *s = ctx;
	uint64_t h = fnv(s->digest, &issue->row, sizeof(issue->row));
	h = fnv(h, &issue->column, sizeof(issue->column));
	h = fnv(h, issue->code, strlen(issue->code));
	h = fnv(h, issue->field_name, strlen(issue->field_name));
	if (issue->value.len)
		h = fnv(h, issue->value.ptr, issue->value.len);
	s->digest = fnv(h, issue->message, strlen(issue->message) + 1);
	return s->report ? dh_report_on_issue(s->report, issue) : DH_OK;
}

static uint64_t stats_digest(int rc, const dh_validate_stats *st)
{
	uint64_t h = fnv(0xcbf29ce484222325u, &rc, sizeof(rc));
	uint64_t v[6] = { st->rows, st->rows_valid, st->errors, st->warnings, st->bytes, (uint64_t)st->delimiter };
	h = fnv(h, v, sizeof(v));
	h = fnv(h, st->encoding, strlen(st->encoding));
	if (st->rule_counts)
		h = fnv(h, st->rule_counts, dh_validate_rule_count() * sizeof(uint64_t));
	return h;
}

/* The sequential validation of the same input: digest of its issues and of its stats. */
static void sequential(const uint8_t *data, size_t size, const dh_validate_options *opt, uint64_t *issues,
		       uint64_t *stats_h)
{
	dh_csv *csv = NULL;
	dh_error err;
	*issues = *stats_h = 0;
	if (dh_csv_open_mem(&csv, data, size, "fuzz.csv", &opt->csv, &err) != DH_OK)
		return;
	sink s = { NULL, 0xcbf29ce484222325u };
	dh_validate_callbacks cb = { .on_issue = on_issue, .ctx = &s };
	dh_validate_stats stats;
	dh__validate_set_parallel(0, 0, 0);
	int rc = dh_validate_csv(csv, opt, load_geo(), &cb, &stats, &err);
	*issues = s.digest;
	*stats_h = stats_digest(rc, &stats);
	dh_validate_stats_release(&stats);
	dh_csv_free(csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t sel = data[0];
	static const char delims[4] = { 0, ';', ',', '\t' };
	dh_validate_options opt = { 0 };
	opt.csv.encoding = (dh_encoding)(sel % 3);
	opt.layout = (dh_layout)((sel >> 2) % 6); /* auto, rpls, the open-data vintages, rpls-arrete */
	opt.csv.delimiter = delims[(sel >> 4) & 3];
	opt.reference_year = 2025;
	opt.csv.max_field = 4096;
	opt.csv.max_record = 16384;
	size_t cap = (sel & 0x40) ? 3 : 1000;

	uint64_t want_issues, want_stats;
	sequential(data + 1, size - 1, &opt, &want_issues, &want_stats);
	/* then in parallel, blocks of 1 to 64 bytes */
	dh__validate_set_parallel(1 + (sel >> 7), 1 + (size * 7 + sel) % 64, 1);

	dh_csv *csv = NULL;
	dh_error err;
	if (dh_csv_open_mem(&csv, data + 1, size - 1, "fuzz.csv", &opt.csv, &err) != DH_OK)
		return 0;
	dh_report *report = NULL;
	if (dh_report_new(&report, cap) != DH_OK) {
		dh_csv_free(csv);
		return 0;
	}
	sink s = { report, 0xcbf29ce484222325u };
	dh_validate_callbacks cb = { .on_issue = on_issue, .ctx = &s };
	dh_validate_stats stats;
	int rc = dh_validate_csv(csv, &opt, load_geo(), &cb, &stats, &err);
	if (s.digest != want_issues || stats_digest(rc, &stats) != want_stats)
		abort(); /* the parallel report differs from the sequential one */
	if (rc != DH_OK && rc != DH_INVALID_DATA && rc != DH_NOMEM && rc != DH_IO)
		abort();
	/* invariants of the counts */
	uint64_t total = 0;
	for (size_t i = 0; i < dh_validate_rule_count(); i++)
		total += stats.rule_counts[i];
	if (total != stats.errors + stats.warnings || stats.rows_valid > stats.rows ||
	    dh_report_issue_count(report) + dh_report_omitted(report) != total)
		abort();
	if (dh_report_set_stats(report, "fuzz.csv", &stats) == DH_OK) {
		FILE *out = fopen("/dev/null", "w");
		if (out) {
			dh_report_write_text(report, out);
			dh_report_write_csv(report, out);
			dh_report_write_json(report, out);
			fclose(out);
		}
		char *json = NULL;
		if (dh_report_to_json_string(report, &json) == DH_OK && (!json || !json[0]))
			abort();
		free(json);
	}
	dh_validate_stats_release(&stats);
	dh_report_free(report);
	dh_csv_free(csv);
	return 0;
}
