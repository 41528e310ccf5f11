/* Private helpers shared by the metric files of src/metrics.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_METRICS_INT_H
#define BIA_METRICS_INT_H

#include "metrics/metrics.h"

/* ------------------------------------------- NetMets (netmets.c, §10.3) */

/* Largest number of sample points of one NetMets point cloud (about 40
 * bytes each while scoring). */
#define BIA__CLOUD_MAX_POINTS ((size_t)1 << 24)

/* A NetMets point cloud: the samples of straight segments, duplicated
 * segment ends kept (docs/metrics.md §10.3, decision 11), grouped for the
 * per-object records (TreTrc: one group per SWC link; LooTrc: one per
 * skeleton path). */
struct bia__cloud {
	size_t n, cap;	      /* points, allocated */
	double *p;	      /* 3*n coordinates x, y, z */
	size_t ngroups, gcap; /* groups, allocated */
	size_t *gstart;	      /* group g holds points [gstart[g], gstart[g+1]) */
	double *gends;	      /* 6 per group: from x,y,z then to x,y,z */
	int64_t *gids;	      /* 2 per group: from id, to id (-1 if none) */
};
void bia__cloud_init(struct bia__cloud *c);
void bia__cloud_release(struct bia__cloud *c);
/* Start a group (its segments follow). */
int bia__cloud_group(struct bia_ctx *ctx, struct bia__cloud *c, const double from[3],
		     const double to[3], int64_t from_id, int64_t to_id);
/* Number of samples NetMets takes on a segment of length len at spacing s:
 * n = ceil(len/s), n+1 points, 2 when n = 0. */
size_t bia__cloud_nsamples(double len, double s);
/* Append the samples of segment p0 -> p1 at spacing s: p0 + (p1-p0)*i/n,
 * i = 0..n with n = ceil(|p1-p0|/s), or [p0, p1] when n = 0. Refuses
 * (BIA_ELIMIT) beyond BIA__CLOUD_MAX_POINTS. */
int bia__cloud_segment(struct bia_ctx *ctx, struct bia__cloud *c, const double p0[3],
		       const double p1[3], double s);

/* Exact nearest-neighbour distances (k-d tree): out[i] = distance from
 * query point i to the nearest of the nref reference points, INFINITY when
 * nref = 0. Points are x,y,z triples. Returns 0, or -1 when out of memory. */
int bia__nn_dist(const double *ref, size_t nref, const double *q, size_t nq, double *out);

/* NetMets geometric rates of two clouds with Gaussian width sigma:
 * closeness of a point = exp(-d^2 / (2 sigma^2)), d = distance to the other
 * cloud; fnr = 1 - mean closeness of the GT points, fpr = 1 - mean
 * closeness of the predicted points (NaN for an empty cloud; 1 when the
 * other cloud is empty). gt_close / pred_close hold the closeness of every
 * point (malloc'd, NULL for an empty cloud). */
struct bia__netmets {
	double fnr, fpr;
	double *gt_close, *pred_close;
};
int bia__netmets(struct bia_ctx *ctx, const struct bia__cloud *gt, const struct bia__cloud *pred,
		 double sigma, struct bia__netmets *out);
void bia__netmets_release(struct bia__netmets *m);
/* Append one per-object record per group of a cloud to r->objects:
 * {"kind", "edge", "from", "to", ["from_id", "to_id"], "points",
 * "mean_closeness", "status"}; status "matched" when the mean closeness is
 * >= 0.5, else "missed" (GT) / "spurious" (prediction). with_ids adds the
 * group ids. No-op when r->objects is NULL. */
void bia__netmets_objects(struct bia_metric_result *r, const struct bia__cloud *c,
			  const double *close, int is_gt, int with_ids);
/* A parameter value for r->params: a JSON integer when v is integral,
 * else a real. */
json_t *bia__json_param(double v);
/* F1 of the two NetMets rates: the harmonic mean of recall 1 - FNR and
 * precision 1 - FPR. An empty prediction (FPR NaN) or an empty ground
 * truth with a prediction (FNR NaN) scores 0; both empty: NaN. */
double bia__netmets_f1(double fnr, double fpr);


/* ------------------------------------------------------------ assignment
 * (src/metrics/assign.c) Exact minimum-cost assignment and the
 * cluster decomposition of the ISBI 2012 scorers (ObjDet, PrtTrk). */

#include <math.h>

/* Exact minimum-cost assignment of nr rows to nr distinct columns of an
 * nr x nc cost matrix (row-major, nr <= nc), by shortest augmenting paths
 * with potentials (Hungarian / Jonker-Volgenant family), O(nr^2 nc).
 * Entries may be +INFINITY (forbidden). Ties are broken deterministically:
 * the result depends only on the matrix (rows are inserted in increasing
 * order, the lowest column index wins among equal reduced costs).
 * row_col[i] = column of row i. Returns 0; -1 out of memory; -2 when no
 * assignment avoids the forbidden entries, nr > nc, or a cost is NaN or
 * -INFINITY. */
