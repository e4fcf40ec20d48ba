/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * validate.c - the stock-file validator: decides the layout from the header line (or the
 * canonical order), then streams the records of a dh_csv reader, checks every rule of
 * docs/validation.md through a per-column table built once, and hands issues and typed
 * rows to the caller's callbacks while keeping complete counts per rule.
 *
 * Hot path: no allocation per row or field; plain values checked inline (fast_check), the
 * rest by dh__rpls_check_value, which has the last word; O(1) commune lookups; duplicate ids in two open-addressing sets of 64-bit hashes
 * sized once from the input size. Messages are formatted only when an issue is reported.
 * Large inputs: block-parallel validation without on_row, else a two-thread pipeline (see
 * their sections below).
 */
#include "datahabitat/validate.h"

#include "ingest/internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

/* ---- public rule and layout tables ------------------------------------------------- */

size_t dh_validate_rule_count(void)
{
	return DH__RULE_COUNT - 1;
}

const char *dh_validate_rule_code(size_t i)
{
	return i < DH__RULE_COUNT - 1 ? dh__rule_code((int)i + 1) : NULL;
}

const char *dh_validate_rule_label(size_t i)
{
	return i < DH__RULE_COUNT - 1 ? dh__rule_label((int)i + 1) : NULL;
}

const char *dh_layout_name(dh_layout layout)
{
	switch (layout) {
	case DH_LAYOUT_RPLS:
		return "rpls";
	case DH_LAYOUT_RPLS_OPENDATA:
		return "rpls-opendata";
	default:
		return "auto";
	}
}

int dh_layout_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "auto") == 0)
		return DH_LAYOUT_AUTO;
	if (strcmp(name, "rpls") == 0)
		return DH_LAYOUT_RPLS;
	if (strcmp(name, "rpls-opendata") == 0)
		return DH_LAYOUT_RPLS_OPENDATA;
	return -1;
}

void dh_validate_stats_release(dh_validate_stats *stats)
{
	if (!stats)
		return;
	free(stats->rule_counts);
	stats->rule_counts = NULL;
}

/* ---- duplicate-id sets ------------------------------------------------------------- */

/*
 * Open addressing with linear probing over `cap` slots of 12 bytes: the 64-bit hash of a
 * value (0 = empty) and the line where the value was first seen, packed so that a probe
 * touches one cache line (about 17 bytes per row at the 0.7 load the sets are sized for).
 * The hash below is a bijection of the value for a given length, so only values of
 * different lengths can collide (probability 2^-64 per pair).
 */
typedef struct idset {
	uint32_t *slots; /* 3 words per slot: hash low, hash high, first line (saturated) */
	size_t cap;
	size_t count;
	size_t limit;    /* grow when count reaches it */
	size_t bytes;    /* allocated bytes of slots */
} idset;

#define IDSET_MIN 1024
#define HUGE_PAGE ((size_t)2 << 20)

static uint64_t hash_value(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15u ^ ((uint64_t)n * 0xD6E8FEB86659FD93u);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9u;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	/* The last 1-7 bytes as one word without a variable-length copy: two overlapping 4-byte
	 * loads, or bytes 0, n/2 and n-1; either holds every byte, so it stays a bijection. */
	uint64_t w = 0;
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		w = a | (uint64_t)b << 32;
	} else if (n) {
		w = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 |
		    (uint64_t)(unsigned char)p[n - 1] << 16;
	}
	h = (h ^ w) * 0x94D049BB133111EBu;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9u;
	h ^= h >> 32;
	return h ? h : 1;
}

/* Slot of hash h among cap slots: the high half of h * cap (no modulo, any cap). */
static size_t slot_of(uint64_t h, size_t cap)
{
#if defined(__SIZEOF_INT128__)
	__extension__ typedef unsigned __int128 u128;
	return (size_t)(((u128)h * cap) >> 64);
#else
	return (size_t)(h % cap);
#endif
}

static uint64_t slot_key(const uint32_t *slot)
{
	uint64_t k;
	memcpy(&k, slot, 8);
	return k;
}

static void free_slots(uint32_t *slots, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	if (slots && bytes >= HUGE_PAGE) {
		munmap(slots, bytes);
		return;
	}
#endif
	(void)bytes;
	free(slots);
}

/* Zeroed slots; big tables are mapped with transparent huge pages where available, since
 * random probes into hundreds of megabytes otherwise miss the TLB on most rows. */
static uint32_t *alloc_slots(size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	if (bytes >= HUGE_PAGE) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		madvise(p, bytes, MADV_HUGEPAGE);
		return p;
	}
#endif
	return calloc(bytes / 4, 4);
}

static int idset_alloc(idset *s, size_t cap)
{
	if (cap > SIZE_MAX / 12)
		return DH_NOMEM;
	size_t bytes = cap * 12;
	uint32_t *slots = alloc_slots(bytes);
	if (!slots)
		return DH_NOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		const uint32_t *old = s->slots + 3 * i;
		uint64_t k = slot_key(old);
		if (!k)
			continue;
		size_t j = slot_of(k, cap);
		while (slot_key(slots + 3 * j))
			j = j + 1 == cap ? 0 : j + 1;
		memcpy(slots + 3 * j, old, 12);
	}
	free_slots(s->slots, s->bytes);
	s->slots = slots;
	s->bytes = bytes;
	s->cap = cap;
	s->limit = cap / 10 * 8;
	return DH_OK;
}

/* Make room for `rows` values in total (load 0.7) when it is more than the current room. */
static int idset_reserve(idset *s, uint64_t rows)
{
	uint64_t cap = rows + rows * 3 / 7 + IDSET_MIN;
	if (cap <= s->cap || cap > SIZE_MAX / 12)
		return DH_OK;
	return idset_alloc(s, (size_t)cap);
}

/* Ask the cache for the slot of h ahead of idset_add (the probe is the one cache miss). */
static void idset_prefetch(const idset *s, uint64_t h)
{
#if defined(__GNUC__)
	if (s->cap)
		__builtin_prefetch(s->slots + 3 * slot_of(h, s->cap), 1);
#else
	(void)s;
	(void)h;
#endif
}

/* Add h first seen at `line`; if already there, return 1 and its first line in *first. */
static int idset_add(idset *s, uint64_t h, uint64_t line, uint64_t *first, int *nomem)
{
	if (s->count >= s->limit && idset_alloc(s, s->cap ? s->cap * 2 : IDSET_MIN) != DH_OK) {
		*nomem = 1;
		return 0;
	}
	size_t j = slot_of(h, s->cap);
	uint64_t k;
	while ((k = slot_key(s->slots + 3 * j)) != 0) {
		if (k == h) {
			*first = s->slots[3 * j + 2];
			return 1;
		}
		j = j + 1 == s->cap ? 0 : j + 1;
	}
	memcpy(s->slots + 3 * j, &h, 8);
	s->slots[3 * j + 2] = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	s->count++;
	return 0;
}

static void idset_release(idset *s)
{
	free_slots(s->slots, s->bytes);
	memset(s, 0, sizeof(*s));
}

/* ---- communes ----------------------------------------------------------------------- */

/*
 * Dense table of every code of the form DDNNN (DD 00-99, 2A, 2B): the current commune's
 * index (>= 0), -2 - k for former commune k, -1 for an unknown code. 408 KB, built once per
 * validation from the geography, so that a row's commune costs one load.
 */
#define COMMUNE_SLOTS (102 * 1000)
#define DENSE_AFTER 2000

