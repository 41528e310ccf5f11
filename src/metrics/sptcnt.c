/* Placeholder until the sptcnt metrics land (being written). */
#include "metrics/metrics.h"

int bia__metrics_sptcnt(struct bia_ctx *ctx, const struct bia_metric_input *in,
		    const struct bia_metric_params *p, struct bia_metric_result *r)
{
	(void)in;
	(void)p;
	(void)r;
	return bia_fail(ctx, BIA_EUNSUPPORTED, "metrics of this class are not available yet");
}
