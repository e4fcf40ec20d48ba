/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cube_build.c - the cube builder: collects territories, landlords and dwelling versions,
 * dictionary-encodes the fields the indicators need (with the domain normalisations: no DPE
 * when DPEDATE is 01/1900, LOYERPRINC 9999 = not applicable, QPV code implies QPV), then
 * sorts the rows by région, département, commune and landlord so that each of these
 * territories, and each landlord inside a commune, is a contiguous range (communes of an
 * EPCI are adjacent inside a département), and freezes
 * the columns into an immutable dh_cube.
 */
#include "cube/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- small string -> index hash map (open addressing, keys owned elsewhere) ---- */

typedef struct strmap {
	uint32_t *slots; /* index + 1, 0 = empty */
	size_t cap;      /* power of two */
	size_t count;
} strmap;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The key of entry i of the array the map indexes. */
typedef const char *(*key_fn)(const void *array, uint32_t i);

static const char *area_key(const void *array, uint32_t i)
{
	return ((const cube_area *)array)[i].code;
}

static const char *commune_key(const void *array, uint32_t i)
{
	return ((const cube_commune *)array)[i].code;
}

/* Index of `key` in array through the map, or -1. */
static int32_t strmap_find(const strmap *m, const void *array, key_fn key_of, const char *key)
{
	if (!m->cap)
		return -1;
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		uint32_t s = m->slots[i];
		if (!s)
			return -1;
		if (strcmp(key_of(array, s - 1), key) == 0)
			return (int32_t)(s - 1);
	}
}

/* Index entry `index` of array (its key must not be in the map yet). */
static int strmap_put(strmap *m, const void *array, key_fn key_of, uint32_t index)
{
	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		uint32_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return DH_NOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			uint32_t s = m->slots[i];
			if (!s)
				continue;
			size_t j = hash_str(key_of(array, s - 1)) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = s;
		}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	size_t j = hash_str(key_of(array, index)) & (m->cap - 1);
	while (m->slots[j])
		j = (j + 1) & (m->cap - 1);
	m->slots[j] = index + 1;
	m->count++;
	return DH_OK;
}

/* ---- growable arrays of areas ---- */

typedef struct area_list {
	cube_area *items;
	size_t count, cap;
	strmap map;
} area_list;

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* Index of the area `code`, created with `name` when new. */
static int area_intern(area_list *l, const char *code, const char *name, int32_t *index)
{
	int32_t i = strmap_find(&l->map, l->items, area_key, code);
	if (i >= 0) {
		if (name && name[0] && !l->items[i].name[0]) {
			char *n = strdup(name);
			if (!n)
				return DH_NOMEM;
			free(l->items[i].name);
			l->items[i].name = n;
		}
		*index = i;
		return DH_OK;
	}
	if (l->count >= 65535)
		return DH_TOOBIG;
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		cube_area *ni = realloc(l->items, ncap * sizeof(*ni));
		if (!ni)
			return DH_NOMEM;
		l->items = ni;
		l->cap = ncap;
	}
	cube_area *a = &l->items[l->count];
	memset(a, 0, sizeof(*a));
	a->code = strdup(code);
	a->name = dup_or_empty(name);
	if (!a->code || !a->name) {
		free(a->code);
		free(a->name);
		return DH_NOMEM;
	}
	a->row_begin = UINT32_MAX;
	if (strmap_put(&l->map, l->items, area_key, (uint32_t)l->count) != DH_OK) {
		free(a->code);
		free(a->name);
		return DH_NOMEM;
	}
	*index = (int32_t)l->count++;
	return DH_OK;
}

static void area_list_release(area_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].code);
		free(l->items[i].name);
	}
	free(l->items);
	free(l->map.slots);
}

/* ---- the builder ---- */

/* Row columns while building, unsorted. */
typedef struct build_rows {
	int32_t *commune, *from, *to;
	uint16_t *landlord, *qpv_code;
	uint8_t *cat[CAT_COUNT];
	uint8_t *nbpiece, *flags;
	uint16_t *construct, *locat, *bail, *remloc;
	uint32_t *rent, *surf;
} build_rows;

struct dh_cube_builder {
	cube_commune *communes;
	size_t ncommunes, communes_cap;
	strmap commune_map;
	area_list epcis, departements, regions, qpvs, landlords;
	uint64_t dict_key[CAT_COUNT][CUBE_DICT_MAX];
	cube_dict dict[CAT_COUNT];
	int32_t *dates;
	size_t ndates, dates_cap;
	build_rows rows;
	size_t nrows, cap;
};

