/* The instance: a directory holding the database, the content-addressed
 * blob store and run folders; and the storage interface over it. Callers
 * use bia_store_* only; a back end (SQLite now, PostgreSQL later) fills a
 * struct bia_store_ops.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_STORE_H
#define BIA_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "util/classes.h"
#include "util/util.h"

/* --------------------------------------------------------------- instance */

struct bia_store_ops;

/* How long a connection waits for another writer before BIA_EBUSY. */
#define BIA_STORE_BUSY_MS 10000

/* The limits of an instance: config "limits" (docs/store.md "Limits"),
 * defaults otherwise. Every import, request and run takes them from the
 * instance, so none can forget one. */
struct bia_limits {
	uint64_t max_pixels;	   /* samples of one image (X*Y*Z*C*T) */
	uint64_t max_upload_bytes; /* one uploaded file */
	uint64_t max_body_bytes;   /* one request body (JSON) */
	int max_json_depth;	   /* nesting of a JSON document */
	uint64_t max_log_bytes;	   /* workflow output kept in a run's log */
};
#define BIA_DEFAULT_MAX_UPLOAD (UINT64_C(4) << 30)
#define BIA_DEFAULT_MAX_BODY (UINT64_C(1) << 20)
#define BIA_DEFAULT_MAX_JSON_DEPTH 64
#define BIA_DEFAULT_MAX_LOG (UINT64_C(16) << 20)

/* An open instance, shared by every thread of the process: its parts do
 * not change after bia_instance_open. Each thread gets its own connection
 * to the store (from a pool of the back end) the first time it uses it. */
struct bia_instance {
	char root[BIA_PATH_MAX];	      /* absolute path of the directory */
	json_t *config;			      /* parsed `config`, owned; read only */
	struct bia_limits limits;	      /* from config, read only */
	const struct bia_store_ops *backend; /* private to src/store */
	void *db;			      /* back end's shared state (its pool) */
	int lock_fd;			      /* blob-store lock (shared while writing), -1 */
	int derive_in_background;	      /* serve: pyramids are built by the server's
					       * thread, not inline by imports and runs */
};

/* A PostgreSQL store URL: postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB
 * [?schema=NAME&...]. `schema` (the instance's PostgreSQL schema: a-z, 0-9,
 * _, at most BIA_PG_SCHEMA_MAX bytes, not starting with a digit or pg_) is
 * taken out; `conninfo` is the rest, for libpq. Returns 0, or BIA_EINVAL
 * with a message in err. */
#define BIA_PG_SCHEMA_MAX 40
struct bia_pg_url {
	char conninfo[1024];
	char user[128];
	char host[256];
	int port; /* 5432 unless given */
	char db[128];
	char schema[BIA_PG_SCHEMA_MAX + 1]; /* "" if none */
};
int bia_pg_url_parse(const char *url, struct bia_pg_url *u, char *err, size_t errsz);
int bia_pg_schema_valid(const char *s);

/* Create an instance whose rows live in the store at `url` ("sqlite" or
 * "sqlite:FILE", or a PostgreSQL URL: the instance gets a new schema of
 * its own there, recorded in its config). NULL: $BIAFLOWS_DATABASE, or
 * SQLite when it is unset or empty. */
int bia_instance_create_store(struct bia_ctx *ctx, const char *dir, const char *url);

/* Copy every row of the instance's store to a new store at `to_url`
 * ("sqlite[:FILE]" or a PostgreSQL URL: a new schema), compare every row
 * of every table and check every referenced blob's digest, then switch the
 * instance's config to it. The old store is left as it was; a target that
 * is not empty is refused, and so is a store with runs being executed.
 * Close and reopen the instance afterwards. */
struct bia_store_migration {
	char from[1200], to[1200]; /* store URLs */
	size_t tables, rows, blobs_checked;
};
int bia_store_migrate(struct bia_ctx *ctx, struct bia_instance *inst, const char *to_url,
		      struct bia_store_migration *rep);

/* Notifications of run events written by any process on the instance's
 * store (PostgreSQL: LISTEN). *pl is NULL when the back end has none
 * (SQLite: followers rely on runs/.events and their timeout). */
struct bia_store_listener;
int bia_store_listen(struct bia_ctx *ctx, struct bia_instance *inst,
		     struct bia_store_listener **pl);
/* The descriptor to poll for input; then drain (reads the pending
 * notifications; 0, or -1 when the connection is lost). */
int bia_store_listener_fd(const struct bia_store_listener *l);
int bia_store_listener_drain(struct bia_store_listener *l);
void bia_store_listener_close(struct bia_store_listener *l);

/* A context for work on this instance: bia_ctx_init plus the instance's
 * image limits (a reader refuses images over them). */
void bia_instance_ctx(const struct bia_instance *inst, struct bia_ctx *ctx);

