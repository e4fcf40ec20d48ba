/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gdpr.h - the register of processing activities (GDPR Art. 30) generated from the
 * configuration: controllers (the federation and the landlords registered in the store,
 * as joint controllers), processing activities with purposes and legal bases, data
 * categories (from the RPLS field table), data subjects, recipients (from the sharing
 * agreements), retention periods, security measures and transfers. French text.
 *
 * Thread safety: as the store (one thread at a time per dh_store).
 */
#ifndef DATAHABITAT_GDPR_H
#define DATAHABITAT_GDPR_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"
#include "datahabitat/store.h"

typedef enum dh_gdpr_format {
	DH_GDPR_MARKDOWN = 0, /* a Markdown document for people */
	DH_GDPR_JSON          /* the same content as a JSON object */
} dh_gdpr_format;

/* Retention periods the register declares (and the code enforces where it can). */
#define DH_GDPR_AUDIT_RETENTION_YEARS 5      /* audit chain entries */
#define DH_GDPR_DEMAND_RETENTION_YEARS 1     /* demand data, after the demand is closed */

/*
 * Generate the register. `today` ("YYYY-MM-DD") is the date printed in it (NULL: today
 * UTC), so that outputs can be compared. *out receives a NUL-terminated string owned by
 * the caller (free()). Logs "gdpr-register" by `actor` (the register names organisations
 * and recipients); nothing is returned if the entry cannot be written.
 * Returns DH_OK, DH_INVAL, DH_STORE, DH_NOMEM.
 */
int dh_gdpr_register(dh_store *store, const dh_actor *actor, dh_gdpr_format format, const char *today, char **out,
		     dh_error *err);

#endif
