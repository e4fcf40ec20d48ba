/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * import.c - the import pipeline of a stock delivery (import.h): the file is hashed with
 * SHA-256 on a second thread while the validator streams it and the accepted rows go, in
 * batches, to a third thread that writes them into an open store session; at the end the delivery is accepted or refused, and the JSON
 * report (counts per rule, the rejected lines, the first issues in detail) is stored with
 * it. A file already delivered by the organisation is detected by its hash and the session
 * rolled back: importing it again changes nothing.
 */
#include "datahabitat/audit.h"
#include "datahabitat/import.h"
#include "datahabitat/report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_CHUNK (1u << 20)
#define MAX_REJECTED_LISTED 1000000u /* line numbers of rejected rows kept in the report */

void dh_import_options_init(dh_import_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->max_reject_share = DH_IMPORT_DEFAULT_MAX_REJECT_SHARE;
	opt->layout = DH_LAYOUT_AUTO;
	opt->max_report_issues = 10000;
}

void dh_import_result_release(dh_import_result *result)
{
	if (!result)
		return;
	free(result->rule_counts);
	free(result->report_json);
	result->rule_counts = NULL;
	result->report_json = NULL;
}

/* SHA-256 with OpenSSL's EVP interface: it uses the processor's SHA instructions (about
 * 1.5 GB/s here, five times libsodium's portable code), which matters on a 1 GB file. */
int dh_sha256_file(const char *path, char hex[DH_HASH_HEX_SIZE], uint64_t *size, dh_error *err)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return dh_error_set(err, errno == ENOENT ? DH_NOTFOUND : DH_IO, "« %s » : lecture impossible : %s", path,
				    strerror(errno));
	unsigned char *buf = malloc(HASH_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!buf || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		free(buf);
		EVP_MD_CTX_free(md);
		close(fd);
		return dh_error_nomem(err);
	}
	uint64_t total = 0;
	int rc = DH_OK;
	for (;;) {
		ssize_t n = read(fd, buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = dh_error_set(err, DH_IO, "« %s » : lecture impossible : %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			rc = dh_error_set(err, DH_INTERNAL, "calcul de l'empreinte SHA-256 impossible");
			break;
		}
		total += (uint64_t)n;
	}
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (rc == DH_OK && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32))
		rc = dh_error_set(err, DH_INTERNAL, "calcul de l'empreinte SHA-256 impossible");
	free(buf);
	EVP_MD_CTX_free(md);
	close(fd);
	if (rc != DH_OK)
		return rc;
	sodium_bin2hex(hex, 65, digest, 32);
	if (size)
		*size = total;
	return DH_OK;
}

/* ---- Hashing thread -------------------------------------------------------------------- */

typedef struct hash_job {
	const char *path;
	char hex[DH_HASH_HEX_SIZE];
	uint64_t size;
	int rc;
	dh_error err;
} hash_job;

static void *hash_thread(void *arg)
{
	hash_job *job = arg;
	job->rc = dh_sha256_file(job->path, job->hex, &job->size, &job->err);
	return NULL;
}

/* ---- Writer thread ------------------------------------------------------------------------
 * The validator (calling thread) copies each accepted row into a batch; full batches go to
 * a writer thread that owns the store session while validation runs, so that parsing and
 * checking overlap with SQLite's work. A store failure stops the validation at the next
 * batch. */

#define BATCH_ROWS 2048
#define BATCH_TEXT (1u << 20)
#define NBATCHES 4

typedef struct row_batch {
	size_t n;                           /* rows in the batch */
	size_t used;                        /* bytes of text used */
	dh_rpls_row rows[BATCH_ROWS];       /* views point into text */
	const char *commune[BATCH_ROWS];    /* owned by the dh_geo */
	char text[BATCH_TEXT];
} row_batch;

