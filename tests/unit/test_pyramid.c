/* Pyramids (src/image/pyramid.c) and IIIF rendering (src/image/render.c)
 * with hand-computed values: level sizes, the rounded mean, the mode of
 * labels, windows, verification of damaged chunks, region reads, IIIF
 * parsing. Builds use 3 threads (BIAFLOWS_PYRAMID_THREADS) so that `make
 * check` runs them under ThreadSanitizer too.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/pyramid.h"
#include "image/render.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	setenv("BIAFLOWS_PYRAMID_THREADS", "3", 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bia-pyr-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_rm_rf(&ctx, tmpdir);
	return 0;
}

static void image(struct bia_image *img, size_t x, size_t y, size_t z, size_t c,
		  enum bia_dtype t)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_image_init(img);
	assert_int_equal(bia_image_alloc(&ctx, img, x, y, z, c, 1, t), 0);
}

/* 600 x 300 -> 300 x 150 -> 150 x 75: three levels (the second is wider
 * than a chunk); level 1 is the rounded mean of 2 x 2. */
static void test_levels_and_mean(void **state)
{
	(void)state;
	struct bia_image img;
	image(&img, 600, 300, 1, 1, BIA_U8);
	uint8_t *p = img.data;
	for (size_t i = 0; i < 600 * 300; i++)
		p[i] = (uint8_t)(i * 7 % 251);
	/* a block of 2 x 2 with a known mean: (10 + 11 + 12 + 14) / 4 = 11.75 -> 12 */
	p[0] = 10, p[1] = 11, p[600] = 12, p[601] = 14;
	/* and one at .5: (1 + 2 + 3 + 4) / 4 = 2.5 -> 3 (half up) */
	p[2] = 1, p[3] = 2, p[602] = 3, p[603] = 4;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/mean.zarr", tmpdir);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_pyramid_build_image(&ctx, &img, dir, NULL), 0);
	struct bia_pyramid pyr;
	assert_int_equal(bia_pyramid_open(&ctx, dir, &pyr), 0);
	assert_int_equal(pyr.nlevels, 3);
	assert_int_equal(pyr.w[1], 300);
	assert_int_equal(pyr.h[1], 150);
	assert_int_equal(pyr.w[2], 150);
	assert_int_equal(pyr.h[2], 75);
	double v[4];
	assert_int_equal(bia_pyramid_read(&ctx, &pyr, 1, 0, 0, 0, 0, 0, 2, 1, v), 0);
	assert_true(v[0] == 12 && v[1] == 3);
	/* level 0 comes back exactly, across a chunk border */
	double row[20];
	assert_int_equal(bia_pyramid_read(&ctx, &pyr, 0, 0, 0, 0, 250, 7, 20, 1, row), 0);
	for (int i = 0; i < 20; i++)
		assert_true(row[i] == p[7 * 600 + 250 + i]);
	uint64_t chunks;
	assert_int_equal(bia_pyramid_verify(&ctx, dir, &chunks), 0);
	/* 3 x 2 + 2 x 1 + 1 chunks */
	assert_int_equal(chunks, 9);
	/* a damaged chunk is found */
	char chunk[256];
	snprintf(chunk, sizeof(chunk), "%s/1/0/0/0/0/1", dir);
	FILE *f = fopen(chunk, "w");
	assert_non_null(f);
	fputs("damaged", f);
	fclose(f);
	assert_int_equal(bia_pyramid_verify(&ctx, dir, &chunks), BIA_ECORRUPT);
	assert_non_null(strstr(ctx.msg, "chunk 1/0/0/0/0/1 is damaged"));
	bia_image_release(&img);
}

/* Labels: the mode of 2 x 2, ties to the first in raster order; never a
 * value that is not in the block. */
static void test_labels_mode(void **state)
{
	(void)state;
	struct bia_image img;
	image(&img, 34, 2, 1, 1, BIA_U16); /* 34 > one chunk of 16: two levels */
	uint16_t *p = img.data;
	/* block 0: 5 5 / 7 9 -> 5; block 1: 3 4 / 4 3 -> 3 (tie: first) */
	uint16_t v[8] = {5, 5, 3, 4, 7, 9, 4, 3};
	memcpy(p, v, 4 * sizeof(uint16_t));
	memcpy(p + 34, v + 4, 4 * sizeof(uint16_t));
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/labels.zarr", tmpdir);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_pyramid_opts o = {.labels = 1, .chunk = 16};
	assert_int_equal(bia_pyramid_build_image(&ctx, &img, dir, &o), 0);
	struct bia_pyramid pyr;
	assert_int_equal(bia_pyramid_open(&ctx, dir, &pyr), 0);
	assert_true(pyr.labels);
	assert_int_equal(pyr.nlevels, 3); /* 34 -> 17 -> 9 */
	double out[2];
	assert_int_equal(bia_pyramid_read(&ctx, &pyr, 1, 0, 0, 0, 0, 0, 2, 1, out), 0);
	assert_true(out[0] == 5 && out[1] == 3);
	/* a float image is not a label image */
	struct bia_image f;
	image(&f, 4, 4, 1, 1, BIA_F32);
	char d2[128];
	snprintf(d2, sizeof(d2), "%s/bad.zarr", tmpdir);
	assert_int_equal(bia_pyramid_build_image(&ctx, &f, d2, &o), BIA_EFORMAT);
	assert_int_equal(access(d2, F_OK), -1); /* nothing left behind */
	bia_image_release(&f);
	bia_image_release(&img);
}

