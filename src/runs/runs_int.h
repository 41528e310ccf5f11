/* Private to src/runs: what the worker, rescoring and reruns share.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_RUNS_INT_H
#define BIA_RUNS_INT_H

#include "metrics/metrics.h"
#include "runs/runs.h"

/* Score one image of a run: the prediction (p1, and p2 for ObjTrk's track
 * file) or, when ok is 0, an empty prediction of the GT's shape, against
 * the image's current GT version. Fills ri->scores and the error map. */
int bia__runs_score_image(struct bia_ctx *ctx, struct bia_instance *inst, enum bia_class cls,
			  const struct bia_metric_params *mp, int ok, const char *p1,
			  const char *p2, struct bia_run_image *ri);
/* The problem's metric parameters (problem set --param); an ignored one is
 * noted in the log fd (-1: nowhere). */
void bia__runs_problem_params(const struct bia_problem *p, struct bia_metric_params *mp,
			      int logfd);

/* The dataset digest of a run's images: sha256 over the sorted lines
 * "stem image-digest gt-digests" (current GT versions). */
int bia__runs_dataset_digest(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_image_rec *im, size_t n, char out[BIA_SHA256_HEX]);

/* Remove runs/<id>/{app,in,out,job}: the working folders of a run (its log
 * stays). When a run ends and when an interrupted run is recovered. */
void bia__runs_remove_work_dirs(const struct bia_instance *inst, int64_t id);

/* The runs not yet ended (queued, running, ingesting), every one. */
int bia__runs_unfinished(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run **pv,
			 size_t *pn);

/* Whether r is a run of a remote executor (SLURM) whose job was submitted
 * and whose worker is gone (we hold slot myslot): a worker re-attaches. */
int bia__runs_adoptable(const struct bia_instance *inst, const struct bia_run *r, int myslot);

/* A line of a run's log (fd; -1: nowhere), "<time> worker: ...", also
 * published as a log event of run_id. */
void bia__runs_log(int fd, int64_t run_id, const char *fmt, ...) BIA_PRINTF(3, 4);

/* The current GT version among v (NULL if none). */
const struct bia_gt_version *bia__runs_current_gt(const struct bia_gt_version *v, size_t n);

/* SLURM job ids, "slurm:CLUSTER:EPOCH:NAME:ID[,ID...]" (src/runs/slurm.c),
 * and what squeue / sacct say of them: parsed apart so that tests can
 * feed them SLURM's answers. */
#define BIA_SLURM_MAX_BATCHES 64
struct bia_slurm_job {
	char cluster[64];
	int64_t epoch;			      /* submit time, seconds */
	char name[BIA_JOB_NAME_MAX];	      /* the job name: unique per run attempt */
	size_t nids;
	int64_t ids[BIA_SLURM_MAX_BATCHES]; /* one per batch of images */
};
struct bia_slurm_info {
	int found;	/* by squeue or sacct, with our id *and* our job name */
	int active;	/* not ended */
	char state[32]; /* SLURM's state word: COMPLETED, FAILED, ... */
	int exit_code;	/* sacct's ExitCode "N:S" */
	int exit_signal;
};
/* 0, or -1 if s is not such an id. */
int bia__slurm_job_parse(const char *s, struct bia_slurm_job *out);
/* Rows "ID|NAME|STATE[|N:S]" of squeue (has_exit 0) or sacct into info[]
 * (one per id of j). */
void bia__slurm_rows(const struct bia_slurm_job *j, const char *text, int has_exit,
		     struct bia_slurm_info *info);
/* Active if any id is, ended when every id ended, else unknown. */
enum bia_job_state bia__slurm_state(const struct bia_slurm_job *j,
				    const struct bia_slurm_info *info);

#endif
