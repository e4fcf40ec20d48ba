/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * indicators.c - the indicator registry (domain.md §4 and §5) as one data table, the
 * French description of its predicates and the generator of docs/indicators.md.
 *
 * To add an indicator, add a row to `registry`: the cube compiles its terms, the listing and
 * the reference page follow. Keep the ids of domain.md.
 */
#include "datahabitat/indicators.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Predicate shorthands, used only to keep the table readable. */
#define IN(d, s) { DH_DIM_##d, DH_OP_IN, s, 0, 0 }
#define NOT_IN(d, s) { DH_DIM_##d, DH_OP_NOT_IN, s, 0, 0 }
#define RANGE(d, lo, hi) { DH_DIM_##d, DH_OP_RANGE, NULL, lo, hi }
#define PRESENT(d) { DH_DIM_##d, DH_OP_PRESENT, NULL, 0, 0 }
#define ABSENT(d) { DH_DIM_##d, DH_OP_ABSENT, NULL, 0, 0 }
#define SCOPE IN(MODE, "1,2,3,4,5")
#define COUNT(...) { DH_MEASURE_COUNT, DH_DIM_NONE, 0, { __VA_ARGS__ } }
#define COUNT_PREV(...) { DH_MEASURE_COUNT, DH_DIM_NONE, 1, { __VA_ARGS__ } }
#define SUM(d, ...) { DH_MEASURE_SUM, DH_DIM_##d, 0, { __VA_ARGS__ } }
#define NONE { DH_MEASURE_NONE, DH_DIM_NONE, 0, { { DH_DIM_NONE, 0, NULL, 0, 0 } } }
#define NB_LS COUNT(SCOPE)
#define FIN_KNOWN "10,11,12,13,14,16,50,51,52,53,54,55,99"
#define YEAR_MAX 9999

#define F_STOCK "Parc et occupation"
#define F_VAC "Vacance et mobilité"
#define F_RENT "Loyers"
#define F_STRUCT "Structure du parc"
#define F_FIN "Financement initial"
#define F_AGE "Âge du parc"
#define F_DPE "Performance énergétique (DPE)"
#define F_BAN "Calendrier d'interdiction de location"
#define F_FLOW "Mises en service et sorties"

#define CNT(id, fam, label, sens, num, note) \
	{ id, fam, label, DH_UNIT_LOGEMENTS, DH_IND_COUNT, sens, 0, num, NONE, note }
#define PCT(id, fam, label, sens, num, den, note) \
	{ id, fam, label, DH_UNIT_PCT, DH_IND_PCT, sens, 0, num, den, note }

