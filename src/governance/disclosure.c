/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * disclosure.c - statistical disclosure control: the table and its declared relations,
 * primary suppression by the rules of each sensitivity class, and secondary suppression
 * to a fixpoint where no declared equation has exactly one hidden member and no rate is
 * published next to a hidden term.
 * The exact multi-equation audit lives in disclosure_audit.c. See docs/disclosure.md.
 */
#include "governance/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dh_disclosure_policy_default(dh_disclosure_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->rule[DH_DISCLOSURE_LANDLORD_BUSINESS].min_landlords = 3;
	policy->rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_n = 1;
	policy->rule[DH_DISCLOSURE_LANDLORD_BUSINESS].dominance_k = 85.0;
	policy->rule[DH_DISCLOSURE_HOUSEHOLD].min_units = 11;
	policy->audit_max_unknowns = 300;
}

void dh_disclosure_cell_add(dh_disclosure_cell *cell, uint64_t units, double amount)
{
	cell->landlords++;
	cell->units += units;
	cell->total += amount;
	if (amount > cell->top[0]) {
		cell->top[1] = cell->top[0];
		cell->top[0] = amount;
	} else if (amount > cell->top[1]) {
		cell->top[1] = amount;
	}
}

/* ---- table and declarations ---- */

int dh_disclosure_table_new(dh_disclosure_table **out, size_t rows, size_t cols, dh_error *err)
{
	*out = NULL;
	if (rows == 0 || cols == 0)
		return dh_error_set(err, DH_INVAL, "table de diffusion vide (%zu x %zu)", rows, cols);
	if (rows > DH_DISCLOSURE_MAX_CELLS / cols)
		return dh_error_set(err, DH_TOOBIG, "table de diffusion trop grande (%zu x %zu)",
		                    rows, cols);
	dh_disclosure_table *t = calloc(1, sizeof(*t));
	if (!t)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la table de diffusion");
	t->rows = rows;
	t->cols = cols;
	t->ncells = rows * cols;
	t->cells = calloc(t->ncells, sizeof(*t->cells));
	t->col_class = calloc(cols, 1);
	t->col_additive = malloc(cols);
	if (!t->cells || !t->col_class || !t->col_additive) {
		dh_disclosure_table_free(t);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la table de diffusion");
	}
	memset(t->col_additive, 1, cols);
	t->dirty = 1;
	*out = t;
	return DH_OK;
}

static void free_relations(dh_disclosure_table *t)
{
	free(t->rel_off);
	free(t->rel_mem);
	free(t->rel_kind);
	free(t->cell_off);
	free(t->cell_rel);
	t->rel_off = t->rel_mem = t->cell_off = t->cell_rel = NULL;
	t->rel_kind = NULL;
	t->nrel = 0;
	t->dirty = 1;
}

void dh_disclosure_table_free(dh_disclosure_table *t)
{
	if (!t)
		return;
	free_relations(t);
	free(t->cells);
	free(t->col_class);
	free(t->col_additive);
	free(t->decls);
	free(t->decl_idx);
	free(t);
}

void dh_disclosure_table_reset(dh_disclosure_table *t)
{
	memset(t->cells, 0, t->ncells * sizeof(*t->cells));
}

size_t dh_disclosure_table_rows(const dh_disclosure_table *t)
{
	return t->rows;
}

size_t dh_disclosure_table_cols(const dh_disclosure_table *t)
{
	return t->cols;
}

dh_disclosure_cell *dh_disclosure_table_cells(dh_disclosure_table *t)
{
	return t->cells;
}

dh_disclosure_cell *dh_disclosure_table_cell(dh_disclosure_table *t, size_t row, size_t col)
{
	if (row >= t->rows || col >= t->cols)
		return NULL;
	return &t->cells[row * t->cols + col];
}

