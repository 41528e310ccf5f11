/* Validate-then-commit import of images and ground truth.
 * SPDX-License-Identifier: MIT */
#include "dataset/dataset.h"
#include "dataset/derived.h"
#include "image/pyramid.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define GT_TEXT_MAX (256u << 20) /* largest non-image GT file */
#define STEM_MAX 255

/* One image (new or existing) with the GT files that go with it. */
struct cand {
	char stem[256];		   /* pairing key */
	const char *image_path;	   /* file to add, NULL for an existing image */
	struct bia_image_rec rec;  /* new image's record, or the existing one */
	size_t ngt;		   /* GT files */
	const char **gt_paths;	   /* arena */
	struct bia_gt_file *gt;	   /* arena */
	int bad;		   /* 1 if any of its files is invalid */
};

void bia_import_result_init(struct bia_import_result *r)
{
	memset(r, 0, sizeof(*r));
	r->added = json_array();
	r->invalid = json_array();
	r->problems = json_array();
	r->warnings = json_array();
}

void bia_import_result_release(struct bia_import_result *r)
{
	json_decref(r->added);
	json_decref(r->invalid);
	json_decref(r->problems);
	json_decref(r->warnings);
	memset(r, 0, sizeof(*r));
}

json_t *bia_image_rec_json(const struct bia_image_rec *im)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, "
			      "s:I, s:s, s:s}",
			      "id", (json_int_t)im->id, "problem_id", (json_int_t)im->problem_id,
			      "stem", im->stem, "original_name", im->original_name, "digest",
			      im->digest, "bytes", (json_int_t)im->bytes, "format", im->format,
			      "layout", im->layout, "size_x", (json_int_t)im->size[0], "size_y",
			      (json_int_t)im->size[1], "size_z", (json_int_t)im->size[2], "size_c",
			      (json_int_t)im->size[3], "size_t", (json_int_t)im->size[4], "dtype",
			      im->dtype, "created_at", im->created);
	static const char *const phys[3] = {"physical_size_x", "physical_size_y",
					    "physical_size_z"};
	for (int i = 0; i < 3; i++)
		json_object_set_new(o, phys[i], im->phys[i] > 0 ? json_real(im->phys[i]) : json_null());
	json_object_set_new(o, "gt_version",
			    im->gt_version ? json_integer(im->gt_version) : json_null());
	return o;
}

/* A problem record {file, field, problem} from a message "FILE: PROBLEM"
 * (field: what about the file is wrong). */
static json_t *problem_rec(const char *field, const char *m)
{
	const char *sep = strstr(m, ": ");
	if (!sep)
		return json_pack("{s:s, s:s, s:s}", "file", "", "field", field, "problem", m);
	return json_pack("{s:s%, s:s, s:s}", "file", m, (size_t)(sep - m), "field", field,
			 "problem", sep + 2);
}

static void invalid_as(struct bia_import_result *r, const char *field, const char *msg)
{
	char m[2048];
	snprintf(m, sizeof(m), "%s", msg);
	bia_one_line(m, sizeof(m)); /* a file name may hold a newline */
	json_array_append_new(r->invalid, json_string(m));
	json_array_append_new(r->problems, problem_rec(field, m));
}

