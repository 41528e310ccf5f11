/* OME-Zarr v0.4 multiscale pyramids (Zarr v2 layout, "/" separated chunk
 * keys, zstd compressed): building them band by band from any source of
 * rows, verifying them, and reading regions back (docs/images.md).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_PYRAMID_H
#define BIA_PYRAMID_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* The pyramid format written by this version (in biaflows.json; a pyramid
 * of another format is rebuilt). */
#define BIA_PYRAMID_FORMAT 1
#define BIA_PYRAMID_CHUNK 256
#define BIA_PYRAMID_MAX_LEVELS 24

/* A source of rows: the builder asks for bands of rows of one (z, t) plane,
 * every channel at once, in order (y0 = 0, chunk, 2*chunk, ...). */
struct bia_band_src {
	size_t x, y, z, c, t;
	enum bia_dtype dtype;
	double phys[3]; /* µm per pixel in X, Y, Z; 0 = unknown */
	/* Fill rows [y0, y0 + n) of plane (z, t) into buf: channel ch, row r,
	 * column x at buf + ((ch * cstride) + r * X + x) * sample size. */
	int (*read)(struct bia_ctx *ctx, void *self, size_t z, size_t t, size_t y0, size_t n,
		    void *buf, size_t cstride);
	void *self;
};

struct bia_pyramid_opts {
	int labels;	 /* 1: label image: levels take the mode of 2x2, image-label metadata */
	unsigned chunk;	 /* chunk side, 0: BIA_PYRAMID_CHUNK */
	int zstd_level;	 /* 0: 1 */
	const char *name; /* multiscales name */
	/* called after each band of level 0 (rows done, rows in all); a
	 * nonzero return stops the build (BIA_EUNAVAIL, nothing left behind) */
	int (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
};

/* Build the pyramid of src into `dir` (must not exist): written into a
 * sibling temp directory, then renamed; a pyramid already in place (another
 * builder won) is success. */
int bia_pyramid_build(struct bia_ctx *ctx, const struct bia_band_src *src, const char *dir,
		      const struct bia_pyramid_opts *opts);
/* The same from an image in memory. */
int bia_pyramid_build_image(struct bia_ctx *ctx, const struct bia_image *img, const char *dir,
			    const struct bia_pyramid_opts *opts);
/* The same from an image file: a single-plane TIFF (tiled or stripped) is
 * streamed by tile rows and never held whole; anything else is read. */
int bia_pyramid_build_file(struct bia_ctx *ctx, const char *path,
			   const struct bia_read_opts *ropts, const char *dir,
			   const struct bia_pyramid_opts *opts);

/* A single-plane TIFF too large to decode at once (over
 * BIAFLOWS_STREAM_MIN_BYTES, default 64 MiB, of samples) is checked by
 * decoding it tile row by tile row: 1 with its shape in hdr (no data) once
 * every tile or strip decoded (*pstreamed = 1), *pstreamed = 0 if the
 * file is not such a TIFF (read it whole); an error names what could not be
 * decoded. X * Y * C is bounded by BIA_MAX_STREAM_SAMPLES. */
#define BIA_MAX_STREAM_SAMPLES (UINT64_C(1) << 36)
int bia_image_probe_stream(struct bia_ctx *ctx, const char *path, struct bia_image *hdr,
			   int *pstreamed);

/* A pyramid open for reading (metadata parsed; chunks read on demand). */
struct bia_pyramid {
	char dir[4096];
	int labels;
	enum bia_dtype dtype;
	size_t t, c, z;		  /* sizes of the non-XY axes */
	unsigned chunk;
	size_t nlevels;
	size_t w[BIA_PYRAMID_MAX_LEVELS], h[BIA_PYRAMID_MAX_LEVELS];
	double phys[3];
	/* default window of each channel (omero), for rendering */
	size_t nwin;
	double win_start[16], win_end[16];
	uint32_t color[16]; /* 0xRRGGBB */
};
/* Open and check the metadata (BIA_ENOENT if absent, BIA_ECORRUPT naming
 * what is wrong). */
int bia_pyramid_open(struct bia_ctx *ctx, const char *dir, struct bia_pyramid *p);
/* Decompress one chunk (row r, column q of a level) into raw, which holds
 * chunk * chunk samples of the pyramid's type. */
int bia_pyramid_chunk(struct bia_ctx *ctx, const struct bia_pyramid *p, size_t level, size_t t,
		      size_t c, size_t z, size_t r, size_t q, void *raw);
/* Sample i of a chunk as a double. */
double bia_pyramid_sample(const struct bia_pyramid *p, const void *raw, size_t i);
/* Read a region of one plane of one channel of a level as doubles
 * (out: w*h, row-major). */
int bia_pyramid_read(struct bia_ctx *ctx, const struct bia_pyramid *p, size_t level, size_t t,
		     size_t c, size_t z, size_t x0, size_t y0, size_t w, size_t h, double *out);
/* Verify: metadata, every chunk file present with a zstd frame of the
 * chunk's size (*pchunks: chunks checked). */
int bia_pyramid_verify(struct bia_ctx *ctx, const char *dir, uint64_t *pchunks);

/* The stable colour of a label id (0xRRGGBB; 0 is transparent). */
uint32_t bia_label_color(int64_t id);

#endif
