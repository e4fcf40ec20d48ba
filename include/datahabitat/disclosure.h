/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure.h - statistical disclosure control: decides which cells of an aggregate table
 * may be shown to an audience that does not own all the rows behind it (domain.md §7).
 *
 * The caller (the cube layer) describes a table of rows x columns:
 *   - each cell carries its published value and what the rules need: contributing units
 *     (dwellings or households), contributing landlords, the two largest single-landlord
 *     contributions and the cell total they are shares of;
 *   - each column has a sensitivity class (public structure, landlord business, household)
 *     and says whether it is additive (counts, sums) or not (rates, means);
 *   - the additive structure: rows that are sums of other rows (commune ⊂ EPCI ⊂ département
 *     ⊂ région ⊂ total), columns that are sums of other columns (loues + vacants + ... =
 *     nb_ls), columns linked by a formula (a rate, its numerator and its denominator) and,
 *     for anything else, sums between arbitrary cells.
 * dh_disclosure_apply() then flags every cell published, suppressed by the rules (primary)
 * or suppressed to protect another cell (secondary), so that no hidden cell can be
 * recomputed exactly from the published cells along any declared relation, and (within
 * the audit limits of the policy) from the published system as a whole. The output layer
 * writes "secret" (JSON) or an empty value plus a flag column (CSV) for hidden cells.
 * See docs/disclosure.md for the algorithm, its guarantees and its limits.
 *
 * Filling is meant to be cheap from a group-by: cells are one row-major array the caller
 * writes in place (dh_disclosure_table_cells), one dh_disclosure_cell_add() call per
 * (cell, landlord) aggregate; the structure is declared once and kept across
 * dh_disclosure_table_reset(), so a table shape can be reused for query after query.
 *
 * Thread safety: a table is used by one thread at a time; distinct tables are independent;
 * a policy is only read.
 */
#ifndef DATAHABITAT_DISCLOSURE_H
#define DATAHABITAT_DISCLOSURE_H

#include "datahabitat/base.h"

/* Sensitivity class of a column (an indicator). */
typedef enum dh_disclosure_class {
	DH_DISCLOSURE_CLASS_UNSET = 0,   /* not declared: every class's rule applies (fail closed) */
	DH_DISCLOSURE_PUBLIC_STRUCTURE,  /* stock structure, public per dwelling without landlord */
	DH_DISCLOSURE_LANDLORD_BUSINESS, /* rents, vacancy, turnover... across landlords */
	DH_DISCLOSURE_HOUSEHOLD,         /* demands, allocations, move-ins, incomes */
	DH_DISCLOSURE_CLASS_COUNT
} dh_disclosure_class;

/* What the audience may see of a cell. */
typedef enum dh_disclosure_status {
	DH_DISCLOSURE_PUBLISHED = 0, /* the value may be shown */
	DH_DISCLOSURE_PRIMARY,       /* hidden: fails a rule of its class */
	DH_DISCLOSURE_SECONDARY      /* hidden: would let someone recompute a hidden cell */
} dh_disclosure_status;

/* Why a cell has its status (dh_disclosure_reason_fr gives the French text). */
typedef enum dh_disclosure_reason {
	DH_DISCLOSURE_REASON_NONE = 0,  /* published */
	DH_DISCLOSURE_REASON_EMPTY,     /* published: no unit, nothing to protect */
	DH_DISCLOSURE_REASON_UNITS,     /* primary: fewer units than the class threshold */
	DH_DISCLOSURE_REASON_LANDLORDS, /* primary: fewer contributing landlords than required */
	DH_DISCLOSURE_REASON_DOMINANCE, /* primary: the n largest landlords hold more than k % */
	DH_DISCLOSURE_REASON_FORCED,    /* primary: the caller asked for it (cell->forced) */
	DH_DISCLOSURE_REASON_RELATION,  /* secondary: one equation had a single hidden member */
	DH_DISCLOSURE_REASON_AUDIT,     /* secondary: the audit found a cell determined by
	                                   several equations together */
	DH_DISCLOSURE_REASON_RATE,      /* secondary: a rate or mean one of whose terms is hidden */
	DH_DISCLOSURE_REASON_PPERCENT,  /* primary: the second largest landlord, knowing its own
	                                   figure, would estimate the largest within p % */
	DH_DISCLOSURE_REASON_INTERVAL,  /* secondary: the linear-programming audit found a
	                                   sensitive cell narrowed below its protection interval */
	DH_DISCLOSURE_REASON_COUNT
} dh_disclosure_reason;

