/* Statistics for leaderboards (see stats.h and docs/statistics.md).
 * SPDX-License-Identifier: MIT */
#include "bench/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* ------------------------------------------------------------------ PRNG */

/* ----------------------------------------------------------- descriptive */

double bia_mean(const double *x, size_t n)
{
	if (n == 0)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

double bia_percentile_sorted(const double *v, size_t n, double q)
{
	if (n == 0 || !(q >= 0 && q <= 100))
		return NAN;
	/* numpy: virtual index (n - 1) * q / 100, _lerp(a, b, t) */
	double h = (double)(n - 1) * (q / 100.0);
	double f = floor(h);
	size_t i = (size_t)f;
	if (i >= n - 1)
		return v[n - 1];
	double t = h - f, a = v[i], b = v[i + 1], diff = b - a;
	return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

struct vi {
	double v;
	size_t i;
};

static int cmp_vi(const void *pa, const void *pb)
{
	const struct vi *a = pa, *b = pb;
	if (a->v < b->v)
		return -1;
	if (a->v > b->v)
		return 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* Average ranks; *tie_sum (optional) gets sum of t^3 - t over tie groups. */
static int rank_avg(const double *x, size_t n, double *ranks, double *tie_sum)
{
	if (tie_sum)
		*tie_sum = 0;
	if (n == 0)
		return BIA_OK;
	if (n > SIZE_MAX / sizeof(struct vi))
		return BIA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (isnan(x[i]))
			return BIA_EINVAL;
	struct vi *a = malloc(n * sizeof(*a));
	if (!a)
		return BIA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		a[i].v = x[i];
		a[i].i = i;
	}
	qsort(a, n, sizeof(*a), cmp_vi);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && a[j].v == a[i].v)
			j++;
		/* ranks i+1 .. j, average (i + 1 + j) / 2 */
		double r = ((double)i + 1.0 + (double)j) / 2.0;
		for (size_t k = i; k < j; k++)
			ranks[a[k].i] = r;
		double t = (double)(j - i);
		if (tie_sum && j - i > 1)
			*tie_sum += t * (t * t - 1);
		i = j;
	}
	free(a);
	return BIA_OK;
}

int bia_rankdata(const double *x, size_t n, double *ranks)
{
	return rank_avg(x, n, ranks, NULL);
}

/* ------------------------------------------------------------- bootstrap */

int bia_bootstrap_indices(size_t n, unsigned reps, uint64_t seed, uint32_t *idx)
{
	if (n == 0 || reps == 0 || (uint64_t)n > UINT32_MAX || n > SIZE_MAX / reps)
		return BIA_EINVAL;
	struct bia_rng r;
	bia_rng_seed(&r, seed);
	size_t total = (size_t)reps * n;
	for (size_t i = 0; i < total; i++)
		idx[i] = (uint32_t)bia_rng_below(&r, n);
	return BIA_OK;
}

int bia_bootstrap_ci_idx(const double *x, size_t n, unsigned reps, const uint32_t *idx,
			 double *lo, double *hi)
{
	if (n == 0 || reps == 0 || n > SIZE_MAX / reps)
		return BIA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (isnan(x[i]))
			return BIA_EINVAL;
	double *means = malloc((size_t)reps * sizeof(*means));
	if (!means)
		return BIA_ENOMEM;
	for (size_t r = 0; r < reps; r++) {
		const uint32_t *row = idx + r * n;
		double s = 0;
		for (size_t i = 0; i < n; i++) {
			if (row[i] >= n) {
				free(means);
				return BIA_EINVAL;
			}
			s += x[row[i]];
		}
		means[r] = s / (double)n;
	}
	qsort(means, reps, sizeof(*means), cmp_double);
	*lo = bia_percentile_sorted(means, reps, 2.5);
	*hi = bia_percentile_sorted(means, reps, 97.5);
	free(means);
	return BIA_OK;
}

int bia_bootstrap_ci(const double *x, size_t n, unsigned reps, uint64_t seed, double *lo,
		     double *hi)
{
	if (n == 0 || reps == 0 || (uint64_t)n > UINT32_MAX || n > SIZE_MAX / sizeof(uint32_t) / reps)
		return BIA_EINVAL;
	uint32_t *idx = malloc((size_t)reps * n * sizeof(*idx));
	if (!idx)
		return BIA_ENOMEM;
	int rc = bia_bootstrap_indices(n, reps, seed, idx);
	if (rc == BIA_OK)
		rc = bia_bootstrap_ci_idx(x, n, reps, idx, lo, hi);
	free(idx);
	return rc;
}

