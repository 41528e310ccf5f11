/* PrtTrk — particle tracking, the ISBI 2012 Particle Tracking Challenge
 * measures as computed by TrackingPerformance (docs/metrics.md §8): grey
 * value = track id, one voxel per track per frame; gaps inside a track are
 * filled with linearly interpolated virtual detections; reference tracks
 * are paired with candidate tracks (or a dummy) minimising the total track
 * distance, cluster by cluster. The gate is gating_dist (decision 1:
 * honoured; BIAFLOWS always used 5).
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct track {
	uint32_t id;	/* grey value */
	int64_t t0, t1; /* first and last frame */
	size_t off;	/* index of frame t0 in the set's position arrays */
	size_t nreal;	/* real detections (the others are virtual) */
};

/* The tracks of one image, by increasing id. Frame t of track k is at
 * position off + (t - t0): xyz[3*.], real[.]. */
struct tracks {
	size_t n;
	struct track *tr;
	size_t npos;
	double *xyz;
	unsigned char *real;
};

static void tracks_release(struct tracks *s)
{
	free(s->tr);
	free(s->xyz);
	free(s->real);
	memset(s, 0, sizeof(*s));
}

static size_t tlen(const struct track *t)
{
	return (size_t)(t->t1 - t->t0 + 1);
}

struct vox {
	uint32_t id;
	size_t idx; /* sample index: x + X*(y + Y*(z + Z*t)) since C == 1 */
};

static int vox_cmp(const void *pa, const void *pb)
{
	const struct vox *a = pa, *b = pb;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int tracks_load(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		       struct tracks *s)
{
	memset(s, 0, sizeof(*s));
	uint32_t *lab = NULL;
	int rc = bia_labels_u32(ctx, what, img, &lab);
	if (rc)
		return rc;
	size_t n = bia_image_nsamples(img), nv = bia__nonzero_u32(lab, n, NULL);
	struct vox *v = bia_malloc2(nv ? nv : 1, sizeof(*v));
	size_t *nz = bia_malloc2(nv ? nv : 1, sizeof(size_t));
	if (!v || !nz) {
		free(lab);
		free(v);
		free(nz);
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
	}
	bia__nonzero_u32(lab, n, nz);
	for (size_t k = 0; k < nv; k++) {
		v[k].id = lab[nz[k]];
		v[k].idx = nz[k];
	}
	free(nz);
	free(lab);
	qsort(v, nv, sizeof(*v), vox_cmp);

	const size_t plane = img->x * img->y, frame = plane * img->z;
	size_t ntr = 0, npos = 0;
	for (size_t k = 0; k < nv; k++) {
		if (k && v[k].id == v[k - 1].id) {
			if (v[k].idx / frame == v[k - 1].idx / frame) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: duplicate detection of track %lu in frame %zu "
					      "(one voxel per track per frame)",
					      what, (unsigned long)v[k].id, v[k].idx / frame);
				free(v);
				return rc;
			}
			continue;
		}
		ntr++;
	}
	s->tr = bia_calloc(ntr ? ntr : 1, sizeof(*s->tr));
	if (!s->tr)
		goto oom;
	/* spans */
	for (size_t k = 0, q = SIZE_MAX; k < nv; k++) {
		int64_t t = (int64_t)(v[k].idx / frame);
		if (!k || v[k].id != v[k - 1].id) {
			q = q == SIZE_MAX ? 0 : q + 1;
			s->tr[q].id = v[k].id;
			s->tr[q].t0 = t;
		}
		s->tr[q].t1 = t;
		s->tr[q].nreal++;
	}
	s->n = ntr;
	for (size_t q = 0; q < ntr; q++) {
		s->tr[q].off = npos;
		npos += tlen(&s->tr[q]);
	}
	s->npos = npos;
	s->xyz = bia_malloc2(npos ? npos : 1, 3 * sizeof(double));
	s->real = bia_calloc(npos ? npos : 1, 1);
	if (!s->xyz || !s->real)
		goto oom;
	/* real detections, then gaps filled by linear interpolation as the
	 * ISBI 2012 reader does: x_a + (t - t_a) * (x_b - x_a) * (1 / (t_b - t_a)) */
	for (size_t k = 0, q = SIZE_MAX; k < nv; k++) {
		if (!k || v[k].id != v[k - 1].id)
			q = q == SIZE_MAX ? 0 : q + 1;
		const struct track *tr = &s->tr[q];
		size_t idx = v[k].idx;
		int64_t t = (int64_t)(idx / frame);
		size_t z = idx % frame / plane, y = idx % plane / img->x, x = idx % img->x;
		size_t pos = tr->off + (size_t)(t - tr->t0);
		s->xyz[3 * pos] = (double)x;
		s->xyz[3 * pos + 1] = (double)y;
		s->xyz[3 * pos + 2] = (double)z;
		s->real[pos] = 1;
		if (k && v[k].id == v[k - 1].id) {
			int64_t ta = (int64_t)(v[k - 1].idx / frame);
			if (t > ta + 1) {
				size_t pa = tr->off + (size_t)(ta - tr->t0);
				double gap = 1 / ((double)t - (double)ta);
				for (int64_t u = ta + 1; u < t; u++) {
					size_t pu = tr->off + (size_t)(u - tr->t0);
					for (int c = 0; c < 3; c++) {
						double a = s->xyz[3 * pa + c], b = s->xyz[3 * pos + c];
						s->xyz[3 * pu + c] = a + (double)(u - ta) * (b - a) * gap;
					}
				}
			}
		}
	}
	free(v);
	return 0;
