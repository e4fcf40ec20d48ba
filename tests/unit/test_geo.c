/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_geo.c - unit tests of the reference geography (src/geo/geo.c) on the real files of
 * data/ref/, and of the QPV loader (src/geo/qpv.c) on the synthetic list
 * tests/data/qpv-2024-sample.csv and on small lists written here, broken on purpose.
 */
#include "testutil.h"

#include "datahabitat/geo.h"

#include <string.h>

static dh_geo *france; /* loaded once for the read-only tests */

static dh_str view(const char *s)
{
	return (dh_str){ s, strlen(s) };
}

static int group_setup(void **state)
{
	(void)state;
	dh_error err;
	int rc = dh_geo_load(&france, dh_src_path("data/ref"), &err);
	if (rc != DH_OK)
		fprintf(stderr, "dh_geo_load: %s (%s:%llu)\n", err.message, err.file,
			(unsigned long long)err.line);
	return rc == DH_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	dh_geo_free(france);
	return 0;
}

static const dh_commune *commune(const char *code)
{
	int32_t i = dh_geo_commune_find(france, view(code));
	assert_true(i >= 0);
	const dh_commune *c = dh_geo_commune(france, i);
	assert_non_null(c);
	assert_string_equal(c->code, code);
	return c;
}

static void test_counts_france(void **state)
{
	(void)state;
	assert_int_equal(dh_geo_commune_count(france), 34969);
	assert_int_equal(dh_geo_epci_count(france), 1255);
	assert_int_equal(dh_geo_departement_count(france), 109);
	assert_int_equal(dh_geo_region_count(france), 26);
	assert_int_equal(dh_geo_qpv_count(france), 0);
	/* 2,105 déléguées + 471 associées + 45 arrondissements + 2,248 older codes */
	size_t kinds[4] = { 0 };
	for (int32_t i = 0; i < (int32_t)dh_geo_former_count(france); i++) {
		const dh_former_commune *f = dh_geo_former(france, i);
		const char *k = strchr("DAMF", f->kind);
		assert_non_null(k);
		kinds[k - "DAMF"]++;
		assert_non_null(dh_geo_commune(france, f->current));
	}
	assert_int_equal(kinds[0], 2105);
	assert_int_equal(kinds[1], 471);
	assert_int_equal(kinds[2], 45);
	assert_int_equal(kinds[3], 2248);
	/* Out-of-range indexes give NULL, not a neighbour. */
	assert_null(dh_geo_commune(france, -1));
	assert_null(dh_geo_commune(france, 34969));
	assert_null(dh_geo_epci(france, 1255));
}

/* Bretagne: 1,202 communes; the EPCI whose members are mostly Breton are 60 (Redon
 * Agglomération also has 8 communes in Pays de la Loire; Cap Atlantique, mostly in
 * Loire-Atlantique, has 3 Breton communes and is not one of them). */
static void test_counts_bretagne(void **state)
{
	(void)state;
	size_t nepci = dh_geo_epci_count(france);
	size_t *breton = calloc(nepci, sizeof(size_t)), *members = calloc(nepci, sizeof(size_t));
	assert_non_null(breton);
	assert_non_null(members);
	size_t communes = 0, without_epci = 0;
	for (int32_t i = 0; i < (int32_t)dh_geo_commune_count(france); i++) {
		const dh_commune *c = dh_geo_commune(france, i);
		int is_breton = strcmp(c->region, "53") == 0;
		communes += (size_t)is_breton;
		if (!c->epci[0]) {
			without_epci += (size_t)is_breton;
			continue;
		}
		int32_t e = dh_geo_epci_find(france, view(c->epci));
		assert_true(e >= 0);
		members[e]++;
		breton[e] += (size_t)is_breton;
	}
	size_t epci_majority = 0, epci_any = 0;
	for (size_t e = 0; e < nepci; e++) {
		assert_true(members[e] > 0); /* every EPCI has members */
		epci_any += breton[e] > 0;
		epci_majority += breton[e] * 2 > members[e];
	}
	assert_int_equal(communes, 1202);
	assert_int_equal(epci_majority, 60);
	assert_int_equal(epci_any, 61);
	assert_int_equal(without_epci, 3); /* Île-de-Bréhat, Île-de-Sein, Ouessant */
	int32_t rennes_metropole = dh_geo_epci_find(france, view("243500139"));
	assert_int_equal(members[rennes_metropole], 43);
	free(breton);
	free(members);
}

