/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * geo.h - the official geography (COG): communes, former communes, EPCI,
 * départements, régions, and priority neighbourhoods (QPV).
 *
 * Loaded once from the reference files of data/ref/ (see data/ref/README.md),
 * then read-only: a loaded dh_geo may be shared by any number of threads.
 * Codes are text (leading zeros matter: "01001", "2A004").
 * Indexes returned by the lookups are stable for the life of the dh_geo.
 */
#ifndef DATAHABITAT_GEO_H
#define DATAHABITAT_GEO_H

#include "datahabitat/base.h"

typedef struct dh_geo dh_geo;

typedef struct dh_commune {
	char code[6];        /* COG code, 5 chars */
	char departement[4]; /* 2 or 3 chars */
	char region[4];      /* 2 chars, 3 for the overseas collectivities (975, 977...) */
	char epci[10];       /* SIREN of its EPCI à fiscalité propre, "" if none (islands) */
	const char *name;    /* UTF-8, owned by the dh_geo */
	uint32_t population; /* municipal population, 0 if unknown */
	uint32_t npostcodes; /* number of postcodes */
	const char (*postcodes)[6]; /* npostcodes codes of 5 chars, owned by the dh_geo */
} dh_commune;

/*
 * A code that is not (or no longer only) a current commune but maps to one. Kinds:
 * 'D' commune déléguée and 'A' commune associée (of a commune nouvelle: the code is a former
 * commune, worth a warning); 'M' arrondissement municipal of Paris, Lyon or Marseille
 * (75101..75120, 69381..69389, 13201..13216: a valid current subdivision, not a former
 * commune: callers should attach it to its commune without a "former commune" warning);
 * 'F' older code of a merged or renumbered commune that kept no delegated commune
 * (name empty: the source gives none).
 */
typedef struct dh_former_commune {
	char code[6];     /* the code, 5 chars */
	const char *name; /* its name, "" for kind 'F'; owned by the dh_geo */
	int32_t current;  /* index of the current commune it belongs to */
	char kind;        /* 'D', 'A', 'M' or 'F' (see above) */
} dh_former_commune;

typedef struct dh_area {
	char code[10];    /* EPCI SIREN, département or région code */
	const char *name; /* UTF-8 name, owned by the dh_geo */
	char kind[8];     /* EPCI: "CC", "CA", "CU", "METRO", "MET69"; empty otherwise */
	char parent[4];   /* département: its région; empty otherwise */
} dh_area;

typedef struct dh_qpv {
	char code[10];        /* "QN02902M" (2024) or "QP029001" (2015) */
	const char *name;     /* neighbourhood name */
	uint32_t ncommunes;   /* number of communes it spans */
	const int32_t *communes; /* their indexes */
} dh_qpv;

/*
 * Load the reference files from `dir` (NULL: the default, see dh_geo_default_dir()).
 * Returns DH_OK, DH_IO / DH_NOTFOUND (missing file, err names it), DH_PARSE (bad
 * reference file: err has file, line, field), DH_NOMEM. Free with dh_geo_free().
 */
int dh_geo_load(dh_geo **out, const char *dir, dh_error *err);

/*
 * Default directory of the reference files: $DATAHABITAT_REF if set, else the
 * directory compiled in at build time (the source tree's data/ref, or the
 * installed share/datahabitat/ref). Static string, never NULL.
 */
const char *dh_geo_default_dir(void);

void dh_geo_free(dh_geo *geo);

/* Counts and access by index (0 <= i < count); the returned pointers live as long as geo. */
size_t dh_geo_commune_count(const dh_geo *geo);
const dh_commune *dh_geo_commune(const dh_geo *geo, int32_t i);
size_t dh_geo_former_count(const dh_geo *geo);
const dh_former_commune *dh_geo_former(const dh_geo *geo, int32_t i);
size_t dh_geo_epci_count(const dh_geo *geo);
const dh_area *dh_geo_epci(const dh_geo *geo, int32_t i);
size_t dh_geo_departement_count(const dh_geo *geo);
const dh_area *dh_geo_departement(const dh_geo *geo, int32_t i);
size_t dh_geo_region_count(const dh_geo *geo);
const dh_area *dh_geo_region(const dh_geo *geo, int32_t i);
size_t dh_geo_qpv_count(const dh_geo *geo);
const dh_qpv *dh_geo_qpv(const dh_geo *geo, int32_t i);

/* Lookups by code (a view, need not be NUL-terminated). Return an index or -1. O(1). */
int32_t dh_geo_commune_find(const dh_geo *geo, dh_str code);
/* A former commune code: index in the former list, or -1. A code that is both a current
 * commune and a former one (the chef-lieu of a commune nouvelle) is found by commune_find. */
int32_t dh_geo_former_find(const dh_geo *geo, dh_str code);
int32_t dh_geo_epci_find(const dh_geo *geo, dh_str code);
int32_t dh_geo_departement_find(const dh_geo *geo, dh_str code);
int32_t dh_geo_region_find(const dh_geo *geo, dh_str code);
int32_t dh_geo_qpv_find(const dh_geo *geo, dh_str code);

/* 1 if `postcode` is one of the commune's postcodes, 0 otherwise. */
int dh_geo_postcode_matches(const dh_geo *geo, int32_t commune, dh_str postcode);

/*
 * Load a QPV list in the official 2024 layout (`Code quartier;Quartier prioritaire;...`
 * with the commune codes column), adding its neighbourhoods to geo (replacing any loaded
 * before, and only when the whole list loaded: on error geo keeps its previous list). Commune
 * codes are resolved through former communes. Columns are found by name (see data/ref/README.md
 * for the names recognised, including the ANCT `code_qp;lib_qp;...;insee_com` export).
 * Returns DH_OK, DH_NOTFOUND (no such file), DH_IO, DH_PARSE (err: file, line, column, field,
 * expected, found), DH_TOOBIG, DH_NOMEM.
 * Not thread-safe: call before sharing geo.
 */
int dh_geo_load_qpv(dh_geo *geo, const char *path, dh_error *err);

/*
 * Same as dh_geo_load_qpv() on bytes in memory (an upload, a fuzz input); `name` is used
 * in err->file. The bytes are only read during the call.
 */
int dh_geo_load_qpv_mem(dh_geo *geo, const void *data, size_t len, const char *name,
			dh_error *err);

/* ---- The geography in the store (store.h) --------------------------------------------- */

typedef struct dh_store dh_store;

/*
 * Replace the store's reference geography (régions, départements, EPCI, communes, former
 * communes) by geo's, in one transaction (dh_store_areas_replace()).
 * Returns DH_OK, DH_INVAL, DH_STORE, DH_NOMEM.
 */
int dh_geo_save(const dh_geo *geo, dh_store *store, dh_error *err);

/*
 * Replace the store's QPV list by the one loaded in geo (dh_geo_load_qpv()): codes, names
 * and current communes, in one transaction. Returns DH_OK, DH_INVAL, DH_STORE, DH_NOMEM.
 */
int dh_geo_qpv_save(const dh_geo *geo, dh_store *store, dh_error *err);

/*
 * Load the QPV list stored by dh_geo_qpv_save() into geo (replacing geo's list; geo keeps
 * its list when the store has none), so that the cube names QPV and their communes.
 * Returns DH_OK, DH_STORE, DH_PARSE (a stored commune unknown to geo), DH_NOMEM.
 * Not thread-safe: call before sharing geo.
 */
int dh_geo_load_qpv_stored(dh_geo *geo, dh_store *store, dh_error *err);

#endif
