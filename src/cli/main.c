/* biaflows: git-style dispatcher over the command table.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

enum { NEED_INSTANCE = 1 << 0 };

struct cmd {
	const char *name;				/* subcommand */
	int (*fn)(struct bia_cli *, int, char **);	/* implementation */
	unsigned flags;					/* NEED_INSTANCE */
	const char *summary;				/* one line for `biaflows -h` */
};

static const struct cmd commands[] = {
	{"bench", cmd_bench, NEED_INSTANCE, "leaderboard of a problem with CIs and tests; runs what is missing"},
	{"cancel", cmd_cancel, NEED_INSTANCE, "cancel a queued or running run"},
	{"compare", cmd_compare, NEED_INSTANCE, "paired comparison of two runs of a problem"},
	{"convert", cmd_convert, 0, "convert annotation formats into a dataset folder"},
	{"dataset", cmd_dataset, NEED_INSTANCE, "import a folder of images and ground truth"},
	{"errors", cmd_errors, NEED_INSTANCE, "error maps of runs: TP/FP/FN... per image and object"},
	{"exec", cmd_exec, 0, "run a workflow on a folder in the sandbox, no instance"},
	{"export", cmd_export, NEED_INSTANCE, "write a bundle of problems, workflows and runs for another instance"},
	{"fsck", cmd_fsck, NEED_INSTANCE, "verify blobs and database, remove orphans"},
	{"gen", cmd_gen, 0, "generate a synthetic dataset with ground truth"},
	{"gt", cmd_gt, NEED_INSTANCE, "add or list ground-truth versions of an image"},
	{"image", cmd_image, NEED_INSTANCE, "add, list or show images of a problem"},
	{"import", cmd_import, NEED_INSTANCE, "import a bundle written by export (all-or-nothing, verified)"},
	{"import-biaflows", cmd_import_biaflows, NEED_INSTANCE, "import a BIAFLOWS project-migrator archive as a new problem"},
	{"init", cmd_init, 0, "create an instance directory"},
	{"job-exec", cmd_job_exec, 0, "run a SLURM job's sandbox on its node (batch scripts call it)"},
	{"logs", cmd_logs, NEED_INSTANCE, "print (or follow) the log of a run"},
	{"metrics", cmd_metrics, 0, "score predictions against ground truth; list metrics"},
	{"migrate-store", cmd_migrate_store, NEED_INSTANCE, "copy the instance's rows to PostgreSQL or SQLite and switch to it"},
	{"problem", cmd_problem, NEED_INSTANCE, "add, list, show or remove problems"},
	{"pull", cmd_pull, NEED_INSTANCE, "copy content from another biaflows server over its API (resumable)"},
	{"rerun", cmd_rerun, NEED_INSTANCE, "run a run again from its record; did it reproduce?"},
	{"rescore", cmd_rescore, NEED_INSTANCE, "score runs again against the current ground truth"},
	{"run", cmd_run, NEED_INSTANCE, "queue a run of a workflow on a problem; show a run"},
	{"runs", cmd_runs, NEED_INSTANCE, "list runs, or show one with outputs and metrics"},
	{"source", cmd_source, NEED_INSTANCE, "add, list, sync or remove trusted git sources of workflows"},
	{"sweep", cmd_sweep, NEED_INSTANCE, "run a parameter grid and rank the settings"},
	{"serve", cmd_serve, NEED_INSTANCE, "serve the REST API (and run the worker) over HTTP"},
	{"token", cmd_token, NEED_INSTANCE, "create, list or revoke API tokens"},
	{"user", cmd_user, NEED_INSTANCE, "add, list or remove accounts of the server"},
	{"version", cmd_version, 0, "print the version"},
	{"worker", cmd_worker, NEED_INSTANCE, "run the queued runs of the instance, then exit"},
	{"workflow", cmd_workflow, NEED_INSTANCE, "add, sync, list or show workflows and their versions"},
};

static const char usage[] =
	"usage: biaflows [--instance DIR] [--log-level LEVEL] COMMAND [ARGS]\n"
	"\n"
	"global options:\n"
	"  --instance DIR     instance directory (else $BIAFLOWS_INSTANCE, else the\n"
	"                     current directory if it is an instance)\n"
	"  --log-level LEVEL  error, warn (default), info or debug\n"
	"  -v, --verbose      same as --log-level info\n"
	"  -h, --help         this help; 'biaflows COMMAND -h' for a command\n"
	"  --version          print the version\n";

static void print_usage(FILE *f)
{
	fputs(usage, f);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

/* Remove "--instance DIR" / "--instance=DIR" from anywhere in argv. */
static int take_instance(int *pargc, char **argv, const char **pdir)
{
	int argc = *pargc, j = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--instance")) {
			if (i + 1 >= argc)
				return -1;
			*pdir = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--instance=", 11)) {
			*pdir = argv[i] + 11;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*pargc = j;
	return 0;
}

int main(int argc, char **argv)
{
	struct bia_cli cli;
	memset(&cli, 0, sizeof(cli));
	bia_ctx_init(&cli.ctx);
	const char *lvl = getenv("BIAFLOWS_LOG_LEVEL");
	if (lvl && bia_log_parse_level(lvl) >= 0)
		bia_log_set_level((enum bia_log_level)bia_log_parse_level(lvl));
	if (take_instance(&argc, argv, &cli.instance_dir))
		return cli_usage_error(usage, "--instance needs a directory");

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("biaflows %s\n", BIAFLOWS_VERSION);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			bia_log_set_level(BIA_LOG_INFO);
		} else if (!strcmp(a, "--log-level") || !strncmp(a, "--log-level=", 12)) {
			const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : "");
			int l = bia_log_parse_level(v);
			if (l < 0)
				return cli_usage_error(usage, "unknown log level '%s'", v);
			bia_log_set_level((enum bia_log_level)l);
		} else {
			return cli_usage_error(usage, "unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		print_usage(stderr);
		return 2;
	}
	const struct cmd *cmd = NULL;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, argv[i]))
			cmd = &commands[k];
	if (!cmd)
		return cli_usage_error(usage, "unknown command '%s' (see 'biaflows -h')", argv[i]);
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	if ((cmd->flags & NEED_INSTANCE) && !cli_wants_help(sub_argc, sub_argv) &&
	    cli_open_instance(&cli))
		return cli_error(&cli);
	int rc = cmd->fn(&cli, sub_argc, sub_argv);
	if (cli.have_inst)
		bia_instance_close(&cli.inst);
	return rc;
}
