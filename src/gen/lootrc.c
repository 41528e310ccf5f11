/* LooTrc: a vessel-like network with loops (in the spirit of VascuSynth):
 * branch points spread by dart throwing, each joined to its nearest
 * neighbours by gently curved vessels of varying calibre, rendered as
 * tubes, PSF-blurred and noisy. Ground truth: the one-voxel-thin skeleton
 * of the vessels (26-connected in 3D, 8 in 2D).
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

static const double calibre[3] = {1.3, 1.0, 0.75};  /* vessel radius factor */
static const double amp_lo[3] = {0.7, 0.5, 0.3};     /* dimmest vessel */
static const double bend[3] = {0.15, 0.25, 0.35};    /* curvature of vessels */

struct edge {
	size_t a, b;
};

/* Points in a uniform grid of cells, for neighbour queries. */
struct pgrid {
	double cell;	   /* cell size */
	size_t gw, gh, gd; /* cells per axis */
	long *head, *next; /* first point of a cell, next point in the cell */
};

static int pgrid_init(struct pgrid *g, const double hi[3], double cell, size_t cap)
{
	g->cell = cell;
	g->gw = (size_t)(hi[0] / cell) + 2;
	g->gh = (size_t)(hi[1] / cell) + 2;
	g->gd = (size_t)(hi[2] / cell) + 2;
	g->head = bia_malloc2(g->gw * g->gh * g->gd, sizeof(long));
	g->next = bia_malloc2(cap ? cap : 1, sizeof(long));
	if (!g->head || !g->next)
		return -1;
	for (size_t i = 0; i < g->gw * g->gh * g->gd; i++)
		g->head[i] = -1;
	return 0;
}

static size_t pgrid_cell(const struct pgrid *g, const double p[3], long off[3])
{
	long c[3];
	size_t n[3] = {g->gw, g->gh, g->gd};
	for (int i = 0; i < 3; i++) {
		c[i] = (long)floor(p[i] / g->cell) + (off ? off[i] : 0);
		if (c[i] < 0 || c[i] >= (long)n[i])
			return SIZE_MAX;
	}
	return (size_t)c[0] + g->gw * ((size_t)c[1] + g->gh * (size_t)c[2]);
}

static void pgrid_add(struct pgrid *g, const double p[3], long id)
{
	size_t k = pgrid_cell(g, p, NULL);
	g->next[id] = g->head[k];
	g->head[k] = id;
}

/* Append the thin digital path of a polyline of points into the mask. */
static int stamp_path(uint8_t *m, size_t w, size_t h, size_t d, const double (*pts)[3], size_t np)
{
	long(*v)[3] = bia_malloc2(np + 1, sizeof(*v));
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < np; i++) {
		long x = (long)floor(pts[i][0] + 0.5), y = (long)floor(pts[i][1] + 0.5),
		     z = (long)floor(pts[i][2] + 0.5);
		if (n && v[n - 1][0] == x && v[n - 1][1] == y && v[n - 1][2] == z)
			continue;
		v[n][0] = x;
		v[n][1] = y;
		v[n][2] = z;
		n++;
		/* drop corners: keep the path one voxel thin */
		while (n >= 3 && labs(v[n - 1][0] - v[n - 3][0]) <= 1 &&
		       labs(v[n - 1][1] - v[n - 3][1]) <= 1 && labs(v[n - 1][2] - v[n - 3][2]) <= 1) {
			memcpy(v[n - 2], v[n - 1], sizeof(v[0]));
			n--;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i][0] >= 0 && v[i][1] >= 0 && v[i][2] >= 0 && v[i][0] < (long)w &&
		    v[i][1] < (long)h && v[i][2] < (long)d)
			m[(size_t)v[i][0] + w * ((size_t)v[i][1] + h * (size_t)v[i][2])] = 1;
	free(v);
	return 0;
}