oom:
	free(v);
	tracks_release(s);
	return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
}

/* Distance and detection counts of a reference track with a candidate
 * track (C NULL: the dummy), gate eps, as TrackToTrackDistance of the ISBI
 * 2012 scorer (Euclidean distance; matching counts). */
struct pairing {
	double d;		       /* track distance */
	int feasible;		       /* a real C detection within the gate */
	size_t matched, missed, wrong; /* detection counts */
};

static void pair_tracks(const struct tracks *RS, const struct track *R, const struct tracks *CS,
			const struct track *C, double eps, struct pairing *o)
{
	memset(o, 0, sizeof(*o));
	if (!C) {
		o->d = eps * (double)tlen(R);
		o->missed = tlen(R);
		return;
	}
	int64_t first = R->t0 > C->t0 ? R->t0 : C->t0, last = R->t1 < C->t1 ? R->t1 : C->t1;
	if (first > last) { /* disjoint spans */
		o->d = eps * (double)tlen(R);
		o->missed = tlen(R);
		o->wrong = tlen(C);
		return;
	}
	o->wrong = (size_t)((R->t0 > C->t0 ? R->t0 - C->t0 : 0) + (C->t1 > R->t1 ? C->t1 - R->t1 : 0));
	o->missed = (size_t)((C->t0 > R->t0 ? C->t0 - R->t0 : 0) + (R->t1 > C->t1 ? R->t1 - C->t1 : 0));
	int64_t span = (C->t0 > R->t0 ? C->t0 - R->t0 : R->t0 - C->t0) +
		       (C->t1 > R->t1 ? C->t1 - R->t1 : R->t1 - C->t1);
	o->d = eps * (double)span;
	for (int64_t t = first; t <= last; t++) {
		size_t pr = R->off + (size_t)(t - R->t0), pc = C->off + (size_t)(t - C->t0);
		double e = bia__dist3(RS->xyz + 3 * pr, CS->xyz + 3 * pc);
		if (CS->real[pc] && e < eps) {
			o->feasible = 1;
			o->d += e;
			o->matched++;
		} else {
			if (CS->real[pc]) /* virtual detections are not spurious */
				o->wrong++;
			o->missed++;
			o->d += eps;
		}
	}
}

/* Search state: candidate tracks found near one reference track. */
struct near {
	const size_t *owner; /* candidate track of each real candidate detection */
	size_t *stamp;	     /* per candidate track: last reference that found it + 1 */
	size_t *found;	     /* candidate tracks found for this reference */
	size_t nfound;
	size_t row;
};

static int near_add(void *arg, size_t j, double d)
{
	(void)d;
	struct near *N = arg;
	size_t c = N->owner[j];
	if (N->stamp[c] != N->row + 1) {
		N->stamp[c] = N->row + 1;
		N->found[N->nfound++] = c;
	}
	return 0;
}

