/* Images for viewers: OME-Zarr served from the derived pyramids
 * (/zarr/images/<id>.zarr/..., signed /zarr/s/<exp>/<sig>/images/...),
 * IIIF Image API 3.0 (/iiif/3/<id>/...), and the thread that builds
 * missing pyramids in the background (docs/images.md).
 * SPDX-License-Identifier: MIT */
#include "server/images_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataset/derived.h"
#include "dataset/overlay.h"

#define FAILED_SLOTS 256

struct imgsrv {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int started;
	int stop;
	int wake;
	struct {
		char key[160];
		char msg[512];
	} failed[FAILED_SLOTS];
	size_t nfailed;
	int building; /* a build is under way */
	/* rendered tiles: a hash of keys, least recently used out first */
	pthread_mutex_t tmu;
	struct tile **tiles; /* TILE_BUCKETS chains */
	struct tile *lru_head, *lru_tail; /* head: most recent */
	size_t tile_bytes, tile_budget;
};

#define TILE_BUCKETS 4096
struct tile {
	struct tile *next;	     /* bucket chain */
	struct tile *prev_l, *next_l; /* LRU list */
	char key[65];
	char type[24];
	size_t len;
	unsigned char data[];
};

static size_t tile_hash(const char *key)
{
	size_t h = 0;
	for (int i = 0; i < 12; i++)
		h = h * 16 + (size_t)bia_hexval(key[i]);
	return h % TILE_BUCKETS;
}

static void lru_unlink(struct imgsrv *g, struct tile *t)
{
	if (t->prev_l)
		t->prev_l->next_l = t->next_l;
	else
		g->lru_head = t->next_l;
	if (t->next_l)
		t->next_l->prev_l = t->prev_l;
	else
		g->lru_tail = t->prev_l;
	t->prev_l = t->next_l = NULL;
}

static void lru_front(struct imgsrv *g, struct tile *t)
{
	t->next_l = g->lru_head;
	t->prev_l = NULL;
	if (g->lru_head)
		g->lru_head->prev_l = t;
	g->lru_head = t;
	if (!g->lru_tail)
		g->lru_tail = t;
}

static void tile_drop(struct imgsrv *g, struct tile *t)
{
	struct tile **pp = &g->tiles[tile_hash(t->key)];
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	lru_unlink(g, t);
	g->tile_bytes -= t->len + sizeof(*t);
	free(t);
}

int img_tile_get(struct bia_server *srv, const char *key, unsigned char **pdata, size_t *plen,
		 char type[24])
{
	struct imgsrv *g = srv->img;
	if (!g || !g->tiles)
		return 0;
	int hit = 0;
	pthread_mutex_lock(&g->tmu);
	for (struct tile *t = g->tiles[tile_hash(key)]; t; t = t->next)
		if (!strcmp(t->key, key)) {
			*pdata = malloc(t->len ? t->len : 1);
			if (*pdata) {
				memcpy(*pdata, t->data, t->len);
				*plen = t->len;
				memcpy(type, t->type, 24);
				lru_unlink(g, t);
				lru_front(g, t);
				hit = 1;
			}
			break;
		}
	pthread_mutex_unlock(&g->tmu);
	return hit;
}

void img_tile_put(struct bia_server *srv, const char *key, const unsigned char *data, size_t len,
		  const char *type)
{
	struct imgsrv *g = srv->img;
	if (!g || !g->tiles || len + sizeof(struct tile) > g->tile_budget / 8)
		return;
	struct tile *t = malloc(sizeof(*t) + len);
	if (!t)
		return;
	memset(t, 0, sizeof(*t));
	snprintf(t->key, sizeof(t->key), "%s", key);
	snprintf(t->type, sizeof(t->type), "%s", type);
	t->len = len;
	memcpy(t->data, data, len);
	pthread_mutex_lock(&g->tmu);
	size_t b = tile_hash(key);
	for (struct tile *o = g->tiles[b]; o; o = o->next)
		if (!strcmp(o->key, key)) { /* another thread rendered it too */
			pthread_mutex_unlock(&g->tmu);
			free(t);
			return;
		}
	while (g->lru_tail && g->tile_bytes + len + sizeof(*t) > g->tile_budget)
		tile_drop(g, g->lru_tail);
	t->next = g->tiles[b];
	g->tiles[b] = t;
	lru_front(g, t);
	g->tile_bytes += len + sizeof(*t);
	pthread_mutex_unlock(&g->tmu);
}

