/* Dataset driver: options (defaults, difficulty presets, bounds, JSON),
 * dispatch to the per-class generators, writing images / ground truth /
 * predictions / dataset.json, and the baseline over a dataset folder.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const level_names[] = {"easy", "medium", "hard"};

const char *bia_gen_level_name(enum bia_gen_level l)
{
	return (unsigned)l < 3 ? level_names[l] : "?";
}

int bia_gen_level_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	return -1;
}

/* Difficulty presets of the four image knobs and the illumination. */
struct preset {
	double noise, blur, contrast, density, illum;
};
static const struct preset presets[3] = {
	{0.08, 1.0, 0.60, 0.6, 0.10}, /* easy */
	{0.25, 1.6, 0.35, 1.0, 0.30}, /* medium */
	{0.60, 2.4, 0.20, 1.5, 0.60}, /* hard */
};

void bia_gen_opts_init(struct bia_gen_opts *o, enum bia_class cls)
{
	memset(o, 0, sizeof(*o));
	o->cls = cls;
	o->level = BIA_GEN_MEDIUM;
	o->color = -1;
	o->noise = o->density = o->blur = o->contrast = o->illum = NAN;
	o->perturb.flip = -1;
}

static int is_tracking(enum bia_class c) { return c == BIA_OBJTRK || c == BIA_PRTTRK; }

static int allows_3d(enum bia_class c) { return c != BIA_PIXCLA && c != BIA_LNDDET; }

static int has_objects(enum bia_class c)
{
	return c == BIA_OBJSEG || c == BIA_SPTCNT || c == BIA_OBJDET || c == BIA_OBJTRK;
}