static void warnf(struct bia_import_result *r, const char *fmt, ...) BIA_PRINTF(2, 3);
static void warnf(struct bia_import_result *r, const char *fmt, ...)
{
	char m[BIA_PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	bia_one_line(m, sizeof(m));
	json_array_append_new(r->warnings, json_string(m));
}

static void invalidf(struct bia_import_result *r, const char *field, const char *fmt, ...)
	BIA_PRINTF(3, 4);
static void invalidf(struct bia_import_result *r, const char *field, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	invalid_as(r, field, msg);
}

static const char *gt_kind(const char *path)
{
	const char *e = bia_path_ext(path);
	if (bia_path_is_image(path))
		return "mask";
	if (!strcasecmp(e, ".swc"))
		return "swc";
	if (!strcasecmp(e, ".txt"))
		return "txt";
	if (!strcasecmp(e, ".csv"))
		return "csv";
	if (!strcasecmp(e, ".xml"))
		return "xml";
	return NULL;
}

/* Decode an image file fully and fill its record (no ids yet). */
static int check_image(struct bia_ctx *ctx, const char *path, struct bia_image_rec *rec)
{
	struct bia_image img;
	memset(rec, 0, sizeof(*rec));
	/* a whole-slide image is checked tile row by tile row, never held */
	int streamed;
	if (bia_image_probe_stream(ctx, path, &img, &streamed))
		return ctx->rc;
	if (!streamed && bia_image_read(ctx, path, NULL, &img))
		return ctx->rc;
	bia_path_stem(path, rec->stem, sizeof(rec->stem));
	snprintf(rec->original_name, sizeof(rec->original_name), "%s", bia_path_base(path));
	snprintf(rec->format, sizeof(rec->format), "%s", bia_format_name(img.format));
	snprintf(rec->layout, sizeof(rec->layout), "%s", img.layout);
	snprintf(rec->dtype, sizeof(rec->dtype), "%s", bia_dtype_name(img.dtype));
	rec->size[0] = img.x;
	rec->size[1] = img.y;
	rec->size[2] = img.z;
	rec->size[3] = img.c;
	rec->size[4] = img.t;
	memcpy(rec->phys, img.phys, sizeof(rec->phys));
	bia_image_release(&img);
	if (!rec->stem[0])
		return bia_fail(ctx, BIA_EINVAL, "%s: file name has an empty stem", path);
	return bia_sha256_file(ctx, path, rec->digest, &rec->bytes);
}

static void shape_text(const uint64_t s[5], char *out, size_t n)
{
	int k = s[2] > 1 ? snprintf(out, n, "%llux%llux%llu", (unsigned long long)s[0],
				    (unsigned long long)s[1], (unsigned long long)s[2])
			 : snprintf(out, n, "%llux%llu", (unsigned long long)s[0],
				    (unsigned long long)s[1]);
	if (k > 0 && (size_t)k < n && s[4] > 1)
		snprintf(out + k, n - (size_t)k, " T=%llu", (unsigned long long)s[4]);
}

/* Validate one GT file against its image's shape (channel axis ignored). */
static int check_gt(struct bia_ctx *ctx, const char *path, const struct bia_image_rec *im,
		    struct bia_gt_file *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", bia_path_base(path));
	const char *kind = gt_kind(path);
	if (!kind)
		return bia_fail(ctx, BIA_EFORMAT,
				"%s: unsupported ground-truth file type (expected an image, .swc, "
				".txt, .csv or .xml)",
				path);
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	if (!strcmp(kind, "mask")) {
		struct bia_image m;
		struct bia_read_opts ro = {0};
		ro.pages = im->size[4] > 1 && im->size[2] == 1 ? BIA_PAGES_T : BIA_PAGES_Z;
		if (bia_image_read(ctx, path, &ro, &m))
			return ctx->rc;
		f->size[0] = m.x;
		f->size[1] = m.y;
		f->size[2] = m.z;
		f->size[3] = m.c;
		f->size[4] = m.t;
		snprintf(f->dtype, sizeof(f->dtype), "%s", bia_dtype_name(m.dtype));
		bia_image_release(&m);
		if (f->size[0] != im->size[0] || f->size[1] != im->size[1] ||
		    f->size[2] != im->size[2] || f->size[4] != im->size[4]) {
			char a[64], b[64];
			shape_text(f->size, a, sizeof(a));
			shape_text(im->size, b, sizeof(b));
			return bia_fail(ctx, BIA_ESHAPE,
					"%s: ground truth is %s but image '%s' is %s", path, a,
					im->original_name, b);
		}
	} else {
		char *data;
		size_t len;
		if (bia_read_file(ctx, path, GT_TEXT_MAX, &data, &len))
			return ctx->rc;
		int rc = 0;
		if (len == 0)
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: ground-truth file is empty", path);
		else if (memchr(data, '\0', len))
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: ground-truth file is not text", path);
		free(data);
		if (rc)
			return rc;
	}
	return bia_sha256_file(ctx, path, f->digest, &f->bytes);
}

/* The class's own rules on one GT set (the files of one stem): label
 * types, one pixel per track and frame (PrtTrk), a track file that agrees
 * with its stack (ObjTrk), exactly one valid SWC (TreTrc). */
static int validate_class(struct bia_ctx *ctx, enum bia_class cls, const struct cand *c)
{
	const char *mask_path = NULL;
	const char *texts[64];
	size_t nt = 0;
	for (size_t g = 0; g < c->ngt; g++) {
		if (!strcmp(c->gt[g].kind, "mask")) {
			if (mask_path)
				return bia_fail(ctx, BIA_EFORMAT,
						"%s: more than one ground-truth mask for stem '%s' ('%s')",
						c->gt_paths[g], c->stem[0] ? c->stem : c->rec.stem,
						mask_path);
			mask_path = c->gt_paths[g];
		} else if (nt < sizeof(texts) / sizeof(texts[0])) {
			texts[nt++] = c->gt_paths[g];
		}
	}
	struct bia_image m;
	bia_image_init(&m);
	if (mask_path) {
		struct bia_read_opts ro = {0};
		ro.pages = c->rec.size[4] > 1 && c->rec.size[2] == 1 ? BIA_PAGES_T : BIA_PAGES_Z;
		if (bia_image_read(ctx, mask_path, &ro, &m))
			return ctx->rc;
	}
	const char *what = mask_path ? mask_path : c->gt_paths[0];
	int rc = bia_annot_validate_set(ctx, cls, what, mask_path ? &m : NULL, texts, nt);
	bia_image_release(&m);
	return rc;
}

/* Validate all candidates; problems go to r->invalid and mark cand->bad. */
static void validate(const struct bia_ctx *parent, struct bia_instance *inst,
		     const struct bia_problem *p, struct cand *cv, size_t n,
		     struct bia_import_result *r)
{
	for (size_t i = 0; i < n; i++) {
		struct cand *c = &cv[i];
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		ctx.max_pixels = parent->max_pixels; /* instance limit */
		if (c->image_path) {
			if (check_image(&ctx, c->image_path, &c->rec)) {
				invalid_as(r, "image", ctx.msg);
				c->bad = 1;
				for (size_t g = 0; g < c->ngt; g++)
					invalidf(r, "ground_truth", "%s: not checked (its image '%s' is invalid)",
						 c->gt_paths[g], c->image_path);
				continue;
			}
			/* duplicates in the problem */
			struct bia_image_rec other;
			bia_ctx_clear(&ctx);
			if (!bia_store_image_find(&ctx, inst, p->id, c->rec.stem, &other)) {
				invalidf(r, "stem", "%s: an image with stem '%s' already exists in '%s' (id %lld)",
					 c->image_path, c->rec.stem, p->name, (long long)other.id);
				c->bad = 1;
			}
			/* duplicates within the batch */
			for (size_t j = 0; j < i; j++) {
				if (!cv[j].image_path || cv[j].bad)
					continue;
				if (!strcmp(cv[j].rec.digest, c->rec.digest)) {
					invalidf(r, "digest", "%s: same content as '%s'", c->image_path,
						 cv[j].image_path);
					c->bad = 1;
				}
			}
		}
		int gt_ok = 1;
		for (size_t g = 0; g < c->ngt; g++) {
			bia_ctx_clear(&ctx);
			if (check_gt(&ctx, c->gt_paths[g], &c->rec, &c->gt[g])) {
				invalid_as(r, "ground_truth", ctx.msg);
				c->bad = 1;
				gt_ok = 0;
			}
		}
		bia_ctx_clear(&ctx);
		if (c->ngt && gt_ok && validate_class(&ctx, p->cls, c)) {
			invalid_as(r, "ground_truth", ctx.msg);
			c->bad = 1;
		}
	}
}

/* Write blobs, then commit rows in one transaction. On failure, blobs this
 * call created stay as orphans for fsck (never unlinked: see below). newp:
 * a problem to add in that same transaction (p == newp, id 0 until then),
 * so that a failed import of a new problem leaves no empty problem. */
static int commit(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_problem *p,
		  struct bia_problem *newp, struct cand *cv, size_t n,
		  const struct bia_import_opts *o, struct bia_import_result *r)
{
	size_t nitems = 0;
	struct bia_import_item *items = bia_calloc(n, sizeof(*items));
	int rc = 0;
	if (!items)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		struct cand *c = &cv[i];
		if (c->bad)
			continue;
		struct bia_import_item *it = &items[nitems++];
		size_t np = c->image_path ? 1 : 0;
		/* store each file: image first, then its GT */
		for (size_t k = 0; k < np + c->ngt && !rc; k++) {
			const char *src = k < np ? c->image_path : c->gt_paths[k - np];
			char digest[BIA_SHA256_HEX];
			uint64_t size;
			rc = bia_blob_put_file(ctx, inst, src, digest, &size, NULL);
			if (rc)
				break;
			const char *want = k < np ? c->rec.digest : c->gt[k - np].digest;
			if (strcmp(digest, want)) {
				/* the blob stays (an orphan for fsck): another
				 * import may have found it in place and use it */
				rc = bia_fail(ctx, BIA_EIO, "%s: file changed while importing", src);
				break;
			}
			bia_faultsim("import.blob");
		}
		if (c->image_path)
			it->image = c->rec;
		else
			it->image_id = c->rec.id;
		it->gt = c->gt;
		it->ngt = c->ngt;
		snprintf(it->annotator, sizeof(it->annotator), "%s",
			 o && o->annotator ? o->annotator : "");
		it->make_current = !(o && o->not_current);
	}
	if (!rc && nitems && newp) {
		/* the store's import nests in this transaction (store.h) */
		rc = bia_store_begin(ctx, inst);
		if (!rc) {
			if (bia_problem_add(ctx, inst, newp) ||
			    bia_store_import(ctx, inst, newp->id, items, nitems) ||
			    bia_store_commit(ctx, inst)) {
				rc = ctx->rc;
				bia_store_rollback(inst);
				newp->id = 0;
			}
		}
	} else if (!rc && nitems) {
		rc = bia_store_import(ctx, inst, p->id, items, nitems);
	}
	/* on failure the blobs this import created stay as orphans for fsck:
	 * a concurrent import of the same files may have found them in place
	 * and committed rows that reference them (docs/store.md) */
	if (!rc) {
		for (size_t i = 0; i < nitems; i++) {
			if (!items[i].image_id) {
				json_array_append_new(r->added, bia_image_rec_json(&items[i].image));
				r->n_images++;
			}
			if (items[i].gt_version_id)
				r->n_gt++;
		}
		/* the pyramids of what was added (docs/images.md); a failure is
		 * a warning: the import stands, fsck or `image pyramid` retries */
		for (size_t i = 0; i < nitems && !inst->derive_in_background; i++) {
			struct bia_derive_stats ds;
			int64_t id = items[i].image_id ? items[i].image_id : items[i].image.id;
			if (bia_derived_ensure(ctx, inst, id, 0, &ds) == 0 && ds.errors) {
				size_t k;
				json_t *e;
				json_array_foreach(ds.errors, k, e)
					json_array_append_new(
						r->warnings,
						json_sprintf("pyramid of image %lld (%s): %s", (long long)id,
							     json_string_value(json_object_get(e, "layer")),
							     json_string_value(json_object_get(e, "error"))));
			}
			bia_derive_stats_release(&ds);
			bia_ctx_clear(ctx);
		}
	}
	free(items);
	return rc;
}

