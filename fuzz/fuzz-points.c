/* libFuzzer target: the point-list (CSV/TXT) reader, read as for a 2D and a
 * 3D image, and the rendering of what it accepts into a small mask.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	for (int ndim = 2; ndim <= 3; ndim++) {
		struct bia_ctx ctx;
		struct bia_points pts;
		struct bia_points_opts o = {ndim, ndim == 3 && (size & 1), NULL, (int)(size & 2)};
		bia_ctx_init(&ctx);
		if (bia_points_parse(&ctx, "fuzz.csv", (const char *)data, size, &o, &pts))
			continue;
		struct bia_image like, mask;
		bia_image_init(&like);
		like.x = 16, like.y = 12, like.z = ndim == 3 ? 3 : 1, like.c = 1, like.t = 2;
		like.dtype = BIA_U8;
		if (!bia_points_mask(&ctx, "fuzz.csv", &pts, &like, &mask))
			bia_image_release(&mask);
		like.t = 1;
		if (!bia_points_mask(&ctx, "fuzz.csv", &pts, &like, &mask))
			bia_image_release(&mask);
		bia_points_release(&pts);
	}
	return 0;
}
