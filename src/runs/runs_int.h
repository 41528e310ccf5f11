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

/* Remove runs/<id>/{app,in,out}: the working folders of a run (its log
 * stays). When a run ends and when an interrupted run is recovered. */
void bia__runs_remove_work_dirs(const struct bia_instance *inst, int64_t id);

/* A line of a run's log (fd; -1: nowhere), "<time> worker: ...", also
 * published as a log event of run_id. */
void bia__runs_log(int fd, int64_t run_id, const char *fmt, ...) BIA_PRINTF(3, 4);

/* The current GT version among v (NULL if none). */
const struct bia_gt_version *bia__runs_current_gt(const struct bia_gt_version *v, size_t n);

#endif
