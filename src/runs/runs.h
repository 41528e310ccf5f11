/* Runs of a workflow version on a problem: the persistent queue, the
 * worker that drains it (sandboxed execution, ingest of outputs, metrics),
 * and the staging / output-checking code shared with `biaflows exec`.
 * See docs/runs.md for the states, the worker and recovery.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_RUNS_H
#define BIA_RUNS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "annot/annot.h"
#include "exec/exec.h"
#include "image/image.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "workflow/workflow.h"
#include "util/util.h"

/* ------------------------------------------- staging and outputs (shared) */

/* One input image: its stem, where it is read from, the staged shape. */
struct bia_stage_entry {
	char stem[256];
	char path[BIA_PATH_MAX]; /* source file (any readable image) */
	char name[256];		 /* original file name when path is a blob, "" to use path */
	uint64_t size[5];	 /* staged image shape X, Y, Z, C, T (filled by staging) */
	int64_t image_id;	 /* instance image id, 0 for a folder */
};

/* Read an image as a class expects it (ObjTrk, PrtTrk: pages on T). */
int bia_runs_read_for_class(struct bia_ctx *ctx, enum bia_class cls, const char *path,
			    struct bia_image *img);

/* The images of a folder as entries sorted by stem; refuses two files with
 * one stem and an empty folder. *pv is malloc'd. */
int bia_runs_scan_inputs(struct bia_ctx *ctx, const char *in_dir,
			 struct bia_stage_entry **pv, size_t *pn);

/* Stage every entry as stage/<stem>.tif (OME-TIFF when Z, C or T > 1),
 * filling its shape. Refuses unreadable images. */
int bia_runs_stage(struct bia_ctx *ctx, enum bia_class cls, const char *stage,
		   struct bia_stage_entry *v, size_t n);

/* The shapes of entries staged before (stage/<stem>.tif), as staging
 * filled them: for a worker that re-attaches to a job using them. */
int bia_runs_staged_shapes(struct bia_ctx *ctx, enum bia_class cls, const char *stage,
			   struct bia_stage_entry *v, size_t n);

enum bia_output_status { BIA_OUTPUT_OK = 0, BIA_OUTPUT_MISSING, BIA_OUTPUT_INVALID };
/* "ok", "missing", "invalid". */
const char *bia_output_status_name(enum bia_output_status s);

/* Check the output of one input in out_dir: <stem>.tif of the input's
 * shape valid for the class (TreTrc: <stem>.swc; ObjTrk: plus <stem>.txt).
 * The header is read first: a shape other than the input's, or a size over
 * the limits of `limits` (max_pixels, max_image_bytes: the run's memory
 * budget), is refused before any sample is decoded. On success fills the
 * paths (path2 "" unless ObjTrk) and, when view is not NULL, links them into
 * view/. Else fills reason. */
enum bia_output_status bia_runs_check_output(const struct bia_ctx *limits, enum bia_class cls,
					     const struct bia_stage_entry *in,
					     const char *out_dir, const char *view,
					     char path[BIA_PATH_MAX], char path2[BIA_PATH_MAX],
					     char *reason, size_t rsz);

/* --------------------------------------------------------------- scoring
 *
 * A prediction scored against its ground truth, loaded the same way for
 * runs (GT from the store) and for `biaflows metrics` / `exec --gt`. */

/* One (prediction, GT) pair as a class is scored on it: label images
 * (read by bia_runs_read_for_class), SWC trees (TreTrc), CTC track files
 * (ObjTrk). */
struct bia_score_pair {
	struct bia_image pred, gt;
	struct bia_swc pred_swc, gt_swc;
	struct bia_ctc_tracks pred_trk, gt_trk;
};
enum bia_pair_side { BIA_PAIR_PRED, BIA_PAIR_GT };
void bia_score_pair_init(struct bia_score_pair *s);
/* Load one side: path as the class reads it (TreTrc: an SWC file, else an
 * image), and for ObjTrk the CTC track file `tracks` when not NULL. On
 * failure *pfailed (may be NULL) is the file it was about. */
int bia_score_pair_load(struct bia_ctx *ctx, enum bia_class cls, struct bia_score_pair *s,
			enum bia_pair_side side, const char *path, const char *tracks,
			const char **pfailed);
