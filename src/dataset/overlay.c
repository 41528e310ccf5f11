/* Vector overlays: points, tracks and traces of GT versions and run
 * outputs, with the error categories of a run, filtered by plane and
 * viewport.
 * SPDX-License-Identifier: MIT */
#include "dataset/overlay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void bia_overlay_release(struct bia_overlay *o)
{
	free(o->v);
	bia_ctc_release(&o->lineage);
	memset(o, 0, sizeof(*o));
}

static int grow(struct bia_ctx *ctx, struct bia_overlay *o, size_t *cap)
{
	if (o->n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 1024;
	if (nc > (size_t)64 << 20)
		return bia_fail(ctx, BIA_ELIMIT, "overlay: more than %zu objects", *cap);
	struct bia_ovl_point *t = realloc(o->v, nc * sizeof(*t));
	if (!t)
		return bia_fail(ctx, BIA_ENOMEM, "overlay: out of memory");
	o->v = t;
	*cap = nc;
	return 0;
}

/* Every non-zero voxel is a point (SptCnt, ObjDet, LndDet, PrtTrk), in
 * raster order (t, z, y, x): the order the metrics number detections. */
static int mask_points(struct bia_ctx *ctx, const struct bia_image *m, struct bia_overlay *o)
{
	size_t cap = 0;
	for (size_t t = 0; t < m->t; t++)
		for (size_t z = 0; z < m->z; z++)
			for (size_t y = 0; y < m->y; y++)
				for (size_t x = 0; x < m->x; x++) {
					double v = bia_image_get(m, bia_image_index(m, x, y, z, 0, t));
					if (v == 0)
						continue;
					if (grow(ctx, o, &cap))
						return ctx->rc;
					struct bia_ovl_point *p = &o->v[o->n];
					memset(p, 0, sizeof(*p));
					p->x = (float)x;
					p->y = (float)y;
					p->z = (float)z;
					p->t = (int32_t)t;
					p->id = o->cls == BIA_LNDDET ? (int64_t)v : (int64_t)o->n;
					p->track = o->cls == BIA_PRTTRK || o->cls == BIA_LNDDET ? (int64_t)v : 0;
					o->n++;
				}
	return 0;
}

/* ObjTrk: the centroid of every label in every frame. */
static int cell_centroids(struct bia_ctx *ctx, const struct bia_image *m, struct bia_overlay *o)
{
	size_t cap = 0, nl = 65536;
	double *acc = calloc(nl * 4, sizeof(double));
	if (!acc)
		return bia_fail(ctx, BIA_ENOMEM, "overlay: out of memory");
	int rc = 0;
	for (size_t t = 0; t < m->t && !rc; t++) {
		memset(acc, 0, nl * 4 * sizeof(double));
		for (size_t z = 0; z < m->z; z++)
			for (size_t y = 0; y < m->y; y++)
				for (size_t x = 0; x < m->x; x++) {
					double v = bia_image_get(m, bia_image_index(m, x, y, z, 0, t));
					if (v <= 0 || v >= (double)nl)
						continue;
					double *a = acc + 4 * (size_t)v;
					a[0] += (double)x;
					a[1] += (double)y;
					a[2] += (double)z;
					a[3] += 1;
				}
		for (size_t l = 1; l < nl && !rc; l++) {
			double *a = acc + 4 * l;
			if (!a[3])
				continue;
			if ((rc = grow(ctx, o, &cap)))
				break;
			struct bia_ovl_point *p = &o->v[o->n];
			memset(p, 0, sizeof(*p));
			p->x = (float)(a[0] / a[3]);
			p->y = (float)(a[1] / a[3]);
			p->z = (float)(a[2] / a[3]);
			p->t = (int32_t)t;
			p->id = p->track = (int64_t)l;
			o->n++;
		}
	}
	free(acc);
	if (!rc)
		for (size_t i = 0; i < o->n; i++)
			for (size_t k = 0; k < o->lineage.n; k++)
				if ((int64_t)o->lineage.tracks[k].label == o->v[i].track)
					o->v[i].parent = o->lineage.tracks[k].parent;
	return rc;
}

static int swc_nodes(struct bia_ctx *ctx, const struct bia_swc *s, struct bia_overlay *o)
{
	size_t cap = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (grow(ctx, o, &cap))
			return ctx->rc;
		struct bia_ovl_point *p = &o->v[o->n++];
		memset(p, 0, sizeof(*p));
		p->x = (float)s->nodes[i].x;
		p->y = (float)s->nodes[i].y;
		p->z = (float)s->nodes[i].z;
		p->id = s->nodes[i].id;
		p->parent = s->nodes[i].parent;
		p->px = p->py = p->pz = NAN;
		for (size_t k = 0; k < s->n && p->parent >= 0; k++)
			if (s->nodes[k].id == p->parent) {
				p->px = (float)s->nodes[k].x;
				p->py = (float)s->nodes[k].y;
				p->pz = (float)s->nodes[k].z;
				break;
			}
	}
	return 0;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcasecmp(s + a - b, suf);
}

