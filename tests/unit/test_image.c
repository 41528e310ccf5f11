/* Unit tests of src/image: fixtures written by other tools (tifffile,
 * libvips, ImageMagick, a Python PNG writer) with known pixel values, round
 * trips for every sample type and layout, bad input, OME-XML.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"

static const char *fixdir(void)
{
	const char *d = getenv("BIAFLOWS_FIXTURES");
	return d && *d ? d : "tests/fixtures/images";
}

/* Read a fixture; returns rc and leaves the message in *ctx. */
static int rd(struct bia_ctx *ctx, const char *name, const struct bia_read_opts *o,
	      struct bia_image *img)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", fixdir(), name);
	bia_ctx_init(ctx);
	return bia_image_read(ctx, p, o, img);
}

static struct bia_image load(const char *name, const struct bia_read_opts *o)
{
	struct bia_ctx ctx;
	struct bia_image img;
	int rc = rd(&ctx, name, o, &img);
	if (rc)
		fail_msg("%s: %s", name, ctx.msg);
	return img;
}

#define PX(img, x, y, z, c, t) bia_image_get(&(img), bia_image_index(&(img), x, y, z, c, t))

static void assert_shape(const struct bia_image *m, size_t x, size_t y, size_t z, size_t c,
			 size_t t, enum bia_dtype dt)
{
	assert_int_equal(m->x, x);
	assert_int_equal(m->y, y);
	assert_int_equal(m->z, z);
	assert_int_equal(m->c, c);
	assert_int_equal(m->t, t);
	assert_int_equal(m->dtype, dt);
}

static void test_tifffile_bool(void **state)
{
	(void)state;
	/* tifffile writes bool as 1-bit MINISWHITE; like tifffile and BIAFLOWS
	 * we keep the stored bits (True = 1) */
	struct bia_image m = load("tf_bool.tif", NULL);
	assert_shape(&m, 16, 12, 1, 1, 1, BIA_U8);
	assert_int_equal(m.miniswhite, 1);
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == ((x + y) % 3 == 0));
	bia_image_release(&m);
	struct bia_read_opts o = {0};
	o.invert_miniswhite = 1;
	m = load("tf_bool.tif", &o);
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == ((x + y) % 3 != 0));
	bia_image_release(&m);
	m = load("tf_bool_minisblack.tif", &o);
	assert_int_equal(m.miniswhite, 0);
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == ((x + y) % 3 == 0));
	bia_image_release(&m);
}

static void test_miniswhite(void **state)
{
	(void)state;
	struct bia_read_opts o = {0};
	o.invert_miniswhite = 1;
	struct bia_image m = load("tf_miniswhite.tif", &o);
	assert_shape(&m, 16, 12, 1, 1, 1, BIA_U8);
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == 1 - ((x + 2 * y) % 5 == 0));
	bia_image_release(&m);
	m = load("tf_miniswhite.tif", NULL);
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == ((x + 2 * y) % 5 == 0));
	bia_image_release(&m);
}

static void test_int64(void **state)
{
	(void)state;
	struct bia_image m = load("tf_int64.tif", NULL);
	assert_shape(&m, 16, 12, 1, 1, 1, BIA_U8); /* narrowed: values 0..11 */
	for (size_t y = 0; y < 12; y++)
		for (size_t x = 0; x < 16; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(x / 4 + 4 * (y / 4)));
	bia_image_release(&m);
	m = load("tf_int64_neg.tif", NULL);
	assert_shape(&m, 4, 4, 1, 1, 1, BIA_I32);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 4; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == x - y);
	bia_image_release(&m);
	struct bia_ctx ctx;
	assert_int_equal(rd(&ctx, "tf_int64_big.tif", NULL, &m), BIA_EUNSUPPORTED);
	assert_non_null(strstr(ctx.msg, "tf_int64_big.tif"));
	assert_non_null(strstr(ctx.msg, "32-bit"));
	assert_null(m.data);
}

static double hyper(size_t x, size_t y, size_t z, size_t c, size_t t)
{
	return (double)(x + 10 * y + 100 * z + 1000 * c + 2000 * t);
}

static void check_hyper(const struct bia_image *m)
{
	assert_shape(m, 8, 10, 3, 2, 2, BIA_U16);
	for (size_t t = 0; t < 2; t++)
		for (size_t c = 0; c < 2; c++)
			for (size_t z = 0; z < 3; z++)
				for (size_t y = 0; y < 10; y++)
					for (size_t x = 0; x < 8; x++)
						assert_true(PX(*m, x, y, z, c, t) == hyper(x, y, z, c, t));
}

static void test_imagej_hyperstack(void **state)
{
	(void)state;
	struct bia_image m = load("tf_imagej.tif", NULL);
	assert_string_equal(m.layout, "imagej");
	check_hyper(&m);
	bia_image_release(&m);
}

