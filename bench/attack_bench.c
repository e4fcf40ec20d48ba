/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * attack_bench.c - the longer run of the attack suite of issue 10 (tests/unit/attack_lib.h):
 * generated régions for several seeds and landlord counts (3 to 20), every date tried
 * (delivery dates, the day before, 1 January, month ends), every role, LP + rational
 * reconstruction to a fixpoint, date differences, a member's own rows. Prints the counts
 * per role and attack, the first leaks, and "RESULT name value unit" lines.
 *
 * Usage: attack_bench [seeds] [rows] [region|all] [landlords,...]
 *   defaults: 3 seeds, 3000 rows, région 53, landlords 3,12,20
 */
#include "attack_lib.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int seeds = argc > 1 ? atoi(argv[1]) : 3;
	uint64_t rows = argc > 2 ? strtoull(argv[2], NULL, 10) : 3000;
	const char *region = argc > 3 ? argv[3] : "53";
	const char *list = argc > 4 ? argv[4] : "3,12,20";
	if (strcmp(region, "all") == 0)
		region = NULL;
	uint32_t landlords[16];
	size_t nland = 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, ","); tok && nland < 16; tok = strtok(NULL, ","))
		landlords[nland++] = (uint32_t)atoi(tok);
	dh_error err;
	dh_error_clear(&err);
	dh_geo *geo = NULL;
	if (dh_geo_load(&geo, dh_geo_default_dir(), &err) != DH_OK) {
		fprintf(stderr, "attack_bench: %s\n", err.message);
		return 1;
	}
	atk_options opt;
	atk_options_default(&opt);
	opt.targets_all = getenv("ATTACK_ALL") != NULL;
	opt.verbose = getenv("ATTACK_VERBOSE") != NULL;
	atk_report total;
	memset(&total, 0, sizeof(total));
	double t0 = now_s();
	for (size_t k = 0; k < nland; k++) {
		for (int s = 0; s < seeds; s++) {
			atk_params p = { .seed = 1000 + (uint64_t)s * 7 + landlords[k], .landlords = landlords[k],
					 .rows = rows, .region = region, .quick = 0 };
			atk_world w;
			double w0 = now_s();
			if (atk_world_build(&w, &p, geo, &err) != DH_OK) {
				fprintf(stderr, "attack_bench: world: %s\n", err.message);
				return 1;
			}
			double w1 = now_s();
			atk_report r;
			memset(&r, 0, sizeof(r));
			if (atk_run(&r, &w, &opt, &err) != DH_OK) {
				fprintf(stderr, "attack_bench: %s\n", err.message);
				return 1;
			}
			char title[128];
			snprintf(title, sizeof(title), "seed %llu, %u landlords, %llu rows, %zu dates (built %.1f s, attacked %.1f s)",
				 (unsigned long long)p.seed, p.landlords, (unsigned long long)rows, w.ndates, w1 - w0,
				 now_s() - w1);
			atk_report_print(stdout, &r, title, 10);
			for (int role = 0; role < ATK_ROLES; role++) {
				for (int a = 0; a < ATK_A_COUNT; a++) {
					total.s[role][a].attacked += r.s[role][a].attacked;
					total.s[role][a].sensitive += r.s[role][a].sensitive;
					total.s[role][a].exact += r.s[role][a].exact;
					total.s[role][a].recovered += r.s[role][a].recovered;
					total.s[role][a].unsound += r.s[role][a].unsound;
				}
				total.dates_ok[role] += r.dates_ok[role];
				total.hidden[role] += r.hidden[role];
				total.published_business[role] += r.published_business[role];
			}
			total.member_gain.recovered += r.member_gain.recovered;
			total.queries += r.queries, total.lps += r.lps, total.rr_gains += r.rr_gains;
			total.infeasible += r.infeasible;
			atk_report_free(&r);
			atk_world_free(&w);
			fflush(stdout);
		}
	}
	atk_report_print(stdout, &total, "all worlds", 0);
	for (int a = 0; a < ATK_A_COUNT; a++)
		printf("RESULT attack_%s_recovered %zu cells\n", atk_attack_name[a], atk_total_recovered(&total, a));
	printf("RESULT attack_member_gain %zu cells\n", total.member_gain.recovered);
	printf("RESULT attack_seconds %.1f s\n", now_s() - t0);
	dh_geo_free(geo);
	return 0;
}
