/* The REST API's routes: one row per route (method, path, role, body,
 * summary, the CLI command it mirrors) and its handler. A handler parses
 * its parameters, checks access to the problem concerned and calls the
 * same library function as the CLI command, returning that JSON. The
 * OpenAPI document is generated from this table. docs/api.md.
 * SPDX-License-Identifier: MIT */
#include "bench/bench.h"
#include "dataset/dataset.h"
#include "runs/runs.h"
#include "dataset/derived.h"
#include "server/images_int.h"
#include "server/server_priv.h"
#include "workflow/workflow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int bia__login_limited(struct req *rq, const char *user, int failed);

#define INST(rq) req_inst(rq)

static int64_t parse_pos_id(const char *s)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return 0;
	return strtoll(s, NULL, 10);
}

/* The problem of a path parameter, checked for access. */
static int get_problem(struct req *rq, const char *ref, enum bia_access want,
		       struct bia_problem *p)
{
	struct bia_ctx tmp;
	bia_instance_ctx(INST(rq), &tmp);
	if (bia_problem_get(&tmp, INST(rq), ref, p)) {
		if (tmp.rc == BIA_ENOENT)
			return req_fail(rq, BIA_ENOENT, "no problem '%s'", ref);
		return req_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	if (bia_access_problem(&tmp, INST(rq), &rq->who, p->id, want)) {
		bia_problem_release(p);
		if (tmp.rc == BIA_ENOENT)
			return req_fail(rq, BIA_ENOENT, "no problem '%s'", ref);
		return req_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	return 0;
}

static int get_image(struct req *rq, const char *ref, enum bia_access want,
		     struct bia_image_rec *im)
{
	int64_t id = parse_pos_id(ref);
	if (!id)
		return req_fail(rq, BIA_EINVAL, "an image is addressed by its id");
	struct bia_ctx tmp;
	bia_instance_ctx(INST(rq), &tmp);
	if (bia_store_image_get(&tmp, INST(rq), id, im) ||
	    bia_access_problem(&tmp, INST(rq), &rq->who, im->problem_id, want)) {
		if (tmp.rc == BIA_ENOENT)
			return req_fail(rq, BIA_ENOENT, "no image with id %lld", (long long)id);
		return req_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	return 0;
}

static int get_run(struct req *rq, const char *ref, enum bia_access want, struct bia_run *r)
{
	int64_t id = parse_pos_id(ref);
	if (!id)
		return req_fail(rq, BIA_EINVAL, "a run is addressed by its id");
	struct bia_ctx tmp;
	bia_instance_ctx(INST(rq), &tmp);
	if (bia_store_run_get(&tmp, INST(rq), id, r))
		goto fail;
	if (bia_access_problem(&tmp, INST(rq), &rq->who, r->problem_id, want)) {
		bia_run_release(r);
		goto fail;
	}
	return 0;
fail:
	if (tmp.rc == BIA_ENOENT)
		return req_fail(rq, BIA_ENOENT, "no run with id %lld", (long long)id);
	return req_fail(rq, tmp.rc, "%s", tmp.msg);
}

static const char *jstr(struct req *rq, const char *key)
{
	json_t *v = json_object_get(rq->json, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ------------------------------------------------------------ handlers */

static int h_openapi(struct req *rq)
{
	return req_json(rq, 200, bia_api_openapi());
}

static int h_session_get(struct req *rq)
{
	json_t *o = json_pack("{s:b}", "guest", req_guest(rq));
	if (rq->who.user_id) {
		json_object_set_new(o, "user", json_string(rq->who.name));
		json_object_set_new(o, "role", json_string(bia_role_name(rq->who.role)));
		json_object_set_new(o, "session", json_boolean(rq->who.session));
		json_t *w;
		if (bia_writable_problems(&rq->ctx, INST(rq), &rq->who, &w)) {
			json_decref(o);
			return req_error(rq);
		}
		json_object_set_new(o, "writable", w);
	} else {
		json_object_set_new(o, "user", json_null());
		json_object_set_new(o, "role", json_null());
		json_object_set_new(o, "writable", json_array());
	}
	return req_json(rq, 200, o);
}

static int h_session_post(struct req *rq)
{
	const char *name = jstr(rq, "name"), *pw = jstr(rq, "password");
	if (!name || !pw)
		return req_fail(rq, BIA_EINVAL, "log in with {\"name\": ..., \"password\": ...}");
	int wait = bia__login_limited(rq, name, 0);
	if (wait) {
		rq->retry_after = wait;
		return req_fail(rq, BIA_ERATE, "too many failed logins; try again in %d s", wait);
	}
	char secret[BIA_SECRET_MAX];
	struct bia_principal who;
	if (bia_session_open(&rq->ctx, INST(rq), name, pw, (int64_t)time(NULL), secret, &who)) {
		if (rq->ctx.rc == BIA_EAUTH)
			bia__login_limited(rq, name, 1);
		return req_error(rq);
	}
	snprintf(rq->cookie, sizeof(rq->cookie),
		 "biaflows_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", secret,
		 BIA_SESSION_TTL);
	return req_json(rq, 200,
			json_pack("{s:s, s:s, s:s, s:I}", "user", who.name, "role",
				  bia_role_name(who.role), "csrf", who.csrf, "expires_in",
				  (json_int_t)BIA_SESSION_TTL));
}

static int h_session_delete(struct req *rq)
{
	if (rq->who.session && bia_token_revoke(&rq->ctx, INST(rq), rq->who.token_id))
		return req_error(rq);
	snprintf(rq->cookie, sizeof(rq->cookie),
		 "biaflows_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	return req_json(rq, 200, json_pack("{s:b}", "logged_out", 1));
}

static int h_problems(struct req *rq)
{
	struct bia_page page;
	if (req_page(rq, &page))
		return rq->status;
	struct bia_viewer v = bia_principal_viewer(&rq->who);
	json_t *rows;
	int64_t total;
	if (bia_problems_list_json(&rq->ctx, INST(rq), &v, page, &rows, &total))
		return req_error(rq);
	return req_list(rq, rows, total, page);
}

static int h_problem_add(struct req *rq)
{
	const char *name = jstr(rq, "name"), *cls = jstr(rq, "class"), *desc = jstr(rq, "description");
	if (!name || !cls)
		return req_fail(rq, BIA_EINVAL, "a problem needs \"name\" and \"class\"");
	struct bia_problem p;
	memset(&p, 0, sizeof(p));
	p.cls = bia_class_parse(cls);
	if (p.cls == BIA_CLASS_NONE)
		return req_fail(rq, BIA_EINVAL, "unknown problem class '%s' (expected one of %s)", cls,
				bia_class_list());
	if (strlen(name) >= sizeof(p.name) - 1)
		return req_fail(rq, BIA_ELIMIT, "problem name is too long");
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.description = (char *)(desc ? desc : "");
	json_t *priv = json_object_get(rq->json, "private");
	if (bia_store_begin(&rq->ctx, INST(rq)))
		return req_error(rq);
	if (bia_problem_add(&rq->ctx, INST(rq), &p) ||
	    (rq->who.user_id &&
	     bia_problem_member_set(&rq->ctx, INST(rq), p.id, rq->who.user_id, 1)) ||
	    (json_is_true(priv) && bia_problem_set_private(&rq->ctx, INST(rq), p.id, 1)) ||
	    bia_store_commit(&rq->ctx, INST(rq))) {
		bia_store_rollback(INST(rq));
		return req_error(rq);
	}
	struct bia_problem q;
	if (bia_problem_get_id(&rq->ctx, INST(rq), p.id, &q))
		return req_error(rq);
	json_t *j = bia_problem_json(&q);
	bia_problem_release(&q);
	return req_json(rq, 201, j);
}

static int h_problem(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_READ, &p))
		return rq->status;
	json_t *j = bia_problem_show_json(&p);
	bia_problem_release(&p);
	return req_json(rq, 200, j);
}

/* Settings: {"main_metric": M|"default", "private": bool}. */
static int h_problem_patch(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &p))
		return rq->status;
	const char *mm = jstr(rq, "main_metric");
	json_t *priv = json_object_get(rq->json, "private");
	int rc = 0;
	if (priv && !json_is_boolean(priv))
		rc = bia_fail(&rq->ctx, BIA_EINVAL, "\"private\" is true or false");
	if (!rc && mm)
		rc = bia_problem_choose_main_metric(&rq->ctx, INST(rq), &p, mm);
	if (!rc && priv)
		rc = bia_problem_set_private(&rq->ctx, INST(rq), p.id, json_is_true(priv));
	bia_problem_release(&p);
	if (rc)
		return req_error(rq);
	if (bia_problem_get(&rq->ctx, INST(rq), rq->params[0], &p))
		return req_error(rq);
	json_t *j = bia_problem_show_json(&p);
	bia_problem_release(&p);
	return req_json(rq, 200, j);
}

static int h_problem_rm(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &p))
		return rq->status;
	const char *force = req_query(rq, "force");
	if (p.n_images && !(force && !strcmp(force, "true"))) {
		bia_problem_release(&p);
		return req_fail(rq, BIA_EBUSY, "problem '%s' has %lld images; use ?force=true",
				p.name, (long long)p.n_images);
	}
	size_t removed = 0;
	int rc = bia_problem_rm(&rq->ctx, INST(rq), p.id, &removed);
	json_t *j = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)p.id, "name", p.name, "images",
			      (json_int_t)p.n_images);
	bia_problem_release(&p);
	if (rc) {
		json_decref(j);
		return req_error(rq);
	}
	return req_json(rq, 200, j);
}

