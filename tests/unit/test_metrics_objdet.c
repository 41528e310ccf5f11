/* ObjDet (docs/metrics.md §7) on hand-built point images: expected values
 * computed by hand, the arithmetic beside each assertion.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_int.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) <= 1e-12 * (1 + fabs(b)))
#define GET(r, code) bia_metric_get(&(r), code)

static struct bia_image mk(size_t x, size_t y, size_t z, size_t t)
{
	struct bia_ctx ctx;
	struct bia_image im;
	bia_ctx_init(&ctx);
	bia_image_init(&im);
	if (bia_image_alloc(&ctx, &im, x, y, z, 1, t, BIA_U16))
		fail_msg("alloc: %s", ctx.msg);
	return im;
}

static void put(struct bia_image *im, size_t x, size_t y, size_t z, size_t t, double v)
{
	bia_image_set(im, bia_image_index(im, x, y, z, 0, t), v);
}

/* Score pred against gt; returns rc, result in *r (caller releases). */
static int score(const struct bia_image *pred, const struct bia_image *gt, double gate,
		 int objects, struct bia_metric_result *r, struct bia_ctx *ctx)
{
	struct bia_metric_input in = {0};
	struct bia_metric_params p;
	in.pred = pred;
	in.gt = gt;
	bia_metric_params_init(&p);
	p.gating_dist = gate;
	bia_ctx_init(ctx);
	bia_metric_result_init(r, BIA_OBJDET);
	return bia_metrics_compute(ctx, BIA_OBJDET, &in, &p, objects, r);
}

static void score_ok(const struct bia_image *pred, const struct bia_image *gt, double gate,
		     int objects, struct bia_metric_result *r)
{
	struct bia_ctx ctx;
	if (score(pred, gt, gate, objects, r, &ctx))
		fail_msg("ObjDet: %s", ctx.msg);
}

static void counts(const struct bia_metric_result *r, double tp, double fn, double fp)
{
	assert_true(bia_metric_get(r, "TP") == tp);
	assert_true(bia_metric_get(r, "FN") == fn);
	assert_true(bia_metric_get(r, "FP") == fp);
}

/* Per-object records: statuses agree with the counts, matches point back. */
static void check_objects(const struct bia_metric_result *r)
{
	size_t i, ngt = 0, npr = 0, tpg = 0, tpp = 0, fn = 0, fp = 0;
	json_t *o;
	assert_non_null(r->objects);
	json_array_foreach(r->objects, i, o)
	{
		const char *kind = bia_json_str(o, "kind", ""), *st = bia_json_str(o, "status", "");
		int gt = !strcmp(kind, "gt");
		assert_true(gt || !strcmp(kind, "pred"));
		assert_int_equal(json_integer_value(json_object_get(o, "index")), gt ? ngt : npr);
		gt ? ngt++ : npr++;
		if (!strcmp(st, "TP")) {
			gt ? tpg++ : tpp++;
			assert_true(json_is_integer(json_object_get(o, "match_index")));
			assert_true(json_is_number(json_object_get(o, "distance")));
		} else {
			assert_string_equal(st, gt ? "FN" : "FP");
			gt ? fn++ : fp++;
			assert_true(json_is_null(json_object_get(o, "match_index")));
			assert_true(json_is_null(json_object_get(o, "distance")));
		}
	}
	assert_int_equal(tpg, tpp);
	counts(r, (double)tpg, (double)fn, (double)fp);
	/* a matched pair names each other, with the same distance */
	json_array_foreach(r->objects, i, o)
	{
		if (strcmp(bia_json_str(o, "kind", ""), "gt") || strcmp(bia_json_str(o, "status", ""), "TP"))
			continue;
		size_t m = (size_t)json_integer_value(json_object_get(o, "match_index"));
		json_t *p = json_array_get(r->objects, ngt + m);
		assert_string_equal(bia_json_str(p, "kind", ""), "pred");
		assert_int_equal(json_integer_value(json_object_get(p, "match_index")),
				 json_integer_value(json_object_get(o, "index")));
		assert_true(json_real_value(json_object_get(p, "distance")) ==
			    json_real_value(json_object_get(o, "distance")));
	}
}

