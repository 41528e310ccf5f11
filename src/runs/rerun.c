/* Reruns and their verdict; the parameters a run would record.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs/runs.h"
#include "workflow/workflow.h"

int bia_run_resolve_params(struct bia_ctx *ctx, struct bia_instance *inst,
			   const char *workflow, const char *const *params, size_t nparams,
			   char **pjson, int64_t *pversion_id)
{
	*pjson = NULL;
	struct bia_wf_version v;
	if (bia_workflow_get(ctx, inst, workflow, &v))
		return ctx->rc;
	struct bia_descriptor d;
	json_t *values = NULL;
	int rc = bia_descriptor_parse(ctx, "descriptor.json", v.descriptor, strlen(v.descriptor),
				      &d);
	if (!rc) {
		rc = bia_descriptor_resolve(ctx, &d, params, nparams, &values);
		bia_descriptor_release(&d);
	}
	if (!rc) {
		*pjson = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
		*pversion_id = v.id;
		if (!*pjson)
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	json_decref(values);
	bia_wf_version_release(&v);
	return rc;
}

static const struct bia_run_image *find_image(const struct bia_run_image *v, size_t n,
					      int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].image_id == id)
			return &v[i];
	return NULL;
}

static int same_outputs(const struct bia_run_image *a, const struct bia_run_image *b)
{
	if (a->nfiles != b->nfiles || strcmp(a->status, b->status))
		return 0;
	for (size_t k = 0; k < a->nfiles; k++)
		if (strcmp(a->files[k].name, b->files[k].name) ||
		    strcmp(a->files[k].digest, b->files[k].digest))
			return 0;
	return 1;
}

int bia_run_reproduction(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 char *verdict)
{
	struct bia_run r, o;
	if (verdict)
		verdict[0] = '\0';
	if (bia_store_run_get(ctx, inst, id, &r))
		return ctx->rc;
	if (!r.rerun_of || !bia_run_state_final(r.state)) {
		bia_run_release(&r);
		return 0;
	}
	if (bia_store_run_get(ctx, inst, r.rerun_of, &o)) {
		bia_run_release(&r);
		return ctx->rc;
	}
	struct bia_run_image *ra = NULL, *rb = NULL;
	size_t na = 0, nb = 0;
	int rc = 0;
	const char *v = "not-reproduced";
	json_t *det = json_object();
	json_object_set_new(det, "rerun_of", json_integer(r.rerun_of));
	json_object_set_new(det, "tolerance", json_real(r.tolerance));
	if (r.state != BIA_RUN_SUCCEEDED || o.state != BIA_RUN_SUCCEEDED) {
		const struct bia_run *bad = r.state != BIA_RUN_SUCCEEDED ? &r : &o;
		const char *reason = bad->reason ? bad->reason : "";
		char *why = NULL;
		if (asprintf(&why, "%s %s%s%s", bad == &r ? "the rerun" : "the original run",
			     bia_run_state_name(bad->state), reason[0] ? ": " : "", reason) < 0)
			why = NULL;
		json_object_set_new(det, "reason", json_string(why ? why : "out of memory"));
		free(why);
		goto store;
	}
	if (bia_store_run_images(ctx, inst, o.id, &ra, &na) ||
	    bia_store_run_images(ctx, inst, r.id, &rb, &nb)) {
		rc = ctx->rc;
		goto out;
	}
	size_t identical = 0, differing = 0, compared = 0, outside = 0, absent = 0;
	double maxdiff = 0;
	char first[512] = "";
	for (size_t i = 0; i < na; i++) {
		const struct bia_run_image *b = find_image(rb, nb, ra[i].image_id);
		if (!b) {
			absent++;
			continue;
		}
		if (same_outputs(&ra[i], b))
			identical++;
		else
			differing++;
		for (size_t s = 0; s < ra[i].nscores; s++) {
			const struct bia_run_score *sa = &ra[i].scores[s];
			const struct bia_run_score *sb = NULL;
			for (size_t t = 0; t < b->nscores && !sb; t++)
				if (!strcmp(b->scores[t].metric, sa->metric))
					sb = &b->scores[t];
			compared++;
			double x = sa->value, y = sb ? sb->value : NAN;
			int ok;
			if (!sb)
				ok = 0;
			else if (isnan(x) || isnan(y))
				ok = isnan(x) && isnan(y);
			else if (isinf(x) || isinf(y))
				ok = x == y;
			else {
				double d = fabs(x - y);
				if (d > maxdiff)
					maxdiff = d;
				ok = d <= r.tolerance;
			}
			if (!ok) {
				outside++;
				if (!first[0])
					snprintf(first, sizeof(first), "%s %s: %.17g vs %.17g",
						 ra[i].stem, sa->metric, x, y);
			}
		}
	}
	json_object_set_new(det, "images", json_integer((json_int_t)na));
	json_object_set_new(det, "identical_outputs", json_integer((json_int_t)identical));
	json_object_set_new(det, "differing_outputs", json_integer((json_int_t)differing));
	json_object_set_new(det, "images_not_rerun", json_integer((json_int_t)absent));
	json_object_set_new(det, "metrics_compared", json_integer((json_int_t)compared));
	json_object_set_new(det, "metrics_outside_tolerance", json_integer((json_int_t)outside));
	json_object_set_new(det, "max_abs_difference", json_real(maxdiff));
	if (first[0])
		json_object_set_new(det, "first_difference", json_string(first));
	if (!absent && na == nb && identical == na)
		v = "reproduced-exact";
	else if (!absent && na == nb && !outside)
		v = "reproduced-within-tolerance";
store:;
	char *text = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
	rc = text ? bia_store_run_set_verdict(ctx, inst, r.id, v, text)
		  : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	free(text);
	if (!rc && verdict)
		snprintf(verdict, 32, "%s", v);
out:
	json_decref(det);
	bia_run_images_free(ra, na);
	bia_run_images_free(rb, nb);
	bia_run_release(&r);
	bia_run_release(&o);
	return rc;
}