/*
 * One cell. The caller fills the inputs; dh_disclosure_apply() sets status and reason.
 * An all-zero cell is a valid empty cell (no unit, no landlord: published as is).
 */
typedef struct dh_disclosure_cell {
	double value;       /* the figure to publish (count, rate, mean...); not read by the rules */
	double total;       /* magnitude the dominance rule compares with (sum of contributions) */
	double top[2];      /* largest and second largest single-landlord contributions to total */
	uint64_t units;     /* contributing units (dwellings or households); also the cost of
	                       hiding the cell when a secondary suppression is chosen */
	uint32_t landlords; /* distinct landlords with units in the cell's population */
	uint8_t forced;     /* 1: hide whatever the rules say (primary, reason FORCED) */
	uint8_t status;     /* output: enum dh_disclosure_status */
	uint8_t reason;     /* output: enum dh_disclosure_reason */
} dh_disclosure_cell;

/*
 * Add one landlord's aggregate to a cell: landlords + 1, units + units, total + amount,
 * top[] updated. Call it once per (cell, landlord) pair, e.g. while walking a
 * (territory, landlord) group-by. amount is the landlord's contribution to the magnitude
 * the dominance rule protects (its dwellings, its rent sum...).
 */
void dh_disclosure_cell_add(dh_disclosure_cell *cell, uint64_t units, double amount);

/* The rule of one sensitivity class. A zero field disables that part of the rule. */
typedef struct dh_disclosure_rule {
	uint64_t min_units;     /* a cell needs at least this many units */
	uint32_t min_landlords; /* ... at least this many contributing landlords */
	uint32_t dominance_n;   /* (n,k) rule: the n largest landlords (1 or 2) ... */
	double dominance_k;     /* ... may not hold more than k % of the cell total */
	double p_percent;       /* p% rule: total - top[0] - top[1] must be at least p % of
	                           top[0] (the runner-up, subtracting its own figure, may not
	                           estimate the largest within p %); 0 disables it */
} dh_disclosure_rule;

typedef struct dh_disclosure_policy {
	dh_disclosure_rule rule[DH_DISCLOSURE_CLASS_COUNT]; /* by class; [UNSET] is ignored: an
	                                                       unset column gets all rules */
	uint32_t audit_max_unknowns; /* exact linear audit of each group of linked hidden cells
	                                up to this size (0: no audit; see docs/disclosure.md) */
	int mass_rule;               /* 1: in a sum with a known total, the other hidden parts
	                                must weigh at least a sensitive part's protection level
	                                (hidden zeros under a published 0; cheap, default 1) */
	int lp_audit;                /* 1: protection intervals audited by linear programming */
	uint32_t lp_neighbourhood;   /* hidden cells left unknown around each audited cell (the
	                                others are taken as known to the attacker: safe side) */
	double min_protection;       /* smallest protection level of a sensitive cell (1: a
	                                hidden count, zero included, is never pinned) */
} dh_disclosure_policy;

/*
 * The defaults of domain.md §7: public structure, no threshold; landlord business, at
 * least 3 landlords, no landlord above 85 % (n = 1, k = 85) and the p% rule with p = 10;
 * household, at least 11 households; exact audit of groups of up to 300 linked hidden cells;
 * minimum protection level 1; the linear-programming audit of protection intervals is off
 * (lp_audit 0: at région size it costs minutes, see docs/disclosure.md; neighbourhood 4096).
 */
void dh_disclosure_policy_default(dh_disclosure_policy *policy);

typedef struct dh_disclosure_table dh_disclosure_table;

/* Bounds: a hostile or mistaken caller gets DH_TOOBIG, never an overflow. */
#define DH_DISCLOSURE_MAX_CELLS ((size_t)1 << 26)   /* rows x cols */
#define DH_DISCLOSURE_MAX_MEMBERS ((size_t)1 << 28) /* members of all expanded relations */