static void test_perfect(void **state)
{
	(void)state;
	struct bia_image g = mk(32, 32, 1, 1), p = mk(32, 32, 1, 1);
	put(&g, 3, 4, 0, 0, 1);
	put(&g, 20, 7, 0, 0, 1);
	put(&g, 9, 30, 0, 0, 1);
	put(&p, 3, 4, 0, 0, 5); /* label values do not matter */
	put(&p, 20, 7, 0, 0, 300);
	put(&p, 9, 30, 0, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 3, 0, 0);
	NEAR(GET(r, "RE"), 1.0);   /* 3/(3+0) */
	NEAR(GET(r, "PR"), 1.0);   /* 3/(3+0) */
	NEAR(GET(r, "F1"), 1.0);   /* 2*1*1/(1+1) */
	NEAR(GET(r, "RMSE"), 0.0); /* sqrt(0/3) */
	/* order of the table */
	assert_int_equal(r.n, 7);
	const char *order[7] = {"TP", "FN", "FP", "RE", "PR", "F1", "RMSE"};
	for (int k = 0; k < 7; k++)
		assert_string_equal(r.codes[k], order[k]);
	assert_int_equal(json_integer_value(json_object_get(r.params, "GATING_DIST")), 5);
	assert_int_equal(json_array_size(r.deviations), 0);
	check_objects(&r);
	assert_int_equal(json_array_size(r.objects), 6);
	json_t *o = json_array_get(r.objects, 1); /* second GT point in raster order: (20,7) */
	assert_int_equal(json_integer_value(json_object_get(o, "x")), 20);
	assert_int_equal(json_integer_value(json_object_get(o, "y")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "z")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "t")), 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_empty(void **state)
{
	(void)state;
	struct bia_image g = mk(16, 16, 1, 1), p = mk(16, 16, 1, 1);
	struct bia_metric_result r;
	/* both empty: 0/0 everywhere */
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 0, 0, 0);
	assert_true(isnan(GET(r, "RE"))); /* 0/(0+0) */
	assert_true(isnan(GET(r, "PR"))); /* 0/(0+0) */
	assert_true(isnan(GET(r, "F1"))); /* 2*NaN*NaN/NaN */
	NEAR(GET(r, "RMSE"), 0.0);	  /* TP = 0 -> 0 */
	assert_int_equal(json_array_size(r.objects), 0);
	bia_metric_result_release(&r);

	/* empty prediction */
	put(&g, 2, 2, 0, 0, 1);
	put(&g, 12, 12, 0, 0, 1);
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 0, 2, 0);
	NEAR(GET(r, "RE"), 0.0);	  /* 0/(0+2) */
	assert_true(isnan(GET(r, "PR"))); /* 0/(0+0) */
	assert_true(isnan(GET(r, "F1"))); /* 2*0*NaN/(0+NaN) */
	NEAR(GET(r, "RMSE"), 0.0);
	check_objects(&r);
	bia_metric_result_release(&r);

	/* empty GT (swap the roles) */
	score_ok(&g, &p, 5, 1, &r);
	counts(&r, 0, 0, 2);
	assert_true(isnan(GET(r, "RE"))); /* 0/(0+0) */
	NEAR(GET(r, "PR"), 0.0);	  /* 0/(0+2) */
	assert_true(isnan(GET(r, "F1"))); /* 2*NaN*0/(NaN+0) */
	check_objects(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_gate_strict(void **state)
{
	(void)state;
	struct bia_image g = mk(64, 32, 1, 1), p = mk(64, 32, 1, 1);
	put(&g, 10, 10, 0, 0, 1);
	put(&p, 13, 14, 0, 0, 1); /* d = sqrt(3^2 + 4^2) = 5: not < 5 */
	put(&g, 30, 10, 0, 0, 1);
	put(&p, 34, 12, 0, 0, 1); /* d = sqrt(4^2 + 2^2) = sqrt(20) = 4.4721 < 5 */
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 1, 1, 1);
	NEAR(GET(r, "RE"), 0.5);	     /* 1/(1+1) */
	NEAR(GET(r, "PR"), 0.5);	     /* 1/(1+1) */
	NEAR(GET(r, "F1"), 0.5);	     /* 2*0.5*0.5/(0.5+0.5) */
	NEAR(GET(r, "RMSE"), sqrt(20.0)); /* sqrt(20/1) = 4.47213595499958 */
	check_objects(&r);
	bia_metric_result_release(&r);

	/* gate just above 5: the first pair is in too */
	score_ok(&p, &g, 5.000001, 0, &r);
	counts(&r, 2, 0, 0);
	NEAR(GET(r, "F1"), 1.0);		  /* 2*1*1/(1+1) */
	NEAR(GET(r, "RMSE"), sqrt(45.0 / 2)); /* sqrt((25 + 20)/2) = 4.743416490252569 */
	assert_true(json_real_value(json_object_get(r.params, "GATING_DIST")) == 5.000001);
	assert_null(r.objects);
	bia_metric_result_release(&r);

	/* gate 4: sqrt(20) = 4.47 is out as well; TP = 0 so RE = PR = 0 and
	 * F1 = 0/0 = NaN as the Java scorer */
	score_ok(&p, &g, 4, 0, &r);
	counts(&r, 0, 2, 2);
	NEAR(GET(r, "RE"), 0.0);	  /* 0/(0+2) */
	NEAR(GET(r, "PR"), 0.0);	  /* 0/(0+2) */
	assert_true(isnan(GET(r, "F1"))); /* 2*0*0/(0+0) */
	NEAR(GET(r, "RMSE"), 0.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_optimal_not_greedy(void **state)
{
	(void)state;
	/* on one row (y = 5), gate 5: GT A x=10, B x=14; pred P x=13, Q x=16.
	 * Greedy nearest pair first: B-P (1), then A-Q = 6 >= 5 infeasible:
	 * cost 1 + 5 (A unmatched) = 6, TP 1.
	 * Optimum: A-P (3) + B-Q (2) = 5 < 6, TP 2. */
	struct bia_image g = mk(32, 16, 1, 1), p = mk(32, 16, 1, 1);
	put(&g, 10, 5, 0, 0, 1);
	put(&g, 14, 5, 0, 0, 1);
	put(&p, 13, 5, 0, 0, 1);
	put(&p, 16, 5, 0, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 2, 0, 0);
	NEAR(GET(r, "RMSE"), sqrt(6.5)); /* sqrt((3^2 + 2^2)/2) = 2.5495097567963922 */
	json_t *a = json_array_get(r.objects, 0);
	assert_int_equal(json_integer_value(json_object_get(a, "match_index")), 0); /* A-P */
	assert_true(json_real_value(json_object_get(a, "distance")) == 3);
	check_objects(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_optimal_not_max_cardinality(void **state)
{
	(void)state;
	/* y = 10, gate 5: GT B x=6, A x=10; pred P x=10, Q x=14.
	 * d(A,P) = 0, d(A,Q) = 4, d(B,P) = 4, d(B,Q) = 8 (infeasible).
	 * {A-P} + B unmatched: 0 + 5 = 5;  {A-Q, B-P}: 4 + 4 = 8.
	 * The minimum pairs only A-P: TP 1, FN 1, FP 1 (as BIAFLOWS). */
	struct bia_image g = mk(32, 16, 1, 1), p = mk(32, 16, 1, 1);
	put(&g, 6, 10, 0, 0, 1);
	put(&g, 10, 10, 0, 0, 1);
	put(&p, 10, 10, 0, 0, 1);
	put(&p, 14, 10, 0, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 1, 1, 1);
	NEAR(GET(r, "RE"), 0.5);   /* 1/2 */
	NEAR(GET(r, "PR"), 0.5);   /* 1/2 */
	NEAR(GET(r, "F1"), 0.5);   /* 2*.5*.5/1 */
	NEAR(GET(r, "RMSE"), 0.0); /* sqrt(0/1) */
	check_objects(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_clusters(void **state)
{
	(void)state;
	/* Three independent groups in a 200x50 image, gate 5:
	 *  1. the optimal-vs-greedy chain of test_optimal_not_greedy at
	 *     y = 5: TP 2 with d = 3 and 2;
	 *  2. at x = 100: one GT, two preds at d = 1 (x+1) and d = 2 (y+2):
	 *     the nearer is paired, the other is FP;
	 *  3. a lone GT at (150,40) (FN) and a lone pred at (180,40) (FP).
	 * TP = 3, FN = 1, FP = 2. */
	struct bia_image g = mk(200, 50, 1, 1), p = mk(200, 50, 1, 1);
	put(&g, 10, 5, 0, 0, 1);
	put(&g, 14, 5, 0, 0, 1);
	put(&p, 13, 5, 0, 0, 1);
	put(&p, 16, 5, 0, 0, 1);
	put(&g, 100, 20, 0, 0, 1);
	put(&p, 101, 20, 0, 0, 1);
	put(&p, 100, 22, 0, 0, 1);
	put(&g, 150, 40, 0, 0, 1);
	put(&p, 180, 40, 0, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 3, 1, 2);
	NEAR(GET(r, "RE"), 0.75);			 /* 3/(3+1) */
	NEAR(GET(r, "PR"), 0.6);			 /* 3/(3+2) */
	NEAR(GET(r, "F1"), 2 * 0.75 * 0.6 / 1.35);	 /* 0.9/1.35 = 0.6666666666666666 */
	NEAR(GET(r, "RMSE"), sqrt((9.0 + 4.0 + 1.0) / 3)); /* sqrt(14/3) = 2.160246899469287 */
	check_objects(&r);
	/* pred records in raster order: (13,5) (16,5) (101,20) (100,22) (180,40) */
	json_t *o = json_array_get(r.objects, 4 + 3); /* after the 4 GT records */
	assert_int_equal(json_integer_value(json_object_get(o, "x")), 100);
	assert_string_equal(bia_json_str(o, "status", ""), "FP");
	o = json_array_get(r.objects, 4 + 2);
	assert_string_equal(bia_json_str(o, "status", ""), "TP");
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_3d_and_time(void **state)
{
	(void)state;
	/* Z: GT (5,5,2), pred (5,5,5): d = 3 < 5 -> TP; GT (12,12,1), pred
	 * (12,12,7): d = 6 -> FN + FP */
	struct bia_image g = mk(16, 16, 10, 1), p = mk(16, 16, 10, 1);
	put(&g, 5, 5, 2, 0, 1);
	put(&p, 5, 5, 5, 0, 1);
	put(&g, 12, 12, 1, 0, 1);
	put(&p, 12, 12, 7, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 1, 1, 1);
	NEAR(GET(r, "RMSE"), 3.0); /* sqrt(3^2/1) */
	json_t *o = json_array_get(r.objects, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "z")), 1); /* (12,12,1) first: z-major */
	check_objects(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);

	/* T: same position in different frames never matches (d = 0 but
	 * t differs); the pair in frame 1 matches at d = 1 */
	g = mk(16, 16, 1, 3);
	p = mk(16, 16, 1, 3);
	put(&g, 14, 2, 0, 0, 1);
	put(&p, 14, 2, 0, 1, 1);
	put(&g, 9, 9, 0, 1, 1);
	put(&p, 9, 10, 0, 1, 1);
	put(&g, 2, 2, 0, 2, 1);
	put(&p, 2, 2, 0, 0, 1);
	score_ok(&p, &g, 5, 1, &r);
	counts(&r, 1, 2, 2);
	NEAR(GET(r, "RE"), 1.0 / 3);  /* 1/(1+2) */
	NEAR(GET(r, "PR"), 1.0 / 3);  /* 1/(1+2) */
	NEAR(GET(r, "F1"), 1.0 / 3);  /* 2*(1/3)*(1/3)/(2/3) */
	NEAR(GET(r, "RMSE"), 1.0);    /* sqrt(1/1) */
	check_objects(&r);
	o = json_array_get(r.objects, 1); /* GT (9,9) in frame 1 */
	assert_int_equal(json_integer_value(json_object_get(o, "t")), 1);
	assert_string_equal(bia_json_str(o, "status", ""), "TP");
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_rmse(void **state)
{
	(void)state;
	/* three isolated pairs at d = 3, 4, sqrt(2):
	 * RMSE = sqrt((9 + 16 + 2)/3) = sqrt(9) = 3 */
	struct bia_image g = mk(100, 20, 1, 1), p = mk(100, 20, 1, 1);
	put(&g, 10, 10, 0, 0, 1);
	put(&p, 13, 10, 0, 0, 1);
	put(&g, 40, 5, 0, 0, 1);
	put(&p, 40, 9, 0, 0, 1);
	put(&g, 70, 10, 0, 0, 1);
	put(&p, 71, 11, 0, 0, 1);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 0, &r);
	counts(&r, 3, 0, 0);
	NEAR(GET(r, "RMSE"), 3.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Random scenes: the minimum of Σd + gate·FN found through the grid equals
 * the one found from all pairs. */
static void test_random_vs_all_pairs(void **state)
{
	(void)state;
	srand(7);
	for (int iter = 0; iter < 60; iter++) {
		size_t X = 40, Y = 30, Z = iter % 3 ? 1 : 4, T = 1 + iter % 2;
		struct bia_image g = mk(X, Y, Z, T), p = mk(X, Y, Z, T);
		for (int k = 0; k < 25; k++) {
			put(&g, rand() % X, rand() % Y, rand() % Z, rand() % T, 1);
			put(&p, rand() % X, rand() % Y, rand() % Z, rand() % T, 1 + rand() % 9);
		}
		double gate = 2 + iter % 5;
		struct bia_metric_result r;
		score_ok(&p, &g, gate, 1, &r);
		check_objects(&r);
		double got = 0;
		size_t i;
		json_t *o;
		json_array_foreach(r.objects, i, o)
		{
			if (strcmp(bia_json_str(o, "kind", ""), "gt"))
				continue;
			json_t *d = json_object_get(o, "distance");
			got += json_is_null(d) ? gate : json_real_value(d);
		}
		/* all pairs */
		double gx[200][4], px[200][4];
		size_t ng = 0, np = 0;
		for (size_t t = 0; t < T; t++)
			for (size_t z = 0; z < Z; z++)
				for (size_t y = 0; y < Y; y++)
					for (size_t x = 0; x < X; x++) {
						size_t idx = bia_image_index(&g, x, y, z, 0, t);
						double pt[4] = {(double)x, (double)y, (double)z, (double)t};
						if (bia_image_get(&g, idx))
							memcpy(gx[ng++], pt, sizeof(pt));
						if (bia_image_get(&p, idx))
							memcpy(px[np++], pt, sizeof(pt));
					}
		struct bia__assign_edge *e = calloc(ng * np + 1, sizeof(*e));
		double dummy[200];
		size_t ne = 0, re[200];
		for (size_t a = 0; a < ng; a++) {
			dummy[a] = gate;
			for (size_t b = 0; b < np; b++) {
				double d = bia__dist3(gx[a], px[b]);
				if (gx[a][3] == px[b][3] && d < gate)
					e[ne++] = (struct bia__assign_edge){a, b, d};
			}
		}
		assert_int_equal(bia__assign_sparse(ng, np, e, ne, dummy, re), 0);
		double want = 0;
		size_t tp = 0;
		for (size_t a = 0; a < ng; a++) {
			want += re[a] == SIZE_MAX ? gate : e[re[a]].cost;
			tp += re[a] != SIZE_MAX;
		}
		assert_true(fabs(got - want) < 1e-9);
		assert_true(GET(r, "TP") == (double)tp);
		free(e);
		bia_metric_result_release(&r);
		bia_image_release(&g);
		bia_image_release(&p);
	}
}

static void test_dtypes(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image g, p;
	bia_ctx_init(&ctx);
	bia_image_init(&g);
	bia_image_init(&p);
	assert_int_equal(bia_image_alloc(&ctx, &g, 8, 8, 1, 1, 1, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &p, 8, 8, 1, 1, 1, BIA_F32), 0);
	put(&g, 1, 1, 0, 0, 255);
	put(&p, 1, 2, 0, 0, 2);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 0, &r);
	counts(&r, 1, 0, 0);
	NEAR(GET(r, "RMSE"), 1.0); /* sqrt(1/1) */
	bia_metric_result_release(&r);
	/* a non-integer float is refused (bia_labels_u32) */
	put(&p, 3, 3, 0, 0, 0.5);
	assert_int_equal(score(&p, &g, 5, 0, &r, &ctx), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "prediction"));
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* A label mask scored as detections: every pixel is a detection (the
 * rule is kept), with a warning naming the side; points do not warn. */
static void test_label_mask_warning(void **state)
{
	(void)state;
	struct bia_image g = mk(10, 10, 1, 1), p = mk(10, 10, 1, 1);
	put(&g, 2, 2, 0, 0, 1);
	put(&g, 7, 7, 0, 0, 2);
	/* the prediction: one 2x2 object and one 1x3 object */
	put(&p, 2, 2, 0, 0, 1), put(&p, 3, 2, 0, 0, 1), put(&p, 2, 3, 0, 0, 1), put(&p, 3, 3, 0, 0, 1);
	put(&p, 7, 6, 0, 0, 2), put(&p, 7, 7, 0, 0, 2), put(&p, 7, 8, 0, 0, 2);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, 0, &r);
	counts(&r, 2, 0, 5); /* 7 detections: 2 matched, 5 false */
	/* touching pixels: (2,2) (3,2)... every pixel but the last of each run
	 * with a right or lower neighbour: 2x2 block 3, the column 2 */
	assert_int_equal(json_array_size(r.warnings), 1);
	const char *w = json_string_value(json_array_get(r.warnings, 0));
	assert_non_null(strstr(w, "the prediction has 5 non-zero pixels touching another"));
	assert_non_null(strstr(w, "every non-zero pixel counts as one detection"));
	bia_metric_result_release(&r);
	/* points only: no warning */
	score_ok(&g, &g, 5, 0, &r);
	assert_int_equal(json_array_size(r.warnings), 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_metric_result r;
	struct bia_image g = mk(16, 16, 1, 1), p = mk(16, 8, 1, 1);
	assert_int_equal(score(&p, &g, 5, 0, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "16x8"));  /* prediction shape */
	assert_non_null(strstr(ctx.msg, "16x16")); /* GT shape */
	bia_metric_result_release(&r);
	bia_image_release(&p);
	/* C > 1 */
	struct bia_image g3, p3;
	bia_image_init(&g3);
	bia_image_init(&p3);
	assert_int_equal(bia_image_alloc(&ctx, &g3, 8, 8, 1, 3, 1, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &p3, 8, 8, 1, 3, 1, BIA_U8), 0);
	assert_int_equal(score(&p3, &g3, 5, 0, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "channel"));
	bia_metric_result_release(&r);
	/* gate must be positive */
	p = mk(16, 16, 1, 1);
	assert_int_equal(score(&p, &g, 0, 0, &r, &ctx), BIA_EINVAL);
	bia_metric_result_release(&r);
	assert_int_equal(score(&p, &g, NAN, 0, &r, &ctx), BIA_EINVAL);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&g3);
	bia_image_release(&p3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perfect),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_gate_strict),
		cmocka_unit_test(test_optimal_not_greedy),
		cmocka_unit_test(test_optimal_not_max_cardinality),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_3d_and_time),
		cmocka_unit_test(test_rmse),
		cmocka_unit_test(test_random_vs_all_pairs),
		cmocka_unit_test(test_dtypes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_label_mask_warning),
	};
	return cmocka_run_group_tests_name("metrics_objdet", tests, NULL, NULL);
}
