/* Server-Sent Events: a run's state changes and log lines, and the
 * instance's run changes and progress of long operations, filtered by what
 * the caller may see. A stream with nothing to send suspends its
 * connection (no thread waits, nothing polls); it is resumed by the
 * library's event subscription (this process's changes), by the ticker
 * thread (runs/.events changed by another process, and a keep-alive every
 * 15 s), or when the server stops. What a stream sends is read from the
 * store and the log file, so a client resuming with Last-Event-ID gets
 * exactly what it missed. docs/api.md "Events".
 * SPDX-License-Identifier: MIT */
#include "server/server_priv.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_S 15
#define LOG_CHUNK (64 * 1024)

struct sse_stream {
	struct sse_stream *next;
	struct bia_server *srv;
	struct MHD_Connection *conn;
	pthread_mutex_t mu;
	int suspended, pending, closing, ended, end_sent;
	int64_t run_id; /* 0: the instance's events */
	struct bia_viewer viewer;
	int64_t last_event; /* run_events id sent */
	int64_t log_off;    /* bytes of the run's log sent */
	int64_t last_progress;
	char *buf;
	size_t len, off;
	time_t last_send;
	int64_t vis_problem; /* a cache of the last visibility answer */
	int vis_answer;
};

static void stream_wake(struct sse_stream *st)
{
	pthread_mutex_lock(&st->mu);
	st->pending = 1;
	if (st->suspended) {
		st->suspended = 0;
		MHD_resume_connection(st->conn);
	}
	pthread_mutex_unlock(&st->mu);
}

void sse_wake_all(struct bia_server *srv)
{
	pthread_mutex_lock(&srv->smu);
	for (struct sse_stream *st = srv->streams; st; st = st->next)
		stream_wake(st);
	pthread_mutex_unlock(&srv->smu);
}

size_t sse_open_streams(struct bia_server *srv)
{
	pthread_mutex_lock(&srv->smu);
	size_t n = srv->nstreams;
	pthread_mutex_unlock(&srv->smu);
	return n;
}

/* The library's events of this process: wake the streams they concern. */
static void on_run_event(void *user, const struct bia_run_event *ev)
{
	struct bia_server *srv = user;
	pthread_mutex_lock(&srv->smu);
	for (struct sse_stream *st = srv->streams; st; st = st->next)
		if (!st->run_id || st->run_id == ev->run_id)
			stream_wake(st);
	pthread_mutex_unlock(&srv->smu);
}

void sse_progress(struct bia_server *srv, int64_t problem_id, const char *what, int64_t done,
		  int64_t total, const char *detail)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:s}", "operation", what, "done",
			      (json_int_t)done, "total", (json_int_t)total, "detail",
			      detail ? detail : "");
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	pthread_mutex_lock(&srv->smu);
	struct progress_ev *e = &srv->progress[srv->progress_next % PROGRESS_RING];
	e->id = ++srv->progress_next;
	e->problem_id = problem_id;
	snprintf(e->text, sizeof(e->text), "%s", s ? s : "{}");
	for (struct sse_stream *st = srv->streams; st; st = st->next)
		if (!st->run_id)
			stream_wake(st);
	pthread_mutex_unlock(&srv->smu);
	free(s);
}

/* The ticker: other processes' changes (runs/.events) and keep-alives. */
static void *ticker_main(void *arg)
{
	struct bia_server *srv = arg;
	struct bia_ctx ctx;
	struct bia_run_follower f;
	bia_instance_ctx(srv->inst, &ctx);
	int have = !bia_run_follow_open(&ctx, srv->inst, NULL, &f);
	for (;;) {
		int r;
		if (have) {
			r = bia_run_follow_wait(&f, KEEPALIVE_S * 1000, srv->tick_wake[0]);
		} else {
			struct pollfd p = {srv->tick_wake[0], POLLIN, 0};
			r = poll(&p, 1, 1000) > 0 ? 2 : 1;
		}
		if (r == 2)
			break;
		sse_wake_all(srv);
	}
	if (have)
		bia_run_follow_close(&f);
	return NULL;
}

int sse_start(struct bia_server *srv)
{
	if (pipe2(srv->tick_wake, O_CLOEXEC))
		return -1;
	srv->sse_started = 1;
	srv->sub_token = bia_run_subscribe(on_run_event, srv);
	if (pthread_create(&srv->ticker, NULL, ticker_main, srv) == 0)
		srv->ticker_started = 1;
	return 0;
}

