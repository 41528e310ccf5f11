/* IIIF requests over pyramids: parsing, rendering (nearest sample of the
 * closest finer level, per-channel window and colour, labels on top),
 * encoding (JPEG, PNG, WebP).
 * SPDX-License-Identifier: MIT */
#include "image/render.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>
#include <jpeglib.h>

/* ------------------------------------------------------------- parsing */

static int bad(struct bia_ctx *ctx, const char *fmt, const char *what)
{
	return bia_fail(ctx, BIA_EINVAL, fmt, what);
}

/* n numbers separated by commas, all of s; 0 on success */
static int numbers(const char *s, double *v, int n, int integers)
{
	const char *p = s;
	for (int i = 0; i < n; i++) {
		char *end;
		if (!*p || *p == '+' || *p == '-' || (*p != '.' && (*p < '0' || *p > '9')))
			return -1;
		v[i] = strtod(p, &end);
		if (end == p || !isfinite(v[i]) || v[i] < 0)
			return -1;
		if (integers && (strspn(p, "0123456789") != (size_t)(end - p) || v[i] > 1e9))
			return -1;
		p = end;
		if (i + 1 < n) {
			if (*p != ',')
				return -1;
			p++;
		}
	}
	return *p ? -1 : 0;
}

static int parse_region(struct bia_ctx *ctx, const char *s, size_t W, size_t H,
			struct bia_render_req *rr)
{
	double v[4];
	if (!strcmp(s, "full")) {
		rr->rx = rr->ry = 0;
		rr->rw = W;
		rr->rh = H;
		return 0;
	}
	if (!strcmp(s, "square")) {
		size_t side = W < H ? W : H;
		rr->rx = (W - side) / 2;
		rr->ry = (H - side) / 2;
		rr->rw = rr->rh = side;
		return 0;
	}
	if (!strncmp(s, "pct:", 4)) {
		if (numbers(s + 4, v, 4, 0) || v[0] > 100 || v[1] > 100)
			return bad(ctx, "region '%s': expected pct:x,y,w,h with percentages", s);
		v[0] = floor(v[0] * (double)W / 100);
		v[1] = floor(v[1] * (double)H / 100);
		v[2] = floor(v[2] * (double)W / 100 + 0.5);
		v[3] = floor(v[3] * (double)H / 100 + 0.5);
	} else if (numbers(s, v, 4, 1)) {
		return bad(ctx, "region '%s': expected full, square, x,y,w,h or pct:x,y,w,h", s);
	}
	if (v[2] < 1 || v[3] < 1)
		return bad(ctx, "region '%s' is empty", s);
	if (v[0] >= (double)W || v[1] >= (double)H)
		return bad(ctx, "region '%s' is outside the image", s);
	rr->rx = (size_t)v[0];
	rr->ry = (size_t)v[1];
	rr->rw = (size_t)fmin(v[2], (double)(W - rr->rx));
	rr->rh = (size_t)fmin(v[3], (double)(H - rr->ry));
	return 0;
}

