/* biaflows run | run outputs: queue a run (and wait for it), write its
 * outputs; run show is cmd_runs.c's.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"
#include "workflow/workflow.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char run_usage[] =
	"usage: biaflows run WORKFLOW[@VERSION] PROBLEM [--param NAME=VALUE]...\n"
	"                    [--images STEM|ID,...] [--timeout DURATION] [--memory SIZE]\n"
	"                    [--processes N] [--open-files N] [--output SIZE]\n"
	"                    [--executor local|slurm] [--cpus N] [--gpus N]\n"
	"                    [--partition NAME] [--batch-size N]\n"
	"                    [--wait] [--format table|json]\n"
	"       biaflows run show RUN [--format table|json]\n"
	"       biaflows run outputs RUN -o DIR\n"
	"\n"
	"Queue a run of a workflow version (NAME alone: the newest added) on the\n"
	"images of PROBLEM (all, or --images by stem or id), and print its id.\n"
	"Everything is checked before the run is queued: the workflow's\n"
	"problem-class must be the problem's class, the parameters must resolve.\n"
	"--timeout (\"90\", \"10m\", \"1h\"), --memory (\"512M\", \"2G\"), --processes\n"
	"(1..100000), --open-files (16..1048576) and --output (size of /data/out,\n"
	"\"1G\") override the descriptor's resources for this run only; 'run show'\n"
	"shows them. --executor slurm runs it as SLURM jobs (default: config\n"
	"\"executor\", else local); --cpus, --gpus, --partition become sbatch\n"
	"options, --batch-size N splits the images into jobs of N (docs/deployment.md).\n"
	"'run outputs' writes the files the run produced, by their\n"
	"names (<stem>.tif, ObjTrk also <stem>.txt, TreTrc <stem>.swc), into DIR\n"
	"(created; it must be empty).\n"
	"A worker process is started for the instance when a\n"
	"worker slot is free (config max_concurrent_runs, default 1); workers\n"
	"run the queue in order and exit when it is empty.\n"
	"--wait waits for the end of the run: exit 0 only if it succeeded.\n"
	"See docs/runs.md.\n";

static const char *ref_of(int64_t id)
{
	static char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)id);
	return b;
}

/* run outputs RUN -o DIR: the stored output files of a run, by name. */
static int outputs(struct bia_cli *cli, const char *ref, const char *dir)
{
	char *end;
	long long id = strtoll(ref, &end, 10);
	if (*end || id <= 0)
		return cli_usage_error(run_usage, "bad run id '%s'", ref);
	if (!dir)
		return cli_usage_error(run_usage, "run outputs needs -o DIR");
	size_t files;
	if (bia_run_outputs_write(&cli->ctx, &cli->inst, id, dir, &files))
		return cli_error(cli);
	fprintf(stderr, "wrote %zu file(s) of run %lld into '%s'\n", files, id, dir);
	return 0;
}

static int parse_fmt(const char *usage, int *fmt)
{
	*fmt = cli_parse_format(optarg);
	if (*fmt < 0)
		return cli_usage_error(usage, "unknown format '%s'", optarg);
	return 0;
}

/* Split comma lists into a vector. */
static void add_list(char ***pv, size_t *pn, size_t *pcap, char *s)
{
	for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*pn == *pcap) {
			*pcap = *pcap ? *pcap * 2 : 8;
			*pv = realloc(*pv, *pcap * sizeof(char *));
		}
		(*pv)[(*pn)++] = t;
	}
}

