/* Leaderboards of a problem over the runs of an instance: which runs are
 * entries, their values on the images, the statistics of leaderboard.c
 * and the JSON of `biaflows bench` (docs/benchmarks.md).
 * SPDX-License-Identifier: MIT */
#include "bench/bench_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bia__bench_note(const struct bia_bench_hooks *h, enum bia_bench_note kind,
		     const char *fmt, ...)
{
	if (!h || !h->note)
		return;
	char line[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	h->note(h->user, kind, line);
}

void bia__bench_too_few_note(size_t n, char *out, size_t outsz)
{
	snprintf(out, outsz,
		 "n = %zu: too few images to compare (confidence intervals, rank intervals, "
		 "tests and 'tied' verdicts need at least %d)",
		 n, BIA_LB_MIN_IMAGES);
}

const struct bia_metric_def *bia__bench_pick_metric(struct bia_ctx *ctx,
						    const struct bia_problem *p,
						    const char *want, int *bad)
{
	const char *m = want ? want : p->main_metric[0] ? p->main_metric : bia_metric_main(p->cls);
	const struct bia_metric_def *d = bia_metric_find(p->cls, m);
	if (!d) {
		bia_fail(ctx, BIA_EINVAL, "'%s' is not a metric of %s (see 'biaflows metrics "
			 "--list --class %s')", m, bia_class_code(p->cls), bia_class_code(p->cls));
		if (bad)
			*bad = 1;
	}
	return d;
}

void bia_bench_params_text(const char *json, char *out, size_t outsz)
{
	out[0] = '\0';
	json_t *o = json_loads(json ? json : "{}", 0, NULL);
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val)
	{
		const char *sv = json_is_string(val) ? json_string_value(val) : "?";
		size_t len = strlen(out);
		snprintf(out + len, outsz - len, "%s%s=%s", len ? " " : "", key, sv);
	}
	json_decref(o);
}

void bia_bench_varying_params(const json_t *entries, size_t i, char *out, size_t outsz)
{
	json_t *ei = json_array_get(entries, i);
	const char *label = bia_json_str(ei, "entry", "");
	json_t *keep = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(json_object_get(ei, "params"), key, val)
	{
		int varies = 0;
		for (size_t j = 0; j < json_array_size(entries) && !varies; j++) {
			json_t *ej = json_array_get(entries, j);
			if (j == i || strcmp(bia_json_str(ej, "entry", ""), label))
				continue;
			json_t *o = json_object_get(json_object_get(ej, "params"), key);
			varies = !o || !json_equal(o, val);
		}
		if (varies)
			json_object_set(keep, key, val);
	}
	char *t = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
	bia_bench_params_text(t, out, outsz);
	free(t);
	json_decref(keep);
}

