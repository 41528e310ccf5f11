/* JSON helpers over jansson: bounded parsing, atomic save, NaN-safe reals.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Nesting depth of a JSON text, brackets inside strings ignored. Returns
 * the maximum depth seen (the parser reports other syntax errors). */
static int json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return max;
}

json_t *bia_json_parse(struct bia_ctx *ctx, const char *what, const char *text,
		       size_t len)
{
	json_error_t err;
	if (len > BIA_JSON_MAX_BYTES) {
		bia_fail(ctx, BIA_ELIMIT, "%s: JSON larger than %u bytes", what,
			 BIA_JSON_MAX_BYTES);
		return NULL;
	}
	/* the instance's limit when the context carries one (bia_instance_ctx) */
	int max_depth = ctx && ctx->max_json_depth > 0 && ctx->max_json_depth < BIA_JSON_MAX_DEPTH
				? ctx->max_json_depth
				: BIA_JSON_MAX_DEPTH;
	if (json_depth(text, len) > max_depth) {
		bia_fail(ctx, BIA_ELIMIT, "%s: JSON nested deeper than %d levels", what, max_depth);
		return NULL;
	}
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		bia_fail(ctx, BIA_EFORMAT, "%s: invalid JSON at line %d column %d: %s",
			 what, err.line, err.column, err.text);
	return j;
}

json_t *bia_json_load_file(struct bia_ctx *ctx, const char *path)
{
	char *data;
	size_t len;
	if (bia_read_file(ctx, path, BIA_JSON_MAX_BYTES, &data, &len))
		return NULL;
	json_t *j = bia_json_parse(ctx, path, data, len);
	free(data);
	return j;
}

int bia_json_save_file(struct bia_ctx *ctx, const char *path, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return bia_fail(ctx, BIA_ENOMEM, "cannot serialise JSON for '%s'", path);
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	t[n] = '\n';
	int rc = bia_write_file_atomic(ctx, path, t, n + 1);
	free(t);
	return rc;
}

json_t *bia_json_real(double v)
{
	if (isnan(v))
		return json_string("nan");
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return json_real(v);
}

const char *bia_json_str(const json_t *obj, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

char *bia_json_text(const json_t *v, int digits)
{
	char buf[64];
	if (!v || json_is_null(v))
		return bia_strdup("");
	if (json_is_string(v))
		return bia_strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return bia_strdup(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.*g", digits, json_real_value(v));
		return bia_strdup(buf);
	}
	if (json_is_boolean(v))
		return bia_strdup(json_is_true(v) ? "true" : "false");
	char *s = json_dumps(v, JSON_COMPACT);
	return s ? s : bia_strdup("");
}

int bia_csv_field(struct bia_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\n\r"))
		return bia_buf_adds(b, s);
	bia_buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			bia_buf_addch(b, '"');
		bia_buf_addch(b, *s);
	}
	return bia_buf_addch(b, '"');
}