static long commune_slot(const char *c, size_t len)
{
	if (len != 5)
		return -1;
	long dep;
	if (c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9')
		dep = (c[0] - '0') * 10 + (c[1] - '0');
	else if (c[0] == '2' && (c[1] == 'A' || c[1] == 'B'))
		dep = c[1] == 'A' ? 100 : 101;
	else
		return -1;
	for (int i = 2; i < 5; i++)
		if (c[i] < '0' || c[i] > '9')
			return -1;
	return dep * 1000 + (c[2] - '0') * 100 + (c[3] - '0') * 10 + (c[4] - '0');
}

static uint32_t postcode_number(const char *p)
{
	uint32_t n = 0;
	for (int i = 0; i < 5; i++)
		n = n * 10 + (uint32_t)(p[i] - '0');
	return n;
}

/* First postcode of each commune (the usual one), so that most postcode checks are one load. */
static uint32_t *postcode_table_new(const dh_geo *geo)
{
	size_t n = dh_geo_commune_count(geo);
	uint32_t *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return NULL;
	for (size_t i = 0; i < n && i < INT32_MAX; i++) {
		const dh_commune *cm = dh_geo_commune(geo, (int32_t)i);
		if (cm->npostcodes && strlen(cm->postcodes[0]) == 5)
			t[i] = postcode_number(cm->postcodes[0]);
	}
	return t;
}

static int32_t *commune_table_new(const dh_geo *geo)
{
	int32_t *t = malloc(COMMUNE_SLOTS * sizeof(*t));
	if (!t)
		return NULL;
	for (size_t i = 0; i < COMMUNE_SLOTS; i++)
		t[i] = -1;
	size_t nformer = dh_geo_former_count(geo), ncommune = dh_geo_commune_count(geo);
	for (size_t k = 0; k < nformer && k < INT32_MAX / 2; k++) {
		const dh_former_commune *fc = dh_geo_former(geo, (int32_t)k);
		long slot = commune_slot(fc->code, strlen(fc->code));
		if (slot >= 0)
			t[slot] = -2 - (int32_t)k;
	}
	for (size_t i = 0; i < ncommune && i < INT32_MAX; i++) {
		const dh_commune *cm = dh_geo_commune(geo, (int32_t)i);
		long slot = commune_slot(cm->code, strlen(cm->code));
		if (slot >= 0)
			t[slot] = (int32_t)i;
	}
	return t;
}

/* ---- the validator ------------------------------------------------------------------ */

typedef struct colspec {
	int field;        /* enum dh_rpls_field, -1 when the column is ignored */
	int check;        /* enum dh__check of the field */
	int required;     /* an empty value is the `required` error */
	unsigned maxlen;  /* TEXT: maximum length in characters */
	uint64_t mask;    /* CODE1: allowed characters (dh__rpls_code1_mask); CODE2: codes 0-63 */
	uint64_t mask_hi; /* CODE2: codes 64-99 */
	double min, max;  /* INT / NUMBER range (dh__rpls_range) */
	int min_open;     /* NUMBER: min excluded */
	int has_max;      /* INT / NUMBER: max applies */
	const char *name; /* as in the header (or the canonical name), NUL-terminated */
} colspec;

struct block;

typedef struct validator {
	struct block *sink;   /* block worker: issues and ids are buffered there (NULL: direct) */
	const dh_geo *geo;
	const dh_validate_callbacks *cb;
	dh_validate_stats *stats;
	int reference_year;
	uint64_t input_size;
	colspec *cols;
	size_t ncols;
	char *names;          /* storage of the header names */
	uint64_t mapped;      /* bit f: field f has a column */
	int col_of[DH_RPLS_NFIELDS]; /* 0-based column of field f, -1 if none */
	uint64_t first_offset; /* offset of the first data record (size estimate) */
	uint64_t id_rows;     /* records counted for the size estimate */
	int sized;            /* duplicate sets sized from the input size */
	int row_error;        /* the current row has an error */
	uint64_t failed;      /* bit f: field f failed its own check in the current row */
	dh_rpls_row row;
	idset ids[2];         /* IDENT_REP, IDENT_INT */
	int dup_known;        /* the reader thread looked the ids up: dup_first holds the result */
	uint64_t dup_first[2]; /* first line of the current row's IDENT_REP / IDENT_INT, 0 if new */
	int32_t *communes;    /* commune_table_new(), built after DENSE_AFTER lookups, else NULL */
	uint32_t *postcodes;  /* first postcode of each current commune as a number, 0 if none */
	uint64_t commune_lookups;
	int tables_failed;    /* no memory for the tables: the geography's lookups are used */
} validator;

#define FIELD_BIT(f) ((uint64_t)1 << (f))

static inline dh_str trim(dh_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Count an issue and hand it to the callback (message already formatted, NULL when there
 * is no callback to call). */
static int emit_message(validator *v, int rule, uint64_t line, uint32_t column, int field,
			const char *field_name, dh_str value, const char *message)
{
	int warning = dh__rule_is_warning(rule);
	v->stats->rule_counts[rule - 1]++;
	if (warning) {
		v->stats->warnings++;
	} else {
		v->stats->errors++;
		v->row_error = 1;
	}
	if (!v->cb || !v->cb->on_issue || !message)
		return DH_OK;
	dh_issue issue = {
		.row = line,
		.column = column,
		.field = field,
		.field_name = field_name ? field_name : "",
		.code = dh__rule_code(rule),
		.severity = warning ? DH_SEV_WARNING : DH_SEV_ERROR,
		.value = value,
		.message = message,
	};
	return v->cb->on_issue(v->cb->ctx, &issue);
}

static int sink_issue(validator *v, int rule, uint32_t column, int field, const char *field_name,
		      dh_str value, const char *message);

/* Report one issue: counts always, the callback with a French message when there is one.
 * A block worker (v->sink) buffers it instead, for the ordered emission. */
#if defined(__GNUC__)
__attribute__((format(printf, 8, 9)))
#endif
static int emit(validator *v, int rule, uint64_t line, uint32_t column, int field, const char *field_name,
		dh_str value, const char *fmt, ...)
{
	int want_message = v->cb && v->cb->on_issue;
	char message[768];
	if (want_message) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(message, sizeof(message), fmt, ap);
		va_end(ap);
	}
	if (v->sink) {
		if (!dh__rule_is_warning(rule))
			v->row_error = 1;
		return sink_issue(v, rule, column, field, field_name, value, want_message ? message : NULL);
	}
	return emit_message(v, rule, line, column, field, field_name, value, want_message ? message : NULL);
}

/* A value quoted in a message: at most ~120 bytes, cut on a UTF-8 boundary. */
static const char *shown(dh_str value, char *buf, size_t size)
{
	if (value.len < size) {
		dh_strlcpy_view(buf, size, value);
		return buf;
	}
	dh_strlcpy_view(buf, size - 3, value); /* room for the 3 bytes of "…" */
	strcat(buf, "…");
	return buf;
}

static const dh_str no_value = { "", 0 };

/* ---- layout ------------------------------------------------------------------------ */

static int is_siren(dh_str s)
{
	s = trim(s);
	if (s.len != 9)
		return 0;
	for (size_t i = 0; i < 9; i++)
		if ((unsigned char)(s.ptr[i] - '0') > 9)
			return 0;
	return 1;
}

/* A record is a header when enough of its fields are column names we know. */
static int looks_like_header(const dh_csv_record *rec)
{
	size_t known = 0;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = trim(rec->fields[i]);
		if (dh_rpls_field_find(s) >= 0 || (s.len >= 3 && dh__opendata_column(s) != DH__OPENDATA_UNKNOWN))
			known++;
	}
	if (rec->nfields == 1)
		return known == 1;
	return known >= 2 && known * 3 >= rec->nfields;
}

static int alloc_columns(validator *v, size_t n, size_t names_bytes)
{
	v->cols = calloc(n ? n : 1, sizeof(*v->cols));
	v->names = malloc(names_bytes ? names_bytes : 1);
	if (!v->cols || !v->names)
		return DH_NOMEM;
	v->ncols = n;
	return DH_OK;
}

static void map_column(validator *v, size_t c, int f)
{
	v->cols[c].field = f;
	v->cols[c].check = dh__rpls_check_kind(f);
	v->cols[c].required = dh__rpls_value_required(f);
	v->cols[c].maxlen = dh_rpls_field(f)->maxlen;
	v->cols[c].mask = dh__rpls_code1_mask(f);
	if (v->cols[c].check == DH__CHECK_CODE2) {
		uint64_t m[2];
		dh__rpls_code2_mask(f, m);
		v->cols[c].mask = m[0];
		v->cols[c].mask_hi = m[1];
	}
	dh__rpls_range(f, &v->cols[c].min, &v->cols[c].max, &v->cols[c].min_open, &v->cols[c].has_max);
	v->mapped |= FIELD_BIT(f);
	v->col_of[f] = (int)c;
}

static int canonical_layout(validator *v)
{
	int rc = alloc_columns(v, DH_RPLS_NFIELDS, 1);
	if (rc)
		return rc;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		v->cols[f].name = dh_rpls_field(f)->name;
		map_column(v, (size_t)f, f);
	}
	return DH_OK;
}

static int header_layout(validator *v, const dh_csv_record *rec, dh_layout layout, dh_error *err)
{
	size_t bytes = 0;
	for (size_t i = 0; i < rec->nfields; i++)
		bytes += trim(rec->fields[i]).len + 1;
	int rc = alloc_columns(v, rec->nfields, bytes);
	if (rc)
		return rc;
	char *p = v->names;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = trim(rec->fields[i]);
		memcpy(p, s.ptr ? s.ptr : "", s.len);
		p[s.len] = '\0';
		v->cols[i].name = p;
		v->cols[i].field = -1;
		p += s.len + 1;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = trim(rec->fields[i]);
		int f = layout == DH_LAYOUT_RPLS_OPENDATA ? dh__opendata_column(s) : dh_rpls_field_find(s);
		uint32_t column = (uint32_t)i + 1;
		if (f >= 0 && (v->mapped & FIELD_BIT(f))) {
			rc = emit(v, DH__RULE_DUPLICATE_COLUMN, rec->line, column, f, v->cols[i].name, s,
				  "la colonne %s apparaît deux fois (colonnes %d et %u) : seule la première est lue",
				  dh_rpls_field(f)->name, v->col_of[f] + 1, column);
		} else if (f >= 0) {
			map_column(v, i, f);
		} else if (f == DH__OPENDATA_UNKNOWN && s.len > 0) {
			rc = emit(v, DH__RULE_UNKNOWN_COLUMN, rec->line, column, -1, v->cols[i].name, s,
				  "la colonne « %s » n'est pas une variable %s : elle est ignorée", v->cols[i].name,
				  layout == DH_LAYOUT_RPLS_OPENDATA ? "du fichier open data RPLS" : "RPLS");
		} else if (f == DH__OPENDATA_UNKNOWN) {
			rc = emit(v, DH__RULE_UNKNOWN_COLUMN, rec->line, column, -1, "", s,
				  "la colonne %u n'a pas de nom : elle est ignorée", column);
		}
		if (rc)
			return rc;
	}
	int missing = 0;
	char list[512] = "";
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		int required = layout == DH_LAYOUT_RPLS_OPENDATA ? dh__opendata_required(f) : dh_rpls_field(f)->required;
		if (!required || (v->mapped & FIELD_BIT(f)))
			continue;
		const char *name = dh_rpls_field(f)->name;
		rc = emit(v, DH__RULE_MISSING_COLUMN, rec->line, 0, f, name, no_value,
			  "la colonne obligatoire %s (%s) est absente de l'en-tête", name, dh_rpls_field(f)->label);
		if (rc)
			return rc;
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", missing ? ", " : "", name);
		missing++;
	}
	if (missing) {
		if (err) {
			err->line = rec->line;
			dh_strlcpy(err->field, sizeof(err->field), list);
		}
		return dh_error_set(err, DH_INVALID_DATA, "colonne%s obligatoire%s absente%s : %s", missing > 1 ? "s" : "",
				    missing > 1 ? "s" : "", missing > 1 ? "s" : "", list);
	}
	return DH_OK;
}

/* ---- records ------------------------------------------------------------------------ */

/*
 * Fast paths of the field checks: each accepts only the plain well-formed values that the
 * generator and real files are made of, and stores the same parsed value as
 * dh__rpls_check_value; anything else (signs, out-of-range, unusual forms, errors) returns
 * 0 and goes to dh__rpls_check_value, which decides. So the results cannot differ.
 */
static inline unsigned digit(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

static inline int digits_ok(const char *p, size_t n)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++)
		bad |= digit(p[i]) > 9;
	return !bad;
}

static inline int two(const char *p)
{
	return (int)(digit(p[0]) * 10 + digit(p[1]));
}

static inline int month_days(int y, int m)
{
	static const unsigned char days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m];
}

