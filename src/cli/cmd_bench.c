/* biaflows bench | compare | sweep | rerun: leaderboards with honest
 * statistics, paired comparisons, parameter grids and reproducibility
 * checks over the runs of an instance (docs/benchmarks.md).
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/leaderboard.h"
#include "metrics/metrics.h"
#include "runs/runs.h"
#include "workflow/workflow.h"

enum { FMT_MD = 3 };

static const char bench_usage[] =
	"usage: biaflows bench PROBLEM [--workflows W[@V],...] [--metric M] [--images STEM,...]\n"
	"                      [--seed N] [--resamples N] [--no-run] [--format table|json|csv|md]\n"
	"\n"
	"The leaderboard of a problem on its main metric ('problem set --main-metric',\n"
	"else the class's; --metric another one): one entry per (workflow version,\n"
	"parameters) = its latest succeeded run. With --workflows, only those\n"
	"workflows, and each one without a succeeded run of its default parameters\n"
	"on the images is run first (unless --no-run); without it, every workflow of\n"
	"the problem's class is. Per entry: mean, sd, median, min, max with NaN\n"
	"counted; a bootstrap 95%% CI of the mean and a rank interval (the same\n"
	"--resamples, default 10000, resamples of the images for every entry, from\n"
	"--seed, default 1); a two-sided Wilcoxon signed-rank test against the leader\n"
	"with Holm's correction ('tied with #1' when the adjusted p >= 0.05); a\n"
	"Friedman test across the entries; the ranking under the median and under\n"
	"rank-then-mean with Kendall's tau. Same inputs and seed, same bytes out.\n";

static const char compare_usage[] =
	"usage: biaflows compare RUN_A RUN_B [--metric M] [--format table|json|csv|md]\n"
	"\n"
	"Paired comparison of two runs of one problem on the problem's main metric:\n"
	"per-image differences A - B sorted from A's best to its worst, win/tie/loss\n"
	"counts for A, mean and median difference, effect sizes (Cohen's dz and the\n"
	"matched-pairs rank-biserial correlation, positive when A is better) and the\n"
	"two-sided Wilcoxon signed-rank p-value. Images where either has no value are\n"
	"left out and counted.\n";

static const char sweep_usage[] =
	"usage: biaflows sweep WORKFLOW[@VERSION] PROBLEM --param NAME=A:B:STEP|NAME=V1,V2,...\n"
	"                      [--param NAME=VALUE]... [--images STEM,...] [--metric M]\n"
	"                      [--seed N] [--resamples N] [--format table|json|csv|md]\n"
	"\n"
	"Runs the workflow for every combination of the swept parameters (A:B:STEP\n"
	"numbers from A to B inclusive; or a comma list; at most 1000 settings),\n"
	"reusing succeeded runs of the same setting, waits for them, and prints the\n"
	"main metric per setting as a leaderboard (best first).\n";

static const char rerun_usage[] =
	"usage: biaflows rerun RUN [--tolerance X] [--no-wait] [--format table|json]\n"
	"\n"
	"Runs RUN again from its record (workflow version, parameters, images,\n"
	"limits), waits for it and reports whether it reproduced:\n"
	"reproduced-exact (identical output files), reproduced-within-tolerance\n"
	"(every metric value within X, default 1e-9, absolute) or not-reproduced.\n"
	"The verdict is stored on the new run ('run show'). Exit 0 when reproduced.\n";

/* ---------------------------------------------------------------- shared */

static int parse_format(const char *s)
{
	if (!strcmp(s, "md"))
		return FMT_MD;
	return cli_parse_format(s);
}

/* Split "a,b,c" into the list (pointers into s, which is modified). */
static size_t split_commas(char *s, char **out, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		out[n++] = tok;
	return n;
}

static int64_t parse_run_id(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s && !*end && v > 0 ? (int64_t)v : 0;
}

/* The images a leaderboard is computed on: every image of the problem, or
 * the named ones (stems or ids, comma-separated). */
static int select_images(struct bia_cli *cli, const struct bia_problem *p, char *names,
			 struct bia_image_rec **pv, size_t *pn)
{
	char *ref[4096];
	size_t nref = names ? split_commas(names, ref, 4096) : 0;
	return bia_run_select_images(&cli->ctx, &cli->inst, p, (const char *const *)ref, nref, pv,
				     pn);
}

/* values[j] = the run's value of `metric` on image ims[j], NaN if none.
 * A run scored against GT versions that are no longer current (or by
 * another metric library) is rescored first, with a line saying so, so an
 * entry is never ranked on stale scores. */
