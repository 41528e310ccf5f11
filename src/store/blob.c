/* Content-addressed blob store: temp file, fsync, rename; the caller then
 * references the blob in a transaction.
 * SPDX-License-Identifier: MIT */
#include "store/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(a, b);
}

int bia_blob_path(const struct bia_instance *inst, const char *digest, char *out,
		  size_t outsz)
{
	int n = snprintf(out, outsz, "%s/blobs/sha256/%.2s/%s", inst->root, digest, digest + 2);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* The instance is shared by threads: its lock is taken once, under this. */
static pthread_mutex_t lock_mu = PTHREAD_MUTEX_INITIALIZER;

static int lock_shared_locked(struct bia_ctx *ctx, struct bia_instance *inst);

int bia_blob_lock_shared(struct bia_ctx *ctx, struct bia_instance *inst)
{
	pthread_mutex_lock(&lock_mu);
	int rc = lock_shared_locked(ctx, inst);
	pthread_mutex_unlock(&lock_mu);
	return rc;
}

static int lock_shared_locked(struct bia_ctx *ctx, struct bia_instance *inst)
{
	if (inst->lock_fd >= 0)
		return 0;
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/blobs/.lock", inst->root);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", p, strerror(errno));
	if (flock(fd, LOCK_SH)) {
		int e = errno;
		close(fd);
		return bia_fail(ctx, BIA_EIO, "cannot lock '%s': %s", p, strerror(e));
	}
	inst->lock_fd = fd;
	return 0;
}

/* Open a new temp file in blobs/tmp named after our pid. */
static int open_temp(struct bia_ctx *ctx, struct bia_instance *inst, char *tmp, size_t tmpsz)
{
	if (bia_blob_lock_shared(ctx, inst))
		return -1;
	snprintf(tmp, tmpsz, "%s/blobs/tmp/%ld-XXXXXX", inst->root, (long)getpid());
	int fd = mkstemp(tmp);
	if (fd < 0)
		bia_fail(ctx, BIA_EIO, "cannot create a temp file in '%s/blobs/tmp': %s",
			 inst->root, strerror(errno));
	return fd;
}

/* Blobs of this thread are synced one by one, or (deferred) all at once
 * by bia_blob_sync before the rows naming them are committed. */
static _Thread_local int defer_sync;

void bia_blob_defer_sync(int on)
{
	defer_sync = on;
}

int bia_blob_sync(struct bia_ctx *ctx, struct bia_instance *inst)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/blobs/sha256", inst->root);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", p, strerror(e));
	}
	close(fd);
	return 0;
}

/* fsync the temp file, move it to its digest's place (or drop it when that
 * blob exists already). */
static int publish(struct bia_ctx *ctx, struct bia_instance *inst, int fd, const char *tmp,
		   const char *digest, int *pnew)
{
	char dst[BIA_PATH_MAX], dir[BIA_PATH_MAX];
	if (!defer_sync && fsync(fd)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", tmp, strerror(e));
	}
	fchmod(fd, 0444);
	close(fd);
	bia_faultsim("blob.tmp_written");
	bia_blob_path(inst, digest, dst, sizeof(dst));
	if (bia_is_file(dst)) {
		unlink(tmp);
		if (pnew)
			*pnew = 0;
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/blobs/sha256/%.2s", inst->root, digest);
	/* the folder of the first two hex digits exists but for the first
	 * blob of each */
	int r = rename(tmp, dst);
	if (r && errno == ENOENT) {
		if (mkdir(dir, 0755) && errno != EEXIST) {
			int e = errno;
			unlink(tmp);
			return bia_fail(ctx, BIA_EIO, "cannot make '%s': %s", dir, strerror(e));
		}
		r = rename(tmp, dst);
	}
	if (r) {
		int e = errno;
		unlink(tmp);
		return bia_fail(ctx, BIA_EIO, "cannot store blob '%s': %s", dst, strerror(e));
	}
	if (pnew)
		*pnew = 1;
	return defer_sync ? 0 : bia_fsync_dir(ctx, dir);
}

int bia_blob_put_stream(struct bia_ctx *ctx, struct bia_instance *inst, bia_blob_reader rd,
			void *arg, const char *what, char digest[BIA_SHA256_HEX], uint64_t *psize,
			int *pnew)
{
	char tmp[BIA_PATH_MAX];
	int fd = open_temp(ctx, inst, tmp, sizeof(tmp));
	if (fd < 0)
		return ctx->rc;
	struct bia_sha256 h;
	bia_sha256_init(&h);
	uint64_t total = 0;
	unsigned char buf[1 << 16];
	for (;;) {
		ssize_t n = rd(arg, buf, sizeof(buf));
		if (n < 0 || (n > 0 && bia_write_all(fd, buf, (size_t)n))) {
			int e = errno;
			close(fd);
			unlink(tmp);
			if (n < 0 && ctx->rc)
				return ctx->rc;
			return bia_fail(ctx, BIA_EIO, "%s: cannot copy into the blob store: %s", what,
					strerror(e));
		}
		if (n == 0)
			break;
		bia_sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	bia_sha256_final(&h, digest);
	if (psize)
		*psize = total;
	return publish(ctx, inst, fd, tmp, digest, pnew);
}

static ssize_t fd_reader(void *arg, void *buf, size_t n)
{
	ssize_t k;
	do
		k = read(*(int *)arg, buf, n);
	while (k < 0 && errno == EINTR);
	return k;
}

int bia_blob_put_file(struct bia_ctx *ctx, struct bia_instance *inst, const char *src,
		      char digest[BIA_SHA256_HEX], uint64_t *psize, int *pnew)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO, "%s: cannot open: %s",
				src, strerror(errno));
	int rc = bia_blob_put_stream(ctx, inst, fd_reader, &in, src, digest, psize, pnew);
	close(in);
	return rc;
}

