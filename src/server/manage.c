/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * manage.c - the routes that change or read people's data: deliveries (upload, list,
 * report), a member's own stock (streamed through a pipe from a worker thread), users,
 * tokens, organisations, agreements, the audit chain (DPO) and the GDPR register. Each
 * calls the core entry point that audits itself, with the caller as actor; the route table
 * (routes.c) has already checked the role; what is checked here is ownership (a member
 * reaches its own organisation only: another's delivery is "not found", never "forbidden").
 */
#include "server/internal.h"

#include "datahabitat/admin.h"
#include "datahabitat/audit.h"
#include "datahabitat/gdpr.h"
#include "datahabitat/import.h"
#include "datahabitat/rpls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *delivery_json(const dh_delivery *d)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)d->id, "organisation", d->siren,
			      "reference_date", d->reference_date, "status", dh_delivery_status_name(d->status),
			      "received_at", d->received_at);
	if (!o)
		return NULL;
	json_object_set_new(o, "file_name", srv_json_text(d->file_name));
	json_object_set_new(o, "file_size", json_integer((json_int_t)d->file_size));
	json_object_set_new(o, "layout", srv_json_text(d->layout));
	json_object_set_new(o, "sha256", json_string(d->sha256));
	json_object_set_new(o, "rows_read", json_integer((json_int_t)d->rows_read));
	json_object_set_new(o, "rows_accepted", json_integer((json_int_t)d->rows_accepted));
	json_object_set_new(o, "rows_rejected", json_integer((json_int_t)d->rows_rejected));
	return o;
}

/* ---- deliveries ---- */

struct MHD_Response *srv_h_delivery_post(srv_state *st, srv_request *req)
{
	const char *date = srv_arg(req, "date"), *org = srv_arg(req, "org"), *name = srv_arg(req, "name");
	if (!date || !dh_date_valid(date))
		return srv_problem(req, 400, "« date » (AAAA-MM-JJ) est obligatoire");
	if (org && strcmp(org, req->who.org_siren) != 0)
		return srv_problem(req, 403, "un bailleur ne livre que pour son propre organisme");
	if (req->upload_len == 0)
		return srv_problem(req, 400, "fichier vide");
	dh_import_options opt;
	dh_import_options_init(&opt);
	dh_actor actor = dh_identity_actor(&req->who);
	opt.siren = req->who.org_siren;
	opt.reference_date = date;
	opt.file_name = name ? name : "livraison-api.csv";
	opt.actor = &actor;
	opt.max_report_issues = 1000;
	dh_import_result res;
	memset(&res, 0, sizeof(res));
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = dh_import_file(conn->store, st->geo, req->upload_path, &opt, &res, &err);
	srv_store_put(conn);
	if (rc != DH_OK && rc != DH_REFUSED)
		return srv_problem_error(req, &err);
	if (rc == DH_OK && !res.duplicate) {
		atomic_fetch_add(&st->deliveries_accepted, 1);
		dh_error cerr;
		dh_error_clear(&cerr);
		if (srv_cube_refresh(st, &cerr) != DH_OK)
			fprintf(stderr, "{\"event\":\"cube-refresh-failed\",\"code\":\"%s\"}\n", dh_result_name(cerr.code));
	} else if (rc == DH_REFUSED) {
		atomic_fetch_add(&st->deliveries_refused, 1);
	}
	json_t *o = json_pack("{s:o, s:b, s:I, s:I}", "delivery", delivery_json(&res.delivery), "duplicate",
			      res.duplicate, "errors", (json_int_t)res.errors, "warnings", (json_int_t)res.warnings);
	if (o && res.report_json)
		json_object_set_new(o, "report", json_loads(res.report_json, 0, NULL));
	dh_import_result_release(&res);
	return srv_json(req, rc == DH_REFUSED ? 422 : res.duplicate ? 200 : 201, o);
}

static int list_delivery(void *cls, const dh_delivery *d)
{
	return json_array_append_new(cls, delivery_json(d)) == 0 ? DH_OK : DH_NOMEM;
}

struct MHD_Response *srv_h_deliveries(srv_state *st, srv_request *req)
{
	const char *own = req->who.role == DH_ROLE_MEMBER ? req->who.org_siren : NULL;
	json_t *list = json_array();
	dh_error err;
	dh_error_clear(&err);
	srv_conn *conn = srv_store_get(st);
	int rc = list ? dh_store_delivery_list(conn->store, own, list_delivery, list, &err) : DH_NOMEM;
	srv_store_put(conn);
	if (rc != DH_OK) {
		json_decref(list);
		return srv_problem_error(req, &err);
	}
	return srv_json(req, 200, list);
}

