/* Unit tests of src/util: errors, buffers, arenas, paths, sha256, JSON.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static void test_fail_message(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(ctx.rc, BIA_OK);
	int rc = bia_fail(&ctx, BIA_EFORMAT, "bad value %d in '%s'", 7, "x.tif");
	assert_int_equal(rc, BIA_EFORMAT);
	assert_string_equal(ctx.msg, "bad value 7 in 'x.tif'");
	bia_fail_prefix(&ctx, "%s", "file.tif");
	assert_string_equal(ctx.msg, "file.tif: bad value 7 in 'x.tif'");
	bia_ctx_clear(&ctx);
	assert_int_equal(ctx.rc, BIA_OK);
	assert_string_equal(ctx.msg, "");
}

static void test_rc_tables(void **state)
{
	(void)state;
	assert_int_equal(bia_rc_exit_code(BIA_OK), 0);
	assert_int_equal(bia_rc_exit_code(BIA_EUSAGE), 2);
	assert_int_equal(bia_rc_exit_code(BIA_EFORMAT), 1);
	assert_int_equal(bia_rc_http_status(BIA_ENOENT), 404);
	assert_int_equal(bia_rc_http_status(BIA_EEXIST), 409);
	assert_string_equal(bia_strerror(BIA_ENOMEM), "out of memory");
	assert_string_equal(bia_strerror((enum bia_rc)999), "unknown error");
}

static void test_max_pixels_env(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	setenv("BIAFLOWS_MAX_PIXELS", "1234", 1);
	bia_ctx_init(&ctx);
	assert_int_equal(ctx.max_pixels, 1234);
	setenv("BIAFLOWS_MAX_PIXELS", "junk", 1);
	bia_ctx_init(&ctx);
	assert_true(ctx.max_pixels == BIA_DEFAULT_MAX_PIXELS);
	unsetenv("BIAFLOWS_MAX_PIXELS");
}

static void test_buf_basic(void **state)
{
	(void)state;
	struct bia_buf b;
	bia_buf_init(&b, 100);
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(bia_buf_adds(&b, "abc"), 0);
	assert_int_equal(bia_buf_addf(&b, "-%d-", 42), 0);
	assert_int_equal(bia_buf_addch(&b, 'z'), 0);
	assert_string_equal(b.buf, "abc-42-z");
	assert_int_equal(b.len, 8);
	size_t len;
	char *s = bia_buf_detach(&b, &len);
	assert_string_equal(s, "abc-42-z");
	assert_int_equal(len, 8);
	assert_string_equal(b.buf, "");
	free(s);
	bia_buf_release(&b);
}

static void test_buf_limit_sticky(void **state)
{
	(void)state;
	struct bia_buf b;
	bia_buf_init(&b, 5);
	assert_int_equal(bia_buf_adds(&b, "12345"), 0);
	assert_int_equal(bia_buf_adds(&b, "6"), BIA_ELIMIT);
	/* sticky: a later small append fails too, contents unchanged */
	assert_int_equal(bia_buf_adds(&b, ""), BIA_ELIMIT);
	assert_string_equal(b.buf, "12345");
	assert_null(bia_buf_detach(&b, NULL));
	bia_buf_release(&b);
	bia_buf_init(&b, 1000);
	for (int i = 0; i < 200; i++)
		bia_buf_addf(&b, "%d,", i % 10);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 400);
	bia_buf_reset(&b);
	assert_int_equal(b.len, 0);
	bia_buf_release(&b);
}

static void test_arena(void **state)
{
	(void)state;
	struct bia_arena a;
	bia_arena_init(&a, 64);
	char *s = bia_arena_strdup(&a, "hello");
	char *t = bia_arena_printf(&a, "%s-%03d", "x", 7);
	unsigned char *big = bia_arena_alloc(&a, 1000); /* larger than a chunk */
	assert_string_equal(s, "hello");
	assert_string_equal(t, "x-007");
	assert_non_null(big);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(big[i], 0);
	assert_int_equal((uintptr_t)big % 16, 0);
	for (int i = 0; i < 100; i++)
		assert_non_null(bia_arena_alloc(&a, 24));
	assert_true(a.used >= 1000 + 100 * 24);
	bia_arena_release(&a);
	assert_null(a.head);
}

static void test_path_join(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	char out[BIA_PATH_MAX];
	bia_ctx_init(&ctx);
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a/b/", "c/./d//e.tif"), 0);
	assert_string_equal(out, "/a/b/c/d/e.tif");
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/", "x"), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", "../etc/passwd"), BIA_EPERM);
	assert_non_null(strstr(ctx.msg, ".."));
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", "x/../../y"), BIA_EPERM);
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", "/etc/passwd"), BIA_EPERM);
	assert_non_null(strstr(ctx.msg, "absolute"));
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", ""), BIA_EPERM);
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", "./."), BIA_EPERM);
	/* names that merely contain dots are fine */
	assert_int_equal(bia_path_join(&ctx, out, sizeof(out), "/a", "..x/y..z"), 0);
	assert_string_equal(out, "/a/..x/y..z");
	char small[8];
	assert_int_equal(bia_path_join(&ctx, small, sizeof(small), "/abc", "defgh"), BIA_ELIMIT);
}