static void test_lookup_communes(void **state)
{
	(void)state;
	const dh_commune *c = commune("01001");
	assert_string_equal(c->name, "L'Abergement-Clémenciat");
	assert_string_equal(c->departement, "01");
	assert_string_equal(c->region, "84");
	assert_int_equal(c->npostcodes, 1);
	assert_memory_equal(c->postcodes[0], "01400", 6);

	c = commune("2A004");
	assert_string_equal(c->name, "Ajaccio");
	assert_string_equal(c->departement, "2A");
	assert_string_equal(c->region, "94");

	c = commune("35238");
	assert_string_equal(c->name, "Rennes");
	assert_string_equal(c->departement, "35");
	assert_string_equal(c->region, "53");
	assert_string_equal(c->epci, "243500139");
	assert_true(c->population > 200000);
	assert_int_equal(c->npostcodes, 3);
	assert_memory_equal(c->postcodes[0], "35000", 6);
	assert_memory_equal(c->postcodes[1], "35200", 6);
	assert_memory_equal(c->postcodes[2], "35700", 6);

	const dh_area *epci = dh_geo_epci(france, dh_geo_epci_find(france, view(c->epci)));
	assert_non_null(epci);
	assert_string_equal(epci->name, "Rennes Métropole");
	assert_string_equal(epci->kind, "METRO");

	const dh_area *dep = dh_geo_departement(france, dh_geo_departement_find(france, view("35")));
	assert_non_null(dep);
	assert_string_equal(dep->name, "Ille-et-Vilaine");
	assert_string_equal(dep->parent, "53");
	const dh_area *reg = dh_geo_region(france, dh_geo_region_find(france, view("53")));
	assert_non_null(reg);
	assert_string_equal(reg->name, "Bretagne");

	/* Overseas collectivity: 3-char région and département, no EPCI, no postcode for TAAF. */
	c = commune("97502");
	assert_string_equal(c->region, "975");
	assert_string_equal(c->epci, "");
	c = commune("98411");
	assert_int_equal(c->npostcodes, 0);
	assert_int_equal(c->population, 0);

	/* A view is not NUL-terminated: only its len bytes count. */
	const char *buf = "35238X";
	assert_int_equal(dh_geo_commune_find(france, (dh_str){ buf, 5 }),
			 dh_geo_commune_find(france, view("35238")));
}

static void test_unknown_codes(void **state)
{
	(void)state;
	const char *unknown[] = { "99999", "", "3523", "352380", "2C004", "35 238", "rennes" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(dh_geo_commune_find(france, view(unknown[i])), -1);
		assert_int_equal(dh_geo_former_find(france, view(unknown[i])), -1);
	}
	assert_int_equal(dh_geo_commune_find(france, (dh_str){ NULL, 0 }), -1);
	assert_int_equal(dh_geo_epci_find(france, view("243500138")), -1);
	assert_int_equal(dh_geo_departement_find(france, view("20")), -1); /* Corse: 2A, 2B */
	assert_int_equal(dh_geo_region_find(france, view("54")), -1);
	assert_int_equal(dh_geo_qpv_find(france, view("QN03591Z")), -1);
}

