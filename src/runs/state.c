/* Run states: the one transition function, the rules built on it (claim,
 * cancel, requeue, recovery), and events (in-process subscribers, and a
 * touched file other processes follow). docs/runs.md "States", "Events".
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------------- states */

int bia_run_state_final(enum bia_run_state s)
{
	return s == BIA_RUN_SUCCEEDED || s == BIA_RUN_FAILED || s == BIA_RUN_CANCELLED ||
	       s == BIA_RUN_TIMED_OUT;
}

int bia_run_state_code(enum bia_run_state s)
{
	switch (s) {
	case BIA_RUN_QUEUED: return 1;
	case BIA_RUN_RUNNING:
	case BIA_RUN_INGESTING: return 2;
	case BIA_RUN_SUCCEEDED: return 3;
	case BIA_RUN_FAILED:
	case BIA_RUN_TIMED_OUT: return 4;
	case BIA_RUN_CANCELLED: return 8;
	default: return 0;
	}
}

int bia_run_transition_allowed(enum bia_run_state from, enum bia_run_state to)
{
	if ((unsigned)from >= BIA_RUN_STATE_COUNT || (unsigned)to >= BIA_RUN_STATE_COUNT)
		return 0;
	if (from == to)
		return 1;
	switch (from) {
	case BIA_RUN_QUEUED: return to == BIA_RUN_RUNNING || to == BIA_RUN_CANCELLED;
	case BIA_RUN_RUNNING:
		return to == BIA_RUN_INGESTING || to == BIA_RUN_FAILED || to == BIA_RUN_CANCELLED ||
		       to == BIA_RUN_TIMED_OUT || to == BIA_RUN_QUEUED;
	case BIA_RUN_INGESTING:
		return to == BIA_RUN_SUCCEEDED || to == BIA_RUN_FAILED || to == BIA_RUN_QUEUED;
	default: return 0; /* final */
	}
}

int bia_run_transition(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r,
		       enum bia_run_state to, int *pdone)
{
	*pdone = 0;
	enum bia_run_state from = r->state;
	if (!bia_run_transition_allowed(from, to))
		return bia_fail(ctx, BIA_EINVAL, "run %lld cannot go from %s to %s",
				(long long)r->id, bia_run_state_name(from), bia_run_state_name(to));
	r->state = to;
	int rc = bia_store_run_update(ctx, inst, r, bia_run_state_name(from), pdone);
	if (rc || !*pdone) {
		r->state = from;
		return rc;
	}
	if (from != to) {
		const char *why = r->reason ? r->reason : "";
		struct bia_run_event ev = {BIA_RUN_EVENT_STATE, r->id, to, why, strlen(why)};
		bia_run_publish(&ev);
		bia_runs_notify(inst);
	}
	return 0;
}

/* ---------------------------------------------------------------- events */

#define MAX_SUBSCRIBERS 64

static pthread_mutex_t sub_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bia_run_event_fn fn;
	void *user;
	int token;
} subs[MAX_SUBSCRIBERS];
static int next_token = 1;

int bia_run_subscribe(bia_run_event_fn fn, void *user)
{
	int token = 0;
	pthread_mutex_lock(&sub_mu);
	for (int i = 0; i < MAX_SUBSCRIBERS; i++)
		if (!subs[i].fn) {
			subs[i].fn = fn;
			subs[i].user = user;
			subs[i].token = token = next_token++;
			break;
		}
	pthread_mutex_unlock(&sub_mu);
	return token;
}

void bia_run_unsubscribe(int token)
{
	pthread_mutex_lock(&sub_mu);
	for (int i = 0; i < MAX_SUBSCRIBERS; i++)
		if (subs[i].fn && subs[i].token == token)
			subs[i].fn = NULL;
	pthread_mutex_unlock(&sub_mu);
}

/* Subscribers are called under the lock: one unsubscribing cannot be
 * called after bia_run_unsubscribe returned. */
void bia_run_publish(const struct bia_run_event *ev)
{
	pthread_mutex_lock(&sub_mu);
	for (int i = 0; i < MAX_SUBSCRIBERS; i++)
		if (subs[i].fn)
			subs[i].fn(subs[i].user, ev);
	pthread_mutex_unlock(&sub_mu);
}

static void events_path(const struct bia_instance *inst, char *p, size_t psz)
{
	snprintf(p, psz, "%s/runs/.events", inst->root);
}

