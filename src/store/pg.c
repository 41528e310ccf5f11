/* PostgreSQL driver of the SQL back end (src/store/sql.c), on libpq. An
 * instance's rows live in a schema of their own (the URL's ?schema=,
 * chosen by `init`), so several instances share a database; every
 * connection sets search_path to it. One connection per thread from the
 * instance's pool; transactions are READ COMMITTED (the rules of src/runs
 * are conditional updates, and claiming takes rows FOR UPDATE SKIP
 * LOCKED); a statement outside a transaction that hits a deadlock or a
 * serialization failure is retried. The schema version is in the table
 * schema_version.
 * SPDX-License-Identifier: MIT */
#include "store/sqldb.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARAMS 32
#define RETRIES 8

static const struct q_driver pg_driver;

struct pg_conn {
	PGconn *pc;
	int depth; /* open transactions: 0 none, 1 BEGIN, more: SAVEPOINTs */
	int64_t changes;
	char sqlstate[6];
	char err[512];
	struct pg_pool *pool;
	struct pg_conn *next_all, *next_free;
};

struct pg_pool {
	const struct q_driver *drv; /* first: see Q_DRV */
	struct bia_pg_url url;
	pthread_mutex_t mu;
	pthread_key_t key;
	struct pg_conn *all, *free;
	unsigned nconns;
};

struct pg_stmt {
	struct q_stmt base;
	struct pg_conn *c;
	char *sql; /* in PostgreSQL's dialect */
	int np;	   /* highest parameter bound */
	const char *vals[MAX_PARAMS];
	Oid types[MAX_PARAMS];
	char num[MAX_PARAMS][32];
	int bad; /* a parameter number out of range */
	PGresult *res;
	int row, nrows;
};

#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs of IF NOT EXISTS and friends */
}

/* libpq's message on one line, without its trailing newline. */
static void one_line(char *dst, size_t dsz, const char *msg)
{
	snprintf(dst, dsz, "%s", msg ? msg : "unknown error");
	for (char *p = dst; *p; p++)
		if (*p == '\n')
			*p = (p[1] ? ' ' : '\0');
}

/* A new connection with search_path set to the instance's schema (which
 * must exist unless `any_schema`). NULL with a message on error. */
static PGconn *connect_url(const struct bia_pg_url *u, int any_schema, char *err, size_t errsz)
{
	PGconn *pc = PQconnectdb(u->conninfo);
	if (!pc) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (PQstatus(pc) != CONNECTION_OK) {
		char m[400];
		one_line(m, sizeof(m), PQerrorMessage(pc));
		snprintf(err, errsz, "cannot connect to PostgreSQL at %s:%d (database '%s'): %s",
			 u->host, u->port, u->db, m);
		PQfinish(pc);
		return NULL;
	}
	PQsetNoticeProcessor(pc, quiet, NULL);
	if (any_schema)
		return pc;
	const char *params[1] = {u->schema};
	PGresult *r = PQexecParams(pc, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, NULL,
				   params, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	int found = ok && PQntuples(r) == 1;
	if (!ok) {
		char m[400];
		one_line(m, sizeof(m), PQerrorMessage(pc));
		snprintf(err, errsz, "PostgreSQL at %s:%d: %s", u->host, u->port, m);
	} else if (!found) {
		snprintf(err, errsz,
			 "PostgreSQL schema '%s' of this instance does not exist in database '%s' "
			 "at %s:%d",
			 u->schema, u->db, u->host, u->port);
	}
	PQclear(r);
	if (found) {
		char sql[128];
		snprintf(sql, sizeof(sql), "SET search_path TO \"%s\"", u->schema);
		r = PQexec(pc, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			char m[400];
			one_line(m, sizeof(m), PQerrorMessage(pc));
			snprintf(err, errsz, "PostgreSQL at %s:%d: %s", u->host, u->port, m);
			found = 0;
		}
		PQclear(r);
	}
	if (!found) {
		PQfinish(pc);
		return NULL;
	}
	return pc;
}

static struct pg_conn *conn_open(struct pg_pool *pool, char *err, size_t errsz)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->pool = pool;
	if (!(c->pc = connect_url(&pool->url, 0, err, errsz))) {
		free(c);
		return NULL;
	}
	return c;
}

