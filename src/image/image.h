/* N-dimensional microscopy images (X, Y, Z, C, T) and their file formats:
 * TIFF (strips, tiles, BigTIFF, multi-page), OME-TIFF, ImageJ hyperstacks,
 * tifffile shaped descriptions, PNG, JPEG.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_IMAGE_H
#define BIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Sample types. Numbers are stored in the database: never renumber. */
enum bia_dtype {
	BIA_U8 = 1,
	BIA_U16 = 2,
	BIA_U32 = 3,
	BIA_I32 = 4,
	BIA_F32 = 5,
};

/* Name ("uint8", "uint16", "uint32", "int32", "float32") and size. */
const char *bia_dtype_name(enum bia_dtype t);
size_t bia_dtype_size(enum bia_dtype t);
/* Parse a name as above; returns 0 if unknown. */
enum bia_dtype bia_dtype_parse(const char *s);

/* Container formats a file can be in (detected from its bytes). */
enum bia_format {
	BIA_FMT_UNKNOWN = 0,
	BIA_FMT_TIFF = 1,
	BIA_FMT_PNG = 2,
	BIA_FMT_JPEG = 3,
};
const char *bia_format_name(enum bia_format f);

/* An image. Samples are stored planar in one block, X fastest, then Y, then
 * C, then Z, then T (the order OME calls XYCZT):
 *   index = x + X*(y + Y*(c + C*(z + Z*t)))
 * so an RGB image has C = 3 planes of X*Y samples. */
struct bia_image {
	size_t x, y, z, c, t;	/* sizes, each >= 1 */
	enum bia_dtype dtype;	/* sample type */
	void *data;		/* malloc'd, owned; NULL if not allocated */
	double phys[3];		/* physical size of a pixel in X, Y, Z (µm); 0 = unknown */
	char dim_order[6];	/* OME DimensionOrder the file used ("XYCZT"...), "" if none */
	enum bia_format format;	/* format it was read from */
	char layout[16];	/* "ome", "imagej", "shaped", "plain", "png", "jpeg" */
	int miniswhite;		/* file says 0 is white (TIFF MINISWHITE); samples are
				 * kept as stored unless read with invert_miniswhite */
	int compressed;		/* TIFF: the first page is compressed (LZW, deflate, ...) */
};

/* Initialise an empty image (no data). */
void bia_image_init(struct bia_image *img);
/* Allocate zeroed data for the given shape; checks ctx->max_pixels and
 * overflow before allocating. */
int bia_image_alloc(struct bia_ctx *ctx, struct bia_image *img, size_t x, size_t y,
		    size_t z, size_t c, size_t t, enum bia_dtype dtype);
void bia_image_release(struct bia_image *img);
/* Number of samples (x*y*z*c*t). */
size_t bia_image_nsamples(const struct bia_image *img);
size_t bia_image_nbytes(const struct bia_image *img);
/* Index of a sample, see the layout above. */
static inline size_t bia_image_index(const struct bia_image *img, size_t x, size_t y,
				     size_t z, size_t c, size_t t)
{
	return x + img->x * (y + img->y * (c + img->c * (z + img->z * t)));
}
/* Sample as double (any dtype). */
double bia_image_get(const struct bia_image *img, size_t idx);
/* Store a double into a sample (clamped and rounded to the dtype). */
void bia_image_set(struct bia_image *img, size_t idx, double v);
/* Check that the total number of samples of a shape is within the
 * context's limit (before allocating anything). `what` names the file. */
int bia_image_check_limit(struct bia_ctx *ctx, const char *what, uint64_t x,
			  uint64_t y, uint64_t z, uint64_t c, uint64_t t);
/* Check that decoding `nsamples` samples of `sample_bytes` each stays
 * within ctx->max_image_bytes (when set: a run output is decoded under its
 * run's memory limit). */
int bia_image_check_bytes(struct bia_ctx *ctx, const char *what, uint64_t nsamples,
			  size_t sample_bytes);
