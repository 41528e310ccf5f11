/* Unit tests of the library side of `biaflows compare | bench | metrics`:
 * the paired comparison of two runs and a leaderboard (src/bench) on an
 * instance made here with hand-set scores, and the scoring of folders
 * paired by stem with its (prediction, GT) loader (src/runs/score.c) on
 * masks written here. Every expected value is worked by hand in comments.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "dataset/dataset.h"
#include "runs/runs.h"

#define EPS 1e-12

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* A w x h mask of `dtype` whose first n samples (row-major) are v. */
static void write_mask(const char *path, size_t w, size_t h, enum bia_dtype dtype, size_t n,
		       unsigned v)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_image im;
	bia_image_init(&im);
	assert_int_equal(bia_image_alloc(&ctx, &im, w, h, 1, 1, 1, dtype), 0);
	for (size_t i = 0; i < n; i++) {
		if (dtype == BIA_U8)
			((uint8_t *)im.data)[i] = (uint8_t)v;
		else
			((uint16_t *)im.data)[i] = (uint16_t)v;
	}
	struct bia_tiff_write_opts o = {0};
	assert_int_equal(bia_image_write_tiff(&ctx, &im, path, &o), 0);
	bia_image_release(&im);
}

/* ------------------------------------------------------ an instance */

struct env {
	char dir[64];
	char path[256];
	struct bia_ctx ctx;
	struct bia_instance inst;
	int64_t run_a, run_b;
};

#define NIMG 6
/* mAP of runs A and B on img_0 .. img_5; B has no value on img_5 */
static const double VA[NIMG] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.3};
static const double VB[NIMG] = {0.5, 0.6, 0.8, 0.3, 0.45, NAN};

/* A succeeded run of W@1 with these parameters and mAP values. */
static int64_t add_run(struct env *e, int64_t version, int64_t problem, const char *params,
		       const struct bia_image_rec *im, const double *v)
{
	struct bia_run r;
	memset(&r, 0, sizeof(r));
	r.workflow_version_id = version;
	r.problem_id = problem;
	r.params = strdup(params);
	char ids[256] = "[";
	for (size_t i = 0; i < NIMG; i++)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%lld", i ? "," : "",
			 (long long)im[i].id);
	strcat(ids, "]");
	r.images = strdup(ids);
	assert_int_equal(bia_store_run_add(&e->ctx, &e->inst, &r), 0);
	static const enum bia_run_state path[] = {BIA_RUN_RUNNING, BIA_RUN_INGESTING,
						  BIA_RUN_SUCCEEDED};
	for (size_t k = 0; k < 3; k++) {
		int done = 0;
		assert_int_equal(bia_run_transition(&e->ctx, &e->inst, &r, path[k], &done), 0);
		assert_int_equal(done, 1);
	}
	for (size_t i = 0; i < NIMG; i++) {
		struct bia_run_image ri;
		memset(&ri, 0, sizeof(ri));
		ri.image_id = im[i].id;
		snprintf(ri.status, sizeof(ri.status), "ok");
		ri.nscores = 1;
		ri.scores = calloc(1, sizeof(*ri.scores));
		snprintf(ri.scores[0].metric, sizeof(ri.scores[0].metric), "mAP");
		ri.scores[0].value = v[i];
		ri.scores[0].gt_version_id = im[i].gt_version; /* current: not stale */
		snprintf(ri.scores[0].metrics_version, sizeof(ri.scores[0].metrics_version), "%s",
			 BIA_METRICS_VERSION);
		assert_int_equal(bia_store_run_image_put(&e->ctx, &e->inst, r.id, &ri), 0);
		bia_run_image_release(&ri);
	}
	int64_t id = r.id;
	bia_run_release(&r);
	return id;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-bench-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	bia_ctx_init(&e->ctx);
	/* six 16x16 images (distinct: imports refuse duplicates), each GT one
	 * object of 20 pixels */
	char p[256];
	snprintf(p, sizeof(p), "%s/ds", e->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/ds/images", e->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/ds/groundtruth", e->dir);
	mkdir(p, 0755);
	for (int i = 0; i < NIMG; i++) {
		snprintf(p, sizeof(p), "%s/ds/images/img_%d.tif", e->dir, i);
		write_mask(p, 16, 16, BIA_U8, 40 + (size_t)i, 200);
		snprintf(p, sizeof(p), "%s/ds/groundtruth/img_%d.tif", e->dir, i);
		write_mask(p, 16, 16, BIA_U16, 20, 1);
	}
	snprintf(e->path, sizeof(e->path), "%s/inst", e->dir);
	if (bia_instance_create(&e->ctx, e->path) || bia_instance_open(&e->ctx, e->path, &e->inst))
		return -1;
	struct bia_problem pr;
	memset(&pr, 0, sizeof(pr));
	snprintf(pr.name, sizeof(pr.name), "nuc");
	pr.cls = BIA_OBJSEG;
	if (bia_problem_add(&e->ctx, &e->inst, &pr))
		return -1;
	struct bia_import_result ir;
	bia_import_result_init(&ir);
	snprintf(p, sizeof(p), "%s/ds", e->dir);
	int rc = bia_dataset_import(&e->ctx, &e->inst, &pr, p, NULL, &ir);
	bia_import_result_release(&ir);
	if (rc)
		return -1;
	struct bia_image_rec *im;
	size_t n;
	if (bia_image_list(&e->ctx, &e->inst, pr.id, (struct bia_page){0, 0}, &im, &n, NULL) ||
	    n != NIMG)
		return -1;
	/* a workflow of the class with one parameter */
	struct bia_wf_version wv;
	memset(&wv, 0, sizeof(wv));
	snprintf(wv.name, sizeof(wv.name), "W");
	snprintf(wv.version, sizeof(wv.version), "1");
	snprintf(wv.problem_class, sizeof(wv.problem_class), "ObjSeg");
	memset(wv.digest, 'a', 64);
	wv.descriptor =
		"{\"name\": \"W\", \"schema-version\": \"cytomine-0.1\", \"problem-class\": "
		"\"ObjSeg\", \"container-image\": {\"image\": \"w\", \"type\": \"singularity\"}, "
		"\"command-line\": \"run THRESHOLD\", \"inputs\": [{\"id\": \"threshold\", "
		"\"value-key\": \"@ID\", \"command-line-flag\": \"--@id\", \"type\": \"Number\", "
		"\"default-value\": 0.5, \"optional\": true}]}";
	int existed;
	if (bia_store_wf_add(&e->ctx, &e->inst, &wv, &existed))
		return -1;
	e->run_a = add_run(e, wv.id, pr.id, "{\"threshold\":\"0.3\"}", im, VA);
	e->run_b = add_run(e, wv.id, pr.id, "{\"threshold\":\"0.4\"}", im, VB);
	free(im);
	bia_problem_release(&pr);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	bia_instance_close(&e->inst);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_rm_rf(&ctx, e->dir);
	free(e);
	return 0;
}

