/* Unit tests of src/bench/stats: reference values computed once with scipy
 * 1.10.1 / numpy (tests/fixtures/stats/make-fixtures -> stats_cases.h),
 * bootstrap determinism and hand-checkable cases, edge cases.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"
#include "util/util.h"

#include "stats_cases.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* |got - want| <= rel * |want| (or both NaN); tiny absolute floor for 0. */
static void close_to(const char *what, double got, double want, double rel)
{
	if (isnan(want) && isnan(got))
		return;
	double tol = rel * fabs(want);
	if (tol < 1e-300)
		tol = 1e-300;
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g want %.17g", what, got, want);
}

static void test_wilcoxon_scipy(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(wil_cases); i++) {
		const struct wil_case *c = &wil_cases[i];
		struct bia_wilcoxon_result r;
		assert_int_equal(bia_wilcoxon(c->x, c->y, c->n, c->method, &r), BIA_OK);
		char what[64];
		snprintf(what, sizeof(what), "%s statistic", c->name);
		close_to(what, r.statistic, c->stat, 1e-12);
		snprintf(what, sizeof(what), "%s p", c->name);
		close_to(what, r.pvalue, c->p, 1e-9);
		if (r.exact != c->exact)
			fail_msg("%s: exact %d want %d", c->name, r.exact, c->exact);
	}
}

static void test_wilcoxon_methods(void **state)
{
	(void)state;
	/* y = NULL is the one-sample form on x - 0 */
	const struct wil_case *c = &wil_cases[2];
	double d[64];
	for (size_t i = 0; i < c->n; i++)
		d[i] = c->x[i] - c->y[i];
	struct bia_wilcoxon_result r1, r2;
	assert_int_equal(bia_wilcoxon(d, NULL, c->n, BIA_WILCOXON_AUTO, &r1), BIA_OK);
	close_to("one-sample p", r1.pvalue, c->p, 1e-9);
	/* forcing exact on the n = 30 case gives the auto (exact) value */
	for (size_t i = 0; i < N(wil_cases); i++)
		if (!strcmp(wil_cases[i].name, "approx30")) {
			const struct wil_case *a = &wil_cases[i];
			assert_int_equal(bia_wilcoxon(a->x, a->y, a->n, BIA_WILCOXON_EXACT, &r2),
					 BIA_OK);
			close_to("exact30", r2.pvalue, wil_cases[i - 1].p, 1e-9);
			assert_int_equal(r2.exact, 1);
		}
	/* EXACT reproduces scipy 1.10.1's default on tied data (docs) */
	assert_int_equal(bia_wilcoxon(wx_ties12, wy_ties12, 12, BIA_WILCOXON_EXACT, &r2), BIA_OK);
	close_to("ties12 exact", r2.pvalue, wil_ties12_scipy_default_p, 1e-9);
	/* zeros force the approximation even when exact is asked for */
	const double zx[] = {1, 2, 3, 4, 5, 6}, zy[] = {1, 0, 0, 0, 0, 0};
	assert_int_equal(bia_wilcoxon(zx, zy, 6, BIA_WILCOXON_EXACT, &r2), BIA_OK);
	assert_int_equal(r2.exact, 0);
	assert_int_equal(r2.n, 5);
	/* n = 1: scipy gives statistic 0, p 1 */
	const double one = 1.0, zero = 0.0;
	assert_int_equal(bia_wilcoxon(&one, &zero, 1, BIA_WILCOXON_AUTO, &r2), BIA_OK);
	assert_true(r2.statistic == 0 && r2.pvalue == 1.0);
	/* n = 0 and all differences zero: NaN, NaN */
	assert_int_equal(bia_wilcoxon(NULL, NULL, 0, BIA_WILCOXON_AUTO, &r2), BIA_OK);
	assert_true(isnan(r2.statistic) && isnan(r2.pvalue));
	assert_int_equal(bia_wilcoxon(zx, zx, 6, BIA_WILCOXON_AUTO, &r2), BIA_OK);
	assert_true(isnan(r2.statistic) && isnan(r2.pvalue));
	assert_int_equal(r2.n, 0);
	/* NaN input, bad method */
	const double nx[] = {1, NAN, 3};
	assert_int_equal(bia_wilcoxon(nx, NULL, 3, BIA_WILCOXON_AUTO, &r2), BIA_EINVAL);
	assert_int_equal(bia_wilcoxon(zx, NULL, 6, (enum bia_wilcoxon_method)7, &r2), BIA_EINVAL);
}

