/* SptCnt and ObjDet: diffraction-limited spots (sub-pixel Gaussian PSF,
 * axially elongated in 3D) mostly inside dim cells, over a background of
 * autofluorescent cells and out-of-focus blobs, with uneven illumination
 * and Poisson + Gaussian noise. Ground truth: one pixel per spot (1).
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double min_sep[3] = {4.0, 2.2, 1.0};  /* min spot distance, in PSF sigmas */
static const double amp_var[3] = {0.3, 0.5, 0.7};  /* spot brightness spread */
static const double bg_level[3] = {0.3, 0.7, 1.2}; /* background structures, x contrast */

int bia__background_cells(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
			  struct bia_rng *rng, struct bia__vol *bgv, uint8_t *cells,
			  double strength)
{
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d;
	int is3d = d > 1;
	double r0 = is3d ? 14 : 22;
	double cellvol = is3d ? 4.0 / 3.0 * M_PI * r0 * r0 * r0 : M_PI * r0 * r0;
	size_t ncells = (size_t)(0.45 * (double)nvox / cellvol) + 1;
	memset(bgv->v, 0, nvox * sizeof(float));
	if (cells)
		memset(cells, 0, nvox);
	for (size_t i = 0; i < ncells; i++) {
		struct bia__blob b;
		bia__blob_random(&b, rng, is3d, 0.08);
		double r = r0 * bia_rng_range(rng, 0.7, 1.2);
		double e = bia_rng_range(rng, 0, 0.35);
		b.ax[0] = r * (1 + e);
		b.ax[1] = r / (1 + e);
		if (is3d)
			b.ax[2] = 0.8 * r;
		b.c[0] = bia_rng_range(rng, 0, (double)w);
		b.c[1] = bia_rng_range(rng, 0, (double)h);
		b.c[2] = is3d ? bia_rng_range(rng, 0, (double)d) : 0;
		double amp = strength * bia_rng_range(rng, 0.15, 0.35);
		long lo[3], hi[3];
		if (!bia__blob_box(&b, w, h, d, lo, hi))
			continue;
		for (long z = lo[2]; z < hi[2]; z++)
			for (long y = lo[1]; y < hi[1]; y++)
				for (long x = lo[0]; x < hi[0]; x++) {
					double rho = bia__blob_rho(&b, (double)x, (double)y, (double)z);
					if (rho > 1)
						continue;
					size_t k = (size_t)x + w * ((size_t)y + h * (size_t)z);
					if (amp > bgv->v[k])
						bgv->v[k] = (float)amp;
					if (cells)
						cells[k] = 1;
				}
	}
	if (bia__blur(ctx, bgv, 2.5, 2.5, is3d ? 2.5 : 0))
		return ctx->rc;
	/* out-of-focus blobs and texture */
	struct bia__vol tex = {0};
	if (bia__vol_alloc(ctx, &tex, w, h, d) ||
	    bia__noise_field(ctx, &tex, 24, 12, 2, bia_mix64(o->seed ^ (idx * 7919 + 99)))) {
		bia__vol_free(&tex);
		return ctx->rc;
	}
	for (size_t k = 0; k < nvox; k++)
		bgv->v[k] += (float)(strength * 0.12 * (tex.v[k] > 0 ? tex.v[k] : 0));
	bia__vol_free(&tex);
	size_t nblobs = (size_t)((double)nvox / (is3d ? 60000.0 : 12000.0)) + 1;
	for (size_t i = 0; i < nblobs; i++)
		bia__add_spot(bgv, bia_rng_range(rng, 0, (double)w), bia_rng_range(rng, 0, (double)h),
			      is3d ? bia_rng_range(rng, 0, (double)d) : 0, bia_rng_range(rng, 5, 12),
			      bia_rng_range(rng, 4, 8), strength * bia_rng_range(rng, 0.1, 0.3));
	return 0;
}

