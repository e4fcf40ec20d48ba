/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_import.c - `datahabitat import FILE`: validates a landlord's stock file and stores it
 * as one atomic delivery (import.h), then prints the delivery summary: rows read, accepted
 * and rejected, the decision, and the count of issues per rule.
 * Exit status: 0 accepted or already imported, 1 refused, 2 usage or unreadable file,
 * 3 storage failure.
 */
#include "cli.h"

#include "datahabitat/geo.h"
#include "datahabitat/import.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat import FICHIER --org SIREN --date AAAA-MM-JJ [options]\n"
	"        datahabitat import FICHIER --source NOM --date AAAA-MM-JJ [--layout rpls-opendata...]\n"
	"\n"
	"Vérifie le fichier de patrimoine FICHIER puis l'enregistre comme la livraison de\n"
	"l'organisme SIREN décrivant son patrimoine à la date donnée, en une seule transaction :\n"
	"les lignes en erreur sont rejetées et listées dans le rapport conservé ; si la part de\n"
	"lignes rejetées dépasse le maximum, la livraison est refusée en entier (seul son rapport\n"
	"est conservé). Un fichier déjà livré par l'organisme n'est pas importé une deuxième fois.\n"
	"\n"
	"Avec --source, FICHIER est un fichier open data du SDES (« données détaillées au\n"
	"logement », sans identité de bailleur) enregistré comme source de référence NOM à la\n"
	"date donnée (il remplace ce que NOM contenait à cette date) : il alimente les indicateurs\n"
	"de structure des communes qu'aucun adhérent ne couvre à cette date, jamais un indicateur\n"
	"d'activité (voir « datahabitat indicators --help », option --source).\n"
	"\n"
	"Options :\n"
	"  --org SIREN               organisme qui livre (enregistré avec « datahabitat org add »)\n"
	"  --source NOM              source de référence (open data), à la place de --org\n"
	"  --date AAAA-MM-JJ         date de référence du patrimoine livré\n"
	"  --max-reject-share X      part maximale de lignes rejetées, entre 0 et 1 (défaut 0.05)\n"
	"  --layout L                format : auto (défaut), rpls, rpls-opendata\n"
	"  --format F                résumé : text (défaut) ou json\n"
	"  --db CHEMIN               base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  --ref DIR                 dossier des fichiers de référence\n"
	"  -h, --help                cette aide\n"
	"\n"
	"Statut de sortie : 0 livraison acceptée ou déjà importée, 1 livraison refusée,\n"
	"2 usage incorrect ou fichier illisible, 3 erreur de la base.\n";

static const char *status_fr(dh_delivery_status s)
{
	return s == DH_DELIVERY_ACCEPTED ? "acceptée" : "refusée";
}

static void print_text(const dh_import_result *r)
{
	const dh_delivery *d = &r->delivery;
	if (r->duplicate) {
		printf("fichier déjà importé pour %s : livraison n°%lld du %s (%s), rien n'a changé\n", d->siren,
		       (long long)d->id, d->reference_date, status_fr(d->status));
		return;
	}
	printf("livraison n°%lld de %s au %s : %s\n", (long long)d->id, d->siren, d->reference_date,
	       status_fr(d->status));
	printf("fichier : %s (%llu octets, format %s)\n", cli_text(d->file_name), (unsigned long long)d->file_size, d->layout);
	printf("sha256 : %s\n", d->sha256);
	printf("lignes lues : %llu ; acceptées : %llu ; rejetées : %llu\n", (unsigned long long)d->rows_read,
	       (unsigned long long)d->rows_accepted, (unsigned long long)d->rows_rejected);
	printf("problèmes : %llu erreurs, %llu avertissements\n", (unsigned long long)r->errors,
	       (unsigned long long)r->warnings);
	for (size_t i = 0; r->rule_counts && i < r->nrules; i++)
		if (r->rule_counts[i])
			printf("  %-28s %10llu  %s\n", dh_validate_rule_code(i), (unsigned long long)r->rule_counts[i],
			       dh_validate_rule_label(i));
}

static int print_json(const dh_import_result *r)
{
	const dh_delivery *d = &r->delivery;
	json_t *rules = json_object();
	for (size_t i = 0; rules && r->rule_counts && i < r->nrules; i++)
		if (r->rule_counts[i])
			json_object_set_new(rules, dh_validate_rule_code(i), json_integer((json_int_t)r->rule_counts[i]));
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:o}", "id",
			      (json_int_t)d->id, "organisation", d->siren, "reference_date", d->reference_date,
			      "received_at", d->received_at, "file", cli_json_text(d->file_name), "size", (json_int_t)d->file_size,
			      "sha256", d->sha256, "status", dh_delivery_status_name(d->status), "rows",
			      (json_int_t)d->rows_read, "rows_accepted", (json_int_t)d->rows_accepted,
			      "rows_rejected", (json_int_t)d->rows_rejected, "already_imported", r->duplicate,
			      "errors", (json_int_t)r->errors, "warnings", (json_int_t)r->warnings, "rules",
			      rules ? rules : json_object());
	int exitcode = cli_json_print(o);
	json_decref(o);
	return exitcode;
}

