/* ObjTrk: the Cell Tracking Challenge measures SEG, TRA and DET (extra),
 * computed as the official SEGMeasure, TRAMeasure and DETMeasure do
 * (CTC-MEASURES.md; notes in docs/metrics-notes-objtrk.md), on two label
 * stacks with frames on T (ground truth and prediction, same shape) and
 * their CTC track files.
 *
 * Frame k of the stacks plays the official file number k (man_trackk.tif,
 * man_segk.tif, maskk.tif): SEG is evaluated on every GT frame, DET on
 * every frame, TRA maps frame k to track time tmin + k (tmin = first GT
 * track start) exactly as the official tool does, so track files that do
 * not start at frame 0 are read as the official tool reads them.
 *
 * One pass per frame accumulates |R|, |S| and |R∩S| (a hash of the
 * (gt, res) label pairs that overlap); nothing is quadratic in the labels.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NLAB 65536u
#define NONE SIZE_MAX

/* AOGM weights of the CTC (Matula et al. 2015). */
#define W_NS 5.0
#define W_FN 10.0
#define W_FP 1.0
#define W_ED 1.0
#define W_EA 1.5
#define W_EC 1.0

/* ---------------------------------------------------------------- vertices */

/* The objects of one stack: frame f holds vertices off[f] .. off[f+1]-1,
 * in ascending label order. */
struct verts {
	size_t *off;	/* nf + 1 */
	uint16_t *lab;	/* label */
	uint64_t *size; /* voxels */
	size_t *m;	/* GT: matched RES vertex or NONE; RES: first GT vertex matched */
	uint32_t *k;	/* RES: number of GT vertices matched to it */
	size_t n, cap;
};

static void verts_release(struct verts *v)
{
	free(v->off);
	free(v->lab);
	free(v->size);
	free(v->m);
	free(v->k);
	memset(v, 0, sizeof(*v));
}

static int verts_reserve(struct verts *v, size_t more)
{
	if (v->n + more <= v->cap)
		return 0;
	size_t cap = v->cap ? v->cap : 256;
	while (cap < v->n + more)
		cap *= 2;
	uint16_t *lab = realloc(v->lab, cap * sizeof(*lab));
	if (lab)
		v->lab = lab;
	uint64_t *size = realloc(v->size, cap * sizeof(*size));
	if (size)
		v->size = size;
	size_t *m = realloc(v->m, cap * sizeof(*m));
	if (m)
		v->m = m;
	uint32_t *k = realloc(v->k, cap * sizeof(*k));
	if (k)
		v->k = k;
	if (!lab || !size || !m || !k)
		return -1;
	v->cap = cap;
	return 0;
}

/* Vertex of `label` in frame f, or NONE. */
static size_t vfind(const struct verts *v, size_t f, uint32_t label)
{
	size_t lo = v->off[f], hi = v->off[f + 1], end = hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->lab[mid] < label)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && v->lab[lo] == label ? lo : NONE;
}

/* ------------------------------------------------- (gt, res) pair counts */

struct pairs {
	uint32_t *key;	/* (gt << 16) | res, 0 = empty slot */
	uint64_t *cnt;
	size_t *used;	/* occupied slots, in insertion order */
	size_t cap, n;	/* cap is a power of two */
	unsigned shift; /* 32 - log2(cap) */
};

static void pairs_release(struct pairs *h)
{
	free(h->key);
	free(h->cnt);
	free(h->used);
	memset(h, 0, sizeof(*h));
}

static int pairs_init(struct pairs *h, unsigned bits)
{
	memset(h, 0, sizeof(*h));
	h->cap = (size_t)1 << bits;
	h->shift = 32 - bits;
	h->key = bia_calloc(h->cap, sizeof(*h->key));
	h->cnt = bia_calloc(h->cap, sizeof(*h->cnt));
	h->used = bia_calloc(h->cap / 2 + 1, sizeof(*h->used));
	if (!h->key || !h->cnt || !h->used) {
		pairs_release(h);
		return -1;
	}
	return 0;
}

static size_t pairs_slot(const struct pairs *h, uint32_t key)
{
	size_t i = (size_t)((uint32_t)(key * 2654435761u) >> h->shift);
	while (h->key[i] && h->key[i] != key)
		i = (i + 1) & (h->cap - 1);
	return i;
}

