/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * region_store.h - a generated région loaded into a temporary store for the tests that need
 * real figures behind the access rules (test_access.c, test_hygiene.c): the stock of
 * `landlords` landlords over `rows` dwellings at 2025-01-01, each landlord registered and
 * its delivery imported. Header-only; uses only the public API.
 */
#ifndef DH_REGION_STORE_H
#define DH_REGION_STORE_H

#include "datahabitat/gen.h"
#include "datahabitat/import.h"
#include "datahabitat/store.h"

#include <stdio.h>
#include <string.h>

/*
 * Generate into dir/stock (its path written to stock_dir, size bytes), create dir/t.db
 * (*store) and import every landlord's file. The SIRENs of the first nsirens landlords in
 * file order go to sirens. Returns 0, or -1 on any failure.
 */
static inline int dh_test_region_store(const char *dir, const dh_geo *geo, const char *region,
				       uint64_t rows, int landlords, uint64_t seed, dh_store **store,
				       char (*sirens)[10], int nsirens, char *stock_dir, size_t size)
{
	dh_error err;
	char loc[4200];
	snprintf(stock_dir, size, "%s/stock", dir);
	snprintf(loc, sizeof(loc), "%s/t.db", dir);
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.region = region;
	opt.rows = rows;
	opt.landlords = landlords;
	opt.seed = seed;
	opt.ref_year = 2025, opt.ref_month = 1, opt.ref_day = 1;
	opt.out_dir = stock_dir;
	if (dh_gen_stock(&opt, geo, NULL, &err) != DH_OK)
		return -1;
	if (dh_store_open(store, loc, DH_STORE_CREATE, &err) != DH_OK)
		return -1;
	char path[4400];
	snprintf(path, sizeof(path), "%s/landlords.csv", stock_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *siren = strtok(line, ";"), *name = strtok(NULL, ";"), *kind = strtok(NULL, ";\r\n");
		if (!siren || !name || !kind || strcmp(siren, "SIREN") == 0)
			continue;
		dh_org org;
		memset(&org, 0, sizeof(org));
		snprintf(org.siren, sizeof(org.siren), "%s", siren);
		snprintf(org.name, sizeof(org.name), "%s", name);
		org.kind = (dh_org_kind)dh_org_kind_parse(kind);
		snprintf(path, sizeof(path), "%s/rpls-%s.csv", stock_dir, siren);
		dh_import_options io;
		dh_import_options_init(&io);
		io.siren = org.siren;
		io.reference_date = "2025-01-01";
		io.max_reject_share = 0.5;
		dh_import_result res;
		if (dh_store_org_add(*store, &org, &err) != DH_OK ||
		    dh_import_file(*store, geo, path, &io, &res, &err) != DH_OK) {
			fclose(f);
			return -1;
		}
		dh_import_result_release(&res);
		if (n < nsirens)
			snprintf(sirens[n], sizeof(sirens[n]), "%s", siren);
		n++;
	}
	fclose(f);
	return n == landlords ? 0 : -1;
}

#endif
