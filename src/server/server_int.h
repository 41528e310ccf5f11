/* Private to src/server: a request as handlers see it, the route table,
 * event streams.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_SERVER_INT_H
#define BIA_SERVER_INT_H

#include "auth/auth.h"
#include "server/server.h"

#include <microhttpd.h>
#include <pthread.h>

#define API_PREFIX "/api/v1"
#define MAX_PARAMS 4

struct bia_server;

/* What a request carries in: nothing, a JSON object, or a file streamed to
 * a temporary file of the instance (uploads). */
enum body_kind { BODY_NONE, BODY_JSON, BODY_FILE, BODY_FORM /* multipart/form-data */ };
#define FORM_FILES 8

struct req {
	struct bia_server *srv;
	struct MHD_Connection *conn;
	struct bia_ctx ctx;
	const char *method; /* "GET", ... */
	char path[1024];    /* decoded, without the query */
	const char *params[MAX_PARAMS]; /* path parameters, in pattern order */
	char pbuf[1024];		/* their text */
	size_t route;			/* index in the table */
	struct bia_principal who;
	/* body */
	enum body_kind body_kind;
	char *body;	  /* BODY_JSON: the bytes read (NUL-terminated) */
	size_t body_len;
	int body_fd;	  /* BODY_FILE: the temporary file, -1 */
	char body_path[BIA_PATH_MAX];
	uint64_t body_bytes;
	int body_too_big; /* a limit was exceeded while reading */
	json_t *json;	  /* the parsed JSON body (BODY_JSON); BODY_FORM: the text fields */
	/* BODY_FORM: files of the form, stored under body_path + ".d" */
	struct MHD_PostProcessor *pp;
	char form_dir[BIA_PATH_MAX + 8];
	struct form_file {
		char field[32];
		char path[BIA_PATH_MAX + 300];
		int fd;
	} files[FORM_FILES];
	size_t nfiles;
	/* response */
	int status;
	json_t *out;	       /* a JSON response */
	char *text;	       /* or a text response (malloc'd) ... */
	size_t text_len;
	const char *text_type; /* ... of this type */
	char text_type_buf[48];
	int file_fd;	       /* or a file (download), -1 */
	uint64_t file_size;
	uint64_t file_offset;  /* a Range request's first byte (206) */
	const char *file_type;
	char disposition[300]; /* Content-Disposition of a download */
	struct MHD_Response *resp; /* or a response made by the handler (streams) */
	char cookie[512];	   /* Set-Cookie */
	char allow[64];		   /* Allow (405) */
	int64_t total;		   /* lists: the total, -1 if not a list */
	int retry_after;	   /* seconds (429), 0 */
	char *cache_key;	   /* a cacheable GET: its key (malloc'd) */
	unsigned char gen[64];	   /* its store generation (struct cache_gen) */
	int started;		   /* the access handler has seen the request */
	int image_route;	   /* /zarr or /iiif: answered by img_handle */
	int web_route;		   /* a page or asset of the web app: web_handle */
	int responded;
};

typedef int (*route_fn)(struct req *rq);

struct route {
	const char *method;
	const char *pattern; /* under API_PREFIX; "{name}" segments are parameters */
	route_fn fn;
	enum bia_role need;   /* the least role (NONE: anyone; read routes in guest mode) */
	enum body_kind body;
	const char *tag;
	const char *summary;
	const char *cli;      /* the matching CLI command (its --format json) */
};
extern const struct route bia__routes[];
extern const size_t bia__nroutes;

/* The value of a hex digit, -1 if c is none. */
int bia_hexval(char c);
/* Texts (in place, recursively) and the error message of rq without the
 * server's folder dir: answers name uploaded files, not where they were
 * kept. */
void req_strip_dir(json_t *v, const char *dir);
void req_strip_dir_msg(struct req *rq, const char *dir);
/* The stored path of a form's file field, NULL if it was not sent. */
const char *req_form_file(struct req *rq, const char *field);
/* Query parameter, NULL if absent. */
const char *req_query(struct req *rq, const char *key);
/* Fail the request: the error of ctx becomes the response. Returns its
 * HTTP status. */
int req_error(struct req *rq);
int req_fail(struct req *rq, enum bia_rc rc, const char *fmt, ...) BIA_PRINTF(3, 4);
/* 405 method_not_allowed ("M is not allowed on PATH" + what); the caller
 * fills rq->allow. Returns 405. */
int req_not_allowed(struct req *rq, const char *what);
/* Respond with JSON (reference stolen). */
int req_json(struct req *rq, int status, json_t *j);
/* limit/offset from the query (defaults 50 and 0; limit 1..1000). */
int req_page(struct req *rq, struct bia_page *page);
/* A list response: {"items": rows, "total", "limit", "offset"}; with
 * ?format=csv or Accept: text/csv the rows as CSV. */
int req_list(struct req *rq, json_t *rows, int64_t total, struct bia_page page);
/* Respond with a file (a blob) to download. */
int req_file(struct req *rq, const char *path, const char *type, const char *name);

/* The instance of the server. */
struct bia_instance *req_inst(struct req *rq);
int req_guest(struct req *rq);

/* Operations (ops.c): long work on the operation threads. fn gets the
 * request's JSON (owned by the operation) and an opaque progress handle;
 * it sets *presult (the JSON the CLI prints) or fails on ctx. */
typedef int (*op_fn)(struct bia_server *srv, json_t *request, void *oprun,
		     struct bia_ctx *ctx, json_t **presult);
int ops_start(struct bia_server *srv);
int ops_stop(struct bia_server *srv, int grace_ms);
/* Queue an operation (request is stolen) and answer 202 with it. */
int ops_submit(struct req *rq, const char *kind, int64_t problem_id, json_t *request,
	       op_fn fn);
int ops_get_json(struct req *rq, int64_t id, json_t **pout);
json_t *ops_list_json(struct req *rq);
struct bia_bench_hooks;
void bia__op_hooks(void *oprun, struct bia_bench_hooks *h);
void bia__op_progress(void *oprun, int64_t done, int64_t total, const char *detail);

/* The web app (web.c): find its folder; is path one of its pages;
 * answer a request outside the API and the image routes. */
void web_init(struct bia_server *s);
int web_is_page(const char *path);
int web_handle(struct req *rq);

/* Event streams (sse.c). */
int sse_run_stream(struct req *rq, int64_t run_id);
int sse_instance_stream(struct req *rq);
int sse_start(struct bia_server *srv);
void sse_stop(struct bia_server *srv);
void sse_wake_all(struct bia_server *srv);
size_t sse_open_streams(struct bia_server *srv);
/* Progress of long operations started through the API (imports, sweeps,
 * benchmarks): an instance-wide "progress" event. */
void sse_progress(struct bia_server *srv, int64_t problem_id, const char *what, int64_t done,
		  int64_t total, const char *detail);

#endif
