/* TreTrc: a random branching tree (a neuron-like arbor, in the spirit of
 * the TREES toolbox) grown from a soma by persistent random walks that
 * bifurcate, taper and stay inside the volume; rendered as fluorescent
 * tubes with varicosities over a cluttered background, PSF-blurred and
 * noisy. Ground truth: the tree as SWC (ids 1..N, parents before children).
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double r_root[3] = {2.2, 1.7, 1.2};	  /* radius of primary branches */
static const double tortuosity[3] = {0.12, 0.22, 0.32}; /* direction noise per step */
static const double dim_p[3] = {0.0, 0.08, 0.2};	  /* chance a branch is faint */
static const double clutter[3] = {30000, 8000, 2500};	  /* voxels per background blob */

struct tnode {
	double p[3];  /* position */
	double r;     /* radius */
	double amp;   /* brightness factor */
	long parent;  /* index, -1 for the root */
};

struct branch {
	long from;	/* node it starts at */
	double dir[3];	/* unit direction */
	int order;	/* 0 = primary */
	double r, amp;	/* radius and brightness at the start */
};

static void normalise(double v[3])
{
	double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
	if (n < 1e-12) {
		v[0] = 1;
		v[1] = v[2] = 0;
		return;
	}
	for (int i = 0; i < 3; i++)
		v[i] /= n;
}

/* dir rotated by angle a towards a random perpendicular (in-plane in 2D). */
static void turn(struct bia_rng *r, const double dir[3], double a, int is3d, double out[3])
{
	double u[3];
	if (!is3d) {
		double s = bia_rng_uniform(r) < 0.5 ? -1 : 1;
		u[0] = -dir[1] * s;
		u[1] = dir[0] * s;
		u[2] = 0;
	} else {
		double q[3] = {bia_rng_normal(r), bia_rng_normal(r), 0.4 * bia_rng_normal(r)};
		double dp = q[0] * dir[0] + q[1] * dir[1] + q[2] * dir[2];
		for (int i = 0; i < 3; i++)
			u[i] = q[i] - dp * dir[i];
		normalise(u);
	}
	for (int i = 0; i < 3; i++)
		out[i] = cos(a) * dir[i] + sin(a) * u[i];
	normalise(out);
}