int bia_gen_opts_resolve(struct bia_ctx *ctx, struct bia_gen_opts *o)
{
	enum bia_class c = o->cls;
	if (c <= BIA_CLASS_NONE || c >= BIA_CLASS_COUNT)
		return bia_fail(ctx, BIA_EINVAL, "unknown problem class (one of %s)", bia_class_list());
	const char *code = bia_class_code(c);
	if (!o->n)
		o->n = is_tracking(c) ? 2 : 4;
	if (o->n > BIA_GEN_MAX_N)
		return bia_fail(ctx, BIA_ELIMIT, "--n %zu is more than %d images", o->n, BIA_GEN_MAX_N);
	if (o->seed > (uint64_t)INT64_MAX)
		return bia_fail(ctx, BIA_EINVAL, "--seed must be at most %lld", (long long)INT64_MAX);
	if (!o->w) {
		int vol = c == BIA_TRETRC || c == BIA_LOOTRC;
		o->w = o->h = vol ? 128 : 256;
		o->d = vol ? 32 : 1;
	}
	if (!o->d)
		o->d = 1;
	if (o->w < BIA_GEN_MIN_XY || o->h < BIA_GEN_MIN_XY || o->w > BIA_GEN_MAX_XY ||
	    o->h > BIA_GEN_MAX_XY)
		return bia_fail(ctx, BIA_ELIMIT, "width and height must be between %d and %d, not %zux%zu",
				BIA_GEN_MIN_XY, BIA_GEN_MAX_XY, o->w, o->h);
	if (o->d > BIA_GEN_MAX_Z)
		return bia_fail(ctx, BIA_ELIMIT, "depth must be at most %d, not %zu", BIA_GEN_MAX_Z, o->d);
	if (o->d > 1 && !allows_3d(c))
		return bia_fail(ctx, BIA_EUNSUPPORTED, "%s datasets are 2D only (--size WxH)", code);
	if (o->d > 1 && o->d < 4)
		return bia_fail(ctx, BIA_ELIMIT, "a 3D size needs a depth of at least 4, not %zu", o->d);
	if (is_tracking(c)) {
		if (!o->frames)
			o->frames = c == BIA_OBJTRK ? 30 : 50;
		if (o->frames < 2 || o->frames > BIA_GEN_MAX_T)
			return bia_fail(ctx, BIA_ELIMIT, "--frames must be between 2 and %d, not %zu",
					BIA_GEN_MAX_T, o->frames);
	} else {
		if (o->frames > 1)
			return bia_fail(ctx, BIA_EUNSUPPORTED,
					"--frames applies to ObjTrk and PrtTrk only, not %s", code);
		o->frames = 1;
	}
	if (!o->bits)
		o->bits = 8;
	if (o->bits != 8 && o->bits != 16)
		return bia_fail(ctx, BIA_EINVAL, "--bits must be 8 or 16, not %d", o->bits);
	if (c == BIA_PIXCLA) {
		if (o->color < 0)
			o->color = 1;
		if (o->color && o->bits != 8)
			return bia_fail(ctx, BIA_EUNSUPPORTED, "RGB PixCla images are 8-bit (use --grey "
							       "for 16-bit)");
		if (!o->classes)
			o->classes = 3;
		if (o->classes < 2 || o->classes > 8)
			return bia_fail(ctx, BIA_ELIMIT, "--classes must be between 2 and 8, not %d",
					o->classes);
	} else {
		if (o->color > 0)
			return bia_fail(ctx, BIA_EUNSUPPORTED, "--rgb applies to PixCla only");
		o->color = 0;
		if (o->classes)
			return bia_fail(ctx, BIA_EUNSUPPORTED, "--classes applies to PixCla only");
	}
	if (c == BIA_LNDDET) {
		if (!o->landmarks)
			o->landmarks = 10;
		if (o->landmarks < 1 || o->landmarks > 200)
			return bia_fail(ctx, BIA_ELIMIT, "--landmarks must be between 1 and 200, not %d",
					o->landmarks);
		if (o->w < 64 || o->h < 64)
			return bia_fail(ctx, BIA_ELIMIT, "LndDet images must be at least 64x64");
	} else if (o->landmarks) {
		return bia_fail(ctx, BIA_EUNSUPPORTED, "--landmarks applies to LndDet only");
	}
	/* pixel limit: of one image, over all its samples */
	uint64_t vox = (uint64_t)o->w * o->h * o->d;
	uint64_t samples = vox * o->frames * (o->color ? 3 : 1);
	uint64_t lim = BIA_GEN_MAX_VOXELS;
	if (ctx->max_pixels && ctx->max_pixels < lim)
		lim = ctx->max_pixels;
	if (samples > lim)
		return bia_fail(ctx, BIA_ELIMIT,
				"one image would have %llu samples, more than the limit of %llu "
				"(smaller --size or --frames)",
				(unsigned long long)samples, (unsigned long long)lim);
	if (c == BIA_PRTTRK) {
		if (o->tracks < 0 || o->tracks > 65535 || (uint64_t)o->tracks > vox / 16)
			return bia_fail(ctx, BIA_ELIMIT,
					"--tracks must be between 1 and %llu for this size, not %ld",
					(unsigned long long)(vox / 16 < 65535 ? vox / 16 : 65535),
					o->tracks);
	} else if (o->tracks) {
		return bia_fail(ctx, BIA_EUNSUPPORTED, "--tracks applies to PrtTrk only");
	}
	if (o->objects) {
		if (!has_objects(c))
			return bia_fail(ctx, BIA_EUNSUPPORTED,
					"--objects applies to ObjSeg, SptCnt, ObjDet and ObjTrk only");
		uint64_t per = c == BIA_SPTCNT || c == BIA_OBJDET ? 8 : 64;
		uint64_t mx = vox / per;
		if (c == BIA_OBJTRK && mx > 500)
			mx = 500; /* cells alive at once (divisions double them) */
		if (o->objects < 1 || (uint64_t)o->objects > mx)
			return bia_fail(ctx, BIA_ELIMIT,
					"--objects must be between 1 and %llu for this size, not %ld",
					(unsigned long long)mx, o->objects);
	}
	const struct preset *p = &presets[o->level];
	if (isnan(o->noise))
		o->noise = p->noise;
	if (isnan(o->blur))
		o->blur = p->blur;
	if (isnan(o->contrast))
		o->contrast = p->contrast;
	if (isnan(o->density))
		o->density = p->density;
	if (isnan(o->illum))
		o->illum = p->illum;
	if (!(o->noise >= 0 && o->noise <= 5))
		return bia_fail(ctx, BIA_ELIMIT, "--noise must be between 0 and 5");
	if (!(o->blur >= 0 && o->blur <= 20))
		return bia_fail(ctx, BIA_ELIMIT, "--blur must be between 0 and 20 pixels");
	if (!(o->contrast > 0 && o->contrast <= 1))
		return bia_fail(ctx, BIA_ELIMIT, "--contrast must be in (0, 1]");
	if (!(o->density > 0 && o->density <= 5))
		return bia_fail(ctx, BIA_ELIMIT, "--density must be in (0, 5]");
	if (!(o->illum >= 0 && o->illum <= 2))
		return bia_fail(ctx, BIA_ELIMIT, "--illumination must be between 0 and 2");
	struct bia_gen_perturb *q = &o->perturb;
	if (q->on) {
		double f[4] = {q->drop, q->split, q->merge, q->flip};
		for (int i = 0; i < 4; i++)
			if (!(f[i] <= 1) || (i < 3 && !(f[i] >= 0)))
				return bia_fail(ctx, BIA_EINVAL, "--perturb fractions must be in [0, 1]");
		if (q->flip < 0) {
			q->flip = q->drop + q->split + q->merge;
			if (q->flip > 1)
				q->flip = 1;
		}
		if (q->shift < -64 || q->shift > 64)
			return bia_fail(ctx, BIA_ELIMIT, "--perturb shift must be between -64 and 64");
	}
	return 0;
}

