/* Private to src/workflow: the registry's git import of one tag, shared by
 * `workflow add GIT_REPO` (registry.c) and trusted sources (sources.c).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_WORKFLOW_REGISTRY_INT_H
#define BIA_WORKFLOW_REGISTRY_INT_H

#include <git2.h>

#include "workflow/workflow.h"

/* Add the tree of refs/tags/<tag> of an open repository as version <tag>
 * (all-or-nothing, as bia_workflow_add_git does per tag). `root` names the
 * repository in messages (and in "source" unless o->source is set);
 * o->expect_digest refuses a moved tag. out->rc and out->msg tell a
 * refusal. The caller holds git_libgit2_init. */
int bia__workflow_add_tag(struct bia_ctx *ctx, struct bia_instance *inst, git_repository *repo,
			  const char *root, const char *tag, const struct bia_wf_add_opts *o,
			  struct bia_wf_added *out);

#endif
