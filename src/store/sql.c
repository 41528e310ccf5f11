/* The SQL back ends of the storage interface: the schema (one description,
 * migrations for SQLite and PostgreSQL) and every operation, written once
 * over the statement layer of sqldb.h; the drivers are sqlite.c and pg.c.
 * SPDX-License-Identifier: MIT */
#include "store/sqldb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Migrations, applied in order; each runs in its own transaction and bumps
 * user_version to its index + 1. Never edit a released migration: add one. */
/* One schema description for both dialects: each migration's `sql` is
 * written in SQLite's types and mapped to PostgreSQL's by pg_types(); what
 * cannot be mapped (triggers, SQLite's upserts) is a part of each dialect,
 * run after the common part. */
struct migration {
	const char *sql;
	const char *sqlite; /* SQLite only (after sql), or NULL */
	const char *pg;	    /* PostgreSQL only (after sql), or NULL */
};

static const struct migration migrations[] = {
	/* 1: problems, blobs, images, ground truth */
	{"CREATE TABLE problems ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  class TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  main_metric TEXT NOT NULL DEFAULT '',"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE blobs ("
	"  digest TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE images ("
	"  id INTEGER PRIMARY KEY,"
	"  problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,"
	"  stem TEXT NOT NULL,"
	"  original_name TEXT NOT NULL,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  bytes INTEGER NOT NULL,"
	"  format TEXT NOT NULL,"
	"  layout TEXT NOT NULL,"
	"  size_x INTEGER NOT NULL, size_y INTEGER NOT NULL, size_z INTEGER NOT NULL,"
	"  size_c INTEGER NOT NULL, size_t INTEGER NOT NULL,"
	"  dtype TEXT NOT NULL,"
	"  phys_x REAL NOT NULL DEFAULT 0, phys_y REAL NOT NULL DEFAULT 0,"
	"  phys_z REAL NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE(problem_id, stem), UNIQUE(problem_id, digest));"
	"CREATE TABLE gt_versions ("
	"  id INTEGER PRIMARY KEY,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  annotator TEXT NOT NULL DEFAULT '',"
	"  is_current INTEGER NOT NULL DEFAULT 0,"
	"  created_at TEXT NOT NULL);"
	"CREATE INDEX gt_versions_image ON gt_versions(image_id);"
	"CREATE UNIQUE INDEX gt_versions_current ON gt_versions(image_id) WHERE is_current;"
	"CREATE TABLE gt_files ("
	"  id INTEGER PRIMARY KEY,"
	"  version_id INTEGER NOT NULL REFERENCES gt_versions(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  bytes INTEGER NOT NULL,"
	"  size_x INTEGER NOT NULL DEFAULT 0, size_y INTEGER NOT NULL DEFAULT 0,"
	"  size_z INTEGER NOT NULL DEFAULT 0, size_c INTEGER NOT NULL DEFAULT 0,"
	"  size_t INTEGER NOT NULL DEFAULT 0,"
	"  dtype TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX gt_files_version ON gt_files(version_id);"
	"CREATE INDEX images_digest ON images(digest);"
	"CREATE INDEX gt_files_digest ON gt_files(digest);", NULL, NULL},
	/* 2: workflows, their immutable versions and files */
	{"CREATE TABLE workflows ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE workflow_versions ("
	"  id INTEGER PRIMARY KEY,"
	"  workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,"
	"  version TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  descriptor TEXT NOT NULL,"
	"  problem_class TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL DEFAULT '',"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE(workflow_id, version));"
	"CREATE TABLE workflow_files ("
	"  version_id INTEGER NOT NULL REFERENCES workflow_versions(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  bytes INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  PRIMARY KEY(version_id, path));"
	"CREATE INDEX workflow_files_digest ON workflow_files(digest);", NULL, NULL},
	/* 3: runs, their outputs (blobs) and scores (IF NOT EXISTS: re-applying it
	 * after a downgrade of user_version is harmless) */
	{"CREATE TABLE IF NOT EXISTS runs ("
	"  id INTEGER PRIMARY KEY,"
	"  workflow_version_id INTEGER NOT NULL REFERENCES workflow_versions(id),"
	"  problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status IN ('queued','running','ingesting',"
	"    'succeeded','failed','cancelled','timed_out')),"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  images TEXT NOT NULL DEFAULT '[]',"
	"  executor TEXT NOT NULL DEFAULT 'local',"
	"  worker_pid INTEGER NOT NULL DEFAULT 0,"
	"  exit_code INTEGER,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  env_digest TEXT NOT NULL DEFAULT '',"
	"  dataset_digest TEXT NOT NULL DEFAULT '',"
	"  metrics_version TEXT NOT NULL DEFAULT '',"
	"  host TEXT NOT NULL DEFAULT '',"
	"  created_at TEXT NOT NULL,"
	"  started_at TEXT NOT NULL DEFAULT '',"
	"  finished_at TEXT NOT NULL DEFAULT '',"
	"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
	"  limits TEXT NOT NULL DEFAULT '{}',"
	"  worker_slot INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  interrupted INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS runs_status ON runs(status, id);"
	"CREATE INDEX IF NOT EXISTS runs_problem ON runs(problem_id);"
	"CREATE TABLE IF NOT EXISTS run_outputs ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status IN ('ok','missing','invalid')),"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY(run_id, image_id));"
	"CREATE TABLE IF NOT EXISTS run_output_files ("
	"  run_id INTEGER NOT NULL,"
	"  image_id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  bytes INTEGER NOT NULL,"
	"  PRIMARY KEY(run_id, image_id, name),"
	"  FOREIGN KEY(run_id, image_id) REFERENCES run_outputs(run_id, image_id) "
	"    ON DELETE CASCADE);"
	"CREATE INDEX IF NOT EXISTS run_output_files_digest ON run_output_files(digest);"
	"CREATE TABLE IF NOT EXISTS run_scores ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  metric TEXT NOT NULL,"
	"  value REAL,"
	"  value_text TEXT NOT NULL DEFAULT '',"
	"  gt_version_id INTEGER NOT NULL,"
	"  metrics_version TEXT NOT NULL,"
	"  PRIMARY KEY(run_id, image_id, metric, metrics_version, gt_version_id));", NULL,
	/* SQLite's implicit rowid orders a run's scores as they were added */
	"ALTER TABLE run_scores ADD COLUMN rowid BIGINT GENERATED BY DEFAULT AS IDENTITY;"},
	/* 4: reruns and their verdict (a table, so that re-applying is harmless); error maps (per-object outcome of every
	 * image of a run, and counts per category for queries) */
	{"CREATE TABLE IF NOT EXISTS run_reruns ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	"  rerun_of INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  tolerance REAL NOT NULL,"
	"  verdict TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT '{}');"
	"CREATE TABLE IF NOT EXISTS run_objects ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  obj_id INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  match INTEGER,"
	"  score REAL,"
	"  detail TEXT NOT NULL DEFAULT '{}',"
	"  PRIMARY KEY(run_id, image_id, kind, obj_id));"
	"CREATE TABLE IF NOT EXISTS run_errors ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  category TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY(run_id, image_id, category));"
	"CREATE INDEX IF NOT EXISTS run_errors_category ON run_errors(category, count);", NULL,
	"ALTER TABLE run_objects ADD COLUMN rowid BIGINT GENERATED BY DEFAULT AS IDENTITY;"},
	/* 5: scores replaced by a rescore (after a GT or metric library change)
	 * are kept here, with the time they were superseded (DESIGN.md §12) */
	{"CREATE TABLE IF NOT EXISTS run_score_history ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  metric TEXT NOT NULL,"
	"  value REAL,"
	"  value_text TEXT NOT NULL DEFAULT '',"
	"  gt_version_id INTEGER NOT NULL,"
	"  metrics_version TEXT NOT NULL,"
	"  superseded_at TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS run_score_history_run ON run_score_history(run_id, image_id);"
	/* the metric library's warnings on an output (binary masks...) */
	"CREATE TABLE IF NOT EXISTS run_output_warnings ("
	"  run_id INTEGER NOT NULL,"
	"  image_id INTEGER NOT NULL,"
	"  warnings TEXT NOT NULL,"
	"  PRIMARY KEY(run_id, image_id),"
	"  FOREIGN KEY(run_id, image_id) REFERENCES run_outputs(run_id, image_id) "
	"    ON DELETE CASCADE);", NULL, NULL},
	/* 6: the executor's job id of a run (docs/runs.md "Executors"), and the
	 * state changes of runs in order, for other processes to follow */
	{"CREATE TABLE IF NOT EXISTS run_jobs ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	"  job TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS run_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  at TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS run_events_run ON run_events(run_id, id);"
	/* pages of lists in id order, and error counts of one run by category */
	"CREATE INDEX IF NOT EXISTS images_problem_id ON images(problem_id, id);"
	"CREATE INDEX IF NOT EXISTS run_errors_run_category ON run_errors(run_id, category, count);"
	/* the mean of every metric over a run's images, kept for lists (a
	 * cache: removed whenever the run's scores change, computed again) */
	"CREATE TABLE IF NOT EXISTS run_summaries ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	"  means TEXT NOT NULL);", NULL,
	/* followers in other processes and on other hosts are woken by
	 * LISTEN (docs/store.md "Events"): one channel per instance schema */
	"CREATE FUNCTION run_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	"  PERFORM pg_notify('bia_events_' || current_schema(), NEW.id::text);"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER run_events_notify AFTER INSERT ON run_events"
	"  FOR EACH ROW EXECUTE FUNCTION run_events_notify();"
	/* a new queued run wakes the workers too */
	"CREATE TRIGGER runs_notify AFTER INSERT ON runs"
	"  FOR EACH ROW EXECUTE FUNCTION run_events_notify();"},
	/* 7: the image count of every problem, kept by triggers in the
	 * transactions that add or remove images (lists read one row, not a
	 * count over the images) */
	{"CREATE TABLE IF NOT EXISTS problem_counts ("
	"  problem_id INTEGER PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE,"
	"  images INTEGER NOT NULL DEFAULT 0);"
	/* one metric's values of a run without reading the others */
	"CREATE INDEX IF NOT EXISTS run_scores_metric ON run_scores(run_id, metric, image_id);",
	"INSERT OR REPLACE INTO problem_counts(problem_id, images) SELECT p.id, "
	"  (SELECT count(*) FROM images i WHERE i.problem_id = p.id) FROM problems p;"
	"CREATE TRIGGER IF NOT EXISTS problem_counts_new AFTER INSERT ON problems BEGIN"
	"  INSERT OR IGNORE INTO problem_counts(problem_id, images) VALUES (new.id, 0); END;"
	"CREATE TRIGGER IF NOT EXISTS problem_counts_add AFTER INSERT ON images BEGIN"
	"  UPDATE problem_counts SET images = images + 1 WHERE problem_id = new.problem_id; END;"
	"CREATE TRIGGER IF NOT EXISTS problem_counts_rm AFTER DELETE ON images BEGIN"
	"  UPDATE problem_counts SET images = images - 1 WHERE problem_id = old.problem_id; END;",
	"INSERT INTO problem_counts(problem_id, images) SELECT p.id, "
	"  (SELECT count(*) FROM images i WHERE i.problem_id = p.id) FROM problems p "
	"  ON CONFLICT (problem_id) DO UPDATE SET images = excluded.images;"
	"CREATE FUNCTION problem_counts_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	"  IF TG_OP = 'INSERT' AND TG_TABLE_NAME = 'problems' THEN"
	"    INSERT INTO problem_counts(problem_id, images) VALUES (NEW.id, 0)"
	"      ON CONFLICT DO NOTHING;"
	"  ELSIF TG_OP = 'INSERT' THEN"
	"    UPDATE problem_counts SET images = images + 1 WHERE problem_id = NEW.problem_id;"
	"  ELSE"
	"    UPDATE problem_counts SET images = images - 1 WHERE problem_id = OLD.problem_id;"
	"  END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER problem_counts_new AFTER INSERT ON problems"
	"  FOR EACH ROW EXECUTE FUNCTION problem_counts_fn();"
	"CREATE TRIGGER problem_counts_add AFTER INSERT ON images"
	"  FOR EACH ROW EXECUTE FUNCTION problem_counts_fn();"
	"CREATE TRIGGER problem_counts_rm AFTER DELETE ON images"
	"  FOR EACH ROW EXECUTE FUNCTION problem_counts_fn();"},
	/* 8: accounts (users with a role, API tokens and browser sessions kept
	 * as hashes), private problems and their members */
	{"CREATE TABLE IF NOT EXISTS users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'contributor', 'viewer')),"
	"  pwhash TEXT NOT NULL DEFAULT '',"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('api', 'session')),"
	"  name TEXT NOT NULL DEFAULT '',"
	"  hash TEXT NOT NULL UNIQUE,"
	"  csrf TEXT NOT NULL DEFAULT '',"
	"  created_at TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user_id, id);"
	"CREATE TABLE IF NOT EXISTS problem_private ("
	"  problem_id INTEGER PRIMARY KEY REFERENCES problems(id) ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS problem_members ("
	"  problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  PRIMARY KEY(problem_id, user_id));"
	"CREATE INDEX IF NOT EXISTS problem_members_user ON problem_members(user_id);", NULL, NULL},
	/* 9: ids of images, GT versions and runs are never given again after a
	 * removal (OME-Zarr chunks are cached as immutable under them): the
	 * highest id ever used of each, kept by triggers */
	{"CREATE TABLE IF NOT EXISTS id_marks (kind TEXT PRIMARY KEY, last INTEGER NOT NULL);",
	"INSERT OR IGNORE INTO id_marks VALUES ('images', (SELECT coalesce(max(id), 0) FROM images));"
	"INSERT OR IGNORE INTO id_marks VALUES ('gt_versions', "
	"  (SELECT coalesce(max(id), 0) FROM gt_versions));"
	"INSERT OR IGNORE INTO id_marks VALUES ('runs', (SELECT coalesce(max(id), 0) FROM runs));"
	"CREATE TRIGGER IF NOT EXISTS images_id_mark AFTER INSERT ON images BEGIN"
	"  UPDATE id_marks SET last = max(last, new.id) WHERE kind = 'images'; END;"
	"CREATE TRIGGER IF NOT EXISTS gt_versions_id_mark AFTER INSERT ON gt_versions BEGIN"
	"  UPDATE id_marks SET last = max(last, new.id) WHERE kind = 'gt_versions'; END;"
	"CREATE TRIGGER IF NOT EXISTS runs_id_mark AFTER INSERT ON runs BEGIN"
	"  UPDATE id_marks SET last = max(last, new.id) WHERE kind = 'runs'; END;",
	/* PostgreSQL's identity sequences never give an id twice; the marks
	 * are kept for a copy to SQLite (migrate-store) */
	"INSERT INTO id_marks VALUES ('images', (SELECT coalesce(max(id), 0) FROM images)),"
	"  ('gt_versions', (SELECT coalesce(max(id), 0) FROM gt_versions)),"
	"  ('runs', (SELECT coalesce(max(id), 0) FROM runs)) ON CONFLICT DO NOTHING;"
	"CREATE FUNCTION id_marks_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	"  UPDATE id_marks SET last = GREATEST(last, NEW.id) WHERE kind = TG_TABLE_NAME;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER images_id_mark AFTER INSERT ON images"
	"  FOR EACH ROW EXECUTE FUNCTION id_marks_fn();"
	"CREATE TRIGGER gt_versions_id_mark AFTER INSERT ON gt_versions"
	"  FOR EACH ROW EXECUTE FUNCTION id_marks_fn();"
	"CREATE TRIGGER runs_id_mark AFTER INSERT ON runs"
	"  FOR EACH ROW EXECUTE FUNCTION id_marks_fn();"},
	/* 10: exchange between instances (docs/exchange.md): the instance's
	 * own id, made once, and where an imported run came from
	 * ("<instance id>/runs/<id>"; no row for a run made here), so that a
	 * run imported twice is recognised */
	{"CREATE TABLE IF NOT EXISTS instance_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS run_origins ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	"  origin TEXT NOT NULL UNIQUE);",
	"INSERT OR IGNORE INTO instance_meta VALUES ('id', lower(hex(randomblob(16))));",
	"INSERT INTO instance_meta VALUES ('id', md5(random()::text || clock_timestamp()::text))"
	"  ON CONFLICT DO NOTHING;"},
	/* 11: trusted workflow sources (git repositories synced into versions)
	 * and the outcome of each tag seen (docs/workflows.md "Trusted
	 * sources"); times of syncs as Unix seconds, for the schedule */
	{"CREATE TABLE IF NOT EXISTS workflow_sources ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  url TEXT NOT NULL,"
	"  interval_s INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  synced_at INTEGER NOT NULL DEFAULT 0,"
	"  ok_at INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT 'never',"
	"  error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS workflow_source_tags ("
	"  source_id INTEGER NOT NULL REFERENCES workflow_sources(id) ON DELETE CASCADE,"
	"  tag TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  version_id INTEGER REFERENCES workflow_versions(id) ON DELETE SET NULL,"
	"  commit_id TEXT NOT NULL DEFAULT '',"
	"  digest TEXT NOT NULL DEFAULT '',"
	"  message TEXT NOT NULL DEFAULT '',"
	"  updated_at TEXT NOT NULL,"
	"  PRIMARY KEY(source_id, tag));", NULL, NULL},
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* SQLite's types as PostgreSQL's, by whole words: auto ids become
 * identities, INTEGER BIGINT, REAL DOUBLE PRECISION, BLOB BYTEA, and a
 * partial index on an integer flag a comparison. */
