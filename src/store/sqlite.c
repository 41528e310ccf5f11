/* SQLite driver of the SQL back end (src/store/sql.c): WAL mode, foreign
 * keys, one connection per thread from the instance's pool, prepared
 * statements cached per connection, the schema version in PRAGMA
 * user_version.
 * SPDX-License-Identifier: MIT */
#include "store/sqldb.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ connections
 *
 * The instance is shared by every thread; each thread gets its own SQLite
 * connection from the instance's pool the first time it touches the store
 * (kept in a thread-specific slot, given back to the pool when the thread
 * ends). A connection caches its prepared statements and counts the
 * nesting of its transactions (BEGIN IMMEDIATE, then SAVEPOINTs). */

#define STMT_CACHE 64

static const struct q_driver sqlite_driver;

struct sq_stmt {
	struct q_stmt base;
	sqlite3_stmt *st;
	struct sq_conn *c;
};

struct sq_cached {
	char *sql;	    /* the statement's text, malloc'd */
	struct sq_stmt *st; /* prepared once (SQLITE_PREPARE_PERSISTENT) */
	int busy;	    /* handed out, not yet given back by fin() */
};

struct sq_conn {
	sqlite3 *db;
	int depth; /* open transactions: 0 none, 1 BEGIN, more: SAVEPOINTs */
	struct sq_cached cache[STMT_CACHE];
	size_t ncache;
	struct sq_pool *pool;
	struct sq_conn *next_all, *next_free;
};

struct sq_pool {
	const struct q_driver *drv; /* first: see Q_DRV */
	char path[BIA_PATH_MAX];
	pthread_mutex_t mu;
	pthread_key_t key;
	struct sq_conn *all, *free;
	unsigned nconns;
};