static const dh_indicator registry[] = {
	/* Stock and occupancy */
	CNT("nb_ls", F_STOCK, "Logements du parc locatif social", DH_SENS_PUBLIC, NB_LS,
	    "Périmètre : MODE 1 à 5 (les logements en MODE 9 sont hors parc)."),
	CNT("loues", F_STOCK, "Logements loués", DH_SENS_BUSINESS, COUNT(IN(MODE, "1")), NULL),
	CNT("vacants", F_STOCK, "Logements vacants proposés à la location", DH_SENS_BUSINESS,
	    COUNT(IN(MODE, "2")), NULL),
	CNT("vides", F_STOCK, "Logements vides (travaux, vente, démolition)", DH_SENS_BUSINESS,
	    COUNT(IN(MODE, "3")), NULL),
	CNT("asso", F_STOCK, "Logements loués à une association", DH_SENS_BUSINESS,
	    COUNT(IN(MODE, "4")), NULL),
	CNT("autres", F_STOCK, "Logements occupés à un autre titre", DH_SENS_BUSINESS,
	    COUNT(IN(MODE, "5")), NULL),
	{ "evol_nb_ls", F_STOCK, "Évolution du parc sur un an", DH_UNIT_PCT, DH_IND_EVOLUTION,
	  DH_SENS_PUBLIC, 1, NB_LS, COUNT_PREV(SCOPE),
	  "nb_ls à la date de référence rapporté à nb_ls un an plus tôt, moins 1, en %." },

	/* Vacancy and mobility */
	PCT("tx_vac", F_VAC, "Taux de vacance", DH_SENS_BUSINESS, COUNT(IN(MODE, "2")),
	    COUNT(IN(MODE, "1,2")),
	    "Dénominateur : logements loués ou proposés à la location (MODE 1 ou 2), pas nb_ls."),
	PCT("tx_vac3", F_VAC, "Taux de vacance de plus de 3 mois", DH_SENS_BUSINESS,
	    COUNT(IN(MODE, "2"), RANGE(REMLOC_MONTHS, 4, 100000)), COUNT(IN(MODE, "1,2")),
	    "Mois entiers écoulés depuis le 1er du mois de REMLOCDATE supérieurs à 3 : au "
	    "1/1/2025, REMLOCDATE au plus tard 09/2024."),
	{ "tx_mob", F_VAC, "Taux de mobilité", DH_UNIT_PCT, DH_IND_PCT, DH_SENS_BUSINESS, 1,
	  COUNT(IN(MODE, "1"), RANGE(BAIL_MONTHS, 1, 12), RANGE(LOCAT_YEARS, 2, YEAR_MAX)),
	  COUNT(IN(MODE, "1,2"), RANGE(LOCAT_YEARS, 2, YEAR_MAX)),
	  "Baux ayant pris effet dans l'année précédant la date de référence, parmi les "
	  "logements proposés à la location depuis au moins un an (mis en location avant cette "
	  "année) : les logements mis en service dans l'année sont exclus." },

	/* Rents */
	{ "loyer_m2", F_RENT, "Loyer moyen au m² de surface habitable", DH_UNIT_EUR_M2,
	  DH_IND_RATIO, DH_SENS_BUSINESS, 0,
	  SUM(LOYERPRINC, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)),
	  SUM(SURFHAB, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)),
	  "Logements loués ; LOYERPRINC = 9999 (non applicable) est exclu." },

	/* Structure */
	PCT("part_qpv", F_STRUCT, "Part des logements en QPV", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(QPV, "1")), NB_LS, "QPV = 1 ou un code de quartier renseigné."),
	PCT("part_collectif", F_STRUCT, "Part des logements collectifs", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(TYPECONST, "C")), NB_LS, NULL),
	PCT("part_individuel", F_STRUCT, "Part des logements individuels", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(TYPECONST, "I")), NB_LS, NULL),
	CNT("nb_p1", F_STRUCT, "Logements d'une pièce", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(NBPIECE, 1, 1)), NULL),
	CNT("nb_p2", F_STRUCT, "Logements de 2 pièces", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(NBPIECE, 2, 2)), NULL),
	CNT("nb_p3", F_STRUCT, "Logements de 3 pièces", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(NBPIECE, 3, 3)), NULL),
	CNT("nb_p4", F_STRUCT, "Logements de 4 pièces", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(NBPIECE, 4, 4)), NULL),
	CNT("nb_p5p", F_STRUCT, "Logements de 5 pièces et plus", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(NBPIECE, 5, 99)), NULL),

	/* Financing groups */
	CNT("fin_plai", F_FIN, "Financés en PLAI (PLA-I, PLA-LM/TS)", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(FINAN, "10,11")), NULL),
	CNT("fin_plus", F_FIN, "Financés en PLUS après 1977 (PLA, PLUS)", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(FINAN, "12,13")), NULL),
	CNT("fin_plus_av77", F_FIN, "Financés en PLUS avant 1977 (HBM, HLM/O, ILM...)",
	    DH_SENS_PUBLIC, COUNT(SCOPE, IN(FINAN, "50,51,52,53,54,55,99")), NULL),
	CNT("fin_pls", F_FIN, "Financés en PLS", DH_SENS_PUBLIC, COUNT(SCOPE, IN(FINAN, "14")), NULL),
	CNT("fin_pli", F_FIN, "Financés en PLI", DH_SENS_PUBLIC, COUNT(SCOPE, IN(FINAN, "16")), NULL),
	CNT("fin_autre", F_FIN, "Autres financements", DH_SENS_PUBLIC,
	    COUNT(SCOPE, NOT_IN(FINAN, FIN_KNOWN)), "Codes 15, 17, 49 et autres."),

	/* Age */
	CNT("age_lt5", F_AGE, "Logements de moins de 5 ans", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 0, 4)), "Âge = année de référence - CONSTRUCT."),
	CNT("age_5_10", F_AGE, "Logements de 5 à 10 ans", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 5, 9)), NULL),
	CNT("age_10_20", F_AGE, "Logements de 10 à 20 ans", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 10, 19)), NULL),
	CNT("age_20_40", F_AGE, "Logements de 20 à 40 ans", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 20, 39)), NULL),
	CNT("age_40_60", F_AGE, "Logements de 40 à 60 ans", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 40, 59)), NULL),
	CNT("age_ge60", F_AGE, "Logements de 60 ans et plus", DH_SENS_PUBLIC,
	    COUNT(SCOPE, RANGE(AGE, 60, YEAR_MAX)), NULL),
	{ "age_moyen", F_AGE, "Âge moyen du parc", DH_UNIT_ANNEES, DH_IND_RATIO, DH_SENS_PUBLIC, 0,
	  SUM(AGE, SCOPE, RANGE(AGE, 0, YEAR_MAX)), COUNT(SCOPE, RANGE(AGE, 0, YEAR_MAX)),
	  "Logements dont l'année de construction est connue." },

	/* DPE */
	CNT("dpe_e_a", F_DPE, "Étiquette énergie A", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "A")), NULL),
	CNT("dpe_e_b", F_DPE, "Étiquette énergie B", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "B")), NULL),
	CNT("dpe_e_c", F_DPE, "Étiquette énergie C", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "C")), NULL),
	CNT("dpe_e_d", F_DPE, "Étiquette énergie D", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "D")), NULL),
	CNT("dpe_e_e", F_DPE, "Étiquette énergie E", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "E")), NULL),
	CNT("dpe_e_f", F_DPE, "Étiquette énergie F", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "F")), NULL),
	CNT("dpe_e_g", F_DPE, "Étiquette énergie G", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "G")), NULL),
	CNT("dpe_g_a", F_DPE, "Étiquette climat (GES) A", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "A")), NULL),
	CNT("dpe_g_b", F_DPE, "Étiquette climat (GES) B", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "B")), NULL),
	CNT("dpe_g_c", F_DPE, "Étiquette climat (GES) C", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "C")), NULL),
	CNT("dpe_g_d", F_DPE, "Étiquette climat (GES) D", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "D")), NULL),
	CNT("dpe_g_e", F_DPE, "Étiquette climat (GES) E", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "E")), NULL),
	CNT("dpe_g_f", F_DPE, "Étiquette climat (GES) F", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "F")), NULL),
	CNT("dpe_g_g", F_DPE, "Étiquette climat (GES) G", DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_SERRE, "G")), NULL),
	CNT("dpe_absent", F_DPE, "Logements sans DPE", DH_SENS_PUBLIC,
	    COUNT(SCOPE, ABSENT(DPE_ENERGIE)), "DPEDATE 01/1900 ou vide : pas de DPE, quelle que soit la classe."),
	PCT("part_fg", F_DPE, "Part des logements classés F ou G", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(DPE_ENERGIE, "F,G")), COUNT(SCOPE, PRESENT(DPE_ENERGIE)),
	    "Parmi les logements ayant un DPE."),

	/* Rental ban calendar (loi Climat et résilience) */
	CNT("interdit_2025", F_BAN, "Classés G : interdits à la location depuis le 1/1/2025",
	    DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "G")), "Outre-mer : 2028."),
	CNT("interdit_2028", F_BAN, "Classés F : interdits à la location au 1/1/2028",
	    DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "F")), "Outre-mer : 2031."),
	CNT("interdit_2034", F_BAN, "Classés E : interdits à la location au 1/1/2034",
	    DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "E")), NULL),
	CNT("interdit_sans_dpe", F_BAN, "Sans DPE : échéance inconnue, diagnostic à réaliser",
	    DH_SENS_PUBLIC, COUNT(SCOPE, ABSENT(DPE_ENERGIE)), NULL),

	/* Flows */
	{ "mes", F_FLOW, "Mises en service de l'année précédente", DH_UNIT_LOGEMENTS, DH_IND_COUNT,
	  DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1)), NONE,
	  "Logements mis en location pour la première fois l'année précédant la date de référence." },
	{ "mes_construits", F_FLOW, "Mises en service : construits par le bailleur", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "1")), NONE, NULL },
	{ "mes_acq_travaux", F_FLOW, "Mises en service : acquis avec travaux", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "2")), NONE, NULL },
	{ "mes_acq_sans_travaux", F_FLOW, "Mises en service : acquis sans travaux", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "3")), NONE, NULL },
	{ "mes_vefa", F_FLOW, "Mises en service : acquis en VEFA", DH_UNIT_LOGEMENTS, DH_IND_COUNT,
	  DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "4")), NONE, NULL },
	CNT("sorties", F_FLOW, "Sorties du patrimoine en N-1", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "1,2,3,4,5")),
	    "Tous les logements déclarés, y compris hors parc (MODE 9)."),
	CNT("sortie_vente_locataire", F_FLOW, "Sorties : ventes à l'occupant", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "1")), NULL),
	CNT("sortie_vente_bailleur", F_FLOW, "Sorties : ventes à un autre bailleur social",
	    DH_SENS_BUSINESS, COUNT(IN(SORTIEPATRIM, "2")), NULL),
	CNT("sortie_autre_vente", F_FLOW, "Sorties : autres ventes", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "3")), NULL),
	CNT("sortie_demolition", F_FLOW, "Sorties : démolitions", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "4")), NULL),
	CNT("sortie_autre", F_FLOW, "Sorties : autres motifs", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "5")), NULL),
};

