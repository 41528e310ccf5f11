/* ObjSeg: fluorescent nuclei in 2D or 3D (SIMCEP-like). Irregular
 * ellipses / ellipsoids with random orientation and eccentricity, placed
 * uniformly or in clusters where they may touch and overlap; later nuclei
 * occlude earlier ones in the label image and in the rendered intensity
 * alike. Smooth-noise chromatin texture, dome profile, uneven illumination,
 * Gaussian PSF, Poisson + Gaussian noise.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

/* Per-level structure (the knobs set intensity, noise, blur, density). */
static const double touch_k[3] = {1.05, 0.85, 0.68};   /* min centre distance / (ri + rj) */
static const double ecc_max[3] = {0.25, 0.45, 0.6};    /* a/b = (1+e)^2 */
static const double irregular[3] = {0.03, 0.06, 0.09}; /* boundary harmonics */
static const double cluster_p[3] = {0.15, 0.5, 0.85};  /* fraction placed in clusters */
static const double amp_var[3] = {0.15, 0.35, 0.55};   /* brightness spread among nuclei */
static const double tex_amp[3] = {0.12, 0.22, 0.32};   /* chromatin texture */

struct grid {
	double cell;	   /* cell size in pixels */
	size_t gw, gh, gd; /* cells per axis */
	long *head;	   /* first object in a cell, -1 */
	long *next;	   /* next object in the same cell */
};

static int grid_init(struct grid *g, size_t w, size_t h, size_t d, double cell, size_t nmax)
{
	g->cell = cell;
	g->gw = (size_t)((double)w / cell) + 1;
	g->gh = (size_t)((double)h / cell) + 1;
	g->gd = (size_t)((double)d / cell) + 1;
	g->head = bia_malloc2(g->gw * g->gh * g->gd, sizeof(long));
	g->next = bia_malloc2(nmax ? nmax : 1, sizeof(long));
	if (!g->head || !g->next)
		return -1;
	for (size_t i = 0; i < g->gw * g->gh * g->gd; i++)
		g->head[i] = -1;
	return 0;
}

static size_t cell_of(const struct grid *g, double v, size_t n)
{
	long c = (long)floor(v / g->cell);
	return c < 0 ? 0 : (size_t)c >= n ? n - 1 : (size_t)c;
}

static void grid_add(struct grid *g, const double c[3], long id)
{
	size_t k = cell_of(g, c[0], g->gw) + g->gw * (cell_of(g, c[1], g->gh) +
						     g->gh * cell_of(g, c[2], g->gd));
	g->next[id] = g->head[k];
	g->head[k] = id;
}

struct nuc {
	struct bia__blob b; /* shape */
	double r;	    /* equivalent radius */
	double amp;	    /* brightness factor */
};

/* Does a nucleus at c with radius r keep the minimum distance to all? */
static int fits(const struct grid *g, const struct nuc *v, const double c[3], double r, double k)
{
	long cx = (long)cell_of(g, c[0], g->gw), cy = (long)cell_of(g, c[1], g->gh),
	     cz = (long)cell_of(g, c[2], g->gd);
	for (long z = cz - 1; z <= cz + 1; z++)
		for (long y = cy - 1; y <= cy + 1; y++)
			for (long x = cx - 1; x <= cx + 1; x++) {
				if (x < 0 || y < 0 || z < 0 || x >= (long)g->gw || y >= (long)g->gh ||
				    z >= (long)g->gd)
					continue;
				for (long i = g->head[(size_t)x + g->gw * ((size_t)y + g->gh * (size_t)z)];
				     i >= 0; i = g->next[i]) {
					double dx = c[0] - v[i].b.c[0], dy = c[1] - v[i].b.c[1],
					       dz = c[2] - v[i].b.c[2];
					double m = k * (r + v[i].r);
					if (dx * dx + dy * dy + dz * dz < m * m)
						return 0;
				}
			}
	return 1;
}