static void test_compare(void **state)
{
	struct env *e = *state;
	int bad = 0;
	struct bia_compare_request req = {e->run_a, e->run_b, NULL, &bad};
	json_t *o;
	assert_int_equal(bia_compare_runs_json(&e->ctx, &e->inst, &req, NULL, &o), 0);
	assert_string_equal(bia_json_str(o, "metric", ""), "mAP"); /* ObjSeg's main metric */
	assert_string_equal(bia_json_str(o, "direction", ""), "higher");
	json_t *a = json_object_get(o, "a");
	assert_string_equal(bia_json_str(a, "entry", ""), "W@1");
	assert_string_equal(bia_json_str(json_object_get(a, "params"), "threshold", ""), "0.3");
	/* A - B: 0.4, 0.2, -0.1, 0.3, 0.05 and img_5 left out (B has no value) */
	assert_int_equal(num(o, "n_pairs"), 5);
	assert_int_equal(num(o, "n_left_out"), 1);
	assert_int_equal(num(o, "wins"), 4);
	assert_int_equal(num(o, "ties"), 0);
	assert_int_equal(num(o, "losses"), 1);
	/* mean 0.85 / 5 = 0.17; median of -0.1 0.05 0.2 0.3 0.4 = 0.2 */
	assert_float_equal(num(o, "mean_diff"), 0.17, EPS);
	assert_float_equal(num(o, "median_diff"), 0.2, EPS);
	/* squared deviations from 0.17: .0529 .0009 .0729 .0169 .0144 = .158,
	 * sample sd sqrt(.158 / 4) */
	assert_float_equal(num(o, "cohen_dz"), 0.17 / sqrt(0.158 / 4), 1e-9);
	/* |d| ranks 0.05:1 0.1:2 0.2:3 0.3:4 0.4:5; W+ = 1+3+4+5 = 13, W- = 2:
	 * rank-biserial 11/15; the statistic min(W+, W-) = 2; subsets of 1..5
	 * with sum <= 2: {}, {1}, {2} -> exact two-sided p = 2 * 3/32 */
	assert_float_equal(num(o, "rank_biserial"), 11.0 / 15, EPS);
	json_t *w = json_object_get(o, "wilcoxon");
	assert_float_equal(num(w, "statistic"), 2, 0);
	assert_float_equal(num(w, "pvalue"), 0.1875, EPS);
	assert_string_equal(bia_json_str(w, "method", ""), "exact");
	assert_true(json_is_false(json_object_get(o, "too_few_images")));
	/* rows from A's best difference to its worst */
	static const char *const order[] = {"img_0", "img_3", "img_1", "img_4", "img_2"};
	json_t *rows = json_object_get(o, "images");
	assert_int_equal(json_array_size(rows), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(bia_json_str(json_array_get(rows, i), "stem", ""), order[i]);
	assert_float_equal(num(json_array_get(rows, 0), "diff"), 0.4, EPS);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "left_out"), 0)),
			    "img_5");
	json_decref(o);

	/* a metric of another class is the request's fault */
	req.metric = "F1";
	assert_int_equal(bia_compare_runs_json(&e->ctx, &e->inst, &req, NULL, &o), BIA_EINVAL);
	assert_int_equal(bad, 1);
	assert_null(o);
}

