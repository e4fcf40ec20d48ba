/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_plan.c - the plan of a synthetic stock: which communes, how attractive each is,
 * which landlords exist (kind, name, SIREN, habits) and how many dwellings each has in
 * which département. Everything row-level is in gen_stock.c.
 *
 * Weights are integers or plain IEEE double arithmetic (no libm), so the plan is the
 * same on every platform.
 */
#include "gen/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Arena: strings owned by the plan ---- */

struct gen_block {
	struct gen_block *next;
	size_t used, cap;
	char data[];
};

char *dh__gen_arena_copy(dh_gen_plan *plan, const char *s, size_t len)
{
	struct gen_block *b = plan->arena;
	if (!b || b->cap - b->used < len + 1) {
		size_t cap = len + 1 > 16384 ? len + 1 : 16384;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = plan->arena;
		b->used = 0;
		b->cap = cap;
		plan->arena = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* Windows-1252 byte of a code point, 0 when it has none. */
static unsigned char cp1252_byte(uint32_t cp)
{
	static const uint16_t high[32] = { /* 0x80 .. 0x9F */
		0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
		0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
		0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
	};
	if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF))
		return (unsigned char)cp;
	for (unsigned i = 0; i < 32; i++)
		if (high[i] && high[i] == cp)
			return (unsigned char)(0x80 + i);
	return 0;
}

int dh__gen_encode(dh_gen_plan *plan, const char *utf8, size_t len, dh_str *out)
{
	int ascii = 1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)utf8[i] >= 0x80)
			ascii = 0;
	if (plan->utf8 || ascii) {
		out->ptr = utf8;
		out->len = len;
		return 0;
	}
	char buf[512];
	size_t n = 0;
	for (size_t i = 0; i < len && n < sizeof(buf);) {
		unsigned char c = (unsigned char)utf8[i];
		uint32_t cp;
		size_t k;
		if (c < 0x80) {
			cp = c;
			k = 1;
		} else if ((c & 0xE0) == 0xC0) {
			cp = c & 0x1Fu;
			k = 2;
		} else if ((c & 0xF0) == 0xE0) {
			cp = c & 0x0Fu;
			k = 3;
		} else {
			cp = c & 0x07u;
			k = 4;
		}
		for (size_t j = 1; j < k; j++)
			cp = (cp << 6) | (i + j < len ? ((unsigned char)utf8[i + j] & 0x3Fu) : 0);
		i += k;
		unsigned char b = cp1252_byte(cp);
		buf[n++] = b ? (char)b : '?';
	}
	char *copy = dh__gen_arena_copy(plan, buf, n);
	if (!copy)
		return -1;
	out->ptr = copy;
	out->len = n;
	return 0;
}

/* ---- Options ---- */

void dh_gen_options_init(dh_gen_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->rows = 1000;
	opt->landlords = 1;
	opt->seed = 1;
	opt->encoding = DH_ENC_UTF8;
	opt->ref_year = 2025;
	opt->ref_month = 1;
	opt->ref_day = 1;
	opt->threads = 1;
}

static int check_options(const dh_gen_options *opt, dh_error *err)
{
	if (opt->rows < 1 || opt->rows > UINT64_C(10000000000))
		return dh_error_set(err, DH_INVAL, "nombre de lignes hors limites (1 à 10 000 000 000)");
	if (opt->landlords < 1 || opt->landlords > 100000)
		return dh_error_set(err, DH_INVAL, "nombre de bailleurs hors limites (1 à 100 000)");
	if (!(opt->fault_rate >= 0.0 && opt->fault_rate <= 1.0))
		return dh_error_set(err, DH_INVAL, "taux d'anomalies hors limites (0 à 1)");
	if (opt->encoding != DH_ENC_AUTO && opt->encoding != DH_ENC_UTF8 &&
	    opt->encoding != DH_ENC_WINDOWS1252)
		return dh_error_set(err, DH_INVAL, "encodage inconnu");
	if (opt->ref_year < 2000 || opt->ref_year > 2100 || opt->ref_month < 1 || opt->ref_month > 12 ||
	    opt->ref_day < 1 || opt->ref_day > dh_days_in_month(opt->ref_year, opt->ref_month))
		return dh_error_set(err, DH_INVAL, "date de référence invalide (années 2000 à 2100)");
	if (opt->from_year || opt->from_month || opt->from_day) {
		if (opt->from_year != opt->ref_year - 1 || opt->from_month != opt->ref_month ||
		    opt->from_day != opt->ref_day || opt->ref_year - 1 < 2000 ||
		    opt->from_day > dh_days_in_month(opt->from_year, opt->from_month))
			return dh_error_set(err, DH_INVAL,
					    "le millésime précédent doit dater d'un an exactement avant la date de "
					    "référence (même jour, années 2000 à 2100)");
		if (opt->rows > UINT64_C(9000000000))
			return dh_error_set(err, DH_INVAL,
					    "nombre de lignes hors limites pour un millésime suivant (9 000 000 000 au plus)");
	}
	return DH_OK;
}