int bia_overlay_load(struct bia_ctx *ctx, struct bia_instance *inst,
		     const struct bia_image_rec *im, enum bia_class cls, const char *name,
		     struct bia_overlay *out, int64_t *prun)
{
	memset(out, 0, sizeof(*out));
	*prun = 0;
	out->cls = cls;
	for (int i = 0; i < 4; i++)
		out->size[i] = (size_t)im->size[i == 3 ? 4 : i];
	switch (cls) {
	case BIA_SPTCNT:
	case BIA_OBJDET:
	case BIA_LNDDET:
		out->kind = "points";
		break;
	case BIA_PRTTRK:
	case BIA_OBJTRK:
		out->kind = "tracks";
		break;
	case BIA_TRETRC:
		out->kind = "trace";
		break;
	default:
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s results are masks: see the image's labels (/zarr/images/%lld.zarr/"
				"labels/%s)",
				bia_class_code(cls), (long long)im->id, name);
	}
	/* the files of the layer: (main, second) digests and names */
	char main_d[BIA_SHA256_HEX] = "", txt_d[BIA_SHA256_HEX] = "", main_n[256] = "";
	char *end;
	if (!strcmp(name, "gt") || !strncmp(name, "gt-", 3)) {
		int64_t want = 0;
		if (name[2]) {
			want = strtoll(name + 3, &end, 10);
			if (want <= 0 || *end)
				return bia_fail(ctx, BIA_ENOENT, "no layer '%s'", name);
		}
		struct bia_gt_version *v;
		size_t n;
		if (bia_gt_list(ctx, inst, im->id, &v, &n))
			return ctx->rc;
		for (size_t i = 0; i < n; i++) {
			if (want ? v[i].id != want : !v[i].current)
				continue;
			for (size_t f = 0; f < v[i].nfiles; f++) {
				const struct bia_gt_file *g = &v[i].files[f];
				if (!strcmp(g->kind, "txt") || (!strcmp(g->kind, "other") && ends_with(g->name, ".txt")))
					snprintf(txt_d, sizeof(txt_d), "%s", g->digest);
				else if (!strcmp(g->kind, "mask") || !strcmp(g->kind, "swc")) {
					snprintf(main_d, sizeof(main_d), "%s", g->digest);
					snprintf(main_n, sizeof(main_n), "%s", g->name);
				}
			}
		}
		bia_gt_list_free(v, n);
	} else if (!strncmp(name, "run-", 4)) {
		int64_t rid = strtoll(name + 4, &end, 10);
		if (rid <= 0 || *end)
			return bia_fail(ctx, BIA_ENOENT, "no layer '%s'", name);
		struct bia_run_image *v;
		size_t n;
		if (bia_store_run_images(ctx, inst, rid, &v, &n))
			return ctx->rc;
		for (size_t i = 0; i < n; i++) {
			if (v[i].image_id != im->id)
				continue;
			for (size_t f = 0; f < v[i].nfiles; f++) {
				if (ends_with(v[i].files[f].name, ".txt")) {
					snprintf(txt_d, sizeof(txt_d), "%s", v[i].files[f].digest);
				} else {
					snprintf(main_d, sizeof(main_d), "%s", v[i].files[f].digest);
					snprintf(main_n, sizeof(main_n), "%s", v[i].files[f].name);
				}
			}
		}
		bia_run_images_free(v, n);
		*prun = rid;
	} else {
		return bia_fail(ctx, BIA_ENOENT, "no layer '%s' (gt, gt-VERSION or run-RUN)", name);
	}
	if (!main_d[0])
		return bia_fail(ctx, BIA_ENOENT, "image %lld has no file for layer '%s'",
				(long long)im->id, name);
	snprintf(out->digest, sizeof(out->digest), "%s", main_d);
	char path[BIA_PATH_MAX];
	bia_blob_path(inst, main_d, path, sizeof(path));
	int rc;
	if (cls == BIA_TRETRC) {
		struct bia_swc s;
		if (bia_swc_load(ctx, path, &s))
			return ctx->rc;
		rc = swc_nodes(ctx, &s, out);
		bia_swc_release(&s);
	} else {
		if (txt_d[0]) {
			char tp[BIA_PATH_MAX];
			bia_blob_path(inst, txt_d, tp, sizeof(tp));
			if (bia_ctc_load(ctx, tp, &out->lineage))
				return ctx->rc;
		}
		struct bia_image m;
		struct bia_read_opts ro = {0};
		ro.pages = cls == BIA_OBJTRK || cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
		if (bia_image_read(ctx, path, &ro, &m)) {
			bia_fail_prefix(ctx, "%s", main_n);
			bia_overlay_release(out);
			return ctx->rc;
		}
		rc = cls == BIA_OBJTRK ? cell_centroids(ctx, &m, out) : mask_points(ctx, &m, out);
		bia_image_release(&m);
	}
	if (rc)
		bia_overlay_release(out);
	return rc;
}

