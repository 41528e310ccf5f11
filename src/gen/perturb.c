/* --perturb: predictions made from the ground truth, deterministically, with
 * known errors: a fraction of objects dropped, split in two, merged with a
 * neighbour, and everything shifted. What "object" means per class:
 *   ObjSeg             labelled objects (split along the principal axis)
 *   SptCnt, ObjDet,    points (split: a second point 2-3 px away; merge:
 *   LndDet             two nearest points become one at their middle)
 *   PrtTrk, ObjTrk     tracks (split: broken in time at the middle; merge:
 *                      PrtTrk joins a track that ended before; ObjTrk
 *                      absorbs a cell into its nearest neighbour)
 *   TreTrc             branches (drop: terminal branches; split: a branch
 *                      detached from its parent)
 *   PixCla, LooTrc     regions flipped (PixCla: a connected region changes
 *                      class; LooTrc: skeleton segments removed and as many
 *                      spurious ones added)
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* How many of n to pick for fraction f. */
static size_t count_of(double f, size_t n)
{
	double c = floor(f * (double)n + 0.5);
	return c < 0 ? 0 : (size_t)c > n ? n : (size_t)c;
}

/* A random permutation of 1..n (perm[0..n-1]). */
static uint32_t *permutation(struct bia_rng *r, size_t n)
{
	uint32_t *p = bia_malloc2(n ? n : 1, sizeof(uint32_t));
	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i + 1;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)bia_rng_below_reject(r, i);
		uint32_t t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/* Shift every (x, y) plane of a label array by (s, s); zeros enter. */
static void shift_xy(uint32_t *lab, size_t w, size_t h, size_t planes, int s)
{
	if (!s)
		return;
	for (size_t p = 0; p < planes; p++) {
		uint32_t *pl = lab + p * w * h;
		if (s > 0) {
			for (size_t y = h; y-- > 0;)
				for (size_t x = w; x-- > 0;)
					pl[x + w * y] = x >= (size_t)s && y >= (size_t)s
								? pl[(x - (size_t)s) + w * (y - (size_t)s)]
								: 0;
		} else {
			size_t a = (size_t)-s;
			for (size_t y = 0; y < h; y++)
				for (size_t x = 0; x < w; x++)
					pl[x + w * y] = x + a < w && y + a < h ? pl[(x + a) + w * (y + a)] : 0;
		}
	}
}

static int uf_find(uint32_t *uf, uint32_t x)
{
	while (uf[x] != x) {
		uf[x] = uf[uf[x]];
		x = uf[x];
	}
	return (int)x;
}

/* The label touching `l` most (6/4-connectivity), within its box; 0 if none.
 * skip[m] excludes labels. */
