/* NetMets geometric rates shared by TreTrc and LooTrc (docs/metrics.md
 * §10.3): point clouds sampled along straight segments, exact nearest
 * neighbours with a k-d tree, Gaussian closeness, per-edge records.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ clouds */

void bia__cloud_init(struct bia__cloud *c)
{
	memset(c, 0, sizeof(*c));
}

void bia__cloud_release(struct bia__cloud *c)
{
	free(c->p);
	free(c->gstart);
	free(c->gends);
	free(c->gids);
	memset(c, 0, sizeof(*c));
}

int bia__cloud_group(struct bia_ctx *ctx, struct bia__cloud *c, const double from[3],
		     const double to[3], int64_t from_id, int64_t to_id)
{
	if (c->ngroups == c->gcap) {
		size_t nc = c->gcap ? c->gcap * 2 : 64;
		size_t *gs = realloc(c->gstart, (nc + 1) * sizeof(size_t));
		if (gs)
			c->gstart = gs;
		double *ge = gs ? realloc(c->gends, nc * 6 * sizeof(double)) : NULL;
		if (ge)
			c->gends = ge;
		int64_t *gi = ge ? realloc(c->gids, nc * 2 * sizeof(int64_t)) : NULL;
		if (gi)
			c->gids = gi;
		if (!gi)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory sampling a network");
		c->gcap = nc;
	}
	size_t g = c->ngroups++;
	c->gstart[g] = c->n;
	c->gstart[g + 1] = c->n;
	memcpy(c->gends + 6 * g, from, 3 * sizeof(double));
	memcpy(c->gends + 6 * g + 3, to, 3 * sizeof(double));
	c->gids[2 * g] = from_id;
	c->gids[2 * g + 1] = to_id;
	return 0;
}

size_t bia__cloud_nsamples(double len, double s)
{
	double n = ceil(len / s);
	if (!(n < (double)BIA__CLOUD_MAX_POINTS))
		return BIA__CLOUD_MAX_POINTS + 1;
	return n == 0 ? 2 : (size_t)n + 1;
}

