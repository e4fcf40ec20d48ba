/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_validate.c - `datahabitat validate FILE`: checks a stock file against the RPLS rules
 * and the reference geography, and prints the report (text, JSON or CSV) on stdout.
 * Exit status: 0 no error (warnings allowed), 1 errors found, 2 usage error or unreadable
 * file, 3 internal failure (reference geography, memory).
 */
#include "cli.h"

#include "datahabitat/geo.h"
#include "datahabitat/report.h"
#include "datahabitat/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_ERRORS 100

static const char usage_text[] =
	"usage : datahabitat validate FICHIER [options]\n"
	"\n"
	"Vérifie un fichier de patrimoine (RPLS) : format, codes, dates, cohérence entre champs,\n"
	"communes du COG, identifiants en double. FICHIER « - » lit l'entrée standard.\n"
	"\n"
	"Options :\n"
	"  --layout L          format : auto (défaut, d'après les premières lignes), rpls-arrete\n"
	"                      (fichier de l'arrêté du 5 janvier 2010), rpls (en-tête de noms\n"
	"                      de colonnes), rpls-opendata-2017, rpls-opendata (2018-2022),\n"
	"                      rpls-opendata-dido (2023 et après)\n"
	"  --format F          rapport : text (défaut), json, csv\n"
	"  --max-errors N      nombre maximal de problèmes détaillés (défaut 100 ; 0 : aucun) ;\n"
	"                      les comptes par règle restent complets\n"
	"  --encoding E        auto (défaut), utf-8, windows-1252\n"
	"  --delimiter C       séparateur : ';', ',', '|' ou tab (défaut : détecté)\n"
	"  --reference-year A  année de référence des dates (défaut : l'année en cours)\n"
	"  --ref DIR           dossier des fichiers de référence (défaut : $DATAHABITAT_REF\n"
	"                      ou le dossier installé)\n"
	"  -h, --help          cette aide\n"
	"\n"
	"Statut de sortie : 0 aucune erreur (avertissements possibles), 1 erreurs trouvées,\n"
	"2 usage incorrect ou fichier illisible, 3 erreur interne.\n";

typedef enum out_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV } out_format;

static int usage_error(const char *what, const char *arg)
{
	if (arg)
		cli_errorf("validate : %s « %s »", what, arg);
	else
		cli_errorf("validate : %s", what);
	fputs("voir « datahabitat validate --help »\n", stderr);
	return CLI_EXIT_USAGE;
}

/* Non-negative integer in [min, max]; 1 on success. */
static int parse_count(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	if (!s[0] || s[0] == '-' || s[0] == '+')
		return 0;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x < min || x > max)
		return 0;
	*out = x;
	return 1;
}

static int parse_delimiter(const char *s, char *out)
{
	if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "\t") == 0) {
		*out = '\t';
		return 1;
	}
	if (strlen(s) == 1 && (s[0] == ';' || s[0] == ',' || s[0] == '|')) {
		*out = s[0];
		return 1;
	}
	return 0;
}

static int parse_encoding(const char *s, dh_encoding *out)
{
	if (strcmp(s, "auto") == 0)
		*out = DH_ENC_AUTO;
	else if (strcmp(s, "utf-8") == 0 || strcmp(s, "utf8") == 0)
		*out = DH_ENC_UTF8;
	else if (strcmp(s, "windows-1252") == 0 || strcmp(s, "cp1252") == 0 || strcmp(s, "latin1") == 0 ||
		 strcmp(s, "iso-8859-1") == 0)
		*out = DH_ENC_WINDOWS1252;
	else
		return 0;
	return 1;
}

