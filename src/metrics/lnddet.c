/* LndDet: NREF, NPRED and MRE, the mean over landmark classes 1..K of the
 * mean distance from each predicted point of the class to the nearest GT
 * point of the same class (NaN and inf as BIAFLOWS), plus one record per
 * predicted point.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A landmark: class and coordinates (x, y, z, t; array index space). */
struct lmk {
	uint32_t k;  /* class (grey value) */
	double q[4]; /* x, y, z, t */
};

static int cmp_lmk(const void *x, const void *y)
{
	const struct lmk *a = x, *b = y;
	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	for (int d = 3; d >= 0; d--) /* raster order inside a class */
		if (a->q[d] != b->q[d])
			return a->q[d] < b->q[d] ? -1 : 1;
	return 0;
}

/* Label value i of a U8/U16/U32 sample array. */
static inline uint32_t lab_at(const void *d, enum bia_dtype t, size_t i)
{
	return t == BIA_U8 ? ((const uint8_t *)d)[i]
	       : t == BIA_U16 ? ((const uint16_t *)d)[i]
			      : ((const uint32_t *)d)[i];
}

/* Non-zero voxels of a label array (read in place: U8, U16 or U32) as
 * landmarks sorted by class, then raster order. Landmarks are sparse, so
 * the scan skips zero runs a machine word at a time. */
static struct lmk *landmarks(const struct bia_image *img, const void *lab, enum bia_dtype t,
			     size_t *pn, uint32_t *pmax)
{
	size_t n = bia_image_nsamples(img), c = 0, cap = 64, ss = bia_dtype_size(t);
	uint32_t max = 0;
	struct lmk *l = bia_malloc2(cap, sizeof(*l));
	if (!l)
		return NULL;
	const unsigned char *bytes = lab;
	size_t plane = img->x * img->y * img->c;
	for (size_t i = 0; i < n;) {
		/* skip 8 zero bytes at a time */
		if ((i * ss) % 8 == 0 && (n - i) * ss >= 8) {
			uint64_t w;
			memcpy(&w, bytes + i * ss, 8);
			if (!w) {
				i += 8 / ss;
				continue;
			}
		}
		uint32_t v = lab_at(lab, t, i);
		if (v) {
			if (c == cap) {
				cap *= 2;
				struct lmk *nl = realloc(l, cap * sizeof(*l));
				if (!nl) {
					free(l);
					return NULL;
				}
				l = nl;
			}
			size_t x = i % img->x, y = i / img->x % img->y, zt = i / plane;
			size_t z = zt % img->z, tt = zt / img->z;
			l[c++] = (struct lmk){v, {(double)x, (double)y, (double)z, (double)tt}};
			max = v > max ? v : max;
		}
		i++;
	}
	qsort(l, c, sizeof(*l), cmp_lmk);
	*pn = c;
	*pmax = max;
	return l;
}

static json_t *coords(const double *q, int has_t)
{
	json_t *a = json_pack("[I, I, I]", (json_int_t)q[0], (json_int_t)q[1], (json_int_t)q[2]);
	if (a && has_t)
		json_array_append_new(a, json_integer((json_int_t)q[3]));
	return a;
}

/* Append class numbers to a bounded list for a warning. */
static void list_add(char *buf, size_t sz, size_t *count, uint64_t k)
{
	size_t len = strlen(buf);
	if (*count < 10)
		snprintf(buf + len, sz - len, "%s%llu", *count ? ", " : "", (unsigned long long)k);
	else if (*count == 10)
		snprintf(buf + len, sz - len, ", ...");
	(*count)++;
}

/* list_add for the classes lo..hi-1, without looping over huge ranges. */
static void list_range(char *buf, size_t sz, size_t *count, uint64_t lo, uint64_t hi)
{
	uint64_t v = lo;
	for (; v < hi && *count <= 10; v++)
		list_add(buf, sz, count, v);
	if (v < hi)
		*count += (size_t)(hi - v);
}

