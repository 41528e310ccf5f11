/* Storage wrappers: dispatch through the back end, resolve references.
 * SPDX-License-Identifier: MIT */
#include "store/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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
	if (strlen(p->name) >= sizeof(p->name) - 1)
		return bia_fail(ctx, BIA_ELIMIT, "problem name is too long (at most %zu bytes)",
				sizeof(p->name) - 2);
	if (parse_id(p->name) || strchr(p->name, '/'))
		return bia_fail(ctx, BIA_EINVAL,
				"problem name '%s' must not be a number or contain '/'", p->name);
	if (p->cls == BIA_CLASS_NONE)
		return bia_fail(ctx, BIA_EINVAL, "problem '%s' needs a class (%s)", p->name,
				bia_class_list());
	return inst->backend->problem_add(ctx, inst, p);
}

int bia_problem_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		    struct bia_problem *p)
{
	int64_t id = parse_id(name_or_id);
	if (id)
		return inst->backend->problem_get(ctx, inst, NULL, id, p);
	return inst->backend->problem_get(ctx, inst, name_or_id, 0, p);
}

int bia_problem_get_id(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		       struct bia_problem *p)
{
	return inst->backend->problem_get(ctx, inst, NULL, id, p);
}

/* A page's limit and offset must not be negative. */
static int check_page(struct bia_ctx *ctx, struct bia_page page)
{
	if (page.limit < 0 || page.offset < 0)
		return bia_fail(ctx, BIA_EINVAL, "a page needs a limit and an offset of 0 or more");
	return 0;
}

int bia_problem_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		     struct bia_problem **pv, size_t *pn, int64_t *ptotal)
{
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	static const struct bia_viewer all = {0, 0};
	return inst->backend->problem_list(ctx, inst, &all, page, pv, pn, ptotal);
}

int bia_problem_list_view(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_viewer *viewer, struct bia_page page,
			  struct bia_problem **pv, size_t *pn, int64_t *ptotal)
{
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	return inst->backend->problem_list(ctx, inst, viewer, page, pv, pn, ptotal);
}

int bia_problem_set_private(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			    int private_)
{
	return inst->backend->problem_set_private(ctx, inst, id, private_ != 0);
}

int bia_problem_is_private(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			   int *pprivate)
{
	return inst->backend->problem_flags(ctx, inst, 0, id, 0, 0, pprivate);
}

int bia_problem_member_set(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			   int64_t user_id, int member)
{
	return inst->backend->problem_member_set(ctx, inst, problem_id, user_id, member != 0);
}

int bia_problem_is_member(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			  int64_t user_id, int *pmember)
{
	return inst->backend->problem_flags(ctx, inst, 1, problem_id, user_id, 0, pmember);
}

int bia_problem_visible(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_viewer *viewer, int64_t id, int *pvisible)
{
	return inst->backend->problem_flags(ctx, inst, 2, id, viewer->user_id, viewer->restricted,
					    pvisible);
}

/* ---------------------------------------------------------------- accounts */

static const char *const role_names[] = {"", "viewer", "contributor", "admin"};

const char *bia_role_name(enum bia_role r)
{
	return (unsigned)r < 4 ? role_names[r] : "";
}

enum bia_role bia_role_parse(const char *s)
{
	for (int r = 1; s && r < 4; r++)
		if (!strcmp(s, role_names[r]))
			return (enum bia_role)r;
	return BIA_ROLE_NONE;
}

void bia_user_release(struct bia_user *u)
{
	free(u->pwhash);
	u->pwhash = NULL;
}

static int check_user_name(struct bia_ctx *ctx, const char *name)
{
	size_t n = strlen(name), digits = 0;
	if (n == 0 || n > BIA_USER_NAME_MAX)
		return bia_fail(ctx, BIA_EINVAL, "a user name has 1 to %d characters",
				BIA_USER_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
			   c == '_' || c == '-'))
			return bia_fail(ctx, BIA_EINVAL,
					"a user name has only letters, digits, '.', '_' and '-'");
	}
	if (digits == n)
		return bia_fail(ctx, BIA_EINVAL, "a user name is not a number");
	return 0;
}

int bia_user_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_user *u,
		 const char *pwhash)
{
	if (check_user_name(ctx, u->name))
		return ctx->rc;
	if (u->role == BIA_ROLE_NONE || (unsigned)u->role > BIA_ROLE_ADMIN)
		return bia_fail(ctx, BIA_EINVAL, "a role is admin, contributor or viewer");
	return inst->backend->user_add(ctx, inst, u, pwhash);
}

int bia_user_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		 struct bia_user *u)
{
	memset(u, 0, sizeof(*u));
	int64_t id = parse_id(name_or_id);
	return inst->backend->user_get(ctx, inst, id ? NULL : name_or_id, id, u);
}

