/* Routes of long work (sweeps, benchmarks that run what is missing,
 * dataset imports: operations, ops.c) and of standalone scoring (POST
 * /metrics, a form with a prediction and a GT file).
 * SPDX-License-Identifier: MIT */
#include "bench/bench.h"
#include "dataset/dataset.h"
#include "metrics/metrics.h"
#include "runs/runs.h"
#include "dataset/derived.h"
#include "server/server_priv.h"
#include "workflow/workflow.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LIST 1000

static int access_problem(struct req *rq, const char *ref, enum bia_access want, int64_t *pid)
{
	struct bia_problem p;
	struct bia_ctx tmp;
	bia_instance_ctx(req_inst(rq), &tmp);
	if (bia_problem_get(&tmp, req_inst(rq), ref, &p) ||
	    bia_access_problem(&tmp, req_inst(rq), &rq->who, p.id, want)) {
		if (tmp.rc == BIA_ENOENT)
			return req_fail(rq, BIA_ENOENT, "no problem '%s'", ref);
		return req_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	*pid = p.id;
	bia_problem_release(&p);
	return 0;
}

/* The strings of a JSON array member (NULL if absent); BIA_EINVAL else. */
static int str_list(struct bia_ctx *ctx, json_t *obj, const char *key, const char ***pv,
		    size_t *pn)
{
	json_t *a = json_object_get(obj, key), *v;
	*pv = NULL;
	*pn = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_LIST)
		return bia_fail(ctx, BIA_EINVAL, "\"%s\" is an array of at most %d strings", key,
				MAX_LIST);
	const char **out = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!out)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	size_t i;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v)) {
			free(out);
			return bia_fail(ctx, BIA_EINVAL, "\"%s\" is an array of strings", key);
		}
		out[i] = json_string_value(v);
	}
	*pv = out;
	*pn = json_array_size(a);
	return 0;
}

static int num_member(struct bia_ctx *ctx, json_t *obj, const char *key, uint64_t dflt,
		      uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bia_fail(ctx, BIA_EINVAL, "\"%s\" is a whole number up to %llu", key,
				(unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* ----------------------------------------------------------- sweeps */

static int sweep_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		    json_t **pout)
{
	json_t *params = json_object_get(rqj, "params");
	const char *specs[BIA_SWEEP_MAX_PARAMS];
	char *owned[BIA_SWEEP_MAX_PARAMS];
	size_t n = 0;
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v)
	{
		if (n == BIA_SWEEP_MAX_PARAMS)
			break;
		if (asprintf(&owned[n], "%s=%s", key, json_string_value(v)) < 0)
			break;
		specs[n] = owned[n];
		n++;
	}
	const char **images;
	size_t nimages;
	uint64_t seed, resamples;
	int rc = str_list(ctx, rqj, "images", &images, &nimages) ||
		 num_member(ctx, rqj, "seed", 1, UINT64_MAX, &seed) ||
		 num_member(ctx, rqj, "resamples", 2000, 100000, &resamples);
	if (!rc) {
		struct bia_sweep_request r = {
			.workflow = json_string_value(json_object_get(rqj, "workflow")),
			.problem = json_string_value(json_object_get(rqj, "problem")),
			.params = specs, .nparams = n,
			.metric = json_string_value(json_object_get(rqj, "metric")),
			.images = images, .nimages = nimages, .seed = seed,
			.resamples = (unsigned)resamples};
		struct bia_bench_hooks h;
		bia__op_hooks(oprun, &h);
		rc = bia_sweep_json(ctx, srv->inst, &r, &h, pout);
		free(images);
	}
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	return rc ? ctx->rc : 0;
}

/* {"workflow", "params": {NAME: "A:B:STEP" | "V1,V2" | "V"}, "metric"?,
 * "images"?, "seed"?, "resamples"?} */
int h_sweep(struct req *rq)
{
	int64_t pid;
	if (access_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &pid))
		return rq->status;
	json_t *params = json_object_get(rq->json, "params");
	if (!json_is_string(json_object_get(rq->json, "workflow")) || !json_is_object(params) ||
	    !json_object_size(params) || json_object_size(params) > BIA_SWEEP_MAX_PARAMS)
		return req_fail(rq, BIA_EINVAL,
				"a sweep needs \"workflow\" and \"params\" {NAME: \"A:B:STEP\" or "
				"\"V1,V2,...\"}");
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v)
	{
		struct bia_sweep_param sp;
		char *spec = NULL;
		if (!json_is_string(v) || asprintf(&spec, "%s=%s", key, json_string_value(v)) < 0)
			return req_fail(rq, BIA_EINVAL, "the values of parameter '%s' are a string",
					key);
		int bad = bia_sweep_param_parse(spec, &sp);
		free(spec);
		if (bad)
			return req_fail(rq, BIA_EINVAL, "bad values for parameter '%s': '%s'", key,
					json_string_value(v));
		bia_sweep_param_release(&sp);
	}
	json_t *r = json_deep_copy(rq->json);
	json_object_set_new(r, "problem", json_string(rq->params[0]));
	return ops_submit(rq, "sweep", pid, r, sweep_op);
}

