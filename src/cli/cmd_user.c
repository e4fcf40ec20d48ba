/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_user.c - `datahabitat user add|list|disable`: the platform's users and their roles.
 * The password is read from standard input (first line) or, on a terminal, from a prompt
 * without echo; never from the command line. Logged to the audit chain by the library
 * (actor: $DATAHABITAT_ACTOR, else "cli").
 */
#include "cli.h"

#include "datahabitat/identity.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char usage_text[] =
	"usage : datahabitat user add LOGIN --role ROLE [--org SIREN] [--territory NIVEAU:CODE]\n"
	"        datahabitat user list\n"
	"        datahabitat user disable LOGIN\n"
	"\n"
	"Rôles : member (bailleur, --org obligatoire), analyst (fédération), partner\n"
	"(--territory obligatoire, par exemple epci:243500139), public, admin, dpo.\n"
	"Le mot de passe (8 caractères au moins) est lu sur l'entrée standard, sans écho sur un\n"
	"terminal ; il n'est jamais passé en argument ni enregistré en clair (Argon2id).\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN   base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help    cette aide\n";

/* Read one line from stdin into buf without echo on a terminal; returns its length or -1. */
static long read_password(char *buf, size_t size)
{
	int tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	if (tty) {
		fputs("Mot de passe : ", stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = 0;
		}
	}
	char *got = fgets(buf, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return -1;
	size_t n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return (long)n;
}

static int print_user(void *ctx, const dh_user *u)
{
	(void)ctx;
	char terr[64];
	dh_territory_format(&u->territory, terr, sizeof(terr));
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", cli_text(u->login), dh_role_name(u->role),
	       u->org_siren[0] ? cli_text(u->org_siren) : "-", u->territory.level == DH_LEVEL_ALL ? "-" : cli_text(terr),
	       u->disabled ? "désactivé" : "actif", cli_text(u->created_at));
	return DH_OK;
}

int cmd_user(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	const char *sub = argv[1], *db = NULL, *role = NULL, *org = NULL, *territory = NULL, *login = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--role", &role },
		{ "--org", &org },
		{ "--territory", &territory },
		{ NULL, NULL },
	};
	for (int i = 2; i < argc; i++) {
		int r;
		if ((r = cli_take_options(argc, argv, &i, options))) {
			if (r < 0)
				return cli_usage_error("user", "option incomplète", argv[i]);
			continue;
		}
		if (argv[i][0] == '-' || login)
			return cli_usage_error("user", "argument inattendu", argv[i]);
		login = argv[i];
	}
	dh_error err;
	dh_error_clear(&err);
	dh_store *store = NULL;
	int exitcode;
	if (strcmp(sub, "list") == 0) {
		if (login)
			return cli_usage_error("user", "argument inattendu", login);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		int rc = dh_user_list(store, print_user, NULL, &err);
		exitcode = rc == DH_OK ? CLI_EXIT_OK : cli_report_error(&err);
		dh_store_close(store);
		return exitcode;
	}
	if (strcmp(sub, "disable") == 0) {
		if (!login)
			return cli_usage_error("user", "LOGIN manquant", NULL);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		dh_actor actor = cli_actor();
		int rc = dh_user_disable(store, login, &actor, &err);
		if (rc == DH_OK)
			printf("utilisateur « %s » désactivé\n", login);
		exitcode = rc == DH_OK ? CLI_EXIT_OK : cli_report_error(&err);
		dh_store_close(store);
		return exitcode;
	}
	if (strcmp(sub, "add") != 0)
		return cli_usage_error("user", "sous-commande inconnue (add, list, disable)", sub);
	if (!login || !role)
		return cli_usage_error("user", "LOGIN et --role sont obligatoires", NULL);
	dh_user u;
	memset(&u, 0, sizeof(u));
	int r = dh_role_parse(role);
	if (r < 0)
		return cli_usage_error("user", "rôle inconnu", role);
	u.role = (dh_role)r;
	if (!dh_login_valid(login))
		return cli_usage_error("user", "identifiant invalide (a-z 0-9 . _ -, 64 au plus)", login);
	dh_strlcpy(u.login, sizeof(u.login), login);
	if (org) {
		if (strlen(org) >= sizeof(u.org_siren))
			return cli_usage_error("user", "SIREN invalide", org);
		dh_strlcpy(u.org_siren, sizeof(u.org_siren), org);
	}
	u.territory.level = DH_LEVEL_ALL;
	if (territory && dh_territory_parse(territory, &u.territory, &err) != DH_OK)
		return cli_usage_error("user", err.message, NULL);
	char password[1100];
	long n = read_password(password, sizeof(password));
	if (n < 0) {
		cli_errorf("user : mot de passe attendu sur l'entrée standard");
		return CLI_EXIT_USAGE;
	}
	if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK) {
		sodium_memzero(password, sizeof(password));
		return exitcode;
	}
	dh_actor actor = cli_actor();
	int rc = dh_user_add(store, &u, password, (size_t)n, &actor, &err);
	sodium_memzero(password, sizeof(password));
	if (rc == DH_OK)
		printf("utilisateur « %s » ajouté (rôle %s)\n", u.login, dh_role_name(u.role));
	exitcode = rc == DH_OK ? CLI_EXIT_OK : cli_report_error(&err);
	dh_store_close(store);
	return exitcode;
}
