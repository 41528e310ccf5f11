/* biaflows init DIR; biaflows version.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char init_usage[] =
	"usage: biaflows init DIR\n"
	"\n"
	"Create an instance directory: biaflows.db (SQLite), blobs/, pyramids/,\n"
	"runs/, envs/ and config. DIR must not exist or be empty.\n";

int cmd_init(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(init_usage, stdout);
		return 0;
	}
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && strcmp(argv[i], "-"))
			return cli_usage_error(init_usage, "unknown option '%s'", argv[i]);
		if (dir)
			return cli_usage_error(init_usage, "init takes one directory");
		dir = argv[i];
	}
	if (!dir)
		dir = cli->instance_dir;
	if (!dir)
		return cli_usage_error(init_usage, "init needs a directory");
	if (bia_instance_create(&cli->ctx, dir))
		return cli_error(cli);
	fprintf(stderr, "created instance '%s'\n", dir);
	return 0;
}

static const char version_usage[] = "usage: biaflows version\n\nPrint the version.\n";

int cmd_version(struct bia_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (cli_wants_help(argc, argv)) {
		fputs(version_usage, stdout);
		return 0;
	}
	if (argc > 1)
		return cli_usage_error(version_usage, "version takes no arguments");
	printf("biaflows %s\n", BIAFLOWS_VERSION);
	return 0;
}