int dh_disclosure_table_set_column(dh_disclosure_table *t, size_t col, dh_disclosure_class cls,
                                   int additive)
{
	if (col >= t->cols || (int)cls < 0 || cls >= DH_DISCLOSURE_CLASS_COUNT)
		return DH_INVAL;
	t->col_class[col] = (uint8_t)cls;
	if (t->col_additive[col] != (additive != 0))
		t->dirty = 1;
	t->col_additive[col] = additive != 0;
	return DH_OK;
}

/* Check indexes < limit, distinct, total (if any) not among them; then append the decl. */
static int add_decl(dh_disclosure_table *t, uint8_t kind, size_t total, int has_total,
                    const size_t *parts, size_t n, size_t limit, size_t min_n, dh_error *err)
{
	if (n < min_n || !parts)
		return dh_error_set(err, DH_INVAL, "relation de diffusion avec %zu membre(s)", n);
	if (n > DH_DISCLOSURE_MAX_MEMBERS)
		return dh_error_set(err, DH_TOOBIG, "relation de diffusion trop longue (%zu)", n);
	if (has_total && total >= limit)
		return dh_error_set(err, DH_INVAL, "total hors de la table (%zu >= %zu)", total, limit);
	uint8_t *seen = calloc(limit, 1);
	if (!seen)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la relation");
	if (has_total)
		seen[total] = 1;
	for (size_t i = 0; i < n; i++) {
		if (parts[i] >= limit || seen[parts[i]]) {
			int bad = parts[i] >= limit;
			size_t v = parts[i];
			free(seen);
			return dh_error_set(err, DH_INVAL, bad ? "membre hors de la table (%zu)"
			                                       : "membre répété ou égal au total (%zu)", v);
		}
		seen[parts[i]] = 1;
	}
	free(seen);
	if (t->ndecls == t->decls_cap) {
		size_t cap = t->decls_cap ? t->decls_cap * 2 : 16;
		decl *d = realloc(t->decls, cap * sizeof(*d));
		if (!d)
			return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la relation");
		t->decls = d;
		t->decls_cap = cap;
	}
	if (n > t->idx_cap - t->idx_len) {
		size_t cap = t->idx_cap ? t->idx_cap : 64;
		while (cap - t->idx_len < n)
			cap *= 2;
		size_t *p = realloc(t->decl_idx, cap * sizeof(*p));
		if (!p)
			return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la relation");
		t->decl_idx = p;
		t->idx_cap = cap;
	}
	memcpy(t->decl_idx + t->idx_len, parts, n * sizeof(*parts));
	t->decls[t->ndecls++] = (decl){ kind, total, t->idx_len, n };
	t->idx_len += n;
	t->dirty = 1;
	return DH_OK;
}

int dh_disclosure_table_add_row_sum(dh_disclosure_table *t, size_t total_row,
                                    const size_t *child_rows, size_t n, dh_error *err)
{
	return add_decl(t, DECL_ROW_SUM, total_row, 1, child_rows, n, t->rows, 1, err);
}

int dh_disclosure_table_add_col_sum(dh_disclosure_table *t, size_t total_col,
                                    const size_t *comp_cols, size_t n, dh_error *err)
{
	return add_decl(t, DECL_COL_SUM, total_col, 1, comp_cols, n, t->cols, 1, err);
}

int dh_disclosure_table_add_col_link(dh_disclosure_table *t, const size_t *cols, size_t n,
                                     dh_error *err)
{
	return add_decl(t, DECL_COL_LINK, 0, 0, cols, n, t->cols, 2, err);
}

