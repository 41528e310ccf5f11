/* Staging of inputs as <stem>.tif and checking of a workflow's outputs:
 * one implementation for `biaflows exec` and for runs (DESIGN.md §12).
 * SPDX-License-Identifier: MIT */
#include "runs/runs.h"
#include "annot/annot.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *bia_output_status_name(enum bia_output_status s)
{
	switch (s) {
	case BIA_OUTPUT_OK: return "ok";
	case BIA_OUTPUT_MISSING: return "missing";
	default: return "invalid";
	}
}

static int cmp_stem(const void *a, const void *b)
{
	return strcmp(((const struct bia_stage_entry *)a)->stem,
		      ((const struct bia_stage_entry *)b)->stem);
}

int bia_runs_read_for_class(struct bia_ctx *ctx, enum bia_class cls, const char *path,
			    struct bia_image *img)
{
	struct bia_read_opts o = {0};
	o.pages = cls == BIA_OBJTRK || cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
	return bia_image_read(ctx, path, &o, img);
}

int bia_runs_scan_inputs(struct bia_ctx *ctx, const char *in_dir,
			 struct bia_stage_entry **pv, size_t *pn)
{
	DIR *d = opendir(in_dir);
	if (!d)
		return bia_fail(ctx, BIA_ENOENT, "cannot open input folder '%s'", in_dir);
	size_t n = 0, cap = 0;
	struct bia_stage_entry *v = NULL;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !bia_path_is_image(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			void *t = realloc(v, cap * sizeof(*v));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			v = t;
		}
		memset(&v[n], 0, sizeof(v[n]));
		bia_path_stem(e->d_name, v[n].stem, sizeof(v[n].stem));
		snprintf(v[n].path, sizeof(v[n].path), "%s/%s", in_dir, e->d_name);
		n++;
	}
	closedir(d);
	if (!rc && n == 0)
		rc = bia_fail(ctx, BIA_ENOENT, "'%s' holds no images", in_dir);
	if (!rc)
		qsort(v, n, sizeof(*v), cmp_stem);
	for (size_t i = 1; !rc && i < n; i++)
		if (!strcmp(v[i].stem, v[i - 1].stem))
			rc = bia_fail(ctx, BIA_EINVAL, "'%s' and '%s' have the same stem", v[i - 1].path,
				      v[i].path);
	if (rc) {
		free(v);
		return rc;
	}
	*pv = v;
	*pn = n;
	return 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && !strcasecmp(s + n - m, suf);
}

/* Already a TIFF that any reader sees with the same shape: OME or ImageJ
 * metadata, or a single plane; named .tif/.tiff (.ome.tif, .ome.tiff). A
 * MINISWHITE file is re-encoded as before (the writer does not keep it),
 * so is a compressed one (LZW, deflate, JPEG: not every workflow's reader
 * has the codecs, e.g. tifffile without imagecodecs),
 * and so is a file not readable by all: a link keeps the original's mode,
 * and the sandbox may run as another user (nobody). */
static int linkable(const struct bia_image *img, const char *path, const char *name)
{
	struct stat st;
	if (img->format != BIA_FMT_TIFF || img->miniswhite || img->compressed)
		return 0;
	if (!has_suffix(name, ".tif") && !has_suffix(name, ".tiff"))
		return 0;
	if (stat(path, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH))
		return 0;
	return !strcmp(img->layout, "ome") || !strcmp(img->layout, "imagej") ||
	       (img->z == 1 && img->c == 1 && img->t == 1);
}

/* Read path as the class expects it into *img, its shape into e. */
static int read_shape(struct bia_ctx *ctx, enum bia_class cls, const char *path,
		      struct bia_stage_entry *e, struct bia_image *img)
{
	if (bia_runs_read_for_class(ctx, cls, path, img))
		return ctx->rc;
	e->size[0] = img->x;
	e->size[1] = img->y;
	e->size[2] = img->z;
	e->size[3] = img->c;
	e->size[4] = img->t;
	return 0;
}

int bia_runs_stage(struct bia_ctx *ctx, enum bia_class cls, const char *stage,
		   struct bia_stage_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct bia_image img;
		char dst[BIA_PATH_MAX];
		if (read_shape(ctx, cls, v[i].path, &v[i], &img))
			return ctx->rc;
		snprintf(dst, sizeof(dst), "%s/%s.tif", stage, v[i].stem);
		int rc = 0;
		/* a hard link when the file already reads back as the same image
		 * (the sandbox binds /data/in read-only); else, or when linking
		 * fails (another filesystem), re-encoded */
		const char *name = v[i].name[0] ? v[i].name : v[i].path;
		if (!(linkable(&img, v[i].path, name) &&
		      linkat(AT_FDCWD, v[i].path, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0))
			rc = bia_image_write_tiff(ctx, &img, dst, NULL);
		bia_image_release(&img);
		if (rc)
			return rc;
	}
	return 0;
}

