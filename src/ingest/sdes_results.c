/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * sdes_results.c - reads SDES's published RPLS results by commune (sdes.h): finds the row of
 * technical column names under the group labels, maps the known variables to our
 * indicators, parses French numbers, and folds arrondissements into their commune.
 */
#include "datahabitat/csv.h"
#include "datahabitat/sdes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SEARCH_ROWS 20
#define HEAD_BYTES 65536

/*
 * SDES's names (COMMUNES sheet of resultats_rpls_2020..2024) and, after them, the names of
 * the commune table of the DREAL package propre.rpls (tab_result: nb_ls_actif, nb_ls_loue...),
 * which some regions publish instead. Age and DPE columns are read as counts of dwellings.
 */
static const dh_sdes_variable variables[] = {
	{ "nb_ls", "nb_ls", NULL, 1 },
	{ "parc_non_conv", "parc_non_conv", NULL, 1 },
	{ "nb_lgt_tot", "nb_lgt_tot", NULL, 1 },
	{ "nb_loues", "loues", NULL, 1 },
	{ "nb_vacants", "vacants", NULL, 1 },
	{ "nb_vides", "vides", NULL, 1 },
	{ "nb_asso", "asso", NULL, 1 },
	{ "nb_occup_finan", "autres", NULL, 1 },
	{ "nb_ls_en_qpv", "part_qpv", "nb_ls", 1 },
	{ "nb_ls_individuels", "part_individuel", "nb_ls", 1 },
	{ "nb_ls_collectifs", "part_collectif", "nb_ls", 1 },
	{ "nb_ls_1piece", "nb_p1", NULL, 1 },
	{ "nb_ls_2piece", "nb_p2", NULL, 1 },
	{ "nb_ls_3piece", "nb_p3", NULL, 1 },
	{ "nb_ls_4piece", "nb_p4", NULL, 1 },
	{ "nb_ls_5piece_plus", "nb_p5p", NULL, 1 },
	{ "nb_ls_plai", "fin_plai", NULL, 1 },
	{ "nb_ls_plus_ap_77", "fin_plus", NULL, 1 },
	{ "nb_ls_plus_av_77", "fin_plus_av77", NULL, 1 },
	{ "nb_ls_pls", "fin_pls", NULL, 1 },
	{ "nb_ls_pli", "fin_pli", NULL, 1 },
	{ "nv_mes", "mes", NULL, 1 },
	{ "nb_ls_const_org", "mes_construits", NULL, 1 },
	{ "nb_ls_av_trav", "mes_acq_travaux", NULL, 1 },
	{ "nb_ls_ss_trav", "mes_acq_sans_travaux", NULL, 1 },
	{ "nb_ls_vefa", "mes_vefa", NULL, 1 },
	{ "nb_ls_vendu_occupant", "sortie_vente_locataire", NULL, 1 },
	{ "nb_ls_vendu_autre_bailleur", "sortie_vente_bailleur", NULL, 1 },
	{ "nb_ls_autre_vente", "sortie_autre_vente", NULL, 1 },
	{ "nb_ls_demolition", "sortie_demolition", NULL, 1 },
	{ "nb_ls_sortie_autre_motif", "sortie_autre", NULL, 1 },
	{ "nb_ls_chgt_usage", "sortie_chgt_usage", NULL, 1 },
	{ "nb_ls_fusion_scission", "sortie_fusion_scission", NULL, 1 },
	{ "age", "age_moyen", NULL, 0 },
	{ "age_inf_5", "age_lt5", NULL, 1 },
	{ "age_5_10", "age_5_10", NULL, 1 },
	{ "age_10_20", "age_10_20", NULL, 1 },
	{ "age_20_40", "age_20_40", NULL, 1 },
	{ "age_40_60", "age_40_60", NULL, 1 },
	{ "age_60_plus", "age_ge60", NULL, 1 },
	{ "tx_vac", "tx_vac", NULL, 0 },
	{ "tx_vac3", "tx_vac3", NULL, 0 },
	{ "tx_mob", "tx_mob", NULL, 0 },
	{ "loymoy", "loyer_m2", NULL, 0 },
	{ "ener_A", "dpe_e_a", NULL, 1 },
	{ "ener_B", "dpe_e_b", NULL, 1 },
	{ "ener_C", "dpe_e_c", NULL, 1 },
	{ "ener_D", "dpe_e_d", NULL, 1 },
	{ "ener_E", "dpe_e_e", NULL, 1 },
	{ "ener_F", "dpe_e_f", NULL, 1 },
	{ "ener_G", "dpe_e_g", NULL, 1 },
	{ "ener_NR", "dpe_absent", NULL, 1 },
	{ "serre_A", "dpe_g_a", NULL, 1 },
	{ "serre_B", "dpe_g_b", NULL, 1 },
	{ "serre_C", "dpe_g_c", NULL, 1 },
	{ "serre_D", "dpe_g_d", NULL, 1 },
	{ "serre_E", "dpe_g_e", NULL, 1 },
	{ "serre_F", "dpe_g_f", NULL, 1 },
	{ "serre_G", "dpe_g_g", NULL, 1 },
	{ "ener_A_new", "dpe_e_a_new", NULL, 1 },
	{ "ener_B_new", "dpe_e_b_new", NULL, 1 },
	{ "ener_C_new", "dpe_e_c_new", NULL, 1 },
	{ "ener_D_new", "dpe_e_d_new", NULL, 1 },
	{ "ener_E_new", "dpe_e_e_new", NULL, 1 },
	{ "ener_F_new", "dpe_e_f_new", NULL, 1 },
	{ "ener_G_new", "dpe_e_g_new", NULL, 1 },
	{ "ener_NR_new", "dpe_e_nr_new", NULL, 1 },
	/* propre.rpls's tab_result */
	{ "nb_ls_actif", "nb_ls", NULL, 1 },
	{ "nb_logt_total", "nb_lgt_tot", NULL, 1 },
	{ "nb_ls_qpv", "part_qpv", "nb_ls", 1 },
	{ "nb_ls_coll", "part_collectif", "nb_ls", 1 },
	{ "nb_ls_ind", "part_individuel", "nb_ls", 1 },
	{ "nb_ls_etu", "nb_ls_etu", NULL, 1 },
	{ "nb_ls_loue", "loues", NULL, 1 },
	{ "nb_ls_vacant", "vacants", NULL, 1 },
	{ "nb_ls_vide", "vides", NULL, 1 },
	{ "nb_ls_association", "asso", NULL, 1 },
	{ "nb_ls_autre", "autres", NULL, 1 },
	{ "nb_mes", "mes", NULL, 1 },
	{ "nb_ls_age_0_5", "age_lt5", NULL, 1 },
	{ "nb_ls_age_5_10", "age_5_10", NULL, 1 },
	{ "nb_ls_age_10_20", "age_10_20", NULL, 1 },
	{ "nb_ls_age_20_40", "age_20_40", NULL, 1 },
	{ "nb_ls_age_40_60", "age_40_60", NULL, 1 },
	{ "nb_ls_age_60_plus", "age_ge60", NULL, 1 },
	{ "nb_ls_dpe_new_ener_A", "dpe_e_a_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_B", "dpe_e_b_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_C", "dpe_e_c_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_D", "dpe_e_d_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_E", "dpe_e_e_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_F", "dpe_e_f_new", NULL, 1 },
	{ "nb_ls_dpe_new_ener_G", "dpe_e_g_new", NULL, 1 },
};
#define NVARIABLES (sizeof(variables) / sizeof(variables[0]))

