/* Benchmark metrics of the nine BIAFLOWS problem classes, computed
 * in-process (no external tools), as specified in docs/metrics.md.
 *
 * One call scores one prediction against one ground truth. Values are
 * doubles (NaN and infinities allowed); counts are whole numbers stored as
 * doubles and flagged in the metric table. Per-object results (TP/FN/FP,
 * split, merged; paired/missed/spurious tracks; AOGM operations) are
 * returned as a JSON array when asked for.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_METRICS_H
#define BIA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"
#include "image/image.h"
#include "util/classes.h"
#include "util/util.h"
#include "util/util.h"

/* Version of the metric library: stored with every score. Bump when any
 * value can change. */
#define BIA_METRICS_VERSION "1.1.0"

/* ------------------------------------------------------------ the table */

struct bia_metric_def {
	const char *code;	 /* key in results, exactly as BIAFLOWS ("DC") */
	const char *name;	 /* human name ("Dice coefficient") */
	enum bia_class cls;	 /* problem class */
	int higher_is_better;	 /* 1: larger is better; 0: smaller is better */
	const char *unit;	 /* "", "px", "fraction", "count" */
	int is_count;		 /* 1: an integer count (printed as integer) */
	int extra;		 /* 1: beyond BIAFLOWS (JI, AP50, PQ, CTC_SEG, DET) */
	const char *description; /* one sentence */
};

/* All metrics, grouped by class, BIAFLOWS ones first in BIAFLOWS order. */
const struct bia_metric_def *bia_metric_table(size_t *pn);
/* The metrics of one class, in output order (pointer into the table). */
const struct bia_metric_def *bia_metric_class(enum bia_class cls, size_t *pn);
/* A metric of a class by code (case-sensitive); NULL if unknown. */
const struct bia_metric_def *bia_metric_find(enum bia_class cls, const char *code);
/* Default main metric of a class ("mAP" for ObjSeg ...). */
const char *bia_metric_main(enum bia_class cls);
/* A one-sided metric (it penalises only misses, or only false detections:
 * TreTrc TFNR, ObjDet RE...) has a companion that shows the other side
 * (TFPR, PR...); NULL for balanced metrics. Leaderboards ranked on a
 * one-sided metric show its companion beside it. */
const char *bia_metric_companion(enum bia_class cls, const char *code);
/* Whether a refusal message of the metrics is about the ground truth (it
 * names the ground truth before any mention of the prediction), so that
 * callers prefix it with the ground-truth file, not the prediction's. */
int bia_metric_msg_about_gt(const char *msg);

/* ------------------------------------------------------------ parameters */

struct bia_metric_params {
	double gating_dist; /* GATING_DIST (ObjDet, PrtTrk, TreTrc, LooTrc), default 5 */
};

void bia_metric_params_init(struct bia_metric_params *p);
/* Set one parameter from "name=value" text (name case-insensitive, e.g.
 * gating_dist=5). Unknown names and bad values are BIA_EINVAL. */
int bia_metric_params_set(struct bia_ctx *ctx, struct bia_metric_params *p,
			  const char *name_eq_value);

/* ---------------------------------------------------------------- inputs */

/* What one scoring call gets. Mask classes use pred/gt images; TreTrc uses
 * the SWC trees; ObjTrk uses the label stacks plus the CTC track files.
 * Images have the class's axis meaning already applied by the reader
 * (ObjTrk and PrtTrk: frames on T). */
struct bia_metric_input {
	const struct bia_image *pred;	       /* prediction mask/labels */
	const struct bia_image *gt;	       /* ground-truth mask/labels */
	const struct bia_swc *pred_swc;	       /* TreTrc */
	const struct bia_swc *gt_swc;	       /* TreTrc */
	const struct bia_ctc_tracks *pred_trk; /* ObjTrk */
	const struct bia_ctc_tracks *gt_trk;   /* ObjTrk */
};

/* ---------------------------------------------------------------- results */

#define BIA_METRICS_MAX 24

struct bia_metric_result {
	enum bia_class cls;		/* class scored */
	size_t n;			/* metrics set */
	const char *codes[BIA_METRICS_MAX]; /* table codes (static strings) */
	double values[BIA_METRICS_MAX];	/* their values */
	json_t *params;			/* {"GATING_DIST": 5, ...} as reported */
	json_t *deviations;		/* array of strings: decisions applied */
	json_t *warnings;		/* array of strings */
	json_t *objects;		/* per-object records, NULL unless asked */
};

void bia_metric_result_init(struct bia_metric_result *r, enum bia_class cls);
void bia_metric_result_release(struct bia_metric_result *r);
/* Set a metric value (code must be in the class's table). */
void bia_metric_set(struct bia_metric_result *r, const char *code, double v);
/* Value of a metric, NaN if not set. */
double bia_metric_get(const struct bia_metric_result *r, const char *code);
/* Add a warning / a deviation note (deduplicated). */
void bia_metric_warn(struct bia_metric_result *r, const char *fmt, ...) BIA_PRINTF(2, 3);
void bia_metric_deviation(struct bia_metric_result *r, const char *text);
/* Append a per-object record (takes the reference) when objects are wanted. */
void bia_metric_object(struct bia_metric_result *r, json_t *rec);

/* Score one pair. want_objects: fill r->objects. Refuses inputs of the
 * wrong shape or type with a message. r must be initialised. */
int bia_metrics_compute(struct bia_ctx *ctx, enum bia_class cls,
			const struct bia_metric_input *in, const struct bia_metric_params *p,
			int want_objects, struct bia_metric_result *r);

/* Aggregate of one metric over images (BIAFLOWS: min, max, avg, stddev_samp,
 * median), NaN values counted apart. */
struct bia_metric_agg {
	size_t n, n_nan;		   /* non-NaN values, NaN values */
	double min, max, mean, std, median; /* NaN when n = 0; std 0 when n = 1 */
};
void bia_metric_aggregate(const double *v, size_t n, struct bia_metric_agg *out);

/* Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher,
 * separable, unit spacing) of a volume of nx*ny*nz voxels, x fastest:
 * out[i] = squared distance from voxel i to the nearest voxel with
 * feature[i] != 0 (0 on features; INFINITY everywhere if there is none).
 * Returns 0, or -1 when out of memory. Used by the metrics and by C
 * workflows. */
int bia_edt_sq(const uint8_t *feature, size_t nx, size_t ny, size_t nz, float *out);

/* Per-class entry points (src/metrics/<class>.c); called by
 * bia_metrics_compute after generic checks. */
int bia__metrics_objseg(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_sptcnt(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_objdet(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_pixcla(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_tretrc(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_lootrc(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_objtrk(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_prttrk(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);
int bia__metrics_lnddet(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r);

#endif
