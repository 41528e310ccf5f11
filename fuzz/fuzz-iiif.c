/* libFuzzer target: IIIF Image API requests (region/size/rotation/
 * quality.format and the z, t, c, window query values) and the overlay
 * filters. Input: lines "W H", the request, z, t, c, window, bbox, limit.
 * A request that parses is rendered from a small in-memory pyramid.
 * SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/overlay.h"
#include "image/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	char *line[8] = {0};
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(text, "\n", &save); t && n < 8;
	     t = strtok_r(NULL, "\n", &save))
		line[n++] = t;
	unsigned long w = 300, h = 200;
	if (line[0])
		sscanf(line[0], "%lu %lu", &w, &h);
	w = w % 100000 + 1;
	h = h % 100000 + 1;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_render_req rr;
	struct bia_pyramid p;
	memset(&p, 0, sizeof(p));
	p.t = 3, p.c = 2, p.z = 4, p.nlevels = 1, p.w[0] = w, p.h[0] = h, p.chunk = 256;
	p.dtype = BIA_U16;
	if (line[1] && bia_iiif_parse(&ctx, line[1], w, h, &rr) == 0) {
		if (rr.rx + rr.rw > w || rr.ry + rr.rh > h || !rr.ow || !rr.oh ||
		    rr.ow * rr.oh > BIA_RENDER_MAX_AREA)
			abort(); /* the parser must keep to the image and the bounds */
		bia_iiif_query(&ctx, &p, line[2], line[3], line[4], line[5], &rr);
	}
	struct bia_overlay_filter f;
	bia_overlay_filter_parse(&ctx, line[2], line[3], line[6], line[7], NULL, &f);
	free(text);
	return 0;
}
