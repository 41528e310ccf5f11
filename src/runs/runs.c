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

/* --------------------------------------------------------------- statuses */

int bia_run_status_final(const char *s)
{
	return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled") ||
	       !strcmp(s, "timed_out");
}

int bia_run_status_code(const char *s)
{
	if (!strcmp(s, "queued"))
		return 1;
	if (!strcmp(s, "running") || !strcmp(s, "ingesting"))
		return 2;
	if (!strcmp(s, "succeeded"))
		return 3;
	if (!strcmp(s, "failed") || !strcmp(s, "timed_out"))
		return 4;
	if (!strcmp(s, "cancelled"))
		return 8;
	return 0;
}

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
	if (bia_image_list(ctx, inst, p->id, &all, &nall))
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

/* The current GT version of an image (NULL if none); *pv to release. */
static const struct bia_gt_version *current_gt(struct bia_gt_version *v, size_t n)
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
		const struct bia_gt_version *g = current_gt(gv, ng);
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
	if (inst->ops->wf_version_get(ctx, inst, name, at, &v))
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
	snprintf(r.executor, sizeof(r.executor), "local");
	{
		json_t *lim = json_object();
		if (req->timeout > 0)
			json_object_set_new(lim, "time", json_integer((json_int_t)req->timeout));
		if (req->memory > 0)
			json_object_set_new(lim, "memory", json_integer((json_int_t)req->memory));
		if (req->processes > 0)
			json_object_set_new(lim, "processes", json_integer((json_int_t)req->processes));
		if (req->open_files > 0)
			json_object_set_new(lim, "open_files",
					    json_integer((json_int_t)req->open_files));
		if (req->output > 0)
			json_object_set_new(lim, "output", json_integer((json_int_t)req->output));
		char *t = json_dumps(lim, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(lim);
		int too_long = t && strlen(t) >= sizeof(r.limits);
		snprintf(r.limits, sizeof(r.limits), "%s", t && !too_long ? t : "{}");
		free(t);
		if (too_long) {
			rc = bia_fail(ctx, BIA_EINVAL, "run limits too large to store");
			goto out;
		}
	}
	if (!r.params || !r.images) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if (req->dry_run) {
		*pid = 0;
		goto out;
	}
	rc = inst->ops->run_add(ctx, inst, &r);
	if (!rc)
		*pid = r.id;
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

int bia_run_cancel(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   char pstate[16])
{
	return inst->ops->run_cancel(ctx, inst, id, pstate);
}

/* --------------------------------------------------------------- recovery */

/* Whether the worker that claimed r is gone. We hold slot myslot: a run
 * of our slot that is not ours was left by a previous holder; a run of
 * another slot is orphaned only when nobody holds that slot's lock (a
 * live worker holds its slot for as long as it executes a run). */
static int worker_gone(struct bia_ctx *ctx, const struct bia_instance *inst,
		       const struct bia_run *r, int myslot)
{
	if (r->worker_pid == (int64_t)getpid())
		return 0;
	if (r->worker_slot == myslot)
		return 1;
	if (bia_pid_alive((long)r->worker_pid))
		return 0; /* alive (not a zombie): left to the next holder of its slot */
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	(void)ctx;
	int fd = bia_worker_lock_slot(&c2, inst, r->worker_slot);
	if (fd < 0)
		return 0; /* held by a live worker (or unreadable): leave it */
	close(fd);
	return 1;
}

/* Remove runs/<id>/{app,in,out}: the working folders of a run (its log
 * stays). Used when a run ends and when an interrupted run is recovered. */
static void remove_work_dirs(struct bia_instance *inst, int64_t id)
{
	static const char *const sub[] = {"app", "in", "out"};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char p[BIA_PATH_MAX];
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		snprintf(p, sizeof(p), "%s/runs/%lld/%s", inst->root, (long long)id, sub[i]);
		bia_rm_rf(&c2, p);
	}
}

