/* SptCnt: REC, the relative error of the number of spots (non-zero
 * voxels), and per-spot records from the ObjDet matching (optimal
 * assignment with gating_dist, Hungarian algorithm per cluster).
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Non-zero voxels of an image (any dtype; NaN counts, as numpy's
 * count_nonzero). */
static uint64_t count_nonzero(const struct bia_image *img)
{
	size_t n = bia_image_nsamples(img);
	uint64_t c = 0;
	switch (img->dtype) {
	case BIA_U8:
		for (size_t i = 0; i < n; i++)
			c += ((const uint8_t *)img->data)[i] != 0;
		break;
	case BIA_U16:
		for (size_t i = 0; i < n; i++)
			c += ((const uint16_t *)img->data)[i] != 0;
		break;
	case BIA_U32:
		for (size_t i = 0; i < n; i++)
			c += ((const uint32_t *)img->data)[i] != 0;
		break;
	case BIA_I32:
		for (size_t i = 0; i < n; i++)
			c += ((const int32_t *)img->data)[i] != 0;
		break;
	default:
		for (size_t i = 0; i < n; i++)
			c += bia_image_get(img, i) != 0;
		break;
	}
	return c;
}

/* Points of an image: (x, y, z) per non-zero voxel, raster order (t, z,
 * y, x), and their frames in *pt. */
static double *points(const struct bia_image *img, size_t np, size_t **pframe)
{
	double *pt = bia_malloc2(np ? np : 1, 3 * sizeof(double));
	size_t *fr = bia_malloc2(np ? np : 1, sizeof(size_t));
	*pframe = fr;
	if (!pt || !fr) {
		free(pt);
		return NULL;
	}
	size_t k = 0;
	for (size_t t = 0; t < img->t; t++)
		for (size_t z = 0; z < img->z; z++)
			for (size_t y = 0; y < img->y; y++)
				for (size_t x = 0; x < img->x; x++) {
					size_t i = bia_image_index(img, x, y, z, 0, t);
					if (bia_image_get(img, i) == 0)
						continue;
					double *q = pt + 3 * k;
					q[0] = (double)x;
					q[1] = (double)y;
					q[2] = (double)z;
					fr[k++] = t;
				}
	return pt;
}

/* ------------------------------------------------------ optimal assignment */

/* Cost of giving reference row i column j: columns 0..nc-1 are the
 * cluster's candidates (distance if feasible), nc.. the rows' private
 * dummies (gate for the row's own, infeasible for the others). */
struct cluster {
	const double *ref, *cand; /* all points, x y z each */
	const size_t *rt, *ct;	  /* their frames */
	const size_t *ri, *ci;	  /* the cluster's refs and candidates */
	size_t nr, nc;
	double gate;
};

static double cost(const struct cluster *c, size_t i, size_t j)
{
	if (j >= c->nc)
		return j - c->nc == i ? c->gate : INFINITY;
	if (c->rt[c->ri[i]] != c->ct[c->ci[j]])
		return INFINITY; /* other frame */
	const double *a = c->ref + 3 * c->ri[i], *b = c->cand + 3 * c->ci[j];
	double s = 0;
	for (int d = 0; d < 3; d++)
		s += (a[d] - b[d]) * (a[d] - b[d]);
	double dist = sqrt(s);
	return dist < c->gate ? dist : INFINITY;
}

/* Minimum-cost assignment of every row to a distinct column (rows <=
 * columns; the private dummies guarantee a finite solution): Hungarian
 * algorithm with potentials, O(rows^2 * columns). Deterministic. Writes the
 * column of each row into col. Returns 0 or -1 (out of memory). */
