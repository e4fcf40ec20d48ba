/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cmd_indicators.c - `datahabitat indicators`: builds the cube from the store (every
 * dwelling version with its validity) and prints the stock indicators of the registry by
 * territory at a reference date, as a table for people (French number formatting), CSV or
 * JSON (raw numbers at full precision, NaN as empty / null). `--list` prints the registry.
 * The figures come from the access layer only: dh_figures_query() for `--as LOGIN`, or
 * dh_figures_query_unrestricted() for the operator's `--unrestricted` (owner of the
 * database file, audited); one of the two is required.
 */
#include "cli.h"

#include "datahabitat/access.h"
#include "datahabitat/cube.h"
#include "datahabitat/cube_store.h"
#include "datahabitat/geo.h"
#include "datahabitat/indicators.h"
#include "datahabitat/store.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage : datahabitat indicators --level NIVEAU (--as LOGIN | --unrestricted) [options]\n"
	"        datahabitat indicators --list [--format table|csv|json]\n"
	"\n"
	"Calcule les indicateurs du parc locatif social (docs/indicators.md) par territoire à\n"
	"une date de référence, à partir de toutes les livraisons acceptées de la base : pour\n"
	"chaque organisme, le patrimoine de sa dernière livraison antérieure ou égale à la date.\n"
	"\n"
	"Options :\n"
	"  --level NIVEAU        commune, epci, departement, region, qpv, landlord (ou bailleur),\n"
	"                        all (ensemble)\n"
	"  --code C              un seul territoire (code COG, SIREN d'EPCI ou de bailleur, QPV)\n"
	"  --indicator ID,...    indicateurs voulus (défaut : tous ; voir --list)\n"
	"  --where F=V,...       filtres sur les logements, par exemple TYPECONST=C,FINAN=10,11\n"
	"                        ou CONSTRUCT=1970..1989 (V- : absent, V* : renseigné)\n"
	"  --date AAAA-MM-JJ     date de référence (défaut : la plus récente des livraisons et\n"
	"                        des sources de référence)\n"
	"  --source NOM          où adhérents et source de référence (open data, « import\n"
	"                        --source ») couvrent tous deux une commune, prendre la source NOM\n"
	"                        (défaut : les adhérents ; la source la plus récente ailleurs).\n"
	"                        Une colonne « source » dit alors d'où vient chaque ligne ; les\n"
	"                        indicateurs d'activité sont indéfinis là où la source intervient\n"
	"  --format F            table (défaut, pour la lecture), csv ou json (nombres bruts,\n"
	"                        taux en pourcentage à pleine précision, valeur indéfinie vide / null)\n"
	"  --list                liste des indicateurs : id, libellé, unité, sensibilité\n"
	"  --as LOGIN            ce que l'utilisateur LOGIN a le droit de voir (« public » : le\n"
	"                        public anonyme) : conventions de partage et secret statistique\n"
	"                        appliqués ; cellules masquées « secret » (JSON), vides avec une\n"
	"                        colonne <id>_secret à 1 (CSV)\n"
	"  --unrestricted        mode opérateur : tous les chiffres, sans convention ni secret\n"
	"                        statistique ; réservé au propriétaire du fichier de la base,\n"
	"                        inscrit au journal d'audit\n"
	"  --db CHEMIN           base (défaut : $DATAHABITAT_DB, sinon ./datahabitat.db)\n"
	"  --ref DIR             dossier des fichiers de référence (géographie)\n"
	"  -h, --help            cette aide\n"
	"\n"
	"Statut de sortie : 0 succès, 2 usage incorrect, territoire ou date sans données,\n"
	"3 erreur de la base, 4 accès refusé.\n";

enum out_format { FMT_TABLE, FMT_CSV, FMT_JSON };

/* ---- numbers ---- */

/* Shortest "%.Ng" text that reads back to exactly v (full precision, no noise digits).
 * Whole numbers below 10^15 (every count) are what "%.15g" prints, written directly: a
 * national commune table holds about a million of them. */
