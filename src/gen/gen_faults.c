/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen_faults.c - the faults the generator injects into its rows (docs/validation.md): the
 * fault kinds and their codes, and the change of a rendered row so that it breaks one rule
 * and nothing else. Which rows are faulty is decided by emit() in gen_stock.c.
 */
#include "gen/internal.h"
#include "datahabitat/rpls.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Fault kinds ---- */


static const char *const fault_codes[F_COUNT] = {
	"type", "code-list", "range", "date", "date-future", "required", "length",
	"locat-before-construct", "patrimoine-before-construct", "bail-missing",
	"remlocdate-missing", "dpe-inconsistent", "surface-implausible", "commune-unknown",
	"commune-former", "postcode-mismatch", "duplicate-ident-rep", "duplicate-ident-int",
	"too-many-fields", "too-few-fields", "invalid-utf8", "remlocdate-after-bail", "loyerprinc-missing",
	"exit-mode", "conv-missing", "bad-quote", "nul-byte", "oldlogt-exit", "surfmode-missing", "rent-above-max", "qualacq-missing",
};

size_t dh_gen_fault_kind_count(void)
{
	return F_COUNT;
}

const char *dh_gen_fault_kind(size_t i)
{
	return i < F_COUNT ? fault_codes[i] : NULL;
}

/* ---- Faults ---- */


/* Pick one of n variants. */
static int pick(fault_ctx *fc, int n)
{
	return (int)dh_rng_below(&fc->rng, (uint64_t)n);
}

/* The dwelling left the stock during N-1 (SORTIEPATRIM `sortie`): MODE 9 and no lease, rent
 * or rent surface, as render_row writes an exit; QUALACQ stays for a sale (1-3). */
static void make_exit(row *r, int sortie)
{
	dh_str *f = r->f;
	static const char *const qualacq[4] = { "", "01", "06", "05" };
	f[DH_RPLS_MODE] = digit_str(9);
	f[DH_RPLS_SORTIEPATRIM] = digit_str(sortie);
	f[DH_RPLS_BAIL] = f[DH_RPLS_REMLOCDATE] = f[DH_RPLS_LOYERPRINC] = f[DH_RPLS_LOYERACC] = empty_str;
	f[DH_RPLS_MODESURF] = digit_str(9);
	f[DH_RPLS_SURFMODE] = f[DH_RPLS_LOYERMAXAPL] = f[DH_RPLS_LOYERMAXCUS] = empty_str;
	f[DH_RPLS_QUALACQ] = sortie <= 3 ? (dh_str){ qualacq[sortie], 2 } : empty_str;
	f[DH_RPLS_MISCOMMERCIAL] = digit_str(sortie <= 3 ? 1 : 2);
}

/*
 * Change the row so that it breaks `kind` and nothing else (docs/validation.md). Returns
 * the field (enum dh_rpls_field) the fault is reported on, -2 for a record-level fault,
 * -1 when this kind cannot be put in this row.
 */
int dh__gen_inject(fault_ctx *fc, int kind, row *r)
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
					      DH_RPLS_CONSTRUCT, DH_RPLS_MODE, DH_RPLS_FINAN, DH_RPLS_DEPCOM,
					      DH_RPLS_DROIT, DH_RPLS_ORIGINE, DH_RPLS_CONV, DH_RPLS_SORTIEPATRIM };
		int field = fields[pick(fc, (int)COUNT(fields))];
		if (field == DH_RPLS_DROIT && dw->sortie != 9) /* DROIT may be empty once sold or demolished */
			field = DH_RPLS_ORIGINE;
		f[field] = empty_str;
		return field;
	}
	case F_LENGTH: {
		static const struct { int field; const char *value; } v[] = {
			{ DH_RPLS_NUMVOIE, "123456789012" }, { DH_RPLS_BAT, "BATIMENT DES HORTENSIAS NORD ET DES GLYCINES DU PARC SUD" },
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
	case F_BAIL_MISSING: /* a let dwelling (it has its rent and REMLOCDATE) without its lease date */
		if (dw->mode != 1)
			return -1;
		f[DH_RPLS_BAIL] = empty_str;
		return DH_RPLS_BAIL;
	case F_REMLOC_MISSING:
		if (dw->mode == 9) /* MODE 2 would contradict its exit from the stock */
			return -1;
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
	case F_REMLOC_AFTER_BAIL: /* offered for rent a month after its lease began */
		if (dw->mode != 1 || dw->bail < 0 || (dw->bail + 1) / 12 > plan->opt.ref_year)
			return -1;
		f[DH_RPLS_REMLOCDATE] = put_date(r, dw->bail + 1, dw->bail_day);
		return DH_RPLS_REMLOCDATE;
	case F_LOYERPRINC_MISSING:
		if (dw->mode != 1)
			return -1;
		f[DH_RPLS_LOYERPRINC] = empty_str;
		return DH_RPLS_LOYERPRINC;
	case F_EXIT_MODE: /* demolished in N-1 but still occupied on 1 January */
		if (dw->mode == 9)
			return -1;
		f[DH_RPLS_SORTIEPATRIM] = digit_str(4);
		return DH_RPLS_MODE;
	case F_CONV_MISSING: /* an APL agreement without its number */
		if (p->conv != 1) {
			f[DH_RPLS_CONV] = digit_str(1);
			f[DH_RPLS_DATCONV] = put_month(r, p->construct * 12 + 5);
		}
		f[DH_RPLS_NUMCONV] = empty_str;
		return DH_RPLS_NUMCONV;
	case F_BAD_QUOTE: { /* the reader's record problems: a quote inside an unquoted field, or
			       text after the closing quote of a quoted one */
		static const char *const v[2] = { "RUE DU \"PORT\"", "\"RUE\" DU PORT" };
		f[DH_RPLS_NOMVOIE] = put_cstr(r, v[pick(fc, 2)]);
		return DH_RPLS_NOMVOIE;
	}
	case F_NUL_BYTE:
		f[DH_RPLS_NOMVOIE] = put_bytes(r, "RUE\0DU PORT", 11);
		return DH_RPLS_NOMVOIE;
	case F_OLDLOGT_EXIT: /* demolished (or left otherwise) and also gone by change of use or fusion */
		make_exit(r, 4 + pick(fc, 2));
		f[DH_RPLS_OLDLOGT] = digit_str(1 + pick(fc, 2));
		return DH_RPLS_OLDLOGT;
	case F_SURFMODE_MISSING: /* rent on the surface utile or corrigée, without that surface */
		f[DH_RPLS_MODESURF] = digit_str(1 + pick(fc, 2));
		f[DH_RPLS_SURFMODE] = empty_str;
		return DH_RPLS_SURFMODE;
	case F_RENT_ABOVE_MAX: { /* the maximum the rule compares with, 2 to 11 € under the rent */
		if (dw->mode != 1 || dw->rent_na || dw->rent < 2000)
			return -1;
		int max = f[DH_RPLS_LOYERMAXCUS].len || !f[DH_RPLS_LOYERMAXAPL].len ? DH_RPLS_LOYERMAXCUS
										       : DH_RPLS_LOYERMAXAPL;
		f[max] = put_uint(r, dw->rent / 100 - 2 - (uint64_t)pick(fc, 10), 1);
		return DH_RPLS_LOYERPRINC;
	}
	case F_QUALACQ_MISSING: /* sold during N-1 without the type of sale */
		make_exit(r, 1 + pick(fc, 3));
		f[DH_RPLS_QUALACQ] = empty_str;
		return DH_RPLS_QUALACQ;
	}
	return -1;
}
