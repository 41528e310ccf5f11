/* PrtTrk (docs/metrics.md §8, ISBI 2012 particle tracking) on hand-built
 * track stacks: expected values computed by hand, the arithmetic beside
 * each assertion. Default gate eps = 5.
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

static struct bia_image mk(size_t z, size_t t)
{
	struct bia_ctx ctx;
	struct bia_image im;
	bia_ctx_init(&ctx);
	bia_image_init(&im);
	if (bia_image_alloc(&ctx, &im, 64, 64, z, 1, t, BIA_U16))
		fail_msg("alloc: %s", ctx.msg);
	return im;
}

static void put(struct bia_image *im, size_t x, size_t y, size_t z, size_t t, double id)
{
	bia_image_set(im, bia_image_index(im, x, y, z, 0, t), id);
}

/* A static track: id at (x, y) in frames t0..t1 */
static void track(struct bia_image *im, double id, size_t x, size_t y, size_t t0, size_t t1)
{
	for (size_t t = t0; t <= t1; t++)
		put(im, x, y, 0, t, id);
}

static int score(const struct bia_image *pred, const struct bia_image *gt, double gate,
		 struct bia_metric_result *r, struct bia_ctx *ctx)
{
	struct bia_metric_input in = {0};
	struct bia_metric_params p;
	in.pred = pred;
	in.gt = gt;
	bia_metric_params_init(&p);
	p.gating_dist = gate;
	bia_ctx_init(ctx);
	bia_metric_result_init(r, BIA_PRTTRK);
	return bia_metrics_compute(ctx, BIA_PRTTRK, &in, &p, 1, r);
}

/* Per-object records agree with NPT/NMT/NST; pairs name each other. */
static void check_objects(const struct bia_metric_result *r)
{
	size_t i, paired_r = 0, missed = 0, paired_c = 0, spurious = 0;
	json_t *o;
	assert_non_null(r->objects);
	json_array_foreach(r->objects, i, o)
	{
		const char *kind = bia_json_str(o, "kind", ""), *st = bia_json_str(o, "status", "");
		json_t *m = json_object_get(o, "match");
		if (!strcmp(kind, "ref")) {
			assert_true(json_is_number(json_object_get(o, "distance")) ||
				    json_is_string(json_object_get(o, "distance")));
			if (!strcmp(st, "paired")) {
				paired_r++;
				assert_true(json_is_integer(m));
				/* the candidate it names points back */
				size_t k;
				json_t *c, *found = NULL;
				json_array_foreach(r->objects, k, c)
				if (!strcmp(bia_json_str(c, "kind", ""), "cand") &&
				    json_integer_value(json_object_get(c, "id")) == json_integer_value(m))
					found = c;
				assert_non_null(found);
				assert_string_equal(bia_json_str(found, "status", ""), "paired");
				assert_int_equal(json_integer_value(json_object_get(found, "match")),
						 json_integer_value(json_object_get(o, "id")));
			} else {
				assert_string_equal(st, "missed");
				assert_true(json_is_null(m));
				missed++;
			}
		} else {
			assert_string_equal(kind, "cand");
			if (!strcmp(st, "paired"))
				paired_c++;
			else {
				assert_string_equal(st, "spurious");
				assert_true(json_is_null(m));
				spurious++;
			}
		}
	}
	assert_int_equal(paired_r, paired_c);
	assert_true(bia_metric_get(r, "NPT") == (double)paired_r);
	assert_true(bia_metric_get(r, "NMT") == (double)missed);
	assert_true(bia_metric_get(r, "NST") == (double)spurious);
	assert_true(bia_metric_get(r, "NRT") == (double)(paired_r + missed));
	assert_true(bia_metric_get(r, "NCT") == (double)(paired_c + spurious));
}

static void score_ok(const struct bia_image *pred, const struct bia_image *gt, double gate,
		     struct bia_metric_result *r)
{
	struct bia_ctx ctx;
	if (score(pred, gt, gate, r, &ctx))
		fail_msg("PrtTrk: %s", ctx.msg);
	check_objects(r);
}

static void tcounts(const struct bia_metric_result *r, double nrt, double nct, double npt,
		    double nmt, double nst)
{
	assert_true(bia_metric_get(r, "NRT") == nrt);
	assert_true(bia_metric_get(r, "NCT") == nct);
	assert_true(bia_metric_get(r, "NPT") == npt);
	assert_true(bia_metric_get(r, "NMT") == nmt);
	assert_true(bia_metric_get(r, "NST") == nst);
}

