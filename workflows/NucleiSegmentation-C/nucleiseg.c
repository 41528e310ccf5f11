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
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics/metrics.h"
#include "wfkit/wfkit.h"

struct params {
	double sigma, bg_radius, offset, min_size, h, min_distance, dist_sigma, iw;
	int method; /* 0 otsu, 1 li, 2 triangle */
};

/* ------------------------------------------------------------ volumes */

/* Neighbour offsets: faces only (4 / 6) or full (8 / 26). */
struct nbhood {
	int k;
	int dx[26], dy[26], dz[26];
};

static void nb_init(struct nbhood *nb, const struct bia_wf_vol *v, int full)
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
static int nb_of(const struct nbhood *nb, const struct bia_wf_vol *v, size_t i, size_t *out)
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

/* 1D running minimum (mx = 0) or maximum (mx = 1) over a window of
 * radius r along one axis, for every line; clamped borders (the window
 * is cut at the edges). q: scratch of n indices, tmp of n floats. */
static void minmax_axis(float *f, const struct bia_wf_vol *v, int ax, long r, int mx, size_t *q, float *tmp)
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
static int opening(float *f, const struct bia_wf_vol *v, long r)
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
static long components(const uint8_t *mask, const struct bia_wf_vol *v, uint32_t *lab, size_t **psizes,
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
static int fill_holes(uint8_t *mask, const struct bia_wf_vol *v, uint32_t *lab, size_t *stack)
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
static int remove_small(uint8_t *mask, const struct bia_wf_vol *v, double min_size, uint32_t *lab,
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

/* dist[i] = Euclidean distance from a foreground voxel to the nearest
 * background voxel (0 on the background). The image border is not
 * background: a nucleus cut by the border keeps its centre inside. */
static int edt(const uint8_t *mask, const struct bia_wf_vol *v, float *dist)
{
	uint8_t *bg = malloc(v->n);
	if (!bg)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		bg[i] = !mask[i];
	int rc = bia_edt_sq(bg, v->w, v->h, v->d, dist);
	free(bg);
	if (rc)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		dist[i] = isinf(dist[i]) ? (float)(v->w + v->h + v->d) : sqrtf(dist[i]);
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
static int reconstruct(float *marker, const float *f, const uint8_t *mask, const struct bia_wf_vol *v)
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
static long find_seeds(const float *dist, const uint8_t *mask, const struct bia_wf_vol *v, double h,
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
static long watershed(const float *dist, const uint8_t *mask, const struct bia_wf_vol *v, uint32_t *lab,
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
static long segment(float *f, const struct bia_wf_vol *v, const void *params, uint32_t *lab)
{
	const struct params *p = params;
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
		if (opening(bg, v, (long)p->bg_radius) || bia_wf_gauss(bg, v, p->bg_radius / 2, p->bg_radius / 2))
			goto out;
		for (size_t i = 0; i < v->n; i++)
			f[i] -= bg[i];
	}
	if (bia_wf_gauss(f, v, p->sigma, p->sigma))
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
		if (bia_wf_gauss(dist, v, p->dist_sigma, p->dist_sigma))
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

static int method_flag(void *params, const char *flag, const char *val)
{
	struct params *p = params;
	if (strcmp(flag, "--threshold_method"))
		return 0;
	if (!val)
		return -1;
	if (!strcasecmp(val, "otsu"))
		p->method = 0;
	else if (!strcasecmp(val, "li"))
		p->method = 1;
	else if (!strcasecmp(val, "triangle"))
		p->method = 2;
	else {
		fprintf(stderr, "nucleiseg: --threshold_method: '%s' is not otsu, li or triangle\n", val);
		return -1;
	}
	return 1;
}

static void describe(const void *params, FILE *f)
{
	const struct params *p = params;
	fprintf(f, "sigma=%g bg_radius=%g threshold=%s%+g min_size=%g h=%g min_distance=%g dist_sigma=%g "
		   "intensity_weight=%g",
		p->sigma, p->bg_radius, p->method == 1 ? "li" : p->method == 2 ? "triangle" : "otsu", p->offset,
		p->min_size, p->h, p->min_distance, p->dist_sigma, p->iw);
}

int main(int argc, char **argv)
{
	struct params p = {.sigma = 1.0, .bg_radius = 0, .offset = 0, .min_size = 30, .h = 0.5, .iw = 0.1,
			   .min_distance = 0, .dist_sigma = 1.0, .method = 0};
	static const struct bia_wf_num nums[] = {
		{"--sigma", offsetof(struct params, sigma), 0, 20},
		{"--bg_radius", offsetof(struct params, bg_radius), 0, 500},
		{"--threshold_offset", offsetof(struct params, offset), -1, 1},
		{"--min_size", offsetof(struct params, min_size), 0, 1e9},
		{"--h", offsetof(struct params, h), 0, 1000},
		{"--min_distance", offsetof(struct params, min_distance), 0, 1000},
		{"--dist_sigma", offsetof(struct params, dist_sigma), 0, 20},
		{"--intensity_weight", offsetof(struct params, iw), 0, 1},
	};
	const struct bia_wf_prog prog = {
		.name = "nucleiseg",
		.options = "[--sigma S] [--bg_radius R] [--threshold_method otsu|li|triangle]\n"
			   "  [--threshold_offset F] [--min_size N] [--h H] [--min_distance D] [--dist_sigma S]\n"
			   "  [--intensity_weight W]",
		.noun = "nuclei",
		.dtype = BIA_U16,
		.params = &p,
		.nums = nums,
		.nnums = sizeof nums / sizeof nums[0],
		.flag = method_flag,
		.describe = describe,
		.frame = segment,
	};
	return bia_wf_main(argc, argv, &prog);
}