static int h_member(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &p))
		return rq->status;
	struct bia_user u;
	int64_t pid = p.id;
	bia_problem_release(&p);
	if (bia_user_get(&rq->ctx, INST(rq), rq->params[1], &u))
		return req_error(rq);
	bia_user_release(&u);
	int add = !strcmp(rq->method, "PUT");
	if (bia_problem_member_set(&rq->ctx, INST(rq), pid, u.id, add))
		return req_error(rq);
	return req_json(rq, 200, json_pack("{s:I, s:s, s:b}", "problem", (json_int_t)pid, "user",
					   u.name, "member", add));
}

static int h_images(struct req *rq)
{
	struct bia_problem p;
	struct bia_page page;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_READ, &p))
		return rq->status;
	int64_t pid = p.id;
	bia_problem_release(&p);
	if (req_page(rq, &page))
		return rq->status;
	json_t *rows;
	int64_t total;
	if (bia_images_list_json(&rq->ctx, INST(rq), pid, page, &rows, &total))
		return req_error(rq);
	return req_list(rq, rows, total, page);
}

/* An upload named ?name=FILE: the body moved to a private folder under its
 * name (a plain file name: no '/', no "..", not hidden). */
static int upload_as(struct req *rq, char *dir, size_t dirsz, char *file, size_t filesz)
{
	const char *name = req_query(rq, "name");
	if (!name || !*name || strchr(name, '/') || strchr(name, '\\') || name[0] == '.' ||
	    strlen(name) > 200)
		return req_fail(rq, BIA_EINVAL,
				"an upload needs ?name=FILE, a plain file name (no '/', not hidden)");
	snprintf(dir, dirsz, "%s.d", rq->body_path);
	if (mkdir(dir, 0700))
		return req_fail(rq, BIA_EIO, "cannot store the upload: %s", strerror(errno));
	snprintf(file, filesz, "%s/%s", dir, name);
	if (rename(rq->body_path, file)) {
		rmdir(dir);
		return req_fail(rq, BIA_EIO, "cannot store the upload: %s", strerror(errno));
	}
	rq->body_path[0] = '\0';
	return 0;
}

static void upload_done(const char *dir, const char *file)
{
	unlink(file);
	rmdir(dir);
}

static int import_reply(struct req *rq, int rc, struct bia_import_result *r, const char *dir)
{
	req_strip_dir(r->problems, dir);
	req_strip_dir(r->invalid, dir);
	req_strip_dir(r->warnings, dir);
	req_strip_dir(r->added, dir);
	req_strip_dir_msg(rq, dir);
	if (rc) {
		json_t *e = bia_error_json(&rq->ctx);
		json_object_set(json_object_get(e, "error"), "problems", r->problems);
		bia_import_result_release(r);
		int st = bia_rc_http_status(rq->ctx.rc);
		if (rq->ctx.rc == BIA_EFORMAT || rq->ctx.rc == BIA_ESHAPE)
			st = 422;
		return req_json(rq, st, e);
	}
	json_t *j = bia_import_result_json(r);
	bia_import_result_release(r);
	return req_json(rq, 201, j);
}

static int h_image_upload(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &p))
		return rq->status;
	char dir[BIA_PATH_MAX + 8], file[BIA_PATH_MAX + 256];
	if (upload_as(rq, dir, sizeof(dir), file, sizeof(file))) {
		bia_problem_release(&p);
		return rq->status;
	}
	struct bia_import_opts io = {0, NULL, 0};
	struct bia_import_result r;
	bia_import_result_init(&r);
	char *files[1] = {file};
	int rc = bia_images_add(&rq->ctx, INST(rq), &p, files, 1, &io, &r);
	upload_done(dir, file);
	bia_problem_release(&p);
	return import_reply(rq, rc, &r, dir);
}