/* ---------------------------------------------------------- special fns */

double bia_norm_sf(double z)
{
	return 0.5 * erfc(z / sqrt(2.0));
}

/* P(a, x) by its power series, valid (and used) for x < a + 1. */
static double gamma_p_series(double a, double x)
{
	double ap = a, sum = 1.0 / a, del = sum;
	for (int i = 0; i < 10000; i++) {
		ap += 1;
		del *= x / ap;
		sum += del;
		if (fabs(del) < fabs(sum) * 1e-17)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by the continued fraction (modified Lentz), used for x >= a + 1. */
static double gamma_q_cf(double a, double x)
{
	const double tiny = DBL_MIN / DBL_EPSILON;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
	for (int i = 1; i < 10000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-16)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double bia_gamma_q(double a, double x)
{
	if (isnan(a) || isnan(x) || a <= 0 || x < 0)
		return NAN;
	if (x == 0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	if (x < a + 1)
		return 1.0 - gamma_p_series(a, x);
	return gamma_q_cf(a, x);
}

double bia_chi2_sf(double x, double dof)
{
	if (isnan(x))
		return NAN;
	if (x <= 0)
		return 1.0;
	return bia_gamma_q(dof / 2, x / 2);
}

/* ----------------------------------------------------------------- tests */

int bia_wilcoxon(const double *x, const double *y, size_t n, enum bia_wilcoxon_method method,
		 struct bia_wilcoxon_result *out)
{
	if (method != BIA_WILCOXON_AUTO && method != BIA_WILCOXON_EXACT &&
	    method != BIA_WILCOXON_APPROX)
		return BIA_EINVAL;
	struct bia_wilcoxon_result res = {NAN, NAN, 0, 0};
	if (n == 0) {
		*out = res;
		return BIA_OK;
	}
	if (n > SIZE_MAX / (2 * sizeof(double)))
		return BIA_EINVAL;
	double *d = malloc(2 * n * sizeof(*d));
	if (!d)
		return BIA_ENOMEM;
	double *r = d + n;
	size_t m = 0, nzero = 0;
	for (size_t i = 0; i < n; i++) {
		double v = y ? x[i] - y[i] : x[i];
		if (isnan(v)) {
			free(d);
			return BIA_EINVAL;
		}
		if (v == 0)
			nzero++;
		else
			d[m++] = v;
	}
	if (m == 0) {
		free(d);
		*out = res;
		return BIA_OK;
	}
	/* ranks of |d| */
	double *ad = r; /* reuse: |d| then ranks in a second buffer */
	double *ranks = malloc(m * sizeof(*ranks));
	if (!ranks) {
		free(d);
		return BIA_ENOMEM;
	}
	for (size_t i = 0; i < m; i++)
		ad[i] = fabs(d[i]);
	double ties = 0;
	int rc = rank_avg(ad, m, ranks, &ties);
	if (rc) {
		free(ranks);
		free(d);
		return rc;
	}
	double rplus = 0, rminus = 0;
	for (size_t i = 0; i < m; i++) {
		if (d[i] > 0)
			rplus += ranks[i];
		else
			rminus += ranks[i];
	}
	free(ranks);
	free(d);
	res.statistic = rplus < rminus ? rplus : rminus;
	res.n = m;
	int exact;
	if (method == BIA_WILCOXON_AUTO)
		exact = n <= 50 && nzero == 0 && ties == 0;
	else
		exact = method == BIA_WILCOXON_EXACT && nzero == 0;
	double cnt = (double)m;
	if (!exact) {
		double mn = cnt * (cnt + 1) * 0.25;
		double se = cnt * (cnt + 1) * (2 * cnt + 1);
		se -= 0.5 * ties;
		se = sqrt(se / 24);
		double z = (res.statistic - mn) / se;
		res.pvalue = 2 * bia_norm_sf(fabs(z));
	} else {
		/* pmf of W+ by scipy's recurrence (_get_wilcoxon_distr): exact
		 * dyadic fractions for m <= 53. */
		size_t top = m * (m + 1) / 2;
		double *pmf = calloc(top + 1, sizeof(*pmf));
		double *prev = calloc(top + 1, sizeof(*prev));
		if (!pmf || !prev) {
			free(pmf);
			free(prev);
			return BIA_ENOMEM;
		}
		pmf[0] = 1;
		size_t len = 1;
		for (size_t k = 1; k <= m; k++) {
			memcpy(prev, pmf, len * sizeof(*pmf));
			size_t nlen = k * (k + 1) / 2 + 1;
			memset(pmf, 0, nlen * sizeof(*pmf));
			for (size_t i = 0; i < len; i++) {
				pmf[i] += prev[i] * 0.5;
				pmf[nlen - len + i] += prev[i] * 0.5;
			}
			len = nlen;
		}
		size_t rp = (size_t)rplus; /* integral: no ties in exact mode */
		double p;
		if (rp == top / 2) {
			p = 1.0;
		} else {
			double pl = 0, pg = 0;
			for (size_t i = 0; i <= rp; i++)
				pl += pmf[i];
			for (size_t i = rp; i <= top; i++)
				pg += pmf[i];
			p = 2 * (pl < pg ? pl : pg);
		}
		res.pvalue = p > 1 ? 1 : p < 0 ? 0 : p;
		res.exact = 1;
		free(pmf);
		free(prev);
	}
	*out = res;
	return BIA_OK;
}

int bia_friedman(const double *data, size_t n, size_t k, double *statistic, double *pvalue)
{
	if (k < 3 || n == 0 || n > SIZE_MAX / k / sizeof(double))
		return BIA_EINVAL;
	double *sum = calloc(k, sizeof(*sum));
	double *rk = malloc(k * sizeof(*rk));
	if (!sum || !rk) {
		free(sum);
		free(rk);
		return BIA_ENOMEM;
	}
	double ties = 0;
	for (size_t b = 0; b < n; b++) {
		double t;
		int rc = rank_avg(data + b * k, k, rk, &t);
		if (rc) {
			free(sum);
			free(rk);
			return rc;
		}
		ties += t;
		for (size_t j = 0; j < k; j++)
			sum[j] += rk[j];
	}
	double kk = (double)k, nn = (double)n, ssbn = 0;
	for (size_t j = 0; j < k; j++)
		ssbn += sum[j] * sum[j];
	free(sum);
	free(rk);
	double c = 1 - ties / (kk * (kk * kk - 1) * nn);
	if (c <= 0) {
		*statistic = NAN;
		*pvalue = NAN;
		return BIA_OK;
	}
	double chisq = (12.0 / (kk * nn * (kk + 1)) * ssbn - 3 * nn * (kk + 1)) / c;
	*statistic = chisq;
	*pvalue = bia_chi2_sf(chisq, kk - 1);
	return BIA_OK;
}

int bia_holm(const double *p, size_t m, double *out)
{
	if (m == 0)
		return BIA_OK;
	if (m > SIZE_MAX / sizeof(struct vi))
		return BIA_EINVAL;
	for (size_t i = 0; i < m; i++)
		if (isnan(p[i]))
			return BIA_EINVAL;
	struct vi *a = malloc(m * sizeof(*a));
	if (!a)
		return BIA_ENOMEM;
	for (size_t i = 0; i < m; i++) {
		a[i].v = p[i];
		a[i].i = i;
	}
	qsort(a, m, sizeof(*a), cmp_vi);
	double run = 0;
	for (size_t j = 0; j < m; j++) {
		double v = (double)(m - j) * a[j].v;
		if (v > run)
			run = v;
		out[a[j].i] = run > 1 ? 1 : run;
	}
	free(a);
	return BIA_OK;
}

int bia_kendall_tau_b(const double *x, const double *y, size_t n, double *tau)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(x[i]) || isnan(y[i]))
			return BIA_EINVAL;
	double con = 0, dis = 0, tx = 0, ty = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			int sx = (x[i] > x[j]) - (x[i] < x[j]);
			int sy = (y[i] > y[j]) - (y[i] < y[j]);
			if (sx && sy) {
				if (sx == sy)
					con++;
				else
					dis++;
			} else if (!sx && sy) {
				tx++;
			} else if (sx && !sy) {
				ty++;
			}
		}
	double d1 = con + dis + tx, d2 = con + dis + ty;
	if (n < 2 || d1 == 0 || d2 == 0) {
		*tau = NAN;
		return BIA_OK;
	}
	double t = (con - dis) / sqrt(d1) / sqrt(d2);
	*tau = t > 1 ? 1 : t < -1 ? -1 : t;
	return BIA_OK;
}
