/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_stock.c - `datahabitat stock`: exports an organisation's stock as it was at a date
 * (its latest accepted delivery dated on or before it), in the RPLS transmission layout:
 * a header line, the canonical column order, ';'-separated, or as JSON.
 */
#include "cli.h"

#include "datahabitat/admin.h"
#include "datahabitat/rpls.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat stock --org SIREN [--date AAAA-MM-JJ] [--format csv|json] [--db CHEMIN]\n"
	"\n"
	"Exporte le patrimoine de l'organisme tel qu'il était à la date donnée (sa dernière\n"
	"livraison acceptée de date de référence antérieure ou égale ; défaut : la plus récente),\n"
	"au format de transmission RPLS : ligne d'en-tête, colonnes dans l'ordre canonique,\n"
	"séparateur « ; », dates mm/aaaa ou jj/mm/aaaa, nombres avec un point.\n"
	"\n"
	"Options :\n"
	"  --org SIREN         organisme\n"
	"  --date AAAA-MM-JJ   date de l'état voulu (défaut : le plus récent)\n"
	"  --format F          csv (défaut) ou json (un objet par logement)\n"
	"  --db CHEMIN         base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  -h, --help          cette aide\n";

typedef struct stock_out {
	int json;
	uint64_t rows;
} stock_out;

static void write_csv_header(void)
{
	for (int f = 0; f < DH_RPLS_NFIELDS; f++)
		printf("%s%s", f ? ";" : "", dh_rpls_field(f)->name);
	putchar('\n');
}

static int write_csv_row(const dh_rpls_row *row)
{
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		if (f)
			putchar(';');
		if (DH_RPLS_HAS(row, f))
			cli_print_csv_field(stdout, row->text[f].ptr, row->text[f].len, ';');
	}
	putchar('\n');
	return ferror(stdout) ? DH_IO : DH_OK;
}

static int write_json_row(const dh_rpls_row *row, const char *commune, uint64_t rank)
{
	json_t *o = json_object();
	if (!o)
		return DH_NOMEM;
	for (int f = 0; f < DH_RPLS_NFIELDS; f++) {
		const dh_field_info *info = dh_rpls_field(f);
		json_t *v;
		if (!DH_RPLS_HAS(row, f))
			v = json_null();
		else if (info->kind == DH_KIND_INT || info->kind == DH_KIND_YEAR)
			v = json_integer((json_int_t)row->value[f].i);
		else if (info->kind == DH_KIND_NUMBER)
			v = json_real(row->value[f].d);
		else
			v = json_stringn(row->text[f].ptr, row->text[f].len);
		json_object_set_new(o, info->name, v);
	}
	json_object_set_new(o, "commune_actuelle", commune ? json_string(commune) : json_null());
	fputs(rank == 1 ? "[\n" : ",\n", stdout);
	int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 ? DH_OK : DH_IO;
	json_decref(o);
	return rc;
}

static int on_dwelling(void *ctx, const dh_rpls_row *row, const char *commune)
{
	stock_out *out = ctx;
	if (!out->json && out->rows == 0)
		write_csv_header();
	out->rows++;
	return out->json ? write_json_row(row, commune, out->rows) : write_csv_row(row);
}

int cmd_stock(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	const char *db = NULL, *org = NULL, *date = NULL, *format = "csv";
	const cli_option options[] = {
		{ "--db", &db },
		{ "--org", &org },
		{ "--date", &date },
		{ "--format", &format },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("stock", argc, argv, 1, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	if (!org)
		return cli_usage_error("stock", "--org SIREN est obligatoire", NULL);
	if (!dh_siren_valid(org))
		return cli_usage_error("stock", "SIREN invalide (9 chiffres, clé de Luhn)", org);
	if (date && !dh_date_valid(date))
		return cli_usage_error("stock", "date invalide (AAAA-MM-JJ attendu)", date);
	stock_out out = { .json = strcmp(format, "json") == 0, .rows = 0 };
	if (!out.json && strcmp(format, "csv") != 0)
		return cli_usage_error("stock", "format inconnu", format);
	dh_store *store;
	/* Read-write: the library logs the export to the audit chain before any row leaves. */
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_error err;
	dh_error_clear(&err);
	dh_actor actor = cli_actor();
	int rc = dh_stock_export(store, &actor, org, date, NULL, on_dwelling, &out, &err);
	/* The header comes with the first row, so that nothing is printed for an error. */
	if (rc == DH_OK && out.json)
		fputs(out.rows ? "\n]\n" : "[]\n", stdout);
	else if (rc == DH_OK && out.rows == 0)
		write_csv_header();
	if (rc != DH_OK)
		exitcode = rc == DH_NOTFOUND ? (cli_report_error(&err), CLI_EXIT_USAGE) : cli_report_error(&err);
	dh_store_close(store);
	return exitcode;
}
