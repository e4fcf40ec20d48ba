/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_disclosure.c - disclosure control on hand-made tables whose expected flags are
 * known: the rules of each class at and around their thresholds, the 3x3 table with one
 * primary cell and its rectangle of secondary cells, rates and their counts (the reported
 * Quimper leak: a rate published next to a derivable denominator), a hidden
 * parent protected from its children, the multi-equation case only the audit catches,
 * argument checks and the French texts.
 */
#include "testutil.h"

#include <glpk.h>
#include <math.h>

#include "datahabitat/disclosure.h"

static dh_disclosure_policy policy_default(void)
{
	dh_disclosure_policy p;
	dh_disclosure_policy_default(&p);
	return p;
}

/* A count cell of `units` units spread over landlords with the given contributions. */
static void set_count(dh_disclosure_table *t, size_t row, size_t col, const double *shares,
                      size_t nshares)
{
	dh_disclosure_cell *c = dh_disclosure_table_cell(t, row, col);
	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < nshares; i++)
		dh_disclosure_cell_add(c, (uint64_t)shares[i], shares[i]);
	c->value = (double)c->units;
}

/* A count cell of value v from 5 equal landlords (passes every default rule if v >= 11). */
static void set_plain(dh_disclosure_table *t, size_t row, size_t col, uint64_t v)
{
	dh_disclosure_cell *c = dh_disclosure_table_cell(t, row, col);
	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	c->value = (double)v;
	c->units = v;
	c->landlords = 5;
	c->total = (double)v;
	c->top[0] = c->top[1] = (double)v / 5.0;
}

static void test_policy_default(void **state)
{
	(void)state;
	dh_disclosure_policy p = policy_default();
	assert_int_equal(p.rule[DH_DISCLOSURE_PUBLIC_STRUCTURE].min_units, 0);
	assert_int_equal(p.rule[DH_DISCLOSURE_PUBLIC_STRUCTURE].min_landlords, 0);
	assert_int_equal(p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].min_landlords, 3);
	assert_int_equal(p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_n, 1);
	assert_true(p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_k == 85.0);
	assert_int_equal(p.rule[DH_DISCLOSURE_HOUSEHOLD].min_units, 11);
	assert_true(p.audit_max_unknowns > 0);
}

static void test_cell_add_keeps_top_two(void **state)
{
	(void)state;
	dh_disclosure_cell c = { 0 };
	const double amounts[] = { 5, 40, 12, 40, 3 };
	for (size_t i = 0; i < 5; i++)
		dh_disclosure_cell_add(&c, 1 + i, amounts[i]);
	assert_int_equal(c.landlords, 5);
	assert_int_equal(c.units, 1 + 2 + 3 + 4 + 5);
	assert_true(c.total == 100.0);
	assert_true(c.top[0] == 40.0 && c.top[1] == 40.0);
}

static void test_primary_rules(void **state)
{
	(void)state;
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 1, 12, NULL), DH_OK);
	const dh_disclosure_class cls[12] = {
		DH_DISCLOSURE_HOUSEHOLD,         DH_DISCLOSURE_HOUSEHOLD,
		DH_DISCLOSURE_LANDLORD_BUSINESS, DH_DISCLOSURE_LANDLORD_BUSINESS,
		DH_DISCLOSURE_LANDLORD_BUSINESS, DH_DISCLOSURE_PUBLIC_STRUCTURE,
		DH_DISCLOSURE_CLASS_UNSET,       DH_DISCLOSURE_CLASS_UNSET,
		DH_DISCLOSURE_HOUSEHOLD,         DH_DISCLOSURE_PUBLIC_STRUCTURE,
		DH_DISCLOSURE_LANDLORD_BUSINESS, DH_DISCLOSURE_LANDLORD_BUSINESS,
	};
	for (size_t c = 0; c < 12; c++)
		assert_int_equal(dh_disclosure_table_set_column(t, c, cls[c], 1), DH_OK);
	set_count(t, 0, 0, (const double[]){ 4, 6 }, 2);             /* 10 households */
	set_count(t, 0, 1, (const double[]){ 5, 6 }, 2);             /* 11 households */
	set_count(t, 0, 2, (const double[]){ 50, 50 }, 2);           /* 2 landlords */
	set_count(t, 0, 3, (const double[]){ 86, 7, 7 }, 3);         /* 86 % */
	set_count(t, 0, 4, (const double[]){ 85, 5, 5, 5 }, 4);      /* 85 %: allowed */
	set_count(t, 0, 5, (const double[]){ 120 }, 1);              /* public, one landlord */
	set_count(t, 0, 6, (const double[]){ 4, 4, 4 }, 3);          /* unset, passes all */
	set_count(t, 0, 7, (const double[]){ 20 }, 1);               /* unset, one landlord */
	/* column 8 left empty */
	set_count(t, 0, 9, (const double[]){ 30, 30, 30 }, 3);
	dh_disclosure_table_cell(t, 0, 9)->forced = 1;
	set_count(t, 0, 10, (const double[]){ 0, 0, 0, 0 }, 4);      /* zero from 4 landlords */
	set_count(t, 0, 11, (const double[]){ 60, 35, 5 }, 3);       /* p%: 5 < 10 % of 60 */
	dh_disclosure_policy p = policy_default();
	dh_disclosure_stats st;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	const dh_disclosure_reason want[12] = {
		DH_DISCLOSURE_REASON_UNITS,     DH_DISCLOSURE_REASON_NONE,
		DH_DISCLOSURE_REASON_LANDLORDS, DH_DISCLOSURE_REASON_DOMINANCE,
		DH_DISCLOSURE_REASON_NONE,      DH_DISCLOSURE_REASON_NONE,
		DH_DISCLOSURE_REASON_NONE,      DH_DISCLOSURE_REASON_LANDLORDS,
		DH_DISCLOSURE_REASON_EMPTY,     DH_DISCLOSURE_REASON_FORCED,
		DH_DISCLOSURE_REASON_NONE,      DH_DISCLOSURE_REASON_PPERCENT,
	};
	for (size_t c = 0; c < 12; c++) {
		assert_int_equal(dh_disclosure_cell_reason(t, 0, c), want[c]);
		int hidden = want[c] >= DH_DISCLOSURE_REASON_UNITS;
		assert_int_equal(dh_disclosure_cell_status(t, 0, c),
		                 hidden ? DH_DISCLOSURE_PRIMARY : DH_DISCLOSURE_PUBLISHED);
	}
	assert_int_equal(st.primary, 6);
	assert_int_equal(st.secondary, 0);
	assert_int_equal(st.empty, 1);

	/* the (2, k) variant: the two largest together */
	p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_n = 2;
	p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_k = 90.0;
	set_count(t, 0, 4, (const double[]){ 60, 31, 9 }, 3);
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_reason(t, 0, 4), DH_DISCLOSURE_REASON_DOMINANCE);
	set_count(t, 0, 4, (const double[]){ 60, 30, 10 }, 3);
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_status(t, 0, 4), DH_DISCLOSURE_PUBLISHED);

	/* a bad rule is refused and nothing is left published (fail closed) */
	p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_n = 3;
	dh_error err;
	dh_error_clear(&err);
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, &err), DH_INVAL);
	assert_int_equal(err.code, DH_INVAL);
	for (size_t c = 0; c < 11; c++)
		assert_int_not_equal(dh_disclosure_cell_status(t, 0, c), DH_DISCLOSURE_PUBLISHED);
	dh_disclosure_table_free(t);
}

