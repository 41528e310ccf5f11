/* OME-Zarr v0.4 pyramids: a band-by-band builder (levels halving X and Y,
 * mean for intensities, mode for labels), metadata (multiscales, omero,
 * image-label), verification and region reads.
 * SPDX-License-Identifier: MIT */
#include "image/pyramid.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "util/util.h"

#define SAMPLE_CAP (1u << 18) /* samples per channel kept for the window */
#define MAX_COLORS 65536      /* label colours listed in image-label */

/* ------------------------------------------------------------ colours */

uint32_t bia_label_color(int64_t id)
{
	if (id == 0)
		return 0;
	/* golden-ratio hue walk: neighbouring ids get distant hues */
	double c[3];
	bia_hsv_rgb((double)(uint64_t)id * 0.618033988749895, 0.75, 0.95, c);
	return ((uint32_t)lround(c[0] * 255) << 16) | ((uint32_t)lround(c[1] * 255) << 8) |
	       (uint32_t)lround(c[2] * 255);
}

/* ------------------------------------------------------------ samples */

static double get_s(enum bia_dtype t, const void *p, size_t i)
{
	switch (t) {
	case BIA_U8: return ((const uint8_t *)p)[i];
	case BIA_U16: return ((const uint16_t *)p)[i];
	case BIA_U32: return ((const uint32_t *)p)[i];
	case BIA_I32: return ((const int32_t *)p)[i];
	default: return ((const float *)p)[i];
	}
}

static const char *zarr_dtype(enum bia_dtype t)
{
	switch (t) {
	case BIA_U8: return "|u1";
	case BIA_U16: return "<u2";
	case BIA_U32: return "<u4";
	case BIA_I32: return "<i4";
	default: return "<f4";
	}
}

static enum bia_dtype parse_zarr_dtype(const char *s)
{
	if (!strcmp(s, "|u1"))
		return BIA_U8;
	if (!strcmp(s, "<u2"))
		return BIA_U16;
	if (!strcmp(s, "<u4"))
		return BIA_U32;
	if (!strcmp(s, "<i4"))
		return BIA_I32;
	if (!strcmp(s, "<f4"))
		return BIA_F32;
	return 0;
}

/* Downsample rows of one channel by 2 in X and Y: mean (rounded for
 * integers) or mode of the up-to-4 source samples (ties: the first, so ids
 * are never blended). */
#define DOWN(T, ISF)                                                                        \
	static void down_##T(const void *sv, size_t sw, size_t sh, void *dv, size_t dw,       \
			     int mode)                                                        \
	{                                                                                     \
		const T *s = sv;                                                              \
		T *d = dv;                                                                    \
		for (size_t y = 0; y < (sh + 1) / 2; y++) {                                   \
			const T *r0 = s + 2 * y * sw;                                         \
			const T *r1 = 2 * y + 1 < sh ? r0 + sw : NULL;                        \
			for (size_t x = 0; x < dw; x++) {                                     \
				size_t x0 = 2 * x, x1 = 2 * x + 1 < sw ? 2 * x + 1 : SIZE_MAX; \
				T v[4];                                                       \
				int n = 0;                                                    \
				v[n++] = r0[x0];                                              \
				if (x1 != SIZE_MAX)                                           \
					v[n++] = r0[x1];                                      \
				if (r1) {                                                     \
					v[n++] = r1[x0];                                      \
					if (x1 != SIZE_MAX)                                   \
						v[n++] = r1[x1];                              \
				}                                                             \
				if (mode) {                                                   \
					T best = v[0];                                        \
					int bc = 0;                                           \
					for (int i = 0; i < n; i++) {                         \
						int cnt = 0;                                  \
						for (int j = 0; j < n; j++)                   \
							cnt += v[j] == v[i];                  \
						if (cnt > bc)                                 \
							bc = cnt, best = v[i];                \
					}                                                     \
					d[y * dw + x] = best;                                 \
				} else if (ISF) {                                             \
					double a = 0;                                         \
					for (int i = 0; i < n; i++)                           \
						a += (double)v[i];                            \
					d[y * dw + x] = (T)(a / n);                           \
				} else {                                                      \
					double a = 0;                                         \
					for (int i = 0; i < n; i++)                           \
						a += (double)v[i];                            \
					d[y * dw + x] = (T)floor(a / n + 0.5);                \
				}                                                             \
			}                                                                     \
		}                                                                             \
	}
DOWN(uint8_t, 0)
DOWN(uint16_t, 0)
DOWN(uint32_t, 0)
DOWN(int32_t, 0)
DOWN(float, 1)

/* Fast path: the rounded mean of 2 x 2 of u8/u16 without the generic loop. */
#define DOWN_MEAN(T)                                                                       \
	static void down_mean_##T(const T *s, size_t sw, size_t sh, T *d, size_t dw)        \
	{                                                                                   \
		size_t full = sw / 2;                                                       \
		for (size_t y = 0; y < (sh + 1) / 2; y++) {                                 \
			const T *r0 = s + 2 * y * sw;                                       \
			const T *r1 = 2 * y + 1 < sh ? r0 + sw : r0;                        \
			T *o = d + y * dw;                                                  \
			for (size_t x = 0; x < full; x++)                                   \
				o[x] = (T)(((uint32_t)r0[2 * x] + r0[2 * x + 1] + r1[2 * x] +   \
					    r1[2 * x + 1] + 2) >> 2);                             \
			if (full < dw)                                                      \
				o[full] = (T)(((uint32_t)r0[2 * full] + r1[2 * full] + 1) >> 1); \
		}                                                                           \
	}
DOWN_MEAN(uint8_t)
DOWN_MEAN(uint16_t)