/* ------------------------------------------------------- the builder thread */

struct prog {
	struct bia_server *srv;
	int64_t problem_id;
	char detail[300];
	int64_t last_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_progress(void *ud, uint64_t done, uint64_t total)
{
	struct prog *p = ud;
	struct imgsrv *g = p->srv->img;
	pthread_mutex_lock(&g->mu);
	int stop = g->stop;
	pthread_mutex_unlock(&g->mu);
	if (stop)
		return 1;
	int64_t t = now_ms();
	if (done < total && t - p->last_ms < 250)
		return 0;
	p->last_ms = t;
	sse_progress(p->srv, p->problem_id, "pyramid", (int64_t)done, (int64_t)total, p->detail);
	return 0;
}

static const char *failed_msg(struct imgsrv *g, const char *key)
{
	for (size_t i = 0; i < g->nfailed && i < FAILED_SLOTS; i++)
		if (!strcmp(g->failed[i].key, key))
			return g->failed[i].msg;
	return NULL;
}

static void layer_key(const struct bia_server *srv, const struct bia_layer *l, char *out,
		      size_t n)
{
	char dir[BIA_PATH_MAX];
	bia_derived_dir(srv->inst, l, dir, sizeof(dir));
	snprintf(out, n, "%s", bia_path_base(dir));
}

/* Build every missing pyramid once (those that failed are not retried
 * until the server restarts or `image pyramid` builds them). */
static void scan(struct bia_server *srv)
{
	struct imgsrv *g = srv->img;
	struct bia_ctx ctx;
	bia_instance_ctx(srv->inst, &ctx);
	struct bia_layer *v;
	size_t n;
	if (bia_store_layers(&ctx, srv->inst, 0, &v, &n)) {
		bia_log(BIA_LOG_WARN, "serve: pyramids: %s", ctx.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char dir[BIA_PATH_MAX], key[160];
		bia_derived_dir(srv->inst, &v[i], dir, sizeof(dir));
		if (bia_is_dir(dir))
			continue;
		layer_key(srv, &v[i], key, sizeof(key));
		pthread_mutex_lock(&g->mu);
		int skip = g->stop || failed_msg(g, key);
		if (!skip)
			g->building = 1;
		pthread_mutex_unlock(&g->mu);
		if (skip)
			continue;
		struct prog p = {srv, v[i].problem_id, "", 0};
		char lname[64];
		bia_layer_label_name(&v[i], lname, sizeof(lname));
		snprintf(p.detail, sizeof(p.detail), "image %lld: %s", (long long)v[i].image_id,
			 v[i].kind == BIA_LAYER_IMAGE ? v[i].name : lname);
		int built = 0;
		bia_ctx_clear(&ctx);
		int rc = bia_derived_build(&ctx, srv->inst, &v[i], 0, &built, on_progress, &p);
		pthread_mutex_lock(&g->mu);
		g->building = 0;
		if (rc && ctx.rc != BIA_EUNAVAIL && g->nfailed < FAILED_SLOTS) {
			snprintf(g->failed[g->nfailed].key, sizeof(g->failed[0].key), "%s", key);
			snprintf(g->failed[g->nfailed].msg, sizeof(g->failed[0].msg), "%s", ctx.msg);
			g->nfailed++;
		}
		pthread_mutex_unlock(&g->mu);
		if (rc && ctx.rc != BIA_EUNAVAIL)
			bia_log(BIA_LOG_WARN, "serve: pyramid of image %lld: %s",
				(long long)v[i].image_id, ctx.msg);
	}
	free(v);
}

static void *builder_main(void *arg)
{
	struct bia_server *srv = arg;
	struct imgsrv *g = srv->img;
	struct cache_gen last, cur;
	memset(&last, 0, sizeof(last));
	int first = 1;
	for (;;) {
		pthread_mutex_lock(&g->mu);
		if (!first && !g->wake && !g->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		}
		int stop = g->stop, wake = g->wake;
		g->wake = 0;
		pthread_mutex_unlock(&g->mu);
		if (stop)
			break;
		/* scan when the store changed (or could not tell), or when asked */
		int have = cache_gen(srv, &cur) == 0;
		if (first || wake || !have || memcmp(&cur, &last, sizeof(cur))) {
			scan(srv);
			last = cur;
		}
		first = 0;
	}
	return NULL;
}

int img_start(struct bia_server *srv)
{
	struct imgsrv *g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	pthread_mutex_init(&g->tmu, NULL);
	int mb = srv->opts.tile_cache_mb ? srv->opts.tile_cache_mb : 64;
	if (mb > 0) {
		g->tile_budget = (size_t)mb << 20;
		g->tiles = calloc(TILE_BUCKETS, sizeof(*g->tiles));
	}
	srv->img = g;
	srv->inst->derive_in_background = 1;
	if (pthread_create(&g->th, NULL, builder_main, srv))
		return -1;
	g->started = 1;
	return 0;
}

void img_stop(struct bia_server *srv)
{
	struct imgsrv *g = srv->img;
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started)
		pthread_join(g->th, NULL); /* a build in progress finishes its pyramid */
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	while (g->lru_tail)
		tile_drop(g, g->lru_tail);
	free(g->tiles);
	pthread_mutex_destroy(&g->tmu);
	free(g);
	srv->img = NULL;
	srv->inst->derive_in_background = 0;
}

static void img_wake(struct bia_server *srv)
{
	struct imgsrv *g = srv->img;
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->wake = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* ------------------------------------------------------------ responses */

void img_cors(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r, "Access-Control-Expose-Headers",
				"Content-Length, Content-Range, ETag, Accept-Ranges");
}

/* A small response made here (metadata, 304, errors of the image routes). */
int img_respond_buf(struct req *rq, int status, const char *type, const void *data,
		       size_t len, const char *etag, const char *cache)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return req_fail(rq, BIA_ENOMEM, "out of memory");
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	if (etag)
		MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Cache-Control", cache ? cache : "no-store");
	img_cors(r);
	rq->resp = r;
	rq->status = status;
	return status;
}

