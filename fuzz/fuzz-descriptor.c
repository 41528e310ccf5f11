/* libFuzzer target: the workflow descriptor parser, parameter resolution
 * and command-line building.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "workflow/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_descriptor d;
	bia_ctx_init(&ctx);
	if (size > (1u << 20))
		return 0;
	if (bia_descriptor_parse(&ctx, "descriptor.json", (const char *)data, size, &d))
		return 0;
	/* defaults only, then every parameter set to a few awkward values */
	static const char *const vals[] = {"", "5", "-0.5", "a b", "true", "1e400", "x=y"};
	for (size_t v = 0; v < sizeof(vals) / sizeof(*vals); v++) {
		char buf[256];
		const char *set[1];
		size_t nset = 0;
		if (v && d.n_inputs) {
			snprintf(buf, sizeof(buf), "%s=%s", d.inputs[v % d.n_inputs].id, vals[v]);
			set[0] = buf;
			nset = 1;
		}
		json_t *values = NULL;
		if (bia_descriptor_resolve(&ctx, &d, set, nset, &values) == 0) {
			char **argv = NULL;
			size_t argc = 0;
			if (bia_descriptor_argv(&ctx, &d, values, &argv, &argc) == 0)
				bia_argv_free(argv);
			json_decref(values);
		}
	}
	bia_descriptor_release(&d);
	return 0;
}
