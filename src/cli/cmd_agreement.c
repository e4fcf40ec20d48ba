/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_agreement.c - `datahabitat agreement add|list|end`: the sharing agreements that open
 * figures mixing several landlords to an audience (docs/governance.md). Logged to the
 * audit chain.
 */
#include "cli.h"

#include "datahabitat/identity.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat agreement add --audience public|members|partner:NIVEAU:CODE\n"
	"            --territory all|NIVEAU:CODE --indicators all|public|ID,...\n"
	"            --purpose TEXTE --legal-basis TEXTE --start AAAA-MM-JJ --end AAAA-MM-JJ\n"
	"        datahabitat agreement list\n"
	"        datahabitat agreement end ID\n"
	"\n"
	"Une convention ouvre à un public (tous, les membres et analystes de la fédération, ou\n"
	"un partenaire identifié par le niveau et le code de son territoire, par exemple\n"
	"partner:departement:29) les indicateurs d'un territoire,\n"
	"secret statistique appliqué, entre deux dates (incluses). Finalité et base légale sont\n"
	"obligatoires. « end » met fin à la convention dès aujourd'hui.\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN   base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help    cette aide\n";

static int print_agreement(void *ctx, const dh_agreement *a)
{
	(void)ctx;
	char terr[64], partner[64] = "";
	dh_territory_format(&a->territory, terr, sizeof(terr));
	if (a->audience == DH_AUDIENCE_PARTNER)
		dh_territory_format(&a->partner, partner, sizeof(partner));
	printf("%lld\t%s%s%s\t%s\t%s\t%s..%s\t%s\t%s\n", (long long)a->id, dh_audience_name(a->audience),
	       partner[0] ? ":" : "", cli_text(partner), cli_text(terr), cli_text(a->indicators), cli_text(a->start),
	       cli_text(a->end), cli_text(a->purpose), cli_text(a->legal_basis));
	return DH_OK;
}

int cmd_agreement(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	const char *sub = argv[1], *db = NULL, *audience = NULL, *territory = "all", *indicators = NULL;
	const char *purpose = NULL, *legal = NULL, *start = NULL, *end = NULL, *arg = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--audience", &audience },
		{ "--territory", &territory },
		{ "--indicators", &indicators },
		{ "--purpose", &purpose },
		{ "--legal-basis", &legal },
		{ "--start", &start },
		{ "--end", &end },
		{ NULL, NULL },
	};
	for (int i = 2; i < argc; i++) {
		int r;
		if ((r = cli_take_options(argc, argv, &i, options))) {
			if (r < 0)
				return cli_usage_error("agreement", "option incomplète", argv[i]);
			continue;
		}
		if (argv[i][0] == '-' || arg)
			return cli_usage_error("agreement", "argument inattendu", argv[i]);
		arg = argv[i];
	}
	dh_error err;
	dh_error_clear(&err);
	dh_store *store = NULL;
	int exitcode, rc;
	if (strcmp(sub, "add") == 0) {
		const char *missing = !audience ? "--audience" : !indicators ? "--indicators" :
				      !purpose ? "--purpose" : !legal ? "--legal-basis" :
				      !start ? "--start" : !end ? "--end" : NULL;
		if (missing)
			return cli_usage_error("agreement", "option obligatoire manquante", missing);
		dh_agreement a;
		memset(&a, 0, sizeof(a));
		if (dh_audience_parse(audience, &a, &err) != DH_OK ||
		    dh_territory_parse(territory, &a.territory, &err) != DH_OK)
			return cli_usage_error("agreement", err.message, NULL);
		if (strlen(indicators) >= sizeof(a.indicators) || strlen(purpose) >= sizeof(a.purpose) ||
		    strlen(legal) >= sizeof(a.legal_basis) || strlen(start) >= sizeof(a.start) ||
		    strlen(end) >= sizeof(a.end))
			return cli_usage_error("agreement", "valeur trop longue", NULL);
		dh_strlcpy(a.indicators, sizeof(a.indicators), indicators);
		dh_strlcpy(a.purpose, sizeof(a.purpose), purpose);
		dh_strlcpy(a.legal_basis, sizeof(a.legal_basis), legal);
		dh_strlcpy(a.start, sizeof(a.start), start);
		dh_strlcpy(a.end, sizeof(a.end), end);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		dh_actor actor = cli_actor();
		rc = dh_agreement_add(store, &a, &actor, &err);
		if (rc == DH_OK)
			printf("convention %lld enregistrée\n", (long long)a.id);
	} else if (strcmp(sub, "list") == 0) {
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		rc = dh_agreement_list(store, print_agreement, NULL, &err);
	} else if (strcmp(sub, "end") == 0) {
		char *endp;
		long long id = arg ? strtoll(arg, &endp, 10) : 0;
		if (!arg || *endp || id <= 0)
			return cli_usage_error("agreement", "identifiant de convention invalide", arg);
		if ((exitcode = cli_open_store(db, 0, &store)) != CLI_EXIT_OK)
			return exitcode;
		dh_actor actor = cli_actor();
		rc = dh_agreement_end(store, id, NULL, &actor, &err);
		if (rc == DH_OK)
			printf("convention %lld terminée\n", id);
	} else {
		return cli_usage_error("agreement", "sous-commande inconnue (add, list, end)", sub);
	}
	exitcode = rc == DH_OK ? CLI_EXIT_OK : cli_report_error(&err);
	dh_store_close(store);
	return exitcode;
}
