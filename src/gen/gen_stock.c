/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_stock.c - rows of the synthetic stock: programs (a building or a group of houses)
 * and their dwellings drawn from the plan, the year's events of an evolved vintage
 * (departures, new programs, occupancy, rents, DPE: see gen.h), the injected faults, the
 * bytes of each landlord's file, and dh_gen_stock() which writes a whole directory.
 *
 * A dwelling is drawn into a `dwelling` (values), changed by events, then rendered: the
 * draws of the first vintage never depend on the evolution, so both vintages agree.
 *
 * Rows are assembled as field views in a per-row scratch buffer and copied into a
 * 256 KiB output buffer: no printf per field, no allocation per row.
 */
#include "gen/internal.h"
#include "datahabitat/rpls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Static tables ---- */

static const char *const street_names[] = {
	"DES LILAS", "JEAN JAURÈS", "VICTOR HUGO", "DE LA GARE", "DU PORT", "DES ÉCOLES",
	"PASTEUR", "DE BREST", "DU GÉNÉRAL DE GAULLE", "DES CHÊNES", "DE L'ÉGLISE", "DES PRÉS",
	"JULES FERRY", "DES TILLEULS", "DU MOULIN", "SAINT-MICHEL", "DE LA MAIRIE", "DES MIMOSAS",
	"ANATOLE FRANCE", "DES HORTENSIAS", "DU STADE", "DES ÉRABLES", "DE LA FONTAINE",
	"MARIE CURIE", "DES GENÊTS", "DE LA RÉPUBLIQUE", "DU CHÂTEAU", "DES AJONCS",
};
static const char *const street_types[] = { "RUE", "RUE", "RUE", "AV", "BD", "ALL", "IMP", "PL", "CHE", "RTE", "SQ" };
static const char *const street_types_long[] = {
	"RUE", "RUE", "RUE", "AVENUE", "BOULEVARD", "ALLÉE", "IMPASSE", "PLACE", "CHEMIN", "ROUTE", "SQUARE",
};
static const char *const residence_names[] = {
	"Les Lilas", "Le Ponant", "Les Alizés", "Les Mouettes", "Les Genêts", "Le Clos Fleuri",
	"Les Terrasses", "Bellevue", "Les Érables", "Le Square", "Les Hauts de Ville", "Le Mail",
};
static const char *const segment_names[] = {
	"Patrimoine ancien", "Centre-ville", "Grands ensembles", "Périurbain", "Individuel",
	"Résidences récentes", "Communes rurales", "Littoral", "Zone tendue",
};
static const char *const lieudit_names[] = { "LE BOURG", "LA LANDE", "LE MOULIN", "LES PRÉS", "LA VILLENEUVE", "LE HAUT BOIS" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void dh__gen_tables_static(gen_table tables[GEN_T_COUNT])
{
	tables[GEN_T_STREET] = (gen_table){ street_names, COUNT(street_names), NULL };
	tables[GEN_T_STREET_TYPE] = (gen_table){ street_types, COUNT(street_types), NULL };
	tables[GEN_T_STREET_TYPE_LONG] = (gen_table){ street_types_long, COUNT(street_types_long), NULL };
	tables[GEN_T_RESIDENCE] = (gen_table){ residence_names, COUNT(residence_names), NULL };
	tables[GEN_T_LIEUDIT] = (gen_table){ lieudit_names, COUNT(lieudit_names), NULL };
	tables[GEN_T_SEGMENT] = (gen_table){ segment_names, COUNT(segment_names), NULL };
}

/* ---- Fault kinds ---- */

enum fault_kind {
	F_TYPE, F_CODE_LIST, F_RANGE, F_DATE, F_DATE_FUTURE, F_REQUIRED, F_LENGTH,
	F_LOCAT_BEFORE, F_PATRIMOINE_BEFORE, F_BAIL_MISSING, F_REMLOC_MISSING, F_DPE,
	F_SURFACE, F_COMMUNE_UNKNOWN, F_COMMUNE_FORMER, F_POSTCODE, F_DUP_REP, F_DUP_INT,
	F_TOO_MANY, F_TOO_FEW, F_INVALID_UTF8, F_COUNT
};

static const char *const fault_codes[F_COUNT] = {
	"type", "code-list", "range", "date", "date-future", "required", "length",
	"locat-before-construct", "patrimoine-before-construct", "bail-missing",
	"remlocdate-missing", "dpe-inconsistent", "surface-implausible", "commune-unknown",
	"commune-former", "postcode-mismatch", "duplicate-ident-rep", "duplicate-ident-int",
	"too-many-fields", "too-few-fields", "invalid-utf8",
};

size_t dh_gen_fault_kind_count(void)
{
	return F_COUNT;
}

const char *dh_gen_fault_kind(size_t i)
{
	return i < F_COUNT ? fault_codes[i] : NULL;
}

/* ---- Row assembly ---- */

typedef struct row {
	dh_str f[DH_RPLS_NFIELDS]; /* field values, in the output encoding */
	int nfields;               /* fields to write (DH_RPLS_NFIELDS, one less or one more) */
	size_t used;               /* bytes of scratch in use */
	char scratch[1024];
} row;

static void copy_field(char *dst, const char *src, size_t n);

static dh_str put_bytes(row *r, const char *s, size_t n)
{
	char *p = r->scratch + r->used;
	copy_field(p, s, n);
	r->used += n;
	return (dh_str){ p, n };
}

static dh_str put_cstr(row *r, const char *s)
{
	return put_bytes(r, s, strlen(s));
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v, zero-padded to `width` (two digits per division: the hot path). */
static dh_str put_uint(row *r, uint64_t v, int width)
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
static dh_str put_month(row *r, int m)
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
static dh_str put_date(row *r, int m, int day)
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
static dh_str put_hundredths(row *r, uint64_t v, int decimals, char sep)
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
static dh_str digit_str(int d)
{
	static const char digits[] = "0123456789";
	return (dh_str){ digits + d, 1 };
}

static dh_str class_str(int c)
{
	static const char classes[] = "ABCDEFG";
	return (dh_str){ classes + c, 1 };
}

/* ---- Programs ---- */

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

static uint32_t draw_table(dh_rng *rng, const uint16_t *permille, int n)
{
	uint32_t r = (uint32_t)dh_rng_below(rng, 1000), acc = 0;
	for (int i = 0; i < n - 1; i++) {
		acc += permille[i];
		if (r < acc)
			return (uint32_t)i;
	}
	return (uint32_t)(n - 1);
}

static const struct { int lo, hi; uint16_t permille; } construct_periods[] = {
	{ 1920, 1949, 20 }, { 1950, 1959, 70 }, { 1960, 1969, 170 }, { 1970, 1979, 200 },
	{ 1980, 1989, 130 }, { 1990, 1999, 120 }, { 2000, 2009, 110 }, { 2010, 2024, 180 },
};

static void draw_construct(const gen_when *w, dh_rng *rng, program *p)
{
	uint32_t r = (uint32_t)dh_rng_below(rng, 1000), acc = 0;
	size_t b = 0;
	while (b + 1 < COUNT(construct_periods) && r >= acc + construct_periods[b].permille)
		acc += construct_periods[b++].permille;
	int lo = construct_periods[b].lo, hi = construct_periods[b].hi;
	if (b + 1 == COUNT(construct_periods))
		hi = w->max_year; /* the newest period runs up to the reference date */
	if (hi < lo)
		hi = lo;
	int year = (int)dh_rng_range(rng, lo, hi);
	if (year > w->max_year)
		year = w->max_year - (int)dh_rng_below(rng, 5);
	p->construct = year;
	/* Position in the age distribution, reversed: uniform over programs, small when new. */
	p->age_u = 999 - r;
}

static int draw_finan(dh_rng *rng, int year, int construct)
{
	if (year < 1977) {
		if (construct < 1950)
			return dh_rng_chance(rng, 600000) ? 50 : 99;
		static const uint16_t t[] = { 550, 100, 100, 70, 60, 120 };
		static const int codes[] = { 52, 51, 53, 54, 55, 99 };
		return codes[draw_table(rng, t, 6)];
	}
	if (year < 2000) {
		static const uint16_t t[] = { 550, 100, 50, 50, 50, 30, 20, 150 };
		static const int codes[] = { 12, 11, 10, 14, 16, 15, 17, 49 };
		return codes[draw_table(rng, t, 8)];
	}
	static const uint16_t t[] = { 550, 250, 130, 40, 30 };
	static const int codes[] = { 13, 10, 14, 16, 49 };
	return codes[draw_table(rng, t, 5)];
}

static uint32_t draw_commune(const dh_gen_plan *plan, dh_rng *rng, uint32_t dept)
{
	const gen_dept *d = &plan->depts[dept];
	uint64_t r = dh_rng_below(rng, d->cum[d->count - 1]);
	uint32_t lo = 0, hi = d->count - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (d->cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return d->first + lo;
}

/* Financing, agreement and rent level of a program whose history (CONSTRUCT, PATRIMOINE,
 * ORIGINE) is drawn. */
static void draw_financing(dh_rng *rng, const gen_when *w, program *p)
{
	int fin_year = p->origine == 1 || p->origine == 4 ? p->construct : p->patrimoine;
	p->finan = draw_finan(rng, fin_year, p->construct);
	if (p->finan == 16)
		p->conv = dh_rng_chance(rng, 200000) ? 1 : 2;
	else if (p->finan == 49 || p->finan == 15 || p->finan == 17)
		p->conv = dh_rng_chance(rng, 500000) ? 1 : 2;
	else if (p->finan >= 50)
		p->conv = dh_rng_chance(rng, 850000) ? 1 : 2;
	else
		p->conv = dh_rng_chance(rng, 990000) ? 1 : 2;
	int ref_last = w->ref_month_index - 1;
	if (fin_year >= 1977)
		p->datconv = (fin_year > 1978 ? fin_year - 1 : fin_year) * 12 + (int)dh_rng_below(rng, 12);
	else
		p->datconv = (int)dh_rng_range(rng, 1978, 1995) * 12 + (int)dh_rng_below(rng, 12);
	if (p->datconv > ref_last)
		p->datconv = ref_last;
	p->cus = p->finan == 10 || p->finan == 11 ? 11 : p->finan == 14 ? 14 : p->finan == 16 ? 16 : 13;
	uint32_t base = p->finan >= 50 ? 500
		: p->finan == 10 || p->finan == 11 ? 500
		: p->finan == 13 ? 590
		: p->finan == 14 ? 760
		: p->finan == 16 ? 920
		: 560;
	p->rent_m2 = base * (uint32_t)dh_rng_range(rng, 90, 110) / 100;
}

static void new_program(const dh_gen_plan *plan, const gen_when *w, const gen_landlord *ll,
			uint32_t dept, uint32_t number, uint64_t remaining, program *p)
{
	dh_rng rng = dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_PROGRAM, ll->index, number));
	memset(p, 0, sizeof(*p));
	p->number = number;
	p->seed = dh_rng_next(&rng);
	p->commune = draw_commune(plan, &rng, dept);
	const gen_commune *c = &plan->communes[p->commune];
	const dh_commune *gc = dh_geo_commune(plan->geo, c->geo);
	p->arr = c->narr ? (int32_t)(c->first_arr + dh_rng_below(&rng, c->narr)) : -1;
	p->postcode = gc->npostcodes ? gc->postcodes[dh_rng_below(&rng, gc->npostcodes)] : NULL;
	p->collective = dh_rng_chance(&rng, c->coll_ppm);
	uint64_t size = p->collective ? (uint64_t)dh_rng_range(&rng, 4, 40) : (uint64_t)dh_rng_range(&rng, 1, 12);
	p->size = (uint32_t)(size < remaining ? size : remaining);

	draw_construct(w, &rng, p);
	uint64_t r = dh_rng_below(&rng, 100);
	if (p->construct >= 2000)
		p->origine = r < 30 ? 4 : r < 90 ? 1 : r < 96 ? 2 : 3;
	else
		p->origine = r < 85 ? 1 : r < 95 ? 2 : 3;
	if (p->origine == 1 || p->origine == 4) {
		p->patrimoine = p->construct;
		p->locat = p->construct + (p->construct < w->max_year && dh_rng_chance(&rng, 200000));
	} else {
		int span = w->max_year - p->construct;
		if (span > 40)
			span = 40;
		p->patrimoine = p->construct + (span > 0 ? (int)dh_rng_range(&rng, 1, span) : 0);
		p->locat = p->patrimoine;
	}
	draw_financing(&rng, w, p);
	p->qpv = c->big && dh_rng_chance(&rng, plan->qpv_ppm) ? 1 : 2;
	r = dh_rng_below(&rng, 100);
	p->droit = r < 97 ? 1 : r < 99 ? 3 : 5;
	p->numvoie = (int)dh_rng_range(&rng, 1, 120);
	const gen_table *t = plan->tables;
	p->typvoie = t[ll->long_types ? GEN_T_STREET_TYPE_LONG : GEN_T_STREET_TYPE]
			     .enc[dh_rng_below(&rng, t[GEN_T_STREET_TYPE].count)];
	p->nomvoie = t[GEN_T_STREET].enc[dh_rng_below(&rng, t[GEN_T_STREET].count)];
	p->immeu = p->collective && ll->immeu ? t[GEN_T_RESIDENCE].enc[dh_rng_below(&rng, t[GEN_T_RESIDENCE].count)]
					      : empty_str;
	p->lieudit = !p->collective && c->population < 2000 && dh_rng_chance(&rng, 200000)
			     ? t[GEN_T_LIEUDIT].enc[dh_rng_below(&rng, t[GEN_T_LIEUDIT].count)]
			     : empty_str;
	p->floors = (int)dh_rng_range(&rng, 2, 9);
	p->segment = (int)dh_rng_range(&rng, 1, 9);
	p->newlogt = p->origine == 2 && dh_rng_chance(&rng, 300000);
}

/* ---- Dwellings ---- */

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

static const uint16_t rooms_collective[5] = { 125, 260, 350, 205, 60 };
static const uint16_t rooms_individual[5] = { 20, 94, 308, 393, 185 };
static const uint16_t dpe_classes[7] = { 20, 80, 250, 370, 180, 70, 30 };
static const uint16_t contreslog_table[7] = { 300, 200, 100, 50, 50, 20, 280 };
static const int surface_min[8] = { 0, 20, 38, 55, 68, 80, 95, 105 };
static const int surface_max[8] = { 0, 42, 58, 75, 90, 105, 120, 135 };

/* Rooms, surface, date style and occupancy: the first draws of a dwelling's stream (all
 * that counting the rows of an evolved file needs). */
static void draw_head(const gen_landlord *ll, const program *p, dh_rng *rng, dwelling *dw)
{
	uint32_t ri = draw_table(rng, p->collective ? rooms_collective : rooms_individual, 5);
	int rooms = (int)ri + 1;
	if (rooms == 5) {
		uint64_t x = dh_rng_below(rng, 100);
		rooms = x < 80 ? 5 : x < 97 ? 6 : 7;
	}
	dw->nbpiece = rooms;
	uint64_t surface = (uint64_t)dh_rng_range(rng, surface_min[rooms] * 100, surface_max[rooms] * 100);
	if (!p->collective)
		surface += 800;
	dw->surface = surface;
	/* Some landlords' software writes full dates; the day never matters to the rules. */
	dw->day = ll->day_dates ? 1 + (int)dh_rng_below(rng, 28) : 0;
	/* Occupancy: 1 let, 2 vacant offered, 3 empty, 4 association, 5 other, 9 left the stock. */
	static const uint16_t modes[6] = { 946, 22, 15, 8, 4, 5 };
	static const int mode_codes[6] = { 1, 2, 3, 4, 5, 9 };
	dw->mode = mode_codes[draw_table(rng, modes, 6)];
}

/* Energy class from a rank in the age distribution (0: newest). */
static int dpe_class_of(uint32_t u)
{
	int e = 0;
	for (uint32_t acc = dpe_classes[0]; e < 6 && u >= acc; acc += dpe_classes[++e])
		;
	return e;
}

static int clamp_class(int c)
{
	return c < 0 ? 0 : c > 6 ? 6 : c;
}

/* A DPE of energy class e done in `month`; the GHG class follows it. */
static void set_dpe(dh_rng *rng, dwelling *dw, int month, int e)
{
	uint64_t x = dh_rng_below(rng, 100);
	dw->has_dpe = 1;
	dw->dpe_month = month;
	dw->dpe_day = dw->day ? (dw->day + 5) % 28 + 1 : 0;
	dw->dpe_energy = clamp_class(e);
	dw->dpe_ghg = clamp_class(dw->dpe_energy + (x < 20 ? -1 : x < 75 ? 0 : 1));
}

/* Dwelling k of program p as of the date w. */
/* Months a dwelling offered for rent has been vacant at the reference date: about 55 %
 * for 1 to 3 months, the rest 4 months or more with a long tail (published Bretagne
 * figures: 2.2 % vacancy, 1.0 % over 3 months). */
static int vacancy_months(dh_rng *rng)
{
	if (dh_rng_chance(rng, 550000))
		return (int)dh_rng_range(rng, 1, 3);
	uint64_t a = dh_rng_below(rng, 33), b = dh_rng_below(rng, 33);
	return 4 + (int)(a < b ? a : b);
}

static void draw_dwelling(const gen_when *w, const gen_landlord *ll, const program *p, uint32_t k,
			  dwelling *dw)
{
	dh_rng rng = dh_rng_derive(p->seed, k);
	draw_head(ll, p, &rng, dw);
	int mode = dw->mode, day = dw->day;
	int ref_m = w->ref_month_index, last = ref_m - 1;
	int locat_m = p->locat * 12 + (int)dh_rng_below(&rng, 12);
	if (locat_m > last)
		locat_m = last;
	dw->locat_m = locat_m;
	dw->bail = dw->rem = -1;
	dw->bail_day = dw->rem_day = 0;
	if (mode == 1) {
		int bail;
		if (locat_m > ref_m - 13)
			bail = locat_m + (int)dh_rng_below(&rng, (uint64_t)(ref_m - locat_m));
		else if (dh_rng_chance(&rng, 87000))
			bail = last - (int)dh_rng_below(&rng, 12);
		else {
			uint64_t span = (uint64_t)(ref_m - 13 - locat_m + 1);
			uint64_t a = dh_rng_below(&rng, span), b = dh_rng_below(&rng, span);
			bail = ref_m - 13 - (int)(a < b ? a : b);
		}
		int rem = bail - (dh_rng_below(&rng, 3) == 0);
		if (rem < locat_m)
			rem = bail;
		dw->bail = bail;
		dw->bail_day = day;
		dw->rem = rem;
		dw->rem_day = rem == bail ? day : (day + 11) % 28 + 1;
	} else if (mode == 2) {
		int rem = ref_m - vacancy_months(&rng);
		if (rem < locat_m)
			rem = locat_m;
		dw->rem = rem;
		dw->rem_day = day;
	}

	/* Rent: smaller dwellings cost more per m². */
	int rooms = dw->nbpiece;
	dw->rent_na = mode != 9 && dh_rng_chance(&rng, 10000);
	dw->rent = (uint64_t)p->rent_m2 * (uint64_t)(104 + 4 * (3 - (rooms > 5 ? 5 : rooms))) / 104 *
		   dw->surface / 100;
	dw->loyeracc = p->collective && dh_rng_chance(&rng, 350000) ? (int)dh_rng_range(&rng, 10, 45) : -1;

	/* DPE: 5 % not done; otherwise classes drawn half from the building's age. */
	if (dh_rng_chance(&rng, 50000)) {
		dw->has_dpe = 0;
	} else {
		int lo = (p->construct > 2010 ? p->construct : 2010) * 12;
		int m = lo >= last ? last : lo + (int)dh_rng_below(&rng, (uint64_t)(last - lo + 1));
		uint32_t u = dh_rng_chance(&rng, 500000) ? p->age_u : (uint32_t)dh_rng_below(&rng, 1000);
		set_dpe(&rng, dw, m, dpe_class_of(u));
	}
	if (mode == 9) {
		static const uint16_t exits[5] = { 400, 100, 100, 350, 50 };
		dw->sortie = (int)draw_table(&rng, exits, 5) + 1;
	} else {
		dw->sortie = 9;
	}
	dw->contreslog = (int)draw_table(&rng, contreslog_table, 7) + 1;
}

/* ---- Evolution: the year's events ---- */

/* Events of a whole program during the year. */
typedef struct program_events {
	int demolished;  /* every dwelling leaves the stock (SORTIEPATRIM 4) */
	int renovated;   /* every dwelling gets a new DPE, two classes better */
	int renov_month; /* month of that DPE */
} program_events;

static dh_rng program_year_stream(const dh_gen_plan *plan, const gen_landlord *ll, uint32_t number)
{
	return dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_EVOLVE_PROGRAM,
						     ((uint64_t)ll->index << 32) | number,
						     (uint64_t)plan->evolved.year));
}

