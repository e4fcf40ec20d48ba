/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_gen.c - `datahabitat gen stock`: writes a synthetic stock delivery (one RPLS file per
 * landlord, landlords.csv, faults.csv) with the core generator (gen.h).
 */
#include "cli.h"
#include "datahabitat/gen.h"
#include "datahabitat/geo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage : datahabitat gen stock --out RÉP [options]\n"
	"\n"
	"Génère un patrimoine synthétique au format RPLS : un fichier par bailleur\n"
	"(RÉP/rpls-<SIREN>.csv), la liste des bailleurs (RÉP/landlords.csv) et la liste\n"
	"des anomalies injectées (RÉP/faults.csv : file;row;column;field;code).\n"
	"Mêmes options et même graine : mêmes octets.\n"
	"\n"
	"Exemple (deux millésimes) :\n"
	"  datahabitat gen stock --region 53 --rows 180000 --landlords 20 --date 2024-01-01 --out p2024\n"
	"  datahabitat gen stock --region 53 --rows 180000 --landlords 20 --date 2025-01-01 \\\n"
	"      --evolve-from 2024-01-01 --out p2025\n"
	"\n"
	"Options :\n"
	"  --out RÉP              répertoire de sortie (créé s'il n'existe pas)\n"
	"  --region CODE|all      région (ex. 53 pour la Bretagne) ou toute la France (défaut : all)\n"
	"  --rows N               nombre total de logements (défaut : 1000)\n"
	"  --landlords K          nombre de bailleurs, un fichier chacun (défaut : 10)\n"
	"  --seed S               graine du générateur (défaut : 1)\n"
	"  --encoding ENC         utf-8 (défaut) ou latin1 (Windows-1252)\n"
	"  --layout L             rpls (liste complète des colonnes du SDES, valeur absente : NA),\n"
	"                         rpls-arrete (ligne d'en-tête de l'arrêté, 64 positions) ou\n"
	"                         rpls-opendata-dido (colonnes publiques, sans anomalies) ; sans\n"
	"                         l'option : ligne de noms des 46 champs conservés\n"
	"  --faults TAUX          part des lignes avec une anomalie, entre 0 et 1 (défaut : 0)\n"
	"  --date AAAA-MM-JJ      date de référence du patrimoine (défaut : 2025-01-01)\n"
	"  --evolve-from AAAA-MM-JJ\n"
	"                         millésime suivant : le patrimoine à --date des mêmes bailleurs,\n"
	"                         déduit de celui que produisent les mêmes options à cette date\n"
	"                         antérieure (un an exactement avant --date). Au cours de l'année :\n"
	"                         mises en service (1 à 1,5 % du parc, nouveaux programmes, LOCAT =\n"
	"                         année écoulée, dont VEFA), ventes et démolitions (0,3 à 0,5 %),\n"
	"                         nouveaux baux (~9 % des logements loués), vacance, loyers +3,5 %,\n"
	"                         DPE renouvelés (~5 %), quelques réhabilitations. Un logement sorti\n"
	"                         dans l'année figure une dernière fois avec MODE 9 et son motif\n"
	"                         (SORTIEPATRIM 1 à 5) ; ceux déjà en MODE 9 au millésime précédent\n"
	"                         n'y figurent plus. IDENT_REP et IDENT_INT d'un logement conservé\n"
	"                         sont identiques dans les deux millésimes.\n"
	"  --threads N            fils d'exécution (défaut : nombre de processeurs, 8 au plus ;\n"
	"                         le résultat ne dépend pas de ce nombre)\n"
	"  --ref RÉP              fichiers de référence géographique (défaut : $DATAHABITAT_REF\n"
	"                         ou le répertoire installé)\n"
	"  --timing               affiche la durée et le débit sur la sortie d'erreur\n"
	"  -h, --help             affiche cette aide\n";

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int parse_rate(const char *s, double *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

static int parse_date(const char *s, int *year, int *month, int *day)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	*year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*month = (s[5] - '0') * 10 + (s[6] - '0');
	*day = (s[8] - '0') * 10 + (s[9] - '0');
	return *year == 0 ? -1 : 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gen_stock(int argc, char **argv)
{
	dh_gen_options opt;
	dh_gen_options_init(&opt);
	opt.landlords = 10;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	opt.threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (unsigned)cpus;
	const char *ref_dir = NULL;
	int timing = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL;
		char name[32];
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
		if (n >= sizeof(name)) {
			cli_errorf("option inconnue : « %s »", arg);
			return CLI_EXIT_USAGE;
		}
		memcpy(name, arg, n);
		name[n] = '\0';
		if (strcmp(name, "--timing") == 0 && !eq) {
			timing = 1;
			continue;
		}
		static const char *const with_value[] = { "--out", "--region", "--rows", "--landlords", "--seed",
							  "--encoding", "--faults", "--date", "--evolve-from", "--threads",
							  "--ref", "--layout" };
		int known = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			known |= strcmp(name, with_value[k]) == 0;
		if (!known) {
			cli_errorf("option inconnue : « %s » ; voir « datahabitat gen stock --help »", arg);
			return CLI_EXIT_USAGE;
		}
		if (eq)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else {
			cli_errorf("l'option « %s » attend une valeur", name);
			return CLI_EXIT_USAGE;
		}
		uint64_t v;
		int bad = 0;
		if (strcmp(name, "--out") == 0)
			opt.out_dir = value;
		else if (strcmp(name, "--region") == 0)
			opt.region = value;
		else if (strcmp(name, "--ref") == 0)
			ref_dir = value;
		else if (strcmp(name, "--layout") == 0) {
			opt.layout = dh_layout_parse(value);
			bad = opt.layout != DH_LAYOUT_RPLS && opt.layout != DH_LAYOUT_RPLS_ARRETE &&
			      opt.layout != DH_LAYOUT_RPLS_OPENDATA_DIDO;
		}
		else if (strcmp(name, "--rows") == 0)
			bad = parse_u64(value, UINT64_C(10000000000), &opt.rows) < 0 || opt.rows == 0;
		else if (strcmp(name, "--landlords") == 0) {
			bad = parse_u64(value, 100000, &v) < 0 || v == 0;
			opt.landlords = (uint32_t)v;
		} else if (strcmp(name, "--seed") == 0)
			bad = parse_u64(value, UINT64_MAX, &opt.seed) < 0;
		else if (strcmp(name, "--threads") == 0) {
			bad = parse_u64(value, 64, &v) < 0 || v == 0;
			opt.threads = (unsigned)v;
		} else if (strcmp(name, "--faults") == 0)
			bad = parse_rate(value, &opt.fault_rate) < 0;
		else if (strcmp(name, "--date") == 0)
			bad = parse_date(value, &opt.ref_year, &opt.ref_month, &opt.ref_day) < 0;
		else if (strcmp(name, "--evolve-from") == 0)
			bad = parse_date(value, &opt.from_year, &opt.from_month, &opt.from_day) < 0;
		else if (strcmp(name, "--encoding") == 0) {
			if (strcmp(value, "utf-8") == 0 || strcmp(value, "utf8") == 0 || strcmp(value, "UTF-8") == 0)
				opt.encoding = DH_ENC_UTF8;
			else if (strcmp(value, "latin1") == 0 || strcmp(value, "windows-1252") == 0 ||
				 strcmp(value, "cp1252") == 0)
				opt.encoding = DH_ENC_WINDOWS1252;
			else
				bad = 1;
		}
		if (bad) {
			cli_errorf("valeur invalide pour %s : « %s »", name, value);
			return CLI_EXIT_USAGE;
		}
	}
	if (!opt.out_dir) {
		cli_errorf("le répertoire de sortie manque (--out RÉP)");
		return CLI_EXIT_USAGE;
	}

	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	if (dh_geo_load(&geo, ref_dir, &err) != DH_OK)
		return cli_report_error(&err);
	dh_gen_summary sum;
	double t0 = now_seconds();
	int rc = dh_gen_stock(&opt, geo, &sum, &err);
	double elapsed = now_seconds() - t0;
	dh_geo_free(geo);
	if (rc != DH_OK)
		return cli_report_error(&err);
	printf("%llu fichiers, %llu logements, %llu anomalies injectées, %llu octets dans « %s »\n",
	       (unsigned long long)sum.files, (unsigned long long)sum.rows, (unsigned long long)sum.faults,
	       (unsigned long long)sum.bytes, opt.out_dir);
	if (timing)
		fprintf(stderr, "durée : %.2f s, débit : %.1f Mo/s\n", elapsed,
			elapsed > 0 ? (double)sum.bytes / 1e6 / elapsed : 0.0);
	return CLI_EXIT_OK;
}

int cmd_gen(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "stock") == 0) {
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(usage_text, stdout);
			return CLI_EXIT_OK;
		}
		return gen_stock(argc - 1, argv + 1);
	}
	cli_errorf("« %s » n'est pas un type de données à générer (seul « stock » existe)", argv[1]);
	return CLI_EXIT_USAGE;
}