/*
 * Create a table of rows x cols empty cells, every column UNSET and additive, no relation.
 * Returns DH_OK, DH_INVAL (0 rows or cols), DH_TOOBIG (more than DH_DISCLOSURE_MAX_CELLS),
 * DH_NOMEM. Free with dh_disclosure_table_free() (NULL is a no-op).
 */
int dh_disclosure_table_new(dh_disclosure_table **out, size_t rows, size_t cols, dh_error *err);
void dh_disclosure_table_free(dh_disclosure_table *table);

/* Zero every cell (inputs and outputs) and keep columns and relations, for the next query. */
void dh_disclosure_table_reset(dh_disclosure_table *table);

size_t dh_disclosure_table_rows(const dh_disclosure_table *table);
size_t dh_disclosure_table_cols(const dh_disclosure_table *table);

/*
 * The cells, row-major: cell (row, col) is at row * cols + col. Borrowed: valid until
 * dh_disclosure_table_free(); the caller writes inputs in place.
 */
dh_disclosure_cell *dh_disclosure_table_cells(dh_disclosure_table *table);
/* One cell, or NULL when row or col is out of range. Same lifetime. */
dh_disclosure_cell *dh_disclosure_table_cell(dh_disclosure_table *table, size_t row, size_t col);

/*
 * Declare a column's sensitivity class and whether it is additive (counts and sums take
 * part in row sums; rates and means do not). DH_INVAL for a bad column or class.
 */
int dh_disclosure_table_set_column(dh_disclosure_table *table, size_t col,
                                   dh_disclosure_class cls, int additive);

/*
 * Declare that row total_row is the sum of the n rows child_rows, in every additive column
 * (an EPCI and its communes, a département and its EPCI, the grand total and the régions).
 * Declare every sum that holds, including across levels if the levels do not nest.
 * The col variant: column total_col is the sum of the n columns comp_cols, in every row
 * (loues + vacants + vides + asso + autres = nb_ls). n >= 1, indexes in range, the total
 * not among its parts, else DH_INVAL. Arrays are copied.
 */
int dh_disclosure_table_add_row_sum(dh_disclosure_table *table, size_t total_row,
                                    const size_t *child_rows, size_t n, dh_error *err);
int dh_disclosure_table_add_col_sum(dh_disclosure_table *table, size_t total_col,
                                    const size_t *comp_cols, size_t n, dh_error *err);

/*
 * Declare that the n >= 2 columns cols are linked by a formula in every row, so that any
 * n - 1 of them give the last one, and nothing else. Not enough for a rate whose
 * denominator is a sum of columns (the sum may be known while its parts are hidden): use
 * dh_disclosure_table_add_col_rate() for rates and means.
 */
int dh_disclosure_table_add_col_link(dh_disclosure_table *table, const size_t *cols, size_t n,
                                     dh_error *err);

/*
 * Declare a rate or mean column (non-additive) and the count columns its terms are made of:
 * rate = f(Σ num_cols) / Σ den_cols. A rate is a non-linear relation: published with its
 * denominator derivable from linear relations (den = nb_ls - vides - asso - autres), it gives
 * the numerator back (num = rate x den), whatever the single-equation rule says. So, in every
 * row, at every stage of secondary suppression (fixpoint and audit):
 *   - the rate is hidden (SECONDARY, reason RATE) as soon as one of num_cols or den_cols is
 *     hidden, primary or secondary;
 *   - when exact is 1 (the rate is computed from these columns alone, e.g. tx_vac =
 *     vacants / (loues + vacants)), a hidden rate whose columns are all published gets one
 *     of them hidden too, so that it cannot be recomputed.
 * Use exact = 0 when a term is not a column of the table (part_qpv: QPV count / nb_ls; give
 * nb_ls as den_cols), or when the columns only describe the rate's population. A column in
 * both lists counts once. nnum + nden >= 1; columns in range, distinct from rate_col, else
 * DH_INVAL. Prefer this to dh_disclosure_table_add_col_link() for rates and means.
 */
