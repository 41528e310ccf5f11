/* Private to src/image: per-format readers and writers.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_IMAGE_INT_H
#define BIA_IMAGE_INT_H

#include <stdarg.h>

#include "image/image.h"

int bia__tiff_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		       size_t len, const struct bia_read_opts *opts,
		       struct bia_image *img);
int bia__png_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		      size_t len, const struct bia_read_opts *opts,
		      struct bia_image *img);
int bia__jpeg_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		       size_t len, const struct bia_read_opts *opts,
		       struct bia_image *img);

/* TIFF (tiff.c): bytes of the current page's strips or tiles inside a file
 * of file_len bytes, and the most a compression scheme can expand its data
 * (0: no bound known). A header claiming more than stored x ratio bytes is
 * a bomb or a truncated file. */
struct tiff;
uint64_t bia__tiff_stored_bytes(struct tiff *tif, uint64_t file_len);
uint64_t bia__tiff_max_ratio(uint16_t compression);
/* A libtiff warning handler that drops warnings (they are not failures). */
int bia__tiff_no_warning(struct tiff *tif, void *ud, const char *module, const char *fmt,
			 va_list ap);

#endif
