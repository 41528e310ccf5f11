/* The worker: claims queued runs and takes each through prepare (the
 * workflow's files, its execution plan, the staged inputs), submit (to the
 * run's executor; the job id is stored on the run), attach (waiting for
 * the end, cancelling the job when a cancel is requested) and ingest (the
 * outputs checked, stored and scored). docs/runs.md "Worker".
 * SPDX-License-Identifier: MIT */
#include "dataset/derived.h"
#include "runs/runs_int.h"
#include "metrics/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define wlog bia__runs_log

void bia__runs_log(int fd, int64_t run_id, const char *fmt, ...)
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
	struct bia_run_event ev = {BIA_RUN_EVENT_LOG, run_id, BIA_RUN_RUNNING, line + 21,
				   len - 21};
	bia_run_publish(&ev);
	line[len++] = '\n';
	(void)bia_write_all(fd, line, len);
}

/* The workflow's output lines, published as they are written. */
static void publish_log_line(void *user, const char *line, size_t n)
{
	const int64_t *id = user;
	struct bia_run_event ev = {BIA_RUN_EVENT_LOG, *id, BIA_RUN_RUNNING, line, n};
	bia_run_publish(&ev);
}

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

/* True if the version has a file at this relative path. */
static int has_file(const struct bia_wf_version *v, const char *path)
{
	for (size_t i = 0; i < v->nfiles; i++)
		if (!strcmp(v->files[i].path, path))
			return 1;
	return 0;
}

/* The workflow's files from their blobs into app/. */
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

/* One run being executed. */
struct job {
	struct bia_instance *inst;
	struct bia_run *r;
	int logfd;
	char dir[BIA_PATH_MAX], app[BIA_PATH_MAX], in[BIA_PATH_MAX], out[BIA_PATH_MAX];
	struct bia_problem p;
	int have_p;
	struct bia_exec_plan plan;
	int have_plan;
	struct bia_stage_entry *ents;
	size_t nents;
	const struct bia_executor *ex;
	int64_t run_id; /* for the log callback */
	struct bia_job_opts jo;	/* for the executor */
	char job_dir[BIA_PATH_MAX], job_name[BIA_JOB_NAME_MAX];
	struct bia_run_overrides ov;
};

static void job_release(struct job *j)
{
	if (j->have_plan)
		bia_exec_plan_release(&j->plan);
	if (j->have_p)
		bia_problem_release(&j->p);
	free(j->ents);
	if (j->logfd >= 0)
		close(j->logfd);
}

/* Store the final state of a run. The log line comes first, so that a
 * follower that sees the final state finds it in the log. */
static int finish(struct bia_ctx *ctx, struct job *j, enum bia_run_state st)
{
	struct bia_run *r = j->r;
	bia_now_iso(r->finished);
	const char *why = r->reason ? r->reason : "";
	wlog(j->logfd, r->id, "run %s%s%s", bia_run_state_name(st), why[0] ? ": " : "", why);
	int done;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (bia_run_transition(&c2, j->inst, r, st, &done)) {
		wlog(j->logfd, r->id, "cannot record the status: %s", c2.msg);
		return bia_fail(ctx, c2.rc, "%s", c2.msg);
	}
	if (!done) {
		wlog(j->logfd, r->id, "not recorded: the run changed under the worker");
		return 0;
	}
	/* the summary lists show; a failure only costs lists a computation */
	if (bia_run_summarize(&c2, j->inst, r->id))
		wlog(j->logfd, r->id, "no summary kept: %s", c2.msg);
	return 0;
}

/* The executor's options: the job folder, the cluster resources of the
 * descriptor and the run's overrides, the instance's SLURM settings
 * (config "slurm": {"partition", "batch_size"}). */
static void job_opts(struct job *j)
{
	const json_t *sc = j->inst->config ? json_object_get(j->inst->config, "slurm") : NULL;
	const json_t *bs = json_object_get(sc, "batch_size");
	const char *part = bia_json_str(sc, "partition", "");
	snprintf(j->job_dir, sizeof(j->job_dir), "%s/job", j->dir);
	j->jo.dir = j->job_dir;
	j->jo.name = j->job_name;
	j->jo.cpus = j->ov.cpus ? j->ov.cpus : j->plan.d.resources.cpus;
	j->jo.gpus = j->ov.gpus ? j->ov.gpus
				: j->plan.d.resources.gpus > 0 ? j->plan.d.resources.gpus : 0;
	j->jo.partition = j->ov.partition[0] ? j->ov.partition : part;
	j->jo.batch_size = j->ov.batch_size ? (size_t)j->ov.batch_size
			   : json_is_integer(bs) && json_integer_value(bs) > 0
				   ? (size_t)json_integer_value(bs)
				   : 0;
}

