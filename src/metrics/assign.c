/* Exact minimum-cost assignment, the cluster decomposition of the ISBI 2012
 * particle-tracking scorers, and a bucket grid to find feasible pairs.
 *
 * The ISBI 2012 scorers (DetectionPerformance, TrackingPerformance; see
 * docs/metrics.md §7, §8) pair every reference with a candidate or with a
 * private dummy, minimising the total cost. They split the problem into
 * clusters of references linked by shared feasible candidates and solve
 * each with the Munkres algorithm on a rows x (candidates + dummies) matrix
 * whose infeasible entries are max+1. Any infeasible entry can be traded
 * for the row's own dummy at a lower cost, so the optimum never uses one;
 * we mark them +INFINITY instead and solve each cluster exactly.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ dense */

/* Workspace of the dense solver for nr rows and nc columns, one block. */
struct dense_ws {
	double *u, *v, *minv;  /* potentials of rows and columns; Dijkstra labels */
	size_t *p, *way;       /* row of column j (0 = free); previous column */
	unsigned char *used;   /* column in the tree */
	void *block;
	size_t cap_r, cap_c;   /* sizes the block holds */
};

static int add_size(size_t a, size_t b, size_t *out)
{
	*out = a + b;
	return *out < a ? -1 : 0;
}

static int ws_reserve(struct dense_ws *w, size_t nr, size_t nc)
{
	if (w->block && nr <= w->cap_r && nc <= w->cap_c)
		return 0;
	size_t r1, c1, c2, nd, bd, bs, off_s, off_u, bytes;
	if (add_size(nr, 1, &r1) || add_size(nc, 1, &c1) || bia_mul_size(2, c1, &c2) ||
	    add_size(r1, c2, &nd) || bia_mul_size(nd, sizeof(double), &bd) ||
	    bia_mul_size(c2, sizeof(size_t), &bs) || add_size(bd, bs, &off_u) ||
	    add_size(off_u, c1, &bytes))
		return -1;
	off_s = bd;
	free(w->block);
	w->block = malloc(bytes);
	if (!w->block) {
		w->cap_r = w->cap_c = 0;
		return -1;
	}
	char *b = w->block;
	w->u = (double *)b;
	w->v = w->u + r1;
	w->minv = w->v + c1;
	w->p = (size_t *)(b + off_s);
	w->way = w->p + c1;
	w->used = (unsigned char *)(b + off_u);
	w->cap_r = nr;
	w->cap_c = nc;
	return 0;
}

/* Shortest augmenting paths with row/column potentials: rows are added one
 * at a time; each step grows a Dijkstra tree over the columns with reduced
 * costs c(i,j) - u(i) - v(j) >= 0 until a free column is reached, then
 * flips the path. 1-based arrays; column 0 is the virtual root. The cost
 * matrix is checked by the callers. */
