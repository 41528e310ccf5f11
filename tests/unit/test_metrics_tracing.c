/* TreTrc and LooTrc metrics (docs/metrics.md §9, §10) with hand-computed
 * values: NetMets sampling, nearest distances, Gaussian rates, SWC id
 * mapping, empty inputs, UVR, the skan 0.8 path rules and the skl2obj
 * vertices, per-object records.
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

#include "metrics/metrics_int.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) <= 1e-12)

/* ------------------------------------------------------------ helpers */

static struct bia_swc swc(const char *text)
{
	struct bia_ctx ctx;
	struct bia_swc s;
	bia_ctx_init(&ctx);
	if (bia_swc_parse(&ctx, "test", text, strlen(text), &s))
		fail_msg("swc: %s", ctx.msg);
	return s;
}

static int run_tre(const char *gt, const char *pred, double gd, struct bia_metric_result *r,
		   struct bia_ctx *ctx)
{
	struct bia_swc g = swc(gt), p = swc(pred);
	struct bia_metric_params prm;
	bia_metric_params_init(&prm);
	prm.gating_dist = gd;
	struct bia_metric_input in = {0};
	in.gt_swc = &g;
	in.pred_swc = &p;
	bia_ctx_init(ctx);
	bia_metric_result_init(r, BIA_TRETRC);
	int rc = bia_metrics_compute(ctx, BIA_TRETRC, &in, &prm, 1, r);
	bia_swc_release(&g);
	bia_swc_release(&p);
	return rc;
}

static int has_string(const json_t *arr, const char *frag)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (strstr(json_string_value(v), frag)) return 1;
	return 0;
}

/* The per-object records must reproduce the rates: the point-weighted mean
 * of mean_closeness over the records of a kind = 1 - rate. */
static void check_records(const struct bia_metric_result *r, double fnr, double fpr)
{
	double sum[2] = {0, 0};
	double pts[2] = {0, 0};
	size_t i;
	json_t *o;
	json_array_foreach(r->objects, i, o)
	{
		int gt = !strcmp(json_string_value(json_object_get(o, "kind")), "gt");
		double c = json_real_value(json_object_get(o, "mean_closeness"));
		if (json_is_integer(json_object_get(o, "mean_closeness")))
			c = (double)json_integer_value(json_object_get(o, "mean_closeness"));
		double n = (double)json_integer_value(json_object_get(o, "points"));
		const char *st = json_string_value(json_object_get(o, "status"));
		if (c >= 0.5)
			assert_string_equal(st, "matched");
		else
			assert_string_equal(st, gt ? "missed" : "spurious");
		sum[gt] += c * n;
		pts[gt] += n;
	}
	if (pts[1] > 0)
		assert_true(fabs(1 - sum[1] / pts[1] - fnr) <= 1e-12);
	else
		assert_true(isnan(fnr) || fnr == 1);
	if (pts[0] > 0)
		assert_true(fabs(1 - sum[0] / pts[0] - fpr) <= 1e-12);
	else
		assert_true(isnan(fpr) || fpr == 1);
}

static void assert_xyz(const json_t *a, double x, double y, double z)
{
	assert_int_equal(json_array_size(a), 3);
	assert_true(json_number_value(json_array_get(a, 0)) == x);
	assert_true(json_number_value(json_array_get(a, 1)) == y);
	assert_true(json_number_value(json_array_get(a, 2)) == z);
}

/* ------------------------------------------------------------ NetMets */

static void test_netmets_sampling(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia__cloud c;
	bia_ctx_init(&ctx);
	bia__cloud_init(&c);
	/* sigma = 4, subdiv 4: spacing s = 1. Polyline A(0,0,0) -> B(2,0,0) ->
	 * C(2,1.5,0) as two segments:
	 *   AB: L = 2,   n = ceil(2/1)   = 2 -> 3 points x = 0, 1, 2
	 *   BC: L = 1.5, n = ceil(1.5/1) = 2 -> 3 points y = 0, 0.75, 1.5
	 * 6 points, B twice (shared endpoint kept, decision 11) */
	double A[3] = {0, 0, 0}, B[3] = {2, 0, 0}, C[3] = {2, 1.5, 0};
	assert_int_equal(bia__cloud_group(&ctx, &c, A, C, 1, 3), 0);
	assert_int_equal(bia__cloud_segment(&ctx, &c, A, B, 1), 0);
	assert_int_equal(bia__cloud_segment(&ctx, &c, B, C, 1), 0);
	assert_int_equal(c.n, 6);
	const double want[6][3] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0},
				   {2, 0, 0}, {2, 0.75, 0}, {2, 1.5, 0}};
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < 3; k++)
			assert_true(c.p[3 * i + k] == want[i][k]);
	assert_int_equal(c.ngroups, 1);
	assert_int_equal(c.gstart[0], 0);
	assert_int_equal(c.gstart[1], 6);
	/* L = 2.5 at s = 1: n = ceil(2.5) = 3 -> 4 points 0, 2.5/3, 5/3, 2.5 */
	double D[3] = {0, 0, 5}, E[3] = {2.5, 0, 5};
	assert_int_equal(bia__cloud_segment(&ctx, &c, D, E, 1), 0);
	assert_int_equal(c.n, 10);
	NEAR(c.p[3 * 7], 2.5 / 3);
	NEAR(c.p[3 * 8], 5.0 / 3);
	assert_true(c.p[3 * 9] == 2.5);
	/* a zero-length segment: n = 0 -> both ends, [p0, p1] */
	assert_int_equal(bia__cloud_segment(&ctx, &c, D, D, 1), 0);
	assert_int_equal(c.n, 12);
	/* counts: ceil(L/s) + 1, and 2 for L = 0 */
	assert_int_equal(bia__cloud_nsamples(2, 1), 3);
	assert_int_equal(bia__cloud_nsamples(2.0001, 1), 4);
	assert_int_equal(bia__cloud_nsamples(0, 1.25), 2);
	assert_int_equal(bia__cloud_nsamples(3, 1.25), 4); /* ceil(2.4) = 3 */
	/* the point limit is refused before allocating */
	double F[3] = {1e12, 0, 0};
	assert_int_equal(bia__cloud_segment(&ctx, &c, A, F, 1), BIA_ELIMIT);
	assert_non_null(strstr(ctx.msg, "gating_dist"));
	bia__cloud_release(&c);
}