int bia_user_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		  struct bia_user **pv, size_t *pn, int64_t *ptotal)
{
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	return inst->backend->user_list(ctx, inst, page, pv, pn, ptotal);
}

void bia_user_list_free(struct bia_user *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_user_release(&v[i]);
	free(v);
}

int bia_user_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	return inst->backend->user_rm(ctx, inst, id);
}

int bia_user_set_password(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  const char *pwhash)
{
	return inst->backend->user_set(ctx, inst, id, pwhash ? pwhash : "", NULL);
}

int bia_user_set_role(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      enum bia_role role)
{
	if (role == BIA_ROLE_NONE || (unsigned)role > BIA_ROLE_ADMIN)
		return bia_fail(ctx, BIA_EINVAL, "a role is admin, contributor or viewer");
	return inst->backend->user_set(ctx, inst, id, NULL, bia_role_name(role));
}

int bia_token_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_token *t,
		  const char *hash)
{
	if (strcmp(t->kind, "api") && strcmp(t->kind, "session"))
		return bia_fail(ctx, BIA_EINVAL, "a token is of kind api or session");
	return inst->backend->token_add(ctx, inst, t, hash);
}

int bia_token_find(struct bia_ctx *ctx, struct bia_instance *inst, const char *hash,
		   int64_t now, struct bia_token *t)
{
	return inst->backend->token_find(ctx, inst, hash, now, t);
}

int bia_token_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t user_id,
		   const char *kind, struct bia_token **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->token_list(ctx, inst, user_id, kind, pv, pn);
}

int bia_token_revoke(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	if (id <= 0)
		return bia_fail(ctx, BIA_ENOENT, "no token with id %lld", (long long)id);
	return inst->backend->token_rm(ctx, inst, id, 0, NULL);
}

int bia_token_purge(struct bia_ctx *ctx, struct bia_instance *inst, int64_t now, size_t *pn)
{
	return inst->backend->token_rm(ctx, inst, 0, now, pn);
}

int bia_store_source_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_source *s)
{
	return inst->backend->source_add(ctx, inst, s);
}

int bia_store_source_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
			 struct bia_wf_source *s)
{
	memset(s, 0, sizeof(*s));
	if (!name_or_id || !*name_or_id)
		return bia_fail(ctx, BIA_EINVAL, "a source is named by its id or name");
	/* names are never all digits (sources.c), so digits are an id */
	if (strspn(name_or_id, "0123456789") == strlen(name_or_id)) {
		int64_t id = strlen(name_or_id) > 18 ? 0 : strtoll(name_or_id, NULL, 10);
		if (id <= 0)
			return bia_fail(ctx, BIA_ENOENT, "no source with id %s", name_or_id);
		return inst->backend->source_get(ctx, inst, NULL, id, s);
	}
	return inst->backend->source_get(ctx, inst, name_or_id, 0, s);
}

int bia_store_source_list(struct bia_ctx *ctx, struct bia_instance *inst,
			  struct bia_wf_source **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->source_list(ctx, inst, pv, pn);
}

int bia_store_source_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	return inst->backend->source_rm(ctx, inst, id);
}

int bia_store_source_tags(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  struct bia_wf_source_tag **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->source_tags(ctx, inst, id, pv, pn);
}

int bia_store_source_synced(struct bia_ctx *ctx, struct bia_instance *inst,
			    const struct bia_wf_source *s, const struct bia_wf_source_tag *tags,
			    size_t n)
{
	return inst->backend->source_synced(ctx, inst, s, tags, n);
}

void bia_problem_list_free(struct bia_problem *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_problem_release(&v[i]);
	free(v);
}

int bia_problem_set_main_metric(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				const char *metric)
{
	return inst->backend->problem_set_main_metric(ctx, inst, id, metric);
}

int bia_problem_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   size_t *pnblobs_removed)
{
	char(*d)[BIA_SHA256_HEX] = NULL;
	size_t n = 0, removed = 0;
	if (inst->backend->problem_rm(ctx, inst, id, &d, &n))
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
		   struct bia_page page, struct bia_image_rec **pv, size_t *pn, int64_t *ptotal)
{
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	return inst->backend->image_list(ctx, inst, problem_id, page, pv, pn, ptotal);
}

int bia_store_image_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		  struct bia_image_rec *out)
{
	return inst->backend->image_get(ctx, inst, id, 0, NULL, out);
}

int bia_store_image_find(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		   const char *stem, struct bia_image_rec *out)
{
	return inst->backend->image_get(ctx, inst, 0, problem_id, stem, out);
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
		return inst->backend->image_get(ctx, inst, id, 0, NULL, out);
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
	if (inst->backend->image_get(ctx, inst, 0, pid, slash + 1, out))
		return bia_fail(ctx, ctx->rc, "no image '%s' in problem '%s'", slash + 1, pname);
	return 0;
}