size_t dh_sdes_variable_count(void)
{
	return NVARIABLES;
}

const dh_sdes_variable *dh_sdes_variable_at(size_t i)
{
	return i < NVARIABLES ? &variables[i] : NULL;
}

static dh_str trim(dh_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t' || s.ptr[0] == '"'))
		s.ptr++, s.len--;
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t' || s.ptr[s.len - 1] == '\r' ||
			 s.ptr[s.len - 1] == '"'))
		s.len--;
	return s;
}

static int same_name(dh_str s, const char *name)
{
	s = trim(s);
	size_t n = strlen(name);
	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)s.ptr[i]) != tolower((unsigned char)name[i]))
			return 0;
	return 1;
}

/* A French or plain number ("1 234,5", "1234.5", "12,3 %"); NaN for secret or missing.
 * *decimals receives the digits written after the decimal separator. */
static double parse_number(dh_str s, uint8_t *decimals)
{
	*decimals = 0;
	char buf[64];
	size_t n = 0;
	for (size_t i = 0; i < s.len && n + 1 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == ' ' || c == '%' || c == '\t')
			continue;
		if (c == 0xC2 && i + 1 < s.len && (unsigned char)s.ptr[i + 1] == 0xA0) { /* NBSP */
			i++;
			continue;
		}
		if (c == 0xE2 && i + 2 < s.len && (unsigned char)s.ptr[i + 1] == 0x80 &&
		    (unsigned char)s.ptr[i + 2] == 0xAF) { /* narrow NBSP */
			i += 2;
			continue;
		}
		buf[n++] = c == ',' ? '.' : (char)c;
	}
	const char *dot = memchr(buf, '.', n);
	if (dot)
		*decimals = (uint8_t)(n - (size_t)(dot - buf) - 1);
	buf[n] = '\0';
	if (n == 0)
		return NAN;
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	return *end || errno || !isfinite(v) ? NAN : v;
}

