/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * layout_opendata.c - the columns of the SDES open-data file "données détaillées au logement
 * du RPLS" and what they correspond to in the RPLS fields.
 *
 * The open-data file carries the public part of the directory only (no ids, MODE, rents,
 * lease dates, landlord) with `_CODE`/`_LIBELLE` pairs for coded fields (DROIT_CODE,
 * TYPECONST_CODE, ORIGINE_CODE, FINAN_CODE, CONV_CODE...), the commune as DEPCOM or
 * DEPCOM_CODE (its name DEPCOM_LIBELLE), and geography columns of its own (REG_CODE,
 * DEP_CODE, EPCI_CODE with their labels, X and Y in Lambert-93) that are accepted and ignored.
 */
#include "ingest/internal.h"

#include <ctype.h>
#include <string.h>

/* Columns of the open-data file without RPLS counterpart (labels are matched by suffix). */
static const char *const extra_columns[] = {
	"REG_CODE", "DEP_CODE", "EPCI_CODE", "X", "Y", "NUMBOITE", "COULOIR", "COMPLIDENT",
	"ENTREE", "FINANAUTRE", "PMR_CODE", "LOGEMENT_ETUDIANT", "LIBEPCI", "LIBDEP", "LIBREG",
};

/* Columns renamed in the open-data file. */
static const struct {
	const char *name;
	int field;
} aliases[] = {
	{ "DEPCOM_CODE", DH_RPLS_DEPCOM },
	{ "DEPCOM_LIBELLE", DH_RPLS_LIBCOM },
	{ "ESCALIER", DH_RPLS_ESC },
};

static const int required_fields[] = {
	DH_RPLS_DEPCOM, DH_RPLS_TYPECONST, DH_RPLS_NBPIECE, DH_RPLS_SURFHAB, DH_RPLS_CONSTRUCT,
};

/* Trimmed view of a header name (a stray CR at its end too). */
static dh_str trim(dh_str s)
{
	s = dh_str_trim(s);
	while (s.len && s.ptr[s.len - 1] == '\r')
		s = dh_str_trim((dh_str){ s.ptr, s.len - 1 });
	return s;
}

static int name_is(dh_str s, const char *name)
{
	size_t n = strlen(name);
	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)s.ptr[i]) != name[i])
			return 0;
	return 1;
}

static int ends_with(dh_str s, const char *suffix)
{
	size_t n = strlen(suffix);
	if (s.len <= n)
		return 0;
	return name_is((dh_str){ s.ptr + s.len - n, n }, suffix);
}

/* RPLS field named by the part before a `_CODE` suffix (TYPECONST_CODE), or -1. */
static int coded_field(dh_str s)
{
	if (!ends_with(s, "_CODE"))
		return -1;
	return dh_rpls_field_find((dh_str){ s.ptr, s.len - 5 });
}

int dh__opendata_column(dh_str name)
{
	dh_str s = trim(name);
	int f = dh_rpls_field_find(s);
	if (f >= 0)
		return f;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (name_is(s, aliases[i].name))
			return aliases[i].field;
	f = coded_field(s);
	if (f >= 0)
		return f;
	if (ends_with(s, "_LIBELLE"))
		return DH__OPENDATA_EXTRA;
	for (size_t i = 0; i < sizeof(extra_columns) / sizeof(extra_columns[0]); i++)
		if (name_is(s, extra_columns[i]))
			return DH__OPENDATA_EXTRA;
	return DH__OPENDATA_UNKNOWN;
}

int dh__opendata_marker(dh_str name)
{
	dh_str s = trim(name);
	if (dh_rpls_field_find(s) >= 0)
		return 0; /* a plain RPLS name, QPV_CODE included */
	return dh__opendata_column(s) != DH__OPENDATA_UNKNOWN;
}

int dh__opendata_required(int f)
{
	for (size_t i = 0; i < sizeof(required_fields) / sizeof(required_fields[0]); i++)
		if (required_fields[i] == f)
			return 1;
	return 0;
}