static int parse_size(struct bia_ctx *ctx, const char *s0, struct bia_render_req *rr)
{
	const char *s = s0;
	int up = 0;
	if (*s == '^') {
		up = 1;
		s++;
	}
	double rw = (double)rr->rw, rh = (double)rr->rh, w, h, v[2];
	if (!strcmp(s, "max")) {
		w = rw;
		h = rh;
		double k = fmin(1.0, sqrt((double)BIA_RENDER_MAX_AREA / (w * h)));
		k = fmin(k, fmin(BIA_RENDER_MAX_SIDE / w, BIA_RENDER_MAX_SIDE / h));
		w = floor(w * k);
		h = floor(h * k);
	} else if (!strncmp(s, "pct:", 4)) {
		if (numbers(s + 4, v, 1, 0) || v[0] <= 0)
			return bad(ctx, "size '%s': expected pct:n with n > 0", s0);
		w = floor(rw * v[0] / 100 + 0.5);
		h = floor(rh * v[0] / 100 + 0.5);
	} else if (*s == '!') {
		if (numbers(s + 1, v, 2, 1) || v[0] < 1 || v[1] < 1)
			return bad(ctx, "size '%s': expected !w,h", s0);
		double k = fmin(v[0] / rw, v[1] / rh);
		if (!up)
			k = fmin(k, 1.0);
		w = floor(rw * k + 0.5);
		h = floor(rh * k + 0.5);
	} else if (*s == ',') {
		if (numbers(s + 1, v, 1, 1) || v[0] < 1)
			return bad(ctx, "size '%s': expected ,h", s0);
		h = v[0];
		w = floor(rw * h / rh + 0.5);
	} else if (s[0] && s[strlen(s) - 1] == ',') {
		char t[64];
		snprintf(t, sizeof(t), "%.*s", (int)strlen(s) - 1, s);
		if (numbers(t, v, 1, 1) || v[0] < 1)
			return bad(ctx, "size '%s': expected w,", s0);
		w = v[0];
		h = floor(rh * w / rw + 0.5);
	} else {
		if (numbers(s, v, 2, 1) || v[0] < 1 || v[1] < 1)
			return bad(ctx, "size '%s': expected max, w,, ,h, pct:n, w,h or !w,h", s0);
		w = v[0];
		h = v[1];
	}
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	if (!up && (w > rw || h > rh))
		return bad(ctx, "size '%s' is larger than the region (use ^ to upscale)", s0);
	if (w > BIA_RENDER_MAX_SIDE || h > BIA_RENDER_MAX_SIDE || w * h > (double)BIA_RENDER_MAX_AREA)
		return bad(ctx, "size '%s' is over the bound of this server (maxArea in info.json)",
			   s0);
	rr->ow = (size_t)w;
	rr->oh = (size_t)h;
	return 0;
}

int bia_iiif_parse(struct bia_ctx *ctx, const char *spec, size_t W, size_t H,
		   struct bia_render_req *rr)
{
	memset(rr, 0, sizeof(*rr));
	rr->label_alpha = 0.5;
	char buf[512], *part[4];
	if (strlen(spec) >= sizeof(buf))
		return bia_fail(ctx, BIA_EINVAL, "the IIIF request is too long");
	snprintf(buf, sizeof(buf), "%s", spec);
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		part[i] = p;
		char *sl = strchr(p, '/');
		if (i < 3) {
			if (!sl)
				return bia_fail(ctx, BIA_EINVAL,
						"expected {region}/{size}/{rotation}/{quality}.{format}");
			*sl = 0;
			p = sl + 1;
		} else if (sl) {
			return bia_fail(ctx, BIA_EINVAL,
					"expected {region}/{size}/{rotation}/{quality}.{format}");
		}
	}
	if (!W || !H)
		return bia_fail(ctx, BIA_EINVAL, "empty image");
	if (parse_region(ctx, part[0], W, H, rr) || parse_size(ctx, part[1], rr))
		return ctx->rc;
	const char *r = part[2];
	if (*r == '!') {
		rr->mirror = 1;
		r++;
	}
	double deg;
	if (numbers(r, &deg, 1, 0) || deg >= 360 || fmod(deg, 90) != 0)
		return bad(ctx, "rotation '%s': this server rotates by 0, 90, 180 or 270 degrees",
			   part[2]);
	rr->rot = (int)deg;
	char *dot = strrchr(part[3], '.');
	if (!dot)
		return bad(ctx, "'%s': expected {quality}.{format}", part[3]);
	*dot = 0;
	const char *q = part[3], *f = dot + 1;
	if (!strcmp(q, "default"))
		rr->quality = BIA_Q_DEFAULT;
	else if (!strcmp(q, "color"))
		rr->quality = BIA_Q_COLOR;
	else if (!strcmp(q, "gray"))
		rr->quality = BIA_Q_GRAY;
	else if (!strcmp(q, "bitonal"))
		rr->quality = BIA_Q_BITONAL;
	else
		return bad(ctx, "quality '%s': expected default, color, gray or bitonal", q);
	if (!strcmp(f, "jpg"))
		rr->format = BIA_RF_JPG;
	else if (!strcmp(f, "png"))
		rr->format = BIA_RF_PNG;
	else if (!strcmp(f, "webp"))
		rr->format = BIA_RF_WEBP;
	else
		return bad(ctx, "format '%s': expected jpg, png or webp", f);
	return 0;
}