/*
 * 3x3 household table with row and column totals (row 3, column 3). Interior:
 *      5  20  30 | 55
 *     12  14  50 | 76
 *     25  60  45 | 130
 * Only (0,0) fails the rule. The cheapest rectangle through it is (0,1), (1,0), (1,1)
 * (20 + 12 + 14 = 46 against 92, 105, 100 for the others): exactly those are hidden.
 */
static dh_disclosure_table *table_3x3(void)
{
	static const uint64_t v[3][3] = { { 5, 20, 30 }, { 12, 14, 50 }, { 25, 60, 45 } };
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 4, 4, NULL), DH_OK);
	for (size_t c = 0; c < 4; c++)
		assert_int_equal(dh_disclosure_table_set_column(t, c, DH_DISCLOSURE_HOUSEHOLD, 1),
		                 DH_OK);
	uint64_t col_total[4] = { 0 };
	for (size_t r = 0; r < 3; r++) {
		uint64_t row_total = 0;
		for (size_t c = 0; c < 3; c++) {
			set_plain(t, r, c, v[r][c]);
			row_total += v[r][c];
			col_total[c] += v[r][c];
		}
		set_plain(t, r, 3, row_total);
		col_total[3] += row_total;
	}
	for (size_t c = 0; c < 4; c++)
		set_plain(t, 3, c, col_total[c]);
	const size_t parts[3] = { 0, 1, 2 };
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 3, parts, 3, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_sum(t, 3, parts, 3, NULL), DH_OK);
	return t;
}

static void test_3x3_known_pattern(void **state)
{
	(void)state;
	dh_disclosure_table *t = table_3x3();
	dh_disclosure_policy p = policy_default();
	dh_disclosure_stats st;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	for (size_t r = 0; r < 4; r++) {
		for (size_t c = 0; c < 4; c++) {
			dh_disclosure_status want = DH_DISCLOSURE_PUBLISHED;
			if (r == 0 && c == 0)
				want = DH_DISCLOSURE_PRIMARY;
			else if (r < 2 && c < 2)
				want = DH_DISCLOSURE_SECONDARY;
			assert_int_equal(dh_disclosure_cell_status(t, r, c), want);
		}
	}
	assert_int_equal(st.primary, 1);
	assert_int_equal(st.secondary, 3);
	assert_int_equal(st.relations, 8);
	assert_int_equal(dh_disclosure_cell_reason(t, 0, 1), DH_DISCLOSURE_REASON_RELATION);

	/* the same shape reused for the next query: reset keeps the relations */
	dh_disclosure_table_reset(t);
	assert_int_equal(dh_disclosure_table_cell(t, 0, 0)->units, 0);
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_int_equal(st.primary, 0);
	assert_int_equal(st.empty, 16);
	assert_int_equal(st.relations, 8);
	dh_disclosure_table_free(t);
}