/* Delimiter of the header row: the most frequent of ; , TAB | on the line holding DEPCOM. */
static char detect_delimiter(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *head = malloc(HEAD_BYTES + 1);
	if (!f || !head) {
		if (f)
			fclose(f);
		free(head);
		return 0;
	}
	size_t n = fread(head, 1, HEAD_BYTES, f);
	fclose(f);
	head[n] = '\0';
	const char *at = strstr(head, "DEPCOM");
	if (!at) {
		free(head);
		return 0;
	}
	const char *start = at, *end = at;
	while (start > head && start[-1] != '\n')
		start--;
	while (*end && *end != '\n')
		end++;
	static const char cand[] = ";,\t|";
	size_t best = 0;
	char delim = 0;
	for (const char *c = cand; *c; c++) {
		size_t k = 0;
		for (const char *p = start; p < end; p++)
			k += *p == *c;
		if (k > best) {
			best = k;
			delim = *c;
		}
	}
	free(head);
	return delim;
}

typedef struct reader {
	const dh_geo *geo;
	dh_sdes_table *t;
	size_t cap;
	long code_col, name_col;
	long *col_of_var;    /* per present variable: its column */
	int32_t *row_of;     /* per geo commune: its row, -1 */
	uint32_t *sources;   /* per row: rows of the file folded into it */
} reader;

static int read_header(reader *r, const dh_csv_record *rec)
{
	r->code_col = r->name_col = -1;
	for (size_t i = 0; i < rec->nfields; i++) {
		if (r->code_col < 0 && (same_name(rec->fields[i], "DEPCOM_ARM") || same_name(rec->fields[i], "DEPCOM")))
			r->code_col = (long)i;
		else if (r->name_col < 0 && same_name(rec->fields[i], "LIBCOM"))
			r->name_col = (long)i;
	}
	if (r->code_col < 0)
		return 0;
	dh_sdes_table *t = r->t;
	t->var = malloc(NVARIABLES * sizeof(size_t));
	r->col_of_var = malloc(NVARIABLES * sizeof(long));
	if (!t->var || !r->col_of_var)
		return -1;
	for (size_t v = 0; v < NVARIABLES; v++)
		for (size_t i = 0; i < rec->nfields; i++)
			if (same_name(rec->fields[i], variables[v].name)) {
				t->var[t->nvars] = v;
				r->col_of_var[t->nvars++] = (long)i;
				break;
			}
	return 1;
}