static int parse_id(const char *text, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || end == text || v < 1 || text[0] == '+' || text[0] == '0')
		return -1;
	*id = (int64_t)v;
	return 0;
}

typedef struct find_ctx {
	int64_t id;
	int found;
} find_ctx;

static int find_delivery(void *cls, const dh_delivery *d)
{
	find_ctx *f = cls;
	if (d->id == f->id)
		f->found = 1;
	return DH_OK;
}

static void csv_cell(FILE *f, json_t *v, char end)
{
	char num[32];
	const char *t = json_is_string(v) ? json_string_value(v) : "";
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		t = num;
	}
	if (strpbrk(t, ";\"\r\n")) {
		fputc('"', f);
		for (; *t; t++) {
			if (*t == '"')
				fputc('"', f);
			fputc(*t, f);
		}
		fputc('"', f);
	} else {
		fputs(t, f);
	}
	fputc(end, f);
}

/* The issues of a stored JSON report as CSV (the columns of `validate --format csv`). */
static struct MHD_Response *report_csv(srv_request *req, const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = j ? open_memstream(&buf, &len) : NULL;
	if (!f) {
		json_decref(j);
		return NULL;
	}
	static const char *const cols[] = { "row", "column", "field", "value", "code", "severity", "message" };
	fputs("row;column;field;value;code;severity;message\r\n", f);
	const char *lists[] = { "errors", "warnings" };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *issue;
		json_array_foreach(json_object_get(j, lists[l]), i, issue)
			for (int c = 0; c < 7; c++) {
				csv_cell(f, json_object_get(issue, cols[c]), c < 6 ? ';' : '\r');
				if (c == 6)
					fputc('\n', f);
			}
	}
	json_decref(j);
	fclose(f);
	struct MHD_Response *r = srv_bytes(req, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
	return r;
}

struct MHD_Response *srv_h_delivery_report(srv_state *st, srv_request *req)
{
	int64_t id;
	if (parse_id(req->param, &id) != 0)
		return srv_problem(req, 404, "livraison introuvable");
	const char *format = srv_arg(req, "format");
	int csv = format && strcmp(format, "csv") == 0;
	if (format && !csv && strcmp(format, "json") != 0)
		return srv_problem(req, 400, "format inconnu (json ou csv)");
	dh_error err;
	dh_error_clear(&err);
	char *report = NULL;
	find_ctx f = { id, 0 };
	srv_conn *conn = srv_store_get(st);
	int rc = DH_OK;
	if (req->who.role == DH_ROLE_MEMBER) /* another organisation's delivery does not exist */
		rc = dh_store_delivery_list(conn->store, req->who.org_siren, find_delivery, &f, &err);
	else
		f.found = 1;
	if (rc == DH_OK && f.found)
		rc = dh_store_delivery_report(conn->store, id, &report, &err);
	srv_store_put(conn);
	if (rc == DH_NOTFOUND || (rc == DH_OK && !f.found))
		return srv_problem(req, 404, "livraison introuvable");
	if (rc != DH_OK)
		return srv_problem_error(req, &err);
	struct MHD_Response *r = csv ? report_csv(req, report)
				     : srv_bytes(req, 200, "application/json; charset=utf-8", report, strlen(report));
	free(report);
	return r;
}

/* ---- a member's own stock, streamed ---- */

typedef struct stock_job {
	srv_state *st;
	dh_identity who;
	char date[DH_DATE_SIZE];
	int has_date;
	int fd;                /* write end of the pipe */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started;           /* 1: the first row (or the end) came: the answer is 200 */
	int finished;
	int refs;              /* the worker and the request thread: the last one frees */
	int rc;
	dh_error err;
	int header;
	char buf[64 * 1024];
	size_t len;
} stock_job;