void bia_runs_notify(const struct bia_instance *inst)
{
	char p[BIA_PATH_MAX];
	events_path(inst, p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return; /* followers fall back to their timeout */
	futimens(fd, NULL);
	close(fd);
}

int bia_run_follow_open(struct bia_ctx *ctx, const struct bia_instance *inst,
			const char *log_path, struct bia_run_follower *f)
{
	char p[BIA_PATH_MAX];
	memset(f, 0, sizeof(*f));
	f->wd_events = f->wd_log = -1;
	/* processes on other hosts share the store, not runs/.events: their
	 * changes come as the store's notifications (a follower without them
	 * is still paced by its timeout) */
	struct bia_ctx lctx;
	bia_ctx_init(&lctx);
	if (bia_store_listen(&lctx, (struct bia_instance *)inst, &f->listener))
		bia_log(BIA_LOG_WARN, "run events: %s (polling instead)", lctx.msg);
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ifd < 0)
		return 0; /* no inotify: the caller's timeout paces it */
	snprintf(p, sizeof(p), "%s/runs", inst->root);
	if (bia_mkdir_p(ctx, p))
		return ctx->rc;
	events_path(inst, p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	/* bia_runs_notify touches it (futimens): one IN_ATTRIB per change */
	f->wd_events = inotify_add_watch(f->ifd, p, IN_ATTRIB);
	if (log_path) {
		snprintf(f->log, sizeof(f->log), "%s", log_path);
		f->wd_log = inotify_add_watch(f->ifd, log_path, IN_MODIFY);
	}
	return 0;
}

int bia_run_follow_wait(struct bia_run_follower *f, int timeout_ms, int wake_fd)
{
	struct pollfd pf[3];
	int np = 0;
	int lfd = f->listener ? bia_store_listener_fd(f->listener) : -1;
	if (f->ifd >= 0)
		pf[np++] = (struct pollfd){f->ifd, POLLIN, 0};
	if (lfd >= 0)
		pf[np++] = (struct pollfd){lfd, POLLIN, 0};
	if (wake_fd >= 0)
		pf[np++] = (struct pollfd){wake_fd, POLLIN, 0};
	/* a log that did not exist yet when the follower opened */
	if (f->ifd >= 0 && f->log[0] && f->wd_log < 0)
		f->wd_log = inotify_add_watch(f->ifd, f->log, IN_MODIFY);
	int n = poll(pf, (nfds_t)np, timeout_ms);
	if (n <= 0)
		return 0;
	int changed = 0;
	for (int i = 0; i < np; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].fd == wake_fd)
			return 2;
		changed = 1;
		if (pf[i].fd == lfd) {
			if (bia_store_listener_drain(f->listener)) {
				/* the connection is lost: the timeout paces us */
				bia_store_listener_close(f->listener);
				f->listener = NULL;
			}
			continue;
		}
		char buf[4096];
		while (read(f->ifd, buf, sizeof(buf)) > 0)
			;
		changed = 1;
	}
	return changed;
}

void bia_run_follow_close(struct bia_run_follower *f)
{
	bia_store_listener_close(f->listener);
	f->listener = NULL;
	if (f->ifd >= 0)
		close(f->ifd);
	f->ifd = -1;
}

int bia_run_events_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			int64_t after, json_t **pout)
{
	struct bia_run_event_rec *v;
	size_t n;
	*pout = NULL;
	if (bia_store_run_events(ctx, inst, run_id, after, 0, &v, &n))
		return ctx->rc;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s, s:s}", "id",
						   (json_int_t)v[i].id, "run", (json_int_t)v[i].run_id,
						   "state", bia_run_state_name(v[i].state), "reason",
						   v[i].reason ? v[i].reason : "", "at", v[i].at));
	bia_run_events_free(v, n);
	*pout = a;
	return 0;
}

/* ------------------------------------------------------------------ rules */

static int claim_once(struct bia_ctx *ctx, struct bia_instance *inst, int64_t pid, int slot,
		      const char *host, struct bia_run *out, int *pfound);

/* A claim that lost to another writer (a deadlock or serialization failure
 * of PostgreSQL, or SQLite's busy timeout: BIA_EBUSY, its transaction
 * rolled back) is tried twice more. */
int bia_run_claim(struct bia_ctx *ctx, struct bia_instance *inst, int64_t pid, int slot,
		  const char *host, struct bia_run *out, int *pfound)
{
	for (int attempt = 0;; attempt++) {
		int rc = claim_once(ctx, inst, pid, slot, host, out, pfound);
		if (rc != BIA_EBUSY || attempt == 2)
			return rc;
		bia_ctx_clear(ctx);
		usleep(20000 * (attempt + 1));
	}
}

