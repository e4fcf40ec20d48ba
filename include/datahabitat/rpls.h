/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * rpls.h - the fields of a dwelling in the RPLS stock directory, and the typed row
 * that the validator produces from a delivered file (domain.md §3).
 *
 * DH_RPLS_FIELDS is the single list of fields: its order is the canonical column order
 * (used for files without a header line and by the generator); the kind says how the
 * text is parsed; `required` means a transmission file must carry the column.
 * Codes stay text (leading zeros and letters matter); years and counts are integers;
 * surfaces and amounts are numbers (a decimal comma is accepted on input).
 */
#ifndef DATAHABITAT_RPLS_H
#define DATAHABITAT_RPLS_H

#include "datahabitat/base.h"

typedef enum dh_field_kind {
	DH_KIND_TEXT,   /* free text, bounded length */
	DH_KIND_CODE,   /* a code from a list, kept as text */
	DH_KIND_INT,    /* integer count */
	DH_KIND_YEAR,   /* aaaa */
	DH_KIND_DATE,   /* mm/aaaa or jj/mm/aaaa */
	DH_KIND_NUMBER  /* decimal number, dot or comma */
} dh_field_kind;

/* X(ID, kind, max length in characters, required column, French label) */
#define DH_RPLS_FIELDS(X)                                                                   \
	X(IDENT_REP, DH_KIND_TEXT, 10, 1, "identifiant du logement au répertoire")              \
	X(IDENT_INT, DH_KIND_TEXT, 100, 1, "identifiant interne du logement")                   \
	X(DROIT, DH_KIND_CODE, 1, 1, "droit réel du bailleur")                                  \
	X(DEPCOM, DH_KIND_CODE, 5, 1, "code commune (COG)")                                     \
	X(CODEPOSTAL, DH_KIND_CODE, 5, 0, "code postal")                                        \
	X(LIBCOM, DH_KIND_TEXT, 50, 0, "nom de la commune")                                    \
	X(NUMVOIE, DH_KIND_TEXT, 5, 0, "numéro dans la voie")                                  \
	X(INDREP, DH_KIND_TEXT, 5, 0, "indice de répétition")                                  \
	X(TYPVOIE, DH_KIND_TEXT, 15, 0, "type de voie")                                         \
	X(NOMVOIE, DH_KIND_TEXT, 60, 0, "nom de la voie")                                      \
	X(NUMAPPT, DH_KIND_TEXT, 5, 0, "numéro d'appartement")                                 \
	X(ETAGE, DH_KIND_TEXT, 2, 0, "étage")                                                  \
	X(ESC, DH_KIND_TEXT, 3, 0, "escalier")                                                 \
	X(BAT, DH_KIND_TEXT, 50, 0, "bâtiment")                                                 \
	X(IMMEU, DH_KIND_TEXT, 50, 0, "immeuble")                                               \
	X(LIEUDIT, DH_KIND_TEXT, 60, 0, "lieu-dit")                                            \
	X(QPV, DH_KIND_CODE, 1, 0, "logement en quartier prioritaire")                          \
	X(QPV_CODE, DH_KIND_CODE, 8, 0, "code du quartier prioritaire")                         \
	X(TYPECONST, DH_KIND_CODE, 1, 1, "type de construction")                                \
	X(NBPIECE, DH_KIND_INT, 1, 1, "nombre de pièces principales")                           \
	X(SURFHAB, DH_KIND_NUMBER, 6, 1, "surface habitable (m²)")                              \
	X(CONSTRUCT, DH_KIND_YEAR, 4, 1, "année d'achèvement de la construction")               \
	X(LOCAT, DH_KIND_YEAR, 4, 1, "année de première mise en location")                      \
	X(PATRIMOINE, DH_KIND_YEAR, 4, 0, "année d'entrée dans le patrimoine")                  \
	X(ORIGINE, DH_KIND_CODE, 1, 1, "origine du logement")                                   \
	X(FINAN, DH_KIND_CODE, 2, 1, "financement initial")                                     \
	X(CONV, DH_KIND_CODE, 1, 1, "logement conventionné")                                    \
	X(NUMCONV, DH_KIND_TEXT, 35, 0, "numéro de convention")                                 \
	X(DATCONV, DH_KIND_DATE, 10, 0, "date de la convention")                                \
	X(MODE, DH_KIND_CODE, 1, 1, "mode d'occupation au 1er janvier")                         \
	X(BAIL, DH_KIND_DATE, 10, 1, "date de prise d'effet du bail")                           \
	X(REMLOCDATE, DH_KIND_DATE, 10, 1, "date de dernière mise en location")                 \
	X(LOYERPRINC, DH_KIND_NUMBER, 10, 1, "loyer principal mensuel (€)")                     \
	X(LOYERACC, DH_KIND_NUMBER, 10, 0, "loyer accessoire (€)")                              \
	X(CONTRIB, DH_KIND_NUMBER, 10, 0, "contribution du locataire (€)")                      \
	X(CUS, DH_KIND_CODE, 2, 0, "catégorie de plafond de ressources")                        \
	X(DPEDATE, DH_KIND_DATE, 10, 1, "date du diagnostic de performance énergétique")        \
	X(DPEENERGIE, DH_KIND_CODE, 1, 1, "classe énergie du DPE")                              \
	X(DPESERRE, DH_KIND_CODE, 1, 1, "classe gaz à effet de serre du DPE")                   \
	X(SRU_EXPIR, DH_KIND_TEXT, 10, 0, "fin de prise en compte SRU")                         \
	X(SRU_ALINEA, DH_KIND_TEXT, 10, 0, "alinéa SRU")                                        \
	X(CODSEGPATRIM, DH_KIND_TEXT, 20, 0, "code du segment de patrimoine")                   \
	X(LIBSEGPATRIM, DH_KIND_TEXT, 50, 0, "libellé du segment de patrimoine")               \
	X(SORTIEPATRIM, DH_KIND_CODE, 1, 1, "sortie du patrimoine en N-1")                      \
	X(NEWLOGT, DH_KIND_CODE, 1, 0, "logement issu de locaux existants")                     \
	X(CONTRESLOG, DH_KIND_CODE, 1, 0, "contingent de réservation")