static inline int fast_check(const colspec *col, const char *p, size_t len, int reference_year, dh_rpls_value *out)
{
	switch (col->check) {
	case DH__CHECK_TEXT:
		return len <= col->maxlen;
	case DH__CHECK_CODE1: {
		unsigned d = digit(p[0]);
		return len == 1 && d < 64 && ((col->mask >> d) & 1u);
	}
	case DH__CHECK_CODE2: {
		if (len != 2 || digit(p[0]) > 9 || digit(p[1]) > 9)
			return 0;
		int n = two(p);
		return n < 64 ? (int)((col->mask >> n) & 1u) : (int)((col->mask_hi >> (n - 64)) & 1u);
	}
	case DH__CHECK_DEPCOM:
		return len == 5 && digits_ok(p + 2, 3) &&
		       ((digit(p[0]) <= 9 && digit(p[1]) <= 9) || (p[0] == '2' && (p[1] == 'A' || p[1] == 'B')));
	case DH__CHECK_POSTCODE:
		return len == 5 && digits_ok(p, 5);
	case DH__CHECK_INT: {
		if (len > 9 || !digits_ok(p, len))
			return 0;
		int64_t x = 0;
		for (size_t i = 0; i < len; i++)
			x = x * 10 + digit(p[i]);
		if ((double)x < col->min || (col->has_max && (double)x > col->max))
			return 0;
		out->i = x;
		return 1;
	}
	case DH__CHECK_YEAR: {
		if (len != 4 || !digits_ok(p, 4))
			return 0;
		int y = two(p) * 100 + two(p + 2);
		if (y < DH__MIN_YEAR || y > reference_year)
			return 0;
		out->i = y;
		return 1;
	}
	case DH__CHECK_DATE: {
		int d = 0, m, y;
		if (len == 7) {
			if (p[2] != '/' || digit(p[0]) > 9 || digit(p[1]) > 9 || !digits_ok(p + 3, 4))
				return 0;
			m = two(p);
			y = two(p + 3) * 100 + two(p + 5);
		} else if (len == 10) {
			if (p[2] != '/' || p[5] != '/' || digit(p[0]) > 9 || digit(p[1]) > 9 || digit(p[3]) > 9 ||
			    digit(p[4]) > 9 || !digits_ok(p + 6, 4))
				return 0;
			d = two(p);
			m = two(p + 3);
			y = two(p + 6) * 100 + two(p + 8);
			if (m >= 1 && m <= 12 && (d < 1 || d > month_days(y, m)))
				return 0;
		} else {
			return 0;
		}
		if (m < 1 || m > 12 || y < DH__MIN_DATE_YEAR || y > reference_year)
			return 0;
		out->i = (int64_t)y * 10000 + m * 100 + d;
		return 1;
	}
	case DH__CHECK_NUMBER: {
		static const double p10[17] = { 1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
						1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16 };
		if (len > 16)
			return 0;
		uint64_t mant = 0;
		size_t i = 0, ndigits = 0;
		unsigned frac = 0;
		for (; i < len && digit(p[i]) <= 9; i++, ndigits++)
			mant = mant * 10 + digit(p[i]);
		if (i < len && (p[i] == '.' || p[i] == ',')) {
			for (i++; i < len && digit(p[i]) <= 9; i++, ndigits++, frac++)
				mant = mant * 10 + digit(p[i]);
		}
		if (i != len || ndigits == 0)
			return 0;
		double x = (double)mant / p10[frac];
		if (col->min_open ? !(x > col->min) : !(x >= col->min))
			return 0;
		if (col->has_max && x > col->max)
			return 0;
		out->d = x;
		return 1;
	}
	default:
		return 0;
	}
}

static int problem_rule(int problem)
{
	switch (problem) {
	case DH_CSV_BAD_UTF8:
		return DH__RULE_INVALID_UTF8;
	case DH_CSV_BAD_QUOTE:
	case DH_CSV_UNTERMINATED:
		return DH__RULE_BAD_QUOTE;
	case DH_CSV_FIELD_TOO_LONG:
		return DH__RULE_FIELD_TOO_LONG;
	case DH_CSV_RECORD_TOO_LONG:
		return DH__RULE_RECORD_TOO_LONG;
	default:
		return DH__RULE_NUL_BYTE;
	}
}