#define NREGISTRY (sizeof(registry) / sizeof(registry[0]))

size_t dh_indicator_count(void)
{
	return NREGISTRY;
}

const dh_indicator *dh_indicator_at(size_t i)
{
	return i < NREGISTRY ? &registry[i] : NULL;
}

int dh_indicator_find(dh_str id)
{
	for (size_t i = 0; i < NREGISTRY; i++)
		if (dh_str_eq(id, registry[i].id))
			return (int)i;
	return -1;
}

int dh_indicator_list_check(const int *positions, size_t n, dh_error *err)
{
	if (n > DH_QUERY_MAX_INDICATORS)
		return dh_error_set(err, DH_INVAL, "trop d'indicateurs demandés (%zu, au plus %d)", n,
				    DH_QUERY_MAX_INDICATORS);
	if (n && !positions)
		return dh_error_set(err, DH_INVAL, "liste d'indicateurs absente");
	uint8_t seen[DH_QUERY_MAX_INDICATORS];
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		int k = positions[i];
		if (k < 0 || (size_t)k >= NREGISTRY || k >= DH_QUERY_MAX_INDICATORS)
			return dh_error_set(err, DH_INVAL, "indicateur n° %d inconnu", k);
		if (seen[k]++)
			return dh_error_set(err, DH_INVAL, "indicateur « %s » demandé deux fois",
					    registry[k].id);
	}
	return DH_OK;
}