static void test_nn_dist(void **state)
{
	(void)state;
	/* brute force on random clouds with many duplicates */
	srand(7);
	size_t nr = 3000, nq = 500;
	double *ref = malloc(nr * 3 * sizeof(double)), *q = malloc(nq * 3 * sizeof(double));
	double *d = malloc(nq * sizeof(double));
	for (size_t i = 0; i < nr * 3; i++)
		ref[i] = (double)(rand() % 20) * 0.5;
	for (size_t i = 0; i < nq * 3; i++)
		q[i] = (double)(rand() % 1000) / 40.0 - 2;
	assert_int_equal(bia__nn_dist(ref, nr, q, nq, d), 0);
	for (size_t i = 0; i < nq; i++) {
		double best = INFINITY;
		for (size_t j = 0; j < nr; j++) {
			double dx = q[3 * i] - ref[3 * j], dy = q[3 * i + 1] - ref[3 * j + 1],
			       dz = q[3 * i + 2] - ref[3 * j + 2];
			double d2 = dx * dx + dy * dy + dz * dz;
			if (d2 < best)
				best = d2;
		}
		assert_true(d[i] == sqrt(best));
	}
	/* no reference point: infinite distances */
	assert_int_equal(bia__nn_dist(ref, 0, q, 2, d), 0);
	assert_true(isinf(d[0]) && isinf(d[1]));
	/* every reference point identical */
	for (size_t i = 0; i < nr * 3; i++)
		ref[i] = 1;
	assert_int_equal(bia__nn_dist(ref, nr, q, 1, d), 0);
	double dx = q[0] - 1, dy = q[1] - 1, dz = q[2] - 1;
	assert_true(d[0] == sqrt(dx * dx + dy * dy + dz * dz));
	free(ref);
	free(q);
	free(d);
}

/* ------------------------------------------------------------ TreTrc */

/* An L-shaped tree A(0,0,0) - B(10,0,0) - C(10,6,0) and a branch B - D(10,0,3). */
static const char *tree_l = "# L tree\n"
			    "1 1 0 0 0 1 -1\n"
			    "2 3 10 0 0 1 1\n"
			    "3 3 10 6 0 1 2\n"
			    "4 3 10 0 3 1 2\n";

static void test_tretrc_identical(void **state)
{
	(void)state;
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_tre(tree_l, tree_l, 5, &r, &ctx), 0);
	/* every point has a copy at distance 0: closeness exp(0) = 1 */
	NEAR(bia_metric_get(&r, "TFNR"), 0);
	NEAR(bia_metric_get(&r, "TFPR"), 0);
	NEAR(bia_metric_get(&r, "TF1"), 1); /* recall 1, precision 1 */
	assert_string_equal(r.codes[0], "TFNR"); /* table order */
	assert_string_equal(r.codes[1], "TFPR");
	assert_string_equal(r.codes[2], "TF1");
	assert_int_equal(json_integer_value(json_object_get(r.params, "GATING_DIST")), 5);
	assert_int_equal(json_integer_value(json_object_get(r.params, "TSIGMA")), 5);
	assert_int_equal(json_integer_value(json_object_get(r.params, "TSUBDIV")), 4);
	assert_int_equal(json_array_size(r.deviations), 0); /* ids are 1..N */
	assert_int_equal(json_array_size(r.warnings), 0);
	/* 3 links per tree -> 3 GT + 3 predicted records, links in child id
	 * order, sampled child -> parent */
	assert_int_equal(json_array_size(r.objects), 6);
	json_t *o = json_array_get(r.objects, 1); /* GT link 3 -> 2 */
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "gt");
	assert_int_equal(json_integer_value(json_object_get(o, "edge")), 1);
	assert_xyz(json_object_get(o, "from"), 10, 6, 0);
	assert_xyz(json_object_get(o, "to"), 10, 0, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "from_id")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "to_id")), 2);
	/* L = 6, s = 5/4: n = ceil(4.8) = 5 -> 6 points */
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 6);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "matched");
	check_records(&r, 0, 0);
	bia_metric_result_release(&r);
}