/* ---- Communes ---- */

/* Dwelling weight of a commune: social housing concentrates in towns, more than people do. */
static uint64_t commune_weight(uint32_t pop)
{
	static const struct { uint32_t below; uint32_t factor; } bands[] = {
		{ 500, 2 }, { 1000, 3 }, { 2000, 5 }, { 3500, 8 }, { 5000, 10 }, { 10000, 13 },
		{ 20000, 17 }, { 50000, 22 }, { 100000, 26 }, { 200000, 26 }, { 1000000, 44 },
		{ UINT32_MAX, 30 }, /* regional capitals weigh most; Paris less than its size */
	};
	size_t i = 0;
	while (pop >= bands[i].below)
		i++;
	return (uint64_t)pop * bands[i].factor;
}

/* Share of collective dwellings before calibration, by commune size. */
static double collective_share(uint32_t pop)
{
	if (pop < 1000)
		return 0.15;
	if (pop < 2000)
		return 0.30;
	if (pop < 5000)
		return 0.50;
	if (pop < 10000)
		return 0.68;
	if (pop < 20000)
		return 0.80;
	if (pop < 50000)
		return 0.88;
	return 0.95;
}

#define GEN_TARGET_COLLECTIVE 0.76
#define GEN_TARGET_QPV 0.20
#define GEN_QPV_MIN_POP 20000u
/* Mean program sizes (gen_stock.c draws collective 4-40, individual 1-12). */
#define GEN_MEAN_COLL 22.0
#define GEN_MEAN_INDIV 6.5

static double scaled_share(double p, double f)
{
	double odds = f * p / (1.0 - p);
	return odds / (1.0 + odds);
}

static int cmp_dept_code(const void *a, const void *b)
{
	return strcmp(((const gen_dept *)a)->code, ((const gen_dept *)b)->code);
}