static void format_raw(char *buf, size_t size, double v)
{
	if (v == floor(v) && fabs(v) < 1e15 && size >= 18 && !(v == 0 && signbit(v))) {
		char tmp[24];
		size_t n = 0, o = 0;
		uint64_t u = (uint64_t)fabs(v);
		do {
			tmp[n++] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (v < 0)
			buf[o++] = '-';
		while (n)
			buf[o++] = tmp[--n];
		buf[o] = '\0';
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* French display: decimal comma, narrow no-break space (U+202F) between thousands. */
static void format_fr(char *buf, size_t size, double v, int decimals)
{
	if (isnan(v)) {
		snprintf(buf, size, "n.d.");
		return;
	}
	char raw[64];
	if (v == floor(v) && fabs(v) < 1e15 && !decimals)
		format_raw(raw, sizeof(raw), v); /* a whole number: what "%.0f" prints */
	else
		snprintf(raw, sizeof(raw), "%.*f", decimals, v);
	const char *p = raw;
	size_t o = 0;
	if (*p == '-')
		buf[o++] = *p++;
	size_t intlen = strcspn(p, ".");
	for (size_t i = 0; i < intlen && o + 4 < size; i++) {
		if (i && (intlen - i) % 3 == 0) {
			buf[o++] = '\xe2';
			buf[o++] = '\x80';
			buf[o++] = '\xaf';
		}
		buf[o++] = p[i];
	}
	if (p[intlen] == '.' && o + 1 < size) {
		buf[o++] = ',';
		for (const char *q = p + intlen + 1; *q && o + 1 < size; q++)
			buf[o++] = *q;
	}
	buf[o] = '\0';
}

static int display_decimals(const dh_indicator *ind)
{
	switch (ind->unit) {
	case DH_UNIT_LOGEMENTS:
		return ind->kind == DH_IND_COUNT ? 0 : 1;
	case DH_UNIT_EUR_M2:
		return 2;
	case DH_UNIT_EUR:
	case DH_UNIT_M2:
		return 0;
	case DH_UNIT_PCT:
	case DH_UNIT_ANNEES:
		return 1;
	}
	return 2;
}

/* Characters shown on a terminal for UTF-8 text (code points; enough for our labels). */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static void print_padded(const char *s, size_t width, int right)
{
	size_t w = display_width(s);
	if (right)
		for (size_t i = w; i < width; i++)
			putchar(' ');
	fputs(s, stdout);
	if (!right)
		for (size_t i = w; i < width; i++)
			putchar(' ');
}

/* ---- output of a result table ---- */

static void print_csv(const dh_cube_table *t, const uint8_t *status, char *const *sources)
{
	fputs(sources ? "code,name,source" : "code,name", stdout);
	for (size_t c = 0; c < t->ncols; c++)
		printf(",%s", t->columns[c]->id);
	for (size_t c = 0; status && c < t->ncols; c++)
		printf(",%s_secret", t->columns[c]->id);
	putchar('\n');
	char num[64];
	for (size_t r = 0; r < t->nrows; r++) {
		cli_print_csv_field(stdout, t->codes[r], strlen(t->codes[r]), ',');
		putchar(',');
		cli_print_csv_field(stdout, t->names[r], strlen(t->names[r]), ',');
		if (sources) {
			putchar(',');
			cli_print_csv_field(stdout, sources[r], strlen(sources[r]), ',');
		}
		for (size_t c = 0; c < t->ncols; c++) {
			putchar(',');
			double v = dh_cube_table_value(t, r, c);
			if (!isnan(v) && !(status && status[r * t->ncols + c])) {
				format_raw(num, sizeof(num), v);
				fputs(num, stdout);
			}
		}
		for (size_t c = 0; status && c < t->ncols; c++)
			fputs(status[r * t->ncols + c] ? ",1" : ",0", stdout);
		putchar('\n');
	}
}

static json_t *json_value(const dh_indicator *ind, double v)
{
	if (isnan(v) || isinf(v))
		return json_null();
	if (ind->kind == DH_IND_COUNT && v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static int print_json(const dh_cube_table *t, const uint8_t *status, char *const *sources)
{
	json_t *arr = json_array();
	if (!arr)
		return DH_NOMEM;
	for (size_t r = 0; r < t->nrows; r++) {
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return DH_NOMEM;
		}
		json_object_set_new(o, "code", cli_json_text(t->codes[r]));
		json_object_set_new(o, "name", cli_json_text(t->names[r]));
		if (sources)
			json_object_set_new(o, "source", cli_json_text(sources[r]));
		for (size_t c = 0; c < t->ncols; c++)
			json_object_set_new(o, t->columns[c]->id,
					    status && status[r * t->ncols + c]
						    ? json_string("secret")
						    : json_value(t->columns[c], dh_cube_table_value(t, r, c)));
	}
	/* jansson writes reals with 17 significant digits: they read back to the same double. */
	int rc = json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? DH_OK : DH_IO;
	putchar('\n');
	json_decref(arr);
	return rc;
}

/* The cells of a table as text, in one arena (a national commune table has 1.8 M cells). */
typedef struct cell_text {
	char *arena;
	size_t len, cap;
	size_t *off;     /* per cell: offset of its text in arena */
	uint32_t *width; /* per cell: characters shown */
} cell_text;

static int cell_put(cell_text *ct, size_t cell, const char *text)
{
	size_t n = strlen(text) + 1;
	if (ct->len + n > ct->cap) {
		size_t cap = ct->cap ? ct->cap * 2 : 1u << 20;
		while (cap < ct->len + n)
			cap *= 2;
		char *a = realloc(ct->arena, cap);
		if (!a)
			return DH_NOMEM;
		ct->arena = a;
		ct->cap = cap;
	}
	memcpy(ct->arena + ct->len, text, n);
	ct->off[cell] = ct->len;
	ct->width[cell] = (uint32_t)display_width(text);
	ct->len += n;
	return DH_OK;
}

/* Append s, padded with spaces to `width` characters (on the left when right), to line. */
static char *pad_into(char *line, const char *s, size_t len, size_t shown, size_t width, int right)
{
	size_t pad = width > shown ? width - shown : 0;
	if (right) {
		memset(line, ' ', pad);
		line += pad;
	}
	memcpy(line, s, len);
	line += len;
	if (!right) {
		memset(line, ' ', pad);
		line += pad;
	}
	return line;
}

static int print_table(const dh_cube_table *t, const uint8_t *status, char *const *sources,
		       dh_level level, int32_t date)
{
	/* Columns: code, name, the source when one was used, then the indicators. */
	size_t lead = sources ? 3 : 2, ncols = t->ncols + lead;
	size_t ncells = (t->nrows + 1) * ncols;
	cell_text ct = { .off = malloc(ncells * sizeof(size_t)),
			 .width = malloc(ncells * sizeof(uint32_t)) };
	size_t *width = calloc(ncols, sizeof(*width));
	int rc = ct.off && ct.width && width ? DH_OK : DH_NOMEM;
	/* Header then rows, every cell as text, to size the columns. */
	for (size_t r = 0; r <= t->nrows && rc == DH_OK; r++) {
		for (size_t c = 0; c < ncols && rc == DH_OK; c++) {
			char buf[128];
			const char *text;
			if (r == 0)
				text = c == 0 ? "Code" : c == 1 ? "Territoire" : c < lead ? "Source"
											  : t->columns[c - lead]->id;
			else if (c == 0)
				text = t->codes[r - 1][0] ? cli_text(t->codes[r - 1]) : "—";
			else if (c == 1)
				text = cli_text(t->names[r - 1]);
			else if (c < lead)
				text = cli_text(sources[r - 1]);
			else {
				const dh_indicator *ind = t->columns[c - lead];
				if (status && status[(r - 1) * t->ncols + (c - lead)])
					snprintf(buf, sizeof(buf), "secret");
				else
					format_fr(buf, sizeof(buf), dh_cube_table_value(t, r - 1, c - lead),
						  display_decimals(ind));
				text = buf;
			}
			size_t cell = r * ncols + c;
			rc = cell_put(&ct, cell, text);
			if (rc == DH_OK && ct.width[cell] > width[c])
				width[c] = ct.width[cell];
		}
	}
	size_t line_cap = 2;
	for (size_t c = 0; c < ncols; c++)
		line_cap += 2 + width[c] * 4; /* a shown character is at most 4 bytes */
	char *line = rc == DH_OK ? malloc(line_cap) : NULL;
	if (rc == DH_OK && !line)
		rc = DH_NOMEM;
	if (rc == DH_OK) {
		static const char *const level_fr[] = { "ensemble", "commune", "EPCI", "département",
							"région", "QPV", "bailleur" };
		const char *by = (unsigned)level < sizeof(level_fr) / sizeof(level_fr[0]) ? level_fr[level] : "?";
		printf("Indicateurs par %s au %02d/%02d/%04d\n\n", by, (int)(date % 100),
		       (int)(date / 100 % 100), (int)(date / 10000));
		for (size_t r = 0; r <= t->nrows; r++) {
			char *o = line;
			for (size_t c = 0; c < ncols; c++) {
				size_t cell = r * ncols + c;
				const char *text = ct.arena + ct.off[cell];
				if (c) {
					*o++ = ' ';
					*o++ = ' ';
				}
				o = pad_into(o, text, strlen(text), ct.width[cell], width[c], c >= lead);
			}
			*o++ = '\n';
			fwrite(line, 1, (size_t)(o - line), stdout);
		}
		fputs("\n", stdout);
		for (size_t c = 0; c < t->ncols; c++)
			printf("%s : %s (%s)\n", t->columns[c]->id, t->columns[c]->label,
			       dh_unit_label(t->columns[c]->unit));
		fputs("n.d. : non défini (dénominateur nul)\n", stdout);
		if (status)
			fputs("secret : secret statistique (cellule masquée)\n", stdout);
		if (sources)
			fputs("Source : données des adhérents ou source de référence (open data, sans\n"
			      "identité de bailleur) ; là où la source intervient, les indicateurs d'activité\n"
			      "sont n.d.\n", stdout);
	}
	free(line);
	free(ct.arena);
	free(ct.off);
	free(ct.width);
	free(width);
	return rc;
}

/* ---- the registry ---- */

static int print_list(enum out_format fmt)
{
	size_t n = dh_indicator_count();
	if (fmt == FMT_JSON) {
		json_t *arr = json_array();
		if (!arr)
			return DH_NOMEM;
		for (size_t i = 0; i < n; i++) {
			const dh_indicator *ind = dh_indicator_at(i);
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ind->id, "label", ind->label,
					      "family", ind->family, "unit", dh_unit_label(ind->unit),
					      "sensitivity", dh_sensitivity_label(ind->sensitivity));
			if (!o || json_array_append_new(arr, o) != 0) {
				json_decref(arr);
				return DH_NOMEM;
			}
		}
		int rc = json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? DH_OK : DH_IO;
		putchar('\n');
		json_decref(arr);
		return rc;
	}
	if (fmt == FMT_CSV) {
		fputs("id,label,family,unit,sensitivity\n", stdout);
		for (size_t i = 0; i < n; i++) {
			const dh_indicator *ind = dh_indicator_at(i);
			const char *f[] = { ind->id, ind->label, ind->family, dh_unit_label(ind->unit),
					    dh_sensitivity_label(ind->sensitivity) };
			for (size_t k = 0; k < 5; k++) {
				if (k)
					putchar(',');
				cli_print_csv_field(stdout, f[k], strlen(f[k]), ',');
			}
			putchar('\n');
		}
		return DH_OK;
	}
	size_t wid = 2, wlab = 7, wunit = 5;
	for (size_t i = 0; i < n; i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		size_t w;
		if ((w = display_width(ind->id)) > wid)
			wid = w;
		if ((w = display_width(ind->label)) > wlab)
			wlab = w;
		if ((w = display_width(dh_unit_label(ind->unit))) > wunit)
			wunit = w;
	}
	print_padded("id", wid, 0);
	fputs("  ", stdout);
	print_padded("libellé", wlab, 0);
	fputs("  ", stdout);
	print_padded("unité", wunit, 0);
	fputs("  sensibilité\n", stdout);
	for (size_t i = 0; i < n; i++) {
		const dh_indicator *ind = dh_indicator_at(i);
		print_padded(ind->id, wid, 0);
		fputs("  ", stdout);
		print_padded(ind->label, wlab, 0);
		fputs("  ", stdout);
		print_padded(dh_unit_label(ind->unit), wunit, 0);
		printf("  %s\n", dh_sensitivity_label(ind->sensitivity));
	}
	return DH_OK;
}

/* ---- options ---- */

/*
 * Split "--where" text in place into filters: a comma followed by a segment with '='
 * starts a new filter, other commas belong to the current one's set ("FINAN=10,11").
 * Returns DH_OK or the parse error (err set).
 */
static int parse_where(char *text, dh_predicate *filters, size_t *nfilters, dh_error *err)
{
	char *start = text;
	while (start) {
		char *next = NULL;
		for (char *p = strchr(start, ','); p; p = strchr(p + 1, ',')) {
			size_t seg = strcspn(p + 1, ",");
			if (memchr(p + 1, '=', seg)) {
				*p = '\0';
				next = p + 1;
				break;
			}
		}
		if (*nfilters == DH_CUBE_MAX_FILTERS)
			return dh_error_set(err, DH_INVAL, "au plus %d filtres", DH_CUBE_MAX_FILTERS);
		int rc = dh_cube_filter_parse(start, &filters[*nfilters], err);
		if (rc != DH_OK)
			return rc;
		++*nfilters;
		start = next;
	}
	return DH_OK;
}

/* Positions of the indicators named in "id,id,..." into *out (malloc'ed). */
static int parse_indicators(const char *list, int **out, size_t *n, const char **bad)
{
	size_t cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	int *pos = malloc(cap * sizeof(*pos));
	if (!pos)
		return DH_NOMEM;
	size_t k = 0;
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ",");
		int i = dh_indicator_find((dh_str){ p, len });
		if (i < 0) {
			*bad = p;
			free(pos);
			return DH_NOTFOUND;
		}
		pos[k++] = i;
		if (!p[len])
			break;
		p += len + 1;
	}
	*out = pos;
	*n = k;
	return DH_OK;
}

/* Keep in *ctx (int32_t yyyymmdd) the latest date of the reference sources. */
static int latest_source_date(void *ctx, const dh_reference_source *src)
{
	int32_t *day = ctx;
	const char *s = src->reference_date;
	int32_t d = (int32_t)(atoi(s) * 10000 + atoi(s + 5) * 100 + atoi(s + 8));
	if (d > *day)
		*day = d;
	return DH_OK;
}

static int32_t day_of(const char *date)
{
	return (int32_t)(atoi(date) * 10000 + atoi(date + 5) * 100 + atoi(date + 8));
}

int cmd_indicators(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	const char *db = NULL, *level_name = NULL, *code = NULL, *ind_list = NULL, *where = NULL;
	const char *date = NULL, *format = "table", *ref = NULL, *as = NULL, *source = NULL;
	int list = 0, unrestricted = 0;
	const cli_option options[] = {
		{ "--db", &db },
		{ "--level", &level_name },
		{ "--code", &code },
		{ "--indicator", &ind_list },
		{ "--where", &where },
		{ "--date", &date },
		{ "--format", &format },
		{ "--ref", &ref },
		{ "--as", &as },
		{ "--source", &source },
		{ NULL, NULL },
	};
	for (int i = 1; i < argc; i++) {
		int r;
		if (strcmp(argv[i], "--list") == 0) {
			list = 1;
			continue;
		}
		if (strcmp(argv[i], "--unrestricted") == 0) {
			unrestricted = 1;
			continue;
		}
		if ((r = cli_take_options(argc, argv, &i, options))) {
			if (r < 0)
				return cli_usage_error("indicators", "option incomplète", argv[i]);
			continue;
		}
		return cli_usage_error("indicators", "argument inattendu", argv[i]);
	}
	int f = cli_output_format(format);
	if (f < 0)
		return cli_usage_error("indicators", "format inconnu (table, csv ou json)", format);
	enum out_format fmt = f == CLI_FMT_CSV ? FMT_CSV : f == CLI_FMT_JSON ? FMT_JSON : FMT_TABLE;
	if (list) {
		if (level_name || code || ind_list || where || date || as || unrestricted)
			return cli_usage_error("indicators", "--list ne se combine qu'avec --format", NULL);
		int rc = print_list(fmt);
		return rc == DH_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	if (!level_name)
		return cli_usage_error("indicators", "--level NIVEAU est obligatoire", NULL);
	int level = dh_level_find((dh_str){ level_name, strlen(level_name) });
	if (level < 0)
		return cli_usage_error("indicators", "niveau inconnu", level_name);
	if (date && !dh_date_valid(date))
		return cli_usage_error("indicators", "date invalide (AAAA-MM-JJ attendu)", date);
	if (source && as)
		return cli_usage_error("indicators", "--source ne se combine pas avec --as (données des adhérents seules)",
				       NULL);
	if (code && level == DH_LEVEL_ALL)
		return cli_usage_error("indicators", "--code n'a pas de sens avec le niveau", level_name);
	if (!as && !unrestricted)
		return cli_usage_error("indicators", "précisez pour qui : --as LOGIN (ce que LOGIN a le "
						     "droit de voir, « public » pour tous) ou --unrestricted "
						     "(mode opérateur, propriétaire de la base)", NULL);
	if (as && unrestricted)
		return cli_usage_error("indicators", "--as et --unrestricted s'excluent", NULL);

	dh_error err;
	dh_error_clear(&err);
	int *positions = NULL;
	size_t npositions = 0;
	if (ind_list) {
		const char *bad = NULL;
		int rc = parse_indicators(ind_list, &positions, &npositions, &bad);
		if (rc == DH_NOMEM)
			return cli_report_error(&(dh_error){ .code = DH_NOMEM });
		if (rc != DH_OK) {
			size_t len = strcspn(bad, ",");
			char id[64];
			snprintf(id, sizeof(id), "%.*s", (int)(len < 60 ? len : 60), bad);
			return cli_usage_error("indicators", "indicateur inconnu (voir --list)", id);
		}
		/* bounded, each once: one column per indicator */
		if (dh_indicator_list_check(positions, npositions, &err) != DH_OK) {
			free(positions);
			return cli_usage_error("indicators", err.message, NULL);
		}
	}
	dh_predicate filters[DH_CUBE_MAX_FILTERS];
	size_t nfilters = 0;
	char *where_copy = NULL;
	if (where) {
		where_copy = strdup(where);
		if (!where_copy || parse_where(where_copy, filters, &nfilters, &err) != DH_OK) {
			free(positions);
			free(where_copy);
			if (!where_copy)
				return CLI_EXIT_FAILURE;
			return cli_usage_error("indicators", err.message, NULL);
		}
	}

	int exitcode = CLI_EXIT_OK;
	dh_geo *geo = NULL;
	dh_store *store = NULL;
	dh_cube *cube = NULL;
	dh_figures_result *figures = NULL;
	dh_cube_sources sources = { 0 };
	int rc = dh_geo_load(&geo, ref ? ref : dh_geo_default_dir(), &err);
	if (rc != DH_OK) {
		cli_report_error(&err);
		exitcode = CLI_EXIT_FAILURE;
		goto done;
	}
	/* both modes write the audit chain: not read-only */
	exitcode = cli_open_store(db, 0u, &store);
	if (exitcode != CLI_EXIT_OK)
		goto done;
	rc = dh_geo_load_qpv_stored(geo, store, &err); /* names of the QPV (qpv load) */
	if (rc != DH_OK) {
		exitcode = cli_report_error(&err);
		goto done;
	}
	int32_t day = 0;
	if (date) {
		day = day_of(date);
	} else {
		rc = dh_store_latest_reference_date(store, &day, &err);
		if (rc == DH_OK && !as)
			rc = dh_store_ref_list(store, latest_source_date, &day, &err);
		if (rc != DH_OK) {
			exitcode = cli_report_error(&err);
			goto done;
		}
		if (day == 0) {
			cli_errorf("indicators : la base ne contient aucune livraison acceptée");
			exitcode = CLI_EXIT_USAGE;
			goto done;
		}
	}
	/* The governed view (--as) reads members' data only; otherwise a reference source
	 * (open data) fills the communes no member covers at the date (or those --source takes). */
	sources.date = day;
	sources.source = source;
	/* The cube comes from its snapshot (<db>.cube) when that reflects the store, else it is
	 * built and the snapshot rewritten for the next call. */
	rc = as ? dh_cube_open_snapshot(store, geo, NULL, &cube, NULL, &err)
		: dh_cube_open_with_sources(store, geo, NULL, &sources, &cube, NULL, &err);
	if (rc != DH_OK) {
		exitcode = rc == DH_NOTFOUND ? (cli_report_error(&err), CLI_EXIT_USAGE) : cli_report_error(&err);
		goto done;
	}
	dh_figures_request fr = {
		.level = (dh_level)level,
		.reference_date = day,
		.territory = code,
		.filters = nfilters ? filters : NULL,
		.nfilters = nfilters,
		.indicators = positions,
		.nindicators = npositions,
		.sources = as ? NULL : &sources,
	};
	if (as) {
		dh_identity who;
		rc = dh_identity_of_user(store, as, &who, &err);
		if (rc == DH_NOTFOUND && strcmp(as, "public") == 0) {
			dh_identity_public(&who);
			dh_error_clear(&err);
			rc = DH_OK;
		}
		if (rc != DH_OK) {
			exitcode = cli_report_error(&err);
			goto done;
		}
		rc = dh_figures_query(store, geo, cube, &who, &fr, &figures, &err);
	} else {
		dh_actor actor = cli_actor();
		rc = dh_figures_query_unrestricted(store, cube, &actor, &fr, &figures, &err);
	}
	if (rc != DH_OK) {
		exitcode = cli_report_error(&err);
		goto done;
	}
	dh_cube_table view = { .nrows = figures->nrows, .ncols = figures->ncols,
			       .columns = figures->columns, .codes = figures->codes,
			       .names = figures->names, .values = figures->values };
	const uint8_t *status = figures->own ? NULL : figures->status;
	char *const *labels = figures->sources;
	if (fmt == FMT_CSV)
		print_csv(&view, status, labels);
	else if (fmt == FMT_JSON)
		rc = print_json(&view, status, labels);
	else
		rc = print_table(&view, status, labels, (dh_level)level, day);
	if (rc == DH_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = DH_IO;
	if (rc != DH_OK) {
		cli_errorf("indicators : écriture du résultat impossible");
		exitcode = CLI_EXIT_FAILURE;
	}
done:
	dh_cube_sources_release(&sources);
	dh_figures_result_free(figures);
	dh_cube_release(cube);
	dh_store_close(store);
	dh_geo_free(geo);
	free(positions);
	free(where_copy);
	return exitcode;
}
