/* Format detection and the read entry points.
 * SPDX-License-Identifier: MIT */
#include "image/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum bia_format bia_image_sniff(const void *head, size_t len)
{
	const unsigned char *p = head;
	if (len >= 4 && ((p[0] == 'I' && p[1] == 'I' && (p[2] == 42 || p[2] == 43) && p[3] == 0) ||
			 (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && (p[3] == 42 || p[3] == 43))))
		return BIA_FMT_TIFF;
	if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return BIA_FMT_PNG;
	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return BIA_FMT_JPEG;
	return BIA_FMT_UNKNOWN;
}

/* Format an extension promises, UNKNOWN if it promises none. */
static enum bia_format ext_format(const char *path)
{
	const char *e = bia_path_ext(path);
	if (!strcasecmp(e, ".tif") || !strcasecmp(e, ".tiff") || !strcasecmp(e, ".ome.tif") ||
	    !strcasecmp(e, ".ome.tiff"))
		return BIA_FMT_TIFF;
	if (!strcasecmp(e, ".png"))
		return BIA_FMT_PNG;
	if (!strcasecmp(e, ".jpg") || !strcasecmp(e, ".jpeg"))
		return BIA_FMT_JPEG;
	return BIA_FMT_UNKNOWN;
}

int bia_image_read_mem(struct bia_ctx *ctx, const char *name, const void *data, size_t len,
		       const struct bia_read_opts *opts, struct bia_image *img)
{
	bia_image_init(img);
	if (len == 0)
		return bia_fail(ctx, BIA_EFORMAT, "%s: file is empty", name);
	switch (bia_image_sniff(data, len)) {
	case BIA_FMT_TIFF:
		return bia__tiff_read_mem(ctx, name, data, len, opts, img);
	case BIA_FMT_PNG:
		return bia__png_read_mem(ctx, name, data, len, opts, img);
	case BIA_FMT_JPEG:
		return bia__jpeg_read_mem(ctx, name, data, len, opts, img);
	default:
		return bia_fail(ctx, BIA_EFORMAT, "%s: not a TIFF, PNG or JPEG image", name);
	}
}

int bia_image_read(struct bia_ctx *ctx, const char *path, const struct bia_read_opts *opts,
		   struct bia_image *img)
{
	bia_image_init(img);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO,
				"%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return bia_fail(ctx, BIA_EIO, "%s: cannot stat: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bia_fail(ctx, BIA_EINVAL, "%s: not a regular file", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return bia_fail(ctx, BIA_EFORMAT, "%s: file is empty", path);
	}
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return bia_fail(ctx, BIA_EIO, "%s: cannot read: %s", path, strerror(errno));
	enum bia_format got = bia_image_sniff(map, len), want = ext_format(path);
	int rc;
	if (got != BIA_FMT_UNKNOWN && want != BIA_FMT_UNKNOWN && got != want)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: file holds %s data but is named %s", path,
			      bia_format_name(got), bia_path_ext(path));
	else
		rc = bia_image_read_mem(ctx, path, map, len, opts, img);
	munmap(map, len);
	return rc;
}