typedef struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	row_batch *all[NBATCHES];
	row_batch *free_list[NBATCHES];
	size_t nfree;
	row_batch *full[NBATCHES];          /* FIFO of batches to write */
	size_t full_head, nfull;
	row_batch *filling;                 /* the batch the validator fills */
	int done;                           /* no more batches will come */
	int rc;                             /* first store failure, DH_OK otherwise */
	dh_error err;                       /* its detail */
	dh_store_import *session;
	uint64_t accepted;                  /* rows written */
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (w->nfull == 0 && !w->done)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->nfull == 0) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		row_batch *b = w->full[w->full_head];
		w->full_head = (w->full_head + 1) % NBATCHES;
		w->nfull--;
		int failed = w->rc != DH_OK;
		pthread_mutex_unlock(&w->lock);
		int rc = DH_OK;
		dh_error err;
		dh_error_clear(&err);
		for (size_t i = 0; !failed && rc == DH_OK && i < b->n; i++) {
			rc = dh_store_import_row(w->session, &b->rows[i], b->commune[i], &err);
			if (rc == DH_OK)
				w->accepted++;
		}
		pthread_mutex_lock(&w->lock);
		if (rc != DH_OK && w->rc == DH_OK) {
			w->rc = rc;
			w->err = err;
		}
		w->free_list[w->nfree++] = b;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
}

static int writer_start(writer *w, dh_store_import *session)
{
	memset(w, 0, sizeof(*w));
	w->session = session;
	for (size_t i = 0; i < NBATCHES; i++) {
		w->all[i] = malloc(sizeof(row_batch));
		if (!w->all[i]) {
			while (i--)
				free(w->all[i]);
			return DH_NOMEM;
		}
		w->free_list[w->nfree++] = w->all[i];
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		for (size_t i = 0; i < NBATCHES; i++)
			free(w->all[i]);
		return DH_INTERNAL;
	}
	return DH_OK;
}