static void test_ome(void **state)
{
	(void)state;
	struct bia_image m = load("tf_ome.ome.tif", NULL);
	assert_string_equal(m.layout, "ome");
	assert_string_equal(m.dim_order, "XYZCT");
	check_hyper(&m);
	assert_true(fabs(m.phys[0] - 0.5) < 1e-12);
	assert_true(fabs(m.phys[1] - 0.25) < 1e-12);
	assert_true(fabs(m.phys[2] - 2.0) < 1e-12);
	bia_image_release(&m);
	m = load("tf_ome_zyx.ome.tif", NULL);
	assert_shape(&m, 5, 6, 4, 1, 1, BIA_U8);
	for (size_t z = 0; z < 4; z++)
		for (size_t y = 0; y < 6; y++)
			for (size_t x = 0; x < 5; x++)
				assert_true(PX(m, x, y, z, 0, 0) == (double)(x + 10 * y + 60 * z));
	bia_image_release(&m);
}

static void test_ome_uuid(void **state)
{
	(void)state;
	/* a renamed single-file OME-TIFF: TiffData UUID = the root's UUID */
	struct bia_image m = load("ome_renamed.tif", NULL);
	assert_shape(&m, 5, 6, 1, 1, 1, BIA_U8);
	assert_string_equal(m.layout, "ome");
	for (size_t y = 0; y < 6; y++)
		for (size_t x = 0; x < 5; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)((y * 5 + x) % 7));
	bia_image_release(&m);
	struct bia_ctx ctx;
	assert_int_equal(rd(&ctx, "ome_multifile.tif", NULL, &m), BIA_EUNSUPPORTED);
	assert_non_null(strstr(ctx.msg, "multi-file OME-TIFF"));
	assert_non_null(strstr(ctx.msg, "original name t000.tif"));
}

static void test_shaped(void **state)
{
	(void)state;
	struct bia_image m = load("tf_shaped.tif", NULL);
	assert_string_equal(m.layout, "shaped");
	assert_shape(&m, 8, 10, 4, 1, 1, BIA_U8);
	for (size_t z = 0; z < 4; z++)
		for (size_t y = 0; y < 10; y++)
			for (size_t x = 0; x < 8; x++)
				assert_true(PX(m, x, y, z, 0, 0) == (double)((x + 10 * y + 50 * z) % 256));
	bia_image_release(&m);
	struct bia_read_opts o = {0};
	o.pages = BIA_PAGES_T;
	m = load("tf_shaped.tif", &o);
	assert_shape(&m, 8, 10, 1, 1, 4, BIA_U8);
	assert_true(PX(m, 3, 2, 0, 0, 3) == (double)((3 + 20 + 150) % 256));
	bia_image_release(&m);
}

static void test_rgb(void **state)
{
	(void)state;
	static const char *const files[] = {"tf_shaped_rgb.tif", "tf_planar_rgb.tif"};
	for (int f = 0; f < 2; f++) {
		struct bia_image m = load(files[f], NULL);
		assert_shape(&m, 8, 6, 1, 3, 1, BIA_U8);
		for (size_t s = 0; s < 3; s++)
			for (size_t y = 0; y < 6; y++)
				for (size_t x = 0; x < 8; x++)
					assert_true(PX(m, x, y, 0, s, 0) == (double)(10 * x + y + 80 * s));
		bia_image_release(&m);
	}
	struct bia_image m = load("im_strips_lzw_rgb.tif", NULL);
	assert_shape(&m, 12, 9, 1, 3, 1, BIA_U8);
	for (size_t y = 0; y < 9; y++)
		for (size_t x = 0; x < 12; x++) {
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(20 * x));
			assert_true(PX(m, x, y, 0, 1, 0) == (double)(25 * y));
			assert_true(PX(m, x, y, 0, 2, 0) == 100);
		}
	bia_image_release(&m);
}

static void test_sample_types(void **state)
{
	(void)state;
	struct bia_image m = load("tf_float32.tif", NULL);
	assert_shape(&m, 7, 5, 1, 1, 1, BIA_F32);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == x * 0.5 - y * 0.25);
	bia_image_release(&m);
	m = load("tf_int32.tif", NULL);
	assert_shape(&m, 7, 5, 1, 1, 1, BIA_I32);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (x - 3) * 100000.0 - y);
	bia_image_release(&m);
	m = load("tf_uint32.tif", NULL);
	assert_shape(&m, 7, 5, 1, 1, 1, BIA_U32);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == x * 1000000.0 + y);
	bia_image_release(&m);
	m = load("tf_int16.tif", NULL);
	assert_shape(&m, 7, 5, 1, 1, 1, BIA_I32);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == x * 100.0 - y * 1000.0);
	bia_image_release(&m);
	m = load("tf_float64.tif", NULL);
	assert_shape(&m, 7, 5, 1, 1, 1, BIA_F32);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == x + y / 8.0);
	bia_image_release(&m);
}