/* Current commune of a code as written (leading zero restored), or -1. */
static int32_t resolve(const dh_geo *geo, dh_str code, char out[6])
{
	code = trim(code);
	if (code.len == 4) {
		out[0] = '0';
		memcpy(out + 1, code.ptr, 4);
	} else if (code.len == 5) {
		memcpy(out, code.ptr, 5);
	} else {
		return -1;
	}
	out[5] = '\0';
	dh_str s = { out, 5 };
	int32_t c = dh_geo_commune_find(geo, s);
	if (c < 0) {
		int32_t f = dh_geo_former_find(geo, s);
		if (f >= 0)
			c = dh_geo_former(geo, f)->current;
	}
	if (c >= 0)
		memcpy(out, dh_geo_commune(geo, c)->code, 6);
	return c;
}

static int add_row(reader *r, const dh_csv_record *rec)
{
	dh_sdes_table *t = r->t;
	t->rows_read++;
	if ((size_t)r->code_col >= rec->nfields)
		return DH_OK;
	char code[6];
	int32_t c = resolve(r->geo, rec->fields[r->code_col], code);
	if (c < 0) {
		t->rows_unknown++;
		return DH_OK;
	}
	int32_t row = r->row_of[c];
	if (row < 0) {
		if (t->nrows == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 256;
			char(*codes)[6] = realloc(t->codes, cap * sizeof(*codes));
			if (codes)
				t->codes = codes;
			char **names = realloc(t->names, cap * sizeof(*names));
			if (names)
				t->names = names;
			double *values = realloc(t->values, cap * (t->nvars ? t->nvars : 1) * sizeof(double));
			if (values)
				t->values = values;
			uint8_t *decimals = realloc(t->decimals, cap * (t->nvars ? t->nvars : 1));
			if (decimals)
				t->decimals = decimals;
			uint32_t *sources = realloc(r->sources, cap * sizeof(*sources));
			if (sources)
				r->sources = sources;
			if (!codes || !names || !values || !decimals || !sources)
				return DH_NOMEM;
			r->cap = cap;
		}
		row = (int32_t)t->nrows++;
		r->row_of[c] = row;
		memcpy(t->codes[row], code, 6);
		r->sources[row] = 0;
		t->names[row] = NULL;
		for (size_t v = 0; v < t->nvars; v++)
			t->values[(size_t)row * t->nvars + v] = NAN;
	}
	uint32_t folded = ++r->sources[row];
	if (folded == 1 && r->name_col >= 0 && (size_t)r->name_col < rec->nfields) {
		dh_str n = trim(rec->fields[r->name_col]);
		t->names[row] = malloc(n.len + 1);
		if (!t->names[row])
			return DH_NOMEM;
		memcpy(t->names[row], n.ptr, n.len);
		t->names[row][n.len] = '\0';
	} else if (folded == 2) {
		free(t->names[row]); /* an arrondissement's name: the commune's is the geography's */
		t->names[row] = NULL;
	}
	for (size_t v = 0; v < t->nvars; v++) {
		long col = r->col_of_var[v];
		uint8_t dec = 0;
		double x = (size_t)col < rec->nfields ? parse_number(rec->fields[col], &dec) : NAN;
		double *cell = &t->values[(size_t)row * t->nvars + v];
		uint8_t *cell_dec = &t->decimals[(size_t)row * t->nvars + v];
		if (folded == 1 || dec > *cell_dec)
			*cell_dec = dec;
		if (folded == 1)
			*cell = x;
		else if (variables[t->var[v]].count)
			*cell = isnan(*cell) || isnan(x) ? NAN : *cell + x;
		else
			*cell = NAN; /* a rate cannot be folded from its parts */
	}
	return DH_OK;
}

