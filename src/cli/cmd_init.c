/* biaflows init DIR; biaflows version.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char init_usage[] =
	"usage: biaflows init DIR [--database URL]\n"
	"\n"
	"Create an instance directory: blobs/, derived/, runs/, envs/ and config.\n"
	"DIR must not exist or be empty. The rows live in biaflows.db (SQLite)\n"
	"unless --database names a PostgreSQL database:\n"
	"  postgresql://USER[:PASSWORD]@HOST[:PORT]/DB\n"
	"where the instance gets a schema of its own (recorded in its config;\n"
	"several instances can share a database). The blobs stay in DIR (which\n"
	"several hosts may share). The default of --database is\n"
	"$BIAFLOWS_DATABASE; 'sqlite' is SQLite.\n";

int cmd_init(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(init_usage, stdout);
		return 0;
	}
	const char *dir = NULL, *db = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--database") || !strncmp(argv[i], "--database=", 11)) {
			if (argv[i][10] == '=')
				db = argv[i] + 11;
			else if (i + 1 < argc)
				db = argv[++i];
			else
				return cli_usage_error(init_usage, "--database needs a URL");
			if (!db[0])
				return cli_usage_error(init_usage, "--database needs a URL");
			continue;
		}
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
	if (bia_instance_create_store(&cli->ctx, dir, db))
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
