/* Instance directories: create, probe, open (config + store), close.
 * SPDX-License-Identifier: MIT */
#include "store/backend.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INSTANCE_FORMAT "biaflows-instance"
#define INSTANCE_VERSION 1

static const char *const subdirs[] = {"blobs/sha256", "blobs/tmp", "derived", "runs", "envs"};

/* The back ends this build has, by URL scheme. */
static const struct bia_store_ops *const backends[] = {&bia__store_sqlite, &bia__store_pg};

const struct bia_store_ops *bia__store_backend(struct bia_ctx *ctx, const char *url,
					       const char **plocation)
{
	const char *colon = strchr(url, ':');
	size_t n = colon ? (size_t)(colon - url) : strlen(url);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i]->scheme) == n && !strncmp(url, backends[i]->scheme, n)) {
			*plocation = colon ? colon + 1 : "";
			return backends[i];
		}
	bia_fail(ctx, BIA_EUNSUPPORTED, "store back end '%.*s' is not available (this build has: sqlite, postgresql)",
		 (int)(n > 64 ? 64 : n), url);
	return NULL;
}

int bia_instance_probe(const char *dir)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/config", dir);
	if (!bia_is_file(p))
		return 0;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	json_t *cfg = bia_json_load_file(&ctx, p);
	int ok = cfg && !strcmp(bia_json_str(cfg, "format", ""), INSTANCE_FORMAT);
	json_decref(cfg);
	return ok;
}

static int dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* One limit of config "limits": a positive integer, or the default. */
static int limit_u64(struct bia_ctx *ctx, json_t *lim, const char *key, uint64_t def,
		     uint64_t *out)
{
	json_t *v = json_object_get(lim, key);
	*out = def;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return bia_fail(ctx, BIA_EINVAL, "limit '%s' must be a positive integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* The instance's limits: config "limits" {max_pixels, max_upload_bytes,
 * max_body_bytes, max_json_depth, max_log_bytes}; a top-level "max_pixels"
 * (older configs) too; BIAFLOWS_MAX_PIXELS in the environment is the
 * default pixel limit. */
static int read_limits(struct bia_ctx *ctx, json_t *cfg, struct bia_limits *l)
{
	struct bia_ctx dflt;
	bia_ctx_init(&dflt); /* max_pixels from the environment or the default */
	json_t *lim = json_object_get(cfg, "limits");
	if (lim && !json_is_object(lim))
		return bia_fail(ctx, BIA_EINVAL, "\"limits\" must be an object");
	uint64_t mp = dflt.max_pixels, depth;
	json_t *old = json_object_get(cfg, "max_pixels");
	if (json_is_integer(old) && json_integer_value(old) > 0)
		mp = (uint64_t)json_integer_value(old);
	if (limit_u64(ctx, lim, "max_pixels", mp, &l->max_pixels) ||
	    limit_u64(ctx, lim, "max_upload_bytes", BIA_DEFAULT_MAX_UPLOAD, &l->max_upload_bytes) ||
	    limit_u64(ctx, lim, "max_body_bytes", BIA_DEFAULT_MAX_BODY, &l->max_body_bytes) ||
	    limit_u64(ctx, lim, "max_json_depth", BIA_DEFAULT_MAX_JSON_DEPTH, &depth) ||
	    limit_u64(ctx, lim, "max_log_bytes", BIA_DEFAULT_MAX_LOG, &l->max_log_bytes))
		return ctx->rc;
	if (depth > 1000)
		return bia_fail(ctx, BIA_EINVAL, "limit 'max_json_depth' must be at most 1000");
	l->max_json_depth = (int)depth;
	const char *known[] = {"max_pixels", "max_upload_bytes", "max_body_bytes",
			       "max_json_depth", "max_log_bytes"};
	const char *key;
	json_t *v;
	json_object_foreach(lim, key, v)
	{
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) && strcmp(key, known[k]))
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return bia_fail(ctx, BIA_EINVAL, "unknown limit '%s' (known: max_pixels, "
					"max_upload_bytes, max_body_bytes, max_json_depth, max_log_bytes)", key);
	}
	return 0;
}

void bia_instance_ctx(const struct bia_instance *inst, struct bia_ctx *ctx)
{
	bia_ctx_init(ctx);
	ctx->max_pixels = inst->limits.max_pixels;
	ctx->max_json_depth = inst->limits.max_json_depth;
}

int bia_instance_create(struct bia_ctx *ctx, const char *dir)
{
	return bia_instance_create_store(ctx, dir, NULL);
}

