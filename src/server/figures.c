/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * figures.c - the figure routes: GET /api/v1/indicators (JSON, or CSV streamed row by row
 * without cap, `csv-excel` with ';', decimal comma and a UTF-8 BOM), the registry, the
 * territory search (names and codes, accents and case ignored) and the requestable dates.
 * Every figure comes from dh_figures_query() with the caller's identity (the public
 * without login), on the cube the holder has at the time of the request.
 */
#include "server/internal.h"

#include "datahabitat/cube_store.h"
#include "datahabitat/indicators.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

typedef struct where_args {
	char *text[DH_CUBE_MAX_FILTERS];
	size_t n;
	int too_many;
} where_args;

static enum MHD_Result collect_where(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	where_args *w = cls;
	if (strcmp(key, "where") != 0)
		return MHD_YES;
	if (w->n == DH_CUBE_MAX_FILTERS) {
		w->too_many = 1;
		return MHD_NO;
	}
	w->text[w->n] = strdup(value ? value : "");
	if (!w->text[w->n]) {
		w->too_many = 1;
		return MHD_NO;
	}
	w->n++;
	return MHD_YES;
}

static int32_t yyyymmdd(const char *date)
{
	return (int32_t)(atoi(date) * 10000 + atoi(date + 5) * 100 + atoi(date + 8));
}

/* ---- streamed output ---- */

enum fmt { FMT_JSON, FMT_CSV, FMT_EXCEL };

typedef struct stream {
	srv_request *req;
	dh_figures_result *fig;
	enum fmt fmt;
	size_t row;       /* next row to write; nrows + 1: done */
	int header_done;
	char *pending;    /* text not yet handed to MHD */
	size_t plen, poff, pcap;
} stream;

static int put(stream *s, const char *text, size_t n)
{
	if (s->plen + n > s->pcap) {
		size_t cap = s->pcap ? s->pcap : 4096;
		while (cap < s->plen + n)
			cap *= 2;
		char *p = realloc(s->pending, cap);
		if (!p)
			return -1;
		s->pending = p;
		s->pcap = cap;
	}
	memcpy(s->pending + s->plen, text, n);
	s->plen += n;
	return 0;
}

static int puts_(stream *s, const char *text)
{
	return put(s, text, strlen(text));
}

static int put_field(stream *s, const char *text, char delim)
{
	if (!strchr(text, delim) && !strchr(text, '"') && !strchr(text, '\n') && !strchr(text, '\r'))
		return puts_(s, text);
	int rc = put(s, "\"", 1);
	for (const char *p = text; *p && rc == 0; p++)
		rc = *p == '"' ? put(s, "\"\"", 2) : put(s, p, 1);
	return rc ? rc : put(s, "\"", 1);
}

/* The shortest text that reads back to v; with a decimal comma for csv-excel. */
static void number(char *buf, size_t size, double v, int comma)
{
	int prec = 15;
	do
		snprintf(buf, size, "%.*g", prec, v);
	while (strtod(buf, NULL) != v && ++prec <= 17);
	char *dot = comma ? strchr(buf, '.') : NULL;
	if (dot)
		*dot = ',';
}

