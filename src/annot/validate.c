/* Ground-truth / result validation per problem class.
 * SPDX-License-Identifier: MIT */
#include "annot/annot.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sort key for (frame, label) pairs. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* PrtTrk: exactly one voxel per track per frame. */
static int check_one_per_frame(struct bia_ctx *ctx, const char *what,
			       const struct bia_image *m, const uint32_t *lab)
{
	size_t per_t = m->x * m->y * m->z * m->c, n = 0;
	uint64_t *keys = bia_malloc2(bia_image_nsamples(m) ? bia_image_nsamples(m) : 1,
				     sizeof(uint64_t));
	if (!keys)
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
	for (size_t t = 0; t < m->t; t++)
		for (size_t i = 0; i < per_t; i++) {
			uint32_t v = lab[t * per_t + i];
			if (v)
				keys[n++] = ((uint64_t)t << 32) | v;
		}
	qsort(keys, n, sizeof(uint64_t), cmp_u64);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++)
		if (keys[i] == keys[i - 1])
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: duplicate detection of track %u in frame %u (one pixel per "
				      "track per frame)",
				      what, (unsigned)(keys[i] & 0xffffffffu), (unsigned)(keys[i] >> 32));
	free(keys);
	return rc;
}

int bia_annot_validate_mask(struct bia_ctx *ctx, enum bia_class cls, const char *what,
			    const struct bia_image *m)
{
	if (m->c != 1)
		return bia_fail(ctx, BIA_EFORMAT,
				"%s: a %s ground truth must have one channel, not %zu", what,
				bia_class_code(cls), m->c);
	uint32_t *lab;
	if (bia_labels_u32(ctx, what, m, &lab))
		return ctx->rc;
	int rc = 0;
	switch (cls) {
	case BIA_TRETRC:
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: TreTrc ground truth is an .swc file, not a mask",
			      what);
		break;
	case BIA_PRTTRK:
		rc = check_one_per_frame(ctx, what, m, lab);
		break;
	case BIA_LOOTRC:
		if (m->t != 1)
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: LooTrc skeletons have no time axis", what);
		break;
	default:
		break;
	}
	free(lab);
	return rc;
}

int bia_annot_validate_set(struct bia_ctx *ctx, enum bia_class cls, const char *what,
			   const struct bia_image *mask, const char *const *text_paths,
			   size_t ntext)
{
	if (cls == BIA_TRETRC) {
		size_t nswc = 0;
		for (size_t i = 0; i < ntext; i++) {
			if (strcasecmp(bia_path_ext(text_paths[i]), ".swc"))
				continue;
			struct bia_swc s;
			if (bia_swc_load(ctx, text_paths[i], &s))
				return ctx->rc;
			bia_swc_release(&s);
			nswc++;
		}
		if (nswc != 1)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: TreTrc ground truth needs exactly one .swc file (found %zu)",
					what, nswc);
		return 0;
	}
	if (mask && bia_annot_validate_mask(ctx, cls, what, mask))
		return ctx->rc;
	if (cls == BIA_OBJTRK) {
		const char *txt = NULL;
		for (size_t i = 0; i < ntext; i++)
			if (!strcasecmp(bia_path_ext(text_paths[i]), ".txt"))
				txt = text_paths[i];
		if (!mask || !txt)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: ObjTrk ground truth needs a label stack and its .txt track file",
					what);
		struct bia_ctc_tracks t;
		if (bia_ctc_load(ctx, txt, &t))
			return ctx->rc;
		int rc = bia_ctc_check(ctx, txt, mask, &t);
		bia_ctc_release(&t);
		return rc;
	}
	return 0;
}
