/* Previews: image | ground truth side by side as an 8-bit RGB PNG, for the
 * docs and for a quick look at a generated dataset. 3D stacks are shown as
 * maximum projections, sequences as their middle frame (PrtTrk: with all
 * trajectories), images larger than 256 pixels are reduced, and the image
 * is shown with 32 grey levels, so a preview stays well under 150 KB.
 * SPDX-License-Identifier: MIT */
#include "gen/gen_int.h"

#include <stdlib.h>
#include <string.h>

#define PANEL_MAX 256 /* largest panel side in the PNG */
#define GAP 4	      /* pixels between the panels */

struct canvas {
	uint8_t *rgb;	 /* w*h*3, interleaved */
	size_t w, h;	 /* size */
	size_t ox;	 /* x offset of the panel being drawn */
	size_t pw, ph;	 /* panel size */
	size_t f;	 /* reduction factor image -> panel */
};

static void put(struct canvas *c, long x, long y, const uint8_t col[3])
{
	if (x < 0 || y < 0 || (size_t)x >= c->pw || (size_t)y >= c->ph)
		return;
	uint8_t *p = c->rgb + 3 * ((size_t)y * c->w + c->ox + (size_t)x);
	p[0] = col[0];
	p[1] = col[1];
	p[2] = col[2];
}

/* A distinct bright colour for a label (golden-ratio hues). */
static void label_colour(uint32_t l, uint8_t col[3])
{
	double rgb[3];
	bia_hsv_rgb((double)l * 0.618033988749895, 0.75, l % 3 == 0 ? 0.8 : 1.0, rgb);
	for (int k = 0; k < 3; k++)
		col[k] = (uint8_t)(rgb[k] * 255);
}

/* Left panel: the image, contrast stretched (0.5 and 99.8 percentiles),
 * max projection over Z, frame t, reduced by box averaging. dim: 0..1
 * brightness (the right panel reuses it as a dim backdrop). */
static void draw_image(struct canvas *c, const struct bia_image *img, size_t t, double dim)
{
	size_t w = img->x, h = img->y, nc = img->c == 3 ? 3 : 1;
	float *proj = bia_malloc2(w * h * nc, sizeof(float));
	if (!proj)
		return;
	for (size_t ch = 0; ch < nc; ch++)
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++) {
				double m = -1e30;
				for (size_t z = 0; z < img->z; z++) {
					double v = bia_image_get(img, bia_image_index(img, x, y, z, ch, t));
					if (v > m)
						m = v;
				}
				proj[(ch * h + y) * w + x] = (float)m;
			}
	/* percentiles over all channels */
	size_t n = w * h * nc;
	float *sorted = bia_malloc2(n, sizeof(float));
	double lo = 0, hi = 1;
	if (sorted) {
		memcpy(sorted, proj, n * sizeof(float));
		/* nth elements by a histogram of 4096 bins (data are integers) */
		float mn = sorted[0], mx = sorted[0];
		for (size_t i = 1; i < n; i++) {
			if (sorted[i] < mn)
				mn = sorted[i];
			if (sorted[i] > mx)
				mx = sorted[i];
		}
		size_t hist[4096] = {0};
		double sc = mx > mn ? 4095.0 / (mx - mn) : 0;
		for (size_t i = 0; i < n; i++)
			hist[(size_t)((sorted[i] - mn) * sc)]++;
		size_t acc = 0, a = 0, b = 4095;
		for (size_t i = 0; i < 4096; i++) {
			acc += hist[i];
			if (acc <= n / 200)
				a = i;
			if (acc >= n - n / 500) {
				b = i;
				break;
			}
		}
		lo = mn + (double)a / (sc ? sc : 1);
		hi = mn + (double)(b + 1) / (sc ? sc : 1);
		if (nc == 3) { /* colour images: keep the white balance */
			lo = 0;
			hi = 255;
		}
		free(sorted);
	}
	if (hi <= lo)
		hi = lo + 1;
	for (size_t py = 0; py < c->ph; py++)
		for (size_t px = 0; px < c->pw; px++) {
			uint8_t col[3];
			for (size_t ch = 0; ch < 3; ch++) {
				size_t cc = nc == 3 ? ch : 0;
				/* a dim backdrop is smoothed over 5x5 panel pixels: it only
				 * shows where things are */
				long r = dim < 1 ? 2 : 0;
				double s = 0, ns = 0;
				for (long by = -r; by <= r; by++)
					for (long bx = -r; bx <= r; bx++) {
						long qy = (long)py + by, qx = (long)px + bx;
						if (qy < 0 || qx < 0 || qy >= (long)c->ph || qx >= (long)c->pw)
							continue;
						for (size_t dy = 0; dy < c->f; dy++)
							for (size_t dx = 0; dx < c->f; dx++)
								s += proj[(cc * h + (size_t)qy * c->f + dy) * w +
									  (size_t)qx * c->f + dx];
						ns += (double)(c->f * c->f);
					}
				s /= ns;
				double v = (s - lo) / (hi - lo);
				v = v < 0 ? 0 : v > 1 ? 1 : v;
				/* 32 grey levels (a dim backdrop: 8): plenty to see, and the
				 * PNG stays small */
				int lv = dim < 1 ? 8 : 32;
				col[ch] = (uint8_t)((int)(v * (lv - 1) + 0.5) * (int)(dim * 255) / (lv - 1));
			}
			put(c, (long)px, (long)py, col);
		}
	free(proj);
}