static void note_count(void *user, enum bia_bench_note kind, const char *line)
{
	(void)kind;
	(void)line;
	(*(int *)user)++;
}

static void test_bench(void **state)
{
	struct env *e = *state;
	const char *wf[] = {"W"};
	int notes = 0;
	struct bia_bench_hooks h = {NULL, NULL, note_count, &notes};
	struct bia_bench_request req = {.problem = "nuc",
					.workflows = wf,
					.nworkflows = 1,
					.seed = 1,
					.resamples = 200,
					.no_run = 1};
	json_t *o;
	assert_int_equal(bia_bench_json(&e->ctx, &e->inst, &req, &h, &o), 0);
	assert_int_equal(notes, 0); /* nothing queued, nothing stale */
	assert_int_equal(num(o, "images"), NIMG);
	json_t *en = json_object_get(o, "entries");
	assert_int_equal(json_array_size(en), 2);
	/* A: 3.8 / 6; B: 2.65 / 5 with one NaN counted */
	json_t *x = json_array_get(en, 0), *y = json_array_get(en, 1);
	assert_int_equal(num(x, "run"), e->run_a);
	assert_true(json_is_true(json_object_get(x, "leader")));
	assert_float_equal(num(x, "mean"), 3.8 / 6, EPS);
	assert_int_equal(num(y, "run"), e->run_b);
	assert_float_equal(num(y, "mean"), 2.65 / 5, EPS);
	assert_int_equal(num(y, "n"), 5);
	assert_int_equal(num(y, "n_nan"), 1);
	assert_int_equal(num(json_object_get(y, "vs_leader"), "n_pairs"), 5);
	/* the table's params column: what varies within W@1 */
	char t[64];
	bia_bench_varying_params(en, 1, t, sizeof(t));
	assert_string_equal(t, "threshold=0.4");
	json_decref(o);
	/* nothing to rank on another problem */
	req.problem = "none";
	assert_int_equal(bia_bench_json(&e->ctx, &e->inst, &req, &h, &o), BIA_ENOENT);
}

static void test_sweep_param(void **state)
{
	(void)state;
	struct bia_sweep_param sp;
	assert_int_equal(bia_sweep_param_parse("t=0.2:0.6:0.2", &sp), 0);
	assert_string_equal(sp.name, "t");
	assert_int_equal(sp.nvalues, 3);
	assert_string_equal(sp.values[2], "0.6");
	bia_sweep_param_release(&sp);
	assert_int_equal(bia_sweep_param_parse("t=a,b", &sp), 0);
	assert_int_equal(sp.nvalues, 2);
	bia_sweep_param_release(&sp);
	assert_int_equal(bia_sweep_param_parse("t=1:0:1", &sp), BIA_ELIMIT);
	assert_int_equal(bia_sweep_param_parse("t=0:1:0.0001", &sp), BIA_ELIMIT);
	assert_int_equal(bia_sweep_param_parse("=1", &sp), BIA_EINVAL);
}

/* ------------------------------------------------------ folder scoring */