static int h_image(struct req *rq)
{
	struct bia_image_rec im;
	if (get_image(rq, rq->params[0], BIA_ACCESS_READ, &im))
		return rq->status;
	return req_json(rq, 200, bia_image_json(&im));
}

static int h_image_file(struct req *rq)
{
	struct bia_image_rec im;
	char path[BIA_PATH_MAX];
	if (get_image(rq, rq->params[0], BIA_ACCESS_READ, &im))
		return rq->status;
	if (bia_blob_path(INST(rq), im.digest, path, sizeof(path)))
		return req_fail(rq, BIA_EIO, "no stored file for image %lld", (long long)im.id);
	return req_file(rq, path, "application/octet-stream", im.original_name);
}

static int h_image_layers(struct req *rq)
{
	struct bia_image_rec im;
	json_t *rows;
	if (get_image(rq, rq->params[0], BIA_ACCESS_READ, &im))
		return rq->status;
	if (bia_image_layers_json(&rq->ctx, INST(rq), im.id, &rows))
		return req_error(rq);
	return req_json(rq, 200, rows);
}

/* {expires_in?: seconds} */
static int h_image_link(struct req *rq)
{
	struct bia_image_rec im;
	if (get_image(rq, rq->params[0], BIA_ACCESS_READ, &im))
		return rq->status;
	json_t *e = json_object_get(rq->json, "expires_in");
	if (e && !json_is_integer(e))
		return req_fail(rq, BIA_EINVAL, "expires_in is a number of seconds");
	json_t *out;
	if (bia_image_link(&rq->ctx, INST(rq), im.id,
			   e ? (int64_t)json_integer_value(e) : BIA_LINK_TTL_DEFAULT,
			   (int64_t)time(NULL), &out))
		return req_error(rq);
	return req_json(rq, 201, out);
}

static int h_gt(struct req *rq)
{
	struct bia_image_rec im;
	if (get_image(rq, rq->params[0], BIA_ACCESS_READ, &im))
		return rq->status;
	json_t *rows;
	if (bia_gt_versions_json(&rq->ctx, INST(rq), im.id, &rows))
		return req_error(rq);
	return req_json(rq, 200, rows);
}

static int h_gt_upload(struct req *rq)
{
	struct bia_image_rec im;
	if (get_image(rq, rq->params[0], BIA_ACCESS_WRITE, &im))
		return rq->status;
	char dir[BIA_PATH_MAX + 8], file[BIA_PATH_MAX + 256];
	if (upload_as(rq, dir, sizeof(dir), file, sizeof(file)))
		return rq->status;
	const char *nc = req_query(rq, "current");
	struct bia_import_opts io = {0, req_query(rq, "annotator"), nc && !strcmp(nc, "false")};
	struct bia_import_result r;
	bia_import_result_init(&r);
	char *files[1] = {file};
	int rc = bia_gt_add(&rq->ctx, INST(rq), &im, files, 1, &io, &r);
	upload_done(dir, file);
	return import_reply(rq, rc, &r, dir);
}

static int h_workflows(struct req *rq)
{
	struct bia_page page;
	if (req_page(rq, &page))
		return rq->status;
	json_t *rows;
	int64_t total;
	if (bia_workflows_list_json(&rq->ctx, INST(rq), NULL, page, &rows, &total))
		return req_error(rq);
	return req_list(rq, rows, total, page);
}

static int h_workflow(struct req *rq)
{
	struct bia_wf_version v;
	if (bia_workflow_get(&rq->ctx, INST(rq), rq->params[0], &v))
		return req_error(rq);
	json_t *j = bia_workflow_json(&rq->ctx, INST(rq), &v);
	bia_wf_version_release(&v);
	return j ? req_json(rq, 200, j) : req_error(rq);
}

static int h_workflow_versions(struct req *rq)
{
	json_t *rows;
	int64_t total;
	if (bia_workflows_list_json(&rq->ctx, INST(rq), rq->params[0], (struct bia_page){0, 0},
				    &rows, &total))
		return req_error(rq);
	return req_list(rq, rows, total, (struct bia_page){total, 0});
}

static int h_workflow_upload(struct req *rq)
{
	char dir[BIA_PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s.d", rq->body_path);
	struct bia_wf_added a;
	memset(&a, 0, sizeof(a));
	struct bia_wf_add_opts o;
	memset(&o, 0, sizeof(o));
	o.version = req_query(rq, "version");
	char source[160];
	snprintf(source, sizeof(source), "upload:%s", rq->who.name);
	o.source = source;
	int rc = bia_workflow_add_tar(&rq->ctx, INST(rq), rq->body_path, dir, &o, &a);
	if (rc)
		return req_error(rq);
	struct bia_wf_version v;
	if (bia_store_wf_get(&rq->ctx, INST(rq), a.name, a.version, &v))
		return req_error(rq);
	json_t *j = bia_workflow_json(&rq->ctx, INST(rq), &v);
	bia_wf_version_release(&v);
	if (!j)
		return req_error(rq);
	json_object_set_new(j, "existed", json_boolean(a.existed));
	return req_json(rq, a.existed ? 200 : 201, j);
}

static int h_runs(struct req *rq)
{
	struct bia_page page;
	if (req_page(rq, &page))
		return rq->status;
	struct bia_run_filter f = {.viewer = bia_principal_viewer(&rq->who)};
	const char *prob = req_query(rq, "problem"), *status = req_query(rq, "status"),
		   *wf = req_query(rq, "workflow");
	if (prob) {
		struct bia_problem p;
		if (get_problem(rq, prob, BIA_ACCESS_READ, &p))
			return rq->status;
		f.problem_id = p.id;
		bia_problem_release(&p);
	}
	if (status) {
		if (bia_run_state_parse(status) < 0)
			return req_fail(rq, BIA_EINVAL, "unknown status '%s'", status);
		f.status = status;
	}
	if (wf) {
		struct bia_wf_version v;
		if (bia_workflow_get(&rq->ctx, INST(rq), wf, &v))
			return req_error(rq);
		f.workflow_version_id = v.id;
		bia_wf_version_release(&v);
	}
	json_t *rows;
	int64_t total;
	if (bia_runs_list_json(&rq->ctx, INST(rq), &f, page, &rows, &total))
		return req_error(rq);
	return req_list(rq, rows, total, page);
}

/* "limits": {"timeout": "10m"|seconds, "memory": "2G"|bytes, "processes":
 * 1..100000, "open_files": 16..1048576, "output": "1G"|bytes, "cpus",
 * "gpus", "batch_size", "partition"}, checked as `run --timeout ...`
 * checks them (bia_run_override_set). */
static int run_limits(struct bia_ctx *ctx, json_t *lim, struct bia_run_overrides *o)
{
	const char *key;
	json_t *v;
	if (lim && !json_is_object(lim))
		return bia_fail(ctx, BIA_EINVAL, "\"limits\" is an object");
	json_object_foreach(lim, key, v)
	{
		char text[64];
		if (json_is_integer(v))
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v) && json_string_length(v) < sizeof(text))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else
			return bia_fail(ctx, BIA_EINVAL, "limit '%s' is a number or a text", key);
		if (bia_run_override_set(ctx, o, key, text))
			return ctx->rc;
	}
	return 0;
}