static uint32_t touching(const uint32_t *lab, size_t w, size_t h, size_t d, uint32_t l,
			 const long lo[3], const long hi[3], const uint8_t *skip, uint32_t maxl,
			 uint32_t *cnt)
{
	uint32_t best = 0;
	long off[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
	/* cnt is a scratch array of maxl + 1 zeros, left zeroed */
	for (long z = lo[2]; z <= hi[2]; z++)
		for (long y = lo[1]; y <= hi[1]; y++)
			for (long x = lo[0]; x <= hi[0]; x++) {
				if (lab[(size_t)x + w * ((size_t)y + h * (size_t)z)] != l)
					continue;
				for (int k = 0; k < 6; k++) {
					long X = x + off[k][0], Y = y + off[k][1], Z = z + off[k][2];
					if (X < 0 || Y < 0 || Z < 0 || X >= (long)w || Y >= (long)h || Z >= (long)d)
						continue;
					uint32_t m = lab[(size_t)X + w * ((size_t)Y + h * (size_t)Z)];
					if (m && m != l && m <= maxl && !skip[m]) {
						cnt[m]++;
						if (!best || cnt[m] > cnt[best] || (cnt[m] == cnt[best] && m < best))
							best = m;
					}
				}
			}
	/* clear the scratch counts */
	for (long z = lo[2]; z <= hi[2]; z++)
		for (long y = lo[1]; y <= hi[1]; y++)
			for (long x = lo[0]; x <= hi[0]; x++)
				for (int k = 0; k < 6; k++) {
					long X = x + off[k][0], Y = y + off[k][1], Z = z + off[k][2];
					if (X < 0 || Y < 0 || Z < 0 || X >= (long)w || Y >= (long)h || Z >= (long)d)
						continue;
					uint32_t m = lab[(size_t)X + w * ((size_t)Y + h * (size_t)Z)];
					if (m <= maxl)
						cnt[m] = 0;
				}
	return best;
}

/* ObjSeg: label image in, label image out. */
static int perturb_labels(struct bia_ctx *ctx, const struct bia_gen_perturb *q,
			  struct bia_rng *r, const struct bia_image *gt, struct bia_gen_sample *out)
{
	size_t w = gt->x, h = gt->y, d = gt->z, n = w * h * d;
	uint32_t *lab = bia__image_labels(ctx, gt);
	if (!lab)
		return ctx->rc;
	uint32_t maxl = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] > maxl)
			maxl = lab[i];
	size_t m = maxl;
	struct box {
		long lo[3], hi[3];
		double s[3], ss[3][3];
		size_t n;
	} *bx = bia_calloc(m + 1, sizeof(*bx));
	uint8_t *role = bia_calloc(m + 1, 1); /* 1 drop, 2 split, 3 merge */
	uint32_t *uf = bia_malloc2(m + 1, sizeof(uint32_t)), *cnt = bia_calloc(m + 1, sizeof(uint32_t));
	uint32_t *perm = permutation(r, m);
	int rc = 0;
	if (!bx || !role || !uf || !cnt || !perm) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t l = 0; l <= m; l++) {
		uf[l] = (uint32_t)l;
		for (int a = 0; a < 3; a++) {
			bx[l].lo[a] = LONG_MAX;
			bx[l].hi[a] = -1;
		}
	}
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				uint32_t l = lab[x + w * (y + h * z)];
				if (!l)
					continue;
				struct box *b = &bx[l];
				long p[3] = {(long)x, (long)y, (long)z};
				for (int a = 0; a < 3; a++) {
					if (p[a] < b->lo[a])
						b->lo[a] = p[a];
					if (p[a] > b->hi[a])
						b->hi[a] = p[a];
					b->s[a] += (double)p[a];
					for (int c = 0; c < 3; c++)
						b->ss[a][c] += (double)p[a] * (double)p[c];
				}
				b->n++;
			}
	size_t nd = count_of(q->drop, m), ns = count_of(q->split, m), nm = count_of(q->merge, m);
	size_t k = 0;
	for (; k < nd && k < m; k++)
		role[perm[k]] = 1;
	for (; k < nd + ns && k < m; k++)
		role[perm[k]] = 2;
	for (; k < nd + ns + nm && k < m; k++)
		role[perm[k]] = 3;
	uint8_t *dropped = bia_calloc(m + 1, 1);
	if (!dropped) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t l = 1; l <= m; l++)
		dropped[l] = role[l] == 1 || !bx[l].n;
	/* merges: each chosen object joins the neighbour it touches most, else
	 * the nearest one */
	size_t merged = 0;
	for (size_t i = 0; i < m; i++) {
		uint32_t l = perm[i];
		if (role[l] != 3 || !bx[l].n)
			continue;
		long lo[3], hi[3];
		for (int a = 0; a < 3; a++) {
			lo[a] = bx[l].lo[a];
			hi[a] = bx[l].hi[a];
		}
		uint32_t nb = touching(lab, w, h, d, l, lo, hi, dropped, maxl, cnt);
		if (!nb) {
			double best = 1e300;
			double c[3] = {bx[l].s[0] / (double)bx[l].n, bx[l].s[1] / (double)bx[l].n,
				       bx[l].s[2] / (double)bx[l].n};
			for (size_t o2 = 1; o2 <= m; o2++) {
				if (o2 == l || dropped[o2])
					continue;
				double dd = 0;
				for (int a = 0; a < 3; a++) {
					double e = bx[o2].s[a] / (double)bx[o2].n - c[a];
					dd += e * e;
				}
				if (dd < best) {
					best = dd;
					nb = (uint32_t)o2;
				}
			}
		}
		if (nb) {
			uf[uf_find(uf, l)] = (uint32_t)uf_find(uf, nb);
			merged++;
		}
	}
	/* splits: the half beyond the centroid along the principal axis gets a
	 * new label */
	uint32_t *newl = bia_calloc(m + 1, sizeof(uint32_t));
	double(*axis)[4] = bia_calloc(m + 1, sizeof(*axis));
	uint32_t next = maxl;
	if (!newl || !axis) {
		free(newl);
		free(axis);
		free(dropped);
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t l = 1; l <= m; l++) {
		if (role[l] != 2 || bx[l].n < 2)
			continue;
		double nn = (double)bx[l].n, c[3], C[3][3];
		for (int a = 0; a < 3; a++)
			c[a] = bx[l].s[a] / nn;
		for (int a = 0; a < 3; a++)
			for (int b2 = 0; b2 < 3; b2++)
				C[a][b2] = bx[l].ss[a][b2] / nn - c[a] * c[b2];
		/* principal axis by power iteration */
		double v[3] = {1, 0.5, 0.25};
		for (int it = 0; it < 30; it++) {
			double u[3] = {0, 0, 0};
			for (int a = 0; a < 3; a++)
				for (int b2 = 0; b2 < 3; b2++)
					u[a] += C[a][b2] * v[b2];
			double un = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
			if (un < 1e-12)
				break;
			for (int a = 0; a < 3; a++)
				v[a] = u[a] / un;
		}
		axis[l][0] = v[0];
		axis[l][1] = v[1];
		axis[l][2] = v[2];
		axis[l][3] = v[0] * c[0] + v[1] * c[1] + v[2] * c[2];
		newl[l] = ++next;
	}
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				uint32_t l = lab[i];
				if (!l)
					continue;
				if (dropped[l]) {
					lab[i] = 0;
					continue;
				}
				if (newl[l] && axis[l][0] * (double)x + axis[l][1] * (double)y +
							   axis[l][2] * (double)z >
						       axis[l][3]) {
					lab[i] = newl[l];
					continue;
				}
				lab[i] = (uint32_t)uf_find(uf, l);
			}
	free(newl);
	free(axis);
	free(dropped);
	shift_xy(lab, w, h, d, q->shift);
	long kk = bia__compact_labels(lab, n, 0);
	if (kk < 0 || bia__labels_image(ctx, lab, w, h, d, 1, &out->gt)) {
		rc = kk < 0 ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : (int)ctx->rc;
		goto out;
	}
	json_object_set_new(out->info, "objects", json_integer(kk));
	json_object_set_new(out->info, "dropped", json_integer((json_int_t)nd));
	json_object_set_new(out->info, "split", json_integer((json_int_t)ns));
	json_object_set_new(out->info, "merged", json_integer((json_int_t)merged));