/* Slot holding key (inserted with count 0 if new); NONE when out of memory. */
static size_t pairs_get(struct pairs *h, uint32_t key)
{
	size_t i = pairs_slot(h, key);
	if (h->key[i])
		return i;
	if (h->n + 1 > h->cap / 2) {
		struct pairs g;
		unsigned bits = 33 - h->shift;
		if (bits > 31 || pairs_init(&g, bits))
			return NONE;
		for (size_t j = 0; j < h->n; j++) {
			size_t s = h->used[j], d = pairs_slot(&g, h->key[s]);
			g.key[d] = h->key[s];
			g.cnt[d] = h->cnt[s];
			g.used[g.n++] = d;
		}
		pairs_release(h);
		*h = g;
		i = pairs_slot(h, key);
	}
	h->key[i] = key;
	h->cnt[i] = 0;
	h->used[h->n++] = i;
	return i;
}

static void pairs_clear(struct pairs *h)
{
	for (size_t j = 0; j < h->n; j++)
		h->key[h->used[j]] = 0;
	h->n = 0;
}

/* ------------------------------------------------------------- the scan */

struct pair {
	uint32_t key;
	uint64_t n;
};

static int cmp_pair(const void *a, const void *b)
{
	uint32_t x = ((const struct pair *)a)->key, y = ((const struct pair *)b)->key;
	return (x > y) - (x < y);
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* Labels of frame f of img into buf, validated as CTC labels (0..65535). */
static int load_frame(struct bia_ctx *ctx, const char *who, const struct bia_image *img,
		      size_t f, size_t fsz, uint32_t *buf)
{
	size_t base = f * fsz;
	switch (img->dtype) {
	case BIA_U8: {
		const uint8_t *s = (const uint8_t *)img->data + base;
		for (size_t i = 0; i < fsz; i++)
			buf[i] = s[i];
		return 0;
	}
	case BIA_U16: {
		const uint16_t *s = (const uint16_t *)img->data + base;
		for (size_t i = 0; i < fsz; i++)
			buf[i] = s[i];
		return 0;
	}
	case BIA_U32: {
		const uint32_t *s = (const uint32_t *)img->data + base;
		for (size_t i = 0; i < fsz; i++) {
			if (s[i] >= NLAB)
				goto bad;
			buf[i] = s[i];
		}
		return 0;
	}
	case BIA_I32: {
		const int32_t *s = (const int32_t *)img->data + base;
		for (size_t i = 0; i < fsz; i++) {
			if (s[i] < 0 || s[i] >= (int32_t)NLAB)
				goto bad;
			buf[i] = (uint32_t)s[i];
		}
		return 0;
	}
	case BIA_F32: {
		const float *s = (const float *)img->data + base;
		for (size_t i = 0; i < fsz; i++) {
			float v = s[i];
			if (!(v >= 0 && v < (float)NLAB) || v != (float)(uint32_t)v)
				goto bad;
			buf[i] = (uint32_t)v;
		}
		return 0;
	}
	}
	return bia_fail(ctx, BIA_EFORMAT, "%s: unknown sample type", who);
bad:
	for (size_t i = 0; i < fsz; i++) {
		double v = bia_image_get(img, base + i);
		if (!(v >= 0 && v < NLAB) || v != floor(v))
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: value %g in frame %zu is not a label in 0..65535 (CTC "
					"label images are 16-bit)",
					who, v, f);
	}
	return bia_fail(ctx, BIA_EFORMAT, "%s: invalid label in frame %zu", who, f);
}

struct state {
	size_t nf, fsz;
	struct verts g, r;
	double seg_sum;	 /* Σ J over GT objects, frame order then label order */
	uint64_t seg_n;	 /* GT objects */
};

/* Per frame: vertices with sizes, matching (|R∩S| > 0.5 |R|), SEG terms. */
static int scan(struct bia_ctx *ctx, const struct bia_image *gt, const struct bia_image *pr,
		struct state *st)
{
	size_t nf = st->nf, fsz = st->fsz;
	uint32_t *gb = bia_malloc2(fsz, sizeof(uint32_t));
	uint32_t *rb = bia_malloc2(fsz, sizeof(uint32_t));
	uint64_t *gcnt = bia_calloc(NLAB, sizeof(uint64_t));
	uint64_t *rcnt = bia_calloc(NLAB, sizeof(uint64_t));
	uint16_t *gl = bia_calloc(NLAB, sizeof(uint16_t));
	uint16_t *rl = bia_calloc(NLAB, sizeof(uint16_t));
	size_t *gpos = bia_calloc(NLAB, sizeof(size_t));
	size_t *rpos = bia_calloc(NLAB, sizeof(size_t));
	double *jac = bia_calloc(NLAB, sizeof(double));
	struct pair *pl = NULL;
	size_t plcap = 0;
	struct pairs h;
	int hok = pairs_init(&h, 10) == 0;
	st->g.off = bia_calloc(nf + 1, sizeof(size_t));
	st->r.off = bia_calloc(nf + 1, sizeof(size_t));
	int rc = 0;
	if (!gb || !rb || !gcnt || !rcnt || !gl || !rl || !gpos || !rpos || !jac || !hok ||
	    !st->g.off || !st->r.off)
		goto oom;
	for (size_t f = 0; f < nf; f++) {
		if ((rc = load_frame(ctx, "ground truth", gt, f, fsz, gb)) ||
		    (rc = load_frame(ctx, "prediction", pr, f, fsz, rb)))
			goto out;
		size_t ng = 0, nr = 0;
		uint32_t lastkey = 0;
		size_t lastslot = 0;
		for (size_t i = 0; i < fsz; i++) {
			uint32_t g = gb[i], r = rb[i];
			if (g && !gcnt[g]++)
				gl[ng++] = (uint16_t)g;
			if (r && !rcnt[r]++)
				rl[nr++] = (uint16_t)r;
			if (g && r) {
				uint32_t key = g << 16 | r;
				if (key != lastkey) {
					lastslot = pairs_get(&h, key);
					if (lastslot == NONE)
						goto oom;
					lastkey = key;
				}
				h.cnt[lastslot]++;
			}
		}
		qsort(gl, ng, sizeof(uint16_t), cmp_u16);
		qsort(rl, nr, sizeof(uint16_t), cmp_u16);
		if (verts_reserve(&st->g, ng) || verts_reserve(&st->r, nr))
			goto oom;
		for (size_t j = 0; j < ng; j++) {
			size_t v = st->g.n++;
			st->g.lab[v] = gl[j];
			st->g.size[v] = gcnt[gl[j]];
			st->g.m[v] = NONE;
			st->g.k[v] = 0;
			gpos[gl[j]] = v;
			jac[j] = 0;
		}
		for (size_t j = 0; j < nr; j++) {
			size_t v = st->r.n++;
			st->r.lab[v] = rl[j];
			st->r.size[v] = rcnt[rl[j]];
			st->r.m[v] = NONE;
			st->r.k[v] = 0;
			rpos[rl[j]] = v;
		}
		st->g.off[f + 1] = st->g.n;
		st->r.off[f + 1] = st->r.n;
		/* overlapping pairs in (gt, res) label order */
		if (h.n > plcap) {
			struct pair *t = realloc(pl, h.n * sizeof(*pl));
			if (!t)
				goto oom;
			pl = t;
			plcap = h.n;
		}
		for (size_t j = 0; j < h.n; j++) {
			pl[j].key = h.key[h.used[j]];
			pl[j].n = h.cnt[h.used[j]];
		}
		size_t np = h.n;
		pairs_clear(&h);
		if (np > 1)
			qsort(pl, np, sizeof(*pl), cmp_pair);
		/* R matches S iff |R∩S| / |R| > 0.5 (strict, in double, as the
		 * official tools); at most one S can pass, so the first in label
		 * order is the one */
		for (size_t j = 0; j < np; j++) {
			uint32_t g = pl[j].key >> 16, r = pl[j].key & 0xffffu;
			size_t gv = gpos[g], rv = rpos[r];
			if (st->g.m[gv] != NONE)
				continue;
			uint64_t rs = gcnt[g], ss = rcnt[r], in = pl[j].n;
			if ((double)in / (double)rs > 0.5) {
				st->g.m[gv] = rv;
				if (st->r.k[rv]++ == 0)
					st->r.m[rv] = gv;
				jac[gv - st->g.off[f]] = (double)in / (double)(rs + ss - in);
			}
		}
		/* SEG: Σ J in ascending GT label order (bit-identical to the tool) */
		for (size_t j = 0; j < ng; j++)
			st->seg_sum += jac[j];
		st->seg_n += ng;
		for (size_t j = 0; j < ng; j++)
			gcnt[gl[j]] = 0;
		for (size_t j = 0; j < nr; j++)
			rcnt[rl[j]] = 0;
	}
	goto out;
oom:
	rc = bia_fail(ctx, BIA_ENOMEM, "ObjTrk: out of memory");
out:
	free(gb);
	free(rb);
	free(gcnt);
	free(rcnt);
	free(gl);
	free(rl);
	free(gpos);
	free(rpos);
	free(jac);
	free(pl);
	pairs_release(&h);
	return rc;
}

/* ------------------------------------------------------------------ tracks */

struct tk {
	uint32_t label, parent; /* parent 0 = none */
	int64_t b, e;
	int kept; /* RES: survives the trimming to [tmin, tmax] */
	int64_t ob, oe; /* RES: before trimming */
};

struct tra {
	struct bia_ctx *ctx;
	const struct state *st;
	struct tk *gt, *rs; /* indexed by label; valid where g_has/r_has */
	uint8_t *g_has, *r_has;
	size_t ng, nr;	     /* tracks */
	int64_t tmin, tmax;  /* GT time span */
	uint64_t ntrim;	     /* RES tracks trimmed or dropped */
};

/* Refuse with a consistency message; when tmin != 0 explain the mapping. */
static int refuse(struct tra *T, const char *fmt, ...) BIA_PRINTF(2, 3);
static int refuse(struct tra *T, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (T->tmin != 0)
		return bia_fail(T->ctx, BIA_EFORMAT,
				"%s (as the CTC tools, frames are counted from the first "
				"ground-truth track start %" PRId64 ": frame %" PRId64
				" is stack frame 0)",
				msg, T->tmin, T->tmin);
	return bia_fail(T->ctx, BIA_EFORMAT, "%s", msg);
}

/* Copy a track list into a by-label table, validating what the parser
 * would have (the struct may be hand-built). */
static int load_tracks(struct bia_ctx *ctx, const char *who, const struct bia_ctc_tracks *in,
		       struct tk *tab, uint8_t *has)
{
	for (size_t i = 0; i < in->n; i++) {
		const struct bia_ctc_track *t = &in->tracks[i];
		if (t->label >= NLAB || t->parent >= NLAB)
			return bia_fail(ctx, BIA_EINVAL,
					"%s track file: track %" PRIu32 " (parent %" PRIu32
					"): labels are 16-bit",
					who, t->label, t->parent);
		if (t->begin < 0 || t->begin > t->end)
			return bia_fail(ctx, BIA_EINVAL,
					"%s track file: track %" PRIu32 " has invalid frames %" PRId64
					"..%" PRId64,
					who, t->label, t->begin, t->end);
		if (has[t->label])
			return bia_fail(ctx, BIA_EINVAL,
					"%s track file: label %" PRIu32 " has two tracks", who, t->label);
		has[t->label] = 1;
		struct tk *k = &tab[t->label];
		k->label = t->label;
		k->parent = t->parent;
		k->b = k->ob = t->begin;
		k->e = k->oe = t->end;
		k->kept = 1;
	}
	return 0;
}

/* Consistency of one stack's tracks (GT: all; RES: the kept ones) with its
 * vertices, in label order, as the official tool checks them. */
static int check_tracks(struct tra *T, int res)
{
	const char *who = res ? "prediction" : "ground-truth";
	const struct tk *tab = res ? T->rs : T->gt;
	const uint8_t *has = res ? T->r_has : T->g_has;
	const struct verts *v = res ? &T->st->r : &T->st->g;
	int64_t nf = (int64_t)T->st->nf;
	for (uint32_t l = 0; l < NLAB; l++) {
		if (!has[l] || !tab[l].kept)
			continue;
		const struct tk *k = &tab[l];
		if (k->b - T->tmin >= nf || k->e - T->tmin >= nf)
			return refuse(T,
				      "%s track %" PRIu32 " (frames %" PRId64 "..%" PRId64
				      ") does not fit in the %" PRId64 " frames of the stack",
				      who, l, k->b, k->e, nf);
		if (k->parent) {
			if (!has[k->parent])
				return refuse(T,
					      "%s track %" PRIu32 " has parent %" PRIu32
					      ", which has no track",
					      who, l, k->parent);
			if (!tab[k->parent].kept)
				return refuse(T,
					      "%s track %" PRIu32 " has parent %" PRIu32
					      ", whose track (frames %" PRId64 "..%" PRId64
					      ") lies outside the ground-truth time span (frames %" PRId64
					      "..%" PRId64 ") and is cut off, as the CTC tools do",
					      who, l, k->parent, tab[k->parent].ob, tab[k->parent].oe,
					      T->tmin, T->tmax);
			if (k->b <= tab[k->parent].e)
				return refuse(T,
					      "%s track %" PRIu32 " begins at frame %" PRId64
					      ", not after its parent %" PRIu32 " ends (frame %" PRId64 ")",
					      who, l, k->b, k->parent, tab[k->parent].e);
		}
		for (int64_t t = k->b; t <= k->e; t++)
			if (vfind(v, (size_t)(t - T->tmin), l) == NONE)
				return refuse(T,
					      "%s track %" PRIu32 " (frames %" PRId64 "..%" PRId64
					      ") is not consistent with the image data: label %" PRIu32
					      " is missing from frame %" PRId64 "%s",
					      who, l, k->ob, k->oe, l, t,
					      l ? "" : " (0 is the background)");
	}
	return 0;
}

/* Every object of every frame lies inside its (trimmed) track. */
static int check_objects(struct tra *T)
{
	const struct state *st = T->st;
	for (size_t f = 0; f < st->nf; f++) {
		int64_t t = T->tmin + (int64_t)f;
		for (int res = 0; res < 2; res++) {
			const struct verts *v = res ? &st->r : &st->g;
			const struct tk *tab = res ? T->rs : T->gt;
			const uint8_t *has = res ? T->r_has : T->g_has;
			const char *who = res ? "prediction" : "ground-truth";
			for (size_t j = v->off[f]; j < v->off[f + 1]; j++) {
				uint32_t l = v->lab[j];
				const struct tk *k = &tab[l];
				if (!has[l])
					return refuse(T,
						      "%s label %" PRIu32 " in frame %" PRId64
						      " has no track in the %s track file",
						      who, l, t, who);
				if (k->kept && t >= k->b && t <= k->e)
					continue;
				if (res && t >= k->ob && t <= k->oe)
					return refuse(T,
						      "prediction label %" PRIu32 " in frame %" PRId64
						      " lies after the last ground-truth track frame %" PRId64
						      ": as the CTC tools, prediction tracks are cut to the "
						      "ground-truth time span, so frames after it must hold "
						      "no prediction object",
						      l, t, T->tmax);
				return refuse(T,
					      "%s label %" PRIu32 " is present in frame %" PRId64
					      ", outside its track (frames %" PRId64 "..%" PRId64 ")",
					      who, l, t, k->ob, k->oe);
			}
		}
	}
	return 0;
}

enum { E_NONE = 0, E_TRACK = 1, E_PARENT = 2 };

/* Type of the GT edge between GT vertices a (frame fa) and b (frame fb). */
static int gt_edge(const struct tra *T, size_t fa, size_t a, size_t fb, size_t b)
{
	uint32_t la = T->st->g.lab[a], lb = T->st->g.lab[b];
	if (la == lb)
		return fa + 1 == fb ? E_TRACK : E_NONE;
	const struct tk *p = &T->gt[la], *c = &T->gt[lb];
	if (p->e - T->tmin == (int64_t)fa && c->b - T->tmin == (int64_t)fb && c->parent == la)
		return E_PARENT;
	return E_NONE;
}

/* Whether the RES graph has an edge between RES vertices a and b, both
 * uniquely matched (official rule for missing GT edges). */
static int res_edge(const struct tra *T, size_t fa, size_t a, size_t fb, size_t b)
{
	const struct verts *r = &T->st->r;
	if (a == NONE || b == NONE || r->k[a] != 1 || r->k[b] != 1)
		return 0;
	uint32_t la = r->lab[a], lb = r->lab[b];
	if (la == lb)
		return fa + 1 == fb;
	const struct tk *p = &T->rs[la], *c = &T->rs[lb];
	return p->e - T->tmin == (int64_t)fa && c->b - T->tmin == (int64_t)fb && c->parent == la;
}

/* ------------------------------------------------------- per-object records */

enum { OP_NS, OP_FN, OP_FP, OP_ED, OP_EA, OP_EC, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"NS", "FN", "FP", "ED", "EA", "EC"};

struct ops {
	uint64_t n[OP_COUNT];
	json_t *rec[OP_COUNT]; /* arrays of records, NULL when not wanted */
};

static void op_vertex(struct ops *o, int op, size_t f, uint32_t label)
{
	o->n[op]++;
	if (o->rec[op])
		json_array_append_new(o->rec[op], json_pack("{s:s, s:I, s:I}", "op", op_name[op],
							     "t", (json_int_t)f, "label",
							     (json_int_t)label));
}

static void op_edge(struct ops *o, int op, size_t fa, uint32_t la, size_t fb, uint32_t lb)
{
	o->n[op]++;
	if (o->rec[op])
		json_array_append_new(o->rec[op],
				      json_pack("{s:s, s:{s:I, s:I}, s:{s:I, s:I}}", "op", op_name[op],
						"from", "t", (json_int_t)fa, "label", (json_int_t)la,
						"to", "t", (json_int_t)fb, "label", (json_int_t)lb));
}

/* NS, FN, FP over all frames, in the official log order. */
static void vertex_ops(const struct state *st, struct ops *o)
{
	for (size_t f = 0; f < st->nf; f++)
		for (size_t j = st->r.off[f]; j < st->r.off[f + 1]; j++)
			for (uint32_t i = 1; i < st->r.k[j]; i++)
				op_vertex(o, OP_NS, f, st->r.lab[j]);
	for (size_t f = 0; f < st->nf; f++)
		for (size_t j = st->g.off[f]; j < st->g.off[f + 1]; j++)
			if (st->g.m[j] == NONE)
				op_vertex(o, OP_FN, f, st->g.lab[j]);
	for (size_t f = 0; f < st->nf; f++)
		for (size_t j = st->r.off[f]; j < st->r.off[f + 1]; j++)
			if (st->r.k[j] == 0)
				op_vertex(o, OP_FP, f, st->r.lab[j]);
}

/* ED and EC: walk the RES edges (kept tracks in label order: parent link,
 * then track links); EA: walk the GT edges the same way. */
static void edge_ops(const struct tra *T, struct ops *o)
{
	const struct verts *g = &T->st->g, *r = &T->st->r;
	int64_t tmin = T->tmin;
	for (uint32_t l = 1; l < NLAB; l++) {
		if (!T->r_has[l] || !T->rs[l].kept)
			continue;
		const struct tk *k = &T->rs[l];
		size_t fe = (size_t)(k->b - tmin), ve = vfind(r, fe, l);
		if (k->parent) {
			size_t fs = (size_t)(T->rs[k->parent].e - tmin), vs = vfind(r, fs, k->parent);
			if (r->k[vs] == 1 && r->k[ve] == 1) {
				int e = gt_edge(T, fs, r->m[vs], fe, r->m[ve]);
				if (e == E_NONE)
					op_edge(o, OP_ED, fs, k->parent, fe, l);
				else if (e == E_TRACK)
					op_edge(o, OP_EC, fs, k->parent, fe, l);
			}
		}
		for (int64_t t = k->b; t < k->e; t++) {
			size_t fs = fe, vs = ve;
			fe = (size_t)(t + 1 - tmin);
			ve = vfind(r, fe, l);
			if (r->k[vs] == 1 && r->k[ve] == 1) {
				int e = gt_edge(T, fs, r->m[vs], fe, r->m[ve]);
				if (e == E_NONE)
					op_edge(o, OP_ED, fs, l, fe, l);
				else if (e == E_PARENT)
					op_edge(o, OP_EC, fs, l, fe, l);
			}
		}
	}
	for (uint32_t l = 1; l < NLAB; l++) {
		if (!T->g_has[l])
			continue;
		const struct tk *k = &T->gt[l];
		size_t fe = (size_t)(k->b - tmin), ve = vfind(g, fe, l);
		if (k->parent) {
			size_t fs = (size_t)(T->gt[k->parent].e - tmin), vs = vfind(g, fs, k->parent);
			if (!res_edge(T, fs, g->m[vs], fe, g->m[ve]))
				op_edge(o, OP_EA, fs, k->parent, fe, l);
		}
		for (int64_t t = k->b; t < k->e; t++) {
			size_t fs = fe, vs = ve;
			fe = (size_t)(t + 1 - tmin);
			ve = vfind(g, fe, l);
			if (!res_edge(T, fs, g->m[vs], fe, g->m[ve]))
				op_edge(o, OP_EA, fs, l, fe, l);
		}
	}
}

/* TRA after the scan: trimming, consistency, edges. Sets *ptra. */
static int tra(struct bia_ctx *ctx, const struct state *st, const struct bia_ctc_tracks *gtt,
	       const struct bia_ctc_tracks *prt, struct ops *o, struct bia_metric_result *r,
	       double *ptra)
{
	struct tra T;
	memset(&T, 0, sizeof(T));
	T.ctx = ctx;
	T.st = st;
	T.gt = bia_calloc(NLAB, sizeof(struct tk));
	T.rs = bia_calloc(NLAB, sizeof(struct tk));
	T.g_has = bia_calloc(NLAB, 1);
	T.r_has = bia_calloc(NLAB, 1);
	int rc = 0;
	if (!T.gt || !T.rs || !T.g_has || !T.r_has) {
		rc = bia_fail(ctx, BIA_ENOMEM, "ObjTrk: out of memory");
		goto out;
	}
	if ((rc = load_tracks(ctx, "ground-truth", gtt, T.gt, T.g_has)) ||
	    (rc = load_tracks(ctx, "prediction", prt, T.rs, T.r_has)))
		goto out;
	T.ng = gtt->n;
	T.nr = prt->n;
	if (T.ng == 0) {
		/* the official tool ends with "No reference marker found!" (or an
		 * inconsistency when the GT stack has objects) */
		if (st->g.n) {
			size_t f = 0; /* frame of the first GT object */
			while (st->g.off[f + 1] == 0)
				f++;
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "ground-truth label %u in frame %zu has no track: the "
				      "ground-truth track file is empty",
				      (unsigned)st->g.lab[0], f);
			goto out;
		}
		rc = bia_fail(ctx, BIA_EINVAL,
			      "the ground truth has no object and no track: SEG, TRA and DET are "
			      "undefined (the CTC tools refuse it)");
		goto out;
	}
	T.tmin = INT64_MAX;
	T.tmax = 0;
	for (uint32_t l = 0; l < NLAB; l++)
		if (T.g_has[l]) {
			if (T.gt[l].b < T.tmin)
				T.tmin = T.gt[l].b;
			if (T.gt[l].e > T.tmax)
				T.tmax = T.gt[l].e;
		}
	/* trim the RES tracks to [tmin, tmax] (the 2020 tool does it before
	 * the consistency check); a missing parent crashes the official tool
	 * here, we refuse */
	for (uint32_t l = 0; l < NLAB; l++) {
		if (!T.r_has[l])
			continue;
		struct tk *k = &T.rs[l];
		if (k->parent && !T.r_has[k->parent]) {
			rc = refuse(&T, "prediction track %" PRIu32 " has parent %" PRIu32
				    ", which has no track", l, k->parent);
			goto out;
		}
	}
	for (uint32_t l = 0; l < NLAB; l++) {
		if (!T.r_has[l])
			continue;
		struct tk *k = &T.rs[l];
		if (k->parent && T.rs[k->parent].oe < T.tmin)
			k->parent = 0;
		k->kept = k->ob <= T.tmax && k->oe >= T.tmin;
		if (k->kept) {
			k->b = k->ob > T.tmin ? k->ob : T.tmin;
			k->e = k->oe < T.tmax ? k->oe : T.tmax;
		}
		if (!k->kept || k->b != k->ob || k->e != k->oe)
			T.ntrim++;
	}
	if ((rc = check_tracks(&T, 0)) || (rc = check_tracks(&T, 1)) || (rc = check_objects(&T)))
		goto out;
	edge_ops(&T, o);
	/* AOGM0 from the GT track file: 10 |V| + 1.5 |E| */
	uint64_t sum = 0, npar = 0;
	for (uint32_t l = 0; l < NLAB; l++)
		if (T.g_has[l]) {
			sum += (uint64_t)(T.gt[l].e - T.gt[l].b);
			npar += T.gt[l].parent > 0;
		}
	double a0 = W_FN * (double)(sum + T.ng) + W_EA * (double)(sum + npar);
	double aogm = W_NS * (double)o->n[OP_NS] + W_FN * (double)o->n[OP_FN] +
		      W_FP * (double)o->n[OP_FP] + W_ED * (double)o->n[OP_ED] +
		      W_EA * (double)o->n[OP_EA] + W_EC * (double)o->n[OP_EC];
	*ptra = 1.0 - fmin(aogm, a0) / a0;
	if (T.tmin != 0)
		bia_metric_warn(r,
				"ObjTrk/TRA: as the CTC tools, stack frame k is track-file frame "
				"k + %" PRId64 " (the first ground-truth track start)",
				T.tmin);
	if (T.ntrim)
		bia_metric_warn(r,
				"ObjTrk/TRA: %" PRIu64 " prediction track(s) cut to the ground-truth "
				"time span (frames %" PRId64 "..%" PRId64 "), as the CTC tools do",
				T.ntrim, T.tmin, T.tmax);
out:
	free(T.gt);
	free(T.rs);
	free(T.g_has);
	free(T.r_has);
	return rc;
}