static int select_communes(dh_gen_plan *plan, dh_error *err)
{
	const dh_geo *geo = plan->geo;
	const char *region = plan->opt.region;
	int all = !region || !*region || strcmp(region, "all") == 0;
	if (!all && dh_geo_region_find(geo, (dh_str){ region, strlen(region) }) < 0)
		return dh_error_set(err, DH_INVAL, "région inconnue : « %s »", region);

	size_t ngeo = dh_geo_commune_count(geo);
	size_t ngeo_dept = dh_geo_departement_count(geo);
	int32_t *dept_map = malloc((ngeo_dept + 1) * sizeof(*dept_map));
	int32_t *commune_dept = malloc((ngeo + 1) * sizeof(*commune_dept));
	plan->depts = calloc(ngeo_dept + 1, sizeof(*plan->depts));
	if (!dept_map || !commune_dept || !plan->depts) {
		free(dept_map);
		free(commune_dept);
		return dh_error_nomem(err);
	}
	for (size_t i = 0; i < ngeo_dept; i++)
		dept_map[i] = -1;

	/* Départements in use, sorted by code. */
	size_t nsel = 0;
	for (size_t i = 0; i < ngeo; i++) {
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		commune_dept[i] = -1;
		if ((!all && strcmp(c->region, region) != 0) || c->population == 0)
			continue;
		int32_t d = dh_geo_departement_find(geo, (dh_str){ c->departement, strlen(c->departement) });
		if (d < 0)
			continue;
		if (dept_map[d] < 0) {
			dept_map[d] = (int32_t)plan->ndepts;
			gen_dept *gd = &plan->depts[plan->ndepts++];
			memcpy(gd->code, c->departement, sizeof(gd->code));
			memcpy(gd->region, c->region, sizeof(gd->region));
			gd->first = (uint32_t)d; /* geo index, until sorted */
		}
		commune_dept[i] = d;
		nsel++;
	}
	if (nsel == 0) {
		free(dept_map);
		free(commune_dept);
		return dh_error_set(err, DH_INVAL, "aucune commune peuplée dans la région « %s »",
				    all ? "all" : region);
	}
	qsort(plan->depts, plan->ndepts, sizeof(*plan->depts), cmp_dept_code);
	for (size_t i = 0; i < plan->ndepts; i++)
		dept_map[plan->depts[i].first] = (int32_t)i;

	/* Communes grouped by département (counting sort, geo order inside). */
	plan->communes = calloc(nsel, sizeof(*plan->communes));
	uint32_t *fill = calloc(plan->ndepts, sizeof(*fill));
	if (!plan->communes || !fill) {
		free(fill);
		free(dept_map);
		free(commune_dept);
		return dh_error_nomem(err);
	}
	for (size_t i = 0; i < plan->ndepts; i++)
		plan->depts[i].count = 0;
	for (size_t i = 0; i < ngeo; i++)
		if (commune_dept[i] >= 0)
			plan->depts[dept_map[commune_dept[i]]].count++;
	uint32_t pos = 0;
	for (size_t i = 0; i < plan->ndepts; i++) {
		plan->depts[i].first = pos;
		pos += plan->depts[i].count;
	}
	int32_t *geo_to_plan = commune_dept; /* reused: geo commune -> plan commune, -1 */
	for (size_t i = 0; i < ngeo; i++) {
		if (commune_dept[i] < 0)
			continue;
		uint32_t d = (uint32_t)dept_map[commune_dept[i]];
		uint32_t at = plan->depts[d].first + fill[d]++;
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		gen_commune *gc = &plan->communes[at];
		gc->geo = (int32_t)i;
		gc->dept = d;
		gc->population = c->population;
		gc->big = c->population >= GEN_QPV_MIN_POP;
		gc->qpv = -1;
		gc->postcode = c->npostcodes ? c->postcodes[0] : NULL;
		if (dh__gen_encode(plan, c->name, strlen(c->name), &gc->name) < 0) {
			free(fill);
			free(dept_map);
			free(commune_dept);
			return dh_error_nomem(err);
		}
		geo_to_plan[i] = (int32_t)at;
	}
	plan->ncommunes = nsel;
	free(fill);
	free(dept_map);

	/* QPV: the first neighbourhood listed for each commune. */
	for (size_t q = 0; q < dh_geo_qpv_count(geo); q++) {
		const dh_qpv *qpv = dh_geo_qpv(geo, (int32_t)q);
		for (uint32_t k = 0; k < qpv->ncommunes; k++) {
			int32_t gi = qpv->communes[k];
			if (gi >= 0 && (size_t)gi < ngeo && geo_to_plan[gi] >= 0 &&
			    plan->communes[geo_to_plan[gi]].qpv < 0)
				plan->communes[geo_to_plan[gi]].qpv = (int32_t)q;
		}
	}

	/* Arrondissements municipaux, grouped by their commune (counting sort). */
	size_t nformer = dh_geo_former_count(geo);
	for (size_t f = 0; f < nformer; f++) {
		const dh_former_commune *fc = dh_geo_former(geo, (int32_t)f);
		if (fc->kind == 'M' && fc->current >= 0 && (size_t)fc->current < ngeo &&
		    geo_to_plan[fc->current] >= 0) {
			plan->communes[geo_to_plan[fc->current]].narr++;
			plan->narr++;
		}
	}
	plan->arr = calloc(plan->narr + 1, sizeof(*plan->arr));
	if (!plan->arr) {
		free(commune_dept);
		return dh_error_nomem(err);
	}
	uint32_t arr_pos = 0;
	for (size_t i = 0; i < plan->ncommunes; i++) {
		plan->communes[i].first_arr = arr_pos;
		arr_pos += plan->communes[i].narr;
		plan->communes[i].narr = 0;
	}
	for (size_t f = 0; f < nformer; f++) {
		const dh_former_commune *fc = dh_geo_former(geo, (int32_t)f);
		if (fc->kind != 'M' || fc->current < 0 || (size_t)fc->current >= ngeo || geo_to_plan[fc->current] < 0)
			continue;
		gen_commune *gc = &plan->communes[geo_to_plan[fc->current]];
		gen_arr *a = &plan->arr[gc->first_arr + gc->narr++];
		a->former = (int32_t)f;
		const char *name = fc->name ? fc->name : "";
		if (dh__gen_encode(plan, name, strlen(name), &a->name) < 0) {
			free(commune_dept);
			return dh_error_nomem(err);
		}
	}

	/* Former communes whose code is not also a current one, by département. */
	plan->former_all = malloc((nformer + 1) * sizeof(*plan->former_all));
	uint32_t *per_dept = calloc(plan->ndepts, sizeof(*per_dept));
	if (!plan->former_all || !per_dept) {
		free(per_dept);
		free(commune_dept);
		return dh_error_nomem(err);
	}
	for (size_t f = 0; f < nformer; f++) {
		const dh_former_commune *fc = dh_geo_former(geo, (int32_t)f);
		/* Delegated or associated communes only: an arrondissement municipal is a valid code. */
		if ((fc->kind != 'D' && fc->kind != 'A') || fc->current < 0 || (size_t)fc->current >= ngeo ||
		    geo_to_plan[fc->current] < 0)
			continue;
		if (dh_geo_commune_find(geo, (dh_str){ fc->code, strlen(fc->code) }) >= 0)
			continue;
		if (dh_geo_former_find(geo, (dh_str){ fc->code, strlen(fc->code) }) != (int32_t)f)
			continue; /* listed twice: keep one */
		plan->former_all[plan->nformer_all++] = (int32_t)f;
		per_dept[plan->communes[geo_to_plan[fc->current]].dept]++;
	}
	for (size_t d = 0; d < plan->ndepts; d++) {
		plan->depts[d].former = malloc((per_dept[d] + 1) * sizeof(int32_t));
		if (!plan->depts[d].former) {
			free(per_dept);
			free(commune_dept);
			return dh_error_nomem(err);
		}
	}
	for (size_t k = 0; k < plan->nformer_all; k++) {
		const dh_former_commune *fc = dh_geo_former(geo, plan->former_all[k]);
		gen_dept *gd = &plan->depts[plan->communes[geo_to_plan[fc->current]].dept];
		gd->former[gd->nformer++] = plan->former_all[k];
	}
	free(per_dept);
	free(commune_dept);

	/* A commune code of each département that the COG does not know. */
	for (size_t d = 0; d < plan->ndepts; d++) {
		gen_dept *gd = &plan->depts[d];
		size_t dl = strlen(gd->code);
		int width = dl >= 3 ? 2 : 3;
		for (int n = width == 3 ? 999 : 99; n >= 0; n--) {
			char code[8];
			memcpy(code, gd->code, dl);
			for (int k = width - 1, v = n; k >= 0; k--, v /= 10)
				code[dl + (size_t)k] = (char)('0' + v % 10);
			code[dl + (size_t)width] = '\0';
			dh_str cs = { code, 5 };
			if (strlen(code) == 5 && dh_geo_commune_find(geo, cs) < 0 &&
			    dh_geo_former_find(geo, cs) < 0) {
				memcpy(gd->unknown, code, 6);
				break;
			}
		}
	}
	return DH_OK;
}

