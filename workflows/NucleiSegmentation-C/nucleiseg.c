/* NucleiSegmentation-C: nuclei instance segmentation (BIAFLOWS ObjSeg) in C,
 * 2D and 3D.
 *
 *   optional background subtraction (grey opening, flat box of bg_radius)
 *   -> separable Gaussian smoothing (sigma)
 *   -> global threshold (Otsu, Li or triangle; + threshold_offset)
 *   -> hole filling, small-object removal (min_size)
 *   -> exact Euclidean distance transform, smoothed (dist_sigma), mixed
 *      with the smoothed intensity (intensity_weight)
 *   -> seeds: regional maxima of the h-maxima transform (dynamic >= h),
 *      optionally thinned to min_distance
 *   -> marker-controlled watershed on -distance restricted to the foreground
 *   -> labels 1..N, uint16 (uint32 beyond 65535 objects).
 *
 * Command line (BIAFLOWS local mode; unknown flags are ignored):
 *   nucleiseg [--sigma S] [--bg_radius R] [--threshold_method otsu|li|triangle]
 *             [--threshold_offset F] [--min_size N] [--h H] [--min_distance D]
 *             [--dist_sigma S] [--intensity_weight W] --infolder IN --outfolder OUT
 * Every IN/<stem>.tif[f] gives OUT/<stem>.tif. An image that cannot be read
 * or written is reported on stderr (naming the file) and skipped; the
 * others are still processed and the exit status is then 1.
 * SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/image.h"
#include "util/util.h"

struct params {
	double sigma, bg_radius, offset, min_size, h, min_distance, dist_sigma, iw;
	int method; /* 0 otsu, 1 li, 2 triangle */
	const char *in, *out;
};

/* ------------------------------------------------------------ volumes */

struct vol {
	size_t w, h, d, n;
};

/* Neighbour offsets: faces only (4 / 6) or full (8 / 26). */
struct nbhood {
	int k;
	int dx[26], dy[26], dz[26];
};

static void nb_init(struct nbhood *nb, const struct vol *v, int full)
{
	nb->k = 0;
	int zr = v->d > 1 ? 1 : 0;
	for (int dz = -zr; dz <= zr; dz++)
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int a = abs(dx) + abs(dy) + abs(dz);
				if (!a || (!full && a > 1))
					continue;
				nb->dx[nb->k] = dx;
				nb->dy[nb->k] = dy;
				nb->dz[nb->k] = dz;
				nb->k++;
			}
}

/* Indices of the in-bounds neighbours of voxel i; returns their number. */
static int nb_of(const struct nbhood *nb, const struct vol *v, size_t i, size_t *out)
{
	long x = (long)(i % v->w), y = (long)((i / v->w) % v->h), z = (long)(i / (v->w * v->h));
	int m = 0;
	for (int k = 0; k < nb->k; k++) {
		long X = x + nb->dx[k], Y = y + nb->dy[k], Z = z + nb->dz[k];
		if (X < 0 || Y < 0 || Z < 0 || X >= (long)v->w || Y >= (long)v->h || Z >= (long)v->d)
			continue;
		out[m++] = (size_t)X + v->w * ((size_t)Y + v->h * (size_t)Z);
	}
	return m;
}

/* Mirror index into 0..n-1. */
static size_t mirror(long i, size_t n)
{
	if (n == 1)
		return 0;
	long p = 2 * (long)n - 2;
	i %= p;
	if (i < 0)
		i += p;
	return (size_t)(i < (long)n ? i : p - i);
}

/* Separable Gaussian of sigma sx (X, Y) and sz (Z), mirrored borders.
 * line: scratch of max(w, h, d) + 2 * radius floats. */
static int gauss(float *f, const struct vol *v, double s, double sz)
{
	double sig[3] = {s, s, v->d > 1 ? sz : 0};
	size_t len[3] = {v->w, v->h, v->d}, stride[3] = {1, v->w, v->w * v->h};
	size_t m = v->w > v->h ? v->w : v->h;
	if (v->d > m)
		m = v->d;
	for (int ax = 0; ax < 3; ax++) {
		if (sig[ax] < 0.2 || len[ax] < 2)
			continue;
		int r = (int)ceil(3.5 * sig[ax]);
		float *k = malloc(((size_t)2 * r + 1) * sizeof(float));
		float *line = malloc((m + 2 * (size_t)r) * sizeof(float));
		if (!k || !line) {
			free(k);
			free(line);
			return -1;
		}
		double sum = 0;
		for (int j = -r; j <= r; j++)
			sum += k[j + r] = (float)exp(-0.5 * j * j / (sig[ax] * sig[ax]));
		for (int j = 0; j <= 2 * r; j++)
			k[j] = (float)(k[j] / sum);
		size_t n = len[ax], st = stride[ax];
		for (size_t start = 0; start < v->n; start++) {
			/* every line starts where its coordinate along ax is 0 */
			if ((start / st) % n)
				continue;
			for (long i = -r; i < (long)n + r; i++)
				line[i + r] = f[start + mirror(i, n) * st];
			for (size_t i = 0; i < n; i++) {
				float acc = 0;
				for (int j = 0; j <= 2 * r; j++)
					acc += k[j] * line[i + (size_t)j];
				f[start + i * st] = acc;
			}
		}
		free(k);
		free(line);
	}
	return 0;
}