static void dcounts(const struct bia_metric_result *r, double nrd, double ncd, double npd,
		    double nmd, double nsd)
{
	assert_true(bia_metric_get(r, "NRD") == nrd);
	assert_true(bia_metric_get(r, "NCD") == ncd);
	assert_true(bia_metric_get(r, "NPD") == npd);
	assert_true(bia_metric_get(r, "NMD") == nmd);
	assert_true(bia_metric_get(r, "NSD") == nsd);
}

static json_t *rec(const struct bia_metric_result *r, const char *kind, json_int_t id)
{
	size_t i;
	json_t *o;
	json_array_foreach(r->objects, i, o)
	if (!strcmp(bia_json_str(o, "kind", ""), kind) &&
	    json_integer_value(json_object_get(o, "id")) == id)
		return o;
	fail_msg("no %s record with id %d", kind, (int)id);
	return NULL;
}

static void test_perfect(void **state)
{
	(void)state;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	for (size_t t = 0; t <= 4; t++) { /* GT 1: frames 0-4 moving along x */
		put(&g, 10 + t, 10, 0, t, 1);
		put(&p, 10 + t, 10, 0, t, 7); /* ids differ: they do not matter */
	}
	for (size_t t = 2; t <= 7; t++) { /* GT 2: frames 2-7 moving along y */
		put(&g, 40, 20 + t, 0, t, 2);
		put(&p, 40, 20 + t, 0, t, 9);
	}
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 0.0);    /* 0 + 0 */
	NEAR(GET(r, "NPSA"), 1.0);  /* 1 - 0/(5*5 + 5*6) */
	NEAR(GET(r, "FNPSB"), 1.0); /* (55 - 0)/(55 + 0) */
	tcounts(&r, 2, 2, 2, 0, 0);
	NEAR(GET(r, "JST"), 1.0); /* 2/(2+0) */
	dcounts(&r, 11, 11, 11, 0, 0);
	NEAR(GET(r, "JSD"), 1.0); /* 11/(11+0) */
	assert_int_equal(r.n, 15);
	const char *order[15] = {"PD",	"NPSA", "FNPSB", "NRT", "NCT", "JST", "NPT", "NMT",
				 "NST", "NRD",	"NCD",	 "JSD", "NPD", "NMD", "NSD"};
	for (int k = 0; k < 15; k++)
		assert_string_equal(r.codes[k], order[k]);
	assert_int_equal(json_integer_value(json_object_get(r.params, "GATING_DIST")), 5);
	assert_int_equal(json_array_size(r.deviations), 0); /* gate 5: as BIAFLOWS */
	json_t *o = rec(&r, "ref", 2);
	assert_int_equal(json_integer_value(json_object_get(o, "match")), 9);
	NEAR(json_real_value(json_object_get(o, "distance")), 0.0);
	assert_int_equal(json_integer_value(json_object_get(o, "first")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "last")), 7);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_missed_and_spurious(void **state)
{
	(void)state;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	track(&g, 1, 10, 10, 0, 4); /* R1: 5 frames */
	track(&g, 2, 50, 50, 0, 3); /* R2: 4 frames, nothing near: missed */
	track(&p, 1, 10, 10, 0, 4); /* C1 = R1 */
	track(&p, 3, 30, 30, 5, 8); /* C3: 4 frames, far from all: spurious */
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 20.0);		/* d(R1,C1) = 0, R2 dummy 5*4 = 20 */
	NEAR(GET(r, "NPSA"), 1 - 20.0 / 45);	/* bound 5*5 + 5*4 = 45: 5/9 */
	NEAR(GET(r, "FNPSB"), 25.0 / 65);	/* (45-20)/(45 + 5*4) = 0.38461538 */
	tcounts(&r, 2, 2, 1, 1, 1);
	NEAR(GET(r, "JST"), 1.0 / 3);		/* 1/(2+1) */
	dcounts(&r, 9, 9, 5, 4, 4);		/* NRD 5+4, NCD 5+4, NPD 5, NMD 4, NSD 4 real of C3 */
	NEAR(GET(r, "JSD"), 5.0 / 13);		/* 5/(9+4) */
	json_t *o = rec(&r, "ref", 2);
	assert_string_equal(bia_json_str(o, "status", ""), "missed");
	NEAR(json_real_value(json_object_get(o, "distance")), 20.0); /* eps*len = 5*4 */
	o = rec(&r, "cand", 3);
	assert_string_equal(bia_json_str(o, "status", ""), "spurious");
	o = rec(&r, "ref", 1);
	assert_int_equal(json_integer_value(json_object_get(o, "match")), 1);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_gaps(void **state)
{
	(void)state;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	/* R1 real in frames 0-4 at x = 10,12,14,16,18 (y 10) */
	for (size_t t = 0; t <= 4; t++)
		put(&g, 10 + 2 * t, 10, 0, t, 1);
	/* R2 real only at t0 (40,40) and t4 (48,40): virtual 42,44,46 */
	put(&g, 40, 40, 0, 0, 2);
	put(&g, 48, 40, 0, 4, 2);
	/* C1 real only at t0 (10,10), t4 (18,10): its virtual detections at
	 * 12,14,16 coincide with R1 but never match (counting variant) */
	put(&p, 10, 10, 0, 0, 1);
	put(&p, 18, 10, 0, 4, 1);
	/* C2 real in frames 0-4 at (40+2t, 41): 1 from R2, virtual included */
	for (size_t t = 0; t <= 4; t++)
		put(&p, 40 + 2 * t, 41, 0, t, 2);
	/* C3 real at t0 (60,5) and t3 (60,8), gap t1-t2: spurious */
	put(&p, 60, 5, 0, 0, 3);
	put(&p, 60, 8, 0, 3, 3);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	/* d(R1,C1) = 0 + 5+5+5 (virtual C) + 0 = 15 < dummy 25: paired,
	 *   matched 2, missed 3, wrong 0 (virtual not spurious);
	 * d(R2,C2) = 1*5 = 5 (R2's virtual compared like real), matched 5 */
	NEAR(GET(r, "PD"), 20.0);		 /* 15 + 5 */
	NEAR(GET(r, "NPSA"), 0.6);		 /* 1 - 20/(25+25) */
	NEAR(GET(r, "FNPSB"), 30.0 / 70);	 /* (50-20)/(50 + 5*4 for C3) = 3/7 */
	tcounts(&r, 2, 3, 2, 0, 1);
	NEAR(GET(r, "JST"), 2.0 / 3);		 /* 2/(2+1) */
	dcounts(&r, 10, 14, 7, 3, 2);		 /* NRD 5+5; NCD 5+5+4; NPD 2+5; NMD 3+0;
						  * NSD 0 + 2 real detections of C3 */
	NEAR(GET(r, "JSD"), 7.0 / 12);		 /* 7/(10+2) */
	json_t *o = rec(&r, "ref", 1);
	NEAR(json_real_value(json_object_get(o, "distance")), 15.0);
	assert_int_equal(json_integer_value(json_object_get(o, "matched")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "real")), 5);
	o = rec(&r, "cand", 3);
	assert_int_equal(json_integer_value(json_object_get(o, "real")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "first")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "last")), 3);
	bia_metric_result_release(&r);

	/* the interpolation is linear in x, y and z: R real at t0 (10,10) and
	 * t3 (16,19) -> virtual t1 (12,13), t2 (14,16); C real at exactly
	 * those virtual positions in t1, t2 only: e = 0, 0 -> matched 2,
	 * d = 5*(|1-0| + |2-3|) + 0 + 0 = 10 < dummy 20 */
	bia_image_release(&g);
	bia_image_release(&p);
	g = mk(1, 10);
	p = mk(1, 10);
	put(&g, 10, 10, 0, 0, 4);
	put(&g, 16, 19, 0, 3, 4);
	put(&p, 12, 13, 0, 1, 5);
	put(&p, 14, 16, 0, 2, 5);
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 10.0);
	NEAR(GET(r, "NPSA"), 0.5); /* 1 - 10/20 */
	dcounts(&r, 4, 2, 2, 2, 0); /* missed: R-only frames 0 and 3 */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_spans(void **state)
{
	(void)state;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	/* R frames 1-6 at (20,20); C frames 3-8 at (21,20): e = 1 on the 4
	 * overlapping frames 3-6.
	 * d = 5*(|3-1| + |8-6|) + 4*1 = 24 < dummy 5*6 = 30: paired.
	 * wrong = max(0,1-3) + max(0,8-6) = 2; missed = max(0,3-1) +
	 * max(0,6-8) = 2; matched 4 */
	track(&g, 1, 20, 20, 1, 6);
	track(&p, 1, 21, 20, 3, 8);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 24.0);
	NEAR(GET(r, "NPSA"), 0.2);  /* 1 - 24/30 */
	NEAR(GET(r, "FNPSB"), 0.2); /* (30-24)/(30+0) */
	tcounts(&r, 1, 1, 1, 0, 0);
	NEAR(GET(r, "JST"), 1.0); /* 1/(1+0) */
	dcounts(&r, 6, 6, 4, 2, 2);
	NEAR(GET(r, "JSD"), 0.5); /* 4/(6+2) */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);

	/* a long candidate costs more than the dummy: R frames 4-5, C frames
	 * 0-9 on top of it: d = 5*(4 + 4) + 0 = 40 > dummy 5*2 = 10 -> R
	 * missed, C spurious */
	g = mk(1, 10);
	p = mk(1, 10);
	track(&g, 1, 20, 20, 4, 5);
	track(&p, 1, 20, 20, 0, 9);
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 10.0);    /* dummy 5*2 */
	NEAR(GET(r, "NPSA"), 0.0);   /* 1 - 10/10 */
	NEAR(GET(r, "FNPSB"), 0.0);  /* (10-10)/(10 + 5*10) */
	tcounts(&r, 1, 1, 0, 1, 1);
	NEAR(GET(r, "JST"), 0.0);    /* 0/(1+1) */
	dcounts(&r, 2, 10, 0, 2, 10); /* NSD: the 10 real detections of C */
	NEAR(GET(r, "JSD"), 0.0);    /* 0/(2+10) */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_gate(void **state)
{
	(void)state;
	/* R frames 0-3 at (10,10); C frames 0-3 at (14,10): e = 4 */
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	track(&g, 1, 10, 10, 0, 3);
	track(&p, 1, 14, 10, 0, 3);
	struct bia_metric_result r;
	/* gate 5: 4 < 5, d = 4*4 = 16 < dummy 20: paired */
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 16.0);
	NEAR(GET(r, "NPSA"), 0.2); /* 1 - 16/20 */
	tcounts(&r, 1, 1, 1, 0, 0);
	dcounts(&r, 4, 4, 4, 0, 0);
	assert_int_equal(json_array_size(r.deviations), 0);
	bia_metric_result_release(&r);
	/* gate 3: 4 >= 3, not feasible: missed + spurious */
	score_ok(&p, &g, 3, &r);
	NEAR(GET(r, "PD"), 12.0);   /* dummy 3*4 */
	NEAR(GET(r, "NPSA"), 0.0);  /* 1 - 12/12 */
	NEAR(GET(r, "FNPSB"), 0.0); /* (12-12)/(12 + 3*4) */
	tcounts(&r, 1, 1, 0, 1, 1);
	NEAR(GET(r, "JST"), 0.0);   /* 0/(1+1) */
	dcounts(&r, 4, 4, 0, 4, 4);
	NEAR(GET(r, "JSD"), 0.0);   /* 0/(4+4) */
	assert_int_equal(json_integer_value(json_object_get(r.params, "GATING_DIST")), 3);
	assert_int_equal(json_array_size(r.deviations), 1);
	assert_string_equal(json_string_value(json_array_get(r.deviations, 0)),
			    "PrtTrk/gating_dist: gate honoured (BIAFLOWS always used 5)");
	bia_metric_result_release(&r);
	/* gate 4: strict, e = 4 is not < 4 */
	score_ok(&p, &g, 4, &r);
	tcounts(&r, 1, 1, 0, 1, 1);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_cluster_optimal(void **state)
{
	(void)state;
	/* frames 0-3, y = 10: R1 x=10, R2 x=13; C1 x=12, C2 x=16.
	 * e(R1,C1) = 2, e(R2,C1) = 1, e(R2,C2) = 3, e(R1,C2) = 6 (out).
	 * Cheapest pair first: R2-C1 (4*1 = 4), R1 then has only its dummy
	 * (20): 24. Optimum: R1-C1 (8) + R2-C2 (12) = 20. */
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	track(&g, 1, 10, 10, 0, 3);
	track(&g, 2, 13, 10, 0, 3);
	track(&p, 1, 12, 10, 0, 3);
	track(&p, 2, 16, 10, 0, 3);
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 20.0);
	NEAR(GET(r, "NPSA"), 0.5); /* 1 - 20/40 */
	tcounts(&r, 2, 2, 2, 0, 0);
	dcounts(&r, 8, 8, 8, 0, 0);
	assert_int_equal(json_integer_value(json_object_get(rec(&r, "ref", 1), "match")), 1);
	assert_int_equal(json_integer_value(json_object_get(rec(&r, "ref", 2), "match")), 2);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_3d(void **state)
{
	(void)state;
	/* R frames 0-2 at (10,10,0); C at (10,10,3): e = 3 < 5;
	 * d = 3*3 = 9 < dummy 15; NPSA = 1 - 9/15 = 0.4 */
	struct bia_image g = mk(5, 4), p = mk(5, 4);
	for (size_t t = 0; t <= 2; t++) {
		put(&g, 10, 10, 0, t, 1);
		put(&p, 10, 10, 3, t, 1);
	}
	struct bia_metric_result r;
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 9.0);
	NEAR(GET(r, "NPSA"), 0.4);
	tcounts(&r, 1, 1, 1, 0, 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_empty(void **state)
{
	(void)state;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	struct bia_metric_result r;
	/* both empty: every ratio is 0/0 */
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 0.0);
	assert_true(isnan(GET(r, "NPSA")));  /* 1 - 0/0 */
	assert_true(isnan(GET(r, "FNPSB"))); /* (0-0)/(0+0) */
	assert_true(isnan(GET(r, "JST")));   /* 0/(0+0) */
	assert_true(isnan(GET(r, "JSD")));   /* 0/(0+0) */
	tcounts(&r, 0, 0, 0, 0, 0);
	dcounts(&r, 0, 0, 0, 0, 0);
	bia_metric_result_release(&r);
	/* empty GT, one candidate of 3 frames. No ratio can be infinite:
	 * each denominator is 0 only when its numerator is 0 too. */
	track(&p, 1, 5, 5, 2, 4);
	score_ok(&p, &g, 5, &r);
	NEAR(GET(r, "PD"), 0.0);
	assert_true(isnan(GET(r, "NPSA"))); /* 1 - 0/0 */
	NEAR(GET(r, "FNPSB"), 0.0);	    /* (0-0)/(0 + 5*3) */
	tcounts(&r, 0, 1, 0, 0, 1);
	NEAR(GET(r, "JST"), 0.0); /* 0/(0+1) */
	dcounts(&r, 0, 3, 0, 0, 3);
	NEAR(GET(r, "JSD"), 0.0); /* 0/(0+3) */
	bia_metric_result_release(&r);
	/* empty prediction, GT of 3 frames */
	score_ok(&g, &p, 5, &r);
	NEAR(GET(r, "PD"), 15.0);   /* dummy 5*3 */
	NEAR(GET(r, "NPSA"), 0.0);  /* 1 - 15/15 */
	NEAR(GET(r, "FNPSB"), 0.0); /* (15-15)/(15+0) */
	tcounts(&r, 1, 0, 0, 1, 0);
	NEAR(GET(r, "JST"), 0.0); /* 0/(1+0) */
	dcounts(&r, 3, 0, 0, 3, 0);
	NEAR(GET(r, "JSD"), 0.0); /* 0/(3+0) */
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_metric_result r;
	struct bia_image g = mk(1, 10), p = mk(1, 10);
	track(&g, 3, 10, 10, 0, 9);
	put(&g, 20, 20, 0, 5, 3); /* a second voxel of track 3 in frame 5 */
	track(&p, 3, 10, 10, 0, 9);
	assert_int_equal(score(&p, &g, 5, &r, &ctx), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "ground truth"));
	assert_non_null(strstr(ctx.msg, "duplicate detection of track 3 in frame 5"));
	bia_metric_result_release(&r);
	assert_int_equal(score(&g, &p, 5, &r, &ctx), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "prediction"));
	bia_metric_result_release(&r);
	bia_image_release(&p);
	/* shapes */
	p = mk(1, 9);
	assert_int_equal(score(&p, &g, 5, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "T=9"));
	assert_non_null(strstr(ctx.msg, "T=10"));
	bia_metric_result_release(&r);
	bia_image_release(&p);
	bia_image_release(&g);
	struct bia_image g3, p3;
	bia_image_init(&g3);
	bia_image_init(&p3);
	assert_int_equal(bia_image_alloc(&ctx, &g3, 8, 8, 1, 2, 3, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &p3, 8, 8, 1, 2, 3, BIA_U8), 0);
	assert_int_equal(score(&p3, &g3, 5, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "channel"));
	bia_metric_result_release(&r);
	bia_image_release(&g3);
	bia_image_release(&p3);
	/* a gate so large that eps*len(R) = 1e308*10 overflows: refused, no abort */
	g = mk(1, 10);
	p = mk(1, 10);
	track(&g, 1, 10, 10, 0, 9);
	track(&p, 1, 10, 10, 0, 9);
	assert_int_equal(score(&p, &g, 1e308, &r, &ctx), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "gating_dist"));
	bia_metric_result_release(&r);
	assert_int_equal(score(&p, &g, -1, &r, &ctx), BIA_EINVAL);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* ------------------------------------------------- random vs all pairs */

