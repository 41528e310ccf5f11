/* Workflow descriptors: parse and validate BIAFLOWS `descriptor.json`
 * ("cytomine-0.1", with our backward-compatible extensions), resolve the
 * parameters of a run and build its command line as an argv array.
 * See docs/workflows.md for the format and every rule.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_WORKFLOW_H
#define BIA_WORKFLOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util/util.h"

/* Parameter types, as normalised by BIAFLOWS (lower-cased, first letter
 * capitalised, "Listdomain" -> "ListDomain"). */
enum bia_wf_type {
	BIA_WF_NUMBER = 0,
	BIA_WF_STRING = 1,
	BIA_WF_BOOLEAN = 2,
	BIA_WF_DOMAIN = 3,
	BIA_WF_LISTDOMAIN = 4,
};
/* "Number", "String", "Boolean", "Domain", "ListDomain". */
const char *bia_wf_type_name(enum bia_wf_type t);

/* One entry of `inputs[]`. Strings are never NULL ("" when absent) except
 * `equals` and the constraint arrays; @ID/@id are already substituted. */
struct bia_wf_param {
	const char *id;
	enum bia_wf_type type;
	const char *name;	      /* default "@id" -> the id */
	const char *description;      /* "" if absent */
	const char *value_key;	      /* default "[@ID]" */
	const char *flag;	      /* command-line-flag, "" if absent */
	const char *default_value;    /* text; JSON numbers/booleans converted */
	int optional;		      /* default 0 */
	int optional_present;	      /* the key was in the descriptor */
	int set_by_server;	      /* default 0 */
	int server_parameter;	      /* default 0 */
	int excluded;		      /* id starts with "cytomine": never on our
					 command line, never resolved (a set-by-server
					 input of another id is an ordinary parameter) */
	int off_template;	      /* value-key is not a token of command-line: the
					 value is passed as "flag VALUE" after it */
	/* constraints */
	int has_minimum, has_maximum;
	double minimum, maximum;
	int integer;		      /* `integer: true` */
	const char *const *choices;   /* values-choice as text, NULL if absent */
	size_t n_choices;
	const char *equals;	      /* NULL if absent */
	/* Boutiques constraints between inputs (ids of other inputs) */
	const char *const *requires;  /* requires-inputs: must have a value too */
	size_t n_requires;
	const char *const *disables;  /* disables-inputs: must not be given with it */
	size_t n_disables;
};

/* A Boutiques group of inputs with a rule (`groups` of the descriptor). */
struct bia_wf_group {
	const char *id;
	const char *const *members;
	size_t n_members;
	int mutually_exclusive, one_is_required, all_or_none;
};

enum bia_env_type {
	BIA_ENV_HOST = 0,	 /* the host's software, read-only in the sandbox */
	BIA_ENV_IMAGE = 1,	 /* an OCI layout / docker save archive */
	BIA_ENV_SINGULARITY = 2, /* container-image run by an engine */
	BIA_ENV_DOCKER = 3,
};
/* "host", "image", "singularity", "docker". */
const char *bia_env_type_name(enum bia_env_type t);

/* A parsed descriptor. Everything lives in `arena` or `raw`. */
struct bia_descriptor {
	json_t *raw;		  /* the whole document, unknown keys kept; owned */
	const char *name;
	const char *description;  /* "" if absent */
	const char *schema_version; /* "" if absent */
	int has_container;	  /* container-image present */
	struct {
		const char *image;
		const char *type; /* "singularity" or "docker" (lower case) */
		const char *index; /* "" if absent */
	} container;
	const char *command_line;
	struct bia_wf_param *inputs;
	size_t n_inputs;
	/* extensions */
	enum bia_class problem_class; /* BIA_CLASS_NONE if absent */
	int env_explicit;	      /* `environment` key present */
	struct {
		enum bia_env_type type; /* derived from container-image if absent */
		const char *archive;    /* relative path for image, else NULL */
	} environment;
	struct {
		int64_t cpus;	   /* 0 = not given */
		uint64_t memory;   /* bytes, 0 = not given */
		int64_t time;	   /* seconds, 0 = not given */
		int64_t gpus;	   /* -1 = not given */
		int64_t processes; /* sandbox process limit, 0 = not given */
		int64_t open_files; /* sandbox open-file limit, 0 = not given */
		uint64_t output;   /* bytes of /data/out, 0 = not given */
	} resources;
	const json_t *outputs;	   /* borrowed from raw, NULL if absent */
	const char *const *authors; /* NULL if absent */
	size_t n_authors;
	const char *citation;	   /* "" if absent */
	const char *license;	   /* "" if absent */
	struct bia_wf_group *groups; /* Boutiques `groups`, n_groups of them */
	size_t n_groups;
	const char **warnings;	   /* what was accepted but is worth knowing, in the
				      style of error messages; n_warnings of them */
	size_t n_warnings;
	struct bia_arena arena;
};