/* Row: nb = num + den + other, and rate linked to num and den. num is hidden: the margin
 * takes the cheap "other", the link takes the rate (the denominator is in more relations). */
static void test_rate_follows_numerator(void **state)
{
	(void)state;
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 1, 5, NULL), DH_OK);
	enum { NB, NUM, DEN, OTHER, RATE };
	set_plain(t, 0, NB, 100);
	set_plain(t, 0, NUM, 47);
	set_plain(t, 0, DEN, 50);
	set_plain(t, 0, OTHER, 3);
	set_plain(t, 0, RATE, 50); /* a rate's units: its denominator */
	dh_disclosure_table_cell(t, 0, RATE)->value = 47.0 / 97.0 * 100.0;
	dh_disclosure_table_cell(t, 0, NUM)->forced = 1;
	for (size_t c = NB; c <= OTHER; c++)
		assert_int_equal(dh_disclosure_table_set_column(t, c, DH_DISCLOSURE_PUBLIC_STRUCTURE, 1),
		                 DH_OK);
	assert_int_equal(dh_disclosure_table_set_column(t, RATE, DH_DISCLOSURE_LANDLORD_BUSINESS, 0),
	                 DH_OK);
	const size_t parts[3] = { NUM, DEN, OTHER }, link[3] = { RATE, NUM, DEN };
	assert_int_equal(dh_disclosure_table_add_col_sum(t, NB, parts, 3, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_link(t, link, 3, NULL), DH_OK);
	dh_disclosure_policy p = policy_default();
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_status(t, 0, NB), DH_DISCLOSURE_PUBLISHED);
	assert_int_equal(dh_disclosure_cell_status(t, 0, NUM), DH_DISCLOSURE_PRIMARY);
	assert_int_equal(dh_disclosure_cell_status(t, 0, DEN), DH_DISCLOSURE_PUBLISHED);
	assert_int_equal(dh_disclosure_cell_status(t, 0, OTHER), DH_DISCLOSURE_SECONDARY);
	assert_int_equal(dh_disclosure_cell_status(t, 0, RATE), DH_DISCLOSURE_SECONDARY);

	/* and the other way: a hidden rate with a published denominator hides its numerator
	 * side too (else rate x denominator gives it back) */
	dh_disclosure_table_cell(t, 0, NUM)->forced = 0;
	dh_disclosure_table_cell(t, 0, RATE)->forced = 1;
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_status(t, 0, RATE), DH_DISCLOSURE_PRIMARY);
	int hidden_partner = dh_disclosure_cell_status(t, 0, NUM) != DH_DISCLOSURE_PUBLISHED ||
	                     dh_disclosure_cell_status(t, 0, DEN) != DH_DISCLOSURE_PUBLISHED;
	assert_true(hidden_partner);
	dh_disclosure_table_free(t);
}

/*
 * The reported leak (Quimper in tests/golden/lib/gov-db.sh): 29 dwellings of 3 landlords,
 * loues 23 and vacants 4 hidden, vides 2, asso 0, autres 0 published, tx_vac = 4 / 27.
 * loues + vacants = 29 - 2 - 0 - 0 = 27 is known, so a published tx_vac gives vacants back.
 * Declared as a formula link, the rate has two hidden partners and is published; declared as
 * a rate, it is hidden as soon as one of its terms is.
 */
enum { Q_NB, Q_LOUES, Q_VAC, Q_VIDES, Q_ASSO, Q_AUTRES, Q_TX, Q_COLS };

static dh_disclosure_table *quimper(int as_rate)
{
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 1, Q_COLS, NULL), DH_OK);
	/* per landlord: nb 21/4/4, loues 18/3/2, vacants 3/0/1, vides 0/1/1 */
	set_count(t, 0, Q_NB, (const double[]){ 21, 4, 4 }, 3);
	set_count(t, 0, Q_LOUES, (const double[]){ 18, 3, 2 }, 3);
	set_count(t, 0, Q_VAC, (const double[]){ 3, 0, 1 }, 3);
	set_count(t, 0, Q_VIDES, (const double[]){ 0, 1, 1 }, 3);
	set_count(t, 0, Q_ASSO, (const double[]){ 0, 0, 0 }, 3);
	set_count(t, 0, Q_AUTRES, (const double[]){ 0, 0, 0 }, 3);
	set_count(t, 0, Q_TX, (const double[]){ 21, 3, 3 }, 3); /* units: its denominator */
	dh_disclosure_table_cell(t, 0, Q_TX)->value = 4.0 / 27.0 * 100.0;
	/* hidden for reasons elsewhere in the table (the hierarchy, in the real case) */
	dh_disclosure_table_cell(t, 0, Q_LOUES)->forced = 1;
	dh_disclosure_table_cell(t, 0, Q_VAC)->forced = 1;
	assert_int_equal(dh_disclosure_table_set_column(t, Q_NB, DH_DISCLOSURE_PUBLIC_STRUCTURE, 1),
	                 DH_OK);
	for (size_t c = Q_LOUES; c <= Q_AUTRES; c++)
		assert_int_equal(dh_disclosure_table_set_column(t, c, DH_DISCLOSURE_LANDLORD_BUSINESS, 1),
		                 DH_OK);
	assert_int_equal(dh_disclosure_table_set_column(t, Q_TX, DH_DISCLOSURE_LANDLORD_BUSINESS, 0),
	                 DH_OK);
	const size_t modes[5] = { Q_LOUES, Q_VAC, Q_VIDES, Q_ASSO, Q_AUTRES };
	assert_int_equal(dh_disclosure_table_add_col_sum(t, Q_NB, modes, 5, NULL), DH_OK);
	if (as_rate) {
		const size_t num[1] = { Q_VAC }, den[2] = { Q_LOUES, Q_VAC };
		assert_int_equal(dh_disclosure_table_add_col_rate(t, Q_TX, num, 1, den, 2, 1, NULL), DH_OK);
	} else {
		const size_t link[3] = { Q_TX, Q_VAC, Q_LOUES };
		assert_int_equal(dh_disclosure_table_add_col_link(t, link, 3, NULL), DH_OK);
	}
	dh_disclosure_policy p = policy_default();
	/* the reported case predates the p% rule, which would hide vides (0/1/1) as well */
	p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].p_percent = 0;
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	return t;
}