static int parse_index(struct bia_ctx *ctx, const char *name, const char *s, size_t n,
		       size_t *out)
{
	double v;
	if (numbers(s, &v, 1, 1) || v >= (double)n)
		return bia_fail(ctx, BIA_EINVAL, "%s=%s: expected 0 to %zu", name, s, n - 1);
	*out = (size_t)v;
	return 0;
}

int bia_iiif_query(struct bia_ctx *ctx, const struct bia_pyramid *p, const char *z,
		   const char *t, const char *c, const char *window, struct bia_render_req *rr)
{
	rr->z = p->z / 2;
	if ((z && parse_index(ctx, "z", z, p->z, &rr->z)) ||
	    (t && parse_index(ctx, "t", t, p->t, &rr->t)))
		return ctx->rc;
	if (c) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", c);
		rr->nch = 0;
		for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (rr->nch == BIA_RENDER_MAX_CHANNELS)
				return bia_fail(ctx, BIA_EINVAL, "c: at most %d channels",
						BIA_RENDER_MAX_CHANNELS);
			if (parse_index(ctx, "c", tok, p->c, &rr->ch[rr->nch]))
				return ctx->rc;
			rr->nch++;
		}
		if (!rr->nch)
			return bia_fail(ctx, BIA_EINVAL, "c: expected channel numbers (0,1,...)");
	}
	if (window) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s", window);
		size_t k = 0;
		for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
		     tok = strtok_r(NULL, ";", &save)) {
			double lo, hi;
			char *e1, *e2;
			lo = strtod(tok, &e1);
			if (e1 == tok || *e1 != ',')
				return bia_fail(ctx, BIA_EINVAL, "window: expected lo,hi (or lo,hi;lo,hi)");
			hi = strtod(e1 + 1, &e2);
			if (e2 == e1 + 1 || *e2 || !isfinite(lo) || !isfinite(hi) || hi <= lo)
				return bia_fail(ctx, BIA_EINVAL, "window: expected lo,hi with lo < hi");
			if (k == BIA_RENDER_MAX_CHANNELS)
				return bia_fail(ctx, BIA_EINVAL, "window: too many channels");
			rr->wlo[k] = lo;
			rr->whi[k] = hi;
			k++;
		}
		if (!k)
			return bia_fail(ctx, BIA_EINVAL, "window: expected lo,hi");
		for (; k < BIA_RENDER_MAX_CHANNELS; k++) {
			rr->wlo[k] = rr->wlo[k - 1];
			rr->whi[k] = rr->whi[k - 1];
		}
		rr->has_window = 1;
	}
	return 0;
}

/* ------------------------------------------------------------ rendering */

/* One row of chunks of a level kept decompressed, for a row-by-row walk. */
struct rowcache {
	const struct bia_pyramid *p;
	size_t level, t, c, z, qa, nq;
	size_t r;	     /* chunk row held, SIZE_MAX none */
	unsigned char *buf; /* nq chunks */
	size_t cb;
};

static int rc_load(struct bia_ctx *ctx, struct rowcache *rc, size_t r)
{
	if (rc->r == r)
		return 0;
	for (size_t i = 0; i < rc->nq; i++)
		if (bia_pyramid_chunk(ctx, rc->p, rc->level, rc->t, rc->c, rc->z, r, rc->qa + i,
				      rc->buf + i * rc->cb))
			return ctx->rc;
	rc->r = r;
	return 0;
}

static size_t pick_level(const struct bia_pyramid *p, const struct bia_render_req *rr)
{
	double s = fmin((double)rr->rw / (double)rr->ow, (double)rr->rh / (double)rr->oh);
	size_t k = 0;
	while (k + 1 < p->nlevels && ldexp(1.0, (int)k + 1) <= s + 1e-9)
		k++;
	return k;
}

