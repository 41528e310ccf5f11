/* migrate-store: copy every row of an instance's store to another back end
 * (SQLite <-> PostgreSQL), compare every row of every table, check the
 * blobs the rows name, then switch the instance's config to the new store.
 * The old store is left as it was.
 * SPDX-License-Identifier: MIT */
#include "store/sqldb.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every table of the schema, parents before children (foreign keys). The
 * last three are made by migrations or kept by triggers while the others are
 * copied: their rows are
 * replaced by the source's at the end. A table not listed here makes the
 * copy refuse (a migration added it: list it). */
static const char *const tables[] = {
	"problems",	    "blobs",		   "images",		"gt_versions",
	"gt_files",	    "workflows",	   "workflow_versions", "workflow_files",
	"runs",		    "run_outputs",	   "run_output_files",	"run_scores",
	"run_reruns",	    "run_objects",	   "run_errors",	"run_score_history",
	"run_output_warnings", "run_jobs",	   "run_events",	"run_summaries",
	"users",	    "tokens",		   "problem_private",	"problem_members",
	"workflow_sources", "workflow_source_tags", "run_origins",
	/* made by the migrations (the instance's id) or kept by triggers:
	 * TRIGGER_KEPT, last */
	"instance_meta",    "problem_counts",	   "id_marks",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))
#define TRIGGER_KEPT 3 /* the last ones */

/* Tables whose order of rows is their SQLite rowid (a column in PostgreSQL). */
static int has_rowid(const char *t)
{
	return !strcmp(t, "run_scores") || !strcmp(t, "run_objects");
}

static int known_table(const char *t)
{
	for (size_t i = 0; i < NTABLES; i++)
		if (!strcmp(tables[i], t))
			return 1;
	return !strcmp(t, "schema_version") || !strncmp(t, "sqlite_", 7);
}

/* The store's tables are the ones we know (nothing would be left behind). */
static int check_tables(struct bia_ctx *ctx, struct bia_instance *inst)
{
	const struct q_driver *d = Q_DRV(inst);
	struct q_stmt *st;
	if (d->prepare(ctx, inst,
		       d->pg ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
			     : "SELECT name FROM sqlite_master WHERE type = 'table'",
		       &st))
		return ctx->rc;
	int r, rc = 0;
	while ((r = q_step(st)) == Q_ROW) {
		const char *t = q_col_text(st, 0);
		if (t && !known_table(t)) {
			rc = bia_fail(ctx, BIA_EUNSUPPORTED,
				      "table '%s' is unknown to migrate-store (nothing copied)", t);
			break;
		}
	}
	if (!rc && r != Q_DONE)
		rc = bia_fail(ctx, BIA_EDB, "database: list tables: %s", d->errmsg(inst));
	d->fin(inst, st);
	return rc;
}

/* "SELECT <cols> FROM t": the columns of the source's rows (cols NULL: all
 * of them, with SQLite's rowid where it orders rows). */
static char *select_sql(int pg, const char *t, const char *cols)
{
	size_t n = strlen(t) + (cols ? strlen(cols) : 0) + 64;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "SELECT %s%s FROM %s", cols ? cols : !pg && has_rowid(t) ? "rowid, " : "",
			 cols ? "" : "*", t);
	return s;
}

/* The comma-separated column names of a row (malloc'd). */
static char *column_list(struct q_stmt *st)
{
	int n = st->drv->col_count(st);
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(st->drv->col_name(st, i)) + 2;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, st->drv->col_name(st, i));
	}
	return s;
}