static json_t *perturb_json(const struct bia_gen_perturb *q)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:i}", "drop", json_real(q->drop), "split",
			 json_real(q->split), "merge", json_real(q->merge), "flip",
			 json_real(q->flip), "shift", q->shift);
}

json_t *bia_gen_opts_json(const struct bia_gen_opts *o)
{
	json_t *j = json_object();
	json_object_set_new(j, "size", json_pack("[I, I, I]", (json_int_t)o->w, (json_int_t)o->h,
						  (json_int_t)o->d));
	json_object_set_new(j, "frames", json_integer((json_int_t)o->frames));
	json_object_set_new(j, "bits", json_integer(o->bits));
	if (o->cls == BIA_PIXCLA) {
		json_object_set_new(j, "rgb", json_boolean(o->color));
		json_object_set_new(j, "classes", json_integer(o->classes));
	}
	json_object_set_new(j, "noise", json_real(o->noise));
	json_object_set_new(j, "blur", json_real(o->blur));
	json_object_set_new(j, "contrast", json_real(o->contrast));
	json_object_set_new(j, "density", json_real(o->density));
	json_object_set_new(j, "illumination", json_real(o->illum));
	if (o->objects)
		json_object_set_new(j, "objects", json_integer(o->objects));
	if (o->cls == BIA_LNDDET)
		json_object_set_new(j, "landmarks", json_integer(o->landmarks));
	if (o->tracks)
		json_object_set_new(j, "tracks", json_integer(o->tracks));
	if (o->perturb.on)
		json_object_set_new(j, "perturb", perturb_json(&o->perturb));
	return j;
}

