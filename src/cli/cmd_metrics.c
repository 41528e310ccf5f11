/* biaflows metrics: score predictions against ground truth with no
 * instance (files or folders paired by stem), or list the metric table.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "metrics/metrics.h"

#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* One scored pair, loaded. */
struct sample {
	struct bia_image pred, gt;
	struct bia_swc pred_swc, gt_swc;
	struct bia_ctc_tracks pred_trk, gt_trk;
};

static void sample_release(struct sample *s)
{
	bia_image_release(&s->pred);
	bia_image_release(&s->gt);
	bia_swc_release(&s->pred_swc);
	bia_swc_release(&s->gt_swc);
	bia_ctc_release(&s->pred_trk);
	bia_ctc_release(&s->gt_trk);
}

/* The file a class is scored on: images, or .swc for TreTrc. */
static int is_primary(enum bia_class cls, const char *p)
{
	if (cls == BIA_TRETRC)
		return !strcasecmp(bia_path_ext(p), ".swc");
	return bia_path_is_image(p);
}

/* ObjTrk: the track file beside a stack: same folder, same stem, .txt. */
static int tracks_path(const char *stack, char *out, size_t outsz)
{
	char stem[256];
	bia_path_stem(stack, stem, sizeof(stem));
	const char *slash = strrchr(stack, '/');
	int n = slash ? snprintf(out, outsz, "%.*s/%s.txt", (int)(slash - stack), stack, stem)
		      : snprintf(out, outsz, "%s.txt", stem);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int read_mask(struct bia_ctx *ctx, enum bia_class cls, const char *path,
		     struct bia_image *img)
{
	struct bia_read_opts o = {0};
	o.pages = cls == BIA_OBJTRK || cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
	return bia_image_read(ctx, path, &o, img);
}

/* Load one side (pred or gt) of a sample. */
static int load_side(struct bia_ctx *ctx, enum bia_class cls, const char *path,
		     struct bia_image *img, struct bia_swc *swc, struct bia_ctc_tracks *trk)
{
	if (cls == BIA_TRETRC)
		return bia_swc_load(ctx, path, swc);
	if (read_mask(ctx, cls, path, img))
		return ctx->rc;
	if (cls == BIA_OBJTRK) {
		char tp[BIA_PATH_MAX];
		if (tracks_path(path, tp, sizeof(tp)))
			return bia_fail(ctx, BIA_ELIMIT, "path too long");
		if (!bia_is_file(tp))
			return bia_fail(ctx, BIA_ENOENT,
					"%s: no track file '%s' beside the label stack", path, tp);
		if (bia_ctc_load(ctx, tp, trk))
			return ctx->rc;
	}
	return 0;
}

/* An empty prediction shaped like the GT (--missing-as-empty). */
static int empty_like(struct bia_ctx *ctx, enum bia_class cls, struct sample *s)
{
	if (cls == BIA_TRETRC)
		return 0; /* an SWC with no node */
	bia_image_init(&s->pred);
	if (bia_image_alloc(ctx, &s->pred, s->gt.x, s->gt.y, s->gt.z, s->gt.c, s->gt.t,
			    s->gt.dtype))
		return ctx->rc;
	return 0;
}

static json_t *metric_value(enum bia_class cls, const char *code, double v)
{
	const struct bia_metric_def *d = bia_metric_find(cls, code);
	if (d && d->is_count && isfinite(v) && v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return bia_json_real(v);
}

static json_t *metrics_json(const struct bia_metric_result *r)
{
	json_t *m = json_object();
	for (size_t i = 0; i < r->n; i++)
		json_object_set_new(m, r->codes[i], metric_value(r->cls, r->codes[i], r->values[i]));
	return m;
}

static void merge_strings(json_t *dst, json_t *src, const char *prefix)
{
	size_t i, k;
	json_t *v, *w;
	json_array_foreach(src, i, v)
	{
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s%s", prefix, json_string_value(v));
		int seen = 0;
		json_array_foreach(dst, k, w) if (!strcmp(json_string_value(w), buf)) seen = 1;
		if (!seen)
			json_array_append_new(dst, json_string(buf));
	}
}

/* Score one pair of paths (pred may be NULL: missing → empty). */
static int score(struct bia_cli *cli, enum bia_class cls, const char *pred, const char *gt,
		 const struct bia_metric_params *p, int objects, struct bia_metric_result *r)
{
	struct sample s;
	memset(&s, 0, sizeof(s));
	bia_image_init(&s.pred);
	bia_image_init(&s.gt);
	int rc = load_side(&cli->ctx, cls, gt, &s.gt, &s.gt_swc, &s.gt_trk);
	if (!rc)
		rc = pred ? load_side(&cli->ctx, cls, pred, &s.pred, &s.pred_swc, &s.pred_trk)
			  : empty_like(&cli->ctx, cls, &s);
	if (!rc) {
		struct bia_metric_input in = {&s.pred, &s.gt, &s.pred_swc, &s.gt_swc, &s.pred_trk,
					      &s.gt_trk};
		rc = bia_metrics_compute(&cli->ctx, cls, &in, p, objects, r);
		/* name the file the refusal is about: the ground truth's when the
		 * message is about it, else the prediction's */
		if (rc && !strstr(cli->ctx.msg, bia_path_base(gt)))
			bia_fail_prefix(&cli->ctx, "%s", pred && !bia_metric_msg_about_gt(cli->ctx.msg)
								  ? pred
								  : gt);
	}
	sample_release(&s);
	return rc;
}

struct entry {
	char stem[256];
	char path[BIA_PATH_MAX];
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->stem, ((const struct entry *)b)->stem);
}

/* Primary files of a folder, sorted by stem; duplicates of a stem refused. */
static int scan(struct bia_cli *cli, enum bia_class cls, const char *dir, struct entry **pv,
		size_t *pn)
{
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(&cli->ctx, BIA_ENOENT, "cannot open folder '%s'", dir);
	size_t n = 0, cap = 0;
	struct entry *v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !is_primary(cls, e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			void *t = realloc(v, cap * sizeof(*v));
			if (!t) {
				free(v);
				closedir(d);
				return bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
			}
			v = t;
		}
		bia_path_stem(e->d_name, v[n].stem, sizeof(v[n].stem));
		snprintf(v[n].path, sizeof(v[n].path), "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_entry);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i].stem, v[i - 1].stem)) {
			int rc = bia_fail(&cli->ctx, BIA_EINVAL, "'%s' and '%s' have the same stem",
					  v[i - 1].path, v[i].path);
			free(v);
			return rc;
		}
	*pv = v;
	*pn = n;
	return 0;
}

static void print_single(const struct bia_metric_result *r, enum bia_out_format fmt)
{
	if (fmt == OUT_JSON) {
		json_t *o = json_pack("{s:s, s:o, s:O, s:O, s:O}", "class", bia_class_code(r->cls),
				      "metrics", metrics_json(r), "params", r->params, "deviations",
				      r->deviations, "warnings", r->warnings);
		if (r->objects)
			json_object_set(o, "objects", r->objects);
		cli_print_object(stdout, o, OUT_JSON);
		json_decref(o);
		return;
	}
	json_t *rows = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const struct bia_metric_def *d = bia_metric_find(r->cls, r->codes[i]);
		json_array_append_new(rows, json_pack("{s:s, s:o, s:s}", "metric", r->codes[i], "value",
						      metric_value(r->cls, r->codes[i], r->values[i]),
						      "name", d ? d->name : ""));
	}
	static const char *const cols[] = {"metric", "value", "name", NULL};
	cli_print_list(stdout, rows, cols, fmt);
	json_decref(rows);
}

