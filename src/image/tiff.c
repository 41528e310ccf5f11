/* TIFF reading and writing with libtiff: strips and tiles, none/LZW/deflate
 * (and whatever else libtiff decodes), BigTIFF, multi-page as Z or T,
 * OME-TIFF, ImageJ hyperstacks, tifffile shaped descriptions, 1-bit masks,
 * 64-bit integer labels (narrowed when they fit).
 * SPDX-License-Identifier: MIT */
#include "image/image_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#define MAX_PAGES 1000000

/* ------------------------------------------------------ libtiff plumbing */

struct memsrc {
	const unsigned char *data; /* the whole file, not owned */
	size_t len;		   /* its size */
	size_t pos;		   /* read position */
};

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
	struct memsrc *m = (struct memsrc *)h;
	if (n < 0)
		return -1;
	size_t avail = m->pos < m->len ? m->len - m->pos : 0;
	size_t k = (size_t)n < avail ? (size_t)n : avail;
	memcpy(buf, m->data + m->pos, k);
	m->pos += k;
	return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
	(void)h;
	(void)buf;
	(void)n;
	return -1;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
	struct memsrc *m = (struct memsrc *)h;
	uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
	if (off > UINT64_MAX - base)
		return (toff_t)-1;
	m->pos = (size_t)(base + off);
	return m->pos;
}

static int mem_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t mem_size(thandle_t h)
{
	return ((struct memsrc *)h)->len;
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
	struct memsrc *m = (struct memsrc *)h;
	*base = (void *)m->data;
	*size = m->len;
	return 1;
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

struct tiff_err {
	char msg[512]; /* first libtiff error */
	int have;      /* 1 once msg is set */
};

static int on_error(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)module;
	struct tiff_err *e = ud;
	if (!e->have) {
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		e->have = 1;
	}
	return 1;
}

int bia__tiff_no_warning(TIFF *tif, void *ud, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)ud;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

/* ------------------------------------------------------------- page info */

enum src_kind { S_BIT, S_U8, S_I8, S_U16, S_I16, S_U32, S_I32, S_F32, S_U64, S_I64, S_F64 };

struct page {
	uint32_t w, h;		  /* size */
	uint16_t spp, bps, fmt;	  /* samples per pixel, bits per sample, SampleFormat */
	uint16_t planar, photo;	  /* PlanarConfig, Photometric */
	uint16_t compression;	  /* Compression */
	uint32_t subfile;	  /* NewSubfileType */
	int tiled;		  /* 1 if tiled */
	enum src_kind kind;	  /* decoded sample kind */
	size_t sbytes;		  /* bytes per decoded sample */
	uint64_t stored;	  /* bytes of strip/tile data inside the file */
};

static int page_kind(const struct page *p, enum src_kind *pk)
{
	int sint = p->fmt == SAMPLEFORMAT_INT, flt = p->fmt == SAMPLEFORMAT_IEEEFP;
	if (p->fmt != SAMPLEFORMAT_UINT && !sint && !flt)
		return -1;
	switch (p->bps) {
	case 1:
		if (flt)
			return -1;
		*pk = S_BIT;
		return 0;
	case 8:
		if (flt)
			return -1;
		*pk = sint ? S_I8 : S_U8;
		return 0;
	case 16:
		if (flt)
			return -1;
		*pk = sint ? S_I16 : S_U16;
		return 0;
	case 32:
		*pk = flt ? S_F32 : sint ? S_I32 : S_U32;
		return 0;
	case 64:
		*pk = flt ? S_F64 : sint ? S_I64 : S_U64;
		return 0;
	}
	return -1;
}

static enum bia_dtype kind_dtype(enum src_kind k)
{
	switch (k) {
	case S_BIT:
	case S_U8:
		return BIA_U8;
	case S_U16:
		return BIA_U16;
	case S_U32:
		return BIA_U32;
	case S_I8:
	case S_I16:
	case S_I32:
		return BIA_I32;
	case S_F32:
	case S_F64:
		return BIA_F32;
	default:
		return 0; /* 64-bit integers: decided after reading */
	}
}

/* Bytes of the page's strips or tiles that lie inside the file (counts
 * clipped to the file's end). */
uint64_t bia__tiff_stored_bytes(TIFF *tif, uint64_t file_len)
{
	uint64_t *off = NULL, *cnt = NULL;
	int tiled = TIFFIsTiled(tif);
	uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
	if (!TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &off) ||
	    !TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &cnt) ||
	    !off || !cnt)
		return 0;
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (off[i] >= file_len)
			continue;
		uint64_t c = cnt[i] < file_len - off[i] ? cnt[i] : file_len - off[i];
		sum += c;
	}
	return sum;
}

/* The most a compression scheme can expand its data: a page that claims to
 * decode to more than `stored` times this is refused before anything is
 * allocated (a header bomb). 0: no bound known (JPEG, ZSTD, LZMA, CCITT...,
 * left to the pixel and byte limits). */
uint64_t bia__tiff_max_ratio(uint16_t compression)
{
	switch (compression) {
	case COMPRESSION_NONE:
		return 1;
	case COMPRESSION_PACKBITS:
		return 64; /* 2 bytes -> a run of 128 */
	case COMPRESSION_LZW:
		return 4096; /* a 9-bit code -> at most a 4096-byte string */
	case COMPRESSION_ADOBE_DEFLATE:
	case COMPRESSION_DEFLATE:
		return 1100; /* deflate's bound is 1032:1 */
	default:
		return 0;
	}
}

/* Refuse a page whose header claims more data than its strips or tiles
 * can hold. */