static void test_vips_imagemagick(void **state)
{
	(void)state;
	struct bia_image m = load("vips_tiled_lzw.tif", NULL);
	assert_shape(&m, 300, 200, 1, 1, 1, BIA_U8);
	for (size_t y = 0; y < 200; y++)
		for (size_t x = 0; x < 300; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)((7 * x + 3 * y) % 256));
	bia_image_release(&m);
	m = load("vips_bigtiff.tif", NULL);
	assert_shape(&m, 100, 80, 1, 1, 1, BIA_U16);
	for (size_t y = 0; y < 80; y++)
		for (size_t x = 0; x < 100; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(100 * x + y));
	bia_image_release(&m);
	m = load("vips_tiled_deflate_u16.tif", NULL);
	assert_shape(&m, 90, 70, 1, 1, 1, BIA_U16);
	for (size_t y = 0; y < 70; y++)
		for (size_t x = 0; x < 90; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(300 * x + 7 * y));
	bia_image_release(&m);
	m = load("im_stack_deflate.tif", NULL);
	assert_shape(&m, 20, 10, 3, 1, 1, BIA_U8);
	for (size_t z = 0; z < 3; z++)
		for (size_t y = 0; y < 10; y++)
			for (size_t x = 0; x < 20; x++)
				assert_true(PX(m, x, y, z, 0, 0) == (double)(40 * z + x + y));
	bia_image_release(&m);
	struct bia_read_opts o = {0};
	o.pages = BIA_PAGES_T; /* multi-page as T */
	m = load("im_stack_deflate.tif", &o);
	assert_shape(&m, 20, 10, 1, 1, 3, BIA_U8);
	assert_true(PX(m, 5, 4, 0, 0, 2) == 89);
	bia_image_release(&m);
}

static void test_png(void **state)
{
	(void)state;
	struct bia_image m = load("png_gray8.png", NULL);
	assert_shape(&m, 9, 6, 1, 1, 1, BIA_U8);
	assert_int_equal(m.format, BIA_FMT_PNG);
	for (size_t y = 0; y < 6; y++)
		for (size_t x = 0; x < 9; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(20 * x + y));
	bia_image_release(&m);
	m = load("png_gray16.png", NULL);
	assert_shape(&m, 9, 6, 1, 1, 1, BIA_U16);
	for (size_t y = 0; y < 6; y++)
		for (size_t x = 0; x < 9; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(5000 * x + y));
	bia_image_release(&m);
	m = load("png_rgb8.png", NULL);
	assert_shape(&m, 5, 4, 1, 3, 1, BIA_U8);
	for (size_t y = 0; y < 4; y++)
		for (size_t x = 0; x < 5; x++) {
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(50 * x));
			assert_true(PX(m, x, y, 0, 1, 0) == (double)(60 * y));
			assert_true(PX(m, x, y, 0, 2, 0) == 7);
		}
	bia_image_release(&m);
	m = load("png_palette.png", NULL); /* indices kept (label masks) */
	assert_shape(&m, 5, 4, 1, 1, 1, BIA_U8);
	for (size_t y = 0; y < 4; y++)
		for (size_t x = 0; x < 5; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)((x + y) % 4));
	bia_image_release(&m);
	m = load("png_gray1.png", NULL);
	assert_shape(&m, 10, 3, 1, 1, 1, BIA_U8);
	for (size_t y = 0; y < 3; y++)
		for (size_t x = 0; x < 10; x++)
			assert_true(PX(m, x, y, 0, 0, 0) == (double)(x % 2));
	bia_image_release(&m);
}

static void test_jpeg(void **state)
{
	(void)state;
	struct bia_image m = load("jpeg_gray.jpg", NULL);
	assert_shape(&m, 16, 16, 1, 1, 1, BIA_U8);
	assert_int_equal(m.format, BIA_FMT_JPEG);
	for (size_t y = 0; y < 16; y++)
		for (size_t x = 0; x < 16; x++) {
			if (x > 5 && x < 10)
				continue;
			double want = x < 8 ? 128 : 64;
			assert_true(fabs(PX(m, x, y, 0, 0, 0) - want) <= 3);
		}
	bia_image_release(&m);
	m = load("jpeg_rgb.jpg", NULL);
	assert_shape(&m, 16, 16, 1, 3, 1, BIA_U8);
	assert_true(fabs(PX(m, 8, 8, 0, 0, 0) - 200) <= 3);
	assert_true(fabs(PX(m, 8, 8, 0, 1, 0) - 100) <= 3);
	assert_true(fabs(PX(m, 8, 8, 0, 2, 0) - 50) <= 3);
	bia_image_release(&m);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image m;
	static const char *const bad[] = {"bad_truncated.tif", "bad_truncated_data.tif",
					  "bad_garbage.tif", "bad_empty.tif"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = rd(&ctx, bad[i], NULL, &m);
		if (rc == 0)
			fail_msg("%s was accepted", bad[i]);
		assert_int_equal(rc, BIA_EFORMAT);
		assert_non_null(strstr(ctx.msg, bad[i])); /* names the file */
		assert_null(strchr(ctx.msg, '\n'));	   /* one line */
		assert_null(m.data);
	}
	assert_int_equal(rd(&ctx, "bad_png_named.tif", NULL, &m), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "png data but is named .tif"));
	assert_int_equal(rd(&ctx, "does_not_exist.tif", NULL, &m), BIA_ENOENT);
	assert_non_null(strstr(ctx.msg, "does_not_exist.tif"));
	assert_int_equal(rd(&ctx, ".", NULL, &m), BIA_EINVAL);
}

