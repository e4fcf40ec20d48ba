/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_gdpr.c - `datahabitat gdpr register`: prints the register of processing activities
 * (GDPR Art. 30) generated from the configuration (gdpr.h), in Markdown or JSON.
 */
#include "cli.h"

#include "datahabitat/gdpr.h"
#include "datahabitat/store.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat gdpr register [--format markdown|json] [--date AAAA-MM-JJ] [--db CHEMIN]\n"
	"\n"
	"Produit le registre des activités de traitement (RGPD, article 30) à partir de la\n"
	"configuration : responsables conjoints (la fédération et les organismes enregistrés),\n"
	"traitements, finalités, bases légales, catégories de données, personnes concernées,\n"
	"destinataires (accords de partage), durées de conservation, mesures de sécurité.\n"
	"\n"
	"Options :\n"
	"  --format F      markdown (défaut) ou json\n"
	"  --date D        date portée sur le registre et pour l'état des accords (défaut : aujourd'hui)\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 succès, 2 usage incorrect, 3 erreur de la base.\n";

int cmd_gdpr(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("gdpr", "sous-commande manquante (register)", NULL);
	if (strcmp(argv[1], "register") != 0)
		return cli_usage_error("gdpr", "sous-commande inconnue", argv[1]);
	const char *db = NULL, *format = "markdown", *date = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--format", &format },
		{ "--date", &date },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("gdpr", argc, argv, 2, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "markdown") != 0)
		return cli_usage_error("gdpr", "format inconnu", format);
	if (date && !dh_date_valid(date))
		return cli_usage_error("gdpr", "date invalide (AAAA-MM-JJ attendu)", date);
	dh_store *store;
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error err;
	dh_error_clear(&err);
	char *text = NULL;
	dh_actor actor = cli_actor();
	int rc = dh_gdpr_register(store, &actor, json ? DH_GDPR_JSON : DH_GDPR_MARKDOWN, date, &text, &err);
	if (rc == DH_OK) {
		fputs(text, stdout);
		if (json)
			fputc('\n', stdout);
	} else {
		exitcode = cli_report_error(&err);
	}
	free(text);
	dh_store_close(store);
	return exitcode;
}