static const char *const pg_map[][2] = {
	{"id INTEGER PRIMARY KEY AUTOINCREMENT", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
	{"id INTEGER PRIMARY KEY,", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"},
	{"WHERE is_current;", "WHERE is_current <> 0;"},
	{"INTEGER", "BIGINT"},
	{"REAL", "DOUBLE PRECISION"},
	{"BLOB", "BYTEA"},
};

static int word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static char *pg_types(const char *sql)
{
	size_t n = strlen(sql), cap = n * 2 + 64, k = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t m = 0;
		for (; m < sizeof(pg_map) / sizeof(pg_map[0]); m++) {
			size_t l = strlen(pg_map[m][0]);
			if (!strncmp(sql + i, pg_map[m][0], l) && (i == 0 || !word_char(sql[i - 1])) &&
			    (!word_char(pg_map[m][0][l - 1]) || !word_char(sql[i + l])))
				break;
		}
		const char *add = m < sizeof(pg_map) / sizeof(pg_map[0]) ? pg_map[m][1] : NULL;
		size_t addn = add ? strlen(add) : 1;
		if (k + addn + 1 > cap) {
			cap = (cap + addn) * 2;
			char *t = realloc(out, cap);
			if (!t) {
				free(out);
				return NULL;
			}
			out = t;
		}
		if (add) {
			memcpy(out + k, add, addn);
			k += addn;
			i += strlen(pg_map[m][0]);
		} else {
			out[k++] = sql[i++];
		}
	}
	out[k] = '\0';
	return out;
}

char *bia__sql_migration(int pg, int i)
{
	if (i < 0 || i >= N_MIGRATIONS)
		return NULL;
	const struct migration *m = &migrations[i];
	char *common = pg ? pg_types(m->sql) : bia_strdup(m->sql);
	const char *extra = pg ? m->pg : m->sqlite;
	if (!common || !extra)
		return common;
	size_t a = strlen(common), b = strlen(extra);
	char *all = realloc(common, a + b + 1);
	if (!all) {
		free(common);
		return NULL;
	}
	memcpy(all + a, extra, b + 1);
	return all;
}

/* ------------------------------------------------------------ statements
 *
 * The operations below are written once, in SQL both dialects accept, and
 * run through the instance's driver (sqldb.h). */

static int prepare(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		   struct q_stmt **st)
{
	if (!inst->db) {
		*st = NULL;
		return bia_fail(ctx, BIA_EDB, "database: not open");
	}
	return Q_DRV(inst)->prepare(ctx, inst, sql, st);
}

static void fin(struct bia_instance *inst, struct q_stmt *st)
{
	if (st)
		st->drv->fin(inst, st);
}

/* The text of one of two statements: SQLite's, or PostgreSQL's where the
 * dialects differ. */
static const char *dialect(struct bia_instance *inst, const char *sqlite, const char *pg)
{
	return Q_DRV(inst)->pg ? pg : sqlite;
}

static int db_fail(struct bia_ctx *ctx, struct bia_instance *inst, const char *what)
{
	const struct q_driver *d = Q_DRV(inst);
	return bia_fail(ctx, d->busy(inst) ? BIA_EBUSY : BIA_EDB, "database: %s: %s", what,
			d->errmsg(inst));
}

static int exec(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql)
{
	return Q_DRV(inst)->exec(ctx, inst, sql);
}

static int tx_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return Q_DRV(inst)->begin(ctx, inst);
}

static int tx_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return Q_DRV(inst)->commit(ctx, inst);
}

static void tx_rollback(struct bia_instance *inst)
{
	Q_DRV(inst)->rollback(inst);
}

static int sql_begin(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return tx_begin(ctx, inst);
}

static int sql_commit(struct bia_ctx *ctx, struct bia_instance *inst)
{
	return tx_commit(ctx, inst);
}

static void sql_rollback(struct bia_instance *inst)
{
	tx_rollback(inst);
}

/* Step a statement that returns no row and finalise it: 0, or the
 * database error (`what` names the operation). */
static int step_done(struct bia_ctx *ctx, struct bia_instance *inst, struct q_stmt *st,
		     const char *what)
{
	int r = q_step(st);
	if (r == Q_ROW) /* RETURNING: the change is made */
		r = Q_DONE;
	fin(inst, st);
	return r == Q_DONE ? 0 : db_fail(ctx, inst, what);
}

/* Step an INSERT ... RETURNING id and finalise it: *pid the new row's id.
 * Returns the step's result (Q_DONE when the row was inserted). */
static int step_id(struct q_stmt *st, struct bia_instance *inst, int64_t *pid)
{
	int r = q_step(st);
	if (r == Q_ROW) {
		*pid = q_col_int64(st, 0);
		r = Q_DONE;
	} else if (r == Q_DONE) {
		r = Q_ERROR; /* no row inserted */
	}
	fin(inst, st);
	return r;
}

static void col_text(struct q_stmt *st, int i, char *out, size_t outsz)
{
	const char *s = q_col_text(st, i);
	snprintf(out, outsz, "%s", s ? s : "");
}

static char *col_dup(struct q_stmt *st, int i)
{
	const char *s = q_col_text(st, i);
	return bia_strdup(s ? s : "");
}

/* Step a prepared statement to its end, filling one element of size `esz`
 * per row with fill(st, elem) into a growing malloc'd array; the statement
 * is finalised. On failure the filled elements are released with rel (may
 * be NULL) and the array freed. `what` names the list in messages. */
static int collect_rows(struct bia_ctx *ctx, struct bia_instance *inst, struct q_stmt *st,
			size_t esz, void (*fill)(struct q_stmt *, void *), void (*rel)(void *),
			const char *what, void **pv, size_t *pn)
{
	size_t n = 0, cap = 0;
	unsigned char *v = NULL;
	int r, oom = 0;
	while ((r = q_step(st)) == Q_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16, bytes;
			void *t = bia_mul_size(ncap, esz, &bytes) ? NULL : realloc(v, bytes);
			if (!t) {
				oom = 1;
				break;
			}
			v = t;
			cap = ncap;
		}
		fill(st, v + n * esz);
		n++;
	}
	fin(inst, st);
	if (oom || r != Q_DONE) {
		for (size_t i = 0; rel && i < n; i++)
			rel(v + i * esz);
		free(v);
		if (oom)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory listing %s", what);
		return db_fail(ctx, inst, what);
	}
	*pv = v;
	*pn = n;
	return 0;
}

static int sql_schema_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver)
{
	return Q_DRV(inst)->get_version(ctx, inst, pver);
}

int bia__sql_migrations(void)
{
	return N_MIGRATIONS;
}

int bia__sql_migrate(struct bia_ctx *ctx, struct bia_instance *inst)
{
	const struct q_driver *d = Q_DRV(inst);
	int ver;
	if (d->get_version(ctx, inst, &ver))
		return ctx->rc;
	if (ver > N_MIGRATIONS)
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"database schema version %d is newer than this program (%d)",
				ver, N_MIGRATIONS);
	for (int v = ver; v < N_MIGRATIONS; v++) {
		if (tx_begin(ctx, inst))
			return ctx->rc;
		/* another process may have migrated meanwhile (the driver's
		 * begin of a migration serialises them where it can) */
		int now;
		if (d->get_version(ctx, inst, &now)) {
			tx_rollback(inst);
			return ctx->rc;
		}
		if (now > v) {
			tx_rollback(inst);
			v = now - 1;
			continue;
		}
		char *sql = bia__sql_migration(d->pg, v);
		if (!sql) {
			tx_rollback(inst);
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		}
		int failed = exec(ctx, inst, sql) || d->set_version(ctx, inst, v + 1);
		free(sql);
		if (failed) {
			int rc = ctx->rc;
			char msg[sizeof(ctx->msg)];
			memcpy(msg, ctx->msg, sizeof(msg));
			tx_rollback(inst);
			bia_fail(ctx, rc, "migration %d failed: %s", v + 1, msg);
			return rc;
		}
		if (tx_commit(ctx, inst))
			return ctx->rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- problems */

static int sql_problem_add(struct bia_ctx *ctx, struct bia_instance *inst,
			  struct bia_problem *p)
{
	struct q_stmt *st;
	bia_now_iso(p->created);
	if (prepare(ctx, inst,
		    "INSERT INTO problems(name, class, description, main_metric, params, "
		    "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
		    &st))
		return ctx->rc;
	q_bind_text(st, 1, p->name);
	q_bind_text(st, 2, bia_class_code(p->cls));
	q_bind_text(st, 3, p->description ? p->description : "");
	q_bind_text(st, 4, p->main_metric);
	q_bind_text(st, 5, p->params ? p->params : "{}");
	q_bind_text(st, 6, p->created);
	int r = step_id(st, inst, &p->id);
	if (r == Q_CONSTRAINT)
		return bia_fail(ctx, BIA_EEXIST, "problem '%s' already exists", p->name);
	if (r != Q_DONE)
		return db_fail(ctx, inst, "insert problem");
	return 0;
}

#define PROBLEM_COLS                                                                  \
	"SELECT p.id, p.name, p.class, p.description, p.main_metric, p.params, "     \
	"p.created_at, COALESCE(c.images, 0), "                                        \
	"EXISTS (SELECT 1 FROM problem_private x WHERE x.problem_id = p.id) "          \
	"FROM problems p LEFT JOIN problem_counts c ON c.problem_id = p.id "

/* The problems a viewer sees (?A: restricted, ?B: user id): public ones,
 * and private ones the user is a member of. X names the problem id. */
#define VISIBLE(x, a, b)                                                              \
	"(" a " = 0 OR NOT EXISTS (SELECT 1 FROM problem_private vp WHERE vp.problem_id = " \
	x ") OR EXISTS (SELECT 1 FROM problem_members vm WHERE vm.problem_id = " x        \
	" AND vm.user_id = " b ")) "

static void problem_row(struct q_stmt *st, struct bia_problem *p)
{
	char cls[16];
	memset(p, 0, sizeof(*p));
	p->id = q_col_int64(st, 0);
	col_text(st, 1, p->name, sizeof(p->name));
	col_text(st, 2, cls, sizeof(cls));
	p->cls = bia_class_parse(cls);
	p->description = col_dup(st, 3);
	col_text(st, 4, p->main_metric, sizeof(p->main_metric));
	p->params = col_dup(st, 5);
	col_text(st, 6, p->created, sizeof(p->created));
	p->n_images = q_col_int64(st, 7);
	p->private_ = (int)q_col_int64(st, 8);
}

static int sql_problem_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			  int64_t id, struct bia_problem *p)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, name ? PROBLEM_COLS "WHERE p.name = ?" : PROBLEM_COLS "WHERE p.id = ?",
		    &st))
		return ctx->rc;
	if (name)
		q_bind_text(st, 1, name);
	else
		q_bind_int64(st, 1, id);
	int r = q_step(st);
	if (r == Q_ROW) {
		problem_row(st, p);
		fin(inst, st);
		return 0;
	}
	fin(inst, st);
	if (r != Q_DONE)
		return db_fail(ctx, inst, "get problem");
	if (name)
		return bia_fail(ctx, BIA_ENOENT, "no problem named '%s'", name);
	return bia_fail(ctx, BIA_ENOENT, "no problem with id %lld", (long long)id);
}

static void problem_row_v(struct q_stmt *st, void *e)
{
	problem_row(st, e);
}

static void bia_problem_release_v(void *e)
{
	bia_problem_release(e);
}

/* The number of rows of a list (sql: a count with one optional int64
 * parameter, bound when the list has one). */
static int count_rows(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		      int nparams, int64_t param, int64_t *ptotal)
{
	struct q_stmt *st;
	if (!ptotal)
		return 0;
	if (prepare(ctx, inst, sql, &st))
		return ctx->rc;
	if (nparams)
		q_bind_int64(st, 1, param);
	int r = q_step(st);
	*ptotal = r == Q_ROW ? q_col_int64(st, 0) : 0;
	fin(inst, st);
	return r == Q_ROW ? 0 : db_fail(ctx, inst, "count rows");
}