int bia__gen_tretrc(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	size_t cap = nvox / 20 < 20000 ? nvox / 20 : 20000, nn = 0, qcap = 64, qh = 0, qt = 0;
	struct tnode *nd = bia_malloc2(cap + 1, sizeof(*nd));
	struct branch *q = bia_malloc2(qcap, sizeof(*q));
	struct bia__vol img = {0}, tex = {0};
	int rc = 0;
	if (!nd || !q) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double lo[3] = {3, 3, is3d ? 2 : 0};
	double hi[3] = {(double)w - 4, (double)h - 4, is3d ? (double)d - 3 : 0};
	double zf = is3d ? 0.35 : 0;
	/* soma */
	double rs = is3d ? 4 : 5;
	struct tnode *root = &nd[nn++];
	root->p[0] = bia_rng_range(&rng, 0.3, 0.7) * (double)w;
	root->p[1] = bia_rng_range(&rng, 0.3, 0.7) * (double)h;
	root->p[2] = is3d ? bia_rng_range(&rng, 0.35, 0.65) * (double)d : 0;
	root->r = rs;
	root->amp = 1;
	root->parent = -1;
	int nprim = (int)floor(sqrt(o->density) * bia_rng_range(&rng, 3.5, 6.99));
	if (nprim < 2)
		nprim = 2;
	double a0 = bia_rng_range(&rng, 0, 2 * M_PI);
	for (int i = 0; i < nprim; i++) {
		struct branch *b = &q[qt++];
		double a = a0 + 2 * M_PI * (i + bia_rng_range(&rng, -0.25, 0.25)) / nprim;
		b->dir[0] = cos(a);
		b->dir[1] = sin(a);
		b->dir[2] = is3d ? 0.3 * bia_rng_normal(&rng) : 0;
		normalise(b->dir);
		b->from = 0;
		b->order = 0;
		b->r = r_root[L] * bia_rng_range(&rng, 0.85, 1.15);
		b->amp = 1;
	}
	double step = 2.0, scale = fmin((double)w, (double)h) / 128.0;
	if (scale < 0.5)
		scale = 0.5;
	while (qh < qt && nn < cap) {
		struct branch b = q[qh++];
		double len = bia_rng_range(&rng, 14, 36) * scale * (b.order == 0 ? 1.4 : 1.0);
		int steps = (int)(len / step) + 1;
		long prev = b.from;
		double dir[3] = {b.dir[0], b.dir[1], b.dir[2]}, r = b.r;
		double amp = b.amp * (bia_rng_uniform(&rng) < dim_p[L] ? bia_rng_range(&rng, 0.3, 0.6) : 1);
		int alive = 1;
		for (int k = 0; k < steps && nn < cap; k++) {
			for (int i = 0; i < 3; i++)
				dir[i] += tortuosity[L] * bia_rng_normal(&rng) * (i == 2 ? zf : 1);
			normalise(dir);
			double p[3];
			/* the first step leaves the soma surface */
			double st = prev == 0 && k == 0 ? rs : step;
			for (int i = 0; i < 3; i++)
				p[i] = nd[prev].p[i] + st * dir[i];
			for (int i = 0; i < 3; i++)
				if (p[i] < lo[i] || p[i] > hi[i]) {
					dir[i] = -dir[i];
					p[i] = nd[prev].p[i] + st * dir[i];
				}
			int out_of = 0;
			for (int i = 0; i < 3; i++)
				out_of |= p[i] < lo[i] || p[i] > hi[i];
			if (out_of) {
				alive = 0;
				break;
			}
			r = fmax(0.6, r * 0.992);
			struct tnode *t = &nd[nn];
			memcpy(t->p, p, sizeof(p));
			/* varicosities: radius ripples along the branch */
			t->r = r * (1 + 0.18 * sin(0.9 * (double)nn + 3 * bia_rng_uniform(&rng)));
			t->amp = amp * (1 + 0.1 * bia_rng_normal(&rng));
			t->parent = prev;
			prev = (long)nn++;
		}
		static const double p_branch[5] = {0.9, 0.75, 0.6, 0.4, 0};
		if (!alive || b.order >= 4 || bia_rng_uniform(&rng) >= p_branch[b.order])
			continue;
		for (int c = 0; c < 2; c++) {
			if (qt == qcap) {
				/* compact the FIFO, then grow */
				memmove(q, q + qh, (qt - qh) * sizeof(*q));
				qt -= qh;
				qh = 0;
				if (qt == qcap) {
					struct branch *nq = realloc(q, 2 * qcap * sizeof(*q));
					if (!nq) {
						rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
						goto out;
					}
					q = nq;
					qcap *= 2;
				}
			}
			struct branch *nb = &q[qt++];
			double ang = bia_rng_range(&rng, 0.35, 0.9);
			turn(&rng, dir, ang, is3d, nb->dir);
			nb->from = prev;
			nb->order = b.order + 1;
			nb->r = fmax(0.6, r * 0.78);
			nb->amp = amp * 0.95;
		}
	}
	/* render */
	if (bia__vol_alloc(ctx, &img, w, h, d) || bia__vol_alloc(ctx, &tex, w, h, d) ||
	    bia__noise_field(ctx, &tex, 20, 8, 3, bia_mix64(o->seed ^ (idx * 131 + 5)))) {
		rc = ctx->rc;
		goto out;
	}
	const double c = o->contrast, bg = 0.06;
	bia__draw_tube(&img, nd[0].p, nd[0].p, rs, rs, c * 0.9, c * 0.9);
	for (size_t i = 1; i < nn; i++) {
		const struct tnode *a = &nd[nd[i].parent], *b = &nd[i];
		bia__draw_tube(&img, a->p, b->p, a->r, b->r, c * a->amp, c * b->amp);
	}
	size_t nclut = (size_t)((double)nvox / clutter[L]) + 1;
	for (size_t i = 0; i < nclut; i++)
		bia__add_spot(&img, bia_rng_range(&rng, 0, (double)w), bia_rng_range(&rng, 0, (double)h),
			      is3d ? bia_rng_range(&rng, 0, (double)d) : 0, bia_rng_range(&rng, 1, 2.5),
			      bia_rng_range(&rng, 1.5, 3), c * bia_rng_range(&rng, 0.2, 0.7));
	for (size_t k = 0; k < nvox; k++)
		img.v[k] += (float)(bg + 0.25 * c * 0.3 * (tex.v[k] > 0 ? tex.v[k] : 0));
	bia__illuminate(&img, o->illum, &rng);
	if (bia__blur(ctx, &img, o->blur, o->blur, is3d ? 2 * o->blur : 0)) {
		rc = ctx->rc;
		goto out;
	}
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	bia__cam_setup(&cam, o->noise, c, bg);
	bia__cam_apply(&cam, &crng, img.v, nvox);
	if (bia__image_alloc(ctx, o, &s->image, 1, 1)) {
		rc = ctx->rc;
		goto out;
	}
	bia__quantize(img.v, nvox, &s->image, 0);
	s->swc.nodes = bia_calloc(nn, sizeof(*s->swc.nodes));
	if (!s->swc.nodes) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	s->swc.n = nn;
	for (size_t i = 0; i < nn; i++) {
		struct bia_swc_node *sn = &s->swc.nodes[i];
		sn->id = (int64_t)i + 1;
		sn->type = i == 0 ? 1 : 3;
		/* rounded as written, so a re-read tree equals this one */
		sn->x = floor(nd[i].p[0] * 1000 + 0.5) / 1000;
		sn->y = floor(nd[i].p[1] * 1000 + 0.5) / 1000;
		sn->z = floor(nd[i].p[2] * 1000 + 0.5) / 1000;
		sn->r = floor(nd[i].r * 1000 + 0.5) / 1000;
		sn->parent = nd[i].parent < 0 ? -1 : nd[i].parent + 1;
	}
	json_object_set_new(s->info, "nodes", json_integer((json_int_t)nn));
	size_t tips = 0;
	{
		uint8_t *has_child = bia_calloc(nn, 1);
		if (has_child) {
			for (size_t i = 1; i < nn; i++)
				has_child[nd[i].parent] = 1;
			for (size_t i = 0; i < nn; i++)
				tips += !has_child[i];
			free(has_child);
		}
	}
	json_object_set_new(s->info, "tips", json_integer((json_int_t)tips));
out:
	bia__vol_free(&img);
	bia__vol_free(&tex);
	free(nd);
	free(q);
	return rc;
}
