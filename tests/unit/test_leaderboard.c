/* Unit tests of src/bench/leaderboard: a 3 x 6 case worked by hand (the
 * arithmetic is in the comments; scipy 1.10.1 agrees on every p-value and
 * statistic), NaN handling, bootstrap properties and determinism, the
 * paired comparison.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "bench/leaderboard.h"
#include "util/util.h"

#define EPS 1e-12

/* entries A, B, C on six images; higher is better */
static const double V[3 * 6] = {
	0.91, 0.82, 0.85, 0.70, 0.95, 0.60, /* A: mean 4.83 / 6 = 0.805, median (.82+.85)/2 */
	0.50, 0.61, 0.57, 0.45, 0.68, 0.31, /* B: mean 3.12 / 6 = 0.52, median (.50+.57)/2 */
	0.93, 0.79, 0.86, 0.74, 0.90, 0.54, /* C: mean 4.76 / 6, median (.79+.86)/2 */
};

static void test_hand_case(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	struct bia_lb_result r;
	assert_int_equal(bia_leaderboard(&ctx, V, 3, 6, 1, 2000, 7, &r), 0);
	assert_int_equal(r.k, 3);
	assert_int_equal(r.leader, 0); /* A has the best mean */
	assert_float_equal(r.e[0].mean, 0.805, EPS);
	assert_float_equal(r.e[1].mean, 0.52, EPS);
	assert_float_equal(r.e[2].mean, 4.76 / 6, EPS);
	assert_float_equal(r.e[0].median, 0.835, EPS);
	assert_float_equal(r.e[1].median, 0.535, EPS);
	assert_float_equal(r.e[2].median, 0.825, EPS);
	assert_float_equal(r.e[0].rank, 1, 0);
	assert_float_equal(r.e[1].rank, 3, 0);
	assert_float_equal(r.e[2].rank, 2, 0);
	/* A - B: all six differences positive -> W = 0; exact two-sided p =
	 * 2 * 1/2^6 = 0.03125 */
	assert_float_equal(r.e[1].w_stat, 0, 0);
	assert_float_equal(r.e[1].p, 0.03125, EPS);
	assert_true(r.e[1].exact);
	assert_int_equal(r.e[1].n_pairs, 6);
	/* A - C: -.02 .03 -.01 -.04 .05 .06 -> ranks of |d| 2 3 1 4 5 6,
	 * W+ = 3+5+6 = 14, W- = 7, statistic 7; #subsets of 1..6 with sum <= 7
	 * is 1+1+1+2+2+3+4+4 = 18 -> p = 2 * 18/64 = 0.5625 */
	assert_float_equal(r.e[2].w_stat, 7, 0);
	assert_float_equal(r.e[2].p, 0.5625, EPS);
	/* Holm: 0.03125 * 2 = 0.0625, max(0.0625, 0.5625) = 0.5625: with six
	 * images neither differs significantly from A */
	assert_float_equal(r.e[1].p_holm, 0.0625, EPS);
	assert_float_equal(r.e[2].p_holm, 0.5625, EPS);
	assert_true(r.e[1].tied_with_first);
	assert_true(r.e[2].tied_with_first);
	/* Friedman: ascending ranks per image give rank sums A 15, B 6, C 15;
	 * chi2 = 12/(6*3*4) * (225+36+225) - 3*6*4 = 81 - 72 = 9, p = e^-4.5 */
	assert_true(r.has_friedman);
	assert_int_equal(r.friedman_n, 6);
	assert_float_equal(r.friedman_stat, 9, 1e-9);
	assert_float_equal(r.friedman_p, exp(-4.5), 1e-12);
	/* robustness: medians order A, C, B as the means (tau 1, no flip);
	 * per-image ranks average A 9/6, C 9/6, B 3 -> A and C tie at 1.5;
	 * tau-b of (1,3,2) vs (1.5,3,1.5) = 2 / sqrt(2*3) */
	assert_float_equal(r.e[2].median_rank, 2, 0);
	assert_float_equal(r.tau_median, 1, EPS);
	assert_int_equal(r.flips_median, 0);
	assert_float_equal(r.e[0].meanrank, 1.5, EPS);
	assert_float_equal(r.e[2].meanrank, 1.5, EPS);
	assert_float_equal(r.e[1].meanrank, 3, EPS);
	assert_float_equal(r.e[0].meanrank_rank, 1.5, 0);
	assert_float_equal(r.tau_meanrank, 2 / sqrt(6), 1e-12);
	assert_int_equal(r.flips_meanrank, 0);
	/* the bootstrap CI brackets the mean and lies inside [min, max] */
	for (int i = 0; i < 3; i++) {
		assert_true(r.e[i].ci_lo <= r.e[i].mean && r.e[i].mean <= r.e[i].ci_hi);
		assert_true(r.e[i].ci_lo >= r.e[i].min && r.e[i].ci_hi <= r.e[i].max);
		assert_int_equal(r.e[i].ci_undefined, 0);
	}
	/* B is worse than A and C on every image: its rank is 3 in every resample */
	assert_float_equal(r.e[1].rank_lo, 3, 0);
	assert_float_equal(r.e[1].rank_hi, 3, 0);
	/* A and C swap places across resamples */
	assert_float_equal(r.e[0].rank_lo, 1, 0);
	assert_float_equal(r.e[2].rank_hi, 2, 0);
	bia_lb_result_release(&r);
}

