/* biaflows serve: libmicrohttpd glue. A request is matched against the
 * route table on its first call, authenticated and checked against the
 * route's role, its body read (JSON into memory, uploads streamed to a
 * temporary file, both size-limited), then the handler runs and its
 * response is queued. docs/server.md.
 * SPDX-License-Identifier: MIT */
#include "server/images_int.h"
#include "server/server_priv.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SESSION_COOKIE "biaflows_session"
#define LOGIN_WINDOW 60	   /* seconds */
#define LOGIN_MAX_FAILURES 5 /* per user and address in a window */

struct bia_instance *req_inst(struct req *rq)
{
	return rq->srv->inst;
}

int req_guest(struct req *rq)
{
	return rq->srv->opts.guest;
}

const char *req_query(struct req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

int req_json(struct req *rq, int status, json_t *j)
{
	json_decref(rq->out);
	rq->out = j;
	rq->status = status;
	return status;
}

int req_error(struct req *rq)
{
	if (rq->ctx.rc == BIA_OK)
		bia_fail(&rq->ctx, BIA_EIO, "internal error");
	return req_json(rq, bia_rc_http_status(rq->ctx.rc), bia_error_json(&rq->ctx));
}

int req_fail(struct req *rq, enum bia_rc rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[sizeof(rq->ctx.msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bia_fail(&rq->ctx, rc, "%s", msg);
	return req_error(rq);
}

/* A whole number of the query between lo and hi, or dflt when absent. */
static int query_int(struct req *rq, const char *key, int64_t dflt, int64_t lo, int64_t hi,
		     int64_t *out)
{
	const char *s = req_query(rq, key);
	*out = dflt;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return bia_fail(&rq->ctx, BIA_EINVAL, "%s must be a whole number from %lld to %lld",
				key, (long long)lo, (long long)hi);
	*out = v;
	return 0;
}

int req_page(struct req *rq, struct bia_page *page)
{
	if (query_int(rq, "limit", 50, 1, BIA_PAGE_MAX, &page->limit) ||
	    query_int(rq, "offset", 0, 0, INT64_MAX / 2, &page->offset))
		return req_error(rq);
	return 0;
}

static int wants_csv(struct req *rq)
{
	const char *f = req_query(rq, "format");
	if (f)
		return !strcmp(f, "csv");
	const char *a = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Accept");
	return a && strstr(a, "text/csv") && !strstr(a, "application/json");
}

/* CSV of rows (objects): the keys of the first row as the header; values
 * quoted when needed; nested objects and arrays as their JSON. */
static char *rows_csv(json_t *rows, size_t *plen)
{
	struct bia_buf b;
	bia_buf_init(&b, (size_t)1 << 30);
	json_t *first = json_array_get(rows, 0);
	const char *key;
	json_t *v;
	int k = 0;
	json_object_foreach(first, key, v)
	{
		bia_buf_addf(&b, "%s%s", k++ ? "," : "", key);
	}
	bia_buf_adds(&b, "\n");
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		k = 0;
		json_object_foreach(first, key, v)
		{
			char *t = bia_json_text(json_object_get(row, key), 17);
			if (k++)
				bia_buf_adds(&b, ",");
			bia_csv_field(&b, t ? t : "");
			free(t);
		}
		bia_buf_adds(&b, "\n");
	}
	return bia_buf_detach(&b, plen);
}

int req_list(struct req *rq, json_t *rows, int64_t total, struct bia_page page)
{
	rq->total = total;
	if (wants_csv(rq)) {
		rq->text = rows_csv(rows, &rq->text_len);
		rq->text_type = "text/csv; charset=utf-8";
		json_decref(rows);
		rq->status = rq->text ? 200 : 500;
		return rq->status;
	}
	return req_json(rq, 200,
			json_pack("{s:o, s:I, s:I, s:I}", "items", rows, "total", (json_int_t)total,
				  "limit", (json_int_t)page.limit, "offset",
				  (json_int_t)page.offset));
}

int req_file(struct req *rq, const char *path, const char *type, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			close(fd);
		return req_fail(rq, BIA_EIO, "cannot open a stored file");
	}
	rq->file_fd = fd;
	rq->file_size = (uint64_t)sb.st_size;
	rq->file_type = type;
	if (name) {
		/* only safe characters in the header */
		char safe[256];
		size_t k = 0;
		for (const char *c = name; *c && k < sizeof(safe) - 1; c++)
			safe[k++] = (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) ? '_' : *c;
		safe[k] = '\0';
		snprintf(rq->disposition, sizeof(rq->disposition), "attachment; filename=\"%s\"",
			 safe);
	}
	rq->status = 200;
	/* "Range: bytes=N-" resumes a download (206 from byte N); other
	 * ranges get the whole file */
	const char *range = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Range");
	if (range && !strncmp(range, "bytes=", 6)) {
		char *end;
		unsigned long long from = strtoull(range + 6, &end, 10);
		if (end != range + 6 && !strcmp(end, "-") && from > 0 && from < rq->file_size) {
			rq->file_offset = from;
			rq->status = 206;
		}
	}
	return rq->status;
}

void req_strip_dir(json_t *v, const char *dir)
{
	size_t n = strlen(dir);
	if (!n)
		return;
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *at;
		if ((at = strstr(s, dir))) {
			struct bia_buf b;
			bia_buf_init(&b, 1 << 16);
			bia_buf_add(&b, s, (size_t)(at - s));
			const char *rest = at + n;
			if (*rest == '/')
				rest++;
			bia_buf_adds(&b, rest);
			char *t = bia_buf_detach(&b, NULL);
			if (t)
				json_string_set(v, t);
			free(t);
			req_strip_dir(v, dir); /* more than once */
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) req_strip_dir(x, dir);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) req_strip_dir(x, dir);
	}
}

