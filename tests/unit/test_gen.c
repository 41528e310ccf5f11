/* Unit tests of src/gen: the PRNG and its distributions, option bounds,
 * determinism, ground truth that passes the validators and scores
 * perfectly against itself (every class, 2D and 3D), perturbations, the
 * difficulty ordering of the baselines, dataset writing and previews.
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
#include <unistd.h>

#include "annot/annot.h"
#include "gen/gen.h"
#include "gen/gen_int.h"
#include "metrics/metrics.h"

/* ---------------------------------------------------------------- helpers */

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bia-test-gen-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_rm_rf(&ctx, tmpdir);
	return 0;
}

/* Resolved options of a class with a size, frames and level. */
static struct bia_gen_opts opts(enum bia_class c, size_t w, size_t h, size_t d, size_t t,
				enum bia_gen_level l, size_t n)
{
	struct bia_gen_opts o;
	bia_gen_opts_init(&o, c);
	o.w = w;
	o.h = h;
	o.d = d;
	o.frames = t;
	o.level = l;
	o.n = n;
	o.seed = 11;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	if (bia_gen_opts_resolve(&ctx, &o))
		fail_msg("resolve %s: %s", bia_class_code(c), ctx.msg);
	return o;
}

static void gen(const struct bia_gen_opts *o, size_t i, struct bia_gen_sample *s)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	if (bia_gen_sample(&ctx, o, i, s))
		fail_msg("gen %s: %s", bia_class_code(o->cls), ctx.msg);
}

static int same_image(const struct bia_image *a, const struct bia_image *b)
{
	return a->x == b->x && a->y == b->y && a->z == b->z && a->c == b->c && a->t == b->t &&
	       a->dtype == b->dtype && !memcmp(a->data, b->data, bia_image_nbytes(a));
}

/* Score pred against gt in-process. Returns 0 and fills r, or skips the
 * test when the class's metrics are not available (yet). */
static int score(enum bia_class cls, const struct bia_gen_sample *pred,
		 const struct bia_gen_sample *gt, struct bia_metric_result *r)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_metric_params p;
	bia_metric_params_init(&p);
	struct bia_metric_input in = {&pred->gt, &gt->gt, &pred->swc, &gt->swc, &pred->tracks,
				      &gt->tracks};
	bia_metric_result_init(r, cls);
	int rc = bia_metrics_compute(&ctx, cls, &in, &p, 0, r);
	if (rc == BIA_EUNSUPPORTED) {
		bia_metric_result_release(r);
		return -1;
	}
	if (rc)
		fail_msg("metrics %s: %s", bia_class_code(cls), ctx.msg);
	return 0;
}

/* The perfect value of a metric; NAN when it is a count to compare apart. */
static double perfect(const char *code)
{
	static const struct {
		const char *code;
		double v;
	} t[] = {{"DC", 1},    {"AHD", 0},   {"FOVL", 1}, {"mAP", 1},  {"JI", 1},	 {"AP50", 1},
		 {"PQ", 1},    {"CTC_SEG", 1}, {"REC", 0},  {"FN", 0},	 {"FP", 0},	 {"RE", 1},
		 {"PR", 1},    {"F1", 1},    {"RMSE", 0}, {"ACC", 1},  {"TFNR", 0}, {"TFPR", 0},
		 {"UVR", 0},   {"FNR", 0},   {"FPR", 0},  {"SEG", 1},  {"TRA", 1},	 {"DET", 1},
		 {"PD", 0},    {"NPSA", 1},  {"FNPSB", 1}, {"JST", 1}, {"NMT", 0},	 {"NST", 0},
		 {"JSD", 1},   {"NMD", 0},   {"NSD", 0},  {"MRE", 0}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].code, code))
			return t[i].v;
	return NAN;
}

