/* LooTrc: filament network tracing on skeleton masks (docs/metrics.md §10):
 * UVR from exact distance transforms, then FNR/FPR with NetMets on the OBJ
 * model BIAFLOWS builds from each skeleton (skan 0.8 pixel graph with
 * merged junction clusters, skan's path walk, skl2obj sampling every third
 * voxel, coordinates truncated to integers).
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PIX_SMP 3 /* skl2obj: keep one voxel in three along a path */
#define SUBDIV 4  /* NetMets: sample spacing = sigma / 4 */

/* The non-zero samples of an image (C = T = 1) as a 0/1 mask. */
static void to_mask(const struct bia_image *img, uint8_t *m, size_t n)
{
	switch (img->dtype) {
	case BIA_U8:
		for (size_t i = 0; i < n; i++)
			m[i] = ((const uint8_t *)img->data)[i] != 0;
		break;
	case BIA_U16:
		for (size_t i = 0; i < n; i++)
			m[i] = ((const uint16_t *)img->data)[i] != 0;
		break;
	case BIA_U32:
		for (size_t i = 0; i < n; i++)
			m[i] = ((const uint32_t *)img->data)[i] != 0;
		break;
	case BIA_I32:
		for (size_t i = 0; i < n; i++)
			m[i] = ((const int32_t *)img->data)[i] != 0;
		break;
	default: /* float: NaN counts as non-zero, as numpy's astype(bool) */
		for (size_t i = 0; i < n; i++)
			m[i] = bia_image_get(img, i) != 0;
		break;
	}
}

/* The skan 0.8 skeleton graph and its paths. Node ids are 1..N, the
 * skeleton voxels in raster (z, y, x) order; a junction cluster is one node
 * (see §10.2); unused ids have no neighbour. */
struct skel {
	size_t nx, ny, nz;
	uint32_t nvox;	  /* N */
	double *coord;	  /* 3*(N+1): z, y, x of each node id */
	size_t *row;	  /* N+2: neighbours of a are nbr[row[a] .. row[a] + deg[a]) */
	uint32_t *nbr;	  /* sorted, distinct */
	uint32_t *deg;	  /* N+1 */
	size_t npaths;
	size_t *pstart;	  /* npaths+1 */
	size_t pscap;	  /* entries allocated in pstart */
	uint32_t *pnode;  /* node ids along the paths */
	size_t plen, pcap;
};

static void skel_release(struct skel *s)
{
	free(s->coord);
	free(s->row);
	free(s->nbr);
	free(s->deg);
	free(s->pstart);
	free(s->pnode);
	memset(s, 0, sizeof(*s));
}

