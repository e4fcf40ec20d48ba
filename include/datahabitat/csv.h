/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * csv.h - streaming CSV reader for the files landlords' software produces.
 *
 * RFC 4180 plus the French variants: delimiter detected among ';' ',' TAB '|' on the
 * first 8 lines together (the count repeated on most lines, weighted by itself, wins: a
 * landlord line before the header does not decide, nor regular decimal commas), quoted fields with embedded delimiters, quotes ("")
 * and newlines, CRLF or LF, UTF-8 with or without BOM (a UTF-8 BOM is skipped even when
 * an encoding is forced), Windows-1252 / ISO-8859-1 transcoded to UTF-8. Detection looks
 * at the first 64 KiB (or max_record + 1 bytes): UTF-8 when its valid multi-byte
 * sequences are at least as many as the stray bytes (which then give DH_CSV_BAD_UTF8),
 * Windows-1252 otherwise; without non-ASCII bytes there, the first non-ASCII field decides.
 * An input (file, standard input, descriptor or memory) that starts with a UTF-16 BOM (LE or
 * BE) is read whole (at most 4 GiB) and transcoded to UTF-8 at the first record; offsets
 * and dh_csv_bytes() then count bytes of that UTF-8 text. Trailing blank lines ignored. Memory is constant whatever the file
 * size: the reader holds one buffer of bounded size, and a record too long for
 * it is reported and skipped, never grown without limit.
 *
 * Every record carries its 1-based starting line so that callers can report
 * positions; field numbers (1-based) are the "column" of reports.
 *
 * Details callers can rely on: line breaks are LF, CRLF or a lone CR (as record ends
 * and, for line numbers, inside quoted fields); blank lines are never returned; a quote
 * opens a quoted field only as its first byte; text after a closing quote is kept
 * (DH_CSV_BAD_QUOTE). Fields are always valid UTF-8: in a UTF-8 input each invalid
 * byte becomes U+FFFD (DH_CSV_BAD_UTF8); the Windows-1252 bytes left undefined (0x81
 * 0x8D 0x8F 0x90 0x9D) become the C1 controls U+0081..., as in the WHATWG Encoding
 * Standard. NUL bytes are kept (DH_CSV_NUL_BYTE). max_record counts input bytes,
 * terminator excluded; a truncated field is cut on a UTF-8 character boundary.
 *
 * Thread safety: a dh_csv is used by one thread at a time; distinct readers are
 * independent.
 */
#ifndef DATAHABITAT_CSV_H
#define DATAHABITAT_CSV_H

#include "datahabitat/base.h"

typedef enum dh_encoding {
	DH_ENC_AUTO = 0,     /* detect: decided by the first non-ASCII sequence */
	DH_ENC_UTF8,         /* UTF-8 (a BOM, if any, is skipped) */
	DH_ENC_WINDOWS1252   /* Windows-1252, superset of printable ISO-8859-1 */
} dh_encoding;

/* "utf-8", "windows-1252", or "ascii" when AUTO met no non-ASCII byte. */
const char *dh_encoding_name(dh_encoding enc, int saw_non_ascii);
/* Encoding of a name, case-insensitive: "auto", "utf-8"/"utf8", "windows-1252"/"cp1252"/
 * "iso-8859-1"/"latin1" (ISO-8859-1 is read as its superset Windows-1252); -1 if unknown. */
int dh_encoding_parse(const char *name);

typedef struct dh_csv_options {
	char delimiter;       /* 0: detect from the first record among ; , TAB | */
	dh_encoding encoding; /* DH_ENC_AUTO: detect (see dh_encoding_parse for names) */
	size_t max_field;     /* bytes in one field after transcoding; 0: 64 KiB */
	size_t max_record;    /* bytes in one record; 0: 1 MiB */
	size_t max_fields;    /* fields in one record; 0: 1024 */
} dh_csv_options;

/* Problems of one record: the record is still returned, the caller decides. */
enum dh_csv_problem {
	DH_CSV_FINE = 0,
	DH_CSV_BAD_UTF8,        /* invalid UTF-8 in a UTF-8 input (problem_column says where) */
	DH_CSV_BAD_QUOTE,       /* text after a closing quote, or a quote inside an unquoted field */
	DH_CSV_UNTERMINATED,    /* end of input inside a quoted field */
	DH_CSV_FIELD_TOO_LONG,  /* a field exceeded max_field; the field is truncated */
	DH_CSV_RECORD_TOO_LONG, /* the record exceeded max_record or max_fields; nfields is 0 */
	DH_CSV_NUL_BYTE         /* a NUL byte in the data */
};

/* Short French description of a record problem. */
const char *dh_csv_problem_message(int problem);

typedef struct dh_csv_record {
	const dh_str *fields; /* nfields views, UTF-8, valid until the next dh_csv_next() or dh_csv_free() */
	size_t nfields;       /* number of fields (a blank line is skipped, never returned) */
	uint64_t line;        /* 1-based physical line where the record starts */
	uint64_t offset;      /* byte offset of the record's start in the input */
	int problem;          /* enum dh_csv_problem, DH_CSV_FINE if none (the first one met) */
	uint32_t problem_column; /* 1-based field number of the problem, 0 if none */
} dh_csv_record;

typedef struct dh_csv dh_csv;

/*
 * Open a reader on a file (path "-" reads standard input). *out is set on success and
 * must be released with dh_csv_free(). Returns DH_OK, DH_IO (err says why, with the
 * path), DH_NOMEM, DH_INVAL (bad options).
 */
int dh_csv_open_path(dh_csv **out, const char *path, const dh_csv_options *opt, dh_error *err);

/* Same on an open descriptor, read until EOF; `name` is used in messages. The fd is not closed. */
int dh_csv_open_fd(dh_csv **out, int fd, const char *name, const dh_csv_options *opt, dh_error *err);

/* Same on memory; the bytes are borrowed and must outlive the reader. */
int dh_csv_open_mem(dh_csv **out, const void *data, size_t len, const char *name,
		    const dh_csv_options *opt, dh_error *err);

/*
 * Read the next record. Returns DH_OK and fills *rec, DH_EOF at the end of input (rec
 * untouched), or DH_IO / DH_NOMEM (fatal: later calls return the same code).
 * A malformed record is still DH_OK with rec->problem set.
 */
int dh_csv_next(dh_csv *csv, dh_csv_record *rec, dh_error *err);

/* What was detected or used; valid once the first record was read (or at EOF). */
char dh_csv_delimiter(const dh_csv *csv);
dh_encoding dh_csv_encoding(const dh_csv *csv);
int dh_csv_saw_non_ascii(const dh_csv *csv);
int dh_csv_had_bom(const dh_csv *csv);
/* Bytes consumed from the input so far (the whole size at EOF). */
uint64_t dh_csv_bytes(const dh_csv *csv);
/* Name given at open (path, or "<stdin>"). */
const char *dh_csv_name(const dh_csv *csv);

/* Release the reader and its buffer. NULL is a no-op. */
void dh_csv_free(dh_csv *csv);

#endif
