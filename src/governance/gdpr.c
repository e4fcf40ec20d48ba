/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gdpr.c - the Art. 30 register (gdpr.h): a JSON model built from the store (organisations,
 * sharing agreements) and from static declarations of this file (activities, purposes,
 * retention, security measures), rendered as JSON or as Markdown from that one model, so
 * that the two formats cannot say different things.
 */
#include "datahabitat/gdpr.h"

#include "datahabitat/identity.h"
#include "datahabitat/rpls.h"
#include "datahabitat/audit.h"
#include "datahabitat/store_governance.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEDERATION "Fédération des bailleurs sociaux, opératrice de la plateforme datahabitat"

/* RPLS fields by category of data: the first matching prefix list wins. */
static const struct {
	const char *category;
	const char *fields; /* space-separated names, with spaces around */
	const char *note;
} categories[] = {
	{ "Identifiants du logement", " IDENT_REP IDENT_INT ", "identifiants de logements, pas de personnes" },
	{ "Localisation du logement",
	  " DEPCOM CODEPOSTAL LIBCOM NUMVOIE INDREP TYPVOIE NOMVOIE NUMAPPT ETAGE ESC BAT IMMEU LIEUDIT QPV QPV_CODE ",
	  "l'adresse précise désigne le logement et donc, indirectement, le ménage qui l'occupe" },
	{ "Caractéristiques du logement",
	  " TYPECONST NBPIECE SURFHAB CONSTRUCT LOCAT PATRIMOINE ORIGINE DPEDATE DPEENERGIE DPESERRE NEWLOGT ", "" },
	{ "Occupation et loyer", " MODE BAIL REMLOCDATE LOYERPRINC LOYERACC CONTRIB ",
	  "indirectement identifiantes combinées à l'adresse (loyer et date du bail du ménage occupant)" },
	{ "Financement, conventionnement et gestion",
	  " DROIT FINAN CONV NUMCONV DATCONV CUS SRU_EXPIR SRU_ALINEA CODSEGPATRIM LIBSEGPATRIM SORTIEPATRIM CONTRESLOG ",
	  "" },
};
#define N_CATEGORIES (sizeof(categories) / sizeof(categories[0]))

static json_t *strings(const char *const *list)
{
	json_t *a = json_array();
	for (; a && *list; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

static json_t *data_categories(void)
{
	json_t *out = json_array();
	json_t *lists[N_CATEGORIES + 1];
	for (size_t c = 0; c <= N_CATEGORIES; c++)
		lists[c] = json_array();
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const dh_field_info *fi = dh_rpls_field(f);
		char key[64];
		snprintf(key, sizeof(key), " %s ", fi->name);
		size_t c = 0;
		while (c < N_CATEGORIES && !strstr(categories[c].fields, key))
			c++;
		json_array_append_new(lists[c], json_pack("{s:s, s:s}", "champ", fi->name, "libelle", fi->label));
	}
	for (size_t c = 0; c <= N_CATEGORIES; c++) {
		if (json_array_size(lists[c]) == 0) {
			json_decref(lists[c]);
			continue;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "categorie",
						     c < N_CATEGORIES ? categories[c].category : "Autres champs RPLS",
						     "remarque", c < N_CATEGORIES ? categories[c].note : "", "champs", lists[c]));
	}
	return out;
}

/* A copy of stored text fit for JSON and a terminal, whatever the database holds (a value
 * written before the checks, or by hand): invalid UTF-8 and control characters become '?'. */
static const char *storable(char *buf, size_t size, const char *text)
{
	dh_strlcpy(buf, size, text);
	dh_text_sanitize(buf);
	return buf;
}

static int add_org(void *ctx, const dh_org *o)
{
	json_t *controllers = ctx;
	char role[128], name[sizeof(o->name)], siren[sizeof(o->siren)];
	snprintf(role, sizeof(role), "responsable conjoint (bailleur %s) pour ses propres données", dh_org_kind_name(o->kind));
	return json_array_append_new(controllers, json_pack("{s:s, s:s, s:s}", "nom", storable(name, sizeof(name), o->name),
							    "siren", storable(siren, sizeof(siren), o->siren), "role",
							    role)) == 0
		       ? DH_OK
		       : DH_NOMEM;
}

typedef struct recipients {
	json_t *list;
	const char *today;
} recipients;