static void downsample(enum bia_dtype t, const void *s, size_t sw, size_t sh, void *d,
		       size_t dw, int mode)
{
	switch (t) {
	case BIA_U8:
		if (!mode)
			down_mean_uint8_t(s, sw, sh, d, dw);
		else
			down_uint8_t(s, sw, sh, d, dw, mode);
		break;
	case BIA_U16:
		if (!mode)
			down_mean_uint16_t(s, sw, sh, d, dw);
		else
			down_uint16_t(s, sw, sh, d, dw, mode);
		break;
	case BIA_U32: down_uint32_t(s, sw, sh, d, dw, mode); break;
	case BIA_I32: down_int32_t(s, sw, sh, d, dw, mode); break;
	default: down_float(s, sw, sh, d, dw, mode); break;
	}
}

/* ------------------------------------------------------------ builder */

struct level {
	size_t w, h;	   /* size of this level */
	unsigned char *buf; /* chunk rows x w x C samples: [c][row][x] */
	size_t rows;	   /* rows filled */
	size_t row0;	   /* level row of buf's first row */
};

struct chstat {
	double min, max;
	uint64_t *hist;	/* 8/16-bit: a count of every value (exact percentiles) */
	double *sample; /* else: up to SAMPLE_CAP, strided */
	size_t n;
	uint64_t skip;	/* samples to skip before the next pick */
};

struct build {
	struct bia_ctx *ctx;
	const struct bia_band_src *src;
	const struct bia_pyramid_opts *o;
	char tmp[BIA_PATH_MAX];
	unsigned chunk;
	size_t es, nlev;
	struct level lv[BIA_PYRAMID_MAX_LEVELS];
	int zlevel;
	struct chstat *st;
	uint64_t stride;
	/* label ids seen (open addressing, 0 = empty slot) */
	int64_t *ids;
	size_t nids, idcap;
	int ids_full;
	uint64_t done, total;
	struct pool *pool;
};

static int mkdir_one(struct bia_ctx *ctx, const char *p)
{
	if (mkdir(p, 0755) && errno != EEXIST)
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", p, strerror(errno));
	return 0;
}

/* What one thread needs to compress chunks. */
struct wbuf {
	unsigned char *cbuf; /* one chunk */
	void *zbuf;
	size_t zcap;
	ZSTD_CCtx *zc;
};

static int wbuf_init(struct wbuf *w, size_t cb)
{
	w->cbuf = malloc(cb);
	w->zcap = ZSTD_compressBound(cb);
	w->zbuf = malloc(w->zcap);
	w->zc = ZSTD_createCCtx();
	return w->cbuf && w->zbuf && w->zc ? 0 : -1;
}

static void wbuf_release(struct wbuf *w)
{
	free(w->cbuf);
	free(w->zbuf);
	ZSTD_freeCCtx(w->zc);
	memset(w, 0, sizeof(*w));
}

static int write_chunk(struct build *b, struct wbuf *w, struct bia_ctx *ctx, int dirfd, size_t k,
		       size_t t, size_t c, size_t z, size_t row, size_t col, size_t cw, size_t ch)
{
	struct level *L = &b->lv[k];
	size_t cs = b->chunk;
	if (cw < cs || ch < cs)
		memset(w->cbuf, 0, cs * cs * b->es);
	const unsigned char *src = L->buf + (c * cs * L->w + col * cs) * b->es;
	for (size_t y = 0; y < ch; y++)
		memcpy(w->cbuf + y * cs * b->es, src + y * L->w * b->es, cw * b->es);
	size_t zn = ZSTD_compressCCtx(w->zc, w->zbuf, w->zcap, w->cbuf, cs * cs * b->es, b->zlevel);
	if (ZSTD_isError(zn))
		return bia_fail(ctx, BIA_EIO, "zstd: %s", ZSTD_getErrorName(zn));
	char p[BIA_PATH_MAX], name[32];
	snprintf(name, sizeof(name), "%zu", col);
	/* relative to the band's folder: no walk of the whole path per chunk */
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -1 : bia_write_all(fd, w->zbuf, zn);
	if (fd < 0 || close(fd) || rc) {
		snprintf(p, sizeof(p), "%s/%zu/%zu/%zu/%zu/%zu/%zu", b->tmp, k, t, c, z, row, col);
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
	}
	return 0;
}

/* Helper threads compressing and writing the chunks of a band. */
#define POOL_MAX 8
struct pool {
	struct build *b;
	pthread_t th[POOL_MAX];
	struct wbuf wb[POOL_MAX + 1]; /* [0]: the building thread */
	size_t n;		       /* helper threads */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned gen;
	int quit;
	/* the batch: every (channel, column) chunk of one band of level k */
	size_t k, t, z, row, ncol, nc, rows, njobs, next, finished;
	int *dirfd; /* the band's folder of each channel */
	int failed;
	struct bia_ctx err;
};

static void run_jobs(struct pool *pl, struct wbuf *w)
{
	struct build *b = pl->b;
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		if (pl->next >= pl->njobs || pl->failed) {
			pthread_mutex_unlock(&pl->mu);
			return;
		}
		size_t j = pl->next++;
		size_t k = pl->k, t = pl->t, z = pl->z, row = pl->row, rows = pl->rows;
		/* neighbouring jobs in different folders: threads do not queue on one
		 * directory's lock when there are several channels */
		size_t c = j % pl->nc, col = j / pl->nc;
		pthread_mutex_unlock(&pl->mu);
		struct level *L = &b->lv[k];
		size_t cs = b->chunk, cw = L->w - col * cs < cs ? L->w - col * cs : cs;
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		int rc = write_chunk(b, w, &ctx, pl->dirfd[c], k, t, c, z, row, col, cw, rows);
		pthread_mutex_lock(&pl->mu);
		if (rc && !pl->failed) {
			pl->failed = 1;
			pl->err = ctx;
		}
		if (++pl->finished == pl->njobs || pl->failed)
			pthread_cond_broadcast(&pl->done);
		pthread_mutex_unlock(&pl->mu);
	}
}