/* Where every output column and row samples level k: xm/ym the level's
 * coordinates. */
static void maps(const struct bia_render_req *rr, size_t k, size_t lw, size_t lh, size_t *xm,
		 size_t *ym)
{
	double f = ldexp(1.0, (int)k);
	for (size_t i = 0; i < rr->ow; i++) {
		double x = ((double)rr->rx + ((double)i + 0.5) * (double)rr->rw / (double)rr->ow) / f;
		size_t v = (size_t)x;
		xm[i] = v < lw ? v : lw - 1;
	}
	for (size_t j = 0; j < rr->oh; j++) {
		double y = ((double)rr->ry + ((double)j + 0.5) * (double)rr->rh / (double)rr->oh) / f;
		size_t v = (size_t)y;
		ym[j] = v < lh ? v : lh - 1;
	}
}

/* The 8-bit value of a sample through a window: a table for 8/16-bit data,
 * arithmetic for 32-bit. */
struct win8 {
	uint8_t *lut; /* 256 or 65536 entries, or NULL */
	double lo, scale;
};

static uint8_t to8(double v, const struct win8 *w)
{
	double x = (v - w->lo) * w->scale;
	return x <= 0 ? 0 : x >= 255 ? 255 : (uint8_t)(x + 0.5);
}

static int win_make(const struct bia_pyramid *p, double lo, double hi, struct win8 *w)
{
	w->lo = lo;
	w->scale = 255.0 / (hi - lo);
	w->lut = NULL;
	size_t n = p->dtype == BIA_U8 ? 256 : p->dtype == BIA_U16 ? 65536 : 0;
	if (!n)
		return 0;
	w->lut = malloc(n);
	if (!w->lut)
		return -1;
	for (size_t v = 0; v < n; v++)
		w->lut[v] = to8((double)v, w);
	return 0;
}

/* Walk the output row by row over channel c of p at level k: row8 (ow
 * bytes) gets each row's 8-bit values (win != NULL), or ids (ow int64)
 * the raw integer values; fn consumes the row. */
struct walk_out {
	void (*fn)(void *ud, size_t j, const uint8_t *row8, const int64_t *ids);
	void *ud;
};

static int walk(struct bia_ctx *ctx, const struct bia_pyramid *p, size_t k, size_t t, size_t c,
		size_t z, const struct bia_render_req *rr, const size_t *xm, const size_t *ym,
		const struct win8 *win, const struct walk_out *out)
{
	size_t cs = p->chunk, ow = rr->ow;
	struct rowcache rc = {p, k, t, c, z, xm[0] / cs, xm[ow - 1] / cs - xm[0] / cs + 1,
			      SIZE_MAX, NULL, cs * cs * bia_dtype_size(p->dtype)};
	size_t *off = malloc(ow * sizeof(size_t)); /* sample offset of column i in the row */
	uint8_t *row8 = malloc(ow);
	int64_t *ids = win ? NULL : malloc(ow * sizeof(int64_t));
	rc.buf = malloc(rc.nq * rc.cb);
	int err = 0;
	if (!off || !row8 || (!win && !ids) || !rc.buf) {
		err = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ow; i++)
		off[i] = (xm[i] / cs - rc.qa) * cs * cs + xm[i] % cs;
	for (size_t j = 0; j < rr->oh && !err; j++) {
		size_t sy = ym[j];
		if ((err = rc_load(ctx, &rc, sy / cs)))
			break;
		size_t yy = (sy % cs) * cs;
		if (win && win->lut && p->dtype == BIA_U8) {
			const uint8_t *b = rc.buf + yy;
			for (size_t i = 0; i < ow; i++)
				row8[i] = win->lut[b[off[i]]];
		} else if (win && win->lut) {
			const uint16_t *b = (const uint16_t *)rc.buf + yy;
			for (size_t i = 0; i < ow; i++)
				row8[i] = win->lut[b[off[i]]];
		} else {
			for (size_t i = 0; i < ow; i++) {
				double v = bia_pyramid_sample(p, rc.buf, off[i] + yy);
				if (win)
					row8[i] = to8(v, win);
				else
					ids[i] = (int64_t)v;
			}
		}
		out->fn(out->ud, j, row8, ids);
	}
out:
	free(off);
	free(row8);
	free(ids);
	free(rc.buf);
	return err;
}