int dh_cube_builder_new(dh_cube_builder **out)
{
	dh_cube_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return DH_NOMEM;
	for (int c = 0; c < CAT_COUNT; c++)
		b->dict[c].count = 1; /* code 0 = absent */
	int32_t none;
	if (area_intern(&b->qpvs, "", "", &none) != DH_OK) { /* QPV index 0 = none */
		free(b);
		return DH_NOMEM;
	}
	*out = b;
	return DH_OK;
}

static void rows_release(build_rows *r)
{
	free(r->commune);
	free(r->from);
	free(r->to);
	free(r->landlord);
	free(r->qpv_code);
	for (int c = 0; c < CAT_COUNT; c++)
		free(r->cat[c]);
	free(r->nbpiece);
	free(r->flags);
	free(r->construct);
	free(r->locat);
	free(r->bail);
	free(r->remloc);
	free(r->rent);
	free(r->surf);
	memset(r, 0, sizeof(*r));
}

static void communes_release(cube_commune *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].code);
		free(c[i].name);
	}
	free(c);
}

void dh_cube_builder_free(dh_cube_builder *b)
{
	if (!b)
		return;
	communes_release(b->communes, b->ncommunes);
	free(b->commune_map.slots);
	area_list_release(&b->epcis);
	area_list_release(&b->departements);
	area_list_release(&b->regions);
	area_list_release(&b->qpvs);
	area_list_release(&b->landlords);
	free(b->dates);
	rows_release(&b->rows);
	free(b);
}

static int fail(dh_error *err, int code, const char *what)
{
	return dh_error_set(err, code, "cube : %s", what);
}

int dh_cube_builder_add_commune(dh_cube_builder *b, const dh_cube_commune *c, int32_t *index,
				dh_error *err)
{
	if (!c->code || !c->code[0] || !c->departement || !c->departement[0] || !c->region ||
	    !c->region[0])
		return fail(err, DH_INVAL, "commune sans code, département ou région");
	if (b->ncommunes && strmap_find(&b->commune_map, b->communes, commune_key, c->code) >= 0)
		return dh_error_set(err, DH_EXISTS, "cube : commune « %s » déjà déclarée", c->code);
	if (b->ncommunes >= INT32_MAX / 2)
		return fail(err, DH_TOOBIG, "trop de communes");
	if (b->ncommunes == b->communes_cap) {
		size_t ncap = b->communes_cap ? b->communes_cap * 2 : 1024;
		cube_commune *n = realloc(b->communes, ncap * sizeof(*n));
		if (!n)
			return fail(err, DH_NOMEM, "mémoire insuffisante");
		b->communes = n;
		b->communes_cap = ncap;
	}
	cube_commune *cc = &b->communes[b->ncommunes];
	memset(cc, 0, sizeof(*cc));
	cc->epci = -1;
	int rc = DH_OK;
	if (c->epci && c->epci[0])
		rc = area_intern(&b->epcis, c->epci, c->epci_name, &cc->epci);
	if (rc == DH_OK)
		rc = area_intern(&b->departements, c->departement, c->departement_name,
				 &cc->departement);
	if (rc == DH_OK)
		rc = area_intern(&b->regions, c->region, c->region_name, &cc->region);
	if (rc != DH_OK)
		return fail(err, rc, rc == DH_TOOBIG ? "trop de territoires" : "mémoire insuffisante");
	cc->code = strdup(c->code);
	cc->name = dup_or_empty(c->name);
	if (!cc->code || !cc->name ||
	    strmap_put(&b->commune_map, b->communes, commune_key, (uint32_t)b->ncommunes) != DH_OK) {
		free(cc->code);
		free(cc->name);
		return fail(err, DH_NOMEM, "mémoire insuffisante");
	}
	if (index)
		*index = (int32_t)b->ncommunes;
	b->ncommunes++;
	return DH_OK;
}