int dh_disclosure_table_add_col_rate(dh_disclosure_table *t, size_t rate_col,
                                     const size_t *num_cols, size_t nnum, const size_t *den_cols,
                                     size_t nden, int exact, dh_error *err)
{
	if ((nnum && !num_cols) || (nden && !den_cols) || nnum > t->cols || nden > t->cols)
		return dh_error_set(err, DH_INVAL, "taux : colonnes absentes ou trop nombreuses");
	size_t *cols = malloc((nnum + nden + 1) * sizeof(size_t));
	if (!cols)
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour la relation");
	size_t n = 0;
	for (size_t i = 0; i < nnum + nden; i++) {
		size_t c = i < nnum ? num_cols[i] : den_cols[i - nnum];
		int dup = 0;
		for (size_t k = 0; k < n && !dup; k++)
			dup = cols[k] == c;
		if (!dup)
			cols[n++] = c;
	}
	int rc = add_decl(t, exact ? DECL_COL_RATE_EXACT : DECL_COL_RATE, rate_col, 1, cols, n,
	                  t->cols, 1, err);
	free(cols);
	return rc;
}

int dh_disclosure_table_add_cell_sum(dh_disclosure_table *t, size_t total_cell,
                                     const size_t *cells, size_t n, dh_error *err)
{
	return add_decl(t, DECL_CELL_SUM, total_cell, 1, cells, n, t->ncells, 1, err);
}

/* ---- expansion of the declarations into relations between cells ---- */

/* Number of relations and members a declaration expands to. */
static void decl_size(const dh_disclosure_table *t, const decl *d, size_t *nrel, size_t *nmem)
{
	size_t per = d->kind == DECL_COL_LINK ? d->n : d->n + 1;
	size_t count = 1;
	if (d->kind == DECL_ROW_SUM) {
		count = 0;
		for (size_t c = 0; c < t->cols; c++)
			count += t->col_additive[c];
	} else if (d->kind != DECL_CELL_SUM) {
		count = t->rows;
	}
	*nrel = count;
	*nmem = count > 0 && per > SIZE_MAX / count ? SIZE_MAX : per * count;
}

static int build_relations(dh_disclosure_table *t, dh_error *err)
{
	if (!t->dirty)
		return DH_OK;
	free_relations(t);
	size_t nrel = 0, nmem = 0;
	for (size_t i = 0; i < t->ndecls; i++) {
		size_t r, m;
		decl_size(t, &t->decls[i], &r, &m);
		if (m > DH_DISCLOSURE_MAX_MEMBERS - nmem)
			return dh_error_set(err, DH_TOOBIG,
			                    "relations de diffusion trop nombreuses (plus de %zu membres)",
			                    (size_t)DH_DISCLOSURE_MAX_MEMBERS);
		nrel += r;
		nmem += m;
	}
	t->rel_off = malloc((nrel + 1) * sizeof(uint32_t));
	t->rel_mem = malloc((nmem ? nmem : 1) * sizeof(uint32_t));
	t->rel_kind = malloc(nrel ? nrel : 1);
	t->cell_off = calloc(t->ncells + 1, sizeof(uint32_t));
	t->cell_rel = malloc((nmem ? nmem : 1) * sizeof(uint32_t));
	if (!t->rel_off || !t->rel_mem || !t->rel_kind || !t->cell_off || !t->cell_rel) {
		free_relations(t);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour les relations");
	}
	size_t k = 0, m = 0;
	for (size_t i = 0; i < t->ndecls; i++) {
		const decl *d = &t->decls[i];
		const size_t *p = t->decl_idx + d->first;
		switch (d->kind) {
		case DECL_ROW_SUM:
			for (size_t c = 0; c < t->cols; c++) {
				if (!t->col_additive[c])
					continue;
				t->rel_off[k] = (uint32_t)m;
				t->rel_kind[k++] = REL_SUM;
				t->rel_mem[m++] = (uint32_t)(d->total * t->cols + c);
				for (size_t j = 0; j < d->n; j++)
					t->rel_mem[m++] = (uint32_t)(p[j] * t->cols + c);
			}
			break;
		case DECL_COL_SUM:
		case DECL_COL_LINK:
		case DECL_COL_RATE:
		case DECL_COL_RATE_EXACT:
			for (size_t r = 0; r < t->rows; r++) {
				t->rel_off[k] = (uint32_t)m;
				t->rel_kind[k++] = d->kind == DECL_COL_SUM ? REL_SUM
				                   : d->kind == DECL_COL_LINK ? REL_LINK
				                   : d->kind == DECL_COL_RATE ? REL_RATE : REL_RATE_EXACT;
				if (d->kind != DECL_COL_LINK) /* the total, or the rate */
					t->rel_mem[m++] = (uint32_t)(r * t->cols + d->total);
				for (size_t j = 0; j < d->n; j++)
					t->rel_mem[m++] = (uint32_t)(r * t->cols + p[j]);
			}
			break;
		default: /* DECL_CELL_SUM */
			t->rel_off[k] = (uint32_t)m;
			t->rel_kind[k++] = REL_SUM;
			t->rel_mem[m++] = (uint32_t)d->total;
			for (size_t j = 0; j < d->n; j++)
				t->rel_mem[m++] = (uint32_t)p[j];
			break;
		}
	}
	t->rel_off[k] = (uint32_t)m;
	t->nrel = k;
	/* reverse index: relations of each cell, in relation order (counting sort) */
	for (size_t j = 0; j < m; j++)
		t->cell_off[t->rel_mem[j] + 1]++;
	for (size_t c = 0; c < t->ncells; c++)
		t->cell_off[c + 1] += t->cell_off[c];
	uint32_t *fill = malloc((t->ncells ? t->ncells : 1) * sizeof(uint32_t));
	if (!fill) {
		free_relations(t);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour les relations");
	}
	memcpy(fill, t->cell_off, t->ncells * sizeof(uint32_t));
	for (size_t r = 0; r < k; r++)
		for (uint32_t j = t->rel_off[r]; j < t->rel_off[r + 1]; j++)
			t->cell_rel[fill[t->rel_mem[j]]++] = (uint32_t)r;
	free(fill);
	t->dirty = 0;
	return DH_OK;
}