/* {"workflow", "problem", "params": {id: value}, "images": [...],
 * "limits": {"timeout", "memory", ...}, "executor": "local"|"slurm"} */
static int h_run_launch(struct req *rq)
{
	const char *wf = jstr(rq, "workflow"), *prob = jstr(rq, "problem");
	if (!wf || !prob)
		return req_fail(rq, BIA_EINVAL, "a run needs \"workflow\" and \"problem\"");
	struct bia_problem p;
	if (get_problem(rq, prob, BIA_ACCESS_WRITE, &p))
		return rq->status;
	bia_problem_release(&p);
	json_t *params = json_object_get(rq->json, "params"),
	       *images = json_object_get(rq->json, "images");
	if ((params && !json_is_object(params)) || (images && !json_is_array(images)))
		return req_fail(rq, BIA_EINVAL, "\"params\" is an object, \"images\" an array");
	size_t np = json_object_size(params), ni = json_array_size(images);
	if (np > 256 || ni > 100000)
		return req_fail(rq, BIA_ELIMIT, "too many parameters or images");
	char **pv = calloc(np + 1, sizeof(char *)), **iv = calloc(ni + 1, sizeof(char *));
	size_t k = 0;
	const char *key;
	json_t *val;
	int rc = 0;
	json_object_foreach(params, key, val)
	{
		char *t = NULL;
		if (json_is_string(val))
			rc = asprintf(&t, "%s=%s", key, json_string_value(val)) < 0;
		else if (json_is_integer(val))
			rc = asprintf(&t, "%s=%lld", key, (long long)json_integer_value(val)) < 0;
		else if (json_is_real(val))
			rc = asprintf(&t, "%s=%.17g", key, json_real_value(val)) < 0;
		else if (json_is_boolean(val))
			rc = asprintf(&t, "%s=%s", key, json_is_true(val) ? "true" : "false") < 0;
		else
			rc = bia_fail(&rq->ctx, BIA_EINVAL, "parameter '%s' is not a string, number or boolean", key);
		if (rc)
			break;
		pv[k++] = t;
	}
	size_t i;
	json_array_foreach(images, i, val)
	{
		if (rc)
			break;
		if (json_is_string(val))
			iv[i] = strdup(json_string_value(val));
		else if (json_is_integer(val) && asprintf(&iv[i], "%lld", (long long)json_integer_value(val)) < 0)
			iv[i] = NULL;
		if (!iv[i])
			rc = bia_fail(&rq->ctx, BIA_EINVAL, "images are stems or ids");
	}
	int64_t id = 0;
	if (!rc) {
		struct bia_run_request r = {.workflow = wf, .problem = prob,
					    .params = (const char *const *)pv, .nparams = k,
					    .images = (const char *const *)iv, .nimages = ni,
					    .executor = jstr(rq, "executor")};
		rc = run_limits(&rq->ctx, json_object_get(rq->json, "limits"), &r.limits);
		if (!rc)
		rc = bia_run_enqueue(&rq->ctx, INST(rq), &r, &id);
	}
	for (size_t j = 0; j < k; j++)
		free(pv[j]);
	for (size_t j = 0; j < ni; j++)
		free(iv[j]);
	free(pv);
	free(iv);
	if (rc)
		return req_error(rq);
	bia_runs_notify(INST(rq));
	sse_wake_all(rq->srv);
	uint64_t one = 1;
	if (rq->srv->worker_wake >= 0 && write(rq->srv->worker_wake, &one, sizeof(one)) < 0) {
		/* the worker also looks at the queue by itself */
	}
	struct bia_run run;
	if (bia_store_run_get(&rq->ctx, INST(rq), id, &run))
		return req_error(rq);
	json_t *j = bia_run_json(&rq->ctx, INST(rq), &run, 1);
	bia_run_release(&run);
	return j ? req_json(rq, 201, j) : req_error(rq);
}

static int h_run(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	json_t *j = bia_run_json(&rq->ctx, INST(rq), &r, 1);
	bia_run_release(&r);
	return j ? req_json(rq, 200, j) : req_error(rq);
}

/* ?sort=METRIC|image|stem|status, order=asc|desc, status=, stem=, limit,
 * offset; CSV with ?format=csv */
static int h_run_metrics(struct req *rq)
{
	struct bia_run r;
	struct bia_metric_table_query q = {.sort = req_query(rq, "sort"),
					   .status = req_query(rq, "status"),
					   .stem = req_query(rq, "stem")};
	const char *order = req_query(rq, "order");
	if (order && strcmp(order, "asc") && strcmp(order, "desc"))
		return req_fail(rq, BIA_EINVAL, "order is asc or desc");
	q.descending = order && !strcmp(order, "desc");
	if (req_page(rq, &q.page))
		return rq->status;
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	json_t *rows;
	int64_t total;
	int rc = bia_run_metric_table_json(&rq->ctx, INST(rq), &r, &q, &rows, &total);
	bia_run_release(&r);
	return rc ? req_error(rq) : req_list(rq, rows, total, q.page);
}

static int h_run_cancel(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_WRITE, &r))
		return rq->status;
	int64_t id = r.id;
	bia_run_release(&r);
	char st[16];
	if (bia_run_cancel(&rq->ctx, INST(rq), id, st))
		return req_error(rq);
	if (strcmp(st, "dequeued") && strcmp(st, "requested"))
		return req_fail(rq, BIA_EEXIST, "run %lld already %s", (long long)id, st);
	if (bia_store_run_get(&rq->ctx, INST(rq), id, &r))
		return req_error(rq);
	json_t *j = bia_run_json(&rq->ctx, INST(rq), &r, 0);
	bia_run_release(&r);
	if (j)
		json_object_set_new(j, "cancel", json_string(st));
	return j ? req_json(rq, 202, j) : req_error(rq);
}