static int csv_row(stream *s)
{
	const dh_figures_result *f = s->fig;
	char delim = s->fmt == FMT_EXCEL ? ';' : ',';
	char d[2] = { delim, 0 };
	int secret = !f->own;
	if (!s->header_done) {
		s->header_done = 1;
		if (s->fmt == FMT_EXCEL && puts_(s, "\xEF\xBB\xBF"))
			return -1;
		if (puts_(s, "code") || puts_(s, d) || puts_(s, "name"))
			return -1;
		for (size_t c = 0; c < f->ncols; c++)
			if (puts_(s, d) || puts_(s, f->columns[c]->id))
				return -1;
		for (size_t c = 0; secret && c < f->ncols; c++)
			if (puts_(s, d) || puts_(s, f->columns[c]->id) || puts_(s, "_secret"))
				return -1;
		return puts_(s, "\r\n");
	}
	size_t r = s->row;
	if (put_field(s, f->codes[r], delim) || puts_(s, d) || put_field(s, f->names[r], delim))
		return -1;
	char num[64];
	for (size_t c = 0; c < f->ncols; c++) {
		if (puts_(s, d))
			return -1;
		double v = f->values[r * f->ncols + c];
		if (!isnan(v) && !dh_figures_hidden(f, r, c)) {
			number(num, sizeof(num), v, s->fmt == FMT_EXCEL);
			if (puts_(s, num))
				return -1;
		}
	}
	for (size_t c = 0; secret && c < f->ncols; c++)
		if (puts_(s, d) || puts_(s, dh_figures_hidden(f, r, c) ? "1" : "0"))
			return -1;
	s->row++;
	return puts_(s, "\r\n");
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	stream *s = cls;
	while (s->plen - s->poff < max && (!s->header_done || s->row < s->fig->nrows)) {
		if (csv_row(s) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	size_t n = s->plen - s->poff;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > max)
		n = max;
	memcpy(buf, s->pending + s->poff, n);
	s->poff += n;
	if (s->poff == s->plen)
		s->poff = s->plen = 0;
	atomic_fetch_add(&s->req->bytes, n);
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream *s = cls;
	dh_figures_result_free(s->fig);
	free(s->pending);
	srv_request_release(s->req);
	free(s);
}

static json_t *value_json(const dh_indicator *ind, double v)
{
	if (isnan(v) || isinf(v))
		return json_null();
	if (ind->kind == DH_IND_COUNT && v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static struct MHD_Response *figures_json(srv_request *req, const dh_figures_result *f, dh_level level,
					 int32_t day)
{
	char date[32];
	snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)(day / 10000), (int)(day / 100 % 100), (int)(day % 100));
	json_t *rows = json_array();
	json_t *cols = json_array();
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:o, s:o}", "level", dh_level_name(level), "date", date,
			      "own", f->own, "agreement", (json_int_t)f->agreement, "hidden", (json_int_t)f->hidden,
			      "columns", cols, "rows", rows);
	if (!o)
		return NULL;
	for (size_t c = 0; c < f->ncols; c++)
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "id", f->columns[c]->id, "label",
						      f->columns[c]->label, "unit", dh_unit_label(f->columns[c]->unit)));
	for (size_t r = 0; r < f->nrows; r++) {
		json_t *row = json_object();
		if (!row || json_array_append_new(rows, row) != 0) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(row, "code", srv_json_text(f->codes[r]));
		json_object_set_new(row, "name", srv_json_text(f->names[r]));
		for (size_t c = 0; c < f->ncols; c++)
			json_object_set_new(row, f->columns[c]->id,
					    !f->own && dh_figures_hidden(f, r, c)
						    ? json_string("secret")
						    : value_json(f->columns[c], f->values[r * f->ncols + c]));
	}
	return srv_json(req, 200, o);
}

struct MHD_Response *srv_h_indicators(srv_state *st, srv_request *req)
{
	const char *level_name = srv_arg(req, "level"), *code = srv_arg(req, "code");
	const char *ind_list = srv_arg(req, "indicator"), *date = srv_arg(req, "date");
	const char *format = srv_arg(req, "format");
	enum fmt fmt = FMT_JSON;
	if (format && strcmp(format, "csv") == 0)
		fmt = FMT_CSV;
	else if (format && strcmp(format, "csv-excel") == 0)
		fmt = FMT_EXCEL;
	else if (format && strcmp(format, "json") != 0)
		return srv_problem(req, 400, "format inconnu (json, csv ou csv-excel)");
	if (!level_name)
		return srv_problem(req, 400, "le paramètre « level » est obligatoire");
	int level = dh_level_find((dh_str){ level_name, strlen(level_name) });
	if (level < 0)
		return srv_problem(req, 400, "niveau inconnu (commune, epci, departement, region, qpv, landlord, all)");
	if (date && !dh_date_valid(date))
		return srv_problem(req, 400, "date invalide (AAAA-MM-JJ attendu)");
	if (!code && level == DH_LEVEL_LANDLORD && req->who.role == DH_ROLE_MEMBER)
		code = req->who.org_siren; /* a member's landlord level is its own organisation */
	if (code && level == DH_LEVEL_ALL)
		return srv_problem(req, 400, "« code » n'a pas de sens avec le niveau all");

