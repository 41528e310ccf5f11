/* SWC parser: accepted layouts (comments, blank and space-only lines, CRLF,
 * extra fields, ids not 1..N) and every refusal with its line number.
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

static int parse(struct bia_ctx *ctx, const char *text, struct bia_swc *s)
{
	bia_ctx_init(ctx);
	return bia_swc_parse(ctx, "t.swc", text, strlen(text), s);
}

/* Parse text that must be refused with `rc`; the message must contain
 * every one of the given fragments. */
static void refused(const char *text, int rc, const char *frag1, const char *frag2)
{
	struct bia_ctx ctx;
	struct bia_swc s;
	int got = parse(&ctx, text, &s);
	if (got != rc)
		fail_msg("expected rc %d, got %d (%s) for <<%s>>", rc, got, ctx.msg, text);
	assert_int_equal(s.n, 0);
	assert_null(s.nodes);
	if (frag1 && !strstr(ctx.msg, frag1))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag1);
	if (frag2 && !strstr(ctx.msg, frag2))
		fail_msg("message '%s' lacks '%s'", ctx.msg, frag2);
	assert_non_null(strstr(ctx.msg, "'t.swc'"));
}

static void test_swc_valid(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_swc s;
	const char *text = "# a comment\n"
			   "#another\n"
			   "\n"
			   "1 1 0.5 1.5 -2 3.25 -1\n"
			   "2\t3\t10\t20\t30\t1\t1\n"
			   "   \n"
			   "3 2 1e1 .5 5. 0 2   # inline comment\n"
			   "4 2 7 8 9 1 0.0 foo 3\n"; /* 9 fields: parent = last (3) */
	assert_int_equal(parse(&ctx, text, &s), 0);
	assert_int_equal(s.n, 4);
	/* node 1: every field as written */
	assert_int_equal(s.nodes[0].id, 1);
	assert_int_equal(s.nodes[0].type, 1);
	assert_true(s.nodes[0].x == 0.5 && s.nodes[0].y == 1.5 && s.nodes[0].z == -2);
	assert_true(s.nodes[0].r == 3.25);
	assert_int_equal(s.nodes[0].parent, -1);
	/* tab separated */
	assert_int_equal(s.nodes[1].type, 3);
	assert_true(s.nodes[1].x == 10 && s.nodes[1].y == 20 && s.nodes[1].z == 30);
	assert_int_equal(s.nodes[1].parent, 1);
	/* 1e1 = 10, .5 = 0.5, 5. = 5; the comment after the fields is dropped */
	assert_true(s.nodes[2].x == 10 && s.nodes[2].y == 0.5 && s.nodes[2].z == 5);
	assert_int_equal(s.nodes[2].parent, 2);
	/* extra fields: the last one is the parent, as BIAFLOWS */
	assert_int_equal(s.nodes[3].parent, 3);
	bia_swc_release(&s);
	assert_null(s.nodes);
	assert_int_equal(s.n, 0);
}

