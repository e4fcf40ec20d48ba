/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * internal.h - the ingest subsystem's internal interface (reader, layouts, rules, validator,
 * report, import). Not public API: nothing outside src/ingest/ (and the tests and fuzz
 * targets of this subsystem) includes it.
 */
#ifndef DH_INGEST_INTERNAL_H
#define DH_INGEST_INTERNAL_H

/*
 * csv_internal.h - test hooks of the CSV reader (src/ingest/csv.c), not public API.
 *
 * Tests and the fuzz target use them to run the reader with a tiny read size, so that
 * records straddle buffer refills constantly.
 */

#include "datahabitat/csv.h"

/*
 * Like dh_csv_open_mem() / dh_csv_open_fd(), but each refill asks for at most
 * `read_size` bytes (0: the default) and the buffer holds max_record + 1 + read_size bytes.
 */
int dh_csv_open_mem_sized(dh_csv **out, const void *data, size_t len, const char *name,
                          const dh_csv_options *opt, size_t read_size, dh_error *err);
int dh_csv_open_fd_sized(dh_csv **out, int fd, const char *name, const dh_csv_options *opt,
                         size_t read_size, dh_error *err);

/* Bytes allocated by the reader for its buffers (buffer, fields, scratch). */
size_t dh_csv_memory(const dh_csv *csv);

/*
 * Range readers, for the block-parallel validator (validate.c): several readers over one
 * input, each positioned at an offset. Not thread-safe on one reader; distinct readers over
 * one input may run concurrently (they read with pread, or from the borrowed memory).
 */

/* 1 when the input can be read again at any offset (memory input, or a regular file opened
 * by path): *size is then its total size in bytes. 0 for standard input, pipes... */
int dh_csv_rereadable(const dh_csv *csv, uint64_t *size);

/* 1-based physical line at the reader's position (the line of the next byte to consume). */
uint64_t dh_csv_line(const dh_csv *csv);

/* A new reader over the same input as `like` (which must be rereadable), with its options
 * and its delimiter (already detected): no BOM or delimiter detection. The descriptor stays
 * owned by `like`, which must outlive it. Position it with dh_csv_seek() before use.
 * read_size as for dh_csv_open_mem_sized(). Returns DH_OK, DH_NOMEM, DH_INVAL. */
int dh_csv_open_like(dh_csv **out, const dh_csv *like, size_t read_size, dh_error *err);

/* Restart the reader at input `offset`, counting lines from 1 there, with encoding `enc`
 * (DH_ENC_AUTO: decided again by the first non-ASCII field); clears a fatal state and the
 * non-ASCII flag. */
void dh_csv_seek(dh_csv *csv, uint64_t offset, dh_encoding enc);

/* Consume bytes up to and including the first line break (LF, CRLF or lone CR), quotes not
 * considered, then count lines from 1 again. Returns DH_OK (also at the end of input) or the
 * reader's fatal code (DH_IO). */
int dh_csv_skip_line(dh_csv *csv, dh_error *err);

/*
 * validate_internal.h - test hooks of the validator (src/ingest/validate.c), not public API.
 *
 * Tests and the fuzz target use them to force the block-parallel path on small inputs with
 * tiny blocks, so that records, quoted line breaks, CRLF and multi-byte characters straddle
 * block boundaries.
 */

#include <stddef.h>
#include <stdint.h>

/*
 * Block-parallel validation (validate.c): enabled or not (1 by default; 2: enabled, and every
 * block starts with the encoding undecided, so that the correction of blocks that decide
 * differently from the file is tested deterministically), block size in bytes
 * (0: the default, 4 MiB), and the input size in bytes from which it is used (0: the default,
 * 16 MiB; 1: every rereadable input). Process-wide setting: call it before validations start,
 * never while one runs (not thread-safe).
 */
void dh__validate_set_parallel(int enabled, size_t block_size, uint64_t min_input);

/* Validations that took the block-parallel path, and blocks parsed again because the guessed
 * boundary or encoding was wrong, since the process started (thread-safe). */
