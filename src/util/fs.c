/* Small filesystem helpers: mkdir -p, bounded reads, atomic writes; and
 * whether a process is alive.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int bia_mkdir_p(struct bia_ctx *ctx, const char *path)
{
	char tmp[BIA_PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "path '%s' too long", path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", tmp,
					strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", tmp,
				strerror(errno));
	if (!bia_is_dir(tmp))
		return bia_fail(ctx, BIA_EIO, "'%s' exists and is not a folder", tmp);
	return 0;
}

int bia_read_file(struct bia_ctx *ctx, const char *path, size_t max, char **pdata,
		  size_t *plen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO,
				"cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return bia_fail(ctx, BIA_EIO, "cannot stat '%s': %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return bia_fail(ctx, BIA_EINVAL, "'%s' is a folder, not a file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return bia_fail(ctx, BIA_ELIMIT, "'%s' is larger than %zu bytes", path, max);
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *data = malloc(cap);
	if (!data) {
		close(fd);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory reading '%s'", path);
	}
	for (;;) {
		if (len + 1 >= cap) {
			/* file grew (or is a pipe): grow up to max */
			if (cap > max) {
				free(data);
				close(fd);
				return bia_fail(ctx, BIA_ELIMIT,
						"'%s' is larger than %zu bytes", path, max);
			}
			char *t = realloc(data, cap * 2);
			if (!t) {
				free(data);
				close(fd);
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
			data = t;
			cap *= 2;
		}
		ssize_t n = read(fd, data + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(data);
			close(fd);
			return bia_fail(ctx, BIA_EIO, "cannot read '%s': %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*pdata = data;
	if (plen)
		*plen = len;
	return 0;
}

int bia_fsync_dir(struct bia_ctx *ctx, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", dir, strerror(errno));
	int rc = fsync(fd);
	close(fd);
	if (rc && errno != EINVAL)
		return bia_fail(ctx, BIA_EIO, "cannot fsync '%s': %s", dir, strerror(errno));
	return 0;
}

int bia_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bia_write_file_atomic(struct bia_ctx *ctx, const char *path, const void *data,
			  size_t len)
{
	char tmp[BIA_PATH_MAX], dir[BIA_PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return bia_fail(ctx, BIA_ELIMIT, "path '%s' too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", tmp, strerror(errno));
	if (bia_write_all(fd, data, len) || fsync(fd)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	fchmod(fd, 0644);
	close(fd);
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return bia_fail(ctx, BIA_EIO, "cannot rename to '%s': %s", path, strerror(e));
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return bia_fsync_dir(ctx, dir);
}

int bia_is_dir(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int bia_is_file(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

int bia_rm_rf(struct bia_ctx *ctx, const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return errno == ENOENT ? 0
				       : bia_fail(ctx, BIA_EIO, "cannot stat '%s': %s", path,
						  strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", path,
					strerror(errno));
		struct dirent *e;
		int rc = 0;
		while (!rc && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[BIA_PATH_MAX];
			if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >=
			    (int)sizeof(sub))
				rc = bia_fail(ctx, BIA_ELIMIT, "path too long");
			else
				rc = bia_rm_rf(ctx, sub);
		}
		closedir(d);
		if (rc)
			return rc;
		if (rmdir(path))
			return bia_fail(ctx, BIA_EIO, "cannot remove '%s': %s", path,
					strerror(errno));
		return 0;
	}
	if (unlink(path))
		return bia_fail(ctx, BIA_EIO, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

void bia_now_iso(char out[21])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int bia_pid_alive(long pid)
{
	if (pid <= 0)
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT; /* no /proc: trust kill() */
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "PID (comm) S ...": the state follows the last ')' (comm may hold one) */
	const char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return 1;
	return rp[2] != 'Z' && rp[2] != 'X' && rp[2] != 'x';
}

uint64_t bia_pid_start_time(long pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* fields after "(comm)": state is field 3, starttime field 22 */
	const char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	s++;
	for (int field = 3; field < 22 && s; field++) /* s: the space before `field` */
		s = strchr(s + 1, ' ');
	return s ? strtoull(s + 1, NULL, 10) : 0;
}