static void test_former_communes(void **state)
{
	(void)state;
	/* Binic, commune déléguée of Binic-Étables-sur-Mer (22055). */
	assert_int_equal(dh_geo_commune_find(france, view("22007")), -1);
	const dh_former_commune *f = dh_geo_former(france, dh_geo_former_find(france, view("22007")));
	assert_non_null(f);
	assert_int_equal(f->kind, 'D');
	assert_string_equal(f->name, "Binic");
	assert_string_equal(dh_geo_commune(france, f->current)->code, "22055");

	/* Chef-lieu of a commune nouvelle: both current and former; commune_find wins. */
	assert_true(dh_geo_commune_find(france, view("01015")) >= 0);
	f = dh_geo_former(france, dh_geo_former_find(france, view("01015")));
	assert_non_null(f);
	assert_string_equal(dh_geo_commune(france, f->current)->code, "01015");

	/* Commune associée. */
	f = dh_geo_former(france, dh_geo_former_find(france, view("01120")));
	assert_non_null(f);
	assert_int_equal(f->kind, 'A');
	assert_string_equal(dh_geo_commune(france, f->current)->code, "01262");

	/* Older code without a name: Corsica before 1976. */
	f = dh_geo_former(france, dh_geo_former_find(france, view("20004")));
	assert_non_null(f);
	assert_int_equal(f->kind, 'F');
	assert_string_equal(f->name, "");
	assert_string_equal(dh_geo_commune(france, f->current)->name, "Ajaccio");
}

static void test_arrondissements(void **state)
{
	(void)state;
	static const struct {
		const char *code, *commune, *name;
	} cases[] = {
		{ "75101", "75056", "Paris" },	   { "75120", "75056", "Paris" },
		{ "69381", "69123", "Lyon" },	   { "69389", "69123", "Lyon" },
		{ "13201", "13055", "Marseille" }, { "13216", "13055", "Marseille" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dh_geo_commune_find(france, view(cases[i].code)), -1);
		const dh_former_commune *f =
			dh_geo_former(france, dh_geo_former_find(france, view(cases[i].code)));
		assert_non_null(f);
		assert_int_equal(f->kind, 'M');
		const dh_commune *c = dh_geo_commune(france, f->current);
		assert_string_equal(c->code, cases[i].commune);
		assert_string_equal(c->name, cases[i].name);
	}
	assert_int_equal(dh_geo_former_find(france, view("75121")), -1);
}

static void test_postcodes(void **state)
{
	(void)state;
	int32_t rennes = dh_geo_commune_find(france, view("35238"));
	assert_int_equal(dh_geo_postcode_matches(france, rennes, view("35200")), 1);
	assert_int_equal(dh_geo_postcode_matches(france, rennes, view("35000")), 1);
	assert_int_equal(dh_geo_postcode_matches(france, rennes, view("35400")), 0);
	assert_int_equal(dh_geo_postcode_matches(france, rennes, view("3520")), 0);
	assert_int_equal(dh_geo_postcode_matches(france, rennes, view("352000")), 0);
	assert_int_equal(dh_geo_postcode_matches(france, rennes, (dh_str){ NULL, 0 }), 0);
	assert_int_equal(dh_geo_postcode_matches(france, -1, view("35200")), 0);
	int32_t stmalo = dh_geo_commune_find(france, view("35288"));
	assert_int_equal(dh_geo_postcode_matches(france, stmalo, view("35400")), 1);
	assert_int_equal(dh_geo_postcode_matches(france, stmalo, view("35200")), 0);
}

static void test_default_dir(void **state)
{
	(void)state;
	assert_int_equal(setenv("DATAHABITAT_REF", "/somewhere/ref", 1), 0);
	assert_string_equal(dh_geo_default_dir(), "/somewhere/ref");
	assert_int_equal(unsetenv("DATAHABITAT_REF"), 0);
	assert_string_equal(dh_geo_default_dir(), DH_REF_DIR);
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, NULL, &err), DH_OK); /* the compiled-in directory */
	assert_int_equal(dh_geo_commune_count(geo), 34969);
	dh_geo_free(geo);
	dh_geo_free(NULL);
}

/* ---- QPV ---------------------------------------------------------------------------- */

static const dh_qpv *qpv(dh_geo *geo, const char *code)
{
	const dh_qpv *q = dh_geo_qpv(geo, dh_geo_qpv_find(geo, view(code)));
	assert_non_null(q);
	assert_string_equal(q->code, code);
	return q;
}

static const char *qpv_commune(dh_geo *geo, const dh_qpv *q, uint32_t k)
{
	assert_true(k < q->ncommunes);
	return dh_geo_commune(geo, q->communes[k])->code;
}

