/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * qpv_stored.c - the QPV list stored by `qpv load` (store.h: dh_store_qpv_list) read back
 * into a loaded geography: the geography reads the store, never the other way round.
 */
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

#include <stdlib.h>
#include <string.h>

/* The stored list rewritten as a small CSV that dh_geo_load_qpv_mem() reads back. */
typedef struct qpv_text {
	char *buf;
	size_t len, cap;
	size_t rows;
} qpv_text;

static int text_put(qpv_text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			return DH_NOMEM;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return DH_OK;
}

static int on_qpv_row(void *ctx, const char *code, const char *name, const char *communes)
{
	qpv_text *t = ctx;
	int rc = text_put(t, code, strlen(code));
	rc = rc == DH_OK ? text_put(t, ";\"", 2) : rc;
	for (const char *p = name; rc == DH_OK && *p; p++)
		rc = *p == '"' ? text_put(t, "\"\"", 2) : text_put(t, p, 1);
	rc = rc == DH_OK ? text_put(t, "\";", 2) : rc;
	rc = rc == DH_OK ? text_put(t, communes, strlen(communes)) : rc;
	rc = rc == DH_OK ? text_put(t, "\n", 1) : rc;
	t->rows++;
	return rc;
}

int dh_store_qpv_apply(dh_store *store, dh_geo *geo, dh_error *err)
{
	if (!store || !geo)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	qpv_text t = { NULL, 0, 0, 0 };
	int rc = text_put(&t, "code_qp;nom_qp;codes communes\n", 30);
	if (rc == DH_OK)
		rc = dh_store_qpv_list(store, on_qpv_row, &t, err);
	else
		dh_error_set(err, rc, "mémoire insuffisante");
	if (rc == DH_OK && t.rows)
		rc = dh_geo_load_qpv_mem(geo, t.buf, t.len, "base (table qpv)", err);
	free(t.buf);
	return rc;
}