static void draw_program_events(const dh_gen_plan *plan, const gen_landlord *ll, const program *p,
				program_events *pe)
{
	dh_rng rng = program_year_stream(plan, ll, p->number);
	/* Demolitions take old collective buildings (urban renewal), 0.2 % of them a year. */
	pe->demolished = p->collective && p->construct < 1980 && dh_rng_chance(&rng, 2000);
	pe->renovated = !pe->demolished && p->construct < 1990 && dh_rng_chance(&rng, 8000);
	pe->renov_month = plan->base.ref_month_index + (int)dh_rng_below(&rng, 12);
}

/* A new lease signed in [from, last]; the dwelling was offered until then. */
/* Start of a vacancy that began during the evolved year [first, last]: drawn from the
 * same duration law as the first vintage, counted back from the new reference month. */
static int vacancy_start(dh_rng *rng, int first, int last)
{
	int rem = last + 1 - vacancy_months(rng);
	return rem < first ? first : rem;
}

static void new_lease(dh_rng *rng, dwelling *dw, int from, int last)
{
	int bail = from >= last ? last : from + (int)dh_rng_below(rng, (uint64_t)(last - from + 1));
	int rem = bail - (dh_rng_below(rng, 3) == 0);
	if (rem < from)
		rem = bail;
	dw->mode = 1;
	dw->bail = bail;
	dw->bail_day = dw->day;
	dw->rem = rem;
	dw->rem_day = rem == bail || !dw->day ? dw->day : (dw->day + 11) % 28 + 1;
}