static int report_field(validator *v, int rule, uint64_t line, size_t c, int f, dh_str s)
{
	char value[128], expected[160];
	const char *name = v->cols[c].name;
	uint32_t column = (uint32_t)c + 1;
	if (rule == DH__RULE_REQUIRED)
		return emit(v, rule, line, column, f, name, s, "%s est vide : attendu %s", name,
			    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
	if (rule == DH__RULE_LENGTH)
		return emit(v, rule, line, column, f, name, s, "%s compte %zu caractères : attendu %s", name,
			    dh__utf8_chars(s.ptr, s.len),
			    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
	return emit(v, rule, line, column, f, name, s, "%s vaut « %s » : attendu %s", name,
		    shown(s, value, sizeof(value)),
		    dh__rpls_expected(f, rule, v->reference_year, expected, sizeof(expected)));
}

static int check_commune(validator *v, uint64_t line, size_t c, dh_str s)
{
	if (!v->communes && !v->tables_failed && ++v->commune_lookups > DENSE_AFTER) {
		/* enough rows to pay for the dense tables (small inputs use the geography's own) */
		v->communes = commune_table_new(v->geo);
		v->postcodes = postcode_table_new(v->geo);
		if (!v->communes || !v->postcodes) {
			free(v->communes);
			free(v->postcodes);
			v->communes = NULL;
			v->postcodes = NULL;
			v->tables_failed = 1;
		}
	}
	long slot = v->communes ? commune_slot(s.ptr, s.len) : -1;
	int32_t t = slot >= 0 ? v->communes[slot] : -1;
	if (t >= 0) {
		v->row.commune = t;
		return DH_OK;
	}
	int32_t k = t <= -2 ? -2 - t : -1;
	if (t == -1) { /* not in the dense table: ask the geography itself */
		int32_t i = dh_geo_commune_find(v->geo, s);
		if (i >= 0) {
			v->row.commune = i;
			return DH_OK;
		}
		k = dh_geo_former_find(v->geo, s);
	}
	char value[16];
	uint32_t column = (uint32_t)c + 1;
	if (k < 0) {
		v->failed |= FIELD_BIT(DH_RPLS_DEPCOM);
		v->row.present &= ~FIELD_BIT(DH_RPLS_DEPCOM);
		return emit(v, DH__RULE_COMMUNE_UNKNOWN, line, column, DH_RPLS_DEPCOM, v->cols[c].name, s,
			    "%s vaut « %s » : attendu un code commune du COG (actuel ou ancien)", v->cols[c].name,
			    shown(s, value, sizeof(value)));
	}
	const dh_former_commune *former = dh_geo_former(v->geo, k);
	const dh_commune *current = dh_geo_commune(v->geo, former->current);
	v->row.commune = former->current;
	if (former->kind == 'M') /* arrondissement municipal: a valid subdivision of its commune */
		return DH_OK;
	char what[160];
	if (former->name && former->name[0])
		snprintf(what, sizeof(what), "ancienne commune %s (%s)", former->name,
			 former->kind == 'A' ? "associée" : "déléguée");
	else
		snprintf(what, sizeof(what), "ancien code de commune");
	return emit(v, DH__RULE_COMMUNE_FORMER, line, column, DH_RPLS_DEPCOM, v->cols[c].name, s,
		    "%s vaut « %s », %s : logement rattaché à la commune actuelle %s %s", v->cols[c].name,
		    shown(s, value, sizeof(value)), what, current ? current->code : "?",
		    current && current->name ? current->name : "");
}

/* 1 when field f is usable by a cross-field rule: present, or empty but not failed. */
#define OK_OR_EMPTY(v, f) (((v)->mapped >> (f)) & 1u && !(((v)->failed >> (f)) & 1u))
#define PRESENT(v, f) DH_RPLS_HAS(&(v)->row, f)

static int field_column(const validator *v, int f)
{
	return v->col_of[f] + 1;
}

static int check_cross(validator *v, uint64_t line)
{
	dh_rpls_row *row = &v->row;
	int rc = DH_OK;
	char a[32], b[32];
	if (PRESENT(v, DH_RPLS_LOCAT) && PRESENT(v, DH_RPLS_CONSTRUCT) &&
	    row->value[DH_RPLS_LOCAT].i < row->value[DH_RPLS_CONSTRUCT].i) {
		rc = emit(v, DH__RULE_LOCAT_BEFORE_CONSTRUCT, line, (uint32_t)field_column(v, DH_RPLS_LOCAT),
			  DH_RPLS_LOCAT, v->cols[v->col_of[DH_RPLS_LOCAT]].name, row->text[DH_RPLS_LOCAT],
			  "%s vaut « %s », avant l'achèvement de la construction (%s « %s ») : attendu une année "
			  "de mise en location postérieure ou égale",
			  v->cols[v->col_of[DH_RPLS_LOCAT]].name, shown(row->text[DH_RPLS_LOCAT], a, sizeof(a)),
			  v->cols[v->col_of[DH_RPLS_CONSTRUCT]].name, shown(row->text[DH_RPLS_CONSTRUCT], b, sizeof(b)));
		if (rc)
			return rc;
	}
	if (PRESENT(v, DH_RPLS_PATRIMOINE) && PRESENT(v, DH_RPLS_CONSTRUCT) &&
	    row->value[DH_RPLS_PATRIMOINE].i < row->value[DH_RPLS_CONSTRUCT].i) {
		rc = emit(v, DH__RULE_PATRIMOINE_BEFORE_CONSTRUCT, line, (uint32_t)field_column(v, DH_RPLS_PATRIMOINE),
			  DH_RPLS_PATRIMOINE, v->cols[v->col_of[DH_RPLS_PATRIMOINE]].name, row->text[DH_RPLS_PATRIMOINE],
			  "%s vaut « %s », avant l'achèvement de la construction (%s « %s ») : attendu une année "
			  "d'entrée dans le patrimoine postérieure ou égale",
			  v->cols[v->col_of[DH_RPLS_PATRIMOINE]].name,
			  shown(row->text[DH_RPLS_PATRIMOINE], a, sizeof(a)), v->cols[v->col_of[DH_RPLS_CONSTRUCT]].name,
			  shown(row->text[DH_RPLS_CONSTRUCT], b, sizeof(b)));
		if (rc)
			return rc;
	}
	if (PRESENT(v, DH_RPLS_MODE) && OK_OR_EMPTY(v, DH_RPLS_BAIL) && !PRESENT(v, DH_RPLS_BAIL) &&
	    row->text[DH_RPLS_MODE].ptr[0] == '1') {
		const char *name = v->cols[v->col_of[DH_RPLS_BAIL]].name;
		rc = emit(v, DH__RULE_BAIL_MISSING, line, (uint32_t)field_column(v, DH_RPLS_BAIL), DH_RPLS_BAIL,
			  name, no_value, "%s est vide alors que le logement est loué (MODE 1) : attendu la date de "
			  "prise d'effet du bail", name);
		if (rc)
			return rc;
	}
	if (PRESENT(v, DH_RPLS_MODE) && OK_OR_EMPTY(v, DH_RPLS_REMLOCDATE) && !PRESENT(v, DH_RPLS_REMLOCDATE) &&
	    row->text[DH_RPLS_MODE].ptr[0] == '2') {
		const char *name = v->cols[v->col_of[DH_RPLS_REMLOCDATE]].name;
		rc = emit(v, DH__RULE_REMLOCDATE_MISSING, line, (uint32_t)field_column(v, DH_RPLS_REMLOCDATE),
			  DH_RPLS_REMLOCDATE, name, no_value,
			  "%s est vide alors que le logement est vacant et proposé à la location (MODE 2) : attendu "
			  "la date de dernière mise en location", name);
		if (rc)
			return rc;
	}
	if (OK_OR_EMPTY(v, DH_RPLS_DPEDATE) && OK_OR_EMPTY(v, DH_RPLS_DPEENERGIE) && OK_OR_EMPTY(v, DH_RPLS_DPESERRE)) {
		int energy = PRESENT(v, DH_RPLS_DPEENERGIE), ghg = PRESENT(v, DH_RPLS_DPESERRE);
		int real_date = PRESENT(v, DH_RPLS_DPEDATE) && row->value[DH_RPLS_DPEDATE].i / 100 != 190001;
		const char *name = v->cols[v->col_of[DH_RPLS_DPEDATE]].name;
		dh_str date = row->text[DH_RPLS_DPEDATE];
		if ((energy || ghg) && !real_date)
			rc = emit(v, DH__RULE_DPE_INCONSISTENT, line, (uint32_t)field_column(v, DH_RPLS_DPEDATE),
				  DH_RPLS_DPEDATE, name, date,
				  "%s vaut « %s » alors qu'une classe de DPE est renseignée : attendu la date réelle du "
				  "diagnostic (01/1900 signifie « pas de DPE »)", name, shown(date, a, sizeof(a)));
		else if (real_date && !(energy && ghg))
			rc = emit(v, DH__RULE_DPE_INCONSISTENT, line, (uint32_t)field_column(v, DH_RPLS_DPEDATE),
				  DH_RPLS_DPEDATE, name, date,
				  "%s vaut « %s » mais la classe %s est vide : attendu les deux classes (énergie et "
				  "gaz à effet de serre) d'un DPE daté", name, shown(date, a, sizeof(a)),
				  energy ? "DPESERRE" : "DPEENERGIE");
		if (rc)
			return rc;
	}
	if (PRESENT(v, DH_RPLS_SURFHAB) && PRESENT(v, DH_RPLS_NBPIECE)) {
		double s = row->value[DH_RPLS_SURFHAB].d;
		int64_t n = row->value[DH_RPLS_NBPIECE].i;
		if (s < 7.0 * (double)n || s > 60.0 * (double)n + 40.0) {
			const char *name = v->cols[v->col_of[DH_RPLS_SURFHAB]].name;
			rc = emit(v, DH__RULE_SURFACE_IMPLAUSIBLE, line, (uint32_t)field_column(v, DH_RPLS_SURFHAB),
				  DH_RPLS_SURFHAB, name, row->text[DH_RPLS_SURFHAB],
				  "%s vaut « %s » pour %lld pièce%s : attendu entre %lld et %lld m²", name,
				  shown(row->text[DH_RPLS_SURFHAB], a, sizeof(a)), (long long)n, n > 1 ? "s" : "",
				  (long long)(7 * n), (long long)(60 * n + 40));
			if (rc)
				return rc;
		}
	}
	return DH_OK;
}

static int check_postcode(validator *v, uint64_t line)
{
	if (!v->geo || !PRESENT(v, DH_RPLS_CODEPOSTAL) || v->row.commune < 0)
		return DH_OK;
	dh_str pc = v->row.text[DH_RPLS_CODEPOSTAL];
	if (v->postcodes && v->postcodes[v->row.commune] == postcode_number(pc.ptr))
		return DH_OK;
	if (dh_geo_postcode_matches(v->geo, v->row.commune, pc))
		return DH_OK;
	const dh_commune *cm = dh_geo_commune(v->geo, v->row.commune);
	char value[16], list[64] = "";
	for (uint32_t i = 0; cm && i < cm->npostcodes && i < 6; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", cm->postcodes[i]);
	}
	const char *name = v->cols[v->col_of[DH_RPLS_CODEPOSTAL]].name;
	return emit(v, DH__RULE_POSTCODE_MISMATCH, line, (uint32_t)field_column(v, DH_RPLS_CODEPOSTAL),
		    DH_RPLS_CODEPOSTAL, name, pc, "%s vaut « %s » : attendu un code postal de %s %s (%s)", name,
		    shown(pc, value, sizeof(value)), cm ? cm->code : "", cm && cm->name ? cm->name : "", list);
}

/*
 * Duplicate ids. The lookups run in file order either inline (check_duplicates) or, on
 * large inputs, on the reader thread one batch at a time (batch_ids), which hides the
 * memory latency of the random probes behind prefetches; check_record then only reads
 * the result. Both use id_hash_of, so an id is looked up exactly when check_record finds
 * the field present (non-empty, within its length, in a well-formed record).
 */
static const int id_fields[2] = { DH_RPLS_IDENT_REP, DH_RPLS_IDENT_INT };

/* Hash of id k (column col), untrimmed value s, in a record with this problem and field
 * count; 0 when it is not checked. */
static uint64_t id_hash_field(const validator *v, int col, int problem, size_t nfields, dh_str s)
{
	if (col < 0 || problem != DH_CSV_FINE || nfields != v->ncols)
		return 0;
	s = trim(s);
	unsigned maxlen = v->cols[col].maxlen;
	if (s.len == 0 || (s.len > maxlen && dh__utf8_chars(s.ptr, s.len) > maxlen))
		return 0;
	return hash_value(s.ptr, s.len);
}

/* Hash of id k of a record, 0 when it is not checked. */
static uint64_t id_hash_of(const validator *v, const dh_csv_record *rec, int k)
{
	int col = v->col_of[id_fields[k]];
	if (col < 0)
		return 0;
	return id_hash_field(v, col, rec->problem, rec->nfields, rec->fields[col]);
}

/* Estimate the number of rows from the first ones and size the duplicate sets once. */
static int size_sets(validator *v, uint64_t offset)
{
	v->sized = 1;
	if (!v->input_size || offset <= v->first_offset)
		return DH_OK;
	uint64_t per_row = (offset - v->first_offset) / (v->id_rows - 1);
	if (per_row == 0)
		per_row = 1;
	uint64_t rows = v->input_size / per_row;
	rows += rows / 20;
	for (int k = 0; k < 2; k++) {
		if (v->col_of[id_fields[k]] < 0)
			continue;
		int rc = idset_reserve(&v->ids[k], rows);
		if (rc)
			return rc;
	}
	return DH_OK;
}

#define SIZE_SAMPLE 4096

/* Count a record for the size estimate (every record, in file order). */
static int count_for_sets(validator *v, uint64_t offset)
{
	v->id_rows++;
	if (v->id_rows == 1)
		v->first_offset = offset;
	else if (!v->sized && v->id_rows == SIZE_SAMPLE)
		return size_sets(v, offset);
	return DH_OK;
}

/* Look id k up (hash h, 0: not checked) and add it; first[k] = first line if seen, else 0. */
static int id_lookup(validator *v, int k, uint64_t h, uint64_t line, uint64_t *first)
{
	*first = 0;
	if (!h)
		return DH_OK;
	int nomem = 0;
	if (!idset_add(&v->ids[k], h, line, first, &nomem))
		*first = 0;
	return nomem ? DH_NOMEM : DH_OK;
}

/* The duplicate issue of id k (value s, trimmed) first seen at line `first`. */
static int report_duplicate(validator *v, int k, uint64_t line, dh_str s, uint64_t first)
{
	static const int rules[2] = { DH__RULE_DUPLICATE_IDENT_REP, DH__RULE_DUPLICATE_IDENT_INT };
	int f = id_fields[k];
	char value[128];
	const char *name = v->cols[v->col_of[f]].name;
	return emit(v, rules[k], line, (uint32_t)field_column(v, f), f, name, s,
		    "%s vaut « %s », déjà présent ligne %llu : attendu un identifiant unique dans le fichier",
		    name, shown(s, value, sizeof(value)), (unsigned long long)first);
}

static int sink_ids(validator *v, const dh_csv_record *rec);

static int check_duplicates(validator *v, const dh_csv_record *rec)
{
	uint64_t first[2] = { 0, 0 };
	int rc;
	if (v->sink)
		return sink_ids(v, rec);
	if (v->dup_known) {
		first[0] = v->dup_first[0];
		first[1] = v->dup_first[1];
	} else {
		for (int k = 0; k < 2; k++)
			if ((rc = id_lookup(v, k, id_hash_of(v, rec, k), rec->line, &first[k])) != DH_OK)
				return rc;
	}
	for (int k = 0; k < 2; k++) {
		if (!first[k] || !PRESENT(v, id_fields[k]))
			continue;
		if ((rc = report_duplicate(v, k, rec->line, v->row.text[id_fields[k]], first[k])) != DH_OK)
			return rc;
	}
	return DH_OK;
}

static int sink_record(validator *v, uint64_t line);
static void sink_record_done(validator *v);

static int check_record(validator *v, const dh_csv_record *rec)
{
	dh_rpls_row *row = &v->row;
	uint64_t line = rec->line;
	int rc = DH_OK;
	if (v->sink) {
		if ((rc = sink_record(v, line)) != DH_OK)
			return rc;
	} else {
		v->stats->rows++;
		if (!v->dup_known && (rc = count_for_sets(v, rec->offset)) != DH_OK)
			return rc;
	}
	v->row_error = 0;
	v->failed = 0;
	row->line = line;
	row->present = 0;
	row->commune = -1;

	if (rec->problem != DH_CSV_FINE || rec->nfields != v->ncols) {
		for (size_t c = 0; c < v->ncols; c++)
			if (v->cols[c].field >= 0)
				row->text[v->cols[c].field] = no_value;
		if (rec->problem != DH_CSV_FINE) {
			int rule = problem_rule(rec->problem);
			uint32_t column = rec->problem_column;
			int f = column >= 1 && column <= v->ncols ? v->cols[column - 1].field : -1;
			const char *name = column >= 1 && column <= v->ncols ? v->cols[column - 1].name : "";
			dh_str value = column >= 1 && column <= rec->nfields ? rec->fields[column - 1] : no_value;
			if (column)
				rc = emit(v, rule, line, column, f, name, value, "enregistrement illisible, colonne %u%s%s%s : %s",
					  column, name[0] ? " (" : "", name, name[0] ? ")" : "",
					  dh_csv_problem_message(rec->problem));
			else
				rc = emit(v, rule, line, 0, -1, "", no_value, "enregistrement illisible : %s",
					  dh_csv_problem_message(rec->problem));
		} else if (rec->nfields > v->ncols) {
			rc = emit(v, DH__RULE_TOO_MANY_FIELDS, line, 0, -1, "", no_value,
				  "l'enregistrement compte %zu champs : attendu %zu (%s)", rec->nfields, v->ncols,
				  v->stats->has_header ? "comme l'en-tête" : "ordre canonique RPLS");
		} else {
			rc = emit(v, DH__RULE_TOO_FEW_FIELDS, line, 0, -1, "", no_value,
				  "l'enregistrement compte %zu champ%s : attendu %zu (%s)", rec->nfields,
				  rec->nfields > 1 ? "s" : "", v->ncols,
				  v->stats->has_header ? "comme l'en-tête" : "ordre canonique RPLS");
		}
		if (rc)
			return rc;
		goto done;
	}

	for (size_t c = 0; c < v->ncols; c++) {
		const colspec *col = &v->cols[c];
		int f = col->field;
		if (f < 0)
			continue;
		dh_str s = rec->fields[c];
		if (s.len == 0) {
			row->text[f] = s;
			if (col->required) {
				v->failed |= FIELD_BIT(f);
				if ((rc = report_field(v, DH__RULE_REQUIRED, line, c, f, s)) != DH_OK)
					return rc;
			}
			continue;
		}
		if (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t') {
			s = trim(s);
			if (s.len == 0) {
				row->text[f] = s;
				if (col->required) {
					v->failed |= FIELD_BIT(f);
					if ((rc = report_field(v, DH__RULE_REQUIRED, line, c, f, s)) != DH_OK)
						return rc;
				}
				continue;
			}
		}
		row->text[f] = s;
		/* Plain values are checked inline; anything else by rpls_rules.c, which decides. */
		int rule = fast_check(col, s.ptr, s.len, v->reference_year, &row->value[f])
				   ? DH__RULE_NONE
				   : dh__rpls_check_value(f, s.ptr, s.len, v->reference_year, &row->value[f]);
		if (rule != DH__RULE_NONE) {
			v->failed |= FIELD_BIT(f);
			if ((rc = report_field(v, rule, line, c, f, s)) != DH_OK)
				return rc;
			continue;
		}
		row->present |= FIELD_BIT(f);
		if (f == DH_RPLS_DEPCOM && v->geo && (rc = check_commune(v, line, c, s)) != DH_OK)
			return rc;
	}
	if ((rc = check_cross(v, line)) != DH_OK || (rc = check_postcode(v, line)) != DH_OK ||
	    (rc = check_duplicates(v, rec)) != DH_OK)
		return rc;

done:
	if (v->sink) {
		sink_record_done(v);
		return DH_OK; /* no on_row on the block-parallel path */
	}
	if (!v->row_error)
		v->stats->rows_valid++;
	if (v->cb && v->cb->on_row)
		return v->cb->on_row(v->cb->ctx, row, v->row_error);
	return DH_OK;
}

/* ---- two-thread pipeline ------------------------------------------------------------ */

/*
 * On large inputs, a reader thread runs the CSV parser and copies each record into a ring of
 * batches while the calling thread checks the batches in order: parsing and checking then
 * overlap on two cores, and issues, rows and callbacks stay in file order on the caller's
 * thread. Memory is bounded by the ring (PIPE_BATCHES x about PIPE_BYTES).
 */
#define PIPE_BATCHES 4
#define PIPE_RECORDS 1024
#define PIPE_BYTES ((size_t)256 << 10)
#define PIPE_MIN_INPUT ((uint64_t)4 << 20)

typedef struct pipe_rec {
	uint64_t line, offset;
	size_t nfields;
	uint32_t problem_column;
	int problem;
	size_t first; /* index of its first field in the batch's spans */
	uint64_t dup_first[2]; /* set by batch_ids */
} pipe_rec;

/* A field in a batch: offset and length in the batch's bytes. Half the size of a dh_str,
 * and stable when the bytes move: the batch crosses cores, so its size is what costs. */
typedef struct field_span {
	uint32_t off, len;
} field_span;

typedef struct batch {
	pipe_rec *recs; /* PIPE_RECORDS */
	size_t nrecs;
	field_span *spans;    /* fields of all records */
	size_t nspans, spans_cap;
	char *bytes;    /* the fields' bytes (about PIPE_BYTES, more for one long record) */
	uint64_t *hashes; /* PIPE_RECORDS IDENT_INT hashes, 0 when not checked */
	size_t nbytes, bytes_cap;
	int last; /* the reader stops after this batch */
	int rc;   /* with last: DH_OK at the end of input, or the reader's failure */
} batch;

typedef struct pipeline {
	dh_csv *csv;
	pthread_mutex_t mu;
	pthread_cond_t cv_full, cv_free;
	batch b[PIPE_BATCHES];
	int full[PIPE_BATCHES];
	int stop;     /* the checker asks the reader to stop */
	dh_error err; /* the reader's failure */
	dh_csv_record rec; /* the record being copied */
	validator *v;      /* its IDENT_REP set belongs to the reader during the pipeline */
	uint64_t *hashes;  /* PIPE_RECORDS IDENT_REP hashes of the batch being filled */
	int sized;         /* the reader sized the IDENT_REP set */
} pipeline;

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return DH_OK;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX || n > SIZE_MAX / size)
		return DH_NOMEM;
	void *q = realloc(*p, n * size);
	if (!q)
		return DH_NOMEM;
	*p = q;
	*cap = n;
	return DH_OK;
}