/* Lower is better: the order reverses; a flipped ranking is counted. */
static void test_lower_and_flip(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	/* X: mean 4, median 1 ; Y: mean 2, median 2 (lower is better):
	 * by mean Y first, by median X first -> one reversed pair, tau -1 */
	const double v[2 * 3] = {1, 1, 10, 2, 2, 2};
	struct bia_lb_result r;
	assert_int_equal(bia_leaderboard(&ctx, v, 2, 3, 0, 500, 1, &r), 0);
	assert_int_equal(r.leader, 1);
	assert_float_equal(r.e[1].rank, 1, 0);
	assert_float_equal(r.e[0].median_rank, 1, 0);
	assert_int_equal(r.flips_median, 1);
	assert_float_equal(r.tau_median, -1, EPS);
	assert_false(r.has_friedman); /* two entries */
	/* three images: too few for intervals and tests */
	assert_true(r.too_few);
	assert_true(isnan(r.e[1].ci_lo) && isnan(r.e[1].ci_hi));
	assert_true(isnan(r.e[0].rank_lo) && isnan(r.e[0].p) && isnan(r.e[0].p_holm));
	assert_false(r.e[0].tied_with_first);
	bia_lb_result_release(&r);
	/* five images: a constant entry has a zero-width CI */
	const double v5[2 * 5] = {1, 1, 10, 1, 1, 2, 2, 2, 2, 2};
	assert_int_equal(bia_leaderboard(&ctx, v5, 2, 5, 0, 500, 1, &r), 0);
	assert_false(r.too_few);
	assert_true(r.e[1].ci_lo == 2 && r.e[1].ci_hi == 2);
	bia_lb_result_release(&r);
}

/* Competition ranking: equal means share the best rank, the next entry
 * skips (1, =2, =2, 4): never an average rank that shows a leader as 1.5. */
static void test_competition_ranks(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	/* means (higher is better): A 0.9, B 0.5, C 0.5, D 0.1; E = A (tie for 1st)
	 * in a second board */
	const double v[4 * 5] = {0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.4, 0.6, 0.5, 0.5,
				 0.5, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1};
	struct bia_lb_result r;
	assert_int_equal(bia_leaderboard(&ctx, v, 4, 5, 1, 200, 1, &r), 0);
	assert_true(r.e[0].rank == 1 && !r.e[0].rank_shared);
	assert_true(r.e[1].rank == 2 && r.e[1].rank_shared);
	assert_true(r.e[2].rank == 2 && r.e[2].rank_shared);
	assert_true(r.e[3].rank == 4 && !r.e[3].rank_shared);
	bia_lb_result_release(&r);
	const double w[2 * 5] = {0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7};
	assert_int_equal(bia_leaderboard(&ctx, w, 2, 5, 1, 200, 1, &r), 0);
	assert_true(r.e[0].rank == 1 && r.e[1].rank == 1); /* both "=1", not 1.5 */
	assert_true(r.e[0].rank_shared && r.e[1].rank_shared);
	bia_lb_result_release(&r);
}

/* NaN values are counted, left out of the entry's aggregate, and left out
 * pairwise from the test against the leader and from Friedman's blocks. */