/*
 * Fields of the arrêté's annex (and of what SDES collects) that the validator checks and the
 * typed row carries, but that the store does not keep (src/store/sqlite.c stores
 * DH_RPLS_FIELDS only). They come after the stored fields in enum dh_rpls_field.
 * Names are SDES's (docs/domain.md §3); lengths the arrêté's.
 */
#define DH_RPLS_EXTRA_FIELDS(X)                                                             \
	X(NUMBOITE, DH_KIND_TEXT, 5, 0, "numéro de boîte aux lettres")                          \
	X(COULOIR, DH_KIND_TEXT, 3, 0, "couloir")                                               \
	X(COMPLIDENT, DH_KIND_TEXT, 50, 0, "complément d'identification du logement")           \
	X(ENTREE, DH_KIND_TEXT, 3, 0, "entrée du bâtiment")                                     \
	X(RSEXPRO, DH_KIND_TEXT, 100, 0, "raison sociale du précédent propriétaire")            \
	X(SIRETEXPRO, DH_KIND_CODE, 14, 0, "SIRET du précédent propriétaire")                   \
	X(FINANAUTRE, DH_KIND_TEXT, 30, 0, "libellé d'un autre financement")                    \
	X(OLDLOGT, DH_KIND_CODE, 1, 0, "logement disparu, surface restée au patrimoine")        \
	X(MODESURF, DH_KIND_CODE, 1, 0, "mode d'évaluation de la surface du loyer")             \
	X(SURFMODE, DH_KIND_NUMBER, 6, 0, "surface dans le mode retenu pour le loyer (m²)")     \
	X(IDENTGES, DH_KIND_TEXT, 9, 0, "numéro de l'organisme gestionnaire")                   \
	X(LOYERMAXAPL, DH_KIND_NUMBER, 10, 0, "loyer maximal de la convention APL (€)")         \
	X(LOYERMAXCUS, DH_KIND_NUMBER, 10, 0, "loyer maximal de la CUS (€)")                    \
	X(QUALACQ, DH_KIND_CODE, 2, 0, "type de vente (qualité de l'acquéreur)")                \
	X(MISCOMMERCIAL, DH_KIND_CODE, 1, 0, "mise en commercialisation en N-1")                \
	X(PRIXVENTE, DH_KIND_NUMBER, 10, 0, "prix de vente (€)")                                \
	X(PRODFIN, DH_KIND_NUMBER, 10, 0, "produit financier net de la vente (€)")

/* DH_RPLS_NFIELDS: the stored fields (DH_RPLS_FIELDS, the canonical order of files without a
 * header line); DH_RPLS_NALL: every field the validator knows (stored, then extra). */
enum dh_rpls_field {
#define DH_RPLS_ENUM(id, kind, maxlen, required, label) DH_RPLS_##id,
	DH_RPLS_FIELDS(DH_RPLS_ENUM)
	DH_RPLS_NFIELDS,
	DH_RPLS_EXTRA_BEFORE_ = DH_RPLS_NFIELDS - 1,
	DH_RPLS_EXTRA_FIELDS(DH_RPLS_ENUM)
#undef DH_RPLS_ENUM
	DH_RPLS_NALL
};

/* The typed row keeps one presence bit per field in 64 bits. */
_Static_assert(DH_RPLS_NALL <= 64, "a dh_rpls_row presence mask holds 64 fields");

typedef struct dh_field_info {
	const char *name;   /* column name, e.g. "DEPCOM" */
	dh_field_kind kind;
	unsigned maxlen;    /* maximum length in characters */
	int required;       /* 1 if a transmission file must carry the column */
	const char *label;  /* French label */
} dh_field_info;

/* Static description of field `f` (0 <= f < DH_RPLS_NALL), NULL out of range. */
const dh_field_info *dh_rpls_field(int f);
/* Field id of a column name (case-insensitive, surrounding spaces ignored), or -1. */
int dh_rpls_field_find(dh_str name);

/* Parsed value: DH_KIND_INT / YEAR -> i; DATE -> i = yyyymmdd with dd = 0 for mm/aaaa;
 * NUMBER -> d; TEXT / CODE -> unused (see text). */
typedef union dh_rpls_value {
	int64_t i;
	double d;
} dh_rpls_value;

/*
 * One dwelling as validated. Views point into the reader's buffer (or the validator's
 * scratch space) and are valid only during the callback that receives the row.
 */
typedef struct dh_rpls_row {
	dh_str text[DH_RPLS_NALL];         /* trimmed UTF-8 text, len 0 when empty or absent */
	dh_rpls_value value[DH_RPLS_NALL]; /* parsed value for typed kinds */
	uint64_t present;                     /* bit f set: field f non-empty and parsed */
	int32_t commune;                      /* current commune index in dh_geo, -1 if unknown */
	uint64_t line;                        /* 1-based line of the record in the file */
} dh_rpls_row;

#define DH_RPLS_HAS(row, f) (((row)->present >> (f)) & 1u)

#endif