static int add_agreement(void *ctx, const dh_agreement *a)
{
	recipients *r = ctx;
	char audience[64], territory[64];
	if (a->audience == DH_AUDIENCE_PARTNER)
		snprintf(audience, sizeof(audience), "partenaire %s %s", dh_level_name(a->partner.level),
			 a->partner.code);
	else
		snprintf(audience, sizeof(audience), "%s",
			 a->audience == DH_AUDIENCE_PUBLIC ? "public" : "membres de la fédération");
	if (a->territory.level == DH_LEVEL_ALL)
		snprintf(territory, sizeof(territory), "tout le territoire");
	else
		snprintf(territory, sizeof(territory), "%s %s", dh_level_name(a->territory.level), a->territory.code);
	int in_force = strcmp(a->start, r->today) <= 0 && strcmp(r->today, a->end) <= 0;
	char inds[sizeof(a->indicators)], purpose[sizeof(a->purpose)], basis[sizeof(a->legal_basis)];
	dh_text_sanitize(audience);
	dh_text_sanitize(territory);
	char start[sizeof(a->start)], end[sizeof(a->end)];
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "accord", (json_int_t)a->id,
			      "destinataire", audience, "territoire", territory, "indicateurs",
			      storable(inds, sizeof(inds), a->indicators), "finalite",
			      storable(purpose, sizeof(purpose), a->purpose), "base_legale",
			      storable(basis, sizeof(basis), a->legal_basis), "debut", storable(start, sizeof(start), a->start),
			      "fin", storable(end, sizeof(end), a->end), "etat",
			      in_force ? "en vigueur" : strcmp(r->today, a->start) < 0 ? "à venir" : "terminé",
			      "donnees", "agrégats soumis au secret statistique (aucune ligne de logement)");
	return json_array_append_new(r->list, o) == 0 ? DH_OK : DH_NOMEM;
}