/* Hand the batch being filled to the writer; returns the writer's state. */
static int writer_submit(writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->full[(w->full_head + w->nfull) % NBATCHES] = w->filling;
	w->nfull++;
	w->filling = NULL;
	int rc = w->rc;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static int writer_push(writer *w, const dh_rpls_row *row, const char *commune)
{
	/* Every field's text is copied, the extra ones too (OLDLOGT is stored): the row's views
	 * point into the reader's buffer, which moves on before the writer thread runs. */
	size_t need = 0;
	for (int f = 0; f < DH_RPLS_NALL; f++)
		need += row->text[f].len;
	if (need > BATCH_TEXT)
		return DH_TOOBIG;
	if (w->filling && (w->filling->n == BATCH_ROWS || w->filling->used + need > BATCH_TEXT)) {
		int rc = writer_submit(w);
		if (rc != DH_OK)
			return rc;
	}
	if (!w->filling) {
		pthread_mutex_lock(&w->lock);
		while (w->nfree == 0)
			pthread_cond_wait(&w->cond, &w->lock);
		w->filling = w->free_list[--w->nfree];
		int rc = w->rc;
		pthread_mutex_unlock(&w->lock);
		w->filling->n = 0;
		w->filling->used = 0;
		if (rc != DH_OK)
			return rc;
	}
	row_batch *b = w->filling;
	dh_rpls_row *copy = &b->rows[b->n];
	*copy = *row;
	for (int f = 0; f < DH_RPLS_NALL; f++) {
		size_t len = row->text[f].len;
		copy->text[f].ptr = b->text + b->used;
		if (len)
			memcpy(b->text + b->used, row->text[f].ptr, len);
		b->used += len;
	}
	b->commune[b->n++] = commune;
	return DH_OK;
}

/* Send what is left, wait for the writer, release it; returns the first store failure. */
static int writer_finish(writer *w, dh_error *err)
{
	if (w->filling && w->filling->n)
		writer_submit(w);
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	for (size_t i = 0; i < NBATCHES; i++)
		free(w->all[i]);
	if (w->rc != DH_OK && err)
		*err = w->err;
	return w->rc;
}

/* ---- Validation callbacks --------------------------------------------------------------- */

typedef struct import_ctx {
	dh_store_import *session;
	const dh_geo *geo;
	dh_error store_err;   /* why the store refused a row */
	uint64_t accepted;
	uint64_t *rejected;   /* line numbers of rejected rows (first MAX_REJECTED_LISTED) */
	size_t nrejected, caprejected;
	uint64_t rejected_total;
	dh_report *report;    /* issues (up to the cap) and counts, report.h */
	int nomem;
	writer *writer;       /* the writer thread, NULL: rows are written by the caller */
} import_ctx;

static int on_row(void *ctx_, const dh_rpls_row *row, int has_errors)
{
	import_ctx *ctx = ctx_;
	if (has_errors) {
		ctx->rejected_total++;
		if (ctx->nrejected < MAX_REJECTED_LISTED) {
			if (ctx->nrejected == ctx->caprejected) {
				size_t cap = ctx->caprejected ? ctx->caprejected * 2 : 1024;
				uint64_t *p = realloc(ctx->rejected, cap * sizeof(*p));
				if (!p) {
					ctx->nomem = 1;
					return DH_NOMEM;
				}
				ctx->rejected = p;
				ctx->caprejected = cap;
			}
			ctx->rejected[ctx->nrejected++] = row->line;
		}
		return DH_OK;
	}
	const char *commune = NULL;
	if (ctx->geo && row->commune >= 0) {
		const dh_commune *c = dh_geo_commune(ctx->geo, row->commune);
		commune = c ? c->code : NULL;
	}
	if (ctx->writer)
		return writer_push(ctx->writer, row, commune);
	int rc = dh_store_import_row(ctx->session, row, commune, &ctx->store_err);
	if (rc == DH_OK)
		ctx->accepted++;
	return rc;
}

static int on_issue(void *ctx_, const dh_issue *issue)
{
	import_ctx *ctx = ctx_;
	int rc = dh_report_on_issue(ctx->report, issue);
	if (rc == DH_NOMEM)
		ctx->nomem = 1;
	return rc;
}

/*
 * The stored report: the validation report of report.h, plus a "delivery" object with the
 * decision and the line numbers of the rejected rows.
 */
static char *build_report(const import_ctx *ctx, const dh_delivery *d, const dh_validate_stats *stats,
			  double max_share, int validate_rc, const dh_error *verr)
{
	char *text = NULL, *base = NULL;
	json_t *report = NULL, *rejected = json_array();
	if (!rejected || dh_report_set_stats(ctx->report, d->file_name, stats) != DH_OK ||
	    dh_report_to_json_string(ctx->report, &base) != DH_OK)
		goto out;
	report = json_loads(base, 0, NULL);
	if (!report)
		goto out;
	for (size_t i = 0; i < ctx->nrejected; i++)
		if (json_array_append_new(rejected, json_integer((json_int_t)ctx->rejected[i])) != 0)
			goto out;
	json_t *delivery = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:f, s:O, s:b, s:I}",
				     "organisation", d->siren, "reference_date", d->reference_date, "file",
				     d->file_name, "sha256", d->sha256, "size", (json_int_t)d->file_size, "layout",
				     d->layout, "status", dh_delivery_status_name(d->status), "rows",
				     (json_int_t)d->rows_read, "rows_accepted", (json_int_t)d->rows_accepted,
				     "rows_rejected", (json_int_t)d->rows_rejected, "max_reject_share", max_share,
				     "rejected_rows", rejected, "rejected_rows_truncated",
				     ctx->rejected_total > ctx->nrejected, "issues_omitted",
				     (json_int_t)dh_report_omitted(ctx->report));
	if (!delivery || json_object_set_new(report, "delivery", delivery) != 0)
		goto out;
	if (validate_rc != DH_OK && verr->message[0] &&
	    json_object_set_new(delivery, "unreadable", json_string(verr->message)) != 0)
		goto out;
	text = json_dumps(report, JSON_COMPACT);
