/* Runs: the queue, the state machine, the worker (execution in the
 * sandbox, ingest of outputs, metrics) and recovery. docs/runs.md.
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"
#include "exec/exec.h"
#include "metrics/metrics.h"
#include "workflow/workflow.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t parse_id(const char *s)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return 0;
	return strtoll(s, NULL, 10);
}

int bia_run_select_images(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_problem *p, const char *const *refs, size_t nrefs,
			  struct bia_image_rec **pv, size_t *pn)
{
	struct bia_image_rec *all, *sel;
	size_t nall, nsel = 0;
	*pv = NULL;
	*pn = 0;
	struct bia_page page = {0, 0};
	if (bia_image_list(ctx, inst, p->id, page, &all, &nall, NULL))
		return ctx->rc;
	if (!(sel = bia_calloc(nall + 1, sizeof(*sel)))) {
		free(all);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	if (nrefs == 0) {
		memcpy(sel, all, nall * sizeof(*sel));
		nsel = nall;
	}
	int rc = 0;
	for (size_t i = 0; i < nrefs && !rc; i++) {
		int64_t id = parse_id(refs[i]);
		size_t k, j;
		for (k = 0; k < nall; k++)
			if (!strcmp(all[k].stem, refs[i]) || (id && all[k].id == id))
				break;
		if (k == nall) {
			rc = bia_fail(ctx, BIA_ENOENT, "problem '%s' has no image '%s'", p->name,
				      refs[i]);
			break;
		}
		for (j = 0; j < nsel && sel[j].id != all[k].id; j++)
			;
		if (j == nsel)
			sel[nsel++] = all[k];
	}
	if (!rc && nsel == 0)
		rc = bia_fail(ctx, BIA_ENOENT, "problem '%s' has no images", p->name);
	free(all);
	if (rc) {
		free(sel);
		return rc;
	}
	*pv = sel;
	*pn = nsel;
	return 0;
}

/* ----------------------------------------------------------------- paths */

int bia_run_dir(const struct bia_instance *inst, int64_t id, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/runs/%lld", inst->root, (long long)id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int bia_run_log_path(const struct bia_instance *inst, int64_t id, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/runs/%lld/log", inst->root, (long long)id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

void bia_run_failure_line(const struct bia_instance *inst, int64_t id, const char *fallback,
			  char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", fallback ? fallback : "");
	char p[BIA_PATH_MAX];
	bia_run_log_path(inst, id, p, sizeof(p));
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	/* the last 64 KiB hold the end of any log */
	if (fseek(f, 0, SEEK_END) == 0) {
		long sz = ftell(f);
		if (sz > 65536)
			fseek(f, sz - 65536, SEEK_SET);
		else
			rewind(f);
	}
	char line[4096], last[4096] = "";
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* "YYYY-MM-DDTHH:MM:SS.mmmZ text" (workflow) or "...Z worker: ..." */
		char *sp = strchr(line, ' ');
		if (!sp || sp - line < 20 || sp[-1] != 'Z' || !strncmp(sp + 1, "worker: ", 8))
			continue;
		if (sp[1])
			snprintf(last, sizeof(last), "%s", sp + 1);
	}
	fclose(f);
	if (last[0]) {
		snprintf(out, outsz, "%s", last);
		bia_one_line(out, outsz);
	}
}

int bia_runs_max_concurrent(const struct bia_instance *inst)
{
	json_t *v = inst->config ? json_object_get(inst->config, "max_concurrent_runs") : NULL;
	if (!json_is_integer(v))
		return 1;
	json_int_t n = json_integer_value(v);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

int bia_runs_requeue_policy(const struct bia_instance *inst)
{
	json_t *v = inst->config ? json_object_get(inst->config, "on_interrupted") : NULL;
	return json_is_string(v) && !strcmp(json_string_value(v), "requeue");
}

static void slot_path(const struct bia_instance *inst, int slot, char *p, size_t psz)
{
	if (slot == 0)
		snprintf(p, psz, "%s/worker.lock", inst->root);
	else
		snprintf(p, psz, "%s/worker.lock.%d", inst->root, slot);
}

int bia_worker_lock_slot(struct bia_ctx *ctx, const struct bia_instance *inst, int slot)
{
	char p[BIA_PATH_MAX];
	slot_path(inst, slot, p, sizeof(p));
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", p, strerror(errno));
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return -1;
		bia_fail(ctx, BIA_EIO, "cannot lock '%s': %s", p, strerror(e));
		return -2;
	}
	return fd;
}