/* 1D running minimum (mx = 0) or maximum (mx = 1) over a window of
 * radius r along one axis, for every line; clamped borders (the window
 * is cut at the edges). q: scratch of n indices, tmp of n floats. */
static void minmax_axis(float *f, const struct vol *v, int ax, long r, int mx, size_t *q, float *tmp)
{
	size_t len[3] = {v->w, v->h, v->d}, stride[3] = {1, v->w, v->w * v->h};
	size_t n = len[ax], st = stride[ax];
	if (n < 2 || r < 1)
		return;
	for (size_t start = 0; start < v->n; start++) {
		if ((start / st) % n)
			continue;
		for (size_t i = 0; i < n; i++)
			tmp[i] = f[start + i * st];
		size_t qh = 0, qt = 0; /* monotonic deque of indices */
		size_t next = 0;
		for (size_t i = 0; i < n; i++) {
			size_t hi = i + (size_t)r < n - 1 ? i + (size_t)r : n - 1;
			while (next <= hi) {
				float val = tmp[next];
				while (qt > qh && (mx ? tmp[q[qt - 1]] <= val : tmp[q[qt - 1]] >= val))
					qt--;
				q[qt++] = next++;
			}
			while ((long)q[qh] < (long)i - r)
				qh++;
			f[start + i * st] = tmp[q[qh]];
		}
	}
}

/* Grey opening with a flat box of radius r (X, Y; Z too in 3D). */
static int opening(float *f, const struct vol *v, long r)
{
	size_t m = v->w > v->h ? v->w : v->h;
	if (v->d > m)
		m = v->d;
	size_t *q = malloc(m * sizeof(size_t));
	float *tmp = malloc(m * sizeof(float));
	if (!q || !tmp) {
		free(q);
		free(tmp);
		return -1;
	}
	for (int ax = 0; ax < 3; ax++)
		minmax_axis(f, v, ax, r, 0, q, tmp);
	for (int ax = 0; ax < 3; ax++)
		minmax_axis(f, v, ax, r, 1, q, tmp);
	free(q);
	free(tmp);
	return 0;
}

/* ------------------------------------------------------- thresholds */

#define NBINS 1024

static void histogram(const float *f, size_t n, double *hist, double *plo, double *pstep)
{
	float lo = f[0], hi = f[0];
	for (size_t i = 1; i < n; i++) {
		lo = f[i] < lo ? f[i] : lo;
		hi = f[i] > hi ? f[i] : hi;
	}
	double step = hi > lo ? ((double)hi - lo) / NBINS : 1;
	memset(hist, 0, NBINS * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		long b = (long)((f[i] - lo) / step);
		hist[b < 0 ? 0 : b >= NBINS ? NBINS - 1 : b]++;
	}
	*plo = lo;
	*pstep = step;
}

static double thr_otsu(const double *hist, double lo, double step)
{
	double tot = 0, sum = 0;
	for (int i = 0; i < NBINS; i++) {
		tot += hist[i];
		sum += i * hist[i];
	}
	double wb = 0, sb = 0, best = -1;
	int t = 0;
	for (int i = 0; i < NBINS - 1; i++) {
		wb += hist[i];
		sb += i * hist[i];
		double wf = tot - wb;
		if (wb == 0 || wf == 0)
			continue;
		double mb = sb / wb, mf = (sum - sb) / wf;
		double b = wb * wf * (mb - mf) * (mb - mf);
		if (b > best) {
			best = b;
			t = i;
		}
	}
	return lo + (t + 1) * step;
}