static void assert_perfect(enum bia_class cls, const struct bia_gen_sample *s, const char *what)
{
	struct bia_metric_result r;
	if (score(cls, s, s, &r))
		return; /* metrics of this class not there yet */
	for (size_t i = 0; i < r.n; i++) {
		double want = perfect(r.codes[i]), v = r.values[i];
		if (isnan(want))
			continue;
		if (!(fabs(v - want) < 1e-6))
			fail_msg("%s %s: %s = %.9g, want %g", bia_class_code(cls), what, r.codes[i], v, want);
	}
	/* counts: as many predicted as reference */
	static const char *const pairs[][2] = {{"NREF", "NPRED"}, {"NRT", "NCT"}, {"NRT", "NPT"},
					       {"NRD", "NCD"},	 {"NRD", "NPD"}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		double a = bia_metric_get(&r, pairs[i][0]), b = bia_metric_get(&r, pairs[i][1]);
		if (!isnan(a) && a != b)
			fail_msg("%s %s: %s = %g but %s = %g", bia_class_code(cls), what, pairs[i][0], a,
				 pairs[i][1], b);
	}
	bia_metric_result_release(&r);
}

/* ---------------------------------------------------------------- PRNG */

static void test_rng(void **state)
{
	(void)state;
	struct bia_rng a, b, c;
	bia_rng_seed_stream(&a, 1, 2, 3);
	bia_rng_seed_stream(&b, 1, 2, 3);
	bia_rng_seed_stream(&c, 1, 2, 4);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = bia_rng_next(&a);
		assert_true(x == bia_rng_next(&b));
		differ |= x != bia_rng_next(&c);
	}
	assert_true(differ);
	/* uniform, below, normal, Poisson: first two moments */
	double s = 0, ss = 0;
	int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = bia_rng_uniform(&a);
		assert_true(u >= 0 && u < 1);
		s += u;
		uint64_t k = bia_rng_below_reject(&a, 7);
		assert_true(k < 7);
	}
	assert_true(fabs(s / n - 0.5) < 0.01);
	s = ss = 0;
	for (int i = 0; i < n; i++) {
		double g = bia_rng_normal(&a);
		s += g;
		ss += g * g;
	}
	assert_true(fabs(s / n) < 0.01);
	assert_true(fabs(ss / n - 1) < 0.02);
	static const double lams[] = {0.5, 3, 9.9, 10, 30, 1000, 1e6};
	for (size_t j = 0; j < sizeof(lams) / sizeof(lams[0]); j++) {
		double lam = lams[j];
		s = ss = 0;
		for (int i = 0; i < 50000; i++) {
			double k = bia_rng_poisson(&a, lam);
			s += k;
			ss += k * k;
		}
		double mean = s / 50000, var = ss / 50000 - mean * mean;
		if (fabs(mean - lam) > 0.03 * lam + 0.05 || fabs(var - lam) > 0.06 * lam + 0.05)
			fail_msg("poisson(%g): mean %g var %g", lam, mean, var);
	}
	assert_int_equal(bia_rng_poisson(&a, 0), 0);
}

static void test_blur_and_noise_field(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia__vol v = {0};
	assert_int_equal(bia__vol_alloc(&ctx, &v, 33, 31, 9), 0);
	v.v[16 + 33 * (15 + 31 * 4)] = 1000;
	assert_int_equal(bia__blur(&ctx, &v, 2, 2, 1.0), 0);
	double sum = 0, peak = 0;
	for (size_t i = 0; i < bia__vol_n(&v); i++) {
		sum += v.v[i];
		if (v.v[i] > peak)
			peak = v.v[i];
	}
	assert_true(fabs(sum - 1000) < 0.5); /* mass kept */
	assert_true(fabs(v.v[16 + 33 * (15 + 31 * 4)] - peak) < 1e-3);
	/* symmetric */
	assert_true(fabs(v.v[14 + 33 * (15 + 31 * 4)] - v.v[18 + 33 * (15 + 31 * 4)]) < 1e-3);
	assert_int_equal(bia__noise_field(&ctx, &v, 8, 4, 3, 42), 0);
	double mn = 1e9, mx = -1e9;
	for (size_t i = 0; i < bia__vol_n(&v); i++) {
		mn = fmin(mn, v.v[i]);
		mx = fmax(mx, v.v[i]);
	}
	assert_true(mn < -0.2 && mx > 0.2 && mn > -2.5 && mx < 2.5);
	/* smooth: neighbours close */
	double maxstep = 0;
	for (size_t i = 1; i < 33; i++)
		maxstep = fmax(maxstep, fabs(v.v[i] - v.v[i - 1]));
	assert_true(maxstep < 0.6);
	bia__vol_free(&v);
}

