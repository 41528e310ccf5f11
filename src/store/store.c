/* Storage wrappers: dispatch through the back end, resolve references.
 * SPDX-License-Identifier: MIT */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bia_problem_release(struct bia_problem *p)
{
	free(p->description);
	free(p->params);
	p->description = p->params = NULL;
}

void bia_wf_version_release(struct bia_wf_version *v)
{
	free(v->descriptor);
	free(v->files);
	v->descriptor = NULL;
	v->files = NULL;
	v->nfiles = 0;
}

void bia_gt_version_release(struct bia_gt_version *v)
{
	free(v->files);
	v->files = NULL;
	v->nfiles = 0;
}

/* Parse a positive decimal id; 0 if s is not one. */
static int64_t parse_id(const char *s)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return 0;
	return strtoll(s, NULL, 10);
}

int bia_problem_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_problem *p)
{
	if (!p->name[0])
		return bia_fail(ctx, BIA_EINVAL, "a problem needs a name");
	if (parse_id(p->name) || strchr(p->name, '/'))
		return bia_fail(ctx, BIA_EINVAL,
				"problem name '%s' must not be a number or contain '/'", p->name);
	if (p->cls == BIA_CLASS_NONE)
		return bia_fail(ctx, BIA_EINVAL, "problem '%s' needs a class (%s)", p->name,
				bia_class_list());
	return inst->ops->problem_add(ctx, inst, p);
}

int bia_problem_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		    struct bia_problem *p)
{
	int64_t id = parse_id(name_or_id);
	if (id)
		return inst->ops->problem_get(ctx, inst, NULL, id, p);
	return inst->ops->problem_get(ctx, inst, name_or_id, 0, p);
}

int bia_problem_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_problem **pv,
		     size_t *pn)
{
	return inst->ops->problem_list(ctx, inst, pv, pn);
}

int bia_problem_set_main_metric(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				const char *metric)
{
	return inst->ops->problem_set_main_metric(ctx, inst, id, metric);
}

int bia_problem_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   size_t *pnblobs_removed)
{
	char(*d)[BIA_SHA256_HEX] = NULL;
	size_t n = 0, removed = 0;
	if (inst->ops->problem_rm(ctx, inst, id, &d, &n))
		return ctx->rc;
	/* after the commit: files no row references may go when no writer
	 * is active; else (or after a crash here) they are orphans for fsck */
	removed = bia_blob_remove_unreferenced(inst, d, n);
	free(d);
	if (pnblobs_removed)
		*pnblobs_removed = removed;
	return 0;
}

int bia_image_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		   struct bia_image_rec **pv, size_t *pn)
{
	return inst->ops->image_list(ctx, inst, problem_id, 0, 0, pv, pn);
}

int bia_image_resolve(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		      struct bia_image_rec *out)
{
	const char *slash = strchr(ref, '/');
	if (!slash) {
		int64_t id = parse_id(ref);
		if (!id)
			return bia_fail(ctx, BIA_EINVAL,
					"'%s' is not an image id or PROBLEM/STEM", ref);
		return inst->ops->image_get(ctx, inst, id, 0, NULL, out);
	}
	char pname[256];
	size_t n = (size_t)(slash - ref);
	if (n == 0 || n >= sizeof(pname) || !slash[1])
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not an image id or PROBLEM/STEM", ref);
	memcpy(pname, ref, n);
	pname[n] = '\0';
	struct bia_problem p;
	if (bia_problem_get(ctx, inst, pname, &p))
		return ctx->rc;
	int64_t pid = p.id;
	bia_problem_release(&p);
	if (inst->ops->image_get(ctx, inst, 0, pid, slash + 1, out))
		return bia_fail(ctx, ctx->rc, "no image '%s' in problem '%s'", slash + 1, pname);
	return 0;
}

int bia_gt_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		struct bia_gt_version **pv, size_t *pn)
{
	return inst->ops->gt_list(ctx, inst, image_id, pv, pn);
}

int bia_store_import(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_import_item *items, size_t n)
{
	return inst->ops->import(ctx, inst, problem_id, items, n);
}

int bia_image_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
		 size_t *pnblobs_removed)
{
	char(*d)[BIA_SHA256_HEX] = NULL;
	size_t n = 0;
	if (inst->ops->image_rm(ctx, inst, id, force, &d, &n))
		return ctx->rc;
	size_t removed = bia_blob_remove_unreferenced(inst, d, n);
	free(d);
	if (pnblobs_removed)
		*pnblobs_removed = removed;
	return 0;
}

int bia_gt_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id, int force,
	      size_t *pnblobs_removed)
{
	char(*d)[BIA_SHA256_HEX] = NULL;
	size_t n = 0;
	if (inst->ops->gt_rm(ctx, inst, version_id, force, &d, &n))
		return ctx->rc;
	size_t removed = bia_blob_remove_unreferenced(inst, d, n);
	free(d);
	if (pnblobs_removed)
		*pnblobs_removed = removed;
	return 0;
}

int bia_store_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return inst->ops->begin(ctx, inst);
}

int bia_store_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return inst->ops->commit(ctx, inst);
}

void bia_store_rollback(struct bia_instance *inst)
{
	inst->ops->rollback(inst);
}
