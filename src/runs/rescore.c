/* Rescoring: a run's outputs scored again against the current ground truth
 * (after `gt add`) or by a newer metric library; the scores they replace
 * stay in run_score_history (DESIGN.md §12, docs/benchmarks.md).
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The current GT version id of an image, 0 if none. */
static int current_gt_id(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			 int64_t *pid)
{
	struct bia_gt_version *gv = NULL;
	size_t ng = 0;
	*pid = 0;
	if (bia_gt_list(ctx, inst, image_id, &gv, &ng))
		return ctx->rc;
	for (size_t i = 0; i < ng; i++)
		if (gv[i].current)
			*pid = gv[i].id;
	for (size_t i = 0; i < ng; i++)
		bia_gt_version_release(&gv[i]);
	free(gv);
	return 0;
}

/* Is this image's scoring stale: another GT version than the current one,
 * or another metric library version (or no score at all)? */
static int image_stale(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_image *ri, int *pstale)
{
	int64_t cur;
	*pstale = 0;
	if (current_gt_id(ctx, inst, ri->image_id, &cur))
		return ctx->rc;
	if (!cur)
		return 0; /* no GT any more: nothing to score against */
	if (!ri->nscores) {
		*pstale = 1;
		return 0;
	}
	for (size_t k = 0; k < ri->nscores; k++)
		if (ri->scores[k].gt_version_id != cur ||
		    strcmp(ri->scores[k].metrics_version, BIA_METRICS_VERSION))
			*pstale = 1;
	return 0;
}

int bia_run_stale(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		  size_t *pnstale)
{
	struct bia_run_image *ri;
	size_t nri;
	*pnstale = 0;
	if (bia_store_run_images(ctx, inst, run_id, &ri, &nri))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; !rc && i < nri; i++) {
		int st;
		rc = image_stale(ctx, inst, &ri[i], &st);
		*pnstale += (size_t)st;
	}
	bia_run_images_free(ri, nri);
	return rc;
}

/* Mean of the finite values of `metric` over a run's images (NaN: none). */
static double metric_mean(const struct bia_run_image *ri, size_t nri, const char *metric)
{
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; i < nri; i++)
		for (size_t k = 0; k < ri[i].nscores; k++)
			if (!strcmp(ri[i].scores[k].metric, metric) && isfinite(ri[i].scores[k].value)) {
				sum += ri[i].scores[k].value;
				n++;
			}
	return n ? sum / (double)n : NAN;
}

/* Paths of a stored output's files: the prediction, and ObjTrk's tracks. */
static void output_paths(struct bia_instance *inst, enum bia_class cls,
			 const struct bia_run_image *ri, char p1[BIA_PATH_MAX],
			 char p2[BIA_PATH_MAX])
{
	p1[0] = p2[0] = '\0';
	for (size_t k = 0; k < ri->nfiles; k++) {
		const char *ext = strrchr(ri->files[k].name, '.');
		int tracks = cls == BIA_OBJTRK && ext && !strcmp(ext, ".txt");
		bia_blob_path(inst, ri->files[k].digest, tracks ? p2 : p1, BIA_PATH_MAX);
	}
}

