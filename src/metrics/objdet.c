/* ObjDet — object (spot) detection, as the ISBI 2012 detection scorer
 * used by BIAFLOWS (DetectionPerformance, docs/metrics.md §7): every
 * non-zero voxel is one detection at (x, y, z, t); a reference and a
 * candidate are feasible when in the same frame and closer than the gate;
 * references are paired with candidates or left unpaired (cost: the gate)
 * by an exact minimum-cost assignment, cluster by cluster.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Detections of one image, in raster order (t, z, y, x). */
struct dets {
	size_t n;
	double *xyz;  /* 3 per detection */
	int64_t *t;   /* frame */
};

static void dets_release(struct dets *d)
{
	free(d->xyz);
	free(d->t);
	memset(d, 0, sizeof(*d));
}

static int dets_load(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		     struct dets *d)
{
	memset(d, 0, sizeof(*d));
	uint32_t *lab = NULL;
	int rc = bia_labels_u32(ctx, what, img, &lab);
	if (rc)
		return rc;
	size_t n = bia_image_nsamples(img), k = bia__nonzero_u32(lab, n, NULL);
	size_t *idx = bia_malloc2(k ? k : 1, sizeof(size_t));
	d->xyz = bia_malloc2(k ? k : 1, 3 * sizeof(double));
	d->t = bia_malloc2(k ? k : 1, sizeof(int64_t));
	if (!idx || !d->xyz || !d->t) {
		free(lab);
		free(idx);
		dets_release(d);
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
	}
	bia__nonzero_u32(lab, n, idx);
	/* C == 1: index = x + X*(y + Y*(z + Z*t)); raster order = (t, z, y, x) */
	const size_t plane = img->x * img->y, frame = plane * img->z;
	for (size_t m = 0; m < k; m++) {
		size_t i = idx[m];
		d->xyz[3 * m] = (double)(i % img->x);
		d->xyz[3 * m + 1] = (double)(i % plane / img->x);
		d->xyz[3 * m + 2] = (double)(i % frame / plane);
		d->t[m] = (int64_t)(i / frame);
	}
	d->n = k;
	free(idx);
	free(lab);
	return 0;
}

/* Same shape and one channel (as the other mask classes), a usable gate. */
static int check_input(struct bia_ctx *ctx, const struct bia_metric_input *in,
		       const struct bia_metric_params *p)
{
	int rc = bia__check_masks(ctx, "ObjDet", in->pred, in->gt);
	if (rc)
		return rc;
	if (!(p->gating_dist > 0) || !isfinite(p->gating_dist))
		return bia_fail(ctx, BIA_EINVAL, "ObjDet: gating_dist must be a positive number, not %g",
				p->gating_dist);
	return 0;
}

struct edges {
	size_t n, cap;
	struct bia__assign_edge *e;
	size_t row; /* row being queried */
	int oom;
};

static int add_edge(void *arg, size_t j, double d)
{
	struct edges *E = arg;
	if (E->n == E->cap) {
		size_t cap = E->cap ? 2 * E->cap : 256, bytes;
		struct bia__assign_edge *ne;
		if (bia_mul_size(cap, sizeof(*ne), &bytes) || !(ne = realloc(E->e, bytes))) {
			E->oom = 1;
			return 1;
		}
		E->e = ne;
		E->cap = cap;
	}
	E->e[E->n].row = E->row;
	E->e[E->n].col = j;
	E->e[E->n].cost = d;
	E->n++;
	return 0;
}

static json_t *det_record(const char *kind, const struct dets *d, size_t i, const char *status,
			  size_t match, double dist)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o}", "kind", kind, "index",
			 (json_int_t)i, "x", (json_int_t)d->xyz[3 * i], "y",
			 (json_int_t)d->xyz[3 * i + 1], "z", (json_int_t)d->xyz[3 * i + 2], "t",
			 (json_int_t)d->t[i], "status", status, "match_index",
			 match == SIZE_MAX ? json_null() : json_integer((json_int_t)match),
			 "distance", match == SIZE_MAX ? json_null() : bia_json_real(dist));
}

int bia__det_match(struct bia_ctx *ctx, const char *cls, const struct bia_image *pred,
		   const struct bia_image *gtimg, double gate, json_t *objects,
		   struct bia__det_counts *out)
{
	struct dets gt, pr;
	struct bia__pgrid grid;
	struct edges E = {0};
	size_t *row_edge = NULL, *col_row = NULL;
	double *dummy = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	memset(&grid, 0, sizeof(grid));
	memset(&pr, 0, sizeof(pr));
	rc = dets_load(ctx, "ground truth", gtimg, &gt);
	if (rc)
		return rc;
	rc = dets_load(ctx, "prediction", pred, &pr);
	if (rc)
		goto out;

