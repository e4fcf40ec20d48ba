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
/* The parc locatif social as SDES defines it: MODE 1-5 (or a reference source's row),
 * without the non-conventioned dwellings of SEM (DH_DIM_PARC, computed by the cube). */
#define SCOPE IN(PARC, "LS")
#define COUNT(...) { DH_MEASURE_COUNT, DH_DIM_NONE, 0, { __VA_ARGS__ } }
#define COUNT_PREV(...) { DH_MEASURE_COUNT, DH_DIM_NONE, 1, { __VA_ARGS__ } }
#define SUM(d, ...) { DH_MEASURE_SUM, DH_DIM_##d, 0, { __VA_ARGS__ } }
#define NONE { DH_MEASURE_NONE, DH_DIM_NONE, 0, { { DH_DIM_NONE, 0, NULL, 0, 0 } } }
#define NB_LS COUNT(SCOPE)
#define FIN_KNOWN "10,11,12,13,14,16,50,51,52,53,54,55,99"
#define YEAR_MAX 9999
#define NEW_DPE_NOTE \
	"DPE réalisés depuis le 1er juillet 2021 (méthode réformée, encore valides) ; les autres " \
	"sont dans dpe_e_nr_new (ener_*_new du SDES)."

#define F_STOCK "Parc et occupation"
#define F_VAC "Vacance et mobilité"
#define F_RENT "Loyers"
#define F_STRUCT "Structure du parc"
#define F_FIN "Financement initial"
#define F_AGE "Âge du parc"
#define F_DPE "Performance énergétique (DPE)"
#define F_BAN "Calendrier d'interdiction de location"
#define F_FLOW "Mises en service et sorties"

/* Disclosure relations (dh_ind_relations): none, partitions, an upper bound, a formula. */
#define NOREL { { NULL }, NULL, NULL, NULL, NULL }
#define PARTS(...) { { __VA_ARGS__ }, NULL, NULL, NULL, NULL }
#define WITHIN(w) { { NULL }, w, NULL, NULL, NULL }
#define UNITS(pop) { { NULL }, NULL, NULL, NULL, pop }
#define WITHIN_UNITS(w, pop) { { NULL }, w, NULL, NULL, pop }
#define RATE(num, den, pop) { { NULL }, NULL, num, den, pop }

#define CNT(id, fam, label, sens, num, note) \
	{ id, fam, label, DH_UNIT_LOGEMENTS, DH_IND_COUNT, sens, 0, num, NONE, note, NOREL }
#define CNTR(id, fam, label, sens, num, rel, note) \
	{ id, fam, label, DH_UNIT_LOGEMENTS, DH_IND_COUNT, sens, 0, num, NONE, note, rel }
#define PCT(id, fam, label, sens, num, den, rel, note) \
	{ id, fam, label, DH_UNIT_PCT, DH_IND_PCT, sens, 0, num, den, note, rel }
#define MODES "loues + vacants"
#define AGES "age_lt5 + age_5_10 + age_10_20 + age_20_40 + age_40_60 + age_ge60"
#define DPE_E "dpe_e_a + dpe_e_b + dpe_e_c + dpe_e_d + dpe_e_e + dpe_e_f + dpe_e_g"

/* Energy class `cls` among the DPEs made since 1 July 2021 (SDES's ener_X_new). */
#define DPE_NEW(id, cls, all, note)                                                            \
	CNTR(id, F_DPE, "Étiquette énergie " cls " (DPE depuis juillet 2021)", DH_SENS_PUBLIC,   \
	     COUNT(SCOPE, IN(DPE_RECENT, "1"), IN(DPE_ENERGIE, cls)), WITHIN(all), note)

