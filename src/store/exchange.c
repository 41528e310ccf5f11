/* Exchange between instances, the store's part (docs/exchange.md): the rows
 * of a selection as records (JSON objects that name each other by
 * bundle-local refs, never by ids), and records written back as rows of
 * another instance in one transaction, with ids mapped and content that is
 * already present recognised and skipped.
 * SPDX-License-Identifier: MIT */
#include "store/sqldb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------- id <-> ref maps */

/* int64 -> int64, open addressing (keys are never 0). */
struct imap {
	int64_t *k, *v;
	size_t cap, n;
};

static size_t imap_slot(const struct imap *m, int64_t key)
{
	uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 17) & (m->cap - 1);
	while (m->k[i] && m->k[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int imap_put(struct imap *m, int64_t key, int64_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct imap g = {0};
		g.cap = m->cap ? m->cap * 2 : 64;
		g.k = calloc(g.cap, sizeof(int64_t));
		g.v = calloc(g.cap, sizeof(int64_t));
		if (!g.k || !g.v) {
			free(g.k);
			free(g.v);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->k[i]) {
				size_t s = imap_slot(&g, m->k[i]);
				g.k[s] = m->k[i];
				g.v[s] = m->v[i];
				g.n++;
			}
		free(m->k);
		free(m->v);
		*m = g;
	}
	size_t s = imap_slot(m, key);
	if (!m->k[s])
		m->n++;
	m->k[s] = key;
	m->v[s] = val;
	return 0;
}

/* The value of key, 0 if absent. */
static int64_t imap_get(const struct imap *m, int64_t key)
{
	if (!m->cap || !key)
		return 0;
	size_t s = imap_slot(m, key);
	return m->k[s] ? m->v[s] : 0;
}

static void imap_free(struct imap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ statements */

static int xprep(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		 struct q_stmt **st)
{
	return Q_DRV(inst)->prepare(ctx, inst, sql, st);
}

static void xfin(struct bia_instance *inst, struct q_stmt *st)
{
	if (st)
		st->drv->fin(inst, st);
}

static int xdb_fail(struct bia_ctx *ctx, struct bia_instance *inst, const char *what)
{
	const struct q_driver *d = Q_DRV(inst);
	return bia_fail(ctx, d->busy(inst) ? BIA_EBUSY : BIA_EDB, "database: %s: %s", what,
			d->errmsg(inst));
}

static json_t *col_str(struct q_stmt *st, int i)
{
	const char *s = q_col_text(st, i);
	return json_string(s ? s : "");
}

static json_t *col_int(struct q_stmt *st, int i)
{
	return q_col_null(st, i) ? json_null() : json_integer(q_col_int64(st, i));
}

static json_t *col_real(struct q_stmt *st, int i)
{
	return q_col_null(st, i) ? json_null() : json_real(q_col_double(st, i));
}

/* Step a statement that returns no row (or RETURNING one) and finalise it. */
static int step_done(struct bia_ctx *ctx, struct bia_instance *inst, struct q_stmt *st,
		     const char *what)
{
	int r = q_step(st);
	xfin(inst, st);
	return r == Q_DONE || r == Q_ROW ? 0 : xdb_fail(ctx, inst, what);
}

static int step_id(struct bia_ctx *ctx, struct bia_instance *inst, struct q_stmt *st,
		   const char *what, int64_t *pid)
{
	int r = q_step(st);
	if (r == Q_ROW)
		*pid = q_col_int64(st, 0);
	xfin(inst, st);
	return r == Q_ROW ? 0 : xdb_fail(ctx, inst, what);
}

int bia_store_instance_id(struct bia_ctx *ctx, struct bia_instance *inst, char *out,
			  size_t outsz)
{
	struct q_stmt *st;
	if (xprep(ctx, inst, "SELECT value FROM instance_meta WHERE key = 'id'", &st))
		return ctx->rc;
	int r = q_step(st);
	if (r == Q_ROW)
		snprintf(out, outsz, "%s", q_col_text(st, 0) ? q_col_text(st, 0) : "");
	xfin(inst, st);
	if (r != Q_ROW)
		return r == Q_DONE ? bia_fail(ctx, BIA_ECORRUPT, "the store has no instance id")
				   : xdb_fail(ctx, inst, "read the instance id");
	return 0;
}

int bia_store_run_origin(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 char *out, size_t outsz)
{
	struct q_stmt *st;
	if (xprep(ctx, inst, "SELECT origin FROM run_origins WHERE run_id = ?", &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	int r = q_step(st);
	if (r == Q_ROW)
		snprintf(out, outsz, "%s", q_col_text(st, 0) ? q_col_text(st, 0) : "");
	xfin(inst, st);
	if (r == Q_ROW)
		return 0;
	return r == Q_DONE ? bia_fail(ctx, BIA_ENOENT, "run %lld was not imported", (long long)run_id)
			   : xdb_fail(ctx, inst, "read a run's origin");
}

/* ----------------------------------------------------------------- export */


struct xport {
	struct bia_ctx *ctx;
	struct bia_instance *inst;
	bia_xemit_fn emit;
	void *arg;
	struct imap problems, images, gts, wfs, runs; /* local id -> ref */
	int64_t nref[5];
	char *pids; /* "1,2,3": the selected problems, for IN lists */
};

enum { R_PROBLEM, R_IMAGE, R_GT, R_WF, R_RUN };

static int64_t new_ref(struct xport *x, struct imap *m, int kind, int64_t id)
{
	int64_t ref = ++x->nref[kind];
	if (imap_put(m, id, ref))
		return 0;
	return ref;
}

static int emit(struct xport *x, const char *kind, int64_t id, json_t *rec)
{
	if (!rec)
		return bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
	int rc = x->emit(x->ctx, x->arg, kind, id, rec);
	json_decref(rec);
	return rc;
}

static json_t *size5(struct q_stmt *st, int first)
{
	json_t *a = json_array();
	for (int i = 0; i < 5; i++)
		json_array_append_new(a, json_integer(q_col_int64(st, first + i)));
	return a;
}

static int export_problems(struct xport *x, const struct bia_xsel *sel)
{
	struct bia_instance *inst = x->inst;
	struct q_stmt *st;
	if (xprep(x->ctx, inst,
		  "SELECT p.id, p.name, p.class, p.description, p.main_metric, p.params, "
		  "p.created_at, EXISTS (SELECT 1 FROM problem_private x WHERE x.problem_id = p.id) "
		  "FROM problems p ORDER BY p.name",
		  &st))
		return x->ctx->rc;
	struct bia_buf ids;
	bia_buf_init(&ids, SIZE_MAX);
	int r, rc = 0, found = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		int want = !sel->nproblems;
		for (size_t i = 0; i < sel->nproblems; i++)
			want |= sel->problems[i] == id;
		if (!want)
			continue;
		int64_t ref = new_ref(x, &x->problems, R_PROBLEM, id);
		if (!ref) {
			rc = bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		bia_buf_addf(&ids, "%s%lld", found++ ? "," : "", (long long)id);
		rc = emit(x, "problem", id,
			  json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "ref", (json_int_t)ref,
				    "name", col_str(st, 1), "class", col_str(st, 2), "description",
				    col_str(st, 3), "main_metric", col_str(st, 4), "params",
				    col_str(st, 5), "created", col_str(st, 6), "private",
				    (int)q_col_int64(st, 7)));
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, inst, "read problems");
	xfin(inst, st);
	if (!rc && !found)
		bia_buf_addf(&ids, "0");
	if (!rc && !(x->pids = bia_buf_detach(&ids, NULL)))
		rc = bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
	bia_buf_release(&ids);
	return rc;
}

/* SQL text with the selected problems' ids put in for %s (malloc'd). */
static char *with_ids(const struct xport *x, const char *fmt)
{
	size_t n = strlen(fmt) + strlen(x->pids) * 2 + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, fmt, x->pids, x->pids);
	return s;
}

static int prep_ids(struct xport *x, const char *fmt, struct q_stmt **st)
{
	char *sql = with_ids(x, fmt);
	if (!sql)
		return bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
	int rc = xprep(x->ctx, x->inst, sql, st);
	free(sql);
	return rc;
}

static int export_images(struct xport *x)
{
	struct q_stmt *st;
	if (prep_ids(x,
		     "SELECT i.id, i.problem_id, i.stem, i.original_name, i.digest, i.bytes, i.format, "
		     "i.layout, i.size_x, i.size_y, i.size_z, i.size_c, i.size_t, i.dtype, i.phys_x, "
		     "i.phys_y, i.phys_z, i.created_at FROM images i JOIN problems p ON "
		     "p.id = i.problem_id WHERE i.problem_id IN (%s) ORDER BY p.name, i.stem",
		     &st))
		return x->ctx->rc;
	int r, rc = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		int64_t ref = new_ref(x, &x->images, R_IMAGE, id);
		if (!ref) {
			rc = bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		json_t *phys = json_pack("[o,o,o]", col_real(st, 14), col_real(st, 15),
					 col_real(st, 16));
		rc = emit(x, "image", id,
			  json_pack("{s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
				    "ref", (json_int_t)ref, "problem",
				    (json_int_t)imap_get(&x->problems, q_col_int64(st, 1)), "stem",
				    col_str(st, 2), "original_name", col_str(st, 3), "digest",
				    col_str(st, 4), "bytes", (json_int_t)q_col_int64(st, 5), "format",
				    col_str(st, 6), "layout", col_str(st, 7), "size", size5(st, 8),
				    "dtype", col_str(st, 13), "phys", phys, "created",
				    col_str(st, 17)));
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, x->inst, "read images");
	xfin(x->inst, st);
	return rc;
}

static int export_gts(struct xport *x)
{
	struct q_stmt *st, *fs;
	if (prep_ids(x,
		     "SELECT g.id, g.image_id, g.annotator, g.is_current, g.created_at FROM gt_versions g "
		     "JOIN images i ON i.id = g.image_id JOIN problems p ON p.id = i.problem_id "
		     "WHERE i.problem_id IN (%s) ORDER BY p.name, i.stem, g.id",
		     &st))
		return x->ctx->rc;
	if (xprep(x->ctx, x->inst,
		  "SELECT name, kind, digest, bytes, size_x, size_y, size_z, size_c, size_t, dtype "
		  "FROM gt_files WHERE version_id = ? ORDER BY id",
		  &fs)) {
		xfin(x->inst, st);
		return x->ctx->rc;
	}
	int r, rc = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		int64_t ref = new_ref(x, &x->gts, R_GT, id);
		json_t *files = json_array();
		q_reset(fs);
		q_bind_int64(fs, 1, id);
		int f;
		while ((f = q_step(fs)) == Q_ROW)
			json_array_append_new(
				files, json_pack("{s:o, s:o, s:o, s:I, s:o, s:o}", "name", col_str(fs, 0),
						 "kind", col_str(fs, 1), "digest", col_str(fs, 2), "bytes",
						 (json_int_t)q_col_int64(fs, 3), "size", size5(fs, 4),
						 "dtype", col_str(fs, 9)));
		if (f != Q_DONE || !ref) {
			json_decref(files);
			rc = !ref ? bia_fail(x->ctx, BIA_ENOMEM, "out of memory")
				  : xdb_fail(x->ctx, x->inst, "read GT files");
			break;
		}
		rc = emit(x, "gt", id,
			  json_pack("{s:I, s:I, s:o, s:b, s:o, s:o}", "ref", (json_int_t)ref, "image",
				    (json_int_t)imap_get(&x->images, q_col_int64(st, 1)), "annotator",
				    col_str(st, 2), "current", (int)q_col_int64(st, 3), "created",
				    col_str(st, 4), "files", files));
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, x->inst, "read GT versions");
	xfin(x->inst, fs);
	xfin(x->inst, st);
	return rc;
}

static int export_workflows(struct xport *x, const struct bia_xsel *sel)
{
	/* every version (--with-workflows and no problem named), else the
	 * versions of the problems' class and those their runs used */
	const char *cond =
		sel->workflows && !sel->nproblems ? "1 = 1"
		: sel->workflows
			? "v.problem_class IN (SELECT class FROM problems WHERE id IN (%s)) OR v.id IN "
			  "(SELECT workflow_version_id FROM runs WHERE problem_id IN (%s) AND status IN "
			  "('succeeded','failed','cancelled','timed_out'))"
		: sel->runs ? "v.id IN (SELECT workflow_version_id FROM runs WHERE problem_id IN (%s) "
			      "AND status IN ('succeeded','failed','cancelled','timed_out'))"
			    : NULL;
	if (!cond)
		return 0;
	char fmt[1024];
	snprintf(fmt, sizeof(fmt),
		 "SELECT v.id, w.name, w.created_at, v.version, v.digest, v.descriptor, "
		 "v.problem_class, v.source, v.created_at FROM workflow_versions v JOIN workflows w "
		 "ON w.id = v.workflow_id WHERE %s ORDER BY w.name, v.id",
		 cond);
	struct q_stmt *st, *fs;
	if (prep_ids(x, fmt, &st))
		return x->ctx->rc;
	if (xprep(x->ctx, x->inst,
		  "SELECT path, digest, bytes, mode FROM workflow_files WHERE version_id = ? "
		  "ORDER BY path",
		  &fs)) {
		xfin(x->inst, st);
		return x->ctx->rc;
	}
	int r, rc = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		int64_t ref = new_ref(x, &x->wfs, R_WF, id);
		json_t *files = json_array();
		q_reset(fs);
		q_bind_int64(fs, 1, id);
		int f;
		while ((f = q_step(fs)) == Q_ROW)
			json_array_append_new(files, json_pack("{s:o, s:o, s:I, s:I}", "path",
							       col_str(fs, 0), "digest", col_str(fs, 1),
							       "bytes", (json_int_t)q_col_int64(fs, 2),
							       "mode", (json_int_t)q_col_int64(fs, 3)));
		if (f != Q_DONE || !ref) {
			json_decref(files);
			rc = !ref ? bia_fail(x->ctx, BIA_ENOMEM, "out of memory")
				  : xdb_fail(x->ctx, x->inst, "read workflow files");
			break;
		}
		rc = emit(x, "workflow", id,
			  json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ref",
				    (json_int_t)ref, "name", col_str(st, 1), "workflow_created",
				    col_str(st, 2), "version", col_str(st, 3), "digest", col_str(st, 4),
				    "descriptor", col_str(st, 5), "problem_class", col_str(st, 6),
				    "source", col_str(st, 7), "created", col_str(st, 8), "files", files));
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, x->inst, "read workflow versions");
	xfin(x->inst, fs);
	xfin(x->inst, st);
	return rc;
}

