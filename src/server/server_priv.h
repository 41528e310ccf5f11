/* Private to src/server: the server object shared by http.c and sse.c.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_SERVER_PRIV_H
#define BIA_SERVER_PRIV_H

#include "runs/runs.h"
#include "server/server_int.h"

struct sse_stream;
struct ops;
struct cache;
struct imgsrv;
struct srcpoll;

/* The poller of trusted workflow sources (sources_poll.c). */
int srcpoll_start(struct bia_server *srv);
void srcpoll_stop(struct bia_server *srv);
/* Hold libgit2 initialised for the server's lifetime (1), release it (0):
 * libgit2 frees a thread's state when the thread ends only while it is
 * initialised, so syncs on the poller and request threads leak nothing. */
void srcpoll_git_hold(int hold);

/* The store's generation (cache.c). */
struct cache_gen {
	int valid;
	int64_t db_mtime, db_size, wal_size, wal_mtime;
	unsigned char salts[8];
};
int cache_start(struct bia_server *srv);
void cache_stop(struct bia_server *srv);
int cache_gen(struct bia_server *srv, struct cache_gen *g);
char *cache_get(struct bia_server *srv, const char *key, const struct cache_gen *g,
		size_t *plen, int *pstatus, int64_t *ptotal, char type[48]);
void cache_put(struct bia_server *srv, const char *key, const struct cache_gen *g,
	       const char *body, size_t len, int status, int64_t total, const char *type);
/* Is route i's GET answer a function of the store alone (routes.c)? */
int route_cacheable(size_t i);

#define LOGIN_SLOTS 256
struct login_slot {
	char key[96]; /* "user|ip" */
	int64_t window_start;
	unsigned failures;
};

#define PROGRESS_RING 64
struct progress_ev {
	int64_t id;
	int64_t problem_id; /* seen by those who may read it */
	char text[512]; /* the JSON of the event */
};

/* A connection, for the header deadline (http.c). */
struct conn_watch {
	struct conn_watch *next, *prev;
	int fd;
	int64_t since_ms; /* when it began waiting for a request's headers */
	int in_request;
};

struct bia_server {
	struct bia_instance *inst;
	struct bia_serve_opts opts;
	char web_dir[BIA_PATH_MAX]; /* the built web app (index.html, assets/), "" none */
	struct MHD_Daemon *d;
	atomic_int *stop;
	atomic_int stopping; /* no new work: 503 */
	atomic_int active;   /* requests being handled */
	/* event streams */
	pthread_mutex_t smu;
	struct sse_stream *streams;
	size_t nstreams;
	pthread_t ticker;
	int ticker_started;
	int sse_started; /* sse_start succeeded; sse_stop undoes it once */
	int tick_wake[2]; /* pipe: end the ticker's wait */
	int sub_token;
	struct progress_ev progress[PROGRESS_RING];
	int64_t progress_next;
	/* failed logins */
	pthread_mutex_t lmu;
	struct login_slot logins[LOGIN_SLOTS];
	/* the worker */
	struct bia_worker_loop wl;
	pthread_t worker;
	int worker_started;
	atomic_int worker_done;
	int worker_wake; /* eventfd */
	struct ops *ops; /* long operations (ops.c) */
	struct cache *cache; /* rendered GET responses (cache.c) */
	struct imgsrv *img;  /* image routes and pyramid builder (images.c) */
	struct srcpoll *srcpoll; /* syncs trusted workflow sources (sources_poll.c) */
	pthread_mutex_t wmu;
	struct conn_watch *watched; /* open connections */
};

#endif
