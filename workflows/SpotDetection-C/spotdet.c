/* SpotDetection-C: spot detection (BIAFLOWS ObjDet / SptCnt) in C, 2D and 3D.
 *
 *   scale-normalised Laplacian of Gaussian at the spot scale
 *   (sigma in X/Y, z_ratio * sigma along Z), sign flipped so that bright
 *   spots give positive peaks
 *   -> robust threshold: median + k * MAD (x 1.4826) of the response
 *   -> local maxima (3x3 / 3x3x3) above the threshold
 *   -> non-maximum suppression: strongest first, a detection closer than
 *      min_distance (Euclidean, voxels) to a kept one is dropped
 *   -> point mask: one voxel of value 1 per spot (uint8).
 *
 * Command line (BIAFLOWS local mode; unknown flags are ignored):
 *   spotdet [--sigma S] [--z_ratio R] [--threshold_k K] [--min_distance D]
 *           --infolder IN --outfolder OUT
 * Every IN/<stem>.tif[f] gives OUT/<stem>.tif. An image that cannot be read
 * or written is reported on stderr (naming the file) and skipped; the
 * others are still processed and the exit status is then 1.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfkit/wfkit.h"

struct params {
	double sigma, z_ratio, k, min_distance;
};

/* out = -(s^2 (Gxx + Gyy) + sz^2 Gzz) * f: the scale-normalised LoG, bright
 * blobs positive. g is the smoothed image. */
static void neg_laplacian(const float *g, const struct bia_wf_vol *v, double s, double sz, float *out)
{
	size_t w = v->w, h = v->h, d = v->d, pl = w * h;
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				double c = g[i];
				double lx = (double)g[i - x + bia_wf_mirror((long)x - 1, w)] +
					    g[i - x + bia_wf_mirror((long)x + 1, w)] - 2 * c;
				double ly = (double)g[i - y * w + bia_wf_mirror((long)y - 1, h) * w] +
					    g[i - y * w + bia_wf_mirror((long)y + 1, h) * w] - 2 * c;
				double lap = s * s * (lx + ly);
				if (d > 1) {
					double lz = (double)g[i - z * pl + bia_wf_mirror((long)z - 1, d) * pl] +
						    g[i - z * pl + bia_wf_mirror((long)z + 1, d) * pl] - 2 * c;
					lap += sz * sz * lz;
				}
				out[i] = (float)-lap;
			}
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Median and MAD (scaled by 1.4826) of v. */
static int robust(const float *v, size_t n, double *pmed, double *pmad)
{
	float *s = malloc((n ? n : 1) * sizeof(float));
	if (!s)
		return -1;
	memcpy(s, v, n * sizeof(float));
	qsort(s, n, sizeof(float), cmp_float);
	double med = n ? s[n / 2] : 0;
	/* spread of the lower half only: spots make a one-sided (upper)
	 * tail that must not inflate the noise estimate */
	size_t m = n / 2 + (n ? 1 : 0);
	for (size_t i = 0; i < m; i++)
		s[i] = (float)(med - s[i]);
	qsort(s, m, sizeof(float), cmp_float);
	*pmed = med;
	*pmad = m ? 1.4826 * s[m / 2] : 0;
	free(s);
	return 0;
}

struct cand {
	float r;
	size_t i;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->r != y->r)
		return x->r > y->r ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Detect the spots of f (overwritten) into out (n labels, 0/1). Returns the
 * number of spots or -1 when out of memory. */