static int check_stored(struct bia_ctx *ctx, const char *name, unsigned dir,
			const struct page *p)
{
	uint64_t ratio = bia__tiff_max_ratio(p->compression);
	if (!ratio)
		return 0;
	uint64_t row = ((uint64_t)p->w * p->bps + 7) / 8;
	if (p->planar != PLANARCONFIG_SEPARATE)
		row = ((uint64_t)p->w * p->spp * p->bps + 7) / 8;
	uint64_t need = row * p->h * (p->planar == PLANARCONFIG_SEPARATE ? p->spp : 1);
	if (p->stored > UINT64_MAX / ratio || p->stored * ratio >= need)
		return 0;
	return bia_fail(ctx, BIA_EFORMAT,
			"%s: truncated or corrupt %s: page %u claims %ux%u pixels (%llu bytes) but "
			"its %s hold %llu bytes%s",
			name, p->tiled ? "tiles" : "strips", dir, p->w, p->h,
			(unsigned long long)need, p->tiled ? "tiles" : "strips",
			(unsigned long long)p->stored,
			p->compression == COMPRESSION_NONE ? "" : ", too few for that compression");
}

static int read_page_info(struct bia_ctx *ctx, TIFF *tif, const char *name, unsigned dir,
			  uint64_t file_len, struct page *p)
{
	memset(p, 0, sizeof(*p));
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &p->w) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &p->h) || !p->w || !p->h)
		return bia_fail(ctx, BIA_EFORMAT, "%s: page %u has no valid width/height", name,
				dir);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &p->spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &p->bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &p->fmt);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &p->planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &p->compression);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SUBFILETYPE, &p->subfile);
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &p->photo))
		p->photo = PHOTOMETRIC_MINISBLACK;
	p->tiled = TIFFIsTiled(tif);
	if (p->spp == 0 || p->spp > 64)
		return bia_fail(ctx, BIA_EFORMAT, "%s: page %u has %u samples per pixel", name,
				dir, p->spp);
	if (page_kind(p, &p->kind))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s: page %u has an unsupported sample layout (%u bits, format %u)",
				name, dir, p->bps, p->fmt);
	if (p->photo == PHOTOMETRIC_YCBCR) {
		if (p->compression != COMPRESSION_JPEG)
			return bia_fail(ctx, BIA_EUNSUPPORTED,
					"%s: YCbCr TIFF without JPEG compression is not supported",
					name);
		TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
	}
	if (!TIFFIsCODECConfigured(p->compression))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s: TIFF compression scheme %u is not supported", name,
				p->compression);
	p->sbytes = p->bps == 1 ? 1 : p->bps / 8;
	p->stored = bia__tiff_stored_bytes(tif, file_len);
	return 0;
}

/* ---------------------------------------------------------------- layout */

/* Where each plane of the image comes from. A plane holds `spp` channels
 * of one (Z, T) position: plane index p = cp + CP*(z + Z*t) with CP = C/spp. */
struct plan {
	uint64_t x, y, z, c, t;	 /* final shape */
	unsigned spp;		 /* channels per page */
	uint64_t nplanes;	 /* CP*Z*T */
	int64_t *ifd_of;	 /* plane → IFD index, -1 missing; malloc'd */
	int contiguous;		 /* ImageJ: all planes follow page 0's data */
	char layout[16];	 /* "ome", "imagej", "shaped", "plain" */
	char dim_order[6];	 /* OME DimensionOrder if any */
	double phys[3];		 /* µm */
};

static int plan_alloc(struct bia_ctx *ctx, struct plan *pl)
{
	pl->ifd_of = bia_malloc2(pl->nplanes ? pl->nplanes : 1, sizeof(int64_t));
	if (!pl->ifd_of)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < pl->nplanes; i++)
		pl->ifd_of[i] = -1;
	return 0;
}

/* Position of plane number `seq` (in DimensionOrder sequence) as (z,c,t). */
static void order_pos(const char *order, const uint64_t size[5], uint64_t seq,
		      uint64_t pos[5])
{
	pos[0] = pos[1] = 0;
	for (int i = 2; i < 5; i++) {
		int ax = order[i] == 'Z' ? 2 : order[i] == 'C' ? 3 : 4;
		pos[ax] = seq % size[ax];
		seq /= size[ax];
	}
}