/* A JSON array of image ids as refs (images outside the export left out). */
static json_t *image_refs(struct xport *x, const char *text)
{
	json_t *a = json_array(), *v = json_loads(text ? text : "[]", 0, NULL);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		int64_t ref = json_is_integer(e) ? imap_get(&x->images, json_integer_value(e)) : 0;
		if (ref)
			json_array_append_new(a, json_integer(ref));
	}
	json_decref(v);
	return a;
}

static int run_events(struct xport *x, int64_t id, json_t **pev)
{
	struct q_stmt *st;
	*pev = NULL;
	if (xprep(x->ctx, x->inst,
		  "SELECT state, reason, at FROM run_events WHERE run_id = ? ORDER BY id", &st))
		return x->ctx->rc;
	q_bind_int64(st, 1, id);
	json_t *ev = json_array();
	int r;
	while ((r = q_step(st)) == Q_ROW)
		json_array_append_new(ev, json_pack("{s:o, s:o, s:o}", "state", col_str(st, 0),
						    "reason", col_str(st, 1), "at", col_str(st, 2)));
	xfin(x->inst, st);
	if (r != Q_DONE) {
		json_decref(ev);
		return xdb_fail(x->ctx, x->inst, "read run events");
	}
	*pev = ev;
	return 0;
}

/* Rows of one query of (run, image) as an array of objects: each column
 * by the name given (NULL names a column skipped); "#" marks a GT version
 * id to map, "=" a real, "+" an integer, else text. */
static int rows_array(struct xport *x, struct q_stmt *st, const char *const *names, int n,
		      json_t **pout)
{
	json_t *a = json_array();
	int r;
	while ((r = q_step(st)) == Q_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < n; i++) {
			const char *nm = names[i];
			json_t *v;
			if (nm[0] == '#') {
				int64_t g = imap_get(&x->gts, q_col_int64(st, i));
				v = g ? json_integer(g) : json_null();
			} else if (nm[0] == '=') {
				v = col_real(st, i);
			} else if (nm[0] == '+') {
				v = col_int(st, i);
			} else {
				v = col_str(st, i);
			}
			json_object_set_new(o, nm[0] == '#' || nm[0] == '=' || nm[0] == '+' ? nm + 1 : nm,
					    v);
		}
		json_array_append_new(a, o);
	}
	if (r != Q_DONE) {
		json_decref(a);
		return xdb_fail(x->ctx, x->inst, "read run results");
	}
	*pout = a;
	return 0;
}

/* What a run has for each image: outputs, scores (current and history),
 * error maps. */