out:
	free(base);
	json_decref(rejected);
	json_decref(report);
	return text;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int dh_import_run(dh_store *store, const dh_geo *geo, const char *path, const dh_import_options *opt,
		       dh_import_result *result, dh_error *err)
{
	if (!store || !path || !opt || !result)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	memset(result, 0, sizeof(*result));
	if (!opt->siren || !dh_siren_valid(opt->siren))
		return dh_error_set(err, DH_INVAL, "SIREN « %s » invalide", opt->siren ? opt->siren : "");
	if (!opt->reference_date || !dh_date_valid(opt->reference_date))
		return dh_error_set(err, DH_INVAL, "date de référence « %s » invalide (AAAA-MM-JJ attendu)",
				    opt->reference_date ? opt->reference_date : "");
	if (!(opt->max_reject_share >= 0.0 && opt->max_reject_share <= 1.0))
		return dh_error_set(err, DH_INVAL, "part maximale de lignes rejetées invalide (entre 0 et 1)");
	if (strcmp(path, "-") == 0)
		return dh_error_set(err, DH_INVAL, "l'import lit un fichier (pas l'entrée standard)");
	dh_org org;
	int rc = dh_store_org_get(store, opt->siren, &org, err);
	if (rc != DH_OK)
		return rc;
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return dh_error_set(err, errno == ENOENT ? DH_NOTFOUND : DH_IO, "« %s » : fichier illisible", path);
	if (sodium_init() < 0)
		return dh_error_set(err, DH_INTERNAL, "initialisation de libsodium impossible");
	/* the name recorded is stored text: checked whole (DH_NAME_MAX characters fit the field) */
	const char *file_name = opt->file_name ? opt->file_name : base_name(path);
	if (dh_text_check(file_name, DH_NAME_MAX, "nom du fichier livré", err) != DH_OK)
		return DH_INVAL;

	dh_delivery meta;
	memset(&meta, 0, sizeof(meta));
	dh_strlcpy(meta.siren, sizeof(meta.siren), opt->siren);
	dh_strlcpy(meta.reference_date, sizeof(meta.reference_date), opt->reference_date);
	dh_strlcpy(meta.file_name, sizeof(meta.file_name), file_name);
	meta.file_size = (uint64_t)sb.st_size;
	dh_strlcpy(meta.layout, sizeof(meta.layout), opt->layout == DH_LAYOUT_AUTO ? "rpls" : dh_layout_name(opt->layout));

	import_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.geo = geo;
	if (dh_report_new(&ctx.report, opt->max_report_issues) != DH_OK)
		return dh_error_nomem(err);

	hash_job job;
	memset(&job, 0, sizeof(job));
	job.path = path;
	pthread_t thread;
	int threaded = pthread_create(&thread, NULL, hash_thread, &job) == 0;
	if (!threaded)
		hash_thread(&job);

	rc = dh_store_import_begin(store, &meta, &ctx.session, err);
	dh_validate_stats stats;
	memset(&stats, 0, sizeof(stats));
	dh_error verr;
	dh_error_clear(&verr);
	int vrc = DH_OK;
	if (rc == DH_OK) {
		dh_validate_options vopt;
		memset(&vopt, 0, sizeof(vopt));
		vopt.layout = opt->layout;
		vopt.reference_year = atoi(opt->reference_date);
		dh_validate_callbacks cb = { on_row, on_issue, &ctx };
		writer w;
		if (writer_start(&w, ctx.session) == DH_OK)
			ctx.writer = &w;
		vrc = dh_validate_file(path, &vopt, geo, &cb, &stats, &verr);
		if (ctx.writer) {
			int wrc = writer_finish(&w, &ctx.store_err);
			ctx.accepted = w.accepted;
			ctx.writer = NULL;
			if (wrc != DH_OK && vrc == DH_OK)
				vrc = wrc;
		}
	}
	if (threaded)
		pthread_join(thread, NULL);
	if (rc != DH_OK) {
		/* The same file sent again at the same date meets the accepted delivery first:
		 * it is still a duplicate, which is not an error. */
		dh_delivery previous;
		if (rc == DH_CONFLICT && job.rc == DH_OK &&
		    dh_store_delivery_find(store, opt->siren, job.hex, &previous, NULL) == DH_OK) {
			dh_error_clear(err);
			result->delivery = previous;
			result->duplicate = 1;
			rc = DH_OK;
		}
		goto done;
	}
	if (vrc != DH_OK && vrc != DH_INVALID_DATA) {
		/* Unreadable input, memory, or the store failed under a row: nothing is kept. */
		if (ctx.store_err.code != DH_OK)
			*err = ctx.store_err;
		else if (ctx.nomem)
			dh_error_nomem(err);
		else if (err)
			*err = verr;
		rc = ctx.store_err.code != DH_OK ? ctx.store_err.code : vrc;
		goto done;
	}
	if (job.rc != DH_OK) {
		if (err)
			*err = job.err;
		rc = job.rc;
		goto done;
	}

	dh_delivery previous;
	int found = dh_store_delivery_find(store, opt->siren, job.hex, &previous, err);
	if (found == DH_OK) {
		dh_store_import_abort(ctx.session);
		ctx.session = NULL;
		result->delivery = previous;
		result->duplicate = 1;
		rc = DH_OK;
		goto done;
	}
	if (found != DH_NOTFOUND) {
		rc = found;
		goto done;
	}
	dh_error_clear(err);

	dh_delivery final = meta;
	dh_strlcpy(final.sha256, sizeof(final.sha256), job.hex);
	final.file_size = job.size;
	if (vrc == DH_OK && stats.layout != DH_LAYOUT_AUTO)
		dh_strlcpy(final.layout, sizeof(final.layout), dh_layout_name(stats.layout));
	final.rows_read = stats.rows;
	final.rows_accepted = ctx.accepted;
	final.rows_rejected = stats.rows - ctx.accepted;
	double share = stats.rows ? (double)final.rows_rejected / (double)stats.rows : 1.0;
	/* the arrêté's header names the landlord: its SIRET must be the --org organisation's */
	int other_landlord = vrc == DH_OK && stats.layout == DH_LAYOUT_RPLS_ARRETE && stats.landlord_siren[0] &&
			     strcmp(stats.landlord_siren, opt->siren) != 0;
	final.status = vrc == DH_OK && !other_landlord && stats.rows > 0 && share <= opt->max_reject_share
			       ? DH_DELIVERY_ACCEPTED
			       : DH_DELIVERY_REFUSED;
	char *report = build_report(&ctx, &final, &stats, opt->max_reject_share, vrc, &verr);
	if (!report) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante (rapport)");
		goto done;
	}
	rc = dh_store_import_end(ctx.session, &final, report, err);
	ctx.session = NULL;
	if (rc != DH_OK) {
		free(report);
		goto done;
	}
	result->delivery = final;
	result->report_json = report;
	result->errors = stats.errors;
	result->warnings = stats.warnings;
	result->nrules = dh_validate_rule_count();
	result->rule_counts = calloc(result->nrules ? result->nrules : 1, sizeof(uint64_t));
	if (result->rule_counts && stats.rule_counts)
		memcpy(result->rule_counts, stats.rule_counts, result->nrules * sizeof(uint64_t));
	rc = final.status == DH_DELIVERY_ACCEPTED ? DH_OK : DH_REFUSED;
	if (rc == DH_REFUSED && other_landlord)
		dh_error_set(err, DH_REFUSED, "livraison refusée : l'en-tête du fichier (SIRET %s) désigne le "
					      "bailleur %s, pas l'organisme %s donné par --org",
			     stats.landlord_siret, stats.landlord_siren, opt->siren);
	else if (rc == DH_REFUSED && (vrc != DH_OK || stats.rows == 0))
		dh_error_set(err, DH_REFUSED, "livraison refusée : fichier inexploitable");
	else if (rc == DH_REFUSED)
		dh_error_set(err, DH_REFUSED, "livraison refusée : %llu lignes rejetées sur %llu (%.1f %%, maximum %.1f %%)",
			     (unsigned long long)final.rows_rejected, (unsigned long long)final.rows_read, share * 100.0,
			     opt->max_reject_share * 100.0);