/* Bind a page to the last two parameters (LIMIT ? OFFSET ?). */
static void bind_page(struct q_stmt *st, int first, struct bia_page page)
{
	q_bind_limit(st, first, page.limit);
	q_bind_int64(st, first + 1, page.offset);
}

static int sql_problem_list(struct bia_ctx *ctx, struct bia_instance *inst,
			   const struct bia_viewer *viewer, struct bia_page page,
			   struct bia_problem **pv, size_t *pn, int64_t *ptotal)
{
	struct q_stmt *st;
	if (ptotal) {
		if (prepare(ctx, inst,
			    "SELECT count(*) FROM problems p WHERE " VISIBLE("p.id", "?1", "?2"),
			    &st))
			return ctx->rc;
		q_bind_int64(st, 1, viewer->restricted);
		q_bind_int64(st, 2, viewer->user_id);
		int r = q_step(st);
		*ptotal = r == Q_ROW ? q_col_int64(st, 0) : 0;
		fin(inst, st);
		if (r != Q_ROW)
			return db_fail(ctx, inst, "count problems");
	}
	if (prepare(ctx, inst,
		    PROBLEM_COLS "WHERE " VISIBLE("p.id", "?1", "?2") "ORDER BY p.id LIMIT ?3 OFFSET ?4",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, viewer->restricted);
	q_bind_int64(st, 2, viewer->user_id);
	bind_page(st, 3, page);
	void *v;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_problem), problem_row_v, bia_problem_release_v, "problems", &v, pn);
	if (!rc)
		*pv = v;
	return rc;
}

/* The digests a query returns (one column), as a malloc'd array. */
static void digest_fill(struct q_stmt *st, void *e)
{
	col_text(st, 0, e, BIA_SHA256_HEX);
}

static int digest_list(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		       char (**pd)[BIA_SHA256_HEX], size_t *pn)
{
	struct q_stmt *st;
	void *v;
	if (prepare(ctx, inst, sql, &st))
		return ctx->rc;
	int rc = collect_rows(ctx, inst, st, BIA_SHA256_HEX, digest_fill, NULL, "digests", &v, pn);
	if (!rc)
		*pd = v;
	return rc;
}

/* The condition "no row references blob digest D" (D a column name): the
 * one definition of an unreferenced blob. */
#define BLOB_UNUSED(d)                                                                   \
	"NOT EXISTS (SELECT 1 FROM images i WHERE i.digest = " d ") AND NOT EXISTS "       \
	"(SELECT 1 FROM gt_files g WHERE g.digest = " d ") AND NOT EXISTS (SELECT 1 FROM " \
	"workflow_files w WHERE w.digest = " d ") AND NOT EXISTS (SELECT 1 FROM "          \
	"run_output_files o WHERE o.digest = " d ")"

/* Digests in `blobs` that no row references any more. */
static int unreferenced(struct bia_ctx *ctx, struct bia_instance *inst,
			char (**pd)[BIA_SHA256_HEX], size_t *pn)
{
	return digest_list(ctx, inst, "SELECT b.digest FROM blobs b WHERE " BLOB_UNUSED("b.digest"),
			   pd, pn);
}

/* Forget blob rows no row references (left by removals; their files are
 * orphans for fsck, or unlinked by the caller). */
static int sql_blob_rows_gc(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn)
{
	if (exec(ctx, inst, "DELETE FROM blobs WHERE " BLOB_UNUSED("blobs.digest")))
		return ctx->rc;
	*pn = (size_t)q_changes(inst);
	return 0;
}

static int sql_problem_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 char (**pdigests)[BIA_SHA256_HEX], size_t *pn)
{
	struct q_stmt *st;
	*pdigests = NULL;
	*pn = 0;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	if (prepare(ctx, inst, "DELETE FROM problems WHERE id = ?", &st))
		goto fail;
	q_bind_int64(st, 1, id);
	if (step_done(ctx, inst, st, "delete problem"))
		goto fail;
	size_t ngc;
	if (unreferenced(ctx, inst, pdigests, pn) || sql_blob_rows_gc(ctx, inst, &ngc) ||
	    tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	free(*pdigests);
	*pdigests = NULL;
	*pn = 0;
	return ctx->rc;
}

/* One integer from a query with one bound id (0 when no row). */
static int64_t scalar_i64(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
			  int64_t id, int *perr)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, sql, &st)) {
		*perr = 1;
		return 0;
	}
	q_bind_int64(st, 1, id);
	int64_t v = 0;
	int r = q_step(st);
	if (r == Q_ROW)
		v = q_col_int64(st, 0);
	else if (r != Q_DONE)
		*perr = 1, db_fail(ctx, inst, "query");
	fin(inst, st);
	return v;
}

/* Does run r list image ?1 (runs.images, a JSON array of ids)? Has it an
 * output of it? */
#define RUN_USES_IMAGE_SQLITE "EXISTS (SELECT 1 FROM json_each(r.images) j WHERE j.value = ?1)"
#define RUN_USES_IMAGE_PG "(r.images::jsonb @> to_jsonb(?1::bigint))"
#define RUN_HAS_OUTPUT "EXISTS (SELECT 1 FROM run_outputs o WHERE o.run_id = r.id AND o.image_id = ?1)"

/* Remove an image (with its GT versions; with force also the outputs,
 * scores and error maps of finished runs on it). Refused while a run that
 * has not ended uses it, and without force while a finished run does. */
static int sql_image_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
		       char (**pdigests)[BIA_SHA256_HEX], size_t *pn)
{
	struct q_stmt *st;
	int err = 0;
	*pdigests = NULL;
	*pn = 0;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	int64_t active = scalar_i64(
		ctx, inst,
		dialect(inst,
			"SELECT min(r.id) FROM runs r WHERE r.status IN ('queued','running',"
			"'ingesting') AND " RUN_USES_IMAGE_SQLITE,
			"SELECT min(r.id) FROM runs r WHERE r.status IN ('queued','running',"
			"'ingesting') AND " RUN_USES_IMAGE_PG),
		id, &err);
	int64_t used = err ? 0
			   : scalar_i64(ctx, inst,
					dialect(inst, "SELECT count(*) FROM runs r WHERE " RUN_USES_IMAGE_SQLITE
					       " OR " RUN_HAS_OUTPUT,
					       "SELECT count(*) FROM runs r WHERE " RUN_USES_IMAGE_PG
					       " OR " RUN_HAS_OUTPUT),
					id, &err);
	int64_t first = err ? 0
			    : scalar_i64(ctx, inst,
					 dialect(inst, "SELECT min(r.id) FROM runs r WHERE " RUN_USES_IMAGE_SQLITE
						" OR " RUN_HAS_OUTPUT,
						"SELECT min(r.id) FROM runs r WHERE " RUN_USES_IMAGE_PG
						" OR " RUN_HAS_OUTPUT),
					 id, &err);
	if (err)
		goto fail;
	if (active) {
		bia_fail(ctx, BIA_EBUSY,
			 "image %lld is used by run %lld, which has not ended (cancel it first)",
			 (long long)id, (long long)active);
		goto fail;
	}
	if (used && !force) {
		bia_fail(ctx, BIA_EBUSY,
			 "image %lld is referenced by %lld run(s) (e.g. run %lld): --force removes "
			 "it with their outputs and scores of this image",
			 (long long)id, (long long)used, (long long)first);
		goto fail;
	}
	/* the summaries of runs that scored it no longer hold */
	if (prepare(ctx, inst,
		    "DELETE FROM run_summaries WHERE run_id IN (SELECT run_id FROM run_outputs "
		    "WHERE image_id = ?)",
		    &st))
		goto fail;
	q_bind_int64(st, 1, id);
	if (step_done(ctx, inst, st, "forget run summaries"))
		goto fail;
	if (prepare(ctx, inst, "DELETE FROM images WHERE id = ?", &st))
		goto fail;
	q_bind_int64(st, 1, id);
	if (step_done(ctx, inst, st, "delete image"))
		goto fail;
	if (!q_changes(inst)) {
		bia_fail(ctx, BIA_ENOENT, "no image %lld", (long long)id);
		goto fail;
	}
	size_t ngc;
	if (unreferenced(ctx, inst, pdigests, pn) || sql_blob_rows_gc(ctx, inst, &ngc) ||
	    tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	free(*pdigests);
	*pdigests = NULL;
	*pn = 0;
	return ctx->rc;
}

/* Remove a GT version; refused without force while runs are scored against
 * it. When it was current, the newest remaining version becomes current. */
static int sql_gt_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id,
		    int force, char (**pdigests)[BIA_SHA256_HEX], size_t *pn)
{
	struct q_stmt *st;
	int err = 0;
	*pdigests = NULL;
	*pn = 0;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	int64_t image = scalar_i64(ctx, inst, "SELECT image_id FROM gt_versions WHERE id = ?",
				   version_id, &err);
	int64_t used = err ? 0
			   : scalar_i64(ctx, inst,
					"SELECT count(DISTINCT run_id) FROM run_scores WHERE "
					"gt_version_id = ?",
					version_id, &err);
	if (err)
		goto fail;
	if (!image) {
		bia_fail(ctx, BIA_ENOENT, "no ground-truth version %lld", (long long)version_id);
		goto fail;
	}
	if (used && !force) {
		bia_fail(ctx, BIA_EBUSY,
			 "ground-truth version %lld scores %lld run(s): --force removes it (those "
			 "runs are then rescored against the current version by 'rescore' or "
			 "'bench')",
			 (long long)version_id, (long long)used);
		goto fail;
	}
	if (prepare(ctx, inst, "DELETE FROM gt_versions WHERE id = ?", &st))
		goto fail;
	q_bind_int64(st, 1, version_id);
	if (step_done(ctx, inst, st, "delete ground-truth version"))
		goto fail;
	if (prepare(ctx, inst,
		    "UPDATE gt_versions SET is_current = 1 WHERE id = (SELECT max(id) FROM "
		    "gt_versions WHERE image_id = ?1) AND NOT EXISTS (SELECT 1 FROM gt_versions "
		    "WHERE image_id = ?1 AND is_current <> 0)",
		    &st))
		goto fail;
	q_bind_int64(st, 1, image);
	if (step_done(ctx, inst, st, "make a ground-truth version current"))
		goto fail;
	size_t ngc;
	if (unreferenced(ctx, inst, pdigests, pn) || sql_blob_rows_gc(ctx, inst, &ngc) ||
	    tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	free(*pdigests);
	*pdigests = NULL;
	*pn = 0;
	return ctx->rc;
}

/* ----------------------------------------------------------------- images */

static int add_blob_row(struct bia_ctx *ctx, struct bia_instance *inst, const char *digest,
			uint64_t size, const char *now)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "INSERT OR IGNORE INTO blobs(digest, size, created_at) VALUES (?, ?, ?)",
		    &st))
		return ctx->rc;
	q_bind_text(st, 1, digest);
	q_bind_int64(st, 2, (int64_t)size);
	q_bind_text(st, 3, now);
	int r = q_step(st);
	fin(inst, st);
	return r == Q_DONE ? 0 : db_fail(ctx, inst, "insert blob");
}