static void *pool_main(void *arg)
{
	struct pool *pl = arg;
	pthread_mutex_lock(&pl->mu);
	size_t me = 0;
	for (size_t i = 0; i < pl->n; i++)
		if (pthread_equal(pl->th[i], pthread_self()))
			me = i + 1;
	unsigned seen = 0;
	for (;;) {
		while (pl->gen == seen && !pl->quit)
			pthread_cond_wait(&pl->go, &pl->mu);
		if (pl->quit)
			break;
		seen = pl->gen;
		pthread_mutex_unlock(&pl->mu);
		run_jobs(pl, &pl->wb[me ? me : 1]);
		pthread_mutex_lock(&pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

/* Threads to use: BIAFLOWS_PYRAMID_THREADS, else the online CPUs (at most
 * POOL_MAX + 1). */
static size_t pool_threads(void)
{
	const char *e = getenv("BIAFLOWS_PYRAMID_THREADS");
	long n = e && *e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > POOL_MAX + 1)
		n = POOL_MAX + 1;
	return (size_t)n;
}

static int pool_start(struct pool *pl, struct build *b, size_t cb)
{
	memset(pl, 0, sizeof(*pl));
	pl->b = b;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->go, NULL);
	pthread_cond_init(&pl->done, NULL);
	size_t want = pool_threads();
	for (size_t i = 0; i < want; i++)
		if (wbuf_init(&pl->wb[i], cb))
			return -1;
	/* the workers find their index in th[] under the mutex */
	pthread_mutex_lock(&pl->mu);
	for (size_t i = 0; i + 1 < want; i++) {
		if (pthread_create(&pl->th[i], NULL, pool_main, pl))
			break;
		pl->n++;
	}
	pthread_mutex_unlock(&pl->mu);
	return 0;
}

static void pool_stop(struct pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->quit = 1;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->mu);
	for (size_t i = 0; i < pl->n; i++)
		pthread_join(pl->th[i], NULL);
	for (size_t i = 0; i < POOL_MAX + 1; i++)
		wbuf_release(&pl->wb[i]);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->go);
	pthread_cond_destroy(&pl->done);
}

/* Write every chunk of level k's filled rows, on every thread. */
static int pool_band(struct pool *pl, size_t k, size_t t, size_t z, int *dirfd)
{
	struct build *b = pl->b;
	struct level *L = &b->lv[k];
	pthread_mutex_lock(&pl->mu);
	pl->dirfd = dirfd;
	pl->k = k, pl->t = t, pl->z = z, pl->row = L->row0 / b->chunk, pl->rows = L->rows;
	pl->ncol = (L->w + b->chunk - 1) / b->chunk;
	pl->nc = b->src->c;
	pl->njobs = pl->ncol * pl->nc;
	pl->next = pl->finished = 0;
	pl->gen++;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->mu);
	run_jobs(pl, &pl->wb[0]);
	pthread_mutex_lock(&pl->mu);
	while (pl->finished < pl->njobs && !pl->failed)
		pthread_cond_wait(&pl->done, &pl->mu);
	/* on a failure, wait for the jobs taken to end */
	while (pl->failed && pl->finished < pl->next) {
		struct timespec ts = {0, 1000000};
		pthread_mutex_unlock(&pl->mu);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&pl->mu);
	}
	int failed = pl->failed;
	pthread_mutex_unlock(&pl->mu);
	if (failed) {
		*b->ctx = pl->err;
		return b->ctx->rc;
	}
	return 0;
}

static void note_id(struct build *b, int64_t id)
{
	if (!id || b->ids_full)
		return;
	size_t m = b->idcap - 1, i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 20) & m;
	while (b->ids[i]) {
		if (b->ids[i] == id)
			return;
		i = (i + 1) & m;
	}
	if (b->nids + 1 >= MAX_COLORS) {
		b->ids_full = 1;
		return;
	}
	b->ids[i] = id;
	b->nids++;
}

/* Statistics of a level-0 band: min/max of every channel, a strided sample
 * for the window (intensities) or the ids present (labels). */
static void band_stats(struct build *b, size_t n)
{
	const struct bia_band_src *s = b->src;
	struct level *L = &b->lv[0];
	size_t np = n * s->x;
	for (size_t c = 0; c < s->c; c++) {
		const unsigned char *p = L->buf + c * b->chunk * L->w * b->es;
		struct chstat *st = &b->st[c];
		if (b->o->labels) {
			int64_t last = 0;
			for (size_t i = 0; i < np; i++) {
				int64_t v = (int64_t)get_s(s->dtype, p, i);
				if (v != last) {
					note_id(b, v);
					last = v;
				}
			}
			continue;
		}
		if (st->hist) {
			uint64_t *h = st->hist;
			if (s->dtype == BIA_U8) {
				const uint8_t *q = (const uint8_t *)p;
				for (size_t i = 0; i < np; i++)
					h[q[i]]++;
			} else {
				const uint16_t *q = (const uint16_t *)p;
				for (size_t i = 0; i < np; i++)
					h[q[i]]++;
			}
			continue;
		}
		double mn = st->min, mx = st->max;
		{
			for (size_t i = 0; i < np; i++) {
				double v = get_s(s->dtype, p, i);
				if (isfinite(v)) {
					mn = v < mn ? v : mn;
					mx = v > mx ? v : mx;
				}
			}
		}
		st->min = mn;
		st->max = mx;
		uint64_t i = st->skip;
		for (; i < np; i += b->stride) {
			double v = get_s(s->dtype, p, i);
			if (st->n < SAMPLE_CAP && isfinite(v))
				st->sample[st->n++] = v;
		}
		st->skip = i - np;
	}
}

