/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * csv.c - streaming CSV reader (contract in include/datahabitat/csv.h).
 *
 * Design, driven by speed on large, mostly unquoted ASCII/UTF-8 files:
 *  - one buffer of max_record + 1 + read_size bytes, refilled by read() (or memcpy for
 *    memory input); a record that does not end inside the buffer is moved to the front
 *    and parsed again from its start once more bytes arrived (at most once per refill);
 *  - the hot loop finds the next "special" byte (delimiter, quote, CR, LF, other
 *    control byte, non-ASCII byte) 64 bytes at a time with SSE2 bitmasks (a loop without
 *    calls elsewhere), so an unquoted ASCII field costs a few instructions; the same
 *    scan walks quoted fields, noting line breaks, NUL and non-ASCII bytes on the way;
 *  - fields are views into the buffer: a quoted field without "" is a view between its
 *    quotes, others are unescaped in place once the record is complete; only fields
 *    where the scan met non-ASCII bytes are validated (UTF-8, with an 8-bytes-at-a-time
 *    ASCII skip) or transcoded (Windows-1252) into a scratch area;
 *  - a record longer than max_record, or with more than max_fields fields, is scanned
 *    to its end by a byte-wise state machine that discards bytes as it goes.
 *
 * Line breaks are LF, CRLF or a lone CR, both as record terminators and inside quoted
 * fields (for line numbers). Windows-1252 bytes left undefined by Microsoft (0x81 0x8D
 * 0x8F 0x90 0x9D) map to the C1 controls U+0081... as the WHATWG Encoding Standard does.
 * Invalid UTF-8 bytes are replaced by U+FFFD in the returned fields, so fields are
 * always valid UTF-8; the record carries DH_CSV_BAD_UTF8. NUL bytes are kept.
 */
#include "datahabitat/csv.h"
#include "ingest/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* DH_CSV_PORTABLE forces the portable scan, so that it can be tested on x86-64 too. */
#if defined(__SSE2__) && !defined(DH_CSV_PORTABLE)
#define USE_SSE2 1
#include <emmintrin.h>
#endif

#define DEFAULT_MAX_FIELD ((size_t)64 * 1024)
#define DEFAULT_MAX_RECORD ((size_t)1024 * 1024)
#define DEFAULT_MAX_FIELDS ((size_t)1024)
#define DEFAULT_READ_SIZE ((size_t)256 * 1024) /* fits L2; larger reads measured no faster */
/* Upper bounds on options, so that sizes computed from them cannot overflow. */
#define LIMIT_MAX_RECORD ((size_t)256 * 1024 * 1024)
#define LIMIT_MAX_FIELDS ((size_t)1 << 20)
#define LIMIT_READ_SIZE ((size_t)64 * 1024 * 1024)
/* Bytes after the buffer's capacity: room for the '\n' sentinel at end, and the 64-byte
 * block scan may look past it. */
#define SLACK 64


/* struct dh_csv is defined in ingest/internal.h (shared with csv_detect.c). */

enum parse_result { PARSE_DONE, PARSE_MORE, PARSE_LONG, PARSE_NOMEM };

/* ------------------------------------------------------------------------------------ */
/* Finding special bytes                                                                */

#if defined(USE_SSE2)
/* Bit i set when p[i] is the delimiter, a quote, a byte < 14 (CR, LF, NUL, controls)
 * or a byte >= 0x80 (signed compare: negative). */
static inline uint64_t special_mask(const unsigned char *p, unsigned char delim)
{
	const __m128i vdelim = _mm_set1_epi8((char)delim);
	const __m128i vquote = _mm_set1_epi8('"');
	const __m128i vlow = _mm_set1_epi8(14);
	uint64_t mask = 0;
	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
		__m128i s =
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vdelim), _mm_cmpeq_epi8(v, vquote)),
		                 _mm_cmplt_epi8(v, vlow));
		mask |= (uint64_t)(uint32_t)_mm_movemask_epi8(s) << (16 * i);
	}
	return mask;
}
#else
static inline uint64_t special_mask(const unsigned char *p, unsigned char delim)
{
	uint64_t mask = 0;
	for (int i = 0; i < 64; i++) {
		unsigned char c = p[i];
		uint64_t hit = (c == delim) | (c == '"') | (c < 14) | (c >= 0x80);
		mask |= hit << i;
	}
	return mask;
}
#endif

static inline unsigned lowest_bit(uint64_t mask)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(mask);
#else
	unsigned n = 0;
	while (!(mask & 1)) {
		mask >>= 1;
		n++;
	}
	return n;
#endif
}

/* Length of the leading ASCII run of [p, p + len), 8 bytes at a time. */
static size_t ascii_prefix(const unsigned char *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if (v & UINT64_C(0x8080808080808080))
			break;
	}
	while (i < len && p[i] < 0x80)
		i++;
	return i;
}

/* ------------------------------------------------------------------------------------ */
/* Encodings                                                                            */

