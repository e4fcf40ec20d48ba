/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_key.c - `datahabitat key rotate`: rotates the pseudonymisation key kept next to the
 * database (pseudo.h): every stored pseudonym is re-hashed under the new key version in one
 * transaction, logged to the audit chain, then the key file is replaced atomically.
 */
#include "cli.h"

#include "datahabitat/pseudo.h"
#include "datahabitat/store.h"

#include <string.h>

static const char usage_text[] =
	"usage : datahabitat key rotate [--db CHEMIN]\n"
	"\n"
	"Remplace la clé de pseudonymisation (fichier « <base>.key », mode 0600) par une nouvelle\n"
	"version : chaque pseudonyme enregistré est re-haché avec la nouvelle clé dans une seule\n"
	"transaction, l'opération est inscrite au journal d'audit, puis le fichier de clé est\n"
	"remplacé de façon atomique. En cas d'échec, rien n'est modifié.\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 clé remplacée, 2 usage incorrect ou clé absente, 3 erreur de la base\n"
	"ou du fichier, 4 clé accessible à d'autres utilisateurs.\n";

int cmd_key(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("key", "sous-commande manquante (rotate)", NULL);
	if (strcmp(argv[1], "rotate") != 0)
		return cli_usage_error("key", "sous-commande inconnue", argv[1]);
	const char *db = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("key", argc, argv, 2, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	const char *location = cli_db_location(db);
	dh_error err;
	dh_error_clear(&err);
	char key_path[4200];
	if (dh_pseudo_key_path(location, key_path, sizeof(key_path), &err) != DH_OK)
		return cli_report_error(&err);
	dh_store *store;
	int exitcode = cli_open_store(location, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	int64_t version = 0;
	dh_actor actor = cli_actor();
	int rc = dh_pseudo_rotate(store, key_path, &actor, &version, &err);
	if (rc == DH_OK)
		printf("clé de pseudonymisation « %s » remplacée : version %lld\n", key_path, (long long)version);
	else
		exitcode = cli_report_error(&err);
	dh_store_close(store);
	return exitcode;
}
