/* biaflows worker: drain the run queue of an instance, then exit.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

static const char usage[] =
	"usage: biaflows worker\n"
	"\n"
	"Run the queued runs of the instance in order, then exit when the queue is\n"
	"empty. Only one worker drains an instance (lock file worker.lock); a second\n"
	"one exits at once. At start, runs left running or ingesting by a worker\n"
	"that died are marked failed (\"interrupted: worker died\"). 'biaflows run'\n"
	"starts a worker by itself; this command is for scripts and debugging.\n";

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
