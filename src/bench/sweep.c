/* Parameter sweeps (`biaflows sweep`): the grid of settings, one run of
 * each (reused when it exists), their leaderboard and the settings that
 * failed.
 * SPDX-License-Identifier: MIT */
#include "bench/bench_int.h"
#include "workflow/workflow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bia_sweep_param_parse(const char *spec, struct bia_sweep_param *out)
{
	memset(out, 0, sizeof(*out));
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(out->name))
		return BIA_EINVAL;
	snprintf(out->name, sizeof(out->name), "%.*s", (int)(eq - spec), spec);
	const char *v = eq + 1;
	char **vals = NULL;
	size_t n = 0;
	double a, b, st;
	char tail;
	if (sscanf(v, "%lf:%lf:%lf%c", &a, &b, &st, &tail) == 3) {
		if (!(st > 0) || !(b >= a) || !isfinite(a) || !isfinite(b) ||
		    (b - a) / st >= BIA_SWEEP_MAX)
			return BIA_ELIMIT;
		size_t m = (size_t)floor((b - a) / st + 1e-9) + 1;
		vals = bia_calloc(m, sizeof(char *));
		if (!vals)
			return BIA_ENOMEM;
		for (size_t i = 0; i < m; i++) {
			char buf[64];
			double x = a + (double)i * st;
			if (fabs(x) < 1e-12 * (fabs(st) + fabs(a)))
				x = 0;
			snprintf(buf, sizeof(buf), "%.10g", x);
			vals[n++] = bia_strdup(buf);
		}
	} else {
		char *copy = bia_strdup(v);
		if (!copy)
			return BIA_ENOMEM;
		size_t m = 1;
		for (const char *c = v; *c; c++)
			m += *c == ',';
		vals = bia_calloc(m, sizeof(char *));
		char *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); vals && tok;
		     tok = strtok_r(NULL, ",", &save))
			vals[n++] = bia_strdup(tok);
		if (!n && vals)
			vals[n++] = bia_strdup("");
		free(copy);
	}
	out->values = vals;
	out->nvalues = n;
	return n ? 0 : BIA_ENOMEM;
}

void bia_sweep_param_release(struct bia_sweep_param *p)
{
	for (size_t j = 0; j < p->nvalues; j++)
		free(p->values[j]);
	free(p->values);
	p->values = NULL;
	p->nvalues = 0;
}

/* The parameters of every setting, values equal by the parameter's type
 * being one setting ("1,1.0" is one value of a Number). *ptotal: the number
 * of settings. */
static int make_grid(struct bia_ctx *ctx, struct bia_instance *inst,
		     const struct bia_sweep_request *req, struct bia_sweep_param *g,
		     size_t *ptotal, int *bad)
{
	size_t total = 1;
	for (size_t i = 0; i < req->nparams; i++) {
		int r = bia_sweep_param_parse(req->params[i], &g[i]);
		if (r) {
			*bad = 1;
			return bia_fail(ctx, r == BIA_ELIMIT ? BIA_EINVAL : r,
					r == BIA_ELIMIT ? "bad range in '%s' (A:B:STEP with A <= B, "
							  "STEP > 0, at most 1000 values)"
							: "bad parameter sweep '%s' (NAME=A:B:STEP or "
							  "NAME=V1,V2,...)",
					req->params[i]);
		}
		total *= g[i].nvalues;
		if (total > BIA_SWEEP_MAX) {
			*bad = 1;
			return bia_fail(ctx, BIA_EINVAL, "the grid has more than %d settings",
					BIA_SWEEP_MAX);
		}
	}
	struct bia_descriptor d;
	if (bia_workflow_descriptor(ctx, inst, req->workflow, &d) == 0) {
		total = 1;
		for (size_t i = 0; i < req->nparams; i++) {
			const struct bia_wf_param *wp = bia_descriptor_param(&d, g[i].name);
			size_t m = 0;
			for (size_t j = 0; j < g[i].nvalues; j++) {
				int dup = 0;
				for (size_t q = 0; q < m && !dup; q++)
					dup = wp ? bia_wf_same_value(wp, g[i].values[q], g[i].values[j])
						 : !strcmp(g[i].values[q], g[i].values[j]);
				if (dup)
					free(g[i].values[j]);
				else
					g[i].values[m++] = g[i].values[j];
			}
			g[i].nvalues = m;
			total *= m;
		}
		bia_descriptor_release(&d);
	}
	bia_ctx_clear(ctx);
	*ptotal = total;
	return 0;
}

/* Setting g of the grid: "name=value" of each swept parameter, the last
 * parameter varying fastest. */