int bia_runs_recover(struct bia_ctx *ctx, struct bia_instance *inst, int myslot, size_t *pn)
{
	struct bia_run *v = NULL;
	size_t n = 0;
	*pn = 0;
	if (inst->ops->run_list(ctx, inst, 0, &v, &n))
		return ctx->rc;
	int rc = 0, requeue = bia_runs_requeue_policy(inst);
	for (size_t i = 0; !rc && i < n; i++) {
		struct bia_run *r = &v[i];
		if (strcmp(r->status, "running") && strcmp(r->status, "ingesting"))
			continue;
		if (!worker_gone(ctx, inst, r, myslot))
			continue;
		char from[16];
		snprintf(from, sizeof(from), "%s", r->status);
		int done;
		char now[21];
		bia_now_iso(now);
		if (requeue && r->attempts < BIA_RUN_MAX_ATTEMPTS) {
			snprintf(r->reason, sizeof(r->reason),
				 "requeued: attempt %d interrupted (worker pid %lld died while %s)",
				 r->attempts, (long long)r->worker_pid, from);
			rc = inst->ops->run_requeue(ctx, inst, r->id, from, r->reason, &done);
		} else {
			snprintf(r->status, sizeof(r->status), "failed");
			if (requeue)
				snprintf(r->reason, sizeof(r->reason),
					 "interrupted: worker died (pid %lld, while %s); gave up after "
					 "%d attempts",
					 (long long)r->worker_pid, from, r->attempts);
			else
				snprintf(r->reason, sizeof(r->reason),
					 "interrupted: worker died (pid %lld, while %s)",
					 (long long)r->worker_pid, from);
			snprintf(r->finished, sizeof(r->finished), "%s", now);
			rc = inst->ops->run_transition(ctx, inst, r, from, &done);
		}
		if (!rc && done) {
			(*pn)++;
			remove_work_dirs(inst, r->id);
			char lp[BIA_PATH_MAX];
			bia_run_log_path(inst, r->id, lp, sizeof(lp));
			FILE *f = fopen(lp, "a");
			if (f) {
				fprintf(f, "%s worker: run %s: %s\n", now,
					strcmp(r->status, "failed") ? "queued" : "failed", r->reason);
				fclose(f);
			}
		}
	}
	bia_run_list_free(v, n);
	return rc;
}

/* ----------------------------------------------------------------- worker */

static void wlog(int fd, const char *fmt, ...) BIA_PRINTF(2, 3);
static void wlog(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char now[21], line[2048];
	bia_now_iso(now);
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(line, sizeof(line), "%s worker: ", now);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	line[len++] = '\n';
	(void)bia_write_all(fd, line, len);
}

/* Copy a blob to a file with a mode. */
static int copy_file(struct bia_ctx *ctx, const char *src, const char *dst, int mode)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		close(in);
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", dst, strerror(errno));
	}
	char buf[65536];
	ssize_t k;
	int rc = 0;
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (bia_write_all(out, buf, (size_t)k)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", dst, strerror(errno));
			break;
		}
	if (k < 0)
		rc = bia_fail(ctx, BIA_EIO, "cannot read '%s': %s", src, strerror(errno));
	close(in);
	close(out);
	return rc;
}

/* The workflow's files from their blobs into app/. */
/* True if the version has a file at this relative path. */
static int has_file(const struct bia_wf_version *v, const char *path)
{
	for (size_t i = 0; i < v->nfiles; i++)
		if (!strcmp(v->files[i].path, path))
			return 1;
	return 0;
}

static int materialise(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_wf_version *v, const char *app)
{
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct bia_wf_file *f = &v->files[i];
		char src[BIA_PATH_MAX], dst[BIA_PATH_MAX];
		if (bia_path_check_rel(ctx, f->path) ||
		    bia_blob_path(inst, f->digest, src, sizeof(src)) ||
		    bia_path_join(ctx, dst, sizeof(dst), app, f->path))
			return ctx->rc ? (int)ctx->rc : bia_fail(ctx, BIA_ELIMIT, "path too long");
		char *slash = strrchr(dst, '/');
		if (slash) {
			*slash = '\0';
			int rc = bia_mkdir_p(ctx, dst);
			*slash = '/';
			if (rc)
				return rc;
		}
		if (copy_file(ctx, src, dst, f->mode ? f->mode : 0644))
			return ctx->rc;
	}
	return 0;
}