void dh__validate_parallel_counts(uint64_t *runs, uint64_t *reparsed);

/*
 * rpls_rules.h - internal interface between the validator (validate.c), the field rules
 * of the RPLS layout (rpls_rules.c) and the open-data column mapping (layout_opendata.c).
 *
 * Not a public header: the rule codes and labels are public through validate.h
 * (dh_validate_rule_*); the check functions here are the validator's hot path.
 */

#include "datahabitat/rpls.h"

/* Every rule of docs/validation.md, in the order of that document. Index 0 is "no problem". */
#define DH__RULES(X)                                                                              \
	X(NONE, "", 0, "")                                                                            \
	X(EMPTY_FILE, "empty-file", 0, "fichier vide")                                                \
	X(MISSING_COLUMN, "missing-column", 0, "colonne obligatoire absente")                         \
	X(DUPLICATE_COLUMN, "duplicate-column", 0, "colonne en double dans l'en-tête")                \
	X(UNKNOWN_COLUMN, "unknown-column", 1, "colonne inconnue, ignorée")                           \
	X(TOO_MANY_FIELDS, "too-many-fields", 0, "trop de champs dans l'enregistrement")              \
	X(TOO_FEW_FIELDS, "too-few-fields", 0, "pas assez de champs dans l'enregistrement")           \
	X(INVALID_UTF8, "invalid-utf8", 0, "caractères UTF-8 invalides")                              \
	X(BAD_QUOTE, "bad-quote", 0, "guillemets mal formés")                                         \
	X(FIELD_TOO_LONG, "field-too-long", 0, "champ trop long pour le lecteur")                     \
	X(RECORD_TOO_LONG, "record-too-long", 0, "enregistrement trop long pour le lecteur")          \
	X(NUL_BYTE, "nul-byte", 0, "octet nul dans les données")                                      \
	X(REQUIRED, "required", 0, "valeur obligatoire absente")                                      \
	X(LENGTH, "length", 0, "texte trop long")                                                     \
	X(TYPE, "type", 0, "valeur qui n'est pas du type attendu")                                    \
	X(CODE_LIST, "code-list", 0, "code hors de la liste admise")                                  \
	X(RANGE, "range", 0, "valeur hors de l'intervalle admis")                                     \
	X(DATE, "date", 0, "date invalide")                                                           \
	X(DATE_FUTURE, "date-future", 0, "année postérieure à l'année de référence")                  \
	X(LOCAT_BEFORE_CONSTRUCT, "locat-before-construct", 0,                                        \
	  "première mise en location antérieure à la construction")                                   \
	X(PATRIMOINE_BEFORE_CONSTRUCT, "patrimoine-before-construct", 0,                              \
	  "entrée dans le patrimoine antérieure à la construction")                                   \
	X(BAIL_MISSING, "bail-missing", 0, "logement loué sans date de bail")                         \
	X(REMLOCDATE_MISSING, "remlocdate-missing", 0, "logement vacant sans date de mise en location") \
	X(DPE_INCONSISTENT, "dpe-inconsistent", 0, "DPE incohérent (classes et date)")                \
	X(SURFACE_IMPLAUSIBLE, "surface-implausible", 1, "surface peu plausible pour le nombre de pièces") \
	X(COMMUNE_UNKNOWN, "commune-unknown", 0, "commune inconnue du COG")                           \
	X(COMMUNE_FORMER, "commune-former", 1, "ancienne commune, rattachée à la commune actuelle")   \
	X(POSTCODE_MISMATCH, "postcode-mismatch", 1, "code postal différent de ceux de la commune")   \
	X(DUPLICATE_IDENT_REP, "duplicate-ident-rep", 0, "IDENT_REP en double dans le fichier")       \
	X(DUPLICATE_IDENT_INT, "duplicate-ident-int", 0, "IDENT_INT en double dans le fichier")