/* prepare: folders, the workflow's files, the plan, the staged inputs;
 * resuming (a job submitted by a worker that died), only what ingest
 * needs: the files and inputs are in place. */
static int prepare(struct bia_ctx *ctx, struct job *j, int resume)
{
	struct bia_instance *inst = j->inst;
	struct bia_run *r = j->r;
	struct bia_wf_version v;
	if (bia_mkdir_p(ctx, j->app) || bia_mkdir_p(ctx, j->in) || bia_mkdir_p(ctx, j->out))
		return ctx->rc;
	if (bia_store_wf_get(ctx, inst, r->workflow, r->version, &v))
		return ctx->rc;
	int rc = bia_problem_get_id(ctx, inst, r->problem_id, &j->p);
	j->have_p = rc == 0;
	if (!rc && !resume)
		rc = materialise(ctx, inst, &v, j->app);
	char envs[BIA_PATH_MAX], archive[BIA_PATH_MAX] = "";
	snprintf(envs, sizeof(envs), "%s/envs", inst->root);
	/* a BIAFLOWS container-image whose archive was attached with
	 * `workflow add --image-archive` runs from that archive */
	if (!rc && has_file(&v, BIA_WF_DEFAULT_ARCHIVE))
		rc = bia_path_join(ctx, archive, sizeof(archive), j->app, BIA_WF_DEFAULT_ARCHIVE);
	bia_run_overrides_parse(r->limits, &j->ov);
	int no_engine = 0;
	struct bia_plan_request req = {.descriptor = v.descriptor,
				       .app_dir = j->app,
				       .archive = archive[0] ? archive : NULL,
				       .envs_dir = envs,
				       .values = r->params,
				       .limits = &j->ov,
				       .no_engine = &no_engine};
	if (!rc) {
		rc = bia_exec_plan_make(ctx, &req, &j->plan);
		j->have_plan = rc == 0;
		if (rc && no_engine) {
			char m[sizeof(ctx->msg)];
			snprintf(m, sizeof(m), "%s", ctx->msg);
			bia_fail(ctx, ctx->rc,
				 "%s; or add the version with an image archive (workflow add PATH "
				 "--image-archive FILE.tar)",
				 m);
		}
	}
	bia_wf_version_release(&v);
	if (rc)
		return rc;
	j->plan.spec.limits.log_bytes = inst->limits.max_log_bytes; /* the instance's */
	const struct bia_exec_limits *lim = &j->plan.spec.limits;
	wlog(j->logfd, r->id,
	     "limits: %.0f s, %llu bytes, %u processes, %u open files, %llu output bytes "
	     "(attempt %d)",
	     lim->wall_seconds, (unsigned long long)lim->memory_bytes, lim->max_procs,
	     lim->max_open_files, (unsigned long long)lim->out_bytes, r->attempts);
	if (j->plan.env_note[0])
		wlog(j->logfd, r->id, "%s", j->plan.env_note);
	snprintf(r->env_digest, sizeof(r->env_digest), "%s", j->plan.env_digest);
	/* inputs: the run's images, staged as <stem>.tif */
	json_t *ids = bia_json_parse(ctx, "run images", r->images, strlen(r->images));
	if (!ids || !json_is_array(ids)) {
		if (ids)
			bia_fail(ctx, BIA_ECORRUPT, "run images: not an array");
		json_decref(ids);
		return ctx->rc;
	}
	j->nents = json_array_size(ids);
	j->ents = bia_calloc(j->nents + 1, sizeof(*j->ents));
	for (size_t i = 0; !rc && i < j->nents; i++) {
		struct bia_image_rec im;
		rc = bia_store_image_get(ctx, inst, json_integer_value(json_array_get(ids, i)), &im);
		if (rc)
			break;
		snprintf(j->ents[i].stem, sizeof(j->ents[i].stem), "%s", im.stem);
		j->ents[i].image_id = im.id;
		bia_blob_path(inst, im.digest, j->ents[i].path, sizeof(j->ents[i].path));
		/* the original name decides whether the blob can be linked as is */
		snprintf(j->ents[i].name, sizeof(j->ents[i].name), "%s", im.original_name);
	}
	json_decref(ids);
	if (!rc)
		rc = resume ? bia_runs_staged_shapes(ctx, j->p.cls, j->in, j->ents, j->nents)
			    : bia_runs_stage(ctx, j->p.cls, j->in, j->ents, j->nents);
	if (!rc)
		job_opts(j);
	return rc;
}