/*
 * Copy one record into the batch. The common case, unquoted fields side by side in the
 * reader's buffer, is one copy of the record's span and one pass over its fields;
 * otherwise field by field.
 */
static int batch_add(batch *b, const dh_csv_record *rec)
{
	size_t n = rec->nfields;
	if (grow((void **)&b->spans, &b->spans_cap, b->nspans + n, sizeof(field_span)))
		return DH_NOMEM;
	field_span *out = b->spans + b->nspans;
	int compact = n > 0 && rec->fields[0].ptr && rec->fields[n - 1].ptr;
	size_t used = 0;
	if (compact) {
		const char *lo = rec->fields[0].ptr;
		const char *hi = rec->fields[n - 1].ptr + rec->fields[n - 1].len;
		size_t extent = hi >= lo ? (size_t)(hi - lo) : SIZE_MAX;
		compact = extent <= UINT32_MAX / 2 &&
			  grow((void **)&b->bytes, &b->bytes_cap, b->nbytes + extent + 1, 1) == DH_OK;
		uint32_t base = (uint32_t)b->nbytes;
		for (size_t i = 0; i < n && compact; i++) {
			const dh_str *f = &rec->fields[i];
			size_t delta = (size_t)(f->ptr - lo);
			compact = f->ptr >= lo && f->ptr <= hi && delta + f->len <= extent;
			out[i].off = base + (uint32_t)delta;
			out[i].len = (uint32_t)f->len;
		}
		if (compact) {
			memcpy(b->bytes + b->nbytes, lo, extent);
			used = extent;
		}
	}
	if (!compact) {
		size_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += rec->fields[i].len;
		if (grow((void **)&b->bytes, &b->bytes_cap, b->nbytes + total + 1, 1))
			return DH_NOMEM;
		for (size_t i = 0; i < n; i++) {
			const dh_str *f = &rec->fields[i];
			if (f->len)
				memcpy(b->bytes + b->nbytes + used, f->ptr, f->len);
			out[i].off = (uint32_t)(b->nbytes + used);
			out[i].len = (uint32_t)f->len;
			used += f->len;
		}
	}
	pipe_rec *r = &b->recs[b->nrecs++];
	r->line = rec->line;
	r->offset = rec->offset;
	r->nfields = n;
	r->problem = rec->problem;
	r->problem_column = rec->problem_column;
	r->first = b->nspans;
	b->nspans += n;
	b->nbytes += used;
	return DH_OK;
}

/*
 * Lookups of id k for a whole batch, in file order, prefetching a few records ahead. The
 * reader thread hashes both ids when it has filled a batch and looks IDENT_REP up; the
 * checking thread looks IDENT_INT up before it checks the batch (this split balances the
 * two threads). Each set has one owner and is sized from its first batch.
 */
#define PREFETCH_AHEAD 8

static void batch_hashes(const validator *v, const batch *b, int k, uint64_t *hashes)
{
	int col = v->col_of[id_fields[k]];
	for (size_t r = 0; r < b->nrecs; r++) {
		const pipe_rec *pr = &b->recs[r];
		hashes[r] = 0;
		if (col >= 0 && pr->nfields == v->ncols) {
			const field_span *sp = &b->spans[pr->first + (size_t)col];
			dh_str s = { b->bytes + sp->off, sp->len };
			hashes[r] = id_hash_field(v, col, pr->problem, pr->nfields, s);
		}
	}
}

