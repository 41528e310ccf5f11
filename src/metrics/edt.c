/* Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012):
 * 1D lower envelope of parabolas along x, then y, then z.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>

/* 1D squared distance transform of f (n samples, stride s) in place.
 * v, z, d are scratch arrays of n, n+1, n entries. */
static void dt1(float *f, size_t n, size_t s, size_t *v, double *z, double *d)
{
	size_t k = 0;
	size_t q0 = 0;
	/* skip leading infinities: they cannot be parabola roots */
	while (q0 < n && isinf(f[q0 * s]))
		q0++;
	if (q0 == n)
		return; /* all infinite: stays infinite */
	v[0] = q0;
	z[0] = -INFINITY;
	z[1] = INFINITY;
	for (size_t q = q0 + 1; q < n; q++) {
		double fq = f[q * s];
		if (isinf(fq))
			continue;
		double sx;
		for (;;) {
			size_t p = v[k];
			double fp = f[p * s];
			sx = ((fq + (double)q * q) - (fp + (double)p * p)) / (2.0 * ((double)q - (double)p));
			if (sx <= z[k] && k > 0) {
				k--;
				continue;
			}
			if (sx <= z[k]) { /* k == 0: replace the only parabola */
				v[0] = q;
				z[0] = -INFINITY;
				z[1] = INFINITY;
				goto next;
			}
			break;
		}
		k++;
		v[k] = q;
		z[k] = sx;
		z[k + 1] = INFINITY;
	next:;
	}
	k = 0;
	for (size_t q = 0; q < n; q++) {
		while (z[k + 1] < (double)q)
			k++;
		double dq = (double)q - (double)v[k];
		d[q] = dq * dq + f[v[k] * s];
	}
	for (size_t q = 0; q < n; q++)
		f[q * s] = (float)d[q];
}

int bia_edt_sq(const uint8_t *feature, size_t nx, size_t ny, size_t nz, float *out)
{
	size_t n = nx * ny * nz, m = nx > ny ? nx : ny;
	if (nz > m)
		m = nz;
	size_t *v = malloc(m * sizeof(size_t));
	double *z = malloc((m + 1) * sizeof(double)), *d = malloc(m * sizeof(double));
	if (!v || !z || !d) {
		free(v);
		free(z);
		free(d);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = feature[i] ? 0.0f : INFINITY;
	for (size_t zz = 0; zz < nz; zz++)
		for (size_t y = 0; y < ny; y++)
			dt1(out + (zz * ny + y) * nx, nx, 1, v, z, d);
	for (size_t zz = 0; zz < nz; zz++)
		for (size_t x = 0; x < nx; x++)
			dt1(out + zz * ny * nx + x, ny, nx, v, z, d);
	if (nz > 1)
		for (size_t i = 0; i < nx * ny; i++)
			dt1(out + i, nz, nx * ny, v, z, d);
	free(v);
	free(z);
	free(d);
	return 0;
}