static int h_run_log(struct req *rq)
{
	struct bia_run r;
	char path[BIA_PATH_MAX];
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	bia_run_release(&r);
	if (bia_run_log_path(INST(rq), r.id, path, sizeof(path)))
		return req_fail(rq, BIA_EIO, "no log path");
	if (access(path, R_OK)) {
		rq->text = strdup("");
		rq->text_len = 0;
		rq->text_type = "text/plain; charset=utf-8";
		rq->status = 200;
		return 200;
	}
	return req_file(rq, path, "text/plain; charset=utf-8", NULL);
}

static int h_run_events(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	bia_run_release(&r);
	return sse_run_stream(rq, r.id);
}

static int h_events(struct req *rq)
{
	return sse_instance_stream(rq);
}

static int h_run_output(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	int64_t id = r.id;
	bia_run_release(&r);
	struct bia_run_image *v;
	size_t n;
	if (bia_store_run_images(&rq->ctx, INST(rq), id, &v, &n))
		return req_error(rq);
	const char *stem = rq->params[1];
	int found = 0;
	char path[BIA_PATH_MAX], name[300];
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(v[i].stem, stem))
			continue;
		const char *want = req_query(rq, "file");
		for (size_t k = 0; k < v[i].nfiles; k++) {
			if (want ? strcmp(v[i].files[k].name, want) : k != 0)
				continue;
			if (!bia_blob_path(INST(rq), v[i].files[k].digest, path, sizeof(path))) {
				snprintf(name, sizeof(name), "%s", v[i].files[k].name);
				found = 1;
			}
			break;
		}
		if (!found)
			found = -1;
	}
	bia_run_images_free(v, n);
	if (found <= 0)
		return req_fail(rq, BIA_ENOENT, "run %lld has no output for '%s'", (long long)id,
				stem);
	return req_file(rq, path, "application/octet-stream", name);
}

static int h_run_errors(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_READ, &r))
		return rq->status;
	int64_t id = r.id;
	bia_run_release(&r);
	const char *image = req_query(rq, "image"), *cat = req_query(rq, "category");
	json_t *rows;
	int rc = image ? bia_errors_image_json(&rq->ctx, INST(rq), id, image, &rows)
		       : bia_errors_counts_json(&rq->ctx, INST(rq), id, 0, cat, 0, &rows);
	return rc ? req_error(rq) : req_json(rq, 200, rows);
}

static int h_run_rerun(struct req *rq)
{
	struct bia_run r;
	if (get_run(rq, rq->params[0], BIA_ACCESS_WRITE, &r))
		return rq->status;
	int64_t id = r.id, nid = 0;
	bia_run_release(&r);
	json_t *tol = json_object_get(rq->json, "tolerance");
	double t = json_is_number(tol) ? json_number_value(tol) : 1e-9;
	if (bia_rerun_enqueue(&rq->ctx, INST(rq), id, t, NULL, &nid))
		return req_error(rq);
	bia_runs_notify(INST(rq));
	uint64_t one = 1;
	if (rq->srv->worker_wake >= 0 && write(rq->srv->worker_wake, &one, sizeof(one)) < 0) {
		/* the worker also looks at the queue by itself */
	}
	if (bia_store_run_get(&rq->ctx, INST(rq), nid, &r))
		return req_error(rq);
	json_t *j = bia_run_json(&rq->ctx, INST(rq), &r, 0);
	bia_run_release(&r);
	return j ? req_json(rq, 201, j) : req_error(rq);
}

static int query_u64(struct req *rq, const char *key, uint64_t dflt, uint64_t max, uint64_t *out)
{
	const char *s = req_query(rq, key);
	*out = dflt;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-')
		return req_fail(rq, BIA_EINVAL, "%s must be a whole number up to %llu", key,
				(unsigned long long)max);
	*out = v;
	return 0;
}

/* The leaderboard of what has run (nothing is queued from here). */
static int h_leaderboard(struct req *rq)
{
	struct bia_problem p;
	if (get_problem(rq, rq->params[0], BIA_ACCESS_READ, &p))
		return rq->status;
	bia_problem_release(&p);
	uint64_t seed, resamples;
	if (query_u64(rq, "seed", 1, UINT64_MAX, &seed) ||
	    query_u64(rq, "resamples", 2000, 100000, &resamples))
		return rq->status;
	struct bia_bench_request b = {.problem = rq->params[0], .metric = req_query(rq, "metric"),
				      .seed = seed, .resamples = (unsigned)resamples, .no_run = 1};
	json_t *j;
	if (bia_bench_json(&rq->ctx, INST(rq), &b, NULL, &j))
		return req_error(rq);
	return req_json(rq, 200, j);
}

static int h_compare(struct req *rq)
{
	int64_t a = parse_pos_id(req_query(rq, "a")), b = parse_pos_id(req_query(rq, "b"));
	if (!a || !b)
		return req_fail(rq, BIA_EINVAL, "compare needs ?a=RUN&b=RUN");
	struct bia_run r;
	char ta[24], tb[24];
	snprintf(ta, sizeof(ta), "%lld", (long long)a);
	snprintf(tb, sizeof(tb), "%lld", (long long)b);
	if (get_run(rq, ta, BIA_ACCESS_READ, &r))
		return rq->status;
	bia_run_release(&r);
	if (get_run(rq, tb, BIA_ACCESS_READ, &r))
		return rq->status;
	bia_run_release(&r);
	struct bia_compare_request c = {.run_a = a, .run_b = b, .metric = req_query(rq, "metric")};
	json_t *j;
	if (bia_compare_runs_json(&rq->ctx, INST(rq), &c, NULL, &j))
		return req_error(rq);
	return req_json(rq, 200, j);
}

static int h_users(struct req *rq)
{
	struct bia_page page;
	if (req_page(rq, &page))
		return rq->status;
	struct bia_user *v;
	size_t n;
	int64_t total;
	if (bia_user_list(&rq->ctx, INST(rq), page, &v, &n, &total))
		return req_error(rq);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, bia_user_json(&v[i]));
	bia_user_list_free(v, n);
	return req_list(rq, rows, total, page);
}

static int h_user_add(struct req *rq)
{
	const char *name = jstr(rq, "name"), *role = jstr(rq, "role"), *pw = jstr(rq, "password");
	if (!name || !role || !pw)
		return req_fail(rq, BIA_EINVAL, "a user needs \"name\", \"role\" and \"password\"");
	struct bia_user u;
	memset(&u, 0, sizeof(u));
	if (strlen(name) > BIA_USER_NAME_MAX)
		return req_fail(rq, BIA_EINVAL, "a user name has 1 to %d characters",
				BIA_USER_NAME_MAX);
	snprintf(u.name, sizeof(u.name), "%s", name);
	u.role = bia_role_parse(role);
	char hash[BIA_PWHASH_MAX];
	if (bia_password_hash(&rq->ctx, pw, hash) || bia_user_add(&rq->ctx, INST(rq), &u, hash))
		return req_error(rq);
	return req_json(rq, 201, bia_user_json(&u));
}

