/* Routes of exchange between instances (docs/exchange.md): export and
 * import of bundles as operations, and snapshots that another instance
 * pulls file by file.
 * SPDX-License-Identifier: MIT */
#include "exchange/exchange.h"
#include "server/server_priv.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNAPSHOT_TTL (24 * 3600) /* snapshots and exported bundles are removed a day after */

static void op_progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	bia__op_progress(arg, done, total, phase);
}

/* The problems, runs, workflows, environments of a request body. */
static int selection(struct bia_ctx *ctx, json_t *j, struct bia_bundle_export_opts *o,
		     const char ***pnames)
{
	json_t *ps = json_object_get(j, "problems"), *v;
	size_t i;
	*pnames = NULL;
	if (ps && !json_is_array(ps))
		return bia_fail(ctx, BIA_EINVAL, "\"problems\" must be an array of names or ids");
	const char **names = calloc(json_array_size(ps) + 1, sizeof(*names));
	if (!names)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	json_array_foreach(ps, i, v)
	{
		if (!json_is_string(v)) {
			free(names);
			return bia_fail(ctx, BIA_EINVAL, "\"problems\" must be an array of names or ids");
		}
		names[i] = json_string_value(v);
	}
	o->problems = names;
	o->nproblems = json_array_size(ps);
	o->runs = json_is_true(json_object_get(j, "runs"));
	o->environments = json_is_true(json_object_get(j, "environments"));
	o->workflows = o->environments || json_is_true(json_object_get(j, "workflows"));
	*pnames = names;
	return 0;
}

static void exchange_dir(struct bia_instance *inst, const char *sub, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/exchange/%s", inst->root, sub);
}

static void random_hex(char out[33])
{
	unsigned char r[16];
	randombytes_buf(r, sizeof(r));
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void prune_old(struct bia_instance *inst, const char *sub);

/* ---------------------------------------------------------------- export */

/* The export of a request body into exchange/<sub>/<name>: its report. */
static int export_into(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		       const char *sub, const char *name, int snapshot, json_t **pout)
{
	struct bia_bundle_export_opts o = {.progress = op_progress, .progress_arg = oprun,
					   .snapshot = snapshot};
	const char **names;
	if (selection(ctx, rqj, &o, &names))
		return ctx->rc;
	char dir[BIA_PATH_MAX], path[BIA_PATH_MAX + 64];
	prune_old(srv->inst, sub);
	exchange_dir(srv->inst, sub, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct bia_bundle_export_report rep;
	int rc = bia_mkdir_p(ctx, dir) || bia_bundle_export(ctx, srv->inst, path, &o, &rep);
	free(names);
	if (rc)
		return ctx->rc;
	*pout = bia_bundle_export_report_json(&rep);
	json_object_set_new(*pout, "path", json_string(name));
	return 0;
}

static int export_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		     json_t **pout)
{
	const char *name = bia_json_str(rqj, "name", "");
	if (export_into(srv, rqj, oprun, ctx, "exports", name, 0, pout))
		return ctx->rc;
	char url[128];
	snprintf(url, sizeof(url), "/api/v1/exports/%s", name);
	json_object_set_new(*pout, "download", json_string(url));
	return 0;
}

/* {problems?, runs?, workflows?, environments?, compression?: zst|gz|none} */
int h_export(struct req *rq)
{
	const char *comp = bia_json_str(rq->json, "compression", "zst");
	const char *ext = !strcmp(comp, "zst") ? ".tar.zst" : !strcmp(comp, "gz") ? ".tar.gz"
			  : !strcmp(comp, "none")			       ? ".tar"
										       : NULL;
	if (!ext)
		return req_fail(rq, BIA_EINVAL, "\"compression\" is zst, gz or none");
	struct bia_bundle_export_opts o = {0};
	const char **names;
	if (selection(&rq->ctx, rq->json, &o, &names))
		return req_error(rq);
	free(names);
	char id[33], name[64];
	random_hex(id);
	snprintf(name, sizeof(name), "%s%s", id, ext);
	json_t *r = json_deep_copy(rq->json);
	json_object_set_new(r, "name", json_string(name));
	return ops_submit(rq, "export", 0, r, export_op);
}

/* A bundle written by POST /exports. */
int h_export_file(struct req *rq)
{
	const char *name = rq->params[0];
	size_t n = strspn(name, "0123456789abcdef");
	if (n != 32 || (strcmp(name + n, ".tar") && strcmp(name + n, ".tar.gz") &&
			strcmp(name + n, ".tar.zst")))
		return req_fail(rq, BIA_ENOENT, "no export '%s'", name);
	char dir[BIA_PATH_MAX], path[BIA_PATH_MAX + 64];
	exchange_dir(req_inst(rq), "exports", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!bia_is_file(path))
		return req_fail(rq, BIA_ENOENT, "no export '%s'", name);
	return req_file(rq, path, "application/x-tar", name);
}

/* ---------------------------------------------------------------- import */

static int import_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		     json_t **pout)
{
	const char *file = json_string_value(json_object_get(rqj, "file"));
	struct bia_bundle_import_opts o = {.progress = op_progress, .progress_arg = oprun};
	struct bia_bundle_import_report rep;
	int rc = bia_bundle_import(ctx, srv->inst, file, &o, &rep);
	unlink(file);
	if (rc)
		return rc;
	*pout = bia_bundle_import_report_json(&rep);
	bia_bundle_import_report_release(&rep);
	return 0;
}

