/* Streaming a single-plane TIFF (tiled or stripped, chunky or planar) band
 * by band for pyramid building: one tile row is decoded at a time, so a
 * whole-slide image never sits in memory.
 * SPDX-License-Identifier: MIT */
#include "image/image_int.h"
#include "image/pyramid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#define STREAM_MIN_BYTES (UINT64_C(64) << 20) /* smaller images are read whole */

struct tstream {
	TIFF *tif;
	const char *name;
	uint32_t w, h, tw, th; /* size; tile size (tw 0: strips) */
	uint16_t spp, planar;
	size_t es;
	unsigned char *row;  /* tiles: one tile row (th rows x w x spp); strips: one scanline */
	unsigned char *tile; /* one tile */
	uint32_t cached;     /* tile row in `row`, UINT32_MAX: none */
	uint32_t next_line;  /* strips: next scanline libtiff will give */
	char err[256];
};

/* libtiff's messages stay with the handle: the first error is kept for
 * our message, nothing goes to stderr */
static int ts_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)module;
	struct tstream *s = ud;
	if (!s->err[0])
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
	return 1;
}


static int load_tile_row(struct bia_ctx *ctx, struct tstream *s, uint32_t tr)
{
	size_t tb = (size_t)s->tw * s->th * (s->planar == PLANARCONFIG_CONTIG ? s->spp : 1) * s->es;
	for (uint32_t x0 = 0; x0 < s->w; x0 += s->tw) {
		for (uint16_t p = 0; p < (s->planar == PLANARCONFIG_CONTIG ? 1 : s->spp); p++) {
			ttile_t ti = TIFFComputeTile(s->tif, x0, tr * s->th, 0, p);
			if (TIFFReadEncodedTile(s->tif, ti, s->tile, (tmsize_t)tb) < 0)
				return bia_fail(ctx, BIA_EFORMAT, "%s: cannot decode tile %u%s%s%s",
						s->name, (unsigned)ti, s->err[0] ? " (" : "", s->err,
						s->err[0] ? ")" : "");
			uint32_t cw = s->w - x0 < s->tw ? s->w - x0 : s->tw;
			for (uint32_t y = 0; y < s->th && tr * s->th + y < s->h; y++) {
				if (s->planar == PLANARCONFIG_CONTIG) {
					memcpy(s->row + ((size_t)y * s->w + x0) * s->spp * s->es,
					       s->tile + (size_t)y * s->tw * s->spp * s->es,
					       (size_t)cw * s->spp * s->es);
				} else {
					/* planar: row holds [p][y][x] */
					memcpy(s->row + (((size_t)p * s->th + y) * s->w + x0) * s->es,
					       s->tile + (size_t)y * s->tw * s->es, (size_t)cw * s->es);
				}
			}
		}
	}
	s->cached = tr;
	return 0;
}

/* Copy one source row (chunky or planar layout in src) to every channel. */
static void scatter(const struct tstream *s, const unsigned char *src, int planar_rows,
		    size_t plane_stride, unsigned char *buf, size_t cstride, size_t r)
{
	for (uint16_t c = 0; c < s->spp; c++) {
		unsigned char *d = buf + (c * cstride + r * s->w) * s->es;
		if (planar_rows) {
			memcpy(d, src + c * plane_stride * s->es, (size_t)s->w * s->es);
		} else if (s->es == 1) {
			for (uint32_t x = 0; x < s->w; x++)
				d[x] = src[(size_t)x * s->spp + c];
		} else if (s->es == 2) {
			uint16_t *d2 = (uint16_t *)(void *)d;
			const uint16_t *s2 = (const uint16_t *)(const void *)src;
			for (uint32_t x = 0; x < s->w; x++)
				d2[x] = s2[(size_t)x * s->spp + c];
		} else if (s->es == 4) {
			uint32_t *d4 = (uint32_t *)(void *)d;
			const uint32_t *s4 = (const uint32_t *)(const void *)src;
			for (uint32_t x = 0; x < s->w; x++)
				d4[x] = s4[(size_t)x * s->spp + c];
		} else {
			for (uint32_t x = 0; x < s->w; x++)
				memcpy(d + (size_t)x * s->es, src + ((size_t)x * s->spp + c) * s->es, s->es);
		}
	}
}

