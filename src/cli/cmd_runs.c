/* biaflows runs | run show | runs show: list runs, show one.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char runs_usage[] =
	"usage: biaflows runs [--problem PROBLEM] [--status STATUS] [--limit N]\n"
	"                     [--offset N] [--format table|json|csv]\n"
	"       biaflows runs show RUN [--format table|json]\n"
	"\n"
	"List runs (id, workflow@version, problem, status, BIAFLOWS status code,\n"
	"created, duration in seconds, mean of the problem's main metric), oldest\n"
	"first, or show one run with its per-image outputs, metrics and aggregates.\n"
	"--limit N shows N runs from --offset (a page; the table says which of how\n"
	"many on stderr).\n";

int cli_run_show(struct bia_cli *cli, const char *ref, int fmt)
{
	cli_recover_gone(cli);
	char *end;
	long long id = strtoll(ref, &end, 10);
	if (*end || id <= 0) {
		bia_fail(&cli->ctx, BIA_EINVAL, "bad run id '%s'", ref);
		return cli_error(cli);
	}
	struct bia_run r;
	if (bia_store_run_get(&cli->ctx, &cli->inst, id, &r))
		return cli_error(cli);
	json_t *j = bia_run_json(&cli->ctx, &cli->inst, &r, 1);
	bia_run_release(&r);
	if (!j)
		return cli_error(cli);
	if (fmt == OUT_JSON) {
		cli_print_object(stdout, j, OUT_JSON);
	} else {
		json_t *head = json_deep_copy(j);
		json_object_del(head, "images");
		json_object_del(head, "aggregate");
		json_object_del(head, "params");
		json_object_del(head, "images_requested");
		/* limits as one line: "time=30s memory=536870912" or "descriptor" */
		{
			json_t *lim = json_object_get(j, "limits"), *t = json_object_get(lim, "time");
			static const char *const keys[] = {"memory", "processes", "open_files",
							   "output"};
			char ls[256] = "";
			if (t)
				snprintf(ls, sizeof(ls), "time=%llds",
					 (long long)json_integer_value(t));
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				json_t *x = json_object_get(lim, keys[k]);
				if (x)
					snprintf(ls + strlen(ls), sizeof(ls) - strlen(ls),
						 "%s%s=%lld", ls[0] ? " " : "", keys[k],
						 (long long)json_integer_value(x));
			}
			json_object_set_new(head, "limits",
					    json_string(ls[0] ? ls : "descriptor"));
		}
		cli_print_object(stdout, head, OUT_TABLE);
		json_decref(head);
		json_t *rows = json_array(), *im;
		size_t i;
		const char *mm = json_string_value(json_object_get(j, "main_metric"));
		json_array_foreach(json_object_get(j, "images"), i, im)
		{
			json_t *v = json_object_get(json_object_get(im, "metrics"), mm);
			json_array_append_new(
				rows, json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(im, "id"),
						"stem", json_object_get(im, "stem"), "status",
						json_object_get(im, "status"), "main_metric",
						v ? v : json_null(), "reason", json_object_get(im, "reason")));
		}
		static const char *const cols[] = {"id", "stem", "status", "main_metric", "reason",
						   NULL};
		printf("\n");
		cli_print_list(stdout, rows, cols, OUT_TABLE);
		json_decref(rows);
	}
	json_decref(j);
	return 0;
}

int cmd_runs(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"problem", required_argument, NULL, 'p'},
					   {"format", required_argument, NULL, 'f'},
					   {"status", required_argument, NULL, 's'},
					   {"limit", required_argument, NULL, 'l'},
					   {"offset", required_argument, NULL, 'o'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(runs_usage, stdout);
		return 0;
	}
	const char *problem = NULL, *status = NULL;
	struct bia_page page = {0, 0};
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'p')
			problem = optarg;
		else if (ch == 's')
			status = optarg;
		else if (ch == 'l' || ch == 'o') {
			if (cli_parse_page_arg(runs_usage, ch == 'l' ? "--limit" : "--offset", optarg,
					       ch == 'l' ? &page.limit : &page.offset))
				return 2;
		} else if (ch == 'f') {
			if ((fmt = cli_parse_format(optarg)) < 0)
				return cli_usage_error(runs_usage, "unknown format '%s'", optarg);
		} else
			return cli_usage_error(runs_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "show"))
		return cli_run_show(cli, argv[optind + 1], fmt);
	if (argc - optind != 0)
		return cli_usage_error(runs_usage, "unexpected argument '%s'", argv[optind]);
	int64_t pid = 0;
	if (problem) {
		struct bia_problem p;
		if (bia_problem_get(&cli->ctx, &cli->inst, problem, &p))
			return cli_error(cli);
		pid = p.id;
		bia_problem_release(&p);
	}
	cli_recover_gone(cli);
	json_t *rows = NULL;
	int64_t total = 0;
	struct bia_run_filter f = {.problem_id = pid, .status = status};
	if (bia_runs_list_json(&cli->ctx, &cli->inst, &f, page, &rows, &total))
		return cli_error(cli);
	static const char *const cols[] = {"id",	  "workflow",	"problem",  "status",
					   "code",	  "created_at", "duration", "main_metric",
					   "mean",	  NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)fmt);
	if (page.limit && fmt != OUT_JSON && fmt != OUT_CSV)
		fprintf(stderr, "runs %lld-%lld of %lld\n", (long long)page.offset + 1,
			(long long)page.offset + (long long)json_array_size(rows), (long long)total);
	json_decref(rows);
	return 0;
}
