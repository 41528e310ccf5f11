/* Label arrays from images of any sample type.
 * SPDX-License-Identifier: MIT */
#include "annot/annot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bia_labels_u32(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
		   uint32_t **plab)
{
	size_t n = bia_image_nsamples(img);
	uint32_t *lab = bia_malloc2(n ? n : 1, sizeof(uint32_t));
	if (!lab)
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
	switch (img->dtype) {
	case BIA_U8:
		for (size_t i = 0; i < n; i++)
			lab[i] = ((const uint8_t *)img->data)[i];
		break;
	case BIA_U16:
		for (size_t i = 0; i < n; i++)
			lab[i] = ((const uint16_t *)img->data)[i];
		break;
	case BIA_U32:
		memcpy(lab, img->data, n * sizeof(uint32_t));
		break;
	case BIA_I32:
		for (size_t i = 0; i < n; i++) {
			int32_t v = ((const int32_t *)img->data)[i];
			if (v < 0) {
				free(lab);
				return bia_fail(ctx, BIA_EFORMAT, "%s: negative label %d", what, (int)v);
			}
			lab[i] = (uint32_t)v;
		}
		break;
	case BIA_F32:
		for (size_t i = 0; i < n; i++) {
			float v = ((const float *)img->data)[i];
			if (!(v >= 0) || v != floorf(v) || v > 4294967295.0f) {
				free(lab);
				return bia_fail(ctx, BIA_EFORMAT,
						"%s: labels must be non-negative integers (found %g)",
						what, (double)v);
			}
			lab[i] = (uint32_t)v;
		}
		break;
	default:
		free(lab);
		return bia_fail(ctx, BIA_EFORMAT, "%s: unknown sample type", what);
	}
	*plab = lab;
	return 0;
}
