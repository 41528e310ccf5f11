/* The run layer's core: the transition rules, claim / cancel / requeue,
 * events (subscribers, the follower of runs/.events, the store's event
 * rows), the local executor, the worker loop's stop flag and wake-up
 * descriptor, instance limits, stable error names, text that is not
 * truncated, paged lists.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runs/runs.h"
#include "pgtest.h"

struct env {
	char dir[64];
	char inst_dir[128];
	struct bia_ctx ctx;
	struct bia_instance inst;
	struct bia_problem p;
	int64_t version_id;
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-runs-core-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->inst_dir, sizeof(e->inst_dir), "%s/inst", e->dir);
	bia_ctx_init(&e->ctx);
	if (bia_instance_create(&e->ctx, e->inst_dir) ||
	    bia_instance_open(&e->ctx, e->inst_dir, &e->inst))
		return -1;
	pgtest_note(e->inst_dir);
	snprintf(e->p.name, sizeof(e->p.name), "nuclei");
	e->p.cls = BIA_OBJSEG;
	if (bia_problem_add(&e->ctx, &e->inst, &e->p))
		return -1;
	/* a workflow version (rows only: runs here are never executed) */
	static struct bia_wf_file file = {.path = "run.sh", .bytes = 3, .mode = 0755};
	bia_sha256_hex("x", 1, file.digest);
	struct bia_wf_version v = {0};
	snprintf(v.name, sizeof(v.name), "W");
	snprintf(v.version, sizeof(v.version), "1");
	bia_sha256_hex("v", 1, v.digest);
	v.descriptor = "{\"name\": \"W\"}";
	v.files = &file;
	v.nfiles = 1;
	int existed;
	if (bia_store_wf_add(&e->ctx, &e->inst, &v, &existed))
		return -1;
	e->version_id = v.id;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	bia_instance_close(&e->inst);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	pgtest_drop_noted();
	bia_rm_rf(&ctx, e->dir);
	free(e);
	return 0;
}

static int64_t add_run(struct env *e)
{
	struct bia_run r = {0};
	r.workflow_version_id = e->version_id;
	r.problem_id = e->p.id;
	r.params = "{}";
	r.images = "[]";
	snprintf(r.executor, sizeof(r.executor), "local");
	assert_int_equal(bia_store_run_add(&e->ctx, &e->inst, &r), 0);
	return r.id;
}

static void test_transition_rules(void **state)
{
	(void)state;
	/* every allowed change, by hand from docs/runs.md "States" */
	static const int allowed[BIA_RUN_STATE_COUNT][BIA_RUN_STATE_COUNT] = {
		/* to:       Q  R  I  S  F  C  T */
		/* queued */ {1, 1, 0, 0, 0, 1, 0},
		/* running */ {1, 1, 1, 0, 1, 1, 1},
		/* ingest */ {1, 0, 1, 1, 1, 0, 0},
		/* succ. */ {0, 0, 0, 1, 0, 0, 0},
		/* failed */ {0, 0, 0, 0, 1, 0, 0},
		/* canc. */ {0, 0, 0, 0, 0, 1, 0},
		/* t.out */ {0, 0, 0, 0, 0, 0, 1},
	};
	for (int a = 0; a < BIA_RUN_STATE_COUNT; a++)
		for (int b = 0; b < BIA_RUN_STATE_COUNT; b++)
			assert_int_equal(bia_run_transition_allowed(a, b), allowed[a][b]);
	assert_int_equal(bia_run_state_code(BIA_RUN_QUEUED), 1);
	assert_int_equal(bia_run_state_code(BIA_RUN_INGESTING), 2);
	assert_int_equal(bia_run_state_code(BIA_RUN_SUCCEEDED), 3);
	assert_int_equal(bia_run_state_code(BIA_RUN_TIMED_OUT), 4);
	assert_int_equal(bia_run_state_code(BIA_RUN_CANCELLED), 8);
	assert_int_equal(bia_run_state_parse("timed_out"), BIA_RUN_TIMED_OUT);
	assert_int_equal(bia_run_state_parse("done"), -1);
}

