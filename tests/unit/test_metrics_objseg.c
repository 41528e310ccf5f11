/* ObjSeg metrics on hand-computed cases: DC, AHD, FOVL, mAP and the
 * extras JI, AP50, PQ, CTC_SEG; label normalisation, decisions, per-object
 * records; AHD against brute force.
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

/* got == want within eps; NaN only equals NaN, infinities exactly. */
#define NEAR(got, want) near_((got), (want), 1e-12, #got, __LINE__)
#define NEAR_EPS(got, want, eps) near_((got), (want), (eps), #got, __LINE__)
static void near_(double got, double want, double eps, const char *what, int line)
{
	int ok = isnan(want) ? isnan(got) : isinf(want) ? got == want : fabs(got - want) <= eps;
	if (!ok)
		fail_msg("line %d: %s = %.17g, expected %.17g", line, what, got, want);
}

/* A w x h x d image of dtype dt from values, x fastest. */
static struct bia_image mkimg(size_t w, size_t h, size_t d, size_t t, enum bia_dtype dt,
			      const double *v)
{
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	bia_image_init(&img);
	if (bia_image_alloc(&ctx, &img, w, h, d, 1, t, dt))
		fail_msg("alloc: %s", ctx.msg);
	if (v)
		for (size_t i = 0; i < w * h * d * t; i++)
			bia_image_set(&img, i, v[i]);
	return img;
}

static struct bia_image img2(size_t w, size_t h, const double *v)
{
	return mkimg(w, h, 1, 1, BIA_U16, v);
}

/* Score and keep the per-object records; fails the test on error. */
static void score(const struct bia_image *pred, const struct bia_image *gt,
		  struct bia_metric_result *r)
{
	struct bia_ctx ctx;
	struct bia_metric_input in;
	bia_ctx_init(&ctx);
	memset(&in, 0, sizeof(in));
	in.pred = pred;
	in.gt = gt;
	bia_metric_result_init(r, BIA_OBJSEG);
	if (bia_metrics_compute(&ctx, BIA_OBJSEG, &in, NULL, 1, r))
		fail_msg("objseg: %s", ctx.msg);
}

static int refused(const struct bia_image *pred, const struct bia_image *gt, char *msg,
		   size_t msgsz)
{
	struct bia_ctx ctx;
	struct bia_metric_input in;
	struct bia_metric_result r;
	bia_ctx_init(&ctx);
	memset(&in, 0, sizeof(in));
	in.pred = pred;
	in.gt = gt;
	bia_metric_result_init(&r, BIA_OBJSEG);
	int rc = bia_metrics_compute(&ctx, BIA_OBJSEG, &in, NULL, 0, &r);
	snprintf(msg, msgsz, "%s", ctx.msg);
	bia_metric_result_release(&r);
	return rc;
}

#define M(code) bia_metric_get(&r, code)

static int has_text(json_t *arr, const char *sub)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (strstr(json_string_value(v), sub)) return 1;
	return 0;
}

/* Records of a kind ("gt"/"pred") with a status (NULL: any). */
static size_t nrec(const struct bia_metric_result *r, const char *kind, const char *status)
{
	size_t i, n = 0;
	json_t *o;
	json_array_foreach(r->objects, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "kind")), kind))
			continue;
		if (!status || !strcmp(json_string_value(json_object_get(o, "status")), status))
			n++;
	}
	return n;
}

static json_t *rec(const struct bia_metric_result *r, const char *kind, json_int_t id)
{
	size_t i;
	json_t *o;
	json_array_foreach(r->objects, i, o) if (!strcmp(json_string_value(json_object_get(o, "kind")),
							 kind) &&
						 json_integer_value(json_object_get(o, "id")) == id) return o;
	fail_msg("no %s record with id %d", kind, (int)id);
	return NULL;
}