/* Create a new instance directory (refuses a non-empty existing dir that is
 * not an instance; an existing instance is an error too). */
int bia_instance_create(struct bia_ctx *ctx, const char *dir);
/* True if dir is an instance: its `config` names the instance format
 * (whatever the store back end). */
int bia_instance_probe(const char *dir);
/* Open an instance: reads config and its limits, opens the store the
 * config's "store" URL names (back ends: "sqlite:FILE", FILE relative to
 * the instance; "postgresql://..." not yet), applies migrations. */
int bia_instance_open(struct bia_ctx *ctx, const char *dir, struct bia_instance *inst);
void bia_instance_close(struct bia_instance *inst);

/* ------------------------------------------------------------------ blobs */

/* Content-addressed files under blobs/sha256/<2 hex>/<62 hex>. A blob is
 * written to blobs/tmp/<pid>-..., fsynced, renamed into place, then
 * referenced by a row in one transaction. A blob file without a row is an
 * orphan that fsck removes. */
int bia_blob_path(const struct bia_instance *inst, const char *digest, char *out,
		  size_t outsz);
/* Copy a file into the blob store; fills digest and size. If the blob
 * already exists the copy is skipped (*pnew = 0). */
int bia_blob_put_file(struct bia_ctx *ctx, struct bia_instance *inst, const char *src,
		      char digest[BIA_SHA256_HEX] /* OUT */, uint64_t *psize /* OUT */,
		      int *pnew /* OUT, may be NULL */);
/* Store what rd returns (n > 0 bytes, 0 at the end, < 0 on error, with
 * errno or an rc set on ctx) as a blob; `what` names the source. */
typedef ssize_t (*bia_blob_reader)(void *arg, void *buf, size_t n);
int bia_blob_put_stream(struct bia_ctx *ctx, struct bia_instance *inst, bia_blob_reader rd,
			void *arg, const char *what, char digest[BIA_SHA256_HEX], uint64_t *psize,
			int *pnew);
/* On: the blobs this thread puts are not synced one by one; bia_blob_sync
 * (syncfs of the blob store) must then run before a commit names them —
 * one sync for an import of thousands of files. */
void bia_blob_defer_sync(int on);
int bia_blob_sync(struct bia_ctx *ctx, struct bia_instance *inst);
/* Store bytes as a blob. */
int bia_blob_put_mem(struct bia_ctx *ctx, struct bia_instance *inst, const void *data,
		     size_t len, char digest[BIA_SHA256_HEX] /* OUT */,
		     int *pnew /* OUT, may be NULL */);
/* Hold the blob-store lock shared (writers) for the lifetime of the
 * instance handle; fsck takes it exclusively before removing orphans. */
int bia_blob_lock_shared(struct bia_ctx *ctx, struct bia_instance *inst);
/* After a removal committed: unlink those of `digests` that no row
 * references, but only when no writer is active (the blob-store lock taken
 * exclusively without waiting, and the references read again under it);
 * otherwise they stay as orphans for fsck. A failed write never unlinks a
 * blob: another writer may have found it in place and referenced it.
 * Returns the number of files removed. */
size_t bia_blob_remove_unreferenced(struct bia_instance *inst, char (*digests)[BIA_SHA256_HEX],
				    size_t n);

/* ---------------------------------------------------------------- records */

struct bia_problem {
	int64_t id;
	char name[256];
	enum bia_class cls;
	char *description;    /* malloc'd */
	char main_metric[32]; /* "" = class default */
	char *params;	      /* JSON object text, malloc'd */
	char created[21];
	int64_t n_images;     /* filled by get/list */
	int private_;	      /* seen only by members (filled by get/list) */
};
void bia_problem_release(struct bia_problem *p);

/* An image row. Dims follow struct bia_image. */
struct bia_image_rec {
	int64_t id;
	int64_t problem_id;
	char stem[256];
	char original_name[256];
	char digest[BIA_SHA256_HEX];
	uint64_t bytes;
	char format[16]; /* "tiff", "png", "jpeg" */
	char layout[16]; /* "ome", "imagej", ... */
	uint64_t size[5]; /* X, Y, Z, C, T */
	char dtype[16];
	double phys[3];
	char created[21];
	int64_t gt_version; /* current GT version id, 0 if none (filled by get/list) */
	char problem[256];  /* the problem's name (filled by get/list) */
};

/* A ground-truth file (one of the files of a GT version). */
struct bia_gt_file {
	char name[256];	 /* original file name */
	char kind[16];	 /* "mask", "swc", "tracks", "points", "xml", "other" */
	char digest[BIA_SHA256_HEX];
	uint64_t bytes;
	uint64_t size[5]; /* mask dims, 0 for non-image files */
	char dtype[16];	  /* mask sample type, "" otherwise */
};

