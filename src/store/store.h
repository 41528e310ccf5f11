/* The instance: a directory holding the database, the content-addressed
 * blob store and run folders; and the storage interface over it. Callers
 * use bia_store_* only; a back end (SQLite now, PostgreSQL later) fills a
 * struct bia_store_ops.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_STORE_H
#define BIA_STORE_H

#include <stdint.h>

#include "util/util.h"

/* --------------------------------------------------------- problem classes */

/* The nine BIAFLOWS problem classes. Numbers are stable. */
enum bia_class {
	BIA_CLASS_NONE = 0,
	BIA_OBJSEG = 1, /* object segmentation */
	BIA_SPTCNT = 2, /* spot counting */
	BIA_OBJDET = 3, /* object detection */
	BIA_PIXCLA = 4, /* pixel classification */
	BIA_TRETRC = 5, /* filament tree tracing */
	BIA_LOOTRC = 6, /* filament network (loop) tracing */
	BIA_OBJTRK = 7, /* object tracking */
	BIA_PRTTRK = 8, /* particle tracking */
	BIA_LNDDET = 9, /* landmark detection */
	BIA_CLASS_COUNT
};

/* Canonical code ("ObjSeg") and long name ("Object segmentation"). */
const char *bia_class_code(enum bia_class c);
const char *bia_class_name(enum bia_class c);
/* Parse a code case-insensitively; BIA_CLASS_NONE if unknown. */
enum bia_class bia_class_parse(const char *s);
/* "ObjSeg, SptCnt, ..." for error messages. */
const char *bia_class_list(void);

/* --------------------------------------------------------------- instance */

struct bia_store_ops;

/* How long a connection waits for another writer before BIA_EBUSY. */
#define BIA_STORE_BUSY_MS 10000

/* An open instance, shared by every thread of the process: its parts do
 * not change after bia_instance_open. Each thread gets its own connection
 * to the store (from a pool of the back end) the first time it uses it. */
struct bia_instance {
	char root[BIA_PATH_MAX];	 /* absolute path of the directory */
	json_t *config;			 /* parsed `config`, owned; read only */
	const struct bia_store_ops *ops; /* storage back end */
	void *db;			 /* back end's shared state (its connection pool) */
	int lock_fd;			 /* blob-store lock (shared while writing), -1 */
};

/* Create a new instance directory (refuses a non-empty existing dir that is
 * not an instance; an existing instance is an error too). */
int bia_instance_create(struct bia_ctx *ctx, const char *dir);
/* True if dir looks like an instance (has `config` and `biaflows.db`). */
int bia_instance_probe(const char *dir);
/* Open an instance: reads config, opens the store, applies migrations. */
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
	int64_t gt_version; /* current GT version id, 0 if none (filled by list) */
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

/* A run of a workflow version on a problem (docs/runs.md). Status is one
 * of queued running ingesting succeeded failed cancelled timed_out. */
struct bia_run {
	int64_t id;
	int64_t workflow_version_id;
	int64_t problem_id;
	char workflow[256];	  /* filled by get/list: the workflow's name */
	char version[128];	  /* filled by get/list */
	char wf_digest[BIA_SHA256_HEX]; /* filled by get/list */
	char problem[256];	  /* filled by get/list */
	char status[16];
	char *params;		  /* JSON object text (defaults filled in), malloc'd */
	char *images;		  /* JSON array of image ids, malloc'd */
	char executor[16];	  /* "local" */
	int64_t worker_pid;	  /* 0 if none */
	int has_exit_code;
	int exit_code;
	char reason[1024];
	char env_digest[80];	  /* OCI config digest, or "host" */
	char dataset_digest[BIA_SHA256_HEX];
	char metrics_version[32];
	char host[256];
	char created[21], started[21], finished[21]; /* "" if not yet */
	int cancel_requested;
	char limits[128];	  /* JSON object of per-run limits ("time" s, "memory" bytes), "{}" if none */
	int worker_slot;	  /* slot (worker.lock / worker.lock.K) of the claiming worker */
	int attempts;		  /* claims so far (1 on the first execution) */
	int interrupted;	  /* attempts interrupted by a dead worker and requeued */
	/* a rerun (run_reruns): the run it repeats (0: not a rerun), the metric
	 * tolerance, and the verdict once it ended ("" before; else
	 * reproduced-exact, reproduced-within-tolerance, not-reproduced) */
	int64_t rerun_of;
	double tolerance;
	char verdict[32];
	char verdict_detail[1024]; /* JSON object text, "{}" if none */
};
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
	char reason[1024];
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

