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
	int numconv;         /* drawn for stable streams; NUMCONV is always filled (arrêté) */
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

/* ---- Rows of the stock, shared by gen_stock.c (drawing, rendering, output) and
 * gen_faults.c (fault injection). ---- */

#include "datahabitat/rpls.h"

#include <string.h>

/* Copy n bytes: fixed-size overlapping moves for short fields (most of them), which the
 * compiler inlines, instead of a library call per field. Reads stay inside [src, src + n). */
static inline void copy_field(char *dst, const char *src, size_t n)
{
	if (n > 16) {
		memcpy(dst, src, n);
	} else if (n >= 8) {
		memcpy(dst, src, 8);
		memcpy(dst + n - 8, src + n - 8, 8);
	} else if (n >= 4) {
		memcpy(dst, src, 4);
		memcpy(dst + n - 4, src + n - 4, 4);
	} else if (n > 0) {
		dst[0] = src[0];
		dst[n / 2] = src[n / 2];
		dst[n - 1] = src[n - 1];
	}
}

/* Columns of SDES's full dwelling file that the validator accepts unchecked, written after
 * the fields by the rpls layout (gen_stock.c names them). */
enum gen_sdes_column {
	GEN_SDES_IDENT_ORG, GEN_SDES_PMR, GEN_SDES_DATMISEVENTE, GEN_SDES_DATVEFFECT, GEN_SDES_DATE_DEP_DERLOCAT,
	GEN_SDES_DPE_CONSO_ENER, GEN_SDES_DPE_CONSO_GES, GEN_SDES_DPE_NUM_REF, GEN_SDES_IDENT_FISCAL, GEN_SDES_COUNT
};

typedef struct row {
	dh_str f[DH_RPLS_NALL];    /* field values, in the output encoding (extra fields: rpls, rpls-arrete) */
	dh_str sdes[GEN_SDES_COUNT]; /* SDES's unchecked columns (rpls layout) */
	int nfields;               /* fields to write (DH_RPLS_NFIELDS, one less or one more) */
	size_t used;               /* bytes of scratch in use */
	char scratch[1024];
} row;

static inline dh_str put_bytes(row *r, const char *s, size_t n)
{
	char *p = r->scratch + r->used;
	copy_field(p, s, n);
	r->used += n;
	return (dh_str){ p, n };
}

static inline dh_str put_cstr(row *r, const char *s)
{
	return put_bytes(r, s, strlen(s));
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v, zero-padded to `width` (two digits per division: the hot path). */
static inline dh_str put_uint(row *r, uint64_t v, int width)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp), *p = end;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		p -= 2;
		p[0] = digit_pairs[d];
		p[1] = digit_pairs[d + 1];
	}
	if (v >= 10) {
		p -= 2;
		p[0] = digit_pairs[v * 2];
		p[1] = digit_pairs[v * 2 + 1];
	} else {
		*--p = (char)('0' + v);
	}
	while (end - p < width)
		*--p = '0';
	return put_bytes(r, p, (size_t)(end - p));
}

/* "mm/aaaa" of a month index (year * 12 + month - 1). */
static inline dh_str put_month(row *r, int m)
{
	char *p = r->scratch + r->used;
	int month = m % 12 + 1, year = m / 12;
	p[0] = (char)('0' + month / 10);
	p[1] = (char)('0' + month % 10);
	p[2] = '/';
	p[3] = (char)('0' + year / 1000);
	p[4] = (char)('0' + year / 100 % 10);
	p[5] = (char)('0' + year / 10 % 10);
	p[6] = (char)('0' + year % 10);
	r->used += 7;
	return (dh_str){ p, 7 };
}

/* "jj/mm/aaaa" when `day` is 1-28, "mm/aaaa" when it is 0. */
static inline dh_str put_date(row *r, int m, int day)
{
	if (!day)
		return put_month(r, m);
	char *start = r->scratch + r->used;
	put_uint(r, (uint64_t)day, 2);
	r->scratch[r->used++] = '/';
	put_month(r, m);
	return (dh_str){ start, 10 };
}

/* A number given in hundredths, written with `decimals` (0-2) and the separator. */
static inline dh_str put_hundredths(row *r, uint64_t v, int decimals, char sep)
{
	if (decimals == 0)
		return put_uint(r, (v + 50) / 100, 1);
	if (decimals == 1)
		v = (v + 5) / 10 * 10;
	char *start = r->scratch + r->used;
	put_uint(r, v / 100, 1);
	r->scratch[r->used++] = sep;
	put_uint(r, decimals == 1 ? v % 100 / 10 : v % 100, decimals);
	return (dh_str){ start, (size_t)(r->scratch + r->used - start) };
}

