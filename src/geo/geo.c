/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * geo.c - the reference geography: loads the CSV files of data/ref/ (communes, former codes,
 * EPCI, départements, régions) with the project's CSV reader, checks them (shape of each code,
 * every reference resolves, no duplicate), and answers lookups by code in O(1) through
 * open-addressing indexes. All strings live in one arena owned by the dh_geo.
 * QPV lists are loaded by qpv.c into the same object.
 */
#include "geo/internal.h"

#include "datahabitat/csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DH_REF_DIR
#define DH_REF_DIR "data/ref"
#endif

/* Rows of one reference file: far above France's 35,000 communes, far below index limits. */
#define MAX_ROWS 1000000
#define MAX_POSTCODES 64
#define ARENA_BLOCK (256 * 1024)

/* ---- arena ------------------------------------------------------------------------ */

struct geo_arena_block {
	geo_arena_block *next;
	size_t used, cap;
	max_align_t data[]; /* cap bytes */
};

void *dh__geo_arena_alloc(geo_arena *arena, size_t n, size_t align)
{
	geo_arena_block *b = arena->head;
	if (b) {
		size_t start = (b->used + (align - 1)) & ~(align - 1);
		if (start <= b->cap && n <= b->cap - start) {
			b->used = start + n;
			return (char *)b->data + start;
		}
	}
	/* Blocks grow from 4 KiB to ARENA_BLOCK: a small QPV list stays small. */
	size_t cap = b ? (b->cap < ARENA_BLOCK / 2 ? b->cap * 2 : ARENA_BLOCK) : 4096;
	if (cap < n)
		cap = n;
	if (cap > SIZE_MAX - sizeof(geo_arena_block))
		return NULL;
	b = malloc(sizeof(geo_arena_block) + cap);
	if (!b)
		return NULL;
	b->next = arena->head;
	b->cap = cap;
	b->used = n;
	arena->head = b;
	return b->data;
}

char *dh__geo_arena_strdup(geo_arena *arena, dh_str s)
{
	if (s.len == SIZE_MAX)
		return NULL;
	char *p = dh__geo_arena_alloc(arena, s.len + 1, 1);
	if (!p)
		return NULL;
	if (s.len)
		memcpy(p, s.ptr, s.len);
	p[s.len] = '\0';
	return p;
}

void dh__geo_arena_release(geo_arena *arena)
{
	geo_arena_block *b = arena->head;
	while (b) {
		geo_arena_block *next = b->next;
		free(b);
		b = next;
	}
	arena->head = NULL;
}

/* ---- code index --------------------------------------------------------------------- */

static uint32_t hash_code(dh_str code)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < code.len; i++) {
		h ^= (unsigned char)code.ptr[i];
		h *= 16777619u;
	}
	/* FNV's low bits are poor on short keys that differ in their last digits; the table uses
	 * the low bits, so mix (murmur3's finalizer) to keep probe sequences short. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static const char *record_code(const void *base, size_t stride, int32_t i)
{
	return (const char *)base + (size_t)i * stride;
}

/* Codes are short (5 to 9 bytes) and NUL-free: anything else matches no record. */
#define MAX_CODE 15

int32_t dh__geo_index_find(const geo_index *idx, const void *base, size_t stride, dh_str code)
{
	if (idx->mask == 0 || code.len == 0 || code.len > MAX_CODE || !code.ptr ||
	    memchr(code.ptr, '\0', code.len))
		return -1;
	uint32_t h = hash_code(code);
	for (uint32_t pos = h & idx->mask;; pos = (pos + 1) & idx->mask) {
		const geo_slot *slot = &idx->slots[pos];
		if (slot->record < 0)
			return -1;
		if (slot->hash != h)
			continue;
		const char *rc = record_code(base, stride, slot->record);
		if (strncmp(rc, code.ptr, code.len) == 0 && rc[code.len] == '\0')
			return slot->record;
	}
}

