/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * base.h - result codes, error details, string views, the version, the sizes of the fixed
 * text fields and the calendar helper shared by the whole library.
 *
 * Every function of libdatahabitat that can fail returns an int result code (DH_OK on
 * success) and, when the caller passes a dh_error, fills it with the detail: for input
 * problems the file, line, column, field, what was expected and what was found.
 * The result-code table is an X-macro so that the name, the French message for people,
 * the HTTP status and the CLI exit code are defined once, in one place.
 */
#ifndef DATAHABITAT_BASE_H
#define DATAHABITAT_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Version of the library and its CLI: semantic versioning, history in CHANGELOG.md. The
 * Makefile reads DH_VERSION from here for datahabitat.pc. */
#define DH_VERSION_MAJOR 0
#define DH_VERSION_MINOR 2
#define DH_VERSION_PATCH 0
#define DH_VERSION "0.2.0"

/* DH_VERSION of the headers the library was compiled with (compare with the caller's). */
const char *dh_version(void);

/* Sizes of the fixed text fields of the API, terminating NUL included. */
#define DH_SIREN_SIZE 10     /* SIREN: 9 digits */
#define DH_DATE_SIZE 11      /* "YYYY-MM-DD" */
#define DH_TIMESTAMP_SIZE 21 /* UTC "YYYY-MM-DDTHH:MM:SSZ" */
#define DH_HASH_HEX_SIZE 65  /* SHA-256 (or a MAC of that size) in lowercase hex */

/* Days in month `month` (1..12) of `year`, Gregorian calendar; 0 when month is out of range. */
static inline int dh_days_in_month(int year, int month)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month < 1 || month > 12)
		return 0;
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* X(NAME, French message, HTTP status, CLI exit code) */
#define DH_RESULT_MAP(X)                                                              \
	X(OK, "succès", 200, 0)                                                          \
	X(EOF, "fin des données", 200, 0)                                                \
	X(NOMEM, "mémoire insuffisante", 503, 3)                                         \
	X(INVAL, "argument invalide", 400, 2)                                            \
	X(IO, "erreur d'entrée-sortie", 500, 2)                                          \
	X(NOTFOUND, "introuvable", 404, 2)                                               \
	X(EXISTS, "existe déjà", 409, 1)                                                 \
	X(PARSE, "données mal formées", 400, 1)                                          \
	X(TOOBIG, "limite de taille dépassée", 413, 1)                                   \
	X(ENCODING, "encodage de caractères invalide", 400, 1)                           \
	X(INVALID_DATA, "données non conformes", 422, 1)                                 \
	X(REFUSED, "livraison refusée", 422, 1)                                          \
	X(STORE, "erreur de la base de données", 500, 3)                                 \
	X(CORRUPT, "données stockées corrompues", 500, 3)                                \
	X(DENIED, "accès refusé", 403, 4)                                                \
	X(AUTH, "authentification requise", 401, 4)                                      \
	X(CONFLICT, "conflit avec l'état courant", 409, 1)                               \
	X(INTERNAL, "erreur interne", 500, 3)

enum dh_result {
#define DH_RESULT_ENUM(name, msg, http, exitcode) DH_##name,
	DH_RESULT_MAP(DH_RESULT_ENUM)
#undef DH_RESULT_ENUM
	DH_RESULT_COUNT
};

/* Symbolic name of a result code ("DH_NOMEM"); "DH_UNKNOWN" for an out-of-range value. */
const char *dh_result_name(int code);
/* French message of a result code, for people. Never NULL. */
const char *dh_result_message(int code);
/* HTTP status a server should answer with for this code. */
int dh_result_http_status(int code);
/* Exit status the CLI uses for this code. */
int dh_result_exit_code(int code);

/*
 * A borrowed view of bytes: not NUL-terminated, owned by whoever produced it.
 * The producer's header says how long the view stays valid.
 */
typedef struct dh_str {
	const char *ptr; /* first byte; may be NULL when len is 0 */
	size_t len;      /* number of bytes */
} dh_str;

