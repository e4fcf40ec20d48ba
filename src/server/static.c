/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * static.c - the web dashboard's files (web/, issue 12) served by `datahabitat serve`:
 * "/" is web/index.html, "/assets/F", "/vendor/F" and "/geo/F" are files of the folders of
 * the same name under the web root. A file name is one path segment of [A-Za-z0-9._-], not
 * starting with a dot, so nothing outside those folders can be named (no traversal, no
 * hidden file, no symlink followed). MIME type from the extension (unknown: 404); a
 * precompressed F.gz is sent to clients that accept gzip; caching by ETag (mtime and size)
 * with revalidation for the page and one hour for the assets; the page's own CSP (scripts,
 * styles, images and API calls from this origin only, no inline script).
 * Web root: $DH_WEB_DIR, else the first web/ (with index.html) one to three folders above the
 * binary (bin/, build/rel/, build/asan/), else ./web.
 */
#include "server/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_CSP                                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "    \
	"connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'self'"

static pthread_once_t root_once = PTHREAD_ONCE_INIT;
static char web_root[PATH_MAX];

static int is_dir_with_index(const char *dir)
{
	char p[PATH_MAX + 32];
	struct stat sb;
	int n = snprintf(p, sizeof(p), "%s/index.html", dir);
	return n > 0 && (size_t)n < sizeof(p) && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void find_root(void)
{
	const char *env = getenv("DH_WEB_DIR");
	if (env && *env && strlen(env) < sizeof(web_root)) {
		snprintf(web_root, sizeof(web_root), "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* bin/datahabitat, build/rel/datahabitat, build/asan/...: web/ one to three up */
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			if (up == 0)
				continue;
			char cand[PATH_MAX + 8];
			snprintf(cand, sizeof(cand), "%s/web", exe);
			size_t len = strlen(cand);
			if (is_dir_with_index(cand) && len < sizeof(web_root)) {
				memcpy(web_root, cand, len + 1);
				return;
			}
		}
	}
	snprintf(web_root, sizeof(web_root), "web");
}

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".geojson", "application/geo+json" },
	{ ".png", "image/png" },
	{ ".svg", "image/svg+xml" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".md", "text/markdown; charset=utf-8" },
};

static const char *mime_of(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++) {
		size_t e = strlen(mime_types[i].ext);
		if (n > e && strcmp(name + n - e, mime_types[i].ext) == 0)
			return mime_types[i].type;
	}
	return NULL;
}

/* 1 if name is one safe path segment. */
static int safe_name(const char *name)
{
	if (!name[0] || name[0] == '.' || strlen(name) > 100)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return strstr(name, "..") == NULL;
}

static int accepts_gzip(srv_request *req)
{
	const char *ae = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept-Encoding");
	return ae && strstr(ae, "gzip") != NULL;
}

/* Open a regular file without following a symlink; -1 if absent or not regular. */
static int open_regular(const char *path, struct stat *sb)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct MHD_Response *serve_file(srv_request *req, const char *dir, const char *name, int page)
{
	const char *type = mime_of(name);
	if (!safe_name(name) || !type)
		return srv_problem(req, 404, "ressource inconnue");
	pthread_once(&root_once, find_root);
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s%s%s", web_root, dir, dir[0] ? "/" : "", name);
	struct stat sb;
	int gz = 0, fd = -1;
	if (accepts_gzip(req)) {
		char gzpath[sizeof(path) + 4];
		snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
		fd = open_regular(gzpath, &sb);
		gz = fd >= 0;
	}
	if (fd < 0)
		fd = open_regular(path, &sb);
	if (fd < 0)
		return srv_problem(req, 404, "ressource inconnue");
	char etag[80];
	snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)sb.st_mtime,
		 (unsigned long long)sb.st_size, gz ? "-gz" : "");
	const char *inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "If-None-Match");
	struct MHD_Response *r;
	if (inm && strcmp(inm, etag) == 0) {
		close(fd);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		req->status = 304;
		atomic_store(&req->bytes, 0);
	} else {
		r = MHD_create_response_from_fd((size_t)sb.st_size, fd); /* takes fd */
		if (!r) {
			close(fd);
			return NULL;
		}
		req->status = 200;
		atomic_store(&req->bytes, (uint64_t)sb.st_size);
		MHD_add_response_header(r, "Content-Type", type);
		if (gz)
			MHD_add_response_header(r, "Content-Encoding", "gzip");
	}
	if (!r)
		return NULL;
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	MHD_add_response_header(r, "Cache-Control", page ? "no-cache" : "public, max-age=3600");
	if (page)
		MHD_add_response_header(r, "Content-Security-Policy", PAGE_CSP);
	return r;
}

struct MHD_Response *srv_h_static_index(srv_state *st, srv_request *req)
{
	(void)st;
	return serve_file(req, "", "index.html", 1);
}

struct MHD_Response *srv_h_static_assets(srv_state *st, srv_request *req)
{
	(void)st;
	return serve_file(req, "assets", req->param, 0);
}

struct MHD_Response *srv_h_static_vendor(srv_state *st, srv_request *req)
{
	(void)st;
	return serve_file(req, "vendor", req->param, 0);
}

struct MHD_Response *srv_h_static_geo(srv_state *st, srv_request *req)
{
	(void)st;
	return serve_file(req, "geo", req->param, 0);
}
