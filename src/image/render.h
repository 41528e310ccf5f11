/* Rendering 8-bit views of a pyramid (IIIF Image API 3.0 requests):
 * region, size, rotation, quality, format; plane, channels and intensity
 * window for 16/32-bit data; a label layer drawn on top.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_RENDER_H
#define BIA_RENDER_H

#include "image/pyramid.h"
#include "util/util.h"

#define BIA_RENDER_MAX_CHANNELS 16
#define BIA_RENDER_MAX_SIDE 8192
#define BIA_RENDER_MAX_AREA (UINT64_C(2048) * 2048)

enum bia_quality { BIA_Q_DEFAULT, BIA_Q_COLOR, BIA_Q_GRAY, BIA_Q_BITONAL };
enum bia_render_format { BIA_RF_JPG, BIA_RF_PNG, BIA_RF_WEBP };

struct bia_render_req {
	size_t rx, ry, rw, rh; /* region, level-0 pixels (clipped to the image) */
	size_t ow, oh;	       /* output size before rotation */
	int rot;	       /* 0, 90, 180, 270 (clockwise) */
	int mirror;	       /* 1: mirrored before rotating ("!" prefix) */
	enum bia_quality quality;
	enum bia_render_format format;
	size_t z, t;
	size_t nch;			     /* channels drawn; 0: the defaults */
	size_t ch[BIA_RENDER_MAX_CHANNELS];
	int has_window;			     /* window given (else the pyramid's) */
	double wlo[BIA_RENDER_MAX_CHANNELS], whi[BIA_RENDER_MAX_CHANNELS];
	double label_alpha;		     /* labels drawn with this opacity, 0..1 */
};

/* Parse "{region}/{size}/{rotation}/{quality}.{format}" of an image of
 * W x H (IIIF Image API 3.0). BIA_EINVAL names what is wrong: a region
 * outside the image, a size over the bounds or upscaled without "^", a
 * rotation that is not a multiple of 90, an unknown quality or format. */
int bia_iiif_parse(struct bia_ctx *ctx, const char *spec, size_t W, size_t H,
		   struct bia_render_req *rr);
/* Apply the query extensions: z, t (plane), c ("0,2": channels), window
 * ("lo,hi" for every channel, or "lo,hi;lo,hi" per channel). */
int bia_iiif_query(struct bia_ctx *ctx, const struct bia_pyramid *p, const char *z,
		   const char *t, const char *c, const char *window, struct bia_render_req *rr);

/* Render rr from p (labels: a label pyramid of the same image drawn on
 * top, or NULL) and encode it; *pout (malloc'd) and *plen, *ptype the MIME
 * type. */
int bia_render(struct bia_ctx *ctx, const struct bia_pyramid *p, const struct bia_pyramid *labels,
	       const struct bia_render_req *rr, unsigned char **pout, size_t *plen,
	       const char **ptype);

#endif
