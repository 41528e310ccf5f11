/* Unit tests of src/metrics/objtrk.c: the CTC measures SEG, TRA and DET.
 * The worked example of CTC-MEASURES.md §6 (numbers printed by the
 * official executables) and hand-computed cases, the arithmetic in the
 * comments. Every TRA case checks that the per-object records count the
 * AOGM operations and give TRA back.
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

#include "metrics/metrics.h"

/* --------------------------------------------------------------- helpers */

static struct bia_image mk(size_t x, size_t y, size_t z, size_t t, enum bia_dtype dt)
{
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	bia_image_init(&img);
	if (bia_image_alloc(&ctx, &img, x, y, z, 1, t, dt))
		fail_msg("alloc: %s", ctx.msg);
	return img;
}

/* Label l on rows r0:r1, columns c0:c1 (half-open) of frame t, z = 0. */
static void rect(struct bia_image *img, double l, size_t t, size_t r0, size_t r1, size_t c0,
		 size_t c1)
{
	for (size_t y = r0; y < r1; y++)
		for (size_t x = c0; x < c1; x++)
			bia_image_set(img, bia_image_index(img, x, y, 0, 0, t), l);
}

/* Label l on x0:x1, y0:y1, z0:z1 of frame t. */
static void cube(struct bia_image *img, double l, size_t t, size_t x0, size_t x1, size_t y0,
		 size_t y1, size_t z0, size_t z1)
{
	for (size_t z = z0; z < z1; z++)
		for (size_t y = y0; y < y1; y++)
			for (size_t x = x0; x < x1; x++)
				bia_image_set(img, bia_image_index(img, x, y, z, 0, t), l);
}

/* Score gt/res with the given track files; per-object records wanted.
 * Returns rc, message in *ctx. */
static int run(struct bia_ctx *ctx, const struct bia_image *gt, const struct bia_image *res,
	       const char *gt_trk, const char *res_trk, struct bia_metric_result *r)
{
	struct bia_ctc_tracks tg, tr;
	bia_ctx_init(ctx);
	if (bia_ctc_parse(ctx, "man_track.txt", gt_trk, strlen(gt_trk), &tg))
		fail_msg("%s", ctx->msg);
	if (bia_ctc_parse(ctx, "res_track.txt", res_trk, strlen(res_trk), &tr))
		fail_msg("%s", ctx->msg);
	struct bia_metric_input in;
	memset(&in, 0, sizeof(in));
	in.gt = gt;
	in.pred = res;
	in.gt_trk = &tg;
	in.pred_trk = &tr;
	bia_metric_result_init(r, BIA_OBJTRK);
	int rc = bia_metrics_compute(ctx, BIA_OBJTRK, &in, NULL, 1, r);
	bia_ctc_release(&tg);
	bia_ctc_release(&tr);
	return rc;
}

static void ok(const struct bia_image *gt, const struct bia_image *res, const char *gt_trk,
	       const char *res_trk, struct bia_metric_result *r)
{
	struct bia_ctx ctx;
	if (run(&ctx, gt, res, gt_trk, res_trk, r))
		fail_msg("refused: %s", ctx.msg);
	assert_int_equal(r->n, 3);
	assert_string_equal(r->codes[0], "SEG");
	assert_string_equal(r->codes[1], "TRA");
	assert_string_equal(r->codes[2], "DET");
}

/* A track file inconsistent with its stack: as the CTC tools, TRA is not
 * computable (NaN, a warning with the reason) but SEG and DET are. */
static void tra_refused(const struct bia_image *gt, const struct bia_image *res,
			const char *gt_trk, const char *res_trk, int want_rc, const char *frag1,
			const char *frag2)
{
	(void)want_rc;
	struct bia_ctx ctx;
	struct bia_metric_result r;
	int rc = run(&ctx, gt, res, gt_trk, res_trk, &r);
	if (rc)
		fail_msg("refused: %s", ctx.msg);
	assert_int_equal(r.n, 3);
	assert_true(isnan(bia_metric_get(&r, "TRA")));
	assert_false(isnan(bia_metric_get(&r, "SEG")));
	assert_false(isnan(bia_metric_get(&r, "DET")));
	const char *w = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(r.warnings, i, v) if (strstr(json_string_value(v), "TRA not computable"))
		w = json_string_value(v);
	if (!w)
		fail_msg("no 'TRA not computable' warning");
	if (frag1 && !strstr(w, frag1))
		fail_msg("warning '%s' lacks '%s'", w, frag1);
	if (frag2 && !strstr(w, frag2))
		fail_msg("warning '%s' lacks '%s'", w, frag2);
	bia_metric_result_release(&r);
}

static void refused(const struct bia_image *gt, const struct bia_image *res,
		    const char *gt_trk, const char *res_trk, int want_rc, const char *frag1,
		    const char *frag2)
{
	struct bia_ctx ctx;
	struct bia_metric_result r;
	int rc = run(&ctx, gt, res, gt_trk, res_trk, &r);
	if (rc == 0)
		fail_msg("accepted (TRA %g)", bia_metric_get(&r, "TRA"));
	assert_int_equal(rc, want_rc);
	assert_int_equal(r.n, 0);
	if (frag1 && !strstr(ctx.msg, frag1))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag1);
	if (frag2 && !strstr(ctx.msg, frag2))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag2);
	bia_metric_result_release(&r);
}

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static const char *const OPS[6] = {"NS", "FN", "FP", "ED", "EA", "EC"};