static int run(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_problem *p,
	       struct bia_problem *newp, struct cand *cv, size_t n,
	       const struct bia_import_opts *o, struct bia_import_result *r)
{
	validate(ctx, inst, p, cv, n, r);
	size_t nbad = json_array_size(r->invalid), ngood = 0;
	for (size_t i = 0; i < n; i++)
		ngood += !cv[i].bad;
	if (nbad && !(o && o->skip_invalid))
		return bia_fail(ctx, BIA_EFORMAT, "refused: %zu invalid file%s, nothing imported",
				nbad, nbad == 1 ? "" : "s");
	if (!ngood)
		return bia_fail(ctx, BIA_EFORMAT, "nothing valid to import");
	return commit(ctx, inst, p, newp, cv, n, o, r);
}

int bia_images_add(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_problem *p,
		   char *const *files, size_t n, const struct bia_import_opts *o,
		   struct bia_import_result *r)
{
	struct cand *cv = bia_calloc(n, sizeof(*cv));
	if (!cv)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		cv[i].image_path = files[i];
	int rc = run(ctx, inst, p, NULL, cv, n, o, r);
	free(cv);
	return rc;
}

int bia_gt_add(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_image_rec *im,
	       char *const *files, size_t n, const struct bia_import_opts *o,
	       struct bia_import_result *r)
{
	struct bia_problem p;
	if (bia_problem_get_id(ctx, inst, im->problem_id, &p))
		return ctx->rc;
	struct cand c;
	memset(&c, 0, sizeof(c));
	c.rec = *im;
	c.ngt = n;
	c.gt_paths = (const char **)files;
	c.gt = bia_calloc(n, sizeof(*c.gt));
	int rc;
	if (!c.gt) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	} else {
		rc = run(ctx, inst, &p, NULL, &c, 1, o, r);
		if (!rc && !r->n_gt && json_array_size(r->invalid))
			rc = bia_fail(ctx, BIA_EFORMAT, "no ground truth added");
	}
	free(c.gt);
	bia_problem_release(&p);
	return rc;
}

