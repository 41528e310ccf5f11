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