int bia_gt_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		struct bia_gt_version **pv, size_t *pn)
{
	return inst->backend->gt_list(ctx, inst, image_id, pv, pn);
}

void bia_gt_list_free(struct bia_gt_version *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_gt_version_release(&v[i]);
	free(v);
}

int bia_store_import(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_import_item *items, size_t n)
{
	return inst->backend->import(ctx, inst, problem_id, items, n);
}

int bia_image_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
		 size_t *pnblobs_removed)
{
	char(*d)[BIA_SHA256_HEX] = NULL;
	size_t n = 0;
	if (inst->backend->image_rm(ctx, inst, id, force, &d, &n))
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
	if (inst->backend->gt_rm(ctx, inst, version_id, force, &d, &n))
		return ctx->rc;
	size_t removed = bia_blob_remove_unreferenced(inst, d, n);
	free(d);
	if (pnblobs_removed)
		*pnblobs_removed = removed;
	return 0;
}

int bia_store_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return inst->backend->begin(ctx, inst);
}

int bia_store_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return inst->backend->commit(ctx, inst);
}

void bia_store_rollback(struct bia_instance *inst)
{
	inst->backend->rollback(inst);
}

int bia_store_schema_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver)
{
	return inst->backend->schema_version(ctx, inst, pver);
}

int bia_store_layers(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		     struct bia_layer **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->layers(ctx, inst, image_id, 0, pv, pn);
}

int bia_store_layers_all(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			 struct bia_layer **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->layers(ctx, inst, image_id, 1, pv, pn);
}

int bia_store_blob_refs(struct bia_ctx *ctx, struct bia_instance *inst,
			char (**pdigests)[BIA_SHA256_HEX], size_t *pn)
{
	return inst->backend->blob_refs(ctx, inst, pdigests, pn);
}

/* ------------------------------------------------------------- workflows */

int bia_store_wf_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_version *v,
		     int *pexisted)
{
	if (!v->name[0] || strlen(v->name) >= sizeof(v->name) - 1)
		return bia_fail(ctx, BIA_ELIMIT, "a workflow name needs 1 to %zu bytes",
				sizeof(v->name) - 2);
	if (!v->version[0] || strlen(v->version) >= sizeof(v->version) - 1)
		return bia_fail(ctx, BIA_ELIMIT, "a workflow version needs 1 to %zu bytes",
				sizeof(v->version) - 2);
	if (strlen(v->source) >= sizeof(v->source) - 1)
		return bia_fail(ctx, BIA_ELIMIT, "a workflow source is at most %zu bytes",
				sizeof(v->source) - 2);
	for (size_t i = 0; i < v->nfiles; i++)
		if (strlen(v->files[i].path) >= sizeof(v->files[i].path) - 1)
			return bia_fail(ctx, BIA_ELIMIT,
					"workflow file path is too long (at most %zu bytes)",
					sizeof(v->files[i].path) - 2);
	return inst->backend->wf_version_add(ctx, inst, v, pexisted);
}

int bia_store_wf_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
		     const char *version, struct bia_wf_version *out)
{
	return inst->backend->wf_version_get(ctx, inst, name, version, out);
}

int bia_store_wf_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		      struct bia_wf_version **pv, size_t *pn, int64_t *ptotal)
{
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	return inst->backend->wf_list(ctx, inst, page, pv, pn, ptotal);
}

void bia_wf_list_free(struct bia_wf_version *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_wf_version_release(&v[i]);
	free(v);
}

/* ------------------------------------------------------------------ runs */

static const char *const state_names[BIA_RUN_STATE_COUNT] = {
	[BIA_RUN_QUEUED] = "queued",	   [BIA_RUN_RUNNING] = "running",
	[BIA_RUN_INGESTING] = "ingesting", [BIA_RUN_SUCCEEDED] = "succeeded",
	[BIA_RUN_FAILED] = "failed",	   [BIA_RUN_CANCELLED] = "cancelled",
	[BIA_RUN_TIMED_OUT] = "timed_out",
};

const char *bia_run_state_name(enum bia_run_state s)
{
	return (unsigned)s < BIA_RUN_STATE_COUNT ? state_names[s] : "unknown";
}

int bia_run_state_parse(const char *name)
{
	for (int i = 0; i < BIA_RUN_STATE_COUNT; i++)
		if (name && !strcmp(name, state_names[i]))
			return i;
	return -1;
}