static int flag(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* The per-object counts must be the AP50 counts: TP records on both sides,
 * AP50 = TP/(TP+FP+FN), PQ's denominator. */
static void check_counts(const struct bia_metric_result *rr)
{
	const struct bia_metric_result *r0 = rr;
	size_t tp = nrec(r0, "gt", "TP"), fn = nrec(r0, "gt", "FN"), fp = nrec(r0, "pred", "FP");
	assert_int_equal(tp, nrec(r0, "pred", "TP"));
	double ap = tp + fp + fn ? (double)tp / (double)(tp + fp + fn) : 1.0;
	NEAR(bia_metric_get(r0, "AP50"), ap);
}

/* mAP expected from the per-threshold TP/FP/FN, as METRICS.md §3.4. */
static double map_of(const size_t tp[10], size_t ng, size_t np)
{
	double s = 0;
	for (int k = 0; k < 10; k++)
		s += (double)tp[k] / ((double)(tp[k] + (np - tp[k]) + (ng - tp[k])) + 1e-9);
	return s / 10;
}

/* two objects: 1 = 2x2 square, 2 = 3x2 block */
static const double two_obj[] = {
	1, 1, 0, 0, 0, 0, /**/
	1, 1, 0, 0, 0, 0, /**/
	0, 0, 0, 2, 2, 2, /**/
	0, 0, 0, 2, 2, 2,
};

/* ---------------------------------------------------------------- cases */

static void test_perfect(void **state)
{
	(void)state;
	struct bia_image g = img2(6, 4, two_obj), p = img2(6, 4, two_obj);
	struct bia_metric_result r;
	score(&p, &g, &r);
	assert_int_equal(r.n, 8);
	/* the class's table order */
	assert_string_equal(r.codes[0], "DC");
	assert_string_equal(r.codes[1], "AHD");
	assert_string_equal(r.codes[2], "FOVL");
	assert_string_equal(r.codes[3], "mAP");
	assert_string_equal(r.codes[4], "JI");
	assert_string_equal(r.codes[7], "CTC_SEG");
	NEAR(M("DC"), 1.0);  /* 2*10/(10+10) */
	NEAR(M("AHD"), 0.0); /* every voxel of each set is in the other */
	NEAR(M("FOVL"), 1.0); /* (4/4 + 6/6)/2 */
	/* every threshold: TP = 2, FP = FN = 0: 2/(2+1e-9) each */
	double want = 0;
	for (int k = 0; k < 10; k++)
		want += 2.0 / (2.0 + 1e-9);
	want /= 10;
	NEAR_EPS(M("mAP"), want, 1e-15);
	assert_true(M("mAP") < 1.0); /* 0.99999999950000... not 1 */
	NEAR(M("JI"), 1.0);	     /* 10/10 */
	NEAR(M("AP50"), 1.0);	     /* 2/(2+0+0) */
	NEAR(M("PQ"), 1.0);	     /* (1+1)/(2+0+0) */
	NEAR(M("CTC_SEG"), 1.0);     /* (1+1)/2 */
	assert_int_equal(json_array_size(r.warnings), 0);
	assert_int_equal(json_array_size(r.deviations), 0);
	assert_int_equal(json_object_size(r.params), 0);
	/* 2 GT + 2 predicted records, all TP */
	assert_int_equal(json_array_size(r.objects), 4);
	assert_int_equal(nrec(&r, "gt", "TP"), 2);
	json_t *o = rec(&r, "gt", 2);
	assert_int_equal(json_integer_value(json_object_get(o, "match")), 2);
	NEAR(json_real_value(json_object_get(o, "iou")), 1.0);
	assert_int_equal(json_integer_value(json_object_get(o, "area")), 6);
	/* object 2 = x 3..5, y 2..3: centroid (4, 2.5, 0), bbox inclusive */
	json_t *c = json_object_get(o, "centroid"), *b = json_object_get(o, "bbox");
	NEAR(json_real_value(json_array_get(c, 0)), 4.0);
	NEAR(json_real_value(json_array_get(c, 1)), 2.5);
	NEAR(json_real_value(json_array_get(c, 2)), 0.0);
	static const int want_box[6] = {3, 2, 0, 5, 3, 0};
	for (int k = 0; k < 6; k++)
		assert_int_equal(json_integer_value(json_array_get(b, (size_t)k)), want_box[k]);
	/* object 1 = x 0..1, y 0..1: centroid (0.5, 0.5) */
	o = rec(&r, "pred", 1);
	c = json_object_get(o, "centroid");
	NEAR(json_real_value(json_array_get(c, 0)), 0.5);
	NEAR(json_real_value(json_array_get(c, 1)), 0.5);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "bbox"), 3)), 1);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_perfect_mAP_formula(void **state)
{
	(void)state;
	/* one object: mAP = mean of 1/(1+1e-9) = 0.999999999000000... */
	const double v[] = {0, 1, 1, 0};
	struct bia_image g = img2(2, 2, v), p = img2(2, 2, v);
	struct bia_metric_result r;
	score(&p, &g, &r);
	double want = 0;
	for (int k = 0; k < 10; k++)
		want += 1.0 / (1.0 + 1e-9);
	NEAR_EPS(M("mAP"), want / 10, 1e-15);
	NEAR_EPS(M("mAP"), 0.999999999, 1e-15); /* 1/(1+1e-9) = 1 - 1e-9 + 1e-18 */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_empty_prediction(void **state)
{
	(void)state;
	struct bia_image g = img2(6, 4, two_obj), p = img2(6, 4, NULL);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 0.0);    /* decision 5 */
	NEAR(M("AHD"), NAN);   /* decision 5 */
	NEAR(M("FOVL"), 0.0);  /* no prediction inside any GT object: (0+0)/2 */
	NEAR(M("mAP"), 0.0);   /* TP = 0 at every threshold: 0/(0+0+2+1e-9) */
	NEAR(M("JI"), 0.0);    /* 0/10 */
	NEAR(M("AP50"), 0.0);  /* 0/(0+0+2) */
	NEAR(M("PQ"), 0.0);    /* 0/(0+0+2/2) */
	NEAR(M("CTC_SEG"), 0.0); /* no S covers > half of any R: (0+0)/2 */
	assert_true(has_text(r.warnings, "prediction has no foreground"));
	assert_int_equal(nrec(&r, "gt", "FN"), 2);
	assert_int_equal(nrec(&r, "pred", NULL), 0);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_empty_gt(void **state)
{
	(void)state;
	const double pv[] = {0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};
	struct bia_image g = img2(4, 3, NULL), p = img2(4, 3, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 0.0);	 /* decision 5 */
	NEAR(M("AHD"), NAN);	 /* decision 5 */
	NEAR(M("FOVL"), NAN);	 /* decision 6: ZeroDivisionError in BIAFLOWS */
	NEAR(M("mAP"), 0.0);	 /* TP = 0, FP = 1: 0/(1+1e-9) */
	NEAR(M("JI"), 0.0);	 /* 0/2 */
	NEAR(M("AP50"), 0.0);	 /* 0/(0+1+0) */
	NEAR(M("PQ"), 0.0);	 /* 0/(0+1/2+0) */
	NEAR(M("CTC_SEG"), NAN); /* no reference object: the CTC tool refuses */
	assert_true(has_text(r.warnings, "ground truth has no object"));
	assert_true(has_text(r.deviations, "ObjSeg/empty-gt"));
	assert_int_equal(nrec(&r, "pred", "FP"), 1);
	check_counts(&r);
	bia_metric_result_release(&r);

	/* both empty */
	struct bia_image p0 = img2(4, 3, NULL);
	score(&p0, &g, &r);
	NEAR(M("DC"), 0.0);	 /* decision 5 */
	NEAR(M("AHD"), NAN);	 /* decision 5 */
	NEAR(M("FOVL"), NAN);	 /* decision 6 */
	NEAR(M("mAP"), 0.0);	 /* 0/(0+1e-9) */
	NEAR(M("JI"), 1.0);	 /* both empty: 1 by definition */
	NEAR(M("AP50"), 1.0);	 /* nothing to find, nothing found (our decision) */
	NEAR(M("PQ"), 1.0);	 /* idem */
	NEAR(M("CTC_SEG"), NAN);
	assert_true(has_text(r.warnings, "ground truth and the prediction have no foreground") ||
		    has_text(r.warnings, "ground truth and the prediction"));
	assert_int_equal(json_array_size(r.objects), 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&p0);
}

/* One GT object split in two predictions of 6 and 2 voxels; IoU 6/8 = 0.75
 * exactly, which passes 0.7000000000000002 but not 0.7500000000000002. */
static void test_over_segmentation(void **state)
{
	(void)state;
	const double gv[] = {1, 1, 1, 1, 0, 0, /**/ 1, 1, 1, 1, 0, 0, /**/ 0, 0, 0, 0, 0, 0};
	const double pv[] = {1, 1, 1, 2, 0, 0, /**/ 1, 1, 1, 2, 0, 0, /**/ 0, 0, 0, 0, 0, 0};
	struct bia_image g = img2(6, 3, gv), p = img2(6, 3, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 1.0);   /* same foreground: 2*8/(8+8) */
	NEAR(M("AHD"), 0.0);  /* same foreground */
	NEAR(M("FOVL"), 0.75); /* m = 1 (6 voxels): 6/max(6, 8) */
	/* t = 0.5 .. 0.7000000000000002 (k = 0..4): TP 1, FP 1, FN 0; k >= 5: TP 0, FP 2, FN 1 */
	size_t tp[10] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
	NEAR_EPS(M("mAP"), map_of(tp, 1, 2), 1e-15); /* 5 * (1/(2+1e-9)) / 10 = 0.24999999987... */
	NEAR(M("JI"), 1.0);			     /* 8/8 */
	NEAR(M("AP50"), 0.5);			     /* 1/(1+1+0) */
	NEAR(M("PQ"), 0.5);			     /* 0.75/(1 + 1/2 + 0) */
	NEAR(M("CTC_SEG"), 0.75);		     /* 6 > 8/2: J = 6/(8+6-6) */
	json_t *o = rec(&r, "gt", 1);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "TP");
	assert_int_equal(json_integer_value(json_object_get(o, "match")), 1);
	NEAR(json_real_value(json_object_get(o, "iou")), 0.75);
	assert_true(flag(o, "split")); /* 6/6 and 2/2 of the predictions inside it */
	o = rec(&r, "pred", 2);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "FP");
	assert_true(json_is_null(json_object_get(o, "match")));
	NEAR(json_real_value(json_object_get(o, "iou")), 0.25); /* 2/8 */
	assert_false(flag(o, "merged"));
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Equal halves: IoU exactly 0.5 is not a match; FOVL ties go to the
 * smaller label. */