/* Watches for a cancel request while the job runs: woken by the runs
 * follower (any process's cancel touches runs/.events), it reads the run
 * and asks the executor to cancel. Also hosts the run.exec fault site. */
struct watcher {
	struct bia_instance *inst;
	const struct bia_executor *ex;
	const char *job;
	int64_t run_id;
	int stop_fd; /* eventfd: written when the job ended */
};

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_run_follower f;
	bia_run_follow_open(&ctx, w->inst, NULL, &f);
	int faulted = 0;
	for (;;) {
		/* the fault site once the workflow has started (300 ms in) */
		int got = bia_run_follow_wait(&f, faulted ? 1000 : 300, w->stop_fd);
		if (!faulted) {
			faulted = 1;
			bia_faultsim("run.exec");
		}
		if (got == 2)
			break;
		struct bia_run r;
		if (bia_store_run_get(&ctx, w->inst, w->run_id, &r) == 0) {
			int c = r.cancel_requested;
			bia_run_release(&r);
			if (c) {
				w->ex->cancel(&ctx, w->job);
				break;
			}
		}
		bia_ctx_clear(&ctx);
	}
	bia_run_follow_close(&f);
	return NULL;
}

/* Store r->job (and host) on the run; a line in the log when it cannot. */
static void store_job(struct job *j, const char *job, const char *host)
{
	struct bia_run *r = j->r;
	int done = 0;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (bia_run_set(&r->job, "%s", job) == 0) {
		if (host && host[0])
			snprintf(r->host, sizeof(r->host), "%s", host);
		if (bia_run_transition(&c2, j->inst, r, r->state, &done) || !done)
			wlog(j->logfd, r->id, "cannot record the job id: %s",
			     c2.msg[0] ? c2.msg : "the run changed");
	}
}

/* submit (unless resuming a stored job) and attach: the job runs; its id
 * is stored on the run first. A remote executor's job name is stored
 * before it is submitted, so that a worker dying in between leaves a
 * name to find (and cancel) rather than an untraceable job. */
static int run_job(struct bia_ctx *ctx, struct job *j, int resume, struct bia_exec_result *res)
{
	struct bia_run *r = j->r;
	struct bia_exec_spec *spec = &j->plan.spec;
	spec->in_dir = j->in;
	spec->out_dir = j->out;
	spec->log_fd = j->logfd;
	spec->on_log_line = publish_log_line;
	spec->log_user = &j->run_id;
	char job[BIA_JOB_ID_MAX], host[256] = "";
	if (resume) {
		snprintf(job, sizeof(job), "%s", r->job ? r->job : "");
	} else {
		unsigned char rnd[4] = {0};
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd[0] = (unsigned char)getpid();
		snprintf(j->job_name, sizeof(j->job_name), "bia-r%lld-a%d-%02x%02x%02x%02x",
			 (long long)r->id, r->attempts, rnd[0], rnd[1], rnd[2], rnd[3]);
		if (j->ex->remote) {
			snprintf(job, sizeof(job), "pending:%s:%lld", j->job_name,
				 (long long)time(NULL));
			store_job(j, job, NULL);
		}
		if (j->ex->submit(ctx, spec, &j->jo, job, host, sizeof(host)))
			return ctx->rc;
		store_job(j, job, host);
		if (j->ex->remote)
			wlog(j->logfd, r->id, "submitted %s job %s", j->ex->name, job);
	}
	struct watcher w = {j->inst, j->ex, job, r->id, eventfd(0, EFD_CLOEXEC)};
	pthread_t th;
	int have_th = w.stop_fd >= 0 && pthread_create(&th, NULL, watch_main, &w) == 0;
	int rc = j->ex->attach(ctx, job, spec, &j->jo, res);
	if (have_th) {
		uint64_t one = 1;
		(void)!write(w.stop_fd, &one, sizeof(one));
		pthread_join(th, NULL);
	}
	if (w.stop_fd >= 0)
		close(w.stop_fd);
	return rc;
}