/* Li's minimum cross-entropy threshold (iterative, as skimage). */
static double thr_li(const double *hist, double lo, double step)
{
	double tot = 0, sum = 0;
	for (int i = 0; i < NBINS; i++) {
		tot += hist[i];
		sum += (i + 0.5) * hist[i];
	}
	/* work on values shifted to be positive (bin centres + 1) */
	double t = sum / tot, prev = -1;
	for (int it = 0; it < 1000 && fabs(t - prev) > 0.01; it++) {
		double nb = 0, sb = 0, nf = 0, sf = 0;
		for (int i = 0; i < NBINS; i++) {
			double c = i + 0.5;
			if (c <= t) {
				nb += hist[i];
				sb += (c + 1) * hist[i];
			} else {
				nf += hist[i];
				sf += (c + 1) * hist[i];
			}
		}
		if (nb == 0 || nf == 0)
			break;
		double mb = sb / nb, mf = sf / nf;
		prev = t;
		t = (mf - mb) / (log(mf) - log(mb)) - 1;
	}
	return lo + t * step;
}

/* Zack's triangle threshold (the long tail side of the peak). */
static double thr_triangle(const double *hist, double lo, double step)
{
	int peak = 0, first = -1, last = 0;
	for (int i = 0; i < NBINS; i++) {
		if (hist[i] > hist[peak])
			peak = i;
		if (hist[i] > 0) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	int flip = peak - first > last - peak; /* tail on the left */
	int end = flip ? first : last;
	double px = peak, py = hist[peak], ex = end, ey = hist[end];
	double best = -1;
	int t = peak;
	int a = peak < end ? peak : end, b = peak < end ? end : peak;
	for (int i = a; i <= b; i++) {
		/* distance from (i, hist[i]) to the line peak-end (unnormalised) */
		double dd = fabs((ey - py) * i - (ex - px) * hist[i] + ex * py - ey * px);
		if (dd > best) {
			best = dd;
			t = i;
		}
	}
	return lo + (t + (flip ? 0 : 1)) * step;
}

/* ------------------------------------------------- binary operations */

/* Connected components of mask (faces connectivity) into lab (1..k, raster
 * order of first voxel); sizes[k] returned malloc'd. Returns k or -1. */
static long components(const uint8_t *mask, const struct vol *v, uint32_t *lab, size_t **psizes,
		       size_t *stack)
{
	struct nbhood nb;
	nb_init(&nb, v, 0);
	size_t cap = 64, *sizes = calloc(cap, sizeof(size_t)), nbr[26];
	if (!sizes)
		return -1;
	memset(lab, 0, v->n * sizeof(uint32_t));
	uint32_t k = 0;
	for (size_t s = 0; s < v->n; s++) {
		if (!mask[s] || lab[s])
			continue;
		if (++k >= cap) {
			size_t *s2 = realloc(sizes, 2 * cap * sizeof(size_t));
			if (!s2) {
				free(sizes);
				return -1;
			}
			memset(s2 + cap, 0, cap * sizeof(size_t));
			sizes = s2;
			cap *= 2;
		}
		size_t top = 0;
		stack[top++] = s;
		lab[s] = k;
		while (top) {
			size_t i = stack[--top];
			sizes[k]++;
			int m = nb_of(&nb, v, i, nbr);
			for (int j = 0; j < m; j++)
				if (mask[nbr[j]] && !lab[nbr[j]]) {
					lab[nbr[j]] = k;
					stack[top++] = nbr[j];
				}
		}
	}
	*psizes = sizes;
	return k;
}

/* Fill holes: background components not touching the border. */
static int fill_holes(uint8_t *mask, const struct vol *v, uint32_t *lab, size_t *stack)
{
	uint8_t *bg = malloc(v->n);
	size_t *sizes = NULL;
	if (!bg)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		bg[i] = !mask[i];
	long k = components(bg, v, lab, &sizes, stack);
	if (k < 0) {
		free(bg);
		return -1;
	}
	uint8_t *border = calloc((size_t)k + 1, 1);
	if (!border) {
		free(bg);
		free(sizes);
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (!lab[i])
			continue;
		size_t x = i % v->w, y = (i / v->w) % v->h, z = i / (v->w * v->h);
		if (!x || !y || x + 1 == v->w || y + 1 == v->h || (v->d > 1 && (!z || z + 1 == v->d)))
			border[lab[i]] = 1;
	}
	for (size_t i = 0; i < v->n; i++)
		if (lab[i] && !border[lab[i]])
			mask[i] = 1;
	free(border);
	free(bg);
	free(sizes);
	return 0;
}

/* Remove components smaller than min_size voxels. */
static int remove_small(uint8_t *mask, const struct vol *v, double min_size, uint32_t *lab,
			size_t *stack)
{
	size_t *sizes = NULL;
	long k = components(mask, v, lab, &sizes, stack);
	if (k < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (lab[i] && (double)sizes[lab[i]] < min_size)
			mask[i] = 0;
	free(sizes);
	return 0;
}

/* Exact squared EDT (Felzenszwalb & Huttenlocher) along one line. */
static void dt1(float *f, size_t n, size_t s, size_t *vv, double *zz, double *dd)
{
	size_t k = 0;
	size_t q0 = 0;
	while (q0 < n && isinf(f[q0 * s]))
		q0++;
	if (q0 == n)
		return;
	vv[0] = q0;
	zz[0] = -INFINITY;
	zz[1] = INFINITY;
	for (size_t q = q0 + 1; q < n; q++) {
		double fq = f[q * s];
		if (isinf(fq))
			continue;
		double sx;
		for (;;) {
			size_t p = vv[k];
			double fp = f[p * s];
			sx = ((fq + (double)q * q) - (fp + (double)p * p)) / (2.0 * ((double)q - (double)p));
			if (sx <= zz[k] && k > 0) {
				k--;
				continue;
			}
			break;
		}
		if (sx <= zz[k]) { /* k == 0 */
			vv[0] = q;
			zz[0] = -INFINITY;
			zz[1] = INFINITY;
			continue;
		}
		k++;
		vv[k] = q;
		zz[k] = sx;
		zz[k + 1] = INFINITY;
	}
	k = 0;
	for (size_t q = 0; q < n; q++) {
		while (zz[k + 1] < (double)q)
			k++;
		double dq = (double)q - (double)vv[k];
		dd[q] = dq * dq + f[vv[k] * s];
	}
	for (size_t q = 0; q < n; q++)
		f[q * s] = (float)dd[q];
}

/* dist[i] = Euclidean distance from a foreground voxel to the nearest
 * background voxel (0 on the background). The image border is not
 * background: a nucleus cut by the border keeps its centre inside. */
static int edt(const uint8_t *mask, const struct vol *v, float *dist)
{
	size_t m = v->w > v->h ? v->w : v->h;
	if (v->d > m)
		m = v->d;
	size_t *vv = malloc(m * sizeof(size_t));
	double *zz = malloc((m + 1) * sizeof(double)), *dd = malloc(m * sizeof(double));
	if (!vv || !zz || !dd) {
		free(vv);
		free(zz);
		free(dd);
		return -1;
	}
	for (size_t i = 0; i < v->n; i++)
		dist[i] = mask[i] ? INFINITY : 0.0f;
	size_t len[3] = {v->w, v->h, v->d}, stride[3] = {1, v->w, v->w * v->h};
	for (int ax = 0; ax < 3; ax++) {
		if (len[ax] < 2)
			continue;
		for (size_t start = 0; start < v->n; start++)
			if (!((start / stride[ax]) % len[ax]))
				dt1(dist + start, len[ax], stride[ax], vv, zz, dd);
	}
	for (size_t i = 0; i < v->n; i++)
		dist[i] = isinf(dist[i]) ? (float)(v->w + v->h + v->d) : sqrtf(dist[i]);
	free(vv);
	free(zz);
	free(dd);
	return 0;
}

/* ------------------------------------------------------- priority queue */

/* Max-heap of (key, sequence number, voxel): larger key first, then
 * first-in first-out, so results never depend on the heap's internals. */
struct hent {
	float key;
	uint64_t seq;
	size_t i;
};
struct heap {
	struct hent *a;
	size_t n, cap;
	uint64_t seq;
};

static int before(const struct hent *x, const struct hent *y)
{
	return x->key > y->key || (x->key == y->key && x->seq < y->seq);
}

static int heap_push(struct heap *hp, float key, size_t i)
{
	if (hp->n == hp->cap) {
		size_t c = hp->cap ? 2 * hp->cap : 1024;
		struct hent *a = realloc(hp->a, c * sizeof(*a));
		if (!a)
			return -1;
		hp->a = a;
		hp->cap = c;
	}
	struct hent e = {key, hp->seq++, i};
	size_t k = hp->n++;
	while (k > 0) {
		size_t p = (k - 1) / 2;
		if (!before(&e, &hp->a[p]))
			break;
		hp->a[k] = hp->a[p];
		k = p;
	}
	hp->a[k] = e;
	return 0;
}

static struct hent heap_pop(struct heap *hp)
{
	struct hent top = hp->a[0], last = hp->a[--hp->n];
	size_t k = 0;
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= hp->n)
			break;
		if (c + 1 < hp->n && before(&hp->a[c + 1], &hp->a[c]))
			c++;
		if (!before(&hp->a[c], &last))
			break;
		hp->a[k] = hp->a[c];
		k = c;
	}
	if (hp->n)
		hp->a[k] = last;
	return top;
}

