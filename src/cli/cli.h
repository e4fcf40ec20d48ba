/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cli.h - what the subcommands of the datahabitat CLI share: the dispatch table entries,
 * diagnostics in git's style ("datahabitat: <what failed>: <why>"), and exit codes.
 *
 * Exit codes: 0 success, 1 the input was checked and has errors (or was refused),
 * 2 usage error or unreadable input, 3 internal or storage failure, 4 access denied.
 */
#ifndef DH_CLI_H
#define DH_CLI_H

#include "datahabitat/actor.h"
#include "datahabitat/base.h"

#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_INVALID 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_FAILURE 3
#define CLI_EXIT_DENIED 4

typedef struct cli_command {
	const char *name;                   /* subcommand word */
	int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
	const char *summary;                /* one French line for `datahabitat --help` */
} cli_command;

/* The whole CLI: argv[0] is the program name, argv[1] the subcommand; returns the exit code.
 * main() only calls it; the fuzz target over argument vectors calls it in-process. */
int cli_main(int argc, char **argv);

/* Print "datahabitat: <message>" on stderr (no trailing period, git style). */
void cli_errorf(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* Print a dh_error on stderr with its position when it has one; return the exit code for it. */
int cli_report_error(const dh_error *err);

/* 1 if argv contains -h or --help before any "--". */
int cli_wants_help(int argc, char **argv);

/* Store subcommands' shared helpers (cli_store.c). */
#include "datahabitat/geo.h"
#include "datahabitat/store.h"
#include <jansson.h>
/* Match argv[*i] against "--name value" or "--name=value": 1 and *value set (and *i moved
 * past the value), 0 if it is another argument, -1 (diagnostic printed) if the value is missing. */
int cli_take_option(int argc, char **argv, int *i, const char *name, const char **value);
/* One "--name value" option a subcommand accepts, in a table ended by { NULL, NULL }. */
typedef struct cli_option {
	const char *name;    /* "--db" */
	const char **value;  /* where the value goes (borrowed from argv); NULL: not accepted here */
} cli_option;
/* cli_take_option() with each accepted option of opts in turn: 1 one matched (value set,
 * *i moved past it), 0 none did, -1 (diagnostic printed) its value is missing. */
int cli_take_options(int argc, char **argv, int *i, const cli_option *opts);
/* Read argv[first..argc) as options of opts and nothing else: CLI_EXIT_OK, or CLI_EXIT_USAGE
 * after cli_usage_error(command, "option incomplète" or "argument inattendu", argv[i]). */
int cli_parse_options(const char *command, int argc, char **argv, int first, const cli_option *opts);
/* The database location: given (--db), else $DATAHABITAT_DB, else "datahabitat.db". */
const char *cli_db_location(const char *given);
/* Open the store at cli_db_location(given); on failure print why and return the exit code. */
int cli_open_store(const char *given, unsigned flags, dh_store **out);
/* Load the reference geography from ref (NULL: the default directory): CLI_EXIT_OK, or
 * CLI_EXIT_FAILURE after printing why. */
int cli_load_geo(const char *ref, dh_geo **out);
/* cli_load_geo() then cli_open_store(db, 0): CLI_EXIT_OK with both, or the exit code with
 * neither (what failed is printed). */
int cli_open_geo_store(const char *ref, const char *db, dh_geo **geo, dh_store **store);
/* Output formats of the listing commands: CLI_FMT_TABLE, _CSV, _JSON for "table", "csv",
 * "json"; -1 for another name. */
enum { CLI_FMT_TABLE, CLI_FMT_CSV, CLI_FMT_JSON };
int cli_output_format(const char *name);
/* Print "datahabitat: <command> : <what> « arg »" and the help hint; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *what, const char *arg);
/* End a listing: report rc's error (from err), else print list as indented JSON when there
 * is one (NULL for a table printed row by row); release list and close store (both taken).
 * Returns the exit code. */
int cli_list_end(dh_store *store, int rc, const dh_error *err, json_t *list);
/* Text safe to print (cli_text.c): every table and text printer passes stored or user text
 * through cli_text(), which returns it as is, or with control characters (terminal
 * escapes) and bytes that are not UTF-8 written \xHH in one of 8 rotating buffers (valid
 * until 8 more calls: enough for one printf). */
const char *cli_text(const char *text);
/* A JSON string of text, bytes that are not UTF-8 written \xHH (never lost); NULL only
 * for lack of memory. */
json_t *cli_json_text(const char *text);
/* Print json indented on stdout with a newline: CLI_EXIT_OK, or CLI_EXIT_FAILURE with a
 * diagnostic when json is NULL (a value could not be built) or writing failed. */
int cli_json_print(json_t *json);
/* Write one CSV field: dh_csv_field_write() (RFC 4180 quoting, formulas neutralised). */
void cli_print_csv_field(FILE *out, const char *s, size_t len, char delimiter);

/* Subcommands (one file each: cmd_<name>.c). */
int cmd_validate(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_org(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_deliveries(int argc, char **argv);
int cmd_stock(int argc, char **argv);
int cmd_indicators(int argc, char **argv);
int cmd_qpv(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_gdpr(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_agreement(int argc, char **argv);
/* The operator passed to the library's audited calls (the CLI logs nothing itself):
 * DH_ACTOR_CLI labelled $DATAHABITAT_ACTOR, else "cli" (cli_store.c). */
dh_actor cli_actor(void);

#endif
