/* Derived data of an instance: the OME-Zarr pyramid of every image, GT mask
 * and run image output, under <instance>/derived/zarr/ (outside blobs/,
 * rebuildable from the blobs at any time; docs/images.md).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_DERIVED_H
#define BIA_DERIVED_H

#include "image/pyramid.h"
#include "store/store.h"

/* Where a layer's pyramid lives: derived/zarr/<2 hex>/<digest>-<i|l><z|t>.zarr
 * (i: image, l: labels; t: plain multi-page files are time frames). */
void bia_derived_dir(const struct bia_instance *inst, const struct bia_layer *l, char *out,
		     size_t outsz);

/* The name of a label layer under the image's labels/: "gt" is the current
 * GT version too (besides "gt-<version id>"), "run-<run id>". */
void bia_layer_label_name(const struct bia_layer *l, char *out, size_t outsz);

struct bia_derive_stats {
	size_t layers;	/* layers considered */
	size_t built;	/* pyramids built */
	size_t present; /* already there */
	size_t failed;	/* could not be built (messages in `errors`) */
	json_t *errors; /* array of {image_id, layer, error}, owned (NULL: none kept) */
};
void bia_derive_stats_release(struct bia_derive_stats *s);
/* {layers, built, present, failed, errors} (what `image pyramid` prints). */
json_t *bia_derive_stats_json(const struct bia_derive_stats *s);

/* Build the pyramid of one layer if it is missing (or always, rebuild=1:
 * the new one replaces the old when complete). *pbuilt says whether it was
 * built. progress may be NULL. */
int bia_derived_build(struct bia_ctx *ctx, struct bia_instance *inst,
		      const struct bia_layer *l, int rebuild, int *pbuilt,
		      int (*progress)(void *ud, uint64_t done, uint64_t total), void *ud);

/* Build every missing pyramid of one image (image_id > 0) or of the whole
 * instance (0). A layer that fails is counted and listed; the others go on.
 * Returns an error only for store failures. */
int bia_derived_ensure(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		       int rebuild, struct bia_derive_stats *st);

/* The layers of an image as JSON (what `image layers` prints and GET
 * /images/{id}/layers answers): [{name, kind, ref, title, current, file,
 * ready (its pyramid is built), zarr (its path under the server)}]. The
 * current GT version appears twice: as "gt-<id>" and as "gt". */
int bia_image_layers_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			  json_t **pout);

struct bia_derived_fsck {
	size_t checked;	 /* pyramids verified */
	size_t missing;	 /* absent */
	size_t corrupt;	 /* failed verification */
	size_t rebuilt;	 /* of missing + corrupt, rebuilt */
	size_t orphans;	 /* pyramids of no layer */
	size_t removed;	 /* orphans and stale temp dirs removed */
};
/* Verify every layer's pyramid; rebuild missing and corrupt ones and remove
 * orphans and stale temp directories unless dry_run. Problems are appended
 * to `problems` ({kind, path, digest, detail}). */
int bia_derived_fsck(struct bia_ctx *ctx, struct bia_instance *inst, int dry_run,
		     struct bia_derived_fsck *r, json_t *problems);

#endif