static void test_nan(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	double v[3 * 6];
	memcpy(v, V, sizeof(v));
	v[2 * 6 + 4] = NAN; /* C has no value on image 5 */
	struct bia_lb_result r;
	assert_int_equal(bia_leaderboard(&ctx, v, 3, 6, 1, 300, 3, &r), 0);
	assert_int_equal(r.e[2].n, 5);
	assert_int_equal(r.e[2].n_nan, 1);
	assert_float_equal(r.e[2].mean, (4.76 - 0.90) / 5, EPS); /* 0.772: A still leads */
	assert_int_equal(r.leader, 0);
	assert_int_equal(r.e[2].n_pairs, 5);
	/* A - C on five images: -.02 .03 -.01 -.04 .06 -> ranks 2 3 1 4 5,
	 * W+ = 3+5 = 8, W- = 2+1+4 = 7, statistic 7; #subsets of 1..5 with sum <= 7 is
	 * 1+1+1+2+2+3+3+3 = 16 -> p = 2 * 16/32 = 1 */
	assert_float_equal(r.e[2].w_stat, 7, 0);
	assert_float_equal(r.e[2].p, 1, EPS);
	assert_int_equal(r.friedman_n, 5);
	assert_int_equal(r.complete, 5);
	bia_lb_result_release(&r);
	/* an entry without any value ranks last, its CI undefined */
	for (int j = 0; j < 6; j++)
		v[2 * 6 + j] = NAN;
	assert_int_equal(bia_leaderboard(&ctx, v, 3, 6, 1, 100, 3, &r), 0);
	assert_float_equal(r.e[2].rank, 3, 0);
	assert_true(isnan(r.e[2].mean));
	assert_int_equal(r.e[2].ci_undefined, 100);
	assert_int_equal(r.e[2].n_pairs, 0);
	assert_true(r.e[2].tied_with_first); /* nothing tells them apart */
	assert_int_equal(r.complete, 0);
	assert_false(r.has_friedman);
	bia_lb_result_release(&r);
}

/* Same seed, same numbers; another seed, other intervals. */
static void test_determinism(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	struct bia_lb_result a, b, c;
	assert_int_equal(bia_leaderboard(&ctx, V, 3, 6, 1, 1000, 42, &a), 0);
	assert_int_equal(bia_leaderboard(&ctx, V, 3, 6, 1, 1000, 42, &b), 0);
	assert_int_equal(bia_leaderboard(&ctx, V, 3, 6, 1, 1000, 43, &c), 0);
	int differs = 0;
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(&a.e[i], &b.e[i], sizeof(a.e[i]));
		differs |= a.e[i].ci_lo != c.e[i].ci_lo || a.e[i].ci_hi != c.e[i].ci_hi;
	}
	assert_true(differs);
	bia_lb_result_release(&a);
	bia_lb_result_release(&b);
	bia_lb_result_release(&c);
	assert_int_equal(bia_leaderboard(&ctx, V, 0, 6, 1, 10, 1, &a), BIA_EINVAL);
	assert_int_equal(bia_leaderboard(&ctx, V, 3, 6, 1, 0, 1, &a), BIA_EINVAL);
}

static void test_compare(void **state)
{
	(void)state;
	struct bia_ctx ctx = {0};
	struct bia_compare c;
	/* A vs C: d = -.02 .03 -.01 -.04 .05 .06 */
	assert_int_equal(bia_compare_pair(&ctx, V, V + 12, 6, 1, &c), 0);
	assert_int_equal(c.n_pairs, 6);
	assert_int_equal(c.wins, 3);
	assert_int_equal(c.losses, 3);
	assert_int_equal(c.ties, 0);
	assert_float_equal(c.mean_diff, 0.07 / 6, 1e-12);
	/* rank-biserial (W+ - W-) / (W+ + W-) = (14 - 7) / 21 */
	assert_float_equal(c.rank_biserial, 1.0 / 3, 1e-12);
	/* dz = mean / sd(ddof 1) of d (numpy: 0.28663500207257486) */
	assert_float_equal(c.cohen_dz, 0.28663500207257486, 1e-9);
	assert_float_equal(c.w.pvalue, 0.5625, 1e-12);
	/* best image for A first: d = .06 (6th), .05 (5th), .03 (2nd), -.01, -.02, -.04 */
	static const size_t want[6] = {5, 4, 1, 2, 0, 3};
	for (int q = 0; q < 6; q++)
		assert_int_equal(c.order[q], want[q]);
	bia_compare_release(&c);
	/* lower is better: wins and losses swap, the effect changes sign */
	double a[3] = {1, 2, NAN}, b[3] = {2, 2, 5};
	assert_int_equal(bia_compare_pair(&ctx, a, b, 3, 0, &c), 0);
	assert_int_equal(c.n_pairs, 2);
	assert_int_equal(c.n_nan, 1);
	assert_int_equal(c.wins, 1);
	assert_int_equal(c.ties, 1);
	assert_float_equal(c.rank_biserial, 1, 0); /* the only non-zero difference favours a */
	assert_true(isnan(c.diff[2]));
	bia_compare_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_case), cmocka_unit_test(test_lower_and_flip),
		cmocka_unit_test(test_nan),	  cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_compare),	  cmocka_unit_test(test_competition_ranks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
