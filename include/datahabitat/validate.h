/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate.h - checks a delivered stock file against an RPLS layout and the reference
 * geography, producing typed rows and a line-level report.
 *
 * The validator streams: it reads one record at a time (dh_csv), checks it, hands the
 * typed row to on_row and each problem to on_issue, and keeps complete counts per
 * rule code in dh_validate_stats whatever the caller keeps of the issues.
 * Report writers (text in French, JSON, CSV) live in report.h.
 */
#ifndef DATAHABITAT_VALIDATE_H
#define DATAHABITAT_VALIDATE_H

#include "datahabitat/base.h"
#include "datahabitat/csv.h"
#include "datahabitat/geo.h"
#include "datahabitat/rpls.h"

typedef enum dh_layout {
	DH_LAYOUT_AUTO = 0,         /* detect from the header line */
	DH_LAYOUT_RPLS,             /* RPLS transmission layout (domain.md §3) */
	DH_LAYOUT_RPLS_OPENDATA     /* SDES open-data "données détaillées au logement" */
} dh_layout;

/* "rpls", "rpls-opendata"; parse the same names (returns -1 if unknown). */
const char *dh_layout_name(dh_layout layout);
int dh_layout_parse(const char *name);

typedef enum dh_severity {
	DH_SEV_ERROR = 0,  /* the row is rejected */
	DH_SEV_WARNING     /* the row is kept */
} dh_severity;

/*
 * One problem found. Views and strings are valid only during the on_issue callback.
 * `code` is a stable rule identifier (e.g. "type", "code-list", "range", "date",
 * "date-future", "required", "cross-field", "commune-unknown", "commune-former",
 * "postcode-mismatch", "duplicate-ident-rep", "duplicate-ident-int", "too-many-fields",
 * "too-few-fields", "invalid-utf8", "unknown-column", "missing-column", ...): the list is
 * in docs/validation.md and dh_validate_rule_count()/dh_validate_rule().
 */
typedef struct dh_issue {
	uint64_t row;          /* 1-based line of the record in the file (header included), 0 for file-level */
	uint32_t column;       /* 1-based field number in the record, 0 if not about one field */
	int field;             /* enum dh_rpls_field, or -1 */
	const char *field_name;/* column name as in the file's header, or the canonical name; "" if none */
	const char *code;      /* stable rule code */
	dh_severity severity;
	dh_str value;          /* the offending value (UTF-8), empty if none */
	const char *message;   /* French sentence: what is wrong and what was expected */
} dh_issue;

typedef struct dh_validate_stats {
	uint64_t rows;         /* data records read (header and landlord record excluded) */
	uint64_t rows_valid;   /* records without error */
	uint64_t errors;       /* issues of severity error */
	uint64_t warnings;     /* issues of severity warning */
	uint64_t bytes;        /* bytes read */
	const char *encoding;  /* "utf-8", "windows-1252", "ascii" (static strings) */
	char delimiter;        /* detected or given */
	dh_layout layout;      /* detected or given */
	int has_header;        /* 1 if the file had a header line */
	char landlord_siren[DH_SIREN_SIZE]; /* from an optional first record describing the landlord, "" if none */
	uint64_t *rule_counts; /* dh_validate_rule_count() counters, by rule index; owned by the stats */
} dh_validate_stats;

/* Rules: stable codes and their French description, for reports and documentation. */
size_t dh_validate_rule_count(void);
const char *dh_validate_rule_code(size_t i);
const char *dh_validate_rule_label(size_t i);

/* Release what the stats own (rule_counts). */
void dh_validate_stats_release(dh_validate_stats *stats);

typedef struct dh_validate_options {
	dh_layout layout;          /* DH_LAYOUT_AUTO to detect */
	dh_csv_options csv;        /* reader options (delimiter, encoding, limits) */
	int reference_year;        /* "no year in the future" is checked against it; 0: current year */
	uint64_t input_size;       /* total bytes of the input when known, 0 otherwise: sizes the
				      duplicate-id sets once (dh_validate_file fills it from the file) */
} dh_validate_options;

typedef struct dh_validate_callbacks {
	/* Each data row, typed; has_errors is 1 when the row has an error (it is rejected).
	 * Return DH_OK to go on, anything else stops validation and is returned. May be NULL. */
	int (*on_row)(void *ctx, const dh_rpls_row *row, int has_errors);
	/* Each issue, in file order. Return DH_OK to go on. May be NULL. */
	int (*on_issue)(void *ctx, const dh_issue *issue);
	void *ctx;
} dh_validate_callbacks;

/*
 * Validate `path` ("-" for standard input). geo is the loaded geography for the commune
 * and postcode checks (NULL skips them: tests of the other rules). opt may be NULL
 * (defaults: detect everything, current year).
 * Returns DH_OK when the file could be read to the end (whatever errors it has:
 * see stats->errors), DH_IO / DH_NOTFOUND when it cannot be read, DH_INVALID_DATA when
 * the file cannot be checked at all (empty file, missing required columns, open-data
 * layout without header: the issues and err say which), DH_NOMEM, or the code a callback
 * returned. stats is overwritten and filled in all cases, even on error (release it with
 * dh_validate_stats_release()); err is filled on failure.
 *
 * Issues come in file order: header issues first, then for each record its field issues
 * in column order, then cross-field, postcode and duplicate issues; on_row comes after the
 * issues of its row. Duplicate ids are found through 64-bit hashes of the values (memory
 * about 17 bytes per row and id column); values of the same length never collide.
 * Without on_row, a regular file opened by path or a memory reader of 16 MiB or more is
 * parsed and checked by blocks on two threads (the caller's and one more), the issues
 * replayed in file order; otherwise inputs of 4 MiB or more (input_size) are parsed by a
 * second thread while the calling thread checks. Either way the report is the same and the
 * callbacks always run on the calling thread, in file order. The file must not change
 * while it is validated.
 * Thread safety: independent calls may run concurrently, sharing one geo.
 */
int dh_validate_file(const char *path, const dh_validate_options *opt, const dh_geo *geo,
		     const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err);

/* Same over a reader the caller opened (memory, fd); the reader is not freed. */
int dh_validate_csv(dh_csv *csv, const dh_validate_options *opt, const dh_geo *geo,
		    const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err);

#endif
