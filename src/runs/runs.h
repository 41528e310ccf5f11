/* Runs of a workflow version on a problem: the persistent queue, the
 * worker that drains it (sandboxed execution, ingest of outputs, metrics),
 * and the staging / output-checking code shared with `biaflows exec`.
 * See docs/runs.md for the states, the worker and recovery.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_RUNS_H
#define BIA_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "image/image.h"
#include "store/store.h"
#include "util/util.h"

/* ------------------------------------------- staging and outputs (shared) */

/* One input image: its stem, where it is read from, the staged shape. */
struct bia_stage_entry {
	char stem[256];
	char path[BIA_PATH_MAX]; /* source file (any readable image) */
	char name[256];		 /* original file name when path is a blob, "" to use path */
	uint64_t size[5];	 /* staged image shape X, Y, Z, C, T (filled by staging) */
	int64_t image_id;	 /* instance image id, 0 for a folder */
};

/* Read an image as a class expects it (ObjTrk, PrtTrk: pages on T). */
int bia_runs_read_for_class(struct bia_ctx *ctx, enum bia_class cls, const char *path,
			    struct bia_image *img);

/* The images of a folder as entries sorted by stem; refuses two files with
 * one stem and an empty folder. *pv is malloc'd. */
int bia_runs_scan_inputs(struct bia_ctx *ctx, const char *in_dir,
			 struct bia_stage_entry **pv, size_t *pn);

/* Stage every entry as stage/<stem>.tif (OME-TIFF when Z, C or T > 1),
 * filling its shape. Refuses unreadable images. */
int bia_runs_stage(struct bia_ctx *ctx, enum bia_class cls, const char *stage,
		   struct bia_stage_entry *v, size_t n);

enum bia_output_status { BIA_OUTPUT_OK = 0, BIA_OUTPUT_MISSING, BIA_OUTPUT_INVALID };
/* "ok", "missing", "invalid". */
const char *bia_output_status_name(enum bia_output_status s);

/* Check the output of one input in out_dir: <stem>.tif of the input's
 * shape valid for the class (TreTrc: <stem>.swc; ObjTrk: plus <stem>.txt).
 * The header is read first: a shape other than the input's, or a size over
 * the limits of `limits` (max_pixels, max_image_bytes: the run's memory
 * budget), is refused before any sample is decoded. On success fills the
 * paths (path2 "" unless ObjTrk) and, when view is not NULL, links them into
 * view/. Else fills reason. */
enum bia_output_status bia_runs_check_output(const struct bia_ctx *limits, enum bia_class cls,
					     const struct bia_stage_entry *in,
					     const char *out_dir, const char *view,
					     char path[BIA_PATH_MAX], char path2[BIA_PATH_MAX],
					     char *reason, size_t rsz);

/* ------------------------------------------------------------------ runs */

/* Final statuses: succeeded failed cancelled timed_out. */
int bia_run_status_final(const char *status);
/* The BIAFLOWS numeric code: queued 1, running/ingesting 2, succeeded 3,
 * failed/timed_out 4, cancelled 8 (0 if unknown). */
int bia_run_status_code(const char *status);

struct bia_run_request {
	const char *workflow;	     /* "NAME" (newest) or "NAME@VERSION" */
	const char *problem;	     /* name or id */
	const char *const *params;   /* "id=value" */
	size_t nparams;
	const char *const *images;   /* stems or ids; NULL/0: every image */
	size_t nimages;
	int *bad_params;	     /* OUT, may be NULL: 1 when refused for a parameter */
	int64_t timeout;	     /* seconds, overrides the descriptor's time; 0: not set */
	uint64_t memory;	     /* bytes, overrides the descriptor's memory; 0: not set */
	int64_t processes;	     /* overrides the descriptor's processes; 0: not set */
	int64_t open_files;	     /* overrides the descriptor's open_files; 0: not set */
	uint64_t output;	     /* bytes, overrides the descriptor's output; 0: not set */
	int64_t rerun_of;	     /* a rerun of this run (bia_run_reproduction); 0: none */
	double tolerance;	     /* metric tolerance of a rerun */
	int dry_run;		     /* check everything, queue nothing (*pid = 0) */
};

/* Check everything and queue a run: the version exists, the problem
 * exists, the descriptor's problem-class (when present) is the problem's
 * class, the parameters resolve (BIA_EINVAL naming the parameter), the
 * images exist and have ground truth. Nothing is written when refused, nor
 * with req->dry_run (how a batch is checked before any of it is queued).
 * *pid gets the new run's id. */
int bia_run_enqueue(struct bia_ctx *ctx, struct bia_instance *inst,
		    const struct bia_run_request *req, int64_t *pid);

/* The images of problem p named by refs (stems or ids, each once, in the
 * order given), or all of them when nrefs = 0. Refuses an unknown name and
 * an empty selection. *pv is malloc'd (free it). */
int bia_run_select_images(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_problem *p, const char *const *refs, size_t nrefs,
			  struct bia_image_rec **pv, size_t *pn);

/* The parameters a run of `workflow` ("NAME" or "NAME@VERSION") with these
 * "id=value" settings would record: JSON object text (defaults filled in,
 * keys sorted, as stored on runs), malloc'd into *pjson, and the version's
 * id. Refused like bia_run_enqueue refuses parameters. */