static void test_swc_line_ends(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_swc s;
	/* CRLF, a CRLF blank line, a space-only CRLF line, no final newline */
	assert_int_equal(parse(&ctx, "# x\r\n1 1 0 0 0 1 -1\r\n\r\n  \t\r\n2 1 1 0 0 1 1", &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.nodes[1].parent, 1);
	bia_swc_release(&s);
	/* old Mac line ends (Python's universal newlines read them too) */
	assert_int_equal(parse(&ctx, "1 1 0 0 0 1 -1\r2 1 1 0 0 1 1\r", &s), 0);
	assert_int_equal(s.n, 2);
	bia_swc_release(&s);
	/* the line number counts CRLF as one line end: the bad node is line 3 */
	refused("1 1 0 0 0 1 -1\r\n\r\n2 1 0 0\r\n", BIA_EFORMAT, "line 3", "4 fields");
	/* nothing but comments: a tree without nodes */
	assert_int_equal(parse(&ctx, "# only\n\n   \n", &s), 0);
	assert_int_equal(s.n, 0);
	bia_swc_release(&s);
	assert_int_equal(parse(&ctx, "", &s), 0);
	assert_int_equal(s.n, 0);
	bia_swc_release(&s);
}

static void test_swc_ids_not_1n(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_swc s;
	/* ids 0, 10, 20 in any order, parents by id: accepted as written (the
	 * metric maps ids to nodes, decision 10) */
	assert_int_equal(parse(&ctx, "20 1 2 0 0 1 10\n0 1 0 0 0 1 -1\n10 1 1 0 0 1 0\n", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.nodes[0].id, 20);
	assert_int_equal(s.nodes[0].parent, 10);
	assert_int_equal(s.nodes[1].id, 0);
	assert_int_equal(s.nodes[2].parent, 0);
	bia_swc_release(&s);
	/* any negative parent is a root; kept as written */
	assert_int_equal(parse(&ctx, "5 1 0 0 0 1 -2\n", &s), 0);
	assert_int_equal(s.nodes[0].parent, -2);
	bia_swc_release(&s);
}

static void test_swc_bad_fields(void **state)
{
	(void)state;
	refused("1 1 0 0 0 1\n", BIA_EFORMAT, "line 1", "6 fields");
	refused("# c\n1 1 0 0 0 1 -1\n2 1 0\n", BIA_EFORMAT, "line 3", "3 fields");
	refused("1.5 1 0 0 0 1 -1\n", BIA_EFORMAT, "id '1.5'", "integer");
	refused("1 soma 0 0 0 1 -1\n", BIA_EFORMAT, "type 'soma'", "integer");
	refused("1 1 abc 0 0 1 -1\n", BIA_EFORMAT, "x 'abc'", "number");
	refused("1 1 0 nan 0 1 -1\n", BIA_EFORMAT, "y 'nan'", "number");
	refused("1 1 0 0 inf 1 -1\n", BIA_EFORMAT, "z 'inf'", "number");
	refused("1 1 0 0 0 0x10 -1\n", BIA_EFORMAT, "radius '0x10'", "number");
	refused("1 1 0 0 0 1e999 -1\n", BIA_EFORMAT, "radius", "number"); /* overflows */
	refused("1 1 0 0 0 1 -1.0\n", BIA_EFORMAT, "parent '-1.0'", "integer");
	refused("1 1 0 0 0 1 -\n", BIA_EFORMAT, "parent '-'", "integer");
	refused("99999999999999999999 1 0 0 0 1 -1\n", BIA_EFORMAT, "id", "integer");
	/* a NUL inside a field */
	struct bia_ctx ctx;
	struct bia_swc s;
	static const char nul[] = "1 1 0\0 0 0 1 -1\n";
	bia_ctx_init(&ctx);
	assert_int_equal(bia_swc_parse(&ctx, "t.swc", nul, sizeof(nul) - 1, &s), BIA_EFORMAT);
	assert_non_null(strstr(ctx.msg, "line 1"));
	/* a field too long to be a number */
	char longf[200];
	memset(longf, '1', sizeof(longf));
	memcpy(longf + 100, " 1 0 0 0 1 -1\n", 15);
	refused(longf, BIA_EFORMAT, "line 1", "id");
}

static void test_swc_structure(void **state)
{
	(void)state;
	refused("1 1 0 0 0 1 -1\n2 1 0 0 0 1 1\n# c\n2 1 5 5 5 1 1\n", BIA_EFORMAT,
		"line 4: duplicate node id 2", "first on line 2");
	refused("1 1 0 0 0 1 -1\n\n2 1 0 0 0 1 7\n", BIA_EFORMAT, "line 3: parent 7 of node 2",
		"does not exist");
	refused("1 1 0 0 0 1 1\n", BIA_EFORMAT, "line 1: node 1 is its own parent", NULL);
	refused("-3 1 0 0 0 1 -1\n", BIA_EFORMAT, "line 1: node id -3 is negative", NULL);
	/* the parent may come later in the file */
	struct bia_ctx ctx;
	struct bia_swc s;
	assert_int_equal(parse(&ctx, "2 1 0 0 0 1 1\n1 1 0 0 0 1 -1\n", &s), 0);
	assert_int_equal(s.n, 2);
	bia_swc_release(&s);
}

static void test_swc_load(void **state)
{
	(void)state;
	char path[] = "/tmp/bia_swc_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *t = "# t\n1 1 1 2 3 1 -1\n2 1 4 5 6 1 1\n";
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	struct bia_ctx ctx;
	struct bia_swc s;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_swc_load(&ctx, path, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.nodes[1].x == 4 && s.nodes[1].y == 5 && s.nodes[1].z == 6);
	bia_swc_release(&s);
	unlink(path);
	bia_ctx_init(&ctx);
	assert_int_equal(bia_swc_load(&ctx, path, &s), BIA_ENOENT);
	assert_int_equal(s.n, 0);
	bia_swc_release(NULL); /* harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swc_valid),	cmocka_unit_test(test_swc_line_ends),
		cmocka_unit_test(test_swc_ids_not_1n), cmocka_unit_test(test_swc_bad_fields),
		cmocka_unit_test(test_swc_structure),	cmocka_unit_test(test_swc_load),
	};
	return cmocka_run_group_tests_name("annot_swc", tests, NULL, NULL);
}
