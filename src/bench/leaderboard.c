/* Leaderboards and paired comparisons (see leaderboard.h, docs/benchmarks.md).
 * SPDX-License-Identifier: MIT */
#include "bench/leaderboard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

/* A value to minimise: the direction folded in, NaN the worst. */
static double cost(double v, int higher)
{
	if (isnan(v))
		return INFINITY;
	return higher ? -v : v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Ranks (1 = best) of k summary values; NaN ranks last, ties share. */
static int rank_values(const double *s, size_t k, int higher, double *ranks, double *scratch)
{
	for (size_t i = 0; i < k; i++)
		scratch[i] = cost(s[i], higher);
	return bia_rankdata(scratch, k, ranks);
}

/* Competition ("min") ranks: 1 + the number of strictly better values. */
static void rank_values_min(const double *s, size_t k, int higher, double *ranks)
{
	for (size_t i = 0; i < k; i++) {
		size_t better = 0;
		for (size_t j = 0; j < k; j++)
			better += cost(s[j], higher) < cost(s[i], higher);
		ranks[i] = (double)(better + 1);
	}
}

static size_t reversed_pairs(const double *r1, const double *r2, size_t k)
{
	size_t n = 0;
	for (size_t i = 0; i < k; i++)
		for (size_t j = i + 1; j < k; j++) {
			double a = r1[i] - r1[j], b = r2[i] - r2[j];
			if ((a < 0 && b > 0) || (a > 0 && b < 0))
				n++;
		}
	return n;
}

void bia_lb_result_release(struct bia_lb_result *r)
{
	if (r)
		BIA_FREE(r->e);
}

int bia_leaderboard(struct bia_ctx *ctx, const double *v, size_t k, size_t n, int higher,
		    unsigned reps, uint64_t seed, struct bia_lb_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!k || !n || !reps || !v)
		return bia_fail(ctx, BIA_EINVAL, "a leaderboard needs entries, images and resamples");
	if (n > UINT32_MAX || k > (1u << 20))
		return bia_fail(ctx, BIA_EINVAL, "leaderboard too large (%zu entries, %zu images)",
				k, n);
	int rc = BIA_ENOMEM;
	struct bia_lb_entry *e = bia_calloc(k, sizeof(*e));
	double *means = bia_malloc2(k, sizeof(double)), *tmp = bia_malloc2(k > n ? k : n, sizeof(double));
	double *ranks = bia_malloc2(k, sizeof(double)), *scratch = bia_malloc2(k, sizeof(double));
	double *bmeans = bia_malloc2((size_t)reps * k, sizeof(double));
	double *branks = bia_malloc2((size_t)reps * k, sizeof(double));
	double *alt = bia_malloc2(k, sizeof(double)), *alt_ranks = bia_malloc2(k, sizeof(double));
	double *block = bia_malloc2(n * k, sizeof(double));
	double *x = bia_malloc2(n, sizeof(double)), *y = bia_malloc2(n, sizeof(double));
	double *praw = bia_malloc2(k, sizeof(double));
	double *sum = bia_malloc2(k, sizeof(double));
	size_t *cnt = bia_calloc(k, sizeof(size_t));
	uint32_t *row = bia_malloc2(n, sizeof(uint32_t));
	if (!e || !means || !tmp || !ranks || !scratch || !bmeans || !branks || !alt ||
	    !alt_ranks || !block || !x || !y || !praw || !sum || !cnt || !row) {
		bia_fail(ctx, BIA_ENOMEM, "out of memory for a leaderboard of %zu x %zu", k, n);
		goto done;
	}

	/* aggregates */
	for (size_t i = 0; i < k; i++) {
		struct bia_metric_agg a;
		bia_metric_aggregate(v + i * n, n, &a);
		e[i].n = a.n;
		e[i].n_nan = a.n_nan;
		e[i].mean = a.mean;
		e[i].sd = a.std;
		e[i].median = a.median;
		e[i].min = a.min;
		e[i].max = a.max;
		means[i] = a.mean;
	}
	if ((rc = rank_values(means, k, higher, ranks, scratch)))
		goto fail;
	size_t leader = 0;
	for (size_t i = 0; i < k; i++) {
		e[i].rank = ranks[i];
		if (cost(means[i], higher) < cost(means[leader], higher))
			leader = i;
	}

	/* bootstrap: one stream of image indices, shared by every entry */
	struct bia_rng rng;
	bia_rng_seed(&rng, seed);
	for (unsigned b = 0; b < reps; b++) {
		for (size_t j = 0; j < n; j++)
			row[j] = (uint32_t)bia_rng_below(&rng, n);
		for (size_t i = 0; i < k; i++) {
			sum[i] = 0;
			cnt[i] = 0;
		}
		for (size_t j = 0; j < n; j++)
			for (size_t i = 0; i < k; i++) {
				double val = v[i * n + row[j]];
				if (!isnan(val)) {
					sum[i] += val;
					cnt[i]++;
				}
			}
		for (size_t i = 0; i < k; i++)
			bmeans[(size_t)b * k + i] = cnt[i] ? sum[i] / (double)cnt[i] : NAN;
		rank_values_min(bmeans + (size_t)b * k, k, higher, branks + (size_t)b * k);
	}
	double *col = bia_malloc2(reps, sizeof(double));
	if (!col) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory for the bootstrap");
		goto done;
	}
	for (size_t i = 0; i < k; i++) {
		size_t m = 0;
		for (unsigned b = 0; b < reps; b++) {
			double val = bmeans[(size_t)b * k + i];
			if (!isnan(val))
				col[m++] = val;
		}
		e[i].ci_undefined = reps - m;
		qsort(col, m, sizeof(double), cmp_double);
		e[i].ci_lo = bia_percentile_sorted(col, m, 2.5);
		e[i].ci_hi = bia_percentile_sorted(col, m, 97.5);
		for (unsigned b = 0; b < reps; b++)
			col[b] = branks[(size_t)b * k + i];
		qsort(col, reps, sizeof(double), cmp_double);
		e[i].rank_lo = bia_percentile_sorted(col, reps, 2.5);
		e[i].rank_hi = bia_percentile_sorted(col, reps, 97.5);
	}
	free(col);

	/* Wilcoxon against the leader, pairwise complete, then Holm */
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (i == leader) {
			e[i].p = e[i].p_holm = e[i].w_stat = NAN;
			continue;
		}
		size_t np = 0, nz = 0;
		for (size_t j = 0; j < n; j++) {
			double a = v[leader * n + j], b = v[i * n + j];
			if (isnan(a) || isnan(b))
				continue;
			x[np] = a;
			y[np] = b;
			nz += a == b;
			np++;
		}
		e[i].n_pairs = np;
		e[i].n_zero = nz;
		struct bia_wilcoxon_result w = {NAN, NAN, 0, 0};
		if (np && (rc = bia_wilcoxon(x, y, np, BIA_WILCOXON_AUTO, &w))) {
			bia_fail(ctx, rc, "Wilcoxon test failed for entry %zu", i);
			goto done;
		}
		e[i].w_stat = w.statistic;
		e[i].p = w.pvalue;
		e[i].exact = w.exact;
		/* no non-zero difference: nothing tells them apart */
		praw[m++] = isnan(w.pvalue) ? 1.0 : w.pvalue;
	}
	if (m && (rc = bia_holm(praw, m, praw))) {
		bia_fail(ctx, rc, "Holm correction failed");
		goto done;
	}
	for (size_t i = 0, q = 0; i < k; i++) {
		if (i == leader)
			continue;
		e[i].p_holm = praw[q++];
		e[i].tied_with_first = !(e[i].p_holm < BIA_LB_ALPHA);
	}

	/* complete images: Friedman and rank-then-aggregate */
	size_t nb = 0;
	for (size_t i = 0; i < k; i++)
		sum[i] = 0;
	for (size_t j = 0; j < n; j++) {
		int complete = 1;
		for (size_t i = 0; i < k && complete; i++)
			complete = !isnan(v[i * n + j]);
		if (!complete)
			continue;
		for (size_t i = 0; i < k; i++) {
			block[nb * k + i] = v[i * n + j];
			tmp[i] = v[i * n + j];
		}
		if ((rc = rank_values(tmp, k, higher, alt_ranks, scratch)))
			goto fail;
		for (size_t i = 0; i < k; i++)
			sum[i] += alt_ranks[i];
		nb++;
	}
	out->complete = nb;
	if (k >= 3 && nb >= 1) {
		out->has_friedman = 1;
		out->friedman_n = nb;
		if ((rc = bia_friedman(block, nb, k, &out->friedman_stat, &out->friedman_p))) {
			bia_fail(ctx, rc, "Friedman test failed");
			goto done;
		}
	}
	for (size_t i = 0; i < k; i++)
		alt[i] = e[i].median;
	if ((rc = rank_values(alt, k, higher, alt_ranks, scratch)))
		goto fail;
	for (size_t i = 0; i < k; i++)
		e[i].median_rank = alt_ranks[i];
	out->flips_median = reversed_pairs(ranks, alt_ranks, k);
	bia_kendall_tau_b(ranks, alt_ranks, k, &out->tau_median);
	for (size_t i = 0; i < k; i++)
		alt[i] = nb ? sum[i] / (double)nb : NAN;
	/* mean ranks: lower is better */
	if ((rc = rank_values(alt, k, 0, alt_ranks, scratch)))
		goto fail;
	for (size_t i = 0; i < k; i++) {
		e[i].meanrank = alt[i];
		e[i].meanrank_rank = alt_ranks[i];
	}
	out->flips_meanrank = reversed_pairs(ranks, alt_ranks, k);
	bia_kendall_tau_b(ranks, alt_ranks, k, &out->tau_meanrank);

	/* competition ranking of the means ("1224"): an entry's rank is one
	 * more than the number of entries strictly better; equal means share
	 * the best rank, shown "=1" */
	for (size_t i = 0; i < k; i++) {
		size_t better = 0;
		e[i].rank_shared = 0;
		for (size_t j = 0; j < k; j++) {
			better += cost(means[j], higher) < cost(means[i], higher);
			if (j != i && cost(means[j], higher) == cost(means[i], higher))
				e[i].rank_shared = 1;
		}
		e[i].rank = (double)(better + 1);
	}
	/* too few images for intervals and tests: say so rather than print
	 * numbers that mean nothing */
	out->too_few = n < BIA_LB_MIN_IMAGES;
	if (out->too_few) {
		for (size_t i = 0; i < k; i++) {
			e[i].ci_lo = e[i].ci_hi = e[i].rank_lo = e[i].rank_hi = NAN;
			e[i].p = e[i].p_holm = e[i].w_stat = NAN;
			e[i].tied_with_first = 0;
		}
		out->has_friedman = 0;
	}
	out->k = k;
	out->n = n;
	out->leader = leader;
	out->reps = reps;
	out->seed = seed;
	out->e = e;
	e = NULL;
	rc = 0;
	goto done;