#define RT 8	 /* frames */
#define RN 7	 /* tracks per image */

/* A generated track: real detection in frame t when has[t]. */
struct gtrack {
	int has[RT];
	double pos[RT][3];
	int t0, t1;
};

/* Independent reading of §8: fill virtual positions, then distance,
 * feasibility and counts of every pair, from the generated lists. */
static void fill_virtual(struct gtrack *g)
{
	g->t0 = -1;
	for (int t = 0; t < RT; t++)
		if (g->has[t]) {
			if (g->t0 < 0)
				g->t0 = t;
			g->t1 = t;
		}
	for (int a = g->t0; a < g->t1;) {
		int b = a + 1;
		while (!g->has[b])
			b++;
		for (int u = a + 1; u < b; u++)
			for (int c = 0; c < 3; c++)
				g->pos[u][c] = g->pos[a][c] + (double)(u - a) *
								  (g->pos[b][c] - g->pos[a][c]) *
								  (1 / ((double)b - (double)a));
		a = b;
	}
}

static void pair_ref(const struct gtrack *R, const struct gtrack *C, double eps, double *d,
		     int *feas, int *matched, int *missed, int *wrong)
{
	int lr = R->t1 - R->t0 + 1;
	*feas = *matched = *missed = *wrong = 0;
	if (!C) {
		*d = eps * lr;
		*missed = lr;
		return;
	}
	int first = R->t0 > C->t0 ? R->t0 : C->t0, last = R->t1 < C->t1 ? R->t1 : C->t1;
	if (first > last) {
		*d = eps * lr;
		*missed = lr;
		*wrong = C->t1 - C->t0 + 1;
		return;
	}
	*d = eps * (double)(abs(C->t0 - R->t0) + abs(C->t1 - R->t1));
	/* frames of one span only */
	for (int t = R->t0; t <= R->t1; t++)
		*missed += t < first || t > last;
	for (int t = C->t0; t <= C->t1; t++)
		*wrong += t < first || t > last;
	for (int t = first; t <= last; t++) {
		double e = bia__dist3(R->pos[t], C->pos[t]);
		if (C->has[t] && e < eps) {
			*d += e;
			*feas = 1;
			++*matched;
		} else {
			*d += eps;
			++*missed;
			*wrong += C->has[t];
		}
	}
}