/* ----------------------------------------------------------- folder scan */

struct entry {
	char *path; /* arena */
	char stem[256];
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);
	return c ? c : strcmp(x->path, y->path);
}

/* Regular files of a folder (hidden ones skipped), sorted by stem. */
static int list_dir(struct bia_ctx *ctx, struct bia_arena *a, const char *dir,
		    struct entry **pv, size_t *pn, struct bia_import_result *r)
{
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, BIA_ENOENT, "cannot open folder '%s'", dir);
	size_t n = 0, cap = 0;
	struct entry *v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = bia_arena_printf(a, "%s/%s", dir, e->d_name);
		if (!path)
			break;
		if (bia_is_dir(path)) {
			warnf(r, "%s: sub-folder ignored", path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			void *t = realloc(v, cap * sizeof(*v));
			if (!t) {
				free(v);
				closedir(d);
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
			v = t;
		}
		v[n].path = path;
		bia_path_stem(e->d_name, v[n].stem, sizeof(v[n].stem));
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	*pv = v;
	*pn = n;
	return 0;
}

/* "01", "02", ...: a Cell Tracking Challenge sequence name; with a suffix
 * (_GT, _ST) when suffix is given. */
static int ctc_name(const char *n, const char *suffix)
{
	if (!isdigit((unsigned char)n[0]) || !isdigit((unsigned char)n[1]))
		return 0;
	return suffix ? !strcmp(n + 2, suffix) : n[2] == '\0';
}

/* Refuse, with the option to use, a folder in a layout that a plain
 * import would take wrongly: a Cell Tracking Challenge dataset (01/,
 * 01_GT/) or one of its sequences (t000.tif... with 01_GT/ beside it),
 * whose frames would become unrelated images without ground truth. */
static int known_layout(struct bia_ctx *ctx, const char *dir)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/images", dir);
	if (bia_is_dir(p))
		return 0; /* our own layout */
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int seq = 0, gt = 0, frames = 0;
	char gtname[64] = "";
	while ((e = readdir(d))) {
		if (ctc_name(e->d_name, NULL))
			seq++;
		if (ctc_name(e->d_name, "_GT")) {
			gt++;
			snprintf(gtname, sizeof(gtname), "%s", e->d_name);
		}
		if (e->d_name[0] == 't' && isdigit((unsigned char)e->d_name[1]) &&
		    bia_path_is_image(e->d_name))
			frames++;
	}
	closedir(d);
	if (seq && gt)
		return bia_fail(ctx, BIA_EINVAL,
				"'%s' looks like a Cell Tracking Challenge folder (%d sequence(s) "
				"and their ground truth, e.g. %s/): use --layout ctc",
				dir, seq, gtname);
	/* a sequence folder itself: its ground truth is the sibling NN_GT */
	const char *base;
	char trimmed[BIA_PATH_MAX];
	snprintf(trimmed, sizeof(trimmed), "%s", dir);
	size_t tl = strlen(trimmed);
	while (tl > 1 && trimmed[tl - 1] == '/')
		trimmed[--tl] = '\0';
	base = strrchr(trimmed, '/') ? strrchr(trimmed, '/') + 1 : trimmed;
	if (frames >= 2 && ctc_name(base, NULL)) {
		snprintf(p, sizeof(p), "%s_GT", trimmed);
		if (bia_is_dir(p))
			return bia_fail(ctx, BIA_EINVAL,
					"'%s' looks like a sequence of a Cell Tracking Challenge "
					"folder (t000.tif... with %s_GT beside it): import the folder "
					"that holds both with --layout ctc",
					dir, base);
	}
	return 0;
}

