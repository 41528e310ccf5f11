/* Unit tests of src/annot/ctc.c: the CTC track-file parser (valid files,
 * line endings, the friendly whitespace rules, every refusal) and the
 * consistency check of a label stack against its track file.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annot/annot.h"

/* Parse a C string; returns rc, message in *ctx. */
static int parse(struct bia_ctx *ctx, const char *text, struct bia_ctc_tracks *t)
{
	bia_ctx_init(ctx);
	return bia_ctc_parse(ctx, "t.txt", text, strlen(text), t);
}

static void assert_track(const struct bia_ctc_tracks *t, size_t i, uint32_t l, int64_t b,
			 int64_t e, uint32_t p)
{
	assert_true(i < t->n);
	assert_int_equal(t->tracks[i].label, l);
	assert_int_equal(t->tracks[i].begin, b);
	assert_int_equal(t->tracks[i].end, e);
	assert_int_equal(t->tracks[i].parent, p);
}

/* The text must be refused with a message containing every fragment. */
static void refused(const char *text, const char *frag1, const char *frag2)
{
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	int rc = parse(&ctx, text, &t);
	if (rc == 0)
		fail_msg("accepted: '%s'", text);
	assert_int_equal(rc, BIA_EFORMAT);
	assert_int_equal(t.n, 0);
	assert_null(t.tracks);
	if (frag1 && !strstr(ctx.msg, frag1))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag1);
	if (frag2 && !strstr(ctx.msg, frag2))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag2);
	bia_ctc_release(&t);
}

static void test_valid(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	/* CTC-MEASURES §6, file order kept */
	assert_int_equal(parse(&ctx, "1 0 1 0\n2 2 2 1\n3 2 2 1\n4 0 2 0\n", &t), 0);
	assert_int_equal(t.n, 4);
	assert_track(&t, 0, 1, 0, 1, 0);
	assert_track(&t, 1, 2, 2, 2, 1);
	assert_track(&t, 2, 3, 2, 2, 1);
	assert_track(&t, 3, 4, 0, 2, 0);
	bia_ctc_release(&t);
	bia_ctc_release(&t); /* idempotent */
	/* no final newline, tabs, leading whitespace, leading zeros, '+',
	 * extreme values */
	assert_int_equal(parse(&ctx, "  65535\t007 9223372036854775807 +0\n0 0 0 65535", &t), 0);
	assert_int_equal(t.n, 2);
	assert_track(&t, 0, 65535, 7, INT64_MAX, 0);
	assert_track(&t, 1, 0, 0, 0, 65535);
	bia_ctc_release(&t);
	/* empty file: no track */
	assert_int_equal(parse(&ctx, "", &t), 0);
	assert_int_equal(t.n, 0);
	bia_ctc_release(&t);
	assert_int_equal(bia_ctc_parse(&ctx, "t", NULL, 0, &t), 0);
	assert_int_equal(t.n, 0);
	/* "-0" is zero (the official parser reads it as 0) */
	assert_int_equal(parse(&ctx, "5 -0 1 0\n", &t), 0);
	assert_track(&t, 0, 5, 0, 1, 0);
	bia_ctc_release(&t);
}

static void test_line_endings(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	assert_int_equal(parse(&ctx, "1 0 2 0\r\n4 1 2 0\r\n9 1 1 0\r\n", &t), 0);
	assert_int_equal(t.n, 3);
	assert_track(&t, 0, 1, 0, 2, 0);
	assert_track(&t, 2, 9, 1, 1, 0);
	bia_ctc_release(&t);
	/* lone CR (old Mac files; wxTextFile splits on it too) */
	assert_int_equal(parse(&ctx, "1 0 2 0\r4 1 2 0", &t), 0);
	assert_int_equal(t.n, 2);
	bia_ctc_release(&t);
	/* UTF-8 byte-order mark */
	assert_int_equal(parse(&ctx, "\xEF\xBB\xBF" "1 0 2 0\n", &t), 0);
	assert_int_equal(t.n, 1);
	bia_ctc_release(&t);
	/* line numbers count CRLF lines once */
	refused("1 0 2 0\r\n2 0 2 0\r\n3 0 2\r\n", "line 3", "t.txt");
}