static void test_qpv_sample(void **state)
{
	(void)state;
	dh_error err;
	int rc = dh_geo_load_qpv(france, dh_src_path("tests/data/qpv-2024-sample.csv"), &err);
	if (rc != DH_OK)
		fprintf(stderr, "%s:%llu: %s\n", err.file, (unsigned long long)err.line, err.message);
	assert_int_equal(rc, DH_OK);
	assert_int_equal(dh_geo_qpv_count(france), 10);

	const dh_qpv *q = qpv(france, "QN03591Z");
	assert_string_equal(q->name, "Synthétique Rennes Nord");
	assert_int_equal(q->ncommunes, 1);
	assert_string_equal(qpv_commune(france, q, 0), "35238");

	q = qpv(france, "QN05691Z"); /* spans Lorient and Lanester */
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(france, q, 0), "56121");
	assert_string_equal(qpv_commune(france, q, 1), "56098");

	q = qpv(france, "QN02292Z"); /* listed under the former code of Binic */
	assert_int_equal(q->ncommunes, 1);
	assert_string_equal(qpv_commune(france, q, 0), "22055");

	/* Every neighbourhood of the sample is in Bretagne. */
	for (int32_t i = 0; i < (int32_t)dh_geo_qpv_count(france); i++) {
		q = dh_geo_qpv(france, i);
		for (uint32_t k = 0; k < q->ncommunes; k++)
			assert_string_equal(dh_geo_commune(france, q->communes[k])->region, "53");
	}
	assert_int_equal(dh_geo_qpv_find(france, view("QN99999Z")), -1);
}

/* A fresh geography with the QPV list of the source tree file `path` loaded. */
static dh_geo *geo_with_list(const char *path)
{
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dh_src_path("data/ref"), &err), DH_OK);
	int rc = dh_geo_load_qpv(geo, dh_src_path(path), &err);
	if (rc != DH_OK)
		fprintf(stderr, "%s:%llu: %s\n", err.file, (unsigned long long)err.line, err.message);
	assert_int_equal(rc, DH_OK);
	return geo;
}

/* INSEE's 2024 layout: QP;LIB_QP;LIST_COM;LIST_LIB_COM;... one line per neighbourhood,
 * several communes in LIST_COM; a former commune code resolves to its current commune. */
static void test_qpv_insee_layout(void **state)
{
	(void)state;
	dh_error err;
	dh_geo *geo = geo_with_list("tests/data/qpv-insee-2024-sample.csv");
	assert_int_equal(dh_geo_qpv_count(geo), 6);
	const dh_qpv *q = qpv(geo, "QN05691Z");
	assert_string_equal(q->name, "Synthétique Lorient-Lanester");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(geo, q, 0), "56121");
	assert_string_equal(qpv_commune(geo, q, 1), "56098");
	q = qpv(geo, "QN02292Z");
	assert_string_equal(qpv_commune(geo, q, 0), "22055");
	/* LIST_LIB_COM (names) is not taken for the codes: a list with only names is refused
	 * unless the column is ANCT's commune_qp. */
	static const char names_only[] = "QP;LIB_QP;LIST_LIB_COM\nQN03591Z;Nord;Rennes\n";
	assert_int_equal(dh_geo_load_qpv_mem(geo, names_only, sizeof(names_only) - 1, "n.csv", &err),
			 DH_PARSE);
	assert_int_equal(dh_geo_qpv_count(geo), 6); /* the loaded list is kept */
	dh_geo_free(geo);
}

/* ANCT's code_qp;nom_qp;commune_qp: communes by name, inside the QPV's département, with
 * accents and case folded, delegated communes accepted, homonyms elsewhere ignored. */
