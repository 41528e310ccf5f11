/* bia_exec_run: one command in a bubblewrap sandbox, with cgroup v1 pids
 * and memory limits (rlimits as a fallback), a size-limited tmpfs for
 * /data/out (copied to out_dir afterwards), a wall-clock limit and cancel
 * that kill the whole tree, and a timestamped log. See docs/exec.md.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec_int.h"

#define HOST_PATH "/usr/local/bin:/usr/bin:/bin"
#define TMP_BYTES_DEFAULT (UINT64_C(1) << 30)

void bia_exec_spec_init(struct bia_exec_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->log_fd = -1;
	s->cancel_fd = -1;
	s->uid = -1;
	s->gid = -1;
}

const char *bia_exec_status_name(enum bia_exec_status st)
{
	static const char *const names[] = {"ok",	     "failed",	     "timed_out",
					    "cancelled",     "memory_limit", "output_limit",
					    "process_limit", "error"};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]))
		return names[st];
	return "unknown";
}

/* ------------------------------------------------------------ argv list */

struct argl {
	struct bia_arena *a;
	char **v;
	size_t n, cap;
	int err;
};

static void argl_add(struct argl *l, const char *s)
{
	if (l->err)
		return;
	if (l->n + 2 > l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv) {
			l->err = 1;
			return;
		}
		l->v = nv;
		l->cap = nc;
	}
	char *d = bia_arena_strdup(l->a, s);
	if (!d) {
		l->err = 1;
		return;
	}
	l->v[l->n++] = d;
	l->v[l->n] = NULL;
}

static void argl_add2(struct argl *l, const char *a, const char *b)
{
	argl_add(l, a);
	argl_add(l, b);
}

static void argl_add3(struct argl *l, const char *a, const char *b, const char *c)
{
	argl_add(l, a);
	argl_add(l, b);
	argl_add(l, c);
}

/* ---------------------------------------------------------------- time */

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- cgroups */

