/* The N-d image type: allocation, limits, sample access.
 * SPDX-License-Identifier: MIT */
#include "image/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[BIA_U8] = {"uint8", 1},   [BIA_U16] = {"uint16", 2}, [BIA_U32] = {"uint32", 4},
	[BIA_I32] = {"int32", 4},  [BIA_F32] = {"float32", 4},
};

const char *bia_dtype_name(enum bia_dtype t)
{
	if (t < BIA_U8 || t > BIA_F32)
		return "unknown";
	return dtypes[t].name;
}

size_t bia_dtype_size(enum bia_dtype t)
{
	if (t < BIA_U8 || t > BIA_F32)
		return 0;
	return dtypes[t].size;
}

enum bia_dtype bia_dtype_parse(const char *s)
{
	for (int t = BIA_U8; t <= BIA_F32; t++)
		if (!strcmp(s, dtypes[t].name))
			return (enum bia_dtype)t;
	return 0;
}

const char *bia_format_name(enum bia_format f)
{
	switch (f) {
	case BIA_FMT_TIFF:
		return "tiff";
	case BIA_FMT_PNG:
		return "png";
	case BIA_FMT_JPEG:
		return "jpeg";
	default:
		return "unknown";
	}
}

void bia_image_init(struct bia_image *img)
{
	memset(img, 0, sizeof(*img));
	img->x = img->y = img->z = img->c = img->t = 1;
	img->dtype = BIA_U8;
}

int bia_image_check_limit(struct bia_ctx *ctx, const char *what, uint64_t x, uint64_t y,
			  uint64_t z, uint64_t c, uint64_t t)
{
	uint64_t dims[5] = {x, y, z, c, t}, n = 1;
	for (int i = 0; i < 5; i++) {
		if (dims[i] == 0)
			return bia_fail(ctx, BIA_EFORMAT, "%s: image has a zero dimension", what);
		if (n > UINT64_MAX / dims[i]) {
			n = UINT64_MAX;
			break;
		}
		n *= dims[i];
	}
	if (n > ctx->max_pixels || n > SIZE_MAX / 8)
		return bia_fail(ctx, BIA_ELIMIT,
				"%s: image of %llux%llux%llu C=%llu T=%llu exceeds the limit "
				"of %llu samples",
				what, (unsigned long long)x, (unsigned long long)y,
				(unsigned long long)z, (unsigned long long)c,
				(unsigned long long)t, (unsigned long long)ctx->max_pixels);
	return 0;
}

int bia_image_check_bytes(struct bia_ctx *ctx, const char *what, uint64_t nsamples,
			  size_t sample_bytes)
{
	if (!ctx->max_image_bytes)
		return 0;
	uint64_t b = nsamples > UINT64_MAX / sample_bytes ? UINT64_MAX : nsamples * sample_bytes;
	if (b > ctx->max_image_bytes)
		return bia_fail(ctx, BIA_ELIMIT,
				"%s: image of %llu samples needs %llu bytes, more than the "
				"memory budget of %llu bytes",
				what, (unsigned long long)nsamples, (unsigned long long)b,
				(unsigned long long)ctx->max_image_bytes);
	return 0;
}

int bia_image_alloc(struct bia_ctx *ctx, struct bia_image *img, size_t x, size_t y,
		    size_t z, size_t c, size_t t, enum bia_dtype dtype)
{
	int rc = bia_image_check_limit(ctx, "image", x, y, z, c, t);
	if (rc)
		return rc;
	if (!bia_dtype_size(dtype))
		return bia_fail(ctx, BIA_EINVAL, "unknown sample type %d", (int)dtype);
	size_t n = x * y * z * c * t;
	if ((rc = bia_image_check_bytes(ctx, "image", n, bia_dtype_size(dtype))))
		return rc;
	void *data = bia_calloc(n, bia_dtype_size(dtype));
	if (!data)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory for a %zux%zux%zu image", x,
				y, z);
	free(img->data);
	img->data = data;
	img->x = x;
	img->y = y;
	img->z = z;
	img->c = c;
	img->t = t;
	img->dtype = dtype;
	return 0;
}

void bia_image_release(struct bia_image *img)
{
	free(img->data);
	bia_image_init(img);
}

size_t bia_image_nsamples(const struct bia_image *img)
{
	return img->x * img->y * img->z * img->c * img->t;
}

size_t bia_image_nbytes(const struct bia_image *img)
{
	return bia_image_nsamples(img) * bia_dtype_size(img->dtype);
}

double bia_image_get(const struct bia_image *img, size_t i)
{
	switch (img->dtype) {
	case BIA_U8:
		return ((const uint8_t *)img->data)[i];
	case BIA_U16:
		return ((const uint16_t *)img->data)[i];
	case BIA_U32:
		return ((const uint32_t *)img->data)[i];
	case BIA_I32:
		return ((const int32_t *)img->data)[i];
	case BIA_F32:
		return ((const float *)img->data)[i];
	}
	return 0;
}

static double clampd(double v, double lo, double hi)
{
	if (isnan(v))
		return 0;
	return v < lo ? lo : v > hi ? hi : v;
}

void bia_image_set(struct bia_image *img, size_t i, double v)
{
	switch (img->dtype) {
	case BIA_U8:
		((uint8_t *)img->data)[i] = (uint8_t)lround(clampd(v, 0, 255));
		break;
	case BIA_U16:
		((uint16_t *)img->data)[i] = (uint16_t)lround(clampd(v, 0, 65535));
		break;
	case BIA_U32:
		((uint32_t *)img->data)[i] = (uint32_t)llround(clampd(v, 0, 4294967295.0));
		break;
	case BIA_I32:
		((int32_t *)img->data)[i] =
			(int32_t)llround(clampd(v, -2147483648.0, 2147483647.0));
		break;
	case BIA_F32:
		((float *)img->data)[i] = (float)v;
		break;
	}
}

void bia_image_shape_str(const struct bia_image *img, char *out, size_t outsz)
{
	int n = img->z > 1 ? snprintf(out, outsz, "%zux%zux%zu", img->x, img->y, img->z)
			   : snprintf(out, outsz, "%zux%zu", img->x, img->y);
	if (n < 0 || (size_t)n >= outsz)
		return;
	if (img->c > 1)
		n += snprintf(out + n, outsz - (size_t)n, " C=%zu", img->c);
	if (n >= 0 && (size_t)n < outsz && img->t > 1)
		snprintf(out + n, outsz - (size_t)n, " T=%zu", img->t);
}