/* Labels of frame t seen from the top (first non-zero label along Z). */
static void draw_labels(struct canvas *c, const uint32_t *lab, size_t w, size_t h, size_t d,
			size_t t, int palette)
{
	static const uint8_t classes[8][3] = {{40, 40, 40},   {220, 60, 160}, {250, 240, 120},
					      {80, 200, 255}, {255, 120, 40}, {120, 255, 120},
					      {160, 120, 255}, {255, 255, 255}};
	for (size_t py = 0; py < c->ph; py++)
		for (size_t px = 0; px < c->pw; px++) {
			size_t x = px * c->f + c->f / 2, y = py * c->f + c->f / 2;
			uint32_t l = 0;
			for (size_t z = 0; z < d && !l; z++)
				l = lab[x + w * (y + h * (z + d * t))];
			uint8_t col[3] = {0, 0, 0};
			if (palette)
				memcpy(col, classes[l % 8], 3);
			else if (l)
				label_colour(l, col);
			put(c, (long)px, (long)py, col);
		}
}

static void draw_disc(struct canvas *c, double x, double y, double r, const uint8_t col[3],
		      int ring)
{
	for (long dy = (long)-ceil(r); dy <= (long)ceil(r); dy++)
		for (long dx = (long)-ceil(r); dx <= (long)ceil(r); dx++) {
			double d = sqrt((double)(dx * dx + dy * dy));
			if (d <= r && (!ring || d > r - 1.2))
				put(c, (long)floor(x + 0.5) + dx, (long)floor(y + 0.5) + dy, col);
		}
}

static void draw_seg(struct canvas *c, double x0, double y0, double x1, double y1,
		     const uint8_t col[3])
{
	double n = fmax(fabs(x1 - x0), fabs(y1 - y0));
	long steps = (long)ceil(n) + 1;
	for (long i = 0; i <= steps; i++) {
		double t = (double)i / (double)steps;
		put(c, (long)floor(x0 + t * (x1 - x0) + 0.5), (long)floor(y0 + t * (y1 - y0) + 0.5),
		    col);
	}
}

/* Depth colour: blue (z = 0) to yellow (z = d - 1). */
static void depth_colour(double z, size_t d, uint8_t col[3])
{
	double f = d > 1 ? z / (double)(d - 1) : 0.5;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	col[0] = (uint8_t)(60 + 195 * f);
	col[1] = (uint8_t)(140 + 100 * f);
	col[2] = (uint8_t)(255 - 215 * f);
}