void req_strip_dir_msg(struct req *rq, const char *dir)
{
	json_t *mj = json_string(rq->ctx.msg);
	req_strip_dir(mj, dir);
	if (json_string_value(mj))
		snprintf(rq->ctx.msg, sizeof(rq->ctx.msg), "%s", json_string_value(mj));
	json_decref(mj);
}

/* ------------------------------------------------------------- routing */

/* Split "a/b/c" by '/': the segments (in place), at most max. */
static size_t split_path(char *s, char **seg, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return max + 1;
		seg[n++] = t;
	}
	return n;
}

/* Does path match pattern? Parameters are copied into pbuf/params. */
static int match_one(const char *pattern, const char *path, char *pbuf, size_t pbufsz,
		     const char **params)
{
	char pcopy[256], scopy[1024];
	char *pseg[16], *sseg[16];
	snprintf(pcopy, sizeof(pcopy), "%s", pattern);
	if (snprintf(scopy, sizeof(scopy), "%s", path) >= (int)sizeof(scopy))
		return 0;
	size_t np = split_path(pcopy, pseg, 16), ns = split_path(scopy, sseg, 16);
	if (np != ns || ns > 16)
		return 0;
	size_t used = 0, k = 0;
	for (size_t i = 0; i < np; i++) {
		if (pseg[i][0] == '{') {
			size_t len = strlen(sseg[i]);
			if (k == MAX_PARAMS || (pbuf && used + len + 1 > pbufsz))
				return 0;
			if (pbuf) {
				memcpy(pbuf + used, sseg[i], len + 1);
				params[k] = pbuf + used;
			}
			used += len + 1;
			k++;
		} else if (strcmp(pseg[i], sseg[i])) {
			return 0;
		}
	}
	return 1;
}

static int route_lookup(const char *method, const char *path, size_t *pindex, char *pbuf,
			size_t pbufsz, const char **params)
{
	size_t plen = strlen(API_PREFIX);
	if (strncmp(path, API_PREFIX, plen) || (path[plen] && path[plen] != '/'))
		return 404;
	const char *rest = path + plen;
	int path_matched = 0;
	for (size_t i = 0; i < bia__nroutes; i++) {
		if (!match_one(bia__routes[i].pattern, rest, NULL, 0, NULL))
			continue;
		path_matched = 1;
		if (strcmp(bia__routes[i].method, method) &&
		    !(!strcmp(method, "HEAD") && !strcmp(bia__routes[i].method, "GET")))
			continue;
		if (pbuf)
			match_one(bia__routes[i].pattern, rest, pbuf, pbufsz, params);
		*pindex = i;
		return 0;
	}
	return path_matched ? 405 : 404;
}

int bia_api_match(const char *method, const char *path, size_t *pindex)
{
	char pbuf[1024];
	const char *params[MAX_PARAMS];
	return route_lookup(method, path, pindex, pbuf, sizeof(pbuf), params);
}

/* ----------------------------------------------------- authentication */

static const char *cookie_value(struct req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, name);
}

/* Who is calling: a bearer token, else a session cookie, else anonymous. */
static int authenticate(struct req *rq)
{
	const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Authorization");
	memset(&rq->who, 0, sizeof(rq->who));
	if (h) {
		if (strncasecmp(h, "Bearer ", 7))
			return req_fail(rq, BIA_EAUTH, "the Authorization header must be 'Bearer TOKEN'");
		const char *t = h + 7;
		while (*t == ' ')
			t++;
		if (bia_auth_secret(&rq->ctx, rq->srv->inst, t, 0, &rq->who))
			return req_error(rq);
		return 0;
	}
	const char *c = cookie_value(rq, SESSION_COOKIE);
	if (c && *c) {
		struct bia_ctx tmp;
		bia_instance_ctx(rq->srv->inst, &tmp);
		if (bia_auth_secret(&tmp, rq->srv->inst, c, 1, &rq->who)) {
			if (tmp.rc != BIA_EAUTH)
				return req_fail(rq, tmp.rc, "%s", tmp.msg);
			memset(&rq->who, 0, sizeof(rq->who)); /* an old cookie: anonymous */
		}
	}
	return 0;
}