static void test_qpv_anct_names(void **state)
{
	(void)state;
	dh_error err;
	dh_geo *geo = geo_with_list("tests/data/qpv-anct-2024-sample.csv");
	assert_int_equal(dh_geo_qpv_count(geo), 6);
	const dh_qpv *q = qpv(geo, "QN05691Z");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(geo, q, 0), "56121");
	assert_string_equal(qpv_commune(geo, q, 1), "56098");
	assert_string_equal(qpv_commune(geo, qpv(geo, "QN02291Z"), 0), "22278"); /* SAINT BRIEUC */
	assert_string_equal(qpv_commune(geo, qpv(geo, "QN02292Z"), 0), "22055"); /* Binic */
	/* Brest is not in département 35: the name is looked up in the QPV's département only. */
	static const char wrong_dep[] = "code_qp;nom_qp;commune_qp\nQN03591Z;Nord;Brest\n";
	assert_int_equal(dh_geo_load_qpv_mem(geo, wrong_dep, sizeof(wrong_dep) - 1, "w.csv", &err),
			 DH_PARSE);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.found, "Brest");
	/* Corsica: département 2A from the code QN02A..., Ajaccio is 2A004. */
	static const char corsica[] = "code_qp;nom_qp;commune_qp\nQN02A01Z;Quartier;Ajaccio\n";
	assert_int_equal(dh_geo_load_qpv_mem(geo, corsica, sizeof(corsica) - 1, "c.csv", &err), DH_OK);
	assert_string_equal(qpv_commune(geo, qpv(geo, "QN02A01Z"), 0), "2A004");
	dh_geo_free(geo);
}

/* The ANCT export: other column names and order, BOM, CRLF, Excel's ="..." wrapper around
 * codes joined by ';', trailing empty columns, a 4-digit code that lost its leading zero,
 * one row per commune for the same neighbourhood. */
static void test_qpv_anct_layout(void **state)
{
	(void)state;
	static const char list[] =
		"\xEF\xBB\xBF"
		"code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci;;\r\n"
		"QN01341I;Quartier fictif A;93;PACA;13;Bouches-du-Rhône;\"=\"\"13055;13070\"\"\";\"Marseille; La Penne\";200054807;Métropole;;\r\n"
		"QN00199Z;Quartier fictif B;84;ARA;01;Ain;1053;Bourg;200071751;CA;;\r\n"
		"QN00199Z;Quartier fictif B;84;ARA;01;Ain;01033;Valserhône;200071751;CA;;\r\n"
		";;;;;;;;;;;\r\n";
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dh_src_path("data/ref"), &err), DH_OK);
	int rc = dh_geo_load_qpv_mem(geo, list, sizeof(list) - 1, "anct.csv", &err);
	if (rc != DH_OK)
		fprintf(stderr, "%s:%llu: %s\n", err.file, (unsigned long long)err.line, err.message);
	assert_int_equal(rc, DH_OK);
	assert_int_equal(dh_geo_qpv_count(geo), 2);
	const dh_qpv *q = qpv(geo, "QN01341I");
	assert_string_equal(q->name, "Quartier fictif A");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(geo, q, 0), "13055");
	assert_string_equal(qpv_commune(geo, q, 1), "13070");
	q = qpv(geo, "QN00199Z");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(geo, q, 0), "01053");
	assert_string_equal(qpv_commune(geo, q, 1), "01033");

	/* Loading another list replaces this one. */
	assert_int_equal(dh_geo_load_qpv(geo, dh_src_path("tests/data/qpv-2024-sample.csv"), &err),
			 DH_OK);
	assert_int_equal(dh_geo_qpv_count(geo), 10);
	assert_int_equal(dh_geo_qpv_find(geo, view("QN01341I")), -1);
	dh_geo_free(geo);
}

/* 2015 codes, Corsica, an arrondissement and a former commune in one field; a comma-separated
 * Windows-1252 file with the "Code(s) commune(s)" header. */
static void test_qpv_variants(void **state)
{
	(void)state;
	static const char list2015[] = "Code quartier;Quartier prioritaire;codes communes\n"
				       "QP035001;Ancien quartier;75101 / 22007\n"
				       "QN02A01X;Corse;2A004\n";
	static const char list1252[] = "Code quartier,Quartier prioritaire,Code(s) commune(s)\r\n"
				       "\"QN03591Z\",\"Synth\xe9tique \xe0 Rennes\",\"35238\"\r\n";
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dh_src_path("data/ref"), &err), DH_OK);
	assert_int_equal(dh_geo_load_qpv_mem(geo, list2015, sizeof(list2015) - 1, NULL, &err), DH_OK);
	assert_int_equal(dh_geo_qpv_count(geo), 2);
	const dh_qpv *q = qpv(geo, "QP035001");
	assert_int_equal(q->ncommunes, 2);
	assert_string_equal(qpv_commune(geo, q, 0), "75056");
	assert_string_equal(qpv_commune(geo, q, 1), "22055");
	assert_string_equal(qpv_commune(geo, qpv(geo, "QN02A01X"), 0), "2A004");

	assert_int_equal(dh_geo_load_qpv_mem(geo, list1252, sizeof(list1252) - 1, "l.csv", &err),
			 DH_OK);
	assert_int_equal(dh_geo_qpv_count(geo), 1);
	q = qpv(geo, "QN03591Z");
	assert_string_equal(q->name, "Synthétique à Rennes");
	assert_string_equal(qpv_commune(geo, q, 0), "35238");
	dh_geo_free(geo);
}