int bia_gen_preview(struct bia_ctx *ctx, enum bia_class cls, const struct bia_gen_sample *s,
		    const char *png_path)
{
	const struct bia_image *img = &s->image;
	if (!img->data)
		return bia_fail(ctx, BIA_EINVAL, "nothing to preview");
	size_t w = img->x, h = img->y, d = img->z, T = img->t;
	size_t f = 1;
	while ((w > h ? w : h) / f > PANEL_MAX)
		f++;
	struct canvas c = {0};
	c.pw = w / f;
	c.ph = h / f;
	c.f = f;
	c.w = 2 * c.pw + GAP;
	c.h = c.ph;
	struct bia_image out;
	bia_image_init(&out);
	if (bia_image_alloc(ctx, &out, c.w, c.h, 1, 3, 1, BIA_U8))
		return ctx->rc;
	c.rgb = bia_calloc(c.w * c.h * 3, 1);
	uint32_t *lab = NULL;
	if (!c.rgb) {
		bia_image_release(&out);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	memset(c.rgb, 255, c.w * c.h * 3); /* white gap */
	size_t frame = T > 1 ? T / 2 : 0;
	draw_image(&c, img, frame, 1.0);
	c.ox = c.pw + GAP;
	int rc = 0;
	if (cls == BIA_TRETRC) {
		draw_image(&c, img, 0, 0.25);
		for (size_t i = 0; i < s->swc.n; i++) {
			const struct bia_swc_node *nd = &s->swc.nodes[i];
			uint8_t col[3];
			depth_colour(nd->z, d, col);
			if (nd->parent < 0) {
				draw_disc(&c, nd->x / (double)f, nd->y / (double)f, fmax(2, nd->r / (double)f),
					  col, 0);
				continue;
			}
			for (size_t j = 0; j < s->swc.n; j++)
				if (s->swc.nodes[j].id == nd->parent) {
					draw_seg(&c, nd->x / (double)f, nd->y / (double)f,
						 s->swc.nodes[j].x / (double)f, s->swc.nodes[j].y / (double)f,
						 col);
					break;
				}
		}
	} else if (s->gt.data) {
		lab = bia__image_labels(ctx, &s->gt);
		if (!lab) {
			rc = ctx->rc;
			goto out;
		}
		switch (cls) {
		case BIA_OBJSEG:
		case BIA_OBJTRK:
			draw_labels(&c, lab, w, h, d, frame, 0);
			break;
		case BIA_PIXCLA:
			draw_labels(&c, lab, w, h, d, 0, 1);
			break;
		case BIA_LOOTRC:
			draw_image(&c, img, 0, 0.25);
			for (size_t y = 0; y < h; y++)
				for (size_t x = 0; x < w; x++)
					for (size_t z = 0; z < d; z++)
						if (lab[x + w * (y + h * z)]) {
							uint8_t col[3];
							depth_colour((double)z, d, col);
							put(&c, (long)(x / f), (long)(y / f), col);
							break;
						}
			break;
		case BIA_SPTCNT:
		case BIA_OBJDET:
		case BIA_LNDDET: {
			draw_image(&c, img, 0, 0.45);
			uint32_t maxl = 1;
			for (size_t i = 0; i < w * h * d; i++)
				if (lab[i] > maxl)
					maxl = lab[i];
			for (size_t z = 0; z < d; z++)
				for (size_t y = 0; y < h; y++)
					for (size_t x = 0; x < w; x++) {
						uint32_t l = lab[x + w * (y + h * z)];
						if (!l)
							continue;
						uint8_t col[3] = {255, 60, 60};
						if (cls == BIA_LNDDET)
							label_colour(l, col);
						draw_disc(&c, (double)x / (double)f, (double)y / (double)f,
							  cls == BIA_LNDDET ? 3.5 : 2.5, col, cls != BIA_LNDDET);
					}
			break;
		}
		case BIA_PRTTRK: {
			/* trajectories over all frames, the middle frame's particles as dots */
			uint32_t maxl = 0;
			size_t nv = w * h * d;
			for (size_t i = 0; i < nv * T; i++)
				if (lab[i] > maxl)
					maxl = lab[i];
			double(*last)[3] = bia_calloc((size_t)maxl + 1, sizeof(*last));
			if (!last) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			for (size_t i = 0; i < c.pw * c.ph; i++)
				put(&c, (long)(i % c.pw), (long)(i / c.pw), (const uint8_t[3]){0, 0, 0});
			for (size_t t = 0; t < T; t++)
				for (size_t i = 0; i < nv; i++) {
					uint32_t l = lab[t * nv + i];
					if (!l)
						continue;
					double x = (double)(i % w) / (double)f, y = (double)((i / w) % h) / (double)f;
					uint8_t col[3];
					label_colour(l, col);
					if (last[l][2] > 0)
						draw_seg(&c, last[l][0], last[l][1], x, y, col);
					last[l][0] = x;
					last[l][1] = y;
					last[l][2] = 1;
					if (t == frame)
						draw_disc(&c, x, y, 2, (const uint8_t[3]){255, 255, 255}, 0);
				}
			free(last);
			break;
		}
		default:
			break;
		}
	}
	/* interleaved RGB -> planar image */
	for (size_t y = 0; y < c.h; y++)
		for (size_t x = 0; x < c.w; x++)
			for (size_t ch = 0; ch < 3; ch++)
				((uint8_t *)out.data)[bia_image_index(&out, x, y, 0, ch, 0)] =
					c.rgb[3 * (y * c.w + x) + ch];
	rc = bia_image_write_png(ctx, &out, png_path);
out:
	free(lab);
	free(c.rgb);
	bia_image_release(&out);
	return rc;
}