static int is_read(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* The route's role and, for state changes with a session cookie, the CSRF
 * token (header X-CSRF-Token). */
static int authorize(struct req *rq)
{
	const struct route *r = &bia__routes[rq->route];
	enum bia_role need = r->need;
	if (need == BIA_ROLE_VIEWER && rq->srv->opts.guest && is_read(rq->method))
		need = BIA_ROLE_NONE;
	if (need != BIA_ROLE_NONE && bia_access_role(&rq->ctx, &rq->who, need))
		return req_error(rq);
	if (rq->who.session && !is_read(rq->method) &&
	    !(!strcmp(rq->method, "POST") && !strcmp(r->pattern, "/session"))) {
		const char *t =
			MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-CSRF-Token");
		if (!t || strcmp(t, rq->who.csrf))
			return req_fail(rq, BIA_EPERM,
					"a change made with a session cookie needs the header "
					"X-CSRF-Token (from POST /session)");
	}
	return 0;
}

/* Failed logins: at most LOGIN_MAX_FAILURES per user and address in
 * LOGIN_WINDOW seconds. */
static void client_ip(struct req *rq, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, outsz, "?");
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
			  (socklen_t)outsz);
}

int bia__login_limited(struct req *rq, const char *user, int failed);
int bia__login_limited(struct req *rq, const char *user, int failed)
{
	struct bia_server *s = rq->srv;
	char ip[64], key[96];
	client_ip(rq, ip, sizeof(ip));
	snprintf(key, sizeof(key), "%.64s|%s", user, ip);
	int64_t now = (int64_t)time(NULL);
	int limited = 0;
	pthread_mutex_lock(&s->lmu);
	struct login_slot *slot = NULL, *oldest = &s->logins[0];
	for (size_t i = 0; i < LOGIN_SLOTS; i++) {
		if (!strcmp(s->logins[i].key, key)) {
			slot = &s->logins[i];
			break;
		}
		if (s->logins[i].window_start < oldest->window_start)
			oldest = &s->logins[i];
	}
	if (slot && now - slot->window_start >= LOGIN_WINDOW) {
		slot->window_start = now;
		slot->failures = 0;
	}
	if (failed) {
		if (!slot) {
			slot = oldest;
			snprintf(slot->key, sizeof(slot->key), "%s", key);
			slot->window_start = now;
			slot->failures = 0;
		}
		slot->failures++;
	} else if (slot && slot->failures >= LOGIN_MAX_FAILURES) {
		limited = (int)(LOGIN_WINDOW - (now - slot->window_start));
		if (limited < 1)
			limited = 1;
	}
	pthread_mutex_unlock(&s->lmu);
	return limited;
}

/* ----------------------------------------------------------- requests */

int bia_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void req_free(struct req *rq)
{
	if (rq->pp)
		MHD_destroy_post_processor(rq->pp);
	for (size_t i = 0; i < rq->nfiles; i++)
		if (rq->files[i].fd >= 0)
			close(rq->files[i].fd);
	if (rq->form_dir[0]) {
		struct bia_ctx tmp;
		bia_ctx_init(&tmp);
		bia_rm_rf(&tmp, rq->form_dir);
	}
	if (rq->body_fd >= 0)
		close(rq->body_fd);
	if (rq->body_path[0])
		unlink(rq->body_path);
	if (rq->file_fd >= 0)
		close(rq->file_fd);
	free(rq->body);
	free(rq->text);
	free(rq->cache_key);
	json_decref(rq->json);
	json_decref(rq->out);
	free(rq);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct conn_watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A request's headers have arrived (1) or it ended (0): a connection waits
 * for headers at most header_timeout seconds. */
static void watch_mark(struct bia_server *s, struct MHD_Connection *conn, int in_request)
{
	struct conn_watch *w = watch_of(conn);
	if (!w)
		return;
	pthread_mutex_lock(&s->wmu);
	w->in_request = in_request;
	w->since_ms = now_ms();
	pthread_mutex_unlock(&s->wmu);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct bia_server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn_watch *w = calloc(1, sizeof(*w));
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!w || !ci) {
			free(w);
			*socket_context = NULL;
			return;
		}
		w->fd = ci->connect_fd;
		w->since_ms = now_ms();
		pthread_mutex_lock(&s->wmu);
		w->next = s->watched;
		if (s->watched)
			s->watched->prev = w;
		s->watched = w;
		pthread_mutex_unlock(&s->wmu);
		*socket_context = w;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* called before the socket is closed: the watcher never touches a
		 * descriptor that was closed (and perhaps reused) */
		struct conn_watch *w = *socket_context;
		if (!w)
			return;
		pthread_mutex_lock(&s->wmu);
		if (w->prev)
			w->prev->next = w->next;
		else
			s->watched = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&s->wmu);
		free(w);
		*socket_context = NULL;
	}
}

/* Connections that took longer than header_timeout to send a request's
 * headers (a client sending a byte a second) are shut down; libmicrohttpd
 * then closes them. Returns how many. */
