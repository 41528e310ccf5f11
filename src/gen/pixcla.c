/* PixCla: tissue-like images in the style of H&E histology. Class 0 is the
 * stroma (pink, fibrous), class 1 gland epithelium (purple, with dark
 * nuclei), class 2 the gland lumen (near white); classes 3.. are patches of
 * other tissue (dense lymphocytes, blood, mucin...). With 2 classes the
 * whole gland is class 1. RGB or grey; per-image stain variation, blur,
 * noise. Ground truth: the class mask.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double palette[8][3] = {
	{0.93, 0.64, 0.80}, /* 0 stroma */
	{0.52, 0.32, 0.62}, /* 1 epithelium */
	{0.97, 0.95, 0.97}, /* 2 lumen */
	{0.36, 0.22, 0.50}, /* 3 lymphocyte-dense */
	{0.86, 0.40, 0.45}, /* 4 blood */
	{0.76, 0.72, 0.88}, /* 5 mucin */
	{0.98, 0.86, 0.76}, /* 6 fat */
	{0.66, 0.52, 0.44}, /* 7 pigment */
};

static const double stain_var[3] = {0.02, 0.05, 0.09};	/* per-image colour shift */
static const double tex_amp[3] = {0.10, 0.18, 0.28};	/* texture strength */
static const double irregular[3] = {0.08, 0.14, 0.20};	/* gland outline harmonics */

/* Palette colour of class k after the contrast knob (pulls colours towards
 * their mean: contrast 0.6 and above keep them as they are). */
static void class_colour(int k, int K, double contrast, double out[3])
{
	double mean[3] = {0, 0, 0};
	for (int i = 0; i < K; i++)
		for (int ch = 0; ch < 3; ch++)
			mean[ch] += palette[i][ch] / K;
	double s = fmin(1.0, contrast / 0.6);
	for (int ch = 0; ch < 3; ch++)
		out[ch] = mean[ch] + s * (palette[k][ch] - mean[ch]);
}