static void conn_release(void *arg)
{
	struct pg_conn *c = arg;
	if (!c)
		return;
	if (c->depth)
		PQclear(PQexec(c->pc, "ROLLBACK"));
	c->depth = 0;
	pthread_mutex_lock(&c->pool->mu);
	c->next_free = c->pool->free;
	c->pool->free = c;
	pthread_mutex_unlock(&c->pool->mu);
}

static struct pg_conn *conn_of(struct bia_instance *inst)
{
	struct pg_pool *pool = inst->db;
	if (!pool)
		return NULL;
	struct pg_conn *c = pthread_getspecific(pool->key);
	if (c)
		return c;
	pthread_mutex_lock(&pool->mu);
	if ((c = pool->free))
		pool->free = c->next_free;
	pthread_mutex_unlock(&pool->mu);
	if (c && PQstatus(c->pc) != CONNECTION_OK) {
		PQreset(c->pc); /* the server restarted: try once more */
		c->depth = 0;
		if (PQstatus(c->pc) == CONNECTION_OK) {
			char sql[128];
			snprintf(sql, sizeof(sql), "SET search_path TO \"%s\"", pool->url.schema);
			PQclear(PQexec(c->pc, sql));
		}
	}
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

/* Remember a failed result's error on the connection. */
static void keep_error(struct pg_conn *c, const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st ? st : "");
	one_line(c->err, sizeof(c->err), r ? PQresultErrorMessage(r) : PQerrorMessage(c->pc));
	if (!c->err[0])
		one_line(c->err, sizeof(c->err), PQerrorMessage(c->pc));
}

/* Deadlock, serialization failure, lock not available. */
static int retryable(const char *sqlstate)
{
	return !strcmp(sqlstate, "40P01") || !strcmp(sqlstate, "40001") ||
	       !strcmp(sqlstate, "55P03");
}

static const char *pg_errmsg(struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	return c ? c->err : "no connection to PostgreSQL";
}

static int pg_busy(struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	return c && retryable(c->sqlstate);
}

static int pg_exec_conn(struct bia_ctx *ctx, struct pg_conn *c, const char *sql)
{
	PGresult *r = PQexec(c->pc, sql);
	ExecStatusType s = PQresultStatus(r);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	keep_error(c, r);
	PQclear(r);
	return bia_fail(ctx, retryable(c->sqlstate) ? BIA_EBUSY : BIA_EDB, "database: %s", c->err);
}

static int pg_exec(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql)
{
	struct pg_conn *c = conn_of(inst);
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection to PostgreSQL");
	return pg_exec_conn(ctx, c, sql);
}

/* ------------------------------------------------------------ the dialect
 *
 * The generic SQL is SQLite's where both agree; the few spellings that
 * differ are translated here: ?N and ? parameters to $N, INSERT OR IGNORE
 * to ON CONFLICT DO NOTHING, and the next id from id_marks (SQLite never
 * gives an id twice that way) to the identity's DEFAULT (a sequence never
 * goes back). */

static const char *const next_ids[] = {
	"(SELECT last + 1 FROM id_marks WHERE kind = 'images')",
	"(SELECT last + 1 FROM id_marks WHERE kind = 'gt_versions')",
	"(SELECT last + 1 FROM id_marks WHERE kind = 'runs')",
};

