/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * report.c - validation report: keeps up to a cap of issues (each copied into one block),
 * a copy of the run's stats, and writes text (French, for people), JSON (jansson; the
 * shape is documented in report.h and saved by the store) or CSV.
 */
#include "datahabitat/report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE_BYTES 256

typedef struct kept_issue {
	uint64_t row;
	uint32_t column;
	int field;
	dh_severity severity;
	const char *code;       /* these four point into the block after the struct */
	const char *field_name;
	const char *value;
	const char *message;
} kept_issue;

struct dh_report {
	size_t max_issues;
	kept_issue **issues;
	size_t nissues;
	size_t cap;
	uint64_t omitted;
	char *file;
	dh_validate_stats stats; /* copy; rule_counts owned by the report */
	int has_stats;
};

int dh_report_new(dh_report **out, size_t max_issues)
{
	dh_report *r = calloc(1, sizeof(*r));
	if (!r)
		return DH_NOMEM;
	r->max_issues = max_issues;
	r->stats.encoding = "ascii";
	r->stats.layout = DH_LAYOUT_RPLS;
	*out = r;
	return DH_OK;
}

void dh_report_free(dh_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nissues; i++)
		free(r->issues[i]);
	free(r->issues);
	free(r->file);
	free(r->stats.rule_counts);
	free(r);
}

