/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * report.h - validation reports: collects the issues of a dh_validate_* run (up to a cap)
 * with its stats, and writes them as text for people (French), JSON for programs and the
 * store (the report saved with each delivery), or CSV (one issue per line).
 *
 * Typical use:
 *     dh_report *r; dh_report_new(&r, 100);
 *     dh_validate_callbacks cb = { .on_issue = dh_report_on_issue, .ctx = r };
 *     rc = dh_validate_file(path, &opt, geo, &cb, &stats, &err);
 *     dh_report_set_stats(r, path, &stats);
 *     dh_report_write_text(r, stdout);
 *     dh_report_free(r); dh_validate_stats_release(&stats);
 *
 * The cap applies to the list of issues only: counts per rule, errors and warnings come
 * from the stats and are always complete. JSON shape (keys in this order):
 *   {"valid": bool,
 *    "stats": {"rows", "rows_valid", "errors", "warnings", "bytes", "encoding", "delimiter", "layout"},
 *    "errors": [{"row", "column", "field", "value", "code", "severity", "message"}, ...],
 *    "counts": {"<rule code>": n, ...}}      (rules with n > 0, in the order of the rule table)
 * "errors" lists warnings too (severity "warning"); "field" is the column name, "" if none.
 * CSV: header `row;column;field;value;code;severity;message`, ';'-separated, RFC 4180 quoting.
 *
 * Thread safety: a dh_report is used by one thread at a time.
 */
#ifndef DATAHABITAT_REPORT_H
#define DATAHABITAT_REPORT_H

#include "datahabitat/base.h"
#include "datahabitat/validate.h"

#include <stdio.h>

typedef struct dh_report dh_report;

/*
 * New empty report keeping at most max_issues issues (0: keep none, counts only).
 * Returns DH_OK and sets *out, or DH_NOMEM. Free with dh_report_free().
 */
int dh_report_new(dh_report **out, size_t max_issues);

/* Free the report and everything it holds. NULL is a no-op. */
void dh_report_free(dh_report *report);

/*
 * Record one issue (usable as dh_validate_callbacks.on_issue with ctx = the dh_report):
 * copies what it keeps (values longer than 256 bytes are cut). Beyond the cap the issue is
 * only counted as omitted. Returns DH_OK, or DH_NOMEM (which stops the validation).
 */
int dh_report_on_issue(void *report, const dh_issue *issue);

/*
 * Attach the result of the run: the file name shown in the text report (copied; NULL or
 * "" for none) and a copy of the stats, rule counts included (the caller keeps and
 * releases its own stats). Returns DH_OK or DH_NOMEM.
 */
int dh_report_set_stats(dh_report *report, const char *file, const dh_validate_stats *stats);

/* Issues kept, and issues not kept because of the cap. */
size_t dh_report_issue_count(const dh_report *report);
uint64_t dh_report_omitted(const dh_report *report);

/*
 * Writers. Return DH_OK, DH_IO when writing fails, DH_NOMEM (JSON). The text report is in
 * French: summary (file, encoding, delimiter, layout, rows, valid rows, errors, warnings,
 * counts per rule with its label) then one line per issue:
 *   « ligne 12, colonne 20 (SURFHAB) : erreur [type] : SURFHAB vaut « abc » : attendu ... ».
 */
int dh_report_write_text(const dh_report *report, FILE *out);
int dh_report_write_json(const dh_report *report, FILE *out);
int dh_report_write_csv(const dh_report *report, FILE *out);

/* The JSON report as a NUL-terminated string (compact, one line) in *out, to free() by
 * the caller. Returns DH_OK or DH_NOMEM. */
int dh_report_to_json_string(const dh_report *report, char **out);

#endif