static int fail_parse(dh_error *err, const char *path, const char *what)
{
	if (err) {
		dh_error_clear(err);
		dh_strlcpy(err->file, sizeof(err->file), path);
	}
	return dh_error_set(err, DH_PARSE, "%s", what);
}

int dh_sdes_read(const char *path, const dh_geo *geo, dh_sdes_table **out, dh_error *err)
{
	if (!path || !geo || !out)
		return dh_error_set(err, DH_INVAL, "argument manquant");
	*out = NULL;
	FILE *probe = fopen(path, "rb");
	if (!probe)
		return dh_error_set(err, errno == ENOENT ? DH_NOTFOUND : DH_IO, "« %s » : lecture impossible", path);
	fclose(probe);
	dh_csv_options opt = { .delimiter = detect_delimiter(path), .max_fields = 4096 };
	dh_csv *csv = NULL;
	int rc = dh_csv_open_path(&csv, path, &opt, err);
	if (rc != DH_OK)
		return rc;
	reader r;
	memset(&r, 0, sizeof(r));
	r.geo = geo;
	r.t = calloc(1, sizeof(dh_sdes_table));
	size_t ncommunes = dh_geo_commune_count(geo);
	r.row_of = malloc((ncommunes ? ncommunes : 1) * sizeof(int32_t));
	if (!r.t || !r.row_of) {
		rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
		goto done;
	}
	for (size_t i = 0; i < ncommunes; i++)
		r.row_of[i] = -1;
	dh_csv_record rec;
	int header = 0;
	for (int n = 0; !header && n < HEADER_SEARCH_ROWS && (rc = dh_csv_next(csv, &rec, err)) == DH_OK; n++) {
		header = read_header(&r, &rec);
		if (header < 0) {
			rc = dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
			goto done;
		}
	}
	if (rc != DH_OK && rc != DH_EOF)
		goto done;
	if (!header) {
		rc = fail_parse(err, path, "pas de ligne d'en-tête avec une colonne DEPCOM_ARM (ou DEPCOM) dans les "
					   "20 premières lignes : est-ce l'onglet COMMUNES des résultats RPLS du SDES ?");
		goto done;
	}
	if (r.t->nvars == 0) {
		rc = fail_parse(err, path, "aucune variable connue (nb_ls, nb_loues, tx_vac...) dans l'en-tête");
		goto done;
	}
	while ((rc = dh_csv_next(csv, &rec, err)) == DH_OK)
		if ((rc = add_row(&r, &rec)) != DH_OK) {
			rc = dh_error_set(err, rc, "mémoire insuffisante");
			goto done;
		}
	if (rc == DH_EOF)
		rc = DH_OK;
done:
	dh_csv_free(csv);
	free(r.row_of);
	free(r.col_of_var);
	free(r.sources);
	if (rc != DH_OK) {
		dh_sdes_table_free(r.t);
		return rc;
	}
	for (size_t i = 0; i < r.t->nrows; i++)
		if (!r.t->names[i]) {
			int32_t c = dh_geo_commune_find(geo, (dh_str){ r.t->codes[i], 5 });
			const char *name = c >= 0 && dh_geo_commune(geo, c)->name ? dh_geo_commune(geo, c)->name : "";
			if (!(r.t->names[i] = strdup(name))) {
				dh_sdes_table_free(r.t);
				return dh_error_set(err, DH_NOMEM, "mémoire insuffisante");
			}
		}
	*out = r.t;
	return DH_OK;
}

void dh_sdes_table_free(dh_sdes_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->names && i < t->nrows; i++)
		free(t->names[i]);
	free(t->names);
	free(t->codes);
	free(t->var);
	free(t->values);
	free(t->decimals);
	free(t);
}

long dh_sdes_table_row(const dh_sdes_table *t, const char *code)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (strcmp(t->codes[i], code) == 0)
			return (long)i;
	return -1;
}
