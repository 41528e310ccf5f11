/* Execution plans: from a descriptor, parameters and resource overrides to
 * a sandbox spec with its environment resolved. One plan for `biaflows
 * exec` and for runs (docs/exec.md, docs/runs.md).
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <stdlib.h>
#include <string.h>

void bia_exec_plan_release(struct bia_exec_plan *plan)
{
	json_decref(plan->values);
	bia_argv_free(plan->wargv);
	free(plan->argv);
	bia_oci_image_release(&plan->oci);
	bia_descriptor_release(&plan->d);
	memset(plan, 0, sizeof(*plan));
}

/* The descriptor's resources, then the overrides. */
static void plan_limits(const struct bia_descriptor *d, const struct bia_run_overrides *o,
			struct bia_exec_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->wall_seconds = d->resources.time > 0 ? (double)d->resources.time : 3600;
	lim->memory_bytes = d->resources.memory ? d->resources.memory : (UINT64_C(4) << 30);
	lim->max_procs = d->resources.processes > 0 ? (unsigned)d->resources.processes
						    : BIA_RES_DEFAULT_PROCESSES;
	lim->max_open_files = d->resources.open_files > 0 ? (unsigned)d->resources.open_files
							  : BIA_RES_DEFAULT_OPEN_FILES;
	lim->out_bytes = d->resources.output ? d->resources.output : BIA_EXEC_DEFAULT_OUT_BYTES;
	lim->log_bytes = BIA_DEFAULT_MAX_LOG;
	if (!o)
		return;
	if (o->timeout > 0)
		lim->wall_seconds = (double)o->timeout;
	if (o->memory > 0)
		lim->memory_bytes = o->memory;
	if (o->processes > 0)
		lim->max_procs = (unsigned)o->processes;
	if (o->open_files > 0)
		lim->max_open_files = (unsigned)o->open_files;
	if (o->output > 0)
		lim->out_bytes = o->output;
}

int bia_exec_plan_make(struct bia_ctx *ctx, const struct bia_plan_request *req,
		       struct bia_exec_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	const char *dname = req->descriptor_name ? req->descriptor_name : "descriptor.json";
	if (bia_descriptor_parse(ctx, dname, req->descriptor, strlen(req->descriptor), &plan->d))
		return ctx->rc;
	struct bia_descriptor *d = &plan->d;
	/* parameters: resolved values (a run's), or "id=value" settings */
	if (req->values)
		plan->values = bia_json_parse(ctx, "run parameters", req->values,
					      strlen(req->values));
	else
		bia_descriptor_resolve(ctx, d, req->params, req->nparams, &plan->values);
	if (!plan->values || bia_descriptor_argv(ctx, d, plan->values, &plan->wargv, &plan->wargc)) {
		if (req->bad_params && !req->values)
			*req->bad_params = 1;
		goto fail;
	}
	bia_exec_spec_init(&plan->spec);
	plan_limits(d, req->limits, &plan->spec.limits);
	if (d->environment.type == BIA_ENV_HOST && !req->archive) {
		plan->spec.app_dir = req->app_dir;
		plan->spec.argv = plan->wargv;
		snprintf(plan->env_digest, sizeof(plan->env_digest), "host");
		return 0;
	}
	/* an image archive (given, or the descriptor's image environment), else
	 * the container-image exported from a local engine (docs/exec.md) */
	char engine[BIA_ENGINE_NAME_MAX] = "";
	if (bia_mkdir_p(ctx, req->envs_dir))
		goto fail;
	if (req->archive || d->environment.type == BIA_ENV_IMAGE) {
		char archive[BIA_PATH_MAX];
		if (req->archive)
			snprintf(archive, sizeof(archive), "%s", req->archive);
		else if (bia_path_join(ctx, archive, sizeof(archive), req->app_dir,
				       d->environment.archive))
			goto fail;
		if (bia_oci_unpack(ctx, archive, req->envs_dir, &plan->oci))
			goto fail;
	} else {
		const char *image = d->container.image ? d->container.image : "";
		int reused = 0;
		if (bia_engine_image(ctx, image, d->container.type, req->envs_dir, &plan->oci,
				     engine, &reused)) {
			if (req->no_engine)
				*req->no_engine = 1;
			goto fail;
		}
		snprintf(plan->env_note, sizeof(plan->env_note),
			 "environment: container image '%s' from %s (%s), sha256:%s", image, engine,
			 reused ? "unpacked before" : "exported and unpacked", plan->oci.digest);
	}
	/* the command-line tokens replace Cmd, after the Entrypoint */
	size_t ne = 0;
	while (plan->oci.entrypoint && plan->oci.entrypoint[ne])
		ne++;
	plan->argv = bia_calloc(ne + plan->wargc + 1, sizeof(char *));
	if (!plan->argv) {
		bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ne; i++)
		plan->argv[i] = plan->oci.entrypoint[i];
	for (size_t i = 0; i < plan->wargc; i++)
		plan->argv[ne + i] = plan->wargv[i];
	plan->spec.argv = plan->argv;
	plan->spec.rootfs = plan->oci.rootfs;
	plan->spec.env = plan->oci.env;
	if (plan->oci.workdir && plan->oci.workdir[0])
		plan->spec.workdir = plan->oci.workdir;
	/* "sha256:<config digest>", prefixed "<engine>:" when an engine
	 * exported the image */
	snprintf(plan->env_digest, sizeof(plan->env_digest), "%s%ssha256:%s", engine,
		 engine[0] ? ":" : "", plan->oci.digest);
	return 0;
fail:
	{
		int rc = ctx->rc;
		bia_exec_plan_release(plan);
		return rc;
	}
}