/* The prediction: empty, shaped like the loaded GT (TreTrc: no node). */
int bia_score_pair_empty_pred(struct bia_ctx *ctx, enum bia_class cls, struct bia_score_pair *s);
/* The pair as the metric library's input (pointers into s). */
void bia_score_pair_input(const struct bia_score_pair *s, struct bia_metric_input *in);
void bia_score_pair_release(struct bia_score_pair *s);

/* Score the prediction file pred (NULL: an empty one) against the GT file
 * gt; ObjTrk: label stacks, each with its <stem>.txt track file beside it.
 * *pout: {class, metrics, params, deviations, warnings, objects (when
 * asked)}, as `biaflows metrics CLASS PRED GT` prints it. */
int bia_score_pair_json(struct bia_ctx *ctx, enum bia_class cls, const char *pred,
			const char *gt, const struct bia_metric_params *p, int objects,
			json_t **pout);
/* Score every GT file of gt_dir against the prediction of the same stem
 * in pred_dir: a GT file without one is refused, or with missing_empty
 * scored as an empty prediction; a prediction without GT is a warning.
 * *pout: {class, params, deviations, warnings, images: [{name, metrics,
 * missing?, objects?}], aggregate: {metric: {n, n_nan, min, max, mean,
 * std, median}}}, as `biaflows metrics` prints it for folders. */
int bia_score_folders_json(struct bia_ctx *ctx, enum bia_class cls, const char *pred_dir,
			   const char *gt_dir, const struct bia_metric_params *p, int objects,
			   int missing_empty, json_t **pout);
/* ObjTrk: a folder holding exactly one label stack, with its .txt track
 * file beside it, is scored as that file: 1 and its path in out, else 0. */
int bia_score_single_stack(const char *dir, char *out, size_t outsz);

/* ------------------------------------------------------------ run states */

/* succeeded, failed, cancelled, timed_out. */
int bia_run_state_final(enum bia_run_state s);
/* The BIAFLOWS numeric code: queued 1, running/ingesting 2, succeeded 3,
 * failed/timed_out 4, cancelled 8. */
int bia_run_state_code(enum bia_run_state s);
/* Whether a run may go from one state to another (docs/runs.md "States"):
 * queued -> running | cancelled; running -> ingesting | failed | cancelled
 * | timed_out | queued (requeued); ingesting -> succeeded | failed | queued.
 * A state to itself is an update of the record. */
int bia_run_transition_allowed(enum bia_run_state from, enum bia_run_state to);

/* The one way a run changes: r as read (r->state the state it was read
 * in), with its other fields as they should be stored. If the stored state
 * is still r->state and the change is allowed, r is written with state
 * `to` (and r->state becomes `to`, *pdone = 1); the change is an event
 * (below). *pdone = 0 when another process changed the run first (nothing
 * written). A transition that is not allowed is BIA_EINVAL. */
int bia_run_transition(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r,
		       enum bia_run_state to, int *pdone);

/* ---------------------------------------------------------------- events
 *
 * A run's changes are events. In this process: every transition made here
 * and every line a run executed here writes to its log reach the
 * subscribers (what a server streams as server-sent events). Other
 * processes: every transition is a row of the store's run_events, and each
 * change touches <instance>/runs/.events, which a follower waits on
 * (inotify) instead of polling. */
enum bia_run_event_kind {
	BIA_RUN_EVENT_STATE, /* state is the new state, text the reason */
	BIA_RUN_EVENT_LOG,   /* text is one line of the run's log (no newline) */
	BIA_RUN_EVENT_CANCEL /* a cancel was requested */
};
struct bia_run_event {
	enum bia_run_event_kind kind;
	int64_t run_id;
	enum bia_run_state state;
	const char *text; /* valid during the call */
	size_t len;
};
/* Called from the thread that made the change: keep it short, do not call
 * the store from it. */
typedef void (*bia_run_event_fn)(void *user, const struct bia_run_event *ev);
/* Subscribe to the events of this process; returns a token (> 0), or 0
 * when the table of subscribers (64) is full. */