int dh_cube_builder_add_geo(dh_cube_builder *b, const dh_geo *geo, dh_error *err)
{
	if (b->ncommunes)
		return fail(err, DH_INVAL, "la géographie doit être déclarée en premier");
	size_t n = dh_geo_commune_count(geo);
	for (size_t i = 0; i < n; i++) {
		const dh_commune *c = dh_geo_commune(geo, (int32_t)i);
		int32_t e = c->epci[0] ? dh_geo_epci_find(geo, (dh_str){ c->epci, strlen(c->epci) }) : -1;
		int32_t d = dh_geo_departement_find(geo, (dh_str){ c->departement, strlen(c->departement) });
		int32_t r = dh_geo_region_find(geo, (dh_str){ c->region, strlen(c->region) });
		dh_cube_commune cc = {
			.code = c->code,
			.name = c->name,
			.epci = c->epci,
			.epci_name = e >= 0 ? dh_geo_epci(geo, e)->name : NULL,
			.departement = c->departement,
			.departement_name = d >= 0 ? dh_geo_departement(geo, d)->name : NULL,
			.region = c->region,
			.region_name = r >= 0 ? dh_geo_region(geo, r)->name : NULL,
		};
		int rc = dh_cube_builder_add_commune(b, &cc, NULL, err);
		if (rc != DH_OK)
			return rc;
	}
	size_t nq = dh_geo_qpv_count(geo);
	for (size_t i = 0; i < nq; i++) {
		const dh_qpv *q = dh_geo_qpv(geo, (int32_t)i);
		int rc = dh_cube_builder_name_qpv(b, q->code, q->name, err);
		if (rc != DH_OK)
			return rc;
	}
	return DH_OK;
}

int dh_cube_builder_add_landlord(dh_cube_builder *b, const char *code, const char *name,
				 int32_t *index, dh_error *err)
{
	if (!code || !code[0])
		return fail(err, DH_INVAL, "bailleur sans code");
	if (b->landlords.count &&
	    strmap_find(&b->landlords.map, b->landlords.items, area_key, code) >= 0)
		return dh_error_set(err, DH_EXISTS, "cube : bailleur « %s » déjà déclaré", code);
	int32_t i;
	int rc = area_intern(&b->landlords, code, name, &i);
	if (rc != DH_OK)
		return fail(err, rc, rc == DH_TOOBIG ? "trop de bailleurs" : "mémoire insuffisante");
	if (index)
		*index = i;
	return DH_OK;
}

int dh_cube_builder_name_qpv(dh_cube_builder *b, const char *code, const char *name,
			     dh_error *err)
{
	if (!code || !code[0])
		return fail(err, DH_INVAL, "QPV sans code");
	int32_t i;
	int rc = area_intern(&b->qpvs, code, name, &i);
	if (rc != DH_OK)
		return fail(err, rc, rc == DH_TOOBIG ? "trop de QPV" : "mémoire insuffisante");
	return DH_OK;
}

/* Dictionary code of a categorical value (0 for empty); -1 when the dictionary is full. */
static int dict_code(dh_cube_builder *b, int cat, dh_str v)
{
	if (v.len == 0)
		return 0;
	if (v.len > 8)
		v.len = 8;
	uint64_t key = 0;
	memcpy(&key, v.ptr, v.len);
	uint64_t *keys = b->dict_key[cat];
	cube_dict *d = &b->dict[cat];
	for (uint32_t i = 1; i < d->count; i++)
		if (keys[i] == key)
			return (int)i;
	if (d->count >= CUBE_DICT_MAX)
		return -1;
	keys[d->count] = key;
	memcpy(d->text[d->count], v.ptr, v.len);
	d->text[d->count][v.len] = '\0';
	return (int)d->count++;
}

static int date_intern(dh_cube_builder *b, int32_t date)
{
	size_t lo = 0, hi = b->ndates;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->dates[mid] < date)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->ndates && b->dates[lo] == date)
		return DH_OK;
	if (b->ndates >= 65534)
		return DH_TOOBIG;
	if (b->ndates == b->dates_cap) {
		size_t ncap = b->dates_cap ? b->dates_cap * 2 : 16;
		int32_t *n = realloc(b->dates, ncap * sizeof(*n));
		if (!n)
			return DH_NOMEM;
		b->dates = n;
		b->dates_cap = ncap;
	}
	memmove(b->dates + lo + 1, b->dates + lo, (b->ndates - lo) * sizeof(int32_t));
	b->dates[lo] = date;
	b->ndates++;
	return DH_OK;
}

#define GROW(field, n)                                                    \
	do {                                                              \
		void *p_ = realloc(r->field, (n) * sizeof(*r->field));    \
		if (!p_)                                                  \
			return DH_NOMEM;                                  \
		r->field = p_;                                            \
	} while (0)

