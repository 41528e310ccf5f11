/* libFuzzer target: the CTC track-file parser (L B E P lines).
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bia_ctx ctx;
	struct bia_ctc_tracks t;
	bia_ctx_init(&ctx);
	if (size > (1u << 20))
		return 0;
	if (bia_ctc_parse(&ctx, "fuzz", (const char *)data, size, &t) == 0) {
		/* every accepted track must satisfy what the parser promises */
		for (size_t i = 0; i < t.n; i++)
			if (t.tracks[i].label > 65535 || t.tracks[i].parent > 65535 ||
			    t.tracks[i].begin < 0 || t.tracks[i].begin > t.tracks[i].end)
				__builtin_trap();
		bia_ctc_release(&t);
	} else if (t.n || t.tracks || !ctx.msg[0]) {
		__builtin_trap();
	}
	return 0;
}