double bia__pixcla_grey(int k, int nclasses, int color)
{
	(void)color;
	const double *p = palette[k & 7];
	(void)nclasses;
	return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

int bia__gen_pixcla(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, K = o->classes;
	size_t w = o->w, h = o->h, n = w * h;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	uint8_t *cls = bia_calloc(n, 1);
	struct bia__vol rgb[3] = {{0}}, fib = {0}, tex = {0};
	int rc = 0;
	if (!cls) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (int ch = 0; ch < 3; ch++)
		if (bia__vol_alloc(ctx, &rgb[ch], w, h, 1)) {
			rc = ctx->rc;
			goto out;
		}
	if (bia__vol_alloc(ctx, &fib, w, h, 1) || bia__vol_alloc(ctx, &tex, w, h, 1) ||
	    bia__noise_field(ctx, &fib, 18, 1, 4, bia_mix64(o->seed ^ (idx * 31 + 1))) ||
	    bia__noise_field(ctx, &tex, 5, 1, 2, bia_mix64(o->seed ^ (idx * 31 + 2)))) {
		rc = ctx->rc;
		goto out;
	}
	/* patches of the extra classes, under the glands */
	size_t npatch = K > 3 ? (size_t)((double)n / 9000.0 * o->density) + (size_t)(K - 3) : 0;
	for (size_t i = 0; i < npatch; i++) {
		struct bia__blob b;
		bia__blob_random(&b, &rng, 0, 0.12);
		double r = bia_rng_range(&rng, 18, 36);
		b.ax[0] = r * bia_rng_range(&rng, 1.0, 1.5);
		b.ax[1] = r;
		b.c[0] = bia_rng_range(&rng, 0, (double)w);
		b.c[1] = bia_rng_range(&rng, 0, (double)h);
		b.c[2] = 0;
		uint8_t k = (uint8_t)(3 + i % (size_t)(K - 3));
		long lo[3], hi[3];
		if (!bia__blob_box(&b, w, h, 1, lo, hi))
			continue;
		for (long y = lo[1]; y < hi[1]; y++)
			for (long x = lo[0]; x < hi[0]; x++)
				if (bia__blob_rho(&b, (double)x, (double)y, 0) <= 1)
					cls[(size_t)x + w * (size_t)y] = k;
	}
	/* glands: epithelial ring around a lumen, kept apart */
	size_t want = (size_t)((double)n / 5200.0 * o->density) + 1;
	double(*gl)[3] = bia_malloc2(want, sizeof(*gl));
	if (!gl) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	size_t ng = 0;
	for (size_t i = 0; i < want; i++) {
		for (int tries = 0; tries < 40; tries++) {
			double r = bia_rng_range(&rng, 16, 32);
			double cx = bia_rng_range(&rng, -0.3 * r, (double)w + 0.3 * r);
			double cy = bia_rng_range(&rng, -0.3 * r, (double)h + 0.3 * r);
			int ok = 1;
			for (size_t j = 0; j < ng && ok; j++) {
				double dx = cx - gl[j][0], dy = cy - gl[j][1], m = 1.15 * (r + gl[j][2]) + 4;
				if (dx * dx + dy * dy < m * m)
					ok = 0;
			}
			if (!ok)
				continue;
			gl[ng][0] = cx;
			gl[ng][1] = cy;
			gl[ng][2] = r * 1.35; /* outline can bulge */
			ng++;
			struct bia__blob b;
			bia__blob_random(&b, &rng, 0, irregular[L]);
			double e = bia_rng_range(&rng, 0, 0.35);
			b.ax[0] = r * (1 + e);
			b.ax[1] = r / (1 + e);
			b.c[0] = cx;
			b.c[1] = cy;
			b.c[2] = 0;
			double inner = bia_rng_range(&rng, 0.35, 0.6); /* lumen / gland radius */
			long lo[3], hi[3];
			if (!bia__blob_box(&b, w, h, 1, lo, hi))
				break;
			for (long y = lo[1]; y < hi[1]; y++)
				for (long x = lo[0]; x < hi[0]; x++) {
					double rho = bia__blob_rho(&b, (double)x, (double)y, 0);
					if (rho > 1)
						continue;
					cls[(size_t)x + w * (size_t)y] =
						(uint8_t)(K >= 3 && rho <= inner ? 2 : 1);
				}
			/* epithelial nuclei along the ring: dark dots */
			int nn = (int)(2 * M_PI * r / 4);
			for (int k = 0; k < nn; k++) {
				double a = 2 * M_PI * (k + bia_rng_range(&rng, -0.3, 0.3)) / nn;
				double rr = (inner + 0.7 * (1 - inner)) * bia_rng_range(&rng, 0.92, 1.05);
				double ca = cos(a), sa = sin(a);
				/* a point at normalised radius rr along direction a (ellipse frame) */
				double lx = rr * b.ax[0] * ca, ly = rr * b.ax[1] * sa;
				double px = cx + b.rot[0][0] * lx + b.rot[0][1] * ly;
				double py = cy + b.rot[1][0] * lx + b.rot[1][1] * ly;
				bia__add_spot(&tex, px, py, 0, 1.3, 1.3, -2.0);
			}
			break;
		}
	}
	free(gl);
	/* scattered stromal nuclei */
	size_t nsn = n / 300;
	for (size_t i = 0; i < nsn; i++) {
		double px = bia_rng_range(&rng, 0, (double)w), py = bia_rng_range(&rng, 0, (double)h);
		size_t k = (size_t)px + w * (size_t)py;
		if (k < n && cls[k] == 0)
			bia__add_spot(&tex, px, py, 0, 1.1, 1.1, -2.0);
	}
	if (K == 2)
		for (size_t i = 0; i < n; i++)
			cls[i] = cls[i] ? 1 : 0;
	/* colours */
	double col[8][3];
	for (int k = 0; k < K; k++) {
		class_colour(k, K, o->contrast, col[k]);
		for (int ch = 0; ch < 3; ch++)
			col[k][ch] *= 1 + stain_var[L] * bia_rng_normal(&rng);
	}
	double ta = tex_amp[L];
	for (size_t i = 0; i < n; i++) {
		int k = cls[i];
		double f = 1;
		double fibre = 1 - fabs(fib.v[i]); /* ridged noise: thin fibres */
		fibre = fibre * fibre * fibre * fibre;
		if (k == 0)
			f = 1 - 0.25 * fibre + 0.3 * ta * fib.v[i] + 0.2 * ta * tex.v[i];
		else if (k == 2)
			f = 1 + 0.05 * ta * tex.v[i];
		else
			f = 1 + 0.6 * ta * tex.v[i];
		for (int ch = 0; ch < 3; ch++) {
			double v = col[k][ch] * f;
			/* nuclei dots (negative spots in tex) stain dark purple */
			if ((k == 0 || k == 1) && tex.v[i] < -0.6)
				v *= 1 + 0.25 * (tex.v[i] + 0.6) * (ch == 1 ? 1.4 : 0.8);
			rgb[ch].v[i] = (float)v;
		}
	}
	for (int ch = 0; ch < 3; ch++)
		if (bia__blur(ctx, &rgb[ch], o->blur, o->blur, 0)) {
			rc = ctx->rc;
			goto out;
		}
	/* brightfield: noise relative to the colour differences */
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	double sig = o->noise * (0.3 * fmin(1.0, o->contrast / 0.6) + 0.03);
	struct bia_rng irng = rng;
	for (int ch = 0; ch < 3; ch++) {
		rng = irng; /* the same illumination on every channel */
		bia__illuminate(&rgb[ch], o->illum * 0.3, &rng);
	}
	for (size_t i = 0; i < n && sig > 0; i++) {
		double shared = 0.85 * bia_rng_normal(&crng);
		for (int ch = 0; ch < 3; ch++)
			rgb[ch].v[i] += (float)(sig * rgb[ch].v[i] * 1.6 *
						(shared + 0.5 * bia_rng_normal(&crng)));
	}
	if (bia__image_alloc(ctx, o, &s->image, o->color ? 3 : 1, 1)) {
		rc = ctx->rc;
		goto out;
	}
	if (o->color) {
		for (int ch = 0; ch < 3; ch++)
			bia__quantize(rgb[ch].v, n, &s->image, (size_t)ch * n);
	} else {
		for (size_t i = 0; i < n; i++)
			rgb[0].v[i] = 0.299f * rgb[0].v[i] + 0.587f * rgb[1].v[i] + 0.114f * rgb[2].v[i];
		bia__quantize(rgb[0].v, n, &s->image, 0);
	}
	if (bia__mask_image(ctx, cls, w, h, 1, 1, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_t *frac = json_array();
	for (int k = 0; k < K; k++) {
		size_t c = 0;
		for (size_t i = 0; i < n; i++)
			c += cls[i] == k;
		json_array_append_new(frac, json_real(floor((double)c / (double)n * 1e4 + 0.5) / 1e4));
	}
	json_object_set_new(s->info, "glands", json_integer((json_int_t)ng));
	json_object_set_new(s->info, "class_fractions", frac);
out:
	for (int ch = 0; ch < 3; ch++)
		bia__vol_free(&rgb[ch]);
	bia__vol_free(&fib);
	bia__vol_free(&tex);
	free(cls);
	return rc;
}
