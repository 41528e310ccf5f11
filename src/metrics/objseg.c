/* ObjSeg: DC and AHD as VISCERAL EvaluateSegmentation computes them (on the
 * binary foregrounds), FOVL and mAP as BIAFLOWS computes them (on labels
 * normalised by METRICS.md §3.2), the extras JI, AP50, PQ and CTC_SEG, and
 * per-object TP/FN/FP records with split and merged flags.
 * One pass over the voxels builds the table of overlapping label pairs;
 * AHD searches the row runs of the foregrounds outward instead of a full
 * EDT.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The objects of one label image. */
struct objset {
	size_t n;	/* objects: distinct non-zero labels */
	uint32_t *id;	/* malloc'd: their labels, ascending */
	uint64_t *area; /* malloc'd: voxels of each */
	uint64_t fg;	/* foreground voxels (label != 0) */
	uint32_t *vals; /* malloc'd: distinct values present, 0 included, ascending */
	size_t nvals;	/* entries of vals */
};

/* Two objects that overlap. */
struct olap {
	size_t g, p; /* indices into the GT and prediction objsets */
	uint64_t n;  /* voxels in common */
	double iou;  /* n / |union| */
};

/* The objects of both images and their overlaps. */
struct table {
	struct objset g, p; /* ground truth, prediction */
	struct olap *ov;    /* malloc'd: overlaps sorted by g, then p */
	size_t nov;	    /* entries of ov */
	uint64_t both;	    /* voxels in the foreground of both */
};

static void objset_release(struct objset *s)
{
	free(s->id);
	free(s->area);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

static void table_release(struct table *t)
{
	objset_release(&t->g);
	objset_release(&t->p);
	free(t->ov);
	memset(t, 0, sizeof(*t));
}

struct valcount {
	uint32_t v; /* label */
	uint64_t n; /* voxels */
};

static int cmp_valcount(const void *x, const void *y)
{
	const struct valcount *a = x, *b = y;
	return a->v < b->v ? -1 : a->v > b->v;
}

/* Objects of one image from (value, count) entries sorted by value, values
 * repeated. */
static int objset_build(const struct valcount *vc, size_t n, struct objset *s)
{
	memset(s, 0, sizeof(*s));
	s->vals = bia_malloc2(n ? n : 1, sizeof(uint32_t));
	s->id = bia_malloc2(n ? n : 1, sizeof(uint32_t));
	s->area = bia_malloc2(n ? n : 1, sizeof(uint64_t));
	if (!s->vals || !s->id || !s->area)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i && vc[i].v == vc[i - 1].v) {
			if (vc[i].v)
				s->area[s->n - 1] += vc[i].n;
		} else {
			s->vals[s->nvals++] = vc[i].v;
			if (vc[i].v) {
				s->id[s->n] = vc[i].v;
				s->area[s->n++] = vc[i].n;
			}
		}
		if (vc[i].v)
			s->fg += vc[i].n;
	}
	return 0;
}