static int batch_lookups(validator *v, batch *b, int k, const uint64_t *hashes, int *sized)
{
	if (v->col_of[id_fields[k]] < 0)
		return DH_OK;
	size_t n = b->nrecs;
	if (!*sized && n >= 64) {
		*sized = 1;
		uint64_t extent = b->recs[n - 1].offset - b->recs[0].offset;
		uint64_t per_row = extent / (n - 1);
		if (v->input_size && per_row) {
			uint64_t rows = v->input_size / per_row;
			int rc = idset_reserve(&v->ids[k], rows + rows / 20);
			if (rc)
				return rc;
		}
	}
	for (size_t r = 0; r < n; r++) {
		if (r + PREFETCH_AHEAD < n && hashes[r + PREFETCH_AHEAD])
			idset_prefetch(&v->ids[k], hashes[r + PREFETCH_AHEAD]);
		int rc = id_lookup(v, k, hashes[r], b->recs[r].line, &b->recs[r].dup_first[k]);
		if (rc)
			return rc;
	}
	return DH_OK;
}

static void *reader_main(void *arg)
{
	pipeline *p = arg;
	for (size_t i = 0;; i = (i + 1) % PIPE_BATCHES) {
		pthread_mutex_lock(&p->mu);
		while (p->full[i] && !p->stop)
			pthread_cond_wait(&p->cv_free, &p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		batch *b = &p->b[i];
		b->nrecs = b->nspans = b->nbytes = 0;
		b->last = 0;
		b->rc = DH_OK;
		while (b->nrecs < PIPE_RECORDS && b->nbytes < PIPE_BYTES) {
			int rc = dh_csv_next(p->csv, &p->rec, &p->err);
			if (rc == DH_OK)
				rc = batch_add(b, &p->rec);
			if (rc != DH_OK) {
				b->last = 1;
				b->rc = rc == DH_EOF ? DH_OK : rc;
				if (rc == DH_NOMEM)
					dh_error_set(&p->err, DH_NOMEM, "mémoire insuffisante pour lire « %s »",
						     dh_csv_name(p->csv));
				break;
			}
		}
		batch_hashes(p->v, b, 0, p->hashes);
		batch_hashes(p->v, b, 1, b->hashes);
		if (batch_lookups(p->v, b, 0, p->hashes, &p->sized) != DH_OK) {
			b->last = 1;
			b->rc = DH_NOMEM;
			dh_error_set(&p->err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(p->csv));
		}
		pthread_mutex_lock(&p->mu);
		p->full[i] = 1;
		pthread_cond_signal(&p->cv_full);
		pthread_mutex_unlock(&p->mu);
		if (b->last)
			return NULL;
	}
}

/* Check the rest of the input with a reader thread. Returns DH_EOF when the input was read
 * to its end, or a failure (reader or callback); falls back to DH_OK (the caller goes on
 * alone) when the thread cannot be started. */
static int run_pipeline(validator *v, dh_csv *csv, dh_error *err)
{
	pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return DH_OK;
	int rc = DH_OK;
	p->v = v;
	dh_str *fields = NULL; /* the record being checked, as views into its batch */
	size_t fields_cap = 0;
	int sized = 0; /* this thread sized the IDENT_INT set */
	if (!(p->hashes = malloc(PIPE_RECORDS * sizeof(*p->hashes))))
		rc = DH_NOMEM;
	for (int i = 0; i < PIPE_BATCHES && rc == DH_OK; i++) {
		p->b[i].bytes_cap = PIPE_BYTES;
		if (!(p->b[i].recs = malloc(PIPE_RECORDS * sizeof(pipe_rec))) ||
		    !(p->b[i].hashes = malloc(PIPE_RECORDS * sizeof(uint64_t))) ||
		    !(p->b[i].bytes = malloc(PIPE_BYTES)))
			rc = DH_NOMEM;
	}
	p->csv = csv;
	int threaded = 0;
	if (rc == DH_OK && pthread_mutex_init(&p->mu, NULL) == 0) {
		if (pthread_cond_init(&p->cv_full, NULL) == 0) {
			if (pthread_cond_init(&p->cv_free, NULL) == 0) {
				pthread_t reader;
				if (pthread_create(&reader, NULL, reader_main, p) == 0) {
					threaded = 1;
					v->dup_known = 1;
					rc = DH_OK;
					for (size_t i = 0; rc == DH_OK; i = (i + 1) % PIPE_BATCHES) {
						pthread_mutex_lock(&p->mu);
						while (!p->full[i])
							pthread_cond_wait(&p->cv_full, &p->mu);
						pthread_mutex_unlock(&p->mu);
						batch *b = &p->b[i];
						rc = batch_lookups(v, b, 1, b->hashes, &sized);
						for (size_t r = 0; r < b->nrecs && rc == DH_OK; r++) {
							const pipe_rec *pr = &b->recs[r];
							if (grow((void **)&fields, &fields_cap, pr->nfields, sizeof(dh_str))) {
								rc = DH_NOMEM;
								break;
							}
							const field_span *sp = b->spans + pr->first;
							for (size_t j = 0; j < pr->nfields; j++) {
								fields[j].ptr = b->bytes + sp[j].off;
								fields[j].len = sp[j].len;
							}
							dh_csv_record rec = { .fields = fields, .nfields = pr->nfields,
									      .line = pr->line, .offset = pr->offset,
									      .problem = pr->problem,
									      .problem_column = pr->problem_column };
							v->dup_first[0] = pr->dup_first[0];
							v->dup_first[1] = pr->dup_first[1];
							rc = check_record(v, &rec);
						}
						int last = b->last, brc = b->rc;
						pthread_mutex_lock(&p->mu);
						p->full[i] = 0;
						pthread_cond_signal(&p->cv_free);
						pthread_mutex_unlock(&p->mu);
						if (rc == DH_OK && last) {
							rc = brc == DH_OK ? DH_EOF : brc;
							if (brc != DH_OK && err)
								*err = p->err;
						}
					}
					pthread_mutex_lock(&p->mu);
					p->stop = 1;
					pthread_cond_broadcast(&p->cv_free);
					pthread_mutex_unlock(&p->mu);
					pthread_join(reader, NULL);
					v->dup_known = 0;
				}
				pthread_cond_destroy(&p->cv_free);
			}
			pthread_cond_destroy(&p->cv_full);
		}
		pthread_mutex_destroy(&p->mu);
	}
	for (int i = 0; i < PIPE_BATCHES; i++) {
		free(p->b[i].recs);
		free(p->b[i].spans);
		free(p->b[i].hashes);
		free(p->b[i].bytes);
	}
	free(p->hashes);
	free(p);
	free(fields);
	if (!threaded && rc == DH_NOMEM)
		return DH_OK; /* no room for the ring: check on this thread alone */
	return rc;
}

/* ---- block-parallel validation ------------------------------------------------------ */

/*
 * Large rereadable inputs (a regular file opened by path, or memory) validated without an
 * on_row callback (`datahabitat validate`) are cut into blocks of par_block bytes that two
 * threads (the caller and one worker) parse and check independently, as DuckDB's parallel
 * CSV reader does; an ordered emission stage on the calling thread then replays each block's
 * issues in file order. With an on_row callback (import), rows must come in order with their
 * memory: those inputs keep the two-thread pipeline.
 *
 * A block [start, end) owns the records that start in it. Its worker guesses the first
 * record boundary (the first line break at or after start - 1, assuming it is not inside
 * quotes), then parses and checks up to the first record starting at or after end, which it
 * reports (offset, relative line) without checking it. Line numbers are relative to the
 * block's first byte; issues and the ids (hashes, for the duplicate checks) are buffered.
 *
 * Emission, block after block, in order: the guess holds when the previous block's next
 * record is exactly the block's first record (parsing from a record start is deterministic)
 * and the encoding the worker decided, if it had to, agrees with the one decided before;
 * otherwise the block is parsed again from the true boundary on the calling thread (rare:
 * a quoted field with a line break across a boundary). Then the relative lines are fixed up,
 * the issues counted and handed to on_issue, the duplicate ids looked up in file order
 * (first lines stay right), and rows counted. So the report is the sequential one.
 * Memory: PAR_SLOTS blocks in flight (buffers of a few MiB) besides the id sets.
 */
#define PAR_SLOTS 4
#define PAR_BLOCK_DEFAULT ((size_t)4 << 20)
#define PAR_MIN_DEFAULT ((uint64_t)16 << 20)

static int par_enabled = 1;
static size_t par_block = PAR_BLOCK_DEFAULT;
static uint64_t par_min = PAR_MIN_DEFAULT;
static atomic_ullong par_runs, par_reparsed;

void dh__validate_set_parallel(int enabled, size_t block_size, uint64_t min_input)
{
	par_enabled = enabled;
	par_block = block_size ? block_size : PAR_BLOCK_DEFAULT;
	par_min = min_input ? min_input : PAR_MIN_DEFAULT;
}

void dh__validate_parallel_counts(uint64_t *runs, uint64_t *reparsed)
{
	*runs = atomic_load(&par_runs);
	*reparsed = atomic_load(&par_reparsed);
}

typedef struct bissue {
	uint32_t rec;           /* index of its record in the block */
	uint32_t column;
	int rule, field;
	const char *field_name; /* static, or the validator's column names */
	size_t value_off, value_len; /* in the arena */
	size_t msg_off;         /* in the arena (NUL-terminated), SIZE_MAX without message */
} bissue;

typedef struct brec {
	uint64_t line;          /* relative to the block */
	uint64_t hash[2];       /* id hashes, 0 when not checked */
	size_t id_off[2];       /* trimmed id values in the arena, when present */
	uint32_t id_len[2];
	uint32_t issue_end;     /* its issues end there (they start where the previous ended) */
	unsigned present;       /* bit k: id k present (a duplicate is reported) */
} brec;

typedef struct block {
	size_t index;
	uint64_t start, end;    /* records starting in [start, end) */
	int exact;              /* start is a known record boundary (no guess) */
	dh_encoding enc_in;     /* encoding given to the reader */
	int state;              /* 0 free, 1 being parsed, 2 done */
	int rc;                 /* DH_OK, or the reader's / memory failure */
	dh_error err;
	uint64_t first_off, first_line; /* first record (guess) or start (exact, line 1) */
	uint64_t next_off, next_line;   /* first record at or after end, or end of input */
	int at_eof;
	dh_encoding enc_out;    /* encoding after its last record */
	int saw_non_ascii;
	brec *recs;
	size_t nrecs, recs_cap;
	bissue *issues;
	size_t nissues, issues_cap;
	char *arena;
	size_t arena_len, arena_cap;
} block;

static int arena_put(block *b, const char *p, size_t n, int nul, size_t *off)
{
	if (grow((void **)&b->arena, &b->arena_cap, b->arena_len + n + 1, 1))
		return DH_NOMEM;
	*off = b->arena_len;
	if (n)
		memcpy(b->arena + b->arena_len, p, n);
	b->arena_len += n;
	if (nul)
		b->arena[b->arena_len++] = '\0';
	return DH_OK;
}

static int sink_record(validator *v, uint64_t line)
{
	block *b = v->sink;
	if (grow((void **)&b->recs, &b->recs_cap, b->nrecs + 1, sizeof(brec)))
		return DH_NOMEM;
	brec *r = &b->recs[b->nrecs++];
	memset(r, 0, sizeof(*r));
	r->line = line;
	return DH_OK;
}

static void sink_record_done(validator *v)
{
	block *b = v->sink;
	b->recs[b->nrecs - 1].issue_end = (uint32_t)b->nissues;
}

static int sink_issue(validator *v, int rule, uint32_t column, int field, const char *field_name,
		      dh_str value, const char *message)
{
	block *b = v->sink;
	if (grow((void **)&b->issues, &b->issues_cap, b->nissues + 1, sizeof(bissue)))
		return DH_NOMEM;
	bissue *is = &b->issues[b->nissues];
	is->rec = (uint32_t)(b->nrecs - 1);
	is->column = column;
	is->rule = rule;
	is->field = field;
	is->field_name = field_name;
	is->value_len = value.len;
	is->msg_off = SIZE_MAX;
	if (arena_put(b, value.ptr, value.len, 0, &is->value_off) ||
	    (message && arena_put(b, message, strlen(message), 1, &is->msg_off)))
		return DH_NOMEM;
	b->nissues++;
	return DH_OK;
}

static int sink_ids(validator *v, const dh_csv_record *rec)
{
	block *b = v->sink;
	brec *r = &b->recs[b->nrecs - 1];
	for (int k = 0; k < 2; k++) {
		r->hash[k] = id_hash_of(v, rec, k);
		if (!r->hash[k] || !PRESENT(v, id_fields[k]))
			continue;
		dh_str s = v->row.text[id_fields[k]];
		r->present |= 1u << k;
		r->id_len[k] = (uint32_t)s.len;
		if (arena_put(b, s.ptr, s.len, 0, &r->id_off[k]))
			return DH_NOMEM;
	}
	return DH_OK;
}

/* Parse and check block b with the worker validator w and its reader rd. */
static void process_block(validator *w, dh_csv *rd, block *b)
{
	b->nrecs = b->nissues = b->arena_len = 0;
	b->rc = DH_OK;
	b->at_eof = 0;
	b->enc_out = b->enc_in;
	b->saw_non_ascii = 0;
	b->first_off = b->next_off = UINT64_MAX;
	b->first_line = b->next_line = 1;
	dh_error_clear(&b->err);
	w->sink = b;
	dh_csv_seek(rd, b->exact ? b->start : b->start - 1, b->enc_in);
	if (b->exact)
		b->first_off = b->start;
	else if ((b->rc = dh_csv_skip_line(rd, &b->err)) != DH_OK)
		return;
	int first = !b->exact;
	dh_csv_record rec;
	for (;;) {
		int rc = dh_csv_next(rd, &rec, &b->err);
		if (rc == DH_EOF) {
			b->at_eof = 1;
			b->next_off = dh_csv_bytes(rd);
			b->next_line = dh_csv_line(rd);
			if (first) {
				b->first_off = b->next_off;
				b->first_line = b->next_line;
			}
			return;
		}
		if (rc != DH_OK) {
			b->rc = rc;
			return;
		}
		if (first) {
			first = 0;
			b->first_off = rec.offset;
			b->first_line = rec.line;
		}
		if (rec.offset >= b->end) {
			b->next_off = rec.offset;
			b->next_line = rec.line;
			return;
		}
		if ((rc = check_record(w, &rec)) != DH_OK) {
			b->rc = rc;
			return;
		}
		b->enc_out = dh_csv_encoding(rd);
		b->saw_non_ascii |= dh_csv_saw_non_ascii(rd);
	}
}

typedef struct worker {
	validator v;  /* clone of the main validator, buffering into its block */
	dh_csv *rd;   /* its range reader */
} worker;

typedef struct par {
	validator *v;
	uint64_t s0, size;
	size_t nblocks, next_take, next_emit;
	block slots[PAR_SLOTS];
	int stop;
	dh_encoding enc;        /* decided so far (published to the blocks taken later) */
	int saw_non_ascii;
	uint64_t prev_next_off; /* where the previous block's next record starts */
	uint64_t line;          /* its absolute line */
	uint64_t bytes;         /* input size at the end */
	pthread_mutex_t mu;
	pthread_cond_t cv;
} par;

/* With the lock: take the next block if its slot is free. */
static block *take_block(par *p)
{
	if (p->stop || p->next_take >= p->nblocks || p->next_take >= p->next_emit + PAR_SLOTS)
		return NULL;
	size_t i = p->next_take++;
	block *b = &p->slots[i % PAR_SLOTS];
	b->index = i;
	b->start = p->s0 + (uint64_t)i * par_block;
	b->end = i + 1 == p->nblocks ? UINT64_MAX : b->start + par_block;
	b->exact = i == 0;
	b->enc_in = par_enabled == 2 ? DH_ENC_AUTO : p->enc;
	b->state = 1;
	return b;
}

static void *worker_main(void *arg)
{
	void **args = arg;
	par *p = args[0];
	worker *w = args[1];
	pthread_mutex_lock(&p->mu);
	for (;;) {
		block *b;
		while (!(b = take_block(p)) && !p->stop && p->next_take < p->nblocks)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!b)
			break;
		pthread_mutex_unlock(&p->mu);
		process_block(&w->v, w->rd, b);
		pthread_mutex_lock(&p->mu);
		b->state = 2;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

#define PAR_PREFETCH 8

/* Emit block b in file order (calling thread, lock not held); `self` re-parses it when the
 * guess was wrong. */
static int emit_block(par *p, worker *self, block *b, dh_error *err)
{
	validator *v = p->v;
	dh_encoding enc = p->enc; /* only this thread writes it */
	int enc_clash = b->enc_in == DH_ENC_AUTO && b->enc_out != DH_ENC_AUTO && enc != DH_ENC_AUTO &&
			b->enc_out != enc;
	if (enc_clash || (!b->exact && (b->rc != DH_OK || b->first_off != p->prev_next_off))) {
		b->exact = 1;
		b->start = p->prev_next_off;
		b->enc_in = enc;
		atomic_fetch_add(&par_reparsed, 1);
		process_block(&self->v, self->rd, b);
	}
	if (b->exact)
		b->first_line = 1;
	uint64_t shift = p->line - b->first_line; /* absolute = relative + shift (mod 2^64) */
	if (enc == DH_ENC_AUTO && b->enc_out != DH_ENC_AUTO) {
		pthread_mutex_lock(&p->mu);
		p->enc = b->enc_out;
		pthread_mutex_unlock(&p->mu);
	}
	p->saw_non_ascii |= b->saw_non_ascii;
	if (!v->sized && b->nrecs >= 2 && b->next_off > b->first_off) {
		v->sized = 1;
		uint64_t per_row = (b->next_off - b->first_off) / b->nrecs;
		uint64_t rows = p->size / (per_row ? per_row : 1);
		rows += rows / 20;
		for (int k = 0; k < 2; k++)
			if (v->col_of[id_fields[k]] >= 0 && idset_reserve(&v->ids[k], rows) != DH_OK)
				return DH_NOMEM;
	}
	int rc = DH_OK;
	size_t is = 0;
	for (size_t r = 0; r < b->nrecs; r++) {
		const brec *br = &b->recs[r];
		uint64_t line = br->line + shift;
		v->stats->rows++;
		v->row_error = 0;
		for (; is < br->issue_end; is++) {
			const bissue *x = &b->issues[is];
			dh_str value = { b->arena + x->value_off, x->value_len };
			const char *msg = x->msg_off == SIZE_MAX ? NULL : b->arena + x->msg_off;
			if ((rc = emit_message(v, x->rule, line, x->column, x->field, x->field_name, value, msg)))
				return rc;
		}
		if (r + PAR_PREFETCH < b->nrecs) {
			for (int k = 0; k < 2; k++)
				if (b->recs[r + PAR_PREFETCH].hash[k])
					idset_prefetch(&v->ids[k], b->recs[r + PAR_PREFETCH].hash[k]);
		}
		uint64_t first[2];
		for (int k = 0; k < 2; k++)
			if ((rc = id_lookup(v, k, br->hash[k], line, &first[k])) != DH_OK)
				return rc;
		for (int k = 0; k < 2; k++) {
			if (!first[k] || !(br->present & (1u << k)))
				continue;
			dh_str s = { b->arena + br->id_off[k], br->id_len[k] };
			if ((rc = report_duplicate(v, k, line, s, first[k])) != DH_OK)
				return rc;
		}
		if (!v->row_error)
			v->stats->rows_valid++;
	}
	if (b->rc != DH_OK) {
		if (err)
			*err = b->err;
		return b->rc;
	}
	p->prev_next_off = b->next_off;
	p->line = b->next_line + shift;
	if (b->at_eof)
		p->bytes = b->next_off;
	return DH_OK;
}

static int worker_init(worker *w, const validator *v, const dh_csv *csv, dh_error *err)
{
	w->v = *v;
	memset(&w->v.ids, 0, sizeof(w->v.ids));
	w->v.commune_lookups = DENSE_AFTER + 1; /* the tables are shared, never built by a worker */
	return dh_csv_open_like(&w->rd, csv, 0, err);
}

/*
 * Validate the rest of the input (from the reader's position) by blocks. Returns DH_EOF
 * when the input was read to its end, or a failure (reader, memory, callback).
 */
static int run_parallel(validator *v, dh_csv *csv, uint64_t size, dh_error *err)
{
	uint64_t s0 = dh_csv_bytes(csv);
	atomic_fetch_add(&par_runs, 1);
	if (v->geo && !v->communes && !v->tables_failed) {
		v->commune_lookups = DENSE_AFTER + 1;
		v->communes = commune_table_new(v->geo);
		v->postcodes = postcode_table_new(v->geo);
		if (!v->communes || !v->postcodes) {
			free(v->communes);
			free(v->postcodes);
			v->communes = NULL;
			v->postcodes = NULL;
			v->tables_failed = 1;
		}
	}
	par *p = calloc(1, sizeof(*p));
	worker *ws = calloc(2, sizeof(*ws));
	if (!p || !ws || pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		free(ws);
		return DH_NOMEM;
	}
	if (pthread_cond_init(&p->cv, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		free(ws);
		return DH_NOMEM;
	}
	p->v = v;
	p->s0 = s0;
	p->size = size;
	p->nblocks = size > s0 ? (size_t)((size - s0 + par_block - 1) / par_block) : 1;
	p->enc = dh_csv_encoding(csv);
	p->saw_non_ascii = dh_csv_saw_non_ascii(csv);
	p->prev_next_off = s0;
	p->line = dh_csv_line(csv);
	p->bytes = s0;
	int rc = worker_init(&ws[0], v, csv, err);
	pthread_t thread;
	int threaded = 0;
	void *args[2] = { p, &ws[1] };
	if (rc == DH_OK && worker_init(&ws[1], v, csv, NULL) == DH_OK)
		threaded = pthread_create(&thread, NULL, worker_main, args) == 0;
	pthread_mutex_lock(&p->mu);
	while (rc == DH_OK && p->next_emit < p->nblocks) {
		block *b = &p->slots[p->next_emit % PAR_SLOTS];
		if (b->state == 2 && b->index == p->next_emit) {
			pthread_mutex_unlock(&p->mu);
			rc = emit_block(p, &ws[0], b, err);
			pthread_mutex_lock(&p->mu);
			b->state = 0;
			p->next_emit++;
			pthread_cond_broadcast(&p->cv);
			continue;
		}
		if ((b = take_block(p)) != NULL) {
			pthread_mutex_unlock(&p->mu);
			process_block(&ws[0].v, ws[0].rd, b);
			pthread_mutex_lock(&p->mu);
			b->state = 2;
			continue;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (threaded)
		pthread_join(thread, NULL);
	if (rc == DH_OK) {
		rc = DH_EOF;
		v->stats->bytes = p->bytes;
		v->stats->encoding = dh_encoding_name(p->enc, p->saw_non_ascii);
	}
	for (int i = 0; i < 2; i++)
		dh_csv_free(ws[i].rd);
	for (int i = 0; i < PAR_SLOTS; i++) {
		free(p->slots[i].recs);
		free(p->slots[i].issues);
		free(p->slots[i].arena);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	free(ws);
	return rc;
}

/* ---- driver ------------------------------------------------------------------------- */

static int current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm))
		return 2100;
	return tm.tm_year + 1900;
}

static void fill_reader_stats(dh_validate_stats *stats, const dh_csv *csv)
{
	stats->bytes = dh_csv_bytes(csv);
	stats->encoding = dh_encoding_name(dh_csv_encoding(csv), dh_csv_saw_non_ascii(csv));
	stats->delimiter = dh_csv_delimiter(csv);
}

/* Read the first records: optional landlord record, optional header; builds the columns.
 * On return *pending is 1 when rec holds a data record still to check. */
static int start(validator *v, dh_csv *csv, const dh_validate_options *opt, dh_csv_record *rec, int *pending,
		 dh_error *err)
{
	dh_validate_stats *stats = v->stats;
	*pending = 0;
	int rc = dh_csv_next(csv, rec, err);
	if (rc == DH_EOF) {
		rc = emit(v, DH__RULE_EMPTY_FILE, 0, 0, -1, "", no_value,
			  "le fichier ne contient aucun enregistrement : attendu une ligne par logement");
		return rc ? rc : dh_error_set(err, DH_INVALID_DATA, "le fichier « %s » est vide", dh_csv_name(csv));
	}
	if (rc != DH_OK)
		return rc;

	/* A landlord record counts only when a header follows it. */
	int landlord = 0;
	uint64_t landlord_line = 0;
	size_t landlord_fields = 0;
	char siren[10] = "";
	if (rec->problem == DH_CSV_FINE && rec->nfields >= 1 && rec->nfields <= 4 && is_siren(rec->fields[0])) {
		dh_strlcpy_view(siren, sizeof(siren), trim(rec->fields[0]));
		landlord_line = rec->line;
		landlord_fields = rec->nfields;
		rc = dh_csv_next(csv, rec, err);
		if (rc != DH_OK && rc != DH_EOF)
			return rc;
		if (rc == DH_OK && looks_like_header(rec)) {
			landlord = 1;
			memcpy(stats->landlord_siren, siren, sizeof(siren));
		} else {
			/* Not a landlord record: a data record of the canonical layout, too short. */
			int at_eof = rc == DH_EOF;
			stats->layout = DH_LAYOUT_RPLS;
			if (opt->layout == DH_LAYOUT_RPLS_OPENDATA)
				return dh_error_set(err, DH_INVALID_DATA,
						    "le format rpls-opendata exige une ligne d'en-tête");
			if ((rc = canonical_layout(v)) != DH_OK)
				return rc;
			stats->rows++;
			v->row_error = 0;
			rc = emit(v, DH__RULE_TOO_FEW_FIELDS, landlord_line, 0, -1, "", no_value,
				  "l'enregistrement compte %zu champ%s : attendu %d (ordre canonique RPLS)", landlord_fields,
				  landlord_fields > 1 ? "s" : "", DH_RPLS_NFIELDS);
			if (rc)
				return rc;
			if (v->cb && v->cb->on_row) {
				v->row.line = landlord_line;
				v->row.commune = -1;
				if ((rc = v->cb->on_row(v->cb->ctx, &v->row, 1)) != DH_OK)
					return rc;
			}
			*pending = !at_eof;
			return DH_OK;
		}
	}
	(void)landlord;

	if (looks_like_header(rec)) {
		dh_layout layout = opt->layout;
		if (layout == DH_LAYOUT_AUTO) {
			layout = DH_LAYOUT_RPLS;
			for (size_t i = 0; i < rec->nfields; i++)
				if (dh__opendata_marker(rec->fields[i])) {
					layout = DH_LAYOUT_RPLS_OPENDATA;
					break;
				}
		}
		stats->layout = layout;
		stats->has_header = 1;
		return header_layout(v, rec, layout, err);
	}
	stats->layout = DH_LAYOUT_RPLS;
	if (opt->layout == DH_LAYOUT_RPLS_OPENDATA)
		return dh_error_set(err, DH_INVALID_DATA, "le format rpls-opendata exige une ligne d'en-tête");
	if ((rc = canonical_layout(v)) != DH_OK)
		return rc;
	*pending = 1;
	return DH_OK;
}

int dh_validate_csv(dh_csv *csv, const dh_validate_options *opt, const dh_geo *geo,
		    const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err)
{
	static const dh_validate_options defaults;
	if (!opt)
		opt = &defaults;
	memset(stats, 0, sizeof(*stats));
	stats->encoding = "ascii";
	stats->layout = opt->layout;
	stats->rule_counts = calloc(DH__RULE_COUNT, sizeof(uint64_t));
	if (!stats->rule_counts)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	if (!csv)
		return dh_error_set(err, DH_INVAL, "aucun lecteur CSV");

	validator *v = calloc(1, sizeof(*v));
	if (!v)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	v->geo = geo;
	v->cb = cb;
	v->stats = stats;
	v->reference_year = opt->reference_year > 0 ? opt->reference_year : current_year();
	v->input_size = opt->input_size;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		v->col_of[f] = -1;
	v->row.commune = -1;

	dh_csv_record rec;
	int pending = 0;
	int rc = start(v, csv, opt, &rec, &pending, err);
	if (rc == DH_OK && pending)
		rc = check_record(v, &rec);
	uint64_t size = 0;
	int parallel = rc == DH_OK && par_enabled && !(cb && cb->on_row) && dh_csv_rereadable(csv, &size) &&
		       size >= par_min;
	if (parallel)
		rc = run_parallel(v, csv, size, err);
	else if (rc == DH_OK && v->input_size >= PIPE_MIN_INPUT)
		rc = run_pipeline(v, csv, err);
	while (rc == DH_OK) {
		rc = dh_csv_next(csv, &rec, err);
		if (rc == DH_EOF) {
			rc = DH_EOF;
			break;
		}
		if (rc == DH_OK)
			rc = check_record(v, &rec);
	}
	if (rc == DH_EOF)
		rc = DH_OK;
	if (!parallel || rc != DH_OK)
		fill_reader_stats(stats, csv);
	else
		stats->delimiter = dh_csv_delimiter(csv); /* bytes and encoding: run_parallel */
	if (stats->layout == DH_LAYOUT_AUTO)
		stats->layout = DH_LAYOUT_RPLS;
	if (rc == DH_NOMEM && err && err->code != DH_NOMEM)
		dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour valider « %s »", dh_csv_name(csv));
	idset_release(&v->ids[0]);
	idset_release(&v->ids[1]);
	free(v->cols);
	free(v->names);
	free(v->communes);
	free(v->postcodes);
	free(v);
	return rc;
}

int dh_validate_file(const char *path, const dh_validate_options *opt, const dh_geo *geo,
		     const dh_validate_callbacks *cb, dh_validate_stats *stats, dh_error *err)
{
	dh_validate_options local = { 0 };
	if (opt)
		local = *opt;
	dh_csv *csv = NULL;
	int rc = dh_csv_open_path(&csv, path, &local.csv, err);
	if (rc != DH_OK) {
		memset(stats, 0, sizeof(*stats));
		stats->encoding = "ascii";
		stats->rule_counts = calloc(DH__RULE_COUNT, sizeof(uint64_t));
		return rc;
	}
	struct stat st;
	if (local.input_size == 0 && strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		local.input_size = (uint64_t)st.st_size;
	rc = dh_validate_csv(csv, &local, geo, cb, stats, err);
	dh_csv_free(csv);
	return rc;
}