/* The error of ctx as JSON, with the CORS headers (a viewer on another
 * origin can read why). */
static int img_error(struct req *rq)
{
	req_error(rq);
	char *s = json_dumps(rq->out, JSON_COMPACT);
	int st = rq->status;
	json_decref(rq->out);
	rq->out = NULL;
	img_respond_buf(rq, st, "application/json", s ? s : "{}", s ? strlen(s) : 2, NULL, NULL);
	free(s);
	if (rq->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", rq->retry_after);
		MHD_add_response_header(rq->resp, "Retry-After", ra);
		rq->retry_after = 0;
	}
	return st;
}

int img_fail(struct req *rq, enum bia_rc rc, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bia_fail(&rq->ctx, rc, "%s", msg);
	return img_error(rq);
}

int img_etag_match(struct req *rq, const char *etag)
{
	const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "If-None-Match");
	return h && (strstr(h, etag) || !strcmp(h, "*"));
}

/* A single "bytes=A-B" range of a file of size n: 1 with [*a, *b], 0 when
 * there is none (or several: the whole file is sent), -1 unsatisfiable. */
static int parse_range(const char *h, uint64_t n, uint64_t *a, uint64_t *b)
{
	if (!h || strncasecmp(h, "bytes=", 6) || strchr(h, ','))
		return 0;
	const char *p = h + 6;
	char *end;
	if (*p == '-') {
		unsigned long long k = strtoull(p + 1, &end, 10);
		if (end == p + 1 || *end)
			return 0;
		if (!k || !n)
			return -1;
		*a = k >= n ? 0 : n - k;
		*b = n - 1;
		return 1;
	}
	unsigned long long x = strtoull(p, &end, 10);
	if (end == p || *end != '-')
		return 0;
	p = end + 1;
	unsigned long long y = n ? n - 1 : 0;
	if (*p) {
		y = strtoull(p, &end, 10);
		if (*end)
			return 0;
		if (y < x)
			return 0;
		if (n && y >= n)
			y = n - 1;
	}
	if (x >= n)
		return -1;
	*a = x;
	*b = y;
	return 1;
}