out:
	free(lab);
	free(bx);
	free(role);
	free(uf);
	free(cnt);
	free(perm);
	return rc;
}

/* Points (value = class or 1), one per pixel. */
struct pt {
	long x, y, z;
	uint32_t v;
	int gone;
};

static int perturb_points(struct bia_ctx *ctx, const struct bia_gen_perturb *q,
			  struct bia_rng *r, const struct bia_image *gt, struct bia_gen_sample *out)
{
	size_t w = gt->x, h = gt->y, d = gt->z, n = w * h * d;
	uint32_t *lab = bia__image_labels(ctx, gt);
	if (!lab)
		return ctx->rc;
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		np += lab[i] != 0;
	struct pt *p = bia_calloc(np + 1, sizeof(*p));
	uint32_t *perm = permutation(r, np);
	int rc = 0;
	if (!p || !perm) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	np = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i]) {
			p[np].x = (long)(i % w);
			p[np].y = (long)((i / w) % h);
			p[np].z = (long)(i / (w * h));
			p[np].v = lab[i];
			np++;
		}
	memset(lab, 0, n * sizeof(uint32_t));
	size_t nd = count_of(q->drop, np), ns = count_of(q->split, np), nm = count_of(q->merge, np);
	size_t k = 0, merged = 0, split = 0;
	for (; k < nd && k < np; k++)
		p[perm[k] - 1].gone = 1;
	/* merges first (they need partners), then splits */
	for (size_t j = nd + ns; j < nd + ns + nm && j < np; j++) {
		struct pt *a = &p[perm[j] - 1];
		if (a->gone)
			continue;
		struct pt *b = NULL;
		double best = 1e300;
		for (size_t i = 0; i < np; i++) {
			struct pt *c = &p[i];
			if (c == a || c->gone)
				continue;
			double dx = (double)(c->x - a->x), dy = (double)(c->y - a->y),
			       dz = (double)(c->z - a->z), dd = dx * dx + dy * dy + dz * dz;
			if (dd < best) {
				best = dd;
				b = c;
			}
		}
		if (!b)
			continue;
		a->x = (a->x + b->x) / 2;
		a->y = (a->y + b->y) / 2;
		a->z = (a->z + b->z) / 2;
		b->gone = 1;
		merged++;
	}
	for (size_t i = 0; i < np; i++) {
		if (p[i].gone)
			continue;
		long x = p[i].x + q->shift, y = p[i].y + q->shift, z = p[i].z;
		if (x < 0 || y < 0 || x >= (long)w || y >= (long)h)
			continue;
		lab[(size_t)x + w * ((size_t)y + h * (size_t)z)] = p[i].v;
	}
	for (k = nd; k < nd + ns && k < np; k++) {
		const struct pt *a = &p[perm[k] - 1];
		if (a->gone)
			continue;
		for (int tries = 0; tries < 8; tries++) {
			double ang = bia_rng_range(r, 0, 2 * M_PI), rr = bia_rng_range(r, 2, 3);
			long x = a->x + q->shift + (long)floor(rr * cos(ang) + 0.5);
			long y = a->y + q->shift + (long)floor(rr * sin(ang) + 0.5);
			if (x < 0 || y < 0 || x >= (long)w || y >= (long)h)
				continue;
			size_t i = (size_t)x + w * ((size_t)y + h * (size_t)a->z);
			if (lab[i])
				continue;
			lab[i] = a->v;
			split++;
			break;
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		kept += lab[i] != 0;
	if (gt->dtype == BIA_U8) {
		uint8_t *m8 = bia_malloc2(n, 1);
		if (!m8) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			m8[i] = (uint8_t)lab[i];
		rc = bia__mask_image(ctx, m8, w, h, d, 1, &out->gt);
		free(m8);
	} else {
		rc = bia__labels_image(ctx, lab, w, h, d, 1, &out->gt);
	}
	if (rc)
		goto out;
	json_object_set_new(out->info, "points", json_integer((json_int_t)kept));
	json_object_set_new(out->info, "dropped", json_integer((json_int_t)nd));
	json_object_set_new(out->info, "split", json_integer((json_int_t)split));
	json_object_set_new(out->info, "merged", json_integer((json_int_t)merged));
out:
	free(lab);
	free(p);
	free(perm);
	return rc;
}

/* PixCla: connected regions flip class. */
static int perturb_classes(struct bia_ctx *ctx, const struct bia_gen_opts *o,
			   const struct bia_gen_perturb *q, struct bia_rng *r,
			   const struct bia_image *gt, struct bia_gen_sample *out)
{
	size_t w = gt->x, h = gt->y, n = w * h;
	uint32_t *cl = bia__image_labels(ctx, gt);
	if (!cl)
		return ctx->rc;
	uint32_t *comp = bia_malloc2(n, sizeof(uint32_t)), *perm = NULL;
	uint8_t *same = bia_malloc2(n, 1);
	size_t *area = NULL;
	int rc = 0;
	if (!comp || !same) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	/* components of equal class: label each class separately */
	uint32_t base = 0;
	memset(comp, 0, n * sizeof(uint32_t));
	uint32_t *tmp = bia_malloc2(n, sizeof(uint32_t));
	if (!tmp) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	uint32_t maxc = 0;
	for (size_t i = 0; i < n; i++)
		if (cl[i] > maxc)
			maxc = cl[i];
	for (uint32_t c = 0; c <= maxc; c++) {
		for (size_t i = 0; i < n; i++)
			same[i] = cl[i] == c;
		long nc = bia__components(same, tmp, w, h, 1, 0);
		if (nc < 0) {
			free(tmp);
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (tmp[i])
				comp[i] = base + tmp[i];
		base += (uint32_t)nc;
	}
	free(tmp);
	area = bia_calloc((size_t)base + 1, sizeof(size_t));
	perm = permutation(r, base);
	uint32_t *to = bia_calloc((size_t)base + 1, sizeof(uint32_t));
	if (!area || !perm || !to) {
		free(to);
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		area[comp[i]]++;
	/* regions larger than a quarter of the image (the tissue background)
	 * never flip */
	size_t eligible = 0;
	for (uint32_t c = 1; c <= base; c++)
		eligible += area[c] * 4 <= n;
	size_t nf = count_of(q->flip, eligible), done = 0;
	int K = o->classes > 1 ? o->classes : (int)maxc + 1;
	for (size_t j = 0; j < base && done < nf; j++) {
		uint32_t c = perm[j];
		if (area[c] * 4 > n)
			continue;
		to[c] = 1 + (uint32_t)bia_rng_below_reject(r, (uint64_t)(K > 1 ? K - 1 : 1));
		done++;
	}
	for (size_t i = 0; i < n; i++)
		if (to[comp[i]])
			cl[i] = (cl[i] + to[comp[i]]) % (uint32_t)K;
	free(to);
	/* shift: the class entering at the border is the background class 0 */
	shift_xy(cl, w, h, 1, q->shift);
	uint8_t *m8 = same;
	for (size_t i = 0; i < n; i++)
		m8[i] = (uint8_t)cl[i];
	if (bia__mask_image(ctx, m8, w, h, 1, 1, &out->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(out->info, "regions_flipped", json_integer((json_int_t)done));
out:
	free(cl);
	free(comp);
	free(same);
	free(area);
	free(perm);
	return rc;
}

/* LooTrc: skeleton segments (between junctions) removed, spurious ones
 * added. */
static int perturb_skeleton(struct bia_ctx *ctx, const struct bia_gen_perturb *q,
			    struct bia_rng *r, const struct bia_image *gt, struct bia_gen_sample *out)
{
	size_t w = gt->x, h = gt->y, d = gt->z, n = w * h * d;
	uint32_t *sk = bia__image_labels(ctx, gt);
	if (!sk)
		return ctx->rc;
	uint8_t *m = bia_calloc(n, 1), *seg = bia_calloc(n, 1);
	uint32_t *comp = bia_malloc2(n, sizeof(uint32_t)), *perm = NULL;
	size_t *len = NULL;
	int rc = 0;
	if (!m || !seg || !comp) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		m[i] = sk[i] != 0;
	/* junction voxels: more than two skeleton neighbours */
	for (size_t i = 0; i < n; i++) {
		if (!m[i])
			continue;
		long x = (long)(i % w), y = (long)((i / w) % h), z = (long)(i / (w * h));
		int nb = 0;
		for (long dz = -1; dz <= 1; dz++)
			for (long dy = -1; dy <= 1; dy++)
				for (long dx = -1; dx <= 1; dx++) {
					long X = x + dx, Y = y + dy, Z = z + dz;
					if ((dx || dy || dz) && X >= 0 && Y >= 0 && Z >= 0 && X < (long)w &&
					    Y < (long)h && Z < (long)d && m[(size_t)X + w * ((size_t)Y + h * (size_t)Z)])
						nb++;
				}
		seg[i] = nb <= 2;
	}
	long ns = bia__components(seg, comp, w, h, d, 1);
	if (ns < 0) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	len = bia_calloc((size_t)ns + 1, sizeof(size_t));
	perm = permutation(r, (size_t)ns);
	uint8_t *kill = bia_calloc((size_t)ns + 1, 1);
	if (!len || !perm || !kill) {
		free(kill);
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		len[comp[i]]++;
	size_t nf = count_of(q->flip, (size_t)ns), total = 0;
	for (size_t j = 0; j < nf; j++)
		kill[perm[j]] = 1;
	for (long c = 1; c <= ns; c++)
		total += len[c];
	for (size_t i = 0; i < n; i++)
		if (comp[i] && kill[comp[i]])
			m[i] = 0;
	free(kill);
	/* as many spurious straight segments of the mean length */
	double ml = ns ? (double)total / (double)ns : 5;
	for (size_t j = 0; j < nf; j++) {
		double a[3] = {bia_rng_range(r, 0, (double)w - 1), bia_rng_range(r, 0, (double)h - 1),
			       d > 1 ? bia_rng_range(r, 0, (double)d - 1) : 0};
		double ang = bia_rng_range(r, 0, 2 * M_PI);
		double b[3] = {a[0] + ml * cos(ang), a[1] + ml * sin(ang),
			       d > 1 ? a[2] + bia_rng_range(r, -2, 2) : 0};
		bia__draw_line(m, w, h, d, a, b, 1);
	}
	for (size_t i = 0; i < n; i++)
		sk[i] = m[i];
	shift_xy(sk, w, h, d, q->shift);
	for (size_t i = 0; i < n; i++)
		m[i] = (uint8_t)sk[i];
	if (bia__mask_image(ctx, m, w, h, d, 1, &out->gt)) {
		rc = ctx->rc;
		goto out;
	}
	json_object_set_new(out->info, "segments_flipped", json_integer((json_int_t)nf));
out:
	free(sk);
	free(m);
	free(seg);
	free(comp);
	free(len);
	free(perm);
	return rc;
}

/* TreTrc: terminal branches dropped, branches detached, shift. */
static int perturb_swc(struct bia_ctx *ctx, const struct bia_gen_perturb *q,
		       struct bia_rng *r, const struct bia_swc *in, struct bia_gen_sample *out)
{
	size_t n = in->n;
	long *par = bia_malloc2(n + 1, sizeof(long));	 /* parent index, -1 */
	uint32_t *nch = bia_calloc(n + 1, sizeof(uint32_t)); /* children */
	uint8_t *gone = bia_calloc(n + 1, 1), *root = bia_calloc(n + 1, 1);
	long *newid = bia_malloc2(n + 1, sizeof(long));
	size_t *starts = bia_malloc2(n + 1, sizeof(size_t));
	uint32_t *perm = NULL;
	int rc = 0;
	if (!par || !nch || !gone || !root || !newid || !starts) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	/* ids are 1..n in order in generated trees; map generally anyway */
	for (size_t i = 0; i < n; i++) {
		par[i] = -1;
		for (size_t j = 0; j < n && in->nodes[i].parent >= 0; j++)
			if (in->nodes[j].id == in->nodes[i].parent) {
				par[i] = (long)j;
				break;
			}
		if (par[i] >= 0)
			nch[par[i]]++;
	}
	/* branch starts: nodes whose parent is the root or a branch point */
	size_t nb = 0;
	for (size_t i = 0; i < n; i++)
		if (par[i] >= 0 && (par[par[i]] < 0 || nch[par[i]] >= 2))
			starts[nb++] = i;
	perm = permutation(r, nb);
	if (!perm) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	size_t nd = count_of(q->drop, nb), ns = count_of(q->split, nb), dropped = 0, split = 0;
	/* drop terminal branches: from the start down to a tip, if no branching */
	for (size_t k = 0; k < nd; k++) {
		size_t s = starts[perm[k] - 1], i = s;
		/* follow single children */
		size_t chain = 0;
		while (nch[i] == 1 && chain < n) {
			size_t c = SIZE_MAX;
			for (size_t j = i + 1; j < n; j++)
				if (par[j] == (long)i && !gone[j]) {
					c = j;
					break;
				}
			if (c == SIZE_MAX)
				break;
			i = c;
			chain++;
		}
		if (nch[i] != 0)
			continue; /* not terminal */
		/* remove s..i */
		for (size_t j = i;; j = (size_t)par[j]) {
			gone[j] = 1;
			if (j == s)
				break;
		}
		nch[par[s]]--;
		dropped++;
	}
	for (size_t k = nd; k < nd + ns && k < nb; k++) {
		size_t s = starts[perm[k] - 1];
		if (gone[s])
			continue;
		/* detach: the branch's first node is lost, its child starts a new root */
		gone[s] = 1;
		for (size_t j = s + 1; j < n; j++)
			if (par[j] == (long)s)
				root[j] = 1;
		split++;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		newid[i] = gone[i] ? -1 : (long)++m;
	out->swc.nodes = bia_calloc(m ? m : 1, sizeof(*out->swc.nodes));
	if (!out->swc.nodes) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	out->swc.n = m;
	for (size_t i = 0, k = 0; i < n; i++) {
		if (gone[i])
			continue;
		struct bia_swc_node *o2 = &out->swc.nodes[k++];
		*o2 = in->nodes[i];
		o2->id = newid[i];
		long p = par[i];
		o2->parent = root[i] || p < 0 || gone[p] ? -1 : newid[p];
		o2->x += q->shift;
		o2->y += q->shift;
	}
	json_object_set_new(out->info, "nodes", json_integer((json_int_t)m));
	json_object_set_new(out->info, "dropped", json_integer((json_int_t)dropped));
	json_object_set_new(out->info, "split", json_integer((json_int_t)split));
out:
	free(par);
	free(nch);
	free(gone);
	free(root);
	free(newid);
	free(starts);
	free(perm);
	return rc;
}

/* Per-track facts of a label stack. */
struct trk {
	int64_t b, e;	 /* first and last frame, b = -1 if absent */
	double p0[3];	 /* position in the first frame */
	double p1[3];	 /* position in the last frame */
};

static struct trk *track_facts(const uint32_t *lab, size_t w, size_t h, size_t d, size_t T,
			       uint32_t maxl)
{
	struct trk *t = bia_calloc((size_t)maxl + 1, sizeof(*t));
	size_t *cnt = bia_calloc((size_t)maxl + 1, sizeof(size_t));
	double(*sum)[3] = bia_calloc((size_t)maxl + 1, sizeof(*sum));
	if (!t || !cnt || !sum) {
		free(t);
		free(cnt);
		free(sum);
		return NULL;
	}
	for (size_t l = 0; l <= maxl; l++)
		t[l].b = -1;
	size_t fv = w * h * d;
	for (size_t f = 0; f < T; f++) {
		const uint32_t *fl = lab + f * fv;
		for (size_t i = 0; i < fv; i++) {
			uint32_t l = fl[i];
			if (!l)
				continue;
			if (t[l].e != (int64_t)f || t[l].b < 0) {
				cnt[l] = 0;
				sum[l][0] = sum[l][1] = sum[l][2] = 0;
			}
			if (t[l].b < 0)
				t[l].b = (int64_t)f;
			t[l].e = (int64_t)f;
			cnt[l]++;
			sum[l][0] += (double)(i % w);
			sum[l][1] += (double)((i / w) % h);
			sum[l][2] += (double)(i / (w * h));
			for (int a = 0; a < 3; a++) {
				t[l].p1[a] = sum[l][a] / (double)cnt[l];
				if (t[l].b == (int64_t)f)
					t[l].p0[a] = t[l].p1[a];
			}
		}
	}
	free(cnt);
	free(sum);
	return t;
}

/* PrtTrk and ObjTrk: tracks dropped, broken, merged; shift. */
static int perturb_tracks(struct bia_ctx *ctx, enum bia_class cls, const struct bia_gen_perturb *q,
			  struct bia_rng *r, const struct bia_gen_sample *in, struct bia_gen_sample *out)
{
	const struct bia_image *gt = &in->gt;
	size_t w = gt->x, h = gt->y, d = gt->z, T = gt->t, fv = w * h * d, n = fv * T;
	uint32_t *lab = bia__image_labels(ctx, gt);
	if (!lab)
		return ctx->rc;
	uint32_t maxl = 0;
	for (size_t i = 0; i < n; i++)
		if (lab[i] > maxl)
			maxl = lab[i];
	struct trk *tf = track_facts(lab, w, h, d, T, maxl);
	uint32_t *perm = permutation(r, maxl);
	uint32_t *map = bia_calloc((size_t)maxl + 1, sizeof(uint32_t));	  /* whole-track relabel */
	uint32_t *splitl = bia_calloc((size_t)maxl + 1, sizeof(uint32_t)); /* label from mid on */
	uint32_t *into = bia_calloc((size_t)maxl + 1, sizeof(uint32_t));   /* ObjTrk absorb into */
	uint32_t *parent_of = NULL;
	int rc = 0;
	if (!tf || !perm || !map || !splitl || !into) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	size_t m = maxl, nd = count_of(q->drop, m), ns = count_of(q->split, m), nm = count_of(q->merge, m);
	size_t merged = 0, split = 0;
	for (size_t l = 0; l <= m; l++)
		map[l] = (uint32_t)l;
	for (size_t k = 0; k < nd && k < m; k++)
		map[perm[k]] = 0;
	uint32_t next = maxl;
	for (size_t k = nd; k < nd + ns && k < m; k++) {
		uint32_t l = perm[k];
		if (tf[l].b < 0 || tf[l].e <= tf[l].b)
			continue;
		splitl[l] = ++next;
		split++;
	}
	for (size_t k = nd + ns; k < nd + ns + nm && k < m; k++) {
		uint32_t b = perm[k];
		if (tf[b].b < 0 || !map[b] || splitl[b])
			continue;
		uint32_t best = 0;
		double bd = 1e300;
		for (uint32_t a = 1; a <= maxl; a++) {
			if (a == b || !map[a] || tf[a].b < 0 || splitl[a])
				continue;
			double dd = 0;
			if (cls == BIA_PRTTRK) {
				/* a track that ended before b began, near b's start */
				if (tf[a].e >= tf[b].b || map[a] != a)
					continue;
				for (int x = 0; x < 3; x++)
					dd += (tf[a].p1[x] - tf[b].p0[x]) * (tf[a].p1[x] - tf[b].p0[x]);
				dd += 25.0 * (double)(tf[b].b - tf[a].e);
			} else {
				/* a cell alive when b begins, nearest to it */
				if (tf[a].b > tf[b].b || tf[a].e < tf[b].b || into[a])
					continue;
				for (int x = 0; x < 3; x++)
					dd += (tf[a].p1[x] - tf[b].p0[x]) * (tf[a].p1[x] - tf[b].p0[x]);
			}
			if (dd < bd) {
				bd = dd;
				best = a;
			}
		}
		if (!best)
			continue;
		if (cls == BIA_PRTTRK) {
			map[b] = best;
			/* best now lasts until b ends */
			tf[best].e = tf[b].e;
			memcpy(tf[best].p1, tf[b].p1, sizeof(tf[b].p1));
		} else
			into[b] = best;
		merged++;
	}
	/* ObjTrk absorb: b takes a's label in the frames where a is present */
	uint8_t *present = NULL;
	if (cls == BIA_OBJTRK) {
		present = bia_calloc(((size_t)maxl + 1) * T, 1);
		if (!present) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t f = 0; f < T; f++)
			for (size_t i = 0; i < fv; i++)
				if (lab[f * fv + i])
					present[(size_t)lab[f * fv + i] * T + f] = 1;
	}
	for (size_t f = 0; f < T; f++) {
		uint32_t *fl = lab + f * fv;
		for (size_t i = 0; i < fv; i++) {
			uint32_t l = fl[i];
			if (!l)
				continue;
			uint32_t v = map[l];
			if (v && splitl[l] && (int64_t)f >= (tf[l].b + tf[l].e + 1) / 2)
				v = splitl[l];
			if (v && into[l] && present[(size_t)into[l] * T + f] && map[into[l]])
				v = map[into[l]];
			fl[i] = v;
		}
	}
	free(present);
	shift_xy(lab, w, h, d * T, q->shift);
	if (cls == BIA_PRTTRK) {
		long k = bia__compact_labels(lab, n, 0);
		if (k < 0 || bia__labels_image(ctx, lab, w, h, d, T, &out->gt)) {
			rc = k < 0 ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : (int)ctx->rc;
			goto out;
		}
		json_object_set_new(out->info, "tracks", json_integer(k));
	} else {
		/* parents as in the GT (dropped parents vanish); broken tracks are
		 * not linked */
		parent_of = bia_calloc((size_t)next + 1, sizeof(uint32_t));
		if (!parent_of) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < in->tracks.n; k++) {
			const struct bia_ctc_track *t = &in->tracks.tracks[k];
			if (t->label <= maxl && t->parent <= maxl)
				parent_of[t->label] = splitl[t->parent] ? splitl[t->parent] : map[t->parent];
		}
		if (bia__ctc_rebuild(ctx, lab, fv, T, parent_of, next, 1, &out->tracks) ||
		    bia__labels_image(ctx, lab, w, h, d, T, &out->gt)) {
			rc = ctx->rc;
			goto out;
		}
		json_object_set_new(out->info, "tracks", json_integer((json_int_t)out->tracks.n));
	}
	json_object_set_new(out->info, "dropped", json_integer((json_int_t)nd));
	json_object_set_new(out->info, "split", json_integer((json_int_t)split));
	json_object_set_new(out->info, "merged", json_integer((json_int_t)merged));
out:
	free(lab);
	free(tf);
	free(perm);
	free(map);
	free(splitl);
	free(into);
	free(parent_of);
	return rc;
}

int bia_gen_perturb(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t index,
		    const struct bia_gen_sample *gt, struct bia_gen_sample *out)
{
	bia_gen_sample_init(out);
	snprintf(out->stem, sizeof(out->stem), "%s", gt->stem);
	out->info = json_object();
	struct bia_rng r;
	bia_rng_seed_stream(&r, o->seed, index, BIA__S_PERTURB);
	const struct bia_gen_perturb *q = &o->perturb;
	int rc;
	switch (o->cls) {
	case BIA_OBJSEG:
		rc = perturb_labels(ctx, q, &r, &gt->gt, out);
		break;
	case BIA_SPTCNT:
	case BIA_OBJDET:
	case BIA_LNDDET:
		rc = perturb_points(ctx, q, &r, &gt->gt, out);
		break;
	case BIA_PIXCLA:
		rc = perturb_classes(ctx, o, q, &r, &gt->gt, out);
		break;
	case BIA_LOOTRC:
		rc = perturb_skeleton(ctx, q, &r, &gt->gt, out);
		break;
	case BIA_TRETRC:
		rc = perturb_swc(ctx, q, &r, &gt->swc, out);
		break;
	case BIA_PRTTRK:
	case BIA_OBJTRK:
		rc = perturb_tracks(ctx, o->cls, q, &r, gt, out);
		break;
	default:
		rc = bia_fail(ctx, BIA_EINVAL, "unknown problem class");
	}
	if (rc)
		bia_gen_sample_release(out);
	return rc;
}
