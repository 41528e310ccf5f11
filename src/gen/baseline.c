/* Simple baseline workflows, one per class, to show that the difficulty
 * levels are real (a baseline scores worse on harder data) and as a
 * reference floor for real workflows:
 *   ObjSeg     Gaussian smoothing, Otsu threshold, connected components
 *   SptCnt,    difference of Gaussians, robust threshold (median + 4 MAD),
 *   ObjDet     local maxima
 *   PixCla     1-D k-means of the smoothed grey level, seeded by the palette
 *   TreTrc     robust threshold, foreground 3x3x3 blocks as nodes, BFS trees
 *   LooTrc     robust threshold, intensity ridges (X or Y, and Z)
 *   ObjTrk     per-frame ObjSeg baseline, linking by largest overlap
 *              (several successors = a division)
 *   PrtTrk     per-frame spot detection, greedy nearest-neighbour linking
 *   LndDet     Otsu shape, its moments map the template's landmarks
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

/* Frame t of an image as floats (RGB: luminance). */
static int to_float(struct bia_ctx *ctx, const struct bia_image *img, size_t t, struct bia__vol *v)
{
	if (bia__vol_alloc(ctx, v, img->x, img->y, img->z))
		return ctx->rc;
	size_t plane = img->x * img->y;
	for (size_t z = 0; z < img->z; z++)
		for (size_t i = 0; i < plane; i++) {
			double s;
			if (img->c >= 3)
				s = 0.299 * bia_image_get(img, bia_image_index(img, i % img->x, i / img->x, z, 0, t)) +
				    0.587 * bia_image_get(img, bia_image_index(img, i % img->x, i / img->x, z, 1, t)) +
				    0.114 * bia_image_get(img, bia_image_index(img, i % img->x, i / img->x, z, 2, t));
			else
				s = bia_image_get(img, bia_image_index(img, i % img->x, i / img->x, z, 0, t));
			v->v[z * plane + i] = (float)s;
		}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Median and MAD of (a deterministic subsample of) v. */
static int robust(const float *v, size_t n, double *pmed, double *pmad)
{
	size_t step = n > 200000 ? n / 200000 : 1, m = (n + step - 1) / step;
	float *s = bia_malloc2(m ? m : 1, sizeof(float));
	if (!s)
		return -1;
	for (size_t i = 0, k = 0; i < n && k < m; i += step)
		s[k++] = v[i];
	qsort(s, m, sizeof(float), cmp_float);
	double med = m ? s[m / 2] : 0;
	for (size_t i = 0; i < m; i++)
		s[i] = (float)fabs(s[i] - med);
	qsort(s, m, sizeof(float), cmp_float);
	*pmed = med;
	*pmad = m ? 1.4826 * s[m / 2] : 0;
	free(s);
	return 0;
}

/* Spots: DoG, threshold median + k MAD, local maxima (ties to the first). */
static int detect_spots(struct bia_ctx *ctx, const struct bia__vol *in, double sigma, double k,
			uint8_t *out)
{
	size_t w = in->w, h = in->h, d = in->d, n = w * h * d;
	struct bia__vol a = {0}, b = {0};
	int rc = 0;
	if (bia__vol_alloc(ctx, &a, w, h, d) || bia__vol_alloc(ctx, &b, w, h, d)) {
		rc = ctx->rc;
		goto out;
	}
	memcpy(a.v, in->v, n * sizeof(float));
	memcpy(b.v, in->v, n * sizeof(float));
	if (bia__blur(ctx, &a, sigma, sigma, d > 1 ? 2 * sigma : 0) ||
	    bia__blur(ctx, &b, 4 * sigma, 4 * sigma, d > 1 ? 4 * sigma : 0)) {
		rc = ctx->rc;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		a.v[i] -= b.v[i];
	double med, mad;
	if (robust(a.v, n, &med, &mad)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double thr = med + k * (mad > 0 ? mad : 1e-6);
	memset(out, 0, n);
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				float c = a.v[i];
				if (c <= thr)
					continue;
				int peak = 1;
				for (long dz = d > 1 ? -1 : 0; dz <= (d > 1 ? 1 : 0) && peak; dz++)
					for (long dy = -1; dy <= 1 && peak; dy++)
						for (long dx = -1; dx <= 1 && peak; dx++) {
							long X = (long)x + dx, Y = (long)y + dy, Z = (long)z + dz;
							if ((!dx && !dy && !dz) || X < 0 || Y < 0 || Z < 0 ||
							    X >= (long)w || Y >= (long)h || Z >= (long)d)
								continue;
							size_t j = (size_t)X + w * ((size_t)Y + h * (size_t)Z);
							if (a.v[j] > c || (a.v[j] == c && j < i))
								peak = 0;
						}
				out[i] = (uint8_t)peak;
			}
out:
	bia__vol_free(&a);
	bia__vol_free(&b);
	return rc;
}

/* Smooth, Otsu, components (4/6-connected), small ones removed. Labels
 * into lab (w*h*d). Returns the count or -1. */
static long segment(struct bia_ctx *ctx, struct bia__vol *v, uint32_t *lab, size_t min_area)
{
	size_t n = bia__vol_n(v);
	if (bia__blur(ctx, v, 1.0, 1.0, v->d > 1 ? 1.0 : 0))
		return -1;
	double thr = bia__otsu(v->v, n);
	uint8_t *fg = bia_malloc2(n, 1);
	if (!fg) {
		bia_fail(ctx, BIA_ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fg[i] = v->v[i] > thr;
	long k = bia__components(fg, lab, v->w, v->h, v->d, 0);
	free(fg);
	if (k >= 0)
		k = bia__compact_labels(lab, n, min_area);
	if (k < 0)
		bia_fail(ctx, BIA_ENOMEM, "out of memory");
	return k;
}

static int base_objseg(struct bia_ctx *ctx, const struct bia_image *img, struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	uint32_t *lab = NULL;
	int rc = to_float(ctx, img, 0, &v);
	if (!rc && !(lab = bia_malloc2(bia__vol_n(&v), sizeof(uint32_t))))
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (!rc && segment(ctx, &v, lab, v.d > 1 ? 20 : 10) < 0)
		rc = ctx->rc;
	if (!rc)
		rc = bia__labels_image(ctx, lab, v.w, v.h, v.d, 1, &out->gt);
	free(lab);
	bia__vol_free(&v);
	return rc;
}

static int base_spots(struct bia_ctx *ctx, const struct bia_gen_opts *o, const struct bia_image *img,
		      struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	uint8_t *m = NULL;
	int rc = to_float(ctx, img, 0, &v);
	if (!rc && !(m = bia_malloc2(bia__vol_n(&v), 1)))
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (!rc)
		rc = detect_spots(ctx, &v, fmax(1.0, 0.8 * o->blur), 4, m);
	if (!rc)
		rc = bia__mask_image(ctx, m, v.w, v.h, v.d, 1, &out->gt);
	free(m);
	bia__vol_free(&v);
	return rc;
}

static int base_pixcla(struct bia_ctx *ctx, const struct bia_gen_opts *o, const struct bia_image *img,
		       struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	uint8_t *m = NULL;
	int K = o->classes, rc = to_float(ctx, img, 0, &v);
	size_t n = bia__vol_n(&v);
	if (!rc && !(m = bia_malloc2(n, 1)))
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (!rc)
		rc = bia__blur(ctx, &v, 1.5, 1.5, 0);
	if (rc)
		goto out;
	/* centres seeded with the palette's grey levels after the contrast
	 * knob, in sample units */
	double c[8], mean = 0, s = fmin(1.0, o->contrast / 0.6);
	double scale = img->dtype == BIA_U16 ? 3900 : 255, off = img->dtype == BIA_U16 ? 100 : 0;
	for (int k = 0; k < K; k++)
		mean += bia__pixcla_grey(k, K, o->color) / K;
	for (int k = 0; k < K; k++)
		c[k] = off + scale * (mean + s * (bia__pixcla_grey(k, K, o->color) - mean));
	for (int it = 0; it < 12; it++) {
		double sum[8] = {0}, cnt[8] = {0};
		for (size_t i = 0; i < n; i++) {
			int best = 0;
			for (int k = 1; k < K; k++)
				if (fabs(v.v[i] - c[k]) < fabs(v.v[i] - c[best]))
					best = k;
			m[i] = (uint8_t)best;
			sum[best] += v.v[i];
			cnt[best]++;
		}
		for (int k = 0; k < K; k++)
			if (cnt[k] > 0)
				c[k] = sum[k] / cnt[k];
	}
	rc = bia__mask_image(ctx, m, v.w, v.h, 1, 1, &out->gt);
out:
	free(m);
	bia__vol_free(&v);
	return rc;
}

static int base_tretrc(struct bia_ctx *ctx, const struct bia_image *img, struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	int rc = to_float(ctx, img, 0, &v);
	if (rc)
		return rc;
	size_t w = v.w, h = v.h, d = v.d, n = w * h * d;
	size_t bz = d > 1 ? 3 : 1, gw = (w + 2) / 3, gh = (h + 2) / 3, gd = (d + bz - 1) / bz;
	size_t nb = gw * gh * gd;
	double *sx = bia_calloc(nb, sizeof(double) * 4); /* x, y, z, weight */
	long *id = bia_malloc2(nb, sizeof(long)), *par = bia_malloc2(nb, sizeof(long));
	size_t *queue = bia_malloc2(nb, sizeof(size_t)), *order = bia_malloc2(nb, sizeof(size_t));
	uint8_t *seen = bia_calloc(nb, 1);
	if (!sx || !id || !par || !queue || !order || !seen) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (bia__blur(ctx, &v, 1.0, 1.0, d > 1 ? 1.0 : 0)) {
		rc = ctx->rc;
		goto out;
	}
	double med, mad;
	if (robust(v.v, n, &med, &mad)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double thr = med + 4 * (mad > 0 ? mad : 1e-6);
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				float f = v.v[x + w * (y + h * z)];
				if (f <= thr)
					continue;
				size_t b = x / 3 + gw * (y / 3 + gh * (z / bz));
				double wt = f - thr;
				sx[4 * b] += wt * (double)x;
				sx[4 * b + 1] += wt * (double)y;
				sx[4 * b + 2] += wt * (double)z;
				sx[4 * b + 3] += wt;
			}
	/* BFS trees over 26-adjacent foreground blocks, in raster order */
	size_t nn = 0;
	for (size_t b = 0; b < nb; b++) {
		id[b] = -1;
		par[b] = -1;
	}
	for (size_t s = 0; s < nb; s++) {
		if (seen[s] || sx[4 * s + 3] <= 0)
			continue;
		size_t qh = 0, qt = 0, first = nn;
		queue[qt++] = s;
		seen[s] = 1;
		while (qh < qt) {
			size_t b = queue[qh++];
			order[nn++] = b;
			long bx = (long)(b % gw), by = (long)((b / gw) % gh), bzz = (long)(b / (gw * gh));
			for (long dz = -1; dz <= 1; dz++)
				for (long dy = -1; dy <= 1; dy++)
					for (long dx = -1; dx <= 1; dx++) {
						long X = bx + dx, Y = by + dy, Z = bzz + dz;
						if (X < 0 || Y < 0 || Z < 0 || X >= (long)gw || Y >= (long)gh ||
						    Z >= (long)gd)
							continue;
						size_t c = (size_t)X + gw * ((size_t)Y + gh * (size_t)Z);
						if (seen[c] || sx[4 * c + 3] <= 0)
							continue;
						seen[c] = 1;
						par[c] = (long)b;
						queue[qt++] = c;
					}
		}
		if (nn - first < 4)
			nn = first; /* specks are noise */
	}
	out->swc.nodes = bia_calloc(nn ? nn : 1, sizeof(*out->swc.nodes));
	if (!out->swc.nodes) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	out->swc.n = nn;
	for (size_t k = 0; k < nn; k++)
		id[order[k]] = (long)k + 1;
	for (size_t k = 0; k < nn; k++) {
		size_t b = order[k];
		struct bia_swc_node *sn = &out->swc.nodes[k];
		double wt = sx[4 * b + 3];
		sn->id = (int64_t)k + 1;
		sn->type = 3;
		sn->x = floor(sx[4 * b] / wt * 1000 + 0.5) / 1000;
		sn->y = floor(sx[4 * b + 1] / wt * 1000 + 0.5) / 1000;
		sn->z = floor(sx[4 * b + 2] / wt * 1000 + 0.5) / 1000;
		sn->r = 1;
		sn->parent = par[b] >= 0 ? id[par[b]] : -1;
	}
out:
	free(sx);
	free(id);
	free(par);
	free(queue);
	free(order);
	free(seen);
	bia__vol_free(&v);
	return rc;
}

static int base_lootrc(struct bia_ctx *ctx, const struct bia_image *img, struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	int rc = to_float(ctx, img, 0, &v);
	if (rc)
		return rc;
	size_t w = v.w, h = v.h, d = v.d, n = w * h * d;
	uint8_t *m = bia_calloc(n, 1);
	uint32_t *lab = bia_malloc2(n, sizeof(uint32_t));
	double med, mad;
	if (!m || !lab) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (bia__blur(ctx, &v, 1.0, 1.0, d > 1 ? 1.0 : 0)) {
		rc = ctx->rc;
		goto out;
	}
	if (robust(v.v, n, &med, &mad)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	double thr = med + 3 * (mad > 0 ? mad : 1e-6);
	for (size_t z = 0; z < d; z++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				size_t i = x + w * (y + h * z);
				float c = v.v[i];
				if (c <= thr)
					continue;
				size_t pl = w * h;
				int rx = (x == 0 || v.v[i - 1] <= c) && (x + 1 == w || v.v[i + 1] < c);
				int ry = (y == 0 || v.v[i - w] <= c) && (y + 1 == h || v.v[i + w] < c);
				int rz = d == 1 || ((z == 0 || v.v[i - pl] <= c) && (z + 1 == d || v.v[i + pl] < c));
				m[i] = (uint8_t)((rx || ry) && rz);
			}
	long k = bia__components(m, lab, w, h, d, 1);
	if (k < 0 || bia__compact_labels(lab, n, 8) < 0) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		m[i] = lab[i] != 0;
	rc = bia__mask_image(ctx, m, w, h, d, 1, &out->gt);
out:
	free(m);
	free(lab);
	bia__vol_free(&v);
	return rc;
}

static int base_objtrk(struct bia_ctx *ctx, const struct bia_image *img, struct bia_gen_sample *out)
{
	size_t w = img->x, h = img->y, d = img->z, T = img->t, fv = w * h * d;
	uint32_t *lab = bia_calloc(fv * T, sizeof(uint32_t)), *cur = bia_malloc2(fv, sizeof(uint32_t));
	uint64_t *keys = bia_malloc2(fv, sizeof(uint64_t));
	uint32_t *parent_of = NULL, next = 0;
	size_t pcap = 1024;
	int rc = 0;
	parent_of = bia_calloc(pcap, sizeof(uint32_t));
	if (!lab || !cur || !parent_of || !keys) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < T && !rc; t++) {
		struct bia__vol v = {0};
		if (to_float(ctx, img, t, &v)) {
			rc = ctx->rc;
			break;
		}
		long k = segment(ctx, &v, cur, d > 1 ? 20 : 15);
		bia__vol_free(&v);
		if (k < 0) {
			rc = ctx->rc;
			break;
		}
		/* for every component: the previous label it overlaps most */
		uint32_t *best = bia_calloc((size_t)k + 1, sizeof(uint32_t));
		uint32_t *claims = NULL;
		if (!best) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		if (t > 0) {
			/* (component, previous label) pairs of overlapping pixels, sorted,
			 * counted by runs */
			const uint32_t *prev = lab + (t - 1) * fv;
			size_t nov = 0;
			for (size_t i = 0; i < fv; i++)
				if (cur[i] && prev[i])
					keys[nov++] = ((uint64_t)cur[i] << 32) | prev[i];
			qsort(keys, nov, sizeof(uint64_t), cmp_u64);
			uint32_t *bestc = bia_calloc((size_t)k + 1, sizeof(uint32_t));
			for (size_t i = 0; bestc && i < nov;) {
				size_t j = i;
				while (j < nov && keys[j] == keys[i])
					j++;
				uint32_t c = (uint32_t)(keys[i] >> 32), p = (uint32_t)keys[i];
				if ((uint32_t)(j - i) > bestc[c]) {
					bestc[c] = (uint32_t)(j - i);
					best[c] = p;
				}
				i = j;
			}
			free(bestc);
			claims = bia_calloc((size_t)next + 1, sizeof(uint32_t));
			if (claims)
				for (long c = 1; c <= k; c++)
					if (best[c])
						claims[best[c]]++;
		}
		uint32_t *newl = bia_calloc((size_t)k + 1, sizeof(uint32_t));
		if (!newl) {
			free(best);
			free(claims);
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		for (long c = 1; c <= k; c++) {
			uint32_t p = best[c];
			if (p && claims && claims[p] == 1) {
				newl[c] = p;
				continue;
			}
			newl[c] = ++next;
			if (next >= pcap) {
				uint32_t *n2 = realloc(parent_of, 2 * pcap * sizeof(uint32_t));
				if (!n2) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					break;
				}
				memset(n2 + pcap, 0, pcap * sizeof(uint32_t));
				parent_of = n2;
				pcap *= 2;
			}
			parent_of[next] = p; /* several successors: a division */
		}
		uint32_t *fl = lab + t * fv;
		for (size_t i = 0; i < fv; i++)
			fl[i] = cur[i] ? newl[cur[i]] : 0;
		free(best);
		free(claims);
		free(newl);
	}
	if (!rc && (bia__ctc_rebuild(ctx, lab, fv, T, parent_of, next, 0, &out->tracks) ||
		    bia__labels_image(ctx, lab, w, h, d, T, &out->gt)))
		rc = ctx->rc;
out:
	free(lab);
	free(cur);
	free(keys);
	free(parent_of);
	return rc;
}

static int base_prttrk(struct bia_ctx *ctx, const struct bia_gen_opts *o, const struct bia_image *img,
		       struct bia_gen_sample *out)
{
	size_t w = img->x, h = img->y, d = img->z, T = img->t, fv = w * h * d;
	uint32_t *lab = bia_calloc(fv * T, sizeof(uint32_t));
	uint8_t *m = bia_malloc2(fv, 1);
	struct det {
		size_t i;      /* voxel */
		uint32_t id;   /* track */
	} *prev = NULL, *curd = NULL;
	size_t np = 0, nc = 0, cap = 0;
	uint32_t next = 0;
	int rc = 0;
	if (!lab || !m) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	const double rmax = 7;
	for (size_t t = 0; t < T && !rc; t++) {
		struct bia__vol v = {0};
		if (to_float(ctx, img, t, &v) || detect_spots(ctx, &v, fmax(1.0, 0.8 * o->blur), 4, m)) {
			bia__vol_free(&v);
			rc = ctx->rc;
			break;
		}
		bia__vol_free(&v);
		nc = 0;
		for (size_t i = 0; i < fv; i++) {
			if (!m[i])
				continue;
			if (nc + np + 1 >= cap) {
				size_t nc2 = cap ? 2 * cap : 1024;
				void *a = realloc(curd, nc2 * sizeof(*curd)), *b = NULL;
				if (a)
					curd = a;
				b = realloc(prev, nc2 * sizeof(*prev));
				if (b)
					prev = b;
				if (!a || !b) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					break;
				}
				cap = nc2;
			}
			curd[nc].i = i;
			curd[nc].id = 0;
			nc++;
		}
		if (rc)
			break;
		/* greedy: closest pairs first */
		struct pair {
			double d2;
			size_t a, b;
		} *pairs = NULL;
		size_t npair = 0, pcap = 0;
		for (size_t a = 0; a < np; a++) {
			double ax = (double)(prev[a].i % w), ay = (double)((prev[a].i / w) % h),
			       az = (double)(prev[a].i / (w * h));
			for (size_t b = 0; b < nc; b++) {
				double dx = (double)(curd[b].i % w) - ax, dy = (double)((curd[b].i / w) % h) - ay,
				       dz = (double)(curd[b].i / (w * h)) - az;
				double d2 = dx * dx + dy * dy + dz * dz;
				if (d2 > rmax * rmax)
					continue;
				if (npair == pcap) {
					pcap = pcap ? 2 * pcap : 256;
					void *p2 = realloc(pairs, pcap * sizeof(*pairs));
					if (!p2) {
						free(pairs);
						pairs = NULL;
						npair = 0;
						break;
					}
					pairs = p2;
				}
				pairs[npair].d2 = d2;
				pairs[npair].a = a;
				pairs[npair].b = b;
				npair++;
			}
		}
		/* sort by distance (ties: by indices, deterministic) */
		for (size_t i = 1; i < npair; i++) {
			struct pair x = pairs[i];
			size_t j = i;
			while (j > 0 && (pairs[j - 1].d2 > x.d2 ||
					 (pairs[j - 1].d2 == x.d2 &&
					  (pairs[j - 1].a > x.a || (pairs[j - 1].a == x.a && pairs[j - 1].b > x.b))))) {
				pairs[j] = pairs[j - 1];
				j--;
			}
			pairs[j] = x;
		}
		uint8_t *used = bia_calloc(np + 1, 1);
		for (size_t i = 0; used && i < npair; i++) {
			struct pair *p = &pairs[i];
			if (used[p->a] || curd[p->b].id)
				continue;
			used[p->a] = 1;
			curd[p->b].id = prev[p->a].id;
		}
		free(used);
		free(pairs);
		uint32_t *fl = lab + t * fv;
		for (size_t b = 0; b < nc; b++) {
			if (!curd[b].id)
				curd[b].id = ++next;
			fl[curd[b].i] = curd[b].id;
		}
		struct det *sw = prev;
		prev = curd;
		curd = sw;
		np = nc;
	}
	if (!rc) {
		long k = bia__compact_labels(lab, fv * T, 0);
		if (k < 0)
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		else if (k > 65535)
			rc = bia_fail(ctx, BIA_ELIMIT, "too many tracks for 16-bit labels");
		else
			rc = bia__labels_image(ctx, lab, w, h, d, T, &out->gt);
	}
out:
	free(lab);
	free(m);
	free(prev);
	free(curd);
	return rc;
}

/* Moments of a shape: centroid, principal angle, area, third moment along
 * the principal axis (orientation). */
struct moments {
	double cx, cy, ang, area, skew;
};

static void moments_of(const double *x, const double *y, const double *wt, size_t n,
		       struct moments *m)
{
	double s = 0, sx = 0, sy = 0;
	for (size_t i = 0; i < n; i++) {
		s += wt[i];
		sx += wt[i] * x[i];
		sy += wt[i] * y[i];
	}
	m->area = s;
	m->cx = s > 0 ? sx / s : 0;
	m->cy = s > 0 ? sy / s : 0;
	double xx = 0, yy = 0, xy = 0;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - m->cx, dy = y[i] - m->cy;
		xx += wt[i] * dx * dx;
		yy += wt[i] * dy * dy;
		xy += wt[i] * dx * dy;
	}
	m->ang = 0.5 * atan2(2 * xy, xx - yy);
	double c = cos(m->ang), sn = sin(m->ang), k3 = 0;
	for (size_t i = 0; i < n; i++) {
		double u = (x[i] - m->cx) * c + (y[i] - m->cy) * sn;
		k3 += wt[i] * u * u * u;
	}
	m->skew = k3;
}

static int base_lnddet(struct bia_ctx *ctx, const struct bia_gen_opts *o, const struct bia_image *img,
		       struct bia_gen_sample *out)
{
	struct bia__vol v = {0};
	int rc = to_float(ctx, img, 0, &v);
	if (rc)
		return rc;
	size_t w = v.w, h = v.h, n = w * h;
	/* the template's moments, sampled on a fine grid */
	size_t tn = 0, tcap = 400 * 200;
	double *tx = bia_malloc2(tcap, sizeof(double)), *ty = bia_malloc2(tcap, sizeof(double));
	double *tw = bia_malloc2(tcap > n ? tcap : n, sizeof(double));
	double *ix = bia_malloc2(n, sizeof(double)), *iy = bia_malloc2(n, sizeof(double));
	uint8_t *m = bia_calloc(n, 1);
	if (!tx || !ty || !tw || !ix || !iy || !m) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (int a = 0; a < 400; a++)
		for (int b = 0; b < 200; b++) {
			double x = -1.2 + 2.4 * (a + 0.5) / 400, y = -0.6 + 1.2 * (b + 0.5) / 200;
			if (bia__lnddet_inside(x, y)) {
				tx[tn] = x;
				ty[tn] = y;
				tw[tn] = 1;
				tn++;
			}
		}
	struct moments tm, im;
	moments_of(tx, ty, tw, tn, &tm);
	tm.area *= (2.4 / 400) * (1.2 / 200);
	if (bia__blur(ctx, &v, 4.0, 4.0, 0)) { /* veins melt into the membrane */
		rc = ctx->rc;
		goto out;
	}
	double thr = bia__otsu(v.v, n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v.v[i] < thr) { /* the wing is darker than the background */
			ix[k] = (double)(i % w);
			iy[k] = (double)(i / w);
			tw[k] = 1;
			k++;
		}
	moments_of(ix, iy, tw, k, &im);
	double s = tm.area > 0 ? sqrt(im.area / tm.area) : 1;
	/* the principal axis has two directions: the wing lies roughly
	 * horizontal with its hinge on the left (rotations stay within 45 deg) */
	double ang = im.ang - tm.ang;
	while (ang > M_PI / 2)
		ang -= M_PI;
	while (ang <= -M_PI / 2)
		ang += M_PI;
	double c = cos(ang), sn = sin(ang);
	for (int l = 0; l < o->landmarks; l++) {
		double px, py;
		bia__lnddet_template(o->landmarks, l, &px, &py);
		px -= tm.cx;
		py -= tm.cy;
		long x = (long)floor(im.cx + s * (c * px - sn * py) + 0.5);
		long y = (long)floor(im.cy + s * (sn * px + c * py) + 0.5);
		x = x < 0 ? 0 : x >= (long)w ? (long)w - 1 : x;
		y = y < 0 ? 0 : y >= (long)h ? (long)h - 1 : y;
		m[(size_t)x + w * (size_t)y] = (uint8_t)(l + 1);
	}
	rc = bia__mask_image(ctx, m, w, h, 1, 1, &out->gt);
out:
	free(tx);
	free(ty);
	free(tw);
	free(ix);
	free(iy);
	free(m);
	bia__vol_free(&v);
	return rc;
}

int bia_gen_baseline(struct bia_ctx *ctx, const struct bia_gen_opts *o,
		     const struct bia_image *img, struct bia_gen_sample *out)
{
	if (!out->info)
		out->info = json_object();
	switch (o->cls) {
	case BIA_OBJSEG:
		return base_objseg(ctx, img, out);
	case BIA_SPTCNT:
	case BIA_OBJDET:
		return base_spots(ctx, o, img, out);
	case BIA_PIXCLA:
		return base_pixcla(ctx, o, img, out);
	case BIA_TRETRC:
		return base_tretrc(ctx, img, out);
	case BIA_LOOTRC:
		return base_lootrc(ctx, img, out);
	case BIA_OBJTRK:
		return base_objtrk(ctx, img, out);
	case BIA_PRTTRK:
		return base_prttrk(ctx, o, img, out);
	case BIA_LNDDET:
		return base_lnddet(ctx, o, img, out);
	default:
		return bia_fail(ctx, BIA_EINVAL, "unknown problem class");
	}
}