int bia_overlay_filter_parse(struct bia_ctx *ctx, const char *z, const char *t,
			     const char *bbox, const char *limit, const char *run,
			     struct bia_overlay_filter *f)
{
	memset(f, 0, sizeof(*f));
	char *end;
	if (z) {
		long long v = strtoll(z, &end, 10);
		if (end == z || *end || v < 0)
			return bia_fail(ctx, BIA_EINVAL, "z=%s: expected a plane number", z);
		f->has_z = 1;
		f->z = (size_t)v;
	}
	if (t) {
		long long v = strtoll(t, &end, 10);
		if (end == t || *end || v < 0)
			return bia_fail(ctx, BIA_EINVAL, "t=%s: expected a frame number", t);
		f->has_t = 1;
		f->t = (size_t)v;
	}
	if (bbox) {
		double v[4];
		const char *p = bbox;
		for (int i = 0; i < 4; i++) {
			v[i] = strtod(p, &end);
			if (end == p || !isfinite(v[i]) || (i < 3 ? *end != ',' : *end != 0))
				return bia_fail(ctx, BIA_EINVAL, "bbox=%s: expected x0,y0,x1,y1", bbox);
			p = end + 1;
		}
		if (v[2] <= v[0] || v[3] <= v[1])
			return bia_fail(ctx, BIA_EINVAL, "bbox=%s: x1 > x0 and y1 > y0", bbox);
		f->has_bbox = 1;
		f->x0 = v[0], f->y0 = v[1], f->x1 = v[2], f->y1 = v[3];
	}
	if (limit) {
		long long v = strtoll(limit, &end, 10);
		if (end == limit || *end || v < 1 || v > BIA_OVERLAY_LIMIT_MAX)
			return bia_fail(ctx, BIA_EINVAL, "limit=%s: expected 1 to %d", limit,
					BIA_OVERLAY_LIMIT_MAX);
		f->limit = (size_t)v;
	}
	if (run) {
		long long v = strtoll(run, &end, 10);
		if (end == run || *end || v < 1)
			return bia_fail(ctx, BIA_EINVAL, "run=%s: expected a run id", run);
		f->run_id = v;
	}
	return 0;
}

struct st_ent {
	int64_t id;
	const char *status;
};