int bia_run_set(char **field, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return BIA_ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* Run texts stored as given are bounded: a request or a workflow cannot
 * make a row of megabytes. */
#define RUN_TEXT_MAX (1u << 20)

static int check_run_text(struct bia_ctx *ctx, const char *what, const char *s)
{
	if (s && strlen(s) > RUN_TEXT_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "run %s is too long (%zu bytes, at most %u)", what,
				strlen(s), RUN_TEXT_MAX);
	return 0;
}

int bia_store_run_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r)
{
	if (check_run_text(ctx, "parameters", r->params) ||
	    check_run_text(ctx, "images", r->images) || check_run_text(ctx, "limits", r->limits))
		return ctx->rc;
	return inst->backend->run_add(ctx, inst, r);
}

int bia_store_run_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      struct bia_run *out)
{
	return inst->backend->run_get(ctx, inst, id, out);
}

int bia_store_run_list(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_filter *f, struct bia_page page, struct bia_run **pv,
		       size_t *pn, int64_t *ptotal)
{
	static const struct bia_run_filter all = {.problem_id = 0};
	*pv = NULL;
	*pn = 0;
	if (check_page(ctx, page))
		return ctx->rc;
	if (f && f->status && f->status[0] && bia_run_state_parse(f->status) < 0)
		return bia_fail(ctx, BIA_EINVAL, "unknown run status '%s'", f->status);
	return inst->backend->run_list(ctx, inst, f ? f : &all, page, pv, pn, ptotal);
}

int bia_store_run_next_queued(struct bia_ctx *ctx, struct bia_instance *inst, int64_t *pid)
{
	return inst->backend->run_next_queued(ctx, inst, pid);
}

int bia_store_run_update(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
			 const char *from, int *pdone)
{
	if (check_run_text(ctx, "reason", r->reason) || check_run_text(ctx, "job", r->job))
		return ctx->rc;
	if ((unsigned)r->state >= BIA_RUN_STATE_COUNT)
		return bia_fail(ctx, BIA_EINVAL, "run %lld: invalid state %d", (long long)r->id,
				(int)r->state);
	return inst->backend->run_update(ctx, inst, r, from, pdone);
}

int bia_store_run_summary_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const char *means)
{
	return inst->backend->run_summary_put(ctx, inst, run_id, means);
}

int bia_store_run_clear_results(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	return inst->backend->run_clear_results(ctx, inst, id);
}

int bia_store_run_set_verdict(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			      const char *verdict, const char *detail)
{
	if (check_run_text(ctx, "verdict detail", detail))
		return ctx->rc;
	return inst->backend->run_set_verdict(ctx, inst, id, verdict, detail);
}

int bia_store_run_image_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			    const struct bia_run_image *ri)
{
	return inst->backend->run_image_put(ctx, inst, run_id, ri);
}

int bia_store_run_rescore_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const struct bia_run_image *ri)
{
	return inst->backend->run_rescore_put(ctx, inst, run_id, ri);
}

int bia_store_run_images(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 struct bia_run_image **pv, size_t *pn)
{
	return inst->backend->run_images(ctx, inst, run_id, pv, pn);
}

int bia_store_run_values(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *run_ids,
			 size_t nruns, const char *const *metrics, size_t nmetrics,
			 struct bia_run_value **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	if (!nruns || !nmetrics)
		return 0;
	return inst->backend->run_values(ctx, inst, run_ids, nruns, metrics, nmetrics, pv, pn);
}

int bia_store_run_events(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 int64_t after, int64_t limit, struct bia_run_event_rec **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	return inst->backend->run_events(ctx, inst, run_id, after, limit, pv, pn);
}

void bia_run_events_free(struct bia_run_event_rec *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].reason);
	free(v);
}

int bia_store_run_errors(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 int64_t problem_id, const char *category, int64_t limit,
			 struct bia_run_error_row **pv, size_t *pn)
{
	return inst->backend->run_errors_query(ctx, inst, run_id, problem_id, category, limit, pv,
					       pn);
}

int bia_store_run_objects(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  int64_t image_id, struct bia_run_object **pv, size_t *pn)
{
	return inst->backend->run_objects_get(ctx, inst, run_id, image_id, pv, pn);
}

void bia_run_objects_free(struct bia_run_object *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_run_object_release(&v[i]);
	free(v);
}

/* ------------------------------------------------------------- listening */

int bia_store_listen(struct bia_ctx *ctx, struct bia_instance *inst,
		     struct bia_store_listener **pl)
{
	*pl = NULL;
	if (!inst->backend || !inst->backend->listen)
		return 0;
	return inst->backend->listen(ctx, inst, pl);
}

/* Only the PostgreSQL back end makes listeners. */
int bia_store_listener_fd(const struct bia_store_listener *l)
{
	return bia__store_pg.listener_fd(l);
}

int bia_store_listener_drain(struct bia_store_listener *l)
{
	return bia__store_pg.listener_drain(l);
}

void bia_store_listener_close(struct bia_store_listener *l)
{
	if (l)
		bia__store_pg.listener_close(l);
}
