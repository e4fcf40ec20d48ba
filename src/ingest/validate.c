/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate.c - the stock-file validator: decides the layout from the header line (or the
 * canonical order), then streams the records of a dh_csv reader, checks every rule of
 * docs/validation.md through a per-column table built once, and hands issues and typed
 * rows to the caller's callbacks while keeping complete counts per rule.
 *
 * This file is the driver; the stages live in validate_layout.c (first records, column
 * table), validate_record.c (the checks of one record: the hot path), validate_idset.c
 * (duplicate ids), validate_pipeline.c and validate_parallel.c (large inputs).
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- public rule and layout tables ------------------------------------------------- */

size_t dh_validate_rule_count(void)
{
	return DH__RULE_COUNT - 1;
}

const char *dh_validate_rule_code(size_t i)
{
	return i < DH__RULE_COUNT - 1 ? dh__rule_code((int)i + 1) : NULL;
}

const char *dh_validate_rule_label(size_t i)
{
	return i < DH__RULE_COUNT - 1 ? dh__rule_label((int)i + 1) : NULL;
}

static const char *const layout_names[] = {
	[DH_LAYOUT_AUTO] = "auto",
	[DH_LAYOUT_RPLS] = "rpls",
	[DH_LAYOUT_RPLS_OPENDATA] = "rpls-opendata",
	[DH_LAYOUT_RPLS_ARRETE] = "rpls-arrete",
	[DH_LAYOUT_RPLS_OPENDATA_2017] = "rpls-opendata-2017",
	[DH_LAYOUT_RPLS_OPENDATA_DIDO] = "rpls-opendata-dido",
};

const char *dh_layout_name(dh_layout layout)
{
	return (unsigned)layout < sizeof(layout_names) / sizeof(layout_names[0]) ? layout_names[layout] : "auto";
}

int dh_layout_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(layout_names) / sizeof(layout_names[0]); i++)
		if (strcmp(name, layout_names[i]) == 0)
			return (int)i;
	return -1;
}

int dh_layout_is_opendata(dh_layout layout)
{
	return layout == DH_LAYOUT_RPLS_OPENDATA || layout == DH_LAYOUT_RPLS_OPENDATA_2017 ||
	       layout == DH_LAYOUT_RPLS_OPENDATA_DIDO;
}

void dh_validate_stats_release(dh_validate_stats *stats)
{
	if (!stats)
		return;
	free(stats->rule_counts);
	stats->rule_counts = NULL;
}

/* ---- driver ------------------------------------------------------------------------- */

static int current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm))
		return 2100;
	return tm.tm_year + 1900;
}

static void fill_reader_stats(dh_validate_stats *stats, const dh_csv *csv)
{
	stats->bytes = dh_csv_bytes(csv);
	stats->encoding = dh_encoding_name(dh_csv_encoding(csv), dh_csv_saw_non_ascii(csv));
	stats->delimiter = dh_csv_delimiter(csv);
}


/* File-level rules checked once every record is read: a header without records, the
 * record count the arrêté's header line declares. */
static int check_file_end(validator *v)
{
	dh_validate_stats *st = v->stats;
	if (st->rows == 0 && (st->has_header || st->layout == DH_LAYOUT_RPLS_ARRETE))
		return dh__emit(v, DH__RULE_NO_RECORDS, 0, 0, -1, "", DH__NO_VALUE,
				"le fichier n'a aucun enregistrement logement après sa ligne d'en-tête : attendu une "
				"ligne par logement");
	if (st->layout == DH_LAYOUT_RPLS_ARRETE && st->declared_records >= 0 &&
	    (uint64_t)st->declared_records != st->rows) {
		char value[24];
		int n = snprintf(value, sizeof(value), "%lld", (long long)st->declared_records);
		return dh__emit(v, DH__RULE_ARRETE_COUNT, v->arrete_line, 11, -1, "NBENREG",
				(dh_str){ value, n > 0 ? (size_t)n : 0 },
				"l'en-tête annonce %lld enregistrements logement (position 11) mais le fichier en "
				"compte %llu", (long long)st->declared_records, (unsigned long long)st->rows);
	}
	return DH_OK;
}

int dh_validate_csv(dh_csv *csv, const dh_validate_options *opt, const dh_geo *geo,
		    const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err)
{
	static const dh_validate_options defaults;
	if (!opt)
		opt = &defaults;
	memset(stats, 0, sizeof(*stats));
	stats->encoding = "ascii";
	stats->layout = opt->layout;
	stats->declared_records = -1;
	stats->rule_counts = calloc(DH__RULE_COUNT, sizeof(uint64_t));
	if (!stats->rule_counts)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	if (!csv)
		return dh_error_set(err, DH_INVAL, "aucun lecteur CSV");

	validator *v = calloc(1, sizeof(*v));
	if (!v)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	v->geo = geo;
	v->cb = cb;
	v->stats = stats;
	v->reference_year = opt->reference_year > 0 ? opt->reference_year : current_year();
	v->input_size = opt->input_size;
	for (int f = 0; f < DH_RPLS_NALL; f++)
		v->col_of[f] = -1;
	v->row.commune = -1;

	dh_csv_record rec;
	int pending = 0;
	int rc = dh__validate_start(v, csv, opt, &rec, &pending, err);
	if (rc == DH_OK && pending)
		rc = dh__check_record(v, &rec);
	uint64_t size = 0;
	int parallel = rc == DH_OK && !(cb && cb->on_row) && dh__csv_rereadable(csv, &size) &&
		       dh__validate_parallel_wanted(size);
	if (parallel)
		rc = dh__validate_parallel(v, csv, size, err);
	else if (rc == DH_OK && v->input_size >= DH__PIPE_MIN_INPUT)
		rc = dh__validate_pipeline(v, csv, err);
	while (rc == DH_OK) {
		rc = dh_csv_next(csv, &rec, err);
		if (rc == DH_EOF) {
			rc = DH_EOF;
			break;
		}
		if (rc == DH_OK)
			rc = dh__check_record(v, &rec);
	}
	if (rc == DH_EOF)
		rc = DH_OK;
	if (rc == DH_OK)
		rc = check_file_end(v);
	if (!parallel || rc != DH_OK)
		fill_reader_stats(stats, csv);
	else
		stats->delimiter = dh_csv_delimiter(csv); /* bytes and encoding: dh__validate_parallel */
	if (stats->layout == DH_LAYOUT_AUTO)
		stats->layout = DH_LAYOUT_RPLS;
	if (dh__csv_was_utf16(csv))
		stats->encoding = "utf-16";
	if (rc == DH_NOMEM && err && err->code != DH_NOMEM)
		dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	dh__idset_release(&v->ids[0]);
	dh__idset_release(&v->ids[1]);
	free(v->cols);
	free(v->names);
	free(v->communes);
	free(v->postcodes);
	free(v);
	return rc;
}

int dh_validate_file(const char *path, const dh_validate_options *opt, const dh_geo *geo,
		     const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err)
{
	dh_validate_options local = { 0 };
	if (opt)
		local = *opt;
	dh_csv *csv = NULL;
	int rc = dh_csv_open_path(&csv, path, &local.csv, err);
	if (rc != DH_OK) {
		memset(stats, 0, sizeof(*stats));
		stats->encoding = "ascii";
		stats->declared_records = -1;
		stats->rule_counts = calloc(DH__RULE_COUNT, sizeof(uint64_t));
		return rc;
	}
	struct stat st;
	if (local.input_size == 0 && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		local.input_size = (uint64_t)st.st_size;
	rc = dh_validate_csv(csv, &local, geo, cb, stats, err);
	dh_csv_free(csv);
	return rc;
}