/* ---------------------------------------------------------------- options */

static void expect_bad(struct bia_gen_opts o, enum bia_rc want, const char *needle)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	int rc = bia_gen_opts_resolve(&ctx, &o);
	if (rc != (int)want || !strstr(ctx.msg, needle))
		fail_msg("want rc %d with '%s', got %d '%s'", want, needle, rc, ctx.msg);
}

static void test_options(void **state)
{
	(void)state;
	struct bia_gen_opts o;
	bia_gen_opts_init(&o, BIA_OBJSEG);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), 0);
	assert_int_equal(o.w, 256);
	assert_int_equal(o.d, 1);
	assert_int_equal(o.n, 4);
	assert_true(o.noise > 0 && o.contrast > 0);
	bia_gen_opts_init(&o, BIA_LOOTRC);
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), 0);
	assert_int_equal(o.d, 32);
	bia_gen_opts_init(&o, BIA_PRTTRK);
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), 0);
	assert_int_equal(o.frames, 50);
	/* presets order */
	struct bia_gen_opts e = opts(BIA_OBJSEG, 64, 64, 1, 0, BIA_GEN_EASY, 1);
	struct bia_gen_opts h = opts(BIA_OBJSEG, 64, 64, 1, 0, BIA_GEN_HARD, 1);
	assert_true(e.noise < h.noise && e.blur < h.blur && e.contrast > h.contrast);

	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.w = 8;
	o.h = 64;
	expect_bad(o, BIA_ELIMIT, "between 16 and");
	o.w = 64;
	o.frames = 5;
	expect_bad(o, BIA_EUNSUPPORTED, "--frames applies to ObjTrk and PrtTrk only");
	bia_gen_opts_init(&o, BIA_PIXCLA);
	o.w = o.h = 64;
	o.d = 8;
	expect_bad(o, BIA_EUNSUPPORTED, "2D only");
	bia_gen_opts_init(&o, BIA_PIXCLA);
	o.classes = 9;
	expect_bad(o, BIA_ELIMIT, "--classes");
	bia_gen_opts_init(&o, BIA_OBJTRK);
	o.frames = 1;
	expect_bad(o, BIA_ELIMIT, "--frames must be between 2");
	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.w = o.h = 16384;
	expect_bad(o, BIA_ELIMIT, "more than the limit");
	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.objects = 1000000;
	expect_bad(o, BIA_ELIMIT, "--objects must be between 1 and");
	bia_gen_opts_init(&o, BIA_LNDDET);
	o.tracks = 3;
	expect_bad(o, BIA_EUNSUPPORTED, "--tracks applies to PrtTrk only");
	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.contrast = 0;
	expect_bad(o, BIA_ELIMIT, "--contrast");
	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.n = BIA_GEN_MAX_N + 1;
	expect_bad(o, BIA_ELIMIT, "--n");
	/* the context's pixel limit wins */
	bia_gen_opts_init(&o, BIA_OBJSEG);
	o.w = o.h = 512;
	bia_ctx_init(&ctx);
	ctx.max_pixels = 1000;
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), BIA_ELIMIT);
	assert_non_null(strstr(ctx.msg, "limit of 1000"));

	struct bia_gen_perturb q;
	memset(&q, 0, sizeof(q));
	q.flip = -1;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "drop=0.1,split=0.2,merge=0.3,shift=-2", &q), 0);
	assert_true(q.on && q.drop == 0.1 && q.split == 0.2 && q.merge == 0.3 && q.shift == -2);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "drop=2", &q), BIA_EUSAGE);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "shift=1.5", &q), BIA_EUSAGE);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "wobble=1", &q), BIA_EUSAGE);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "drop", &q), BIA_EUSAGE);
	/* flip defaults to drop + split + merge */
	bia_gen_opts_init(&o, BIA_PIXCLA);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "drop=0.1,split=0.2", &o.perturb), 0);
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), 0);
	assert_true(fabs(o.perturb.flip - 0.3) < 1e-12);
}

