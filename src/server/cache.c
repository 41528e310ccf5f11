/* A cache of rendered GET responses. An entry is the bytes of a response
 * with the store's generation when it was computed: the SQLite write-ahead
 * log's size, its header's salts (new at each restart of the log) and its
 * and the database's modification times. Any commit, by this process or
 * another (a CLI command, a second server), changes the generation, and
 * every entry computed before it is stale. The key is the route, the
 * query, the caller (user and role) and the format asked for, so one
 * caller never gets another's view. Only routes whose answer depends on
 * the store alone are cached (not logs, files, events or operations).
 * docs/server.md "Response cache".
 * SPDX-License-Identifier: MIT */
#include "server/server_priv.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHARDS 16
#define WAYS 64
#define MAX_ENTRY (1u << 20)
#define MAX_TOTAL ((size_t)64 << 20)

struct centry {
	uint64_t hash;
	char *key;
	char *body;
	size_t len;
	int status;
	int64_t total;
	char type[48];
	struct cache_gen gen;
};

struct cache {
	pthread_mutex_t mu[SHARDS];
	struct centry e[SHARDS][WAYS];
	atomic_size_t bytes;
	char wal[BIA_PATH_MAX + 8], db[BIA_PATH_MAX + 8];
	int enabled;
};

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

int cache_start(struct bia_server *srv)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&c->mu[i], NULL);
	snprintf(c->db, sizeof(c->db), "%s/biaflows.db", srv->inst->root);
	snprintf(c->wal, sizeof(c->wal), "%s/biaflows.db-wal", srv->inst->root);
	const char *off = getenv("BIAFLOWS_NO_RESPONSE_CACHE");
	c->enabled = !(off && *off && strcmp(off, "0"));
	srv->cache = c;
	return 0;
}

void cache_stop(struct bia_server *srv)
{
	struct cache *c = srv->cache;
	if (!c)
		return;
	for (int s = 0; s < SHARDS; s++) {
		for (int w = 0; w < WAYS; w++) {
			free(c->e[s][w].key);
			free(c->e[s][w].body);
		}
		pthread_mutex_destroy(&c->mu[s]);
	}
	free(c);
	srv->cache = NULL;
}

/* The store's generation now; 0 if it cannot be read (then nothing is
 * cached). */
int cache_gen(struct bia_server *srv, struct cache_gen *g)
{
	struct cache *c = srv->cache;
	memset(g, 0, sizeof(*g));
	if (!c || !c->enabled)
		return -1;
	struct stat db, wal;
	if (stat(c->db, &db))
		return -1;
	g->db_mtime = (int64_t)db.st_mtim.tv_sec * 1000000000 + db.st_mtim.tv_nsec;
	g->db_size = (int64_t)db.st_size;
	int fd = open(c->wal, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		unsigned char h[32];
		if (fstat(fd, &wal) == 0) {
			g->wal_size = (int64_t)wal.st_size;
			g->wal_mtime = (int64_t)wal.st_mtim.tv_sec * 1000000000 + wal.st_mtim.tv_nsec;
		}
		if (pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h))
			memcpy(g->salts, h + 16, 8);
		close(fd);
	}
	g->valid = 1;
	return 0;
}

static int same_gen(const struct cache_gen *a, const struct cache_gen *b)
{
	return a->valid && b->valid && a->db_mtime == b->db_mtime && a->db_size == b->db_size &&
	       a->wal_size == b->wal_size && a->wal_mtime == b->wal_mtime &&
	       !memcmp(a->salts, b->salts, sizeof(a->salts));
}

/* A copy of the cached response for key at generation g, or NULL. */
char *cache_get(struct bia_server *srv, const char *key, const struct cache_gen *g,
		size_t *plen, int *pstatus, int64_t *ptotal, char type[48])
{
	struct cache *c = srv->cache;
	if (!c || !g->valid)
		return NULL;
	uint64_t h = fnv(key, strlen(key));
	int s = (int)(h % SHARDS), w = (int)((h / SHARDS) % WAYS);
	char *out = NULL;
	pthread_mutex_lock(&c->mu[s]);
	struct centry *e = &c->e[s][w];
	if (e->key && e->hash == h && !strcmp(e->key, key) && same_gen(&e->gen, g) &&
	    (out = malloc(e->len ? e->len : 1))) {
		memcpy(out, e->body, e->len);
		*plen = e->len;
		*pstatus = e->status;
		*ptotal = e->total;
		memcpy(type, e->type, 48);
	}
	pthread_mutex_unlock(&c->mu[s]);
	return out;
}

void cache_put(struct bia_server *srv, const char *key, const struct cache_gen *g,
	       const char *body, size_t len, int status, int64_t total, const char *type)
{
	struct cache *c = srv->cache;
	if (!c || !g->valid || len > MAX_ENTRY)
		return;
	char *k = strdup(key), *b = malloc(len ? len : 1);
	if (!k || !b) {
		free(k);
		free(b);
		return;
	}
	memcpy(b, body, len);
	uint64_t h = fnv(key, strlen(key));
	int s = (int)(h % SHARDS), w = (int)((h / SHARDS) % WAYS);
	pthread_mutex_lock(&c->mu[s]);
	if (atomic_load(&c->bytes) + len > MAX_TOTAL) {
		/* full: this shard starts again empty (the others keep theirs) */
		for (int slot = 0; slot < WAYS; slot++) {
			struct centry *x = &c->e[s][slot];
			atomic_fetch_sub(&c->bytes, x->len);
			free(x->key);
			free(x->body);
			memset(x, 0, sizeof(*x));
		}
	}
	struct centry *e = &c->e[s][w];
	atomic_fetch_sub(&c->bytes, e->len);
	free(e->key);
	free(e->body);
	e->hash = h;
	e->key = k;
	e->body = b;
	e->len = len;
	e->status = status;
	e->total = total;
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->gen = *g;
	atomic_fetch_add(&c->bytes, len);
	pthread_mutex_unlock(&c->mu[s]);
}
