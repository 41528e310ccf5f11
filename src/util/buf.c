/* Bounded, always NUL-terminated string buffer with sticky errors.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static char empty_str[1];

void bia_buf_init(struct bia_buf *b, size_t max)
{
	b->buf = empty_str;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
	b->err = 0;
}

void bia_buf_release(struct bia_buf *b)
{
	if (b->alloc)
		free(b->buf);
	bia_buf_init(b, b->max);
}

void bia_buf_reset(struct bia_buf *b)
{
	b->len = 0;
	b->buf[0] = '\0';
	b->err = 0;
}

/* Make room for `extra` more bytes plus the NUL. */
static int grow(struct bia_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return b->err = BIA_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	char *p = b->alloc ? realloc(b->buf, n) : malloc(n);
	if (!p)
		return b->err = BIA_ENOMEM;
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = n;
	return 0;
}

int bia_buf_add(struct bia_buf *b, const void *data, size_t len)
{
	int rc = grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int bia_buf_adds(struct bia_buf *b, const char *s)
{
	return bia_buf_add(b, s, strlen(s));
}

int bia_buf_addch(struct bia_buf *b, char c)
{
	return bia_buf_add(b, &c, 1);
}

int bia_buf_vaddf(struct bia_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	if (b->err)
		return b->err;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return b->err = BIA_EINVAL;
	int rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int bia_buf_addf(struct bia_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = bia_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *bia_buf_detach(struct bia_buf *b, size_t *plen)
{
	char *s;
	if (b->err) {
		bia_buf_release(b);
		return NULL;
	}
	if (b->alloc) {
		s = b->buf;
	} else {
		s = malloc(1);
		if (!s)
			return NULL;
		s[0] = '\0';
	}
	if (plen)
		*plen = b->len;
	bia_buf_init(b, b->max);
	return s;
}