/* The body is a bundle (a tar, plain, gzip or zstd). */
int h_import(struct req *rq)
{
	/* the upload now belongs to the operation */
	char file[BIA_PATH_MAX + 16];
	snprintf(file, sizeof(file), "%s.bundle", rq->body_path);
	if (rename(rq->body_path, file))
		return req_fail(rq, BIA_EIO, "cannot keep the upload");
	rq->body_path[0] = '\0';
	return ops_submit(rq, "bundle-import", 0, json_pack("{s:s}", "file", file), import_op);
}

/* ------------------------------------------------------------- snapshots */

/* Snapshots and exported bundles older than SNAPSHOT_TTL are removed. */
static void prune_old(struct bia_instance *inst, const char *sub)
{
	char dir[BIA_PATH_MAX];
	exchange_dir(inst, sub, dir, sizeof(dir));
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);
	while (d && (e = readdir(d))) {
		char p[BIA_PATH_MAX + 300];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (!stat(p, &sb) && now - sb.st_mtime > SNAPSHOT_TTL) {
			struct bia_ctx c;
			bia_ctx_init(&c);
			bia_rm_rf(&c, p);
		}
	}
	if (d)
		closedir(d);
}

static int snapshot_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		       json_t **pout)
{
	const char *id = bia_json_str(rqj, "id", "");
	if (export_into(srv, rqj, oprun, ctx, "snapshots", id, 1, pout))
		return ctx->rc;
	/* who may read it */
	char owner[BIA_PATH_MAX + 80];
	exchange_dir(srv->inst, "snapshots", owner, sizeof(owner));
	snprintf(owner + strlen(owner), sizeof(owner) - strlen(owner), "/%s/owner", id);
	FILE *f = fopen(owner, "w");
	if (!f || fprintf(f, "%lld\n", (long long)json_integer_value(json_object_get(rqj, "owner"))) < 0 ||
	    fclose(f)) {
		if (f)
			fclose(f);
		json_decref(*pout);
		*pout = NULL;
		return bia_fail(ctx, BIA_EIO, "cannot write '%s'", owner);
	}
	char url[128];
	snprintf(url, sizeof(url), "/api/v1/exchange/snapshots/%s", id);
	json_object_set_new(*pout, "snapshot", json_string(id));
	json_object_set_new(*pout, "url", json_string(url));
	return 0;
}

/* {problems?, runs?, workflows?, environments?}: an admin may take
 * anything; others name problems they may read. */