static char *translate(const char *sql)
{
	static const char ignore[] = "INSERT OR IGNORE INTO";
	static const char conflict[] = " ON CONFLICT DO NOTHING";
	size_t n = strlen(sql), cap = n * 2 + sizeof(conflict) + 16, k = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	int next = 1, quoted = 0, or_ignore = 0;
	for (size_t i = 0; i < n;) {
		if (k + 32 > cap) {
			cap *= 2;
			char *t = realloc(out, cap);
			if (!t) {
				free(out);
				return NULL;
			}
			out = t;
		}
		char ch = sql[i];
		if (ch == '\'') {
			quoted = !quoted;
			out[k++] = sql[i++];
			continue;
		}
		if (quoted) {
			out[k++] = sql[i++];
			continue;
		}
		if (!strncmp(sql + i, ignore, sizeof(ignore) - 1)) {
			memcpy(out + k, "INSERT INTO", 11);
			k += 11;
			i += sizeof(ignore) - 1;
			or_ignore = 1;
			continue;
		}
		size_t m = 0;
		for (; m < sizeof(next_ids) / sizeof(next_ids[0]); m++)
			if (!strncmp(sql + i, next_ids[m], strlen(next_ids[m])))
				break;
		if (m < sizeof(next_ids) / sizeof(next_ids[0])) {
			memcpy(out + k, "DEFAULT", 7);
			k += 7;
			i += strlen(next_ids[m]);
			continue;
		}
		if (ch == '?') {
			i++;
			int num = 0;
			while (i < n && sql[i] >= '0' && sql[i] <= '9' && num < 1000)
				num = num * 10 + (sql[i++] - '0');
			if (!num)
				num = next++;
			k += (size_t)snprintf(out + k, cap - k, "$%d", num);
			continue;
		}
		out[k++] = sql[i++];
	}
	out[k] = '\0';
	if (or_ignore) {
		while (k && (out[k - 1] == ';' || out[k - 1] == ' '))
			k--;
		memcpy(out + k, conflict, sizeof(conflict));
	}
	return out;
}

/* ------------------------------------------------------------- statements */

static int pg_prepare(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		      struct q_stmt **pst)
{
	struct pg_conn *c = conn_of(inst);
	*pst = NULL;
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection to PostgreSQL");
	struct pg_stmt *s = calloc(1, sizeof(*s));
	if (!s || !(s->sql = translate(sql))) {
		free(s);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	s->base.drv = &pg_driver;
	s->c = c;
	*pst = &s->base;
	return 0;
}

static void pg_reset(struct q_stmt *qst)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
}

static void pg_fin(struct bia_instance *inst, struct q_stmt *qst)
{
	(void)inst;
	if (!qst)
		return;
	struct pg_stmt *s = (struct pg_stmt *)qst;
	PQclear(s->res);
	free(s->sql);
	free(s);
}

/* Slot of parameter i (from 1), NULL when out of range. */
static int slot(struct pg_stmt *s, int i)
{
	if (i < 1 || i > MAX_PARAMS) {
		s->bad = 1;
		return -1;
	}
	if (i > s->np) {
		for (int k = s->np; k < i - 1; k++) { /* unbound before it: NULL text */
			s->vals[k] = NULL;
			s->types[k] = OID_TEXT;
		}
		s->np = i;
	}
	return i - 1;
}

static void pg_bind_int64(struct q_stmt *qst, int i, int64_t v)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	int k = slot(s, i);
	if (k < 0)
		return;
	snprintf(s->num[k], sizeof(s->num[k]), "%lld", (long long)v);
	s->vals[k] = s->num[k];
	s->types[k] = OID_INT8;
}

static void pg_bind_double(struct q_stmt *qst, int i, double v)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	int k = slot(s, i);
	if (k < 0)
		return;
	snprintf(s->num[k], sizeof(s->num[k]), "%.17g", v);
	s->vals[k] = s->num[k];
	s->types[k] = OID_FLOAT8;
}

/* Text goes as an untyped literal: PostgreSQL gives it the type of its
 * place (a TEXT column, a comparison). */
static void pg_bind_text(struct q_stmt *qst, int i, const char *v)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	int k = slot(s, i);
	if (k < 0)
		return;
	s->vals[k] = v;
	s->types[k] = 0;
}

static void pg_bind_null(struct q_stmt *qst, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	int k = slot(s, i);
	if (k < 0)
		return;
	s->vals[k] = NULL;
	s->types[k] = 0;
}

/* PostgreSQL: LIMIT NULL has no upper bound (a negative one is an error). */
static void pg_bind_limit(struct q_stmt *qst, int i, int64_t n)
{
	if (n > 0)
		pg_bind_int64(qst, i, n);
	else {
		struct pg_stmt *s = (struct pg_stmt *)qst;
		int k = slot(s, i);
		if (k >= 0) {
			s->vals[k] = NULL;
			s->types[k] = OID_INT8;
		}
	}
}