/* ------------------------------------------------------- benchmarks */

static int bench_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		    json_t **pout)
{
	const char **wfs, **images;
	size_t nwfs, nimages;
	uint64_t seed, resamples;
	if (str_list(ctx, rqj, "workflows", &wfs, &nwfs))
		return ctx->rc;
	int rc = str_list(ctx, rqj, "images", &images, &nimages) ||
		 num_member(ctx, rqj, "seed", 1, UINT64_MAX, &seed) ||
		 num_member(ctx, rqj, "resamples", 2000, 100000, &resamples);
	if (!rc) {
		struct bia_bench_request b = {
			.problem = json_string_value(json_object_get(rqj, "problem")),
			.workflows = wfs, .nworkflows = nwfs,
			.metric = json_string_value(json_object_get(rqj, "metric")),
			.images = images, .nimages = nimages, .seed = seed,
			.resamples = (unsigned)resamples};
		struct bia_bench_hooks h;
		bia__op_hooks(oprun, &h);
		rc = bia_bench_json(ctx, srv->inst, &b, &h, pout);
		free(images);
	}
	free(wfs);
	return rc ? ctx->rc : 0;
}

/* {"workflows"?: [NAME[@VERSION]...], "metric"?, "images"?, "seed"?,
 * "resamples"?}: runs what is missing, then the leaderboard */
int h_benchmark(struct req *rq)
{
	int64_t pid;
	if (access_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &pid))
		return rq->status;
	const char **v;
	size_t n;
	uint64_t x;
	if (str_list(&rq->ctx, rq->json, "workflows", &v, &n))
		return req_error(rq);
	free(v);
	if (str_list(&rq->ctx, rq->json, "images", &v, &n) ||
	    num_member(&rq->ctx, rq->json, "seed", 1, UINT64_MAX, &x) ||
	    num_member(&rq->ctx, rq->json, "resamples", 2000, 100000, &x))
		return req_error(rq);
	free(v);
	json_t *r = json_deep_copy(rq->json);
	json_object_set_new(r, "problem", json_string(rq->params[0]));
	return ops_submit(rq, "benchmark", pid, r, bench_op);
}

/* -------------------------------------------------------- dataset import */

