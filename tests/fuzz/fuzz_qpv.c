/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * fuzz_qpv.c - libFuzzer target for the QPV list loader (src/geo/qpv.c): any bytes given to
 * dh_geo_load_qpv_mem() must load or fail with a result code and an error detail, never
 * crash; a list that loads must only reference communes of the geography.
 * The reference geography is loaded once, from the source tree's data/ref.
 */
#include "datahabitat/geo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dh_geo *geo; /* kept for the whole run: reachable, so not a leak */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!geo) {
		dh_error err;
		if (dh_geo_load(&geo, DH_SOURCE_DIR "/data/ref", &err) != DH_OK) {
			fprintf(stderr, "fuzz_qpv: %s\n", err.message);
			abort();
		}
	}
	dh_error err;
	int rc = dh_geo_load_qpv_mem(geo, data, size, "fuzz.csv", &err);
	if (rc != DH_OK) {
		if (err.code != rc || err.message[0] == '\0')
			abort(); /* every failure carries its detail */
		return 0;
	}
	size_t ncommunes = dh_geo_commune_count(geo);
	for (int32_t i = 0; i < (int32_t)dh_geo_qpv_count(geo); i++) {
		const dh_qpv *q = dh_geo_qpv(geo, i);
		if (!q || q->ncommunes == 0 || strlen(q->code) != 8 || !q->name)
			abort();
		for (uint32_t k = 0; k < q->ncommunes; k++)
			if (q->communes[k] < 0 || (size_t)q->communes[k] >= ncommunes)
				abort();
		if (dh_geo_qpv_find(geo, (dh_str){ q->code, strlen(q->code) }) != i)
			abort();
	}
	return 0;
}