int bia_worker_lock(struct bia_ctx *ctx, const struct bia_instance *inst)
{
	return bia_worker_lock_slot(ctx, inst, 0);
}

int bia_worker_lock_any(struct bia_ctx *ctx, const struct bia_instance *inst, int *pslot)
{
	int n = bia_runs_max_concurrent(inst);
	for (int k = 0; k < n; k++) {
		int fd = bia_worker_lock_slot(ctx, inst, k);
		if (fd != -1) {
			*pslot = k;
			return fd;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ dataset */

const struct bia_gt_version *bia__runs_current_gt(const struct bia_gt_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].current)
			return &v[i];
	return NULL;
}

static void gt_free(struct bia_gt_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bia_gt_version_release(&v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sha256 over the sorted lines "stem image-digest gt-digests\n" (GT file
 * digests of the current version, comma-separated). */
int bia__runs_dataset_digest(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_image_rec *im, size_t n, char out[BIA_SHA256_HEX])
{
	char **lines = bia_calloc(n + 1, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		struct bia_gt_version *gv = NULL;
		size_t ng = 0;
		if (bia_gt_list(ctx, inst, im[i].id, &gv, &ng)) {
			rc = ctx->rc;
			break;
		}
		struct bia_buf b;
		bia_buf_init(&b, 1 << 20);
		bia_buf_addf(&b, "%s %s ", im[i].stem, im[i].digest);
		const struct bia_gt_version *g = bia__runs_current_gt(gv, ng);
		for (size_t k = 0; g && k < g->nfiles; k++)
			bia_buf_addf(&b, "%s%s", k ? "," : "", g->files[k].digest);
		bia_buf_addch(&b, '\n');
		lines[i] = bia_buf_detach(&b, NULL);
		gt_free(gv, ng);
		if (!lines[i])
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	if (!rc) {
		qsort(lines, n, sizeof(char *), cmp_str);
		struct bia_sha256 h;
		bia_sha256_init(&h);
		for (size_t i = 0; i < n; i++)
			if (lines[i])
				bia_sha256_update(&h, lines[i], strlen(lines[i]));
		bia_sha256_final(&h, out);
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return rc;
}

/* ---------------------------------------------------------------- enqueue */

int bia_run_enqueue(struct bia_ctx *ctx, struct bia_instance *inst,
		    const struct bia_run_request *req, int64_t *pid)
{
	struct bia_wf_version v;
	struct bia_problem p;
	struct bia_descriptor d;
	struct bia_image_rec *sel = NULL;
	size_t nsel = 0;
	json_t *values = NULL, *ids = NULL;
	char **wargv = NULL;
	size_t wargc = 0;
	struct bia_run r;
	int rc = 0, have_v = 0, have_p = 0;
	memset(&d, 0, sizeof(d));
	memset(&r, 0, sizeof(r));

	char name[256];
	snprintf(name, sizeof(name), "%s", req->workflow);
	char *at = strrchr(name, '@');
	if (at)
		*at++ = '\0';
	if (!name[0] || (at && !*at))
		return bia_fail(ctx, BIA_EINVAL, "bad workflow '%s' (expected NAME or NAME@VERSION)",
				req->workflow);
	if (bia_store_wf_get(ctx, inst, name, at, &v))
		return ctx->rc;
	have_v = 1;
	if (bia_problem_get(ctx, inst, req->problem, &p)) {
		rc = ctx->rc;
		goto out;
	}
	have_p = 1;
	if (bia_descriptor_parse(ctx, "descriptor.json", v.descriptor, strlen(v.descriptor), &d)) {
		rc = ctx->rc;
		goto out;
	}
	if (d.problem_class != BIA_CLASS_NONE && d.problem_class != p.cls) {
		rc = bia_fail(ctx, BIA_EINVAL,
			      "workflow '%s@%s' is for %s and problem '%s' is %s: the classes must "
			      "match",
			      v.name, v.version, bia_class_code(d.problem_class), p.name,
			      bia_class_code(p.cls));
		goto out;
	}
	if (bia_descriptor_resolve(ctx, &d, req->params, req->nparams, &values) ||
	    bia_descriptor_argv(ctx, &d, values, &wargv, &wargc)) {
		if (req->bad_params)
			*req->bad_params = 1;
		rc = ctx->rc;
		goto out;
	}
	if (bia_run_select_images(ctx, inst, &p, req->images, req->nimages, &sel, &nsel)) {
		rc = ctx->rc;
		goto out;
	}
	ids = json_array();
	for (size_t i = 0; i < nsel; i++) {
		if (!sel[i].gt_version) {
			rc = bia_fail(ctx, BIA_EINVAL, "image '%s' (id %lld) has no ground truth",
				      sel[i].stem, (long long)sel[i].id);
			goto out;
		}
		json_array_append_new(ids, json_integer(sel[i].id));
	}
	if (bia__runs_dataset_digest(ctx, inst, sel, nsel, r.dataset_digest)) {
		rc = ctx->rc;
		goto out;
	}
	r.workflow_version_id = v.id;
	r.problem_id = p.id;
	r.params = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
	r.images = json_dumps(ids, JSON_COMPACT);
	r.rerun_of = req->rerun_of;
	r.tolerance = req->tolerance;
	{
		json_t *dv = inst->config ? json_object_get(inst->config, "executor") : NULL;
		const char *ex = req->executor ? req->executor
				 : json_is_string(dv)  ? json_string_value(dv)
						       : "local";
		if (!bia_executor_find(ex)) {
			rc = bia_fail(ctx, BIA_EINVAL, "unknown executor '%.32s' (%s)%s", ex,
				      bia_executor_names(),
				      req->executor ? "" : " in the instance's config");
			goto out;
		}
		snprintf(r.executor, sizeof(r.executor), "%s", ex);
	}
	r.limits = bia_run_overrides_json(&req->limits);
	if (!r.params || !r.images || !r.limits) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (req->dry_run) {
		*pid = 0;
		goto out;
	}
	rc = bia_store_run_add(ctx, inst, &r);
	if (!rc) {
		*pid = r.id;
		bia_runs_notify(inst); /* a waiting worker loop looks at the queue */
	}
out:
	bia_run_release(&r);
	json_decref(ids);
	json_decref(values);
	bia_argv_free(wargv);
	free(sel);
	bia_descriptor_release(&d);
	if (have_p)
		bia_problem_release(&p);
	if (have_v)
		bia_wf_version_release(&v);
	return rc;
}

/* Score one image: pred (p1, p2) or an empty prediction of the GT's shape
 * when ok is 0, against the current GT. Fills ri->scores and the error map
 * (ri->objects, ri->errors). */
int bia__runs_score_image(struct bia_ctx *ctx, struct bia_instance *inst, enum bia_class cls,
			  const struct bia_metric_params *mp, int ok, const char *p1,
			  const char *p2, struct bia_run_image *ri)
{
	struct bia_gt_version *gv = NULL;
	size_t ng = 0;
	if (bia_gt_list(ctx, inst, ri->image_id, &gv, &ng))
		return ctx->rc;
	const struct bia_gt_version *g = bia__runs_current_gt(gv, ng);
	int rc = 0;
	if (!g) {
		gt_free(gv, ng);
		return bia_fail(ctx, BIA_ENOENT, "image %lld has no current ground truth",
				(long long)ri->image_id);
	}
	struct bia_score_pair s;
	bia_score_pair_init(&s);
	char path[BIA_PATH_MAX], tpath[BIA_PATH_MAX];
	const char *want = cls == BIA_TRETRC ? "swc" : "mask";
	const struct bia_gt_file *main_f = NULL, *trk_f = NULL;
	for (size_t k = 0; k < g->nfiles; k++) {
		if (!strcmp(g->files[k].kind, want) && !main_f)
			main_f = &g->files[k];
		/* imports store a CTC track file as "txt" */
		if ((!strcmp(g->files[k].kind, "tracks") || !strcmp(g->files[k].kind, "txt")) &&
		    !trk_f)
			trk_f = &g->files[k];
	}
	if (!main_f || (cls == BIA_OBJTRK && !trk_f)) {
		rc = bia_fail(ctx, BIA_ENOENT, "GT version %lld of image %lld has no %s file",
			      (long long)g->id, (long long)ri->image_id, !main_f ? want : "tracks");
		goto out;
	}
	bia_blob_path(inst, main_f->digest, path, sizeof(path));
	if (cls == BIA_OBJTRK)
		bia_blob_path(inst, trk_f->digest, tpath, sizeof(tpath));
	const char *failed = path;
	rc = bia_score_pair_load(ctx, cls, &s, BIA_PAIR_GT, path,
				 cls == BIA_OBJTRK ? tpath : NULL, &failed);
	if (rc) { /* name the ground-truth file, not its blob */
		bia_fail_prefix(ctx, "ground truth '%s' (version %lld)",
				failed == path ? main_f->name : trk_f->name, (long long)g->id);
		goto out;
	}
	if (ok)
		rc = bia_score_pair_load(ctx, cls, &s, BIA_PAIR_PRED, p1,
					 cls == BIA_OBJTRK ? p2 : NULL, NULL);
	else
		rc = bia_score_pair_empty_pred(ctx, cls, &s);
	if (rc)
		goto out;
	struct bia_metric_input in;
	bia_score_pair_input(&s, &in);
	struct bia_metric_result res;
	bia_metric_result_init(&res, cls);
	rc = bia_metrics_compute(ctx, cls, &in, mp, bia_error_categories(cls) != NULL, &res);
	if (rc && bia_metric_msg_about_gt(ctx->msg)) /* name the GT file, not the output */
		bia_fail_prefix(ctx, "ground truth '%s'%s%s%s (version %lld)", main_f->name,
				cls == BIA_OBJTRK && trk_f ? " and '" : "",
				cls == BIA_OBJTRK && trk_f ? trk_f->name : "",
				cls == BIA_OBJTRK && trk_f ? "'" : "", (long long)g->id);
	if (!rc)
		rc = bia_error_map(ctx, cls, res.objects, ri); /* stored with the scores */
	if (!rc && json_array_size(res.warnings)) /* kept on the output row */
		ri->warnings = json_dumps(res.warnings, JSON_COMPACT);
	if (!rc) {
		ri->scores = bia_calloc(res.n + 1, sizeof(*ri->scores));
		for (size_t k = 0; k < res.n; k++) {
			struct bia_run_score *sc = &ri->scores[ri->nscores++];
			snprintf(sc->metric, sizeof(sc->metric), "%s", res.codes[k]);
			sc->value = res.values[k];
			sc->gt_version_id = g->id;
			snprintf(sc->metrics_version, sizeof(sc->metrics_version), "%s",
				 BIA_METRICS_VERSION);
		}
	}
	bia_metric_result_release(&res);
out:
	bia_score_pair_release(&s);
	gt_free(gv, ng);
	return rc;
}

void bia__runs_problem_params(const struct bia_problem *p, struct bia_metric_params *mp,
			      int logfd)
{
	bia_metric_params_init(mp);
	struct bia_ctx c;
	bia_ctx_init(&c);
	json_t *pp = bia_json_parse(&c, "problem parameters", p->params, strlen(p->params));
	if (json_is_object(pp)) {
		const char *k;
		json_t *val;
		json_object_foreach(pp, k, val)
		{
			char kv[512];
			if (json_is_string(val))
				snprintf(kv, sizeof(kv), "%s=%s", k, json_string_value(val));
			else if (json_is_number(val))
				snprintf(kv, sizeof(kv), "%s=%.17g", k, json_number_value(val));
			else
				continue;
			struct bia_ctx c3;
			bia_ctx_init(&c3);
			if (bia_metric_params_set(&c3, mp, kv))
				bia__runs_log(logfd, 0, "problem parameter ignored: %s", c3.msg);
		}
	}
	json_decref(pp);
}

/* ------------------------------------------------------------------- JSON */

static time_t parse_iso(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s[0] || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return (time_t)-1;
	return timegm(&tm);
}

/* The duration of a run in seconds (null until it ended). */
static json_t *duration_json(const struct bia_run *r)
{
	time_t t0 = parse_iso(r->started), t1 = parse_iso(r->finished);
	return t0 != (time_t)-1 && t1 != (time_t)-1 ? json_integer((json_int_t)(t1 - t0))
						    : json_null();
}

json_t *bia_run_json(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
		     int detail)
{
	const char *main_metric = r->main_metric[0] ? r->main_metric : bia_metric_main(r->cls);
	struct bia_run_image *ri = NULL;
	size_t nri = 0;
	if (bia_store_run_images(ctx, inst, r->id, &ri, &nri))
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "workflow", json_string(r->workflow));
	json_object_set_new(o, "version", json_string(r->version));
	json_object_set_new(o, "workflow_version_id", json_integer(r->workflow_version_id));
	json_object_set_new(o, "workflow_digest", json_string(r->wf_digest));
	json_object_set_new(o, "problem", json_string(r->problem));
	json_object_set_new(o, "class", json_string(bia_class_code(r->cls)));
	json_object_set_new(o, "status", json_string(bia_run_state_name(r->state)));
	json_object_set_new(o, "code", json_integer(bia_run_state_code(r->state)));
	json_t *params = json_loads(r->params, 0, NULL);
	json_object_set_new(o, "params", params ? params : json_object());
	json_t *ims = json_loads(r->images, 0, NULL);
	json_object_set_new(o, "images_requested", ims ? ims : json_array());
	json_object_set_new(o, "executor", json_string(r->executor));
	json_object_set_new(o, "job", json_string(r->job ? r->job : ""));
	json_object_set_new(o, "worker_pid", json_integer(r->worker_pid));
	json_object_set_new(o, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
	json_object_set_new(o, "env_digest", json_string(r->env_digest));
	json_object_set_new(o, "dataset_digest", json_string(r->dataset_digest));
	json_object_set_new(o, "metrics_version", json_string(r->metrics_version));
	json_object_set_new(o, "host", json_string(r->host));
	json_object_set_new(o, "created_at", json_string(r->created));
	json_object_set_new(o, "started_at", json_string(r->started));
	json_object_set_new(o, "finished_at", json_string(r->finished));
	json_object_set_new(o, "duration", duration_json(r));
	json_object_set_new(o, "cancel_requested", json_boolean(r->cancel_requested));
	json_t *lim = json_loads(r->limits && r->limits[0] ? r->limits : "{}", 0, NULL);
	json_object_set_new(o, "limits", json_is_object(lim) ? lim : json_object());
	if (lim && !json_is_object(lim))
		json_decref(lim);
	json_object_set_new(o, "worker_slot", json_integer(r->worker_slot));
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, "interrupted", json_integer(r->interrupted));
	if (r->rerun_of) {
		json_object_set_new(o, "rerun_of", json_integer(r->rerun_of));
		json_object_set_new(o, "tolerance", json_real(r->tolerance));
		json_object_set_new(o, "reproduction",
				    r->verdict[0] ? json_string(r->verdict) : json_null());
		json_t *vd = json_loads(r->verdict_detail ? r->verdict_detail : "{}", 0, NULL);
		json_object_set_new(o, "reproduction_detail", vd ? vd : json_object());
	}
	json_object_set_new(o, "main_metric", json_string(main_metric));

	size_t nm;
	const struct bia_metric_def *defs = bia_metric_class(r->cls, &nm);
	double *vals = bia_calloc(nm * (nri + 1) + 1, sizeof(double));
	size_t *cnt = bia_calloc(nm + 1, sizeof(size_t));
	json_t *images = json_array(), *run_warnings = json_array(), *warn_index = json_object();
	for (size_t i = 0; i < nri; i++) {
		json_t *im = json_object(), *m = json_object(), *files = json_array();
		int64_t gtv = 0;
		json_object_set_new(im, "id", json_integer(ri[i].image_id));
		json_object_set_new(im, "stem", json_string(ri[i].stem));
		json_object_set_new(im, "status", json_string(ri[i].status));
		json_object_set_new(im, "reason", json_string(ri[i].reason ? ri[i].reason : ""));
		for (size_t k = 0; k < ri[i].nfiles; k++)
			json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "name",
							       ri[i].files[k].name, "digest",
							       ri[i].files[k].digest, "bytes",
							       (json_int_t)ri[i].files[k].bytes));
		json_object_set_new(im, "outputs", files);
		for (size_t k = 0; k < ri[i].nscores; k++) {
			const struct bia_run_score *sc = &ri[i].scores[k];
			gtv = sc->gt_version_id;
			json_object_set_new(m, sc->metric, bia_json_real(sc->value));
			for (size_t j = 0; j < nm; j++)
				if (!strcmp(defs[j].code, sc->metric))
					vals[j * (nri + 1) + cnt[j]++] = sc->value;
		}
		json_object_set_new(im, "gt_version_id", json_integer(gtv));
		json_object_set_new(im, "metrics", m);
		json_t *w = json_loads(ri[i].warnings ? ri[i].warnings : "[]", 0, NULL);
		if (!json_is_array(w)) {
			json_decref(w);
			w = json_array();
		}
		/* the run's warnings: each distinct one, with the images it names */
		size_t wi;
		json_t *wv;
		json_array_foreach(w, wi, wv)
		{
			const char *text = json_string_value(wv);
			json_t *entry = text ? json_object_get(warn_index, text) : NULL;
			if (!text)
				continue;
			if (!entry) {
				entry = json_pack("{s:s, s:[]}", "warning", text, "images");
				json_object_set_new(warn_index, text, entry);
				json_array_append(run_warnings, entry);
			}
			json_array_append_new(json_object_get(entry, "images"),
					      json_string(ri[i].stem));
		}
		json_object_set_new(im, "warnings", w);
		json_array_append_new(images, im);
	}
	json_object_set_new(o, "warnings", run_warnings);
	json_decref(warn_index);
	json_t *agg = json_object();
	for (size_t j = 0; j < nm; j++) {
		if (!cnt[j])
			continue;
		struct bia_metric_agg a;
		bia_metric_aggregate(&vals[j * (nri + 1)], cnt[j], &a);
		json_object_set_new(agg, defs[j].code,
				    json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "n",
					      (json_int_t)a.n, "n_nan", (json_int_t)a.n_nan, "min",
					      bia_json_real(a.min), "max", bia_json_real(a.max), "mean",
					      bia_json_real(a.mean), "std", bia_json_real(a.std),
					      "median", bia_json_real(a.median)));
		if (!strcmp(defs[j].code, main_metric))
			json_object_set_new(o, "main_metric_mean", bia_json_real(a.mean));
	}
	if (!json_object_get(o, "main_metric_mean"))
		json_object_set_new(o, "main_metric_mean", json_null());
	if (detail) {
		json_object_set_new(o, "images", images);
		json_object_set_new(o, "aggregate", agg);
	} else {
		json_decref(images);
		json_decref(agg);
	}
	free(vals);
	free(cnt);
	bia_run_images_free(ri, nri);
	return o;
}

int bia_run_summarize(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id)
{
	struct bia_run r;
	if (bia_store_run_get(ctx, inst, run_id, &r))
		return ctx->rc;
	json_t *j = bia_run_json(ctx, inst, &r, 1);
	bia_run_release(&r);
	if (!j)
		return ctx->rc;
	/* the means of the run's aggregate, as run show computes them */
	json_t *means = json_object(), *agg = json_object_get(j, "aggregate"), *a;
	const char *metric;
	json_object_foreach(agg, metric, a)
		json_object_set(means, metric, json_object_get(a, "mean"));
	char *text = json_dumps(means, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(means);
	json_decref(j);
	int rc = text ? bia_store_run_summary_put(ctx, inst, run_id, text)
		      : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	free(text);
	return rc;
}

int bia_runs_list_json(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_filter *f, struct bia_page page, json_t **prows,
		       int64_t *ptotal)
{
	struct bia_run *v = NULL;
	size_t n = 0;
	*prows = NULL;
	if (bia_store_run_list(ctx, inst, f, page, &v, &n, ptotal))
		return ctx->rc;
	/* the main metric of each run's problem, its mean from the run's
	 * summary; runs without one (not ended, or older) from their values,
	 * read for all of them in one query */
	const char **mains = bia_calloc(n + 1, sizeof(char *)), *distinct[BIA_CLASS_COUNT * 2 + 1];
	int64_t *ids = bia_calloc(n + 1, sizeof(int64_t));
	json_t **means = bia_calloc(n + 1, sizeof(json_t *));
	size_t nd = 0, nids = 0;
	for (size_t i = 0; i < n; i++) {
		mains[i] = v[i].main_metric[0] ? v[i].main_metric : bia_metric_main(v[i].cls);
		means[i] = v[i].means ? json_loads(v[i].means, 0, NULL) : NULL;
		if (means[i])
			continue;
		ids[nids++] = v[i].id;
		size_t k = 0;
		while (k < nd && strcmp(distinct[k], mains[i]))
			k++;
		if (k == nd && nd < sizeof(distinct) / sizeof(distinct[0]))
			distinct[nd++] = mains[i];
	}
	struct bia_run_value *vals = NULL;
	size_t nv = 0;
	int rc = bia_store_run_values(ctx, inst, ids, nids, distinct, nd, &vals, &nv);
	double *buf = rc ? NULL : bia_calloc(nv + 1, sizeof(double));
	json_t *rows = json_array();
	size_t at = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct bia_run *r = &v[i];
		json_t *mean = NULL;
		if (means[i]) {
			mean = json_object_get(means[i], mains[i]);
			mean = mean ? json_incref(mean) : json_null();
		} else {
			/* vals are by run id, as v is */
			size_t cnt = 0;
			while (at < nv && vals[at].run_id < r->id)
				at++;
			for (; at < nv && vals[at].run_id == r->id; at++)
				if (!strcmp(vals[at].metric, mains[i]))
					buf[cnt++] = vals[at].value;
			mean = json_null();
			if (cnt) {
				struct bia_metric_agg a;
				bia_metric_aggregate(buf, cnt, &a);
				json_decref(mean);
				mean = bia_json_real(a.mean);
			}
		}
		char wf[400];
		snprintf(wf, sizeof(wf), "%s@%s", r->workflow, r->version);
		json_array_append_new(
			rows, json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:o, s:s, s:o}", "id",
					(json_int_t)r->id, "workflow", wf, "problem", r->problem,
					"status", bia_run_state_name(r->state), "code",
					bia_run_state_code(r->state), "created_at", r->created,
					"duration", duration_json(r), "main_metric", mains[i], "mean",
					mean));
	}
	for (size_t i = 0; i < n; i++)
		json_decref(means[i]);
	free(means);
	free(buf);
	free(vals);
	free(ids);
	free(mains);
	bia_run_list_free(v, n);
	if (rc) {
		json_decref(rows);
		return rc;
	}
	*prows = rows;
	return 0;
}