struct cg {
	char pids[BIA_PATH_MAX]; /* "" if not used */
	char mem[BIA_PATH_MAX];
	int pids_tasks_fd, mem_tasks_fd;
};

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = bia_write_all(fd, val, strlen(val));
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Value of `key N` in a cgroup file such as pids.events; 0 if absent. */
static unsigned long long cg_key(const char *dir, const char *file, const char *key)
{
	char p[BIA_PATH_MAX + 64], buf[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	size_t kl = strlen(key);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			return strtoull(line + kl + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int cg_make(const char *root, const char *ctrl, const char *name, char *out)
{
	char base[BIA_PATH_MAX];
	snprintf(base, sizeof(base), "%s/%s", root, ctrl);
	out[0] = 0;
	if (!bia_is_dir(base))
		return -1;
	if (snprintf(out, BIA_PATH_MAX, "%s/%s", base, name) >= BIA_PATH_MAX ||
	    mkdir(out, 0700) != 0) {
		out[0] = 0;
		return -1;
	}
	return 0;
}

/* SIGKILL every task of a cgroup until it is empty (bounded). */
static void cg_kill_all(const char *dir)
{
	char p[BIA_PATH_MAX + 16], buf[8192];
	snprintf(p, sizeof(p), "%s/tasks", dir);
	for (int round = 0; round < 2000; round++) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		ssize_t n, tot = 0;
		while (tot < (ssize_t)sizeof(buf) - 1 &&
		       (n = read(fd, buf + tot, sizeof(buf) - 1 - (size_t)tot)) > 0)
			tot += n;
		close(fd);
		buf[tot] = 0;
		if (tot == 0)
			return;
		for (char *s = buf; *s;) {
			char *end;
			long pid = strtol(s, &end, 10);
			if (end == s)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
			s = end;
			while (*s == '\n')
				s++;
		}
		struct timespec ts = {0, 1000000}; /* poll again in 1 ms */
		nanosleep(&ts, NULL);
	}
}

static void cg_remove(const char *dir)
{
	if (!dir[0])
		return;
	cg_kill_all(dir);
	for (int i = 0; i < 1000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	bia_warn("exec: cannot remove cgroup '%s': %s", dir, strerror(errno));
}

/* ---------------------------------------------------------------- log */

struct logpump {
	int fd;		 /* destination, -1 to drop */
	void (*on_line)(void *user, const char *line, size_t n);
	void *user;
	uint64_t max;	 /* 0 = unlimited */
	uint64_t written;
	int truncated;
	char line[4096];
	size_t len;
	char last[256]; /* last complete line (for error reasons) */
};

static void log_emit(struct logpump *lp, const char *s, size_t n)
{
	size_t keep = n < sizeof(lp->last) - 1 ? n : sizeof(lp->last) - 1;
	memcpy(lp->last, s, keep);
	lp->last[keep] = 0;
	if (lp->fd < 0 || lp->truncated)
		return;
	if (lp->max && lp->written + n > lp->max) {
		lp->truncated = 1;
		s = "[biaflows: log truncated at the log size limit]";
		n = strlen(s);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char pre[40];
	int pl = snprintf(pre, sizeof(pre), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			  tm.tm_sec, ts.tv_nsec / 1000000);
	if (bia_write_all(lp->fd, pre, (size_t)pl) || bia_write_all(lp->fd, s, n) ||
	    bia_write_all(lp->fd, "\n", 1))
		lp->fd = -1; /* the log is gone: keep draining, stop writing */
	else if (lp->on_line)
		lp->on_line(lp->user, s, n);
	lp->written += n;
}

static void log_feed(struct logpump *lp, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\n' || lp->len == sizeof(lp->line)) {
			log_emit(lp, lp->line, lp->len);
			lp->len = 0;
			if (d[i] == '\n')
				continue;
		}
		lp->line[lp->len++] = d[i];
	}
}

static void log_flush(struct logpump *lp)
{
	if (lp->len)
		log_emit(lp, lp->line, lp->len);
	lp->len = 0;
}

/* Read what is available; returns 0 at EOF, 1 otherwise. */
static int log_drain(struct logpump *lp, int rfd)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(rfd, buf, sizeof(buf));
		if (n > 0) {
			log_feed(lp, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 1 : 0;
	}
}

/* ----------------------------------------------------------- copy out */

struct copyst {
	uint64_t bytes;
	unsigned skipped;
	int err;
	char errmsg[256];
};

static void copy_tree(struct copyst *cs, int sfd, int dfd, int depth)
{
	if (depth > 64) {
		cs->skipped++;
		return;
	}
	int dup_fd = dup(sfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		cs->err = 1;
		snprintf(cs->errmsg, sizeof(cs->errmsg), "cannot list the output: %s",
			 strerror(errno));
		return;
	}
	struct dirent *e;
	while (!cs->err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, e->d_name, 0755) && errno != EEXIST) {
				cs->err = 1;
				snprintf(cs->errmsg, sizeof(cs->errmsg), "cannot create '%s': %s",
					 e->d_name, strerror(errno));
				break;
			}
			int s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 >= 0 && d2 >= 0)
				copy_tree(cs, s2, d2, depth + 1);
			else
				cs->skipped++;
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(sfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = openat(dfd, e->d_name,
					 O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (in < 0 || out < 0) {
				if (out < 0) {
					cs->err = 1;
					snprintf(cs->errmsg, sizeof(cs->errmsg),
						 "cannot write result '%s': %s", e->d_name,
						 strerror(errno));
				}
				if (in >= 0)
					close(in);
				if (out >= 0)
					close(out);
				break;
			}
			char buf[65536];
			ssize_t n;
			while ((n = read(in, buf, sizeof(buf))) > 0) {
				if (bia_write_all(out, buf, (size_t)n)) {
					cs->err = 1;
					snprintf(cs->errmsg, sizeof(cs->errmsg),
						 "cannot write result '%s': %s", e->d_name,
						 strerror(errno));
					break;
				}
				cs->bytes += (uint64_t)n;
			}
			close(in);
			close(out);
		} else {
			cs->skipped++; /* symlinks, fifos, sockets, devices are not results */
		}
	}
	closedir(d);
}

/* -------------------------------------------------------------- helpers */