/* The up to 26 in-bounds neighbours of voxel i. */
static int neighbours(const struct skel *s, size_t i, size_t out[26])
{
	size_t x = i % s->nx, y = i / s->nx % s->ny, z = i / (s->nx * s->ny);
	int k = 0;
	for (int dz = -1; dz <= 1; dz++) {
		if ((dz < 0 && z == 0) || (dz > 0 && z + 1 >= s->nz))
			continue;
		for (int dy = -1; dy <= 1; dy++) {
			if ((dy < 0 && y == 0) || (dy > 0 && y + 1 >= s->ny))
				continue;
			for (int dx = -1; dx <= 1; dx++) {
				if ((dx < 0 && x == 0) || (dx > 0 && x + 1 >= s->nx))
					continue;
				if (!dx && !dy && !dz)
					continue;
				out[k++] = (size_t)((long long)i + dx +
						    (long long)s->nx * (dy + (long long)s->ny * dz));
			}
		}
	}
	return k;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int path_push(struct skel *s, uint32_t node)
{
	if (s->plen == s->pcap) {
		size_t nc = s->pcap ? s->pcap * 2 : 256;
		uint32_t *np = realloc(s->pnode, nc * sizeof(uint32_t));
		if (!np)
			return -1;
		s->pnode = np;
		s->pcap = nc;
	}
	s->pnode[s->plen++] = node;
	return 0;
}

/* skan _walk_path: from `node` towards `next` through degree-2 nodes not yet
 * visited; the stop node ends the path. */
static int walk(struct skel *s, uint8_t *visited, uint32_t node, uint32_t next)
{
	if (path_push(s, node))
		return -1;
	uint32_t prev = node, cur = next;
	while (s->deg[cur] == 2 && !visited[cur]) {
		if (path_push(s, cur))
			return -1;
		const uint32_t *nb = s->nbr + s->row[cur];
		uint32_t nn = nb[0] != prev ? nb[0] : nb[1];
		prev = cur;
		cur = nn;
		visited[prev] = 1;
	}
	if (path_push(s, cur))
		return -1;
	visited[cur] = 1;
	if (s->npaths + 2 > s->pscap) {
		size_t nc = s->pscap * 2;
		size_t *ps = realloc(s->pstart, nc * sizeof(size_t));
		if (!ps)
			return -1;
		s->pstart = ps;
		s->pscap = nc;
	}
	s->npaths++;
	s->pstart[s->npaths] = s->plen;
	return 0;
}

/* skan _build_paths */
static int build_paths(struct skel *s)
{
	uint32_t n = s->nvox;
	uint8_t *visited = bia_calloc((size_t)n + 1, 1);
	s->pscap = 64;
	s->pstart = malloc(s->pscap * sizeof(size_t));
	if (!visited || !s->pstart) {
		free(visited);
		return -1;
	}
	s->pstart[0] = 0;
	int rc = 0;
	for (uint32_t a = 1; a <= n && !rc; a++) {
		if (s->deg[a] > 2 || (s->deg[a] == 1 && !visited[a])) {
			for (uint32_t k = 0; k < s->deg[a] && !rc; k++) {
				uint32_t b = s->nbr[s->row[a] + k];
				if (!visited[b]) {
					rc = walk(s, visited, a, b);
					visited[a] = 1;
				}
			}
		}
	}
	/* what is left lies on isolated cycles */
	for (uint32_t a = 1; a <= n && !rc; a++)
		if (s->deg[a] > 0 && !visited[a]) {
			visited[a] = 1;
			rc = walk(s, visited, a, s->nbr[s->row[a]]);
		}
	free(visited);
	return rc;
}

/* skan 0.8 skeleton_to_csgraph (unique_junctions=True) + paths. */
static int build_skel(struct bia_ctx *ctx, const uint8_t *m, size_t nx, size_t ny, size_t nz,
		      struct skel *s)
{
	memset(s, 0, sizeof(*s));
	s->nx = nx;
	s->ny = ny;
	s->nz = nz;
	size_t nv = nx * ny * nz, n = 0;
	for (size_t i = 0; i < nv; i++)
		n += m[i];
	if (n >= UINT32_MAX - 1)
		return bia_fail(ctx, BIA_ELIMIT, "skeleton of %zu voxels is too large", n);
	s->nvox = (uint32_t)n;
	uint32_t *vid = bia_calloc(nv, sizeof(uint32_t)); /* voxel -> raster id, 0 = none */
	size_t *vox = bia_malloc2(n + 1, sizeof(size_t));   /* raster id -> voxel */
	uint32_t *node = bia_malloc2(n + 1, sizeof(uint32_t)); /* raster id -> node id */
	uint32_t *lab = bia_calloc(n + 1, sizeof(uint32_t));   /* junction cluster */
	uint32_t *queue = bia_malloc2(n + 1, sizeof(uint32_t));
	uint32_t *cnt = bia_calloc(n + 2, sizeof(uint32_t));
	s->coord = bia_calloc(n + 1, 3 * sizeof(double));
	s->deg = bia_calloc(n + 1, sizeof(uint32_t));
	s->row = bia_calloc(n + 2, sizeof(size_t));
	uint32_t *jid = NULL;
	double *csum = NULL;
	size_t nb[26];
	int rc = 0;
	if (!vid || !vox || !node || !lab || !queue || !cnt || !s->coord || !s->deg || !s->row)
		goto nomem;
	uint32_t k = 0;
	for (size_t i = 0; i < nv; i++)
		if (m[i]) {
			vid[i] = ++k;
			vox[k] = i;
			node[k] = k;
			s->coord[3 * k] = (double)(i / (nx * ny));
			s->coord[3 * k + 1] = (double)(i / nx % ny);
			s->coord[3 * k + 2] = (double)(i % nx);
		}
	/* pixel degree (full 3x3x3 neighbourhood); junctions have degree > 2 */
	size_t njunc = 0;
	for (k = 1; k <= n; k++) {
		int c = neighbours(s, vox[k], nb), d = 0;
		for (int j = 0; j < c; j++)
			d += m[nb[j]];
		cnt[k] = d > 2; /* reused below */
		njunc += d > 2;
	}
	/* junction clusters (26-connected), labelled in raster order of their
	 * first voxel as scipy.ndimage.label; cluster L takes the id of the
	 * L-th junction voxel in raster order (skan's quirk) and sits at the
	 * centroid of its voxels */
	jid = bia_malloc2(njunc + 1, sizeof(uint32_t));
	csum = bia_calloc(njunc + 1, 4 * sizeof(double));
	if (!jid || !csum)
		goto nomem;
	uint32_t nl = 0, nj = 0;
	for (k = 1; k <= n; k++) {
		if (!cnt[k])
			continue;
		jid[++nj] = k;
		if (lab[k])
			continue;
		lab[k] = ++nl;
		size_t qh = 0, qt = 0;
		queue[qt++] = k;
		while (qh < qt) {
			uint32_t a = queue[qh++];
			double *cs = csum + 4 * nl;
			cs[0] += s->coord[3 * a];
			cs[1] += s->coord[3 * a + 1];
			cs[2] += s->coord[3 * a + 2];
			cs[3] += 1;
			int c = neighbours(s, vox[a], nb);
			for (int j = 0; j < c; j++) {
				uint32_t b = vid[nb[j]];
				if (b && cnt[b] && !lab[b]) {
					lab[b] = nl;
					queue[qt++] = b;
				}
			}
		}
	}
	for (k = 1; k <= n; k++)
		if (lab[k])
			node[k] = jid[lab[k]];
	for (uint32_t l = 1; l <= nl; l++) {
		const double *cs = csum + 4 * l;
		double *c = s->coord + 3 * (size_t)jid[l];
		c[0] = cs[0] / cs[3];
		c[1] = cs[1] / cs[3];
		c[2] = cs[2] / cs[3];
	}
	/* edges between 26-adjacent voxels of different nodes, as a CSR
	 * adjacency with sorted distinct neighbours */
	memset(cnt, 0, (n + 2) * sizeof(uint32_t));
	for (k = 1; k <= n; k++) {
		int c = neighbours(s, vox[k], nb);
		for (int j = 0; j < c; j++) {
			uint32_t b = vid[nb[j]];
			if (b && node[b] != node[k])
				cnt[node[k]]++;
		}
	}
	size_t tot = 0;
	for (k = 1; k <= n; k++) {
		s->row[k] = tot;
		tot += cnt[k];
	}
	s->row[n + 1] = tot;
	s->nbr = bia_malloc2(tot ? tot : 1, sizeof(uint32_t));
	if (!s->nbr)
		goto nomem;
	memset(cnt, 0, (n + 2) * sizeof(uint32_t));
	for (k = 1; k <= n; k++) {
		int c = neighbours(s, vox[k], nb);
		uint32_t a = node[k];
		for (int j = 0; j < c; j++) {
			uint32_t b = vid[nb[j]];
			if (b && node[b] != a)
				s->nbr[s->row[a] + cnt[a]++] = node[b];
		}
	}
	for (k = 1; k <= n; k++) {
		uint32_t *r = s->nbr + s->row[k], c = cnt[k], d = 0;
		if (c > 1)
			qsort(r, c, sizeof(uint32_t), cmp_u32);
		for (uint32_t j = 0; j < c; j++)
			if (!d || r[j] != r[d - 1])
				r[d++] = r[j];
		s->deg[k] = d;
	}
	if (build_paths(s))
		goto nomem;
	goto done;
nomem:
	rc = bia_fail(ctx, BIA_ENOMEM, "out of memory building the skeleton graph");
	skel_release(s);
done:
	free(vid);
	free(vox);
	free(node);
	free(lab);
	free(queue);
	free(cnt);
	free(jid);
	free(csum);
	return rc;
}

/* skl2obj: a path of L nodes becomes nv = max(1 + floor(L/3), 2) OBJ
 * vertices; vertex k is path node 0, L-1 (last) or, in between,
 * round_half_even(k (L-1) / (nv-1)) as numpy's np.round. */
static size_t path_nverts(size_t L)
{
	size_t nn = 1 + L / PIX_SMP;
	return nn < 2 ? 2 : nn;
}

static size_t path_vert(size_t L, size_t k, size_t nv)
{
	if (k == 0)
		return 0;
	if (k + 1 >= nv)
		return L - 1;
	return (size_t)rint((double)(k * (L - 1)) / (double)(nv - 1));
}

/* OBJ vertex (x, y, z*ZRatio) of a node, truncated to int as skl2obj's
 * integer array does (ZRatio = 1). */
static void obj_vertex(const struct skel *s, uint32_t id, double out[3])
{
	const double *c = s->coord + 3 * (size_t)id;
	out[0] = trunc(c[2]);
	out[1] = trunc(c[1]);
	out[2] = trunc(c[0]);
}

/* skl2obj + NetMets sampling: one cloud group per skan path. */
static int skel_cloud(struct bia_ctx *ctx, const struct skel *s, double spacing,
		      struct bia__cloud *c)
{
	for (size_t p = 0; p < s->npaths; p++) {
		const uint32_t *pn = s->pnode + s->pstart[p];
		size_t L = s->pstart[p + 1] - s->pstart[p], nv = path_nverts(L);
		double v0[3], v1[3], end[3];
		obj_vertex(s, pn[0], v0);
		obj_vertex(s, pn[L - 1], end);
		int rc = bia__cloud_group(ctx, c, v0, end, pn[0], pn[L - 1]);
		for (size_t k = 1; k < nv && !rc; k++) {
			obj_vertex(s, pn[path_vert(L, k, nv)], v1);
			rc = bia__cloud_segment(ctx, c, v0, v1, spacing);
			memcpy(v0, v1, sizeof(v0));
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Add the OBJ polyline of each path to its record (r->objects[base + p]). */
static void add_vertices(struct bia_metric_result *r, size_t base, const struct skel *s)
{
	for (size_t p = 0; p < s->npaths; p++) {
		json_t *rec = json_array_get(r->objects, base + p);
		if (!rec)
			return;
		const uint32_t *pn = s->pnode + s->pstart[p];
		size_t L = s->pstart[p + 1] - s->pstart[p], nv = path_nverts(L);
		json_t *a = json_array();
		for (size_t k = 0; k < nv; k++) {
			double v[3];
			obj_vertex(s, pn[path_vert(L, k, nv)], v);
			json_array_append_new(a, json_pack("[III]", (json_int_t)v[0], (json_int_t)v[1],
							   (json_int_t)v[2]));
		}
		json_object_set_new(rec, "voxels", json_integer((json_int_t)L));
		json_object_set_new(rec, "vertices", a);
	}
}

int bia__metrics_lootrc(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	const struct bia_image *P = in->pred, *G = in->gt;
	double gd = p->gating_dist;
	if (!(gd > 0) || !isfinite(gd))
		return bia_fail(ctx, BIA_EINVAL, "LooTrc: gating_dist must be a positive number");
	if (!P || !G || !P->data || !G->data)
		return bia_fail(ctx, BIA_EINVAL, "LooTrc needs prediction and ground-truth images");
	if (P->x != G->x || P->y != G->y || P->z != G->z || P->c != G->c || P->t != G->t) {
		char a[128], b[128];
		bia_image_shape_str(P, a, sizeof(a));
		bia_image_shape_str(G, b, sizeof(b));
		return bia_fail(ctx, BIA_ESHAPE,
				"LooTrc: prediction is %s but ground truth is %s", a, b);
	}
	if (G->t != 1 || G->c != 1) {
		char b[128];
		bia_image_shape_str(G, b, sizeof(b));
		return bia_fail(ctx, BIA_ESHAPE,
				"LooTrc needs single-channel skeleton masks with one time frame "
				"(T = 1, C = 1), not %s",
				b);
	}
	size_t nx = G->x, ny = G->y, nz = G->z, nv = nx * ny * nz;
	uint8_t *mp = bia_malloc2(nv, 1), *mg = bia_malloc2(nv, 1);
	float *dp = bia_malloc2(nv, sizeof(float)), *dg = bia_malloc2(nv, sizeof(float));
	struct skel sg, sp;
	struct bia__cloud cg, cp;
	struct bia__netmets nm;
	memset(&sg, 0, sizeof(sg));
	memset(&sp, 0, sizeof(sp));
	memset(&nm, 0, sizeof(nm));
	bia__cloud_init(&cg);
	bia__cloud_init(&cp);
	int rc = 0;
	if (!mp || !mg || !dp || !dg) {
		rc = bia_fail(ctx, BIA_ENOMEM, "LooTrc: out of memory");
		goto out;
	}
	to_mask(P, mp, nv);
	to_mask(G, mg, nv);

	/* UVR: voxels of either skeleton farther than gd from the other */
	if (bia_edt_sq(mp, nx, ny, nz, dp) || bia_edt_sq(mg, nx, ny, nz, dg)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "LooTrc: out of memory");
		goto out;
	}
	size_t nu = 0, far = 0;
	for (size_t i = 0; i < nv; i++)
		if (mp[i] | mg[i]) {
			nu++;
			far += sqrt((double)dp[i]) > gd; /* as scipy: distance > gd */
			far += sqrt((double)dg[i]) > gd;
		}
	double uvr = nu ? (double)far / (2.0 * (double)nu) : NAN;
	free(dp);
	free(dg);
	dp = dg = NULL;

	/* FNR, FPR: NetMets on the OBJ models of both skeletons */
	rc = build_skel(ctx, mg, nx, ny, nz, &sg);
	if (!rc)
		rc = build_skel(ctx, mp, nx, ny, nz, &sp);
	if (!rc)
		rc = skel_cloud(ctx, &sg, gd / SUBDIV, &cg);
	if (!rc)
		rc = skel_cloud(ctx, &sp, gd / SUBDIV, &cp);
	if (!rc)
		rc = bia__netmets(ctx, &cg, &cp, gd, &nm);
	if (rc) {
		bia_fail_prefix(ctx, "LooTrc");
		goto out;
	}
	bia_metric_set(r, "UVR", uvr);
	bia_metric_set(r, "FNR", nm.fnr);
	bia_metric_set(r, "FPR", nm.fpr);
	bia_metric_set(r, "F1", bia__netmets_f1(nm.fnr, nm.fpr));
	json_object_set_new(r->params, "GATING_DIST", bia__json_param(gd));
	json_object_set_new(r->params, "PIX_SMP", bia__json_param(PIX_SMP));
	json_object_set_new(r->params, "SIGMA", bia__json_param(gd));
	json_object_set_new(r->params, "SUBDIV", bia__json_param(SUBDIV));
	if (nz == 1)
		bia_metric_deviation(r, "LooTrc/2D: accepted as one Z plane");
	if (cg.n == 0 && cp.n == 0) {
		bia_metric_deviation(r, "LooTrc/empty: no skeleton path in either mask: FNR = FPR = NaN");
		bia_metric_warn(r, "LooTrc: neither mask has a skeleton path (FNR and FPR are NaN%s)",
				nu ? "" : ", UVR too");
	} else if (cp.n == 0) {
		bia_metric_deviation(r, "LooTrc/empty prediction: FNR = 1, FPR = NaN");
		bia_metric_warn(r, "LooTrc: the prediction has no skeleton path (FPR is NaN)");
	} else if (cg.n == 0) {
		bia_metric_deviation(r, "LooTrc/empty ground truth: FNR = NaN, FPR = 1");
		bia_metric_warn(r, "LooTrc: the ground truth has no skeleton path (FNR is NaN)");
	}
	if (r->objects) {
		size_t base = json_array_size(r->objects);
		bia__netmets_objects(r, &cg, nm.gt_close, 1, 0);
		add_vertices(r, base, &sg);
		base = json_array_size(r->objects);
		bia__netmets_objects(r, &cp, nm.pred_close, 0, 0);
		add_vertices(r, base, &sp);
	}
out:
	bia__netmets_release(&nm);
	bia__cloud_release(&cg);
	bia__cloud_release(&cp);
	skel_release(&sg);
	skel_release(&sp);
	free(mp);
	free(mg);
	free(dp);
	free(dg);
	return rc;
}