static int copy_table(struct bia_ctx *ctx, struct bia_instance *src, struct bia_instance *dst,
		      const char *t, char **pcols, size_t *prows)
{
	const struct q_driver *sd = Q_DRV(src), *dd = Q_DRV(dst);
	struct q_stmt *st = NULL, *ins = NULL;
	char *sql = select_sql(sd->pg, t, NULL), *isql = NULL;
	*pcols = NULL;
	*prows = 0;
	if (!sql)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	int rc = sd->prepare(ctx, src, sql, &st);
	free(sql);
	if (rc)
		return rc;
	int r, ncol = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		if (!ins) {
			ncol = sd->col_count(st);
			if (!(*pcols = column_list(st))) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			size_t n = strlen(t) + strlen(*pcols) + (size_t)ncol * 2 + 64;
			if (!(isql = malloc(n))) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			int k = snprintf(isql, n, "INSERT INTO %s(%s) VALUES (", t, *pcols);
			for (int i = 0; i < ncol; i++)
				k += snprintf(isql + k, n - (size_t)k, i ? ", ?" : "?");
			snprintf(isql + k, n - (size_t)k, ")");
			if ((rc = dd->prepare(ctx, dst, isql, &ins)))
				break;
		} else {
			q_reset(ins);
		}
		for (int i = 0; i < ncol; i++) {
			switch (sd->col_type(st, i)) {
			case Q_INT:
				q_bind_int64(ins, i + 1, q_col_int64(st, i));
				break;
			case Q_FLOAT:
				q_bind_double(ins, i + 1, q_col_double(st, i));
				break;
			case Q_NULL:
				q_bind_null(ins, i + 1);
				break;
			default:
				q_bind_text(ins, i + 1, q_col_text(st, i));
			}
		}
		int w = q_step(ins);
		if (w != Q_DONE)
			rc = bia_fail(ctx, BIA_EDB, "copy of table %s: %s", t, dd->errmsg(dst));
		(*prows)++;
	}
	if (!rc && r != Q_DONE)
		rc = bia_fail(ctx, BIA_EDB, "read table %s: %s", t, sd->errmsg(src));
	if (ins)
		dd->fin(dst, ins);
	sd->fin(src, st);
	free(isql);
	return rc;
}

/* A row as bytes that do not depend on the back end: each value's type and
 * value (doubles to 17 digits). */
static void row_digest(struct q_stmt *st, unsigned char out[32])
{
	struct bia_sha256 h;
	bia_sha256_init(&h);
	int n = st->drv->col_count(st);
	for (int i = 0; i < n; i++) {
		char buf[64];
		int ty = st->drv->col_type(st, i);
		if (ty == Q_INT) {
			snprintf(buf, sizeof(buf), "I%lld;", (long long)q_col_int64(st, i));
			bia_sha256_update(&h, buf, strlen(buf));
		} else if (ty == Q_FLOAT) {
			snprintf(buf, sizeof(buf), "F%.17g;", q_col_double(st, i));
			bia_sha256_update(&h, buf, strlen(buf));
		} else if (ty == Q_NULL) {
			bia_sha256_update(&h, "N;", 2);
		} else {
			const char *s = q_col_text(st, i);
			size_t l = strlen(s);
			snprintf(buf, sizeof(buf), "T%zu:", l);
			bia_sha256_update(&h, buf, strlen(buf));
			bia_sha256_update(&h, s, l);
		}
	}
	char hex[BIA_SHA256_HEX];
	bia_sha256_final(&h, hex);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The sorted digests of every row of `cols` of table t. */
static int table_digests(struct bia_ctx *ctx, struct bia_instance *inst, const char *t,
			 const char *cols, unsigned char **pv, size_t *pn)
{
	const struct q_driver *d = Q_DRV(inst);
	char *sql = select_sql(d->pg, t, cols);
	struct q_stmt *st;
	*pv = NULL;
	*pn = 0;
	if (!sql)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	int rc = d->prepare(ctx, inst, sql, &st);
	free(sql);
	if (rc)
		return rc;
	size_t n = 0, cap = 0;
	unsigned char *v = NULL;
	int r;
	while ((r = q_step(st)) == Q_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			unsigned char *nv = realloc(v, cap * 32);
			if (!nv) {
				free(v);
				d->fin(inst, st);
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
			v = nv;
		}
		row_digest(st, v + n * 32);
		n++;
	}
	d->fin(inst, st);
	if (r != Q_DONE) {
		free(v);
		return bia_fail(ctx, BIA_EDB, "read table %s: %s", t, d->errmsg(inst));
	}
	if (n)
		qsort(v, n, 32, cmp32);
	*pv = v;
	*pn = n;
	return 0;
}

static int count_table(struct bia_ctx *ctx, struct bia_instance *inst, const char *t,
		       int64_t *pn)
{
	char sql[128];
	struct q_stmt *st;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t);
	if (Q_DRV(inst)->prepare(ctx, inst, sql, &st))
		return ctx->rc;
	int r = q_step(st);
	*pn = r == Q_ROW ? q_col_int64(st, 0) : -1;
	Q_DRV(inst)->fin(inst, st);
	return r == Q_ROW ? 0 : bia_fail(ctx, BIA_EDB, "count table %s", t);
}