int bia_instance_create_store(struct bia_ctx *ctx, const char *dir, const char *url)
{
	char p[BIA_PATH_MAX], store[1200];
	if (!url) {
		url = getenv("BIAFLOWS_DATABASE");
		if (!url || !url[0])
			url = "sqlite";
	}
	if (!strcmp(url, "sqlite"))
		url = "sqlite:biaflows.db";
	const char *location = NULL;
	const struct bia_store_ops *be = bia__store_backend(ctx, url, &location);
	if (!be)
		return ctx->rc;
	if (bia_instance_probe(dir))
		return bia_fail(ctx, BIA_EEXIST, "'%s' is already a biaflows instance", dir);
	if (bia_is_dir(dir) && !dir_is_empty(dir))
		return bia_fail(ctx, BIA_EEXIST, "'%s' exists and is not empty", dir);
	if (!bia_is_dir(dir) && access(dir, F_OK) == 0)
		return bia_fail(ctx, BIA_EEXIST, "'%s' exists and is not a folder", dir);
	/* PostgreSQL: a schema of its own, named in the URL recorded; made
	 * first, so that a bad URL or a server out of reach leaves no folder */
	if (be->create) {
		if (be->create(ctx, location, store, sizeof(store)))
			return ctx->rc;
	} else {
		snprintf(store, sizeof(store), "%s", url);
	}
	if (bia_mkdir_p(ctx, dir))
		return ctx->rc;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subdirs[i]);
		if (bia_mkdir_p(ctx, p))
			return ctx->rc;
	}
	json_t *cfg = json_pack("{s:s, s:i, s:s}", "format", INSTANCE_FORMAT, "version",
				INSTANCE_VERSION, "store", store);
	snprintf(p, sizeof(p), "%s/config", dir);
	int rc = bia_json_save_file(ctx, p, cfg);
	json_decref(cfg);
	if (rc)
		return rc;
	struct bia_instance inst;
	if (bia_instance_open(ctx, dir, &inst))
		return ctx->rc;
	bia_instance_close(&inst);
	return 0;
}

int bia_instance_open(struct bia_ctx *ctx, const char *dir, struct bia_instance *inst)
{
	char p[BIA_PATH_MAX], real[PATH_MAX];
	memset(inst, 0, sizeof(*inst));
	inst->lock_fd = -1;
	if (!realpath(dir, real))
		return bia_fail(ctx, BIA_ENOENT, "instance '%s' not found: %s", dir, strerror(errno));
	snprintf(inst->root, sizeof(inst->root), "%s", real);
	snprintf(p, sizeof(p), "%s/config", inst->root);
	if (!bia_is_file(p))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a biaflows instance (no config)", dir);
	inst->config = bia_json_load_file(ctx, p);
	if (!inst->config)
		return ctx->rc;
	const char *fmt = bia_json_str(inst->config, "format", "");
	if (strcmp(fmt, INSTANCE_FORMAT)) {
		json_decref(inst->config);
		inst->config = NULL;
		return bia_fail(ctx, BIA_EFORMAT, "'%s/config' is not a biaflows instance config",
				dir);
	}
	if (read_limits(ctx, inst->config, &inst->limits)) {
		json_decref(inst->config);
		inst->config = NULL;
		return bia_fail_prefix(ctx, "'%s/config'", dir);
	}
	ctx->max_pixels = inst->limits.max_pixels;
	ctx->max_json_depth = inst->limits.max_json_depth;
	/* "sqlite" (instances made before store URLs) is sqlite:biaflows.db */
	const char *url = bia_json_str(inst->config, "store", "sqlite");
	if (!strcmp(url, "sqlite"))
		url = "sqlite:biaflows.db";
	const char *location = NULL;
	inst->backend = bia__store_backend(ctx, url, &location);
	if (!inst->backend) {
		json_decref(inst->config);
		inst->config = NULL;
		return ctx->rc;
	}
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", inst->root, subdirs[i]);
		if (bia_mkdir_p(ctx, p)) {
			json_decref(inst->config);
			inst->config = NULL;
			return ctx->rc;
		}
	}
	if (inst->backend->open(ctx, inst, location)) {
		json_decref(inst->config);
		inst->config = NULL;
		inst->backend = NULL;
		return ctx->rc;
	}
	return 0;
}

void bia_instance_close(struct bia_instance *inst)
{
	if (inst->backend)
		inst->backend->close(inst);
	if (inst->lock_fd >= 0)
		close(inst->lock_fd);
	json_decref(inst->config);
	memset(inst, 0, sizeof(*inst));
	inst->lock_fd = -1;
}
