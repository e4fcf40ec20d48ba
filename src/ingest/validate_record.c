/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate_record.c - the checks of one record: fields through the per-column table
 * (plain values inline, the rest by rpls_rules.c), communes, cross-field rules, postcodes,
 * duplicate ids; and the issue emission every stage shares.
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- communes ----------------------------------------------------------------------- */

/*
 * Dense table of every code of the form DDNNN (DD 00-99, 2A, 2B): the current commune's
 * index (>= 0), -2 - k for former commune k, -1 for an unknown code. 408 KB, built once per
 * validation from the geography, so that a row's commune costs one load.
 */
#define COMMUNE_SLOTS (102 * 1000)

static long commune_slot(const char *c, size_t len)
{
	if (len != 5)
		return -1;
	long dep;
	if (c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9')
		dep = (c[0] - '0') * 10 + (c[1] - '0');
	else if (c[0] == '2' && (c[1] == 'A' || c[1] == 'B'))
		dep = c[1] == 'A' ? 100 : 101;
	else
		return -1;
	for (int i = 2; i < 5; i++)
		if (c[i] < '0' || c[i] > '9')
			return -1;
	return dep * 1000 + (c[2] - '0') * 100 + (c[3] - '0') * 10 + (c[4] - '0');
}

static uint32_t postcode_number(const char *p)
{
	uint32_t n = 0;
	for (int i = 0; i < 5; i++)
		n = n * 10 + (uint32_t)(p[i] - '0');
	return n;
}

/* First postcode of each commune (the usual one), so that most postcode checks are one load. */
static uint32_t *postcode_table_new(const dh_geo *geo)
{
	size_t n = dh_geo_commune_count(geo);
	uint32_t *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return NULL;
	for (size_t i = 0; i < n && i < INT32_MAX; i++) {
		const dh_commune *cm = dh_geo_commune(geo, (int32_t)i);
		if (cm->npostcodes && strlen(cm->postcodes[0]) == 5)
			t[i] = postcode_number(cm->postcodes[0]);
	}
	return t;
}

static int32_t *commune_table_new(const dh_geo *geo)
{
	int32_t *t = malloc(COMMUNE_SLOTS * sizeof(*t));
	if (!t)
		return NULL;
	for (size_t i = 0; i < COMMUNE_SLOTS; i++)
		t[i] = -1;
	size_t nformer = dh_geo_former_count(geo), ncommune = dh_geo_commune_count(geo);
	for (size_t k = 0; k < nformer && k < INT32_MAX / 2; k++) {
		const dh_former_commune *fc = dh_geo_former(geo, (int32_t)k);
		long slot = commune_slot(fc->code, strlen(fc->code));
		if (slot >= 0)
			t[slot] = -2 - (int32_t)k;
	}
	for (size_t i = 0; i < ncommune && i < INT32_MAX; i++) {
		const dh_commune *cm = dh_geo_commune(geo, (int32_t)i);
		long slot = commune_slot(cm->code, strlen(cm->code));
		if (slot >= 0)
			t[slot] = (int32_t)i;
	}
	return t;
}

void dh__validator_tables(validator *v)
{
	v->communes = commune_table_new(v->geo);
	v->postcodes = postcode_table_new(v->geo);
	if (!v->communes || !v->postcodes) {
		free(v->communes);
		free(v->postcodes);
		v->communes = NULL;
		v->postcodes = NULL;
		v->tables_failed = 1;
	}
}

/* ---- the validator ------------------------------------------------------------------ */

int dh__emit_message(validator *v, int rule, uint64_t line, uint32_t column, int field,
			const char *field_name, dh_str value, const char *message)
{
	int warning = dh__rule_is_warning(rule);
	v->stats->rule_counts[rule - 1]++;
	if (warning) {
		v->stats->warnings++;
	} else {
		v->stats->errors++;
		v->row_error = 1;
	}
	if (!v->cb || !v->cb->on_issue || !message)
		return DH_OK;
	dh_issue issue = {
		.row = line,
		.column = column,
		.field = field,
		.field_name = field_name ? field_name : "",
		.code = dh__rule_code(rule),
		.severity = warning ? DH_SEV_WARNING : DH_SEV_ERROR,
		.value = value,
		.message = message,
	};
	return v->cb->on_issue(v->cb->ctx, &issue);
}

int dh__emit(validator *v, int rule, uint64_t line, uint32_t column, int field, const char *field_name,
		dh_str value, const char *fmt, ...)
{
	int want_message = v->cb && v->cb->on_issue;
	char message[768];
	if (want_message) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(message, sizeof(message), fmt, ap);
		va_end(ap);
	}
	if (v->sink) {
		if (!dh__rule_is_warning(rule))
			v->row_error = 1;
		return dh__sink_issue(v, rule, column, field, field_name, value, want_message ? message : NULL);
	}
	return dh__emit_message(v, rule, line, column, field, field_name, value, want_message ? message : NULL);
}