static int op_index(const json_t *rec)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	assert_non_null(op);
	for (int k = 0; k < 6; k++)
		if (!strcmp(op, OPS[k]))
			return k;
	fail_msg("unknown op '%s'", op);
	return 0; /* not reached */
}

/* The records: count per op equals the expected counts, which enter
 * AOGM; AOGM rebuilt from the records (weights 5, 10, 1, 1, 1.5, 1) gives
 * TRA with AOGM0 = 10 nv + 1.5 ne, and DET with 10 nv. */
static void assert_ops(const struct bia_metric_result *r, unsigned ns, unsigned fn, unsigned fp,
		       unsigned ed, unsigned ea, unsigned ec, unsigned nv, unsigned ne)
{
	unsigned n[6] = {0};
	size_t i;
	json_t *rec;
	assert_non_null(r->objects);
	json_array_foreach(r->objects, i, rec) {
		int k = op_index(rec);
		n[k]++;
		if (k < 3) {
			assert_true(json_is_integer(json_object_get(rec, "t")));
			assert_true(json_is_integer(json_object_get(rec, "label")));
		} else {
			json_t *from = json_object_get(rec, "from"), *to = json_object_get(rec, "to");
			assert_true(json_is_integer(json_object_get(from, "t")));
			assert_true(json_is_integer(json_object_get(from, "label")));
			assert_true(json_is_integer(json_object_get(to, "t")));
			assert_true(json_is_integer(json_object_get(to, "label")));
		}
	}
	unsigned want[6] = {ns, fn, fp, ed, ea, ec};
	for (int k = 0; k < 6; k++)
		if (n[k] != want[k])
			fail_msg("%s: %u records, expected %u", OPS[k], n[k], want[k]);
	double aogm = 5.0 * n[0] + 10.0 * n[1] + 1.0 * n[2] + 1.0 * n[3] + 1.5 * n[4] + 1.0 * n[5];
	double a0 = 10.0 * nv + 1.5 * ne;
	assert_true(bia_metric_get(r, "TRA") == 1.0 - fmin(aogm, a0) / a0);
	double d = 5.0 * n[0] + 10.0 * n[1] + 1.0 * n[2], d0 = 10.0 * nv;
	assert_true(bia_metric_get(r, "DET") == 1.0 - fmin(d, d0) / d0);
}

/* Record i of r->objects. */
static const json_t *rec_at(const struct bia_metric_result *r, size_t i)
{
	const json_t *rec = json_array_get(r->objects, i);
	assert_non_null(rec);
	return rec;
}

static void assert_vertex(const json_t *rec, const char *op, long t, long label)
{
	assert_string_equal(json_string_value(json_object_get(rec, "op")), op);
	assert_int_equal(json_integer_value(json_object_get(rec, "t")), t);
	assert_int_equal(json_integer_value(json_object_get(rec, "label")), label);
}

static void assert_edge(const json_t *rec, const char *op, long t0, long l0, long t1, long l1)
{
	assert_string_equal(json_string_value(json_object_get(rec, "op")), op);
	const json_t *a = json_object_get(rec, "from"), *b = json_object_get(rec, "to");
	assert_int_equal(json_integer_value(json_object_get(a, "t")), t0);
	assert_int_equal(json_integer_value(json_object_get(a, "label")), l0);
	assert_int_equal(json_integer_value(json_object_get(b, "t")), t1);
	assert_int_equal(json_integer_value(json_object_get(b, "label")), l1);
}

static int has_warning(const struct bia_metric_result *r, const char *frag)
{
	size_t i;
	json_t *w;
	json_array_foreach(r->warnings, i, w) if (strstr(json_string_value(w), frag)) return 1;
	return 0;
}

static void fmt6(char *out, double v)
{
	snprintf(out, 32, "%.6f", v);
}

/* ------------------------------------------------- CTC-MEASURES §6 example */

/* 20x40 images (rows x columns), frames 0..2; GT markers 4x4 = 16 px.
 * keep[f] says whether frame f of the example is part of the stack. */
static void example(struct bia_image *gt, struct bia_image *res, const int keep[3])
{
	size_t nf = (size_t)(keep[0] + keep[1] + keep[2]), k = 0;
	*gt = mk(40, 20, 1, nf, BIA_U16);
	*res = mk(40, 20, 1, nf, BIA_U16);
	if (keep[0]) {
		rect(gt, 1, k, 2, 6, 2, 6);
		rect(gt, 4, k, 10, 14, 2, 6);
		rect(res, 1, k, 2, 6, 2, 6); /* GT 4 missed */
		k++;
	}
	if (keep[1]) {
		rect(gt, 1, k, 2, 6, 4, 8);
		rect(gt, 4, k, 10, 14, 4, 8);
		rect(res, 1, k, 2, 6, 4, 8);
		rect(res, 4, k, 10, 14, 4, 8);
		rect(res, 9, k, 16, 18, 30, 34); /* background object */
		k++;
	}
	if (keep[2]) {
		rect(gt, 2, k, 2, 6, 10, 14);
		rect(gt, 3, k, 7, 11, 10, 14);
		rect(gt, 4, k, 12, 16, 10, 14);
		rect(res, 1, k, 2, 6, 10, 15);	/* 20 px */
		rect(res, 4, k, 7, 16, 10, 14); /* 36 px, covers GT 3 and 4 */
	}
}

