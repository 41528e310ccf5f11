/* Benchmarks over the runs of an instance (docs/benchmarks.md): the
 * leaderboard of a problem, the paired comparison of two runs, parameter
 * sweeps and reruns. Each gives the JSON that `biaflows bench | compare |
 * sweep | rerun --format json` prints (a new reference); the statistics
 * are leaderboard.h's. Runs that must be executed first are queued here;
 * how they are executed and waited for is the caller's (hooks).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BENCH_H
#define BIA_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/leaderboard.h"
#include "store/store.h"
#include "util/util.h"

/* What a benchmark tells its caller while it works, and how the runs it
 * queued get executed. Every member may be NULL. */
enum bia_bench_note {
	BIA_BENCH_QUEUED, /* "queued run N: ..." */
	BIA_BENCH_NOTICE  /* a run rescored or that did not succeed, a sweep's missing settings */
};
struct bia_bench_hooks {
	/* runs were queued: see that a worker executes them (the CLI starts a
	 * worker process) */
	int (*start_worker)(void *user, struct bia_ctx *ctx);
	/* wait until every run of ids has ended; NULL: bia_runs_wait */
	int (*wait)(void *user, struct bia_ctx *ctx, const int64_t *ids, size_t n);
	/* one line of text for the user (no newline) */
	void (*note)(void *user, enum bia_bench_note kind, const char *line);
	void *user;
};

/* The leaderboard of a problem: one entry per (workflow version,
 * parameters), its latest succeeded run covering the images. */
struct bia_bench_request {
	const char *problem;	      /* name or id */
	const char *const *workflows; /* NAME or NAME@VERSION: only these, each run first
				       * with its default parameters when it has no
				       * succeeded run; NULL: every workflow of the class */
	size_t nworkflows;
	const char *metric;	      /* NULL: the problem's main metric, else the class's */
	const char *const *images;    /* stems or ids; 0: every image of the problem */
	size_t nimages;
	uint64_t seed;		      /* of the bootstrap */
	unsigned resamples;
	int no_run;		      /* queue nothing, rank what exists */
	int *bad_request;	      /* OUT, may be NULL: 1 when refused for the metric */
};
/* *pout: {problem, class, metric, direction, images, seed, resamples,
 * alpha, metrics_version, images_complete, too_few_images, note?,
 * companion_metric, friedman, robustness, entries: [{rank, entry, params,
 * run, n, n_nan, mean, sd, median, min, max, ci95, ci_undefined_resamples,
 * rank_interval, median_rank, mean_rank, mean_rank_rank, leader,
 * vs_leader, tied_with_first, rank_shared, companion_mean?}]} in rank
 * order. A run scored against an older GT or metric library is rescored
 * first (a notice). BIA_ENOENT when there is nothing to rank. */
int bia_bench_json(struct bia_ctx *ctx, struct bia_instance *inst,
		   const struct bia_bench_request *req, const struct bia_bench_hooks *hooks,
		   json_t **pout);

/* Paired comparison of two runs of one problem on every image of it. */
struct bia_compare_request {
	int64_t run_a, run_b;
	const char *metric;	/* NULL: the problem's main metric */
	int *bad_request;	/* OUT, may be NULL: 1 when refused for the metric */
};
/* *pout: {problem, metric, direction, a: {run, entry, params}, b, n_pairs,
 * n_left_out, wins, ties, losses, mean_diff, median_diff, cohen_dz,
 * rank_biserial, wilcoxon: {statistic, pvalue, method}, images: [{stem,
 * image, a, b, diff}] (from A's best difference to its worst), left_out,
 * too_few_images, note?}; differences are A - B, wins are A's. */
int bia_compare_runs_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_compare_request *req,
			  const struct bia_bench_hooks *hooks, json_t **pout);

/* A parameter sweep: every combination of the swept values, reusing
 * succeeded runs of the same setting (values equal by the parameter's
 * type are one setting), at most BIA_SWEEP_MAX settings. */
#define BIA_SWEEP_MAX 1000
#define BIA_SWEEP_MAX_PARAMS 64
struct bia_sweep_param {
	char name[128];
	char **values;	/* malloc'd, each malloc'd */
	size_t nvalues;
};
/* "NAME=A:B:STEP" (numbers from A to B inclusive, at most BIA_SWEEP_MAX),
 * "NAME=V1,V2,..." or "NAME=V". BIA_EINVAL for a bad spec, BIA_ELIMIT for
 * a bad range, BIA_ENOMEM; no message: the caller names its argument. */
int bia_sweep_param_parse(const char *spec, struct bia_sweep_param *out);
void bia_sweep_param_release(struct bia_sweep_param *p);

struct bia_sweep_request {
	const char *workflow;	   /* NAME or NAME@VERSION */
	const char *problem;
	const char *const *params; /* bia_sweep_param_parse's specs, at most
				    * BIA_SWEEP_MAX_PARAMS */
	size_t nparams;
	const char *metric;
	const char *const *images;
	size_t nimages;
	uint64_t seed;
	unsigned resamples;
	int *bad_request;	   /* OUT, may be NULL: 1 when refused for a spec or the metric */
};
/* *pout: the leaderboard of the settings (as bia_bench_json) with
 * failed_settings: [{params, run, status, reason}] (the settings whose run
 * did not succeed; reason the last line of its log); without any
 * succeeded setting only {problem, entries: [], failed_settings}. Missing
 * runs are queued, executed (hooks) and waited for. */
int bia_sweep_json(struct bia_ctx *ctx, struct bia_instance *inst,
		   const struct bia_sweep_request *req, const struct bia_bench_hooks *hooks,
		   json_t **pout);

/* Queue a rerun of a run that has ended from its record (workflow
 * version, parameters, images, limits) with a metric tolerance; a queued
 * note, then hooks->start_worker. *pnew gets its id. */
int bia_rerun_enqueue(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run,
		      double tolerance, const struct bia_bench_hooks *hooks, int64_t *pnew);
/* The verdict of a rerun that has ended (judged now when its worker did
 * not): {run, rerun_of, status, reproduction, tolerance, detail}. */
int bia_rerun_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t rerun,
		   json_t **pout);

/* "a=1 b=x": a parameters object (JSON text, NULL: {}) on one line, values
 * as their argv text ("?" when not a string). */
void bia_bench_params_text(const char *json, char *out, size_t outsz);
/* The parameters of entries[i] (a leaderboard's "entries": "entry",
 * "params") whose value differs in another entry of the same workflow
 * version, as bia_bench_params_text gives them (keys sorted). */
void bia_bench_varying_params(const json_t *entries, size_t i, char *out, size_t outsz);

#endif