static long detect(float *f, const struct bia_wf_vol *v, const void *params, uint32_t *out)
{
	const struct params *p = params;
	size_t w = v->w, h = v->h, d = v->d, n = v->n;
	double sz = p->z_ratio * p->sigma;
	float *r = malloc(n * sizeof(float));
	struct cand *c = NULL;
	size_t nc = 0, cap = 0;
	long kept = -1;
	if (!r || bia_wf_gauss(f, v, p->sigma, sz))
		goto out;
	neg_laplacian(f, v, p->sigma, sz, r);
	double med, mad;
	if (robust(r, n, &med, &mad))
		goto out;
	double thr = med + p->k * (mad > 0 ? mad : 1e-12);
	memset(out, 0, n * sizeof(*out));
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				float cv = r[i];
				if (cv <= thr)
					continue;
				int peak = 1;
				long zr = d > 1 ? 1 : 0;
				for (long dz = -zr; dz <= zr && peak; dz++)
					for (long dy = -1; dy <= 1 && peak; dy++)
						for (long dx = -1; dx <= 1 && peak; dx++) {
							long X = (long)x + dx, Y = (long)y + dy, Z = (long)z + dz;
							if ((!dx && !dy && !dz) || X < 0 || Y < 0 || Z < 0 ||
							    X >= (long)w || Y >= (long)h || Z >= (long)d)
								continue;
							float o = r[(size_t)X + w * ((size_t)Y + h * (size_t)Z)];
							if (o > cv)
								peak = 0;
						}
				if (!peak)
					continue;
				if (nc == cap) {
					cap = cap ? 2 * cap : 1024;
					struct cand *c2 = realloc(c, cap * sizeof(*c));
					if (!c2)
						goto out;
					c = c2;
				}
				c[nc].r = cv;
				c[nc].i = i;
				nc++;
			}
	if (nc)
		qsort(c, nc, sizeof(*c), cmp_cand);
	/* greedy suppression, strongest first; out marks kept voxels, so a
	 * window scan finds kept neighbours (plateaus keep one voxel) */
	long rd = (long)ceil(p->min_distance);
	double md2 = p->min_distance * p->min_distance;
	kept = 0;
	for (size_t a = 0; a < nc; a++) {
		size_t i = c[a].i;
		long x = (long)(i % w), y = (long)((i / w) % h), z = (long)(i / (w * h));
		long zr = d > 1 ? rd : 0;
		int ok = 1;
		/* equal neighbours of a plateau are always suppressed (distance 1) */
		double lim = md2 > 1 ? md2 : 1.0001 * (d > 1 ? 3 : 2);
		long rr = rd > 1 ? rd : 1, rz = d > 1 ? (zr > 1 ? zr : 1) : 0;
		for (long dz = -rz; dz <= rz && ok; dz++)
			for (long dy = -rr; dy <= rr && ok; dy++)
				for (long dx = -rr; dx <= rr && ok; dx++) {
					long X = x + dx, Y = y + dy, Z = z + dz;
					if (X < 0 || Y < 0 || Z < 0 || X >= (long)w || Y >= (long)h || Z >= (long)d)
						continue;
					double d2 = (double)(dx * dx + dy * dy + dz * dz);
					if (d2 < lim && out[(size_t)X + w * ((size_t)Y + h * (size_t)Z)])
						ok = 0;
				}
		if (ok) {
			out[i] = 1;
			kept++;
		}
	}
out:
	free(r);
	free(c);
	return kept;
}

/* ------------------------------------------------------------- files */

static void describe(const void *params, FILE *f)
{
	const struct params *p = params;
	fprintf(f, "sigma=%g z_ratio=%g threshold_k=%g min_distance=%g", p->sigma, p->z_ratio, p->k,
		p->min_distance);
}

int main(int argc, char **argv)
{
	struct params p = {.sigma = 1.5, .z_ratio = 2, .k = 3.5, .min_distance = 2};
	static const struct bia_wf_num nums[] = {
		{"--sigma", offsetof(struct params, sigma), 0.3, 20},
		{"--z_ratio", offsetof(struct params, z_ratio), 0, 10},
		{"--threshold_k", offsetof(struct params, k), 0, 100},
		{"--min_distance", offsetof(struct params, min_distance), 0, 100},
	};
	const struct bia_wf_prog prog = {
		.name = "spotdet",
		.options = "[--sigma S] [--z_ratio R] [--threshold_k K] [--min_distance D]",
		.noun = "spots",
		.dtype = BIA_U8,
		.params = &p,
		.nums = nums,
		.nnums = sizeof nums / sizeof nums[0],
		.describe = describe,
		.frame = detect,
	};
	return bia_wf_main(argc, argv, &prog);
}