static int ends_with_lbl(const char *stem)
{
	size_t n = strlen(stem);
	return n > 4 && !strcmp(stem + n - 4, "_lbl");
}

/* bia_dataset_import, into p, or into the new problem newp (p == newp). */
static int import_dir(struct bia_ctx *ctx, struct bia_instance *inst,
		      const struct bia_problem *p, struct bia_problem *newp, const char *dir,
		      const struct bia_import_opts *o, struct bia_import_result *r)
{
	char idir[BIA_PATH_MAX], gdir[BIA_PATH_MAX];
	struct bia_arena a;
	struct entry *iv = NULL, *gv = NULL;
	size_t ni = 0, ng = 0;
	struct cand *cv = NULL;
	int rc = 0;
	if (!bia_is_dir(dir))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", dir);
	if ((rc = known_layout(ctx, dir)))
		return rc;
	bia_arena_init(&a, 1 << 16);
	snprintf(idir, sizeof(idir), "%s/images", dir);
	snprintf(gdir, sizeof(gdir), "%s/groundtruth", dir);
	int split = bia_is_dir(idir);
	if (split) {
		if ((rc = list_dir(ctx, &a, idir, &iv, &ni, r)))
			goto out;
		if (bia_is_dir(gdir) && (rc = list_dir(ctx, &a, gdir, &gv, &ng, r)))
			goto out;
	} else {
		/* one folder: X.ext images, X_lbl.ext ground truth */
		struct entry *all = NULL;
		size_t na = 0;
		if ((rc = list_dir(ctx, &a, dir, &all, &na, r)))
			goto out;
		iv = bia_calloc(na, sizeof(*iv));
		gv = bia_calloc(na, sizeof(*gv));
		if (!iv || !gv) {
			free(all);
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < na; i++) {
			if (ends_with_lbl(all[i].stem)) {
				gv[ng] = all[i];
				gv[ng].stem[strlen(gv[ng].stem) - 4] = '\0';
				ng++;
			} else if (bia_path_is_image(all[i].path)) {
				iv[ni++] = all[i];
			} else {
				warnf(r, "%s: not an image, ignored", all[i].path);
			}
		}
		free(all);
		qsort(gv, ng, sizeof(*gv), cmp_entry);
	}
	if (ni == 0) {
		rc = bia_fail(ctx, BIA_ENOENT, "'%s' holds no images (expected images/ and "
					      "groundtruth/, or X.tif with X_lbl.tif)", dir);
		goto out;
	}
	cv = bia_calloc(ni, sizeof(*cv));
	if (!cv) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	size_t nc = 0;
	for (size_t i = 0; i < ni; i++) {
		if (!bia_path_is_image(iv[i].path)) {
			invalidf(r, "image", "%s: not an image file (expected .tif, .tiff, .png, .jpg)",
				 iv[i].path);
			continue;
		}
		if (nc && !strcmp(cv[nc - 1].stem, iv[i].stem)) {
			invalidf(r, "stem", "%s: another image has the same stem '%s' ('%s')", iv[i].path,
				 iv[i].stem, cv[nc - 1].image_path);
			cv[nc - 1].bad = 1;
			continue;
		}
		struct cand *c = &cv[nc++];
		snprintf(c->stem, sizeof(c->stem), "%s", iv[i].stem);
		c->image_path = iv[i].path;
	}
	/* attach GT files by stem (both lists sorted) */
	size_t k = 0;
	for (size_t g = 0; g < ng; g++) {
		while (k < nc && strcmp(cv[k].stem, gv[g].stem) < 0)
			k++;
		if (k >= nc || strcmp(cv[k].stem, gv[g].stem)) {
			invalidf(r, "stem", "%s: ground truth without an image of stem '%s'", gv[g].path,
				 gv[g].stem);
			continue;
		}
		struct cand *c = &cv[k];
		const char **np = bia_arena_alloc(&a, (c->ngt + 1) * sizeof(*np));
		struct bia_gt_file *nf = bia_arena_alloc(&a, (c->ngt + 1) * sizeof(*nf));
		if (!np || !nf) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		if (c->ngt)
			memcpy(np, c->gt_paths, c->ngt * sizeof(*np));
		np[c->ngt] = gv[g].path;
		c->gt_paths = np;
		c->gt = nf;
		c->ngt++;
	}
	/* images without GT: one warning, not one per file */
	size_t nogt = 0;
	char first[3][256];
	for (size_t i = 0; i < nc; i++)
		if (!cv[i].ngt && nogt++ < 3)
			snprintf(first[nogt - 1], sizeof(first[0]), "%s", cv[i].stem);
	if (nogt == nc && nc)
		warnf(r, "'%s': none of the %zu images has ground truth (expected groundtruth/STEM.tif "
			 "beside images/, or STEM_lbl.tif beside STEM.tif)",
		      dir, nc);
	else if (nogt)
		warnf(r, "'%s': %zu of %zu images have no ground truth (%s%s%s%s%s%s)", dir, nogt, nc,
		      first[0], nogt > 1 ? ", " : "", nogt > 1 ? first[1] : "", nogt > 2 ? ", " : "",
		      nogt > 2 ? first[2] : "", nogt > 3 ? ", ..." : "");
	rc = run(ctx, inst, p, newp, cv, nc, o, r);
out:
	free(cv);
	free(iv);
	free(gv);
	bia_arena_release(&a);
	return rc;
}

