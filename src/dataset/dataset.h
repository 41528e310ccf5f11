/* Adding images and ground truth to a problem: single files, explicit GT
 * links, whole dataset folders. All-or-nothing: everything is validated
 * first, then blobs are written, then one transaction references them.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_DATASET_H
#define BIA_DATASET_H

#include "annot/annot.h"
#include "image/image.h"
#include "store/store.h"

struct bia_import_opts {
	int skip_invalid;	/* import the valid part, list the rest */
	const char *annotator;	/* GT annotator name, NULL = "" */
	int not_current;	/* new GT versions do not become current */
};

struct bia_import_result {
	json_t *added;	  /* array of image objects added (or GT versions) */
	json_t *invalid;  /* array of "file: problem" strings */
	json_t *problems; /* the same as records {file, field, problem}; field: image,
			   * ground_truth, stem, digest or conversion (API error bodies) */
	json_t *warnings; /* array of strings */
	size_t n_images;  /* images added */
	size_t n_gt;	  /* GT versions added */
};

void bia_import_result_init(struct bia_import_result *r);
void bia_import_result_release(struct bia_import_result *r);
/* What an import prints (--format json) and returns (API): {added,
 * skipped, warnings, images, gt_versions}. */
json_t *bia_import_result_json(const struct bia_import_result *r);

/* Import a dataset folder into a problem: DIR/images + DIR/groundtruth with
 * the same stems, or one folder with X.ext images and X_lbl.ext ground
 * truth (BIAFLOWS naming). GT may include non-image files (.swc, .txt,
 * .csv, .xml). On refusal returns BIA_EFORMAT (or the store's error) with
 * the problems listed in r->invalid and the instance unchanged. */
int bia_dataset_import(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_problem *p, const char *dir,
		       const struct bia_import_opts *o, struct bia_import_result *r);

/* bia_dataset_import into a new problem: *p has its name, class and
 * description (its id is ignored); it is added in the same transaction as
 * the images, so a refused or failed import leaves no problem behind. On
 * success p->id is the new problem's id (0 otherwise). */
int bia_dataset_import_new(struct bia_ctx *ctx, struct bia_instance *inst,
			   struct bia_problem *p, const char *dir,
			   const struct bia_import_opts *o, struct bia_import_result *r);

/* Messages of an import made from files in the temporary folder `tmp`
 * name the files they came from: each key of `origins` (a temporary path)
 * is replaced by its value, longest first, then `tmp` itself by `shown`;
 * in r's invalid, warnings and problems, and (ctx not NULL) ctx->msg. */
void bia__import_map_origins(struct bia_ctx *ctx, struct bia_import_result *r, json_t *origins,
			     const char *tmp, const char *shown);

/* Import a folder in another layout (`dataset import --layout`): DIR is
 * converted (bia_convert_dataset, with co's stem and point options) into
 * <instance>/runs/.import-tmp-XXXXXX, which is then imported as above and
 * removed. Conversion problems join r->invalid (refusing the import unless
 * o->skip_invalid); messages name the original files. The layout must suit
 * the problem's class (bia_layout_fits). LndDet: points without a class
 * column are numbered 1..N in file order. layout NONE = bia_dataset_import. */
int bia_dataset_import_layout(struct bia_ctx *ctx, struct bia_instance *inst,
			      const struct bia_problem *p, const char *dir,
			      enum bia_layout layout, const struct bia_convert_opts *co,
			      const struct bia_import_opts *o, struct bia_import_result *r);

/* Add image files (no GT) to a problem; all-or-nothing. */
int bia_images_add(struct bia_ctx *ctx, struct bia_instance *inst,
		   const struct bia_problem *p, char *const *files, size_t n,
		   const struct bia_import_opts *o, struct bia_import_result *r);

/* Add a new GT version made of `files` to an existing image. */
int bia_gt_add(struct bia_ctx *ctx, struct bia_instance *inst,
	       const struct bia_image_rec *im, char *const *files, size_t n,
	       const struct bia_import_opts *o, struct bia_import_result *r);

/* JSON object describing an image row (as printed by `image list`). */
json_t *bia_image_rec_json(const struct bia_image_rec *im);
/* An image as `image show` and GET /images/{id} print it: the row, its
 * problem's name and "shape" (XxYxZ). */
json_t *bia_image_json(const struct bia_image_rec *im);
/* One page of images of a problem (0: of all problems), as bia_image_json. */
int bia_images_list_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			 struct bia_page page, json_t **pout, int64_t *ptotal);
/* The GT versions of an image, oldest first: {id, image_id, annotator,
 * current, created_at, file_names, files: [{name, kind, digest, bytes,
 * dtype}]}. */
int bia_gt_versions_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			 json_t **pout);

#endif