/* Length of a view cut to at most max bytes on a UTF-8 boundary. */
static size_t cut_utf8(dh_str s, size_t max)
{
	if (s.len <= max)
		return s.len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s.ptr[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static char *put(char **p, const char *s, size_t n)
{
	char *start = *p;
	if (n)
		memcpy(start, s, n);
	start[n] = '\0';
	*p += n + 1;
	return start;
}

int dh_report_on_issue(void *report, const dh_issue *issue)
{
	dh_report *r = report;
	if (r->nissues >= r->max_issues) {
		r->omitted++;
		return DH_OK;
	}
	if (r->nissues == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		if (cap > r->max_issues)
			cap = r->max_issues;
		kept_issue **grown = realloc(r->issues, cap * sizeof(*grown));
		if (!grown)
			return DH_NOMEM;
		r->issues = grown;
		r->cap = cap;
	}
	const char *code = issue->code ? issue->code : "";
	const char *field_name = issue->field_name ? issue->field_name : "";
	const char *message = issue->message ? issue->message : "";
	size_t vlen = issue->value.ptr ? cut_utf8(issue->value, MAX_VALUE_BYTES) : 0;
	size_t lc = strlen(code), lf = strlen(field_name), lm = strlen(message);
	kept_issue *k = malloc(sizeof(*k) + lc + lf + vlen + lm + 4);
	if (!k)
		return DH_NOMEM;
	char *p = (char *)(k + 1);
	k->row = issue->row;
	k->column = issue->column;
	k->field = issue->field;
	k->severity = issue->severity;
	k->code = put(&p, code, lc);
	k->field_name = put(&p, field_name, lf);
	k->value = put(&p, issue->value.ptr, vlen);
	k->message = put(&p, message, lm);
	r->issues[r->nissues++] = k;
	return DH_OK;
}

int dh_report_set_stats(dh_report *r, const char *file, const dh_validate_stats *stats)
{
	size_t n = dh_validate_rule_count();
	uint64_t *counts = calloc(n, sizeof(*counts));
	char *name = NULL;
	if (file && file[0] && !(name = malloc(strlen(file) + 1))) {
		free(counts);
		return DH_NOMEM;
	}
	if (!counts) {
		free(name);
		return DH_NOMEM;
	}
	if (name)
		strcpy(name, file);
	if (stats->rule_counts)
		memcpy(counts, stats->rule_counts, n * sizeof(*counts));
	free(r->file);
	free(r->stats.rule_counts);
	r->file = name;
	r->stats = *stats;
	r->stats.rule_counts = counts;
	if (!r->stats.encoding)
		r->stats.encoding = "ascii";
	r->has_stats = 1;
	return DH_OK;
}

size_t dh_report_issue_count(const dh_report *r)
{
	return r->nissues;
}

uint64_t dh_report_omitted(const dh_report *r)
{
	return r->omitted;
}

static const char *delimiter_text(char d, char buf[2])
{
	buf[0] = d;
	buf[1] = '\0';
	return buf;
}

static const char *delimiter_name(char d, char buf[16])
{
	switch (d) {
	case '\t':
		return "tabulation";
	case '\0':
		return "aucun";
	default:
		snprintf(buf, 16, "« %c »", d);
		return buf;
	}
}

static unsigned long long ull(uint64_t x)
{
	return (unsigned long long)x;
}

int dh_report_write_text(const dh_report *r, FILE *out)
{
	const dh_validate_stats *st = &r->stats;
	char dbuf[16];
	fprintf(out, "Fichier : %s\n", r->file ? r->file : "(sans nom)");
	fprintf(out, "Encodage : %s ; séparateur : %s ; format : %s, %s\n", st->encoding,
		delimiter_name(st->delimiter, dbuf), dh_layout_name(st->layout),
		st->layout == DH_LAYOUT_RPLS_ARRETE ? "avec la ligne d'en-tête de l'arrêté"
		: st->has_header		    ? "avec ligne d'en-tête"
						    : "sans ligne d'en-tête");
	if (st->landlord_siret[0])
		fprintf(out, "Bailleur (SIRET) : %s ; année %d ; %lld enregistrements annoncés\n", st->landlord_siret,
			st->declared_year, (long long)st->declared_records);
	else if (st->landlord_siren[0])
		fprintf(out, "Bailleur (SIREN) : %s\n", st->landlord_siren);
	fprintf(out, "Logements : %llu lus, %llu valides, %llu rejetés\n", ull(st->rows), ull(st->rows_valid),
		ull(st->rows - st->rows_valid));
	fprintf(out, "Problèmes : %llu erreur%s, %llu avertissement%s\n", ull(st->errors), st->errors > 1 ? "s" : "",
		ull(st->warnings), st->warnings > 1 ? "s" : "");
	if (st->errors + st->warnings > 0 && st->rule_counts) {
		fputs("\nProblèmes par règle :\n", out);
		for (size_t i = 0; i < dh_validate_rule_count(); i++)
			if (st->rule_counts[i])
				fprintf(out, "  %-28s %10llu  %s\n", dh_validate_rule_code(i), ull(st->rule_counts[i]),
					dh_validate_rule_label(i));
	}
	if (r->nissues) {
		fputs("\nDétail :\n", out);
		for (size_t i = 0; i < r->nissues; i++) {
			const kept_issue *k = r->issues[i];
			const char *sev = k->severity == DH_SEV_WARNING ? "avertissement" : "erreur";
			if (k->row == 0)
				fprintf(out, "fichier");
			else
				fprintf(out, "ligne %llu", ull(k->row));
			if (k->column)
				fprintf(out, ", colonne %u", k->column);
			if (k->field_name[0])
				fprintf(out, " (%s)", k->field_name);
			fprintf(out, " : %s [%s] : %s\n", sev, k->code, k->message);
		}
	}
	if (r->omitted)
		fprintf(out, "… et %llu autre%s problème%s non détaillé%s (limite --max-errors)\n", ull(r->omitted),
			r->omitted > 1 ? "s" : "", r->omitted > 1 ? "s" : "", r->omitted > 1 ? "s" : "");
	fprintf(out, "\n%s\n", st->errors == 0 ? "Résultat : fichier conforme"
					       : "Résultat : fichier non conforme");
	return ferror(out) ? DH_IO : DH_OK;
}

/* A JSON string; bytes that are not UTF-8 (should the caller pass any) become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	size_t n = strlen(s);
	char *copy = malloc(n + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *report_json(const dh_report *r)
{
	const dh_validate_stats *st = &r->stats;
	char dbuf[2];
	json_t *root = json_object();
	json_t *stats = json_object();
	json_t *errors = json_array();
	json_t *counts = json_object();
	if (!root || !stats || !errors || !counts)
		goto fail;
	int bad = 0;
	bad |= json_object_set_new(root, "valid", json_boolean(st->errors == 0));
	bad |= json_object_set_new(stats, "rows", json_integer((json_int_t)st->rows));
	bad |= json_object_set_new(stats, "rows_valid", json_integer((json_int_t)st->rows_valid));
	bad |= json_object_set_new(stats, "errors", json_integer((json_int_t)st->errors));
	bad |= json_object_set_new(stats, "warnings", json_integer((json_int_t)st->warnings));
	bad |= json_object_set_new(stats, "bytes", json_integer((json_int_t)st->bytes));
	bad |= json_object_set_new(stats, "encoding", json_string(st->encoding));
	bad |= json_object_set_new(stats, "delimiter", jstr(delimiter_text(st->delimiter, dbuf)));
	bad |= json_object_set_new(stats, "layout", json_string(dh_layout_name(st->layout)));
	if (st->landlord_siret[0])
		bad |= json_object_set_new(stats, "siret", json_string(st->landlord_siret));
	if (st->layout == DH_LAYOUT_RPLS_ARRETE && st->declared_records >= 0)
		bad |= json_object_set_new(stats, "declared_records", json_integer((json_int_t)st->declared_records));
	bad |= json_object_set(root, "stats", stats);
	for (size_t i = 0; i < r->nissues && !bad; i++) {
		const kept_issue *k = r->issues[i];
		json_t *e = json_object();
		if (!e) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(e, "row", json_integer((json_int_t)k->row));
		bad |= json_object_set_new(e, "column", json_integer((json_int_t)k->column));
		bad |= json_object_set_new(e, "field", jstr(k->field_name));
		bad |= json_object_set_new(e, "value", jstr(k->value));
		bad |= json_object_set_new(e, "code", jstr(k->code));
		bad |= json_object_set_new(e, "severity", json_string(k->severity == DH_SEV_WARNING ? "warning" : "error"));
		bad |= json_object_set_new(e, "message", jstr(k->message));
		bad |= json_array_append_new(errors, e);
	}
	bad |= json_object_set(root, "errors", errors);
	for (size_t i = 0; st->rule_counts && i < dh_validate_rule_count(); i++)
		if (st->rule_counts[i])
			bad |= json_object_set_new(counts, dh_validate_rule_code(i),
						   json_integer((json_int_t)st->rule_counts[i]));
	bad |= json_object_set(root, "counts", counts);
	json_decref(stats);
	json_decref(errors);
	json_decref(counts);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
fail:
	json_decref(root);
	json_decref(stats);
	json_decref(errors);
	json_decref(counts);
	return NULL;
}

int dh_report_write_json(const dh_report *r, FILE *out)
{
	json_t *root = report_json(r);
	if (!root)
		return DH_NOMEM;
	int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (rc != 0 || fputc('\n', out) == EOF || ferror(out))
		return DH_IO;
	return DH_OK;
}

int dh_report_to_json_string(const dh_report *r, char **out)
{
	json_t *root = report_json(r);
	if (!root)
		return DH_NOMEM;
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return *out ? DH_OK : DH_NOMEM;
}

/* One CSV field (dh_csv_field_write: quoted when needed, formulas neutralised), then ';' or
 * the end of the line. */
static void csv_field(FILE *out, const char *s, int last)
{
	dh_csv_field_write(out, s, strlen(s), ';');
	fputc(last ? '\n' : ';', out);
}

int dh_report_write_csv(const dh_report *r, FILE *out)
{
	fputs("row;column;field;value;code;severity;message\n", out);
	for (size_t i = 0; i < r->nissues; i++) {
		const kept_issue *k = r->issues[i];
		fprintf(out, "%llu;%u;", ull(k->row), k->column);
		csv_field(out, k->field_name, 0);
		csv_field(out, k->value, 0);
		csv_field(out, k->code, 0);
		csv_field(out, k->severity == DH_SEV_WARNING ? "warning" : "error", 0);
		csv_field(out, k->message, 1);
	}
	return ferror(out) ? DH_IO : DH_OK;
}
