/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * internal.h - the ingest subsystem's internal interface (reader, layouts, rules, validator,
 * report, import). Not public API: nothing outside src/ingest/ (and the tests and fuzz
 * targets of this subsystem) includes it.
 */
#ifndef DH_INGEST_INTERNAL_H
#define DH_INGEST_INTERNAL_H

/*
 * csv_internal.h - test hooks of the CSV reader (src/ingest/csv.c), not public API.
 *
 * Tests and the fuzz target use them to run the reader with a tiny read size, so that
 * records straddle buffer refills constantly.
 */

#include "datahabitat/csv.h"

/*
 * Like dh_csv_open_mem() / dh_csv_open_fd(), but each refill asks for at most
 * `read_size` bytes (0: the default) and the buffer holds max_record + 1 + read_size bytes.
 */
int dh__csv_open_mem_sized(dh_csv **out, const void *data, size_t len, const char *name,
                          const dh_csv_options *opt, size_t read_size, dh_error *err);
int dh__csv_open_fd_sized(dh_csv **out, int fd, const char *name, const dh_csv_options *opt,
                         size_t read_size, dh_error *err);

/* 1 when the input started with a UTF-16 BOM and was transcoded to UTF-8 (first record on). */
int dh__csv_was_utf16(const dh_csv *csv);

/* ---- The reader's state, shared by csv.c (the reader) and csv_detect.c (detection and
 * UTF-16 transcoding). Nothing else looks inside. ---- */

struct dh_csv {
	int fd;                   /* input descriptor, -1 for memory input */
	int own_fd;               /* close fd in dh_csv_free() */
	int use_pread;            /* range reader (dh__csv_open_like): read at file_off with pread */
	uint64_t file_off;        /* next offset to read when use_pread */
	const unsigned char *mem; /* memory input (borrowed, or owned), NULL for descriptors */
	unsigned char *owned;     /* mem when the reader owns it (a UTF-16 file transcoded) */
	size_t mem_len;           /* bytes of memory input */
	size_t mem_pos;           /* bytes of memory input already copied into buf */
	unsigned char *buf;       /* cap + SLACK bytes */
	size_t cap;               /* data capacity of buf: max_record + 1 + read_size */
	size_t read_size;         /* bytes asked per refill */
	unsigned char *pos;       /* first byte not consumed yet */
	unsigned char *end;       /* end of the valid bytes of buf */
	uint64_t base_off;        /* input offset of buf[0] */
	uint64_t line;            /* 1-based physical line at pos */
	int eof;                  /* the input has no more bytes than [buf, end) */
	int fatal;                /* sticky fatal result code, DH_OK if none */
	char fatal_msg[320];      /* its message, repeated by later calls */
	int started;              /* BOM and delimiter detection done */
	char delim;               /* delimiter in use (0 until detected) */
	dh_encoding enc;          /* encoding in use, DH_ENC_AUTO until decided */
	int saw_non_ascii;        /* a byte >= 0x80 was met */
	int had_bom;              /* the input started with a UTF-8 BOM */
	int utf16;                /* the file was UTF-16 (with a BOM), transcoded into owned */
	size_t max_field;         /* resolved limits */
	size_t max_record;
	size_t max_fields;
	dh_str *fields;         /* max_fields views of the current record */
	uint32_t *quoted;       /* indices of the quoted fields to unescape in the current record */
	uint32_t *nonascii;     /* indices of its fields where the scan met non-ASCII bytes */
	unsigned char *scratch; /* transcoded fields of the current record */
	size_t scratch_cap;     /* bytes allocated for scratch (< 2 * (3 * max_record + 4)) */
	size_t scratch_len;     /* bytes used by the current record */
	char *name;             /* path or name given at open */
};

