/* libFuzzer target: the OME-XML parser.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_ome_pixels px;
	bia_ctx_init(&ctx);
	if (size > (1u << 20))
		return 0;
	if (bia_ome_parse(&ctx, (const char *)data, size, &px) == 0)
		bia_ome_pixels_release(&px);
	return 0;
}