int bia_run_subscribe(bia_run_event_fn fn, void *user);
void bia_run_unsubscribe(int token);
/* Deliver an event to the subscribers (the run layer calls it). */
void bia_run_publish(const struct bia_run_event *ev);
/* Tell other processes that runs changed (touches runs/.events). */
void bia_runs_notify(const struct bia_instance *inst);

/* A follower of another process's changes: of the instance's runs, and of
 * a log file (written by a worker) when one is given. */
struct bia_run_follower {
	int ifd;	/* inotify descriptor, -1 when inotify is not available */
	int wd_events;	/* watch of runs/.events */
	int wd_log;	/* watch of the log, -1 */
	char log[BIA_PATH_MAX];
	/* the store's notifications of run events (PostgreSQL: from every
	 * host), NULL when it has none */
	struct bia_store_listener *listener;
};
int bia_run_follow_open(struct bia_ctx *ctx, const struct bia_instance *inst,
			const char *log_path, struct bia_run_follower *f);
/* Wait until runs change or the log grows (1), timeout_ms passes (0; -1:
 * no timeout), or wake_fd (-1: none) is readable (2). Without inotify, or
 * on a file system that does not report changes, the timeout is what
 * paces the caller. */
int bia_run_follow_wait(struct bia_run_follower *f, int timeout_ms, int wake_fd);
void bia_run_follow_close(struct bia_run_follower *f);
/* The state changes of a run after event id `after` (0: all), oldest
 * first: rows {id, run, state, reason, at} in a JSON array. */
int bia_run_events_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			int64_t after, json_t **pout);

/* Wait until every run of ids has ended, woken by the follower (1 s
 * timeout). hooks (may be NULL): progress after each look (changed: the
 * number done changed), and a call about every 2 s (e.g. to start a worker
 * when none runs); a non-zero return from it ends the wait with that. */
struct bia_wait_hooks {
	void (*progress)(void *user, size_t done, size_t n, const char *current, int changed);
	int (*every_2s)(void *user, struct bia_ctx *ctx);
	void *user;
};
int bia_runs_wait(struct bia_ctx *ctx, struct bia_instance *inst, const int64_t *ids, size_t n,
		  const struct bia_wait_hooks *hooks);
/* Write a run's log to fd; with follow, keep writing what is appended
 * until the run has ended (woken by the follower, not by polling). */
int bia_run_log_copy(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int fd,
		     int follow);

/* ------------------------------------------------------------------ runs */

/* Per-run resource overrides (run --timeout ...; 0: the descriptor's). */
struct bia_run_overrides {
	int64_t timeout;     /* seconds */
	uint64_t memory;     /* bytes */
	int64_t processes;
	int64_t open_files;
	uint64_t output;     /* bytes of /data/out */
	/* cluster resources (the SLURM executor; the local one ignores them) */
	int64_t cpus;	     /* --cpus-per-task */
	int64_t gpus;	     /* --gres=gpu:N */
	int64_t batch_size;  /* images per cluster job (0: one job) */
	char partition[64];  /* --partition ("": the cluster's default) */
};
/* Set one override from text, as `run --KEY VALUE` and the API's "limits"
 * give it: timeout ("90", "10m", "1h"), memory and output ("512M", "2G"),
 * processes (1..100000), open_files (16..1048576), cpus (1..4096), gpus
 * (0..64), batch_size (1..100000), partition (letters, digits, "-_.,").
 * BIA_EINVAL naming the key and the accepted values otherwise. */
int bia_run_override_set(struct bia_ctx *ctx, struct bia_run_overrides *o, const char *key,
			 const char *text);
/* As stored on a run: a JSON object of the set ones ("{}" if none),
 * malloc'd; and back (unknown keys and bad values ignored). */
char *bia_run_overrides_json(const struct bia_run_overrides *o);
void bia_run_overrides_parse(const char *json, struct bia_run_overrides *o);

struct bia_run_request {
	const char *workflow;	     /* "NAME" (newest) or "NAME@VERSION" */
	const char *problem;	     /* name or id */
	const char *const *params;   /* "id=value" */
	size_t nparams;
	const char *const *images;   /* stems or ids; NULL/0: every image */
	size_t nimages;
	int *bad_params;	     /* OUT, may be NULL: 1 when refused for a parameter */
	struct bia_run_overrides limits; /* override the descriptor's resources */
	const char *executor;	     /* "local", "slurm"; NULL: the instance's default */
	int64_t rerun_of;	     /* a rerun of this run (bia_run_reproduction); 0: none */
	double tolerance;	     /* metric tolerance of a rerun */
	int dry_run;		     /* check everything, queue nothing (*pid = 0) */
};

