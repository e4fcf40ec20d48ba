/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * rpls_fields.c - the static table of RPLS fields built from DH_RPLS_FIELDS, and the
 * lookup of a column name.
 */
#include "datahabitat/rpls.h"

#include <ctype.h>

static const dh_field_info field_table[DH_RPLS_NALL] = {
#define DH_RPLS_ROW(id, kind, maxlen, required, label) { #id, kind, maxlen, required, label },
	DH_RPLS_FIELDS(DH_RPLS_ROW)
	DH_RPLS_EXTRA_FIELDS(DH_RPLS_ROW)
#undef DH_RPLS_ROW
};

const dh_field_info *dh_rpls_field(int f)
{
	return f >= 0 && f < DH_RPLS_NALL ? &field_table[f] : 0;
}

int dh_rpls_field_find(dh_str name)
{
	const char *p = name.ptr;
	size_t n = name.len;
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	for (int f = 0; f < DH_RPLS_NALL; f++) {
		const char *s = field_table[f].name;
		size_t i = 0;
		while (i < n && s[i] && toupper((unsigned char)p[i]) == s[i])
			i++;
		if (i == n && s[i] == '\0')
			return f;
	}
	return -1;
}
