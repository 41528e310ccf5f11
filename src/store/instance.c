/* Instance directories: create, probe, open (config + store), close.
 * SPDX-License-Identifier: MIT */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INSTANCE_FORMAT "biaflows-instance"
#define INSTANCE_VERSION 1

static const char *const subdirs[] = {"blobs/sha256", "blobs/tmp", "pyramids", "runs", "envs"};

int bia_instance_probe(const char *dir)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/config", dir);
	if (!bia_is_file(p))
		return 0;
	snprintf(p, sizeof(p), "%s/biaflows.db", dir);
	return bia_is_file(p);
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

int bia_instance_create(struct bia_ctx *ctx, const char *dir)
{
	char p[BIA_PATH_MAX];
	if (bia_instance_probe(dir))
		return bia_fail(ctx, BIA_EEXIST, "'%s' is already a biaflows instance", dir);
	if (bia_is_dir(dir) && !dir_is_empty(dir))
		return bia_fail(ctx, BIA_EEXIST, "'%s' exists and is not empty", dir);
	if (!bia_is_dir(dir) && access(dir, F_OK) == 0)
		return bia_fail(ctx, BIA_EEXIST, "'%s' exists and is not a folder", dir);
	if (bia_mkdir_p(ctx, dir))
		return ctx->rc;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subdirs[i]);
		if (bia_mkdir_p(ctx, p))
			return ctx->rc;
	}
	json_t *cfg = json_pack("{s:s, s:i, s:s}", "format", INSTANCE_FORMAT, "version",
				INSTANCE_VERSION, "store", "sqlite");
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
	json_t *mp = json_object_get(inst->config, "max_pixels");
	if (json_is_integer(mp) && json_integer_value(mp) > 0)
		ctx->max_pixels = (uint64_t)json_integer_value(mp);
	const char *store = bia_json_str(inst->config, "store", "sqlite");
	if (strcmp(store, "sqlite")) {
		json_decref(inst->config);
		inst->config = NULL;
		return bia_fail(ctx, BIA_EUNSUPPORTED, "store back end '%s' is not available",
				store);
	}
	inst->ops = &bia_store_sqlite;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", inst->root, subdirs[i]);
		if (bia_mkdir_p(ctx, p)) {
			json_decref(inst->config);
			inst->config = NULL;
			return ctx->rc;
		}
	}
	snprintf(p, sizeof(p), "%s/biaflows.db", inst->root);
	if (inst->ops->open(ctx, inst, p)) {
		json_decref(inst->config);
		inst->config = NULL;
		return ctx->rc;
	}
	return 0;
}

void bia_instance_close(struct bia_instance *inst)
{
	if (inst->ops)
		inst->ops->close(inst);
	if (inst->lock_fd >= 0)
		close(inst->lock_fd);
	json_decref(inst->config);
	memset(inst, 0, sizeof(*inst));
	inst->lock_fd = -1;
}