/* ---------------------------------------------------------------- content */

/* Configurations covering every class, 2D and 3D. */
struct cfg {
	enum bia_class cls;
	size_t w, h, d, t;
};
static const struct cfg cfgs[] = {
	{BIA_OBJSEG, 96, 80, 1, 0},  {BIA_OBJSEG, 48, 40, 12, 0}, {BIA_SPTCNT, 96, 80, 1, 0},
	{BIA_SPTCNT, 48, 40, 12, 0}, {BIA_OBJDET, 96, 80, 1, 0},  {BIA_OBJDET, 48, 40, 12, 0},
	{BIA_PIXCLA, 96, 80, 1, 0},  {BIA_TRETRC, 96, 80, 1, 0},  {BIA_TRETRC, 64, 56, 16, 0},
	{BIA_LOOTRC, 96, 80, 1, 0},  {BIA_LOOTRC, 64, 56, 12, 0}, {BIA_OBJTRK, 80, 64, 1, 8},
	{BIA_OBJTRK, 48, 40, 10, 5}, {BIA_PRTTRK, 80, 64, 1, 10}, {BIA_PRTTRK, 48, 40, 10, 6},
	{BIA_LNDDET, 96, 96, 1, 0},
};
#define NCFG (sizeof(cfgs) / sizeof(cfgs[0]))

static void test_deterministic(void **state)
{
	(void)state;
	for (size_t k = 0; k < NCFG; k++) {
		const struct cfg *c = &cfgs[k];
		struct bia_gen_opts o = opts(c->cls, c->w, c->h, c->d, c->t, BIA_GEN_MEDIUM, 2);
		struct bia_gen_sample a, b, x;
		gen(&o, 1, &a);
		gen(&o, 1, &b);
		gen(&o, 0, &x);
		assert_true(same_image(&a.image, &b.image));
		assert_false(same_image(&a.image, &x.image));
		if (c->cls == BIA_TRETRC) {
			assert_int_equal(a.swc.n, b.swc.n);
			assert_memory_equal(a.swc.nodes, b.swc.nodes, a.swc.n * sizeof(*a.swc.nodes));
		} else {
			assert_true(same_image(&a.gt, &b.gt));
		}
		if (c->cls == BIA_OBJTRK) {
			assert_int_equal(a.tracks.n, b.tracks.n);
			assert_memory_equal(a.tracks.tracks, b.tracks.tracks,
					    a.tracks.n * sizeof(*a.tracks.tracks));
		}
		/* image shape */
		assert_int_equal(a.image.x, c->w);
		assert_int_equal(a.image.y, c->h);
		assert_int_equal(a.image.z, c->d);
		assert_int_equal(a.image.t, c->t ? c->t : 1);
		assert_int_equal(a.image.c, c->cls == BIA_PIXCLA ? 3 : 1);
		bia_gen_sample_release(&a);
		bia_gen_sample_release(&b);
		bia_gen_sample_release(&x);
	}
	/* a noise change leaves the scene (ground truth) as it was */
	struct bia_gen_opts o = opts(BIA_OBJSEG, 96, 96, 1, 0, BIA_GEN_MEDIUM, 1);
	struct bia_gen_sample a, b;
	gen(&o, 0, &a);
	o.noise = 0.9;
	gen(&o, 0, &b);
	assert_true(same_image(&a.gt, &b.gt));
	assert_false(same_image(&a.image, &b.image));
	bia_gen_sample_release(&a);
	bia_gen_sample_release(&b);
}

/* Labels 1..N all present. */
static void assert_consecutive(const struct bia_image *m, const char *what)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	uint32_t *lab = bia__image_labels(&ctx, m);
	assert_non_null(lab);
	size_t n = bia_image_nsamples(m);
	uint32_t mx = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] > mx)
			mx = lab[i];
	uint8_t *seen = calloc((size_t)mx + 1, 1);
	for (size_t i = 0; i < n; i++)
		seen[lab[i]] = 1;
	for (uint32_t l = 1; l <= mx; l++)
		if (!seen[l])
			fail_msg("%s: label %u of 1..%u missing", what, l, mx);
	assert_true(mx > 0);
	free(seen);
	free(lab);
}