/* ---- primary suppression ---- */

static int rule_valid(const dh_disclosure_rule *r)
{
	if (r->dominance_n > 2)
		return 0;
	if (r->dominance_n && !(r->dominance_k >= 0.0 && r->dominance_k <= 100.0))
		return 0;
	return 1;
}

/* Reason a cell fails rule r, or REASON_NONE. */
static uint8_t check_rule(const dh_disclosure_rule *r, const dh_disclosure_cell *c)
{
	if (r->min_landlords && c->landlords < r->min_landlords)
		return DH_DISCLOSURE_REASON_LANDLORDS;
	if (r->min_units && c->units < r->min_units)
		return DH_DISCLOSURE_REASON_UNITS;
	if (r->dominance_n && c->total > 0.0) {
		double top = c->top[0] + (r->dominance_n == 2 ? c->top[1] : 0.0);
		/* NaN contributions fail closed: the comparison below is false for NaN */
		if (!(top * 100.0 <= r->dominance_k * c->total))
			return DH_DISCLOSURE_REASON_DOMINANCE;
	}
	return DH_DISCLOSURE_REASON_NONE;
}

int dh_disclosure_primary(dh_disclosure_table *t, const dh_disclosure_policy *policy,
                          dh_disclosure_stats *stats, dh_error *err)
{
	if (!t || !policy)
		return dh_error_set(err, DH_INVAL, "table ou politique de diffusion absente");
	for (int k = 0; k < DH_DISCLOSURE_CLASS_COUNT; k++)
		if (!rule_valid(&policy->rule[k]))
			return dh_error_set(err, DH_INVAL,
			                    "règle de dominance invalide pour la classe %d (n 1 ou 2, "
			                    "k entre 0 et 100)", k);
	dh_disclosure_stats local = { 0 };
	local.cells = t->ncells;
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t col = 0; col < t->cols; col++) {
			dh_disclosure_cell *c = &t->cells[r * t->cols + col];
			uint8_t reason = DH_DISCLOSURE_REASON_NONE;
			if (c->forced) {
				reason = DH_DISCLOSURE_REASON_FORCED;
			} else if (c->units == 0 && c->landlords == 0) {
				c->status = DH_DISCLOSURE_PUBLISHED;
				c->reason = DH_DISCLOSURE_REASON_EMPTY;
				local.empty++;
				continue;
			} else if (t->col_class[col] == DH_DISCLOSURE_CLASS_UNSET) {
				for (int k = 1; k < DH_DISCLOSURE_CLASS_COUNT && !reason; k++)
					reason = check_rule(&policy->rule[k], c);
			} else {
				reason = check_rule(&policy->rule[t->col_class[col]], c);
			}
			c->status = reason ? DH_DISCLOSURE_PRIMARY : DH_DISCLOSURE_PUBLISHED;
			c->reason = reason;
			local.primary += reason != DH_DISCLOSURE_REASON_NONE;
		}
	}
	if (stats) {
		stats->cells = local.cells;
		stats->empty = local.empty;
		stats->primary = local.primary;
	}
	return DH_OK;
}