static int claim_once(struct bia_ctx *ctx, struct bia_instance *inst, int64_t pid, int slot,
		      const char *host, struct bia_run *out, int *pfound)
{
	int64_t id = 0;
	int done = 0;
	*pfound = 0;
	memset(out, 0, sizeof(*out));
	if (bia_store_begin(ctx, inst))
		return ctx->rc;
	if (bia_store_run_next_queued(ctx, inst, &id))
		goto fail;
	if (!id) {
		bia_store_rollback(inst);
		return 0;
	}
	if (bia_store_run_get(ctx, inst, id, out))
		goto fail;
	out->worker_pid = pid;
	out->worker_slot = slot;
	snprintf(out->host, sizeof(out->host), "%s", host);
	bia_now_iso(out->started);
	out->attempts++;
	free(out->job);
	out->job = NULL;
	if (bia_run_transition(ctx, inst, out, BIA_RUN_RUNNING, &done))
		goto fail;
	if (bia_store_commit(ctx, inst))
		goto fail;
	bia_runs_notify(inst);
	*pfound = done;
	if (!done)
		bia_run_release(out);
	return 0;
fail:
	bia_store_rollback(inst);
	bia_run_release(out);
	return ctx->rc;
}

int bia_run_cancel(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, char pstate[16])
{
	struct bia_run r;
	int done = 0;
	if (bia_store_begin(ctx, inst))
		return ctx->rc;
	if (bia_store_run_get(ctx, inst, id, &r)) {
		bia_store_rollback(inst);
		return ctx->rc;
	}
	int rc = 0;
	if (r.state == BIA_RUN_QUEUED) {
		r.cancel_requested = 1;
		bia_now_iso(r.finished);
		rc = bia_run_set(&r.reason, "cancelled while queued")
			     ? bia_fail(ctx, BIA_ENOMEM, "out of memory")
			     : bia_run_transition(ctx, inst, &r, BIA_RUN_CANCELLED, &done);
		snprintf(pstate, 16, "dequeued");
	} else if (r.state == BIA_RUN_RUNNING || r.state == BIA_RUN_INGESTING) {
		r.cancel_requested = 1;
		rc = bia_run_transition(ctx, inst, &r, r.state, &done);
		snprintf(pstate, 16, "requested");
	} else {
		snprintf(pstate, 16, "%s", bia_run_state_name(r.state));
	}
	if (!rc)
		rc = bia_store_commit(ctx, inst);
	if (rc)
		bia_store_rollback(inst);
	if (!rc && done) {
		struct bia_run_event ev = {BIA_RUN_EVENT_CANCEL, id, r.state, "", 0};
		bia_run_publish(&ev);
		bia_runs_notify(inst);
	}
	bia_run_release(&r);
	return rc;
}