static int rows_grow(build_rows *r, size_t n)
{
	GROW(commune, n);
	GROW(from, n);
	GROW(to, n);
	GROW(landlord, n);
	GROW(qpv_code, n);
	for (int c = 0; c < CAT_COUNT; c++)
		GROW(cat[c], n);
	GROW(nbpiece, n);
	GROW(flags, n);
	GROW(construct, n);
	GROW(locat, n);
	GROW(bail, n);
	GROW(remloc, n);
	GROW(rent, n);
	GROW(surf, n);
	return DH_OK;
}

static uint16_t year_value(int32_t y)
{
	return y > 0 && y < CUBE_YEAR_DOMAIN ? (uint16_t)y : 0;
}

static int valid_date(int32_t d)
{
	int32_t m = (d / 100) % 100, day = d % 100;
	return d >= 10000101 && d <= 99991231 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

int dh_cube_builder_add(dh_cube_builder *b, const dh_cube_version *v, dh_error *err)
{
	if (v->landlord < 0 || (size_t)v->landlord >= b->landlords.count)
		return dh_error_set(err, DH_INVAL, "cube : bailleur %d non déclaré", (int)v->landlord);
	if (v->commune < -1 || (v->commune >= 0 && (size_t)v->commune >= b->ncommunes))
		return dh_error_set(err, DH_INVAL, "cube : commune %d non déclarée", (int)v->commune);
	if (!valid_date(v->valid_from) || (v->valid_to && (!valid_date(v->valid_to) ||
							   v->valid_to <= v->valid_from)))
		return dh_error_set(err, DH_INVAL, "cube : période de validité [%d, %d) invalide",
				    (int)v->valid_from, (int)v->valid_to);
	if (b->nrows >= INT32_MAX)
		return fail(err, DH_TOOBIG, "trop de lignes");
	if (b->nrows == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		if (rows_grow(&b->rows, ncap) != DH_OK)
			return fail(err, DH_NOMEM, "mémoire insuffisante");
		b->cap = ncap;
	}
	int rc = date_intern(b, v->valid_from);
	if (rc == DH_OK && v->valid_to)
		rc = date_intern(b, v->valid_to);
	if (rc != DH_OK)
		return fail(err, rc, rc == DH_TOOBIG ? "trop de dates de validité distinctes"
						     : "mémoire insuffisante");

	/* Normalisations of domain.md: no DPE when DPEDATE is empty or 01/1900 (any date
	 * before 1901 is taken as the placeholder), QPV code implies QPV. */
	int has_dpe = v->dpedate / 10000 > 1900;
	dh_str none = { NULL, 0 };
	dh_str qpv_flag = v->qpv;
	if (v->qpv_code.len)
		qpv_flag = DH_STR_LIT("1");
	/* Perimeter as SDES publishes it (domain.md §3b): MODE 1-5, or any row of a reference
	 * source; the non-conventioned dwellings of a SEM apart. */
	int in_stock = v->reference;
	if (v->mode.len == 1 && v->mode.ptr[0] >= '1' && v->mode.ptr[0] <= '5')
		in_stock = 1;
	int non_conv = v->landlord_sem && dh_str_eq(v->conv, "2");
	dh_str parc = !in_stock ? none : non_conv ? DH_STR_LIT("NC") : DH_STR_LIT("LS");
	/* A DPE made since 1 July 2021 (the reformed method): the ones still valid. */
	dh_str recent = has_dpe && v->dpedate / 100 >= 202107 ? DH_STR_LIT("1") : none;
	dh_str newlogt = dh_str_eq(v->newlogt, "1") || dh_str_eq(v->newlogt, "2")
				 ? v->newlogt : none;
	dh_str oldlogt = dh_str_eq(v->oldlogt, "1") || dh_str_eq(v->oldlogt, "2")
				 ? v->oldlogt : none;
	dh_str cats[CAT_COUNT] = {
		[CAT_MODE] = v->mode,
		[CAT_TYPECONST] = v->typeconst,
		[CAT_FINAN] = v->finan,
		[CAT_DPE_ENERGIE] = has_dpe ? v->dpe_energie : none,
		[CAT_DPE_SERRE] = has_dpe ? v->dpe_serre : none,
		[CAT_QPV] = qpv_flag,
		[CAT_ORIGINE] = v->origine,
		[CAT_SORTIEPATRIM] = v->sortiepatrim,
		[CAT_PARC] = parc,
		[CAT_DPE_RECENT] = recent,
		[CAT_NEWLOGT] = newlogt,
		[CAT_OLDLOGT] = oldlogt,
	};
	uint8_t codes[CAT_COUNT];
	for (int c = 0; c < CAT_COUNT; c++) {
		int code = dict_code(b, c, cats[c]);
		if (code < 0)
			return fail(err, DH_TOOBIG, "plus de 255 codes distincts dans un champ");
		codes[c] = (uint8_t)code;
	}
	uint16_t qpv_index = 0;
	if (v->qpv_code.len) {
		char code[32];
		dh_strlcpy_view(code, sizeof(code), v->qpv_code);
		int32_t qi;
		rc = area_intern(&b->qpvs, code, NULL, &qi);
		if (rc != DH_OK)
			return fail(err, rc, rc == DH_TOOBIG ? "trop de QPV" : "mémoire insuffisante");
		qpv_index = (uint16_t)qi;
	}

	build_rows *r = &b->rows;
	size_t i = b->nrows;
	r->commune[i] = v->commune;
	r->from[i] = v->valid_from;
	r->to[i] = v->valid_to;
	r->landlord[i] = (uint16_t)v->landlord;
	r->qpv_code[i] = qpv_index;
	for (int c = 0; c < CAT_COUNT; c++)
		r->cat[c][i] = codes[c];
	r->nbpiece[i] = (uint8_t)(v->nbpiece > 0 && v->nbpiece < 256 ? v->nbpiece : 0);
	r->construct[i] = year_value(v->construct);
	r->locat[i] = year_value(v->locat);
	r->bail[i] = cube_month_index(v->bail);
	r->remloc[i] = cube_month_index(v->remlocdate);
	uint8_t flags = 0;
	r->rent[i] = 0;
	r->surf[i] = 0;
	/* LOYERPRINC 9999 means "not applicable" (January not fully invoiced). */
	if (isfinite(v->loyerprinc) && v->loyerprinc >= 0 && v->loyerprinc != 9999 &&
	    v->loyerprinc < 1e7) {
		flags |= CUBE_FLAG_RENT;
		r->rent[i] = (uint32_t)llround(v->loyerprinc * 100);
	}
	if (isfinite(v->surfhab) && v->surfhab > 0 && v->surfhab < 1e7) {
		flags |= CUBE_FLAG_SURF;
		r->surf[i] = (uint32_t)llround(v->surfhab * 100);
	}
	r->flags[i] = flags;
	b->nrows++;
	return DH_OK;
}

void dh_cube_version_from_rpls(dh_cube_version *v, const dh_rpls_row *row)
{
	memset(v, 0, sizeof(*v));
	v->landlord = -1;
	v->commune = row->commune;
	v->mode = row->text[DH_RPLS_MODE];
	v->typeconst = row->text[DH_RPLS_TYPECONST];
	v->finan = row->text[DH_RPLS_FINAN];
	v->dpe_energie = row->text[DH_RPLS_DPEENERGIE];
	v->dpe_serre = row->text[DH_RPLS_DPESERRE];
	v->qpv = row->text[DH_RPLS_QPV];
	v->qpv_code = row->text[DH_RPLS_QPV_CODE];
	v->origine = row->text[DH_RPLS_ORIGINE];
	v->sortiepatrim = row->text[DH_RPLS_SORTIEPATRIM];
	v->conv = row->text[DH_RPLS_CONV];
	v->newlogt = row->text[DH_RPLS_NEWLOGT];
	v->oldlogt = row->text[DH_RPLS_OLDLOGT];
#define INTF(f) (DH_RPLS_HAS(row, DH_RPLS_##f) ? (int32_t)row->value[DH_RPLS_##f].i : 0)
#define NUMF(f) (DH_RPLS_HAS(row, DH_RPLS_##f) ? row->value[DH_RPLS_##f].d : NAN)
	v->nbpiece = INTF(NBPIECE);
	v->construct = INTF(CONSTRUCT);
	v->locat = INTF(LOCAT);
	v->bail = INTF(BAIL);
	v->remlocdate = INTF(REMLOCDATE);
	v->dpedate = INTF(DPEDATE);
	v->loyerprinc = NUMF(LOYERPRINC);
	v->surfhab = NUMF(SURFHAB);
#undef INTF
#undef NUMF
}

/* ---- finish: sort rows by (région, département, commune, landlord) and freeze ---- */

/* Sort key of a commune: cube order is (région, département, EPCI, commune code), so that
 * the communes of an EPCI are adjacent inside each of its départements. */
typedef struct commune_key_rec {
	const char *region, *departement, *epci, *code;
	uint32_t index;
} commune_key_rec;

static int cmp_commune(const void *pa, const void *pb)
{
	const commune_key_rec *a = pa, *c = pb;
	int r = strcmp(a->region, c->region);
	if (!r)
		r = strcmp(a->departement, c->departement);
	if (!r)
		r = strcmp(a->epci, c->epci);
	if (!r)
		r = strcmp(a->code, c->code);
	return r;
}

#define PERMUTE(type, src, dst_field)                                     \
	do {                                                              \
		type *d_ = calloc(n + CUBE_PAD, sizeof(type));            \
		if (!d_)                                                  \
			goto nomem;                                       \
		for (size_t k = 0; k < n; k++)                            \
			d_[k] = (src)[perm[k]];                           \
		cube->dst_field = d_;                                     \
		cube->memory += n * sizeof(type);                         \
	} while (0)

static void cube_free(dh_cube *cube);

static uint16_t epoch_of(const int32_t *dates, size_t n, int32_t date)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (dates[mid] <= date)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint16_t)lo;
}