static json_t *build(dh_store *store, const char *today, dh_error *err, int *rc)
{
	json_t *root = json_object();
	json_object_set_new(root, "titre", json_string("Registre des activités de traitement (RGPD, article 30)"));
	json_object_set_new(root, "date", json_string(today));

	json_t *controllers = json_array();
	json_array_append_new(controllers, json_pack("{s:s, s:s}", "nom", FEDERATION, "role",
						     "responsable conjoint : plateforme, mutualisation et diffusion"));
	*rc = dh_store_org_list(store, add_org, controllers, err);
	json_object_set_new(root, "responsables_conjoints", controllers);
	json_object_set_new(root, "accord_de_responsabilite_conjointe",
			    json_string("chaque bailleur répond de l'exactitude de ses livraisons ; la fédération de "
					"la plateforme, de la sécurité et des règles de diffusion (art. 26)"));
	json_object_set_new(root, "delegue_protection_donnees",
			    json_string("délégué à la protection des données de la fédération (rôle « dpo » de la "
					"plateforme : accès au journal d'audit et au présent registre)"));

	recipients r = { json_array(), today };
	int arc = *rc == DH_OK ? dh_agreement_list(store, add_agreement, &r, err) : *rc;
	if (*rc == DH_OK)
		*rc = arc;
	json_t *stock_recipients = json_array();
	json_array_append_new(stock_recipients,
			      json_string("chaque bailleur : ses propres logements et indicateurs, en détail"));
	if (json_array_size(r.list) == 0)
		json_array_append_new(stock_recipients,
				      json_string("aucun accord de partage enregistré : aucun chiffre mêlant plusieurs "
						  "bailleurs ne sort de la plateforme"));

	json_t *activities = json_array();
	static const char *const stock_purposes[] = {
		"observatoire du parc locatif social : indicateurs par territoire et par date",
		"contrôle de qualité des livraisons RPLS des bailleurs",
		"partage d'indicateurs agrégés avec les partenaires selon des accords écrits", NULL
	};
	static const char *const stock_subjects[] = {
		"aucune personne directement : les données décrivent des logements",
		"indirectement, les ménages occupants (adresse, loyer, date du bail)", NULL
	};
	static const char *const stock_retention[] = {
		"patrimoine versionné et livraisons : tant que le bailleur est membre, puis suppression à sa demande",
		"indicateurs : conservés sous forme d'agrégats uniquement",
		NULL
	};
	json_array_append_new(
		activities,
		json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "nom", "Statistiques du parc social (RPLS)",
			  "statut", "en service", "finalites", strings(stock_purposes), "base_legale",
			  "art. 6.1.e RGPD (mission d'intérêt public) ; répertoire RPLS prévu par l'article L.411-10 du "
			  "code de la construction et de l'habitation",
			  "categories_de_donnees", data_categories(), "personnes_concernees", strings(stock_subjects),
			  "destinataires", stock_recipients, "accords_de_partage", r.list, "duree_de_conservation",
			  strings(stock_retention)));

	static const char *const demand_purposes[] = {
		"suivi de la demande de logement social et des attributions par territoire", NULL
	};
	static const char *const demand_data[] = {
		"numéro de demande et identifiant de locataire pseudonymisés (hachage à clé BLAKE2b, clé hors de la base)",
		"caractéristiques de la demande et de l'attribution, sans nom ni adresse du demandeur", NULL
	};
	static const char *const demand_subjects[] = { "demandeurs de logement social", "locataires attributaires",
						       NULL };
	char demand_retention[160];
	snprintf(demand_retention, sizeof(demand_retention),
		 "%d an après la clôture de la demande (radiation ou attribution), puis agrégats uniquement",
		 DH_GDPR_DEMAND_RETENTION_YEARS);
	json_array_append_new(
		activities,
		json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:[s], s:[s]}", "nom", "Demandes et attributions", "statut",
			  "prévu (flux à venir)", "finalites", strings(demand_purposes), "base_legale",
			  "art. 6.1.e RGPD (mission d'intérêt public)", "categories_de_donnees", strings(demand_data),
			  "personnes_concernees", strings(demand_subjects), "destinataires",
			  "selon les accords de partage, agrégats soumis au secret statistique uniquement",
			  "duree_de_conservation", demand_retention));

	static const char *const account_purposes[] = {
		"authentification des utilisateurs et contrôle des droits d'accès",
		"traçabilité des imports, exports, consultations et actes d'administration", NULL
	};
	static const char *const account_data[] = {
		"identifiant de connexion, rôle, organisme ou territoire de rattachement",
		"empreinte Argon2id du mot de passe ; empreinte des jetons d'API",
		"journal d'audit : date, acteur (identifiant), action, objet, accord, finalité, résultat", NULL
	};
	char audit_retention[160];
	snprintf(audit_retention, sizeof(audit_retention), "journal d'audit : %d ans à compter de l'entrée",
		 DH_GDPR_AUDIT_RETENTION_YEARS);
	json_array_append_new(
		activities,
		json_pack("{s:s, s:s, s:o, s:s, s:o, s:[s], s:[s], s:[s, s]}", "nom",
			  "Comptes, droits d'accès et journal d'audit", "statut", "en service", "finalites",
			  strings(account_purposes), "base_legale",
			  "art. 6.1.f RGPD (intérêt légitime : sécurité de la plateforme) et art. 32", "categories_de_donnees",
			  strings(account_data), "personnes_concernees", "utilisateurs de la plateforme", "destinataires",
			  "administrateurs et délégué à la protection des données de la fédération",
			  "duree_de_conservation", "comptes : durée de l'habilitation, puis 1 an après désactivation",
			  audit_retention));
	json_object_set_new(root, "traitements", activities);

	static const char *const measures[] = {
		"mots de passe conservés en empreinte Argon2id (libsodium), jamais en clair",
		"jetons d'API aléatoires, conservés en empreinte, avec expiration et périmètre",
		"pseudonymisation à clé (BLAKE2b, clé de 32 octets dans un fichier séparé de mode 0600, rotation avec "
		"re-hachage)",
		"journal d'audit chaîné (SHA-256) : toute entrée modifiée, supprimée ou déplacée est détectée",
		"secret statistique appliqué à toute table qui sort vers qui ne possède pas toutes ses lignes",
		"moindre privilège : un bailleur ne voit en détail que ses données ; sans accord en vigueur, aucun accès",
		"imports atomiques et validés ; base SQLite en journalisation WAL", NULL
	};
	json_object_set_new(root, "mesures_de_securite", strings(measures));
	json_object_set_new(root, "transferts_hors_ue", json_string("aucun"));
	return root;
}

/* ---- Markdown --------------------------------------------------------------------- */

typedef struct buf {
	char *p;
	size_t len, cap;
	int failed;
} buf;

static void put(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void put(buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void put_list(buf *b, json_t *list)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v))
			put(b, "- %s\n", json_string_value(v));
	}
}

