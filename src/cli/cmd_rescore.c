/* biaflows rescore RUN|PROBLEM
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows rescore RUN|PROBLEM [--all] [--format table|json|csv]\n"
	"\n"
	"Score runs again from their stored outputs, against the current ground\n"
	"truth of each image (after 'gt add') and the current metric library.\n"
	"RUN: that run, every image. PROBLEM: every succeeded run of the problem\n"
	"whose scores are stale (an older GT version or metric library), or every\n"
	"succeeded run with --all. The scores they replace are kept in the run's\n"
	"score history. Prints each run with its main metric before and after.\n"
	"'bench' rescores the stale runs it ranks by itself.\n";

int cmd_rescore(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"all", no_argument, NULL, 'a'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	int all = 0, ch;
	enum bia_out_format fmt = OUT_TABLE;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'a')
			all = 1;
		else if (ch == 'f' && cli_parse_format(optarg) >= 0)
			fmt = (enum bia_out_format)cli_parse_format(optarg);
		else
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, "rescore needs one RUN id or PROBLEM");
	const char *ref = argv[optind];
	json_t *rows = NULL;
	char *end;
	long long id = strtoll(ref, &end, 10);
	struct bia_problem p;
	if (*ref && !*end && id > 0) {
		json_t *one;
		if (bia_run_rescore(&cli->ctx, &cli->inst, id, 0, &one))
			return cli_error(cli);
		rows = json_array();
		json_array_append_new(rows, one);
	} else {
		if (bia_problem_get(&cli->ctx, &cli->inst, ref, &p))
			return cli_error(cli);
		int rc = bia_problem_rescore(&cli->ctx, &cli->inst, &p, !all, &rows);
		bia_problem_release(&p);
		if (rc)
			return cli_error(cli);
		if (fmt == OUT_TABLE && !json_array_size(rows))
			printf("no run of '%s' needed rescoring (every score is against the "
			       "current ground truth)\n", ref);
	}
	static const char *const cols[] = {"run",	      "workflow",    "images",
					   "rescored_images", "main_metric", "before",
					   "after",	      NULL};
	if (fmt != OUT_TABLE || json_array_size(rows))
		cli_print_list(stdout, rows, cols, fmt);
	json_decref(rows);
	return 0;
}
