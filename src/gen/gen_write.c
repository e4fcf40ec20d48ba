/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_write.c - dh_gen_stock(): a whole synthetic directory written by worker threads, one
 * file per landlord (dh_gen_landlord_write() in gen_stock.c renders each), then the
 * landlords and faults listings.
 */
#include "gen/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Whole directory ---- */

typedef struct text_buf {
	char *ptr;
	size_t len, cap;
} text_buf;

static int text_append(text_buf *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->ptr, cap);
		if (!p)
			return -1;
		t->ptr = p;
		t->cap = cap;
	}
	memcpy(t->ptr + t->len, s, n);
	t->len += n;
	return 0;
}

typedef struct file_sink {
	int fd;
	int errnum;         /* errno of a failed write */
	uint64_t bytes;
	text_buf faults;
} file_sink;

static int file_write(void *ctx, const void *data, size_t len)
{
	file_sink *fs = ctx;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fs->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fs->errnum = errno;
			return DH_IO;
		}
		p += n;
		len -= (size_t)n;
		fs->bytes += (uint64_t)n;
	}
	return DH_OK;
}

static int file_fault(void *ctx, const dh_gen_fault *fl)
{
	file_sink *fs = ctx;
	char line[256];
	int n = snprintf(line, sizeof(line), "%s;%llu;%u;%s;%s\n", fl->file, (unsigned long long)fl->row,
			 fl->column, fl->field, fl->code);
	return n > 0 && (size_t)n < sizeof(line) && text_append(&fs->faults, line, (size_t)n) == 0 ? DH_OK
												: DH_NOMEM;
}

typedef struct job {
	const dh_gen_plan *plan;
	const char *dir;
	text_buf *faults;   /* per landlord */
	uint64_t *bytes;    /* per landlord */
	pthread_mutex_t lock;
	size_t next;        /* next landlord to write */
	int rc;             /* first failure */
	int errnum;         /* its errno, 0 if none */
	dh_error err;
} job;

static int path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Write landlord l's file; *errnum gets the errno of a system failure (strerror is
 * called later by the main thread: it is not thread-safe). */
static int write_one(job *jb, size_t l, dh_error *err, int *errnum)
{
	const dh_gen_landlord *ll = dh_gen_plan_landlord(jb->plan, l);
	char path[4096];
	if (path_join(path, sizeof(path), jb->dir, ll->file_name) < 0)
		return dh_error_set(err, DH_INVAL, "chemin trop long : « %s »", jb->dir);
	file_sink fs = { open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0, { NULL, 0, 0 } };
	if (fs.fd < 0) {
		*errnum = errno;
		dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, DH_IO, "création du fichier impossible");
	}
	dh_gen_sink sink = { file_write, file_fault, &fs };
	int rc = dh_gen_landlord_write(jb->plan, l, &sink, err);
	if (close(fs.fd) != 0 && rc == DH_OK) {
		fs.errnum = errno;
		rc = DH_IO;
	}
	if (rc == DH_IO) {
		*errnum = fs.errnum;
		dh_strlcpy(err->file, sizeof(err->file), path);
		dh_error_set(err, DH_IO, "écriture du fichier impossible");
	}
	jb->faults[l] = fs.faults;
	jb->bytes[l] = fs.bytes;
	return rc;
}

static void *worker(void *arg)
{
	job *jb = arg;
	for (;;) {
		pthread_mutex_lock(&jb->lock);
		size_t l = jb->next++;
		int stop = jb->rc != DH_OK || l >= jb->plan->nlandlords;
		pthread_mutex_unlock(&jb->lock);
		if (stop)
			break;
		dh_error e;
		dh_error_clear(&e);
		int errnum = 0;
		int rc = write_one(jb, l, &e, &errnum);
		if (rc != DH_OK) {
			pthread_mutex_lock(&jb->lock);
			if (jb->rc == DH_OK) {
				jb->rc = rc;
				jb->errnum = errnum;
				jb->err = e;
			}
			pthread_mutex_unlock(&jb->lock);
		}
	}
	return NULL;
}

