/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_deliveries.c - `datahabitat deliveries`: lists the deliveries received, of one
 * organisation or of all, with their reference date, decision and row counts.
 */
#include "cli.h"

#include "datahabitat/store.h"

#include <jansson.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat deliveries [--org SIREN] [--format table|json] [--db CHEMIN]\n"
	"\n"
	"Liste les livraisons reçues (toutes, ou celles d'un organisme), par organisme puis\n"
	"date de référence : numéro, date, statut, lignes lues, acceptées et rejetées, fichier.\n"
	"\n"
	"Options :\n"
	"  --org SIREN     un seul organisme\n"
	"  --format F      table (défaut) ou json (avec la date de réception et l'empreinte)\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help      cette aide\n";

static int print_delivery(void *ctx, const dh_delivery *d)
{
	json_t *list = ctx;
	if (list) {
		json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:s, s:I, s:I, s:I}", "id",
				      (json_int_t)d->id, "organisation", cli_json_text(d->siren), "reference_date",
				      cli_json_text(d->reference_date), "received_at", cli_json_text(d->received_at),
				      "layout", cli_json_text(d->layout), "file", cli_json_text(d->file_name), "size",
				      (json_int_t)d->file_size, "sha256", cli_json_text(d->sha256), "status",
				      dh_delivery_status_name(d->status), "rows", (json_int_t)d->rows_read,
				      "rows_accepted", (json_int_t)d->rows_accepted, "rows_rejected",
				      (json_int_t)d->rows_rejected);
		return o && json_array_append_new(list, o) == 0 ? DH_OK : DH_NOMEM;
	}
	printf("%4lld  %-9s  %-10s  %-8s  %9llu  %9llu  %9llu  %s\n", (long long)d->id, cli_text(d->siren),
	       cli_text(d->reference_date), d->status == DH_DELIVERY_ACCEPTED ? "acceptée" : "refusée",
	       (unsigned long long)d->rows_read, (unsigned long long)d->rows_accepted,
	       (unsigned long long)d->rows_rejected, cli_text(d->file_name));
	return DH_OK;
}

int cmd_deliveries(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	const char *db = NULL, *org = NULL, *format = "table";
	const cli_option options[] = {
		{ "--db", &db },
		{ "--org", &org },
		{ "--format", &format },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("deliveries", argc, argv, 1, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return cli_usage_error("deliveries", "format inconnu", format);
	if (org && !dh_siren_valid(org))
		return cli_usage_error("deliveries", "SIREN invalide (9 chiffres, clé de Luhn)", org);
	dh_store *store;
	int exitcode = cli_open_store(db, DH_STORE_READONLY, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error err;
	dh_error_clear(&err);
	if (org) {
		dh_org o;
		if (dh_store_org_get(store, org, &o, &err) != DH_OK) {
			exitcode = cli_report_error(&err);
			dh_store_close(store);
			return exitcode;
		}
	}
	json_t *list = json ? json_array() : NULL;
	if (!json)
		printf("%4s  %-9s  %-10s  %-8s  %9s  %9s  %9s  %s\n", "N°", "SIREN", "DATE", "STATUT", "LUES",
		       "ACCEPTÉES", "REJETÉES", "FICHIER");
	int rc = dh_store_delivery_list(store, org, print_delivery, list, &err);
	return cli_list_end(store, rc, &err, list);
}
