/* Private to src/image: per-format readers and writers.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_IMAGE_INT_H
#define BIA_IMAGE_INT_H

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

#endif