/* ------------------------------------------------------ storage interface */

/* What a back end implements. Every function returns 0 or a bia_rc with a
 * message on ctx. Lists allocate arrays the caller frees (with the release
 * functions for their elements). */
struct bia_store_ops {
	const char *name;
	int (*open)(struct bia_ctx *ctx, struct bia_instance *inst, const char *url);
	void (*close)(struct bia_instance *inst);
	int (*schema_version)(struct bia_ctx *ctx, struct bia_instance *inst, int *pver);
	/* A transaction of the calling thread's connection; nests (the store's
	 * own transactions become savepoints inside it). */
	int (*begin)(struct bia_ctx *ctx, struct bia_instance *inst);
	int (*commit)(struct bia_ctx *ctx, struct bia_instance *inst);
	void (*rollback)(struct bia_instance *inst);
	/* Connections held by threads of this process (1: only the caller). */
	unsigned (*connections_in_use)(struct bia_instance *inst);

	int (*problem_add)(struct bia_ctx *ctx, struct bia_instance *inst,
			   struct bia_problem *p /* IN/OUT: id, created */);
	int (*problem_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			   int64_t id, struct bia_problem *p /* OUT */);
	int (*problem_list)(struct bia_ctx *ctx, struct bia_instance *inst,
			    struct bia_problem **pv, size_t *pn);
	/* Set a problem's main metric ("" = the class default). */
	int (*problem_set_main_metric)(struct bia_ctx *ctx, struct bia_instance *inst,
				       int64_t id, const char *metric);
	/* Delete a problem with its images and GT; returns the digests no row
	 * references any more (caller unlinks them after commit). */
	int (*problem_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	/* Remove an image / a GT version (docs/store.md "Removing"); the
	 * digests no row references any more are returned for unlinking. */
	int (*image_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
			char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	int (*gt_rm)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id,
		     int force, char (**pdigests)[BIA_SHA256_HEX], size_t *pn);

	/* Add a batch all-or-nothing (one transaction). Refuses a stem or digest
	 * already in the problem (BIA_EEXIST, naming the existing image id). */
	int (*import)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		      struct bia_import_item *items, size_t n);
	int (*image_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			  int64_t limit, int64_t offset, struct bia_image_rec **pv, size_t *pn);
	/* By id (stem NULL) or by problem + stem. */
	int (*image_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 int64_t problem_id, const char *stem, struct bia_image_rec *out);
	int (*gt_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		       struct bia_gt_version **pv, size_t *pn);

	/* Every digest referenced by a row (images, GT files, workflow files,
	 * run outputs), for fsck. */
	int (*blob_refs)(struct bia_ctx *ctx, struct bia_instance *inst,
			 char (**pdigests)[BIA_SHA256_HEX], size_t *pn);
	/* Integrity check of the database itself. */
	int (*check)(struct bia_ctx *ctx, struct bia_instance *inst, char *report,
		     size_t reportsz);

