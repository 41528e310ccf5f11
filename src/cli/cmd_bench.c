/* biaflows bench: the leaderboard of a problem with honest statistics
 * (docs/benchmarks.md); computed by bia_bench_json, printed here.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const char bench_usage[] =
	"usage: biaflows bench PROBLEM [--workflows W[@V],...] [--metric M] [--images STEM,...]\n"
	"                      [--seed N] [--resamples N] [--no-run] [--format table|json|csv|md]\n"
	"\n"
	"The leaderboard of a problem on its main metric ('problem set --main-metric',\n"
	"else the class's; --metric another one): one entry per (workflow version,\n"
	"parameters) = its latest succeeded run. With --workflows, only those\n"
	"workflows, and each one without a succeeded run of its default parameters\n"
	"on the images is run first (unless --no-run); without it, every workflow of\n"
	"the problem's class is. Per entry: mean, sd, median, min, max with NaN\n"
	"counted; a bootstrap 95%% CI of the mean and a rank interval (the same\n"
	"--resamples, default 10000, resamples of the images for every entry, from\n"
	"--seed, default 1); a two-sided Wilcoxon signed-rank test against the leader\n"
	"with Holm's correction ('tied with #1' when the adjusted p >= 0.05); a\n"
	"Friedman test across the entries; the ranking under the median and under\n"
	"rank-then-mean with Kendall's tau. Same inputs and seed, same bytes out.\n";

int cmd_bench(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"workflows", required_argument, NULL, 'w'},
					   {"metric", required_argument, NULL, 'm'},
					   {"images", required_argument, NULL, 'i'},
					   {"seed", required_argument, NULL, 's'},
					   {"resamples", required_argument, NULL, 'r'},
					   {"no-run", no_argument, NULL, 'n'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	char *wf = NULL, *images = NULL;
	const char *metric = NULL;
	unsigned long long seed = BIA_LB_DEFAULT_SEED, reps = BIA_LB_DEFAULT_REPS;
	int fmt = OUT_TABLE, may_run = 1, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'w':
			wf = optarg;
			break;
		case 'm':
			metric = optarg;
			break;
		case 'i':
			images = optarg;
			break;
		case 's':
			if (cli_parse_count(optarg, UINT64_MAX, &seed))
				return cli_usage_error(bench_usage, "bad --seed '%s'", optarg);
			break;
		case 'r':
			if (cli_parse_count(optarg, 1000000, &reps) || !reps)
				return cli_usage_error(bench_usage,
						       "--resamples must be 1..1000000, not '%s'",
						       optarg);
			break;
		case 'n':
			may_run = 0;
			break;
		case 'f':
			if ((fmt = cli_parse_bench_format(optarg)) < 0)
				return cli_usage_error(bench_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return 0;
		default:
			return cli_usage_error(bench_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(bench_usage, "bench takes one PROBLEM");
	char *names[256], *refs[4096];
	size_t nnames = wf ? cli_split_commas(wf, names, 256) : 0;
	size_t nrefs = images ? cli_split_commas(images, refs, 4096) : 0;
	int bad = 0;
	struct bia_bench_request req = {.problem = argv[optind],
					.workflows = wf ? (const char *const *)names : NULL,
					.nworkflows = nnames,
					.metric = metric,
					.images = (const char *const *)refs,
					.nimages = nrefs,
					.seed = seed,
					.resamples = (unsigned)reps,
					.no_run = !may_run,
					.bad_request = &bad};
	struct bia_bench_hooks h;
	cli_bench_hooks(cli, &h);
	json_t *lb;
	if (bia_bench_json(&cli->ctx, &cli->inst, &req, &h, &lb))
		return bad ? cli_usage_error(bench_usage, "%s", cli->ctx.msg) : cli_error(cli);
	if (fmt == OUT_JSON)
		cli_print_object(stdout, lb, OUT_JSON);
	else
		cli_print_board(stdout, lb, fmt);
	json_decref(lb);
	return 0;
}