/* The attacker: the denominator from the published margin, times the published rate. */
static int quimper_recovers(dh_disclosure_table *t, double *vacants)
{
	for (size_t c = 0; c < Q_COLS; c++)
		if (c != Q_LOUES && c != Q_VAC && dh_disclosure_cell_status(t, 0, c) != DH_DISCLOSURE_PUBLISHED)
			return 0;
	dh_disclosure_table *m = t;
	double den = dh_disclosure_table_cell(m, 0, Q_NB)->value;
	for (size_t c = Q_VIDES; c <= Q_AUTRES; c++)
		den -= dh_disclosure_table_cell(m, 0, c)->value;
	*vacants = dh_disclosure_table_cell(m, 0, Q_TX)->value * den / 100.0;
	return 1;
}

static void test_rate_with_derivable_denominator(void **state)
{
	(void)state;
	double v = -1;
	dh_disclosure_table *t = quimper(0);
	/* the leak as reported: the link is satisfied (two hidden members), the rate published */
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_TX), DH_DISCLOSURE_PUBLISHED);
	assert_true(quimper_recovers(t, &v));
	assert_true(fabs(v - 4.0) < 1e-9);
	dh_disclosure_table_free(t);

	t = quimper(1);
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_LOUES), DH_DISCLOSURE_PRIMARY);
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_VAC), DH_DISCLOSURE_PRIMARY);
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_TX), DH_DISCLOSURE_SECONDARY);
	assert_int_equal(dh_disclosure_cell_reason(t, 0, Q_TX), DH_DISCLOSURE_REASON_RATE);
	assert_false(quimper_recovers(t, &v));
	/* nothing else needed hiding: the margin already has two hidden members */
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_NB), DH_DISCLOSURE_PUBLISHED);
	assert_int_equal(dh_disclosure_cell_status(t, 0, Q_VIDES), DH_DISCLOSURE_PUBLISHED);
	dh_disclosure_table_free(t);
}

/*
 * The other way, iterated with the linear rule: a hidden exact rate gets one of its terms
 * hidden, which leaves the margin nb = loues + vacants + vides + asso + autres with a single
 * hidden member, so one more count goes. An inexact rate (part = QPV count / nb, the QPV
 * count not in the table) hidden alone hides nothing else, and follows its hidden term.
 */
static void test_rate_fixpoint(void **state)
{
	(void)state;
	enum { NB, L, V, VI, AS, AU, TX, PART, NC };
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 1, NC, NULL), DH_OK);
	const uint64_t vals[NC] = { 200, 150, 20, 12, 11, 7, 20, 30 };
	for (size_t c = 0; c < NC; c++) {
		set_plain(t, 0, c, vals[c]);
		assert_int_equal(dh_disclosure_table_set_column(t, c, DH_DISCLOSURE_LANDLORD_BUSINESS,
		                                                c < TX),
		                 DH_OK);
	}
	const size_t modes[5] = { L, V, VI, AS, AU }, num[1] = { V }, den[2] = { L, V },
	             nb[1] = { NB };
	assert_int_equal(dh_disclosure_table_add_col_sum(t, NB, modes, 5, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_rate(t, TX, num, 1, den, 2, 1, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_rate(t, PART, NULL, 0, nb, 1, 0, NULL), DH_OK);
	dh_disclosure_policy p = policy_default();
	dh_disclosure_table_cell(t, 0, TX)->forced = 1;
	dh_disclosure_stats st;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_status(t, 0, TX), DH_DISCLOSURE_PRIMARY);
	size_t hidden_terms = 0, hidden_modes = 0;
	for (size_t k = 0; k < 2; k++)
		hidden_terms += dh_disclosure_cell_status(t, 0, den[k]) != DH_DISCLOSURE_PUBLISHED;
	for (size_t k = 0; k < 5; k++)
		hidden_modes += dh_disclosure_cell_status(t, 0, modes[k]) != DH_DISCLOSURE_PUBLISHED;
	int nb_hidden = dh_disclosure_cell_status(t, 0, NB) != DH_DISCLOSURE_PUBLISHED;
	assert_true(hidden_terms >= 1);
	assert_true(hidden_modes + (size_t)nb_hidden >= 2); /* the margin is not left with one */
	assert_int_equal(st.secondary, hidden_modes + (size_t)nb_hidden +
	                 (dh_disclosure_cell_status(t, 0, PART) != DH_DISCLOSURE_PUBLISHED));
	/* PART follows nb_ls only */
	assert_int_equal(dh_disclosure_cell_status(t, 0, PART),
	                 nb_hidden ? DH_DISCLOSURE_SECONDARY : DH_DISCLOSURE_PUBLISHED);

	dh_disclosure_table_cell(t, 0, TX)->forced = 0;
	dh_disclosure_table_cell(t, 0, PART)->forced = 1;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_int_equal(st.primary, 1);
	assert_int_equal(st.secondary, 0); /* inexact: nothing recomputes it */

	dh_disclosure_table_cell(t, 0, PART)->forced = 0;
	dh_disclosure_table_cell(t, 0, NB)->forced = 1;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_int_equal(dh_disclosure_cell_status(t, 0, PART), DH_DISCLOSURE_SECONDARY);
	assert_int_equal(dh_disclosure_cell_reason(t, 0, PART), DH_DISCLOSURE_REASON_RATE);
	/* nb hidden: a mode goes with it, and if it is loues or vacants, tx_vac follows */
	int term = dh_disclosure_cell_status(t, 0, L) != DH_DISCLOSURE_PUBLISHED ||
	           dh_disclosure_cell_status(t, 0, V) != DH_DISCLOSURE_PUBLISHED;
	assert_int_equal(dh_disclosure_cell_status(t, 0, TX) != DH_DISCLOSURE_PUBLISHED, term);
	dh_disclosure_table_free(t);
}

