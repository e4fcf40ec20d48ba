/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sdes.h - SDES's published RPLS results by commune (the COMMUNES sheet of the yearly
 * workbook "resultats_rpls_AAAA.xlsx", saved as CSV), read to reconcile our figures with the
 * official ones (`datahabitat compare sdes`).
 *
 * The sheet has several rows of group labels, then one row of technical column names
 * (REG, DEP, DEPCOM_ARM, LIBCOM, nb_ls, parc_non_conv, nb_lgt_tot, nb_loues, ... tx_vac,
 * tx_vac3, tx_mob, loymoy, ener_A ... ener_NR_new), then one row per commune or municipal
 * arrondissement. The reader finds that header row (the first with a DEPCOM_ARM or DEPCOM
 * column), its delimiter, decimal commas, codes that lost their leading zero, and folds
 * arrondissements (Paris, Lyon, Marseille) into their commune: counts are added, rates of a
 * folded commune are undefined. Values "s", "nd", "-", "" (secret or missing) are undefined.
 */
#ifndef DATAHABITAT_SDES_H
#define DATAHABITAT_SDES_H

#include "datahabitat/base.h"
#include "datahabitat/geo.h"

/* How an SDES variable relates to our registry (indicators.h). */
typedef struct dh_sdes_variable {
	const char *name;      /* SDES column, e.g. "nb_loues" */
	const char *indicator; /* our indicator id, e.g. "loues" */
	const char *times;     /* NULL, or an indicator to multiply by (then divided by 100):
	                          nb_ls_en_qpv = part_qpv × nb_ls / 100 */
	int count;             /* 1 for a count (added over arrondissements), 0 for a rate */
} dh_sdes_variable;

/* The variables compared, in display order (static). */
size_t dh_sdes_variable_count(void);
const dh_sdes_variable *dh_sdes_variable_at(size_t i);

/* A results table read from a file. */
typedef struct dh_sdes_table {
	size_t nrows;          /* communes (arrondissements folded) */
	char (*codes)[6];      /* current COG code of each row */
	char **names;          /* LIBCOM when given, else "" */
	size_t nvars;          /* variables of dh_sdes_variable_at() present in the file */
	size_t *var;           /* nvars positions in dh_sdes_variable_at() */
	double *values;        /* nrows * nvars, NaN when undefined */
	uint8_t *decimals;     /* nrows * nvars: decimals written in the file (a value published
	                          rounded to d decimals matches anything within 0.5 × 10^-d) */
	uint64_t rows_read;    /* data rows read */
	uint64_t rows_unknown; /* rows whose commune is not in the geography (skipped) */
} dh_sdes_table;

/*
 * Read the results table at `path`; geo resolves codes (former codes and arrondissements go
 * to their current commune). Returns DH_OK, DH_NOTFOUND, DH_IO, DH_PARSE (no header row with
 * DEPCOM_ARM / DEPCOM within the first 20 rows, or no known variable: err says which),
 * DH_NOMEM. *out is freed with dh_sdes_table_free().
 */
int dh_sdes_read(const char *path, const dh_geo *geo, dh_sdes_table **out, dh_error *err);
void dh_sdes_table_free(dh_sdes_table *t);

/* Row of a commune code in t, or -1. */
long dh_sdes_table_row(const dh_sdes_table *t, const char *code);

#endif
