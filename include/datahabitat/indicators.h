/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * indicators.h - the registry of stock indicators (domain.md §4 and §5) as data.
 *
 * Each indicator is described once: id, French label, unit, family, sensitivity class,
 * and its numerator and denominator written as *terms* of a small predicate language over
 * the dwelling dimensions below (a conjunction of "dimension in set" / "dimension in range"
 * / "present" / "absent" predicates, measured by a count or a sum). The registry drives the
 * computation (the cube compiles the terms into counters), the listings and the reference
 * page docs/indicators.md (dh_indicators_markdown()).
 *
 * Dimensions are normalised dwelling fields. Relative dimensions depend on the reference
 * date D of the query (year Y, month index M): AGE = Y - CONSTRUCT, LOCAT_YEARS = Y - LOCAT,
 * BAIL_MONTHS and REMLOC_MONTHS = whole months from the 1st of the BAIL / REMLOCDATE month to
 * the first day of D's month. Normalisation done when the cube is built: DPE classes are
 * absent when DPEDATE is 01/1900 or empty; LOYERPRINC 9999 ("not applicable") is absent;
 * QPV is "1" when the QPV flag is 1 or a QPV code is given, "2" otherwise.
 *
 * Everything here is static, read-only data: safe from any thread.
 */
#ifndef DATAHABITAT_INDICATORS_H
#define DATAHABITAT_INDICATORS_H

#include "datahabitat/base.h"

/* Dimensions a predicate can test. DH_DIM_NONE ends a predicate list. */
typedef enum dh_dim {
	DH_DIM_NONE = 0,
	DH_DIM_MODE,          /* occupancy code "1".."5", "9" */
	DH_DIM_TYPECONST,     /* "C", "I", "E" */
	DH_DIM_NBPIECE,       /* number of rooms (integer) */
	DH_DIM_FINAN,         /* initial financing code, e.g. "13" */
	DH_DIM_DPE_ENERGIE,   /* energy class "A".."G", absent without a real DPE */
	DH_DIM_DPE_SERRE,     /* GHG class "A".."G", absent without a real DPE */
	DH_DIM_QPV,           /* "1" in a QPV, "2" outside */
	DH_DIM_ORIGINE,       /* "1".."4" */
	DH_DIM_SORTIEPATRIM,  /* "1".."5", "9" */
	DH_DIM_LOYERPRINC,    /* main rent (€), absent when 9999 or missing; summable */
	DH_DIM_SURFHAB,       /* habitable surface (m²); summable */
	DH_DIM_CONSTRUCT,     /* construction year */
	DH_DIM_AGE,           /* relative: reference year - CONSTRUCT; summable */
	DH_DIM_LOCAT,         /* year first let */
	DH_DIM_LOCAT_YEARS,   /* relative: reference year - LOCAT */
	DH_DIM_BAIL_MONTHS,   /* relative: months from BAIL to the reference date */
	DH_DIM_REMLOC_MONTHS, /* relative: months from REMLOCDATE to the reference date */
	DH_DIM_LANDLORD,      /* landlord code (SIREN) given to the cube builder */
	DH_DIM_COUNT
} dh_dim;

typedef enum dh_op {
	DH_OP_IN = 1,  /* value in `set` (comma-separated codes, or integers for numeric dims) */
	DH_OP_NOT_IN,  /* value not in `set` (an absent value matches) */
	DH_OP_RANGE,   /* lo <= value <= hi (value present) */
	DH_OP_PRESENT, /* value known */
	DH_OP_ABSENT   /* value unknown (for DPE: no real diagnostic) */
} dh_op;

typedef struct dh_predicate {
	dh_dim dim;      /* DH_DIM_NONE ends a list */
	dh_op op;
	const char *set; /* DH_OP_IN / NOT_IN: "1,2,3"; NULL otherwise */
	int32_t lo, hi;  /* DH_OP_RANGE bounds, inclusive */
} dh_predicate;

#define DH_TERM_MAX_PREDICATES 4

typedef enum dh_measure {
	DH_MEASURE_NONE = 0, /* no term (e.g. the denominator of a count) */
	DH_MEASURE_COUNT,    /* number of dwellings matching */
	DH_MEASURE_SUM       /* sum of `sum_dim` over the dwellings matching */
} dh_measure;

/* One numerator or denominator: measure over the dwellings valid at the reference date
 * (or one year before when year_shift is 1) matching all predicates. */
