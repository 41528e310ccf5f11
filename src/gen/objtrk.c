/* ObjTrk: moving, deforming, growing and dividing cells in 2D or 3D time
 * series (CytoPacq-like): persistent random walks with mutual repulsion,
 * slowly rotating and reshaping outlines, mitoses into two daughters,
 * cells entering and leaving the field, photobleaching. Ground truth: a
 * label stack (label = track) and a CTC track file (L B E P) that agrees
 * with it (gaps cut into linked tracks, labels 1..N by first frame).
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double speed[3] = {0.8, 1.5, 2.4};	     /* RMS speed, px/frame */
static const double deform[3] = {0.02, 0.05, 0.09};  /* shape change per frame */
static const double enter_p[3] = {0.0, 0.03, 0.08};  /* cells entering per frame per 256^2 */
static const double touch_k[3] = {1.3, 0.9, 0.72};   /* repulsion distance / (ri + rj) */
static const double bleach[3] = {0.0, 0.2, 0.45};    /* intensity lost over the sequence */
static const double amp_var[3] = {0.15, 0.3, 0.45};  /* brightness spread */
static const double tex_amp[3] = {0.12, 0.2, 0.3};   /* texture */

#define OBJTRK_MAX_CELLS 1000 /* alive at once */

struct cell {
	struct bia__blob b; /* current shape and position */
	double r, rt;	    /* radius and target radius (daughters grow) */
	double e0, eph;	    /* eccentricity and its oscillation phase */
	double v[3];	    /* velocity */
	double amp;	    /* brightness */
	double toff[2];	    /* texture offset (texture moves with the cell) */
	uint32_t label;	    /* track label while generating */
	int age, div_age;   /* frames lived, frames to division */
	int alive;
};

/* Rebuild tracks from a label stack; see gen_int.h. */
int bia__ctc_rebuild(struct bia_ctx *ctx, uint32_t *lab, size_t fv, size_t T,
		     const uint32_t *parent_of, uint32_t maxlab, int link_gaps,
		     struct bia_ctc_tracks *out)
{
	struct seg {
		uint32_t old;	 /* label in the input */
		int64_t b, e;	 /* frames */
		uint32_t prev;	 /* previous segment of the same label (1-based), 0 */
		uint32_t parent; /* parent segment (1-based), 0 */
	} *sg = NULL;
	size_t ns = 0, cap = 0;
	int64_t *last = bia_malloc2((size_t)maxlab + 1, sizeof(int64_t));
	uint32_t *cur = bia_calloc((size_t)maxlab + 1, sizeof(uint32_t));
	int rc = 0;
	if (!last || !cur) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= maxlab; i++)
		last[i] = -2;
	for (size_t t = 0; t < T && !rc; t++) {
		uint32_t *f = lab + t * fv;
		for (size_t i = 0; i < fv; i++) {
			uint32_t l = f[i];
			if (!l)
				continue;
			if (l > maxlab) {
				rc = bia_fail(ctx, BIA_EINVAL, "label %u above %u", l, maxlab);
				break;
			}
			if (last[l] != (int64_t)t) {
				if (last[l] == (int64_t)t - 1 && cur[l]) {
					sg[cur[l] - 1].e = (int64_t)t;
				} else {
					if (ns == cap) {
						cap = cap ? 2 * cap : 256;
						void *n2 = realloc(sg, cap * sizeof(*sg));
						if (!n2) {
							rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
							break;
						}
						sg = n2;
					}
					sg[ns].old = l;
					sg[ns].b = sg[ns].e = (int64_t)t;
					sg[ns].prev = cur[l];
					sg[ns].parent = link_gaps ? cur[l] : 0;
					cur[l] = (uint32_t)++ns;
				}
				last[l] = (int64_t)t;
			}
			f[i] = cur[l];
		}
	}
	if (rc)
		goto out;
	if (ns > 65535) {
		rc = bia_fail(ctx, BIA_ELIMIT,
			      "%zu tracks do not fit CTC 16-bit labels (fewer objects or frames)", ns);
		goto out;
	}
	for (size_t k = 0; k < ns; k++) {
		if (sg[k].prev || !parent_of)
			continue;
		uint32_t p = parent_of[sg[k].old];
		if (!p || p > maxlab)
			continue;
		uint32_t q = cur[p];
		while (q && sg[q - 1].e >= sg[k].b)
			q = sg[q - 1].prev;
		sg[k].parent = q;
	}
	out->tracks = bia_calloc(ns ? ns : 1, sizeof(*out->tracks));
	if (!out->tracks) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	out->n = ns;
	for (size_t k = 0; k < ns; k++) {
		out->tracks[k].label = (uint32_t)k + 1;
		out->tracks[k].begin = sg[k].b;
		out->tracks[k].end = sg[k].e;
		out->tracks[k].parent = sg[k].parent;
	}