int h_snapshot(struct req *rq)
{
	struct bia_bundle_export_opts o = {0};
	const char **names;
	if (selection(&rq->ctx, rq->json, &o, &names))
		return req_error(rq);
	int rc = 0;
	if (rq->who.role != BIA_ROLE_ADMIN) {
		if (!o.nproblems)
			rc = req_fail(rq, BIA_EPERM, "name the problems to pull (only an admin may "
					"pull every problem)");
		for (size_t i = 0; !rc && i < o.nproblems; i++) {
			struct bia_problem p;
			struct bia_ctx tmp;
			bia_instance_ctx(req_inst(rq), &tmp);
			if (bia_problem_get(&tmp, req_inst(rq), names[i], &p)) {
				rc = req_fail(rq, BIA_ENOENT, "no problem '%s'", names[i]);
				break;
			}
			int denied = bia_access_problem(&tmp, req_inst(rq), &rq->who, p.id,
							BIA_ACCESS_READ);
			bia_problem_release(&p);
			if (denied) {
				rc = req_fail(rq, BIA_ENOENT, "no problem '%s'", names[i]);
				break;
			}
		}
	}
	free(names);
	if (rc)
		return rc;
	char id[33];
	random_hex(id);
	json_t *r = json_deep_copy(rq->json);
	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "owner", json_integer(rq->who.user_id));
	return ops_submit(rq, "snapshot", 0, r, snapshot_op);
}

/* The snapshot folder of params[0] if the caller made it (or is an admin). */
static int snapshot_dir(struct req *rq, char *out, size_t outsz)
{
	const char *id = rq->params[0];
	if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
		return req_fail(rq, BIA_ENOENT, "no snapshot '%s'", id);
	char dir[BIA_PATH_MAX], owner[BIA_PATH_MAX + 80];
	exchange_dir(req_inst(rq), "snapshots", dir, sizeof(dir));
	snprintf(out, outsz, "%s/%s", dir, id);
	snprintf(owner, sizeof(owner), "%s/owner", out);
	FILE *f = fopen(owner, "r");
	long long uid = -1;
	if (f) {
		if (fscanf(f, "%lld", &uid) != 1)
			uid = -1;
		fclose(f);
	}
	if (uid < 0 || (uid != rq->who.user_id && rq->who.role != BIA_ROLE_ADMIN))
		return req_fail(rq, BIA_ENOENT, "no snapshot '%s'", id);
	return 0;
}

int h_snapshot_manifest(struct req *rq)
{
	char dir[BIA_PATH_MAX], p[BIA_PATH_MAX + 32];
	if (snapshot_dir(rq, dir, sizeof(dir)))
		return rq->status;
	snprintf(p, sizeof(p), "%s/manifest.json", dir);
	return req_file(rq, p, "application/json", NULL);
}

int h_snapshot_record(struct req *rq)
{
	static const char *const names[] = {"blobs.jsonl",   "logs.jsonl",  "problems.jsonl",
					    "images.jsonl",  "gts.jsonl",   "workflows.jsonl",
					    "runs.jsonl",    "run_images.jsonl"};
	char dir[BIA_PATH_MAX], p[BIA_PATH_MAX + 64];
	if (snapshot_dir(rq, dir, sizeof(dir)))
		return rq->status;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(rq->params[1], names[i])) {
			snprintf(p, sizeof(p), "%s/records/%s", dir, names[i]);
			return req_file(rq, p, "application/x-ndjson", NULL);
		}
	return req_fail(rq, BIA_ENOENT, "no record file '%s'", rq->params[1]);
}

static int snapshot_file(struct req *rq, int log)
{
	char dir[BIA_PATH_MAX], p[BIA_PATH_MAX];
	if (snapshot_dir(rq, dir, sizeof(dir)))
		return rq->status;
	if (bia_snapshot_file(&rq->ctx, req_inst(rq), dir, log, rq->params[1], p, sizeof(p)))
		return req_error(rq);
	return req_file(rq, p, log ? "text/plain" : "application/octet-stream", NULL);
}

int h_snapshot_blob(struct req *rq)
{
	return snapshot_file(rq, 0);
}

int h_snapshot_log(struct req *rq)
{
	return snapshot_file(rq, 1);
}
