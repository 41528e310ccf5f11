/* Operations: long work started through the API (sweeps, benchmarks that
 * run what is missing, dataset imports) runs on the server's operation
 * threads, never on a request thread. The request answers 202 with the
 * operation; GET /operations/{id} gives its state, progress and, once
 * done, the JSON the CLI command prints; progress is also an instance
 * event ("progress"). Operations live in memory (the last OPS_KEEP); what
 * they produce (runs, images) is in the store. docs/api.md "Operations".
 * SPDX-License-Identifier: MIT */
#include "bench/bench.h"
#include "dataset/dataset.h"
#include "server/server_priv.h"
#include "workflow/workflow.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPS_KEEP 256
#define OPS_THREADS 2

enum op_state { OP_QUEUED, OP_RUNNING, OP_SUCCEEDED, OP_FAILED };
static const char *const op_state_names[] = {"queued", "running", "succeeded", "failed"};

struct op {
	int64_t id;
	char kind[16];
	int64_t problem_id;
	int64_t user_id;
	enum op_state state;
	int64_t done, total;
	char detail[256];
	json_t *request; /* the body, and for imports "file"/"dir" */
	json_t *result;
	json_t *error;
	char created[21];
	op_fn fn;
	struct op *next_queued;
};

struct ops {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct op *all[OPS_KEEP];
	int64_t next_id;
	struct op *queue, *queue_tail;
	pthread_t threads[OPS_THREADS];
	int nthreads;
	int stop;
	struct bia_server *srv;
};

static json_t *op_json_locked(const struct op *o)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:{s:I, s:I, s:s}}", "id", (json_int_t)o->id,
			      "kind", o->kind, "state", op_state_names[o->state], "created_at",
			      o->created, "progress", "done", (json_int_t)o->done, "total",
			      (json_int_t)o->total, "detail", o->detail);
	json_object_set_new(j, "problem_id", json_integer(o->problem_id));
	json_object_set(j, "result", o->result ? o->result : json_null());
	json_object_set(j, "error", o->error ? o->error : json_null());
	return j;
}

static void op_free(struct op *o)
{
	if (!o)
		return;
	json_decref(o->request);
	json_decref(o->result);
	json_decref(o->error);
	free(o);
}

/* ------------------------------------------------------------ progress */

struct op_run {
	struct ops *ops;
	struct op *op;
};

static void progress(struct op_run *r, int64_t done, int64_t total, const char *detail)
{
	pthread_mutex_lock(&r->ops->mu);
	r->op->done = done;
	r->op->total = total;
	snprintf(r->op->detail, sizeof(r->op->detail), "%s", detail ? detail : "");
	pthread_mutex_unlock(&r->ops->mu);
	char what[48];
	snprintf(what, sizeof(what), "%s %lld", r->op->kind, (long long)r->op->id);
	sse_progress(r->ops->srv, r->op->problem_id, what, done, total, detail);
}

static void wait_progress(void *user, size_t done, size_t n, const char *cur, int changed)
{
	if (changed)
		progress(user, (int64_t)done, (int64_t)n, cur);
}

static int wait_check(void *user, struct bia_ctx *ctx)
{
	struct op_run *r = user;
	if (atomic_load(&r->ops->srv->stopping))
		return bia_fail(ctx, BIA_EUNAVAIL, "the server is stopping");
	return 0;
}

static int hook_start(void *user, struct bia_ctx *ctx)
{
	struct op_run *r = user;
	(void)ctx;
	uint64_t one = 1;
	bia_runs_notify(r->ops->srv->inst);
	if (r->ops->srv->worker_wake >= 0 &&
	    write(r->ops->srv->worker_wake, &one, sizeof(one)) < 0) {
		/* the worker also looks at the queue by itself */
	}
	return 0;
}