/* Check everything and queue a run: the version exists, the problem
 * exists, the descriptor's problem-class (when present) is the problem's
 * class, the parameters resolve (BIA_EINVAL naming the parameter), the
 * images exist and have ground truth. Nothing is written when refused, nor
 * with req->dry_run (how a batch is checked before any of it is queued).
 * *pid gets the new run's id. */
int bia_run_enqueue(struct bia_ctx *ctx, struct bia_instance *inst,
		    const struct bia_run_request *req, int64_t *pid);

/* Set a problem's main metric: a metric code of its class, or "default"
 * (the class default, stored as ""); BIA_EINVAL naming the class's metrics
 * otherwise. p->main_metric is updated. */
/* A problem as `problem list` and GET /problems print it; `problem show`
 * adds the class's name. The problems a viewer sees, one page. */
json_t *bia_problem_json(const struct bia_problem *p);
json_t *bia_problem_show_json(const struct bia_problem *p);
int bia_problems_list_json(struct bia_ctx *ctx, struct bia_instance *inst,
			   const struct bia_viewer *viewer, struct bia_page page, json_t **pout,
			   int64_t *ptotal);

int bia_problem_choose_main_metric(struct bia_ctx *ctx, struct bia_instance *inst,
				   struct bia_problem *p, const char *metric);

/* The images of problem p named by refs (stems or ids, each once, in the
 * order given), or all of them when nrefs = 0. Refuses an unknown name and
 * an empty selection. *pv is malloc'd (free it). */
int bia_run_select_images(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_problem *p, const char *const *refs, size_t nrefs,
			  struct bia_image_rec **pv, size_t *pn);

/* The parameters a run of `workflow` ("NAME" or "NAME@VERSION") with these
 * "id=value" settings would record: JSON object text (defaults filled in,
 * keys sorted, as stored on runs), malloc'd into *pjson, and the version's
 * id. Refused like bia_run_enqueue refuses parameters. */
int bia_run_resolve_params(struct bia_ctx *ctx, struct bia_instance *inst,
			   const char *workflow, const char *const *params, size_t nparams,
			   char **pjson, int64_t *pversion_id);

/* For a rerun that has ended: compare it with the run it repeats and store
 * the verdict (reproduced-exact: every output file identical;
 * reproduced-within-tolerance: every metric value within the rerun's
 * tolerance; not-reproduced otherwise, or when either run did not succeed).
 * A run that is not a rerun, or not finished, is left alone. *verdict
 * (32 bytes, may be NULL) gets it. */
int bia_run_reproduction(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			 char *verdict);

/* Ask a run to stop; *pstate: "dequeued" (was queued, now cancelled), "requested"
 * (its worker stops it: the executor cancels the job), or the final state
 * it already had. One transaction; an event. */
int bia_run_cancel(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
		   char pstate[16]);
/* Claim the oldest queued run for a worker (pid, slot, host): running, its
 * attempts counted, one transaction. *pfound = 0 when the queue is empty. */
int bia_run_claim(struct bia_ctx *ctx, struct bia_instance *inst, int64_t pid, int slot,
		  const char *host, struct bia_run *out, int *pfound);
/* Put a running or ingesting run back in the queue (its outputs and scores
 * removed, an interruption counted), with this reason; *pdone = 0 if its
 * state changed first. */
int bia_run_requeue(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_run *r,
		    const char *reason, int *pdone);

/* Write the output files a run stored (<stem>.tif, ObjTrk also <stem>.txt,
 * TreTrc <stem>.swc) by their names into dir, created; it must be empty
 * (BIA_EEXIST). *pfiles: how many were written. */
int bia_run_outputs_write(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  const char *dir, size_t *pfiles);

/* <instance>/runs/<id> and its log. */
int bia_run_dir(const struct bia_instance *inst, int64_t id, char *out, size_t outsz);
int bia_run_log_path(const struct bia_instance *inst, int64_t id, char *out, size_t outsz);
/* Why a run failed, in one line: the last line the workflow wrote to its log
 * (the worker's own lines and the timestamp left out), else `fallback` (the
 * run's reason). */