static int ts_read(struct bia_ctx *ctx, void *self, size_t z, size_t t, size_t y0, size_t n,
		   void *vbuf, size_t cstride)
{
	(void)z;
	(void)t;
	struct tstream *s = self;
	unsigned char *buf = vbuf;
	for (size_t r = 0; r < n; r++) {
		uint32_t y = (uint32_t)(y0 + r);
		if (s->tw) {
			uint32_t tr = y / s->th;
			if (tr != s->cached && load_tile_row(ctx, s, tr))
				return ctx->rc;
			size_t yy = y - tr * s->th;
			if (s->planar == PLANARCONFIG_CONTIG)
				scatter(s, s->row + yy * s->w * s->spp * s->es, 0, 0, buf, cstride, r);
			else
				scatter(s, s->row + yy * s->w * s->es, 1, (size_t)s->th * s->w, buf,
					cstride, r);
		} else if (s->planar == PLANARCONFIG_CONTIG) {
			if (y != s->next_line || TIFFReadScanline(s->tif, s->row, y, 0) < 0)
				return bia_fail(ctx, BIA_EFORMAT, "%s: cannot decode row %u%s%s%s", s->name, y,
						s->err[0] ? " (" : "", s->err, s->err[0] ? ")" : "");
			s->next_line++;
			scatter(s, s->row, 0, 0, buf, cstride, r);
		} else {
			/* planar strips: libtiff reads each sample plane in order, so
			 * this layout is only streamed with one sample per pixel */
			if (y != s->next_line || TIFFReadScanline(s->tif, s->row, y, 0) < 0)
				return bia_fail(ctx, BIA_EFORMAT, "%s: cannot decode row %u%s%s%s", s->name, y,
						s->err[0] ? " (" : "", s->err, s->err[0] ? ")" : "");
			s->next_line++;
			scatter(s, s->row, 1, 0, buf, cstride, r);
		}
	}
	return 0;
}

/* 1 if the file can be streamed (fills src and s), 0 if it should be read
 * whole, -1 on an allocation failure. */
static int stream_open(struct bia_ctx *ctx, const char *path, struct tstream *s,
		       struct bia_band_src *src, uint64_t min_bytes)
{
	memset(s, 0, sizeof(*s));
	s->name = path;
	TIFFOpenOptions *oo = TIFFOpenOptionsAlloc();
	if (!oo)
		return 0;
	TIFFOpenOptionsSetErrorHandlerExtR(oo, ts_error, s);
	TIFFOpenOptionsSetWarningHandlerExtR(oo, bia__tiff_no_warning, NULL);
	s->tif = TIFFOpenExt(path, "rm", oo);
	TIFFOpenOptionsFree(oo);
	if (!s->tif)
		return 0;
	uint16_t bps = 0, fmt = SAMPLEFORMAT_UINT, photo = 0, comp = 0;
	TIFFGetField(s->tif, TIFFTAG_IMAGEWIDTH, &s->w);
	TIFFGetField(s->tif, TIFFTAG_IMAGELENGTH, &s->h);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_SAMPLESPERPIXEL, &s->spp);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_SAMPLEFORMAT, &fmt);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_PLANARCONFIG, &s->planar);
	TIFFGetField(s->tif, TIFFTAG_PHOTOMETRIC, &photo);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_COMPRESSION, &comp);
	enum bia_dtype dt = 0;
	if (bps == 8 && fmt == SAMPLEFORMAT_UINT)
		dt = BIA_U8;
	else if (bps == 16 && fmt == SAMPLEFORMAT_UINT)
		dt = BIA_U16;
	else if (bps == 32 && fmt == SAMPLEFORMAT_UINT)
		dt = BIA_U32;
	else if (bps == 32 && fmt == SAMPLEFORMAT_INT)
		dt = BIA_I32;
	else if (bps == 32 && fmt == SAMPLEFORMAT_IEEEFP)
		dt = BIA_F32;
	if (comp == COMPRESSION_JPEG && photo == PHOTOMETRIC_YCBCR) {
		TIFFSetField(s->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
		photo = PHOTOMETRIC_RGB;
	}
	s->es = bia_dtype_size(dt);
	int ok = dt && s->w && s->h && s->spp >= 1 && s->spp <= 4 &&
		 (photo == PHOTOMETRIC_MINISBLACK || photo == PHOTOMETRIC_RGB) &&
		 TIFFNumberOfDirectories(s->tif) == 1 &&
		 (uint64_t)s->w * s->h * s->spp * s->es >= min_bytes &&
		 (s->planar == PLANARCONFIG_CONTIG || s->spp == 1 || TIFFIsTiled(s->tif));
	if (ok) {
		/* a header claiming more than its strips or tiles can hold (a bomb,
		 * a truncated file) is left to the whole-file reader, which names
		 * the problem */
		struct stat fst;
		uint64_t ratio = bia__tiff_max_ratio(comp);
		uint64_t need = (uint64_t)s->w * s->h * s->spp * s->es;
		uint64_t have = stat(path, &fst) ? 0 : bia__tiff_stored_bytes(s->tif, (uint64_t)fst.st_size);
		if (ratio && (have > UINT64_MAX / ratio ? 0 : have * ratio < need))
			ok = 0;
	}
	if (ok && TIFFIsTiled(s->tif)) {
		TIFFGetField(s->tif, TIFFTAG_TILEWIDTH, &s->tw);
		TIFFGetField(s->tif, TIFFTAG_TILELENGTH, &s->th);
		ok = s->tw && s->th && s->tw <= 8192 && s->th <= 8192;
	}
	if (!ok) {
		TIFFClose(s->tif);
		s->tif = NULL;
		return 0;
	}
	size_t rowb = (size_t)s->w * s->spp * s->es * (s->tw ? s->th : 1);
	s->row = malloc(rowb);
	s->tile = s->tw ? malloc((size_t)s->tw * s->th * s->spp * s->es) : NULL;
	if (!s->row || (s->tw && !s->tile)) {
		bia_fail(ctx, BIA_ENOMEM, "%s: out of memory for a tile row", path);
		return -1;
	}
	s->cached = UINT32_MAX;
	float rx = 0, ry = 0;
	uint16_t unit = RESUNIT_INCH;
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_RESOLUTIONUNIT, &unit);
	memset(src, 0, sizeof(*src));
	if (TIFFGetField(s->tif, TIFFTAG_XRESOLUTION, &rx) && TIFFGetField(s->tif, TIFFTAG_YRESOLUTION, &ry) &&
	    rx > 0 && ry > 0 && unit == RESUNIT_CENTIMETER) {
		src->phys[0] = 1e4 / rx;
		src->phys[1] = 1e4 / ry;
	}
	src->x = s->w;
	src->y = s->h;
	src->z = src->t = 1;
	src->c = s->spp;
	src->dtype = dt;
	src->read = ts_read;
	src->self = s;
	return 1;
}

