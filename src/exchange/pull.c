/* Pull: content of another instance, over its REST API (docs/exchange.md
 * "Pull"). The other server makes a snapshot of the selection (an
 * operation); its manifest, record files and every file this instance
 * lacks are downloaded into <instance>/exchange/pull-<key>/, each verified
 * by digest (a download cut short resumes with a Range request), then the
 * folder is imported as an unpacked bundle. The folder stays until the
 * import succeeded, so an interrupted pull starts where it stopped.
 * SPDX-License-Identifier: MIT */
#include "exchange/exchange.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 200
#define SNAPSHOT_WAIT_S 3600

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http {
	const char *base; /* http(s)://host:port, no trailing slash */
	const char *token;
	struct curl_slist *headers;
	CURL *c;
};

struct sink {
	int fd;			/* a file, or -1: the buffer */
	struct bia_buf buf;	/* bounded: answers that are JSON */
	struct bia_sha256 *h;	/* hash of what is written (files), or NULL */
	int64_t written;
	int failed;
	struct bia_pull_report *rep;
	const struct bia_pull_opts *o;
	int64_t *done, total;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n;
	if (s->fd >= 0) {
		if (bia_write_all(s->fd, p, len)) {
			s->failed = errno ? errno : EIO;
			return 0;
		}
		if (s->h)
			bia_sha256_update(s->h, p, len);
		if (s->done) {
			*s->done += (int64_t)len;
			if (s->o->progress)
				s->o->progress(s->o->progress_arg, "download", *s->done, s->total);
		}
	} else if (bia_buf_add(&s->buf, p, len)) {
		s->failed = EFBIG;
		return 0;
	}
	s->written += (int64_t)len;
	return len;
}

static int http_open(struct bia_ctx *ctx, struct http *h, const char *base, const char *token)
{
	pthread_once(&curl_once, curl_init);
	memset(h, 0, sizeof(*h));
	h->base = base;
	h->token = token;
	if (!(h->c = curl_easy_init()))
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (token && token[0]) {
		char auth[600];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h->headers = curl_slist_append(h->headers, auth);
	}
	h->headers = curl_slist_append(h->headers, "Accept: application/json");
	return 0;
}

static void http_close(struct http *h)
{
	if (h->c)
		curl_easy_cleanup(h->c);
	curl_slist_free_all(h->headers);
}

/* What every request of a pull sets: the URL, headers, where the answer
 * goes, a Range from byte range_from (> 0), and the limits: 10 s to
 * connect, a transfer stalled 60 s fails, http(s) only. */
static void set_common(CURL *c, const char *url, struct curl_slist *hd,
		       curl_write_callback fn, void *arg, int64_t range_from, char *range,
		       size_t rangesz)
{
	if (range_from > 0) {
		snprintf(range, rangesz, "%lld-", (long long)range_from);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fn);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, arg);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* One request: the body (JSON, POST) or none; the answer into s. Returns
 * the HTTP status, or 0 with the reason on ctx when there was none. */