/* A ground-truth version of an image. */
struct bia_gt_version {
	int64_t id;
	int64_t image_id;
	char annotator[128];
	int current;
	char created[21];
	size_t nfiles;
	struct bia_gt_file *files; /* malloc'd */
};
void bia_gt_version_release(struct bia_gt_version *v);

/* A batch to add in one transaction: new images, each with optional GT,
 * and GT versions for existing images. */
struct bia_import_item {
	int64_t image_id;	     /* existing image (GT only), or 0: add `image` */
	struct bia_image_rec image;  /* the new image (ids filled on success) */
	struct bia_gt_file *gt;	     /* GT files, may be NULL */
	size_t ngt;
	char annotator[128];
	int make_current;	     /* 1: the new GT version becomes current */
	int64_t gt_version_id;	     /* OUT: id of the new GT version, 0 if none */
};

/* One file of a workflow version (stored as a blob). */
struct bia_wf_file {
	char path[512];		    /* relative path inside the workflow folder */
	char digest[BIA_SHA256_HEX]; /* blob */
	uint64_t bytes;
	int mode;		    /* permission bits (0755 for executables, else 0644) */
};

/* An immutable workflow version: its descriptor and files, by digest. */
struct bia_wf_version {
	int64_t id;
	int64_t workflow_id;
	char name[256];		     /* the descriptor's name */
	char version[128];	     /* git tag, --version, or dev-<12 hex> */
	char digest[BIA_SHA256_HEX]; /* sha256 over the sorted "mode digest path" lines */
	char *descriptor;	     /* descriptor.json text, malloc'd */
	char problem_class[16];	     /* the descriptor's problem-class, "" if none */
	char source[1024];	     /* folder or repository it came from */
	char created[21];
	size_t nfiles;
	struct bia_wf_file *files;   /* malloc'd */
};
void bia_wf_version_release(struct bia_wf_version *v);

/* ------------------------------------------------------------------ runs */

/* The states of a run (docs/runs.md). Numbers are stable; the store keeps
 * the names. Only src/runs changes a run's state (bia_run_transition). */
enum bia_run_state {
	BIA_RUN_QUEUED = 0,
	BIA_RUN_RUNNING,
	BIA_RUN_INGESTING,
	BIA_RUN_SUCCEEDED,
	BIA_RUN_FAILED,
	BIA_RUN_CANCELLED,
	BIA_RUN_TIMED_OUT,
	BIA_RUN_STATE_COUNT
};
/* "queued", "running", ... */
const char *bia_run_state_name(enum bia_run_state s);
/* The state of a name; -1 if none. */
int bia_run_state_parse(const char *name);

/* A run of a workflow version on a problem (docs/runs.md). Text of any
 * length is allocated (released by bia_run_release); names are bounded by
 * what their tables accept. */
struct bia_run {
	int64_t id;
	int64_t workflow_version_id;
	int64_t problem_id;
	char workflow[256];	  /* filled by get/list: the workflow's name */
	char version[128];	  /* filled by get/list */
	char wf_digest[BIA_SHA256_HEX]; /* filled by get/list */
	char problem[256];	  /* filled by get/list */
	enum bia_class cls;	  /* filled by get/list: the problem's class */
	char main_metric[32];	  /* filled by get/list: the problem's ("" = default) */
	enum bia_run_state state;
	char *params;		  /* JSON object text (defaults filled in), malloc'd */
	char *images;		  /* JSON array of image ids, malloc'd */
	char executor[16];	  /* "local" */
	char *job;		  /* the executor's job id ("" before submission), malloc'd */
	int64_t worker_pid;	  /* 0 if none */
	int has_exit_code;
	int exit_code;
	char *reason;		  /* malloc'd, NULL = "" */
	char env_digest[80];	  /* OCI config digest, or "host" */
	char dataset_digest[BIA_SHA256_HEX];
	char metrics_version[32];
	char host[256];
	char created[21], started[21], finished[21]; /* "" if not yet */
	int cancel_requested;
	char *limits;		  /* JSON object of per-run limits ("time" s, "memory" bytes), NULL = {} */
	int worker_slot;	  /* slot (worker.lock / worker.lock.K) of the claiming worker */
	int attempts;		  /* claims so far (1 on the first execution) */
	int interrupted;	  /* attempts interrupted by a dead worker and requeued */
	/* a rerun (run_reruns): the run it repeats (0: not a rerun), the metric
	 * tolerance, and the verdict once it ended ("" before; else
	 * reproduced-exact, reproduced-within-tolerance, not-reproduced) */
	int64_t rerun_of;
	double tolerance;
	char verdict[32];
	char *verdict_detail;	  /* JSON object text, NULL = {} */
	char *means;		  /* filled by get/list: the run's summary, a JSON object
				   * metric -> mean over its images; NULL when not kept */
};
/* Replace an allocated text field of a run (bia_run_set(&r->reason, ...)).
 * Returns 0, or BIA_ENOMEM (the field unchanged). */