static void conn_close(struct sq_conn *c)
{
	for (size_t i = 0; i < c->ncache; i++) {
		sqlite3_finalize(c->cache[i].st->st);
		free(c->cache[i].st);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

/* A new connection to the pool's database, with the per-connection
 * settings (WAL, foreign keys, full sync, a busy timeout). NULL on error. */
static struct sq_conn *conn_open(struct sq_pool *pool, char *err, size_t errsz)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->pool = pool;
	if (sqlite3_open_v2(pool->path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errsz, "cannot open database '%s': %s", pool->path,
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, BIA_STORE_BUSY_MS);
	static const char *const pragmas[] = {"PRAGMA journal_mode = WAL",
					      "PRAGMA synchronous = FULL",
					      "PRAGMA foreign_keys = ON"};
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		char *e = NULL;
		if (sqlite3_exec(c->db, pragmas[i], NULL, NULL, &e) != SQLITE_OK) {
			snprintf(err, errsz, "database '%s': %s", pool->path, e ? e : "error");
			sqlite3_free(e);
			sqlite3_close(c->db);
			free(c);
			return NULL;
		}
	}
	return c;
}

/* Thread exit: the thread's connection goes back to the pool (an open
 * transaction is rolled back). */
static void conn_release(void *arg)
{
	struct sq_conn *c = arg;
	if (!c)
		return;
	if (c->depth)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->depth = 0;
	pthread_mutex_lock(&c->pool->mu);
	c->next_free = c->pool->free;
	c->pool->free = c;
	pthread_mutex_unlock(&c->pool->mu);
}

/* The calling thread's connection, taken from the pool or opened on first
 * use. NULL when none can be opened (calls then fail as database errors). */
static struct sq_conn *conn_of(struct bia_instance *inst)
{
	struct sq_pool *pool = inst->db;
	if (!pool)
		return NULL;
	struct sq_conn *c = pthread_getspecific(pool->key);
	if (c)
		return c;
	pthread_mutex_lock(&pool->mu);
	if ((c = pool->free))
		pool->free = c->next_free;
	pthread_mutex_unlock(&pool->mu);
	if (!c) {
		char err[512];
		if (!(c = conn_open(pool, err, sizeof(err)))) {
			bia_log(BIA_LOG_ERROR, "%s", err);
			return NULL;
		}
		pthread_mutex_lock(&pool->mu);
		c->next_all = pool->all;
		pool->all = c;
		pool->nconns++;
		pthread_mutex_unlock(&pool->mu);
	}
	pthread_setspecific(pool->key, c);
	return c;
}

static const char *sq_errmsg(struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	return c ? sqlite3_errmsg(c->db) : "no connection";
}

static int sq_busy(struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	return c && (sqlite3_errcode(c->db) & 0xff) == SQLITE_BUSY;
}

static int sq_exec(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql)
{
	struct sq_conn *c = conn_of(inst);
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection");
	char *err = NULL;
	int r = sqlite3_exec(c->db, sql, NULL, NULL, &err);
	if (r != SQLITE_OK) {
		int rc = bia_fail(ctx, r == SQLITE_BUSY ? BIA_EBUSY : BIA_EDB, "database: %s",
				  err ? err : "error");
		sqlite3_free(err);
		return rc;
	}
	return 0;
}

/* A prepared statement for sql: the connection's cached one when it is
 * free (each text is prepared once per connection), else a new one. Give
 * it back with fin(). */
static int sq_prepare(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		      struct q_stmt **pst)
{
	struct sq_conn *c = conn_of(inst);
	*pst = NULL;
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection");
	for (size_t i = 0; i < c->ncache; i++)
		if (!strcmp(c->cache[i].sql, sql)) {
			if (c->cache[i].busy)
				break; /* in use (a nested query): a fresh one */
			c->cache[i].busy = 1;
			*pst = &c->cache[i].st->base;
			return 0;
		}
	int cache = c->ncache < STMT_CACHE;
	for (size_t i = 0; cache && i < c->ncache; i++)
		if (!strcmp(c->cache[i].sql, sql))
			cache = 0;
	struct sq_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	s->base.drv = &sqlite_driver;
	s->c = c;
	if (sqlite3_prepare_v3(c->db, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &s->st,
			       NULL) != SQLITE_OK) {
		free(s);
		return bia_fail(ctx, BIA_EDB, "database: prepare: %s", sqlite3_errmsg(c->db));
	}
	if (cache) {
		char *copy = bia_strdup(sql);
		if (copy)
			c->cache[c->ncache++] = (struct sq_cached){copy, s, 1};
	}
	*pst = &s->base;
	return 0;
}

/* Give back a statement from prepare(): a cached one is reset for its next
 * use, another finalised. */
static void sq_fin(struct bia_instance *inst, struct q_stmt *qst)
{
	(void)inst;
	if (!qst)
		return;
	struct sq_stmt *s = (struct sq_stmt *)qst;
	struct sq_conn *c = s->c;
	for (size_t i = 0; i < c->ncache; i++)
		if (c->cache[i].st == s) {
			sqlite3_reset(s->st);
			sqlite3_clear_bindings(s->st);
			c->cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(s->st);
	free(s);
}

#define SQ(st) (((struct sq_stmt *)(st))->st)

static void sq_reset(struct q_stmt *st)
{
	sqlite3_reset(SQ(st));
}

static void sq_bind_int64(struct q_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(SQ(st), i, v);
}

static void sq_bind_double(struct q_stmt *st, int i, double v)
{
	sqlite3_bind_double(SQ(st), i, v);
}

static void sq_bind_text(struct q_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(SQ(st), i, v, -1, SQLITE_STATIC);
}

static void sq_bind_null(struct q_stmt *st, int i)
{
	sqlite3_bind_null(SQ(st), i);
}

/* SQLite: a negative LIMIT has no upper bound. */
static void sq_bind_limit(struct q_stmt *st, int i, int64_t n)
{
	sqlite3_bind_int64(SQ(st), i, n > 0 ? n : -1);
}

static int sq_step(struct q_stmt *st)
{
	switch (sqlite3_step(SQ(st))) {
	case SQLITE_ROW:
		return Q_ROW;
	case SQLITE_DONE:
		return Q_DONE;
	case SQLITE_CONSTRAINT:
		return Q_CONSTRAINT;
	case SQLITE_BUSY:
		return Q_BUSY;
	default:
		return Q_ERROR;
	}
}

static int64_t sq_col_int64(struct q_stmt *st, int i)
{
	return sqlite3_column_int64(SQ(st), i);
}

static double sq_col_double(struct q_stmt *st, int i)
{
	return sqlite3_column_double(SQ(st), i);
}

static const char *sq_col_text(struct q_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(SQ(st), i);
}

static int sq_col_null(struct q_stmt *st, int i)
{
	return sqlite3_column_type(SQ(st), i) == SQLITE_NULL;
}

static int sq_col_count(struct q_stmt *st)
{
	return sqlite3_column_count(SQ(st));
}

static const char *sq_col_name(struct q_stmt *st, int i)
{
	return sqlite3_column_name(SQ(st), i);
}

static int sq_col_type(struct q_stmt *st, int i)
{
	switch (sqlite3_column_type(SQ(st), i)) {
	case SQLITE_INTEGER:
		return Q_INT;
	case SQLITE_FLOAT:
		return Q_FLOAT;
	case SQLITE_NULL:
		return Q_NULL;
	default:
		return Q_TEXT; /* no BLOB columns in the schema */
	}
}

static int64_t sq_changes(struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	return c ? sqlite3_changes(c->db) : 0;
}

/* Transactions of the calling thread's connection: the outermost is BEGIN
 * IMMEDIATE (the write lock taken at once, waiting up to the busy timeout),
 * inner ones SAVEPOINTs, so an operation's own transaction nests inside a
 * caller's (bia_store_begin). */
static int sq_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection");
	char sql[48];
	if (c->depth)
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", c->depth);
	else
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	if (sq_exec(ctx, inst, sql))
		return ctx->rc;
	c->depth++;
	return 0;
}

static int sq_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	if (!c || !c->depth)
		return bia_fail(ctx, BIA_EDB, "database: commit without a transaction");
	char sql[48];
	if (c->depth > 1)
		snprintf(sql, sizeof(sql), "RELEASE s%d", c->depth - 1);
	else
		snprintf(sql, sizeof(sql), "COMMIT");
	if (sq_exec(ctx, inst, sql))
		return ctx->rc; /* still open: the caller rolls back */
	c->depth--;
	return 0;
}