/* Same parameters: equal JSON objects. */
static int same_params(const char *a, const char *b)
{
	json_t *x = json_loads(a ? a : "{}", 0, NULL), *y = json_loads(b ? b : "{}", 0, NULL);
	int eq = x && y && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

int bia__bench_run_values(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_bench_hooks *h, int64_t run_id,
			  const struct bia_image_rec *ims, size_t n, const char *metric,
			  double *values)
{
	struct bia_run_image *ri;
	size_t nri, nstale;
	if (bia_run_stale(ctx, inst, run_id, &nstale))
		return ctx->rc;
	if (nstale) {
		json_t *rep;
		if (bia_run_rescore(ctx, inst, run_id, 1, &rep))
			return ctx->rc;
		char b[32] = "n/a", a[32] = "n/a";
		if (json_is_real(json_object_get(rep, "before")))
			snprintf(b, sizeof(b), "%.4g", json_real_value(json_object_get(rep, "before")));
		if (json_is_real(json_object_get(rep, "after")))
			snprintf(a, sizeof(a), "%.4g", json_real_value(json_object_get(rep, "after")));
		bia__bench_note(h, BIA_BENCH_NOTICE,
				"rescored run %lld (%s): %zu of %lld images were scored against an "
				"older ground truth or metric library (%s %s -> %s)",
				(long long)run_id, bia_json_str(rep, "workflow", "?"), nstale,
				(long long)json_integer_value(json_object_get(rep, "images")),
				bia_json_str(rep, "main_metric", "?"), b, a);
		json_decref(rep);
	}
	if (bia_store_run_images(ctx, inst, run_id, &ri, &nri))
		return ctx->rc;
	for (size_t j = 0; j < n; j++) {
		values[j] = NAN;
		for (size_t i = 0; i < nri; i++) {
			if (ri[i].image_id != ims[j].id)
				continue;
			for (size_t s = 0; s < ri[i].nscores; s++)
				if (!strcmp(ri[i].scores[s].metric, metric))
					values[j] = ri[i].scores[s].value;
		}
	}
	bia_run_images_free(ri, nri);
	return 0;
}

int bia__bench_collect(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_problem *p, const char *const *names, size_t nnames,
		       const int64_t *only, size_t nonly, struct bia__bench_entry **pe,
		       size_t *pk)
{
	struct bia_run *runs;
	size_t nruns;
	*pe = NULL;
	*pk = 0;
	if (bia_store_run_list(ctx, inst, &(struct bia_run_filter){.problem_id = p->id},
			       (struct bia_page){0, 0}, &runs, &nruns, NULL))
		return ctx->rc;
	struct bia__bench_entry *e = bia_calloc(nruns + 1, sizeof(*e));
	if (!e) {
		bia_run_list_free(runs, nruns);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = nruns; i-- > 0;) { /* newest first */
		struct bia_run *r = &runs[i];
		if (r->state != BIA_RUN_SUCCEEDED)
			continue;
		if (nonly) {
			size_t q;
			for (q = 0; q < nonly && only[q] != r->id; q++)
				;
			if (q == nonly)
				continue;
		}
		char label[400];
		snprintf(label, sizeof(label), "%s@%s", r->workflow, r->version);
		if (names && nnames) {
			size_t q;
			for (q = 0; q < nnames; q++)
				if (!strcmp(names[q], r->workflow) || !strcmp(names[q], label))
					break;
			if (q == nnames)
				continue;
		}
		size_t q;
		for (q = 0; q < k; q++)
			if (!strcmp(e[q].label, label) && same_params(e[q].params_json, r->params))
				break;
		if (q < k)
			continue; /* an older run of the same entry */
		e[k].run_id = r->id;
		snprintf(e[k].label, sizeof(e[k].label), "%s", label);
		bia_bench_params_text(r->params, e[k].params, sizeof(e[k].params));
		e[k].params_json = bia_strdup(r->params ? r->params : "{}");
		k++;
	}
	bia_run_list_free(runs, nruns);
	*pe = e;
	*pk = k;
	return 0;
}

void bia__bench_free_entries(struct bia__bench_entry *e, size_t k)
{
	for (size_t i = 0; i < k; i++)
		free(e[i].params_json);
	free(e);
}

/* [lo, hi], or [null, null] when not available (too few images). */
static json_t *na_pair(double lo, double hi)
{
	if (isnan(lo) || isnan(hi))
		return json_pack("[n,n]");
	return json_pack("[f,f]", lo, hi);
}

/* The leaderboard as JSON (entries in rank order). */
static json_t *lb_json(const struct bia_problem *p, const struct bia_metric_def *md,
		       const struct bia__bench_entry *e, const struct bia_lb_result *r,
		       const size_t *order)
{
	json_t *o = json_object();
	json_object_set_new(o, "problem", json_string(p->name));
	json_object_set_new(o, "class", json_string(bia_class_code(p->cls)));
	json_object_set_new(o, "metric", json_string(md->code));
	json_object_set_new(o, "direction", json_string(md->higher_is_better ? "higher" : "lower"));
	json_object_set_new(o, "images", json_integer((json_int_t)r->n));
	json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
	json_object_set_new(o, "resamples", json_integer((json_int_t)r->reps));
	json_object_set_new(o, "alpha", json_real(BIA_LB_ALPHA));
	json_object_set_new(o, "metrics_version", json_string(BIA_METRICS_VERSION));
	json_object_set_new(o, "images_complete", json_integer((json_int_t)r->complete));
	json_object_set_new(o, "too_few_images", json_boolean(r->too_few));
	if (r->too_few) {
		char note[160];
		bia__bench_too_few_note(r->n, note, sizeof(note));
		json_object_set_new(o, "note", json_string(note));
	}
	const char *comp = bia_metric_companion(p->cls, md->code);
	json_object_set_new(o, "companion_metric", comp ? json_string(comp) : json_null());
	json_object_set_new(
		o, "friedman",
		r->has_friedman
			? json_pack("{s:I, s:I, s:o, s:o}", "n", (json_int_t)r->friedman_n, "k",
				    (json_int_t)r->k, "statistic", bia_json_real(r->friedman_stat),
				    "pvalue", bia_json_real(r->friedman_p))
			: json_null());
	json_object_set_new(
		o, "robustness",
		json_pack("{s:{s:o, s:I, s:b}, s:{s:o, s:I, s:b}}", "median", "kendall_tau",
			  bia_json_real(r->tau_median), "reversed_pairs", (json_int_t)r->flips_median,
			  "flipped", r->flips_median > 0, "rank_then_mean", "kendall_tau",
			  bia_json_real(r->tau_meanrank), "reversed_pairs",
			  (json_int_t)r->flips_meanrank, "flipped", r->flips_meanrank > 0));
	json_t *arr = json_array();
	for (size_t q = 0; q < r->k; q++) {
		size_t i = order[q];
		const struct bia_lb_entry *x = &r->e[i];
		json_t *pj = json_loads(e[i].params_json ? e[i].params_json : "{}", 0, NULL);
		json_t *row = json_pack(
			"{s:o, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I, "
			"s:o, s:o, s:o, s:o}",
			"rank", json_integer((json_int_t)x->rank), "entry", e[i].label, "params",
			pj ? pj : json_object(), "run", (json_int_t)e[i].run_id, "n", (json_int_t)x->n,
			"n_nan", (json_int_t)x->n_nan, "mean", bia_json_real(x->mean), "sd",
			bia_json_real(x->sd), "median", bia_json_real(x->median), "min",
			bia_json_real(x->min), "max", bia_json_real(x->max), "ci95",
			na_pair(x->ci_lo, x->ci_hi), "ci_undefined_resamples",
			(json_int_t)x->ci_undefined, "rank_interval", na_pair(x->rank_lo, x->rank_hi),
			"median_rank", json_real(x->median_rank),
			"mean_rank", bia_json_real(x->meanrank), "mean_rank_rank",
			json_real(x->meanrank_rank));
		if (i == r->leader) {
			json_object_set_new(row, "leader", json_true());
			json_object_set_new(row, "vs_leader", json_null());
		} else {
			json_object_set_new(row, "leader", json_false());
			json_object_set_new(
				row, "vs_leader",
				json_pack("{s:I, s:I, s:o, s:o, s:o, s:s}", "n_pairs",
					  (json_int_t)x->n_pairs, "n_zero", (json_int_t)x->n_zero,
					  "statistic", bia_json_real(x->w_stat), "pvalue",
					  bia_json_real(x->p), "pvalue_holm", bia_json_real(x->p_holm),
					  "method", x->exact ? "exact" : "normal"));
		}
		json_object_set_new(row, "tied_with_first",
				    r->too_few ? json_null()
					       : json_boolean(i == r->leader || x->tied_with_first));
		json_object_set_new(row, "rank_shared", json_boolean(x->rank_shared));
		if (comp)
			json_object_set_new(row, "companion_mean", bia_json_real(e[i].companion));
		json_array_append_new(arr, row);
	}
	json_object_set_new(o, "entries", arr);
	return o;
}

static int cmp_rank(const void *a, const void *b, const struct bia_lb_result *r,
		    const struct bia__bench_entry *e)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	if (r->e[i].rank != r->e[j].rank)
		return r->e[i].rank < r->e[j].rank ? -1 : 1;
	if (i == r->leader || j == r->leader) /* the leader first among equals */
		return i == r->leader ? -1 : 1;
	int c = strcmp(e[i].label, e[j].label);
	if (c)
		return c;
	c = strcmp(e[i].params, e[j].params);
	return c ? c : (i < j ? -1 : i > j);
}