typedef struct bad_list {
	const char *text;
	uint64_t line;
	uint32_t column;
	const char *field;
	const char *found;
} bad_list;

static void test_qpv_errors(void **state)
{
	(void)state;
	static const bad_list cases[] = {
		/* No column of codes. */
		{ "Quartier prioritaire;codes communes\nSynthétique;35238\n", 1, 0, "Code quartier",
		  "Quartier prioritaire" },
		/* No commune codes, only names. */
		{ "Code quartier;Quartier prioritaire;noms communes\nQN03591Z;Synthétique;Rennes\n", 1, 0,
		  "codes communes", "Code quartier" },
		/* Bad neighbourhood code on line 3. */
		{ "Code quartier;Quartier prioritaire;codes communes\nQN03591Z;A;35238\nQX035;B;35238\n", 3,
		  1, "Code quartier", "QX035" },
		{ "Code quartier;Quartier prioritaire;codes communes\nQN0359ZZ;B;35238\n", 2, 1,
		  "Code quartier", "QN0359ZZ" },
		/* Unknown commune, second of two. */
		{ "Code quartier;Quartier prioritaire;codes communes\nQN03591Z;A;35238, 35999\n", 2, 3,
		  "codes communes", "35999" },
		/* Not a commune code. */
		{ "Code quartier;Quartier prioritaire;codes communes\nQN03591Z;A;Rennes\n", 2, 3,
		  "codes communes", "Rennes" },
		/* No commune at all. */
		{ "Code quartier;Quartier prioritaire;codes communes\nQN03591Z;A;\n", 2, 3,
		  "codes communes", "" },
		/* Empty input: no header. */
		{ "", 1, 0, "", "" },
	};
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dh_src_path("data/ref"), &err), DH_OK);
	assert_int_equal(dh_geo_load_qpv(geo, dh_src_path("tests/data/qpv-2024-sample.csv"), &err),
			 DH_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const bad_list *c = &cases[i];
		int rc = dh_geo_load_qpv_mem(geo, c->text, strlen(c->text), "liste.csv", &err);
		assert_int_equal(rc, DH_PARSE);
		assert_int_equal(err.code, DH_PARSE);
		assert_string_equal(err.file, "liste.csv");
		assert_int_equal(err.line, c->line);
		assert_int_equal(err.column, c->column);
		assert_string_equal(err.field, c->field);
		assert_string_equal(err.found, c->found);
		assert_true(err.expected[0] != '\0');
		assert_true(err.message[0] != '\0');
		/* A failed load keeps the list loaded before. */
		assert_int_equal(dh_geo_qpv_count(geo), 10);
	}
	assert_int_equal(dh_geo_load_qpv(geo, "/nonexistent/qpv.csv", &err), DH_NOTFOUND);
	assert_string_equal(err.file, "/nonexistent/qpv.csv");
	assert_int_equal(dh_geo_qpv_count(geo), 10);
	dh_geo_free(geo);
}