/* ---- secondary suppression ---- */

void dh__disclosure_hide(secondary_state *s, uint32_t cell, uint8_t reason)
{
	dh_disclosure_table *t = s->t;
	t->cells[cell].status = DH_DISCLOSURE_SECONDARY;
	t->cells[cell].reason = reason;
	s->added++;
	for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1]; j++) {
		uint32_t rel = t->cell_rel[j];
		if (++s->hidden_count[rel] == 1)
			s->queue[s->qtail++] = rel;
	}
}

/* How a candidate compares: lower is better on each key, in order. */
typedef struct candidate {
	uint32_t cell;
	int zero;      /* no unit: hiding it protects nothing (a known zero stays known) */
	uint64_t cost; /* units: information lost */
	uint32_t fixes; /* relations with a single hidden member this cell would fix */
	uint32_t degree; /* relations the cell is in: the fewer, the less cascading */
} candidate;

static candidate describe(const secondary_state *s, uint32_t cell)
{
	const dh_disclosure_table *t = s->t;
	candidate c = { cell, t->cells[cell].units == 0, t->cells[cell].units, 0, 0 };
	for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1]; j++)
		c.fixes += s->hidden_count[t->cell_rel[j]] == 1;
	c.degree = t->cell_off[cell + 1] - t->cell_off[cell];
	return c;
}

static int better(const candidate *a, const candidate *b)
{
	if (a->zero != b->zero)
		return a->zero < b->zero;
	/* cost per relation fixed: cost_a / fixes_a < cost_b / fixes_b */
	double ca = (double)a->cost * (double)(b->fixes ? b->fixes : 1);
	double cb = (double)b->cost * (double)(a->fixes ? a->fixes : 1);
	if (ca != cb)
		return ca < cb;
	if (a->degree != b->degree)
		return a->degree < b->degree;
	return a->cell < b->cell;
}

uint32_t dh__disclosure_pick(const secondary_state *s, uint32_t rel)
{
	const dh_disclosure_table *t = s->t;
	candidate best = { UINT32_MAX, 0, 0, 0, 0 };
	for (uint32_t j = t->rel_off[rel]; j < t->rel_off[rel + 1]; j++) {
		uint32_t cell = t->rel_mem[j];
		if (cell_hidden(&t->cells[cell]))
			continue;
		candidate c = describe(s, cell);
		if (best.cell == UINT32_MAX || better(&c, &best))
			best = c;
	}
	return best.cell;
}

uint32_t dh__disclosure_pick_around(const secondary_state *s, uint32_t cell)
{
	const dh_disclosure_table *t = s->t;
	candidate best = { UINT32_MAX, 0, 0, 0, 0 };
	for (uint32_t j = t->cell_off[cell]; j < t->cell_off[cell + 1]; j++) {
		uint32_t rel = t->cell_rel[j];
		for (uint32_t k = t->rel_off[rel]; k < t->rel_off[rel + 1]; k++) {
			uint32_t m = t->rel_mem[k];
			if (cell_hidden(&t->cells[m]))
				continue;
			candidate c = describe(s, m);
			if (best.cell == UINT32_MAX || better(&c, &best))
				best = c;
		}
	}
	return best.cell;
}