uint16_t dh__cube_epoch(const dh_cube *cube, int32_t date)
{
	return epoch_of(cube->dates, cube->ndates, date);
}

static int move_areas(area_list *l, cube_area **items, size_t *count)
{
	*items = l->items;
	*count = l->count;
	l->items = NULL;
	l->count = l->cap = 0;
	free(l->map.slots);
	memset(&l->map, 0, sizeof(l->map));
	return DH_OK;
}

int dh_cube_builder_finish(dh_cube_builder *b, dh_cube **out, dh_error *err)
{
	size_t n = b->nrows, nc = b->ncommunes;
	uint32_t *order = NULL, *rank = NULL, *perm = NULL, *start = NULL;
	dh_cube *cube = calloc(1, sizeof(*cube));
	if (!cube)
		return fail(err, DH_NOMEM, "mémoire insuffisante");
	atomic_init(&cube->refs, 1);
	if (pthread_mutex_init(&cube->date_lock, NULL) != 0) {
		free(cube);
		return fail(err, DH_NOMEM, "ressources insuffisantes");
	}
	cube->nrows = n;

	/* Commune order: (région, département, code); unknown commune rows go last. */
	order = malloc((nc + 1) * sizeof(*order));
	rank = malloc((nc + 1) * sizeof(*rank));
	start = calloc(nc + 2, sizeof(*start));
	perm = malloc((n ? n : 1) * sizeof(*perm));
	if (!order || !rank || !start || !perm)
		goto nomem;
	{
		commune_key_rec *keys = malloc((nc ? nc : 1) * sizeof(*keys));
		if (!keys)
			goto nomem;
		for (size_t i = 0; i < nc; i++) {
			const cube_commune *c = &b->communes[i];
			keys[i] = (commune_key_rec){ b->regions.items[c->region].code,
						     b->departements.items[c->departement].code,
						     c->epci >= 0 ? b->epcis.items[c->epci].code : "",
						     c->code, (uint32_t)i };
		}
		qsort(keys, nc, sizeof(*keys), cmp_commune);
		for (size_t i = 0; i < nc; i++)
			order[i] = keys[i].index;
		free(keys);
	}
	for (size_t i = 0; i < nc; i++)
		rank[order[i]] = (uint32_t)i;
	/* Rows by (commune rank, landlord): a stable counting sort by landlord, then a stable one
	 * by commune rank (insertion order kept inside), so that the rows of one landlord in one
	 * commune are contiguous (dh_cube_query_split() counts them as one sub-range). */
	for (size_t i = 0; i < n; i++) {
		int32_t c = b->rows.commune[i];
		start[(c >= 0 ? rank[c] : nc) + 1]++;
	}
	for (size_t k = 0; k < nc + 1; k++)
		start[k + 1] += start[k];
	{
		size_t nl = b->landlords.count;
		uint32_t *pos = malloc((nc + 1) * sizeof(*pos));
		uint32_t *lpos = calloc(nl + 1, sizeof(*lpos));
		uint32_t *by_landlord = malloc((n ? n : 1) * sizeof(*by_landlord));
		if (!pos || !lpos || !by_landlord) {
			free(pos);
			free(lpos);
			free(by_landlord);
			goto nomem;
		}
		for (size_t i = 0; i < n; i++)
			lpos[b->rows.landlord[i] + 1]++;
		for (size_t l = 0; l < nl; l++)
			lpos[l + 1] += lpos[l];
		for (size_t i = 0; i < n; i++)
			by_landlord[lpos[b->rows.landlord[i]]++] = (uint32_t)i;
		memcpy(pos, start, (nc + 1) * sizeof(*pos));
		for (size_t k = 0; k < n; k++) {
			uint32_t i = by_landlord[k];
			int32_t c = b->rows.commune[i];
			perm[pos[c >= 0 ? rank[c] : nc]++] = i;
		}
		free(pos);
		free(lpos);
		free(by_landlord);
	}

	/* Validity as epochs: valid at epoch e iff lo <= e <= hi, lo = index(from) + 1,
	 * hi = index(to) (ndates for an open end). */
	cube->valid_lo = malloc((n + CUBE_PAD) * sizeof(uint16_t));
	cube->valid_span = malloc((n + CUBE_PAD) * sizeof(uint16_t));
	if (!cube->valid_lo || !cube->valid_span)
		goto nomem;
	for (size_t k = n; k < n + CUBE_PAD; k++) { /* padding rows are never valid */
		cube->valid_lo[k] = UINT16_MAX;
		cube->valid_span[k] = 0;
	}
	cube->memory += n * 2 * sizeof(uint16_t);
	for (size_t k = 0; k < n; k++) {
		uint32_t i = perm[k];
		uint16_t lo = epoch_of(b->dates, b->ndates, b->rows.from[i]);
		uint16_t hi = b->rows.to[i] ? (uint16_t)(epoch_of(b->dates, b->ndates, b->rows.to[i]) - 1)
					    : (uint16_t)b->ndates;
		cube->valid_lo[k] = lo;
		cube->valid_span[k] = (uint16_t)(hi - lo);
	}
	build_rows *r = &b->rows;
	PERMUTE(uint16_t, r->landlord, landlord);
	PERMUTE(uint16_t, r->qpv_code, qpv_code);
	for (int c = 0; c < CAT_COUNT; c++)
		PERMUTE(uint8_t, r->cat[c], cat[c]);
	PERMUTE(uint8_t, r->nbpiece, nbpiece);
	PERMUTE(uint8_t, r->flags, flags);
	PERMUTE(uint16_t, r->construct, construct);
	PERMUTE(uint16_t, r->locat, locat);
	PERMUTE(uint16_t, r->bail, bail);
	PERMUTE(uint16_t, r->remloc, remloc);
	PERMUTE(uint32_t, r->rent, rent);
	PERMUTE(uint32_t, r->surf, surf);
	rows_release(&b->rows);
	b->nrows = b->cap = 0;

	memcpy(cube->dict, b->dict, sizeof(cube->dict));
	cube->dates = b->dates;
	cube->ndates = b->ndates;
	b->dates = NULL;
	b->ndates = b->dates_cap = 0;

	/* Territories. Row ranges of communes, départements and régions are contiguous. */
	cube->communes = b->communes;
	cube->ncommunes = nc;
	b->communes = NULL;
	b->ncommunes = b->communes_cap = 0;
	free(b->commune_map.slots);
	memset(&b->commune_map, 0, sizeof(b->commune_map));
	move_areas(&b->epcis, &cube->epcis, &cube->nepcis);
	move_areas(&b->departements, &cube->departements, &cube->ndepartements);
	move_areas(&b->regions, &cube->regions, &cube->nregions);
	move_areas(&b->qpvs, &cube->qpvs, &cube->nqpvs);
	move_areas(&b->landlords, &cube->landlords, &cube->nlandlords);
	for (size_t k = 0; k < nc; k++) {
		cube_commune *c = &cube->communes[order[k]];
		c->row_begin = start[k];
		c->row_end = start[k + 1];
		uint32_t cnt = c->row_end - c->row_begin;
		cube_area *areas[3] = {
			c->epci >= 0 ? &cube->epcis[c->epci] : NULL,
			&cube->departements[c->departement],
			&cube->regions[c->region],
		};
		for (int a = 0; a < 3; a++) {
			if (!areas[a] || !cnt)
				continue;
			if (areas[a]->row_begin == UINT32_MAX || c->row_begin < areas[a]->row_begin)
				areas[a]->row_begin = c->row_begin;
			if (c->row_end > areas[a]->row_end)
				areas[a]->row_end = c->row_end;
			areas[a]->nrows += cnt;
		}
	}
	/* Row spans of QPV codes and landlords (not contiguous: scanned with a group test). */
	for (size_t k = 0; k < n; k++) {
		cube_area *as[2] = { &cube->qpvs[cube->qpv_code[k]], &cube->landlords[cube->landlord[k]] };
		for (int a = 0; a < 2; a++) {
			if (as[a]->row_begin == UINT32_MAX)
				as[a]->row_begin = (uint32_t)k;
			as[a]->row_end = (uint32_t)k + 1;
			as[a]->nrows++;
		}
	}
	/* EPCI members in cube order. */
	cube->epci_first = calloc(cube->nepcis + 1, sizeof(uint32_t));
	cube->epci_communes = malloc((nc ? nc : 1) * sizeof(uint32_t));
	cube->commune_order = order;
	order = NULL;
	if (!cube->epci_first || !cube->epci_communes)
		goto nomem;
	for (size_t k = 0; k < nc; k++) {
		int32_t e = cube->communes[cube->commune_order[k]].epci;
		if (e >= 0)
			cube->epci_first[e + 1]++;
	}
	for (size_t e = 0; e < cube->nepcis; e++)
		cube->epci_first[e + 1] += cube->epci_first[e];
	{
		uint32_t *pos = malloc((cube->nepcis ? cube->nepcis : 1) * sizeof(uint32_t));
		if (!pos)
			goto nomem;
		memcpy(pos, cube->epci_first, cube->nepcis * sizeof(uint32_t));
		for (size_t k = 0; k < nc; k++) {
			uint32_t ci = cube->commune_order[k];
			int32_t e = cube->communes[ci].epci;
			if (e >= 0)
				cube->epci_communes[pos[e]++] = ci;
		}
		free(pos);
	}
	cube->memory += sizeof(*cube) + nc * (sizeof(cube_commune) + 3 * sizeof(uint32_t) + 24) +
			(cube->nepcis + cube->ndepartements + cube->nregions + cube->nqpvs +
			 cube->nlandlords) * (sizeof(cube_area) + 32) + cube->ndates * sizeof(int32_t);
	free(rank);
	free(start);
	free(perm);
	/* The latest validity date is the usual reference date (the last delivery): its
	 * commune counters are computed now so that its first query is already fast. */
	if (dh__cube_cache_build(cube) != DH_OK ||
	    (cube->ndates && dh__cube_dateplan_warm(cube, cube->dates[cube->ndates - 1]) != DH_OK)) {
		cube_free(cube);
		return fail(err, DH_NOMEM, "mémoire insuffisante");
	}
	*out = cube;
	return DH_OK;
nomem:
	free(order);
	free(rank);
	free(start);
	free(perm);
	cube_free(cube);
	return fail(err, DH_NOMEM, "mémoire insuffisante");
}

