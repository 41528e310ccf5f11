/* Private to src/gen: the PRNG, float volumes, smooth noise, PSF blur, the
 * camera model, shapes and rasterisers, label helpers, and the entry points
 * of the per-class generators.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_GEN_INT_H
#define BIA_GEN_INT_H

#include "gen/gen.h"
#include "util/rng.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ------------------------------------------------------------------ PRNG */

/* Purposes of random streams: each image draws its content, its noise and
 * its perturbation from independent streams, so changing one knob (say the
 * noise) does not move the objects. */
enum bia__stream {
	BIA__S_SCENE = 1,   /* positions, shapes, motion */
	BIA__S_TEXTURE = 2, /* smooth noise fields */
	BIA__S_CAMERA = 3,  /* Poisson + Gaussian noise */
	BIA__S_PERTURB = 4, /* --perturb */
	BIA__S_BASELINE = 5,
};

/* ------------------------------------------------------------- volumes */

/* Float samples, X fastest then Y then Z (the C = 1 layout of bia_image). */
struct bia__vol {
	float *v;	 /* malloc'd, w*h*d samples */
	size_t w, h, d; /* sizes */
};
int bia__vol_alloc(struct bia_ctx *ctx, struct bia__vol *v, size_t w, size_t h, size_t d);
void bia__vol_free(struct bia__vol *v);
static inline size_t bia__vol_n(const struct bia__vol *v) { return v->w * v->h * v->d; }

/* Separable Gaussian blur (replicated borders); sigmas <= 0.2 skip an axis. */
int bia__blur(struct bia_ctx *ctx, struct bia__vol *v, double sx, double sy, double sz);
/* Fill with smooth value noise (cubic-interpolated lattice, `octaves`
 * octaves, the coarsest with lattice spacing `scale` pixels), values
 * roughly in [-1, 1]. zscale: spacing along Z (3D). */
int bia__noise_field(struct bia_ctx *ctx, struct bia__vol *v, double scale, double zscale,
		     int octaves, uint64_t seed);
/* Multiply by an uneven illumination field: a random linear gradient plus a
 * broad bump, of relative amplitude `amount` (0 = flat). */
void bia__illuminate(struct bia__vol *v, double amount, struct bia_rng *r);

/* Camera: photon noise (Poisson) then read noise (Gaussian). Set up so that
 * the total noise at an object of intensity bg + contrast is about
 * noise * contrast (noise = 1/SNR); 0 = noiseless. */
struct bia__cam {
	double gain; /* photons per unit intensity, 0 = no shot noise */
	double read; /* Gaussian sigma in intensity units */
};
void bia__cam_setup(struct bia__cam *c, double noise, double contrast, double bg);
void bia__cam_apply(const struct bia__cam *c, struct bia_rng *r, float *v, size_t n);
/* Convert intensities (1.0 = full scale) into samples of img starting at
 * sample `off`: u8 = v*255, u16 = 100 + v*3900 (a 12-bit camera with an
 * offset), rounded and clamped. */
void bia__quantize(const float *v, size_t n, struct bia_image *img, size_t off);
/* Allocate an image for the options' bit depth. */
int bia__image_alloc(struct bia_ctx *ctx, const struct bia_gen_opts *o, struct bia_image *img,
		     size_t c, size_t t);

/* --------------------------------------------------------------- shapes */

/* A star-convex blob: an ellipse / ellipsoid whose boundary radius is
 * modulated by three cosine harmonics of the direction (irregular nuclei). */
struct bia__blob {
	double c[3];	   /* centre (x, y, z) in pixels */
	double rot[3][3];  /* columns: unit axes */
	double ax[3];	   /* semi-axes (ax[2] = 1 and unused in 2D) */
	double amp[3];	   /* harmonic amplitudes (fractions of the radius) */
	double dir[3][3];  /* harmonic directions (unit vectors, local frame) */
	double freq[3];	   /* harmonic frequencies */
	double phase[3];   /* harmonic phases */
	int is3d;	   /* 0: z ignored */
};
/* Random rotation (about Z in 2D), random harmonics of amplitude up to
 * `irregular`. Centre and axes are left to the caller. */