static double jreal(const json_t *o, const char *k, double dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

static long jint(const json_t *o, const char *k, long dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

int bia_gen_opts_from_json(struct bia_ctx *ctx, const json_t *doc, struct bia_gen_opts *o)
{
	enum bia_class cls = bia_class_parse(bia_json_str(doc, "class", ""));
	if (cls == BIA_CLASS_NONE)
		return bia_fail(ctx, BIA_EFORMAT, "dataset.json: no known 'class'");
	bia_gen_opts_init(o, cls);
	int lv = bia_gen_level_parse(bia_json_str(doc, "difficulty", "medium"));
	o->level = lv < 0 ? BIA_GEN_MEDIUM : (enum bia_gen_level)lv;
	json_int_t seed = json_integer_value(json_object_get(doc, "seed"));
	o->seed = seed > 0 ? (uint64_t)seed : 0;
	o->n = (size_t)jint(doc, "n", 1);
	const json_t *p = json_object_get(doc, "parameters");
	const json_t *sz = json_object_get(p, "size");
	if (!json_is_array(sz) || json_array_size(sz) != 3)
		return bia_fail(ctx, BIA_EFORMAT, "dataset.json: no 'parameters.size'");
	o->w = (size_t)json_integer_value(json_array_get(sz, 0));
	o->h = (size_t)json_integer_value(json_array_get(sz, 1));
	o->d = (size_t)json_integer_value(json_array_get(sz, 2));
	o->frames = (size_t)jint(p, "frames", 1);
	o->bits = (int)jint(p, "bits", 8);
	if (cls == BIA_PIXCLA) {
		o->color = json_is_true(json_object_get(p, "rgb"));
		o->classes = (int)jint(p, "classes", 3);
	}
	o->noise = jreal(p, "noise", NAN);
	o->blur = jreal(p, "blur", NAN);
	o->contrast = jreal(p, "contrast", NAN);
	o->density = jreal(p, "density", NAN);
	o->illum = jreal(p, "illumination", NAN);
	o->objects = jint(p, "objects", 0);
	if (cls == BIA_LNDDET)
		o->landmarks = (int)jint(p, "landmarks", 10);
	o->tracks = jint(p, "tracks", 0);
	return bia_gen_opts_resolve(ctx, o);
}

int bia_gen_perturb_parse(struct bia_ctx *ctx, const char *text, struct bia_gen_perturb *p)
{
	p->on = 1;
	const char *s = text;
	while (*s) {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (!eq || eq > end)
			return bia_fail(ctx, BIA_EUSAGE, "--perturb: expected NAME=VALUE in '%.*s'",
					(int)(end - s), s);
		char name[16], val[64];
		size_t nl = (size_t)(eq - s), vl = (size_t)(end - eq - 1);
		if (nl >= sizeof(name) || vl >= sizeof(val) || !vl)
			return bia_fail(ctx, BIA_EUSAGE, "--perturb: bad item '%.*s'", (int)(end - s), s);
		memcpy(name, s, nl);
		name[nl] = 0;
		memcpy(val, eq + 1, vl);
		val[vl] = 0;
		char *e;
		errno = 0;
		double v = strtod(val, &e);
		if (*e || errno || !isfinite(v))
			return bia_fail(ctx, BIA_EUSAGE, "--perturb: '%s' is not a number", val);
		if (!strcmp(name, "shift")) {
			if (v != floor(v) || fabs(v) > 64)
				return bia_fail(ctx, BIA_EUSAGE,
						"--perturb: shift must be a whole number of pixels in "
						"[-64, 64]");
			p->shift = (int)v;
		} else {
			double *dst = !strcmp(name, "drop")    ? &p->drop
				      : !strcmp(name, "split") ? &p->split
				      : !strcmp(name, "merge") ? &p->merge
				      : !strcmp(name, "flip")  ? &p->flip
							       : NULL;
			if (!dst)
				return bia_fail(ctx, BIA_EUSAGE,
						"--perturb: unknown item '%s' (drop, split, merge, flip, "
						"shift)",
						name);
			if (!(v >= 0 && v <= 1))
				return bia_fail(ctx, BIA_EUSAGE, "--perturb: %s must be in [0, 1]", name);
			*dst = v;
		}
		s = *end ? end + 1 : end;
	}
	return 0;
}

void bia_gen_sample_init(struct bia_gen_sample *s)
{
	memset(s, 0, sizeof(*s));
	bia_image_init(&s->image);
	bia_image_init(&s->gt);
}

void bia_gen_sample_release(struct bia_gen_sample *s)
{
	bia_image_release(&s->image);
	bia_image_release(&s->gt);
	free(s->swc.nodes);
	free(s->tracks.tracks);
	json_decref(s->info);
	bia_gen_sample_init(s);
}

static void make_stem(const struct bia_gen_opts *o, size_t index, char *out, size_t outsz)
{
	char low[16];
	const char *code = bia_class_code(o->cls);
	size_t i = 0;
	for (; code[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] - 'A' + 'a' : code[i]);
	low[i] = 0;
	int digits = o->n > 1000 ? 5 : 3;
	snprintf(out, outsz, "%s_%0*zu", low, digits, index);
}

int bia_gen_sample(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t index,
		   struct bia_gen_sample *out)
{
	bia_gen_sample_init(out);
	make_stem(o, index, out->stem, sizeof(out->stem));
	out->info = json_object();
	int rc;
	switch (o->cls) {
	case BIA_OBJSEG:
		rc = bia__gen_objseg(ctx, o, index, out);
		break;
	case BIA_SPTCNT:
	case BIA_OBJDET:
		rc = bia__gen_spots(ctx, o, index, out);
		break;
	case BIA_PIXCLA:
		rc = bia__gen_pixcla(ctx, o, index, out);
		break;
	case BIA_TRETRC:
		rc = bia__gen_tretrc(ctx, o, index, out);
		break;
	case BIA_LOOTRC:
		rc = bia__gen_lootrc(ctx, o, index, out);
		break;
	case BIA_OBJTRK:
		rc = bia__gen_objtrk(ctx, o, index, out);
		break;
	case BIA_PRTTRK:
		rc = bia__gen_prttrk(ctx, o, index, out);
		break;
	case BIA_LNDDET:
		rc = bia__gen_lnddet(ctx, o, index, out);
		break;
	default:
		rc = bia_fail(ctx, BIA_EINVAL, "unknown problem class");
	}
	if (rc)
		bia_gen_sample_release(out);
	return rc;
}

/* ---------------------------------------------------------------- writing */

static int write_text(struct bia_ctx *ctx, const char *path, struct bia_buf *b)
{
	if (b->err)
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", path);
	return bia_write_file_atomic(ctx, path, b->buf, b->len);
}

static int write_swc(struct bia_ctx *ctx, const struct bia_swc *s, const char *path)
{
	struct bia_buf b;
	bia_buf_init(&b, (size_t)1 << 30);
	bia_buf_adds(&b, "# SWC written by biaflows gen " BIA_GEN_VERSION "\n"
			 "# id type x y z radius parent (voxel coordinates)\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct bia_swc_node *n = &s->nodes[i];
		bia_buf_addf(&b, "%lld %d %.3f %.3f %.3f %.3f %lld\n", (long long)n->id, n->type,
			     n->x, n->y, n->z, n->r, (long long)n->parent);
	}
	int rc = write_text(ctx, path, &b);
	bia_buf_release(&b);
	return rc;
}

static int write_ctc(struct bia_ctx *ctx, const struct bia_ctc_tracks *t, const char *path)
{
	struct bia_buf b;
	bia_buf_init(&b, (size_t)1 << 30);
	for (size_t i = 0; i < t->n; i++)
		bia_buf_addf(&b, "%u %lld %lld %u\n", t->tracks[i].label, (long long)t->tracks[i].begin,
			     (long long)t->tracks[i].end, t->tracks[i].parent);
	int rc = write_text(ctx, path, &b);
	bia_buf_release(&b);
	return rc;
}

int bia_gen_write_gt(struct bia_ctx *ctx, enum bia_class cls, const struct bia_gen_sample *s,
		     const char *dir)
{
	char p[BIA_PATH_MAX];
	if (cls == BIA_TRETRC) {
		snprintf(p, sizeof(p), "%s/%s.swc", dir, s->stem);
		return write_swc(ctx, &s->swc, p);
	}
	snprintf(p, sizeof(p), "%s/%s.tif", dir, s->stem);
	struct bia_tiff_write_opts wo = {0};
	wo.compression = BIA_COMP_DEFLATE; /* masks are mostly background */
	if (bia_image_write_tiff(ctx, &s->gt, p, &wo))
		return ctx->rc;
	if (cls == BIA_OBJTRK) {
		snprintf(p, sizeof(p), "%s/%s.txt", dir, s->stem);
		return write_ctc(ctx, &s->tracks, p);
	}
	return 0;
}

/* Is dir absent, empty, or (force) an earlier dataset? Removes the earlier
 * dataset's parts. *pcreated: we made dir. */
static int prepare_outdir(struct bia_ctx *ctx, const char *dir, int force, int *pcreated)
{
	*pcreated = 0;
	if (!bia_is_dir(dir)) {
		if (bia_is_file(dir))
			return bia_fail(ctx, BIA_EEXIST, "'%s' is a file", dir);
		if (bia_mkdir_p(ctx, dir))
			return ctx->rc;
		*pcreated = 1;
		return 0;
	}
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/dataset.json", dir);
	int earlier = bia_is_file(p);
	if (earlier && force) {
		static const char *const parts[] = {"images", "groundtruth", "predictions"};
		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, parts[i]);
			if (bia_is_dir(p) && bia_rm_rf(ctx, p))
				return ctx->rc;
		}
		snprintf(p, sizeof(p), "%s/dataset.json", dir);
		if (unlink(p))
			return bia_fail(ctx, BIA_EIO, "cannot remove '%s': %s", p, strerror(errno));
	}
	/* now it must be empty */
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", dir, strerror(errno));
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	if (!empty)
		return bia_fail(ctx, BIA_EEXIST,
				earlier ? "'%s' already holds a dataset (use --force to replace it)"
					: "'%s' is not empty (give a new or empty folder)",
				dir);
	return 0;
}