int bia__assign_dense(size_t nr, size_t nc, const double *cost, size_t *row_col /* OUT */);

/* A feasible (row, column) pair of a sparse problem and its finite cost.
 * Rows are references, columns candidates. */
struct bia__assign_edge {
	size_t row, col;
	double cost;
};

/* Clusters of rows linked by shared feasible columns: connected components
 * of the bipartite graph of the edges. row_cluster[i] is in 0..k-1, with
 * clusters numbered in the order of their smallest row (a row without
 * edges is a cluster of its own); col_cluster[j] is the cluster of column
 * j, SIZE_MAX for a column without edges. Returns 0, or -1 when out of
 * memory (or an edge is out of range). */
int bia__assign_clusters(size_t nr, size_t nc, const struct bia__assign_edge *e, size_t ne,
			 size_t *row_cluster /* OUT: nr */, size_t *col_cluster /* OUT: nc */,
			 size_t *pk /* OUT */);

/* The ISBI 2012 assignment: each row is given a distinct column through
 * one of its edges, or its own private dummy (cost dummy[i]), minimising
 * the sum of the costs. Solved cluster by cluster (bia__assign_clusters)
 * with bia__assign_dense on a matrix rows x (cluster columns in increasing
 * order + one dummy per row), non-edges forbidden (BIAFLOWS puts max+1
 * there: same optimum). Duplicate edges keep the smallest cost (the
 * first on equal costs). row_edge[i] = index in e of the edge used by row
 * i, SIZE_MAX when the row takes its dummy. Returns 0; -1 out of memory;
 * -2 bad input (index out of range, cost not finite). */
int bia__assign_sparse(size_t nr, size_t nc, const struct bia__assign_edge *e, size_t ne,
		       const double *dummy, size_t *row_edge /* OUT: nr */);

/* The ObjDet matching (METRICS.md §7) of two point masks: every non-zero
 * voxel a detection; reference and candidate feasible in the same frame
 * at distance < gate; exact minimum-cost assignment per cluster. Counts in
 * *out (sumsq: sum of squared matched distances, for RMSE); when objects
 * is not NULL, appends one record per detection ({"kind": "gt"|"pred",
 * "index", "x", "y", "z", "t", "status": TP|FN|FP, "match_index",
 * "distance"}). ObjDet scores with it; SptCnt uses it for its records.
 * `cls` names the class in messages. */
struct bia__det_counts {
	size_t tp, fn, fp;
	double sumsq;
};
int bia__det_match(struct bia_ctx *ctx, const char *cls, const struct bia_image *pred,
		   const struct bia_image *gt, double gate, json_t *objects,
		   struct bia__det_counts *out);

/* Euclidean distance of two points (x, y, z), computed as
 * sqrt(dx*dx + dy*dy + dz*dz) everywhere so that gates agree exactly. */
static inline double bia__dist3(const double *a, const double *b)
{
	double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
	return sqrt(dx * dx + dy * dy + dz * dz);
}

/* A bucket grid over points (x, y, z, frame) answering "every point of
 * frame t closer than r to q" without looking at all pairs: points are
 * sorted by (t, cell z, cell y, cell x) with cells of side max(r, 1). */
struct bia__pgrid_ent;
struct bia__pgrid {
	size_t n;		    /* points */
	double cell;		    /* cell side */
	double radius;		    /* largest query radius */
	const double *xyz;	    /* 3 per point, not owned */
	struct bia__pgrid_ent *ent; /* malloc'd, sorted */
};

/* Index n points (xyz[3i..3i+2], frame t[i]) for queries of radius <= r
 * (r > 0, not NaN). xyz must outlive the grid. Returns 0, or -1 when out
 * of memory. */
int bia__pgrid_build(struct bia__pgrid *g, const double *xyz, const int64_t *t, size_t n,
		     double r);
void bia__pgrid_release(struct bia__pgrid *g);
/* Call fn(arg, j, d) for every point j of frame t with d = bia__dist3(q, p_j)
 * < r (strict; r <= the build radius), in a fixed order. Stops and returns
 * fn's value as soon as it is non-zero; returns 0 otherwise. */
int bia__pgrid_query(const struct bia__pgrid *g, const double *q, int64_t t, double r,
		     int (*fn)(void *arg, size_t j, double d), void *arg);

/* Indices of the non-zero entries of lab[0..n-1], in increasing order,
 * written to idx (when not NULL); returns their number. Blocks of zeros
 * are skipped 16 entries at a time (label images are mostly background). */