static void test_worked_example(void **state)
{
	(void)state;
	struct bia_image gt, res;
	struct bia_metric_result r;
	char s[32];
	example(&gt, &res, (const int[]){1, 1, 1});
	ok(&gt, &res, "1 0 1 0\n2 2 2 1\n3 2 2 1\n4 0 2 0\n", "1 0 2 0\n4 1 2 0\n9 1 1 0\n", &r);
	/* AOGM = 5·1 + 10·1 + 1·1 + 1·0 + 1.5·3 + 1·1 = 21.5; |V| = 7, |E| =
	 * 3 track links + 2 parent links = 5: AOGM0 = 70 + 7.5 = 77.5 */
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 21.5 / 77.5);
	fmt6(s, bia_metric_get(&r, "TRA"));
	assert_string_equal(s, "0.722581");
	/* DET: 1 - (5 + 10 + 1)/70 */
	assert_near(bia_metric_get(&r, "DET"), 1.0 - 16.0 / 70.0);
	fmt6(s, bia_metric_get(&r, "DET"));
	assert_string_equal(s, "0.771429");
	/* SEG on every GT frame (METRICS.md §11): t0 J(1) = 1, J(4) = 0; t1
	 * J(1) = J(4) = 1; t2 J(2) = 16/20, J(3) = J(4) = 16/36: 4.688889/7.
	 * The official 2.688889/5 uses man_seg000 and man_seg002 only: see
	 * test_worked_example_seg_frames */
	assert_near(bia_metric_get(&r, "SEG"),
		    (1.0 + 0.0 + 1.0 + 1.0 + 0.8 + 16.0 / 36 + 16.0 / 36) / 7.0);
	assert_ops(&r, 1, 1, 1, 0, 3, 1, 7, 5);
	/* the official log, in its order: NS, FN, FP, ED, EA, EC */
	assert_int_equal(json_array_size(r.objects), 7);
	assert_vertex(rec_at(&r, 0), "NS", 2, 4);
	assert_vertex(rec_at(&r, 1), "FN", 0, 4);
	assert_vertex(rec_at(&r, 2), "FP", 1, 9);
	/* EA in GT track order: 3's parent link, then 4's two track links */
	assert_edge(rec_at(&r, 3), "EA", 1, 1, 2, 3);
	assert_edge(rec_at(&r, 4), "EA", 0, 4, 1, 4);
	assert_edge(rec_at(&r, 5), "EA", 1, 4, 2, 4);
	assert_edge(rec_at(&r, 6), "EC", 1, 1, 2, 1);
	assert_int_equal(json_array_size(r.warnings), 0);
	bia_metric_result_release(&r);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_worked_example_seg_frames(void **state)
{
	(void)state;
	/* The official SEG of the example is computed on man_seg000 and
	 * man_seg002: a stack of those two frames gives it exactly. */
	struct bia_image gt, res;
	struct bia_metric_result r;
	char s[32];
	example(&gt, &res, (const int[]){1, 0, 1});
	ok(&gt, &res, "1 0 0 0\n2 1 1 1\n3 1 1 1\n4 0 1 0\n", "1 0 1 0\n4 1 1 0\n", &r);
	/* (1 + 0 + 0.8 + 16/36 + 16/36) / 5 = 2.688889 / 5 */
	assert_near(bia_metric_get(&r, "SEG"), (1.0 + 0.0 + 0.8 + 16.0 / 36 + 16.0 / 36) / 5.0);
	fmt6(s, bia_metric_get(&r, "SEG"));
	assert_string_equal(s, "0.537778");
	/* TRA of this 2-frame sequence: NS 1 (R4 at 1), FN 1 (GT4 at 0); R1
	 * 0->1 has partners GT1(0), GT2(1) joined by a parent link: EC 1; GT
	 * edges 1->2 (ok, EC), 1->3 (split partner), 4 0->1 (FN): EA 2.
	 * AOGM = 5 + 10 + 3 + 1 = 19; |V| = 5, |E| = 1 + 2 = 3: AOGM0 = 54.5 */
	assert_ops(&r, 1, 1, 0, 0, 2, 1, 5, 3);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 19.0 / 54.5);
	bia_metric_result_release(&r);
	bia_image_release(&gt);
	bia_image_release(&res);
}

/* ------------------------------------------------------ hand-computed cases */

/* 12x8, 4 frames: cell 1 (frames 0..1) divides into 2 and 3 (frames 2..3);
 * cell 4 lives in frames 0..3. Objects are 2x2 squares. The result uses
 * labels 10, 20, 30, 40 for the same objects. */
static const char *const DIV_GT = "1 0 1 0\n2 2 3 1\n3 2 3 1\n4 0 3 0\n";
static const char *const DIV_RES = "10 0 1 0\n20 2 3 10\n30 2 3 10\n40 0 3 0\n";

static void division(struct bia_image *img, int res)
{
	*img = mk(12, 8, 1, 4, res ? BIA_U8 : BIA_U16);
	double m = res ? 10 : 1;
	for (size_t t = 0; t < 2; t++)
		rect(img, 1 * m, t, 1, 3, 1 + t, 3 + t);
	for (size_t t = 2; t < 4; t++) {
		rect(img, 2 * m, t, 0, 2, 3, 5);
		rect(img, 3 * m, t, 3, 5, 3, 5);
	}
	for (size_t t = 0; t < 4; t++)
		rect(img, 4 * m, t, 6, 8, 8, 10);
}