/* Write the chunks of level k's filled rows, pass them down, recurse. */
static int flush(struct build *b, size_t k, size_t t, size_t z)
{
	struct level *L = &b->lv[k];
	size_t cs = b->chunk, row = L->row0 / cs;
	int *dfd = malloc(b->src->c * sizeof(int));
	if (!dfd)
		return bia_fail(b->ctx, BIA_ENOMEM, "pyramid: out of memory");
	size_t opened = 0;
	int rc = 0;
	for (size_t c = 0; c < b->src->c && !rc; c++) {
		char p[BIA_PATH_MAX];
		snprintf(p, sizeof(p), "%s/%zu/%zu/%zu/%zu/%zu", b->tmp, k, t, c, z, row);
		if ((rc = mkdir_one(b->ctx, p)))
			break;
		dfd[c] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd[c] < 0)
			rc = bia_fail(b->ctx, BIA_EIO, "cannot open '%s': %s", p, strerror(errno));
		else
			opened++;
	}
	if (!rc)
		rc = pool_band(b->pool, k, t, z, dfd);
	for (size_t c = 0; c < opened; c++)
		close(dfd[c]);
	free(dfd);
	if (rc)
		return rc;
	if (k + 1 < b->nlev) {
		struct level *N = &b->lv[k + 1];
		size_t m = (L->rows + 1) / 2;
		for (size_t c = 0; c < b->src->c; c++)
			downsample(b->src->dtype, L->buf + c * cs * L->w * b->es, L->w, L->rows,
				   N->buf + (c * cs * N->w + N->rows * N->w) * b->es, N->w,
				   b->o->labels);
		N->rows += m;
		if (N->rows == cs || N->row0 + N->rows == N->h) {
			if (flush(b, k + 1, t, z))
				return b->ctx->rc;
		}
	}
	L->row0 += L->rows;
	L->rows = 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double dtype_max(enum bia_dtype t)
{
	switch (t) {
	case BIA_U8: return 255;
	case BIA_U16: return 65535;
	case BIA_U32: return 4294967295.0;
	case BIA_I32: return 2147483647.0;
	default: return 1;
	}
}

static uint32_t channel_color(size_t c, size_t nc)
{
	static const uint32_t rgb[] = {0xFF0000, 0x00FF00, 0x0000FF};
	static const uint32_t multi[] = {0x00FF00, 0xFF00FF, 0x00FFFF, 0xFF0000,
					 0x0000FF, 0xFFFF00, 0xFFFFFF};
	if (nc == 1)
		return 0xFFFFFF;
	if (nc == 3)
		return rgb[c];
	return multi[c % (sizeof(multi) / sizeof(multi[0]))];
}

static json_t *axes_json(const struct bia_band_src *s)
{
	json_t *a = json_array();
	json_array_append_new(a, json_pack("{s:s, s:s}", "name", "t", "type", "time"));
	json_array_append_new(a, json_pack("{s:s, s:s}", "name", "c", "type", "channel"));
	const char *names[3] = {"z", "y", "x"};
	const double ph[3] = {s->phys[2], s->phys[1], s->phys[0]};
	for (int i = 0; i < 3; i++) {
		json_t *o = json_pack("{s:s, s:s}", "name", names[i], "type", "space");
		if (ph[i] > 0)
			json_object_set_new(o, "unit", json_string("micrometer"));
		json_array_append_new(a, o);
	}
	return a;
}

static int write_json(struct build *b, const char *rel, json_t *j)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", b->tmp, rel);
	char *text = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
	json_decref(j);
	if (!text)
		return bia_fail(b->ctx, BIA_ENOMEM, "out of memory");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -1 : bia_write_all(fd, text, strlen(text));
	free(text);
	if (fd < 0 || close(fd) || rc)
		return bia_fail(b->ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
	return 0;
}

