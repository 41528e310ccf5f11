/* Importing a BIAFLOWS (Cytomine project-migrator) archive as one new
 * problem: the plan of inputs and ground truth read from the archive's JSON
 * (a pure function, fuzzed), then its files through bia_dataset_import_new.
 * The layout is WORKFLOWS.md §2.6; docs/images.md "Importing a BIAFLOWS
 * archive" says what is taken from it.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BIAFLOWS_H
#define BIA_BIAFLOWS_H

#include "dataset/dataset.h"

#define BIA_BF_MAX_IMAGES 1000000u	       /* image instances of one project */
#define BIA_BF_MAX_MEMBERS 4000000u	       /* members of one archive */
#define BIA_BF_MAX_TOTAL (UINT64_C(1) << 40)   /* bytes unpacked from one archive */
#define BIA_BF_MAX_ATTACHED 64		       /* attached-file collections */

/* A JSON text of the archive and the file it came from (for messages). */
struct bia_bf_text {
	const char *file; /* e.g. "project-77.json" */
	const char *text; /* not NUL-terminated; NULL: the file is absent */
	size_t len;
};

/* The JSON of one archive. project and images are required. */
struct bia_bf_texts {
	struct bia_bf_text project;	/* project-<id>.json */
	struct bia_bf_text images;	/* imageinstance-collection.json */
	struct bia_bf_text description; /* description-object-<id>.json (optional) */
	const struct bia_bf_text *attached; /* attached-files-object-<id>-collection.json */
	size_t n_attached;
};

/* One input image of the plan with what becomes its ground truth. */
struct bia_bf_item {
	const char *image;    /* its originalFilename, under images/ (arena) */
	const char *stem;     /* its stem (DESIGN.md §12), the pairing key (arena) */
	int64_t id;	      /* its image instance id (0 if the JSON has none) */
	const char *mask;     /* its X_lbl image under images/, NULL if none (arena) */
	const char *attached; /* its attached GT file under attached_files/ (TreTrc
			       * .swc, ObjTrk .txt; the most recent), NULL (arena) */
	int bad;	      /* refused by the plan: listed in invalid */
};

struct bia_bf_plan {
	struct bia_arena arena;	 /* every string of the plan */
	int64_t project_id;	 /* the project's id, 0 if none */
	const char *name;	 /* the project's name, "" if none */
	const char *discipline;	 /* the discipline as the project names it, "" if none */
	enum bia_class cls;	 /* the class used: forced, or the discipline's */
	const char *description; /* plain text (HTML tags stripped), "" if none */
	struct bia_bf_item *items; /* the input images, sorted by stem (malloc'd) */
	size_t n;		 /* number of items */
	size_t n_gt;		 /* good items with ground truth */
	json_t *invalid;	 /* "images/NAME: problem" strings, owned */
	json_t *warnings;	 /* strings, owned */
};

void bia_bf_plan_init(struct bia_bf_plan *plan);
void bia_bf_plan_release(struct bia_bf_plan *plan);

/* Read the archive's JSON into a plan: images whose originalFilename holds
 * "_lbl" are ground truth, X_lbl.ext belonging to X.ext (split on the last
 * "_lbl."), paired by stem; TreTrc adds the input's most recent attached
 * .swc, ObjTrk its most recent attached .txt. cls forces the class
 * (BIA_CLASS_NONE: the project's discipline, by name or short name).
 * Returns BIA_EFORMAT naming the file for malformed JSON or a missing
 * field, BIA_EINVAL for a discipline that is no class (or none); file-level
 * problems (a GT without its input, duplicate stems, bad names) are not
 * failures but go to plan->invalid with their items marked bad. JSON is
 * parsed under ctx's limits (ctx->max_json_depth, BIA_JSON_MAX_BYTES). */
int bia_bf_plan_parse(struct bia_ctx *ctx, const struct bia_bf_texts *t, enum bia_class cls,
		      struct bia_bf_plan *plan);

/* HTML (a Cytomine description) as plain text: tags removed, <br>, </p>,
 * </div>, </li> and headings end lines, the common entities decoded, blank
 * runs collapsed. malloc'd, NULL on out of memory. */
char *bia_bf_html_text(const char *html);

struct bia_bf_import_opts {
	const char *problem; /* the new problem's name; NULL: the project's name */
	enum bia_class cls;  /* BIA_CLASS_NONE: from the project's discipline */
	int skip_invalid;    /* import the valid pairs, list the rest */
};

/* Import `path` — a migrator archive (.tar.gz or .tar) or its unpacked
 * folder — into a new problem, all-or-nothing (unless skip_invalid) with
 * the validations of bia_dataset_import. An archive is unpacked into
 * <instance>/runs/.import-tmp-XXXXXX (only the JSON files, images/ and
 * attached_files/; absolute names, "..", links, more than
 * max_upload_bytes per member or BIA_BF_MAX_TOTAL in all are refused),
 * which is removed afterwards. On success *p is the new problem (caller
 * releases it); on failure nothing of the instance has changed and the
 * message (and r->invalid) names the archive's files. */
int bia_biaflows_import(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
			const struct bia_bf_import_opts *o, struct bia_problem *p,
			struct bia_import_result *r);

#endif