static int score(struct bia_metric_result *r, const struct bia_image *img, const void *g,
		 enum bia_dtype gt, const void *p, enum bia_dtype pt)
{
	size_t ng = 0, np = 0;
	uint32_t gmax = 0, pmax = 0;
	struct lmk *G = landmarks(img, g, gt, &ng, &gmax), *P = landmarks(img, p, pt, &np, &pmax);
	double *pts = bia_malloc2(ng ? ng : 1, 4 * sizeof(double));
	double *dist = bia_malloc2(np ? np : 1, sizeof(double));
	double *mre = bia_malloc2(np ? np : 1, sizeof(double)); /* per predicted class */
	int rc = -1, has_t = img->t > 1;
	char missing[160] = "", onlyp[160] = "";
	size_t nmissing = 0, nonly = 0, nk = 0;
	if (!G || !P || !pts || !dist || !mre)
		goto done;
	for (size_t i = 0; i < ng; i++)
		memcpy(pts + 4 * i, G[i].q, sizeof(G[i].q));
	uint32_t K = gmax > pmax ? gmax : pmax;
	/* classes 1..K without a predicted point (MRE_k = NaN) */
	uint64_t expect = 1;
	for (size_t j = 0; j < np; j++) {
		if (j && P[j].k == P[j - 1].k)
			continue;
		list_range(missing, sizeof(missing), &nmissing, expect, P[j].k);
		expect = (uint64_t)P[j].k + 1;
	}
	list_range(missing, sizeof(missing), &nmissing, expect, (uint64_t)K + 1);
	/* per predicted class: nearest GT point of the same class */
	size_t gi = 0;
	for (size_t j = 0; j < np;) {
		uint32_t k = P[j].k;
		size_t j1 = j;
		while (j1 < np && P[j1].k == k)
			j1++;
		while (gi < ng && G[gi].k < k)
			gi++;
		size_t g1 = gi;
		while (g1 < ng && G[g1].k == k)
			g1++;
		struct bia__kdtree kd;
		if (bia__kd_build(&kd, pts + 4 * gi, g1 - gi, 4))
			goto done;
		for (size_t i = j; i < j1; i++) {
			double d2;
			size_t near = bia__kd_nearest(&kd, P[i].q, &d2);
			dist[i] = sqrt(d2); /* inf without GT points of the class */
			if (r->objects) {
				json_t *rec = json_pack("{s:I, s:I, s:I, s:I}", "class", (json_int_t)k, "x",
							(json_int_t)P[i].q[0], "y", (json_int_t)P[i].q[1],
							"z", (json_int_t)P[i].q[2]);
				if (!rec) {
					bia__kd_release(&kd);
					goto done;
				}
				if (has_t)
					json_object_set_new(rec, "t", json_integer((json_int_t)P[i].q[3]));
				json_object_set_new(rec, "nearest_gt",
						    near == (size_t)-1 ? json_null()
								       : coords(pts + 4 * (gi + near), has_t));
				json_object_set_new(rec, "distance", bia_json_real(dist[i]));
				bia_metric_object(r, rec);
			}
		}
		bia__kd_release(&kd);
		if (g1 == gi)
			list_add(onlyp, sizeof(onlyp), &nonly, k);
		mre[nk++] = bia__np_sum(dist + j, j1 - j) / (double)(j1 - j);
		j = j1;
	}
	double m;
	if (K == 0) {
		m = NAN; /* numpy: mean of an empty list */
		bia_metric_warn(r, "LndDet: no landmark in the ground truth nor in the prediction: "
				   "MRE is NaN");
	} else if (nmissing) {
		m = NAN;
		bia_metric_warn(r, "LndDet: landmark class %s %s no predicted point: MRE is NaN (as "
				   "BIAFLOWS)",
				missing, nmissing > 1 ? "have" : "has");
	} else {
		m = bia__np_sum(mre, nk) / (double)nk; /* nk == K: every class predicted */
	}
	if (nonly)
		bia_metric_warn(r, "LndDet: landmark class %s only in the prediction: %s (as BIAFLOWS)",
				onlyp, nmissing ? "its distance is inf" : "MRE is inf");
	bia_metric_set(r, "NREF", (double)ng);
	bia_metric_set(r, "NPRED", (double)np);
	bia_metric_set(r, "MRE", m);
	rc = 0;
done:
	free(G);
	free(P);
	free(pts);
	free(dist);
	free(mre);
	return rc;
}

int bia__metrics_lnddet(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	(void)p;
	int rc = bia__check_masks(ctx, "LndDet", in->pred, in->gt);
	if (rc)
		return rc;
	const void *g = NULL, *pl = NULL;
	enum bia_dtype gt = BIA_U32, pt = BIA_U32;
	uint32_t *gown = NULL, *pown = NULL;
	rc = bia__labels_view(ctx, "ground truth", in->gt, &g, &gt, &gown);
	if (!rc)
		rc = bia__labels_view(ctx, "prediction", in->pred, &pl, &pt, &pown);
	if (!rc && score(r, in->gt, g, gt, pl, pt))
		rc = bia_fail(ctx, BIA_ENOMEM, "LndDet: out of memory");
	free(gown);
	free(pown);
	return rc;
}