static int run_values(struct bia_cli *cli, int64_t run_id, const struct bia_image_rec *ims,
		      size_t n, const char *metric, double *values)
{
	struct bia_run_image *ri;
	size_t nri, nstale;
	if (bia_run_stale(&cli->ctx, &cli->inst, run_id, &nstale))
		return cli->ctx.rc;
	if (nstale) {
		json_t *rep;
		if (bia_run_rescore(&cli->ctx, &cli->inst, run_id, 1, &rep))
			return cli->ctx.rc;
		char b[32] = "n/a", a[32] = "n/a";
		if (json_is_real(json_object_get(rep, "before")))
			snprintf(b, sizeof(b), "%.4g", json_real_value(json_object_get(rep, "before")));
		if (json_is_real(json_object_get(rep, "after")))
			snprintf(a, sizeof(a), "%.4g", json_real_value(json_object_get(rep, "after")));
		cli_msg("rescored run %lld (%s): %zu of %lld images were scored against an older "
			"ground truth or metric library (%s %s -> %s)",
			(long long)run_id, bia_json_str(rep, "workflow", "?"), nstale,
			(long long)json_integer_value(json_object_get(rep, "images")),
			bia_json_str(rep, "main_metric", "?"), b, a);
		json_decref(rep);
	}
	if (bia_store_run_images(&cli->ctx, &cli->inst, run_id, &ri, &nri))
		return cli->ctx.rc;
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

/* The metric to rank on: --metric, else the problem's, else the class's. */
static const struct bia_metric_def *pick_metric(struct bia_cli *cli, const struct bia_problem *p,
						const char *want)
{
	const char *m = want ? want : p->main_metric[0] ? p->main_metric : bia_metric_main(p->cls);
	const struct bia_metric_def *d = bia_metric_find(p->cls, m);
	if (!d)
		bia_fail(&cli->ctx, BIA_EINVAL, "'%s' is not a metric of %s (see 'biaflows metrics "
			 "--list --class %s')", m, bia_class_code(p->cls), bia_class_code(p->cls));
	return d;
}

/* "a=1 b=x" from a params JSON object (values are the argv text). */
static void params_text(const char *json, char *out, size_t outsz)
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

/* Same parameters: equal JSON objects. */
static int same_params(const char *a, const char *b)
{
	json_t *x = json_loads(a ? a : "{}", 0, NULL), *y = json_loads(b ? b : "{}", 0, NULL);
	int eq = x && y && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

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
	if (!d)
		return same_params(a, b);
	json_t *x = json_loads(a ? a : "{}", 0, NULL), *y = json_loads(b ? b : "{}", 0, NULL);
	int eq = x && y && bia_descriptor_values_equal(d, x, y);
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

/* Ensure a succeeded run of each (workflow, params) setting exists,
 * queueing and waiting for the missing ones. ids[i] gets the run of
 * setting i (0 when it failed; the failure is reported on stderr). */
struct setting {
	const char *workflow;	 /* NAME or NAME@VERSION */
	char **params;		 /* "id=value" */
	size_t nparams;
	int64_t run_id;		 /* OUT */
	int64_t failed_run;	 /* OUT: the run that did not succeed, 0 */
	char status[16];	 /* OUT: its status */
	char why[512];		 /* OUT: the last line of its log, else its reason */
};

static int run_missing(struct bia_cli *cli, const struct bia_problem *p, struct setting *s,
		       size_t ns, const struct bia_image_rec *ims, size_t nims, int may_run)
{
	struct bia_run *runs;
	size_t nruns;
	if (bia_store_run_list(&cli->ctx, &cli->inst, &(struct bia_run_filter){p->id, NULL, 0}, (struct bia_page){0, 0}, &runs, &nruns, NULL))
		return cli->ctx.rc;
	int64_t *wait = bia_calloc(ns + 1, sizeof(int64_t));
	size_t nwait = 0;
	int rc = wait ? 0 : bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
	const char **stems = bia_calloc(nims + 1, sizeof(char *));
	if (!stems)
		rc = bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
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
			if ((rc = bia_run_resolve_params(&cli->ctx, &cli->inst, s[i].workflow,
							 (const char *const *)s[i].params,
							 s[i].nparams, &pj, &vid)))
				break;
			struct bia_descriptor d;
			int have_d = bia_workflow_descriptor(&cli->ctx, &cli->inst, s[i].workflow,
							     &d) == 0;
			bia_ctx_clear(&cli->ctx);
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
			if ((rc = bia_run_enqueue(&cli->ctx, &cli->inst, &req, &s[i].run_id)))
				break;
			if (pass == 0)
				continue;
			fprintf(stderr, "queued run %lld: %s on '%s'\n", (long long)s[i].run_id,
				s[i].workflow, p->name);
			wait[nwait++] = s[i].run_id;
		}
	}
	bia_run_list_free(runs, nruns);
	free(stems);
	if (!rc && nwait) {
		rc = cli_ensure_worker(cli);
		if (!rc)
			rc = cli_wait_runs(cli, wait, nwait);
	}
	for (size_t i = 0; i < nwait && !rc; i++) {
		struct bia_run r;
		if ((rc = bia_store_run_get(&cli->ctx, &cli->inst, wait[i], &r)))
			break;
		if (r.state != BIA_RUN_SUCCEEDED) {
			cli_msg("run %lld (%s@%s) %s: %s", (long long)r.id,
				r.workflow, r.version, bia_run_state_name(r.state), r.reason ? r.reason : "");
			for (size_t k = 0; k < ns; k++)
				if (s[k].run_id == r.id) {
					s[k].run_id = 0;
					s[k].failed_run = r.id;
					snprintf(s[k].status, sizeof(s[k].status), "%s", bia_run_state_name(r.state));
					bia_run_failure_line(&cli->inst, r.id, r.reason, s[k].why,
							     sizeof(s[k].why));
				}
		}
		bia_run_release(&r);
	}
	free(wait);
	return rc;
}

/* -------------------------------------------------------- leaderboards */

struct entry {
	int64_t run_id;
	char label[400]; /* workflow@version */
	char params[1024];
	char *params_json;
	double companion; /* mean of the companion of a one-sided metric, NaN */
};

static void fmt_num(char *out, size_t outsz, double v)
{
	if (isnan(v))
		snprintf(out, outsz, "n/a");
	else if (isinf(v))
		snprintf(out, outsz, v > 0 ? "inf" : "-inf");
	else
		snprintf(out, outsz, "%.4f", v);
}

static void fmt_p(char *out, size_t outsz, double p)
{
	if (isnan(p))
		snprintf(out, outsz, "n/a");
	else if (p < 1e-4)
		snprintf(out, outsz, "%.1e", p);
	else
		snprintf(out, outsz, "%.4f", p);
}

/* Why a leaderboard of n images has no intervals, tests or verdicts. */
static const char *too_few_note(size_t n)
{
	static char note[160];
	snprintf(note, sizeof(note),
		 "n = %zu: too few images to compare (confidence intervals, rank intervals, "
		 "tests and 'tied' verdicts need at least %d)",
		 n, BIA_LB_MIN_IMAGES);
	return note;
}

/* [lo, hi], or [null, null] when not available (too few images). */
static json_t *na_pair(double lo, double hi)
{
	if (isnan(lo) || isnan(hi))
		return json_pack("[n,n]");
	return json_pack("[f,f]", lo, hi);
}

/* The rank as shown: "1", or "=2" when shared (competition ranking). */
static void fmt_rank(char *out, size_t outsz, const struct bia_lb_entry *x)
{
	snprintf(out, outsz, "%s%g", x->rank_shared ? "=" : "", x->rank);
}

/* The leaderboard as JSON (entries in rank order). */
static json_t *lb_json(const struct bia_problem *p, const struct bia_metric_def *md,
		       const struct entry *e, const struct bia_lb_result *r, const size_t *order)
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
	if (r->too_few)
		json_object_set_new(o, "note", json_string(too_few_note(r->n)));
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

/* Settings of a sweep that did not succeed, with the reason: the last line
 * of the run's log. */
