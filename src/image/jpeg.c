/* JPEG reading (grey and RGB) with libjpeg-turbo.
 * SPDX-License-Identifier: MIT */
#include "image/image_int.h"

#include <jpeglib.h>
#include <limits.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct jerr {
	struct jpeg_error_mgr pub; /* libjpeg's part */
	jmp_buf jb;		   /* where to go on error */
	char msg[JMSG_LENGTH_MAX]; /* the message */
};

static void jerr_exit(j_common_ptr cinfo)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jb, 1);
}

static void jerr_output(j_common_ptr cinfo)
{
	(void)cinfo;
}

int bia__jpeg_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		       size_t len, const struct bia_read_opts *opts, struct bia_image *img)
{
	struct jpeg_decompress_struct ci;
	struct jerr je;
	unsigned char *volatile row = NULL;
	int volatile rc = 0;
	bia_image_init(img);
	memset(&je, 0, sizeof(je));
	ci.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = jerr_exit;
	je.pub.output_message = jerr_output;
	if (setjmp(je.jb)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: corrupt JPEG: %s", name, je.msg);
		goto out;
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, (const unsigned char *)data, (unsigned long)len);
	jpeg_read_header(&ci, TRUE);
	if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
		rc = bia_fail(ctx, BIA_EUNSUPPORTED, "%s: CMYK JPEG is not supported", name);
		goto out;
	}
	ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_calc_output_dimensions(&ci);
	unsigned w = ci.output_width, h = ci.output_height, ch = (unsigned)ci.output_components;
	if ((rc = bia_image_check_limit(ctx, name, w, h, 1, ch, 1)) ||
	    (rc = bia_image_check_bytes(ctx, name, (uint64_t)w * h * ch, 1)))
		goto out;
	/* Huffman coding spends at least one bit on the DC coefficient of
	 * every 8x8 block: a file shorter than blocks/8 bytes cannot hold the
	 * claimed size (arithmetic coding can go below a bit: not checked) */
	if (!ci.arith_code) {
		uint64_t blocks = 0;
		for (int k = 0; k < ci.num_components; k++)
			blocks += (uint64_t)ci.comp_info[k].width_in_blocks *
				  ci.comp_info[k].height_in_blocks;
		if ((uint64_t)len * 8 < blocks) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: truncated or corrupt JPEG: %ux%u pixels need at least "
				      "%llu bytes of data, the file has %zu",
				      name, w, h, (unsigned long long)(blocks / 8), len);
			goto out;
		}
	}
	/* libjpeg's own buffers (whole-image coefficients of a progressive
	 * file) within the same budget */
	if (ctx->max_image_bytes)
		ci.mem->max_memory_to_use = (long)(ctx->max_image_bytes > LONG_MAX
							   ? LONG_MAX
							   : ctx->max_image_bytes);
	img->x = w;
	img->y = h;
	img->c = ch;
	img->dtype = BIA_U8;
	img->format = BIA_FMT_JPEG;
	snprintf(img->layout, sizeof(img->layout), "jpeg");
	if (opts && opts->header_only)
		goto out;
	img->data = bia_calloc(bia_image_nsamples(img), 1);
	row = malloc((size_t)w * ch);
	if (!img->data || !row) {
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	jpeg_start_decompress(&ci);
	while (ci.output_scanline < h) {
		JSAMPROW r = row;
		unsigned y = ci.output_scanline;
		if (jpeg_read_scanlines(&ci, &r, 1) != 1) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: JPEG is truncated", name);
			goto out;
		}
		/* the data ended or is corrupt: stop now rather than decode the
		 * rest of a (possibly huge) claimed size as grey */
		if (je.pub.num_warnings) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: JPEG data is truncated or corrupt", name);
			goto out;
		}
		for (unsigned x = 0; x < w; x++)
			for (unsigned c = 0; c < ch; c++)
				((unsigned char *)img->data)[bia_image_index(img, x, y, 0, c, 0)] =
					row[x * ch + c];
	}
	if (je.pub.num_warnings) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: JPEG data is truncated or corrupt", name);
		goto out;
	}
	jpeg_finish_decompress(&ci);
out:
	free(row);
	jpeg_destroy_decompress(&ci);
	if (rc)
		bia_image_release(img);
	return rc;
}