static const dh_str empty_str = { "", 0 };

/* One-character strings for small codes. */
static inline dh_str digit_str(int d)
{
	static const char digits[] = "0123456789";
	return (dh_str){ digits + d, 1 };
}

static inline dh_str class_str(int c)
{
	static const char classes[] = "ABCDEFG";
	return (dh_str){ classes + c, 1 };
}

typedef struct program {
	uint32_t number;     /* program number inside the landlord */
	uint32_t commune;    /* plan commune */
	int collective;      /* TYPECONST C (else I) */
	uint32_t size;       /* dwellings */
	int construct, locat, patrimoine, origine;
	int finan, conv, cus;
	int datconv;         /* month index, conventioned only */
	uint32_t age_u;      /* rank of its age, 0 (newest) .. 999 (oldest) */
	uint32_t rent_m2;    /* cents per m² per month */
	int qpv;             /* 1 in a QPV, else 2 */
	int droit;
	int numvoie;
	dh_str typvoie, nomvoie, immeu, lieudit;
	int floors;
	int segment;
	int newlogt;
	int32_t arr;         /* plan->arr index of its arrondissement municipal, -1 if none */
	const char *postcode;/* one of its commune's postcodes, NULL if the commune has none */
	uint64_t seed;       /* stream of its dwellings */
} program;

/* A dwelling's values, drawn from its identity, possibly changed by the year's events,
 * then written by render_row(). The fault injection reads it too. */
typedef struct dwelling {
	int nbpiece;
	uint64_t surface;   /* hundredths of m² */
	int day;            /* day written in its dates (1-28), 0: mm/aaaa */
	int mode;           /* MODE */
	int locat_m;        /* month of its first letting (month index) */
	int bail, bail_day; /* BAIL (month index, day), bail -1: empty */
	int rem, rem_day;   /* REMLOCDATE, rem -1: empty */
	int rent_na;        /* LOYERPRINC 9999: January not fully invoiced */
	uint64_t rent;      /* LOYERPRINC, hundredths of € (written unless MODE 9 or rent_na) */
	int loyeracc;       /* LOYERACC in €, -1: empty */
	int has_dpe;        /* a DPE was done */
	int dpe_month, dpe_day, dpe_energy, dpe_ghg; /* DPEDATE and classes (0 = A) */
	int sortie;         /* SORTIEPATRIM */
	int contreslog;     /* CONTRESLOG */
} dwelling;

enum fault_kind {
	F_TYPE, F_CODE_LIST, F_RANGE, F_DATE, F_DATE_FUTURE, F_REQUIRED, F_LENGTH,
	F_LOCAT_BEFORE, F_PATRIMOINE_BEFORE, F_BAIL_MISSING, F_REMLOC_MISSING, F_DPE,
	F_SURFACE, F_COMMUNE_UNKNOWN, F_COMMUNE_FORMER, F_POSTCODE, F_DUP_REP, F_DUP_INT,
	F_TOO_MANY, F_TOO_FEW, F_INVALID_UTF8, F_REMLOC_AFTER_BAIL, F_LOYERPRINC_MISSING, F_EXIT_MODE,
	F_CONV_MISSING, F_BAD_QUOTE, F_NUL_BYTE,
	F_COUNT_STORED, /* the kinds above fit the 46 stored fields; those below read extra fields
			   (rpls with the full SDES list, rpls-arrete) */
	F_OLDLOGT_EXIT = F_COUNT_STORED, F_SURFMODE_MISSING, F_RENT_ABOVE_MAX, F_QUALACQ_MISSING, F_COUNT
};

typedef struct fault_ctx {
	const dh_gen_plan *plan;
	const gen_landlord *ll;
	const program *prog;
	const dwelling *dw;
	dh_rng rng;
	int have_clean;          /* a clean row was written before in this file */
	char last_rep[16];       /* its IDENT_REP */
	size_t last_rep_len;
	char last_int[128];      /* its IDENT_INT */
	size_t last_int_len;
} fault_ctx;

/* gen_faults.c: change the row so that it breaks `kind` and nothing else. Returns the field
 * (enum dh_rpls_field) the fault is reported on, -2 for a record-level fault, -1 when this
 * kind cannot be put in this row. */
int dh__gen_inject(fault_ctx *fc, int kind, row *r);

#endif
