/* Shared machinery of the generators: PRNG, float volumes, smooth noise,
 * Gaussian PSF blur, illumination, camera noise, shapes, rasterisers and
 * label helpers.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------------- volumes */

int bia__vol_alloc(struct bia_ctx *ctx, struct bia__vol *v, size_t w, size_t h, size_t d)
{
	v->w = w;
	v->h = h;
	v->d = d;
	size_t n = w * h * d;
	v->v = bia_calloc(n ? n : 1, sizeof(float));
	if (!v->v)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory (%zux%zux%zu volume)", w, h, d);
	return 0;
}

void bia__vol_free(struct bia__vol *v)
{
	BIA_FREE(v->v);
}

/* Normalised Gaussian kernel of radius ceil(3 sigma) into k[0..2r]. */
static int kernel(double sigma, float *k, int maxr)
{
	int r = (int)ceil(3 * sigma);
	if (r > maxr)
		r = maxr;
	double sum = 0;
	for (int i = -r; i <= r; i++)
		sum += exp(-0.5 * i * i / (sigma * sigma));
	for (int i = -r; i <= r; i++)
		k[i + r] = (float)(exp(-0.5 * i * i / (sigma * sigma)) / sum);
	return r;
}

#define MAXR 64

static long clampl(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

int bia__blur(struct bia_ctx *ctx, struct bia__vol *v, double sx, double sy, double sz)
{
	size_t w = v->w, h = v->h, d = v->d;
	float k[2 * MAXR + 1];
	if (sx > 0.2) {
		int r = kernel(sx, k, MAXR);
		float *line = bia_malloc2(w + 2 * (size_t)r, sizeof(float));
		if (!line)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		for (size_t row = 0; row < h * d; row++) {
			float *p = v->v + row * w;
			for (long i = -r; i < (long)w + r; i++)
				line[i + r] = p[clampl(i, 0, (long)w - 1)];
			for (size_t x = 0; x < w; x++) {
				float acc = 0;
				for (int j = 0; j <= 2 * r; j++)
					acc += k[j] * line[x + (size_t)j];
				p[x] = acc;
			}
		}
		free(line);
	}
	if (sy > 0.2 && h > 1) {
		int r = kernel(sy, k, MAXR);
		float *tmp = bia_malloc2(w * h, sizeof(float));
		if (!tmp)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		for (size_t z = 0; z < d; z++) {
			float *pl = v->v + z * w * h;
			for (size_t y = 0; y < h; y++) {
				float *o = tmp + y * w;
				memset(o, 0, w * sizeof(float));
				for (int j = -r; j <= r; j++) {
					const float *src = pl + (size_t)clampl((long)y + j, 0, (long)h - 1) * w;
					float kk = k[j + r];
					for (size_t x = 0; x < w; x++)
						o[x] += kk * src[x];
				}
			}
			memcpy(pl, tmp, w * h * sizeof(float));
		}
		free(tmp);
	}
	if (sz > 0.2 && d > 1) {
		int r = kernel(sz, k, MAXR);
		size_t plane = w * h;
		float *tmp = bia_malloc2(plane * d, sizeof(float));
		if (!tmp)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		for (size_t z = 0; z < d; z++) {
			float *o = tmp + z * plane;
			memset(o, 0, plane * sizeof(float));
			for (int j = -r; j <= r; j++) {
				const float *src = v->v + (size_t)clampl((long)z + j, 0, (long)d - 1) * plane;
				float kk = k[j + r];
				for (size_t i = 0; i < plane; i++)
					o[i] += kk * src[i];
			}
		}
		memcpy(v->v, tmp, plane * d * sizeof(float));
		free(tmp);
	}
	return 0;
}

/* Lattice value in [-1, 1]. */
static inline float lattice(uint64_t seed, long x, long y, long z)
{
	uint64_t h = seed ^ ((uint64_t)x * UINT64_C(0x9E3779B97F4A7C15)) ^
		     ((uint64_t)y * UINT64_C(0xC2B2AE3D27D4EB4F)) ^
		     ((uint64_t)z * UINT64_C(0x165667B19E3779F9));
	return (float)((double)(bia_mix64(h) >> 11) * 0x1.0p-52 - 1.0);
}

/* Per-axis cell index and smoothstep weight. */
static int axis_weights(size_t n, double s, long **pi, float **pf)
{
	*pi = bia_malloc2(n, sizeof(long));
	*pf = bia_malloc2(n, sizeof(float));
	if (!*pi || !*pf)
		return -1;
	for (size_t i = 0; i < n; i++) {
		double f = (double)i / s;
		long c = (long)floor(f);
		double t = f - (double)c;
		(*pi)[i] = c;
		(*pf)[i] = (float)(t * t * (3 - 2 * t));
	}
	return 0;
}

int bia__noise_field(struct bia_ctx *ctx, struct bia__vol *v, double scale, double zscale,
		     int octaves, uint64_t seed)
{
	size_t w = v->w, h = v->h, d = v->d;
	memset(v->v, 0, bia__vol_n(v) * sizeof(float));
	double amp = 1, total = 0;
	int rc = 0;
	for (int o = 0; o < octaves && !rc; o++, amp *= 0.5) {
		double s = scale / (double)(1 << o), sz = zscale / (double)(1 << o);
		if (s < 1)
			break;
		if (sz < 1)
			sz = 1;
		total += amp;
		long *ix = NULL, *iy = NULL, *iz = NULL;
		float *fx = NULL, *fy = NULL, *fz = NULL, *lat = NULL;
		size_t nx = (size_t)((double)(w - 1) / s) + 2, ny = (size_t)((double)(h - 1) / s) + 2;
		size_t nz = d > 1 ? (size_t)((double)(d - 1) / sz) + 2 : 1;
		uint64_t os = bia_mix64(seed + (uint64_t)o * 1000003u);
		if (axis_weights(w, s, &ix, &fx) || axis_weights(h, s, &iy, &fy) ||
		    axis_weights(d, d > 1 ? sz : 1e9, &iz, &fz) ||
		    !(lat = bia_malloc2(nx * ny * nz, sizeof(float)))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		} else {
			for (size_t c = 0; c < nz; c++)
				for (size_t b = 0; b < ny; b++)
					for (size_t a = 0; a < nx; a++)
						lat[a + nx * (b + ny * c)] =
							lattice(os, (long)a, (long)b, (long)c);
			float fa = (float)amp;
			for (size_t z = 0; z < d; z++) {
				size_t c0 = (size_t)iz[z], c1 = d > 1 ? c0 + 1 : c0;
				float tz = d > 1 ? fz[z] : 0;
				for (size_t y = 0; y < h; y++) {
					size_t b0 = (size_t)iy[y];
					float ty = fy[y];
					const float *l00 = lat + nx * (b0 + ny * c0);
					const float *l10 = lat + nx * (b0 + 1 + ny * c0);
					const float *l01 = lat + nx * (b0 + ny * c1);
					const float *l11 = lat + nx * (b0 + 1 + ny * c1);
					float *out = v->v + w * (y + h * z);
					for (size_t x = 0; x < w; x++) {
						size_t a0 = (size_t)ix[x];
						float tx = fx[x];
						float v0 = l00[a0] + tx * (l00[a0 + 1] - l00[a0]);
						float v1 = l10[a0] + tx * (l10[a0 + 1] - l10[a0]);
						float v2 = l01[a0] + tx * (l01[a0 + 1] - l01[a0]);
						float v3 = l11[a0] + tx * (l11[a0 + 1] - l11[a0]);
						float p = v0 + ty * (v1 - v0), q = v2 + ty * (v3 - v2);
						out[x] += fa * (p + tz * (q - p));
					}
				}
			}
		}
		free(ix);
		free(iy);
		free(iz);
		free(fx);
		free(fy);
		free(fz);
		free(lat);
	}
	if (!rc && total > 0) {
		/* value noise has a std of about 0.3; stretch to roughly [-1, 1] */
		float f = (float)(1.8 / total);
		for (size_t i = 0; i < bia__vol_n(v); i++)
			v->v[i] *= f;
	}
	return rc;
}

void bia__illuminate(struct bia__vol *v, double amount, struct bia_rng *r)
{
	if (!(amount > 0))
		return;
	double ang = bia_rng_range(r, 0, 2 * M_PI);
	double gx = cos(ang), gy = sin(ang);
	double bx = bia_rng_range(r, 0.2, 0.8) * (double)v->w,
	       by = bia_rng_range(r, 0.2, 0.8) * (double)v->h;
	double bs = 0.6 * (double)(v->w > v->h ? v->w : v->h);
	for (size_t z = 0; z < v->d; z++)
		for (size_t y = 0; y < v->h; y++) {
			float *row = v->v + v->w * (y + v->h * z);
			double fy = (double)y / (double)v->h - 0.5;
			double dy2 = ((double)y - by) * ((double)y - by);
			for (size_t x = 0; x < v->w; x++) {
				double fx = (double)x / (double)v->w - 0.5;
				double dx = (double)x - bx;
				double bump = exp(-(dx * dx + dy2) / (2 * bs * bs));
				double f = 1 + amount * (0.7 * (gx * fx + gy * fy) + 0.5 * (bump - 0.5));
				row[x] *= (float)(f < 0.1 ? 0.1 : f);
			}
		}
}

void bia__cam_setup(struct bia__cam *c, double noise, double contrast, double bg)
{
	if (!(noise > 0) || !(contrast > 0)) {
		c->gain = 0;
		c->read = 0;
		return;
	}
	/* half the variance from photons, half from the read-out */
	double s = noise * contrast;
	c->gain = (bg + contrast) / (0.5 * s * s);
	c->read = sqrt(0.5) * s;
}

void bia__cam_apply(const struct bia__cam *c, struct bia_rng *r, float *v, size_t n)
{
	if (c->gain <= 0 && c->read <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		double x = v[i] > 0 ? v[i] : 0;
		if (c->gain > 0)
			x = bia_rng_poisson(r, x * c->gain) / c->gain;
		if (c->read > 0)
			x += c->read * bia_rng_normal(r);
		v[i] = (float)x;
	}
}

void bia__quantize(const float *v, size_t n, struct bia_image *img, size_t off)
{
	if (img->dtype == BIA_U8) {
		uint8_t *o = (uint8_t *)img->data + off;
		for (size_t i = 0; i < n; i++) {
			float x = v[i] * 255.0f + 0.5f;
			o[i] = x <= 0 ? 0 : x >= 255 ? 255 : (uint8_t)x;
		}
	} else {
		uint16_t *o = (uint16_t *)img->data + off;
		for (size_t i = 0; i < n; i++) {
			float x = 100.0f + v[i] * 3900.0f + 0.5f;
			o[i] = x <= 0 ? 0 : x >= 65535 ? 65535 : (uint16_t)x;
		}
	}
}

int bia__image_alloc(struct bia_ctx *ctx, const struct bia_gen_opts *o, struct bia_image *img,
		     size_t c, size_t t)
{
	bia_image_init(img);
	return bia_image_alloc(ctx, img, o->w, o->h, o->d, c, t, o->bits == 16 ? BIA_U16 : BIA_U8);
}

/* --------------------------------------------------------------- shapes */

static void random_unit(struct bia_rng *r, double u[3], int is3d)
{
	double n;
	do {
		u[0] = bia_rng_normal(r);
		u[1] = bia_rng_normal(r);
		u[2] = is3d ? bia_rng_normal(r) : 0;
		n = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
	} while (n < 1e-9);
	for (int i = 0; i < 3; i++)
		u[i] /= n;
}

void bia__blob_random(struct bia__blob *b, struct bia_rng *r, int is3d, double irregular)
{
	b->is3d = is3d;
	if (!is3d) {
		double a = bia_rng_range(r, 0, M_PI);
		double c = cos(a), s = sin(a);
		double m[3][3] = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}};
		memcpy(b->rot, m, sizeof(m));
	} else {
		/* uniform random rotation from a unit quaternion */
		double q[4], n;
		do {
			for (int i = 0; i < 4; i++)
				q[i] = bia_rng_normal(r);
			n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
		} while (n < 1e-9);
		double w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n;
		double m[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
				  {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
				  {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
		memcpy(b->rot, m, sizeof(m));
	}
	for (int k = 0; k < 3; k++) {
		b->amp[k] = irregular * bia_rng_range(r, 0.3, 1.0);
		random_unit(r, b->dir[k], is3d);
		b->freq[k] = M_PI * (1.0 + k) * bia_rng_range(r, 0.8, 1.2);
		b->phase[k] = bia_rng_range(r, 0, 2 * M_PI);
	}
	if (!is3d)
		b->ax[2] = 1;
}

int bia__blob_box(const struct bia__blob *b, size_t w, size_t h, size_t d, long lo[3],
		  long hi[3])
{
	double grow = 1 + fabs(b->amp[0]) + fabs(b->amp[1]) + fabs(b->amp[2]);
	size_t dim[3] = {w, h, d};
	for (int i = 0; i < 3; i++) {
		double e = 0;
		for (int j = 0; j < (b->is3d ? 3 : 2); j++)
			e += b->rot[i][j] * b->rot[i][j] * b->ax[j] * b->ax[j];
		e = grow * sqrt(e) + 1;
		if (i == 2 && !b->is3d)
			e = 0;
		double l = floor(b->c[i] - e), u = ceil(b->c[i] + e) + 1;
		if (l < 0)
			l = 0;
		if (u > (double)dim[i])
			u = (double)dim[i];
		if (l >= u)
			return 0;
		lo[i] = (long)l;
		hi[i] = (long)u;
	}
	return 1;
}

/* cos for the shape harmonics: range reduction and an even polynomial
 * (error below 1e-8), several times faster than libm's. */
static inline double fast_cos(double x)
{
	x = fabs(x);
	x -= 2 * M_PI * floor(x / (2 * M_PI) + 0.5); /* [-pi, pi] */
	x = fabs(x);
	double sg = 1;
	if (x > M_PI / 2) {
		x = M_PI - x;
		sg = -1;
	}
	double x2 = x * x;
	double p = 1 + x2 * (-1.0 / 2 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320 +
		   x2 * (-1.0 / 3628800 + x2 * (1.0 / 479001600))))));
	return sg * p;
}

