/* Annotation formats of the problem classes: label/class/point masks (as
 * struct bia_image), SWC trees, Cell Tracking Challenge track files, point
 * lists, ISBI 2012 particle-tracking XML; validation and conversion.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_ANNOT_H
#define BIA_ANNOT_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "util/classes.h"
#include "util/util.h"
#include "util/util.h"

/* ------------------------------------------------------------- labels */

/* Copy an integer-valued image into a uint32 label array of the same
 * layout (index = bia_image_index). Refuses float images with non-integer
 * values and negative labels, naming `what`. Caller frees *plab. */
int bia_labels_u32(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		   uint32_t **plab);

/* --------------------------------------------------------- validation */

/* Check a mask as ground truth / result of a class: one channel, integer
 * non-negative labels (any sample type), and the class's own rules
 * (PrtTrk: one pixel per track per frame; LooTrc: no T axis; TreTrc takes
 * no mask). `what` names the file in messages. */
int bia_annot_validate_mask(struct bia_ctx *ctx, enum bia_class cls, const char *what,
			    const struct bia_image *m);
/* Check the files of one ground-truth set: the mask (may be NULL) and the
 * non-image files (paths). TreTrc: exactly one valid .swc; ObjTrk: a label
 * stack (frames on T) and a .txt track file that agrees with it. */
int bia_annot_validate_set(struct bia_ctx *ctx, enum bia_class cls, const char *what,
			   const struct bia_image *mask, const char *const *text_paths,
			   size_t ntext);

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

/* ------------------------------------------------ conversions (convert.c) */

/* Point lists (CSV/TXT: x,y[,z][,class]) → point masks. */

/* How the columns of a point list are read. */
struct bia_points_opts {
	int ndim;	      /* 2 or 3: dimensionality of the target image; decides
			       * what a third column means in a file without a header
			       * (2: class, 3: z); 0 = 2 */
	int class_column;     /* 1: without a header, the last of 3 columns is a class
			       * even for a 3D image */
	const char *columns;  /* explicit roles, e.g. "x,y,z,class" or "-,x,y" ('-'
			       * skips a column); wins over the header; NULL = detect */
	int number_points;    /* 1: without a class column, point k (file order) gets
			       * grey value k (landmarks); 0: every point gets 1 */
};

struct bia_point {
	double x, y, z; /* pixel coordinates (x = column, y = row, z = slice) */
	int64_t t;	/* frame, 0 if the list has no t column */
	uint32_t cls;	/* grey value in the mask, 1..65535 */
	size_t line;	/* line in the file */
};

struct bia_points {
	size_t n;		/* points */
	struct bia_point *v;	/* malloc'd, in file order */
	int has_z, has_t, has_class; /* which columns the list has */
	int header;		/* 1 if the first line was a header (column names) */
	int count_line;		/* 1 if the first line was an "N C 0" count line */
	char sep;		/* ',', ';' or ' ' (whitespace) */
};

/* Parse a point list. Separator detected from the first line (';' if
 * present, else ',', else whitespace); '#' lines and blank lines skipped;
 * an optional header names the columns (x, y, z, t|frame, class|label|
 * landmark|category; blank, '#', index, id, n, name columns are ignored); a
 * first line "N C 0" (N = number of points, C = columns: the .txt files of
 * Kainz et al., MICCAI 2015) is skipped. Without a header: 2 columns x,y;
 * 3 columns x,y,class (2D; or --class-column) or x,y,z (3D); 4 columns
 * x,y,z,class. Classes must be integers 1..65535; errors name `what` and the
 * line. `text` need not be NUL-terminated. */
int bia_points_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		     const struct bia_points_opts *o, struct bia_points *out);
void bia_points_release(struct bia_points *p);
/* Render points into a uint16 mask of `like`'s X, Y, Z and T (C = 1):
 * coordinates rounded to the nearest pixel (floor(v + 0.5)), grey value =
 * class. Refuses a point outside the image and two points on one pixel,
 * naming `what` and the lines. Only the shape of `like` is used. */
int bia_points_mask(struct bia_ctx *ctx, const char *what, const struct bia_points *pts,
		    const struct bia_image *like, struct bia_image *mask /* OUT */);

/* ISBI 2012 Particle Tracking Challenge XML:
 * <root><TrackContestISBI2012 ...><particle><detection t= x= y= z=/>... */

struct bia_ptc_detection {
	int64_t t;	/* frame */
	double x, y, z; /* pixel coordinates, z = 0 if absent */
	long line;	/* line in the XML */
};

struct bia_ptc_particle {
	size_t n;			/* detections */
	struct bia_ptc_detection *det;	/* in document order */
	long line;			/* line of <particle> */
};

struct bia_ptc {
	size_t n;			   /* particles; track id = index + 1 */
	struct bia_ptc_particle *particles; /* malloc'd */
	size_t n_detections;		   /* total */
};

/* Parse ISBI 2012 PTC XML with libxml2 (no network, no DTD, no entity
 * expansion: a document with a DOCTYPE is refused). Errors name `what` and
 * the line. */
int bia_ptc_parse(struct bia_ctx *ctx, const char *what, const char *xml, size_t len,
		  struct bia_ptc *out);