static dh_rng dwelling_year_stream(const dh_gen_plan *plan, uint64_t g)
{
	return dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_EVOLVE, g, (uint64_t)plan->evolved.year));
}

/* The year of an existing dwelling (global number g, still in the stock at the earlier
 * date): departure, occupancy, rent revision, DPE. */
static void evolve_dwelling(const dh_gen_plan *plan, const program *p, const program_events *pe,
			    uint64_t g, dwelling *dw)
{
	const int ref_a = plan->base.ref_month_index, last_b = plan->evolved.ref_month_index - 1;
	dh_rng rng = dwelling_year_stream(plan, g);
	/* Sales: mostly individual houses, to their tenants. */
	int sold = dh_rng_chance(&rng, p->collective ? 1500 : 8000);
	if (pe->demolished || sold) {
		static const uint16_t coll[4] = { 450, 350, 150, 50 }, indiv[4] = { 750, 100, 100, 50 };
		static const int codes[4] = { 1, 2, 3, 5 };
		dw->mode = 9;
		dw->sortie = pe->demolished ? 4 : codes[draw_table(&rng, p->collective ? coll : indiv, 4)];
		dw->bail = dw->rem = -1;
		return;
	}

	/* Occupancy: tenants leave (8.5 %), most dwellings are let again within the year. */
	int out_m = ref_a + (int)dh_rng_below(&rng, 12);
	uint64_t r = dh_rng_below(&rng, 100);
	switch (dw->mode) {
	case 1:
		if (dh_rng_chance(&rng, 85000)) {
			if (r < 78) {
				new_lease(&rng, dw, out_m, last_b);
			} else if (r < 97) {
				dw->mode = 2;
				dw->bail = -1;
				dw->rem = vacancy_start(&rng, ref_a, last_b);
				dw->rem_day = dw->day;
			} else {
				dw->mode = 3;
				dw->bail = dw->rem = -1;
			}
		}
		break;
	case 2:
		if (r < 80)
			new_lease(&rng, dw, dw->rem > ref_a ? dw->rem : ref_a, last_b);
		break;
	case 3:
		if (r < 40) {
			new_lease(&rng, dw, out_m, last_b);
		} else if (r < 50) {
			dw->mode = 2;
			dw->rem = vacancy_start(&rng, ref_a, last_b);
			dw->rem_day = dw->day;
		}
		break;
	default:
		break;
	}

	/* Yearly revision (IRL-like, +3.5 %). */
	dw->rent = (dw->rent * 1035 + 500) / 1000;
	dw->rent_na = dh_rng_chance(&rng, 10000);

	/* DPE: renovations, renewals (usually better), first diagnostics. */
	if (pe->renovated) {
		set_dpe(&rng, dw, pe->renov_month, (dw->has_dpe ? dw->dpe_energy : 4) - 2);
	} else if (dh_rng_chance(&rng, dw->has_dpe ? 40000 : 150000)) {
		int month = ref_a + (int)dh_rng_below(&rng, 12), e;
		if (dw->has_dpe) {
			uint64_t x = dh_rng_below(&rng, 100);
			e = dw->dpe_energy + (x < 50 ? -1 : x < 70 ? -2 : x < 90 ? 0 : 1);
		} else {
			uint32_t u = dh_rng_chance(&rng, 500000) ? p->age_u : (uint32_t)dh_rng_below(&rng, 1000);
			e = dpe_class_of(u);
		}
		set_dpe(&rng, dw, month, e);
	}
}