done:
	dh_store_import_abort(ctx.session);
	dh_validate_stats_release(&stats);
	dh_report_free(ctx.report);
	free(ctx.rejected);
	return rc;
}

/* ---- Reference sources (open data) --------------------------------------------------- */

typedef struct ref_ctx {
	dh_store_ref_import *session;
	const dh_geo *geo;
	dh_error store_err;
	uint64_t stored, rejected;
} ref_ctx;

static int on_reference_row(void *ctx_, const dh_rpls_row *row, int has_errors)
{
	ref_ctx *ctx = ctx_;
	if (has_errors) {
		ctx->rejected++;
		return DH_OK;
	}
	const char *commune = NULL;
	if (ctx->geo && row->commune >= 0) {
		const dh_commune *c = dh_geo_commune(ctx->geo, row->commune);
		commune = c ? c->code : NULL;
	}
	int rc = dh_store_ref_import_row(ctx->session, row, commune, &ctx->store_err);
	if (rc == DH_OK)
		ctx->stored++;
	return rc;
}

int dh_import_reference_run(dh_store *store, const dh_geo *geo, const char *path,
			    const dh_reference_options *opt, dh_reference_result *result, dh_error *err)
{
	if (!opt->reference_date || !dh_date_valid(opt->reference_date))
		return dh_error_set(err, DH_INVAL, "date de référence « %s » invalide (AAAA-MM-JJ attendu)",
				    opt->reference_date ? opt->reference_date : "");
	if (opt->layout != DH_LAYOUT_AUTO && !dh_layout_is_opendata(opt->layout))
		return dh_error_set(err, DH_INVAL,
				    "une source de référence se lit dans une mise en page open data (rpls-opendata...)");
	if (strcmp(path, "-") == 0)
		return dh_error_set(err, DH_INVAL, "l'import lit un fichier (pas l'entrée standard)");
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return dh_error_set(err, errno == ENOENT ? DH_NOTFOUND : DH_IO, "« %s » : fichier illisible", path);
	char hex[65];
	uint64_t size = 0;
	int rc = dh_sha256_file(path, hex, &size, err);
	if (rc != DH_OK)
		return rc;

	dh_reference_source meta;
	memset(&meta, 0, sizeof(meta));
	dh_strlcpy(meta.name, sizeof(meta.name), opt->source ? opt->source : "");
	dh_strlcpy(meta.reference_date, sizeof(meta.reference_date), opt->reference_date);
	dh_strlcpy(meta.file_name, sizeof(meta.file_name), opt->file_name ? opt->file_name : base_name(path));
	dh_strlcpy(meta.layout, sizeof(meta.layout), dh_layout_name(opt->layout == DH_LAYOUT_AUTO
									 ? DH_LAYOUT_RPLS_OPENDATA : opt->layout));
	ref_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.geo = geo;
	rc = dh_store_ref_import_begin(store, &meta, &ctx.session, err);
	if (rc != DH_OK)
		return rc;
	dh_validate_options vopt;
	memset(&vopt, 0, sizeof(vopt));
	vopt.layout = opt->layout;
	vopt.reference_year = atoi(opt->reference_date);
	dh_validate_callbacks cb = { on_reference_row, NULL, &ctx };
	dh_validate_stats stats;
	memset(&stats, 0, sizeof(stats));
	dh_error verr;
	dh_error_clear(&verr);
	int vrc = dh_validate_file(path, &vopt, geo, &cb, &stats, &verr);
	if (vrc != DH_OK && vrc != DH_INVALID_DATA) {
		if (err)
			*err = ctx.store_err.code != DH_OK ? ctx.store_err : verr;
		rc = ctx.store_err.code != DH_OK ? ctx.store_err.code : vrc;
	} else if (!dh_layout_is_opendata(stats.layout)) {
		rc = dh_error_set(err, DH_INVAL,
				  "« %s » est un fichier de bailleur (%s), pas un fichier open data : il s'importe "
				  "avec --org", path, dh_layout_name(stats.layout));
	} else if (stats.rows == 0 || ctx.stored == 0) {
		rc = dh_error_set(err, DH_INVAL, "« %s » : aucune ligne exploitable", path);
	}
	if (rc != DH_OK) {
		dh_store_ref_import_abort(ctx.session);
		dh_validate_stats_release(&stats);
		return rc;
	}
	meta.rows = ctx.stored;
	dh_strlcpy(meta.sha256, sizeof(meta.sha256), hex);
	dh_strlcpy(meta.layout, sizeof(meta.layout), dh_layout_name(stats.layout));
	rc = dh_store_ref_import_end(ctx.session, &meta, err);
	if (rc == DH_OK) {
		result->source = meta;
		result->rows_read = stats.rows;
		result->rows_rejected = ctx.rejected;
		result->errors = stats.errors;
		result->warnings = stats.warnings;
	}
	dh_validate_stats_release(&stats);
	return rc;
}
