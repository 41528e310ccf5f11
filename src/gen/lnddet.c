/* LndDet: a wing-like shape (in the spirit of the BIAFLOWS Drosophila wing
 * dataset) under random similarity and smooth elastic deformation, with
 * individual variation of its veins, rendered in brightfield (dark veins
 * and margin on a textured membrane) with blur and noise. N numbered
 * landmarks sit where veins meet the margin and where cross-veins cross
 * them. Ground truth: a class mask, landmark k = one pixel of value k.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

#define RY 0.45	      /* half height of the template outline */
#define NSEG 16	      /* segments per vein */
#define HINGE_X -0.82 /* where the veins start */

static const double elastic[3] = {0.02, 0.05, 0.09}; /* elastic amplitude (template units) */
static const double rot_max[3] = {0.15, 0.35, 0.7};  /* rotation range, radians */
static const double jitter[3] = {0.02, 0.035, 0.05}; /* individual variation of veins */
static const double tex_amp[3] = {0.04, 0.07, 0.1};  /* membrane texture */

static double outline_r(double th) { return 1 + 0.08 * cos(2 * th + 0.3) + 0.05 * cos(3 * th + 1.1); }

int bia__lnddet_inside(double x, double y)
{
	double u = x, v = y / RY, r = sqrt(u * u + v * v);
	return r <= outline_r(atan2(v, u));
}

static void boundary(double th, double p[2])
{
	double r = outline_r(th);
	p[0] = r * cos(th);
	p[1] = RY * r * sin(th);
}

static int nveins(int n) { return n < 4 ? 2 : (n + 2) / 3; }

/* The veins of one individual: for vein i, Bezier (hinge, control, end). */
struct wing {
	int nv;		      /* veins */
	double (*ctl)[2];     /* control points */
	double (*end)[2];     /* margin ends */
	double f1, f2;	      /* cross-vein positions along the veins */
	double hinge[2];      /* start of every vein */
};

static void vein_at(const struct wing *g, int i, double t, double p[2])
{
	double t1 = 1 - t;
	for (int a = 0; a < 2; a++)
		p[a] = t1 * t1 * g->hinge[a] + 2 * t1 * t * g->ctl[i][a] + t * t * g->end[i][a];
}

static int wing_make(struct wing *g, int n, struct bia_rng *r, double jit)
{
	g->nv = nveins(n);
	g->ctl = bia_malloc2((size_t)g->nv, sizeof(*g->ctl));
	g->end = bia_malloc2((size_t)g->nv, sizeof(*g->end));
	if (!g->ctl || !g->end)
		return -1;
	g->hinge[0] = HINGE_X;
	g->hinge[1] = 0;
	g->f1 = 0.45 + (r ? jit * bia_rng_normal(r) : 0);
	g->f2 = 0.78 + (r ? jit * bia_rng_normal(r) : 0);
	for (int i = 0; i < g->nv; i++) {
		double th = -1.15 + 2.3 * (i + 0.5) / g->nv;
		if (r)
			th += jit * 1.2 * bia_rng_normal(r) / sqrt((double)g->nv / 3.0);
		boundary(th, g->end[i]);
		double mx = (g->hinge[0] + g->end[i][0]) / 2, my = (g->hinge[1] + g->end[i][1]) / 2;
		double dx = g->end[i][0] - g->hinge[0], dy = g->end[i][1] - g->hinge[1];
		double bow = 0.06 + (r ? jit * bia_rng_normal(r) : 0);
		g->ctl[i][0] = mx - bow * dy;
		g->ctl[i][1] = my + bow * dx;
	}
	return 0;
}

static void wing_free(struct wing *g)
{
	free(g->ctl);
	free(g->end);
}

static void wing_landmark(const struct wing *g, int k, double p[2])
{
	int nv = g->nv;
	if (k < nv) {
		p[0] = g->end[k][0];
		p[1] = g->end[k][1];
	} else {
		vein_at(g, k % nv, k < 2 * nv ? g->f1 : g->f2, p);
	}
}

void bia__lnddet_template(int n, int k, double *px, double *py)
{
	struct wing g;
	double p[2] = {0, 0};
	if (!wing_make(&g, n, NULL, 0))
		wing_landmark(&g, k, p);
	wing_free(&g);
	*px = p[0];
	*py = p[1];
}

