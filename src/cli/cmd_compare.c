/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_compare.c - `datahabitat compare sdes FILE --level commune`: reconciles our figures
 * with SDES's published results by commune (sdes.h): for each commune present on both
 * sides and each variable of the file, ours, theirs and the difference, as a French table,
 * CSV or JSON, then a summary (communes compared, cells, differences, communes on one side
 * only).
 */
#include "cli.h"

#include "datahabitat/cube.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/geo.h"
#include "datahabitat/indicators.h"
#include "datahabitat/sdes.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat compare sdes FICHIER --level commune [options]\n"
	"\n"
	"Compare nos indicateurs aux résultats publiés par le SDES : FICHIER est l'onglet\n"
	"COMMUNES du classeur « resultats_rpls_AAAA.xlsx » enregistré en CSV (lignes de titres,\n"
	"puis la ligne des noms techniques REG, DEP, DEPCOM_ARM, LIBCOM, nb_ls, nb_loues,\n"
	"tx_vac..., puis une ligne par commune ou arrondissement). Pour chaque commune présente\n"
	"des deux côtés et chaque variable du fichier : notre valeur, celle du SDES et l'écart\n"
	"(nous − SDES). Les arrondissements sont regroupés dans leur commune (comptes additionnés,\n"
	"taux non comparés).\n"
	"\n"
	"Options :\n"
	"  --level commune       niveau de comparaison (seul niveau publié par commune)\n"
	"  --date AAAA-MM-JJ     date de référence (défaut : la plus récente de la base)\n"
	"  --code C              une seule commune\n"
	"  --ecarts              seulement les cellules dont l'écart dépasse l'arrondi publié\n"
	"                        (une valeur publiée avec d décimales vaut à 0,5 × 10^-d près)\n"
	"  --source NOM          comme pour « indicators » : source de référence préférée\n"
	"  --format F            table (défaut), csv ou json\n"
	"  --db CHEMIN           base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  --ref DIR             dossier des fichiers de référence (géographie)\n"
	"  -h, --help            cette aide\n"
	"\n"
	"Statut de sortie : 0 comparaison faite (même avec des écarts), 2 usage incorrect ou\n"
	"fichier illisible, 3 erreur de la base.\n";

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };

/* One compared cell. */
typedef struct cell {
	size_t row;     /* in ours */
	size_t var;     /* position in dh_sdes_variable_at() */
	double ours, theirs;
	int differ;     /* beyond the rounding of the published value */
} cell;

static double ours_of(const dh_cube_table *t, size_t row, const dh_sdes_variable *v)
{
	int c = dh_cube_table_column(t, v->indicator);
	if (c < 0)
		return NAN;
	double x = dh_cube_table_value(t, row, (size_t)c);
	if (v->times) {
		int b = dh_cube_table_column(t, v->times);
		x = b < 0 ? NAN : x * dh_cube_table_value(t, row, (size_t)b) / 100.0;
		x = isnan(x) ? x : round(x * 1e6) / 1e6; /* a count rebuilt from a share */
	}
	return x;
}

/* French number for people: decimal comma, up to 2 decimals, "n.d." when undefined. */
static void fr_number(char *buf, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(buf, size, "n.d.");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.2f", v);
	for (char *p = buf; *p; p++)
		if (*p == '.')
			*p = ',';
}