static int import_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		     json_t **pout)
{
	const char *tar = json_string_value(json_object_get(rqj, "file"));
	char dir[BIA_PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s.d", tar);
	struct bia_problem p;
	int rc = 0;
	bia__op_progress(oprun, 0, 3, "unpacking");
	if (mkdir(dir, 0700))
		rc = bia_fail(ctx, BIA_EIO, "cannot unpack the dataset");
	if (!rc)
		rc = bia_tar_unpack(ctx, tar, dir, 1000000, srv->inst->limits.max_upload_bytes);
	unlink(tar);
	if (!rc)
		rc = bia_problem_get_id(ctx, srv->inst,
					json_integer_value(json_object_get(rqj, "problem_id")), &p);
	if (!rc) {
		/* one top folder holding the dataset: that folder */
		char root[BIA_PATH_MAX + 8], probe[BIA_PATH_MAX + 32];
		snprintf(root, sizeof(root), "%s", dir);
		snprintf(probe, sizeof(probe), "%s/images", dir);
		if (!bia_is_dir(probe)) {
			DIR *d = opendir(dir);
			struct dirent *e;
			int k = 0;
			char only[256] = "";
			while (d && (e = readdir(d)))
				if (e->d_name[0] != '.') {
					k++;
					snprintf(only, sizeof(only), "%s", e->d_name);
				}
			if (d)
				closedir(d);
			snprintf(probe, sizeof(probe), "%s/%s", dir, only);
			if (k == 1 && bia_is_dir(probe))
				snprintf(root, sizeof(root), "%s", probe);
		}
		bia__op_progress(oprun, 1, 3, "importing");
		struct bia_import_opts io = {json_is_true(json_object_get(rqj, "skip_invalid")),
					     json_string_value(json_object_get(rqj, "annotator")), 0};
		struct bia_import_result r;
		bia_import_result_init(&r);
		rc = bia_dataset_import(ctx, srv->inst, &p, root, &io, &r);
		if (!rc)
			*pout = bia_import_result_json(&r);
		else if (json_array_size(r.problems))
			bia_fail(ctx, ctx->rc, "%s (%zu problems, first: %s)", ctx->msg,
				 json_array_size(r.problems),
				 json_string_value(json_array_get(r.invalid, 0)));
		bia_import_result_release(&r);
		bia_problem_release(&p);
		bia__op_progress(oprun, 3, 3, rc ? "refused" : "imported");
	}
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	bia_rm_rf(&tmp, dir);
	return rc;
}

/* The body is a tar (or .tar.gz) of a dataset folder (images/ and
 * groundtruth/ with the same stems); ?skip_invalid=true, ?annotator= */
int h_dataset_import(struct req *rq)
{
	int64_t pid;
	if (access_problem(rq, rq->params[0], BIA_ACCESS_WRITE, &pid))
		return rq->status;
	/* the upload now belongs to the operation */
	char file[BIA_PATH_MAX + 16];
	snprintf(file, sizeof(file), "%s.tar", rq->body_path);
	if (rename(rq->body_path, file))
		return req_fail(rq, BIA_EIO, "cannot keep the upload");
	rq->body_path[0] = '\0';
	const char *skip = req_query(rq, "skip_invalid"), *ann = req_query(rq, "annotator");
	json_t *r = json_pack("{s:s, s:I, s:b}", "file", file, "problem_id", (json_int_t)pid,
			      "skip_invalid", skip && !strcmp(skip, "true"));
	if (ann)
		json_object_set_new(r, "annotator", json_string(ann));
	return ops_submit(rq, "import", pid, r, import_op);
}

/* --------------------------------------------------------- operations */

int h_operation(struct req *rq)
{
	char *end;
	long long id = strtoll(rq->params[0], &end, 10);
	json_t *j;
	if (*end || id <= 0 || ops_get_json(rq, id, &j) || !j)
		return req_fail(rq, BIA_ENOENT, "no operation %s", rq->params[0]);
	return req_json(rq, 200, j);
}

int h_operations(struct req *rq)
{
	if (!rq->who.user_id)
		return req_fail(rq, BIA_EAUTH, "log in or send a token to list your operations");
	json_t *rows = ops_list_json(rq);
	int64_t n = (int64_t)json_array_size(rows);
	return req_list(rq, rows, n, (struct bia_page){n, 0});
}

/* ------------------------------------------------------------ scoring */

/* A form: class, prediction (file), ground_truth (file), and for ObjTrk
 * prediction_tracks / ground_truth_tracks (the CTC .txt files); params
 * "gating_dist=5", objects "true". What `biaflows metrics CLASS PRED GT
 * --format json` prints. */
int h_metrics(struct req *rq)
{
	const char *cls_s = json_string_value(json_object_get(rq->json, "class"));
	const char *pred = req_form_file(rq, "prediction"), *gt = req_form_file(rq, "ground_truth");
	enum bia_class cls = cls_s ? bia_class_parse(cls_s) : BIA_CLASS_NONE;
	if (cls == BIA_CLASS_NONE)
		return req_fail(rq, BIA_EINVAL, "the form needs \"class\" (one of %s)",
				bia_class_list());
	if (!gt)
		return req_fail(rq, BIA_EINVAL, "the form needs a \"ground_truth\" file");
	const char *mae = json_string_value(json_object_get(rq->json, "missing_as_empty"));
	if (!pred && !(mae && !strcmp(mae, "true")))
		return req_fail(rq, BIA_EINVAL,
				"the form needs a \"prediction\" file (or missing_as_empty=true to "
				"score an empty prediction)");
	/* ObjTrk: the track files beside their stacks, as <stem>.txt */
	static const char *const tracks[2][2] = {{"prediction_tracks", "prediction"},
						 {"ground_truth_tracks", "ground_truth"}};
	for (int k = 0; k < 2; k++) {
		const char *t = req_form_file(rq, tracks[k][0]), *stack = req_form_file(rq, tracks[k][1]);
		if (!t || !stack)
			continue;
		char stem[256], dst[BIA_PATH_MAX + 300], dir[BIA_PATH_MAX + 300];
		bia_path_stem(stack, stem, sizeof(stem));
		snprintf(dir, sizeof(dir), "%s", stack);
		*strrchr(dir, '/') = '\0';
		snprintf(dst, sizeof(dst), "%s/%s.txt", dir, stem);
		if (rename(t, dst))
			return req_fail(rq, BIA_EIO, "cannot place the track file");
	}
	struct bia_metric_params mp;
	bia_metric_params_init(&mp);
	const char *params = json_string_value(json_object_get(rq->json, "params"));
	if (params && *params && bia_metric_params_set(&rq->ctx, &mp, params))
		return req_error(rq);
	const char *objects = json_string_value(json_object_get(rq->json, "objects"));
	json_t *j;
	if (bia_score_pair_json(&rq->ctx, cls, pred, gt, &mp, objects && !strcmp(objects, "true"),
				&j)) {
		req_strip_dir_msg(rq, rq->form_dir);
		return req_error(rq);
	}
	req_strip_dir(j, rq->form_dir);
	return req_json(rq, 200, j);
}

/* ------------------------------------------------------------ pyramids */

static int pyramid_op(struct bia_server *srv, json_t *rqj, void *oprun, struct bia_ctx *ctx,
		      json_t **pout)
{
	(void)oprun;
	struct bia_derive_stats st;
	if (bia_derived_ensure(ctx, srv->inst, json_integer_value(json_object_get(rqj, "image")),
			       json_is_true(json_object_get(rqj, "rebuild")), &st))
		return ctx->rc;
	*pout = bia_derive_stats_json(&st);
	bia_derive_stats_release(&st);
	return 0;
}

/* {rebuild?: bool} */
int h_image_pyramid(struct req *rq)
{
	struct bia_image_rec im;
	char *end;
	long long id = strtoll(rq->params[0], &end, 10);
	struct bia_ctx tmp;
	bia_instance_ctx(rq->srv->inst, &tmp);
	if (id <= 0 || *end)
		return req_fail(rq, BIA_EINVAL, "an image is addressed by its id");
	if (bia_store_image_get(&tmp, rq->srv->inst, id, &im) ||
	    bia_access_problem(&tmp, rq->srv->inst, &rq->who, im.problem_id, BIA_ACCESS_WRITE))
		return req_fail(rq, tmp.rc, "%s",
				tmp.rc == BIA_ENOENT ? "no such image" : tmp.msg);
	json_t *rb = json_object_get(rq->json, "rebuild");
	if (rb && !json_is_boolean(rb))
		return req_fail(rq, BIA_EINVAL, "rebuild is true or false");
	json_t *r = json_pack("{s:I, s:b}", "image", (json_int_t)id, "rebuild", json_is_true(rb));
	return ops_submit(rq, "pyramid", im.problem_id, r, pyramid_op);
}
