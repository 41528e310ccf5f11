/* biaflows logs RUN [--follow]
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: biaflows logs RUN [--follow]\n"
	"\n"
	"Print the log of a run: the workflow's output and the worker's steps, each\n"
	"line with its UTC time. --follow keeps printing until the run ends.\n";

static void copy_new(int fd)
{
	char buf[65536];
	ssize_t k;
	while (fd >= 0 && (k = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)k, stdout);
	fflush(stdout);
}

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
	struct bia_run r;
	if (cli->inst.ops->run_get(&cli->ctx, &cli->inst, id, &r))
		return cli_error(cli);
	bia_run_release(&r);
	char lp[BIA_PATH_MAX];
	bia_run_log_path(&cli->inst, id, lp, sizeof(lp));
	int fd = open(lp, O_RDONLY | O_CLOEXEC);
	copy_new(fd);
	struct timespec ts = {0, 200 * 1000 * 1000};
	while (follow) {
		if (cli->inst.ops->run_get(&cli->ctx, &cli->inst, id, &r)) {
			if (fd >= 0)
				close(fd);
			return cli_error(cli);
		}
		int fin = bia_run_status_final(r.status);
		bia_run_release(&r);
		if (fd < 0)
			fd = open(lp, O_RDONLY | O_CLOEXEC);
		copy_new(fd);
		if (fin)
			break;
		nanosleep(&ts, NULL);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}