/* Polls the store for a cancel request while the workflow runs (and hosts
 * the run.exec fault site). */
struct poller {
	struct bia_instance *inst;
	int64_t run_id;
	int wfd;
	atomic_int stop;
};

static void *poll_main(void *arg)
{
	struct poller *pl = arg;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct timespec ts = {0, 100 * 1000 * 1000};
	for (int i = 0; !atomic_load(&pl->stop); i++) {
		nanosleep(&ts, NULL);
		if (i == 3)
			bia_faultsim("run.exec"); /* the workflow has started */
		struct bia_run r;
		if (pl->inst->ops->run_get(&ctx, pl->inst, pl->run_id, &r) == 0) {
			int c = r.cancel_requested;
			bia_run_release(&r);
			if (c) {
				(void)!write(pl->wfd, "c", 1);
				break;
			}
		}
	}
	return NULL;
}

struct gt_loaded {
	struct bia_image gt, pred;
	struct bia_swc gt_swc, pred_swc;
	struct bia_ctc_tracks gt_trk, pred_trk;
};

static void gtl_release(struct gt_loaded *s)
{
	bia_image_release(&s->pred);
	bia_image_release(&s->gt);
	bia_swc_release(&s->pred_swc);
	bia_swc_release(&s->gt_swc);
	bia_ctc_release(&s->pred_trk);
	bia_ctc_release(&s->gt_trk);
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
	const struct bia_gt_version *g = current_gt(gv, ng);
	int rc = 0;
	if (!g) {
		gt_free(gv, ng);
		return bia_fail(ctx, BIA_ENOENT, "image %lld has no current ground truth",
				(long long)ri->image_id);
	}
	struct gt_loaded s;
	memset(&s, 0, sizeof(s));
	bia_image_init(&s.gt);
	bia_image_init(&s.pred);
	char path[BIA_PATH_MAX];
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
	const struct bia_gt_file *failed_f = main_f;
	if (cls == BIA_TRETRC)
		rc = bia_swc_load(ctx, path, &s.gt_swc);
	else
		rc = bia_runs_read_for_class(ctx, cls, path, &s.gt);
	if (!rc && cls == BIA_OBJTRK) {
		failed_f = trk_f;
		bia_blob_path(inst, trk_f->digest, path, sizeof(path));
		rc = bia_ctc_load(ctx, path, &s.gt_trk);
	}
	if (rc) { /* name the ground-truth file, not its blob */
		bia_fail_prefix(ctx, "ground truth '%s' (version %lld)", failed_f->name,
				(long long)g->id);
		goto out;
	}
	if (ok) {
		if (cls == BIA_TRETRC)
			rc = bia_swc_load(ctx, p1, &s.pred_swc);
		else
			rc = bia_runs_read_for_class(ctx, cls, p1, &s.pred);
		if (!rc && cls == BIA_OBJTRK)
			rc = bia_ctc_load(ctx, p2, &s.pred_trk);
	} else if (cls != BIA_TRETRC) {
		rc = bia_image_alloc(ctx, &s.pred, s.gt.x, s.gt.y, s.gt.z, s.gt.c, s.gt.t,
				     s.gt.dtype);
	}
	if (rc)
		goto out;
	struct bia_metric_input in = {&s.pred, &s.gt, &s.pred_swc, &s.gt_swc, &s.pred_trk,
				      &s.gt_trk};
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
	gtl_release(&s);
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
				wlog(logfd, "problem parameter ignored: %s", c3.msg);
		}
	}
	json_decref(pp);
}

/* Store the final status of a run (from `from`). */
static int finish(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r,
		  const char *from, const char *status, int logfd)
{
	snprintf(r->status, sizeof(r->status), "%s", status);
	bia_now_iso(r->finished);
	int done;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (inst->ops->run_transition(&c2, inst, r, from, &done)) {
		wlog(logfd, "cannot record the status: %s", c2.msg);
		return bia_fail(ctx, c2.rc, "%s", c2.msg);
	}
	wlog(logfd, "run %s%s%s", status, r->reason[0] ? ": " : "", r->reason);
	return 0;
}