static int write_metadata(struct build *b)
{
	const struct bia_band_src *s = b->src;
	if (write_json(b, ".zgroup", json_pack("{s:i}", "zarr_format", 2)))
		return b->ctx->rc;
	json_t *datasets = json_array();
	for (size_t k = 0; k < b->nlev; k++) {
		double f = ldexp(1.0, (int)k);
		double sx = (s->phys[0] > 0 ? s->phys[0] : 1) * f;
		double sy = (s->phys[1] > 0 ? s->phys[1] : 1) * f;
		double sz = s->phys[2] > 0 ? s->phys[2] : 1;
		char path[16];
		snprintf(path, sizeof(path), "%zu", k);
		json_array_append_new(
			datasets,
			json_pack("{s:s, s:[{s:s, s:[f,f,f,f,f]}]}", "path", path,
				  "coordinateTransformations", "type", "scale", "scale", 1.0, 1.0,
				  sz, sy, sx));
		json_t *za = json_pack(
			"{s:[I,I,I,I,I], s:[i,i,i,i,i], s:s, s:{s:s, s:i}, s:i, s:n, s:s, s:i, "
			"s:s}",
			"shape", (json_int_t)s->t, (json_int_t)s->c, (json_int_t)s->z,
			(json_int_t)b->lv[k].h, (json_int_t)b->lv[k].w, "chunks", 1, 1, 1,
			(int)b->chunk, (int)b->chunk, "dtype", zarr_dtype(s->dtype), "compressor",
			"id", "zstd", "level", b->zlevel, "fill_value", 0, "filters", "order", "C",
			"zarr_format", 2, "dimension_separator", "/");
		char rel[64];
		snprintf(rel, sizeof(rel), "%zu/.zarray", k);
		if (write_json(b, rel, za))
			return b->ctx->rc;
	}
	json_t *ms = json_pack("{s:s, s:s, s:o, s:o, s:s}", "version", "0.4", "name",
			       b->o->name ? b->o->name : "image", "axes", axes_json(s), "datasets",
			       datasets, "type", b->o->labels ? "mode" : "mean");
	json_t *attrs = json_pack("{s:[o]}", "multiscales", ms);
	if (b->o->labels) {
		json_t *colors = json_array();
		/* ids in increasing order */
		int64_t *v = malloc((b->nids ? b->nids : 1) * sizeof(*v));
		size_t n = 0;
		if (v) {
			for (size_t i = 0; i < b->idcap; i++)
				if (b->ids[i])
					v[n++] = b->ids[i];
			for (size_t i = 1; i < n; i++) /* insertion is fine: sorted runs */
				for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
					int64_t x = v[j];
					v[j] = v[j - 1];
					v[j - 1] = x;
				}
		}
		for (size_t i = 0; i < n; i++) {
			uint32_t c = bia_label_color(v[i]);
			json_array_append_new(colors,
					      json_pack("{s:I, s:[i,i,i,i]}", "label-value",
							(json_int_t)v[i], "rgba", (int)(c >> 16),
							(int)((c >> 8) & 255), (int)(c & 255), 255));
		}
		free(v);
		json_object_set_new(attrs, "image-label",
				    json_pack("{s:s, s:o, s:{s:s}}", "version", "0.4", "colors",
					      colors, "source", "image", "../../"));
	} else {
		json_t *chs = json_array();
		for (size_t c = 0; c < s->c; c++) {
			struct chstat *st = &b->st[c];
			double lo = 0, hi = dtype_max(s->dtype);
			if (st->hist) {
				/* exact: the values at the 0.1 and 99.9 percent ranks */
				size_t nv = s->dtype == BIA_U8 ? 256 : 65536;
				uint64_t total = 0, cum = 0;
				for (size_t v = 0; v < nv; v++)
					total += st->hist[v];
				uint64_t rlo = (uint64_t)floor(0.001 * (double)(total - 1));
				uint64_t rhi = (uint64_t)ceil(0.999 * (double)(total - 1));
				int have_lo = 0, have_hi = 0;
				for (size_t v = 0; v < nv; v++) {
					if (!st->hist[v])
						continue;
					if (st->min > (double)v)
						st->min = (double)v;
					st->max = (double)v;
					cum += st->hist[v];
					if (!have_lo && cum > rlo) {
						lo = (double)v;
						have_lo = 1;
					}
					if (!have_hi && cum > rhi) {
						hi = (double)v;
						have_hi = 1;
					}
				}
			} else if (st->n) {
				qsort(st->sample, st->n, sizeof(double), cmp_double);
				lo = st->sample[(size_t)floor(0.001 * (double)(st->n - 1))];
				hi = st->sample[(size_t)ceil(0.999 * (double)(st->n - 1))];
			}
			if (hi <= lo)
				hi = lo + 1;
			double dmin = s->dtype == BIA_F32 || s->dtype == BIA_I32 ? st->min : 0;
			double dmax = s->dtype == BIA_F32 ? st->max : dtype_max(s->dtype);
			if (!isfinite(dmin) || !isfinite(dmax) || dmax <= dmin)
				dmin = lo, dmax = hi;
			char color[8], label[32];
			snprintf(color, sizeof(color), "%06X", channel_color(c, s->c));
			snprintf(label, sizeof(label), "Channel %zu", c);
			json_array_append_new(
				chs, json_pack("{s:b, s:f, s:s, s:s, s:b, s:s, s:{s:f, s:f, s:f, s:f}}",
					       "active", c < 7, "coefficient", 1.0, "color", color,
					       "family", "linear", "inverted", 0, "label", label,
					       "window", "start", lo, "end", hi, "min", dmin, "max",
					       dmax));
		}
		json_object_set_new(attrs, "omero",
				    json_pack("{s:s, s:s, s:o, s:{s:i, s:i, s:s}}", "name",
					      b->o->name ? b->o->name : "image", "version", "0.4",
					      "channels", chs, "rdefs", "defaultT", 0, "defaultZ",
					      (int)(s->z / 2), "model",
					      s->c == 1 ? "greyscale" : "color"));
	}
	if (write_json(b, ".zattrs", attrs))
		return b->ctx->rc;
	json_t *lv = json_array();
	for (size_t k = 0; k < b->nlev; k++)
		json_array_append_new(lv, json_pack("[I,I]", (json_int_t)b->lv[k].w,
						    (json_int_t)b->lv[k].h));
	return write_json(b, "biaflows.json",
			  json_pack("{s:i, s:s, s:o}", "format", BIA_PYRAMID_FORMAT, "kind",
				    b->o->labels ? "labels" : "image", "levels", lv));
}

static void build_release(struct build *b)
{
	for (size_t k = 0; k < BIA_PYRAMID_MAX_LEVELS; k++)
		free(b->lv[k].buf);
	if (b->st)
		for (size_t c = 0; c < b->src->c; c++) {
			free(b->st[c].sample);
			free(b->st[c].hist);
		}
	free(b->st);
	free(b->ids);
	if (b->pool) {
		pool_stop(b->pool);
		free(b->pool);
	}
}