int bia_run_rescore(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		    int only_stale, json_t **preport)
{
	*preport = NULL;
	struct bia_run r;
	if (bia_store_run_get(ctx, inst, run_id, &r))
		return ctx->rc;
	struct bia_problem p;
	if (bia_problem_get_id(ctx, inst, r.problem_id, &p)) {
		bia_run_release(&r);
		return ctx->rc;
	}
	int rc = 0;
	struct bia_run_image *ri = NULL;
	size_t nri = 0, nstale = 0, ndone = 0;
	struct bia_image_rec *ims = NULL;
	const char *main_metric = p.main_metric[0] ? p.main_metric : bia_metric_main(p.cls);
	if (r.state != BIA_RUN_SUCCEEDED) {
		rc = bia_fail(ctx, BIA_EINVAL, "run %lld is %s: only a succeeded run is rescored",
			      (long long)run_id, bia_run_state_name(r.state));
		goto out;
	}
	if ((rc = bia_store_run_images(ctx, inst, run_id, &ri, &nri)))
		goto out;
	double before = metric_mean(ri, nri, main_metric);
	struct bia_metric_params mp;
	bia__runs_problem_params(&p, &mp, -1);
	for (size_t i = 0; !rc && i < nri; i++) {
		int st;
		if ((rc = image_stale(ctx, inst, &ri[i], &st)))
			break;
		nstale += (size_t)st;
		if (only_stale && !st)
			continue;
		struct bia_run_image nr;
		memset(&nr, 0, sizeof(nr));
		nr.image_id = ri[i].image_id;
		char p1[BIA_PATH_MAX], p2[BIA_PATH_MAX];
		output_paths(inst, p.cls, &ri[i], p1, p2);
		int ok = !strcmp(ri[i].status, "ok") && p1[0];
		if (!(rc = bia__runs_score_image(ctx, inst, p.cls, &mp, ok, p1, p2, &nr)))
			rc = bia_store_run_rescore_put(ctx, inst, run_id, &nr);
		bia_run_image_release(&nr);
		if (rc)
			bia_fail_prefix(ctx, "run %lld: image '%s'", (long long)run_id, ri[i].stem);
		else
			ndone++;
	}
	if (rc)
		goto out;
	/* the run now records the library version and the dataset digest (GT
	 * digests included) it is scored with */
	if (ndone) {
		ims = bia_calloc(nri + 1, sizeof(*ims));
		for (size_t i = 0; !rc && ims && i < nri; i++)
			rc = bia_store_image_get(ctx, inst, ri[i].image_id, &ims[i]);
		if (!ims)
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		if (!rc)
			rc = bia__runs_dataset_digest(ctx, inst, ims, nri, r.dataset_digest);
		snprintf(r.metrics_version, sizeof(r.metrics_version), "%s", BIA_METRICS_VERSION);
		int done;
		if (!rc)
			rc = bia_run_transition(ctx, inst, &r, BIA_RUN_SUCCEEDED, &done);
		if (rc)
			goto out;
	}
	bia_run_images_free(ri, nri);
	ri = NULL;
	if (ndone && (rc = bia_run_summarize(ctx, inst, run_id)))
		goto out;
	if ((rc = bia_store_run_images(ctx, inst, run_id, &ri, &nri)))
		goto out;
	double after = metric_mean(ri, nri, main_metric);
	char wf[400];
	snprintf(wf, sizeof(wf), "%s@%s", r.workflow, r.version);
	*preport = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:o, s:o}", "run",
			     (json_int_t)run_id, "workflow", wf, "problem", p.name, "images",
			     (json_int_t)nri, "stale_images", (json_int_t)nstale, "rescored_images",
			     (json_int_t)ndone, "main_metric", main_metric, "before",
			     bia_json_real(before), "after", bia_json_real(after));
	if (!*preport)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
out:
	free(ims);
	bia_run_images_free(ri, nri);
	bia_problem_release(&p);
	bia_run_release(&r);
	return rc;
}

int bia_problem_rescore(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_problem *p, int only_stale, json_t **preport)
{
	*preport = NULL;
	struct bia_run *v = NULL;
	size_t n = 0;
	struct bia_run_filter f = {.problem_id = p->id, .status = "succeeded"};
	if (bia_store_run_list(ctx, inst, &f, (struct bia_page){0, 0}, &v, &n, NULL))
		return ctx->rc;
	json_t *arr = json_array();
	int rc = arr ? 0 : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		if (v[i].state != BIA_RUN_SUCCEEDED)
			continue;
		if (only_stale) {
			size_t ns;
			if ((rc = bia_run_stale(ctx, inst, v[i].id, &ns)))
				break;
			if (!ns)
				continue;
		}
		json_t *one;
		if (!(rc = bia_run_rescore(ctx, inst, v[i].id, only_stale, &one)))
			json_array_append_new(arr, one);
	}
	bia_run_list_free(v, n);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*preport = arr;
	return 0;
}
