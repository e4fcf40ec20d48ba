/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * geo_internal.h - private to geo.c and qpv.c: the layout of struct dh_geo, its string arena,
 * the open-addressing code indexes and the input-error helper they share.
 */
#ifndef DH_GEO_INTERNAL_H
#define DH_GEO_INTERNAL_H

#include "datahabitat/geo.h"

/* Bump allocator in linked blocks: everything it hands out lives until dh__geo_arena_release(). */
typedef struct geo_arena_block geo_arena_block;
typedef struct geo_arena {
	geo_arena_block *head; /* newest block, NULL when empty */
} geo_arena;

/* n bytes aligned on `align` (a power of two), or NULL when out of memory. */
void *dh__geo_arena_alloc(geo_arena *arena, size_t n, size_t align);
/* A NUL-terminated copy of a view, or NULL when out of memory. */
char *dh__geo_arena_strdup(geo_arena *arena, dh_str s);
void dh__geo_arena_release(geo_arena *arena);

/*
 * Open-addressing hash index (linear probing) over an array of records whose first member is
 * the NUL-terminated code (dh_commune, dh_former_commune, dh_area, dh_qpv all start with it).
 * The index stores record numbers; the array itself is passed to each call because it may
 * move while it grows.
 */
typedef struct geo_slot {
	int32_t record; /* record number, -1 for an empty slot */
	uint32_t hash;  /* hash of its code, compared before the bytes */
} geo_slot;

typedef struct geo_index {
	geo_slot *slots;
	uint32_t mask;   /* number of slots - 1 (a power of two), 0 when unallocated */
	uint32_t count;  /* records indexed */
} geo_index;

/* Record number of `code` or -1. */
int32_t dh__geo_index_find(const geo_index *idx, const void *base, size_t stride, dh_str code);
/* Make room for `records` records without rehashing. DH_OK or DH_NOMEM. */
int dh__geo_index_reserve(geo_index *idx, size_t records);
/* Index record `i`. DH_OK, DH_EXISTS (its code is already there), DH_NOMEM. */
int dh__geo_index_add(geo_index *idx, const void *base, size_t stride, int32_t i);
void dh__geo_index_release(geo_index *idx);

/* The neighbourhoods of one QPV list, replaced as a whole. */
typedef struct geo_qpv_set {
	dh_qpv *items;   /* n neighbourhoods */
	size_t n, cap;
	geo_index index; /* by code */
	geo_arena arena; /* names and commune lists */
} geo_qpv_set;

void dh__geo_qpv_set_release(geo_qpv_set *set);

struct dh_geo {
	dh_commune *communes;
	size_t ncommunes, cap_communes;
	dh_former_commune *formers;
	size_t nformers, cap_formers;
	dh_area *epcis;
	size_t nepcis, cap_epcis;
	dh_area *departements;
	size_t ndepartements, cap_departements;
	dh_area *regions;
	size_t nregions, cap_regions;
	geo_index commune_index, former_index, epci_index, departement_index, region_index;
	geo_arena arena;  /* names and postcode lists of the reference files */
	geo_qpv_set qpv;  /* loaded by dh_geo_load_qpv(), empty before */
};

/*
 * Fill err for a problem in an input file: code, file, line, column, field, expected, found,
 * and a French message "champ « field » : expected attendu, « found » trouvé" (or `detail`
 * instead of the expected/found part when given). Returns code. err may be NULL.
 */
int dh__geo_input_error(dh_error *err, int code, const char *file, uint64_t line, uint32_t column,
		    dh_str field, const char *expected, dh_str found, const char *detail);

/* Commune code shape: 5 chars, digits, "2A"/"2B" for Corsica. */
int dh__geo_is_commune_code(dh_str s);

/* The array with room for `need` elements of `elem` bytes (possibly moved, *cap updated), or
 * NULL with arr untouched when out of memory. */
void *dh__geo_grow_array(void *arr, size_t *cap, size_t need, size_t elem);


#endif