int bia_run_set(char **field, const char *fmt, ...) BIA_PRINTF(2, 3);
void bia_run_release(struct bia_run *r);
/* Release every run of a list from run_list, then the array. */
void bia_run_list_free(struct bia_run *v, size_t n);

/* One metric value of one image of a run. */
struct bia_run_score {
	char metric[32];
	double value;		  /* NaN/inf kept (stored as NULL + text) */
	int64_t gt_version_id;
	char metrics_version[32];
};

/* What a run produced for one image: its outputs (blobs) and scores. */
struct bia_run_image {
	int64_t image_id;
	char stem[256];		  /* filled by get */
	char status[16];	  /* ok, missing, invalid */
	char *reason;		  /* malloc'd, NULL = "" */
	char *warnings;		  /* JSON array of the metric library's warnings, malloc'd;
				   * NULL = [] */
	size_t nfiles;
	struct {
		char name[256];
		char digest[BIA_SHA256_HEX];
		uint64_t bytes;
	} files[2];		  /* the output (ObjTrk: and its .txt) */
	size_t nscores;
	struct bia_run_score *scores; /* malloc'd */
	/* Error map (docs/benchmarks.md "Error maps"): per-object outcomes and
	 * the count of every error category of the class (0 included); written
	 * by run_image_put in the same transaction; not filled by run_images. */
	size_t nobjects;
	struct bia_run_object *objects; /* malloc'd */
	size_t nerrors;
	struct bia_run_error *errors;	/* malloc'd */
};
void bia_run_image_release(struct bia_run_image *ri);
/* Release every element of a list from run_images, then the array. */
void bia_run_images_free(struct bia_run_image *v, size_t n);

/* One object of an image's error map (a row of run_objects). */
struct bia_run_object {
	char kind[16];	  /* gt, pred (PrtTrk: ref, cand) */
	int64_t obj_id;	  /* label, index, edge or track id; unique per kind */
	char status[16];  /* TP, FN, FP, matched, missed, spurious, paired, NS ... */
	int has_match;	  /* match is set */
	int64_t match;	  /* the partner's obj_id (other kind) */
	double score;	  /* IoU, distance, closeness; NaN: none (NULL) */
	char *detail;	  /* the rest of the metric's record, JSON text, malloc'd */
};
void bia_run_object_release(struct bia_run_object *o);

/* The count of one error category of one image (a row of run_errors). */
struct bia_run_error {
	char category[16]; /* tp, fp, fn, split, merged, missed, spurious ... */
	int64_t count;
};

/* A row of an error-count query. */
struct bia_run_error_row {
	int64_t run_id;
	int64_t image_id;
	char stem[256];
	char category[16];
	int64_t count;
};

/* ------------------------------------------------------ storage interface
 *
 * Every function returns 0 or a bia_rc with a message on ctx (BIA_ENOENT
 * for an unknown id or name). Lists allocate arrays the caller frees with
 * the matching *_free / release functions. A back end (src/store/backend.h,
 * private) implements them; nothing above src/store/ sees it or SQL. */

/* A page of a list: at most `limit` rows (0: every row) after skipping
 * `offset`, in the list's fixed order. Lists also give the number of rows
 * of the whole list (*ptotal, may be NULL). Each page costs a fixed number
 * of statements, whatever its size. */
struct bia_page {
	int64_t limit;
	int64_t offset;
};
#define BIA_PAGE_MAX 1000 /* largest limit a front end should ask for */

/* Who is asking, for what lists and lookups may show: zero-initialised
 * (restricted 0) sees everything (the CLI, an admin); restricted sees the
 * public problems and those user_id (0: an anonymous guest) is a member of,
 * and only the runs, images and scores of those. */
struct bia_viewer {
	int restricted;
	int64_t user_id;
};

/* A transaction of the calling thread: every store call made by this thread
 * until commit or rollback is part of it (they nest). */
int bia_store_begin(struct bia_ctx *ctx, struct bia_instance *inst);
int bia_store_commit(struct bia_ctx *ctx, struct bia_instance *inst);
void bia_store_rollback(struct bia_instance *inst);
/* The schema version of the store (migrations applied). */
int bia_store_schema_version(struct bia_ctx *ctx, struct bia_instance *inst, int *pver);

/* Problems. A name is 1..255 bytes, not a number, without '/'. */
int bia_problem_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_problem *p);
/* Store a problem's main metric ("" = the class default); not validated
 * here (bia_problem_choose_main_metric validates). */