static void test_score_folders(void **state)
{
	(void)state;
	char dir[64], pd[128], gd[128], p[256];
	snprintf(dir, sizeof(dir), "/tmp/bia-score-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(pd, sizeof(pd), "%s/pred", dir);
	snprintf(gd, sizeof(gd), "%s/gt", dir);
	mkdir(pd, 0755);
	mkdir(gd, 0755);
	/* a: GT class 1 on pixels 0-3 of 4x4, the prediction on 0-1 only:
	 * 14 of 16 pixels right, ACC 0.875 */
	snprintf(p, sizeof(p), "%s/a.tif", gd);
	write_mask(p, 4, 4, BIA_U8, 4, 1);
	snprintf(p, sizeof(p), "%s/a.tif", pd);
	write_mask(p, 4, 4, BIA_U8, 2, 1);
	/* b: GT class 1 on pixels 0-7, no prediction: scored as empty, ACC 0.5 */
	snprintf(p, sizeof(p), "%s/b.tif", gd);
	write_mask(p, 4, 4, BIA_U8, 8, 1);
	/* c: a prediction without GT, a warning */
	snprintf(p, sizeof(p), "%s/c.tif", pd);
	write_mask(p, 4, 4, BIA_U8, 1, 1);

	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_metric_params mp;
	bia_metric_params_init(&mp);
	json_t *o;
	assert_int_equal(bia_score_folders_json(&ctx, BIA_PIXCLA, pd, gd, &mp, 0, 0, &o),
			 BIA_ENOENT);
	assert_non_null(strstr(ctx.msg, "no prediction with stem 'b'"));
	assert_int_equal(bia_score_folders_json(&ctx, BIA_PIXCLA, pd, gd, &mp, 0, 1, &o), 0);
	assert_string_equal(bia_json_str(o, "class", ""), "PixCla");
	json_t *im = json_object_get(o, "images");
	assert_int_equal(json_array_size(im), 2);
	json_t *a = json_array_get(im, 0), *b = json_array_get(im, 1);
	assert_string_equal(bia_json_str(a, "name", ""), "a");
	assert_float_equal(num(json_object_get(a, "metrics"), "ACC"), 0.875, EPS);
	assert_null(json_object_get(a, "missing"));
	assert_string_equal(bia_json_str(b, "name", ""), "b");
	assert_true(json_is_true(json_object_get(b, "missing")));
	assert_float_equal(num(json_object_get(b, "metrics"), "ACC"), 0.5, EPS);
	/* aggregate of 0.875 and 0.5: mean 0.6875, sample sd 0.1875 * sqrt 2 */
	json_t *acc = json_object_get(json_object_get(o, "aggregate"), "ACC");
	assert_int_equal(num(acc, "n"), 2);
	assert_float_equal(num(acc, "mean"), 0.6875, EPS);
	assert_float_equal(num(acc, "median"), 0.6875, EPS);
	assert_float_equal(num(acc, "min"), 0.5, EPS);
	assert_float_equal(num(acc, "max"), 0.875, EPS);
	assert_float_equal(num(acc, "std"), 0.1875 * sqrt(2), 1e-12);
	int pred_wo_gt = 0, empty = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "warnings"), i, v)
	{
		const char *t = json_string_value(v);
		pred_wo_gt |= strstr(t, "c.tif: prediction without ground truth") != NULL;
		empty |= !strcmp(t, "b: no prediction, scored as empty");
	}
	assert_true(pred_wo_gt && empty);
	json_decref(o);

	/* the same pair alone */
	char pa[256], ga[256];
	snprintf(pa, sizeof(pa), "%s/a.tif", pd);
	snprintf(ga, sizeof(ga), "%s/a.tif", gd);
	assert_int_equal(bia_score_pair_json(&ctx, BIA_PIXCLA, pa, ga, &mp, 0, &o), 0);
	assert_float_equal(num(json_object_get(o, "metrics"), "ACC"), 0.875, EPS);
	json_decref(o);

	/* the loader: an empty prediction takes the GT's shape */
	struct bia_score_pair s;
	bia_score_pair_init(&s);
	assert_int_equal(bia_score_pair_load(&ctx, BIA_PIXCLA, &s, BIA_PAIR_GT, ga, NULL, NULL), 0);
	assert_int_equal(bia_score_pair_empty_pred(&ctx, BIA_PIXCLA, &s), 0);
	assert_int_equal(s.pred.x, 4);
	assert_int_equal(s.pred.y, 4);
	assert_int_equal(s.pred.dtype, s.gt.dtype);
	assert_int_equal(((uint8_t *)s.pred.data)[0], 0);
	bia_score_pair_release(&s);
	const char *failed = NULL;
	bia_score_pair_init(&s);
	/* the "track file" is a folder: the refusal is about it */
	assert_int_not_equal(
		bia_score_pair_load(&ctx, BIA_OBJTRK, &s, BIA_PAIR_GT, ga, pd, &failed), 0);
	assert_ptr_equal(failed, pd);
	bia_score_pair_release(&s);

	bia_rm_rf(&ctx, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bench, setup, teardown),
		cmocka_unit_test(test_sweep_param),
		cmocka_unit_test(test_score_folders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