/* "XxYxZxCxT" style text: "512x512", "512x512x10 C=3 T=5". */
void bia_image_shape_str(const struct bia_image *img, char *out, size_t outsz);

/* How a plain multi-page TIFF's pages are read. */
enum bia_page_axis {
	BIA_PAGES_Z = 0, /* pages are Z slices (default) */
	BIA_PAGES_T = 1, /* pages are time frames */
};

struct bia_read_opts {
	enum bia_page_axis pages; /* meaning of pages of a plain multi-page TIFF */
	int header_only;	  /* 1: fill the shape, do not decode samples */
	int invert_miniswhite;	  /* 1: MINISWHITE samples become intensities (max - v);
				   * 0 (default): kept as stored, as tifffile and
				   * BIAFLOWS read masks (a bool mask stays True = 1) */
};

/* Detect the container format from the first bytes of a file. */
enum bia_format bia_image_sniff(const void *head, size_t len);

/* Read an image from a file. The format is detected from the bytes; a file
 * whose extension names another format (a PNG named .tif) is refused. All
 * failures carry a message naming the file. opts may be NULL. */
int bia_image_read(struct bia_ctx *ctx, const char *path,
		   const struct bia_read_opts *opts, struct bia_image *img /* OUT */);
/* Read from memory (no extension check); `name` is used in messages. */
int bia_image_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		       size_t len, const struct bia_read_opts *opts,
		       struct bia_image *img /* OUT */);

enum bia_compression {
	BIA_COMP_NONE = 0,
	BIA_COMP_LZW = 1,
	BIA_COMP_DEFLATE = 2,
};

struct bia_tiff_write_opts {
	enum bia_compression compression; /* default none */
	unsigned tile;	  /* 0: strips; else square tiles of this size (multiple of 16) */
	int bigtiff;	  /* 1: write BigTIFF */
	int ome;	  /* 1: always write OME-XML; 0: only when Z, C or T > 1 */
};

/* Write a TIFF: one page per (C, Z, T) plane in XYCZT order, with an OME-XML
 * description when opts->ome or any of Z, C, T is > 1 (so the file reads
 * back with the same shape). Written to a temp file then renamed. */
int bia_image_write_tiff(struct bia_ctx *ctx, const struct bia_image *img,
			 const char *path, const struct bia_tiff_write_opts *opts);
/* Write a PNG: 8- or 16-bit grey (C = 1) or RGB (C = 3), Z = T = 1. */
int bia_image_write_png(struct bia_ctx *ctx, const struct bia_image *img,
			const char *path);

/* OME-XML: parse the first Image/Pixels of a document. */
struct bia_ome_pixels {
	uint64_t size[5];	/* X, Y, Z, C, T */
	char dim_order[6];	/* e.g. "XYZCT" */
	char type[16];		/* "uint8", "uint16", "float", ... */
	double phys[3];		/* PhysicalSizeX/Y/Z, 0 if absent */
	int samples_per_pixel;	/* of the first Channel, 1 if absent */
	char uuid[128];		/* UUID attribute of the OME root, "" if none */
	/* TiffData blocks, in document order */
	size_t ntiffdata;
	struct bia_ome_tiffdata {
		uint64_t ifd, first_z, first_c, first_t, plane_count;
		int has_plane_count;
		char file_name[256]; /* UUID FileName attribute, "" if none */
		char uuid[128];	     /* UUID element text, "" if none */
	} *tiffdata;		/* malloc'd */
};
int bia_ome_parse(struct bia_ctx *ctx, const char *xml, size_t len,
		  struct bia_ome_pixels *px /* OUT */);
void bia_ome_pixels_release(struct bia_ome_pixels *px);
/* Build OME-XML for an image whose planes are stored in XYCZT order, one
 * page per plane. Caller frees. */
char *bia_ome_build(const struct bia_image *img, const char *name);

#endif