static int plan_ome(struct bia_ctx *ctx, const char *name, const char *desc,
		    unsigned npages, const struct page *p0, struct plan *pl)
{
	struct bia_ome_pixels px;
	int rc = bia_ome_parse(ctx, desc, strlen(desc), &px);
	if (rc)
		return bia_fail_prefix(ctx, "%s", name);
	if (px.size[0] != p0->w || px.size[1] != p0->h) {
		rc = bia_fail(ctx, BIA_EFORMAT,
			      "%s: OME-XML size %llux%llu disagrees with the TIFF page %ux%u",
			      name, (unsigned long long)px.size[0],
			      (unsigned long long)px.size[1], p0->w, p0->h);
		goto out;
	}
	unsigned spp = p0->planar == PLANARCONFIG_CONTIG || p0->spp > 1 ? p0->spp : 1;
	if (px.size[3] % spp) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: OME SizeC=%llu is not a multiple of %u samples",
			      name, (unsigned long long)px.size[3], spp);
		goto out;
	}
	pl->x = px.size[0];
	pl->y = px.size[1];
	pl->z = px.size[2];
	pl->c = px.size[3];
	pl->t = px.size[4];
	pl->spp = spp;
	if ((rc = bia_image_check_limit(ctx, name, pl->x, pl->y, pl->z, pl->c, pl->t)))
		goto out;
	uint64_t cp = pl->c / spp;
	pl->nplanes = cp * pl->z * pl->t;
	if ((rc = plan_alloc(ctx, pl)))
		goto out;
	uint64_t size[5] = {pl->x, pl->y, pl->z, cp, pl->t};
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	if (px.ntiffdata == 0) {
		for (uint64_t i = 0; i < pl->nplanes && i < npages; i++) {
			uint64_t pos[5];
			order_pos(px.dim_order, size, i, pos);
			pl->ifd_of[pos[3] + cp * (pos[2] + pl->z * pos[4])] = (int64_t)i;
		}
	}
	for (size_t k = 0; k < px.ntiffdata; k++) {
		const struct bia_ome_tiffdata *td = &px.tiffdata[k];
		/* the planes are in this file when the TiffData UUID is the root's
		 * (files get renamed), else when its FileName is ours */
		int other = td->uuid[0] && px.uuid[0] ? strcmp(td->uuid, px.uuid) != 0
			    : td->file_name[0]	     ? strcmp(td->file_name, base) != 0
						     : 0;
		if (other) {
			rc = bia_fail(ctx, BIA_EUNSUPPORTED,
				      "%s: multi-file OME-TIFF (planes in '%s') is not supported",
				      name, td->file_name);
			goto out;
		}
		if (td->first_z >= pl->z || td->first_c >= cp || td->first_t >= pl->t) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: OME TiffData points outside the image",
				      name);
			goto out;
		}
		uint64_t count = td->has_plane_count ? td->plane_count
			       : (px.ntiffdata == 1 && td->ifd == 0) ? pl->nplanes
								     : 1;
		/* sequence number of the first plane in DimensionOrder */
		uint64_t start = 0, mult = 1;
		for (int i = 2; i < 5; i++) {
			int ax = px.dim_order[i] == 'Z' ? 2 : px.dim_order[i] == 'C' ? 3 : 4;
			uint64_t v = ax == 2 ? td->first_z : ax == 3 ? td->first_c : td->first_t;
			start += v * mult;
			mult *= size[ax];
		}
		for (uint64_t j = 0; j < count && start + j < pl->nplanes; j++) {
			if (td->ifd + j >= npages)
				break;
			uint64_t pos[5];
			order_pos(px.dim_order, size, start + j, pos);
			pl->ifd_of[pos[3] + cp * (pos[2] + pl->z * pos[4])] =
				(int64_t)(td->ifd + j);
		}
	}
	snprintf(pl->layout, sizeof(pl->layout), "ome");
	memcpy(pl->dim_order, px.dim_order, sizeof(pl->dim_order));
	memcpy(pl->phys, px.phys, sizeof(pl->phys));
out:
	bia_ome_pixels_release(&px);
	return rc;
}

/* Value of "key=" on its own line of an ImageJ description; 0 if absent. */
static int ij_value(const char *desc, const char *key, double *out)
{
	size_t n = strlen(key);
	for (const char *p = desc; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, n) && p[n] == '=') {
			char *end;
			double v = strtod(p + n + 1, &end);
			if (end == p + n + 1)
				return 0;
			*out = v;
			return 1;
		}
	}
	return 0;
}

static int ij_count(const char *desc, const char *key, uint64_t *out)
{
	double v;
	*out = 1;
	if (!ij_value(desc, key, &v))
		return 0;
	if (!(v >= 1 && v <= 1e9) || v != floor(v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int plan_imagej(struct bia_ctx *ctx, const char *name, const char *desc,
		       unsigned npages, const struct page *p0, TIFF *tif, struct plan *pl)
{
	uint64_t images, c, z, t;
	if (ij_count(desc, "images", &images) || ij_count(desc, "channels", &c) ||
	    ij_count(desc, "slices", &z) || ij_count(desc, "frames", &t))
		return bia_fail(ctx, BIA_EFORMAT, "%s: invalid ImageJ description", name);
	double dummy;
	if (!ij_value(desc, "images", &dummy))
		images = npages;
	if (c * z * t != images) {
		/* a plain stack: ImageJ puts only images= (slices) */
		if (c == 1 && z == 1 && t == 1)
			z = images;
		else
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: ImageJ channels*slices*frames != images", name);
	}
	unsigned spp = p0->spp;
	pl->x = p0->w;
	pl->y = p0->h;
	pl->z = z;
	pl->c = c * spp;
	pl->t = t;
	pl->spp = spp;
	int rc = bia_image_check_limit(ctx, name, pl->x, pl->y, pl->z, pl->c, pl->t);
	if (rc)
		return rc;
	pl->nplanes = c * z * t;
	if ((rc = plan_alloc(ctx, pl)))
		return rc;
	if (npages >= pl->nplanes) {
		for (uint64_t i = 0; i < pl->nplanes; i++)
			pl->ifd_of[i] = (int64_t)i; /* ImageJ order is XYCZT, as ours */
	} else {
		/* large ImageJ files hold one IFD; the planes follow contiguously */
		if (npages != 1 || p0->compression != COMPRESSION_NONE || p0->tiled)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: ImageJ file declares %llu images but has %u pages",
					name, (unsigned long long)images, npages);
		(void)tif;
		pl->contiguous = 1;
		for (uint64_t i = 0; i < pl->nplanes; i++)
			pl->ifd_of[i] = 0;
	}
	double sp;
	if (ij_value(desc, "spacing", &sp) && sp > 0)
		pl->phys[2] = sp;
	float xres = 0, yres = 0;
	if (strstr(desc, "unit=micron") || strstr(desc, "unit=um") ||
	    strstr(desc, "unit=\\u00B5m")) {
		if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) && xres > 0)
			pl->phys[0] = 1.0 / xres;
		if (TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres) && yres > 0)
			pl->phys[1] = 1.0 / yres;
	}
	snprintf(pl->layout, sizeof(pl->layout), "imagej");
	return 0;
}

/* tifffile's {"shape": [...], "axes": "..."} description. Returns 1 if it
 * applied, 0 to fall back to plain pages, or an error. */