static void render_activity(buf *b, json_t *a)
{
	put(b, "\n## %s\n\n*Statut : %s*\n\n### Finalités\n\n", str(a, "nom"), str(a, "statut"));
	put_list(b, json_object_get(a, "finalites"));
	put(b, "\n### Base légale\n\n%s\n\n### Catégories de données\n\n", str(a, "base_legale"));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(a, "categories_de_donnees"), i, c)
	{
		if (json_is_string(c)) {
			put(b, "- %s\n", json_string_value(c));
			continue;
		}
		put(b, "- **%s**", str(c, "categorie"));
		if (*str(c, "remarque"))
			put(b, " (%s)", str(c, "remarque"));
		put(b, " :");
		size_t j;
		json_t *f;
		json_array_foreach(json_object_get(c, "champs"), j, f)
		{
			put(b, "%s %s (%s)", j ? "," : "", str(f, "champ"), str(f, "libelle"));
		}
		put(b, "\n");
	}
	put(b, "\n### Personnes concernées\n\n");
	put_list(b, json_object_get(a, "personnes_concernees"));
	put(b, "\n### Destinataires\n\n");
	put_list(b, json_object_get(a, "destinataires"));
	json_t *agreements = json_object_get(a, "accords_de_partage");
	if (json_array_size(agreements)) {
		put(b, "\n| Accord | Destinataire | Territoire | Indicateurs | Finalité | Base légale | Période | État |\n"
		       "|---|---|---|---|---|---|---|---|\n");
		json_t *g;
		json_array_foreach(agreements, i, g)
		{
			put(b, "| %lld | %s | %s | %s | %s | %s | %s au %s | %s |\n",
			    (long long)json_integer_value(json_object_get(g, "accord")), str(g, "destinataire"),
			    str(g, "territoire"), str(g, "indicateurs"), str(g, "finalite"), str(g, "base_legale"),
			    str(g, "debut"), str(g, "fin"), str(g, "etat"));
		}
	}
	put(b, "\n### Durée de conservation\n\n");
	put_list(b, json_object_get(a, "duree_de_conservation"));
}

static char *render_markdown(json_t *root)
{
	buf b = { 0 };
	put(&b, "# %s\n\nÉtabli le %s à partir de la configuration de la plateforme.\n\n", str(root, "titre"),
	    str(root, "date"));
	put(&b, "## Responsables conjoints du traitement\n\n");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "responsables_conjoints"), i, c)
	{
		if (*str(c, "siren"))
			put(&b, "- %s (SIREN %s) : %s\n", str(c, "nom"), str(c, "siren"), str(c, "role"));
		else
			put(&b, "- %s : %s\n", str(c, "nom"), str(c, "role"));
	}
	put(&b, "\nRépartition des responsabilités : %s.\n\nDélégué à la protection des données : %s.\n",
	    str(root, "accord_de_responsabilite_conjointe"), str(root, "delegue_protection_donnees"));
	json_array_foreach(json_object_get(root, "traitements"), i, c)
	{
		render_activity(&b, c);
	}
	put(&b, "\n## Mesures de sécurité\n\n");
	put_list(&b, json_object_get(root, "mesures_de_securite"));
	put(&b, "\n## Transferts hors de l'Union européenne\n\n%s\n", str(root, "transferts_hors_ue"));
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int dh_gdpr_register(dh_store *store, const dh_actor *actor, dh_gdpr_format format, const char *today, char **out,
		     dh_error *err)
{
	if (!store || !out || (format != DH_GDPR_MARKDOWN && format != DH_GDPR_JSON))
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	char now[24];
	if (!today) {
		dh_store_now_utc(now, sizeof(now));
		now[10] = '\0';
		today = now;
	} else if (!dh_date_valid(today)) {
		return dh_error_set(err, DH_INVAL, "date « %s » invalide (AAAA-MM-JJ attendu)", today);
	}
	int rc = DH_OK;
	json_t *root = build(store, today, err, &rc);
	if (rc == DH_OK && !root)
		rc = dh_error_nomem(err);
	if (rc == DH_OK) {
		*out = format == DH_GDPR_JSON ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
					      : render_markdown(root);
		if (!*out)
			rc = dh_error_nomem(err);
	}
	json_decref(root);
	/* The register lists organisations and agreements: its reading is logged (fail closed). */
	char object[64];
	snprintf(object, sizeof(object), "gdpr-register:%s", today);
	dh_error aerr;
	dh_error_clear(&aerr);
	int arc = dh_audit_log(store, actor, "gdpr-register", object, 0, "", rc == DH_OK ? "ok" : "error", &aerr);
	if (arc != DH_OK && rc == DH_OK) {
		free(*out);
		*out = NULL;
		if (err)
			*err = aerr;
		rc = arc;
	}
	return rc;
}