int bia_dataset_import(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_problem *p, const char *dir,
		       const struct bia_import_opts *o, struct bia_import_result *r)
{
	return import_dir(ctx, inst, p, NULL, dir, o, r);
}

int bia_dataset_import_new(struct bia_ctx *ctx, struct bia_instance *inst,
			   struct bia_problem *p, const char *dir,
			   const struct bia_import_opts *o, struct bia_import_result *r)
{
	/* validated against a problem that does not exist yet: id 0 has no
	 * images, so the in-problem duplicate checks find none */
	p->id = 0;
	return import_dir(ctx, inst, p, p, dir, o, r);
}

/* ------------------------------------------------------ other layouts */

static int cmp_len_desc(const void *a, const void *b)
{
	size_t x = strlen(*(const char *const *)a), y = strlen(*(const char *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Replace every key of `map` (longest first) by its value, then the temp
 * folder itself by `dir`. Returns a malloc'd string or NULL. */
static char *map_text(const char *msg, json_t *map, const char *tmp, const char *dir)
{
	size_t nk = json_object_size(map), i = 0;
	const char **keys = bia_calloc(nk + 1, sizeof(*keys));
	if (!keys)
		return NULL;
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v) keys[i++] = k;
	qsort(keys, nk, sizeof(*keys), cmp_len_desc);
	keys[nk] = tmp;
	char *cur = bia_strdup(msg);
	for (i = 0; cur && i <= nk; i++) {
		const char *to = i < nk ? json_string_value(json_object_get(map, keys[i])) : dir;
		size_t kl = strlen(keys[i]);
		if (!kl || !strstr(cur, keys[i]))
			continue;
		struct bia_buf b;
		bia_buf_init(&b, 1u << 20);
		const char *s = cur, *hit;
		while ((hit = strstr(s, keys[i]))) {
			bia_buf_add(&b, s, (size_t)(hit - s));
			bia_buf_adds(&b, to ? to : "");
			s = hit + kl;
		}
		bia_buf_adds(&b, s);
		free(cur);
		cur = bia_buf_detach(&b, NULL);
	}
	free(keys);
	return cur;
}

static void map_array(json_t *arr, json_t *map, const char *tmp, const char *dir)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		char *m = map_text(json_string_value(v), map, tmp, dir);
		if (m)
			json_string_set(v, m);
		free(m);
	}
}