/* Smooth elastic displacement of template points. */
struct warp {
	double A;		  /* amplitude */
	double w[2][2][2], ph[2][2]; /* [component][term] frequency vectors and phases */
	double ang, s, t[2];	  /* similarity: rotation, scale (px per unit), translation */
};

static void warp_e(const struct warp *wp, const double q[2], double e[2])
{
	for (int c = 0; c < 2; c++) {
		e[c] = 0;
		for (int k = 0; k < 2; k++)
			e[c] += wp->A * sin(wp->w[c][k][0] * q[0] + wp->w[c][k][1] * q[1] + wp->ph[c][k]);
	}
}

static void warp_fwd(const struct warp *wp, const double q[2], double p[2])
{
	double e[2], u[2];
	warp_e(wp, q, e);
	u[0] = q[0] + e[0];
	u[1] = q[1] + e[1];
	double c = cos(wp->ang), s = sin(wp->ang);
	p[0] = wp->t[0] + wp->s * (c * u[0] - s * u[1]);
	p[1] = wp->t[1] + wp->s * (s * u[0] + c * u[1]);
}

static void warp_inv(const struct warp *wp, const double p[2], double q[2])
{
	double c = cos(wp->ang), s = sin(wp->ang);
	double dx = (p[0] - wp->t[0]) / wp->s, dy = (p[1] - wp->t[1]) / wp->s;
	double u[2] = {c * dx + s * dy, -s * dx + c * dy};
	q[0] = u[0];
	q[1] = u[1];
	for (int it = 0; it < 8; it++) {
		double e[2];
		warp_e(wp, q, e);
		q[0] = u[0] - e[0];
		q[1] = u[1] - e[1];
	}
}

static double seg_d2(const double p[2], const double a[2], const double b[2])
{
	double P[3] = {p[0], p[1], 0}, A[3] = {a[0], a[1], 0}, B[3] = {b[0], b[1], 0};
	return bia__seg_dist2(P, A, B, NULL);
}