static void print_failed(FILE *f, json_t *failed, int fmt)
{
	if (!failed || !json_array_size(failed) || fmt == OUT_CSV)
		return;
	fprintf(f, "%s%zu setting(s) did not succeed:\n", fmt == FMT_MD ? "\n**" : "\n",
		json_array_size(failed));
	if (fmt == FMT_MD)
		fprintf(f, "%s", "**\n\n| params | run | status | reason |\n|---|---|---|---|\n");
	size_t i;
	json_t *x;
	json_array_foreach(failed, i, x)
	{
		char *t = json_dumps(json_object_get(x, "params"), JSON_COMPACT | JSON_SORT_KEYS);
		char pt[1024];
		params_text(t, pt, sizeof(pt));
		free(t);
		if (fmt == FMT_MD)
			fprintf(f, "| %s | %lld | %s | %s |\n", pt,
				(long long)json_integer_value(json_object_get(x, "run")),
				bia_json_str(x, "status", ""), bia_json_str(x, "reason", ""));
		else
			fprintf(f, "  %s  run %lld %s: %s\n", pt,
				(long long)json_integer_value(json_object_get(x, "run")),
				bia_json_str(x, "status", ""), bia_json_str(x, "reason", ""));
	}
}

/* "a=1 b=x": the parameters whose value is the same in every entry (the
 * table shows the others). */
static void common_params(const struct entry *e, size_t k, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!k)
		return;
	json_t *p0 = json_loads(e[0].params_json ? e[0].params_json : "{}", 0, NULL);
	json_t *keep = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(p0, key, val)
	{
		int same = 1;
		for (size_t j = 1; j < k && same; j++) {
			json_t *pj = json_loads(e[j].params_json ? e[j].params_json : "{}", 0, NULL);
			json_t *o = json_object_get(pj, key);
			same = o && json_equal(o, val);
			json_decref(pj);
		}
		if (same)
			json_object_set(keep, key, val);
	}
	char *t = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
	params_text(t, out, outsz);
	free(t);
	json_decref(keep);
	json_decref(p0);
}

static void lb_print(FILE *f, const struct bia_problem *p, const struct bia_metric_def *md,
		     const struct entry *e, const struct bia_lb_result *r, const size_t *order,
		     int fmt)
{
	const char *comp = bia_metric_companion(p->cls, md->code);
	char comp_col[48] = "";
	if (comp)
		snprintf(comp_col, sizeof(comp_col), "%s mean", comp);
	/* parameters are printed in full: the column is as wide as the longest */
	int pw = 6;
	for (size_t i = 0; i < r->k; i++)
		if ((int)strlen(e[i].params) > pw)
			pw = (int)strlen(e[i].params);
	if (fmt == OUT_CSV) {
		fprintf(f, "rank,entry,params,run,n,n_nan,mean,%s%ssd,median,min,max,ci_lo,ci_hi,"
			   "rank_lo,rank_hi,n_pairs,p,p_holm,tied_with_first\n",
			comp ? comp : "", comp ? "_mean," : "");
	} else {
		fprintf(f, "%sleaderboard of '%s' (%s) on %s (%s is better), %zu images, seed %llu, "
			   "%u resamples%s\n",
			fmt == FMT_MD ? "**" : "", p->name, bia_class_code(p->cls), md->code,
			md->higher_is_better ? "higher" : "lower", r->n, (unsigned long long)r->seed,
			r->reps, fmt == FMT_MD ? "**" : "");
		if (comp)
			fprintf(f, "%s%s only penalises one kind of error: %s is shown beside it "
				   "(the class's default, balanced main metric is %s)\n",
				fmt == FMT_MD ? "\n" : "", md->code, comp, bia_metric_main(p->cls));
		if (r->too_few)
			fprintf(f, "%s%s\n", fmt == FMT_MD ? "\n" : "", too_few_note(r->n));
		char common[2048];
		common_params(e, r->k, common, sizeof(common));
		if (common[0])
			fprintf(f, "%sparameters of every entry: %s\n", fmt == FMT_MD ? "\n" : "",
				common);
		if (fmt == FMT_MD)
			fprintf(f, "\n| rank | entry | params | run | n (NaN) | mean |%s%s 95%% CI | "
				   "rank interval | p vs #1 (Holm) | tied with #1 |\n"
				   "|---|---|---|---|---|---|%s---|---|---|---|\n",
				comp ? " " : "", comp ? comp_col : "", comp ? "---|" : "");
		else
			fprintf(f, "\n%-5s %-36s %-*s %5s %8s %8s %s%*s%s%19s %11s %16s %s\n", "rank",
				"entry", pw, "params", "run", "n(NaN)", "mean", comp ? "" : "",
				comp ? 10 : 0, comp ? comp_col : "", comp ? " " : "", "95% CI",
				"rank int.", "p vs #1 (Holm)", "tied");
	}
	int na_mean = 0, na_ci = 0, na_p = 0;
	for (size_t q = 0; q < r->k; q++) {
		size_t i = order[q];
		const struct bia_lb_entry *x = &r->e[i];
		char mean[32], lo[32], hi[32], pr[32], ph[32], rk[32], cm[32];
		fmt_num(mean, sizeof(mean), x->mean);
		fmt_num(lo, sizeof(lo), x->ci_lo);
		fmt_num(hi, sizeof(hi), x->ci_hi);
		fmt_num(cm, sizeof(cm), e[i].companion);
		fmt_p(pr, sizeof(pr), i == r->leader ? NAN : x->p);
		fmt_p(ph, sizeof(ph), i == r->leader ? NAN : x->p_holm);
		fmt_rank(rk, sizeof(rk), x);
		na_mean |= isnan(x->mean);
		na_ci |= !r->too_few && !isnan(x->mean) && isnan(x->ci_lo);
		na_p |= !r->too_few && i != r->leader && isnan(x->p);
		const char *tied = r->too_few	       ? "n/a"
				   : i == r->leader    ? "leader"
				   : x->tied_with_first ? "yes"
							: "no";
		if (fmt == OUT_CSV) {
			char sd[32], med[32], mn[32], mx[32];
			fmt_num(sd, sizeof(sd), x->sd);
			fmt_num(med, sizeof(med), x->median);
			fmt_num(mn, sizeof(mn), x->min);
			fmt_num(mx, sizeof(mx), x->max);
			fprintf(f, "%s,%s,\"%s\",%lld,%zu,%zu,%s,%s%s%s,%s,%s,%s,%s,%s,%g,%g,%zu,%s,%s,%s\n",
				rk, e[i].label, e[i].params, (long long)e[i].run_id, x->n, x->n_nan,
				mean, comp ? cm : "", comp ? "," : "", sd, med, mn, mx, lo, hi,
				x->rank_lo, x->rank_hi, x->n_pairs, pr, ph, tied);
			continue;
		}
		char nn[48], ci[80], ri[48], pp[64];
		snprintf(nn, sizeof(nn), "%zu(%zu)", x->n, x->n_nan);
		if (isnan(x->ci_lo))
			snprintf(ci, sizeof(ci), "n/a");
		else
			snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
		if (isnan(x->rank_lo))
			snprintf(ri, sizeof(ri), "n/a");
		else
			snprintf(ri, sizeof(ri), "[%g, %g]", x->rank_lo, x->rank_hi);
		snprintf(pp, sizeof(pp), "%s (%s)", pr, ph);
		if (isnan(x->p))
			snprintf(pp, sizeof(pp), "n/a");
		if (fmt == FMT_MD)
			fprintf(f, "| %s | %s | %s | %lld | %s | %s |%s%s%s %s | %s | %s | %s |\n", rk,
				e[i].label, e[i].params[0] ? e[i].params : "-", (long long)e[i].run_id,
				nn, mean, comp ? " " : "", comp ? cm : "", comp ? " |" : "", ci, ri,
				i == r->leader ? "-" : pp, tied);
		else
			fprintf(f, "%-5s %-36s %-*s %5lld %8s %8s %s%*s%s%19s %11s %16s %s\n", rk,
				e[i].label, pw, e[i].params[0] ? e[i].params : "-", (long long)e[i].run_id,
				nn, mean, "", comp ? 10 : 0, comp ? cm : "", comp ? " " : "", ci, ri,
				i == r->leader ? "-" : pp, tied);
	}
	if (fmt == OUT_CSV)
		return;
	fprintf(f, "\n");
	const char *bullet = fmt == FMT_MD ? "* " : "";
	if (na_mean)
		fprintf(f, "%sn/a mean: the entry has no value on any image (every image NaN)\n",
			bullet);
	if (na_ci)
		fprintf(f, "%sn/a 95%% CI: no bootstrap resample holds a value of the entry\n", bullet);
	if (na_p)
		fprintf(f, "%sn/a p: no image where both have a value, or no non-zero difference "
			   "(the Wilcoxon test needs one)\n",
			bullet);
	if (r->has_friedman) {
		char st[32], pv[32];
		fmt_num(st, sizeof(st), r->friedman_stat);
		fmt_p(pv, sizeof(pv), r->friedman_p);
		fprintf(f, "%sFriedman test over %zu entries on %zu complete images: chi2 = %s, p = %s\n",
			bullet, r->k, r->friedman_n, st, pv);
	} else {
		fprintf(f, "%sFriedman test: not applicable (%zu entries, %zu complete images%s)\n",
			bullet, r->k, r->complete, r->too_few ? ", too few" : "");
	}
	char t1[32], t2[32];
	fmt_num(t1, sizeof(t1), r->tau_median);
	fmt_num(t2, sizeof(t2), r->tau_meanrank);
	fprintf(f, "%sRobustness: by median, Kendall tau %s with the mean ranking, %zu pair(s) "
		   "reversed%s; by rank-then-mean, tau %s, %zu pair(s) reversed%s%s\n",
		bullet, t1, r->flips_median, r->flips_median ? " (RANKING FLIPS)" : "", t2,
		r->flips_meanrank, r->flips_meanrank ? " (RANKING FLIPS)" : "",
		isnan(r->tau_median) || isnan(r->tau_meanrank)
			? " (tau n/a: fewer than two distinct ranks)"
			: "");
	fprintf(f, "%sRanks: equal means share the best rank (=1); Wilcoxon signed-rank, "
		   "two-sided, zero differences dropped, images without a value left out "
		   "pairwise; 'tied' = Holm-adjusted p >= %.2f\n",
		bullet, BIA_LB_ALPHA);
}

