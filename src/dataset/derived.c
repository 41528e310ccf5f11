/* Derived pyramids of images, GT masks and run outputs: where they live,
 * building the missing ones, verifying and repairing them.
 * SPDX-License-Identifier: MIT */
#include "dataset/derived.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pages_t(const struct bia_layer *l)
{
	return l->cls == BIA_OBJTRK || l->cls == BIA_PRTTRK;
}

static void dir_name(const struct bia_layer *l, char *out, size_t n)
{
	snprintf(out, n, "%s-%c%c.zarr", l->digest, l->kind == BIA_LAYER_IMAGE ? 'i' : 'l',
		 pages_t(l) ? 't' : 'z');
}

void bia_derived_dir(const struct bia_instance *inst, const struct bia_layer *l, char *out,
		     size_t outsz)
{
	char name[128];
	dir_name(l, name, sizeof(name));
	snprintf(out, outsz, "%s/derived/zarr/%.2s/%s", inst->root, l->digest, name);
}

void bia_layer_label_name(const struct bia_layer *l, char *out, size_t outsz)
{
	if (l->kind == BIA_LAYER_GT)
		snprintf(out, outsz, "gt-%lld", (long long)l->ref);
	else if (l->kind == BIA_LAYER_RUN)
		snprintf(out, outsz, "run-%lld", (long long)l->ref);
	else
		snprintf(out, outsz, "image");
}

void bia_derive_stats_release(struct bia_derive_stats *s)
{
	json_decref(s->errors);
	s->errors = NULL;
}

json_t *bia_derive_stats_json(const struct bia_derive_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "layers", (json_int_t)s->layers, "built",
			 (json_int_t)s->built, "present", (json_int_t)s->present, "failed",
			 (json_int_t)s->failed, "errors",
			 s->errors ? json_deep_copy(s->errors) : json_array());
}

int bia_derived_build(struct bia_ctx *ctx, struct bia_instance *inst,
		      const struct bia_layer *l, int rebuild, int *pbuilt,
		      int (*progress)(void *ud, uint64_t done, uint64_t total), void *ud)
{
	char dir[BIA_PATH_MAX], src[BIA_PATH_MAX], old[BIA_PATH_MAX + 32];
	*pbuilt = 0;
	bia_derived_dir(inst, l, dir, sizeof(dir));
	if (!rebuild && bia_is_dir(dir))
		return 0;
	bia_blob_path(inst, l->digest, src, sizeof(src));
	struct bia_read_opts ro = {0};
	ro.pages = pages_t(l) ? BIA_PAGES_T : BIA_PAGES_Z;
	char name[300];
	if (l->kind == BIA_LAYER_IMAGE)
		snprintf(name, sizeof(name), "%s", l->name);
	else
		bia_layer_label_name(l, name, sizeof(name));
	struct bia_pyramid_opts po = {.labels = l->kind != BIA_LAYER_IMAGE,
				      .name = name,
				      .progress = progress,
				      .progress_ud = ud};
	struct bia_ctx rctx;
	bia_instance_ctx(inst, &rctx);
	old[0] = 0;
	if (rebuild && bia_is_dir(dir)) {
		/* the old one leaves only once the new one is complete */
		char tmp[BIA_PATH_MAX];
		static atomic_uint seq;
		unsigned n = atomic_fetch_add(&seq, 1);
		snprintf(tmp, sizeof(tmp), "%s.new-%ld-%u", dir, (long)getpid(), n);
		bia_rm_rf(&rctx, tmp);
		if (bia_pyramid_build_file(&rctx, src, &ro, tmp, &po))
			goto fail;
		snprintf(old, sizeof(old), "%s.old-%ld-%u", dir, (long)getpid(), n);
		if (rename(dir, old) || rename(tmp, dir)) {
			bia_fail(&rctx, BIA_EIO, "cannot replace '%s': %s", dir, strerror(errno));
			goto fail;
		}
		bia_rm_rf(&rctx, old);
	} else if (bia_pyramid_build_file(&rctx, src, &ro, dir, &po)) {
		goto fail;
	}
	*pbuilt = 1;
	return 0;
fail:
	ctx->rc = rctx.rc;
	snprintf(ctx->msg, sizeof(ctx->msg), "%s", rctx.msg);
	return ctx->rc;
}

