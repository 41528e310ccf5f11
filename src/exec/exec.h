/* Running one command in a sandbox (bubblewrap + cgroups), and unpacking
 * OCI / `docker save` image archives into a root filesystem. This layer
 * knows nothing of problems, datasets or metrics (DESIGN.md §3).
 * See docs/exec.md for the sandbox layout and every limit.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_EXEC_H
#define BIA_EXEC_H

#include <signal.h>
#include <stdint.h>

#include "util/util.h"

/* ------------------------------------------------------------- sandbox */

/* Limits of one run; 0 means "no limit" (wall_seconds, memory_bytes,
 * max_procs, max_open_files, log_bytes) or the default (out_bytes). */
struct bia_exec_limits {
	double wall_seconds;	 /* killed (whole tree) after this */
	uint64_t memory_bytes;	 /* memory cgroup; else RLIMIT_AS with a warning */
	unsigned max_procs;	 /* pids cgroup; else RLIMIT_NPROC with a warning */
	unsigned max_open_files; /* RLIMIT_NOFILE */
	uint64_t out_bytes;	 /* size of the /data/out filesystem (default 1 GiB) */
	uint64_t log_bytes;	 /* bytes of workflow output kept in the log */
};

#define BIA_EXEC_DEFAULT_OUT_BYTES (UINT64_C(1) << 30)
#define BIA_EXEC_NOBODY 65534

struct bia_exec_spec {
	char *const *argv;	/* NULL-terminated; argv[0] is looked up in PATH inside */
	char *const *env;	/* extra NAME=VALUE, NULL-terminated; may be NULL */
	const char *rootfs;	/* NULL: the host's /usr (read-only); else an unpacked image */
	const char *app_dir;	/* read-only at /app; may be NULL */
	const char *in_dir;	/* read-only at /data/in; may be NULL (empty) */
	const char *out_dir;	/* results are left here (must exist); may be NULL */
	const char *workdir;	/* inside the sandbox; default /app (or / without app_dir) */
	struct bia_exec_limits limits;
	int log_fd;		/* workflow stdout+stderr, lines prefixed with UTC time; -1: drop */
	/* called with every line written to log_fd (without its time and
	 * newline), from the thread running bia_exec_run; may be NULL */
	void (*on_log_line)(void *user, const char *line, size_t n);
	void *log_user;
	long uid, gid;		/* inside the sandbox; -1: 65534 as root, else the caller's */
	volatile sig_atomic_t *cancel; /* set non-zero to cancel; may be NULL */
	int cancel_fd;		/* readable (or hung up) means cancel; -1: none */
	const char *bwrap;	/* bwrap binary; NULL: BIAFLOWS_BWRAP or /usr/bin/bwrap */
	const char *cgroup_root; /* NULL: /sys/fs/cgroup (v1 pids and memory used when writable) */
};

/* Initialise a spec: everything empty, log_fd/cancel_fd -1, uid/gid -1. */
void bia_exec_spec_init(struct bia_exec_spec *s);

enum bia_exec_status {
	BIA_EXEC_OK = 0,	   /* exit code 0 */
	BIA_EXEC_FAILED,	   /* non-zero exit code or killed by a signal */
	BIA_EXEC_TIMED_OUT,	   /* killed at the wall-clock limit */
	BIA_EXEC_CANCELLED,	   /* killed on request */
	BIA_EXEC_MEMORY_LIMIT,	   /* failed after hitting the memory limit */
	BIA_EXEC_OUTPUT_LIMIT,	   /* failed after filling /data/out */
	BIA_EXEC_PROCESS_LIMIT,	   /* failed after hitting the process limit */
	BIA_EXEC_ERROR,		   /* the sandbox could not be set up */
};

struct bia_exec_result {
	enum bia_exec_status status;
	int exit_code;	 /* exit status of the command (-1 if none) */
	int term_signal; /* signal that ended the command, inferred from 128+N; 0 if none */
	double wall_seconds;
	uint64_t out_bytes; /* bytes of results copied to out_dir */
	int mem_limit_hit, proc_limit_hit, out_limit_hit; /* seen, whatever the status */
	char reason[512]; /* human-readable: why this status */
};

const char *bia_exec_status_name(enum bia_exec_status st);

/* Run spec->argv in the sandbox and wait for it. Returns BIA_OK when the
 * command ran (whatever its status: see r->status), or an error code with
 * a message on ctx when the spec is invalid or the sandbox could not be
 * started (r->status is then BIA_EXEC_ERROR). */
int bia_exec_run(struct bia_ctx *ctx, const struct bia_exec_spec *s,
		 struct bia_exec_result *r);

/* ----------------------------------------------------------------- OCI */

/* Bounds on unpacking (0 = default). */
struct bia_oci_limits {
	uint64_t max_bytes; /* total unpacked bytes (default 16 GiB) */
	uint64_t max_files; /* total entries (default 1,000,000) */
};

struct bia_oci_image {
	char digest[BIA_SHA256_HEX]; /* config digest (hex, no "sha256:") */
	char *rootfs;		     /* envs_dir/<digest>/rootfs */
	char **entrypoint;	     /* NULL-terminated (possibly empty) */
	char **cmd;		     /* NULL-terminated (possibly empty) */
	char **env;		     /* NAME=VALUE, NULL-terminated */
	char *workdir;		     /* "" if not set */
};