static void index_place(geo_slot *slots, uint32_t mask, geo_slot s)
{
	uint32_t pos = s.hash & mask;
	while (slots[pos].record >= 0)
		pos = (pos + 1) & mask;
	slots[pos] = s;
}

int dh__geo_index_reserve(geo_index *idx, size_t records)
{
	if (records > (UINT32_MAX >> 3))
		return DH_NOMEM;
	uint32_t nslots = 64;
	while ((size_t)nslots < records * 2 + 2)
		nslots *= 2;
	if (idx->mask && nslots <= idx->mask + 1)
		return DH_OK;
	geo_slot *slots = malloc((size_t)nslots * sizeof(*slots));
	if (!slots)
		return DH_NOMEM;
	for (uint32_t s = 0; s < nslots; s++)
		slots[s].record = -1;
	if (idx->mask)
		for (uint32_t s = 0; s <= idx->mask; s++)
			if (idx->slots[s].record >= 0)
				index_place(slots, nslots - 1, idx->slots[s]);
	free(idx->slots);
	idx->slots = slots;
	idx->mask = nslots - 1;
	return DH_OK;
}

int dh__geo_index_add(geo_index *idx, const void *base, size_t stride, int32_t i)
{
	const char *rc = record_code(base, stride, i);
	dh_str code = { rc, strlen(rc) };
	if (code.len == 0 || code.len > MAX_CODE)
		return DH_INVAL;
	/* Keep the load factor at or under one half so that probes stay short. */
	if (idx->mask == 0 || (size_t)idx->count * 2 + 2 > (size_t)idx->mask + 1) {
		int grown = dh__geo_index_reserve(idx, (size_t)idx->count + 1);
		if (grown != DH_OK)
			return grown;
	}
	/* One probe sequence: meet the same code (duplicate) or the free slot to take. */
	uint32_t h = hash_code(code);
	uint32_t pos = h & idx->mask;
	for (; idx->slots[pos].record >= 0; pos = (pos + 1) & idx->mask)
		if (idx->slots[pos].hash == h &&
		    strcmp(record_code(base, stride, idx->slots[pos].record), rc) == 0)
			return DH_EXISTS;
	idx->slots[pos] = (geo_slot){ i, h };
	idx->count++;
	return DH_OK;
}

void dh__geo_index_release(geo_index *idx)
{
	free(idx->slots);
	memset(idx, 0, sizeof(*idx));
}

/* ---- small helpers shared with qpv.c ------------------------------------------------ */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int all_digits(dh_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_digit(s.ptr[i]))
			return 0;
	return s.len > 0;
}

int dh__geo_is_commune_code(dh_str s)
{
	if (s.len != 5 || !is_digit(s.ptr[0]))
		return 0;
	int corsica = s.ptr[0] == '2' && (s.ptr[1] == 'A' || s.ptr[1] == 'B');
	if (!corsica && !is_digit(s.ptr[1]))
		return 0;
	return is_digit(s.ptr[2]) && is_digit(s.ptr[3]) && is_digit(s.ptr[4]);
}

/* Département "01".."95", "2A", "2B" or three digits (971.., 975..); région 2 or 3 digits. */
static int is_departement_code(dh_str s)
{
	if (s.len == 2)
		return (is_digit(s.ptr[0]) && is_digit(s.ptr[1])) ||
		       (s.ptr[0] == '2' && (s.ptr[1] == 'A' || s.ptr[1] == 'B'));
	return s.len == 3 && all_digits(s);
}

static int is_region_code(dh_str s)
{
	return (s.len == 2 || s.len == 3) && all_digits(s);
}

int dh__geo_input_error(dh_error *err, int code, const char *file, uint64_t line, uint32_t column,
		    dh_str field, const char *expected, dh_str found, const char *detail)
{
	if (!err)
		return code;
	dh_error_clear(err);
	err->line = line;
	err->column = column;
	dh_strlcpy(err->file, sizeof(err->file), file ? file : "");
	dh_strlcpy_view(err->field, sizeof(err->field), field);
	dh_strlcpy(err->expected, sizeof(err->expected), expected ? expected : "");
	dh_strlcpy_view(err->found, sizeof(err->found), found);
	if (detail)
		return dh_error_set(err, code, "champ « %s » : %s", err->field, detail);
	return dh_error_set(err, code, "champ « %s » : %s attendu, « %s » trouvé", err->field,
			    err->expected, err->found);
}

