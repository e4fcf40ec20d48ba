/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * server.c - `datahabitat serve`: options, the state (store, geography, cube holder,
 * sessions), the libmicrohttpd daemon (epoll with a thread pool, connection cap,
 * per-connection timeout and memory limit, TLS through GnuTLS when a certificate is given)
 * and the graceful stop: on SIGTERM or SIGINT the listening socket is closed
 * (MHD_quiesce_daemon), running requests finish (up to a grace period), then the daemon
 * stops.
 */
#include "server/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

static const char usage_text[] =
	"usage : datahabitat serve [--db F] [--listen ADRESSE:PORT] [--tls-cert F --tls-key F]\n"
	"\n"
	"Sert l'API HTTP de datahabitat (docs/api.md) : indicateurs par territoire, livraisons\n"
	"de patrimoine, comptes et conventions, journal d'audit. Les chiffres passent par les\n"
	"mêmes règles d'accès et de secret statistique que la commande indicators --as.\n"
	"Arrêt propre par SIGTERM ou Ctrl-C : les requêtes en cours se terminent.\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN          base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  --listen A:P         adresse et port d'écoute (défaut 127.0.0.1:8080 ; port 0 : un\n"
	"                       port libre, annoncé sur la sortie d'erreur)\n"
	"  --tls-cert F         certificat PEM (HTTPS) ; avec --tls-key\n"
	"  --tls-key F          clé privée PEM du certificat\n"
	"  --ref DIR            dossier des fichiers de référence (géographie)\n"
	"  --threads N          fils de traitement (défaut 4)\n"
	"  --max-connections N  connexions simultanées au plus (défaut 256)\n"
	"  --timeout S          secondes d'inactivité avant de couper une connexion (défaut 30)\n"
	"  --max-upload MO      taille maximale d'une livraison en Mo (défaut 4096)\n"
	"  -h, --help           cette aide\n";

/* libmicrohttpd's own messages, as JSON lines like the access log. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	json_t *o = json_pack("{s:s, s:o}", "event", "http-library", "message", srv_json_text(msg));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text)
		fprintf(stderr, "%s\n", text);
	free(text);
	json_decref(o);
}

static int parse_listen(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b) {
				free(buf);
				buf = NULL;
			}
			buf = b;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static long number_option(const char *text, long lo, long hi)
{
	char *end;
	long v = strtol(text, &end, 10);
	return *end || end == text || v < lo || v > hi ? -1 : v;
}

/* The spool folder next to the database: created 0700, emptied of uploads a killed
 * server left behind (none of them became a delivery). */