static int export_run_images(struct xport *x, int64_t run_id, int64_t run_ref)
{
	struct bia_instance *inst = x->inst;
	struct q_stmt *st;
	if (xprep(x->ctx, inst,
		  "SELECT i.id, o.status, o.reason, w.warnings, o.run_id IS NOT NULL FROM images i "
		  "LEFT JOIN run_outputs o ON o.run_id = ?1 AND o.image_id = i.id "
		  "LEFT JOIN run_output_warnings w ON w.run_id = ?1 AND w.image_id = i.id "
		  "WHERE i.id IN (SELECT image_id FROM run_outputs WHERE run_id = ?1 UNION "
		  "SELECT image_id FROM run_scores WHERE run_id = ?1 UNION "
		  "SELECT image_id FROM run_score_history WHERE run_id = ?1 UNION "
		  "SELECT image_id FROM run_errors WHERE run_id = ?1) ORDER BY i.stem",
		  &st))
		return x->ctx->rc;
	q_bind_int64(st, 1, run_id);
	static const struct {
		const char *sql;
		const char *key;
		const char *names[8];
		int n;
	} parts[] = {
		{"SELECT name, digest, bytes FROM run_output_files WHERE run_id = ? AND image_id = ? "
		 "ORDER BY name",
		 "files", {"name", "digest", "+bytes"}, 3},
		{"SELECT metric, value, value_text, gt_version_id, metrics_version FROM run_scores "
		 "WHERE run_id = ? AND image_id = ? ORDER BY rowid",
		 "scores", {"metric", "=value", "text", "#gt", "metrics_version"}, 5},
		{"SELECT metric, value, value_text, gt_version_id, metrics_version, superseded_at "
		 "FROM run_score_history WHERE run_id = ? AND image_id = ? ORDER BY superseded_at, "
		 "metric, metrics_version, gt_version_id, value_text",
		 "history",
		 {"metric", "=value", "text", "#gt", "metrics_version", "superseded"}, 6},
		{"SELECT kind, obj_id, status, match, score, detail FROM run_objects WHERE run_id = ? "
		 "AND image_id = ? ORDER BY rowid",
		 "objects", {"kind", "+obj", "status", "+match", "=score", "detail"}, 6},
		{"SELECT category, count FROM run_errors WHERE run_id = ? AND image_id = ? ORDER BY "
		 "category",
		 "errors", {"category", "+count"}, 2},
	};
	enum { NPARTS = sizeof(parts) / sizeof(parts[0]) };
	struct q_stmt *ps[NPARTS] = {0};
	int rc = 0, r;
	for (int k = 0; k < NPARTS && !rc; k++)
		rc = xprep(x->ctx, inst, parts[k].sql, &ps[k]);
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t image_id = q_col_int64(st, 0);
		json_t *rec = json_pack("{s:I, s:I}", "run", (json_int_t)run_ref, "image",
					(json_int_t)imap_get(&x->images, image_id));
		if (q_col_int64(st, 4))
			json_object_set_new(rec, "output",
					    json_pack("{s:o, s:o, s:o}", "status", col_str(st, 1),
						      "reason", col_str(st, 2), "warnings",
						      q_col_null(st, 3) ? json_null() : col_str(st, 3)));
		for (int k = 0; k < NPARTS && !rc; k++) {
			json_t *a = NULL;
			q_reset(ps[k]);
			q_bind_int64(ps[k], 1, run_id);
			q_bind_int64(ps[k], 2, image_id);
			if (!(rc = rows_array(x, ps[k], parts[k].names, parts[k].n, &a)))
				json_object_set_new(rec, parts[k].key, a);
		}
		if (rc) {
			json_decref(rec);
			break;
		}
		rc = emit(x, "run_image", run_id, rec);
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, inst, "read run outputs");
	for (int k = 0; k < NPARTS; k++)
		xfin(inst, ps[k]);
	xfin(inst, st);
	return rc;
}