/* Serve a file of a pyramid: sendfile from the file, ETag, Range,
 * immutable caching (private for private problems). */
static int respond_file(struct req *rq, const char *path, const char *etag_base, int priv,
			int immutable, const struct bia_layer *l)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		char dir[BIA_PATH_MAX];
		bia_derived_dir(req_inst(rq), l, dir, sizeof(dir));
		if (!bia_is_dir(dir))
			return img_pyramid_absent(rq, l); /* not built yet */
		/* an array's attributes, optional in Zarr v2 (none are
		 * written): {} rather than a 404 to every reader that asks */
		size_t n = strlen(path);
		if (n > 8 && !strcmp(path + n - 8, "/.zattrs")) {
			char za[BIA_PATH_MAX + 300];
			snprintf(za, sizeof(za), "%.*s/.zarray", (int)(n - 8), path);
			if (!access(za, F_OK))
				return img_respond_buf(rq, 200, "application/json", "{}", 2,
						       "\"zattrs-empty\"",
						       priv ? "private, max-age=31536000, immutable"
							    : "public, max-age=31536000, immutable");
		}
		return img_fail(rq, BIA_ENOENT, "no such key");
	}
	char etag[128];
	snprintf(etag, sizeof(etag), "\"%s-%llx\"", etag_base, (unsigned long long)st.st_size);
	const char *cache = immutable ? (priv ? "private, max-age=31536000, immutable"
					      : "public, max-age=31536000, immutable")
				      : (priv ? "private, no-cache" : "public, no-cache");
	const char *name = bia_path_base(path);
	const char *type = name[0] == '.' ? "application/json" : "application/octet-stream";
	if (img_etag_match(rq, etag)) {
		close(fd);
		img_respond_buf(rq, 304, NULL, "", 0, etag, cache);
		return 304;
	}
	uint64_t n = (uint64_t)st.st_size, a = 0, b = n ? n - 1 : 0;
	int k = parse_range(MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Range"), n, &a,
			    &b);
	if (k < 0) {
		close(fd);
		char cr[64];
		snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)n);
		img_respond_buf(rq, 416, "text/plain", "range not satisfiable\n", 22, etag, cache);
		MHD_add_response_header(rq->resp, "Content-Range", cr);
		return 416;
	}
	struct MHD_Response *r = k ? MHD_create_response_from_fd_at_offset64(b - a + 1, fd, a)
				   : MHD_create_response_from_fd64(n, fd);
	if (!r) {
		close(fd);
		return img_fail(rq, BIA_ENOMEM, "out of memory");
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Cache-Control", cache);
	MHD_add_response_header(r, "Accept-Ranges", "bytes");
	if (k) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)a,
			 (unsigned long long)b, (unsigned long long)n);
		MHD_add_response_header(r, "Content-Range", cr);
	}
	img_cors(r);
	rq->resp = r;
	rq->status = k ? 206 : 200;
	return rq->status;
}

/* -------------------------------------------------------- access to images */

/* The image of a request: signed link, or the caller's right to read its
 * problem (guest mode: anyone, public problems). *ppriv: the problem is
 * private (responses are not cached publicly). */
/* Image records with their problem's class and privacy, by id, valid
 * while the store's generation is the same (every request of a viewer
 * asks for the same image: no SQL on the hot path). */