int dh_predicate_set_check(const dh_predicate *p, dh_error *err)
{
	if (p->op != DH_OP_IN && p->op != DH_OP_NOT_IN)
		return DH_OK;
	const char *name = dh_dim_name(p->dim);
	if (!p->set || !*p->set)
		return dh_error_set(err, DH_INVAL, "filtre %s : valeurs manquantes", name);
	size_t len = strnlen(p->set, DH_FILTER_MAX_BYTES + 1), nvalues = 1;
	if (len > DH_FILTER_MAX_BYTES)
		return dh_error_set(err, DH_INVAL, "filtre %s : liste de valeurs trop longue (au plus %d octets)",
				    name, DH_FILTER_MAX_BYTES);
	for (size_t i = 0; i < len; i++)
		nvalues += p->set[i] == ',';
	if (nvalues > DH_FILTER_MAX_VALUES)
		return dh_error_set(err, DH_INVAL, "filtre %s : trop de valeurs (%zu, au plus %d)", name,
				    nvalues, DH_FILTER_MAX_VALUES);
	/* at most 64 values: the pairwise comparison stays small */
	for (const char *a = p->set; *a;) {
		size_t alen = strcspn(a, ",");
		if (alen == 0)
			return dh_error_set(err, DH_INVAL, "filtre %s : valeur vide", name);
		for (const char *b = a[alen] ? a + alen + 1 : a + alen; *b;) {
			size_t blen = strcspn(b, ",");
			if (blen == alen && memcmp(a, b, alen) == 0)
				return dh_error_set(err, DH_INVAL, "filtre %s : valeur « %.*s » en double", name,
						    (int)(alen < 32 ? alen : 32), a);
			b += blen + (b[blen] == ',');
		}
		if (!a[alen])
			break;
		a += alen + 1;
		if (!*a)
			return dh_error_set(err, DH_INVAL, "filtre %s : valeur vide", name);
	}
	return DH_OK;
}