/* Unicode code points of Windows-1252 bytes 0x80-0x9F (undefined ones: C1 controls). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Make room for `need` scratch bytes for the current record (bounded by the caller). */
static int scratch_reserve(dh_csv *csv, size_t need)
{
	if (csv->scratch_len + need <= csv->scratch_cap)
		return 1;
	/* Fields already in scratch stay where they are: grow only between records. The
	 * caller reserves the worst case for the whole record up front. */
	size_t want = csv->scratch_len + need;
	size_t cap = csv->scratch_cap ? csv->scratch_cap : 4096;
	while (cap < want)
		cap *= 2;
	unsigned char *grown = realloc(csv->scratch, cap);
	if (!grown)
		return 0;
	csv->scratch = grown;
	csv->scratch_cap = cap;
	return 1;
}

/* Copy field f (first non-ASCII byte at index j) into scratch as Windows-1252 -> UTF-8. */
static void transcode_cp1252(dh_csv *csv, dh_str *f, size_t j)
{
	const unsigned char *p = (const unsigned char *)f->ptr;
	unsigned char *out = csv->scratch + csv->scratch_len, *w = out;
	memcpy(w, p, j);
	w += j;
	for (size_t i = j; i < f->len; i++) {
		unsigned char c = p[i];
		if (c < 0x80)
			*w++ = c;
		else
			w = dh__csv_put_utf8(w, c < 0xA0 ? cp1252_high[c - 0x80] : c);
	}
	f->ptr = (const char *)out;
	f->len = (size_t)(w - out);
	csv->scratch_len += f->len;
}

/* Check field f as UTF-8 from index j; if invalid, copy it into scratch with U+FFFD in place
 * of each invalid byte. Returns 1 when the field was invalid. */
static int check_utf8(dh_csv *csv, dh_str *f, size_t j)
{
	const unsigned char *p = (const unsigned char *)f->ptr, *e = p + f->len;
	size_t i = j;
	while (i < f->len) {
		if (p[i] < 0x80) {
			i += ascii_prefix(p + i, f->len - i);
			continue;
		}
		size_t n = dh__csv_utf8_sequence(p + i, e);
		if (!n)
			break;
		i += n;
	}
	if (i >= f->len)
		return 0;
	unsigned char *out = csv->scratch + csv->scratch_len, *w = out;
	memcpy(w, p, i);
	w += i;
	while (i < f->len) {
		if (p[i] < 0x80) {
			*w++ = p[i++];
			continue;
		}
		size_t n = dh__csv_utf8_sequence(p + i, e);
		if (n) {
			memcpy(w, p + i, n);
			w += n;
			i += n;
		} else {
			*w++ = 0xEF;
			*w++ = 0xBF;
			*w++ = 0xBD;
			i++;
		}
	}
	f->ptr = (const char *)out;
	f->len = (size_t)(w - out);
	csv->scratch_len += f->len;
	return 1;
}

/* ------------------------------------------------------------------------------------ */
/* Input                                                                                */

/* French text of a system error (strerror speaks the C locale's English). */
static const char *sys_message(int e)
{
	switch (e) {
	case ENOENT:
		return "fichier ou dossier introuvable";
	case EACCES:
	case EPERM:
		return "permission refusée";
	case EISDIR:
		return "c'est un dossier";
	case ENOTDIR:
		return "un élément du chemin n'est pas un dossier";
	case EIO:
		return "erreur d'entrée-sortie";
	case ENOMEM:
		return "mémoire insuffisante";
	case EMFILE:
	case ENFILE:
		return "trop de fichiers ouverts";
	case ENAMETOOLONG:
		return "nom de fichier trop long";
	case ELOOP:
		return "trop de liens symboliques";
	case ENXIO:
	case ENODEV:
		return "périphérique absent";
	case EINVAL:
		return "argument invalide";
	default:
		return "erreur système";
	}
}

static int fail(dh_csv *csv, dh_error *err, int code, const char *msg)
{
	csv->fatal = code;
	dh_strlcpy(csv->fatal_msg, sizeof(csv->fatal_msg), msg);
	if (err) {
		dh_strlcpy(err->file, sizeof(err->file), csv->name);
		err->line = csv->line;
	}
	return dh_error_set(err, code, "%s", msg);
}

/* A read() that failed with errno: the reader's fatal DH_IO. */
static int read_failed(dh_csv *csv, dh_error *err)
{
	char msg[320];
	snprintf(msg, sizeof(msg), "lecture de « %s » impossible : %s (errno %d)", csv->name, sys_message(errno),
	         errno);
	return fail(csv, err, DH_IO, msg);
}

/* Move the unconsumed bytes to the front of the buffer and read more. Sets eof when the
 * input is exhausted. Returns DH_OK or DH_IO. */
