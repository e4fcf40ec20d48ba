/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * rpls_rules.c - the field-level rules of an RPLS stock file (docs/validation.md): which
 * check each field gets, its code list or range, and the hand-written parsers of integers,
 * years, dates (mm/aaaa, jj/mm/aaaa) and decimal numbers (dot or comma) that the validator
 * calls once per field. No allocation, no locale: this is the validator's hot path.
 */
#include "ingest/internal.h"

#include <stdio.h>
#include <string.h>

/* ---- rule table ---------------------------------------------------------------------- */

static const struct {
	const char *code;
	int warning;
	const char *label;
} rule_table[DH__RULE_COUNT] = {
#define DH__RULE_ROW(id, code, warning, label) { code, warning, label },
	DH__RULES(DH__RULE_ROW)
#undef DH__RULE_ROW
};

const char *dh__rule_code(int r)
{
	return r > 0 && r < DH__RULE_COUNT ? rule_table[r].code : "";
}

const char *dh__rule_label(int r)
{
	return r > 0 && r < DH__RULE_COUNT ? rule_table[r].label : "";
}

int dh__rule_is_warning(int r)
{
	return r > 0 && r < DH__RULE_COUNT ? rule_table[r].warning : 0;
}

/* ---- per-field rules ------------------------------------------------------------------ */

typedef struct field_rule {
	unsigned char check;    /* enum dh__check */
	unsigned char required; /* empty value is the `required` error */
	unsigned char min_open; /* NUMBER: min is excluded (SURFHAB > 0) */
	unsigned char has_max;  /* INT / NUMBER: max applies */
	const char *codes;      /* CODE1: the allowed characters (for messages) */
	uint64_t mask;          /* CODE1: bit (c - '0') set for each allowed character c */
	double min, max;        /* INT / NUMBER range */
	uint64_t codes2[2];     /* CODE2: bit n set when the two-digit code n is allowed */
	const char *codes_text; /* CODE2: the list for people */
} field_rule;

/* One-character codes between '0' and 'Z' as a bit mask. */
#define C(c) ((uint64_t)1 << ((c) - '0'))
#define CODES_12 (C('1') | C('2'))
#define CODES_1_4 (CODES_12 | C('3') | C('4'))
#define CODES_1_5 (CODES_1_4 | C('5'))
#define CODES_1_7 (CODES_1_5 | C('6') | C('7'))
#define CODES_A_G (C('A') | C('B') | C('C') | C('D') | C('E') | C('F') | C('G'))

/* Two-digit code n (0-63) in codes2[0], n (64-99) in codes2[1]. */
#define BIT(n) ((uint64_t)1 << (n))
#define BIT_HI(n) ((uint64_t)1 << ((n)-64))