static void stream_close(struct tstream *s)
{
	if (s->tif)
		TIFFClose(s->tif);
	free(s->row);
	free(s->tile);
}

static uint64_t stream_min(void)
{
	const char *env = getenv("BIAFLOWS_STREAM_MIN_BYTES"); /* tests force streaming */
	return env && *env ? strtoull(env, NULL, 10) : STREAM_MIN_BYTES;
}

int bia_image_probe_stream(struct bia_ctx *ctx, const char *path, struct bia_image *hdr,
			   int *pstreamed)
{
	struct tstream s;
	struct bia_band_src src;
	bia_image_init(hdr);
	*pstreamed = 0;
	int k = stream_open(ctx, path, &s, &src, stream_min());
	if (k <= 0) {
		stream_close(&s);
		return k < 0 ? (int)ctx->rc : 0;
	}
	uint64_t ns = (uint64_t)src.x * src.y * src.c, max_samples = BIA_MAX_STREAM_SAMPLES;
	if (ns > max_samples) {
		stream_close(&s);
		return bia_fail(ctx, BIA_ELIMIT,
				"%s: %llu x %llu x %zu samples is over the limit of %llu",
				bia_path_base(path), (unsigned long long)src.x,
				(unsigned long long)src.y, src.c, (unsigned long long)max_samples);
	}
	/* decode everything once, a band at a time */
	size_t band = 256, n;
	int rc = 0;
	unsigned char *buf = NULL;
	if (bia_mul_size(src.x, band, &n) || bia_mul_size(n, src.c, &n) ||
	    bia_mul_size(n, bia_dtype_size(src.dtype), &n) || !(buf = malloc(n)))
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory for a band", bia_path_base(path));
	for (size_t y0 = 0; !rc && y0 < src.y; y0 += band) {
		size_t m = src.y - y0 < band ? src.y - y0 : band;
		rc = ts_read(ctx, &s, 0, 0, y0, m, buf, band * src.x);
	}
	free(buf);
	stream_close(&s);
	if (rc)
		return rc;
	hdr->x = src.x;
	hdr->y = src.y;
	hdr->c = src.c;
	hdr->dtype = src.dtype;
	memcpy(hdr->phys, src.phys, sizeof(hdr->phys));
	hdr->format = BIA_FMT_TIFF;
	snprintf(hdr->layout, sizeof(hdr->layout), "plain");
	*pstreamed = 1;
	return 0;
}

int bia_pyramid_build_file(struct bia_ctx *ctx, const char *path,
			   const struct bia_read_opts *ropts, const char *dir,
			   const struct bia_pyramid_opts *opts)
{
	struct tstream s;
	struct bia_band_src src;
	int k = stream_open(ctx, path, &s, &src, stream_min());
	if (k < 0) {
		stream_close(&s);
		return ctx->rc;
	}
	if (k > 0) {
		int rc = bia_pyramid_build(ctx, &src, dir, opts);
		stream_close(&s);
		if (rc)
			bia_fail_prefix(ctx, "%s", bia_path_base(path));
		return rc;
	}
	stream_close(&s);
	struct bia_image img;
	if (bia_image_read(ctx, path, ropts, &img))
		return ctx->rc;
	int rc = bia_pyramid_build_image(ctx, &img, dir, opts);
	bia_image_release(&img);
	return rc;
}