static int job_flush(stock_job *j)
{
	size_t off = 0;
	while (off < j->len) {
		ssize_t w = write(j->fd, j->buf + off, j->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return DH_IO; /* the client went away: the export stops */
		off += (size_t)w;
	}
	j->len = 0;
	return DH_OK;
}

static int job_put(stock_job *j, const char *s, size_t n)
{
	if (j->len + n > sizeof(j->buf) && job_flush(j) != DH_OK)
		return DH_IO;
	if (n > sizeof(j->buf))
		return DH_IO;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	return DH_OK;
}

static void job_start(stock_job *j)
{
	pthread_mutex_lock(&j->lock);
	j->started = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

static int job_header(stock_job *j)
{
	j->header = 1;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const char *name = dh_rpls_field(f)->name;
		if ((f && job_put(j, ";", 1)) || job_put(j, name, strlen(name)))
			return DH_IO;
	}
	return job_put(j, "\r\n", 2);
}

static int job_row(void *cls, const dh_rpls_row *row, const char *commune)
{
	(void)commune;
	stock_job *j = cls;
	if (!j->header) {
		job_start(j);
		if (job_header(j) != DH_OK)
			return DH_IO;
	}
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (f && job_put(j, ";", 1))
			return DH_IO;
		if (!DH_RPLS_HAS(row, f))
			continue;
		dh_str t = row->text[f];
		int quote = memchr(t.ptr, ';', t.len) || memchr(t.ptr, '"', t.len) || memchr(t.ptr, '\n', t.len);
		if (!quote) {
			if (job_put(j, t.ptr, t.len))
				return DH_IO;
			continue;
		}
		if (job_put(j, "\"", 1))
			return DH_IO;
		for (size_t k = 0; k < t.len; k++)
			if ((t.ptr[k] == '"' && job_put(j, "\"", 1)) || job_put(j, t.ptr + k, 1))
				return DH_IO;
		if (job_put(j, "\"", 1))
			return DH_IO;
	}
	return job_put(j, "\r\n", 2);
}

static void job_release(stock_job *j)
{
	pthread_mutex_lock(&j->lock);
	int last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (last) {
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		free(j);
	}
}

static void *stock_worker(void *cls)
{
	stock_job *j = cls;
	dh_actor actor = dh_identity_actor(&j->who);
	/* its own connection: a client that reads slowly holds this read transaction (WAL:
	 * writers go on), never the server's shared connection */
	dh_store *store = NULL;
	int rc = dh_store_open(&store, j->st->db, 0u, &j->err);
	if (rc == DH_OK)
		rc = dh_stock_export(store, &actor, j->who.org_siren, j->has_date ? j->date : NULL, NULL, job_row, j,
				     &j->err);
	dh_store_close(store);
	if (rc == DH_OK && !j->header) {
		job_start(j);
		rc = job_header(j);
	}
	if (rc == DH_OK)
		rc = job_flush(j);
	close(j->fd);
	pthread_mutex_lock(&j->lock);
	j->rc = rc;
	j->finished = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_release(j);
	return NULL;
}

struct MHD_Response *srv_h_stock(srv_state *st, srv_request *req)
{
	const char *date = srv_arg(req, "date");
	if (date && !dh_date_valid(date))
		return srv_problem(req, 400, "date invalide (AAAA-MM-JJ attendu)");
	int fds[2];
	if (pipe(fds) != 0)
		return srv_problem(req, 503, "ressources insuffisantes");
	stock_job *j = calloc(1, sizeof(*j));
	if (!j) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	j->st = st;
	j->who = req->who;
	j->fd = fds[1];
	if (date) {
		dh_strlcpy(j->date, sizeof(j->date), date);
		j->has_date = 1;
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	j->refs = 2;
	pthread_t t;
	if (pthread_create(&t, NULL, stock_worker, j) != 0) {
		close(fds[0]);
		close(fds[1]);
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		free(j);
		return srv_problem(req, 503, "ressources insuffisantes");
	}
	pthread_detach(t);
	pthread_mutex_lock(&j->lock);
	while (!j->started && !j->finished)
		pthread_cond_wait(&j->cond, &j->lock);
	int started = j->started, rc = j->rc;
	dh_error err;
	if (!started) /* finished: the worker no longer writes j->err */
		err = j->err;
	pthread_mutex_unlock(&j->lock);
	job_release(j);
	if (!started) { /* the export failed before its first byte: an error answer */
		close(fds[0]);
		return rc == DH_NOTFOUND ? srv_problem(req, 404, "aucun patrimoine à cette date")
					 : srv_problem_error(req, &err);
	}
	struct MHD_Response *r = MHD_create_response_from_pipe(fds[0]);
	if (!r) {
		close(fds[0]);
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "text/csv; charset=utf-8");
	MHD_add_response_header(r, "Content-Disposition", "attachment; filename=\"patrimoine.csv\"");
	req->status = 200;
	return r;
}
