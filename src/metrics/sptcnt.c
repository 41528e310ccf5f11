/* SptCnt: REC, the relative error of the number of spots (non-zero
 * voxels), and per-spot records from the ObjDet matching
 * (bia__det_match: optimal assignment with gating_dist per cluster).
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Non-zero voxels of an image (any dtype; NaN counts, as numpy's
 * count_nonzero). */
static uint64_t count_nonzero(const struct bia_image *img)
{
	size_t n = bia_image_nsamples(img);
	uint64_t c = 0;
	switch (img->dtype) {
	case BIA_U8:
		for (size_t i = 0; i < n; i++)
			c += ((const uint8_t *)img->data)[i] != 0;
		break;
	case BIA_U16:
		for (size_t i = 0; i < n; i++)
			c += ((const uint16_t *)img->data)[i] != 0;
		break;
	case BIA_U32:
		for (size_t i = 0; i < n; i++)
			c += ((const uint32_t *)img->data)[i] != 0;
		break;
	case BIA_I32:
		for (size_t i = 0; i < n; i++)
			c += ((const int32_t *)img->data)[i] != 0;
		break;
	default:
		for (size_t i = 0; i < n; i++)
			c += bia_image_get(img, i) != 0;
		break;
	}
	return c;
}

int bia__metrics_sptcnt(struct bia_ctx *ctx, const struct bia_metric_input *in,
			const struct bia_metric_params *p, struct bia_metric_result *r)
{
	int rc = bia__check_masks(ctx, "SptCnt", in->pred, in->gt);
	if (rc)
		return rc;
	uint64_t ng = count_nonzero(in->gt), np = count_nonzero(in->pred);
	double rec;
	if (ng) {
		rec = (double)(np > ng ? np - ng : ng - np) / (double)ng;
	} else {
		rec = NAN;
		bia_metric_warn(r, "SptCnt: the ground truth has no spot: REC is NaN");
		bia_metric_deviation(r, "SptCnt/empty-gt: REC = NaN (BIAFLOWS fails with "
					"ZeroDivisionError)");
	}
	bia_metric_set(r, "REC", rec);
	if (!r->objects)
		return 0;
	/* per-spot records: the ObjDet matching (positions are not part of REC) */
	struct bia__det_counts m;
	struct bia_ctx mctx;
	bia_ctx_init(&mctx);
	if (bia__det_match(&mctx, "SptCnt", in->pred, in->gt, p ? p->gating_dist : 5.0,
			   r->objects, &m)) {
		if (mctx.rc == BIA_ENOMEM)
			return bia_fail(ctx, BIA_ENOMEM, "SptCnt: out of memory");
		bia_metric_warn(r, "SptCnt: no per-spot records: %s", mctx.msg);
	}
	return 0;
}