static int plan_shaped(struct bia_ctx *ctx, const char *name, const char *desc,
		       unsigned npages, const struct page *p0, enum bia_page_axis pages,
		       struct plan *pl)
{
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	json_t *j = bia_json_parse(&tmp, name, desc, strlen(desc));
	json_t *shape = json_object_get(j, "shape");
	const char *axes = bia_json_str(j, "axes", NULL);
	size_t n = json_array_size(shape);
	int used = 0;
	if (!json_is_array(shape) || n < 2 || n > 8)
		goto out;
	uint64_t dims[8];
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(shape, i);
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			goto out;
		dims[i] = (uint64_t)json_integer_value(v);
	}
	/* trailing Y, X (and S for samples when spp > 1 and contiguous) */
	size_t lead = n - 2;
	if (p0->spp > 1) {
		if (p0->planar == PLANARCONFIG_CONTIG && n >= 3 && dims[n - 1] == p0->spp &&
		    dims[n - 3] == p0->h && dims[n - 2] == p0->w)
			lead = n - 3;
		else if (p0->planar != PLANARCONFIG_CONTIG && n >= 3 && dims[n - 3] == p0->spp &&
			 dims[n - 2] == p0->h && dims[n - 1] == p0->w)
			lead = n - 3;
		else
			goto out;
	} else if (dims[n - 2] != p0->h || dims[n - 1] != p0->w) {
		goto out;
	}
	uint64_t total = 1;
	for (size_t i = 0; i < lead; i++)
		total *= dims[i];
	if (total != npages)
		goto out;
	uint64_t z = 1, c = 1, t = 1;
	if (axes && strlen(axes) == n) {
		for (size_t i = 0; i < lead; i++) {
			char a = (char)toupper((unsigned char)axes[i]);
			if (a == 'T')
				t *= dims[i];
			else if (a == 'C' || a == 'S')
				c *= dims[i];
			else
				z *= dims[i];
		}
		/* page order must be T-major, then Z, then C for our layout */
		int rank_ok = 1, last = -1;
		for (size_t i = 0; i < lead; i++) {
			char a = (char)toupper((unsigned char)axes[i]);
			int r = a == 'T' ? 0 : (a == 'C' || a == 'S') ? 2 : 1;
			if (dims[i] > 1) {
				if (r < last)
					rank_ok = 0;
				last = r;
			}
		}
		if (!rank_ok)
			goto out; /* an order we would scramble: read as plain pages */
	} else if (lead == 1) {
		if (pages == BIA_PAGES_T)
			t = dims[0];
		else
			z = dims[0];
	} else if (lead == 2) {
		t = dims[0];
		z = dims[1];
	} else if (lead == 3) {
		t = dims[0];
		z = dims[1];
		c = dims[2];
	} else {
		goto out;
	}
	pl->x = p0->w;
	pl->y = p0->h;
	pl->z = z;
	pl->c = c * p0->spp;
	pl->t = t;
	pl->spp = p0->spp;
	used = 1;
	int rc = bia_image_check_limit(ctx, name, pl->x, pl->y, pl->z, pl->c, pl->t);
	if (!rc) {
		pl->nplanes = c * z * t;
		rc = plan_alloc(ctx, pl);
	}
	if (rc) {
		json_decref(j);
		return rc;
	}
	for (uint64_t i = 0; i < pl->nplanes; i++)
		pl->ifd_of[i] = (int64_t)i;
	snprintf(pl->layout, sizeof(pl->layout), "shaped");
out:
	json_decref(j);
	return used;
}

static int plan_plain(struct bia_ctx *ctx, const char *name, const struct page *pages,
		      unsigned npages, enum bia_page_axis axis, struct plan *pl)
{
	const struct page *p0 = &pages[0];
	uint64_t n = 0;
	for (unsigned i = 0; i < npages; i++) {
		if (pages[i].subfile & (FILETYPE_REDUCEDIMAGE | FILETYPE_MASK))
			continue; /* thumbnails, pyramid levels, masks */
		n++;
	}
	pl->x = p0->w;
	pl->y = p0->h;
	pl->c = p0->spp;
	pl->spp = p0->spp;
	pl->z = axis == BIA_PAGES_T ? 1 : n;
	pl->t = axis == BIA_PAGES_T ? n : 1;
	int rc = bia_image_check_limit(ctx, name, pl->x, pl->y, pl->z, pl->c, pl->t);
	if (rc)
		return rc;
	pl->nplanes = n;
	if ((rc = plan_alloc(ctx, pl)))
		return rc;
	uint64_t k = 0;
	for (unsigned i = 0; i < npages; i++)
		if (!(pages[i].subfile & (FILETYPE_REDUCEDIMAGE | FILETYPE_MASK)))
			pl->ifd_of[k++] = i;
	snprintf(pl->layout, sizeof(pl->layout), "plain");
	return 0;
}

/* ------------------------------------------------------------- decoding */

/* Destination of decoded samples: the image, or an int64 staging array
 * for 64-bit integer files. */
struct sink {
	struct bia_image *img; /* final image (dtype set unless wide) */
	int64_t *wide;	       /* staging for S_I64/S_U64, else NULL */
	int u64_overflow;      /* a uint64 value above INT64_MAX was seen */
	int invert;	       /* MINISWHITE: store max - v */
};