static void areas_free(cube_area *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].code);
		free(a[i].name);
	}
	free(a);
}

static void cube_free(dh_cube *cube)
{
	if (cube->map) {
		dh__cube_snapshot_unmap(cube);
		return;
	}
	free(cube->valid_lo);
	free(cube->valid_span);
	free(cube->landlord);
	free(cube->qpv_code);
	for (int c = 0; c < CAT_COUNT; c++)
		free(cube->cat[c]);
	free(cube->nbpiece);
	free(cube->flags);
	free(cube->construct);
	free(cube->locat);
	free(cube->bail);
	free(cube->remloc);
	free(cube->rent);
	free(cube->surf);
	free(cube->dates);
	communes_release(cube->communes, cube->ncommunes);
	free(cube->commune_order);
	areas_free(cube->epcis, cube->nepcis);
	areas_free(cube->departements, cube->ndepartements);
	areas_free(cube->regions, cube->nregions);
	areas_free(cube->qpvs, cube->nqpvs);
	areas_free(cube->landlords, cube->nlandlords);
	free(cube->epci_communes);
	free(cube->epci_first);
	dh__cube_cache_free(&cube->cache);
	dh__cube_bits_free(&cube->bits);
	dh__cube_dateplans_free(cube);
	pthread_mutex_destroy(&cube->date_lock);
	free(cube);
}

void dh_cube_retain(dh_cube *cube)
{
	if (cube)
		atomic_fetch_add_explicit(&cube->refs, 1, memory_order_relaxed);
}

void dh_cube_release(dh_cube *cube)
{
	if (cube && atomic_fetch_sub_explicit(&cube->refs, 1, memory_order_acq_rel) == 1)
		cube_free(cube);
}

size_t dh_cube_row_count(const dh_cube *cube)
{
	return cube->nrows;
}

size_t dh_cube_memory(const dh_cube *cube)
{
	return cube->memory + dh__cube_dateplans_memory(cube);
}