static int pg_step(struct q_stmt *qst)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	struct pg_conn *c = s->c;
	if (!s->res) {
		if (s->bad) {
			snprintf(c->err, sizeof(c->err), "a statement parameter out of range");
			c->sqlstate[0] = '\0';
			return Q_ERROR;
		}
		for (int attempt = 0;; attempt++) {
			/* in a transaction, a failed statement must not abort it (as
			 * in SQLite, the caller goes on or rolls back): each runs
			 * under a savepoint of its own */
			int sp = c->depth > 0;
			if (sp)
				PQclear(PQexec(c->pc, "SAVEPOINT q"));
			s->res = PQexecParams(c->pc, s->sql, s->np, s->types, s->vals, NULL, NULL, 0);
			ExecStatusType st = PQresultStatus(s->res);
			if (sp)
				PQclear(PQexec(c->pc, st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK
							      ? "RELEASE SAVEPOINT q"
							      : "ROLLBACK TO SAVEPOINT q; RELEASE SAVEPOINT q"));
			if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
				const char *t = PQcmdTuples(s->res);
				c->changes = t && t[0] ? strtoll(t, NULL, 10) : 0;
				s->nrows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
				s->row = 0;
				c->sqlstate[0] = '\0';
				break;
			}
			keep_error(c, s->res);
			PQclear(s->res);
			s->res = NULL;
			/* alone (no transaction of ours), it can simply run again */
			if (c->depth == 0 && retryable(c->sqlstate) && attempt < RETRIES) {
				struct timespec ts = {0, (long)(1 + attempt) * 10 * 1000000L};
				nanosleep(&ts, NULL);
				continue;
			}
			if (!strncmp(c->sqlstate, "23", 2))
				return Q_CONSTRAINT;
			return retryable(c->sqlstate) ? Q_BUSY : Q_ERROR;
		}
	}
	if (s->row < s->nrows) {
		s->row++;
		return Q_ROW;
	}
	return Q_DONE;
}

static const char *pg_col_text(struct q_stmt *qst, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	if (!s->res || s->row < 1 || i < 0 || i >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row - 1, i))
		return NULL;
	return PQgetvalue(s->res, s->row - 1, i);
}

static int pg_col_null(struct q_stmt *qst, int i)
{
	return pg_col_text(qst, i) == NULL;
}

/* Integers, and booleans (EXISTS, comparisons) as 1 and 0 like SQLite. */
static int64_t pg_col_int64(struct q_stmt *qst, int i)
{
	const char *v = pg_col_text(qst, i);
	if (!v)
		return 0;
	if (!strcmp(v, "t"))
		return 1;
	if (!strcmp(v, "f"))
		return 0;
	return strtoll(v, NULL, 10);
}

static double pg_col_double(struct q_stmt *qst, int i)
{
	const char *v = pg_col_text(qst, i);
	return v ? strtod(v, NULL) : 0;
}

static int pg_col_count(struct q_stmt *qst)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	return s->res ? PQnfields(s->res) : 0;
}

static const char *pg_col_name(struct q_stmt *qst, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	return s->res ? PQfname(s->res, i) : NULL;
}

static int pg_col_type(struct q_stmt *qst, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)qst;
	if (pg_col_null(qst, i))
		return Q_NULL;
	switch (PQftype(s->res, i)) {
	case 16: /* bool */
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		return Q_INT;
	case 700: /* float4 */
	case 701: /* float8 */
		return Q_FLOAT;
	default:
		return Q_TEXT;
	}
}

static int64_t pg_changes(struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	return c ? c->changes : 0;
}

/* ----------------------------------------------------------- transactions */

static int pg_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection to PostgreSQL");
	char sql[48];
	if (c->depth)
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", c->depth);
	else
		snprintf(sql, sizeof(sql), "BEGIN");
	if (pg_exec_conn(ctx, c, sql))
		return ctx->rc;
	c->depth++;
	return 0;
}

static int pg_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	if (!c || !c->depth)
		return bia_fail(ctx, BIA_EDB, "database: commit without a transaction");
	if (c->depth > 1) {
		char sql[48];
		snprintf(sql, sizeof(sql), "RELEASE s%d", c->depth - 1);
		if (pg_exec_conn(ctx, c, sql))
			return ctx->rc;
		c->depth--;
		return 0;
	}
	PGresult *r = PQexec(c->pc, "COMMIT");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT");
	if (!ok) {
		/* COMMIT of a failed transaction answers ROLLBACK */
		keep_error(c, r);
		if (!c->err[0])
			snprintf(c->err, sizeof(c->err), "the transaction was rolled back");
		PQclear(r);
		c->depth = 0;
		return bia_fail(ctx, retryable(c->sqlstate) ? BIA_EBUSY : BIA_EDB,
				"database: commit: %s", c->err);
	}
	PQclear(r);
	c->depth = 0;
	return 0;
}