static void test_split_halves(void **state)
{
	(void)state;
	const double gv[] = {1, 1, 1, 1, 0, /**/ 1, 1, 1, 1, 0};
	const double pv[] = {2, 2, 1, 1, 0, /**/ 2, 2, 1, 1, 0};
	struct bia_image g = img2(5, 2, gv), p = img2(5, 2, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("FOVL"), 0.5);	 /* tie 4/4: label 1, 4/max(4, 8) */
	NEAR(M("mAP"), 0.0);	 /* IoU 4/8 = 0.5 is not > 0.5 */
	NEAR(M("AP50"), 0.0);	 /* 0/(0+2+1) */
	NEAR(M("PQ"), 0.0);	 /* 0/(0+1+0.5) */
	NEAR(M("CTC_SEG"), 0.0); /* 4 > 8/2 is false */
	assert_true(flag(rec(&r, "gt", 1), "split"));
	assert_int_equal(nrec(&r, "pred", "FP"), 2);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Two GT objects merged into one prediction. */
static void test_under_segmentation(void **state)
{
	(void)state;
	const double gv[] = {1, 1, 0, 2, 2, 0, /**/ 1, 1, 0, 2, 2, 0, /**/ 0, 0, 0, 0, 0, 0};
	const double pv[] = {1, 1, 1, 1, 1, 0, /**/ 1, 1, 1, 1, 1, 0, /**/ 0, 0, 0, 0, 0, 0};
	struct bia_image g = img2(6, 3, gv), p = img2(6, 3, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 16.0 / 18.0); /* 2*8/(8+10) */
	/* G->P: 0 (G inside P); P->G: the 2 voxels of column 2 are 1 away: 2/10 */
	NEAR(M("AHD"), 0.1);	      /* (0 + 0.2)/2 */
	NEAR(M("FOVL"), 0.4);	      /* (4/max(10,4) + 4/max(10,4))/2 */
	NEAR(M("mAP"), 0.0);	      /* IoU 4/10 twice: no match */
	NEAR(M("JI"), 0.8);	      /* 8/10 */
	NEAR(M("AP50"), 0.0);	      /* 0/(0+1+2) */
	NEAR(M("PQ"), 0.0);	      /* 0/(0+0.5+1) */
	NEAR(M("CTC_SEG"), 0.4);      /* each R: 4 > 2, J = 4/10 */
	json_t *o = rec(&r, "pred", 1);
	assert_true(flag(o, "merged")); /* covers 4/4 of both GT objects */
	assert_string_equal(json_string_value(json_object_get(o, "status")), "FP");
	NEAR(json_real_value(json_object_get(o, "iou")), 0.4);
	assert_false(flag(rec(&r, "gt", 1), "split"));
	assert_int_equal(nrec(&r, "gt", "FN"), 2);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* 3D: a column of 3 voxels against 2 of them plus a voxel touching the
 * column only by a corner (26-connected: one predicted object). */
static void test_3d(void **state)
{
	(void)state;
	double gv[27] = {0}, pv[27] = {0};
#define I3(x, y, z) ((x) + 3 * ((y) + 3 * (z)))
	gv[I3(1, 1, 0)] = gv[I3(1, 1, 1)] = gv[I3(1, 1, 2)] = 1;
	pv[I3(1, 1, 0)] = pv[I3(1, 1, 1)] = pv[I3(0, 0, 2)] = 1;
	struct bia_image g = mkimg(3, 3, 3, 1, BIA_U8, gv), p = mkimg(3, 3, 3, 1, BIA_U8, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 4.0 / 6.0); /* 2*2/(3+3) */
	/* G\P = (1,1,2): nearest P (1,1,1) at 1; P\G = (0,0,2): nearest G
	 * (1,1,2) at sqrt 2: ((1/3) + (sqrt2/3))/2 */
	NEAR(M("AHD"), (1.0 + sqrt(2.0)) / 6.0);
	NEAR(M("FOVL"), 2.0 / 3.0);  /* 2/max(3,3) */
	NEAR(M("mAP"), 0.0);	     /* IoU 2/4 = 0.5: no match */
	NEAR(M("JI"), 0.5);	     /* 2/4 */
	NEAR(M("AP50"), 0.0);	     /* 0/(0+1+1) */
	NEAR(M("PQ"), 0.0);	     /* 0/(0+0.5+0.5) */
	NEAR(M("CTC_SEG"), 0.5);     /* 2 > 1.5: J = 2/4 */
	assert_int_equal(nrec(&r, "pred", NULL), 1); /* 26-connectivity */
	assert_int_equal(nrec(&r, "gt", NULL), 1);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
#undef I3
}

static int has_warning(const struct bia_metric_result *r, const char *frag)
{
	size_t i;
	json_t *v;
	json_array_foreach(r->warnings, i, v) if (strstr(json_string_value(v), frag)) return 1;
	return 0;
}

/* 0/255 masks are relabelled by connected components (8-connected in 2D). */
static void test_binary_masks(void **state)
{
	(void)state;
	const double bv[] = {255, 255, 0, 0, 255, 255, 0, /**/ 255, 255, 0, 0, 255, 255, 0};
	struct bia_image g = img2(7, 2, bv), p = img2(7, 2, bv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	/* two objects on each side, not one object labelled 255 */
	assert_int_equal(nrec(&r, "gt", "TP"), 2);
	double want = 0;
	for (int k = 0; k < 10; k++)
		want += 2.0 / (2.0 + 1e-9);
	NEAR_EPS(M("mAP"), want / 10, 1e-15);
	NEAR(M("DC"), 1.0);
	NEAR(M("CTC_SEG"), 1.0); /* raw labels: one object 255 on each side, J = 1 */
	assert_int_equal(json_array_size(r.deviations), 0); /* 255 <= 255 */
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&p);

	/* labelled GT (1, 2) against the binary prediction: both match */
	const double lv[] = {1, 1, 0, 0, 2, 2, 0, /**/ 1, 1, 0, 0, 2, 2, 0};
	struct bia_image gl = img2(7, 2, lv), pb = img2(7, 2, bv);
	score(&pb, &gl, &r);
	NEAR(M("AP50"), 1.0); /* 2/(2+0+0) */
	NEAR(M("FOVL"), 1.0); /* (4/4 + 4/4)/2 */
	/* raw labels for CTC_SEG: 255 holds 4/4 of R=1, J = 4/8; same for R=2 */
	NEAR(M("CTC_SEG"), 0.5);
	/* the rule is kept, and said: a binary output is one object for CTC_SEG */
	assert_true(has_warning(&r, "binary output (every object has the label 255): CTC_SEG "
				    "treats it as one object"));
	bia_metric_result_release(&r);
	/* a 0/1 mask too (labels must be 0..max with max >= 2 to be kept): the
	 * instance metrics split it, CTC_SEG does not */
	const double ov[] = {1, 1, 0, 0, 1, 1, 0, /**/ 1, 1, 0, 0, 1, 1, 0};
	struct bia_image po = img2(7, 2, ov);
	score(&po, &gl, &r);
	NEAR(M("AP50"), 1.0);
	NEAR(M("CTC_SEG"), 0.5);
	assert_true(has_warning(&r, "binary output (every object has the label 1): CTC_SEG "
				    "treats it as one object (the other metrics split it into its 2 "
				    "connected components)"));
	bia_metric_result_release(&r);
	bia_image_release(&po);
	/* both binary: no warning (the same one object on each side for CTC_SEG) */
	struct bia_image pb2 = img2(7, 2, bv);
	score(&pb2, &g, &r);
	assert_false(has_warning(&r, "binary output"));
	bia_metric_result_release(&r);
	bia_image_release(&pb2);

	/* diagonal neighbours are one object; a gap of one pixel separates */
	const double dv[] = {255, 0, 0, 0, /**/ 0, 255, 0, 0, /**/ 0, 0, 0, 255};
	struct bia_image gd = img2(4, 3, dv), pd = img2(4, 3, dv);
	score(&pd, &gd, &r);
	assert_int_equal(nrec(&r, "gt", NULL), 2);   /* {(0,0),(1,1)} and {(3,2)} */
	assert_int_equal(nrec(&r, "pred", NULL), 2);
	assert_int_equal(json_integer_value(json_object_get(rec(&r, "gt", 1), "area")), 2);
	check_counts(&r);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&gl);
	bia_image_release(&pb);
	bia_image_release(&gd);
	bia_image_release(&pd);
}

/* Labels with a gap (1, 3) are relabelled by connected components: the two
 * touching objects merge. CTC_SEG keeps the labels as given. */
static void test_label_gaps(void **state)
{
	(void)state;
	const double gv[] = {1, 1, 3, 3, 0, 0, /**/ 1, 1, 3, 3, 0, 0};
	const double pv[] = {1, 1, 2, 2, 0, 0, /**/ 1, 1, 2, 2, 0, 0};
	struct bia_image g = img2(6, 2, gv), p = img2(6, 2, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 1.0);
	NEAR(M("AHD"), 0.0);
	NEAR(M("FOVL"), 0.5);	 /* one GT object of 8: tie 4/4 -> label 1: 4/max(4,8) */
	NEAR(M("mAP"), 0.0);	 /* IoU 4/8 twice */
	NEAR(M("AP50"), 0.0);	 /* 0/(0+2+1) */
	NEAR(M("CTC_SEG"), 1.0); /* raw: R=1 -> S=1 J=1, R=3 -> S=2 J=1 */
	assert_int_equal(nrec(&r, "gt", NULL), 1);
	assert_true(flag(rec(&r, "gt", 1), "split"));
	assert_true(has_text(r.warnings, "2 labels became 1 objects"));
	check_counts(&r);
	bia_metric_result_release(&r);

	/* consecutive labels are kept even when touching: 1 and 2 stay apart */
	struct bia_image p2 = img2(6, 2, pv);
	score(&p2, &p, &r);
	NEAR(M("AP50"), 1.0); /* 2/2 */
	assert_int_equal(nrec(&r, "gt", "TP"), 2);
	bia_metric_result_release(&r);

	/* no background: 1 and 2 everywhere -> one component of 6 voxels */
	const double nb[] = {1, 1, 2, /**/ 1, 1, 2};
	struct bia_image gn = img2(3, 2, nb), pn = img2(3, 2, nb);
	score(&pn, &gn, &r);
	assert_int_equal(nrec(&r, "gt", NULL), 1);
	NEAR(M("AP50"), 1.0);
	NEAR(M("CTC_SEG"), 1.0); /* raw labels 1 and 2 match themselves */
	NEAR(M("DC"), 1.0);	 /* every label != 0 is foreground */
	assert_true(has_text(r.deviations, "ObjSeg/foreground: image without background"));
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&p2);
	bia_image_release(&gn);
	bia_image_release(&pn);
}