void bia_run_failure_line(const struct bia_instance *inst, int64_t id, const char *fallback,
			  char *out, size_t outsz);

/* The number of worker slots: config "max_concurrent_runs" (default 1,
 * clamped to 1..64). */
int bia_runs_max_concurrent(const struct bia_instance *inst);

/* Interrupted-run policy: config "on_interrupted", "fail" (default) or
 * "requeue" (1). */
int bia_runs_requeue_policy(const struct bia_instance *inst);
#define BIA_RUN_MAX_ATTEMPTS 3

/* Try to take the lock of a worker slot exclusively without waiting:
 * slot 0 is <instance>/worker.lock, slot K > 0 <instance>/worker.lock.K.
 * Returns the fd (close it to release), -1 if another process holds it,
 * or -2 with a message on ctx on error. */
int bia_worker_lock_slot(struct bia_ctx *ctx, const struct bia_instance *inst, int slot);
/* Slot 0. */
int bia_worker_lock(struct bia_ctx *ctx, const struct bia_instance *inst);
/* The first free slot of the max_concurrent_runs ones: its fd, *pslot its
 * number; -1 when every slot is held, -2 on error. */
int bia_worker_lock_any(struct bia_ctx *ctx, const struct bia_instance *inst, int *pslot);

/* Recovery: runs left running or ingesting by a worker that is gone (the
 * run's executor reports its job gone; before a job was submitted: its
 * worker process is gone, or its slot is ours) become failed
 * "interrupted: worker died", or with on_interrupted "requeue" go back to
 * queued (outputs and scores removed) until BIA_RUN_MAX_ATTEMPTS attempts.
 * Must hold the lock of slot `myslot`. *pn gets how many. */
int bia_runs_recover(struct bia_ctx *ctx, struct bia_instance *inst, int myslot, size_t *pn);

/* How many runs have a job of a remote executor (SLURM) still going, or
 * ended, whose worker is gone: a worker started now re-attaches to them. */
int bia_runs_count_adoptable(struct bia_ctx *ctx, struct bia_instance *inst, size_t *pn);

/* The worker: take a free slot (returns 0 at once with *pdrained = 0 if
 * every slot is held), recover, then claim and execute queued runs
 * until the queue is empty. */
int bia_worker_run(struct bia_ctx *ctx, struct bia_instance *inst, int *pdrained);

/* A long-lived worker loop (what a server runs in a thread): like
 * bia_worker_run, but when the queue is empty it waits for new runs (the
 * runs/.events follower, or a write to wake_fd) instead of returning, until
 * *stop is set (then wake_fd should be written to, to end the wait). A run
 * being executed when stop is set is finished first. */
struct bia_worker_loop {
	struct bia_instance *inst;
	atomic_int stop;	/* set to 1 to end the loop */
	int wake_fd;		/* readable: look at the queue now (e.g. an eventfd); -1 none */
	int idle_ms;		/* longest wait between looks at the queue (default 2000) */
	size_t runs_done;	/* OUT: runs executed */
};
int bia_worker_loop(struct bia_ctx *ctx, struct bia_worker_loop *w);

/* ------------------------------------------------------------- executors
 *
 * Where a run's job executes, behind one interface (docs/runs.md
 * "Executors"). "local": the bubblewrap sandbox on this machine, in a
 * thread of the worker. "slurm": the same sandbox on a node of a SLURM
 * cluster, submitted with sbatch (docs/deployment.md). */