static void sq_rollback(struct bia_instance *inst)
{
	struct sq_conn *c = conn_of(inst);
	if (!c || !c->depth)
		return;
	char sql[64];
	if (c->depth > 1)
		snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d", c->depth - 1,
			 c->depth - 1);
	else
		snprintf(sql, sizeof(sql), "ROLLBACK");
	sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	c->depth--;
}

/* Connections held by threads (not in the free list). */
unsigned bia__sqlite_connections_in_use(struct bia_instance *inst)
{
	struct sq_pool *pool = inst->db;
	if (!pool)
		return 0;
	unsigned nfree = 0;
	pthread_mutex_lock(&pool->mu);
	for (struct sq_conn *c = pool->free; c; c = c->next_free)
		nfree++;
	unsigned n = pool->nconns - nfree;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

static int sq_get_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver)
{
	struct q_stmt *st;
	if (sq_prepare(ctx, inst, "PRAGMA user_version", &st))
		return ctx->rc;
	*pver = sqlite3_step(SQ(st)) == SQLITE_ROW ? sqlite3_column_int(SQ(st), 0) : 0;
	sq_fin(inst, st);
	return 0;
}

static int sq_set_version(struct bia_ctx *ctx, struct bia_instance *inst, int ver)
{
	char pragma[64];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", ver);
	return sq_exec(ctx, inst, pragma);
}