static const field_rule field_rules[DH_RPLS_NFIELDS] = {
	[DH_RPLS_IDENT_REP] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_IDENT_INT] = { .check = DH__CHECK_TEXT, .required = 1 },
	[DH_RPLS_DROIT] = { .check = DH__CHECK_CODE1, .codes = "12345", .mask = CODES_1_5 },
	[DH_RPLS_DEPCOM] = { .check = DH__CHECK_DEPCOM, .required = 1 },
	[DH_RPLS_CODEPOSTAL] = { .check = DH__CHECK_POSTCODE },
	[DH_RPLS_LIBCOM] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_NUMVOIE] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_INDREP] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_TYPVOIE] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_NOMVOIE] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_NUMAPPT] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_ETAGE] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_ESC] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_BAT] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_IMMEU] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_LIEUDIT] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_QPV] = { .check = DH__CHECK_CODE1, .codes = "12", .mask = CODES_12 },
	[DH_RPLS_QPV_CODE] = { .check = DH__CHECK_QPVCODE },
	[DH_RPLS_TYPECONST] = { .check = DH__CHECK_CODE1, .required = 1, .codes = "CIE", .mask = C('C') | C('I') | C('E') },
	[DH_RPLS_NBPIECE] = { .check = DH__CHECK_INT, .required = 1, .min = 1, .max = 9, .has_max = 1 },
	[DH_RPLS_SURFHAB] = { .check = DH__CHECK_NUMBER, .required = 1, .min = 0, .min_open = 1,
			      .max = 1000, .has_max = 1 },
	[DH_RPLS_CONSTRUCT] = { .check = DH__CHECK_YEAR, .required = 1 },
	[DH_RPLS_LOCAT] = { .check = DH__CHECK_YEAR },
	[DH_RPLS_PATRIMOINE] = { .check = DH__CHECK_YEAR },
	[DH_RPLS_ORIGINE] = { .check = DH__CHECK_CODE1, .codes = "1234", .mask = CODES_1_4 },
	[DH_RPLS_FINAN] = { .check = DH__CHECK_CODE2, .required = 1,
			    .codes2 = { BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) |
						    BIT(17) | BIT(49) | BIT(50) | BIT(51) | BIT(52) | BIT(53) |
						    BIT(54) | BIT(55),
					BIT_HI(99) },
			    .codes_text = "10 à 17, 49, 50 à 55, 99" },
	[DH_RPLS_CONV] = { .check = DH__CHECK_CODE1, .codes = "12", .mask = CODES_12 },
	[DH_RPLS_NUMCONV] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_DATCONV] = { .check = DH__CHECK_DATE },
	[DH_RPLS_MODE] = { .check = DH__CHECK_CODE1, .required = 1, .codes = "123459", .mask = CODES_1_5 | C('9') },
	[DH_RPLS_BAIL] = { .check = DH__CHECK_DATE },
	[DH_RPLS_REMLOCDATE] = { .check = DH__CHECK_DATE },
	[DH_RPLS_LOYERPRINC] = { .check = DH__CHECK_NUMBER, .min = 0 },
	[DH_RPLS_LOYERACC] = { .check = DH__CHECK_NUMBER, .min = 0 },
	[DH_RPLS_CONTRIB] = { .check = DH__CHECK_NUMBER, .min = 0 },
	[DH_RPLS_CUS] = { .check = DH__CHECK_CODE2,
			  .codes2 = { BIT(11) | BIT(13) | BIT(14) | BIT(16), 0 },
			  .codes_text = "11, 13, 14, 16" },
	[DH_RPLS_DPEDATE] = { .check = DH__CHECK_DATE },
	[DH_RPLS_DPEENERGIE] = { .check = DH__CHECK_CODE1, .codes = "ABCDEFG", .mask = CODES_A_G },
	[DH_RPLS_DPESERRE] = { .check = DH__CHECK_CODE1, .codes = "ABCDEFG", .mask = CODES_A_G },
	[DH_RPLS_SRU_EXPIR] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_SRU_ALINEA] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_CODSEGPATRIM] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_LIBSEGPATRIM] = { .check = DH__CHECK_TEXT },
	[DH_RPLS_SORTIEPATRIM] = { .check = DH__CHECK_CODE1, .codes = "123459", .mask = CODES_1_5 | C('9') },
	[DH_RPLS_NEWLOGT] = { .check = DH__CHECK_CODE1, .codes = "12", .mask = CODES_12 },
	[DH_RPLS_CONTRESLOG] = { .check = DH__CHECK_CODE1, .codes = "1234567", .mask = CODES_1_7 },
};

static const unsigned short field_maxlen[DH_RPLS_NFIELDS] = {
#define DH_RPLS_MAXLEN(id, kind, maxlen, required, label) maxlen,
	DH_RPLS_FIELDS(DH_RPLS_MAXLEN)
#undef DH_RPLS_MAXLEN
};

#define MIN_YEAR DH__MIN_YEAR
#define MIN_DATE_YEAR DH__MIN_DATE_YEAR

int dh__rpls_check_kind(int f)
{
	return f >= 0 && f < DH_RPLS_NFIELDS ? field_rules[f].check : DH__CHECK_IGNORE;
}

uint64_t dh__rpls_code1_mask(int f)
{
	return f >= 0 && f < DH_RPLS_NFIELDS ? field_rules[f].mask : 0;
}

int dh__rpls_value_required(int f)
{
	return f >= 0 && f < DH_RPLS_NFIELDS ? field_rules[f].required : 0;
}

void dh__rpls_code2_mask(int f, uint64_t mask[2])
{
	int ok = f >= 0 && f < DH_RPLS_NFIELDS;
	mask[0] = ok ? field_rules[f].codes2[0] : 0;
	mask[1] = ok ? field_rules[f].codes2[1] : 0;
}

void dh__rpls_range(int f, double *min, double *max, int *min_open, int *has_max)
{
	static const field_rule none;
	const field_rule *fr = f >= 0 && f < DH_RPLS_NFIELDS ? &field_rules[f] : &none;
	*min = fr->min;
	*max = fr->max;
	*min_open = fr->min_open;
	*has_max = fr->has_max;
}

size_t dh__utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static int is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

static int digits2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return 0;
	return 1;
}

/* Integer: optional sign, 1 to 18 digits. */
static int parse_int(const char *v, size_t len, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-';
		i = 1;
	}
	if (i == len || len - i > 18)
		return 0;
	int64_t x = 0;
	for (; i < len; i++) {
		if (!is_digit(v[i]))
			return 0;
		x = x * 10 + (v[i] - '0');
	}
	*out = neg ? -x : x;
	return 1;
}