int bia__metrics_prttrk(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	int rc = bia__check_masks(ctx, "PrtTrk", in->pred, in->gt);
	if (rc)
		return rc;
	const double eps = p->gating_dist;
	if (!(eps > 0) || !isfinite(eps))
		return bia_fail(ctx, BIA_EINVAL, "PrtTrk: gating_dist must be a positive number, not %g",
				eps);

	struct tracks R, C;
	struct bia__pgrid grid;
	struct near N = {0};
	struct bia__assign_edge *e = NULL;
	size_t ne = 0, cap = 0;
	size_t *row_edge = NULL, *cand_ref = NULL, *owner = NULL;
	double *dummy = NULL, *pxyz = NULL;
	int64_t *pt = NULL;
	memset(&grid, 0, sizeof(grid));
	memset(&C, 0, sizeof(C));
	rc = tracks_load(ctx, "ground truth", in->gt, &R);
	if (rc)
		return rc;
	rc = tracks_load(ctx, "prediction", in->pred, &C);
	if (rc)
		goto out;

	/* grid over the real candidate detections */
	size_t nreal = 0;
	for (size_t k = 0; k < C.n; k++)
		nreal += C.tr[k].nreal;
	pxyz = bia_malloc2(nreal ? nreal : 1, 3 * sizeof(double));
	pt = bia_malloc2(nreal ? nreal : 1, sizeof(int64_t));
	owner = bia_malloc2(nreal ? nreal : 1, sizeof(size_t));
	N.stamp = bia_calloc(C.n ? C.n : 1, sizeof(size_t));
	N.found = bia_malloc2(C.n ? C.n : 1, sizeof(size_t));
	row_edge = bia_malloc2(R.n ? R.n : 1, sizeof(size_t));
	dummy = bia_malloc2(R.n ? R.n : 1, sizeof(double));
	cand_ref = bia_malloc2(C.n ? C.n : 1, sizeof(size_t));
	if (!pxyz || !pt || !owner || !N.stamp || !N.found || !row_edge || !dummy || !cand_ref)
		goto oom;
	for (size_t k = 0, m = 0; k < C.n; k++) {
		const struct track *tr = &C.tr[k];
		for (int64_t t = tr->t0; t <= tr->t1; t++) {
			size_t pos = tr->off + (size_t)(t - tr->t0);
			if (!C.real[pos])
				continue;
			memcpy(pxyz + 3 * m, C.xyz + 3 * pos, 3 * sizeof(double));
			pt[m] = t;
			owner[m] = k;
			m++;
		}
	}
	if (bia__pgrid_build(&grid, pxyz, pt, nreal, eps))
		goto oom;
	N.owner = owner;

	/* feasible pairs: some frame where a real candidate detection lies
	 * within the gate of the reference (real or virtual) position */
	for (size_t i = 0; i < R.n; i++) {
		const struct track *tr = &R.tr[i];
		N.row = i;
		N.nfound = 0;
		for (int64_t t = tr->t0; t <= tr->t1; t++)
			bia__pgrid_query(&grid, R.xyz + 3 * (tr->off + (size_t)(t - tr->t0)), t, eps,
					 near_add, &N);
		for (size_t f = 0; f < N.nfound; f++) {
			struct pairing pp;
			pair_tracks(&R, tr, &C, &C.tr[N.found[f]], eps, &pp);
			if (!pp.feasible)
				BIA_BUG("grid and track distance disagree on feasibility");
			if (ne == cap) {
				size_t nc = cap ? 2 * cap : 64, bytes;
				struct bia__assign_edge *ee;
				if (bia_mul_size(nc, sizeof(*ee), &bytes) || !(ee = realloc(e, bytes)))
					goto oom;
				e = ee;
				cap = nc;
			}
			e[ne].row = i;
			e[ne].col = N.found[f];
			e[ne].cost = pp.d;
			ne++;
		}
		dummy[i] = eps * (double)tlen(tr);
	}
	int ar = bia__assign_sparse(R.n, C.n, e, ne, dummy, row_edge);
	if (ar == -1)
		goto oom;
	if (ar) { /* eps * len(R) overflowed */
		rc = bia_fail(ctx, BIA_EINVAL, "PrtTrk: gating_dist %g is too large", eps);
		goto out;
	}

	/* measures */
	double pd = 0, bound = 0, penalty = 0;
	size_t npt = 0, nmt = 0, nrd = 0, ncd = 0, npd = 0, nmd = 0, nsd = 0;
	for (size_t j = 0; j < C.n; j++)
		cand_ref[j] = SIZE_MAX;
	for (size_t i = 0; i < R.n; i++) {
		const struct track *tr = &R.tr[i];
		const struct track *ct = row_edge[i] == SIZE_MAX ? NULL : &C.tr[e[row_edge[i]].col];
		struct pairing pp;
		pair_tracks(&R, tr, &C, ct, eps, &pp);
		pd += pp.d;
		bound += eps * (double)tlen(tr);
		nrd += tlen(tr);
		npd += pp.matched;
		nmd += pp.missed;
		if (ct) {
			cand_ref[e[row_edge[i]].col] = i;
			nsd += pp.wrong;
			npt++;
		} else {
			nmt++;
		}
	}
	for (size_t j = 0; j < C.n; j++) {
		ncd += tlen(&C.tr[j]);
		if (cand_ref[j] == SIZE_MAX) {
			penalty += eps * (double)tlen(&C.tr[j]);
			nsd += C.tr[j].nreal; /* virtual detections are not spurious */
		}
	}
	size_t nrt = R.n, nct = C.n, nst = nct - npt;
	/* Java double arithmetic: x/0 gives NaN or infinity */
	bia_metric_set(r, "PD", pd);
	bia_metric_set(r, "NPSA", 1.0 - pd / bound);
	bia_metric_set(r, "FNPSB", (bound - pd) / (bound + penalty));
	bia_metric_set(r, "NRT", (double)nrt);
	bia_metric_set(r, "NCT", (double)nct);
	bia_metric_set(r, "JST", (double)npt / ((double)nrt + (double)nst));
	bia_metric_set(r, "NPT", (double)npt);
	bia_metric_set(r, "NMT", (double)nmt);
	bia_metric_set(r, "NST", (double)nst);
	bia_metric_set(r, "NRD", (double)nrd);
	bia_metric_set(r, "NCD", (double)ncd);
	bia_metric_set(r, "JSD", (double)npd / ((double)nrd + (double)nsd));
	bia_metric_set(r, "NPD", (double)npd);
	bia_metric_set(r, "NMD", (double)nmd);
	bia_metric_set(r, "NSD", (double)nsd);
	json_object_set_new(r->params, "GATING_DIST", bia__json_param(eps));
	if (eps != 5)
		bia_metric_deviation(r, "PrtTrk/gating_dist: gate honoured (BIAFLOWS always used 5)");

	if (r->objects) {
		for (size_t i = 0; i < R.n; i++) {
			const struct track *tr = &R.tr[i];
			const struct track *ct =
				row_edge[i] == SIZE_MAX ? NULL : &C.tr[e[row_edge[i]].col];
			struct pairing pp;
			pair_tracks(&R, tr, &C, ct, eps, &pp);
			bia_metric_object(
				r, json_pack("{s:s, s:I, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
					     "kind", "ref", "id", (json_int_t)tr->id, "status",
					     ct ? "paired" : "missed", "match",
					     ct ? json_integer((json_int_t)ct->id) : json_null(),
					     "distance", bia_json_real(pp.d), "first",
					     (json_int_t)tr->t0, "last", (json_int_t)tr->t1, "real",
					     (json_int_t)tr->nreal, "matched", (json_int_t)pp.matched,
					     "missed", (json_int_t)pp.missed, "wrong",
					     (json_int_t)(ct ? pp.wrong : 0)));
		}
		for (size_t j = 0; j < C.n; j++) {
			const struct track *ct = &C.tr[j];
			size_t i = cand_ref[j];
			bia_metric_object(
				r, json_pack("{s:s, s:I, s:s, s:o, s:I, s:I, s:I}", "kind", "cand", "id",
					     (json_int_t)ct->id, "status",
					     i == SIZE_MAX ? "spurious" : "paired", "match",
					     i == SIZE_MAX ? json_null()
							   : json_integer((json_int_t)R.tr[i].id),
					     "first", (json_int_t)ct->t0, "last", (json_int_t)ct->t1,
					     "real", (json_int_t)ct->nreal));
		}
	}
	rc = 0;
	goto out;
oom:
	rc = bia_fail(ctx, BIA_ENOMEM, "PrtTrk: out of memory");
out:
	bia__pgrid_release(&grid);
	free(e);
	free(row_edge);
	free(cand_ref);
	free(owner);
	free(dummy);
	free(pxyz);
	free(pt);
	free(N.stamp);
	free(N.found);
	tracks_release(&R);
	tracks_release(&C);
	return rc;
}
