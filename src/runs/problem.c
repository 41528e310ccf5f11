/* Problem settings that need the metric library: the main metric.
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <string.h>

int bia_problem_choose_main_metric(struct bia_ctx *ctx, struct bia_instance *inst,
				   struct bia_problem *p, const char *metric)
{
	const char *m = !strcmp(metric, "default") ? "" : metric;
	if (m[0] && !bia_metric_find(p->cls, m)) {
		size_t nm;
		const struct bia_metric_def *defs = bia_metric_class(p->cls, &nm);
		char list[512] = "";
		for (size_t i = 0; i < nm; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", defs[i].code);
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a metric of %s (one of %s)", m,
				bia_class_code(p->cls), list);
	}
	if (bia_problem_set_main_metric(ctx, inst, p->id, m))
		return ctx->rc;
	snprintf(p->main_metric, sizeof(p->main_metric), "%s", m);
	return 0;
}
