/* libFuzzer target: the SWC parser (and, on success, the TreTrc metric of
 * the tree against itself, which walks every parent link).
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"
#include "metrics/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_swc s;
	bia_ctx_init(&ctx);
	if (size > (1u << 20))
		return 0;
	if (bia_swc_parse(&ctx, "fuzz.swc", (const char *)data, size, &s) == 0) {
		/* score small trees against themselves: every id must resolve.
		 * Far-apart nodes are legal but sample many points (slow under
		 * the sanitizers), so keep to a small box. */
		int small = s.n <= 64;
		for (size_t i = 0; i < s.n && small; i++)
			small = fabs(s.nodes[i].x) <= 1000 && fabs(s.nodes[i].y) <= 1000 &&
				fabs(s.nodes[i].z) <= 1000;
		if (small) {
			struct bia_metric_input in = {0};
			struct bia_metric_result r;
			in.pred_swc = &s;
			in.gt_swc = &s;
			bia_metric_result_init(&r, BIA_TRETRC);
			bia_metrics_compute(&ctx, BIA_TRETRC, &in, NULL, 1, &r);
			bia_metric_result_release(&r);
		}
		bia_swc_release(&s);
	}
	return 0;
}