/* A voxel position as one key (each coordinate below 65,536). */
static int64_t pos_key(int64_t x, int64_t y, int64_t z, int64_t t)
{
	return (int64_t)(((uint64_t)t & 0xFFFF) << 48 | ((uint64_t)z & 0xFFFF) << 32 |
			 ((uint64_t)y & 0xFFFF) << 16 | ((uint64_t)x & 0xFFFF));
}

static int cmp_st(const void *a, const void *b)
{
	int64_t x = ((const struct st_ent *)a)->id, y = ((const struct st_ent *)b)->id;
	return (x > y) - (x < y);
}

static int in_view(const struct bia_overlay *o, const struct bia_ovl_point *p,
		   const struct bia_overlay_filter *f)
{
	int trace = o->cls == BIA_TRETRC;
	if (f->has_t && !trace && (size_t)p->t != f->t)
		return 0;
	if (f->has_z) {
		int here = lroundf(p->z) == (long)f->z;
		/* a trace's segment shows on the planes of either end */
		if (!here && !(trace && isfinite(p->pz) && lroundf(p->pz) == (long)f->z))
			return 0;
	}
	if (f->has_bbox) {
		int inside = p->x >= f->x0 && p->x < f->x1 && p->y >= f->y0 && p->y < f->y1;
		if (!inside && !(trace && isfinite(p->px) && p->px >= f->x0 && p->px < f->x1 &&
				 p->py >= f->y0 && p->py < f->y1))
			return 0;
	}
	return 1;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(round(v * 100) / 100) : json_null();
}