/* The default window: the values at the 0.1 % and 99.9 % ranks. 1000
 * pixels 0..999 (16-bit): ranks floor(0.999) = 0 and ceil(998.001) = 999. */
static void test_window(void **state)
{
	(void)state;
	struct bia_image img;
	image(&img, 1000, 1, 1, 1, BIA_U16);
	uint16_t *p = img.data;
	for (int i = 0; i < 1000; i++)
		p[i] = (uint16_t)(i * 10);
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/win.zarr", tmpdir);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_pyramid_build_image(&ctx, &img, dir, NULL), 0);
	struct bia_pyramid pyr;
	assert_int_equal(bia_pyramid_open(&ctx, dir, &pyr), 0);
	assert_int_equal(pyr.nwin, 1);
	assert_true(pyr.win_start[0] == 0);
	assert_true(pyr.win_end[0] == 9990);
	/* a 16-bit render through the window [0, 9990]: 4995 -> 127.5 -> 128 */
	struct bia_render_req rr;
	assert_int_equal(bia_iiif_parse(&ctx, "499,0,2,1/max/0/default.png", 1000, 1, &rr), 0);
	assert_int_equal(rr.ow, 2);
	assert_int_equal(bia_iiif_query(&ctx, &pyr, NULL, NULL, NULL, NULL, &rr), 0);
	unsigned char *png;
	size_t len;
	const char *type;
	assert_int_equal(bia_render(&ctx, &pyr, NULL, &rr, &png, &len, &type), 0);
	assert_string_equal(type, "image/png");
	assert_true(len > 8 && !memcmp(png, "\x89PNG", 4));
	free(png);
	bia_image_release(&img);
}

/* Two threads building the same pyramid at once (the server's builder and
 * an API operation): both succeed, one pyramid stands, and it verifies. */
struct racer {
	const struct bia_image *img;
	char dir[128];
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	r->rc = bia_pyramid_build_image(&ctx, r->img, r->dir, NULL);
	return NULL;
}

static void test_two_builders(void **state)
{
	(void)state;
	struct bia_image img;
	image(&img, 700, 500, 2, 1, BIA_U16);
	for (size_t i = 0; i < 700 * 500 * 2; i++)
		((uint16_t *)img.data)[i] = (uint16_t)(i % 3000);
	struct racer r[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		r[i].img = &img;
		snprintf(r[i].dir, sizeof(r[i].dir), "%s/race.zarr", tmpdir);
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[1].rc, 0);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	uint64_t chunks;
	assert_int_equal(bia_pyramid_verify(&ctx, r[0].dir, &chunks), 0);
	assert_int_equal(chunks, 2 * (3 * 2 + 2 * 1 + 1)); /* 2 planes of 700 x 500 */
	/* no temp folder left */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -q '^\\.tmp-'", tmpdir);
	assert_int_not_equal(system(cmd), 0);
	bia_image_release(&img);
}

static void test_iiif_parse(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_render_req rr;
	/* square of 400 x 300: 300 x 300 at x = 50 */
	assert_int_equal(bia_iiif_parse(&ctx, "square/150,/90/gray.jpg", 400, 300, &rr), 0);
	assert_true(rr.rx == 50 && rr.ry == 0 && rr.rw == 300 && rr.rh == 300);
	assert_true(rr.ow == 150 && rr.oh == 150 && rr.rot == 90 && rr.quality == BIA_Q_GRAY);
	/* !w,h keeps the ratio: 400 x 300 into 100 x 100 -> 100 x 75 */
	assert_int_equal(bia_iiif_parse(&ctx, "full/!100,100/!0/default.webp", 400, 300, &rr), 0);
	assert_true(rr.ow == 100 && rr.oh == 75 && rr.mirror && rr.format == BIA_RF_WEBP);
	/* a region clipped at the edge */
	assert_int_equal(bia_iiif_parse(&ctx, "350,250,100,100/max/0/default.jpg", 400, 300, &rr), 0);
	assert_true(rr.rw == 50 && rr.rh == 50);
	/* refusals */
	assert_int_equal(bia_iiif_parse(&ctx, "400,0,10,10/max/0/default.jpg", 400, 300, &rr),
			 BIA_EINVAL);
	assert_int_equal(bia_iiif_parse(&ctx, "full/800,/0/default.jpg", 400, 300, &rr), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "larger than the region"));
	assert_int_equal(bia_iiif_parse(&ctx, "full/^5000,5000/0/default.jpg", 400, 300, &rr),
			 BIA_EINVAL);
	assert_int_equal(bia_iiif_parse(&ctx, "full/max/45/default.jpg", 400, 300, &rr), BIA_EINVAL);
	assert_int_equal(bia_iiif_parse(&ctx, "full/max/0/default.tif", 400, 300, &rr), BIA_EINVAL);
	assert_int_equal(bia_iiif_parse(&ctx, "full/max/0", 400, 300, &rr), BIA_EINVAL);
	assert_int_equal(bia_iiif_parse(&ctx, "-1,0,5,5/max/0/default.jpg", 400, 300, &rr),
			 BIA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_mean),
		cmocka_unit_test(test_labels_mode),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_two_builders),
		cmocka_unit_test(test_iiif_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