/* ------------------------------------------------------ seeds, watershed */

/* Morphological reconstruction by dilation of marker under f within mask
 * (in place on marker), full connectivity. */
static int reconstruct(float *marker, const float *f, const uint8_t *mask, const struct vol *v)
{
	struct nbhood nb;
	nb_init(&nb, v, 1);
	struct heap hp = {0};
	size_t nbr[26];
	uint8_t *done = calloc(v->n, 1);
	if (!done)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (mask[i] && heap_push(&hp, marker[i], i))
			goto fail;
	while (hp.n) {
		struct hent e = heap_pop(&hp);
		if (done[e.i] || e.key < marker[e.i])
			continue;
		done[e.i] = 1;
		int m = nb_of(&nb, v, e.i, nbr);
		for (int j = 0; j < m; j++) {
			size_t q = nbr[j];
			if (!mask[q] || done[q])
				continue;
			float val = fminf(marker[e.i], f[q]);
			if (val > marker[q]) {
				marker[q] = val;
				if (heap_push(&hp, val, q))
					goto fail;
			}
		}
	}
	free(hp.a);
	free(done);
	return 0;
fail:
	free(hp.a);
	free(done);
	return -1;
}

/* Seeds = regional maxima (plateaus of equal value without a higher
 * neighbour, inside the mask) of the h-maxima transform of dist, labelled
 * 1..k in seeds; those closer than min_distance to a higher seed are
 * dropped. Returns k or -1. */
