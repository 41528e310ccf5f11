/* PrtTrk: diffraction-limited particles in 2D or 3D time series (ISBI 2012
 * particle-tracking style). Each track is Brownian or directed (with
 * switching), appears and disappears during the sequence, leaves the field,
 * and blinks (frames where it is invisible in the image but still annotated:
 * gaps a tracker must bridge). Static background cells,
 * uneven illumination, Poisson + Gaussian noise per frame.
 * Ground truth: a label stack, one pixel per track per frame, label = track
 * id (1..N by first appearance).
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double speed[3] = {1.2, 2.0, 3.0};	      /* directed motion, px/frame */
static const double diffusion[3] = {0.6, 1.1, 1.7};   /* Brownian step sigma, px/frame */
static const double blink[3] = {0.0, 0.04, 0.1};      /* chance of a missed frame */
static const double switch_p[3] = {0.0, 0.02, 0.05};  /* motion-mode switches per frame */
static const double amp_var[3] = {0.3, 0.5, 0.65};    /* brightness spread */
static const double bg_level[3] = {0.3, 0.6, 1.0};    /* background cells, x contrast */

int bia__gen_prttrk(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d, T = o->frames;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	long n = o->tracks ? o->tracks
			   : (long)floor(o->density * (double)nvox / (is3d ? 12000.0 : 1500.0) + 0.5);
	if (n < 1)
		n = 1;
	double sigma = fmax(0.6, o->blur), sz = 2 * sigma, c = o->contrast;
	float(*pos)[3] = bia_malloc2((size_t)n * T, sizeof(*pos));
	uint8_t *vis = bia_calloc((size_t)n * T, 1); /* 1 visible, 2 present but blinking */
	double *amp = bia_malloc2((size_t)n, sizeof(double));
	uint32_t *lab = bia_calloc(nvox * T, sizeof(uint32_t));
	struct bia__vol bg = {0}, ill = {0}, fr = {0};
	int rc = 0;
	if (!pos || !vis || !amp || !lab) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double hi[3] = {(double)w - 1, (double)h - 1, is3d ? (double)d - 1 : 0};
	for (long k = 0; k < n; k++) {
		size_t t0 = bia_rng_uniform(&rng) < 0.6 ? 0 : 1 + (size_t)bia_rng_below_reject(&rng, T > 2 ? T - 2 : 1);
		size_t t1 = T - 1;
		if (bia_rng_uniform(&rng) < 0.5) {
			size_t dur = 3 + (size_t)(-log(1 - bia_rng_uniform(&rng)) * (double)T / 2);
			if (t0 + dur < t1)
				t1 = t0 + dur;
		}
		double p[3] = {bia_rng_range(&rng, 0, hi[0]), bia_rng_range(&rng, 0, hi[1]),
			       is3d ? bia_rng_range(&rng, 0, hi[2]) : 0};
		int directed = bia_rng_uniform(&rng) < 0.4;
		double ang = bia_rng_range(&rng, 0, 2 * M_PI), el = is3d ? 0.3 * bia_rng_normal(&rng) : 0;
		double v = speed[L] * bia_rng_range(&rng, 0.7, 1.3);
		double db = diffusion[L] * bia_rng_range(&rng, 0.6, 1.4);
		amp[k] = c * (1 - amp_var[L] * bia_rng_uniform(&rng));
		for (size_t t = t0; t <= t1; t++) {
			if (t > t0) {
				if (bia_rng_uniform(&rng) < switch_p[L])
					directed = !directed;
				double step[3];
				if (directed) {
					ang += 0.15 * bia_rng_normal(&rng);
					step[0] = v * cos(ang) * cos(el) + 0.3 * db * bia_rng_normal(&rng);
					step[1] = v * sin(ang) * cos(el) + 0.3 * db * bia_rng_normal(&rng);
					step[2] = is3d ? 0.5 * v * sin(el) + 0.3 * db * bia_rng_normal(&rng) : 0;
				} else {
					step[0] = db * bia_rng_normal(&rng);
					step[1] = db * bia_rng_normal(&rng);
					step[2] = is3d ? 0.5 * db * bia_rng_normal(&rng) : 0;
				}
				int out = 0;
				for (int i = 0; i < 3; i++) {
					p[i] += step[i];
					out |= p[i] < 0 || p[i] > hi[i];
				}
				if (out)
					break; /* left the field: the track ends */
			}
			size_t j = (size_t)k * T + t;
			for (int i = 0; i < 3; i++)
				pos[j][i] = (float)p[i];
			int blinks = t > t0 && t < t1 && bia_rng_uniform(&rng) < blink[L];
			vis[j] = blinks ? 2 : 1;
		}
	}
	/* static background and illumination */
	if (bia__vol_alloc(ctx, &bg, w, h, d) || bia__vol_alloc(ctx, &ill, w, h, d) ||
	    bia__vol_alloc(ctx, &fr, w, h, d) ||
	    bia__background_cells(ctx, o, idx, &rng, &bg, NULL, bg_level[L] * c)) {
		rc = ctx->rc;
		goto out;
	}
	const double bgl = 0.06;
	for (size_t i = 0; i < nvox; i++) {
		bg.v[i] += (float)bgl;
		ill.v[i] = 1;
	}
	bia__illuminate(&ill, o->illum, &rng);
	if (bia__image_alloc(ctx, o, &s->image, 1, T)) {
		rc = ctx->rc;
		goto out;
	}
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	bia__cam_setup(&cam, o->noise, c, bgl);
	size_t ndet = 0, nblink = 0;
	for (size_t t = 0; t < T; t++) {
		memcpy(fr.v, bg.v, nvox * sizeof(float));
		uint32_t *gl = lab + t * nvox;
		for (long k = 0; k < n; k++) {
			size_t j = (size_t)k * T + t;
			if (!vis[j])
				continue;
			const float *p = pos[j];
			/* a blinking particle is not in the image, but it is still
			 * annotated: trackers must bridge the gap */
			if (vis[j] == 1) {
				double a = amp[k] * (1 + 0.1 * bia_rng_normal(&rng));
				bia__add_spot(&fr, p[0], p[1], p[2], sigma, sz, a);
			}
			long x = (long)floor(p[0] + 0.5), y = (long)floor(p[1] + 0.5),
			     z = (long)floor(p[2] + 0.5);
			/* two particles on one pixel: the later one is annotated on the
			 * nearest free pixel */
			int done = 0;
			for (long r = 0; r <= 2 && !done; r++)
				for (long dy = -r; dy <= r && !done; dy++)
					for (long dx = -r; dx <= r && !done; dx++) {
						long X = x + dx, Y = y + dy;
						if (X < 0 || Y < 0 || X >= (long)w || Y >= (long)h)
							continue;
						size_t q = (size_t)X + w * ((size_t)Y + h * (size_t)z);
						if (!gl[q]) {
							gl[q] = (uint32_t)k + 1;
							ndet++;
							done = 1;
						}
					}
			nblink += vis[j] == 2;
		}
		for (size_t i = 0; i < nvox; i++)
			fr.v[i] *= ill.v[i];
		bia__cam_apply(&cam, &crng, fr.v, nvox);
		bia__quantize(fr.v, nvox, &s->image, t * nvox);
	}
	long ntr = bia__compact_labels(lab, nvox * T, 0);
	if (ntr < 0) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (ntr > 65535) {
		rc = bia_fail(ctx, BIA_ELIMIT, "%ld tracks do not fit 16-bit labels (fewer --tracks)", ntr);
		goto out;
	}
	if (bia__labels_image(ctx, lab, w, h, d, T, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(s->info, "tracks", json_integer(ntr));
	json_object_set_new(s->info, "detections", json_integer((json_int_t)ndet));
	json_object_set_new(s->info, "invisible", json_integer((json_int_t)nblink));
out:
	bia__vol_free(&bg);
	bia__vol_free(&ill);
	bia__vol_free(&fr);
	free(pos);
	free(vis);
	free(amp);
	free(lab);
	return rc;
}