static void put(struct sink *k, enum src_kind kind, size_t idx, const unsigned char *p)
{
	switch (kind) {
	case S_BIT:
	case S_U8: {
		uint8_t v = p[0];
		if (k->invert)
			v = (uint8_t)(kind == S_BIT ? 1 - v : 255 - v);
		((uint8_t *)k->img->data)[idx] = v;
		break;
	}
	case S_I8:
		((int32_t *)k->img->data)[idx] = (int8_t)p[0];
		break;
	case S_U16: {
		uint16_t v;
		memcpy(&v, p, 2);
		if (k->invert)
			v = (uint16_t)(65535 - v);
		((uint16_t *)k->img->data)[idx] = v;
		break;
	}
	case S_I16: {
		int16_t v;
		memcpy(&v, p, 2);
		((int32_t *)k->img->data)[idx] = v;
		break;
	}
	case S_U32:
		memcpy((uint32_t *)k->img->data + idx, p, 4);
		break;
	case S_I32:
		memcpy((int32_t *)k->img->data + idx, p, 4);
		break;
	case S_F32:
		memcpy((float *)k->img->data + idx, p, 4);
		break;
	case S_F64: {
		double v;
		memcpy(&v, p, 8);
		((float *)k->img->data)[idx] = (float)v;
		break;
	}
	case S_I64: {
		int64_t v;
		memcpy(&v, p, 8);
		k->wide[idx] = v;
		break;
	}
	case S_U64: {
		uint64_t v;
		memcpy(&v, p, 8);
		if (v > INT64_MAX)
			k->u64_overflow = 1;
		k->wide[idx] = (int64_t)v;
		break;
	}
	}
}

/* Unpack `n` pixels of one decoded row segment into the image. `line` holds
 * the row's samples starting at pixel x0 (contiguous: interleaved spp
 * samples; separate: samples of plane `sp` only). */
static void put_span(struct sink *k, const struct page *pg, const unsigned char *line,
		     unsigned sp, uint32_t y, uint32_t x0, uint32_t n, uint64_t c0,
		     uint64_t z, uint64_t t, uint32_t bit0)
{
	struct bia_image *img = k->img;
	int contig = pg->planar == PLANARCONFIG_CONTIG || pg->spp == 1;
	unsigned ns = contig ? pg->spp : 1;
	for (uint32_t i = 0; i < n; i++) {
		for (unsigned s = 0; s < ns; s++) {
			size_t c = (size_t)c0 + (contig ? s : sp);
			size_t idx = bia_image_index(img, x0 + i, y, z, c, t);
			size_t si = (size_t)i * ns + s;
			if (pg->kind == S_BIT) {
				size_t bit = bit0 + si;
				unsigned char v = (line[bit >> 3] >> (7 - (bit & 7))) & 1;
				put(k, S_BIT, idx, &v);
			} else {
				put(k, pg->kind, idx, line + si * pg->sbytes);
			}
		}
	}
}

static int fail_tiff(struct bia_ctx *ctx, const char *name, struct tiff_err *te,
		     const char *what)
{
	return bia_fail(ctx, BIA_EFORMAT, "%s: %s%s%s", name, what, te->have ? ": " : "",
			te->have ? te->msg : "");
}

static int decode_page(struct bia_ctx *ctx, TIFF *tif, const char *name,
		       struct tiff_err *te, const struct page *pg, struct sink *k,
		       uint64_t c0, uint64_t z, uint64_t t)
{
	unsigned nsep = pg->planar == PLANARCONFIG_SEPARATE && pg->spp > 1 ? pg->spp : 1;
	int rc = 0;
	if (!pg->tiled) {
		uint32_t rps = 0;
		TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
		if (rps == 0 || rps > pg->h)
			rps = pg->h;
		tmsize_t ssize = TIFFStripSize(tif);
		tmsize_t line = TIFFScanlineSize(tif);
		if (ssize <= 0 || line <= 0)
			return fail_tiff(ctx, name, te, "invalid strip size");
		unsigned char *buf = malloc((size_t)ssize);
		if (!buf)
			return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", name);
		for (unsigned sp = 0; sp < nsep && !rc; sp++) {
			for (uint32_t row = 0; row < pg->h && !rc; row += rps) {
				uint32_t rows = pg->h - row < rps ? pg->h - row : rps;
				uint32_t strip = TIFFComputeStrip(tif, row, (uint16_t)sp);
				tmsize_t got = TIFFReadEncodedStrip(tif, strip, buf, ssize);
				if (got < (tmsize_t)rows * line) {
					rc = fail_tiff(ctx, name, te, "truncated or corrupt strip");
					break;
				}
				for (uint32_t r = 0; r < rows; r++)
					put_span(k, pg, buf + (size_t)r * (size_t)line, sp, row + r,
						 0, pg->w, c0, z, t, 0);
			}
		}
		free(buf);
		return rc;
	}
	uint32_t tw = 0, th = 0;
	TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
	TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
	tmsize_t tsize = TIFFTileSize(tif), trow = TIFFTileRowSize(tif);
	if (!tw || !th || tsize <= 0 || trow <= 0)
		return fail_tiff(ctx, name, te, "invalid tile size");
	unsigned char *buf = malloc((size_t)tsize);
	if (!buf)
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", name);
	for (unsigned sp = 0; sp < nsep && !rc; sp++) {
		for (uint32_t ty = 0; ty < pg->h && !rc; ty += th) {
			for (uint32_t tx = 0; tx < pg->w; tx += tw) {
				uint32_t tile = TIFFComputeTile(tif, tx, ty, 0, (uint16_t)sp);
				if (TIFFReadEncodedTile(tif, tile, buf, tsize) < 0) {
					rc = fail_tiff(ctx, name, te, "truncated or corrupt tile");
					break;
				}
				uint32_t rows = pg->h - ty < th ? pg->h - ty : th;
				uint32_t cols = pg->w - tx < tw ? pg->w - tx : tw;
				for (uint32_t r = 0; r < rows; r++)
					put_span(k, pg, buf + (size_t)r * (size_t)trow, sp, ty + r, tx,
						 cols, c0, z, t, 0);
			}
		}
	}
	free(buf);
	return rc;
}