int bia_runs_staged_shapes(struct bia_ctx *ctx, enum bia_class cls, const char *stage,
			   struct bia_stage_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct bia_image img;
		char p[BIA_PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s.tif", stage, v[i].stem);
		if (read_shape(ctx, cls, p, &v[i], &img))
			return ctx->rc;
		bia_image_release(&img);
	}
	return 0;
}

static enum bia_output_status link_into(const char *src, const char *view, const char *name,
					char *reason, size_t rsz)
{
	char link[BIA_PATH_MAX], abs[PATH_MAX];
	if (!view)
		return BIA_OUTPUT_OK;
	snprintf(link, sizeof(link), "%s/%s", view, name);
	/* a symlink's relative target is relative to the link's folder: link to
	 * the absolute path (an output folder given as a relative path) */
	if (!realpath(src, abs)) {
		snprintf(reason, rsz, "invalid: %s: %s", src, strerror(errno));
		return BIA_OUTPUT_INVALID;
	}
	if (symlink(abs, link)) {
		snprintf(reason, rsz, "invalid: cannot link: %s", strerror(errno));
		return BIA_OUTPUT_INVALID;
	}
	return BIA_OUTPUT_OK;
}

enum bia_output_status bia_runs_check_output(const struct bia_ctx *limits, enum bia_class cls,
					     const struct bia_stage_entry *in,
					     const char *out_dir, const char *view,
					     char p[BIA_PATH_MAX], char txt[BIA_PATH_MAX],
					     char *reason, size_t rsz)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	ctx.max_pixels = limits->max_pixels;
	ctx.max_image_bytes = limits->max_image_bytes;
	char name[300];
	txt[0] = '\0';
	if (cls == BIA_TRETRC) {
		snprintf(p, BIA_PATH_MAX, "%s/%s.swc", out_dir, in->stem);
		if (!bia_is_file(p)) {
			snprintf(reason, rsz, "missing: no '%s.swc'", in->stem);
			return BIA_OUTPUT_MISSING;
		}
		struct bia_swc s;
		if (bia_swc_load(&ctx, p, &s)) {
			snprintf(reason, rsz, "invalid: %s", ctx.msg);
			return BIA_OUTPUT_INVALID;
		}
		bia_swc_release(&s);
		snprintf(name, sizeof(name), "%s.swc", in->stem);
		return link_into(p, view, name, reason, rsz);
	}
	snprintf(p, BIA_PATH_MAX, "%s/%s.tif", out_dir, in->stem);
	if (!bia_is_file(p)) {
		snprintf(reason, rsz, "missing: no '%s.tif'", in->stem);
		return BIA_OUTPUT_MISSING;
	}
	/* the header first: the shape and the limits are checked before a
	 * sample is decoded (a small file may claim a huge image) */
	struct bia_image m;
	struct bia_read_opts ho = {0};
	ho.pages = cls == BIA_OBJTRK || cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
	ho.header_only = 1;
	if (bia_image_read(&ctx, p, &ho, &m)) {
		snprintf(reason, rsz, "invalid: %s", ctx.msg);
		return BIA_OUTPUT_INVALID;
	}
	size_t hx = m.x, hy = m.y, hz = m.z, ht = m.t;
	bia_image_release(&m);
	if (hx != in->size[0] || hy != in->size[1] || hz != in->size[2] || ht != in->size[4]) {
		snprintf(reason, rsz,
			 "invalid: %s: shape %zux%zux%zu T=%zu differs from the input's "
			 "(%llux%llux%llu T=%llu)",
			 p, hx, hy, hz, ht, (unsigned long long)in->size[0],
			 (unsigned long long)in->size[1], (unsigned long long)in->size[2],
			 (unsigned long long)in->size[4]);
		return BIA_OUTPUT_INVALID;
	}
	if (bia_runs_read_for_class(&ctx, cls, p, &m)) {
		snprintf(reason, rsz, "invalid: %s", ctx.msg);
		return BIA_OUTPUT_INVALID;
	}
	enum bia_output_status st = BIA_OUTPUT_OK;
	const char *texts[1];
	size_t nt = 0;
	if (st == BIA_OUTPUT_OK && cls == BIA_OBJTRK) {
		snprintf(txt, BIA_PATH_MAX, "%s/%s.txt", out_dir, in->stem);
		texts[nt++] = txt;
		if (!bia_is_file(txt)) {
			snprintf(reason, rsz, "missing: no '%s.txt' track file", in->stem);
			st = BIA_OUTPUT_MISSING;
		}
	}
	if (st == BIA_OUTPUT_OK && bia_annot_validate_set(&ctx, cls, p, &m, texts, nt)) {
		snprintf(reason, rsz, "invalid: %s", ctx.msg);
		st = BIA_OUTPUT_INVALID;
	}
	bia_image_release(&m);
	if (st != BIA_OUTPUT_OK)
		return st;
	snprintf(name, sizeof(name), "%s.tif", in->stem);
	st = link_into(p, view, name, reason, rsz);
	if (st == BIA_OUTPUT_OK && cls == BIA_OBJTRK) {
		snprintf(name, sizeof(name), "%s.txt", in->stem);
		st = link_into(txt, view, name, reason, rsz);
	}
	return st;
}