int dh_disclosure_table_add_col_rate(dh_disclosure_table *table, size_t rate_col,
                                     const size_t *num_cols, size_t nnum, const size_t *den_cols,
                                     size_t nden, int exact, dh_error *err);

/*
 * Declare that column col is at most the sum of the n columns cols in every row (a count
 * of a sub-population: vacants_3m <= vacants). Used by the linear-programming audit (an
 * attacker knows it); the single-equation fixpoint ignores it.
 */
int dh_disclosure_table_add_col_bound(dh_disclosure_table *table, size_t col, const size_t *cols,
                                      size_t n, dh_error *err);

/*
 * Declare that cell total_cell is the sum of the n cells cells (indexes row * cols + col),
 * for relations the other forms cannot say: e.g. a table holding a query with and without
 * a filter (all dwellings = collective + individual) so that both can be published.
 */
int dh_disclosure_table_add_cell_sum(dh_disclosure_table *table, size_t total_cell,
                                     const size_t *cells, size_t n, dh_error *err);

typedef struct dh_disclosure_stats {
	size_t cells;          /* rows x cols */
	size_t empty;          /* published because empty */
	size_t primary;        /* hidden by the rules */
	size_t secondary;      /* hidden to protect them (relation + audit) */
	size_t audit_added;    /* of which added by the audit */
	size_t relations;      /* expanded equations checked */
	size_t audit_groups;   /* groups of linked hidden cells audited exactly */
	size_t audit_skipped;  /* groups larger than audit_max_unknowns, not audited */
	size_t lp_cells;       /* sensitive cells whose protection interval was audited */
	size_t lp_solves;      /* linear programs solved */
	size_t lp_added;       /* secondary cells added by the interval audit */
	size_t lp_unresolved;  /* sensitive cells still too narrow (nothing left to hide near
	                          them, or 16 repairs): 0 is the guarantee */
} dh_disclosure_stats;

/*
 * Flag every cell: primary suppression by the policy's rules, then secondary suppression
 * to a fixpoint (no declared relation with exactly one hidden member), then the audit.
 * Deterministic: the same table and policy give the same flags.
 * Returns DH_OK, DH_INVAL (NULL table or policy, bad rule), DH_TOOBIG (relations expand to
 * more than DH_DISCLOSURE_MAX_MEMBERS), DH_NOMEM (flags are then all set to SECONDARY:
 * fail closed). stats may be NULL.
 */
int dh_disclosure_apply(dh_disclosure_table *table, const dh_disclosure_policy *policy,
                        dh_disclosure_stats *stats, dh_error *err);

/*
 * The two stages of dh_disclosure_apply, for analysis and tests: primary flags every cell
 * PUBLISHED or PRIMARY; secondary then adds SECONDARY cells (fixpoint, then audit) on top
 * of the current flags (cells the caller set PRIMARY by hand are respected).
 * Same result codes.
 */
int dh_disclosure_primary(dh_disclosure_table *table, const dh_disclosure_policy *policy,
                          dh_disclosure_stats *stats, dh_error *err);
int dh_disclosure_secondary(dh_disclosure_table *table, const dh_disclosure_policy *policy,
                            dh_disclosure_stats *stats, dh_error *err);

/* Status and reason of cell (row, col) after dh_disclosure_apply; PRIMARY / FORCED when out
 * of range (fail closed). */
dh_disclosure_status dh_disclosure_cell_status(const dh_disclosure_table *table, size_t row,
                                               size_t col);
dh_disclosure_reason dh_disclosure_cell_reason(const dh_disclosure_table *table, size_t row,
                                               size_t col);

/*
 * French text of a reason, for reports to internal audiences ("secret primaire : moins de
 * bailleurs contributeurs que le seuil"). Public outputs should show only
 * dh_disclosure_status_fr(): the detailed reason bounds the hidden value. Never NULL.
 */
const char *dh_disclosure_reason_fr(dh_disclosure_reason reason);
/* "publiée" or "secret statistique". Never NULL. */
const char *dh_disclosure_status_fr(dh_disclosure_status status);
/* Short machine name of a status: "published", "primary", "secondary". Never NULL. */
const char *dh_disclosure_status_name(dh_disclosure_status status);

#endif