out:
	free(sg);
	free(last);
	free(cur);
	return rc;
}

static void set_shape(struct cell *c, int is3d, int t)
{
	double e = c->e0 + 0.12 * sin(0.25 * t + c->eph);
	if (e < 0)
		e = 0;
	c->b.ax[0] = c->r * (1 + e);
	c->b.ax[1] = c->r / (1 + e);
	if (is3d)
		c->b.ax[2] = c->r;
}

/* A new cell: random shape; centre, radius and label set by the caller. */
static void new_cell(struct cell *c, struct bia_rng *rng, int is3d, int L, size_t T, double r,
		     uint32_t label)
{
	memset(c, 0, sizeof(*c));
	bia__blob_random(&c->b, rng, is3d, 0.03 + 0.4 * deform[L]);
	c->r = r;
	c->rt = r;
	c->e0 = bia_rng_range(rng, 0, 0.3);
	c->eph = bia_rng_range(rng, 0, 2 * M_PI);
	c->amp = 1 - amp_var[L] * bia_rng_uniform(rng);
	c->toff[0] = bia_rng_range(rng, 0, 4096);
	c->toff[1] = bia_rng_range(rng, 0, 4096);
	c->label = label;
	c->div_age = (int)(bia_rng_range(rng, 0.5, 1.8) * (double)(T > 12 ? T : 12));
	c->alive = 1;
}

