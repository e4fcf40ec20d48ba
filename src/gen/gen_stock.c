/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_stock.c - rows of the synthetic stock: programs (a building or a group of houses)
 * and their dwellings drawn from the plan, the year's events of an evolved vintage
 * (departures, new programs, occupancy, rents, DPE: see gen.h), and the bytes of each
 * landlord's file. The injected faults are in gen_faults.c, dh_gen_stock() which writes a
 * whole directory in gen_write.c; the row, program and dwelling types in gen/internal.h.
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

/* ---- Programs ---- */

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

/* Rent in whole euros, hundredths rounded up. */
static uint64_t euros_up(uint64_t hundredths)
{
	return (hundredths + 99) / 100;
}

/* The fields the stored 46 leave out (written by the rpls and rpls-arrete layouts) and SDES's
 * unchecked columns (rpls). Drawn without the random streams, so that the stored fields stay
 * the same bytes in every layout. */
static void render_extra(const gen_landlord *ll, const program *p, uint64_t g, const dwelling *dw, row *r)
{
	dh_str *f = r->f;
	for (int e = DH_RPLS_NFIELDS; e < DH_RPLS_NALL; e++)
		f[e] = empty_str;
	for (int e = 0; e < GEN_SDES_COUNT; e++)
		r->sdes[e] = empty_str;
	int left = dw->sortie >= 1 && dw->sortie <= 5;
	/* A sale needs its type (annex, 58): to the tenant, to an HLM body, to another person. */
	static const char *const qualacq[4] = { "", "01", "06", "05" };
	if (dw->sortie >= 1 && dw->sortie <= 3)
		f[DH_RPLS_QUALACQ] = (dh_str){ qualacq[dw->sortie], 2 };
	f[DH_RPLS_MISCOMMERCIAL] = digit_str(dw->sortie >= 1 && dw->sortie <= 3 ? 1 : 2);
	/* The surface the rent is computed on (annex, 42-43): each landlord its own habit; 9
	 * (sans objet) for a dwelling that is not let. */
	int modesurf = dw->mode != 1 ? 9 : (int)(ll->index % 3) + 1;
	f[DH_RPLS_MODESURF] = digit_str(modesurf);
	if (modesurf != 9) {
		static const uint64_t percent[4] = { 0, 104, 135, 100 }; /* utile, corrigée, habitable */
		f[DH_RPLS_SURFMODE] = put_uint(r, (dw->surface * percent[modesurf] / 100 + 50) / 100, 1);
	}
	/* Maximum rents (annex, 56-57): the APL agreement's for a conventioned dwelling, the
	 * CUS's for landlords that fill it; both above the rent practised. */
	if (!left) {
		uint64_t margin = 108 + g % 8;
		if (p->conv == 1)
			f[DH_RPLS_LOYERMAXAPL] = put_uint(r, euros_up(dw->rent * margin / 100), 1);
		if (ll->index % 2 == 0)
			f[DH_RPLS_LOYERMAXCUS] = put_uint(r, euros_up(dw->rent * (margin + 4) / 100), 1);
	}
	r->sdes[GEN_SDES_IDENT_ORG] = (dh_str){ ll->pub.siren, 9 };
	if (dw->has_dpe) { /* consumption in the middle of its class (DPE 2021 thresholds) */
		static const unsigned ener[7] = { 50, 90, 145, 215, 290, 375, 480 };
		static const unsigned ges[7] = { 4, 9, 21, 40, 60, 85, 120 };
		r->sdes[GEN_SDES_DPE_CONSO_ENER] = put_uint(r, ener[dw->dpe_energy], 1);
		r->sdes[GEN_SDES_DPE_CONSO_GES] = put_uint(r, ges[dw->dpe_ghg], 1);
	}
}

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
	if (p->conv == 1) { /* the arrêté requires the number of an APL agreement */
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
	render_extra(ll, p, g, dw, r);
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

/* The open-data columns written by the rpls-opendata-dido layout, and the field of each
 * (-1: a column computed apart). */
static const struct {
	const char *name;
	int field;
} dido_columns[] = {
	{ "DEP_CODE", -1 },		    { "DEPCOM_CODE", DH_RPLS_DEPCOM },	    { "DEPCOM_LIBELLE", DH_RPLS_LIBCOM },
	{ "CODEPOSTAL", DH_RPLS_CODEPOSTAL }, { "NUMVOIE", DH_RPLS_NUMVOIE },	    { "TYPVOIE", DH_RPLS_TYPVOIE },
	{ "NOMVOIE", DH_RPLS_NOMVOIE },	    { "QPV_CODE", DH_RPLS_QPV_CODE },	    { "DROIT_CODE", DH_RPLS_DROIT },
	{ "TYPECONST_CODE", DH_RPLS_TYPECONST }, { "NBPIECE", DH_RPLS_NBPIECE },   { "SURFHAB", DH_RPLS_SURFHAB },
	{ "CONSTRUCT", DH_RPLS_CONSTRUCT },   { "LOCAT", DH_RPLS_LOCAT },	    { "PATRIMOINE", DH_RPLS_PATRIMOINE },
	{ "ORIGINE_CODE", DH_RPLS_ORIGINE },  { "FINAN_CODE", DH_RPLS_FINAN },	    { "CONV_CODE", DH_RPLS_CONV },
	{ "DPEDATE", DH_RPLS_DPEDATE },	    { "DPEENERGIE", DH_RPLS_DPEENERGIE },   { "DPESERRE", DH_RPLS_DPESERRE },
};

/* SDES's unchecked columns, in enum gen_sdes_column order, after the 63 fields (rpls). */
static const char *const sdes_columns[GEN_SDES_COUNT] = {
	"IDENT_ORG", "PMR", "DATMISEVENTE", "DATVEFFECT", "DATE_DEP_DERLOCAT", "DPE_CONSO_ENER", "DPE_CONSO_GES",
	"DPE_NUM_REF", "IDENT_FISCAL",
};

/* Columns of the rpls layout: every field the validator knows, then SDES's unchecked ones. */
#define FULL_COLUMNS (DH_RPLS_NALL + GEN_SDES_COUNT)

/* Append value v, or SDES's `NA` when it is empty, and a delimiter. */
static char *put_na(char *p, dh_str v)
{
	if (v.len == 0) {
		memcpy(p, "NA;", 3);
		return p + 3;
	}
	copy_field(p, v.ptr, v.len);
	p += v.len;
	*p++ = ';';
	return p;
}

/* Position (1-64) of field f in the arrêté's record, 0 if none. */
static int arrete_position(int f)
{
	static int pos[DH_RPLS_NALL];
	static int done;
	if (!done) { /* same result on every thread: a benign race writes the same values */
		for (int p = 1; p <= DH_RPLS_ARRETE_POSITIONS; p++) {
			int g = dh_rpls_arrete_field(p);
			if (g >= 0)
				pos[g] = p;
		}
		done = 1;
	}
	return f >= 0 && f < DH_RPLS_NALL ? pos[f] : 0;
}

/* Append field i of the row (or nothing for -1) and a delimiter. */
static char *put_field(char *p, const row *r, int f)
{
	if (f >= 0 && f < DH_RPLS_NALL) {
		copy_field(p, r->f[f].ptr, r->f[f].len);
		p += r->f[f].len;
	}
	*p++ = ';';
	return p;
}

/* Append a row (at most ~2 KiB: bounded field lengths) in the file's layout. A record-level
 * fault (nfields one more or one less than DH_RPLS_NFIELDS) gives one field more or less in
 * any layout. dep: the département code of the row (open data). */
static void out_row(out *o, const row *r, int crlf, int layout, const char *dep)
{
	if (o->len + 4096 > OUT_CAP)
		out_flush(o);
	char *p = o->buf + o->len;
	int extra = r->nfields - DH_RPLS_NFIELDS; /* -1, 0 or 1 */
	if (layout == DH_LAYOUT_RPLS_ARRETE) {
		for (int pos = 1; pos <= DH_RPLS_ARRETE_POSITIONS + (extra < 0 ? -1 : 0); pos++)
			p = put_field(p, r, dh_rpls_arrete_field(pos));
	} else if (layout == DH_LAYOUT_RPLS_OPENDATA_DIDO) {
		for (size_t c = 0; c < sizeof(dido_columns) / sizeof(dido_columns[0]); c++) {
			int f = dido_columns[c].field;
			if (f < 0) {
				size_t n = strlen(dep);
				memcpy(p, dep, n);
				p += n;
				*p++ = ';';
			} else if (f == DH_RPLS_QPV_CODE && r->f[f].len == 0) {
				memcpy(p, "HZ;", 3); /* DiDo's "hors zone" */
				p += 3;
			} else {
				p = put_field(p, r, f);
			}
		}
	} else if (layout == DH_LAYOUT_RPLS) {
		for (int c = 0; c < FULL_COLUMNS + (extra < 0 ? -1 : 0); c++)
			p = put_na(p, c < DH_RPLS_NALL ? r->f[c] : r->sdes[c - DH_RPLS_NALL]);
	} else {
		int n = extra < 0 ? r->nfields : DH_RPLS_NFIELDS;
		for (int i = 0; i < n; i++)
			p = put_field(p, r, i);
	}
	if (extra > 0)
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
		/* kinds cycle over those the layout can carry */
		uint64_t nkinds = plan->opt.layout == DH_LAYOUT_RPLS || plan->opt.layout == DH_LAYOUT_RPLS_ARRETE
					  ? F_COUNT
					  : F_COUNT_STORED;
		int kind = (int)(gf % nkinds), field = -1;
		for (uint64_t t = 0; t < nkinds && field == -1; t++) {
			kind = (int)((gf + t) % nkinds);
			field = dh__gen_inject(fc, kind, r);
		}
		if (field != -1 && sink->fault) {
			uint32_t column = field < 0				       ? 0
					  : plan->opt.layout == DH_LAYOUT_RPLS_ARRETE ? (uint32_t)arrete_position(field)
										       : (uint32_t)field + 1;
			dh_gen_fault fl = { ll->pub.file_name, em->line + em->rank + 1, column,
					    field >= 0 ? dh_rpls_field(field)->name : "", dh_gen_fault_kind((size_t)kind) };
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
	out_row(em->o, r, em->crlf, plan->opt.layout, plan->depts[plan->communes[p->commune].dept].code);
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
	int layout = plan->opt.layout;
	if (layout == DH_LAYOUT_RPLS_ARRETE) {
		/* The arrêté's header line: year, identifier, raison sociale, enseigne, address (5),
		 * SIRET of the head office (SIREN + NIC 00010), record count, comment. */
		char head[160];
		snprintf(head, sizeof(head), "%04d;%s;", plan->opt.ref_year, ll->pub.siren);
		out_bytes(&o, head, strlen(head));
		out_bytes(&o, ll->name_enc.ptr, ll->name_enc.len);
		snprintf(head, sizeof(head), ";;;;;;;%s00010;%llu;livraison RPLS", ll->pub.siren,
			 (unsigned long long)ll->pub.rows);
		out_bytes(&o, head, strlen(head));
		out_bytes(&o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		line++;
	} else if (layout == DH_LAYOUT_RPLS_OPENDATA_DIDO) {
		for (size_t c = 0; c < sizeof(dido_columns) / sizeof(dido_columns[0]); c++) {
			out_bytes(&o, dido_columns[c].name, strlen(dido_columns[c].name));
			if (c + 1 < sizeof(dido_columns) / sizeof(dido_columns[0]))
				out_bytes(&o, ";", 1);
		}
		out_bytes(&o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		line++;
	}
	if (layout == DH_LAYOUT_RPLS_ARRETE || layout == DH_LAYOUT_RPLS_OPENDATA_DIDO) {
		/* no landlord record, no line of column names */
	} else if (ll->pub.landlord_record) {
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
	if (layout != DH_LAYOUT_RPLS_ARRETE && layout != DH_LAYOUT_RPLS_OPENDATA_DIDO) {
		/* rpls: SDES's full list; otherwise the 46 stored fields */
		int ncols = layout == DH_LAYOUT_RPLS ? FULL_COLUMNS : DH_RPLS_NFIELDS;
		for (int c = 0; c < ncols; c++) {
			const char *name = c < DH_RPLS_NALL ? dh_rpls_field(c)->name : sdes_columns[c - DH_RPLS_NALL];
			out_bytes(&o, name, strlen(name));
			if (c + 1 < ncols)
				out_bytes(&o, ";", 1);
		}
		out_bytes(&o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		line++;
	}

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