void sse_stop(struct bia_server *srv)
{
	if (!srv->sse_started)
		return;
	srv->sse_started = 0;
	if (srv->sub_token)
		bia_run_unsubscribe(srv->sub_token);
	srv->sub_token = 0;
	if (srv->ticker_started) {
		if (write(srv->tick_wake[1], "x", 1) < 0) {
			/* the pipe is ours and empty: cannot fail */
		}
		pthread_join(srv->ticker, NULL);
		srv->ticker_started = 0;
	}
	close(srv->tick_wake[0]);
	close(srv->tick_wake[1]);
	pthread_mutex_lock(&srv->smu);
	for (struct sse_stream *st = srv->streams; st; st = st->next) {
		pthread_mutex_lock(&st->mu);
		st->closing = 1;
		pthread_mutex_unlock(&st->mu);
		stream_wake(st);
	}
	pthread_mutex_unlock(&srv->smu);
}

/* ------------------------------------------------------------ filling */

static void put(struct sse_stream *st, struct bia_buf *b, const char *event, const char *data)
{
	bia_buf_addf(b, "id: %lld.%lld\nevent: %s\ndata: %s\n\n", (long long)st->last_event,
		     (long long)st->log_off, event, data);
}

static int visible(struct sse_stream *st, struct bia_ctx *ctx, int64_t problem_id)
{
	if (!st->viewer.restricted)
		return 1;
	if (problem_id == st->vis_problem)
		return st->vis_answer;
	int v = 0;
	if (bia_problem_visible(ctx, st->srv->inst, &st->viewer, problem_id, &v))
		v = 0;
	st->vis_problem = problem_id;
	st->vis_answer = v;
	return v;
}

static void fill_events(struct sse_stream *st, struct bia_ctx *ctx, struct bia_buf *b)
{
	struct bia_run_event_rec *v;
	size_t n;
	if (bia_store_run_events(ctx, st->srv->inst, st->run_id, st->last_event, 100, &v, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		st->last_event = v[i].id;
		if (!st->run_id && !visible(st, ctx, v[i].problem_id))
			continue;
		json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)v[i].id, "run",
				      (json_int_t)v[i].run_id, "state",
				      bia_run_state_name(v[i].state), "reason",
				      v[i].reason ? v[i].reason : "", "at", v[i].at);
		char *s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (s)
			put(st, b, "state", s);
		free(s);
	}
	bia_run_events_free(v, n);
}

/* Complete lines of the run's log after log_off (at most LOG_CHUNK). */
static void fill_log(struct sse_stream *st, struct bia_buf *b)
{
	char path[BIA_PATH_MAX];
	if (bia_run_log_path(st->srv->inst, st->run_id, path, sizeof(path)))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char *chunk = malloc(LOG_CHUNK + 1);
	ssize_t got = chunk ? pread(fd, chunk, LOG_CHUNK, st->log_off) : -1;
	close(fd);
	if (got <= 0) {
		free(chunk);
		return;
	}
	size_t used = 0;
	for (;;) {
		char *nl = memchr(chunk + used, '\n', (size_t)got - used);
		size_t len;
		if (nl)
			len = (size_t)(nl - (chunk + used));
		else if (used == 0 && got == LOG_CHUNK)
			len = (size_t)got; /* one over-long line: send what we have */
		else
			break;
		json_t *j = json_pack("{s:s%}", "line", chunk + used, len);
		if (!j) /* not UTF-8: replace the bytes */
			j = json_pack("{s:s}", "line", "(a line that is not UTF-8)");
		used += len + (nl ? 1 : 0);
		st->log_off += (int64_t)(len + (nl ? 1 : 0));
		char *s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (s)
			put(st, b, "log", s);
		free(s);
		if (used >= (size_t)got)
			break;
	}
	free(chunk);
}

static void fill_progress(struct sse_stream *st, struct bia_ctx *ctx, struct bia_buf *b)
{
	struct bia_server *srv = st->srv;
	struct progress_ev copy[PROGRESS_RING];
	size_t n = 0;
	pthread_mutex_lock(&srv->smu);
	int64_t first = srv->progress_next - PROGRESS_RING + 1;
	if (st->last_progress + 1 > first)
		first = st->last_progress + 1;
	for (int64_t id = first < 1 ? 1 : first; id <= srv->progress_next; id++)
		copy[n++] = srv->progress[(id - 1) % PROGRESS_RING];
	st->last_progress = srv->progress_next;
	pthread_mutex_unlock(&srv->smu);
	/* what the caller may see (the store is asked outside the lock) */
	for (size_t i = 0; i < n; i++)
		if (visible(st, ctx, copy[i].problem_id))
			bia_buf_addf(b, "event: progress\ndata: %s\n\n", copy[i].text);
}

/* Has the run ended (and its log been read to the end after that)? */
static int run_over(struct sse_stream *st, struct bia_ctx *ctx, enum bia_run_state *ps)
{
	struct bia_run r;
	if (bia_store_run_get(ctx, st->srv->inst, st->run_id, &r))
		return 1; /* removed */
	*ps = r.state;
	int fin = bia_run_state_final(r.state);
	bia_run_release(&r);
	return fin;
}

