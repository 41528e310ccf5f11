/* Private helpers shared by the metric files of src/metrics.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_METRICS_INT_H
#define BIA_METRICS_INT_H

#include "metrics/metrics.h"

/* Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher,
 * separable, unit spacing) of a volume of nx*ny*nz voxels, x fastest:
 * out[i] = squared distance from voxel i to the nearest voxel with
 * feature[i] != 0 (0 on features; INFINITY everywhere if there is none).
 * Returns 0, or -1 when out of memory. */
int bia__edt_sq(const uint8_t *feature, size_t nx, size_t ny, size_t nz, float *out);

#endif
