/* biaflows problem add|list|show|rm
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "metrics/metrics.h"
#include "runs/runs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows problem add NAME --class CODE [--description TEXT] [--format FMT]\n"
	"       biaflows problem list [--format table|json|csv]\n"
	"       biaflows problem show NAME|ID [--format table|json]\n"
	"       biaflows problem rm NAME|ID [--force]\n"
	"       biaflows problem set NAME|ID --main-metric METRIC|default\n"
	"\n"
	"A problem is an annotated dataset of one BIAFLOWS problem class:\n"
	"ObjSeg, SptCnt, ObjDet, PixCla, TreTrc, LooTrc, ObjTrk, PrtTrk, LndDet\n"
	"(case-insensitive). 'rm' refuses a problem with images unless --force.\n"
	"'set --main-metric' chooses the metric leaderboards rank on (one of the\n"
	"class's, see 'biaflows metrics --list --class CODE'; 'default' = the class's).\n";

/* Parse options common to subcommands: --format, --class, --description,
 * --force. Positional arguments are left in argv[optind..]. */
struct popts {
	int fmt;
	const char *cls, *desc;
	int force;
	const char *main_metric;
};

static int parse(int argc, char **argv, struct popts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"class", required_argument, NULL, 'c'},
					   {"description", required_argument, NULL, 'd'},
					   {"force", no_argument, NULL, 'F'},
					   {"main-metric", required_argument, NULL, 'm'},
					   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->fmt = cli_parse_format(optarg);
			if (o->fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
			break;
		case 'c':
			o->cls = optarg;
			break;
		case 'd':
			o->desc = optarg;
			break;
		case 'F':
			o->force = 1;
			break;
		case 'm':
			o->main_metric = optarg;
			break;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	return 0;
}

static int do_add(struct bia_cli *cli, int argc, char **argv)
{
	struct popts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "problem add takes one NAME");
	if (!o.cls)
		return cli_usage_error(usage, "problem add needs --class (%s)", bia_class_list());
	struct bia_problem p;
	memset(&p, 0, sizeof(p));
	p.cls = bia_class_parse(o.cls);
	if (p.cls == BIA_CLASS_NONE) {
		bia_fail(&cli->ctx, BIA_EINVAL, "unknown problem class '%s' (expected one of %s)",
			 o.cls, bia_class_list());
		return cli_error(cli);
	}
	if (strlen(argv[optind]) >= sizeof(p.name)) {
		bia_fail(&cli->ctx, BIA_EINVAL, "problem name is too long");
		return cli_error(cli);
	}
	snprintf(p.name, sizeof(p.name), "%s", argv[optind]);
	p.description = (char *)(o.desc ? o.desc : "");
	if (bia_problem_add(&cli->ctx, &cli->inst, &p))
		return cli_error(cli);
	if (o.fmt == OUT_JSON) {
		p.description = NULL;
		struct bia_problem q;
		if (bia_problem_get(&cli->ctx, &cli->inst, p.name, &q))
			return cli_error(cli);
		json_t *j = bia_problem_json(&q);
		cli_print_object(stdout, j, OUT_JSON);
		json_decref(j);
		bia_problem_release(&q);
	} else {
		printf("%lld\n", (long long)p.id);
	}
	return 0;
}

static int do_list(struct bia_cli *cli, int argc, char **argv)
{
	struct popts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 0)
		return cli_usage_error(usage, "problem list takes no arguments");
	json_t *rows;
	static const struct bia_viewer all = {0, 0};
	if (bia_problems_list_json(&cli->ctx, &cli->inst, &all, (struct bia_page){0, 0}, &rows,
				   NULL))
		return cli_error(cli);
	static const char *const cols[] = {"id", "name", "class", "images", "description", NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

static int do_show(struct bia_cli *cli, int argc, char **argv)
{
	struct popts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "problem show takes one NAME or ID");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	json_t *j = bia_problem_show_json(&p);
	cli_print_object(stdout, j, o.fmt == OUT_JSON ? OUT_JSON : OUT_TABLE);
	json_decref(j);
	bia_problem_release(&p);
	return 0;
}

static int do_rm(struct bia_cli *cli, int argc, char **argv)
{
	struct popts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "problem rm takes one NAME or ID");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	if (p.n_images && !o.force) {
		bia_fail(&cli->ctx, BIA_EPERM,
			 "problem '%s' has %lld images; use --force to remove it with them", p.name,
			 (long long)p.n_images);
		bia_problem_release(&p);
		return cli_error(cli);
	}
	size_t removed = 0;
	int rc = bia_problem_rm(&cli->ctx, &cli->inst, p.id, &removed);
	if (!rc)
		fprintf(stderr, "removed problem '%s' (%lld images, %zu files)\n", p.name,
			(long long)p.n_images, removed);
	bia_problem_release(&p);
	return rc ? cli_error(cli) : 0;
}

static int do_set(struct bia_cli *cli, int argc, char **argv)
{
	struct popts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "problem set takes one NAME or ID");
	if (!o.main_metric)
		return cli_usage_error(usage, "problem set needs --main-metric");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	int rc = bia_problem_choose_main_metric(&cli->ctx, &cli->inst, &p, o.main_metric);
	if (!rc)
		fprintf(stderr, "problem '%s': main metric %s\n", p.name,
			p.main_metric[0] ? p.main_metric : bia_metric_main(p.cls));
	else if (cli->ctx.rc == BIA_EINVAL) /* not a metric of the class: a usage error */
		rc = cli_usage_error(usage, "%s", cli->ctx.msg);
	else
		rc = cli_error(cli);
	bia_problem_release(&p);
	return rc;
}

int cmd_problem(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", do_add},
		{"list", do_list},
		{"show", do_show},
		{"rm", do_rm},
		{"set", do_set},
	};
	return cli_dispatch(cli, argc, argv, usage, "problem", subs, sizeof(subs) / sizeof(subs[0]));
}
