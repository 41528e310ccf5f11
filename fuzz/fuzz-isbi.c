/* libFuzzer target: the ISBI 2012 particle-tracking XML parser, and the
 * rendering of what it accepts into a small label stack.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_ptc p;
	bia_ctx_init(&ctx);
	if (size > (1u << 20))
		return 0;
	if (bia_ptc_parse(&ctx, "fuzz.xml", (const char *)data, size, &p))
		return 0;
	struct bia_image like, lab;
	bia_image_init(&like);
	like.x = 16, like.y = 12, like.z = 2, like.c = 1, like.t = 4;
	like.dtype = BIA_U8;
	if (!bia_ptc_stack(&ctx, "fuzz.xml", &p, &like, 0, &lab))
		bia_image_release(&lab);
	bia_ptc_release(&p);
	return 0;
}