static void cleanup_outdir(const char *dir, int created)
{
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	if (created) {
		bia_rm_rf(&tmp, dir);
		return;
	}
	static const char *const parts[] = {"images", "groundtruth", "predictions", "dataset.json"};
	char p[BIA_PATH_MAX];
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, parts[i]);
		if (bia_is_dir(p))
			bia_rm_rf(&tmp, p);
		else
			unlink(p);
	}
}

int bia_gen_write_dataset(struct bia_ctx *ctx, const struct bia_gen_opts *o,
			  const char *outdir, int force, const char *preview_png)
{
	int created;
	if (prepare_outdir(ctx, outdir, force, &created))
		return ctx->rc;
	char img_dir[BIA_PATH_MAX], gt_dir[BIA_PATH_MAX], pred_dir[BIA_PATH_MAX], p[BIA_PATH_MAX];
	snprintf(img_dir, sizeof(img_dir), "%s/images", outdir);
	snprintf(gt_dir, sizeof(gt_dir), "%s/groundtruth", outdir);
	snprintf(pred_dir, sizeof(pred_dir), "%s/predictions", outdir);
	json_t *images = json_array();
	int rc = bia_mkdir_p(ctx, img_dir) || bia_mkdir_p(ctx, gt_dir) ||
		 (o->perturb.on && bia_mkdir_p(ctx, pred_dir));
	for (size_t i = 0; !rc && i < o->n; i++) {
		struct bia_gen_sample s, pr;
		bia_gen_sample_init(&pr);
		if (bia_gen_sample(ctx, o, i, &s)) {
			rc = ctx->rc;
			break;
		}
		snprintf(p, sizeof(p), "%s/%s.tif", img_dir, s.stem);
		rc = bia_image_write_tiff(ctx, &s.image, p, NULL) ||
		     bia_gen_write_gt(ctx, o->cls, &s, gt_dir);
		if (!rc && o->perturb.on)
			rc = bia_gen_perturb(ctx, o, i, &s, &pr) ||
			     bia_gen_write_gt(ctx, o->cls, &pr, pred_dir);
		if (!rc && i == 0 && preview_png)
			rc = bia_gen_preview(ctx, o->cls, &s, preview_png);
		if (!rc) {
			char rel[128];
			snprintf(rel, sizeof(rel), "images/%s.tif", s.stem);
			json_t *im = json_pack("{s:s, s:s}", "stem", s.stem, "image", rel);
			json_t *gts = json_array();
			snprintf(rel, sizeof(rel), "groundtruth/%s.%s", s.stem,
				 o->cls == BIA_TRETRC ? "swc" : "tif");
			json_array_append_new(gts, json_string(rel));
			if (o->cls == BIA_OBJTRK) {
				snprintf(rel, sizeof(rel), "groundtruth/%s.txt", s.stem);
				json_array_append_new(gts, json_string(rel));
			}
			json_object_set_new(im, "groundtruth", gts);
			json_object_update(im, s.info);
			if (pr.info)
				json_object_set(im, "perturbed", pr.info);
			json_array_append_new(images, im);
		}
		bia_gen_sample_release(&s);
		bia_gen_sample_release(&pr);
		rc = rc ? ctx->rc : 0;
	}
	if (!rc) {
		json_t *doc = json_object();
		json_object_set_new(doc, "generator", json_string("biaflows gen"));
		json_object_set_new(doc, "version", json_string(BIA_GEN_VERSION));
		json_object_set_new(doc, "class", json_string(bia_class_code(o->cls)));
		json_object_set_new(doc, "difficulty", json_string(bia_gen_level_name(o->level)));
		json_object_set_new(doc, "seed", json_integer((json_int_t)o->seed));
		json_object_set_new(doc, "n", json_integer((json_int_t)o->n));
		json_object_set_new(doc, "parameters", bia_gen_opts_json(o));
		json_object_set(doc, "images", images);
		snprintf(p, sizeof(p), "%s/dataset.json", outdir);
		rc = bia_json_save_file(ctx, p, doc);
		json_decref(doc);
	}
	json_decref(images);
	if (rc) {
		struct bia_ctx keep = *ctx;
		cleanup_outdir(outdir, created);
		*ctx = keep;
	}
	return rc ? ctx->rc : 0;
}