/* Length of the valid UTF-8 sequence at p (p < e, *p >= 0x80), 0 if invalid. */
static inline size_t dh__csv_utf8_sequence(const unsigned char *p, const unsigned char *e)
{
	size_t avail = (size_t)(e - p);
	unsigned char c = p[0];
	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
			return 0; /* overlong, or UTF-16 surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
			return 0; /* overlong, or above U+10FFFF */
		return 4;
	}
	return 0;
}

static inline unsigned char *dh__csv_put_utf8(unsigned char *w, unsigned cp)
{
	if (cp < 0x800) {
		*w++ = (unsigned char)(0xC0 | (cp >> 6));
		*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (unsigned char)(0xE0 | (cp >> 12));
		*w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	return w;
}

/* csv_detect.c: each returns 0 when more bytes are needed, 1 once decided. */
int dh__csv_detect_delimiter(dh_csv *csv);
int dh__csv_detect_encoding(dh_csv *csv);
/* UTF-8 of UTF-16 (little-endian when le) text, BOM excluded; unpaired surrogates and an odd
 * last byte become U+FFFD. out holds at least len / 2 * 3 + 3 bytes. Returns the length. */
size_t dh__csv_utf16_to_utf8(const unsigned char *in, size_t len, int le, unsigned char *out);

/* The reader's resolved limits: fields per record and bytes per record. */
void dh__csv_limits(const dh_csv *csv, size_t *max_fields, size_t *max_record);

/* Bytes allocated by the reader for its buffers (buffer, fields, scratch). */
size_t dh__csv_memory(const dh_csv *csv);

/*
 * Range readers, for the block-parallel validator (validate.c): several readers over one
 * input, each positioned at an offset. Not thread-safe on one reader; distinct readers over
 * one input may run concurrently (they read with pread, or from the borrowed memory).
 */

/* 1 when the input can be read again at any offset (memory input, or a regular file opened
 * by path): *size is then its total size in bytes. 0 for standard input, pipes... */
int dh__csv_rereadable(const dh_csv *csv, uint64_t *size);

/* 1-based physical line at the reader's position (the line of the next byte to consume). */
uint64_t dh__csv_line(const dh_csv *csv);

/* A new reader over the same input as `like` (which must be rereadable), with its options
 * and its delimiter (already detected): no BOM or delimiter detection. The descriptor stays
 * owned by `like`, which must outlive it. Position it with dh__csv_seek() before use.
 * read_size as for dh__csv_open_mem_sized(). Returns DH_OK, DH_NOMEM, DH_INVAL. */
int dh__csv_open_like(dh_csv **out, const dh_csv *like, size_t read_size, dh_error *err);

/* Restart the reader at input `offset`, counting lines from 1 there, with encoding `enc`
 * (DH_ENC_AUTO: decided again by the first non-ASCII field); clears a fatal state and the
 * non-ASCII flag. */
void dh__csv_seek(dh_csv *csv, uint64_t offset, dh_encoding enc);

/* Consume bytes up to and including the first line break (LF, CRLF or lone CR), quotes not
 * considered, then count lines from 1 again. Returns DH_OK (also at the end of input) or the
 * reader's fatal code (DH_IO). */
int dh__csv_skip_line(dh_csv *csv, dh_error *err);

/*
 * validate_internal.h - test hooks of the validator (src/ingest/validate.c), not public API.
 *
 * Tests and the fuzz target use them to force the block-parallel path on small inputs with
 * tiny blocks, so that records, quoted line breaks, CRLF and multi-byte characters straddle
 * block boundaries.
 */

#include <stddef.h>
#include <stdint.h>

/*
 * Block-parallel validation (validate.c): enabled or not (1 by default; 2: enabled, and every
 * block starts with the encoding undecided, so that the correction of blocks that decide
 * differently from the file is tested deterministically), block size in bytes
 * (0: the default, 4 MiB), and the input size in bytes from which it is used (0: the default,
 * 16 MiB; 1: every rereadable input). Process-wide setting: call it before validations start,
 * never while one runs (not thread-safe).
 */
void dh__validate_set_parallel(int enabled, size_t block_size, uint64_t min_input);

/* Validations that took the block-parallel path, and blocks parsed again because the guessed
 * boundary or encoding was wrong, since the process started (thread-safe). */
void dh__validate_parallel_counts(uint64_t *runs, uint64_t *reparsed);

/*
 * rpls_rules.h - internal interface between the validator (validate.c), the field rules
 * of the RPLS layout (rpls_rules.c) and the open-data column mapping (layout_opendata.c).
 *
 * Not a public header: the rule codes and labels are public through validate.h
 * (dh_validate_rule_*); the check functions here are the validator's hot path.
 */

#include "datahabitat/rpls.h"

/* Every rule of docs/validation.md, in the order of that document. Index 0 is "no problem". */
#define DH__RULES(X)                                                                              \
	X(NONE, "", 0, "")                                                                            \
	X(EMPTY_FILE, "empty-file", 0, "fichier vide")                                                \
	X(NO_RECORDS, "no-records", 0, "aucun enregistrement logement après l'en-tête")              \
	X(AMBIGUOUS_LAYOUT, "ambiguous-layout", 0, "format ambigu : préciser --layout")              \
	X(LAYOUT_MISMATCH, "layout-mismatch", 0, "premières lignes contraires au format demandé")     \
	X(ARRETE_SIRET, "arrete-siret", 0, "SIRET de l'en-tête de l'arrêté invalide")                 \
	X(ARRETE_COUNT, "arrete-count", 0, "nombre d'enregistrements de l'en-tête faux")              \
	X(MISSING_COLUMN, "missing-column", 0, "colonne obligatoire absente")                         \
	X(DUPLICATE_COLUMN, "duplicate-column", 0, "colonne en double dans l'en-tête")                \
	X(UNKNOWN_COLUMN, "unknown-column", 1, "colonne inconnue, ignorée")                           \
	X(TOO_MANY_FIELDS, "too-many-fields", 0, "trop de champs dans l'enregistrement")              \
	X(TOO_FEW_FIELDS, "too-few-fields", 0, "pas assez de champs dans l'enregistrement")           \
	X(INVALID_UTF8, "invalid-utf8", 0, "caractères UTF-8 invalides")                              \
	X(BAD_QUOTE, "bad-quote", 0, "guillemets mal formés")                                         \
	X(FIELD_TOO_LONG, "field-too-long", 0, "champ trop long pour le lecteur")                     \
	X(RECORD_TOO_LONG, "record-too-long", 0, "enregistrement trop long pour le lecteur")          \
	X(NUL_BYTE, "nul-byte", 0, "octet nul dans les données")                                      \
	X(REQUIRED, "required", 0, "valeur obligatoire absente")                                      \
	X(LENGTH, "length", 0, "texte trop long")                                                     \
	X(TYPE, "type", 0, "valeur qui n'est pas du type attendu")                                    \
	X(CODE_LIST, "code-list", 0, "code hors de la liste admise")                                  \
	X(RANGE, "range", 0, "valeur hors de l'intervalle admis")                                     \
	X(DATE, "date", 0, "date invalide")                                                           \
	X(DATE_FUTURE, "date-future", 0, "année postérieure à l'année de référence")                  \
	X(LOCAT_BEFORE_CONSTRUCT, "locat-before-construct", 0,                                        \
	  "première mise en location antérieure à la construction")                                   \
	X(PATRIMOINE_BEFORE_CONSTRUCT, "patrimoine-before-construct", 0,                              \
	  "entrée dans le patrimoine antérieure à la construction")                                   \
	X(BAIL_MISSING, "bail-missing", 0, "logement loué sans date de bail")                         \
	X(REMLOCDATE_MISSING, "remlocdate-missing", 0, "logement loué ou vacant sans date de mise en location") \
	X(REMLOCDATE_AFTER_BAIL, "remlocdate-after-bail", 0, "mise en location postérieure au bail")  \
	X(LOYERPRINC_MISSING, "loyerprinc-missing", 0, "logement loué sans loyer principal")          \
	X(EXIT_MODE, "exit-mode", 0, "sortie du patrimoine et MODE 9 incohérents")                    \
	X(OLDLOGT_EXIT, "oldlogt-exit", 0, "logement disparu (OLDLOGT) et sorti du patrimoine à la fois") \
	X(CONV_MISSING, "conv-missing", 0, "logement conventionné sans numéro ou date de convention") \
	X(SURFMODE_MISSING, "surfmode-missing", 0, "surface utile ou corrigée sans sa valeur")        \
	X(RENT_ABOVE_MAX, "rent-above-max", 0, "loyer principal au-dessus du loyer maximal")          \
	X(QUALACQ_MISSING, "qualacq-missing", 0, "logement vendu sans type de vente")                 \
	X(DPE_INCONSISTENT, "dpe-inconsistent", 0, "DPE incohérent (classes et date)")                \
	X(SURFACE_IMPLAUSIBLE, "surface-implausible", 1, "surface peu plausible pour le nombre de pièces") \
	X(COMMUNE_UNKNOWN, "commune-unknown", 0, "commune inconnue du COG")                           \
	X(COMMUNE_FORMER, "commune-former", 1, "ancienne commune, rattachée à la commune actuelle")   \
	X(CODE_UNPADDED, "code-unpadded", 1, "code sans son zéro initial (open data), complété")       \
	X(POSTCODE_MISMATCH, "postcode-mismatch", 1, "code postal différent de ceux de la commune")   \
	X(DUPLICATE_IDENT_REP, "duplicate-ident-rep", 0, "IDENT_REP en double dans le fichier")       \
	X(DUPLICATE_IDENT_INT, "duplicate-ident-int", 0, "IDENT_INT en double dans le fichier")

enum dh__rule {
#define DH__RULE_ENUM(id, code, warning, label) DH__RULE_##id,
	DH__RULES(DH__RULE_ENUM)
#undef DH__RULE_ENUM
	DH__RULE_COUNT
};

/* Static description of rule r (0 < r < DH__RULE_COUNT). */
const char *dh__rule_code(int r);
const char *dh__rule_label(int r);
int dh__rule_is_warning(int r);

/*
 * How one column is checked, decided once per file from its field (the per-column table
 * of the validator). Each field of the RPLS table maps to exactly one check.
 */
enum dh__check {
	DH__CHECK_IGNORE = 0, /* not an RPLS field (open-data extras, unknown, duplicate) */
	DH__CHECK_TEXT,       /* bounded free text */
	DH__CHECK_CODE1,      /* one-character code from a list */
	DH__CHECK_CODE2,      /* two-digit code from a list (FINAN, CUS) */
	DH__CHECK_DEPCOM,     /* 5 chars: digits, or 2A/2B + 3 digits */
	DH__CHECK_POSTCODE,   /* 5 digits */
	DH__CHECK_QPVCODE,    /* QNdddnnX or QPdddnnn */
	DH__CHECK_INT,        /* integer with a range */
	DH__CHECK_YEAR,       /* aaaa, >= 1800, <= reference year */
	DH__CHECK_DATE,       /* mm/aaaa or jj/mm/aaaa, >= 1900, year <= reference year */
	DH__CHECK_NUMBER      /* decimal number (dot or comma) with a range */
};

/* Smallest year of a YEAR field, and of a DATE field. */
#define DH__MIN_YEAR 1800
#define DH__MIN_DATE_YEAR 1900

/* Check of field f (enum dh_rpls_field). */
int dh__rpls_check_kind(int f);
/* CODE1 field f: bit (c - '0') set for each allowed character c (inlined by the validator). */
uint64_t dh__rpls_code1_mask(int f);
/* 1 if an empty value of field f is the `required` error. */
int dh__rpls_value_required(int f);
/* CODE2 field f: bit n of mask[0] (n < 64) or of mask[1] (n - 64) set for each allowed code n. */
void dh__rpls_code2_mask(int f, uint64_t mask[2]);
/* INT / NUMBER field f: its range; min_open: min excluded; has_max: max applies. */
void dh__rpls_range(int f, double *min, double *max, int *min_open, int *has_max);

/*
 * Check the trimmed, non-empty value v of field f. On success returns DH__RULE_NONE and
 * stores the parsed value in *out (INT/YEAR: i; DATE: i = yyyymmdd, dd 0 for mm/aaaa;
 * NUMBER: d). Otherwise returns the rule that fails (LENGTH, TYPE, CODE_LIST, RANGE, DATE,
 * DATE_FUTURE). reference_year bounds years and dates.
 */
int dh__rpls_check_value(int f, const char *v, size_t len, int reference_year, dh_rpls_value *out);

/*
 * French description of what field f expects, for a failed rule r, written into buf
 * (e.g. "un entier de 1 à 9"). Returns buf.
 */
const char *dh__rpls_expected(int f, int r, int reference_year, char *buf, size_t size);

/* Number of characters of a UTF-8 text (continuation bytes not counted). */
size_t dh__utf8_chars(const char *s, size_t len);

/* Open-data layout (layout_opendata.c). */
#define DH__OPENDATA_UNKNOWN (-1) /* not a column of the open-data file */
#define DH__OPENDATA_EXTRA (-2)   /* a known open-data column without RPLS counterpart: ignored */
/* Field of an open-data column name (case-insensitive, trimmed), or one of the two codes above. */
int dh__opendata_column(dh_str name);
/* A header name without surrounding spaces, tabs and CR. */
dh_str dh__header_name(dh_str s);
/* 1 when s equals the upper-case `name`, ignoring case. */
int dh__name_is(dh_str s, const char *name);
/* Bit of a layout in the sets below. */
#define DH__LAYOUT_BIT(l) (1 << (l))
/* The open-data vintage a column name is specific to, as DH__LAYOUT_BIT(layout)
 * (DH__LAYOUT_BIT(DH_LAYOUT_AUTO): open data of an undecided vintage, e.g. X, Y), 0 when
 * the name is not specific to open data (every landlord name, QPV_CODE included). */
int dh__opendata_vintage(dh_str name);
/* 1 if field f must be a column of an open-data file. */
int dh__opendata_required(int f);

/* Landlord layouts (layout_rpls.c). */
#define DH__ARRETE_HEADER_FIELDS 12 /* year ... SIRET (10), record count (11), comment (12) */
/* Name shown for a position (the field's, PROGRAMME, COMMENTAIRE). */
const char *dh__arrete_name(int position);
/* 1 when the record is the arrêté's header line (12 fields, or 11 without the comment: a
 * year first, the SIRET (14 digits) or at least a numeric record count after it). */
int dh__arrete_header(const dh_csv_record *rec);
/* 1 for a column of SDES's full dwelling file accepted without checks (IDENT_ORG, PMR...). */
int dh__rpls_unchecked_column(dh_str name);
/* The layouts a header line can be, as DH__LAYOUT_BIT()s: DH_LAYOUT_RPLS when it has a
 * column open data never has (IDENT_INT, MODE, BAIL, LOYERPRINC...) or no open-data column,
 * plus each open-data vintage one of its columns is specific to. More than one bit: the
 * file is ambiguous. The first column that decided each side is returned (not NUL-terminated). */
int dh__header_layouts(const dh_csv_record *rec, const char **landlord_column, const char **opendata_column,
		       size_t *landlord_len, size_t *opendata_len);

/*
 * The validator's stages (validate*.c), one file each: the driver (validate.c), the first
 * records and the column table (validate_layout.c), the checks of one record
 * (validate_record.c), the duplicate-id sets (validate_idset.c), the two-thread pipeline
 * (validate_pipeline.c) and the block-parallel engine (validate_parallel.c).
 */

#include "datahabitat/validate.h"

#include <string.h>

/* Duplicate-id set: open addressing over 12-byte slots (64-bit hash, first line). */
typedef struct idset {
	uint32_t *slots; /* 3 words per slot: hash low, hash high, first line (saturated) */
	size_t cap;
	size_t count;
	size_t limit;    /* grow when count reaches it */
	size_t bytes;    /* allocated bytes of slots */
} idset;

/* Make room for `rows` values in total (load 0.7) when it is more than the current room. */
int dh__idset_reserve(idset *s, uint64_t rows);
/* Rehash into `cap` slots. Returns DH_OK or DH_NOMEM. */
int dh__idset_alloc(idset *s, size_t cap);
void dh__idset_release(idset *s);
#define DH__IDSET_MIN 1024

/* The hot half of the sets, inline (one call per id and row). */

static inline uint64_t dh__slot_key(const uint32_t *slot)
{
	uint64_t k;
	memcpy(&k, slot, 8);
	return k;
}

/* 64-bit hash of a value, never 0; a bijection for a given length. */
static inline uint64_t dh__hash_value(const char *p, size_t n)
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
static inline size_t dh__slot_of(uint64_t h, size_t cap)
{
#if defined(__SIZEOF_INT128__)
	__extension__ typedef unsigned __int128 u128;
	return (size_t)(((u128)h * cap) >> 64);
#else
	return (size_t)(h % cap);
#endif
}

/* Add h first seen at `line`; if already there, return 1 and its first line in *first. */
static inline int dh__idset_add(idset *s, uint64_t h, uint64_t line, uint64_t *first, int *nomem)
{
	if (s->count >= s->limit && dh__idset_alloc(s, s->cap ? s->cap * 2 : DH__IDSET_MIN) != DH_OK) {
		*nomem = 1;
		return 0;
	}
	size_t j = dh__slot_of(h, s->cap);
	uint64_t k;
	while ((k = dh__slot_key(s->slots + 3 * j)) != 0) {
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

/* Ask the cache for the slot of h ahead of dh__idset_add (the probe is the one cache miss). */
static inline void dh__idset_prefetch(const idset *s, uint64_t h)
{
#if defined(__GNUC__)
	if (s->cap)
		__builtin_prefetch(s->slots + 3 * dh__slot_of(h, s->cap), 1);
#else
	(void)s;
	(void)h;
#endif
}

/* How one column of the file is checked, decided once per file. */
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
	int pad;          /* open data: a 4-digit DEPCOM or CODEPOSTAL lost its leading zero */
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
	int col_of[DH_RPLS_NALL]; /* 0-based column of field f, -1 if none */
	uint64_t first_offset; /* offset of the first data record (size estimate) */
	uint64_t id_rows;     /* records counted for the size estimate */
	int sized;            /* duplicate sets sized from the input size */
	int row_error;        /* the current row has an error */
	uint64_t failed;      /* bit f: field f failed its own check in the current row */
	dh_rpls_row row;
	idset ids[2];         /* IDENT_REP, IDENT_INT */
	int dup_known;        /* the reader thread looked the ids up: dup_first holds the result */
	uint64_t dup_first[2]; /* first line of the current row's IDENT_REP / IDENT_INT, 0 if new */
	int32_t *communes;    /* dense commune table, built after DH__DENSE_AFTER lookups, else NULL */
	uint32_t *postcodes;  /* first postcode of each current commune as a number, 0 if none */
	uint64_t commune_lookups;
	int tables_failed;    /* no memory for the tables: the geography's lookups are used */
	uint64_t arrete_line; /* rpls-arrete: line of the header line */
	char padded[2][6];    /* DEPCOM, CODEPOSTAL with their leading zero put back (open data) */
} validator;

#define DH__FIELD_BIT(f) ((uint64_t)1 << (f))
#define DH__PRESENT(v, f) DH_RPLS_HAS(&(v)->row, f)
#define DH__NO_VALUE ((dh_str){ "", 0 })
/* Commune lookups after which the dense tables are built (small inputs use the geography). */
#define DH__DENSE_AFTER 2000
/* Input size from which the two-thread pipeline is used. */
#define DH__PIPE_MIN_INPUT ((uint64_t)4 << 20)

/* validate_record.c */
/* Count an issue and hand it to the callback (message already formatted, NULL when there
 * is no callback to call). */
int dh__emit_message(validator *v, int rule, uint64_t line, uint32_t column, int field,
		     const char *field_name, dh_str value, const char *message);
/* Report one issue: counts always, the callback with a French message when there is one.
 * A block worker (v->sink) buffers it instead, for the ordered emission. */
#if defined(__GNUC__)
__attribute__((format(printf, 8, 9)))
#endif
int dh__emit(validator *v, int rule, uint64_t line, uint32_t column, int field, const char *field_name,
	     dh_str value, const char *fmt, ...);
/* A value quoted in a message: at most `size` bytes, cut on a UTF-8 boundary. */
const char *dh__shown(dh_str value, char *buf, size_t size);
/* Build the dense commune and postcode tables now (or mark them failed). */
void dh__validator_tables(validator *v);
/* IDENT_REP, IDENT_INT: the fields of the two duplicate-id sets. */
extern const int dh__id_fields[2];
/* Hash of id k (column col), untrimmed value s, in a record with this problem and field
 * count; 0 when it is not checked. */
uint64_t dh__id_hash_field(const validator *v, int col, int problem, size_t nfields, dh_str s);
/* Hash of id k of a record, 0 when it is not checked. */
uint64_t dh__id_hash_of(const validator *v, const dh_csv_record *rec, int k);
/* Look id k up (hash h, 0: not checked) and add it; first[k] = first line if seen, else 0. */
int dh__id_lookup(validator *v, int k, uint64_t h, uint64_t line, uint64_t *first);
/* The duplicate issue of id k (value s, trimmed) first seen at line `first`. */
int dh__report_duplicate(validator *v, int k, uint64_t line, dh_str s, uint64_t first);
/* Check one record, hand its issues and its row on (or to the block sink). */
int dh__check_record(validator *v, const dh_csv_record *rec);

/* validate_layout.c: read the first records (optional landlord record, optional header) and
 * build the columns. On return *pending is 1 when rec holds a data record still to check. */
int dh__validate_start(validator *v, dh_csv *csv, const dh_validate_options *opt, dh_csv_record *rec,
		       int *pending, dh_error *err);

/* validate_pipeline.c */
/* Grow *p (capacity *cap elements of `size` bytes) to hold `need` elements (at most
 * UINT32_MAX). Returns DH_OK or DH_NOMEM. */
int dh__grow(void **p, size_t *cap, size_t need, size_t size);
/* Check the rest of the input with a reader thread. Returns DH_EOF when the input was read
 * to its end, or a failure; DH_OK when the thread cannot be started (go on alone). */
int dh__validate_pipeline(validator *v, dh_csv *csv, dh_error *err);

/* validate_parallel.c */
/* 1 when an input of `size` bytes is validated by blocks. */
int dh__validate_parallel_wanted(uint64_t size);
/* Validate the rest of the input by blocks. Returns DH_EOF at the end of input, or a failure. */
int dh__validate_parallel(validator *v, dh_csv *csv, uint64_t size, dh_error *err);
/* Block sinks used by dh__check_record on a block worker. */
int dh__sink_record(validator *v, uint64_t line);
void dh__sink_record_done(validator *v);
int dh__sink_issue(validator *v, int rule, uint32_t column, int field, const char *field_name, dh_str value,
		   const char *message);
int dh__sink_ids(validator *v, const dh_csv_record *rec);

#endif