static void raw_number(char *buf, size_t size, double v)
{
	if (isnan(v)) {
		buf[0] = '\0';
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static size_t width_of(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static void pad(const char *s, size_t width, int right)
{
	size_t w = width_of(s);
	for (size_t i = w; right && i < width; i++)
		putchar(' ');
	fputs(s, stdout);
	for (size_t i = w; !right && i < width; i++)
		putchar(' ');
}

static void print_cells(enum fmt fmt, const dh_cube_table *t, const cell *cells, size_t n, int32_t day,
			const char *file)
{
	if (fmt == FMT_CSV) {
		puts("code,name,variable,indicator,ours,theirs,difference,beyond_rounding");
		for (size_t i = 0; i < n; i++) {
			const dh_sdes_variable *v = dh_sdes_variable_at(cells[i].var);
			char a[40], b[40], d[40];
			raw_number(a, sizeof(a), cells[i].ours);
			raw_number(b, sizeof(b), cells[i].theirs);
			raw_number(d, sizeof(d), cells[i].ours - cells[i].theirs);
			cli_print_csv_field(stdout, t->codes[cells[i].row], strlen(t->codes[cells[i].row]), ',');
			putchar(',');
			cli_print_csv_field(stdout, t->names[cells[i].row], strlen(t->names[cells[i].row]), ',');
			printf(",%s,%s,%s,%s,%s,%d\n", v->name, v->indicator, a, b, d, cells[i].differ);
		}
		return;
	}
	if (fmt == FMT_JSON) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++) {
			const dh_sdes_variable *v = dh_sdes_variable_at(cells[i].var);
			double d = cells[i].ours - cells[i].theirs;
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "code", t->codes[cells[i].row], "name",
					      t->names[cells[i].row], "variable", v->name, "indicator", v->indicator,
					      "ours", isnan(cells[i].ours) ? json_null() : json_real(cells[i].ours),
					      "theirs", isnan(cells[i].theirs) ? json_null() : json_real(cells[i].theirs),
					      "difference", isnan(d) ? json_null() : json_real(d), "beyond_rounding",
					      cells[i].differ);
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		return;
	}
	const char *slash = strrchr(file, '/');
	printf("Comparaison avec les résultats du SDES au %02d/%02d/%04d (%s)\n\n", (int)(day % 100),
	       (int)(day / 100 % 100), (int)(day / 10000), slash ? slash + 1 : file);
	size_t w[6] = { 4, 7, 10, 11, 4, 5 };
	char buf[3][40];
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			const char *head[6] = { "Code", "Commune", "Variable", "Datahabitat", "SDES", "Écart" };
			for (int k = 0; k < 6; k++) {
				if (k)
					fputs("  ", stdout);
				pad(head[k], w[k], k >= 3);
			}
			putchar('\n');
		}
		for (size_t i = 0; i < n; i++) {
			const dh_sdes_variable *v = dh_sdes_variable_at(cells[i].var);
			fr_number(buf[0], sizeof(buf[0]), cells[i].ours);
			fr_number(buf[1], sizeof(buf[1]), cells[i].theirs);
			fr_number(buf[2], sizeof(buf[2]), cells[i].ours - cells[i].theirs);
			const char *col[6] = { t->codes[cells[i].row], t->names[cells[i].row], v->name, buf[0], buf[1],
					       buf[2] };
			for (int k = 0; k < 6; k++) {
				if (pass == 0) {
					size_t cw = width_of(col[k]);
					if (cw > w[k])
						w[k] = cw;
					continue;
				}
				if (k)
					fputs("  ", stdout);
				pad(col[k], w[k], k >= 3);
			}
			if (pass == 1)
				putchar('\n');
		}
	}
}

static int32_t day_of(const char *date)
{
	return (int32_t)(atoi(date) * 10000 + atoi(date + 5) * 100 + atoi(date + 8));
}