static void map_field(json_t *rec, const char *key, json_t *map, const char *tmp,
		      const char *dir)
{
	char *m = map_text(json_string_value(json_object_get(rec, key)), map, tmp, dir);
	if (m)
		json_object_set_new(rec, key, json_string(m));
	free(m);
}

void bia__import_map_origins(struct bia_ctx *ctx, struct bia_import_result *r, json_t *origins,
			     const char *tmp, const char *shown)
{
	map_array(r->invalid, origins, tmp, shown);
	map_array(r->warnings, origins, tmp, shown);
	size_t i;
	json_t *rec;
	json_array_foreach(r->problems, i, rec)
	{
		map_field(rec, "file", origins, tmp, shown);
		map_field(rec, "problem", origins, tmp, shown);
	}
	if (ctx) {
		char *m = map_text(ctx->msg, origins, tmp, shown);
		if (m)
			snprintf(ctx->msg, sizeof(ctx->msg), "%s", m);
		free(m);
	}
}

static int has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int any = 0;
	while (d && !any && (e = readdir(d)))
		any = e->d_name[0] != '.';
	if (d)
		closedir(d);
	return any;
}

int bia_dataset_import_layout(struct bia_ctx *ctx, struct bia_instance *inst,
			      const struct bia_problem *p, const char *dir,
			      enum bia_layout layout, const struct bia_convert_opts *co,
			      const struct bia_import_opts *o, struct bia_import_result *r)
{
	if (layout == BIA_LAYOUT_NONE)
		return bia_dataset_import(ctx, inst, p, dir, o, r);
	if (!bia_layout_fits(layout, p->cls))
		return bia_fail(ctx, BIA_EINVAL,
				"layout '%s' does not make ground truth for %s problems ('%s')",
				bia_layout_name(layout), bia_class_code(p->cls), p->name);
	if (!bia_is_dir(dir))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", dir);
	char tmp[BIA_PATH_MAX], idir[BIA_PATH_MAX + 16];
	if (snprintf(tmp, sizeof(tmp), "%s/runs/.import-tmp-XXXXXX", inst->root) >=
	    (int)sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "instance path too long");
	/* hold the writer lock while the temp folder exists: fsck removes
	 * such folders only when no writer is active */
	if (bia_blob_lock_shared(ctx, inst))
		return ctx->rc;
	if (!mkdtemp(tmp))
		return bia_fail(ctx, BIA_EIO, "cannot create a temporary folder in '%s/runs': %s",
				inst->root, strerror(errno));
	struct bia_convert_opts c;
	if (co)
		c = *co;
	else
		memset(&c, 0, sizeof(c));
	c.seg = 0;
	c.keep_going = 1;
	c.link_unchanged = 1;
	c.warnings = r->warnings;
	c.invalid = r->invalid;
	c.written = NULL;
	c.origins = json_object();
	if (p->cls == BIA_LNDDET)
		c.points.number_points = 1; /* landmarks without a class column: 1..N */
	bia_info("converting '%s' (layout %s) in '%s'", dir, bia_layout_name(layout), tmp);
	int rc = c.origins ? bia_convert_dataset(ctx, layout, dir, tmp, &c)
			   : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	/* the conversion's problems as records too */
	for (size_t i = json_array_size(r->problems); i < json_array_size(r->invalid); i++)
		json_array_append_new(r->problems,
				      problem_rec("conversion",
						  json_string_value(json_array_get(r->invalid, i))));
	if (!rc) {
		size_t nbad = json_array_size(r->invalid);
		snprintf(idir, sizeof(idir), "%s/images", tmp);
		if (nbad && !(o && o->skip_invalid))
			rc = bia_fail(ctx, BIA_EFORMAT, "refused: %zu invalid file%s, nothing imported",
				      nbad, nbad == 1 ? "" : "s");
		else if (!has_files(idir))
			rc = bia_fail(ctx, BIA_EFORMAT, "nothing valid to import from '%s'", dir);
		else
			rc = bia_dataset_import(ctx, inst, p, tmp, o, r);
	}
	/* messages name the original files, not the temporary ones */
	bia__import_map_origins(rc ? ctx : NULL, r, c.origins, tmp, dir);
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (bia_rm_rf(&c2, tmp))
		bia_warn("%s", c2.msg);
	json_decref(c.origins);
	return rc;
}