/* ---- reading one reference file ------------------------------------------------------ */

typedef struct ref_reader {
	dh_csv *csv;
	char path[1024];
	const char *const *columns; /* expected header, also the field names of errors */
	size_t ncolumns;
	dh_csv_record rec; /* current row */
	size_t rows;       /* data rows read so far */
	uint64_t size;     /* file size in bytes, to size arrays once */
} ref_reader;

/* Rows the file may hold if no row is shorter than min_row bytes (an upper bound, capped). */
static size_t expected_rows(const ref_reader *r, size_t min_row)
{
	uint64_t n = r->size / min_row + 16;
	return n > MAX_ROWS ? MAX_ROWS : (size_t)n;
}

static int field_error(ref_reader *r, dh_error *err, size_t col, const char *expected)
{
	return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, (uint32_t)(col + 1),
			       (dh_str){ r->columns[col], strlen(r->columns[col]) }, expected,
			       r->rec.fields[col], NULL);
}

static int ref_next(ref_reader *r, dh_error *err)
{
	int rc = dh_csv_next(r->csv, &r->rec, err);
	if (rc == DH_EOF)
		return DH_EOF;
	if (rc != DH_OK) {
		if (err && !err->file[0])
			dh_strlcpy(err->file, sizeof(err->file), r->path);
		return rc;
	}
	if (r->rec.problem != DH_CSV_FINE) {
		uint32_t col = r->rec.problem_column;
		dh_str name = col >= 1 && col <= r->ncolumns
				      ? (dh_str){ r->columns[col - 1], strlen(r->columns[col - 1]) }
				      : (dh_str){ "", 0 };
		return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, col, name,
				       "un enregistrement CSV bien formé", (dh_str){ "", 0 },
				       dh_csv_problem_message(r->rec.problem));
	}
	if (r->rec.nfields != r->ncolumns) {
		char expected[64], found[32];
		snprintf(expected, sizeof(expected), "%zu champs", r->ncolumns);
		snprintf(found, sizeof(found), "%zu champs", r->rec.nfields);
		return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, 0, (dh_str){ "", 0 },
				       expected, (dh_str){ found, strlen(found) }, NULL);
	}
	if (++r->rows > MAX_ROWS)
		return dh__geo_input_error(err, DH_TOOBIG, r->path, r->rec.line, 0, (dh_str){ "", 0 },
				       NULL, (dh_str){ "", 0 }, "fichier de référence trop long");
	return DH_OK;
}

