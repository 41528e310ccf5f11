/* Arena (bump) allocator: many small allocations, one release.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

struct bia_arena_chunk {
	struct bia_arena_chunk *next; /* older chunk */
	size_t size;		      /* payload bytes */
	size_t used;		      /* payload bytes handed out */
	_Alignas(16) unsigned char data[];
};

void bia_arena_init(struct bia_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 8192;
	a->used = 0;
}

void bia_arena_release(struct bia_arena *a)
{
	struct bia_arena_chunk *c = a->head;
	while (c) {
		struct bia_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}

void *bia_arena_alloc(struct bia_arena *a, size_t size)
{
	size_t rounded = (size + 15) & ~(size_t)15;
	if (rounded < size)
		return NULL;
#ifndef BIA_DEBUG_ARENA
	struct bia_arena_chunk *c = a->head;
	if (c && c->size - c->used >= rounded) {
		void *p = c->data + c->used;
		c->used += rounded;
		a->used += size;
		memset(p, 0, size);
		return p;
	}
	size_t payload = rounded > a->chunk_size ? rounded : a->chunk_size;
#else
	size_t payload = rounded ? rounded : 16;
#endif
	if (payload > SIZE_MAX - sizeof(struct bia_arena_chunk))
		return NULL;
	struct bia_arena_chunk *n = malloc(sizeof(*n) + payload);
	if (!n)
		return NULL;
	n->size = payload;
	n->used = rounded;
	n->next = a->head;
	a->head = n;
	a->used += size;
	memset(n->data, 0, size);
	return n->data;
}

char *bia_arena_strndup(struct bia_arena *a, const char *s, size_t n)
{
	char *p = bia_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *bia_arena_strdup(struct bia_arena *a, const char *s)
{
	return bia_arena_strndup(a, s, strlen(s));
}

char *bia_arena_printf(struct bia_arena *a, const char *fmt, ...)
{
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	char *p = n < 0 ? NULL : bia_arena_alloc(a, (size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
