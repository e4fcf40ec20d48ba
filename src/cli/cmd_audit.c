/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_audit.c - `datahabitat audit list|verify|checkpoint|pubkey`: reads the audit chain,
 * checks it (with the signed checkpoints of a witness file), and signs checkpoints of its
 * head. The CLI writes no entry itself: the library's entry points do (docs/gdpr.md).
 */
#include "cli.h"

#include "datahabitat/audit.h"
#include "datahabitat/store.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat audit list [--from N] [--format table|json] [--db CHEMIN]\n"
	"        datahabitat audit verify [--checkpoints FICHIER] [--pubkey HEX] [--format text|json] [--db CHEMIN]\n"
	"        datahabitat audit checkpoint [--out FICHIER] [--db CHEMIN]\n"
	"        datahabitat audit pubkey [--db CHEMIN]\n"
	"\n"
	"Consulte ou vérifie le journal d'audit chaîné : chaque entrée porte un code\n"
	"d'authentification (BLAKE2b avec une clé gardée hors de la base, CHEMIN.audit-key)\n"
	"calculé sur son contenu et celui de la précédente ; une entrée modifiée, supprimée,\n"
	"insérée ou déplacée est désignée par « verify ». Des points de contrôle signés (Ed25519)\n"
	"de la dernière entrée sont ajoutés à CHEMIN.audit-witness toutes les N entrées ;\n"
	"« verify --checkpoints » les vérifie et détecte aussi une fin de journal coupée.\n"
	"\n"
	"Options :\n"
	"  --from N            list : à partir de l'entrée N (défaut : 1)\n"
	"  --format F          list : table (défaut) ou json ; verify : text (défaut) ou json\n"
	"  --checkpoints F     verify : fichier témoin des points de contrôle à vérifier\n"
	"  --pubkey HEX        verify : clé publique de confiance (défaut : celle de la clé d'audit)\n"
	"  --out FICHIER       checkpoint : ajoute le point de contrôle à FICHIER (défaut : sortie)\n"
	"  --db CHEMIN         base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help          cette aide\n"
	"\n"
	"Statut de sortie : 0 succès (chaîne intacte), 1 chaîne rompue, 2 usage incorrect,\n"
	"3 erreur de la base.\n";

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

static int audit_verify(const char *db, const char *format, const char *checkpoints, const char *pubkey)
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
	int rc = checkpoints ? dh_audit_verify_checkpoints(store, checkpoints, pubkey, &check, &err)
			     : dh_audit_verify(store, &check, &err);
	dh_store_close(store);
	if (rc != DH_OK && !(rc == DH_CORRUPT && check.first_bad))
		return cli_report_error(&err);
	if (json) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:s}", "intact", rc == DH_OK, "entries", (json_int_t)check.entries,
				      "first_bad", (json_int_t)check.first_bad, "problem", check.problem);
		if (o && checkpoints) {
			json_object_set_new(o, "checkpoints", json_integer((json_int_t)check.checkpoints));
			json_object_set_new(o, "anchored", json_integer((json_int_t)check.anchored));
		}
		if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			json_decref(o);
			cli_errorf("audit verify : écriture du JSON impossible");
			return CLI_EXIT_FAILURE;
		}
		fputc('\n', stdout);
		json_decref(o);
	} else if (rc == DH_OK) {
		printf("chaîne d'audit intacte : %lld entrées vérifiées", (long long)check.entries);
		if (checkpoints)
		{
			const char *s = check.checkpoints > 1 ? "s" : "";
			printf(", %lld point%s de contrôle signé%s vérifié%s (jusqu'à l'entrée %lld)",
			       (long long)check.checkpoints, s, s, s, (long long)check.anchored);
		}
		putchar('\n');
	} else {
		printf("%s\n", err.message); /* "chaîne d'audit rompue à l'entrée N : <raison>" */
	}
	return rc == DH_OK ? CLI_EXIT_OK : CLI_EXIT_INVALID;
}

/* `checkpoint` (a signed line for the head, to FILE or stdout) or `pubkey` (its key). */
static int audit_sign(const char *db, const char *out, int pubkey_only)
{
	dh_store *store;
	int exitcode = cli_open_store(db, pubkey_only ? DH_STORE_READONLY : 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error err;
	dh_error_clear(&err);
	char line[DH_AUDIT_CHECKPOINT_SIZE];
	int rc = pubkey_only ? dh_audit_public_key(store, line, &err) : dh_audit_checkpoint(store, line, &err);
	dh_store_close(store);
	if (rc != DH_OK)
		return cli_report_error(&err);
	if (pubkey_only)
		memcpy(line + 64, "\n", 2);
	FILE *f = out ? fopen(out, "a") : stdout;
	if (!f || fputs(line, f) < 0 || (out ? fclose(f) : fflush(f)) != 0) {
		cli_errorf("audit checkpoint : « %s » : écriture impossible : %s", out ? out : "sortie standard",
			   strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("audit", "sous-commande manquante (list, verify, checkpoint ou pubkey)", NULL);
	const char *sub = argv[1];
	int list = strcmp(sub, "list") == 0, verify = strcmp(sub, "verify") == 0;
	int checkpoint = strcmp(sub, "checkpoint") == 0, pubkey_only = strcmp(sub, "pubkey") == 0;
	if (!list && !verify && !checkpoint && !pubkey_only)
		return cli_usage_error("audit", "sous-commande inconnue", sub);
	const char *db = NULL, *from = "1", *format = NULL, *checkpoints = NULL, *pubkey = NULL, *out = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--format", list || verify ? &format : NULL },
		{ "--from", list ? &from : NULL },
		{ "--checkpoints", verify ? &checkpoints : NULL },
		{ "--pubkey", verify ? &pubkey : NULL },
		{ "--out", checkpoint ? &out : NULL },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("audit", argc, argv, 2, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	if (list)
		return audit_list(db, from, format ? format : "table");
	if (verify)
		return audit_verify(db, format ? format : "text", checkpoints, pubkey);
	return audit_sign(db, out, pubkey_only);
}