static int valid_env(const char *e)
{
	const char *eq = strchr(e, '=');
	if (!eq || eq == e)
		return 0;
	for (const char *p = e; p < eq; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
		      (p > e && *p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

/* A pipe whose read end (returned in *rfd, inheritable) yields `data`. */
static int data_pipe(const char *data, int *rfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	size_t n = strlen(data);
	if (n > 4096 || bia_write_all(p[1], data, n)) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	*rfd = p[0];
	return 0;
}

/* bwrap's options, NUL-separated, in a memory file read by `--args FD`. */
static int args_file(struct bia_ctx *ctx, const struct argl *l, int *pfd)
{
	int fd = memfd_create("biaflows-bwrap-args", MFD_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "exec: memfd_create: %s", strerror(errno));
	for (size_t i = 0; i < l->n; i++)
		if (bia_write_all(fd, l->v[i], strlen(l->v[i]) + 1)) {
			int e = errno;
			close(fd);
			return bia_fail(ctx, BIA_EIO, "exec: cannot write bwrap's options: %s",
					strerror(e));
		}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		int e = errno;
		close(fd);
		return bia_fail(ctx, BIA_EIO, "exec: lseek: %s", strerror(e));
	}
	*pfd = fd;
	return BIA_OK;
}

static void host_binds(struct argl *l, int passwd_fd, int group_fd)
{
	char fdbuf[16];
	argl_add3(l, "--ro-bind", "/usr", "/usr");
	static const char *const top[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		struct stat st;
		char tgt[PATH_MAX];
		if (lstat(top[i], &st))
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(top[i], tgt, sizeof(tgt) - 1);
			if (n <= 0)
				continue;
			tgt[n] = 0;
			/* only links into /usr (merged /usr); anything else is not bound */
			if (strncmp(tgt, "usr/", 4) && strncmp(tgt, "/usr/", 5))
				continue;
			argl_add3(l, "--symlink", tgt, top[i]);
		} else if (S_ISDIR(st.st_mode)) {
			argl_add3(l, "--ro-bind", top[i], top[i]);
		}
	}
	static const char *const etc[] = {
		"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
		"/etc/fonts",	     "/etc/ssl",	 "/etc/ca-certificates", "/etc/localtime",
		"/etc/timezone",     "/etc/mime.types",	 "/etc/nsswitch.conf", "/etc/host.conf",
		"/etc/magic",	     "/etc/protocols",	 "/etc/services"};
	for (size_t i = 0; i < sizeof(etc) / sizeof(etc[0]); i++)
		if (access(etc[i], F_OK) == 0)
			argl_add3(l, "--ro-bind", etc[i], etc[i]);
	static const char *const globs[] = {"/etc/java-*", "/etc/python3*", "/etc/ImageMagick-*",
					    "/etc/octave*", "/etc/R"};
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		glob_t g;
		if (glob(globs[i], GLOB_NOSORT, NULL, &g) == 0)
			for (size_t k = 0; k < g.gl_pathc; k++)
				argl_add3(l, "--ro-bind", g.gl_pathv[k], g.gl_pathv[k]);
		globfree(&g);
	}
	if (passwd_fd >= 0) {
		snprintf(fdbuf, sizeof(fdbuf), "%d", passwd_fd);
		argl_add3(l, "--ro-bind-data", fdbuf, "/etc/passwd");
	}
	if (group_fd >= 0) {
		snprintf(fdbuf, sizeof(fdbuf), "%d", group_fd);
		argl_add3(l, "--ro-bind-data", fdbuf, "/etc/group");
	}
}

static int cancel_requested(const struct bia_exec_spec *s)
{
	if (s->cancel && *s->cancel)
		return 1;
	if (s->cancel_fd >= 0) {
		struct pollfd p = {s->cancel_fd, POLLIN, 0};
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
			return 1;
	}
	return 0;
}

static void set_rlimit(int res, rlim_t v)
{
	struct rlimit rl = {v, v};
	struct rlimit cur;
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < v)
		rl.rlim_cur = rl.rlim_max = cur.rlim_max;
	setrlimit(res, &rl);
}

/* ------------------------------------------------------------------ run */

struct runst {
	struct bia_arena arena;
	struct argl args;
	struct cg cg;
	char stage[BIA_PATH_MAX]; /* private dir holding the out tmpfs */
	char stage_mnt[BIA_PATH_MAX];
	int mounted;
	int log_r, log_w, status_r, status_w, err_r, err_w, passwd_fd, group_fd, devnull, pidfd;
	int args_fd, seccomp_fd; /* bwrap's options (--args) and filter (--seccomp) */
	char **argv;		 /* bwrap --args FD -- command... */
	char args_fd_s[16];
	pid_t pid;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void run_cleanup(struct runst *st)
{
	cg_remove(st->cg.pids);
	cg_remove(st->cg.mem);
	close_fd(&st->cg.pids_tasks_fd);
	close_fd(&st->cg.mem_tasks_fd);
	if (st->mounted && umount2(st->stage_mnt, MNT_DETACH))
		bia_warn("exec: cannot unmount '%s': %s", st->stage_mnt, strerror(errno));
	if (st->stage[0]) {
		struct bia_ctx c;
		bia_ctx_init(&c);
		if (bia_rm_rf(&c, st->stage))
			bia_warn("exec: %s", c.msg);
	}
	int *fds[] = {&st->log_r,	  &st->log_w,	   &st->status_r, &st->status_w,
		      &st->err_r,	  &st->err_w,	   &st->passwd_fd, &st->group_fd,
		      &st->devnull,	  &st->pidfd,	   &st->args_fd,  &st->seccomp_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close_fd(fds[i]);
	free(st->args.v);
	free(st->argv);
	bia_arena_release(&st->arena);
}

static void kill_tree(struct runst *st)
{
	if (st->pid > 0) {
		kill(-st->pid, SIGKILL);
		kill(st->pid, SIGKILL);
	}
	if (st->cg.pids[0])
		cg_kill_all(st->cg.pids);
	if (st->cg.mem[0])
		cg_kill_all(st->cg.mem);
}

/* The pid in a name "<prefix><pid>-...", or 0. */
static long name_pid(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n))
		return 0;
	char *end;
	long pid = strtol(name + n, &end, 10);
	return pid > 0 && *end == '-' ? pid : 0;
}

