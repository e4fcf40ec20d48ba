/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_filter.c - the text form of a query filter (CHAMP=valeurs, CHAMP=a..b, CHAMP=*,
 * CHAMP=-) parsed into a predicate (dh_cube_filter_parse).
 */
#include "cube/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dh_cube_filter_parse(const char *text, dh_predicate *out, dh_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *eq = strchr(text, '=');
	if (!eq || eq == text)
		return dh_error_set(err, DH_INVAL, "filtre « %s » : forme attendue CHAMP=valeurs", text);
	dh_dim d = dh_dim_find((dh_str){ text, (size_t)(eq - text) });
	if (d == DH_DIM_NONE)
		return dh_error_set(err, DH_INVAL, "filtre « %s » : champ inconnu", text);
	const char *v = eq + 1;
	out->dim = d;
	const char *dots = strstr(v, "..");
	if (strcmp(v, "-") == 0) {
		out->op = DH_OP_ABSENT;
	} else if (strcmp(v, "*") == 0) {
		out->op = DH_OP_PRESENT;
	} else if (dots) {
		char *end;
		long lo = strtol(v, &end, 10);
		if (end != dots)
			return dh_error_set(err, DH_INVAL, "filtre « %s » : borne basse invalide", text);
		long hi = strtol(dots + 2, &end, 10);
		if (*end || end == dots + 2 || lo > hi || lo < INT32_MIN || hi > INT32_MAX)
			return dh_error_set(err, DH_INVAL, "filtre « %s » : intervalle invalide", text);
		out->op = DH_OP_RANGE;
		out->lo = (int32_t)lo;
		out->hi = (int32_t)hi;
	} else if (*v) {
		out->op = DH_OP_IN;
		out->set = v;
	} else {
		return dh_error_set(err, DH_INVAL, "filtre « %s » : valeur manquante", text);
	}
	if (!dh__pred_valid(out))
		return dh_error_set(err, DH_INVAL, "filtre « %s » : opération impossible sur ce champ",
				    text);
	return dh_predicate_set_check(out, err);
}

