/* Unit tests of the error maps: bia_error_map (metric records -> object rows
 * and category counts, src/runs/errors.c) and the store ops that write them
 * with the image's scores, query them and remove them on requeue.
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

#include "dataset/dataset.h"
#include "metrics/metrics.h"
#include "runs/runs.h"

static void rect(struct bia_image *im, size_t y0, size_t y1, size_t x0, size_t x1, uint16_t v)
{
	uint16_t *d = im->data;
	for (size_t y = y0; y <= y1; y++)
		for (size_t x = x0; x <= x1; x++)
			d[y * im->x + x] = v;
}

static int64_t count_of(const struct bia_run_image *ri, const char *cat)
{
	for (size_t i = 0; i < ri->nerrors; i++)
		if (!strcmp(ri->errors[i].category, cat))
			return ri->errors[i].count;
	return -1; /* category absent */
}

static const struct bia_run_object *obj(const struct bia_run_image *ri, const char *kind,
					int64_t id)
{
	for (size_t i = 0; i < ri->nobjects; i++)
		if (!strcmp(ri->objects[i].kind, kind) && ri->objects[i].obj_id == id)
			return &ri->objects[i];
	return NULL;
}

/* The hand case of tests/cli/t_errors.sh (64x64, rows y, columns x):
 * GT 1 = y 2-9 x 2-9 (64 px), predicted exactly: TP, IoU 1.
 * GT 2 = y 2-9 x 20-35 (128 px), predicted as two pieces x 20-26 and x 29-35
 *   (56 px each, IoU 56/128 = 0.4375): GT 2 FN and split (each piece has
 *   more than half of its own area in it), both pieces FP.
 * GT 3 = y 20-27 x 2-9 and GT 4 = y 20-27 x 12-19 (64 px each), predicted as
 *   one y 20-27 x 2-19 (144 px, IoU 64/144): both FN, the prediction FP and
 *   merged (covers more than half of each).
 * GT 5 = y 40-47 x 40-47: nothing predicted, FN.
 * Prediction y 50-55 x 2-7: no GT, FP.
 * Prediction labels are the binary mask's components in raster order:
 * 1 = the TP, 2 and 3 = the pieces, 4 = the merger, 5 = the extra.
 * So tp 1, fp 4, fn 4, split 1, merged 1; AP50 = 1/(1+4+4). */
static void hand_case(struct bia_image *gt, struct bia_image *pred)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_image_init(gt);
	bia_image_init(pred);
	assert_int_equal(bia_image_alloc(&ctx, gt, 64, 64, 1, 1, 1, BIA_U16), 0);
	assert_int_equal(bia_image_alloc(&ctx, pred, 64, 64, 1, 1, 1, BIA_U16), 0);
	rect(gt, 2, 9, 2, 9, 1);
	rect(gt, 2, 9, 20, 35, 2);
	rect(gt, 20, 27, 2, 9, 3);
	rect(gt, 20, 27, 12, 19, 4);
	rect(gt, 40, 47, 40, 47, 5);
	rect(pred, 2, 9, 2, 9, 1);
	rect(pred, 2, 9, 20, 26, 1);
	rect(pred, 2, 9, 29, 35, 1);
	rect(pred, 20, 27, 2, 19, 1);
	rect(pred, 50, 55, 2, 7, 1);
}