static const dh_indicator registry[] = {
	/* Stock and occupancy */
	CNTR("nb_ls", F_STOCK, "Logements du parc locatif social", DH_SENS_PUBLIC, NB_LS,
	     PARTS("loues + vacants + vides + asso + autres",
		   "nb_p1 + nb_p2 + nb_p3 + nb_p4 + nb_p5p",
		   "fin_plai + fin_plus + fin_plus_av77 + fin_pls + fin_pli + fin_autre", AGES,
		   DPE_E " + dpe_absent",
		   "dpe_g_a + dpe_g_b + dpe_g_c + dpe_g_d + dpe_g_e + dpe_g_f + dpe_g_g + dpe_absent"),
	     "Périmètre du SDES : MODE 1 à 5 (les logements en MODE 9 sont hors parc), sans les "
	     "logements non conventionnés des SEM (publiés à part : parc_non_conv) ; les logements "
	     "étudiants (TYPECONST E) en font partie."),
	CNT("loues", F_STOCK, "Logements loués", DH_SENS_BUSINESS, COUNT(SCOPE, IN(MODE, "1")), NULL),
	CNT("vacants", F_STOCK, "Logements vacants proposés à la location", DH_SENS_BUSINESS,
	    COUNT(SCOPE, IN(MODE, "2")), NULL),
	CNT("vides", F_STOCK, "Logements vides (travaux, vente, démolition)", DH_SENS_BUSINESS,
	    COUNT(SCOPE, IN(MODE, "3")), NULL),
	CNT("asso", F_STOCK, "Logements loués à une association", DH_SENS_BUSINESS,
	    COUNT(SCOPE, IN(MODE, "4")), NULL),
	CNT("autres", F_STOCK, "Logements occupés à un autre titre", DH_SENS_BUSINESS,
	    COUNT(SCOPE, IN(MODE, "5")), NULL),
	{ "nb_ls_prec", F_STOCK, "Logements du parc un an avant la date de référence",
	  DH_UNIT_LOGEMENTS, DH_IND_COUNT, DH_SENS_PUBLIC, 1, COUNT_PREV(SCOPE), NONE,
	  "Dénominateur de evol_nb_ls.", NOREL },
	{ "evol_nb_ls", F_STOCK, "Évolution du parc sur un an", DH_UNIT_PCT, DH_IND_EVOLUTION,
	  DH_SENS_PUBLIC, 1, NB_LS, COUNT_PREV(SCOPE),
	  "nb_ls à la date de référence rapporté à nb_ls un an plus tôt, moins 1, en %.",
	  RATE("nb_ls", "nb_ls_prec", "nb_ls") },

	/* Vacancy and mobility */
	PCT("tx_vac", F_VAC, "Taux de vacance", DH_SENS_BUSINESS, COUNT(SCOPE, IN(MODE, "2")),
	    COUNT(SCOPE, IN(MODE, "1,2")), RATE("vacants", MODES, MODES),
	    "Dénominateur : logements loués ou proposés à la location (MODE 1 ou 2), pas nb_ls."),
	CNTR("vacants_3m", F_VAC, "Logements vacants depuis plus de 3 mois", DH_SENS_BUSINESS,
	     COUNT(SCOPE, IN(MODE, "2"), RANGE(REMLOC_MONTHS, 4, 100000)), WITHIN("vacants"),
	     "Numérateur de tx_vac3."),
	PCT("tx_vac3", F_VAC, "Taux de vacance de plus de 3 mois", DH_SENS_BUSINESS,
	    COUNT(SCOPE, IN(MODE, "2"), RANGE(REMLOC_MONTHS, 4, 100000)), COUNT(SCOPE, IN(MODE, "1,2")),
	    RATE("vacants_3m", MODES, MODES),
	    "Mois entiers écoulés depuis le 1er du mois de REMLOCDATE supérieurs à 3 : au "
	    "1/1/2025, REMLOCDATE au plus tard 09/2024."),
	{ "proposes_1an", F_VAC, "Logements proposés à la location depuis au moins un an",
	  DH_UNIT_LOGEMENTS, DH_IND_COUNT, DH_SENS_BUSINESS, 1,
	  COUNT(SCOPE, IN(MODE, "1,2"), RANGE(LOCAT_YEARS, 2, YEAR_MAX)), NONE,
	  "Dénominateur de tx_mob.", WITHIN(MODES) },
	{ "emmenagements", F_VAC, "Baux ayant pris effet dans l'année", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_BUSINESS, 1,
	  COUNT(SCOPE, IN(MODE, "1"), RANGE(BAIL_MONTHS, 1, 12), RANGE(LOCAT_YEARS, 2, YEAR_MAX)), NONE,
	  "Numérateur de tx_mob.", WITHIN("proposes_1an") },
	{ "tx_mob", F_VAC, "Taux de mobilité", DH_UNIT_PCT, DH_IND_PCT, DH_SENS_BUSINESS, 1,
	  COUNT(SCOPE, IN(MODE, "1"), RANGE(BAIL_MONTHS, 1, 12), RANGE(LOCAT_YEARS, 2, YEAR_MAX)),
	  COUNT(SCOPE, IN(MODE, "1,2"), RANGE(LOCAT_YEARS, 2, YEAR_MAX)),
	  "Baux ayant pris effet dans l'année précédant la date de référence, parmi les "
	  "logements proposés à la location depuis au moins un an (mis en location avant cette "
	  "année) : les logements mis en service dans l'année sont exclus.",
	  RATE("emmenagements", "proposes_1an", "proposes_1an") },

	/* Rents */
	{ "loyer_total", F_RENT, "Somme des loyers principaux des logements loués", DH_UNIT_EUR,
	  DH_IND_COUNT, DH_SENS_BUSINESS, 0,
	  SUM(LOYERPRINC, SCOPE, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)), NONE,
	  "Numérateur de loyer_m2.", UNITS("loues") },
	{ "surface_louee", F_RENT, "Surface habitable des logements loués", DH_UNIT_M2,
	  DH_IND_COUNT, DH_SENS_BUSINESS, 0,
	  SUM(SURFHAB, SCOPE, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)), NONE,
	  "Dénominateur de loyer_m2.", UNITS("loues") },
	{ "loyer_m2", F_RENT, "Loyer moyen au m² de surface habitable", DH_UNIT_EUR_M2,
	  DH_IND_RATIO, DH_SENS_BUSINESS, 0,
	  SUM(LOYERPRINC, SCOPE, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)),
	  SUM(SURFHAB, SCOPE, IN(MODE, "1"), PRESENT(LOYERPRINC), PRESENT(SURFHAB)),
	  "Logements loués ; LOYERPRINC = 9999 (non applicable) est exclu.",
	  RATE("loyer_total", "surface_louee", "loues") },

	/* Structure */
	CNTR("nb_qpv", F_STRUCT, "Logements en QPV", DH_SENS_PUBLIC, COUNT(SCOPE, IN(QPV, "1")),
	     WITHIN("nb_ls"), NULL),
	PCT("part_qpv", F_STRUCT, "Part des logements en QPV", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(QPV, "1")), NB_LS, RATE("nb_qpv", "nb_ls", "nb_ls"),
	    "QPV = 1 ou un code de quartier renseigné."),
	CNTR("nb_collectif", F_STRUCT, "Logements collectifs", DH_SENS_PUBLIC,
	     COUNT(SCOPE, IN(TYPECONST, "C,E")), WITHIN("nb_ls"), "Logements étudiants (TYPECONST E) compris."),
	CNTR("nb_individuel", F_STRUCT, "Logements individuels", DH_SENS_PUBLIC,
	     COUNT(SCOPE, IN(TYPECONST, "I")), WITHIN("nb_ls"), NULL),
	PCT("part_collectif", F_STRUCT, "Part des logements collectifs", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(TYPECONST, "C,E")), NB_LS, RATE("nb_collectif", "nb_ls", "nb_ls"),
	    "Les logements étudiants (TYPECONST E) sont des logements collectifs (comptés aussi "
	    "à part : nb_ls_etu)."),
	PCT("part_individuel", F_STRUCT, "Part des logements individuels", DH_SENS_PUBLIC,
	    COUNT(SCOPE, IN(TYPECONST, "I")), NB_LS, RATE("nb_individuel", "nb_ls", "nb_ls"), NULL),
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
	{ "age_cumule", F_AGE, "Somme des âges des logements", DH_UNIT_ANNEES, DH_IND_COUNT,
	  DH_SENS_PUBLIC, 0, SUM(AGE, SCOPE, RANGE(AGE, 0, YEAR_MAX)), NONE,
	  "Numérateur de age_moyen.", UNITS(AGES) },
	{ "age_moyen", F_AGE, "Âge moyen du parc", DH_UNIT_ANNEES, DH_IND_RATIO, DH_SENS_PUBLIC, 0,
	  SUM(AGE, SCOPE, RANGE(AGE, 0, YEAR_MAX)), COUNT(SCOPE, RANGE(AGE, 0, YEAR_MAX)),
	  "Logements dont l'année de construction est connue.", RATE("age_cumule", AGES, AGES) },

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
	    RATE("dpe_e_f + dpe_e_g", DPE_E, DPE_E), "Parmi les logements ayant un DPE."),

	/* Rental ban calendar (loi Climat et résilience) */
	CNTR("interdit_2025", F_BAN, "Classés G : interdits à la location depuis le 1/1/2025",
	     DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "G")), PARTS("dpe_e_g"), "Outre-mer : 2028."),
	CNTR("interdit_2028", F_BAN, "Classés F : interdits à la location au 1/1/2028",
	     DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "F")), PARTS("dpe_e_f"), "Outre-mer : 2031."),
	CNTR("interdit_2034", F_BAN, "Classés E : interdits à la location au 1/1/2034",
	     DH_SENS_PUBLIC, COUNT(SCOPE, IN(DPE_ENERGIE, "E")), PARTS("dpe_e_e"), NULL),
	CNTR("interdit_sans_dpe", F_BAN, "Sans DPE : échéance inconnue, diagnostic à réaliser",
	     DH_SENS_PUBLIC, COUNT(SCOPE, ABSENT(DPE_ENERGIE)), PARTS("dpe_absent"), NULL),

	/* Flows */
	{ "mes", F_FLOW, "Mises en service de l'année précédente", DH_UNIT_LOGEMENTS, DH_IND_COUNT,
	  DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1)), NONE,
	  "Logements mis en location pour la première fois l'année précédant la date de référence.",
	  { { "mes_construits + mes_acq_travaux + mes_acq_sans_travaux + mes_vefa" }, "nb_ls",
	    NULL, NULL, NULL } },
	{ "mes_construits", F_FLOW, "Mises en service : construits par le bailleur", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "1")), NONE, NULL, NOREL },
	{ "mes_acq_travaux", F_FLOW, "Mises en service : acquis avec travaux", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "2")), NONE, NULL, NOREL },
	{ "mes_acq_sans_travaux", F_FLOW, "Mises en service : acquis sans travaux", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1,
	  COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "3")), NONE, NULL, NOREL },
	{ "mes_vefa", F_FLOW, "Mises en service : acquis en VEFA", DH_UNIT_LOGEMENTS, DH_IND_COUNT,
	  DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(ORIGINE, "4")), NONE, NULL, NOREL },
	CNTR("sorties", F_FLOW, "Sorties du patrimoine en N-1", DH_SENS_BUSINESS,
	     COUNT(IN(SORTIEPATRIM, "1,2,3,4,5"), NOT_IN(PARC, "NC")),
	     PARTS("sortie_vente_locataire + sortie_vente_bailleur + sortie_autre_vente + "
		   "sortie_demolition + sortie_autre"),
	     "Tous les logements déclarés, y compris hors parc (MODE 9), sauf les logements non "
	     "conventionnés des SEM en MODE 1 à 5."),
	CNT("sortie_vente_locataire", F_FLOW, "Sorties : ventes à l'occupant", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "1"), NOT_IN(PARC, "NC")), NULL),
	CNT("sortie_vente_bailleur", F_FLOW, "Sorties : ventes à un autre bailleur social",
	    DH_SENS_BUSINESS, COUNT(IN(SORTIEPATRIM, "2"), NOT_IN(PARC, "NC")), NULL),
	CNT("sortie_autre_vente", F_FLOW, "Sorties : autres ventes", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "3"), NOT_IN(PARC, "NC")), NULL),
	CNT("sortie_demolition", F_FLOW, "Sorties : démolitions", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "4"), NOT_IN(PARC, "NC")), NULL),
	CNT("sortie_autre", F_FLOW, "Sorties : autres motifs", DH_SENS_BUSINESS,
	    COUNT(IN(SORTIEPATRIM, "5"), NOT_IN(PARC, "NC")), NULL),

	/* ---- SDES scope and published variables (issue 8, item 6; branch refdata) ----
	 * parc_non_conv, nb_lgt_tot, nb_ls_etu, the DPE classes of the DPEs made since
	 * 1 July 2021 (dpe_e_*_new) and the entries from change of use or fusion/scission.
	 * Their disclosure relations are declared like the registry's others. */
	CNT("parc_non_conv", F_STOCK, "Logements non conventionnés des SEM (hors parc social)",
	    DH_SENS_PUBLIC, COUNT(IN(PARC, "NC")),
	    "Logements des SEM en MODE 1 à 5 avec CONV = 2 : le SDES les exclut du parc locatif "
	    "social et les publie à part (parc_non_conv)."),
	CNTR("nb_lgt_tot", F_STOCK, "Logements du parc et logements non conventionnés des SEM",
	     DH_SENS_PUBLIC, COUNT(IN(PARC, "LS,NC")), PARTS("nb_ls + parc_non_conv"),
	     "nb_ls + parc_non_conv (nb_lgt_tot du SDES)."),
	CNTR("nb_ls_etu", F_STRUCT, "Logements étudiants", DH_SENS_PUBLIC,
	     COUNT(SCOPE, IN(TYPECONST, "E")), WITHIN("nb_collectif"),
	    "TYPECONST E ; ils restent comptés dans nb_ls et dans les logements collectifs."),
	DPE_NEW("dpe_e_a_new", "A", "dpe_e_a", NEW_DPE_NOTE),
	DPE_NEW("dpe_e_b_new", "B", "dpe_e_b", NULL),
	DPE_NEW("dpe_e_c_new", "C", "dpe_e_c", NULL),
	DPE_NEW("dpe_e_d_new", "D", "dpe_e_d", NULL),
	DPE_NEW("dpe_e_e_new", "E", "dpe_e_e", NULL),
	DPE_NEW("dpe_e_f_new", "F", "dpe_e_f", NULL),
	DPE_NEW("dpe_e_g_new", "G", "dpe_e_g", NULL),
	CNTR("dpe_e_nr_new", F_DPE, "Sans DPE fait depuis juillet 2021", DH_SENS_PUBLIC,
	     COUNT(SCOPE, ABSENT(DPE_RECENT)), WITHIN("nb_ls"),
	    "Pas de DPE, ou un DPE antérieur au 1er juillet 2021 (ener_NR_new du SDES)."),
	{ "mes_chgt_usage", F_FLOW, "Mises en service : changement d'usage", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(NEWLOGT, "1")),
	  NONE, "Logements mis en location l'année précédente et issus d'un changement d'usage "
	  "(NEWLOGT = 1) ; déjà comptés dans mes.", WITHIN("mes") },
	{ "mes_fusion_scission", F_FLOW, "Mises en service : fusion ou scission", DH_UNIT_LOGEMENTS,
	  DH_IND_COUNT, DH_SENS_PUBLIC, 1, COUNT(SCOPE, RANGE(LOCAT_YEARS, 1, 1), IN(NEWLOGT, "2")),
	  NONE, "Logements mis en location l'année précédente et issus d'une fusion ou d'une "
	  "scission (NEWLOGT = 2) ; déjà comptés dans mes.", WITHIN("mes") },
	CNT("sortie_chgt_usage", F_FLOW, "Disparus : changement d'usage", DH_SENS_BUSINESS,
	    COUNT(IN(OLDLOGT, "1"), NOT_IN(PARC, "NC")),
	    "Logements qui n'existent plus au 1er janvier, leur surface restant au patrimoine "
	    "(OLDLOGT = 1, nb_ls_chgt_usage du SDES) ; hors sorties (SORTIEPATRIM)."),
	CNT("sortie_fusion_scission", F_FLOW, "Disparus : fusion ou scission", DH_SENS_BUSINESS,
	    COUNT(IN(OLDLOGT, "2"), NOT_IN(PARC, "NC")),
	    "OLDLOGT = 2 (nb_ls_fusion_scission du SDES) ; hors sorties (SORTIEPATRIM)."),
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
	if (!p->set)
		return dh_error_set(err, DH_INVAL, "filtre %s : valeurs manquantes", name);
	if (!*p->set)
		return DH_OK; /* the empty set: IN holds for no row, NOT IN for every row */
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
	"BAIL_MOIS", "REMLOC_MOIS", "BAILLEUR", "PARC", "DPE_RECENT", "NEWLOGT",
	"OLDLOGT",
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
	case DH_UNIT_EUR: return "€/mois";
	case DH_UNIT_M2: return "m²";
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
	"de quartier est donné ; `PARC` = LS (parc locatif social : MODE 1 à 5, ou toute ligne\n"
	"d'une source de référence, qui n'a pas de MODE) sauf les logements non conventionnés\n"
	"(CONV = 2) d'une SEM, qui valent NC, comme le SDES les compte ; `DPE_RECENT` = 1 pour un\n"
	"DPE réel daté de juillet 2021 ou après ; `NEWLOGT` (logement créé) et `OLDLOGT` (logement\n"
	"disparu) 1 (changement d'usage) ou 2 (fusion, scission).\n\n"
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

