/* Error codes, the per-operation error context, checked allocation.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct rc_info {
	const char *name; /* short text for bia_strerror */
	const char *code; /* stable machine name (API error bodies); never changes */
	int exit_code;	  /* CLI exit code */
	int http;	  /* HTTP status */
};

static const struct rc_info rc_table[] = {
	[BIA_OK] = {"success", "ok", 0, 200},
	[BIA_ENOMEM] = {"out of memory", "out_of_memory", 1, 503},
	[BIA_EINVAL] = {"invalid value", "invalid_argument", 1, 400},
	[BIA_EIO] = {"input/output error", "io_error", 1, 500},
	[BIA_ENOENT] = {"not found", "not_found", 1, 404},
	[BIA_EEXIST] = {"already exists", "conflict", 1, 409},
	[BIA_EFORMAT] = {"bad file format", "invalid_format", 1, 422},
	[BIA_ELIMIT] = {"limit exceeded", "limit_exceeded", 1, 413},
	[BIA_EUSAGE] = {"wrong usage", "usage", 2, 400},
	[BIA_ECORRUPT] = {"corrupt data", "corrupt", 1, 500},
	[BIA_EDB] = {"database error", "database_error", 1, 500},
	[BIA_EUNSUPPORTED] = {"not supported", "unsupported", 1, 422},
	[BIA_EPERM] = {"not permitted", "permission_denied", 1, 403},
	[BIA_ESHAPE] = {"shape mismatch", "shape_mismatch", 1, 422},
	[BIA_EBUSY] = {"busy", "busy", 1, 409},
	[BIA_AGAIN] = {"try again", "again", 0, 200},
	[BIA_DECLINED] = {"declined", "declined", 0, 200},
	[BIA_EAUTH] = {"not authenticated", "unauthenticated", 1, 401},
	[BIA_ERATE] = {"too many requests", "rate_limited", 1, 429},
	[BIA_EUNAVAIL] = {"unavailable", "unavailable", 1, 503},
};
_Static_assert(sizeof(rc_table) / sizeof(rc_table[0]) == BIA_RC_COUNT,
	       "rc_table must have one entry per enum bia_rc");

const char *bia_strerror(enum bia_rc rc)
{
	if ((unsigned)rc >= BIA_RC_COUNT)
		return "unknown error";
	return rc_table[rc].name;
}

int bia_rc_exit_code(enum bia_rc rc)
{
	if ((unsigned)rc >= BIA_RC_COUNT)
		return 1;
	return rc_table[rc].exit_code;
}

const char *bia_rc_name(enum bia_rc rc)
{
	if ((unsigned)rc >= BIA_RC_COUNT)
		return "internal";
	return rc_table[rc].code;
}

json_t *bia_error_json(const struct bia_ctx *ctx)
{
	return json_pack("{s:{s:s, s:s, s:i}}", "error", "code", bia_rc_name(ctx->rc),
			 "message", ctx->msg[0] ? ctx->msg : bia_strerror(ctx->rc), "status",
			 bia_rc_http_status(ctx->rc));
}

int bia_rc_http_status(enum bia_rc rc)
{
	if ((unsigned)rc >= BIA_RC_COUNT)
		return 500;
	return rc_table[rc].http;
}

void bia_ctx_init(struct bia_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->max_pixels = BIA_DEFAULT_MAX_PIXELS;
	const char *env = getenv("BIAFLOWS_MAX_PIXELS");
	if (env && *env) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(env, &end, 10);
		if (!errno && *end == '\0' && v > 0)
			ctx->max_pixels = v;
	}
}

void bia_ctx_clear(struct bia_ctx *ctx)
{
	ctx->rc = BIA_OK;
	ctx->msg[0] = '\0';
}

void bia_one_line(char *s, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	char out[2048];
	size_t o = 0;
	int changed = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < sizeof(out); p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		changed = 1;
		out[o++] = '\\';
		switch (*p) {
		case '\n':
			out[o++] = 'n';
			break;
		case '\r':
			out[o++] = 'r';
			break;
		case '\t':
			out[o++] = 't';
			break;
		default:
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (!changed)
		return;
	out[o] = 0;
	snprintf(s, cap, "%s", out);
}

int bia_fail(struct bia_ctx *ctx, enum bia_rc rc, const char *fmt, ...)
{
	va_list ap;
	if (!ctx)
		return rc;
	ctx->rc = rc;
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
	va_end(ap);
	bia_one_line(ctx->msg, sizeof(ctx->msg));
	return rc;
}

int bia_fail_prefix(struct bia_ctx *ctx, const char *fmt, ...)
{
	char prefix[512], old[sizeof(ctx->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, ctx->msg, sizeof(old));
	snprintf(ctx->msg, sizeof(ctx->msg), "%s: %s", prefix, old);
	bia_one_line(ctx->msg, sizeof(ctx->msg));
	return ctx->rc;
}

void bia__bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int bia_mul_size(size_t a, size_t b, size_t *pout)
{
	if (a && b > SIZE_MAX / a)
		return -1;
	*pout = a * b;
	return 0;
}

void *bia_calloc(size_t n, size_t size)
{
	size_t total;
	if (bia_mul_size(n, size, &total))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *bia_malloc2(size_t n, size_t size)
{
	size_t total;
	if (bia_mul_size(n, size, &total))
		return NULL;
	return malloc(total ? total : 1);
}

char *bia_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}