static int add_image(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_image_rec *im, const char *now)
{
	struct q_stmt *st;
	/* refuse duplicates with a message naming the existing image */
	if (prepare(ctx, inst,
		    "SELECT id, stem, digest = ?2 FROM images WHERE problem_id = ?1 AND "
		    "(digest = ?2 OR stem = ?3)",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, problem_id);
	q_bind_text(st, 2, im->digest);
	q_bind_text(st, 3, im->stem);
	if (q_step(st) == Q_ROW) {
		long long other = q_col_int64(st, 0);
		char ostem[256];
		col_text(st, 1, ostem, sizeof(ostem));
		int same_digest = (int)q_col_int64(st, 2);
		fin(inst, st);
		if (same_digest)
			return bia_fail(ctx, BIA_EEXIST,
					"%s: the same file is already image %lld ('%s')",
					im->original_name, other, ostem);
		return bia_fail(ctx, BIA_EEXIST, "%s: an image with stem '%s' already exists (id %lld)",
				im->original_name, im->stem, other);
	}
	fin(inst, st);
	if (add_blob_row(ctx, inst, im->digest, im->bytes, now))
		return ctx->rc;
	if (prepare(ctx, inst,
		    "INSERT INTO images(id, problem_id, stem, original_name, digest, bytes, format, "
		    "layout, size_x, size_y, size_z, size_c, size_t, dtype, phys_x, phys_y, "
		    "phys_z, created_at) VALUES ((SELECT last + 1 FROM id_marks WHERE kind = "
		    "'images'),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, problem_id);
	q_bind_text(st, 2, im->stem);
	q_bind_text(st, 3, im->original_name);
	q_bind_text(st, 4, im->digest);
	q_bind_int64(st, 5, (int64_t)im->bytes);
	q_bind_text(st, 6, im->format);
	q_bind_text(st, 7, im->layout);
	for (int i = 0; i < 5; i++)
		q_bind_int64(st, 8 + i, (int64_t)im->size[i]);
	q_bind_text(st, 13, im->dtype);
	for (int i = 0; i < 3; i++)
		q_bind_double(st, 14 + i, im->phys[i]);
	q_bind_text(st, 17, now);
	if (step_id(st, inst, &im->id) != Q_DONE)
		return db_fail(ctx, inst, "insert image");
	im->problem_id = problem_id;
	snprintf(im->created, sizeof(im->created), "%s", now);
	return 0;
}

static int add_gt(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_import_item *it,
		  int64_t image_id, const char *now)
{
	struct q_stmt *st;
	if (it->make_current) {
		if (prepare(ctx, inst, "UPDATE gt_versions SET is_current = 0 WHERE image_id = ?",
			    &st))
			return ctx->rc;
		q_bind_int64(st, 1, image_id);
		if (step_done(ctx, inst, st, "update GT versions"))
			return ctx->rc;
	}
	if (prepare(ctx, inst,
		    "INSERT INTO gt_versions(id, image_id, annotator, is_current, created_at) "
		    "VALUES ((SELECT last + 1 FROM id_marks WHERE kind = 'gt_versions'), ?, ?, ?, ?) "
		    "RETURNING id",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, image_id);
	q_bind_text(st, 2, it->annotator);
	q_bind_int64(st, 3, it->make_current ? 1 : 0);
	q_bind_text(st, 4, now);
	int64_t vid = 0;
	if (step_id(st, inst, &vid) != Q_DONE)
		return db_fail(ctx, inst, "insert GT version");
	for (size_t i = 0; i < it->ngt; i++) {
		const struct bia_gt_file *f = &it->gt[i];
		if (add_blob_row(ctx, inst, f->digest, f->bytes, now))
			return ctx->rc;
		if (prepare(ctx, inst,
			    "INSERT INTO gt_files(version_id, name, kind, digest, bytes, size_x, "
			    "size_y, size_z, size_c, size_t, dtype) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			    &st))
			return ctx->rc;
		q_bind_int64(st, 1, vid);
		q_bind_text(st, 2, f->name);
		q_bind_text(st, 3, f->kind);
		q_bind_text(st, 4, f->digest);
		q_bind_int64(st, 5, (int64_t)f->bytes);
		for (int k = 0; k < 5; k++)
			q_bind_int64(st, 6 + k, (int64_t)f->size[k]);
		q_bind_text(st, 11, f->dtype);
		if (step_done(ctx, inst, st, "insert GT file"))
			return ctx->rc;
	}
	it->gt_version_id = vid;
	return 0;
}

static int sql_import(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_import_item *items, size_t n)
{
	char now[21];
	bia_now_iso(now);
	if (tx_begin(ctx, inst))
		return ctx->rc;
	for (size_t i = 0; i < n; i++) {
		struct bia_import_item *it = &items[i];
		int64_t image_id = it->image_id;
		if (!image_id) {
			if (add_image(ctx, inst, problem_id, &it->image, now))
				goto fail;
			image_id = it->image.id;
		}
		if (it->ngt && add_gt(ctx, inst, it, image_id, now))
			goto fail;
	}
	bia_faultsim("import.commit");
	if (tx_commit(ctx, inst))
		goto fail;
	bia_faultsim("import.committed");
	return 0;
fail:
	tx_rollback(inst);
	for (size_t i = 0; i < n; i++) {
		items[i].gt_version_id = 0;
		if (!items[i].image_id)
			items[i].image.id = 0;
	}
	return ctx->rc;
}

#define IMAGE_COLS                                                                     \
	"SELECT i.id, i.problem_id, i.stem, i.original_name, i.digest, i.bytes, i.format, " \
	"i.layout, i.size_x, i.size_y, i.size_z, i.size_c, i.size_t, i.dtype, i.phys_x, "   \
	"i.phys_y, i.phys_z, i.created_at, "                                               \
	"coalesce((SELECT g.id FROM gt_versions g WHERE g.image_id = i.id AND "            \
	"g.is_current <> 0), 0), p.name FROM images i JOIN problems p ON p.id = i.problem_id "

static void image_row(struct q_stmt *st, struct bia_image_rec *im)
{
	memset(im, 0, sizeof(*im));
	im->id = q_col_int64(st, 0);
	im->problem_id = q_col_int64(st, 1);
	col_text(st, 2, im->stem, sizeof(im->stem));
	col_text(st, 3, im->original_name, sizeof(im->original_name));
	col_text(st, 4, im->digest, sizeof(im->digest));
	im->bytes = (uint64_t)q_col_int64(st, 5);
	col_text(st, 6, im->format, sizeof(im->format));
	col_text(st, 7, im->layout, sizeof(im->layout));
	for (int i = 0; i < 5; i++)
		im->size[i] = (uint64_t)q_col_int64(st, 8 + i);
	col_text(st, 13, im->dtype, sizeof(im->dtype));
	for (int i = 0; i < 3; i++)
		im->phys[i] = q_col_double(st, 14 + i);
	col_text(st, 17, im->created, sizeof(im->created));
	im->gt_version = q_col_int64(st, 18);
	col_text(st, 19, im->problem, sizeof(im->problem));
}

static void image_row_v(struct q_stmt *st, void *e)
{
	image_row(st, e);
}

static int sql_image_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			 struct bia_page page, struct bia_image_rec **pv, size_t *pn,
			 int64_t *ptotal)
{
	struct q_stmt *st;
	/* the count kept by triggers; the page's ids from the index alone (a
	 * deep offset skips index entries, not computed rows) */
	if (count_rows(ctx, inst,
		       problem_id ? "SELECT coalesce((SELECT images FROM problem_counts WHERE "
				    "problem_id = ?), 0)"
				  : "SELECT count(*) FROM images",
		       problem_id != 0, problem_id, ptotal))
		return ctx->rc;
	if (prepare(ctx, inst,
		    problem_id ? IMAGE_COLS "WHERE i.id IN (SELECT id FROM images WHERE problem_id = ?1 "
					    "ORDER BY id LIMIT ?2 OFFSET ?3) ORDER BY i.id"
			       : IMAGE_COLS "WHERE i.id IN (SELECT id FROM images WHERE ?1 = 0 "
					    "ORDER BY id LIMIT ?2 OFFSET ?3) ORDER BY i.id",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, problem_id);
	bind_page(st, 2, page);
	void *v;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_image_rec), image_row_v, NULL,
			      "images", &v, pn);
	if (!rc)
		*pv = v;
	return rc;
}

static int sql_image_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			int64_t problem_id, const char *stem, struct bia_image_rec *out)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    stem ? IMAGE_COLS "WHERE i.problem_id = ? AND i.stem = ?" : IMAGE_COLS "WHERE i.id = ?",
		    &st))
		return ctx->rc;
	if (stem) {
		q_bind_int64(st, 1, problem_id);
		q_bind_text(st, 2, stem);
	} else {
		q_bind_int64(st, 1, id);
	}
	int r = q_step(st);
	if (r == Q_ROW)
		image_row(st, out);
	fin(inst, st);
	if (r == Q_ROW)
		return 0;
	if (r != Q_DONE)
		return db_fail(ctx, inst, "get image");
	if (stem)
		return bia_fail(ctx, BIA_ENOENT, "no image with stem '%s' in this problem", stem);
	return bia_fail(ctx, BIA_ENOENT, "no image with id %lld", (long long)id);
}

static int sql_gt_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		      struct bia_gt_version **pv, size_t *pn)
{
	struct q_stmt *st, *fs;
	size_t n = 0, cap = 0;
	struct bia_gt_version *v = NULL;
	if (prepare(ctx, inst,
		    "SELECT id, image_id, annotator, is_current, created_at FROM gt_versions "
		    "WHERE image_id = ? ORDER BY id",
		    &st))
		return ctx->rc;
	if (prepare(ctx, inst,
		    "SELECT name, kind, digest, bytes, size_x, size_y, size_z, size_c, size_t, "
		    "dtype FROM gt_files WHERE version_id = ? ORDER BY id",
		    &fs)) {
		fin(inst, st);
		return ctx->rc;
	}
	q_bind_int64(st, 1, image_id);
	int rc = 0;
	while (!rc && q_step(st) == Q_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			void *t = realloc(v, cap * sizeof(*v));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			v = t;
		}
		struct bia_gt_version *g = &v[n++];
		memset(g, 0, sizeof(*g));
		g->id = q_col_int64(st, 0);
		g->image_id = q_col_int64(st, 1);
		col_text(st, 2, g->annotator, sizeof(g->annotator));
		g->current = (int)q_col_int64(st, 3);
		col_text(st, 4, g->created, sizeof(g->created));
		q_reset(fs);
		q_bind_int64(fs, 1, g->id);
		size_t fcap = 0;
		while (q_step(fs) == Q_ROW) {
			if (g->nfiles == fcap) {
				fcap = fcap ? fcap * 2 : 2;
				void *t = realloc(g->files, fcap * sizeof(*g->files));
				if (!t) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					break;
				}
				g->files = t;
			}
			struct bia_gt_file *f = &g->files[g->nfiles++];
			memset(f, 0, sizeof(*f));
			col_text(fs, 0, f->name, sizeof(f->name));
			col_text(fs, 1, f->kind, sizeof(f->kind));
			col_text(fs, 2, f->digest, sizeof(f->digest));
			f->bytes = (uint64_t)q_col_int64(fs, 3);
			for (int k = 0; k < 5; k++)
				f->size[k] = (uint64_t)q_col_int64(fs, 4 + k);
			col_text(fs, 9, f->dtype, sizeof(f->dtype));
		}
	}
	fin(inst, st);
	fin(inst, fs);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			bia_gt_version_release(&v[i]);
		free(v);
		return rc;
	}
	*pv = v;
	*pn = n;
	return 0;
}

static int sql_blob_refs(struct bia_ctx *ctx, struct bia_instance *inst,
			char (**pd)[BIA_SHA256_HEX], size_t *pn)
{
	return digest_list(ctx, inst,
			   "SELECT digest FROM images UNION SELECT digest FROM gt_files UNION "
			   "SELECT digest FROM workflow_files UNION SELECT digest FROM "
			   "run_output_files ORDER BY 1",
			   pd, pn);
}

static void layer_fill(struct q_stmt *st, void *e)
{
	struct bia_layer *l = e;
	memset(l, 0, sizeof(*l));
	l->image_id = q_col_int64(st, 0);
	l->kind = (enum bia_layer_kind)(int)q_col_int64(st, 1);
	l->ref = q_col_int64(st, 2);
	l->current = (int)q_col_int64(st, 3);
	col_text(st, 4, l->digest, sizeof(l->digest));
	col_text(st, 5, l->name, sizeof(l->name));
	col_text(st, 6, l->title, sizeof(l->title));
	l->cls = bia_class_parse(q_col_text(st, 7));
	l->problem_id = q_col_int64(st, 8);
	l->vector = (int)q_col_int64(st, 9);
}

static int sql_layers(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		     int vectors, struct bia_layer **pv, size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "SELECT i.id, 0, 0, 0, i.digest, i.original_name, '', p.class, p.id, 0 "
		    "FROM images i JOIN problems p ON p.id = i.problem_id WHERE ?1 = 0 OR i.id = ?1 "
		    "UNION ALL "
		    "SELECT v.image_id, 1, v.id, v.is_current, f.digest, f.name, v.annotator, "
		    "p.class, p.id, CASE WHEN f.kind = 'swc' THEN 1 ELSE 0 END FROM gt_versions v "
		    "JOIN gt_files f ON f.version_id = v.id "
		    "JOIN images i ON i.id = v.image_id JOIN problems p ON p.id = i.problem_id "
		    "WHERE (f.kind = 'mask' OR (?2 <> 0 AND f.kind = 'swc')) "
		    "AND (?1 = 0 OR v.image_id = ?1) "
		    "UNION ALL "
		    "SELECT o.image_id, 2, o.run_id, 0, o.digest, o.name, w.name || ' ' || wv.version, "
		    "p.class, p.id, CASE WHEN lower(o.name) LIKE '%.swc' THEN 1 ELSE 0 END "
		    "FROM run_output_files o "
		    "JOIN runs r ON r.id = o.run_id "
		    "JOIN workflow_versions wv ON wv.id = r.workflow_version_id "
		    "JOIN workflows w ON w.id = wv.workflow_id JOIN problems p ON p.id = r.problem_id "
		    "WHERE (lower(o.name) LIKE '%.tif' OR lower(o.name) LIKE '%.tiff' OR "
		    "lower(o.name) LIKE '%.png' OR (?2 <> 0 AND lower(o.name) LIKE '%.swc')) "
		    "AND (?1 = 0 OR o.image_id = ?1) "
		    "ORDER BY 1, 2, 3, 10",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, image_id);
	q_bind_int64(st, 2, vectors);
	void *v = NULL;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_layer), layer_fill, NULL, "layers",
			      &v, pn);
	*pv = v;
	return rc;
}

/* -------------------------------------------------------------- workflows */

static int sql_wf_version_add(struct bia_ctx *ctx, struct bia_instance *inst,
			     struct bia_wf_version *v, int *pexisted)
{
	struct q_stmt *st;
	char now[21];
	bia_now_iso(now);
	*pexisted = 0;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	/* an existing version: same content is fine, other content is refused */
	if (prepare(ctx, inst,
		    "SELECT v.id, v.digest FROM workflow_versions v JOIN workflows w ON "
		    "w.id = v.workflow_id WHERE w.name = ? AND v.version = ?",
		    &st))
		goto fail;
	q_bind_text(st, 1, v->name);
	q_bind_text(st, 2, v->version);
	if (q_step(st) == Q_ROW) {
		int64_t id = q_col_int64(st, 0);
		char digest[BIA_SHA256_HEX];
		col_text(st, 1, digest, sizeof(digest));
		fin(inst, st);
		tx_rollback(inst);
		if (strcmp(digest, v->digest))
			return bia_fail(ctx, BIA_EEXIST,
					"workflow '%s' version '%s' already exists with other content "
					"(versions are immutable: use another --version)",
					v->name, v->version);
		v->id = id;
		*pexisted = 1;
		return 0;
	}
	fin(inst, st);
	if (prepare(ctx, inst, "INSERT OR IGNORE INTO workflows(name, created_at) VALUES (?, ?)",
		    &st))
		goto fail;
	q_bind_text(st, 1, v->name);
	q_bind_text(st, 2, now);
	if (step_done(ctx, inst, st, "insert workflow"))
		goto fail;
	if (prepare(ctx, inst,
		    "INSERT INTO workflow_versions(workflow_id, version, digest, descriptor, "
		    "problem_class, source, created_at) SELECT id, ?, ?, ?, ?, ?, ? FROM workflows "
		    "WHERE name = ? RETURNING id",
		    &st))
		goto fail;
	q_bind_text(st, 1, v->version);
	q_bind_text(st, 2, v->digest);
	q_bind_text(st, 3, v->descriptor ? v->descriptor : "{}");
	q_bind_text(st, 4, v->problem_class);
	q_bind_text(st, 5, v->source);
	q_bind_text(st, 6, now);
	q_bind_text(st, 7, v->name);
	if (step_id(st, inst, &v->id) != Q_DONE) {
		db_fail(ctx, inst, "insert workflow version");
		goto fail;
	}
	snprintf(v->created, sizeof(v->created), "%s", now);
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct bia_wf_file *f = &v->files[i];
		if (add_blob_row(ctx, inst, f->digest, f->bytes, now))
			goto fail;
		if (prepare(ctx, inst,
			    "INSERT INTO workflow_files(version_id, path, digest, bytes, mode) "
			    "VALUES (?, ?, ?, ?, ?)",
			    &st))
			goto fail;
		q_bind_int64(st, 1, v->id);
		q_bind_text(st, 2, f->path);
		q_bind_text(st, 3, f->digest);
		q_bind_int64(st, 4, (int64_t)f->bytes);
		q_bind_int64(st, 5, f->mode);
		if (step_done(ctx, inst, st, "insert workflow file"))
			goto fail;
	}
	bia_faultsim("workflow.commit");
	if (tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	v->id = 0;
	return ctx->rc;
}

#define WFV_COLS                                                                      \
	"SELECT v.id, v.workflow_id, w.name, v.version, v.digest, v.descriptor, "      \
	"v.problem_class, v.source, v.created_at FROM workflow_versions v JOIN "       \
	"workflows w ON w.id = v.workflow_id "

