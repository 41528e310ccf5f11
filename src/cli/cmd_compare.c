/* biaflows compare: the paired comparison of two runs, computed by
 * bia_compare_runs_json and printed here.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const char compare_usage[] =
	"usage: biaflows compare RUN_A RUN_B [--metric M] [--format table|json|csv|md]\n"
	"\n"
	"Paired comparison of two runs of one problem on the problem's main metric:\n"
	"per-image differences A - B sorted from A's best to its worst, win/tie/loss\n"
	"counts for A, mean and median difference, effect sizes (Cohen's dz and the\n"
	"matched-pairs rank-biserial correlation, positive when A is better) and the\n"
	"two-sided Wilcoxon signed-rank p-value. Images where either has no value are\n"
	"left out and counted.\n";

/* "run 3 (W@1, a=1)": a side of the comparison. */
static void side_text(json_t *side, char *out, size_t outsz)
{
	char *t = json_dumps(json_object_get(side, "params"), JSON_COMPACT);
	char pt[1024];
	bia_bench_params_text(t, pt, sizeof(pt));
	free(t);
	snprintf(out, outsz, "run %lld (%s%s%s)",
		 (long long)json_integer_value(json_object_get(side, "run")),
		 bia_json_str(side, "entry", ""), pt[0] ? ", " : "", pt);
}

static void print_compare(json_t *o, int fmt)
{
	json_t *w = json_object_get(o, "wilcoxon");
	int few = json_is_true(json_object_get(o, "too_few_images"));
	char md1[32], md2[32], dz[32], rb_s[32], pv[32];
	cli_fmt_num(md1, sizeof(md1), cli_json_num(json_object_get(o, "mean_diff")));
	cli_fmt_num(md2, sizeof(md2), cli_json_num(json_object_get(o, "median_diff")));
	cli_fmt_num(dz, sizeof(dz), cli_json_num(json_object_get(o, "cohen_dz")));
	cli_fmt_num(rb_s, sizeof(rb_s), cli_json_num(json_object_get(o, "rank_biserial")));
	cli_fmt_p(pv, sizeof(pv), few ? NAN : cli_json_num(json_object_get(w, "pvalue")));
	const char *bullet = fmt == OUT_MD ? "* " : "";
	if (fmt == OUT_CSV)
		printf("stem,a,b,diff\n");
	else {
		char sa[2048], sb[2048];
		side_text(json_object_get(o, "a"), sa, sizeof(sa));
		side_text(json_object_get(o, "b"), sb, sizeof(sb));
		printf("%sA = %s, B = %s on '%s', %s (%s is better)%s\n", fmt == OUT_MD ? "**" : "",
		       sa, sb, bia_json_str(o, "problem", ""), bia_json_str(o, "metric", ""),
		       bia_json_str(o, "direction", ""), fmt == OUT_MD ? "**" : "");
		if (few)
			printf("%s%s\n", bullet, bia_json_str(o, "note", ""));
		printf("%s%lld images compared, %lld left out (no value); A wins %lld, ties %lld, "
		       "loses %lld\n",
		       bullet, (long long)json_integer_value(json_object_get(o, "n_pairs")),
		       (long long)json_integer_value(json_object_get(o, "n_left_out")),
		       (long long)json_integer_value(json_object_get(o, "wins")),
		       (long long)json_integer_value(json_object_get(o, "ties")),
		       (long long)json_integer_value(json_object_get(o, "losses")));
		printf("%smean difference A - B %s, median %s; Cohen's dz %s, rank-biserial %s "
		       "(positive: A better); Wilcoxon p = %s (%s)\n\n",
		       bullet, md1, md2, dz, rb_s, pv,
		       strcmp(bia_json_str(w, "method", ""), "exact") ? "normal approximation"
								     : "exact");
		if (fmt == OUT_MD)
			printf("| image | A | B | A - B |\n|---|---|---|---|\n");
		else
			printf("%-32s %10s %10s %10s\n", "image", "A", "B", "A - B");
	}
	size_t q;
	json_t *im;
	json_array_foreach(json_object_get(o, "images"), q, im)
	{
		const char *stem = bia_json_str(im, "stem", "");
		char x[32], y[32], d[32];
		cli_fmt_num(x, sizeof(x), cli_json_num(json_object_get(im, "a")));
		cli_fmt_num(y, sizeof(y), cli_json_num(json_object_get(im, "b")));
		cli_fmt_num(d, sizeof(d), cli_json_num(json_object_get(im, "diff")));
		if (fmt == OUT_CSV)
			printf("%s,%s,%s,%s\n", stem, x, y, d);
		else if (fmt == OUT_MD)
			printf("| %s | %s | %s | %s |\n", stem, x, y, d);
		else
			printf("%-32s %10s %10s %10s\n", stem, x, y, d);
	}
}

int cmd_compare(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"metric", required_argument, NULL, 'm'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *metric = NULL;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'm':
			metric = optarg;
			break;
		case 'f':
			if ((fmt = cli_parse_bench_format(optarg)) < 0)
				return cli_usage_error(compare_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(compare_usage, stdout);
			return 0;
		default:
			return cli_usage_error(compare_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(compare_usage, "compare takes two run ids");
	int64_t ida = cli_parse_run_id(argv[optind]), idb = cli_parse_run_id(argv[optind + 1]);
	if (!ida || !idb)
		return cli_usage_error(compare_usage, "bad run id '%s'",
				       ida ? argv[optind + 1] : argv[optind]);
	int bad = 0;
	struct bia_compare_request req = {ida, idb, metric, &bad};
	struct bia_bench_hooks h;
	cli_bench_hooks(cli, &h);
	json_t *o;
	if (bia_compare_runs_json(&cli->ctx, &cli->inst, &req, &h, &o))
		return bad ? cli_usage_error(compare_usage, "%s", cli->ctx.msg) : cli_error(cli);
	if (fmt == OUT_JSON)
		cli_print_object(stdout, o, OUT_JSON);
	else
		print_compare(o, fmt);
	json_decref(o);
	return 0;
}