#define DH_STR_LIT(s) ((dh_str){ (s), sizeof(s) - 1 })

/* Byte-wise equality of a view and a NUL-terminated string. */
int dh_str_eq(dh_str a, const char *b);

/* The view without its leading and trailing spaces and tabs. */
static inline dh_str dh_str_trim(dh_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/*
 * Detail of a failure. Caller-owned, fixed size, no heap: safe to keep and copy.
 * Fields that do not apply are 0 / empty. Text is UTF-8, truncated to fit.
 */
typedef struct dh_error {
	int code;           /* enum dh_result, DH_OK when no error */
	uint64_t line;      /* 1-based line in the input, 0 if not about input */
	uint32_t column;    /* 1-based column (field number in a record), 0 if unknown */
	char file[256];     /* input file or object the error is about */
	char field[64];     /* field name, e.g. "DEPCOM" */
	char expected[128]; /* what was expected, in French */
	char found[128];    /* what was found (the offending value, truncated) */
	char message[512];  /* full French sentence for people */
} dh_error;

/* Reset an error to DH_OK and empty strings. Accepts NULL. */
void dh_error_clear(dh_error *err);

/*
 * Set err->code and err->message (printf format) and return code, so a caller can
 * write `return dh_error_set(err, DH_IO, "lecture de « %s » impossible", path);`.
 * Other fields are left as they are. err may be NULL: the code is still returned.
 */
int dh_error_set(dh_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* The one out-of-memory error: dh_error_set(err, DH_NOMEM, <the table's message>). */
int dh_error_nomem(dh_error *err);

/* Copy a NUL-terminated string or a view into a fixed buffer, truncating on a UTF-8 boundary. */
void dh_strlcpy(char *dst, size_t size, const char *src);
void dh_strlcpy_view(char *dst, size_t size, dh_str src);

/*
 * Text the library stores (names, purposes, file names, audit details): valid UTF-8, no
 * control character (C0, DEL, C1: terminal escapes cannot be stored), not blank, at most
 * a documented number of characters (code points). The limits (docs/governance.md):
 */
#define DH_NAME_MAX 200     /* organisation names, delivered file names */
#define DH_PURPOSE_MAX 1000 /* purposes and legal bases of agreements */
#define DH_TEXT_SIZE(max) (4 * (max) + 1) /* bytes that hold max characters and the NUL */

/*
 * Check text against the rules above with at most max characters. Returns DH_OK, or
 * DH_INVAL with err->field = what and a French message naming what ("nom", "finalité"...)
 * and the fault (absent, empty or blank, invalid UTF-8, control character, too long).
 */
int dh_text_check(const char *text, size_t max, const char *what, dh_error *err);

/*
 * Make text storable in place: every byte that is not part of a valid UTF-8 sequence, and
 * every control character, becomes '?' (lengths never change). Returns the number of
 * characters replaced. For records that must be kept whatever they hold (audit details).
 */
size_t dh_text_sanitize(char *text);

/* Bytes of the valid UTF-8 sequence at s (at most n bytes available): 1 to 4, or 0 when
 * s does not start a valid sequence (overlong, surrogate, above U+10FFFF, truncated). */
size_t dh_utf8_seq(const char *s, size_t n);

/*
 * CSV outputs (reports, tables, exports) write each text field with dh_csv_field_write():
 * - RFC 4180: the field is quoted when it holds the delimiter, a double quote, CR or LF;
 *   its double quotes are doubled;
 * - spreadsheet formulas: a field that starts with '=', '+', '-', '@', TAB or CR and is not
 *   a plain decimal number ("-12", "+3.5", "-0,5" stay as they are) is written with a
 *   leading apostrophe (inside the quotes when quoted), so that a spreadsheet shows it as
 *   text instead of running it (OWASP "CSV injection"). The value read back then starts
 *   with that apostrophe: JSON outputs keep every value exact.
 * Numbers printed by the writers themselves do not go through it.
 */
void dh_csv_field_write(FILE *out, const char *s, size_t len, char delimiter);

#endif
