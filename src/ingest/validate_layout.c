/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_layout.c - the first records of a file: the arrêté's header line, an optional
 * landlord record, a header line of column names or the canonical order; the choice of the
 * layout (layout_rpls.c, layout_opendata.c) and the per-column table built from it.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- layout ------------------------------------------------------------------------ */

static int is_siren(dh_str s)
{
	s = dh__trim(s);
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
		dh_str s = dh__trim(rec->fields[i]);
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

/* Fields whose value the arrêté makes mandatory in a landlord's file, but that open data may
 * leave empty (DROIT: a cross-field rule, validate_record.c). */
static int landlord_value(int f)
{
	return f == DH_RPLS_ORIGINE || f == DH_RPLS_CONV || f == DH_RPLS_SORTIEPATRIM;
}

static void map_column(validator *v, size_t c, int f)
{
	int opendata = dh_layout_is_opendata(v->stats->layout);
	v->cols[c].field = f;
	v->cols[c].check = dh__rpls_check_kind(f);
	v->cols[c].required = dh__rpls_value_required(f) && !(opendata && landlord_value(f));
	v->cols[c].pad = opendata && (f == DH_RPLS_DEPCOM || f == DH_RPLS_CODEPOSTAL);
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

/* The 64 positions of the arrêté's dwelling record. */
static int arrete_layout(validator *v)
{
	int rc = alloc_columns(v, DH__ARRETE_POSITIONS, 1);
	if (rc)
		return rc;
	for (int pos = 1; pos <= DH__ARRETE_POSITIONS; pos++) {
		size_t c = (size_t)pos - 1;
		int f = dh__arrete_field(pos);
		v->cols[c].name = dh__arrete_name(pos);
		v->cols[c].field = -1;
		if (f >= 0)
			map_column(v, c, f);
	}
	return DH_OK;
}

static int header_layout(validator *v, const dh_csv_record *rec, dh_layout layout, dh_error *err)
{
	size_t bytes = 0;
	for (size_t i = 0; i < rec->nfields; i++)
		bytes += dh__trim(rec->fields[i]).len + 1;
	int rc = alloc_columns(v, rec->nfields, bytes);
	if (rc)
		return rc;
	char *p = v->names;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh__trim(rec->fields[i]);
		memcpy(p, s.ptr ? s.ptr : "", s.len);
		p[s.len] = '\0';
		v->cols[i].name = p;
		v->cols[i].field = -1;
		p += s.len + 1;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh__trim(rec->fields[i]);
		int opendata = dh_layout_is_opendata(layout);
		int f = opendata ? dh__opendata_column(s) : dh_rpls_field_find(s);
		if (f < 0 && !opendata && dh__rpls_unchecked_column(s))
			f = DH__OPENDATA_EXTRA; /* a column of SDES's file accepted unchecked */
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
				  opendata ? "du fichier open data RPLS" : "RPLS");
		} else if (f == DH__OPENDATA_UNKNOWN) {
			rc = dh__emit(v, DH__RULE_UNKNOWN_COLUMN, rec->line, column, -1, "", s,
				  "la colonne %u n'a pas de nom : elle est ignorée", column);
		}
		if (rc)
			return rc;
	}
	int missing = 0;
	char list[512] = "";
	for (int f = 0; f < DH_RPLS_NALL; f++) {
		int required = dh_layout_is_opendata(layout) ? dh__opendata_required(f) : dh_rpls_field(f)->required;
		if (!required || (v->mapped & DH__FIELD_BIT(f)))
			continue;
		const char *name = dh_rpls_field(f)->name;
		rc = dh__emit(v, DH__RULE_MISSING_COLUMN, rec->line, 0, f, name, DH__NO_VALUE,
			  "la colonne obligatoire %s (%s) est absente de l'en-tête (format %s)", name,
			  dh_rpls_field(f)->label, dh_layout_name(layout));
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

/* Digits of a trimmed view as a number, -1 when it is not 1 to 18 digits. */
static int64_t number_of(dh_str s)
{
	s = dh__trim(s);
	if (s.len == 0 || s.len > 18)
		return -1;
	int64_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		if ((unsigned char)(s.ptr[i] - '0') > 9)
			return -1;
		n = n * 10 + (s.ptr[i] - '0');
	}
	return n;
}

/* The arrêté's header line: year, SIRET (position 10), record count (11); then the columns. */
static int arrete_start(validator *v, const dh_csv_record *rec)
{
	dh_validate_stats *stats = v->stats;
	stats->layout = DH_LAYOUT_RPLS_ARRETE;
	v->arrete_line = rec->line;
	stats->declared_year = (int)number_of(rec->fields[0]);
	dh_str siret = dh__trim(rec->fields[9]);
	int rc = DH_OK;
	char value[64];
	if (siret.len == 14 && number_of(siret) >= 0) {
		dh_strlcpy_view(stats->landlord_siret, sizeof(stats->landlord_siret), siret);
		dh_strlcpy_view(stats->landlord_siren, sizeof(stats->landlord_siren), (dh_str){ siret.ptr, 9 });
	} else {
		rc = dh__emit(v, DH__RULE_ARRETE_SIRET, rec->line, 10, -1, "SIRET", siret,
			      "le SIRET de l'en-tête (position 10) vaut « %s » : attendu les 14 chiffres du SIRET de "
			      "l'établissement siège", dh__shown(siret, value, sizeof(value)));
	}
	stats->declared_records = number_of(rec->fields[10]);
	if (rc == DH_OK && stats->declared_records < 0)
		rc = dh__emit(v, DH__RULE_ARRETE_COUNT, rec->line, 11, -1, "NBENREG", dh__trim(rec->fields[10]),
			      "le nombre d'enregistrements de l'en-tête (position 11) vaut « %s » : attendu un entier",
			      dh__shown(dh__trim(rec->fields[10]), value, sizeof(value)));
	return rc ? rc : arrete_layout(v);
}