static int h_user_rm(struct req *rq)
{
	struct bia_user u;
	if (bia_user_get(&rq->ctx, INST(rq), rq->params[0], &u))
		return req_error(rq);
	bia_user_release(&u);
	if (bia_user_rm(&rq->ctx, INST(rq), u.id))
		return req_error(rq);
	return req_json(rq, 200, bia_user_json(&u));
}

static int h_tokens(struct req *rq)
{
	if (!rq->who.user_id)
		return req_fail(rq, BIA_EAUTH, "log in or send a token to list your tokens");
	struct bia_token *v;
	size_t n;
	int64_t uid = rq->who.role == BIA_ROLE_ADMIN ? 0 : rq->who.user_id;
	if (bia_token_list(&rq->ctx, INST(rq), uid, "api", &v, &n))
		return req_error(rq);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, bia_token_json(&v[i]));
	free(v);
	return req_list(rq, rows, (int64_t)n, (struct bia_page){(int64_t)n, 0});
}

static int h_token_create(struct req *rq)
{
	const char *user = jstr(rq, "user");
	if (user && strcmp(user, rq->who.name) && rq->who.role != BIA_ROLE_ADMIN)
		return req_fail(rq, BIA_EPERM, "only an admin creates tokens for other users");
	json_t *j;
	if (bia_token_create(&rq->ctx, INST(rq), user ? user : rq->who.name, jstr(rq, "name"), &j))
		return req_error(rq);
	return req_json(rq, 201, j);
}