static void test_tretrc_shifted(void **state)
{
	(void)state;
	/* the L tree moved by d = 2 along z ... but it has a z branch; use a
	 * flat tree (all z = 0) moved by d = 2 along z: every sample p has its
	 * copy p + (0,0,2) and any other sample q is at sqrt(|p-q|^2 + 4) >= 2,
	 * so every nearest distance is exactly 2.
	 * sigma = 4: closeness exp(-2^2 / (2*4^2)) = exp(-0.125) for every point
	 * TFNR = TFPR = 1 - exp(-0.125) = 0.117503097415404... */
	const char *flat = "1 1 0 0 0 1 -1\n2 1 10 0 0 1 1\n3 1 10 6 0 1 2\n4 1 3 7 0 1 1\n";
	const char *up = "1 1 0 0 2 1 -1\n2 1 10 0 2 1 1\n3 1 10 6 2 1 2\n4 1 3 7 2 1 1\n";
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_tre(flat, up, 4, &r, &ctx), 0);
	NEAR(bia_metric_get(&r, "TFNR"), 1 - exp(-0.125));
	NEAR(bia_metric_get(&r, "TFPR"), 1 - exp(-0.125));
	/* recall = precision = exp(-0.125): their harmonic mean is the same */
	NEAR(bia_metric_get(&r, "TF1"), exp(-0.125));
	check_records(&r, bia_metric_get(&r, "TFNR"), bia_metric_get(&r, "TFPR"));
	bia_metric_result_release(&r);
	/* d = 6 with sigma = 4: 1 - exp(-36/32) = 0.675347532...; the mean
	 * closeness exp(-1.125) = 0.3247 < 0.5 marks every link missed/spurious */
	const char *far = "1 1 0 0 6 1 -1\n2 1 10 0 6 1 1\n3 1 10 6 6 1 2\n4 1 3 7 6 1 1\n";
	assert_int_equal(run_tre(flat, far, 4, &r, &ctx), 0);
	NEAR(bia_metric_get(&r, "TFNR"), 1 - exp(-1.125));
	NEAR(bia_metric_get(&r, "TFPR"), 1 - exp(-1.125));
	json_t *o = json_array_get(r.objects, 0);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "missed");
	o = json_array_get(r.objects, 3);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "pred");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "spurious");
	check_records(&r, bia_metric_get(&r, "TFNR"), bia_metric_get(&r, "TFPR"));
	bia_metric_result_release(&r);
}

static void test_tretrc_duplicates_kept(void **state)
{
	(void)state;
	/* GT: A(0,0,0) <- B(2,0,0) <- C(2,1.5,0); prediction: A <- B only.
	 * sigma = 4, s = 1. GT links in child order: B->A (3 points x = 2,1,0),
	 * C->B (3 points y = 1.5, 0.75, 0): 6 points, B twice.
	 * Distances to the prediction (x = 0, 1, 2 on y = 0): 0,0,0 and
	 * 1.5, 0.75, 0. Closeness exp(-d^2/32): 1,1,1,
	 * exp(-2.25/32) = 0.932102492, exp(-0.5625/32) = 0.982575469, 1.
	 * TFNR = 1 - (4 + 0.932102492 + 0.982575469)/6 = 0.014220339780...
	 * (over 5 distinct points it would be 0.017064...). Prediction points
	 * all lie on the GT: TFPR = 0. */
	const char *gt = "1 1 0 0 0 1 -1\n2 1 2 0 0 1 1\n3 1 2 1.5 0 1 2\n";
	const char *pred = "1 1 0 0 0 1 -1\n2 1 2 0 0 1 1\n";
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_tre(gt, pred, 4, &r, &ctx), 0);
	NEAR(bia_metric_get(&r, "TFNR"), 1 - (4 + exp(-2.25 / 32) + exp(-0.5625 / 32)) / 6);
	NEAR(bia_metric_get(&r, "TFNR"), 0.014220339780428581);
	NEAR(bia_metric_get(&r, "TFPR"), 0);
	/* recall 0.98577966..., precision 1: 2 * 0.98577966 / 1.98577966 */
	NEAR(bia_metric_get(&r, "TF1"), 2 * 0.985779660219571419 / 1.985779660219571419);
	check_records(&r, bia_metric_get(&r, "TFNR"), bia_metric_get(&r, "TFPR"));
	bia_metric_result_release(&r);
}