json_t *bia_image_json(const struct bia_image_rec *im)
{
	json_t *j = bia_image_rec_json(im);
	json_object_set_new(j, "problem", json_string(im->problem));
	char shape[96];
	snprintf(shape, sizeof(shape), "%llux%llux%llu", (unsigned long long)im->size[0],
		 (unsigned long long)im->size[1], (unsigned long long)im->size[2]);
	json_object_set_new(j, "shape", json_string(shape));
	return j;
}

int bia_images_list_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			 struct bia_page page, json_t **pout, int64_t *ptotal)
{
	struct bia_image_rec *v;
	size_t n;
	*pout = NULL;
	if (bia_image_list(ctx, inst, problem_id, page, &v, &n, ptotal))
		return ctx->rc;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, bia_image_json(&v[i]));
	free(v);
	*pout = rows;
	return 0;
}

int bia_gt_versions_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			 json_t **pout)
{
	struct bia_gt_version *v;
	size_t n;
	*pout = NULL;
	if (bia_gt_list(ctx, inst, image_id, &v, &n))
		return ctx->rc;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *files = json_array();
		struct bia_buf b;
		bia_buf_init(&b, 1 << 16);
		for (size_t k = 0; k < v[i].nfiles; k++) {
			const struct bia_gt_file *f = &v[i].files[k];
			json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name",
							       f->name, "kind", f->kind, "digest",
							       f->digest, "bytes", (json_int_t)f->bytes,
							       "dtype", f->dtype));
			if (k)
				bia_buf_adds(&b, " ");
			bia_buf_adds(&b, f->name);
		}
		char *joined = bia_buf_detach(&b, NULL);
		json_array_append_new(
			rows, json_pack("{s:I, s:I, s:s, s:b, s:s, s:s, s:o}", "id",
					(json_int_t)v[i].id, "image_id", (json_int_t)v[i].image_id,
					"annotator", v[i].annotator, "current", v[i].current,
					"created_at", v[i].created, "file_names", joined ? joined : "",
					"files", files));
		free(joined);
		bia_gt_version_release(&v[i]);
	}
	free(v);
	*pout = rows;
	return 0;
}

json_t *bia_import_result_json(const struct bia_import_result *r)
{
	return json_pack("{s:O, s:O, s:O, s:I, s:I}", "added", r->added, "skipped", r->invalid,
			 "warnings", r->warnings, "images", (json_int_t)r->n_images,
			 "gt_versions", (json_int_t)r->n_gt);
}
