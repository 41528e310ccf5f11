/* fsck: verify blob digests, find rows without files, remove orphan files
 * and stale temp files, check the database.
 * SPDX-License-Identifier: MIT */
#include "store/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void problem(struct bia_fsck_report *r, const char *kind, const char *path,
		    const char *digest, const char *detail)
{
	json_array_append_new(r->problems, json_pack("{s:s, s:s, s:s, s:s}", "kind", kind,
						     "path", path, "digest", digest ? digest : "",
						     "detail", detail));
}

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Try to take the blob-store lock exclusively: 1 if we hold it (fd in
 * *pfd), 0 if a writer holds it. */
static int lock_exclusive(struct bia_instance *inst, int *pfd)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/blobs/.lock", inst->root);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return 0;
	}
	*pfd = fd;
	return 1;
}

int bia_fsck(struct bia_ctx *ctx, struct bia_instance *inst, int dry_run,
	     struct bia_fsck_report *rep)
{
	char(*refs)[BIA_SHA256_HEX] = NULL;
	size_t nrefs = 0;
	char path[BIA_PATH_MAX], dpath[BIA_PATH_MAX], dbmsg[512];
	int lock_fd = -1;
	memset(rep, 0, sizeof(*rep));
	rep->problems = json_array();

	int have_lock = lock_exclusive(inst, &lock_fd);
	rep->locked = !have_lock;

	struct bia_ctx dbctx;
	bia_ctx_init(&dbctx);
	rep->db_ok = inst->backend->check(&dbctx, inst, dbmsg, sizeof(dbmsg)) == 0;
	if (!rep->db_ok)
		problem(rep, "database", "biaflows.db", NULL, dbctx.msg);

	/* blob rows nothing references any more (removals, requeued runs): their
	 * files become orphans below */
	size_t ngc = 0;
	if (have_lock && !dry_run && inst->backend->blob_rows_gc(ctx, inst, &ngc))
		goto fail;
	if (inst->backend->blob_refs(ctx, inst, &refs, &nrefs))
		goto fail;

	/* rows whose file is missing */
	for (size_t i = 0; i < nrefs; i++) {
		bia_blob_path(inst, refs[i], path, sizeof(path));
		if (!bia_is_file(path)) {
			rep->missing++;
			problem(rep, "missing", path, refs[i], "a row references this blob but the file is absent");
		}
	}

	/* walk blobs/sha256: verify each file, find orphans */
	snprintf(path, sizeof(path), "%s/blobs/sha256", inst->root);
	DIR *top = opendir(path);
	if (!top) {
		bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	struct dirent *e;
	while ((e = readdir(top))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dpath, sizeof(dpath), "%s/%s", path, e->d_name);
		DIR *sub = opendir(dpath);
		if (!sub) {
			problem(rep, "stray", dpath, NULL, "unexpected entry in the blob store");
			continue;
		}
		struct dirent *f;
		while ((f = readdir(sub))) {
			if (f->d_name[0] == '.')
				continue;
			char digest[BIA_SHA256_HEX + 8], fpath[BIA_PATH_MAX + 300], got[BIA_SHA256_HEX];
			snprintf(digest, sizeof(digest), "%s%s", e->d_name, f->d_name);
			snprintf(fpath, sizeof(fpath), "%s/%s", dpath, f->d_name);
			if (strlen(e->d_name) != 2 || !bia_is_sha256_hex(digest)) {
				problem(rep, "stray", fpath, NULL, "file name is not a sha256 digest");
				continue;
			}
			int referenced = nrefs && bsearch(digest, refs, nrefs, sizeof(*refs), cmp_digest);
			if (!referenced) {
				rep->orphans++;
				if (have_lock && !dry_run && !unlink(fpath)) {
					rep->orphans_removed++;
					problem(rep, "orphan", fpath, digest, "no row references this file: removed");
				} else {
					problem(rep, "orphan", fpath, digest,
						have_lock ? "no row references this file"
							  : "no row references this file (an import is running: kept)");
				}
				continue;
			}
			struct bia_ctx fctx;
			bia_ctx_init(&fctx);
			rep->blobs_checked++;
			if (bia_sha256_file(&fctx, fpath, got, NULL)) {
				rep->corrupt++;
				problem(rep, "unreadable", fpath, digest, fctx.msg);
			} else if (strcmp(got, digest)) {
				rep->corrupt++;
				char detail[200];
				snprintf(detail, sizeof(detail), "content has digest %s", got);
				problem(rep, "corrupt", fpath, digest, detail);
			}
		}
		closedir(sub);
	}
	closedir(top);

	/* temp files: live writers hold the lock; without writers they are stale */
	snprintf(path, sizeof(path), "%s/blobs/tmp", inst->root);
	DIR *td = opendir(path);
	while (td && (e = readdir(td))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dpath, sizeof(dpath), "%s/%s", path, e->d_name);
		long pid = strtol(e->d_name, NULL, 10);
		int alive = bia_pid_alive(pid);
		if (!have_lock && alive) {
			rep->temp_live++;
			problem(rep, "temp-live", dpath, NULL, "temp file of a running import: kept");
		} else if (!dry_run && (have_lock || !alive) && !unlink(dpath)) {
			rep->temp_removed++;
			problem(rep, "temp-stale", dpath, NULL, "temp file of a dead writer: removed");
		} else {
			problem(rep, "temp-stale", dpath, NULL, "temp file of a dead writer");
		}
	}
	if (td)
		closedir(td);
	/* conversion folders of imports (runs/.import-tmp-*): live ones exist
	 * only while their writer holds the lock */
	snprintf(path, sizeof(path), "%s/runs", inst->root);
	DIR *rd = have_lock ? opendir(path) : NULL;
	while (rd && (e = readdir(rd))) {
		if (strncmp(e->d_name, ".import-tmp-", 12))
			continue;
		snprintf(dpath, sizeof(dpath), "%s/%s", path, e->d_name);
		struct bia_ctx rctx;
		bia_ctx_init(&rctx);
		if (!dry_run && !bia_rm_rf(&rctx, dpath)) {
			rep->temp_removed++;
			problem(rep, "temp-stale", dpath, NULL, "conversion folder of a dead import: removed");
		} else {
			problem(rep, "temp-stale", dpath, NULL, "conversion folder of a dead import");
		}
	}
	if (rd)
		closedir(rd);
	free(refs);
	if (lock_fd >= 0)
		close(lock_fd);
	return 0;
fail:
	free(refs);
	if (lock_fd >= 0)
		close(lock_fd);
	bia_fsck_report_release(rep);
	return ctx->rc;
}

void bia_fsck_report_release(struct bia_fsck_report *rep)
{
	json_decref(rep->problems);
	rep->problems = NULL;
}