/* A value quoted in a message: at most ~120 bytes, cut on a UTF-8 boundary. */
const char *dh__shown(dh_str value, char *buf, size_t size)
{
	if (value.len < size) {
		dh_strlcpy_view(buf, size, value);
		return buf;
	}
	dh_strlcpy_view(buf, size - 3, value); /* room for the 3 bytes of "…" */
	strcat(buf, "…");
	return buf;
}


/* ---- records ------------------------------------------------------------------------ */

/*
 * Fast paths of the field checks: each accepts only the plain well-formed values that the
 * generator and real files are made of, and stores the same parsed value as
 * dh__rpls_check_value; anything else (signs, out-of-range, unusual forms, errors) returns
 * 0 and goes to dh__rpls_check_value, which decides. So the results cannot differ.
 */
static inline unsigned digit(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

static inline int digits_ok(const char *p, size_t n)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++)
		bad |= digit(p[i]) > 9;
	return !bad;
}

static inline int two(const char *p)
{
	return (int)(digit(p[0]) * 10 + digit(p[1]));
}

static inline int fast_check(const colspec *col, const char *p, size_t len, int reference_year, dh_rpls_value *out)
{
	switch (col->check) {
	case DH__CHECK_TEXT:
		return len <= col->maxlen;
	case DH__CHECK_CODE1: {
		unsigned d = digit(p[0]);
		return len == 1 && d < 64 && ((col->mask >> d) & 1u);
	}
	case DH__CHECK_CODE2: {
		if (len != 2 || digit(p[0]) > 9 || digit(p[1]) > 9)
			return 0;
		int n = two(p);
		return n < 64 ? (int)((col->mask >> n) & 1u) : (int)((col->mask_hi >> (n - 64)) & 1u);
	}
	case DH__CHECK_DEPCOM:
		return len == 5 && digits_ok(p + 2, 3) &&
		       ((digit(p[0]) <= 9 && digit(p[1]) <= 9) || (p[0] == '2' && (p[1] == 'A' || p[1] == 'B')));
	case DH__CHECK_POSTCODE:
		return len == 5 && digits_ok(p, 5);
	case DH__CHECK_INT: {
		if (len > 9 || !digits_ok(p, len))
			return 0;
		int64_t x = 0;
		for (size_t i = 0; i < len; i++)
			x = x * 10 + digit(p[i]);
		if ((double)x < col->min || (col->has_max && (double)x > col->max))
			return 0;
		out->i = x;
		return 1;
	}
	case DH__CHECK_YEAR: {
		if (len != 4 || !digits_ok(p, 4))
			return 0;
		int y = two(p) * 100 + two(p + 2);
		if (y < DH__MIN_YEAR || y > reference_year)
			return 0;
		out->i = y;
		return 1;
	}
	case DH__CHECK_DATE: {
		int d = 0, m, y;
		if (len == 7) {
			if (p[2] != '/' || digit(p[0]) > 9 || digit(p[1]) > 9 || !digits_ok(p + 3, 4))
				return 0;
			m = two(p);
			y = two(p + 3) * 100 + two(p + 5);
		} else if (len == 10) {
			if (p[2] != '/' || p[5] != '/' || digit(p[0]) > 9 || digit(p[1]) > 9 || digit(p[3]) > 9 ||
			    digit(p[4]) > 9 || !digits_ok(p + 6, 4))
				return 0;
			d = two(p);
			m = two(p + 3);
			y = two(p + 6) * 100 + two(p + 8);
			if (m >= 1 && m <= 12 && (d < 1 || d > dh_days_in_month(y, m)))
				return 0;
		} else {
			return 0;
		}
		if (m < 1 || m > 12 || y < DH__MIN_DATE_YEAR || y > reference_year)
			return 0;
		out->i = (int64_t)y * 10000 + m * 100 + d;
		return 1;
	}
	case DH__CHECK_NUMBER: {
		static const double p10[17] = { 1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
						1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16 };
		if (len > 16)
			return 0;
		uint64_t mant = 0;
		size_t i = 0, ndigits = 0;
		unsigned frac = 0;
		for (; i < len && digit(p[i]) <= 9; i++, ndigits++)
			mant = mant * 10 + digit(p[i]);
		if (i < len && (p[i] == '.' || p[i] == ',')) {
			for (i++; i < len && digit(p[i]) <= 9; i++, ndigits++, frac++)
				mant = mant * 10 + digit(p[i]);
		}
		if (i != len || ndigits == 0)
			return 0;
		double x = (double)mant / p10[frac];
		if (col->min_open ? !(x > col->min) : !(x >= col->min))
			return 0;
		if (col->has_max && x > col->max)
			return 0;
		out->d = x;
		return 1;
	}
	default:
		return 0;
	}
}

