/* PixCla: ACC and the support-weighted F1, PR, RE of scikit-learn
 * (average='weighted') over the classes (grey levels, 0 included) of the
 * ground truth and the prediction. The confusion matrix is the sparse
 * table of (GT class, predicted class) pairs counted in one pass.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static size_t find_class(const uint32_t *cls, size_t n, uint32_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cls[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* np.average(x, weights=w): Σ x_c*w_c / Σ w_c, both sums in numpy's order. */
static double weighted(const double *x, const double *w, double *tmp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tmp[i] = x[i] * w[i];
	return bia__np_sum(tmp, n) / bia__np_sum(w, n);
}

static int score(struct bia_metric_result *r, const struct bia__pair *pr, size_t npr, size_t n)
{
	size_t nc = 0;
	uint32_t *cls = bia_malloc2(2 * npr + 1, sizeof(uint32_t));
	double *v = bia_calloc(7 * (npr + 1), sizeof(double));
	if (!cls || !v) {
		free(cls);
		free(v);
		return -1;
	}
	/* classes: sorted union of the values of both images */
	for (size_t i = 0; i < npr; i++) {
		cls[nc++] = pr[i].a;
		cls[nc++] = pr[i].b;
	}
	qsort(cls, nc, sizeof(uint32_t), cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < nc; i++)
		if (!k || cls[i] != cls[k - 1])
			cls[k++] = cls[i];
	nc = k;
	double *S = v, *P = v + nc, *TP = v + 2 * nc; /* support, predicted, true positives */
	double *pre = v + 3 * nc, *rec = v + 4 * nc, *f1 = v + 5 * nc, *tmp = v + 6 * nc;
	uint64_t ok = 0;
	for (size_t i = 0; i < npr; i++) {
		S[find_class(cls, nc, pr[i].a)] += (double)pr[i].n;
		P[find_class(cls, nc, pr[i].b)] += (double)pr[i].n;
		if (pr[i].a == pr[i].b) {
			TP[find_class(cls, nc, pr[i].a)] += (double)pr[i].n;
			ok += pr[i].n;
		}
	}
	/* per class, zero_division = 0 as scikit-learn's default */
	for (size_t c = 0; c < nc; c++) {
		pre[c] = P[c] > 0 ? TP[c] / P[c] : 0.0;
		rec[c] = S[c] > 0 ? TP[c] / S[c] : 0.0;
		f1[c] = pre[c] + rec[c] > 0 ? 2 * pre[c] * rec[c] / (pre[c] + rec[c]) : 0.0;
	}
	bia_metric_set(r, "ACC", (double)ok / (double)n);
	bia_metric_set(r, "F1", weighted(f1, S, tmp, nc));
	bia_metric_set(r, "PR", weighted(pre, S, tmp, nc));
	/* weighted recall: equals ACC up to rounding (decision 13) */
	bia_metric_set(r, "RE", weighted(rec, S, tmp, nc));
	free(cls);
	free(v);
	return 0;
}

int bia__metrics_pixcla(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	(void)p;
	int rc = bia__check_masks(ctx, "PixCla", in->pred, in->gt);
	if (rc)
		return rc;
	const void *g, *pl;
	enum bia_dtype tg, tp;
	uint32_t *gown = NULL, *pown = NULL;
	struct bia__pair *pr = NULL;
	size_t npr = 0, n = bia_image_nsamples(in->gt);
	rc = bia__labels_view(ctx, "ground truth", in->gt, &g, &tg, &gown);
	if (!rc)
		rc = bia__labels_view(ctx, "prediction", in->pred, &pl, &tp, &pown);
	if (!rc && (bia__pairs_count(g, tg, pl, tp, n, 1, &pr, &npr) || score(r, pr, npr, n)))
		rc = bia_fail(ctx, BIA_ENOMEM, "PixCla: out of memory");
	free(gown);
	free(pown);
	free(pr);
	return rc;
}