static void test_objseg_hand_case(void **state)
{
	(void)state;
	struct bia_image gt, pred;
	hand_case(&gt, &pred);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_metric_params mp;
	bia_metric_params_init(&mp);
	struct bia_metric_input in = {&pred, &gt, NULL, NULL, NULL, NULL};
	struct bia_metric_result r0, r1;
	bia_metric_result_init(&r0, BIA_OBJSEG);
	bia_metric_result_init(&r1, BIA_OBJSEG);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJSEG, &in, &mp, 0, &r0), 0);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJSEG, &in, &mp, 1, &r1), 0);
	/* asking for objects changes no value */
	assert_int_equal(r0.n, r1.n);
	for (size_t k = 0; k < r0.n; k++)
		assert_memory_equal(&r0.values[k], &r1.values[k], sizeof(double));
	assert_true(fabs(bia_metric_get(&r1, "AP50") - 1.0 / 9.0) < 1e-15);

	struct bia_run_image ri;
	memset(&ri, 0, sizeof(ri));
	assert_int_equal(bia_error_map(&ctx, BIA_OBJSEG, r1.objects, &ri), 0);
	assert_int_equal(ri.nerrors, 5);
	assert_string_equal(ri.errors[0].category, "tp");
	assert_int_equal(count_of(&ri, "tp"), 1);
	assert_int_equal(count_of(&ri, "fp"), 4);
	assert_int_equal(count_of(&ri, "fn"), 4);
	assert_int_equal(count_of(&ri, "split"), 1);
	assert_int_equal(count_of(&ri, "merged"), 1);
	assert_int_equal(ri.nobjects, 10); /* 5 GT + 5 predicted */
	const struct bia_run_object *o = obj(&ri, "gt", 1);
	assert_non_null(o);
	assert_string_equal(o->status, "TP");
	assert_true(o->has_match);
	assert_int_equal(o->match, 1);
	assert_true(o->score == 1.0);
	/* columns taken out; the rest (area, where it is) stays */
	assert_string_equal(o->detail,
			    "{\"area\":64,\"centroid\":[5.5,5.5,0.0],\"bbox\":[2,2,0,9,9,0]}");
	o = obj(&ri, "gt", 2);
	assert_string_equal(o->status, "FN");
	assert_false(o->has_match);
	assert_true(o->score == 56.0 / 128.0); /* best IoU of a near miss */
	assert_non_null(strstr(o->detail, "\"split\":true"));
	o = obj(&ri, "pred", 4);
	assert_string_equal(o->status, "FP");
	assert_true(o->score == 64.0 / 144.0);
	assert_non_null(strstr(o->detail, "\"merged\":true"));
	assert_non_null(obj(&ri, "pred", 5));
	assert_string_equal(obj(&ri, "pred", 5)->status, "FP");
	assert_true(obj(&ri, "pred", 5)->score == 0);

	/* an empty prediction: every GT object FN, zeros for the rest */
	struct bia_metric_result r2;
	bia_metric_result_init(&r2, BIA_OBJSEG);
	memset(pred.data, 0, bia_image_nbytes(&pred));
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJSEG, &in, &mp, 1, &r2), 0);
	assert_int_equal(bia_error_map(&ctx, BIA_OBJSEG, r2.objects, &ri), 0);
	assert_int_equal(ri.nobjects, 5);
	assert_int_equal(count_of(&ri, "fn"), 5);
	assert_int_equal(count_of(&ri, "tp"), 0);
	assert_int_equal(count_of(&ri, "fp"), 0);
	assert_int_equal(count_of(&ri, "split"), 0);
	assert_int_equal(count_of(&ri, "merged"), 0);
	bia_run_image_release(&ri);
	bia_metric_result_release(&r0);
	bia_metric_result_release(&r1);
	bia_metric_result_release(&r2);
	bia_image_release(&gt);
	bia_image_release(&pred);
}

/* ObjDet: GT points (2,2), (20,2), (40,40); predictions (3,2) (d = 1, TP),
 * (20,9) (d = 7 > gate 5: FP, GT (20,2) FN), (60,60) FP; GT (40,40) FN. */