int bia_problem_set_main_metric(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				const char *metric);
/* By name, or by id given as decimal text. */
int bia_problem_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		    struct bia_problem *p);
int bia_problem_get_id(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		       struct bia_problem *p);
/* Problems by id, with their image counts. */
int bia_problem_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		     struct bia_problem **pv, size_t *pn, int64_t *ptotal);
void bia_problem_list_free(struct bia_problem *v, size_t n);
/* The problems a viewer may see (bia_problem_list is the unrestricted view). */
int bia_problem_list_view(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_viewer *viewer, struct bia_page page,
			  struct bia_problem **pv, size_t *pn, int64_t *ptotal);
/* Private problems are seen only by their members (and admins); problems
 * are public unless made private. */
int bia_problem_set_private(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			    int private_);
int bia_problem_is_private(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			   int *pprivate);
/* Membership of a problem (adding twice is not an error). */
int bia_problem_member_set(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			   int64_t user_id, int member);
int bia_problem_is_member(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			  int64_t user_id, int *pmember);
/* May the viewer see problem id? (*pvisible 0 or 1; a missing problem: 0) */
int bia_problem_visible(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_viewer *viewer, int64_t id, int *pvisible);
int bia_problem_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   size_t *pnblobs_removed);

/* Images of a problem (problem_id 0: of every problem) by id, each with
 * its current GT version. */
int bia_image_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		   struct bia_page page, struct bia_image_rec **pv, size_t *pn, int64_t *ptotal);
int bia_store_image_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		  struct bia_image_rec *out);
/* The image of a problem with this stem (BIA_ENOENT naming it if none). */
int bia_store_image_find(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		   const char *stem, struct bia_image_rec *out);
/* Resolve "ID" or "PROBLEM/STEM". */
int bia_image_resolve(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		      struct bia_image_rec *out);
/* Remove an image with its GT versions. Refused (BIA_EBUSY) while a run
 * that has not ended uses it; without force, while any run references it
 * (force also removes those runs' outputs, scores and error maps of this
 * image). Files no row references any more are unlinked when no writer is
 * active, else left to fsck. */
int bia_image_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
		 size_t *pnblobs_removed);

/* The GT versions of an image, oldest first, with their files. */
int bia_gt_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		struct bia_gt_version **pv, size_t *pn);
void bia_gt_list_free(struct bia_gt_version *v, size_t n);
/* Remove a GT version; without force refused while runs are scored against
 * it. The newest remaining version becomes current if it was. */
int bia_gt_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id, int force,
	      size_t *pnblobs_removed);

/* Add a batch all-or-nothing (one transaction). Refuses a stem or digest
 * already in the problem (BIA_EEXIST, naming the existing image id). */
int bia_store_import(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_import_item *items, size_t n);

/* One viewable layer of an image: the image itself, a ground-truth mask
 * (one per GT version that has one) or a run's image output; or a vector
 * layer (a trace's SWC file: no pyramid, served as an overlay). */
enum bia_layer_kind { BIA_LAYER_IMAGE = 0, BIA_LAYER_GT = 1, BIA_LAYER_RUN = 2 };
struct bia_layer {
	int64_t image_id;
	enum bia_layer_kind kind;
	int64_t ref;		     /* GT version id or run id, 0 for the image */
	int current;		     /* GT: the image's current version */
	char digest[BIA_SHA256_HEX]; /* the stored file */
	char name[256];		     /* its file name */
	char title[256];	     /* GT: annotator; run: "workflow version" */
	enum bia_class cls;	     /* the problem's class */
	int64_t problem_id;
	int vector;		     /* an SWC file (only from bia_store_layers_all) */
};
/* The layers with a pyramid of one image (image_id > 0) or of every image
 * (0), ordered by image, kind, ref. */
int bia_store_layers(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		     struct bia_layer **pv, size_t *pn);
/* The same and the vector layers, in the same order. */
int bia_store_layers_all(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
			 struct bia_layer **pv, size_t *pn);

/* Copy a stored blob to a file (temp file, then rename; mode 0644). */
int bia_blob_copy_out(struct bia_ctx *ctx, const struct bia_instance *inst, const char *digest,
		      const char *dst);
/* Every digest a row references (images, GT files, workflow files, run
 * outputs). */
int bia_store_blob_refs(struct bia_ctx *ctx, struct bia_instance *inst,
			char (**pdigests)[BIA_SHA256_HEX], size_t *pn);

/* Workflow versions. Adding one with its files is one transaction; an
 * existing (name, version) with the same digest is not an error
 * (*pexisted = 1, v->id set); with another digest it is refused
 * (BIA_EEXIST). Name 1..255 bytes, version 1..127. */
int bia_store_wf_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_version *v,
		     int *pexisted);
/* A version by name and version (NULL: the newest added), with files. */
int bia_store_wf_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
		     const char *version, struct bia_wf_version *out);
