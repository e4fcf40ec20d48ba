/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * cli_store.c - what the store subcommands (init, org, import, deliveries, stock...) share:
 * option parsing in the "--name value" / "--name=value" forms, the database location
 * (--db, else $DATAHABITAT_DB, else ./datahabitat.db) and opening the store with a
 * diagnostic on failure, and the end of a listing (its error, or its JSON).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_take_option(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);
	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	if (arg[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		cli_errorf("option « %s » sans valeur", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int cli_take_options(int argc, char **argv, int *i, const cli_option *opts)
{
	for (; opts->name; opts++) {
		if (!opts->value)
			continue;
		int r = cli_take_option(argc, argv, i, opts->name, opts->value);
		if (r)
			return r;
	}
	return 0;
}

int cli_parse_options(const char *command, int argc, char **argv, int first, const cli_option *opts)
{
	for (int i = first; i < argc; i++) {
		int r = cli_take_options(argc, argv, &i, opts);
		if (r < 0)
			return cli_usage_error(command, "option incomplète", argv[i]);
		if (r == 0)
			return cli_usage_error(command, "argument inattendu", argv[i]);
	}
	return CLI_EXIT_OK;
}

dh_actor cli_actor(void)
{
	/* A label set by whoever runs the CLI (e.g. a wrapper that authenticated the operator),
	 * not an authentication: the CLI has the rights of whoever can open the file. */
	return dh_actor_cli(getenv("DATAHABITAT_ACTOR"));
}

const char *cli_db_location(const char *given)
{
	if (given && *given)
		return given;
	const char *env = getenv("DATAHABITAT_DB");
	return env && *env ? env : "datahabitat.db";
}

int cli_open_store(const char *given, unsigned flags, dh_store **out)
{
	dh_error err;
	dh_error_clear(&err);
	int rc = dh_store_open(out, cli_db_location(given), flags, &err);
	if (rc != DH_OK)
		return cli_report_error(&err);
	return CLI_EXIT_OK;
}

int cli_load_geo(const char *ref, dh_geo **out)
{
	dh_error err;
	dh_error_clear(&err);
	*out = NULL;
	if (dh_geo_load(out, ref ? ref : dh_geo_default_dir(), &err) == DH_OK)
		return CLI_EXIT_OK;
	cli_report_error(&err);
	return CLI_EXIT_FAILURE;
}

int cli_open_geo_store(const char *ref, const char *db, dh_geo **geo, dh_store **store)
{
	*store = NULL;
	if (cli_load_geo(ref, geo) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	int exitcode = cli_open_store(db, 0, store);
	if (exitcode != CLI_EXIT_OK) {
		dh_geo_free(*geo);
		*geo = NULL;
	}
	return exitcode;
}

int cli_output_format(const char *name)
{
	static const char *const names[] = { "table", "csv", "json" };
	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int cli_usage_error(const char *command, const char *what, const char *arg)
{
	if (arg)
		cli_errorf("%s : %s « %s »", command, what, arg);
	else
		cli_errorf("%s : %s", command, what);
	fprintf(stderr, "voir « datahabitat %s --help »\n", command);
	return CLI_EXIT_USAGE;
}

int cli_list_end(dh_store *store, int rc, const dh_error *err, json_t *list)
{
	int exitcode = CLI_EXIT_OK;
	if (rc != DH_OK) {
		/* a callback's own failure (a JSON value not built) leaves err unset: never exit 0 */
		dh_error e = *err;
		if (e.code == DH_OK)
			e.code = rc;
		exitcode = cli_report_error(&e);
	} else if (list) {
		exitcode = cli_json_print(list);
	}
	json_decref(list);
	dh_store_close(store);
	return exitcode;
}

void cli_print_csv_field(FILE *out, const char *s, size_t len, char delimiter)
{
	dh_csv_field_write(out, s, len, delimiter);
}
