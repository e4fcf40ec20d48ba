/*
 * fuzz_validate.c - libFuzzer target of the stock-file validator and its report writers:
 * the first byte picks options (encoding, layout, delimiter, report cap), the rest is the
 * file, checked against the real geography (loaded once) and written as text, JSON and CSV.
 * `make check` replays the corpus tests/fuzz/corpus/fuzz_validate/ through replay.c.
 */
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

/* Issue callback that checks the issue is well formed before keeping it in the report. */
static int on_issue(void *ctx, const dh_issue *issue)
{
	if (!issue->code || !issue->code[0] || !issue->message || !issue->field_name ||
	    (issue->value.len && !issue->value.ptr))
		abort();
	return dh_report_on_issue(ctx, issue);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t sel = data[0];
	static const char delims[4] = { 0, ';', ',', '\t' };
	dh_validate_options opt = { 0 };
	opt.csv.encoding = (dh_encoding)(sel % 3);
	opt.layout = (dh_layout)((sel >> 2) % 3);
	opt.csv.delimiter = delims[(sel >> 4) & 3];
	opt.reference_year = 2025;
	opt.csv.max_field = 4096;
	opt.csv.max_record = 16384;
	size_t cap = (sel & 0x40) ? 3 : 1000;

	dh_csv *csv = NULL;
	dh_error err;
	if (dh_csv_open_mem(&csv, data + 1, size - 1, "fuzz.csv", &opt.csv, &err) != DH_OK)
		return 0;
	dh_report *report = NULL;
	if (dh_report_new(&report, cap) != DH_OK) {
		dh_csv_free(csv);
		return 0;
	}
	dh_validate_callbacks cb = { .on_issue = on_issue, .ctx = report };
	dh_validate_stats stats;
	int rc = dh_validate_csv(csv, &opt, load_geo(), &cb, &stats, &err);
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