/* ImageJ's >4 GB layout: planes stored one after another, uncompressed,
 * from the first strip offset of page 0. */
static int decode_contiguous(struct bia_ctx *ctx, TIFF *tif, const char *name,
			     const struct memsrc *m, const struct page *pg, struct sink *k,
			     const struct plan *pl)
{
	uint64_t *offsets = NULL;
	if (!TIFFGetField(tif, TIFFTAG_STRIPOFFSETS, &offsets) || !offsets)
		return bia_fail(ctx, BIA_EFORMAT, "%s: ImageJ file without strip offsets", name);
	if (pg->kind == S_BIT)
		return bia_fail(ctx, BIA_EUNSUPPORTED, "%s: 1-bit ImageJ stacks unsupported", name);
	size_t rowb = (size_t)pg->w * pg->spp * pg->sbytes;
	size_t planeb = rowb * pg->h;
	uint64_t off = offsets[0];
	if (off > m->len || pl->nplanes > (m->len - off) / planeb)
		return bia_fail(ctx, BIA_EFORMAT, "%s: ImageJ stack data is truncated", name);
	int swap = TIFFIsByteSwapped(tif);
	unsigned char tmp[8];
	for (uint64_t p = 0; p < pl->nplanes; p++) {
		uint64_t cp = pl->c / pl->spp;
		uint64_t ci = p % cp, zi = (p / cp) % pl->z, ti = p / (cp * pl->z);
		const unsigned char *base = m->data + off + p * planeb;
		for (uint32_t y = 0; y < pg->h; y++) {
			const unsigned char *row = base + y * rowb;
			if (!swap || pg->sbytes == 1) {
				put_span(k, pg, row, 0, y, 0, pg->w, ci * pl->spp, zi, ti, 0);
				continue;
			}
			for (uint32_t x = 0; x < pg->w * pg->spp; x++) {
				for (size_t b = 0; b < pg->sbytes; b++)
					tmp[b] = row[x * pg->sbytes + pg->sbytes - 1 - b];
				put_span(k, pg, tmp, 0, y, x / pg->spp, 1, ci * pl->spp, zi, ti,
					 0);
				x += pg->spp - 1; /* put_span handled all samples of the pixel */
			}
		}
	}
	return 0;
}

/* Narrow the int64 staging array into the smallest type that holds it. */
static int narrow_wide(struct bia_ctx *ctx, const char *name, struct sink *k)
{
	struct bia_image *img = k->img;
	size_t n = bia_image_nsamples(img);
	if (k->u64_overflow)
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s: 64-bit label values exceed the 32-bit range", name);
	int64_t lo = 0, hi = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || k->wide[i] < lo)
			lo = k->wide[i];
		if (i == 0 || k->wide[i] > hi)
			hi = k->wide[i];
	}
	enum bia_dtype t;
	if (lo >= 0 && hi <= 255)
		t = BIA_U8;
	else if (lo >= 0 && hi <= 65535)
		t = BIA_U16;
	else if (lo >= 0 && hi <= (int64_t)UINT32_MAX)
		t = BIA_U32;
	else if (lo >= INT32_MIN && hi <= INT32_MAX)
		t = BIA_I32;
	else
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s: 64-bit label values (%lld..%lld) exceed the 32-bit range",
				name, (long long)lo, (long long)hi);
	void *data = bia_calloc(n, bia_dtype_size(t));
	if (!data)
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", name);
	for (size_t i = 0; i < n; i++) {
		int64_t v = k->wide[i];
		switch (t) {
		case BIA_U8:
			((uint8_t *)data)[i] = (uint8_t)v;
			break;
		case BIA_U16:
			((uint16_t *)data)[i] = (uint16_t)v;
			break;
		case BIA_U32:
			((uint32_t *)data)[i] = (uint32_t)v;
			break;
		default:
			((int32_t *)data)[i] = (int32_t)v;
			break;
		}
	}
	img->data = data;
	img->dtype = t;
	return 0;
}

static int same_layout(const struct page *a, const struct page *b)
{
	return a->w == b->w && a->h == b->h && a->spp == b->spp && a->bps == b->bps &&
	       a->fmt == b->fmt && a->planar == b->planar;
}

int bia__tiff_read_mem(struct bia_ctx *ctx, const char *name, const void *data,
		       size_t len, const struct bia_read_opts *opts,
		       struct bia_image *img)
{
	struct memsrc m = {data, len, 0};
	struct tiff_err te = {{0}, 0};
	struct plan pl;
	struct page *pages = NULL;
	struct sink k = {img, NULL, 0, 0};
	int rc = 0;
	memset(&pl, 0, sizeof(pl));
	bia_image_init(img);

	TIFFOpenOptions *oo = TIFFOpenOptionsAlloc();
	if (!oo)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	TIFFOpenOptionsSetErrorHandlerExtR(oo, on_error, &te);
	TIFFOpenOptionsSetWarningHandlerExtR(oo, bia__tiff_no_warning, NULL);
	TIFFOpenOptionsSetMaxSingleMemAlloc(oo, (tmsize_t)1 << 31);
	TIFF *tif = TIFFClientOpenExt(name, "rm", (thandle_t)&m, mem_read, mem_write,
				      mem_seek, mem_close, mem_size, mem_map, mem_unmap, oo);
	TIFFOpenOptionsFree(oo);
	if (!tif)
		return fail_tiff(ctx, name, &te, "not a readable TIFF");