/* `import FILE --source NAME`: an open-data file as a reference source. */
static int import_source(const char *file, const char *source, const char *date, const char *layout,
			 const char *format, const char *db, const char *ref)
{
	if (!dh_date_valid(date))
		return cli_usage_error("import", "date invalide (AAAA-MM-JJ attendu)", date);
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_usage_error("import", "format inconnu", format);
	dh_actor actor = cli_actor();
	dh_reference_options opt = { .source = source, .reference_date = date, .layout = DH_LAYOUT_AUTO,
				     .actor = &actor };
	if (layout && strcmp(layout, "auto") != 0) {
		int l = dh_layout_parse(layout);
		if (l < 0 || !dh_layout_is_opendata((dh_layout)l))
			return cli_usage_error("import", "--source demande une mise en page open data (rpls-opendata...)",
					       layout);
		opt.layout = (dh_layout)l;
	}
	dh_geo *geo = NULL;
	dh_store *store;
	int exitcode = cli_open_geo_store(ref, db, &geo, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_reference_result r;
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_import_reference(store, geo, file, &opt, &r, &err);
	if (rc == DH_OK && json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "source", r.source.name,
				      "reference_date", r.source.reference_date, "file", r.source.file_name,
				      "layout", r.source.layout, "sha256", r.source.sha256, "rows",
				      (json_int_t)r.rows_read, "rows_stored", (json_int_t)r.source.rows,
				      "rows_rejected", (json_int_t)r.rows_rejected, "errors", (json_int_t)r.errors,
				      "warnings", (json_int_t)r.warnings);
		if (o) {
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		}
		json_decref(o);
	} else if (rc == DH_OK) {
		printf("source de référence « %s » au %s : %llu logements enregistrés\n", r.source.name,
		       r.source.reference_date, (unsigned long long)r.source.rows);
		printf("fichier : %s (format %s)\n", r.source.file_name, r.source.layout);
		printf("sha256 : %s\n", r.source.sha256);
		printf("lignes lues : %llu ; rejetées : %llu ; problèmes : %llu erreurs, %llu avertissements\n",
		       (unsigned long long)r.rows_read, (unsigned long long)r.rows_rejected,
		       (unsigned long long)r.errors, (unsigned long long)r.warnings);
	} else {
		exitcode = cli_report_error(&err);
		if (rc == DH_NOTFOUND || rc == DH_IO || rc == DH_INVAL || rc == DH_PARSE)
			exitcode = CLI_EXIT_USAGE;
	}
	dh_store_close(store);
	dh_geo_free(geo);
	return exitcode;
}

int cmd_import(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	const char *db = NULL, *ref = NULL, *org = NULL, *date = NULL, *share = NULL, *layout = NULL;
	const char *format = "text", *file = NULL, *source = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--ref", &ref },
		{ "--org", &org },
		{ "--source", &source },
		{ "--date", &date },
		{ "--max-reject-share", &share },
		{ "--layout", &layout },
		{ "--format", &format },
		{ NULL, NULL },
	};
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = cli_take_options(argc, argv, &i, options))) {
			if (r < 0)
				return cli_usage_error("import", "option incomplète", argv[i]);
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage_error("import", "option inconnue", argv[i]);
		if (file)
			return cli_usage_error("import", "un seul fichier à la fois", argv[i]);
		file = argv[i];
	}
	if (!file)
		return cli_usage_error("import", "fichier manquant", NULL);
	if (org && source)
		return cli_usage_error("import", "--org et --source s'excluent", NULL);
	if (!org && !source)
		return cli_usage_error("import", "--org SIREN (ou --source NOM) est obligatoire", NULL);
	if (!date)
		return cli_usage_error("import", "--date AAAA-MM-JJ est obligatoire", NULL);
	if (source)
		return import_source(file, source, date, layout, format, db, ref);
	if (!dh_siren_valid(org))
		return cli_usage_error("import", "SIREN invalide (9 chiffres, clé de Luhn)", org);
	if (!dh_date_valid(date))
		return cli_usage_error("import", "date invalide (AAAA-MM-JJ attendu)", date);
	int json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return cli_usage_error("import", "format inconnu", format);
	dh_import_options opt;
	dh_import_options_init(&opt);
	opt.siren = org;
	opt.reference_date = date;
	dh_actor actor = cli_actor();
	opt.actor = &actor;
	if (share) {
		char *end;
		opt.max_reject_share = strtod(share, &end);
		if (end == share || *end || !(opt.max_reject_share >= 0.0 && opt.max_reject_share <= 1.0))
			return cli_usage_error("import", "part maximale invalide (nombre entre 0 et 1)", share);
	}
	if (layout && strcmp(layout, "auto") != 0) {
		int l = dh_layout_parse(layout);
		if (l < 0)
			return cli_usage_error("import", "format de fichier inconnu", layout);
		opt.layout = (dh_layout)l;
	}

	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	dh_store *store;
	int exitcode = cli_open_geo_store(ref, db, &geo, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	dh_import_result result;
	/* The stored QPV names, as every reader of the cube applies them: the snapshot the
	 * import writes (dh_import_file) is then the one `indicators` opens. */
	if (dh_geo_load_qpv_stored(geo, store, &err) != DH_OK)
		dh_error_clear(&err);
	int rc = dh_import_file(store, geo, file, &opt, &result, &err);
	if (rc == DH_OK || rc == DH_REFUSED) {
		int printed = CLI_EXIT_OK;
		if (json)
			printed = print_json(&result);
		else
			print_text(&result);
		if (rc == DH_REFUSED)
			cli_report_error(&err);
		exitcode = rc == DH_OK ? printed : CLI_EXIT_INVALID;
	} else {
		exitcode = cli_report_error(&err);
		if (rc == DH_NOTFOUND || rc == DH_IO || rc == DH_INVAL)
			exitcode = CLI_EXIT_USAGE;
	}
	dh_import_result_release(&result);
	dh_store_close(store);
	dh_geo_free(geo);
	return exitcode;
}