#define BIA_JOB_ID_MAX 1024
enum bia_job_state {
	BIA_JOB_ACTIVE,	 /* submitted, not ended */
	BIA_JOB_ENDED,	 /* ended; attach gives its result */
	BIA_JOB_GONE,	 /* lost with its worker, or never submitted */
	BIA_JOB_UNKNOWN	 /* submitted, but the executor cannot find it (yet) */
};
/* What a job needs besides its sandbox spec. */
struct bia_job_opts {
	const char *dir;       /* the job's own folder (the nodes see it too) */
	const char *name;      /* the cluster's job name: unique per run attempt */
	int64_t cpus, gpus;    /* 0: not asked */
	const char *partition; /* NULL or "": the cluster's default */
	size_t batch_size;     /* images per cluster job; 0: one job */
	const char *program;   /* what the nodes run; NULL: this program */
};
#define BIA_JOB_NAME_MAX 64
struct bia_executor {
	const char *name; /* as stored on runs: "local", "slurm" */
	/* 1: jobs outlive the worker process; a later worker re-attaches */
	int remote;
	/* Start the job; returns at once with its id (and the host it runs
	 * on). spec must stay valid until attach returns. */
	int (*submit)(struct bia_ctx *ctx, const struct bia_exec_spec *spec,
		      const struct bia_job_opts *o, char job[BIA_JOB_ID_MAX], char *host,
		      size_t hostsz);
	/* The state of a job, whichever process submitted it. */
	int (*poll)(struct bia_ctx *ctx, const char *job, enum bia_job_state *pstate);
	/* Ask a job to stop; it ends as cancelled. */
	int (*cancel)(struct bia_ctx *ctx, const char *job);
	/* Wait for the end of a job and take its result (once). spec and o
	 * are those of submit, or (re-attaching in another process) rebuilt
	 * alike: the log goes to spec->log_fd and spec->on_log_line. */
	int (*attach)(struct bia_ctx *ctx, const char *job, const struct bia_exec_spec *spec,
		      const struct bia_job_opts *o, struct bia_exec_result *res);
};
/* The executor of a name; NULL if this build has none by that name. */
const struct bia_executor *bia_executor_find(const char *name);
/* The names, comma-separated, for messages. */
const char *bia_executor_names(void);
extern const struct bia_executor bia_executor_local;
extern const struct bia_executor bia_executor_slurm;

/* The node's side of a SLURM job (`biaflows job-exec DIR`): run the
 * sandbox spec DIR/spec.json, its log into DIR/log, its result into
 * DIR/result.json; SIGTERM (scancel, the time limit) cancels it. Returns 0
 * only when the workflow succeeded; *pexit: the process's exit code (0,
 * the workflow's own, or 1). */
int bia_slurm_job_exec(struct bia_ctx *ctx, const char *dir, int *pexit);

/* ------------------------------------------------------- execution plans
 *
 * How a workflow is executed, shared by `biaflows exec` and runs: the
 * descriptor's resources with overrides, its parameters, and its
 * environment (the host, an image archive, or an image exported from a
 * local container engine), as a sandbox spec. */
struct bia_exec_plan {
	struct bia_descriptor d;
	json_t *values;		   /* resolved parameter values, owned */
	char **wargv;		   /* the descriptor's command line, tokens */
	size_t wargc;
	char **argv;		   /* what runs: the image's entrypoint + wargv */
	struct bia_oci_image oci;
	struct bia_exec_spec spec; /* argv, rootfs, env, workdir, app_dir, limits set */
	char env_digest[96];	   /* "host", "sha256:...", "<engine>:sha256:..." */
	char env_note[512];	   /* a line on the environment ("" for the host) */
};
struct bia_plan_request {
	const char *descriptor;	    /* descriptor.json text */
	const char *descriptor_name; /* for messages: a path, or "descriptor.json" */
	const char *app_dir;	    /* the workflow's files, at /app */
	const char *archive;	    /* an image archive to run in (a path), or NULL */
	const char *envs_dir;	    /* where images are unpacked (created) */
	const char *const *params;  /* "id=value" to resolve, when values is NULL */
	size_t nparams;
	const char *values;	    /* resolved values (JSON object text), or NULL */
	const struct bia_run_overrides *limits; /* may be NULL */
	int *bad_params;	    /* OUT, may be NULL: 1 when a parameter was refused */
	int *no_engine;		    /* OUT, may be NULL: 1 when no engine gave the image */
};
/* Make a plan. A parameter refused sets *bad_params. The archive is used
 * when given, or when the descriptor's environment is an image; else a
 * descriptor with a container image has it exported from an engine. */
int bia_exec_plan_make(struct bia_ctx *ctx, const struct bia_plan_request *req,
		       struct bia_exec_plan *plan);
void bia_exec_plan_release(struct bia_exec_plan *plan);