/* Keep only the parameters that differ between entries of the same
 * workflow version in e[].params (the full set is in the JSON). */
static int varying_params(struct bia_ctx *ctx, struct bia__bench_entry *e, size_t k)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < k; i++) {
		json_t *pj = json_loads(e[i].params_json ? e[i].params_json : "{}", 0, NULL);
		json_t *x = json_object();
		/* labels are compared as bytes, whatever their encoding */
		json_object_set_new(x, "entry", json_string_nocheck(e[i].label));
		json_object_set_new(x, "params", pj ? pj : json_object());
		json_array_append_new(arr, x);
	}
	if (!arr || json_array_size(arr) != k) {
		json_decref(arr);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < k; i++)
		bia_bench_varying_params(arr, i, e[i].params, sizeof(e[i].params));
	json_decref(arr);
	return 0;
}

int bia__bench_board_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_bench_hooks *h, const struct bia_problem *p,
			  const struct bia_metric_def *md, struct bia__bench_entry *e, size_t k,
			  const struct bia_image_rec *ims, size_t n, unsigned reps,
			  uint64_t seed, json_t **pout)
{
	*pout = NULL;
	if (!k)
		return bia_fail(ctx, BIA_ENOENT, "problem '%s' has no succeeded run to rank",
				p->name);
	double *v = bia_malloc2(k * n, sizeof(double));
	size_t *order = bia_malloc2(k, sizeof(size_t));
	if (!v || !order) {
		free(v);
		free(order);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	int rc = varying_params(ctx, e, k);
	for (size_t i = 0; i < k && !rc; i++)
		rc = bia__bench_run_values(ctx, inst, h, e[i].run_id, ims, n, md->code, v + i * n);
	/* a one-sided metric shows its companion (TFNR: TFPR) beside it */
	const char *comp = bia_metric_companion(p->cls, md->code);
	double *cv = comp ? bia_malloc2(n, sizeof(double)) : NULL;
	for (size_t i = 0; i < k && !rc; i++) {
		e[i].companion = NAN;
		if (!cv)
			continue;
		if ((rc = bia__bench_run_values(ctx, inst, h, e[i].run_id, ims, n, comp, cv)))
			break;
		double sum = 0;
		size_t m = 0;
		for (size_t j = 0; j < n; j++)
			if (isfinite(cv[j]))
				sum += cv[j], m++;
		e[i].companion = m ? sum / (double)m : NAN;
	}
	free(cv);
	struct bia_lb_result r;
	if (!rc)
		rc = bia_leaderboard(ctx, v, k, n, md->higher_is_better, reps, seed, &r);
	if (!rc) {
		for (size_t i = 0; i < k; i++)
			order[i] = i;
		/* insertion sort: k is small, the comparison needs context */
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && cmp_rank(&order[j - 1], &order[j], &r, e) > 0; j--) {
				size_t t = order[j];
				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		*pout = lb_json(p, md, e, &r, order);
		bia_lb_result_release(&r);
	}
	free(v);
	free(order);
	return rc;
}

int bia_bench_json(struct bia_ctx *ctx, struct bia_instance *inst,
		   const struct bia_bench_request *req, const struct bia_bench_hooks *hooks,
		   json_t **pout)
{
	*pout = NULL;
	struct bia_problem p;
	if (bia_problem_get(ctx, inst, req->problem, &p))
		return ctx->rc;
	int rc = 0;
	struct bia_image_rec *ims = NULL;
	size_t nims = 0;
	const char *names[256];
	size_t nnames = 0;
	struct bia__bench_setting *s = NULL;
	struct bia__bench_entry *e = NULL;
	size_t k = 0;
	struct bia_wf_version *wv = NULL;
	size_t nwv = 0;
	const struct bia_metric_def *md = bia__bench_pick_metric(ctx, &p, req->metric,
								 req->bad_request);
	if (!md) {
		rc = ctx->rc;
		goto out;
	}
	if ((rc = bia_run_select_images(ctx, inst, &p, req->images, req->nimages, &ims, &nims)))
		goto out;
	if (req->workflows) {
		for (size_t i = 0; i < req->nworkflows && nnames < 256; i++)
			names[nnames++] = req->workflows[i];
	} else {
		/* every workflow of the problem's class: its newest version */
		if ((rc = bia_store_wf_list(ctx, inst, (struct bia_page){0, 0}, &wv, &nwv, NULL)))
			goto out;
		for (size_t i = 0; i < nwv && nnames < 256; i++) {
			if (strcmp(wv[i].problem_class, bia_class_code(p.cls)))
				continue;
			size_t q;
			for (q = 0; q < nnames && strcmp(names[q], wv[i].name); q++)
				;
			if (q == nnames)
				names[nnames++] = wv[i].name;
		}
	}
	s = bia_calloc(nnames + 1, sizeof(*s));
	if (!s) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nnames; i++)
		s[i].workflow = names[i];
	if ((rc = bia__bench_run_missing(ctx, inst, hooks, &p, s, nnames, ims, nims,
					 !req->no_run)))
		goto out;
	if ((rc = bia__bench_collect(ctx, inst, &p, req->workflows ? names : NULL,
				     req->workflows ? nnames : 0, NULL, 0, &e, &k)))
		goto out;
	rc = bia__bench_board_json(ctx, inst, hooks, &p, md, e, k, ims, nims, req->resamples,
				   req->seed, pout);
out:
	bia__bench_free_entries(e, k);
	free(s);
	free(ims);
	for (size_t i = 0; i < nwv; i++)
		bia_wf_version_release(&wv[i]);
	free(wv);
	bia_problem_release(&p);
	return rc;
}