static size_t watch_expire(struct bia_server *s)
{
	int64_t now = now_ms(), limit = (int64_t)s->opts.header_timeout * 1000;
	size_t n = 0;
	pthread_mutex_lock(&s->wmu);
	for (struct conn_watch *w = s->watched; w; w = w->next)
		if (!w->in_request && now - w->since_ms > limit) {
			shutdown(w->fd, SHUT_RDWR);
			w->since_ms = now;
			n++;
		}
	pthread_mutex_unlock(&s->wmu);
	return n;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct bia_server *s = cls;
	struct req *rq = *con_cls;
	watch_mark(s, conn, 0);
	if (!rq)
		return;
	*con_cls = NULL;
	req_free(rq);
	atomic_fetch_sub(&s->active, 1);
}

static enum MHD_Result queue(struct req *rq)
{
	struct MHD_Response *resp = rq->resp;
	int status = rq->status ? rq->status : 500;
	if (!resp && rq->file_fd >= 0) {
		resp = MHD_create_response_from_fd_at_offset64(rq->file_size - rq->file_offset,
							       rq->file_fd, rq->file_offset);
		if (resp) {
			rq->file_fd = -1; /* the response closes it */
			MHD_add_response_header(resp, "Accept-Ranges", "bytes");
			if (rq->file_offset) {
				char cr[96];
				snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
					 (unsigned long long)rq->file_offset,
					 (unsigned long long)rq->file_size - 1,
					 (unsigned long long)rq->file_size);
				MHD_add_response_header(resp, "Content-Range", cr);
			}
			MHD_add_response_header(resp, "Content-Type",
						rq->file_type ? rq->file_type
							      : "application/octet-stream");
			if (rq->disposition[0])
				MHD_add_response_header(resp, "Content-Disposition", rq->disposition);
		}
	} else if (!resp && rq->text) {
		if (rq->cache_key && status == 200)
			cache_put(rq->srv, rq->cache_key, (const struct cache_gen *)rq->gen, rq->text,
				  rq->text_len, status, rq->total, rq->text_type);
		resp = MHD_create_response_from_buffer(rq->text_len, rq->text,
						       MHD_RESPMEM_MUST_FREE);
		if (resp) {
			rq->text = NULL;
			MHD_add_response_header(resp, "Content-Type", rq->text_type);
		}
	} else if (!resp) {
		if (!rq->out) {
			bia_fail(&rq->ctx, BIA_EIO, "internal error: no response");
			rq->out = bia_error_json(&rq->ctx);
			status = 500;
		}
		size_t n;
		char *s = json_dumps(rq->out, JSON_COMPACT);
		n = s ? strlen(s) : 0;
		if (s) {
			char *t = realloc(s, n + 2);
			if (t) {
				s = t;
				s[n++] = '\n';
				s[n] = '\0';
			}
		}
		if (s && rq->cache_key && status == 200)
			cache_put(rq->srv, rq->cache_key, (const struct cache_gen *)rq->gen, s, n,
				  status, rq->total, "application/json");
		resp = s ? MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE) : NULL;
		if (resp)
			MHD_add_response_header(resp, "Content-Type", "application/json");
		else
			free(s);
	}
	if (!resp)
		return MHD_NO;
	if (rq->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", rq->cookie);
	if (rq->allow[0])
		MHD_add_response_header(resp, "Allow", rq->allow);
	if (rq->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", rq->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (rq->total >= 0) {
		char t[32];
		snprintf(t, sizeof(t), "%lld", (long long)rq->total);
		MHD_add_response_header(resp, "X-Total-Count", t);
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (!MHD_get_response_header(resp, "Cache-Control"))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	rq->resp = NULL;
	rq->responded = 1;
	return ret;
}

/* Respond now with the error on ctx (early refusals). */
static enum MHD_Result refuse(struct req *rq)
{
	if (!rq->out)
		req_error(rq);
	return queue(rq);
}

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
		if (n < 0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

static enum MHD_Result form_part(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *filename, const char *content_type,
				 const char *transfer_encoding, const char *data, uint64_t off,
				 size_t size);

int req_not_allowed(struct req *rq, const char *what)
{
	bia_fail(&rq->ctx, BIA_EINVAL, "%s is not allowed on %s%s", rq->method, rq->path, what);
	req_error(rq);
	json_t *e = json_object_get(rq->out, "error");
	json_object_set_new(e, "code", json_string("method_not_allowed"));
	json_object_set_new(e, "status", json_integer(405));
	rq->status = 405;
	return 405;
}

/* The first call of a request: route, authenticate, authorize, prepare
 * the body. Returns 0 to go on, else the request was answered. */
static int begin(struct req *rq, const char *url)
{
	if (strlen(url) >= sizeof(rq->path))
		return req_fail(rq, BIA_ELIMIT, "the URL is too long");
	if (!valid_utf8(url))
		return req_fail(rq, BIA_EINVAL, "the URL is not valid UTF-8");
	if (strstr(url, "%00"))
		return req_fail(rq, BIA_EINVAL, "the URL has a NUL byte (%%00)");
	snprintf(rq->path, sizeof(rq->path), "%s", url);
	for (const char *p = rq->path; (p = strstr(p, "..")); p += 2)
		if ((p == rq->path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return req_fail(rq, BIA_EINVAL, "a path with '..' is refused");
	if (img_is_route(rq->path)) {
		/* OME-Zarr and IIIF: their handler checks the right to read */
		rq->image_route = 1;
		if (atomic_load(&rq->srv->stopping))
			return req_fail(rq, BIA_EUNAVAIL, "the server is stopping");
		if (authenticate(rq))
			return rq->status;
		return 0;
	}
	size_t ap = strlen(API_PREFIX);
	if (strncmp(rq->path, API_PREFIX, ap) || (rq->path[ap] && rq->path[ap] != '/')) {
		rq->web_route = 1; /* the app's pages and assets: public files */
		return 0;
	}
	int m = route_lookup(rq->method, rq->path, &rq->route, rq->pbuf, sizeof(rq->pbuf),
			     rq->params);
	if (m == 404)
		return req_fail(rq, BIA_ENOENT, "no route %s %s (see %s/openapi.json)", rq->method,
				rq->path, API_PREFIX);
	if (m == 405) {
		req_not_allowed(rq, "");
		size_t k = 0;
		const char *rest = rq->path + strlen(API_PREFIX);
		for (size_t i = 0; i < bia__nroutes; i++)
			if (match_one(bia__routes[i].pattern, rest, NULL, 0, NULL))
				k += (size_t)snprintf(rq->allow + k, k < sizeof(rq->allow) ? sizeof(rq->allow) - k : 0,
						      "%s%s", k ? ", " : "", bia__routes[i].method);
		return 405;
	}
	if (atomic_load(&rq->srv->stopping))
		return req_fail(rq, BIA_EUNAVAIL, "the server is stopping");
	if (authenticate(rq) || authorize(rq))
		return rq->status;
	const struct route *r = &bia__routes[rq->route];
	rq->body_kind = r->body;
	const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Length");
	uint64_t limit = r->body == BODY_FILE || r->body == BODY_FORM
				 ? rq->srv->inst->limits.max_upload_bytes
				 : rq->srv->inst->limits.max_body_bytes;
	if (cl && strtoull(cl, NULL, 10) > limit)
		return req_fail(rq, BIA_ELIMIT, "the body is larger than the limit of %llu bytes",
				(unsigned long long)limit);
	if (r->body == BODY_FORM) {
		const char *ct =
			MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type");
		if (!ct || strncasecmp(ct, "multipart/form-data", 19))
			return req_fail(rq, BIA_EINVAL, "this route takes multipart/form-data");
		char tmp[BIA_PATH_MAX];
		if (bia_path_join(&rq->ctx, tmp, sizeof(tmp), rq->srv->inst->root, "tmp"))
			return req_error(rq);
		mkdir(tmp, 0755);
		snprintf(rq->form_dir, sizeof(rq->form_dir), "%s/upload-%ld-XXXXXX", tmp,
			 (long)getpid());
		if (!mkdtemp(rq->form_dir)) {
			rq->form_dir[0] = '\0';
			return req_fail(rq, BIA_EIO, "cannot store the upload: %s", strerror(errno));
		}
		rq->json = json_object();
		rq->pp = MHD_create_post_processor(rq->conn, 64 * 1024, form_part, rq);
		if (!rq->pp)
			return req_fail(rq, BIA_EINVAL, "a malformed multipart/form-data header");
	}
	if (r->body == BODY_FILE) {
		char tmp[BIA_PATH_MAX];
		if (bia_path_join(&rq->ctx, tmp, sizeof(tmp), rq->srv->inst->root, "tmp"))
			return req_error(rq);
		mkdir(tmp, 0755);
		snprintf(rq->body_path, sizeof(rq->body_path), "%s/upload-%ld-XXXXXX", tmp,
			 (long)getpid());
		rq->body_fd = mkostemp(rq->body_path, O_CLOEXEC);
		if (rq->body_fd < 0) {
			rq->body_path[0] = '\0';
			return req_fail(rq, BIA_EIO, "cannot store the upload: %s", strerror(errno));
		}
	}
	return 0;
}

const char *req_form_file(struct req *rq, const char *field)
{
	for (size_t i = 0; i < rq->nfiles; i++)
		if (!strcmp(rq->files[i].field, field))
			return rq->files[i].path;
	return NULL;
}

static int form_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max || s[0] == '.')
		return 0;
	for (const char *c = s; *c; c++)
		if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20)
			return 0;
	return 1;
}

/* A part of a multipart/form-data body: files go to form_dir/FIELD/NAME,
 * text fields (at most 4 KiB each) into rq->json. */
static enum MHD_Result form_part(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *filename, const char *content_type,
				 const char *transfer_encoding, const char *data, uint64_t off,
				 size_t size)
{
	struct req *rq = cls;
	if (rq->body_too_big)
		return MHD_NO;
	if (!key || !form_name_ok(key, 31) || strspn(key, "abcdefghijklmnopqrstuvwxyz_") != strlen(key)) {
		rq->body_too_big = 3;
		return MHD_NO;
	}
	if (!filename) {
		json_t *cur = json_object_get(rq->json, key);
		size_t have = cur ? json_string_length(cur) : 0;
		if (have + size > 4096) {
			rq->body_too_big = 3;
			return MHD_NO;
		}
		char *t = malloc(have + size + 1);
		if (!t)
			return MHD_NO;
		if (have)
			memcpy(t, json_string_value(cur), have);
		memcpy(t + have, data, size);
		t[have + size] = '\0';
		json_t *v = json_stringn_nocheck(t, have + size);
		free(t);
		json_object_set_new(rq->json, key, v);
		return MHD_YES;
	}
	struct form_file *f = NULL;
	for (size_t i = 0; i < rq->nfiles; i++)
		if (!strcmp(rq->files[i].field, key))
			f = &rq->files[i];
	if (!f) {
		const char *base = strrchr(filename, '/');
		base = base ? base + 1 : filename;
		if (rq->nfiles == FORM_FILES || !form_name_ok(base, 200)) {
			rq->body_too_big = 3;
			return MHD_NO;
		}
		f = &rq->files[rq->nfiles];
		snprintf(f->field, sizeof(f->field), "%s", key);
		char sub[BIA_PATH_MAX + 48];
		snprintf(sub, sizeof(sub), "%s/%s", rq->form_dir, key);
		if (mkdir(sub, 0700)) {
			rq->body_too_big = 2;
			return MHD_NO;
		}
		snprintf(f->path, sizeof(f->path), "%s/%s", sub, base);
		f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f->fd < 0) {
			rq->body_too_big = 2;
			return MHD_NO;
		}
		rq->nfiles++;
	}
	if (size && bia_write_all(f->fd, data, size)) {
		rq->body_too_big = 2;
		return MHD_NO;
	}
	return MHD_YES;
}