static void wfv_row(struct q_stmt *st, struct bia_wf_version *v)
{
	memset(v, 0, sizeof(*v));
	v->id = q_col_int64(st, 0);
	v->workflow_id = q_col_int64(st, 1);
	col_text(st, 2, v->name, sizeof(v->name));
	col_text(st, 3, v->version, sizeof(v->version));
	col_text(st, 4, v->digest, sizeof(v->digest));
	v->descriptor = col_dup(st, 5);
	col_text(st, 6, v->problem_class, sizeof(v->problem_class));
	col_text(st, 7, v->source, sizeof(v->source));
	col_text(st, 8, v->created, sizeof(v->created));
}

static int wf_files(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_version *v)
{
	struct q_stmt *st;
	size_t cap = 0;
	if (prepare(ctx, inst,
		    "SELECT path, digest, bytes, mode FROM workflow_files WHERE version_id = ? "
		    "ORDER BY path",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, v->id);
	while (q_step(st) == Q_ROW) {
		if (v->nfiles == cap) {
			cap = cap ? cap * 2 : 16;
			void *t = realloc(v->files, cap * sizeof(*v->files));
			if (!t) {
				fin(inst, st);
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
			v->files = t;
		}
		struct bia_wf_file *f = &v->files[v->nfiles++];
		memset(f, 0, sizeof(*f));
		col_text(st, 0, f->path, sizeof(f->path));
		col_text(st, 1, f->digest, sizeof(f->digest));
		f->bytes = (uint64_t)q_col_int64(st, 2);
		f->mode = (int)q_col_int64(st, 3);
	}
	fin(inst, st);
	return 0;
}

static int sql_wf_version_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			     const char *version, struct bia_wf_version *out)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    version ? WFV_COLS "WHERE w.name = ? AND v.version = ?"
			    : WFV_COLS "WHERE w.name = ? ORDER BY v.id DESC LIMIT 1",
		    &st))
		return ctx->rc;
	q_bind_text(st, 1, name);
	if (version)
		q_bind_text(st, 2, version);
	int r = q_step(st);
	if (r == Q_ROW)
		wfv_row(st, out);
	fin(inst, st);
	if (r != Q_ROW) {
		if (r != Q_DONE)
			return db_fail(ctx, inst, "get workflow");
		if (version)
			return bia_fail(ctx, BIA_ENOENT, "no workflow '%s' version '%s'", name, version);
		return bia_fail(ctx, BIA_ENOENT, "no workflow named '%s'", name);
	}
	if (wf_files(ctx, inst, out)) {
		bia_wf_version_release(out);
		return ctx->rc;
	}
	return 0;
}

static void wfv_row_v(struct q_stmt *st, void *e)
{
	wfv_row(st, e);
}

static void bia_wf_version_release_v(void *e)
{
	bia_wf_version_release(e);
}

static int sql_wf_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		      struct bia_wf_version **pv, size_t *pn, int64_t *ptotal)
{
	struct q_stmt *st;
	if (count_rows(ctx, inst, "SELECT count(*) FROM workflow_versions", 0, 0, ptotal))
		return ctx->rc;
	if (prepare(ctx, inst, WFV_COLS "ORDER BY w.name, v.id LIMIT ? OFFSET ?", &st))
		return ctx->rc;
	bind_page(st, 1, page);
	void *v;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_wf_version), wfv_row_v, bia_wf_version_release_v, "workflows", &v, pn);
	if (!rc)
		*pv = v;
	return rc;
}

/* ------------------------------------------------------------------- runs */

void bia_run_release(struct bia_run *r)
{
	if (!r)
		return;
	free(r->params);
	free(r->images);
	free(r->job);
	free(r->reason);
	free(r->limits);
	free(r->verdict_detail);
	free(r->means);
	r->params = r->images = r->job = r->reason = r->limits = r->verdict_detail = r->means =
		NULL;
}

void bia_run_list_free(struct bia_run *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_run_release(&v[i]);
	free(v);
}

void bia_run_image_release(struct bia_run_image *ri)
{
	if (!ri)
		return;
	free(ri->scores);
	ri->scores = NULL;
	ri->nscores = 0;
	free(ri->warnings);
	ri->warnings = NULL;
	free(ri->reason);
	ri->reason = NULL;
	for (size_t i = 0; i < ri->nobjects; i++)
		bia_run_object_release(&ri->objects[i]);
	free(ri->objects);
	ri->objects = NULL;
	ri->nobjects = 0;
	free(ri->errors);
	ri->errors = NULL;
	ri->nerrors = 0;
}

void bia_run_images_free(struct bia_run_image *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bia_run_image_release(&v[i]);
	free(v);
}

void bia_run_object_release(struct bia_run_object *o)
{
	if (!o)
		return;
	free(o->detail);
	o->detail = NULL;
}

static int sql_run_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r)
{
	struct q_stmt *st;
	bia_now_iso(r->created);
	r->state = BIA_RUN_QUEUED;
	if (prepare(ctx, inst,
		    "INSERT INTO runs(id, workflow_version_id, problem_id, status, params, images, "
		    "executor, dataset_digest, metrics_version, created_at, limits) "
		    "VALUES ((SELECT last + 1 FROM id_marks WHERE kind = 'runs'), ?, ?, 'queued', ?, "
		    "?, ?, ?, ?, ?, ?) RETURNING id",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, r->workflow_version_id);
	q_bind_int64(st, 2, r->problem_id);
	q_bind_text(st, 3, r->params ? r->params : "{}");
	q_bind_text(st, 4, r->images ? r->images : "[]");
	q_bind_text(st, 5, r->executor[0] ? r->executor : "local");
	q_bind_text(st, 6, r->dataset_digest);
	q_bind_text(st, 7, r->metrics_version);
	q_bind_text(st, 8, r->created);
	q_bind_text(st, 9, r->limits && r->limits[0] ? r->limits : "{}");
	if (r->rerun_of && tx_begin(ctx, inst)) {
		fin(inst, st);
		return ctx->rc;
	}
	if (step_id(st, inst, &r->id) != Q_DONE) {
		db_fail(ctx, inst, "insert run");
		goto fail;
	}
	if (!r->rerun_of)
		return 0;
	if (prepare(ctx, inst,
		    "INSERT INTO run_reruns(run_id, rerun_of, tolerance) VALUES (?, ?, ?)", &st))
		goto fail;
	q_bind_int64(st, 1, r->id);
	q_bind_int64(st, 2, r->rerun_of);
	q_bind_double(st, 3, r->tolerance);
	if (step_done(ctx, inst, st, "insert rerun") || tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	if (r->rerun_of)
		tx_rollback(inst);
	r->id = 0;
	return ctx->rc;
}

static int sql_run_set_verdict(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			      const char *verdict, const char *detail)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, "UPDATE run_reruns SET verdict = ?, detail = ? WHERE run_id = ?",
		    &st))
		return ctx->rc;
	q_bind_text(st, 1, verdict);
	q_bind_text(st, 2, detail ? detail : "{}");
	q_bind_int64(st, 3, id);
	if (step_done(ctx, inst, st, "record a rerun's verdict"))
		return ctx->rc;
	if (!q_changes(inst))
		return bia_fail(ctx, BIA_ENOENT, "run %lld is not a rerun", (long long)id);
	return 0;
}

static int sql_problem_set_main_metric(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				      const char *metric)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, "UPDATE problems SET main_metric = ? WHERE id = ?", &st))
		return ctx->rc;
	q_bind_text(st, 1, metric);
	q_bind_int64(st, 2, id);
	if (step_done(ctx, inst, st, "set the main metric"))
		return ctx->rc;
	if (!q_changes(inst))
		return bia_fail(ctx, BIA_ENOENT, "no problem %lld", (long long)id);
	return 0;
}

#define RUN_COLS                                                                       \
	"SELECT r.id, r.workflow_version_id, r.problem_id, w.name, v.version, v.digest, "   \
	"p.name, r.status, r.params, r.images, r.executor, r.worker_pid, r.exit_code, "    \
	"r.reason, r.env_digest, r.dataset_digest, r.metrics_version, r.host, "            \
	"r.created_at, r.started_at, r.finished_at, r.cancel_requested, r.limits, r.worker_slot, "  \
	"r.attempts, r.interrupted, COALESCE(rr.rerun_of, 0), COALESCE(rr.tolerance, 0), " \
	"COALESCE(rr.verdict, ''), COALESCE(rr.detail, '{}'), p.class, p.main_metric, "    \
	"COALESCE(j.job, ''), sm.means FROM runs r "                                        \
	"JOIN workflow_versions v ON v.id = r.workflow_version_id JOIN workflows w ON "    \
	"w.id = v.workflow_id JOIN problems p ON p.id = r.problem_id "                     \
	"LEFT JOIN run_reruns rr ON rr.run_id = r.id LEFT JOIN run_jobs j ON j.run_id = r.id " \
	"LEFT JOIN run_summaries sm ON sm.run_id = r.id "

static void run_row(struct q_stmt *st, struct bia_run *r)
{
	char buf[32];
	memset(r, 0, sizeof(*r));
	r->id = q_col_int64(st, 0);
	r->workflow_version_id = q_col_int64(st, 1);
	r->problem_id = q_col_int64(st, 2);
	col_text(st, 3, r->workflow, sizeof(r->workflow));
	col_text(st, 4, r->version, sizeof(r->version));
	col_text(st, 5, r->wf_digest, sizeof(r->wf_digest));
	col_text(st, 6, r->problem, sizeof(r->problem));
	col_text(st, 7, buf, sizeof(buf));
	int state = bia_run_state_parse(buf);
	r->state = state < 0 ? BIA_RUN_FAILED : (enum bia_run_state)state; /* CHECK forbids it */
	r->params = col_dup(st, 8);
	r->images = col_dup(st, 9);
	col_text(st, 10, r->executor, sizeof(r->executor));
	r->worker_pid = q_col_int64(st, 11);
	r->has_exit_code = !q_col_null(st, 12);
	r->exit_code = (int)q_col_int64(st, 12);
	r->reason = col_dup(st, 13);
	col_text(st, 14, r->env_digest, sizeof(r->env_digest));
	col_text(st, 15, r->dataset_digest, sizeof(r->dataset_digest));
	col_text(st, 16, r->metrics_version, sizeof(r->metrics_version));
	col_text(st, 17, r->host, sizeof(r->host));
	col_text(st, 18, r->created, sizeof(r->created));
	col_text(st, 19, r->started, sizeof(r->started));
	col_text(st, 20, r->finished, sizeof(r->finished));
	r->cancel_requested = (int)q_col_int64(st, 21);
	r->limits = col_dup(st, 22);
	r->worker_slot = (int)q_col_int64(st, 23);
	r->attempts = (int)q_col_int64(st, 24);
	r->interrupted = (int)q_col_int64(st, 25);
	r->rerun_of = q_col_int64(st, 26);
	r->tolerance = q_col_double(st, 27);
	col_text(st, 28, r->verdict, sizeof(r->verdict));
	r->verdict_detail = col_dup(st, 29);
	col_text(st, 30, buf, sizeof(buf));
	r->cls = bia_class_parse(buf);
	col_text(st, 31, r->main_metric, sizeof(r->main_metric));
	r->job = col_dup(st, 32);
	r->means = q_col_null(st, 33) ? NULL : col_dup(st, 33);
}

static int sql_run_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      struct bia_run *out)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, RUN_COLS "WHERE r.id = ?", &st))
		return ctx->rc;
	q_bind_int64(st, 1, id);
	int r = q_step(st);
	if (r == Q_ROW)
		run_row(st, out);
	fin(inst, st);
	if (r == Q_ROW)
		return 0;
	if (r != Q_DONE)
		return db_fail(ctx, inst, "get run");
	return bia_fail(ctx, BIA_ENOENT, "no run with id %lld", (long long)id);
}

static void run_row_v(struct q_stmt *st, void *e)
{
	run_row(st, e);
}

static void bia_run_release_v(void *e)
{
	bia_run_release(e);
}

/* The filter as SQL: ?1 problem id (0: any), ?2 status ('': any), ?3 only
 * unfinished. */
#define RUN_FILTER                                                                      \
	"(?1 = 0 OR r.problem_id = ?1) AND (?2 = '' OR r.status = ?2) AND "                \
	"(?3 = 0 OR r.status IN ('queued', 'running', 'ingesting')) AND "                  \
	"(?8 = 0 OR r.workflow_version_id = ?8) AND " VISIBLE("r.problem_id", "?6", "?7")

static void bind_filter(struct q_stmt *st, const struct bia_run_filter *f)
{
	q_bind_int64(st, 1, f->problem_id);
	q_bind_text(st, 2, f->status ? f->status : "");
	q_bind_int64(st, 3, f->unfinished != 0);
	q_bind_int64(st, 6, f->viewer.restricted);
	q_bind_int64(st, 7, f->viewer.user_id);
	q_bind_int64(st, 8, f->workflow_version_id);
}

static int sql_run_list(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_filter *f, struct bia_page page, struct bia_run **pv,
		       size_t *pn, int64_t *ptotal)
{
	struct q_stmt *st;
	if (ptotal) {
		if (prepare(ctx, inst, "SELECT count(*) FROM runs r WHERE " RUN_FILTER, &st))
			return ctx->rc;
		bind_filter(st, f);
		int r = q_step(st);
		*ptotal = r == Q_ROW ? q_col_int64(st, 0) : 0;
		fin(inst, st);
		if (r != Q_ROW)
			return db_fail(ctx, inst, "count runs");
	}
	if (prepare(ctx, inst, RUN_COLS "WHERE " RUN_FILTER "ORDER BY r.id LIMIT ?4 OFFSET ?5",
		    &st))
		return ctx->rc;
	bind_filter(st, f);
	bind_page(st, 4, page);
	void *v;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_run), run_row_v, bia_run_release_v,
			      "runs", &v, pn);
	if (!rc)
		*pv = v;
	return rc;
}

static int sql_run_next_queued(struct bia_ctx *ctx, struct bia_instance *inst, int64_t *pid)
{
	struct q_stmt *st;
	*pid = 0;
	/* PostgreSQL: the row stays locked until the caller's transaction
	 * ends, and other claimers skip it rather than wait for it */
	if (prepare(ctx, inst,
		    dialect(inst, "SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1",
			    "SELECT id FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1 "
			    "FOR UPDATE SKIP LOCKED"),
		    &st))
		return ctx->rc;
	int r = q_step(st);
	if (r == Q_ROW)
		*pid = q_col_int64(st, 0);
	fin(inst, st);
	return r == Q_ROW || r == Q_DONE ? 0 : db_fail(ctx, inst, "next queued run");
}