/* Parse and validate a descriptor. `what` names it in messages
 * ("descriptor.json: 'inputs[2].type': unknown type 'Float'"). On failure
 * *out is left released (safe to release again). */
int bia_descriptor_parse(struct bia_ctx *ctx, const char *what, const char *text,
			 size_t len, struct bia_descriptor *out);
/* Read and parse a file; messages are prefixed with the path. */
int bia_descriptor_load(struct bia_ctx *ctx, const char *path, struct bia_descriptor *out);
void bia_descriptor_release(struct bia_descriptor *d);

/* The parameter with this id, or NULL. */
const struct bia_wf_param *bia_descriptor_param(const struct bia_descriptor *d,
						const char *id);

/* Effective values of a run. `name_eq_value` are "id=value" strings (the
 * value may contain anything, including '=' and spaces). Refuses unknown
 * or excluded names, repeated names, values of the wrong type or outside
 * the constraints, required parameters without a value or default, and
 * combinations the descriptor's Boutiques constraints forbid
 * (requires-inputs, disables-inputs, groups: mutually-exclusive,
 * one-is-required, all-or-none; docs/workflows.md).
 * *pvalues gets a JSON object {id: "text"} of every non-excluded parameter
 * that has a value (given or default); optional parameters with neither
 * are absent. Caller decrefs. */
int bia_descriptor_resolve(struct bia_ctx *ctx, const struct bia_descriptor *d,
			   const char *const *name_eq_value, size_t n, json_t **pvalues);

/* Whether two sets of effective values ({id: text}) are the same setting:
 * the same ids, and values equal by the parameter's type (Number: as
 * numbers, so "1" and "1.0" are one setting; Boolean: true/yes/1 alike;
 * else as text). */
int bia_descriptor_values_equal(const struct bia_descriptor *d, const json_t *a,
				const json_t *b);
/* Whether two values of parameter p are equal by its type (as above). */
int bia_wf_same_value(const struct bia_wf_param *p, const char *a, const char *b);

/* Build the argv of a run in local mode from the effective values (as
 * returned by bia_descriptor_resolve; strings, numbers and booleans are
 * accepted). The command-line is split on whitespace first; each token equal
 * to a value-key is replaced by the flag (split on whitespace, omitted when
 * empty) and the value as separate entries; excluded and server parameters
 * and optional ones without a value lose their token; parameters whose
 * value-key is not in the command line follow as "flag VALUE" (flag
 * "--ID" when the descriptor has none); then
 * `--local --infolder /data/in --outfolder /data/out --gtfolder /data/gt -nmc`
 * is appended. *pargv is NULL-terminated; free it with bia_argv_free. */
int bia_descriptor_argv(struct bia_ctx *ctx, const struct bia_descriptor *d,
			const json_t *values, char ***pargv, size_t *pargc);
void bia_argv_free(char **argv);

/* Parse a memory size: bytes, or a number with K/M/G/T (binary units,
 * optional "i" and "B", case-insensitive): "512M", "2G", "1.5GiB".
 * Returns 0 or -1. */
int bia_parse_memory(const char *s, uint64_t *pbytes);
/* Parse a duration: seconds, or a number with s/m/h/d: "90", "10m", "1h".
 * Returns 0 or -1. */
int bia_parse_duration(const char *s, int64_t *psec);

/* Bounds of the sandbox limits a descriptor's resources (`processes`,
 * `open_files`) or `run`/`exec` (--processes, --open-files) may set, and
 * the defaults when neither does (docs/exec.md). */