static void test_tretrc_ids(void **state)
{
	(void)state;
	struct bia_metric_result r, r2;
	struct bia_ctx ctx;
	/* the L tree with ids 10, 20, 30, 40 in shuffled order: linked by id, it
	 * is the same tree, so the same values; recorded as a deviation
	 * (BIAFLOWS would use ids as vertex numbers) */
	const char *ids = "30 3 10 6 0 1 20\n10 1 0 0 0 1 -1\n40 3 10 0 3 1 20\n"
			  "20 3 10 0 0 1 10\n";
	const char *shift = "1 1 1 0 0 1 -1\n2 3 11 0 0 1 1\n3 3 11 6 0 1 2\n4 3 11 0 3 1 2\n";
	assert_int_equal(run_tre(ids, shift, 5, &r, &ctx), 0);
	assert_int_equal(run_tre(tree_l, shift, 5, &r2, &ctx), 0);
	assert_true(bia_metric_get(&r, "TFNR") == bia_metric_get(&r2, "TFNR"));
	assert_true(bia_metric_get(&r, "TFPR") == bia_metric_get(&r2, "TFPR"));
	/* a unit shift along x: each point's nearest is within 1, so both
	 * rates are small but not 0 */
	assert_true(bia_metric_get(&r, "TFNR") > 0 && bia_metric_get(&r, "TFNR") < 0.02);
	assert_true(has_string(r.deviations, "ids are not 1..N"));
	assert_false(has_string(r2.deviations, "ids are not 1..N"));
	json_t *o = json_array_get(r.objects, 0); /* first GT link: child 20 */
	assert_int_equal(json_integer_value(json_object_get(o, "from_id")), 20);
	assert_int_equal(json_integer_value(json_object_get(o, "to_id")), 10);
	bia_metric_result_release(&r);
	bia_metric_result_release(&r2);
	/* ids 1..N where node 1 is not the root: BIAFLOWS drops node 1's link,
	 * we keep it (and say so). Tree 2 <- 1 (node 1's parent is 2): one link
	 * of length 10 */
	const char *n1 = "1 1 10 0 0 1 2\n2 1 0 0 0 1 -1\n";
	assert_int_equal(run_tre(n1, n1, 5, &r, &ctx), 0);
	NEAR(bia_metric_get(&r, "TFNR"), 0);
	assert_true(has_string(r.deviations, "node 1"));
	/* L = 10, s = 1.25: n = 8 -> 9 points on one link */
	assert_int_equal(json_array_size(r.objects), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(r.objects, 0), "points")), 9);
	bia_metric_result_release(&r);
}

static void test_tretrc_empty(void **state)
{
	(void)state;
	struct bia_metric_result r;
	struct bia_ctx ctx;
	/* a single root has no link: an empty point cloud */
	const char *lone = "1 1 5 5 5 1 -1\n";
	/* empty prediction: every GT point at distance inf -> closeness 0,
	 * TFNR = 1 - 0 = 1; TFPR = mean over no point = NaN */
	assert_int_equal(run_tre(tree_l, lone, 5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "TFNR") == 1);
	assert_true(isnan(bia_metric_get(&r, "TFPR")));
	assert_true(bia_metric_get(&r, "TF1") == 0); /* nothing traced: the worst */
	assert_true(has_string(r.deviations, "empty prediction"));
	assert_int_equal(json_array_size(r.warnings), 1);
	assert_int_equal(json_array_size(r.objects), 3); /* 3 missed GT links */
	assert_string_equal(json_string_value(json_object_get(json_array_get(r.objects, 2), "status")),
			    "missed");
	bia_metric_result_release(&r);
	/* empty GT (no node at all): TFNR = NaN, TFPR = 1 */
	assert_int_equal(run_tre("# nothing\n", tree_l, 5, &r, &ctx), 0);
	assert_true(isnan(bia_metric_get(&r, "TFNR")));
	assert_true(bia_metric_get(&r, "TFPR") == 1);
	assert_true(bia_metric_get(&r, "TF1") == 0); /* all spurious */
	assert_true(has_string(r.deviations, "empty ground truth"));
	bia_metric_result_release(&r);
	/* both empty: both NaN */
	assert_int_equal(run_tre(lone, "", 5, &r, &ctx), 0);
	assert_true(isnan(bia_metric_get(&r, "TFNR")) && isnan(bia_metric_get(&r, "TFPR")));
	assert_true(isnan(bia_metric_get(&r, "TF1")));
	bia_metric_result_release(&r);
	/* a zeroed struct (what --missing-as-empty passes) is an empty tree */
	struct bia_swc none = {0}, g = swc(tree_l);
	struct bia_metric_input in = {0};
	in.gt_swc = &g;
	in.pred_swc = &none;
	bia_metric_result_init(&r, BIA_TRETRC);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_TRETRC, &in, NULL, 0, &r), 0);
	assert_true(bia_metric_get(&r, "TFNR") == 1);
	assert_null(r.objects);
	bia_metric_result_release(&r);
	bia_swc_release(&g);
}

static void test_tretrc_refusals(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_metric_result r;
	/* a hand-built tree whose parent does not exist */
	struct bia_swc_node nd[2] = {{1, 1, 0, 0, 0, 1, -1}, {2, 1, 1, 0, 0, 1, 9}};
	struct bia_swc bad = {2, nd}, g = swc(tree_l);
	struct bia_metric_input in = {0};
	in.gt_swc = &g;
	in.pred_swc = &bad;
	bia_ctx_init(&ctx);
	bia_metric_result_init(&r, BIA_TRETRC);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_TRETRC, &in, NULL, 0, &r), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "parent 9 of node 2"));
	nd[1].parent = 1;
	nd[1].id = 1; /* duplicate id */
	assert_int_equal(bia_metrics_compute(&ctx, BIA_TRETRC, &in, NULL, 0, &r), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "duplicate node id 1"));
	/* a bad gating distance */
	struct bia_metric_params p;
	bia_metric_params_init(&p);
	p.gating_dist = 0;
	in.pred_swc = &g;
	assert_int_equal(bia_metrics_compute(&ctx, BIA_TRETRC, &in, &p, 0, &r), BIA_EINVAL);
	/* too many sample points: tiny spacing over a long link */
	p.gating_dist = 1e-9;
	assert_int_equal(bia_metrics_compute(&ctx, BIA_TRETRC, &in, &p, 0, &r), BIA_ELIMIT);
	bia_metric_result_release(&r);
	bia_swc_release(&g);
}