static int sql_run_update(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
			 const char *from, int *pdone)
{
	struct q_stmt *st;
	*pdone = 0;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	if (prepare(ctx, inst,
		    "UPDATE runs SET status = ?1, worker_pid = ?2, worker_slot = ?3, host = ?4, "
		    "attempts = ?5, interrupted = ?6, exit_code = ?7, reason = ?8, env_digest = ?9, "
		    "dataset_digest = ?10, metrics_version = ?11, started_at = ?12, "
		    "finished_at = ?13, cancel_requested = ?14, executor = ?15 "
		    "WHERE id = ?16 AND status = ?17",
		    &st))
		goto fail;
	q_bind_text(st, 1, bia_run_state_name(r->state));
	q_bind_int64(st, 2, r->worker_pid);
	q_bind_int64(st, 3, r->worker_slot);
	q_bind_text(st, 4, r->host);
	q_bind_int64(st, 5, r->attempts);
	q_bind_int64(st, 6, r->interrupted);
	if (r->has_exit_code)
		q_bind_int64(st, 7, r->exit_code);
	else
		q_bind_null(st, 7);
	q_bind_text(st, 8, r->reason ? r->reason : "");
	q_bind_text(st, 9, r->env_digest);
	q_bind_text(st, 10, r->dataset_digest);
	q_bind_text(st, 11, r->metrics_version);
	q_bind_text(st, 12, r->started);
	q_bind_text(st, 13, r->finished);
	q_bind_int64(st, 14, r->cancel_requested != 0);
	q_bind_text(st, 15, r->executor[0] ? r->executor : "local");
	q_bind_int64(st, 16, r->id);
	q_bind_text(st, 17, from);
	if (step_done(ctx, inst, st, "update run"))
		goto fail;
	if (q_changes(inst) == 0) {
		tx_rollback(inst);
		return 0;
	}
	/* the job id, and the state change as an event when it is one */
	if (prepare(ctx, inst,
		    r->job && r->job[0]
			    ? "INSERT INTO run_jobs(run_id, job) VALUES (?1, ?2) "
			      "ON CONFLICT(run_id) DO UPDATE SET job = excluded.job"
			    : "DELETE FROM run_jobs WHERE run_id = ?1 AND ?2 = ?2",
		    &st))
		goto fail;
	q_bind_int64(st, 1, r->id);
	q_bind_text(st, 2, r->job ? r->job : "");
	if (step_done(ctx, inst, st, "update run job"))
		goto fail;
	if (strcmp(from, bia_run_state_name(r->state))) {
		char now[21];
		bia_now_iso(now);
		if (prepare(ctx, inst,
			    "INSERT INTO run_events(run_id, state, reason, at) VALUES (?, ?, ?, ?)",
			    &st))
			goto fail;
		q_bind_int64(st, 1, r->id);
		q_bind_text(st, 2, bia_run_state_name(r->state));
		q_bind_text(st, 3, r->reason ? r->reason : "");
		q_bind_text(st, 4, now);
		if (step_done(ctx, inst, st, "record run event"))
			goto fail;
	}
	if (tx_commit(ctx, inst))
		goto fail;
	*pdone = 1;
	return 0;
fail:
	tx_rollback(inst);
	return ctx->rc;
}

/* The run's scores change: its summary goes (inside the caller's
 * transaction). */
static int forget_summary(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, "DELETE FROM run_summaries WHERE run_id = ?", &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	return step_done(ctx, inst, st, "forget run summary");
}

static int sql_run_summary_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const char *means)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "INSERT INTO run_summaries(run_id, means) VALUES (?, ?) "
		    "ON CONFLICT(run_id) DO UPDATE SET means = excluded.means",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	q_bind_text(st, 2, means);
	return step_done(ctx, inst, st, "store run summary");
}

static int sql_run_clear_results(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	static const char *const dels[] = {
		"DELETE FROM run_summaries WHERE run_id = ?",
		"DELETE FROM run_scores WHERE run_id = ?",
		"DELETE FROM run_objects WHERE run_id = ?",
		"DELETE FROM run_errors WHERE run_id = ?",
		"DELETE FROM run_output_warnings WHERE run_id = ?",
		"DELETE FROM run_output_files WHERE run_id = ?",
		"DELETE FROM run_outputs WHERE run_id = ?",
	};
	struct q_stmt *st;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++) {
		if (prepare(ctx, inst, dels[i], &st))
			goto fail;
		q_bind_int64(st, 1, id);
		if (step_done(ctx, inst, st, "clear run results"))
			goto fail;
	}
	if (tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	return ctx->rc;
}

/* The warnings of one output, when it has any (inside the caller's
 * transaction). */
static int put_warnings(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			const struct bia_run_image *ri)
{
	struct q_stmt *st;
	if (!ri->warnings || !strcmp(ri->warnings, "[]"))
		return 0;
	if (prepare(ctx, inst,
		    "INSERT INTO run_output_warnings(run_id, image_id, warnings) VALUES (?, ?, ?)",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	q_bind_int64(st, 2, ri->image_id);
	q_bind_text(st, 3, ri->warnings);
	return step_done(ctx, inst, st, "insert run output warnings");
}

/* The scores, error-map objects and error counts of one image of a run
 * (inside the caller's transaction). */
static int insert_scores(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 const struct bia_run_image *ri)
{
	struct q_stmt *st;
	for (size_t i = 0; i < ri->nscores; i++) {
		const struct bia_run_score *sc = &ri->scores[i];
		if (prepare(ctx, inst,
			    "INSERT INTO run_scores(run_id, image_id, metric, value, value_text, "
			    "gt_version_id, metrics_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
			    &st))
			return ctx->rc;
		q_bind_int64(st, 1, run_id);
		q_bind_int64(st, 2, ri->image_id);
		q_bind_text(st, 3, sc->metric);
		const char *txt = "";
		if (isnan(sc->value))
			txt = "nan";
		else if (isinf(sc->value))
			txt = sc->value > 0 ? "inf" : "-inf";
		if (txt[0])
			q_bind_null(st, 4);
		else
			q_bind_double(st, 4, sc->value);
		q_bind_text(st, 5, txt);
		q_bind_int64(st, 6, sc->gt_version_id);
		q_bind_text(st, 7, sc->metrics_version);
		if (step_done(ctx, inst, st, "insert run score"))
			return ctx->rc;
	}
	if (ri->nobjects &&
	    prepare(ctx, inst,
		    "INSERT INTO run_objects(run_id, image_id, kind, obj_id, status, match, score, "
		    "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		    &st))
		return ctx->rc;
	for (size_t i = 0; i < ri->nobjects; i++) {
		const struct bia_run_object *o = &ri->objects[i];
		q_reset(st);
		q_bind_int64(st, 1, run_id);
		q_bind_int64(st, 2, ri->image_id);
		q_bind_text(st, 3, o->kind);
		q_bind_int64(st, 4, o->obj_id);
		q_bind_text(st, 5, o->status);
		if (o->has_match)
			q_bind_int64(st, 6, o->match);
		else
			q_bind_null(st, 6);
		if (isfinite(o->score))
			q_bind_double(st, 7, o->score);
		else
			q_bind_null(st, 7);
		q_bind_text(st, 8, o->detail ? o->detail : "{}");
		if (q_step(st) != Q_DONE) {
			db_fail(ctx, inst, "insert run object");
			fin(inst, st);
			return ctx->rc;
		}
	}
	if (ri->nobjects)
		fin(inst, st);
	for (size_t i = 0; i < ri->nerrors; i++) {
		if (prepare(ctx, inst,
			    "INSERT INTO run_errors(run_id, image_id, category, count) "
			    "VALUES (?, ?, ?, ?)",
			    &st))
			return ctx->rc;
		q_bind_int64(st, 1, run_id);
		q_bind_int64(st, 2, ri->image_id);
		q_bind_text(st, 3, ri->errors[i].category);
		q_bind_int64(st, 4, ri->errors[i].count);
		if (step_done(ctx, inst, st, "insert run error count"))
			return ctx->rc;
	}
	return 0;
}

static int sql_run_image_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			    const struct bia_run_image *ri)
{
	struct q_stmt *st;
	char now[21];
	bia_now_iso(now);
	if (tx_begin(ctx, inst))
		return ctx->rc;
	if (forget_summary(ctx, inst, run_id))
		goto fail;
	if (prepare(ctx, inst,
		    "INSERT INTO run_outputs(run_id, image_id, status, reason) VALUES (?, ?, ?, ?)",
		    &st))
		goto fail;
	q_bind_int64(st, 1, run_id);
	q_bind_int64(st, 2, ri->image_id);
	q_bind_text(st, 3, ri->status);
	q_bind_text(st, 4, ri->reason ? ri->reason : "");
	if (step_done(ctx, inst, st, "insert run output") || put_warnings(ctx, inst, run_id, ri))
		goto fail;
	for (size_t i = 0; i < ri->nfiles; i++) {
		if (add_blob_row(ctx, inst, ri->files[i].digest, ri->files[i].bytes, now))
			goto fail;
		if (prepare(ctx, inst,
			    "INSERT INTO run_output_files(run_id, image_id, name, digest, bytes) "
			    "VALUES (?, ?, ?, ?, ?)",
			    &st))
			goto fail;
		q_bind_int64(st, 1, run_id);
		q_bind_int64(st, 2, ri->image_id);
		q_bind_text(st, 3, ri->files[i].name);
		q_bind_text(st, 4, ri->files[i].digest);
		q_bind_int64(st, 5, (int64_t)ri->files[i].bytes);
		if (step_done(ctx, inst, st, "insert run output file"))
			goto fail;
	}
	if (insert_scores(ctx, inst, run_id, ri))
		goto fail;
	if (tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	return ctx->rc;
}

/* Rescore one image of a run: its current scores go to run_score_history,
 * its scores and error map are replaced, in one transaction. */
static int sql_run_rescore_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const struct bia_run_image *ri)
{
	static const char *const sql[] = {
		"INSERT INTO run_score_history(run_id, image_id, metric, value, value_text, "
		"gt_version_id, metrics_version, superseded_at) SELECT run_id, image_id, metric, "
		"value, value_text, gt_version_id, metrics_version, ?3 FROM run_scores WHERE "
		"run_id = ?1 AND image_id = ?2",
		"DELETE FROM run_scores WHERE run_id = ?1 AND image_id = ?2",
		"DELETE FROM run_objects WHERE run_id = ?1 AND image_id = ?2",
		"DELETE FROM run_errors WHERE run_id = ?1 AND image_id = ?2",
		"DELETE FROM run_output_warnings WHERE run_id = ?1 AND image_id = ?2",
		"DELETE FROM run_summaries WHERE run_id = ?1 AND ?2 = ?2",
	};
	char now[21];
	bia_now_iso(now);
	if (tx_begin(ctx, inst))
		return ctx->rc;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		struct q_stmt *st;
		if (prepare(ctx, inst, sql[i], &st))
			goto fail;
		q_bind_int64(st, 1, run_id);
		q_bind_int64(st, 2, ri->image_id);
		if (i == 0)
			q_bind_text(st, 3, now);
		if (step_done(ctx, inst, st, "replace run scores"))
			goto fail;
	}
	if (put_warnings(ctx, inst, run_id, ri) || insert_scores(ctx, inst, run_id, ri) ||
	    tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	return ctx->rc;
}

/* A stored score value: NULL + text for NaN and infinities. */
static double score_value(struct q_stmt *st, int vcol, int tcol)
{
	if (!q_col_null(st, vcol))
		return q_col_double(st, vcol);
	char txt[16];
	col_text(st, tcol, txt, sizeof(txt));
	if (!strcmp(txt, "inf"))
		return INFINITY;
	if (!strcmp(txt, "-inf"))
		return -INFINITY;
	return NAN;
}

/* The output of image `id` among v[idx[0..n)] (idx sorted by image id). */
static struct bia_run_image *find_output(struct bia_run_image *v, const size_t *idx, size_t n,
					 int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[idx[mid]].image_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[idx[lo]].image_id == id ? &v[idx[lo]] : NULL;
}

static int by_image_id(const void *a, const void *b, void *base)
{
	const struct bia_run_image *v = base;
	int64_t x = v[*(const size_t *)a].image_id, y = v[*(const size_t *)b].image_id;
	return x < y ? -1 : x > y;
}

/* Three statements whatever the number of images: the outputs (by stem),
 * then every output file and every score of the run, matched by image. */
static int sql_run_images(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 struct bia_run_image **pv, size_t *pn)
{
	struct q_stmt *st;
	size_t n = 0, cap = 0, *idx = NULL;
	struct bia_run_image *v = NULL;
	int rc = 0, r;
	if (prepare(ctx, inst,
		    "SELECT o.image_id, i.stem, o.status, o.reason, w.warnings FROM run_outputs o JOIN "
		    "images i ON i.id = o.image_id LEFT JOIN run_output_warnings w ON w.run_id = "
		    "o.run_id AND w.image_id = o.image_id WHERE o.run_id = ? ORDER BY i.stem",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	while ((r = q_step(st)) == Q_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			void *t = realloc(v, cap * sizeof(*v));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			v = t;
		}
		struct bia_run_image *ri = &v[n++];
		memset(ri, 0, sizeof(*ri));
		ri->image_id = q_col_int64(st, 0);
		col_text(st, 1, ri->stem, sizeof(ri->stem));
		col_text(st, 2, ri->status, sizeof(ri->status));
		ri->reason = col_dup(st, 3);
		ri->warnings = q_col_null(st, 4) ? NULL : col_dup(st, 4);
	}
	fin(inst, st);
	if (!rc && r != Q_DONE && r != Q_ROW)
		rc = db_fail(ctx, inst, "run outputs");
	if (!rc && n) {
		idx = malloc(n * sizeof(*idx));
		if (!idx)
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		for (size_t i = 0; idx && i < n; i++)
			idx[i] = i;
		if (idx)
			qsort_r(idx, n, sizeof(*idx), by_image_id, v);
	}
	if (!rc && n &&
	    !(rc = prepare(ctx, inst,
			   "SELECT image_id, name, digest, bytes FROM run_output_files WHERE "
			   "run_id = ? ORDER BY image_id, name",
			   &st))) {
		q_bind_int64(st, 1, run_id);
		while ((r = q_step(st)) == Q_ROW) {
			struct bia_run_image *ri =
				find_output(v, idx, n, q_col_int64(st, 0));
			if (!ri || ri->nfiles >= 2)
				continue;
			col_text(st, 1, ri->files[ri->nfiles].name, sizeof(ri->files[0].name));
			col_text(st, 2, ri->files[ri->nfiles].digest, BIA_SHA256_HEX);
			ri->files[ri->nfiles].bytes = (uint64_t)q_col_int64(st, 3);
			ri->nfiles++;
		}
		fin(inst, st);
		if (r != Q_DONE)
			rc = db_fail(ctx, inst, "run output files");
	}
	if (!rc && n &&
	    !(rc = prepare(ctx, inst,
			   "SELECT image_id, metric, value, value_text, gt_version_id, metrics_version "
			   "FROM run_scores WHERE run_id = ? ORDER BY image_id, rowid",
			   &st))) {
		q_bind_int64(st, 1, run_id);
		while (!rc && (r = q_step(st)) == Q_ROW) {
			struct bia_run_image *ri =
				find_output(v, idx, n, q_col_int64(st, 0));
			if (!ri)
				continue;
			if (ri->nscores % 16 == 0) {
				void *t = realloc(ri->scores, (ri->nscores + 16) * sizeof(*ri->scores));
				if (!t) {
					rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
					break;
				}
				ri->scores = t;
			}
			struct bia_run_score *sc = &ri->scores[ri->nscores++];
			memset(sc, 0, sizeof(*sc));
			col_text(st, 1, sc->metric, sizeof(sc->metric));
			sc->value = score_value(st, 2, 3);
			sc->gt_version_id = q_col_int64(st, 4);
			col_text(st, 5, sc->metrics_version, sizeof(sc->metrics_version));
		}
		fin(inst, st);
		if (!rc && r != Q_DONE)
			rc = db_fail(ctx, inst, "run scores");
	}
	free(idx);
	if (rc) {
		bia_run_images_free(v, n);
		return rc;
	}
	*pv = v;
	*pn = n;
	return 0;
}

static void event_row(struct q_stmt *st, void *e)
{
	struct bia_run_event_rec *x = e;
	char buf[32];
	memset(x, 0, sizeof(*x));
	x->id = q_col_int64(st, 0);
	x->run_id = q_col_int64(st, 1);
	col_text(st, 2, buf, sizeof(buf));
	int state = bia_run_state_parse(buf);
	x->state = state < 0 ? BIA_RUN_FAILED : (enum bia_run_state)state;
	x->reason = col_dup(st, 3);
	col_text(st, 4, x->at, sizeof(x->at));
	x->problem_id = q_col_int64(st, 5);
}

static void event_release(void *e)
{
	free(((struct bia_run_event_rec *)e)->reason);
}

static int sql_run_events(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 int64_t after, int64_t limit, struct bia_run_event_rec **pv, size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "SELECT e.id, e.run_id, e.state, e.reason, e.at, r.problem_id FROM run_events e "
		    "JOIN runs r ON r.id = e.run_id WHERE e.id > ?1 AND (?2 = 0 OR e.run_id = ?2) "
		    "ORDER BY e.id LIMIT ?3",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, after);
	q_bind_int64(st, 2, run_id);
	q_bind_limit(st, 3, limit);
	void *v;
	int rc = collect_rows(ctx, inst, st, sizeof(struct bia_run_event_rec), event_row,
			      event_release, "run events", &v, pn);
	if (!rc)
		*pv = v;
	return rc;
}

/* Values of some metrics of some runs: one statement (the ids and metric
 * names as JSON arrays, read by json_each). */
static void value_row(struct q_stmt *st, void *e)
{
	struct bia_run_value *x = e;
	x->run_id = q_col_int64(st, 0);
	x->image_id = q_col_int64(st, 1);
	col_text(st, 2, x->metric, sizeof(x->metric));
	x->value = score_value(st, 3, 4);
}

static int sql_run_values(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *run_ids,
			 size_t nruns, const char *const *metrics, size_t nmetrics,
			 struct bia_run_value **pv, size_t *pn)
{
	json_t *ids = json_array(), *ms = json_array();
	for (size_t i = 0; i < nruns; i++)
		json_array_append_new(ids, json_integer(run_ids[i]));
	for (size_t i = 0; i < nmetrics; i++)
		json_array_append_new(ms, json_string(metrics[i]));
	char *ids_s = json_dumps(ids, JSON_COMPACT), *ms_s = json_dumps(ms, JSON_COMPACT);
	json_decref(ids);
	json_decref(ms);
	struct q_stmt *st = NULL;
	void *v = NULL;
	int rc;
	if (!ids_s || !ms_s)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	else if (!(rc = prepare(ctx, inst,
				dialect(inst,
					"SELECT s.run_id, s.image_id, s.metric, s.value, s.value_text "
					"FROM run_scores s JOIN images i ON i.id = s.image_id WHERE "
					"s.run_id IN (SELECT value FROM json_each(?1)) AND s.metric IN "
					"(SELECT value FROM json_each(?2)) ORDER BY s.run_id, i.stem, "
					"s.rowid",
					"SELECT s.run_id, s.image_id, s.metric, s.value, s.value_text "
					"FROM run_scores s JOIN images i ON i.id = s.image_id WHERE "
					"s.run_id IN (SELECT value::bigint FROM "
					"jsonb_array_elements_text(?1::jsonb)) AND s.metric IN (SELECT "
					"value FROM jsonb_array_elements_text(?2::jsonb)) ORDER BY "
					"s.run_id, i.stem, s.rowid"),
				&st))) {
		q_bind_text(st, 1, ids_s);
		q_bind_text(st, 2, ms_s);
		rc = collect_rows(ctx, inst, st, sizeof(struct bia_run_value), value_row, NULL,
				  "run values", &v, pn);
		if (!rc)
			*pv = v;
	}
	free(ids_s);
	free(ms_s);
	return rc;
}

static void error_row(struct q_stmt *st, void *e)
{
	struct bia_run_error_row *r = e;
	r->run_id = q_col_int64(st, 0);
	r->image_id = q_col_int64(st, 1);
	col_text(st, 2, r->stem, sizeof(r->stem));
	col_text(st, 3, r->category, sizeof(r->category));
	r->count = q_col_int64(st, 4);
}

static int sql_run_errors_query(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       int64_t problem_id, const char *category, int64_t limit,
			       struct bia_run_error_row **pv, size_t *pn)
{
	/* ?1 run or problem, ?3 category, ?4 limit (-1: all); one text per
	 * case, so that each uses its index (run_errors by run and category;
	 * runs by problem) */
#define ERR_COLS                                                                          \
	"SELECT e.run_id, e.image_id, i.stem, e.category, e.count FROM run_errors e "        \
	"JOIN images i ON i.id = e.image_id "
	static const char *const sql[4] = {
		ERR_COLS "WHERE e.run_id = ?1 AND ?3 IS NULL ORDER BY e.run_id, i.stem, e.category "
			 "LIMIT ?4",
		ERR_COLS "WHERE e.run_id = ?1 AND e.category = ?3 "
			 "ORDER BY e.count DESC, i.stem, e.run_id LIMIT ?4",
		ERR_COLS "WHERE e.run_id IN (SELECT id FROM runs WHERE problem_id = ?1) AND ?3 IS NULL "
			 "ORDER BY e.run_id, i.stem, e.category LIMIT ?4",
		ERR_COLS "WHERE e.run_id IN (SELECT id FROM runs WHERE problem_id = ?1) AND "
			 "e.category = ?3 ORDER BY e.count DESC, i.stem, e.run_id LIMIT ?4",
	};
#undef ERR_COLS
	struct q_stmt *st;
	*pv = NULL;
	*pn = 0;
	if (prepare(ctx, inst, sql[(run_id ? 0 : 2) + (category != NULL)], &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id ? run_id : problem_id);
	if (category)
		q_bind_text(st, 3, category);
	q_bind_limit(st, 4, limit);
	return collect_rows(ctx, inst, st, sizeof(**pv), error_row, NULL, "error counts",
			    (void **)pv, pn);
}

static void object_row(struct q_stmt *st, void *e)
{
	struct bia_run_object *o = e;
	memset(o, 0, sizeof(*o));
	col_text(st, 0, o->kind, sizeof(o->kind));
	o->obj_id = q_col_int64(st, 1);
	col_text(st, 2, o->status, sizeof(o->status));
	o->has_match = !q_col_null(st, 3);
	o->match = o->has_match ? q_col_int64(st, 3) : 0;
	o->score = !q_col_null(st, 4) ? q_col_double(st, 4) : NAN;
	o->detail = col_dup(st, 5);
}

static void bia_run_object_release_v(void *e)
{
	bia_run_object_release(e);
}

static int sql_run_objects_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      int64_t image_id, struct bia_run_object **pv, size_t *pn)
{
	struct q_stmt *st;
	*pv = NULL;
	*pn = 0;
	if (prepare(ctx, inst,
		    "SELECT kind, obj_id, status, match, score, detail FROM run_objects "
		    "WHERE run_id = ? AND image_id = ? ORDER BY rowid",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, run_id);
	q_bind_int64(st, 2, image_id);
	return collect_rows(ctx, inst, st, sizeof(**pv), object_row, bia_run_object_release_v,
			    "error map objects", (void **)pv, pn);
}

/* --------------------------------------------------------------- accounts */

static int sql_problem_set_private(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				  int private_)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    private_ ? "INSERT OR IGNORE INTO problem_private(problem_id) SELECT id FROM "
			       "problems WHERE id = ?"
			     : "DELETE FROM problem_private WHERE problem_id = ?",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, id);
	return step_done(ctx, inst, st, "set a problem's visibility");
}

static int sql_problem_member_set(struct bia_ctx *ctx, struct bia_instance *inst,
				 int64_t problem_id, int64_t user_id, int member)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    member ? "INSERT OR IGNORE INTO problem_members(problem_id, user_id) "
			     "VALUES (?, ?)"
			   : "DELETE FROM problem_members WHERE problem_id = ? AND user_id = ?",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, problem_id);
	q_bind_int64(st, 2, user_id);
	int r = q_step(st);
	fin(inst, st);
	if (r == Q_CONSTRAINT)
		return bia_fail(ctx, BIA_ENOENT, "no problem %lld or no user %lld",
				(long long)problem_id, (long long)user_id);
	return r == Q_DONE ? 0 : db_fail(ctx, inst, "set a membership");
}

