/* The paired comparison of two runs of one problem (`biaflows compare`):
 * per-image differences on the problem's main metric, wins, effect sizes
 * and the Wilcoxon signed-rank test of leaderboard.c.
 * SPDX-License-Identifier: MIT */
#include "bench/bench_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The comparison as JSON: rows from A's best difference to its worst. */
static json_t *compare_json(const struct bia_problem *p, const struct bia_metric_def *md,
			    const struct bia_run *ra, const struct bia_run *rb,
			    const struct bia_image_rec *ims, size_t n, const double *a,
			    const double *b, const struct bia_compare *c)
{
	char la[400], lb[400];
	snprintf(la, sizeof(la), "%s@%s", ra->workflow, ra->version);
	snprintf(lb, sizeof(lb), "%s@%s", rb->workflow, rb->version);
	json_t *rows = json_array();
	for (size_t q = 0; q < c->n_pairs; q++) {
		size_t j = c->order[q];
		json_array_append_new(rows, json_pack("{s:s, s:I, s:o, s:o, s:o}", "stem",
						      ims[j].stem, "image", (json_int_t)ims[j].id,
						      "a", bia_json_real(a[j]), "b",
						      bia_json_real(b[j]), "diff",
						      bia_json_real(c->diff[j])));
	}
	json_t *left = json_array();
	for (size_t j = 0; j < n; j++)
		if (isnan(c->diff[j]))
			json_array_append_new(left, json_string(ims[j].stem));
	json_t *pa = json_loads(ra->params ? ra->params : "{}", 0, NULL);
	json_t *pb = json_loads(rb->params ? rb->params : "{}", 0, NULL);
	int few = c->n_pairs < BIA_LB_MIN_IMAGES;
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:{s:I, s:s, s:o}, s:{s:I, s:s, s:o}, s:I, s:I, s:I, s:I, s:I, "
		"s:o, s:o, s:o, s:o, s:{s:o, s:o, s:s}, s:o, s:o}",
		"problem", p->name, "metric", md->code, "direction",
		md->higher_is_better ? "higher" : "lower", "a", "run", (json_int_t)ra->id, "entry",
		la, "params", pa ? pa : json_object(), "b", "run", (json_int_t)rb->id, "entry", lb,
		"params", pb ? pb : json_object(), "n_pairs", (json_int_t)c->n_pairs, "n_left_out",
		(json_int_t)c->n_nan, "wins", (json_int_t)c->wins, "ties", (json_int_t)c->ties,
		"losses", (json_int_t)c->losses, "mean_diff", bia_json_real(c->mean_diff),
		"median_diff", bia_json_real(c->median_diff), "cohen_dz",
		bia_json_real(c->cohen_dz), "rank_biserial", bia_json_real(c->rank_biserial),
		"wilcoxon", "statistic", few ? json_null() : bia_json_real(c->w.statistic),
		"pvalue", few ? json_null() : bia_json_real(c->w.pvalue), "method",
		c->w.exact ? "exact" : "normal", "images", rows, "left_out", left);
	json_object_set_new(o, "too_few_images", json_boolean(few));
	if (few) {
		char note[160];
		bia__bench_too_few_note(c->n_pairs, note, sizeof(note));
		json_object_set_new(o, "note", json_string(note));
	}
	return o;
}

int bia_compare_runs_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_compare_request *req,
			  const struct bia_bench_hooks *hooks, json_t **pout)
{
	*pout = NULL;
	struct bia_run ra, rb;
	if (bia_store_run_get(ctx, inst, req->run_a, &ra))
		return ctx->rc;
	if (bia_store_run_get(ctx, inst, req->run_b, &rb)) {
		bia_run_release(&ra);
		return ctx->rc;
	}
	int rc = 0;
	struct bia_problem p;
	int have_p = 0;
	struct bia_image_rec *ims = NULL;
	size_t n = 0;
	double *a = NULL, *b = NULL;
	struct bia_compare c;
	memset(&c, 0, sizeof(c));
	if (ra.problem_id != rb.problem_id) {
		rc = bia_fail(ctx, BIA_EINVAL, "runs %lld and %lld are on different problems ('%s', "
			      "'%s')", (long long)ra.id, (long long)rb.id, ra.problem, rb.problem);
		goto out;
	}
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)ra.problem_id);
	if ((rc = bia_problem_get(ctx, inst, pid_s, &p)))
		goto out;
	have_p = 1;
	const struct bia_metric_def *md = bia__bench_pick_metric(ctx, &p, req->metric,
								 req->bad_request);
	if (!md) {
		rc = ctx->rc;
		goto out;
	}
	if ((rc = bia_run_select_images(ctx, inst, &p, NULL, 0, &ims, &n)))
		goto out;
	a = bia_malloc2(n, sizeof(double));
	b = bia_malloc2(n, sizeof(double));
	if (!a || !b) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = bia__bench_run_values(ctx, inst, hooks, ra.id, ims, n, md->code, a)) ||
	    (rc = bia__bench_run_values(ctx, inst, hooks, rb.id, ims, n, md->code, b)) ||
	    (rc = bia_compare_pair(ctx, a, b, n, md->higher_is_better, &c)))
		goto out;
	*pout = compare_json(&p, md, &ra, &rb, ims, n, a, b, &c);
	if (!*pout)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
out:
	bia_compare_release(&c);
	free(a);
	free(b);
	free(ims);
	if (have_p)
		bia_problem_release(&p);
	bia_run_release(&ra);
	bia_run_release(&rb);
	return rc;
}