/* A program put in service during the year, numbered after the landlord's existing ones. */
static void new_evolved_program(const dh_gen_plan *plan, const gen_landlord *ll, uint32_t dept,
				uint32_t number, uint64_t remaining, program *p)
{
	new_program(plan, &plan->evolved, ll, dept, number, remaining, p);
	dh_rng rng = program_year_stream(plan, ll, number);
	int year = plan->evolved.max_year;
	uint64_t r = dh_rng_below(&rng, 100);
	p->origine = r < 55 ? 1 : r < 88 ? 4 : r < 96 ? 2 : 3;
	if (p->origine == 1 || p->origine == 4) {
		p->construct = year - dh_rng_chance(&rng, 250000);
		p->age_u = (uint32_t)dh_rng_below(&rng, 20);
	}
	p->patrimoine = p->locat = year;
	p->newlogt = p->origine == 2 && dh_rng_chance(&rng, 300000);
	draw_financing(&rng, &plan->evolved, p);
}

/* A dwelling put in service during the year (global number g): let or offered since its
 * first letting, a recent DPE when the building is new. */
static void settle_new_dwelling(const dh_gen_plan *plan, const program *p, uint64_t g, dwelling *dw)
{
	const int last_b = plan->evolved.ref_month_index - 1;
	dh_rng rng = dwelling_year_stream(plan, g);
	int from = dw->locat_m;
	if (dh_rng_chance(&rng, 900000)) {
		new_lease(&rng, dw, from, last_b);
	} else {
		dw->mode = 2;
		dw->bail = -1;
		dw->rem = from + (int)dh_rng_below(&rng, (uint64_t)(last_b - from + 1));
		dw->rem_day = dw->day;
	}
	dw->rent_na = dh_rng_chance(&rng, 10000);
	dw->sortie = 9;
	if (p->origine == 1 || p->origine == 4) {
		int month = from - (int)dh_rng_below(&rng, 3);
		if (month < p->construct * 12)
			month = p->construct * 12;
		uint64_t x = dh_rng_below(&rng, 100);
		set_dpe(&rng, dw, month, x < 30 ? 0 : x < 85 ? 1 : 2);
	}
}

/* ---- Rendering ---- */

/* The fields of dwelling k of program p: j is its rank among the landlord's dwellings
 * (IDENT_INT), g its global number (IDENT_REP). */