#define IMG_SLOTS 256
static pthread_mutex_t imc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct imc_ent {
	int64_t id;
	struct cache_gen gen;
	struct bia_image_rec im;
	enum bia_class cls;
	int priv;
	const struct bia_instance *inst;
} imc[IMG_SLOTS];

static int img_lookup(struct req *rq, int64_t id, struct bia_image_rec *im, enum bia_class *cls,
		      int *priv)
{
	struct bia_instance *inst = req_inst(rq);
	struct cache_gen g;
	int have = cache_gen(rq->srv, &g) == 0;
	struct imc_ent *e = &imc[(uint64_t)id % IMG_SLOTS];
	if (have) {
		pthread_mutex_lock(&imc_mu);
		int hit = e->id == id && e->inst == inst && !memcmp(&e->gen, &g, sizeof(g));
		if (hit) {
			*im = e->im;
			*cls = e->cls;
			*priv = e->priv;
		}
		pthread_mutex_unlock(&imc_mu);
		if (hit)
			return 0;
	}
	struct bia_ctx tmp;
	bia_instance_ctx(inst, &tmp);
	struct bia_problem pr;
	if (bia_store_image_get(&tmp, inst, id, im) ||
	    bia_problem_get_id(&tmp, inst, im->problem_id, &pr)) {
		bia_fail(&rq->ctx, tmp.rc, "%s", tmp.msg);
		return rq->ctx.rc;
	}
	*cls = pr.cls;
	*priv = pr.private_;
	bia_problem_release(&pr);
	if (have) {
		pthread_mutex_lock(&imc_mu);
		e->id = id;
		e->inst = inst;
		e->gen = g;
		e->im = *im;
		e->cls = *cls;
		e->priv = *priv;
		pthread_mutex_unlock(&imc_mu);
	}
	return 0;
}