/* ---------------------------------------------------------------- baseline */

int bia_gen_baseline_dir(struct bia_ctx *ctx, const char *dataset_dir, const char *outdir)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/dataset.json", dataset_dir);
	json_t *doc = bia_json_load_file(ctx, p);
	if (!doc)
		return ctx->rc;
	struct bia_gen_opts o;
	int rc = bia_gen_opts_from_json(ctx, doc, &o);
	if (rc) {
		bia_fail_prefix(ctx, "%s", p);
	} else {
		rc = bia_mkdir_p(ctx, outdir);
	}
	const json_t *images = json_object_get(doc, "images");
	size_t i;
	const json_t *im;
	json_array_foreach(images, i, im)
	{
		if (rc)
			break;
		const char *stem = bia_json_str(im, "stem", NULL);
		const char *rel = bia_json_str(im, "image", NULL);
		if (!stem || !rel || bia_path_check_rel(ctx, rel)) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: bad image entry %zu", p, i);
			break;
		}
		char ip[BIA_PATH_MAX];
		if (bia_path_join(ctx, ip, sizeof(ip), dataset_dir, rel)) {
			rc = ctx->rc;
			break;
		}
		struct bia_read_opts ro = {0};
		ro.pages = o.cls == BIA_OBJTRK || o.cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
		struct bia_image img;
		bia_image_init(&img);
		if (bia_image_read(ctx, ip, &ro, &img)) {
			rc = ctx->rc;
			break;
		}
		struct bia_gen_sample s;
		bia_gen_sample_init(&s);
		snprintf(s.stem, sizeof(s.stem), "%s", stem);
		rc = bia_gen_baseline(ctx, &o, &img, &s) || bia_gen_write_gt(ctx, o.cls, &s, outdir);
		rc = rc ? ctx->rc : 0;
		bia_gen_sample_release(&s);
		bia_image_release(&img);
	}
	json_decref(doc);
	return rc;
}