int bia_blob_put_mem(struct bia_ctx *ctx, struct bia_instance *inst, const void *data,
		     size_t len, char digest[BIA_SHA256_HEX], int *pnew)
{
	char tmp[BIA_PATH_MAX];
	bia_sha256_hex(data, len, digest);
	int fd = open_temp(ctx, inst, tmp, sizeof(tmp));
	if (fd < 0)
		return ctx->rc;
	if (bia_write_all(fd, data, len)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bia_fail(ctx, BIA_EIO, "cannot write blob: %s", strerror(e));
	}
	return publish(ctx, inst, fd, tmp, digest, pnew);
}

size_t bia_blob_remove_unreferenced(struct bia_instance *inst, char (*digests)[BIA_SHA256_HEX],
				    size_t n)
{
	if (!n)
		return 0;
	/* another thread of this process may be between putting a blob and
	 * committing its row (the blob lock cannot tell threads apart): leave
	 * the files to fsck */
	if (inst->backend->connections_in_use && inst->backend->connections_in_use(inst) > 1)
		return 0;
	/* no writer may be between putting a blob and committing its row: the
	 * lock exclusively, without waiting (ours converted when we hold it) */
	int fd = inst->lock_fd, own = fd < 0;
	if (own) {
		char p[BIA_PATH_MAX];
		snprintf(p, sizeof(p), "%s/blobs/.lock", inst->root);
		if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
			return 0;
	}
	size_t removed = 0;
	if (!own)
		pthread_mutex_lock(&lock_mu);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		/* a writer may have referenced one of them since our commit */
		char(*refs)[BIA_SHA256_HEX] = NULL;
		size_t nrefs = 0;
		struct bia_ctx c;
		bia_ctx_init(&c);
		if (inst->backend->blob_refs(&c, inst, &refs, &nrefs) == 0) {
			for (size_t i = 0; i < n; i++) {
				char p[BIA_PATH_MAX];
				if (nrefs && bsearch(digests[i], refs, nrefs, sizeof(*refs), cmp_digest))
					continue;
				if (!bia_blob_path(inst, digests[i], p, sizeof(p)) && !unlink(p))
					removed++;
			}
		}
		free(refs);
	}
	if (own) {
		close(fd);
	} else {
		flock(fd, LOCK_SH); /* back to a writer's shared lock */
		pthread_mutex_unlock(&lock_mu);
	}
	return removed;
}

int bia_blob_copy_out(struct bia_ctx *ctx, const struct bia_instance *inst, const char *digest,
		      const char *dst)
{
	char src[BIA_PATH_MAX], tmp[BIA_PATH_MAX];
	if (bia_blob_path(inst, digest, src, sizeof(src)))
		return bia_fail(ctx, BIA_EINVAL, "bad digest '%s'", digest);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dst, (long)getpid()) >= (int)sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "path '%s' too long", dst);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return bia_fail(ctx, BIA_ECORRUPT, "stored file %s is missing (run 'biaflows fsck')",
				digest);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", tmp, strerror(e));
	}
	char buf[1 << 16];
	ssize_t k;
	int rc = 0;
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (bia_write_all(out, buf, (size_t)k)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", tmp, strerror(errno));
			break;
		}
	if (!rc && k < 0)
		rc = bia_fail(ctx, BIA_EIO, "cannot read stored file %s: %s", digest,
			      strerror(errno));
	if (!rc && fsync(out))
		rc = bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", tmp, strerror(errno));
	close(in);
	close(out);
	if (!rc && rename(tmp, dst))
		rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", dst, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