int img_access(struct req *rq, int64_t id, const char *exp, const char *sig,
	       struct bia_image_rec *im, int *ppriv, enum bia_class *pcls)
{
	struct bia_instance *inst = req_inst(rq);
	struct bia_ctx tmp;
	bia_instance_ctx(inst, &tmp);
	if (sig) {
		char what[64];
		snprintf(what, sizeof(what), "images/%lld", (long long)id);
		if (bia_link_check(&tmp, inst, what, strtoll(exp, NULL, 10), sig,
				   (int64_t)time(NULL)))
			return img_fail(rq, BIA_EAUTH, "%s", tmp.msg);
		if (img_lookup(rq, id, im, pcls, ppriv))
			return img_fail(rq, rq->ctx.rc, "%s",
					rq->ctx.rc == BIA_ENOENT ? "no such image" : rq->ctx.msg);
		*ppriv = 1;
		return 0;
	}
	if (!req_guest(rq) && bia_access_role(&tmp, &rq->who, BIA_ROLE_VIEWER))
		return img_fail(rq, tmp.rc, "%s", tmp.msg);
	if (img_lookup(rq, id, im, pcls, ppriv)) {
		if (rq->ctx.rc == BIA_ENOENT)
			return img_fail(rq, BIA_ENOENT, "no image with id %lld", (long long)id);
		return img_fail(rq, rq->ctx.rc, "%s", rq->ctx.msg);
	}
	/* a public problem is read by anyone who got this far; a private one
	 * by its members and admins (else it does not exist) */
	if (*ppriv && bia_access_problem(&tmp, inst, &rq->who, im->problem_id, BIA_ACCESS_READ)) {
		if (tmp.rc == BIA_ENOENT)
			return img_fail(rq, BIA_ENOENT, "no image with id %lld", (long long)id);
		return img_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	return 0;
}

/* A missing pyramid: being built (503, retry) or failed (its reason). */
int img_pyramid_absent(struct req *rq, const struct bia_layer *l)
{
	char key[160];
	layer_key(rq->srv, l, key, sizeof(key));
	struct imgsrv *g = rq->srv->img;
	char msg[512] = "";
	if (g) {
		pthread_mutex_lock(&g->mu);
		const char *m = failed_msg(g, key);
		if (m)
			snprintf(msg, sizeof(msg), "%s", m);
		pthread_mutex_unlock(&g->mu);
	}
	if (msg[0])
		return img_fail(rq, BIA_EFORMAT, "the pyramid of image %lld could not be built: %s",
				(long long)l->image_id, msg);
	img_wake(rq->srv);
	rq->retry_after = 2;
	return img_fail(rq, BIA_EUNAVAIL,
			"the pyramid of image %lld is being built; retry in a moment",
			(long long)l->image_id);
}

void img_image_layer(const struct bia_image_rec *im, enum bia_class cls, struct bia_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->image_id = im->id;
	l->kind = BIA_LAYER_IMAGE;
	l->problem_id = im->problem_id;
	l->cls = cls;
	snprintf(l->digest, sizeof(l->digest), "%s", im->digest);
	snprintf(l->name, sizeof(l->name), "%s", im->original_name);
}

static int label_is(const struct bia_layer *l, const char *name, size_t nl)
{
	char own[64];
	if (l->kind == BIA_LAYER_IMAGE)
		return 0;
	bia_layer_label_name(l, own, sizeof(own));
	return (strlen(own) == nl && !strncmp(own, name, nl)) ||
	       (l->kind == BIA_LAYER_GT && l->current && nl == 2 && !strncmp(name, "gt", 2));
}

int img_find_label(struct req *rq, int64_t id, const char *name, size_t nlen,
		   struct bia_layer *out)
{
	struct bia_layer *v;
	size_t n;
	struct bia_ctx tmp;
	bia_instance_ctx(req_inst(rq), &tmp);
	if (bia_store_layers(&tmp, req_inst(rq), id, &v, &n))
		return img_fail(rq, tmp.rc, "%s", tmp.msg);
	int found = 0;
	for (size_t i = 0; i < n && !found; i++)
		if (label_is(&v[i], name, nlen)) {
			*out = v[i];
			found = 1;
		}
	free(v);
	if (!found)
		return img_fail(rq, BIA_ENOENT, "image %lld has no label layer '%.*s'", (long long)id,
				(int)(nlen < 64 ? nlen : 64), name);
	return 0;
}

/* Open pyramids, by directory (a pyramid never changes in place: a rebuild
 * makes a new directory and renames it, so a cached entry is checked by
 * the directory's inode). */
#define PYR_SLOTS 64
static pthread_mutex_t pyr_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct bia_pyramid p;
	ino_t ino;
	uint64_t used;
} pyr_cache[PYR_SLOTS];
static uint64_t pyr_clock;

int img_pyramid(struct req *rq, const char *dir, struct bia_pyramid *out)
{
	struct stat st;
	if (stat(dir, &st))
		return img_fail(rq, BIA_ENOENT, "the pyramid is absent");
	pthread_mutex_lock(&pyr_mu);
	size_t victim = 0;
	for (size_t i = 0; i < PYR_SLOTS; i++) {
		if (pyr_cache[i].used && pyr_cache[i].ino == st.st_ino &&
		    !strcmp(pyr_cache[i].p.dir, dir)) {
			pyr_cache[i].used = ++pyr_clock;
			*out = pyr_cache[i].p;
			pthread_mutex_unlock(&pyr_mu);
			return 0;
		}
		if (pyr_cache[i].used < pyr_cache[victim].used)
			victim = i;
	}
	pthread_mutex_unlock(&pyr_mu);
	struct bia_ctx tmp;
	bia_ctx_init(&tmp);
	if (bia_pyramid_open(&tmp, dir, out))
		return img_fail(rq, tmp.rc == BIA_ENOENT ? BIA_ECORRUPT : tmp.rc, "%s", tmp.msg);
	pthread_mutex_lock(&pyr_mu);
	pyr_cache[victim].p = *out;
	pyr_cache[victim].ino = st.st_ino;
	pyr_cache[victim].used = ++pyr_clock;
	pthread_mutex_unlock(&pyr_mu);
	return 0;
}