/* ingest: every output checked (header first), stored and scored. */
static int ingest(struct bia_ctx *ctx, struct bia_ctx *wctx, struct job *j)
{
	struct bia_instance *inst = j->inst;
	struct bia_run *r = j->r;
	snprintf(r->metrics_version, sizeof(r->metrics_version), "%s", BIA_METRICS_VERSION);
	{
		struct bia_image_rec *ims = bia_calloc(j->nents + 1, sizeof(*ims));
		int bad = 0;
		for (size_t i = 0; !bad && i < j->nents; i++)
			bad = bia_store_image_get(ctx, inst, j->ents[i].image_id, &ims[i]) != 0;
		if (!bad)
			bad = bia__runs_dataset_digest(ctx, inst, ims, j->nents,
						       r->dataset_digest) != 0;
		free(ims);
		if (bad)
			return -1; /* a failure of the run */
	}
	int done;
	if (bia_run_transition(wctx, inst, r, BIA_RUN_INGESTING, &done))
		return wctx->rc;
	if (!done) {
		wlog(j->logfd, r->id, "run changed status under the worker: left alone");
		return 0;
	}
	wlog(j->logfd, r->id, "ingesting %zu outputs", j->nents);
	/* outputs are checked within the run's own memory budget (the worker
	 * runs outside the sandbox's limits) and the instance's pixel limit */
	struct bia_ctx olim = *ctx;
	olim.max_image_bytes = j->plan.spec.limits.memory_bytes;
	struct bia_metric_params mp;
	bia__runs_problem_params(&j->p, &mp, j->logfd);
	size_t nok = 0;
	for (size_t i = 0; i < j->nents; i++) {
		if (i)
			bia_faultsim("run.ingest");
		struct bia_run_image ri;
		memset(&ri, 0, sizeof(ri));
		ri.image_id = j->ents[i].image_id;
		char p1[BIA_PATH_MAX], p2[BIA_PATH_MAX], reason[1024] = "";
		enum bia_output_status os = bia_runs_check_output(
			&olim, j->p.cls, &j->ents[i], j->out, NULL, p1, p2, reason, sizeof(reason));
		snprintf(ri.status, sizeof(ri.status), "%s", bia_output_status_name(os));
		ri.reason = bia_strdup(reason);
		int failed = 0;
		if (os == BIA_OUTPUT_OK) {
			const char *ps[2] = {p1, p2};
			for (size_t k = 0; k < 2 && ps[k][0] && !failed; k++) {
				if (bia_blob_put_file(ctx, inst, ps[k], ri.files[k].digest,
						      &ri.files[k].bytes, NULL)) {
					failed = 1;
					break;
				}
				snprintf(ri.files[k].name, sizeof(ri.files[k].name), "%s",
					 bia_path_base(ps[k]));
				ri.nfiles++;
			}
			nok++;
		} else {
			wlog(j->logfd, r->id, "%s: %s (scored as empty)", j->ents[i].stem, reason);
		}
		if (failed ||
		    bia__runs_score_image(ctx, inst, j->p.cls, &mp, os == BIA_OUTPUT_OK, p1, p2,
					  &ri) ||
		    bia_store_run_image_put(ctx, inst, r->id, &ri)) {
			bia_run_image_release(&ri);
			bia_run_set(&r->reason, "ingest of '%s': %s", j->ents[i].stem, ctx->msg);
			return finish(wctx, j, BIA_RUN_FAILED);
		}
		bia_run_image_release(&ri);
	}
	/* the outputs' label pyramids (docs/images.md): a failure is logged,
	 * the run stands; under serve the server's thread builds them */
	for (size_t i = 0; i < j->nents && !inst->derive_in_background; i++) {
		struct bia_derive_stats ds;
		struct bia_ctx c2;
		bia_instance_ctx(inst, &c2);
		if (bia_derived_ensure(&c2, inst, j->ents[i].image_id, 0, &ds))
			wlog(j->logfd, r->id, "pyramids of '%s': %s", j->ents[i].stem, c2.msg);
		size_t k;
		json_t *e;
		json_array_foreach(ds.errors, k, e)
			wlog(j->logfd, r->id, "pyramid of '%s' (%s): %s", j->ents[i].stem,
			     json_string_value(json_object_get(e, "layer")),
			     json_string_value(json_object_get(e, "error")));
		bia_derive_stats_release(&ds);
	}
	bia_run_set(&r->reason, "%zu of %zu outputs valid", nok, j->nents);
	return finish(wctx, j, BIA_RUN_SUCCEEDED);
}

