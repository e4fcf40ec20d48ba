/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * internal.h - the governance subsystem's internal interface: the secret-file helpers of
 * keyfile.c (pseudonymisation and audit keys), and the table structure shared by
 * disclosure.c (declarations, primary and single-equation secondary suppression) and
 * disclosure_audit.c (the exact audit of several equations together). Not a public header.
 */
#ifndef DH_DISCLOSURE_INTERNAL_H
#define DH_DISCLOSURE_INTERNAL_H

#include "datahabitat/disclosure.h"
#include "datahabitat/store_governance.h"

/* ---- Secret files next to the database (keyfile.c) ---- */

/* Create path with O_EXCL, mode 0600 whatever the umask, write buf, fsync. Returns DH_OK,
 * DH_EXISTS (left alone), DH_IO (nothing left behind). */
int dh__secret_file_write(const char *path, const void *buf, size_t len, dh_error *err);
/* Read a secret file into buf (size bytes, NUL-terminated; *len its length): refused when it
 * is a symbolic link or not a regular file, or when group or others have any permission
 * (DH_DENIED). DH_NOTFOUND says "<what> « path » introuvable". DH_IO. */
int dh__secret_file_read(const char *path, const char *what, char *buf, size_t size, size_t *len, dh_error *err);
/* "<database file><suffix>" into buf. DH_INVAL for a store that is not a file, DH_TOOBIG. */
int dh__sibling_path(dh_store *store, const char *suffix, char *buf, size_t size, dh_error *err);

enum decl_kind { DECL_ROW_SUM, DECL_COL_SUM, DECL_COL_LINK, DECL_CELL_SUM, DECL_COL_RATE,
                 DECL_COL_RATE_EXACT };
/* REL_SUM: member 0 = sum of the others; REL_RATE(_EXACT): member 0 = the rate, the others
 * its columns (dh_disclosure_table_add_col_rate) */
enum rel_kind { REL_SUM, REL_LINK, REL_RATE, REL_RATE_EXACT };

typedef struct decl {
	uint8_t kind;  /* enum decl_kind */
	size_t total;  /* total row, column or cell, rate column; unused for links */
	size_t first;  /* first index in the table's decl_idx pool */
	size_t n;      /* number of parts (or linked columns) */
} decl;

struct dh_disclosure_table {
	size_t rows, cols, ncells;
	dh_disclosure_cell *cells; /* ncells, row-major */
	uint8_t *col_class;        /* cols, enum dh_disclosure_class */
	uint8_t *col_additive;     /* cols, 0 or 1 */

	decl *decls; /* declared relations, expanded lazily */
	size_t ndecls, decls_cap;
	size_t *decl_idx; /* pool of parts */
	size_t idx_len, idx_cap;

	/* expanded relations (valid while !dirty) */
	int dirty;
	size_t nrel;
	uint32_t *rel_off;  /* nrel + 1 */
	uint32_t *rel_mem;  /* members, cell indexes */
	uint8_t *rel_kind;  /* enum rel_kind */
	uint32_t *cell_off; /* ncells + 1: relations of each cell */
	uint32_t *cell_rel;
};

/* Working state of the secondary stage, shared with the audit. */
typedef struct secondary_state {
	dh_disclosure_table *t;
	uint32_t *hidden_count; /* per relation: members currently hidden */
	uint32_t *queue;        /* relations whose count went to 1, FIFO */
	size_t qhead, qtail;
	size_t added;           /* secondary cells added so far */
} secondary_state;

static inline int cell_hidden(const dh_disclosure_cell *c)
{
	return c->status != DH_DISCLOSURE_PUBLISHED;
}

/* Hide cell as SECONDARY with reason, update relation counts, queue relations that now
 * have a single hidden member. */
void dh__disclosure_hide(secondary_state *s, uint32_t cell, uint8_t reason);
/* Best published member of relation rel to hide next, or UINT32_MAX if none. */
uint32_t dh__disclosure_pick(const secondary_state *s, uint32_t rel);
/* Best published cell sharing a relation with cell, or UINT32_MAX if none. */
uint32_t dh__disclosure_pick_around(const secondary_state *s, uint32_t cell);
/* Run the queue to the fixpoint. */
void dh__disclosure_fixpoint(secondary_state *s);
/* The audit (disclosure_audit.c): hide more cells until no hidden cell of an audited group
 * is determined by the published system. DH_OK or DH_NOMEM. */
int dh__disclosure_audit(secondary_state *s, uint32_t max_unknowns, dh_disclosure_stats *stats);

#endif
