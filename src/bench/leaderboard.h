/* Leaderboards and paired comparisons with honest statistics: per-entry
 * aggregates with NaN counted, bootstrap confidence intervals of the mean
 * and bootstrap rank intervals on shared resamples, Wilcoxon signed-rank
 * tests against the leader with Holm's correction, the Friedman test, and
 * the ranking recomputed under other aggregations with Kendall's tau.
 * Pure functions on a matrix of values (entries x images, NaN = no value);
 * the instance side (which runs, which images) is bench.h's. Definitions:
 * docs/benchmarks.md.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BENCH_LEADERBOARD_H
#define BIA_BENCH_LEADERBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "bench/stats.h"
#include "util/util.h"

#define BIA_LB_DEFAULT_REPS 10000u
#define BIA_LB_DEFAULT_SEED 1u
#define BIA_LB_ALPHA 0.05
/* Below this many images a leaderboard has no CI, no rank interval, no
 * test and no "tied" verdict: it says the images are too few. */
#define BIA_LB_MIN_IMAGES 5

struct bia_lb_entry {
	/* aggregates over the entry's non-NaN values (BIAFLOWS' run summary) */
	size_t n, n_nan;
	double mean, sd, median, min, max; /* NaN when n = 0; sd 0 when n = 1 */
	/* bootstrap */
	double ci_lo, ci_hi;	/* 95% percentile CI of the mean */
	size_t ci_undefined;	/* resamples without any value of this entry */
	double rank;		/* 1 = best, by mean; competition ranking: equal means
				 * share the best rank ("=1"), the next is 3 */
	int rank_shared;	/* another entry has the same rank */
	double rank_lo, rank_hi; /* 2.5th and 97.5th percentiles of the bootstrap ranks
				  * (competition ranks, as `rank`) */
	/* against the leader (not filled for the leader itself) */
	size_t n_pairs;		/* images where both have a value */
	size_t n_zero;		/* ... whose difference is zero (dropped) */
	double w_stat, p, p_holm; /* Wilcoxon statistic, raw and Holm-adjusted p */
	int exact;		/* exact distribution used */
	int tied_with_first;	/* adjusted p >= alpha (or no non-zero difference) */
	/* robustness */
	double median_rank;	/* rank when entries are ordered by their median */
	double meanrank;	/* mean per-image rank over complete images (rank-then-aggregate) */
	double meanrank_rank;	/* rank by that mean rank */
};

struct bia_lb_result {
	size_t k, n;		/* entries, images */
	int too_few;		/* n < BIA_LB_MIN_IMAGES: CIs, rank intervals, tests and
				 * the tied verdict are NaN / 0 */
	size_t leader;		/* index of the entry ranked first (lowest index on ties) */
	unsigned reps;
	uint64_t seed;
	/* Friedman over the images where every entry has a value (k >= 3) */
	int has_friedman;
	size_t friedman_n;
	double friedman_stat, friedman_p;
	/* rankings under other aggregations compared with the mean's */
	size_t complete;	 /* images where every entry has a value */
	double tau_median, tau_meanrank; /* Kendall tau-b with the mean ranking */
	size_t flips_median, flips_meanrank; /* pairs of entries in reversed order */
	struct bia_lb_entry *e; /* k entries, malloc'd */
};

/* Compute a leaderboard of k entries on n images: v[i * n + j] is entry
 * i's value on image j (NaN: no value). higher: 1 when larger is better.
 * reps bootstrap resamples of the n images (the same resamples for every
 * entry) drawn from seed. k >= 1, n >= 1, reps >= 1, else BIA_EINVAL. */
int bia_leaderboard(struct bia_ctx *ctx, const double *v, size_t k, size_t n, int higher,
		    unsigned reps, uint64_t seed, struct bia_lb_result *out);
void bia_lb_result_release(struct bia_lb_result *r);

/* Paired comparison of two entries a and b over n images (NaN: no value,
 * such images are left out). Differences are a - b. */
struct bia_compare {
	size_t n_pairs, n_nan;	/* images used, images left out */
	size_t wins, ties, losses; /* for a, direction-aware (|d| <= 1e-12: tie) */
	double mean_diff, median_diff;
	double cohen_dz;	/* mean(d) / sd(d); NaN when sd = 0 or fewer than 2 pairs */
	double rank_biserial;	/* (W+ - W-) / (W+ + W-) in a's favour, in [-1, 1] */
	struct bia_wilcoxon_result w;
	size_t *order;		/* indices of the used images by difference, best for a first */
	double *diff;		/* n entries: a - b, NaN where left out */
};
int bia_compare_pair(struct bia_ctx *ctx, const double *a, const double *b, size_t n,
		     int higher, struct bia_compare *out);
void bia_compare_release(struct bia_compare *c);

#endif