/* ---- disclosure relations ---- */

static int find_in(const dh_indicator *reg, size_t n, dh_str id)
{
	for (size_t i = 0; i < n; i++)
		if (reg[i].id && dh_str_eq(id, reg[i].id))
			return (int)i;
	return -1;
}

int dh_indicators_resolve(const dh_indicator *reg, size_t n, const char *list, int *out,
			  size_t max, dh_error *err)
{
	if (!list || !*list) {
		dh_error_set(err, DH_INVAL, "relation vide");
		return -1;
	}
	size_t k = 0;
	const char *p = list;
	for (;;) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != '+')
			e++;
		dh_str id = { p, (size_t)(e - p) };
		int i = id.len ? find_in(reg, n, id) : -1;
		if (i < 0) {
			dh_error_set(err, DH_INVAL, "relation « %s » : indicateur « %.*s » inconnu", list,
				     (int)id.len, id.ptr);
			return -1;
		}
		if (reg[i].kind != DH_IND_COUNT) {
			dh_error_set(err, DH_INVAL, "relation « %s » : « %s » n'est pas additif", list,
				     reg[i].id);
			return -1;
		}
		for (size_t j = 0; j < k; j++) {
			if (out[j] == i) {
				dh_error_set(err, DH_INVAL, "relation « %s » : « %s » répété", list, reg[i].id);
				return -1;
			}
		}
		if (k == max) {
			dh_error_set(err, DH_INVAL, "relation « %s » : plus de %zu membres", list, max);
			return -1;
		}
		out[k++] = i;
		while (*e == ' ')
			e++;
		if (!*e)
			return (int)k;
		if (*e != '+') {
			dh_error_set(err, DH_INVAL, "relation « %s » mal formée", list);
			return -1;
		}
		p = e + 1;
	}
}