/* Decision 4: labels > 255 stay foreground; the deviation is recorded only
 * when BIAFLOWS' rescaling would drop a label. */
static void test_labels_over_255(void **state)
{
	(void)state;
	const double gv[] = {1, 1, 0, 1000, /**/ 0, 0, 0, 1000};
	const double pv[] = {1, 1, 0, 0, /**/ 0, 0, 0, 0};
	struct bia_image g = img2(4, 2, gv), p = img2(4, 2, gv), p1 = img2(4, 2, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("DC"), 1.0);   /* label 1 (1*255/1000 < 1) is kept */
	NEAR(M("AP50"), 1.0); /* relabelled (gap): 2 objects each side */
	assert_true(has_text(r.deviations, "ObjSeg/foreground: labels > 255 kept"));
	bia_metric_result_release(&r);
	score(&p1, &g, &r);
	NEAR(M("DC"), 2.0 * 2 / (4 + 2)); /* 2*2/(4+2) */
	/* G->P: (3,0) to (1,0) = 2, (3,1) to (1,0) = sqrt 5: (2+sqrt5)/4; P->G 0 */
	NEAR(M("AHD"), (2.0 + sqrt(5.0)) / 4.0 / 2.0);
	bia_metric_result_release(&r);

	/* 2*255/300 >= 1: BIAFLOWS keeps label 2 too: no deviation */
	const double hv[] = {2, 2, 0, 300, /**/ 0, 0, 0, 300};
	struct bia_image h = img2(4, 2, hv), hp = img2(4, 2, hv);
	score(&hp, &h, &r);
	assert_int_equal(json_array_size(r.deviations), 0);
	NEAR(M("DC"), 1.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&p1);
	bia_image_release(&h);
	bia_image_release(&hp);
}