/* Gone or a zombie: a killed runner whose parent has not reaped it yet
 * (an init that reaps orphans late) cannot clean up any more either. */
static int pid_dead(long pid)
{
	return !bia_pid_alive(pid);
}

/* A runner killed with SIGKILL cannot clean up: remove the cgroups and the
 * output tmpfs mounts of runners that no longer exist (their names carry
 * the runner's pid). Best effort, silent. */
static void sweep_stale(const char *cgroot)
{
	static const char *const ctl[] = {"pids", "memory"};
	char p[BIA_PATH_MAX + 300];
	for (size_t c = 0; c < sizeof(ctl) / sizeof(ctl[0]); c++) {
		snprintf(p, sizeof(p), "%s/%s", cgroot, ctl[c]);
		DIR *d = opendir(p);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			long pid = name_pid(e->d_name, "biaflows-exec-");
			if (!pid || !pid_dead(pid))
				continue;
			snprintf(p, sizeof(p), "%s/%s/%s", cgroot, ctl[c], e->d_name);
			(void)rmdir(p); /* fails while tasks remain: left alone */
		}
		if (d)
			closedir(d);
	}
	const char *tmp = getenv("TMPDIR");
	const char *base = tmp && *tmp ? tmp : "/tmp";
	DIR *d = opendir(base);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		long pid = name_pid(e->d_name, "biaflows-out-");
		if (!pid || !pid_dead(pid))
			continue;
		snprintf(p, sizeof(p), "%s/%s/out", base, e->d_name);
		(void)umount2(p, MNT_DETACH);
		(void)rmdir(p);
		snprintf(p, sizeof(p), "%s/%s", base, e->d_name);
		(void)rmdir(p);
	}
	if (d)
		closedir(d);
}