static long find_seeds(const float *dist, const uint8_t *mask, const struct vol *v, double h,
		       double min_distance, uint32_t *seeds, size_t *stack)
{
	float *rec = malloc(v->n * sizeof(float));
	if (!rec)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		rec[i] = mask[i] ? dist[i] - (float)(h > 0 ? h : 0) : 0;
	if (h > 0 && reconstruct(rec, dist, mask, v)) {
		free(rec);
		return -1;
	}
	if (h <= 0)
		memcpy(rec, dist, v->n * sizeof(float));
	struct nbhood nb;
	nb_init(&nb, v, 1);
	size_t nbr[26];
	memset(seeds, 0, v->n * sizeof(uint32_t));
	uint8_t *seen = calloc(v->n, 1);
	struct peak {
		float val;
		double c[3];
		uint32_t lab;
	} *pk = NULL;
	size_t npk = 0, pcap = 0;
	long k = 0;
	if (!seen)
		goto fail;
	for (size_t s = 0; s < v->n; s++) {
		if (!mask[s] || seen[s])
			continue;
		/* flood the plateau of s */
		size_t top = 0, cnt = 0;
		int is_max = 1;
		stack[top++] = s;
		seen[s] = 1;
		/* the stack is used as a list (head walks forward) so the
		 * plateau's voxels stay recorded for labelling */
		size_t head = 0;
		double cx = 0, cy = 0, cz = 0;
		while (head < top) {
			size_t i = stack[head++];
			cnt++;
			cx += (double)(i % v->w);
			cy += (double)((i / v->w) % v->h);
			cz += (double)(i / (v->w * v->h));
			int m = nb_of(&nb, v, i, nbr);
			for (int j = 0; j < m; j++) {
				size_t q = nbr[j];
				if (!mask[q])
					continue;
				if (rec[q] > rec[s])
					is_max = 0;
				else if (rec[q] == rec[s] && !seen[q]) {
					seen[q] = 1;
					stack[top++] = q;
				}
			}
		}
		if (!is_max)
			continue;
		k++;
		for (size_t j = 0; j < top; j++)
			seeds[stack[j]] = (uint32_t)k;
		if (npk == pcap) {
			pcap = pcap ? 2 * pcap : 256;
			void *p2 = realloc(pk, pcap * sizeof(*pk));
			if (!p2)
				goto fail;
			pk = p2;
		}
		float best = -INFINITY;
		for (size_t j = 0; j < top; j++)
			best = dist[stack[j]] > best ? dist[stack[j]] : best;
		pk[npk].val = best;
		pk[npk].c[0] = cx / (double)cnt;
		pk[npk].c[1] = cy / (double)cnt;
		pk[npk].c[2] = cz / (double)cnt;
		pk[npk].lab = (uint32_t)k;
		npk++;
	}
	if (min_distance > 0 && npk > 1) {
		/* highest first (ties: lower label), drop seeds near a kept one */
		uint8_t *drop = calloc(npk + 1, 1);
		size_t *ord = malloc(npk * sizeof(size_t));
		if (!drop || !ord) {
			free(drop);
			free(ord);
			goto fail;
		}
		for (size_t i = 0; i < npk; i++) {
			size_t j = i;
			while (j > 0 && (pk[ord[j - 1]].val < pk[i].val))
				j--;
			memmove(ord + j + 1, ord + j, (i - j) * sizeof(size_t));
			ord[j] = i;
		}
		for (size_t a = 0; a < npk; a++) {
			if (drop[pk[ord[a]].lab])
				continue;
			for (size_t b = a + 1; b < npk; b++) {
				const struct peak *p = &pk[ord[a]], *q = &pk[ord[b]];
				double dx = p->c[0] - q->c[0], dy = p->c[1] - q->c[1], dz = p->c[2] - q->c[2];
				if (dx * dx + dy * dy + dz * dz < min_distance * min_distance)
					drop[q->lab] = 1;
			}
		}
		uint32_t *newl = calloc(npk + 1, sizeof(uint32_t));
		if (!newl) {
			free(drop);
			free(ord);
			goto fail;
		}
		uint32_t nk = 0;
		for (size_t l = 1; l <= npk; l++)
			newl[l] = drop[l] ? 0 : ++nk;
		for (size_t i = 0; i < v->n; i++)
			seeds[i] = newl[seeds[i]];
		k = nk;
		free(newl);
		free(drop);
		free(ord);
	}
	free(pk);
	free(seen);
	free(rec);
	return k;
fail:
	free(pk);
	free(seen);
	free(rec);
	return -1;
}