static void test_friendly_whitespace(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	/* decision: blank lines and trailing whitespace are accepted (the
	 * official tool refuses them; they carry no data) */
	assert_int_equal(parse(&ctx, "\n1 0 2 0  \n\n \t\n2 3 4 1\t\r\n\n\n", &t), 0);
	assert_int_equal(t.n, 2);
	assert_track(&t, 0, 1, 0, 2, 0);
	assert_track(&t, 1, 2, 3, 4, 1);
	bia_ctc_release(&t);
	assert_int_equal(parse(&ctx, "   \n\n", &t), 0);
	assert_int_equal(t.n, 0);
	bia_ctc_release(&t);
	/* line numbers count blank lines */
	refused("\n\n1 0 2\n", "line 3", "found 3 fields");
}

static void test_columns(void **state)
{
	(void)state;
	refused("1 0 2\n", "line 1", "found 3 fields");
	refused("1 0 2 0\n2 0 2 0 0\n", "line 2", "found 5 fields");
	refused("1\n", "line 1", "found 1 field");
	refused("1 0 2 0 # cell\n", "line 1", "fields");
	refused("1,0,2,0\n", "line 1", "found 1 field");
}

static void test_duplicates(void **state)
{
	(void)state;
	refused("1 0 2 0\n2 0 2 0\n1 3 4 0\n", "line 3", "label 1 is defined twice (first on line 1)");
	refused("0 0 1 0\n0 2 3 0\n", "line 2", "label 0");
}

static void test_too_big(void **state)
{
	(void)state;
	refused("65536 0 1 0\n", "line 1", "above 65535");
	refused("1 0 1 0\n2 2 3 65536\n", "line 2", "parent P is 65536");
	refused("1 0 9223372036854775808 0\n", "line 1", "too large");
	refused("1 99999999999999999999999 99999999999999999999999 0\n", "line 1", "begin B");
	refused("99999999999999999999999 0 1 0\n", "line 1", "above 65535");
}

static void test_b_after_e(void **state)
{
	(void)state;
	/* the official tool drops the line with a warning; we refuse */
	refused("1 0 2 0\n2 5 3 1\n", "line 2", "track 2 begins at frame 5 after it ends at frame 3");
}

static void test_negative(void **state)
{
	(void)state;
	refused("-3 0 2 0\n", "line 1", "label L is negative");
	refused("1 -1 2 0\n", "line 1", "begin B is negative");
	refused("1 0 -2 0\n", "line 1", "end E is negative");
	refused("1 0 2 -1\n", "line 1", "parent P is negative");
	refused("1 0 2 -99999999999999999999999\n", "line 1", "negative");
}

static void test_non_numeric(void **state)
{
	(void)state;
	refused("a 0 2 0\n", "line 1", "label L is 'a'");
	refused("1 0 2.0 0\n", "line 1", "end E is '2.0'");
	refused("1 0x1 2 0\n", "line 1", "'0x1'");
	refused("1 1e3 2000 0\n", "line 1", "'1e3'");
	refused("1 0 2 0\n#comment 1 2 3\n", "line 2", "'#comment'");
	refused("1 + 2 0\n", "line 1", "'+'");
	refused("1 0 2 --1\n", "line 1", "'--1'");
	refused("1 0 2 0\n2 0 2 1z\n", "line 2", "'1z'");
	/* a NUL byte is not whitespace */
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ctc_parse(&ctx, "t", "1 0\0 2 0\n", 9, &t), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "'0?'"));
	/* long junk is cut in the message */
	refused("1 0 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "...", NULL);
}