/* Every version of every workflow (no files), by name then age. */
int bia_store_wf_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		      struct bia_wf_version **pv, size_t *pn, int64_t *ptotal);
void bia_wf_list_free(struct bia_wf_version *v, size_t n);

/* Trusted workflow sources: git repositories whose tags become versions
 * (src/workflow/sources.c has the rules; docs/workflows.md). */
#define BIA_SOURCE_NAME_MAX 64
struct bia_wf_source {
	int64_t id;
	char name[BIA_SOURCE_NAME_MAX + 1]; /* [A-Za-z0-9._-], not all digits */
	char url[1024];	     /* absolute local path, file://, http:// or https:// URL */
	int64_t interval;    /* seconds between two syncs by `serve` */
	char created[21];
	int64_t synced_at;   /* Unix seconds of the last sync attempt, 0: never */
	int64_t ok_at;	     /* of the last sync that reached the repository, 0: never */
	char status[16];     /* never, ok, partial (a tag refused), error (not reached) */
	char error[1024];    /* why partial or error, "" otherwise */
};
/* What the source knows of one tag. */
struct bia_wf_source_tag {
	int64_t source_id;
	char tag[256];
	char status[16];	     /* imported, present, refused, deleted */
	int64_t version_id;	     /* the version from this tag, 0: none */
	char workflow[256];	     /* that version's workflow name (lists fill it) */
	char commit[48];	     /* the commit of that version (hex), "" if none */
	char digest[BIA_SHA256_HEX]; /* that version's digest, "" if none */
	char message[1024];	     /* why refused or deleted, "" otherwise */
	char updated[21];
};
/* Add a source (s->id, created set); another of that name: BIA_EEXIST. */
int bia_store_source_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_source *s);
/* By name, or by decimal id. BIA_ENOENT if none. */
int bia_store_source_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
			 struct bia_wf_source *s);
/* Every source, by id. Caller frees *pv. */
int bia_store_source_list(struct bia_ctx *ctx, struct bia_instance *inst,
			  struct bia_wf_source **pv, size_t *pn);
/* Remove a source and its tag rows (the versions stay). */
int bia_store_source_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
/* The tags of a source, by tag name. Caller frees *pv. */
int bia_store_source_tags(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  struct bia_wf_source_tag **pv, size_t *pn);
/* Record a sync: the source's synced_at, ok_at, status and error, and the
 * n tag rows (inserted or replaced), in one transaction. */
int bia_store_source_synced(struct bia_ctx *ctx, struct bia_instance *inst,
			    const struct bia_wf_source *s, const struct bia_wf_source_tag *tags,
			    size_t n);

/* Runs: the records only. The rules (claiming, cancelling, requeueing,
 * transitions) are src/runs's, built on these in its own transactions. */
/* Add a queued run (r->id, created filled); with r->rerun_of set, its
 * rerun row in the same transaction. */
int bia_store_run_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r);
int bia_store_run_get(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      struct bia_run *out);
/* Which runs a list holds: of one problem (0: every problem), of one
 * status ("" or NULL: any), optionally only unfinished ones. */
struct bia_run_filter {
	int64_t problem_id;
	const char *status;
	int unfinished; /* queued, running or ingesting */
	int64_t workflow_version_id; /* 0: any */
	struct bia_viewer viewer;    /* zero: every problem */
};
/* Runs by id (oldest first). */
int bia_store_run_list(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_filter *f, struct bia_page page, struct bia_run **pv,
		       size_t *pn, int64_t *ptotal);
/* The id of the oldest queued run, 0 if none. */
int bia_store_run_next_queued(struct bia_ctx *ctx, struct bia_instance *inst, int64_t *pid);
/* Write every mutable field of r (status, worker, executor job, host,
 * attempts, interruptions, exit code, reason, digests, metrics version,
 * times, cancel request) if the stored status is still `from` (*pdone = 0
 * and nothing written otherwise). */
int bia_store_run_update(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_run *r,
			 const char *from, int *pdone);
/* Keep a run's summary (JSON object metric -> mean over its images,
 * written by the run layer when the run ends or is rescored). Any change of
 * the run's scores removes it. */
int bia_store_run_summary_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const char *means);
/* Remove the outputs, scores, warnings and error maps of a run. */
int bia_store_run_clear_results(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
/* Record a rerun's verdict and its details (JSON object text). */
int bia_store_run_set_verdict(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			      const char *verdict, const char *detail);
/* Store the outputs (blob rows), scores and error map (objects and
 * category counts) of one image in one transaction. */
int bia_store_run_image_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			    const struct bia_run_image *ri);
/* Replace the scores and error map of one image of a run (a rescore): the
 * current scores move to the score history, one transaction. */