static void note_error(struct bia_derive_stats *st, const struct bia_layer *l, const char *msg)
{
	st->failed++;
	if (!st->errors)
		st->errors = json_array();
	char name[64];
	bia_layer_label_name(l, name, sizeof(name));
	json_array_append_new(st->errors, json_pack("{s:I, s:s, s:s}", "image_id",
						    (json_int_t)l->image_id, "layer", name,
						    "error", msg));
}

/* Keep one layer per pyramid (a file shared by several images, or by an
 * image and a run, has one), in the order given: sorting by name, then
 * position, so that 100,000 images cost n log n, not n^2. */
struct lname {
	char name[128];
	size_t idx;
};

static int cmp_lname(const void *a, const void *b)
{
	const struct lname *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

static int unique_layers(struct bia_ctx *ctx, struct bia_layer *v, size_t *pn)
{
	size_t n = *pn, k = 0;
	if (n < 2)
		return 0;
	struct lname *ln = calloc(n, sizeof(*ln));
	size_t *keep = calloc(n, sizeof(*keep));
	if (!ln || !keep) {
		free(ln);
		free(keep);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		dir_name(&v[i], ln[i].name, sizeof(ln[i].name));
		ln[i].idx = i;
	}
	qsort(ln, n, sizeof(*ln), cmp_lname);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(ln[i].name, ln[i - 1].name))
			keep[k++] = ln[i].idx;
	qsort(keep, k, sizeof(*keep), cmp_size);
	for (size_t i = 0; i < k; i++)
		v[i] = v[keep[i]]; /* keep[i] >= i: nothing kept is overwritten first */
	*pn = k;
	free(ln);
	free(keep);
	return 0;
}

int bia_derived_ensure(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		       int rebuild, struct bia_derive_stats *st)
{
	struct bia_layer *v;
	size_t n;
	memset(st, 0, sizeof(*st));
	if (bia_store_layers(ctx, inst, image_id, &v, &n))
		return ctx->rc;
	if (unique_layers(ctx, v, &n)) {
		free(v);
		return ctx->rc;
	}
	for (size_t i = 0; i < n; i++) {
		st->layers++;
		struct bia_ctx c;
		bia_instance_ctx(inst, &c);
		int built = 0;
		if (bia_derived_build(&c, inst, &v[i], rebuild, &built, NULL, NULL))
			note_error(st, &v[i], c.msg);
		else if (built)
			st->built++;
		else
			st->present++;
	}
	free(v);
	return 0;
}

