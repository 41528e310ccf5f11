/* Private to src/store: the small statement layer under the SQL back ends.
 * src/store/sql.c implements every store operation once, in SQL written
 * with `?` / `?N` parameters; a driver (sqlite.c, pg.c) runs it on its
 * database: prepare, bind, step, read columns, transactions, migrations.
 * A driver's shared state (inst->db) starts with a pointer to its table,
 * so the generic code finds the driver of an instance.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_STORE_SQLDB_H
#define BIA_STORE_SQLDB_H

#include "store/backend.h"

/* What step() returns. */
enum { Q_ROW = 100, Q_DONE = 101, Q_CONSTRAINT = 19, Q_BUSY = 5, Q_ERROR = 1 };
/* What col_type() returns. */
enum { Q_INT = 1, Q_FLOAT = 2, Q_TEXT = 3, Q_NULL = 5 };

struct q_driver;
/* A statement; a driver's own statement starts with it. */
struct q_stmt {
	const struct q_driver *drv;
};

struct q_driver {
	const char *name; /* "sqlite", "postgresql" */
	int pg;		  /* the PostgreSQL dialect (else SQLite's) */
	/* A statement for sql on the calling thread's connection; give it
	 * back with fin(). Errors are named on ctx. */
	int (*prepare)(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		       struct q_stmt **pst);
	void (*fin)(struct bia_instance *inst, struct q_stmt *st);
	/* Run again with other bindings. */
	void (*reset)(struct q_stmt *st);
	/* Parameters count from 1. Text is not copied: it must live until
	 * the statement is stepped. */
	void (*bind_int64)(struct q_stmt *st, int i, int64_t v);
	void (*bind_double)(struct q_stmt *st, int i, double v);
	void (*bind_text)(struct q_stmt *st, int i, const char *v);
	void (*bind_null)(struct q_stmt *st, int i);
	/* Bind a LIMIT: n > 0 rows, else no limit. */
	void (*bind_limit)(struct q_stmt *st, int i, int64_t n);
	int (*step)(struct q_stmt *st);
	/* Columns of the current row count from 0. */
	int64_t (*col_int64)(struct q_stmt *st, int i);
	double (*col_double)(struct q_stmt *st, int i);
	const char *(*col_text)(struct q_stmt *st, int i); /* NULL if NULL */
	int (*col_null)(struct q_stmt *st, int i);
	/* The shape of a result (after a step gave a row), for copying any
	 * table: how many columns, their names, and each value's type. */
	int (*col_count)(struct q_stmt *st);
	const char *(*col_name)(struct q_stmt *st, int i);
	int (*col_type)(struct q_stmt *st, int i); /* Q_INT, Q_FLOAT, Q_TEXT, Q_NULL */
	/* Rows changed by the last statement of the calling thread. */
	int64_t (*changes)(struct bia_instance *inst);
	/* The last error of the calling thread's connection, and whether it
	 * was a lock timeout, deadlock or serialization failure. */
	const char *(*errmsg)(struct bia_instance *inst);
	int (*busy)(struct bia_instance *inst);
	/* Run SQL text without parameters (may hold several statements). */
	int (*exec)(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql);
	/* Transactions of the calling thread's connection; they nest. */
	int (*begin)(struct bia_ctx *ctx, struct bia_instance *inst);
	int (*commit)(struct bia_ctx *ctx, struct bia_instance *inst);
	void (*rollback)(struct bia_instance *inst);
	/* The schema version recorded in the database, and setting it
	 * (inside the migration's transaction). */
	int (*get_version)(struct bia_ctx *ctx, struct bia_instance *inst, int *pver);
	int (*set_version)(struct bia_ctx *ctx, struct bia_instance *inst, int ver);
};

#define Q_DRV(inst) (*(const struct q_driver *const *)(inst)->db)

static inline void q_bind_int64(struct q_stmt *st, int i, int64_t v)
{
	st->drv->bind_int64(st, i, v);
}
static inline void q_bind_double(struct q_stmt *st, int i, double v)
{
	st->drv->bind_double(st, i, v);
}
static inline void q_bind_text(struct q_stmt *st, int i, const char *v)
{
	st->drv->bind_text(st, i, v);
}
static inline void q_bind_null(struct q_stmt *st, int i)
{
	st->drv->bind_null(st, i);
}
static inline void q_bind_limit(struct q_stmt *st, int i, int64_t n)
{
	st->drv->bind_limit(st, i, n);
}
static inline int q_step(struct q_stmt *st)
{
	return st->drv->step(st);
}
static inline void q_reset(struct q_stmt *st)
{
	st->drv->reset(st);
}
static inline int64_t q_col_int64(struct q_stmt *st, int i)
{
	return st->drv->col_int64(st, i);
}
static inline double q_col_double(struct q_stmt *st, int i)
{
	return st->drv->col_double(st, i);
}
static inline const char *q_col_text(struct q_stmt *st, int i)
{
	return st->drv->col_text(st, i);
}
static inline int q_col_null(struct q_stmt *st, int i)
{
	return st->drv->col_null(st, i);
}
static inline int64_t q_changes(struct bia_instance *inst)
{
	return Q_DRV(inst)->changes(inst);
}

/* The migrations of the one schema description, as SQL of a dialect
 * (malloc'd; NULL when out of memory); how many there are. */
char *bia__sql_migration(int pg, int i);
int bia__sql_migrations(void);
/* Apply the missing migrations (each in its own transaction). */
int bia__sql_migrate(struct bia_ctx *ctx, struct bia_instance *inst);


#endif
