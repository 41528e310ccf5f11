/* The one pseudo-random generator (util/rng.h).
 * SPDX-License-Identifier: MIT */
#include "util/rng.h"

#include <math.h>
#include <stdint.h>


uint64_t bia_mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

void bia_rng_seed_stream(struct bia_rng *r, uint64_t seed, uint64_t index, uint64_t purpose)
{
	/* splitmix64 over a key made of the three inputs */
	uint64_t x = bia_mix64(seed) ^ bia_mix64(index * UINT64_C(0x632BE59BD9B4E019) + 1) ^
		     bia_mix64(purpose * UINT64_C(0x8CB92BA72F3D8DD7) + 7);
	for (int i = 0; i < 4; i++) {
		x += UINT64_C(0x9E3779B97F4A7C15);
		uint64_t z = x;
		z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
		z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
		r->s[i] = z ^ (z >> 31);
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
	r->has_spare = 0;
	r->spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bia_rng_next(struct bia_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double bia_rng_uniform(struct bia_rng *r)
{
	return (double)(bia_rng_next(r) >> 11) * 0x1.0p-53;
}

double bia_rng_range(struct bia_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * bia_rng_uniform(r);
}

uint64_t bia_rng_below_reject(struct bia_rng *r, uint64_t n)
{
	/* rejection of the top partial block keeps it unbiased */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
	do
		x = bia_rng_next(r);
	while (x >= lim);
	return x % n;
}

double bia_rng_normal(struct bia_rng *r)
{
	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	double u, v, s;
	do {
		u = 2 * bia_rng_uniform(r) - 1;
		v = 2 * bia_rng_uniform(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	double f = sqrt(-2 * log(s) / s);
	r->spare = v * f;
	r->has_spare = 1;
	return u * f;
}

uint32_t bia_rng_poisson(struct bia_rng *r, double lam)
{
	if (!(lam > 0))
		return 0;
	if (lam < 10) {
		/* Knuth: multiply uniforms until below exp(-lambda) */
		double l = exp(-lam), p = 1;
		uint32_t k = 0;
		for (;;) {
			p *= bia_rng_uniform(r);
			if (p <= l)
				return k;
			k++;
		}
	}
	if (lam > 1e9) /* far beyond any camera: the normal limit is exact enough */
		return (uint32_t)fmax(0, floor(lam + sqrt(lam) * bia_rng_normal(r) + 0.5));
	/* PTRS, Hörmann (1993), "The transformed rejection method for generating
	 * Poisson random variables" */
	double slam = sqrt(lam), loglam = log(lam);
	double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
	double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
	for (;;) {
		double u = bia_rng_uniform(r) - 0.5, v = bia_rng_uniform(r);
		double us = 0.5 - fabs(u);
		double k = floor((2 * a / us + b) * u + lam + 0.43);
		if (us >= 0.07 && v <= vr)
			return (uint32_t)k;
		if (k < 0 || (us < 0.013 && v > us))
			continue;
		if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
		    -lam + k * loglam - lgamma(k + 1))
			return (uint32_t)k;
	}
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void bia_rng_seed(struct bia_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->has_spare = 0;
	r->spare = 0;
}

/* 64x64 -> high and low 64 bits without __int128 (portable C11). */
static void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
	*lo = (mid << 32) | (p00 & 0xffffffffu);
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

uint64_t bia_rng_below(struct bia_rng *r, uint64_t bound)
{
	if (bound == 0)
		return 0;
	uint64_t hi, lo;
	mul64(bia_rng_next(r), bound, &hi, &lo);
	if (lo < bound) {
		uint64_t threshold = (0 - bound) % bound;
		while (lo < threshold)
			mul64(bia_rng_next(r), bound, &hi, &lo);
	}
	return hi;
}