/* ---- broken reference files ------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* A copy of data/ref in a temporary directory where line `line` of `file` is replaced. */
static char *ref_copy_with(const char *file, uint64_t line, const char *replacement)
{
	static const char *const files[] = { "regions.csv", "departements.csv", "epci.csv",
					     "communes.csv", "communes-anciennes.csv" };
	char *dir = dh_tmpdir();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "data/ref/%s", files[i]);
		size_t len;
		char *text = read_file(dh_src_path(rel), &len);
		if (strcmp(files[i], file) == 0) {
			char *start = text;
			for (uint64_t l = 1; l < line; l++) {
				start = strchr(start, '\n');
				assert_non_null(start);
				start++;
			}
			char *end = strchr(start, '\n');
			assert_non_null(end);
			size_t head = (size_t)(start - text), rlen = strlen(replacement);
			size_t tail = len - (size_t)(end - text);
			char *out = malloc(head + rlen + tail);
			assert_non_null(out);
			memcpy(out, text, head);
			memcpy(out + head, replacement, rlen);
			memcpy(out + head + rlen, end, tail);
			free(text);
			text = out;
			len = head + rlen + tail;
		}
		free(dh_write_file(dir, files[i], text, len));
		free(text);
	}
	return dir;
}

static void expect_broken(const char *file, uint64_t line, const char *replacement, int code,
			  uint32_t column, const char *field, const char *found)
{
	char *dir = ref_copy_with(file, line, replacement);
	static char sentinel;
	dh_geo *geo = (dh_geo *)(void *)&sentinel; /* must be reset to NULL on failure */
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dir, &err), code);
	assert_null(geo);
	assert_int_equal(err.code, code);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, column);
	assert_string_equal(err.field, field);
	assert_string_equal(err.found, found);
	const char *slash = strrchr(err.file, '/');
	assert_non_null(slash);
	assert_string_equal(slash + 1, file);
	dh_rmtree(dir);
}

static void test_corrupted_reference(void **state)
{
	(void)state;
	/* Unknown département on line 1000 of communes.csv. */
	expect_broken("communes.csv", 1000, "04999;Nulle-Part;99;;0;04000", DH_PARSE, 3,
		      "departement", "99");
	/* Malformed postcode. */
	expect_broken("communes.csv", 20000, "60999;Nulle-Part;60;;12;6000", DH_PARSE, 6,
		      "codes_postaux", "6000");
	/* A code already present: 35238 again, further down. */
	expect_broken("communes.csv", 30000, "35238;Rennes bis;35;;1;35000", DH_PARSE, 1, "code",
		      "35238");
	/* Former code attached to an unknown commune. */
	expect_broken("communes-anciennes.csv", 10, "01999;Ancienne;commune-deleguee;01998", DH_PARSE,
		      4, "commune_actuelle", "01998");
	/* Unknown type. */
	expect_broken("communes-anciennes.csv", 11, "01998;Ancienne;commune-fusionnee;01001",
		      DH_PARSE, 3, "type", "commune-fusionnee");
	/* Wrong header. */
	expect_broken("epci.csv", 1, "siren;nom;type", DH_PARSE, 1, "code", "siren");
	/* Bad SIREN. */
	expect_broken("epci.csv", 5, "2000ABC;CC Nulle;CC", DH_PARSE, 1, "code", "2000ABC");
	/* Région of a département unknown. */
	expect_broken("departements.csv", 3, "03;Allier;99", DH_PARSE, 3, "region", "99");
}

static void test_missing_reference(void **state)
{
	(void)state;
	char *dir = dh_tmpdir();
	dh_geo *geo = NULL;
	dh_error err;
	assert_int_equal(dh_geo_load(&geo, dir, &err), DH_NOTFOUND);
	assert_null(geo);
	assert_non_null(strstr(err.file, "regions.csv"));
	assert_non_null(strstr(err.message, "regions.csv"));
	dh_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_france),
		cmocka_unit_test(test_counts_bretagne),
		cmocka_unit_test(test_lookup_communes),
		cmocka_unit_test(test_unknown_codes),
		cmocka_unit_test(test_former_communes),
		cmocka_unit_test(test_arrondissements),
		cmocka_unit_test(test_postcodes),
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_qpv_anct_layout),
		cmocka_unit_test(test_qpv_insee_layout),
		cmocka_unit_test(test_qpv_anct_names),
		cmocka_unit_test(test_qpv_variants),
		cmocka_unit_test(test_qpv_errors),
		cmocka_unit_test(test_corrupted_reference),
		cmocka_unit_test(test_missing_reference),
		/* Last: it adds the sample QPV list to the shared geography. */
		cmocka_unit_test(test_qpv_sample),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
