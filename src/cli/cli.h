/*
 * cli.h - what the subcommands of the datahabitat CLI share: the dispatch table entries,
 * diagnostics in git's style ("datahabitat: <what failed>: <why>"), and exit codes.
 *
 * Exit codes: 0 success, 1 the input was checked and has errors (or was refused),
 * 2 usage error or unreadable input, 3 internal or storage failure, 4 access denied.
 */
#ifndef DH_CLI_H
#define DH_CLI_H

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

/* Subcommands (one file each: cmd_<name>.c). */
int cmd_validate(int argc, char **argv);
int cmd_gen(int argc, char **argv);

#endif