/* Decimal number: optional sign, digits, optional '.' or ',' and digits (one digit at least). */
static int parse_number(const char *v, size_t len, double *out)
{
	static const double p10[19] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
					1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
	size_t i = 0;
	int neg = 0;
	if (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-';
		i = 1;
	}
	uint64_t mant = 0;
	unsigned sig = 0, frac = 0, ndigits = 0;
	double scale = 1;
	for (; i < len && is_digit(v[i]); i++, ndigits++) {
		if (sig < 18) {
			mant = mant * 10 + (uint64_t)(v[i] - '0');
			sig += mant != 0;
		} else {
			scale *= 10;
		}
	}
	if (i < len && (v[i] == '.' || v[i] == ',')) {
		for (i++; i < len && is_digit(v[i]); i++, ndigits++) {
			if (sig < 18) {
				mant = mant * 10 + (uint64_t)(v[i] - '0');
				sig += mant != 0;
				frac++;
			}
		}
	}
	if (i != len || ndigits == 0)
		return 0;
	double d = (double)mant * scale / p10[frac];
	*out = neg ? -d : d;
	return 1;
}

static int check_code1(const field_rule *fr, const char *v, size_t len)
{
	unsigned d = (unsigned)(unsigned char)v[0] - '0';
	return len == 1 && d < 64 && ((fr->mask >> d) & 1u);
}

static int check_code2(const field_rule *fr, const char *v, size_t len)
{
	if (len != 2 || !is_digit(v[0]) || !is_digit(v[1]))
		return 0;
	int n = digits2(v);
	return n < 64 ? (int)((fr->codes2[0] >> n) & 1u) : (int)((fr->codes2[1] >> (n - 64)) & 1u);
}

static int check_depcom(const char *v, size_t len)
{
	if (len != 5 || !all_digits(v + 2, 3))
		return 0;
	if (is_digit(v[0]) && is_digit(v[1]))
		return 1;
	return v[0] == '2' && (v[1] == 'A' || v[1] == 'B');
}

static int is_upper_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z');
}

/* QNdddnnX (2024) or QPdddnnn (2015); ddd is the département on 3 characters (02A for Corsica). */
static int check_qpvcode(const char *v, size_t len)
{
	if (len != 8 || v[0] != 'Q' || (v[1] != 'N' && v[1] != 'P'))
		return 0;
	for (int i = 2; i < 5; i++)
		if (!is_digit(v[i]) && !(i == 4 && (v[i] == 'A' || v[i] == 'B')))
			return 0;
	if (!is_digit(v[5]) || !is_digit(v[6]))
		return 0;
	return v[1] == 'N' ? is_upper_alnum(v[7]) : is_digit(v[7]);
}

/* mm/aaaa or jj/mm/aaaa with a real month and day; returns DATE, DATE_FUTURE or NONE. */
static int check_date(const char *v, size_t len, int reference_year, int64_t *out)
{
	int d = 0, m, y;
	if (len == 7) {
		if (!is_digit(v[0]) || !is_digit(v[1]) || v[2] != '/' || !all_digits(v + 3, 4))
			return DH__RULE_DATE;
		m = digits2(v);
		y = digits2(v + 3) * 100 + digits2(v + 5);
	} else if (len == 10) {
		if (!is_digit(v[0]) || !is_digit(v[1]) || v[2] != '/' || !is_digit(v[3]) || !is_digit(v[4]) ||
		    v[5] != '/' || !all_digits(v + 6, 4))
			return DH__RULE_DATE;
		d = digits2(v);
		m = digits2(v + 3);
		y = digits2(v + 6) * 100 + digits2(v + 8);
	} else {
		return DH__RULE_DATE;
	}
	if (m < 1 || m > 12 || y < MIN_DATE_YEAR)
		return DH__RULE_DATE;
	if (len == 10 && (d < 1 || d > dh_days_in_month(y, m)))
		return DH__RULE_DATE;
	if (y > reference_year)
		return DH__RULE_DATE_FUTURE;
	*out = (int64_t)y * 10000 + m * 100 + d;
	return DH__RULE_NONE;
}