int bia__gen_lnddet(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, n = o->landmarks;
	size_t w = o->w, h = o->h, npx = w * h;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	struct wing g = {0};
	struct bia__vol img = {0}, tex = {0};
	uint8_t *gt = bia_calloc(npx, 1);
	double(*poly)[2] = NULL;
	int rc = 0;
	if (!gt || wing_make(&g, n, &rng, jitter[L])) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	struct warp wp;
	wp.A = elastic[L];
	for (int c = 0; c < 2; c++)
		for (int k = 0; k < 2; k++) {
			double a = bia_rng_range(&rng, 0, 2 * M_PI), f = bia_rng_range(&rng, 1.5, 3.0);
			wp.w[c][k][0] = f * cos(a);
			wp.w[c][k][1] = f * sin(a);
			wp.ph[c][k] = bia_rng_range(&rng, 0, 2 * M_PI);
		}
	wp.ang = bia_rng_range(&rng, -rot_max[L], rot_max[L]);
	double m = (double)(w < h ? w : h);
	wp.s = 0.37 * m * bia_rng_range(&rng, 0.9, 1.0);
	wp.t[0] = (double)w / 2 + bia_rng_range(&rng, -0.04, 0.04) * m;
	wp.t[1] = (double)h / 2 + bia_rng_range(&rng, -0.04, 0.04) * m;
	/* vein polylines in template space: veins, then two cross-veins */
	int nv = g.nv, npoly = nv + 2;
	poly = bia_malloc2((size_t)npoly * (NSEG + 1) + 2 * (size_t)nv, sizeof(*poly));
	if (!poly) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nv; i++)
		for (int k = 0; k <= NSEG; k++)
			vein_at(&g, i, (double)k / NSEG, poly[i * (NSEG + 1) + k]);
	double(*cv1)[2] = poly + (size_t)nv * (NSEG + 1);
	double(*cv2)[2] = cv1 + nv;
	for (int i = 0; i < nv; i++) {
		vein_at(&g, i, g.f1, cv1[i]);
		vein_at(&g, i, g.f2, cv2[i]);
	}
	if (bia__vol_alloc(ctx, &img, w, h, 1) || bia__vol_alloc(ctx, &tex, w, h, 1) ||
	    bia__noise_field(ctx, &tex, 4, 1, 3, bia_mix64(o->seed ^ (idx * 313 + 11)))) {
		rc = ctx->rc;
		goto out;
	}
	const double B = 0.8, c = o->contrast;
	double wv = 1.1 / wp.s * (1 + 0.3 * (L == 0)); /* vein half-width, template units */
	double cut2 = (4 * wv) * (4 * wv);
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			double p[2] = {(double)x, (double)y}, q[2];
			warp_inv(&wp, p, q);
			size_t k = x + w * y;
			double v = B + 0.02 * tex.v[k];
			double u = q[0], vv = q[1] / RY, rr = sqrt(u * u + vv * vv);
			double rho = rr / outline_r(atan2(vv, u));
			if (rho <= 1) {
				v = B - 0.3 * c + tex_amp[L] * tex.v[k];
				double d2 = 1e300;
				for (int i = 0; i < nv; i++) {
					const double(*pl)[2] = poly + (size_t)i * (NSEG + 1);
					for (int j = 0; j < NSEG; j++) {
						/* cheap reject on the segment's box */
						double lx = fmin(pl[j][0], pl[j + 1][0]), hx = fmax(pl[j][0], pl[j + 1][0]);
						double ly = fmin(pl[j][1], pl[j + 1][1]), hy = fmax(pl[j][1], pl[j + 1][1]);
						double ex = q[0] < lx ? lx - q[0] : q[0] > hx ? q[0] - hx : 0;
						double ey = q[1] < ly ? ly - q[1] : q[1] > hy ? q[1] - hy : 0;
						if (ex * ex + ey * ey > cut2)
							continue;
						double dd = seg_d2(q, pl[j], pl[j + 1]);
						if (dd < d2)
							d2 = dd;
					}
				}
				double dc = 1e300;
				for (int i = 0; i + 1 < nv; i++) {
					double d1 = seg_d2(q, cv1[i], cv1[i + 1]), dd2 = seg_d2(q, cv2[i], cv2[i + 1]);
					dc = fmin(dc, fmin(d1, dd2));
				}
				v -= 0.8 * c * exp(-d2 / (2 * wv * wv));
				v -= 0.65 * c * exp(-dc / (2 * 0.7 * wv * 0.7 * wv));
				if (rho > 0.97)
					v -= 0.5 * c;
			}
			img.v[k] = (float)v;
		}
	bia__illuminate(&img, o->illum * 0.5, &rng);
	if (bia__blur(ctx, &img, o->blur, o->blur, 0)) {
		rc = ctx->rc;
		goto out;
	}
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	bia__cam_setup(&cam, o->noise, 0.5 * c, B - 0.5 * c);
	bia__cam_apply(&cam, &crng, img.v, npx);
	if (bia__image_alloc(ctx, o, &s->image, 1, 1)) {
		rc = ctx->rc;
		goto out;
	}
	bia__quantize(img.v, npx, &s->image, 0);
	/* landmarks: forward warp, rounded; a taken pixel moves to the nearest
	 * free one */
	for (int k = 0; k < n; k++) {
		double q[2], p[2];
		wing_landmark(&g, k, q);
		warp_fwd(&wp, q, p);
		long x = (long)floor(p[0] + 0.5), y = (long)floor(p[1] + 0.5);
		int done = 0;
		for (long r = 0; r < 8 && !done; r++)
			for (long dy = -r; dy <= r && !done; dy++)
				for (long dx = -r; dx <= r && !done; dx++) {
					long X = x + dx, Y = y + dy;
					if (X < 0 || Y < 0 || X >= (long)w || Y >= (long)h)
						continue;
					if (!gt[(size_t)X + w * (size_t)Y]) {
						gt[(size_t)X + w * (size_t)Y] = (uint8_t)(k + 1);
						done = 1;
					}
				}
		if (!done) {
			rc = bia_fail(ctx, BIA_ELIMIT, "landmark %d does not fit the image (larger --size)",
				      k + 1);
			goto out;
		}
	}
	if (bia__mask_image(ctx, gt, w, h, 1, 1, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(s->info, "landmarks", json_integer(n));
	json_object_set_new(s->info, "rotation", json_real(floor(wp.ang * 1e4 + 0.5) / 1e4));
out:
	wing_free(&g);
	bia__vol_free(&img);
	bia__vol_free(&tex);
	free(gt);
	free(poly);
	return rc;
}
