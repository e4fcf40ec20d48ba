/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_layout.c - the first records of a file: optional landlord record, header line
 * or canonical order, and the per-column table built from them.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- layout ------------------------------------------------------------------------ */

static int is_siren(dh_str s)
{
	s = dh_str_trim(s);
	if (s.len != 9)
		return 0;
	for (size_t i = 0; i < 9; i++)
		if ((unsigned char)(s.ptr[i] - '0') > 9)
			return 0;
	return 1;
}

/* A record is a header when enough of its fields are column names we know. */
static int looks_like_header(const dh_csv_record *rec)
{
	size_t known = 0;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh_str_trim(rec->fields[i]);
		if (dh_rpls_field_find(s) >= 0 || (s.len >= 3 && dh__opendata_column(s) != DH__OPENDATA_UNKNOWN))
			known++;
	}
	if (rec->nfields == 1)
		return known == 1;
	return known >= 2 && known * 3 >= rec->nfields;
}

static int alloc_columns(validator *v, size_t n, size_t names_bytes)
{
	v->cols = calloc(n ? n : 1, sizeof(*v->cols));
	v->names = malloc(names_bytes ? names_bytes : 1);
	if (!v->cols || !v->names)
		return DH_NOMEM;
	v->ncols = n;
	return DH_OK;
}

static void map_column(validator *v, size_t c, int f)
{
	v->cols[c].field = f;
	v->cols[c].check = dh__rpls_check_kind(f);
	v->cols[c].required = dh__rpls_value_required(f);
	v->cols[c].maxlen = dh_rpls_field(f)->maxlen;
	v->cols[c].mask = dh__rpls_code1_mask(f);
	if (v->cols[c].check == DH__CHECK_CODE2) {
		uint64_t m[2];
		dh__rpls_code2_mask(f, m);
		v->cols[c].mask = m[0];
		v->cols[c].mask_hi = m[1];
	}
	dh__rpls_range(f, &v->cols[c].min, &v->cols[c].max, &v->cols[c].min_open, &v->cols[c].has_max);
	v->mapped |= DH__FIELD_BIT(f);
	v->col_of[f] = (int)c;
}

static int canonical_layout(validator *v)
{
	int rc = alloc_columns(v, DH_RPLS_NFIELDS, 1);
	if (rc)
		return rc;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		v->cols[f].name = dh_rpls_field(f)->name;
		map_column(v, (size_t)f, f);
	}
	return DH_OK;
}

static int header_layout(validator *v, const dh_csv_record *rec, dh_layout layout, dh_error *err)
{
	size_t bytes = 0;
	for (size_t i = 0; i < rec->nfields; i++)
		bytes += dh_str_trim(rec->fields[i]).len + 1;
	int rc = alloc_columns(v, rec->nfields, bytes);
	if (rc)
		return rc;
	char *p = v->names;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh_str_trim(rec->fields[i]);
		memcpy(p, s.ptr ? s.ptr : "", s.len);
		p[s.len] = '\0';
		v->cols[i].name = p;
		v->cols[i].field = -1;
		p += s.len + 1;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh_str_trim(rec->fields[i]);
		int f = layout == DH_LAYOUT_RPLS_OPENDATA ? dh__opendata_column(s) : dh_rpls_field_find(s);
		uint32_t column = (uint32_t)i + 1;
		if (f >= 0 && (v->mapped & DH__FIELD_BIT(f))) {
			rc = dh__emit(v, DH__RULE_DUPLICATE_COLUMN, rec->line, column, f, v->cols[i].name, s,
				  "la colonne %s apparaît deux fois (colonnes %d et %u) : seule la première est lue",
				  dh_rpls_field(f)->name, v->col_of[f] + 1, column);
		} else if (f >= 0) {
			map_column(v, i, f);
		} else if (f == DH__OPENDATA_UNKNOWN && s.len > 0) {
			rc = dh__emit(v, DH__RULE_UNKNOWN_COLUMN, rec->line, column, -1, v->cols[i].name, s,
				  "la colonne « %s » n'est pas une variable %s : elle est ignorée", v->cols[i].name,
				  layout == DH_LAYOUT_RPLS_OPENDATA ? "du fichier open data RPLS" : "RPLS");
		} else if (f == DH__OPENDATA_UNKNOWN) {
			rc = dh__emit(v, DH__RULE_UNKNOWN_COLUMN, rec->line, column, -1, "", s,
				  "la colonne %u n'a pas de nom : elle est ignorée", column);
		}
		if (rc)
			return rc;
	}
	int missing = 0;
	char list[512] = "";
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		int required = layout == DH_LAYOUT_RPLS_OPENDATA ? dh__opendata_required(f) : dh_rpls_field(f)->required;
		if (!required || (v->mapped & DH__FIELD_BIT(f)))
			continue;
		const char *name = dh_rpls_field(f)->name;
		rc = dh__emit(v, DH__RULE_MISSING_COLUMN, rec->line, 0, f, name, DH__NO_VALUE,
			  "la colonne obligatoire %s (%s) est absente de l'en-tête", name, dh_rpls_field(f)->label);
		if (rc)
			return rc;
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", missing ? ", " : "", name);
		missing++;
	}
	if (missing) {
		if (err) {
			err->line = rec->line;
			dh_strlcpy(err->field, sizeof(err->field), list);
		}
		return dh_error_set(err, DH_INVALID_DATA, "colonne%s obligatoire%s absente%s : %s", missing > 1 ? "s" : "",
				    missing > 1 ? "s" : "", missing > 1 ? "s" : "", list);
	}
	return DH_OK;
}

