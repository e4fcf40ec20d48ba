/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * qpv.c - loads a list of priority neighbourhoods (QPV) into a dh_geo: the official 2024
 * list (liste-qp2024-hexagone-cog2023.csv: `Code quartier`, `Quartier prioritaire`, codes and
 * names of communes) and the ANCT variant (`code_qp;lib_qp;...;insee_com;lib_com;...`).
 * Columns are found by name, whatever their order; several commune codes in one field are
 * split on any separator (", ", ";", "/", Excel's ="..." wrapper); each code is resolved to a
 * current commune, through former communes when needed. The new list replaces the old one
 * only once it loaded without error.
 */
#include "geo/internal.h"

#include "datahabitat/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_QPV 100000          /* France has about 1,600 */
#define MAX_QPV_COMMUNES 256    /* communes of one neighbourhood (a handful in practice) */
#define MAX_HEADER_NAME 64

enum role { ROLE_CODE, ROLE_NAME, ROLE_COMMUNES, ROLE_COUNT };

/* Canonical names, used in messages about a missing column. */
static const char *const role_label[ROLE_COUNT] = { "Code quartier", "Quartier prioritaire",
						    "codes communes" };

/* ASCII letter for a UTF-8 Latin-1 supplement letter after the 0xC3 lead byte, or 0. */
static char fold_accent(unsigned char c)
{
	static const char map[65] = "AAAAAAACEEEEIIII" "DNOOOOO/OUUUUYTs"
				    "aaaaaaaceeeeiiii" "dnooooo/ouuuuyty";
	return c >= 0x80 && c < 0xC0 ? map[c - 0x80] : 0;
}

/* Header name reduced to lowercase ASCII letters and digits, accents folded, "(s)" dropped:
 * "Code(s) commune(s)" -> "codecommune", "Libellé QP" -> "libelleqp". */
static void normalize_header(dh_str h, char *out, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < h.len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)h.ptr[i];
		if (c == '(' && i + 2 < h.len && (h.ptr[i + 1] == 's' || h.ptr[i + 1] == 'S') &&
		    h.ptr[i + 2] == ')') {
			i += 2;
			continue;
		}
		if (c == 0xC3 && i + 1 < h.len) {
			c = (unsigned char)fold_accent((unsigned char)h.ptr[++i]);
			if (!c)
				continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[n++] = (char)c;
	}
	out[n] = '\0';
}

