/* libFuzzer target: the BIAFLOWS project-migrator JSON (project, image
 * instances, attached files, description) read into an import plan.
 * Input: the four texts separated by lines "===" (project, images,
 * attached, description); fewer parts leave the rest absent. Each plan is
 * made for the project's own discipline and for TreTrc and ObjTrk, whose
 * attached files count.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataset/biaflows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	static const char sep[] = "\n===\n";
	struct bia_bf_text part[4] = {{"project-1.json", NULL, 0},
				      {"imageinstance-collection.json", NULL, 0},
				      {"attached-files-object-1-collection.json", NULL, 0},
				      {"description-object-1.json", NULL, 0}};
	const char *p = (const char *)data, *end = p + size;
	for (int k = 0; k < 4 && p <= end; k++) {
		const char *hit = memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1);
		part[k].text = p;
		part[k].len = hit ? (size_t)(hit - p) : (size_t)(end - p);
		if (!hit)
			break;
		p = hit + sizeof(sep) - 1;
	}
	struct bia_bf_texts t = {part[0], part[1], part[3], &part[2], part[2].text ? 1 : 0};
	static const enum bia_class forced[] = {BIA_CLASS_NONE, BIA_TRETRC, BIA_OBJTRK};
	for (size_t i = 0; i < sizeof(forced) / sizeof(*forced); i++) {
		struct bia_ctx ctx;
		struct bia_bf_plan plan;
		bia_ctx_init(&ctx);
		ctx.max_json_depth = 32;
		bia_bf_plan_init(&plan);
		if (bia_bf_plan_parse(&ctx, &t, forced[i], &plan) == 0) {
			/* the plan's promises: sorted by stem, GT only on good items */
			size_t ngt = 0;
			for (size_t k = 0; k < plan.n; k++) {
				if (k && strcmp(plan.items[k - 1].stem, plan.items[k].stem) > 0)
					__builtin_trap();
				ngt += !plan.items[k].bad &&
				       (plan.items[k].mask || plan.items[k].attached);
			}
			if (ngt != plan.n_gt)
				__builtin_trap();
		}
		bia_bf_plan_release(&plan);
	}
	return 0;
}
