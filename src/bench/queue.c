/* The runs a benchmark needs: reuse a succeeded (or pending) run of each
 * (workflow version, parameters) setting on the images, queue the missing
 * ones, have them executed and wait for them.
 * SPDX-License-Identifier: MIT */
#include "bench/bench_int.h"
#include "workflow/workflow.h"

#include <stdlib.h>
#include <string.h>

/* Does the run cover every image of the selection? */
static int covers(const struct bia_run *r, const struct bia_image_rec *ims, size_t n)
{
	json_t *a = json_loads(r->images ? r->images : "[]", 0, NULL);
	size_t hit = 0;
	for (size_t j = 0; j < n; j++) {
		size_t i;
		json_t *x;
		json_array_foreach(a, i, x) if (json_integer_value(x) == ims[j].id)
		{
			hit++;
			break;
		}
	}
	json_decref(a);
	return hit == n;
}

/* Same setting: values equal by the parameters' types ("1" and "1.0" of a
 * Number are one setting), else as JSON. */
static int same_setting(const struct bia_descriptor *d, const char *a, const char *b)
{
	json_t *x = json_loads(a ? a : "{}", 0, NULL), *y = json_loads(b ? b : "{}", 0, NULL);
	int eq = x && y && (d ? bia_descriptor_values_equal(d, x, y) : json_equal(x, y));
	json_decref(x);
	json_decref(y);
	return eq;
}

/* A run of (version, params) on the problem: the latest succeeded one
 * covering the images (*pfound 1), else one still queued or running
 * (*pfound 2), else none. */
static void find_run(struct bia_run *runs, size_t nruns, int64_t version_id, const char *params,
		     const struct bia_descriptor *d, const struct bia_image_rec *ims, size_t n,
		     int64_t *pid, int *pfound)
{
	*pfound = 0;
	*pid = 0;
	for (size_t i = nruns; i-- > 0;) {
		struct bia_run *r = &runs[i];
		if (r->workflow_version_id != version_id || !same_setting(d, r->params, params) ||
		    !covers(r, ims, n))
			continue;
		if (r->state == BIA_RUN_SUCCEEDED) {
			*pid = r->id;
			*pfound = 1;
			return;
		}
		if (!bia_run_state_final(r->state) && !*pfound) {
			*pid = r->id;
			*pfound = 2;
		}
	}
}

/* Have the queued runs executed and wait for them. */
static int execute(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_bench_hooks *h,
		   const int64_t *ids, size_t n)
{
	int rc = h && h->start_worker ? h->start_worker(h->user, ctx) : 0;
	if (rc)
		return rc;
	if (h && h->wait)
		return h->wait(h->user, ctx, ids, n);
	return bia_runs_wait(ctx, inst, ids, n, NULL);
}

int bia__bench_run_missing(struct bia_ctx *ctx, struct bia_instance *inst,
			   const struct bia_bench_hooks *h, const struct bia_problem *p,
			   struct bia__bench_setting *s, size_t ns,
			   const struct bia_image_rec *ims, size_t nims, int may_run)
{
	struct bia_run *runs;
	size_t nruns;
	if (bia_store_run_list(ctx, inst, &(struct bia_run_filter){.problem_id = p->id},
			       (struct bia_page){0, 0}, &runs, &nruns, NULL))
		return ctx->rc;
	int64_t *wait = bia_calloc(ns + 1, sizeof(int64_t));
	size_t nwait = 0;
	int rc = wait ? 0 : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	const char **stems = bia_calloc(nims + 1, sizeof(char *));
	if (!stems)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t j = 0; j < nims && !rc; j++)
		stems[j] = ims[j].stem;
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)p->id);
	struct bia_run_request req;
	memset(&req, 0, sizeof(req));
	req.problem = pid_s;
	req.images = stems;
	req.nimages = nims;
	/* pass 0 checks every setting that must be queued, pass 1 queues them:
	 * a refused setting queues nothing */
	for (int pass = 0; pass < 2 && !rc; pass++) {
		for (size_t i = 0; i < ns && !rc; i++) {
			char *pj;
			int64_t vid;
			int found;
			if ((rc = bia_run_resolve_params(ctx, inst, s[i].workflow,
							 (const char *const *)s[i].params,
							 s[i].nparams, &pj, &vid)))
				break;
			struct bia_descriptor d;
			int have_d = bia_workflow_descriptor(ctx, inst, s[i].workflow, &d) == 0;
			bia_ctx_clear(ctx);
			find_run(runs, nruns, vid, pj, have_d ? &d : NULL, ims, nims, &s[i].run_id,
				 &found);
			if (have_d)
				bia_descriptor_release(&d);
			free(pj);
			if (pass == 1 && found == 2)
				wait[nwait++] = s[i].run_id;
			if (found || !may_run)
				continue;
			req.workflow = s[i].workflow;
			req.params = (const char *const *)s[i].params;
			req.nparams = s[i].nparams;
			req.dry_run = pass == 0;
			if ((rc = bia_run_enqueue(ctx, inst, &req, &s[i].run_id)))
				break;
			if (pass == 0)
				continue;
			bia__bench_note(h, BIA_BENCH_QUEUED, "queued run %lld: %s on '%s'",
					(long long)s[i].run_id, s[i].workflow, p->name);
			wait[nwait++] = s[i].run_id;
		}
	}
	bia_run_list_free(runs, nruns);
	free(stems);
	if (!rc && nwait)
		rc = execute(ctx, inst, h, wait, nwait);
	for (size_t i = 0; i < nwait && !rc; i++) {
		struct bia_run r;
		if ((rc = bia_store_run_get(ctx, inst, wait[i], &r)))
			break;
		if (r.state != BIA_RUN_SUCCEEDED) {
			bia__bench_note(h, BIA_BENCH_NOTICE, "run %lld (%s@%s) %s: %s",
					(long long)r.id, r.workflow, r.version,
					bia_run_state_name(r.state), r.reason ? r.reason : "");
			for (size_t k = 0; k < ns; k++)
				if (s[k].run_id == r.id) {
					s[k].run_id = 0;
					s[k].failed_run = r.id;
					snprintf(s[k].status, sizeof(s[k].status), "%s",
						 bia_run_state_name(r.state));
					bia_run_failure_line(inst, r.id, r.reason, s[k].why,
							     sizeof(s[k].why));
				}
		}
		bia_run_release(&r);
	}
	free(wait);
	return rc;
}