enum dh__rule {
#define DH__RULE_ENUM(id, code, warning, label) DH__RULE_##id,
	DH__RULES(DH__RULE_ENUM)
#undef DH__RULE_ENUM
	DH__RULE_COUNT
};

/* Static description of rule r (0 < r < DH__RULE_COUNT). */
const char *dh__rule_code(int r);
const char *dh__rule_label(int r);
int dh__rule_is_warning(int r);

/*
 * How one column is checked, decided once per file from its field (the per-column table
 * of the validator). Each field of the RPLS table maps to exactly one check.
 */
enum dh__check {
	DH__CHECK_IGNORE = 0, /* not an RPLS field (open-data extras, unknown, duplicate) */
	DH__CHECK_TEXT,       /* bounded free text */
	DH__CHECK_CODE1,      /* one-character code from a list */
	DH__CHECK_CODE2,      /* two-digit code from a list (FINAN, CUS) */
	DH__CHECK_DEPCOM,     /* 5 chars: digits, or 2A/2B + 3 digits */
	DH__CHECK_POSTCODE,   /* 5 digits */
	DH__CHECK_QPVCODE,    /* QNdddnnX or QPdddnnn */
	DH__CHECK_INT,        /* integer with a range */
	DH__CHECK_YEAR,       /* aaaa, >= 1800, <= reference year */
	DH__CHECK_DATE,       /* mm/aaaa or jj/mm/aaaa, >= 1900, year <= reference year */
	DH__CHECK_NUMBER      /* decimal number (dot or comma) with a range */
};

/* Smallest year of a YEAR field, and of a DATE field. */
#define DH__MIN_YEAR 1800
#define DH__MIN_DATE_YEAR 1900

/* Check of field f (enum dh_rpls_field). */
int dh__rpls_check_kind(int f);
/* CODE1 field f: bit (c - '0') set for each allowed character c (inlined by the validator). */
uint64_t dh__rpls_code1_mask(int f);
/* 1 if an empty value of field f is the `required` error. */
int dh__rpls_value_required(int f);
/* CODE2 field f: bit n of mask[0] (n < 64) or of mask[1] (n - 64) set for each allowed code n. */
void dh__rpls_code2_mask(int f, uint64_t mask[2]);
/* INT / NUMBER field f: its range; min_open: min excluded; has_max: max applies. */
void dh__rpls_range(int f, double *min, double *max, int *min_open, int *has_max);

/*
 * Check the trimmed, non-empty value v of field f. On success returns DH__RULE_NONE and
 * stores the parsed value in *out (INT/YEAR: i; DATE: i = yyyymmdd, dd 0 for mm/aaaa;
 * NUMBER: d). Otherwise returns the rule that fails (LENGTH, TYPE, CODE_LIST, RANGE, DATE,
 * DATE_FUTURE). reference_year bounds years and dates.
 */
int dh__rpls_check_value(int f, const char *v, size_t len, int reference_year, dh_rpls_value *out);

/*
 * French description of what field f expects, for a failed rule r, written into buf
 * (e.g. "un entier de 1 à 9"). Returns buf.
 */
const char *dh__rpls_expected(int f, int r, int reference_year, char *buf, size_t size);

/* Number of characters of a UTF-8 text (continuation bytes not counted). */
size_t dh__utf8_chars(const char *s, size_t len);

/* Open-data layout (layout_opendata.c). */
#define DH__OPENDATA_UNKNOWN (-1) /* not a column of the open-data file */
#define DH__OPENDATA_EXTRA (-2)   /* a known open-data column without RPLS counterpart: ignored */
/* Field of an open-data column name (case-insensitive, trimmed), or one of the two codes above. */
int dh__opendata_column(dh_str name);
/* 1 if the name is specific to the open-data file (REG_CODE, *_LIBELLE, TYPECONST_CODE...):
 * a header with one of them is detected as the open-data layout. */
int dh__opendata_marker(dh_str name);
/* 1 if field f must be a column of an open-data file. */
int dh__opendata_required(int f);

#endif