/* Weights: dwellings by commune, collective share calibrated, programs by commune, QPV. */
static int weigh_communes(dh_gen_plan *plan, dh_error *err)
{
	double total = 0, big = 0;
	for (size_t i = 0; i < plan->ncommunes; i++) {
		double w = (double)commune_weight(plan->communes[i].population);
		total += w;
		if (plan->communes[i].big)
			big += w;
	}
	/* Odds factor f such that the dwelling-weighted collective share is the target. */
	double lo = 0.0, hi = 1000.0;
	for (int it = 0; it < 80; it++) {
		double f = (lo + hi) / 2, s = 0;
		for (size_t i = 0; i < plan->ncommunes; i++)
			s += (double)commune_weight(plan->communes[i].population) *
			     scaled_share(collective_share(plan->communes[i].population), f);
		if (s < GEN_TARGET_COLLECTIVE * total)
			lo = f;
		else
			hi = f;
	}
	double f = (lo + hi) / 2;
	for (size_t d = 0; d < plan->ndepts; d++) {
		gen_dept *gd = &plan->depts[d];
		gd->cum = malloc((gd->count + 1) * sizeof(*gd->cum));
		if (!gd->cum)
			return dh_error_nomem(err);
		uint64_t cum = 0;
		for (uint32_t k = 0; k < gd->count; k++) {
			gen_commune *c = &plan->communes[gd->first + k];
			uint64_t w = commune_weight(c->population);
			double p = scaled_share(collective_share(c->population), f);
			/* Program-level probability so that the dwelling share is p. */
			double pc = p / GEN_MEAN_COLL, pi = (1 - p) / GEN_MEAN_INDIV;
			double prog = pc / (pc + pi);
			double mean = prog * GEN_MEAN_COLL + (1 - prog) * GEN_MEAN_INDIV;
			c->coll_ppm = (uint32_t)(prog * 1e6 + 0.5);
			cum += (uint64_t)((double)w * 1024.0 / mean) + 1;
			gd->cum[k] = cum;
			gd->weight += w;
		}
	}
	double q = big > 0 ? GEN_TARGET_QPV * total / big : 0;
	plan->qpv_ppm = (uint32_t)((q > 0.9 ? 0.9 : q) * 1e6 + 0.5);
	return DH_OK;
}