static void test_ground_truth(void **state)
{
	(void)state;
	for (size_t k = 0; k < NCFG; k++) {
		const struct cfg *c = &cfgs[k];
		for (int l = 0; l < 3; l++) {
			struct bia_gen_opts o = opts(c->cls, c->w, c->h, c->d, c->t, (enum bia_gen_level)l, 1);
			struct bia_gen_sample s;
			gen(&o, 0, &s);
			char what[96];
			snprintf(what, sizeof(what), "%s %zux%zux%zu %s", bia_class_code(c->cls), c->w, c->h,
				 c->d, bia_gen_level_name(o.level));
			/* written, read back, validated */
			char dir[512], p[600];
			snprintf(dir, sizeof(dir), "%s/gt-%zu-%d", tmpdir, k, l);
			struct bia_ctx ctx;
			bia_ctx_init(&ctx);
			assert_int_equal(bia_mkdir_p(&ctx, dir), 0);
			if (bia_gen_write_gt(&ctx, c->cls, &s, dir))
				fail_msg("%s: %s", what, ctx.msg);
			struct bia_image m;
			bia_image_init(&m);
			const char *texts[1];
			size_t ntext = 0;
			if (c->cls == BIA_TRETRC) {
				snprintf(p, sizeof(p), "%s/%s.swc", dir, s.stem);
				texts[ntext++] = p;
			} else {
				snprintf(p, sizeof(p), "%s/%s.tif", dir, s.stem);
				struct bia_read_opts ro = {0};
				ro.pages = c->t ? BIA_PAGES_T : BIA_PAGES_Z;
				if (bia_image_read(&ctx, p, &ro, &m))
					fail_msg("%s: %s", what, ctx.msg);
				assert_true(same_image(&m, &s.gt));
				if (c->cls == BIA_OBJTRK) {
					snprintf(p, sizeof(p), "%s/%s.txt", dir, s.stem);
					texts[ntext++] = p;
				}
			}
			if (bia_annot_validate_set(&ctx, c->cls, what, m.data ? &m : NULL, texts, ntext))
				fail_msg("%s: %s", what, ctx.msg);
			if (c->cls == BIA_TRETRC) {
				struct bia_swc sw;
				assert_int_equal(bia_swc_load(&ctx, p, &sw), 0);
				assert_int_equal(sw.n, s.swc.n);
				for (size_t i = 0; i < sw.n; i++) {
					assert_true(sw.nodes[i].id == (int64_t)i + 1);
					assert_true(sw.nodes[i].parent < sw.nodes[i].id);
					assert_true(fabs(sw.nodes[i].x - s.swc.nodes[i].x) < 1e-9);
				}
				bia_swc_release(&sw);
			}
			if (c->cls == BIA_OBJSEG || c->cls == BIA_OBJTRK || c->cls == BIA_PRTTRK)
				assert_consecutive(&s.gt, what);
			if (c->cls == BIA_LNDDET) {
				/* every landmark exactly once */
				size_t cnt[256] = {0};
				for (size_t i = 0; i < bia_image_nsamples(&s.gt); i++)
					cnt[((uint8_t *)s.gt.data)[i]]++;
				for (int q = 1; q <= o.landmarks; q++)
					assert_int_equal(cnt[q], 1);
			}
			assert_perfect(c->cls, &s, what);
			bia_image_release(&m);
			bia_gen_sample_release(&s);
		}
	}
}

static void test_objtrk_divisions(void **state)
{
	(void)state;
	/* a longer sequence divides, and daughters start after the mother ends */
	struct bia_gen_opts o = opts(BIA_OBJTRK, 128, 128, 1, 40, BIA_GEN_MEDIUM, 1);
	struct bia_gen_sample s;
	gen(&o, 0, &s);
	size_t withparent = 0;
	for (size_t i = 0; i < s.tracks.n; i++) {
		const struct bia_ctc_track *t = &s.tracks.tracks[i];
		assert_int_equal(t->label, i + 1);
		assert_true(t->begin <= t->end);
		if (t->parent) {
			withparent++;
			const struct bia_ctc_track *p = &s.tracks.tracks[t->parent - 1];
			assert_true(p->end < t->begin);
		}
	}
	assert_true(withparent >= 2);
	bia_gen_sample_release(&s);
}