#define BIA_RES_PROCESSES_MIN 1
#define BIA_RES_PROCESSES_MAX 100000
#define BIA_RES_OPEN_FILES_MIN 16
#define BIA_RES_OPEN_FILES_MAX 1048576
#define BIA_RES_DEFAULT_PROCESSES 512
#define BIA_RES_DEFAULT_OPEN_FILES 4096
/* Parse a decimal integer from lo to hi (nothing else in s). Returns 0 or -1. */
int bia_parse_int_range(const char *s, int64_t lo, int64_t hi, int64_t *pv);

/* ------------------------------------------------------ registry (registry.c)
 * Workflow versions in an instance. A version is a folder (or a git tag's
 * tree) with `descriptor.json` at its root; every file is stored as a blob
 * and the version's digest is sha256 over the sorted lines
 * "<mode octal> <file sha256> <relative path>\n" (mode 0755 if any execute
 * bit, else 0644). Versions are immutable. See docs/workflows.md "Registry". */

#define BIA_WF_MAX_FILES 10000			      /* files in one version */
#define BIA_WF_MAX_FILE_BYTES (UINT64_C(8) << 30)     /* one file */
#define BIA_WF_MAX_TOTAL_BYTES (UINT64_C(16) << 30)   /* all files of a version */
#define BIA_WF_DEFAULT_ARCHIVE ".biaflows/image.tar"  /* --image-archive without
							 environment.archive */

struct bia_wf_add_opts {
	const char *version;	   /* folder: version name, NULL = dev-<12 hex>;
				      ignored for git (version = tag name) */
	const char *image_archive; /* file stored as the environment's archive, or NULL */
	const char *source;	   /* folder: what "source" records (NULL: its real path);
				      git: what it records before "#TAG" (NULL:
				      "git:<repository path>") */
	const char *expect_digest; /* git: refuse a tree whose digest is not this one
				      (a moved tag) before anything is written, NULL: none */
	size_t max_files;	   /* 0 = BIA_WF_MAX_FILES */
	uint64_t max_file_bytes;   /* 0 = BIA_WF_MAX_FILE_BYTES */
	uint64_t max_total_bytes;  /* 0 = BIA_WF_MAX_TOTAL_BYTES */
};

/* What happened to one version. */
struct bia_wf_added {
	int64_t id;		     /* version id (0 if refused) */
	int existed;		     /* 1: same content was already there */
	int rc;			     /* 0, or why this version was refused */
	char name[256];
	char version[128];
	char digest[BIA_SHA256_HEX];
	char msg[1024];		     /* the error message when rc != 0 */
};

/* Add a folder as one version, all-or-nothing: walk (skipping .git; refusing
 * special files, symlinks leaving the folder or naming folders, and the
 * limits), validate descriptor.json, store the blobs, add the version in one
 * transaction. Same content under an existing version: out->existed = 1,
 * returns 0. Other content: BIA_EEXIST ("versions are immutable"). */
int bia_workflow_add_folder(struct bia_ctx *ctx, struct bia_instance *inst, const char *dir,
			    const struct bia_wf_add_opts *o, struct bia_wf_added *out);

/* Add a version from a tar archive (optionally gzipped) of a workflow
 * folder, or of a folder holding one folder: unpacked into `dir` (created;
 * removed afterwards), refusing links, devices, absolute paths, ".." and
 * archives over the limits of o. */
int bia_workflow_add_tar(struct bia_ctx *ctx, struct bia_instance *inst, const char *tar,
			 const char *dir, const struct bia_wf_add_opts *o,
			 struct bia_wf_added *out);

/* Unpack a tar archive (optionally gzipped) into the existing folder dir:
 * regular files and folders only (links, devices, absolute names and ".."
 * refused), at most max_files files and max_bytes bytes. */
int bia_tar_unpack(struct bia_ctx *ctx, const char *tar, const char *dir, size_t max_files,
		   uint64_t max_bytes);

/* True if path is a local folder holding a git repository (a work tree with
 * .git, or a bare repository). */
int bia_workflow_is_git(const char *path);

/* Add every tag (annotated or lightweight) of a LOCAL git repository as a
 * version named by the tag, reading the tagged commit's tree from the
 * object database (no checkout). URLs are refused (clone first). Each tag
 * is added on its own: existing identical versions are kept (existed = 1),
 * moved tags and invalid trees are refused (rc, msg) without stopping the
 * others. *pv (malloc'd, caller frees) gets one entry per tag, in tag-name
 * order. Returns 0 if every tag was added or existed, else the rc of the
 * first refusal (with its message on ctx); *pv is filled either way. */