int cmd_validate(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	dh_validate_options opt = { 0 };
	out_format format = FORMAT_TEXT;
	unsigned long long max_errors = DEFAULT_MAX_ERRORS;
	const char *path = NULL, *ref_dir = NULL;
	int only_files = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
			if (path)
				return usage_error("un seul fichier attendu, en trop :", a);
			path = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_files = 1;
			continue;
		}
		/* --name value or --name=value */
		char name[32];
		const char *value = NULL;
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name))
			return usage_error("option inconnue", a);
		memcpy(name, a, nlen);
		name[nlen] = '\0';
		static const char *const with_value[] = { "--layout",   "--format",         "--max-errors", "--encoding",
							  "--delimiter", "--reference-year", "--ref" };
		int known = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			known |= strcmp(name, with_value[k]) == 0;
		if (!known)
			return usage_error("option inconnue", a);
		if (eq) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return usage_error("valeur manquante après", name);
			value = argv[++i];
		}
		if (strcmp(name, "--layout") == 0) {
			int l = dh_layout_parse(value);
			if (l < 0)
				return usage_error("format inconnu (auto, rpls, rpls-opendata) :", value);
			opt.layout = (dh_layout)l;
		} else if (strcmp(name, "--format") == 0) {
			if (strcmp(value, "text") == 0)
				format = FORMAT_TEXT;
			else if (strcmp(value, "json") == 0)
				format = FORMAT_JSON;
			else if (strcmp(value, "csv") == 0)
				format = FORMAT_CSV;
			else
				return usage_error("format de rapport inconnu (text, json, csv) :", value);
		} else if (strcmp(name, "--max-errors") == 0) {
			if (!parse_count(value, 0, 100000000, &max_errors))
				return usage_error("--max-errors attend un entier positif ou nul, reçu", value);
		} else if (strcmp(name, "--encoding") == 0) {
			if (!parse_encoding(value, &opt.csv.encoding))
				return usage_error("encodage inconnu (auto, utf-8, windows-1252) :", value);
		} else if (strcmp(name, "--delimiter") == 0) {
			if (!parse_delimiter(value, &opt.csv.delimiter))
				return usage_error("séparateur non pris en charge (;  ,  |  tab) :", value);
		} else if (strcmp(name, "--reference-year") == 0) {
			unsigned long long y;
			if (!parse_count(value, 1800, 9999, &y))
				return usage_error("--reference-year attend une année de 1800 à 9999, reçu", value);
			opt.reference_year = (int)y;
		} else {
			ref_dir = value;
		}
	}
	if (!path)
		return usage_error("fichier à valider manquant", NULL);

	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	int rc = dh_geo_load(&geo, ref_dir ? ref_dir : dh_geo_default_dir(), &err);
	if (rc != DH_OK) {
		cli_errorf("chargement de la géographie de référence impossible");
		cli_report_error(&err);
		return CLI_EXIT_FAILURE;
	}
	dh_report *report = NULL;
	if (dh_report_new(&report, (size_t)max_errors) != DH_OK) {
		dh_geo_free(geo);
		cli_errorf("mémoire insuffisante");
		return CLI_EXIT_FAILURE;
	}
	dh_validate_callbacks cb = { .on_issue = dh_report_on_issue, .ctx = report };
	dh_validate_stats stats;
	rc = dh_validate_file(path, &opt, geo, &cb, &stats, &err);

	int status;
	if (rc == DH_OK || rc == DH_INVALID_DATA) {
		int wrc = dh_report_set_stats(report, strcmp(path, "-") == 0 ? "<stdin>" : path, &stats);
		if (wrc == DH_OK) {
			if (format == FORMAT_JSON)
				wrc = dh_report_write_json(report, stdout);
			else if (format == FORMAT_CSV)
				wrc = dh_report_write_csv(report, stdout);
			else
				wrc = dh_report_write_text(report, stdout);
		}
		if (fflush(stdout) != 0)
			wrc = DH_IO;
		if (wrc != DH_OK) {
			cli_errorf("écriture du rapport impossible : %s", dh_result_message(wrc));
			status = CLI_EXIT_FAILURE;
		} else {
			status = rc == DH_OK && stats.errors == 0 ? CLI_EXIT_OK : CLI_EXIT_INVALID;
		}
	} else {
		if (!err.file[0])
			dh_strlcpy(err.file, sizeof(err.file), path);
		cli_report_error(&err);
		status = rc == DH_IO || rc == DH_NOTFOUND || rc == DH_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
	}
	dh_validate_stats_release(&stats);
	dh_report_free(report);
	dh_geo_free(geo);
	return status;
}
