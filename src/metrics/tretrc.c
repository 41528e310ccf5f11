/* TreTrc: filament tree tracing, NetMets TFNR/TFPR of two SWC trees
 * (docs/metrics.md §9, §10.3).
 *
 * BIAFLOWS converts each SWC file to OBJ with the raw ids as vertex
 * indices (right only for ids 1..N) and never links node id 1; we link
 * every node to its parent by id (decision 10) and say so in "deviations"
 * whenever that changes the result. One NetMets edge per link, sampled from
 * the child to the parent, links in increasing child id (BIAFLOWS' order).
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct id_pos {
	int64_t id;
	size_t pos; /* index in the node array */
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_pos *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct id_pos *find(const struct id_pos *s, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (s[m].id < id)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < n && s[lo].id == id ? &s[lo] : NULL;
}

/* What differs from BIAFLOWS' reading of a tree. */
struct tree_diff {
	int ids_not_1n;	   /* ids are not exactly 1..N */
	int node1_linked;  /* ids 1..N and node 1 has a parent (BIAFLOWS drops it) */
	int odd_root;	   /* a negative parent other than -1 */
};

static int tree_cloud(struct bia_ctx *ctx, const char *what, const struct bia_swc *t,
		      double spacing, struct bia__cloud *c, struct tree_diff *df)
{
	memset(df, 0, sizeof(*df));
	if (t->n == 0)
		return 0;
	if (!t->nodes)
		return bia_fail(ctx, BIA_EINVAL, "%s tree has %zu nodes but no node array", what,
				t->n);
	struct id_pos *s = bia_malloc2(t->n, sizeof(*s));
	if (!s)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory reading the %s tree", what);
	for (size_t i = 0; i < t->n; i++) {
		const struct bia_swc_node *nd = &t->nodes[i];
		if (!isfinite(nd->x) || !isfinite(nd->y) || !isfinite(nd->z)) {
			free(s);
			return bia_fail(ctx, BIA_EINVAL, "%s tree: node %lld has a non-finite position",
					what, (long long)nd->id);
		}
		s[i].id = nd->id;
		s[i].pos = i;
	}
	qsort(s, t->n, sizeof(*s), cmp_id);
	for (size_t i = 0; i < t->n; i++) {
		if (i && s[i].id == s[i - 1].id) {
			int64_t id = s[i].id;
			free(s);
			return bia_fail(ctx, BIA_EINVAL, "%s tree: duplicate node id %lld", what,
					(long long)id);
		}
		if (s[i].id != (int64_t)i + 1)
			df->ids_not_1n = 1;
	}
	int rc = 0;
	for (size_t i = 0; i < t->n && !rc; i++) {
		const struct bia_swc_node *nd = &t->nodes[s[i].pos];
		if (nd->parent < 0) {
			if (nd->parent != -1)
				df->odd_root = 1;
			continue;
		}
		const struct id_pos *pp = find(s, t->n, nd->parent);
		if (!pp) {
			rc = bia_fail(ctx, BIA_EINVAL, "%s tree: parent %lld of node %lld does not exist",
				      what, (long long)nd->parent, (long long)nd->id);
			break;
		}
		if (nd->id == 1)
			df->node1_linked = 1;
		const struct bia_swc_node *pa = &t->nodes[pp->pos];
		double a[3] = {nd->x, nd->y, nd->z}, b[3] = {pa->x, pa->y, pa->z};
		rc = bia__cloud_group(ctx, c, a, b, nd->id, pa->id);
		if (!rc)
			rc = bia__cloud_segment(ctx, c, a, b, spacing);
	}
	free(s);
	return rc;
}

int bia__metrics_tretrc(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	const double subdiv = 4;
	double sigma = p->gating_dist;
	if (!(sigma > 0) || !isfinite(sigma))
		return bia_fail(ctx, BIA_EINVAL, "TreTrc: gating_dist must be a positive number");
	if (!in->pred_swc || !in->gt_swc)
		return bia_fail(ctx, BIA_EINVAL, "TreTrc needs SWC prediction and ground truth");
	struct bia__cloud gt, pred;
	struct tree_diff dg, dp;
	bia__cloud_init(&gt);
	bia__cloud_init(&pred);
	int rc = tree_cloud(ctx, "ground-truth", in->gt_swc, sigma / subdiv, &gt, &dg);
	if (!rc)
		rc = tree_cloud(ctx, "predicted", in->pred_swc, sigma / subdiv, &pred, &dp);
	struct bia__netmets nm;
	if (!rc)
		rc = bia__netmets(ctx, &gt, &pred, sigma, &nm);
	if (rc) {
		bia_fail_prefix(ctx, "TreTrc");
		bia__cloud_release(&gt);
		bia__cloud_release(&pred);
		return rc;
	}
	bia_metric_set(r, "TFNR", nm.fnr);
	bia_metric_set(r, "TFPR", nm.fpr);
	bia_metric_set(r, "TF1", bia__netmets_f1(nm.fnr, nm.fpr));
	json_object_set_new(r->params, "GATING_DIST", bia__json_param(sigma));
	json_object_set_new(r->params, "TSIGMA", bia__json_param(sigma));
	json_object_set_new(r->params, "TSUBDIV", bia__json_param(subdiv));
	if (dg.ids_not_1n || dp.ids_not_1n)
		bia_metric_deviation(r, "TreTrc/SWC ids: nodes linked to their parents by id "
					"(ids are not 1..N)");
	if (dg.node1_linked || dp.node1_linked)
		bia_metric_deviation(r, "TreTrc/SWC node 1: its link to its parent is kept");
	if (dg.odd_root || dp.odd_root)
		bia_metric_deviation(r, "TreTrc/SWC roots: a negative parent other than -1 is a root");
	if (gt.n == 0 && pred.n == 0) {
		bia_metric_deviation(r, "TreTrc/empty: no link in either tree: TFNR = TFPR = NaN");
		bia_metric_warn(r, "TreTrc: neither tree has a link (TFNR and TFPR are NaN)");
	} else if (pred.n == 0) {
		bia_metric_deviation(r, "TreTrc/empty prediction: TFNR = 1, TFPR = NaN");
		bia_metric_warn(r, "TreTrc: the predicted tree has no link (TFPR is NaN)");
	} else if (gt.n == 0) {
		bia_metric_deviation(r, "TreTrc/empty ground truth: TFNR = NaN, TFPR = 1");
		bia_metric_warn(r, "TreTrc: the ground-truth tree has no link (TFNR is NaN)");
	}
	bia__netmets_objects(r, &gt, nm.gt_close, 1, 1);
	bia__netmets_objects(r, &pred, nm.pred_close, 0, 1);
	bia__netmets_release(&nm);
	bia__cloud_release(&gt);
	bia__cloud_release(&pred);
	return 0;
}
