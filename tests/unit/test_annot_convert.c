/* Unit tests of src/annot/convert.c: point lists, ISBI 2012 PTC XML, CTC
 * folders, SWC and dataset layouts, on tiny inputs the tests write into
 * /tmp, with exact pixel positions and labels.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "annot/annot.h"

/* ------------------------------------------------------------ helpers */

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bia-conv-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	return bia_rm_rf(&ctx, tmpdir);
}

static const char *P(const char *rel)
{
	static char buf[8][1024];
	static int k;
	k = (k + 1) % 8;
	if (rel[0] == '/') /* already absolute */
		snprintf(buf[k], sizeof(buf[k]), "%s", rel);
	else
		snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, rel);
	return buf[k];
}

static void mkdirs(const char *rel)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_mkdir_p(&ctx, P(rel)), 0);
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(P(rel), "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A 2D image of w x h, value(x, y) = v0 + x + 10 y (uint8) or a label image
 * given as an array (uint16). */
static void write_img(const char *rel, size_t w, size_t h, enum bia_dtype dt, int v0,
		      const uint16_t *labels)
{
	struct bia_ctx ctx;
	struct bia_image m;
	bia_ctx_init(&ctx);
	bia_image_init(&m);
	assert_int_equal(bia_image_alloc(&ctx, &m, w, h, 1, 1, 1, dt), 0);
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++)
			bia_image_set(&m, x + w * y,
				      labels ? labels[x + w * y] : (double)(v0 + (int)x + 10 * (int)y));
	assert_int_equal(bia_image_write_tiff(&ctx, &m, P(rel), NULL), 0);
	bia_image_release(&m);
}

static struct bia_image rd(const char *path)
{
	struct bia_ctx ctx;
	struct bia_image m;
	bia_ctx_init(&ctx);
	if (bia_image_read(&ctx, path, NULL, &m))
		fail_msg("%s", ctx.msg);
	return m;
}

#define PX(img, x, y, z, t) bia_image_get(&(img), bia_image_index(&(img), x, y, z, 0, t))

static size_t nnz(const struct bia_image *m)
{
	size_t n = 0, ns = bia_image_nsamples(m);
	for (size_t i = 0; i < ns; i++)
		n += bia_image_get(m, i) != 0;
	return n;
}

static struct bia_image shape(size_t x, size_t y, size_t z, size_t t)
{
	struct bia_image m;
	bia_image_init(&m);
	m.x = x, m.y = y, m.z = z, m.c = 1, m.t = t;
	m.dtype = BIA_U8;
	return m;
}

/* Parse + mask; returns rc, message in ctx. */
static int points(struct bia_ctx *ctx, const char *text, const struct bia_points_opts *o,
		  const struct bia_image *like, struct bia_image *mask, struct bia_points *pts)
{
	bia_ctx_init(ctx);
	bia_image_init(mask);
	struct bia_points tmp;
	struct bia_points *pp = pts ? pts : &tmp;
	int rc = bia_points_parse(ctx, "pts.csv", text, strlen(text), o, pp);
	if (!rc)
		rc = bia_points_mask(ctx, "pts.csv", pp, like, mask);
	if (!pts || rc)
		bia_points_release(pp);
	return rc;
}

static void assert_msg(const struct bia_ctx *ctx, const char *a, const char *b)
{
	if (!strstr(ctx->msg, a) || (b && !strstr(ctx->msg, b)))
		fail_msg("message '%s' lacks '%s'%s%s", ctx->msg, a, b ? " or " : "", b ? b : "");
}

/* ---------------------------------------------------------- point lists */