static void pg_rollback(struct bia_instance *inst)
{
	struct pg_conn *c = conn_of(inst);
	if (!c || !c->depth)
		return;
	char sql[64];
	if (c->depth > 1)
		snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d", c->depth - 1,
			 c->depth - 1);
	else
		snprintf(sql, sizeof(sql), "ROLLBACK");
	PQclear(PQexec(c->pc, sql));
	c->depth--;
}

unsigned bia__pg_connections_in_use(struct bia_instance *inst)
{
	struct pg_pool *pool = inst->db;
	if (!pool)
		return 0;
	unsigned nfree = 0;
	pthread_mutex_lock(&pool->mu);
	for (struct pg_conn *c = pool->free; c; c = c->next_free)
		nfree++;
	unsigned n = pool->nconns - nfree;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

/* Inside a transaction (a migration), the version is read under a lock
 * of the schema, so that two processes opening it do not both migrate. */
static int pg_get_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver)
{
	struct pg_conn *c = conn_of(inst);
	if (!c)
		return bia_fail(ctx, BIA_EDB, "database: no connection to PostgreSQL");
	if (c->depth &&
	    pg_exec_conn(ctx, c, "SELECT pg_advisory_xact_lock(hashtext(current_schema()))"))
		return ctx->rc;
	PGresult *r = PQexec(c->pc, "SELECT version FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		keep_error(c, r);
		PQclear(r);
		return bia_fail(ctx, BIA_EDB, "database: schema version: %s",
				c->err[0] ? c->err : "no row");
	}
	*pver = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int pg_set_version(struct bia_ctx *ctx, struct bia_instance *inst, int ver)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", ver);
	return pg_exec(ctx, inst, sql);
}

/* ------------------------------------------------------------- open/close */

void bia__pg_close(struct bia_instance *inst);