/* Unpack an OCI image layout or `docker save` tar (plain or gzip) into
 * envs_dir/<config-digest>/rootfs once (a marker file written last tells
 * a complete unpack; an incomplete one is removed and redone). Layers are
 * applied in order with whiteouts; no entry may escape the root. */
int bia_oci_unpack(struct bia_ctx *ctx, const char *archive, const char *envs_dir,
		   struct bia_oci_image *out);
int bia_oci_unpack_limits(struct bia_ctx *ctx, const char *archive, const char *envs_dir,
			  const struct bia_oci_limits *lim, struct bia_oci_image *out);
void bia_oci_image_release(struct bia_oci_image *img);
/* An image unpacked before into envs_dir/<digest> (marker present and the
 * copy of its config, envs_dir/<digest>/config.json, hashing to digest):
 * fill *out as bia_oci_unpack would, without an archive. BIA_ENOENT when
 * it is not there. */
int bia_oci_image_cached(struct bia_ctx *ctx, const char *envs_dir, const char *digest,
			 struct bia_oci_image *out);

/* A spec as a JSON object (the sandbox's fields: argv, env, folders,
 * limits, uid/gid), for a job that runs it elsewhere; and parsed back, its
 * strings owned by the file (bia_exec_spec_file_release). */
json_t *bia_exec_spec_json(const struct bia_exec_spec *s);
struct bia_exec_spec_file {
	struct bia_exec_spec spec;
	char **argv, **env, **strs;
};
int bia_exec_spec_parse(struct bia_ctx *ctx, const char *text, size_t len,
			struct bia_exec_spec_file *f);
void bia_exec_spec_file_release(struct bia_exec_spec_file *f);

/* ------------------------------------------------------ helper programs */

/* What bia_cmd_run saw. Set out and outsz (a buffer for stdout and stderr,
 * NUL-terminated and truncated to fit) before the call. */
struct bia_cmd_result {
	char *out;
	size_t outsz;
	size_t outlen;	 /* bytes kept in out */
	int spawned;	 /* 0: could not start (err) */
	int err;	 /* errno of the failed start */
	int timed_out;	 /* killed at the deadline */
	int status;	 /* waitpid status when it ended */
};
/* Run argv (argv[0] an absolute path, no shell) with stdin /dev/null and
 * stdout+stderr captured, in its own process group, killed (whole group)
 * after `seconds`. */
void bia_cmd_run(char *const argv[], double seconds, struct bia_cmd_result *r);
/* Its exit code, 128+N for a signal N, -1 if it did not end. */
int bia_cmd_exit_code(const struct bia_cmd_result *r);
/* The executable `name` on PATH (absolute entries only) into out, or 0. */
int bia_find_on_path(const char *name, char *out, size_t outsz);

/* ---------------------------------------------------- container engines */

/* A descriptor's `container-image` without an attached archive is taken
 * from a local container engine (docs/exec.md "Container engines"): the
 * engine only *exports* the image (`docker save`, `podman save`); it never
 * pulls and never runs anything. The archive is unpacked with
 * bia_oci_unpack and run in our sandbox like an attached one.
 *
 * Engines tried, in order: type "docker": docker, podman; type
 * "singularity" (or NULL): apptainer, singularity (reported as not
 * supported), then docker, podman. Each is looked up on PATH and probed
 * with `ENGINE image inspect --format {{.Id}} IMAGE` (BIA_ENGINE_PROBE_SECONDS).
 * When none works the error names every engine tried and why. */
#define BIA_ENGINE_NAME_MAX 16
#define BIA_ENGINE_PROBE_SECONDS 5
#define BIA_ENGINE_SAVE_SECONDS 1800

struct bia_engine {
	char name[BIA_ENGINE_NAME_MAX]; /* "docker", "podman" */
	char path[BIA_PATH_MAX];	/* the executable found on PATH */
	char id[BIA_SHA256_HEX];	/* the image id (hex), "" if not a sha256 */
};

/* Find the first engine that works and has IMAGE locally. */
int bia_engine_find(struct bia_ctx *ctx, const char *image, const char *type,
		    struct bia_engine *eng);
/* Export IMAGE with a found engine into a `docker save` archive. */
int bia_engine_save(struct bia_ctx *ctx, const struct bia_engine *eng, const char *image,
		    const char *out_archive);
/* find + save; engine_used gets the engine's name. */
int bia_engine_export(struct bia_ctx *ctx, const char *image, const char *type,
		      const char *out_archive, char engine_used[BIA_ENGINE_NAME_MAX]);
/* find, then reuse envs_dir/<image id> when the engine's image id is the
 * config digest of an image unpacked there (bia_oci_image_cached), else
 * export into a temporary archive in envs_dir, unpack it (bia_oci_unpack)
 * and remove the archive. *reused (may be NULL) tells which happened. */
int bia_engine_image(struct bia_ctx *ctx, const char *image, const char *type,
		     const char *envs_dir, struct bia_oci_image *out,
		     char engine_used[BIA_ENGINE_NAME_MAX], int *reused);

#endif