static void test_ctc_rebuild(void **state)
{
	(void)state;
	/* 1 pixel frames: label 5 present at t = 0, 1, 3 (gap at 2); label 7
	 * (child of 5) at t = 4 */
	uint32_t lab[5][2] = {{5, 0}, {5, 0}, {0, 0}, {5, 0}, {7, 7}};
	uint32_t parent_of[8] = {0, 0, 0, 0, 0, 0, 0, 5};
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_ctc_tracks t = {0};
	assert_int_equal(bia__ctc_rebuild(&ctx, &lab[0][0], 2, 5, parent_of, 7, 1, &t), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.tracks[0].begin, 0);
	assert_int_equal(t.tracks[0].end, 1);
	assert_int_equal(t.tracks[0].parent, 0);
	assert_int_equal(t.tracks[1].begin, 3);
	assert_int_equal(t.tracks[1].end, 3);
	assert_int_equal(t.tracks[1].parent, 1); /* the gap is a parent link */
	assert_int_equal(t.tracks[2].begin, 4);
	assert_int_equal(t.tracks[2].parent, 2); /* the child links to the last piece */
	assert_int_equal(lab[3][0], 2);
	assert_int_equal(lab[4][1], 3);
	free(t.tracks);
}

/* ---------------------------------------------------------------- perturb */

static void test_perturb(void **state)
{
	(void)state;
	for (size_t k = 0; k < NCFG; k++) {
		const struct cfg *c = &cfgs[k];
		struct bia_gen_opts o = opts(c->cls, c->w, c->h, c->d, c->t, BIA_GEN_MEDIUM, 1);
		struct bia_gen_sample s, p, p2, z;
		gen(&o, 0, &s);
		char what[64];
		snprintf(what, sizeof(what), "%s %zux%zux%zu", bia_class_code(c->cls), c->w, c->h, c->d);
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		/* nothing asked: the prediction is the ground truth */
		o.perturb.on = 1;
		o.perturb.flip = 0;
		if (bia_gen_perturb(&ctx, &o, 0, &s, &z))
			fail_msg("%s: %s", what, ctx.msg);
		if (c->cls == BIA_TRETRC)
			assert_int_equal(z.swc.n, s.swc.n);
		else
			assert_true(same_image(&z.gt, &s.gt));
		/* errors: still valid, deterministic, and worse than perfect */
		o.perturb.drop = o.perturb.split = o.perturb.merge = 0.2;
		o.perturb.flip = 0.3;
		o.perturb.shift = 1;
		if (bia_gen_perturb(&ctx, &o, 0, &s, &p) || bia_gen_perturb(&ctx, &o, 0, &s, &p2))
			fail_msg("%s: %s", what, ctx.msg);
		if (c->cls == BIA_TRETRC) {
			struct bia_buf b;
			assert_int_equal(p.swc.n, p2.swc.n);
			assert_true(p.swc.n < s.swc.n);
			bia_buf_init(&b, 1 << 24);
			for (size_t i = 0; i < p.swc.n; i++)
				bia_buf_addf(&b, "%lld 3 %.3f %.3f %.3f 1 %lld\n", (long long)p.swc.nodes[i].id,
					     p.swc.nodes[i].x, p.swc.nodes[i].y, p.swc.nodes[i].z,
					     (long long)p.swc.nodes[i].parent);
			struct bia_swc sw;
			if (bia_swc_parse(&ctx, what, b.buf, b.len, &sw))
				fail_msg("%s: %s", what, ctx.msg);
			bia_swc_release(&sw);
			bia_buf_release(&b);
		} else {
			assert_true(same_image(&p.gt, &p2.gt));
			assert_false(same_image(&p.gt, &s.gt));
			if (bia_annot_validate_mask(&ctx, c->cls, what, &p.gt))
				fail_msg("%s: %s", what, ctx.msg);
			if (c->cls == BIA_OBJTRK && bia_ctc_check(&ctx, what, &p.gt, &p.tracks))
				fail_msg("%s: %s", what, ctx.msg);
		}
		struct bia_metric_result r;
		if (!score(c->cls, &p, &s, &r)) {
			const char *m = bia_metric_main(c->cls);
			const struct bia_metric_def *d = bia_metric_find(c->cls, m);
			double v = bia_metric_get(&r, m);
			/* LndDet: a dropped landmark makes MRE NaN, as in BIAFLOWS */
			if (!isnan(v) && (d->higher_is_better ? v > 1 - 1e-6 : v < 1e-6))
				fail_msg("%s: perturbed %s = %g is still perfect", what, m, v);
			bia_metric_result_release(&r);
		}
		bia_gen_sample_release(&s);
		bia_gen_sample_release(&p);
		bia_gen_sample_release(&p2);
		bia_gen_sample_release(&z);
	}
}

