/* biaflows migrate-store --to URL
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <string.h>

static const char usage[] =
	"usage: biaflows migrate-store --to URL\n"
	"\n"
	"Copy every row of the instance's store to another store and switch the\n"
	"instance to it: URL is a PostgreSQL database\n"
	"(postgresql://USER[:PASSWORD]@HOST[:PORT]/DB: a new schema is made there)\n"
	"or 'sqlite' / 'sqlite:FILE' (FILE relative to the instance, default\n"
	"biaflows.db; it must not exist or be empty). Every row of every table is\n"
	"compared after the copy and the digest of every blob a row names is\n"
	"checked; only then does the config name the new store. The old store is\n"
	"left as it was. Stop the instance's servers and workers first (runs\n"
	"being executed make it refuse).\n";

int cmd_migrate_store(struct bia_cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *to = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strncmp(argv[i], "--to=", 5))
			to = argv[i] + 5;
		else
			return cli_usage_error(usage, "unknown or incomplete argument '%s'", argv[i]);
	}
	if (!to || !to[0])
		return cli_usage_error(usage, "migrate-store needs --to URL");
	struct bia_store_migration rep;
	if (bia_store_migrate(&cli->ctx, &cli->inst, to, &rep))
		return cli_error(cli);
	printf("copied %zu rows of %zu tables to %s; %zu blobs checked; the instance now uses "
	       "it\n",
	       rep.rows, rep.tables, rep.to, rep.blobs_checked);
	return 0;
}
