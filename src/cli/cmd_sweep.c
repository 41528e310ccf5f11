/* biaflows sweep: a workflow run over a grid of parameter values, ranked
 * as a leaderboard; computed by bia_sweep_json, printed here.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const char sweep_usage[] =
	"usage: biaflows sweep WORKFLOW[@VERSION] PROBLEM --param NAME=A:B:STEP|NAME=V1,V2,...\n"
	"                      [--param NAME=VALUE]... [--images STEM,...] [--metric M]\n"
	"                      [--seed N] [--resamples N] [--format table|json|csv|md]\n"
	"\n"
	"Runs the workflow for every combination of the swept parameters (A:B:STEP\n"
	"numbers from A to B inclusive; or a comma list; at most 1000 settings),\n"
	"reusing succeeded runs of the same setting, waits for them, and prints the\n"
	"main metric per setting as a leaderboard (best first).\n";

/* Check every --param as the sweep will read it: the usage error names the
 * argument. */
static int check_specs(const char *const *specs, size_t n)
{
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		struct bia_sweep_param sp;
		int r = bia_sweep_param_parse(specs[i], &sp);
		size_t nv = sp.nvalues;
		bia_sweep_param_release(&sp);
		if (r)
			return cli_usage_error(sweep_usage,
					       r == BIA_ELIMIT ? "bad range in '%s' (A:B:STEP with A <= B, "
								 "STEP > 0, at most 1000 values)"
							       : "bad --param '%s' (NAME=A:B:STEP or "
								 "NAME=V1,V2,...)",
					       specs[i]);
		total *= nv;
		if (total > BIA_SWEEP_MAX)
			return cli_usage_error(sweep_usage, "the grid has more than %d settings",
					       BIA_SWEEP_MAX);
	}
	return 0;
}

int cmd_sweep(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"param", required_argument, NULL, 'p'},
					   {"images", required_argument, NULL, 'i'},
					   {"metric", required_argument, NULL, 'm'},
					   {"seed", required_argument, NULL, 's'},
					   {"resamples", required_argument, NULL, 'r'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *specs[BIA_SWEEP_MAX_PARAMS];
	size_t nspecs = 0;
	char *images = NULL;
	const char *metric = NULL;
	unsigned long long seed = BIA_LB_DEFAULT_SEED, reps = BIA_LB_DEFAULT_REPS;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (nspecs == BIA_SWEEP_MAX_PARAMS)
				return cli_usage_error(sweep_usage, "at most 64 --param");
			specs[nspecs++] = optarg;
			break;
		case 'i':
			images = optarg;
			break;
		case 'm':
			metric = optarg;
			break;
		case 's':
			if (cli_parse_count(optarg, UINT64_MAX, &seed))
				return cli_usage_error(sweep_usage, "bad --seed '%s'", optarg);
			break;
		case 'r':
			if (cli_parse_count(optarg, 1000000, &reps) || !reps)
				return cli_usage_error(sweep_usage,
						       "--resamples must be 1..1000000, not '%s'",
						       optarg);
			break;
		case 'f':
			if ((fmt = cli_parse_bench_format(optarg)) < 0)
				return cli_usage_error(sweep_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(sweep_usage, stdout);
			return 0;
		default:
			return cli_usage_error(sweep_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(sweep_usage, "sweep takes WORKFLOW and PROBLEM");
	if (!nspecs)
		return cli_usage_error(sweep_usage, "sweep needs at least one --param");
	if (check_specs(specs, nspecs))
		return 2;
	char *refs[4096];
	size_t nrefs = images ? cli_split_commas(images, refs, 4096) : 0;
	int bad = 0;
	struct bia_sweep_request req = {.workflow = argv[optind],
					.problem = argv[optind + 1],
					.params = specs,
					.nparams = nspecs,
					.metric = metric,
					.images = (const char *const *)refs,
					.nimages = nrefs,
					.seed = seed,
					.resamples = (unsigned)reps,
					.bad_request = &bad};
	struct bia_bench_hooks h;
	cli_bench_hooks(cli, &h);
	json_t *o;
	if (bia_sweep_json(&cli->ctx, &cli->inst, &req, &h, &o))
		return bad ? cli_usage_error(sweep_usage, "%s", cli->ctx.msg) : cli_error(cli);
	json_t *entries = json_object_get(o, "entries"), *failed = json_object_get(o, "failed_settings");
	if (fmt == OUT_JSON)
		cli_print_object(stdout, o, OUT_JSON);
	else if (json_array_size(entries))
		cli_print_board(stdout, o, fmt);
	if (fmt != OUT_JSON)
		cli_print_failed(stdout, failed, fmt);
	/* exit 1 unless every setting has a succeeded run */
	int code = json_array_size(entries) && !json_array_size(failed) ? 0 : 1;
	json_decref(o);
	return code;
}