static int dense_solve(size_t nr, size_t nc, const double *cost, size_t *row_col,
		       struct dense_ws *w)
{
	if (ws_reserve(w, nr, nc))
		return -1;
	double *u = w->u, *v = w->v, *minv = w->minv;
	size_t *p = w->p, *way = w->way;
	unsigned char *used = w->used;
	memset(u, 0, (nr + 1) * sizeof(double));
	memset(v, 0, (nc + 1) * sizeof(double));
	memset(p, 0, (nc + 1) * sizeof(size_t));
	memset(way, 0, (nc + 1) * sizeof(size_t));
	for (size_t i = 1; i <= nr; i++) {
		p[0] = i;
		size_t j0 = 0;
		for (size_t j = 0; j <= nc; j++) {
			minv[j] = INFINITY;
			used[j] = 0;
		}
		do {
			used[j0] = 1;
			size_t i0 = p[j0], j1 = 0;
			double delta = INFINITY;
			const double *row = cost + (i0 - 1) * nc;
			for (size_t j = 1; j <= nc; j++) {
				if (used[j])
					continue;
				double cur = row[j - 1] - u[i0] - v[j];
				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			if (j1 == 0) /* every remaining column is forbidden */
				return -2;
			for (size_t j = 0; j <= nc; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		do { /* flip the augmenting path */
			size_t j1 = way[j0];
			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
	for (size_t j = 1; j <= nc; j++)
		if (p[j])
			row_col[p[j] - 1] = j - 1;
	return 0;
}

int bia__assign_dense(size_t nr, size_t nc, const double *cost, size_t *row_col)
{
	if (nr == 0)
		return 0;
	if (nr > nc)
		return -2;
	size_t ncost;
	if (bia_mul_size(nr, nc, &ncost))
		return -2;
	for (size_t k = 0; k < ncost; k++)
		if (isnan(cost[k]) || cost[k] == -INFINITY)
			return -2;
	struct dense_ws w = {0};
	int rc = dense_solve(nr, nc, cost, row_col, &w);
	free(w.block);
	return rc;
}

/* ------------------------------------------------------------ clusters */

static size_t uf_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]]; /* path halving */
		x = parent[x];
	}
	return x;
}

int bia__assign_clusters(size_t nr, size_t nc, const struct bia__assign_edge *e, size_t ne,
			 size_t *row_cluster, size_t *col_cluster, size_t *pk)
{
	*pk = 0;
	size_t nn = nr + nc;
	if (nn < nr)
		return -1;
	size_t *parent = bia_malloc2(nn ? nn : 1, sizeof(size_t));
	size_t *label = bia_malloc2(nn ? nn : 1, sizeof(size_t));
	if (!parent || !label) {
		free(parent);
		free(label);
		return -1;
	}
	for (size_t i = 0; i < nn; i++) {
		parent[i] = i;
		label[i] = SIZE_MAX;
	}
	for (size_t k = 0; k < ne; k++) {
		if (e[k].row >= nr || e[k].col >= nc) {
			free(parent);
			free(label);
			return -1;
		}
		size_t a = uf_find(parent, e[k].row), b = uf_find(parent, nr + e[k].col);
		if (a != b) { /* the smaller node stays root */
			if (a < b)
				parent[b] = a;
			else
				parent[a] = b;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < nr; i++) {
		size_t root = uf_find(parent, i);
		if (label[root] == SIZE_MAX)
			label[root] = k++;
		row_cluster[i] = label[root];
	}
	/* a column with an edge shares its root with a row; others keep MAX */
	for (size_t j = 0; j < nc; j++)
		col_cluster[j] = label[uf_find(parent, nr + j)];
	*pk = k;
	free(parent);
	free(label);
	return 0;
}

/* ------------------------------------------------------------ sparse */

int bia__assign_sparse(size_t nr, size_t nc, const struct bia__assign_edge *e, size_t ne,
		       const double *dummy, size_t *row_edge)
{
	for (size_t i = 0; i < nr; i++) {
		row_edge[i] = SIZE_MAX;
		if (!isfinite(dummy[i]))
			return -2;
	}
	for (size_t k = 0; k < ne; k++)
		if (e[k].row >= nr || e[k].col >= nc || !isfinite(e[k].cost))
			return -2;
	if (nr == 0 || ne == 0)
		return 0;

	int rc = -1;
	size_t ncl = 0;
	size_t *rcl = bia_malloc2(nr, sizeof(size_t));
	size_t *ccl = bia_malloc2(nc, sizeof(size_t));
	size_t *loc_r = bia_malloc2(nr, sizeof(size_t)); /* local index in its cluster */
	size_t *loc_c = bia_malloc2(nc, sizeof(size_t));
	size_t *rows = bia_malloc2(nr, sizeof(size_t)); /* rows grouped by cluster */
	size_t *edges = bia_malloc2(ne, sizeof(size_t)); /* edges grouped by cluster */
	size_t *ccount = NULL, *rstart = NULL, *estart = NULL, *fill = NULL;
	double *mat = NULL;
	size_t *eidx = NULL, *sol = NULL;
	struct dense_ws ws = {0};
	if (!rcl || !ccl || !loc_r || !loc_c || !rows || !edges)
		goto out;
	if (bia__assign_clusters(nr, nc, e, ne, rcl, ccl, &ncl))
		goto out;
	ccount = bia_calloc(ncl, sizeof(size_t));
	rstart = bia_calloc(ncl + 1, sizeof(size_t));
	estart = bia_calloc(ncl + 1, sizeof(size_t));
	fill = bia_calloc(ncl, sizeof(size_t));
	if (!ccount || !rstart || !estart || !fill)
		goto out;
	/* local indices: rows and columns in increasing global order */
	for (size_t i = 0; i < nr; i++)
		loc_r[i] = rstart[rcl[i] + 1]++;
	for (size_t j = 0; j < nc; j++)
		if (ccl[j] != SIZE_MAX)
			loc_c[j] = ccount[ccl[j]]++;
	for (size_t q = 0; q < ncl; q++)
		rstart[q + 1] += rstart[q];
	for (size_t i = 0; i < nr; i++)
		rows[rstart[rcl[i]] + loc_r[i]] = i;
	for (size_t k = 0; k < ne; k++)
		estart[rcl[e[k].row] + 1]++;
	for (size_t q = 0; q < ncl; q++)
		estart[q + 1] += estart[q];
	for (size_t k = 0; k < ne; k++) {
		size_t q = rcl[e[k].row];
		edges[estart[q] + fill[q]++] = k;
	}

	size_t cap_mat = 0, cap_e = 0, cap_sol = 0;
	for (size_t q = 0; q < ncl; q++) {
		size_t kr = rstart[q + 1] - rstart[q], kc = ccount[q];
		if (kc == 0)
			continue; /* rows without edges: dummies */
		size_t m = kc + kr, nmat, ne_q;
		if (bia_mul_size(kr, m, &nmat) || bia_mul_size(kr, kc, &ne_q))
			goto out;
		if (nmat > cap_mat) {
			free(mat);
			mat = bia_malloc2(nmat, sizeof(double));
			cap_mat = mat ? nmat : 0;
		}
		if (ne_q > cap_e) {
			free(eidx);
			eidx = bia_malloc2(ne_q, sizeof(size_t));
			cap_e = eidx ? ne_q : 0;
		}
		if (kr > cap_sol) {
			free(sol);
			sol = bia_malloc2(kr, sizeof(size_t));
			cap_sol = sol ? kr : 0;
		}
		if (!mat || !eidx || !sol)
			goto out;
		for (size_t x = 0; x < nmat; x++)
			mat[x] = INFINITY;
		for (size_t x = 0; x < ne_q; x++)
			eidx[x] = SIZE_MAX;
		for (size_t x = estart[q]; x < estart[q + 1]; x++) {
			const struct bia__assign_edge *ed = &e[edges[x]];
			size_t li = loc_r[ed->row], lj = loc_c[ed->col];
			if (ed->cost < mat[li * m + lj]) { /* duplicates: smallest, first */
				mat[li * m + lj] = ed->cost;
				eidx[li * kc + lj] = edges[x];
			}
		}
		for (size_t li = 0; li < kr; li++)
			mat[li * m + kc + li] = dummy[rows[rstart[q] + li]];
		int r = dense_solve(kr, m, mat, sol, &ws);
		if (r) {
			rc = r;
			goto out;
		}
		for (size_t li = 0; li < kr; li++)
			if (sol[li] < kc)
				row_edge[rows[rstart[q] + li]] = eidx[li * kc + sol[li]];
	}
	rc = 0;
out:
	free(rcl);
	free(ccl);
	free(loc_r);
	free(loc_c);
	free(rows);
	free(edges);
	free(ccount);
	free(rstart);
	free(estart);
	free(fill);
	free(mat);
	free(eidx);
	free(sol);
	free(ws.block);
	return rc;
}

/* ------------------------------------------------------------ grid */

struct bia__pgrid_ent {
	int64_t t, cz, cy, cx; /* frame and cell */
	size_t j;	       /* point */
};

static int64_t cell_of(double v, double cell)
{
	double f = floor(v / cell);
	if (!(f > -4e18)) /* also NaN */
		return INT64_C(-4000000000000000000);
	if (f > 4e18)
		return INT64_C(4000000000000000000);
	return (int64_t)f;
}

static int ent_cmp_key(const struct bia__pgrid_ent *a, int64_t t, int64_t cz, int64_t cy,
		       int64_t cx)
{
	if (a->t != t)
		return a->t < t ? -1 : 1;
	if (a->cz != cz)
		return a->cz < cz ? -1 : 1;
	if (a->cy != cy)
		return a->cy < cy ? -1 : 1;
	if (a->cx != cx)
		return a->cx < cx ? -1 : 1;
	return 0;
}

static int ent_cmp(const void *pa, const void *pb)
{
	const struct bia__pgrid_ent *a = pa, *b = pb;
	int c = ent_cmp_key(a, b->t, b->cz, b->cy, b->cx);
	if (c)
		return c;
	return a->j < b->j ? -1 : a->j > b->j;
}

int bia__pgrid_build(struct bia__pgrid *g, const double *xyz, const int64_t *t, size_t n,
		     double r)
{
	memset(g, 0, sizeof(*g));
	g->n = n;
	g->xyz = xyz;
	g->radius = r;
	g->cell = r > 1 ? r : 1; /* any cell >= r works; >= 1 keeps indices small */
	g->ent = bia_malloc2(n ? n : 1, sizeof(*g->ent));
	if (!g->ent)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct bia__pgrid_ent *en = &g->ent[i];
		en->t = t[i];
		en->cx = cell_of(xyz[3 * i], g->cell);
		en->cy = cell_of(xyz[3 * i + 1], g->cell);
		en->cz = cell_of(xyz[3 * i + 2], g->cell);
		en->j = i;
	}
	qsort(g->ent, n, sizeof(*g->ent), ent_cmp);
	return 0;
}

void bia__pgrid_release(struct bia__pgrid *g)
{
	free(g->ent);
	memset(g, 0, sizeof(*g));
}

/* First entry not below the key. */
static size_t lower_bound(const struct bia__pgrid *g, int64_t t, int64_t cz, int64_t cy,
			  int64_t cx)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ent_cmp_key(&g->ent[mid], t, cz, cy, cx) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bia__pgrid_query(const struct bia__pgrid *g, const double *q, int64_t t, double r,
		     int (*fn)(void *arg, size_t j, double d), void *arg)
{
	if (!g->n || !(r > 0))
		return 0;
	if (r > g->radius)
		BIA_BUG("grid query radius %g above the build radius %g", r, g->radius);
	int64_t cx = cell_of(q[0], g->cell), cy = cell_of(q[1], g->cell),
		cz = cell_of(q[2], g->cell);
	for (int64_t dz = -1; dz <= 1; dz++)
		for (int64_t dy = -1; dy <= 1; dy++) {
			/* cells cx-1..cx+1 of one (t, z, y) row are contiguous */
			size_t k = lower_bound(g, t, cz + dz, cy + dy, cx - 1);
			for (; k < g->n; k++) {
				const struct bia__pgrid_ent *en = &g->ent[k];
				if (en->t != t || en->cz != cz + dz || en->cy != cy + dy ||
				    en->cx > cx + 1)
					break;
				double d = bia__dist3(q, g->xyz + 3 * en->j);
				if (d < r) {
					int s = fn(arg, en->j, d);
					if (s)
						return s;
				}
			}
		}
	return 0;
}
