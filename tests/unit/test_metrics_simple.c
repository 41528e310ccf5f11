/* SptCnt, PixCla and LndDet metrics on hand-computed cases, with their
 * per-object records, refusals and the decisions of METRICS.md.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

/* ------------------------------------------------------------- helpers */

#define NEAR(got, want) near_((got), (want), 1e-12, #got, __LINE__)
#define NEAR_EPS(got, want, eps) near_((got), (want), (eps), #got, __LINE__)
static void near_(double got, double want, double eps, const char *what, int line)
{
	int ok = isnan(want) ? isnan(got) : isinf(want) ? got == want : fabs(got - want) <= eps;
	if (!ok)
		fail_msg("line %d: %s = %.17g, expected %.17g", line, what, got, want);
}

static struct bia_image mkimg(size_t w, size_t h, size_t d, size_t t, enum bia_dtype dt)
{
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	bia_image_init(&img);
	if (bia_image_alloc(&ctx, &img, w, h, d, 1, t, dt))
		fail_msg("alloc: %s", ctx.msg);
	return img;
}

static void put(struct bia_image *img, size_t x, size_t y, size_t z, size_t t, double v)
{
	bia_image_set(img, bia_image_index(img, x, y, z, 0, t), v);
}

static struct bia_image from(size_t w, size_t h, const double *v)
{
	struct bia_image img = mkimg(w, h, 1, 1, BIA_U8);
	for (size_t i = 0; i < w * h; i++)
		bia_image_set(&img, i, v[i]);
	return img;
}

static int compute(enum bia_class cls, const struct bia_image *pred, const struct bia_image *gt,
		   const struct bia_metric_params *p, struct bia_metric_result *r, char *msg)
{
	struct bia_ctx ctx;
	struct bia_metric_input in;
	bia_ctx_init(&ctx);
	memset(&in, 0, sizeof(in));
	in.pred = pred;
	in.gt = gt;
	bia_metric_result_init(r, cls);
	int rc = bia_metrics_compute(&ctx, cls, &in, p, 1, r);
	if (msg)
		snprintf(msg, 1024, "%s", ctx.msg);
	return rc;
}

static void score(enum bia_class cls, const struct bia_image *pred, const struct bia_image *gt,
		  struct bia_metric_result *r)
{
	char msg[1024];
	if (compute(cls, pred, gt, NULL, r, msg))
		fail_msg("%s", msg);
}

#define M(code) bia_metric_get(&r, code)

static int has_text(json_t *arr, const char *sub)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (strstr(json_string_value(v), sub)) return 1;
	return 0;
}

/* Record number i (0-based) of the objects. */
static json_t *obj(const struct bia_metric_result *r, size_t i)
{
	json_t *o = json_array_get(r->objects, i);
	if (!o)
		fail_msg("no record %zu", i);
	return o;
}

static json_int_t geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *gets(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static size_t nstatus(const struct bia_metric_result *r, const char *kind, const char *status)
{
	size_t i, n = 0;
	json_t *o;
	json_array_foreach(r->objects, i, o) n += !strcmp(gets(o, "kind"), kind) &&
						  !strcmp(gets(o, "status"), status);
	return n;
}

/* ---------------------------------------------------------------- SptCnt */

static void test_sptcnt_rec(void **state)
{
	(void)state;
	struct bia_image g = mkimg(8, 8, 1, 1, BIA_U8), p = mkimg(8, 8, 1, 1, BIA_U8),
			 e = mkimg(8, 8, 1, 1, BIA_U8);
	put(&g, 1, 1, 0, 0, 1);
	put(&g, 5, 1, 0, 0, 255);
	put(&g, 3, 6, 0, 0, 7);
	put(&p, 1, 1, 0, 0, 1);
	put(&p, 2, 2, 0, 0, 1);
	put(&p, 6, 6, 0, 0, 1);
	put(&p, 7, 7, 0, 0, 1);
	struct bia_metric_result r;
	score(BIA_SPTCNT, &p, &g, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.codes[0], "REC");
	NEAR(M("REC"), 1.0 / 3.0); /* |4 - 3| / 3 */
	assert_int_equal(json_object_size(r.params), 0);
	assert_int_equal(json_array_size(r.warnings), 0);
	bia_metric_result_release(&r);

	score(BIA_SPTCNT, &e, &g, &r);
	NEAR(M("REC"), 1.0); /* |0 - 3| / 3 */
	assert_int_equal(nstatus(&r, "gt", "FN"), 3);
	bia_metric_result_release(&r);

	score(BIA_SPTCNT, &g, &g, &r);
	NEAR(M("REC"), 0.0); /* |3 - 3| / 3 */
	assert_int_equal(nstatus(&r, "gt", "TP"), 3);
	bia_metric_result_release(&r);

	/* decision 6: empty GT -> NaN with a warning */
	score(BIA_SPTCNT, &p, &e, &r);
	NEAR(M("REC"), NAN);
	assert_true(has_text(r.warnings, "no spot"));
	assert_true(has_text(r.deviations, "SptCnt/empty-gt"));
	assert_int_equal(nstatus(&r, "pred", "FP"), 4);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&e);
}