int bia_store_run_rescore_put(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			      const struct bia_run_image *ri);
/* The per-image outputs and scores of a run, by image id. */
int bia_store_run_images(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 struct bia_run_image **pv, size_t *pn);
/* The values of some metrics for the images of some runs, one statement:
 * rows (run, image, metric, value) by run, then image stem (the order of
 * bia_store_run_images). */
struct bia_run_value {
	int64_t run_id;
	int64_t image_id;
	char metric[32];
	double value;
};
int bia_store_run_values(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *run_ids,
			 size_t nruns, const char *const *metrics, size_t nmetrics,
			 struct bia_run_value **pv, size_t *pn);
/* A state change of a run, as recorded by bia_store_run_update. */
struct bia_run_event_rec {
	int64_t id; /* increasing over the instance */
	int64_t run_id;
	enum bia_run_state state;
	char *reason; /* malloc'd */
	char at[21];
	int64_t problem_id; /* the run's */
};
/* The state changes of one run (run_id != 0) or of every run, after event
 * `after`, oldest first, at most `limit` (0: all). */
int bia_store_run_events(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 int64_t after, int64_t limit, struct bia_run_event_rec **pv, size_t *pn);
void bia_run_events_free(struct bia_run_event_rec *v, size_t n);
/* Error counts of one run (run_id != 0) or of every run of a problem
 * (problem_id != 0). With a category: that category's rows only, by count
 * descending, then stem, then run id, at most `limit` (<= 0: all).
 * Without: every row, by run id, stem, category. */
int bia_store_run_errors(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 int64_t problem_id, const char *category, int64_t limit,
			 struct bia_run_error_row **pv, size_t *pn);
/* The error-map objects of one image of a run, in the metric's order. */
int bia_store_run_objects(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  int64_t image_id, struct bia_run_object **pv, size_t *pn);
void bia_run_objects_free(struct bia_run_object *v, size_t n);

/* --------------------------------------------------------------- exchange
 *
 * Moving content between instances (docs/exchange.md). Records are JSON
 * objects that name each other by refs local to one export (1, 2, ... per
 * kind, in a fixed order), never by ids. */

/* What an export holds: the problems (none: every problem) with their
 * images and GT versions; runs: their ended runs with outputs, scores and
 * error maps (and the workflow versions those used); workflows: every
 * workflow version (with problems named: those of their classes). */
struct bia_xsel {
	const int64_t *problems;
	size_t nproblems;
	int runs;
	int workflows;
};

/* Called with each record in order: kind is "problem", "image", "gt",
 * "workflow", "run" or "run_image"; id is the row's local id (the run's,
 * for run_image); rec is borrowed. Returns 0 or an rc set on ctx. */
typedef int (*bia_xemit_fn)(struct bia_ctx *ctx, void *arg, const char *kind, int64_t id,
			    json_t *rec);

/* The instance's own id (made once, by the store's migration 10). */
int bia_store_instance_id(struct bia_ctx *ctx, struct bia_instance *inst, char *out,
			  size_t outsz);
/* Where an imported run came from ("<instance id>/runs/<id>"); BIA_ENOENT
 * for a run made here. */
int bia_store_run_origin(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			 char *out, size_t outsz);
/* Every record of sel, from one snapshot of the store. */
int bia_store_export_records(struct bia_ctx *ctx, struct bia_instance *inst,
			     const struct bia_xsel *sel, bia_xemit_fn fn, void *arg);

enum { BIA_XK_PROBLEM, BIA_XK_IMAGE, BIA_XK_GT, BIA_XK_WORKFLOW, BIA_XK_RUN, BIA_XK_COUNT };
struct bia_ximport_counts {
	int64_t added[BIA_XK_COUNT];   /* rows made */
	int64_t present[BIA_XK_COUNT]; /* records of content already here */
	int64_t skipped[BIA_XK_COUNT]; /* records left out (workflow versions
					* whose files are neither in the bundle nor here) */
};
struct bia_ximport_result {
	int64_t id; /* the local id of the record's row (run_image: the run's) */
	int added;  /* 1: made by this record, 0: it was here */
	int64_t image; /* an image that gained a layer (image, GT, output), or 0 */
};
/* An import is one transaction of the calling thread: begin; the blobs of
 * the bundle (their files already stored); every record in the order of an
 * export; commit, or abort (nothing of it stays). Records are checked
 * (types, sizes, names, refs, blobs present) and content already here is
 * recognised: a problem by name (same class), an image by digest within
 * its problem, a GT version by annotator, time and files, a workflow
 * version by name, version and digest, a run by its origin. An image with
 * the same stem and other content, or a workflow version with other
 * content, is refused (BIA_EEXIST). A workflow version whose files are
 * neither in the bundle nor here is skipped (and listed); a run of it is
 * refused. */
