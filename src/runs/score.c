/* Scoring a prediction against its ground truth: the one loader of
 * (prediction, GT) pairs shared by runs and by `biaflows metrics` / `exec
 * --gt`, and the scoring of files and of folders paired by stem.
 * SPDX-License-Identifier: MIT */
#include "runs/runs.h"
#include "metrics/metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- pairs */

void bia_score_pair_init(struct bia_score_pair *s)
{
	memset(s, 0, sizeof(*s));
	bia_image_init(&s->pred);
	bia_image_init(&s->gt);
}

int bia_score_pair_load(struct bia_ctx *ctx, enum bia_class cls, struct bia_score_pair *s,
			enum bia_pair_side side, const char *path, const char *tracks,
			const char **pfailed)
{
	int gt = side == BIA_PAIR_GT;
	if (pfailed)
		*pfailed = path;
	if (cls == BIA_TRETRC)
		return bia_swc_load(ctx, path, gt ? &s->gt_swc : &s->pred_swc);
	if (bia_runs_read_for_class(ctx, cls, path, gt ? &s->gt : &s->pred))
		return ctx->rc;
	if (cls != BIA_OBJTRK || !tracks)
		return 0;
	if (pfailed)
		*pfailed = tracks;
	return bia_ctc_load(ctx, tracks, gt ? &s->gt_trk : &s->pred_trk);
}

int bia_score_pair_empty_pred(struct bia_ctx *ctx, enum bia_class cls, struct bia_score_pair *s)
{
	if (cls == BIA_TRETRC)
		return 0; /* an SWC with no node */
	bia_image_release(&s->pred);
	bia_image_init(&s->pred);
	return bia_image_alloc(ctx, &s->pred, s->gt.x, s->gt.y, s->gt.z, s->gt.c, s->gt.t,
			       s->gt.dtype);
}

void bia_score_pair_input(const struct bia_score_pair *s, struct bia_metric_input *in)
{
	in->pred = &s->pred;
	in->gt = &s->gt;
	in->pred_swc = &s->pred_swc;
	in->gt_swc = &s->gt_swc;
	in->pred_trk = &s->pred_trk;
	in->gt_trk = &s->gt_trk;
}

void bia_score_pair_release(struct bia_score_pair *s)
{
	bia_image_release(&s->pred);
	bia_image_release(&s->gt);
	bia_swc_release(&s->pred_swc);
	bia_swc_release(&s->gt_swc);
	bia_ctc_release(&s->pred_trk);
	bia_ctc_release(&s->gt_trk);
}

/* ---------------------------------------------------------------- files */

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

/* Load one side from a file (ObjTrk: the stack, then its track file
 * beside it, which must exist). */
static int load_file(struct bia_ctx *ctx, enum bia_class cls, struct bia_score_pair *s,
		     enum bia_pair_side side, const char *path)
{
	char tp[BIA_PATH_MAX];
	int have_tp = cls == BIA_OBJTRK && !tracks_path(path, tp, sizeof(tp)) && bia_is_file(tp);
	if (bia_score_pair_load(ctx, cls, s, side, path, have_tp ? tp : NULL, NULL))
		return ctx->rc;
	if (cls != BIA_OBJTRK || have_tp)
		return 0;
	if (tracks_path(path, tp, sizeof(tp)))
		return bia_fail(ctx, BIA_ELIMIT, "path too long");
	return bia_fail(ctx, BIA_ENOENT, "%s: no track file '%s' beside the label stack", path, tp);
}

int bia_score_single_stack(const char *dir, char *out, size_t outsz)
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

/* A metric's value as JSON: counts as integers. */
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

/* Score one pair of paths (pred may be NULL: missing -> empty). */
static int score(struct bia_ctx *ctx, enum bia_class cls, const char *pred, const char *gt,
		 const struct bia_metric_params *p, int objects, struct bia_metric_result *r)
{
	struct bia_score_pair s;
	bia_score_pair_init(&s);
	int rc = load_file(ctx, cls, &s, BIA_PAIR_GT, gt);
	if (!rc)
		rc = pred ? load_file(ctx, cls, &s, BIA_PAIR_PRED, pred)
			  : bia_score_pair_empty_pred(ctx, cls, &s);
	if (!rc) {
		struct bia_metric_input in;
		bia_score_pair_input(&s, &in);
		rc = bia_metrics_compute(ctx, cls, &in, p, objects, r);
		/* name the file the refusal is about: the ground truth's when the
		 * message is about it, else the prediction's */
		if (rc && !strstr(ctx->msg, bia_path_base(gt)))
			bia_fail_prefix(ctx, "%s", pred && !bia_metric_msg_about_gt(ctx->msg) ? pred
											    : gt);
	}
	bia_score_pair_release(&s);
	return rc;
}