static void test_points_header_and_rounding(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image like = shape(8, 6, 1, 1), m;
	struct bia_points pts;
	/* header in any case, spaces after commas, CRLF, comment and blank lines */
	assert_int_equal(points(&ctx,
				"# made by hand\r\nX, Y, Class\r\n1.4,2.6,3\r\n\r\n2.5,0.49,7\r\n"
				"-0.5,5.4,1\r\n7.49,0,65535\r\n",
				NULL, &like, &m, &pts),
			 0);
	assert_int_equal(pts.n, 4);
	assert_true(pts.header && pts.has_class && !pts.has_z && pts.sep == ',');
	assert_int_equal(pts.v[0].line, 3);
	assert_int_equal(pts.v[1].line, 5);
	bia_points_release(&pts);
	assert_int_equal(m.dtype, BIA_U16);
	assert_int_equal(m.x, 8);
	assert_int_equal(m.y, 6);
	assert_int_equal(nnz(&m), 4);
	assert_true(PX(m, 1, 3, 0, 0) == 3);	 /* (1.4, 2.6) -> (1, 3) */
	assert_true(PX(m, 3, 0, 0, 0) == 7);	 /* 2.5 rounds up, 0.49 down */
	assert_true(PX(m, 0, 5, 0, 0) == 1);	 /* -0.5 is still pixel 0 */
	assert_true(PX(m, 7, 0, 0, 0) == 65535); /* 7.49 is the last column */
	bia_image_release(&m);
	/* just outside: -0.51 and 7.5 */
	assert_int_not_equal(points(&ctx, "x,y\n1,1\n-0.51,2\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:3: point (-0.51, 2) is outside the image (8x6)", NULL);
	assert_int_not_equal(points(&ctx, "x,y\n7.5,2\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2:", "outside the image");
	assert_int_not_equal(points(&ctx, "x,y\n2,6\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2:", "outside");
}

static void test_points_no_header(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image like = shape(8, 6, 1, 1), like3 = shape(8, 6, 4, 1), m;
	struct bia_points pts;
	/* whitespace separated x y: value 1 */
	assert_int_equal(points(&ctx, "3 4\n\t5   1 \n", NULL, &like, &m, &pts), 0);
	assert_true(!pts.header && pts.sep == ' ' && !pts.has_class);
	bia_points_release(&pts);
	assert_int_equal(nnz(&m), 2);
	assert_true(PX(m, 3, 4, 0, 0) == 1 && PX(m, 5, 1, 0, 0) == 1);
	bia_image_release(&m);
	/* 3 columns on a 2D image: x, y, class; semicolons; UTF-8 BOM */
	assert_int_equal(points(&ctx, "\xEF\xBB\xBF" "3;4;2\n5;1;9\n", NULL, &like, &m, &pts), 0);
	assert_true(pts.sep == ';' && pts.has_class);
	bia_points_release(&pts);
	assert_true(PX(m, 3, 4, 0, 0) == 2 && PX(m, 5, 1, 0, 0) == 9);
	bia_image_release(&m);
	/* 3 columns on a 3D image: x, y, z */
	struct bia_points_opts o3 = {3, 0, NULL, 0};
	assert_int_equal(points(&ctx, "3,4,2\n5,1,3\n", &o3, &like3, &m, &pts), 0);
	assert_true(pts.has_z && !pts.has_class);
	bia_points_release(&pts);
	assert_int_equal(m.z, 4);
	assert_true(PX(m, 3, 4, 2, 0) == 1 && PX(m, 5, 1, 3, 0) == 1);
	bia_image_release(&m);
	/* ... unless --class-column */
	struct bia_points_opts oc = {3, 1, NULL, 0};
	assert_int_not_equal(points(&ctx, "3,4,2\n", &oc, &like3, &m, NULL), 0);
	assert_msg(&ctx, "no z column", NULL);
	/* 4 columns: x, y, z, class */
	assert_int_equal(points(&ctx, "3,4,2,5\n", &o3, &like3, &m, NULL), 0);
	assert_true(PX(m, 3, 4, 2, 0) == 5);
	bia_image_release(&m);
	/* a z column on a 2D image must round to slice 0 */
	assert_int_equal(points(&ctx, "x y z\n1 1 0.2\n", NULL, &like, &m, NULL), 0);
	bia_image_release(&m);
	assert_int_not_equal(points(&ctx, "x y z\n1 1 1\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2: point (1, 1, 1) is outside", NULL);
	/* numbering points 1..N when there is no class column (landmarks) */
	struct bia_points_opts on = {2, 0, NULL, 1};
	assert_int_equal(points(&ctx, "x,y\n1,1\n2,2\n3,3\n", &on, &like, &m, NULL), 0);
	assert_true(PX(m, 1, 1, 0, 0) == 1 && PX(m, 2, 2, 0, 0) == 2 && PX(m, 3, 3, 0, 0) == 3);
	bia_image_release(&m);
	/* an empty list is an empty mask */
	assert_int_equal(points(&ctx, "# nothing\n\n", NULL, &like, &m, NULL), 0);
	assert_int_equal(nnz(&m), 0);
	bia_image_release(&m);
}

static void test_points_formats_of_real_data(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image like = shape(20, 10, 1, 1), m;
	struct bia_points pts;
	/* Kainz et al. .txt: "N 3 0" count line, then x y label */
	assert_int_equal(points(&ctx, "3 3 0\n4 5 1\n12 3 3\n0 9 1\n", NULL, &like, &m, &pts), 0);
	assert_true(pts.count_line && !pts.header);
	assert_int_equal(pts.n, 3);
	bia_points_release(&pts);
	assert_int_equal(nnz(&m), 3);
	assert_true(PX(m, 4, 5, 0, 0) == 1 && PX(m, 12, 3, 0, 0) == 3 && PX(m, 0, 9, 0, 0) == 1);
	bia_image_release(&m);
	/* a first line that only looks like a count line is data */
	assert_int_equal(points(&ctx, "3 3 1\n4 5 1\n12 3 3\n0 9 1\n", NULL, &like, &m, &pts), 0);
	assert_int_equal(pts.n, 4);
	bia_points_release(&pts);
	bia_image_release(&m);
	/* landmark CSV: landmark,X,Y */
	assert_int_equal(points(&ctx, "landmark,X,Y\n1,2.4,3.6\n2,10.5,0\n", NULL, &like, &m, NULL),
			 0);
	assert_true(PX(m, 2, 4, 0, 0) == 1 && PX(m, 11, 0, 0, 0) == 2);
	bia_image_release(&m);
	/* ImageJ style: blank index column ignored */
	assert_int_equal(points(&ctx, " ,X,Y\n1,2,3\n2,4,5\n", NULL, &like, &m, NULL), 0);
	assert_true(PX(m, 2, 3, 0, 0) == 1 && PX(m, 4, 5, 0, 0) == 1);
	bia_image_release(&m);
	/* quoted header names */
	assert_int_equal(points(&ctx, "\"x\",\"y\",\"label\"\n1,2,4\n", NULL, &like, &m, NULL), 0);
	assert_true(PX(m, 1, 2, 0, 0) == 4);
	bia_image_release(&m);
	/* explicit --columns wins over the header */
	struct bia_points_opts oc = {2, 0, "-,y,x", 0};
	assert_int_equal(points(&ctx, "a,b,c\n9,2,7\n", &oc, &like, &m, NULL), 0);
	assert_true(PX(m, 7, 2, 0, 0) == 1);
	bia_image_release(&m);
}

static void test_points_errors(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image like = shape(8, 6, 1, 1), m;
	/* two points on one pixel: refused, naming both lines */
	assert_int_not_equal(points(&ctx, "x,y\n1,1\n3,3\n3.2,2.9\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:4: point (3.2, 2.9) falls on the same pixel (3, 3)",
		   "line 3");
	assert_null(m.data);
	assert_int_not_equal(points(&ctx, "x,y,class\n1,1,0\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2: class 0 is not allowed", NULL);
	assert_int_not_equal(points(&ctx, "x,y,class\n1,1,1.5\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2: class must be an integer", NULL);
	assert_int_not_equal(points(&ctx, "x,y,class\n1,1,70000\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2:", "1..65535");
	assert_int_not_equal(points(&ctx, "x,y\n1,1\n2\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:3: 1 field, expected 2", NULL);
	assert_int_not_equal(points(&ctx, "x,y\n1,abc\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2: y value 'abc' is not a number", NULL);
	assert_int_not_equal(points(&ctx, "x,y\n1,nan\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2:", "not a number");
	assert_int_not_equal(points(&ctx, "x,y\n1,0x10\n", NULL, &like, &m, NULL), 0);
	assert_int_not_equal(points(&ctx, "x,y\n1,1e999\n", NULL, &like, &m, NULL), 0);
	assert_int_not_equal(points(&ctx, "x,height\n1,2\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:1: column 'height' not understood", NULL);
	assert_int_not_equal(points(&ctx, "x,x,y\n1,2,3\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:1: column 'x' appears 2 times", NULL);
	assert_int_not_equal(points(&ctx, "class,y\n1,2\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "no x and y columns", NULL);
	assert_int_not_equal(points(&ctx, "1 2 3 4 5\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:1: 5 columns and no header", NULL);
	/* 3 columns with z = 0 on a 2D image read as a class: a hint in the message */
	assert_int_not_equal(points(&ctx, "1 2 0\n", NULL, &like, &m, NULL), 0);
	assert_msg(&ctx, "class 0", "--columns");
	struct bia_points_opts bad = {2, 0, "x,y,q", 0};
	assert_int_not_equal(points(&ctx, "1,2,3\n", &bad, &like, &m, NULL), 0);
	assert_int_equal(ctx.rc, BIA_EUSAGE);
	/* NUL bytes */
	struct bia_points pts;
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_points_parse(&ctx, "pts.csv", "1,2\0", 4, NULL, &pts), 0);
	assert_msg(&ctx, "not a text file", NULL);
	/* not NUL-terminated input is read only up to its length */
	bia_ctx_init(&ctx);
	assert_int_equal(bia_points_parse(&ctx, "pts.csv", "1,2\n3,4XXXX", 7, NULL, &pts), 0);
	assert_int_equal(pts.n, 2);
	assert_true(pts.v[1].x == 3 && pts.v[1].y == 4);
	bia_points_release(&pts);
	/* a 3D image needs z, a time series t */
	struct bia_image like3 = shape(8, 6, 3, 1), liket = shape(8, 6, 1, 4);
	assert_int_not_equal(points(&ctx, "x,y\n1,1\n", NULL, &like3, &m, NULL), 0);
	assert_msg(&ctx, "has 3 slices (Z) but the points have no z column", NULL);
	assert_int_not_equal(points(&ctx, "x,y\n1,1\n", NULL, &liket, &m, NULL), 0);
	assert_msg(&ctx, "has 4 frames (T) but the points have no t column", NULL);
	assert_int_equal(points(&ctx, "x,y,frame\n1,1,3\n1,1,2\n", NULL, &liket, &m, NULL), 0);
	assert_true(PX(m, 1, 1, 0, 3) == 1 && PX(m, 1, 1, 0, 2) == 1);
	assert_int_equal(nnz(&m), 2);
	bia_image_release(&m);
	assert_int_not_equal(points(&ctx, "x,y,t\n1,1,4\n", NULL, &liket, &m, NULL), 0);
	assert_msg(&ctx, "pts.csv:2: frame t=4 is outside the image (4 frames)", NULL);
}

/* --------------------------------------------------------------- ISBI PTC */

static const char ptc_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	"<root>\n"
	"<TrackContestISBI2012 SNR=\"7\" density=\"low\" scenario=\"TEST\">\n"
	"<particle>\n"
	"<detection t=\"0\" x=\"1.4\" y=\"2.6\" z=\"0\" />\n"
	"<detection t=\"1\" x=\"2.5\" y=\"2\" z=\"0\" />\n"
	"<detection t=\"2\" x=\"3\" y=\"2\" z=\"0\" />\n"
	"</particle>\n"
	"<particle>\n"
	"<detection t=\"1\" x=\"7\" y=\"5.2\" z=\"0\"/>\n"
	"<detection t=\"2\" x=\"6.6\" y=\"4.5\"/>\n"
	"</particle>\n"
	"</TrackContestISBI2012>\n"
	"</root>\n";

static int ptc(struct bia_ctx *ctx, const char *xml, struct bia_image *lab)
{
	struct bia_ptc p;
	struct bia_image like = shape(8, 6, 1, 3);
	bia_ctx_init(ctx);
	bia_image_init(lab);
	int rc = bia_ptc_parse(ctx, "tracks.xml", xml, strlen(xml), &p);
	if (rc)
		return rc;
	rc = bia_ptc_stack(ctx, "tracks.xml", &p, &like, 0, lab);
	bia_ptc_release(&p);
	return rc;
}

static void test_ptc(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_ptc p;
	struct bia_image lab;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_ptc_parse(&ctx, "tracks.xml", ptc_xml, strlen(ptc_xml), &p), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.n_detections, 5);
	assert_int_equal(p.particles[0].n, 3);
	assert_int_equal(p.particles[1].det[0].line, 10);
	assert_true(p.particles[1].det[1].z == 0);
	bia_ptc_release(&p);
	assert_int_equal(ptc(&ctx, ptc_xml, &lab), 0);
	assert_int_equal(lab.t, 3);
	assert_int_equal(lab.dtype, BIA_U16);
	assert_int_equal(nnz(&lab), 5);
	assert_true(PX(lab, 1, 3, 0, 0) == 1);
	assert_true(PX(lab, 3, 2, 0, 1) == 1);
	assert_true(PX(lab, 3, 2, 0, 2) == 1);
	assert_true(PX(lab, 7, 5, 0, 1) == 2);
	assert_true(PX(lab, 7, 5, 0, 2) == 2); /* (6.6, 4.5) -> (7, 5) */
	bia_image_release(&lab);
	/* a bare <TrackContestISBI2012> root works too */
	assert_int_equal(ptc(&ctx,
			     "<TrackContestISBI2012><particle><detection t='1' x='0' y='0'/>"
			     "</particle></TrackContestISBI2012>",
			     &lab),
			 0);
	assert_true(PX(lab, 0, 0, 0, 1) == 1);
	bia_image_release(&lab);
}

static void test_ptc_errors(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_image lab;
	assert_int_not_equal(ptc(&ctx, "<root><TrackContestISBI2012><particle>\n<detection t='0'",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:2: invalid XML", NULL);
	assert_null(strchr(ctx.msg, '\n'));
	assert_int_not_equal(ptc(&ctx, "<root><other/></root>", &lab), 0);
	assert_msg(&ctx, "not ISBI 2012 particle-tracking XML", NULL);
	assert_int_not_equal(
		ptc(&ctx, "<root><TrackContestISBI2012>\n<track/></TrackContestISBI2012></root>", &lab),
		0);
	assert_msg(&ctx, "tracks.xml:2: unexpected element <track>", NULL);
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle>\n\n<detection x='1' "
				 "y='1'/></particle></TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:3: <detection> has no 't' attribute", NULL);
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle><detection t='0.5' x='1' "
				 "y='1'/></particle></TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "is not a frame number", NULL);
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle><detection t='0' x='1q' "
				 "y='1'/></particle></TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "attribute 'x' is not a number", NULL);
	/* outside the image, outside the frames */
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle>\n<detection t='0' x='7.6' "
				 "y='1'/></particle></TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:2: detection (x=7.6, y=1, z=0) of particle 1 in frame 0 "
			 "is outside the image (8x6",
		   NULL);
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle>\n<detection t='3' x='1' "
				 "y='1'/></particle></TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:2: detection of particle 1 in frame t=3, but the images "
			 "have frames 0..2",
		   NULL);
	/* two tracks on one pixel of a frame */
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012>\n<particle>\n<detection t='1' x='2' "
				 "y='2'/></particle>\n<particle><detection t='0' x='2' y='2'/>\n"
				 "<detection t='1' x='2.3' y='1.6'/></particle>"
				 "</TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:5: particles 1 and 2 are on the same pixel (2, 2, 0) in "
			 "frame 1 (other detection at line 3)",
		   NULL);
	/* one particle twice in one frame */
	assert_int_not_equal(ptc(&ctx,
				 "<root><TrackContestISBI2012><particle>\n<detection t='1' x='2' "
				 "y='2'/>\n<detection t='1' x='4' y='2'/></particle>"
				 "</TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "tracks.xml:3: particle 1 has a second detection in frame 1 (first at "
			 "line 2)",
		   NULL);
	/* no DTDs, so no entities */
	assert_int_not_equal(ptc(&ctx,
				 "<?xml version='1.0'?><!DOCTYPE root [<!ENTITY a 'aaaa'>"
				 "<!ENTITY b '&a;&a;&a;&a;'>]><root><TrackContestISBI2012>"
				 "<particle><detection t='0' x='&b;' y='1'/></particle>"
				 "</TrackContestISBI2012></root>",
				 &lab),
			     0);
	assert_msg(&ctx, "DOCTYPE", NULL);
	assert_int_not_equal(ptc(&ctx,
				 "<?xml version='1.0'?><!DOCTYPE root SYSTEM "
				 "'http://example.com/x.dtd'><root/>",
				 &lab),
			     0);
	assert_msg(&ctx, "DOCTYPE", NULL);
}

/* -------------------------------------------------------------------- CTC */

/* TRA masks of a 3-frame 8x6 sequence: track 1 in frames 0..2 (moving),
 * track 2 in frame 0..1, divides into 3 and 4 in frame 2. */
static void tra_frame(int t, uint16_t *lab)
{
	memset(lab, 0, 48 * sizeof(*lab));
	lab[1 + 8 * 1 + t] = 1;
	lab[2 + 8 * 1 + t] = 1;
	if (t < 2)
		lab[5 + 8 * 4] = 2;
	else
		lab[4 + 8 * 4] = 3, lab[6 + 8 * 5] = 4;
}

static const char man_track[] = "1 0 2 0\n2 0 1 0\n3 2 2 2\n4 2 2 2\n";

static void make_ctc_from(const char *root, int variant, int first)
{
	char d[256], g[256], s[256], f[300];
	uint16_t lab[48];
	if (variant) {
		snprintf(d, sizeof(d), "%s/images", root);
		snprintf(g, sizeof(g), "%s/groundtruth/TRA", root);
		snprintf(s, sizeof(s), "%s/groundtruth/SEG", root);
	} else {
		snprintf(d, sizeof(d), "%s/01", root);
		snprintf(g, sizeof(g), "%s/01_GT/TRA", root);
		snprintf(s, sizeof(s), "%s/01_GT/SEG", root);
	}
	mkdirs(d);
	mkdirs(g);
	mkdirs(s);
	for (int t = 0; t < 3; t++) {
		snprintf(f, sizeof(f), "%s/t%03d.tif", d, t + first);
		write_img(f, 8, 6, BIA_U8, 100 * t, NULL);
		tra_frame(t, lab);
		snprintf(f, sizeof(f), "%s/man_track%03d.tif", g, t + first);
		write_img(f, 8, 6, BIA_U16, 0, lab);
	}
	/* SEG of frame 1 only */
	memset(lab, 0, sizeof(lab));
	lab[0] = lab[1] = 5;
	snprintf(f, sizeof(f), "%s/man_seg%03d.tif", s, 1 + first);
	write_img(f, 8, 6, BIA_U16, 0, lab);
	snprintf(f, sizeof(f), "%s/man_track.txt", g);
	if (!first) {
		put(f, man_track);
	} else { /* the same tracks, frame numbers + first */
		char txt[128];
		snprintf(txt, sizeof(txt), "1 %d %d 0\n2 %d %d 0\n3 %d %d 2\n4 %d %d 2\n", first,
			 first + 2, first, first + 1, first + 2, first + 2, first + 2, first + 2);
		put(f, txt);
	}
}

static void make_ctc(const char *root, int variant)
{
	make_ctc_from(root, variant, 0);
}

static void check_ctc_out(const char *out, const char *stem)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/images/%s.tif", out, stem);
	struct bia_image im = rd(p);
	assert_int_equal(im.x, 8);
	assert_int_equal(im.y, 6);
	assert_int_equal(im.z, 1);
	assert_int_equal(im.t, 3);
	assert_int_equal(im.dtype, BIA_U8);
	assert_string_equal(im.layout, "ome");
	for (int t = 0; t < 3; t++)
		assert_true(PX(im, 3, 2, 0, t) == 100 * t + 3 + 20);
	bia_image_release(&im);
	snprintf(p, sizeof(p), "%s/groundtruth/%s.tif", out, stem);
	struct bia_image lab = rd(p);
	assert_int_equal(lab.t, 3);
	assert_int_equal(lab.dtype, BIA_U16);
	uint16_t want[48];
	for (int t = 0; t < 3; t++) {
		tra_frame(t, want);
		for (size_t k = 0; k < 48; k++)
			assert_true(PX(lab, k % 8, k / 8, 0, t) == want[k]);
	}
	bia_image_release(&lab);
	snprintf(p, sizeof(p), "%s/groundtruth/%s.txt", out, stem);
	struct bia_ctx ctx;
	char *text;
	size_t len;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_read_file(&ctx, p, 1 << 20, &text, &len), 0);
	assert_string_equal(text, man_track);
	free(text);
}

static void test_ctc_convert(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	make_ctc(P("ctc"), 0);
	json_t *warn = json_array(), *written = json_array();
	struct bia_convert_opts o;
	memset(&o, 0, sizeof(o));
	o.warnings = warn;
	o.written = written;
	o.seg = 1;
	size_t nseq = 0;
	if (bia_convert_ctc(&ctx, P("ctc"), P("out"), &o, &nseq))
		fail_msg("%s", ctx.msg);
	assert_int_equal(nseq, 1);
	assert_int_equal(json_array_size(written), 5);
	check_ctc_out(P("out"), "01");
	/* SEG: frame 1 annotated, the others 0 */
	struct bia_image seg = rd(P("out/seg/01.tif"));
	assert_int_equal(seg.t, 3);
	assert_int_equal(nnz(&seg), 2);
	assert_true(PX(seg, 0, 0, 0, 1) == 5 && PX(seg, 1, 0, 0, 1) == 5);
	bia_image_release(&seg);
	char *text;
	size_t len;
	assert_int_equal(bia_read_file(&ctx, P("out/seg/01_frames.txt"), 1 << 20, &text, &len), 0);
	assert_string_equal(text, "1\n");
	free(text);
	/* converting again into the same folder: nothing is overwritten */
	assert_int_not_equal(bia_convert_ctc(&ctx, P("ctc"), P("out"), &o, &nseq), 0);
	assert_msg(&ctx, "already exists", NULL);
	/* the images/ + groundtruth/TRA variant, stem = folder name or --stem */
	make_ctc(P("GOWT1_like"), 1);
	memset(&o, 0, sizeof(o));
	o.warnings = warn;
	if (bia_convert_ctc(&ctx, P("GOWT1_like"), P("out2"), &o, &nseq))
		fail_msg("%s", ctx.msg);
	check_ctc_out(P("out2"), "GOWT1_like");
	o.stem = "seqA";
	if (bia_convert_ctc(&ctx, P("GOWT1_like/"), P("out2"), &o, &nseq))
		fail_msg("%s", ctx.msg);
	check_ctc_out(P("out2"), "seqA");
	/* frames t005..t007: the stack starts at frame 5, the track file is
	 * shifted to start at 0 (and says so) */
	make_ctc_from(P("late"), 0, 5);
	memset(&o, 0, sizeof(o));
	o.warnings = warn;
	o.seg = 1;
	if (bia_convert_ctc(&ctx, P("late"), P("out3"), &o, &nseq))
		fail_msg("%s", ctx.msg);
	check_ctc_out(P("out3"), "01");
	assert_int_equal(bia_read_file(&ctx, P("out3/seg/01_frames.txt"), 1 << 20, &text, &len), 0);
	assert_string_equal(text, "1\n");
	free(text);
	/* without --seg the SEG folder is mentioned in a warning */
	int seen = 0;
	size_t i;
	json_t *v;
	int shifted = 0;
	json_array_foreach(warn, i, v)
	{
		seen |= !!strstr(json_string_value(v), "SEG masks not converted");
		shifted |= !!strstr(json_string_value(v), "frames start at 5");
	}
	assert_true(seen && shifted);
	json_decref(warn);
	json_decref(written);
}

static void test_ctc_refusals(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_convert_opts o;
	memset(&o, 0, sizeof(o));
	o.warnings = json_array();
	make_ctc(P("bad"), 0);
	/* a track file that disagrees with the masks: track 2 said to last to frame 2 */
	put("bad/01_GT/TRA/man_track.txt", "1 0 2 0\n2 0 2 0\n3 2 2 2\n4 2 2 2\n");
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("bad"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "man_track.txt", "label 2 is missing from frame 2");
	struct stat st;
	/* nothing written (the folders may exist, empty) */
	assert_true(stat(P("o1/images/01.tif"), &st) != 0);
	assert_true(stat(P("o1/groundtruth/01.tif"), &st) != 0);
	/* a label without a track */
	put("bad/01_GT/TRA/man_track.txt", "1 0 2 0\n2 0 1 0\n3 2 2 2\n");
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("bad"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "label 4", "has no track");
	put("bad/01_GT/TRA/man_track.txt", man_track);
	/* a missing TRA mask */
	unlink(P("bad/01_GT/TRA/man_track001.tif"));
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("bad"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "no TRA mask man_track001.tif for image frame 1", NULL);
	/* a frame of another size */
	write_img(P("bad/01_GT/TRA/man_track001.tif"), 8, 5, BIA_U16, 0, NULL);
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("bad"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "man_track001.tif: mask is 8x5 but the image frames are 8x6", NULL);
	/* a missing image frame */
	make_ctc(P("gap"), 0);
	unlink(P("gap/01/t001.tif"));
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("gap"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "frame 1 is missing", "t002.tif");
	/* a missing man_track.txt */
	make_ctc(P("notxt"), 0);
	unlink(P("notxt/01_GT/TRA/man_track.txt"));
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("notxt"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "man_track.txt: missing", NULL);
	/* not a CTC folder */
	mkdirs("empty");
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_ctc(&ctx, P("empty"), P("o1"), &o, NULL), 0);
	assert_msg(&ctx, "holds no CTC sequence", NULL);
	json_decref(o.warnings);
}

/* ------------------------------------------------------- PTC and points files */

static void test_ptc_convert(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	mkdirs("ptc/images");
	mkdirs("ptc/groundtruth");
	for (int t = 0; t < 3; t++) {
		char f[64];
		snprintf(f, sizeof(f), "ptc/images/t%03d.tif", t);
		write_img(P(f), 8, 6, BIA_U8, t, NULL);
	}
	put("ptc/groundtruth/tracks.xml", ptc_xml);
	struct bia_convert_opts o;
	memset(&o, 0, sizeof(o));
	o.warnings = json_array();
	bia_ctx_init(&ctx);
	if (bia_convert_isbi_ptc(&ctx, P("ptc/groundtruth/tracks.xml"), P("ptc/images"),
				 P("pout"), &o))
		fail_msg("%s", ctx.msg);
	struct bia_image im = rd(P("pout/images/tracks.tif")), lab = rd(P("pout/groundtruth/tracks.tif"));
	assert_int_equal(im.t, 3);
	assert_true(PX(im, 2, 1, 0, 2) == 2 + 2 + 10);
	assert_int_equal(lab.t, 3);
	assert_int_equal(nnz(&lab), 5);
	assert_true(PX(lab, 1, 3, 0, 0) == 1 && PX(lab, 7, 5, 0, 2) == 2);
	bia_image_release(&im);
	bia_image_release(&lab);
	/* per-slice frame files "NAME tTTT zZ.tif" are stacked on Z */
	mkdirs("ptc3/f");
	for (int t = 0; t < 3; t++)
		for (int z = 0; z < 2; z++) {
			char f[64];
			snprintf(f, sizeof(f), "ptc3/f/SIM snr 4 t%03d z%d.tif", t, z);
			write_img(P(f), 8, 6, BIA_U8, 10 * t + z, NULL);
		}
	put("ptc3/x.xml", "<root><TrackContestISBI2012><particle><detection t='2' x='1' y='2' "
			  "z='0.6'/></particle></TrackContestISBI2012></root>");
	o.stem = "seq3d";
	if (bia_convert_isbi_ptc(&ctx, P("ptc3/x.xml"), P("ptc3/f"), P("pout"), &o))
		fail_msg("%s", ctx.msg);
	im = rd(P("pout/images/seq3d.tif"));
	lab = rd(P("pout/groundtruth/seq3d.tif"));
	assert_int_equal(im.z, 2);
	assert_int_equal(im.t, 3);
	assert_true(PX(im, 0, 0, 1, 2) == 21);
	assert_int_equal(lab.z, 2);
	assert_true(PX(lab, 1, 2, 1, 2) == 1);
	assert_int_equal(nnz(&lab), 1);
	bia_image_release(&im);
	bia_image_release(&lab);
	/* a refused XML leaves nothing behind */
	put("ptc/groundtruth/bad.xml", "<root><TrackContestISBI2012><particle><detection t='0' "
				       "x='9' y='2'/></particle></TrackContestISBI2012></root>");
	o.stem = NULL;
	assert_int_not_equal(bia_convert_isbi_ptc(&ctx, P("ptc/groundtruth/bad.xml"),
						  P("ptc/images"), P("pout"), &o),
			     0);
	assert_msg(&ctx, "bad.xml:1: detection (x=9, y=2, z=0)", "outside the image");
	struct stat st;
	assert_true(stat(P("pout/images/bad.tif"), &st) != 0);
	json_decref(o.warnings);
}

static void test_points_file_and_swc(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	write_img(P("img.tif"), 8, 6, BIA_U8, 0, NULL);
	put("a.csv", "x,y,class\n1,2,4\n");
	put("b.txt", "1 2 4\n");
	bia_ctx_init(&ctx);
	size_t n = 0;
	if (bia_convert_points(&ctx, P("a.csv"), P("img.tif"), P("a.tif"), NULL, &n))
		fail_msg("%s", ctx.msg);
	assert_int_equal(n, 1);
	struct bia_image m = rd(P("a.tif"));
	assert_int_equal(m.dtype, BIA_U16);
	assert_true(PX(m, 1, 2, 0, 0) == 4);
	assert_int_equal(nnz(&m), 1);
	bia_image_release(&m);
	put("c.csv", "x,y\n1,20\n");
	assert_int_not_equal(bia_convert_points(&ctx, P("c.csv"), P("img.tif"), P("c.tif"), NULL, &n),
			     0);
	assert_msg(&ctx, "c.csv:2: point (1, 20) is outside the image (8x6)", NULL);
	/* SWC: valid is copied byte for byte, invalid refused */
	const char *swc = "# tree\n1 2 0.5 1 0 1 -1\n2 2 3 4 0 1 1\n";
	put("t.swc", swc);
	if (bia_convert_swc(&ctx, P("t.swc"), P("t2.swc"), &n))
		fail_msg("%s", ctx.msg);
	assert_int_equal(n, 2);
	char *text;
	size_t len;
	assert_int_equal(bia_read_file(&ctx, P("t2.swc"), 1 << 20, &text, &len), 0);
	assert_string_equal(text, swc);
	free(text);
	put("u.swc", "1 2 0.5 1 0 1 -1\n2 2 3 4 0 1 7\n");
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_swc(&ctx, P("u.swc"), P("u2.swc"), &n), 0);
	assert_msg(&ctx, "u.swc", NULL);
	struct stat st;
	assert_true(stat(P("u2.swc"), &st) != 0);
}

static void test_layouts(void **state)
{
	(void)state;
	assert_int_equal(bia_layout_parse("CTC"), BIA_LAYOUT_CTC);
	assert_int_equal(bia_layout_parse("isbi-ptc"), BIA_LAYOUT_ISBI_PTC);
	assert_int_equal(bia_layout_parse("points"), BIA_LAYOUT_POINTS);
	assert_int_equal(bia_layout_parse("swc"), BIA_LAYOUT_SWC);
	assert_int_equal(bia_layout_parse("x"), BIA_LAYOUT_NONE);
	assert_string_equal(bia_layout_name(BIA_LAYOUT_ISBI_PTC), "isbi-ptc");
	assert_true(bia_layout_fits(BIA_LAYOUT_CTC, BIA_OBJTRK));
	assert_false(bia_layout_fits(BIA_LAYOUT_CTC, BIA_OBJSEG));
	assert_true(bia_layout_fits(BIA_LAYOUT_POINTS, BIA_LNDDET));
	assert_false(bia_layout_fits(BIA_LAYOUT_POINTS, BIA_PIXCLA));
	assert_true(bia_layout_fits(BIA_LAYOUT_SWC, BIA_TRETRC));

	/* points layout: lists converted against their image; a dot PNG of the
	 * same stem ignored; two lists of one stem must agree */
	struct bia_ctx ctx;
	mkdirs("pl/images");
	mkdirs("pl/groundtruth/sub");
	write_img(P("pl/images/a.tif"), 8, 6, BIA_U8, 0, NULL);
	write_img(P("pl/images/b.tif"), 10, 4, BIA_U8, 0, NULL);
	write_img(P("pl/images/c.tif"), 10, 4, BIA_U8, 0, NULL);
	put("pl/groundtruth/a.csv", "x,y,label\n1,2,1\n7,5,3\n");
	put("pl/groundtruth/a.txt", "2 3 0\n1 2 1\n7 5 3\n");
	put("pl/groundtruth/a.png", "a dot image, ignored");
	write_img(P("pl/groundtruth/b.tif"), 10, 4, BIA_U16, 0, NULL);
	put("pl/groundtruth/c.csv", "x y\n9 3\n");
	json_t *warn = json_array(), *inv = json_array(), *wr = json_array();
	struct bia_convert_opts o;
	memset(&o, 0, sizeof(o));
	o.warnings = warn;
	o.invalid = inv;
	o.written = wr;
	bia_ctx_init(&ctx);
	if (bia_convert_dataset(&ctx, BIA_LAYOUT_POINTS, P("pl"), P("plo"), &o))
		fail_msg("%s", ctx.msg);
	struct bia_image m = rd(P("plo/groundtruth/a.tif"));
	assert_int_equal(nnz(&m), 2);
	assert_true(PX(m, 1, 2, 0, 0) == 1 && PX(m, 7, 5, 0, 0) == 3);
	bia_image_release(&m);
	m = rd(P("plo/groundtruth/c.tif"));
	assert_true(m.x == 10 && m.y == 4 && PX(m, 9, 3, 0, 0) == 1);
	bia_image_release(&m);
	struct stat st;
	assert_int_equal(stat(P("plo/groundtruth/b.tif"), &st), 0); /* passed through */
	assert_int_equal(stat(P("plo/images/a.tif"), &st), 0);
	assert_int_equal(lstat(P("plo/images/a.tif"), &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* copied, not linked */
	assert_true(stat(P("plo/groundtruth/a.csv"), &st) != 0);
	assert_int_equal(json_array_size(inv), 0);
	int sub = 0, same = 0, ign = 0;
	size_t i;
	json_t *v;
	json_array_foreach(warn, i, v)
	{
		sub |= !!strstr(json_string_value(v), "sub: sub-folder ignored");
		same |= !!strstr(json_string_value(v), "same points as 'a.csv'");
		ign |= !!strstr(json_string_value(v), "a.png: ignored");
	}
	assert_true(sub && same && ign);
	/* disagreeing lists and a bad list: keep_going records both, leaves the
	 * pairs out */
	put("pl/groundtruth/a.txt", "2 3 0\n1 2 1\n7 4 3\n");
	put("pl/groundtruth/c.csv", "x y\n10 3\n");
	o.keep_going = 1;
	o.link_unchanged = 1;
	bia_ctx_init(&ctx);
	if (bia_convert_dataset(&ctx, BIA_LAYOUT_POINTS, P("pl"), P("plo2"), &o))
		fail_msg("%s", ctx.msg);
	assert_int_equal(json_array_size(inv), 2);
	assert_non_null(strstr(json_string_value(json_array_get(inv, 0)),
			       "a.txt: gives other points than 'a.csv'"));
	assert_non_null(strstr(json_string_value(json_array_get(inv, 1)), "c.csv:2: point (10, 3)"));
	assert_true(stat(P("plo2/images/a.tif"), &st) != 0);
	assert_true(stat(P("plo2/images/c.tif"), &st) != 0);
	assert_int_equal(lstat(P("plo2/images/b.tif"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* without keep_going the first problem fails the call and nothing stays */
	o.keep_going = 0;
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_convert_dataset(&ctx, BIA_LAYOUT_POINTS, P("pl"), P("plo3"), &o),
			     0);
	assert_true(stat(P("plo3/images/b.tif"), &st) != 0);
	json_decref(warn);
	json_decref(inv);
	json_decref(wr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points_header_and_rounding),
		cmocka_unit_test(test_points_no_header),
		cmocka_unit_test(test_points_formats_of_real_data),
		cmocka_unit_test(test_points_errors),
		cmocka_unit_test(test_ptc),
		cmocka_unit_test(test_ptc_errors),
		cmocka_unit_test_setup_teardown(test_ctc_convert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctc_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptc_convert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_points_file_and_swc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layouts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
