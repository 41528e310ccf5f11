/* Annotation formats of the problem classes: label/class/point masks (as
 * struct bia_image), SWC trees, Cell Tracking Challenge track files, point
 * lists, ISBI 2012 particle-tracking XML; validation and conversion.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_ANNOT_H
#define BIA_ANNOT_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "store/store.h"
#include "util/util.h"

/* ------------------------------------------------------------- labels */

/* Copy an integer-valued image into a uint32 label array of the same
 * layout (index = bia_image_index). Refuses float images with non-integer
 * values and negative labels, naming `what`. Caller frees *plab. */
int bia_labels_u32(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		   uint32_t **plab);

/* ---------------------------------------------------------------- SWC */

struct bia_swc_node {
	int64_t id;	/* node id as in the file */
	int type;	/* structure type */
	double x, y, z; /* position (voxels) */
	double r;	/* radius */
	int64_t parent; /* parent id, -1 for a root */
};

struct bia_swc {
	size_t n;		    /* nodes */
	struct bia_swc_node *nodes; /* malloc'd, in file order */
};

/* Parse SWC text: '#' comment lines and blank lines skipped; 7 numeric
 * fields per line (extra fields ignored, parent = the LAST field as in
 * BIAFLOWS); refuses duplicate ids and parents that do not exist (with the
 * line number). `what` names the input in messages. */
int bia_swc_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		  struct bia_swc *out);
int bia_swc_load(struct bia_ctx *ctx, const char *path, struct bia_swc *out);
void bia_swc_release(struct bia_swc *s);

/* ------------------------------------------------- CTC track files (L B E P) */

struct bia_ctc_track {
	uint32_t label; /* L */
	int64_t begin;	/* B, first frame */
	int64_t end;	/* E, last frame */
	uint32_t parent; /* P, 0 = none */
};

struct bia_ctc_tracks {
	size_t n;		      /* tracks */
	struct bia_ctc_track *tracks; /* malloc'd, in file order */
};

/* Parse a CTC track file: one "L B E P" line per track (four integers);
 * refuses malformed lines, duplicate labels, labels > 65535, B > E, and
 * negative values, naming the line. */
int bia_ctc_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		  struct bia_ctc_tracks *out);
int bia_ctc_load(struct bia_ctx *ctx, const char *path, struct bia_ctc_tracks *out);
void bia_ctc_release(struct bia_ctc_tracks *t);
/* Check that a label stack (frames on T) agrees with its track file: every
 * label present in frame t has a track with B <= t <= E, every track's label
 * is present in every frame B..E, parents exist and end before the child
 * begins. */
int bia_ctc_check(struct bia_ctx *ctx, const char *what, const struct bia_image *stack,
		  const struct bia_ctc_tracks *t);

#endif