static int prepare_spool(const char *db, char *out, size_t size)
{
	if (snprintf(out, size, "%s.uploads", db) >= (int)size)
		return -1;
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -1;
	if (chmod(out, 0700) != 0)
		return -1;
	DIR *d = opendir(out);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "upload-", 7) != 0)
			continue;
		char path[1024];
		if (snprintf(path, sizeof(path), "%s/%s", out, e->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	return 0;
}

int srv_open(srv_state *st, const char *db, const char *ref, unsigned connections, dh_error *err)
{
	memset(st, 0, sizeof(*st));
	st->max_upload = (uint64_t)4096 << 20;
	dh_strlcpy(st->db, sizeof(st->db), db);
	int rc = dh_identity_init(err);
	if (rc == DH_OK)
		rc = dh_geo_load(&st->geo, ref ? ref : dh_geo_default_dir(), err);
	if (connections < 1)
		connections = 1;
	if (connections > SRV_POOL_MAX)
		connections = SRV_POOL_MAX;
	for (unsigned i = 0; rc == DH_OK && i < connections; i++) {
		rc = dh_store_open(&st->pool[i].store, db, 0u, err);
		if (rc == DH_OK) {
			pthread_mutex_init(&st->pool[i].lock, NULL);
			st->npool = i + 1;
		}
	}
	if (rc != DH_OK)
		return rc;
	st->store = st->pool[0].store;
	rc = dh_geo_load_qpv_stored(st->geo, st->store, err);
	if (rc != DH_OK)
		return rc;
	if (prepare_spool(db, st->spool, sizeof(st->spool)) != 0)
		return dh_error_set(err, DH_IO, "dossier de réception %s.uploads inutilisable", db);
	if (dh_cube_holder_new(&st->cubes) != DH_OK || srv_sessions_new(&st->sessions) != DH_OK ||
	    srv_throttle_new(&st->throttle) != DH_OK)
		return dh_error_nomem(err);
	rc = srv_cube_refresh(st, err);
	return rc;
}

srv_conn *srv_store_get(srv_state *st)
{
	unsigned start = atomic_fetch_add(&st->next_conn, 1);
	for (unsigned k = 0; k < st->npool; k++) {
		srv_conn *c = &st->pool[(start + k) % st->npool];
		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	srv_conn *c = &st->pool[start % st->npool];
	pthread_mutex_lock(&c->lock);
	return c;
}

void srv_store_put(srv_conn *c)
{
	pthread_mutex_unlock(&c->lock);
}

struct MHD_Daemon *srv_start(srv_state *st, const struct sockaddr_in *sa, const srv_limits *lim,
			     const char *cert_pem, const char *key_pem)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	st->tls = cert_pem && key_pem;
	if (st->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{ st->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)(uintptr_t)cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	return MHD_start_daemon(flags, 0, NULL, NULL, srv_access, st,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
				MHD_OPTION_THREAD_POOL_SIZE, lim->threads,
				MHD_OPTION_CONNECTION_LIMIT, lim->max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_NOTIFY_COMPLETED, srv_completed, st,
				MHD_OPTION_ARRAY, tls_opts,
				MHD_OPTION_END);
}

void srv_stop(srv_state *st, struct MHD_Daemon *d, unsigned grace_seconds)
{
	atomic_store(&st->stopping, 1);
	MHD_socket ls = MHD_quiesce_daemon(d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	for (unsigned waited = 0; waited < grace_seconds * 20; waited++) {
		const union MHD_DaemonInfo *ci = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!ci || ci->num_connections == 0)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
}

void srv_close(srv_state *st)
{
	srv_throttle_free(st->throttle);
	srv_sessions_free(st->sessions);
	dh_cube_holder_free(st->cubes);
	for (unsigned i = 0; i < st->npool; i++) {
		dh_store_close(st->pool[i].store);
		pthread_mutex_destroy(&st->pool[i].lock);
	}
	dh_geo_free(st->geo);
	memset(st, 0, sizeof(*st));
}

int srv_main(int argc, char **argv)
{
	const char *db = NULL, *listen = "127.0.0.1:8080", *cert = NULL, *key = NULL, *ref = NULL;
	long threads = 4, max_conn = 256, timeout = 30, max_upload_mb = 4096;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		const char *names[] = { "--db", "--listen", "--tls-cert", "--tls-key", "--ref", "--threads",
					"--max-connections", "--timeout", "--max-upload" };
		const char **slots[] = { &db, &listen, &cert, &key, &ref };
		const char *val = NULL;
		int which = -1;
		for (int k = 0; k < 9 && which < 0; k++)
			if (strcmp(a, names[k]) == 0 && i + 1 < argc) {
				which = k;
				val = argv[++i];
			}
		if (which < 0) {
			fprintf(stderr, "datahabitat: serve : argument inattendu ou option incomplète « %s »\n", a);
			return 2;
		}
		if (which < 5) {
			*slots[which] = val;
			continue;
		}
		long lo = which == 7 ? 1 : 1, hi = which == 5 ? 64 : which == 6 ? 100000 : which == 7 ? 3600 : 1 << 20;
		long v = number_option(val, lo, hi);
		if (v < 0) {
			fprintf(stderr, "datahabitat: serve : valeur invalide pour %s\n", a);
			return 2;
		}
		*(which == 5 ? &threads : which == 6 ? &max_conn : which == 7 ? &timeout : &max_upload_mb) = v;
	}
	if (!db || !*db)
		db = getenv("DATAHABITAT_DB") && *getenv("DATAHABITAT_DB") ? getenv("DATAHABITAT_DB") : "datahabitat.db";
	struct sockaddr_in sa;
	if (parse_listen(listen, &sa) != 0) {
		fprintf(stderr, "datahabitat: serve : adresse d'écoute invalide (ADRESSE_IPV4:PORT attendu)\n");
		return 2;
	}
	if (!cert != !key) {
		fprintf(stderr, "datahabitat: serve : --tls-cert et --tls-key vont ensemble\n");
		return 2;
	}

	srv_state st;
	int exitcode = 3;
	char *cert_pem = NULL, *key_pem = NULL;
	struct MHD_Daemon *d = NULL;
	dh_error err;
	dh_error_clear(&err);
	if (srv_open(&st, db, ref, (unsigned)threads + 1, &err) != DH_OK) {
		fprintf(stderr, "datahabitat: serve : %s\n", err.message[0] ? err.message : dh_result_message(err.code));
		goto done;
	}
	st.max_upload = (uint64_t)max_upload_mb << 20;
	if (cert) {
		cert_pem = read_all(cert);
		key_pem = read_all(key);
		if (!cert_pem || !key_pem) {
			fprintf(stderr, "datahabitat: serve : lecture du certificat ou de la clé impossible\n");
			goto done;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "datahabitat: serve : cette libmicrohttpd n'a pas TLS\n");
			goto done;
		}
	}

	/* signals: waited for by this thread only (the daemon's threads inherit the mask) */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv_limits lim = { (unsigned)threads, (unsigned)max_conn, (unsigned)timeout };
	d = srv_start(&st, &sa, &lim, cert_pem, key_pem);
	if (!d) {
		fprintf(stderr, "datahabitat: serve : démarrage du serveur impossible sur %s\n", listen);
		goto done;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host));
	fprintf(stderr, "datahabitat: à l'écoute sur %s://%s:%u (arrêt : SIGTERM ou Ctrl-C)\n",
		st.tls ? "https" : "http", host, info ? (unsigned)info->port : 0u);
	fflush(stderr);

	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "datahabitat: arrêt demandé : fin des requêtes en cours\n");
	srv_stop(&st, d, 30);
	fprintf(stderr, "datahabitat: serveur arrêté\n");
	exitcode = 0;
done:
	srv_close(&st);
	free(cert_pem);
	free(key_pem);
	return exitcode;
}