static inline size_t bia__nonzero_u32(const uint32_t *lab, size_t n, size_t *idx)
{
	size_t k = 0, i = 0;
	for (; i + 16 <= n; i += 16) {
		uint32_t o = 0;
		for (size_t j = 0; j < 16; j++)
			o |= lab[i + j];
		if (!o)
			continue;
		for (size_t j = 0; j < 16; j++)
			if (lab[i + j]) {
				if (idx)
					idx[k] = i + j;
				k++;
			}
	}
	for (; i < n; i++)
		if (lab[i]) {
			if (idx)
				idx[k] = i;
			k++;
		}
	return k;
}

/* ------------------------------------------------ label and point helpers
 * (src/metrics/labelops.c; used by ObjSeg, SptCnt, PixCla, LndDet) */

/* Refuse a prediction and a ground truth of different shapes (naming
 * both) or with more than one channel; cls prefixes the message. */
int bia__check_masks(struct bia_ctx *ctx, const char *cls, const struct bia_image *pred,
		     const struct bia_image *gt);

/* One (label in A, label in B) pair of two label arrays and its voxel count. */
struct bia__pair {
	uint32_t a; /* label in the first array */
	uint32_t b; /* label in the second array */
	uint64_t n; /* voxels holding this pair */
};

/* Count every (a[i], b[i]) pair of two label arrays of n voxels in one
 * pass (hash of run-length flushed pairs, never a dense matrix). Arrays
 * are U8, U16 or U32 samples (ta, tb). The pair (0, 0) is included only
 * when with_bg. Result sorted by a, then b; caller frees *ppairs.
 * Returns 0, or -1 when out of memory. */
int bia__pairs_count(const void *a, enum bia_dtype ta, const void *b, enum bia_dtype tb,
		     size_t n, int with_bg, struct bia__pair **ppairs /* OUT */,
		     size_t *pnpairs /* OUT */);

/* The labels of an image without copying when its samples are U8, U16 or
 * U32 (*pdata = img->data); other types are converted and checked by
 * bia_labels_u32 into *powned (caller frees; NULL when not copied). */
int bia__labels_view(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		     const void **pdata /* OUT */, enum bia_dtype *pdtype /* OUT */,
		     uint32_t **powned /* OUT */);

/* Connected components of src != 0 (n = nx*ny*nz samples of type dtype:
 * U8, U16 or U32), full connectivity (8 in 2D, 26 in 3D, as
 * skimage.measure.label), written to lab (n uint32, may be src itself when
 * U32) as 1..ncomp numbered in raster order of each component's first
 * voxel (x fastest). Returns 0, or -1 when out of memory or when there are
 * more than 2^32-2 provisional labels. */
int bia__label_cc(const void *src, enum bia_dtype dtype, uint32_t *lab, size_t nx, size_t ny,
		  size_t nz, uint32_t *pncomp /* OUT */);

/* BIAFLOWS label_image rule (METRICS.md §3.2) from the sorted distinct
 * values of an image (0 included when present): 1 when the image must be
 * replaced by its connected components, i.e. unless max == 0 or the values
 * are exactly 0..max with max >= 2. */
int bia__needs_relabel(const uint32_t *vals, size_t nvals);

/* Sum of n doubles in numpy's order (pairwise blocks of 8, as add.reduce
 * does for np.sum / np.mean / np.average), so means match numpy bit for bit. */
double bia__np_sum(const double *v, size_t n);

/* Static k-d tree over n points of dim coordinates (dim <= 4), stored
 * row-major in pts (not copied: must outlive the tree). */
struct bia__kdtree {
	const double *pts; /* n * dim coordinates, borrowed */
	size_t n;	   /* points */
	int dim;	   /* coordinates per point */
	size_t *idx;	   /* malloc'd permutation: implicit balanced tree */
	uint8_t *axis;	   /* malloc'd split axis of each node */
};

/* Build; returns 0, or -1 when out of memory. n may be 0. */
int bia__kd_build(struct bia__kdtree *t, const double *pts, size_t n, int dim);
void bia__kd_release(struct bia__kdtree *t);
/* Nearest point to q: its index (the smallest index among equally near
 * points) and squared distance in *pd2; (size_t)-1 and INFINITY when the
 * tree is empty. */
size_t bia__kd_nearest(const struct bia__kdtree *t, const double *q, double *pd2 /* OUT */);
/* Call fn for every point with squared distance < r2 (strict), in no
 * particular order. */
void bia__kd_within(const struct bia__kdtree *t, const double *q, double r2,
		    void (*fn)(void *arg, size_t i, double d2), void *arg);

#endif