	/* feasible pairs: same frame, distance < gate (grid, not all pairs) */
	if (bia__pgrid_build(&grid, pr.xyz, pr.t, pr.n, gate))
		goto oom;
	for (size_t i = 0; i < gt.n; i++) {
		E.row = i;
		bia__pgrid_query(&grid, gt.xyz + 3 * i, gt.t[i], gate, add_edge, &E);
		if (E.oom)
			goto oom;
	}
	row_edge = bia_malloc2(gt.n ? gt.n : 1, sizeof(size_t));
	dummy = bia_malloc2(gt.n ? gt.n : 1, sizeof(double));
	col_row = bia_malloc2(pr.n ? pr.n : 1, sizeof(size_t));
	if (!row_edge || !dummy || !col_row)
		goto oom;
	for (size_t i = 0; i < gt.n; i++)
		dummy[i] = gate;
	int ar = bia__assign_sparse(gt.n, pr.n, E.e, E.n, dummy, row_edge);
	if (ar == -1)
		goto oom;
	if (ar) {
		rc = bia_fail(ctx, BIA_EINVAL, "%s: gating_dist %g is not usable", cls, gate);
		goto out;
	}
	for (size_t j = 0; j < pr.n; j++)
		col_row[j] = SIZE_MAX;
	for (size_t i = 0; i < gt.n; i++) {
		if (row_edge[i] == SIZE_MAX)
			continue;
		const struct bia__assign_edge *ed = &E.e[row_edge[i]];
		col_row[ed->col] = i;
		out->tp++;
		out->sumsq += ed->cost * ed->cost; /* as the Java scorer: d*d, not the integer */
	}
	out->fn = gt.n - out->tp;
	out->fp = pr.n - out->tp;
	if (objects) {
		for (size_t i = 0; i < gt.n; i++) {
			size_t k = row_edge[i];
			json_array_append_new(objects,
					      det_record("gt", &gt, i, k == SIZE_MAX ? "FN" : "TP",
							 k == SIZE_MAX ? SIZE_MAX : E.e[k].col,
							 k == SIZE_MAX ? 0 : E.e[k].cost));
		}
		for (size_t j = 0; j < pr.n; j++) {
			size_t i = col_row[j];
			json_array_append_new(objects,
					      det_record("pred", &pr, j, i == SIZE_MAX ? "FP" : "TP", i,
							 i == SIZE_MAX ? 0 : E.e[row_edge[i]].cost));
		}
	}
	rc = 0;
	goto out;
oom:
	rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", cls);
out:
	bia__pgrid_release(&grid);
	free(E.e);
	free(row_edge);
	free(col_row);
	free(dummy);
	dets_release(&gt);
	dets_release(&pr);
	return rc;
}

/* Non-zero pixels with a non-zero right, lower or next-slice neighbour:
 * points of a detection mask never touch, objects of a label mask do. */
static size_t touching(const struct bia_image *img)
{
	size_t n = 0;
	for (size_t t = 0; t < img->t; t++)
		for (size_t z = 0; z < img->z; z++)
			for (size_t y = 0; y < img->y; y++)
				for (size_t x = 0; x < img->x; x++) {
					if (bia_image_get(img, bia_image_index(img, x, y, z, 0, t)) == 0)
						continue;
					if ((x + 1 < img->x &&
					     bia_image_get(img, bia_image_index(img, x + 1, y, z, 0, t))) ||
					    (y + 1 < img->y &&
					     bia_image_get(img, bia_image_index(img, x, y + 1, z, 0, t))) ||
					    (z + 1 < img->z &&
					     bia_image_get(img, bia_image_index(img, x, y, z + 1, 0, t))))
						n++;
				}
	return n;
}

int bia__metrics_objdet(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	int rc = check_input(ctx, in, p);
	if (rc)
		return rc;
	/* a label mask scored as detections: every pixel is one (as BIAFLOWS);
	 * keep the rule, but say so */
	const struct bia_image *sides[2] = {in->pred, in->gt};
	for (int k = 0; k < 2; k++) {
		size_t nt = touching(sides[k]);
		if (nt)
			bia_metric_warn(r, "ObjDet: the %s has %zu non-zero pixels touching another: "
					   "every non-zero pixel counts as one detection (a label "
					   "mask of objects, not points?); give one pixel per object, "
					   "e.g. its centroid",
					k ? "ground truth" : "prediction", nt);
	}
	struct bia__det_counts m;
	rc = bia__det_match(ctx, "ObjDet", in->pred, in->gt, p->gating_dist, r->objects, &m);
	if (rc)
		return rc;
	/* Java double arithmetic: 0/0 = NaN */
	double re = (double)m.tp / (double)(m.tp + m.fn);
	double prc = (double)m.tp / (double)(m.tp + m.fp);
	double f1 = 2 * re * prc / (re + prc);
	double rmse = m.tp ? sqrt(m.sumsq / (double)m.tp) : 0.0;
	bia_metric_set(r, "TP", (double)m.tp);
	bia_metric_set(r, "FN", (double)m.fn);
	bia_metric_set(r, "FP", (double)m.fp);
	bia_metric_set(r, "RE", re);
	bia_metric_set(r, "PR", prc);
	bia_metric_set(r, "F1", f1);
	bia_metric_set(r, "RMSE", rmse);
	json_object_set_new(r->params, "GATING_DIST", bia__json_param(p->gating_dist));
	return 0;
}