static void test_friedman_scipy(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(fri_cases); i++) {
		const struct fri_case *c = &fri_cases[i];
		double s = 0, p = 0;
		assert_int_equal(bia_friedman(c->data, c->n, c->k, &s, &p), BIA_OK);
		char what[64];
		snprintf(what, sizeof(what), "%s statistic", c->name);
		close_to(what, s, c->stat, 1e-9);
		snprintf(what, sizeof(what), "%s p", c->name);
		close_to(what, p, c->p, 1e-9);
	}
	/* every block tied: scipy gives nan, nan */
	const double tied[] = {1, 1, 1, 2, 2, 2};
	double s, p;
	assert_int_equal(bia_friedman(tied, 2, 3, &s, &p), BIA_OK);
	assert_true(isnan(s) && isnan(p));
	assert_int_equal(bia_friedman(tied, 3, 2, &s, &p), BIA_EINVAL);
	assert_int_equal(bia_friedman(tied, 0, 3, &s, &p), BIA_EINVAL);
}

static void test_chi2_gamma(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(chi2_cases); i++) {
		char what[64];
		snprintf(what, sizeof(what), "chi2.sf(%g, %g)", chi2_cases[i][0], chi2_cases[i][1]);
		close_to(what, bia_chi2_sf(chi2_cases[i][0], chi2_cases[i][1]), chi2_cases[i][2],
			 1e-11);
	}
	/* Q(1, x) = exp(-x); Q(0.5, x) = erfc(sqrt x) */
	for (double x = 0.05; x < 60; x *= 1.7) {
		close_to("Q(1,x)", bia_gamma_q(1, x), exp(-x), 1e-12);
		close_to("Q(.5,x)", bia_gamma_q(0.5, x), erfc(sqrt(x)), 1e-11);
	}
	assert_true(bia_gamma_q(2, 0) == 1.0);
	assert_true(bia_gamma_q(2, INFINITY) == 0.0);
	assert_true(isnan(bia_gamma_q(0, 1)));
	assert_true(bia_chi2_sf(0, 3) == 1.0);
	close_to("norm_sf", bia_norm_sf(1.959963984540054), 0.025, 1e-12);
}

static void test_holm(void **state)
{
	(void)state;
	double out[N(holm_in)];
	assert_int_equal(bia_holm(holm_in, N(holm_in), out), BIA_OK);
	for (size_t i = 0; i < N(holm_in); i++)
		close_to("holm", out[i], holm_out[i], 1e-12);
	/* in place; capped at 1; monotone in the raw order */
	double p[] = {0.9, 0.5, 0.01, 0.6};
	assert_int_equal(bia_holm(p, 4, p), BIA_OK);
	close_to("holm[2]", p[2], 0.04, 1e-12);
	close_to("holm[1]", p[1], 1.0, 0);
	close_to("holm[3]", p[3], 1.0, 0);
	close_to("holm[0]", p[0], 1.0, 0);
	assert_int_equal(bia_holm(NULL, 0, NULL), BIA_OK);
	const double bad[] = {0.1, NAN};
	assert_int_equal(bia_holm(bad, 2, out), BIA_EINVAL);
}

static void test_kendall(void **state)
{
	(void)state;
	double t;
	assert_int_equal(bia_kendall_tau_b(kt_x, kt_y, N(kt_x), &t), BIA_OK);
	close_to("tau", t, kt_tau, 1e-12);
	assert_int_equal(bia_kendall_tau_b(kt_x2, kt_y2, N(kt_x2), &t), BIA_OK);
	close_to("tau2", t, kt_tau2, 1e-12);
	const double a[] = {1, 2, 3, 4}, b[] = {4, 3, 2, 1}, k[] = {5, 5, 5, 5};
	assert_int_equal(bia_kendall_tau_b(a, b, 4, &t), BIA_OK);
	assert_true(t == -1.0);
	assert_int_equal(bia_kendall_tau_b(a, a, 4, &t), BIA_OK);
	assert_true(t == 1.0);
	assert_int_equal(bia_kendall_tau_b(a, k, 4, &t), BIA_OK);
	assert_true(isnan(t));
	assert_int_equal(bia_kendall_tau_b(a, b, 1, &t), BIA_OK);
	assert_true(isnan(t));
}

static void test_rank_percentile(void **state)
{
	(void)state;
	double r[N(rk_in)];
	assert_int_equal(bia_rankdata(rk_in, N(rk_in), r), BIA_OK);
	for (size_t i = 0; i < N(rk_in); i++)
		assert_true(r[i] == rk_out[i]);
	for (size_t i = 0; i < N(pc_q); i++)
		close_to("percentile", bia_percentile_sorted(pc_in, N(pc_in), pc_q[i]), pc_out[i],
			 1e-14);
	const double two[] = {1, 3};
	assert_true(bia_percentile_sorted(two, 2, 50) == 2);
	assert_true(bia_percentile_sorted(two, 1, 97.5) == 1);
	assert_true(isnan(bia_percentile_sorted(two, 0, 50)));
	assert_true(isnan(bia_percentile_sorted(two, 2, 101)));
	assert_true(isnan(bia_mean(two, 0)));
}