static void setting_params(const struct bia_sweep_param *gp, size_t np, size_t g,
			   struct bia__bench_setting *s)
{
	s->params = bia_calloc(np, sizeof(char *));
	s->nparams = np;
	size_t rest = g;
	for (size_t i = np; i-- > 0;) {
		size_t vi = rest % gp[i].nvalues;
		rest /= gp[i].nvalues;
		size_t len = strlen(gp[i].name) + strlen(gp[i].values[vi]) + 2;
		char *kv = malloc(len);
		if (kv)
			snprintf(kv, len, "%s=%s", gp[i].name, gp[i].values[vi]);
		if (s->params)
			s->params[i] = kv;
		else
			free(kv);
	}
}

/* The settings that did not succeed: {params, run, status, reason}. */
static json_t *failed_json(const struct bia__bench_setting *s, size_t total)
{
	json_t *failed = json_array();
	for (size_t g = 0; g < total; g++) {
		if (!s[g].failed_run)
			continue;
		json_t *pp = json_object();
		for (size_t i = 0; i < s[g].nparams; i++) {
			const char *kv = s[g].params[i], *eq = kv ? strchr(kv, '=') : NULL;
			if (eq) {
				char key[128];
				snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
				json_object_set_new(pp, key, json_string(eq + 1));
			}
		}
		json_array_append_new(failed, json_pack("{s:o, s:I, s:s, s:s}", "params", pp, "run",
							(json_int_t)s[g].failed_run, "status",
							s[g].status, "reason", s[g].why));
	}
	return failed;
}

int bia_sweep_json(struct bia_ctx *ctx, struct bia_instance *inst,
		   const struct bia_sweep_request *req, const struct bia_bench_hooks *hooks,
		   json_t **pout)
{
	*pout = NULL;
	int bad = 0;
	if (req->nparams > BIA_SWEEP_MAX_PARAMS || !req->nparams) {
		if (req->bad_request)
			*req->bad_request = 1;
		return bia_fail(ctx, BIA_EINVAL, "a sweep takes 1 to %d swept parameters",
				BIA_SWEEP_MAX_PARAMS);
	}
	struct bia_sweep_param g[BIA_SWEEP_MAX_PARAMS];
	memset(g, 0, sizeof(g));
	size_t total = 0;
	int rc = make_grid(ctx, inst, req, g, &total, &bad);
	struct bia_problem p;
	int have_p = 0;
	struct bia_image_rec *ims = NULL;
	size_t nims = 0;
	struct bia__bench_setting *s = NULL;
	struct bia__bench_entry *e = NULL;
	size_t k = 0;
	int64_t *ids = NULL;
	if (rc || (rc = bia_problem_get(ctx, inst, req->problem, &p)))
		goto out;
	have_p = 1;
	s = bia_calloc(total, sizeof(*s));
	ids = bia_calloc(total, sizeof(int64_t));
	const struct bia_metric_def *md = bia__bench_pick_metric(ctx, &p, req->metric, &bad);
	if (!md) {
		rc = ctx->rc;
		goto out;
	}
	if (!s || !ids) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = bia_run_select_images(ctx, inst, &p, req->images, req->nimages, &ims, &nims)))
		goto out;
	for (size_t i = 0; i < total; i++) {
		s[i].workflow = req->workflow;
		setting_params(g, req->nparams, i, &s[i]);
	}
	if ((rc = bia__bench_run_missing(ctx, inst, hooks, &p, s, total, ims, nims, 1)))
		goto out;
	size_t nids = 0;
	for (size_t i = 0; i < total; i++)
		if (s[i].run_id)
			ids[nids++] = s[i].run_id;
	if ((rc = bia__bench_collect(ctx, inst, &p, NULL, 0, ids, nids, &e, &k)))
		goto out;
	if (nids < total)
		bia__bench_note(hooks, BIA_BENCH_NOTICE, "%zu of %zu settings have no succeeded run",
				total - nids, total);
	json_t *failed = failed_json(s, total);
	if (k) {
		rc = bia__bench_board_json(ctx, inst, hooks, &p, md, e, k, ims, nims, req->resamples,
					   req->seed, pout);
		if (!rc)
			json_object_set(*pout, "failed_settings", failed);
	} else {
		/* no setting succeeded: still say why each failed */
		*pout = json_pack("{s:s, s:o, s:O}", "problem", p.name, "entries", json_array(),
				  "failed_settings", failed);
	}
	json_decref(failed);
out:
	if (bad && req->bad_request)
		*req->bad_request = 1;
	bia__bench_free_entries(e, k);
	if (s)
		for (size_t i = 0; i < total; i++) {
			for (size_t q = 0; s[i].params && q < s[i].nparams; q++)
				free(s[i].params[q]);
			free(s[i].params);
		}
	free(s);
	free(ids);
	free(ims);
	if (have_p)
		bia_problem_release(&p);
	for (size_t i = 0; i < req->nparams; i++)
		bia_sweep_param_release(&g[i]);
	return rc;
}