/* Sort rows by one member (numbers; NaN and missing last whatever the
 * order), then by image id. */
struct row_order {
	const char *key;
	int desc;
};
static int row_cmp(const void *a, const void *b, void *arg)
{
	const struct row_order *o = arg;
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_t *vx = json_object_get(x, o->key), *vy = json_object_get(y, o->key);
	int hx = json_is_number(vx) && json_number_value(vx) == json_number_value(vx),
	    hy = json_is_number(vy) && json_number_value(vy) == json_number_value(vy);
	if (hx != hy)
		return hx ? -1 : 1;
	if (hx) {
		double dx = json_number_value(vx), dy = json_number_value(vy);
		if (dx != dy)
			return (dx < dy) != o->desc ? -1 : 1;
	} else if (json_is_string(vx) && json_is_string(vy)) {
		int c = strcmp(json_string_value(vx), json_string_value(vy));
		if (c)
			return o->desc ? -c : c;
	}
	json_int_t ix = json_integer_value(json_object_get(x, "image")),
		   iy = json_integer_value(json_object_get(y, "image"));
	return ix < iy ? -1 : ix > iy;
}

int bia_run_metric_table_json(struct bia_ctx *ctx, struct bia_instance *inst,
			      const struct bia_run *r, const struct bia_metric_table_query *q,
			      json_t **prows, int64_t *ptotal)
{
	*prows = NULL;
	json_t *run = bia_run_json(ctx, inst, r, 1);
	if (!run)
		return ctx->rc;
	size_t nm;
	const struct bia_metric_def *defs = bia_metric_class(r->cls, &nm);
	const char *sort = q->sort && *q->sort ? q->sort : "image";
	int known = !strcmp(sort, "image") || !strcmp(sort, "stem") || !strcmp(sort, "status");
	for (size_t k = 0; k < nm && !known; k++)
		known = !strcmp(defs[k].code, sort);
	if (!known) {
		json_decref(run);
		return bia_fail(ctx, BIA_EINVAL, "cannot sort by '%s' (image, stem, status or a metric "
					      "of %s)", sort, bia_class_code(r->cls));
	}
	json_t *all = json_array(), *im;
	size_t i;
	json_array_foreach(json_object_get(run, "images"), i, im)
	{
		const char *status = json_string_value(json_object_get(im, "status"));
		const char *stem = json_string_value(json_object_get(im, "stem"));
		if (q->status && *q->status && (!status || strcmp(status, q->status)))
			continue;
		if (q->stem && *q->stem && (!stem || !strstr(stem, q->stem)))
			continue;
		json_t *row = json_pack("{s:O, s:O, s:O}", "image", json_object_get(im, "id"), "stem",
					json_object_get(im, "stem"), "status",
					json_object_get(im, "status"));
		json_t *m = json_object_get(im, "metrics");
		for (size_t k = 0; k < nm; k++) {
			json_t *v = json_object_get(m, defs[k].code);
			json_object_set(row, defs[k].code, v ? v : json_null());
		}
		json_array_append_new(all, row);
	}
	json_decref(run);
	size_t n = json_array_size(all);
	json_t **v = malloc((n ? n : 1) * sizeof(*v));
	if (!v) {
		json_decref(all);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	struct row_order order = {sort, q->descending};
	qsort_r(v, n, sizeof(*v), row_cmp, &order);
	json_t *rows = json_array();
	int64_t off = q->page.offset, lim = q->page.limit > 0 ? q->page.limit : (int64_t)n;
	for (int64_t k = off; k < (int64_t)n && k < off + lim; k++)
		json_array_append(rows, v[k]);
	free(v);
	json_decref(all);
	if (ptotal)
		*ptotal = (int64_t)n;
	*prows = rows;
	return 0;
}