/* The sensitivity order of the rules: a term may be stricter than its rate, not looser. */
static int strictness(dh_sensitivity s)
{
	return s == DH_SENS_PUBLIC ? 0 : s == DH_SENS_BUSINESS ? 1 : 2;
}

static int check_list(const dh_indicator *reg, size_t n, const dh_indicator *ind,
		      const char *what, const char *list, int self_forbidden, dh_error *err)
{
	int cols[DH_IND_MAX_MEMBERS];
	dh_error e;
	dh_error_clear(&e);
	int k = dh_indicators_resolve(reg, n, list, cols, DH_IND_MAX_MEMBERS, &e);
	if (k < 0)
		return dh_error_set(err, DH_INVAL, "registre des indicateurs : %s de « %s » : %s", what,
				    ind->id, e.message);
	for (int j = 0; j < k; j++) {
		const dh_indicator *m = &reg[cols[j]];
		if (self_forbidden && m == ind)
			return dh_error_set(err, DH_INVAL, "registre des indicateurs : %s de « %s » le "
					    "contient lui-même", what, ind->id);
		if (strictness(m->sensitivity) < strictness(ind->sensitivity))
			return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » (%s de « %s ») "
					    "moins sensible que lui", m->id, what, ind->id);
	}
	return DH_OK;
}