/* ---------------------------------------------------------------- difficulty */

static void test_difficulty(void **state)
{
	(void)state;
	static const struct cfg dc[] = {
		{BIA_OBJSEG, 128, 128, 1, 0}, {BIA_SPTCNT, 128, 128, 1, 0}, {BIA_OBJDET, 128, 128, 1, 0},
		{BIA_PIXCLA, 128, 128, 1, 0}, {BIA_TRETRC, 96, 96, 24, 0},  {BIA_LOOTRC, 96, 96, 24, 0},
		{BIA_OBJTRK, 96, 96, 1, 12},  {BIA_PRTTRK, 96, 96, 1, 15},  {BIA_LNDDET, 128, 128, 1, 0},
	};
	for (size_t k = 0; k < sizeof(dc) / sizeof(dc[0]); k++) {
		const struct cfg *c = &dc[k];
		const char *m = bia_metric_main(c->cls);
		const struct bia_metric_def *d = bia_metric_find(c->cls, m);
		double mean[3];
		int have = 1;
		for (int l = 0; l < 3 && have; l++) {
			struct bia_gen_opts o = opts(c->cls, c->w, c->h, c->d, c->t, (enum bia_gen_level)l, 3);
			double sum = 0;
			for (size_t i = 0; i < o.n && have; i++) {
				struct bia_gen_sample s, b;
				gen(&o, i, &s);
				bia_gen_sample_init(&b);
				struct bia_ctx ctx;
				bia_ctx_init(&ctx);
				if (bia_gen_baseline(&ctx, &o, &s.image, &b))
					fail_msg("baseline %s: %s", bia_class_code(c->cls), ctx.msg);
				struct bia_metric_result r;
				if (score(c->cls, &b, &s, &r)) {
					have = 0;
				} else {
					sum += bia_metric_get(&r, m);
					bia_metric_result_release(&r);
				}
				bia_gen_sample_release(&s);
				bia_gen_sample_release(&b);
			}
			mean[l] = sum / 3;
		}
		if (!have)
			continue;
		print_message("# %s %s: easy %.4f medium %.4f hard %.4f\n", bia_class_code(c->cls), m,
			      mean[0], mean[1], mean[2]);
		int ok = d->higher_is_better ? mean[0] > mean[1] && mean[1] > mean[2]
					     : mean[0] < mean[1] && mean[1] < mean[2];
		if (!ok)
			fail_msg("%s %s does not get worse with difficulty: %g %g %g",
				 bia_class_code(c->cls), m, mean[0], mean[1], mean[2]);
	}
}

/* ---------------------------------------------------------------- files */