int dh__rpls_check_value(int f, const char *v, size_t len, int reference_year, dh_rpls_value *out)
{
	const field_rule *fr = &field_rules[f];
	switch (fr->check) {
	case DH__CHECK_TEXT: {
		unsigned maxlen = field_maxlen[f];
		if (len > maxlen && dh__utf8_chars(v, len) > maxlen)
			return DH__RULE_LENGTH;
		return DH__RULE_NONE;
	}
	case DH__CHECK_CODE1:
		return check_code1(fr, v, len) ? DH__RULE_NONE : DH__RULE_CODE_LIST;
	case DH__CHECK_CODE2:
		return check_code2(fr, v, len) ? DH__RULE_NONE : DH__RULE_CODE_LIST;
	case DH__CHECK_DEPCOM:
		return check_depcom(v, len) ? DH__RULE_NONE : DH__RULE_CODE_LIST;
	case DH__CHECK_POSTCODE:
		return len == 5 && all_digits(v, 5) ? DH__RULE_NONE : DH__RULE_CODE_LIST;
	case DH__CHECK_QPVCODE:
		return check_qpvcode(v, len) ? DH__RULE_NONE : DH__RULE_CODE_LIST;
	case DH__CHECK_INT: {
		int64_t x;
		if (!parse_int(v, len, &x))
			return DH__RULE_TYPE;
		if ((double)x < fr->min || (fr->has_max && (double)x > fr->max))
			return DH__RULE_RANGE;
		out->i = x;
		return DH__RULE_NONE;
	}
	case DH__CHECK_YEAR: {
		if (len != 4 || !all_digits(v, 4))
			return DH__RULE_TYPE;
		int y = digits2(v) * 100 + digits2(v + 2);
		if (y < MIN_YEAR)
			return DH__RULE_RANGE;
		if (y > reference_year)
			return DH__RULE_DATE_FUTURE;
		out->i = y;
		return DH__RULE_NONE;
	}
	case DH__CHECK_DATE:
		return check_date(v, len, reference_year, &out->i);
	case DH__CHECK_NUMBER: {
		double d;
		if (!parse_number(v, len, &d))
			return DH__RULE_TYPE;
		if (fr->min_open ? !(d > fr->min) : !(d >= fr->min))
			return DH__RULE_RANGE;
		if (fr->has_max && d > fr->max)
			return DH__RULE_RANGE;
		out->d = d;
		return DH__RULE_NONE;
	}
	default:
		return DH__RULE_NONE;
	}
}

static const char *code1_list(const char *codes, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (const char *c = codes; *c && n + 4 < size; c++) {
		if (c != codes) {
			buf[n++] = ',';
			buf[n++] = ' ';
		}
		buf[n++] = *c;
		buf[n] = '\0';
	}
	return buf;
}

const char *dh__rpls_expected(int f, int r, int reference_year, char *buf, size_t size)
{
	const field_rule *fr = &field_rules[f];
	const dh_field_info *fi = dh_rpls_field(f);
	char list[64];
	switch (r) {
	case DH__RULE_REQUIRED:
		snprintf(buf, size, "une valeur (champ obligatoire)");
		break;
	case DH__RULE_LENGTH:
		snprintf(buf, size, "au plus %u caractères", fi->maxlen);
		break;
	case DH__RULE_TYPE:
		snprintf(buf, size, "%s",
			 fr->check == DH__CHECK_INT    ? "un entier"
			 : fr->check == DH__CHECK_YEAR ? "une année sur 4 chiffres (aaaa)"
						       : "un nombre (virgule ou point décimal)");
		break;
	case DH__RULE_CODE_LIST:
		switch (fr->check) {
		case DH__CHECK_CODE1:
			snprintf(buf, size, "un code parmi %s", code1_list(fr->codes, list, sizeof(list)));
			break;
		case DH__CHECK_CODE2:
			snprintf(buf, size, "un code parmi %s", fr->codes_text);
			break;
		case DH__CHECK_DEPCOM:
			snprintf(buf, size, "un code commune de 5 caractères (chiffres, ou 2A/2B et 3 chiffres)");
			break;
		case DH__CHECK_POSTCODE:
			snprintf(buf, size, "un code postal de 5 chiffres");
			break;
		default:
			snprintf(buf, size, "un code de quartier QNdddnnX ou QPdddnnn");
			break;
		}
		break;
	case DH__RULE_RANGE:
		if (fr->check == DH__CHECK_YEAR)
			snprintf(buf, size, "une année à partir de %d", MIN_YEAR);
		else if (fr->check == DH__CHECK_INT)
			snprintf(buf, size, "un entier de %.0f à %.0f", fr->min, fr->max);
		else if (fr->has_max)
			snprintf(buf, size, "un nombre supérieur à %.0f et au plus %.0f", fr->min, fr->max);
		else
			snprintf(buf, size, "un montant positif ou nul");
		break;
	case DH__RULE_DATE:
		snprintf(buf, size, "une date mm/aaaa ou jj/mm/aaaa existante, à partir de %d", MIN_DATE_YEAR);
		break;
	case DH__RULE_DATE_FUTURE:
		snprintf(buf, size, "une année au plus égale à l'année de référence %d", reference_year);
		break;
	default:
		snprintf(buf, size, "une valeur conforme");
		break;
	}
	return buf;
}