static size_t find_id(const struct objset *s, uint32_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Labels of one image: its own samples (U8, U16, U32) or a u32 copy. */
struct labels {
	const void *d;	    /* samples, x fastest */
	enum bia_dtype t;   /* BIA_U8, BIA_U16 or BIA_U32 */
	uint32_t *own;	    /* malloc'd copy when d is not the image's data */
};

/* Count the label pairs of g and p (one pass) and build both object sets
 * and the overlaps. Returns 0 or -1 (out of memory). */
static int table_build(const struct labels *g, const struct labels *p, size_t n, struct table *t)
{
	struct bia__pair *pr;
	size_t npr;
	memset(t, 0, sizeof(*t));
	if (bia__pairs_count(g->d, g->t, p->d, p->t, n, 1, &pr, &npr))
		return -1;
	struct valcount *vc = bia_malloc2(npr ? npr : 1, sizeof(*vc));
	t->ov = bia_malloc2(npr ? npr : 1, sizeof(struct olap));
	if (!vc || !t->ov)
		goto oom;
	/* pairs are sorted by GT label: GT objects directly */
	for (size_t i = 0; i < npr; i++)
		vc[i] = (struct valcount){pr[i].a, pr[i].n};
	if (objset_build(vc, npr, &t->g))
		goto oom;
	for (size_t i = 0; i < npr; i++)
		vc[i] = (struct valcount){pr[i].b, pr[i].n};
	qsort(vc, npr, sizeof(*vc), cmp_valcount);
	if (objset_build(vc, npr, &t->p))
		goto oom;
	size_t gi = 0;
	for (size_t i = 0; i < npr; i++) {
		if (!pr[i].a || !pr[i].b)
			continue;
		while (t->g.id[gi] != pr[i].a)
			gi++;
		size_t pi = find_id(&t->p, pr[i].b);
		uint64_t un = t->g.area[gi] + t->p.area[pi] - pr[i].n;
		t->ov[t->nov++] = (struct olap){gi, pi, pr[i].n, (double)pr[i].n / (double)un};
		t->both += pr[i].n;
	}
	free(vc);
	free(pr);
	return 0;
oom:
	free(vc);
	free(pr);
	table_release(t);
	return -1;
}

/* ------------------------------------------------------------------- AHD */

#define NONE UINT32_MAX /* no voxel of the target in this row */

struct offset {
	int32_t dy, dz; /* row offset */
	uint64_t r2;	/* dy^2 + dz^2 */
};

static int cmp_offset(const void *x, const void *y)
{
	const struct offset *a = x, *b = y;
	if (a->r2 != b->r2)
		return a->r2 < b->r2 ? -1 : 1;
	if (a->dz != b->dz)
		return a->dz < b->dz ? -1 : 1;
	return a->dy < b->dy ? -1 : a->dy > b->dy;
}

/* Largest row offset radius searched in 3D before falling back to the EDT. */
#define SEARCH_R3 40

/* 3D row offsets (dy, dz) within SEARCH_R3 in increasing distance, (0, 0)
 * first; *pcomplete when they cover the whole volume. */
static struct offset *make_offsets(size_t ny, size_t nz, size_t *pn, int *pcomplete,
				   uint64_t *prlim2)
{
	int64_t ry = (int64_t)ny - 1, rz = (int64_t)nz - 1;
	int64_t R = SEARCH_R3;
	int64_t my = ry < R ? ry : R, mz = rz < R ? rz : R;
	struct offset *o = bia_malloc2((size_t)((2 * my + 1) * (2 * mz + 1)), sizeof(*o));
	if (!o)
		return NULL;
	size_t k = 0;
	for (int64_t dz = -mz; dz <= mz; dz++)
		for (int64_t dy = -my; dy <= my; dy++)
			if (dy * dy + dz * dz <= R * R)
				o[k++] = (struct offset){(int32_t)dy, (int32_t)dz,
							 (uint64_t)(dy * dy + dz * dz)};
	qsort(o, k, sizeof(*o), cmp_offset);
	*pn = k;
	*pcomplete = ry * ry + rz * rz <= R * R;
	*prlim2 = (uint64_t)(R * R);
	return o;
}

/* Runs of non-zero voxels of a label volume, row by row (a row = fixed
 * y, z). */
struct rle {
	size_t nrows;  /* ny * nz */
	size_t *first; /* malloc'd: nrows + 1 offsets into x0/x1 */
	uint32_t *x0;  /* malloc'd: first voxel of each run */
	uint32_t *x1;  /* malloc'd: one past the last voxel of each run */
	size_t cap;    /* runs allocated */
};

static void rle_release(struct rle *e)
{
	free(e->first);
	free(e->x0);
	free(e->x1);
	memset(e, 0, sizeof(*e));
}

static int rle_grow(struct rle *e)
{
	uint32_t *a = realloc(e->x0, 2 * e->cap * sizeof(uint32_t));
	if (!a)
		return -1;
	e->x0 = a;
	uint32_t *b = realloc(e->x1, 2 * e->cap * sizeof(uint32_t));
	if (!b)
		return -1;
	e->x1 = b;
	e->cap *= 2;
	return 0;
}

#define RLE_LOOP(T)                                                      \
	do {                                                             \
		for (size_t r = 0; r < nrows; r++) {                     \
			const T *row = (const T *)lab->d + r * nx;       \
			e->first[r] = n;                                 \
			for (size_t x = 0; x < nx;) {                    \
				if (!row[x]) {                           \
					x++;                             \
					continue;                        \
				}                                        \
				size_t x0 = x;                           \
				while (x < nx && row[x])                 \
					x++;                             \
				if (n == e->cap && rle_grow(e))          \
					goto oom;                        \
				e->x0[n] = (uint32_t)x0;                 \
				e->x1[n++] = (uint32_t)x;                \
			}                                                \
		}                                                        \
	} while (0)

static int rle_build(const struct labels *lab, size_t nx, size_t nrows, struct rle *e)
{
	size_t n = 0;
	memset(e, 0, sizeof(*e));
	e->nrows = nrows;
	e->cap = 4096;
	e->first = bia_malloc2(nrows + 1, sizeof(size_t));
	e->x0 = bia_malloc2(e->cap, sizeof(uint32_t));
	e->x1 = bia_malloc2(e->cap, sizeof(uint32_t));
	if (!e->first || !e->x0 || !e->x1)
		goto oom;
	if (lab->t == BIA_U8)
		RLE_LOOP(uint8_t);
	else if (lab->t == BIA_U16)
		RLE_LOOP(uint16_t);
	else
		RLE_LOOP(uint32_t);
	e->first[nrows] = n;
	return 0;
oom:
	rle_release(e);
	return -1;
}

/* Distance along row r from x to the nearest run voxel, NONE if the row
 * has none. */
static uint32_t rle_dist(const struct rle *e, size_t r, uint32_t x)
{
	size_t lo = e->first[r], hi = e->first[r + 1], end = hi, beg = lo;
	if (lo == hi)
		return NONE;
	while (lo < hi) { /* first run ending after x */
		size_t mid = lo + (hi - lo) / 2;
		if (e->x1[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t d = NONE;
	if (lo < end) {
		if (e->x0[lo] <= x)
			return 0;
		d = e->x0[lo] - x;
	}
	if (lo > beg && x - (e->x1[lo - 1] - 1) < d)
		d = x - (e->x1[lo - 1] - 1);
	return d;
}

/* Σ over voxels of A outside B of the Euclidean distance to the nearest
 * voxel of B (B not empty), from the row runs of both. The nearest voxel of
 * B to v is the best over rows of (row offset)^2 + (distance to B along
 * that row)^2, so rows are searched outward from v (2D: only the rows that
 * hold B; 3D: the (dy, dz) offsets within SEARCH_R3) and the search stops
 * as soon as no farther row can be nearer: exact, and cheap when the errors
 * lie near the objects. With edt (squared EDT of B), its values are used
 * instead of the search. Returns 1 (not 0) when the search is too long (3D
 * voxels farther than SEARCH_R3, or more row visits than about one per
 * voxel of the volume, spent or projected from the nq voxels to do): the
 * caller then uses the EDT. -1 when out of memory. */
static int dir_sum_rle(const struct rle *A, const struct rle *B, size_t nx, size_t ny,
		       size_t nz, uint64_t nq, const float *edt, double *psum)
{
	size_t noff = 0, nvox = nx * ny * nz, nbrows = 0;
	int complete = 1;
	uint64_t rlim2 = UINT64_MAX;
	struct offset *off = NULL;
	size_t *brows = NULL; /* 2D: the rows holding B, ascending */
	if (nz > 1)
		off = make_offsets(ny, nz, &noff, &complete, &rlim2);
	else if ((brows = bia_malloc2(ny ? ny : 1, sizeof(size_t))))
		for (size_t y = 0; y < ny; y++)
			if (B->first[y + 1] > B->first[y])
				brows[nbrows++] = y;
	if (!off && !brows)
		return -1;
	/* give up for the EDT when the search costs more than about one row
	 * visit per voxel, or is projected to */
	uint64_t budget = (uint64_t)nvox + 1000000, work = 0, done = 0;
	double sum = 0;
	int rc = 0;
	for (size_t z = 0; z < nz && !rc; z++)
		for (size_t y = 0; y < ny && !rc; y++) {
			size_t r = y + ny * z, kb = B->first[r], kbe = B->first[r + 1];
			/* 2D: B rows above (index < hi, own row excluded) and below */
			size_t hi = 0;
			if (brows) {
				size_t lo = 0;
				hi = nbrows;
				while (lo < hi) {
					size_t mid = lo + (hi - lo) / 2;
					if (brows[mid] <= y)
						lo = mid + 1;
					else
						hi = mid;
				}
			}
			for (size_t ka = A->first[r]; ka < A->first[r + 1] && !rc; ka++) {
				/* the A run minus the B runs of the row */
				uint32_t x = A->x0[ka], xe = A->x1[ka];
				while (x < xe && !rc) {
					while (kb < kbe && B->x1[kb] <= x)
						kb++;
					if (kb < kbe && B->x0[kb] <= x) { /* inside B: distance 0 */
						x = B->x1[kb];
						continue;
					}
					uint32_t stop = kb < kbe && B->x0[kb] < xe ? B->x0[kb] : xe;
					if (edt) { /* exact squared distances given */
						for (; x < stop; x++)
							sum += sqrt((double)edt[x + nx * r]);
						continue;
					}
					for (; x < stop; x++) {
						/* x lies between B runs kb-1 and kb of its row */
						uint32_t f = NONE;
						if (kb < kbe)
							f = B->x0[kb] - x;
						if (kb > B->first[r] && x - (B->x1[kb - 1] - 1) < f)
							f = x - (B->x1[kb - 1] - 1);
						uint64_t best = f == NONE ? UINT64_MAX : (uint64_t)f * f;
						if (brows) {
							/* rows holding B, nearest first, until none
							 * can be nearer */
							size_t up = hi - (hi && brows[hi - 1] == y), dn = hi;
							for (;;) {
								uint64_t du = up ? y - brows[up - 1] : UINT64_MAX;
								uint64_t dd = dn < nbrows ? brows[dn] - y : UINT64_MAX;
								uint64_t d = du < dd ? du : dd;
								if (d == UINT64_MAX || d * d >= best)
									break;
								size_t row = du < dd ? brows[--up] : brows[dn++];
								uint64_t v = rle_dist(B, row, x);
								if (d * d + v * v < best)
									best = d * d + v * v;
								work++;
							}
						} else {
							size_t k = 1;
							for (; k < noff && off[k].r2 < best; k++) {
								int64_t yy = (int64_t)y + off[k].dy,
									zz = (int64_t)z + off[k].dz;
								if (yy < 0 || yy >= (int64_t)ny || zz < 0 ||
								    zz >= (int64_t)nz)
									continue;
								uint32_t v = rle_dist(B, (size_t)yy + ny * (size_t)zz,
										      x);
								if (v == NONE)
									continue;
								uint64_t c = off[k].r2 + (uint64_t)v * v;
								if (c < best)
									best = c;
							}
							work += k;
							/* exact unless the list ran out with offsets
							 * left unseen that could still be nearer */
							if (k == noff && !complete &&
							    (best == UINT64_MAX || best > rlim2 + 1)) {
								rc = 1;
								break;
							}
						}
						done++;
						if (work > budget ||
						    (done % 256 == 0 && done >= 1024 &&
						     (double)work / (double)done * (double)nq > 1.5 * (double)budget)) {
							rc = 1;
							break;
						}
						sum += sqrt((double)best);
					}
				}
			}
		}
	free(off);
	free(brows);
	*psum = sum;
	return rc;
}

/* The exact EDT fallback: squared distance to B from B's runs. */
static float *edt_of(const struct rle *B, size_t nx, size_t ny, size_t nz)
{
	size_t n = nx * ny * nz;
	uint8_t *feat = bia_calloc(n, 1);
	float *d = bia_malloc2(n, sizeof(float));
	if (feat && d) {
		for (size_t r = 0; r < ny * nz; r++)
			for (size_t k = B->first[r]; k < B->first[r + 1]; k++)
				memset(feat + r * nx + B->x0[k], 1, B->x1[k] - B->x0[k]);
		if (!bia_edt_sq(feat, nx, ny, nz, d)) {
			free(feat);
			return d;
		}
	}
	free(feat);
	free(d);
	return NULL;
}

/* d(A->B) * |A| of one direction (nq voxels of A outside B): the row
 * search, else the EDT. */
static int dir_sum(const struct rle *A, const struct rle *B, size_t nx, size_t ny, size_t nz,
		   uint64_t nq, double *psum)
{
	int rc = dir_sum_rle(A, B, nx, ny, nz, nq, NULL, psum);
	if (rc <= 0)
		return rc;
	float *d = edt_of(B, nx, ny, nz);
	if (!d)
		return -1;
	rc = dir_sum_rle(A, B, nx, ny, nz, nq, d, psum);
	free(d);
	return rc;
}

/* Σ distances of G outside P to P, and of P outside G to G. */
static int ahd_sums(const struct labels *g, const struct labels *p, size_t nx, size_t ny,
		    size_t nz, uint64_t ngp, uint64_t npg, double *pgp, double *ppg)
{
	struct rle eg, ep;
	int rc = -1;
	memset(&eg, 0, sizeof(eg));
	memset(&ep, 0, sizeof(ep));
	if (!rle_build(g, nx, ny * nz, &eg) && !rle_build(p, nx, ny * nz, &ep) &&
	    !dir_sum(&eg, &ep, nx, ny, nz, ngp, pgp) && !dir_sum(&ep, &eg, nx, ny, nz, npg, ppg))
		rc = 0;
	rle_release(&eg);
	rle_release(&ep);
	return rc;
}

/* ------------------------------------------------------------- the metrics */

/* Record decision 4 when BIAFLOWS' 0..255 rescaling (v' = (v-min)*255/(max-min),
 * foreground iff v' >= 1) would make some non-zero label background. */
static void foreground_note(struct bia_metric_result *r, const struct objset *s)
{
	if (!s->fg)
		return;
	uint32_t min = s->vals[0], max = s->vals[s->nvals - 1];
	uint32_t minnz = s->vals[0] ? s->vals[0] : s->vals[1];
	if (min && min == max)
		bia_metric_deviation(r, "ObjSeg/foreground: image without background kept as "
					"foreground for DC, AHD and JI (BIAFLOWS' 0..255 rescaling "
					"makes a constant image empty)");
	else if (min)
		bia_metric_deviation(r, "ObjSeg/foreground: image without background: every "
					"label != 0 is foreground for DC, AHD and JI (BIAFLOWS' 0..255 "
					"rescaling makes its smallest label background)");
	else if ((double)minnz * 255.0 < (double)max)
		bia_metric_deviation(r, "ObjSeg/foreground: labels > 255 kept: label != 0 is "
					"foreground for DC, AHD and JI (BIAFLOWS' 0..255 rescaling "
					"drops labels below max/255)");
}

/* CTC SEG (CTC-MEASURES.md §4) of one frame on the labels as they are:
 * mean over GT labels R of |R∩S|/|R∪S| for the S with |R∩S| > 0.5|R|,
 * 0 when there is none; summed in ascending GT label order. NaN when the
 * GT has no object. */
static double ctc_seg(const struct table *t)
{
	if (!t->g.n)
		return NAN;
	double sum = 0;
	for (size_t k = 0; k < t->nov; k++) {
		const struct olap *o = &t->ov[k];
		if (2 * o->n > t->g.area[o->g]) /* |R∩S| > 0.5|R|, exact in integers */
			sum += o->iou;
	}
	return sum / (double)t->g.n;
}

/* FOVL (METRICS.md §3.3): for each GT object the most overlapping predicted
 * object m (ties: smallest label), score o / max(|P_m|, |G|); mean over GT. */
static double fovl(const struct table *t)
{
	if (!t->g.n)
		return NAN;
	double sum = 0;
	for (size_t k = 0; k < t->nov;) {
		size_t g = t->ov[k].g, best = k;
		for (; k < t->nov && t->ov[k].g == g; k++)
			if (t->ov[k].n > t->ov[best].n)
				best = k;
		uint64_t ag = t->g.area[g], ap = t->p.area[t->ov[best].p];
		sum += (double)t->ov[best].n / (double)(ap > ag ? ap : ag);
	}
	return sum / (double)t->g.n;
}

/* Objects matched at IoU > thr (one-to-one for thr >= 0.5). */
static size_t matches(const struct table *t, double thr, double *psum_iou)
{
	size_t tp = 0;
	double s = 0;
	for (size_t k = 0; k < t->nov; k++)
		if (t->ov[k].iou > thr) {
			tp++;
			s += t->ov[k].iou;
		}
	if (psum_iou)
		*psum_iou = s;
	return tp;
}

/* mAP (METRICS.md §3.4): thresholds as numpy.arange(0.5, 1.0, 0.05) makes
 * them (start + k*delta, delta = (0.5+0.05)-0.5), the 1e-9 term, and the
 * mean summed in numpy's order. */
static double map_dsb(const struct table *t)
{
	const double start = 0.5;
	volatile double second = start + 0.05; /* as numpy: no folding surprises */
	double delta = second - start, s[10];
	for (int k = 0; k < 10; k++) {
		double thr = k == 0 ? start : start + (double)k * delta;
		size_t tp = matches(t, thr, NULL);
		size_t fp = t->p.n - tp, fn = t->g.n - tp;
		s[k] = (double)tp / ((double)(tp + fp + fn) + 1e-9);
	}
	return (0.0 + bia__np_sum(s, 10)) / 10.0;
}

/* Where an object is: the sum of its voxel coordinates and its bounding box. */
struct geom {
	double sx, sy, sz;
	uint32_t x0, y0, z0, x1, y1, z1;
};

static inline uint32_t label_at(const struct labels *l, size_t i)
{
	if (l->t == BIA_U8)
		return ((const uint8_t *)l->d)[i];
	if (l->t == BIA_U16)
		return ((const uint16_t *)l->d)[i];
	return ((const uint32_t *)l->d)[i];
}

/* Centroid sums and bounding boxes of every object of s (one pass over the
 * labels; a lookup table from label to object when labels are small). */
static struct geom *geometry(const struct labels *l, const struct objset *s, size_t nx,
			     size_t ny, size_t nz)
{
	struct geom *gm = bia_calloc(s->n ? s->n : 1, sizeof(*gm));
	if (!gm)
		return NULL;
	for (size_t k = 0; k < s->n; k++)
		gm[k].x0 = gm[k].y0 = gm[k].z0 = UINT32_MAX;
	uint32_t maxid = s->n ? s->id[s->n - 1] : 0;
	uint32_t *lut = maxid < (1u << 24) ? bia_malloc2((size_t)maxid + 1, sizeof(uint32_t)) : NULL;
	if (lut) {
		for (uint32_t v = 0; v <= maxid; v++)
			lut[v] = UINT32_MAX;
		for (size_t k = 0; k < s->n; k++)
			lut[s->id[k]] = (uint32_t)k;
	}
	size_t i = 0;
	for (size_t z = 0; z < nz; z++)
		for (size_t y = 0; y < ny; y++)
			for (size_t x = 0; x < nx; x++, i++) {
				uint32_t v = label_at(l, i);
				if (!v)
					continue;
				size_t k;
				if (lut) {
					if (v > maxid || (k = lut[v]) == UINT32_MAX)
						continue;
				} else {
					k = find_id(s, v);
					if (k >= s->n || s->id[k] != v)
						continue;
				}
				struct geom *g = &gm[k];
				g->sx += (double)x;
				g->sy += (double)y;
				g->sz += (double)z;
				if (x < g->x0)
					g->x0 = (uint32_t)x;
				if (y < g->y0)
					g->y0 = (uint32_t)y;
				if (z < g->z0)
					g->z0 = (uint32_t)z;
				if (x > g->x1)
					g->x1 = (uint32_t)x;
				if (y > g->y1)
					g->y1 = (uint32_t)y;
				if (z > g->z1)
					g->z1 = (uint32_t)z;
			}
	free(lut);
	return gm;
}

/* "centroid": [x, y, z] and "bbox": [x0, y0, z0, x1, y1, z1] (inclusive) on a
 * record, so that a missed object can be found in the image. */
static void add_geometry(json_t *rec, const struct geom *g, uint64_t area)
{
	if (!g || !area)
		return;
	double n = (double)area;
	json_object_set_new(rec, "centroid",
			    json_pack("[f,f,f]", g->sx / n, g->sy / n, g->sz / n));
	json_object_set_new(rec, "bbox", json_pack("[I,I,I,I,I,I]", (json_int_t)g->x0,
						   (json_int_t)g->y0, (json_int_t)g->z0,
						   (json_int_t)g->x1, (json_int_t)g->y1,
						   (json_int_t)g->z1));
}

/* Per-object records: GT then prediction objects in label order. */
static int objects(struct bia_metric_result *r, const struct table *t, const struct labels *gl,
		   const struct labels *pl, size_t nx, size_t ny, size_t nz)
{
	size_t ng = t->g.n, np = t->p.n;
	double *gbest = bia_calloc(ng ? ng : 1, sizeof(double));
	double *pbest = bia_calloc(np ? np : 1, sizeof(double));
	size_t *gm = bia_malloc2(ng ? ng : 1, sizeof(size_t));
	size_t *pm = bia_malloc2(np ? np : 1, sizeof(size_t));
	size_t *gsplit = bia_calloc(ng ? ng : 1, sizeof(size_t)); /* predictions > half inside */
	size_t *pmerge = bia_calloc(np ? np : 1, sizeof(size_t)); /* GT objects > half covered */
	struct geom *ggeo = geometry(gl, &t->g, nx, ny, nz), *pgeo = geometry(pl, &t->p, nx, ny, nz);
	int rc = -1;
	if (!gbest || !pbest || !gm || !pm || !gsplit || !pmerge || !ggeo || !pgeo)
		goto done;
	for (size_t i = 0; i < ng; i++)
		gm[i] = SIZE_MAX;
	for (size_t i = 0; i < np; i++)
		pm[i] = SIZE_MAX;
	for (size_t k = 0; k < t->nov; k++) {
		const struct olap *o = &t->ov[k];
		if (o->iou > gbest[o->g])
			gbest[o->g] = o->iou;
		if (o->iou > pbest[o->p])
			pbest[o->p] = o->iou;
		if (o->iou > 0.5) {
			gm[o->g] = o->p;
			pm[o->p] = o->g;
		}
		if (2 * o->n > t->p.area[o->p])
			gsplit[o->g]++;
		if (2 * o->n > t->g.area[o->g])
			pmerge[o->p]++;
	}
	for (size_t i = 0; i < ng; i++) {
		int tp = gm[i] != SIZE_MAX;
		json_t *rec = json_pack("{s:s, s:I, s:o, s:o, s:s, s:I}", "kind", "gt", "id",
					(json_int_t)t->g.id[i], "match",
					tp ? json_integer((json_int_t)t->p.id[gm[i]]) : json_null(),
					"iou", bia_json_real(gbest[i]), "status", tp ? "TP" : "FN",
					"area", (json_int_t)t->g.area[i]);
		if (!rec)
			goto done;
		if (gsplit[i] >= 2)
			json_object_set_new(rec, "split", json_true());
		add_geometry(rec, &ggeo[i], t->g.area[i]);
		bia_metric_object(r, rec);
	}
	for (size_t i = 0; i < np; i++) {
		int tp = pm[i] != SIZE_MAX;
		json_t *rec = json_pack("{s:s, s:I, s:o, s:o, s:s, s:I}", "kind", "pred", "id",
					(json_int_t)t->p.id[i], "match",
					tp ? json_integer((json_int_t)t->g.id[pm[i]]) : json_null(),
					"iou", bia_json_real(pbest[i]), "status", tp ? "TP" : "FP",
					"area", (json_int_t)t->p.area[i]);
		if (!rec)
			goto done;
		if (pmerge[i] >= 2)
			json_object_set_new(rec, "merged", json_true());
		add_geometry(rec, &pgeo[i], t->p.area[i]);
		bia_metric_object(r, rec);
	}
	rc = 0;
done:
	free(gbest);
	free(pbest);
	free(gm);
	free(pm);
	free(gsplit);
	free(pmerge);
	free(ggeo);
	free(pgeo);
	return rc;
}

/* Replace the labels by their connected components (§3.2), in a u32
 * array. *pnobj: components found. */
static int relabel(struct labels *l, size_t nx, size_t ny, size_t nz, uint32_t *pnobj)
{
	if (!l->own && !(l->own = bia_malloc2(nx * ny * nz, sizeof(uint32_t))))
		return -1;
	int rc = bia__label_cc(l->d, l->t, l->own, nx, ny, nz, pnobj);
	l->d = l->own;
	l->t = BIA_U32;
	return rc;
}

static int run(struct bia_ctx *ctx, struct bia_metric_result *r, struct labels *g,
	       struct labels *p, size_t nx, size_t ny, size_t nz)
{
	size_t n = nx * ny * nz;
	struct table raw, norm;
	int rc = BIA_ENOMEM;
	memset(&norm, 0, sizeof(norm));
	if (table_build(g, p, n, &raw))
		return bia_fail(ctx, BIA_ENOMEM, "ObjSeg: out of memory");

	/* DC, AHD, JI on the binary foregrounds (label != 0, decision 4) */
	foreground_note(r, &raw.g);
	foreground_note(r, &raw.p);
	uint64_t G = raw.g.fg, P = raw.p.fg, B = raw.both;
	double dc = G && P ? 2.0 * (double)B / (double)(G + P) : 0.0;
	double ji = G + P - B ? (double)B / (double)(G + P - B) : 1.0;
	double ahd = NAN;
	if (G && P) {
		double sgp, spg;
		if (ahd_sums(g, p, nx, ny, nz, G - B, P - B, &sgp, &spg))
			goto oom;
		ahd = (sgp / (double)G + spg / (double)P) / 2.0;
	} else {
		bia_metric_warn(r, "ObjSeg: the %s no foreground: DC = 0 and AHD = NaN (as BIAFLOWS)",
				!G && !P ? "ground truth and the prediction have"
				: !G	 ? "ground truth has"
					 : "prediction has");
	}

	/* CTC SEG on the labels as given (a label is an object, as in the CTC) */
	double ctc = ctc_seg(&raw);

	/* FOVL, mAP, AP50, PQ and the objects on normalised labels (§3.2) */
	const struct table *t = &raw;
	int rg = bia__needs_relabel(raw.g.vals, raw.g.nvals);
	int rp = bia__needs_relabel(raw.p.vals, raw.p.nvals);
	if (rg || rp) {
		uint32_t ncg = 0, ncp = 0;
		if ((rg && relabel(g, nx, ny, nz, &ncg)) || (rp && relabel(p, nx, ny, nz, &ncp)))
			goto oom;
		if (rg && ncg < raw.g.n)
			bia_metric_warn(r, "ObjSeg: ground-truth labels are not 1..max: relabelled by "
					   "connected components, %zu labels became %u objects (as BIAFLOWS)",
					raw.g.n, (unsigned)ncg);
		if (rp && ncp < raw.p.n)
			bia_metric_warn(r, "ObjSeg: prediction labels are not 1..max: relabelled by "
					   "connected components, %zu labels became %u objects (as BIAFLOWS)",
					raw.p.n, (unsigned)ncp);
		if (table_build(g, p, n, &norm))
			goto oom;
		t = &norm;
	}
	/* a binary mask (one label for several separate objects, e.g. 0/255):
	 * keep the rules, but say what they do with it */
	if (raw.p.n == 1 && raw.g.n > 1) {
		uint32_t ncc = 0;
		uint32_t *tmp = bia_malloc2(n ? n : 1, sizeof(uint32_t));
		if (!tmp || bia__label_cc(p->d, p->t, tmp, nx, ny, nz, &ncc)) {
			free(tmp);
			goto oom;
		}
		free(tmp);
		if (ncc > 1)
			bia_metric_warn(r, "ObjSeg: binary output (every object has the label %u): "
					   "CTC_SEG treats it as one object (the other metrics split "
					   "it into its %u connected components); label each object "
					   "1..N",
					(unsigned)raw.p.id[0], (unsigned)ncc);
	}
	double fo = fovl(t);
	double map = map_dsb(t);
	double siou;
	size_t tp = matches(t, 0.5, &siou), fp = t->p.n - tp, fn = t->g.n - tp;
	double ap50 = tp + fp + fn ? (double)tp / (double)(tp + fp + fn) : 1.0;
	double pqd = (double)tp + 0.5 * (double)fp + 0.5 * (double)fn;
	double pq = pqd > 0 ? siou / pqd : 1.0;
	if (!t->g.n) {
		bia_metric_warn(r, "ObjSeg: the ground truth has no object: FOVL and CTC_SEG are NaN");
		bia_metric_deviation(r, "ObjSeg/empty-gt: FOVL = NaN (BIAFLOWS fails with "
					"ZeroDivisionError)");
	}

	bia_metric_set(r, "DC", dc);
	bia_metric_set(r, "AHD", ahd);
	bia_metric_set(r, "FOVL", fo);
	bia_metric_set(r, "mAP", map);
	bia_metric_set(r, "JI", ji);
	bia_metric_set(r, "AP50", ap50);
	bia_metric_set(r, "PQ", pq);
	bia_metric_set(r, "CTC_SEG", ctc);
	if (r->objects && objects(r, t, g, p, nx, ny, nz))
		goto oom;
	rc = 0;
oom:
	table_release(&raw);
	table_release(&norm);
	return rc ? bia_fail(ctx, BIA_ENOMEM, "ObjSeg: out of memory") : 0;
}

int bia__metrics_objseg(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	(void)p;
	const struct bia_image *gi = in->gt, *pi = in->pred;
	int rc = bia__check_masks(ctx, "ObjSeg", pi, gi);
	if (rc)
		return rc;
	if (gi->z > 1 && gi->t > 1) {
		char s[96];
		bia_image_shape_str(gi, s, sizeof(s));
		return bia_fail(ctx, BIA_ESHAPE,
				"ObjSeg: label images must be 2D or 3D, not Z and T at once (%s)", s);
	}
	if (gi->x >= UINT32_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "ObjSeg: images wider than 2^32-1 pixels are not supported");
	/* a 2D time series is scored as one volume, as the squeezed array of
	 * BIAFLOWS would be */
	size_t nx = gi->x, ny = gi->y, nz = gi->z * gi->t;
	struct labels g = {0}, pl = {0};
	rc = bia__labels_view(ctx, "ground truth", gi, &g.d, &g.t, &g.own);
	if (!rc)
		rc = bia__labels_view(ctx, "prediction", pi, &pl.d, &pl.t, &pl.own);
	if (!rc)
		rc = run(ctx, r, &g, &pl, nx, ny, nz);
	free(g.own);
	free(pl.own);
	return rc;
}