static int problem_rule(int problem)
{
	switch (problem) {
	case DH_CSV_BAD_UTF8:
		return DH__RULE_INVALID_UTF8;
	case DH_CSV_BAD_QUOTE:
	case DH_CSV_UNTERMINATED:
		return DH__RULE_BAD_QUOTE;
	case DH_CSV_FIELD_TOO_LONG:
		return DH__RULE_FIELD_TOO_LONG;
	case DH_CSV_RECORD_TOO_LONG:
		return DH__RULE_RECORD_TOO_LONG;
	default:
		return DH__RULE_NUL_BYTE;
	}
}

static int report_field(validator *v, int rule, uint64_t line, size_t c, int f, dh_str s)
{
	char value[128], expected[160];
	const char *name = v->cols[c].name;
	uint32_t column = (uint32_t)c + 1;
	if (rule == DH__RULE_REQUIRED)
		return dh__emit(v, rule, line, column, f, name, s, "%s est vide : attendu %s", name,
			    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
	if (rule == DH__RULE_LENGTH)
		return dh__emit(v, rule, line, column, f, name, s, "%s compte %zu caractères : attendu %s", name,
			    dh__utf8_chars(s.ptr, s.len),
			    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
	return dh__emit(v, rule, line, column, f, name, s, "%s vaut « %s » : attendu %s", name,
		    dh__shown(s, value, sizeof(value)),
		    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
}

static int check_commune(validator *v, uint64_t line, size_t c, dh_str s)
{
	/* enough rows to pay for the dense tables (small inputs use the geography's own) */
	if (!v->communes && !v->tables_failed && ++v->commune_lookups > DH__DENSE_AFTER)
		dh__validator_tables(v);
	long slot = v->communes ? commune_slot(s.ptr, s.len) : -1;
	int32_t t = slot >= 0 ? v->communes[slot] : -1;
	if (t >= 0) {
		v->row.commune = t;
		return DH_OK;
	}
	int32_t k = t <= -2 ? -2 - t : -1;
	if (t == -1) { /* not in the dense table: ask the geography itself */
		int32_t i = dh_geo_commune_find(v->geo, s);
		if (i >= 0) {
			v->row.commune = i;
			return DH_OK;
		}
		k = dh_geo_former_find(v->geo, s);
	}
	char value[16];
	uint32_t column = (uint32_t)c + 1;
	if (k < 0) {
		v->failed |= DH__FIELD_BIT(DH_RPLS_DEPCOM);
		v->row.present &= ~DH__FIELD_BIT(DH_RPLS_DEPCOM);
		return dh__emit(v, DH__RULE_COMMUNE_UNKNOWN, line, column, DH_RPLS_DEPCOM, v->cols[c].name, s,
			    "%s vaut « %s » : attendu un code commune du COG (actuel ou ancien)", v->cols[c].name,
			    dh__shown(s, value, sizeof(value)));
	}
	const dh_former_commune *former = dh_geo_former(v->geo, k);
	const dh_commune *current = dh_geo_commune(v->geo, former->current);
	v->row.commune = former->current;
	if (former->kind == 'M') /* arrondissement municipal: a valid subdivision of its commune */
		return DH_OK;
	char what[160];
	if (former->name && former->name[0])
		snprintf(what, sizeof(what), "ancienne commune %s (%s)", former->name,
			 former->kind == 'A' ? "associée" : "déléguée");
	else
		snprintf(what, sizeof(what), "ancien code de commune");
	return dh__emit(v, DH__RULE_COMMUNE_FORMER, line, column, DH_RPLS_DEPCOM, v->cols[c].name, s,
		    "%s vaut « %s », %s : logement rattaché à la commune actuelle %s %s", v->cols[c].name,
		    dh__shown(s, value, sizeof(value)), what, current ? current->code : "?",
		    current && current->name ? current->name : "");
}

/* 1 when field f is usable by a cross-field rule: present, or empty but not failed. */
#define OK_OR_EMPTY(v, f) (((v)->mapped >> (f)) & 1u && !(((v)->failed >> (f)) & 1u))

static int field_column(const validator *v, int f)
{
	return v->col_of[f] + 1;
}

static int check_cross(validator *v, uint64_t line)
{
	dh_rpls_row *row = &v->row;
	int rc = DH_OK;
	char a[32], b[32];
	if (DH__PRESENT(v, DH_RPLS_LOCAT) && DH__PRESENT(v, DH_RPLS_CONSTRUCT) &&
	    row->value[DH_RPLS_LOCAT].i < row->value[DH_RPLS_CONSTRUCT].i) {
		rc = dh__emit(v, DH__RULE_LOCAT_BEFORE_CONSTRUCT, line, (uint32_t)field_column(v, DH_RPLS_LOCAT),
			  DH_RPLS_LOCAT, v->cols[v->col_of[DH_RPLS_LOCAT]].name, row->text[DH_RPLS_LOCAT],
			  "%s vaut « %s », avant l'achèvement de la construction (%s « %s ») : attendu une année "
			  "de mise en location postérieure ou égale",
			  v->cols[v->col_of[DH_RPLS_LOCAT]].name, dh__shown(row->text[DH_RPLS_LOCAT], a, sizeof(a)),
			  v->cols[v->col_of[DH_RPLS_CONSTRUCT]].name, dh__shown(row->text[DH_RPLS_CONSTRUCT], b, sizeof(b)));
		if (rc)
			return rc;
	}
	if (DH__PRESENT(v, DH_RPLS_PATRIMOINE) && DH__PRESENT(v, DH_RPLS_CONSTRUCT) &&
	    row->value[DH_RPLS_PATRIMOINE].i < row->value[DH_RPLS_CONSTRUCT].i) {
		rc = dh__emit(v, DH__RULE_PATRIMOINE_BEFORE_CONSTRUCT, line, (uint32_t)field_column(v, DH_RPLS_PATRIMOINE),
			  DH_RPLS_PATRIMOINE, v->cols[v->col_of[DH_RPLS_PATRIMOINE]].name, row->text[DH_RPLS_PATRIMOINE],
			  "%s vaut « %s », avant l'achèvement de la construction (%s « %s ») : attendu une année "
			  "d'entrée dans le patrimoine postérieure ou égale",
			  v->cols[v->col_of[DH_RPLS_PATRIMOINE]].name,
			  dh__shown(row->text[DH_RPLS_PATRIMOINE], a, sizeof(a)), v->cols[v->col_of[DH_RPLS_CONSTRUCT]].name,
			  dh__shown(row->text[DH_RPLS_CONSTRUCT], b, sizeof(b)));
		if (rc)
			return rc;
	}
	if (DH__PRESENT(v, DH_RPLS_MODE) && OK_OR_EMPTY(v, DH_RPLS_BAIL) && !DH__PRESENT(v, DH_RPLS_BAIL) &&
	    row->text[DH_RPLS_MODE].ptr[0] == '1') {
		const char *name = v->cols[v->col_of[DH_RPLS_BAIL]].name;
		rc = dh__emit(v, DH__RULE_BAIL_MISSING, line, (uint32_t)field_column(v, DH_RPLS_BAIL), DH_RPLS_BAIL,
			  name, DH__NO_VALUE, "%s est vide alors que le logement est loué (MODE 1) : attendu la date de "
			  "prise d'effet du bail", name);
		if (rc)
			return rc;
	}
	if (DH__PRESENT(v, DH_RPLS_MODE) && OK_OR_EMPTY(v, DH_RPLS_REMLOCDATE) && !DH__PRESENT(v, DH_RPLS_REMLOCDATE) &&
	    row->text[DH_RPLS_MODE].ptr[0] == '2') {
		const char *name = v->cols[v->col_of[DH_RPLS_REMLOCDATE]].name;
		rc = dh__emit(v, DH__RULE_REMLOCDATE_MISSING, line, (uint32_t)field_column(v, DH_RPLS_REMLOCDATE),
			  DH_RPLS_REMLOCDATE, name, DH__NO_VALUE,
			  "%s est vide alors que le logement est vacant et proposé à la location (MODE 2) : attendu "
			  "la date de dernière mise en location", name);
		if (rc)
			return rc;
	}
	if (OK_OR_EMPTY(v, DH_RPLS_DPEDATE) && OK_OR_EMPTY(v, DH_RPLS_DPEENERGIE) && OK_OR_EMPTY(v, DH_RPLS_DPESERRE)) {
		int energy = DH__PRESENT(v, DH_RPLS_DPEENERGIE), ghg = DH__PRESENT(v, DH_RPLS_DPESERRE);
		int real_date = DH__PRESENT(v, DH_RPLS_DPEDATE) && row->value[DH_RPLS_DPEDATE].i / 100 != 190001;
		const char *name = v->cols[v->col_of[DH_RPLS_DPEDATE]].name;
		dh_str date = row->text[DH_RPLS_DPEDATE];
		if ((energy || ghg) && !real_date)
			rc = dh__emit(v, DH__RULE_DPE_INCONSISTENT, line, (uint32_t)field_column(v, DH_RPLS_DPEDATE),
				  DH_RPLS_DPEDATE, name, date,
				  "%s vaut « %s » alors qu'une classe de DPE est renseignée : attendu la date réelle du "
				  "diagnostic (01/1900 signifie « pas de DPE »)", name, dh__shown(date, a, sizeof(a)));
		else if (real_date && !(energy && ghg))
			rc = dh__emit(v, DH__RULE_DPE_INCONSISTENT, line, (uint32_t)field_column(v, DH_RPLS_DPEDATE),
				  DH_RPLS_DPEDATE, name, date,
				  "%s vaut « %s » mais la classe %s est vide : attendu les deux classes (énergie et "
				  "gaz à effet de serre) d'un DPE daté", name, dh__shown(date, a, sizeof(a)),
				  energy ? "DPESERRE" : "DPEENERGIE");
		if (rc)
			return rc;
	}
	if (DH__PRESENT(v, DH_RPLS_SURFHAB) && DH__PRESENT(v, DH_RPLS_NBPIECE)) {
		double s = row->value[DH_RPLS_SURFHAB].d;
		int64_t n = row->value[DH_RPLS_NBPIECE].i;
		if (s < 7.0 * (double)n || s > 60.0 * (double)n + 40.0) {
			const char *name = v->cols[v->col_of[DH_RPLS_SURFHAB]].name;
			rc = dh__emit(v, DH__RULE_SURFACE_IMPLAUSIBLE, line, (uint32_t)field_column(v, DH_RPLS_SURFHAB),
				  DH_RPLS_SURFHAB, name, row->text[DH_RPLS_SURFHAB],
				  "%s vaut « %s » pour %lld pièce%s : attendu entre %lld et %lld m²", name,
				  dh__shown(row->text[DH_RPLS_SURFHAB], a, sizeof(a)), (long long)n, n > 1 ? "s" : "",
				  (long long)(7 * n), (long long)(60 * n + 40));
			if (rc)
				return rc;
		}
	}
	return DH_OK;
}

static int check_postcode(validator *v, uint64_t line)
{
	if (!v->geo || !DH__PRESENT(v, DH_RPLS_CODEPOSTAL) || v->row.commune < 0)
		return DH_OK;
	dh_str pc = v->row.text[DH_RPLS_CODEPOSTAL];
	if (v->postcodes && v->postcodes[v->row.commune] == postcode_number(pc.ptr))
		return DH_OK;
	if (dh_geo_postcode_matches(v->geo, v->row.commune, pc))
		return DH_OK;
	const dh_commune *cm = dh_geo_commune(v->geo, v->row.commune);
	char value[16], list[64] = "";
	for (uint32_t i = 0; cm && i < cm->npostcodes && i < 6; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", cm->postcodes[i]);
	}
	const char *name = v->cols[v->col_of[DH_RPLS_CODEPOSTAL]].name;
	return dh__emit(v, DH__RULE_POSTCODE_MISMATCH, line, (uint32_t)field_column(v, DH_RPLS_CODEPOSTAL),
		    DH_RPLS_CODEPOSTAL, name, pc, "%s vaut « %s » : attendu un code postal de %s %s (%s)", name,
		    dh__shown(pc, value, sizeof(value)), cm ? cm->code : "", cm && cm->name ? cm->name : "", list);
}

/*
 * Duplicate ids. The lookups run in file order either inline (check_duplicates) or, on
 * large inputs, on the reader thread one batch at a time (batch_ids), which hides the
 * memory latency of the random probes behind prefetches; dh__check_record then only reads
 * the result. Both use dh__id_hash_of, so an id is looked up exactly when dh__check_record finds
 * the field present (non-empty, within its length, in a well-formed record).
 */
const int dh__id_fields[2] = { DH_RPLS_IDENT_REP, DH_RPLS_IDENT_INT };

/* Hash of id k (column col), untrimmed value s, in a record with this problem and field
 * count; 0 when it is not checked. */
uint64_t dh__id_hash_field(const validator *v, int col, int problem, size_t nfields, dh_str s)
{
	if (col < 0 || problem != DH_CSV_FINE || nfields != v->ncols)
		return 0;
	s = dh_str_trim(s);
	unsigned maxlen = v->cols[col].maxlen;
	if (s.len == 0 || (s.len > maxlen && dh__utf8_chars(s.ptr, s.len) > maxlen))
		return 0;
	return dh__hash_value(s.ptr, s.len);
}

/* Hash of id k of a record, 0 when it is not checked. */
uint64_t dh__id_hash_of(const validator *v, const dh_csv_record *rec, int k)
{
	int col = v->col_of[dh__id_fields[k]];
	if (col < 0)
		return 0;
	return dh__id_hash_field(v, col, rec->problem, rec->nfields, rec->fields[col]);
}

/* Estimate the number of rows from the first ones and size the duplicate sets once. */
static int size_sets(validator *v, uint64_t offset)
{
	v->sized = 1;
	if (!v->input_size || offset <= v->first_offset)
		return DH_OK;
	uint64_t per_row = (offset - v->first_offset) / (v->id_rows - 1);
	if (per_row == 0)
		per_row = 1;
	uint64_t rows = v->input_size / per_row;
	rows += rows / 20;
	for (int k = 0; k < 2; k++) {
		if (v->col_of[dh__id_fields[k]] < 0)
			continue;
		int rc = dh__idset_reserve(&v->ids[k], rows);
		if (rc)
			return rc;
	}
	return DH_OK;
}

#define SIZE_SAMPLE 4096

/* Count a record for the size estimate (every record, in file order). */
static int count_for_sets(validator *v, uint64_t offset)
{
	v->id_rows++;
	if (v->id_rows == 1)
		v->first_offset = offset;
	else if (!v->sized && v->id_rows == SIZE_SAMPLE)
		return size_sets(v, offset);
	return DH_OK;
}

/* Look id k up (hash h, 0: not checked) and add it; first[k] = first line if seen, else 0. */
int dh__id_lookup(validator *v, int k, uint64_t h, uint64_t line, uint64_t *first)
{
	*first = 0;
	if (!h)
		return DH_OK;
	int nomem = 0;
	if (!dh__idset_add(&v->ids[k], h, line, first, &nomem))
		*first = 0;
	return nomem ? DH_NOMEM : DH_OK;
}

/* The duplicate issue of id k (value s, trimmed) first seen at line `first`. */
int dh__report_duplicate(validator *v, int k, uint64_t line, dh_str s, uint64_t first)
{
	static const int rules[2] = { DH__RULE_DUPLICATE_IDENT_REP, DH__RULE_DUPLICATE_IDENT_INT };
	int f = dh__id_fields[k];
	char value[128];
	const char *name = v->cols[v->col_of[f]].name;
	return dh__emit(v, rules[k], line, (uint32_t)field_column(v, f), f, name, s,
		    "%s vaut « %s », déjà présent ligne %llu : attendu un identifiant unique dans le fichier",
		    name, dh__shown(s, value, sizeof(value)), (unsigned long long)first);
}

static int check_duplicates(validator *v, const dh_csv_record *rec)
{
	uint64_t first[2] = { 0, 0 };
	int rc;
	if (v->sink)
		return dh__sink_ids(v, rec);
	if (v->dup_known) {
		first[0] = v->dup_first[0];
		first[1] = v->dup_first[1];
	} else {
		for (int k = 0; k < 2; k++)
			if ((rc = dh__id_lookup(v, k, dh__id_hash_of(v, rec, k), rec->line, &first[k])) != DH_OK)
				return rc;
	}
	for (int k = 0; k < 2; k++) {
		if (!first[k] || !DH__PRESENT(v, dh__id_fields[k]))
			continue;
		if ((rc = dh__report_duplicate(v, k, rec->line, v->row.text[dh__id_fields[k]], first[k])) != DH_OK)
			return rc;
	}
	return DH_OK;
}

int dh__check_record(validator *v, const dh_csv_record *rec)
{
	dh_rpls_row *row = &v->row;
	uint64_t line = rec->line;
	int rc = DH_OK;
	if (v->sink) {
		if ((rc = dh__sink_record(v, line)) != DH_OK)
			return rc;
	} else {
		v->stats->rows++;
		if (!v->dup_known && (rc = count_for_sets(v, rec->offset)) != DH_OK)
			return rc;
	}
	v->row_error = 0;
	v->failed = 0;
	row->line = line;
	row->present = 0;
	row->commune = -1;

	if (rec->problem != DH_CSV_FINE || rec->nfields != v->ncols) {
		for (size_t c = 0; c < v->ncols; c++)
			if (v->cols[c].field >= 0)
				row->text[v->cols[c].field] = DH__NO_VALUE;
		if (rec->problem != DH_CSV_FINE) {
			int rule = problem_rule(rec->problem);
			uint32_t column = rec->problem_column;
			int f = column >= 1 && column <= v->ncols ? v->cols[column - 1].field : -1;
			const char *name = column >= 1 && column <= v->ncols ? v->cols[column - 1].name : "";
			dh_str value = column >= 1 && column <= rec->nfields ? rec->fields[column - 1] : DH__NO_VALUE;
			if (column)
				rc = dh__emit(v, rule, line, column, f, name, value, "enregistrement illisible, colonne %u%s%s%s : %s",
					  column, name[0] ? " (" : "", name, name[0] ? ")" : "",
					  dh_csv_problem_message(rec->problem));
			else
				rc = dh__emit(v, rule, line, 0, -1, "", DH__NO_VALUE, "enregistrement illisible : %s",
					  dh_csv_problem_message(rec->problem));
		} else if (rec->nfields > v->ncols) {
			rc = dh__emit(v, DH__RULE_TOO_MANY_FIELDS, line, 0, -1, "", DH__NO_VALUE,
				  "l'enregistrement compte %zu champs : attendu %zu (%s)", rec->nfields, v->ncols,
				  v->stats->has_header ? "comme l'en-tête" : "ordre canonique RPLS");
		} else {
			rc = dh__emit(v, DH__RULE_TOO_FEW_FIELDS, line, 0, -1, "", DH__NO_VALUE,
				  "l'enregistrement compte %zu champ%s : attendu %zu (%s)", rec->nfields,
				  rec->nfields > 1 ? "s" : "", v->ncols,
				  v->stats->has_header ? "comme l'en-tête" : "ordre canonique RPLS");
		}
		if (rc)
			return rc;
		goto done;
	}

	for (size_t c = 0; c < v->ncols; c++) {
		const colspec *col = &v->cols[c];
		int f = col->field;
		if (f < 0)
			continue;
		dh_str s = rec->fields[c];
		if (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
			s = dh_str_trim(s);
		if (s.len == 0) {
			row->text[f] = s;
			if (col->required) {
				v->failed |= DH__FIELD_BIT(f);
				if ((rc = report_field(v, DH__RULE_REQUIRED, line, c, f, s)) != DH_OK)
					return rc;
			}
			continue;
		}
		row->text[f] = s;
		/* Plain values are checked inline; anything else by rpls_rules.c, which decides. */
		int rule = fast_check(col, s.ptr, s.len, v->reference_year, &row->value[f])
				   ? DH__RULE_NONE
				   : dh__rpls_check_value(f, s.ptr, s.len, v->reference_year, &row->value[f]);
		if (rule != DH__RULE_NONE) {
			v->failed |= DH__FIELD_BIT(f);
			if ((rc = report_field(v, rule, line, c, f, s)) != DH_OK)
				return rc;
			continue;
		}
		row->present |= DH__FIELD_BIT(f);
		if (f == DH_RPLS_DEPCOM && v->geo && (rc = check_commune(v, line, c, s)) != DH_OK)
			return rc;
	}
	if ((rc = check_cross(v, line)) != DH_OK || (rc = check_postcode(v, line)) != DH_OK ||
	    (rc = check_duplicates(v, rec)) != DH_OK)
		return rc;

done:
	if (v->sink) {
		dh__sink_record_done(v);
		return DH_OK; /* no on_row on the block-parallel path */
	}
	if (!v->row_error)
		v->stats->rows_valid++;
	if (v->cb && v->cb->on_row)
		return v->cb->on_row(v->cb->ctx, row, v->row_error);
	return DH_OK;
}
