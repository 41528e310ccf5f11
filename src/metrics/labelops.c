/* Helpers shared by the mask metrics: label-pair counting in one pass,
 * connected components and the BIAFLOWS label normalisation rule, sums in
 * numpy's order, and a small k-d tree for point matching.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ shape check */

int bia__check_masks(struct bia_ctx *ctx, const char *cls, const struct bia_image *pred,
		     const struct bia_image *gt)
{
	char sp[96], sg[96];
	bia_image_shape_str(pred, sp, sizeof(sp));
	bia_image_shape_str(gt, sg, sizeof(sg));
	if (pred->x != gt->x || pred->y != gt->y || pred->z != gt->z || pred->c != gt->c ||
	    pred->t != gt->t)
		return bia_fail(ctx, BIA_ESHAPE,
				"%s: prediction and ground truth differ in shape (prediction %s, "
				"ground truth %s)",
				cls, sp, sg);
	if (gt->c > 1)
		return bia_fail(ctx, BIA_ESHAPE,
				"%s: masks must have one channel (prediction %s, ground truth %s)", cls,
				sp, sg);
	return 0;
}

/* ------------------------------------------------------------ pair counts */

/* Open-addressing hash of 64-bit keys (a << 32 | b) to counts. Key 0 is
 * the pair (0, 0), which the caller counts apart, so 0 marks an empty slot. */
struct ptab {
	uint64_t *key; /* malloc'd, cap slots, 0 = empty */
	uint64_t *cnt; /* malloc'd, cap counts */
	size_t cap;    /* power of two */
	size_t used;   /* occupied slots */
	int shift;     /* 64 - log2(cap) */
};

static size_t ptab_slot(const struct ptab *t, uint64_t k)
{
	return (size_t)((k * UINT64_C(0x9E3779B97F4A7C15)) >> t->shift);
}

static int ptab_init(struct ptab *t, size_t cap, int shift)
{
	t->key = calloc(cap, sizeof(uint64_t));
	t->cnt = calloc(cap, sizeof(uint64_t));
	t->cap = cap;
	t->used = 0;
	t->shift = shift;
	if (!t->key || !t->cnt) {
		free(t->key);
		free(t->cnt);
		return -1;
	}
	return 0;
}

static int ptab_add(struct ptab *t, uint64_t k, uint64_t c);

static int ptab_grow(struct ptab *t)
{
	struct ptab nt;
	if (t->cap > SIZE_MAX / 4 || ptab_init(&nt, t->cap * 2, t->shift - 1))
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->key[i])
			ptab_add(&nt, t->key[i], t->cnt[i]); /* cannot grow: half full */
	free(t->key);
	free(t->cnt);
	*t = nt;
	return 0;
}

static int ptab_add(struct ptab *t, uint64_t k, uint64_t c)
{
	if (2 * (t->used + 1) > t->cap && ptab_grow(t))
		return -1;
	size_t mask = t->cap - 1, i = ptab_slot(t, k);
	while (t->key[i] && t->key[i] != k)
		i = (i + 1) & mask;
	if (!t->key[i]) {
		t->key[i] = k;
		t->used++;
	}
	t->cnt[i] += c;
	return 0;
}