/* ------------------------------------------------------------------ zarr */

static int zarr_handle(struct req *rq)
{
	const char *p = rq->path + strlen("/zarr/");
	char exp[24] = "", sig[40] = "";
	int signed_ = 0;
	if (!strncmp(p, "s/", 2)) {
		p += 2;
		size_t a = strspn(p, "0123456789");
		if (!a || a >= sizeof(exp) || p[a] != '/')
			return img_fail(rq, BIA_EAUTH, "a malformed signed link");
		memcpy(exp, p, a);
		p += a + 1;
		size_t b = strspn(p, "0123456789abcdef");
		if (b != 32 || p[b] != '/')
			return img_fail(rq, BIA_EAUTH, "a malformed signed link");
		memcpy(sig, p, 32);
		p += 33;
		signed_ = 1;
	}
	if (strncmp(p, "images/", 7))
		return img_fail(rq, BIA_ENOENT, "no such key (expected /zarr/images/ID.zarr/...)");
	p += 7;
	char *end;
	long long id = strtoll(p, &end, 10);
	if (id <= 0 || end == p || strncmp(end, ".zarr", 5) || (end[5] && end[5] != '/'))
		return img_fail(rq, BIA_ENOENT, "no such key (expected /zarr/images/ID.zarr/...)");
	const char *rest = end[5] ? end + 6 : "";
	struct bia_image_rec im;
	int priv = 0;
	enum bia_class cls;
	if (img_access(rq, id, signed_ ? exp : NULL, signed_ ? sig : NULL, &im, &priv, &cls))
		return rq->status;
	struct bia_instance *inst = req_inst(rq);
	if (!strcmp(rest, "labels") || !strncmp(rest, "labels/", 7)) {
		const char *sub = rest[6] ? rest + 7 : "";
		struct bia_layer *v;
		size_t n;
		struct bia_ctx tmp;
		bia_instance_ctx(inst, &tmp);
		if (bia_store_layers(&tmp, inst, id, &v, &n))
			return img_fail(rq, tmp.rc, "%s", tmp.msg);
		int st;
		if (!strcmp(sub, ".zgroup") || !strcmp(sub, ".zattrs")) {
			json_t *j;
			if (!strcmp(sub, ".zgroup")) {
				j = json_pack("{s:i}", "zarr_format", 2);
			} else {
				json_t *names = json_array();
				for (size_t i = 0; i < n; i++) {
					char name[64];
					if (v[i].kind == BIA_LAYER_IMAGE)
						continue;
					if (v[i].kind == BIA_LAYER_GT && v[i].current)
						json_array_append_new(names, json_string("gt"));
					bia_layer_label_name(&v[i], name, sizeof(name));
					json_array_append_new(names, json_string(name));
				}
				j = json_pack("{s:o}", "labels", names);
			}
			char *s = json_dumps(j, JSON_COMPACT);
			json_decref(j);
			char h[65], etag[40];
			bia_sha256_hex(s ? s : "", s ? strlen(s) : 0, h);
			snprintf(etag, sizeof(etag), "\"%.24s\"", h);
			if (img_etag_match(rq, etag))
				st = img_respond_buf(rq, 304, NULL, "", 0, etag,
						 priv ? "private, no-cache" : "public, no-cache");
			else
				st = img_respond_buf(rq, 200, "application/json", s ? s : "{}",
						 s ? strlen(s) : 2, etag,
						 priv ? "private, no-cache" : "public, no-cache");
			free(s);
			free(v);
			return st;
		}
		/* labels/<name>/<key> */
		free(v);
		const char *slash = strchr(sub, '/');
		size_t nl = slash ? (size_t)(slash - sub) : strlen(sub);
		struct bia_layer l;
		if (img_find_label(rq, id, sub, nl, &l))
			return rq->status;
		char dir[BIA_PATH_MAX], path[BIA_PATH_MAX + 300], eb[40];
		bia_derived_dir(inst, &l, dir, sizeof(dir));
		if (!slash || !slash[1])
			return bia_is_dir(dir) ? img_fail(rq, BIA_ENOENT, "no such key")
					       : img_pyramid_absent(rq, &l);
		snprintf(path, sizeof(path), "%s/%s", dir, slash + 1);
		snprintf(eb, sizeof(eb), "%.16s-l%d", l.digest, BIA_PYRAMID_FORMAT);
		return respond_file(rq, path, eb, priv, 1, &l);
	}
	struct bia_layer l;
	img_image_layer(&im, cls, &l);
	char dir[BIA_PATH_MAX], path[BIA_PATH_MAX + 300], eb[40];
	bia_derived_dir(inst, &l, dir, sizeof(dir));
	if (!rest[0] || !strcmp(rest, "biaflows.json"))
		return bia_is_dir(dir) ? img_fail(rq, BIA_ENOENT, "no such key")
				       : img_pyramid_absent(rq, &l);
	snprintf(path, sizeof(path), "%s/%s", dir, rest);
	snprintf(eb, sizeof(eb), "%.16s-i%d", l.digest, BIA_PYRAMID_FORMAT);
	return respond_file(rq, path, eb, priv, 1, &l);
}

