/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_init.c - `datahabitat init`: creates the database and loads the reference geography
 * into it. An existing datahabitat database is left as it is (said so, exit 0); any other
 * non-empty file is refused and left untouched.
 */
#include "cli.h"

#include "datahabitat/geo.h"
#include "datahabitat/admin.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <stdlib.h>
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
	"  --checkpoint-every N\n"
	"                  point de contrôle signé du journal d'audit toutes les N entrées\n"
	"                  (défaut : 100), écrit dans CHEMIN.audit-witness\n"
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
	const char *db = NULL, *ref = NULL, *format = "text", *every_text = NULL;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--ref", &ref },
		{ "--format", &format },
		{ "--checkpoint-every", &every_text },
		{ NULL, NULL },
	};
	int usage = cli_parse_options("init", argc, argv, 1, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("init", "format inconnu", format);
	long every = 0;
	if (every_text) {
		char *end;
		every = strtol(every_text, &end, 10);
		if (*end || end == every_text || every < 1 || every > 1000000)
			return cli_usage_error("init", "--checkpoint-every attend un nombre d'entrées (1 à 1000000)",
					       every_text);
	}
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
	dh_actor actor = cli_actor();
	dh_init_result res;
	rc = dh_store_init(location, geo, &actor, (int)every, &res, NULL, &err);
	int exitcode = CLI_EXIT_OK;
	if (rc == DH_OK) {
		print_info(location, &res.info, res.already, strcmp(format, "json") == 0);
		if (res.pseudo_key_created && strcmp(format, "json") != 0)
			printf("clé de pseudonymisation « %s » créée (mode 0600)\n", res.pseudo_key_path);
		if (res.audit_key_created && strcmp(format, "json") != 0)
			printf("clé d'audit « %s » créée (mode 0600)\n", res.audit_key_path);
	} else {
		exitcode = cli_report_error(&err);
	}
	dh_geo_free(geo);
	return exitcode;
}