double bia__blob_rho(const struct bia__blob *b, double x, double y, double z)
{
	double d[3] = {x - b->c[0], y - b->c[1], b->is3d ? z - b->c[2] : 0};
	double l[3], q = 0;
	for (int j = 0; j < 3; j++) {
		l[j] = (b->rot[0][j] * d[0] + b->rot[1][j] * d[1] + b->rot[2][j] * d[2]) / b->ax[j];
		q += l[j] * l[j];
	}
	q = sqrt(q);
	if (q < 1e-12)
		return 0;
	/* far outside whatever the harmonics: skip them */
	double grow = 1 + fabs(b->amp[0]) + fabs(b->amp[1]) + fabs(b->amp[2]);
	if (q > grow)
		return q;
	double m = 1;
	for (int k = 0; k < 3; k++) {
		double u = (l[0] * b->dir[k][0] + l[1] * b->dir[k][1] + l[2] * b->dir[k][2]) / q;
		m += b->amp[k] * fast_cos(b->freq[k] * u + b->phase[k]);
	}
	return q / (m > 0.2 ? m : 0.2);
}

void bia__add_spot(struct bia__vol *v, double x, double y, double z, double sx, double sz,
		   double amp)
{
	double e = 4 * sx, ez = v->d > 1 ? 4 * sz : 0;
	long x0 = (long)floor(x - e), x1 = (long)ceil(x + e);
	long y0 = (long)floor(y - e), y1 = (long)ceil(y + e);
	long z0 = (long)floor(z - ez), z1 = (long)ceil(z + ez);
	x0 = clampl(x0, 0, (long)v->w - 1);
	x1 = clampl(x1, 0, (long)v->w - 1);
	y0 = clampl(y0, 0, (long)v->h - 1);
	y1 = clampl(y1, 0, (long)v->h - 1);
	z0 = clampl(z0, 0, (long)v->d - 1);
	z1 = clampl(z1, 0, (long)v->d - 1);
	if (x0 > x1 || y0 > y1)
		return;
	float gx[64 * 8 + 2];
	if (x1 - x0 + 1 > (long)(sizeof(gx) / sizeof(gx[0])))
		x1 = x0 + (long)(sizeof(gx) / sizeof(gx[0])) - 1;
	for (long i = x0; i <= x1; i++)
		gx[i - x0] = (float)exp(-0.5 * ((double)i - x) * ((double)i - x) / (sx * sx));
	for (long k = z0; k <= z1; k++) {
		double gz = v->d > 1 ? exp(-0.5 * ((double)k - z) * ((double)k - z) / (sz * sz)) : 1;
		for (long j = y0; j <= y1; j++) {
			float f = (float)(amp * gz *
					  exp(-0.5 * ((double)j - y) * ((double)j - y) / (sx * sx)));
			float *row = v->v + v->w * ((size_t)j + v->h * (size_t)k);
			for (long i = x0; i <= x1; i++)
				row[i] += f * gx[i - x0];
		}
	}
}

