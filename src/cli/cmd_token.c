/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_token.c - `datahabitat token create|revoke|list`: API tokens. The clear token is
 * printed once at creation; only its hash is stored. Logged to the audit chain.
 */
#include "cli.h"

#include "datahabitat/identity.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat token create LOGIN [--scope PORTÉE] [--days N]\n"
	"        datahabitat token revoke ID\n"
	"        datahabitat token list [LOGIN]\n"
	"\n"
	"Portées : read:indicators (défaut), write:import, admin. Durée : 90 jours par défaut.\n"
	"Le jeton est affiché une seule fois ; seule son empreinte est enregistrée.\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN   base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help    cette aide\n";

static int print_token(void *ctx, const dh_token *t)
{
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)t->id, cli_text(t->login), cli_text(t->scope),
	       cli_text(t->expires_at),
	       t->revoked ? "révoqué" : "actif");
	return DH_OK;
}

int cmd_token(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	const char *sub = argv[1], *db = NULL, *scope = "read:indicators", *days_text = "90", *arg = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--scope", &scope },
		{ "--days", &days_text },
		{ NULL, NULL },
	};
	for (int i = 2; i < argc; i++) {
		int r;
		if ((r = cli_take_options(argc, argv, &i, options))) {
			if (r < 0)
				return cli_usage_error("token", "option incomplète", argv[i]);
			continue;
		}
		if (argv[i][0] == '-' || arg)
			return cli_usage_error("token", "argument inattendu", argv[i]);
		arg = argv[i];
	}
	dh_error err;
	dh_error_clear(&err);
	dh_store *store = NULL;
	int exitcode, rc;
	if (strcmp(sub, "create") == 0) {
		if (!arg)
			return cli_usage_error("token", "LOGIN manquant", NULL);
		char *end;
		errno = 0;
		long days = strtol(days_text, &end, 10);
		if (errno || *end || days < 1 || days > 3650)
			return cli_usage_error("token", "durée invalide (1 à 3650 jours)", days_text);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		char text[DH_TOKEN_TEXT_SIZE];
		dh_token meta;
		dh_actor actor = cli_actor();
		rc = dh_token_create(store, arg, scope, (int)days, text, &meta, &actor, &err);
		if (rc == DH_OK) {
			printf("%s\n", text);
			fprintf(stderr, "jeton %lld pour « %s » (%s), valable jusqu'au %s ; il ne sera plus affiché\n",
				(long long)meta.id, meta.login, meta.scope, meta.expires_at);
			sodium_memzero(text, sizeof(text));
		}
	} else if (strcmp(sub, "revoke") == 0) {
		char *end;
		long long id = arg ? strtoll(arg, &end, 10) : 0;
		if (!arg || *end || id <= 0)
			return cli_usage_error("token", "identifiant de jeton invalide", arg);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		dh_actor actor = cli_actor();
		rc = dh_token_revoke(store, id, &actor, &err);
		if (rc == DH_OK)
			printf("jeton %lld révoqué\n", id);
	} else if (strcmp(sub, "list") == 0) {
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		rc = dh_token_list(store, arg, print_token, NULL, &err);
	} else {
		return cli_usage_error("token", "sous-commande inconnue (create, revoke, list)", sub);
	}
	exitcode = rc == DH_OK ? CLI_EXIT_OK : cli_report_error(&err);
	dh_store_close(store);
	return exitcode;
}