static void take_body(struct req *rq, const char *data, size_t n)
{
	if (rq->body_too_big)
		return;
	uint64_t limit = rq->body_kind == BODY_FILE || rq->body_kind == BODY_FORM
				 ? rq->srv->inst->limits.max_upload_bytes
				 : rq->srv->inst->limits.max_body_bytes;
	if (rq->body_bytes + n > limit) {
		rq->body_too_big = 1;
		return;
	}
	rq->body_bytes += n;
	if (rq->body_kind == BODY_FORM) {
		if (MHD_post_process(rq->pp, data, n) != MHD_YES && !rq->body_too_big)
			rq->body_too_big = 3;
		return;
	}
	if (rq->body_kind == BODY_FILE) {
		while (n) {
			ssize_t w = write(rq->body_fd, data, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rq->body_too_big = 2; /* a write error */
				return;
			}
			data += w;
			n -= (size_t)w;
		}
		return;
	}
	if (rq->body_kind == BODY_NONE)
		return; /* ignored */
	char *t = realloc(rq->body, rq->body_len + n + 1);
	if (!t) {
		rq->body_too_big = 2;
		return;
	}
	rq->body = t;
	memcpy(rq->body + rq->body_len, data, n);
	rq->body_len += n;
	rq->body[rq->body_len] = '\0';
}