void bia__blob_random(struct bia__blob *b, struct bia_rng *r, int is3d, double irregular);
/* Clip-box of the blob in a w x h x d grid: lo inclusive, hi exclusive.
 * Returns 0 if it does not meet the grid. */
int bia__blob_box(const struct bia__blob *b, size_t w, size_t h, size_t d, long lo[3],
		  long hi[3]);
/* Normalised radius of point p: <= 1 inside. */
double bia__blob_rho(const struct bia__blob *b, double x, double y, double z);

/* Add amp * Gaussian(sx, sx, sz) centred at (x, y, z) (clipped at 4 sigma). */
void bia__add_spot(struct bia__vol *v, double x, double y, double z, double sx, double sz,
		   double amp);
/* Squared distance of p to segment ab; *pt gets the segment parameter. */
double bia__seg_dist2(const double p[3], const double a[3], const double b[3], double *pt);
/* Draw a 26-connected (8 in 2D) digital line into a u8 mask. */
void bia__draw_line(uint8_t *m, size_t w, size_t h, size_t d, const double a[3],
		    const double b[3], uint8_t value);
/* Paint a tube (capsule ab with radii ra..rb) into v as max(v, profile),
 * profile = amp at the axis falling smoothly to 0 at the radius + 1 px. */
void bia__draw_tube(struct bia__vol *v, const double a[3], const double b[3], double ra,
		    double rb, double amp_a, double amp_b);

/* --------------------------------------------------------------- labels */

/* Connected components of the non-zero samples of fg (full connectivity:
 * 8 in 2D, 26 in 3D, when full; else 4 / 6), labels 1..n in raster order
 * of first voxel. Returns n, or -1 on allocation failure. */
long bia__components(const uint8_t *fg, uint32_t *lab, size_t w, size_t h, size_t d, int full);
/* Renumber labels to 1..n in order of first appearance, removing labels
 * whose area is below min_area. Returns n, or -1 on allocation failure. */
long bia__compact_labels(uint32_t *lab, size_t n, size_t min_area);
/* Copy a label array into a new u16 image (u32 when a label > 65535). */
int bia__labels_image(struct bia_ctx *ctx, const uint32_t *lab, size_t w, size_t h, size_t d,
		      size_t t, struct bia_image *img);
/* Copy a u8 mask into a new u8 image. */
int bia__mask_image(struct bia_ctx *ctx, const uint8_t *m, size_t w, size_t h, size_t d,
		    size_t t, struct bia_image *img);
/* Labels of an image as u32 (any integer dtype). Caller frees. */
uint32_t *bia__image_labels(struct bia_ctx *ctx, const struct bia_image *img);

/* Otsu threshold of n floats (256 bins between min and max). */
double bia__otsu(const float *v, size_t n);

/* ------------------------------------------------------ per-class entries */

int bia__gen_objseg(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_spots(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		   struct bia_gen_sample *s);
int bia__gen_pixcla(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_tretrc(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_lootrc(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_prttrk(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_objtrk(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);
int bia__gen_lnddet(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
		    struct bia_gen_sample *s);

/* Dim autofluorescent cells and out-of-focus blobs of relative brightness
 * `strength` into bgv (overwritten); cells (may be NULL) gets the cell mask. */
int bia__background_cells(struct bia_ctx *ctx, const struct bia_gen_opts *o, size_t idx,
			  struct bia_rng *rng, struct bia__vol *bgv, uint8_t *cells,
			  double strength);

/* PixCla palette: nominal grey level of class k of K (for the baseline). */
double bia__pixcla_grey(int k, int nclasses, int color);
/* LndDet template: landmark k (0-based) of n in template coordinates. */
void bia__lnddet_template(int n, int k, double *px, double *py);
/* LndDet template: is a template point inside the outline? */
int bia__lnddet_inside(double x, double y);

/* ObjTrk: rebuild a consistent CTC track file from a label stack and the
 * intended parents (parent_of[label], 0 = none, may be NULL): labels absent
 * for some frames are cut into new tracks linked to the previous piece,
 * and everything is renumbered 1..n by first frame. */
int bia__ctc_rebuild(struct bia_ctx *ctx, uint32_t *lab, size_t frame_voxels, size_t t,
		     const uint32_t *parent_of, uint32_t maxlab, int link_gaps,
		     struct bia_ctc_tracks *out);

#endif