static void render_row(const dh_gen_plan *plan, const gen_landlord *ll, const program *p,
		       uint32_t k, uint64_t j, uint64_t g, const dwelling *dw, row *r)
{
	const gen_commune *c = &plan->communes[p->commune];
	char sep = ll->decimal_comma ? ',' : '.';
	r->used = 0;
	r->nfields = DH_RPLS_NFIELDS;
	dh_str *f = r->f;

	f[DH_RPLS_IDENT_REP] = put_uint(r, (g * plan->ident_mult + plan->ident_add) % UINT64_C(10000000000), 10);
	if (ll->ident_style == 0) {
		f[DH_RPLS_IDENT_INT] = put_uint(r, j + 1, 10);
	} else if (ll->ident_style == 1) {
		char *start = r->scratch + r->used;
		r->scratch[r->used++] = 'P';
		put_uint(r, p->number + 1, 5);
		r->scratch[r->used++] = '-';
		put_uint(r, k + 1, 3);
		f[DH_RPLS_IDENT_INT] = (dh_str){ start, (size_t)(r->scratch + r->used - start) };
	} else {
		char *start = r->scratch + r->used;
		const char *dept = plan->depts[c->dept].code;
		put_bytes(r, "LGT", 3);
		put_bytes(r, dept, strlen(dept));
		r->scratch[r->used++] = '-';
		put_uint(r, j + 1, 7);
		f[DH_RPLS_IDENT_INT] = (dh_str){ start, (size_t)(r->scratch + r->used - start) };
	}
	f[DH_RPLS_DROIT] = digit_str(p->droit);
	if (p->arr >= 0) { /* Paris, Lyon, Marseille: files use the arrondissement's code */
		const dh_former_commune *arr = dh_geo_former(plan->geo, plan->arr[p->arr].former);
		f[DH_RPLS_DEPCOM] = (dh_str){ arr->code, strlen(arr->code) };
		f[DH_RPLS_LIBCOM] = plan->arr[p->arr].name;
	} else {
		const dh_commune *gc = dh_geo_commune(plan->geo, c->geo);
		f[DH_RPLS_DEPCOM] = (dh_str){ gc->code, strlen(gc->code) };
		f[DH_RPLS_LIBCOM] = c->name;
	}
	f[DH_RPLS_CODEPOSTAL] = p->postcode ? (dh_str){ p->postcode, 5 } : empty_str;
	f[DH_RPLS_NUMVOIE] = put_uint(r, (uint64_t)(p->collective ? p->numvoie : p->numvoie + 2 * (int)k), 1);
	f[DH_RPLS_INDREP] = empty_str;
	f[DH_RPLS_TYPVOIE] = p->typvoie;
	f[DH_RPLS_NOMVOIE] = p->nomvoie;
	int floor = p->collective ? (int)(k % (uint32_t)p->floors) : 0;
	f[DH_RPLS_NUMAPPT] = p->collective ? put_uint(r, (uint64_t)(floor * 100 + (int)(k / (uint32_t)p->floors) + 1), 1) : empty_str;
	f[DH_RPLS_ETAGE] = p->collective ? put_uint(r, (uint64_t)floor, 1) : empty_str;
	f[DH_RPLS_ESC] = p->collective && p->size > 10 ? digit_str(1 + (int)(k % 3)) : empty_str;
	f[DH_RPLS_BAT] = p->collective && p->size > 20 ? put_bytes(r, &"ABCDEFGH"[k / 20 % 8], 1) : empty_str;
	f[DH_RPLS_IMMEU] = p->immeu;
	f[DH_RPLS_LIEUDIT] = p->lieudit;
	f[DH_RPLS_QPV] = digit_str(p->qpv);
	if (p->qpv == 1 && c->qpv >= 0) {
		const dh_qpv *q = dh_geo_qpv(plan->geo, c->qpv);
		f[DH_RPLS_QPV_CODE] = (dh_str){ q->code, strlen(q->code) };
	} else {
		f[DH_RPLS_QPV_CODE] = empty_str;
	}
	f[DH_RPLS_TYPECONST] = p->collective ? (dh_str){ "C", 1 } : (dh_str){ "I", 1 };

	f[DH_RPLS_NBPIECE] = digit_str(dw->nbpiece);
	f[DH_RPLS_SURFHAB] = put_hundredths(r, dw->surface, ll->surface_decimals, sep);
	f[DH_RPLS_CONSTRUCT] = put_uint(r, (uint64_t)p->construct, 4);
	f[DH_RPLS_LOCAT] = put_uint(r, (uint64_t)p->locat, 4);
	f[DH_RPLS_PATRIMOINE] = put_uint(r, (uint64_t)p->patrimoine, 4);
	f[DH_RPLS_ORIGINE] = digit_str(p->origine);
	f[DH_RPLS_FINAN] = put_uint(r, (uint64_t)p->finan, 2);
	f[DH_RPLS_CONV] = digit_str(p->conv);
	if (p->conv == 1 && ll->numconv) {
		char *start = r->scratch + r->used;
		put_bytes(r, plan->depts[c->dept].code, strlen(plan->depts[c->dept].code));
		r->scratch[r->used++] = '/';
		put_uint(r, (uint64_t)(p->datconv / 12), 4);
		r->scratch[r->used++] = '/';
		put_uint(r, (p->number + 1) % 1000, 3);
		f[DH_RPLS_NUMCONV] = (dh_str){ start, (size_t)(r->scratch + r->used - start) };
	} else {
		f[DH_RPLS_NUMCONV] = empty_str;
	}
	f[DH_RPLS_DATCONV] = p->conv == 1 ? put_date(r, p->datconv, ll->day_dates ? 1 + (int)(p->number % 28) : 0)
					  : empty_str;
	f[DH_RPLS_MODE] = digit_str(dw->mode);
	f[DH_RPLS_BAIL] = dw->bail >= 0 ? put_date(r, dw->bail, dw->bail_day) : empty_str;
	f[DH_RPLS_REMLOCDATE] = dw->rem >= 0 ? put_date(r, dw->rem, dw->rem_day) : empty_str;
	if (dw->mode == 9)
		f[DH_RPLS_LOYERPRINC] = empty_str;
	else if (dw->rent_na)
		f[DH_RPLS_LOYERPRINC] = put_cstr(r, "9999");
	else
		f[DH_RPLS_LOYERPRINC] = put_hundredths(r, dw->rent, ll->rent_cents ? 2 : 0, sep);
	f[DH_RPLS_LOYERACC] = dw->loyeracc >= 0 ? put_uint(r, (uint64_t)dw->loyeracc, 1) : empty_str;
	f[DH_RPLS_CONTRIB] = ll->contrib_none ? (dh_str){ "999", 3 } : empty_str;
	f[DH_RPLS_CUS] = put_uint(r, (uint64_t)p->cus, 2);
	if (dw->has_dpe) {
		f[DH_RPLS_DPEDATE] = put_date(r, dw->dpe_month, dw->dpe_day);
		f[DH_RPLS_DPEENERGIE] = class_str(dw->dpe_energy);
		f[DH_RPLS_DPESERRE] = class_str(dw->dpe_ghg);
	} else {
		f[DH_RPLS_DPEDATE] = put_cstr(r, "01/1900");
		f[DH_RPLS_DPEENERGIE] = empty_str;
		f[DH_RPLS_DPESERRE] = empty_str;
	}
	f[DH_RPLS_SRU_EXPIR] = empty_str;
	f[DH_RPLS_SRU_ALINEA] = empty_str;
	char *seg = r->scratch + r->used;
	seg[0] = 'S';
	seg[1] = (char)('0' + p->segment);
	r->used += 2;
	f[DH_RPLS_CODSEGPATRIM] = (dh_str){ seg, 2 };
	f[DH_RPLS_LIBSEGPATRIM] = ll->segments ? plan->tables[GEN_T_SEGMENT].enc[p->segment - 1] : empty_str;
	f[DH_RPLS_SORTIEPATRIM] = digit_str(dw->sortie);
	f[DH_RPLS_NEWLOGT] = p->newlogt ? digit_str(1) : empty_str;
	f[DH_RPLS_CONTRESLOG] = digit_str(dw->contreslog);
}

/* ---- Faults ---- */

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

/* Pick one of n variants. */
static int pick(fault_ctx *fc, int n)
{
	return (int)dh_rng_below(&fc->rng, (uint64_t)n);
}

/*
 * Change the row so that it breaks `kind` and nothing else (docs/validation.md). Returns
 * the field (enum dh_rpls_field) the fault is reported on, -2 for a record-level fault,
 * -1 when this kind cannot be put in this row.
 */