static int finish_body(struct req *rq)
{
	if (rq->body_too_big == 1)
		return req_fail(rq, BIA_ELIMIT, "the body is larger than the limit of %llu bytes",
				(unsigned long long)(rq->body_kind == BODY_JSON
							     ? rq->srv->inst->limits.max_body_bytes
							     : rq->srv->inst->limits.max_upload_bytes));
	if (rq->body_too_big == 3)
		return req_fail(rq, BIA_EINVAL,
				"a malformed form: fields are [a-z_] names, files plain names, at "
				"most %d files and 4 KiB per text field",
				FORM_FILES);
	if (rq->body_too_big)
		return req_fail(rq, BIA_EIO, "cannot store the body");
	if (rq->body_kind == BODY_FORM) {
		for (size_t i = 0; i < rq->nfiles; i++) {
			if (fsync(rq->files[i].fd) || close(rq->files[i].fd)) {
				rq->files[i].fd = -1;
				return req_fail(rq, BIA_EIO, "cannot store the upload");
			}
			rq->files[i].fd = -1;
		}
		return 0;
	}
	if (rq->body_kind == BODY_FILE) {
		if (fsync(rq->body_fd))
			return req_fail(rq, BIA_EIO, "cannot store the upload: %s", strerror(errno));
		return 0;
	}
	if (rq->body_kind == BODY_JSON) {
		if (!rq->body_len) {
			rq->json = json_object();
			return 0;
		}
		if (memchr(rq->body, '\0', rq->body_len))
			return req_fail(rq, BIA_EINVAL, "the body has a NUL byte");
		rq->json = bia_json_parse(&rq->ctx, "the request body", rq->body, rq->body_len);
		if (!rq->json) /* a malformed request, not a bad file: 400 */
			return req_fail(rq, rq->ctx.rc == BIA_EFORMAT ? BIA_EINVAL : rq->ctx.rc, "%s",
					rq->ctx.msg);
		if (!json_is_object(rq->json))
			return req_fail(rq, BIA_EINVAL, "the request body must be a JSON object");
	}
	return 0;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct bia_buf *b = cls;
	bia_buf_addf(b, "%s=%s&", key, value ? value : "");
	return MHD_YES;
}

