/* biaflows metrics: score predictions against ground truth with no
 * instance (files or folders paired by stem), or list the metric table.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "metrics/metrics.h"
#include "runs/runs.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows metrics CLASS PRED GT [--param NAME=VALUE]... [--objects]\n"
	"                        [--missing-as-empty] [--format json|csv|table]\n"
	"       biaflows metrics --list [--class CLASS] [--format table|json|csv]\n"
	"\n"
	"Score a prediction against ground truth with the BIAFLOWS metrics of CLASS\n"
	"(ObjSeg, SptCnt, ObjDet, PixCla, TreTrc, LooTrc, ObjTrk, PrtTrk, LndDet).\n"
	"PRED and GT are files (TreTrc: .swc; ObjTrk: the label stack with its .txt\n"
	"track file beside it, or a folder holding exactly one such pair), or folders\n"
	"whose files are paired by stem; then every image is scored and aggregated.\n"
	"A GT file without a prediction is an error unless --missing-as-empty (scored\n"
	"as an empty prediction); a prediction without GT is a warning.\n"
	"Parameters: gating_dist (default 5). --objects adds per-object results.\n"
	"Default format: json.\n";

static void print_single(json_t *o, enum bia_class cls, enum bia_out_format fmt)
{
	if (fmt == OUT_JSON) {
		cli_print_object(stdout, o, OUT_JSON);
		return;
	}
	json_t *rows = json_array(), *m = json_object_get(o, "metrics"), *v;
	const char *code;
	json_object_foreach(m, code, v)
	{
		const struct bia_metric_def *d = bia_metric_find(cls, code);
		json_array_append_new(rows, json_pack("{s:s, s:O, s:s}", "metric", code, "value", v,
						      "name", d ? d->name : ""));
	}
	static const char *const cols[] = {"metric", "value", "name", NULL};
	cli_print_list(stdout, rows, cols, fmt);
	json_decref(rows);
}

/* The warnings of a result, one line each on stderr. */
static void print_warnings(json_t *o)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "warnings"), i, v)
		cli_msg("warning: %s", json_string_value(v));
}

int cli_score_folders(struct bia_cli *cli, enum bia_class cls, const char *pdir,
		      const char *gdir, const struct bia_metric_params *p, int objects,
		      int missing_empty, enum bia_out_format fmt)
{
	json_t *o;
	if (bia_score_folders_json(&cli->ctx, cls, pdir, gdir, p, objects, missing_empty, &o))
		return cli_error(cli);
	print_warnings(o);
	if (fmt == OUT_JSON) {
		cli_print_object(stdout, o, OUT_JSON);
		json_decref(o);
		return 0;
	}
	/* one row per image, then mean and median rows */
	size_t nm, i;
	const struct bia_metric_def *defs = bia_metric_class(cls, &nm);
	json_t *rows = json_array(), *v, *agg = json_object_get(o, "aggregate");
	const char *cols[BIA_METRICS_MAX + 2];
	cols[0] = "name";
	for (size_t m = 0; m < nm; m++)
		cols[m + 1] = defs[m].code;
	cols[nm + 1] = NULL;
	json_array_foreach(json_object_get(o, "images"), i, v)
	{
		json_t *row = json_object();
		json_object_set(row, "name", json_object_get(v, "name"));
		json_object_update(row, json_object_get(v, "metrics"));
		json_array_append_new(rows, row);
	}
	static const char *const stats[] = {"mean", "median"};
	for (int s = 0; s < 2; s++) {
		json_t *row = json_pack("{s:s}", "name", stats[s]);
		for (size_t m = 0; m < nm; m++)
			json_object_set(row, defs[m].code,
					json_object_get(json_object_get(agg, defs[m].code), stats[s]));
		json_array_append_new(rows, row);
	}
	cli_print_list(stdout, rows, cols, fmt);
	json_decref(rows);
	json_decref(o);
	return 0;
}

