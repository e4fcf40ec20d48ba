/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * gen.h - synthetic RPLS stock files for tests, the demo and the benchmarks.
 *
 * The generator draws a plausible social-housing stock over the reference geography:
 * landlords (OPH, ESH, coopératives, SEM) with synthetic names and SIRENs, each mostly
 * present in one or two départements; programs (a building or a group of houses) placed
 * in communes weighted by population; dwellings with realistic rooms, surfaces, ages,
 * financing, occupancy, leases, rents and DPE classes. Every clean row passes every rule
 * of docs/validation.md, warnings included. On request a share of rows carries exactly one
 * injected fault, listed with its position so tests can compare it with the validator.
 *
 * Determinism: the bytes depend only on the options and the geography, never on the
 * platform, the thread count or the order in which files are produced. Values hang on
 * identities, not on a running sequence: a landlord's stream is keyed by (seed, landlord),
 * a program's by (seed, landlord, program number), a dwelling is (program, rank). Faults
 * are drawn from their own streams, so a faulty file is the clean file with some rows
 * changed.
 *
 * Evolution: with from_year/from_month/from_day set to the date one year before the
 * reference date, the files are the next vintage of the stock that the same options at
 * that earlier date produce. Every dwelling is replayed from its identity, then the year's
 * events are drawn from streams keyed by (dwelling, year) or (program, year):
 *  - departures: ~0.35 % of the stock is sold (mostly individual houses, to their tenants)
 *    or demolished (whole old collective programs). As in RPLS, where SORTIEPATRIM
 *    describes departures during year N-1, a dwelling that left during the year is
 *    declared once more in the new file with MODE 9 and its SORTIEPATRIM (1-5), no lease
 *    and no rent; the MODE 9 rows of the earlier file (departures of the year before) are
 *    absent from the new file;
 *  - new programs (mises en service, ~1-1.5 % of the stock), numbered after the landlord's
 *    existing programs and written after its existing dwellings: LOCAT = the past year,
 *    ORIGINE 1 built, 4 VEFA, 2 or 3 acquired; recent DPE for new buildings;
 *  - occupancy: ~8.5 % of tenants leave (most dwellings re-let: BAIL in the past year,
 *    some vacant or under works), most vacant dwellings are let, some emptied ones return;
 *  - rents +3.5 % (IRL-like revision), about 5 % of dwellings get a new DPE (usually a
 *    better class), a few old programs are renovated (new DPE two classes better).
 * IDENT_REP and IDENT_INT of a dwelling that stays are the same in both vintages (new
 * dwellings take numbers after every existing one), and both files are clean.
 *
 * Two levels: dh_gen_stock() writes a whole directory; a dh_gen_plan lets a client
 * (benchmark, test) stream any landlord's file to its own sink without touching disk.
 */
#ifndef DATAHABITAT_GEN_H
#define DATAHABITAT_GEN_H

#include "datahabitat/base.h"
#include "datahabitat/csv.h"
#include "datahabitat/geo.h"
#include "datahabitat/validate.h"

typedef struct dh_gen_options {
	const char *region;   /* région code ("53"); NULL or "all": every commune of the geography */
	uint64_t rows;        /* dwellings over all files (of the earlier vintage), 1 .. 10^10 */
	uint32_t landlords;   /* landlords, one file each, 1 .. 100000 */
	uint64_t seed;        /* same seed and options: same bytes */
	dh_encoding encoding; /* DH_ENC_UTF8 (also for DH_ENC_AUTO) or DH_ENC_WINDOWS1252 */
	double fault_rate;    /* share of rows with one injected fault, 0 .. 1 */
	int ref_year;         /* reference date of the stock (no year after it), 2000 .. 2100 */
	int ref_month;        /* 1 .. 12 */
	int ref_day;          /* 1 .. 31, a real day of that month */
	const char *out_dir;  /* directory dh_gen_stock() fills (created if missing) */
	unsigned threads;     /* dh_gen_stock() worker threads; 0 or 1: the calling thread only */
	int from_year;        /* 0: a first vintage; else the next vintage of the stock at this */
	int from_month;       /* date, which must be the reference date one year earlier (same */
	int from_day;         /* month and day); rows at most 9,000,000,000 */
	int layout;           /* dh_layout of the landlord files: DH_LAYOUT_AUTO (a header line of
				 the 46 stored fields), DH_LAYOUT_RPLS (SDES's full column list: the
				 63 fields the validator checks, then SDES's unchecked columns,
				 a missing value written NA), DH_LAYOUT_RPLS_ARRETE (the
				 arrêté's header line, then its 64 positions), DH_LAYOUT_RPLS_OPENDATA_DIDO
				 (the public columns with DiDo's names, no landlord identity; no faults) */
} dh_gen_options;