/* AHD of two 1-pixel-wide lines 3 apart, then of a shorter line. */
static void test_ahd_lines(void **state)
{
	(void)state;
	double gv[40] = {0}, pv[40] = {0}, qv[40] = {0};
	for (int y = 0; y < 5; y++) {
		gv[1 + 8 * y] = 1;
		pv[4 + 8 * y] = 1;
		if (y < 3)
			qv[4 + 8 * y] = 1;
	}
	struct bia_image g = img2(8, 5, gv), p = img2(8, 5, pv), q = img2(8, 5, qv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("AHD"), 3.0); /* every voxel is 3 from the other line: (3+3)/2 */
	NEAR(M("DC"), 0.0);  /* 2*0/(5+5) */
	NEAR(M("JI"), 0.0);
	NEAR(M("FOVL"), 0.0);
	bia_metric_result_release(&r);
	score(&q, &g, &r);
	/* G->P: y=0..2: 3 each; y=3: sqrt(9+1); y=4: sqrt(9+4); P->G: 3 each */
	NEAR(M("AHD"), ((9.0 + sqrt(10.0) + sqrt(13.0)) / 5.0 + 3.0) / 2.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
	bia_image_release(&q);
}

/* 3D voxels farther apart than the row search radius: EDT fallback. */
static void test_ahd_far_3d(void **state)
{
	(void)state;
	struct bia_image g = mkimg(2, 60, 2, 1, BIA_U16, NULL), p = mkimg(2, 60, 2, 1, BIA_U16, NULL);
	bia_image_set(&g, bia_image_index(&g, 0, 0, 0, 0, 0), 1);
	bia_image_set(&p, bia_image_index(&p, 0, 59, 1, 0, 0), 1);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("AHD"), sqrt(59.0 * 59.0 + 1.0)); /* one voxel each, both ways */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Brute-force AHD on random volumes (2D and 3D, near and far sets). */
static double brute_dir(const struct bia_image *a, const struct bia_image *b)
{
	size_t n = bia_image_nsamples(a), na = 0;
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		if (bia_image_get(a, i) == 0)
			continue;
		na++;
		if (bia_image_get(b, i) != 0)
			continue;
		double best = INFINITY;
		size_t xi = i % a->x, yi = i / a->x % a->y, zi = i / (a->x * a->y);
		for (size_t j = 0; j < n; j++) {
			if (bia_image_get(b, j) == 0)
				continue;
			double dx = (double)(j % a->x) - (double)xi, dy = (double)(j / a->x % a->y) - (double)yi,
			       dz = (double)(j / (a->x * a->y)) - (double)zi;
			double d = dx * dx + dy * dy + dz * dz;
			best = d < best ? d : best;
		}
		s += sqrt(best);
	}
	return s / (double)na;
}