struct seen {
	int states, logs, cancels;
	enum bia_run_state last;
	int64_t run;
};

static void on_event(void *user, const struct bia_run_event *ev)
{
	struct seen *s = user;
	s->run = ev->run_id;
	if (ev->kind == BIA_RUN_EVENT_STATE) {
		s->states++;
		s->last = ev->state;
	} else if (ev->kind == BIA_RUN_EVENT_CANCEL) {
		s->cancels++;
	} else {
		s->logs++;
	}
}

static void test_claim_cancel_requeue_events(void **state)
{
	struct env *e = *state;
	struct seen seen = {0};
	int token = bia_run_subscribe(on_event, &seen);
	assert_true(token > 0);
	int64_t a = add_run(e), b = add_run(e), c = add_run(e);

	/* the oldest queued run is claimed, once */
	struct bia_run r;
	int found = 0;
	assert_int_equal(bia_run_claim(&e->ctx, &e->inst, 4242, 0, "host1", &r, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(r.id, a);
	assert_int_equal(r.state, BIA_RUN_RUNNING);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.worker_pid, 4242);
	assert_string_equal(r.host, "host1");
	assert_int_equal(seen.states, 1);
	assert_int_equal(seen.last, BIA_RUN_RUNNING);
	assert_int_equal(seen.run, a);

	/* a change that is not allowed is refused and leaves the run */
	int done = 1;
	assert_int_equal(bia_run_transition(&e->ctx, &e->inst, &r, BIA_RUN_SUCCEEDED, &done),
			 BIA_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(r.state, BIA_RUN_RUNNING);
	bia_run_release(&r);
	/* a run changed by another process first: nothing written */
	struct bia_run stale;
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, b, &stale), 0);
	stale.state = BIA_RUN_RUNNING; /* as if read before a claim that never happened */
	assert_int_equal(bia_run_transition(&e->ctx, &e->inst, &stale, BIA_RUN_FAILED, &done), 0);
	assert_int_equal(done, 0);
	bia_run_release(&stale);

	/* cancel: a queued run at once, a running one on request */
	char st[16];
	assert_int_equal(bia_run_cancel(&e->ctx, &e->inst, b, st), 0);
	assert_string_equal(st, "dequeued");
	assert_int_equal(bia_run_cancel(&e->ctx, &e->inst, a, st), 0);
	assert_string_equal(st, "requested");
	assert_int_equal(seen.cancels, 2);
	assert_int_equal(bia_run_cancel(&e->ctx, &e->inst, b, st), 0);
	assert_string_equal(st, "cancelled");
	struct bia_run x;
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, a, &x), 0);
	assert_int_equal(x.state, BIA_RUN_RUNNING);
	assert_int_equal(x.cancel_requested, 1);
	/* requeue the running one: back to queued, an interruption counted */
	assert_int_equal(bia_run_requeue(&e->ctx, &e->inst, &x, "requeued: test", &done), 0);
	assert_int_equal(done, 1);
	bia_run_release(&x);
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, a, &x), 0);
	assert_int_equal(x.state, BIA_RUN_QUEUED);
	assert_int_equal(x.interrupted, 1);
	assert_int_equal(x.worker_pid, 0);
	assert_string_equal(x.reason, "requeued: test");
	bia_run_release(&x);

	/* every state change is a row other processes can follow */
	struct bia_run_event_rec *ev;
	size_t n;
	assert_int_equal(bia_store_run_events(&e->ctx, &e->inst, 0, 0, 0, &ev, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].run_id, a);
	assert_int_equal(ev[0].state, BIA_RUN_RUNNING);
	assert_int_equal(ev[1].run_id, b);
	assert_int_equal(ev[1].state, BIA_RUN_CANCELLED);
	assert_string_equal(ev[1].reason, "cancelled while queued");
	assert_int_equal(ev[2].state, BIA_RUN_QUEUED);
	int64_t after = ev[1].id;
	bia_run_events_free(ev, n);
	assert_int_equal(bia_store_run_events(&e->ctx, &e->inst, a, after, 0, &ev, &n), 0);
	assert_int_equal(n, 1);
	bia_run_events_free(ev, n);

	/* unsubscribed: no more calls */
	bia_run_unsubscribe(token);
	assert_int_equal(bia_run_claim(&e->ctx, &e->inst, 4242, 0, "h", &r, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(r.id, a); /* the requeued one is the oldest queued again */
	assert_int_equal(seen.states, 3);
	bia_run_release(&r);
	(void)c;
}

struct notifier {
	struct bia_instance *inst;
	int fd; /* -1: notify the instance, else write this eventfd */
};

static void *notify_later(void *arg)
{
	struct notifier *n = arg;
	usleep(100 * 1000);
	if (n->fd < 0) {
		bia_runs_notify(n->inst);
	} else {
		uint64_t one = 1;
		(void)!write(n->fd, &one, sizeof(one));
	}
	return NULL;
}

static void test_follower(void **state)
{
	struct env *e = *state;
	struct bia_run_follower f;
	assert_int_equal(bia_run_follow_open(&e->ctx, &e->inst, NULL, &f), 0);
	assert_true(f.ifd >= 0);
	/* a change by "another process" wakes the follower before its timeout */
	pthread_t t;
	struct notifier n = {&e->inst, -1};
	assert_int_equal(pthread_create(&t, NULL, notify_later, &n), 0);
	assert_int_equal(bia_run_follow_wait(&f, 30000, -1), 1);
	pthread_join(t, NULL);
	/* nothing happens: the timeout */
	assert_int_equal(bia_run_follow_wait(&f, 50, -1), 0);
	/* the wake-up descriptor */
	int wfd = eventfd(0, EFD_CLOEXEC);
	n.fd = wfd;
	assert_int_equal(pthread_create(&t, NULL, notify_later, &n), 0);
	assert_int_equal(bia_run_follow_wait(&f, 30000, wfd), 2);
	pthread_join(t, NULL);
	close(wfd);
	bia_run_follow_close(&f);
}

static void *loop_main(void *arg)
{
	struct bia_worker_loop *w = arg;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	intptr_t rc = bia_worker_loop(&ctx, w);
	return (void *)rc;
}

/* The long-lived worker loop waits (an empty queue) and ends when told. */
static void test_worker_loop_stops(void **state)
{
	struct env *e = *state;
	struct bia_worker_loop w = {.inst = &e->inst, .wake_fd = eventfd(0, EFD_CLOEXEC),
				    .idle_ms = 600000};
	atomic_init(&w.stop, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, loop_main, &w), 0);
	usleep(200 * 1000);
	atomic_store(&w.stop, 1);
	uint64_t one = 1;
	assert_int_equal(write(w.wake_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	void *ret;
	pthread_join(t, &ret); /* would hang for 10 minutes without the wake-up */
	assert_int_equal((intptr_t)ret, 0);
	assert_int_equal(w.runs_done, 0);
	close(w.wake_fd);
}

static int have_bwrap(void)
{
	return access("/usr/bin/bwrap", X_OK) == 0;
}

/* The local executor: submit returns at once, poll follows the job, attach
 * gives the result; cancel stops it. */
static void test_local_executor(void **state)
{
	struct env *e = *state;
	if (!have_bwrap())
		skip();
	const struct bia_executor *ex = bia_executor_find("local");
	assert_ptr_equal(ex, &bia_executor_local);
	assert_null(bia_executor_find("slurm-not-built"));
	char out[200];
	snprintf(out, sizeof(out), "%s/out", e->dir);
	assert_int_equal(bia_mkdir_p(&e->ctx, out), 0);
	char *argv[] = {"/bin/sh", "-c", "sleep 0.3; echo done > /data/out/x.txt", NULL};
	struct bia_exec_spec s;
	bia_exec_spec_init(&s);
	s.argv = argv;
	s.out_dir = out;
	s.limits.wall_seconds = 60;
	char job[BIA_JOB_ID_MAX], host[256];
	assert_int_equal(ex->submit(&e->ctx, &s, NULL, job, host, sizeof(host)), 0);
	assert_memory_equal(job, "local:", 6);
	enum bia_job_state js;
	assert_int_equal(ex->poll(&e->ctx, job, &js), 0);
	assert_true(js == BIA_JOB_ACTIVE || js == BIA_JOB_ENDED);
	struct bia_exec_result res;
	assert_int_equal(ex->attach(&e->ctx, job, &s, NULL, &res), 0);
	assert_int_equal(res.status, BIA_EXEC_OK);
	char p[256];
	snprintf(p, sizeof(p), "%s/x.txt", out);
	assert_int_equal(access(p, F_OK), 0);
	/* after attach the job is gone; a job of a process that is gone too */
	assert_int_equal(ex->poll(&e->ctx, job, &js), 0);
	assert_int_equal(js, BIA_JOB_GONE);
	assert_int_equal(ex->poll(&e->ctx, "local:h:999999999:1:1", &js), 0);
	assert_int_equal(js, BIA_JOB_GONE);
	assert_int_equal(ex->poll(&e->ctx, "slurm:123", &js), BIA_EINVAL);
	/* cancel */
	char *slow[] = {"/bin/sh", "-c", "sleep 30", NULL};
	s.argv = slow;
	assert_int_equal(ex->submit(&e->ctx, &s, NULL, job, host, sizeof(host)), 0);
	usleep(200 * 1000);
	assert_int_equal(ex->cancel(&e->ctx, job), 0);
	assert_int_equal(ex->attach(&e->ctx, job, &s, NULL, &res), 0);
	assert_int_equal(res.status, BIA_EXEC_CANCELLED);
	assert_true(res.wall_seconds < 29);
}

static void test_limits_and_error_names(void **state)
{
	struct env *e = *state;
	/* defaults */
	assert_int_equal(e->inst.limits.max_upload_bytes, BIA_DEFAULT_MAX_UPLOAD);
	assert_int_equal(e->inst.limits.max_body_bytes, BIA_DEFAULT_MAX_BODY);
	assert_int_equal(e->inst.limits.max_log_bytes, BIA_DEFAULT_MAX_LOG);
	/* the config's limits, and a context that carries them */
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/config", e->inst_dir);
	write_text(cfg, "{\"format\": \"biaflows-instance\", \"version\": 1, \"store\": "
			"\"sqlite:biaflows.db\", \"limits\": {\"max_pixels\": 1000, "
			"\"max_json_depth\": 3, \"max_log_bytes\": 4096, \"max_body_bytes\": 777}}");
	struct bia_instance i2;
	struct bia_ctx c;
	bia_ctx_init(&c);
	assert_int_equal(bia_instance_open(&c, e->inst_dir, &i2), 0);
	assert_int_equal(i2.limits.max_pixels, 1000);
	assert_int_equal(i2.limits.max_json_depth, 3);
	assert_int_equal(i2.limits.max_log_bytes, 4096);
	assert_int_equal(i2.limits.max_body_bytes, 777);
	struct bia_ctx rc;
	bia_instance_ctx(&i2, &rc);
	assert_int_equal(rc.max_pixels, 1000);
	assert_null(bia_json_parse(&rc, "request", "[[[[1]]]]", 9));
	assert_int_equal(rc.rc, BIA_ELIMIT);
	assert_non_null(strstr(rc.msg, "deeper than 3"));
	json_t *ok = bia_json_parse(&rc, "request", "[[[1]]]", 7);
	assert_non_null(ok);
	json_decref(ok);
	bia_instance_close(&i2);
	/* an unknown limit or a bad value is refused, naming it */
	write_text(cfg, "{\"format\": \"biaflows-instance\", \"version\": 1, \"limits\": "
			"{\"max_pixel\": 5}}");
	bia_ctx_init(&c);
	assert_int_not_equal(bia_instance_open(&c, e->inst_dir, &i2), 0);
	assert_non_null(strstr(c.msg, "unknown limit 'max_pixel'"));
	write_text(cfg, "{\"format\": \"biaflows-instance\", \"version\": 1, \"limits\": "
			"{\"max_log_bytes\": -1}}");
	bia_ctx_init(&c);
	assert_int_not_equal(bia_instance_open(&c, e->inst_dir, &i2), 0);
	assert_non_null(strstr(c.msg, "'max_log_bytes'"));
	/* a store back end this build does not have */
	write_text(cfg, "{\"format\": \"biaflows-instance\", \"version\": 1, \"store\": "
			"\"mysql://db/biaflows\"}");
	bia_ctx_init(&c);
	assert_int_equal(bia_instance_open(&c, e->inst_dir, &i2), BIA_EUNSUPPORTED);
	assert_non_null(strstr(c.msg, "'mysql'"));
	/* a PostgreSQL URL that names no schema of an instance */
	write_text(cfg, "{\"format\": \"biaflows-instance\", \"version\": 1, \"store\": "
			"\"postgresql://db/biaflows\"}");
	bia_ctx_init(&c);
	assert_int_equal(bia_instance_open(&c, e->inst_dir, &i2), BIA_EINVAL);
	assert_non_null(strstr(c.msg, "schema"));
	assert_true(bia_instance_probe(e->inst_dir)); /* still an instance */

	/* stable error names beside messages and statuses */
	assert_string_equal(bia_rc_name(BIA_ENOENT), "not_found");
	assert_string_equal(bia_rc_name(BIA_EINVAL), "invalid_argument");
	assert_string_equal(bia_rc_name(BIA_EEXIST), "conflict");
	assert_string_equal(bia_rc_name(BIA_ELIMIT), "limit_exceeded");
	assert_string_equal(bia_rc_name(BIA_EBUSY), "busy");
	assert_string_equal(bia_rc_name(BIA_EFORMAT), "invalid_format");
	bia_ctx_init(&c);
	bia_fail(&c, BIA_ENOENT, "no run with id %d", 7);
	json_t *body = bia_error_json(&c), *err = json_object_get(body, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")), "not_found");
	assert_string_equal(json_string_value(json_object_get(err, "message")), "no run with id 7");
	assert_int_equal(json_integer_value(json_object_get(err, "status")), 404);
	json_decref(body);
	assert_string_equal(bia_rc_name(BIA_EAUTH), "unauthenticated");
	assert_int_equal(bia_rc_http_status(BIA_EAUTH), 401);
	assert_int_equal(bia_rc_http_status(BIA_ERATE), 429);
	assert_int_equal(bia_rc_http_status(BIA_EUNAVAIL), 503);
}

/* Text of any length comes back whole; over-long input is refused. */
static void test_no_truncation(void **state)
{
	struct env *e = *state;
	int64_t id = add_run(e);
	/* a 1,212-byte verdict detail (once cut to 1,023 bytes of broken JSON) */
	char detail[1300];
	int k = snprintf(detail, sizeof(detail), "{\"reason\": \"");
	for (; k < 1210; k++)
		detail[k] = (char)('a' + k % 26);
	snprintf(detail + k, sizeof(detail) - (size_t)k, "\"}");
	assert_int_equal(strlen(detail), 1212);
	struct bia_run r = {0};
	r.workflow_version_id = e->version_id;
	r.problem_id = e->p.id;
	r.rerun_of = id;
	r.tolerance = 0.01;
	snprintf(r.executor, sizeof(r.executor), "local");
	assert_int_equal(bia_store_run_add(&e->ctx, &e->inst, &r), 0);
	assert_int_equal(bia_store_run_set_verdict(&e->ctx, &e->inst, r.id, "not-reproduced", detail),
			 0);
	struct bia_run got;
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, r.id, &got), 0);
	assert_string_equal(got.verdict_detail, detail);
	json_t *j = json_loads(got.verdict_detail, 0, NULL);
	assert_non_null(j); /* valid JSON */
	json_decref(j);
	/* a reason of 5,000 bytes through a transition */
	char *reason = malloc(5001);
	memset(reason, 'r', 5000);
	reason[5000] = '\0';
	got.reason = (free(got.reason), reason);
	int done;
	assert_int_equal(bia_run_transition(&e->ctx, &e->inst, &got, BIA_RUN_CANCELLED, &done), 0);
	assert_int_equal(done, 1);
	bia_run_release(&got);
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst, r.id, &got), 0);
	assert_int_equal(strlen(got.reason), 5000);
	bia_run_release(&got);
	/* over-long input is refused on write, not cut */
	struct bia_problem p = {.cls = BIA_OBJSEG};
	memset(p.name, 'n', sizeof(p.name) - 1);
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &p), BIA_ELIMIT);
	char *huge = malloc((1u << 20) + 10);
	memset(huge, 'x', (1u << 20) + 9);
	huge[(1u << 20) + 9] = '\0';
	assert_int_equal(bia_store_run_set_verdict(&e->ctx, &e->inst, r.id, "x", huge), BIA_ELIMIT);
	free(huge);
}