static int ref_open(ref_reader *r, const char *dir, const char *file, const char *const *columns,
		    size_t ncolumns, dh_error *err)
{
	memset(r, 0, sizeof(*r));
	r->columns = columns;
	r->ncolumns = ncolumns;
	int n = snprintf(r->path, sizeof(r->path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(r->path))
		return dh_error_set(err, DH_INVAL, "chemin du répertoire de référence trop long : « %s »",
				    dir);
	struct stat st;
	int missing = stat(r->path, &st) != 0 && errno == ENOENT;
	if (!missing && st.st_size > 0)
		r->size = (uint64_t)st.st_size;
	if (missing) {
		if (err) {
			dh_error_clear(err);
			dh_strlcpy(err->file, sizeof(err->file), r->path);
		}
		return dh_error_set(err, DH_NOTFOUND, "fichier de référence introuvable : « %s »",
				    r->path);
	}
	/* Rows of data/ref are short: small limits keep the reader's buffer small. */
	dh_csv_options opt = { .delimiter = ';', .encoding = DH_ENC_UTF8, .max_field = 4096,
			       .max_record = 16384, .max_fields = 16 };
	int rc = dh_csv_open_path(&r->csv, r->path, &opt, err);
	if (rc != DH_OK) {
		if (err && !err->file[0])
			dh_strlcpy(err->file, sizeof(err->file), r->path);
		return rc;
	}
	rc = dh_csv_next(r->csv, &r->rec, err);
	if (rc == DH_EOF)
		return dh__geo_input_error(err, DH_PARSE, r->path, 1, 0, (dh_str){ "", 0 },
				       "une ligne d'en-tête", (dh_str){ "", 0 }, NULL);
	if (rc != DH_OK)
		return rc;
	for (size_t i = 0; i < ncolumns; i++) {
		dh_str got = i < r->rec.nfields ? r->rec.fields[i] : (dh_str){ "", 0 };
		if (r->rec.problem != DH_CSV_FINE || !dh_str_eq(got, columns[i]))
			return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, (uint32_t)(i + 1),
					       (dh_str){ columns[i], strlen(columns[i]) },
					       "l'en-tête du format de data/ref", got, NULL);
	}
	if (r->rec.nfields != ncolumns)
		return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, (uint32_t)(ncolumns + 1),
				       (dh_str){ "", 0 }, "pas de colonne supplémentaire",
				       r->rec.fields[ncolumns], NULL);
	return DH_OK;
}

static void ref_close(ref_reader *r)
{
	dh_csv_free(r->csv);
	r->csv = NULL;
}

/* ---- growing arrays ------------------------------------------------------------------ */

/* The array with room for `need` elements (possibly moved), or NULL with arr untouched. */
void *dh__geo_grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / elem)
		return NULL;
	void *p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

static int nomem(dh_error *err, const char *path)
{
	if (err) {
		dh_error_clear(err);
		dh_strlcpy(err->file, sizeof(err->file), path);
	}
	return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour charger « %s »", path);
}

/* Copy a field into the arena; "" when empty. */
static const char *keep_name(dh_geo *geo, dh_str s)
{
	return dh__geo_arena_strdup(&geo->arena, s);
}

static int duplicate_error(ref_reader *r, dh_error *err)
{
	return dh__geo_input_error(err, DH_PARSE, r->path, r->rec.line, 1,
			       (dh_str){ r->columns[0], strlen(r->columns[0]) }, NULL, r->rec.fields[0],
			       "code déjà présent plus haut dans le fichier");
}

/* ---- the five files -------------------------------------------------------------------- */

static int load_regions(dh_geo *geo, const char *dir, dh_error *err)
{
	static const char *const columns[] = { "code", "nom" };
	ref_reader r;
	int rc = ref_open(&r, dir, "regions.csv", columns, 2, err);
	while (rc == DH_OK && (rc = ref_next(&r, err)) == DH_OK) {
		const dh_str *f = r.rec.fields;
		if (!is_region_code(f[0])) {
			rc = field_error(&r, err, 0, "un code de région (2 ou 3 chiffres)");
			break;
		}
		if (f[1].len == 0) {
			rc = field_error(&r, err, 1, "un nom");
			break;
		}
		dh_area *p = dh__geo_grow_array(geo->regions, &geo->cap_regions, geo->nregions + 1, sizeof(*p));
		if (!p) {
			rc = nomem(err, r.path);
			break;
		}
		geo->regions = p;
		dh_area *a = &p[geo->nregions];
		memset(a, 0, sizeof(*a));
		dh_strlcpy_view(a->code, sizeof(a->code), f[0]);
		if (!(a->name = keep_name(geo, f[1]))) {
			rc = nomem(err, r.path);
			break;
		}
		rc = dh__geo_index_add(&geo->region_index, geo->regions, sizeof(dh_area),
				   (int32_t)geo->nregions);
		if (rc != DH_OK) {
			rc = rc == DH_EXISTS ? duplicate_error(&r, err) : nomem(err, r.path);
			break;
		}
		geo->nregions++;
	}
	ref_close(&r);
	return rc == DH_EOF ? DH_OK : rc;
}