int bia_score_pair_json(struct bia_ctx *ctx, enum bia_class cls, const char *pred,
			const char *gt, const struct bia_metric_params *p, int objects,
			json_t **pout)
{
	*pout = NULL;
	struct bia_metric_result r;
	bia_metric_result_init(&r, cls);
	if (score(ctx, cls, pred, gt, p, objects, &r)) {
		bia_metric_result_release(&r);
		return ctx->rc;
	}
	json_t *o = json_pack("{s:s, s:o, s:O, s:O, s:O}", "class", bia_class_code(r.cls),
			      "metrics", metrics_json(&r), "params", r.params, "deviations",
			      r.deviations, "warnings", r.warnings);
	if (o && r.objects)
		json_object_set(o, "objects", r.objects);
	bia_metric_result_release(&r);
	if (!o)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	*pout = o;
	return 0;
}

/* -------------------------------------------------------------- folders */

struct entry {
	char stem[256];
	char path[BIA_PATH_MAX];
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->stem, ((const struct entry *)b)->stem);
}

/* Primary files of a folder, sorted by stem; duplicates of a stem refused. */
static int scan(struct bia_ctx *ctx, enum bia_class cls, const char *dir, struct entry **pv,
		size_t *pn)
{
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, BIA_ENOENT, "cannot open folder '%s'", dir);
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
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
			v = t;
		}
		bia_path_stem(e->d_name, v[n].stem, sizeof(v[n].stem));
		snprintf(v[n].path, sizeof(v[n].path), "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i].stem, v[i - 1].stem)) {
			int rc = bia_fail(ctx, BIA_EINVAL, "'%s' and '%s' have the same stem",
					  v[i - 1].path, v[i].path);
			free(v);
			return rc;
		}
	*pv = v;
	*pn = n;
	return 0;
}

/* Append the strings of src to dst (with a prefix), each once. */
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

int bia_score_folders_json(struct bia_ctx *ctx, enum bia_class cls, const char *pdir,
			   const char *gdir, const struct bia_metric_params *p, int objects,
			   int missing_empty, json_t **pout)
{
	*pout = NULL;
	struct entry *pv = NULL, *gv = NULL;
	size_t np = 0, ng = 0;
	if (scan(ctx, cls, pdir, &pv, &np) || scan(ctx, cls, gdir, &gv, &ng)) {
		free(pv);
		return ctx->rc;
	}
	json_t *warnings = json_array(), *deviations = json_array(), *images = json_array();
	json_t *params = NULL;
	int rc = 0;
	if (ng == 0)
		rc = bia_fail(ctx, BIA_ENOENT, "no ground-truth files in '%s'", gdir);
	/* GT without prediction: an error naming it (or empty) */
	for (size_t g = 0, k = 0; !rc && g < ng; g++) {
		while (k < np && strcmp(pv[k].stem, gv[g].stem) < 0)
			k++;
		if ((k >= np || strcmp(pv[k].stem, gv[g].stem)) && !missing_empty)
			rc = bia_fail(ctx, BIA_ENOENT,
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
	if (!rc && !vals)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t g = 0, k = 0; !rc && g < ng; g++) {
		while (k < np && strcmp(pv[k].stem, gv[g].stem) < 0)
			k++;
		const char *pred = k < np && !strcmp(pv[k].stem, gv[g].stem) ? pv[k].path : NULL;
		struct bia_metric_result r;
		bia_metric_result_init(&r, cls);
		rc = score(ctx, cls, pred, gv[g].path, p, objects, &r);
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
	if (!rc) {
		json_t *agg = json_object();
		for (size_t m = 0; m < nm; m++) {
			struct bia_metric_agg a;
			bia_metric_aggregate(vals + m * ng, ng, &a);
			json_object_set_new(agg, defs[m].code, agg_json(&a, cls, defs[m].code));
		}
		*pout = json_pack("{s:s, s:o, s:O, s:O, s:O, s:o}", "class", bia_class_code(cls),
				  "params", params ? json_incref(params) : json_object(),
				  "deviations", deviations, "warnings", warnings, "images", images,
				  "aggregate", agg);
		if (!*pout)
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	free(vals);
	free(pv);
	free(gv);
	json_decref(params);
	json_decref(warnings);
	json_decref(deviations);
	json_decref(images);
	return rc;
}
