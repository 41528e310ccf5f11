/* A kit for workflows written in C against libbiaflows (workflows/<Name>/
 * <prog>.c, built by `make` into build/workflows/): the BIAFLOWS local-mode
 * command line, the loop over the input folder, frames as float volumes,
 * and a separable Gaussian. A program describes its parameters and its
 * per-frame function; bia_wf_main does the rest. See docs/build.md.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_WFKIT_H
#define BIA_WFKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image/image.h"

/* One frame: w x h x d voxels (n of them), x fastest. */
struct bia_wf_vol {
	size_t w, h, d, n;
};

/* A numeric flag: "--name VALUE", stored as a double at params + off,
 * refused (exit 2) unless a decimal number in [lo, hi]. */
struct bia_wf_num {
	const char *flag;
	size_t off;
	double lo, hi;
};

struct bia_wf_prog {
	const char *name;	/* prefix of every message ("nucleiseg") */
	const char *options;	/* the option part of the usage line */
	const char *noun;	/* what a frame's count counts ("nuclei") */
	enum bia_dtype dtype;	/* output sample type (U32 when labels exceed it) */
	void *params;		/* the program's parameters */
	const struct bia_wf_num *nums;
	size_t nnums;
	/* Other flags taking a value: 1 taken, 0 not the program's, -1 a bad
	 * value (already reported). May be NULL. */
	int (*flag)(void *params, const char *flag, const char *val);
	/* One line naming the settings, after "N image(s); ". */
	void (*describe)(const void *params, FILE *f);
	/* Analyse one frame f (grey values; RGB as luminance; may be
	 * overwritten) into out (v->n labels, 0 = background). Returns the
	 * number of objects, or -1 when out of memory. */
	long (*frame)(float *f, const struct bia_wf_vol *v, const void *params, uint32_t *out);
};

/* The whole program: parse argv (BIAFLOWS local mode: --infolder,
 * --outfolder and the program's flags; anything else is ignored), then
 * every IN/<stem>.tif[f] (sorted) gives OUT/<stem>.tif, frame by frame (T).
 * An image that cannot be read or written is reported (naming the file)
 * and skipped. Returns the exit status: 0, 1 when an image failed or a
 * folder is unusable, 2 on a usage error. */
int bia_wf_main(int argc, char **argv, const struct bia_wf_prog *prog);

/* Mirror index i into 0..n-1 (whole-sample symmetric). */
size_t bia_wf_mirror(long i, size_t n);

/* Separable Gaussian of sigma s along X and Y and sz along Z, mirrored
 * borders, in place. Returns 0, or -1 when out of memory. */
int bia_wf_gauss(float *f, const struct bia_wf_vol *v, double s, double sz);

#endif
