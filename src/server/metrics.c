/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * metrics.c - the counters behind GET /metrics (Prometheus text format 0.0.4): requests
 * by route template and status, a latency histogram, the cube's age and row count, and
 * the deliveries accepted and refused since start. Counters are atomics: recording costs
 * no lock on the request path.
 */
#include "server/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 64
#define NSTATUS 16
#define NBUCKETS 10

static const unsigned status_codes[NSTATUS] = { 200, 201, 204, 400, 401, 403, 404, 405,
						409, 413, 415, 422, 429, 499, 500, 503 };
static const double bucket_le[NBUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5 };

/* [route + 1][status]: route -1 (no route matched) is row 0 */
static atomic_uint_fast64_t requests[MAX_ROUTES + 1][NSTATUS + 1];
static atomic_uint_fast64_t buckets[NBUCKETS + 1];
static atomic_uint_fast64_t latency_us_sum;

void srv_metrics_record(int route_index, unsigned status, double seconds)
{
	int r = route_index >= 0 && route_index < MAX_ROUTES ? route_index + 1 : 0;
	int s = NSTATUS;
	for (int i = 0; i < NSTATUS; i++)
		if (status_codes[i] == status)
			s = i;
	atomic_fetch_add(&requests[r][s], 1);
	int b = NBUCKETS;
	for (int i = 0; i < NBUCKETS; i++)
		if (seconds <= bucket_le[i]) {
			b = i;
			break;
		}
	atomic_fetch_add(&buckets[b], 1);
	atomic_fetch_add(&latency_us_sum, (uint_fast64_t)(seconds * 1e6));
}

struct MHD_Response *srv_metrics_response(srv_state *st, srv_request *req)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
#define OUT(...)                                                                        \
	do {                                                                                \
		int n_ = snprintf(buf + len, cap - len, __VA_ARGS__);                          \
		if (n_ > 0 && (size_t)n_ < cap - len)                                           \
			len += (size_t)n_;                                                     \
	} while (0)
	OUT("# HELP datahabitat_http_requests_total Requêtes HTTP par route et statut.\n");
	OUT("# TYPE datahabitat_http_requests_total counter\n");
	for (int r = 0; r <= MAX_ROUTES && r <= (int)srv_nroutes; r++)
		for (int s = 0; s <= NSTATUS; s++) {
			uint_fast64_t n = atomic_load(&requests[r][s]);
			if (!n)
				continue;
			const char *route = r ? srv_routes[r - 1].pattern : "none";
			const char *method = r ? srv_routes[r - 1].method : "";
			if (s < NSTATUS)
				OUT("datahabitat_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %llu\n",
				    method, route, status_codes[s], (unsigned long long)n);
			else
				OUT("datahabitat_http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
				    method, route, (unsigned long long)n);
		}
	OUT("# HELP datahabitat_http_request_duration_seconds Durée des requêtes.\n");
	OUT("# TYPE datahabitat_http_request_duration_seconds histogram\n");
	unsigned long long cum = 0;
	for (int b = 0; b < NBUCKETS; b++) {
		cum += atomic_load(&buckets[b]);
		OUT("datahabitat_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[b], cum);
	}
	cum += atomic_load(&buckets[NBUCKETS]);
	OUT("datahabitat_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	OUT("datahabitat_http_request_duration_seconds_sum %.6f\n", (double)atomic_load(&latency_us_sum) / 1e6);
	OUT("datahabitat_http_request_duration_seconds_count %llu\n", cum);
	int64_t built = atomic_load(&st->cube_built);
	OUT("# HELP datahabitat_cube_age_seconds Âge du cube courant.\n");
	OUT("# TYPE datahabitat_cube_age_seconds gauge\n");
	OUT("datahabitat_cube_age_seconds %lld\n", built ? (long long)(time(NULL) - built) : -1LL);
	dh_cube *cube = dh_cube_holder_acquire(st->cubes);
	OUT("# TYPE datahabitat_cube_rows gauge\n");
	OUT("datahabitat_cube_rows %zu\n", cube ? dh_cube_row_count(cube) : (size_t)0);
	dh_cube_release(cube);
	OUT("# HELP datahabitat_deliveries_total Livraisons reçues par l'API depuis le démarrage.\n");
	OUT("# TYPE datahabitat_deliveries_total counter\n");
	OUT("datahabitat_deliveries_total{status=\"accepted\"} %llu\n",
	    (unsigned long long)atomic_load(&st->deliveries_accepted));
	OUT("datahabitat_deliveries_total{status=\"refused\"} %llu\n",
	    (unsigned long long)atomic_load(&st->deliveries_refused));
#undef OUT
	struct MHD_Response *r = srv_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
	free(buf);
	return r;
}
