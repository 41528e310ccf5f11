/* Statistics for leaderboards: type-7 percentiles, bootstrap percentile confidence intervals of the mean
 * (with shareable resample index matrices), average ranks, the Wilcoxon
 * signed-rank test, the Friedman test, Holm's correction and Kendall's
 * tau-b. Pure functions on double arrays; definitions, the scipy version they
 * match and edge cases are in docs/statistics.md.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BENCH_STATS_H
#define BIA_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "util/rng.h"

/* Return codes are enum bia_rc values (util/util.h): BIA_OK, BIA_EINVAL for
 * bad arguments (n = 0 where a value is needed, NaN inputs, size overflow),
 * BIA_ENOMEM when a scratch allocation fails. Outputs are left untouched on
 * error unless stated otherwise. */

/* The PRNG of resampling is util/rng.h's (bia_rng_seed, bia_rng_below). */

/* ----------------------------------------------------------- descriptive */

/* Arithmetic mean; NaN for n = 0. */
double bia_mean(const double *x, size_t n);
/* Percentile q in [0, 100] of an ascending array: numpy's default
 * 'linear' method (Hyndman & Fan type 7), same interpolation formula as
 * numpy.percentile. NaN for n = 0 or q outside [0, 100]. */
double bia_percentile_sorted(const double *sorted, size_t n, double q);

/* Ranks 1..n of x, ties get the average of their ranks
 * (scipy.stats.rankdata(method='average')). NaN in x: BIA_EINVAL. */
int bia_rankdata(const double *x, size_t n, double *ranks);

/* ------------------------------------------------------------- bootstrap */

/* Fill idx (reps rows of n entries, row-major) with indices drawn uniformly
 * with replacement from [0, n), deterministically from seed. Use one matrix
 * for every leaderboard entry so all entries see identical resamples.
 * n = 0, n > UINT32_MAX or reps = 0: BIA_EINVAL. */
int bia_bootstrap_indices(size_t n, unsigned reps, uint64_t seed, uint32_t *idx);

/* 95% percentile bootstrap CI of the mean of x[0..n) using a precomputed
 * index matrix: the mean of each resample row, then the 2.5th and 97.5th
 * type-7 percentiles of the reps means. Indices >= n: BIA_EINVAL. */
int bia_bootstrap_ci_idx(const double *x, size_t n, unsigned reps, const uint32_t *idx,
			 double *lo, double *hi);

/* Same, drawing the index matrix from seed (bia_bootstrap_indices). */
int bia_bootstrap_ci(const double *x, size_t n, unsigned reps, uint64_t seed, double *lo,
		     double *hi);

/* ----------------------------------------------------------------- tests */

enum bia_wilcoxon_method {
	BIA_WILCOXON_AUTO = 0, /* exact if n <= 50, no zeros and no ties */
	BIA_WILCOXON_EXACT,    /* exact distribution (zeros force approx) */
	BIA_WILCOXON_APPROX,   /* normal approximation, tie correction */
};

struct bia_wilcoxon_result {
	double statistic; /* min(W+, W-) */
	double pvalue;	  /* two-sided */
	size_t n;	  /* differences used (zeros dropped) */
	int exact;	  /* 1 if the exact distribution was used */
};

/* Two-sided Wilcoxon signed-rank test of d = x - y (y may be NULL: d = x),
 * zero differences dropped ('wilcox'), no continuity correction; matches
 * scipy.stats.wilcoxon of scipy 1.10.1 (see docs for the one deviation:
 * ties under AUTO). n = 0 or all differences zero: statistic and p NaN,
 * BIA_OK. NaN in the input: BIA_EINVAL. */
int bia_wilcoxon(const double *x, const double *y, size_t n, enum bia_wilcoxon_method method,
		 struct bia_wilcoxon_result *out);

/* Friedman chi-square test of k >= 3 treatments measured on n >= 1 blocks:
 * data[b * k + j] is block b, treatment j (one row per dataset image, one
 * column per method). Matches scipy.stats.friedmanchisquare (tie-corrected).
 * Every block all-tied: statistic and p NaN. */
int bia_friedman(const double *data, size_t n, size_t k, double *statistic, double *pvalue);

/* Holm step-down adjustment of m p-values (statsmodels
 * multipletests(method='holm')): adjusted values are monotone in the order of
 * the raw p-values and capped at 1. In-place allowed (out == p). NaN p:
 * BIA_EINVAL. */
int bia_holm(const double *p, size_t m, double *out);

/* Kendall's tau-b of two paired samples (scipy.stats.kendalltau default).
 * NaN when n < 2 or either sample is constant. */
int bia_kendall_tau_b(const double *x, const double *y, size_t n, double *tau);

/* ---------------------------------------------------------- special fns */

/* Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0,
 * x >= 0 (series for x < a + 1, Lentz continued fraction otherwise). */
double bia_gamma_q(double a, double x);
/* Chi-square survival function with dof degrees of freedom: Q(dof/2, x/2). */
double bia_chi2_sf(double x, double dof);
/* Standard normal survival function 0.5 * erfc(z / sqrt 2). */
double bia_norm_sf(double z);

#endif