/* ------------------------------------------------------------ LooTrc */

static void vol_init(struct bia_image *img, size_t x, size_t y, size_t z)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_image_init(img);
	assert_int_equal(bia_image_alloc(&ctx, img, x, y, z, 1, 1, BIA_U8), 0);
}

static void put(struct bia_image *img, size_t x, size_t y, size_t z)
{
	((uint8_t *)img->data)[bia_image_index(img, x, y, z, 0, 0)] = 1;
}

static int run_loo(const struct bia_image *gt, const struct bia_image *pred, double gd,
		   struct bia_metric_result *r, struct bia_ctx *ctx)
{
	struct bia_metric_params prm;
	bia_metric_params_init(&prm);
	prm.gating_dist = gd;
	struct bia_metric_input in = {0};
	in.gt = gt;
	in.pred = pred;
	bia_ctx_init(ctx);
	bia_metric_result_init(r, BIA_LOOTRC);
	return bia_metrics_compute(ctx, BIA_LOOTRC, &in, &prm, 1, r);
}

static json_t *rec(const struct bia_metric_result *r, const char *kind, size_t edge)
{
	size_t i;
	json_t *o;
	json_array_foreach(r->objects, i, o)
	{
		if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) &&
		    (size_t)json_integer_value(json_object_get(o, "edge")) == edge)
			return o;
	}
	fail_msg("no %s record %zu", kind, edge);
	return NULL;
}

static void assert_vertices(const json_t *o, size_t n, const int (*v)[3])
{
	json_t *a = json_object_get(o, "vertices");
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_xyz(json_array_get(a, i), v[i][0], v[i][1], v[i][2]);
}

static void test_lootrc_parallel_lines(void **state)
{
	(void)state;
	/* 2D, X = 12, Y = 6: GT row y = 1, x = 1..10 (10 voxels); prediction
	 * row y = 4, x = 1..6 (6 voxels), 3 px apart. U = 16 voxels.
	 * Distance of GT voxel x to the prediction: 3 for x <= 6, then
	 * sqrt(9+1) = 3.16, sqrt(9+4) = 3.61, sqrt(9+9) = 4.24, sqrt(9+16) = 5
	 * for x = 7..10; of every predicted voxel to the GT: 3. */
	struct bia_image g, p;
	vol_init(&g, 12, 6, 1);
	vol_init(&p, 12, 6, 1);
	for (size_t x = 1; x <= 10; x++)
		put(&g, x, 1, 0);
	for (size_t x = 1; x <= 6; x++)
		put(&p, x, 4, 0);
	struct bia_metric_result r;
	struct bia_ctx ctx;
	/* gate 2: all 10 GT + all 6 predicted voxels unmatched: 16/(2*16) = 0.5 */
	assert_int_equal(run_loo(&g, &p, 2, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "UVR") == 0.5);
	bia_metric_result_release(&r);
	/* gate 3.5: GT x = 8, 9, 10 unmatched (3.61, 4.24, 5 > 3.5):
	 * 3/(2*16) = 0.09375 */
	assert_int_equal(run_loo(&g, &p, 3.5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "UVR") == 0.09375);
	bia_metric_result_release(&r);
	/* gate 5: 5 > 5 is false, nothing unmatched */
	assert_int_equal(run_loo(&g, &p, 5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "UVR") == 0);
	/* FNR/FPR with sigma = 5, s = 1.25.
	 * GT path: L = 10 voxels, nNodes = 1 + floor(10/3) = 4, vertices at
	 * voxel 0, round(9/3) = 3, round(18/3) = 6, 9 -> x = 1, 4, 7, 10.
	 * Three segments of length 3: n = ceil(2.4) = 3, 4 points each:
	 * x = 1,2,3,4 | 4,5,6,7 | 7,8,9,10 (12 points, y = 1).
	 * Prediction path: L = 6, nNodes = 3, vertex at round(5/2) = round(2.5)
	 * = 2 (half to even; half up would give 3) -> x = 1, 3, 6: segments of
	 * length 2 (n = 2: x = 1,2,3) and 3 (n = 3: x = 3,4,5,6), 7 points.
	 * GT points to the prediction (x = 1..6 on y = 4): d^2 = 9 for the 7
	 * points with x <= 6, 10 (x = 7, twice), 13, 18, 25.
	 * FNR = 1 - (7 e^-0.18 + 2 e^-0.2 + e^-0.26 + e^-0.36 + e^-0.5)/12
	 *     = 0.20336570353149...
	 * Predicted points all have a GT point 3 away (same x):
	 * FPR = 1 - e^(-9/50) = 0.164729788588728 */
	NEAR(bia_metric_get(&r, "FNR"), 1 - (7 * exp(-0.18) + 2 * exp(-0.2) + exp(-0.26) +
					     exp(-0.36) + exp(-0.5)) / 12);
	NEAR(bia_metric_get(&r, "FNR"), 0.20336570353149186);
	NEAR(bia_metric_get(&r, "FPR"), 0.164729788588728);
	/* recall 0.79663429646850814, precision 0.835270211411272:
	 * 2 R P / (R + P) = 1.33082... / 1.63190... = 0.815495... */
	NEAR(bia_metric_get(&r, "F1"), 2 * 0.79663429646850814 * 0.835270211411272 /
					       (0.79663429646850814 + 0.835270211411272));
	assert_string_equal(r.codes[0], "UVR");
	assert_string_equal(r.codes[1], "FNR");
	assert_string_equal(r.codes[2], "FPR");
	json_t *o = rec(&r, "gt", 0);
	static const int gv[4][3] = {{1, 1, 0}, {4, 1, 0}, {7, 1, 0}, {10, 1, 0}};
	assert_vertices(o, 4, gv);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 12);
	assert_int_equal(json_integer_value(json_object_get(o, "voxels")), 10);
	o = rec(&r, "pred", 0);
	static const int pv[3][3] = {{1, 4, 0}, {3, 4, 0}, {6, 4, 0}};
	assert_vertices(o, 3, pv);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 7);
	check_records(&r, bia_metric_get(&r, "FNR"), bia_metric_get(&r, "FPR"));
	/* params, and the 2D decision */
	assert_int_equal(json_integer_value(json_object_get(r.params, "GATING_DIST")), 5);
	assert_int_equal(json_integer_value(json_object_get(r.params, "PIX_SMP")), 3);
	assert_int_equal(json_integer_value(json_object_get(r.params, "SIGMA")), 5);
	assert_int_equal(json_integer_value(json_object_get(r.params, "SUBDIV")), 4);
	assert_true(has_string(r.deviations, "LooTrc/2D: accepted as one Z plane"));
	bia_metric_result_release(&r);
	/* a non-integral gate is echoed as a real */
	assert_int_equal(run_loo(&g, &p, 3.5, &r, &ctx), 0);
	assert_true(json_real_value(json_object_get(r.params, "GATING_DIST")) == 3.5);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