static json_t *agg_json(const struct bia_metric_agg *a, enum bia_class cls, const char *code)
{
	if (a->n == 0)
		return json_pack("{s:i, s:I, s:n, s:n, s:n, s:n, s:n}", "n", 0, "n_nan",
				 (json_int_t)a->n_nan, "min", "max", "mean", "std", "median");
	return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)a->n, "n_nan",
			 (json_int_t)a->n_nan, "min", metric_value(cls, code, a->min), "max",
			 metric_value(cls, code, a->max), "mean", bia_json_real(a->mean), "std",
			 bia_json_real(a->std), "median", bia_json_real(a->median));
}

int cli_score_folders(struct bia_cli *cli, enum bia_class cls, const char *pdir,
		      const char *gdir, const struct bia_metric_params *p, int objects,
		      int missing_empty, enum bia_out_format fmt)
{
	struct entry *pv = NULL, *gv = NULL;
	size_t np = 0, ng = 0;
	if (scan(cli, cls, pdir, &pv, &np) || scan(cli, cls, gdir, &gv, &ng)) {
		free(pv);
		return cli_error(cli);
	}
	json_t *warnings = json_array(), *deviations = json_array(), *images = json_array();
	json_t *params = NULL;
	int rc = 0;
	if (ng == 0)
		rc = bia_fail(&cli->ctx, BIA_ENOENT, "no ground-truth files in '%s'", gdir);
	/* GT without prediction: an error naming it (or empty) */
	for (size_t g = 0, k = 0; !rc && g < ng; g++) {
		while (k < np && strcmp(pv[k].stem, gv[g].stem) < 0)
			k++;
		if ((k >= np || strcmp(pv[k].stem, gv[g].stem)) && !missing_empty)
			rc = bia_fail(&cli->ctx, BIA_ENOENT,
				      "%s: no prediction with stem '%s' in '%s' (use "
				      "--missing-as-empty to score it as empty)",
				      gv[g].path, gv[g].stem, pdir);
	}
	for (size_t i = 0, k = 0; !rc && i < np; i++) {
		while (k < ng && strcmp(gv[k].stem, pv[i].stem) < 0)
			k++;
		if (k >= ng || strcmp(gv[k].stem, pv[i].stem)) {
			char w[BIA_PATH_MAX + 64];
			snprintf(w, sizeof(w), "%s: prediction without ground truth, ignored",
				 pv[i].path);
			json_array_append_new(warnings, json_string(w));
		}
	}
	size_t nm;
	const struct bia_metric_def *defs = bia_metric_class(cls, &nm);
	double *vals = bia_calloc(ng * nm + 1, sizeof(double));
	for (size_t g = 0, k = 0; !rc && g < ng; g++) {
		while (k < np && strcmp(pv[k].stem, gv[g].stem) < 0)
			k++;
		const char *pred = k < np && !strcmp(pv[k].stem, gv[g].stem) ? pv[k].path : NULL;
		struct bia_metric_result r;
		bia_metric_result_init(&r, cls);
		rc = score(cli, cls, pred, gv[g].path, p, objects, &r);
		if (!rc) {
			char prefix[300];
			snprintf(prefix, sizeof(prefix), "%s: ", gv[g].stem);
			merge_strings(warnings, r.warnings, prefix);
			merge_strings(deviations, r.deviations, "");
			if (!params)
				params = json_incref(r.params);
			json_t *im = json_pack("{s:s, s:o}", "name", gv[g].stem, "metrics",
					       metrics_json(&r));
			if (!pred) {
				json_object_set_new(im, "missing", json_true());
				char w[300];
				snprintf(w, sizeof(w), "%s: no prediction, scored as empty", gv[g].stem);
				json_array_append_new(warnings, json_string(w));
			}
			if (r.objects)
				json_object_set(im, "objects", r.objects);
			json_array_append_new(images, im);
			for (size_t m = 0; m < nm; m++)
				vals[m * ng + g] = bia_metric_get(&r, defs[m].code);
		}
		bia_metric_result_release(&r);
	}
	int code = 0;
	if (rc) {
		code = cli_error(cli);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(warnings, i, v)
			cli_msg("warning: %s", json_string_value(v));
		json_t *agg = json_object();
		for (size_t m = 0; m < nm; m++) {
			struct bia_metric_agg a;
			bia_metric_aggregate(vals + m * ng, ng, &a);
			json_object_set_new(agg, defs[m].code, agg_json(&a, cls, defs[m].code));
		}
		if (fmt == OUT_JSON) {
			json_t *o = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "class",
					      bia_class_code(cls), "params",
					      params ? params : json_object(), "deviations", deviations,
					      "warnings", warnings, "images", images, "aggregate", agg);
			cli_print_object(stdout, o, OUT_JSON);
			json_decref(o);
		} else {
			/* one row per image, then mean and median rows */
			json_t *rows = json_array();
			const char *cols[BIA_METRICS_MAX + 2];
			cols[0] = "name";
			for (size_t m = 0; m < nm; m++)
				cols[m + 1] = defs[m].code;
			cols[nm + 1] = NULL;
			json_array_foreach(images, i, v)
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
							json_object_get(json_object_get(agg, defs[m].code),
									stats[s]));
				json_array_append_new(rows, row);
			}
			cli_print_list(stdout, rows, cols, fmt);
			json_decref(rows);
		}
		json_decref(agg);
	}
	free(vals);
	free(pv);
	free(gv);
	json_decref(params);
	json_decref(warnings);
	json_decref(deviations);
	json_decref(images);
	return code;
}

/* ObjTrk: a folder holding exactly one stack + .txt pair is a file. */
static int single_stack(const char *dir, char *out, size_t outsz)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && bia_path_is_image(e->d_name)) {
			n++;
			snprintf(out, outsz, "%s/%s", dir, e->d_name);
		}
	closedir(d);
	char tp[BIA_PATH_MAX];
	return n == 1 && !tracks_path(out, tp, sizeof(tp)) && bia_is_file(tp);
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
	if (pdir && cls == BIA_OBJTRK && single_stack(pred, ps, sizeof(ps)) &&
	    single_stack(gt, gs, sizeof(gs))) {
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
	struct bia_metric_result r;
	bia_metric_result_init(&r, cls);
	int rc = score(cli, cls, bia_is_file(pred) ? pred : NULL, gt, &params, objects, &r);
	if (rc) {
		bia_metric_result_release(&r);
		return cli_error(cli);
	}
	size_t i;
	json_t *v;
	json_array_foreach(r.warnings, i, v)
		cli_msg("warning: %s", json_string_value(v));
	print_single(&r, out);
	bia_metric_result_release(&r);
	return 0;
}
