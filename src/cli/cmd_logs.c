/* biaflows logs RUN [--follow]
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows logs RUN [--follow]\n"
	"\n"
	"Print the log of a run: the workflow's output and the worker's steps, each\n"
	"line with its UTC time. --follow keeps printing until the run ends.\n";

int cmd_logs(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	int follow = 0;
	const char *ref = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
			follow = 1;
		else if (!ref && argv[i][0] != '-')
			ref = argv[i];
		else
			return cli_usage_error(usage, "unexpected argument '%s'", argv[i]);
	}
	if (!ref)
		return cli_usage_error(usage, "logs needs a RUN id");
	char *end;
	long long id = strtoll(ref, &end, 10);
	if (*end || id <= 0)
		return cli_usage_error(usage, "bad run id '%s'", ref);
	fflush(stdout);
	if (bia_run_log_copy(&cli->ctx, &cli->inst, id, 1, follow))
		return cli_error(cli);
	return 0;
}