static int compare(const char *file, const char *date, const char *code, int only_diff, const char *source,
		   enum fmt fmt, const char *db, const char *ref)
{
	dh_geo *geo = NULL;
	if (cli_load_geo(ref, &geo) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	dh_error err;
	dh_error_clear(&err);
	dh_sdes_table *theirs = NULL;
	dh_store *store = NULL;
	dh_cube *cube = NULL;
	dh_cube_table *ours = NULL;
	dh_cube_sources sources = { 0 };
	char **labels = NULL;
	cell *cells = NULL;
	int exitcode = CLI_EXIT_OK;
	int rc = dh_sdes_read(file, geo, &theirs, &err);
	if (rc != DH_OK) {
		exitcode = cli_report_error(&err) == CLI_EXIT_FAILURE && rc == DH_NOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
		goto done;
	}
	exitcode = cli_open_store(db, DH_STORE_READONLY, &store);
	if (exitcode != CLI_EXIT_OK)
		goto done;
	int32_t day = date ? day_of(date) : 0;
	if (!day && (rc = dh_store_latest_reference_date(store, &day, &err)) != DH_OK) {
		exitcode = cli_report_error(&err);
		goto done;
	}
	if (!day) {
		cli_errorf("compare : la base ne contient aucune livraison acceptée (--date à donner)");
		exitcode = CLI_EXIT_USAGE;
		goto done;
	}
	rc = dh_geo_load_qpv_stored(geo, store, &err);
	sources.date = day;
	sources.source = source;
	if (rc == DH_OK)
		rc = dh_cube_open_with_sources(store, geo, NULL, &sources, &cube, NULL, &err);
	dh_cube_query q = { .level = DH_LEVEL_COMMUNE, .reference_date = day, .territory = code };
	if (rc == DH_OK)
		rc = dh_cube_query_run(cube, &q, &ours, &err);
	if (rc == DH_OK && sources.used[0])
		rc = dh_cube_table_apply_sources(cube, &q, &sources, ours, &labels, &err);
	if (rc != DH_OK) {
		exitcode = rc == DH_NOTFOUND ? (cli_report_error(&err), CLI_EXIT_USAGE) : cli_report_error(&err);
		goto done;
	}
	cells = malloc((ours->nrows * theirs->nvars + 1) * sizeof(*cells));
	if (!cells) {
		exitcode = CLI_EXIT_FAILURE;
		goto done;
	}
	size_t n = 0, compared = 0, differ = 0, missing = 0;
	for (size_t r = 0; r < ours->nrows; r++) {
		long s = dh_sdes_table_row(theirs, ours->codes[r]);
		if (s < 0) {
			missing++;
			continue;
		}
		compared++;
		for (size_t k = 0; k < theirs->nvars; k++) {
			const dh_sdes_variable *v = dh_sdes_variable_at(theirs->var[k]);
			size_t at = (size_t)s * theirs->nvars + k;
			cell c = { r, theirs->var[k], ours_of(ours, r, v), theirs->values[at], 0 };
			/* A value published with d decimals matches what rounds to it. */
			double tolerance = 0.5 * pow(10.0, -(double)theirs->decimals[at]) + 1e-9;
			c.differ = !((isnan(c.ours) && isnan(c.theirs)) || fabs(c.ours - c.theirs) <= tolerance);
			differ += c.differ;
			if (!only_diff || c.differ)
				cells[n++] = c;
		}
	}
	size_t only_theirs = 0;
	for (size_t i = 0; !code && i < theirs->nrows; i++)
		only_theirs += dh_cube_table_row(ours, theirs->codes[i]) < 0;
	print_cells(fmt, ours, cells, n, day, file);
	if (fmt == FMT_TABLE) {
		printf("\n%zu communes comparées, %zu cellules dont %zu avec un écart au-delà de l'arrondi publié",
		       compared, compared * theirs->nvars, differ);
		printf(" ; %zu de nos communes absentes du fichier, %zu communes du fichier sans données chez nous",
		       missing, only_theirs);
		if (theirs->rows_unknown)
			printf(", %llu lignes de codes inconnus", (unsigned long long)theirs->rows_unknown);
		puts(".\nÉcart = Datahabitat − SDES ; n.d. : non défini ou secret ; variables du fichier non\n"
		     "comparées : celles sans équivalent dans nos indicateurs (densite, loyers par segment...).");
	}
done:
	free(cells);
	if (ours)
		dh_cube_source_labels_free(labels, ours->nrows);
	dh_cube_table_free(ours);
	dh_cube_sources_release(&sources);
	dh_cube_release(cube);
	dh_store_close(store);
	dh_sdes_table_free(theirs);
	dh_geo_free(geo);
	return exitcode;
}

int cmd_compare(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "sdes") != 0)
		return cli_usage_error("compare", "référentiel manquant ou inconnu (sdes)", argc > 1 ? argv[1] : NULL);
	if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
		return cli_usage_error("compare", "fichier manquant", NULL);
	const char *file = argv[2];
	const char *level = NULL, *date = NULL, *code = NULL, *source = NULL, *format = "table", *db = NULL,
		   *ref = NULL;
	int only_diff = 0;
	const cli_option options[] = {
		{ "--level", &level }, { "--date", &date }, { "--code", &code }, { "--source", &source },
		{ "--format", &format }, { "--db", &db }, { "--ref", &ref }, { NULL, NULL },
	};
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--ecarts") == 0) {
			only_diff = 1;
			continue;
		}
		int r = cli_take_options(argc, argv, &i, options);
		if (r < 0)
			return cli_usage_error("compare", "option incomplète", argv[i]);
		if (r == 0)
			return cli_usage_error("compare", "argument inattendu", argv[i]);
	}
	if (!level)
		return cli_usage_error("compare", "--level commune est obligatoire", NULL);
	if (strcmp(level, "commune") != 0)
		return cli_usage_error("compare", "le SDES publie ce tableau par commune : niveau non pris en charge",
				       level);
	if (date && !dh_date_valid(date))
		return cli_usage_error("compare", "date invalide (AAAA-MM-JJ attendu)", date);
	int f = cli_output_format(format);
	if (f < 0)
		return cli_usage_error("compare", "format inconnu (table, csv ou json)", format);
	enum fmt fmt = f == CLI_FMT_CSV ? FMT_CSV : f == CLI_FMT_JSON ? FMT_JSON : FMT_TABLE;
	return compare(file, date, code, only_diff, source, fmt, db, ref);
}