/* Marker-controlled watershed: flood from the seeds in decreasing dist,
 * inside mask (faces connectivity). lab holds the seeds on entry. A
 * foreground component without a seed becomes its own object. Returns
 * the number of labels or -1. */
static long watershed(const float *dist, const uint8_t *mask, const struct vol *v, uint32_t *lab,
		      long k, size_t *stack)
{
	struct nbhood nb;
	nb_init(&nb, v, 0);
	struct heap hp = {0};
	size_t nbr[26];
	for (size_t i = 0; i < v->n; i++)
		if (lab[i] && heap_push(&hp, dist[i], i))
			goto fail;
	while (hp.n) {
		struct hent e = heap_pop(&hp);
		int m = nb_of(&nb, v, e.i, nbr);
		for (int j = 0; j < m; j++) {
			size_t q = nbr[j];
			if (!mask[q] || lab[q])
				continue;
			lab[q] = lab[e.i];
			if (heap_push(&hp, dist[q], q))
				goto fail;
		}
	}
	free(hp.a);
	/* unseeded components */
	for (size_t s = 0; s < v->n; s++) {
		if (!mask[s] || lab[s])
			continue;
		size_t top = 0;
		lab[s] = (uint32_t)++k;
		stack[top++] = s;
		while (top) {
			size_t i = stack[--top];
			int m = nb_of(&nb, v, i, nbr);
			for (int j = 0; j < m; j++)
				if (mask[nbr[j]] && !lab[nbr[j]]) {
					lab[nbr[j]] = (uint32_t)k;
					stack[top++] = nbr[j];
				}
		}
	}
	return k;
fail:
	free(hp.a);
	return -1;
}

/* ------------------------------------------------------------ one volume */

/* Segment f (w*h*d floats, overwritten) into lab. Returns objects or -1. */
static long segment(float *f, const struct vol *v, const struct params *p, uint32_t *lab)
{
	long k = -1;
	uint8_t *mask = malloc(v->n);
	float *dist = malloc(v->n * sizeof(float)), *bg = NULL;
	size_t *stack = malloc(v->n * sizeof(size_t));
	double hist[NBINS], lo, step;
	if (!mask || !dist || !stack)
		goto out;
	if (p->bg_radius >= 1) {
		if (!(bg = malloc(v->n * sizeof(float))))
			goto out;
		memcpy(bg, f, v->n * sizeof(float));
		if (opening(bg, v, (long)p->bg_radius) || gauss(bg, v, p->bg_radius / 2, p->bg_radius / 2))
			goto out;
		for (size_t i = 0; i < v->n; i++)
			f[i] -= bg[i];
	}
	if (gauss(f, v, p->sigma, p->sigma))
		goto out;
	histogram(f, v->n, hist, &lo, &step);
	double thr = p->method == 1 ? thr_li(hist, lo, step)
		   : p->method == 2 ? thr_triangle(hist, lo, step)
				    : thr_otsu(hist, lo, step);
	thr += p->offset * step * NBINS;
	for (size_t i = 0; i < v->n; i++)
		mask[i] = f[i] > thr;
	if (fill_holes(mask, v, lab, stack) || remove_small(mask, v, p->min_size, lab, stack))
		goto out;
	if (edt(mask, v, dist))
		goto out;
	if (p->dist_sigma > 0) {
		if (gauss(dist, v, p->dist_sigma, p->dist_sigma))
			goto out;
		for (size_t i = 0; i < v->n; i++)
			if (!mask[i])
				dist[i] = 0;
	}
	if (p->iw > 0) {
		float dmax = 0, imax = (float)thr;
		for (size_t i = 0; i < v->n; i++)
			if (mask[i]) {
				dmax = dist[i] > dmax ? dist[i] : dmax;
				imax = f[i] > imax ? f[i] : imax;
			}
		double sc = imax > thr ? dmax / (imax - thr) : 0;
		for (size_t i = 0; i < v->n; i++)
			if (mask[i])
				dist[i] = (float)((1 - p->iw) * dist[i] + p->iw * sc * (f[i] - thr));
	}
	k = find_seeds(dist, mask, v, p->h, p->min_distance, lab, stack);
	if (k >= 0)
		k = watershed(dist, mask, v, lab, k, stack);
out:
	free(mask);
	free(dist);
	free(bg);
	free(stack);
	return k;
}