static long http_do(struct bia_ctx *ctx, struct http *h, const char *path, const char *post,
		    int64_t range_from, struct sink *s)
{
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	CURL *c = h->c;
	curl_easy_reset(c);
	struct curl_slist *hd = h->headers, *extra = NULL;
	if (post) {
		extra = curl_slist_append(NULL, "Content-Type: application/json");
		for (struct curl_slist *i = h->headers; i; i = i->next)
			extra = curl_slist_append(extra, i->data);
		hd = extra;
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	char range[64];
	set_common(c, url, hd, on_data, s, range_from, range, sizeof(range));
	CURLcode r = curl_easy_perform(c);
	curl_slist_free_all(extra);
	long status = 0;
	if (r != CURLE_OK) {
		bia_fail(ctx, s->failed ? BIA_EIO : BIA_EUNAVAIL, "%s: %s", url,
			 s->failed ? strerror(s->failed) : curl_easy_strerror(r));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The error of an answer that is not 2xx, in the other server's words. */
static int http_fail(struct bia_ctx *ctx, const char *what, long status, struct sink *s)
{
	json_t *j = json_loadb(s->buf.buf, s->buf.len, 0, NULL);
	const char *msg = bia_json_str(json_object_get(j, "error"), "message", "");
	bia_fail(ctx, status == 401 || status == 403 ? BIA_EPERM : status == 404 ? BIA_ENOENT : BIA_EIO,
		 "%s: HTTP %ld%s%s", what, status, msg[0] ? ": " : "", msg);
	json_decref(j);
	return ctx->rc;
}

static int http_json(struct bia_ctx *ctx, struct http *h, const char *path, const char *post,
		     long want, json_t **pout)
{
	struct sink s = {.fd = -1};
	bia_buf_init(&s.buf, 16u << 20);
	long st = http_do(ctx, h, path, post, 0, &s);
	int rc = 0;
	*pout = NULL;
	if (!st)
		rc = ctx->rc;
	else if (st != want)
		rc = http_fail(ctx, path, st, &s);
	else if (!(*pout = bia_json_parse(ctx, path, s.buf.buf, s.buf.len)))
		rc = ctx->rc;
	bia_buf_release(&s.buf);
	return rc;
}

/* Download path (the manifest or a record file: small, fetched whole each
 * time) into file, verified against digest when given. The files are
 * fetched by fetch_files, which resumes. */
static int http_file(struct bia_ctx *ctx, struct http *h, const char *path, const char *file,
		     const char *digest, struct sink *proto)
{
	char part[BIA_PATH_MAX + 8];
	snprintf(part, sizeof(part), "%s.part", file);
	int fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", part, strerror(errno));
	struct bia_sha256 hs;
	bia_sha256_init(&hs);
	struct sink s = *proto;
	s.fd = fd;
	s.h = &hs;
	bia_buf_init(&s.buf, 1 << 16);
	long st = http_do(ctx, h, path, NULL, 0, &s);
	int rc = 0;
	if (!st) {
		rc = ctx->rc;
	} else if (st != 200) {
		/* the error's body went to the file: its message from there */
		char msg[4096];
		ssize_t n = pread(fd, msg, sizeof(msg), 0);
		bia_buf_add(&s.buf, msg, n > 0 ? (size_t)n : 0);
		rc = http_fail(ctx, path, st, &s);
	} else if (fsync(fd)) {
		rc = bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", part, strerror(errno));
	}
	close(fd);
	bia_buf_release(&s.buf);
	char got[BIA_SHA256_HEX];
	bia_sha256_final(&hs, got);
	if (!rc && digest && strcmp(got, digest))
		rc = bia_fail(ctx, BIA_ECORRUPT, "%s: the download has digest %s, not %s "
			      "(damaged in transit; pull again)", path, got, digest);
	if (!rc && rename(part, file))
		rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", file, strerror(errno));
	if (rc)
		unlink(part);
	return rc;
}

/* ---------------------------------------------------------------- pull */

static int check_url(struct bia_ctx *ctx, const char *url, char *out, size_t outsz)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return bia_fail(ctx, BIA_EINVAL, "'%s': pull takes an http:// or https:// URL of "
				"another biaflows server", url);
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	if (n >= outsz || strpbrk(url, " \t\r\n\"'"))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a URL pull takes", url);
	snprintf(out, outsz, "%.*s", (int)n, url);
	/* ".../api/v1" given: the server's root */
	char *api = strstr(out, "/api/v1");
	if (api && !api[7])
		*api = '\0';
	return 0;
}

/* The request body of the snapshot; the key of the pull folder is its
 * digest with the URL's. */
static char *selection_json(const struct bia_pull_opts *o)
{
	json_t *ps = json_array();
	for (size_t i = 0; i < o->nproblems; i++)
		json_array_append_new(ps, json_string(o->problems[i]));
	json_t *j = json_pack("{s:o, s:b, s:b, s:b}", "problems", ps, "runs", o->runs, "workflows",
			      o->workflows, "environments", o->environments);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return s;
}

/* Ask for a snapshot and wait for it: its path under the API. */
static int make_snapshot(struct bia_ctx *ctx, struct http *h, const char *body,
			 const struct bia_pull_opts *o, char *snap, size_t snapsz)
{
	json_t *op;
	if (http_json(ctx, h, "/api/v1/exchange/snapshots", body, 202, &op))
		return ctx->rc;
	char path[256];
	snprintf(path, sizeof(path), "%s", bia_json_str(op, "url", ""));
	json_decref(op);
	if (strncmp(path, "/api/v1/operations/", 19))
		return bia_fail(ctx, BIA_EFORMAT, "the server answered no operation for the snapshot");
	for (int waited = 0; waited < SNAPSHOT_WAIT_S * 1000; waited += POLL_MS) {
		if (http_json(ctx, h, path, NULL, 200, &op))
			return ctx->rc;
		const char *state = bia_json_str(op, "state", "");
		json_t *pr = json_object_get(op, "progress");
		if (o->progress)
			o->progress(o->progress_arg, "snapshot",
				    json_integer_value(json_object_get(pr, "done")),
				    json_integer_value(json_object_get(pr, "total")));
		if (!strcmp(state, "succeeded")) {
			snprintf(snap, snapsz, "%s",
				 bia_json_str(json_object_get(op, "result"), "url", ""));
			json_decref(op);
			return strncmp(snap, "/api/v1/exchange/snapshots/", 27)
				       ? bia_fail(ctx, BIA_EFORMAT, "the snapshot has no URL")
				       : 0;
		}
		if (!strcmp(state, "failed")) {
			bia_fail(ctx, BIA_EIO, "the other server could not make the snapshot: %s",
				 bia_json_str(json_object_get(json_object_get(op, "error"), "error"),
					      "message", "?"));
			json_decref(op);
			return ctx->rc;
		}
		json_decref(op);
		struct timespec ts = {0, POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	return bia_fail(ctx, BIA_EUNAVAIL, "the snapshot took longer than %d s", SNAPSHOT_WAIT_S);
}

/* Digests and sizes of an index file (records/blobs.jsonl, logs.jsonl). */
static int read_index(struct bia_ctx *ctx, const char *path, json_t **pout)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return bia_fail(ctx, BIA_EIO, "cannot read '%s'", path);
	json_t *a = json_array();
	char line[256];
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, NULL);
		if (!bia_is_sha256_hex(bia_json_str(o, "digest", "")) ||
		    !json_is_integer(json_object_get(o, "bytes"))) {
			json_decref(o);
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: a line is not {\"digest\", \"bytes\"}", path);
			break;
		}
		json_array_append_new(a, o);
	}
	fclose(f);
	if (rc)
		json_decref(a);
	else
		*pout = a;
	return rc;
}

/* Files are fetched PARALLEL at a time (one connection each), so that the
 * round trips of thousands of small files overlap. */
#define PARALLEL 4

struct xfer {
	CURL *c;
	int busy;
	int fd;
	int first;	     /* no byte received yet */
	long status;
	int64_t have;	     /* bytes of the .part kept from an earlier attempt */
	int64_t bytes;	     /* the index's size */
	struct bia_sha256 h;
	char digest[BIA_SHA256_HEX];
	char file[BIA_PATH_MAX + 80], part[BIA_PATH_MAX + 88], url[2048];
	char range[64];	     /* the Range option's text (curl keeps the pointer) */
	char err[256];	     /* the start of an error's body */
	size_t nerr;
	int werr;	     /* errno of a failed write */
	struct sink *proto;
};

static size_t xfer_data(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;
	if (x->first) {
		x->first = 0;
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status == 200 && x->have) {
			/* the range was not honoured: the whole file comes again */
			if (ftruncate(x->fd, 0)) {
				x->werr = errno;
				return 0;
			}
			bia_sha256_init(&x->h);
			x->have = 0;
		}
	}
	if (x->status != 200 && x->status != 206) {
		size_t k = len < sizeof(x->err) - 1 - x->nerr ? len : sizeof(x->err) - 1 - x->nerr;
		memcpy(x->err + x->nerr, p, k);
		x->nerr += k;
		x->err[x->nerr] = '\0';
		return len;
	}
	if (bia_write_all(x->fd, p, len)) {
		x->werr = errno ? errno : EIO;
		return 0;
	}
	bia_sha256_update(&x->h, p, len);
	struct sink *s = x->proto;
	*s->done += (int64_t)len;
	if (s->o->progress)
		s->o->progress(s->o->progress_arg, "download", *s->done, s->total);
	return len;
}