/* A T: arm y = 1, x = 0..9; stem x = 6, y = 2..9 (X = Y = 11, 2D).
 * Raster ids: row 1 x = 0..9 -> 1..10, (6,2) -> 11, (6,y) y = 3..9 -> 12..18.
 * Pixel degrees > 2 (junctions): (5,1), (6,1), (7,1) (3 each) and (6,2) (4):
 * one cluster, ids 6, 7, 8, 11 -> node id 6 (first junction), at the
 * centroid x = (5+6+7+6)/4 = 6, y = (1+1+1+2)/4 = 1.25 -> OBJ (6, 1, 0).
 * Graph: 1-2-3-4-5-6, 6-9-10, 6-12-...-18; node 6 has degree 3.
 * Paths (skan): from node 1 (degree 1): [1..5, 6], L = 6; from node 6, its
 * neighbours 5 (visited), 9: [6, 9, 10], L = 3; 12: [6, 12..18], L = 8. */
static void t_shape(struct bia_image *img)
{
	vol_init(img, 11, 11, 1);
	for (size_t x = 0; x <= 9; x++)
		put(img, x, 1, 0);
	for (size_t y = 2; y <= 9; y++)
		put(img, 6, y, 0);
}

static void test_lootrc_skan_paths(void **state)
{
	(void)state;
	struct bia_image g;
	t_shape(&g);
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_loo(&g, &g, 4, &r, &ctx), 0);
	/* perfect: every distance 0 */
	assert_true(bia_metric_get(&r, "UVR") == 0);
	assert_true(bia_metric_get(&r, "FNR") == 0);
	assert_true(bia_metric_get(&r, "FPR") == 0);
	assert_int_equal(json_array_size(r.objects), 6); /* 3 paths each */
	/* path 0: L = 6, nNodes = 1 + 2 = 3; middle vertex at round(5/2) =
	 * round(2.5) = 2 (even) -> node 3 = (2,1); ends (0,1) and the cluster,
	 * truncated (6, 1.25) -> (6, 1).
	 * sigma = 4, s = 1: (0,1)-(2,1) n = 2 -> 3 points; (2,1)-(6,1) n = 4
	 * -> 5 points: 8 (the untruncated (6,1.25) would give ceil(4.0078) = 5
	 * -> 6 points, 9 in all) */
	json_t *o = rec(&r, "gt", 0);
	static const int v0[3][3] = {{0, 1, 0}, {2, 1, 0}, {6, 1, 0}};
	assert_vertices(o, 3, v0);
	assert_int_equal(json_integer_value(json_object_get(o, "voxels")), 6);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 8);
	assert_xyz(json_object_get(o, "from"), 0, 1, 0);
	assert_xyz(json_object_get(o, "to"), 6, 1, 0);
	/* path 1: [6, 9, 10], L = 3, nNodes = 2: one line (6,1) -> (9,1),
	 * n = 3 -> 4 points */
	o = rec(&r, "gt", 1);
	static const int v1[2][3] = {{6, 1, 0}, {9, 1, 0}};
	assert_vertices(o, 2, v1);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 4);
	/* path 2: [6, 12..18], L = 8, nNodes = 3, middle at round(7/2) =
	 * round(3.5) = 4 -> node 15 = (6,6); end node 18 = (6,9).
	 * (6,1)-(6,6) n = 5 -> 6 points, (6,6)-(6,9) n = 3 -> 4 points: 10 */
	o = rec(&r, "gt", 2);
	static const int v2[3][3] = {{6, 1, 0}, {6, 6, 0}, {6, 9, 0}};
	assert_vertices(o, 3, v2);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 10);
	check_records(&r, 0, 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
}