/* The first lines cannot be the layout the caller gave: one issue, and DH_INVALID_DATA. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int layout_mismatch(validator *v, uint64_t line, dh_error *err, const char *fmt, ...)
{
	char message[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	int rc = dh__emit(v, DH__RULE_LAYOUT_MISMATCH, line, 0, -1, "", DH__NO_VALUE, "%s", message);
	if (rc)
		return rc;
	if (err)
		err->line = line;
	return dh_error_set(err, DH_INVALID_DATA, "%s", message);
}

/* The layout of a header line when none was given: one, or an error naming the candidates. */
static int choose_layout(validator *v, const dh_csv_record *rec, dh_layout *out, dh_error *err)
{
	const char *lcol, *ocol;
	size_t llen, olen;
	int set = dh__header_layouts(rec, &lcol, &ocol, &llen, &olen);
	if ((set & (set - 1)) == 0) {
		for (int l = 0; l < 31; l++)
			if (set == DH__LAYOUT_BIT(l))
				*out = (dh_layout)l;
		return DH_OK;
	}
	char names[160] = "", options[200] = "";
	for (int l = DH_LAYOUT_RPLS; l <= DH_LAYOUT_RPLS_OPENDATA_DIDO; l++) {
		if (!(set & DH__LAYOUT_BIT(l)))
			continue;
		size_t n = strlen(names), m = strlen(options);
		snprintf(names + n, sizeof(names) - n, "%s%s", n ? " ou " : "", dh_layout_name((dh_layout)l));
		snprintf(options + m, sizeof(options) - m, "%s--layout %s", m ? " ou " : "", dh_layout_name((dh_layout)l));
	}
	char a[64] = "", b[64] = "";
	if (lcol)
		dh_strlcpy_view(a, sizeof(a), (dh_str){ lcol, llen });
	if (ocol)
		dh_strlcpy_view(b, sizeof(b), (dh_str){ ocol, olen });
	int rc = dh__emit(v, DH__RULE_AMBIGUOUS_LAYOUT, rec->line, 0, -1, "", DH__NO_VALUE,
			  "l'en-tête peut être du format %s (colonnes %s%s%s) : préciser %s", names, a[0] ? a : b,
			  a[0] && b[0] ? " et " : "", a[0] ? b : "", options);
	if (rc)
		return rc;
	if (err)
		err->line = rec->line;
	return dh_error_set(err, DH_INVALID_DATA, "format ambigu : %s ; préciser --layout", names);
}

/* Read the first records: the arrêté's header line, or an optional landlord record and an
 * optional header; builds the columns. On return *pending is 1 when rec holds a data record
 * still to check. */
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

	if ((opt->layout == DH_LAYOUT_AUTO || opt->layout == DH_LAYOUT_RPLS_ARRETE) && dh__arrete_header(rec))
		return arrete_start(v, rec);
	if (opt->layout == DH_LAYOUT_RPLS_ARRETE) {
		stats->layout = DH_LAYOUT_RPLS_ARRETE;
		return layout_mismatch(v, rec->line, err,
				       "le format rpls-arrete commence par la ligne d'en-tête de l'arrêté (12 champs : "
				       "année, identifiant, raison sociale, ..., SIRET en position 10, nombre "
				       "d'enregistrements en position 11)");
	}

	/* A landlord record counts only when a header follows it. */
	uint64_t landlord_line = 0;
	size_t landlord_fields = 0;
	char siren[10] = "";
	if (rec->problem == DH_CSV_FINE && rec->nfields >= 1 && rec->nfields <= 4 && is_siren(rec->fields[0])) {
		dh_strlcpy_view(siren, sizeof(siren), dh__trim(rec->fields[0]));
		landlord_line = rec->line;
		landlord_fields = rec->nfields;
		rc = dh_csv_next(csv, rec, err);
		if (rc != DH_OK && rc != DH_EOF)
			return rc;
		if (rc == DH_OK && looks_like_header(rec)) {
			memcpy(stats->landlord_siren, siren, sizeof(siren));
		} else {
			/* Not a landlord record: a data record of the canonical layout, too short. */
			int at_eof = rc == DH_EOF;
			stats->layout = DH_LAYOUT_RPLS;
			if (dh_layout_is_opendata(opt->layout))
				return layout_mismatch(v, landlord_line, err, "le format %s exige une ligne d'en-tête",
						       dh_layout_name(opt->layout));
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

	if (looks_like_header(rec)) {
		dh_layout layout = opt->layout;
		if (layout == DH_LAYOUT_AUTO && (rc = choose_layout(v, rec, &layout, err)) != DH_OK)
			return rc;
		stats->layout = layout;
		stats->has_header = 1;
		return header_layout(v, rec, layout, err);
	}
	stats->layout = DH_LAYOUT_RPLS;
	if (dh_layout_is_opendata(opt->layout))
		return layout_mismatch(v, rec->line, err, "le format %s exige une ligne d'en-tête",
				       dh_layout_name(opt->layout));
	if ((rc = canonical_layout(v)) != DH_OK)
		return rc;
	*pending = 1;
	return DH_OK;
}