/* One integer of a query with up to three int64 parameters. */
static int int_query(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql, int n,
		     int64_t a, int64_t b, int64_t c, int64_t *pout)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, sql, &st))
		return ctx->rc;
	int64_t v[3] = {a, b, c};
	for (int i = 0; i < n; i++)
		q_bind_int64(st, i + 1, v[i]);
	int r = q_step(st);
	*pout = r == Q_ROW ? q_col_int64(st, 0) : 0;
	fin(inst, st);
	return r == Q_ROW || r == Q_DONE ? 0 : db_fail(ctx, inst, "query");
}

static int sql_problem_flags(struct bia_ctx *ctx, struct bia_instance *inst, int what,
			    int64_t problem_id, int64_t user_id, int restricted, int *pout)
{
	int64_t v = 0;
	int rc;
	if (what == 0)
		rc = int_query(ctx, inst, "SELECT count(*) FROM problem_private WHERE problem_id = ?",
			       1, problem_id, 0, 0, &v);
	else if (what == 1)
		rc = int_query(ctx, inst,
			       "SELECT count(*) FROM problem_members WHERE problem_id = ? AND "
			       "user_id = ?",
			       2, problem_id, user_id, 0, &v);
	else
		rc = int_query(ctx, inst,
			       "SELECT count(*) FROM problems p WHERE p.id = ?1 AND " VISIBLE(
				       "p.id", "?3", "?2"),
			       3, problem_id, user_id, restricted, &v);
	*pout = v > 0;
	return rc;
}

#define USER_COLS "SELECT id, name, role, created_at, pwhash FROM users "

static void user_row(struct q_stmt *st, void *e)
{
	struct bia_user *u = e;
	char role[16];
	memset(u, 0, sizeof(*u));
	u->id = q_col_int64(st, 0);
	col_text(st, 1, u->name, sizeof(u->name));
	col_text(st, 2, role, sizeof(role));
	u->role = bia_role_parse(role);
	col_text(st, 3, u->created, sizeof(u->created));
}

static int sql_user_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_user *u,
		       const char *pwhash)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "INSERT INTO users(name, role, pwhash, created_at) VALUES (?, ?, ?, ?) "
		    "RETURNING id",
		    &st))
		return ctx->rc;
	bia_now_iso(u->created);
	q_bind_text(st, 1, u->name);
	q_bind_text(st, 2, bia_role_name(u->role));
	q_bind_text(st, 3, pwhash ? pwhash : "");
	q_bind_text(st, 4, u->created);
	int r = step_id(st, inst, &u->id);
	if (r == Q_CONSTRAINT)
		return bia_fail(ctx, BIA_EEXIST, "user '%s' already exists", u->name);
	if (r != Q_DONE)
		return db_fail(ctx, inst, "insert user");
	return 0;
}

static int sql_user_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
		       int64_t id, struct bia_user *u)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, name ? USER_COLS "WHERE name = ?" : USER_COLS "WHERE id = ?", &st))
		return ctx->rc;
	if (name)
		q_bind_text(st, 1, name);
	else
		q_bind_int64(st, 1, id);
	int r = q_step(st);
	if (r == Q_ROW) {
		user_row(st, u);
		u->pwhash = col_dup(st, 4);
		fin(inst, st);
		return u->pwhash ? 0 : bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	fin(inst, st);
	if (r != Q_DONE)
		return db_fail(ctx, inst, "get user");
	if (name)
		return bia_fail(ctx, BIA_ENOENT, "no user named '%s'", name);
	return bia_fail(ctx, BIA_ENOENT, "no user with id %lld", (long long)id);
}

static int sql_user_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
			struct bia_user **pv, size_t *pn, int64_t *ptotal)
{
	struct q_stmt *st;
	if (count_rows(ctx, inst, "SELECT count(*) FROM users", 0, 0, ptotal))
		return ctx->rc;
	if (prepare(ctx, inst, USER_COLS "ORDER BY id LIMIT ? OFFSET ?", &st))
		return ctx->rc;
	bind_page(st, 1, page);
	return collect_rows(ctx, inst, st, sizeof(struct bia_user), user_row, NULL, "users",
			    (void **)pv, pn);
}

/* UPDATE/DELETE of one user by id: `what` names it; BIA_ENOENT if no row. */
static int user_change(struct bia_ctx *ctx, struct bia_instance *inst, const char *sql,
		       const char *text, int64_t id, const char *what)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, sql, &st))
		return ctx->rc;
	int k = 1;
	if (text)
		q_bind_text(st, k++, text);
	q_bind_int64(st, k, id);
	if (step_done(ctx, inst, st, what))
		return ctx->rc;
	if (!q_changes(inst))
		return bia_fail(ctx, BIA_ENOENT, "no user with id %lld", (long long)id);
	return 0;
}

static int sql_user_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	return user_change(ctx, inst, "DELETE FROM users WHERE id = ?", NULL, id, "remove user");
}