static int load_departements(dh_geo *geo, const char *dir, dh_error *err)
{
	static const char *const columns[] = { "code", "nom", "region" };
	ref_reader r;
	int rc = ref_open(&r, dir, "departements.csv", columns, 3, err);
	while (rc == DH_OK && (rc = ref_next(&r, err)) == DH_OK) {
		const dh_str *f = r.rec.fields;
		if (!is_departement_code(f[0])) {
			rc = field_error(&r, err, 0, "un code de département (01..95, 2A, 2B, 971..)");
			break;
		}
		if (f[1].len == 0) {
			rc = field_error(&r, err, 1, "un nom");
			break;
		}
		if (dh__geo_index_find(&geo->region_index, geo->regions, sizeof(dh_area), f[2]) < 0) {
			rc = field_error(&r, err, 2, "une région de regions.csv");
			break;
		}
		dh_area *p = dh__geo_grow_array(geo->departements, &geo->cap_departements,
					geo->ndepartements + 1, sizeof(*p));
		if (!p) {
			rc = nomem(err, r.path);
			break;
		}
		geo->departements = p;
		dh_area *a = &p[geo->ndepartements];
		memset(a, 0, sizeof(*a));
		dh_strlcpy_view(a->code, sizeof(a->code), f[0]);
		dh_strlcpy_view(a->parent, sizeof(a->parent), f[2]);
		if (!(a->name = keep_name(geo, f[1]))) {
			rc = nomem(err, r.path);
			break;
		}
		rc = dh__geo_index_add(&geo->departement_index, geo->departements, sizeof(dh_area),
				   (int32_t)geo->ndepartements);
		if (rc != DH_OK) {
			rc = rc == DH_EXISTS ? duplicate_error(&r, err) : nomem(err, r.path);
			break;
		}
		geo->ndepartements++;
	}
	ref_close(&r);
	return rc == DH_EOF ? DH_OK : rc;
}

static int is_epci_kind(dh_str s)
{
	return dh_str_eq(s, "CC") || dh_str_eq(s, "CA") || dh_str_eq(s, "CU") ||
	       dh_str_eq(s, "METRO") || dh_str_eq(s, "MET69");
}

static int load_epcis(dh_geo *geo, const char *dir, dh_error *err)
{
	static const char *const columns[] = { "code", "nom", "type" };
	ref_reader r;
	int rc = ref_open(&r, dir, "epci.csv", columns, 3, err);
	while (rc == DH_OK && (rc = ref_next(&r, err)) == DH_OK) {
		const dh_str *f = r.rec.fields;
		if (f[0].len != 9 || !all_digits(f[0])) {
			rc = field_error(&r, err, 0, "un SIREN de 9 chiffres");
			break;
		}
		if (f[1].len == 0) {
			rc = field_error(&r, err, 1, "un nom");
			break;
		}
		if (!is_epci_kind(f[2])) {
			rc = field_error(&r, err, 2, "CC, CA, CU, METRO ou MET69");
			break;
		}
		dh_area *p = dh__geo_grow_array(geo->epcis, &geo->cap_epcis, geo->nepcis + 1, sizeof(*p));
		if (!p) {
			rc = nomem(err, r.path);
			break;
		}
		geo->epcis = p;
		dh_area *a = &p[geo->nepcis];
		memset(a, 0, sizeof(*a));
		dh_strlcpy_view(a->code, sizeof(a->code), f[0]);
		dh_strlcpy_view(a->kind, sizeof(a->kind), f[2]);
		if (!(a->name = keep_name(geo, f[1]))) {
			rc = nomem(err, r.path);
			break;
		}
		rc = dh__geo_index_add(&geo->epci_index, geo->epcis, sizeof(dh_area), (int32_t)geo->nepcis);
		if (rc != DH_OK) {
			rc = rc == DH_EXISTS ? duplicate_error(&r, err) : nomem(err, r.path);
			break;
		}
		geo->nepcis++;
	}
	ref_close(&r);
	return rc == DH_EOF ? DH_OK : rc;
}

