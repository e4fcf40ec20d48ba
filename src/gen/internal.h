/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_internal.h - what the synthetic stock generator's files share: the plan's layout
 * (gen_plan.c builds it, gen_stock.c turns it into rows and files).
 */
#ifndef DH_GEN_INTERNAL_H
#define DH_GEN_INTERNAL_H

#include "datahabitat/gen.h"
#include "datahabitat/rng.h"

/* Keys of the random streams derived from the seed: one family per kind of identity. */
enum gen_stream {
	GEN_STREAM_LANDLORD = 1, /* landlord identity and habits */
	GEN_STREAM_PROGRAM,      /* a program of a landlord */
	GEN_STREAM_FAULT,        /* the injected faults of a landlord */
	GEN_STREAM_GLOBAL,       /* plan-wide draws (ids scrambling) */
	GEN_STREAM_EVOLVE,       /* a dwelling's events of a year: (global row, year) */
	GEN_STREAM_EVOLVE_PROGRAM, /* a program's events of a year, or a new program's history */
	GEN_STREAM_EVOLVE_LANDLORD /* a landlord's yearly volume of new dwellings */
};

/* The reference date a program or a row is drawn for. */
typedef struct gen_when {
	int year;            /* reference year */
	int ref_month_index; /* year * 12 + month - 1 */
	int max_year;        /* latest year a dwelling may carry (construction, first letting) */
} gen_when;

/* Stream key of (family, a, b): distinct tuples give distinct keys. */
static inline uint64_t gen_key(uint64_t family, uint64_t a, uint64_t b)
{
	return dh_rng_mix(dh_rng_mix(family * UINT64_C(0x100000001b3) + a) ^ (b + UINT64_C(0x51ed27)));
}

typedef struct gen_commune {
	int32_t geo;         /* index in the dh_geo */
	uint32_t dept;       /* index in plan->depts */
	uint32_t population; /* municipal population */
	uint32_t coll_ppm;   /* probability (per million) that a program here is collective */
	int big;             /* population >= 20,000: QPV possible */
	int32_t qpv;         /* a QPV of this commune (dh_geo index), -1 if none */
	dh_str name;         /* commune name in the output encoding */
	const char *postcode;/* its first postcode (5 chars, in the dh_geo), NULL if none */
	uint32_t first_arr;  /* its arrondissements municipaux: plan->arr[first_arr .. + narr) */
	uint32_t narr;       /* 0 but for Paris, Lyon, Marseille */
} gen_commune;

/* An arrondissement municipal: files may carry its code instead of the commune's. */
typedef struct gen_arr {
	int32_t former;      /* index in the dh_geo former list (kind 'M') */
	dh_str name;         /* its name in the output encoding */
} gen_arr;

typedef struct gen_dept {
	char code[4];        /* département code */
	char region[3];      /* its région */
	uint32_t first;      /* its communes are plan->communes[first .. first + count) */
	uint32_t count;
	uint64_t *cum;       /* cumulative program weights of its communes (count entries) */
	uint64_t weight;     /* dwelling weight (sum over its communes) */
	uint64_t rows;       /* dwellings generated in it */
	char unknown[6];     /* a commune code that is neither current nor former */
	int32_t *former;     /* former communes (dh_geo former index) of its current communes */
	uint32_t nformer;
} gen_dept;

typedef struct gen_segment {
	uint32_t dept;       /* index in plan->depts */
	uint64_t rows;       /* dwellings of the landlord there */
} gen_segment;

typedef struct gen_landlord {
	dh_gen_landlord pub; /* what the API shows */
	uint32_t index;      /* position in the plan */
	uint32_t number;     /* n° in its name, per kind */
	dh_str name_enc;     /* name in the output encoding */
	uint64_t first_row;  /* global number of its first dwelling (IDENT_REP) */
	uint64_t base_rows;  /* dwellings of the first vintage (= pub.rows without evolution) */
	uint64_t new_rows;   /* evolution: dwellings put in service during the year */
	uint64_t first_new;  /* evolution: global number of its first new dwelling */
	uint64_t first_fault;/* global number of its first fault (kinds cycle over the plan) */
	gen_segment *seg;    /* where its dwellings are, in file order */
	uint32_t nseg;
	uint32_t size;       /* relative size, per mille */
	int decimal_comma;   /* writes SURFHAB with a decimal comma */
	int surface_decimals;/* 0, 1 or 2 decimals for SURFHAB */
	int rent_cents;      /* writes LOYERPRINC with cents */
	int ident_style;     /* IDENT_INT layout, 0 .. 2 */
	int numconv;         /* fills NUMCONV */
	int immeu;           /* fills IMMEU for collective programs */
	int contrib_none;    /* writes 999 (none) in CONTRIB rather than leaving it empty */
	int segments;        /* fills LIBSEGPATRIM */
	int day_dates;       /* writes DATCONV as jj/mm/aaaa */
	int long_types;      /* writes street types in full (AVENUE rather than AV) */
} gen_landlord;

/* A table of constant strings, in UTF-8 and in the output encoding. */
typedef struct gen_table {
	const char *const *utf8; /* static UTF-8 strings */
	size_t count;
	dh_str *enc;             /* the same in the output encoding (owned by the plan) */
} gen_table;

enum gen_table_id {
	GEN_T_STREET, GEN_T_STREET_TYPE, GEN_T_STREET_TYPE_LONG, GEN_T_RESIDENCE, GEN_T_LIEUDIT,
	GEN_T_SEGMENT, GEN_T_COUNT
};

struct dh_gen_plan {
	dh_gen_options opt;
	const dh_geo *geo;
	int utf8;              /* output in UTF-8 (else Windows-1252) */
	uint32_t fault_ppm;    /* fault rate, per million rows */
	gen_when base;         /* date of the first vintage (the only one without evolution) */
	gen_when evolved;      /* evolution: date of the file written (one year after base) */
	int evolve;            /* 1: files are the vintage following `base` */
	uint32_t qpv_ppm;      /* probability that a program in a big commune is in a QPV */
	uint64_t ident_mult;   /* IDENT_REP scrambling: odd, not a multiple of 5 */
	uint64_t ident_add;
	gen_commune *communes;
	size_t ncommunes;
	gen_dept *depts;
	size_t ndepts;
	gen_landlord *landlords;
	size_t nlandlords;
	gen_arr *arr;          /* arrondissements municipaux, grouped by commune */
	size_t narr;
	int32_t *former_all;   /* every usable former commune, for départements without one */
	size_t nformer_all;
	gen_table tables[GEN_T_COUNT];
	struct gen_block *arena; /* strings owned by the plan */
};

/* Copy `len` bytes into the plan's arena (NUL added). NULL when out of memory. */
char *dh__gen_arena_copy(dh_gen_plan *plan, const char *s, size_t len);

/* Convert UTF-8 to the plan's output encoding (copy in the arena when it changes).
 * Returns 0, or -1 when out of memory. */
int dh__gen_encode(dh_gen_plan *plan, const char *utf8, size_t len, dh_str *out);

/* Evolution: count each landlord's rows and faults of the evolved vintage (pub.rows,
 * pub.faults) once new_rows and first_new are set. Returns 0. */
int dh__gen_evolve_count(dh_gen_plan *plan);

/* Static tables of gen_stock.c, filled into plan->tables by the plan. */
void dh__gen_tables_static(gen_table tables[GEN_T_COUNT]);

#endif
