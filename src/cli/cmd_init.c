/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_init.c - `datahabitat init`: creates the database and loads the reference geography
 * into it. An existing datahabitat database is left as it is (said so, exit 0); any other
 * non-empty file is refused and left untouched.
 */
#include "cli.h"

#include "datahabitat/geo.h"
#include "datahabitat/pseudo.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat init [--db CHEMIN] [options]\n"
	"\n"
	"Crée la base de données et y charge la géographie de référence (communes, communes\n"
	"déléguées, EPCI, départements, régions). Une base datahabitat existante est laissée\n"
	"telle quelle ; tout autre fichier non vide est refusé et laissé intact.\n"
	"\n"
	"Options :\n"
	"  --db CHEMIN     base (« sqlite:CHEMIN » ou CHEMIN ; défaut : $DATAHABITAT_DB,\n"
	"                  sinon ./datahabitat.db)\n"
	"  --ref DIR       dossier des fichiers de référence (défaut : $DATAHABITAT_REF\n"
	"                  ou le dossier installé)\n"
	"  --format F      text (défaut) ou json\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 base créée ou déjà initialisée, 1 fichier existant qui n'est pas\n"
	"une base datahabitat, 2 usage incorrect ou référence illisible, 3 erreur de la base.\n";

static void print_info(const char *db, const dh_store_info *info, int already, int json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "db", db, "backend",
				      info->backend, "already_initialised", already, "schema_version",
				      info->schema_version, "communes", (json_int_t)info->communes,
				      "former_communes", (json_int_t)info->former_communes, "epci",
				      (json_int_t)info->epci, "departements", (json_int_t)info->departements,
				      "regions", (json_int_t)info->regions, "organisations",
				      (json_int_t)info->organisations, "deliveries", (json_int_t)info->deliveries);
		if (o) {
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		}
		json_decref(o);
		return;
	}
	/* The schema version is in the JSON output only: it moves with every migration. */
	if (already)
		printf("base « %s » déjà initialisée : %llu organismes, %llu livraisons\n", db,
		       (unsigned long long)info->organisations, (unsigned long long)info->deliveries);
	else
		printf("base « %s » créée\n", db);
	printf("géographie : %llu communes, %llu communes déléguées ou anciennes, %llu EPCI, "
	       "%llu départements, %llu régions\n",
	       (unsigned long long)info->communes, (unsigned long long)info->former_communes,
	       (unsigned long long)info->epci, (unsigned long long)info->departements,
	       (unsigned long long)info->regions);
}

int cmd_init(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	const char *db = NULL, *ref = NULL, *format = "text";
	const cli_option options[] = {
		{ "--db", &db },
		{ "--ref", &ref },
		{ "--format", &format },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("init", argc, argv, 1, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("init", "format inconnu", format);
	const char *location = cli_db_location(db);

	/* The geography first: if it cannot be read, no database is created. */
	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	int rc = dh_geo_load(&geo, ref ? ref : dh_geo_default_dir(), &err);
	if (rc != DH_OK) {
		cli_report_error(&err);
		return CLI_EXIT_USAGE;
	}
	dh_store *store = NULL;
	int exitcode = cli_open_store(location, DH_STORE_CREATE, &store);
	if (exitcode != CLI_EXIT_OK) {
		dh_geo_free(geo);
		return exitcode;
	}
	dh_store_info info;
	rc = dh_store_info_get(store, &info, &err);
	int already = rc == DH_OK && !info.created;
	/* A database created by an init that failed before its geography was loaded gets it now. */
	if (rc == DH_OK && (info.created || info.communes == 0)) {
		rc = dh_store_load_geo(store, geo, &err);
		if (rc == DH_OK)
			rc = dh_store_info_get(store, &info, &err);
	}
	/* The pseudonymisation key, next to the database (never inside it): made once. */
	char key_path[4200];
	int key_created = 0;
	if (rc == DH_OK && (rc = dh_pseudo_key_path(location, key_path, sizeof(key_path), &err)) == DH_OK) {
		rc = dh_pseudo_key_create(key_path, &err);
		key_created = rc == DH_OK;
		if (rc == DH_EXISTS)
			rc = DH_OK;
	}
	if (rc == DH_OK) {
		print_info(location, &info, already, strcmp(format, "json") == 0);
		if (key_created && strcmp(format, "json") != 0)
			printf("clé de pseudonymisation « %s » créée (mode 0600)\n", key_path);
		if (!already)
			exitcode = cli_audit_log(store, "init", "db", "ok");
		if (key_created && exitcode == CLI_EXIT_OK)
			exitcode = cli_audit_log(store, "key-create", "pseudo-key:v1", "ok");
	} else {
		exitcode = cli_report_error(&err);
	}
	dh_store_close(store);
	dh_geo_free(geo);
	return exitcode;
}
