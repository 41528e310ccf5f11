/* biaflows cancel RUN
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows cancel RUN\n"
	"\n"
	"Cancel a run: a queued run is cancelled at once; a running one is killed\n"
	"(with every process it started) by its worker within a fraction of a\n"
	"second, then recorded as cancelled. A finished run is left as it is\n"
	"(exit 1).\n";

int cmd_cancel(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 2)
		return cli_usage_error(usage, "cancel needs a RUN id");
	char *end;
	long long id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error(usage, "bad run id '%s'", argv[1]);
	char state[16];
	if (bia_run_cancel(&cli->ctx, &cli->inst, id, state))
		return cli_error(cli);
	if (!strcmp(state, "dequeued")) {
		printf("run %lld cancelled\n", id);
		return 0;
	}
	if (!strcmp(state, "requested")) {
		printf("run %lld: cancel requested\n", id);
		return 0;
	}
	cli_msg("error: run %lld already %s", id, state);
	return 1;
}
