/* PNG reading (8/16-bit grey, grey+alpha, RGB(A), palette indices, low bit
 * depths) and writing (8/16-bit grey, RGB) with libpng.
 * SPDX-License-Identifier: MIT */
#include "image/image_int.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct png_src {
	const unsigned char *data; /* file bytes, not owned */
	size_t len, pos;	   /* size, read position */
	char err[256];		   /* first libpng error */
};

static void png_err(png_structp png, png_const_charp msg)
{
	struct png_src *s = png_get_error_ptr(png);
	if (s && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%s", msg);
	png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
	struct png_src *s = png_get_io_ptr(png);
	if (n > s->len - s->pos)
		png_error(png, "file is truncated");
	memcpy(out, s->data + s->pos, n);
	s->pos += n;
}

/* Bytes of IDAT data in the file (chunk lengths, clipped to the file). */
static uint64_t idat_bytes(const unsigned char *d, size_t len)
{
	uint64_t sum = 0;
	size_t pos = 8;
	while (pos + 12 <= len) {
		uint64_t n = (uint64_t)d[pos] << 24 | (uint64_t)d[pos + 1] << 16 |
			     (uint64_t)d[pos + 2] << 8 | d[pos + 3];
		if (!memcmp(d + pos + 4, "IDAT", 4))
			sum += n < len - pos - 8 ? n : len - pos - 8;
		if (!memcmp(d + pos + 4, "IEND", 4) || n > len - pos - 12)
			break;
		pos += 12 + (size_t)n;
	}
	return sum;
}

int bia__png_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		      size_t len, const struct bia_read_opts *opts, struct bia_image *img)
{
	struct png_src src = {data, len, 0, {0}};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_err,
						 png_warn);
	if (!png)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	png_infop info = png_create_info_struct(png);
	png_bytep *volatile rows = NULL;
	int volatile rc = 0;
	bia_image_init(img);
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: corrupt PNG: %s", name,
			      src.err[0] ? src.err : "decode error");
		goto out;
	}
	png_set_read_fn(png, &src, png_read_cb);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_read_info(png, info);
	png_uint_32 w, h;
	int depth, ctype, interlace;
	png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
	/* the limits before libpng allocates anything of the image's size (its
	 * row buffers are allocated by png_read_update_info) */
	{
		unsigned hch = ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
			       : ctype == PNG_COLOR_TYPE_RGB	    ? 3
			       : ctype == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
								    : 1;
		if ((rc = bia_image_check_limit(ctx, name, w, h, 1, hch, 1)) ||
		    (rc = bia_image_check_bytes(ctx, name, (uint64_t)w * h * hch,
						depth == 16 ? 2 : 1)))
			goto out;
		/* deflate expands at most 1032:1: image data too short for the
		 * claimed size is refused before anything is allocated */
		uint64_t raw = ((uint64_t)w * hch * (unsigned)depth + 7) / 8 + 1; /* + filter byte */
		uint64_t need = raw * h, have = idat_bytes(data, len);
		if (have * 1100 < need) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: truncated or corrupt PNG: %ux%u pixels need %llu bytes "
				      "but its image data (%llu bytes) cannot hold them",
				      name, (unsigned)w, (unsigned)h, (unsigned long long)need,
				      (unsigned long long)have);
			goto out;
		}
	}
	/* palette: keep indices (label masks); low bit depths: unpack, no scaling */
	if (depth < 8)
		png_set_packing(png);
	if (depth == 16)
		png_set_swap(png); /* little-endian host order */
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	unsigned ch = png_get_channels(png, info);
	unsigned bd = png_get_bit_depth(png, info);
	if ((rc = bia_image_check_limit(ctx, name, w, h, 1, ch, 1)))
		goto out;
	img->format = BIA_FMT_PNG;
	snprintf(img->layout, sizeof(img->layout), "png");
	img->x = w;
	img->y = h;
	img->c = ch;
	img->dtype = bd == 16 ? BIA_U16 : BIA_U8;
	if (opts && opts->header_only)
		goto out;
	size_t rowb = png_get_rowbytes(png, info);
	unsigned char *buf = bia_malloc2(h, rowb);
	rows = bia_calloc(h, sizeof(png_bytep));
	img->data = bia_calloc(bia_image_nsamples(img), bia_dtype_size(img->dtype));
	if (!buf || !rows || !img->data) {
		free(buf);
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = buf + y * rowb;
	png_read_image(png, rows);
	size_t ss = bia_dtype_size(img->dtype);
	for (png_uint_32 y = 0; y < h; y++)
		for (png_uint_32 x = 0; x < w; x++)
			for (unsigned c = 0; c < ch; c++)
				memcpy((unsigned char *)img->data +
					       bia_image_index(img, x, y, 0, c, 0) * ss,
				       rows[y] + ((size_t)x * ch + c) * ss, ss);
	rows[0] = buf; /* freed below */
out:
	if (rows) {
		free(rows[0]);
		free(rows);
	}
	png_destroy_read_struct(&png, &info, NULL);
	if (rc)
		bia_image_release(img);
	return rc;
}

int bia_image_write_png(struct bia_ctx *ctx, const struct bia_image *img,
			const char *path)
{
	if (img->z != 1 || img->t != 1 || (img->c != 1 && img->c != 3) ||
	    (img->dtype != BIA_U8 && img->dtype != BIA_U16))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s: PNG holds only 2D 8/16-bit grey or RGB images", path);
	char tmp[BIA_PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "path '%s' too long", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", tmp, strerror(errno));
	struct png_src src = {NULL, 0, 0, {0}};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &src, png_err,
						  png_warn);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	unsigned char *volatile row = NULL;
	int volatile rc = 0;
	if (!png || !info) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		rc = bia_fail(ctx, BIA_EIO, "%s: cannot write PNG: %s", path, src.err);
		goto out;
	}
	png_init_io(png, f);
	size_t ss = bia_dtype_size(img->dtype);
	png_set_IHDR(png, info, (png_uint_32)img->x, (png_uint_32)img->y, (int)ss * 8,
		     img->c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	if (ss == 2)
		png_set_swap(png);
	row = bia_malloc2(img->x * img->c, ss);
	if (!row) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t y = 0; y < img->y; y++) {
		for (size_t x = 0; x < img->x; x++)
			for (size_t c = 0; c < img->c; c++)
				memcpy(row + (x * img->c + c) * ss,
				       (const unsigned char *)img->data +
					       bia_image_index(img, x, y, 0, c, 0) * ss,
				       ss);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
out:
	free(row);
	if (png)
		png_destroy_write_struct(&png, info ? &info : NULL);
	if (fflush(f) || fsync(fileno(f)))
		if (!rc)
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	fclose(f);
	if (!rc && rename(tmp, path))
		rc = bia_fail(ctx, BIA_EIO, "cannot rename to '%s': %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