static void test_objdet(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_image gt, pred;
	bia_image_init(&gt);
	bia_image_init(&pred);
	assert_int_equal(bia_image_alloc(&ctx, &gt, 64, 64, 1, 1, 1, BIA_U16), 0);
	assert_int_equal(bia_image_alloc(&ctx, &pred, 64, 64, 1, 1, 1, BIA_U16), 0);
	rect(&gt, 2, 2, 2, 2, 1);
	rect(&gt, 2, 2, 20, 20, 1);
	rect(&gt, 40, 40, 40, 40, 1);
	rect(&pred, 2, 2, 3, 3, 1);
	rect(&pred, 9, 9, 20, 20, 1);
	rect(&pred, 60, 60, 60, 60, 1);
	struct bia_metric_params mp;
	bia_metric_params_init(&mp);
	struct bia_metric_input in = {&pred, &gt, NULL, NULL, NULL, NULL};
	struct bia_metric_result r;
	bia_metric_result_init(&r, BIA_OBJDET);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJDET, &in, &mp, 1, &r), 0);
	struct bia_run_image ri;
	memset(&ri, 0, sizeof(ri));
	assert_int_equal(bia_error_map(&ctx, BIA_OBJDET, r.objects, &ri), 0);
	assert_int_equal(ri.nerrors, 3);
	assert_int_equal(count_of(&ri, "tp"), 1);
	assert_int_equal(count_of(&ri, "fn"), 2);
	assert_int_equal(count_of(&ri, "fp"), 2);
	assert_int_equal(count_of(&ri, "split"), -1);
	/* the counts are the metric's */
	assert_true(bia_metric_get(&r, "TP") == 1 && bia_metric_get(&r, "FN") == 2 &&
		    bia_metric_get(&r, "FP") == 2);
	const struct bia_run_object *o = obj(&ri, "gt", 0); /* (2,2) */
	assert_string_equal(o->status, "TP");
	assert_int_equal(o->match, 0);
	assert_true(o->score == 1.0);
	assert_non_null(strstr(o->detail, "\"x\":2"));
	bia_run_image_release(&ri);
	bia_metric_result_release(&r);
	bia_image_release(&gt);
	bia_image_release(&pred);
}

/* Classes whose records are mapped without a geometry here: the records as
 * the metric library writes them (docs/metrics-*.md). */