int bia__gen_spots(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		   struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	double sigma = fmax(0.6, o->blur), sz = 2 * sigma, c = o->contrast;
	long n = o->objects ? o->objects
			    : (long)floor(o->density * (double)nvox / (is3d ? 3000.0 : 350.0) + 0.5);
	if (n < 1)
		n = 1;
	struct bia__vol img = {0};
	uint8_t *cells = bia_malloc2(nvox, 1), *gt = bia_calloc(nvox, 1);
	int rc = 0;
	if (!cells || !gt) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (bia__vol_alloc(ctx, &img, w, h, d)) {
		rc = ctx->rc;
		goto out;
	}
	if (bia__background_cells(ctx, o, idx, &rng, &img, cells, bg_level[L] * c)) {
		rc = ctx->rc;
		goto out;
	}
	const double bg = 0.06;
	for (size_t k = 0; k < nvox; k++)
		img.v[k] += (float)bg;
	/* spots: sub-pixel positions, distinct pixels, a minimum separation */
	double sep = min_sep[L] * sigma, sep2 = sep * sep;
	double cell = fmax(sep, 1.0);
	size_t gw = (size_t)((double)w / cell) + 1, gh = (size_t)((double)h / cell) + 1,
	       gd = is3d ? (size_t)((double)d / cell) + 1 : 1;
	long *head = bia_malloc2(gw * gh * gd, sizeof(long)), *next = bia_malloc2((size_t)n, sizeof(long));
	double(*pos)[3] = bia_malloc2((size_t)n, sizeof(*pos));
	if (!head || !next || !pos) {
		free(head);
		free(next);
		free(pos);
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < gw * gh * gd; i++)
		head[i] = -1;
	long placed = 0;
	for (long i = 0; i < n; i++) {
		int want_cell = bia_rng_uniform(&rng) < 0.8;
		for (int tries = 0; tries < 60; tries++) {
			double p[3] = {bia_rng_range(&rng, 0, (double)w - 1),
				       bia_rng_range(&rng, 0, (double)h - 1),
				       is3d ? bia_rng_range(&rng, 0, (double)d - 1) : 0};
			long ix = (long)floor(p[0] + 0.5), iy = (long)floor(p[1] + 0.5),
			     iz = (long)floor(p[2] + 0.5);
			size_t k = (size_t)ix + w * ((size_t)iy + h * (size_t)iz);
			if (gt[k] || (want_cell && tries < 40 && !cells[k]))
				continue;
			long cx = (long)(p[0] / cell), cy = (long)(p[1] / cell),
			     cz = is3d ? (long)(p[2] / cell) : 0;
			int ok = 1;
			for (long zz = cz - 1; zz <= cz + 1 && ok; zz++)
				for (long yy = cy - 1; yy <= cy + 1 && ok; yy++)
					for (long xx = cx - 1; xx <= cx + 1 && ok; xx++) {
						if (xx < 0 || yy < 0 || zz < 0 || xx >= (long)gw ||
						    yy >= (long)gh || zz >= (long)gd)
							continue;
						for (long j = head[(size_t)xx + gw * ((size_t)yy + gh * (size_t)zz)];
						     j >= 0 && ok; j = next[j]) {
							double dx = p[0] - pos[j][0], dy = p[1] - pos[j][1],
							       dz = p[2] - pos[j][2];
							if (dx * dx + dy * dy + dz * dz < sep2)
								ok = 0;
						}
					}
			if (!ok)
				continue;
			memcpy(pos[placed], p, sizeof(p));
			size_t g = (size_t)cx + gw * ((size_t)cy + gh * (size_t)cz);
			next[placed] = head[g];
			head[g] = placed;
			gt[k] = 1;
			double amp = c * (1 - amp_var[L] * bia_rng_uniform(&rng));
			bia__add_spot(&img, p[0], p[1], p[2], sigma, sz, amp);
			placed++;
			break;
		}
	}
	free(head);
	free(next);
	free(pos);
	bia__illuminate(&img, o->illum, &rng);
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	bia__cam_setup(&cam, o->noise, c, bg);
	bia__cam_apply(&cam, &crng, img.v, nvox);
	if (bia__image_alloc(ctx, o, &s->image, 1, 1) ||
	    bia__mask_image(ctx, gt, w, h, d, 1, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	bia__quantize(img.v, nvox, &s->image, 0);
	json_object_set_new(s->info, "spots", json_integer(placed));
out:
	bia__vol_free(&img);
	free(cells);
	free(gt);
	return rc;
}