/* Optimal assignment: fewer matches can be cheaper (max weight, not max
 * cardinality), and d == gate is not a match. */
static void test_sptcnt_matching(void **state)
{
	(void)state;
	struct bia_image g = mkimg(16, 12, 1, 1, BIA_U16), p = mkimg(16, 12, 1, 1, BIA_U16);
	/* r1 = (4,2), r2 = (9,4); c1 = (5,2): d(r1,c1) = 1, d(r2,c1) = sqrt(16+4);
	 * c2 = (0,0): d(r1,c2) = sqrt(16+4), d(r2,c2) = sqrt(81+16) > 5.
	 * {r1-c1, r2 unmatched} = 1 + 5 = 6 < {r1-c2, r2-c1} = 2 sqrt 20 = 8.94 */
	put(&g, 4, 2, 0, 0, 1);
	put(&g, 9, 4, 0, 0, 1);
	put(&p, 5, 2, 0, 0, 1);
	put(&p, 0, 0, 0, 0, 1);
	/* r3 = (10,10), c3 = (15,10): d = 5 = gate, not < gate */
	put(&g, 10, 10, 0, 0, 1);
	put(&p, 15, 10, 0, 0, 1);
	struct bia_metric_result r;
	score(BIA_SPTCNT, &p, &g, &r);
	NEAR(M("REC"), 0.0); /* |3 - 3| / 3 */
	assert_int_equal(json_array_size(r.objects), 6);
	/* GT records in raster order: (4,2), (9,4), (10,10) */
	json_t *o = obj(&r, 0);
	assert_string_equal(gets(o, "kind"), "gt");
	assert_int_equal(geti(o, "x"), 4);
	assert_int_equal(geti(o, "y"), 2);
	assert_string_equal(gets(o, "status"), "TP");
	assert_int_equal(geti(o, "match_index"), 1); /* pred 1 (0-based, raster order) is (5,2) */
	NEAR(json_real_value(json_object_get(o, "distance")), 1.0);
	o = obj(&r, 1);
	assert_string_equal(gets(o, "status"), "FN");
	assert_true(json_is_null(json_object_get(o, "match_index")));
	assert_true(json_is_null(json_object_get(o, "distance")));
	assert_string_equal(gets(obj(&r, 2), "status"), "FN"); /* d = 5: not < 5 */
	/* predictions: (0,0) FP, (5,2) TP, (15,10) FP */
	o = obj(&r, 3);
	assert_string_equal(gets(o, "kind"), "pred");
	assert_int_equal(geti(o, "x"), 0);
	assert_string_equal(gets(o, "status"), "FP");
	o = obj(&r, 4);
	assert_string_equal(gets(o, "status"), "TP");
	assert_int_equal(geti(o, "match_index"), 0);
	NEAR(json_real_value(json_object_get(o, "distance")), 1.0);
	assert_int_equal(nstatus(&r, "pred", "FP"), 2);
	bia_metric_result_release(&r);

	/* gating_dist = 5.5: (10,10)-(15,10) now matches; r2 still better
	 * unmatched: 1 + 5.5 = 6.5 < 8.94 */
	struct bia_metric_params par;
	bia_metric_params_init(&par);
	par.gating_dist = 5.5;
	char msg[1024];
	assert_int_equal(compute(BIA_SPTCNT, &p, &g, &par, &r, msg), 0);
	assert_int_equal(nstatus(&r, "gt", "TP"), 2);
	NEAR(json_real_value(json_object_get(obj(&r, 2), "distance")), 5.0);
	assert_int_equal(json_object_size(r.params), 0); /* no params for SptCnt */
	bia_metric_result_release(&r);

	/* gating_dist = 10: r1-c2 + r2-c1 + r3-c3 = 2 sqrt 20 + 5 = 13.94 beats
	 * r1-c1 + r2-c2 + r3-c3 = 1 + sqrt 97 + 5 = 15.85 and every assignment
	 * leaving a point unmatched (+10 each) */
	par.gating_dist = 10;
	assert_int_equal(compute(BIA_SPTCNT, &p, &g, &par, &r, msg), 0);
	assert_int_equal(nstatus(&r, "gt", "TP"), 3);
	NEAR(json_real_value(json_object_get(obj(&r, 0), "distance")), sqrt(20.0));
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Spots in different frames never match; 3D distances. */
static void test_sptcnt_frames_3d(void **state)
{
	(void)state;
	struct bia_image g = mkimg(4, 4, 1, 2, BIA_U8), p = mkimg(4, 4, 1, 2, BIA_U8);
	put(&g, 1, 1, 0, 0, 1);
	put(&p, 1, 1, 0, 1, 1);
	struct bia_metric_result r;
	score(BIA_SPTCNT, &p, &g, &r);
	NEAR(M("REC"), 0.0);
	assert_int_equal(nstatus(&r, "gt", "FN"), 1);
	assert_int_equal(nstatus(&r, "pred", "FP"), 1);
	assert_int_equal(geti(obj(&r, 1), "t"), 1);
	bia_metric_result_release(&r);
	/* even with a huge gate: frames apart never match */
	struct bia_metric_params par;
	bia_metric_params_init(&par);
	par.gating_dist = 1e300;
	char msg[1024];
	assert_int_equal(compute(BIA_SPTCNT, &p, &g, &par, &r, msg), 0);
	assert_int_equal(nstatus(&r, "gt", "FN"), 1);
	assert_int_equal(geti(obj(&r, 1), "t"), 1);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);

	struct bia_image g3 = mkimg(5, 5, 5, 1, BIA_U8), p3 = mkimg(5, 5, 5, 1, BIA_U8);
	put(&g3, 0, 0, 0, 0, 1);
	put(&p3, 1, 2, 2, 0, 1); /* d = sqrt(1+4+4) = 3 */
	score(BIA_SPTCNT, &p3, &g3, &r);
	NEAR(json_real_value(json_object_get(obj(&r, 0), "distance")), 3.0);
	assert_int_equal(geti(obj(&r, 1), "z"), 2);
	bia_metric_result_release(&r);
	bia_image_release(&g3);
	bia_image_release(&p3);
}