static int hook_wait(void *user, struct bia_ctx *ctx, const int64_t *ids, size_t n)
{
	struct op_run *r = user;
	struct bia_wait_hooks h = {wait_progress, wait_check, r};
	progress(r, 0, (int64_t)n, "waiting for runs");
	return bia_runs_wait(ctx, r->ops->srv->inst, ids, n, &h);
}

static void hook_note(void *user, enum bia_bench_note kind, const char *line)
{
	struct op_run *r = user;
	(void)kind;
	progress(r, r->op->done, r->op->total, line);
}

void bia__op_hooks(void *oprun, struct bia_bench_hooks *h);
void bia__op_hooks(void *oprun, struct bia_bench_hooks *h)
{
	h->start_worker = hook_start;
	h->wait = hook_wait;
	h->note = hook_note;
	h->user = oprun;
}

void bia__op_progress(void *oprun, int64_t done, int64_t total, const char *detail);
void bia__op_progress(void *oprun, int64_t done, int64_t total, const char *detail)
{
	progress(oprun, done, total, detail);
}

/* ------------------------------------------------------------- threads */

static void *op_thread(void *arg)
{
	struct ops *ops = arg;
	for (;;) {
		pthread_mutex_lock(&ops->mu);
		while (!ops->stop && !ops->queue)
			pthread_cond_wait(&ops->cv, &ops->mu);
		if (ops->stop) {
			pthread_mutex_unlock(&ops->mu);
			return NULL;
		}
		struct op *o = ops->queue;
		ops->queue = o->next_queued;
		if (!ops->queue)
			ops->queue_tail = NULL;
		o->state = OP_RUNNING;
		pthread_mutex_unlock(&ops->mu);

		struct bia_ctx ctx;
		bia_instance_ctx(ops->srv->inst, &ctx);
		struct op_run r = {ops, o};
		json_t *result = NULL;
		int rc = o->fn(ops->srv, o->request, &r, &ctx, &result);
		pthread_mutex_lock(&ops->mu);
		if (rc) {
			o->state = OP_FAILED;
			o->error = bia_error_json(&ctx);
			json_decref(result);
		} else {
			o->state = OP_SUCCEEDED;
			o->result = result;
		}
		pthread_mutex_unlock(&ops->mu);
		char what[48];
		snprintf(what, sizeof(what), "%s %lld", o->kind, (long long)o->id);
		sse_progress(ops->srv, o->problem_id, what, o->total, o->total,
			     rc ? "failed" : "succeeded");
	}
}

int ops_start(struct bia_server *srv)
{
	struct ops *ops = calloc(1, sizeof(*ops));
	if (!ops)
		return -1;
	pthread_mutex_init(&ops->mu, NULL);
	pthread_cond_init(&ops->cv, NULL);
	ops->srv = srv;
	srv->ops = ops;
	for (int i = 0; i < OPS_THREADS; i++)
		if (pthread_create(&ops->threads[i], NULL, op_thread, ops) == 0)
			ops->nthreads++;
	return ops->nthreads ? 0 : -1;
}

/* Stop: queued operations fail, running ones are asked to stop (their
 * waits end), then the threads are joined (at most grace_ms; a thread
 * still busy is left to the process exit). Returns 1 if all were joined. */
int ops_stop(struct bia_server *srv, int grace_ms)
{
	struct ops *ops = srv->ops;
	if (!ops)
		return 1;
	pthread_mutex_lock(&ops->mu);
	ops->stop = 1;
	for (struct op *o = ops->queue; o; o = o->next_queued) {
		o->state = OP_FAILED;
		o->error = json_pack("{s:{s:s, s:s, s:i}}", "error", "code", "unavailable",
				     "message", "the server stopped", "status", 503);
	}
	ops->queue = ops->queue_tail = NULL;
	pthread_cond_broadcast(&ops->cv);
	pthread_mutex_unlock(&ops->mu);
	int all = 1;
	for (int i = 0; i < ops->nthreads; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += grace_ms / 1000 + 1;
		if (pthread_timedjoin_np(ops->threads[i], NULL, &ts)) {
			pthread_detach(ops->threads[i]);
			all = 0;
		}
	}
	if (all) {
		for (int i = 0; i < OPS_KEEP; i++)
			op_free(ops->all[i]);
		pthread_mutex_destroy(&ops->mu);
		pthread_cond_destroy(&ops->cv);
		free(ops);
		srv->ops = NULL;
	}
	return all;
}