struct bia_ximport;
int bia_store_ximport_begin(struct bia_ctx *ctx, struct bia_instance *inst,
			    struct bia_ximport **px);
int bia_store_ximport_blob(struct bia_ctx *ctx, struct bia_ximport *x, const char *digest,
			   uint64_t size);
int bia_store_ximport_record(struct bia_ctx *ctx, struct bia_ximport *x, const char *kind,
			     const json_t *rec, struct bia_ximport_result *res);
const struct bia_ximport_counts *bia_store_ximport_counts(const struct bia_ximport *x);
/* The records skipped, [{ref, workflow, version, reason}] (a new reference). */
json_t *bia_store_ximport_skipped(const struct bia_ximport *x);
int bia_store_ximport_commit(struct bia_ctx *ctx, struct bia_ximport *x);
void bia_store_ximport_abort(struct bia_ximport *x);

/* ------------------------------------------------------------------- fsck */

struct bia_fsck_report {
	size_t blobs_checked;	/* blob files whose digest was verified */
	size_t corrupt;		/* files whose content does not match their name */
	size_t missing;		/* rows whose blob file is absent */
	size_t orphans;		/* files no row references */
	size_t orphans_removed; /* of those, removed */
	size_t temp_live;	/* temp files of a live writer (left alone) */
	size_t temp_removed;	/* stale temp files removed */
	int db_ok;		/* database integrity check passed */
	int locked;		/* a writer held the lock: orphans not removed */
	json_t *problems;	/* array of {"kind","path","digest","detail"}, owned */
};

/* Verify every blob digest, find rows without files and files without rows,
 * remove orphans (unless dry_run or a writer is active) and stale temp
 * files. The report is filled even when problems are found. Returns 0 if
 * it ran (inspect the report), else an error. */
int bia_fsck(struct bia_ctx *ctx, struct bia_instance *inst, int dry_run,
	     struct bia_fsck_report *rep);
void bia_fsck_report_release(struct bia_fsck_report *rep);


/* --------------------------------------------------------------- accounts
 *
 * Users with a role, and tokens: API tokens (kind "api", until revoked)
 * and browser sessions (kind "session", with an expiry and a CSRF secret).
 * The store keeps only hashes (argon2id for passwords, SHA-256 for tokens:
 * src/auth makes them). */
enum bia_role { BIA_ROLE_NONE = 0, BIA_ROLE_VIEWER = 1, BIA_ROLE_CONTRIBUTOR = 2, BIA_ROLE_ADMIN = 3 };
const char *bia_role_name(enum bia_role r);
/* "admin", "contributor", "viewer" (exact); BIA_ROLE_NONE otherwise. */
enum bia_role bia_role_parse(const char *s);

#define BIA_USER_NAME_MAX 64
struct bia_user {
	int64_t id;
	char name[BIA_USER_NAME_MAX + 1];
	enum bia_role role;
	char created[21];
	char *pwhash; /* malloc'd, filled only by bia_user_get */
};
void bia_user_release(struct bia_user *u);
/* A name is 1..64 bytes of [A-Za-z0-9._-], not all digits. u->id is set. */
int bia_user_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_user *u,
		 const char *pwhash);
/* By name or decimal id; BIA_ENOENT if none. */
int bia_user_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		 struct bia_user *u);
int bia_user_list(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_page page,
		  struct bia_user **pv, size_t *pn, int64_t *ptotal);
void bia_user_list_free(struct bia_user *v, size_t n);
/* Removing a user removes its tokens and memberships. */
int bia_user_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
int bia_user_set_password(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  const char *pwhash);
int bia_user_set_role(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		      enum bia_role role);

struct bia_token {
	int64_t id;
	int64_t user_id;
	char user[BIA_USER_NAME_MAX + 1];
	enum bia_role role;   /* the user's */
	char kind[16];	      /* "api" or "session" */
	char name[128];	      /* a label */
	char csrf[65];	      /* sessions: the CSRF secret */
	char created[21];
	int64_t expires;      /* Unix seconds, 0: never */
};
/* Store a token by the hash of its secret; t->id is set. */
int bia_token_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_token *t,
		  const char *hash);
/* The token with that hash, if not expired at `now` (BIA_ENOENT else). */
int bia_token_find(struct bia_ctx *ctx, struct bia_instance *inst, const char *hash,
		   int64_t now, struct bia_token *t);
/* Tokens of one user (0: of everyone), by id. */
int bia_token_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t user_id,
		   const char *kind, struct bia_token **pv, size_t *pn);
int bia_token_revoke(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id);
/* Remove expired sessions; *pn how many (may be NULL). */
int bia_token_purge(struct bia_ctx *ctx, struct bia_instance *inst, int64_t now, size_t *pn);

#endif