static void test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/test_annot_ctc_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "1 0 1 0\r\n2 2 2 1\r\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ctc_load(&ctx, path, &t), 0);
	assert_int_equal(t.n, 2);
	assert_track(&t, 1, 2, 2, 2, 1);
	bia_ctc_release(&t);
	/* a bad file names its path and line */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("1 0 1 0\n2 2 2\n", f);
	fclose(f);
	assert_int_equal(bia_ctc_load(&ctx, path, &t), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, path));
	assert_non_null(strstr(ctx.msg, "line 2"));
	assert_null(t.tracks);
	unlink(path);
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ctc_load(&ctx, path, &t), BIA_ENOENT);
	assert_int_equal(t.n, 0);
}

/* ------------------------------------------------------------ bia_ctc_check */

/* A 6x4 stack of nf frames; box(l, f, x0) writes label l on a 2x2 square. */
static struct bia_image stack(size_t nf)
{
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	bia_image_init(&img);
	assert_int_equal(bia_image_alloc(&ctx, &img, 6, 4, 1, 1, nf, BIA_U16), 0);
	return img;
}

static void box(struct bia_image *img, double l, size_t f, size_t x0)
{
	for (size_t y = 1; y < 3; y++)
		for (size_t x = x0; x < x0 + 2; x++)
			bia_image_set(img, bia_image_index(img, x, y, 0, 0, f), l);
}

static int check(struct bia_ctx *ctx, const struct bia_image *img, const char *text)
{
	struct bia_ctc_tracks t;
	bia_ctx_init(ctx);
	assert_int_equal(bia_ctc_parse(ctx, "t", text, strlen(text), &t), 0);
	int rc = bia_ctc_check(ctx, "stack", img, &t);
	bia_ctc_release(&t);
	return rc;
}

static void check_refused(const struct bia_image *img, const char *text, const char *frag1,
			  const char *frag2)
{
	struct bia_ctx ctx;
	int rc = check(&ctx, img, text);
	if (rc == 0)
		fail_msg("accepted: '%s'", text);
	if (frag1 && !strstr(ctx.msg, frag1))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag1);
	if (frag2 && !strstr(ctx.msg, frag2))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag2);
}

static void test_check(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	/* cell 1 in frames 0..1 divides into 2 and 3 (frames 2..3); cell 4
	 * appears in frame 3 */
	struct bia_image img = stack(4);
	box(&img, 1, 0, 0);
	box(&img, 1, 1, 0);
	box(&img, 2, 2, 0);
	box(&img, 3, 2, 3);
	box(&img, 2, 3, 0);
	box(&img, 3, 3, 3);
	const char *ok = "1 0 1 0\n2 2 3 1\n3 2 3 1\n";
	assert_int_equal(check(&ctx, &img, ok), 0);
	/* track order in the file does not matter */
	assert_int_equal(check(&ctx, &img, "3 2 3 1\n2 2 3 1\n1 0 1 0\n"), 0);
	/* a new cell appears in the last frame: needs its own track */
	box(&img, 4, 3, 4);
	check_refused(&img, ok, "label 4 in frame 3 has no track", NULL);
	assert_int_equal(check(&ctx, &img, "1 0 1 0\n2 2 3 1\n3 2 3 1\n4 3 3 0\n"), 0);
	/* frames are the stack's own (no tmin shift here): an empty frame 0 is
	 * fine for the check */
	struct bia_image late = stack(3);
	box(&late, 8, 1, 0);
	box(&late, 8, 2, 0);
	assert_int_equal(check(&ctx, &late, "8 1 2 0\n"), 0);
	check_refused(&late, "8 0 2 0\n", "label 8 is missing from frame 0", NULL);
	bia_image_release(&late);
	bia_image_release(&img);
}