static int hungarian(const struct cluster *c, size_t *col)
{
	size_t n = c->nr, m = c->nc + c->nr;
	double *u = bia_calloc(n + 1, sizeof(double)), *v = bia_calloc(m + 1, sizeof(double));
	double *minv = bia_malloc2(m + 1, sizeof(double));
	size_t *p = bia_calloc(m + 1, sizeof(size_t)), *way = bia_calloc(m + 1, sizeof(size_t));
	unsigned char *used = bia_malloc2(m + 1, 1);
	int rc = -1;
	if (!u || !v || !minv || !p || !way || !used)
		goto done;
	/* 1-based rows and columns; column 0 is the virtual start */
	for (size_t i = 1; i <= n; i++) {
		p[0] = i;
		size_t j0 = 0;
		for (size_t j = 0; j <= m; j++) {
			minv[j] = INFINITY;
			used[j] = 0;
		}
		do {
			used[j0] = 1;
			size_t i0 = p[j0], j1 = 0;
			double delta = INFINITY;
			for (size_t j = 1; j <= m; j++) {
				if (used[j])
					continue;
				double cur = cost(c, i0 - 1, j - 1) - u[i0] - v[j];
				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			if (!j1) /* cannot happen: the row's own dummy is finite */
				BIA_BUG("assignment without a finite column");
			for (size_t j = 0; j <= m; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0]);
		do {
			size_t j1 = way[j0];
			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
	for (size_t j = 1; j <= m; j++)
		if (p[j])
			col[p[j] - 1] = j - 1;
	rc = 0;
done:
	free(u);
	free(v);
	free(minv);
	free(p);
	free(way);
	free(used);
	return rc;
}

/* ---------------------------------------------------------------- matching */

static size_t uf_find(size_t *par, size_t x)
{
	while (par[x] != x) {
		par[x] = par[par[x]];
		x = par[x];
	}
	return x;
}

struct edge_ctx {
	size_t *par;	       /* union-find over refs (0..nr-1) then candidates */
	size_t nr;	       /* refs */
	size_t ref;	       /* the ref being queried */
	const size_t *rt, *ct; /* frames of refs and candidates */
};

static void join(void *arg, size_t i, double d2)
{
	(void)d2;
	struct edge_ctx *e = arg;
	if (e->rt[e->ref] != e->ct[i])
		return; /* other frame: never feasible */
	size_t a = uf_find(e->par, e->ref), b = uf_find(e->par, e->nr + i);
	if (a < b)
		e->par[b] = a;
	else if (b < a)
		e->par[a] = b;
}

/* The ObjDet assignment (METRICS.md §7): reference r and candidate c are
 * feasible iff same frame and d < gate; per cluster of refs linked through
 * feasible candidates, minimise the sum of matched distances plus gate per
 * unmatched ref. match_r[i] = candidate of ref i or SIZE_MAX; dist_r[i]
 * its distance; match_c[j] = ref of candidate j or SIZE_MAX. */
static int assign(const double *ref, const size_t *rt, size_t nr, const double *cand,
		  const size_t *ct, size_t nc, double gate, size_t *match_r, double *dist_r,
		  size_t *match_c)
{
	struct bia__kdtree kd;
	size_t nn = nr + nc;
	size_t *par = bia_malloc2(nn ? nn : 1, sizeof(size_t));
	size_t *order = bia_malloc2(nn ? nn : 1, sizeof(size_t)); /* nodes grouped by cluster */
	size_t *start = bia_malloc2(nn + 1, sizeof(size_t));	   /* group offsets */
	size_t *ri = bia_malloc2(nr ? nr : 1, sizeof(size_t));
	size_t *ci = bia_malloc2(nc ? nc : 1, sizeof(size_t));
	size_t *col = bia_malloc2(nr ? nr : 1, sizeof(size_t));
	int rc = -1;
	memset(&kd, 0, sizeof(kd));
	if (!par || !order || !start || !ri || !ci || !col || bia__kd_build(&kd, cand, nc, 3))
		goto done;
	for (size_t i = 0; i < nr; i++) {
		match_r[i] = SIZE_MAX;
		dist_r[i] = NAN;
	}
	for (size_t j = 0; j < nc; j++)
		match_c[j] = SIZE_MAX;
	for (size_t i = 0; i < nn; i++)
		par[i] = i;
	struct edge_ctx e = {par, nr, 0, rt, ct};
	for (size_t i = 0; i < nr; i++) {
		e.ref = i;
		bia__kd_within(&kd, ref + 3 * i, gate * gate, join, &e);
	}
	/* group nodes by cluster root (counting sort: nodes stay in index
	 * order inside a cluster) */
	for (size_t i = 0; i < nn; i++)
		par[i] = par[par[i]]; /* parents are smaller: now every node -> its root */
	for (size_t i = 0; i <= nn; i++)
		start[i] = 0;
	for (size_t i = 0; i < nn; i++)
		start[par[i] + 1]++;
	for (size_t i = 0; i < nn; i++)
		start[i + 1] += start[i];
	for (size_t i = 0; i < nn; i++)
		order[start[par[i]]++] = i;
	for (size_t a = 0; a < nn;) {
		size_t root = par[order[a]], b = a;
		size_t nri = 0, nci = 0;
		for (; b < nn && par[order[b]] == root; b++) {
			if (order[b] < nr)
				ri[nri++] = order[b];
			else
				ci[nci++] = order[b] - nr;
		}
		if (nri && nci) {
			struct cluster c = {ref, cand, rt, ct, ri, ci, nri, nci, gate};
			if (hungarian(&c, col))
				goto done;
			for (size_t k = 0; k < nri; k++) {
				if (col[k] >= nci)
					continue; /* its own dummy: unmatched */
				match_r[ri[k]] = ci[col[k]];
				dist_r[ri[k]] = cost(&c, k, col[k]);
				match_c[ci[col[k]]] = ri[k];
			}
		}
		a = b;
	}
	rc = 0;
done:
	bia__kd_release(&kd);
	free(par);
	free(order);
	free(start);
	free(ri);
	free(ci);
	free(col);
	return rc;
}

static json_t *point_rec(const char *kind, size_t id, const double *q, size_t t,
			 const char *status, size_t match, double dist)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o}", "kind", kind, "id",
			 (json_int_t)id + 1, "x", (json_int_t)q[0], "y", (json_int_t)q[1], "z",
			 (json_int_t)q[2], "t", (json_int_t)t, "status", status,
			 "match", match == SIZE_MAX ? json_null() : json_integer((json_int_t)match + 1),
			 "distance", match == SIZE_MAX ? json_null() : bia_json_real(dist));
}