static int export_runs(struct xport *x, const char *instance_id)
{
	struct bia_instance *inst = x->inst;
	struct q_stmt *st;
	if (prep_ids(x,
		     "SELECT r.id, r.workflow_version_id, r.problem_id, r.status, r.params, r.images, "
		     "r.executor, r.exit_code, r.reason, r.env_digest, r.dataset_digest, "
		     "r.metrics_version, r.host, r.created_at, r.started_at, r.finished_at, r.limits, "
		     "r.attempts, r.interrupted, o.origin, rr.rerun_of, rr.tolerance, rr.verdict, "
		     "rr.detail FROM runs r JOIN problems p ON p.id = r.problem_id "
		     "LEFT JOIN run_origins o ON o.run_id = r.id "
		     "LEFT JOIN run_reruns rr ON rr.run_id = r.id "
		     "WHERE r.problem_id IN (%s) AND r.status IN "
		     "('succeeded','failed','cancelled','timed_out') ORDER BY p.name, r.id",
		     &st))
		return x->ctx->rc;
	int r, rc = 0;
	while (!rc && (r = q_step(st)) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		int64_t wref = imap_get(&x->wfs, q_col_int64(st, 1));
		if (!wref)
			continue; /* cannot be: the versions of the runs were exported */
		int64_t ref = new_ref(x, &x->runs, R_RUN, id);
		char origin[512];
		if (q_col_null(st, 19))
			snprintf(origin, sizeof(origin), "%s/runs/%lld", instance_id, (long long)id);
		else
			snprintf(origin, sizeof(origin), "%s", q_col_text(st, 19));
		json_t *ev = NULL;
		if (!ref) {
			rc = bia_fail(x->ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		if ((rc = run_events(x, id, &ev)))
			break;
		json_t *rec = json_pack(
			"{s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			"s:o, s:o, s:o, s:o, s:o}",
			"ref", (json_int_t)ref, "origin", origin, "workflow", (json_int_t)wref, "problem",
			(json_int_t)imap_get(&x->problems, q_col_int64(st, 2)), "status", col_str(st, 3),
			"params", col_str(st, 4), "images", image_refs(x, q_col_text(st, 5)), "executor",
			col_str(st, 6), "exit_code", col_int(st, 7), "reason", col_str(st, 8),
			"env_digest", col_str(st, 9), "dataset_digest", col_str(st, 10),
			"metrics_version", col_str(st, 11), "host", col_str(st, 12), "created",
			col_str(st, 13), "started", col_str(st, 14), "finished", col_str(st, 15),
			"limits", col_str(st, 16), "attempts", col_int(st, 17), "interrupted",
			col_int(st, 18), "events", ev);
		int64_t of = q_col_null(st, 20) ? 0 : imap_get(&x->runs, q_col_int64(st, 20));
		if (rec && of)
			json_object_set_new(rec, "rerun",
					    json_pack("{s:I, s:o, s:o, s:o}", "of", (json_int_t)of,
						      "tolerance", col_real(st, 21), "verdict",
						      col_str(st, 22), "detail", col_str(st, 23)));
		if ((rc = emit(x, "run", id, rec)))
			break;
		rc = export_run_images(x, id, ref);
	}
	if (!rc && r != Q_DONE)
		rc = xdb_fail(x->ctx, inst, "read runs");
	xfin(inst, st);
	return rc;
}

int bia_store_export_records(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_xsel *sel, bia_xemit_fn fn, void *arg)
{
	struct xport x = {.ctx = ctx, .inst = inst, .emit = fn, .arg = arg};
	char iid[128];
	if (bia_store_instance_id(ctx, inst, iid, sizeof(iid)))
		return ctx->rc;
	/* one snapshot of everything, without holding writers up: a read
	 * transaction (SQLite: deferred, WAL keeps it a snapshot; PostgreSQL:
	 * a repeatable read) */
	const struct q_driver *d = Q_DRV(inst);
	if (d->pg ? d->begin(ctx, inst) : d->exec(ctx, inst, "BEGIN DEFERRED"))
		return ctx->rc;
	int rc = d->pg && d->exec(ctx, inst, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
	if (!rc)
		rc = export_problems(&x, sel);
	if (!rc)
		rc = export_images(&x);
	if (!rc)
		rc = export_gts(&x);
	if (!rc)
		rc = export_workflows(&x, sel);
	if (!rc && sel->runs)
		rc = export_runs(&x, iid);
	if (d->pg) {
		d->rollback(inst);
	} else {
		struct bia_ctx c;
		bia_ctx_init(&c);
		d->exec(&c, inst, "ROLLBACK");
	}
	imap_free(&x.problems);
	imap_free(&x.images);
	imap_free(&x.gts);
	imap_free(&x.wfs);
	imap_free(&x.runs);
	free(x.pids);
	return rc ? ctx->rc : 0;
}

/* ----------------------------------------------------------------- import */

/* The map value of a workflow version the import skipped. */
#define WF_SKIPPED INT64_MIN

struct bia_ximport {
	struct bia_instance *inst;
	json_t *skipped; /* [{ref, workflow, version, reason}] */
	char instance_id[128]; /* this instance's (its own runs coming back) */
	struct imap problems, images, gts, wfs, runs; /* ref -> local id (runs: <0 skipped) */
	struct imap new_images;			    /* local image ids added by this import */
	struct bia_ximport_counts counts;
	char now[21];
	int open;
};

/* Fields of a record, checked: a string of at most max bytes (no NUL). */
static int fstr(struct bia_ctx *ctx, const json_t *rec, const char *kind, const char *key,
		size_t max, const char **out)
{
	json_t *v = json_object_get(rec, key);
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bia_fail(ctx, BIA_EFORMAT, "%s record: \"%s\" must be a string of at most %zu bytes",
				kind, key, max);
	*out = json_string_value(v);
	return 0;
}

static int fint(struct bia_ctx *ctx, const json_t *rec, const char *kind, const char *key,
		int64_t min, int64_t *out)
{
	json_t *v = json_object_get(rec, key);
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return bia_fail(ctx, BIA_EFORMAT, "%s record: \"%s\" must be an integer >= %lld", kind,
				key, (long long)min);
	*out = json_integer_value(v);
	return 0;
}

/* A JSON text field that must parse as an object (or array). */
static int fjson(struct bia_ctx *ctx, const json_t *rec, const char *kind, const char *key,
		 int array, const char **out)
{
	if (fstr(ctx, rec, kind, key, BIA_JSON_MAX_BYTES, out))
		return ctx->rc;
	json_t *v = json_loads(*out, 0, NULL);
	int ok = array ? json_is_array(v) : json_is_object(v);
	json_decref(v);
	return ok ? 0
		  : bia_fail(ctx, BIA_EFORMAT, "%s record: \"%s\" must hold a JSON %s", kind, key,
			     array ? "array" : "object");
}

static int fdigest(struct bia_ctx *ctx, const json_t *rec, const char *kind, const char *key,
		   const char **out)
{
	if (fstr(ctx, rec, kind, key, 64, out))
		return ctx->rc;
	return bia_is_sha256_hex(*out) ? 0
				       : bia_fail(ctx, BIA_EFORMAT,
						  "%s record: \"%s\" must be a sha256 digest", kind, key);
}

/* A ref that maps to a row added or found by an earlier record. */
static int fref(struct bia_ctx *ctx, const json_t *rec, const char *kind, const char *key,
		const struct imap *m, int64_t *out)
{
	int64_t ref;
	if (fint(ctx, rec, kind, key, 1, &ref))
		return ctx->rc;
	if (!(*out = imap_get(m, ref)))
		return bia_fail(ctx, BIA_EFORMAT, "%s record: \"%s\" %lld names no earlier record",
				kind, key, (long long)ref);
	return 0;
}

static int new_ref_ok(struct bia_ctx *ctx, const json_t *rec, const char *kind,
		      const struct imap *m, int64_t *pref)
{
	if (fint(ctx, rec, kind, "ref", 1, pref))
		return ctx->rc;
	if (imap_get(m, *pref))
		return bia_fail(ctx, BIA_EFORMAT, "%s record: ref %lld is used twice", kind,
				(long long)*pref);
	return 0;
}

static int name_ok(const char *s)
{
	if (!s[0] || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == '/' || *p == 0x7f)
			return 0;
	return 1;
}

static int add_blob_row(struct bia_ctx *ctx, struct bia_ximport *x, const char *digest,
			int64_t size)
{
	struct q_stmt *st;
	if (xprep(ctx, x->inst,
		  "INSERT OR IGNORE INTO blobs(digest, size, created_at) VALUES (?, ?, ?)", &st))
		return ctx->rc;
	q_bind_text(st, 1, digest);
	q_bind_int64(st, 2, size);
	q_bind_text(st, 3, x->now);
	return step_done(ctx, x->inst, st, "insert blob");
}

/* A blob a record names must be stored (the bundle's or one already here). */
static int blob_known(struct bia_ctx *ctx, struct bia_ximport *x, const char *kind,
		      const char *digest)
{
	struct q_stmt *st;
	if (xprep(ctx, x->inst, "SELECT 1 FROM blobs WHERE digest = ?", &st))
		return ctx->rc;
	q_bind_text(st, 1, digest);
	int r = q_step(st);
	xfin(x->inst, st);
	if (r == Q_ROW)
		return 0;
	return r == Q_DONE ? bia_fail(ctx, BIA_ENOENT,
				      "%s record names file %s, which is neither in the bundle nor "
				      "in this instance",
				      kind, digest)
			   : xdb_fail(ctx, x->inst, "find blob");
}

int bia_store_ximport_begin(struct bia_ctx *ctx, struct bia_instance *inst,
			    struct bia_ximport **px)
{
	struct bia_ximport *x = calloc(1, sizeof(*x));
	if (!x)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	x->inst = inst;
	x->skipped = json_array();
	bia_now_iso(x->now);
	if (bia_store_instance_id(ctx, inst, x->instance_id, sizeof(x->instance_id)) ||
	    Q_DRV(inst)->begin(ctx, inst)) {
		json_decref(x->skipped);
		free(x);
		return ctx->rc;
	}
	x->open = 1;
	*px = x;
	return 0;
}

int bia_store_ximport_blob(struct bia_ctx *ctx, struct bia_ximport *x, const char *digest,
			   uint64_t size)
{
	if (!bia_is_sha256_hex(digest))
		return bia_fail(ctx, BIA_EFORMAT, "'%s' is not a sha256 digest", digest);
	return add_blob_row(ctx, x, digest, (int64_t)size);
}

static int im_problem(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
		      struct bia_ximport_result *res)
{
	const char *k = "problem", *name, *cls, *desc, *mm, *params, *created;
	int64_t ref;
	if (new_ref_ok(ctx, rec, k, &x->problems, &ref) || fstr(ctx, rec, k, "name", 254, &name) ||
	    fstr(ctx, rec, k, "class", 15, &cls) || fstr(ctx, rec, k, "description", 1 << 20, &desc) ||
	    fstr(ctx, rec, k, "main_metric", 31, &mm) || fjson(ctx, rec, k, "params", 0, &params) ||
	    fstr(ctx, rec, k, "created", 20, &created))
		return ctx->rc;
	enum bia_class c = bia_class_parse(cls);
	if (!name_ok(name) || strspn(name, "0123456789") == strlen(name))
		return bia_fail(ctx, BIA_EFORMAT, "problem record: bad name '%s'", name);
	if (c == BIA_CLASS_NONE)
		return bia_fail(ctx, BIA_EFORMAT, "problem record '%s': unknown class '%s'", name, cls);
	struct q_stmt *st;
	if (xprep(ctx, x->inst, "SELECT id, class FROM problems WHERE name = ?", &st))
		return ctx->rc;
	q_bind_text(st, 1, name);
	int r = q_step(st);
	int64_t id = r == Q_ROW ? q_col_int64(st, 0) : 0;
	char have[16] = "";
	if (r == Q_ROW)
		snprintf(have, sizeof(have), "%s", q_col_text(st, 1) ? q_col_text(st, 1) : "");
	xfin(x->inst, st);
	if (r != Q_ROW && r != Q_DONE)
		return xdb_fail(ctx, x->inst, "find problem");
	if (id) {
		if (strcmp(have, bia_class_code(c)))
			return bia_fail(ctx, BIA_EEXIST,
					"problem '%s' exists here with class %s; the bundle's is %s",
					name, have, bia_class_code(c));
		x->counts.present[BIA_XK_PROBLEM]++;
	} else {
		if (xprep(ctx, x->inst,
			  "INSERT INTO problems(name, class, description, main_metric, params, "
			  "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
			  &st))
			return ctx->rc;
		q_bind_text(st, 1, name);
		q_bind_text(st, 2, bia_class_code(c));
		q_bind_text(st, 3, desc);
		q_bind_text(st, 4, mm);
		q_bind_text(st, 5, params);
		q_bind_text(st, 6, created);
		if (step_id(ctx, x->inst, st, "insert problem", &id))
			return ctx->rc;
		if (json_is_true(json_object_get(rec, "private"))) {
			if (xprep(ctx, x->inst, "INSERT INTO problem_private(problem_id) VALUES (?)", &st))
				return ctx->rc;
			q_bind_int64(st, 1, id);
			if (step_done(ctx, x->inst, st, "insert problem_private"))
				return ctx->rc;
		}
		x->counts.added[BIA_XK_PROBLEM]++;
		res->added = 1;
	}
	res->id = id;
	return imap_put(&x->problems, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
}

static int size_array(struct bia_ctx *ctx, const json_t *rec, const char *kind, int64_t out[5])
{
	json_t *a = json_object_get(rec, "size");
	if (!json_is_array(a) || json_array_size(a) != 5)
		return bia_fail(ctx, BIA_EFORMAT, "%s record: \"size\" must be an array of 5 integers",
				kind);
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (1ll << 40))
			return bia_fail(ctx, BIA_EFORMAT,
					"%s record: \"size\" must be an array of 5 integers", kind);
		out[i] = json_integer_value(v);
	}
	return 0;
}

static int im_image(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
		    struct bia_ximport_result *res)
{
	const char *k = "image", *stem, *oname, *digest, *format, *layout, *dtype, *created;
	int64_t ref, pid, bytes, size[5];
	if (new_ref_ok(ctx, rec, k, &x->images, &ref) ||
	    fref(ctx, rec, k, "problem", &x->problems, &pid) ||
	    fstr(ctx, rec, k, "stem", 255, &stem) || fstr(ctx, rec, k, "original_name", 255, &oname) ||
	    fdigest(ctx, rec, k, "digest", &digest) || fint(ctx, rec, k, "bytes", 0, &bytes) ||
	    fstr(ctx, rec, k, "format", 15, &format) || fstr(ctx, rec, k, "layout", 15, &layout) ||
	    size_array(ctx, rec, k, size) || fstr(ctx, rec, k, "dtype", 15, &dtype) ||
	    fstr(ctx, rec, k, "created", 20, &created))
		return ctx->rc;
	if (!name_ok(stem))
		return bia_fail(ctx, BIA_EFORMAT, "image record: bad stem '%s'", stem);
	json_t *phys = json_object_get(rec, "phys");
	double ph[3] = {0, 0, 0};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_array_get(phys, i);
		if (!json_is_number(v) || !(json_number_value(v) >= 0))
			return bia_fail(ctx, BIA_EFORMAT, "image record '%s': \"phys\" must be 3 numbers",
					stem);
		ph[i] = json_number_value(v);
	}
	struct q_stmt *st;
	if (xprep(ctx, x->inst,
		  "SELECT id, digest = ?2 FROM images WHERE problem_id = ?1 AND (stem = ?3 OR "
		  "digest = ?2) ORDER BY digest = ?2 DESC",
		  &st))
		return ctx->rc;
	q_bind_int64(st, 1, pid);
	q_bind_text(st, 2, digest);
	q_bind_text(st, 3, stem);
	int r = q_step(st);
	int64_t id = r == Q_ROW ? q_col_int64(st, 0) : 0, same = r == Q_ROW ? q_col_int64(st, 1) : 0;
	xfin(x->inst, st);
	if (r != Q_ROW && r != Q_DONE)
		return xdb_fail(ctx, x->inst, "find image");
	if (id && !same)
		return bia_fail(ctx, BIA_EEXIST,
				"image '%s' exists here (id %lld) with other content than the bundle's",
				stem, (long long)id);
	if (id) {
		x->counts.present[BIA_XK_IMAGE]++;
	} else {
		if (blob_known(ctx, x, k, digest) ||
		    xprep(ctx, x->inst,
			  "INSERT INTO images(id, problem_id, stem, original_name, digest, bytes, "
			  "format, layout, size_x, size_y, size_z, size_c, size_t, dtype, phys_x, "
			  "phys_y, phys_z, created_at) VALUES ((SELECT last + 1 FROM id_marks WHERE "
			  "kind = 'images'),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, pid);
		q_bind_text(st, 2, stem);
		q_bind_text(st, 3, oname);
		q_bind_text(st, 4, digest);
		q_bind_int64(st, 5, bytes);
		q_bind_text(st, 6, format);
		q_bind_text(st, 7, layout);
		for (int i = 0; i < 5; i++)
			q_bind_int64(st, 8 + i, size[i]);
		q_bind_text(st, 13, dtype);
		for (int i = 0; i < 3; i++)
			q_bind_double(st, 14 + i, ph[i]);
		q_bind_text(st, 17, created);
		if (step_id(ctx, x->inst, st, "insert image", &id))
			return ctx->rc;
		if (imap_put(&x->new_images, id, 1))
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		x->counts.added[BIA_XK_IMAGE]++;
		res->added = 1;
		res->image = id;
	}
	res->id = id;
	return imap_put(&x->images, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
}

/* The files of a GT version as one text ("name kind digest;..."), to
 * recognise a version already here. */
static int gt_files_key(struct bia_ctx *ctx, struct bia_instance *inst, int64_t vid,
			struct bia_buf *b)
{
	struct q_stmt *st;
	if (xprep(ctx, inst, "SELECT name, kind, digest FROM gt_files WHERE version_id = ? ORDER BY id",
		  &st))
		return ctx->rc;
	q_bind_int64(st, 1, vid);
	int r;
	while ((r = q_step(st)) == Q_ROW)
		bia_buf_addf(b, "%s %s %s;", q_col_text(st, 0), q_col_text(st, 1),
			       q_col_text(st, 2));
	xfin(inst, st);
	return r == Q_DONE ? 0 : xdb_fail(ctx, inst, "read GT files");
}

static int im_gt(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
		 struct bia_ximport_result *res)
{
	const char *k = "gt", *annot, *created;
	int64_t ref, image_id;
	if (new_ref_ok(ctx, rec, k, &x->gts, &ref) || fref(ctx, rec, k, "image", &x->images, &image_id) ||
	    fstr(ctx, rec, k, "annotator", 127, &annot) || fstr(ctx, rec, k, "created", 20, &created))
		return ctx->rc;
	json_t *files = json_object_get(rec, "files"), *f;
	size_t i;
	if (!json_is_array(files) || json_array_size(files) > 64)
		return bia_fail(ctx, BIA_EFORMAT, "gt record: \"files\" must be an array (at most 64)");
	struct bia_buf key;
	bia_buf_init(&key, SIZE_MAX);
	const char *name, *kind, *digest, *dtype;
	int64_t bytes, size[5];
	json_array_foreach(files, i, f)
	{
		if (fstr(ctx, f, "gt file", "name", 255, &name) ||
		    fstr(ctx, f, "gt file", "kind", 15, &kind) ||
		    fdigest(ctx, f, "gt file", "digest", &digest) ||
		    fint(ctx, f, "gt file", "bytes", 0, &bytes) || size_array(ctx, f, "gt file", size) ||
		    fstr(ctx, f, "gt file", "dtype", 15, &dtype)) {
			bia_buf_release(&key);
			return ctx->rc;
		}
		bia_buf_addf(&key, "%s %s %s;", name, kind, digest);
	}
	/* a version with the same annotator, time and files is this one */
	int64_t id = 0;
	if (!imap_get(&x->new_images, image_id)) {
		struct q_stmt *st;
		if (xprep(ctx, x->inst,
			  "SELECT id FROM gt_versions WHERE image_id = ? AND annotator = ? AND "
			  "created_at = ? ORDER BY id",
			  &st)) {
			bia_buf_release(&key);
			return ctx->rc;
		}
		q_bind_int64(st, 1, image_id);
		q_bind_text(st, 2, annot);
		q_bind_text(st, 3, created);
		int r;
		while (!id && (r = q_step(st)) == Q_ROW) {
			struct bia_buf have;
			bia_buf_init(&have, SIZE_MAX);
			int64_t vid = q_col_int64(st, 0);
			if (gt_files_key(ctx, x->inst, vid, &have)) {
				bia_buf_release(&have);
				break;
			}
			if (have.len == key.len && (!key.len || !memcmp(have.buf, key.buf, key.len)))
				id = vid;
			bia_buf_release(&have);
		}
		xfin(x->inst, st);
		if (ctx->rc) {
			bia_buf_release(&key);
			return ctx->rc;
		}
	}
	bia_buf_release(&key);
	if (id) {
		x->counts.present[BIA_XK_GT]++;
		res->id = id;
		return imap_put(&x->gts, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
	}
	/* current in the bundle: current here too, unless this image (one that
	 * was here before) has a current version of its own */
	int current = json_is_true(json_object_get(rec, "current"));
	struct q_stmt *st;
	if (current) {
		if (xprep(ctx, x->inst, "SELECT 1 FROM gt_versions WHERE image_id = ? AND is_current <> 0",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, image_id);
		int r = q_step(st);
		xfin(x->inst, st);
		if (r == Q_ROW)
			current = 0;
		else if (r != Q_DONE)
			return xdb_fail(ctx, x->inst, "find GT version");
	}
	if (xprep(ctx, x->inst,
		  "INSERT INTO gt_versions(id, image_id, annotator, is_current, created_at) VALUES "
		  "((SELECT last + 1 FROM id_marks WHERE kind = 'gt_versions'), ?, ?, ?, ?) RETURNING id",
		  &st))
		return ctx->rc;
	q_bind_int64(st, 1, image_id);
	q_bind_text(st, 2, annot);
	q_bind_int64(st, 3, current);
	q_bind_text(st, 4, created);
	if (step_id(ctx, x->inst, st, "insert GT version", &id))
		return ctx->rc;
	json_array_foreach(files, i, f)
	{
		fstr(ctx, f, "gt file", "name", 255, &name);
		fstr(ctx, f, "gt file", "kind", 15, &kind);
		fdigest(ctx, f, "gt file", "digest", &digest);
		fint(ctx, f, "gt file", "bytes", 0, &bytes);
		size_array(ctx, f, "gt file", size);
		fstr(ctx, f, "gt file", "dtype", 15, &dtype);
		if (blob_known(ctx, x, "gt", digest) ||
		    xprep(ctx, x->inst,
			  "INSERT INTO gt_files(version_id, name, kind, digest, bytes, size_x, size_y, "
			  "size_z, size_c, size_t, dtype) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, id);
		q_bind_text(st, 2, name);
		q_bind_text(st, 3, kind);
		q_bind_text(st, 4, digest);
		q_bind_int64(st, 5, bytes);
		for (int j = 0; j < 5; j++)
			q_bind_int64(st, 6 + j, size[j]);
		q_bind_text(st, 11, dtype);
		if (step_done(ctx, x->inst, st, "insert GT file"))
			return ctx->rc;
	}
	x->counts.added[BIA_XK_GT]++;
	res->added = 1;
	res->image = image_id;
	res->id = id;
	return imap_put(&x->gts, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int im_workflow(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
		       struct bia_ximport_result *res)
{
	const char *k = "workflow", *name, *wcreated, *version, *digest, *desc, *pcls, *source,
		   *created;
	int64_t ref;
	if (new_ref_ok(ctx, rec, k, &x->wfs, &ref) || fstr(ctx, rec, k, "name", 255, &name) ||
	    fstr(ctx, rec, k, "workflow_created", 20, &wcreated) ||
	    fstr(ctx, rec, k, "version", 127, &version) || fdigest(ctx, rec, k, "digest", &digest) ||
	    fjson(ctx, rec, k, "descriptor", 0, &desc) ||
	    fstr(ctx, rec, k, "problem_class", 15, &pcls) ||
	    fstr(ctx, rec, k, "source", 1023, &source) || fstr(ctx, rec, k, "created", 20, &created))
		return ctx->rc;
	if (!name_ok(name) || !name_ok(version) || strchr(version, '@') || strchr(name, '@'))
		return bia_fail(ctx, BIA_EFORMAT, "workflow record: bad name or version '%s@%s'", name,
				version);
	json_t *files = json_object_get(rec, "files"), *f;
	size_t i;
	if (!json_is_array(files))
		return bia_fail(ctx, BIA_EFORMAT, "workflow record: \"files\" must be an array");
	/* the version's digest is over its files (sha256 of the sorted lines
	 * "<mode> <digest> <path>\n", as the registry makes it): they must
	 * agree, so a bundle cannot give a version other files */
	size_t nf = json_array_size(files);
	char **lines = calloc(nf ? nf : 1, sizeof(*lines));
	if (!lines)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	int rc = 0;
	json_array_foreach(files, i, f)
	{
		const char *path, *fd;
		int64_t bytes, mode;
		if (fstr(ctx, f, "workflow file", "path", 511, &path) ||
		    fdigest(ctx, f, "workflow file", "digest", &fd) ||
		    fint(ctx, f, "workflow file", "bytes", 0, &bytes) ||
		    fint(ctx, f, "workflow file", "mode", 0, &mode)) {
			rc = ctx->rc;
			break;
		}
		if (!path[0] || path[0] == '/' || strstr(path, "..") || mode > 07777) {
			rc = bia_fail(ctx, BIA_EFORMAT, "workflow record %s@%s: bad file '%s'", name,
				      version, path);
			break;
		}
		size_t n = strlen(path) + 90;
		if (!(lines[i] = malloc(n))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		snprintf(lines[i], n, "%o %s %s\n", (unsigned)mode, fd, path);
	}
	if (!rc) {
		qsort(lines, nf, sizeof(*lines), str_cmp);
		struct bia_sha256 h;
		char got[BIA_SHA256_HEX];
		bia_sha256_init(&h);
		for (size_t j = 0; j < nf; j++)
			bia_sha256_update(&h, lines[j], strlen(lines[j]));
		bia_sha256_final(&h, got);
		if (strcmp(got, digest))
			rc = bia_fail(ctx, BIA_ECORRUPT,
				      "workflow record %s@%s: its files have digest %s, not the "
				      "version's %s",
				      name, version, got, digest);
	}
	for (size_t j = 0; j < nf; j++)
		free(lines[j]);
	free(lines);
	if (rc)
		return rc;
	struct q_stmt *st;
	if (xprep(ctx, x->inst,
		  "SELECT v.id, v.digest FROM workflow_versions v JOIN workflows w ON w.id = "
		  "v.workflow_id WHERE w.name = ? AND v.version = ?",
		  &st))
		return ctx->rc;
	q_bind_text(st, 1, name);
	q_bind_text(st, 2, version);
	int r = q_step(st);
	int64_t id = r == Q_ROW ? q_col_int64(st, 0) : 0;
	int same = r == Q_ROW && q_col_text(st, 1) && !strcmp(q_col_text(st, 1), digest);
	xfin(x->inst, st);
	if (r != Q_ROW && r != Q_DONE)
		return xdb_fail(ctx, x->inst, "find workflow version");
	if (id && !same)
		return bia_fail(ctx, BIA_EEXIST,
				"workflow %s@%s exists here with other content (versions are immutable)",
				name, version);
	if (id) {
		x->counts.present[BIA_XK_WORKFLOW]++;
		res->id = id;
		return imap_put(&x->wfs, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
	}
	/* every file must be here (the bundle's blobs are): a version whose
	 * environment archive was left out of the bundle (export without
	 * --with-environments) and is not here either is skipped, and
	 * reported; a run of it is refused */
	json_array_foreach(files, i, f)
	{
		const char *path = json_string_value(json_object_get(f, "path"));
		const char *fd = json_string_value(json_object_get(f, "digest"));
		struct bia_ctx c;
		bia_ctx_init(&c);
		if (blob_known(&c, x, "workflow", fd) == 0)
			continue;
		if (c.rc != BIA_ENOENT)
			return bia_fail(ctx, c.rc, "%s", c.msg);
		json_t *why = json_sprintf("file '%s' (%s) is neither in the bundle nor here (its "
					   "environment archive? export with --with-environments)",
					   path, fd);
		json_array_append_new(x->skipped, json_pack("{s:I, s:s, s:s, s:o}", "ref",
							    (json_int_t)ref, "workflow", name,
							    "version", version, "reason", why));
		x->counts.skipped[BIA_XK_WORKFLOW]++;
		res->id = 0;
		return imap_put(&x->wfs, ref, WF_SKIPPED) ? bia_fail(ctx, BIA_ENOMEM, "out of memory")
							  : 0;
	}
	int64_t wid = 0;
	if (xprep(ctx, x->inst, "SELECT id FROM workflows WHERE name = ?", &st))
		return ctx->rc;
	q_bind_text(st, 1, name);
	r = q_step(st);
	if (r == Q_ROW)
		wid = q_col_int64(st, 0);
	xfin(x->inst, st);
	if (r != Q_ROW && r != Q_DONE)
		return xdb_fail(ctx, x->inst, "find workflow");
	if (!wid) {
		if (xprep(ctx, x->inst,
			  "INSERT INTO workflows(name, created_at) VALUES (?, ?) RETURNING id", &st))
			return ctx->rc;
		q_bind_text(st, 1, name);
		q_bind_text(st, 2, wcreated);
		if (step_id(ctx, x->inst, st, "insert workflow", &wid))
			return ctx->rc;
	}
	if (xprep(ctx, x->inst,
		  "INSERT INTO workflow_versions(workflow_id, version, digest, descriptor, "
		  "problem_class, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
		  &st))
		return ctx->rc;
	q_bind_int64(st, 1, wid);
	q_bind_text(st, 2, version);
	q_bind_text(st, 3, digest);
	q_bind_text(st, 4, desc);
	q_bind_text(st, 5, pcls);
	q_bind_text(st, 6, source);
	q_bind_text(st, 7, created);
	if (step_id(ctx, x->inst, st, "insert workflow version", &id))
		return ctx->rc;
	json_array_foreach(files, i, f)
	{
		const char *path, *fd;
		int64_t bytes, mode;
		fstr(ctx, f, "workflow file", "path", 511, &path);
		fdigest(ctx, f, "workflow file", "digest", &fd);
		fint(ctx, f, "workflow file", "bytes", 0, &bytes);
		fint(ctx, f, "workflow file", "mode", 0, &mode);
		if (xprep(ctx, x->inst,
			  "INSERT INTO workflow_files(version_id, path, digest, bytes, mode) VALUES "
			  "(?, ?, ?, ?, ?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, id);
		q_bind_text(st, 2, path);
		q_bind_text(st, 3, fd);
		q_bind_int64(st, 4, bytes);
		q_bind_int64(st, 5, mode);
		if (step_done(ctx, x->inst, st, "insert workflow file"))
			return ctx->rc;
	}
	x->counts.added[BIA_XK_WORKFLOW]++;
	res->added = 1;
	res->id = id;
	return imap_put(&x->wfs, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
}

/* A run's images (refs) as a JSON array of local ids (malloc'd text). */
static int run_images_text(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
			   char **out)
{
	json_t *a = json_object_get(rec, "images"), *e;
	size_t i;
	if (!json_is_array(a))
		return bia_fail(ctx, BIA_EFORMAT, "run record: \"images\" must be an array");
	json_t *ids = json_array();
	json_array_foreach(a, i, e)
	{
		int64_t id = json_is_integer(e) ? imap_get(&x->images, json_integer_value(e)) : 0;
		if (!id) {
			json_decref(ids);
			return bia_fail(ctx, BIA_EFORMAT, "run record: image %lld names no image record",
					(long long)(json_is_integer(e) ? json_integer_value(e) : 0));
		}
		json_array_append_new(ids, json_integer(id));
	}
	*out = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	return *out ? 0 : bia_fail(ctx, BIA_ENOMEM, "out of memory");
}

static int im_run(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
		  struct bia_ximport_result *res)
{
	const char *k = "run", *origin, *status, *params, *exec, *reason, *envd, *dsd, *mv, *host,
		   *created, *started, *finished, *limits;
	int64_t ref, wid, pid, attempts, interrupted;
	if (new_ref_ok(ctx, rec, k, &x->runs, &ref) || fstr(ctx, rec, k, "origin", 511, &origin) ||
	    fref(ctx, rec, k, "workflow", &x->wfs, &wid) ||
	    fref(ctx, rec, k, "problem", &x->problems, &pid) ||
	    fstr(ctx, rec, k, "status", 15, &status) || fjson(ctx, rec, k, "params", 0, &params) ||
	    fstr(ctx, rec, k, "executor", 15, &exec) || fstr(ctx, rec, k, "reason", 1 << 20, &reason) ||
	    fstr(ctx, rec, k, "env_digest", 79, &envd) ||
	    fstr(ctx, rec, k, "dataset_digest", 64, &dsd) ||
	    fstr(ctx, rec, k, "metrics_version", 31, &mv) || fstr(ctx, rec, k, "host", 255, &host) ||
	    fstr(ctx, rec, k, "created", 20, &created) || fstr(ctx, rec, k, "started", 20, &started) ||
	    fstr(ctx, rec, k, "finished", 20, &finished) || fjson(ctx, rec, k, "limits", 0, &limits) ||
	    fint(ctx, rec, k, "attempts", 0, &attempts) ||
	    fint(ctx, rec, k, "interrupted", 0, &interrupted))
		return ctx->rc;
	if (wid == WF_SKIPPED) {
		size_t j;
		json_t *s;
		json_array_foreach(x->skipped, j, s)
			if (json_integer_value(json_object_get(s, "ref")) ==
			    json_integer_value(json_object_get(rec, "workflow")))
				return bia_fail(ctx, BIA_ENOENT, "run %s ran %s@%s, which cannot be imported: %s",
						origin, bia_json_str(s, "workflow", ""),
						bia_json_str(s, "version", ""), bia_json_str(s, "reason", ""));
	}
	int st8 = bia_run_state_parse(status);
	if (st8 < BIA_RUN_SUCCEEDED)
		return bia_fail(ctx, BIA_EFORMAT, "run record: status '%s' is not a final state",
				status);
	if (!origin[0] || strlen(origin) < 8)
		return bia_fail(ctx, BIA_EFORMAT, "run record: bad origin '%s'", origin);
	json_t *ec = json_object_get(rec, "exit_code");
	if (ec && !json_is_null(ec) && !json_is_integer(ec))
		return bia_fail(ctx, BIA_EFORMAT, "run record: \"exit_code\" must be an integer");
	/* a run imported before (or this instance's own, coming back) */
	struct q_stmt *st;
	if (xprep(ctx, x->inst, "SELECT run_id FROM run_origins WHERE origin = ?", &st))
		return ctx->rc;
	q_bind_text(st, 1, origin);
	int r = q_step(st);
	int64_t id = r == Q_ROW ? q_col_int64(st, 0) : 0;
	xfin(x->inst, st);
	if (r != Q_ROW && r != Q_DONE)
		return xdb_fail(ctx, x->inst, "find run");
	if (!id) {
		char own[160];
		int n = snprintf(own, sizeof(own), "%s/runs/", x->instance_id);
		if (!strncmp(origin, own, (size_t)n)) {
			char *end;
			long long lid = strtoll(origin + n, &end, 10);
			if (xprep(ctx, x->inst, "SELECT id FROM runs WHERE id = ?", &st))
				return ctx->rc;
			q_bind_int64(st, 1, *end ? 0 : lid);
			if (q_step(st) == Q_ROW)
				id = q_col_int64(st, 0);
			xfin(x->inst, st);
		}
	}
	if (id) {
		x->counts.present[BIA_XK_RUN]++;
		res->id = id;
		/* its per-image records are skipped */
		return imap_put(&x->runs, ref, -id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
	}
	char *images = NULL;
	if (run_images_text(ctx, x, rec, &images))
		return ctx->rc;
	if (xprep(ctx, x->inst,
		  "INSERT INTO runs(id, workflow_version_id, problem_id, status, params, images, "
		  "executor, exit_code, reason, env_digest, dataset_digest, metrics_version, host, "
		  "created_at, started_at, finished_at, limits, attempts, interrupted) VALUES "
		  "((SELECT last + 1 FROM id_marks WHERE kind = 'runs'),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		  "?,?,?) RETURNING id",
		  &st)) {
		free(images);
		return ctx->rc;
	}
	q_bind_int64(st, 1, wid);
	q_bind_int64(st, 2, pid);
	q_bind_text(st, 3, status);
	q_bind_text(st, 4, params);
	q_bind_text(st, 5, images);
	q_bind_text(st, 6, exec);
	if (json_is_integer(ec))
		q_bind_int64(st, 7, json_integer_value(ec));
	else
		q_bind_null(st, 7);
	q_bind_text(st, 8, reason);
	q_bind_text(st, 9, envd);
	q_bind_text(st, 10, dsd);
	q_bind_text(st, 11, mv);
	q_bind_text(st, 12, host);
	q_bind_text(st, 13, created);
	q_bind_text(st, 14, started);
	q_bind_text(st, 15, finished);
	q_bind_text(st, 16, limits);
	q_bind_int64(st, 17, attempts);
	q_bind_int64(st, 18, interrupted);
	int rc = step_id(ctx, x->inst, st, "insert run", &id);
	free(images);
	if (rc)
		return ctx->rc;
	if (xprep(ctx, x->inst, "INSERT INTO run_origins(run_id, origin) VALUES (?, ?)", &st))
		return ctx->rc;
	q_bind_int64(st, 1, id);
	q_bind_text(st, 2, origin);
	if (step_done(ctx, x->inst, st, "insert run origin"))
		return ctx->rc;
	json_t *ev = json_object_get(rec, "events"), *e;
	size_t i;
	if (!json_is_array(ev))
		return bia_fail(ctx, BIA_EFORMAT, "run record: \"events\" must be an array");
	json_array_foreach(ev, i, e)
	{
		const char *state, *why, *at;
		if (fstr(ctx, e, "run event", "state", 31, &state) ||
		    fstr(ctx, e, "run event", "reason", 1 << 16, &why) ||
		    fstr(ctx, e, "run event", "at", 20, &at) ||
		    xprep(ctx, x->inst, "INSERT INTO run_events(run_id, state, reason, at) VALUES "
					"(?, ?, ?, ?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, id);
		q_bind_text(st, 2, state);
		q_bind_text(st, 3, why);
		q_bind_text(st, 4, at);
		if (step_done(ctx, x->inst, st, "insert run event"))
			return ctx->rc;
	}
	json_t *rr = json_object_get(rec, "rerun");
	if (json_is_object(rr)) {
		int64_t of;
		const char *verdict, *detail;
		json_t *tol = json_object_get(rr, "tolerance");
		if (fref(ctx, rr, "rerun", "of", &x->runs, &of) ||
		    fstr(ctx, rr, "rerun", "verdict", 31, &verdict) ||
		    fjson(ctx, rr, "rerun", "detail", 0, &detail))
			return ctx->rc;
		if (!json_is_number(tol))
			return bia_fail(ctx, BIA_EFORMAT, "rerun: \"tolerance\" must be a number");
		if (xprep(ctx, x->inst,
			  "INSERT INTO run_reruns(run_id, rerun_of, tolerance, verdict, detail) VALUES "
			  "(?, ?, ?, ?, ?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, id);
		q_bind_int64(st, 2, of < 0 ? -of : of);
		q_bind_double(st, 3, json_number_value(tol));
		q_bind_text(st, 4, verdict);
		q_bind_text(st, 5, detail);
		if (step_done(ctx, x->inst, st, "insert rerun"))
			return ctx->rc;
	}
	x->counts.added[BIA_XK_RUN]++;
	res->added = 1;
	res->id = id;
	return imap_put(&x->runs, ref, id) ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : 0;
}

/* A score's value: a number, or null with the text (nan, inf). */
static void bind_value(struct q_stmt *st, int i, json_t *v)
{
	if (json_is_number(v))
		q_bind_double(st, i, json_number_value(v));
	else
		q_bind_null(st, i);
}

static int gt_of(struct bia_ctx *ctx, struct bia_ximport *x, json_t *o, int64_t *out)
{
	json_t *g = json_object_get(o, "gt");
	*out = 0;
	if (json_is_null(g) || !g)
		return 0;
	return fref(ctx, o, "score", "gt", &x->gts, out);
}

static int im_scores(struct bia_ctx *ctx, struct bia_ximport *x, json_t *a, int64_t run,
		     int64_t image, int history)
{
	json_t *o;
	size_t i;
	if (!json_is_array(a))
		return bia_fail(ctx, BIA_EFORMAT, "run_image record: \"%s\" must be an array",
				history ? "history" : "scores");
	json_array_foreach(a, i, o)
	{
		const char *metric, *text, *mv, *sup = "";
		int64_t gt;
		json_t *v = json_object_get(o, "value");
		if (fstr(ctx, o, "score", "metric", 31, &metric) ||
		    fstr(ctx, o, "score", "text", 64, &text) ||
		    fstr(ctx, o, "score", "metrics_version", 31, &mv) || gt_of(ctx, x, o, &gt) ||
		    (history && fstr(ctx, o, "score", "superseded", 20, &sup)))
			return ctx->rc;
		if (v && !json_is_null(v) && !json_is_number(v))
			return bia_fail(ctx, BIA_EFORMAT, "score record: \"value\" must be a number");
		struct q_stmt *st;
		if (xprep(ctx, x->inst,
			  history ? "INSERT INTO run_score_history(run_id, image_id, metric, value, "
				    "value_text, gt_version_id, metrics_version, superseded_at) VALUES "
				    "(?,?,?,?,?,?,?,?)"
				  : "INSERT INTO run_scores(run_id, image_id, metric, value, value_text, "
				    "gt_version_id, metrics_version) VALUES (?,?,?,?,?,?,?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, run);
		q_bind_int64(st, 2, image);
		q_bind_text(st, 3, metric);
		bind_value(st, 4, v);
		q_bind_text(st, 5, text);
		q_bind_int64(st, 6, gt);
		q_bind_text(st, 7, mv);
		if (history)
			q_bind_text(st, 8, sup);
		if (step_done(ctx, x->inst, st, "insert score"))
			return ctx->rc;
	}
	return 0;
}

static int im_run_image(struct bia_ctx *ctx, struct bia_ximport *x, const json_t *rec,
			struct bia_ximport_result *res)
{
	const char *k = "run_image";
	int64_t run, image;
	if (fref(ctx, rec, k, "run", &x->runs, &run) || fref(ctx, rec, k, "image", &x->images, &image))
		return ctx->rc;
	if (run < 0) { /* the run was here already */
		res->id = -run;
		return 0;
	}
	res->id = run;
	res->added = 1;
	res->image = image;
	struct q_stmt *st;
	json_t *out = json_object_get(rec, "output"), *o;
	size_t i;
	if (out && !json_is_null(out)) {
		const char *status, *reason;
		json_t *w = json_object_get(out, "warnings"), *files = json_object_get(rec, "files");
		if (fstr(ctx, out, "output", "status", 15, &status) ||
		    fstr(ctx, out, "output", "reason", 1 << 16, &reason) ||
		    xprep(ctx, x->inst, "INSERT INTO run_outputs(run_id, image_id, status, reason) "
					"VALUES (?, ?, ?, ?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, run);
		q_bind_int64(st, 2, image);
		q_bind_text(st, 3, status);
		q_bind_text(st, 4, reason);
		if (step_done(ctx, x->inst, st, "insert run output"))
			return ctx->rc;
		if (json_is_string(w)) {
			const char *wt;
			if (fjson(ctx, out, "output", "warnings", 1, &wt) ||
			    xprep(ctx, x->inst, "INSERT INTO run_output_warnings(run_id, image_id, "
						"warnings) VALUES (?, ?, ?)",
				  &st))
				return ctx->rc;
			q_bind_int64(st, 1, run);
			q_bind_int64(st, 2, image);
			q_bind_text(st, 3, wt);
			if (step_done(ctx, x->inst, st, "insert warnings"))
				return ctx->rc;
		}
		if (files && !json_is_array(files))
			return bia_fail(ctx, BIA_EFORMAT, "run_image record: \"files\" must be an array");
		json_array_foreach(files, i, o)
		{
			const char *name, *digest;
			int64_t bytes;
			if (fstr(ctx, o, "output file", "name", 255, &name) ||
			    fdigest(ctx, o, "output file", "digest", &digest) ||
			    fint(ctx, o, "output file", "bytes", 0, &bytes) ||
			    blob_known(ctx, x, "output file", digest) ||
			    xprep(ctx, x->inst, "INSERT INTO run_output_files(run_id, image_id, name, "
						"digest, bytes) VALUES (?, ?, ?, ?, ?)",
				  &st))
				return ctx->rc;
			q_bind_int64(st, 1, run);
			q_bind_int64(st, 2, image);
			q_bind_text(st, 3, name);
			q_bind_text(st, 4, digest);
			q_bind_int64(st, 5, bytes);
			if (step_done(ctx, x->inst, st, "insert output file"))
				return ctx->rc;
		}
	}
	if (im_scores(ctx, x, json_object_get(rec, "scores"), run, image, 0) ||
	    im_scores(ctx, x, json_object_get(rec, "history"), run, image, 1))
		return ctx->rc;
	json_t *objs = json_object_get(rec, "objects");
	if (!json_is_array(objs))
		return bia_fail(ctx, BIA_EFORMAT, "run_image record: \"objects\" must be an array");
	json_array_foreach(objs, i, o)
	{
		const char *kind, *status, *detail;
		int64_t obj;
		json_t *m = json_object_get(o, "match"), *sc = json_object_get(o, "score");
		if (fstr(ctx, o, "object", "kind", 15, &kind) ||
		    fint(ctx, o, "object", "obj", INT64_MIN, &obj) ||
		    fstr(ctx, o, "object", "status", 15, &status) ||
		    fjson(ctx, o, "object", "detail", 0, &detail))
			return ctx->rc;
		if ((m && !json_is_null(m) && !json_is_integer(m)) ||
		    (sc && !json_is_null(sc) && !json_is_number(sc)))
			return bia_fail(ctx, BIA_EFORMAT, "object record: bad \"match\" or \"score\"");
		if (xprep(ctx, x->inst,
			  "INSERT INTO run_objects(run_id, image_id, kind, obj_id, status, match, score, "
			  "detail) VALUES (?,?,?,?,?,?,?,?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, run);
		q_bind_int64(st, 2, image);
		q_bind_text(st, 3, kind);
		q_bind_int64(st, 4, obj);
		q_bind_text(st, 5, status);
		if (json_is_integer(m))
			q_bind_int64(st, 6, json_integer_value(m));
		else
			q_bind_null(st, 6);
		bind_value(st, 7, sc);
		q_bind_text(st, 8, detail);
		if (step_done(ctx, x->inst, st, "insert error-map object"))
			return ctx->rc;
	}
	json_t *errs = json_object_get(rec, "errors");
	if (!json_is_array(errs))
		return bia_fail(ctx, BIA_EFORMAT, "run_image record: \"errors\" must be an array");
	json_array_foreach(errs, i, o)
	{
		const char *cat;
		int64_t count;
		if (fstr(ctx, o, "error", "category", 15, &cat) ||
		    fint(ctx, o, "error", "count", 0, &count) ||
		    xprep(ctx, x->inst, "INSERT INTO run_errors(run_id, image_id, category, count) "
					"VALUES (?, ?, ?, ?)",
			  &st))
			return ctx->rc;
		q_bind_int64(st, 1, run);
		q_bind_int64(st, 2, image);
		q_bind_text(st, 3, cat);
		q_bind_int64(st, 4, count);
		if (step_done(ctx, x->inst, st, "insert error count"))
			return ctx->rc;
	}
	return 0;
}

int bia_store_ximport_record(struct bia_ctx *ctx, struct bia_ximport *x, const char *kind,
			     const json_t *rec, struct bia_ximport_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!json_is_object(rec))
		return bia_fail(ctx, BIA_EFORMAT, "a %s record must be a JSON object", kind);
	if (!strcmp(kind, "problem"))
		return im_problem(ctx, x, rec, res);
	if (!strcmp(kind, "image"))
		return im_image(ctx, x, rec, res);
	if (!strcmp(kind, "gt"))
		return im_gt(ctx, x, rec, res);
	if (!strcmp(kind, "workflow"))
		return im_workflow(ctx, x, rec, res);
	if (!strcmp(kind, "run"))
		return im_run(ctx, x, rec, res);
	if (!strcmp(kind, "run_image"))
		return im_run_image(ctx, x, rec, res);
	return bia_fail(ctx, BIA_EFORMAT, "unknown record kind '%s'", kind);
}

const struct bia_ximport_counts *bia_store_ximport_counts(const struct bia_ximport *x)
{
	return &x->counts;
}

json_t *bia_store_ximport_skipped(const struct bia_ximport *x)
{
	return json_deep_copy(x->skipped);
}

static void ximport_free(struct bia_ximport *x)
{
	imap_free(&x->problems);
	imap_free(&x->images);
	imap_free(&x->gts);
	imap_free(&x->wfs);
	imap_free(&x->runs);
	imap_free(&x->new_images);
	json_decref(x->skipped);
	free(x);
}

int bia_store_ximport_commit(struct bia_ctx *ctx, struct bia_ximport *x)
{
	int rc = Q_DRV(x->inst)->commit(ctx, x->inst);
	if (rc)
		Q_DRV(x->inst)->rollback(x->inst);
	ximport_free(x);
	return rc;
}

void bia_store_ximport_abort(struct bia_ximport *x)
{
	if (!x)
		return;
	Q_DRV(x->inst)->rollback(x->inst);
	ximport_free(x);
}