static void test_other_classes(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_run_image ri;
	memset(&ri, 0, sizeof(ri));

	/* PrtTrk: ref 1 paired with cand 7, ref 2 missed, cand 8 spurious */
	json_t *a = json_loads(
		"[{\"kind\":\"ref\",\"id\":1,\"status\":\"paired\",\"match\":7,\"distance\":0.5,"
		"\"first\":0,\"last\":3},"
		"{\"kind\":\"ref\",\"id\":2,\"status\":\"missed\",\"match\":null,\"distance\":20},"
		"{\"kind\":\"cand\",\"id\":7,\"status\":\"paired\",\"match\":1,\"first\":0},"
		"{\"kind\":\"cand\",\"id\":8,\"status\":\"spurious\",\"match\":null}]",
		0, NULL);
	assert_int_equal(bia_error_map(&ctx, BIA_PRTTRK, a, &ri), 0);
	assert_int_equal(count_of(&ri, "paired"), 1);
	assert_int_equal(count_of(&ri, "missed"), 1);
	assert_int_equal(count_of(&ri, "spurious"), 1);
	assert_int_equal(ri.nobjects, 4);
	assert_int_equal(obj(&ri, "ref", 1)->match, 7);
	assert_true(obj(&ri, "ref", 1)->score == 0.5);
	assert_true(isnan(obj(&ri, "cand", 8)->score));
	json_decref(a);

	/* TreTrc: GT edges matched / missed, a spurious predicted edge */
	a = json_loads("[{\"kind\":\"gt\",\"edge\":0,\"points\":4,\"mean_closeness\":0.9,"
		       "\"status\":\"matched\"},"
		       "{\"kind\":\"gt\",\"edge\":1,\"points\":4,\"mean_closeness\":0.1,"
		       "\"status\":\"missed\"},"
		       "{\"kind\":\"pred\",\"edge\":0,\"points\":4,\"mean_closeness\":0.8,"
		       "\"status\":\"matched\"},"
		       "{\"kind\":\"pred\",\"edge\":1,\"points\":2,\"mean_closeness\":\"nan\","
		       "\"status\":\"spurious\"}]",
		       0, NULL);
	assert_int_equal(bia_error_map(&ctx, BIA_TRETRC, a, &ri), 0);
	assert_int_equal(count_of(&ri, "matched"), 1);
	assert_int_equal(count_of(&ri, "missed"), 1);
	assert_int_equal(count_of(&ri, "spurious"), 1);
	assert_true(isnan(obj(&ri, "pred", 1)->score));
	assert_non_null(strstr(obj(&ri, "pred", 1)->detail, "\"mean_closeness\":\"nan\""));
	json_decref(a);

	/* ObjTrk: AOGM operations, NS repeated; ids are the record positions */
	a = json_loads("[{\"op\":\"NS\",\"t\":0,\"label\":3},{\"op\":\"NS\",\"t\":0,\"label\":3},"
		       "{\"op\":\"FN\",\"t\":1,\"label\":2},{\"op\":\"FP\",\"t\":1,\"label\":9},"
		       "{\"op\":\"EA\",\"from\":{\"t\":0,\"label\":2},\"to\":{\"t\":1,\"label\":2}},"
		       "{\"op\":\"EC\",\"from\":{\"t\":0,\"label\":3},\"to\":{\"t\":1,\"label\":4}}]",
		       0, NULL);
	assert_int_equal(bia_error_map(&ctx, BIA_OBJTRK, a, &ri), 0);
	assert_int_equal(ri.nerrors, 6);
	assert_int_equal(count_of(&ri, "ns"), 2);
	assert_int_equal(count_of(&ri, "fn"), 1);
	assert_int_equal(count_of(&ri, "fp"), 1);
	assert_int_equal(count_of(&ri, "ea"), 1);
	assert_int_equal(count_of(&ri, "ed"), 0);
	assert_int_equal(count_of(&ri, "ec"), 1);
	assert_string_equal(obj(&ri, "gt", 2)->status, "FN");
	assert_string_equal(obj(&ri, "gt", 2)->detail, "{\"t\":1,\"label\":2}");
	assert_string_equal(obj(&ri, "pred", 1)->status, "NS");
	assert_string_equal(obj(&ri, "gt", 4)->status, "EA");
	json_decref(a);

	/* LndDet: a point of a class only in the prediction is spurious */
	a = json_loads("[{\"class\":1,\"x\":5,\"y\":7,\"z\":0,\"nearest_gt\":[5,5,0],"
		       "\"distance\":2.0},"
		       "{\"class\":2,\"x\":1,\"y\":1,\"z\":0,\"nearest_gt\":null,\"distance\":\"inf\"}]",
		       0, NULL);
	assert_int_equal(bia_error_map(&ctx, BIA_LNDDET, a, &ri), 0);
	assert_int_equal(count_of(&ri, "located"), 1);
	assert_int_equal(count_of(&ri, "spurious"), 1);
	assert_string_equal(obj(&ri, "pred", 1)->status, "spurious");
	assert_true(obj(&ri, "pred", 0)->score == 2.0);
	json_decref(a);

	/* PixCla: no error map; a record without status is refused */
	assert_null(bia_error_categories(BIA_PIXCLA));
	assert_int_equal(bia_error_map(&ctx, BIA_PIXCLA, NULL, &ri), 0);
	assert_int_equal(ri.nerrors + ri.nobjects, 0);
	a = json_loads("[{\"kind\":\"gt\",\"id\":1}]", 0, NULL);
	assert_int_equal(bia_error_map(&ctx, BIA_OBJSEG, a, &ri), BIA_EFORMAT);
	json_decref(a);
	bia_run_image_release(&ri);
}

/* ------------------------------------------------------------------ store */