/*
 * Rows: communes a, b (EPCI E1), c, d (EPCI E2), E1, E2, département D = E1 + E2.
 * E1 is hidden: D - E2 would give it, so E2 is hidden; a + b and c + d would give E1 and
 * E2 back, so the cheaper commune of each pair is hidden too.
 */
static void test_hidden_parent_protected_from_children(void **state)
{
	(void)state;
	enum { A, B, C, D_, E1, E2, DEP };
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 7, 1, NULL), DH_OK);
	const uint64_t v[7] = { 10, 30, 40, 5, 40, 45, 85 };
	for (size_t r = 0; r < 7; r++)
		set_plain(t, r, 0, v[r]);
	dh_disclosure_table_cell(t, E1, 0)->forced = 1;
	assert_int_equal(dh_disclosure_table_set_column(t, 0, DH_DISCLOSURE_PUBLIC_STRUCTURE, 1),
	                 DH_OK);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, E1, (const size_t[]){ A, B }, 2, NULL),
	                 DH_OK);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, E2, (const size_t[]){ C, D_ }, 2, NULL),
	                 DH_OK);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, DEP, (const size_t[]){ E1, E2 }, 2, NULL),
	                 DH_OK);
	dh_disclosure_policy p = policy_default();
	assert_int_equal(dh_disclosure_apply(t, &p, NULL, NULL), DH_OK);
	const dh_disclosure_status want[7] = {
		DH_DISCLOSURE_SECONDARY, DH_DISCLOSURE_PUBLISHED, DH_DISCLOSURE_PUBLISHED,
		DH_DISCLOSURE_SECONDARY, DH_DISCLOSURE_PRIMARY,   DH_DISCLOSURE_SECONDARY,
		DH_DISCLOSURE_PUBLISHED,
	};
	for (size_t r = 0; r < 7; r++)
		assert_int_equal(dh_disclosure_cell_status(t, r, 0), want[r]);
	dh_disclosure_table_free(t);
}

/* Dense Gaussian elimination: is cell `target` determined by the equations (each: first
 * member = sum of the others) once the published cells are known? */
static int determined(const dh_disclosure_table *t, size_t ncells, size_t eq[][8],
                      const size_t *eqlen, size_t neq, size_t target)
{
	double *m = calloc(neq * ncells, sizeof(double));
	assert_non_null(m);
	for (size_t e = 0; e < neq; e++)
		for (size_t k = 0; k < eqlen[e]; k++) {
			size_t cell = eq[e][k];
			size_t r = cell / dh_disclosure_table_cols(t), c = cell % dh_disclosure_table_cols(t);
			if (dh_disclosure_cell_status(t, r, c) != DH_DISCLOSURE_PUBLISHED)
				m[e * ncells + cell] = k == 0 ? 1.0 : -1.0;
		}
	size_t rank = 0;
	int result = 0;
	size_t *piv = malloc(ncells * sizeof(size_t));
	assert_non_null(piv);
	for (size_t c = 0; c < ncells && rank < neq; c++) {
		size_t best = rank;
		for (size_t r = rank; r < neq; r++)
			if (fabs(m[r * ncells + c]) > fabs(m[best * ncells + c]))
				best = r;
		if (fabs(m[best * ncells + c]) < 1e-9)
			continue;
		for (size_t k = 0; k < ncells; k++) {
			double x = m[rank * ncells + k];
			m[rank * ncells + k] = m[best * ncells + k];
			m[best * ncells + k] = x;
		}
		double pv = m[rank * ncells + c];
		for (size_t k = 0; k < ncells; k++)
			m[rank * ncells + k] /= pv;
		for (size_t r = 0; r < neq; r++) {
			double f = m[r * ncells + c];
			if (r != rank && fabs(f) > 1e-12)
				for (size_t k = 0; k < ncells; k++)
					m[r * ncells + k] -= f * m[rank * ncells + k];
		}
		piv[rank++] = c;
	}
	for (size_t r = 0; r < rank; r++) {
		size_t nz = 0;
		for (size_t k = 0; k < ncells; k++)
			nz += fabs(m[r * ncells + k]) > 1e-9;
		if (nz == 1 && piv[r] == target)
			result = 1;
	}
	free(piv);
	free(m);
	return result;
}

