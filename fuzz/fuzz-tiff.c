/* libFuzzer target: the image readers (TIFF incl. OME-XML/ImageJ/shaped
 * descriptions, PNG, JPEG) on arbitrary bytes.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	ctx.max_pixels = 1u << 20; /* keep each input cheap, as libvips' fuzzers do */
	if (bia_image_read_mem(&ctx, "fuzz", data, size, NULL, &img) == 0) {
		/* touch every sample so ASan sees any short buffer */
		double sum = 0;
		size_t n = bia_image_nsamples(&img);
		for (size_t i = 0; i < n; i++)
			sum += bia_image_get(&img, i);
		(void)sum;
		bia_image_release(&img);
	}
	return 0;
}