	int positions[DH_QUERY_MAX_INDICATORS];
	size_t npositions = 0;
	dh_error err;
	dh_error_clear(&err);
	if (ind_list) {
		for (const char *p = ind_list;;) {
			size_t len = strcspn(p, ",");
			int i = dh_indicator_find((dh_str){ p, len });
			if (i < 0)
				return srv_problem(req, 400, "indicateur inconnu (voir /api/v1/indicators/registry)");
			if (npositions == DH_QUERY_MAX_INDICATORS)
				return srv_problem(req, 400, "trop d'indicateurs dans une requête");
			positions[npositions++] = i;
			if (!p[len])
				break;
			p += len + 1;
		}
		if (dh_indicator_list_check(positions, npositions, &err) != DH_OK)
			return srv_problem(req, 400, err.message);
	}
	where_args w = { 0 };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_where, &w);
	dh_predicate filters[DH_CUBE_MAX_FILTERS];
	struct MHD_Response *resp = NULL;
	if (w.too_many) {
		resp = srv_problem(req, 400, "au plus 8 filtres « where »");
		goto out;
	}
	for (size_t i = 0; i < w.n; i++)
		if (dh_cube_filter_parse(w.text[i], &filters[i], &err) != DH_OK) {
			resp = srv_problem(req, 400, err.message);
			goto out;
		}

	int32_t day = date ? yyyymmdd(date) : 0;
	dh_cube *cube = dh_cube_holder_acquire(st->cubes);
	if (!cube) {
		resp = srv_problem(req, 503, "cube en construction");
		goto out;
	}
	dh_figures_result *fig = NULL;
	pthread_mutex_lock(&st->store_lock);
	int rc = DH_OK;
	if (!day) {
		rc = dh_store_latest_reference_date(st->store, &day, &err);
		/* outside its own data a caller may ask vintages only: the latest one */
		if (rc == DH_OK && day && req->who.role != DH_ROLE_MEMBER)
			day = day / 10000 * 10000 + DH_VINTAGE_MMDD;
	}
	if (rc == DH_OK && !day)
		rc = dh_error_set(&err, DH_NOTFOUND, "la base ne contient aucune livraison acceptée");
	dh_figures_request fr = {
		.level = (dh_level)level,
		.reference_date = day,
		.territory = code,
		.filters = w.n ? filters : NULL,
		.nfilters = w.n,
		.indicators = npositions ? positions : NULL,
		.nindicators = npositions,
	};
	if (rc == DH_OK)
		rc = dh_figures_query(st->store, st->geo, cube, &req->who, &fr, &fig, &err);
	pthread_mutex_unlock(&st->store_lock);
	dh_cube_release(cube);
	if (rc != DH_OK) {
		resp = rc == DH_DENIED && !req->authenticated ? srv_problem(req, 403, err.message)
							     : srv_problem_error(req, &err);
		goto out;
	}
	if (fmt == FMT_JSON) {
		resp = figures_json(req, fig, (dh_level)level, day);
		dh_figures_result_free(fig);
		goto out;
	}
	stream *s = calloc(1, sizeof(*s));
	if (!s) {
		dh_figures_result_free(fig);
		goto out;
	}
	s->req = req;
	s->fig = fig;
	s->fmt = fmt;
	srv_request_retain(req);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
	if (!resp) {
		stream_free(s);
		goto out;
	}
	MHD_add_response_header(resp, "Content-Type", "text/csv; charset=utf-8");
	MHD_add_response_header(resp, "Content-Disposition", "attachment; filename=\"indicateurs.csv\"");
	req->status = 200;
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.text[i]);
	return resp;
}

struct MHD_Response *srv_h_registry(srv_state *st, srv_request *req)
{
	(void)st;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < dh_indicator_count(); i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ind->id, "label", ind->label, "family",
				      ind->family, "unit", dh_unit_label(ind->unit), "sensitivity",
				      dh_sensitivity_label(ind->sensitivity));
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return srv_json(req, 200, arr);
}

/* ---- territory search ---- */