int bia_run_resolve_params(struct bia_ctx *ctx, struct bia_instance *inst,
			   const char *workflow, const char *const *params, size_t nparams,
			   char **pjson, int64_t *pversion_id);

/* For a rerun that has ended: compare it with the run it repeats and store
 * the verdict (reproduced-exact: every output file identical;
 * reproduced-within-tolerance: every metric value within the rerun's
 * tolerance; not-reproduced otherwise, or when either run did not succeed).
 * A run that is not a rerun, or not finished, is left alone. *verdict
 * (32 bytes, may be NULL) gets it. */
int bia_run_reproduction(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 char *verdict);

/* Ask a run to stop; *pstate: "dequeued" (was queued, now cancelled), "requested"
 * (the worker kills it), or the final status it already had. */
int bia_run_cancel(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   char pstate[16]);

/* <instance>/runs/<id> and its log. */
int bia_run_dir(const struct bia_instance *inst, int64_t id, char *out, size_t outsz);
int bia_run_log_path(const struct bia_instance *inst, int64_t id, char *out, size_t outsz);
/* Why a run failed, in one line: the last line the workflow wrote to its log
 * (the worker's own lines and the timestamp left out), else `fallback` (the
 * run's reason). */
void bia_run_failure_line(const struct bia_instance *inst, int64_t id, const char *fallback,
			  char *out, size_t outsz);

/* The number of worker slots: config "max_concurrent_runs" (default 1,
 * clamped to 1..64). */
int bia_runs_max_concurrent(const struct bia_instance *inst);

/* Interrupted-run policy: config "on_interrupted", "fail" (default) or
 * "requeue" (1). */
int bia_runs_requeue_policy(const struct bia_instance *inst);
#define BIA_RUN_MAX_ATTEMPTS 3

/* Try to take the lock of a worker slot exclusively without waiting:
 * slot 0 is <instance>/worker.lock, slot K > 0 <instance>/worker.lock.K.
 * Returns the fd (close it to release), -1 if another process holds it,
 * or -2 with a message on ctx on error. */
int bia_worker_lock_slot(struct bia_ctx *ctx, const struct bia_instance *inst, int slot);
/* Slot 0. */
int bia_worker_lock(struct bia_ctx *ctx, const struct bia_instance *inst);
/* The first free slot of the max_concurrent_runs ones: its fd, *pslot its
 * number; -1 when every slot is held, -2 on error. */
int bia_worker_lock_any(struct bia_ctx *ctx, const struct bia_instance *inst, int *pslot);

/* Recovery: runs left running or ingesting by a worker that is gone (the
 * run's slot is ours, or nobody holds its slot lock) become failed
 * "interrupted: worker died", or with on_interrupted "requeue" go back to
 * queued (outputs and scores removed) until BIA_RUN_MAX_ATTEMPTS attempts.
 * Must hold the lock of slot `myslot`. *pn gets how many. */
int bia_runs_recover(struct bia_ctx *ctx, struct bia_instance *inst, int myslot, size_t *pn);

/* The worker: take a free slot (returns 0 at once with *pdrained = 0 if
 * every slot is held), recover, then claim and execute queued runs
 * until the queue is empty. */
int bia_worker_run(struct bia_ctx *ctx, struct bia_instance *inst, int *pdrained);

/* ------------------------------------------------------------ error maps */

/* The error categories of a class's error map, in display order,
 * NULL-terminated ("tp", "fp", "fn", "split", "merged" for ObjSeg); NULL
 * when the class has no error map (PixCla). docs/benchmarks.md. */
const char *const *bia_error_categories(enum bia_class cls);
/* Turn the metric library's per-object records of one image (the `objects`
 * array of bia_metrics_compute) into ri's error map: one object row per
 * record (ri->objects) and a count for every category of the class, zeros
 * included (ri->errors). Replaces what ri held. A class without an error
 * map leaves both empty. Refuses records it cannot map (BIA_EFORMAT). */
int bia_error_map(struct bia_ctx *ctx, enum bia_class cls, json_t *objects,
		  struct bia_run_image *ri);

/* A run as JSON: the record plus, when detail, per-image outputs and
 * scores and per-metric aggregates; always the main metric's mean. */
json_t *bia_run_json(struct bia_ctx *ctx, struct bia_instance *inst,
		     const struct bia_run *r, int detail);

/* ------------------------------------------------------------ rescoring */

/* How many images of a succeeded run were scored against a GT version that
 * is no longer current, or by another metric library version (0: its scores
 * are current). */
int bia_run_stale(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		  size_t *pnstale);
/* Score a succeeded run's stored outputs again against the current GT of
 * each image (only_stale: only the stale images); the replaced scores stay
 * in run_score_history; the run records the new dataset digest and metric
 * library version. *preport: {run, workflow, problem, images, stale_images,
 * rescored_images, main_metric, before, after} (main metric means). */
int bia_run_rescore(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		    int only_stale, json_t **preport);
/* Every succeeded run of a problem (only_stale: the stale ones); *preport
 * is an array of bia_run_rescore reports. */
int bia_problem_rescore(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_problem *p, int only_stale, json_t **preport);

#endif
