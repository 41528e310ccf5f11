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

#endif