/* Every row of t in both stores, compared as sorted row digests. */
static int compare_table(struct bia_ctx *ctx, struct bia_instance *src, struct bia_instance *dst,
			 const char *t, const char *cols)
{
	if (!cols) { /* the source had no row */
		int64_t n;
		if (count_table(ctx, dst, t, &n))
			return ctx->rc;
		return n ? bia_fail(ctx, BIA_ECORRUPT,
				    "table %s: the copy has %lld rows, the store none", t,
				    (long long)n)
			 : 0;
	}
	unsigned char *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int rc = table_digests(ctx, src, t, cols, &a, &na);
	if (!rc)
		rc = table_digests(ctx, dst, t, cols, &b, &nb);
	if (!rc && na != nb)
		rc = bia_fail(ctx, BIA_ECORRUPT, "table %s: %zu rows in the store, %zu in the copy",
			      t, na, nb);
	if (!rc && na && memcmp(a, b, na * 32))
		rc = bia_fail(ctx, BIA_ECORRUPT, "table %s: rows differ after the copy", t);
	free(a);
	free(b);
	return rc;
}

/* PostgreSQL: identities continue after the ids copied (and after the
 * highest id ever given, id_marks), so no id is given twice. */
static int advance_identities(struct bia_ctx *ctx, struct bia_instance *dst)
{
	const struct q_driver *d = Q_DRV(dst);
	struct q_stmt *st;
	if (d->prepare(ctx, dst,
		       "SELECT table_name, column_name FROM information_schema.columns WHERE "
		       "table_schema = current_schema() AND is_identity = 'YES'",
		       &st))
		return ctx->rc;
	char names[64][2][64];
	size_t n = 0;
	int r;
	while ((r = q_step(st)) == Q_ROW && n < 64) {
		snprintf(names[n][0], sizeof(names[n][0]), "%s", q_col_text(st, 0));
		snprintf(names[n][1], sizeof(names[n][1]), "%s", q_col_text(st, 1));
		n++;
	}
	d->fin(dst, st);
	for (size_t i = 0; i < n; i++) {
		char sql[512];
		snprintf(sql, sizeof(sql),
			 "SELECT setval(pg_get_serial_sequence('%s', '%s'), GREATEST(v, 1), v > 0) "
			 "FROM (SELECT GREATEST((SELECT coalesce(max(%s), 0) FROM %s), "
			 "(SELECT coalesce(max(last), 0) FROM id_marks WHERE kind = '%s')) AS v) x",
			 names[i][0], names[i][1], names[i][1], names[i][0], names[i][0]);
		if (d->exec(ctx, dst, sql))
			return ctx->rc;
	}
	return 0;
}

/* Every blob a row names is present with its digest. */
static int check_blobs(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn)
{
	char (*dg)[BIA_SHA256_HEX] = NULL;
	size_t n = 0;
	*pn = 0;
	if (bia_store_blob_refs(ctx, inst, &dg, &n))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		char p[BIA_PATH_MAX], hex[BIA_SHA256_HEX];
		if (bia_blob_path(inst, dg[i], p, sizeof(p)) || bia_sha256_file(ctx, p, hex, NULL)) {
			rc = bia_fail(ctx, BIA_ECORRUPT, "blob %s: missing or unreadable", dg[i]);
			break;
		}
		if (strcmp(hex, dg[i]))
			rc = bia_fail(ctx, BIA_ECORRUPT, "blob %s: its content has digest %s (run fsck)",
				      dg[i], hex);
		(*pn)++;
	}
	free(dg);
	return rc;
}

/* The target: a new PostgreSQL schema, or an SQLite file that does not
 * exist yet (or is empty). *out: the URL to record. */
static int make_target(struct bia_ctx *ctx, struct bia_instance *inst, const char *url,
		       char *out, size_t outsz)
{
	if (!strcmp(url, "sqlite"))
		url = "sqlite:biaflows.db";
	const char *location;
	const struct bia_store_ops *be = bia__store_backend(ctx, url, &location);
	if (!be)
		return ctx->rc;
	if (be == inst->backend && !strcmp(url, bia_json_str(inst->config, "store", "")))
		return bia_fail(ctx, BIA_EINVAL, "the instance's store is already %s", url);
	if (be->create)
		return be->create(ctx, location, out, outsz);
	char p[BIA_PATH_MAX];
	struct stat sb;
	if (!location[0])
		return bia_fail(ctx, BIA_EINVAL, "store 'sqlite:' needs a file name");
	snprintf(p, sizeof(p), location[0] == '/' ? "%s" : "%s/%s",
		 location[0] == '/' ? location : inst->root, location);
	if (stat(p, &sb) == 0 && sb.st_size > 0)
		return bia_fail(ctx, BIA_EEXIST,
				"'%s' exists and is not empty (name another file: --to sqlite:FILE)", p);
	snprintf(out, outsz, "%s", url);
	return 0;
}