static void test_lootrc_cycle_isolated(void **state)
{
	(void)state;
	/* a diamond ring |x-2| + |y-2| = 2 (8 voxels, each with 2 diagonal
	 * neighbours, no junction) plus an isolated voxel (9,9) in the GT.
	 * Raster ids: (2,0)=1, (1,1)=2, (3,1)=3, (0,2)=4, (4,2)=5, (1,3)=6,
	 * (3,3)=7, (2,4)=8. A pure cycle: phase 2 starts at node 1 towards its
	 * lowest neighbour 2: [1, 2, 4, 6, 8, 7, 5, 3, 1], L = 9.
	 * nNodes = 1 + 3 = 4: vertices at path index 0, round(8/3) = 3 (node
	 * 6 = (1,3)), round(16/3) = 5 (node 7 = (3,3)), 8 (node 1 = (2,0)).
	 * sigma = 4, s = 1: lengths sqrt(10), 2, sqrt(10) -> n = 4, 2, 4
	 * -> 5 + 3 + 5 = 13 points */
	struct bia_image g, p;
	vol_init(&g, 12, 12, 1);
	vol_init(&p, 12, 12, 1);
	static const int ring[8][2] = {{2, 0}, {3, 1}, {4, 2}, {3, 3},
				       {2, 4}, {1, 3}, {0, 2}, {1, 1}};
	for (int i = 0; i < 8; i++) {
		put(&g, (size_t)ring[i][0], (size_t)ring[i][1], 0);
		put(&p, (size_t)ring[i][0], (size_t)ring[i][1], 0);
	}
	put(&g, 9, 9, 0);
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_loo(&g, &p, 4, &r, &ctx), 0);
	/* the isolated voxel has degree 0: no path, the clouds are equal */
	assert_true(bia_metric_get(&r, "FNR") == 0);
	assert_true(bia_metric_get(&r, "FPR") == 0);
	/* ... but it counts in UVR: U = 9 voxels; (9,9) is sqrt(6^2 + 6^2) =
	 * 8.49 > 4 from the prediction (its nearest voxel (3,3)): 1/(2*9) */
	NEAR(bia_metric_get(&r, "UVR"), 1.0 / 18);
	assert_int_equal(json_array_size(r.objects), 2);
	json_t *o = rec(&r, "gt", 0);
	static const int v[4][3] = {{2, 0, 0}, {1, 3, 0}, {3, 3, 0}, {2, 0, 0}};
	assert_vertices(o, 4, v);
	assert_int_equal(json_integer_value(json_object_get(o, "voxels")), 9);
	assert_int_equal(json_integer_value(json_object_get(o, "points")), 13);
	assert_xyz(json_object_get(o, "from"), 2, 0, 0);
	assert_xyz(json_object_get(o, "to"), 2, 0, 0);
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_lootrc_3d(void **state)
{
	(void)state;
	/* 3D (X = Y = 3, Z = 7): a line along z at (1,1), z = 0..5 (L = 6,
	 * vertices z = 0, round(2.5) = 2, 5); prediction the same line moved
	 * to x = 2 (d = 1 for every point; nearest points share z).
	 * sigma = 5, s = 1.25: segments of 2 (n = 2, 3 points) and 3 (n = 3,
	 * 4 points) in both. FNR = FPR = 1 - exp(-1/50) = 0.0198013266932447 */
	struct bia_image g, p;
	vol_init(&g, 3, 3, 7);
	vol_init(&p, 3, 3, 7);
	for (size_t z = 0; z <= 5; z++) {
		put(&g, 1, 1, z);
		put(&p, 2, 1, z);
	}
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_loo(&g, &p, 5, &r, &ctx), 0);
	NEAR(bia_metric_get(&r, "FNR"), 1 - exp(-1.0 / 50));
	NEAR(bia_metric_get(&r, "FPR"), 1 - exp(-1.0 / 50));
	/* every voxel within 1 of the other mask */
	assert_true(bia_metric_get(&r, "UVR") == 0);
	static const int v[3][3] = {{1, 1, 0}, {1, 1, 2}, {1, 1, 5}};
	assert_vertices(rec(&r, "gt", 0), 3, v);
	assert_false(has_string(r.deviations, "2D"));
	bia_metric_result_release(&r);
	bia_image_release(&g);
	bia_image_release(&p);
}