/* ---- Apportionment ---- */

typedef struct share {
	double frac;
	size_t index;
} share;

static int cmp_share(const void *a, const void *b)
{
	const share *x = a, *y = b;
	if (x->frac != y->frac)
		return x->frac > y->frac ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Split `total` in proportion to weights[0..n) (largest remainders). */
static int apportion(uint64_t total, const double *weights, size_t n, uint64_t *out)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += weights[i];
	share *sh = malloc((n + 1) * sizeof(*sh));
	if (!sh)
		return -1;
	uint64_t given = 0;
	for (size_t i = 0; i < n; i++) {
		double q = sum > 0 ? (double)total * (weights[i] / sum) : (double)total / (double)n;
		uint64_t base = (uint64_t)q;
		if (given + base > total)
			base = total - given;
		out[i] = base;
		given += base;
		sh[i].frac = q - (double)base;
		sh[i].index = i;
	}
	qsort(sh, n, sizeof(*sh), cmp_share);
	for (size_t k = 0; given < total; k = (k + 1) % n, given++)
		out[sh[k].index]++;
	free(sh);
	return 0;
}

/* ---- Landlords ---- */

static const char *const kind_names[] = { "OPH", "ESH", "coop", "SEM" };
static const char *const kind_labels[] = {
	"Office public de l'habitat",
	"Entreprise sociale pour l'habitat",
	"Coopérative HLM",
	"Société d'économie mixte",
};
enum { KIND_OPH, KIND_ESH, KIND_COOP, KIND_SEM };

typedef struct presence {
	uint32_t landlord;
	uint32_t dept;
	double weight;
} presence;

static int cmp_dept_weight(const void *a, const void *b, const gen_dept *depts)
{
	const gen_dept *x = &depts[*(const uint32_t *)a], *y = &depts[*(const uint32_t *)b];
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->code, y->code);
}