/* location: the URL after "postgresql:" ("//user@host:port/db?schema=s"). */
int bia__pg_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *location)
{
	char url[1100], err[600];
	snprintf(url, sizeof(url), "postgresql:%s", location);
	struct pg_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	pool->drv = &pg_driver;
	if (bia_pg_url_parse(url, &pool->url, err, sizeof(err))) {
		free(pool);
		return bia_fail(ctx, BIA_EINVAL, "%s", err);
	}
	if (!pool->url.schema[0]) {
		free(pool);
		return bia_fail(ctx, BIA_EINVAL,
				"the store URL names no schema (?schema=NAME): made by 'biaflows "
				"init --database'");
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
	struct pg_conn *c = conn_open(pool, err, sizeof(err));
	if (!c) {
		bia__pg_close(inst);
		return bia_fail(ctx, BIA_EDB, "%s", err);
	}
	pool->all = c;
	pool->nconns = 1;
	pthread_setspecific(pool->key, c);
	if (bia__sql_migrate(ctx, inst)) {
		bia__pg_close(inst);
		return ctx->rc;
	}
	return 0;
}

void bia__pg_close(struct bia_instance *inst)
{
	struct pg_pool *pool = inst->db;
	if (!pool)
		return;
	pthread_key_delete(pool->key);
	for (struct pg_conn *c = pool->all, *n; c; c = n) {
		n = c->next_all;
		PQfinish(c->pc);
		free(c);
	}
	pthread_mutex_destroy(&pool->mu);
	free(pool);
	inst->db = NULL;
}

/* PostgreSQL keeps its own pages and constraints consistent; what is
 * checked is that the instance's schema answers. */
int bia__pg_check(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		  size_t reportsz)
{
	int ver;
	report[0] = '\0';
	if (pg_get_version(ctx, inst, &ver)) {
		snprintf(report, reportsz, "%s", ctx->msg);
		return ctx->rc;
	}
	return 0;
}

/* A new schema for an instance at `location` (a URL after "postgresql:",
 * with or without ?schema=): created with its version table, refused if
 * it exists. *out gets the URL to record, with the schema. */
int bia__pg_create(struct bia_ctx *ctx, const char *location, char *out, size_t outsz)
{
	char url[1100], err[600];
	struct bia_pg_url u;
	snprintf(url, sizeof(url), "postgresql:%s", location);
	if (bia_pg_url_parse(url, &u, err, sizeof(err)))
		return bia_fail(ctx, BIA_EINVAL, "%s", err);
	int named = u.schema[0] != '\0';
	if (!named) {
		unsigned char rnd[8];
		randombytes_buf(rnd, sizeof(rnd));
		int k = snprintf(u.schema, sizeof(u.schema), "bia_");
		for (size_t i = 0; i < sizeof(rnd); i++)
			k += snprintf(u.schema + k, sizeof(u.schema) - (size_t)k, "%02x", rnd[i]);
	}
	PGconn *pc = connect_url(&u, 1, err, sizeof(err));
	if (!pc)
		return bia_fail(ctx, BIA_EDB, "%s", err);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "CREATE SCHEMA \"%s\"; CREATE TABLE \"%s\".schema_version (version BIGINT NOT NULL);"
		 "INSERT INTO \"%s\".schema_version VALUES (0)",
		 u.schema, u.schema, u.schema);
	PGresult *r = PQexec(pc, sql);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		char m[400];
		one_line(m, sizeof(m), PQresultErrorMessage(r));
		rc = bia_fail(ctx, BIA_EEXIST, "PostgreSQL at %s:%d: cannot create schema '%s': %s",
			      u.host, u.port, u.schema, m);
	}
	PQclear(r);
	PQfinish(pc);
	if (rc)
		return rc;
	int n = named ? snprintf(out, outsz, "%s", url)
		      : snprintf(out, outsz, "%s%cschema=%s", url, strchr(url, '?') ? '&' : '?',
				 u.schema);
	if (n < 0 || (size_t)n >= outsz)
		return bia_fail(ctx, BIA_ELIMIT, "store URL too long");
	return 0;
}

/* -------------------------------------------------------------- listening */

struct bia_store_listener {
	PGconn *pc;
};

int bia__pg_listen(struct bia_ctx *ctx, struct bia_instance *inst,
		   struct bia_store_listener **pl)
{
	struct pg_pool *pool = inst->db;
	char err[600];
	*pl = NULL;
	struct bia_store_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (!(l->pc = connect_url(&pool->url, 0, err, sizeof(err)))) {
		free(l);
		return bia_fail(ctx, BIA_EDB, "%s", err);
	}
	char sql[128];
	snprintf(sql, sizeof(sql), "LISTEN \"bia_events_%s\"", pool->url.schema);
	PGresult *r = PQexec(l->pc, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || PQsetnonblocking(l->pc, 1)) {
		char m[400];
		one_line(m, sizeof(m), PQerrorMessage(l->pc));
		PQfinish(l->pc);
		free(l);
		return bia_fail(ctx, BIA_EDB, "PostgreSQL LISTEN: %s", m);
	}
	*pl = l;
	return 0;
}

int bia__pg_listener_fd(const struct bia_store_listener *l)
{
	return PQsocket(l->pc);
}

int bia__pg_listener_drain(struct bia_store_listener *l)
{
	if (!PQconsumeInput(l->pc))
		return -1;
	PGnotify *n;
	while ((n = PQnotifies(l->pc)))
		PQfreemem(n);
	return 0;
}

void bia__pg_listener_close(struct bia_store_listener *l)
{
	if (!l)
		return;
	PQfinish(l->pc);
	free(l);
}

static const struct q_driver pg_driver = {
	.name = "postgresql",
	.pg = 1,
	.prepare = pg_prepare,
	.fin = pg_fin,
	.reset = pg_reset,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.bind_limit = pg_bind_limit,
	.step = pg_step,
	.col_int64 = pg_col_int64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_null = pg_col_null,
	.col_count = pg_col_count,
	.col_name = pg_col_name,
	.col_type = pg_col_type,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.busy = pg_busy,
	.exec = pg_exec,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.get_version = pg_get_version,
	.set_version = pg_set_version,
};