static int inject(fault_ctx *fc, int kind, row *r)
{
	const dh_gen_plan *plan = fc->plan;
	const program *p = fc->prog;
	const dwelling *dw = fc->dw;
	dh_str *f = r->f;
	int future = plan->opt.ref_year + 3;
	switch (kind) {
	case F_TYPE: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_SURFHAB, "6S" }, { DH_RPLS_NBPIECE, "T" }, { DH_RPLS_CONSTRUCT, "197O" },
			{ DH_RPLS_LOCAT, "2OO5" }, { DH_RPLS_LOYERPRINC, "NC" },
		};
		int i = pick(fc, (int)COUNT(v));
		f[v[i].field] = put_cstr(r, v[i].value);
		return v[i].field;
	}
	case F_CODE_LIST: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_TYPECONST, "X" }, { DH_RPLS_MODE, "7" }, { DH_RPLS_FINAN, "18" },
			{ DH_RPLS_DPEENERGIE, "H" }, { DH_RPLS_CUS, "12" }, { DH_RPLS_CONTRESLOG, "8" },
			{ DH_RPLS_DROIT, "6" }, { DH_RPLS_ORIGINE, "5" }, { DH_RPLS_QPV, "3" },
		};
		int i = pick(fc, (int)COUNT(v));
		f[v[i].field] = put_cstr(r, v[i].value);
		return v[i].field;
	}
	case F_RANGE: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_NBPIECE, "0" }, { DH_RPLS_SURFHAB, "1250" }, { DH_RPLS_CONSTRUCT, "1750" },
			{ DH_RPLS_LOYERPRINC, "-120" }, { DH_RPLS_LOYERACC, "-15" },
		};
		int i = pick(fc, (int)COUNT(v));
		f[v[i].field] = put_cstr(r, v[i].value);
		return v[i].field;
	}
	case F_DATE: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_BAIL, "13/2019" }, { DH_RPLS_DPEDATE, "00/2021" },
			{ DH_RPLS_DATCONV, "06/1895" }, { DH_RPLS_REMLOCDATE, "31/02/2020" },
		};
		int i = pick(fc, (int)COUNT(v));
		f[v[i].field] = put_cstr(r, v[i].value);
		return v[i].field;
	}
	case F_DATE_FUTURE: {
		static const int fields[] = { DH_RPLS_LOCAT, DH_RPLS_PATRIMOINE, DH_RPLS_BAIL,
					      DH_RPLS_DATCONV, DH_RPLS_REMLOCDATE };
		int field = fields[pick(fc, (int)COUNT(fields))];
		if (field == DH_RPLS_LOCAT || field == DH_RPLS_PATRIMOINE)
			f[field] = put_uint(r, (uint64_t)future, 4);
		else
			f[field] = put_month(r, future * 12 + (int)dh_rng_below(&fc->rng, 12));
		return field;
	}
	case F_REQUIRED: {
		static const int fields[] = { DH_RPLS_TYPECONST, DH_RPLS_NBPIECE, DH_RPLS_SURFHAB,
					      DH_RPLS_CONSTRUCT, DH_RPLS_MODE, DH_RPLS_FINAN, DH_RPLS_DEPCOM };
		int field = fields[pick(fc, (int)COUNT(fields))];
		f[field] = empty_str;
		return field;
	}
	case F_LENGTH: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_NUMVOIE, "123456789012" }, { DH_RPLS_BAT, "BATIMENT DES HORTENSIAS NORD" },
			{ DH_RPLS_ETAGE, "REZ-DE-CHAUSSEE" }, { DH_RPLS_NUMAPPT, "APPARTEMENT 12 ESCALIER B" },
			{ DH_RPLS_ESC, "ESCALIER NORD" },
		};
		int i = pick(fc, (int)COUNT(v));
		f[v[i].field] = put_cstr(r, v[i].value);
		return v[i].field;
	}
	case F_LOCAT_BEFORE:
		f[DH_RPLS_LOCAT] = put_uint(r, (uint64_t)(p->construct - 1 - pick(fc, 5)), 4);
		return DH_RPLS_LOCAT;
	case F_PATRIMOINE_BEFORE:
		f[DH_RPLS_PATRIMOINE] = put_uint(r, (uint64_t)(p->construct - 1 - pick(fc, 5)), 4);
		return DH_RPLS_PATRIMOINE;
	case F_BAIL_MISSING:
		f[DH_RPLS_MODE] = digit_str(1);
		f[DH_RPLS_BAIL] = empty_str;
		return DH_RPLS_BAIL;
	case F_REMLOC_MISSING:
		f[DH_RPLS_MODE] = digit_str(2);
		f[DH_RPLS_BAIL] = empty_str;
		f[DH_RPLS_REMLOCDATE] = empty_str;
		return DH_RPLS_REMLOCDATE;
	case F_DPE: {
		int v = dw->has_dpe ? pick(fc, 2) : 2;
		if (v == 0)
			f[DH_RPLS_DPESERRE] = empty_str;
		else if (v == 1)
			f[DH_RPLS_DPEDATE] = put_cstr(r, "01/1900");
		else
			f[DH_RPLS_DPEENERGIE] = class_str(3);
		return DH_RPLS_DPEDATE;
	}
	case F_SURFACE: {
		int n = dw->nbpiece;
		uint64_t s = pick(fc, 2) == 0 ? (uint64_t)(7 * n - 2) : (uint64_t)(60 * n + 40 + 15);
		f[DH_RPLS_SURFHAB] = put_uint(r, s, 1);
		return DH_RPLS_SURFHAB;
	}
	case F_COMMUNE_UNKNOWN: {
		const gen_dept *d = &plan->depts[plan->communes[p->commune].dept];
		if (!d->unknown[0])
			return -1;
		f[DH_RPLS_DEPCOM] = put_cstr(r, d->unknown);
		return DH_RPLS_DEPCOM;
	}
	case F_COMMUNE_FORMER: {
		const gen_dept *d = &plan->depts[plan->communes[p->commune].dept];
		int32_t fi;
		if (d->nformer)
			fi = d->former[dh_rng_below(&fc->rng, d->nformer)];
		else if (plan->nformer_all)
			fi = plan->former_all[dh_rng_below(&fc->rng, plan->nformer_all)];
		else
			return -1;
		const dh_former_commune *former = dh_geo_former(plan->geo, fi);
		const dh_commune *cur = dh_geo_commune(plan->geo, former->current);
		f[DH_RPLS_DEPCOM] = put_cstr(r, former->code);
		f[DH_RPLS_CODEPOSTAL] = cur->npostcodes ? put_bytes(r, cur->postcodes[0], 5) : empty_str;
		f[DH_RPLS_LIBCOM] = empty_str; /* the former name may not fit the output encoding */
		return DH_RPLS_DEPCOM;
	}
	case F_POSTCODE: {
		const gen_commune *c = &plan->communes[p->commune];
		const gen_dept *d = &plan->depts[c->dept];
		/* The postcode of another commune of the same département that this one lacks. */
		uint32_t self = p->commune - d->first;
		for (uint32_t t = 0; t < d->count; t++) {
			const gen_commune *o = &plan->communes[d->first + (self + 1 + t) % d->count];
			if (o->postcode && !dh_geo_postcode_matches(plan->geo, c->geo, (dh_str){ o->postcode, 5 })) {
				f[DH_RPLS_CODEPOSTAL] = put_bytes(r, o->postcode, 5);
				return DH_RPLS_CODEPOSTAL;
			}
		}
		return -1;
	}
	case F_DUP_REP:
		if (!fc->have_clean)
			return -1;
		f[DH_RPLS_IDENT_REP] = put_bytes(r, fc->last_rep, fc->last_rep_len);
		return DH_RPLS_IDENT_REP;
	case F_DUP_INT:
		if (!fc->have_clean)
			return -1;
		f[DH_RPLS_IDENT_INT] = put_bytes(r, fc->last_int, fc->last_int_len);
		return DH_RPLS_IDENT_INT;
	case F_TOO_MANY:
		r->nfields = DH_RPLS_NFIELDS + 1;
		return -2;
	case F_TOO_FEW:
		r->nfields = DH_RPLS_NFIELDS - 1;
		return -2;
	case F_INVALID_UTF8:
		if (!plan->utf8)
			return -1;
		/* A valid accent first, so that encoding detection settles on UTF-8. */
		f[DH_RPLS_NOMVOIE] = put_cstr(r, "ALL\xC3\x89" "E DU CH\xC2TEAU");
		return DH_RPLS_NOMVOIE;
	}
	return -1;
}

/* ---- Output ---- */

#define OUT_CAP (256u * 1024u)

typedef struct out {
	const dh_gen_sink *sink;
	char *buf;
	size_t len;
	int rc;
} out;

static void out_flush(out *o)
{
	if (o->len && o->rc == DH_OK)
		o->rc = o->sink->write(o->sink->ctx, o->buf, o->len);
	o->len = 0;
}

static void out_bytes(out *o, const void *data, size_t n)
{
	if (o->len + n > OUT_CAP)
		out_flush(o);
	memcpy(o->buf + o->len, data, n);
	o->len += n;
}

static void out_eol(out *o, int crlf)
{
	if (crlf)
		o->buf[o->len++] = '\r';
	o->buf[o->len++] = '\n';
}

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

/* Append a row (at most ~2 KiB: bounded field lengths). */
static void out_row(out *o, const row *r, int crlf)
{
	if (o->len + 4096 > OUT_CAP)
		out_flush(o);
	char *p = o->buf + o->len;
	int n = r->nfields < DH_RPLS_NFIELDS ? r->nfields : DH_RPLS_NFIELDS;
	for (int i = 0; i < n; i++) {
		copy_field(p, r->f[i].ptr, r->f[i].len);
		p += r->f[i].len;
		*p++ = ';';
	}
	if (r->nfields > DH_RPLS_NFIELDS)
		*p++ = 'X';
	else
		p--; /* no delimiter after the last field */
	o->len = (size_t)(p - o->buf);
	out_eol(o, crlf);
}

/* Faulty rows: global row g is faulty when floor((g + 1) * rate) > floor(g * rate), and
 * it is then fault number floor((g + 1) * rate) - 1 of the plan (kinds cycle over it). */
static int row_is_faulty(uint64_t ppm, uint64_t g)
{
	return ppm && (g + 1) * ppm / 1000000 > g * ppm / 1000000;
}

