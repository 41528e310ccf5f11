/* Content exchange between instances (docs/exchange.md): bundles written by
 * export and read by import, and pull from another instance's API.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_EXCHANGE_H
#define BIA_EXCHANGE_H

#include "store/store.h"

#define BIA_BUNDLE_FORMAT "biaflows-bundle"
#define BIA_BUNDLE_VERSION 1 /* the newest bundle format this build reads and writes */

/* Progress of long work: phase ("records", "files", "commit", "download"),
 * what is done of total (units: records or bytes; total 0 if unknown). */
typedef void (*bia_progress_fn)(void *arg, const char *phase, int64_t done, int64_t total);

struct bia_bundle_export_opts {
	const char *const *problems; /* names or ids; none: every problem */
	size_t nproblems;
	int runs;	  /* ended runs, their outputs, scores, error maps, logs */
	int workflows;	  /* workflow versions (descriptors and files) */
	int environments; /* the environment archives of exported workflow versions */
	int snapshot;	  /* path is a new folder: the manifest, the record files and
			   * indexes of the files (blobs.idx, logs.idx), not the files
			   * themselves (what a server offers for pull) */
	bia_progress_fn progress;
	void *progress_arg;
};

struct bia_bundle_export_report {
	char path[BIA_PATH_MAX];
	char instance[128];
	char content_digest[BIA_SHA256_HEX];
	int64_t records[BIA_XK_COUNT];
	int64_t files, file_bytes; /* blobs and logs written */
	int64_t bytes;		   /* size of the bundle */
};

/* Write a bundle of opts' selection to path (.tar, .tar.gz, .tgz,
 * .tar.zst): written to a temp file beside it and renamed at the end. A
 * path of "-" is refused (a bundle is seekable-free but named). */
int bia_bundle_export(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
	       const struct bia_bundle_export_opts *opts, struct bia_bundle_export_report *rep);
json_t *bia_bundle_export_report_json(const struct bia_bundle_export_report *rep);

struct bia_bundle_import_opts {
	bia_progress_fn progress;
	void *progress_arg;
	int no_pyramids; /* leave the OME-Zarr pyramids to fsck / image pyramid */
};

struct bia_bundle_import_report {
	char source_instance[128];
	char content_digest[BIA_SHA256_HEX];
	struct bia_ximport_counts counts;
	int64_t files_added, files_present; /* blobs new here, blobs here already */
	int64_t logs;
	int64_t pyramids_failed; /* OME-Zarr pyramids not built (fsck retries) */
	json_t *skipped;	 /* workflow versions skipped: [{ref, workflow,
				  * version, reason}] (release with
				  * bia_bundle_import_report_release) */
};
void bia_bundle_import_report_release(struct bia_bundle_import_report *rep);

/* Import a bundle (a tar file, compressed or not, or an unpacked bundle
 * folder) all-or-nothing: every digest verified before the one commit;
 * content already here skipped. */
int bia_bundle_import(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
	       const struct bia_bundle_import_opts *opts, struct bia_bundle_import_report *rep);
json_t *bia_bundle_import_report_json(const struct bia_bundle_import_report *rep);

/* Finish or undo what a killed import left (its staging folder under
 * runs/.exchange-*): logs of committed runs moved into place, the rest
 * removed. Called by import and fsck. Returns the folders handled. */
int bia_exchange_recover(struct bia_ctx *ctx, struct bia_instance *inst);

/* A snapshot's file by digest: a blob of its index (the blob store's path),
 * or a log (the run's log file). BIA_ENOENT if the snapshot has no such
 * file. */
int bia_snapshot_file(struct bia_ctx *ctx, struct bia_instance *inst, const char *snapdir,
		      int log, const char *digest, char *path, size_t pathsz);

/* Pull (pull.c): copy content from another instance's API into this one
 * (docs/exchange.md "Pull"). The server makes a snapshot of the selection;
 * its files are downloaded into <instance>/exchange/pull-<key>/ (kept
 * across attempts: a pull interrupted resumes where it stopped), each
 * verified by digest, then imported as a bundle. */
struct bia_pull_opts {
	const char *url;   /* http(s)://host:port of the other instance */
	const char *token; /* an API token there, or NULL */
	const char *const *problems;
	size_t nproblems;
	int runs, workflows, environments;
	int no_pyramids;
	bia_progress_fn progress;
	void *progress_arg;
};
struct bia_pull_report {
	struct bia_bundle_import_report import;
	int64_t downloaded, download_bytes; /* files fetched this time */
	int64_t resumed;		    /* files already fetched by an earlier attempt */
	int64_t range_resumed;		    /* files an earlier attempt cut short, resumed */
	int64_t skipped;		    /* files this instance had */
};
int bia_pull(struct bia_ctx *ctx, struct bia_instance *inst, const struct bia_pull_opts *o,
	     struct bia_pull_report *rep);
json_t *bia_pull_report_json(const struct bia_pull_report *rep);

/* A bundle's manifest, checked (format, version, record list). Caller
 * decrefs. */
json_t *bia_bundle_manifest_parse(struct bia_ctx *ctx, const char *text, size_t len);

#endif