static void test_random_vs_all_pairs(void **state)
{
	(void)state;
	srand(11);
	int tot_pt = 0, tot_mt = 0, tot_st = 0, tot_gap_match = 0;
	for (int iter = 0; iter < 150; iter++) {
		struct bia_image g = mk(1, RT), p = mk(1, RT);
		struct gtrack R[RN], C[RN];
		int nr = 0, nc = 0;
		double eps = iter % 3 ? 5 : 2.5;
		for (int side = 0; side < 2; side++)
			for (int k = 0; k < RN; k++) {
				struct gtrack *tr = side ? &C[nc] : &R[nr];
				struct bia_image *im = side ? &p : &g;
				memset(tr, 0, sizeof(*tr));
				int t0 = rand() % RT, t1 = t0 + rand() % (RT - t0), n = 0;
				/* candidates follow a reference half of the time */
				const struct gtrack *like = side && k < nr && rand() % 2 ? &R[k] : NULL;
				double x = 2 + rand() % 28, y = 2 + rand() % 28;
				for (int t = t0; t <= t1; t++) {
					if (t != t0 && t != t1 && rand() % 4 == 0)
						continue; /* a gap */
					if (like && like->has[t]) {
						x = like->pos[t][0] + rand() % 5 - 2;
						y = like->pos[t][1] + rand() % 5 - 2;
					} else {
						x += rand() % 5 - 2;
						y += rand() % 5 - 2;
					}
					x = x < 0 ? 0 : x > 63 ? 63 : x;
					y = y < 0 ? 0 : y > 63 ? 63 : y;
					size_t idx = bia_image_index(im, (size_t)x, (size_t)y, 0, 0, t);
					if (bia_image_get(im, idx))
						continue; /* occupied by another track */
					bia_image_set(im, idx, k + 1);
					tr->has[t] = 1;
					tr->pos[t][0] = x;
					tr->pos[t][1] = y;
					n++;
				}
				if (!n)
					continue;
				fill_virtual(tr);
				side ? nc++ : nr++;
			}
		/* ids are k+1 in generation order and empty tracks were dropped,
		 * so R[] and C[] are in increasing id order, as the library */
		struct bia__assign_edge e[RN * RN];
		double dummy[RN];
		size_t ne = 0, re[RN];
		for (int i = 0; i < nr; i++) {
			int feas, a, b, c;
			double d;
			pair_ref(&R[i], NULL, eps, &dummy[i], &feas, &a, &b, &c);
			for (int j = 0; j < nc; j++) {
				pair_ref(&R[i], &C[j], eps, &d, &feas, &a, &b, &c);
				if (feas)
					e[ne++] = (struct bia__assign_edge){(size_t)i, (size_t)j, d};
			}
		}
		assert_int_equal(bia__assign_sparse(nr, nc, e, ne, dummy, re), 0);
		double pd = 0, bound = 0;
		int npt = 0, npd = 0, nmd = 0, nsd = 0, nrd = 0, ncd = 0, used[RN] = {0};
		for (int i = 0; i < nr; i++) {
			int feas, a, b, c;
			double d;
			const struct gtrack *ct = re[i] == SIZE_MAX ? NULL : &C[e[re[i]].col];
			pair_ref(&R[i], ct, eps, &d, &feas, &a, &b, &c);
			pd += d;
			bound += dummy[i];
			npd += a;
			nmd += b;
			nrd += R[i].t1 - R[i].t0 + 1;
			if (ct) {
				for (int t = R[i].t0; t <= R[i].t1; t++)
					tot_gap_match += !R[i].has[t] && t >= ct->t0 && t <= ct->t1;
				npt++;
				nsd += c;
				used[e[re[i]].col] = 1;
			}
		}
		for (int j = 0; j < nc; j++) {
			ncd += C[j].t1 - C[j].t0 + 1;
			if (!used[j])
				for (int t = 0; t < RT; t++)
					nsd += C[j].has[t];
		}
		struct bia_metric_result r;
		score_ok(&p, &g, eps, &r);
		assert_true(fabs(GET(r, "PD") - pd) < 1e-9);
		if (nr)
			assert_true(fabs(GET(r, "NPSA") - (1 - pd / bound)) < 1e-12);
		tcounts(&r, nr, nc, npt, nr - npt, nc - npt);
		dcounts(&r, nrd, ncd, npd, nmd, nsd);
		bia_metric_result_release(&r);
		bia_image_release(&g);
		bia_image_release(&p);
		tot_pt += npt;
		tot_mt += nr - npt;
		tot_st += nc - npt;
	}
	/* the scenes exercised pairs, misses, spurious tracks and pairs over
	 * virtual reference detections */
	assert_true(tot_pt > 100 && tot_mt > 100 && tot_st > 100 && tot_gap_match > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perfect),	    cmocka_unit_test(test_missed_and_spurious),
		cmocka_unit_test(test_gaps),	    cmocka_unit_test(test_spans),
		cmocka_unit_test(test_gate),	    cmocka_unit_test(test_cluster_optimal),
		cmocka_unit_test(test_3d),	    cmocka_unit_test(test_empty),
		cmocka_unit_test(test_refusals),   cmocka_unit_test(test_random_vs_all_pairs),
	};
	return cmocka_run_group_tests_name("metrics_prttrk", tests, NULL, NULL);
}