/*
 * 5x5 table with margins where every line has 0 or at least 2 hidden cells, yet (1,3) is a
 * bridge between two rectangles: rows 0 + 1 minus columns 0 + 1 give it. Differencing one
 * equation at a time cannot see it; the audit must.
 */
static void test_audit_catches_bridge(void **state)
{
	(void)state;
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, 6, 6, NULL), DH_OK);
	uint64_t ct[6] = { 0 };
	for (size_t r = 0; r < 5; r++) {
		uint64_t rt = 0;
		for (size_t c = 0; c < 5; c++) {
			uint64_t v = 20 + (r * 7 + c * 13) % 31;
			set_plain(t, r, c, v);
			rt += v;
			ct[c] += v;
		}
		set_plain(t, r, 5, rt);
		ct[5] += rt;
	}
	for (size_t c = 0; c < 6; c++)
		set_plain(t, 5, c, ct[c]);
	const size_t parts[5] = { 0, 1, 2, 3, 4 };
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 5, parts, 5, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_sum(t, 5, parts, 5, NULL), DH_OK);
	static const size_t forced[][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 1, 3 },
		                            { 3, 3 }, { 3, 4 }, { 4, 3 }, { 4, 4 } };
	for (size_t i = 0; i < 9; i++)
		dh_disclosure_table_cell(t, forced[i][0], forced[i][1])->forced = 1;
	/* the equations, written independently of the library */
	size_t eq[12][8], eqlen[12], neq = 0;
	for (size_t r = 0; r < 6; r++, neq++) {
		eq[neq][0] = r * 6 + 5;
		for (size_t c = 0; c < 5; c++)
			eq[neq][1 + c] = r * 6 + c;
		eqlen[neq] = 6;
	}
	for (size_t c = 0; c < 6; c++, neq++) {
		eq[neq][0] = 5 * 6 + c;
		for (size_t r = 0; r < 5; r++)
			eq[neq][1 + r] = r * 6 + c;
		eqlen[neq] = 6;
	}
	dh_disclosure_policy p = policy_default();
	p.audit_max_unknowns = 0;
	p.lp_audit = 0;
	dh_disclosure_stats st;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_int_equal(st.secondary, 0);
	assert_true(determined(t, 36, eq, eqlen, neq, 1 * 6 + 3));

	p = policy_default();
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_true(st.audit_added > 0);
	assert_int_equal(st.secondary, st.audit_added + st.lp_added);
	for (size_t cell = 0; cell < 36; cell++)
		if (dh_disclosure_cell_status(t, cell / 6, cell % 6) != DH_DISCLOSURE_PUBLISHED)
			assert_false(determined(t, 36, eq, eqlen, neq, cell));
	size_t audit_reasons = 0;
	for (size_t cell = 0; cell < 36; cell++)
		audit_reasons += dh_disclosure_cell_reason(t, cell / 6, cell % 6) ==
		                 DH_DISCLOSURE_REASON_AUDIT;
	assert_true(audit_reasons > 0);
	dh_disclosure_table_free(t);
}

/*
 * Range of cell `target` for an attacker who knows the published cells of t, the equations
 * eq (eq[k][0] = sum of the others, written from the table's shape, not by the library) and
 * that cells are >= 0: max then min by linear programming (GLPK), every hidden cell unknown.
 */
static void attacker_range(const dh_disclosure_table *t, size_t ncells, size_t eq[][8],
                           const size_t *eqlen, size_t neq, size_t target, double *lo, double *hi)
{
	size_t cols = dh_disclosure_table_cols(t);
	int var[64] = { 0 }, nv = 0;
	for (size_t c = 0; c < ncells; c++)
		if (dh_disclosure_cell_status(t, c / cols, c % cols) != DH_DISCLOSURE_PUBLISHED)
			var[c] = ++nv;
	assert_true(var[target] > 0);
	glp_prob *lp = glp_create_prob();
	glp_add_cols(lp, nv);
	for (int v = 1; v <= nv; v++)
		glp_set_col_bnds(lp, v, GLP_LO, 0, 0);
	glp_add_rows(lp, (int)neq);
	int ia[512], ja[512];
	double ar[512];
	int e = 0;
	for (size_t k = 0; k < neq; k++) {
		double rhs = 0;
		for (size_t m = 0; m < eqlen[k]; m++) {
			size_t c = eq[k][m];
			double coef = m == 0 ? 1 : -1;
			if (var[c]) {
				e++;
				ia[e] = (int)k + 1, ja[e] = var[c], ar[e] = coef;
			} else {
				rhs -= coef * dh_disclosure_table_cell((dh_disclosure_table *)t, c / cols,
				                                       c % cols)->value;
			}
		}
		glp_set_row_bnds(lp, (int)k + 1, GLP_FX, rhs, rhs);
	}
	glp_load_matrix(lp, e, ia, ja, ar);
	glp_set_obj_coef(lp, var[target], 1);
	glp_smcp parm;
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	glp_set_obj_dir(lp, GLP_MAX);
	assert_int_equal(glp_simplex(lp, &parm), 0);
	*hi = glp_get_status(lp) == GLP_UNBND ? INFINITY : glp_get_obj_val(lp);
	glp_set_obj_dir(lp, GLP_MIN);
	assert_int_equal(glp_simplex(lp, &parm), 0);
	*lo = glp_get_obj_val(lp);
	glp_delete_prob(lp);
}