int bia__sqlite_schema_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver)
{
	return sq_get_version(ctx, inst, pver);
}

void bia__sqlite_close(struct bia_instance *inst);

/* location: the database file, relative to the instance folder unless
 * absolute ("biaflows.db"). */
int bia__sqlite_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *location)
{
	if (!location[0])
		return bia_fail(ctx, BIA_EINVAL, "store 'sqlite:' needs a file name");
	struct sq_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	pool->drv = &sqlite_driver;
	int n = location[0] == '/'
			? snprintf(pool->path, sizeof(pool->path), "%s", location)
			: snprintf(pool->path, sizeof(pool->path), "%s/%s", inst->root, location);
	if (n < 0 || (size_t)n >= sizeof(pool->path)) {
		free(pool);
		return bia_fail(ctx, BIA_ELIMIT, "store path is too long");
	}
	if (pthread_mutex_init(&pool->mu, NULL)) {
		free(pool);
		return bia_fail(ctx, BIA_EIO, "cannot create a mutex");
	}
	if (pthread_key_create(&pool->key, conn_release)) {
		pthread_mutex_destroy(&pool->mu);
		free(pool);
		return bia_fail(ctx, BIA_EIO, "cannot create a thread key");
	}
	inst->db = pool;
	char err[512];
	struct sq_conn *c = conn_open(pool, err, sizeof(err));
	if (!c) {
		bia__sqlite_close(inst);
		return bia_fail(ctx, BIA_EDB, "%s", err);
	}
	pool->all = c;
	pool->nconns = 1;
	pthread_setspecific(pool->key, c);
	if (bia__sql_migrate(ctx, inst)) {
		bia__sqlite_close(inst);
		return ctx->rc;
	}
	return 0;
}

/* Every connection is closed: the threads that used the instance must have
 * ended or stopped using it. */
void bia__sqlite_close(struct bia_instance *inst)
{
	struct sq_pool *pool = inst->db;
	if (!pool)
		return;
	pthread_key_delete(pool->key); /* no thread-exit callback after this */
	for (struct sq_conn *c = pool->all, *n; c; c = n) {
		n = c->next_all;
		conn_close(c);
	}
	pthread_mutex_destroy(&pool->mu);
	free(pool);
	inst->db = NULL;
}

int bia__sqlite_check(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		      size_t reportsz)
{
	struct q_stmt *st;
	int ok = 1;
	report[0] = '\0';
	if (sq_prepare(ctx, inst, "PRAGMA integrity_check", &st))
		return ctx->rc;
	while (sqlite3_step(SQ(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(SQ(st), 0);
		if (s && strcmp(s, "ok")) {
			ok = 0;
			snprintf(report, reportsz, "%s", s);
		}
	}
	sq_fin(inst, st);
	if (sq_prepare(ctx, inst, "PRAGMA foreign_key_check", &st))
		return ctx->rc;
	if (sqlite3_step(SQ(st)) == SQLITE_ROW) {
		ok = 0;
		snprintf(report, reportsz, "foreign key violation in table %s",
			 (const char *)sqlite3_column_text(SQ(st), 0));
	}
	sq_fin(inst, st);
	return ok ? 0 : bia_fail(ctx, BIA_ECORRUPT, "database: %s", report);
}

static const struct q_driver sqlite_driver = {
	.name = "sqlite",
	.pg = 0,
	.prepare = sq_prepare,
	.fin = sq_fin,
	.reset = sq_reset,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.bind_limit = sq_bind_limit,
	.step = sq_step,
	.col_int64 = sq_col_int64,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_null = sq_col_null,
	.col_count = sq_col_count,
	.col_name = sq_col_name,
	.col_type = sq_col_type,
	.changes = sq_changes,
	.errmsg = sq_errmsg,
	.busy = sq_busy,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.get_version = sq_get_version,
	.set_version = sq_set_version,
};