/* How channels land in the output: grey (one byte a pixel), one component
 * of RGB, or added in a colour (RGB accumulators). */
struct sink {
	size_t ow;
	uint8_t *grey;	 /* grey output */
	uint8_t *rgb;	 /* or RGB output (component comp) */
	int comp;
	uint16_t *acc;	 /* or accumulators */
	unsigned cr, cg, cb;
	double alpha;	 /* labels: opacity */
};

static void to_grey(void *ud, size_t j, const uint8_t *row8, const int64_t *ids)
{
	(void)ids;
	struct sink *s = ud;
	memcpy(s->grey + j * s->ow, row8, s->ow);
}

static void to_comp(void *ud, size_t j, const uint8_t *row8, const int64_t *ids)
{
	(void)ids;
	struct sink *s = ud;
	uint8_t *o = s->rgb + 3 * j * s->ow + s->comp;
	for (size_t i = 0; i < s->ow; i++)
		o[3 * i] = row8[i];
}

static void to_acc(void *ud, size_t j, const uint8_t *row8, const int64_t *ids)
{
	(void)ids;
	struct sink *s = ud;
	uint16_t *a = s->acc + 3 * j * s->ow;
	for (size_t i = 0; i < s->ow; i++) {
		unsigned n = row8[i];
		a[3 * i] = (uint16_t)(a[3 * i] + (n * s->cr + 127) / 255);
		a[3 * i + 1] = (uint16_t)(a[3 * i + 1] + (n * s->cg + 127) / 255);
		a[3 * i + 2] = (uint16_t)(a[3 * i + 2] + (n * s->cb + 127) / 255);
	}
}

static void to_labels(void *ud, size_t j, const uint8_t *row8, const int64_t *ids)
{
	(void)row8;
	struct sink *s = ud;
	uint8_t *o = s->rgb + 3 * j * s->ow;
	for (size_t i = 0; i < s->ow; i++) {
		if (!ids[i])
			continue;
		uint32_t c = bia_label_color(ids[i]);
		for (int k = 0; k < 3; k++) {
			double col = (c >> (16 - 8 * k)) & 255;
			o[3 * i + k] = (uint8_t)((1 - s->alpha) * o[3 * i + k] + s->alpha * col + 0.5);
		}
	}
}

struct membuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void png_write(png_structp png, png_bytep data, png_size_t n)
{
	struct membuf *m = png_get_io_ptr(png);
	if (m->oom)
		return;
	if (m->len + n > m->cap) {
		size_t cap = (m->cap ? m->cap * 2 : 65536);
		while (cap < m->len + n)
			cap *= 2;
		unsigned char *t = realloc(m->p, cap);
		if (!t) {
			m->oom = 1;
			return;
		}
		m->p = t;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, n);
	m->len += n;
}

static void png_flush(png_structp png)
{
	(void)png;
}

static int encode_png(struct bia_ctx *ctx, const unsigned char *px, size_t w, size_t h, int nc,
		      unsigned char **pout, size_t *plen)
{
	struct membuf m = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(m.p);
		return bia_fail(ctx, BIA_EIO, "png: encoding failed");
	}
	png_set_write_fn(png, &m, png_write, png_flush);
	png_set_compression_level(png, 1);
	png_set_filter(png, 0, PNG_FILTER_SUB);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
		     nc == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (size_t y = 0; y < h; y++)
		png_write_row(png, (png_const_bytep)(px + y * w * (size_t)nc));
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	if (m.oom) {
		free(m.p);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	*pout = m.p;
	*plen = m.len;
	return 0;
}

