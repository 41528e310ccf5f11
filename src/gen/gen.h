/* Synthetic datasets with ground truth for the nine BIAFLOWS problem
 * classes (our own SIMCEP / CytoPacq / TREES / VascuSynth-like generators),
 * deterministic perturbations of ground truth into predictions, a simple
 * baseline workflow per class, and side-by-side previews.
 *
 * Everything is a pure function of the options and the seed: the same
 * options give byte-identical files. Randomness comes from our own PRNG
 * (xoshiro256** seeded by splitmix64), one stream per image and purpose.
 * See docs/gen.md.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_GEN_H
#define BIA_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"
#include "image/image.h"
#include "util/classes.h"
#include "util/util.h"
#include "util/util.h"

/* Version of the generators: written to dataset.json. Bump whenever the
 * output of any generator can change for the same options. */
#define BIA_GEN_VERSION "1.0.0"

/* Bounds of the options (refused outside with a clear message). */
#define BIA_GEN_MAX_N 10000	     /* images per dataset */
#define BIA_GEN_MIN_XY 16	     /* smallest width / height */
#define BIA_GEN_MAX_XY 16384	     /* largest width / height */
#define BIA_GEN_MAX_Z 2048	     /* largest depth */
#define BIA_GEN_MAX_T 10000	     /* largest number of frames */
#define BIA_GEN_MAX_VOXELS (UINT64_C(1) << 27) /* X*Y*Z*T of one image, also
						 * capped by ctx->max_pixels */

enum bia_gen_level {
	BIA_GEN_EASY = 0,
	BIA_GEN_MEDIUM = 1,
	BIA_GEN_HARD = 2,
};
/* "easy", "medium", "hard"; parse returns -1 if unknown. */
const char *bia_gen_level_name(enum bia_gen_level l);
int bia_gen_level_parse(const char *s);

/* --perturb: how predictions are made from the ground truth. */
struct bia_gen_perturb {
	int on;	      /* 1: write predictions/ */
	double drop;  /* fraction of objects (tracks, points, branches) removed */
	double split; /* fraction split in two (tracks: broken in time) */
	double merge; /* fraction merged with a neighbour */
	double flip;  /* PixCla / LooTrc: fraction of regions flipped; < 0: the
		       * sum of drop, split and merge (at most 1) */
	int shift;    /* everything moved by this many pixels along X and along Y */
};

/* Options of one dataset. Fields left at their "unset" value (0, or NaN
 * for the knobs) get the class default / the difficulty preset from
 * bia_gen_opts_resolve. */
struct bia_gen_opts {
	enum bia_class cls;	  /* problem class */
	size_t n;		  /* images (sequences for tracking classes) */
	uint64_t seed;		  /* at most INT64_MAX */
	size_t w, h, d;		  /* size; d = 1 is 2D */
	size_t frames;		  /* ObjTrk, PrtTrk: T (>= 2) */
	enum bia_gen_level level; /* difficulty preset */
	int bits;		  /* image sample size: 8 or 16 */
	int color;		  /* PixCla: 1 RGB (H&E-like), 0 grey; -1 = default */
	double noise;		  /* 1/SNR at object level (0 = noiseless) */
	double density;		  /* object density relative to the medium preset */
	double blur;		  /* PSF sigma in pixels (lateral) */
	double contrast;	  /* object minus background, fraction of full range */
	double illum;		  /* illumination unevenness (0 = flat) */
	long objects;		  /* ObjSeg/SptCnt/ObjDet/ObjTrk: objects per image */
	int classes;		  /* PixCla: number of classes incl. background */
	int landmarks;		  /* LndDet: number of landmarks */
	long tracks;		  /* PrtTrk: tracks per sequence */
	struct bia_gen_perturb perturb; /* predictions */
};

/* Unset options for a class. */
void bia_gen_opts_init(struct bia_gen_opts *o, enum bia_class cls);
/* Fill class defaults and difficulty presets, check every bound (sizes,
 * pixel limit of ctx, class-specific options). */
int bia_gen_opts_resolve(struct bia_ctx *ctx, struct bia_gen_opts *o);
/* The resolved options as the "parameters" object of dataset.json. */
json_t *bia_gen_opts_json(const struct bia_gen_opts *o);
/* Options back from a dataset.json document (for the baseline). */
int bia_gen_opts_from_json(struct bia_ctx *ctx, const json_t *doc, struct bia_gen_opts *o);
/* Parse "drop=F,split=F,merge=F,shift=PX[,flip=F]" (any subset). */
int bia_gen_perturb_parse(struct bia_ctx *ctx, const char *text, struct bia_gen_perturb *p);

/* One generated image with its ground truth (or one prediction: then
 * `image` is unset). */
struct bia_gen_sample {
	char stem[64];		      /* file stem, e.g. "objseg_003" */
	struct bia_image image;	      /* the microscopy image */
	struct bia_image gt;	      /* mask / label stack; unset for TreTrc */
	struct bia_swc swc;	      /* TreTrc: the tree (nodes malloc'd) */
	struct bia_ctc_tracks tracks; /* ObjTrk: the track file (malloc'd) */
	json_t *info;		      /* facts for dataset.json ({"objects": 57}) */
};
void bia_gen_sample_init(struct bia_gen_sample *s);
void bia_gen_sample_release(struct bia_gen_sample *s);

/* Generate image `index` of a dataset (options resolved). */
int bia_gen_sample(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t index,
		   struct bia_gen_sample *out);
/* Make a prediction from a ground truth by o->perturb (deterministic in
 * the seed and index). Fills out->gt / swc / tracks and stem. */
int bia_gen_perturb(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t index,
		    const struct bia_gen_sample *gt, struct bia_gen_sample *out);
/* The simple baseline workflow of a class (threshold, components, nearest
 * neighbour linking...) on a generated image: fills out->gt / swc / tracks. */
int bia_gen_baseline(struct bia_ctx *ctx, const struct bia_gen_opts *o,
		     const struct bia_image *img, struct bia_gen_sample *out);

/* Write a sample's ground-truth files (mask, .swc, .txt) into dir, named
 * by its stem. */
int bia_gen_write_gt(struct bia_ctx *ctx, enum bia_class cls, const struct bia_gen_sample *s,
		     const char *dir);
/* Render image | ground truth side by side as an 8-bit RGB PNG (3D: max
 * projections; sequences: one frame and the tracks). */
int bia_gen_preview(struct bia_ctx *ctx, enum bia_class cls, const struct bia_gen_sample *s,
		    const char *png_path);

/* Write a whole dataset: OUTDIR/images/, OUTDIR/groundtruth/,
 * OUTDIR/predictions/ (with perturb), OUTDIR/dataset.json. OUTDIR must be
 * absent or empty, or (force) hold an earlier dataset (dataset.json),
 * which is replaced. preview_png (may be NULL) gets the first sample. */
int bia_gen_write_dataset(struct bia_ctx *ctx, const struct bia_gen_opts *o,
			  const char *outdir, int force, const char *preview_png);
/* Run the baseline on every image of a generated dataset (its
 * dataset.json gives the class and options) into outdir. */
int bia_gen_baseline_dir(struct bia_ctx *ctx, const char *dataset_dir, const char *outdir);

#endif
