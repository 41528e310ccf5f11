/* biaflows exec: run a workflow on a folder of images with no instance
 * (BIAFLOWS' local mode), in the sandbox, then check its outputs and, with
 * --gt, score them.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "exec/exec.h"
#include "metrics/metrics.h"
#include "runs/runs.h"
#include "workflow/workflow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
	"usage: biaflows exec WORKFLOW_DIR --in DIR --out DIR [--gt DIR] [--class CLASS]\n"
	"                     [--param NAME=VALUE]... [--timeout SECONDS] [--memory SIZE]\n"
	"                     [--processes N] [--open-files N] [--output SIZE]\n"
	"                     [--image-archive FILE.tar] [--envs DIR] [--log FILE]\n"
	"                     [--format json|table]\n"
	"\n"
	"Run the workflow in WORKFLOW_DIR (its descriptor.json) on the images of --in,\n"
	"as BIAFLOWS' local mode does, in the sandbox: inputs are staged as <stem>.tif\n"
	"at /data/in (read-only), results are expected as <stem>.tif (TreTrc: .swc;\n"
	"ObjTrk: .tif and .txt) in /data/out, then copied to --out (which must be\n"
	"empty). The workflow never sees ground truth. Parameters are checked before\n"
	"anything starts. With --gt the outputs are scored with the metrics of the\n"
	"class (the descriptor's problem-class, or --class); a missing or invalid\n"
	"output is scored as an empty prediction. The log goes to stderr (or --log).\n"
	"--image-archive runs an unmodified BIAFLOWS descriptor in its container\n"
	"image, given as an OCI layout or 'docker save' archive (unpacked once into\n"
	"--envs, default $TMPDIR/biaflows-envs-UID); the command line follows the\n"
	"image's Entrypoint, with its Env and WorkingDir. Without an archive, a\n"
	"container-image is exported from a local Docker or Podman (never pulled;\n"
	"it still runs in the sandbox, see docs/exec.md \"Container engines\").\n"
	"--timeout, --memory, --processes (1..100000), --open-files (16..1048576)\n"
	"and --output (size of /data/out) override the descriptor's resources.\n"
	"Exit 0 when the workflow succeeded, 1 when it failed or was refused.\n";

static int dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	return empty;
}

int cmd_exec(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{"in", required_argument, NULL, 'i'},	  {"out", required_argument, NULL, 'o'},
		{"gt", required_argument, NULL, 'g'},	  {"class", required_argument, NULL, 'c'},
		{"param", required_argument, NULL, 'p'},  {"timeout", required_argument, NULL, 't'},
		{"memory", required_argument, NULL, 'm'}, {"envs", required_argument, NULL, 'e'},
		{"log", required_argument, NULL, 'l'},	  {"format", required_argument, NULL, 'f'},
		{"image-archive", required_argument, NULL, 'a'},
		{"processes", required_argument, NULL, 'P'},
		{"open-files", required_argument, NULL, 'F'},
		{"output", required_argument, NULL, 'O'},
		{NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *in_dir = NULL, *out_dir = NULL, *gt_dir = NULL, *cls_name = NULL;
	const char *envs = NULL, *log_path = NULL, *timeout = NULL, *memory = NULL;
	const char *image_archive = NULL, *processes = NULL, *open_files = NULL, *output = NULL;
	const char **params = bia_calloc((size_t)argc + 1, sizeof(char *));
	size_t nparams = 0;
	int fmt = OUT_JSON, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'i': in_dir = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'g': gt_dir = optarg; break;
		case 'c': cls_name = optarg; break;
		case 'p': params[nparams++] = optarg; break;
		case 't': timeout = optarg; break;
		case 'm': memory = optarg; break;
		case 'e': envs = optarg; break;
		case 'l': log_path = optarg; break;
		case 'a': image_archive = optarg; break;
		case 'P': processes = optarg; break;
		case 'F': open_files = optarg; break;
		case 'O': output = optarg; break;
		case 'f':
			fmt = cli_parse_format(optarg);
			if (fmt < 0) {
				free(params);
				return cli_usage_error(usage, "unknown format '%s'", optarg);
			}
			break;
		default:
			free(params);
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1 || !in_dir || !out_dir) {
		free(params);
		return cli_usage_error(usage, "exec needs WORKFLOW_DIR, --in and --out");
	}
	const char *wf_dir = argv[optind];
	struct bia_ctx *ctx = &cli->ctx;
	struct bia_exec_plan plan;
	int have_plan = 0;
	struct bia_stage_entry *inputs = NULL;
	size_t ninputs = 0;
	char work[] = "/tmp/biaflows-exec-XXXXXX", stage[BIA_PATH_MAX], view[BIA_PATH_MAX];
	int have_work = 0, log_fd = 2, code = 1;
	json_t *report = NULL;
	char *text = NULL;

	/* resource overrides: checked before anything starts (usage errors) */
	struct bia_run_overrides ov = {0};
	if (timeout && (bia_parse_duration(timeout, &ov.timeout) || ov.timeout <= 0)) {
		code = cli_usage_error(usage, "bad --timeout '%s'", timeout);
		goto out;
	}
	if (memory && bia_parse_memory(memory, &ov.memory)) {
		code = cli_usage_error(usage, "bad --memory '%s'", memory);
		goto out;
	}
	if (processes && bia_parse_int_range(processes, BIA_RES_PROCESSES_MIN,
					     BIA_RES_PROCESSES_MAX, &ov.processes)) {
		code = cli_usage_error(usage, "bad --processes '%s' (1 to 100000)", processes);
		goto out;
	}
	if (open_files && bia_parse_int_range(open_files, BIA_RES_OPEN_FILES_MIN,
					      BIA_RES_OPEN_FILES_MAX, &ov.open_files)) {
		code = cli_usage_error(usage, "bad --open-files '%s' (16 to 1048576)", open_files);
		goto out;
	}
	if (output && (bia_parse_memory(output, &ov.output) || ov.output == 0)) {
		code = cli_usage_error(usage, "bad --output '%s' (e.g. 100M, 2G)", output);
		goto out;
	}
	char dpath[BIA_PATH_MAX], envs_dir[BIA_PATH_MAX];
	snprintf(dpath, sizeof(dpath), "%s/descriptor.json", wf_dir);
	if (envs)
		snprintf(envs_dir, sizeof(envs_dir), "%s", envs);
	else
		snprintf(envs_dir, sizeof(envs_dir), "%s/biaflows-envs-%ld",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getuid());
	size_t tlen;
	if (bia_read_file(ctx, dpath, BIA_JSON_MAX_BYTES, &text, &tlen))
		goto fail;
	/* the descriptor's warnings and class, before the plan */
	enum bia_class cls = BIA_CLASS_NONE;
	{
		struct bia_descriptor d;
		if (bia_descriptor_parse(ctx, dpath, text, tlen, &d))
			goto fail;
		for (size_t i = 0; i < d.n_warnings; i++)
			cli_msg("warning: %s", d.warnings[i]);
		cls = d.problem_class;
		bia_descriptor_release(&d);
	}
	if (cls_name) {
		cls = bia_class_parse(cls_name);
		if (cls == BIA_CLASS_NONE) {
			bia_fail(ctx, BIA_EINVAL, "unknown problem class '%s' (expected one of %s)",
				 cls_name, bia_class_list());
			goto fail;
		}
	}
	if (gt_dir && cls == BIA_CLASS_NONE) {
		bia_fail(ctx, BIA_EINVAL,
			 "%s has no problem-class: give --class to score against --gt", dpath);
		goto fail;
	}
	int bad_params = 0, no_engine = 0;
	struct bia_plan_request req = {.descriptor = text,
				       .descriptor_name = dpath,
				       .app_dir = wf_dir,
				       .archive = image_archive,
				       .envs_dir = envs_dir,
				       .params = params,
				       .nparams = nparams,
				       .limits = &ov,
				       .bad_params = &bad_params,
				       .no_engine = &no_engine};
	if (bia_exec_plan_make(ctx, &req, &plan)) {
		if (bad_params) { /* wrong values are usage errors */
			code = cli_usage_error(usage, "%s", ctx->msg);
			goto out;
		}
		if (no_engine) {
			char m[sizeof(ctx->msg)];
			snprintf(m, sizeof(m), "%s", ctx->msg);
			bia_fail(ctx, ctx->rc,
				 "%s: %s; or give an OCI or 'docker save' archive of it "
				 "(--image-archive FILE.tar, or an environment {\"type\": "
				 "\"image\", \"archive\": \"image.tar\"})",
				 dpath, m);
		}
		goto fail;
	}
	have_plan = 1;
	if (plan.env_note[0])
		bia_log(BIA_LOG_INFO, "%s", plan.env_note);
	struct bia_exec_spec spec = plan.spec;

	/* folders: stage inputs, an empty --out */
	if (bia_mkdir_p(ctx, out_dir))
		goto fail;
	if (!dir_empty(out_dir)) {
		bia_fail(ctx, BIA_EEXIST, "output folder '%s' is not empty", out_dir);
		goto fail;
	}
	if (!mkdtemp(work)) {
		bia_fail(ctx, BIA_EIO, "cannot create a work folder: %s", strerror(errno));
		goto fail;
	}
	have_work = 1;
	snprintf(stage, sizeof(stage), "%s/in", work);
	snprintf(view, sizeof(view), "%s/view", work);
	if (bia_mkdir_p(ctx, stage) || bia_mkdir_p(ctx, view))
		goto fail;
	if (bia_runs_scan_inputs(ctx, in_dir, &inputs, &ninputs) ||
	    bia_runs_stage(ctx, cls, stage, inputs, ninputs))
		goto fail;
	if (log_path) {
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			bia_fail(ctx, BIA_EIO, "cannot create log '%s': %s", log_path, strerror(errno));
			log_fd = 2;
			goto fail;
		}
	}
	spec.in_dir = stage;
	spec.out_dir = out_dir;
	spec.log_fd = log_fd;

	struct bia_exec_result res;
	if (bia_exec_run(ctx, &spec, &res))
		goto fail;

	/* outputs: one per input, valid for the class, decoded within the
	 * run's memory limit */
	json_t *outs = json_array();
	size_t nok = 0;
	struct bia_ctx olim = *ctx;
	olim.max_image_bytes = spec.limits.memory_bytes;
	for (size_t i = 0; i < ninputs; i++) {
		char reason[1024] = "", p1[BIA_PATH_MAX], p2[BIA_PATH_MAX];
		enum bia_output_status os = bia_runs_check_output(&olim, cls, &inputs[i], out_dir,
								  view, p1, p2, reason, sizeof(reason));
		int ok = os == BIA_OUTPUT_OK;
		nok += ok;
		json_array_append_new(outs, json_pack("{s:s, s:s, s:s?}", "name", inputs[i].stem,
						      "status", bia_output_status_name(os),
						      "reason", ok ? NULL : reason));
		if (!ok)
			cli_msg("warning: %s: %s", inputs[i].stem, reason);
	}
	report = json_pack("{s:s, s:s, s:i, s:f, s:s, s:s, s:o, s:O}", "workflow", plan.d.name,
			   "status", bia_exec_status_name(res.status), "exit_code", res.exit_code,
			   "wall_seconds", res.wall_seconds, "reason", res.reason, "environment",
			   plan.env_digest, "outputs", outs, "parameters", plan.values);
	fprintf(stderr, "workflow '%s' %s (%s) in %.2f s: %zu of %zu outputs valid\n", plan.d.name,
		bia_exec_status_name(res.status), res.reason, res.wall_seconds, nok, ninputs);
	if (res.status != BIA_EXEC_OK) {
		cli_print_object(stdout, report, OUT_JSON);
		code = 1;
		goto out;
	}
	if (gt_dir) {
		struct bia_metric_params mp;
		bia_metric_params_init(&mp);
		code = cli_score_folders(cli, cls, view, gt_dir, &mp, 0, 1, (enum bia_out_format)fmt);
	} else {
		cli_print_object(stdout, report, OUT_JSON);
		code = 0;
	}
	goto out;
fail:
	code = cli_error(cli);
out:
	if (have_work) {
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		bia_rm_rf(&c2, work);
	}
	if (log_fd > 2)
		close(log_fd);
	json_decref(report);
	if (have_plan)
		bia_exec_plan_release(&plan);
	free(text);
	free(inputs);
	free(params);
	return code;
}