/* Writing one file: the row buffer, the output and the fault injection's memory. */
typedef struct emitter {
	out *o;
	row *r;
	int crlf;
	uint64_t line;  /* lines written before the first dwelling */
	uint64_t rank;  /* dwellings written */
	fault_ctx fc;
} emitter;

/* Render a dwelling, inject its fault if it has one, write it. */
static void emit(emitter *em, const program *p, uint32_t k, uint64_t j, uint64_t g, const dwelling *dw)
{
	const dh_gen_plan *plan = em->fc.plan;
	const gen_landlord *ll = em->fc.ll;
	const dh_gen_sink *sink = em->o->sink;
	row *r = em->r;
	fault_ctx *fc = &em->fc;
	uint64_t ppm = plan->fault_ppm;
	render_row(plan, ll, p, k, j, g, dw, r);
	if (row_is_faulty(ppm, g)) {
		uint64_t gf = (g + 1) * ppm / 1000000 - 1;
		fc->rng = dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_FAULT, ll->index, gf));
		fc->prog = p;
		fc->dw = dw;
		int kind = (int)(gf % F_COUNT), field = -1;
		for (int t = 0; t < F_COUNT && field == -1; t++) {
			kind = (int)((gf + (uint64_t)t) % F_COUNT);
			field = inject(fc, kind, r);
		}
		if (field != -1 && sink->fault) {
			dh_gen_fault fl = { ll->pub.file_name, em->line + em->rank + 1,
					    field >= 0 ? (uint32_t)field + 1 : 0,
					    field >= 0 ? dh_rpls_field(field)->name : "", fault_codes[kind] };
			int rc = sink->fault(sink->ctx, &fl);
			if (rc != DH_OK && em->o->rc == DH_OK)
				em->o->rc = rc;
		}
	} else {
		fc->have_clean = 1;
		fc->last_rep_len = r->f[DH_RPLS_IDENT_REP].len;
		memcpy(fc->last_rep, r->f[DH_RPLS_IDENT_REP].ptr, fc->last_rep_len);
		fc->last_int_len = r->f[DH_RPLS_IDENT_INT].len;
		memcpy(fc->last_int, r->f[DH_RPLS_IDENT_INT].ptr, fc->last_int_len);
	}
	out_row(em->o, r, em->crlf);
	em->rank++;
}

int dh__gen_evolve_count(dh_gen_plan *plan)
{
	uint64_t ppm = plan->fault_ppm;
	for (size_t l = 0; l < plan->nlandlords; l++) {
		gen_landlord *ll = &plan->landlords[l];
		uint64_t rows = 0, faults = 0, j = 0;
		uint32_t prog_no = 0;
		for (uint32_t s = 0; s < ll->nseg; s++) {
			uint64_t remaining = ll->seg[s].rows;
			while (remaining > 0) {
				program prog;
				new_program(plan, &plan->base, ll, ll->seg[s].dept, prog_no++, remaining, &prog);
				for (uint32_t k = 0; k < prog.size; k++, j++) {
					dwelling dw;
					dh_rng rng = dh_rng_derive(prog.seed, k);
					draw_head(ll, &prog, &rng, &dw);
					if (dw.mode == 9)
						continue;
					rows++;
					faults += (uint64_t)row_is_faulty(ppm, ll->first_row + j);
				}
				remaining -= prog.size;
			}
		}
		uint64_t end = ll->first_new + ll->new_rows;
		ll->pub.rows = rows + ll->new_rows;
		ll->pub.faults = faults + end * ppm / 1000000 - ll->first_new * ppm / 1000000;
	}
	return 0;
}

int dh_gen_landlord_write(const dh_gen_plan *plan, size_t i, const dh_gen_sink *sink, dh_error *err)
{
	if (!plan || !sink || !sink->write || i >= plan->nlandlords)
		return dh_error_set(err, DH_INVAL, "bailleur hors limites");
	const gen_landlord *ll = &plan->landlords[i];
	out o = { sink, malloc(OUT_CAP), 0, DH_OK };
	row *r = malloc(sizeof(*r));
	if (!o.buf || !r) {
		free(o.buf);
		free(r);
		return dh_error_nomem(err);
	}
	int crlf = ll->pub.crlf;
	if (ll->pub.bom)
		out_bytes(&o, "\xEF\xBB\xBF", 3);
	uint64_t line = 0;
	if (ll->pub.landlord_record) {
		char date[16];
		snprintf(date, sizeof(date), "%02d/%02d/%04d", plan->opt.ref_day, plan->opt.ref_month,
			 plan->opt.ref_year);
		out_bytes(&o, ll->pub.siren, 9);
		out_bytes(&o, ";", 1);
		out_bytes(&o, ll->name_enc.ptr, ll->name_enc.len);
		out_bytes(&o, ";", 1);
		out_bytes(&o, date, strlen(date));
		out_bytes(&o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		line++;
	}
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const char *name = dh_rpls_field(f)->name;
		out_bytes(&o, name, strlen(name));
		if (f + 1 < DH_RPLS_NFIELDS)
			out_bytes(&o, ";", 1);
	}
	out_bytes(&o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
	line++;

	emitter em;
	memset(&em, 0, sizeof(em));
	em.o = &o;
	em.r = r;
	em.crlf = crlf;
	em.line = line;
	em.fc.plan = plan;
	em.fc.ll = ll;
	const gen_when *base = &plan->base;
	uint64_t j = 0;
	uint32_t prog_no = 0;
	for (uint32_t s = 0; s < ll->nseg && o.rc == DH_OK; s++) {
		uint64_t remaining = ll->seg[s].rows;
		while (remaining > 0 && o.rc == DH_OK) {
			program prog;
			program_events pe = { 0, 0, 0 };
			new_program(plan, base, ll, ll->seg[s].dept, prog_no++, remaining, &prog);
			if (plan->evolve)
				draw_program_events(plan, ll, &prog, &pe);
			for (uint32_t k = 0; k < prog.size; k++, j++) {
				dwelling dw;
				uint64_t g = ll->first_row + j;
				draw_dwelling(base, ll, &prog, k, &dw);
				if (plan->evolve) {
					if (dw.mode == 9)
						continue; /* left before the earlier vintage: no longer declared */
					evolve_dwelling(plan, &prog, &pe, g, &dw);
				}
				emit(&em, &prog, k, j, g, &dw);
			}
			remaining -= prog.size;
		}
	}
	if (plan->evolve) {
		/* New programs, by segment in proportion to the existing stock, after it. */
		uint64_t n = 0, before = 0;
		for (uint32_t s = 0; s < ll->nseg && o.rc == DH_OK; s++) {
			uint64_t after = before + ll->seg[s].rows;
			uint64_t quota = ll->new_rows * after / ll->base_rows - ll->new_rows * before / ll->base_rows;
			before = after;
			while (quota > 0 && o.rc == DH_OK) {
				program prog;
				new_evolved_program(plan, ll, ll->seg[s].dept, prog_no++, quota, &prog);
				for (uint32_t k = 0; k < prog.size; k++, n++) {
					dwelling dw;
					uint64_t g = ll->first_new + n;
					draw_dwelling(&plan->evolved, ll, &prog, k, &dw);
					settle_new_dwelling(plan, &prog, g, &dw);
					emit(&em, &prog, k, ll->base_rows + n, g, &dw);
				}
				quota -= prog.size;
			}
		}
	}
	out_flush(&o);
	free(o.buf);
	free(r);
	if (o.rc != DH_OK)
		dh_error_set(err, o.rc, "écriture de « %s » interrompue", ll->pub.file_name);
	return o.rc;
}

/* ---- Whole directory ---- */

typedef struct text_buf {
	char *ptr;
	size_t len, cap;
} text_buf;

static int text_append(text_buf *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->ptr, cap);
		if (!p)
			return -1;
		t->ptr = p;
		t->cap = cap;
	}
	memcpy(t->ptr + t->len, s, n);
	t->len += n;
	return 0;
}