static int cmp_rank(const void *a, const void *b, const struct bia_lb_result *r,
		    const struct entry *e)
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

/* Show only the parameters that differ between entries of the same
 * workflow version (the full set is in the JSON output). */
static void varying_params(struct entry *e, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		json_t *pi = json_loads(e[i].params_json ? e[i].params_json : "{}", 0, NULL);
		json_t *keep = json_object();
		const char *key;
		json_t *val;
		json_object_foreach(pi, key, val)
		{
			int varies = 0;
			for (size_t j = 0; j < k && !varies; j++) {
				if (j == i || strcmp(e[j].label, e[i].label))
					continue;
				json_t *pj = json_loads(e[j].params_json ? e[j].params_json : "{}", 0,
							NULL);
				json_t *o = json_object_get(pj, key);
				varies = !o || !json_equal(o, val);
				json_decref(pj);
			}
			if (varies)
				json_object_set(keep, key, val);
		}
		char *t = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
		params_text(t, e[i].params, sizeof(e[i].params));
		free(t);
		json_decref(keep);
		json_decref(pi);
	}
}

/* Print the leaderboard of entries e[0..k) over ims. */
static int leaderboard(struct bia_cli *cli, const struct bia_problem *p,
		       const struct bia_metric_def *md, struct entry *e, size_t k,
		       const struct bia_image_rec *ims, size_t n, unsigned reps, uint64_t seed,
		       int fmt, json_t *failed)
{
	if (!k) {
		bia_fail(&cli->ctx, BIA_ENOENT, "problem '%s' has no succeeded run to rank",
			 p->name);
		return cli_error(cli);
	}
	double *v = bia_malloc2(k * n, sizeof(double));
	size_t *order = bia_malloc2(k, sizeof(size_t));
	if (!v || !order) {
		free(v);
		free(order);
		bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
		return cli_error(cli);
	}
	int code = 0;
	varying_params(e, k);
	for (size_t i = 0; i < k && !code; i++)
		if (run_values(cli, e[i].run_id, ims, n, md->code, v + i * n))
			code = cli_error(cli);
	/* a one-sided metric shows its companion (TFNR: TFPR) beside it */
	const char *comp = bia_metric_companion(p->cls, md->code);
	double *cv = comp ? bia_malloc2(n, sizeof(double)) : NULL;
	for (size_t i = 0; i < k && !code; i++) {
		e[i].companion = NAN;
		if (!cv)
			continue;
		if (run_values(cli, e[i].run_id, ims, n, comp, cv)) {
			code = cli_error(cli);
			break;
		}
		double sum = 0;
		size_t m = 0;
		for (size_t j = 0; j < n; j++)
			if (isfinite(cv[j]))
				sum += cv[j], m++;
		e[i].companion = m ? sum / (double)m : NAN;
	}
	free(cv);
	struct bia_lb_result r;
	if (!code && bia_leaderboard(&cli->ctx, v, k, n, md->higher_is_better, reps, seed, &r))
		code = cli_error(cli);
	if (!code) {
		for (size_t i = 0; i < k; i++)
			order[i] = i;
		/* insertion sort: k is small, the comparison needs context */
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && cmp_rank(&order[j - 1], &order[j], &r, e) > 0; j--) {
				size_t t = order[j];
				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		if (fmt == OUT_JSON) {
			json_t *j = lb_json(p, md, e, &r, order);
			if (failed)
				json_object_set(j, "failed_settings", failed);
			cli_print_object(stdout, j, OUT_JSON);
			json_decref(j);
		} else {
			lb_print(stdout, p, md, e, &r, order, fmt);
			print_failed(stdout, failed, fmt);
		}
		bia_lb_result_release(&r);
	}
	free(v);
	free(order);
	return code;
}