/* Read the first records: optional landlord record, optional header; builds the columns.
 * On return *pending is 1 when rec holds a data record still to check. */
int dh__validate_start(validator *v, dh_csv *csv, const dh_validate_options *opt, dh_csv_record *rec, int *pending,
		 dh_error *err)
{
	dh_validate_stats *stats = v->stats;
	*pending = 0;
	int rc = dh_csv_next(csv, rec, err);
	if (rc == DH_EOF) {
		rc = dh__emit(v, DH__RULE_EMPTY_FILE, 0, 0, -1, "", DH__NO_VALUE,
			  "le fichier ne contient aucun enregistrement : attendu une ligne par logement");
		return rc ? rc : dh_error_set(err, DH_INVALID_DATA, "le fichier « %s » est vide", dh_csv_name(csv));
	}
	if (rc != DH_OK)
		return rc;

	/* A landlord record counts only when a header follows it. */
	int landlord = 0;
	uint64_t landlord_line = 0;
	size_t landlord_fields = 0;
	char siren[DH_SIREN_SIZE] = "";
	if (rec->problem == DH_CSV_FINE && rec->nfields >= 1 && rec->nfields <= 4 && is_siren(rec->fields[0])) {
		dh_strlcpy_view(siren, sizeof(siren), dh_str_trim(rec->fields[0]));
		landlord_line = rec->line;
		landlord_fields = rec->nfields;
		rc = dh_csv_next(csv, rec, err);
		if (rc != DH_OK && rc != DH_EOF)
			return rc;
		if (rc == DH_OK && looks_like_header(rec)) {
			landlord = 1;
			memcpy(stats->landlord_siren, siren, sizeof(siren));
		} else {
			/* Not a landlord record: a data record of the canonical layout, too short. */
			int at_eof = rc == DH_EOF;
			stats->layout = DH_LAYOUT_RPLS;
			if (opt->layout == DH_LAYOUT_RPLS_OPENDATA)
				return dh_error_set(err, DH_INVALID_DATA,
						    "le format rpls-opendata exige une ligne d'en-tête");
			if ((rc = canonical_layout(v)) != DH_OK)
				return rc;
			stats->rows++;
			v->row_error = 0;
			rc = dh__emit(v, DH__RULE_TOO_FEW_FIELDS, landlord_line, 0, -1, "", DH__NO_VALUE,
				  "l'enregistrement compte %zu champ%s : attendu %d (ordre canonique RPLS)", landlord_fields,
				  landlord_fields > 1 ? "s" : "", DH_RPLS_NFIELDS);
			if (rc)
				return rc;
			if (v->cb && v->cb->on_row) {
				v->row.line = landlord_line;
				v->row.commune = -1;
				if ((rc = v->cb->on_row(v->cb->ctx, &v->row, 1)) != DH_OK)
					return rc;
			}
			*pending = !at_eof;
			return DH_OK;
		}
	}
	(void)landlord;

	if (looks_like_header(rec)) {
		dh_layout layout = opt->layout;
		if (layout == DH_LAYOUT_AUTO) {
			layout = DH_LAYOUT_RPLS;
			for (size_t i = 0; i < rec->nfields; i++)
				if (dh__opendata_marker(rec->fields[i])) {
					layout = DH_LAYOUT_RPLS_OPENDATA;
					break;
				}
		}
		stats->layout = layout;
		stats->has_header = 1;
		return header_layout(v, rec, layout, err);
	}
	stats->layout = DH_LAYOUT_RPLS;
	if (opt->layout == DH_LAYOUT_RPLS_OPENDATA)
		return dh_error_set(err, DH_INVALID_DATA, "le format rpls-opendata exige une ligne d'en-tête");
	if ((rc = canonical_layout(v)) != DH_OK)
		return rc;
	*pending = 1;
	return DH_OK;
}