/* ------------------------------------------------------------- files */

static int has_tiff_ext(const char *name, size_t *pstem)
{
	size_t n = strlen(name);
	const char *exts[] = {".ome.tiff", ".ome.tif", ".tiff", ".tif"};
	for (size_t e = 0; e < 4; e++) {
		size_t m = strlen(exts[e]);
		if (n > m && !strcasecmp(name + n - m, exts[e])) {
			*pstem = n - m;
			return 1;
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Process one file; 0 on success, -1 after printing why not. */
static int process(struct bia_ctx *ctx, const struct params *p, const char *name, size_t stemlen)
{
	char in[4096], out[4096];
	snprintf(in, sizeof in, "%s/%s", p->in, name);
	snprintf(out, sizeof out, "%s/%.*s.tif", p->out, (int)stemlen, name);
	struct bia_image img, res;
	bia_image_init(&img);
	bia_image_init(&res);
	bia_ctx_clear(ctx);
	if (bia_image_read(ctx, in, NULL, &img)) {
		fprintf(stderr, "nucleiseg: %s\n", ctx->msg); /* the message names the file */
		return -1;
	}
	struct vol v = {img.x, img.y, img.z, img.x * img.y * img.z};
	float *f = malloc(v.n * sizeof(float));
	uint32_t *lab = malloc(v.n * img.t * sizeof(uint32_t));
	long total = 0, maxk = 0;
	int rc = -1;
	if (!f || !lab) {
		fprintf(stderr, "nucleiseg: '%s': out of memory\n", in);
		goto done;
	}
	for (size_t t = 0; t < img.t; t++) {
		for (size_t z = 0; z < img.z; z++)
			for (size_t i = 0; i < img.x * img.y; i++) {
				size_t x = i % img.x, y = i / img.x;
				double s;
				if (img.c >= 3)
					s = 0.299 * bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t)) +
					    0.587 * bia_image_get(&img, bia_image_index(&img, x, y, z, 1, t)) +
					    0.114 * bia_image_get(&img, bia_image_index(&img, x, y, z, 2, t));
				else
					s = bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t));
				f[z * img.x * img.y + i] = (float)s;
			}
		long k = segment(f, &v, p, lab + t * v.n);
		if (k < 0) {
			fprintf(stderr, "nucleiseg: '%s': out of memory\n", in);
			goto done;
		}
		total += k;
		maxk = k > maxk ? k : maxk;
	}
	if (bia_image_alloc(ctx, &res, img.x, img.y, img.z, 1, img.t, maxk > 65535 ? BIA_U32 : BIA_U16)) {
		fprintf(stderr, "nucleiseg: '%s': %s\n", in, ctx->msg);
		goto done;
	}
	for (size_t i = 0; i < v.n * img.t; i++) {
		if (res.dtype == BIA_U16)
			((uint16_t *)res.data)[i] = (uint16_t)lab[i];
		else
			((uint32_t *)res.data)[i] = lab[i];
	}
	if (bia_image_write_tiff(ctx, &res, out, NULL)) {
		fprintf(stderr, "nucleiseg: %s\n", ctx->msg);
		goto done;
	}
	char shape[64];
	bia_image_shape_str(&img, shape, sizeof shape);
	fprintf(stderr, "nucleiseg: %s (%s): %ld nuclei\n", name, shape, total);
	rc = 0;