/* A rate relation with some member hidden: the rate follows any hidden column; an exact
 * rate hidden alone gets one of its columns hidden. */
static void settle_rate(secondary_state *s, uint32_t rel)
{
	dh_disclosure_table *t = s->t;
	uint32_t rate = t->rel_mem[t->rel_off[rel]];
	int column_hidden = 0;
	for (uint32_t j = t->rel_off[rel] + 1; j < t->rel_off[rel + 1] && !column_hidden; j++)
		column_hidden = cell_hidden(&t->cells[t->rel_mem[j]]);
	if (column_hidden) {
		if (!cell_hidden(&t->cells[rate]))
			dh__disclosure_hide(s, rate, DH_DISCLOSURE_REASON_RATE);
	} else if (t->rel_kind[rel] == REL_RATE_EXACT && cell_hidden(&t->cells[rate])) {
		uint32_t cell = dh__disclosure_pick(s, rel);
		if (cell != UINT32_MAX)
			dh__disclosure_hide(s, cell, DH_DISCLOSURE_REASON_RELATION);
	}
}

void dh__disclosure_fixpoint(secondary_state *s)
{
	while (s->qhead < s->qtail) {
		uint32_t rel = s->queue[s->qhead++];
		if (s->t->rel_kind[rel] == REL_RATE || s->t->rel_kind[rel] == REL_RATE_EXACT) {
			settle_rate(s, rel); /* whatever the count: two hidden columns hide it too */
			continue;
		}
		if (s->hidden_count[rel] != 1)
			continue;
		uint32_t cell = dh__disclosure_pick(s, rel);
		if (cell != UINT32_MAX)
			dh__disclosure_hide(s, cell, DH_DISCLOSURE_REASON_RELATION);
	}
}

/* Out of memory or refused half-way: hide everything rather than publish a leak. */
static void fail_closed(dh_disclosure_table *t)
{
	for (size_t i = 0; i < t->ncells; i++) {
		if (t->cells[i].status == DH_DISCLOSURE_PUBLISHED) {
			t->cells[i].status = DH_DISCLOSURE_SECONDARY;
			t->cells[i].reason = DH_DISCLOSURE_REASON_RELATION;
		}
	}
}

int dh_disclosure_secondary(dh_disclosure_table *t, const dh_disclosure_policy *policy,
                            dh_disclosure_stats *stats, dh_error *err)
{
	if (!t || !policy)
		return dh_error_set(err, DH_INVAL, "table ou politique de diffusion absente");
	int rc = build_relations(t, err);
	if (rc != DH_OK) {
		fail_closed(t);
		return rc;
	}
	secondary_state s = { t, NULL, NULL, 0, 0, 0 };
	s.hidden_count = calloc(t->nrel ? t->nrel : 1, sizeof(uint32_t));
	/* a count only grows, so a relation reaches 1 at most once: nrel slots suffice */
	s.queue = malloc((t->nrel ? t->nrel : 1) * sizeof(uint32_t));
	if (!s.hidden_count || !s.queue) {
		free(s.hidden_count);
		free(s.queue);
		fail_closed(t);
		return dh_error_set(err, DH_NOMEM, "mémoire insuffisante pour le secret secondaire");
	}
	for (size_t r = 0; r < t->nrel; r++) {
		for (uint32_t j = t->rel_off[r]; j < t->rel_off[r + 1]; j++)
			s.hidden_count[r] += cell_hidden(&t->cells[t->rel_mem[j]]);
		int rate = t->rel_kind[r] == REL_RATE || t->rel_kind[r] == REL_RATE_EXACT;
		if (s.hidden_count[r] == 1 || (rate && s.hidden_count[r] > 1))
			s.queue[s.qtail++] = (uint32_t)r;
	}
	dh__disclosure_fixpoint(&s);
	dh_disclosure_stats local = { 0 };
	rc = DH_OK;
	if (policy->audit_max_unknowns)
		rc = dh__disclosure_audit(&s, policy->audit_max_unknowns, &local);
	free(s.hidden_count);
	free(s.queue);
	if (rc != DH_OK) {
		fail_closed(t);
		return dh_error_set(err, rc, "mémoire insuffisante pour l'audit du secret");
	}
	if (stats) {
		size_t secondary = 0;
		for (size_t i = 0; i < t->ncells; i++)
			secondary += t->cells[i].status == DH_DISCLOSURE_SECONDARY;
		stats->cells = t->ncells;
		stats->secondary = secondary;
		stats->audit_added = local.audit_added;
		stats->audit_groups = local.audit_groups;
		stats->audit_skipped = local.audit_skipped;
		stats->relations = t->nrel;
	}
	return DH_OK;
}

