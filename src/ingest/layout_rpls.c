/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * layout_rpls.c - the landlord layouts of a stock file: the transmission file of the arrêté
 * du 5 janvier 2010 (a 12-field header line, then records in the annex's numbered order),
 * the column names SDES uses for the same fields (the `rpls` layout, any order), and the
 * choice between the landlord and open-data layouts from a header line (docs/domain.md §3).
 */
#include "ingest/internal.h"

#include <string.h>

/*
 * Positions 1 to 64 of a dwelling record in the annex (tableau 2 of article 3, consolidated
 * text of the arrêté). -1: a position the validator does not check (20: name of the housing
 * programme, 64: comment), named below.
 */
static const int arrete_fields[DH__ARRETE_POSITIONS] = {
	DH_RPLS_IDENT_REP,    DH_RPLS_IDENT_INT,   DH_RPLS_DROIT,        DH_RPLS_DEPCOM,
	DH_RPLS_CODEPOSTAL,   DH_RPLS_LIBCOM,      DH_RPLS_NUMVOIE,      DH_RPLS_INDREP,
	DH_RPLS_TYPVOIE,      DH_RPLS_NOMVOIE,     DH_RPLS_NUMAPPT,      DH_RPLS_NUMBOITE,
	DH_RPLS_ESC,          DH_RPLS_COULOIR,     DH_RPLS_ETAGE,        DH_RPLS_COMPLIDENT,
	DH_RPLS_ENTREE,       DH_RPLS_BAT,         DH_RPLS_IMMEU,        -1,
	DH_RPLS_LIEUDIT,      DH_RPLS_QPV,         DH_RPLS_TYPECONST,    DH_RPLS_NBPIECE,
	DH_RPLS_SURFHAB,      DH_RPLS_CONSTRUCT,   DH_RPLS_LOCAT,        DH_RPLS_PATRIMOINE,
	DH_RPLS_ORIGINE,      DH_RPLS_RSEXPRO,     DH_RPLS_SIRETEXPRO,   DH_RPLS_FINAN,
	DH_RPLS_FINANAUTRE,   DH_RPLS_CONV,        DH_RPLS_NUMCONV,      DH_RPLS_DATCONV,
	DH_RPLS_SORTIEPATRIM, DH_RPLS_OLDLOGT,     DH_RPLS_NEWLOGT,      DH_RPLS_MODE,
	DH_RPLS_BAIL,         DH_RPLS_MODESURF,    DH_RPLS_SURFMODE,     DH_RPLS_LOYERPRINC,
	DH_RPLS_LOYERACC,     DH_RPLS_CONTRIB,     DH_RPLS_CUS,          DH_RPLS_DPEDATE,
	DH_RPLS_DPEENERGIE,   DH_RPLS_DPESERRE,    DH_RPLS_SRU_EXPIR,    DH_RPLS_SRU_ALINEA,
	DH_RPLS_IDENTGES,     DH_RPLS_CODSEGPATRIM, DH_RPLS_LIBSEGPATRIM, DH_RPLS_LOYERMAXAPL,
	DH_RPLS_LOYERMAXCUS,  DH_RPLS_QUALACQ,     DH_RPLS_MISCOMMERCIAL, DH_RPLS_PRIXVENTE,
	DH_RPLS_PRODFIN,      DH_RPLS_REMLOCDATE,  DH_RPLS_CONTRESLOG,   -1,
};

int dh__arrete_field(int position)
{
	return position >= 1 && position <= DH__ARRETE_POSITIONS ? arrete_fields[position - 1] : -1;
}

const char *dh__arrete_name(int position)
{
	if (position == 20)
		return "PROGRAMME";
	if (position == DH__ARRETE_POSITIONS)
		return "COMMENTAIRE";
	int f = dh__arrete_field(position);
	return f >= 0 ? dh_rpls_field(f)->name : "";
}

/* Columns SDES's full dwelling file carries that the validator accepts without checking them
 * (the typed row holds 64 fields at most): no unknown-column warning for them. */
static const char *const sdes_unchecked[] = {
	"IDENT_ORG", "PMR", "DATMISEVENTE", "DATVEFFECT", "DATE_DEP_DERLOCAT", "DPE_CONSO_ENER",
	"DPE_CONSO_GES", "DPE_NUM_REF", "IDENT_FISCAL", "PROGRAMME", "COMMENTAIRE", "NOMPROG",
};

int dh__rpls_unchecked_column(dh_str name)
{
	dh_str s = dh__header_name(name);
	for (size_t i = 0; i < sizeof(sdes_unchecked) / sizeof(sdes_unchecked[0]); i++)
		if (dh__name_is(s, sdes_unchecked[i]))
			return 1;
	return 0;
}

/* Fields the open-data files never carry: a header with one of them is a landlord's. */
static const int landlord_only[] = {
	DH_RPLS_IDENT_INT, DH_RPLS_MODE, DH_RPLS_BAIL, DH_RPLS_REMLOCDATE, DH_RPLS_LOYERPRINC,
	DH_RPLS_LOYERACC, DH_RPLS_CONTRIB, DH_RPLS_NUMCONV, DH_RPLS_LOYERMAXAPL, DH_RPLS_LOYERMAXCUS, DH_RPLS_RSEXPRO, DH_RPLS_SIRETEXPRO,
};

static int is_landlord_only(dh_str name)
{
	int f = dh_rpls_field_find(dh__header_name(name));
	for (size_t i = 0; i < sizeof(landlord_only) / sizeof(landlord_only[0]); i++)
		if (landlord_only[i] == f)
			return 1;
	return 0;
}

int dh__header_layouts(const dh_csv_record *rec, const char **landlord_column, const char **opendata_column,
		       size_t *landlord_len, size_t *opendata_len)
{
	int found = 0;
	*landlord_column = *opendata_column = NULL;
	*landlord_len = *opendata_len = 0;
	for (size_t i = 0; i < rec->nfields; i++) {
		dh_str s = dh__header_name(rec->fields[i]);
		int vintage = dh__opendata_vintage(s);
		if (vintage) {
			if (!(found & vintage) && !*opendata_column) {
				*opendata_column = s.ptr;
				*opendata_len = s.len;
			}
			found |= vintage;
		} else if (is_landlord_only(s)) {
			if (!(found & DH__LAYOUT_BIT(DH_LAYOUT_RPLS))) {
				*landlord_column = s.ptr;
				*landlord_len = s.len;
			}
			found |= DH__LAYOUT_BIT(DH_LAYOUT_RPLS);
		}
	}
	/* Generic open-data columns (X, Y...) only count when no vintage says more. */
	if ((found & DH__LAYOUT_BIT(DH_LAYOUT_AUTO)) &&
	    (found & ~(DH__LAYOUT_BIT(DH_LAYOUT_AUTO) | DH__LAYOUT_BIT(DH_LAYOUT_RPLS))))
		found &= ~DH__LAYOUT_BIT(DH_LAYOUT_AUTO);
	else if (found & DH__LAYOUT_BIT(DH_LAYOUT_AUTO))
		found = (found & ~DH__LAYOUT_BIT(DH_LAYOUT_AUTO)) | DH__LAYOUT_BIT(DH_LAYOUT_RPLS_OPENDATA);
	return found ? found : DH__LAYOUT_BIT(DH_LAYOUT_RPLS);
}

/* ---- the header line of the arrêté ---------------------------------------------------- */

static int all_digits(dh_str s, size_t n)
{
	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)(s.ptr[i] - '0') > 9)
			return 0;
	return 1;
}

int dh__arrete_header(const dh_csv_record *rec)
{
	if (rec->problem != DH_CSV_FINE || rec->nfields < DH__ARRETE_HEADER_FIELDS - 1 ||
	    rec->nfields > DH__ARRETE_HEADER_FIELDS)
		return 0;
	if (!all_digits(dh__trim(rec->fields[0]), 4))
		return 0;
	dh_str siret = dh__trim(rec->fields[9]), count = dh__trim(rec->fields[10]);
	if (all_digits(siret, 14))
		return 1;
	/* A SIRET of the wrong form still makes the line an arrêté header when the record
	 * count is a number: the SIRET is then reported. */
	return count.len > 0 && count.len <= 9 && all_digits(count, count.len);
}
