/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * import.h - the import pipeline of a stock delivery: hash the file (SHA-256), validate it
 * row by row, write the accepted rows into the store, decide acceptance, commit, all as
 * one atomic delivery (store.h). Rows with errors are rejected and listed in the stored
 * JSON report; when the share of rejected rows exceeds the limit the delivery is refused
 * as a whole: it is recorded with its report and none of its rows is stored.
 */
#ifndef DATAHABITAT_IMPORT_H
#define DATAHABITAT_IMPORT_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"
#include "datahabitat/geo.h"
#include "datahabitat/store.h"
#include "datahabitat/validate.h"

#define DH_IMPORT_DEFAULT_MAX_REJECT_SHARE 0.05

typedef struct dh_import_options {
	const char *siren;          /* organisation delivering (must be registered) */
	const char *reference_date; /* "YYYY-MM-DD": the date the stock describes */
	double max_reject_share;    /* refuse above this share of rejected rows (0 .. 1) */
	dh_layout layout;           /* DH_LAYOUT_AUTO to detect */
	const char *file_name;      /* name recorded; NULL: the base name of the path. Stored text:
	                               dh_text_check, at most DH_NAME_MAX characters (DH_INVAL) */
	size_t max_report_issues;   /* issues detailed in the report; the counts are always complete */
	const dh_actor *actor;      /* who imports, for the audit chain (actor.h); NULL: the system */
} dh_import_options;

/* Defaults: no siren or date, max_reject_share 0.05, layout auto, 10000 issues in the report. */
void dh_import_options_init(dh_import_options *opt);

typedef struct dh_import_result {
	dh_delivery delivery;  /* as recorded; for a duplicate, the earlier delivery of the file */
	int duplicate;         /* 1: this file was already delivered by the organisation; nothing changed */
	uint64_t errors;       /* issues of severity error */
	uint64_t warnings;     /* issues of severity warning */
	size_t nrules;         /* dh_validate_rule_count() */
	uint64_t *rule_counts; /* issues per rule (index as dh_validate_rule_code()), owned; NULL for a duplicate */
	char *report_json;     /* the report as stored, NUL-terminated, owned; NULL for a duplicate */
} dh_import_result;

/*
 * Import the stock file at `path` for opt->siren at opt->reference_date. geo is the loaded
 * reference geography (commune checks and the current commune stored with each row).
 * Returns DH_OK (accepted, or duplicate: see result->duplicate), DH_REFUSED (recorded as
 * refused with its report), DH_INVAL (bad options), DH_NOTFOUND (unknown organisation or
 * missing file), DH_IO, DH_CONFLICT (an accepted delivery already exists at that date),
 * DH_STORE, DH_NOMEM. On any other result than DH_OK / DH_REFUSED nothing was stored.
 * result is filled for DH_OK and DH_REFUSED; release it with dh_import_result_release().
 * Thread safety: as the store (one thread at a time per dh_store); geo is only read.
 */
int dh_import_file(dh_store *store, const dh_geo *geo, const char *path, const dh_import_options *opt,
		   dh_import_result *result, dh_error *err);

/* Import of a reference source (open data without landlord identity, store.h). */
typedef struct dh_reference_options {
	const char *source;         /* source name, e.g. "rpls-2023" (store.h's rules) */
	const char *reference_date; /* "YYYY-MM-DD": the date the file describes */
	dh_layout layout;           /* an open-data layout; DH_LAYOUT_AUTO: detected, and then it
	                               must be an open-data layout */
	const char *file_name;      /* recorded; NULL: the base name of the path */
	const dh_actor *actor;      /* who imports, for the audit chain (actor.h); NULL: the system */
} dh_reference_options;

typedef struct dh_reference_result {
	dh_reference_source source; /* as recorded (rows stored) */
	uint64_t rows_read;
	uint64_t rows_rejected;     /* rows with a validation error, not stored */
	uint64_t errors, warnings;
} dh_reference_result;

/*
 * Validate the open-data file at `path` and store its valid rows as the reference source
 * opt->source at opt->reference_date, replacing what that source held at that date (rows
 * with errors are skipped and counted). A landlord's file is refused (DH_INVAL): a
 * reference source has no landlord. Returns DH_OK, DH_INVAL, DH_NOTFOUND, DH_IO,
 * DH_PARSE (unreadable file), DH_STORE, DH_NOMEM; nothing is stored unless DH_OK.
 * The import is logged in the audit chain ("reference-import").
 */
int dh_import_reference(dh_store *store, const dh_geo *geo, const char *path,
			const dh_reference_options *opt, dh_reference_result *result, dh_error *err);

/* Free what the result owns. Accepts a zeroed result. */
void dh_import_result_release(dh_import_result *result);

/*
 * SHA-256 of a whole file as 64 lowercase hex digits plus NUL in hex (65 bytes).
 * Returns DH_OK, DH_NOTFOUND, DH_IO. Thread-safe.
 */
int dh_sha256_file(const char *path, char hex[DH_HASH_HEX_SIZE], uint64_t *size, dh_error *err);

/*
 * The import pipelines themselves, without their audit entry: dh_import_file() and
 * dh_import_reference() are these plus the entry, and are defined by the governance layer
 * (src/governance/admin.c), which owns the audit chain. Callers (CLI, server) use those two;
 * these exist so that ingest does not depend on governance. Same arguments and codes.
 */
int dh_import_run(dh_store *store, const dh_geo *geo, const char *path, const dh_import_options *opt,
		  dh_import_result *result, dh_error *err);
int dh_import_reference_run(dh_store *store, const dh_geo *geo, const char *path,
			    const dh_reference_options *opt, dh_reference_result *result, dh_error *err);

#endif