static void fill(struct sse_stream *st)
{
	struct bia_ctx ctx;
	struct bia_buf b;
	bia_instance_ctx(st->srv->inst, &ctx);
	bia_buf_init(&b, (size_t)4 << 20);
	if (st->run_id) {
		enum bia_run_state s = BIA_RUN_FAILED;
		int over = run_over(st, &ctx, &s); /* before reading: nothing is missed */
		fill_events(st, &ctx, &b);
		fill_log(st, &b);
		if (over && b.len == 0 && !st->end_sent) {
			char data[96];
			snprintf(data, sizeof(data), "{\"run\":%lld,\"state\":\"%s\"}",
				 (long long)st->run_id, bia_run_state_name(s));
			put(st, &b, "end", data);
			st->end_sent = 1;
		}
	} else {
		fill_events(st, &ctx, &b);
		fill_progress(st, &ctx, &b);
	}
	time_t now = time(NULL);
	if (b.len == 0 && now - st->last_send >= KEEPALIVE_S)
		bia_buf_adds(&b, ": keep-alive\n\n");
	if (b.len) {
		st->last_send = now;
		size_t n;
		char *data = bia_buf_detach(&b, &n);
		free(st->buf);
		st->buf = data;
		st->len = data ? n : 0;
		st->off = 0;
	} else {
		bia_buf_release(&b);
	}
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_stream *st = cls;
	for (int round = 0; round < 2; round++) {
		if (st->off < st->len) {
			size_t n = st->len - st->off < max ? st->len - st->off : max;
			memcpy(out, st->buf + st->off, n);
			st->off += n;
			return (ssize_t)n;
		}
		pthread_mutex_lock(&st->mu);
		int closing = st->closing;
		st->pending = 0;
		pthread_mutex_unlock(&st->mu);
		if (closing || st->end_sent)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (round == 0)
			fill(st);
	}
	pthread_mutex_lock(&st->mu);
	if (!st->pending && !st->closing) {
		st->suspended = 1;
		MHD_suspend_connection(st->conn);
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void stream_free(void *cls)
{
	struct sse_stream *st = cls;
	struct bia_server *srv = st->srv;
	pthread_mutex_lock(&srv->smu);
	for (struct sse_stream **pp = &srv->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			srv->nstreams--;
			break;
		}
	pthread_mutex_unlock(&srv->smu);
	pthread_mutex_destroy(&st->mu);
	free(st->buf);
	free(st);
}

static int open_stream(struct req *rq, int64_t run_id)
{
	struct sse_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return req_fail(rq, BIA_ENOMEM, "out of memory");
	st->srv = rq->srv;
	st->conn = rq->conn;
	st->run_id = run_id;
	st->viewer = bia_principal_viewer(&rq->who);
	st->vis_problem = -1;
	st->last_send = time(NULL);
	pthread_mutex_init(&st->mu, NULL);
	const char *last = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Last-Event-ID");
	if (!last)
		last = req_query(rq, "last_event_id");
	if (last) {
		long long e = 0, l = 0;
		if (sscanf(last, "%lld.%lld", &e, &l) >= 1 && e >= 0 && l >= 0) {
			st->last_event = e;
			st->log_off = l;
		}
	} else if (!run_id) {
		/* the instance's stream starts now, not with its history */
		struct bia_ctx ctx;
		struct bia_run_event_rec *v;
		size_t n;
		bia_instance_ctx(rq->srv->inst, &ctx);
		int64_t after = 0;
		for (;;) {
			if (bia_store_run_events(&ctx, rq->srv->inst, 0, after, 1000, &v, &n) || !n)
				break;
			after = v[n - 1].id;
			bia_run_events_free(v, n);
		}
		st->last_event = after;
		pthread_mutex_lock(&rq->srv->smu);
		st->last_progress = rq->srv->progress_next;
		pthread_mutex_unlock(&rq->srv->smu);
	}
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, st, stream_free);
	if (!resp) {
		pthread_mutex_destroy(&st->mu);
		free(st);
		return req_fail(rq, BIA_ENOMEM, "out of memory");
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	pthread_mutex_lock(&rq->srv->smu);
	st->next = rq->srv->streams;
	rq->srv->streams = st;
	rq->srv->nstreams++;
	pthread_mutex_unlock(&rq->srv->smu);
	rq->resp = resp;
	rq->status = 200;
	return 200;
}

int sse_run_stream(struct req *rq, int64_t run_id)
{
	return open_stream(rq, run_id);
}

int sse_instance_stream(struct req *rq)
{
	return open_stream(rq, 0);
}
