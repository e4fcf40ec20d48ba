/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * base.c - result-code table lookups, error helpers and string-view utilities.
 */
#include "datahabitat/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *dh_version(void)
{
	return DH_VERSION;
}

static const struct {
	const char *name;
	const char *message;
	int http;
	int exitcode;
} result_table[] = {
#define DH_RESULT_ROW(name, msg, http, exitcode) { "DH_" #name, msg, http, exitcode },
	DH_RESULT_MAP(DH_RESULT_ROW)
#undef DH_RESULT_ROW
};

static int in_range(int code)
{
	return code >= 0 && code < DH_RESULT_COUNT;
}

const char *dh_result_name(int code)
{
	return in_range(code) ? result_table[code].name : "DH_UNKNOWN";
}

const char *dh_result_message(int code)
{
	return in_range(code) ? result_table[code].message : "erreur inconnue";
}

int dh_result_http_status(int code)
{
	return in_range(code) ? result_table[code].http : 500;
}

int dh_result_exit_code(int code)
{
	return in_range(code) ? result_table[code].exitcode : 3;
}

int dh_str_eq(dh_str a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && (n == 0 || memcmp(a.ptr, b, n) == 0);
}

void dh_error_clear(dh_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int dh_error_set(dh_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	char buf[sizeof(err->message)];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dh_strlcpy(err->message, sizeof(err->message), buf);
	return code;
}

int dh_error_nomem(dh_error *err)
{
	return dh_error_set(err, DH_NOMEM, "%s", dh_result_message(DH_NOMEM));
}

void dh_strlcpy_view(char *dst, size_t size, dh_str src)
{
	if (size == 0)
		return;
	size_t n = src.len < size - 1 ? src.len : size - 1;
	/* Do not cut a UTF-8 sequence in two: back off continuation bytes. */
	if (n < src.len)
		while (n > 0 && ((unsigned char)src.ptr[n] & 0xC0) == 0x80)
			n--;
	if (n)
		memcpy(dst, src.ptr, n);
	dst[n] = '\0';
}

void dh_strlcpy(char *dst, size_t size, const char *src)
{
	dh_strlcpy_view(dst, size, (dh_str){ src, src ? strlen(src) : 0 });
}

size_t dh_utf8_seq(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	if (u[0] < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		len = 2, cp = u[0] & 0x1Fu;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF)
		len = 3, cp = u[0] & 0x0Fu;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		len = 4, cp = u[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* 1 if the sequence of len bytes at s is a control character (C0, DEL or C1). */
static int is_control(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	if (len == 1)
		return u[0] < 0x20 || u[0] == 0x7F;
	return len == 2 && u[0] == 0xC2 && u[1] < 0xA0; /* U+0080..U+009F */
}

/* 1 if the sequence is a space: U+0020, U+00A0, U+2000..U+200B, U+202F, U+205F, U+3000. */
static int is_space(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	if (len == 1)
		return u[0] == ' ';
	if (len == 2)
		return u[0] == 0xC2 && u[1] == 0xA0;
	if (len == 3 && u[0] == 0xE2 && u[1] == 0x80)
		return u[2] <= 0x8B || u[2] == 0xAF;
	return len == 3 && ((u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) ||
			    (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80));
}

int dh_text_check(const char *text, size_t max, const char *what, dh_error *err)
{
	if (err)
		dh_strlcpy(err->field, sizeof(err->field), what);
	if (!text)
		return dh_error_set(err, DH_INVAL, "%s absent", what);
	size_t n = strlen(text), chars = 0;
	int blank = 1;
	for (size_t i = 0; i < n;) {
		size_t len = dh_utf8_seq(text + i, n - i);
		if (len == 0)
			return dh_error_set(err, DH_INVAL, "%s : texte UTF-8 invalide (octet %zu)", what, i + 1);
		if (is_control(text + i, len))
			return dh_error_set(err, DH_INVAL, "%s : caractère de contrôle interdit (octet %zu)",
					    what, i + 1);
		if (!is_space(text + i, len))
			blank = 0;
		if (++chars > max)
			return dh_error_set(err, DH_INVAL, "%s trop long (au plus %zu caractères)", what, max);
		i += len;
	}
	if (blank)
		return dh_error_set(err, DH_INVAL, "%s vide", what);
	if (err)
		err->field[0] = '\0';
	return DH_OK;
}

size_t dh_text_sanitize(char *text)
{
	size_t n = text ? strlen(text) : 0, replaced = 0;
	for (size_t i = 0; i < n;) {
		size_t len = dh_utf8_seq(text + i, n - i);
		if (len == 0 || is_control(text + i, len)) {
			if (len == 0)
				len = 1;
			memset(text + i, '?', len);
			replaced++;
		}
		i += len;
	}
	return replaced;
}