/* Against brute force: the optimal cost over all assignments on small
 * random sets equals the cost of ours. */
static double best_cost(const int (*g)[2], size_t ng, const int (*p)[2], size_t np, size_t i,
			unsigned used, double gate)
{
	if (i == ng)
		return 0;
	double best = gate + best_cost(g, ng, p, np, i + 1, used, gate);
	for (size_t j = 0; j < np; j++) {
		if (used & (1u << j))
			continue;
		double d = hypot(g[i][0] - p[j][0], g[i][1] - p[j][1]);
		if (d < gate) {
			double c = d + best_cost(g, ng, p, np, i + 1, used | (1u << j), gate);
			best = c < best ? c : best;
		}
	}
	return best;
}

static void test_sptcnt_random(void **state)
{
	(void)state;
	srand(11);
	for (int it = 0; it < 30; it++) {
		struct bia_image g = mkimg(14, 14, 1, 1, BIA_U8), p = mkimg(14, 14, 1, 1, BIA_U8);
		int gp[7][2], pp[7][2];
		size_t ng = 0, np = 0;
		for (int k = 0; k < 7; k++) {
			int x = rand() % 14, y = rand() % 14;
			if (bia_image_get(&g, bia_image_index(&g, x, y, 0, 0, 0)) == 0) {
				put(&g, x, y, 0, 0, 1);
			}
			x = rand() % 14, y = rand() % 14;
			if (bia_image_get(&p, bia_image_index(&p, x, y, 0, 0, 0)) == 0)
				put(&p, x, y, 0, 0, 1);
		}
		for (int y = 0; y < 14; y++)
			for (int x = 0; x < 14; x++) {
				if (bia_image_get(&g, bia_image_index(&g, x, y, 0, 0, 0)) != 0) {
					gp[ng][0] = x;
					gp[ng++][1] = y;
				}
				if (bia_image_get(&p, bia_image_index(&p, x, y, 0, 0, 0)) != 0) {
					pp[np][0] = x;
					pp[np++][1] = y;
				}
			}
		struct bia_metric_result r;
		score(BIA_SPTCNT, &p, &g, &r);
		double cost = 0;
		size_t i;
		json_t *o;
		json_array_foreach(r.objects, i, o) if (!strcmp(gets(o, "kind"), "gt")) cost +=
			!strcmp(gets(o, "status"), "TP") ? json_real_value(json_object_get(o, "distance")) : 5.0;
		NEAR_EPS(cost, best_cost(gp, ng, pp, np, 0, 0, 5.0), 1e-9);
		assert_int_equal(nstatus(&r, "gt", "TP"), nstatus(&r, "pred", "TP"));
		bia_metric_result_release(&r);
		bia_image_release(&g);
		bia_image_release(&p);
	}
}