int cmd_run(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"param", required_argument, NULL, 'p'},
					   {"images", required_argument, NULL, 'i'},
					   {"wait", no_argument, NULL, 'w'},
					   {"timeout", required_argument, NULL, 't'},
					   {"memory", required_argument, NULL, 'm'},
					   {"processes", required_argument, NULL, 'P'},
					   {"open-files", required_argument, NULL, 'F'},
					   {"output", required_argument, NULL, 'O'},
					   {"cpus", required_argument, NULL, 'C'},
					   {"gpus", required_argument, NULL, 'G'},
					   {"partition", required_argument, NULL, 'Q'},
					   {"batch-size", required_argument, NULL, 'B'},
					   {"executor", required_argument, NULL, 'E'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(run_usage, stdout);
		return 0;
	}
	const char **params = bia_calloc((size_t)argc + 1, sizeof(char *));
	char **images = NULL;
	size_t nparams = 0, nimages = 0, icap = 0;
	int fmt = OUT_TABLE, wait = 0, ch, code;
	struct bia_run_overrides limits;
	memset(&limits, 0, sizeof(limits));
	const char *executor = NULL;
	optind = 1;
	opterr = 0;
	const char *outdir = NULL;
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': outdir = optarg; break;
		case 'p': params[nparams++] = optarg; break;
		case 'i': add_list(&images, &nimages, &icap, optarg); break;
		case 'w': wait = 1; break;
		case 't': case 'm': case 'P': case 'F': case 'O': case 'C': case 'G': case 'Q':
		case 'B': {
			const char *key = ch == 't'   ? "timeout"
					  : ch == 'm' ? "memory"
					  : ch == 'P' ? "processes"
					  : ch == 'F' ? "open_files"
					  : ch == 'O' ? "output"
					  : ch == 'C' ? "cpus"
					  : ch == 'G' ? "gpus"
					  : ch == 'Q' ? "partition"
						      : "batch_size";
			if (bia_run_override_set(&cli->ctx, &limits, key, optarg)) {
				code = cli_usage_error(run_usage, "%s", cli->ctx.msg);
				goto out;
			}
			break;
		}
		case 'E': executor = optarg; break;
		case 'f':
			if (parse_fmt(run_usage, &fmt)) {
				code = 2;
				goto out;
			}
			break;
		default:
			code = cli_usage_error(run_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "show")) {
		code = cli_run_show(cli, argv[optind + 1], fmt);
		goto out;
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "outputs")) {
		code = outputs(cli, argv[optind + 1], outdir);
		goto out;
	}
	if (argc - optind != 2) {
		code = cli_usage_error(run_usage, "run needs WORKFLOW and PROBLEM");
		goto out;
	}
	int bad_params = 0;
	struct bia_run_request req = {.workflow = argv[optind],
				      .problem = argv[optind + 1],
				      .params = params,
				      .nparams = nparams,
				      .images = (const char *const *)images,
				      .nimages = nimages,
				      .bad_params = &bad_params,
				      .limits = limits,
				      .executor = executor};
	int64_t id;
	if (bia_run_enqueue(&cli->ctx, &cli->inst, &req, &id)) {
		/* wrong parameters are usage errors, as for exec */
		code = bad_params ? cli_usage_error(run_usage, "%s", cli->ctx.msg) : cli_error(cli);
		goto out;
	}
	if (fmt == OUT_JSON)
		printf("{\"id\": %lld}\n", (long long)id);
	else
		printf("%lld\n", (long long)id);
	fflush(stdout);
	if (cli_ensure_worker(cli)) {
		code = cli_error(cli);
		goto out;
	}
	code = 0;
	if (wait) {
		struct bia_run r;
		if (cli_wait_runs(cli, &id, 1) ||
		    bia_store_run_get(&cli->ctx, &cli->inst, id, &r)) {
			code = cli_error(cli);
			goto out;
		}
		/* the end: status, and the main metric's mean (and warnings) */
		json_t *j = bia_run_json(&cli->ctx, &cli->inst, &r, 1);
		char mean[48] = "n/a";
		json_t *mm = json_object_get(j, "main_metric_mean");
		if (json_is_number(mm))
			snprintf(mean, sizeof(mean), "%.4g", json_number_value(mm));
		size_t nw = json_array_size(json_object_get(j, "warnings"));
		if (r.state != BIA_RUN_SUCCEEDED) {
			cli_msg("run %lld %s: %s", (long long)id, bia_run_state_name(r.state),
				r.reason ? r.reason : "");
			code = 1;
		} else {
			fprintf(stderr, "run %lld succeeded: %s %s over %zu images (%s)%s%s\n",
				(long long)id, bia_json_str(j, "main_metric", "?"), mean,
				json_array_size(json_object_get(j, "images")), r.reason ? r.reason : "",
				nw ? "; warnings: see 'run show' " : "", nw ? ref_of(id) : "");
		}
		json_decref(j);
		bia_ctx_clear(&cli->ctx);
		bia_run_release(&r);
	}
out:
	free(params);
	free(images);
	return code;
}