static void random_ahd(size_t w, size_t h, size_t d, int dens_g, int dens_p, unsigned seed)
{
	srand(seed);
	struct bia_image g = mkimg(w, h, d, 1, BIA_U16, NULL), p = mkimg(w, h, d, 1, BIA_U16, NULL);
	size_t n = w * h * d;
	for (size_t i = 0; i < n; i++) {
		if (rand() % 1000 < dens_g)
			bia_image_set(&g, i, 1 + rand() % 3);
		if (rand() % 1000 < dens_p)
			bia_image_set(&p, i, 1 + rand() % 5);
	}
	bia_image_set(&g, 0, 1); /* never empty */
	bia_image_set(&p, n - 1, 1);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR_EPS(M("AHD"), (brute_dir(&g, &p) + brute_dir(&p, &g)) / 2, 1e-9);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_ahd_random(void **state)
{
	(void)state;
	random_ahd(23, 17, 1, 300, 200, 1);
	random_ahd(40, 31, 1, 5, 30, 2);
	random_ahd(9, 8, 7, 100, 50, 3);
	random_ahd(5, 50, 45, 2, 2, 4); /* 3D offsets beyond the search radius */
}

static void test_refusals(void **state)
{
	(void)state;
	char msg[1024];
	struct bia_image a = img2(4, 3, NULL), b = img2(5, 3, NULL);
	assert_int_equal(refused(&a, &b, msg, sizeof(msg)), BIA_ESHAPE);
	assert_non_null(strstr(msg, "4x3"));
	assert_non_null(strstr(msg, "5x3"));
	struct bia_ctx ctx;
	struct bia_image c1, c2;
	bia_ctx_init(&ctx);
	bia_image_init(&c1);
	bia_image_init(&c2);
	assert_int_equal(bia_image_alloc(&ctx, &c1, 4, 3, 1, 2, 1, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &c2, 4, 3, 1, 2, 1, BIA_U8), 0);
	assert_int_equal(refused(&c1, &c2, msg, sizeof(msg)), BIA_ESHAPE);
	assert_non_null(strstr(msg, "C=2"));
	struct bia_image zt1 = mkimg(2, 2, 2, 2, BIA_U8, NULL), zt2 = mkimg(2, 2, 2, 2, BIA_U8, NULL);
	assert_int_equal(refused(&zt1, &zt2, msg, sizeof(msg)), BIA_ESHAPE);
	/* float labels must be integers */
	const double fv[] = {0, 1.5, 0, 0};
	struct bia_image f1 = mkimg(2, 2, 1, 1, BIA_F32, fv), f2 = mkimg(2, 2, 1, 1, BIA_F32, NULL);
	assert_int_equal(refused(&f2, &f1, msg, sizeof(msg)), BIA_EFORMAT);
	bia_image_release(&a);
	bia_image_release(&b);
	bia_image_release(&c1);
	bia_image_release(&c2);
	bia_image_release(&zt1);
	bia_image_release(&zt2);
	bia_image_release(&f1);
	bia_image_release(&f2);
}

/* A 2D time series is scored as one volume (T as Z); float labels work. */
static void test_time_as_z_and_float(void **state)
{
	(void)state;
	const double gv[] = {1, 0, 0, 0, /**/ 0, 0, 0, 0};
	const double pv[] = {0, 0, 0, 0, /**/ 1, 0, 0, 0};
	struct bia_image g = mkimg(2, 2, 1, 2, BIA_F32, gv), p = mkimg(2, 2, 1, 2, BIA_F32, pv);
	struct bia_metric_result r;
	score(&p, &g, &r);
	NEAR(M("AHD"), 1.0); /* (0,0,t=0) to (0,0,t=1) */
	NEAR(M("DC"), 0.0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* Internal helpers: connected components and the §3.2 rule. */
static void test_labelops(void **state)
{
	(void)state;
	uint32_t lab[] = {5, 0, 7, /**/ 0, 0, 7, /**/ 9, 0, 0};
	uint32_t nc;
	assert_int_equal(bia__label_cc(lab, BIA_U32, lab, 3, 3, 1, &nc), 0);
	assert_int_equal(nc, 3);
	assert_int_equal(lab[0], 1); /* raster order of first voxels */
	assert_int_equal(lab[2], 2);
	assert_int_equal(lab[5], 2);
	assert_int_equal(lab[6], 3);
	/* a U shape whose arms join late: one component */
	uint32_t u[] = {1, 0, 1, /**/ 1, 0, 1, /**/ 1, 1, 1};
	assert_int_equal(bia__label_cc(u, BIA_U32, u, 3, 3, 1, &nc), 0);
	assert_int_equal(nc, 1);
	assert_int_equal(u[2], 1);
	const uint32_t keep[] = {0, 1, 2}, bin[] = {0, 1}, gap[] = {0, 1, 3}, nobg[] = {1, 2},
		       zero[] = {0};
	assert_int_equal(bia__needs_relabel(keep, 3), 0);
	assert_int_equal(bia__needs_relabel(bin, 2), 1);
	assert_int_equal(bia__needs_relabel(gap, 3), 1);
	assert_int_equal(bia__needs_relabel(nobg, 2), 1);
	assert_int_equal(bia__needs_relabel(zero, 1), 0);
	/* numpy's pairwise order: 10 values = 8-block + 2 */
	double v[10];
	for (int i = 0; i < 10; i++)
		v[i] = 0.1 * (i + 1);
	double want = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
	want += v[8];
	want += v[9];
	assert_true(bia__np_sum(v, 10) == want);
}

/* Connected components against a flood fill (full connectivity, raster
 * order of first voxels), 2D and 3D, from U16 samples. */
static unsigned flood(const uint16_t *v, uint32_t *out, int nx, int ny, int nz)
{
	int n = nx * ny * nz, sp;
	int *st = malloc(sizeof(int) * (size_t)n);
	unsigned c = 0;
	memset(out, 0, sizeof(uint32_t) * (size_t)n);
	for (int i = 0; i < n; i++) {
		if (!v[i] || out[i])
			continue;
		out[i] = ++c;
		st[0] = i;
		sp = 1;
		while (sp) {
			int j = st[--sp], x = j % nx, y = j / nx % ny, z = j / (nx * ny);
			for (int dz = -1; dz <= 1; dz++)
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int X = x + dx, Y = y + dy, Z = z + dz;
						if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz)
							continue;
						int k = X + nx * (Y + ny * Z);
						if (v[k] && !out[k]) {
							out[k] = c;
							st[sp++] = k;
						}
					}
		}
	}
	free(st);
	return c;
}

static void test_cc_random(void **state)
{
	(void)state;
	srand(9);
	for (int it = 0; it < 200; it++) {
		int nx = 1 + rand() % 30, ny = 1 + rand() % 30, nz = it % 2 ? 1 : 1 + rand() % 5;
		int n = nx * ny * nz, dens = rand() % 100;
		uint16_t *v = malloc(2 * (size_t)n);
		uint32_t *a = malloc(4 * (size_t)n), *b = malloc(4 * (size_t)n), nc;
		for (int i = 0; i < n; i++)
			v[i] = rand() % 100 < dens ? (uint16_t)(1 + rand() % 7) : 0;
		unsigned want = flood(v, b, nx, ny, nz);
		assert_int_equal(bia__label_cc(v, BIA_U16, a, (size_t)nx, (size_t)ny, (size_t)nz, &nc), 0);
		assert_int_equal(nc, want);
		assert_memory_equal(a, b, 4 * (size_t)n);
		free(v);
		free(a);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perfect),
		cmocka_unit_test(test_perfect_mAP_formula),
		cmocka_unit_test(test_empty_prediction),
		cmocka_unit_test(test_empty_gt),
		cmocka_unit_test(test_over_segmentation),
		cmocka_unit_test(test_split_halves),
		cmocka_unit_test(test_under_segmentation),
		cmocka_unit_test(test_3d),
		cmocka_unit_test(test_binary_masks),
		cmocka_unit_test(test_label_gaps),
		cmocka_unit_test(test_labels_over_255),
		cmocka_unit_test(test_ahd_lines),
		cmocka_unit_test(test_ahd_far_3d),
		cmocka_unit_test(test_ahd_random),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_time_as_z_and_float),
		cmocka_unit_test(test_labelops),
		cmocka_unit_test(test_cc_random),
	};
	return cmocka_run_group_tests_name("metrics_objseg", tests, NULL, NULL);
}