/* Entries of a problem: the latest succeeded run of every (version,
 * params), optionally only of the named workflows / the given runs. */
static int collect_entries(struct bia_cli *cli, const struct bia_problem *p, char **names,
			   size_t nnames, const int64_t *only, size_t nonly, struct entry **pe,
			   size_t *pk)
{
	struct bia_run *runs;
	size_t nruns;
	*pe = NULL;
	*pk = 0;
	if (bia_store_run_list(&cli->ctx, &cli->inst, &(struct bia_run_filter){p->id, NULL, 0}, (struct bia_page){0, 0}, &runs, &nruns, NULL))
		return cli->ctx.rc;
	struct entry *e = bia_calloc(nruns + 1, sizeof(*e));
	if (!e) {
		bia_run_list_free(runs, nruns);
		return bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
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
		if (nnames) {
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
		params_text(r->params, e[k].params, sizeof(e[k].params));
		e[k].params_json = bia_strdup(r->params ? r->params : "{}");
		k++;
	}
	bia_run_list_free(runs, nruns);
	*pe = e;
	*pk = k;
	return 0;
}

static void free_entries(struct entry *e, size_t k)
{
	for (size_t i = 0; i < k; i++)
		free(e[i].params_json);
	free(e);
}

static int parse_reps_seed(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ bench */

int cmd_bench(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"workflows", required_argument, NULL, 'w'},
					   {"metric", required_argument, NULL, 'm'},
					   {"images", required_argument, NULL, 'i'},
					   {"seed", required_argument, NULL, 's'},
					   {"resamples", required_argument, NULL, 'r'},
					   {"no-run", no_argument, NULL, 'n'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	char *wf = NULL, *images = NULL;
	const char *metric = NULL;
	unsigned long long seed = BIA_LB_DEFAULT_SEED, reps = BIA_LB_DEFAULT_REPS;
	int fmt = OUT_TABLE, may_run = 1, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'w':
			wf = optarg;
			break;
		case 'm':
			metric = optarg;
			break;
		case 'i':
			images = optarg;
			break;
		case 's':
			if (parse_reps_seed(optarg, UINT64_MAX, &seed))
				return cli_usage_error(bench_usage, "bad --seed '%s'", optarg);
			break;
		case 'r':
			if (parse_reps_seed(optarg, 1000000, &reps) || !reps)
				return cli_usage_error(bench_usage,
						       "--resamples must be 1..1000000, not '%s'",
						       optarg);
			break;
		case 'n':
			may_run = 0;
			break;
		case 'f':
			if ((fmt = parse_format(optarg)) < 0)
				return cli_usage_error(bench_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return 0;
		default:
			return cli_usage_error(bench_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(bench_usage, "bench takes one PROBLEM");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	int code = 0;
	struct bia_image_rec *ims = NULL;
	size_t nims = 0;
	char *names[256];
	size_t nnames = 0;
	struct setting *s = NULL;
	struct entry *e = NULL;
	size_t k = 0;
	struct bia_wf_version *wv = NULL;
	size_t nwv = 0;
	const struct bia_metric_def *md = pick_metric(cli, &p, metric);
	if (!md) {
		code = cli_usage_error(bench_usage, "%s", cli->ctx.msg);
		goto out;
	}
	if (select_images(cli, &p, images, &ims, &nims)) {
		code = cli_error(cli);
		goto out;
	}
	if (wf) {
		nnames = split_commas(wf, names, 256);
	} else {
		/* every workflow of the problem's class: its newest version */
		if (bia_store_wf_list(&cli->ctx, &cli->inst, (struct bia_page){0, 0}, &wv, &nwv, NULL)) {
			code = cli_error(cli);
			goto out;
		}
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
	for (size_t i = 0; s && i < nnames; i++)
		s[i].workflow = names[i];
	if (!s || run_missing(cli, &p, s, nnames, ims, nims, may_run)) {
		if (!s)
			bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
		code = cli_error(cli);
		goto out;
	}
	if (collect_entries(cli, &p, wf ? names : NULL, wf ? nnames : 0, NULL, 0, &e, &k)) {
		code = cli_error(cli);
		goto out;
	}
	code = leaderboard(cli, &p, md, e, k, ims, nims, (unsigned)reps, seed, fmt, NULL);
out:
	free_entries(e, k);
	free(s);
	free(ims);
	for (size_t i = 0; i < nwv; i++)
		bia_wf_version_release(&wv[i]);
	free(wv);
	bia_problem_release(&p);
	return code;
}

/* ---------------------------------------------------------------- compare */

int cmd_compare(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"metric", required_argument, NULL, 'm'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *metric = NULL;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'm':
			metric = optarg;
			break;
		case 'f':
			if ((fmt = parse_format(optarg)) < 0)
				return cli_usage_error(compare_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(compare_usage, stdout);
			return 0;
		default:
			return cli_usage_error(compare_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(compare_usage, "compare takes two run ids");
	int64_t ida = parse_run_id(argv[optind]), idb = parse_run_id(argv[optind + 1]);
	if (!ida || !idb)
		return cli_usage_error(compare_usage, "bad run id '%s'",
				       ida ? argv[optind + 1] : argv[optind]);
	struct bia_run ra, rb;
	if (bia_store_run_get(&cli->ctx, &cli->inst, ida, &ra))
		return cli_error(cli);
	if (bia_store_run_get(&cli->ctx, &cli->inst, idb, &rb)) {
		bia_run_release(&ra);
		return cli_error(cli);
	}
	int code = 0;
	struct bia_problem p;
	int have_p = 0;
	struct bia_image_rec *ims = NULL;
	size_t n = 0;
	double *a = NULL, *b = NULL;
	struct bia_compare c;
	memset(&c, 0, sizeof(c));
	if (ra.problem_id != rb.problem_id) {
		bia_fail(&cli->ctx, BIA_EINVAL, "runs %lld and %lld are on different problems ('%s', "
			 "'%s')", (long long)ida, (long long)idb, ra.problem, rb.problem);
		code = cli_error(cli);
		goto out;
	}
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)ra.problem_id);
	if (bia_problem_get(&cli->ctx, &cli->inst, pid_s, &p)) {
		code = cli_error(cli);
		goto out;
	}
	have_p = 1;
	const struct bia_metric_def *md = pick_metric(cli, &p, metric);
	if (!md) {
		code = cli_usage_error(compare_usage, "%s", cli->ctx.msg);
		goto out;
	}
	if (select_images(cli, &p, NULL, &ims, &n)) {
		code = cli_error(cli);
		goto out;
	}
	a = bia_malloc2(n, sizeof(double));
	b = bia_malloc2(n, sizeof(double));
	if (!a || !b || run_values(cli, ida, ims, n, md->code, a) ||
	    run_values(cli, idb, ims, n, md->code, b) ||
	    bia_compare_pair(&cli->ctx, a, b, n, md->higher_is_better, &c)) {
		if (!a || !b)
			bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
		code = cli_error(cli);
		goto out;
	}
	char la[400], lb[400];
	snprintf(la, sizeof(la), "%s@%s", ra.workflow, ra.version);
	snprintf(lb, sizeof(lb), "%s@%s", rb.workflow, rb.version);
	if (fmt == OUT_JSON) {
		json_t *rows = json_array();
		for (size_t q = 0; q < c.n_pairs; q++) {
			size_t j = c.order[q];
			json_array_append_new(rows, json_pack("{s:s, s:I, s:o, s:o, s:o}", "stem",
							      ims[j].stem, "image", (json_int_t)ims[j].id,
							      "a", bia_json_real(a[j]), "b",
							      bia_json_real(b[j]), "diff",
							      bia_json_real(c.diff[j])));
		}
		json_t *left = json_array();
		for (size_t j = 0; j < n; j++)
			if (isnan(c.diff[j]))
				json_array_append_new(left, json_string(ims[j].stem));
		json_t *pa = json_loads(ra.params ? ra.params : "{}", 0, NULL);
		json_t *pb = json_loads(rb.params ? rb.params : "{}", 0, NULL);
		int few = c.n_pairs < BIA_LB_MIN_IMAGES;
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:{s:I, s:s, s:o}, s:{s:I, s:s, s:o}, s:I, s:I, s:I, s:I, s:I, "
			"s:o, s:o, s:o, s:o, s:{s:o, s:o, s:s}, s:o, s:o}",
			"problem", p.name, "metric", md->code, "direction",
			md->higher_is_better ? "higher" : "lower", "a", "run", (json_int_t)ida,
			"entry", la, "params", pa ? pa : json_object(), "b", "run", (json_int_t)idb,
			"entry", lb, "params", pb ? pb : json_object(), "n_pairs",
			(json_int_t)c.n_pairs, "n_left_out", (json_int_t)c.n_nan, "wins",
			(json_int_t)c.wins, "ties", (json_int_t)c.ties, "losses", (json_int_t)c.losses,
			"mean_diff", bia_json_real(c.mean_diff), "median_diff",
			bia_json_real(c.median_diff), "cohen_dz", bia_json_real(c.cohen_dz),
			"rank_biserial", bia_json_real(c.rank_biserial), "wilcoxon", "statistic",
			few ? json_null() : bia_json_real(c.w.statistic), "pvalue",
			few ? json_null() : bia_json_real(c.w.pvalue), "method",
			c.w.exact ? "exact" : "normal", "images", rows, "left_out", left);
		json_object_set_new(o, "too_few_images", json_boolean(few));
		if (few)
			json_object_set_new(o, "note", json_string(too_few_note(c.n_pairs)));
		cli_print_object(stdout, o, OUT_JSON);
		json_decref(o);
		goto out;
	}
	char md1[32], md2[32], dz[32], rb_s[32], pv[32];
	fmt_num(md1, sizeof(md1), c.mean_diff);
	fmt_num(md2, sizeof(md2), c.median_diff);
	fmt_num(dz, sizeof(dz), c.cohen_dz);
	fmt_num(rb_s, sizeof(rb_s), c.rank_biserial);
	int few = c.n_pairs < BIA_LB_MIN_IMAGES;
	fmt_p(pv, sizeof(pv), few ? NAN : c.w.pvalue);
	if (fmt == OUT_CSV)
		printf("stem,a,b,diff\n");
	else {
		char pta[1024], ptb[1024];
		params_text(ra.params, pta, sizeof(pta));
		params_text(rb.params, ptb, sizeof(ptb));
		printf("%sA = run %lld (%s%s%s), B = run %lld (%s%s%s) on '%s', %s (%s is better)%s\n",
		       fmt == FMT_MD ? "**" : "", (long long)ida, la, pta[0] ? ", " : "", pta,
		       (long long)idb, lb, ptb[0] ? ", " : "", ptb, p.name, md->code,
		       md->higher_is_better ? "higher" : "lower", fmt == FMT_MD ? "**" : "");
		if (few)
			printf("%s%s\n", fmt == FMT_MD ? "* " : "", too_few_note(c.n_pairs));
		printf("%s%zu images compared, %zu left out (no value); A wins %zu, ties %zu, loses "
		       "%zu\n",
		       fmt == FMT_MD ? "* " : "", c.n_pairs, c.n_nan, c.wins, c.ties, c.losses);
		printf("%smean difference A - B %s, median %s; Cohen's dz %s, rank-biserial %s "
		       "(positive: A better); Wilcoxon p = %s (%s)\n\n",
		       fmt == FMT_MD ? "* " : "", md1, md2, dz, rb_s, pv,
		       c.w.exact ? "exact" : "normal approximation");
		if (fmt == FMT_MD)
			printf("| image | A | B | A - B |\n|---|---|---|---|\n");
		else
			printf("%-32s %10s %10s %10s\n", "image", "A", "B", "A - B");
	}
	for (size_t q = 0; q < c.n_pairs; q++) {
		size_t j = c.order[q];
		char x[32], y[32], d[32];
		fmt_num(x, sizeof(x), a[j]);
		fmt_num(y, sizeof(y), b[j]);
		fmt_num(d, sizeof(d), c.diff[j]);
		if (fmt == OUT_CSV)
			printf("%s,%s,%s,%s\n", ims[j].stem, x, y, d);
		else if (fmt == FMT_MD)
			printf("| %s | %s | %s | %s |\n", ims[j].stem, x, y, d);
		else
			printf("%-32s %10s %10s %10s\n", ims[j].stem, x, y, d);
	}
out:
	bia_compare_release(&c);
	free(a);
	free(b);
	free(ims);
	if (have_p)
		bia_problem_release(&p);
	bia_run_release(&ra);
	bia_run_release(&rb);
	return code;
}

/* ------------------------------------------------------------------ sweep */

#define SWEEP_MAX 1000

/* Values of one --param: "NAME=A:B:STEP" (numbers), "NAME=V1,V2", or one. */
static int sweep_values(const char *spec, char ***pvals, size_t *pn, char *name, size_t namesz)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || (size_t)(eq - spec) >= namesz)
		return -1;
	snprintf(name, namesz, "%.*s", (int)(eq - spec), spec);
	const char *v = eq + 1;
	char **vals = NULL;
	size_t n = 0;
	double a, b, st;
	char tail;
	if (sscanf(v, "%lf:%lf:%lf%c", &a, &b, &st, &tail) == 3) {
		if (!(st > 0) || !(b >= a) || !isfinite(a) || !isfinite(b) ||
		    (b - a) / st >= SWEEP_MAX)
			return -2;
		size_t m = (size_t)floor((b - a) / st + 1e-9) + 1;
		vals = bia_calloc(m, sizeof(char *));
		if (!vals)
			return -3;
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
			return -3;
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
	*pvals = vals;
	*pn = n;
	return 0;
}

int cmd_sweep(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"param", required_argument, NULL, 'p'},
					   {"images", required_argument, NULL, 'i'},
					   {"metric", required_argument, NULL, 'm'},
					   {"seed", required_argument, NULL, 's'},
					   {"resamples", required_argument, NULL, 'r'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *specs[64];
	size_t nspecs = 0;
	char *images = NULL;
	const char *metric = NULL;
	unsigned long long seed = BIA_LB_DEFAULT_SEED, reps = BIA_LB_DEFAULT_REPS;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (nspecs == 64)
				return cli_usage_error(sweep_usage, "at most 64 --param");
			specs[nspecs++] = optarg;
			break;
		case 'i':
			images = optarg;
			break;
		case 'm':
			metric = optarg;
			break;
		case 's':
			if (parse_reps_seed(optarg, UINT64_MAX, &seed))
				return cli_usage_error(sweep_usage, "bad --seed '%s'", optarg);
			break;
		case 'r':
			if (parse_reps_seed(optarg, 1000000, &reps) || !reps)
				return cli_usage_error(sweep_usage,
						       "--resamples must be 1..1000000, not '%s'",
						       optarg);
			break;
		case 'f':
			if ((fmt = parse_format(optarg)) < 0)
				return cli_usage_error(sweep_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(sweep_usage, stdout);
			return 0;
		default:
			return cli_usage_error(sweep_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(sweep_usage, "sweep takes WORKFLOW and PROBLEM");
	if (!nspecs)
		return cli_usage_error(sweep_usage, "sweep needs at least one --param");
	const char *workflow = argv[optind];
	char names[64][128];
	char **vals[64];
	size_t nvals[64];
	size_t total = 1;
	int code = 0;
	memset(vals, 0, sizeof(vals));
	memset(nvals, 0, sizeof(nvals));
	for (size_t i = 0; i < nspecs; i++) {
		int r = sweep_values(specs[i], &vals[i], &nvals[i], names[i], sizeof(names[i]));
		if (r || !nvals[i]) {
			code = cli_usage_error(sweep_usage,
					       r == -2 ? "bad range in '%s' (A:B:STEP with A <= B, "
							 "STEP > 0, at most 1000 values)"
						       : "bad --param '%s' (NAME=A:B:STEP or "
							 "NAME=V1,V2,...)",
					       specs[i]);
			goto free_vals;
		}
		total *= nvals[i];
		if (total > SWEEP_MAX) {
			code = cli_usage_error(sweep_usage, "the grid has more than %d settings",
					       SWEEP_MAX);
			goto free_vals;
		}
	}
	/* values equal by the parameter's type are one setting: "1,1.0" is
	 * one value of a Number */
	{
		struct bia_descriptor d;
		if (bia_workflow_descriptor(&cli->ctx, &cli->inst, workflow, &d) == 0) {
			total = 1;
			for (size_t i = 0; i < nspecs; i++) {
				const struct bia_wf_param *wp = bia_descriptor_param(&d, names[i]);
				size_t m = 0;
				for (size_t j = 0; j < nvals[i]; j++) {
					int dup = 0;
					for (size_t q = 0; q < m && !dup; q++)
						dup = wp ? bia_wf_same_value(wp, vals[i][q], vals[i][j])
							 : !strcmp(vals[i][q], vals[i][j]);
					if (dup)
						free(vals[i][j]);
					else
						vals[i][m++] = vals[i][j];
				}
				nvals[i] = m;
				total *= m;
			}
			bia_descriptor_release(&d);
		}
		bia_ctx_clear(&cli->ctx);
	}
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind + 1], &p)) {
		code = cli_error(cli);
		goto free_vals;
	}
	struct bia_image_rec *ims = NULL;
	size_t nims = 0;
	struct setting *s = bia_calloc(total, sizeof(*s));
	struct entry *e = NULL;
	size_t k = 0;
	int64_t *ids = bia_calloc(total, sizeof(int64_t));
	const struct bia_metric_def *md = pick_metric(cli, &p, metric);
	if (!md) {
		code = cli_usage_error(sweep_usage, "%s", cli->ctx.msg);
		goto out;
	}
	if (!s || !ids) {
		bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
		code = cli_error(cli);
		goto out;
	}
	if (select_images(cli, &p, images, &ims, &nims)) {
		code = cli_error(cli);
		goto out;
	}
	for (size_t g = 0; g < total; g++) {
		s[g].workflow = workflow;
		s[g].params = bia_calloc(nspecs, sizeof(char *));
		s[g].nparams = nspecs;
		size_t rest = g;
		for (size_t i = nspecs; i-- > 0;) {
			size_t vi = rest % nvals[i];
			rest /= nvals[i];
			size_t len = strlen(names[i]) + strlen(vals[i][vi]) + 2;
			char *kv = malloc(len);
			if (kv)
				snprintf(kv, len, "%s=%s", names[i], vals[i][vi]);
			if (s[g].params)
				s[g].params[i] = kv;
			else
				free(kv);
		}
	}
	if (run_missing(cli, &p, s, total, ims, nims, 1)) {
		/* wrong parameters are usage errors, as for run */
		code = cli_error(cli);
		goto out;
	}
	size_t nids = 0;
	for (size_t g = 0; g < total; g++)
		if (s[g].run_id)
			ids[nids++] = s[g].run_id;
	if (collect_entries(cli, &p, NULL, 0, ids, nids, &e, &k)) {
		code = cli_error(cli);
		goto out;
	}
	if (nids < total)
		cli_msg("%zu of %zu settings have no succeeded run",
			total - nids, total);
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
	if (k)
		code = leaderboard(cli, &p, md, e, k, ims, nims, (unsigned)reps, seed, fmt, failed);
	else {
		/* no setting succeeded: still say why each failed */
		if (fmt == OUT_JSON) {
			json_t *o = json_pack("{s:s, s:o, s:O}", "problem", p.name, "entries",
					      json_array(), "failed_settings", failed);
			cli_print_object(stdout, o, OUT_JSON);
			json_decref(o);
		} else {
			print_failed(stdout, failed, fmt);
		}
		code = 1;
	}
	json_decref(failed);
	if (!code && nids < total)
		code = 1;
out:
	free_entries(e, k);
	if (s)
		for (size_t g = 0; g < total; g++) {
			for (size_t i = 0; s[g].params && i < nspecs; i++)
				free(s[g].params[i]);
			free(s[g].params);
		}
	free(s);
	free(ids);
	free(ims);
	bia_problem_release(&p);
free_vals:
	for (size_t i = 0; i < nspecs; i++) {
		for (size_t j = 0; j < nvals[i]; j++)
			free(vals[i][j]);
		free(vals[i]);
	}
	return code;
}

/* ------------------------------------------------------------------ rerun */

int cmd_rerun(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"tolerance", required_argument, NULL, 't'},
					   {"no-wait", no_argument, NULL, 'n'},
					   {"format", required_argument, NULL, 'f'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	double tol = 1e-9;
	int fmt = OUT_TABLE, wait = 1, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 't': {
			char *end;
			tol = strtod(optarg, &end);
			if (!*optarg || *end || !(tol >= 0) || !isfinite(tol))
				return cli_usage_error(rerun_usage,
						       "--tolerance must be a number >= 0, not '%s'",
						       optarg);
			break;
		}
		case 'n':
			wait = 0;
			break;
		case 'f':
			if ((fmt = cli_parse_format(optarg)) < 0)
				return cli_usage_error(rerun_usage, "unknown format '%s'", optarg);
			break;
		case 'h':
			fputs(rerun_usage, stdout);
			return 0;
		default:
			return cli_usage_error(rerun_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(rerun_usage, "rerun takes one RUN");
	int64_t id = parse_run_id(argv[optind]);
	if (!id)
		return cli_usage_error(rerun_usage, "bad run id '%s'", argv[optind]);
	struct bia_run o;
	if (bia_store_run_get(&cli->ctx, &cli->inst, id, &o))
		return cli_error(cli);
	int code = 0;
	char **params = NULL, **images = NULL;
	size_t np = 0, ni = 0;
	json_t *pj = json_loads(o.params ? o.params : "{}", 0, NULL);
	json_t *ij = json_loads(o.images ? o.images : "[]", 0, NULL);
	if (!bia_run_state_final(o.state)) {
		bia_fail(&cli->ctx, BIA_EINVAL, "run %lld is %s: rerun a run that has ended",
			 (long long)id, bia_run_state_name(o.state));
		code = cli_error(cli);
		goto out;
	}
	params = bia_calloc(json_object_size(pj) + 1, sizeof(char *));
	images = bia_calloc(json_array_size(ij) + 1, sizeof(char *));
	if (!params || !images) {
		bia_fail(&cli->ctx, BIA_ENOMEM, "out of memory");
		code = cli_error(cli);
		goto out;
	}
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
	req.tolerance = tol;
	int64_t nid;
	if (bia_run_enqueue(&cli->ctx, &cli->inst, &req, &nid)) {
		code = cli_error(cli);
		goto out;
	}
	fprintf(stderr, "queued run %lld: a rerun of run %lld (%s)\n", (long long)nid,
		(long long)id, wf);
	if (cli_ensure_worker(cli)) {
		code = cli_error(cli);
		goto out;
	}
	if (!wait) {
		printf("%lld\n", (long long)nid);
		goto out;
	}
	struct bia_run r;
	if (cli_wait_runs(cli, &nid, 1) || bia_store_run_get(&cli->ctx, &cli->inst, nid, &r)) {
		code = cli_error(cli);
		goto out;
	}
	/* the worker judges a rerun when it ends; judge it here if it could not */
	if (!r.verdict[0]) {
		bia_run_release(&r);
		if (bia_run_reproduction(&cli->ctx, &cli->inst, nid, NULL) ||
		    bia_store_run_get(&cli->ctx, &cli->inst, nid, &r)) {
			code = cli_error(cli);
			goto out;
		}
	}
	json_t *det = json_loads(r.verdict_detail, 0, NULL);
	json_t *out = json_pack("{s:I, s:I, s:s, s:s, s:o, s:o}", "run", (json_int_t)nid,
				"rerun_of", (json_int_t)id, "status", bia_run_state_name(r.state), "reproduction",
				r.verdict, "tolerance", json_real(r.tolerance), "detail",
				det ? det : json_object());
	if (fmt != OUT_JSON && det) { /* the details as lines of their own */
		const char *dk;
		json_t *dv;
		json_object_foreach(det, dk, dv) json_object_set(out, dk, dv);
		json_object_del(out, "detail");
	}
	cli_print_object(stdout, out, fmt == OUT_JSON ? OUT_JSON : OUT_TABLE);
	json_decref(out);
	code = strcmp(r.verdict, "not-reproduced") ? 0 : 1;
	bia_run_release(&r);
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
	return code;
}