/* Execute one claimed (running) run to its final state; resume: its job
 * was submitted by a worker that died, attach to it. Errors of the run
 * itself are recorded on it; the return value is for store errors. */
static int execute(struct bia_ctx *wctx, struct bia_instance *inst, struct bia_run *r,
		   int resume)
{
	struct bia_ctx cx, *ctx = &cx;
	bia_instance_ctx(inst, ctx);
	struct job j;
	memset(&j, 0, sizeof(j));
	j.inst = inst;
	j.r = r;
	j.run_id = r->id;
	j.logfd = -1;
	char lp[BIA_PATH_MAX];
	bia_run_dir(inst, r->id, j.dir, sizeof(j.dir));
	snprintf(j.app, sizeof(j.app), "%s/app", j.dir);
	snprintf(j.in, sizeof(j.in), "%s/in", j.dir);
	snprintf(j.out, sizeof(j.out), "%s/out", j.dir);
	bia_run_log_path(inst, r->id, lp, sizeof(lp));
	int rc = 0;
	if (bia_mkdir_p(ctx, j.dir) == 0)
		j.logfd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (resume)
		wlog(j.logfd, r->id, "run %lld: worker pid %ld re-attaches to job %s",
		     (long long)r->id, (long)getpid(), r->job);
	else
		wlog(j.logfd, r->id, "run %lld of %s@%s on problem %s: running (worker pid %ld)",
		     (long long)r->id, r->workflow, r->version, r->problem, (long)getpid());
	j.ex = bia_executor_find(r->executor);
	if (!j.ex) {
		bia_fail(ctx, BIA_EUNSUPPORTED, "executor '%s' is not available", r->executor);
		goto failed;
	}
	if (prepare(ctx, &j, resume))
		goto failed;
	struct bia_exec_result res;
	if (run_job(ctx, &j, resume, &res))
		goto failed;
	r->has_exit_code = res.exit_code >= 0;
	r->exit_code = res.exit_code;
	bia_run_set(&r->reason, "%s", res.reason);
	wlog(j.logfd, r->id, "workflow %s (%s) in %.2f s", bia_exec_status_name(res.status),
	     res.reason, res.wall_seconds);
	if (res.status != BIA_EXEC_OK) {
		rc = finish(wctx, &j, res.status == BIA_EXEC_TIMED_OUT   ? BIA_RUN_TIMED_OUT
				      : res.status == BIA_EXEC_CANCELLED ? BIA_RUN_CANCELLED
									 : BIA_RUN_FAILED);
		goto out;
	}
	rc = ingest(ctx, wctx, &j);
	if (rc == -1)
		goto failed;
	goto out;
failed:
	bia_run_set(&r->reason, "%s", ctx->msg);
	rc = finish(wctx, &j, BIA_RUN_FAILED);
out:
	/* the outputs are blobs now; the log stays */
	bia__runs_remove_work_dirs(inst, r->id);
	job_release(&j);
	return rc;
}

/* After a run ended: a rerun gets its verdict (a failure here is logged,
 * the verdict can be computed again later). */
static void after_run(struct bia_instance *inst, const struct bia_run *r, int rc)
{
	if (rc || !r->rerun_of) /* claimed runs carry their run_reruns row */
		return;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (bia_run_reproduction(&c2, inst, r->id, NULL))
		bia_log(BIA_LOG_WARN, "run %lld: no reproduction verdict: %s", (long long)r->id,
			c2.msg);
}

/* Claim and execute one run; *pfound = 0 when the queue is empty. */
static int one_run(struct bia_ctx *ctx, struct bia_instance *inst, int slot, const char *host,
		   int *pfound)
{
	struct bia_run r;
	if (bia_run_claim(ctx, inst, (int64_t)getpid(), slot, host, &r, pfound))
		return ctx->rc;
	if (!*pfound)
		return 0;
	int rc = execute(ctx, inst, &r, 0);
	after_run(inst, &r, rc);
	bia_run_release(&r);
	return rc;
}

/* Re-attach to the jobs of a remote executor (SLURM) whose worker died:
 * each such run is taken over (its worker fields rewritten, one
 * conditional transition, so two workers never both take it) and followed
 * to its end, outputs ingested as if its worker had lived. *pn: how many. */
