/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * fuzz_cli_args.c - libFuzzer target over the CLI's argument vectors: the input, split at
 * NUL and newline bytes into at most 32 arguments, runs as `datahabitat ARGS...` through the
 * CLI's own dispatcher in-process (cli_main(), src/cli/main.c built with -DDH_CLI_NO_MAIN),
 * against a small database prepared once in a scratch directory (two landlords with their
 * stock, a public agreement). Every vector must end with an exit code, never a crash, a
 * sanitizer report or a leak.
 *
 * Every write stays in the scratch directory (the current directory during the run): a
 * vector is skipped when an argument holds '/' or names another file (--db, --ref, --out,
 * --evolve-from), and `gen` (files of any size) is not run. The database is restored from
 * its pristine copy every RESTORE runs, so that it does not grow without end. Standard input
 * is /dev/null (`user add` reads no password), standard output and error go to /dev/null
 * during a run; sanitizer reports go to the real standard error.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define WITH_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_SANITIZER 1
#endif
#endif
#ifdef WITH_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32
#define RESTORE 500

static char scratch[256];
static int devnull = -1, saved_out = -1, saved_err = -1;
static unsigned long runs;

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	if (!in || !out) {
		fprintf(stderr, "fuzz_cli_args: copy %s -> %s impossible\n", from, to);
		abort();
	}
	char buf[1 << 15];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			abort();
	fclose(in);
	if (fclose(out) != 0)
		abort();
	chmod(to, 0600);
}

/* Remove the files of the scratch directory (the current one), the pristine copies too
 * when all is set. */
static void clear(int all)
{
	DIR *d = opendir(".");
	if (!d)
		abort();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (all || strncmp(e->d_name, "pristine.", 9) != 0)
			unlink(e->d_name);
	}
	closedir(d);
}

/* Back to the database as prepared: every other file of the scratch directory removed. */
static void restore(void)
{
	clear(0);
	copy_file("pristine.db", "dh.db");
	copy_file("pristine.key", "dh.db.key");
}

/* At exit: the scratch directory goes away. */
static void remove_scratch(void)
{
	if (chdir(scratch) == 0) {
		clear(1);
		if (chdir("/") == 0)
			rmdir(scratch);
	}
}

static int run(int argc, char **argv)
{
	fflush(stdout);
	fflush(stderr);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	int rc = cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	clearerr(stdout);
	clearerr(stdin);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	return rc;
}

static void prepare(const char *const *args, int argc)
{
	char *argv[16];
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	int rc = run(argc, argv);
	if (rc != 0) {
		fprintf(stderr, "fuzz_cli_args: preparation « %s %s » failed (%d)\n", args[1], args[2], rc);
		abort();
	}
}

static void setup(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/dh-fuzz-cli-XXXXXX");
	if (!mkdtemp(scratch) || chdir(scratch) != 0)
		abort();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	if (devnull < 0 || saved_out < 0 || saved_err < 0 || dup2(devnull, STDIN_FILENO) < 0)
		abort();
#ifdef WITH_SANITIZER
	__sanitizer_set_report_fd((void *)(intptr_t)saved_err);
#endif
	atexit(remove_scratch);
	setenv("DATAHABITAT_DB", "dh.db", 1);
	unsetenv("DATAHABITAT_ACTOR");
	static const char *const steps[][12] = {
		{ "datahabitat", "init", NULL },
		{ "datahabitat", "org", "add", "--siren", "443061841", "--name", "Office A", "--kind", "OPH", NULL },
		{ "datahabitat", "org", "add", "--siren", "552100554", "--name", "ESH B", "--kind", "ESH", NULL },
		{ "datahabitat", "import", DH_SOURCE_DIR "/tests/data/store/stock-2024.csv", "--org", "443061841",
		  "--date", "2024-01-01", NULL },
		{ "datahabitat", "import", DH_SOURCE_DIR "/tests/data/indicators/stock-2024.csv", "--org",
		  "552100554", "--date", "2024-01-01", NULL },
		{ "datahabitat", "agreement", "add", "--audience", "public", "--indicators", "all", "--start",
		  "2024-01-01", "--end", "2099-12-31", NULL },
	};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		int argc = 0;
		while (steps[s][argc])
			argc++;
		if (s == 5) {
			/* purpose and legal basis: one more pair than the table row holds */
			const char *args[16];
			memcpy(args, steps[s], (size_t)argc * sizeof(char *));
			args[argc++] = "--purpose";
			args[argc++] = "Observatoire";
			args[argc++] = "--legal-basis";
			args[argc++] = "Mission de service public";
			prepare(args, argc);
		} else {
			prepare(steps[s], argc);
		}
	}
	copy_file("dh.db", "pristine.db");
	copy_file("dh.db.key", "pristine.key");
	fprintf(stderr, "fuzz_cli_args: scratch directory %s\n", scratch);
}

/* 1 if the vector may run: no path outside the scratch directory, no unbounded output. */
static int allowed(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "gen") == 0)
		return 0;
	static const char *const file_options[] = { "--db", "--ref", "--out", "--evolve-from" };
	for (int i = 1; i < argc; i++) {
		if (strchr(argv[i], '/'))
			return 0;
		for (size_t k = 0; k < sizeof(file_options) / sizeof(file_options[0]); k++) {
			size_t n = strlen(file_options[k]);
			if (strncmp(argv[i], file_options[k], n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
				return 0;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!scratch[0])
		setup();
	if (runs++ % RESTORE == 0)
		restore();
	/* one buffer: the arguments end at NUL or newline bytes */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"datahabitat";
	char *p = buf, *end = buf + size;
	while (p <= end && argc <= MAX_ARGS) {
		char *q = p;
		while (q < end && *q != '\0' && *q != '\n')
			q++;
		*q = '\0';
		argv[argc++] = p;
		p = q + 1;
	}
	argv[argc] = NULL;
	int rc = allowed(argc, argv) ? run(argc, argv) : 0;
	free(buf);
	if (rc < 0 || rc > 4)
		abort(); /* exit codes are 0 to 4 (cli.h) */
	return 0;
}
