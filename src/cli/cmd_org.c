/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_org.c - `datahabitat org add|list`: registers the organisations (landlords, by SIREN)
 * that deliver stock files, and lists them.
 */
#include "cli.h"

#include "datahabitat/admin.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat org add --siren SIREN --name NOM --kind TYPE [--db CHEMIN]\n"
	"        datahabitat org list [--format table|json] [--db CHEMIN]\n"
	"\n"
	"Enregistre un organisme (bailleur social) ou liste les organismes enregistrés.\n"
	"\n"
	"Options :\n"
	"  --siren SIREN   9 chiffres, clé de contrôle (Luhn) vérifiée\n"
	"  --name NOM      raison sociale\n"
	"  --kind TYPE     OPH, ESH, coop ou SEM\n"
	"  --format F      add : text (défaut) ou json ; list : table (défaut) ou json\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 succès, 1 organisme déjà enregistré, 2 usage incorrect ou SIREN\n"
	"invalide, 3 erreur de la base.\n";

static json_t *org_json(const dh_org *o)
{
	return json_pack("{s:o, s:o, s:s, s:o}", "siren", cli_json_text(o->siren), "name", cli_json_text(o->name),
			 "kind", dh_org_kind_name(o->kind), "created_at", cli_json_text(o->created_at));
}

static int print_org_row(void *ctx, const dh_org *o)
{
	json_t *list = ctx;
	if (list)
		return json_array_append_new(list, org_json(o)) == 0 ? DH_OK : DH_NOMEM;
	printf("%-9s  %-4s  %s\n", cli_text(o->siren), dh_org_kind_name(o->kind), cli_text(o->name));
	return DH_OK;
}

static int org_list(const char *db, const char *format)
{
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return cli_usage_error("org list", "format inconnu", format);
	dh_store *store;
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	json_t *list = json ? json_array() : NULL;
	if (!json)
		printf("%-9s  %-4s  %s\n", "SIREN", "TYPE", "NOM");
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_store_org_list(store, print_org_row, list, &err);
	return cli_list_end(store, rc, &err, list);
}

static int org_add(const char *db, const char *siren, const char *name, const char *kind, const char *format)
{
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_usage_error("org add", "format inconnu", format);
	if (!siren || !name || !kind)
		return cli_usage_error("org add", "--siren, --name et --kind sont obligatoires", NULL);
	if (!dh_siren_valid(siren))
		return cli_usage_error("org add", "SIREN invalide (9 chiffres, clé de Luhn)", siren);
	int k = dh_org_kind_parse(kind);
	if (k < 0)
		return cli_usage_error("org add", "type inconnu (OPH, ESH, coop ou SEM)", kind);
	dh_org org;
	memset(&org, 0, sizeof(org));
	dh_error err;
	if (dh_text_check(name, DH_NAME_MAX, "nom de l'organisme", &err) != DH_OK)
		return cli_usage_error("org add", err.message, NULL);
	dh_strlcpy(org.siren, sizeof(org.siren), siren);
	dh_strlcpy(org.name, sizeof(org.name), name);
	org.kind = (dh_org_kind)k;
	dh_store *store;
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error_clear(&err);
	dh_actor actor = cli_actor();
	int rc = dh_org_register(store, &actor, &org, &err);
	if (rc != DH_OK) {
		exitcode = cli_report_error(&err);
	} else if (json) {
		json_t *o = org_json(&org);
		exitcode = cli_json_print(o);
		json_decref(o);
	} else {
		printf("organisme %s « %s » (%s) enregistré\n", org.siren, cli_text(org.name), dh_org_kind_name(org.kind));
	}
	dh_store_close(store);
	return exitcode;
}

int cmd_org(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("org", "sous-commande manquante (add ou list)", NULL);
	const char *action = argv[1];
	int is_add = strcmp(action, "add") == 0;
	if (!is_add && strcmp(action, "list") != 0)
		return cli_usage_error("org", "sous-commande inconnue", action);
	const char *db = NULL, *siren = NULL, *name = NULL, *kind = NULL, *format = is_add ? "text" : "table";
	const cli_option options[] = {
		{ "--db", &db },
		{ "--format", &format },
		{ "--siren", is_add ? &siren : NULL },
		{ "--name", is_add ? &name : NULL },
		{ "--kind", is_add ? &kind : NULL },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("org", argc, argv, 2, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	return is_add ? org_add(db, siren, name, kind, format) : org_list(db, format);
}
