/* Problem settings that need the metric library: the main metric.
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <string.h>

int bia_problem_choose_main_metric(struct bia_ctx *ctx, struct bia_instance *inst,
				   struct bia_problem *p, const char *metric)
{
	const char *m = !strcmp(metric, "default") ? "" : metric;
	if (m[0] && !bia_metric_find(p->cls, m)) {
		size_t nm;
		const struct bia_metric_def *defs = bia_metric_class(p->cls, &nm);
		char list[512] = "";
		for (size_t i = 0; i < nm; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", defs[i].code);
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a metric of %s (one of %s)", m,
				bia_class_code(p->cls), list);
	}
	if (bia_problem_set_main_metric(ctx, inst, p->id, m))
		return ctx->rc;
	snprintf(p->main_metric, sizeof(p->main_metric), "%s", m);
	return 0;
}

json_t *bia_problem_json(const struct bia_problem *p)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "id", (json_int_t)p->id, "name",
			      p->name, "class", bia_class_code(p->cls), "description",
			      p->description ? p->description : "", "images",
			      (json_int_t)p->n_images, "created_at", p->created);
	json_object_set_new(o, "main_metric",
			    p->main_metric[0] ? json_string(p->main_metric) : json_null());
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	json_t *params = p->params ? bia_json_parse(&tmp, "params", p->params, strlen(p->params))
				   : NULL;
	json_object_set_new(o, "params", params ? params : json_object());
	json_object_set_new(o, "private", json_boolean(p->private_));
	return o;
}

/* The best succeeded run of a problem on its main metric (the mean over
 * its images; the direction of the metric): {"run", "workflow", "metric",
 * "mean"}, or null when nothing has succeeded. */
static int problem_best(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_problem *p,
			json_t **pout)
{
	struct bia_run_filter f;
	memset(&f, 0, sizeof(f));
	f.problem_id = p->id;
	f.status = "succeeded";
	json_t *best = NULL;
	double bv = 0;
	int hib = 1;
	for (struct bia_page pg = {BIA_PAGE_MAX, 0};; pg.offset += BIA_PAGE_MAX) {
		json_t *rows;
		int64_t total;
		if (bia_runs_list_json(ctx, inst, &f, pg, &rows, &total)) {
			json_decref(best);
			return ctx->rc;
		}
		size_t i;
		json_t *r;
		json_array_foreach(rows, i, r) {
			json_t *m = json_object_get(r, "mean");
			if (!json_is_number(m))
				continue;
			double x = json_number_value(m);
			if (!best) {
				const struct bia_metric_def *d =
					bia_metric_find(p->cls, bia_json_str(r, "main_metric", ""));
				hib = !d || d->higher_is_better;
			} else if (hib ? !(x > bv) : !(x < bv)) {
				continue;
			}
			json_decref(best);
			best = json_pack("{s:O, s:O, s:O, s:f}", "run", json_object_get(r, "id"),
					 "workflow", json_object_get(r, "workflow"), "metric",
					 json_object_get(r, "main_metric"), "mean", x);
			bv = x;
		}
		json_decref(rows);
		if (pg.offset + BIA_PAGE_MAX >= total)
			break;
	}
	*pout = best ? best : json_null();
	return 0;
}

int bia_problems_list_json(struct bia_ctx *ctx, struct bia_instance *inst,
			   const struct bia_viewer *viewer, struct bia_page page, json_t **pout,
			   int64_t *ptotal)
{
	struct bia_problem *v;
	size_t n;
	*pout = NULL;
	if (bia_problem_list_view(ctx, inst, viewer, page, &v, &n, ptotal))
		return ctx->rc;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = bia_problem_json(&v[i]), *best = NULL;
		if (problem_best(ctx, inst, &v[i], &best)) {
			json_decref(o);
			json_decref(rows);
			bia_problem_list_free(v, n);
			return ctx->rc;
		}
		json_object_set_new(o, "best", best);
		json_array_append_new(rows, o);
	}
	bia_problem_list_free(v, n);
	*pout = rows;
	return 0;
}

json_t *bia_problem_show_json(const struct bia_problem *p)
{
	json_t *j = bia_problem_json(p);
	json_object_set_new(j, "class_name", json_string(bia_class_name(p->cls)));
	return j;
}