/* Defaults: all of France, 1000 rows, 1 landlord, seed 1, UTF-8, no fault, 2025-01-01,
 * out_dir NULL, 1 thread, no evolution. */
void dh_gen_options_init(dh_gen_options *opt);

/* What dh_gen_stock() produced. */
typedef struct dh_gen_summary {
	uint64_t files;  /* landlord files written */
	uint64_t rows;   /* dwelling records written */
	uint64_t faults; /* rows with an injected fault (lines of faults.csv) */
	uint64_t bytes;  /* bytes of the landlord files */
} dh_gen_summary;

/*
 * Write a complete synthetic delivery into opt->out_dir: one RPLS file per landlord
 * (rpls-<SIREN>.csv, ';'-separated, header line, some with CRLF, a BOM or a first record
 * describing the landlord, in opt->encoding), landlords.csv (SIREN;name;kind, UTF-8) and
 * faults.csv (file;row;column;field;code, UTF-8, header only when no fault).
 * geo is borrowed for the call. summary may be NULL.
 * Returns DH_OK, DH_INVAL (bad options, unknown région, a région without commune:
 * err says which), DH_IO (err names the file), DH_NOMEM.
 * Thread safety: none needed from the caller; uses opt->threads threads internally.
 */
int dh_gen_stock(const dh_gen_options *opt, const dh_geo *geo, dh_gen_summary *summary,
		 dh_error *err);

/* ---- Streaming: a plan, then any landlord's file to a sink ---- */

typedef struct dh_gen_plan dh_gen_plan;

typedef struct dh_gen_landlord {
	char siren[DH_SIREN_SIZE];     /* synthetic 9-digit SIREN with a valid Luhn key */
	const char *name;   /* UTF-8, e.g. "Office public de l'habitat n°3"; owned by the plan */
	const char *kind;   /* "OPH", "ESH", "coop" or "SEM" (static) */
	char file_name[32]; /* "rpls-<SIREN>.csv" */
	uint64_t rows;      /* dwelling records in its file */
	uint64_t faults;    /* rows of its file with an injected fault */
	int crlf;           /* 1: lines end with CR LF */
	int bom;            /* 1: starts with a UTF-8 byte order mark (UTF-8 only) */
	int landlord_record;/* 1: a first record "SIREN;name;dd/mm/yyyy" precedes the header */
} dh_gen_landlord;

/* One injected fault, as written in faults.csv. Strings are static or owned by the plan. */
typedef struct dh_gen_fault {
	const char *file;  /* file name without directory */
	uint64_t row;      /* 1-based line in the file (header and landlord record counted) */
	uint32_t column;   /* 1-based field number, 0 for a record-level fault */
	const char *field; /* RPLS column name, "" for a record-level fault */
	const char *code;  /* rule code of docs/validation.md */
} dh_gen_fault;

typedef struct dh_gen_sink {
	/* Receives the file's bytes in order, in chunks of at most 256 KiB. Return DH_OK to go on. */
	int (*write)(void *ctx, const void *data, size_t len);
	/* Receives each injected fault, in row order. May be NULL. Return DH_OK to go on. */
	int (*fault)(void *ctx, const dh_gen_fault *fault);
	void *ctx;
} dh_gen_sink;

/*
 * Prepare a generation: check the options, choose the communes, the landlords and how
 * many dwellings each has where (with evolution, this replays the earlier vintage's
 * occupancy once, on the calling thread, to count each file's rows: linear in rows).
 * geo is borrowed and must outlive the plan.
 * Returns DH_OK (*out set, free with dh_gen_plan_free()), DH_INVAL (err says which
 * option), DH_NOMEM. opt->out_dir and opt->threads are ignored.
 */
int dh_gen_plan_new(dh_gen_plan **out, const dh_gen_options *opt, const dh_geo *geo,
		    dh_error *err);

/* Free a plan. NULL is a no-op. */
void dh_gen_plan_free(dh_gen_plan *plan);

/* Landlords of the plan, in file order; the pointer lives as long as the plan. */
size_t dh_gen_plan_landlord_count(const dh_gen_plan *plan);
const dh_gen_landlord *dh_gen_plan_landlord(const dh_gen_plan *plan, size_t i);

/*
 * Stream the file of landlord i (0 <= i < count) to sink. The bytes are those
 * dh_gen_stock() writes. Returns DH_OK, DH_INVAL (i out of range), DH_NOMEM, or the
 * code a sink callback returned.
 * Thread safety: the plan is read-only; several threads may write different (or the
 * same) landlords at once, each with its own sink.
 */
int dh_gen_landlord_write(const dh_gen_plan *plan, size_t i, const dh_gen_sink *sink,
			  dh_error *err);

/* Rule codes the generator can inject, in the order it cycles through them. */
size_t dh_gen_fault_kind_count(void);
const char *dh_gen_fault_kind(size_t i);

#endif
