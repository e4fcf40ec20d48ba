/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * csv_detect.c - the CSV reader's dialect and encoding detection at the start of an input
 * (delimiter among ; , TAB |, UTF-8 or Windows-1252), and the UTF-16 to UTF-8 transcoding
 * of files that start with a UTF-16 byte order mark. The reader itself is csv.c.
 */
#include "ingest/internal.h"

#include <string.h>

/* Lines the delimiter is chosen from: an optional landlord line, the header, some records. */
#define DETECT_LINES 8

/*
 * Pick the delimiter among ; , TAB | from the first DETECT_LINES lines (at most the first
 * max_record + 1 bytes, so that the choice does not depend on the buffer size), quotes
 * considered. Each candidate scores, over the counts c > 0 it has on a line, the largest
 * c x (lines where it appears exactly c times): the separator is frequent and regular, where
 * decimal commas are regular but rare; then the most frequent, ';' first on ties. So neither
 * a landlord line with commas in its raison sociale nor a SIREN-only first line decides.
 * Returns 0 when more bytes are needed.
 */
int dh__csv_detect_delimiter(dh_csv *csv)
{
	static const char candidates[4] = {';', ',', '\t', '|'};
	size_t count[DETECT_LINES][4];
	memset(count, 0, sizeof(count));
	const unsigned char *p = csv->pos, *end = csv->end;
	int window_full = (size_t)(end - p) > csv->max_record;
	if (window_full)
		end = p + csv->max_record + 1;
	int in_quotes = 0;
	size_t lines = 0, started = 0;
	for (; p < end && lines < DETECT_LINES; p++) {
		unsigned char c = *p;
		if (c == '"') {
			in_quotes = !in_quotes;
			started = 1;
		} else if (!in_quotes) {
			if (c == '\n' || c == '\r') {
				lines += started; /* empty lines do not count */
				started = 0;
				continue;
			}
			started = 1;
			for (int i = 0; i < 4; i++)
				count[lines][i] += c == (unsigned char)candidates[i];
		}
	}
	if (lines < DETECT_LINES && !csv->eof && !window_full)
		return 0;
	if (started && lines < DETECT_LINES)
		lines++; /* the last line, without its line break */
	int best = 0;
	size_t best_score = 0, best_total = 0;
	for (int i = 0; i < 4; i++) {
		size_t score = 0, total = 0;
		for (size_t a = 0; a < lines; a++) {
			total += count[a][i];
			if (count[a][i] == 0)
				continue;
			size_t same = 0;
			for (size_t b = 0; b < lines; b++)
				same += count[b][i] == count[a][i];
			if (same * count[a][i] > score)
				score = same * count[a][i];
		}
		if (score > best_score || (score == best_score && total > best_total)) {
			best = i;
			best_score = score;
			best_total = total;
		}
	}
	csv->delim = candidates[best];
	return 1;
}

/* Bytes examined to decide the encoding at the start (at most max_record + 1). */
#define ENCODING_WINDOW ((size_t)64 * 1024)

/*
 * Decide an undecided encoding from the first bytes (ENCODING_WINDOW, or max_record + 1 if
 * smaller: fixed by the options, not the buffer): UTF-8 when its valid multi-byte sequences
 * are at least as many as the bytes that are not UTF-8 (those fields then get invalid-utf8),
 * Windows-1252 when only invalid bytes were seen; undecided (the first non-ASCII field
 * decides) without any non-ASCII byte. Returns 0 when more bytes are needed.
 */
int dh__csv_detect_encoding(dh_csv *csv)
{
	size_t window = csv->max_record + 1 < ENCODING_WINDOW ? csv->max_record + 1 : ENCODING_WINDOW;
	const unsigned char *p = csv->pos, *e = csv->end;
	if ((size_t)(e - p) < window && !csv->eof)
		return 0;
	/* cut: input goes on after the window (decided by the input, not by what is buffered) */
	int cut = !(csv->eof && (size_t)(e - p) <= window);
	if ((size_t)(e - p) > window)
		e = p + window;
	size_t valid = 0, invalid = 0;
	while (p < e) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t n = dh__csv_utf8_sequence(p, e);
		if (n == 0 && e - p < 4 && cut)
			break; /* a sequence cut by the window: not counted */
		if (n) {
			valid++;
			p += n;
		} else {
			invalid++;
			p++;
		}
	}
	if (valid && valid >= invalid)
		csv->enc = DH_ENC_UTF8;
	else if (invalid)
		csv->enc = DH_ENC_WINDOWS1252;
	return 1;
}

/* Any code point (below U+110000) as UTF-8 at w; returns the end. */
static unsigned char *put_code_point(unsigned char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (unsigned char)cp;
		return w;
	}
	if (cp < 0x10000)
		return dh__csv_put_utf8(w, cp);
	*w++ = (unsigned char)(0xF0 | (cp >> 18));
	*w++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	*w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	return w;
}

/* UTF-8 of UTF-16 (little-endian when le) text, BOM excluded; unpaired surrogates and an odd
 * last byte become U+FFFD. out holds at least len / 2 * 3 + 3 bytes. Returns the length. */
size_t dh__csv_utf16_to_utf8(const unsigned char *in, size_t len, int le, unsigned char *out)
{
	unsigned char *w = out;
	size_t i = 0;
	while (i + 1 < len) {
		unsigned u = le ? (unsigned)in[i] | (unsigned)in[i + 1] << 8 : (unsigned)in[i] << 8 | in[i + 1];
		i += 2;
		if (u >= 0xD800 && u < 0xDC00 && i + 1 < len) {
			unsigned lo = le ? (unsigned)in[i] | (unsigned)in[i + 1] << 8 : (unsigned)in[i] << 8 | in[i + 1];
			if (lo >= 0xDC00 && lo < 0xE000) {
				i += 2;
				w = put_code_point(w, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
				continue;
			}
		}
		w = put_code_point(w, u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
	}
	if (i < len)
		w = put_code_point(w, 0xFFFD);
	return (size_t)(w - out);
}