/*
 * Issue 10 point 1, bounds from non-negativity: two one-landlord communes A (loues 9,
 * vacants 0) and B (loues 5, vacants 0) in an EPCI with a third commune C of three landlords;
 * nb_ls public. Every equation has two hidden members, the linear audit finds nothing
 * determined, yet vacants_A + vacants_B = EPCI vacants - vacants_C = 0 pins both hidden zeros
 * (and then loues_A = 9). The interval audit hides more until every sensitive cell keeps its
 * protection interval (at least 1 above its value) for an attacker solving the same LP.
 */
static void test_lp_protects_hidden_zeros(void **state)
{
	(void)state;
	enum { NB, LOUES, VAC, COLS };
	enum { A, B, C, E, ROWS };
	dh_disclosure_table *t = NULL;
	assert_int_equal(dh_disclosure_table_new(&t, ROWS, COLS, NULL), DH_OK);
	const double loues[3][3] = { { 9 }, { 5 }, { 10, 10, 10 } };
	const size_t nl[3] = { 1, 1, 3 };
	for (size_t r = A; r <= C; r++) {
		set_count(t, r, LOUES, loues[r], nl[r]);
		set_count(t, r, NB, loues[r], nl[r]);
		set_count(t, r, VAC, (const double[]){ 0, 0, 0 }, nl[r]);
	}
	set_count(t, E, NB, (const double[]){ 9, 5, 10, 10, 10 }, 5);
	set_count(t, E, LOUES, (const double[]){ 9, 5, 10, 10, 10 }, 5);
	set_count(t, E, VAC, (const double[]){ 0, 0, 0, 0, 0 }, 5);
	assert_int_equal(dh_disclosure_table_set_column(t, NB, DH_DISCLOSURE_PUBLIC_STRUCTURE, 1), DH_OK);
	assert_int_equal(dh_disclosure_table_set_column(t, LOUES, DH_DISCLOSURE_LANDLORD_BUSINESS, 1), DH_OK);
	assert_int_equal(dh_disclosure_table_set_column(t, VAC, DH_DISCLOSURE_LANDLORD_BUSINESS, 1), DH_OK);
	const size_t parts[3] = { A, B, C }, modes[2] = { LOUES, VAC };
	assert_int_equal(dh_disclosure_table_add_row_sum(t, E, parts, 3, NULL), DH_OK);
	assert_int_equal(dh_disclosure_table_add_col_sum(t, NB, modes, 2, NULL), DH_OK);
	size_t eq[8][8], eqlen[8], neq = 0;
	for (size_t c = 0; c < COLS; c++, neq++) {
		eq[neq][0] = E * COLS + c;
		for (size_t r = A; r <= C; r++)
			eq[neq][1 + r] = r * COLS + c;
		eqlen[neq] = 4;
	}
	for (size_t r = 0; r < ROWS; r++, neq++) {
		eq[neq][0] = r * COLS + NB;
		eq[neq][1] = r * COLS + LOUES;
		eq[neq][2] = r * COLS + VAC;
		eqlen[neq] = 3;
	}
	dh_disclosure_policy p = policy_default();
	p.rule[DH_DISCLOSURE_LANDLORD_BUSINESS].p_percent = 0; /* zeros of 3 landlords pass */
	p.mass_rule = 0;
	dh_disclosure_stats st;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	double lo, hi;
	attacker_range(t, ROWS * COLS, eq, eqlen, neq, A * COLS + VAC, &lo, &hi);
	assert_true(hi < 1e-9); /* without the interval rules: pinned at 0 */

	/* the single-equation mass rule alone already sees this one */
	p.mass_rule = 1;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	attacker_range(t, ROWS * COLS, eq, eqlen, neq, A * COLS + VAC, &lo, &hi);
	assert_true(hi >= 1 - 1e-9);

	p.mass_rule = 0;
	p.lp_audit = 1;
	assert_int_equal(dh_disclosure_apply(t, &p, &st, NULL), DH_OK);
	assert_true(st.lp_cells >= 4);
	assert_true(st.lp_added > 0);
	assert_int_equal(st.lp_unresolved, 0);
	size_t checked = 0;
	for (size_t c = 0; c < ROWS * COLS; c++) {
		if (dh_disclosure_cell_status(t, c / COLS, c % COLS) != DH_DISCLOSURE_PRIMARY)
			continue;
		double v = dh_disclosure_table_cell(t, c / COLS, c % COLS)->value;
		attacker_range(t, ROWS * COLS, eq, eqlen, neq, c, &lo, &hi);
		/* at least 1 above, or up to the public nb_ls of its row (known anyway) */
		double nb = dh_disclosure_table_cell(t, c / COLS, NB)->value;
		assert_true(hi >= (v + 1 < nb ? v + 1 : nb) - 1e-9);
		assert_true(lo <= (v > 1 ? v - 1 : 0) + 1e-9);
		checked++;
	}
	assert_int_equal(checked, 4);
	dh_disclosure_table_free(t);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	dh_disclosure_table *t = NULL;
	dh_error err;
	assert_int_equal(dh_disclosure_table_new(&t, 0, 3, &err), DH_INVAL);
	assert_null(t);
	assert_int_equal(dh_disclosure_table_new(&t, (size_t)1 << 20, (size_t)1 << 10, &err),
	                 DH_TOOBIG);
	assert_int_equal(dh_disclosure_table_new(&t, 4, 3, &err), DH_OK);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 3, (const size_t[]){ 0, 0 }, 2, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 3, (const size_t[]){ 0, 3 }, 2, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 3, (const size_t[]){ 0, 4 }, 2, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 4, (const size_t[]){ 0, 1 }, 2, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_row_sum(t, 3, NULL, 0, &err), DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_col_link(t, (const size_t[]){ 1 }, 1, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_col_sum(t, 2, (const size_t[]){ 0, 3 }, 2, &err),
	                 DH_INVAL);
	/* a rate among its own terms, no term, a term out of the table */
	assert_int_equal(dh_disclosure_table_add_col_rate(t, 2, (const size_t[]){ 2 }, 1, NULL, 0, 1,
	                                                  &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_col_rate(t, 2, NULL, 0, NULL, 0, 1, &err), DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_col_rate(t, 2, (const size_t[]){ 0 }, 1,
	                                                  (const size_t[]){ 3 }, 1, 1, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_col_rate(t, 2, (const size_t[]){ 0 }, 1,
	                                                  (const size_t[]){ 0, 1 }, 2, 1, &err),
	                 DH_OK); /* 0 in both lists counts once */
	assert_int_equal(dh_disclosure_table_add_cell_sum(t, 11, (const size_t[]){ 0, 12 }, 2, &err),
	                 DH_INVAL);
	assert_int_equal(dh_disclosure_table_add_cell_sum(t, 11, (const size_t[]){ 0, 5 }, 2, &err),
	                 DH_OK);
	assert_int_equal(dh_disclosure_table_set_column(t, 3, DH_DISCLOSURE_HOUSEHOLD, 1), DH_INVAL);
	assert_int_equal(dh_disclosure_table_set_column(t, 0, DH_DISCLOSURE_CLASS_COUNT, 1),
	                 DH_INVAL);
	assert_null(dh_disclosure_table_cell(t, 4, 0));
	assert_null(dh_disclosure_table_cell(t, 0, 3));
	assert_int_equal(dh_disclosure_cell_status(t, 9, 9), DH_DISCLOSURE_PRIMARY);
	assert_int_equal(dh_disclosure_apply(t, NULL, NULL, &err), DH_INVAL);
	assert_int_equal(dh_disclosure_table_rows(t), 4);
	assert_int_equal(dh_disclosure_table_cols(t), 3);
	dh_disclosure_table_free(t);
	dh_disclosure_table_free(NULL);
}

static void test_french_texts(void **state)
{
	(void)state;
	for (int r = 0; r < DH_DISCLOSURE_REASON_COUNT; r++) {
		const char *s = dh_disclosure_reason_fr((dh_disclosure_reason)r);
		assert_non_null(s);
		for (int q = 0; q < r; q++)
			assert_string_not_equal(s, dh_disclosure_reason_fr((dh_disclosure_reason)q));
	}
	assert_non_null(strstr(dh_disclosure_reason_fr(DH_DISCLOSURE_REASON_LANDLORDS), "bailleur"));
	assert_string_equal(dh_disclosure_status_fr(DH_DISCLOSURE_PRIMARY), "secret statistique");
	assert_string_equal(dh_disclosure_status_fr(DH_DISCLOSURE_SECONDARY), "secret statistique");
	assert_string_equal(dh_disclosure_status_fr(DH_DISCLOSURE_PUBLISHED), "publiée");
	assert_string_equal(dh_disclosure_status_name(DH_DISCLOSURE_SECONDARY), "secondary");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_default),
		cmocka_unit_test(test_cell_add_keeps_top_two),
		cmocka_unit_test(test_primary_rules),
		cmocka_unit_test(test_3x3_known_pattern),
		cmocka_unit_test(test_rate_follows_numerator),
		cmocka_unit_test(test_rate_with_derivable_denominator),
		cmocka_unit_test(test_rate_fixpoint),
		cmocka_unit_test(test_hidden_parent_protected_from_children),
		cmocka_unit_test(test_audit_catches_bridge),
		cmocka_unit_test(test_lp_protects_hidden_zeros),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_french_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
