/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * test_csv_out.c - dh_csv_field_write (base.h), the one writer of CSV text fields: RFC 4180
 * quoting and the neutralisation of spreadsheet formulas, field by field.
 */
#include "datahabitat/base.h"

#include "testutil.h"

/* The bytes dh_csv_field_write writes for s (len bytes) with this delimiter. */
static char *written(const char *s, size_t len, char delimiter)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	dh_csv_field_write(f, s, len, delimiter);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check(const char *in, char delimiter, const char *want)
{
	char *got = written(in, strlen(in), delimiter);
	if (strcmp(got, want) != 0)
		fail_msg("« %s » (délimiteur %c) : « %s » écrit, « %s » attendu", in, delimiter, got, want);
	free(got);
}

static void rfc4180_quoting(void **state)
{
	(void)state;
	check("Quimper", ';', "Quimper");
	check("", ';', "");
	check("a;b", ';', "\"a;b\"");
	check("a;b", ',', "a;b");
	check("a,b", ',', "\"a,b\"");
	check("dit \"non\"", ',', "\"dit \"\"non\"\"\"");
	check("deux\nlignes", ',', "\"deux\nlignes\"");
	check("fin\r", ',', "\"fin\r\"");
	/* bytes after a NUL are written too: the length decides */
	char *got = written("a\0b", 3, ',');
	assert_memory_equal(got, "a\0b", 3);
	free(got);
}

static void formulas_neutralised(void **state)
{
	(void)state;
	check("=1+2", ';', "'=1+2");
	check("=HYPERLINK(\"http://x\";\"y\")", ';', "\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\"");
	check("+33 1 23 45 67 89", ',', "'+33 1 23 45 67 89");
	check("-2+3", ',', "'-2+3");
	check("@SUM(A1)", ',', "'@SUM(A1)");
	check("\tcmd", ',', "'\tcmd");
	check("\r=cmd", ',', "\"'\r=cmd\"");
	check("-", ',', "'-");
	check("--", ',', "'--");
	/* plain numbers stay numbers */
	check("-12", ',', "-12");
	check("+3.5", ',', "+3.5");
	check("-0,5", ';', "-0,5");
	check("-0,5", ',', "\"-0,5\"");
	check("-1.2.3", ',', "'-1.2.3");
	/* only the first character counts */
	check("a=b", ',', "a=b");
	check("Saint-Malo", ',', "Saint-Malo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4180_quoting),
		cmocka_unit_test(formulas_neutralised),
	};
	return cmocka_run_group_tests_name("csv_out", tests, NULL, NULL);
}