/* Start fetching one file into a free transfer: a .part left by an
 * earlier attempt is hashed again and resumed with a Range request. */
static int xfer_start(struct bia_ctx *ctx, CURLM *mh, struct http *h, struct xfer *x,
		      const char *url, const char *file, const char *digest, int64_t bytes)
{
	snprintf(x->url, sizeof(x->url), "%s", url);
	snprintf(x->file, sizeof(x->file), "%s", file);
	snprintf(x->part, sizeof(x->part), "%s.part", file);
	snprintf(x->digest, sizeof(x->digest), "%s", digest);
	x->bytes = bytes;
	x->have = 0;
	x->first = 1;
	x->status = 0;
	x->nerr = 0;
	x->err[0] = '\0';
	x->werr = 0;
	bia_sha256_init(&x->h);
	int in = open(x->part, O_RDONLY | O_CLOEXEC);
	char buf[1 << 16];
	ssize_t n;
	while (in >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		bia_sha256_update(&x->h, buf, (size_t)n);
		x->have += n;
	}
	if (in >= 0)
		close(in);
	x->fd = open(x->part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (x->fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", x->part, strerror(errno));
	if (!x->c && !(x->c = curl_easy_init()))
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	CURL *c = x->c;
	curl_easy_reset(c);
	set_common(c, x->url, h->headers, xfer_data, x, x->have, x->range, sizeof(x->range));
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(mh, c) != CURLM_OK) {
		close(x->fd);
		return bia_fail(ctx, BIA_EIO, "cannot start a download");
	}
	x->busy = 1;
	return 0;
}

/* A transfer ended (CURLcode r): keep the file if its digest is right. */
static int xfer_done(struct bia_ctx *ctx, struct xfer *x, CURLcode r)
{
	x->busy = 0;
	int rc = 0;
	if (r != CURLE_OK) {
		rc = bia_fail(ctx, x->werr ? BIA_EIO : BIA_EUNAVAIL, "%s: %s", x->url,
			      x->werr ? strerror(x->werr) : curl_easy_strerror(r));
	} else if (x->status != 200 && x->status != 206) {
		json_t *j = json_loadb(x->err, x->nerr, 0, NULL);
		const char *msg = bia_json_str(json_object_get(j, "error"), "message", "");
		rc = bia_fail(ctx, x->status == 404 ? BIA_ENOENT : BIA_EIO, "%s: HTTP %ld%s%s", x->url,
			      x->status, msg[0] ? ": " : "", msg);
		json_decref(j);
	} else if (x->status == 206) {
		x->proto->rep->range_resumed++;
	}
	if (!rc && fsync(x->fd))
		rc = bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", x->part, strerror(errno));
	close(x->fd);
	x->fd = -1;
	if (rc)
		return rc;
	char got[BIA_SHA256_HEX];
	bia_sha256_final(&x->h, got);
	if (strcmp(got, x->digest)) {
		unlink(x->part);
		return bia_fail(ctx, BIA_ECORRUPT, "%s: the download has digest %s (damaged in "
				"transit; pull again)", x->url, got);
	}
	if (rename(x->part, x->file))
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", x->file, strerror(errno));
	x->proto->rep->downloaded++;
	x->proto->rep->download_bytes += x->bytes;
	bia_faultsim("pull.file");
	return 0;
}

static int fetch_files(struct bia_ctx *ctx, struct bia_instance *inst, struct http *h,
		       const char *snap, const char *dir, const char *kind, json_t *idx,
		       struct sink *proto)
{
	CURLM *mh = curl_multi_init();
	if (!mh)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	struct xfer x[PARALLEL];
	memset(x, 0, sizeof(x));
	for (int k = 0; k < PARALLEL; k++) {
		x[k].fd = -1;
		x[k].proto = proto;
	}
	size_t next = 0, n = json_array_size(idx);
	int rc = 0, active = 0;
	for (;;) {
		/* fill the free transfers */
		for (int k = 0; !rc && k < PARALLEL && next < n; k++) {
			if (x[k].busy)
				continue;
			for (; next < n; next++) {
				json_t *e = json_array_get(idx, next);
				const char *d = bia_json_str(e, "digest", "");
				int64_t bytes = json_integer_value(json_object_get(e, "bytes"));
				char local[BIA_PATH_MAX], file[BIA_PATH_MAX + 80], url[2048];
				snprintf(file, sizeof(file), "%s/%s/%s", dir, kind, d);
				if (!strcmp(kind, "blobs") && !bia_blob_path(inst, d, local, sizeof(local)) &&
				    bia_is_file(local)) {
					proto->rep->skipped++;
					*proto->done += bytes;
					continue;
				}
				if (bia_is_file(file)) {
					proto->rep->resumed++;
					*proto->done += bytes;
					continue;
				}
				snprintf(url, sizeof(url), "%s%s/%s/%s", h->base, snap, kind, d);
				rc = xfer_start(ctx, mh, h, &x[k], url, file, d, bytes);
				if (!rc)
					active++;
				next++;
				break;
			}
		}
		if (rc || !active)
			break;
		int still, ended = 0;
		if (curl_multi_perform(mh, &still) != CURLM_OK) {
			rc = bia_fail(ctx, BIA_EIO, "downloads failed");
			break;
		}
		CURLMsg *msg;
		int left;
		while (!rc && (msg = curl_multi_info_read(mh, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *t = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			CURLcode r = msg->data.result;
			curl_multi_remove_handle(mh, msg->easy_handle);
			active--;
			ended++;
			rc = xfer_done(ctx, t, r);
		}
		/* wait for the network only when nothing ended (else: refill) */
		if (!rc && !ended && curl_multi_poll(mh, NULL, 0, 1000, NULL) != CURLM_OK)
			rc = bia_fail(ctx, BIA_EIO, "downloads failed");
	}
	for (int k = 0; k < PARALLEL; k++) {
		if (x[k].busy) {
			curl_multi_remove_handle(mh, x[k].c);
			close(x[k].fd);
		}
		if (x[k].c)
			curl_easy_cleanup(x[k].c);
	}
	curl_multi_cleanup(mh);
	return rc;
}

/* Whether a pull folder holds a fetched file (complete or part). */
static int fetched_any(const char *dir)
{
	static const char *const subs[] = {"blobs", "logs"};
	for (size_t i = 0; i < 2; i++) {
		char p[BIA_PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		DIR *d = opendir(p);
		struct dirent *e;
		int any = 0;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				any = 1;
		if (d)
			closedir(d);
		if (any)
			return 1;
	}
	return 0;
}

int bia_pull(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_pull_opts *o,
	     struct bia_pull_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	char base[1024];
	if (check_url(ctx, o->url, base, sizeof(base)))
		return ctx->rc;
	char *body = selection_json(o);
	if (!body)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	/* the folder of this URL and selection, kept across attempts */
	struct bia_sha256 hs;
	char key[BIA_SHA256_HEX], dir[BIA_PATH_MAX], p[BIA_PATH_MAX + 64];
	bia_sha256_init(&hs);
	bia_sha256_update(&hs, base, strlen(base));
	bia_sha256_update(&hs, "\n", 1);
	bia_sha256_update(&hs, body, strlen(body));
	bia_sha256_final(&hs, key);
	snprintf(dir, sizeof(dir), "%s/exchange/pull-%.16s", inst->root, key);
	int lock = -1, rc = 0;
	static const char *const subs[] = {"records", "blobs", "logs"};
	for (size_t i = 0; !rc && i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		rc = bia_mkdir_p(ctx, p);
	}
	if (!rc) {
		snprintf(p, sizeof(p), "%s/.lock", dir);
		lock = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB))
			rc = bia_fail(ctx, BIA_EBUSY, "another pull of the same content into this "
				      "instance is running");
	}
	struct http h = {0};
	if (!rc)
		rc = http_open(ctx, &h, base, o->token);
	char snap[256];
	if (!rc)
		rc = make_snapshot(ctx, &h, body, o, snap, sizeof(snap));
	free(body);
	int64_t done = 0;
	struct sink proto = {.fd = -1, .rep = rep, .o = o, .done = NULL};
	/* the manifest and record files, each time (they are small) */
	char path[512];
	json_t *man = NULL;
	if (!rc) {
		snprintf(path, sizeof(path), "%s/manifest", snap);
		snprintf(p, sizeof(p), "%s/manifest.json", dir);
		rc = http_file(ctx, &h, path, p, NULL, &proto);
	}
	if (!rc) {
		size_t len;
		char *text = NULL;
		if (bia_read_file(ctx, p, 1u << 20, &text, &len) ||
		    !(man = bia_bundle_manifest_parse(ctx, text, len)))
			rc = ctx->rc;
		free(text);
	}
	json_t *recs = json_object_get(man, "records"), *r;
	size_t i;
	json_array_foreach(recs, i, r)
	{
		if (rc)
			break;
		const char *rp = bia_json_str(r, "path", "");
		snprintf(path, sizeof(path), "%s/%s", snap, rp);
		snprintf(p, sizeof(p), "%s/%s", dir, rp);
		rc = http_file(ctx, &h, path, p, bia_json_str(r, "digest", ""), &proto);
	}
	/* the files: those this instance lacks, unless fetched before */
	json_t *bi = NULL, *li = NULL;
	if (!rc) {
		snprintf(p, sizeof(p), "%s/records/blobs.jsonl", dir);
		rc = read_index(ctx, p, &bi);
	}
	if (!rc) {
		snprintf(p, sizeof(p), "%s/records/logs.jsonl", dir);
		rc = read_index(ctx, p, &li);
	}
	if (!rc) {
		proto.done = &done;
		json_t *e;
		json_array_foreach(bi, i, e)
			proto.total += json_integer_value(json_object_get(e, "bytes"));
		json_array_foreach(li, i, e)
			proto.total += json_integer_value(json_object_get(e, "bytes"));
		rc = fetch_files(ctx, inst, &h, snap, dir, "blobs", bi, &proto) ||
		     fetch_files(ctx, inst, &h, snap, dir, "logs", li, &proto);
	}
	json_decref(bi);
	json_decref(li);
	json_decref(man);
	http_close(&h);
	if (!rc) {
		struct bia_bundle_import_opts io = {o->progress, o->progress_arg, o->no_pyramids};
		rc = bia_bundle_import(ctx, inst, dir, &io, &rep->import);
	}
	if (!rc) {
		struct bia_ctx c;
		bia_ctx_init(&c);
		bia_rm_rf(&c, dir);
	}
	if (rc && !fetched_any(dir)) {
		/* nothing worth keeping for another attempt */
		struct bia_ctx c;
		bia_ctx_init(&c);
		bia_rm_rf(&c, dir);
	}
	if (lock >= 0)
		close(lock);
	if (rc)
		return bia_fail_prefix(ctx, "pull from %s (pull again to resume)", base);
	return 0;
}

json_t *bia_pull_report_json(const struct bia_pull_report *rep)
{
	json_t *j = bia_bundle_import_report_json(&rep->import);
	json_object_set_new(j, "download",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "files", (json_int_t)rep->downloaded,
				      "bytes", (json_int_t)rep->download_bytes, "resumed",
				      (json_int_t)rep->resumed, "range_resumed",
				      (json_int_t)rep->range_resumed, "skipped",
				      (json_int_t)rep->skipped));
	return j;
}