static void test_perfect(void **state)
{
	(void)state;
	struct bia_image gt, res;
	struct bia_metric_result r;
	division(&gt, 0);
	division(&res, 1);
	/* identical objects, labels differ: no operation. |V| = 2+2+2+4 = 10,
	 * |E| = 1+1+1+3 track links + 2 parent links = 8 */
	ok(&gt, &res, DIV_GT, DIV_RES, &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_true(bia_metric_get(&r, "DET") == 1.0);
	assert_true(bia_metric_get(&r, "SEG") == 1.0);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 10, 8);
	assert_int_equal(json_array_size(r.deviations), 1);
	bia_metric_result_release(&r);
	/* the same without per-object records */
	struct bia_ctx ctx;
	struct bia_ctc_tracks tg, tr;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ctc_parse(&ctx, "g", DIV_GT, strlen(DIV_GT), &tg), 0);
	assert_int_equal(bia_ctc_parse(&ctx, "r", DIV_RES, strlen(DIV_RES), &tr), 0);
	struct bia_metric_input in = {.pred = &res, .gt = &gt, .pred_trk = &tr, .gt_trk = &tg};
	bia_metric_result_init(&r, BIA_OBJTRK);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJTRK, &in, NULL, 0, &r), 0);
	assert_null(r.objects);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	bia_metric_result_release(&r);
	/* GT against itself */
	in.pred = &gt;
	in.pred_trk = &tg;
	bia_metric_result_init(&r, BIA_OBJTRK);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJTRK, &in, NULL, 0, &r), 0);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_true(bia_metric_get(&r, "SEG") == 1.0);
	bia_metric_result_release(&r);
	bia_ctc_release(&tg);
	bia_ctc_release(&tr);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_empty_result(void **state)
{
	(void)state;
	struct bia_image gt, res;
	struct bia_metric_result r;
	division(&gt, 0);
	res = mk(12, 8, 1, 4, BIA_U16);
	/* every GT vertex FN (10), every GT edge EA (8): AOGM = 100 + 12 =
	 * AOGM0: TRA = 0; DET = 1 - 100/100 = 0; SEG = 0 */
	ok(&gt, &res, DIV_GT, "", &r);
	assert_true(bia_metric_get(&r, "TRA") == 0.0);
	assert_true(bia_metric_get(&r, "DET") == 0.0);
	assert_true(bia_metric_get(&r, "SEG") == 0.0);
	assert_ops(&r, 0, 10, 0, 0, 8, 0, 10, 8);
	bia_metric_result_release(&r);
	/* empty result but a non-empty result track file: refused (the
	 * official tool: "computed track ... not consistent") */
	tra_refused(&gt, &res, DIV_GT, "10 0 1 0\n", BIA_EFORMAT,
		"prediction track 10 (frames 0..1)", "missing from frame 0");
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_missed_division(void **state)
{
	(void)state;
	struct bia_image gt, res;
	struct bia_metric_result r;
	division(&gt, 0);
	res = mk(12, 8, 1, 4, BIA_U16);
	/* the result keeps label 1 on daughter 2 and starts 5 on daughter 3
	 * without a parent */
	for (size_t t = 0; t < 2; t++)
		rect(&res, 1, t, 1, 3, 1 + t, 3 + t);
	for (size_t t = 2; t < 4; t++) {
		rect(&res, 1, t, 0, 2, 3, 5);
		rect(&res, 5, t, 3, 5, 3, 5);
	}
	for (size_t t = 0; t < 4; t++)
		rect(&res, 4, t, 6, 8, 8, 10);
	ok(&gt, &res, DIV_GT, "1 0 3 0\n4 0 3 0\n5 2 3 0\n", &r);
	/* vertices all matched. RES edge 1(1)->1(2): a track link where the GT
	 * has the parent link GT1(1)->GT2(2): EC 1. GT parent link
	 * GT1(1)->GT3(2): partners R1(1), R5(2) not linked: EA 1. AOGM = 1 +
	 * 1.5 = 2.5; AOGM0 = 10·10 + 1.5·8 = 112 */
	assert_ops(&r, 0, 0, 0, 0, 1, 1, 10, 8);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 2.5 / 112.0);
	assert_true(bia_metric_get(&r, "DET") == 1.0);
	assert_true(bia_metric_get(&r, "SEG") == 1.0);
	assert_edge(rec_at(&r, 0), "EA", 1, 1, 2, 3);
	assert_edge(rec_at(&r, 1), "EC", 1, 1, 2, 1);
	bia_metric_result_release(&r);
	/* a false "division" of one daughter: cell 4 is relabelled 41 from
	 * frame 2 with parent 40. The result parent link 40(1)->41(2) has
	 * partners GT4(1), GT4(2) joined by a GT track link: EC 1. The GT
	 * track link 4(1)->4(2) has a result edge (of the other type): no EA.
	 * AOGM = 1 */
	bia_image_release(&res);
	division(&res, 1);
	for (size_t t = 2; t < 4; t++)
		rect(&res, 41, t, 6, 8, 8, 10);
	ok(&gt, &res, DIV_GT, "10 0 1 0\n20 2 3 10\n30 2 3 10\n40 0 1 0\n41 2 3 40\n", &r);
	assert_ops(&r, 0, 0, 0, 0, 0, 1, 10, 8);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 1.0 / 112.0);
	assert_edge(rec_at(&r, 0), "EC", 1, 40, 2, 41);
	bia_metric_result_release(&r);
	bia_image_release(&res);
	bia_image_release(&gt);
}