/* Every folder k/t/c/z, each made once, relative to its parent. */
static int build_dirs(struct build *b)
{
	const struct bia_band_src *s = b->src;
	if (mkdir_one(b->ctx, b->tmp))
		return b->ctx->rc;
	int root = open(b->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return bia_fail(b->ctx, BIA_EIO, "cannot open '%s': %s", b->tmp, strerror(errno));
	int rc = 0;
	char rel[96];
	for (size_t k = 0; k < b->nlev && !rc; k++) {
		snprintf(rel, sizeof(rel), "%zu", k);
		rc = mkdirat(root, rel, 0755);
		for (size_t t = 0; t < s->t && !rc; t++) {
			snprintf(rel, sizeof(rel), "%zu/%zu", k, t);
			rc = mkdirat(root, rel, 0755);
			for (size_t c = 0; c < s->c && !rc; c++) {
				snprintf(rel, sizeof(rel), "%zu/%zu/%zu", k, t, c);
				rc = mkdirat(root, rel, 0755);
				for (size_t z = 0; z < s->z && !rc; z++) {
					snprintf(rel, sizeof(rel), "%zu/%zu/%zu/%zu", k, t, c, z);
					rc = mkdirat(root, rel, 0755);
				}
			}
		}
	}
	if (rc)
		rc = bia_fail(b->ctx, BIA_EIO, "cannot create '%s/%s': %s", b->tmp, rel,
			      strerror(errno));
	close(root);
	return rc;
}

int bia_pyramid_build(struct bia_ctx *ctx, const struct bia_band_src *src, const char *dir,
		      const struct bia_pyramid_opts *opts)
{
	struct bia_pyramid_opts dflt = {0};
	const struct bia_pyramid_opts *o = opts ? opts : &dflt;
	struct build b;
	memset(&b, 0, sizeof(b));
	b.ctx = ctx;
	b.src = src;
	b.o = o;
	b.chunk = o->chunk ? o->chunk : BIA_PYRAMID_CHUNK;
	b.zlevel = o->zstd_level ? o->zstd_level : 1;
	b.es = bia_dtype_size(src->dtype);
	if (!b.es || !src->x || !src->y || !src->z || !src->c || !src->t)
		return bia_fail(ctx, BIA_EINVAL, "pyramid: empty or unknown image shape");
	if (o->labels && (src->dtype == BIA_F32 || src->c != 1))
		return bia_fail(ctx, BIA_EFORMAT,
				"pyramid: a label image must have one channel of integers (got %zu "
				"channel(s) of %s)",
				src->c, bia_dtype_name(src->dtype));
	if (src->c > 4096)
		return bia_fail(ctx, BIA_ELIMIT, "pyramid: %zu channels is over the limit of 4096",
				src->c);
	/* levels: halve until one chunk holds a plane */
	size_t w = src->x, h = src->y;
	for (;;) {
		if (b.nlev == BIA_PYRAMID_MAX_LEVELS)
			return bia_fail(ctx, BIA_ELIMIT, "pyramid: image too large");
		b.lv[b.nlev].w = w;
		b.lv[b.nlev].h = h;
		b.nlev++;
		if (w <= b.chunk && h <= b.chunk)
			break;
		w = (w + 1) / 2;
		h = (h + 1) / 2;
	}
	size_t cs = b.chunk;
	for (size_t k = 0; k < b.nlev; k++) {
		size_t n;
		if (bia_mul_size(b.lv[k].w, cs, &n) || bia_mul_size(n, src->c, &n) ||
		    bia_mul_size(n, b.es, &n) || !(b.lv[k].buf = calloc(1, n)))
			goto nomem;
	}
	b.st = calloc(src->c, sizeof(*b.st));
	b.pool = calloc(1, sizeof(*b.pool));
	if (!b.st || !b.pool)
		goto nomem;
	if (pool_start(b.pool, &b, cs * cs * b.es))
		goto nomem;
	uint64_t per = (uint64_t)src->x * src->y * src->z * src->t;
	b.stride = per / SAMPLE_CAP + 1;
	if (b.stride > 1 && b.stride % 2 == 0)
		b.stride++; /* odd: walks across columns of even-width images */
	for (size_t c = 0; c < src->c; c++) {
		b.st[c].min = INFINITY;
		b.st[c].max = -INFINITY;
		if (o->labels)
			continue;
		if (src->dtype == BIA_U8 || src->dtype == BIA_U16) {
			if (!(b.st[c].hist = calloc(src->dtype == BIA_U8 ? 256 : 65536, sizeof(uint64_t))))
				goto nomem;
		} else if (!(b.st[c].sample = malloc(SAMPLE_CAP * sizeof(double)))) {
			goto nomem;
		}
	}
	if (o->labels) {
		b.idcap = 2 * MAX_COLORS;
		if (!(b.ids = calloc(b.idcap, sizeof(*b.ids))))
			goto nomem;
	}
	/* temp sibling, renamed into place at the end */
	char parent[BIA_PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	if (bia_mkdir_p(ctx, parent))
		goto fail;
	/* unique in the process too: two threads may build the same pyramid */
	static atomic_uint seq;
	snprintf(b.tmp, sizeof(b.tmp), "%s/.tmp-%ld-%u-%s", slash ? parent : ".", (long)getpid(),
		 atomic_fetch_add(&seq, 1),
		 bia_path_base(dir));
	bia_rm_rf(ctx, b.tmp);
	bia_ctx_clear(ctx);
	if (build_dirs(&b))
		goto fail;
	b.total = (uint64_t)src->y * src->z * src->t;
	for (size_t t = 0; t < src->t; t++)
		for (size_t z = 0; z < src->z; z++) {
			for (size_t k = 0; k < b.nlev; k++)
				b.lv[k].rows = b.lv[k].row0 = 0;
			for (size_t y0 = 0; y0 < src->y; y0 += cs) {
				size_t n = src->y - y0 < cs ? src->y - y0 : cs;
				if (src->read(ctx, src->self, z, t, y0, n, b.lv[0].buf, cs * src->x))
					goto fail;
				b.lv[0].rows = n;
				band_stats(&b, n);
				if (flush(&b, 0, t, z))
					goto fail;
				b.done += n;
				if (o->progress && o->progress(o->progress_ud, b.done, b.total)) {
					bia_fail(ctx, BIA_EUNAVAIL, "pyramid: build stopped");
					goto fail;
				}
			}
		}
	if (write_metadata(&b))
		goto fail;
	if (rename(b.tmp, dir)) {
		if ((errno == ENOTEMPTY || errno == EEXIST) && bia_is_dir(dir)) {
			bia_rm_rf(ctx, b.tmp); /* another builder finished first */
			bia_ctx_clear(ctx);
		} else {
			bia_fail(ctx, BIA_EIO, "cannot rename '%s' to '%s': %s", b.tmp, dir,
				 strerror(errno));
			goto fail;
		}
	}
	build_release(&b);
	return 0;
nomem:
	bia_fail(ctx, BIA_ENOMEM, "pyramid: out of memory");
fail: {
	struct bia_ctx tmpctx;
	bia_ctx_init(&tmpctx);
	if (b.tmp[0])
		bia_rm_rf(&tmpctx, b.tmp);
}
	build_release(&b);
	return ctx->rc ? (int)ctx->rc : bia_fail(ctx, BIA_EIO, "pyramid: build failed");
}

/* ------------------------------------------------------------ sources */

struct memsrc {
	const struct bia_image *img;
};

static int mem_read(struct bia_ctx *ctx, void *self, size_t z, size_t t, size_t y0, size_t n,
		    void *buf, size_t cstride)
{
	(void)ctx;
	const struct bia_image *img = ((struct memsrc *)self)->img;
	size_t es = bia_dtype_size(img->dtype);
	for (size_t c = 0; c < img->c; c++) {
		size_t i = bia_image_index(img, 0, y0, z, c, t);
		memcpy((unsigned char *)buf + c * cstride * es, (const unsigned char *)img->data + i * es,
		       n * img->x * es);
	}
	return 0;
}

int bia_pyramid_build_image(struct bia_ctx *ctx, const struct bia_image *img, const char *dir,
			    const struct bia_pyramid_opts *opts)
{
	struct memsrc m = {img};
	struct bia_band_src s = {.x = img->x, .y = img->y, .z = img->z, .c = img->c, .t = img->t,
				 .dtype = img->dtype, .read = mem_read, .self = &m};
	memcpy(s.phys, img->phys, sizeof(s.phys));
	return bia_pyramid_build(ctx, &s, dir, opts);
}

/* ------------------------------------------------------------ reading */

static json_t *load_json(struct bia_ctx *ctx, const char *dir, const char *rel)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (!bia_is_file(p)) {
		bia_fail(ctx, BIA_ENOENT, "pyramid '%s': '%s' is missing", dir, rel);
		return NULL;
	}
	json_t *j = bia_json_load_file(ctx, p);
	if (!j)
		ctx->rc = BIA_ECORRUPT;
	return j;
}

static int corrupt(struct bia_ctx *ctx, const char *dir, const char *what)
{
	return bia_fail(ctx, BIA_ECORRUPT, "pyramid '%s': %s", dir, what);
}

int bia_pyramid_open(struct bia_ctx *ctx, const char *dir, struct bia_pyramid *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	if (!bia_is_dir(dir))
		return bia_fail(ctx, BIA_ENOENT, "pyramid '%s' does not exist", dir);
	json_t *info = load_json(ctx, dir, "biaflows.json");
	if (!info)
		return ctx->rc;
	int fmt = (int)json_integer_value(json_object_get(info, "format"));
	p->labels = !strcmp(bia_json_str(info, "kind", ""), "labels");
	json_decref(info);
	if (fmt != BIA_PYRAMID_FORMAT)
		return corrupt(ctx, dir, "written by another pyramid format");
	json_t *attrs = load_json(ctx, dir, ".zattrs");
	if (!attrs)
		return ctx->rc;
	int rc = 0;
	json_t *ms = json_array_get(json_object_get(attrs, "multiscales"), 0);
	json_t *ds = json_object_get(ms, "datasets");
	if (!json_is_array(ds) || !json_array_size(ds) ||
	    json_array_size(ds) > BIA_PYRAMID_MAX_LEVELS) {
		rc = corrupt(ctx, dir, "multiscales has no datasets");
		goto out;
	}
	p->nlevels = json_array_size(ds);
	json_t *sc = json_object_get(
		json_array_get(json_object_get(json_array_get(ds, 0), "coordinateTransformations"), 0),
		"scale");
	for (int i = 0; i < 3; i++)
		p->phys[i] = json_real_value(json_array_get(sc, 4 - (size_t)i));
	for (size_t k = 0; k < p->nlevels; k++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "%s/.zarray",
			 bia_json_str(json_array_get(ds, k), "path", "?"));
		json_t *za = load_json(ctx, dir, rel);
		if (!za) {
			rc = ctx->rc;
			goto out;
		}
		json_t *shape = json_object_get(za, "shape"), *ch = json_object_get(za, "chunks");
		enum bia_dtype dt = parse_zarr_dtype(bia_json_str(za, "dtype", ""));
		int ok = json_array_size(shape) == 5 && json_array_size(ch) == 5 && dt &&
			 !strcmp(bia_json_str(json_object_get(za, "compressor"), "id", ""), "zstd");
		if (ok) {
			size_t v[5];
			for (size_t i = 0; i < 5; i++)
				v[i] = (size_t)json_integer_value(json_array_get(shape, i));
			unsigned cs = (unsigned)json_integer_value(json_array_get(ch, 4));
			if (k == 0) {
				p->t = v[0], p->c = v[1], p->z = v[2], p->dtype = dt, p->chunk = cs;
			}
			ok = v[0] == p->t && v[1] == p->c && v[2] == p->z && dt == p->dtype &&
			     cs == p->chunk && cs >= 16 && cs <= 4096 && v[3] && v[4] &&
			     p->t && p->c && p->z;
			p->h[k] = v[3];
			p->w[k] = v[4];
		}
		json_decref(za);
		if (!ok) {
			rc = corrupt(ctx, dir, "a level's .zarray is not the expected one");
			goto out;
		}
	}
	json_t *chs = json_object_get(json_object_get(attrs, "omero"), "channels");
	for (size_t c = 0; c < json_array_size(chs) && c < 16; c++) {
		json_t *w = json_object_get(json_array_get(chs, c), "window");
		p->win_start[c] = json_number_value(json_object_get(w, "start"));
		p->win_end[c] = json_number_value(json_object_get(w, "end"));
		p->color[c] = (uint32_t)strtoul(bia_json_str(json_array_get(chs, c), "color", "FFFFFF"),
						NULL, 16);
		p->nwin = c + 1;
	}
out:
	json_decref(attrs);
	return rc;
}

