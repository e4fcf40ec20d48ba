/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * testutil.h - shared helpers for the cmocka unit tests: paths into the source tree,
 * temporary directories and files.
 */
#ifndef DH_TESTUTIL_H
#define DH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h uses what the four headers above declare: a block of its own, so that sorting the
 * includes (.clang-format: SortIncludes) keeps it after them. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a file of the source tree: dh_src_path("data/ref") (static buffer, one at a time). */
static inline const char *dh_src_path(const char *rel);

#ifdef DATAHABITAT_GEO_H
/* The reference geography of the source tree, or NULL (a test file including geo.h). */
static inline dh_geo *dh_test_geo(void)
{
	dh_geo *g = NULL;
	dh_error err;
	return dh_geo_load(&g, dh_src_path("data/ref"), &err) == DH_OK ? g : NULL;
}
#endif


static inline const char *dh_src_path(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", DH_SOURCE_DIR, rel);
	return buf;
}

/* A fresh temporary directory (caller frees the string; the directory is left for inspection
 * only if the test fails: call dh_rmtree at the end). */
static inline char *dh_tmpdir(void)
{
	char tmpl[] = "/tmp/dhtest-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline void dh_rmtree(char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

/* Write `len` bytes to `dir/name` and return the path (caller frees). */
static inline char *dh_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	assert_non_null(path);
	snprintf(path, n, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* A growing NUL-terminated text buffer for building test files in memory (free b->p). */
typedef struct dh_textbuf {
	char *p;
	size_t len, cap;
} dh_textbuf;

static inline void dh_textbuf_add(dh_textbuf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void dh_textbuf_str(dh_textbuf *b, const char *s)
{
	dh_textbuf_add(b, s, strlen(s));
}

#endif
