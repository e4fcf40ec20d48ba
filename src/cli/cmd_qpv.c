/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_qpv.c - `datahabitat qpv load|list`: loads an official list of priority neighbourhoods
 * (INSEE's `QP;LIB_QP;LIST_COM;...`, ANCT's `code_qp;nom_qp;commune_qp`, or the 2024 list
 * `Code quartier;Quartier prioritaire;...;codes communes`) into the database, replacing the
 * previous one, and lists the stored neighbourhoods with their communes. `indicators
 * --level qpv` then names each QPV.
 */
#include "cli.h"

#include "datahabitat/admin.h"
#include "datahabitat/geo.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat qpv load FICHIER [--db CHEMIN] [--ref DIR]\n"
	"        datahabitat qpv list [--format table|csv|json] [--db CHEMIN]\n"
	"\n"
	"Charge dans la base la liste officielle des quartiers prioritaires de la politique de\n"
	"la ville (QPV), en remplacement de la précédente, ou liste les quartiers enregistrés.\n"
	"Mises en page reconnues (colonnes trouvées par leur nom, dans tout ordre) :\n"
	"  - INSEE 2024 : QP;LIB_QP;LIST_COM;LIST_LIB_COM;... (plusieurs communes dans LIST_COM) ;\n"
	"  - ANCT : code_qp;nom_qp;commune_qp (noms des communes, cherchés dans le département\n"
	"    du quartier) ou code_qp;lib_qp;...;insee_com ;\n"
	"  - liste 2024 : Code quartier;Quartier prioritaire;...;codes communes.\n"
	"Les anciens codes communes sont rattachés à leur commune actuelle.\n"
	"\n"
	"Options :\n"
	"  --format F      list : table (défaut), csv ou json\n"
	"  --db CHEMIN     base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  --ref DIR       dossier des fichiers de référence (géographie)\n"
	"  -h, --help      cette aide\n"
	"\n"
	"Statut de sortie : 0 succès, 2 usage incorrect ou liste illisible, 3 erreur de la base.\n";

static int qpv_load(const char *file, const char *db, const char *ref)
{
	dh_geo *geo = NULL;
	if (cli_load_geo(ref, &geo) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_geo_load_qpv(geo, file, &err);
	if (rc != DH_OK) {
		int code = cli_report_error(&err);
		dh_geo_free(geo);
		return code == CLI_EXIT_FAILURE ? code : CLI_EXIT_USAGE;
	}
	dh_store *store;
	int exitcode = cli_open_store(db, 0, &store);
	if (exitcode != CLI_EXIT_OK) {
		dh_geo_free(geo);
		return exitcode;
	}
	dh_actor actor = cli_actor();
	rc = dh_qpv_register(store, &actor, geo, &err);
	if (rc != DH_OK) {
		exitcode = cli_report_error(&err);
	} else {
		size_t links = 0, n = dh_geo_qpv_count(geo);
		for (size_t i = 0; i < n; i++)
			links += dh_geo_qpv(geo, (int32_t)i)->ncommunes;
		printf("%zu quartiers prioritaires chargés (%zu liens quartier-commune)\n", n, links);
	}
	dh_store_close(store);
	dh_geo_free(geo);
	return exitcode;
}

typedef struct list_ctx {
	json_t *json;
	int csv;
} list_ctx;

static int print_qpv_row(void *ctx, const char *code, const char *name, const char *communes)
{
	list_ctx *l = ctx;
	if (l->json) {
		json_t *coms = json_array();
		const char *p = communes;
		while (coms && *p) {
			size_t n = strcspn(p, " ");
			json_array_append_new(coms, json_stringn(p, n));
			p += n;
			while (*p == ' ')
				p++;
		}
		json_t *o = json_pack("{s:s, s:s, s:o}", "code", code, "name", name, "communes", coms);
		return o && json_array_append_new(l->json, o) == 0 ? DH_OK : DH_NOMEM;
	}
	if (l->csv) {
		cli_print_csv_field(stdout, code, strlen(code), ',');
		putchar(',');
		cli_print_csv_field(stdout, name, strlen(name), ',');
		putchar(',');
		cli_print_csv_field(stdout, communes, strlen(communes), ',');
		putchar('\n');
		return DH_OK;
	}
	printf("%-8s  %-17s  %s\n", code, communes, name);
	return DH_OK;
}

static int qpv_list(const char *db, const char *format)
{
	list_ctx l = { NULL, strcmp(format, "csv") == 0 };
	int json = strcmp(format, "json") == 0;
	if (!json && !l.csv && strcmp(format, "table") != 0)
		return cli_usage_error("qpv list", "format inconnu (table, csv ou json)", format);
	dh_store *store;
	int exitcode = cli_open_store(db, DH_STORE_READONLY, &store);
	if (exitcode != CLI_EXIT_OK)
		return exitcode;
	if (json)
		l.json = json_array();
	else if (l.csv)
		puts("code,name,communes");
	else
		printf("%-8s  %-17s  %s\n", "Code", "Communes", "Quartier");
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_store_qpv_list(store, print_qpv_row, &l, &err);
	return cli_list_end(store, rc, &err, l.json);
}

int cmd_qpv(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error("qpv", "sous-commande manquante (load ou list)", NULL);
	const char *action = argv[1];
	int is_load = strcmp(action, "load") == 0;
	if (!is_load && strcmp(action, "list") != 0)
		return cli_usage_error("qpv", "sous-commande inconnue", action);
	const char *db = NULL, *ref = NULL, *format = "table", *file = NULL;
	int first = 2;
	if (is_load) {
		if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
			return cli_usage_error("qpv load", "fichier manquant", NULL);
		file = argv[2];
		first = 3;
	}
	const cli_option options[] = {
		{ "--db", &db },
		{ "--ref", is_load ? &ref : NULL },
		{ "--format", is_load ? NULL : &format },
		{ NULL, NULL },
	};
	int usage = cli_parse_options(is_load ? "qpv load" : "qpv list", argc, argv, first, options);
	if (usage != CLI_EXIT_OK)
		return usage;
	return is_load ? qpv_load(file, db, ref) : qpv_list(db, format);
}