/* ------------------------------------------------------------ error maps */

/* The error categories of a class's error map, in display order,
 * NULL-terminated ("tp", "fp", "fn", "split", "merged" for ObjSeg); NULL
 * when the class has no error map (PixCla). docs/benchmarks.md. */
const char *const *bia_error_categories(enum bia_class cls);
/* Turn the metric library's per-object records of one image (the `objects`
 * array of bia_metrics_compute) into ri's error map: one object row per
 * record (ri->objects) and a count for every category of the class, zeros
 * included (ri->errors). Replaces what ri held. A class without an error
 * map leaves both empty. Refuses records it cannot map (BIA_EFORMAT). */
int bia_error_map(struct bia_ctx *ctx, enum bia_class cls, json_t *objects,
		  struct bia_run_image *ri);

/* The error categories of a problem's class (*pcats), checking that it
 * has an error map (BIA_EUNSUPPORTED) and that category (may be NULL) is
 * one of them (BIA_EINVAL naming them). */
int bia_errors_scope(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     const char *category, const char *const **pcats);
/* The error counts as rows {run, workflow (problem only), image_id, stem,
 * <category>: count...}: of one run (run_id; no "run" key) or of every run
 * of a problem (problem_id); sorted by the count of category (largest
 * first, then stem) when given, else by run and stem; at most top rows
 * (0: all). As `biaflows errors --format json` prints them. */
int bia_errors_counts_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			   int64_t problem_id, const char *category, int64_t top, json_t **prows);
/* The per-object records of one image of a run (ref: a stem of the run's
 * problem, or an image id): rows {kind, id, status, match, score, where,
 * frame, centroid?, bbox?, detail}. */
int bia_errors_image_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  const char *ref, json_t **prows);

/* A run as JSON: the record plus, when detail, per-image outputs and
 * scores and per-metric aggregates; always the main metric's mean. */
json_t *bia_run_json(struct bia_ctx *ctx, struct bia_instance *inst,
		     const struct bia_run *r, int detail);
/* A run's metric table: one row per image {image, stem, status, METRIC:
 * value|null for every metric of the class}, filtered (status equal, stem
 * containing), sorted by image (default), stem, status or a metric
 * (missing and NaN values last), one page; *ptotal the filtered rows. */
struct bia_metric_table_query {
	const char *sort;   /* NULL: "image" */
	int descending;
	const char *status; /* NULL: any */
	const char *stem;   /* NULL: any */
	struct bia_page page;
};
int bia_run_metric_table_json(struct bia_ctx *ctx, struct bia_instance *inst,
			      const struct bia_run *r, const struct bia_metric_table_query *q,
			      json_t **prows, int64_t *ptotal);
/* Compute and keep a run's summary (the mean of every metric over its
 * images, as bia_run_json's aggregate), what run lists show: done when a
 * run ends and after a rescore; lists compute it for runs without one. */
int bia_run_summarize(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id);

/* A page of the run list as `biaflows runs --format json` prints it: an
 * array of {id, workflow ("name@version"), problem, status, code,
 * created_at, duration, main_metric, mean}; *ptotal (may be NULL) the
 * number of runs the filter selects. Two statements per page. */
int bia_runs_list_json(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_run_filter *f, struct bia_page page, json_t **prows,
		       int64_t *ptotal);

/* ------------------------------------------------------------ rescoring */

/* How many images of a succeeded run were scored against a GT version that
 * is no longer current, or by another metric library version (0: its scores
 * are current). */
int bia_run_stale(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		  size_t *pnstale);
/* Score a succeeded run's stored outputs again against the current GT of
 * each image (only_stale: only the stale images); the replaced scores stay
 * in run_score_history; the run records the new dataset digest and metric
 * library version. *preport: {run, workflow, problem, images, stale_images,
 * rescored_images, main_metric, before, after} (main metric means). */
int bia_run_rescore(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
		    int only_stale, json_t **preport);
/* Every succeeded run of a problem (only_stale: the stale ones); *preport
 * is an array of bia_run_rescore reports. */
int bia_problem_rescore(struct bia_ctx *ctx, struct bia_instance *inst,
			const struct bia_problem *p, int only_stale, json_t **preport);

#endif