static int cmp_pair(const void *x, const void *y)
{
	const struct bia__pair *a = x, *b = y;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* Count the runs of equal pairs of arrays of types TA and TB into the hash
 * (one hash probe per run). */
#define PAIRS_LOOP(TA, TB)                                              \
	do {                                                            \
		const TA *a_ = a;                                       \
		const TB *b_ = b;                                       \
		for (size_t i = 0; i < n; i++) {                        \
			uint64_t k = (uint64_t)a_[i] << 32 | b_[i];     \
			if (k == last) {                                \
				run++;                                  \
				continue;                               \
			}                                               \
			if (!last)                                      \
				zz += run;                              \
			else if (ptab_add(&t, last, run))               \
				goto oom;                               \
			last = k;                                       \
			run = 1;                                        \
		}                                                       \
	} while (0)

#define PAIRS_B(TA)                                                     \
	do {                                                            \
		switch (tb) {                                           \
		case BIA_U8:                                            \
			PAIRS_LOOP(TA, uint8_t);                        \
			break;                                          \
		case BIA_U16:                                           \
			PAIRS_LOOP(TA, uint16_t);                       \
			break;                                          \
		case BIA_U32:                                           \
			PAIRS_LOOP(TA, uint32_t);                       \
			break;                                          \
		default:                                                \
			BIA_BUG("pairs of sample type %d", (int)tb);    \
		}                                                       \
	} while (0)

int bia__pairs_count(const void *a, enum bia_dtype ta, const void *b, enum bia_dtype tb,
		     size_t n, int with_bg, struct bia__pair **ppairs, size_t *pnpairs)
{
	struct ptab t;
	uint64_t zz = 0; /* voxels of the pair (0, 0) */
	*ppairs = NULL;
	*pnpairs = 0;
	if (ptab_init(&t, 1024, 64 - 10))
		return -1;
	/* consecutive voxels mostly hold the same pair: count runs, hash once
	 * per run */
	uint64_t last = 0, run = 0;
	switch (ta) {
	case BIA_U8:
		PAIRS_B(uint8_t);
		break;
	case BIA_U16:
		PAIRS_B(uint16_t);
		break;
	case BIA_U32:
		PAIRS_B(uint32_t);
		break;
	default:
		BIA_BUG("pairs of sample type %d", (int)ta);
	}
	if (!last)
		zz += run;
	else if (ptab_add(&t, last, run))
		goto oom;

	size_t np = t.used + (with_bg && zz);
	struct bia__pair *pp = bia_malloc2(np ? np : 1, sizeof(*pp));
	if (!pp)
		goto oom;
	size_t k = 0;
	if (with_bg && zz)
		pp[k++] = (struct bia__pair){0, 0, zz};
	for (size_t i = 0; i < t.cap; i++)
		if (t.key[i])
			pp[k++] = (struct bia__pair){(uint32_t)(t.key[i] >> 32), (uint32_t)t.key[i],
						     t.cnt[i]};
	qsort(pp, np, sizeof(*pp), cmp_pair);
	free(t.key);
	free(t.cnt);
	*ppairs = pp;
	*pnpairs = np;
	return 0;
oom:
	free(t.key);
	free(t.cnt);
	return -1;
}

int bia__labels_view(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		     const void **pdata, enum bia_dtype *pdtype, uint32_t **powned)
{
	*powned = NULL;
	if (img->dtype == BIA_U8 || img->dtype == BIA_U16 || img->dtype == BIA_U32) {
		*pdata = img->data;
		*pdtype = img->dtype;
		return 0;
	}
	int rc = bia_labels_u32(ctx, what, img, powned);
	if (rc)
		return rc;
	*pdata = *powned;
	*pdtype = BIA_U32;
	return 0;
}

/* ---------------------------------------------------- connected components */

/* Root of a provisional label, halving the path on the way. Parents are
 * never larger than their children. */
static uint32_t uf_find(uint32_t *par, uint32_t x)
{
	while (par[x] != x) {
		par[x] = par[par[x]];
		x = par[x];
	}
	return x;
}

/* Join two provisional labels; the smaller root becomes the parent, so a
 * component's root is its smallest label, i.e. that of its first voxel. */
static uint32_t uf_union(uint32_t *par, uint32_t x, uint32_t y)
{
	x = uf_find(par, x);
	y = uf_find(par, y);
	if (x < y) {
		par[y] = x;
		return x;
	}
	par[x] = y;
	return y;
}

/* Whether sample i of src (U8, U16, U32) is non-zero. */
#define FG(i) (t8 ? t8[i] != 0 : t16 ? t16[i] != 0 : t32[i] != 0)

int bia__label_cc(const void *src, enum bia_dtype dtype, uint32_t *lab, size_t nx, size_t ny,
		  size_t nz, uint32_t *pncomp)
{
	const uint8_t *t8 = dtype == BIA_U8 ? src : NULL;
	const uint16_t *t16 = dtype == BIA_U16 ? src : NULL;
	const uint32_t *t32 = dtype == BIA_U32 ? src : NULL;
	/* the 13 neighbours that precede a voxel in raster order (3D) */
	static const int nb[13][3] = {
		{-1, 0, 0},  {-1, -1, 0}, {0, -1, 0},  {1, -1, 0},  {-1, -1, -1},
		{0, -1, -1}, {1, -1, -1}, {-1, 0, -1}, {0, 0, -1},  {1, 0, -1},
		{-1, 1, -1}, {0, 1, -1},  {1, 1, -1},
	};
	size_t cap = 1024, nl = 0; /* provisional labels 1..nl */
	uint32_t *par = bia_malloc2(cap, sizeof(uint32_t));
	*pncomp = 0;
	if (!par)
		return -1;
	par[0] = 0;
#define NEW_LABEL()                                                              \
	do {                                                                     \
		if (nl + 1 >= UINT32_MAX)                                        \
			goto fail;                                               \
		if (nl + 1 >= cap) {                                             \
			uint32_t *np_ = realloc(par, 2 * cap * sizeof(uint32_t)); \
			if (!np_)                                                \
				goto fail;                                       \
			par = np_;                                               \
			cap *= 2;                                                \
		}                                                                \
		l = (uint32_t)++nl;                                              \
		par[l] = l;                                                      \
	} while (0)
	if (nz == 1) {
		/* 2D decision tree: the pixel above touches the three other
		 * visited neighbours, so when it is set nothing needs joining;
		 * left and upper-left touch each other; only the upper-right
		 * one may need a union */
		for (size_t y = 0; y < ny; y++) {
			uint32_t *row = lab + nx * y, *up = y ? row - nx : NULL;
			for (size_t x = 0; x < nx; x++) {
				if (!FG(nx * y + x)) {
					row[x] = 0;
					continue;
				}
				uint32_t l;
				if (up && up[x]) {
					l = up[x];
				} else {
					uint32_t left = x ? row[x - 1] : 0;
					uint32_t ul = up && x ? up[x - 1] : 0;
					uint32_t ur = up && x + 1 < nx ? up[x + 1] : 0;
					l = left ? left : ul;
					if (l && ur)
						l = uf_union(par, l, ur);
					else if (!l)
						l = ur;
					if (!l)
						NEW_LABEL();
				}
				row[x] = l;
			}
		}
	} else {
		for (size_t z = 0; z < nz; z++)
			for (size_t y = 0; y < ny; y++) {
				uint32_t *row = lab + nx * (y + ny * z);
				for (size_t x = 0; x < nx; x++) {
					if (!FG(nx * (y + ny * z) + x)) {
						row[x] = 0;
						continue;
					}
					uint32_t l = 0;
					for (int k = 0; k < 13; k++) {
						/* skip neighbours outside the volume */
						if ((nb[k][0] < 0 && x == 0) || (nb[k][0] > 0 && x + 1 == nx) ||
						    (nb[k][1] < 0 && y == 0) || (nb[k][1] > 0 && y + 1 == ny) ||
						    (nb[k][2] < 0 && z == 0))
							continue;
						/* visited voxels already hold provisional labels */
						uint32_t v = row[(ptrdiff_t)nb[k][0] +
								 (ptrdiff_t)nx * (nb[k][1] + (ptrdiff_t)ny * nb[k][2]) +
								 (ptrdiff_t)x];
						if (!v)
							continue;
						l = l ? uf_union(par, l, v) : v;
					}
					if (!l)
						NEW_LABEL();
					row[x] = l;
				}
			}
	}
#undef NEW_LABEL
#undef FG
	/* final ids: roots in increasing order (= raster order of their first
	 * voxel) get 1, 2, ...; a non-root's parent is smaller and already
	 * holds its component's final id */
	uint32_t ncomp = 0;
	for (size_t l = 1; l <= nl; l++)
		par[l] = par[l] == l ? ++ncomp : par[par[l]];
	size_t n = nx * ny * nz;
	for (size_t i = 0; i < n; i++)
		lab[i] = par[lab[i]];
	free(par);
	*pncomp = ncomp;
	return 0;
fail:
	free(par);
	return -1;
}

int bia__needs_relabel(const uint32_t *vals, size_t nvals)
{
	if (!nvals)
		return 0;
	uint32_t max = vals[nvals - 1];
	if (max == 0)
		return 0;
	if (vals[0] != 0 || max < 2)
		return 1;
	return (uint64_t)max + 1 != (uint64_t)nvals;
}

/* ------------------------------------------------------------ numpy sums */

double bia__np_sum(const double *v, size_t n)
{
	if (n < 8) {
		double s = 0.;
		for (size_t i = 0; i < n; i++)
			s += v[i];
		return s;
	}
	if (n <= 128) {
		double r[8];
		size_t i;
		for (int j = 0; j < 8; j++)
			r[j] = v[j];
		for (i = 8; i < n - n % 8; i += 8)
			for (int j = 0; j < 8; j++)
				r[j] += v[i + j];
		double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			s += v[i];
		return s;
	}
	size_t n2 = n / 2;
	n2 -= n2 % 8;
	return bia__np_sum(v, n2) + bia__np_sum(v + n2, n - n2);
}

/* ---------------------------------------------------------------- k-d tree */

static double coord(const struct bia__kdtree *t, size_t i, int ax)
{
	return t->pts[i * (size_t)t->dim + (size_t)ax];
}

/* Reorder idx[lo, hi) so that idx[k] holds the point of rank k along ax,
 * smaller or equal ones before it, larger or equal ones after
 * (quickselect with a three-way partition around a median of three). */
static void kd_select(struct bia__kdtree *t, size_t lo, size_t hi, size_t k, int ax)
{
	size_t *idx = t->idx;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		double a = coord(t, idx[lo], ax), b = coord(t, idx[mid], ax),
		       c = coord(t, idx[hi - 1], ax);
		double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		/* [lo, lt) < piv, [lt, i) == piv, [gt, hi) > piv */
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			double v = coord(t, idx[i], ax);
			size_t tmp = idx[i];
			if (v < piv) {
				idx[i++] = idx[lt];
				idx[lt++] = tmp;
			} else if (v > piv) {
				idx[i] = idx[--gt];
				idx[gt] = tmp;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
}

static void kd_build(struct bia__kdtree *t, size_t lo, size_t hi)
{
	while (hi - lo > 1) {
		int ax = 0;
		double best = -1;
		for (int d = 0; d < t->dim; d++) {
			double mn = INFINITY, mx = -INFINITY;
			for (size_t i = lo; i < hi; i++) {
				double v = coord(t, t->idx[i], d);
				mn = v < mn ? v : mn;
				mx = v > mx ? v : mx;
			}
			if (mx - mn > best) {
				best = mx - mn;
				ax = d;
			}
		}
		size_t mid = lo + (hi - lo) / 2;
		kd_select(t, lo, hi, mid, ax);
		t->axis[mid] = (uint8_t)ax;
		kd_build(t, lo, mid);
		lo = mid + 1;
	}
	if (hi - lo == 1)
		t->axis[lo] = 0;
}

int bia__kd_build(struct bia__kdtree *t, const double *pts, size_t n, int dim)
{
	memset(t, 0, sizeof(*t));
	t->pts = pts;
	t->n = n;
	t->dim = dim;
	t->idx = bia_malloc2(n ? n : 1, sizeof(size_t));
	t->axis = bia_malloc2(n ? n : 1, 1);
	if (!t->idx || !t->axis) {
		bia__kd_release(t);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		t->idx[i] = i;
	kd_build(t, 0, n);
	return 0;
}

void bia__kd_release(struct bia__kdtree *t)
{
	free(t->idx);
	free(t->axis);
	memset(t, 0, sizeof(*t));
}

static double dist2(const struct bia__kdtree *t, size_t i, const double *q)
{
	double s = 0;
	for (int d = 0; d < t->dim; d++) {
		double e = coord(t, i, d) - q[d];
		s += e * e;
	}
	return s;
}

static void kd_nn(const struct bia__kdtree *t, size_t lo, size_t hi, const double *q,
		  size_t *bi, double *bd)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = t->idx[mid];
		double d = dist2(t, i, q);
		if (d < *bd || (d == *bd && i < *bi)) {
			*bd = d;
			*bi = i;
		}
		int ax = t->axis[mid];
		double diff = q[ax] - coord(t, i, ax);
		size_t nlo = lo, nhi = mid, flo = mid + 1, fhi = hi; /* near, far halves */
		if (diff > 0) {
			nlo = mid + 1;
			nhi = hi;
			flo = lo;
			fhi = mid;
		}
		kd_nn(t, nlo, nhi, q, bi, bd);
		if (diff * diff > *bd) /* <= kept: an equally near point may have a smaller index */
			return;
		lo = flo;
		hi = fhi;
	}
}

size_t bia__kd_nearest(const struct bia__kdtree *t, const double *q, double *pd2)
{
	size_t bi = (size_t)-1;
	double bd = INFINITY;
	kd_nn(t, 0, t->n, q, &bi, &bd);
	*pd2 = bd;
	return bi;
}

static void kd_in(const struct bia__kdtree *t, size_t lo, size_t hi, const double *q, double r2,
		  void (*fn)(void *, size_t, double), void *arg)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = t->idx[mid];
		double d = dist2(t, i, q);
		if (d < r2)
			fn(arg, i, d);
		int ax = t->axis[mid];
		double diff = q[ax] - coord(t, i, ax);
		/* left half holds coordinates <= the split, right half >= it */
		if (diff < 0 || diff * diff < r2)
			kd_in(t, lo, mid, q, r2, fn, arg);
		if (!(diff > 0 || diff * diff < r2))
			return;
		lo = mid + 1;
	}
}

void bia__kd_within(const struct bia__kdtree *t, const double *q, double r2,
		    void (*fn)(void *arg, size_t i, double d2), void *arg)
{
	kd_in(t, 0, t->n, q, r2, fn, arg);
}
