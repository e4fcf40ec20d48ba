/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * csv_field.c - one field of a CSV output meant for people and their spreadsheets
 * (base.h: dh_csv_field_write): RFC 4180 quoting, and the neutralisation of text that a
 * spreadsheet would run as a formula. Every CSV writer of the library and the CLI goes
 * through it (validation reports, indicators, compare, qpv list, stock export).
 */
#include "datahabitat/base.h"

#include <string.h>

/* 1 if the field is a decimal number: an optional sign, digits, at most one '.' or ','. */
static int plain_number(const char *s, size_t len)
{
	size_t i = len && (s[0] == '+' || s[0] == '-') ? 1 : 0, digits = 0;
	int separator = 0;
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if ((s[i] == '.' || s[i] == ',') && !separator)
			separator = 1;
		else
			return 0;
	}
	return digits > 0;
}

/* A field a spreadsheet would take for a formula. */
static int formula(const char *s, size_t len)
{
	static const char starts[] = { '=', '+', '-', '@', '\t', '\r' };
	return len > 0 && memchr(starts, s[0], sizeof(starts)) && !plain_number(s, len);
}

void dh_csv_field_write(FILE *out, const char *s, size_t len, char delimiter)
{
	int quote = 0;
	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote)
		fputc('"', out);
	if (formula(s, len))
		fputc('\'', out);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', out);
		fputc(s[i], out);
	}
	if (quote)
		fputc('"', out);
}
