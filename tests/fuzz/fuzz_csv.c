/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (src/ingest/csv.c).
 *
 * The first byte chooses the options (delimiter, encoding, small limits, read size);
 * the rest is the CSV input. Every record is checked against the reader's contract
 * (fields within the limits and valid UTF-8, lines and offsets increasing, problems
 * consistent, all bytes consumed; offsets of the UTF-8 transcoding for an input with a UTF-16
 * BOM), and the input is read twice, with the default buffer
 * and with a tiny one, which must give the same records.
 */
#include "ingest/internal.h"
#include "datahabitat/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Independent UTF-8 check (no overlongs, surrogates or code points above U+10FFFF). */
static int valid_utf8(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		uint32_t cp;
		size_t n;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + n > len)
			return 0;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n;
	}
	return 1;
}

/* FNV-1a over everything a caller can observe of the records. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t read_all(const uint8_t *data, size_t size, const dh_csv_options *opt,
                         size_t read_size)
{
	dh_csv *csv = NULL;
	dh_error err;
	CHECK(dh__csv_open_mem_sized(&csv, data, size, "fuzz", opt, read_size, &err) == DH_OK);
	size_t max_field = opt->max_field ? opt->max_field : 64 * 1024;
	size_t max_fields = opt->max_fields ? opt->max_fields : 1024;
	/* A UTF-16 BOM: the reader reads the UTF-8 transcoding, offsets count its bytes. */
	size_t text_size = size;
	int utf16 = size >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF));
	if (utf16) {
		unsigned char *utf8 = malloc(size / 2 * 3 + 4);
		CHECK(utf8 != NULL);
		text_size = dh__csv_utf16_to_utf8(data + 2, size - 2, data[0] == 0xFF, utf8);
		free(utf8);
	}
	uint64_t h = UINT64_C(0xcbf29ce484222325), last_line = 0, last_offset = 0;
	int first = 1, rc;
	dh_csv_record rec;
	while ((rc = dh_csv_next(csv, &rec, &err)) == DH_OK) {
		CHECK(rec.problem >= DH_CSV_FINE && rec.problem <= DH_CSV_NUL_BYTE);
		CHECK(rec.nfields <= max_fields);
		if (rec.problem == DH_CSV_RECORD_TOO_LONG) {
			CHECK(rec.nfields == 0 && rec.problem_column == 0);
		} else {
			CHECK(rec.nfields >= 1);
			CHECK((rec.problem == DH_CSV_FINE) == (rec.problem_column == 0));
			CHECK(rec.problem_column <= rec.nfields);
		}
		CHECK(rec.line >= 1 && rec.offset < text_size);
		if (!first)
			CHECK(rec.line > last_line && rec.offset > last_offset);
		first = 0;
		last_line = rec.line;
		last_offset = rec.offset;
		h = mix(h, &rec.line, sizeof(rec.line));
		h = mix(h, &rec.offset, sizeof(rec.offset));
		h = mix(h, &rec.problem, sizeof(rec.problem));
		h = mix(h, &rec.problem_column, sizeof(rec.problem_column));
		h = mix(h, &rec.nfields, sizeof(rec.nfields));
		for (size_t i = 0; i < rec.nfields; i++) {
			dh_str f = rec.fields[i];
			CHECK(f.len <= max_field);
			CHECK(f.len == 0 || f.ptr != NULL);
			CHECK(valid_utf8((const unsigned char *)f.ptr, f.len));
			h = mix(h, &f.len, sizeof(f.len));
			h = mix(h, f.ptr, f.len);
		}
	}
	CHECK(rc == DH_EOF);
	CHECK(dh_csv_next(csv, &rec, &err) == DH_EOF);
	CHECK(dh_csv_bytes(csv) == text_size);
	CHECK(dh__csv_was_utf16(csv) == utf16);
	if (utf16)
		CHECK(dh_csv_encoding(csv) == DH_ENC_UTF8);
	char d = dh_csv_delimiter(csv);
	CHECK(opt->delimiter ? d == opt->delimiter
	                     : (d == ';' || d == ',' || d == '\t' || d == '|'));
	h = mix(h, &d, 1);
	dh_encoding enc = dh_csv_encoding(csv);
	CHECK(dh_encoding_name(enc, dh_csv_saw_non_ascii(csv)) != NULL);
	h = mix(h, &enc, sizeof(enc));
	dh_csv_free(csv);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delimiters[4] = {0, ';', ',', '\t'};
	static const size_t read_sizes[4] = {1, 3, 7, 64};
	if (size < 1)
		return 0;
	uint8_t o = data[0];
	dh_csv_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.delimiter = delimiters[o & 3];
	opt.encoding = (dh_encoding)((o >> 2) % 3);
	opt.max_field = (o & 0x10) ? 8 : 0;
	opt.max_record = (o & 0x20) ? 48 : 0;
	opt.max_fields = (o & 0x40) ? 5 : 0;
	uint64_t whole = read_all(data + 1, size - 1, &opt, 0);
	uint64_t pieces = read_all(data + 1, size - 1, &opt, read_sizes[(o >> 6) ^ ((o >> 4) & 3)]);
	CHECK(whole == pieces);
	return 0;
}
