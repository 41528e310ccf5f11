/* Reruns (`biaflows rerun`): a run repeated from its record, and its
 * reproduction verdict (judged by src/runs, bia_run_reproduction).
 * SPDX-License-Identifier: MIT */
#include "bench/bench_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bia_rerun_enqueue(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      double tolerance, const struct bia_bench_hooks *hooks, int64_t *pnew)
{
	*pnew = 0;
	struct bia_run o;
	if (bia_store_run_get(ctx, inst, id, &o))
		return ctx->rc;
	int rc = 0;
	char **params = NULL, **images = NULL;
	size_t np = 0, ni = 0;
	json_t *pj = json_loads(o.params ? o.params : "{}", 0, NULL);
	json_t *ij = json_loads(o.images ? o.images : "[]", 0, NULL);
	if (!bia_run_state_final(o.state)) {
		rc = bia_fail(ctx, BIA_EINVAL, "run %lld is %s: rerun a run that has ended",
			      (long long)id, bia_run_state_name(o.state));
		goto out;
	}
	params = bia_calloc(json_object_size(pj) + 1, sizeof(char *));
	images = bia_calloc(json_array_size(ij) + 1, sizeof(char *));
	if (!params || !images) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	/* the recorded values ("id=value") and images (by id) */
	const char *key;
	json_t *val;
	json_object_foreach(pj, key, val)
	{
		const char *sv = json_is_string(val) ? json_string_value(val) : "";
		size_t len = strlen(key) + strlen(sv) + 2;
		if ((params[np] = malloc(len)))
			snprintf(params[np++], len, "%s=%s", key, sv);
	}
	size_t i;
	json_array_foreach(ij, i, val)
	{
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(val));
		images[ni++] = bia_strdup(buf);
	}
	char wf[400], pid_s[32];
	snprintf(wf, sizeof(wf), "%s@%s", o.workflow, o.version);
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)o.problem_id);
	struct bia_run_request req;
	memset(&req, 0, sizeof(req));
	req.workflow = wf;
	req.problem = pid_s;
	req.params = (const char *const *)params;
	req.nparams = np;
	req.images = (const char *const *)images;
	req.nimages = ni;
	bia_run_overrides_parse(o.limits, &req.limits);
	req.rerun_of = id;
	req.tolerance = tolerance;
	if ((rc = bia_run_enqueue(ctx, inst, &req, pnew)))
		goto out;
	bia__bench_note(hooks, BIA_BENCH_QUEUED, "queued run %lld: a rerun of run %lld (%s)",
			(long long)*pnew, (long long)id, wf);
	if (hooks && hooks->start_worker)
		rc = hooks->start_worker(hooks->user, ctx);
out:
	for (size_t q = 0; params && q < np; q++)
		free(params[q]);
	for (size_t q = 0; images && q < ni; q++)
		free(images[q]);
	free(params);
	free(images);
	json_decref(pj);
	json_decref(ij);
	bia_run_release(&o);
	return rc;
}

int bia_rerun_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, json_t **pout)
{
	*pout = NULL;
	struct bia_run r;
	if (bia_store_run_get(ctx, inst, id, &r))
		return ctx->rc;
	/* the worker judges a rerun when it ends; judge it here if it could not */
	if (!r.verdict[0]) {
		bia_run_release(&r);
		if (bia_run_reproduction(ctx, inst, id, NULL) || bia_store_run_get(ctx, inst, id, &r))
			return ctx->rc;
	}
	json_t *det = json_loads(r.verdict_detail, 0, NULL);
	*pout = json_pack("{s:I, s:I, s:s, s:s, s:o, s:o}", "run", (json_int_t)id, "rerun_of",
			  (json_int_t)r.rerun_of, "status", bia_run_state_name(r.state),
			  "reproduction", r.verdict, "tolerance", json_real(r.tolerance), "detail",
			  det ? det : json_object());
	bia_run_release(&r);
	if (!*pout)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	return 0;
}