/* Insertion sort: qsort has no context argument in C11. */
static void sort_by_weight(uint32_t *order, size_t n, const gen_dept *depts)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t v = order[i];
		size_t j = i;
		while (j > 0 && cmp_dept_weight(&v, &order[j - 1], depts) < 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

/* A département drawn by weight, among those of `region` when it is not NULL. */
static uint32_t draw_dept(const dh_gen_plan *plan, dh_rng *rng, const char *region, uint32_t exclude)
{
	uint64_t total = 0;
	for (size_t d = 0; d < plan->ndepts; d++)
		if (d != exclude && (!region || strcmp(plan->depts[d].region, region) == 0))
			total += plan->depts[d].weight;
	if (total == 0)
		return UINT32_MAX;
	uint64_t r = dh_rng_below(rng, total);
	for (size_t d = 0; d < plan->ndepts; d++) {
		if (d == exclude || (region && strcmp(plan->depts[d].region, region) != 0))
			continue;
		if (r < plan->depts[d].weight)
			return (uint32_t)d;
		r -= plan->depts[d].weight;
	}
	return UINT32_MAX;
}

static uint64_t luhn_siren(uint64_t body8)
{
	int sum = 0;
	for (int pos = 2; pos <= 9; pos++, body8 /= 10) {
		int d = (int)(body8 % 10);
		if (pos % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (uint64_t)((10 - sum % 10) % 10);
}

static int make_landlords(dh_gen_plan *plan, dh_error *err)
{
	size_t K = plan->opt.landlords, D = plan->ndepts;
	plan->landlords = calloc(K, sizeof(*plan->landlords));
	uint32_t *order = malloc(D * sizeof(*order));
	presence *pres = malloc((3 * K + D) * sizeof(*pres));
	if (!plan->landlords || !order || !pres) {
		free(order);
		free(pres);
		return dh_error_nomem(err);
	}
	plan->nlandlords = K;
	for (uint32_t d = 0; d < D; d++)
		order[d] = d;
	sort_by_weight(order, D, plan->depts);

	dh_rng grng = dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_GLOBAL, 0, 0));
	uint64_t siren_base = dh_rng_below(&grng, 90000000);
	uint32_t kind_count[4] = { 0, 0, 0, 0 };
	size_t npres = 0;
	for (uint32_t l = 0; l < K; l++) {
		gen_landlord *ll = &plan->landlords[l];
		dh_rng rng = dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_LANDLORD, l, 0));
		int kind;
		uint32_t home;
		if (l < D) {
			kind = KIND_OPH;
			home = order[l];
		} else {
			uint64_t r = dh_rng_below(&rng, 100);
			kind = r < 50 ? KIND_ESH : r < 70 ? KIND_COOP : r < 85 ? KIND_SEM : KIND_OPH;
			home = draw_dept(plan, &rng, NULL, UINT32_MAX);
		}
		ll->index = l;
		ll->number = ++kind_count[kind];
		ll->size = (uint32_t)((kind == KIND_OPH ? 3000 : kind == KIND_ESH ? 2000 : kind == KIND_COOP ? 500 : 700) *
				      (500 + dh_rng_below(&rng, 1000)) / 1000);
		pres[npres++] = (presence){ l, home, 1.0 };
		if ((kind == KIND_ESH && dh_rng_chance(&rng, 600000)) ||
		    (kind == KIND_COOP && dh_rng_chance(&rng, 300000))) {
			uint32_t second = draw_dept(plan, &rng, plan->depts[home].region, home);
			if (second != UINT32_MAX)
				pres[npres++] = (presence){ l, second, 0.35 };
		}
		uint64_t body = 10000000 + (siren_base + (uint64_t)l * 7919) % 90000000;
		uint64_t siren = body * 10 + luhn_siren(body);
		for (int k = 8; k >= 0; k--, siren /= 10)
			ll->pub.siren[k] = (char)('0' + siren % 10);
		ll->pub.siren[9] = '\0';
		memcpy(ll->pub.file_name, "rpls-", 5);
		memcpy(ll->pub.file_name + 5, ll->pub.siren, 9);
		memcpy(ll->pub.file_name + 14, ".csv", 5);
		char name[128];
		snprintf(name, sizeof(name), "%s n°%u", kind_labels[kind], ll->number);
		ll->pub.name = dh__gen_arena_copy(plan, name, strlen(name));
		if (!ll->pub.name || dh__gen_encode(plan, ll->pub.name, strlen(ll->pub.name), &ll->name_enc) < 0) {
			free(order);
			free(pres);
			return dh_error_nomem(err);
		}
		ll->pub.kind = kind_names[kind];
		ll->pub.crlf = dh_rng_chance(&rng, 350000);
		ll->pub.bom = dh_rng_chance(&rng, 300000) && plan->utf8; /* same draws in both encodings */
		ll->pub.landlord_record = dh_rng_chance(&rng, 400000);
		ll->decimal_comma = dh_rng_chance(&rng, 600000);
		uint64_t r = dh_rng_below(&rng, 10);
		ll->surface_decimals = r < 5 ? 0 : r < 8 ? 1 : 2;
		ll->rent_cents = dh_rng_chance(&rng, 300000);
		ll->ident_style = (int)dh_rng_below(&rng, 3);
		ll->numconv = dh_rng_chance(&rng, 800000);
		ll->immeu = dh_rng_chance(&rng, 600000);
		ll->contrib_none = dh_rng_chance(&rng, 400000);
		ll->segments = dh_rng_chance(&rng, 700000);
		ll->day_dates = dh_rng_chance(&rng, 400000);
		ll->long_types = dh_rng_chance(&rng, 500000);
	}
	/* Fewer landlords than départements: the OPHs also cover the rest. */
	for (size_t j = K; j < D; j++)
		pres[npres++] = (presence){ (uint32_t)(j % K), order[j], 1.0 };
	free(order);

	/* Dwellings by département, then by landlord inside each. */
	double *w = calloc(npres + D + 1, sizeof(*w));
	uint64_t *n = malloc((npres + D + 1) * sizeof(*n));
	uint32_t *idx = malloc((npres + 1) * sizeof(*idx));
	uint32_t *nseg = calloc(K, sizeof(*nseg));
	if (!w || !n || !idx || !nseg)
		goto nomem;
	for (size_t d = 0; d < D; d++)
		w[d] = (double)plan->depts[d].weight;
	if (apportion(plan->opt.rows, w, D, n) < 0)
		goto nomem;
	for (size_t d = 0; d < D; d++)
		plan->depts[d].rows = n[d];
	uint64_t *pres_rows = calloc(npres + 1, sizeof(*pres_rows));
	if (!pres_rows)
		goto nomem;
	for (uint32_t d = 0; d < D; d++) {
		size_t m = 0;
		for (size_t p = 0; p < npres; p++)
			if (pres[p].dept == d) {
				idx[m] = (uint32_t)p;
				w[m++] = pres[p].weight * plan->landlords[pres[p].landlord].size;
			}
		if (m == 0)
			continue;
		if (apportion(plan->depts[d].rows, w, m, n) < 0) {
			free(pres_rows);
			goto nomem;
		}
		for (size_t k = 0; k < m; k++)
			pres_rows[idx[k]] = n[k];
	}
	for (size_t p = 0; p < npres; p++)
		nseg[pres[p].landlord]++;
	for (size_t l = 0; l < K; l++) {
		plan->landlords[l].seg = calloc(nseg[l] + 1, sizeof(gen_segment));
		if (!plan->landlords[l].seg) {
			free(pres_rows);
			goto nomem;
		}
	}
	for (size_t p = 0; p < npres; p++) {
		gen_landlord *ll = &plan->landlords[pres[p].landlord];
		if (pres_rows[p] == 0)
			continue;
		ll->seg[ll->nseg++] = (gen_segment){ pres[p].dept, pres_rows[p] };
		ll->pub.rows += pres_rows[p];
	}
	free(pres_rows);
	/* Global row g is faulty when floor((g + 1) * rate) > floor(g * rate): exactly
	 * floor(rows * rate) faults over the plan, evenly spread. */
	uint64_t first_row = 0;
	for (size_t l = 0; l < K; l++) {
		gen_landlord *ll = &plan->landlords[l];
		ll->first_row = first_row;
		ll->base_rows = ll->pub.rows;
		ll->first_fault = first_row * plan->fault_ppm / 1000000;
		first_row += ll->pub.rows;
		ll->pub.faults = first_row * plan->fault_ppm / 1000000 - ll->first_fault;
	}
	free(w);
	free(n);
	free(idx);
	free(nseg);
	free(pres);
	return DH_OK;