/* ------------------------------------------------------------------ entry */

int bia__metrics_objtrk(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	(void)p;
	const struct bia_image *gt = in->gt, *pr = in->pred;
	if (!gt || !pr || !gt->data || !pr->data)
		return bia_fail(ctx, BIA_EINVAL, "ObjTrk needs prediction and ground-truth images");
	if (!in->gt_trk || !in->pred_trk)
		return bia_fail(ctx, BIA_EINVAL, "ObjTrk needs the track files of both stacks");
	if (gt->x != pr->x || gt->y != pr->y || gt->z != pr->z || gt->c != pr->c ||
	    gt->t != pr->t) {
		char a[96], b[96];
		bia_image_shape_str(pr, a, sizeof(a));
		bia_image_shape_str(gt, b, sizeof(b));
		return bia_fail(ctx, BIA_ESHAPE,
				"ObjTrk: prediction shape %s differs from ground-truth shape %s", a, b);
	}
	if (gt->c != 1)
		return bia_fail(ctx, BIA_ESHAPE,
				"ObjTrk: label stacks have one channel, not %zu (frames are on T)",
				gt->c);
	struct state st;
	memset(&st, 0, sizeof(st));
	st.nf = gt->t;
	st.fsz = gt->x * gt->y * gt->z;
	struct ops o;
	memset(&o, 0, sizeof(o));
	int rc = scan(ctx, gt, pr, &st);
	if (rc)
		goto out;
	if (r->objects)
		for (int i = 0; i < OP_COUNT; i++)
			if (!(o.rec[i] = json_array())) {
				rc = bia_fail(ctx, BIA_ENOMEM, "ObjTrk: out of memory");
				goto out;
			}
	vertex_ops(&st, &o);
	double tra_v = NAN;
	if ((rc = tra(ctx, &st, in->gt_trk, in->pred_trk, &o, r, &tra_v))) {
		/* a track file inconsistent with its stack: the CTC tools refuse
		 * TRA but still compute DET (and SEG), so do we */
		if (rc != BIA_EFORMAT || !st.seg_n)
			goto out;
		bia_metric_warn(r, "ObjTrk: TRA not computable: %s; SEG and DET are computed "
				   "(as the CTC tools)",
				ctx->msg);
		bia_ctx_clear(ctx);
		rc = 0;
		tra_v = NAN;
		/* the TRA step stopped before the edge operations: only the
		 * vertex operations (DET's) are recorded */
	}
	/* the TRA step refuses an empty ground truth, so both are > 0 here */
	double seg = st.seg_sum / (double)st.seg_n;
	double d0 = W_FN * (double)st.g.n;
	double det_aogm = W_NS * (double)o.n[OP_NS] + W_FN * (double)o.n[OP_FN] +
			  W_FP * (double)o.n[OP_FP];
	double det = 1.0 - fmin(det_aogm, d0) / d0;
	bia_metric_set(r, "SEG", seg);
	bia_metric_set(r, "TRA", tra_v);
	bia_metric_set(r, "DET", det);
	bia_metric_deviation(r, "ObjTrk: CTC SEG and TRA computed in-process as intended "
				"(BIAFLOWS 0.9.3 cannot run ObjTrk)");
	for (int i = 0; i < OP_COUNT; i++) {
		size_t j;
		json_t *rec;
		if (o.rec[i])
			json_array_foreach(o.rec[i], j, rec) bia_metric_object(r, json_incref(rec));
	}
out:
	for (int i = 0; i < OP_COUNT; i++)
		json_decref(o.rec[i]);
	verts_release(&st.g);
	verts_release(&st.r);
	return rc;
}