int bia__gen_objseg(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);

	double vol = (double)nvox, cov = fmin(0.25 * o->density, 0.6);
	double r0;
	long n;
	if (o->objects) {
		n = o->objects;
		r0 = is3d ? cbrt(cov * vol / (4.0 / 3.0 * M_PI * (double)n))
			  : sqrt(cov * vol / (M_PI * (double)n));
		r0 = fmax(3, fmin(40, r0));
	} else {
		r0 = is3d ? 6 : 9;
		n = (long)floor(cov * vol / (is3d ? 4.0 / 3.0 * M_PI * r0 * r0 * r0 : M_PI * r0 * r0) +
				0.5);
		if (n < 1)
			n = 1;
	}
	struct nuc *nv = bia_calloc((size_t)n, sizeof(*nv));
	struct grid g = {0};
	uint32_t *lab = bia_calloc(nvox, sizeof(uint32_t));
	float *prof = bia_malloc2(nvox, sizeof(float));
	struct bia__vol img = {0}, tex = {0};
	size_t *area = NULL;
	int rc = 0;
	double rmax = r0 * 1.6 * (1 + ecc_max[L]) * (1 + 3 * irregular[L]);
	if (!nv || !lab || !prof || grid_init(&g, w, h, d, 2 * rmax + 1, (size_t)n)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	/* cluster centres */
	size_t ncl = (size_t)(n / 10) + 1;
	double(*cl)[3] = bia_malloc2(ncl, sizeof(*cl));
	if (!cl) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < ncl; k++) {
		cl[k][0] = bia_rng_range(&rng, 0, (double)w);
		cl[k][1] = bia_rng_range(&rng, 0, (double)h);
		cl[k][2] = is3d ? bia_rng_range(&rng, 0, (double)d) : 0;
	}
	long placed = 0;
	for (long i = 0; i < n; i++) {
		double r = r0 * exp(0.18 * bia_rng_normal(&rng));
		r = fmax(0.5 * r0, fmin(1.6 * r0, r));
		int in_cluster = bia_rng_uniform(&rng) < cluster_p[L];
		for (int tries = 0; tries < 40; tries++) {
			double c[3];
			if (in_cluster) {
				const double *cc = cl[bia_rng_below_reject(&rng, ncl)];
				double sp = 2.2 * r0;
				c[0] = cc[0] + sp * bia_rng_normal(&rng);
				c[1] = cc[1] + sp * bia_rng_normal(&rng);
				c[2] = is3d ? cc[2] + sp * 0.6 * bia_rng_normal(&rng) : 0;
			} else {
				c[0] = bia_rng_range(&rng, -0.3 * r, (double)w + 0.3 * r);
				c[1] = bia_rng_range(&rng, -0.3 * r, (double)h + 0.3 * r);
				c[2] = is3d ? bia_rng_range(&rng, 0, (double)d) : 0;
			}
			if (c[0] < -0.5 * r || c[1] < -0.5 * r || c[0] > (double)w + 0.5 * r ||
			    c[1] > (double)h + 0.5 * r || (is3d && (c[2] < 0 || c[2] > (double)d)))
				continue;
			if (!fits(&g, nv, c, r, touch_k[L]))
				continue;
			struct nuc *u = &nv[placed];
			bia__blob_random(&u->b, &rng, is3d, irregular[L]);
			double e = bia_rng_range(&rng, 0, ecc_max[L]);
			u->b.ax[0] = r * (1 + e);
			u->b.ax[1] = r / (1 + e);
			if (is3d) {
				double f = bia_rng_range(&rng, 0.8, 1.2);
				u->b.ax[0] /= sqrt(f);
				u->b.ax[1] /= sqrt(f);
				u->b.ax[2] = r * f;
			}
			memcpy(u->b.c, c, sizeof(c));
			u->r = r;
			u->amp = 1 - amp_var[L] * bia_rng_uniform(&rng);
			grid_add(&g, c, placed);
			placed++;
			break;
		}
	}
	free(cl);
	/* rasterise in order: later nuclei occlude earlier ones */
	for (long i = 0; i < placed; i++) {
		long lo[3], hi[3];
		if (!bia__blob_box(&nv[i].b, w, h, d, lo, hi))
			continue;
		for (long z = lo[2]; z < hi[2]; z++)
			for (long y = lo[1]; y < hi[1]; y++)
				for (long x = lo[0]; x < hi[0]; x++) {
					double rho = bia__blob_rho(&nv[i].b, (double)x, (double)y, (double)z);
					if (rho > 1)
						continue;
					size_t k = (size_t)x + w * ((size_t)y + h * (size_t)z);
					lab[k] = (uint32_t)(i + 1);
					prof[k] = (float)rho;
				}
	}
	/* slivers left by occlusion or the border become background */
	area = bia_calloc((size_t)placed + 1, sizeof(size_t));
	if (!area) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < nvox; k++)
		area[lab[k]]++;
	double amin = is3d ? fmax(12, 0.08 * 4.0 / 3.0 * M_PI * r0 * r0 * r0)
			   : fmax(8, 0.08 * M_PI * r0 * r0);
	for (size_t k = 0; k < nvox; k++)
		if (lab[k] && (double)area[lab[k]] < amin)
			lab[k] = 0;
	/* intensity */
	if (bia__vol_alloc(ctx, &img, w, h, d) || bia__vol_alloc(ctx, &tex, w, h, d) ||
	    bia__noise_field(ctx, &tex, fmax(2.5, r0 / 2.2), fmax(2, r0 / 2.2), 3,
			     bia_mix64(o->seed ^ (idx * 7919 + BIA__S_TEXTURE)))) {
		rc = ctx->rc;
		goto out;
	}
	const double bg = 0.08, c = o->contrast;
	for (size_t k = 0; k < nvox; k++) {
		double t = tex.v[k];
		double v = bg * (1 + 0.25 * t);
		if (lab[k]) {
			double p = prof[k];
			v += c * nv[lab[k] - 1].amp * (0.72 + 0.28 * (1 - p * p)) * (1 + tex_amp[L] * t);
		}
		img.v[k] = (float)v;
	}
	bia__illuminate(&img, o->illum, &rng);
	if (bia__blur(ctx, &img, o->blur, o->blur, is3d ? 2 * o->blur : 0)) {
		rc = ctx->rc;
		goto out;
	}
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	bia__cam_setup(&cam, o->noise, c, bg);
	bia__cam_apply(&cam, &crng, img.v, nvox);
	if (bia__image_alloc(ctx, o, &s->image, 1, 1)) {
		rc = ctx->rc;
		goto out;
	}
	bia__quantize(img.v, nvox, &s->image, 0);
	long m = bia__compact_labels(lab, nvox, 0);
	if (m < 0) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (bia__labels_image(ctx, lab, w, h, d, 1, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(s->info, "objects", json_integer(m));
out:
	free(area);
	bia__vol_free(&img);
	bia__vol_free(&tex);
	free(nv);
	free(lab);
	free(prof);
	free(g.head);
	free(g.next);
	return rc;
}