/* Execute one claimed (running) run to its final status. Errors of the run
 * itself are recorded on it; the return value is for store errors. */
static int execute(struct bia_ctx *wctx, struct bia_instance *inst, struct bia_run *r)
{
	struct bia_ctx cx, *ctx = &cx;
	bia_ctx_init(ctx);
	ctx->max_pixels = wctx->max_pixels; /* the instance's limit */
	char dir[BIA_PATH_MAX], app[BIA_PATH_MAX], in[BIA_PATH_MAX], out[BIA_PATH_MAX],
		lp[BIA_PATH_MAX];
	bia_run_dir(inst, r->id, dir, sizeof(dir));
	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	bia_run_log_path(inst, r->id, lp, sizeof(lp));
	struct bia_wf_version v;
	struct bia_descriptor d;
	struct bia_problem p;
	struct bia_oci_image oci;
	json_t *values = NULL, *ids = NULL;
	char **wargv = NULL, **fullv = NULL;
	size_t wargc = 0;
	struct bia_stage_entry *ents = NULL;
	size_t nents = 0;
	int have_v = 0, have_p = 0, rc = 0, logfd = -1;
	memset(&d, 0, sizeof(d));
	memset(&oci, 0, sizeof(oci));

	if (bia_mkdir_p(ctx, app) || bia_mkdir_p(ctx, in) || bia_mkdir_p(ctx, out))
		goto failed;
	logfd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	wlog(logfd, "run %lld of %s@%s on problem %s: running (worker pid %ld)", (long long)r->id,
	     r->workflow, r->version, r->problem, (long)getpid());
	if (inst->ops->wf_version_get(ctx, inst, r->workflow, r->version, &v))
		goto failed;
	have_v = 1;
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)r->problem_id);
	if (bia_problem_get(ctx, inst, pid_s, &p))
		goto failed;
	have_p = 1;
	if (bia_descriptor_parse(ctx, "descriptor.json", v.descriptor, strlen(v.descriptor), &d))
		goto failed;
	values = bia_json_parse(ctx, "run parameters", r->params, strlen(r->params));
	if (!values || bia_descriptor_argv(ctx, &d, values, &wargv, &wargc))
		goto failed;
	enum bia_class cls = p.cls;

	struct bia_exec_spec spec;
	bia_exec_spec_init(&spec);
	spec.limits.wall_seconds = d.resources.time > 0 ? (double)d.resources.time : 3600;
	spec.limits.memory_bytes = d.resources.memory ? d.resources.memory : (UINT64_C(4) << 30);
	spec.limits.max_procs = d.resources.processes > 0 ? (unsigned)d.resources.processes
							  : BIA_RES_DEFAULT_PROCESSES;
	spec.limits.max_open_files = d.resources.open_files > 0 ? (unsigned)d.resources.open_files
								: BIA_RES_DEFAULT_OPEN_FILES;
	spec.limits.out_bytes = d.resources.output ? d.resources.output : BIA_EXEC_DEFAULT_OUT_BYTES;
	{
		/* per-run limits (run --timeout / --memory / --processes / --open-files /
		 * --output) override the descriptor */
		json_t *lim = json_loads(r->limits[0] ? r->limits : "{}", 0, NULL);
		json_t *t = json_object_get(lim, "time"), *m = json_object_get(lim, "memory");
		json_t *np = json_object_get(lim, "processes"), *nf = json_object_get(lim, "open_files");
		json_t *ob = json_object_get(lim, "output");
		if (json_is_integer(t) && json_integer_value(t) > 0)
			spec.limits.wall_seconds = (double)json_integer_value(t);
		if (json_is_integer(m) && json_integer_value(m) > 0)
			spec.limits.memory_bytes = (uint64_t)json_integer_value(m);
		if (json_is_integer(np) && json_integer_value(np) >= BIA_RES_PROCESSES_MIN &&
		    json_integer_value(np) <= BIA_RES_PROCESSES_MAX)
			spec.limits.max_procs = (unsigned)json_integer_value(np);
		if (json_is_integer(nf) && json_integer_value(nf) >= BIA_RES_OPEN_FILES_MIN &&
		    json_integer_value(nf) <= BIA_RES_OPEN_FILES_MAX)
			spec.limits.max_open_files = (unsigned)json_integer_value(nf);
		if (json_is_integer(ob) && json_integer_value(ob) > 0)
			spec.limits.out_bytes = (uint64_t)json_integer_value(ob);
		json_decref(lim);
		wlog(logfd,
		     "limits: %.0f s, %llu bytes, %u processes, %u open files, %llu output bytes "
		     "(attempt %d)",
		     spec.limits.wall_seconds, (unsigned long long)spec.limits.memory_bytes,
		     spec.limits.max_procs, spec.limits.max_open_files,
		     (unsigned long long)spec.limits.out_bytes, r->attempts);
	}
	spec.limits.log_bytes = UINT64_C(16) << 20;
	if (materialise(ctx, inst, &v, app))
		goto failed;
	if (d.environment.type == BIA_ENV_HOST) {
		spec.app_dir = app;
		spec.argv = wargv;
		snprintf(r->env_digest, sizeof(r->env_digest), "host");
	} else {
		/* an image environment, a BIAFLOWS container-image whose archive
		 * was attached with `workflow add --image-archive`, or else one
		 * exported from a local container engine (docs/exec.md) */
		char archive[BIA_PATH_MAX], envs[BIA_PATH_MAX], engine[BIA_ENGINE_NAME_MAX] = "";
		snprintf(envs, sizeof(envs), "%s/envs", inst->root);
		if (d.environment.type == BIA_ENV_IMAGE || has_file(&v, BIA_WF_DEFAULT_ARCHIVE)) {
			const char *rel = d.environment.type == BIA_ENV_IMAGE
						  ? d.environment.archive
						  : BIA_WF_DEFAULT_ARCHIVE;
			if (bia_path_join(ctx, archive, sizeof(archive), app, rel) ||
			    bia_mkdir_p(ctx, envs) || bia_oci_unpack(ctx, archive, envs, &oci))
				goto failed;
		} else {
			const char *image = d.container.image ? d.container.image : "";
			int reused = 0;
			if (bia_engine_image(ctx, image, d.container.type, envs, &oci, engine,
					     &reused)) {
				char m[sizeof(ctx->msg)];
				snprintf(m, sizeof(m), "%s", ctx->msg);
				bia_fail(ctx, ctx->rc,
					 "%s; or add the version with an image archive (workflow "
					 "add PATH --image-archive FILE.tar)",
					 m);
				goto failed;
			}
			wlog(logfd, "environment: container image '%s' from %s (%s), sha256:%s",
			     image, engine, reused ? "unpacked before" : "exported and unpacked",
			     oci.digest);
		}
		size_t ne = 0;
		while (oci.entrypoint && oci.entrypoint[ne])
			ne++;
		fullv = bia_calloc(ne + wargc + 1, sizeof(char *));
		for (size_t i = 0; i < ne; i++)
			fullv[i] = oci.entrypoint[i];
		for (size_t i = 0; i < wargc; i++)
			fullv[ne + i] = wargv[i];
		spec.argv = fullv;
		spec.rootfs = oci.rootfs;
		spec.env = oci.env;
		if (oci.workdir && oci.workdir[0])
			spec.workdir = oci.workdir;
		/* "sha256:<config digest>", prefixed "<engine>:" when an engine
		 * exported the image */
		snprintf(r->env_digest, sizeof(r->env_digest), "%s%ssha256:%s", engine,
			 engine[0] ? ":" : "", oci.digest);
	}

	/* inputs: the run's images, staged as <stem>.tif */
	ids = bia_json_parse(ctx, "run images", r->images, strlen(r->images));
	if (!ids || !json_is_array(ids)) {
		if (ids)
			bia_fail(ctx, BIA_ECORRUPT, "run images: not an array");
		goto failed;
	}
	nents = json_array_size(ids);
	ents = bia_calloc(nents + 1, sizeof(*ents));
	for (size_t i = 0; i < nents; i++) {
		struct bia_image_rec im;
		if (inst->ops->image_get(ctx, inst, json_integer_value(json_array_get(ids, i)), 0,
					 NULL, &im))
			goto failed;
		snprintf(ents[i].stem, sizeof(ents[i].stem), "%s", im.stem);
		ents[i].image_id = im.id;
		bia_blob_path(inst, im.digest, ents[i].path, sizeof(ents[i].path));
		/* the original name decides whether the blob can be linked as is */
		snprintf(ents[i].name, sizeof(ents[i].name), "%s", im.original_name);
	}
	if (bia_runs_stage(ctx, cls, in, ents, nents))
		goto failed;

	/* execution; a cancel request is polled in the store meanwhile */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		bia_fail(ctx, BIA_EIO, "pipe: %s", strerror(errno));
		goto failed;
	}
	struct poller pl = {.inst = inst, .run_id = r->id, .wfd = pfd[1]};
	atomic_init(&pl.stop, 0);
	pthread_t th;
	int have_th = pthread_create(&th, NULL, poll_main, &pl) == 0;
	spec.in_dir = in;
	spec.out_dir = out;
	spec.log_fd = logfd;
	spec.cancel_fd = pfd[0];
	struct bia_exec_result res;
	int erc = bia_exec_run(ctx, &spec, &res);
	atomic_store(&pl.stop, 1);
	if (have_th)
		pthread_join(th, NULL);
	close(pfd[0]);
	close(pfd[1]);
	if (erc)
		goto failed;
	r->has_exit_code = res.exit_code >= 0;
	r->exit_code = res.exit_code;
	snprintf(r->reason, sizeof(r->reason), "%s", res.reason);
	wlog(logfd, "workflow %s (%s) in %.2f s", bia_exec_status_name(res.status), res.reason,
	     res.wall_seconds);
	if (res.status != BIA_EXEC_OK) {
		const char *st = res.status == BIA_EXEC_TIMED_OUT   ? "timed_out"
				 : res.status == BIA_EXEC_CANCELLED ? "cancelled"
								    : "failed";
		rc = finish(wctx, inst, r, "running", st, logfd);
		goto out;
	}

	/* ingesting: written before it starts */
	snprintf(r->status, sizeof(r->status), "ingesting");
	snprintf(r->metrics_version, sizeof(r->metrics_version), "%s", BIA_METRICS_VERSION);
	{
		struct bia_image_rec *ims = bia_calloc(nents + 1, sizeof(*ims));
		int bad = 0;
		for (size_t i = 0; !bad && i < nents; i++)
			bad = inst->ops->image_get(ctx, inst, ents[i].image_id, 0, NULL, &ims[i]) != 0;
		if (!bad)
			bad = bia__runs_dataset_digest(ctx, inst, ims, nents, r->dataset_digest) != 0;
		free(ims);
		if (bad)
			goto failed;
	}
	int done;
	if (inst->ops->run_transition(wctx, inst, r, "running", &done)) {
		rc = wctx->rc;
		goto out;
	}
	if (!done) {
		wlog(logfd, "run changed status under the worker: left alone");
		goto out;
	}
	wlog(logfd, "ingesting %zu outputs", nents);
	/* outputs are checked within the run's own memory budget (the worker
	 * runs outside the sandbox's limits) and the instance's pixel limit */
	struct bia_ctx olim = *ctx;
	olim.max_image_bytes = spec.limits.memory_bytes;
	struct bia_metric_params mp;
	bia__runs_problem_params(&p, &mp, logfd);
	size_t nok = 0;
	for (size_t i = 0; i < nents; i++) {
		if (i)
			bia_faultsim("run.ingest");
		struct bia_run_image ri;
		memset(&ri, 0, sizeof(ri));
		ri.image_id = ents[i].image_id;
		char p1[BIA_PATH_MAX], p2[BIA_PATH_MAX];
		enum bia_output_status os = bia_runs_check_output(&olim, cls, &ents[i], out, NULL, p1, p2,
								  ri.reason, sizeof(ri.reason));
		snprintf(ri.status, sizeof(ri.status), "%s", bia_output_status_name(os));
		if (os == BIA_OUTPUT_OK) {
			const char *ps[2] = {p1, p2};
			for (size_t k = 0; k < 2 && ps[k][0]; k++) {
				if (bia_blob_put_file(ctx, inst, ps[k], ri.files[k].digest,
						      &ri.files[k].bytes, NULL))
					goto ingest_failed;
				snprintf(ri.files[k].name, sizeof(ri.files[k].name), "%s",
					 bia_path_base(ps[k]));
				ri.nfiles++;
			}
			nok++;
		} else {
			wlog(logfd, "%s: %s (scored as empty)", ents[i].stem, ri.reason);
		}
		if (bia__runs_score_image(ctx, inst, cls, &mp, os == BIA_OUTPUT_OK, p1, p2, &ri) ||
		    inst->ops->run_image_put(ctx, inst, r->id, &ri)) {
		ingest_failed:
			bia_run_image_release(&ri);
			snprintf(r->reason, sizeof(r->reason), "ingest of '%s': %s", ents[i].stem,
				 ctx->msg);
			rc = finish(wctx, inst, r, "ingesting", "failed", logfd);
			goto out;
		}
		bia_run_image_release(&ri);
	}
	snprintf(r->reason, sizeof(r->reason), "%zu of %zu outputs valid", nok, nents);
	rc = finish(wctx, inst, r, "ingesting", "succeeded", logfd);
	goto out;