static int adopt_orphans(struct bia_ctx *ctx, struct bia_instance *inst, int slot,
			 const char *host, size_t *pn)
{
	*pn = 0;
	struct bia_run *v;
	size_t n;
	if (bia__runs_unfinished(ctx, inst, &v, &n))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		struct bia_run *r = &v[i];
		if (!bia__runs_adoptable(inst, r, slot))
			continue;
		int done = 0;
		r->worker_pid = (int64_t)getpid();
		r->worker_slot = slot;
		snprintf(r->host, sizeof(r->host), "%s", host);
		if (bia_run_transition(ctx, inst, r, r->state, &done))
			break;
		if (!done)
			continue; /* another worker took it first */
		(*pn)++;
		rc = execute(ctx, inst, r, 1);
		after_run(inst, r, rc);
	}
	bia_run_list_free(v, n);
	return rc;
}

static void host_name(char *host, size_t n)
{
	host[0] = '\0';
	gethostname(host, n - 1);
	host[n - 1] = '\0';
}

int bia_worker_run(struct bia_ctx *ctx, struct bia_instance *inst, int *pdrained)
{
	*pdrained = 0;
	char runs[BIA_PATH_MAX], host[256];
	snprintf(runs, sizeof(runs), "%s/runs", inst->root);
	if (bia_mkdir_p(ctx, runs))
		return ctx->rc;
	host_name(host, sizeof(host));
	int slot = 0;
	int fd = bia_worker_lock_any(ctx, inst, &slot);
	if (fd == -2)
		return ctx->rc;
	if (fd == -1)
		return 0;
	size_t nrec, nadopt = 0;
	int rc = bia_runs_recover(ctx, inst, slot, &nrec);
	if (!rc && nrec)
		bia_log(BIA_LOG_WARN, "%zu interrupted run(s) recovered (%s)", nrec,
			bia_runs_requeue_policy(inst) ? "requeued or failed" : "marked failed");
	if (!rc)
		rc = adopt_orphans(ctx, inst, slot, host, &nadopt);
	while (!rc) {
		int found;
		rc = one_run(ctx, inst, slot, host, &found);
		if (rc || found)
			continue;
		/* empty: release the lock, then look once more, so that a run
		 * queued while we held it is never left without a worker */
		close(fd);
		fd = bia_worker_lock_any(ctx, inst, &slot);
		if (fd < 0) {
			rc = fd == -2 ? ctx->rc : 0;
			fd = -1;
			break;
		}
		rc = one_run(ctx, inst, slot, host, &found);
		if (rc || !found)
			break;
	}
	if (fd >= 0)
		close(fd);
	if (!rc)
		*pdrained = 1;
	return rc;
}

int bia_worker_loop(struct bia_ctx *ctx, struct bia_worker_loop *w)
{
	struct bia_instance *inst = w->inst;
	char runs[BIA_PATH_MAX], host[256];
	snprintf(runs, sizeof(runs), "%s/runs", inst->root);
	if (bia_mkdir_p(ctx, runs))
		return ctx->rc;
	host_name(host, sizeof(host));
	int idle = w->idle_ms > 0 ? w->idle_ms : 2000;
	struct bia_run_follower f;
	if (bia_run_follow_open(ctx, inst, NULL, &f))
		return ctx->rc;
	int fd = -1, slot = 0, rc = 0;
	while (!rc && !atomic_load(&w->stop)) {
		if (fd < 0) {
			fd = bia_worker_lock_any(ctx, inst, &slot);
			if (fd == -2) {
				rc = ctx->rc;
				break;
			}
			if (fd >= 0) {
				size_t nrec, nadopt;
				if ((rc = bia_runs_recover(ctx, inst, slot, &nrec)) ||
				    (rc = adopt_orphans(ctx, inst, slot, host, &nadopt)))
					break;
				w->runs_done += nadopt;
			}
		}
		int found = 0;
		if (fd >= 0 && (rc = one_run(ctx, inst, slot, host, &found)))
			break;
		if (found) {
			w->runs_done++;
			continue;
		}
		/* nothing to do (or every slot held): wait for a change */
		if (bia_run_follow_wait(&f, idle, w->wake_fd) == 2 && w->wake_fd >= 0) {
			uint64_t x;
			(void)!read(w->wake_fd, &x, sizeof(x));
		}
	}
	if (fd >= 0)
		close(fd);
	bia_run_follow_close(&f);
	return rc;
}