static void test_check_refusals(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image img = stack(4);
	box(&img, 1, 0, 0);
	box(&img, 1, 1, 0);
	box(&img, 2, 2, 0);
	box(&img, 3, 2, 3);
	box(&img, 2, 3, 0);
	box(&img, 3, 3, 3);
	assert_int_equal(check(&ctx, &img, "1 0 1 0\n2 2 3 1\n3 2 3 1\n"), 0);
	/* a track longer than the stack */
	check_refused(&img, "1 0 1 0\n2 2 4 1\n3 2 3 1\n", "track 2 (frames 2..4)",
		      "4 frames");
	/* a gap: label 1 is absent from frame 2 */
	check_refused(&img, "1 0 2 0\n2 3 3 1\n3 2 3 1\n", "label 1 is missing from frame 2",
		      NULL);
	/* label 3 in frames 2..3 but the track says 3 only */
	check_refused(&img, "1 0 1 0\n2 2 3 1\n3 3 3 1\n", "label 3 is present in frame 2",
		      "outside its track (frames 3..3)");
	/* image label without track */
	check_refused(&img, "1 0 1 0\n2 2 3 1\n", "label 3 in frame 2 has no track", NULL);
	/* parents */
	check_refused(&img, "1 0 1 0\n2 2 3 1\n3 2 3 7\n", "track 3 has parent 7", "no track");
	check_refused(&img, "1 0 1 0\n2 2 3 1\n3 2 3 3\n", "track 3 begins at frame 2",
		      "parent 3 ends (frame 3)");
	/* label 0 */
	check_refused(&img, "0 0 0 0\n1 0 1 0\n2 2 3 1\n3 2 3 1\n", "missing from frame 0",
		      "background");
	/* a track that does not fit at all */
	check_refused(&img, "1 0 1 0\n2 2 3 1\n3 2 3 1\n9 100 200 0\n", "track 9", NULL);
	/* images that are not CTC label stacks */
	struct bia_image u32;
	bia_image_init(&u32);
	bia_ctx_init(&ctx);
	assert_int_equal(bia_image_alloc(&ctx, &u32, 6, 4, 1, 1, 4, BIA_U32), 0);
	box(&u32, 70000, 3, 3);
	check_refused(&u32, "", "value 70000 in frame 3", "65535");
	bia_image_release(&u32);
	assert_int_equal(bia_image_alloc(&ctx, &u32, 6, 4, 1, 1, 2, BIA_F32), 0);
	box(&u32, 1.5, 1, 0);
	check_refused(&u32, "", "value 1.5 in frame 1", NULL);
	bia_image_release(&u32);
	assert_int_equal(bia_image_alloc(&ctx, &u32, 6, 4, 1, 2, 2, BIA_U16), 0);
	assert_int_equal(check(&ctx, &u32, ""), BIA_ESHAPE);
	bia_image_release(&u32);
	/* a hand-built struct with a duplicate label */
	struct bia_ctc_track tr[2] = {{1, 0, 1, 0}, {1, 2, 3, 0}};
	struct bia_ctc_tracks t = {2, tr};
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ctc_check(&ctx, "stack", &img, &t), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "label 1 has two tracks"));
	bia_image_release(&img);
}

static void test_check_3d_types(void **state)
{
	(void)state;
	/* 3D+T uint8 stack: label 5 in z = 2 of frames 0 and 1 only */
	struct bia_ctx ctx;
	struct bia_image img;
	bia_ctx_init(&ctx);
	bia_image_init(&img);
	assert_int_equal(bia_image_alloc(&ctx, &img, 3, 3, 4, 1, 3, BIA_U8), 0);
	bia_image_set(&img, bia_image_index(&img, 1, 1, 2, 0, 0), 5);
	bia_image_set(&img, bia_image_index(&img, 2, 2, 3, 0, 1), 5);
	bia_image_set(&img, bia_image_index(&img, 0, 0, 0, 0, 2), 6);
	assert_int_equal(check(&ctx, &img, "5 0 1 0\n6 2 2 5\n"), 0);
	check_refused(&img, "5 0 2 0\n6 2 2 5\n", "label 5 is missing from frame 2", NULL);
	bia_image_release(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_friendly_whitespace), cmocka_unit_test(test_columns),
		cmocka_unit_test(test_duplicates),	cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_b_after_e),	cmocka_unit_test(test_negative),
		cmocka_unit_test(test_non_numeric),	cmocka_unit_test(test_load),
		cmocka_unit_test(test_check),		cmocka_unit_test(test_check_refusals),
		cmocka_unit_test(test_check_3d_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