static int has(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* Which role a normalized header name plays, or -1. */
static int header_role(const char *h)
{
	static const char *const codes[] = { "codequartier", "codeqp", "codeqpv", "cdqp",
					     "codequartierprioritaire", "qp", "qpv", NULL };
	static const char *const names[] = { "quartierprioritaire", "quartier", "libqp", "nomqp",
					     "libqpv", "nomqpv", "nomquartier", "libellequartier",
					     "nomduquartier", NULL };
	static const char *const communes[] = { "codescommunes", "codecommune", "codescommune",
						"codecommunes", "inseecom", "codeinsee", "codesinsee",
						"depcom", "codecom", "codgeo", "communeinsee", NULL };
	if (in_list(h, codes) || (has(h, "code") && (has(h, "quartier") || has(h, "qp"))))
		return ROLE_CODE;
	if (in_list(h, communes) ||
	    ((has(h, "code") || has(h, "insee")) && has(h, "com") && !has(h, "nom") &&
	     !has(h, "lib")))
		return ROLE_COMMUNES;
	if (in_list(h, names) ||
	    ((has(h, "nom") || has(h, "lib")) && (has(h, "quartier") || has(h, "qp"))))
		return ROLE_NAME;
	return -1;
}

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "QN" + département on 3 chars + 2 digits + a letter (2024), or "QP" + 3 + 3 digits (2015). */
static int is_qpv_code(dh_str s)
{
	if (s.len != 8 || s.ptr[0] != 'Q' || (s.ptr[1] != 'N' && s.ptr[1] != 'P'))
		return 0;
	if (!is_digit(s.ptr[2]) || !is_digit(s.ptr[3]))
		return 0;
	if (!is_digit(s.ptr[4]) && !(s.ptr[2] == '0' && s.ptr[3] == '2' &&
				      (s.ptr[4] == 'A' || s.ptr[4] == 'B')))
		return 0;
	if (!is_digit(s.ptr[5]) || !is_digit(s.ptr[6]))
		return 0;
	return s.ptr[1] == 'N' ? is_upper(s.ptr[7]) : is_digit(s.ptr[7]);
}

static int is_alnum(char c)
{
	return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

typedef struct qpv_loader {
	dh_geo *geo;
	dh_csv *csv;
	const char *name;            /* file name for messages */
	long column[ROLE_COUNT];     /* 0-based column of each role, -1 if absent */
	char header[ROLE_COUNT][MAX_HEADER_NAME]; /* their names as written in the file */
	dh_csv_record rec;
	geo_qpv_set set;             /* being built */
} qpv_loader;

static dh_str field_of(const qpv_loader *l, int role)
{
	long c = l->column[role];
	if (c < 0 || (size_t)c >= l->rec.nfields)
		return (dh_str){ "", 0 };
	return dh_str_trim(l->rec.fields[c]);
}

static int row_error(qpv_loader *l, dh_error *err, int role, const char *expected, dh_str found)
{
	const char *h = l->header[role];
	return dh__geo_input_error(err, DH_PARSE, l->name, l->rec.line, (uint32_t)(l->column[role] + 1),
			       (dh_str){ h, strlen(h) }, expected, found, NULL);
}

static int nomem(dh_error *err, const char *name)
{
	if (err) {
		dh_error_clear(err);
		dh_strlcpy(err->file, sizeof(err->file), name);
	}
	return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour charger « %s »", name);
}

static int read_header(qpv_loader *l, dh_error *err)
{
	int rc = dh_csv_next(l->csv, &l->rec, err);
	if (rc == DH_EOF)
		return dh__geo_input_error(err, DH_PARSE, l->name, 1, 0, (dh_str){ "", 0 },
				       "une ligne d'en-tête", (dh_str){ "", 0 }, NULL);
	if (rc != DH_OK)
		return rc;
	for (int r = 0; r < ROLE_COUNT; r++)
		l->column[r] = -1;
	for (size_t i = 0; i < l->rec.nfields; i++) {
		char norm[MAX_HEADER_NAME];
		normalize_header(l->rec.fields[i], norm, sizeof(norm));
		int role = header_role(norm);
		if (role >= 0 && l->column[role] < 0) {
			l->column[role] = (long)i;
			dh_strlcpy_view(l->header[role], sizeof(l->header[role]),
					dh_str_trim(l->rec.fields[i]));
		}
	}
	static const char *const expected[ROLE_COUNT] = {
		"une colonne « Code quartier » (ou code_qp)",
		"une colonne « Quartier prioritaire » (ou lib_qp)",
		"une colonne des codes communes (« codes communes », insee_com...)",
	};
	for (int r = 0; r < ROLE_COUNT; r++)
		if (l->column[r] < 0) {
			dh_str first = l->rec.nfields ? l->rec.fields[0] : (dh_str){ "", 0 };
			return dh__geo_input_error(err, DH_PARSE, l->name, l->rec.line, 0,
					       (dh_str){ role_label[r], strlen(role_label[r]) },
					       expected[r], first, NULL);
		}
	return DH_OK;
}

/* Resolve the commune codes of the current row into `out` (distinct current communes). */
static int row_communes(qpv_loader *l, dh_error *err, int32_t *out, uint32_t *count)
{
	dh_str s = field_of(l, ROLE_COMMUNES);
	uint32_t n = 0;
	size_t i = 0;
	while (i < s.len) {
		if (!is_alnum(s.ptr[i])) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < s.len && is_alnum(s.ptr[i]))
			i++;
		dh_str tok = { s.ptr + start, i - start };
		char padded[6];
		if (tok.len == 4 && is_digit(tok.ptr[0]) && is_digit(tok.ptr[1]) &&
		    is_digit(tok.ptr[2]) && is_digit(tok.ptr[3])) {
			/* A spreadsheet dropped the leading zero of 01..09: only one reading. */
			padded[0] = '0';
			memcpy(padded + 1, tok.ptr, 4);
			padded[5] = '\0';
			tok = (dh_str){ padded, 5 };
		}
		if (!dh__geo_is_commune_code(tok))
			return row_error(l, err, ROLE_COMMUNES,
					 "des codes communes de 5 caractères (35238, 2A004)", tok);
		int32_t c = dh_geo_commune_find(l->geo, tok);
		if (c < 0) {
			int32_t f = dh_geo_former_find(l->geo, tok);
			if (f >= 0)
				c = dh_geo_former(l->geo, f)->current;
		}
		if (c < 0)
			return row_error(l, err, ROLE_COMMUNES,
					 "une commune du code officiel géographique (actuelle ou ancienne)",
					 tok);
		int seen = 0;
		for (uint32_t k = 0; k < n; k++)
			seen |= out[k] == c;
		if (seen)
			continue;
		if (n == MAX_QPV_COMMUNES)
			return row_error(l, err, ROLE_COMMUNES, "au plus 256 communes par quartier", s);
		out[n++] = c;
	}
	if (n == 0)
		return row_error(l, err, ROLE_COMMUNES, "au moins un code commune", s);
	*count = n;
	return DH_OK;
}

/* Store communes[0..n) (merged with `old` when the code was seen on an earlier row). */
static int set_communes(qpv_loader *l, dh_qpv *q, const int32_t *communes, uint32_t n)
{
	uint32_t total = q->ncommunes;
	int32_t merged[2 * MAX_QPV_COMMUNES];
	for (uint32_t k = 0; k < total && k < MAX_QPV_COMMUNES; k++)
		merged[k] = q->communes[k];
	for (uint32_t k = 0; k < n; k++) {
		int seen = 0;
		for (uint32_t m = 0; m < total; m++)
			seen |= merged[m] == communes[k];
		if (!seen && total < 2 * MAX_QPV_COMMUNES)
			merged[total++] = communes[k];
	}
	if (total > MAX_QPV_COMMUNES)
		return DH_TOOBIG;
	int32_t *dst = dh__geo_arena_alloc(&l->set.arena, (size_t)total * sizeof(int32_t),
				       _Alignof(int32_t));
	if (!dst)
		return DH_NOMEM;
	memcpy(dst, merged, (size_t)total * sizeof(int32_t));
	q->communes = dst;
	q->ncommunes = total;
	return DH_OK;
}

static int load_rows(qpv_loader *l, dh_error *err)
{
	int rc;
	while ((rc = dh_csv_next(l->csv, &l->rec, err)) == DH_OK) {
		if (l->rec.problem != DH_CSV_FINE) {
			uint32_t col = l->rec.problem_column;
			return dh__geo_input_error(err, DH_PARSE, l->name, l->rec.line, col,
					       (dh_str){ "", 0 }, "un enregistrement CSV bien formé",
					       (dh_str){ "", 0 },
					       dh_csv_problem_message(l->rec.problem));
		}
		int blank = 1;
		for (size_t i = 0; i < l->rec.nfields; i++)
			blank &= dh_str_trim(l->rec.fields[i]).len == 0;
		if (blank)
			continue; /* ";;;;" rows that spreadsheets leave at the end */

		dh_str code = field_of(l, ROLE_CODE);
		if (!is_qpv_code(code))
			return row_error(l, err, ROLE_CODE,
					 "un code de quartier QNdddnnX (2024) ou QPdddnnn (2015)", code);
		int32_t communes[MAX_QPV_COMMUNES];
		uint32_t ncommunes = 0;
		rc = row_communes(l, err, communes, &ncommunes);
		if (rc != DH_OK)
			return rc;

		int32_t existing = dh__geo_index_find(&l->set.index, l->set.items, sizeof(dh_qpv), code);
		dh_qpv *q;
		if (existing >= 0) {
			q = &l->set.items[existing]; /* one row per (quartier, commune): merge */
		} else {
			if (l->set.n >= MAX_QPV)
				return dh__geo_input_error(err, DH_TOOBIG, l->name, l->rec.line, 0,
						       (dh_str){ "", 0 }, NULL, (dh_str){ "", 0 },
						       "trop de quartiers dans la liste");
			dh_qpv *items = dh__geo_grow_array(l->set.items, &l->set.cap, l->set.n + 1,
						       sizeof(dh_qpv));
			if (!items)
				return nomem(err, l->name);
			l->set.items = items;
			q = &items[l->set.n];
			memset(q, 0, sizeof(*q));
			dh_strlcpy_view(q->code, sizeof(q->code), code);
			if (!(q->name = dh__geo_arena_strdup(&l->set.arena, field_of(l, ROLE_NAME))))
				return nomem(err, l->name);
			if (dh__geo_index_add(&l->set.index, l->set.items, sizeof(dh_qpv),
					  (int32_t)l->set.n) != DH_OK)
				return nomem(err, l->name);
			l->set.n++;
		}
		rc = set_communes(l, q, communes, ncommunes);
		if (rc == DH_TOOBIG)
			return row_error(l, err, ROLE_COMMUNES, "au plus 256 communes par quartier",
					 field_of(l, ROLE_COMMUNES));
		if (rc != DH_OK)
			return nomem(err, l->name);
	}
	if (rc == DH_EOF)
		return DH_OK;
	if (err && !err->file[0])
		dh_strlcpy(err->file, sizeof(err->file), l->name);
	return rc;
}

/* Read the whole list from an open reader; on success it replaces geo's list. */
static int load_from(dh_geo *geo, dh_csv *csv, const char *name, dh_error *err)
{
	qpv_loader l;
	memset(&l, 0, sizeof(l));
	l.geo = geo;
	l.csv = csv;
	l.name = name;
	int rc = read_header(&l, err);
	if (rc == DH_OK)
		rc = load_rows(&l, err);
	if (rc != DH_OK) {
		dh__geo_qpv_set_release(&l.set);
		return rc;
	}
	dh__geo_qpv_set_release(&geo->qpv);
	geo->qpv = l.set;
	return DH_OK;
}

/* Delimiter and encoding detected; a QPV row is short (a few hundred bytes): a small buffer. */
static dh_csv_options list_options(void)
{
	return (dh_csv_options){ .max_field = 16384, .max_record = 65536, .max_fields = 256 };
}

int dh_geo_load_qpv(dh_geo *geo, const char *path, dh_error *err)
{
	dh_error_clear(err);
	if (!geo || !path)
		return dh_error_set(err, DH_INVAL, "dh_geo_load_qpv : argument nul");
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, DH_NOTFOUND, "liste des QPV introuvable : « %s »", path);
	}
	dh_csv *csv = NULL;
	dh_csv_options opt = list_options();
	int rc = dh_csv_open_path(&csv, path, &opt, err);
	if (rc != DH_OK) {
		if (err && !err->file[0])
			dh_strlcpy(err->file, sizeof(err->file), path);
		return rc;
	}
	rc = load_from(geo, csv, path, err);
	dh_csv_free(csv);
	return rc;
}

int dh_geo_load_qpv_mem(dh_geo *geo, const void *data, size_t len, const char *name,
			dh_error *err)
{
	dh_error_clear(err);
	if (!geo || (!data && len))
		return dh_error_set(err, DH_INVAL, "dh_geo_load_qpv_mem : argument nul");
	if (!name)
		name = "<mémoire>";
	dh_csv *csv = NULL;
	dh_csv_options opt = list_options();
	int rc = dh_csv_open_mem(&csv, data ? data : "", len, name, &opt, err);
	if (rc != DH_OK)
		return rc;
	rc = load_from(geo, csv, name, err);
	dh_csv_free(csv);
	return rc;
}