static int parse_u32(dh_str s, uint32_t *out)
{
	if (!all_digits(s) || s.len > 10)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < s.len; i++)
		v = v * 10 + (uint64_t)(s.ptr[i] - '0');
	if (v > UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

/* Postcodes "35000 35200": count them (and check their shape); copy when dst is not NULL. */
static int split_postcodes(dh_str s, char (*dst)[6], uint32_t *count)
{
	uint32_t n = 0;
	size_t i = 0;
	while (i < s.len) {
		if (s.ptr[i] == ' ') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < s.len && s.ptr[i] != ' ')
			i++;
		dh_str tok = { s.ptr + start, i - start };
		if (tok.len != 5 || !all_digits(tok) || n >= MAX_POSTCODES)
			return 0;
		if (dst) {
			memcpy(dst[n], tok.ptr, 5);
			dst[n][5] = '\0';
		}
		n++;
	}
	*count = n;
	return 1;
}

static int load_communes(dh_geo *geo, const char *dir, dh_error *err)
{
	static const char *const columns[] = { "code", "nom", "departement", "epci", "population",
					       "codes_postaux" };
	ref_reader r;
	int rc = ref_open(&r, dir, "communes.csv", columns, 6, err);
	int32_t dep = -1;
	if (rc == DH_OK) {
		/* One allocation instead of a dozen copies while growing: a row is >= 28 bytes. */
		dh_commune *p = dh__geo_grow_array(geo->communes, &geo->cap_communes,
					       expected_rows(&r, 28), sizeof(*p));
		if (p)
			geo->communes = p;
		if (!p || dh__geo_index_reserve(&geo->commune_index, geo->cap_communes) != DH_OK)
			rc = nomem(err, r.path);
	}
	while (rc == DH_OK && (rc = ref_next(&r, err)) == DH_OK) {
		const dh_str *f = r.rec.fields;
		if (!dh__geo_is_commune_code(f[0])) {
			rc = field_error(&r, err, 0, "un code commune de 5 caractères (01001, 2A004)");
			break;
		}
		if (f[1].len == 0) {
			rc = field_error(&r, err, 1, "un nom");
			break;
		}
		/* Rows come sorted by code, so by département: reuse the previous lookup. */
		if (dep < 0 || !dh_str_eq(f[2], geo->departements[dep].code))
			dep = dh__geo_index_find(&geo->departement_index, geo->departements,
					     sizeof(dh_area), f[2]);
		if (dep < 0) {
			rc = field_error(&r, err, 2, "un département de departements.csv");
			break;
		}
		if (f[3].len && dh__geo_index_find(&geo->epci_index, geo->epcis, sizeof(dh_area), f[3]) < 0) {
			rc = field_error(&r, err, 3, "un EPCI de epci.csv ou rien");
			break;
		}
		uint32_t population = 0;
		if (f[4].len && !parse_u32(f[4], &population)) {
			rc = field_error(&r, err, 4, "un nombre d'habitants ou rien");
			break;
		}
		uint32_t npostcodes;
		if (!split_postcodes(f[5], NULL, &npostcodes)) {
			rc = field_error(&r, err, 5, "des codes postaux de 5 chiffres séparés par des espaces");
			break;
		}
		dh_commune *p = dh__geo_grow_array(geo->communes, &geo->cap_communes, geo->ncommunes + 1,
					   sizeof(*p));
		if (!p) {
			rc = nomem(err, r.path);
			break;
		}
		geo->communes = p;
		dh_commune *c = &p[geo->ncommunes];
		memset(c, 0, sizeof(*c));
		dh_strlcpy_view(c->code, sizeof(c->code), f[0]);
		dh_strlcpy_view(c->departement, sizeof(c->departement), f[2]);
		dh_strlcpy(c->region, sizeof(c->region), geo->departements[dep].parent);
		dh_strlcpy_view(c->epci, sizeof(c->epci), f[3]);
		c->population = population;
		c->npostcodes = npostcodes;
		char(*postcodes)[6] = NULL;
		if (npostcodes) {
			postcodes = dh__geo_arena_alloc(&geo->arena, (size_t)npostcodes * 6, 1);
			if (!postcodes) {
				rc = nomem(err, r.path);
				break;
			}
			split_postcodes(f[5], postcodes, &npostcodes);
		}
		c->postcodes = (const char(*)[6])postcodes;
		if (!(c->name = keep_name(geo, f[1]))) {
			rc = nomem(err, r.path);
			break;
		}
		rc = dh__geo_index_add(&geo->commune_index, geo->communes, sizeof(dh_commune),
				   (int32_t)geo->ncommunes);
		if (rc != DH_OK) {
			rc = rc == DH_EXISTS ? duplicate_error(&r, err) : nomem(err, r.path);
			break;
		}
		geo->ncommunes++;
	}
	ref_close(&r);
	return rc == DH_EOF ? DH_OK : rc;
}