	/* Add a workflow version and its files in one transaction. An existing
	 * (name, version) with the same digest is not an error (*pexisted = 1,
	 * v->id set); with another digest it is refused (BIA_EEXIST). */
	int (*wf_version_add)(struct bia_ctx *ctx, struct bia_instance *inst,
			      struct bia_wf_version *v, int *pexisted);
	/* A version by name and version (NULL: the newest added), with files. */
	int (*wf_version_get)(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			      const char *version, struct bia_wf_version *out);
	/* Every version of every workflow (no files), by name then age. */
	int (*wf_list)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_version **pv,
		       size_t *pn);
	/* Runs (docs/runs.md). Add a queued run (r->id, created filled); with
	 * r->rerun_of set, its run_reruns row in the same transaction. */
	int (*run_add)(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r);
	int (*run_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		       struct bia_run *out);
	/* Every run (problem_id 0) or the runs of one problem, oldest first. */
	int (*run_list)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
			struct bia_run **pv, size_t *pn);
	/* In one transaction: the oldest queued run becomes running with this
	 * worker pid, slot and host, its attempts counted (*pfound = 0 when the
	 * queue is empty). */
	int (*run_claim)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t pid, int slot,
			 const char *host, struct bia_run *out, int *pfound);
	/* In one transaction, if the stored status is still `from`: remove the
	 * outputs and scores of the run, put it back to queued (worker, start,
	 * exit code cleared) with this reason, and count an interruption.
	 * The error maps (run_objects, run_errors) go with the scores. */
	int (*run_requeue)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			   const char *from, const char *reason, int *pdone);
	/* Delete the rows of `blobs` that nothing references; *pn = how many. */
	int (*blob_rows_gc)(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn);
	/* Write r's status, exit code, reason, digests, metrics version and
	 * times if the stored status is still `from` (*pdone = 0 otherwise). */
	int (*run_transition)(struct bia_ctx *ctx, struct bia_instance *inst,
			      const struct bia_run *r, const char *from, int *pdone);
	/* Ask to cancel: a queued run is cancelled at once (*pstate "dequeued"),
	 * a running or ingesting one gets cancel_requested ("requested"); a
	 * finished one is left alone (its status). pstate: 16 bytes. */
	int (*run_cancel)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  char *pstate);
	/* Record a rerun's verdict and its details (JSON object text). */
	int (*run_set_verdict)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			       const char *verdict, const char *detail);
	/* Store the outputs (blob rows), scores and error map (objects and
	 * category counts) of one image in one transaction. */
	int (*run_image_put)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			     const struct bia_run_image *ri);
	/* Replace the scores and error map of one image of a run (a rescore):
	 * the current scores move to run_score_history, one transaction. */
	int (*run_rescore_put)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       const struct bia_run_image *ri);
	/* The per-image outputs and scores of a run, by image id. */
	int (*run_images)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  struct bia_run_image **pv, size_t *pn);
	/* Error counts (run_errors) of one run (run_id != 0) or of every run of
	 * a problem (problem_id != 0). With a category: that category's rows
	 * only, by count descending, then stem, then run id, at most `limit`
	 * (<= 0: all). Without: every row, by run id, stem, category. */
	int (*run_errors_query)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
				int64_t problem_id, const char *category, int64_t limit,
				struct bia_run_error_row **pv, size_t *pn);
	/* The error map objects (run_objects) of one image of a run, in the
	 * order they were stored (the metric's record order). */
	int (*run_objects_get)(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			       int64_t image_id, struct bia_run_object **pv, size_t *pn);
};

extern const struct bia_store_ops bia_store_sqlite;

/* Convenience wrappers (dispatch through inst->ops). */
/* A transaction of the calling thread: every store call made by this thread
 * until commit or rollback is part of it (they nest). */
int bia_store_begin(struct bia_ctx *ctx, struct bia_instance *inst);
int bia_store_commit(struct bia_ctx *ctx, struct bia_instance *inst);
void bia_store_rollback(struct bia_instance *inst);
int bia_problem_add(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_problem *p);
/* Store a problem's main metric ("" = the class default); not validated. */
int bia_problem_set_main_metric(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
				const char *metric);
int bia_problem_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *name_or_id,
		    struct bia_problem *p);
int bia_problem_list(struct bia_ctx *ctx, struct bia_instance *inst,
		     struct bia_problem **pv, size_t *pn);
int bia_problem_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   size_t *pnblobs_removed);
/* Remove an image with its GT versions. Refused (BIA_EBUSY) while a run
 * that has not ended uses it; without force, while any run references it
 * (force also removes those runs' outputs, scores and error maps of this
 * image). Files no row references any more are unlinked when no writer is
 * active, else left to fsck. */
int bia_image_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int force,
		 size_t *pnblobs_removed);
/* Remove a GT version; without force refused while runs are scored against
 * it. The newest remaining version becomes current if it was. */
int bia_gt_rm(struct bia_ctx *ctx, struct bia_instance *inst, int64_t version_id, int force,
	      size_t *pnblobs_removed);
/* Copy a stored blob to a file (temp file, then rename; mode 0644). */
int bia_blob_copy_out(struct bia_ctx *ctx, const struct bia_instance *inst, const char *digest,
		      const char *dst);
int bia_image_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		   struct bia_image_rec **pv, size_t *pn);
/* Resolve "ID" or "PROBLEM/STEM". */
int bia_image_resolve(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		      struct bia_image_rec *out);
int bia_gt_list(struct bia_ctx *ctx, struct bia_instance *inst, int64_t image_id,
		struct bia_gt_version **pv, size_t *pn);
int bia_store_import(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     struct bia_import_item *items, size_t n);

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

#endif
