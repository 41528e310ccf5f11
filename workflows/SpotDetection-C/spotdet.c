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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/image.h"
#include "util/util.h"

struct params {
	double sigma, z_ratio, k, min_distance;
	const char *in, *out;
};

struct vol {
	size_t w, h, d, n;
};

/* Mirror index into 0..n-1. */
static size_t mirror(long i, size_t n)
{
	if (n == 1)
		return 0;
	long p = 2 * (long)n - 2;
	i %= p;
	if (i < 0)
		i += p;
	return (size_t)(i < (long)n ? i : p - i);
}

/* Separable Gaussian, sigma s in X and Y, sz along Z; mirrored borders. */
static int gauss(float *f, const struct vol *v, double s, double sz)
{
	double sig[3] = {s, s, v->d > 1 ? sz : 0};
	size_t len[3] = {v->w, v->h, v->d}, stride[3] = {1, v->w, v->w * v->h};
	size_t m = v->w > v->h ? v->w : v->h;
	if (v->d > m)
		m = v->d;
	for (int ax = 0; ax < 3; ax++) {
		if (sig[ax] < 0.2 || len[ax] < 2)
			continue;
		int r = (int)ceil(3.5 * sig[ax]);
		float *k = malloc(((size_t)2 * r + 1) * sizeof(float));
		float *line = malloc((m + 2 * (size_t)r) * sizeof(float));
		if (!k || !line) {
			free(k);
			free(line);
			return -1;
		}
		double sum = 0;
		for (int j = -r; j <= r; j++)
			sum += k[j + r] = (float)exp(-0.5 * j * j / (sig[ax] * sig[ax]));
		for (int j = 0; j <= 2 * r; j++)
			k[j] = (float)(k[j] / sum);
		size_t n = len[ax], st = stride[ax];
		for (size_t start = 0; start < v->n; start++) {
			if ((start / st) % n) /* lines start at coordinate 0 along ax */
				continue;
			for (long i = -r; i < (long)n + r; i++)
				line[i + r] = f[start + mirror(i, n) * st];
			for (size_t i = 0; i < n; i++) {
				float acc = 0;
				for (int j = 0; j <= 2 * r; j++)
					acc += k[j] * line[i + (size_t)j];
				f[start + i * st] = acc;
			}
		}
		free(k);
		free(line);
	}
	return 0;
}

/* out = -(s^2 (Gxx + Gyy) + sz^2 Gzz) * f: the scale-normalised LoG, bright
 * blobs positive. g is the smoothed image. */