double bia_pyramid_sample(const struct bia_pyramid *p, const void *raw, size_t i)
{
	return get_s(p->dtype, raw, i);
}

/* One decompression context and read buffer per thread (a context costs
 * ~100 KiB to make: the server reads thousands of chunks a second). */
struct tl_dec {
	ZSTD_DCtx *dctx;
	void *buf;
	size_t cap;
};
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_free(void *p)
{
	struct tl_dec *t = p;
	ZSTD_freeDCtx(t->dctx);
	free(t->buf);
	free(t);
}

static void tl_init(void)
{
	pthread_key_create(&tl_key, tl_free);
}

static struct tl_dec *tl_get(size_t need)
{
	pthread_once(&tl_once, tl_init);
	struct tl_dec *t = pthread_getspecific(tl_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->dctx = ZSTD_createDCtx();
		if (!t->dctx || pthread_setspecific(tl_key, t)) {
			tl_free(t);
			return NULL;
		}
	}
	if (t->cap < need) {
		void *b = realloc(t->buf, need);
		if (!b)
			return NULL;
		t->buf = b;
		t->cap = need;
	}
	return t;
}

int bia_pyramid_chunk(struct bia_ctx *ctx, const struct bia_pyramid *p, size_t level, size_t t,
		      size_t c, size_t z, size_t r, size_t q, void *raw)
{
	size_t cb = (size_t)p->chunk * p->chunk * bia_dtype_size(p->dtype);
	char path[BIA_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%zu/%zu/%zu/%zu/%zu/%zu", p->dir, level, t, c, z, r, q);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > ZSTD_compressBound(cb)) {
		if (fd >= 0)
			close(fd);
		return corrupt(ctx, p->dir, "a chunk is missing or damaged");
	}
	struct tl_dec *td = tl_get((size_t)st.st_size);
	ssize_t n = td ? read(fd, td->buf, (size_t)st.st_size) : -1;
	close(fd);
	if (!td)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	size_t d = n == st.st_size ? ZSTD_decompressDCtx(td->dctx, raw, cb, td->buf, (size_t)n) : 0;
	if (n != st.st_size || ZSTD_isError(d) || d != cb)
		return corrupt(ctx, p->dir, "a chunk is missing or damaged");
	return 0;
}