static void test_gap_parent_link(void **state)
{
	(void)state;
	/* GT cell 1 in frames 0..1, gone in frame 2, back as 2 in frames 3..4
	 * with parent 1 (a parent link across the gap). |V| = 4, |E| = 1 + 1
	 * track links + 1 parent link = 3: AOGM0 = 40 + 4.5 = 44.5 */
	struct bia_image gt = mk(8, 4, 1, 5, BIA_U16), res = mk(8, 4, 1, 5, BIA_U16);
	struct bia_metric_result r;
	for (size_t t = 0; t < 2; t++) {
		rect(&gt, 1, t, 0, 2, 0, 2);
		rect(&res, 7, t, 0, 2, 0, 2);
	}
	for (size_t t = 3; t < 5; t++) {
		rect(&gt, 2, t, 0, 2, 4, 6);
		rect(&res, 8, t, 0, 2, 4, 6);
	}
	/* the result links across the same gap: perfect */
	ok(&gt, &res, "1 0 1 0\n2 3 4 1\n", "7 0 1 0\n8 3 4 7\n", &r);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 4, 3);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	bia_metric_result_release(&r);
	/* the result does not link: EA 1, AOGM 1.5 */
	ok(&gt, &res, "1 0 1 0\n2 3 4 1\n", "7 0 1 0\n8 3 4 0\n", &r);
	assert_ops(&r, 0, 0, 0, 0, 1, 0, 4, 3);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 1.5 / 44.5);
	assert_edge(rec_at(&r, 0), "EA", 1, 1, 3, 2);
	bia_metric_result_release(&r);
	/* the GT does not link but the result does: ED 1; AOGM0 = 40 + 1.5·2
	 * = 43 */
	ok(&gt, &res, "1 0 1 0\n2 3 4 0\n", "7 0 1 0\n8 3 4 7\n", &r);
	assert_ops(&r, 0, 0, 0, 1, 0, 0, 4, 2);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 1.0 / 43.0);
	assert_edge(rec_at(&r, 0), "ED", 1, 7, 3, 8);
	bia_metric_result_release(&r);
	/* the reverse: GT cell 1 is continuous in frames 0..3, the result
	 * misses it in frame 2 and links 7(1) -> 8(3) across the gap. FN 1
	 * (GT 1 at 2); the result parent link has partners GT1(1), GT1(3):
	 * same label but not consecutive, no GT edge: ED 1; GT track links
	 * 1->2 and 2->3 touch the FN: EA 2. AOGM = 10 + 1 + 3 = 14; |V| = 4,
	 * |E| = 3: AOGM0 = 44.5. SEG = (1 + 1 + 0 + 1) / 4 */
	struct bia_image g2 = mk(8, 4, 1, 4, BIA_U16), r2 = mk(8, 4, 1, 4, BIA_U16);
	for (size_t t = 0; t < 4; t++) {
		rect(&g2, 1, t, 0, 2, 0, 2);
		if (t != 2)
			rect(&r2, t < 2 ? 7 : 8, t, 0, 2, 0, 2);
	}
	ok(&g2, &r2, "1 0 3 0\n", "7 0 1 0\n8 3 3 7\n", &r);
	assert_ops(&r, 0, 1, 0, 1, 2, 0, 4, 3);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 14.0 / 44.5);
	assert_near(bia_metric_get(&r, "SEG"), 0.75);
	assert_vertex(rec_at(&r, 0), "FN", 2, 1);
	assert_edge(rec_at(&r, 1), "ED", 1, 7, 3, 8);
	bia_metric_result_release(&r);
	bia_image_release(&g2);
	bia_image_release(&r2);
	/* a gap inside one track is illegal, in GT and result alike */
	tra_refused(&gt, &res, "1 0 4 0\n", "7 0 1 0\n8 3 4 7\n", BIA_EFORMAT,
		"ground-truth track 1 (frames 0..4)", "label 1 is missing from frame 2");
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_inconsistent(void **state)
{
	(void)state;
	struct bia_image gt, res;
	division(&gt, 0);
	division(&res, 1);
	/* result track shorter than the objects */
	tra_refused(&gt, &res, DIV_GT, "10 0 1 0\n20 2 3 10\n30 2 3 10\n40 0 2 0\n", BIA_EFORMAT,
		"prediction label 40 is present in frame 3", "outside its track (frames 0..2)");
	/* result track longer than the objects (label 10 absent from frame 2) */
	tra_refused(&gt, &res, DIV_GT, "10 0 2 0\n20 3 3 10\n30 3 3 10\n40 0 3 0\n", BIA_EFORMAT,
		"prediction track 10 (frames 0..2)", "label 10 is missing from frame 2");
	/* an object without a track */
	tra_refused(&gt, &res, DIV_GT, "10 0 1 0\n20 2 3 10\n40 0 3 0\n", BIA_EFORMAT,
		"prediction label 30 in frame 2 has no track", NULL);
	/* GT side */
	tra_refused(&gt, &res, "1 0 1 0\n2 2 3 1\n3 2 3 1\n4 0 2 0\n", DIV_RES, BIA_EFORMAT,
		"ground-truth label 4 is present in frame 3", NULL);
	tra_refused(&gt, &res, "1 0 1 0\n2 2 3 9\n3 2 3 1\n4 0 3 0\n", DIV_RES, BIA_EFORMAT,
		"ground-truth track 2 has parent 9", "no track");
	tra_refused(&gt, &res, "1 0 1 0\n2 2 3 1\n3 2 3 2\n4 0 3 0\n", DIV_RES, BIA_EFORMAT,
		"ground-truth track 3 begins at frame 2", "parent 2 ends (frame 3)");
	/* a result parent missing from the file (the official tool crashes) */
	tra_refused(&gt, &res, DIV_GT, "10 0 1 0\n20 2 3 99\n30 2 3 10\n40 0 3 0\n", BIA_EFORMAT,
		"prediction track 20 has parent 99", "no track");
	/* GT track past the last frame */
	tra_refused(&gt, &res, "1 0 1 0\n2 2 3 1\n3 2 3 1\n4 0 4 0\n", DIV_RES, BIA_EFORMAT,
		"ground-truth track 4 (frames 0..4)", "4 frames");
	/* label 0 in a track file, inside the time span */
	tra_refused(&gt, &res, DIV_GT, "0 0 0 0\n10 0 1 0\n20 2 3 10\n30 2 3 10\n40 0 3 0\n",
		BIA_EFORMAT, "label 0 is missing from frame 0", "background");
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_time_span(void **state)
{
	(void)state;
	struct bia_image gt, res;
	struct bia_metric_result r;
	division(&gt, 0);
	division(&res, 1);
	/* track files numbered from 5 (a crop of a longer movie): frame k is
	 * time 5 + k for both files, as in the official tool */
	ok(&gt, &res, "1 5 6 0\n2 7 8 1\n3 7 8 1\n4 5 8 0\n",
	   "10 5 6 0\n20 7 8 10\n30 7 8 10\n40 5 8 0\n", &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 10, 8);
	assert_true(has_warning(&r, "k + 5"));
	bia_metric_result_release(&r);
	/* result tracks reaching past the GT span are cut, result tracks
	 * outside it dropped (also label 0 there), silently in the official
	 * tool; we warn */
	ok(&gt, &res, DIV_GT,
	   "10 0 1 0\n20 2 9 10\n30 2 3 10\n40 0 100 0\n77 50 60 0\n0 70 70 0\n", &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_true(has_warning(&r, "4 prediction track(s) cut"));
	bia_metric_result_release(&r);
	/* a child whose parent ends before the span loses its parent */
	ok(&gt, &res, "1 3 4 0\n2 5 6 1\n3 5 6 1\n4 3 6 0\n",
	   "5 0 1 0\n10 3 4 5\n20 5 6 10\n30 5 6 10\n40 3 6 0\n", &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	bia_metric_result_release(&r);
	/* a child in the span whose parent lies after it: the parent is cut */
	tra_refused(&gt, &res, DIV_GT, "10 0 1 0\n20 2 3 10\n30 2 3 10\n40 0 3 50\n50 60 61 0\n",
		BIA_EFORMAT, "prediction track 40 has parent 50", "cut off");
	/* the stack starts at frame 0 but the first GT object is in frame 1:
	 * tmin = 1 maps stack frame 0 to time 1 and the official tool refuses
	 * (misaligned); so do we, explaining the mapping */
	struct bia_image g2 = mk(6, 4, 1, 3, BIA_U16), r2 = mk(6, 4, 1, 3, BIA_U16);
	for (size_t t = 1; t < 3; t++) {
		rect(&g2, 1, t, 0, 2, 0, 2);
		rect(&r2, 1, t, 0, 2, 0, 2);
	}
	tra_refused(&g2, &r2, "1 1 2 0\n", "1 1 2 0\n", BIA_EFORMAT,
		"label 1 is missing from frame 1", "frame 1 is stack frame 0");
	/* GT frames after the last GT track frame (quirk): a result object
	 * there is refused */
	struct bia_image g3 = mk(6, 4, 1, 3, BIA_U16), r3 = mk(6, 4, 1, 3, BIA_U16);
	for (size_t t = 0; t < 2; t++)
		rect(&g3, 1, t, 0, 2, 0, 2);
	for (size_t t = 0; t < 3; t++)
		rect(&r3, 1, t, 0, 2, 0, 2);
	tra_refused(&g3, &r3, "1 0 1 0\n", "1 0 2 0\n", BIA_EFORMAT,
		"prediction label 1 in frame 2 lies after the last ground-truth track frame 1",
		NULL);
	/* without the result object there it is fine: TRA 1, SEG and DET over
	 * all 3 frames */
	rect(&r3, 0, 2, 0, 2, 0, 2);
	ok(&g3, &r3, "1 0 1 0\n", "1 0 1 0\n", &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 2, 1);
	bia_metric_result_release(&r);
	bia_image_release(&g2);
	bia_image_release(&r2);
	bia_image_release(&g3);
	bia_image_release(&r3);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_half_overlap(void **state)
{
	(void)state;
	struct bia_image gt = mk(6, 6, 1, 1, BIA_U16), res = mk(6, 6, 1, 1, BIA_U16);
	struct bia_metric_result r;
	rect(&gt, 1, 0, 0, 4, 0, 4);  /* 16 px */
	rect(&res, 5, 0, 0, 2, 0, 4); /* 8 px inside: exactly 50 %, no match */
	/* FN 1 + FP 1: AOGM = 11 > AOGM0 = 10: TRA = 0; DET = 1 - 10/10 = 0;
	 * SEG: J = 0 */
	ok(&gt, &res, "1 0 0 0\n", "5 0 0 0\n", &r);
	assert_ops(&r, 0, 1, 1, 0, 0, 0, 1, 0);
	assert_true(bia_metric_get(&r, "TRA") == 0.0);
	assert_true(bia_metric_get(&r, "DET") == 0.0);
	assert_true(bia_metric_get(&r, "SEG") == 0.0);
	bia_metric_result_release(&r);
	/* one more pixel inside: 9/16 > 0.5 matches; J = 9 / (16 + 9 - 9) */
	rect(&res, 5, 0, 2, 3, 0, 1);
	ok(&gt, &res, "1 0 0 0\n", "5 0 0 0\n", &r);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_near(bia_metric_get(&r, "SEG"), 9.0 / 16.0);
	bia_metric_result_release(&r);
	/* what lies outside R does not matter for the match, only for J: 9
	 * inside + 11 outside: J = 9 / (16 + 20 - 9) = 9/27 */
	rect(&res, 5, 0, 4, 6, 0, 5);
	rect(&res, 5, 0, 0, 1, 4, 5);
	ok(&gt, &res, "1 0 0 0\n", "5 0 0 0\n", &r);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_near(bia_metric_get(&r, "SEG"), 9.0 / 27.0);
	bia_metric_result_release(&r);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_split(void **state)
{
	(void)state;
	struct bia_image gt = mk(6, 2, 1, 2, BIA_U16), res = mk(6, 2, 1, 2, BIA_U16);
	struct bia_metric_result r;
	/* two GT cells side by side in frames 0..1, one result object over
	 * both: k = 2 in each frame, NS = 2; the result edge 5(0)->5(1) joins
	 * split vertices (no cost); both GT track links touch a split: EA 2.
	 * AOGM = 10 + 3 = 13; AOGM0 = 40 + 3 = 43; DET = 1 - 10/40; SEG: J =
	 * 4/8 for each of the 4 GT objects */
	for (size_t t = 0; t < 2; t++) {
		rect(&gt, 1, t, 0, 2, 0, 2);
		rect(&gt, 2, t, 0, 2, 2, 4);
		rect(&res, 5, t, 0, 2, 0, 4);
	}
	ok(&gt, &res, "1 0 1 0\n2 0 1 0\n", "5 0 1 0\n", &r);
	assert_ops(&r, 2, 0, 0, 0, 2, 0, 4, 2);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 13.0 / 43.0);
	assert_near(bia_metric_get(&r, "DET"), 0.75);
	assert_near(bia_metric_get(&r, "SEG"), 0.5);
	assert_vertex(rec_at(&r, 0), "NS", 0, 5);
	assert_vertex(rec_at(&r, 1), "NS", 1, 5);
	bia_metric_result_release(&r);
	/* three cells under one object in a single frame: k = 3, the NS
	 * record is repeated k - 1 = 2 times. AOGM = 10, AOGM0 = 30; SEG =
	 * 4/12 for each */
	struct bia_image g1 = mk(6, 2, 1, 1, BIA_U16), r1 = mk(6, 2, 1, 1, BIA_U16);
	rect(&g1, 1, 0, 0, 2, 0, 2);
	rect(&g1, 2, 0, 0, 2, 2, 4);
	rect(&g1, 3, 0, 0, 2, 4, 6);
	rect(&r1, 5, 0, 0, 2, 0, 6);
	ok(&g1, &r1, "1 0 0 0\n2 0 0 0\n3 0 0 0\n", "5 0 0 0\n", &r);
	assert_ops(&r, 2, 0, 0, 0, 0, 0, 3, 0);
	assert_vertex(rec_at(&r, 0), "NS", 0, 5);
	assert_vertex(rec_at(&r, 1), "NS", 0, 5);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 10.0 / 30.0);
	assert_near(bia_metric_get(&r, "SEG"), 4.0 / 12.0);
	bia_metric_result_release(&r);
	bia_image_release(&g1);
	bia_image_release(&r1);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_3d(void **state)
{
	(void)state;
	/* 8x8x4, 2 frames. GT 1: cube x2:4 y2:4 z1:3 (8 voxels) in frames
	 * 0..1; GT 2: x5:7 y5:7 z0:1 in frame 0. Result 3: GT 1's cube in
	 * frame 0, z1:4 (12 voxels) in frame 1; result 4: x5:7 y5:7 z3:4 in
	 * frame 0, same x,y as GT 2 but another z: no overlap in 3D.
	 * FN 1 (GT 2), FP 1 (R 4): AOGM = 11; |V| = 3, |E| = 1: AOGM0 = 31.5.
	 * DET = 1 - 11/30. SEG = (1 + 0 + 8/12) / 3 */
	struct bia_image gt = mk(8, 8, 4, 2, BIA_U16), res = mk(8, 8, 4, 2, BIA_U32);
	struct bia_metric_result r;
	cube(&gt, 1, 0, 2, 4, 2, 4, 1, 3);
	cube(&gt, 1, 1, 2, 4, 2, 4, 1, 3);
	cube(&gt, 2, 0, 5, 7, 5, 7, 0, 1);
	cube(&res, 3, 0, 2, 4, 2, 4, 1, 3);
	cube(&res, 3, 1, 2, 4, 2, 4, 1, 4);
	cube(&res, 4, 0, 5, 7, 5, 7, 3, 4);
	ok(&gt, &res, "1 0 1 0\n2 0 0 0\n", "3 0 1 0\n4 0 0 0\n", &r);
	assert_ops(&r, 0, 1, 1, 0, 0, 0, 3, 1);
	assert_near(bia_metric_get(&r, "TRA"), 1.0 - 11.0 / 31.5);
	assert_near(bia_metric_get(&r, "DET"), 1.0 - 11.0 / 30.0);
	assert_near(bia_metric_get(&r, "SEG"), (1.0 + 0.0 + 8.0 / 12.0) / 3.0);
	assert_vertex(rec_at(&r, 0), "FN", 0, 2);
	assert_vertex(rec_at(&r, 1), "FP", 0, 4);
	bia_metric_result_release(&r);
	bia_image_release(&gt);
	bia_image_release(&res);
}

static void test_refusals(void **state)
{
	(void)state;
	struct bia_image gt, res;
	division(&gt, 0);
	/* shapes */
	res = mk(12, 8, 1, 3, BIA_U16);
	refused(&gt, &res, DIV_GT, "", BIA_ESHAPE, "prediction shape 12x8 T=3",
		"ground-truth shape 12x8 T=4");
	bia_image_release(&res);
	res = mk(12, 8, 2, 4, BIA_U16);
	refused(&gt, &res, DIV_GT, "", BIA_ESHAPE, "12x8x2 T=4", "12x8 T=4");
	bia_image_release(&res);
	/* labels that are not 16-bit CTC labels */
	res = mk(12, 8, 1, 4, BIA_F32);
	rect(&res, 2.5, 1, 0, 1, 0, 1);
	refused(&gt, &res, DIV_GT, "", BIA_EFORMAT, "prediction: value 2.5 in frame 1", NULL);
	bia_image_release(&res);
	res = mk(12, 8, 1, 4, BIA_I32);
	rect(&res, 65536, 2, 0, 1, 0, 1);
	refused(&gt, &res, DIV_GT, "", BIA_EFORMAT, "value 65536 in frame 2", "65535");
	bia_image_release(&res);
	/* an empty ground truth: SEG, TRA, DET undefined (official tools
	 * refuse: "No reference marker found!", "No ground truth object
	 * found!") */
	struct bia_image e1 = mk(4, 4, 1, 2, BIA_U16), e2 = mk(4, 4, 1, 2, BIA_U16);
	refused(&e1, &e2, "", "", BIA_EINVAL, "no object", NULL);
	/* an empty GT track file with GT objects */
	tra_refused(&gt, &gt, "", "", BIA_EFORMAT, "ground-truth label 1 in frame 0 has no track",
		NULL);
	/* missing track files */
	struct bia_ctx ctx;
	struct bia_metric_result r;
	struct bia_metric_input in = {.pred = &e2, .gt = &e1};
	bia_ctx_init(&ctx);
	bia_metric_result_init(&r, BIA_OBJTRK);
	assert_int_equal(bia_metrics_compute(&ctx, BIA_OBJTRK, &in, NULL, 1, &r), BIA_EINVAL);
	bia_metric_result_release(&r);
	bia_image_release(&e1);
	bia_image_release(&e2);
	bia_image_release(&gt);
}

static void test_many_labels(void **state)
{
	(void)state;
	/* labels 1..600 and 65535 in a 2-frame stack, one pixel each, the
	 * result shifted by one label: perfect tracking with many pairs (grows
	 * the pair hash) */
	struct bia_image gt = mk(40, 16, 1, 2, BIA_U16), res = mk(40, 16, 1, 2, BIA_U16);
	struct bia_metric_result r;
	char *gtt = calloc(601, 32), *rst = calloc(601, 32);
	assert_non_null(gtt);
	assert_non_null(rst);
	size_t lg = 0, lr = 0;
	for (unsigned l = 1; l <= 601; l++) {
		unsigned gl = l == 601 ? 65535 : l, rl = l == 601 ? 1 : l + 1;
		size_t x = (l - 1) % 40, y = (l - 1) / 40;
		for (size_t t = 0; t < 2; t++) {
			bia_image_set(&gt, bia_image_index(&gt, x, y, 0, 0, t), gl);
			bia_image_set(&res, bia_image_index(&res, x, y, 0, 0, t), rl);
		}
		lg += (size_t)sprintf(gtt + lg, "%u 0 1 0\n", gl);
		lr += (size_t)sprintf(rst + lr, "%u 0 1 0\n", rl);
	}
	ok(&gt, &res, gtt, rst, &r);
	assert_ops(&r, 0, 0, 0, 0, 0, 0, 1202, 601);
	assert_true(bia_metric_get(&r, "TRA") == 1.0);
	assert_true(bia_metric_get(&r, "SEG") == 1.0);
	bia_metric_result_release(&r);
	free(gtt);
	free(rst);
	bia_image_release(&gt);
	bia_image_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example), cmocka_unit_test(test_worked_example_seg_frames),
		cmocka_unit_test(test_perfect),	       cmocka_unit_test(test_empty_result),
		cmocka_unit_test(test_missed_division), cmocka_unit_test(test_gap_parent_link),
		cmocka_unit_test(test_inconsistent),   cmocka_unit_test(test_time_span),
		cmocka_unit_test(test_half_overlap),   cmocka_unit_test(test_split),
		cmocka_unit_test(test_3d),	       cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_many_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