int bia_store_migrate(struct bia_ctx *ctx, struct bia_instance *inst, const char *to_url,
		      struct bia_store_migration *rep)
{
	memset(rep, 0, sizeof(*rep));
	snprintf(rep->from, sizeof(rep->from), "%s", bia_json_str(inst->config, "store", "sqlite"));
	if (check_tables(ctx, inst))
		return ctx->rc;
	/* a run being executed would go on writing to the old store */
	int64_t active = 0;
	static const char *const busy[] = {"running", "ingesting"};
	for (size_t i = 0; i < 2; i++) {
		struct bia_run_filter f = {.status = busy[i]};
		struct bia_run *v;
		size_t n;
		int64_t total;
		if (bia_store_run_list(ctx, inst, &f, (struct bia_page){1, 0}, &v, &n, &total))
			return ctx->rc;
		bia_run_list_free(v, n);
		active += total;
	}
	if (active)
		return bia_fail(ctx, BIA_EBUSY,
				"runs are being executed: stop the workers and servers of the "
				"instance first");
	if (make_target(ctx, inst, to_url, rep->to, sizeof(rep->to)))
		return ctx->rc;
	const char *location;
	const struct bia_store_ops *be = bia__store_backend(ctx, rep->to, &location);
	if (!be)
		return ctx->rc;
	struct bia_instance dst;
	memset(&dst, 0, sizeof(dst));
	dst.lock_fd = -1;
	snprintf(dst.root, sizeof(dst.root), "%s", inst->root);
	dst.backend = be;
	if (be->open(ctx, &dst, location))
		return ctx->rc;
	int sv = 0, dv = 0;
	if (bia_store_schema_version(ctx, inst, &sv) || bia_store_schema_version(ctx, &dst, &dv))
		goto fail;
	if (sv != dv) {
		bia_fail(ctx, BIA_EUNSUPPORTED, "schema versions differ: %d and %d", sv, dv);
		goto fail;
	}
	char *cols[NTABLES] = {0};
	/* one snapshot of the source (SQLite: writers wait; PostgreSQL: a
	 * repeatable read) and one transaction on the target */
	if (Q_DRV(inst)->begin(ctx, inst))
		goto fail;
	if (Q_DRV(inst)->pg &&
	    Q_DRV(inst)->exec(ctx, inst, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
		goto fail_src;
	if (Q_DRV(&dst)->begin(ctx, &dst))
		goto fail_src;
	for (size_t i = 0; i < NTABLES; i++) {
		size_t rows;
		if (i >= NTABLES - TRIGGER_KEPT) {
			char sql[64];
			snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[i]);
			if (Q_DRV(&dst)->exec(ctx, &dst, sql))
				goto fail_both;
		}
		if (copy_table(ctx, inst, &dst, tables[i], &cols[i], &rows)) {
			free(cols[i]);
			cols[i] = NULL;
			goto fail_both;
		}
		rep->rows += rows;
		rep->tables++;
	}
	if (Q_DRV(&dst)->pg && advance_identities(ctx, &dst))
		goto fail_both;
	if (Q_DRV(&dst)->commit(ctx, &dst))
		goto fail_both;
	/* compare in the source's snapshot, the copy committed */
	for (size_t i = 0; i < NTABLES; i++)
		if (compare_table(ctx, inst, &dst, tables[i], cols[i]))
			goto fail_src;
	Q_DRV(inst)->rollback(inst);
	for (size_t i = 0; i < NTABLES; i++)
		free(cols[i]);
	if (check_blobs(ctx, &dst, &rep->blobs_checked))
		goto fail;
	be->close(&dst);
	/* switch: the config names the new store (written to a temp file and
	 * renamed: a crash leaves the old or the new one) */
	json_t *cfg = json_deep_copy(inst->config);
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/config", inst->root);
	int rc = !cfg ? bia_fail(ctx, BIA_ENOMEM, "out of memory")
		      : json_object_set_new(cfg, "store", json_string(rep->to))
			? bia_fail(ctx, BIA_ENOMEM, "out of memory")
			: bia_json_save_file(ctx, p, cfg);
	json_decref(cfg);
	return rc;
fail_both:
	Q_DRV(&dst)->rollback(&dst);
fail_src:
	Q_DRV(inst)->rollback(inst);
	for (size_t i = 0; i < NTABLES; i++)
		free(cols[i]);
fail:
	be->close(&dst);
	return bia_fail_prefix(ctx, "migrate-store to %s (the instance still uses %s)", rep->to,
			       rep->from);
}