static void test_rng(void **state)
{
	(void)state;
	struct bia_rng a, b;
	bia_rng_seed(&a, 7);
	bia_rng_seed(&b, 7);
	for (int i = 0; i < 100; i++)
		assert_true(bia_rng_next(&a) == bia_rng_next(&b));
	bia_rng_seed(&b, 8);
	assert_true(bia_rng_next(&a) != bia_rng_next(&b));
	for (int i = 0; i < 10000; i++) {
		double u = bia_rng_uniform(&a);
		assert_true(u >= 0 && u < 1);
		assert_true(bia_rng_below(&a, 3) < 3);
	}
	assert_true(bia_rng_below(&a, 0) == 0);
	assert_true(bia_rng_below(&a, 1) == 0);
}

static void test_bootstrap(void **state)
{
	(void)state;
	size_t n = N(bs_x);
	uint32_t *idx = malloc(bs_reps * n * sizeof(*idx));
	assert_non_null(idx);
	assert_int_equal(bia_bootstrap_indices(n, bs_reps, bs_seed, idx), BIA_OK);
	for (size_t i = 0; i < N(bs_idx_head); i++)
		assert_int_equal(idx[i], bs_idx_head[i]);
	double lo, hi, lo2, hi2;
	assert_int_equal(bia_bootstrap_ci_idx(bs_x, n, bs_reps, idx, &lo, &hi), BIA_OK);
	close_to("bs lo", lo, bs_lo, 1e-12);
	close_to("bs hi", hi, bs_hi, 1e-12);
	/* seeded form: same numbers, twice */
	assert_int_equal(bia_bootstrap_ci(bs_x, n, bs_reps, bs_seed, &lo2, &hi2), BIA_OK);
	assert_true(lo2 == lo && hi2 == hi);
	assert_int_equal(bia_bootstrap_ci(bs_x, n, bs_reps, bs_seed, &lo2, &hi2), BIA_OK);
	assert_true(lo2 == lo && hi2 == hi);
	double m = bia_mean(bs_x, n);
	assert_true(lo < m && m < hi);
	/* another seed: different interval, still around the mean */
	assert_int_equal(bia_bootstrap_ci(bs_x, n, bs_reps, bs_seed + 1, &lo2, &hi2), BIA_OK);
	assert_true(lo2 != lo || hi2 != hi);
	assert_true(lo2 < m && m < hi2);
	/* shared resamples: a shifted entry gets exactly the shifted interval */
	double y[64];
	for (size_t i = 0; i < n; i++)
		y[i] = bs_x[i] + 1.0;
	assert_int_equal(bia_bootstrap_ci_idx(y, n, bs_reps, idx, &lo2, &hi2), BIA_OK);
	close_to("shift lo", lo2, lo + 1, 1e-12);
	close_to("shift hi", hi2, hi + 1, 1e-12);
	/* out-of-range index */
	idx[5] = (uint32_t)n;
	assert_int_equal(bia_bootstrap_ci_idx(bs_x, n, bs_reps, idx, &lo2, &hi2), BIA_EINVAL);
	free(idx);
	/* n = 1: every resample is x itself */
	const double one = 0.625;
	assert_int_equal(bia_bootstrap_ci(&one, 1, 200, 1, &lo, &hi), BIA_OK);
	assert_true(lo == one && hi == one);
	/* constant data: degenerate interval */
	const double c[] = {2, 2, 2, 2};
	assert_int_equal(bia_bootstrap_ci(c, 4, 100, 3, &lo, &hi), BIA_OK);
	assert_true(lo == 2 && hi == 2);
	/* bad arguments */
	assert_int_equal(bia_bootstrap_ci(c, 0, 100, 3, &lo, &hi), BIA_EINVAL);
	assert_int_equal(bia_bootstrap_ci(c, 4, 0, 3, &lo, &hi), BIA_EINVAL);
	const double nn[] = {1, NAN};
	assert_int_equal(bia_bootstrap_ci(nn, 2, 10, 3, &lo, &hi), BIA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilcoxon_scipy),	cmocka_unit_test(test_wilcoxon_methods),
		cmocka_unit_test(test_friedman_scipy),	cmocka_unit_test(test_chi2_gamma),
		cmocka_unit_test(test_holm),		cmocka_unit_test(test_kendall),
		cmocka_unit_test(test_rank_percentile), cmocka_unit_test(test_rng),
		cmocka_unit_test(test_bootstrap),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