static int spot_objects(struct bia_ctx *ctx, struct bia_metric_result *r,
			const struct bia_image *gt, const struct bia_image *pred, uint64_t ng,
			uint64_t np, double gate)
{
	size_t *gt_t = NULL, *pt_t = NULL;
	double *gp = points(gt, (size_t)ng, &gt_t), *pp = points(pred, (size_t)np, &pt_t);
	size_t *mr = bia_malloc2(ng ? ng : 1, sizeof(size_t));
	size_t *mc = bia_malloc2(np ? np : 1, sizeof(size_t));
	double *dr = bia_malloc2(ng ? ng : 1, sizeof(double));
	int rc = BIA_ENOMEM;
	if (!gp || !pp || !mr || !mc || !dr || assign(gp, gt_t, ng, pp, pt_t, np, gate, mr, dr, mc))
		goto done;
	for (size_t i = 0; i < ng; i++) {
		json_t *rec = point_rec("gt", i, gp + 3 * i, gt_t[i],
					mr[i] == SIZE_MAX ? "FN" : "TP", mr[i], dr[i]);
		if (!rec)
			goto done;
		bia_metric_object(r, rec);
	}
	for (size_t j = 0; j < np; j++) {
		double d = mc[j] == SIZE_MAX ? NAN : dr[mc[j]];
		json_t *rec = point_rec("pred", j, pp + 3 * j, pt_t[j],
					mc[j] == SIZE_MAX ? "FP" : "TP", mc[j], d);
		if (!rec)
			goto done;
		bia_metric_object(r, rec);
	}
	rc = 0;
done:
	free(gp);
	free(pp);
	free(gt_t);
	free(pt_t);
	free(mr);
	free(mc);
	free(dr);
	return rc ? bia_fail(ctx, BIA_ENOMEM, "SptCnt: out of memory") : 0;
}

int bia__metrics_sptcnt(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	int rc = bia__check_masks(ctx, "SptCnt", in->pred, in->gt);
	if (rc)
		return rc;
	uint64_t ng = count_nonzero(in->gt), np = count_nonzero(in->pred);
	double rec;
	if (ng) {
		rec = (double)(np > ng ? np - ng : ng - np) / (double)ng;
	} else {
		rec = NAN;
		bia_metric_warn(r, "SptCnt: the ground truth has no spot: REC is NaN");
		bia_metric_deviation(r, "SptCnt/empty-gt: REC = NaN (BIAFLOWS fails with "
					"ZeroDivisionError)");
	}
	bia_metric_set(r, "REC", rec);
	if (r->objects)
		return spot_objects(ctx, r, in->gt, in->pred, ng, np, p ? p->gating_dist : 5.0);
	return 0;
}
