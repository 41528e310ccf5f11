/* The one pseudo-random generator: xoshiro256** (Blackman & Vigna) seeded
 * through splitmix64. Same seed, same stream, on every platform. Used by
 * the generators (one stream per image and purpose) and by the statistics
 * (bootstrap resampling).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_RNG_H
#define BIA_RNG_H

#include <stdint.h>

struct bia_rng {
	uint64_t s[4]; /* state, never all zero */
	double spare;  /* second normal deviate of the polar method */
	int has_spare; /* spare is valid */
};

/* splitmix64 finaliser: a good 64-bit mix. */
uint64_t bia_mix64(uint64_t x);
/* Seed by expanding a 64-bit seed with splitmix64. */
void bia_rng_seed(struct bia_rng *r, uint64_t seed);
/* Seed one stream of many from a seed, an index and a purpose (the
 * generators: each image draws its content, noise and perturbation from
 * independent streams, so changing one knob does not move the others). */
void bia_rng_seed_stream(struct bia_rng *r, uint64_t seed, uint64_t index, uint64_t purpose);
uint64_t bia_rng_next(struct bia_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double bia_rng_uniform(struct bia_rng *r);
/* Uniform in [lo, hi). */
double bia_rng_range(struct bia_rng *r, double lo, double hi);
/* Uniform integer in [0, bound) without bias: Lemire's multiply-shift with
 * rejection; bound 0 returns 0. */
uint64_t bia_rng_below(struct bia_rng *r, uint64_t bound);
/* The same by rejecting the top partial block then a modulo: the draws the
 * synthetic datasets were made with (their bytes depend on it); n > 0. */
uint64_t bia_rng_below_reject(struct bia_rng *r, uint64_t n);
/* N(0, 1) by Marsaglia's polar method (deviates come in pairs). */
double bia_rng_normal(struct bia_rng *r);
/* Poisson(lambda): Knuth below 10, Hörmann's PTRS above. */
uint32_t bia_rng_poisson(struct bia_rng *r, double lambda);

#endif