/* 1 if item (len bytes) is one of the comma-separated codes of set. */
static int set_has(const char *set, const char *item, size_t len)
{
	for (const char *p = set; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && memcmp(p, item, len) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* 1 if every code of a is in b (want 1) or none is (want 0). */
static int set_all(const char *a, const char *b, int want)
{
	for (const char *p = a; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (set_has(b, p, l) != want)
			return 0;
		p = e ? e + 1 : NULL;
	}
	return 1;
}

/* 1 if predicate x implies predicate y (same dimension). */
static int implies(const dh_predicate *x, const dh_predicate *y)
{
	if (x->dim != y->dim)
		return 0;
	switch (y->op) {
	case DH_OP_IN:
		return x->op == DH_OP_IN && set_all(x->set, y->set, 1);
	case DH_OP_NOT_IN:
		return (x->op == DH_OP_IN && set_all(x->set, y->set, 0)) ||
		       (x->op == DH_OP_NOT_IN && set_all(y->set, x->set, 1));
	case DH_OP_RANGE:
		return x->op == DH_OP_RANGE && x->lo >= y->lo && x->hi <= y->hi;
	case DH_OP_PRESENT:
		return x->op == DH_OP_IN || x->op == DH_OP_RANGE || x->op == DH_OP_PRESENT;
	case DH_OP_ABSENT:
		return x->op == DH_OP_ABSENT;
	}
	return 0;
}

/* 1 if the dwellings term a measures are always among those of term b, same measure. */
static int term_within(const dh_term *a, const dh_term *b)
{
	if (a->measure != b->measure || a->sum_dim != b->sum_dim || a->year_shift != b->year_shift)
		return 0;
	for (int i = 0; i < DH_TERM_MAX_PREDICATES && b->where[i].dim != DH_DIM_NONE; i++) {
		int ok = 0;
		for (int k = 0; k < DH_TERM_MAX_PREDICATES && a->where[k].dim != DH_DIM_NONE && !ok; k++)
			ok = implies(&a->where[k], &b->where[i]);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Link matrix: link[i * n + j] = 1 when a declared relation ties i to j going up (i is a
 * part of j, j bounds i, or i and j are declared equal), then closed transitively. */
static void add_links(const dh_indicator *reg, size_t n, uint8_t *link, size_t i)
{
	const dh_ind_relations *r = &reg[i].rel;
	int cols[DH_IND_MAX_MEMBERS];
	for (int p = 0; p < DH_IND_MAX_PARTS && r->parts[p]; p++) {
		int k = dh_indicators_resolve(reg, n, r->parts[p], cols, DH_IND_MAX_MEMBERS, NULL);
		for (int m = 0; m < k; m++) {
			link[(size_t)cols[m] * n + i] = 1;
			if (k == 1)
				link[i * n + (size_t)cols[m]] = 1; /* one part: equal */
		}
	}
	if (r->within) {
		int k = dh_indicators_resolve(reg, n, r->within, cols, DH_IND_MAX_MEMBERS, NULL);
		for (int m = 0; m < k; m++)
			link[i * n + (size_t)cols[m]] = 1;
	}
}

/* Every additive indicator whose dwellings are always among another's must be tied to it by
 * declared relations, directly or through others: a relation that holds but is not declared
 * would let a hidden cell be recomputed. */
static int check_links(const dh_indicator *reg, size_t n, dh_error *err)
{
	uint8_t *link = calloc(n * n, 1);
	if (!link)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
	for (size_t i = 0; i < n; i++)
		if (reg[i].kind == DH_IND_COUNT)
			add_links(reg, n, link, i);
	for (size_t k = 0; k < n; k++) /* transitive closure (Warshall) */
		for (size_t i = 0; i < n; i++)
			if (link[i * n + k])
				for (size_t j = 0; j < n; j++)
					link[i * n + j] |= link[k * n + j];
	int rc = DH_OK;
	for (size_t i = 0; i < n && rc == DH_OK; i++) {
		for (size_t j = 0; j < n && rc == DH_OK; j++) {
			if (i == j || reg[i].kind != DH_IND_COUNT || reg[j].kind != DH_IND_COUNT ||
			    !term_within(&reg[i].num, &reg[j].num) || link[i * n + j])
				continue;
			rc = dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » est toujours "
					  "inclus dans « %s » sans relation déclarée (partition ou "
					  "majorant)", reg[i].id, reg[j].id);
		}
	}
	free(link);
	return rc;
}

int dh_indicators_check(const dh_indicator *reg, size_t n, dh_error *err)
{
	if (!reg || n == 0)
		return dh_error_set(err, DH_INVAL, "registre des indicateurs vide");
	for (size_t i = 0; i < n; i++) {
		const dh_indicator *ind = &reg[i];
		if (!ind->id || !*ind->id)
			return dh_error_set(err, DH_INVAL, "registre des indicateurs : identifiant vide "
					    "(position %zu)", i);
		if (find_in(reg, n, (dh_str){ ind->id, strlen(ind->id) }) != (int)i)
			return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » en double",
					    ind->id);
		const dh_ind_relations *r = &ind->rel;
		int rc = DH_OK;
		if (ind->kind == DH_IND_COUNT) {
			if (r->num || r->den)
				return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » est "
						    "additif mais déclare une formule", ind->id);
			if (ind->num.measure == DH_MEASURE_SUM && !r->pop)
				return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » (somme) "
						    "sans population", ind->id);
			for (int p = 0; p < DH_IND_MAX_PARTS && r->parts[p] && rc == DH_OK; p++)
				rc = check_list(reg, n, ind, "partition", r->parts[p], 1, err);
			if (r->within && rc == DH_OK)
				rc = check_list(reg, n, ind, "majorant", r->within, 1, err);
		} else {
			if (!r->num || !r->den || !r->pop)
				return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » (taux ou "
						    "moyenne) sans numérateur, dénominateur et population "
						    "déclarés", ind->id);
			if (r->parts[0] || r->within)
				return dh_error_set(err, DH_INVAL, "registre des indicateurs : « %s » n'est pas "
						    "additif mais déclare une somme", ind->id);
			rc = check_list(reg, n, ind, "numérateur", r->num, 1, err);
			if (rc == DH_OK)
				rc = check_list(reg, n, ind, "dénominateur", r->den, 1, err);
		}
		if (r->pop && rc == DH_OK)
			rc = check_list(reg, n, ind, "population", r->pop, 0, err);
		if (rc != DH_OK)
			return rc;
	}
	return check_links(reg, n, err);
}
