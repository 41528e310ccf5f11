/* Helpers shared by the bench programs that build instances from rows
 * (lists, api-fixture): fail with the context's message; a stand-in digest.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_BENCH_FIXTURE_H
#define BIA_BENCH_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static inline void bench_die(const char *prog, const struct bia_ctx *ctx, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, ctx->msg);
	exit(1);
}

/* The SHA-256 of "KIND-I": distinct digests for rows whose blobs are not written. */
static inline void bench_fake_digest(char out[BIA_SHA256_HEX], const char *kind, long i)
{
	char s[64];
	snprintf(s, sizeof(s), "%s-%ld", kind, i);
	bia_sha256_hex(s, strlen(s), out);
}

#endif