static void test_paged_lists(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 7; i++) {
		struct bia_problem p = {.cls = BIA_SPTCNT};
		snprintf(p.name, sizeof(p.name), "p%d", i);
		assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &p), 0);
	}
	struct bia_problem *v;
	size_t n;
	int64_t total = 0;
	struct bia_page page = {3, 2};
	assert_int_equal(bia_problem_list(&e->ctx, &e->inst, page, &v, &n, &total), 0);
	assert_int_equal(total, 8);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "p1"); /* by id: nuclei, p0, [p1, p2, p3] */
	assert_string_equal(v[2].name, "p3");
	bia_problem_list_free(v, n);
	page.offset = 7;
	assert_int_equal(bia_problem_list(&e->ctx, &e->inst, page, &v, &n, &total), 0);
	assert_int_equal(n, 1);
	bia_problem_list_free(v, n);
	page.limit = -1;
	assert_int_equal(bia_problem_list(&e->ctx, &e->inst, page, &v, &n, &total), BIA_EINVAL);
	/* runs: a page, a status filter, the totals */
	for (int i = 0; i < 5; i++)
		add_run(e);
	struct bia_run r;
	int found;
	assert_int_equal(bia_run_claim(&e->ctx, &e->inst, 1, 0, "h", &r, &found), 0);
	bia_run_release(&r);
	json_t *rows;
	struct bia_page two = {2, 0};
	assert_int_equal(bia_runs_list_json(&e->ctx, &e->inst, NULL, two, &rows, &total), 0);
	assert_int_equal(total, 5);
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "status")),
			    "running");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(rows, 0), "workflow")), "W@1");
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "mean")));
	json_decref(rows);
	struct bia_run_filter f = {.status = "queued"};
	assert_int_equal(bia_runs_list_json(&e->ctx, &e->inst, &f, (struct bia_page){0, 0}, &rows,
					    &total),
			 0);
	assert_int_equal(total, 4);
	assert_int_equal(json_array_size(rows), 4);
	json_decref(rows);
	f.status = "finished";
	assert_int_equal(bia_runs_list_json(&e->ctx, &e->inst, &f, two, &rows, &total), BIA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_rules),
		cmocka_unit_test_setup_teardown(test_claim_cancel_requeue_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follower, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_loop_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_executor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_error_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paged_lists, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