struct env {
	char dir[64];
	char inst_dir[128];
	struct bia_ctx ctx;
	struct bia_instance inst;
	struct bia_problem p;
	int64_t img[2];
	int64_t run;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-errors-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->inst_dir, sizeof(e->inst_dir), "%s/inst", e->dir);
	bia_ctx_init(&e->ctx);
	if (bia_instance_create(&e->ctx, e->inst_dir) ||
	    bia_instance_open(&e->ctx, e->inst_dir, &e->inst))
		return -1;
	snprintf(e->p.name, sizeof(e->p.name), "nuclei");
	e->p.cls = BIA_OBJSEG;
	if (bia_problem_add(&e->ctx, &e->inst, &e->p))
		return -1;
	const char *fx = getenv("BIAFLOWS_FIXTURES");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/../sample", fx && *fx ? fx : "tests/fixtures/images");
	struct bia_import_result ir;
	bia_import_result_init(&ir);
	int rc = bia_dataset_import(&e->ctx, &e->inst, &e->p, dir, NULL, &ir);
	bia_import_result_release(&ir);
	if (rc)
		return -1;
	struct bia_image_rec *v;
	size_t n;
	if (bia_image_list(&e->ctx, &e->inst, e->p.id, (struct bia_page){0, 0}, &v, &n, NULL) || n != 2)
		return -1;
	e->img[0] = v[0].id; /* nuc_a */
	e->img[1] = v[1].id; /* nuc_b */
	free(v);
	/* a workflow version and a run */
	struct bia_wf_version wv;
	memset(&wv, 0, sizeof(wv));
	snprintf(wv.name, sizeof(wv.name), "W");
	snprintf(wv.version, sizeof(wv.version), "1");
	memset(wv.digest, 'a', 64);
	wv.descriptor = "{\"name\": \"W\"}";
	int existed;
	if (bia_store_wf_add(&e->ctx, &e->inst, &wv, &existed))
		return -1;
	struct bia_run r;
	memset(&r, 0, sizeof(r));
	r.workflow_version_id = wv.id;
	r.problem_id = e->p.id;
	if (bia_store_run_add(&e->ctx, &e->inst, &r))
		return -1;
	e->run = r.id;
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

/* An image's scores and error map: fn fn_count, tp 1, two FN objects. */
static void fill(struct bia_run_image *ri, int64_t image_id, int64_t fn)
{
	memset(ri, 0, sizeof(*ri));
	ri->image_id = image_id;
	snprintf(ri->status, sizeof(ri->status), "ok");
	ri->nscores = 1;
	ri->scores = calloc(1, sizeof(*ri->scores));
	snprintf(ri->scores[0].metric, sizeof(ri->scores[0].metric), "DC");
	ri->scores[0].value = 0.5;
	ri->scores[0].gt_version_id = 1;
	snprintf(ri->scores[0].metrics_version, sizeof(ri->scores[0].metrics_version), "x");
	static const char *const cats[] = {"tp", "fp", "fn", "split", "merged"};
	ri->nerrors = 5;
	ri->errors = calloc(5, sizeof(*ri->errors));
	for (int i = 0; i < 5; i++)
		snprintf(ri->errors[i].category, sizeof(ri->errors[i].category), "%s", cats[i]);
	ri->errors[0].count = 1;
	ri->errors[2].count = fn;
	ri->nobjects = 2;
	ri->objects = calloc(2, sizeof(*ri->objects));
	for (int i = 0; i < 2; i++) {
		snprintf(ri->objects[i].kind, sizeof(ri->objects[i].kind), "gt");
		ri->objects[i].obj_id = i + 1;
		snprintf(ri->objects[i].status, sizeof(ri->objects[i].status), i ? "FN" : "TP");
		ri->objects[i].has_match = !i;
		ri->objects[i].match = 4;
		ri->objects[i].score = i ? NAN : 0.75;
		ri->objects[i].detail = strdup("{\"area\":12}");
	}
}

static int64_t count_rows(struct env *e, const char *table)
{
	/* through the query ops only: errors via run_errors_query, the rest
	 * via run_images / run_objects_get */
	size_t n = 0;
	if (!strcmp(table, "run_errors")) {
		struct bia_run_error_row *v;
		assert_int_equal(
			bia_store_run_errors(&e->ctx, &e->inst, e->run, 0, NULL, 0, &v, &n),
			0);
		free(v);
	} else if (!strcmp(table, "run_objects")) {
		for (int i = 0; i < 2; i++) {
			struct bia_run_object *v;
			size_t k;
			assert_int_equal(bia_store_run_objects(&e->ctx, &e->inst, e->run,
								      e->img[i], &v, &k),
					 0);
			for (size_t j = 0; j < k; j++)
				bia_run_object_release(&v[j]);
			free(v);
			n += k;
		}
	} else {
		struct bia_run_image *v;
		assert_int_equal(bia_store_run_images(&e->ctx, &e->inst, e->run, &v, &n), 0);
		for (size_t j = 0; j < n; j++)
			bia_run_image_release(&v[j]);
		free(v);
	}
	return (int64_t)n;
}