int bia__cloud_segment(struct bia_ctx *ctx, struct bia__cloud *c, const double p0[3],
		       const double p1[3], double s)
{
	double v[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
	double l = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
	size_t k = bia__cloud_nsamples(l, s);
	if (k > BIA__CLOUD_MAX_POINTS || c->n + k > BIA__CLOUD_MAX_POINTS)
		return bia_fail(ctx, BIA_ELIMIT,
				"more than %zu NetMets sample points (spacing %g); use a larger "
				"gating_dist",
				BIA__CLOUD_MAX_POINTS, s);
	if (c->n + k > c->cap) {
		size_t nc = c->cap ? c->cap : 1024;
		while (nc < c->n + k)
			nc *= 2;
		double *np = realloc(c->p, nc * 3 * sizeof(double));
		if (!np)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory sampling a network");
		c->p = np;
		c->cap = nc;
	}
	double *o = c->p + 3 * c->n;
	if (k == 2 && ceil(l / s) == 0) {
		memcpy(o, p0, 3 * sizeof(double));
		memcpy(o + 3, p1, 3 * sizeof(double));
	} else {
		size_t n = k - 1;
		for (size_t i = 0; i <= n; i++) {
			double f = (double)i / (double)n; /* as Python: p0 + v * (i/n) */
			o[3 * i] = p0[0] + v[0] * f;
			o[3 * i + 1] = p0[1] + v[1] * f;
			o[3 * i + 2] = p0[2] + v[2] * f;
		}
	}
	c->n += k;
	if (c->ngroups)
		c->gstart[c->ngroups] = c->n;
	return 0;
}

/* ------------------------------------------------------------ k-d tree */

/* An implicit balanced k-d tree: the points are reordered in place so that
 * the node over [lo, hi) has its median point at m = lo + (hi-lo)/2 with
 * the points before it not greater and the points after it not smaller
 * along the node's split axis dim[m]. The axis is the longest side of the
 * node's cell (the root's bounding box cut by the splits above), which
 * costs nothing to keep, unlike the tight box of the points. */

#define KD_LEAF 12

struct kd {
	double *p;	    /* points in tree order, 3 per point */
	unsigned char *dim; /* split axis of the node whose median is at i */
};

static inline void kd_swap(double *P, size_t a, size_t b)
{
	double t[3];
	memcpy(t, P + 3 * a, sizeof(t));
	memcpy(P + 3 * a, P + 3 * b, sizeof(t));
	memcpy(P + 3 * b, t, sizeof(t));
}

/* Put the k-th smallest (along d) of points [lo, hi) at k, smaller ones
 * before, larger ones after (three-way partitions: duplicates cost
 * nothing). */
static void kd_select(double *P, int d, size_t lo, size_t hi, size_t k)
{
	while (hi - lo > 1) {
		double a = P[3 * lo + d], b = P[3 * (lo + (hi - lo) / 2) + d], c = P[3 * (hi - 1) + d];
		double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			double v = P[3 * i + d];
			if (v < piv)
				kd_swap(P, lt++, i++);
			else if (v > piv)
				kd_swap(P, i, --gt);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
}

static void kd_build(double *P, unsigned char *dim, size_t lo, size_t hi, const double cell[6])
{
	double c[6];
	memcpy(c, cell, sizeof(c));
	while (hi - lo > KD_LEAF) {
		int d = 0;
		for (int e = 1; e < 3; e++)
			if (c[e + 3] - c[e] > c[d + 3] - c[d])
				d = e;
		size_t m = lo + (hi - lo) / 2;
		kd_select(P, d, lo, hi, m);
		dim[m] = (unsigned char)d;
		double split = P[3 * m + d];
		double sub[6];
		memcpy(sub, c, sizeof(sub));
		/* recurse on the smaller half, loop on the larger */
		if (m - lo < hi - m - 1) {
			sub[d + 3] = split;
			kd_build(P, dim, lo, m, sub);
			c[d] = split;
			lo = m + 1;
		} else {
			sub[d] = split;
			kd_build(P, dim, m + 1, hi, sub);
			c[d + 3] = split;
			hi = m;
		}
	}
}

static inline double dist2(const double *a, const double *b)
{
	double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
	return dx * dx + dy * dy + dz * dz;
}

/* Smallest squared distance from q to the points of [lo, hi), starting
 * from the bound *best (a true distance, of point *bi). */
static void kd_nn(const struct kd *t, size_t lo, size_t hi, const double *q, double *best,
		  size_t *bi)
{
	for (;;) {
		if (hi - lo <= KD_LEAF) {
			for (size_t i = lo; i < hi; i++) {
				double d2 = dist2(q, t->p + 3 * i);
				if (d2 < *best) {
					*best = d2;
					*bi = i;
				}
			}
			return;
		}
		size_t m = lo + (hi - lo) / 2;
		int d = t->dim[m];
		const double *pm = t->p + 3 * m;
		double d2 = dist2(q, pm);
		if (d2 < *best) {
			*best = d2;
			*bi = m;
		}
		double diff = q[d] - pm[d];
		if (diff < 0) {
			kd_nn(t, lo, m, q, best, bi);
			if (!(diff * diff < *best))
				return;
			lo = m + 1;
		} else {
			kd_nn(t, m + 1, hi, q, best, bi);
			if (!(diff * diff < *best))
				return;
			hi = m;
		}
	}
}

/* Spread the low 21 bits of v to every third bit. */
static uint64_t spread3(uint64_t v)
{
	v &= 0x1fffff;
	v = (v | v << 32) & 0x1f00000000ffffULL;
	v = (v | v << 16) & 0x1f0000ff0000ffULL;
	v = (v | v << 8) & 0x100f00f00f00f00fULL;
	v = (v | v << 4) & 0x10c30c30c30c30c3ULL;
	v = (v | v << 2) & 0x1249249249249249ULL;
	return v;
}

/* Position of c in [lo, hi] on 21 bits (halves avoid overflow of hi - lo). */
static uint64_t quant(double c, double lo, double hi)
{
	double w = hi / 2 - lo / 2;
	double t = w > 0 ? (c / 2 - lo / 2) / w : 0;
	if (!(t > 0))
		return 0;
	if (t >= 1)
		return 0x1fffff;
	return (uint64_t)(t * 2097151.0);
}

static void bbox(const double *p, size_t n, double box[6])
{
	for (int d = 0; d < 3; d++)
		box[d] = box[d + 3] = p[d];
	for (size_t i = 1; i < n; i++)
		for (int d = 0; d < 3; d++) {
			double v = p[3 * i + d];
			box[d] = v < box[d] ? v : box[d];
			box[d + 3] = v > box[d + 3] ? v : box[d + 3];
		}
}

/* The n points in Morton (Z-curve) order within their bounding box: a
 * malloc'd array of n (key, index) pairs sorted by key (LSD radix sort),
 * so that neighbours in space are mostly neighbours in the order and equal
 * points are adjacent. NULL when out of memory. */
static uint64_t *morton_order(const double *p, size_t n, const double box[6])
{
	uint64_t *key = bia_malloc2(n, 2 * sizeof(uint64_t)), *tmp = bia_malloc2(n, 2 * sizeof(uint64_t));
	if (!key || !tmp) {
		free(key);
		free(tmp);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const double *q = p + 3 * i;
		key[2 * i] = spread3(quant(q[0], box[0], box[3])) |
			     spread3(quant(q[1], box[1], box[4])) << 1 |
			     spread3(quant(q[2], box[2], box[5])) << 2;
		key[2 * i + 1] = i;
	}
	for (int sh = 0; sh < 64; sh += 8) { /* a byte a pass */
		size_t cnt[256] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[key[2 * i] >> sh & 0xff]++;
		if (cnt[key[0] >> sh & 0xff] == n)
			continue; /* this byte is the same everywhere */
		size_t sum = 0;
		for (int k = 0; k < 256; k++) {
			size_t c = cnt[k];
			cnt[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			size_t o = cnt[key[2 * i] >> sh & 0xff]++;
			tmp[2 * o] = key[2 * i];
			tmp[2 * o + 1] = key[2 * i + 1];
		}
		uint64_t *sw = key;
		key = tmp;
		tmp = sw;
	}
	free(tmp);
	return key;
}

static inline int same_point(const double *a, const double *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

int bia__nn_dist(const double *ref, size_t nref, const double *q, size_t nq, double *out)
{
	if (nref == 0) {
		for (size_t i = 0; i < nq; i++)
			out[i] = INFINITY;
		return 0;
	}
	if (nq == 0)
		return 0;
	struct kd t;
	double box[6];
	bbox(ref, nref, box);
	uint64_t *ord = morton_order(ref, nref, box);
	t.p = bia_malloc2(nref, 3 * sizeof(double));
	t.dim = bia_calloc(nref, 1);
	if (!ord || !t.p || !t.dim) {
		free(ord);
		free(t.p);
		free(t.dim);
		return -1;
	}
	/* the tree holds each distinct point once (clouds repeat every shared
	 * segment end), first in Morton order so that the build reads memory
	 * in order */
	size_t m = 0;
	for (size_t i = 0; i < nref; i++) {
		const double *r = ref + 3 * ord[2 * i + 1];
		if (m && same_point(r, t.p + 3 * m - 3))
			continue;
		memcpy(t.p + 3 * m++, r, 3 * sizeof(double));
	}
	free(ord);
	kd_build(t.p, t.dim, 0, m, box);
	/* queries in Morton order too: each starts from the previous answer, a
	 * tight first bound for a close query (the result stays exact), and a
	 * repeated point is answered once */
	bbox(q, nq, box);
	ord = morton_order(q, nq, box);
	if (!ord) {
		free(t.p);
		free(t.dim);
		return -1;
	}
	size_t bi = 0;
	const double *prev = NULL;
	double prev_d = 0;
	for (size_t i = 0; i < nq; i++) {
		const double *qi = q + 3 * ord[2 * i + 1];
		if (!prev || !same_point(qi, prev)) {
			double best = dist2(qi, t.p + 3 * bi);
			kd_nn(&t, 0, m, qi, &best, &bi);
			prev = qi;
			prev_d = sqrt(best);
		}
		out[ord[2 * i + 1]] = prev_d;
	}
	free(ord);
	free(t.p);
	free(t.dim);
	return 0;
}

/* ------------------------------------------------------------ rates */

static int closeness(struct bia_ctx *ctx, const struct bia__cloud *ref,
		     const struct bia__cloud *q, double sigma, double **pclose, double *rate)
{
	*pclose = NULL;
	if (q->n == 0) {
		*rate = NAN;
		return 0;
	}
	double *c = bia_malloc2(q->n, sizeof(double));
	if (!c || bia__nn_dist(ref->p, ref->n, q->p, q->n, c)) {
		free(c);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory computing NetMets distances");
	}
	double s2 = sigma * sigma;
	for (size_t i = 0; i < q->n; i++)
		c[i] = exp(-0.5 * (c[i] * c[i] / s2)); /* INFINITY -> 0 */
	*rate = 1 - bia__np_sum(c, q->n) / (double)q->n; /* np.mean's order */
	*pclose = c;
	return 0;
}

int bia__netmets(struct bia_ctx *ctx, const struct bia__cloud *gt, const struct bia__cloud *pred,
		 double sigma, struct bia__netmets *out)
{
	memset(out, 0, sizeof(*out));
	int rc = closeness(ctx, pred, gt, sigma, &out->gt_close, &out->fnr);
	if (!rc)
		rc = closeness(ctx, gt, pred, sigma, &out->pred_close, &out->fpr);
	if (rc)
		bia__netmets_release(out);
	return rc;
}

void bia__netmets_release(struct bia__netmets *m)
{
	free(m->gt_close);
	free(m->pred_close);
	m->gt_close = m->pred_close = NULL;
}

static json_t *xyz(const double *p)
{
	json_t *a = json_array();
	for (int k = 0; k < 3; k++)
		json_array_append_new(a, bia__json_param(p[k]));
	return a;
}

void bia__netmets_objects(struct bia_metric_result *r, const struct bia__cloud *c,
			  const double *close, int is_gt, int with_ids)
{
	if (!r->objects || !close)
		return;
	for (size_t g = 0; g < c->ngroups; g++) {
		size_t a = c->gstart[g], b = c->gstart[g + 1];
		double mean = b > a ? bia__np_sum(close + a, b - a) / (double)(b - a) : NAN;
		const char *status = mean >= 0.5 ? "matched" : is_gt ? "missed" : "spurious";
		json_t *rec = json_pack("{s:s, s:I, s:o, s:o}", "kind", is_gt ? "gt" : "pred",
					"edge", (json_int_t)g, "from", xyz(c->gends + 6 * g), "to",
					xyz(c->gends + 6 * g + 3));
		if (!rec)
			continue;
		if (with_ids) {
			json_object_set_new(rec, "from_id", json_integer(c->gids[2 * g]));
			json_object_set_new(rec, "to_id", json_integer(c->gids[2 * g + 1]));
		}
		json_object_set_new(rec, "points", json_integer((json_int_t)(b - a)));
		json_object_set_new(rec, "mean_closeness", bia_json_real(mean));
		json_object_set_new(rec, "status", json_string(status));
		bia_metric_object(r, rec);
	}
}

json_t *bia__json_param(double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return bia_json_real(v);
}

double bia__netmets_f1(double fnr, double fpr)
{
	if (isnan(fnr) && isnan(fpr))
		return NAN; /* both empty */
	if (isnan(fnr) || isnan(fpr))
		return 0; /* one side empty: all missed, or all spurious */
	double rec = 1 - fnr, prec = 1 - fpr;
	return rec + prec > 0 ? 2 * rec * prec / (rec + prec) : 0;
}