static int h_token_revoke(struct req *rq)
{
	int64_t id = parse_pos_id(rq->params[0]);
	struct bia_token *v;
	size_t n;
	int64_t uid = rq->who.role == BIA_ROLE_ADMIN ? 0 : rq->who.user_id;
	if (bia_token_list(&rq->ctx, INST(rq), uid, NULL, &v, &n))
		return req_error(rq);
	int mine = 0;
	for (size_t i = 0; i < n; i++)
		mine |= v[i].id == id;
	free(v);
	if (!mine)
		return req_fail(rq, BIA_ENOENT, "no token with id %s", rq->params[0]);
	if (bia_token_revoke(&rq->ctx, INST(rq), id))
		return req_error(rq);
	return req_json(rq, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* ------------------------------------------------ trusted workflow sources */

static int h_sources(struct req *rq)
{
	json_t *rows;
	if (bia_sources_list_json(&rq->ctx, INST(rq), &rows))
		return req_error(rq);
	int64_t n = (int64_t)json_array_size(rows);
	return req_list(rq, rows, n, (struct bia_page){n, 0});
}

static int h_source_add(struct req *rq)
{
	const char *url = jstr(rq, "url");
	json_t *iv = json_object_get(rq->json, "interval");
	if (!url)
		return req_fail(rq, BIA_EINVAL,
				"a source needs \"url\" (a path on the server, file://, http:// or "
				"https://)");
	if (iv && !json_is_integer(iv))
		return req_fail(rq, BIA_EINVAL, "\"interval\" is a whole number of seconds");
	struct bia_source_add_opts o = {.name = jstr(rq, "name"),
					.interval = iv ? json_integer_value(iv) : 0};
	if (iv && !o.interval) /* 0 is not "the default" here: out of range */
		o.interval = -1;
	json_t *j;
	if (bia_source_add(&rq->ctx, INST(rq), url, &o, &j))
		return req_error(rq);
	return req_json(rq, 201, j);
}

static int h_source(struct req *rq)
{
	json_t *j;
	if (bia_source_json(&rq->ctx, INST(rq), rq->params[0], &j))
		return req_error(rq);
	return req_json(rq, 200, j);
}

static int h_source_rm(struct req *rq)
{
	json_t *j;
	if (bia_source_rm(&rq->ctx, INST(rq), rq->params[0], &j))
		return req_error(rq);
	return req_json(rq, 200, j);
}

/* A sync fetches a repository: slow work, on an operation thread. */
static int source_sync_op(struct bia_server *srv, json_t *rqj, void *oprun,
			  struct bia_ctx *ctx, json_t **pout)
{
	bia__op_progress(oprun, 0, 1, "fetching");
	int rc = bia_source_sync(ctx, srv->inst, bia_json_str(rqj, "source", ""), pout);
	bia__op_progress(oprun, 1, 1, rc ? "failed" : "synced");
	return rc;
}

static int h_source_sync(struct req *rq)
{
	json_t *j;
	/* an unknown source is refused now, not by the operation */
	if (bia_source_json(&rq->ctx, INST(rq), rq->params[0], &j))
		return req_error(rq);
	json_decref(j);
	return ops_submit(rq, "source-sync", 0, json_pack("{s:s}", "source", rq->params[0]),
			  source_sync_op);
}

int h_sweep(struct req *rq);
int h_benchmark(struct req *rq);
int h_dataset_import(struct req *rq);
int h_operation(struct req *rq);
int h_operations(struct req *rq);
int h_metrics(struct req *rq);
int h_image_pyramid(struct req *rq);
int h_export(struct req *rq);
int h_export_file(struct req *rq);
int h_import(struct req *rq);
int h_snapshot(struct req *rq);
int h_snapshot_manifest(struct req *rq);
int h_snapshot_record(struct req *rq);
int h_snapshot_blob(struct req *rq);
int h_snapshot_log(struct req *rq);

/* --------------------------------------------------------------- table */

#define R_ BIA_ROLE_NONE
#define RV BIA_ROLE_VIEWER
#define RC BIA_ROLE_CONTRIBUTOR
#define RA BIA_ROLE_ADMIN

const struct route bia__routes[] = {
	{"GET", "/openapi.json", h_openapi, R_, BODY_NONE, "meta", "This document (OpenAPI 3.1)", NULL},
	{"GET", "/session", h_session_get, R_, BODY_NONE, "auth", "Who is calling", NULL},
	{"POST", "/session", h_session_post, R_, BODY_JSON, "auth",
	 "Log in: {name, password}; sets the session cookie, returns the CSRF token", NULL},
	{"DELETE", "/session", h_session_delete, RV, BODY_NONE, "auth", "Log out", NULL},
	{"GET", "/problems", h_problems, RV, BODY_NONE, "problems", "Problems (paged)",
	 "problem list"},
	{"POST", "/problems", h_problem_add, RC, BODY_JSON, "problems",
	 "Create a problem: {name, class, description?, private?}", "problem add"},
	{"GET", "/problems/{problem}", h_problem, RV, BODY_NONE, "problems",
	 "A problem by name or id", "problem show"},
	{"PATCH", "/problems/{problem}", h_problem_patch, RC, BODY_JSON, "problems",
	 "Settings: {main_metric?, private?}", "problem set"},
	{"DELETE", "/problems/{problem}", h_problem_rm, RC, BODY_NONE, "problems",
	 "Remove a problem (?force=true with its images)", "problem rm"},
	{"PUT", "/problems/{problem}/members/{user}", h_member, RC, BODY_NONE, "problems",
	 "Make a user a member of a problem", NULL},
	{"DELETE", "/problems/{problem}/members/{user}", h_member, RC, BODY_NONE, "problems",
	 "Remove a member", NULL},
	{"GET", "/problems/{problem}/images", h_images, RV, BODY_NONE, "images",
	 "Images of a problem (paged)", "image list"},
	{"POST", "/problems/{problem}/images", h_image_upload, RC, BODY_FILE, "images",
	 "Upload an image (?name=FILE, the body is the file)", "image add"},
	{"GET", "/problems/{problem}/leaderboard", h_leaderboard, RV, BODY_NONE, "benchmarks",
	 "Leaderboard of the runs (?metric, seed, resamples)", "bench --no-run"},
	{"POST", "/problems/{problem}/dataset", h_dataset_import, RC, BODY_FILE, "images",
	 "Import a dataset: a tar(.gz) of images/ and groundtruth/ (an operation)",
	 "dataset import"},
	{"POST", "/problems/{problem}/sweeps", h_sweep, RC, BODY_JSON, "benchmarks",
	 "Sweep: {workflow, params: {NAME: \"A:B:STEP\"|\"V1,V2\"}, metric?, images?, seed?, "
	 "resamples?} (an operation)",
	 "sweep"},
	{"POST", "/problems/{problem}/benchmark", h_benchmark, RC, BODY_JSON, "benchmarks",
	 "Run what is missing, then rank: {workflows?, metric?, images?, seed?, resamples?} (an "
	 "operation)",
	 "bench"},
	{"POST", "/exports", h_export, RA, BODY_JSON, "exchange",
	 "Export a bundle: {problems?, runs?, workflows?, environments?, compression?: "
	 "zst|gz|none} (an operation; its result names the download)",
	 "export"},
	{"GET", "/exports/{export}", h_export_file, RA, BODY_NONE, "exchange",
	 "Download a bundle an export wrote (Range: bytes=N- resumes)", NULL},
	{"POST", "/imports", h_import, RA, BODY_FILE, "exchange",
	 "Import a bundle: the body is its tar (plain, gzip or zstd) (an operation)", "import"},
	{"POST", "/exchange/snapshots", h_snapshot, RV, BODY_JSON, "exchange",
	 "A snapshot to pull: {problems?, runs?, workflows?, environments?} (an operation; "
	 "non-admins name problems they may read)",
	 "pull (the other side)"},
	{"GET", "/exchange/snapshots/{snapshot}/manifest", h_snapshot_manifest, RV, BODY_NONE,
	 "exchange", "A snapshot's manifest", NULL},
	{"GET", "/exchange/snapshots/{snapshot}/records/{record}", h_snapshot_record, RV,
	 BODY_NONE, "exchange", "A snapshot's record file (JSON lines)", NULL},
	{"GET", "/exchange/snapshots/{snapshot}/blobs/{digest}", h_snapshot_blob, RV, BODY_NONE,
	 "exchange", "A file of a snapshot by its sha256 (Range: bytes=N- resumes)", NULL},
	{"GET", "/exchange/snapshots/{snapshot}/logs/{digest}", h_snapshot_log, RV, BODY_NONE,
	 "exchange", "A run log of a snapshot by its sha256", NULL},
	{"GET", "/operations", h_operations, RV, BODY_NONE, "operations",
	 "Your operations (an admin's: all)", NULL},
	{"GET", "/operations/{operation}", h_operation, RV, BODY_NONE, "operations",
	 "An operation: state, progress, and its result once done", NULL},
	{"POST", "/metrics", h_metrics, RV, BODY_FORM, "metrics",
	 "Score a prediction file against a GT file (multipart form: class, prediction, "
	 "ground_truth, params?, objects?)",
	 "metrics CLASS PRED GT"},
	{"GET", "/images/{image}", h_image, RV, BODY_NONE, "images", "An image", "image show"},
	{"GET", "/images/{image}/file", h_image_file, RV, BODY_NONE, "images",
	 "Download the original file", "image get"},
	{"GET", "/images/{image}/layers", h_image_layers, RV, BODY_NONE, "images",
	 "Layers: the image, its GT masks and run outputs, with their OME-Zarr paths",
	 "image layers"},
	{"GET", "/images/{image}/overlays/{layer}", img_overlay_route, RV, BODY_NONE, "images",
	 "Points, tracks or traces of a layer (gt, gt-V, run-R) with error categories "
	 "(?z, t, bbox=x0,y0,x1,y1, limit, run)",
	 "image overlay"},
	{"POST", "/images/{image}/links", h_image_link, RV, BODY_JSON, "images",
	 "A signed, expiring OME-Zarr link: {expires_in?: seconds}", "image link"},
	{"POST", "/images/{image}/pyramid", h_image_pyramid, RC, BODY_JSON, "images",
	 "Build the image's missing pyramids, or all again with {rebuild: true} (an operation)",
	 "image pyramid"},
	{"GET", "/images/{image}/gt", h_gt, RV, BODY_NONE, "images", "Ground-truth versions",
	 "gt list"},
	{"POST", "/images/{image}/gt", h_gt_upload, RC, BODY_FILE, "images",
	 "Add a GT version (?name=FILE, annotator, current)", "gt add"},
	{"GET", "/workflows", h_workflows, RV, BODY_NONE, "workflows",
	 "Versions of every workflow (paged)", "workflow list"},
	{"POST", "/workflows", h_workflow_upload, RA, BODY_FILE, "workflows",
	 "Add a version from a tar archive of its folder (?version=)", "workflow add"},
	{"GET", "/workflows/{workflow}", h_workflow, RV, BODY_NONE, "workflows",
	 "A workflow (NAME or NAME@VERSION) with its descriptor", "workflow show"},
	{"GET", "/workflows/{workflow}/versions", h_workflow_versions, RV, BODY_NONE, "workflows",
	 "Every version of a workflow", NULL},
	{"GET", "/sources", h_sources, RV, BODY_NONE, "workflows",
	 "Trusted workflow sources (git repositories) with their last sync", "source list"},
	{"POST", "/sources", h_source_add, RA, BODY_JSON, "workflows",
	 "Register a source: {url, name?, interval?}; the repository must answer", "source add"},
	{"GET", "/sources/{source}", h_source, RV, BODY_NONE, "workflows",
	 "A source (id or name) and what became of each of its tags", "source show"},
	{"DELETE", "/sources/{source}", h_source_rm, RA, BODY_NONE, "workflows",
	 "Forget a source (its versions stay)", "source rm"},
	{"POST", "/sources/{source}/sync", h_source_sync, RA, BODY_NONE, "workflows",
	 "Sync a source now: fetch its tags, add the new ones as versions (an operation)",
	 "source sync"},
	{"GET", "/runs", h_runs, RV, BODY_NONE, "runs",
	 "Runs (paged; ?problem, status, workflow)", "runs"},
	{"POST", "/runs", h_run_launch, RC, BODY_JSON, "runs",
	 "Launch: {workflow, problem, params?, images?, limits?}", "run"},
	{"GET", "/runs/{run}", h_run, RV, BODY_NONE, "runs", "A run with its scores", "run show"},
	{"GET", "/runs/{run}/metrics", h_run_metrics, RV, BODY_NONE, "runs",
	 "The run's metric table: a row per image (?sort=METRIC, order=asc|desc, status, stem; "
	 "paged; CSV)",
	 NULL},
	{"POST", "/runs/{run}/cancel", h_run_cancel, RC, BODY_NONE, "runs", "Cancel a run",
	 "cancel"},
	{"GET", "/runs/{run}/log", h_run_log, RV, BODY_NONE, "runs", "The run's log (text)",
	 "logs"},
	{"GET", "/runs/{run}/events", h_run_events, RV, BODY_NONE, "events",
	 "Server-Sent Events: state changes and log lines (Last-Event-ID resumes)", "logs -f"},
	{"GET", "/runs/{run}/outputs/{stem}", h_run_output, RV, BODY_NONE, "runs",
	 "An output file of the run (?file=NAME)", "run outputs"},
	{"GET", "/runs/{run}/errors", h_run_errors, RV, BODY_NONE, "runs",
	 "Error counts per image (?category), or one image's objects (?image)", "errors"},
	{"POST", "/runs/{run}/rerun", h_run_rerun, RC, BODY_JSON, "runs",
	 "Queue a rerun: {tolerance?}", "rerun"},
	{"GET", "/compare", h_compare, RV, BODY_NONE, "benchmarks",
	 "Paired comparison of runs ?a and ?b (?metric)", "compare"},
	{"GET", "/events", h_events, RV, BODY_NONE, "events",
	 "Server-Sent Events of the instance: state changes of runs, progress of operations", NULL},
	{"GET", "/users", h_users, RA, BODY_NONE, "users", "Users (paged)", "user list"},
	{"POST", "/users", h_user_add, RA, BODY_JSON, "users", "Add a user: {name, role, password}",
	 "user add"},
	{"DELETE", "/users/{user}", h_user_rm, RA, BODY_NONE, "users", "Remove a user", "user rm"},
	{"GET", "/tokens", h_tokens, RV, BODY_NONE, "users", "API tokens (yours; an admin's: all)",
	 "token list"},
	{"POST", "/tokens", h_token_create, RV, BODY_JSON, "users",
	 "Create an API token: {name?, user?}; shown once", "token create"},
	{"DELETE", "/tokens/{token}", h_token_revoke, RV, BODY_NONE, "users", "Revoke a token",
	 "token revoke"},
};
const size_t bia__nroutes = sizeof(bia__routes) / sizeof(bia__routes[0]);

int route_cacheable(size_t i)
{
	static const route_fn fns[] = {h_openapi, h_problems, h_problem, h_images, h_image, h_gt,
				       h_workflows, h_workflow, h_workflow_versions, h_runs, h_run,
				       h_run_metrics, h_run_errors, h_leaderboard, h_compare,
				       img_overlay_route};
	for (size_t k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
		if (i < bia__nroutes && bia__routes[i].fn == fns[k])
			return 1;
	return 0;
}

/* ------------------------------------------------------------- OpenAPI */

json_t *bia_api_openapi(void)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < bia__nroutes; i++) {
		const struct route *r = &bia__routes[i];
		char full[300];
		snprintf(full, sizeof(full), "%s%s", API_PREFIX, r->pattern);
		json_t *item = json_object_get(paths, full);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, full, item);
		}
		json_t *params = json_array();
		for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
			const char *e = strchr(p, '}');
			json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name",
								p + 1, (size_t)(e - p - 1), "in",
								"path", "required", 1, "schema",
								"type", "string"));
		}
		char method[16];
		size_t k;
		for (k = 0; r->method[k] && k < sizeof(method) - 1; k++)
			method[k] = (char)(r->method[k] | 0x20);
		method[k] = '\0';
		json_t *op = json_pack("{s:s, s:[s], s:o, s:s}", "summary", r->summary, "tags", r->tag,
				       "parameters", params, "operationId", full);
		char opid[320];
		snprintf(opid, sizeof(opid), "%s %s", r->method, r->pattern);
		json_object_set_new(op, "operationId", json_string(opid));
		json_object_set_new(op, "x-role", json_string(r->need == BIA_ROLE_NONE
								      ? "anyone"
								      : bia_role_name(r->need)));
		if (r->cli)
			json_object_set_new(op, "x-cli", json_string(r->cli));
		if (r->body == BODY_JSON)
			json_object_set_new(
				op, "requestBody",
				json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json", "schema",
					  "type", "object"));
		else if (r->body == BODY_FORM)
			json_object_set_new(
				op, "requestBody",
				json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
					  "multipart/form-data", "schema", "type", "object"));
		else if (r->body == BODY_FILE)
			json_object_set_new(
				op, "requestBody",
				json_pack("{s:b, s:{s:{s:{s:s, s:s}}}}", "required", 1, "content",
					  "application/octet-stream", "schema", "type", "string",
					  "format", "binary"));
		json_object_set_new(
			op, "responses",
			json_pack("{s:{s:s}, s:{s:s}}", "2XX", "description",
				  "success (200; 201 created; 202 accepted: an operation or a cancel)",
				  "default",
				  "description",
				  "{\"error\": {\"code\", \"message\", \"status\"}}"));
		json_object_set_new(item, method, op);
	}
	return json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}}}, "
		"s:[{s:[]}, {s:[]}]}",
		"openapi", "3.1.0", "info", "title", "BIAFLOWS in C", "version", "1",
		"description", "The REST API of biaflows serve (docs/api.md)", "servers", "url", "/",
		"paths", paths, "components", "securitySchemes", "bearer", "type", "http",
		"scheme", "bearer", "session", "type", "apiKey", "in", "cookie", "name",
		"biaflows_session", "security", "bearer", "session");
}