static const char *const dim_names[DH_DIM_COUNT] = {
	"", "MODE", "TYPECONST", "NBPIECE", "FINAN", "DPEENERGIE", "DPESERRE", "QPV", "ORIGINE",
	"SORTIEPATRIM", "LOYERPRINC", "SURFHAB", "CONSTRUCT", "AGE", "LOCAT", "LOCAT_ANS",
	"BAIL_MOIS", "REMLOC_MOIS", "BAILLEUR",
};

const char *dh_dim_name(dh_dim dim)
{
	return dim > DH_DIM_NONE && dim < DH_DIM_COUNT ? dim_names[dim] : "?";
}

dh_dim dh_dim_find(dh_str name)
{
	for (int d = 1; d < DH_DIM_COUNT; d++) {
		const char *n = dim_names[d];
		if (strlen(n) != name.len)
			continue;
		size_t k = 0;
		while (k < name.len && toupper((unsigned char)name.ptr[k]) == n[k])
			k++;
		if (k == name.len)
			return (dh_dim)d;
	}
	return DH_DIM_NONE;
}

const char *dh_unit_label(dh_unit unit)
{
	switch (unit) {
	case DH_UNIT_LOGEMENTS: return "logements";
	case DH_UNIT_PCT: return "%";
	case DH_UNIT_EUR_M2: return "€/m²/mois";
	case DH_UNIT_ANNEES: return "années";
	}
	return "?";
}

const char *dh_sensitivity_label(dh_sensitivity s)
{
	switch (s) {
	case DH_SENS_PUBLIC: return "structure publique";
	case DH_SENS_BUSINESS: return "activité des bailleurs";
	case DH_SENS_HOUSEHOLD: return "ménages";
	}
	return "?";
}

/* Append to a bounded buffer, keeping count of what was needed. */
typedef struct sbuf {
	char *buf;
	size_t size, len;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = sb->len < sb->size ? sb->size - sb->len : 0;
	int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n;
}

static void describe_predicate(sbuf *sb, const dh_predicate *p)
{
	const char *name = dh_dim_name(p->dim);
	switch (p->op) {
	case DH_OP_IN:
		sb_printf(sb, "%s ∈ {%s}", name, p->set ? p->set : "");
		break;
	case DH_OP_NOT_IN:
		sb_printf(sb, "%s ∉ {%s}", name, p->set ? p->set : "");
		break;
	case DH_OP_RANGE:
		if (p->lo == p->hi)
			sb_printf(sb, "%s = %d", name, (int)p->lo);
		else if (p->hi >= 9999)
			sb_printf(sb, "%s ≥ %d", name, (int)p->lo);
		else
			sb_printf(sb, "%d ≤ %s ≤ %d", (int)p->lo, name, (int)p->hi);
		break;
	case DH_OP_PRESENT:
		sb_printf(sb, "%s renseigné", name);
		break;
	case DH_OP_ABSENT:
		sb_printf(sb, "%s absent", name);
		break;
	}
}