typedef struct file_sink {
	int fd;
	int errnum;         /* errno of a failed write */
	uint64_t bytes;
	text_buf faults;
} file_sink;

static int file_write(void *ctx, const void *data, size_t len)
{
	file_sink *fs = ctx;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fs->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fs->errnum = errno;
			return DH_IO;
		}
		p += n;
		len -= (size_t)n;
		fs->bytes += (uint64_t)n;
	}
	return DH_OK;
}

static int file_fault(void *ctx, const dh_gen_fault *fl)
{
	file_sink *fs = ctx;
	char line[256];
	int n = snprintf(line, sizeof(line), "%s;%llu;%u;%s;%s\n", fl->file, (unsigned long long)fl->row,
			 fl->column, fl->field, fl->code);
	return n > 0 && (size_t)n < sizeof(line) && text_append(&fs->faults, line, (size_t)n) == 0 ? DH_OK
												: DH_NOMEM;
}

typedef struct job {
	const dh_gen_plan *plan;
	const char *dir;
	text_buf *faults;   /* per landlord */
	uint64_t *bytes;    /* per landlord */
	pthread_mutex_t lock;
	size_t next;        /* next landlord to write */
	int rc;             /* first failure */
	int errnum;         /* its errno, 0 if none */
	dh_error err;
} job;

static int path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Write landlord l's file; *errnum gets the errno of a system failure (strerror is
 * called later by the main thread: it is not thread-safe). */
static int write_one(job *jb, size_t l, dh_error *err, int *errnum)
{
	const dh_gen_landlord *ll = dh_gen_plan_landlord(jb->plan, l);
	char path[4096];
	if (path_join(path, sizeof(path), jb->dir, ll->file_name) < 0)
		return dh_error_set(err, DH_INVAL, "chemin trop long : « %s »", jb->dir);
	file_sink fs = { open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0, { NULL, 0, 0 } };
	if (fs.fd < 0) {
		*errnum = errno;
		dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, DH_IO, "création du fichier impossible");
	}
	dh_gen_sink sink = { file_write, file_fault, &fs };
	int rc = dh_gen_landlord_write(jb->plan, l, &sink, err);
	if (close(fs.fd) != 0 && rc == DH_OK) {
		fs.errnum = errno;
		rc = DH_IO;
	}
	if (rc == DH_IO) {
		*errnum = fs.errnum;
		dh_strlcpy(err->file, sizeof(err->file), path);
		dh_error_set(err, DH_IO, "écriture du fichier impossible");
	}
	jb->faults[l] = fs.faults;
	jb->bytes[l] = fs.bytes;
	return rc;
}

static void *worker(void *arg)
{
	job *jb = arg;
	for (;;) {
		pthread_mutex_lock(&jb->lock);
		size_t l = jb->next++;
		int stop = jb->rc != DH_OK || l >= jb->plan->nlandlords;
		pthread_mutex_unlock(&jb->lock);
		if (stop)
			break;
		dh_error e;
		dh_error_clear(&e);
		int errnum = 0;
		int rc = write_one(jb, l, &e, &errnum);
		if (rc != DH_OK) {
			pthread_mutex_lock(&jb->lock);
			if (jb->rc == DH_OK) {
				jb->rc = rc;
				jb->errnum = errnum;
				jb->err = e;
			}
			pthread_mutex_unlock(&jb->lock);
		}
	}
	return NULL;
}

static int write_text_file(const char *dir, const char *name, const text_buf *t, dh_error *err)
{
	char path[4096];
	if (path_join(path, sizeof(path), dir, name) < 0)
		return dh_error_set(err, DH_INVAL, "chemin trop long : « %s »", dir);
	file_sink fs = { open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0, { NULL, 0, 0 } };
	if (fs.fd < 0 || file_write(&fs, t->ptr, t->len) != DH_OK || close(fs.fd) != 0) {
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), path);
		return dh_error_set(err, DH_IO, "écriture du fichier impossible : %s", strerror(errno));
	}
	return DH_OK;
}

int dh_gen_stock(const dh_gen_options *opt, const dh_geo *geo, dh_gen_summary *summary, dh_error *err)
{
	if (summary)
		memset(summary, 0, sizeof(*summary));
	if (!opt || !opt->out_dir || !*opt->out_dir)
		return dh_error_set(err, DH_INVAL, "répertoire de sortie absent");
	if (mkdir(opt->out_dir, 0755) != 0 && errno != EEXIST) {
		if (err)
			dh_strlcpy(err->file, sizeof(err->file), opt->out_dir);
		return dh_error_set(err, DH_IO, "création du répertoire impossible : %s", strerror(errno));
	}
	dh_gen_plan *plan;
	int rc = dh_gen_plan_new(&plan, opt, geo, err);
	if (rc != DH_OK)
		return rc;
	size_t K = plan->nlandlords;
	job jb;
	memset(&jb, 0, sizeof(jb));
	jb.plan = plan;
	jb.dir = opt->out_dir;
	jb.faults = calloc(K, sizeof(*jb.faults));
	jb.bytes = calloc(K, sizeof(*jb.bytes));
	text_buf list = { NULL, 0, 0 };
	if (!jb.faults || !jb.bytes) {
		rc = dh_error_nomem(err);
		goto done;
	}
	pthread_mutex_init(&jb.lock, NULL);
	unsigned nthreads = opt->threads > 1 ? opt->threads : 1;
	if (nthreads > 64)
		nthreads = 64;
	pthread_t tids[64];
	unsigned started = 0;
	for (unsigned t = 1; t < nthreads; t++)
		if (pthread_create(&tids[started], NULL, worker, &jb) == 0)
			started++;
	worker(&jb);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&jb.lock);
	if (jb.rc != DH_OK) {
		rc = jb.rc;
		if (err) {
			*err = jb.err;
			if (jb.errnum) {
				char what[sizeof(err->message)];
				memcpy(what, err->message, sizeof(what));
				dh_error_set(err, rc, "%.400s : %s", what, strerror(jb.errnum));
			}
		}
		goto done;
	}

	/* landlords.csv and faults.csv, in landlord order. */
	static const char landlords_header[] = "SIREN;name;kind\n";
	static const char faults_header[] = "file;row;column;field;code\n";
	if (text_append(&list, landlords_header, sizeof(landlords_header) - 1) < 0)
		goto nomem;
	for (size_t l = 0; l < K; l++) {
		const dh_gen_landlord *ll = dh_gen_plan_landlord(plan, l);
		if (text_append(&list, ll->siren, 9) < 0 || text_append(&list, ";", 1) < 0 ||
		    text_append(&list, ll->name, strlen(ll->name)) < 0 || text_append(&list, ";", 1) < 0 ||
		    text_append(&list, ll->kind, strlen(ll->kind)) < 0 || text_append(&list, "\n", 1) < 0)
			goto nomem;
		if (summary) {
			summary->files++;
			summary->rows += ll->rows;
			summary->faults += ll->faults;
			summary->bytes += jb.bytes[l];
		}
	}
	if ((rc = write_text_file(opt->out_dir, "landlords.csv", &list, err)) != DH_OK)
		goto done;
	list.len = 0;
	if (text_append(&list, faults_header, sizeof(faults_header) - 1) < 0)
		goto nomem;
	for (size_t l = 0; l < K; l++)
		if (jb.faults[l].len && text_append(&list, jb.faults[l].ptr, jb.faults[l].len) < 0)
			goto nomem;
	rc = write_text_file(opt->out_dir, "faults.csv", &list, err);
	goto done;
nomem:
	rc = dh_error_nomem(err);
done:
	if (jb.faults)
		for (size_t l = 0; l < K; l++)
			free(jb.faults[l].ptr);
	free(jb.faults);
	free(jb.bytes);
	free(list.ptr);
	dh_gen_plan_free(plan);
	return rc;
}
