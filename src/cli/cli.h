/* The biaflows command-line front end: global options, the command table,
 * output helpers shared by the cmd_*.c files.
 *
 * Adding a command: write cmd_<name>.c with `int cmd_<name>(struct bia_cli *,
 * int argc, char **argv)`, declare it below, add a row to the table in
 * main.c (name, function, needs-instance flag, one-line summary), answer -h
 * with its usage, add a test in tests/cli/, and document it in docs/cli.md.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_CLI_H
#define BIA_CLI_H

#include "dataset/dataset.h"
#include "image/image.h"
#include "store/store.h"
#include "util/util.h"

enum bia_out_format { OUT_TABLE = 0, OUT_JSON = 1, OUT_CSV = 2, OUT_MD = 3 /* bench, compare, sweep */ };

struct bia_cli {
	struct bia_ctx ctx;	     /* error context of this invocation */
	const char *instance_dir;    /* --instance, $BIAFLOWS_INSTANCE, or cwd */
	struct bia_instance inst;    /* open instance, if the command needs one */
	int have_inst;		     /* inst is open */
};

/* Open the instance named by the global options (or fail with a message). */
int cli_open_instance(struct bia_cli *cli);
/* Print the error on ctx as one line "biaflows: error: ..." and return the
 * exit code for it. */
/* Print "biaflows: MESSAGE" on stderr as one line (control characters of
 * names escaped, see bia_one_line). */
void cli_msg(const char *fmt, ...) BIA_PRINTF(1, 2);
int cli_error(struct bia_cli *cli);
/* Usage error: print message and the usage, return 2. */
int cli_usage_error(const char *usage, const char *fmt, ...) BIA_PRINTF(2, 3);
/* Parse --format's value; -1 if unknown. */
int cli_parse_format(const char *s);
/* Print a JSON array of objects as a table (columns `cols`), JSON or CSV. */
/* --limit / --offset of a list: a whole number (limit 1..BIA_PAGE_MAX,
 * offset >= 0), else a usage error (returns 2). */
int cli_parse_page_arg(const char *usage, const char *opt, const char *arg, int64_t *out);
void cli_print_list(FILE *f, json_t *rows, const char *const *cols, enum bia_out_format fmt);
/* Print one JSON object: JSON, or "key: value" lines. */
void cli_print_object(FILE *f, json_t *obj, enum bia_out_format fmt);
/* A subcommand of a command ("problem add"). */
struct cli_sub {
	const char *name;
	int (*fn)(struct bia_cli *cli, int argc, char **argv); /* argv[0] = name */
};
/* Dispatch argv[1] to its subcommand: usage on -h (exit 0) or without a
 * subcommand (exit 2), a usage error naming an unknown one. `what` names the
 * command in messages. */
int cli_dispatch(struct bia_cli *cli, int argc, char **argv, const char *usage,
		 const char *what, const struct cli_sub *subs, size_t nsubs);
/* True if argv[i] is -h or --help for any i (commands answer help first). */
int cli_wants_help(int argc, char **argv);

/* Print warnings and problems of an import on stderr, and (format table)
 * the new ids one per line or (json) the whole result. Returns the exit
 * code for rc. */
int cli_report_import(struct bia_cli *cli, int rc, struct bia_import_result *r,
		      enum bia_out_format fmt, int print_ids);

struct bia_metric_params;
/* Score every GT file of gdir against the prediction of the same stem in
 * pdir and print the result (images + aggregate) as `biaflows metrics`
 * does. Returns the exit code. */
int cli_score_folders(struct bia_cli *cli, enum bia_class cls, const char *pdir,
		      const char *gdir, const struct bia_metric_params *p, int objects,
		      int missing_empty, enum bia_out_format fmt);

/* Start `biaflows --instance DIR worker` detached when a worker slot is
 * free (workers.c). */
int cli_ensure_worker(struct bia_cli *cli);
/* Wait until every run of ids[] has a final status (starting a worker again
 * when one died), with progress on stderr (workers.c). */