int bia_exec_run(struct bia_ctx *ctx, const struct bia_exec_spec *s,
		 struct bia_exec_result *r)
{
	static unsigned seq;
	memset(r, 0, sizeof(*r));
	r->status = BIA_EXEC_ERROR;
	r->exit_code = -1;
	snprintf(r->reason, sizeof(r->reason), "not run");
	if (!s->argv || !s->argv[0] || !s->argv[0][0])
		return bia_fail(ctx, BIA_EINVAL, "exec: empty command");
	for (char *const *e = s->env; e && *e; e++)
		if (!valid_env(*e))
			return bia_fail(ctx, BIA_EINVAL, "exec: bad environment entry '%s' (want NAME=VALUE)", *e);
	const char *dirs[] = {s->app_dir, s->in_dir, s->out_dir, s->rootfs};
	const char *dnames[] = {"app", "input", "output", "rootfs"};
	for (int i = 0; i < 4; i++)
		if (dirs[i] && !bia_is_dir(dirs[i]))
			return bia_fail(ctx, BIA_ENOENT, "exec: %s folder '%s' is not a directory",
					dnames[i], dirs[i]);
	if (s->workdir && s->workdir[0] != '/')
		return bia_fail(ctx, BIA_EINVAL, "exec: working directory '%s' is not absolute",
				s->workdir);
	const char *bwrap = s->bwrap;
	if (!bwrap)
		bwrap = getenv("BIAFLOWS_BWRAP");
	if (!bwrap || !*bwrap)
		bwrap = "/usr/bin/bwrap";
	if (access(bwrap, X_OK))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"exec: bubblewrap '%s' not found (install the 'bubblewrap' package)",
				bwrap);

	struct runst st;
	memset(&st, 0, sizeof(st));
	st.log_r = st.log_w = st.status_r = st.status_w = st.err_r = st.err_w = -1;
	st.passwd_fd = st.group_fd = st.devnull = st.pidfd = st.args_fd = st.seccomp_fd = -1;
	st.cg.pids_tasks_fd = st.cg.mem_tasks_fd = -1;
	bia_arena_init(&st.arena, 16384);
	st.args.a = &st.arena;
	int rc = BIA_OK;
	int is_root = geteuid() == 0;
	uint64_t out_cap = s->limits.out_bytes ? s->limits.out_bytes : BIA_EXEC_DEFAULT_OUT_BYTES;
	double t0 = now_mono();

	/* what killed runners left behind: their cgroups and output mounts */
	sweep_stale(s->cgroup_root ? s->cgroup_root : "/sys/fs/cgroup");

	/* cgroups: one per run, named after our pid and a counter */
	char cgname[128];
	snprintf(cgname, sizeof(cgname), "biaflows-exec-%ld-%u-%ld", (long)getpid(),
		 __atomic_fetch_add(&seq, 1u, __ATOMIC_RELAXED),
		 (long)(now_mono() * 1e6) % 1000000);
	const char *cgroot = s->cgroup_root ? s->cgroup_root : "/sys/fs/cgroup";
	char buf[BIA_PATH_MAX + 64];
	if (cg_make(cgroot, "pids", cgname, st.cg.pids) == 0) {
		char v[32];
		if (s->limits.max_procs)
			snprintf(v, sizeof(v), "%u", s->limits.max_procs);
		else
			snprintf(v, sizeof(v), "max");
		snprintf(buf, sizeof(buf), "%s/pids.max", st.cg.pids);
		if (write_str(buf, v))
			cg_remove(st.cg.pids), st.cg.pids[0] = 0;
	}
	if (s->limits.max_procs && !st.cg.pids[0])
		bia_warn("exec: no writable pids cgroup under '%s': process limit by "
			 "RLIMIT_NPROC (does not bind uid 0)", cgroot);
	if (s->limits.memory_bytes && cg_make(cgroot, "memory", cgname, st.cg.mem) == 0) {
		char v[32];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)s->limits.memory_bytes);
		snprintf(buf, sizeof(buf), "%s/memory.limit_in_bytes", st.cg.mem);
		if (write_str(buf, v))
			cg_remove(st.cg.mem), st.cg.mem[0] = 0;
		else {
			snprintf(buf, sizeof(buf), "%s/memory.memsw.limit_in_bytes", st.cg.mem);
			(void)write_str(buf, v); /* absent without swap accounting */
		}
	}
	if (s->limits.memory_bytes && !st.cg.mem[0])
		bia_warn("exec: no writable memory cgroup under '%s': memory limit by RLIMIT_AS "
			 "(may break the JVM)", cgroot);
	if (st.cg.pids[0]) {
		snprintf(buf, sizeof(buf), "%s/tasks", st.cg.pids);
		st.cg.pids_tasks_fd = open(buf, O_WRONLY | O_CLOEXEC);
	}
	if (st.cg.mem[0]) {
		snprintf(buf, sizeof(buf), "%s/tasks", st.cg.mem);
		st.cg.mem_tasks_fd = open(buf, O_WRONLY | O_CLOEXEC);
	}

	/* /data/out: a size-limited tmpfs we mount (root), else bind + RLIMIT_FSIZE */
	int out_fsize_fallback = 0;
	if (s->out_dir) {
		const char *tmp = getenv("TMPDIR");
		snprintf(st.stage, sizeof(st.stage), "%s/biaflows-out-%ld-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp", (long)getpid());
		if (!mkdtemp(st.stage)) {
			st.stage[0] = 0;
			rc = bia_fail(ctx, BIA_EIO, "exec: cannot create a staging folder: %s",
				      strerror(errno));
			goto out;
		}
		snprintf(st.stage_mnt, sizeof(st.stage_mnt), "%s/out", st.stage);
		char opts[96];
		snprintf(opts, sizeof(opts), "size=%llu,mode=0755,nr_inodes=1000000",
			 (unsigned long long)out_cap);
		if (mkdir(st.stage_mnt, 0755) == 0 && is_root &&
		    mount("tmpfs", st.stage_mnt, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0) {
			st.mounted = 1;
		} else {
			out_fsize_fallback = 1;
			bia_warn("exec: cannot mount a size-limited tmpfs for the output (%s): "
				 "output limited per file by RLIMIT_FSIZE",
				 is_root ? strerror(errno) : "not root");
		}
	}

	/* bwrap's options: passed in a memory file (--args), so that no host
	 * path of them shows in /proc/1/cmdline inside the sandbox */
	struct argl *l = &st.args;
	argl_add(l, "--unshare-all");
	argl_add(l, "--unshare-user");
	argl_add(l, "--disable-userns"); /* no nested user namespace (seccomp refuses it too) */
	argl_add(l, "--die-with-parent");
	argl_add(l, "--new-session");
	argl_add2(l, "--cap-drop", "ALL");
	argl_add2(l, "--hostname", "sandbox");
	long uid = s->uid, gid = s->gid;
	if (uid < 0 && is_root)
		uid = BIA_EXEC_NOBODY;
	if (gid < 0 && is_root)
		gid = BIA_EXEC_NOBODY;
	char num[32];
	if (uid >= 0) {
		snprintf(num, sizeof(num), "%ld", uid);
		argl_add2(l, "--uid", num);
	}
	if (gid >= 0) {
		snprintf(num, sizeof(num), "%ld", gid);
		argl_add2(l, "--gid", num);
	}
	if (s->rootfs) {
		argl_add3(l, "--bind", s->rootfs, "/");
	} else {
		char pw[512], gr[256];
		long u = uid >= 0 ? uid : (long)getuid(), g = gid >= 0 ? gid : (long)getgid();
		snprintf(pw, sizeof(pw),
			 "root:x:0:0:root:/root:/bin/sh\n%s:x:%ld:%ld:workflow:/tmp:/bin/sh\n",
			 u == 0 ? "user" : u == BIA_EXEC_NOBODY ? "nobody" : "workflow", u, g);
		snprintf(gr, sizeof(gr), "root:x:0:\n%s:x:%ld:\n",
			 g == BIA_EXEC_NOBODY ? "nogroup" : "workflow", g);
		if (u == 0)
			snprintf(pw, sizeof(pw), "root:x:0:0:root:/tmp:/bin/sh\n");
		if (g == 0)
			snprintf(gr, sizeof(gr), "root:x:0:\n");
		if (data_pipe(pw, &st.passwd_fd) || data_pipe(gr, &st.group_fd)) {
			rc = bia_fail(ctx, BIA_EIO, "exec: cannot create a pipe: %s", strerror(errno));
			goto out;
		}
		host_binds(l, st.passwd_fd, st.group_fd);
	}
	argl_add2(l, "--proc", "/proc");
	argl_add2(l, "--dev", "/dev");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)TMP_BYTES_DEFAULT);
	argl_add2(l, "--size", num);
	argl_add2(l, "--tmpfs", "/tmp");
	if (s->app_dir)
		argl_add3(l, "--ro-bind", s->app_dir, "/app");
	else
		argl_add2(l, "--dir", "/app");
	if (s->in_dir)
		argl_add3(l, "--ro-bind", s->in_dir, "/data/in");
	else
		argl_add2(l, "--dir", "/data/in");
	if (s->out_dir)
		argl_add3(l, "--bind", st.mounted ? st.stage_mnt : s->out_dir, "/data/out");
	else
		argl_add2(l, "--dir", "/data/out");
	argl_add2(l, "--dir", "/data/gt");
	argl_add2(l, "--remount-ro", "/");
	argl_add2(l, "--chdir", s->workdir ? s->workdir : "/app");
	argl_add(l, "--clearenv");
	argl_add3(l, "--setenv", "PATH", HOST_PATH);
	argl_add3(l, "--setenv", "HOME", "/tmp");
	argl_add3(l, "--setenv", "TMPDIR", "/tmp");
	for (char *const *e = s->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char *name = bia_arena_strndup(&st.arena, *e, (size_t)(eq - *e));
		if (!name)
			l->err = 1;
		else
			argl_add3(l, "--setenv", name, eq + 1);
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC)) {
		rc = bia_fail(ctx, BIA_EIO, "exec: cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	st.status_r = sp[0];
	st.status_w = sp[1];
	snprintf(num, sizeof(num), "%d", st.status_w);
	argl_add2(l, "--json-status-fd", num);
	if (bia__seccomp_fd(ctx, &st.seccomp_fd)) {
		rc = ctx->rc;
		goto out;
	}
	snprintf(num, sizeof(num), "%d", st.seccomp_fd);
	argl_add2(l, "--seccomp", num);
	if (l->err) {
		rc = bia_fail(ctx, BIA_ENOMEM, "exec: out of memory");
		goto out;
	}
	if ((rc = args_file(ctx, l, &st.args_fd)))
		goto out;
	{
		size_t na = 0;
		while (s->argv[na])
			na++;
		st.argv = bia_calloc(na + 5, sizeof(char *));
		if (!st.argv) {
			rc = bia_fail(ctx, BIA_ENOMEM, "exec: out of memory");
			goto out;
		}
		snprintf(st.args_fd_s, sizeof(st.args_fd_s), "%d", st.args_fd);
		st.argv[0] = (char *)bwrap;
		st.argv[1] = "--args";
		st.argv[2] = st.args_fd_s;
		st.argv[3] = "--";
		for (size_t i = 0; i < na; i++)
			st.argv[4 + i] = s->argv[i];
	}

	int lp[2], ep[2];
	if (pipe2(lp, O_CLOEXEC) || (st.log_r = lp[0], st.log_w = lp[1], 0) ||
	    pipe2(ep, O_CLOEXEC) || (st.err_r = ep[0], st.err_w = ep[1], 0) ||
	    (st.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = bia_fail(ctx, BIA_EIO, "exec: cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	struct logpump pump;
	memset(&pump, 0, sizeof(pump));
	pump.fd = s->log_fd;
	pump.max = s->limits.log_bytes;
	pump.on_line = s->on_log_line;
	pump.user = s->log_user;

	t0 = now_mono();
	st.pid = fork();
	if (st.pid < 0) {
		rc = bia_fail(ctx, BIA_EIO, "exec: fork failed: %s", strerror(errno));
		goto out;
	}
	if (st.pid == 0) {
		/* child: only async-signal-safe calls from here */
		setpgid(0, 0);
		char pidbuf[24];
		int n = snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
		if (st.cg.pids_tasks_fd >= 0 && write(st.cg.pids_tasks_fd, pidbuf, (size_t)n) < 0)
			_exit(126);
		if (st.cg.mem_tasks_fd >= 0 && write(st.cg.mem_tasks_fd, pidbuf, (size_t)n) < 0)
			_exit(126);
		dup2(st.devnull, 0);
		dup2(st.log_w, 1);
		dup2(st.log_w, 2);
		int keep[] = {st.status_w, st.passwd_fd, st.group_fd, st.args_fd, st.seccomp_fd};
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (keep[i] >= 0)
				fcntl(keep[i], F_SETFD, 0);
		if (s->limits.max_open_files)
			set_rlimit(RLIMIT_NOFILE, s->limits.max_open_files);
		if (s->limits.max_procs && !st.cg.pids[0])
			set_rlimit(RLIMIT_NPROC, s->limits.max_procs);
		if (s->limits.memory_bytes && !st.cg.mem[0])
			set_rlimit(RLIMIT_AS, s->limits.memory_bytes);
		if (out_fsize_fallback)
			set_rlimit(RLIMIT_FSIZE, out_cap);
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (int sig = 1; sig < 32; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &sa, NULL);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* bwrap's own environment (what /proc/1/environ shows inside) is
		 * empty: nothing of the caller's environment reaches the sandbox */
		static char *const no_env[] = {NULL};
		execve(st.argv[0], st.argv, no_env);
		int e = errno;
		if (write(st.err_w, &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	setpgid(st.pid, st.pid); /* also from here: no race with kill(-pid) */
	close_fd(&st.log_w);
	close_fd(&st.err_w);
	close_fd(&st.status_w);
	close_fd(&st.passwd_fd);
	close_fd(&st.group_fd);
	close_fd(&st.args_fd);
	close_fd(&st.seccomp_fd);
	{
		int e = 0;
		if (read(st.err_r, &e, sizeof(e)) == (ssize_t)sizeof(e)) {
			waitpid(st.pid, NULL, 0);
			st.pid = 0;
			rc = bia_fail(ctx, BIA_EIO, "exec: cannot run '%s': %s", bwrap, strerror(e));
			goto out;
		}
	}
	fcntl(st.log_r, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
	st.pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
#endif

	int timed_out = 0, cancelled = 0, log_open = 1, wstatus = 0, exited = 0;
	double deadline = s->limits.wall_seconds > 0 ? t0 + s->limits.wall_seconds : 0;
	while (!exited) {
		struct pollfd pf[3];
		int np = 0;
		if (log_open)
			pf[np++] = (struct pollfd){st.log_r, POLLIN, 0};
		if (st.pidfd >= 0)
			pf[np++] = (struct pollfd){st.pidfd, POLLIN, 0};
		if (s->cancel_fd >= 0)
			pf[np++] = (struct pollfd){s->cancel_fd, POLLIN, 0};
		int tmo = st.pidfd >= 0 ? 1000 : 10;
		if (s->cancel && tmo > 20)
			tmo = 20;
		if (deadline > 0) {
			double left = deadline - now_mono();
			int ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
			if (ms < tmo)
				tmo = ms;
		}
		if (poll(pf, (nfds_t)np, tmo) < 0 && errno != EINTR)
			break;
		if (log_open)
			log_open = log_drain(&pump, st.log_r);
		pid_t w = waitpid(st.pid, &wstatus, WNOHANG);
		if (w == st.pid) {
			exited = 1;
			break;
		}
		if (cancel_requested(s)) {
			cancelled = 1;
			break;
		}
		if (deadline > 0 && now_mono() >= deadline) {
			timed_out = 1;
			break;
		}
	}
	if (!exited) {
		kill_tree(&st);
		while (waitpid(st.pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	st.pid = 0;
	r->wall_seconds = now_mono() - t0;
	/* the pid namespace is gone: whatever remains in the pipe is final */
	if (log_open) {
		struct pollfd pf = {st.log_r, POLLIN, 0};
		for (int i = 0; i < 100 && log_drain(&pump, st.log_r); i++)
			if (poll(&pf, 1, 10) <= 0)
				break;
	}
	log_flush(&pump);

	/* bwrap's status: a "child-pid" record means the sandbox was set up */
	char sbuf[4096];
	ssize_t sn = 0, k;
	fcntl(st.status_r, F_SETFL, O_NONBLOCK);
	while (sn < (ssize_t)sizeof(sbuf) - 1 &&
	       (k = read(st.status_r, sbuf + sn, sizeof(sbuf) - 1 - (size_t)sn)) > 0)
		sn += k;
	sbuf[sn] = 0;
	int started = strstr(sbuf, "\"child-pid\"") != NULL;

	if (WIFEXITED(wstatus)) {
		r->exit_code = WEXITSTATUS(wstatus);
		if (r->exit_code > 128 && r->exit_code < 128 + 65)
			r->term_signal = r->exit_code - 128;
	} else if (WIFSIGNALED(wstatus)) {
		r->term_signal = WTERMSIG(wstatus);
	}

	if (st.cg.pids[0])
		r->proc_limit_hit = cg_key(st.cg.pids, "pids.events", "max") > 0;
	if (st.cg.mem[0])
		r->mem_limit_hit = cg_key(st.cg.mem, "memory.oom_control", "oom_kill") > 0;
	if (st.mounted) {
		struct statvfs vf;
		if (statvfs(st.stage_mnt, &vf) == 0) {
			uint64_t avail = (uint64_t)vf.f_bavail * vf.f_frsize;
			uint64_t total = (uint64_t)vf.f_blocks * vf.f_frsize;
			if (avail < 65536 || avail < total / 100 || vf.f_favail == 0)
				r->out_limit_hit = 1;
		}
	} else if (out_fsize_fallback && r->term_signal == SIGXFSZ) {
		r->out_limit_hit = 1;
	}
	/* kill any straggler and tear down cgroups before copying results */
	cg_remove(st.cg.pids);
	cg_remove(st.cg.mem);
	st.cg.pids[0] = st.cg.mem[0] = 0;

	if (st.mounted) {
		struct copyst cs;
		memset(&cs, 0, sizeof(cs));
		int sfd = open(st.stage_mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int dfd = open(s->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd >= 0 && dfd >= 0)
			copy_tree(&cs, sfd, dfd, 0);
		else
			cs.err = 1, snprintf(cs.errmsg, sizeof(cs.errmsg), "%s", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		if (dfd >= 0)
			close(dfd);
		r->out_bytes = cs.bytes;
		if (cs.skipped)
			bia_warn("exec: %u output entries (symlinks, special files) not copied",
				 cs.skipped);
		if (cs.err) {
			rc = bia_fail(ctx, BIA_EIO, "exec: copying results to '%s': %s", s->out_dir,
				      cs.errmsg);
			r->status = BIA_EXEC_ERROR;
			snprintf(r->reason, sizeof(r->reason), "%s", ctx->msg);
			goto out;
		}
	}

	int ok = exited && r->exit_code == 0;
	if (cancelled) {
		r->status = BIA_EXEC_CANCELLED;
		snprintf(r->reason, sizeof(r->reason), "cancelled after %.1f s", r->wall_seconds);
	} else if (!started && !timed_out) {
		r->status = BIA_EXEC_ERROR;
		snprintf(r->reason, sizeof(r->reason), "sandbox setup failed: %s", pump.last);
		rc = bia_fail(ctx, BIA_EIO, "exec: sandbox setup failed: %s", pump.last);
	} else if (!ok && r->mem_limit_hit) {
		r->status = BIA_EXEC_MEMORY_LIMIT;
		snprintf(r->reason, sizeof(r->reason), "memory limit of %llu bytes reached",
			 (unsigned long long)s->limits.memory_bytes);
	} else if (!ok && r->out_limit_hit) {
		r->status = BIA_EXEC_OUTPUT_LIMIT;
		snprintf(r->reason, sizeof(r->reason), "output limit of %llu bytes reached",
			 (unsigned long long)out_cap);
	} else if (!ok && r->proc_limit_hit) {
		r->status = BIA_EXEC_PROCESS_LIMIT;
		snprintf(r->reason, sizeof(r->reason), "process limit of %u reached%s",
			 s->limits.max_procs, timed_out ? " (then killed at the wall-clock limit)" : "");
	} else if (timed_out) {
		r->status = BIA_EXEC_TIMED_OUT;
		snprintf(r->reason, sizeof(r->reason), "killed at the wall-clock limit of %g s",
			 s->limits.wall_seconds);
	} else if (!ok) {
		r->status = BIA_EXEC_FAILED;
		if (r->term_signal)
			snprintf(r->reason, sizeof(r->reason), "exit code %d (signal %d?)",
				 r->exit_code, r->term_signal);
		else
			snprintf(r->reason, sizeof(r->reason), "exit code %d", r->exit_code);
	} else {
		r->status = BIA_EXEC_OK;
		snprintf(r->reason, sizeof(r->reason), "exit code 0");
	}
out:
	if (st.pid > 0) {
		kill_tree(&st);
		waitpid(st.pid, NULL, 0);
	}
	run_cleanup(&st);
	return rc;
}