static void test_store(void **state)
{
	struct env *e = *state;
	struct bia_run_image ri;
	fill(&ri, e->img[0], 2);
	assert_int_equal(bia_store_run_image_put(&e->ctx, &e->inst, e->run, &ri), 0);
	bia_run_image_release(&ri);
	/* atomic: a duplicate object (same kind and id) fails the whole image:
	 * no output row, no score, no count is left */
	fill(&ri, e->img[1], 7);
	ri.objects[1].obj_id = 1;
	assert_int_equal(bia_store_run_image_put(&e->ctx, &e->inst, e->run, &ri), BIA_EDB);
	assert_int_equal(count_rows(e, "run_outputs"), 1);
	assert_int_equal(count_rows(e, "run_errors"), 5);
	ri.objects[1].obj_id = 2;
	assert_int_equal(bia_store_run_image_put(&e->ctx, &e->inst, e->run, &ri), 0);
	bia_run_image_release(&ri);
	assert_int_equal(count_rows(e, "run_outputs"), 2);
	assert_int_equal(count_rows(e, "run_errors"), 10);
	assert_int_equal(count_rows(e, "run_objects"), 4);

	/* most false negatives: nuc_b (7) then nuc_a (2); --top 1 */
	struct bia_run_error_row *v;
	size_t n;
	assert_int_equal(
		bia_store_run_errors(&e->ctx, &e->inst, e->run, 0, "fn", 0, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].stem, "nuc_b");
	assert_int_equal(v[0].count, 7);
	assert_string_equal(v[1].stem, "nuc_a");
	assert_int_equal(v[1].count, 2);
	free(v);
	assert_int_equal(
		bia_store_run_errors(&e->ctx, &e->inst, 0, e->p.id, "fn", 1, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].image_id, e->img[1]);
	assert_int_equal(v[0].run_id, e->run);
	free(v);
	/* ties (tp 1 and 1) by stem; zeros are rows too */
	assert_int_equal(
		bia_store_run_errors(&e->ctx, &e->inst, e->run, 0, "split", 0, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].stem, "nuc_a");
	assert_int_equal(v[0].count, 0);
	free(v);
	/* every row: by run, stem, category */
	assert_int_equal(
		bia_store_run_errors(&e->ctx, &e->inst, e->run, 0, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 10);
	assert_string_equal(v[0].stem, "nuc_a");
	assert_string_equal(v[0].category, "fn");
	assert_string_equal(v[9].stem, "nuc_b");
	assert_string_equal(v[9].category, "tp");
	free(v);

	/* the objects, in stored order, with NULL match and score kept apart */
	struct bia_run_object *ov;
	assert_int_equal(
		bia_store_run_objects(&e->ctx, &e->inst, e->run, e->img[0], &ov, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ov[0].status, "TP");
	assert_true(ov[0].has_match);
	assert_int_equal(ov[0].match, 4);
	assert_true(ov[0].score == 0.75);
	assert_string_equal(ov[0].detail, "{\"area\":12}");
	assert_false(ov[1].has_match);
	assert_true(isnan(ov[1].score));
	for (size_t i = 0; i < n; i++)
		bia_run_object_release(&ov[i]);
	free(ov);

	/* a requeue removes the error maps with the outputs and scores */
	int done = 0;
	struct bia_run rq;
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, e->run, &rq), 0);
	assert_int_equal(bia_run_requeue(&e->ctx, &e->inst, &rq, "requeued", &done), 0);
	bia_run_release(&rq);
	assert_int_equal(done, 1);
	assert_int_equal(count_rows(e, "run_outputs"), 0);
	assert_int_equal(count_rows(e, "run_errors"), 0);
	assert_int_equal(count_rows(e, "run_objects"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objseg_hand_case),
		cmocka_unit_test(test_objdet),
		cmocka_unit_test(test_other_classes),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