done:
	free(f);
	free(lab);
	bia_image_release(&img);
	bia_image_release(&res);
	return rc;
}

static int num_arg(const char *flag, const char *val, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(val, &end);
	if (errno || end == val || *end || !isfinite(d) || d < lo || d > hi) {
		fprintf(stderr, "nucleiseg: %s: '%s' is not a number in [%g, %g]\n", flag, val, lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

int main(int argc, char **argv)
{
	struct params p = {.sigma = 1.0, .bg_radius = 0, .offset = 0, .min_size = 30, .h = 0.5, .iw = 0.1,
			   .min_distance = 0, .dist_sigma = 1.0, .method = 0, .in = NULL, .out = NULL};
	static const struct {
		const char *flag;
		size_t off;
		double lo, hi;
	} nums[] = {
		{"--sigma", offsetof(struct params, sigma), 0, 20},
		{"--bg_radius", offsetof(struct params, bg_radius), 0, 500},
		{"--threshold_offset", offsetof(struct params, offset), -1, 1},
		{"--min_size", offsetof(struct params, min_size), 0, 1e9},
		{"--h", offsetof(struct params, h), 0, 1000},
		{"--min_distance", offsetof(struct params, min_distance), 0, 1000},
		{"--dist_sigma", offsetof(struct params, dist_sigma), 0, 20},
		{"--intensity_weight", offsetof(struct params, iw), 0, 1},
	};
	for (int a = 1; a < argc; a++) {
		const char *f = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
		int known = 0;
		for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
			if (!strcmp(f, nums[k].flag)) {
				known = 1;
				if (!val || num_arg(f, val, nums[k].lo, nums[k].hi,
						    (double *)((char *)&p + nums[k].off)))
					return 2;
			}
		if (!known && !strcmp(f, "--threshold_method")) {
			known = 1;
			if (!val)
				return 2;
			if (!strcasecmp(val, "otsu"))
				p.method = 0;
			else if (!strcasecmp(val, "li"))
				p.method = 1;
			else if (!strcasecmp(val, "triangle"))
				p.method = 2;
			else {
				fprintf(stderr, "nucleiseg: --threshold_method: '%s' is not otsu, li or triangle\n", val);
				return 2;
			}
		}
		if (!known && (!strcmp(f, "--infolder") || !strcmp(f, "--outfolder"))) {
			known = 1;
			if (!val)
				return 2;
			*(f[2] == 'i' ? &p.in : &p.out) = val;
		}
		if (known)
			a++; /* value consumed; anything else is ignored */
	}
	if (!p.in || !p.out) {
		fprintf(stderr, "usage: nucleiseg [--sigma S] [--bg_radius R] [--threshold_method otsu|li|triangle]\n"
				"  [--threshold_offset F] [--min_size N] [--h H] [--min_distance D] [--dist_sigma S]\n"
				"  [--intensity_weight W]\n"
				"  --infolder IN --outfolder OUT\n");
		return 2;
	}
	if (mkdir(p.out, 0777) && errno != EEXIST) {
		fprintf(stderr, "nucleiseg: cannot create output folder '%s': %s\n", p.out, strerror(errno));
		return 1;
	}
	DIR *dir = opendir(p.in);
	if (!dir) {
		fprintf(stderr, "nucleiseg: cannot open input folder '%s': %s\n", p.in, strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t stem;
		if (de->d_name[0] == '.' || !has_tiff_ext(de->d_name, &stem))
			continue;
		if (nn == cap) {
			cap = cap ? 2 * cap : 64;
			char **n2 = realloc(names, cap * sizeof(char *));
			if (!n2)
				break;
			names = n2;
		}
		if (!(names[nn] = strdup(de->d_name)))
			break;
		nn++;
	}
	closedir(dir);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_str);
	fprintf(stderr, "nucleiseg: %zu image(s); sigma=%g bg_radius=%g threshold=%s%+g min_size=%g h=%g "
			"min_distance=%g dist_sigma=%g intensity_weight=%g\n",
		nn, p.sigma, p.bg_radius, p.method == 1 ? "li" : p.method == 2 ? "triangle" : "otsu", p.offset,
		p.min_size, p.h, p.min_distance, p.dist_sigma, p.iw);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	int failed = 0;
	for (size_t i = 0; i < nn; i++) {
		size_t stem;
		has_tiff_ext(names[i], &stem);
		if (process(&ctx, &p, names[i], stem))
			failed++;
		free(names[i]);
	}
	free(names);
	if (failed)
		fprintf(stderr, "nucleiseg: %d of %zu image(s) failed\n", failed, nn);
	return failed ? 1 : 0;
}