int bia_run_requeue(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r,
		    const char *reason, int *pdone)
{
	*pdone = 0;
	if (bia_store_begin(ctx, inst))
		return ctx->rc;
	r->worker_pid = 0;
	r->started[0] = r->finished[0] = '\0';
	r->has_exit_code = 0;
	r->interrupted++;
	free(r->job);
	r->job = NULL;
	if (bia_run_set(&r->reason, "%s", reason)) {
		bia_store_rollback(inst);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	if (bia_run_transition(ctx, inst, r, BIA_RUN_QUEUED, pdone) ||
	    (*pdone && bia_store_run_clear_results(ctx, inst, r->id)) ||
	    bia_store_commit(ctx, inst)) {
		bia_store_rollback(inst);
		*pdone = 0;
		return ctx->rc;
	}
	if (*pdone)
		bia_runs_notify(inst);
	return 0;
}

/* --------------------------------------------------------------- recovery */

/* Whether the worker process that claimed r is gone. We hold slot myslot
 * (-1: no slot). A run of our slot that is not ours was left by a previous
 * holder; a run of another slot is orphaned when its worker process is
 * gone or nobody holds that slot's lock. */
static int claimer_gone(const struct bia_instance *inst, const struct bia_run *r, int myslot)
{
	if (r->worker_pid == (int64_t)getpid())
		return 0;
	if (r->worker_slot == myslot)
		return 1;
	if (bia_pid_alive((long)r->worker_pid))
		return 0; /* alive (not a zombie): left to the next holder of its slot */
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	int fd = bia_worker_lock_slot(&c2, inst, r->worker_slot);
	if (fd < 0)
		return 0; /* held by a live worker (or unreadable): leave it */
	close(fd);
	return 1;
}

/* A job of a remote executor (SLURM) that outlives its worker: it is not
 * recovered as interrupted but re-attached (bia__runs_adoptable). A job
 * still "pending:" (the worker died while submitting) is not: its recovery
 * cancels whatever went out under its name (worker_gone). */
static int remote_job(const struct bia_run *r)
{
	const struct bia_executor *ex = bia_executor_find(r->executor);
	return ex && ex->remote && r->job && r->job[0] && strncmp(r->job, "pending:", 8) &&
	       r->state == BIA_RUN_RUNNING;
}

int bia__runs_adoptable(const struct bia_instance *inst, const struct bia_run *r, int myslot)
{
	return remote_job(r) && claimer_gone(inst, r, myslot);
}

int bia__runs_unfinished(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run **pv,
			 size_t *pn)
{
	struct bia_run_filter f = {.unfinished = 1};
	struct bia_page all = {0, 0};
	*pv = NULL;
	*pn = 0;
	return bia_store_run_list(ctx, inst, &f, all, pv, pn, NULL);
}

int bia_runs_count_adoptable(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn)
{
	*pn = 0;
	struct bia_run *v;
	size_t n;
	if (bia__runs_unfinished(ctx, inst, &v, &n))
		return ctx->rc;
	for (size_t i = 0; i < n; i++)
		*pn += bia__runs_adoptable(inst, &v[i], -1) != 0;
	bia_run_list_free(v, n);
	return 0;
}

/* Whether r was left by a worker that is gone. Once a local job was
 * submitted, the executor knows (a local job lives and dies with its
 * worker process); before that, its worker process tells. */
static int worker_gone(const struct bia_instance *inst, const struct bia_run *r, int myslot)
{
	if (r->worker_pid == (int64_t)getpid() || remote_job(r))
		return 0;
	const struct bia_executor *ex = bia_executor_find(r->executor);
	if (r->job && r->job[0] && ex && ex->remote) {
		/* "pending:" (remote_job() above takes the others): gone with its
		 * worker; whatever went out under its name is cancelled then, and
		 * only then (a live worker may be submitting it right now) */
		if (!claimer_gone(inst, r, myslot))
			return 0;
		struct bia_ctx c;
		bia_ctx_init(&c);
		if (ex->cancel(&c, r->job))
			bia_log(BIA_LOG_WARN, "run %lld: %s", (long long)r->id, c.msg);
		return 1;
	}
	if (r->job && r->job[0] && ex) {
		struct bia_ctx c;
		bia_ctx_init(&c);
		enum bia_job_state js;
		if (ex->poll(&c, r->job, &js))
			return 0; /* cannot tell: leave it */
		return js == BIA_JOB_GONE;
	}
	return claimer_gone(inst, r, myslot);
}

void bia__runs_remove_work_dirs(const struct bia_instance *inst, int64_t id)
{
	static const char *const sub[] = {"app", "in", "out", "job"};
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
	struct bia_run *v;
	size_t n;
	*pn = 0;
	if (bia__runs_unfinished(ctx, inst, &v, &n))
		return ctx->rc;
	int rc = 0, requeue = bia_runs_requeue_policy(inst);
	for (size_t i = 0; !rc && i < n; i++) {
		struct bia_run *r = &v[i];
		if (r->state != BIA_RUN_RUNNING && r->state != BIA_RUN_INGESTING)
			continue;
		if (!worker_gone(inst, r, myslot))
			continue;
		const char *from = bia_run_state_name(r->state);
		int done = 0;
		char now[21];
		bia_now_iso(now);
		if (requeue && r->attempts < BIA_RUN_MAX_ATTEMPTS) {
			char why[256];
			snprintf(why, sizeof(why),
				 "requeued: attempt %d interrupted (worker pid %lld died while %s)",
				 r->attempts, (long long)r->worker_pid, from);
			rc = bia_run_requeue(ctx, inst, r, why, &done);
		} else {
			int e = requeue ? bia_run_set(&r->reason,
						      "interrupted: worker died (pid %lld, while %s); "
						      "gave up after %d attempts",
						      (long long)r->worker_pid, from, r->attempts)
					: bia_run_set(&r->reason,
						      "interrupted: worker died (pid %lld, while %s)",
						      (long long)r->worker_pid, from);
			snprintf(r->finished, sizeof(r->finished), "%s", now);
			rc = e ? bia_fail(ctx, BIA_ENOMEM, "out of memory")
			       : bia_run_transition(ctx, inst, r, BIA_RUN_FAILED, &done);
		}
		if (!rc && done) {
			(*pn)++;
			bia__runs_remove_work_dirs(inst, r->id);
			char lp[BIA_PATH_MAX];
			bia_run_log_path(inst, r->id, lp, sizeof(lp));
			FILE *fl = fopen(lp, "a");
			if (fl) {
				fprintf(fl, "%s worker: run %s: %s\n", now,
					r->state == BIA_RUN_FAILED ? "failed" : "queued",
					r->reason ? r->reason : "");
				fclose(fl);
			}
		}
	}
	bia_run_list_free(v, n);
	return rc;
}

/* -------------------------------------------------------------- overrides */

char *bia_run_overrides_json(const struct bia_run_overrides *o)
{
	json_t *lim = json_object();
	if (o->timeout > 0)
		json_object_set_new(lim, "time", json_integer((json_int_t)o->timeout));
	if (o->memory > 0)
		json_object_set_new(lim, "memory", json_integer((json_int_t)o->memory));
	if (o->processes > 0)
		json_object_set_new(lim, "processes", json_integer((json_int_t)o->processes));
	if (o->open_files > 0)
		json_object_set_new(lim, "open_files", json_integer((json_int_t)o->open_files));
	if (o->output > 0)
		json_object_set_new(lim, "output", json_integer((json_int_t)o->output));
	if (o->cpus > 0)
		json_object_set_new(lim, "cpus", json_integer((json_int_t)o->cpus));
	if (o->gpus > 0)
		json_object_set_new(lim, "gpus", json_integer((json_int_t)o->gpus));
	if (o->batch_size > 0)
		json_object_set_new(lim, "batch_size", json_integer((json_int_t)o->batch_size));
	if (o->partition[0])
		json_object_set_new(lim, "partition", json_string(o->partition));
	char *t = json_dumps(lim, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(lim);
	return t;
}

void bia_run_overrides_parse(const char *text, struct bia_run_overrides *o)
{
	memset(o, 0, sizeof(*o));
	json_t *lim = json_loads(text && text[0] ? text : "{}", 0, NULL);
	json_t *t = json_object_get(lim, "time"), *m = json_object_get(lim, "memory");
	json_t *np = json_object_get(lim, "processes"), *nf = json_object_get(lim, "open_files");
	json_t *ob = json_object_get(lim, "output");
	if (json_is_integer(t) && json_integer_value(t) > 0)
		o->timeout = json_integer_value(t);
	if (json_is_integer(m) && json_integer_value(m) > 0)
		o->memory = (uint64_t)json_integer_value(m);
	if (json_is_integer(np) && json_integer_value(np) >= BIA_RES_PROCESSES_MIN &&
	    json_integer_value(np) <= BIA_RES_PROCESSES_MAX)
		o->processes = json_integer_value(np);
	if (json_is_integer(nf) && json_integer_value(nf) >= BIA_RES_OPEN_FILES_MIN &&
	    json_integer_value(nf) <= BIA_RES_OPEN_FILES_MAX)
		o->open_files = json_integer_value(nf);
	if (json_is_integer(ob) && json_integer_value(ob) > 0)
		o->output = (uint64_t)json_integer_value(ob);
	static const char *const ints[] = {"cpus", "gpus", "batch_size"};
	int64_t *dst[] = {&o->cpus, &o->gpus, &o->batch_size};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(lim, ints[i]);
		if (json_is_integer(v) && json_integer_value(v) > 0)
			*dst[i] = json_integer_value(v);
	}
	struct bia_ctx c;
	bia_ctx_init(&c);
	json_t *pt = json_object_get(lim, "partition");
	if (json_is_string(pt))
		bia_run_override_set(&c, o, "partition", json_string_value(pt));
	json_decref(lim);
}

int bia_run_override_set(struct bia_ctx *ctx, struct bia_run_overrides *o, const char *key,
			 const char *text)
{
	int bad;
	if (!strcmp(key, "timeout"))
		bad = bia_parse_duration(text, &o->timeout) || o->timeout <= 0;
	else if (!strcmp(key, "memory"))
		bad = bia_parse_memory(text, &o->memory) || o->memory == 0;
	else if (!strcmp(key, "output"))
		bad = bia_parse_memory(text, &o->output) || o->output == 0;
	else if (!strcmp(key, "processes"))
		bad = bia_parse_int_range(text, BIA_RES_PROCESSES_MIN, BIA_RES_PROCESSES_MAX,
					  &o->processes);
	else if (!strcmp(key, "open_files"))
		bad = bia_parse_int_range(text, BIA_RES_OPEN_FILES_MIN, BIA_RES_OPEN_FILES_MAX,
					  &o->open_files);
	else if (!strcmp(key, "cpus"))
		bad = bia_parse_int_range(text, 1, 4096, &o->cpus);
	else if (!strcmp(key, "gpus"))
		bad = bia_parse_int_range(text, 0, 64, &o->gpus);
	else if (!strcmp(key, "batch_size"))
		bad = bia_parse_int_range(text, 1, 100000, &o->batch_size);
	else if (!strcmp(key, "partition")) {
		size_t n = strlen(text);
		bad = n == 0 || n >= sizeof(o->partition) ||
		      strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-_.,") != n;
		if (!bad)
			memcpy(o->partition, text, n + 1);
	} else
		return bia_fail(ctx, BIA_EINVAL,
				"unknown limit '%s' (timeout, memory, processes, open_files, output, "
				"cpus, gpus, batch_size, partition)",
				key);
	if (bad)
		return bia_fail(ctx, BIA_EINVAL,
				"bad %s '%s' (timeout: 90, 10m, 1h; memory and output: 512M, 2G; "
				"processes 1..100000; open_files 16..1048576; cpus 1..4096; gpus "
				"0..64; batch_size 1..100000; partition: letters, digits, -_.,)",
				key, text);
	return 0;
}

/* ------------------------------------------------------- waiting, logs */

int bia_runs_wait(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *ids, size_t n,
		  const struct bia_wait_hooks *hooks)
{
	struct bia_run_follower f;
	if (bia_run_follow_open(ctx, inst, NULL, &f))
		return ctx->rc;
	int rc = 0;
	size_t last_done = (size_t)-1;
	for (unsigned tick = 0;; tick++) {
		size_t done = 0;
		char cur[400] = "";
		for (size_t i = 0; i < n && !rc; i++) {
			struct bia_run r;
			if ((rc = bia_store_run_get(ctx, inst, ids[i], &r)))
				break;
			int fin = bia_run_state_final(r.state) != 0;
			done += (size_t)fin;
			if (!fin && !cur[0] && r.state == BIA_RUN_RUNNING)
				snprintf(cur, sizeof(cur), "run %lld (%s@%s) running", (long long)r.id,
					 r.workflow, r.version);
			bia_run_release(&r);
		}
		if (rc)
			break;
		if (hooks && hooks->progress)
			hooks->progress(hooks->user, done, n, cur, done != last_done);
		last_done = done;
		if (done == n)
			break;
		if (hooks && hooks->every_2s && tick && tick % 2 == 0 &&
		    (rc = hooks->every_2s(hooks->user, ctx)))
			break;
		bia_run_follow_wait(&f, 1000, -1);
	}
	bia_run_follow_close(&f);
	return rc;
}

/* Copy what the log has beyond *off to fd. */
static void copy_new(int lfd, int fd)
{
	char buf[65536];
	ssize_t k;
	while (lfd >= 0 && (k = read(lfd, buf, sizeof(buf))) > 0)
		if (bia_write_all(fd, buf, (size_t)k))
			break;
}

int bia_run_log_copy(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int fd,
		     int follow)
{
	struct bia_run r;
	if (bia_store_run_get(ctx, inst, id, &r))
		return ctx->rc;
	bia_run_release(&r);
	char lp[BIA_PATH_MAX];
	bia_run_log_path(inst, id, lp, sizeof(lp));
	int lfd = open(lp, O_RDONLY | O_CLOEXEC);
	copy_new(lfd, fd);
	struct bia_run_follower f;
	int rc = follow ? bia_run_follow_open(ctx, inst, lp, &f) : 0;
	while (follow && !rc) {
		if ((rc = bia_store_run_get(ctx, inst, id, &r)))
			break;
		int fin = bia_run_state_final(r.state);
		bia_run_release(&r);
		if (lfd < 0)
			lfd = open(lp, O_RDONLY | O_CLOEXEC);
		copy_new(lfd, fd);
		if (fin) {
			/* a line written just after the change (recovery's) */
			bia_run_follow_wait(&f, 200, -1);
			copy_new(lfd, fd);
			break;
		}
		bia_run_follow_wait(&f, 1000, -1);
	}
	if (follow)
		bia_run_follow_close(&f);
	if (lfd >= 0)
		close(lfd);
	return rc;
}