int cli_wait_runs(struct bia_cli *cli, const int64_t *ids, size_t n);
/* Recover the runs of a worker that died, with a warning (workers.c). */
void cli_recover_gone(struct bia_cli *cli);
/* run show / runs show RUN: the record, then a table of its images
 * (cmd_runs.c). Returns the exit code. */
int cli_run_show(struct bia_cli *cli, const char *ref, int fmt);
struct bia_bench_hooks;
/* The hooks of a benchmark run from the CLI: queued runs get a worker
 * process and are waited for; its notes go to stderr (workers.c). */
void cli_bench_hooks(struct bia_cli *cli, struct bia_bench_hooks *h);

/* Benchmarks (board.c): --format table|json|csv|md; a whole number up to
 * max; "a,b,c" split in place (at most max); a run id (0 if bad); a number
 * of a JSON result (bia_json_real's "nan", "inf"; null: NaN); numbers and
 * p-values as the tables show them; a leaderboard's JSON (bia_bench_json)
 * and a sweep's failed settings as a table, CSV or Markdown. */
int cli_parse_bench_format(const char *s);
int cli_parse_count(const char *s, unsigned long long max, unsigned long long *out);
size_t cli_split_commas(char *s, char **out, size_t max);
int64_t cli_parse_run_id(const char *s);
double cli_json_num(const json_t *v);
void cli_fmt_num(char *out, size_t outsz, double v);
void cli_fmt_p(char *out, size_t outsz, double p);
void cli_print_board(FILE *f, json_t *board, int fmt);
void cli_print_failed(FILE *f, json_t *failed, int fmt);

int cmd_init(struct bia_cli *cli, int argc, char **argv);
int cmd_migrate_store(struct bia_cli *cli, int argc, char **argv);
int cmd_problem(struct bia_cli *cli, int argc, char **argv);
int cmd_image(struct bia_cli *cli, int argc, char **argv);
int cmd_gt(struct bia_cli *cli, int argc, char **argv);
int cmd_dataset(struct bia_cli *cli, int argc, char **argv);
int cmd_import_biaflows(struct bia_cli *cli, int argc, char **argv);
int cmd_exec(struct bia_cli *cli, int argc, char **argv);
int cmd_fsck(struct bia_cli *cli, int argc, char **argv);
int cmd_export(struct bia_cli *cli, int argc, char **argv);
int cmd_import(struct bia_cli *cli, int argc, char **argv);
int cmd_pull(struct bia_cli *cli, int argc, char **argv);
int cmd_gen(struct bia_cli *cli, int argc, char **argv);
int cmd_metrics(struct bia_cli *cli, int argc, char **argv);
int cmd_convert(struct bia_cli *cli, int argc, char **argv);
int cmd_version(struct bia_cli *cli, int argc, char **argv);
int cmd_workflow(struct bia_cli *cli, int argc, char **argv);
int cmd_source(struct bia_cli *cli, int argc, char **argv);
int cmd_run(struct bia_cli *cli, int argc, char **argv);
int cmd_runs(struct bia_cli *cli, int argc, char **argv);
int cmd_worker(struct bia_cli *cli, int argc, char **argv);
int cmd_job_exec(struct bia_cli *cli, int argc, char **argv);
int cmd_logs(struct bia_cli *cli, int argc, char **argv);
int cmd_cancel(struct bia_cli *cli, int argc, char **argv);
int cmd_errors(struct bia_cli *cli, int argc, char **argv);
int cmd_bench(struct bia_cli *cli, int argc, char **argv);
int cmd_compare(struct bia_cli *cli, int argc, char **argv);
int cmd_sweep(struct bia_cli *cli, int argc, char **argv);
int cmd_rerun(struct bia_cli *cli, int argc, char **argv);
int cmd_rescore(struct bia_cli *cli, int argc, char **argv);
int cmd_user(struct bia_cli *cli, int argc, char **argv);
int cmd_token(struct bia_cli *cli, int argc, char **argv);
int cmd_serve(struct bia_cli *cli, int argc, char **argv);

#define BIAFLOWS_VERSION "0.1.0"

#endif