static int list_metrics(struct bia_cli *cli, const char *cls_name, enum bia_out_format fmt)
{
	enum bia_class only = BIA_CLASS_NONE;
	if (cls_name) {
		only = bia_class_parse(cls_name);
		if (only == BIA_CLASS_NONE) {
			bia_fail(&cli->ctx, BIA_EINVAL, "unknown problem class '%s' (expected one of %s)",
				 cls_name, bia_class_list());
			return cli_error(cli);
		}
	}
	size_t n;
	const struct bia_metric_def *t = bia_metric_table(&n);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		if (only && t[i].cls != only)
			continue;
		const char *main_m = bia_metric_main(t[i].cls);
		json_array_append_new(
			rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s}", "code",
					t[i].code, "class", bia_class_code(t[i].cls), "name", t[i].name,
					"direction", t[i].higher_is_better ? "higher" : "lower", "unit",
					t[i].unit, "count", t[i].is_count, "extra", t[i].extra, "main",
					main_m && !strcmp(main_m, t[i].code), "description",
					t[i].description));
	}
	static const char *const cols[] = {"class", "code", "name", "direction", "unit",
					   "main", "extra", NULL};
	static const char *const all_cols[] = {"class", "code", "name", "direction", "unit",
					       "count", "main", "extra", "description", NULL};
	cli_print_list(stdout, rows, fmt == OUT_CSV ? all_cols : cols, fmt);
	json_decref(rows);
	return 0;
}

int cmd_metrics(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"param", required_argument, NULL, 'p'},
					   {"objects", no_argument, NULL, 'o'},
					   {"missing-as-empty", no_argument, NULL, 'm'},
					   {"list", no_argument, NULL, 'l'},
					   {"class", required_argument, NULL, 'c'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	struct bia_metric_params params;
	bia_metric_params_init(&params);
	int fmt = -1, objects = 0, missing = 0, list = 0, ch;
	const char *cls_name = NULL;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
			break;
		case 'p': {
			/* repeatable, or a comma list */
			char *s = bia_strdup(optarg), *save = NULL;
			for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (bia_metric_params_set(&cli->ctx, &params, tok)) {
					free(s);
					return cli_usage_error(usage, "%s", cli->ctx.msg);
				}
			free(s);
			break;
		}
		case 'o':
			objects = 1;
			break;
		case 'm':
			missing = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'c':
			cls_name = optarg;
			break;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (list) {
		if (optind != argc)
			return cli_usage_error(usage, "--list takes no arguments");
		return list_metrics(cli, cls_name, fmt < 0 ? OUT_TABLE : (enum bia_out_format)fmt);
	}
	if (argc - optind != 3)
		return cli_usage_error(usage, "metrics needs CLASS, PRED and GT");
	enum bia_out_format out = fmt < 0 ? OUT_JSON : (enum bia_out_format)fmt;
	enum bia_class cls = bia_class_parse(argv[optind]);
	if (cls == BIA_CLASS_NONE) {
		bia_fail(&cli->ctx, BIA_EINVAL, "unknown problem class '%s' (expected one of %s)",
			 argv[optind], bia_class_list());
		return cli_error(cli);
	}
	const char *pred = argv[optind + 1], *gt = argv[optind + 2];
	char ps[BIA_PATH_MAX], gs[BIA_PATH_MAX];
	int pdir = bia_is_dir(pred), gdir = bia_is_dir(gt);
	if (pdir != gdir) {
		bia_fail(&cli->ctx, BIA_EINVAL, "PRED and GT must both be files or both be folders");
		return cli_error(cli);
	}
	if (pdir && cls == BIA_OBJTRK && bia_score_single_stack(pred, ps, sizeof(ps)) &&
	    bia_score_single_stack(gt, gs, sizeof(gs))) {
		pred = ps;
		gt = gs;
		pdir = 0;
	}
	if (pdir)
		return cli_score_folders(cli, cls, pred, gt, &params, objects, missing, out);
	if (!bia_is_file(gt)) {
		bia_fail(&cli->ctx, BIA_ENOENT, "%s: no such ground-truth file", gt);
		return cli_error(cli);
	}
	if (!bia_is_file(pred) && !missing) {
		bia_fail(&cli->ctx, BIA_ENOENT, "%s: no such prediction file", pred);
		return cli_error(cli);
	}
	json_t *o;
	if (bia_score_pair_json(&cli->ctx, cls, bia_is_file(pred) ? pred : NULL, gt, &params,
				objects, &o))
		return cli_error(cli);
	print_warnings(o);
	print_single(o, cls, out);
	json_decref(o);
	return 0;
}
