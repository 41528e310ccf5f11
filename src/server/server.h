/* biaflows serve: the REST API over HTTP (libmicrohttpd), with the run
 * worker in-process. docs/api.md documents the routes; docs/server.md the
 * threads, limits and shutdown.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_SERVER_H
#define BIA_SERVER_H

#include "store/store.h"
#include "util/util.h"

#include <jansson.h>
#include <stdatomic.h>

struct bia_serve_opts {
	const char *listen;	  /* "ADDR:PORT" (default 127.0.0.1:8080; port 0: any free) */
	int guest;		  /* anonymous callers read public content */
	unsigned threads;	  /* request threads (default 4) */
	unsigned conn_limit;	  /* open connections at most (default 512) */
	unsigned conn_timeout;	  /* seconds a connection may stay idle (default 30) */
	unsigned header_timeout;  /* seconds to send a request's headers (default 30) */
	int no_worker;		  /* do not run queued runs in this process */
	int tile_cache_mb;	  /* rendered IIIF tiles kept in memory (MiB): 0 default
				   * (64), < 0 none */
	int grace_ms;		  /* on stop: how long requests in flight may take (5000) */
	const char *web_dir;	  /* the built web app (default: $BIAFLOWS_WEB, else web/
				   * beside the executable, as make builds it) */
	const char *port_file;	  /* write the bound port there once listening */
	/* called once listening (port bound), e.g. to print the address */
	void (*ready)(void *user, const char *addr, unsigned port);
	void *user;
};

/* Serve until *stop becomes non-zero (write to wake_fd, a pipe or eventfd,
 * to make it seen at once). Stops accepting, lets requests in flight finish
 * (at most grace_ms), ends event streams, stops the worker (a run still
 * executing is left for the next start's recovery) and returns 0. */
int bia_serve(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_serve_opts *o,
	      atomic_int *stop, int wake_fd);

/* The OpenAPI 3.1 document of the routes (what /api/v1/openapi.json
 * returns). Caller decrefs. */
json_t *bia_api_openapi(void);

/* Routing without a socket (tests, fuzzing): match METHOD and PATH
 * against the route table; *pindex gets the route's index. 0 if a route
 * matches, 404 if no path matches, 405 if the path matches another method. */
int bia_api_match(const char *method, const char *path, size_t *pindex);

#endif