int dh_disclosure_apply(dh_disclosure_table *t, const dh_disclosure_policy *policy,
                        dh_disclosure_stats *stats, dh_error *err)
{
	if (stats)
		memset(stats, 0, sizeof(*stats));
	int rc = dh_disclosure_primary(t, policy, stats, err);
	if (rc != DH_OK) {
		if (t)
			fail_closed(t);
		return rc;
	}
	return dh_disclosure_secondary(t, policy, stats, err);
}

/* ---- results ---- */

dh_disclosure_status dh_disclosure_cell_status(const dh_disclosure_table *t, size_t row,
                                               size_t col)
{
	if (!t || row >= t->rows || col >= t->cols)
		return DH_DISCLOSURE_PRIMARY;
	return (dh_disclosure_status)t->cells[row * t->cols + col].status;
}

dh_disclosure_reason dh_disclosure_cell_reason(const dh_disclosure_table *t, size_t row,
                                               size_t col)
{
	if (!t || row >= t->rows || col >= t->cols)
		return DH_DISCLOSURE_REASON_FORCED;
	return (dh_disclosure_reason)t->cells[row * t->cols + col].reason;
}

const char *dh_disclosure_reason_fr(dh_disclosure_reason reason)
{
	switch (reason) {
	case DH_DISCLOSURE_REASON_NONE:
		return "publiée";
	case DH_DISCLOSURE_REASON_EMPTY:
		return "publiée : cellule vide";
	case DH_DISCLOSURE_REASON_UNITS:
		return "secret primaire : effectif inférieur au seuil";
	case DH_DISCLOSURE_REASON_LANDLORDS:
		return "secret primaire : trop peu de bailleurs contributeurs";
	case DH_DISCLOSURE_REASON_DOMINANCE:
		return "secret primaire : un bailleur prépondérant dans la cellule";
	case DH_DISCLOSURE_REASON_FORCED:
		return "secret primaire : masquée sur demande";
	case DH_DISCLOSURE_REASON_RELATION:
		return "secret secondaire : empêche de retrouver une cellule secrète par différence";
	case DH_DISCLOSURE_REASON_AUDIT:
		return "secret secondaire : empêche de retrouver une cellule secrète par "
		       "combinaison de totaux";
	case DH_DISCLOSURE_REASON_RATE:
		return "secret secondaire : taux ou moyenne dont un terme est secret";
	default:
		return "secret statistique";
	}
}

const char *dh_disclosure_status_fr(dh_disclosure_status status)
{
	return status == DH_DISCLOSURE_PUBLISHED ? "publiée" : "secret statistique";
}

const char *dh_disclosure_status_name(dh_disclosure_status status)
{
	switch (status) {
	case DH_DISCLOSURE_PUBLISHED:
		return "published";
	case DH_DISCLOSURE_PRIMARY:
		return "primary";
	case DH_DISCLOSURE_SECONDARY:
		return "secondary";
	default:
		return "primary";
	}
}
