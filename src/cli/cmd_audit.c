/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_audit.c - `datahabitat audit list|verify`: reads the tamper-evident audit chain and
 * checks it. Also the helper every command uses to log to the chain (cli_audit_log).
 *
 * Actor of CLI entries: $DATAHABITAT_ACTOR when set (a login, e.g. set by a wrapper that
 * authenticated the operator), else "cli". The CLI runs with the rights of whoever can open
 * the database file, so this is a label, not an authentication (docs/gdpr.md).
 */
#include "cli.h"

#include "datahabitat/audit.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat audit list [--from N] [--format table|json] [--db CHEMIN]\n"
	"        datahabitat audit verify [--format text|json] [--db CHEMIN]\n"
	"\n"
	"Consulte ou vérifie le journal d'audit chaîné : chaque entrée porte l'empreinte SHA-256\n"
	"de la précédente, si bien qu'une entrée modifiée, supprimée, insérée ou déplacée est\n"
	"détectée et désignée par « verify ».\n"
	"\n"
	"Options :\n"
	"  --from N        list : à partir de l'entrée N (défaut : 1)\n"
	"  --format F      list : table (défaut) ou json ; verify : text (défaut) ou json\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 succès (chaîne intacte), 1 chaîne rompue, 2 usage incorrect,\n"
	"3 erreur de la base.\n";

const char *cli_actor(void)
{
	const char *a = getenv("DATAHABITAT_ACTOR");
	return a && *a ? a : "cli";
}

int cli_audit_log(dh_store *store, const char *action, const char *object, const char *result)
{
	dh_error err;
	dh_error_clear(&err);
	if (dh_audit_log(store, cli_actor(), action, object, 0, "", result, &err) != DH_OK) {
		cli_errorf("journal d'audit : écriture impossible : %s", err.message);
		return dh_result_exit_code(err.code);
	}
	return CLI_EXIT_OK;
}

static json_t *entry_json(const dh_audit_entry *e)
{
	/* stored text as written, whatever it holds (cli_json_text): the list is never lost */
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "seq", (json_int_t)e->seq, "time",
			 cli_json_text(e->time), "actor", cli_json_text(e->actor), "action", cli_json_text(e->action),
			 "object", cli_json_text(e->object), "agreement", (json_int_t)e->agreement, "purpose",
			 cli_json_text(e->purpose), "result", cli_json_text(e->result), "prev_hash",
			 cli_json_text(e->prev_hash), "hash", cli_json_text(e->hash));
}

static int print_entry(void *ctx, const dh_audit_entry *e)
{
	json_t *list = ctx;
	if (list)
		return json_array_append_new(list, entry_json(e)) == 0 ? DH_OK : DH_NOMEM;
	printf("%6lld  %-20s  %-12s  %-14s  %-8s  %.12s  %s", (long long)e->seq, cli_text(e->time),
	       cli_text(e->actor), cli_text(e->action), cli_text(e->result), cli_text(e->hash), cli_text(e->object));
	if (e->agreement)
		printf("  accord %lld", (long long)e->agreement);
	if (e->purpose[0])
		printf("  finalité « %s »", cli_text(e->purpose));
	putchar('\n');
	return DH_OK;
}

static int audit_list(const char *db, const char *from_text, const char *format)
{
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return cli_usage_error("audit list", "format inconnu", format);
	char *end;
	long long from = strtoll(from_text, &end, 10);
	if (*end || from < 1)
		return cli_usage_error("audit list", "--from attend un numéro d'entrée (1 ou plus)", from_text);
	dh_store *store;
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	json_t *list = json ? json_array() : NULL;
	if (!json)
		/* "N°" and "RÉSULTAT" hold a 2-byte character: one more byte of width keeps the columns. */
		printf("%7s  %-20s  %-12s  %-14s  %-9s  %-12s  %s\n", "N°", "DATE", "ACTEUR", "ACTION", "RÉSULTAT",
		       "EMPREINTE", "OBJET");
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_audit_list(store, (int64_t)from, print_entry, list, &err);
	return cli_list_end(store, rc, &err, list);
}

static int audit_verify(const char *db, const char *format)
{
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_usage_error("audit verify", "format inconnu", format);
	dh_store *store;
	/* Not read-only: an older database gets its audit table from the migration. */
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error err;
	dh_error_clear(&err);
	dh_audit_check check;
	int rc = dh_audit_verify(store, &check, &err);
	dh_store_close(store);
	if (rc != DH_OK && rc != DH_CORRUPT)
		return cli_report_error(&err);
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:s}", "intact", rc == DH_OK, "entries", (json_int_t)check.entries,
				      "first_bad", (json_int_t)check.first_bad, "problem", check.problem);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else if (rc == DH_OK) {
		printf("chaîne d'audit intacte : %lld entrées vérifiées\n", (long long)check.entries);
	} else {
		printf("%s\n", err.message); /* "chaîne d'audit rompue à l'entrée N : <raison>" */
	}
	return rc == DH_OK ? CLI_EXIT_OK : CLI_EXIT_INVALID;
}

int cmd_audit(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("audit", "sous-commande manquante (list ou verify)", NULL);
	const char *sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "verify") != 0)
		return cli_usage_error("audit", "sous-commande inconnue", sub);
	const char *db = NULL, *from = "1", *format = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--format", &format },
		{ "--from", strcmp(sub, "list") == 0 ? &from : NULL },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("audit", argc, argv, 2, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	if (strcmp(sub, "list") == 0)
		return audit_list(db, from, format ? format : "table");
	return audit_verify(db, format ? format : "text");
}
