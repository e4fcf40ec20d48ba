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