/* A cached answer to a cacheable GET (1: queued), else the key and the
 * generation are kept on rq for storing the answer. */
static int try_cache(struct req *rq)
{
	if (strcmp(rq->method, "GET") || !route_cacheable(rq->route))
		return 0;
	_Static_assert(sizeof(struct cache_gen) <= sizeof(rq->gen), "generation buffer");
	struct cache_gen g;
	if (cache_gen(rq->srv, &g))
		return 0;
	memcpy(rq->gen, &g, sizeof(g));
	struct bia_buf b;
	bia_buf_init(&b, 8192);
	bia_buf_addf(&b, "%s?", rq->path);
	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, add_arg, &b);
	bia_buf_addf(&b, "|%lld:%d:%d|%s", (long long)rq->who.user_id, (int)rq->who.role,
		     rq->srv->opts.guest, wants_csv(rq) ? "csv" : "json");
	rq->cache_key = bia_buf_detach(&b, NULL);
	if (!rq->cache_key)
		return 0;
	size_t len;
	int status;
	int64_t total;
	char type[48];
	char *body = cache_get(rq->srv, rq->cache_key, &g, &len, &status, &total, type);
	if (!body)
		return 0;
	free(rq->cache_key);
	rq->cache_key = NULL;
	rq->text = body;
	rq->text_len = len;
	rq->status = status;
	rq->total = total;
	snprintf(rq->text_type_buf, sizeof(rq->text_type_buf), "%s", type);
	rq->text_type = rq->text_type_buf;
	return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct bia_server *s = cls;
	struct req *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		atomic_fetch_add(&s->active, 1);
		rq->srv = s;
		rq->conn = conn;
		rq->method = method;
		rq->body_fd = rq->file_fd = -1;
		for (size_t i = 0; i < FORM_FILES; i++)
			rq->files[i].fd = -1;
		rq->total = -1;
		bia_instance_ctx(s->inst, &rq->ctx);
		*con_cls = rq;
		watch_mark(s, conn, 1);
		if (begin(rq, url))
			return refuse(rq);
		return MHD_YES;
	}
	if (rq->responded)
		return MHD_YES;
	if (*upload_data_size) {
		take_body(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (finish_body(rq))
		return refuse(rq);
	if (!rq->image_route && !rq->web_route && try_cache(rq))
		return queue(rq);
	bia_ctx_clear(&rq->ctx);
	int st = rq->image_route ? img_handle(rq)
		 : rq->web_route ? web_handle(rq)
				 : bia__routes[rq->route].fn(rq);
	if (!rq->status)
		rq->status = st;
	return queue(rq);
}

/* Uploads of a server that died (kill -9): tmp/upload-PID-* of a PID that
 * no longer runs, and their folders. */
static void remove_dead_uploads(const struct bia_instance *inst)
{
	char tmp[BIA_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/tmp", inst->root);
	DIR *d = opendir(tmp);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid;
		if (sscanf(e->d_name, "upload-%ld-", &pid) != 1 || pid <= 0)
			continue;
		if (pid == (long)getpid() || !(kill((pid_t)pid, 0) && errno == ESRCH))
			continue;
		char p[BIA_PATH_MAX + 300];
		snprintf(p, sizeof(p), "%s/%s", tmp, e->d_name);
		if (unlinkat(dirfd(d), e->d_name, 0) && errno == EISDIR) {
			struct bia_ctx c2;
			bia_ctx_init(&c2);
			bia_rm_rf(&c2, p); /* an upload's folder */
		}
	}
	closedir(d);
}

/* ------------------------------------------------------------- the worker */

static void *worker_main(void *arg)
{
	struct bia_server *s = arg;
	struct bia_ctx ctx;
	bia_instance_ctx(s->inst, &ctx);
	if (bia_worker_loop(&ctx, &s->wl))
		bia_log(BIA_LOG_WARN, "serve: the worker stopped: %s", ctx.msg);
	atomic_store(&s->worker_done, 1);
	return NULL;
}

/* ------------------------------------------------------------------ serve */

static int parse_listen(struct bia_ctx *ctx, const char *spec, struct sockaddr_in *sa)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return bia_fail(ctx, BIA_EINVAL, "--listen is ADDR:PORT (e.g. 127.0.0.1:8080)");
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return bia_fail(ctx, BIA_EINVAL, "bad port in --listen '%s'", spec);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return bia_fail(ctx, BIA_EINVAL, "--listen needs an IPv4 address, not '%s'", host);
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* Percent-decoding of paths and query arguments, in place, except %00:
 * kept as the text "%00" so that no value is cut short (paths with it are
 * refused). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		int hi, lo;
		if (r[0] == '%' && r[1] && r[2] && (hi = bia_hexval(r[1])) >= 0 &&
		    (lo = bia_hexval(r[2])) >= 0 && (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	bia_log(BIA_LOG_DEBUG, "http: %s", msg);
}

int bia_serve(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_serve_opts *o,
	      atomic_int *stop, int wake_fd)
{
	struct sockaddr_in sa;
	if (parse_listen(ctx, o->listen ? o->listen : "127.0.0.1:8080", &sa))
		return ctx->rc;
	struct bia_server *s = calloc(1, sizeof(*s));
	if (!s)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	s->inst = inst;
	s->opts = *o;
	s->stop = stop;
	s->worker_wake = -1;
	if (!s->opts.threads)
		s->opts.threads = 4;
	if (!s->opts.conn_limit)
		s->opts.conn_limit = 512;
	if (!s->opts.conn_timeout)
		s->opts.conn_timeout = 30;
	if (!s->opts.header_timeout)
		s->opts.header_timeout = 30;
	if (!s->opts.grace_ms)
		s->opts.grace_ms = 5000;
	web_init(s);
	srcpoll_git_hold(1);
	pthread_mutex_init(&s->smu, NULL);
	pthread_mutex_init(&s->lmu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	remove_dead_uploads(inst);
	bia_token_purge(ctx, inst, (int64_t)time(NULL), NULL); /* expired sessions */
	bia_ctx_clear(ctx);
	int rc = 0, ops_joined = 1;
	if (sse_start(s) || ops_start(s) || cache_start(s) || img_start(s) || srcpoll_start(s)) {
		rc = bia_fail(ctx, BIA_EIO, "cannot start the event streams or operation threads");
		goto fail;
	}
	s->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_THREAD_POOL_SIZE, s->opts.threads,
				MHD_OPTION_CONNECTION_LIMIT, s->opts.conn_limit,
				/* one address cannot take every connection */
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->opts.conn_limit / 2,
				MHD_OPTION_CONNECTION_TIMEOUT, s->opts.conn_timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_EXTERNAL_LOGGER, log_mhd, s,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape, s,
				MHD_OPTION_END);
	if (!s->d) {
		rc = bia_fail(ctx, BIA_EIO, "cannot listen on %s (in use?)",
			      o->listen ? o->listen : "127.0.0.1:8080");
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : ntohs(sa.sin_port);
	if (!o->no_worker) {
		s->worker_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		s->wl.inst = inst;
		s->wl.wake_fd = s->worker_wake;
		if (pthread_create(&s->worker, NULL, worker_main, s) == 0)
			s->worker_started = 1;
	}
	if (o->port_file) {
		char t[32];
		snprintf(t, sizeof(t), "%u\n", port);
		bia_write_file_atomic(ctx, o->port_file, t, strlen(t));
	}
	if (o->ready) {
		char addr[64];
		inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
		o->ready(o->user, addr, port);
	}
	while (!atomic_load(stop)) {
		struct pollfd p = {wake_fd, POLLIN, 0};
		poll(&p, wake_fd >= 0 ? 1 : 0, 1000);
		watch_expire(s);
	}
	/* stop: no new connections, no new requests, end the streams, let
	 * requests in flight finish */
	atomic_store(&s->stopping, 1);
	MHD_socket lsock = MHD_quiesce_daemon(s->d);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	ops_joined = ops_stop(s, s->opts.grace_ms);
	srcpoll_stop(s);
	img_stop(s);
	sse_stop(s);
	for (int waited = 0; waited < s->opts.grace_ms; waited += 20) {
		if (atomic_load(&s->active) == 0 && sse_open_streams(s) == 0)
			break;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (sse_open_streams(s) == 0)
		MHD_stop_daemon(s->d);
	/* else: a stream did not end; leave the daemon to process exit */
	s->d = NULL;
	if (s->worker_started) {
		atomic_store(&s->wl.stop, 1);
		uint64_t one = 1;
		if (write(s->worker_wake, &one, sizeof(one)) < 0) {
			/* the loop also looks at stop every idle period */
		}
		for (int waited = 0; waited < s->opts.grace_ms; waited += 20) {
			if (atomic_load(&s->worker_done))
				break;
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		if (atomic_load(&s->worker_done))
			pthread_join(s->worker, NULL);
		else
			pthread_detach(s->worker); /* a run still executing: recovered at next start */
	}
	goto out;
fail: /* before serving: the threads started so far are stopped */
	ops_joined = ops_stop(s, 1000);
	srcpoll_stop(s);
	img_stop(s);
	sse_stop(s);
out:
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->worker_wake >= 0 && (!s->worker_started || atomic_load(&s->worker_done)))
		close(s->worker_wake);
	int leave = (s->worker_started && !atomic_load(&s->worker_done)) || !ops_joined;
	if (!leave) {
		cache_stop(s);
		pthread_mutex_destroy(&s->smu);
		pthread_mutex_destroy(&s->lmu);
		pthread_mutex_destroy(&s->wmu);
		free(s);
	}
	srcpoll_git_hold(0);
	return rc;
}