int bia_overlay_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		     const char *layer, const struct bia_overlay *o,
		     const struct bia_overlay_filter *f, json_t **pout)
{
	/* the error categories of a run: by the metric's id of each object */
	struct st_ent *st = NULL;
	size_t nst = 0;
	struct bia_run_object *objs = NULL;
	size_t nobj = 0;
	/* the key of an object: the metric's id (a detection's raster index, a
	 * particle's label) or, for landmarks (numbered by class, then raster
	 * order), the position in the record's detail */
	int keyed = o->cls == BIA_SPTCNT || o->cls == BIA_OBJDET || o->cls == BIA_PRTTRK ||
		    o->cls == BIA_LNDDET || o->cls == BIA_TRETRC;
	if (f->run_id && keyed) {
		if (bia_store_run_objects(ctx, inst, f->run_id, image_id, &objs, &nobj))
			return ctx->rc;
		st = calloc(nobj ? nobj : 1, sizeof(*st));
		if (!st) {
			bia_run_objects_free(objs, nobj);
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < nobj; i++) {
			int gt = !strcmp(objs[i].kind, "gt") || !strcmp(objs[i].kind, "ref");
			if (gt != f->gt_side)
				continue;
			st[nst].id = objs[i].obj_id;
			if (o->cls == BIA_LNDDET) {
				json_t *d = objs[i].detail ? json_loads(objs[i].detail, 0, NULL) : NULL;
				st[nst].id = pos_key(json_integer_value(json_object_get(d, "x")),
						     json_integer_value(json_object_get(d, "y")),
						     json_integer_value(json_object_get(d, "z")),
						     json_integer_value(json_object_get(d, "t")));
				json_decref(d);
			} else if (o->cls == BIA_TRETRC) {
				/* an edge, node to parent: the segment of the node's row */
				json_t *d = objs[i].detail ? json_loads(objs[i].detail, 0, NULL) : NULL;
				json_t *from = json_object_get(d, "from_id");
				st[nst].id = json_is_integer(from) ? json_integer_value(from) : INT64_MIN;
				json_decref(d);
			}
			st[nst].status = objs[i].status;
			nst++;
		}
		qsort(st, nst, sizeof(*st), cmp_st);
	}
	size_t limit = f->limit ? f->limit : BIA_OVERLAY_LIMIT_DEFAULT, matching = 0;
	json_t *items = json_array(), *cats = json_object();
	for (size_t i = 0; i < o->n; i++) {
		const struct bia_ovl_point *p = &o->v[i];
		if (!in_view(o, p, f))
			continue;
		matching++;
		const char *status = NULL;
		if (nst) {
			int64_t k = o->cls == BIA_PRTTRK   ? p->track
				    : o->cls == BIA_LNDDET ? pos_key((int64_t)p->x, (int64_t)p->y,
								     (int64_t)p->z, p->t)
							   : p->id;
			struct st_ent key = {k, NULL};
			struct st_ent *hit = bsearch(&key, st, nst, sizeof(*st), cmp_st);
			status = hit ? hit->status : NULL;
		}
		if (status) {
			json_t *c = json_object_get(cats, status);
			json_object_set_new(cats, status,
					    json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		if (json_array_size(items) >= limit)
			continue;
		json_t *row;
		if (o->cls == BIA_TRETRC)
			row = json_pack("[o,o,o,I,I,o,o,o,o]", num_or_null(p->x), num_or_null(p->y),
					num_or_null(p->z), (json_int_t)p->id, (json_int_t)p->parent,
					num_or_null(p->px), num_or_null(p->py), num_or_null(p->pz),
					status ? json_string(status) : json_null());
		else
			row = json_pack("[o,o,o,i,I,I,o]", num_or_null(p->x), num_or_null(p->y),
					num_or_null(p->z), (int)p->t, (json_int_t)p->id,
					(json_int_t)p->track, status ? json_string(status) : json_null());
		json_array_append_new(items, row);
	}
	size_t returned = json_array_size(items);
	json_t *cols = o->cls == BIA_TRETRC
			       ? json_pack("[s,s,s,s,s,s,s,s,s]", "x", "y", "z", "id", "parent", "px",
					   "py", "pz", "status")
			       : json_pack("[s,s,s,s,s,s,s]", "x", "y", "z", "t", "id", "track",
					   "status");
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:[I,I,I,I], s:I, s:I, s:I, s:b, s:o, s:o, s:o}",
			      "image_id", (json_int_t)image_id, "layer", layer, "class",
			      bia_class_code(o->cls), "kind", o->kind, "size",
			      (json_int_t)o->size[0], (json_int_t)o->size[1], (json_int_t)o->size[2],
			      (json_int_t)o->size[3], "total", (json_int_t)o->n, "matching",
			      (json_int_t)matching, "returned", (json_int_t)returned, "truncated",
			      returned < matching, "columns", cols, "items", items, "categories",
			      cats);
	if (f->run_id)
		json_object_set_new(j, "run_id", json_integer(f->run_id));
	if (o->lineage.n) {
		json_t *lin = json_array();
		for (size_t i = 0; i < o->lineage.n; i++)
			json_array_append_new(lin, json_pack("{s:i, s:I, s:I, s:i}", "track",
							     (int)o->lineage.tracks[i].label, "begin",
							     (json_int_t)o->lineage.tracks[i].begin,
							     "end", (json_int_t)o->lineage.tracks[i].end,
							     "parent", (int)o->lineage.tracks[i].parent));
		json_object_set_new(j, "lineage", lin);
	}
	free(st);
	bia_run_objects_free(objs, nobj);
	*pout = j;
	return 0;
}

int bia_overlay_query(struct bia_ctx *ctx, struct bia_instance *inst,
		      const struct bia_image_rec *im, const char *name,
		      const struct bia_overlay_filter *filter, json_t **pout)
{
	struct bia_problem pr;
	if (bia_problem_get_id(ctx, inst, im->problem_id, &pr))
		return ctx->rc;
	enum bia_class cls = pr.cls;
	bia_problem_release(&pr);
	struct bia_overlay o;
	int64_t run;
	if (bia_overlay_load(ctx, inst, im, cls, name, &o, &run))
		return ctx->rc;
	struct bia_overlay_filter f = *filter;
	if (run && f.run_id && f.run_id != run) {
		bia_overlay_release(&o);
		return bia_fail(ctx, BIA_EINVAL, "layer '%s' is run %lld's result: run=%lld does not apply",
				name, (long long)run, (long long)f.run_id);
	}
	if (run)
		f.run_id = run, f.gt_side = 0;
	else if (f.run_id)
		f.gt_side = 1;
	int rc = bia_overlay_json(ctx, inst, im->id, name, &o, &f, pout);
	bia_overlay_release(&o);
	return rc;
}