double bia__seg_dist2(const double p[3], const double a[3], const double b[3], double *pt)
{
	double ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
	double ap[3] = {p[0] - a[0], p[1] - a[1], p[2] - a[2]};
	double l2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
	double t = l2 > 0 ? (ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / l2 : 0;
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	double d[3] = {ap[0] - t * ab[0], ap[1] - t * ab[1], ap[2] - t * ab[2]};
	if (pt)
		*pt = t;
	return d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
}

void bia__draw_line(uint8_t *m, size_t w, size_t h, size_t d, const double a[3],
		    const double b[3], uint8_t value)
{
	double dx = b[0] - a[0], dy = b[1] - a[1], dz = b[2] - a[2];
	double n = fmax(fabs(dx), fmax(fabs(dy), fabs(dz)));
	long steps = (long)ceil(n);
	if (steps < 1)
		steps = 1;
	for (long i = 0; i <= steps; i++) {
		double t = (double)i / (double)steps;
		long x = (long)floor(a[0] + t * dx + 0.5), y = (long)floor(a[1] + t * dy + 0.5);
		long z = (long)floor(a[2] + t * dz + 0.5);
		if (x < 0 || y < 0 || z < 0 || x >= (long)w || y >= (long)h || z >= (long)d)
			continue;
		m[(size_t)x + w * ((size_t)y + h * (size_t)z)] = value;
	}
}

void bia__draw_tube(struct bia__vol *v, const double a[3], const double b[3], double ra,
		    double rb, double amp_a, double amp_b)
{
	double rm = fmax(ra, rb) + 1.5;
	long lo[3], hi[3];
	size_t dim[3] = {v->w, v->h, v->d};
	for (int i = 0; i < 3; i++) {
		double e = (i == 2 && v->d == 1) ? 0 : rm;
		lo[i] = clampl((long)floor(fmin(a[i], b[i]) - e), 0, (long)dim[i] - 1);
		hi[i] = clampl((long)ceil(fmax(a[i], b[i]) + e), 0, (long)dim[i] - 1);
		if (fmax(a[i], b[i]) + e < 0 || fmin(a[i], b[i]) - e > (double)dim[i] - 1)
			return;
	}
	for (long z = lo[2]; z <= hi[2]; z++)
		for (long y = lo[1]; y <= hi[1]; y++) {
			float *row = v->v + v->w * ((size_t)y + v->h * (size_t)z);
			for (long x = lo[0]; x <= hi[0]; x++) {
				double p[3] = {(double)x, (double)y, (double)z}, t;
				double d2 = bia__seg_dist2(p, a, b, &t);
				double r = ra + (rb - ra) * t + 0.5;
				if (d2 >= r * r)
					continue;
				double amp = amp_a + (amp_b - amp_a) * t;
				float val = (float)(amp * sqrt(1 - d2 / (r * r)));
				if (val > row[x])
					row[x] = val;
			}
		}
}

/* --------------------------------------------------------------- labels */

long bia__components(const uint8_t *fg, uint32_t *lab, size_t w, size_t h, size_t d, int full)
{
	size_t n = w * h * d;
	memset(lab, 0, n * sizeof(uint32_t));
	uint32_t *queue = bia_malloc2(n ? n : 1, sizeof(uint32_t));
	if (!queue)
		return -1;
	long next = 0;
	for (size_t s = 0; s < n; s++) {
		if (!fg[s] || lab[s])
			continue;
		uint32_t id = (uint32_t)++next;
		size_t qh = 0, qt = 0;
		queue[qt++] = (uint32_t)s;
		lab[s] = id;
		while (qh < qt) {
			size_t i = queue[qh++];
			long x = (long)(i % w), y = (long)((i / w) % h), z = (long)(i / (w * h));
			for (long dz = -1; dz <= 1; dz++)
				for (long dy = -1; dy <= 1; dy++)
					for (long dx = -1; dx <= 1; dx++) {
						int nz = (dx != 0) + (dy != 0) + (dz != 0);
						if (!nz || (!full && nz > 1))
							continue;
						long X = x + dx, Y = y + dy, Z = z + dz;
						if (X < 0 || Y < 0 || Z < 0 || X >= (long)w ||
						    Y >= (long)h || Z >= (long)d)
							continue;
						size_t j = (size_t)X + w * ((size_t)Y + h * (size_t)Z);
						if (fg[j] && !lab[j]) {
							lab[j] = id;
							queue[qt++] = (uint32_t)j;
						}
					}
		}
	}
	free(queue);
	return next;
}

long bia__compact_labels(uint32_t *lab, size_t n, size_t min_area)
{
	uint32_t maxl = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] > maxl)
			maxl = lab[i];
	size_t *area = bia_calloc((size_t)maxl + 1, sizeof(size_t));
	uint32_t *map = bia_calloc((size_t)maxl + 1, sizeof(uint32_t));
	if (!area || !map) {
		free(area);
		free(map);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		area[lab[i]]++;
	uint32_t next = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t l = lab[i];
		if (!l)
			continue;
		if (!map[l]) {
			if (area[l] < min_area || area[l] == 0)
				map[l] = UINT32_MAX;
			else
				map[l] = ++next;
		}
		lab[i] = map[l] == UINT32_MAX ? 0 : map[l];
	}
	free(area);
	free(map);
	return (long)next;
}

