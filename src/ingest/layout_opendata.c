/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * layout_opendata.c - the columns of the SDES open-data file "données détaillées au logement
 * du RPLS" and what they correspond to in the RPLS fields.
 *
 * The open-data file carries the public part of the directory only (no ids, MODE, rents,
 * lease dates, landlord). Three vintages (docs/domain.md §3):
 *  - 2017 (`rpls-opendata-2017`): the RPLS names with a `_red` suffix (DEPCOM_red, nbpiece_red);
 *  - 2018-2022 (`rpls-opendata`): plain RPLS names and geography columns of their own (REG, DEP,
 *    EPCI, LIBREG, LIBDEP, LIBEPCI, PLG_IRIS...);
 *  - 2023+ on DiDo (`rpls-opendata-dido`): `_CODE`/`_LIBELLE` pairs for coded fields
 *    (DROIT_CODE, TYPECONST_CODE, FINAN_CODE...), the commune as DEPCOM_CODE (its name
 *    DEPCOM_LIBELLE), REG_CODE, DEP_CODE, EPCI_CODE with their labels, QPV_CODE, X and Y.
 * Geography and quality columns without RPLS counterpart are accepted and ignored.
 */
#include "ingest/internal.h"

#include <ctype.h>
#include <string.h>

/* Columns of the open-data file without RPLS counterpart (labels are matched by suffix). */
static const char *const dido_columns[] = { "REG_CODE", "DEP_CODE", "EPCI_CODE", "IRIS_CODE" };
static const char *const plain_columns[] = { "REG", "DEP", "EPCI", "LIBREG", "LIBDEP", "LIBEPCI",
					     "PLG_IRIS", "PLG_QPV", "PLG_ZUS", "IRIS" };
static const char *const generic_columns[] = { "X", "Y", "LOGEMENT_ETUDIANT", "PMR", "QUALITE_XY" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(dh_str s, const char *const *list, size_t n);

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

dh_str dh__header_name(dh_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' || s.ptr[s.len - 1] == '\r'))
		s.len--;
	return s;
}

int dh__name_is(dh_str s, const char *name)
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
	return dh__name_is((dh_str){ s.ptr + s.len - n, n }, suffix);
}

/* RPLS field named by the part before a `_CODE` suffix (TYPECONST_CODE), or -1. */
static int coded_field(dh_str s)
{
	if (!ends_with(s, "_CODE"))
		return -1;
	return dh_rpls_field_find((dh_str){ s.ptr, s.len - 5 });
}

/* The name without a 2017 `_red` suffix. */
static dh_str unreduced(dh_str s)
{
	if (ends_with(s, "_RED"))
		s.len -= 4;
	return s;
}

static int in_list(dh_str s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dh__name_is(s, list[i]))
			return 1;
	return 0;
}

int dh__opendata_column(dh_str name)
{
	dh_str s = unreduced(dh__header_name(name));
	int f = dh_rpls_field_find(s);
	if (f >= 0)
		return f;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (dh__name_is(s, aliases[i].name))
			return aliases[i].field;
	f = coded_field(s);
	if (f >= 0)
		return f;
	if (ends_with(s, "_LIBELLE") || ends_with(s, "_CODE") || in_list(s, dido_columns, COUNT(dido_columns)) ||
	    in_list(s, plain_columns, COUNT(plain_columns)) || in_list(s, generic_columns, COUNT(generic_columns)))
		return DH__OPENDATA_EXTRA;
	return DH__OPENDATA_UNKNOWN;
}

int dh__opendata_vintage(dh_str name)
{
	dh_str s = dh__header_name(name);
	if (s.len > 4 && ends_with(s, "_RED"))
		return DH__LAYOUT_BIT(DH_LAYOUT_RPLS_OPENDATA_2017);
	if (dh_rpls_field_find(s) >= 0 || dh__rpls_unchecked_column(s))
		return 0; /* a landlord name, QPV_CODE included */
	if (in_list(s, dido_columns, COUNT(dido_columns)) || ends_with(s, "_LIBELLE") || coded_field(s) >= 0 ||
	    dh__name_is(s, "DEPCOM_CODE"))
		return DH__LAYOUT_BIT(DH_LAYOUT_RPLS_OPENDATA_DIDO);
	if (in_list(s, plain_columns, COUNT(plain_columns)))
		return DH__LAYOUT_BIT(DH_LAYOUT_RPLS_OPENDATA);
	if (in_list(s, generic_columns, COUNT(generic_columns)))
		return DH__LAYOUT_BIT(DH_LAYOUT_AUTO); /* open data, vintage undecided */
	return 0;
}

int dh__opendata_required(int f)
{
	for (size_t i = 0; i < sizeof(required_fields) / sizeof(required_fields[0]); i++)
		if (required_fields[i] == f)
			return 1;
	return 0;
}
