/* biaflows rerun: a run repeated from its record and its reproduction
 * verdict (bia_rerun_enqueue, bia_rerun_json).
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static const char rerun_usage[] =
	"usage: biaflows rerun RUN [--tolerance X] [--no-wait] [--format table|json]\n"
	"\n"
	"Runs RUN again from its record (workflow version, parameters, images,\n"
	"limits), waits for it and reports whether it reproduced:\n"
	"reproduced-exact (identical output files), reproduced-within-tolerance\n"
	"(every metric value within X, default 1e-9, absolute) or not-reproduced.\n"
	"The verdict is stored on the new run ('run show'). Exit 0 when reproduced.\n";

int cmd_rerun(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"tolerance", required_argument, NULL, 't'},
					   {"no-wait", no_argument, NULL, 'n'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	double tol = 1e-9;
	int fmt = OUT_TABLE, wait = 1, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 't': {
			char *end;
			tol = strtod(optarg, &end);
			if (!*optarg || *end || !(tol >= 0) || !isfinite(tol))
				return cli_usage_error(rerun_usage,
						       "--tolerance must be a number >= 0, not '%s'",
						       optarg);
			break;
		}
		case 'n':
			wait = 0;
			break;
		case 'f':
			if ((fmt = cli_parse_format(optarg)) < 0)
				return cli_usage_error(rerun_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(rerun_usage, stdout);
			return 0;
		default:
			return cli_usage_error(rerun_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(rerun_usage, "rerun takes one RUN");
	int64_t id = cli_parse_run_id(argv[optind]);
	if (!id)
		return cli_usage_error(rerun_usage, "bad run id '%s'", argv[optind]);
	struct bia_bench_hooks h;
	cli_bench_hooks(cli, &h);
	int64_t nid;
	if (bia_rerun_enqueue(&cli->ctx, &cli->inst, id, tol, &h, &nid))
		return cli_error(cli);
	if (!wait) {
		printf("%lld\n", (long long)nid);
		return 0;
	}
	json_t *out;
	if (cli_wait_runs(cli, &nid, 1) || bia_rerun_json(&cli->ctx, &cli->inst, nid, &out))
		return cli_error(cli);
	if (fmt != OUT_JSON) { /* the details as lines of their own */
		json_t *det = json_incref(json_object_get(out, "detail")), *dv;
		const char *dk;
		json_object_foreach(det, dk, dv) json_object_set(out, dk, dv);
		json_object_del(out, "detail");
		json_decref(det);
	}
	cli_print_object(stdout, out, fmt == OUT_JSON ? OUT_JSON : OUT_TABLE);
	int code = strcmp(bia_json_str(out, "reproduction", ""), "not-reproduced") ? 0 : 1;
	json_decref(out);
	return code;
}
