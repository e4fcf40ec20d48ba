/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * main.c - entry point of the datahabitat CLI: finds the subcommand in the dispatch
 * table and runs it. Each subcommand lives in its own cmd_<name>.c.
 */
#include "cli.h"
#include "server/serve.h"

#include <stdarg.h>
#include <string.h>

#ifndef DH_GIT_DESCRIBE
#define DH_GIT_DESCRIBE "" /* set by the Makefile from `git describe` */
#endif

static const cli_command commands[] = {
	{ "validate", cmd_validate, "valider un fichier de patrimoine (RPLS) et produire un rapport" },
	{ "gen", cmd_gen, "générer des données synthétiques (tests, démonstration, mesures)" },
	{ "init", cmd_init, "créer la base et y charger la géographie de référence" },
	{ "org", cmd_org, "enregistrer et lister les organismes (bailleurs)" },
	{ "import", cmd_import, "importer une livraison de patrimoine (validation puis enregistrement)" },
	{ "deliveries", cmd_deliveries, "lister les livraisons reçues" },
	{ "stock", cmd_stock, "exporter le patrimoine d'un organisme à une date" },
	{ "qpv", cmd_qpv, "charger et lister la liste officielle des quartiers prioritaires (QPV)" },
	{ "indicators", cmd_indicators, "calculer les indicateurs du parc par territoire à une date" },
	{ "compare", cmd_compare, "comparer nos indicateurs aux résultats publiés (SDES, par commune)" },
	{ "audit", cmd_audit, "consulter et vérifier le journal d'audit chaîné" },
	{ "key", cmd_key, "gérer la clé de pseudonymisation (rotation)" },
	{ "gdpr", cmd_gdpr, "produire le registre des traitements (RGPD, article 30)" },
	{ "user", cmd_user, "gérer les utilisateurs et leurs rôles" },
	{ "token", cmd_token, "créer, lister et révoquer les jetons d'accès à l'API" },
	{ "agreement", cmd_agreement, "gérer les conventions de partage des données" },
	{ "serve", srv_main, "servir l'API HTTP (indicateurs, livraisons, comptes)" },
};

void cli_errorf(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* arguments and stored values are echoed: no terminal escape goes through */
	fprintf(stderr, "datahabitat: %s\n", cli_text(buf));
}

int cli_report_error(const dh_error *err)
{
	const char *msg = err->message[0] ? err->message : dh_result_message(err->code);
	if (err->file[0] && err->line)
		cli_errorf("%s:%llu:%u: %s", err->file, (unsigned long long)err->line, err->column, msg);
	else if (err->file[0])
		cli_errorf("%s: %s", err->file, msg);
	else
		cli_errorf("%s", msg);
	return dh_result_exit_code(err->code);
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fputs("usage : datahabitat <commande> [options]\n\nCommandes :\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fputs("\n« datahabitat <commande> --help » décrit les options d'une commande.\n", out);
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		/* the build's git description, when it was built from a git checkout */
		if (DH_GIT_DESCRIBE[0])
			printf("datahabitat %s (git %s)\n", dh_version(), DH_GIT_DESCRIBE);
		else
			printf("datahabitat %s\n", dh_version());
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	cli_errorf("« %s » n'est pas une commande ; voir « datahabitat --help »", argv[1]);
	return CLI_EXIT_USAGE;
}

/* Built without it (-DDH_CLI_NO_MAIN) for tests/fuzz/fuzz_cli_args.c, which calls cli_main(). */
#ifndef DH_CLI_NO_MAIN
int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
#endif