static int count_files(const char *dir)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "ls -1 '%s' 2>/dev/null | wc -l", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void test_write_dataset(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_gen_opts o = opts(BIA_OBJTRK, 64, 64, 1, 5, BIA_GEN_EASY, 2);
	assert_int_equal(bia_gen_perturb_parse(&ctx, "drop=0.1,shift=1", &o.perturb), 0);
	assert_int_equal(bia_gen_opts_resolve(&ctx, &o), 0);
	char out[400], png[400], p[500];
	snprintf(out, sizeof(out), "%s/ds", tmpdir);
	snprintf(png, sizeof(png), "%s/prev.png", tmpdir);
	if (bia_gen_write_dataset(&ctx, &o, out, 0, png))
		fail_msg("%s", ctx.msg);
	snprintf(p, sizeof(p), "%s/images", out);
	assert_int_equal(count_files(p), 2);
	snprintf(p, sizeof(p), "%s/groundtruth", out);
	assert_int_equal(count_files(p), 4); /* .tif + .txt each */
	snprintf(p, sizeof(p), "%s/predictions", out);
	assert_int_equal(count_files(p), 4);
	snprintf(p, sizeof(p), "%s/dataset.json", out);
	json_t *doc = bia_json_load_file(&ctx, p);
	assert_non_null(doc);
	assert_string_equal(bia_json_str(doc, "class", ""), "ObjTrk");
	assert_string_equal(bia_json_str(doc, "version", ""), BIA_GEN_VERSION);
	assert_int_equal(json_array_size(json_object_get(doc, "images")), 2);
	struct bia_gen_opts back;
	assert_int_equal(bia_gen_opts_from_json(&ctx, doc, &back), 0);
	assert_int_equal(back.w, 64);
	assert_int_equal(back.frames, 5);
	assert_true(back.noise == o.noise && back.level == BIA_GEN_EASY);
	json_decref(doc);
	struct stat st;
	assert_int_equal(stat(png, &st), 0);
	assert_true(st.st_size > 100 && st.st_size < 150 * 1024);
	/* not over an existing dataset, unless forced */
	assert_int_equal(bia_gen_write_dataset(&ctx, &o, out, 0, NULL), BIA_EEXIST);
	assert_non_null(strstr(ctx.msg, "--force"));
	o.n = 1;
	o.perturb.on = 0;
	assert_int_equal(bia_gen_write_dataset(&ctx, &o, out, 1, NULL), 0);
	snprintf(p, sizeof(p), "%s/images", out);
	assert_int_equal(count_files(p), 1);
	snprintf(p, sizeof(p), "%s/predictions", out);
	assert_int_equal(count_files(p), 0);
	/* a non-empty folder that is not a dataset: refused even with force */
	snprintf(p, sizeof(p), "%s/other", tmpdir);
	assert_int_equal(bia_mkdir_p(&ctx, p), 0);
	snprintf(png, sizeof(png), "%s/other/keep.txt", tmpdir);
	assert_int_equal(bia_write_file_atomic(&ctx, png, "x", 1), 0);
	assert_int_equal(bia_gen_write_dataset(&ctx, &o, p, 1, NULL), BIA_EEXIST);
	assert_int_equal(count_files(p), 1);
	/* the baseline over the folder */
	snprintf(p, sizeof(p), "%s/base", tmpdir);
	if (bia_gen_baseline_dir(&ctx, out, p))
		fail_msg("%s", ctx.msg);
	assert_int_equal(count_files(p), 2);
}

static void test_previews(void **state)
{
	(void)state;
	for (size_t k = 0; k < NCFG; k++) {
		const struct cfg *c = &cfgs[k];
		struct bia_gen_opts o = opts(c->cls, c->w, c->h, c->d, c->t, BIA_GEN_MEDIUM, 1);
		struct bia_gen_sample s;
		gen(&o, 0, &s);
		char png[400];
		snprintf(png, sizeof(png), "%s/p%zu.png", tmpdir, k);
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		if (bia_gen_preview(&ctx, c->cls, &s, png))
			fail_msg("%s: %s", bia_class_code(c->cls), ctx.msg);
		struct bia_image im;
		assert_int_equal(bia_image_read(&ctx, png, NULL, &im), 0);
		assert_int_equal(im.x, 2 * c->w + 4);
		assert_int_equal(im.y, c->h);
		assert_int_equal(im.c, 3);
		bia_image_release(&im);
		bia_gen_sample_release(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),		 cmocka_unit_test(test_blur_and_noise_field),
		cmocka_unit_test(test_options),		 cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_ground_truth),	 cmocka_unit_test(test_objtrk_divisions),
		cmocka_unit_test(test_ctc_rebuild),	 cmocka_unit_test(test_perturb),
		cmocka_unit_test(test_difficulty),	 cmocka_unit_test(test_write_dataset),
		cmocka_unit_test(test_previews),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