/* Apply a small rotation about Z (2D) or a random axis (3D) to the blob. */
static void rotate(struct bia__blob *b, struct bia_rng *rng, double a, int is3d)
{
	double ax[3] = {0, 0, 1};
	if (is3d) {
		ax[0] = bia_rng_normal(rng);
		ax[1] = bia_rng_normal(rng);
		ax[2] = bia_rng_normal(rng);
		double n = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
		for (int i = 0; i < 3; i++)
			ax[i] = n > 0 ? ax[i] / n : (i == 2);
	}
	double c = cos(a), s = sin(a), t = 1 - c;
	double R[3][3] = {
		{t * ax[0] * ax[0] + c, t * ax[0] * ax[1] - s * ax[2], t * ax[0] * ax[2] + s * ax[1]},
		{t * ax[0] * ax[1] + s * ax[2], t * ax[1] * ax[1] + c, t * ax[1] * ax[2] - s * ax[0]},
		{t * ax[0] * ax[2] - s * ax[1], t * ax[1] * ax[2] + s * ax[0], t * ax[2] * ax[2] + c}};
	double m[3][3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			m[i][j] = R[i][0] * b->rot[0][j] + R[i][1] * b->rot[1][j] + R[i][2] * b->rot[2][j];
	memcpy(b->rot, m, sizeof(m));
}

int bia__gen_objtrk(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d, T = o->frames;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	double r0 = is3d ? 6 : 9, vol = (double)nvox;
	double cvol = is3d ? 4.0 / 3.0 * M_PI * r0 * r0 * r0 : M_PI * r0 * r0;
	long n0 = o->objects ? o->objects : (long)floor(0.2 * o->density * vol / cvol + 0.5);
	if (n0 < 1)
		n0 = 1;
	if (n0 > OBJTRK_MAX_CELLS / 2)
		n0 = OBJTRK_MAX_CELLS / 2;
	if (o->objects)
		r0 = fmax(3, fmin(30, is3d ? cbrt(0.2 * vol / (4.0 / 3.0 * M_PI * (double)n0))
					   : sqrt(0.2 * vol / (M_PI * (double)n0))));
	size_t maxcells = OBJTRK_MAX_CELLS, ncell = 0, pcap = 1024;
	struct cell *cells = bia_calloc(maxcells, sizeof(*cells));
	uint32_t *lab = bia_calloc(nvox * T, sizeof(uint32_t));
	uint32_t *parent_of = bia_calloc(pcap, sizeof(uint32_t));
	float *prof = bia_malloc2(nvox, sizeof(float));
	uint32_t *owner = bia_malloc2(nvox, sizeof(uint32_t)); /* cell index + 1 */
	size_t *area = NULL;
	struct bia__vol fr = {0}, tex = {0}, ill = {0};
	uint32_t nextlab = 0;
	int rc = 0, ndiv = 0;
	if (!cells || !lab || !parent_of || !prof || !owner) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (bia__vol_alloc(ctx, &fr, w, h, d) || bia__vol_alloc(ctx, &ill, w, h, d) ||
	    bia__vol_alloc(ctx, &tex, w, h, d) ||
	    bia__noise_field(ctx, &tex, fmax(2.5, r0 / 2.2), fmax(2, r0 / 2.2), 3,
			     bia_mix64(o->seed ^ (idx * 7919 + BIA__S_TEXTURE)))) {
		rc = ctx->rc;
		goto out;
	}
	for (size_t i = 0; i < nvox; i++)
		ill.v[i] = 1;
	bia__illuminate(&ill, o->illum, &rng);
	/* initial cells, kept apart */
	for (long i = 0; i < n0; i++) {
		for (int tries = 0; tries < 50; tries++) {
			double r = r0 * bia_rng_range(&rng, 0.8, 1.2);
			double p[3] = {bia_rng_range(&rng, r, (double)w - r),
				       bia_rng_range(&rng, r, (double)h - r),
				       is3d ? bia_rng_range(&rng, 0, (double)d) : 0};
			int ok = 1;
			for (size_t j = 0; j < ncell && ok; j++) {
				double dx = p[0] - cells[j].b.c[0], dy = p[1] - cells[j].b.c[1],
				       dz = p[2] - cells[j].b.c[2], m = fmax(1.1, touch_k[L]) * (r + cells[j].r);
				ok = dx * dx + dy * dy + dz * dz >= m * m;
			}
			if (!ok)
				continue;
			struct cell *c = &cells[ncell++];
			new_cell(c, &rng, is3d, L, T, r, ++nextlab);
			memcpy(c->b.c, p, sizeof(p));
			c->age = (int)bia_rng_below_reject(&rng, (uint64_t)c->div_age);
			double a = bia_rng_range(&rng, 0, 2 * M_PI);
			c->v[0] = speed[L] * cos(a);
			c->v[1] = speed[L] * sin(a);
			set_shape(c, is3d, 0);
			break;
		}
	}
	if (bia__image_alloc(ctx, o, &s->image, 1, T)) {
		rc = ctx->rc;
		goto out;
	}
	struct bia__cam cam;
	struct bia_rng crng;
	bia_rng_seed_stream(&crng, o->seed, idx, BIA__S_CAMERA);
	const double bg = 0.08, cst = o->contrast;
	bia__cam_setup(&cam, o->noise, cst, bg);
	double sv = speed[L] * sqrt(1 - 0.85 * 0.85);
	for (size_t t = 0; t < T; t++) {
		if (t > 0) {
			size_t nbefore = ncell;
			for (size_t i = 0; i < nbefore; i++) {
				struct cell *c = &cells[i];
				if (!c->alive)
					continue;
				/* division into two daughters along the major axis */
				if (++c->age >= c->div_age && ncell + 2 <= maxcells) {
					c->alive = 0;
					ndiv++;
					double f = is3d ? cbrt(0.5) : sqrt(0.5);
					for (int k = 0; k < 2; k++) {
						if (nextlab + 1 >= pcap) {
							uint32_t *np2 = realloc(parent_of, 2 * pcap * sizeof(uint32_t));
							if (!np2) {
								rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
								goto out;
							}
							memset(np2 + pcap, 0, pcap * sizeof(uint32_t));
							parent_of = np2;
							pcap *= 2;
						}
						struct cell *dc = &cells[ncell++];
						new_cell(dc, &rng, is3d, L, T, c->r * f, ++nextlab);
						parent_of[nextlab] = c->label;
						double sg = k ? 1 : -1, off = 0.55 * c->b.ax[0];
						for (int a = 0; a < 3; a++) {
							dc->b.c[a] = c->b.c[a] + sg * off * c->b.rot[a][0];
							dc->v[a] = c->v[a] + sg * 0.5 * c->b.rot[a][0];
						}
						if (!is3d)
							dc->b.c[2] = 0;
						dc->rt = r0 * bia_rng_range(&rng, 0.85, 1.15);
						set_shape(dc, is3d, (int)t);
					}
					continue;
				}
				for (int a = 0; a < (is3d ? 3 : 2); a++) {
					c->v[a] = 0.85 * c->v[a] + sv * bia_rng_normal(&rng) * (a == 2 ? 0.4 : 1);
					c->b.c[a] += c->v[a];
				}
				c->r += (c->rt - c->r) * 0.08;
				rotate(&c->b, &rng, deform[L] * 2 * bia_rng_normal(&rng), is3d);
				for (int k = 0; k < 3; k++)
					c->b.phase[k] += deform[L] * 3 * bia_rng_normal(&rng);
				set_shape(c, is3d, (int)t);
			}
			/* repulsion between overlapping cells */
			for (size_t i = 0; i < ncell; i++) {
				if (!cells[i].alive)
					continue;
				for (size_t j = i + 1; j < ncell; j++) {
					if (!cells[j].alive)
						continue;
					double dd[3], dist = 0;
					for (int a = 0; a < 3; a++) {
						dd[a] = cells[j].b.c[a] - cells[i].b.c[a];
						dist += dd[a] * dd[a];
					}
					dist = sqrt(dist);
					double m = touch_k[L] * (cells[i].r + cells[j].r);
					if (dist >= m)
						continue;
					double push = 0.5 * (m - dist) * 0.6;
					for (int a = 0; a < (is3d ? 3 : 2); a++) {
						double u = dist > 1e-9 ? dd[a] / dist : (a == 0 ? 1 : 0);
						cells[i].b.c[a] -= push * u;
						cells[j].b.c[a] += push * u;
					}
				}
			}
			/* leaving the field */
			for (size_t i = 0; i < ncell; i++) {
				struct cell *c = &cells[i];
				if (!c->alive)
					continue;
				if (c->b.c[0] < -c->r || c->b.c[1] < -c->r || c->b.c[0] > (double)w + c->r ||
				    c->b.c[1] > (double)h + c->r ||
				    (is3d && (c->b.c[2] < -c->r || c->b.c[2] > (double)d + c->r)))
					c->alive = 0;
				if (is3d)
					c->b.c[2] = fmax(0, fmin((double)d - 1, c->b.c[2]));
			}
		}
		/* forget dead cells (keeping the order, which is the occlusion order) */
		size_t alive = 0;
		for (size_t i = 0; i < ncell; i++)
			if (cells[i].alive)
				cells[alive++] = cells[i];
		ncell = alive;
		/* entering cells; never an empty frame */
		int enter = t > 0 && bia_rng_uniform(&rng) < enter_p[L] * (double)(w * h) / 65536.0;
		if ((enter || !alive) && ncell < maxcells) {
			if (nextlab + 1 >= pcap) {
				uint32_t *np2 = realloc(parent_of, 2 * pcap * sizeof(uint32_t));
				if (!np2) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					goto out;
				}
				memset(np2 + pcap, 0, pcap * sizeof(uint32_t));
				parent_of = np2;
				pcap *= 2;
			}
			struct cell *c = &cells[ncell++];
			new_cell(c, &rng, is3d, L, T, r0 * bia_rng_range(&rng, 0.8, 1.2), ++nextlab);
			if (!alive) {
				c->b.c[0] = bia_rng_range(&rng, 0.3, 0.7) * (double)w;
				c->b.c[1] = bia_rng_range(&rng, 0.3, 0.7) * (double)h;
			} else {
				/* at a border, heading inwards */
				int side = (int)bia_rng_below_reject(&rng, 4);
				double u = bia_rng_uniform(&rng);
				c->b.c[0] = side == 0 ? 0 : side == 1 ? (double)w - 1 : u * (double)w;
				c->b.c[1] = side == 2 ? 0 : side == 3 ? (double)h - 1 : u * (double)h;
				c->v[0] = side == 0 ? speed[L] : side == 1 ? -speed[L] : 0;
				c->v[1] = side == 2 ? speed[L] : side == 3 ? -speed[L] : 0;
			}
			c->b.c[2] = is3d ? bia_rng_range(&rng, 0.3, 0.7) * (double)d : 0;
			set_shape(c, is3d, (int)t);
		}
		/* render the frame: later cells occlude earlier ones */
		uint32_t *fl = lab + t * nvox;
		memset(owner, 0, nvox * sizeof(uint32_t));
		for (size_t i = 0; i < ncell; i++) {
			struct cell *c = &cells[i];
			long lo[3], hi[3];
			if (!c->alive || !bia__blob_box(&c->b, w, h, d, lo, hi))
				continue;
			for (long z = lo[2]; z < hi[2]; z++)
				for (long y = lo[1]; y < hi[1]; y++)
					for (long x = lo[0]; x < hi[0]; x++) {
						double rho = bia__blob_rho(&c->b, (double)x, (double)y, (double)z);
						if (rho > 1)
							continue;
						size_t k = (size_t)x + w * ((size_t)y + h * (size_t)z);
						owner[k] = (uint32_t)i + 1;
						prof[k] = (float)rho;
					}
		}
		/* slivers (occluded or at the border) are not annotated nor drawn */
		free(area);
		area = bia_calloc(ncell + 1, sizeof(size_t));
		if (!area) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < nvox; k++)
			area[owner[k]]++;
		double amin = is3d ? 12 : 8;
		double fb = 1 - bleach[L] * (double)t / (double)(T > 1 ? T - 1 : 1);
		for (size_t k = 0; k < nvox; k++) {
			uint32_t ow = owner[k];
			double v = bg;
			if (ow && (double)area[ow] >= amin) {
				const struct cell *c = &cells[ow - 1];
				fl[k] = c->label;
				size_t x = k % w, y = (k / w) % h, z = k / (w * h);
				size_t tx = (size_t)fmod(fmod((double)x - c->b.c[0] + c->toff[0], (double)w) + (double)w,
							 (double)w);
				size_t ty = (size_t)fmod(fmod((double)y - c->b.c[1] + c->toff[1], (double)h) + (double)h,
							 (double)h);
				double tv = tex.v[tx + w * (ty + h * z)];
				double p = prof[k];
				v += cst * fb * c->amp * (0.72 + 0.28 * (1 - p * p)) * (1 + tex_amp[L] * tv);
			}
			fr.v[k] = (float)(v * ill.v[k]);
		}
		if (bia__blur(ctx, &fr, o->blur, o->blur, is3d ? 2 * o->blur : 0)) {
			rc = ctx->rc;
			goto out;
		}
		bia__cam_apply(&cam, &crng, fr.v, nvox);
		bia__quantize(fr.v, nvox, &s->image, t * nvox);
	}
	if (bia__ctc_rebuild(ctx, lab, nvox, T, parent_of, nextlab, 1, &s->tracks) ||
	    bia__labels_image(ctx, lab, w, h, d, T, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(s->info, "tracks", json_integer((json_int_t)s->tracks.n));
	json_object_set_new(s->info, "divisions", json_integer(ndiv));
out:
	free(area);
	bia__vol_free(&fr);
	bia__vol_free(&tex);
	bia__vol_free(&ill);
	free(cells);
	free(lab);
	free(parent_of);
	free(prof);
	free(owner);
	return rc;
}