/* ---------------------------------------------------------------- PixCla */

static void test_pixcla_three_classes(void **state)
{
	(void)state;
	/* class 2 is absent from the prediction */
	const double gv[] = {0, 0, 0, 1, /**/ 1, 1, 2, 2};
	const double pv[] = {0, 0, 1, 1, /**/ 1, 1, 1, 0};
	struct bia_image g = from(4, 2, gv), p = from(4, 2, pv);
	struct bia_metric_result r;
	score(BIA_PIXCLA, &p, &g, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.codes[0], "ACC");
	assert_string_equal(r.codes[1], "F1");
	assert_string_equal(r.codes[2], "PR");
	assert_string_equal(r.codes[3], "RE");
	/* class 0: S 3, P 3, TP 2: pr 2/3, re 2/3, f1 2/3
	 * class 1: S 3, P 5, TP 3: pr 3/5, re 1, f1 2*0.6/1.6 = 0.75
	 * class 2: S 2, P 0, TP 0: pr 0, re 0, f1 0 */
	NEAR(M("ACC"), 5.0 / 8.0);		  /* (2+3+0)/8 */
	NEAR(M("PR"), (3 * (2.0 / 3) + 3 * 0.6) / 8); /* 3.8/8 = 0.475 */
	NEAR(M("RE"), 5.0 / 8.0);		  /* (3*2/3 + 3*1 + 0)/8 */
	NEAR(M("F1"), (2.0 + 3 * 0.75) / 8);	  /* 4.25/8 = 0.53125 */
	assert_true(M("RE") == M("ACC"));	  /* decision 13 */
	assert_int_equal(json_object_size(r.params), 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_pixcla_pred_only_class(void **state)
{
	(void)state;
	const double gv[] = {0, 0, 1, 1};
	const double pv[] = {0, 3, 1, 1};
	struct bia_image g = from(2, 2, gv), p = from(2, 2, pv);
	struct bia_metric_result r;
	score(BIA_PIXCLA, &p, &g, &r);
	/* class 0: S 2, P 1, TP 1: pr 1, re 0.5, f1 2/3; class 1: all 1;
	 * class 3: S 0 (weight 0), P 1 */
	NEAR(M("ACC"), 0.75);			    /* 3/4 */
	NEAR(M("PR"), 1.0);			    /* (2*1 + 2*1)/4 */
	NEAR(M("RE"), 0.75);			    /* (2*0.5 + 2*1)/4 */
	NEAR(M("F1"), (2 * (2.0 / 3) + 2 * 1.0) / 4); /* 10/12 */
	bia_metric_result_release(&r);

	/* perfect */
	score(BIA_PIXCLA, &g, &g, &r);
	NEAR(M("ACC"), 1.0);
	NEAR(M("F1"), 1.0);
	NEAR(M("PR"), 1.0);
	NEAR(M("RE"), 1.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* RE equals ACC (up to the last bit) on random 16-bit class maps, any
 * number of classes; mixed sample types. */
static void test_pixcla_re_is_acc(void **state)
{
	(void)state;
	srand(5);
	for (int it = 0; it < 5; it++) {
		struct bia_image g = mkimg(37, 29, 1, 1, BIA_U16), p = mkimg(37, 29, 1, 1, BIA_U8);
		int nc = 2 + it * 7;
		for (size_t i = 0; i < 37 * 29; i++) {
			int c = rand() % nc;
			bia_image_set(&g, i, c);
			bia_image_set(&p, i, rand() % 3 ? c : rand() % nc);
		}
		struct bia_metric_result r;
		score(BIA_PIXCLA, &p, &g, &r);
		NEAR_EPS(M("RE"), M("ACC"), 1e-15);
		assert_true(M("ACC") > 0.5);
		bia_metric_result_release(&r);
		bia_image_release(&g);
		bia_image_release(&p);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	char msg[1024];
	struct bia_metric_result r;
	struct bia_image a = mkimg(4, 3, 1, 1, BIA_U8), b = mkimg(4, 3, 2, 1, BIA_U8);
	enum bia_class cls[] = {BIA_SPTCNT, BIA_PIXCLA, BIA_LNDDET};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(compute(cls[k], &a, &b, NULL, &r, msg), BIA_ESHAPE);
		assert_non_null(strstr(msg, "4x3"));
		assert_non_null(strstr(msg, "4x3x2"));
		bia_metric_result_release(&r);
	}
	struct bia_ctx ctx;
	struct bia_image c1, c2;
	bia_ctx_init(&ctx);
	bia_image_init(&c1);
	bia_image_init(&c2);
	assert_int_equal(bia_image_alloc(&ctx, &c1, 4, 3, 1, 3, 1, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &c2, 4, 3, 1, 3, 1, BIA_U8), 0);
	assert_int_equal(compute(BIA_PIXCLA, &c1, &c2, NULL, &r, msg), BIA_ESHAPE);
	assert_non_null(strstr(msg, "C=3"));
	bia_metric_result_release(&r);
	/* non-integer classes are refused */
	struct bia_image f = mkimg(4, 3, 1, 1, BIA_F32);
	bia_image_set(&f, 2, 0.5);
	assert_int_equal(compute(BIA_PIXCLA, &f, &a, NULL, &r, msg), BIA_EFORMAT);
	bia_metric_result_release(&r);
	assert_int_equal(compute(BIA_LNDDET, &a, &f, NULL, &r, msg), BIA_EFORMAT);
	bia_metric_result_release(&r);
	/* SptCnt counts any non-zero value, 0.5 included */
	assert_int_equal(compute(BIA_SPTCNT, &f, &f, NULL, &r, msg), 0);
	NEAR(bia_metric_get(&r, "REC"), 0.0);
	bia_metric_result_release(&r);
	bia_image_release(&a);
	bia_image_release(&b);
	bia_image_release(&c1);
	bia_image_release(&c2);
	bia_image_release(&f);
}

/* ---------------------------------------------------------------- LndDet */

/* GT: 1 at (1,1); 2 at (5,5), (8,8); 3 at (0,9). */
static struct bia_image lnd_gt(void)
{
	struct bia_image g = mkimg(10, 10, 1, 1, BIA_U8);
	put(&g, 1, 1, 0, 0, 1);
	put(&g, 5, 5, 0, 0, 2);
	put(&g, 8, 8, 0, 0, 2);
	put(&g, 0, 9, 0, 0, 3);
	return g;
}

static void test_lnddet(void **state)
{
	(void)state;
	struct bia_image g = lnd_gt(), p = mkimg(10, 10, 1, 1, BIA_U8);
	put(&p, 1, 2, 0, 0, 1); /* 1 from (1,1) */
	put(&p, 5, 7, 0, 0, 2); /* nearest (5,5): 2 */
	put(&p, 8, 8, 0, 0, 2); /* 0 */
	put(&p, 3, 5, 0, 0, 3); /* from (0,9): sqrt(9+16) = 5 */
	struct bia_metric_result r;
	score(BIA_LNDDET, &p, &g, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.codes[0], "NREF");
	assert_string_equal(r.codes[2], "MRE");
	NEAR(M("NREF"), 4.0);
	NEAR(M("NPRED"), 4.0);
	NEAR(M("MRE"), (1.0 + (2.0 + 0.0) / 2 + 5.0) / 3); /* (1 + 1 + 5)/3 = 7/3 */
	assert_int_equal(json_array_size(r.warnings), 0);
	/* records: by class, then raster order */
	assert_int_equal(json_array_size(r.objects), 4);
	json_t *o = obj(&r, 1);
	assert_int_equal(geti(o, "class"), 2);
	assert_int_equal(geti(o, "x"), 5);
	assert_int_equal(geti(o, "y"), 7);
	json_t *ng = json_object_get(o, "nearest_gt");
	assert_int_equal(json_integer_value(json_array_get(ng, 0)), 5);
	assert_int_equal(json_integer_value(json_array_get(ng, 1)), 5);
	assert_int_equal(json_integer_value(json_array_get(ng, 2)), 0);
	NEAR(json_real_value(json_object_get(o, "distance")), 2.0);
	NEAR(json_real_value(json_object_get(obj(&r, 3), "distance")), 5.0);
	bia_metric_result_release(&r);
	bia_image_release(&p);

	/* class 3 missing from the prediction: MRE_3 = NaN -> MRE NaN */
	p = mkimg(10, 10, 1, 1, BIA_U8);
	put(&p, 1, 2, 0, 0, 1);
	put(&p, 5, 7, 0, 0, 2);
	score(BIA_LNDDET, &p, &g, &r);
	NEAR(M("NREF"), 4.0);
	NEAR(M("NPRED"), 2.0);
	NEAR(M("MRE"), NAN);
	assert_true(has_text(r.warnings, "class 3 has no predicted point"));
	assert_int_equal(json_array_size(r.objects), 2);
	bia_metric_result_release(&r);

	/* classes 1..4 predicted, 4 only in the prediction: MRE_4 = inf */
	put(&p, 3, 5, 0, 0, 3);
	put(&p, 0, 0, 0, 0, 4);
	score(BIA_LNDDET, &p, &g, &r);
	NEAR(M("NPRED"), 4.0);
	NEAR(M("MRE"), INFINITY); /* (1 + 2 + 5 + inf)/4 */
	assert_true(has_text(r.warnings, "class 4 only in the prediction"));
	o = obj(&r, 0); /* class 4 sorts last: record 0 is class 1 */
	assert_int_equal(geti(o, "class"), 1);
	o = obj(&r, 3);
	assert_int_equal(geti(o, "class"), 4);
	assert_true(json_is_null(json_object_get(o, "nearest_gt")));
	assert_string_equal(gets(o, "distance"), "inf");
	bia_metric_result_release(&r);

	/* both: class 5 only in GT-less prediction and class 3 missing -> NaN */
	struct bia_image q = mkimg(10, 10, 1, 1, BIA_U8);
	put(&q, 1, 1, 0, 0, 1);
	put(&q, 5, 5, 0, 0, 2);
	put(&q, 2, 2, 0, 0, 5);
	score(BIA_LNDDET, &q, &g, &r);
	NEAR(M("MRE"), NAN); /* NaN wins over inf, as numpy */
	assert_true(has_text(r.warnings, "class 3, 4 have no predicted point"));
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&q);
}

static void test_lnddet_3d_and_empty(void **state)
{
	(void)state;
	struct bia_image g = mkimg(4, 4, 4, 1, BIA_U16), p = mkimg(4, 4, 4, 1, BIA_U16);
	put(&g, 0, 0, 0, 0, 1);
	put(&g, 3, 3, 3, 0, 1);
	put(&p, 1, 2, 2, 0, 1); /* to (0,0,0): 3; to (3,3,3): sqrt(4+1+1) */
	struct bia_metric_result r;
	score(BIA_LNDDET, &p, &g, &r);
	NEAR(M("MRE"), sqrt(6.0)); /* min(3, sqrt 6) */
	json_t *ng = json_object_get(obj(&r, 0), "nearest_gt");
	assert_int_equal(json_integer_value(json_array_get(ng, 2)), 3);
	bia_metric_result_release(&r);
	bia_image_release(&p);

	/* nothing anywhere: K = 0, mean of nothing */
	struct bia_image e = mkimg(4, 4, 4, 1, BIA_U16), e2 = mkimg(4, 4, 4, 1, BIA_U16);
	score(BIA_LNDDET, &e, &e2, &r);
	NEAR(M("NREF"), 0.0);
	NEAR(M("NPRED"), 0.0);
	NEAR(M("MRE"), NAN);
	assert_true(has_text(r.warnings, "no landmark"));
	bia_metric_result_release(&r);

	/* empty prediction: class 1 has no predicted point */
	score(BIA_LNDDET, &e, &g, &r);
	NEAR(M("NREF"), 2.0);
	NEAR(M("MRE"), NAN);
	bia_metric_result_release(&r);

	/* time frames are an axis of the index space: (1,1,t0) to (1,1,t2) = 2 */
	struct bia_image gt = mkimg(3, 3, 1, 3, BIA_U8), pt = mkimg(3, 3, 1, 3, BIA_U8);
	put(&gt, 1, 1, 0, 0, 1);
	put(&pt, 1, 1, 0, 2, 1);
	score(BIA_LNDDET, &pt, &gt, &r);
	NEAR(M("MRE"), 2.0);
	assert_int_equal(geti(obj(&r, 0), "t"), 2);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&e);
	bia_image_release(&e2);
	bia_image_release(&gt);
	bia_image_release(&pt);
}

/* The k-d tree against brute force (nearest with ties to the smallest
 * index, and radius queries). */
static void count_cb(void *arg, size_t i, double d2)
{
	(void)i;
	(void)d2;
	(*(size_t *)arg)++;
}

static void test_kdtree(void **state)
{
	(void)state;
	srand(3);
	double pts[300 * 4];
	for (int i = 0; i < 300 * 4; i++)
		pts[i] = (double)(rand() % 20); /* many duplicates and ties */
	struct bia__kdtree kd;
	assert_int_equal(bia__kd_build(&kd, pts, 300, 4), 0);
	for (int q = 0; q < 200; q++) {
		double qq[4] = {rand() % 22 - 1, rand() % 22 - 1, rand() % 22 - 1, rand() % 22 - 1};
		double bd = INFINITY, d2;
		size_t bi = 0, within = 0, want_within = 0;
		for (size_t i = 0; i < 300; i++) {
			double s = 0;
			for (int d = 0; d < 4; d++)
				s += (pts[4 * i + d] - qq[d]) * (pts[4 * i + d] - qq[d]);
			if (s < bd) {
				bd = s;
				bi = i;
			}
			want_within += s < 100;
		}
		assert_int_equal(bia__kd_nearest(&kd, qq, &d2), bi);
		assert_true(d2 == bd);
		bia__kd_within(&kd, qq, 100, count_cb, &within);
		assert_int_equal(within, want_within);
	}
	bia__kd_release(&kd);
	assert_int_equal(bia__kd_build(&kd, pts, 0, 4), 0);
	double d2;
	assert_true(bia__kd_nearest(&kd, pts, &d2) == (size_t)-1);
	assert_true(isinf(d2));
	bia__kd_release(&kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sptcnt_rec),
		cmocka_unit_test(test_sptcnt_matching),
		cmocka_unit_test(test_sptcnt_frames_3d),
		cmocka_unit_test(test_sptcnt_random),
		cmocka_unit_test(test_pixcla_three_classes),
		cmocka_unit_test(test_pixcla_pred_only_class),
		cmocka_unit_test(test_pixcla_re_is_acc),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_lnddet),
		cmocka_unit_test(test_lnddet_3d_and_empty),
		cmocka_unit_test(test_kdtree),
	};
	return cmocka_run_group_tests_name("metrics_simple", tests, NULL, NULL);
}