static int write_text_file(const char *dir, const char *name, const text_buf *t, dh_error *err)
{
	char path[4096];
	if (path_join(path, sizeof(path), dir, name) < 0)
		return dh_error_set(err, DH_INVAL, "chemin trop long : « %s »", dir);
	file_sink fs = { open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0, { NULL, 0, 0 } };
	if (fs.fd < 0 || file_write(&fs, t->ptr, t->len) != DH_OK || close(fs.fd) != 0) {
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, DH_IO, "écriture du fichier impossible : %s", strerror(errno));
	}
	return DH_OK;
}

int dh_gen_stock(const dh_gen_options *opt, const dh_geo *geo, dh_gen_summary *summary, dh_error *err)
{
	if (summary)
		memset(summary, 0, sizeof(*summary));
	if (!opt || !opt->out_dir || !*opt->out_dir)
		return dh_error_set(err, DH_INVAL, "répertoire de sortie absent");
	if (mkdir(opt->out_dir, 0755) != 0 && errno != EEXIST) {
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), opt->out_dir);
		return dh_error_set(err, DH_IO, "création du répertoire impossible : %s", strerror(errno));
	}
	dh_gen_plan *plan;
	int rc = dh_gen_plan_new(&plan, opt, geo, err);
	if (rc != DH_OK)
		return rc;
	size_t K = plan->nlandlords;
	job jb;
	memset(&jb, 0, sizeof(jb));
	jb.plan = plan;
	jb.dir = opt->out_dir;
	jb.faults = calloc(K, sizeof(*jb.faults));
	jb.bytes = calloc(K, sizeof(*jb.bytes));
	text_buf list = { NULL, 0, 0 };
	if (!jb.faults || !jb.bytes) {
		rc = dh_error_nomem(err);
		goto done;
	}
	pthread_mutex_init(&jb.lock, NULL);
	unsigned nthreads = opt->threads > 1 ? opt->threads : 1;
	if (nthreads > 64)
		nthreads = 64;
	pthread_t tids[64];
	unsigned started = 0;
	for (unsigned t = 1; t < nthreads; t++)
		if (pthread_create(&tids[started], NULL, worker, &jb) == 0)
			started++;
	worker(&jb);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&jb.lock);
	if (jb.rc != DH_OK) {
		rc = jb.rc;
		if (err) {
			*err = jb.err;
			if (jb.errnum) {
				char what[sizeof(err->message)];
				memcpy(what, err->message, sizeof(what));
				dh_error_set(err, rc, "%.400s : %s", what, strerror(jb.errnum));
			}
		}
		goto done;
	}

	/* landlords.csv and faults.csv, in landlord order. */
	static const char landlords_header[] = "SIREN;name;kind\n";
	static const char faults_header[] = "file;row;column;field;code\n";
	if (text_append(&list, landlords_header, sizeof(landlords_header) - 1) < 0)
		goto nomem;
	for (size_t l = 0; l < K; l++) {
		const dh_gen_landlord *ll = dh_gen_plan_landlord(plan, l);
		if (text_append(&list, ll->siren, 9) < 0 || text_append(&list, ";", 1) < 0 ||
		    text_append(&list, ll->name, strlen(ll->name)) < 0 || text_append(&list, ";", 1) < 0 ||
		    text_append(&list, ll->kind, strlen(ll->kind)) < 0 || text_append(&list, "\n", 1) < 0)
			goto nomem;
		if (summary) {
			summary->files++;
			summary->rows += ll->rows;
			summary->faults += ll->faults;
			summary->bytes += jb.bytes[l];
		}
	}
	if ((rc = write_text_file(opt->out_dir, "landlords.csv", &list, err)) != DH_OK)
		goto done;
	list.len = 0;
	if (text_append(&list, faults_header, sizeof(faults_header) - 1) < 0)
		goto nomem;
	for (size_t l = 0; l < K; l++)
		if (jb.faults[l].len && text_append(&list, jb.faults[l].ptr, jb.faults[l].len) < 0)
			goto nomem;
	rc = write_text_file(opt->out_dir, "faults.csv", &list, err);
	goto done;
nomem:
	rc = dh_error_nomem(err);
done:
	if (jb.faults)
		for (size_t l = 0; l < K; l++)
			free(jb.faults[l].ptr);
	free(jb.faults);
	free(jb.bytes);
	free(list.ptr);
	dh_gen_plan_free(plan);
	return rc;
}