static void test_path_stem(void **state)
{
	(void)state;
	char s[256];
	bia_path_stem("dir/a.b.ome.tif", s, sizeof(s));
	assert_string_equal(s, "a.b");
	bia_path_stem("x/IMG.OME.TIFF", s, sizeof(s));
	assert_string_equal(s, "IMG");
	bia_path_stem("cell_01.tiff", s, sizeof(s));
	assert_string_equal(s, "cell_01");
	bia_path_stem("tracks.txt", s, sizeof(s));
	assert_string_equal(s, "tracks");
	bia_path_stem("neuron.swc", s, sizeof(s));
	assert_string_equal(s, "neuron");
	bia_path_stem("noext", s, sizeof(s));
	assert_string_equal(s, "noext");
	bia_path_stem("a.b.weird", s, sizeof(s));
	assert_string_equal(s, "a.b");
	bia_path_stem(".hidden", s, sizeof(s));
	assert_string_equal(s, ".hidden");
	assert_string_equal(bia_path_ext("q/r.Ome.Tif"), ".Ome.Tif");
	assert_string_equal(bia_path_base("/x/y/z.png"), "z.png");
}

static void test_sha256(void **state)
{
	(void)state;
	char hex[BIA_SHA256_HEX];
	bia_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	bia_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* streaming equals one-shot */
	struct bia_sha256 h;
	char hex2[BIA_SHA256_HEX];
	bia_sha256_init(&h);
	bia_sha256_update(&h, "a", 1);
	bia_sha256_update(&h, "bc", 2);
	bia_sha256_final(&h, hex2);
	assert_string_equal(hex2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(bia_is_sha256_hex(hex));
	assert_false(bia_is_sha256_hex("abc"));
	hex[3] = 'G';
	assert_false(bia_is_sha256_hex(hex));
	/* a file */
	char path[] = "/tmp/bia-test-sha-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	uint64_t size = 0;
	assert_int_equal(bia_sha256_file(&ctx, path, hex, &size), 0);
	assert_int_equal(size, 3);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	unlink(path);
	assert_int_equal(bia_sha256_file(&ctx, path, hex, NULL), BIA_ENOENT);
}

static void test_json(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	const char *ok = "{\"a\": [1, 2, {\"b\": \"x\"}]}";
	json_t *j = bia_json_parse(&ctx, "t", ok, strlen(ok));
	assert_non_null(j);
	assert_string_equal(bia_json_str(json_array_get(json_object_get(j, "a"), 2), "b", "d"), "x");
	assert_string_equal(bia_json_str(j, "missing", "d"), "d");
	json_decref(j);
	const char *bad = "{\"a\": [1, 2,}";
	assert_null(bia_json_parse(&ctx, "t", bad, strlen(bad)));
	assert_int_equal(ctx.rc, BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "line 1"));
	/* depth bomb */
	char deep[300];
	memset(deep, '[', 150);
	memset(deep + 150, ']', 150);
	assert_null(bia_json_parse(&ctx, "t", deep, 300));
	assert_int_equal(ctx.rc, BIA_ELIMIT);
	/* brackets inside strings do not count */
	char str[210];
	str[0] = '[';
	str[1] = '"';
	memset(str + 2, '[', 200);
	str[202] = '"';
	str[203] = ']';
	assert_non_null(j = bia_json_parse(&ctx, "t", str, 204));
	json_decref(j);
	const char *dup = "{\"a\":1,\"a\":2}";
	assert_null(bia_json_parse(&ctx, "t", dup, strlen(dup)));
	json_t *r = bia_json_real(NAN);
	assert_string_equal(json_string_value(r), "nan");
	json_decref(r);
	r = bia_json_real(-INFINITY);
	assert_string_equal(json_string_value(r), "-inf");
	json_decref(r);
	r = bia_json_real(0.25);
	assert_true(json_real_value(r) == 0.25);
	json_decref(r);
}

static void test_files(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	char dir[] = "/tmp/bia-test-fs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	assert_int_equal(bia_mkdir_p(&ctx, p), 0);
	assert_true(bia_is_dir(p));
	snprintf(p, sizeof(p), "%s/a/f.txt", dir);
	assert_int_equal(bia_write_file_atomic(&ctx, p, "hello", 5), 0);
	char *data;
	size_t len;
	assert_int_equal(bia_read_file(&ctx, p, 100, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	assert_int_equal(bia_read_file(&ctx, p, 4, &data, &len), BIA_ELIMIT);
	snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(bia_read_file(&ctx, p, 100, &data, &len), BIA_EINVAL);
	assert_int_equal(bia_rm_rf(&ctx, dir), 0);
	assert_false(bia_is_dir(dir));
	char now[21];
	bia_now_iso(now);
	assert_int_equal(strlen(now), 20);
	assert_int_equal(now[10], 'T');
}

static void test_mul_overflow(void **state)
{
	(void)state;
	size_t out;
	assert_int_equal(bia_mul_size(SIZE_MAX / 2, 3, &out), -1);
	assert_int_equal(bia_mul_size(1000, 1000, &out), 0);
	assert_int_equal(out, 1000000);
	assert_null(bia_calloc(SIZE_MAX / 2, 4));
	assert_null(bia_malloc2(SIZE_MAX / 2, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_message), cmocka_unit_test(test_rc_tables),
		cmocka_unit_test(test_max_pixels_env), cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_limit_sticky), cmocka_unit_test(test_arena),
		cmocka_unit_test(test_path_join), cmocka_unit_test(test_path_stem),
		cmocka_unit_test(test_sha256), cmocka_unit_test(test_json),
		cmocka_unit_test(test_files), cmocka_unit_test(test_mul_overflow),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