static void neg_laplacian(const float *g, const struct vol *v, double s, double sz, float *out)
{
	size_t w = v->w, h = v->h, d = v->d, pl = w * h;
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				double c = g[i];
				double lx = (double)g[i - x + mirror((long)x - 1, w)] +
					    g[i - x + mirror((long)x + 1, w)] - 2 * c;
				double ly = (double)g[i - y * w + mirror((long)y - 1, h) * w] +
					    g[i - y * w + mirror((long)y + 1, h) * w] - 2 * c;
				double lap = s * s * (lx + ly);
				if (d > 1) {
					double lz = (double)g[i - z * pl + mirror((long)z - 1, d) * pl] +
						    g[i - z * pl + mirror((long)z + 1, d) * pl] - 2 * c;
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

/* Detect the spots of f (overwritten) into out (n bytes, 0/1). Returns the
 * number of spots or -1 when out of memory. */
static long detect(float *f, const struct vol *v, const struct params *p, uint8_t *out)
{
	size_t w = v->w, h = v->h, d = v->d, n = v->n;
	double sz = p->z_ratio * p->sigma;
	float *r = malloc(n * sizeof(float));
	struct cand *c = NULL;
	size_t nc = 0, cap = 0;
	long kept = -1;
	if (!r || gauss(f, v, p->sigma, sz))
		goto out;
	neg_laplacian(f, v, p->sigma, sz, r);
	double med, mad;
	if (robust(r, n, &med, &mad))
		goto out;
	double thr = med + p->k * (mad > 0 ? mad : 1e-12);
	memset(out, 0, n);
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

static int has_tiff_ext(const char *name, size_t *pstem)
{
	size_t n = strlen(name);
	const char *exts[] = {".ome.tiff", ".ome.tif", ".tiff", ".tif"};
	for (size_t e = 0; e < 4; e++) {
		size_t m = strlen(exts[e]);
		if (n > m && !strcasecmp(name + n - m, exts[e])) {
			*pstem = n - m;
			return 1;
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Process one file; 0 on success, -1 after printing why not. */
static int process(struct bia_ctx *ctx, const struct params *p, const char *name, size_t stemlen)
{
	char in[4096], out[4096];
	snprintf(in, sizeof in, "%s/%s", p->in, name);
	snprintf(out, sizeof out, "%s/%.*s.tif", p->out, (int)stemlen, name);
	struct bia_image img, res;
	bia_image_init(&img);
	bia_image_init(&res);
	bia_ctx_clear(ctx);
	if (bia_image_read(ctx, in, NULL, &img)) {
		fprintf(stderr, "spotdet: %s\n", ctx->msg); /* the message names the file */
		return -1;
	}
	struct vol v = {img.x, img.y, img.z, img.x * img.y * img.z};
	float *f = malloc(v.n * sizeof(float));
	long total = 0;
	int rc = -1;
	if (!f || bia_image_alloc(ctx, &res, img.x, img.y, img.z, 1, img.t, BIA_U8)) {
		fprintf(stderr, "spotdet: '%s': %s\n", in, f ? ctx->msg : "out of memory");
		goto done;
	}
	for (size_t t = 0; t < img.t; t++) {
		for (size_t z = 0; z < img.z; z++)
			for (size_t i = 0; i < img.x * img.y; i++) {
				size_t x = i % img.x, y = i / img.x;
				double s;
				if (img.c >= 3)
					s = 0.299 * bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t)) +
					    0.587 * bia_image_get(&img, bia_image_index(&img, x, y, z, 1, t)) +
					    0.114 * bia_image_get(&img, bia_image_index(&img, x, y, z, 2, t));
				else
					s = bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t));
				f[z * img.x * img.y + i] = (float)s;
			}
		long k = detect(f, &v, p, (uint8_t *)res.data + t * v.n);
		if (k < 0) {
			fprintf(stderr, "spotdet: '%s': out of memory\n", in);
			goto done;
		}
		total += k;
	}
	if (bia_image_write_tiff(ctx, &res, out, NULL)) {
		fprintf(stderr, "spotdet: %s\n", ctx->msg);
		goto done;
	}
	char shape[64];
	bia_image_shape_str(&img, shape, sizeof shape);
	fprintf(stderr, "spotdet: %s (%s): %ld spots\n", name, shape, total);
	rc = 0;
done:
	free(f);
	bia_image_release(&img);
	bia_image_release(&res);
	return rc;
}

static int num_arg(const char *flag, const char *val, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(val, &end);
	if (errno || end == val || *end || !isfinite(d) || d < lo || d > hi) {
		fprintf(stderr, "spotdet: %s: '%s' is not a number in [%g, %g]\n", flag, val, lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

int main(int argc, char **argv)
{
	struct params p = {.sigma = 1.5, .z_ratio = 2, .k = 3.5, .min_distance = 2, .in = NULL, .out = NULL};
	static const struct {
		const char *flag;
		size_t off;
		double lo, hi;
	} nums[] = {
		{"--sigma", offsetof(struct params, sigma), 0.3, 20},
		{"--z_ratio", offsetof(struct params, z_ratio), 0, 10},
		{"--threshold_k", offsetof(struct params, k), 0, 100},
		{"--min_distance", offsetof(struct params, min_distance), 0, 100},
	};
	for (int a = 1; a < argc; a++) {
		const char *f = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
		int known = 0;
		for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
			if (!strcmp(f, nums[k].flag)) {
				known = 1;
				if (!val || num_arg(f, val, nums[k].lo, nums[k].hi,
						    (double *)((char *)&p + nums[k].off)))
					return 2;
			}
		if (!known && (!strcmp(f, "--infolder") || !strcmp(f, "--outfolder"))) {
			known = 1;
			if (!val)
				return 2;
			*(f[2] == 'i' ? &p.in : &p.out) = val;
		}
		if (known)
			a++; /* value consumed; anything else is ignored */
	}
	if (!p.in || !p.out) {
		fprintf(stderr, "usage: spotdet [--sigma S] [--z_ratio R] [--threshold_k K] [--min_distance D]\n"
				"  --infolder IN --outfolder OUT\n");
		return 2;
	}
	if (mkdir(p.out, 0777) && errno != EEXIST) {
		fprintf(stderr, "spotdet: cannot create output folder '%s': %s\n", p.out, strerror(errno));
		return 1;
	}
	DIR *dir = opendir(p.in);
	if (!dir) {
		fprintf(stderr, "spotdet: cannot open input folder '%s': %s\n", p.in, strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t stem;
		if (de->d_name[0] == '.' || !has_tiff_ext(de->d_name, &stem))
			continue;
		if (nn == cap) {
			cap = cap ? 2 * cap : 64;
			char **n2 = realloc(names, cap * sizeof(char *));
			if (!n2)
				break;
			names = n2;
		}
		if (!(names[nn] = strdup(de->d_name)))
			break;
		nn++;
	}
	closedir(dir);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_str);
	fprintf(stderr, "spotdet: %zu image(s); sigma=%g z_ratio=%g threshold_k=%g min_distance=%g\n", nn,
		p.sigma, p.z_ratio, p.k, p.min_distance);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	int failed = 0;
	for (size_t i = 0; i < nn; i++) {
		size_t stem;
		has_tiff_ext(names[i], &stem);
		if (process(&ctx, &p, names[i], stem))
			failed++;
		free(names[i]);
	}
	free(names);
	if (failed)
		fprintf(stderr, "spotdet: %d of %zu image(s) failed\n", failed, nn);
	return failed ? 1 : 0;
}