/* A hand-made classic TIFF header declaring a huge image with one strip. */
static size_t bomb_tiff(unsigned char *b, uint32_t w, uint32_t h)
{
	memset(b, 0, 256);
	memcpy(b, "II*\0", 4);
	b[4] = 8; /* IFD at 8 */
	unsigned char *p = b + 8;
	uint16_t n = 8;
	memcpy(p, &n, 2);
	p += 2;
	struct {
		uint16_t tag, type;
		uint32_t count, value;
	} e[8] = {{256, 4, 1, w},  {257, 4, 1, h},   {258, 3, 1, 8},  {259, 3, 1, 1},
		  {262, 3, 1, 1},  {273, 4, 1, 200}, {278, 4, 1, h}, {279, 4, 1, 16}};
	for (int i = 0; i < 8; i++) {
		memcpy(p, &e[i].tag, 2);
		memcpy(p + 2, &e[i].type, 2);
		memcpy(p + 4, &e[i].count, 4);
		memcpy(p + 8, &e[i].value, 4);
		p += 12;
	}
	return 256;
}

static void test_dimension_bomb(void **state)
{
	(void)state;
	unsigned char b[256];
	struct bia_ctx ctx;
	struct bia_image m;
	size_t n = bomb_tiff(b, 200000, 200000);
	bia_ctx_init(&ctx);
	assert_int_equal(bia_image_read_mem(&ctx, "bomb.tif", b, n, NULL, &m), BIA_ELIMIT);
	assert_non_null(strstr(ctx.msg, "bomb.tif"));
	assert_non_null(strstr(ctx.msg, "exceeds the limit"));
	/* a configurable limit */
	bia_ctx_init(&ctx);
	ctx.max_pixels = 100;
	char p[1024];
	snprintf(p, sizeof(p), "%s/tf_int64.tif", fixdir());
	assert_int_equal(bia_image_read(&ctx, p, NULL, &m), BIA_ELIMIT);
	snprintf(p, sizeof(p), "%s/png_gray8.png", fixdir());
	ctx.max_pixels = 53;
	assert_int_equal(bia_image_read(&ctx, p, NULL, &m), BIA_ELIMIT);
	ctx.max_pixels = 54;
	assert_int_equal(bia_image_read(&ctx, p, NULL, &m), 0);
	bia_image_release(&m);
	/* small claimed size but no data: format error, not a crash */
	n = bomb_tiff(b, 4, 4);
	bia_ctx_init(&ctx);
	assert_int_equal(bia_image_read_mem(&ctx, "small.tif", b, n, NULL, &m), 0);
	bia_image_release(&m);
	n = bomb_tiff(b, 64, 64);
	assert_int_equal(bia_image_read_mem(&ctx, "short.tif", b, n, NULL, &m), BIA_EFORMAT);
}

/* A classic TIFF declaring a w x h 8-bit image (strips or one tile, the
 * given compression) whose data is 64 bytes of junk. */
static size_t bomb_tiff_ex(unsigned char *b, uint32_t w, uint32_t h, uint16_t comp, int tiled)
{
	memset(b, 0, 512);
	memcpy(b, "II*\0", 4);
	b[4] = 8;
	unsigned char *p = b + 8;
	struct tent {
		uint16_t tag, type;
		uint32_t count, value;
	} e[10];
	int n = 0;
	uint32_t tw = (w + 15) / 16 * 16, th = (h + 15) / 16 * 16;
	e[n++] = (struct tent){256, 4, 1, w};
	e[n++] = (struct tent){257, 4, 1, h};
	e[n++] = (struct tent){258, 3, 1, 8};
	e[n++] = (struct tent){259, 3, 1, comp};
	e[n++] = (struct tent){262, 3, 1, 1};
	if (tiled) {
		e[n++] = (struct tent){322, 4, 1, tw};
		e[n++] = (struct tent){323, 4, 1, th};
		e[n++] = (struct tent){324, 4, 1, 400};
		e[n++] = (struct tent){325, 4, 1, 64};
	} else {
		e[n++] = (struct tent){273, 4, 1, 400};
		e[n++] = (struct tent){278, 4, 1, h};
		e[n++] = (struct tent){279, 4, 1, 64};
	}
	uint16_t cnt = (uint16_t)n;
	memcpy(p, &cnt, 2);
	p += 2;
	for (int i = 0; i < n; i++) {
		memcpy(p, &e[i].tag, 2);
		memcpy(p + 2, &e[i].type, 2);
		memcpy(p + 4, &e[i].count, 4);
		memcpy(p + 8, &e[i].value, 4);
		p += 12;
	}
	for (int i = 400; i < 464; i++)
		b[i] = (unsigned char)(i * 37);
	return 512;
}

