/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * fuzz_server_request.c - the HTTP server's request layer over raw requests: a real daemon
 * (src/server/) runs in this process on 127.0.0.1 with a small database (one landlord's
 * delivery, a member, a public agreement, two bearer tokens); each input is sent as the bytes
 * of one connection (request line, query string, headers, JSON or CSV body), "@TOKEN@"
 * and "@WTOKEN@" replaced by the member's tokens so that the authenticated routes are reached too. The
 * sanitizers watch the handlers; the target fails on an answer that is not HTTP or is a
 * 500 (an internal error is a bug for any input).
 */
#include "server/internal.h"

#include "datahabitat/admin.h"
#include "datahabitat/import.h"

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef DH_SOURCE_DIR
#define DH_SOURCE_DIR "."
#endif

static srv_state state;
static struct MHD_Daemon *daemon_;
static unsigned short port;
static char token[DH_TOKEN_TEXT_SIZE];  /* "@TOKEN@": read:indicators */
static char wtoken[DH_TOKEN_TEXT_SIZE]; /* "@WTOKEN@": write:import */
static char dir[] = "/tmp/dhfuzzsrv-XXXXXX";

static void die(const char *what, const dh_error *err)
{
	fprintf(stderr, "fuzz_server_request: %s: %s\n", what, err ? err->message : "");
	abort();
}

static void teardown(void)
{
	if (daemon_)
		srv_stop(&state, daemon_, 2);
	srv_close(&state);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_server_request: %s left behind\n", dir);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	char db[128];
	snprintf(db, sizeof(db), "%s/dh.db", dir);
	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	dh_store *store = NULL;
	dh_actor sys = dh_actor_system();
	dh_init_result init;
	if (dh_identity_init(&err) != DH_OK || dh_geo_load(&geo, dh_geo_default_dir(), &err) != DH_OK ||
	    dh_store_init(db, geo, &sys, 0, &init, &store, &err) != DH_OK)
		die("database", &err);
	dh_org org = { .kind = DH_ORG_OPH };
	snprintf(org.siren, sizeof(org.siren), "443061841");
	snprintf(org.name, sizeof(org.name), "Office A");
	if (dh_org_register(store, &sys, &org, &err) != DH_OK)
		die("org", &err);
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = "443061841";
	opt.reference_date = "2024-01-01";
	dh_import_result res = { 0 };
	if (dh_import_file(store, geo, DH_SOURCE_DIR "/tests/data/store/stock-2024.csv", &opt, &res, &err) != DH_OK)
		die("import", &err);
	dh_import_result_release(&res);
	dh_user u = { .role = DH_ROLE_MEMBER };
	snprintf(u.login, sizeof(u.login), "alice");
	snprintf(u.org_siren, sizeof(u.org_siren), "443061841");
	if (dh_user_add(store, &u, "motdepasse8", 11, &sys, &err) != DH_OK ||
	    dh_token_create(store, "alice", "read:indicators", 1, token, NULL, &sys, &err) != DH_OK ||
	    dh_token_create(store, "alice", "write:import", 1, wtoken, NULL, &sys, &err) != DH_OK)
		die("user", &err);
	dh_agreement a = { .audience = DH_AUDIENCE_PUBLIC };
	snprintf(a.indicators, sizeof(a.indicators), "all");
	snprintf(a.purpose, sizeof(a.purpose), "Observatoire");
	snprintf(a.legal_basis, sizeof(a.legal_basis), "Mission de service public");
	snprintf(a.start, sizeof(a.start), "2024-01-01");
	snprintf(a.end, sizeof(a.end), "2099-12-31");
	if (dh_agreement_add(store, &a, &sys, &err) != DH_OK)
		die("agreement", &err);
	dh_store_close(store);
	dh_geo_free(geo);
	if (srv_open(&state, db, NULL, 3, &err) != DH_OK)
		die("srv_open", &err);
	state.max_upload = 1 << 20;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	srv_limits lim = { 2, 64, 1 };
	daemon_ = srv_start(&state, &sa, &lim, NULL, NULL);
	if (!daemon_)
		die("daemon", NULL);
	port = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
	atexit(teardown);
}

/* The input with every "@TOKEN@" and "@WTOKEN@" replaced by the tokens (malloc'ed, *n
 * its length). */
static char *substitute(const uint8_t *data, size_t size, size_t *n)
{
	char *out = malloc(size * 7 + 1);
	if (!out)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < size;) {
		if (size - i >= 7 && memcmp(data + i, "@TOKEN@", 7) == 0) {
			memcpy(out + o, token, DH_TOKEN_TEXT_LEN);
			o += DH_TOKEN_TEXT_LEN;
			i += 7;
		} else if (size - i >= 8 && memcmp(data + i, "@WTOKEN@", 8) == 0) {
			memcpy(out + o, wtoken, DH_TOKEN_TEXT_LEN);
			o += DH_TOKEN_TEXT_LEN;
			i += 8;
		} else {
			out[o++] = (char)data[i++];
		}
	}
	*n = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!daemon_)
		setup();
	if (size > 256 * 1024)
		return 0;
	size_t n;
	char *req = substitute(data, size, &n);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server may answer and close early (413...) */
		off += (size_t)w;
	}
	free(req);
	shutdown(fd, SHUT_WR);
	char head[16] = "";
	size_t got = 0;
	char buf[8192];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	/* the connection stays open after the answer (keep-alive): once bytes came, a short
	 * silence ends the exchange */
	while (poll(&p, 1, got ? 100 : 5000) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		for (ssize_t k = 0; k < r && got < sizeof(head) - 1; k++)
			head[got++] = buf[k];
	}
	close(fd);
	if (got >= 12) {
		if (strncmp(head, "HTTP/1.", 7) != 0) {
			fprintf(stderr, "fuzz_server_request: not an HTTP answer: %.12s\n", head);
			abort();
		}
		if (strncmp(head + 9, "500", 3) == 0) {
			fprintf(stderr, "fuzz_server_request: internal error (500)\n");
			abort();
		}
	}
	return 0;
}
