/* Safe path joining, stems and extensions.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <string.h>
#include <strings.h>

int bia_path_check_rel(struct bia_ctx *ctx, const char *rel)
{
	if (!rel || !*rel)
		return bia_fail(ctx, BIA_EPERM, "empty path");
	if (rel[0] == '/')
		return bia_fail(ctx, BIA_EPERM, "absolute path '%s' not allowed", rel);
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return bia_fail(ctx, BIA_EPERM,
					"path '%s' escapes its folder with '..'", rel);
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

int bia_path_join(struct bia_ctx *ctx, char *out, size_t outsz, const char *base,
		  const char *rel)
{
	int rc = bia_path_check_rel(ctx, rel);
	if (rc)
		return rc;
	struct bia_buf b;
	bia_buf_init(&b, outsz ? outsz - 1 : 0);
	bia_buf_adds(&b, base);
	while (b.len > 1 && b.buf[b.len - 1] == '/')
		b.buf[--b.len] = '\0';
	int added = 0;
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n && !(n == 1 && p[0] == '.')) {
			if (!(b.len == 1 && b.buf[0] == '/'))
				bia_buf_addch(&b, '/');
			bia_buf_add(&b, p, n);
			added++;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (b.err) {
		bia_buf_release(&b);
		return bia_fail(ctx, BIA_ELIMIT, "path '%s/%s' too long", base, rel);
	}
	if (!added) {
		bia_buf_release(&b);
		return bia_fail(ctx, BIA_EPERM, "path '%s' names no file", rel);
	}
	memcpy(out, b.buf, b.len + 1);
	bia_buf_release(&b);
	return 0;
}

const char *bia_path_base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static const char *const known_ext[] = {".ome.tiff", ".ome.tif", ".tiff", ".tif",
					".png",	     ".jpeg",	 ".jpg",  ".swc",
					".txt",	     ".csv",	 ".xml"};

const char *bia_path_ext(const char *path)
{
	const char *base = bia_path_base(path);
	size_t n = strlen(base);
	for (size_t i = 0; i < sizeof(known_ext) / sizeof(known_ext[0]); i++) {
		size_t e = strlen(known_ext[i]);
		if (n > e && !strcasecmp(base + n - e, known_ext[i]))
			return base + n - e;
	}
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		return dot;
	return base + n;
}

void bia_path_stem(const char *path, char *out, size_t outsz)
{
	const char *base = bia_path_base(path);
	const char *ext = bia_path_ext(path);
	size_t n = (size_t)(ext - base);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

int bia_path_is_image(const char *path)
{
	static const char *const ok[] = {".tif", ".tiff", ".ome.tif", ".ome.tiff",
					 ".png", ".jpg", ".jpeg"};
	const char *e = bia_path_ext(path);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcasecmp(e, ok[i]))
			return 1;
	return 0;
}