static uint32_t crc32_png(const unsigned char *d, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= d[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

static unsigned char *png_chunk(unsigned char *p, const char *type, const unsigned char *d,
				uint32_t n)
{
	p[0] = (unsigned char)(n >> 24), p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8), p[3] = (unsigned char)n;
	memcpy(p + 4, type, 4);
	if (n)
		memcpy(p + 8, d, n);
	uint32_t c = crc32_png(p + 4, n + 4);
	p[8 + n] = (unsigned char)(c >> 24), p[9 + n] = (unsigned char)(c >> 16);
	p[10 + n] = (unsigned char)(c >> 8), p[11 + n] = (unsigned char)c;
	return p + 12 + n;
}

/* A PNG whose IHDR claims w x h (depth, colour type) over a tiny IDAT. */
static size_t bomb_png(unsigned char *b, uint32_t w, uint32_t h, int depth, int ctype)
{
	memcpy(b, "\x89PNG\r\n\x1a\n", 8);
	unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
				  (unsigned char)(w >> 8),  (unsigned char)w,
				  (unsigned char)(h >> 24), (unsigned char)(h >> 16),
				  (unsigned char)(h >> 8),  (unsigned char)h,
				  (unsigned char)depth,	    (unsigned char)ctype,
				  0,			    0,
				  0};
	unsigned char *p = png_chunk(b + 8, "IHDR", ihdr, 13);
	static const unsigned char idat[] = {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
	p = png_chunk(p, "IDAT", idat, sizeof(idat));
	p = png_chunk(p, "IEND", NULL, 0);
	return (size_t)(p - b);
}

/* A real 16x16 grey JPEG (libjpeg) whose frame header is patched to
 * claim w x h. */
static size_t bomb_jpeg(unsigned char *b, size_t cap, uint16_t w, uint16_t h)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr je;
	ci.err = jpeg_std_error(&je);
	jpeg_create_compress(&ci);
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	jpeg_mem_dest(&ci, &out, &outlen);
	ci.image_width = 16;
	ci.image_height = 16;
	ci.input_components = 1;
	ci.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&ci);
	jpeg_start_compress(&ci, TRUE);
	unsigned char row[16];
	for (int y = 0; y < 16; y++) {
		for (int x = 0; x < 16; x++)
			row[x] = (unsigned char)(x * y);
		JSAMPROW r = row;
		jpeg_write_scanlines(&ci, &r, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	assert_true(outlen <= cap);
	memcpy(b, out, outlen);
	free(out);
	for (size_t i = 0; i + 9 < outlen; i++)
		if (b[i] == 0xFF && b[i + 1] == 0xC0) { /* SOF0: height, width at +5 */
			b[i + 5] = (unsigned char)(h >> 8), b[i + 6] = (unsigned char)h;
			b[i + 7] = (unsigned char)(w >> 8), b[i + 8] = (unsigned char)w;
			return outlen;
		}
	fail_msg("no SOF0 in the JPEG");
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct bomb_result {
	int rc;
	double ms;
	long grew_kb; /* peak RSS during the read minus RSS before */
	char msg[300];
};

/* Read `data` in a child process: its result, time and peak memory. */
static struct bomb_result read_bomb(const char *name, const unsigned char *data, size_t n)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		struct bomb_result r;
		memset(&r, 0, sizeof(r));
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		struct bia_image m;
		long before = rss_kb();
		struct rusage ru0;
		getrusage(RUSAGE_SELF, &ru0);
		double t0 = now_ms();
		r.rc = bia_image_read_mem(&ctx, name, data, n, NULL, &m);
		r.ms = now_ms() - t0;
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		long peak = ru.ru_maxrss > ru0.ru_maxrss ? ru.ru_maxrss : 0;
		r.grew_kb = peak > before ? peak - before : 0;
		snprintf(r.msg, sizeof(r.msg), "%s", ctx.msg);
		if (!r.rc)
			bia_image_release(&m);
		if (write(fd[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	struct bomb_result r;
	memset(&r, 0, sizeof(r));
	ssize_t got = read(fd[0], &r, sizeof(r));
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (got != (ssize_t)sizeof(r))
		fail_msg("%s: the reading process died (status %d)", name, st);
	return r;
}

/* Header bombs of every reader (PNG, JPEG, TIFF strips and tiles,
 * uncompressed, LZW, deflate), above and below the pixel limit: refused in
 * under 100 ms and 50 MB. */
static void test_header_bombs(void **state)
{
	(void)state;
	static unsigned char b[4096];
	struct {
		const char *name;
		size_t n;
		int want; /* BIA_ELIMIT or BIA_EFORMAT */
	} cases[16];
	unsigned char *bufs[16];
	int nc = 0;
#define ADD(nm, want_rc, expr)                                                               \
	do {                                                                                 \
		bufs[nc] = malloc(4096);                                                     \
		assert_non_null(bufs[nc]);                                                   \
		unsigned char *bb = bufs[nc];                                                \
		cases[nc].name = nm;                                                         \
		cases[nc].want = want_rc;                                                    \
		cases[nc].n = (expr);                                                        \
		nc++;                                                                        \
	} while (0)
	/* 2^31 x 1 RGBA16: libpng would allocate a 16 GiB row buffer */
	ADD("png-2^31x1-rgba16.png", BIA_ELIMIT, bomb_png(bb, 0x7FFFFFFFu, 1, 16, 6));
	ADD("png-40000x40000-grey.png", BIA_EFORMAT, bomb_png(bb, 40000, 40000, 8, 0));
	ADD("jpeg-65500x65500.jpg", BIA_ELIMIT, bomb_jpeg(bb, 4096, 65500, 65500));
	ADD("jpeg-30000x30000.jpg", BIA_EFORMAT, bomb_jpeg(bb, 4096, 30000, 30000));
	ADD("tiff-46000-strips-none.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 1, 0));
	ADD("tiff-46000-strips-lzw.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 5, 0));
	ADD("tiff-46000-strips-deflate.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 8, 0));
	ADD("tiff-46000-tiles-none.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 1, 1));
	ADD("tiff-46000-tiles-lzw.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 5, 1));
	ADD("tiff-46000-tiles-deflate.tif", BIA_EFORMAT, bomb_tiff_ex(bb, 46000, 46000, 8, 1));
	ADD("tiff-60000-strips-lzw.tif", BIA_ELIMIT, bomb_tiff_ex(bb, 60000, 60000, 5, 0));
	ADD("tiff-60000-tiles-deflate.tif", BIA_ELIMIT, bomb_tiff_ex(bb, 60000, 60000, 8, 1));
#undef ADD
	for (int i = 0; i < nc; i++) {
		struct bomb_result r = read_bomb(cases[i].name, bufs[i], cases[i].n);
		print_message("%-32s rc %d in %6.2f ms, +%ld KB: %s\n", cases[i].name, r.rc, r.ms,
			      r.grew_kb, r.msg);
		if (r.rc != cases[i].want)
			fail_msg("%s: rc %d, want %d (%s)", cases[i].name, r.rc, cases[i].want, r.msg);
		assert_non_null(strstr(r.msg, cases[i].name));
		assert_true(r.ms < 100.0);
		assert_true(r.grew_kb < 50 * 1024);
		free(bufs[i]);
	}
	(void)b;
	/* a memory budget (a run output is decoded under its run's memory
	 * limit): refused from the header, before decoding */
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	ctx.max_image_bytes = 10;
	struct bia_image m;
	char p[1024];
	snprintf(p, sizeof(p), "%s/png_gray8.png", fixdir());
	assert_int_equal(bia_image_read(&ctx, p, NULL, &m), BIA_ELIMIT);
	assert_non_null(strstr(ctx.msg, "memory budget"));
	ctx.max_image_bytes = 1 << 20;
	assert_int_equal(bia_image_read(&ctx, p, NULL, &m), 0);
	bia_image_release(&m);
}

/* Fill an image with a pattern that exercises the full range of its type. */
static void fill(struct bia_image *m)
{
	size_t n = bia_image_nsamples(m);
	for (size_t i = 0; i < n; i++) {
		double v;
		switch (m->dtype) {
		case BIA_U8:
			v = (double)(i * 7 % 256);
			break;
		case BIA_U16:
			v = (double)(i * 2749 % 65536);
			break;
		case BIA_U32:
			v = (double)((uint32_t)(i * 2654435761u));
			break;
		case BIA_I32:
			v = (double)((int32_t)(i * 2654435761u));
			break;
		default:
			v = (double)i * 0.37 - 1e3;
			break;
		}
		bia_image_set(m, i, v);
	}
}

static void test_round_trips(void **state)
{
	(void)state;
	static const enum bia_dtype types[] = {BIA_U8, BIA_U16, BIA_U32, BIA_I32, BIA_F32};
	static const size_t shapes[][5] = {
		{37, 21, 1, 1, 1}, {40, 33, 3, 1, 1}, {17, 19, 2, 2, 3}, {16, 16, 1, 1, 5}};
	static const struct bia_tiff_write_opts wo[] = {
		{BIA_COMP_NONE, 0, 0, 0},    {BIA_COMP_LZW, 0, 0, 0}, {BIA_COMP_DEFLATE, 0, 0, 0},
		{BIA_COMP_LZW, 16, 0, 0},    {BIA_COMP_DEFLATE, 32, 1, 0},
		{BIA_COMP_NONE, 0, 1, 1},
	};
	char path[] = "/tmp/bia-rt-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (size_t ti = 0; ti < 5; ti++)
		for (size_t si = 0; si < 4; si++)
			for (size_t wi = 0; wi < sizeof(wo) / sizeof(wo[0]); wi++) {
				struct bia_ctx ctx;
				struct bia_image a, b;
				bia_ctx_init(&ctx);
				bia_image_init(&a);
				const size_t *s = shapes[si];
				assert_int_equal(bia_image_alloc(&ctx, &a, s[0], s[1], s[2], s[3], s[4],
								 types[ti]),
						 0);
				a.phys[0] = 0.125;
				a.phys[2] = 3;
				fill(&a);
				if (bia_image_write_tiff(&ctx, &a, path, &wo[wi]))
					fail_msg("write: %s", ctx.msg);
				if (bia_image_read(&ctx, path, NULL, &b))
					fail_msg("read back: %s", ctx.msg);
				assert_shape(&b, s[0], s[1], s[2], s[3], s[4], types[ti]);
				assert_memory_equal(a.data, b.data, bia_image_nbytes(&a));
				int multi = s[2] > 1 || s[3] > 1 || s[4] > 1;
				assert_string_equal(b.layout, multi || wo[wi].ome ? "ome" : "plain");
				if (multi || wo[wi].ome)
					assert_true(b.phys[0] == 0.125 && b.phys[2] == 3);
				bia_image_release(&a);
				bia_image_release(&b);
			}
	unlink(path);
}

static void test_png_round_trip(void **state)
{
	(void)state;
	char path[] = "/tmp/bia-rt-XXXXXX.png";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	close(fd);
	static const struct {
		enum bia_dtype t;
		size_t c;
	} cases[] = {{BIA_U8, 1}, {BIA_U16, 1}, {BIA_U8, 3}, {BIA_U16, 3}};
	for (size_t i = 0; i < 4; i++) {
		struct bia_ctx ctx;
		struct bia_image a, b;
		bia_ctx_init(&ctx);
		bia_image_init(&a);
		assert_int_equal(bia_image_alloc(&ctx, &a, 23, 11, 1, cases[i].c, 1, cases[i].t), 0);
		fill(&a);
		if (bia_image_write_png(&ctx, &a, path))
			fail_msg("%s", ctx.msg);
		if (bia_image_read(&ctx, path, NULL, &b))
			fail_msg("%s", ctx.msg);
		assert_shape(&b, 23, 11, 1, cases[i].c, 1, cases[i].t);
		assert_memory_equal(a.data, b.data, bia_image_nbytes(&a));
		bia_image_release(&a);
		bia_image_release(&b);
	}
	struct bia_ctx ctx;
	struct bia_image a;
	bia_ctx_init(&ctx);
	bia_image_init(&a);
	assert_int_equal(bia_image_alloc(&ctx, &a, 4, 4, 2, 1, 1, BIA_U8), 0);
	assert_int_equal(bia_image_write_png(&ctx, &a, path), BIA_EUNSUPPORTED);
	bia_image_release(&a);
	unlink(path);
}

/* Our OME-TIFF as tifffile (another implementation) sees it. */
static void test_ome_read_by_tifffile(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK)) {
		skip();
	}
	char path[] = "/tmp/bia-ome-XXXXXX.ome.tif";
	int fd = mkstemps(path, 8);
	assert_true(fd >= 0);
	close(fd);
	struct bia_ctx ctx;
	struct bia_image a;
	bia_ctx_init(&ctx);
	bia_image_init(&a);
	assert_int_equal(bia_image_alloc(&ctx, &a, 8, 10, 3, 2, 2, BIA_U16), 0);
	for (size_t t = 0; t < 2; t++)
		for (size_t c = 0; c < 2; c++)
			for (size_t z = 0; z < 3; z++)
				for (size_t y = 0; y < 10; y++)
					for (size_t x = 0; x < 8; x++)
						bia_image_set(&a, bia_image_index(&a, x, y, z, c, t),
							      hyper(x, y, z, c, t));
	a.phys[0] = a.phys[1] = 0.5;
	struct bia_tiff_write_opts wo = {BIA_COMP_DEFLATE, 0, 0, 0};
	assert_int_equal(bia_image_write_tiff(&ctx, &a, path, &wo), 0);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import tifffile, numpy, sys\n"
		 "t = tifffile.TiffFile('%s')\n"
		 "assert t.is_ome, 'not OME'\n"
		 "s = t.series[0]\n"
		 "assert s.axes == 'TZCYX', s.axes\n"
		 "a = s.asarray()\n"
		 "assert a.shape == (2, 3, 2, 10, 8), a.shape\n"
		 "assert int(a[1, 2, 1, 9, 7]) == 7 + 90 + 200 + 1000 + 2000\n"
		 "import xml.etree.ElementTree as E\n"
		 "E.fromstring(t.ome_metadata)\n"
		 "\" 2>&1",
		 path);
	int rc = system(cmd);
	unlink(path);
	bia_image_release(&a);
	assert_int_equal(rc, 0);
}

static void test_ome_parse(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_ome_pixels px;
	bia_ctx_init(&ctx);
	const char *ok =
		"<?xml version='1.0'?><OME xmlns='http://www.openmicroscopy.org/Schemas/OME/2016-06'>"
		"<Image ID='Image:0'><Pixels ID='Pixels:0' DimensionOrder='XYTZC' Type='uint8' "
		"SizeX='4' SizeY='3' SizeZ='2' SizeC='1' SizeT='5' PhysicalSizeX='250' "
		"PhysicalSizeXUnit='nm'><Channel ID='Channel:0:0' SamplesPerPixel='1'/>"
		"<TiffData IFD='2' FirstT='1' PlaneCount='3'><UUID FileName='other.ome.tif'>"
		"urn:uuid:1</UUID></TiffData></Pixels></Image></OME>";
	assert_int_equal(bia_ome_parse(&ctx, ok, strlen(ok), &px), 0);
	assert_int_equal(px.size[0], 4);
	assert_int_equal(px.size[4], 5);
	assert_string_equal(px.dim_order, "XYTZC");
	assert_string_equal(px.type, "uint8");
	assert_true(fabs(px.phys[0] - 0.25) < 1e-12);
	assert_int_equal(px.ntiffdata, 1);
	assert_int_equal(px.tiffdata[0].ifd, 2);
	assert_int_equal(px.tiffdata[0].first_t, 1);
	assert_int_equal(px.tiffdata[0].plane_count, 3);
	assert_string_equal(px.tiffdata[0].file_name, "other.ome.tif");
	assert_string_equal(px.tiffdata[0].uuid, "urn:uuid:1");
	assert_string_equal(px.uuid, "");
	bia_ome_pixels_release(&px);
	static const char *const bad[] = {
		"<OME><Image><Pixels SizeX='4' SizeY='3' SizeZ='1' SizeC='1'/></Image></OME>",
		"<OME><Image><Pixels SizeX='4' SizeY='3' SizeZ='1' SizeC='1' SizeT='1' "
		"DimensionOrder='XYZZT'/></Image></OME>",
		"<OME><Image><Pixels SizeX='-4' SizeY='3' SizeZ='1' SizeC='1' SizeT='1'/></Image></OME>",
		"<OME><Image><Pixels SizeX='4' SizeY='3' SizeZ='1' SizeC='1' SizeT='1'>",
		"<NotOME/>",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bia_ctx_init(&ctx);
		assert_int_equal(bia_ome_parse(&ctx, bad[i], strlen(bad[i]), &px), BIA_EFORMAT);
		assert_null(strchr(ctx.msg, '\n'));
	}
	/* our builder's output parses back */
	struct bia_image img;
	bia_image_init(&img);
	img.x = 5;
	img.y = 6;
	img.z = 7;
	img.c = 2;
	img.t = 3;
	img.dtype = BIA_F32;
	img.phys[2] = 1.5;
	char *xml = bia_ome_build(&img, "a<b>&\"c\"");
	assert_non_null(xml);
	assert_int_equal(bia_ome_parse(&ctx, xml, strlen(xml), &px), 0);
	assert_int_equal(px.size[2], 7);
	assert_string_equal(px.type, "float");
	assert_string_equal(px.dim_order, "XYCZT");
	assert_true(px.phys[2] == 1.5);
	assert_int_equal(px.tiffdata[0].plane_count, 42);
	bia_ome_pixels_release(&px);
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tifffile_bool),	   cmocka_unit_test(test_miniswhite),
		cmocka_unit_test(test_int64),		   cmocka_unit_test(test_imagej_hyperstack),
		cmocka_unit_test(test_ome),		   cmocka_unit_test(test_ome_uuid),
		cmocka_unit_test(test_shaped),
		cmocka_unit_test(test_rgb),		   cmocka_unit_test(test_sample_types),
		cmocka_unit_test(test_vips_imagemagick),   cmocka_unit_test(test_png),
		cmocka_unit_test(test_jpeg),		   cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_dimension_bomb),	   cmocka_unit_test(test_header_bombs),	   cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_png_round_trip),	   cmocka_unit_test(test_ome_read_by_tifffile),
		cmocka_unit_test(test_ome_parse),
	};
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
