/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cli_text.c - text the CLI prints, made safe whatever it holds (a value stored before the
 * library checked its text, written into the database by hand, or an argument echoed in a
 * diagnostic): on a terminal, control characters (ESC starts terminal escapes) and bytes
 * that are not UTF-8 are written \xHH; in JSON, bytes that are not UTF-8 are written \xHH
 * (jansson escapes control characters itself) so that a document is never lost; and JSON
 * output reports its failures.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define RING 8 /* cli_text() results usable at once (one printf line) */

/* The escaped form of text into a growing buffer; controls: escape control characters too. */
static const char *escape(char **buf, size_t *cap, const char *text, int controls)
{
	size_t n = strlen(text), need = 0, i = 0;
	int clean = 1;
	while (i < n) {
		size_t len = dh_utf8_seq(text + i, n - i);
		const unsigned char *u = (const unsigned char *)text + i;
		int ctl = len == 1 ? u[0] < 0x20 || u[0] == 0x7F : len == 2 && u[0] == 0xC2 && u[1] < 0xA0;
		if (len == 0 || (controls && ctl)) {
			size_t bytes = len ? len : 1;
			need += 4 * bytes;
			i += bytes;
			clean = 0;
		} else {
			need += len;
			i += len;
		}
	}
	if (clean)
		return text;
	if (need + 1 > *cap) {
		char *grown = realloc(*buf, need + 1);
		if (!grown)
			return "?";
		*buf = grown;
		*cap = need + 1;
	}
	static const char hex[] = "0123456789abcdef";
	char *o = *buf;
	for (i = 0; i < n;) {
		size_t len = dh_utf8_seq(text + i, n - i);
		const unsigned char *u = (const unsigned char *)text + i;
		int ctl = len == 1 ? u[0] < 0x20 || u[0] == 0x7F : len == 2 && u[0] == 0xC2 && u[1] < 0xA0;
		if (len == 0 || (controls && ctl)) {
			for (size_t k = 0; k < (len ? len : 1); k++) {
				*o++ = '\\';
				*o++ = 'x';
				*o++ = hex[u[k] >> 4];
				*o++ = hex[u[k] & 15];
			}
			i += len ? len : 1;
		} else {
			memcpy(o, text + i, len);
			o += len;
			i += len;
		}
	}
	*o = '\0';
	return *buf;
}

const char *cli_text(const char *text)
{
	static char *bufs[RING];
	static size_t caps[RING];
	static unsigned next;
	if (!text)
		return "";
	unsigned k = next++ % RING;
	return escape(&bufs[k], &caps[k], text, 1);
}

json_t *cli_json_text(const char *text)
{
	char *buf = NULL;
	size_t cap = 0;
	json_t *j = json_string(escape(&buf, &cap, text ? text : "", 0));
	free(buf);
	return j;
}

int cli_json_print(json_t *json)
{
	int ok = json && json_dumpf(json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0;
	ok = ok && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
	if (!ok) {
		cli_errorf("écriture du document JSON impossible");
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}