	/* pass 1: every page's layout */
	unsigned npages = 0, cap = 0;
	do {
		if (npages >= MAX_PAGES) {
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: more than %u pages", name, MAX_PAGES);
			goto out;
		}
		if (npages == cap) {
			cap = cap ? cap * 2 : 16;
			void *t = realloc(pages, cap * sizeof(*pages));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			pages = t;
		}
		if ((rc = read_page_info(ctx, tif, name, npages, len, &pages[npages])))
			goto out;
		npages++;
	} while (TIFFReadDirectory(tif));
	if (te.have && npages == 1 && !pages[0].w) {
		rc = fail_tiff(ctx, name, &te, "corrupt TIFF directory");
		goto out;
	}
	te.have = 0; /* a broken chain after good pages: use the good pages */

	/* layout from page 0's description */
	if (!TIFFSetDirectory(tif, 0)) {
		rc = fail_tiff(ctx, name, &te, "cannot re-read the first page");
		goto out;
	}
	const char *desc = NULL;
	TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &desc);
	while (desc && isspace((unsigned char)*desc))
		desc++;
	enum bia_page_axis axis = opts ? opts->pages : BIA_PAGES_Z;
	int done = 0;
	if (desc && (!strncmp(desc, "<?xml", 5) || !strncmp(desc, "<OME", 4)) &&
	    strstr(desc, "<OME")) {
		if ((rc = plan_ome(ctx, name, desc, npages, &pages[0], &pl)))
			goto out;
		done = 1;
	} else if (desc && !strncmp(desc, "ImageJ=", 7)) {
		if ((rc = plan_imagej(ctx, name, desc, npages, &pages[0], tif, &pl)))
			goto out;
		done = 1;
	} else if (desc && desc[0] == '{') {
		rc = plan_shaped(ctx, name, desc, npages, &pages[0], axis, &pl);
		if (rc < 0 || rc > 1)
			goto out;
		done = rc;
		rc = 0;
	}
	if (!done && (rc = plan_plain(ctx, name, pages, npages, axis, &pl)))
		goto out;
	for (uint64_t p = 0; p < pl.nplanes; p++) {
		if (pl.ifd_of[p] < 0) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: plane %llu of the image is missing",
				      name, (unsigned long long)p);
			goto out;
		}
		if (!same_layout(&pages[pl.ifd_of[p]], &pages[0])) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: page %lld differs in size or sample type from page 0",
				      name, (long long)pl.ifd_of[p]);
			goto out;
		}
		/* (an ImageJ contiguous stack is checked against the file's size
		 * when it is read) */
		if (!pl.contiguous &&
		    (rc = check_stored(ctx, name, (unsigned)pl.ifd_of[p], &pages[pl.ifd_of[p]])))
			goto out;
	}

	img->x = pl.x;
	img->y = pl.y;
	img->z = pl.z;
	img->c = pl.c;
	img->t = pl.t;
	img->format = BIA_FMT_TIFF;
	memcpy(img->phys, pl.phys, sizeof(img->phys));
	memcpy(img->dim_order, pl.dim_order, sizeof(img->dim_order));
	snprintf(img->layout, sizeof(img->layout), "%s", pl.layout);
	img->miniswhite = pages[0].photo == PHOTOMETRIC_MINISWHITE;
	img->compressed = pages[0].compression != COMPRESSION_NONE;
	int invert = opts && opts->invert_miniswhite;
	enum bia_dtype dt = kind_dtype(pages[0].kind);
	img->dtype = dt ? dt : BIA_I32;
	if ((rc = bia_image_check_bytes(ctx, name, bia_image_nsamples(img),
					dt ? bia_dtype_size(dt) : sizeof(int64_t))))
		goto out;
	if (opts && opts->header_only)
		goto out;

	size_t n = bia_image_nsamples(img);
	if (dt) {
		img->data = bia_calloc(n, bia_dtype_size(dt));
	} else {
		k.wide = bia_calloc(n, sizeof(int64_t));
	}
	if (!img->data && !k.wide) {
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory for %zu samples", name, n);
		goto out;
	}

	/* pass 2: decode planes in IFD order, walking the chain once */
	int64_t *plane_of = NULL;
	if (pl.contiguous) {
		k.invert = invert && pages[0].photo == PHOTOMETRIC_MINISWHITE;
		rc = decode_contiguous(ctx, tif, name, &m, &pages[0], &k, &pl);
	} else {
		plane_of = bia_malloc2(npages, sizeof(int64_t));
		if (!plane_of) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (unsigned i = 0; i < npages; i++)
			plane_of[i] = -1;
		for (uint64_t p = 0; p < pl.nplanes; p++)
			if (plane_of[pl.ifd_of[p]] < 0)
				plane_of[pl.ifd_of[p]] = (int64_t)p; /* first plane of that IFD */
		uint64_t cp = pl.c / pl.spp;
		for (unsigned dir = 0; dir < npages && !rc; dir++) {
			if (dir > 0 && !TIFFReadDirectory(tif)) {
				rc = fail_tiff(ctx, name, &te, "cannot read page");
				break;
			}
			if (plane_of[dir] < 0)
				continue;
			/* one IFD may serve several planes (ImageJ single-IFD) */
			for (uint64_t p = (uint64_t)plane_of[dir]; p < pl.nplanes && !rc; p++) {
				if (pl.ifd_of[p] != (int64_t)dir)
					continue;
				const struct page *pg = &pages[dir];
				if (pg->photo == PHOTOMETRIC_YCBCR)
					TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
				k.invert = invert && pg->photo == PHOTOMETRIC_MINISWHITE;
				uint64_t ci = p % cp, zi = (p / cp) % pl.z, ti = p / (cp * pl.z);
				rc = decode_page(ctx, tif, name, &te, pg, &k, ci * pl.spp, zi, ti);
			}
		}
		free(plane_of);
	}
	if (!rc && k.wide)
		rc = narrow_wide(ctx, name, &k);