/* Lower-case ASCII without accents (Latin-1 letters folded), punctuation as spaces. */
static void fold(const char *in, char *out, size_t size)
{
	static const char latin1[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyty"; /* U+00E0 .. U+00FF */
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < size; p++) {
		unsigned c = *p;
		if (c == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
			unsigned cp = 0xC0 + (p[1] & 0x3F);
			p++;
			c = (unsigned char)latin1[(cp >= 0xE0 ? cp : cp + 0x20) - 0xE0];
		} else if (c == 0xC5 && (p[1] == 0x92 || p[1] == 0x93)) { /* Œ œ */
			p++;
			if (o + 2 < size)
				out[o++] = 'o';
			c = 'e';
		} else if (c >= 0x80) {
			continue;
		} else if (c >= 'A' && c <= 'Z') {
			c = c - 'A' + 'a';
		} else if (c == '-' || c == '\'' || c == '_') {
			c = ' ';
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* Matches in three ranks: the code or the whole name equal to the query, a prefix of
 * either, the query inside the name; each rank keeps the first 50 met. */
typedef struct search {
	char q[128];
	json_t *rank[3];
} search;

#define SEARCH_MAX 50

static void consider(search *s, const char *level, const char *code, const char *name)
{
	char f[256];
	fold(name ? name : "", f, sizeof(f));
	size_t n = strlen(s->q);
	int r;
	if (strcasecmp(code, s->q) == 0 || strcmp(f, s->q) == 0)
		r = 0;
	else if (strncasecmp(code, s->q, n) == 0 || strncmp(f, s->q, n) == 0)
		r = 1;
	else if (strstr(f, s->q))
		r = 2;
	else
		return;
	if (json_array_size(s->rank[r]) >= SEARCH_MAX)
		return;
	json_t *o = json_pack("{s:s, s:s, s:o}", "level", level, "code", code, "name", srv_json_text(name ? name : ""));
	if (o)
		json_array_append_new(s->rank[r], o);
}

struct MHD_Response *srv_h_territories(srv_state *st, srv_request *req)
{
	const char *q = srv_arg(req, "q");
	if (!q || strlen(q) < 2 || strlen(q) > 100 || !srv_text_clean(q))
		return srv_problem(req, 400, "« q » : de 2 à 100 caractères attendus");
	search s;
	fold(q, s.q, sizeof(s.q));
	for (int r = 0; r < 3; r++)
		s.rank[r] = json_array();
	if (!s.rank[0] || !s.rank[1] || !s.rank[2]) {
		for (int r = 0; r < 3; r++)
			json_decref(s.rank[r]);
		return NULL;
	}
	const dh_geo *g = st->geo;
	for (size_t i = 0; i < dh_geo_region_count(g); i++)
		consider(&s, "region", dh_geo_region(g, (int32_t)i)->code, dh_geo_region(g, (int32_t)i)->name);
	for (size_t i = 0; i < dh_geo_departement_count(g); i++)
		consider(&s, "departement", dh_geo_departement(g, (int32_t)i)->code,
			 dh_geo_departement(g, (int32_t)i)->name);
	for (size_t i = 0; i < dh_geo_epci_count(g); i++)
		consider(&s, "epci", dh_geo_epci(g, (int32_t)i)->code, dh_geo_epci(g, (int32_t)i)->name);
	for (size_t i = 0; i < dh_geo_commune_count(g); i++)
		consider(&s, "commune", dh_geo_commune(g, (int32_t)i)->code, dh_geo_commune(g, (int32_t)i)->name);
	for (size_t i = 0; i < dh_geo_qpv_count(g); i++)
		consider(&s, "qpv", dh_geo_qpv(g, (int32_t)i)->code, dh_geo_qpv(g, (int32_t)i)->name);
	json_array_extend(s.rank[0], s.rank[1]);
	json_array_extend(s.rank[0], s.rank[2]);
	json_decref(s.rank[1]);
	json_decref(s.rank[2]);
	while (json_array_size(s.rank[0]) > SEARCH_MAX)
		json_array_remove(s.rank[0], SEARCH_MAX);
	return srv_json(req, 200, s.rank[0]);
}

/* ---- dates ---- */

typedef struct dates_ctx {
	const char *own; /* a member's SIREN: its own delivery dates too */
	int32_t first, last;
	json_t *own_dates;
} dates_ctx;

static int on_delivery(void *cls, const dh_delivery *d)
{
	dates_ctx *c = cls;
	if (d->status != DH_DELIVERY_ACCEPTED)
		return DH_OK;
	int32_t day = yyyymmdd(d->reference_date);
	if (!c->first || day < c->first)
		c->first = day;
	if (day > c->last)
		c->last = day;
	if (c->own && strcmp(d->siren, c->own) == 0)
		json_array_append_new(c->own_dates, json_string(d->reference_date));
	return DH_OK;
}

struct MHD_Response *srv_h_dates(srv_state *st, srv_request *req)
{
	dates_ctx c = { .own = req->who.role == DH_ROLE_MEMBER ? req->who.org_siren : NULL };
	c.own_dates = json_array();
	dh_error err;
	dh_error_clear(&err);
	pthread_mutex_lock(&st->store_lock);
	int rc = dh_store_delivery_list(st->store, NULL, on_delivery, &c, &err);
	pthread_mutex_unlock(&st->store_lock);
	if (rc != DH_OK) {
		json_decref(c.own_dates);
		return srv_problem_error(req, &err);
	}
	json_t *vintages = json_array();
	if (c.first)
		for (int32_t y = (c.first + 10000 - DH_VINTAGE_MMDD - 1) / 10000; y <= c.last / 10000; y++) {
			char d[32];
			snprintf(d, sizeof(d), "%04d-01-01", (int)y);
			json_array_append_new(vintages, json_string(d));
		}
	json_t *o = json_pack("{s:o}", "vintages", vintages);
	if (o && c.own)
		json_object_set_new(o, "own", c.own_dates);
	else
		json_decref(c.own_dates);
	return srv_json(req, 200, o);
}