static int refill(dh_csv *csv, dh_error *err)
{
	size_t keep = (size_t)(csv->end - csv->pos);
	if (csv->pos != csv->buf) {
		memmove(csv->buf, csv->pos, keep);
		csv->base_off += (uint64_t)(csv->pos - csv->buf);
		csv->pos = csv->buf;
		csv->end = csv->buf + keep;
	}
	size_t room = csv->cap - keep;
	if (room == 0) /* cannot happen: callers keep at most max_record + 1 bytes */
		return fail(csv, err, DH_INTERNAL, "tampon de lecture CSV plein");
	size_t want = room < csv->read_size ? room : csv->read_size;
	if (csv->mem) {
		size_t left = csv->mem_len - csv->mem_pos;
		size_t n = left < want ? left : want;
		if (n)
			memcpy(csv->end, csv->mem + csv->mem_pos, n);
		csv->mem_pos += n;
		csv->end += n;
		*csv->end = '\n'; /* sentinel, see parse_record() */
		if (csv->mem_pos == csv->mem_len)
			csv->eof = 1;
		return DH_OK;
	}
	for (;;) {
		ssize_t n = csv->use_pread ? pread(csv->fd, csv->end, want, (off_t)csv->file_off)
		                           : read(csv->fd, csv->end, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return read_failed(csv, err);
		if (n == 0)
			csv->eof = 1;
		csv->file_off += (uint64_t)n;
		csv->end += n;
		*csv->end = '\n';
		return DH_OK;
	}
}

/* Switch the reader to the UTF-8 transcoding of UTF-16 text raw[0, len) (its BOM excluded):
 * it then reads from memory it owns, as UTF-8 whatever encoding was asked. */
static int adopt_utf16(dh_csv *csv, const unsigned char *raw, size_t len, int le, dh_error *err)
{
	unsigned char *utf8 = malloc(len / 2 * 3 + 4);
	if (!utf8)
		return fail(csv, err, DH_NOMEM, "mémoire insuffisante pour transcoder l'entrée UTF-16");
	size_t n = dh__csv_utf16_to_utf8(raw, len, le, utf8);
	if (csv->own_fd && csv->fd >= 0)
		close(csv->fd);
	csv->fd = -1;
	csv->own_fd = 0;
	free(csv->owned);
	csv->owned = utf8;
	csv->mem = utf8;
	csv->mem_len = n;
	csv->mem_pos = 0;
	csv->pos = csv->end = csv->buf;
	*csv->end = '\n';
	csv->base_off = 0;
	csv->eof = n == 0;
	csv->enc = DH_ENC_UTF8;
	csv->utf16 = 1;
	return DH_OK;
}

/* A stream (standard input, a pipe, a descriptor) that starts with a UTF-16 BOM: the bytes
 * already in the buffer and the rest of the stream, read whole (at most LIMIT_UTF16 bytes),
 * transcoded. */
#define LIMIT_UTF16 (LIMIT_MAX_RECORD * (uint64_t)16)
static int adopt_utf16_stream(dh_csv *csv, int le, dh_error *err)
{
	size_t len = (size_t)(csv->end - csv->pos) - 2, cap = len + csv->read_size + 4096;
	unsigned char *raw = malloc(cap);
	if (!raw)
		return fail(csv, err, DH_NOMEM, "mémoire insuffisante pour lire l'entrée UTF-16");
	memcpy(raw, csv->pos + 2, len);
	int rc = DH_OK;
	while (!csv->eof) {
		if (len == cap) {
			size_t grown = cap * 2;
			unsigned char *p = (uint64_t)cap >= LIMIT_UTF16 ? NULL : realloc(raw, grown);
			if (!p) {
				char msg[320];
				snprintf(msg, sizeof(msg), "« %s » : entrée UTF-16 trop grande ou mémoire insuffisante "
				         "(au plus 4 Gio)", csv->name);
				rc = fail(csv, err, (uint64_t)cap >= LIMIT_UTF16 ? DH_IO : DH_NOMEM, msg);
				break;
			}
			raw = p;
			cap = grown;
		}
		ssize_t n = read(csv->fd, raw + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = read_failed(csv, err);
			break;
		}
		if (n == 0)
			csv->eof = 1;
		len += (size_t)n;
	}
	if (rc == DH_OK)
		rc = adopt_utf16(csv, raw, len, le, err);
	free(raw);
	return rc;
}

static int start(dh_csv *csv, dh_error *err)
{
	int rc;
	while (!csv->eof && csv->end - csv->pos < 3)
		if ((rc = refill(csv, err)) != DH_OK)
			return rc;
	/* A UTF-16 BOM on a stream or in memory ("texte Unicode" of spreadsheets; a file opened
	 * by path was transcoded at open): transcoded to UTF-8 whole, then read from memory. */
	if (!csv->utf16 && csv->base_off == 0 && csv->pos == csv->buf && csv->end - csv->pos >= 2 &&
	    ((csv->pos[0] == 0xFF && csv->pos[1] == 0xFE) || (csv->pos[0] == 0xFE && csv->pos[1] == 0xFF))) {
		int le = csv->pos[0] == 0xFF;
		rc = csv->mem ? adopt_utf16(csv, csv->mem + 2, csv->mem_len - 2, le, err)
		              : adopt_utf16_stream(csv, le, err);
		if (rc != DH_OK)
			return rc;
		while (!csv->eof && csv->end - csv->pos < 3)
			if ((rc = refill(csv, err)) != DH_OK)
				return rc;
	}
	/* A UTF-8 BOM is never data: skipped even when an encoding was forced. */
	if (csv->end - csv->pos >= 3 && csv->pos[0] == 0xEF && csv->pos[1] == 0xBB && csv->pos[2] == 0xBF) {
		csv->pos += 3;
		csv->had_bom = 1;
		if (csv->enc == DH_ENC_AUTO)
			csv->enc = DH_ENC_UTF8;
	}
	if (csv->enc == DH_ENC_AUTO)
		while (!dh__csv_detect_encoding(csv))
			if ((rc = refill(csv, err)) != DH_OK)
				return rc;
	if (!csv->delim)
		while (!dh__csv_detect_delimiter(csv))
			if ((rc = refill(csv, err)) != DH_OK)
				return rc;
	csv->started = 1;
	return DH_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Records                                                                              */

#define SET_PROBLEM(code, col)                                                                     \
	do {                                                                                       \
		if (!problem) {                                                                    \
			problem = (code);                                                          \
			problem_col = (uint32_t)(col);                                             \
		}                                                                                  \
	} while (0)

/*
 * Unescape the quoted field f in place: its raw bytes start with the opening quote;
 * "" inside quotes is one quote; text after the closing quote is kept as is.
 */
static void unescape(dh_str *f)
{
	unsigned char *w = (unsigned char *)(uintptr_t)f->ptr;
	const unsigned char *r = w + 1, *e = w + f->len;
	unsigned char *out = w;
	int in_quotes = 1;
	while (r < e) {
		if (*r == '"' && in_quotes) {
			if (r + 1 < e && r[1] == '"') {
				*w++ = '"';
				r += 2;
				continue;
			}
			in_quotes = 0;
			r++;
			continue;
		}
		*w++ = *r++;
	}
	f->len = (size_t)(w - out);
}

/*
 * Decode field f if it holds non-ASCII bytes: decide the encoding on the first one met
 * (AUTO), transcode Windows-1252 or check UTF-8 (invalid bytes become U+FFFD) into
 * scratch. `room` is the scratch reservation for the record. Returns 1 when the field is
 * invalid UTF-8, 0 otherwise, -1 when out of memory.
 */
static int decode_field(dh_csv *csv, dh_str *f, size_t room)
{
	size_t j = ascii_prefix((const unsigned char *)f->ptr, f->len);
	if (j == f->len)
		return 0;
	if (!csv->scratch_len && !scratch_reserve(csv, room))
		return -1;
	csv->saw_non_ascii = 1;
	if (csv->enc == DH_ENC_AUTO) {
		const unsigned char *p = (const unsigned char *)f->ptr;
		csv->enc = dh__csv_utf8_sequence(p + j, p + f->len) ? DH_ENC_UTF8 : DH_ENC_WINDOWS1252;
	}
	if (csv->enc == DH_ENC_WINDOWS1252) {
		transcode_cp1252(csv, f, j);
		return 0;
	}
	return check_utf8(csv, f, j);
}

/*
 * Parse the record starting at csv->pos, which is not a line break. PARSE_DONE: *rec is
 * filled and csv->pos / csv->line moved past it. PARSE_MORE: the record does not end in
 * the buffer (nothing changed). PARSE_LONG: the record is too long (nothing changed).
 * PARSE_NOMEM: no memory to transcode.
 *
 * The byte at csv->end is a '\n' sentinel, so scanning always stops there: a special byte
 * at or past end is only checked for where a '\n' is handled.
 */
static int parse_record(dh_csv *csv, dh_csv_record *rec)
{
	unsigned char *const start = csv->pos;
	unsigned char *const end = csv->end;
	const unsigned char delim = (unsigned char)csv->delim;
	dh_str *const fields = csv->fields;
	dh_str *const fields_end = fields + csv->max_fields;
	dh_str *fp = fields;
	uint32_t *const unesc = csv->quoted;      /* quoted fields to unescape, ascending */
	uint32_t *const nonascii = csv->nonascii; /* fields with non-ASCII bytes, ascending */
	size_t nu = 0, nn = 0;
	int problem = DH_CSV_FINE;
	uint32_t problem_col = 0;
	uint64_t lines = 0; /* line breaks inside quotes */
	size_t adjust =
	    0; /* 1 when the current field is a simple quoted one: drop its closing quote */
	unsigned char *fs = start, *q, *next, *blk = start;
	uint64_t mask = special_mask(blk, delim);

#define EMIT_FIELD(stop)                                                                           \
	do {                                                                                       \
		if (fp == fields_end)                                                              \
			return PARSE_LONG;                                                         \
		fp->ptr = (const char *)fs;                                                        \
		fp->len = (size_t)((stop)-fs) - adjust;                                            \
		adjust = 0;                                                                        \
		fp++;                                                                              \
	} while (0)
#define FIELD_NO ((size_t)(fp - fields) + 1)
#define NEXT_SPECIAL()                                                                             \
	do {                                                                                       \
		while (!mask) {                                                                    \
			blk += 64;                                                                 \
			mask = special_mask(blk, delim);                                           \
		}                                                                                  \
		q = blk + lowest_bit(mask);                                                        \
		mask &= mask - 1;                                                                  \
	} while (0)
#define NOTE_NONASCII()                                                                            \
	do {                                                                                       \
		uint32_t idx_ = (uint32_t)(fp - fields);                                           \
		if (!nn || nonascii[nn - 1] != idx_)                                               \
			nonascii[nn++] = idx_;                                                     \
	} while (0)

	for (;;) {
		NEXT_SPECIAL();
		unsigned char c = *q;
		if (c == delim) {
			EMIT_FIELD(q);
			fs = q + 1;
			continue;
		}
		if (c == '\n') {
			if (q >= end)
				break;
			EMIT_FIELD(q);
			next = q + 1;
			goto record_end;
		}
		if (c >= 0x80) {
			NOTE_NONASCII();
		} else if (c == '"') {
			if (q != fs) {
				SET_PROBLEM(DH_CSV_BAD_QUOTE, FIELD_NO);
				continue;
			}
			/* A quoted field: the same scan finds its closing quote, skipping doubled
			 * ones, and notes line breaks, NUL and non-ASCII bytes on the way. */
			int escaped = 0;
			for (;;) {
				NEXT_SPECIAL();
				c = *q;
				if (c == '"') {
					if (q + 1 >= end) {
						if (!csv->eof)
							return PARSE_MORE;
						break; /* closing quote, last byte of the input */
					}
					if (q[1] != '"')
						break;
					escaped = 1;
					/* Skip the second quote: the lowest bit left, or bit 0 of
					 * the next block. */
					if (!mask) {
						blk += 64;
						mask = special_mask(blk, delim);
					}
					mask &= mask - 1;
					continue;
				}
				if (q >= end) {
					if (!csv->eof)
						return PARSE_MORE;
					SET_PROBLEM(DH_CSV_UNTERMINATED, FIELD_NO);
					unesc[nu++] = (uint32_t)(fp - fields);
					q = end;
					goto last_field;
				}
				if (c == '\n') {
					lines++;
				} else if (c == '\r') {
					if (q + 1 >= end && !csv->eof)
						return PARSE_MORE;
					lines += q + 1 >= end || q[1] != '\n';
				} else if (c >= 0x80) {
					NOTE_NONASCII();
				} else if (c == 0) {
					SET_PROBLEM(DH_CSV_NUL_BYTE, FIELD_NO);
				}
			}
			/* q is the closing quote; the byte after it is data, or the sentinel at
			 * end. */
			c = q[1];
			int ends_here = q + 1 == end || c == delim || c == '\n' || c == '\r';
			if (!ends_here)
				SET_PROBLEM(DH_CSV_BAD_QUOTE, FIELD_NO);
			if (escaped || !ends_here) {
				unesc[nu++] = (uint32_t)(fp - fields);
			} else {
				fs++;
				adjust = 1;
			}
		} else if (c == '\r') {
			if (q + 1 >= end) {
				if (!csv->eof)
					return PARSE_MORE;
				next = q + 1;
			} else {
				next = q + 1 + (q[1] == '\n');
			}
			EMIT_FIELD(q);
			goto record_end;
		} else if (c == 0) {
			SET_PROBLEM(DH_CSV_NUL_BYTE, FIELD_NO);
		}
	}
	/* Out of data: the record ends here only at the end of the input. */
	if (!csv->eof)
		return PARSE_MORE;
	q = end;
last_field:
	EMIT_FIELD(q);
	next = end;
record_end:
#undef EMIT_FIELD
#undef FIELD_NO
#undef NEXT_SPECIAL
#undef NOTE_NONASCII
	if ((size_t)(q - start) > csv->max_record)
		return PARSE_LONG;

	const size_t nf = (size_t)(fp - fields);
	lines += next > q; /* the terminator, if any */
	for (size_t i = 0; i < nu; i++)
		unescape(&fields[unesc[i]]);
	/* Only fields where the scan met non-ASCII bytes need decoding. */
	int check_length = (size_t)(q - start) > csv->max_field;
	csv->scratch_len = 0;
	if (nn) {
		/* Worst case: every byte becomes 3 (U+FFFD, or U+20AC from one byte). */
		size_t room = 3 * (size_t)(q - start) + 4;
		for (size_t i = 0; i < nn; i++) {
			int r = decode_field(csv, &fields[nonascii[i]], room);
			if (r < 0)
				return PARSE_NOMEM;
			if (r)
				SET_PROBLEM(DH_CSV_BAD_UTF8, nonascii[i] + 1);
			check_length |= fields[nonascii[i]].len > csv->max_field;
		}
	}
	if (check_length) {
		const size_t max_field = csv->max_field;
		for (size_t i = 0; i < nf; i++) {
			dh_str *f = &fields[i];
			if (f->len <= max_field)
				continue;
			size_t n = max_field;
			while (n > 0 && ((unsigned char)f->ptr[n] & 0xC0) == 0x80)
				n--;
			f->len = n;
			SET_PROBLEM(DH_CSV_FIELD_TOO_LONG, i + 1);
		}
	}

	rec->fields = fields;
	rec->nfields = nf;
	rec->line = csv->line;
	rec->offset = csv->base_off + (uint64_t)(start - csv->buf);
	rec->problem = problem;
	rec->problem_column = problem_col;
	csv->line += lines;
	csv->pos = next;
	return PARSE_DONE;
}

/*
 * Skip the record starting at csv->pos (too long to be returned), refilling the buffer as
 * needed and counting its line breaks. Returns DH_OK or a fatal code.
 */
static int skip_record(dh_csv *csv, dh_error *err)
{
	const unsigned char delim = (unsigned char)csv->delim;
	int in_quotes = 0, field_start = 1;
	uint64_t lines = 0;
	unsigned char *p = csv->pos;
	for (;;) {
		unsigned char *end = csv->end;
		/* One byte of look-ahead is kept unless the input is exhausted. */
		while (p + 1 < end || (csv->eof && p < end)) {
			unsigned char c = *p;
			int has_next = p + 1 < end;
			if (in_quotes) {
				if (c == '"') {
					if (has_next && p[1] == '"') {
						p += 2;
						continue;
					}
					in_quotes = 0;
				} else if (c == '\n' ||
				           (c == '\r' && !(has_next && p[1] == '\n'))) {
					lines++;
				}
				p++;
				continue;
			}
			if (field_start && c == '"') {
				in_quotes = 1;
				field_start = 0;
				p++;
				continue;
			}
			field_start = c == delim;
			if (c == '\n' || c == '\r') {
				p += (c == '\r' && has_next && p[1] == '\n') ? 2 : 1;
				csv->pos = p;
				csv->line += lines + 1;
				return DH_OK;
			}
			p++;
		}
		csv->pos = p;
		if (csv->eof) {
			csv->line += lines;
			return DH_OK;
		}
		int rc = refill(csv, err);
		if (rc != DH_OK)
			return rc;
		p = csv->pos;
	}
}

int dh_csv_next(dh_csv *csv, dh_csv_record *rec, dh_error *err)
{
	int rc;
	if (csv->fatal)
		return dh_error_set(err, csv->fatal, "%s", csv->fatal_msg);
	if (!csv->started && (rc = start(csv, err)) != DH_OK)
		return rc;
	for (;;) {
		unsigned char *p = csv->pos, *end = csv->end;
		/* Blank lines are skipped; a CR at the end of the buffer needs its successor. */
		while (p < end) {
			if (*p == '\n') {
				p++;
			} else if (*p == '\r') {
				if (p + 1 < end)
					p += 1 + (p[1] == '\n');
				else if (csv->eof)
					p++;
				else
					break;
			} else {
				break;
			}
			csv->line++;
		}
		csv->pos = p;
		if (p == end && csv->eof)
			return DH_EOF;
		int r = PARSE_MORE;
		if (p < end && *p != '\r')
			r = parse_record(csv, rec);
		if (r == PARSE_DONE)
			return DH_OK;
		if (r == PARSE_NOMEM)
			return fail(csv, err, DH_NOMEM,
			            "mémoire insuffisante pour transcoder un enregistrement CSV");
		/* The last byte may be a CR waiting for its LF: one byte more than max_record
		 * is not yet proof of a record too long. */
		if (r == PARSE_MORE && (size_t)(csv->end - csv->pos) <= csv->max_record + 1) {
			if ((rc = refill(csv, err)) != DH_OK)
				return rc;
			continue;
		}
		/* Too long: report it without fields and go on after it. */
		rec->fields = csv->fields;
		rec->nfields = 0;
		rec->line = csv->line;
		rec->offset = csv->base_off + (uint64_t)(csv->pos - csv->buf);
		rec->problem = DH_CSV_RECORD_TOO_LONG;
		rec->problem_column = 0;
		if ((rc = skip_record(csv, err)) != DH_OK)
			return rc;
		return DH_OK;
	}
}

/* ------------------------------------------------------------------------------------ */
/* Life cycle and accessors                                                             */

static int open_common(dh_csv **out, int fd, int own_fd, const void *data, size_t len,
                       const char *name, const dh_csv_options *opt, size_t read_size, dh_error *err)
{
	*out = NULL;
	dh_csv_options o = {0, DH_ENC_AUTO, 0, 0, 0};
	if (opt)
		o = *opt;
	if (!name)
		name = "<entrée>";
	unsigned char d = (unsigned char)o.delimiter;
	if (d == '"' || d == '\n' || d == '\r' || d >= 0x80 ||
	    (o.encoding != DH_ENC_AUTO && o.encoding != DH_ENC_UTF8 &&
	     o.encoding != DH_ENC_WINDOWS1252) ||
	    o.max_record > LIMIT_MAX_RECORD || o.max_fields > LIMIT_MAX_FIELDS ||
	    read_size > LIMIT_READ_SIZE) {
		if (own_fd)
			close(fd);
		return dh_error_set(err, DH_INVAL, "options de lecture CSV invalides pour « %s »",
		                    name);
	}
	dh_csv *csv = calloc(1, sizeof(*csv));
	if (!csv) {
		if (own_fd)
			close(fd);
		return dh_error_nomem(err);
	}
	csv->fd = fd;
	csv->own_fd = own_fd;
	csv->mem = data;
	csv->mem_len = len;
	csv->line = 1;
	csv->delim = o.delimiter;
	csv->enc = o.encoding;
	csv->max_field = o.max_field ? o.max_field : DEFAULT_MAX_FIELD;
	csv->max_record = o.max_record ? o.max_record : DEFAULT_MAX_RECORD;
	csv->max_fields = o.max_fields ? o.max_fields : DEFAULT_MAX_FIELDS;
	csv->read_size = read_size ? read_size : DEFAULT_READ_SIZE;
	csv->cap = csv->max_record + 1 + csv->read_size;
	csv->name = strdup(name);
	csv->buf = calloc(1, csv->cap + SLACK);
	csv->fields = calloc(csv->max_fields, sizeof(*csv->fields));
	/* One more than max_fields: the field that overflows is indexed before it is refused. */
	csv->quoted = calloc(csv->max_fields + 1, sizeof(*csv->quoted));
	csv->nonascii = calloc(csv->max_fields + 1, sizeof(*csv->nonascii));
	if (!csv->name || !csv->buf || !csv->fields || !csv->quoted || !csv->nonascii) {
		dh_csv_free(csv);
		return dh_error_nomem(err);
	}
	csv->pos = csv->end = csv->buf;
	*csv->end = '\n';
	if (csv->mem && len == 0)
		csv->eof = 1;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	*out = csv;
	return DH_OK;
}

int dh__csv_open_mem_sized(dh_csv **out, const void *data, size_t len, const char *name,
                          const dh_csv_options *opt, size_t read_size, dh_error *err)
{
	static const unsigned char empty[1] = {0};
	return open_common(out, -1, 0, len ? data : empty, len, name, opt, read_size, err);
}

int dh_csv_open_mem(dh_csv **out, const void *data, size_t len, const char *name,
                    const dh_csv_options *opt, dh_error *err)
{
	return dh__csv_open_mem_sized(out, data, len, name, opt, 0, err);
}

int dh__csv_open_fd_sized(dh_csv **out, int fd, const char *name, const dh_csv_options *opt,
                         size_t read_size, dh_error *err)
{
	if (fd < 0) {
		*out = NULL;
		return dh_error_set(err, DH_INVAL, "descripteur invalide");
	}
	return open_common(out, fd, 0, NULL, 0, name, opt, read_size, err);
}

int dh_csv_open_fd(dh_csv **out, int fd, const char *name, const dh_csv_options *opt, dh_error *err)
{
	return dh__csv_open_fd_sized(out, fd, name, opt, 0, err);
}

int dh__csv_was_utf16(const dh_csv *csv)
{
	return csv->utf16;
}

int dh_csv_open_path(dh_csv **out, const char *path, const dh_csv_options *opt, dh_error *err)
{
	*out = NULL;
	if (!path)
		return dh_error_set(err, DH_INVAL, "chemin absent");
	if (strcmp(path, "-") == 0)
		return open_common(out, 0, 0, NULL, 0, "<stdin>", opt, 0, err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, e == ENOENT ? DH_NOTFOUND : DH_IO,
		                    "ouverture de « %s » impossible : %s", path, sys_message(e));
	}
	return open_common(out, fd, 1, NULL, 0, path, opt, 0, err);
}

void dh_csv_free(dh_csv *csv)
{
	if (!csv)
		return;
	if (csv->own_fd && csv->fd >= 0)
		close(csv->fd);
	free(csv->buf);
	free(csv->fields);
	free(csv->quoted);
	free(csv->nonascii);
	free(csv->scratch);
	free(csv->name);
	free(csv->owned);
	free(csv);
}

char dh_csv_delimiter(const dh_csv *csv)
{
	return csv->delim;
}

dh_encoding dh_csv_encoding(const dh_csv *csv)
{
	return csv->enc;
}

int dh_csv_saw_non_ascii(const dh_csv *csv)
{
	return csv->saw_non_ascii;
}

int dh_csv_had_bom(const dh_csv *csv)
{
	return csv->had_bom;
}

uint64_t dh_csv_bytes(const dh_csv *csv)
{
	return csv->base_off + (uint64_t)(csv->pos - csv->buf);
}

const char *dh_csv_name(const dh_csv *csv)
{
	return csv->name;
}

/* ------------------------------------------------------------------------------------ */
/* Range readers (csv_internal.h)                                                       */

int dh__csv_rereadable(const dh_csv *csv, uint64_t *size)
{
	if (csv->mem) {
		*size = csv->mem_len;
		return 1;
	}
	struct stat st;
	/* Only a file opened by path: its offsets are the reader's offsets. */
	if (!csv->own_fd || csv->use_pread || fstat(csv->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	*size = (uint64_t)st.st_size;
	return 1;
}

uint64_t dh__csv_line(const dh_csv *csv)
{
	return csv->line;
}

int dh__csv_open_like(dh_csv **out, const dh_csv *like, size_t read_size, dh_error *err)
{
	dh_csv_options o = {like->delim, like->enc, like->max_field, like->max_record,
	                    like->max_fields};
	int rc = like->mem ? open_common(out, -1, 0, like->mem, like->mem_len, like->name, &o,
	                                 read_size, err)
	                   : open_common(out, like->fd, 0, NULL, 0, like->name, &o, read_size, err);
	if (rc == DH_OK) {
		(*out)->use_pread = like->mem == NULL;
		(*out)->started = 1;
	}
	return rc;
}

void dh__csv_seek(dh_csv *csv, uint64_t offset, dh_encoding enc)
{
	csv->pos = csv->end = csv->buf;
	*csv->end = '\n';
	csv->base_off = offset;
	csv->line = 1;
	csv->fatal = DH_OK;
	csv->started = 1;
	csv->enc = enc;
	csv->saw_non_ascii = 0;
	csv->scratch_len = 0;
	if (csv->mem) {
		csv->mem_pos = offset < csv->mem_len ? (size_t)offset : csv->mem_len;
		csv->base_off = csv->mem_pos;
		csv->eof = csv->mem_pos == csv->mem_len;
	} else {
		csv->file_off = offset;
		csv->eof = 0;
	}
}

int dh__csv_skip_line(dh_csv *csv, dh_error *err)
{
	if (csv->fatal)
		return dh_error_set(err, csv->fatal, "%s", csv->fatal_msg);
	for (;;) {
		unsigned char *p = csv->pos, *end = csv->end;
		while (p < end && *p != '\n' && *p != '\r')
			p++;
		if (p < end) {
			if (*p == '\r' && p + 1 >= end && !csv->eof) {
				csv->pos = p; /* the CR needs its successor */
			} else {
				p += 1 + (*p == '\r' && p + 1 < end && p[1] == '\n');
				csv->pos = p;
				csv->line = 1;
				return DH_OK;
			}
		} else {
			csv->pos = p;
			if (csv->eof) {
				csv->line = 1;
				return DH_OK;
			}
		}
		int rc = refill(csv, err);
		if (rc != DH_OK)
			return rc;
	}
}

void dh__csv_limits(const dh_csv *csv, size_t *max_fields, size_t *max_record)
{
	*max_fields = csv->max_fields;
	*max_record = csv->max_record;
}

size_t dh__csv_memory(const dh_csv *csv)
{
	return sizeof(*csv) + csv->cap + SLACK + csv->max_fields * sizeof(dh_str) +
	       (csv->max_fields + 1) * 2 * sizeof(uint32_t) + csv->scratch_cap;
}

const char *dh_encoding_name(dh_encoding enc, int saw_non_ascii)
{
	switch (enc) {
	case DH_ENC_UTF8:
		return "utf-8";
	case DH_ENC_WINDOWS1252:
		return "windows-1252";
	case DH_ENC_AUTO:
		return saw_non_ascii ? "inconnu" : "ascii";
	}
	return "inconnu";
}

int dh_encoding_parse(const char *name)
{
	static const struct {
		const char *name;
		dh_encoding enc;
	} names[] = {
		{ "auto", DH_ENC_AUTO },	 { "utf-8", DH_ENC_UTF8 },	       { "utf8", DH_ENC_UTF8 },
		{ "windows-1252", DH_ENC_WINDOWS1252 }, { "cp1252", DH_ENC_WINDOWS1252 },
		{ "iso-8859-1", DH_ENC_WINDOWS1252 },	 { "latin1", DH_ENC_WINDOWS1252 },
		{ "iso8859-1", DH_ENC_WINDOWS1252 },	 { "latin-1", DH_ENC_WINDOWS1252 },
	};
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return (int)names[i].enc;
	return -1;
}

const char *dh_csv_problem_message(int problem)
{
	switch (problem) {
	case DH_CSV_FINE:
		return "aucun problème";
	case DH_CSV_BAD_UTF8:
		return "séquence UTF-8 invalide";
	case DH_CSV_BAD_QUOTE:
		return "guillemet mal placé (texte après un guillemet fermant ou guillemet dans un "
		       "champ non protégé)";
	case DH_CSV_UNTERMINATED:
		return "guillemet ouvrant jamais refermé avant la fin du fichier";
	case DH_CSV_FIELD_TOO_LONG:
		return "champ trop long, tronqué";
	case DH_CSV_RECORD_TOO_LONG:
		return "enregistrement trop long ou comptant trop de champs, ignoré";
	case DH_CSV_NUL_BYTE:
		return "octet nul dans les données";
	}
	return "problème inconnu";
}