typedef struct dh_term {
	dh_measure measure;
	dh_dim sum_dim;    /* DH_MEASURE_SUM: LOYERPRINC, SURFHAB or AGE */
	int year_shift;    /* 0: at the reference date; 1: at the reference date minus one year */
	dh_predicate where[DH_TERM_MAX_PREDICATES]; /* conjunction, ended by DH_DIM_NONE */
} dh_term;

typedef enum dh_unit {
	DH_UNIT_LOGEMENTS, /* number of dwellings */
	DH_UNIT_PCT,       /* percentage, full precision */
	DH_UNIT_EUR_M2,    /* € per m² per month */
	DH_UNIT_ANNEES     /* years */
} dh_unit;

typedef enum dh_ind_kind {
	DH_IND_COUNT,     /* value = num */
	DH_IND_PCT,       /* value = num / den * 100, NaN when den = 0 */
	DH_IND_RATIO,     /* value = num / den, NaN when den = 0 */
	DH_IND_EVOLUTION  /* value = (num / den - 1) * 100, NaN when den = 0 */
} dh_ind_kind;

/* Disclosure class (domain.md §7). */
typedef enum dh_sensitivity {
	DH_SENS_PUBLIC,    /* stock structure: public per dwelling in RPLS open data */
	DH_SENS_BUSINESS,  /* landlord business figures: 3 landlords, 85 % dominance */
	DH_SENS_HOUSEHOLD  /* household figures: at least 11 households */
} dh_sensitivity;

typedef struct dh_indicator {
	const char *id;          /* stable identifier, domain.md ids ("tx_vac") */
	const char *family;      /* French family heading ("Vacance et mobilité") */
	const char *label;       /* French label */
	dh_unit unit;
	dh_ind_kind kind;
	dh_sensitivity sensitivity;
	int two_dates;           /* 1 if it needs a second date (a year window or D - 1 year) */
	dh_term num;             /* numerator */
	dh_term den;             /* denominator (measure NONE for counts) */
	const char *note;        /* French remark on the definition, or NULL */
} dh_indicator;

/* Number of indicators in the registry, and access by position (NULL out of range). */
size_t dh_indicator_count(void);
const dh_indicator *dh_indicator_at(size_t i);
/* Position of the indicator with this id, or -1. */
int dh_indicator_find(dh_str id);

/* Most indicator positions one request may name (each at most once, so never more than the
 * registry holds; the bound refuses huge lists before any work). */
#define DH_QUERY_MAX_INDICATORS 128

/*
 * Check a list of n registry positions named by a request: at most DH_QUERY_MAX_INDICATORS,
 * each a valid position, none twice. Returns DH_OK or DH_INVAL (err says which, in French).
 * O(n) time.
 */
int dh_indicator_list_check(const int *positions, size_t n, dh_error *err);

/* Most values in one filter set ("FINAN=10,11"), each at most once, and most bytes of the set. */
#define DH_FILTER_MAX_VALUES 64
#define DH_FILTER_MAX_BYTES 1024

/*
 * Check the value set of a DH_OP_IN / DH_OP_NOT_IN predicate (other operators: DH_OK):
 * present, at most DH_FILTER_MAX_BYTES bytes and DH_FILTER_MAX_VALUES values, no empty
 * value, none twice. Returns DH_OK or DH_INVAL (err says why, in French).
 */
int dh_predicate_set_check(const dh_predicate *p, dh_error *err);

/* Name of a dimension ("MODE", "AGE"...), "?" out of range. */
const char *dh_dim_name(dh_dim dim);
/* Dimension of a name (case-insensitive), DH_DIM_NONE if unknown. */
dh_dim dh_dim_find(dh_str name);

/* French names of a unit and a sensitivity class (static strings). */
const char *dh_unit_label(dh_unit unit);
const char *dh_sensitivity_label(dh_sensitivity s);

/*
 * Write the French text of a term ("MODE ∈ {1, 2} et REMLOC_MONTHS ≥ 4") into buf
 * (always NUL-terminated, truncated to size). Returns the length it needed.
 */
size_t dh_term_describe(const dh_term *term, char *buf, size_t size);

/*
 * The reference page docs/indicators.md, generated from the registry, as a malloc'ed
 * NUL-terminated UTF-8 string in *out (caller frees), its length in *len.
 * Returns DH_OK or DH_NOMEM.
 */
int dh_indicators_markdown(char **out, size_t *len);

#endif