int bia__gen_lootrc(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s)
{
	int L = o->level, is3d = o->d > 1;
	size_t w = o->w, h = o->h, d = o->d, nvox = w * h * d;
	struct bia_rng rng;
	bia_rng_seed_stream(&rng, o->seed, idx, BIA__S_SCENE);
	double sp = 24.0 / (is3d ? cbrt(o->density) : sqrt(o->density));
	double lo[3] = {2, 2, is3d ? 1 : 0};
	double hi[3] = {(double)w - 3, (double)h - 3, is3d ? (double)d - 2 : 0};
	double vol = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (is3d ? fmax(1, hi[2] - lo[2]) : 1);
	/* in thin stacks the spacing along Z is what the depth allows */
	double sp3 = is3d ? sp * sp * fmin(sp, fmax(1, hi[2] - lo[2])) : sp * sp;
	size_t want = (size_t)(1.3 * vol / sp3) + 3;
	if (want > 20000)
		want = 20000;
	double(*pts)[3] = bia_malloc2(want, sizeof(*pts));
	struct edge *ed = NULL;
	uint8_t *sk = bia_calloc(nvox, 1);
	double(*path)[3] = NULL;
	struct bia__vol img = {0}, tex = {0};
	size_t np = 0, ne = 0, ecap = 0;
	struct pgrid grid = {0};
	size_t(*adj)[12] = bia_malloc2(want, sizeof(*adj));
	uint8_t *deg = bia_calloc(want, 1);
	int rc = 0;
	if (!pts || !sk || !adj || !deg) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double mind = 0.72 * sp;
	if (pgrid_init(&grid, hi, mind, want)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < 40 * want && np < want; t++) {
		double p[3] = {bia_rng_range(&rng, lo[0], hi[0]), bia_rng_range(&rng, lo[1], hi[1]),
			       is3d ? bia_rng_range(&rng, lo[2], hi[2]) : 0};
		int ok = 1;
		for (long dz = -1; dz <= 1 && ok; dz++)
			for (long dy = -1; dy <= 1 && ok; dy++)
				for (long dx = -1; dx <= 1 && ok; dx++) {
					long off[3] = {dx, dy, dz};
					size_t k = pgrid_cell(&grid, p, off);
					for (long i = k == SIZE_MAX ? -1 : grid.head[k]; i >= 0 && ok;
					     i = grid.next[i]) {
						double ex = p[0] - pts[i][0], ey = p[1] - pts[i][1],
						       ez = p[2] - pts[i][2];
						if (ex * ex + ey * ey + ez * ez < mind * mind)
							ok = 0;
					}
				}
		if (ok) {
			memcpy(pts[np], p, sizeof(p));
			pgrid_add(&grid, p, (long)np);
			np++;
		}
	}
	/* each point to its 3 nearest neighbours within 1.8 spacings (2.5 cells) */
	for (size_t i = 0; i < np; i++) {
		size_t best[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
		double bd[3] = {1e300, 1e300, 1e300};
		for (long dz = -3; dz <= 3; dz++)
			for (long dy = -3; dy <= 3; dy++)
				for (long dx = -3; dx <= 3; dx++) {
					long off[3] = {dx, dy, dz};
					size_t kc = pgrid_cell(&grid, pts[i], off);
					for (long jj = kc == SIZE_MAX ? -1 : grid.head[kc]; jj >= 0;
					     jj = grid.next[jj]) {
						size_t j = (size_t)jj;
						if (j == i)
							continue;
						double ex = pts[j][0] - pts[i][0], ey = pts[j][1] - pts[i][1],
						       ez = pts[j][2] - pts[i][2],
						       dd = ex * ex + ey * ey + ez * ez;
						/* ties broken by index: independent of the scan order */
						for (int k = 0; k < 3; k++)
							if (dd < bd[k] || (dd == bd[k] && j < best[k])) {
								for (int m = 2; m > k; m--) {
									bd[m] = bd[m - 1];
									best[m] = best[m - 1];
								}
								bd[k] = dd;
								best[k] = j;
								break;
							}
					}
				}
		for (int k = 0; k < 3; k++) {
			if (best[k] == SIZE_MAX || bd[k] > (1.8 * sp) * (1.8 * sp))
				continue;
			/* the third neighbour only sometimes: fewer, larger loops */
			if (k == 2 && bia_rng_uniform(&rng) < 0.5)
				continue;
			size_t a = i < best[k] ? i : best[k], b = i < best[k] ? best[k] : i;
			int dup = 0;
			for (int e = 0; e < deg[a] && !dup; e++)
				dup = adj[a][e] == b;
			if (dup || deg[a] >= 12 || deg[b] >= 12)
				continue;
			adj[a][deg[a]++] = b;
			adj[b][deg[b]++] = a;
			if (ne == ecap) {
				ecap = ecap ? 2 * ecap : 64;
				struct edge *n2 = realloc(ed, ecap * sizeof(*ed));
				if (!n2) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					goto out;
				}
				ed = n2;
			}
			ed[ne].a = a;
			ed[ne].b = b;
			ne++;
		}
	}
	if (bia__vol_alloc(ctx, &img, w, h, d) || bia__vol_alloc(ctx, &tex, w, h, d) ||
	    bia__noise_field(ctx, &tex, 16, 8, 3, bia_mix64(o->seed ^ (idx * 977 + 3)))) {
		rc = ctx->rc;
		goto out;
	}
	const double c = o->contrast, bg = 0.07;
	size_t pcap = 0;
	for (size_t e = 0; e < ne; e++) {
		const double *a = pts[ed[e].a], *b = pts[ed[e].b];
		double ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
		double len = sqrt(ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2]);
		/* control point: off the chord, perpendicular */
		double u[3] = {-ab[1], ab[0], is3d ? 0.3 * len * bia_rng_normal(&rng) : 0};
		double un = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
		double off = bia_rng_range(&rng, -bend[L], bend[L]) * len;
		double cp[3];
		for (int i = 0; i < 3; i++) {
			cp[i] = (a[i] + b[i]) / 2 + (un > 0 ? off * u[i] / un : 0);
			cp[i] = fmax(lo[i], fmin(hi[i], cp[i]));
		}
		size_t ns = (size_t)(2 * len * (1 + 2 * bend[L])) + 2;
		if (ns > pcap) {
			double(*p2)[3] = realloc(path, ns * sizeof(*path));
			if (!p2) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			path = p2;
			pcap = ns;
		}
		for (size_t k = 0; k < ns; k++) {
			double t = (double)k / (double)(ns - 1), t1 = 1 - t;
			for (int i = 0; i < 3; i++)
				path[k][i] = t1 * t1 * a[i] + 2 * t1 * t * cp[i] + t * t * b[i];
		}
		if (stamp_path(sk, w, h, d, (const double(*)[3])path, ns)) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		double r = calibre[L] * bia_rng_range(&rng, 0.9, 2.4);
		double amp = c * bia_rng_range(&rng, amp_lo[L], 1.0);
		for (size_t k = 0; k + 4 < ns; k += 4)
			bia__draw_tube(&img, path[k], path[k + 4], r, r, amp, amp);
		bia__draw_tube(&img, path[(ns - 1) / 4 * 4], path[ns - 1], r, r, amp, amp);
	}
	for (size_t k = 0; k < nvox; k++)
		img.v[k] += (float)(bg * (1 + 0.3 * tex.v[k]));
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
	if (bia__image_alloc(ctx, o, &s->image, 1, 1) ||
	    bia__mask_image(ctx, sk, w, h, d, 1, &s->gt)) {
		rc = ctx->rc;
		goto out;
	}
	bia__quantize(img.v, nvox, &s->image, 0);
	size_t nsk = 0;
	for (size_t k = 0; k < nvox; k++)
		nsk += sk[k];
	json_object_set_new(s->info, "branch_points", json_integer((json_int_t)np));
	json_object_set_new(s->info, "vessels", json_integer((json_int_t)ne));
	json_object_set_new(s->info, "skeleton_voxels", json_integer((json_int_t)nsk));
out:
	bia__vol_free(&img);
	bia__vol_free(&tex);
	free(pts);
	free(adj);
	free(deg);
	free(grid.head);
	free(grid.next);
	free(ed);
	free(sk);
	free(path);
	return rc;
}