int bia_image_layers_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			  json_t **pout)
{
	struct bia_layer *v;
	size_t n;
	if (bia_store_layers_all(ctx, inst, image_id, &v, &n))
		return ctx->rc;
	json_t *a = json_array();
	static const char *const kinds[] = {"image", "gt", "run"};
	for (size_t i = 0; i < n; i++) {
		/* a trace's SWC file: no pyramid, the overlay route serves it;
		 * where the same GT version or run also has a mask (a tracer's
		 * skeleton), the mask is the layer */
		if (v[i].vector && i && v[i - 1].kind == v[i].kind && v[i - 1].ref == v[i].ref &&
		    !v[i - 1].vector)
			continue;
		char name[64], dir[BIA_PATH_MAX], zarr[160];
		bia_layer_label_name(&v[i], name, sizeof(name));
		bia_derived_dir(inst, &v[i], dir, sizeof(dir));
		for (int alias = 0; alias < 2; alias++) {
			if (alias && !(v[i].kind == BIA_LAYER_GT && v[i].current))
				break;
			const char *nm = alias ? "gt" : name;
			if (v[i].kind == BIA_LAYER_IMAGE)
				snprintf(zarr, sizeof(zarr), "/zarr/images/%lld.zarr",
					 (long long)image_id);
			else
				snprintf(zarr, sizeof(zarr), "/zarr/images/%lld.zarr/labels/%s",
					 (long long)image_id, nm);
			json_t *l = json_pack("{s:s, s:s, s:I, s:s, s:b, s:s, s:b, s:s}", "name", nm,
					      "kind", kinds[v[i].kind], "ref", (json_int_t)v[i].ref,
					      "title", v[i].title, "current", v[i].current, "file",
					      v[i].name, "ready", v[i].vector || bia_is_dir(dir),
					      "zarr", zarr);
			if (v[i].vector) {
				json_object_set_new(l, "zarr", json_null());
				json_object_set_new(l, "vector", json_true());
			}
			json_array_append_new(a, l);
		}
	}
	free(v);
	*pout = a;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void problem(json_t *problems, const char *kind, const char *path, const char *digest,
		    const char *detail)
{
	if (problems)
		json_array_append_new(problems, json_pack("{s:s, s:s, s:s, s:s}", "kind", kind,
							  "path", path, "digest", digest, "detail",
							  detail));
}

/* A temp or old directory of the builder: ".tmp-PID-...", "...zarr.new-PID",
 * "...zarr.old-PID". Returns its pid, 0 if the name is none of those. */
static long temp_pid(const char *name)
{
	if (!strncmp(name, ".tmp-", 5))
		return strtol(name + 5, NULL, 10);
	const char *p = strstr(name, ".zarr.new-");
	if (!p)
		p = strstr(name, ".zarr.old-");
	return p ? strtol(p + 10, NULL, 10) : 0;
}

int bia_derived_fsck(struct bia_ctx *ctx, struct bia_instance *inst, int dry_run,
		     struct bia_derived_fsck *r, json_t *problems)
{
	struct bia_layer *v;
	size_t n;
	memset(r, 0, sizeof(*r));
	if (bia_store_layers(ctx, inst, 0, &v, &n))
		return ctx->rc;
	if (unique_layers(ctx, v, &n)) {
		free(v);
		return ctx->rc;
	}
	char **names = calloc(n ? n : 1, sizeof(*names));
	if (!names) {
		free(v);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		char name[128], dir[BIA_PATH_MAX];
		dir_name(&v[i], name, sizeof(name));
		names[nn++] = bia_strdup(name);
		bia_derived_dir(inst, &v[i], dir, sizeof(dir));
		struct bia_ctx c;
		bia_instance_ctx(inst, &c);
		uint64_t chunks;
		int bad = 0;
		if (!bia_is_dir(dir)) {
			r->missing++;
			bad = 1;
			problem(problems, "pyramid_missing", dir, v[i].digest,
				"the pyramid of this file is absent");
		} else if (bia_pyramid_verify(&c, dir, &chunks)) {
			r->corrupt++;
			bad = 1;
			problem(problems, "pyramid_corrupt", dir, v[i].digest, c.msg);
		}
		r->checked++;
		if (bad && !dry_run) {
			int built = 0;
			bia_ctx_clear(&c);
			if (bia_derived_build(&c, inst, &v[i], 1, &built, NULL, NULL) == 0 && built)
				r->rebuilt++;
			else
				problem(problems, "pyramid_failed", dir, v[i].digest, c.msg);
		}
	}
	free(v);
	qsort(names, nn, sizeof(*names), cmp_name);
	/* orphans and stale temp dirs */
	char base[BIA_PATH_MAX];
	snprintf(base, sizeof(base), "%s/derived/zarr", inst->root);
	DIR *d = opendir(base);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		char sub[BIA_PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", base, e->d_name);
		DIR *d2 = opendir(sub);
		struct dirent *f;
		while (d2 && (f = readdir(d2))) {
			if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, ".."))
				continue;
			char path[BIA_PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
			long pid = temp_pid(f->d_name);
			const char *key = f->d_name;
			int orphan;
			if (pid)
				orphan = !bia_pid_alive(pid);
			else
				orphan = !bsearch(&key, names, nn, sizeof(*names), cmp_name);
			if (!orphan)
				continue;
			if (!pid) {
				r->orphans++;
				problem(problems, "pyramid_orphan", path, "",
					"a pyramid of no image, GT or run output");
			}
			if (!dry_run) {
				struct bia_ctx c;
				bia_ctx_init(&c);
				if (bia_rm_rf(&c, path) == 0)
					r->removed++;
			}
		}
		if (d2)
			closedir(d2);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return 0;
}