static char former_kind(dh_str type)
{
	if (dh_str_eq(type, "commune-deleguee"))
		return 'D';
	if (dh_str_eq(type, "commune-associee"))
		return 'A';
	if (dh_str_eq(type, "arrondissement-municipal"))
		return 'M';
	if (dh_str_eq(type, "ancien-code"))
		return 'F';
	return 0;
}

static int load_formers(dh_geo *geo, const char *dir, dh_error *err)
{
	static const char *const columns[] = { "code", "nom", "type", "commune_actuelle" };
	ref_reader r;
	int rc = ref_open(&r, dir, "communes-anciennes.csv", columns, 4, err);
	while (rc == DH_OK && (rc = ref_next(&r, err)) == DH_OK) {
		const dh_str *f = r.rec.fields;
		if (!dh__geo_is_commune_code(f[0])) {
			rc = field_error(&r, err, 0, "un code commune de 5 caractères (01001, 2A004)");
			break;
		}
		char kind = former_kind(f[2]);
		if (!kind) {
			rc = field_error(&r, err, 2,
					 "commune-deleguee, commune-associee, arrondissement-municipal ou ancien-code");
			break;
		}
		int32_t current = dh__geo_index_find(&geo->commune_index, geo->communes, sizeof(dh_commune),
						 f[3]);
		if (current < 0) {
			rc = field_error(&r, err, 3, "une commune de communes.csv");
			break;
		}
		dh_former_commune *p = dh__geo_grow_array(geo->formers, &geo->cap_formers, geo->nformers + 1,
						  sizeof(*p));
		if (!p) {
			rc = nomem(err, r.path);
			break;
		}
		geo->formers = p;
		dh_former_commune *fc = &p[geo->nformers];
		memset(fc, 0, sizeof(*fc));
		dh_strlcpy_view(fc->code, sizeof(fc->code), f[0]);
		fc->kind = kind;
		fc->current = current;
		if (!(fc->name = keep_name(geo, f[1]))) {
			rc = nomem(err, r.path);
			break;
		}
		rc = dh__geo_index_add(&geo->former_index, geo->formers, sizeof(dh_former_commune),
				   (int32_t)geo->nformers);
		if (rc != DH_OK) {
			rc = rc == DH_EXISTS ? duplicate_error(&r, err) : nomem(err, r.path);
			break;
		}
		geo->nformers++;
	}
	ref_close(&r);
	return rc == DH_EOF ? DH_OK : rc;
}

/* ---- public API ---------------------------------------------------------------------- */

const char *dh_geo_default_dir(void)
{
	const char *env = getenv("DATAHABITAT_REF");
	return env && env[0] ? env : DH_REF_DIR;
}