nomem:
	free(w);
	free(n);
	free(idx);
	free(nseg);
	free(pres);
	return dh_error_nomem(err);
}

/* ---- Plan ---- */

static gen_when make_when(int year, int month, int day)
{
	gen_when w;
	w.year = year;
	w.ref_month_index = year * 12 + month - 1;
	w.max_year = month == 1 && day == 1 ? year - 1 : year;
	return w;
}

/* Evolution: each landlord puts 1 to 1.5 % of its stock in service during the year; the
 * new dwellings take global numbers after every dwelling of the earlier vintage. */
static void plan_evolution(dh_gen_plan *plan)
{
	uint64_t next = plan->opt.rows;
	for (size_t l = 0; l < plan->nlandlords; l++) {
		gen_landlord *ll = &plan->landlords[l];
		dh_rng rng = dh_rng_derive(plan->opt.seed, gen_key(GEN_STREAM_EVOLVE_LANDLORD, l,
								   (uint64_t)plan->evolved.year));
		uint64_t ppm = 10000 + dh_rng_below(&rng, 5001);
		ll->new_rows = (ll->base_rows * ppm + 500000) / 1000000;
		ll->first_new = next;
		next += ll->new_rows;
	}
	dh__gen_evolve_count(plan);
}

int dh_gen_plan_new(dh_gen_plan **out, const dh_gen_options *opt, const dh_geo *geo, dh_error *err)
{
	*out = NULL;
	if (!opt || !geo)
		return dh_error_set(err, DH_INVAL, "options ou géographie absentes");
	int rc = check_options(opt, err);
	if (rc != DH_OK)
		return rc;
	dh_gen_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return dh_error_nomem(err);
	plan->opt = *opt;
	plan->opt.out_dir = NULL;
	plan->geo = geo;
	plan->utf8 = opt->encoding != DH_ENC_WINDOWS1252;
	plan->fault_ppm = (uint32_t)(opt->fault_rate * 1e6 + 0.5);
	plan->evolve = opt->from_year != 0;
	plan->evolved = make_when(opt->ref_year, opt->ref_month, opt->ref_day);
	plan->base = plan->evolve ? make_when(opt->from_year, opt->from_month, opt->from_day) : plan->evolved;
	dh_rng grng = dh_rng_derive(opt->seed, gen_key(GEN_STREAM_GLOBAL, 1, 0));
	/* Odd, not a multiple of 5, below 10^9: a bijection of [0, 10^10). */
	uint64_t mult = 100000001 + 2 * dh_rng_below(&grng, 400000000);
	if (mult % 5 == 0)
		mult += 2;
	plan->ident_mult = mult;
	plan->ident_add = dh_rng_below(&grng, UINT64_C(10000000000));

	dh__gen_tables_static(plan->tables);
	for (int t = 0; t < GEN_T_COUNT; t++) {
		gen_table *tb = &plan->tables[t];
		tb->enc = malloc(tb->count * sizeof(*tb->enc));
		if (!tb->enc) {
			dh_gen_plan_free(plan);
			return dh_error_nomem(err);
		}
		for (size_t i = 0; i < tb->count; i++)
			if (dh__gen_encode(plan, tb->utf8[i], strlen(tb->utf8[i]), &tb->enc[i]) < 0) {
				dh_gen_plan_free(plan);
				return dh_error_nomem(err);
			}
	}
	if ((rc = select_communes(plan, err)) != DH_OK || (rc = weigh_communes(plan, err)) != DH_OK ||
	    (rc = make_landlords(plan, err)) != DH_OK) {
		dh_gen_plan_free(plan);
		return rc;
	}
	if (plan->evolve)
		plan_evolution(plan);
	*out = plan;
	return DH_OK;
}

void dh_gen_plan_free(dh_gen_plan *plan)
{
	if (!plan)
		return;
	for (size_t d = 0; d < plan->ndepts; d++) {
		free(plan->depts[d].cum);
		free(plan->depts[d].former);
	}
	free(plan->depts);
	free(plan->communes);
	if (plan->landlords)
		for (size_t l = 0; l < plan->nlandlords; l++)
			free(plan->landlords[l].seg);
	free(plan->landlords);
	free(plan->former_all);
	free(plan->arr);
	for (int t = 0; t < GEN_T_COUNT; t++)
		free(plan->tables[t].enc);
	while (plan->arena) {
		struct gen_block *next = plan->arena->next;
		free(plan->arena);
		plan->arena = next;
	}
	free(plan);
}

size_t dh_gen_plan_landlord_count(const dh_gen_plan *plan)
{
	return plan->nlandlords;
}

const dh_gen_landlord *dh_gen_plan_landlord(const dh_gen_plan *plan, size_t i)
{
	return i < plan->nlandlords ? &plan->landlords[i].pub : NULL;
}