size_t dh_term_describe(const dh_term *term, char *buf, size_t size)
{
	sbuf sb = { buf, size, 0 };
	if (size)
		buf[0] = '\0';
	if (term->measure == DH_MEASURE_NONE)
		return 0;
	if (term->measure == DH_MEASURE_SUM)
		sb_printf(&sb, "somme de %s", dh_dim_name(term->sum_dim));
	else
		sb_printf(&sb, "nombre");
	sb_printf(&sb, " des logements");
	if (term->year_shift)
		sb_printf(&sb, " un an avant la date de référence");
	for (int i = 0; i < DH_TERM_MAX_PREDICATES && term->where[i].dim != DH_DIM_NONE; i++) {
		sb_printf(&sb, i == 0 ? " où " : " et ");
		describe_predicate(&sb, &term->where[i]);
	}
	if (size && sb.len >= size)
		buf[size - 1] = '\0';
	return sb.len;
}

static const char *kind_formula(dh_ind_kind kind)
{
	switch (kind) {
	case DH_IND_COUNT: return "N";
	case DH_IND_PCT: return "N / D × 100";
	case DH_IND_RATIO: return "N / D";
	case DH_IND_EVOLUTION: return "(N / D − 1) × 100";
	}
	return "?";
}

static const char markdown_head[] =
	"# Indicateurs du parc locatif social\n\n"
	"Page générée à partir du registre des indicateurs (`src/cube/indicators.c`) par\n"
	"`dh_indicators_markdown()` ; ne pas la modifier à la main (le test unitaire\n"
	"`test_indicators` vérifie qu'elle est à jour, `DH_UPDATE_DOCS=1` la régénère).\n\n"
	"Définitions : domain.md §4 et §5 (SDES, publications des DREAL).\n"
	"Chaque indicateur vaut N (nombre ou somme sur les logements valides à la date de\n"
	"référence qui vérifient le numérateur), N / D, ou l'évolution. Une division par zéro\n"
	"donne une valeur indéfinie (NaN). Les taux sont en pourcentage à pleine précision.\n\n"
	"Dimensions relatives à la date de référence D (année A) : `AGE` = A − CONSTRUCT,\n"
	"`LOCAT_ANS` = A − LOCAT, `BAIL_MOIS` et `REMLOC_MOIS` = mois entiers écoulés du 1er du\n"
	"mois de BAIL / REMLOCDATE au 1er du mois de D. Normalisations faites à la construction\n"
	"du cube : classes DPE absentes si DPEDATE vaut 01/1900 ou est vide ; LOYERPRINC = 9999\n"
	"(non applicable) traité comme absent ; QPV = 1 si le drapeau QPV vaut 1 ou si un code\n"
	"de quartier est donné.\n\n"
	"Sensibilité (domain.md §7) : *structure publique* (diffusable), *activité des\n"
	"bailleurs* (au moins 3 bailleurs par case, aucun au-delà de 85 %), *ménages* (au moins\n"
	"11 ménages).\n";

int dh_indicators_markdown(char **out, size_t *len)
{
	size_t cap = 64 * 1024;
	for (;;) {
		char *buf = malloc(cap);
		if (!buf)
			return DH_NOMEM;
		sbuf sb = { buf, cap, 0 };
		char num[512], den[512];
		const char *family = NULL;
		sb_printf(&sb, "%s", markdown_head);
		for (size_t i = 0; i < NREGISTRY; i++) {
			const dh_indicator *ind = &registry[i];
			if (!family || strcmp(family, ind->family) != 0) {
				family = ind->family;
				sb_printf(&sb, "\n## %s\n\n", family);
				sb_printf(&sb, "| id | libellé | unité | formule | N | D | sensibilité | note |\n");
				sb_printf(&sb, "|---|---|---|---|---|---|---|---|\n");
			}
			dh_term_describe(&ind->num, num, sizeof(num));
			dh_term_describe(&ind->den, den, sizeof(den));
			sb_printf(&sb, "| `%s` | %s | %s | %s | %s | %s | %s | %s%s |\n", ind->id,
				  ind->label, dh_unit_label(ind->unit), kind_formula(ind->kind), num,
				  den[0] ? den : "—", dh_sensitivity_label(ind->sensitivity),
				  ind->two_dates ? "deux dates. " : "", ind->note ? ind->note : "");
		}
		if (sb.len < cap) {
			*out = buf;
			*len = sb.len;
			return DH_OK;
		}
		free(buf);
		cap = sb.len + 1;
	}
}
