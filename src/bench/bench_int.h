/* Private to src/bench: what leaderboards, comparisons, sweeps and reruns
 * share.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BENCH_INT_H
#define BIA_BENCH_INT_H

#include "bench/bench.h"
#include "metrics/metrics.h"
#include "runs/runs.h"

/* A line for the user through hooks->note (nothing without one). */
void bia__bench_note(const struct bia_bench_hooks *h, enum bia_bench_note kind,
		     const char *fmt, ...) BIA_PRINTF(3, 4);

/* The metric to rank on: want, else the problem's, else the class's.
 * NULL with BIA_EINVAL on ctx (and *bad = 1) when it is not one of the
 * class. */
const struct bia_metric_def *bia__bench_pick_metric(struct bia_ctx *ctx,
						    const struct bia_problem *p,
						    const char *want, int *bad);

/* Why a leaderboard or comparison of n images has no intervals, tests or
 * verdicts. */
void bia__bench_too_few_note(size_t n, char *out, size_t outsz);

/* values[j] = the run's value of `metric` on image ims[j], NaN if none. A
 * run scored against GT versions that are no longer current (or by
 * another metric library) is rescored first, with a notice, so it is
 * never ranked on stale scores. */
int bia__bench_run_values(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_bench_hooks *h, int64_t run_id,
			  const struct bia_image_rec *ims, size_t n, const char *metric,
			  double *values);

/* A (workflow, parameters) setting that must have a succeeded run. */
struct bia__bench_setting {
	const char *workflow;	 /* NAME or NAME@VERSION */
	char **params;		 /* "id=value" */
	size_t nparams;
	int64_t run_id;		 /* OUT */
	int64_t failed_run;	 /* OUT: the run that did not succeed, 0 */
	char status[16];	 /* OUT: its status */
	char why[512];		 /* OUT: the last line of its log, else its reason */
};
/* Ensure a succeeded run of each setting exists on the images: queue the
 * missing ones (unless !may_run; a refused setting queues nothing), have
 * them executed and wait for them. s[i].run_id gets the setting's run (0
 * when it did not succeed: failed_run, status and why say so, and a
 * notice). */
int bia__bench_run_missing(struct bia_ctx *ctx, struct bia_instance *inst,
			   const struct bia_bench_hooks *h, const struct bia_problem *p,
			   struct bia__bench_setting *s, size_t ns,
			   const struct bia_image_rec *ims, size_t nims, int may_run);

/* An entry of a leaderboard. */
struct bia__bench_entry {
	int64_t run_id;
	char label[400];   /* workflow@version */
	char params[1024]; /* the parameters that vary between entries of the label */
	char *params_json;
	double companion;  /* mean of the companion of a one-sided metric, NaN */
};
/* Entries of a problem: the latest succeeded run of every (version,
 * params), only of the named workflows (names != NULL) / the given runs
 * (nonly > 0). */
int bia__bench_collect(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_problem *p, const char *const *names, size_t nnames,
		       const int64_t *only, size_t nonly, struct bia__bench_entry **pe,
		       size_t *pk);
void bia__bench_free_entries(struct bia__bench_entry *e, size_t k);
/* The leaderboard of entries e[0..k) over ims as JSON (bia_bench_json's). */
int bia__bench_board_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_bench_hooks *h, const struct bia_problem *p,
			  const struct bia_metric_def *md, struct bia__bench_entry *e, size_t k,
			  const struct bia_image_rec *ims, size_t n, unsigned reps,
			  uint64_t seed, json_t **pout);

#endif