int dh_geo_load(dh_geo **out, const char *dir, dh_error *err)
{
	if (!out)
		return dh_error_set(err, DH_INVAL, "dh_geo_load : pointeur de sortie nul");
	*out = NULL;
	dh_error_clear(err);
	if (!dir)
		dir = dh_geo_default_dir();
	dh_geo *geo = calloc(1, sizeof(*geo));
	if (!geo)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la géographie");
	int rc = load_regions(geo, dir, err);
	if (rc == DH_OK)
		rc = load_departements(geo, dir, err);
	if (rc == DH_OK)
		rc = load_epcis(geo, dir, err);
	if (rc == DH_OK)
		rc = load_communes(geo, dir, err);
	if (rc == DH_OK)
		rc = load_formers(geo, dir, err);
	if (rc != DH_OK) {
		dh_geo_free(geo);
		return rc;
	}
	*out = geo;
	return DH_OK;
}

void dh__geo_qpv_set_release(geo_qpv_set *set)
{
	free(set->items);
	dh__geo_index_release(&set->index);
	dh__geo_arena_release(&set->arena);
	memset(set, 0, sizeof(*set));
}

void dh_geo_free(dh_geo *geo)
{
	if (!geo)
		return;
	free(geo->communes);
	free(geo->formers);
	free(geo->epcis);
	free(geo->departements);
	free(geo->regions);
	dh__geo_index_release(&geo->commune_index);
	dh__geo_index_release(&geo->former_index);
	dh__geo_index_release(&geo->epci_index);
	dh__geo_index_release(&geo->departement_index);
	dh__geo_index_release(&geo->region_index);
	dh__geo_arena_release(&geo->arena);
	dh__geo_qpv_set_release(&geo->qpv);
	free(geo);
}

static int in_bounds(int32_t i, size_t n)
{
	return i >= 0 && (size_t)i < n;
}

size_t dh_geo_commune_count(const dh_geo *geo)
{
	return geo->ncommunes;
}

const dh_commune *dh_geo_commune(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->ncommunes) ? &geo->communes[i] : NULL;
}

size_t dh_geo_former_count(const dh_geo *geo)
{
	return geo->nformers;
}

const dh_former_commune *dh_geo_former(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->nformers) ? &geo->formers[i] : NULL;
}

size_t dh_geo_epci_count(const dh_geo *geo)
{
	return geo->nepcis;
}

const dh_area *dh_geo_epci(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->nepcis) ? &geo->epcis[i] : NULL;
}

size_t dh_geo_departement_count(const dh_geo *geo)
{
	return geo->ndepartements;
}

const dh_area *dh_geo_departement(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->ndepartements) ? &geo->departements[i] : NULL;
}

size_t dh_geo_region_count(const dh_geo *geo)
{
	return geo->nregions;
}

const dh_area *dh_geo_region(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->nregions) ? &geo->regions[i] : NULL;
}

size_t dh_geo_qpv_count(const dh_geo *geo)
{
	return geo->qpv.n;
}

const dh_qpv *dh_geo_qpv(const dh_geo *geo, int32_t i)
{
	return in_bounds(i, geo->qpv.n) ? &geo->qpv.items[i] : NULL;
}

int32_t dh_geo_commune_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->commune_index, geo->communes, sizeof(dh_commune), code);
}

int32_t dh_geo_former_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->former_index, geo->formers, sizeof(dh_former_commune), code);
}

int32_t dh_geo_epci_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->epci_index, geo->epcis, sizeof(dh_area), code);
}

int32_t dh_geo_departement_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->departement_index, geo->departements, sizeof(dh_area), code);
}

int32_t dh_geo_region_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->region_index, geo->regions, sizeof(dh_area), code);
}

int32_t dh_geo_qpv_find(const dh_geo *geo, dh_str code)
{
	return dh__geo_index_find(&geo->qpv.index, geo->qpv.items, sizeof(dh_qpv), code);
}

int dh_geo_postcode_matches(const dh_geo *geo, int32_t commune, dh_str postcode)
{
	const dh_commune *c = dh_geo_commune(geo, commune);
	if (!c || postcode.len != 5 || !postcode.ptr)
		return 0;
	for (uint32_t i = 0; i < c->npostcodes; i++)
		if (memcmp(c->postcodes[i], postcode.ptr, 5) == 0)
			return 1;
	return 0;
}