static int sql_user_set(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		       const char *pwhash, const char *role)
{
	if (pwhash)
		return user_change(ctx, inst, "UPDATE users SET pwhash = ? WHERE id = ?", pwhash,
				   id, "set a password");
	return user_change(ctx, inst, "UPDATE users SET role = ? WHERE id = ?", role, id,
			   "set a role");
}

#define TOKEN_COLS                                                                   \
	"SELECT t.id, t.user_id, u.name, u.role, t.kind, t.name, t.csrf, t.created_at, " \
	"t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id "

static void token_row(struct q_stmt *st, void *e)
{
	struct bia_token *t = e;
	char role[16];
	memset(t, 0, sizeof(*t));
	t->id = q_col_int64(st, 0);
	t->user_id = q_col_int64(st, 1);
	col_text(st, 2, t->user, sizeof(t->user));
	col_text(st, 3, role, sizeof(role));
	t->role = bia_role_parse(role);
	col_text(st, 4, t->kind, sizeof(t->kind));
	col_text(st, 5, t->name, sizeof(t->name));
	col_text(st, 6, t->csrf, sizeof(t->csrf));
	col_text(st, 7, t->created, sizeof(t->created));
	t->expires = q_col_int64(st, 8);
}

static int sql_token_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_token *t,
			const char *hash)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "INSERT INTO tokens(user_id, kind, name, hash, csrf, created_at, expires_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
		    &st))
		return ctx->rc;
	bia_now_iso(t->created);
	q_bind_int64(st, 1, t->user_id);
	q_bind_text(st, 2, t->kind);
	q_bind_text(st, 3, t->name);
	q_bind_text(st, 4, hash);
	q_bind_text(st, 5, t->csrf);
	q_bind_text(st, 6, t->created);
	q_bind_int64(st, 7, t->expires);
	int r = step_id(st, inst, &t->id);
	if (r == Q_CONSTRAINT)
		return bia_fail(ctx, BIA_EINVAL, "a token needs an existing user and a new secret");
	if (r != Q_DONE)
		return db_fail(ctx, inst, "insert token");
	return 0;
}

static int sql_token_find(struct bia_ctx *ctx, struct bia_instance *inst, const char *hash,
			 int64_t now, struct bia_token *t)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    TOKEN_COLS "WHERE t.hash = ? AND (t.expires_at = 0 OR t.expires_at > ?)", &st))
		return ctx->rc;
	q_bind_text(st, 1, hash);
	q_bind_int64(st, 2, now);
	int r = q_step(st);
	if (r == Q_ROW)
		token_row(st, t);
	fin(inst, st);
	if (r == Q_ROW)
		return 0;
	if (r != Q_DONE)
		return db_fail(ctx, inst, "find token");
	return bia_fail(ctx, BIA_ENOENT, "no such token (revoked or expired?)");
}

static int sql_token_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t user_id,
			 const char *kind, struct bia_token **pv, size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    TOKEN_COLS "WHERE (?1 = 0 OR t.user_id = ?1) AND (?2 = '' OR t.kind = ?2) "
			       "ORDER BY t.id",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, user_id);
	q_bind_text(st, 2, kind ? kind : "");
	return collect_rows(ctx, inst, st, sizeof(struct bia_token), token_row, NULL, "tokens",
			    (void **)pv, pn);
}

static int sql_token_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int64_t now,
		       size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    id ? "DELETE FROM tokens WHERE id = ?"
		       : "DELETE FROM tokens WHERE expires_at <> 0 AND expires_at <= ?",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, id ? id : now);
	if (step_done(ctx, inst, st, "remove tokens"))
		return ctx->rc;
	size_t n = (size_t)q_changes(inst);
	if (pn)
		*pn = n;
	if (id && !n)
		return bia_fail(ctx, BIA_ENOENT, "no token with id %lld", (long long)id);
	return 0;
}

/* ------------------------------------------------------ workflow sources */

#define SOURCE_COLS                                                                     \
	"SELECT id, name, url, interval_s, created_at, synced_at, ok_at, status, error " \
	"FROM workflow_sources "

static void source_row(struct q_stmt *st, void *e)
{
	struct bia_wf_source *s = e;
	memset(s, 0, sizeof(*s));
	s->id = q_col_int64(st, 0);
	col_text(st, 1, s->name, sizeof(s->name));
	col_text(st, 2, s->url, sizeof(s->url));
	s->interval = q_col_int64(st, 3);
	col_text(st, 4, s->created, sizeof(s->created));
	s->synced_at = q_col_int64(st, 5);
	s->ok_at = q_col_int64(st, 6);
	col_text(st, 7, s->status, sizeof(s->status));
	col_text(st, 8, s->error, sizeof(s->error));
}

static int sql_source_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_source *s)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "INSERT INTO workflow_sources(name, url, interval_s, created_at) "
		    "VALUES (?, ?, ?, ?) RETURNING id",
		    &st))
		return ctx->rc;
	bia_now_iso(s->created);
	snprintf(s->status, sizeof(s->status), "never");
	s->error[0] = 0;
	s->synced_at = s->ok_at = 0;
	q_bind_text(st, 1, s->name);
	q_bind_text(st, 2, s->url);
	q_bind_int64(st, 3, s->interval);
	q_bind_text(st, 4, s->created);
	int r = step_id(st, inst, &s->id);
	if (r == Q_CONSTRAINT)
		return bia_fail(ctx, BIA_EEXIST, "a source named '%s' already exists (give --name)",
				s->name);
	if (r != Q_DONE)
		return db_fail(ctx, inst, "insert workflow source");
	return 0;
}

static int sql_source_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			  int64_t id, struct bia_wf_source *s)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, name ? SOURCE_COLS "WHERE name = ?" : SOURCE_COLS "WHERE id = ?",
		    &st))
		return ctx->rc;
	if (name)
		q_bind_text(st, 1, name);
	else
		q_bind_int64(st, 1, id);
	int r = q_step(st);
	if (r == Q_ROW)
		source_row(st, s);
	fin(inst, st);
	if (r == Q_ROW)
		return 0;
	if (r != Q_DONE)
		return db_fail(ctx, inst, "get workflow source");
	if (name)
		return bia_fail(ctx, BIA_ENOENT, "no source named '%s'", name);
	return bia_fail(ctx, BIA_ENOENT, "no source with id %lld", (long long)id);
}

static int sql_source_list(struct bia_ctx *ctx, struct bia_instance *inst,
			   struct bia_wf_source **pv, size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst, SOURCE_COLS "ORDER BY id", &st))
		return ctx->rc;
	return collect_rows(ctx, inst, st, sizeof(struct bia_wf_source), source_row, NULL,
			    "workflow sources", (void **)pv, pn);
}

static int sql_source_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id)
{
	struct q_stmt *st;
	/* the tag rows go with it (ON DELETE CASCADE; SQLite's foreign keys
	 * are on for every connection), in one statement */
	if (prepare(ctx, inst, "DELETE FROM workflow_sources WHERE id = ?", &st))
		return ctx->rc;
	q_bind_int64(st, 1, id);
	if (step_done(ctx, inst, st, "remove workflow source"))
		return ctx->rc;
	if (!q_changes(inst))
		return bia_fail(ctx, BIA_ENOENT, "no source with id %lld", (long long)id);
	return 0;
}

static void source_tag_row(struct q_stmt *st, void *e)
{
	struct bia_wf_source_tag *t = e;
	memset(t, 0, sizeof(*t));
	t->source_id = q_col_int64(st, 0);
	col_text(st, 1, t->tag, sizeof(t->tag));
	col_text(st, 2, t->status, sizeof(t->status));
	t->version_id = q_col_null(st, 3) ? 0 : q_col_int64(st, 3);
	col_text(st, 4, t->commit, sizeof(t->commit));
	col_text(st, 5, t->digest, sizeof(t->digest));
	col_text(st, 6, t->message, sizeof(t->message));
	col_text(st, 7, t->updated, sizeof(t->updated));
	col_text(st, 8, t->workflow, sizeof(t->workflow));
}

static int sql_source_tags(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			   struct bia_wf_source_tag **pv, size_t *pn)
{
	struct q_stmt *st;
	if (prepare(ctx, inst,
		    "SELECT t.source_id, t.tag, t.status, t.version_id, t.commit_id, t.digest, "
		    "t.message, t.updated_at, coalesce(w.name, '') FROM workflow_source_tags t "
		    "LEFT JOIN workflow_versions v ON v.id = t.version_id LEFT JOIN workflows w "
		    "ON w.id = v.workflow_id WHERE t.source_id = ? ORDER BY t.tag",
		    &st))
		return ctx->rc;
	q_bind_int64(st, 1, id);
	return collect_rows(ctx, inst, st, sizeof(struct bia_wf_source_tag), source_tag_row, NULL,
			    "source tags", (void **)pv, pn);
}

static int sql_source_synced(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_wf_source *s, const struct bia_wf_source_tag *tags,
			     size_t n)
{
	struct q_stmt *st;
	if (tx_begin(ctx, inst))
		return ctx->rc;
	if (prepare(ctx, inst,
		    "UPDATE workflow_sources SET synced_at = ?, ok_at = ?, status = ?, error = ? "
		    "WHERE id = ?",
		    &st))
		goto fail;
	q_bind_int64(st, 1, s->synced_at);
	q_bind_int64(st, 2, s->ok_at);
	q_bind_text(st, 3, s->status);
	q_bind_text(st, 4, s->error);
	q_bind_int64(st, 5, s->id);
	if (step_done(ctx, inst, st, "record a sync"))
		goto fail;
	if (!q_changes(inst)) { /* removed meanwhile: nothing to record */
		bia_fail(ctx, BIA_ENOENT, "no source with id %lld (removed)", (long long)s->id);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const struct bia_wf_source_tag *t = &tags[i];
		if (prepare(ctx, inst,
			    "INSERT INTO workflow_source_tags(source_id, tag, status, version_id, "
			    "commit_id, digest, message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
			    "ON CONFLICT (source_id, tag) DO UPDATE SET status = excluded.status, "
			    "version_id = excluded.version_id, commit_id = excluded.commit_id, "
			    "digest = excluded.digest, message = excluded.message, "
			    "updated_at = excluded.updated_at",
			    &st))
			goto fail;
		q_bind_int64(st, 1, s->id);
		q_bind_text(st, 2, t->tag);
		q_bind_text(st, 3, t->status);
		if (t->version_id)
			q_bind_int64(st, 4, t->version_id);
		else
			q_bind_null(st, 4);
		q_bind_text(st, 5, t->commit);
		q_bind_text(st, 6, t->digest);
		q_bind_text(st, 7, t->message);
		q_bind_text(st, 8, t->updated);
		if (step_done(ctx, inst, st, "record a source tag"))
			goto fail;
	}
	if (tx_commit(ctx, inst))
		goto fail;
	return 0;
fail:
	tx_rollback(inst);
	return ctx->rc;
}

/* The operations of both back ends; each driver adds its open, close,
 * check and pool. */
#define SQL_OPS \
	.schema_version = sql_schema_version, \
	.problem_add = sql_problem_add, \
	.problem_get = sql_problem_get, \
	.problem_list = sql_problem_list, \
	.problem_set_main_metric = sql_problem_set_main_metric, \
	.run_set_verdict = sql_run_set_verdict, \
	.problem_rm = sql_problem_rm, \
	.image_rm = sql_image_rm, \
	.gt_rm = sql_gt_rm, \
	.import = sql_import, \
	.image_list = sql_image_list, \
	.image_get = sql_image_get, \
	.gt_list = sql_gt_list, \
	.blob_refs = sql_blob_refs, \
	.layers = sql_layers, \
	.wf_version_add = sql_wf_version_add, \
	.wf_version_get = sql_wf_version_get, \
	.wf_list = sql_wf_list, \
	.run_add = sql_run_add, \
	.run_get = sql_run_get, \
	.run_list = sql_run_list, \
	.run_next_queued = sql_run_next_queued, \
	.run_update = sql_run_update, \
	.run_clear_results = sql_run_clear_results, \
	.run_summary_put = sql_run_summary_put, \
	.run_values = sql_run_values, \
	.blob_rows_gc = sql_blob_rows_gc, \
	.begin = sql_begin, \
	.commit = sql_commit, \
	.rollback = sql_rollback, \
	.run_image_put = sql_run_image_put, \
	.run_rescore_put = sql_run_rescore_put, \
	.run_images = sql_run_images, \
	.run_events = sql_run_events, \
	.run_errors_query = sql_run_errors_query, \
	.run_objects_get = sql_run_objects_get, \
	.problem_set_private = sql_problem_set_private, \
	.problem_member_set = sql_problem_member_set, \
	.problem_flags = sql_problem_flags, \
	.user_add = sql_user_add, \
	.user_get = sql_user_get, \
	.user_list = sql_user_list, \
	.user_rm = sql_user_rm, \
	.user_set = sql_user_set, \
	.token_add = sql_token_add, \
	.token_find = sql_token_find, \
	.token_list = sql_token_list, \
	.token_rm = sql_token_rm, \
	.source_add = sql_source_add, \
	.source_get = sql_source_get, \
	.source_list = sql_source_list, \
	.source_rm = sql_source_rm, \
	.source_tags = sql_source_tags, \
	.source_synced = sql_source_synced,

int bia__sqlite_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *location);
void bia__sqlite_close(struct bia_instance *inst);
int bia__sqlite_check(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		      size_t reportsz);
unsigned bia__sqlite_connections_in_use(struct bia_instance *inst);

const struct bia_store_ops bia__store_sqlite = {
	.scheme = "sqlite",
	.open = bia__sqlite_open,
	.close = bia__sqlite_close,
	.check = bia__sqlite_check,
	.connections_in_use = bia__sqlite_connections_in_use,
	SQL_OPS
};

int bia__pg_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *location);
void bia__pg_close(struct bia_instance *inst);
int bia__pg_check(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		  size_t reportsz);
unsigned bia__pg_connections_in_use(struct bia_instance *inst);

int bia__pg_create(struct bia_ctx *ctx, const char *location, char *out, size_t outsz);
int bia__pg_listen(struct bia_ctx *ctx, struct bia_instance *inst,
		   struct bia_store_listener **pl);
int bia__pg_listener_fd(const struct bia_store_listener *l);
int bia__pg_listener_drain(struct bia_store_listener *l);
void bia__pg_listener_close(struct bia_store_listener *l);

const struct bia_store_ops bia__store_pg = {
	.scheme = "postgresql",
	.create = bia__pg_create,
	.listen = bia__pg_listen,
	.listener_fd = bia__pg_listener_fd,
	.listener_drain = bia__pg_listener_drain,
	.listener_close = bia__pg_listener_close,
	.open = bia__pg_open,
	.close = bia__pg_close,
	.check = bia__pg_check,
	.connections_in_use = bia__pg_connections_in_use,
	SQL_OPS
};