static void test_lootrc_empty(void **state)
{
	(void)state;
	struct bia_image g, e;
	t_shape(&g);
	vol_init(&e, 11, 11, 1);
	struct bia_metric_result r;
	struct bia_ctx ctx;
	/* empty prediction: FNR = 1, FPR = NaN; UVR: the 18 GT voxels are
	 * infinitely far from the (absent) prediction: 18/(2*18) = 0.5 */
	assert_int_equal(run_loo(&g, &e, 5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "FNR") == 1);
	assert_true(isnan(bia_metric_get(&r, "FPR")));
	assert_true(bia_metric_get(&r, "F1") == 0);
	assert_true(bia_metric_get(&r, "UVR") == 0.5);
	assert_true(has_string(r.deviations, "LooTrc/empty prediction"));
	assert_int_equal(json_array_size(r.warnings), 1);
	bia_metric_result_release(&r);
	/* empty GT: FNR = NaN, FPR = 1 */
	assert_int_equal(run_loo(&e, &g, 5, &r, &ctx), 0);
	assert_true(isnan(bia_metric_get(&r, "FNR")));
	assert_true(bia_metric_get(&r, "FPR") == 1);
	assert_true(has_string(r.deviations, "LooTrc/empty ground truth"));
	bia_metric_result_release(&r);
	/* both empty: UVR = 0/0 = NaN too */
	assert_int_equal(run_loo(&e, &e, 5, &r, &ctx), 0);
	assert_true(isnan(bia_metric_get(&r, "UVR")));
	assert_true(isnan(bia_metric_get(&r, "FNR")) && isnan(bia_metric_get(&r, "FPR")));
	bia_metric_result_release(&r);
	/* only isolated voxels in the prediction: no path -> empty for NetMets */
	struct bia_image iso;
	vol_init(&iso, 11, 11, 1);
	put(&iso, 0, 1, 0); /* on the GT */
	put(&iso, 10, 10, 0);
	assert_int_equal(run_loo(&g, &iso, 5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "FNR") == 1);
	assert_true(isnan(bia_metric_get(&r, "FPR")));
	bia_metric_result_release(&r);
	bia_image_release(&iso);
	bia_image_release(&g);
	bia_image_release(&e);
}

static void test_lootrc_refusals(void **state)
{
	(void)state;
	struct bia_image g, p;
	vol_init(&g, 11, 11, 1);
	vol_init(&p, 11, 10, 1);
	struct bia_metric_result r;
	struct bia_ctx ctx;
	assert_int_equal(run_loo(&g, &p, 5, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "11x10"));
	assert_non_null(strstr(ctx.msg, "11x11"));
	bia_metric_result_release(&r);
	bia_image_release(&p);
	/* T = 2 */
	struct bia_image t2, t2b;
	bia_image_init(&t2);
	bia_image_init(&t2b);
	assert_int_equal(bia_image_alloc(&ctx, &t2, 4, 4, 1, 1, 2, BIA_U8), 0);
	assert_int_equal(bia_image_alloc(&ctx, &t2b, 4, 4, 1, 1, 2, BIA_U8), 0);
	assert_int_equal(run_loo(&t2, &t2b, 5, &r, &ctx), BIA_ESHAPE);
	assert_non_null(strstr(ctx.msg, "T = 1"));
	bia_metric_result_release(&r);
	bia_image_release(&t2);
	bia_image_release(&t2b);
	/* other sample types: non-zero is skeleton (uint16 and float) */
	struct bia_image a, b;
	bia_image_init(&a);
	bia_image_init(&b);
	assert_int_equal(bia_image_alloc(&ctx, &a, 8, 3, 1, 1, 1, BIA_U16), 0);
	assert_int_equal(bia_image_alloc(&ctx, &b, 8, 3, 1, 1, 1, BIA_F32), 0);
	for (size_t x = 0; x < 8; x++) {
		bia_image_set(&a, bia_image_index(&a, x, 1, 0, 0, 0), 700);
		bia_image_set(&b, bia_image_index(&b, x, 1, 0, 0, 0), 0.25);
	}
	assert_int_equal(run_loo(&a, &b, 5, &r, &ctx), 0);
	assert_true(bia_metric_get(&r, "UVR") == 0);
	assert_true(bia_metric_get(&r, "FNR") == 0 && bia_metric_get(&r, "FPR") == 0);
	bia_metric_result_release(&r);
	bia_image_release(&a);
	bia_image_release(&b);
	bia_image_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netmets_sampling),
		cmocka_unit_test(test_nn_dist),
		cmocka_unit_test(test_tretrc_identical),
		cmocka_unit_test(test_tretrc_shifted),
		cmocka_unit_test(test_tretrc_duplicates_kept),
		cmocka_unit_test(test_tretrc_ids),
		cmocka_unit_test(test_tretrc_empty),
		cmocka_unit_test(test_tretrc_refusals),
		cmocka_unit_test(test_lootrc_parallel_lines),
		cmocka_unit_test(test_lootrc_skan_paths),
		cmocka_unit_test(test_lootrc_cycle_isolated),
		cmocka_unit_test(test_lootrc_3d),
		cmocka_unit_test(test_lootrc_empty),
		cmocka_unit_test(test_lootrc_refusals),
	};
	return cmocka_run_group_tests_name("metrics_tracing", tests, NULL, NULL);
}