static int encode_jpg(struct bia_ctx *ctx, const unsigned char *px, size_t w, size_t h, int nc,
		      unsigned char **pout, size_t *plen)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	unsigned char *buf = NULL;
	unsigned long len = 0;
	jpeg_mem_dest(&ci, &buf, &len);
	ci.image_width = (JDIMENSION)w;
	ci.image_height = (JDIMENSION)h;
	ci.input_components = nc;
	ci.in_color_space = nc == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 85, TRUE);
	ci.dct_method = JDCT_IFAST;
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * (size_t)nc);
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	if (!buf)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	*pout = buf;
	*plen = len;
	return 0;
}

static int encode_webp(struct bia_ctx *ctx, const unsigned char *px, size_t w, size_t h, int nc,
		       unsigned char **pout, size_t *plen)
{
	unsigned char *rgb = (unsigned char *)px, *tmp = NULL;
	if (nc == 1) {
		tmp = malloc(w * h * 3);
		if (!tmp)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		for (size_t i = 0; i < w * h; i++)
			tmp[3 * i] = tmp[3 * i + 1] = tmp[3 * i + 2] = px[i];
		rgb = tmp;
	}
	uint8_t *out = NULL;
	size_t n = WebPEncodeRGB(rgb, (int)w, (int)h, (int)(w * 3), 80, &out);
	free(tmp);
	if (!n)
		return bia_fail(ctx, BIA_EIO, "webp: encoding failed");
	*pout = malloc(n);
	if (*pout)
		memcpy(*pout, out, n);
	WebPFree(out);
	if (!*pout)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	*plen = n;
	return 0;
}