void bia_ptc_release(struct bia_ptc *p);
/* Render tracks into a label stack of `like`'s X, Y, Z and T (C = 1): track
 * id = particle index + 1 (uint16, or uint32 beyond 65535 particles), one
 * pixel per detection at (round(x), round(y), round(z)) in frame t −
 * first_frame. Refuses detections outside the image or the frames, two
 * detections of one particle in one frame, and two tracks on one pixel of a
 * frame, naming `what`, the lines and the particles. */
int bia_ptc_stack(struct bia_ctx *ctx, const char *what, const struct bia_ptc *p,
		  const struct bia_image *like, int64_t first_frame,
		  struct bia_image *labels /* OUT */);

/* Folder and file converters used by `biaflows convert` and
 * `dataset import --layout`. They write a dataset folder OUT/images/ +
 * OUT/groundtruth/ with the same stems, refuse to overwrite files there,
 * and on failure remove what they wrote. */

enum bia_layout {
	BIA_LAYOUT_NONE = 0,	 /* the folder is imported as it is */
	BIA_LAYOUT_CTC = 1,	 /* Cell Tracking Challenge */
	BIA_LAYOUT_ISBI_PTC = 2, /* ISBI 2012 particle tracking XML + frames */
	BIA_LAYOUT_POINTS = 3,	 /* images/ + groundtruth/ point lists */
	BIA_LAYOUT_SWC = 4,	 /* images/ + groundtruth/ SWC */
};
/* "ctc", "isbi-ptc", "points", "swc" (case-insensitive); NONE if unknown. */
enum bia_layout bia_layout_parse(const char *s);
const char *bia_layout_name(enum bia_layout l);
/* 1 if the ground truth a layout makes suits problems of class c. */
int bia_layout_fits(enum bia_layout l, enum bia_class c);

struct bia_convert_opts {
	const char *stem;     /* stem of a single sequence; with several CTC
			       * sequences the prefix: STEM_NN. NULL = default */
	int seg;	      /* ctc: also write seg/STEM.tif (+ STEM_frames.txt) */
	struct bia_points_opts points; /* points (ndim is set per image) */
	int keep_going;	      /* bia_convert_dataset: record a failing item in
			       * `invalid` and go on with the others */
	int link_unchanged;   /* bia_convert_dataset: files kept as they are are
			       * symlinked (for a temporary folder), else copied */
	/* collectors, each may be NULL */
	json_t *warnings;     /* array of strings (NULL: logged with bia_warn) */
	json_t *invalid;      /* array of "file: problem" strings (keep_going) */
	json_t *written;      /* array of the paths written */
	json_t *origins;      /* object: path written -> the source it came from */
};

/* CTC folder → OUT/images/STEM.tif (frames tTTT.tif stacked on T, OME-TIFF),
 * OUT/groundtruth/STEM.tif (TRA man_trackTTT.tif stacked, uint16) and
 * OUT/groundtruth/STEM.txt (man_track.txt, checked against the masks). SRC
 * is a CTC dataset folder (NN/, NN_GT/TRA/, NN_GT/SEG/; STEM = NN) or one
 * sequence as images/ + groundtruth/TRA/ (+ groundtruth/SEG/; STEM = the
 * folder's name). With o->seg, SEG masks go to OUT/seg/STEM.tif (frames
 * without SEG annotation are all 0) and OUT/seg/STEM_frames.txt lists the
 * annotated frames. *pnseq = sequences converted. */
int bia_convert_ctc(struct bia_ctx *ctx, const char *src, const char *out,
		    const struct bia_convert_opts *o, size_t *pnseq);
/* ISBI PTC XML + a folder of frames (one file per frame, named with a frame
 * number: t000.tif, "NAME t000 z0.tif" (per-slice files stacked on Z),
 * img_12.png) → OUT/images/STEM.tif and OUT/groundtruth/STEM.tif (STEM = the
 * XML's stem unless o->stem). */
int bia_convert_isbi_ptc(struct bia_ctx *ctx, const char *xml_path, const char *frames_dir,
			 const char *out, const struct bia_convert_opts *o);
/* A point list → a point mask the shape of image `like_path`, written to
 * out_path (TIFF; overwritten). *pn = points. */
int bia_convert_points(struct bia_ctx *ctx, const char *list_path, const char *like_path,
		       const char *out_path, const struct bia_convert_opts *o, size_t *pn);
/* SWC: validate with bia_swc_parse, then copy byte for byte (overwritten).
 * *pn = nodes. */
int bia_convert_swc(struct bia_ctx *ctx, const char *in, const char *out_path, size_t *pn);
/* A whole folder in a layout → a dataset folder OUT (see docs/convert.md):
 * ctc as bia_convert_ctc; isbi-ptc: SRC/images/ frames + the one XML of
 * SRC/groundtruth/; points: SRC/images/ + SRC/groundtruth/ where .csv/.txt
 * point lists are converted against the paired image's shape; swc: SRC/images
 * + SRC/groundtruth/ with every .swc validated. Files not converted are
 * copied (o->link_unchanged: symlinked) into OUT unchanged. */
int bia_convert_dataset(struct bia_ctx *ctx, enum bia_layout l, const char *src,
			const char *out, const struct bia_convert_opts *o);

#endif