int bia__labels_image(struct bia_ctx *ctx, const uint32_t *lab, size_t w, size_t h, size_t d,
		      size_t t, struct bia_image *img)
{
	size_t n = w * h * d * t;
	uint32_t maxl = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] > maxl)
			maxl = lab[i];
	bia_image_init(img);
	if (bia_image_alloc(ctx, img, w, h, d, 1, t, maxl > 65535 ? BIA_U32 : BIA_U16))
		return ctx->rc;
	if (img->dtype == BIA_U32) {
		memcpy(img->data, lab, n * sizeof(uint32_t));
	} else {
		uint16_t *o = img->data;
		for (size_t i = 0; i < n; i++)
			o[i] = (uint16_t)lab[i];
	}
	return 0;
}

int bia__mask_image(struct bia_ctx *ctx, const uint8_t *m, size_t w, size_t h, size_t d,
		    size_t t, struct bia_image *img)
{
	bia_image_init(img);
	if (bia_image_alloc(ctx, img, w, h, d, 1, t, BIA_U8))
		return ctx->rc;
	memcpy(img->data, m, w * h * d * t);
	return 0;
}

uint32_t *bia__image_labels(struct bia_ctx *ctx, const struct bia_image *img)
{
	uint32_t *lab = NULL;
	if (bia_labels_u32(ctx, "mask", img, &lab))
		return NULL;
	return lab;
}

double bia__otsu(const float *v, size_t n)
{
	if (!n)
		return 0;
	float lo = v[0], hi = v[0];
	for (size_t i = 1; i < n; i++) {
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	if (hi <= lo)
		return lo;
	double hist[256] = {0};
	double sc = 255.999 / (hi - lo);
	for (size_t i = 0; i < n; i++)
		hist[(int)((v[i] - lo) * sc)]++;
	double sum = 0, sumb = 0, wb = 0, best = -1;
	for (int i = 0; i < 256; i++)
		sum += i * hist[i];
	int t = 0;
	for (int i = 0; i < 256; i++) {
		wb += hist[i];
		if (wb == 0)
			continue;
		double wf = (double)n - wb;
		if (wf == 0)
			break;
		sumb += i * hist[i];
		double mb = sumb / wb, mf = (sum - sumb) / wf;
		double between = wb * wf * (mb - mf) * (mb - mf);
		if (between > best) {
			best = between;
			t = i;
		}
	}
	return lo + (t + 1) / sc;
}