int bia_workflow_add_git(struct bia_ctx *ctx, struct bia_instance *inst, const char *repo,
			 const struct bia_wf_add_opts *o, struct bia_wf_added **pv, size_t *pn);

/* The git repository a workflow was added from (the source of its newest
 * version added from git): out gets the path. BIA_ENOENT if none. */
int bia_workflow_git_source(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			    char *out, size_t outsz);

/* Resolve "NAME" (newest added) or "NAME@VERSION" (split at the last '@'). */
int bia_workflow_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		     struct bia_wf_version *out);
/* The parsed descriptor of a workflow version ("NAME" or "NAME@VERSION"). */
int bia_workflow_descriptor(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
			    struct bia_descriptor *out);

/* A version as JSON: id, name, version, digest, source, created_at,
 * problem_class, description, environment, container, resources,
 * parameters (id, name, type, default, optional, description, flag,
 * set_by_server, excluded, constraints), files, and `versions` (every version
 * of the workflow, oldest first). Caller decrefs; NULL with a message on
 * failure. */
json_t *bia_workflow_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_wf_version *v);

/* The versions of every workflow (name NULL: one page) or of one (every
 * version; BIA_ENOENT if none), by name then age, as `workflow list
 * --format json` prints them: {id, name, version, newest, class, digest,
 * created_at, source}. */
int bia_workflows_list_json(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			    struct bia_page page, json_t **pout, int64_t *ptotal);

/* ------------------------------------------- trusted sources (sources.c)
 * Git repositories an admin registers; each sync fetches every tag into a
 * bare mirror (<instance>/sources/<id>.git, tags forced, deleted ones
 * pruned) and adds every new tag as a version (as bia_workflow_add_git).
 * The source records per tag: imported, present (the same content was
 * already stored), refused (with the reason: invalid descriptor, moved
 * tag...) or deleted (its version kept). docs/workflows.md
 * "Trusted sources". */

#define BIA_SOURCE_DEFAULT_INTERVAL 3600 /* seconds between syncs by serve */
#define BIA_SOURCE_MIN_INTERVAL 60
#define BIA_SOURCE_MAX_INTERVAL (30 * 86400)

struct bia_source_add_opts {
	const char *name;   /* NULL: from the path or URL */
	int64_t interval;   /* seconds, 0: BIA_SOURCE_DEFAULT_INTERVAL */
};

/* Register a local repository (stored as its absolute path) or a file://,
 * http:// or https:// URL; other schemes and ssh addresses are refused.
 * The repository must be reachable now (its references are listed);
 * nothing is stored otherwise. *pout: the source as JSON (caller decrefs):
 * id, name, url (a password masked), interval, status, error, created_at,
 * last_sync_at, last_ok_at. */
int bia_source_add(struct bia_ctx *ctx, struct bia_instance *inst, const char *url,
		   const struct bia_source_add_opts *o, json_t **pout);
/* Every source (as bia_source_add's JSON), by id. */
int bia_sources_list_json(struct bia_ctx *ctx, struct bia_instance *inst, json_t **pout);
/* One source by id or name, with `tags`: {tag, status, version_id,
 * workflow, commit, digest, message, updated_at}. */
int bia_source_json(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		    json_t **pout);
/* Remove a source (waits for a sync in progress), its tag records and its
 * mirror; the versions stay. *pout: the source as it was. */
int bia_source_rm(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		  json_t **pout);
/* Sync one source (ref) or every source (ref NULL: *pout an array), after
 * waiting for a sync of it in progress elsewhere. Returns 0 when the sync
 * ran and was recorded, whatever became of the tags: an unreachable
 * repository is status "error" with the reason, refused tags make it
 * "partial". *pout: the source as bia_source_json, plus `imported` (ids
 * of the versions this sync added) and `changes` (the tags this sync
 * decided: tag, status, version_id, message). */
int bia_source_sync(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		    json_t **pout);
/* Sync every source whose interval (interval > 0: this one instead) has
 * passed since its last sync, skipping those being synced elsewhere; for
 * `serve`. *pnext: seconds until the next one is due (at most 60). */
int bia_sources_sync_due(struct bia_ctx *ctx, struct bia_instance *inst, int64_t interval,
			 int64_t *pnext);

#endif
