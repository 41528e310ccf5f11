/* biaflows errors: the error maps of runs (docs/benchmarks.md "Error maps").
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows errors RUN [--image STEM|ID] [--category C] [--top N]\n"
	"                       [--format table|json|csv]\n"
	"       biaflows errors --problem PROBLEM [--category C] [--top N]\n"
	"                       [--format table|json|csv]\n"
	"\n"
	"The error maps of a run: per image, the count of every error category of\n"
	"the problem's class (ObjSeg tp fp fn split merged; SptCnt, ObjDet tp fp fn;\n"
	"TreTrc, LooTrc matched missed spurious; PrtTrk paired missed spurious;\n"
	"ObjTrk fn fp ns ea ed ec; LndDet located spurious; PixCla has none).\n"
	"\n"
	"  --image STEM|ID  the per-object records of one image instead: kind, id,\n"
	"                   status, match, score and details (viewer overlays)\n"
	"  --category C     sort the images by the count of C, largest first (then\n"
	"                   by stem)\n"
	"  --top N          at most N rows\n"
	"  --problem P      every image of every run of problem P (rows sorted by\n"
	"                   --category when given, else by run and stem)\n"
	"  --format F       table (default), json or csv\n";

/* Print rows with the columns of the error categories. */
static void print_counts(json_t *rows, const char *const *cats, int problem, int fmt)
{
	const char *cols[40];
	size_t nc = 0;
	if (problem) {
		cols[nc++] = "run";
		cols[nc++] = "workflow";
	}
	cols[nc++] = "image_id";
	cols[nc++] = "stem";
	for (size_t c = 0; cats[c] && nc + 1 < sizeof(cols) / sizeof(cols[0]); c++)
		cols[nc++] = cats[c];
	cols[nc] = NULL;
	cli_print_list(stdout, rows, cols, (enum bia_out_format)fmt);
}

int cmd_errors(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"image", required_argument, NULL, 'i'},
					   {"category", required_argument, NULL, 'c'},
					   {"top", required_argument, NULL, 't'},
					   {"problem", required_argument, NULL, 'p'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *image = NULL, *category = NULL, *problem = NULL;
	long top = 0;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'i')
			image = optarg;
		else if (ch == 'c')
			category = optarg;
		else if (ch == 'p')
			problem = optarg;
		else if (ch == 't') {
			char *end;
			top = strtol(optarg, &end, 10);
			if (*end || !*optarg || top <= 0)
				return cli_usage_error(usage, "--top needs a positive integer, not '%s'",
						       optarg);
		} else if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	const char *runref = optind < argc ? argv[optind] : NULL;
	if (optind + (runref ? 1 : 0) < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind + 1]);
	if (!runref == !problem)
		return cli_usage_error(usage, "errors needs a RUN id or --problem (not both)");
	if (problem && image)
		return cli_usage_error(usage, "--image needs a RUN, not --problem");
	if (image && (category || top))
		return cli_usage_error(usage, "--image lists every object: no --category or --top");

	struct bia_run r;
	int have_run = 0, code = 0;
	int64_t run_id = 0, problem_id = 0;
	if (runref) {
		char *end;
		long long id = strtoll(runref, &end, 10);
		if (*end || id <= 0)
			return cli_usage_error(usage, "bad run id '%s'", runref);
		if (bia_store_run_get(&cli->ctx, &cli->inst, id, &r))
			return cli_error(cli);
		have_run = 1;
		run_id = r.id;
		problem_id = r.problem_id;
	} else {
		struct bia_problem p;
		if (bia_problem_get(&cli->ctx, &cli->inst, problem, &p))
			return cli_error(cli);
		problem_id = p.id;
		bia_problem_release(&p);
	}
	const char *const *cats;
	if (bia_errors_scope(&cli->ctx, &cli->inst, problem_id, category, &cats)) {
		code = cli->ctx.rc == BIA_EINVAL ? cli_usage_error(usage, "%s", cli->ctx.msg)
						 : cli_error(cli);
		goto out;
	}
	json_t *rows = NULL;
	if (image ? bia_errors_image_json(&cli->ctx, &cli->inst, run_id, image, &rows)
		  : bia_errors_counts_json(&cli->ctx, &cli->inst, problem ? 0 : run_id,
					   problem ? problem_id : 0, category, top, &rows)) {
		code = cli_error(cli);
		goto out;
	}
	if (image) {
		static const char *const cols[] = {"kind",  "id",    "status", "match", "score",
						   "where", "frame", "detail", NULL};
		cli_print_list(stdout, rows, cols, (enum bia_out_format)fmt);
	} else {
		print_counts(rows, cats, problem != NULL, fmt);
	}
	json_decref(rows);
out:
	if (have_run)
		bia_run_release(&r);
	return code;
}