int bia_pyramid_read(struct bia_ctx *ctx, const struct bia_pyramid *p, size_t level, size_t t,
		     size_t c, size_t z, size_t x0, size_t y0, size_t w, size_t h, double *out)
{
	if (level >= p->nlevels || t >= p->t || c >= p->c || z >= p->z ||
	    x0 + w > p->w[level] || y0 + h > p->h[level] || !w || !h)
		return bia_fail(ctx, BIA_EINVAL, "pyramid: region out of bounds");
	size_t cs = p->chunk, cb = cs * cs * bia_dtype_size(p->dtype);
	unsigned char *raw = malloc(cb);
	if (!raw)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t r = y0 / cs; r <= (y0 + h - 1) / cs && !rc; r++)
		for (size_t q = x0 / cs; q <= (x0 + w - 1) / cs; q++) {
			if ((rc = bia_pyramid_chunk(ctx, p, level, t, c, z, r, q, raw)))
				break;
			size_t ax = q * cs > x0 ? q * cs : x0, bx = (q + 1) * cs < x0 + w ? (q + 1) * cs : x0 + w;
			size_t ay = r * cs > y0 ? r * cs : y0, by = (r + 1) * cs < y0 + h ? (r + 1) * cs : y0 + h;
			for (size_t y = ay; y < by; y++)
				for (size_t x = ax; x < bx; x++)
					out[(y - y0) * w + (x - x0)] =
						get_s(p->dtype, raw, (y - r * cs) * cs + (x - q * cs));
		}
	free(raw);
	return rc;
}

int bia_pyramid_verify(struct bia_ctx *ctx, const char *dir, uint64_t *pchunks)
{
	struct bia_pyramid p;
	*pchunks = 0;
	if (bia_pyramid_open(ctx, dir, &p))
		return ctx->rc;
	size_t cb = (size_t)p.chunk * p.chunk * bia_dtype_size(p.dtype);
	for (size_t k = 0; k < p.nlevels; k++) {
		size_t nr = (p.h[k] + p.chunk - 1) / p.chunk, nq = (p.w[k] + p.chunk - 1) / p.chunk;
		for (size_t t = 0; t < p.t; t++)
			for (size_t c = 0; c < p.c; c++)
				for (size_t z = 0; z < p.z; z++)
					for (size_t r = 0; r < nr; r++)
						for (size_t q = 0; q < nq; q++) {
							char path[BIA_PATH_MAX];
							unsigned char head[32];
							snprintf(path, sizeof(path),
								 "%s/%zu/%zu/%zu/%zu/%zu/%zu", dir, k,
								 t, c, z, r, q);
							int fd = open(path, O_RDONLY | O_CLOEXEC);
							ssize_t n = fd < 0 ? -1 : read(fd, head, sizeof(head));
							if (fd >= 0)
								close(fd);
							if (n <= 0 ||
							    ZSTD_getFrameContentSize(head, (size_t)n) != cb) {
								char what[BIA_PATH_MAX + 64];
								snprintf(what, sizeof(what),
									 "chunk %zu/%zu/%zu/%zu/%zu/%zu is %s",
									 k, t, c, z, r, q,
									 n < 0 ? "missing" : "damaged");
								return corrupt(ctx, dir, what);
							}
							(*pchunks)++;
						}
	}
	return 0;
}
