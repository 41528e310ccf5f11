/* biaflows worker: drain the run queue of an instance, then exit.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

static const char usage[] =
	"usage: biaflows worker\n"
	"\n"
	"Run the queued runs of the instance in order, then exit when the queue is\n"
	"empty. Up to max_concurrent_runs workers (instance config, default 1)\n"
	"drain an instance at once, one per slot lock (worker.lock, worker.lock.1,\n"
	"...); a worker that finds every slot held exits at once. At start, runs\n"
	"left running or ingesting by a worker that died are marked failed\n"
	"(\"interrupted: worker died\"), or queued again when the config says\n"
	"on_interrupted \"requeue\" (at most 3 attempts). 'biaflows run' starts\n"
	"a worker by itself; this command is for scripts and debugging.\n";

int cmd_worker(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 1)
		return cli_usage_error(usage, "worker takes no argument");
	int drained;
	if (bia_worker_run(&cli->ctx, &cli->inst, &drained))
		return cli_error(cli);
	if (!drained)
		bia_log(BIA_LOG_INFO, "another worker is draining the queue");
	return 0;
}

static const char job_exec_usage[] =
	"usage: biaflows job-exec DIR\n"
	"\n"
	"The node's side of a SLURM job (the batch script the SLURM executor\n"
	"writes runs it): run the sandbox described by DIR/spec.json, its log\n"
	"into DIR/log, its outcome into DIR/result.json. SIGTERM (scancel, the\n"
	"job's time limit) stops the workflow. Exit 0 only when it succeeded, else\n"
	"the workflow's exit code (1 when it has none).\n"
	"Needs no instance. See docs/deployment.md.\n";

int cmd_job_exec(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(job_exec_usage, stdout);
		return 0;
	}
	if (argc != 2)
		return cli_usage_error(job_exec_usage, "job-exec takes one folder");
	int code;
	if (bia_slurm_job_exec(&cli->ctx, argv[1], &code)) {
		cli_error(cli);
		return code;
	}
	return 0;
}