int ops_submit(struct req *rq, const char *kind, int64_t problem_id, json_t *request,
	       op_fn fn)
{
	struct ops *ops = rq->srv->ops;
	struct op *o = calloc(1, sizeof(*o));
	if (!o || !ops) {
		free(o);
		json_decref(request);
		return req_fail(rq, BIA_ENOMEM, "out of memory");
	}
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	o->problem_id = problem_id;
	o->user_id = rq->who.user_id;
	o->request = request;
	o->fn = fn;
	bia_now_iso(o->created);
	pthread_mutex_lock(&ops->mu);
	o->id = ++ops->next_id;
	struct op **slot = &ops->all[(o->id - 1) % OPS_KEEP];
	if (*slot && ((*slot)->state == OP_QUEUED || (*slot)->state == OP_RUNNING)) {
		pthread_mutex_unlock(&ops->mu);
		op_free(o);
		return req_fail(rq, BIA_EBUSY, "too many operations are running; try again later");
	}
	op_free(*slot);
	*slot = o;
	if (ops->queue_tail)
		ops->queue_tail->next_queued = o;
	else
		ops->queue = o;
	ops->queue_tail = o;
	pthread_cond_signal(&ops->cv);
	json_t *j = op_json_locked(o);
	pthread_mutex_unlock(&ops->mu);
	char loc[64];
	snprintf(loc, sizeof(loc), "/api/v1/operations/%lld", (long long)o->id);
	json_object_set_new(j, "url", json_string(loc));
	return req_json(rq, 202, j);
}

/* The operation if the caller may see it: its own, an admin's view, or
 * one on a problem the caller may read. */
int ops_get_json(struct req *rq, int64_t id, json_t **pout)
{
	struct ops *ops = rq->srv->ops;
	*pout = NULL;
	if (!ops || id <= 0)
		return 0;
	int64_t problem = 0;
	pthread_mutex_lock(&ops->mu);
	struct op *o = ops->all[(id - 1) % OPS_KEEP];
	int mine = o && o->id == id;
	if (mine) {
		problem = o->problem_id;
		if (o->user_id != rq->who.user_id && rq->who.role != BIA_ROLE_ADMIN)
			mine = 2; /* check the problem below */
		*pout = op_json_locked(o);
	}
	pthread_mutex_unlock(&ops->mu);
	if (mine == 2) {
		struct bia_ctx tmp;
		bia_instance_ctx(rq->srv->inst, &tmp);
		if (!problem ||
		    bia_access_problem(&tmp, rq->srv->inst, &rq->who, problem, BIA_ACCESS_READ)) {
			json_decref(*pout);
			*pout = NULL;
		}
	}
	return 0;
}

json_t *ops_list_json(struct req *rq)
{
	struct ops *ops = rq->srv->ops;
	json_t *rows = json_array();
	if (!ops)
		return rows;
	pthread_mutex_lock(&ops->mu);
	int64_t first = ops->next_id > OPS_KEEP ? ops->next_id - OPS_KEEP + 1 : 1;
	for (int64_t id = first; id <= ops->next_id; id++) {
		struct op *o = ops->all[(id - 1) % OPS_KEEP];
		if (o && o->id == id &&
		    (o->user_id == rq->who.user_id || rq->who.role == BIA_ROLE_ADMIN))
			json_array_append_new(rows, op_json_locked(o));
	}
	pthread_mutex_unlock(&ops->mu);
	return rows;
}
