/* Vector overlays of the layers that are not just masks to colour: points
 * (SptCnt, ObjDet, LndDet), particle tracks (PrtTrk), cell tracks (ObjTrk:
 * centroids per frame and the lineage) and traces (TreTrc: SWC nodes),
 * with the error category of a run's error map, filtered by plane and
 * viewport (docs/images.md "Overlays").
 * SPDX-License-Identifier: MIT */
#ifndef BIA_OVERLAY_H
#define BIA_OVERLAY_H

#include "annot/annot.h"
#include "store/store.h"

#define BIA_OVERLAY_LIMIT_DEFAULT 10000
#define BIA_OVERLAY_LIMIT_MAX 100000

struct bia_ovl_point {
	float x, y, z;
	int32_t t;
	int64_t id;    /* raster index (SptCnt, ObjDet), label (LndDet), node id (TreTrc) */
	int64_t track; /* PrtTrk, ObjTrk: the track (label); LndDet: the landmark; else 0 */
	int64_t parent; /* TreTrc: parent node id (-1 root); ObjTrk: parent track (0 none) */
	float px, py, pz; /* TreTrc: the parent's position */
};

struct bia_overlay {
	enum bia_class cls;
	const char *kind;    /* "points", "tracks", "trace" */
	size_t size[4];	     /* X, Y, Z, T of the image */
	size_t n;
	struct bia_ovl_point *v; /* malloc'd, in raster order (t, z, y, x) or file order */
	struct bia_ctc_tracks lineage; /* ObjTrk: the track file, if any */
	char digest[BIA_SHA256_HEX];   /* of the layer's main file */
};
void bia_overlay_release(struct bia_overlay *o);

/* Load the overlay of layer `name` ("gt", "gt-<version>", "run-<run>") of
 * an image. BIA_EUNSUPPORTED for classes whose results are only masks
 * (served as labels), BIA_ENOENT for an unknown layer. *prun: the run of a
 * run layer, 0 otherwise. */
int bia_overlay_load(struct bia_ctx *ctx, struct bia_instance *inst,
		     const struct bia_image_rec *im, enum bia_class cls, const char *name,
		     struct bia_overlay *out, int64_t *prun);

struct bia_overlay_filter {
	int has_z, has_t, has_bbox;
	size_t z, t;
	double x0, y0, x1, y1; /* viewport, level-0 pixels, inclusive-exclusive */
	size_t limit;	       /* items returned at most (0: default) */
	int64_t run_id;	       /* error categories from this run (0: none) */
	int gt_side;	       /* the categories of the GT objects (else the result's) */
};
/* The overlay as JSON (what `image overlay` prints and GET
 * /images/{id}/overlays/{layer} answers): {image_id, layer, class, kind,
 * size, total, matching, returned, truncated, columns, items, categories,
 * lineage?}. */
int bia_overlay_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		     const char *layer, const struct bia_overlay *o,
		     const struct bia_overlay_filter *f, json_t **pout);
/* Load layer `name` of image im and answer the filter: what `image
 * overlay` prints and GET /images/{id}/overlays/{layer} answers. For a run
 * layer the categories are the run's own (its result's objects); for a GT
 * layer with f->run_id, that run's categories of the GT objects. */
int bia_overlay_query(struct bia_ctx *ctx, struct bia_instance *inst,
		      const struct bia_image_rec *im, const char *name,
		      const struct bia_overlay_filter *f, json_t **pout);
/* Parse the query values z, t, bbox ("x0,y0,x1,y1"), limit and run. */
int bia_overlay_filter_parse(struct bia_ctx *ctx, const char *z, const char *t,
			     const char *bbox, const char *limit, const char *run,
			     struct bia_overlay_filter *f);

#endif