fail:
	bia_fail(ctx, rc, "leaderboard: ranking failed");
done:
	free(e);
	free(means);
	free(tmp);
	free(ranks);
	free(scratch);
	free(bmeans);
	free(branks);
	free(alt);
	free(alt_ranks);
	free(block);
	free(x);
	free(y);
	free(praw);
	free(sum);
	free(cnt);
	free(row);
	return rc;
}

/* ------------------------------------------------------------- compare */

struct adv_item {
	double adv; /* advantage of a on the image */
	size_t j;   /* image index */
};

static int cmp_adv(const void *pa, const void *pb)
{
	const struct adv_item *a = pa, *b = pb;
	if (a->adv != b->adv)
		return a->adv > b->adv ? -1 : 1;
	return a->j < b->j ? -1 : a->j > b->j;
}

void bia_compare_release(struct bia_compare *c)
{
	if (!c)
		return;
	BIA_FREE(c->order);
	BIA_FREE(c->diff);
}

int bia_compare_pair(struct bia_ctx *ctx, const double *a, const double *b, size_t n,
		     int higher, struct bia_compare *out)
{
	memset(out, 0, sizeof(*out));
	out->mean_diff = out->median_diff = out->cohen_dz = out->rank_biserial = NAN;
	out->w.statistic = out->w.pvalue = NAN;
	if (!n)
		return bia_fail(ctx, BIA_EINVAL, "nothing to compare: no images");
	double *diff = bia_malloc2(n, sizeof(double)), *adv = bia_malloc2(n, sizeof(double));
	double *x = bia_malloc2(n, sizeof(double)), *y = bia_malloc2(n, sizeof(double));
	double *absd = bia_malloc2(n, sizeof(double)), *r = bia_malloc2(n, sizeof(double));
	size_t *order = bia_malloc2(n, sizeof(size_t));
	int rc = 0;
	if (!diff || !adv || !x || !y || !absd || !r || !order) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory comparing %zu images", n);
		goto done;
	}
	size_t m = 0;
	for (size_t j = 0; j < n; j++) {
		if (isnan(a[j]) || isnan(b[j])) {
			diff[j] = NAN;
			out->n_nan++;
			continue;
		}
		diff[j] = a[j] - b[j];
		adv[j] = higher ? diff[j] : -diff[j];
		x[m] = a[j];
		y[m] = b[j];
		order[m++] = j;
		if (adv[j] > 1e-12)
			out->wins++;
		else if (adv[j] < -1e-12)
			out->losses++;
		else
			out->ties++;
	}
	out->n_pairs = m;
	if (m) {
		struct adv_item *it = bia_malloc2(m, sizeof(*it));
		if (!it) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto done;
		}
		for (size_t q = 0; q < m; q++)
			it[q] = (struct adv_item){adv[order[q]], order[q]};
		qsort(it, m, sizeof(*it), cmp_adv);
		for (size_t q = 0; q < m; q++)
			order[q] = it[q].j;
		free(it);
		struct bia_metric_agg ag;
		double *d = bia_malloc2(m, sizeof(double));
		if (!d) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto done;
		}
		for (size_t q = 0; q < m; q++)
			d[q] = x[q] - y[q];
		bia_metric_aggregate(d, m, &ag);
		out->mean_diff = ag.mean;
		out->median_diff = ag.median;
		out->cohen_dz = m >= 2 && ag.std > 0 ? ag.mean / ag.std : NAN;
		/* matched-pairs rank-biserial on the non-zero differences */
		size_t nz = 0;
		for (size_t q = 0; q < m; q++)
			if (d[q] != 0)
				absd[nz++] = fabs(d[q]);
		if (nz && !(rc = bia_rankdata(absd, nz, r))) {
			double wp = 0, wm = 0;
			for (size_t q = 0, t = 0; q < m; q++) {
				if (d[q] == 0)
					continue;
				if (d[q] > 0)
					wp += r[t];
				else
					wm += r[t];
				t++;
			}
			double rb = (wp - wm) / (wp + wm);
			out->rank_biserial = higher ? rb : -rb;
		}
		free(d);
		if (rc) {
			bia_fail(ctx, rc, "ranking the differences failed");
			goto done;
		}
		if ((rc = bia_wilcoxon(x, y, m, BIA_WILCOXON_AUTO, &out->w))) {
			bia_fail(ctx, rc, "Wilcoxon test failed");
			goto done;
		}
	}
	out->diff = diff;
	out->order = order;
	diff = NULL;
	order = NULL;
done:
	free(diff);
	free(adv);
	free(x);
	free(y);
	free(absd);
	free(r);
	free(order);
	return rc;
}