failed:
	snprintf(r->reason, sizeof(r->reason), "%s", ctx->msg);
	rc = finish(wctx, inst, r, "running", "failed", logfd);
out:
	/* the outputs are blobs now; the log stays */
	remove_work_dirs(inst, r->id);
	if (logfd >= 0)
		close(logfd);
	json_decref(values);
	json_decref(ids);
	bia_argv_free(wargv);
	free(fullv);
	free(ents);
	bia_oci_image_release(&oci);
	bia_descriptor_release(&d);
	if (have_p)
		bia_problem_release(&p);
	if (have_v)
		bia_wf_version_release(&v);
	return rc;
}

/* After a run ended: a rerun gets its verdict (a failure here is logged,
 * the verdict can be computed again later). */
static void after_run(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
		      int rc)
{
	(void)ctx;
	if (rc || !r->rerun_of) /* claimed runs carry their run_reruns row */
		return;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (bia_run_reproduction(&c2, inst, r->id, NULL))
		bia_log(BIA_LOG_WARN, "run %lld: no reproduction verdict: %s", (long long)r->id,
			c2.msg);
}

int bia_worker_run(struct bia_ctx *ctx, struct bia_instance *inst, int *pdrained)
{
	*pdrained = 0;
	char runs[BIA_PATH_MAX], host[256] = "";
	snprintf(runs, sizeof(runs), "%s/runs", inst->root);
	if (bia_mkdir_p(ctx, runs))
		return ctx->rc;
	gethostname(host, sizeof(host) - 1);
	int slot = 0;
	int fd = bia_worker_lock_any(ctx, inst, &slot);
	if (fd == -2)
		return ctx->rc;
	if (fd == -1)
		return 0;
	size_t nrec;
	int rc = bia_runs_recover(ctx, inst, slot, &nrec);
	if (!rc && nrec)
		bia_log(BIA_LOG_WARN, "%zu interrupted run(s) recovered (%s)", nrec,
			bia_runs_requeue_policy(inst) ? "requeued or failed" : "marked failed");
	while (!rc) {
		struct bia_run r;
		int found;
		rc = inst->ops->run_claim(ctx, inst, (int64_t)getpid(), slot, host, &r, &found);
		if (rc)
			break;
		if (found) {
			rc = execute(ctx, inst, &r);
			after_run(ctx, inst, &r, rc);
			bia_run_release(&r);
			continue;
		}
		/* empty: release the lock, then look once more, so that a run
		 * queued while we held it is never left without a worker */
		close(fd);
		fd = bia_worker_lock_any(ctx, inst, &slot);
		if (fd < 0) {
			rc = fd == -2 ? ctx->rc : 0;
			fd = -1;
			break;
		}
		rc = inst->ops->run_claim(ctx, inst, (int64_t)getpid(), slot, host, &r, &found);
		if (rc || !found)
			break;
		rc = execute(ctx, inst, &r);
		after_run(ctx, inst, &r, rc);
		bia_run_release(&r);
	}
	if (fd >= 0)
		close(fd);
	if (!rc)
		*pdrained = 1;
	return rc;
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

json_t *bia_run_json(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
		     int detail)
{
	struct bia_problem p;
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%lld", (long long)r->problem_id);
	if (bia_problem_get(ctx, inst, pid_s, &p))
		return NULL;
	const char *main_metric = p.main_metric[0] ? p.main_metric : bia_metric_main(p.cls);
	struct bia_run_image *ri = NULL;
	size_t nri = 0;
	if (inst->ops->run_images(ctx, inst, r->id, &ri, &nri)) {
		bia_problem_release(&p);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "workflow", json_string(r->workflow));
	json_object_set_new(o, "version", json_string(r->version));
	json_object_set_new(o, "workflow_version_id", json_integer(r->workflow_version_id));
	json_object_set_new(o, "workflow_digest", json_string(r->wf_digest));
	json_object_set_new(o, "problem", json_string(r->problem));
	json_object_set_new(o, "class", json_string(bia_class_code(p.cls)));
	json_object_set_new(o, "status", json_string(r->status));
	json_object_set_new(o, "code", json_integer(bia_run_status_code(r->status)));
	json_t *params = json_loads(r->params, 0, NULL);
	json_object_set_new(o, "params", params ? params : json_object());
	json_t *ims = json_loads(r->images, 0, NULL);
	json_object_set_new(o, "images_requested", ims ? ims : json_array());
	json_object_set_new(o, "executor", json_string(r->executor));
	json_object_set_new(o, "worker_pid", json_integer(r->worker_pid));
	json_object_set_new(o, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "env_digest", json_string(r->env_digest));
	json_object_set_new(o, "dataset_digest", json_string(r->dataset_digest));
	json_object_set_new(o, "metrics_version", json_string(r->metrics_version));
	json_object_set_new(o, "host", json_string(r->host));
	json_object_set_new(o, "created_at", json_string(r->created));
	json_object_set_new(o, "started_at", json_string(r->started));
	json_object_set_new(o, "finished_at", json_string(r->finished));
	time_t t0 = parse_iso(r->started), t1 = parse_iso(r->finished);
	json_object_set_new(o, "duration",
			    t0 != (time_t)-1 && t1 != (time_t)-1 ? json_integer((json_int_t)(t1 - t0))
								 : json_null());
	json_object_set_new(o, "cancel_requested", json_boolean(r->cancel_requested));
	json_t *lim = json_loads(r->limits[0] ? r->limits : "{}", 0, NULL);
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
		json_t *vd = json_loads(r->verdict_detail, 0, NULL);
		json_object_set_new(o, "reproduction_detail", vd ? vd : json_object());
	}
	json_object_set_new(o, "main_metric", json_string(main_metric));

	size_t nm;
	const struct bia_metric_def *defs = bia_metric_class(p.cls, &nm);
	double *vals = bia_calloc(nm * (nri + 1) + 1, sizeof(double));
	size_t *cnt = bia_calloc(nm + 1, sizeof(size_t));
	json_t *images = json_array(), *run_warnings = json_array(), *warn_index = json_object();
	for (size_t i = 0; i < nri; i++) {
		json_t *im = json_object(), *m = json_object(), *files = json_array();
		int64_t gtv = 0;
		json_object_set_new(im, "id", json_integer(ri[i].image_id));
		json_object_set_new(im, "stem", json_string(ri[i].stem));
		json_object_set_new(im, "status", json_string(ri[i].status));
		json_object_set_new(im, "reason", json_string(ri[i].reason));
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
	bia_problem_release(&p);
	return o;
}