/* ------------------------------------------------------------ overlays */

/* GET /api/v1/images/{image}/overlays/{layer}?z=&t=&bbox=&limit=&run= */
int img_overlay_route(struct req *rq)
{
	struct bia_image_rec im;
	char *end;
	long long id = strtoll(rq->params[0], &end, 10);
	if (id <= 0 || *end)
		return req_fail(rq, BIA_EINVAL, "an image is addressed by its id");
	struct bia_instance *inst = req_inst(rq);
	struct bia_ctx tmp;
	bia_instance_ctx(inst, &tmp);
	if (bia_store_image_get(&tmp, inst, id, &im) ||
	    bia_access_problem(&tmp, inst, &rq->who, im.problem_id, BIA_ACCESS_READ)) {
		if (tmp.rc == BIA_ENOENT)
			return req_fail(rq, BIA_ENOENT, "no image with id %lld", id);
		return req_fail(rq, tmp.rc, "%s", tmp.msg);
	}
	struct bia_overlay_filter f;
	if (bia_overlay_filter_parse(&rq->ctx, req_query(rq, "z"), req_query(rq, "t"),
				     req_query(rq, "bbox"), req_query(rq, "limit"),
				     req_query(rq, "run"), &f))
		return req_error(rq);
	json_t *j;
	if (bia_overlay_query(&rq->ctx, inst, &im, rq->params[1], &f, &j))
		return req_error(rq);
	return req_json(rq, 200, j);
}

/* ------------------------------------------------------------ dispatch */

int img_is_route(const char *path)
{
	return !strncmp(path, "/zarr/", 6) || !strncmp(path, "/iiif/3/", 8);
}

int img_handle(struct req *rq)
{
	if (!strcmp(rq->method, "OPTIONS")) {
		img_respond_buf(rq, 204, NULL, "", 0, NULL, "max-age=86400");
		MHD_add_response_header(rq->resp, "Access-Control-Allow-Methods",
					"GET, HEAD, OPTIONS");
		MHD_add_response_header(rq->resp, "Access-Control-Allow-Headers",
					"Authorization, Range, If-None-Match");
		MHD_add_response_header(rq->resp, "Access-Control-Max-Age", "86400");
		return 204;
	}
	if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
		img_fail(rq, BIA_EINVAL, "%s is not allowed on %s", rq->method, rq->path);
		MHD_add_response_header(rq->resp, "Allow", "GET, HEAD, OPTIONS");
		rq->status = 405;
		return 405;
	}
	if (!strncmp(rq->path, "/zarr/", 6))
		return zarr_handle(rq);
	return iiif_handle(rq);
}