int bia_render(struct bia_ctx *ctx, const struct bia_pyramid *p, const struct bia_pyramid *labels,
	       const struct bia_render_req *rr, unsigned char **pout, size_t *plen,
	       const char **ptype)
{
	*pout = NULL;
	*plen = 0;
	size_t ow = rr->ow, oh = rr->oh, n = ow * oh;
	if (!ow || !oh || rr->rx + rr->rw > p->w[0] || rr->ry + rr->rh > p->h[0] || rr->z >= p->z ||
	    rr->t >= p->t)
		return bia_fail(ctx, BIA_EINVAL, "render: region or plane outside the image");
	size_t k = pick_level(p, rr);
	/* channels and their windows */
	size_t ch[BIA_RENDER_MAX_CHANNELS], nch = rr->nch;
	if (nch)
		memcpy(ch, rr->ch, nch * sizeof(size_t));
	else
		for (nch = 0; nch < p->c && nch < 7; nch++)
			ch[nch] = nch;
	int rgb_img = p->c == 3 && p->dtype == BIA_U8;
	int direct = rgb_img && nch == 3 && ch[0] == 0 && ch[1] == 1 && ch[2] == 2;
	int grey = nch == 1 && !labels;
	size_t *xm = malloc(ow * sizeof(*xm)), *ym = malloc(oh * sizeof(*ym));
	unsigned char *px = malloc(n * (grey ? 1 : 3)), *rot = NULL;
	uint16_t *acc = grey || direct ? NULL : calloc(n * 3, sizeof(*acc));
	struct win8 w = {0};
	int rc = 0, nc = grey ? 1 : 3;
	if (!xm || !ym || !px || (!grey && !direct && !acc)) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	maps(rr, k, p->w[k], p->h[k], xm, ym);
	for (size_t i = 0; i < nch && !rc; i++) {
		size_t c = ch[i];
		double lo, hi;
		if (rr->has_window) {
			lo = rr->wlo[i];
			hi = rr->whi[i];
		} else if (p->dtype == BIA_U8) {
			lo = 0;
			hi = 255;
		} else {
			lo = c < p->nwin ? p->win_start[c] : 0;
			hi = c < p->nwin ? p->win_end[c] : 1;
			if (hi <= lo)
				hi = lo + 1;
		}
		free(w.lut);
		if (win_make(p, lo, hi, &w)) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		uint32_t col = nch == 1 ? 0xFFFFFF : c < p->nwin ? p->color[c] : 0xFFFFFF;
		struct sink sk = {ow, px, px, (int)i, acc, (col >> 16) & 255, (col >> 8) & 255,
				  col & 255, 0};
		struct walk_out wo = {grey ? to_grey : direct ? to_comp : to_acc, &sk};
		rc = walk(ctx, p, k, rr->t, c, rr->z, rr, xm, ym, &w, &wo);
	}
	if (rc)
		goto out;
	if (acc)
		for (size_t i = 0; i < 3 * n; i++)
			px[i] = (uint8_t)(acc[i] > 255 ? 255 : acc[i]);
	if (labels) {
		size_t lk = k < labels->nlevels ? k : labels->nlevels - 1;
		if (labels->w[0] != p->w[0] || labels->h[0] != p->h[0]) {
			rc = bia_fail(ctx, BIA_ESHAPE, "the label layer's size differs from the image's");
			goto out;
		}
		maps(rr, lk, labels->w[lk], labels->h[lk], xm, ym);
		struct sink sk = {ow, NULL, px, 0, NULL, 0, 0, 0, rr->label_alpha};
		struct walk_out wo = {to_labels, &sk};
		rc = walk(ctx, labels, lk, rr->t < labels->t ? rr->t : 0, 0,
			  rr->z < labels->z ? rr->z : 0, rr, xm, ym, NULL, &wo);
		if (rc)
			goto out;
	}
	/* quality: grey and bitonal from RGB (luma), bitonal from grey */
	if (rr->quality == BIA_Q_GRAY || rr->quality == BIA_Q_BITONAL) {
		if (nc == 3) {
			for (size_t i = 0; i < n; i++)
				px[i] = (uint8_t)((299 * px[3 * i] + 587 * px[3 * i + 1] +
						   114 * px[3 * i + 2] + 500) / 1000);
			nc = 1;
		}
		if (rr->quality == BIA_Q_BITONAL)
			for (size_t i = 0; i < n; i++)
				px[i] = px[i] >= 128 ? 255 : 0;
	} else if (rr->quality == BIA_Q_COLOR && nc == 1) {
		unsigned char *t3 = malloc(3 * n);
		if (!t3) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			t3[3 * i] = t3[3 * i + 1] = t3[3 * i + 2] = px[i];
		free(px);
		px = t3;
		nc = 3;
	}
	/* mirror, then rotate clockwise */
	size_t fw = ow, fh = oh;
	const unsigned char *fin = px;
	if (rr->mirror || rr->rot) {
		rot = malloc(n * (size_t)nc);
		if (!rot) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		if (rr->rot == 90 || rr->rot == 270) {
			fw = oh;
			fh = ow;
		}
		for (size_t y = 0; y < oh; y++)
			for (size_t x = 0; x < ow; x++) {
				size_t sx = rr->mirror ? ow - 1 - x : x, dx, dy;
				switch (rr->rot) {
				case 90: dx = oh - 1 - y, dy = x; break;
				case 180: dx = ow - 1 - x, dy = oh - 1 - y; break;
				case 270: dx = y, dy = ow - 1 - x; break;
				default: dx = x, dy = y; break;
				}
				memcpy(rot + (dy * fw + dx) * (size_t)nc, px + (y * ow + sx) * (size_t)nc,
				       (size_t)nc);
			}
		fin = rot;
	}
	switch (rr->format) {
	case BIA_RF_PNG:
		*ptype = "image/png";
		rc = encode_png(ctx, fin, fw, fh, nc, pout, plen);
		break;
	case BIA_RF_WEBP:
		*ptype = "image/webp";
		rc = encode_webp(ctx, fin, fw, fh, nc, pout, plen);
		break;
	default:
		*ptype = "image/jpeg";
		rc = encode_jpg(ctx, fin, fw, fh, nc, pout, plen);
		break;
	}
out:
	free(w.lut);
	free(xm);
	free(ym);
	free(acc);
	free(px);
	free(rot);
	return rc;
}