out:
	free(k.wide);
	free(pl.ifd_of);
	free(pages);
	TIFFClose(tif);
	if (rc)
		bia_image_release(img);
	return rc;
}

/* --------------------------------------------------------------- writing */

static int write_planes(struct bia_ctx *ctx, TIFF *tif, const struct bia_image *img,
			const struct bia_tiff_write_opts *o, const char *desc,
			const char *path, struct tiff_err *te)
{
	size_t ss = bia_dtype_size(img->dtype);
	size_t planes = img->c * img->z * img->t;
	uint16_t fmt = img->dtype == BIA_F32   ? SAMPLEFORMAT_IEEEFP
		       : img->dtype == BIA_I32 ? SAMPLEFORMAT_INT
					       : SAMPLEFORMAT_UINT;
	uint16_t comp = o->compression == BIA_COMP_LZW	   ? COMPRESSION_LZW
			: o->compression == BIA_COMP_DEFLATE ? COMPRESSION_ADOBE_DEFLATE
							     : COMPRESSION_NONE;
	size_t rowb = img->x * ss;
	for (size_t p = 0; p < planes; p++) {
		const unsigned char *plane = (const unsigned char *)img->data + p * rowb * img->y;
		TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)img->x);
		TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)img->y);
		TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)(ss * 8));
		TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
		TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fmt);
		TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
		TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(tif, TIFFTAG_COMPRESSION, comp);
		if (comp != COMPRESSION_NONE && img->dtype != BIA_F32)
			TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
		TIFFSetField(tif, TIFFTAG_SOFTWARE, "biaflows");
		if (p == 0 && desc)
			TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, desc);
		if (o->tile) {
			uint32_t tw = o->tile;
			TIFFSetField(tif, TIFFTAG_TILEWIDTH, tw);
			TIFFSetField(tif, TIFFTAG_TILELENGTH, tw);
			size_t tb = (size_t)tw * tw * ss;
			unsigned char *tile = malloc(tb);
			if (!tile)
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			for (uint32_t ty = 0; ty < img->y; ty += tw) {
				for (uint32_t tx = 0; tx < img->x; tx += tw) {
					memset(tile, 0, tb);
					uint32_t rows = img->y - ty < tw ? (uint32_t)(img->y - ty) : tw;
					uint32_t cols = img->x - tx < tw ? (uint32_t)(img->x - tx) : tw;
					for (uint32_t r = 0; r < rows; r++)
						memcpy(tile + (size_t)r * tw * ss,
						       plane + (ty + r) * rowb + (size_t)tx * ss,
						       cols * ss);
					if (TIFFWriteEncodedTile(tif, TIFFComputeTile(tif, tx, ty, 0, 0),
								 tile, (tmsize_t)tb) < 0) {
						free(tile);
						return fail_tiff(ctx, path, te, "cannot write tile");
					}
				}
			}
			free(tile);
		} else {
			uint32_t rps = (uint32_t)(65536 / (rowb ? rowb : 1));
			if (rps < 1)
				rps = 1;
			if (rps > img->y)
				rps = (uint32_t)img->y;
			TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
			for (uint32_t row = 0, s = 0; row < img->y; row += rps, s++) {
				uint32_t rows = img->y - row < rps ? (uint32_t)(img->y - row) : rps;
				if (TIFFWriteEncodedStrip(tif, s, (void *)(plane + row * rowb),
							  (tmsize_t)(rows * rowb)) < 0)
					return fail_tiff(ctx, path, te, "cannot write strip");
			}
		}
		if (!TIFFWriteDirectory(tif))
			return fail_tiff(ctx, path, te, "cannot write page");
	}
	return 0;
}

int bia_image_write_tiff(struct bia_ctx *ctx, const struct bia_image *img,
			 const char *path, const struct bia_tiff_write_opts *opts)
{
	struct bia_tiff_write_opts o = {0};
	if (opts)
		o = *opts;
	if (!img->data || !bia_image_nsamples(img))
		return bia_fail(ctx, BIA_EINVAL, "%s: nothing to write", path);
	if (img->x > UINT32_MAX || img->y > UINT32_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "%s: image too wide for TIFF", path);
	if (o.tile && (o.tile % 16 || o.tile > 4096))
		return bia_fail(ctx, BIA_EINVAL, "%s: tile size must be a multiple of 16", path);
	char tmp[BIA_PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "path '%s' too long", path);
	/* BigTIFF when asked, or when a classic TIFF could overflow 4 GiB */
	int big = o.bigtiff || bia_image_nbytes(img) > (UINT32_C(1) << 31) * (size_t)1;
	struct tiff_err te = {{0}, 0};
	TIFFOpenOptions *oo = TIFFOpenOptionsAlloc();
	if (!oo)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	TIFFOpenOptionsSetErrorHandlerExtR(oo, on_error, &te);
	TIFFOpenOptionsSetWarningHandlerExtR(oo, bia__tiff_no_warning, NULL);
	TIFF *tif = TIFFOpenExt(tmp, big ? "w8" : "w", oo);
	TIFFOpenOptionsFree(oo);
	if (!tif)
		return fail_tiff(ctx, path, &te, "cannot create TIFF");
	char *desc = NULL;
	if (o.ome || img->z > 1 || img->c > 1 || img->t > 1) {
		desc = bia_ome_build(img, bia_path_base(path));
		if (!desc) {
			TIFFClose(tif);
			unlink(tmp);
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		}
	}
	int rc = write_planes(ctx, tif, img, &o, desc, path, &te);
	free(desc);
	TIFFClose(tif);
	if (!rc) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd))
			rc = bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (!rc && rename(tmp, path))
		rc = bia_fail(ctx, BIA_EIO, "cannot rename to '%s': %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
