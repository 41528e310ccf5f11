/* Unit tests of src/exec: the bubblewrap sandbox (normal runs, hostile
 * workflows: network, writes outside, remounts, instance files, fork bomb,
 * endless loop, 10 GB writer, memory hog, cancel) and OCI / docker-save
 * unpacking (whiteouts, running inside the rootfs, malicious archives).
 * They need bwrap; the containment checks are meant to run as root (CI).
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

/* ------------------------------------------------------------ fixtures */

struct fx {
	char root[256], app[300], in[300], out[300], inst[300], envs[300], log[300];
	int logfd;
};

static int have_bwrap(void)
{
	return access("/usr/bin/bwrap", X_OK) == 0;
}

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	struct bia_ctx c;
	bia_ctx_init(&c);
	char *d = NULL;
	size_t n;
	if (bia_read_file(&c, path, 1 << 24, &d, &n))
		return NULL;
	return d;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/bia-test-exec-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	chmod(f->root, 0755);
	snprintf(f->app, sizeof(f->app), "%s/app", f->root);
	snprintf(f->in, sizeof(f->in), "%s/in", f->root);
	snprintf(f->out, sizeof(f->out), "%s/out", f->root);
	snprintf(f->inst, sizeof(f->inst), "%s/instance", f->root);
	snprintf(f->envs, sizeof(f->envs), "%s/envs", f->root);
	snprintf(f->log, sizeof(f->log), "%s/log.txt", f->root);
	mkdir(f->app, 0755);
	mkdir(f->in, 0755);
	mkdir(f->out, 0755);
	mkdir(f->inst, 0700);
	f->logfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct bia_ctx c;
	bia_ctx_init(&c);
	if (f->logfd >= 0)
		close(f->logfd);
	bia_rm_rf(&c, f->root);
	free(f);
	return 0;
}

static void spec_for(struct fx *f, struct bia_exec_spec *s, char *const *argv)
{
	bia_exec_spec_init(s);
	s->argv = argv;
	s->app_dir = f->app;
	s->in_dir = f->in;
	s->out_dir = f->out;
	s->log_fd = f->logfd;
	s->limits.wall_seconds = 30;
}

static struct bia_exec_result run_sh(struct fx *f, const char *script,
				     const struct bia_exec_limits *lim)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, argv);
	if (lim)
		s.limits = *lim;
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	int rc = bia_exec_run(&c, &s, &r);
	if (rc)
		fail_msg("bia_exec_run: %s", c.msg);
	return r;
}

#define NEED_BWRAP()                                                                      \
	do {                                                                              \
		if (!have_bwrap())                                                        \
			skip();                                                           \
	} while (0)

static int count_procs(void)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Processes whose command line contains `marker`. */
static int procs_with(const char *marker)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char p[300], buf[4096];
		snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		for (ssize_t i = 0; i < k; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[k] = 0;
		if (strstr(buf, marker) && (pid_t)atoi(e->d_name) != getpid())
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* ------------------------------------------------------------- normal */

static void test_exit_code(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	struct bia_exec_result r = run_sh(f, "echo hi; exit 3", NULL);
	assert_int_equal(r.status, BIA_EXEC_FAILED);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(r.term_signal, 0);
	r = run_sh(f, "true", NULL);
	assert_int_equal(r.status, BIA_EXEC_OK);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(bia_exec_status_name(r.status), "ok");
}

static void test_env_workdir_args(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	char *argv[] = {"/bin/sh", "-c",
			"printf '%s|' \"$#\" \"$1\" \"$FOO\" \"$(pwd)\" \"$PATH\" \"$(id -u)\" > "
			"/data/out/r.txt; ls /data/gt | wc -l >> /data/out/r.txt",
			"sh", "a b  c", NULL};
	char *env[] = {"FOO=x y", NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, argv);
	s.env = env;
	s.workdir = "/tmp";
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	assert_int_equal(bia_exec_run(&c, &s, &r), 0);
	assert_int_equal(r.status, BIA_EXEC_OK);
	char p[400];
	snprintf(p, sizeof(p), "%s/r.txt", f->out);
	char *d = slurp(p);
	assert_non_null(d);
	char want[256];
	snprintf(want, sizeof(want), "1|a b  c|x y|/tmp|/usr/local/bin:/usr/bin:/bin|%d|0\n",
		 geteuid() == 0 ? 65534 : (int)geteuid());
	assert_string_equal(d, want);
	free(d);
	/* default working directory: /app */
	struct bia_exec_result r2 = run_sh(f, "pwd > /data/out/pwd.txt", NULL);
	assert_int_equal(r2.status, BIA_EXEC_OK);
	snprintf(p, sizeof(p), "%s/pwd.txt", f->out);
	d = slurp(p);
	assert_string_equal(d, "/app\n");
	free(d);
}

static void test_log_timestamps(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	struct bia_exec_result r = run_sh(f, "echo hello; echo oops >&2; printf partial", NULL);
	assert_int_equal(r.status, BIA_EXEC_OK);
	char *d = slurp(f->log);
	assert_non_null(d);
	int lines = 0;
	for (char *line = strtok(d, "\n"); line; line = strtok(NULL, "\n")) {
		int Y, M, D, h, m, sec, ms;
		char rest[64];
		assert_int_equal(sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %63[^\n]", &Y, &M, &D,
					&h, &m, &sec, &ms, rest),
				 8);
		assert_true(Y >= 2024);
		assert_true(!strcmp(rest, "hello") || !strcmp(rest, "oops") ||
			    !strcmp(rest, "partial"));
		lines++;
	}
	assert_int_equal(lines, 3);
	free(d);
}

static void test_bad_spec(void **state)
{
	struct fx *f = *state;
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	char *empty[] = {NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, empty);
	assert_int_equal(bia_exec_run(&c, &s, &r), BIA_EINVAL);
	assert_int_equal(r.status, BIA_EXEC_ERROR);
	char *argv[] = {"true", NULL};
	spec_for(f, &s, argv);
	s.app_dir = "/nonexistent/app";
	assert_int_equal(bia_exec_run(&c, &s, &r), BIA_ENOENT);
	assert_non_null(strstr(c.msg, "/nonexistent/app"));
	char *env[] = {"NOEQUALS", NULL};
	spec_for(f, &s, argv);
	s.env = env;
	assert_int_equal(bia_exec_run(&c, &s, &r), BIA_EINVAL);
	spec_for(f, &s, argv);
	s.workdir = "relative";
	assert_int_equal(bia_exec_run(&c, &s, &r), BIA_EINVAL);
	if (have_bwrap()) { /* a command that does not exist: bwrap's exec fails */
		char *nope[] = {"/no/such/program", NULL};
		spec_for(f, &s, nope);
		bia_ctx_init(&c);
		int rc = bia_exec_run(&c, &s, &r);
		assert_true(rc == 0 || rc == BIA_EIO);
		assert_int_not_equal(r.status, BIA_EXEC_OK);
	}
}

/* ------------------------------------------------------------ hostile */

static void test_no_network(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 8), 0);
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	char script[256];
	snprintf(script, sizeof(script),
		 "exec 3<>/dev/tcp/127.0.0.1/%d && echo CONNECTED", ntohs(sa.sin_port));
	/* outside the sandbox the same script connects */
	pid_t pid = fork();
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		dup2(dn, 2);
		execl("/bin/bash", "bash", "-c", script, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct pollfd pf = {ls, POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 5000), 1);
	int cfd = accept(ls, NULL, NULL);
	assert_true(cfd >= 0);
	close(cfd);
	/* inside it cannot */
	char *argv[] = {"/bin/bash", "-c", script, NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, argv);
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	assert_int_equal(bia_exec_run(&c, &s, &r), 0);
	assert_int_equal(r.status, BIA_EXEC_FAILED);
	assert_int_equal(poll(&pf, 1, 0), 0); /* nothing reached the listener */
	char *log = slurp(f->log);
	assert_null(strstr(log, "CONNECTED"));
	free(log);
	close(ls);
}

static void test_writes_outside_and_remount(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	char p[400];
	snprintf(p, sizeof(p), "%s/input.txt", f->in);
	put(p, "original\n");
	chmod(p, 0666); /* even a world-writable input must stay unchanged */
	snprintf(p, sizeof(p), "%s/a.txt", f->app);
	put(p, "app\n");
	chmod(p, 0666);
	const char *script =
		"for t in /evil /usr/evil /etc/evil /tmp/../evil /data/evil /data/gt/evil /app/evil; do "
		"  (echo x > $t) 2>/dev/null && echo WROTE $t; done; "
		"mount -o remount,rw /data/in 2>/dev/null && echo REMOUNTED_IN; "
		"mount -o remount,rw /app 2>/dev/null && echo REMOUNTED_APP; "
		"mount -o remount,rw / 2>/dev/null && echo REMOUNTED_ROOT; "
		"mount -t tmpfs none /data/in 2>/dev/null && echo MOUNTED; "
		"(echo hacked > /data/in/input.txt) 2>/dev/null && echo WROTE_INPUT; "
		"rm -f /data/in/input.txt 2>/dev/null && echo REMOVED_INPUT; "
		"(echo hacked > /app/a.txt) 2>/dev/null && echo WROTE_APP; "
		"echo ok > /data/out/ok.txt; exit 0";
	struct bia_exec_result r = run_sh(f, script, NULL);
	assert_int_equal(r.status, BIA_EXEC_OK);
	char *log = slurp(f->log);
	assert_null(strstr(log, "WROTE"));
	assert_null(strstr(log, "REMOUNTED"));
	assert_null(strstr(log, "MOUNTED"));
	assert_null(strstr(log, "REMOVED"));
	free(log);
	snprintf(p, sizeof(p), "%s/input.txt", f->in);
	char *d = slurp(p);
	assert_string_equal(d, "original\n");
	free(d);
	snprintf(p, sizeof(p), "%s/a.txt", f->app);
	d = slurp(p);
	assert_string_equal(d, "app\n");
	free(d);
	assert_int_not_equal(access("/usr/evil", F_OK), 0);
	assert_int_not_equal(access("/evil", F_OK), 0);
	snprintf(p, sizeof(p), "%s/ok.txt", f->out);
	assert_true(bia_is_file(p));
}

static void test_instance_invisible(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	char p[400], script[1200];
	snprintf(p, sizeof(p), "%s/secret.txt", f->inst);
	put(p, "TOPSECRET\n");
	chmod(p, 0644);
	chmod(f->inst, 0755);
	snprintf(script, sizeof(script),
		 "cat %s; cat /proc/1/root%s; ls %s %s /root /home 2>&1; "
		 "find / -name secret.txt 2>/dev/null; cat /etc/shadow; exit 0",
		 p, p, f->inst, f->root);
	struct bia_exec_result r = run_sh(f, script, NULL);
	assert_int_equal(r.status, BIA_EXEC_OK);
	char *log = slurp(f->log);
	assert_non_null(log);
	assert_null(strstr(log, "TOPSECRET"));
	assert_null(strstr(log, "/secret.txt\n"));
	free(log);
}

/* Copy tests/fixtures/sandbox/probe.py into the app folder and run it. */
static struct bia_exec_result run_probe(struct fx *f, const char *mode)
{
	char *src = slurp("tests/fixtures/sandbox/probe.py"), dst[400];
	assert_non_null(src);
	snprintf(dst, sizeof(dst), "%s/probe.py", f->app);
	put(dst, src);
	free(src);
	char *argv[] = {"/usr/bin/python3", "/app/probe.py", (char *)mode, NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, argv);
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	lseek(f->logfd, 0, SEEK_SET);
	assert_int_equal(ftruncate(f->logfd, 0), 0);
	if (bia_exec_run(&c, &s, &r))
		fail_msg("bia_exec_run: %s", c.msg);
	return r;
}

/* Nothing of the host's environment, paths or user reaches a process in
 * the sandbox: every /proc/PID/environ, cmdline and open descriptor. */
static void test_no_host_secret(void **state)
{
	NEED_BWRAP();
	if (access("/usr/bin/python3", X_OK))
		skip();
	struct fx *f = *state;
	setenv("SECRET_TOKEN", "s3cr3t-host-token-4242", 1);
	setenv("USER", "hostuser-8813", 1);
	setenv("LOGNAME", "hostuser-8813", 1);
	setenv("BIAFLOWS_INSTANCE", f->inst, 1);
	struct bia_exec_result r = run_probe(f, "leak");
	unsetenv("SECRET_TOKEN");
	unsetenv("USER");
	unsetenv("LOGNAME");
	unsetenv("BIAFLOWS_INSTANCE");
	char *log = slurp(f->log);
	assert_non_null(log);
	if (r.status != BIA_EXEC_OK)
		fail_msg("probe failed: %s\n%s", r.reason, log);
	assert_non_null(strstr(log, "leak-probe done"));
	assert_non_null(strstr(log, "cmdline 1 ")); /* it did see bwrap's pid 1 */
	assert_null(strstr(log, "s3cr3t-host-token-4242"));
	assert_null(strstr(log, "hostuser-8813"));
	assert_null(strstr(log, "bia-test-exec-")); /* no host path: app, in, out, instance */
	assert_null(strstr(log, "HOME=/root"));
	assert_null(strstr(log, "/usr/bin/bwrap --")); /* options are read from a file */
	free(log);
}

/* The seccomp filter refuses what would let a workflow attack its sandbox,
 * and leaves what workflows need. */
static void test_seccomp(void **state)
{
	NEED_BWRAP();
#if !defined(__x86_64__)
	skip();
#endif
	if (access("/usr/bin/python3", X_OK))
		skip();
	struct fx *f = *state;
	struct bia_exec_result r = run_probe(f, "syscalls");
	char *log = slurp(f->log);
	assert_non_null(log);
	if (r.status != BIA_EXEC_OK || !strstr(log, "syscall-probe done"))
		fail_msg("probe failed: %s\n%s", r.reason, log);
	static const struct {
		const char *name;
		int want;
	} cases[] = {
		{"ptrace_attach_pid1", EPERM}, {"ptrace_attach_parent", EPERM},
		{"ptrace_traceme", EPERM},     {"process_vm_readv", EPERM},
		{"unshare_user", EPERM},       {"unshare_mount", EPERM},
		{"unshare_net", EPERM},	       {"clone_newuser", EPERM},
		{"setns", EPERM},	       {"keyctl", EPERM},
		{"add_key", EPERM},	       {"request_key", EPERM},
		{"bpf", EPERM},		       {"perf_event_open", EPERM},
		{"userfaultfd", EPERM},	       {"mount", EPERM},
		{"umount2", EPERM},	       {"pivot_root", EPERM},
		{"open_tree", EPERM},	       {"fsopen", EPERM},
		{"move_mount", EPERM},	       {"kexec_load", EPERM},
		{"kexec_file_load", EPERM},    {"init_module", EPERM},
		{"finit_module", EPERM},       {"delete_module", EPERM},
		{"open_by_handle_at", EPERM},  {"ioctl_tiocsti", EPERM},
		{"clone3", ENOSYS},	       {"getpid", 0},
		{"fork", 0},		       {"thread", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[96];
		snprintf(want, sizeof(want), "Z %s errno=%d\n", cases[i].name, cases[i].want);
		if (!strstr(log, want))
			fail_msg("%s: want errno %d; probe output:\n%s", cases[i].name,
				 cases[i].want, log);
	}
	free(log);
	/* and from a shell: util-linux's unshare cannot make a root namespace */
	if (access("/usr/bin/unshare", X_OK) == 0) {
		r = run_sh(f, "unshare -Ur id -u; echo rc=$?", NULL);
		log = slurp(f->log);
		assert_null(strstr(log, "Z 0\n"));
		assert_non_null(strstr(log, "rc=1"));
		free(log);
	}
}

struct sampler {
	volatile int stop;
	const char *marker;
	int max, max_all;
};

static void *sample_procs(void *arg)
{
	struct sampler *sm = arg;
	while (!sm->stop) {
		int n = procs_with(sm->marker), all = count_procs();
		if (n > sm->max)
			sm->max = n;
		if (all > sm->max_all)
			sm->max_all = all;
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void test_fork_bomb(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	char marker[64], script[256];
	snprintf(marker, sizeof(marker), "bia-marker-%ld-bomb", (long)getpid());
	/* every shell of the bomb carries the marker in its command line */
	snprintf(script, sizeof(script),
		 "b() { b | b & }; while :; do b 2>/dev/null; done # %s", marker);
	int base = count_procs();
	struct sampler sm = {0, marker, 0, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sample_procs, &sm), 0);
	struct bia_exec_limits lim = {0};
	lim.wall_seconds = 2;
	lim.max_procs = 32;
	struct bia_exec_result r = run_sh(f, script, &lim);
	sm.stop = 1;
	pthread_join(th, NULL);
	print_message("fork bomb: status %s (%s); bomb processes seen at most %d; host "
		      "processes %d before, at most %d during, %d after\n",
		      bia_exec_status_name(r.status), r.reason, sm.max, base, sm.max_all,
		      count_procs());
	if (access("/sys/fs/cgroup/pids", W_OK) == 0) {
		assert_int_equal(r.status, BIA_EXEC_PROCESS_LIMIT);
		assert_true(r.proc_limit_hit);
		assert_true(sm.max <= 32); /* the cgroup holds bwrap too */
		assert_true(sm.max >= 2);  /* the bomb did run */
	}
	assert_int_equal(procs_with(marker), 0);
}

static void test_timeout_kills_tree(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	char marker[64], script[256];
	snprintf(marker, sizeof(marker), "bia-marker-%ld-loop", (long)getpid());
	snprintf(script, sizeof(script),
		 "/bin/sh -c 'while :; do :; done' %s & setsid /bin/sh -c 'while :; do :; done' "
		 "%s & while :; do :; done",
		 marker, marker);
	struct bia_exec_limits lim = {0};
	lim.wall_seconds = 0.5;
	struct bia_exec_result r = run_sh(f, script, &lim);
	assert_int_equal(r.status, BIA_EXEC_TIMED_OUT);
	assert_true(r.wall_seconds >= 0.5 && r.wall_seconds < 10);
	assert_int_equal(procs_with(marker), 0);
}

struct canceller {
	const char *log;
	int fd;
};

static void *cancel_when_started(void *arg)
{
	struct canceller *cc = arg;
	for (int i = 0; i < 5000; i++) { /* bounded poll of the log, up to ~10 s */
		char *d = slurp(cc->log);
		int started = d && strstr(d, "STARTED");
		free(d);
		if (started)
			break;
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	if (write(cc->fd, "x", 1) != 1)
		return NULL;
	return NULL;
}

static void test_cancel(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	char marker[64], script[256];
	snprintf(marker, sizeof(marker), "bia-marker-%ld-cancel", (long)getpid());
	snprintf(script, sizeof(script), "echo STARTED; exec /bin/sh -c 'while :; do :; done' %s",
		 marker);
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct bia_exec_spec s;
	spec_for(f, &s, argv);
	s.cancel_fd = p[0];
	struct canceller cc = {f->log, p[1]};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, cancel_when_started, &cc), 0);
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_exec_result r;
	assert_int_equal(bia_exec_run(&c, &s, &r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.status, BIA_EXEC_CANCELLED);
	assert_int_equal(procs_with(marker), 0);
	close(p[0]);
	close(p[1]);
	/* a flag already set cancels at once */
	volatile sig_atomic_t flag = 1;
	spec_for(f, &s, argv);
	s.cancel = &flag;
	assert_int_equal(bia_exec_run(&c, &s, &r), 0);
	assert_int_equal(r.status, BIA_EXEC_CANCELLED);
}

static void test_output_limit(void **state)
{
	NEED_BWRAP();
	if (geteuid() != 0)
		skip(); /* the size-limited tmpfs needs root; see docs/exec.md */
	struct fx *f = *state;
	struct bia_exec_limits lim = {0};
	lim.wall_seconds = 60;
	lim.out_bytes = 8u << 20;
	struct bia_exec_result r = run_sh(
		f, "echo small > /data/out/small.txt; head -c 10G /dev/zero > /data/out/big", &lim);
	print_message("10 GB writer: status %s (%s), %llu bytes kept\n",
		      bia_exec_status_name(r.status), r.reason, (unsigned long long)r.out_bytes);
	assert_int_equal(r.status, BIA_EXEC_OUTPUT_LIMIT);
	assert_true(r.out_limit_hit);
	assert_true(r.out_bytes <= (8u << 20));
	char p[400];
	snprintf(p, sizeof(p), "%s/big", f->out);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size <= (8 << 20));
	snprintf(p, sizeof(p), "%s/small.txt", f->out);
	char *d = slurp(p);
	assert_string_equal(d, "small\n");
	free(d);
}

static void test_memory_limit(void **state)
{
	NEED_BWRAP();
	if (access("/sys/fs/cgroup/memory", W_OK) || access("/usr/bin/python3", X_OK))
		skip();
	struct fx *f = *state;
	struct bia_exec_limits lim = {0};
	lim.wall_seconds = 60;
	lim.memory_bytes = 64u << 20;
	struct bia_exec_result r =
		run_sh(f, "/usr/bin/python3 -c 'x = bytearray(512 << 20); print(len(x))'", &lim);
	print_message("memory hog: status %s (%s)\n", bia_exec_status_name(r.status), r.reason);
	assert_int_equal(r.status, BIA_EXEC_MEMORY_LIMIT);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_overhead(void **state)
{
	NEED_BWRAP();
	struct fx *f = *state;
	double bare[9], sand[9];
	for (int i = 0; i < 9; i++) {
		double t = mono();
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		bare[i] = mono() - t;
		char *argv[] = {"/bin/true", NULL};
		struct bia_exec_spec s;
		spec_for(f, &s, argv);
		struct bia_ctx c;
		bia_ctx_init(&c);
		struct bia_exec_result r;
		t = mono();
		assert_int_equal(bia_exec_run(&c, &s, &r), 0);
		sand[i] = mono() - t;
		assert_int_equal(r.status, BIA_EXEC_OK);
	}
	qsort(bare, 9, sizeof(double), cmpd);
	qsort(sand, 9, sizeof(double), cmpd);
	print_message("overhead: bare /bin/true %.2f ms, sandboxed %.2f ms (median of 9)\n",
		      bare[4] * 1e3, sand[4] * 1e3);
}

/* ---------------------------------------------------------------- OCI */

struct memtar {
	struct archive *a;
	void *buf;
	size_t cap, used;
};

static void mt_open(struct memtar *m, int gzip)
{
	m->cap = 8u << 20;
	m->buf = malloc(m->cap);
	assert_non_null(m->buf);
	m->a = archive_write_new();
	archive_write_set_format_pax_restricted(m->a);
	if (gzip)
		archive_write_add_filter_gzip(m->a);
	archive_write_set_bytes_in_last_block(m->a, 1);
	assert_int_equal(archive_write_open_memory(m->a, m->buf, m->cap, &m->used), ARCHIVE_OK);
}

static void mt_add(struct memtar *m, const char *name, int type, int mode, const void *data,
		   size_t len, const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, (mode_t)mode);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	if (link)
		archive_entry_set_symlink(e, link);
	assert_int_equal(archive_write_header(m->a, e), ARCHIVE_OK);
	if (type == AE_IFREG && len)
		assert_int_equal(archive_write_data(m->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void mt_file(struct memtar *m, const char *name, const char *s)
{
	mt_add(m, name, AE_IFREG, 0644, s, strlen(s), NULL);
}

static void mt_close(struct memtar *m)
{
	assert_int_equal(archive_write_close(m->a), ARCHIVE_OK);
	archive_write_free(m->a);
}

static void layer1(struct memtar *m)
{
	char *bb = NULL;
	size_t bl = 0;
	struct bia_ctx c;
	bia_ctx_init(&c);
	assert_int_equal(bia_read_file(&c, "/bin/busybox", 8u << 20, &bb, &bl), 0);
	mt_open(m, 0);
	mt_add(m, "bin", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_add(m, "bin/busybox", AE_IFREG, 0755, bb, bl, NULL);
	mt_add(m, "bin/sh", AE_IFLNK, 0777, NULL, 0, "busybox");
	{ /* a hard link, as real layers have */
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, "bin/ash");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_hardlink(e, "bin/busybox");
		assert_int_equal(archive_write_header(m->a, e), ARCHIVE_OK);
		archive_entry_free(e);
	}
	mt_add(m, "etc", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_file(m, "etc/gone.txt", "gone\n");
	mt_add(m, "opq", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_file(m, "opq/a.txt", "a\n");
	mt_file(m, "opq/b.txt", "b\n");
	mt_file(m, "keep.txt", "keep\n");
	mt_add(m, "suid", AE_IFREG, 04755, "x", 1, NULL);
	mt_add(m, "work", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_close(m);
	free(bb);
}

static void layer2(struct memtar *m, int gzip)
{
	mt_open(m, gzip);
	mt_file(m, "etc/.wh.gone.txt", "");
	mt_add(m, "opq", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_file(m, "opq/c.txt", "c\n"); /* before the marker: must survive it */
	mt_file(m, "opq/.wh..wh..opq", "");
	mt_file(m, "./only-in-archive.txt", "hello from the image\n");
	mt_close(m);
}

/* The image config, with the layers' diff_ids (printf format: %s). */
static const char *CONFIG_FMT =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":"
	"[\"/bin/busybox\",\"sh\"],\"Cmd\":[\"-c\",\"echo default\"],\"Env\":[\"PATH=/bin\","
	"\"FOO=bar baz\"],\"WorkingDir\":\"/work\"},\"rootfs\":{\"type\":\"layers\","
	"\"diff_ids\":[%s]}}";

/* sha256 of a layer's uncompressed tar (its diff_id). */
static void layer_diff_id(const struct memtar *m, char hex[BIA_SHA256_HEX])
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	assert_int_equal(archive_read_open_memory(a, m->buf, m->used), ARCHIVE_OK);
	struct archive_entry *e;
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	struct bia_sha256 h;
	bia_sha256_init(&h);
	char buf[65536];
	la_ssize_t n;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		bia_sha256_update(&h, buf, (size_t)n);
	assert_true(n == 0);
	archive_read_free(a);
	bia_sha256_final(&h, hex);
}

/* The config for these layers (malloc'd). */
static char *config_for(const struct memtar *layers, int nl)
{
	char ids[1024] = "", hex[BIA_SHA256_HEX];
	size_t k = 0;
	for (int i = 0; i < nl; i++) {
		layer_diff_id(&layers[i], hex);
		k += (size_t)snprintf(ids + k, sizeof(ids) - k, "%s\"sha256:%s\"", i ? "," : "", hex);
	}
	char *cfg = malloc(2048);
	assert_non_null(cfg);
	snprintf(cfg, 2048, CONFIG_FMT, ids);
	return cfg;
}

static void outer_add(struct archive *a, const char *name, const void *d, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, d, n), (la_ssize_t)n);
	archive_entry_free(e);
}

static void blob(struct archive *a, const void *d, size_t n, char hex[BIA_SHA256_HEX])
{
	bia_sha256_hex(d, n, hex);
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	outer_add(a, name, d, n);
}

/* Write an OCI layout (oci=1) or docker-save (oci=0) archive of the given
 * layers with the given config text. */
static void write_image_cfg(const char *path, int oci, struct memtar *layers, int nl,
			    const char *CONFIG, char cfghex[BIA_SHA256_HEX])
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	char lh[4][BIA_SHA256_HEX];
	if (oci) {
		outer_add(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
		for (int i = 0; i < nl; i++)
			blob(a, layers[i].buf, layers[i].used, lh[i]);
		blob(a, CONFIG, strlen(CONFIG), cfghex);
		char man[2048], mh[BIA_SHA256_HEX];
		int k = snprintf(man, sizeof(man),
				 "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
				 "vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu},"
				 "\"layers\":[",
				 cfghex, strlen(CONFIG));
		for (int i = 0; i < nl; i++)
			k += snprintf(man + k, sizeof(man) - (size_t)k,
				      "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
				      "\"digest\":\"sha256:%s\",\"size\":%zu}",
				      i ? "," : "", lh[i], layers[i].used);
		k += snprintf(man + k, sizeof(man) - (size_t)k, "]}");
		blob(a, man, (size_t)k, mh);
		char idx[512];
		k = snprintf(idx, sizeof(idx),
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
			     "vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu}]}",
			     mh, strlen(man));
		outer_add(a, "index.json", idx, (size_t)k);
	} else {
		bia_sha256_hex(CONFIG, strlen(CONFIG), cfghex);
		char name[128], man[1024];
		int k = snprintf(man, sizeof(man), "[{\"Config\":\"%s.json\",\"RepoTags\":[\"t:1\"],\"Layers\":[", cfghex);
		for (int i = 0; i < nl; i++) {
			snprintf(name, sizeof(name), "layer%d/layer.tar", i);
			outer_add(a, name, layers[i].buf, layers[i].used);
			k += snprintf(man + k, sizeof(man) - (size_t)k, "%s\"%s\"", i ? "," : "", name);
		}
		k += snprintf(man + k, sizeof(man) - (size_t)k, "]}]");
		snprintf(name, sizeof(name), "%s.json", cfghex);
		outer_add(a, name, CONFIG, strlen(CONFIG));
		outer_add(a, "manifest.json", man, (size_t)k);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* The same, with the config that lists these layers' diff_ids. */
static void write_image(const char *path, int oci, struct memtar *layers, int nl,
			char cfghex[BIA_SHA256_HEX])
{
	char *cfg = config_for(layers, nl);
	write_image_cfg(path, oci, layers, nl, cfg, cfghex);
	free(cfg);
}

static void check_image(struct fx *f, const char *archive, const char *cfghex)
{
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_oci_image img;
	int rc = bia_oci_unpack(&c, archive, f->envs, &img);
	if (rc)
		fail_msg("unpack: %s", c.msg);
	assert_string_equal(img.digest, cfghex);
	assert_string_equal(img.workdir, "/work");
	assert_string_equal(img.entrypoint[0], "/bin/busybox");
	assert_string_equal(img.entrypoint[1], "sh");
	assert_null(img.entrypoint[2]);
	assert_string_equal(img.env[1], "FOO=bar baz");
	assert_string_equal(img.cmd[0], "-c");
	char p[600];
	snprintf(p, sizeof(p), "%s/etc/gone.txt", img.rootfs);
	assert_int_not_equal(access(p, F_OK), 0); /* whiteout */
	snprintf(p, sizeof(p), "%s/opq/a.txt", img.rootfs);
	assert_int_not_equal(access(p, F_OK), 0); /* opaque dir */
	snprintf(p, sizeof(p), "%s/opq/c.txt", img.rootfs);
	assert_true(bia_is_file(p));
	snprintf(p, sizeof(p), "%s/keep.txt", img.rootfs);
	assert_true(bia_is_file(p));
	struct stat sst;
	snprintf(p, sizeof(p), "%s/suid", img.rootfs);
	assert_int_equal(stat(p, &sst), 0);
	assert_int_equal(sst.st_mode & 07777, 0755); /* setuid bit dropped */
	if (have_bwrap()) {
		snprintf(p, sizeof(p), "%s/bin/ash", img.rootfs);
		assert_true(bia_is_file(p));
		char *argv[] = {"/bin/ash", "-c",
				"cat /only-in-archive.txt; echo \"$FOO\"; pwd; ls /opq; "
				"ls /usr 2>&1 | head -1",
				NULL};
		struct bia_exec_spec s;
		spec_for(f, &s, argv);
		s.rootfs = img.rootfs;
		s.env = img.env;
		s.workdir = img.workdir;
		struct bia_exec_result r;
		lseek(f->logfd, 0, SEEK_SET);
		assert_int_equal(ftruncate(f->logfd, 0), 0);
		rc = bia_exec_run(&c, &s, &r);
		if (rc)
			fail_msg("run in image: %s", c.msg);
		assert_int_equal(r.status, BIA_EXEC_OK);
		char *log = slurp(f->log);
		assert_non_null(strstr(log, "Z hello from the image\n"));
		assert_non_null(strstr(log, "Z bar baz\n"));
		assert_non_null(strstr(log, "Z /work\n"));
		assert_non_null(strstr(log, "Z c.txt\n"));
		assert_null(strstr(log, "Z a.txt\n"));
		assert_non_null(strstr(log, "No such file")); /* no host /usr in an image */
		free(log);
	}
	/* a second unpack finds the marker and does nothing */
	struct bia_oci_image again;
	assert_int_equal(bia_oci_unpack(&c, archive, f->envs, &again), 0);
	assert_string_equal(again.rootfs, img.rootfs);
	bia_oci_image_release(&again);
	bia_oci_image_release(&img);
}

static void test_oci_layout(void **state)
{
	struct fx *f = *state;
	struct memtar l[2];
	layer1(&l[0]);
	layer2(&l[1], 1); /* gzip layer */
	char path[400], hex[BIA_SHA256_HEX];
	snprintf(path, sizeof(path), "%s/oci.tar", f->root);
	write_image(path, 1, l, 2, hex);
	free(l[0].buf);
	free(l[1].buf);
	check_image(f, path, hex);
}

static void test_docker_save(void **state)
{
	struct fx *f = *state;
	struct memtar l[2];
	layer1(&l[0]);
	layer2(&l[1], 0);
	char path[400], hex[BIA_SHA256_HEX];
	snprintf(path, sizeof(path), "%s/docker.tar", f->root);
	write_image(path, 0, l, 2, hex);
	free(l[0].buf);
	free(l[1].buf);
	check_image(f, path, hex);
}

static int envs_clean(const char *envs)
{
	DIR *d = opendir(envs);
	if (!d)
		return 1;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n == 0;
}

static void test_oci_malicious(void **state)
{
	struct fx *f = *state;
	char outside[400], abs_target[500], path[400], hex[BIA_SHA256_HEX];
	snprintf(outside, sizeof(outside), "%s/outside", f->root);
	mkdir(outside, 0755);
	snprintf(abs_target, sizeof(abs_target), "%s/abs-escape", outside);
	for (int kind = 0; kind < 6; kind++) {
		struct memtar l;
		mt_open(&l, 0);
		mt_file(&l, "fine.txt", "fine\n");
		switch (kind) {
		case 0:
			mt_file(&l, "../escape", "x");
			mt_file(&l, "a/../../../escape", "x");
			break;
		case 1:
			mt_file(&l, abs_target, "x");
			break;
		case 2:
			mt_add(&l, "link", AE_IFLNK, 0777, NULL, 0, outside);
			mt_file(&l, "link/pwned", "x");
			break;
		case 3:
			mt_add(&l, "rel", AE_IFLNK, 0777, NULL, 0, "../../../../../../../../..");
			mt_file(&l, "rel/tmp/pwned", "x");
			break;
		case 4: /* a whiteout through a symlink must not delete outside */
			mt_add(&l, "link", AE_IFLNK, 0777, NULL, 0, outside);
			mt_file(&l, "link/.wh.keepme", "");
			break;
		case 5: { /* a hard link to a host file through a symlink */
			mt_add(&l, "link", AE_IFLNK, 0777, NULL, 0, outside);
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname(e, "hard");
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, "link/keepme");
			assert_int_equal(archive_write_header(l.a, e), ARCHIVE_OK);
			archive_entry_free(e);
			break;
		}
		}
		mt_close(&l);
		snprintf(path, sizeof(path), "%s/bad%d.tar", f->root, kind);
		write_image(path, kind % 2, &l, 1, hex);
		free(l.buf);
		char keep[500];
		snprintf(keep, sizeof(keep), "%s/keepme", outside);
		put(keep, "k");
		struct bia_ctx c;
		bia_ctx_init(&c);
		struct bia_oci_image img;
		int rc = bia_oci_unpack(&c, path, f->envs, &img);
		print_message("malicious archive %d: rc %d: %s\n", kind, rc, c.msg);
		assert_int_not_equal(rc, 0);
		assert_int_equal(rc, BIA_EPERM);
		assert_true(envs_clean(f->envs));
		char p[600];
		snprintf(p, sizeof(p), "%s/escape", f->root);
		assert_int_not_equal(access(p, F_OK), 0);
		snprintf(p, sizeof(p), "%s/envs/escape", f->root);
		assert_int_not_equal(access(p, F_OK), 0);
		assert_int_not_equal(access(abs_target, F_OK), 0);
		snprintf(p, sizeof(p), "%s/pwned", outside);
		assert_int_not_equal(access(p, F_OK), 0);
		assert_int_not_equal(access("/tmp/pwned", F_OK), 0);
		assert_true(bia_is_file(keep));
	}
}

static void test_oci_limits_and_garbage(void **state)
{
	struct fx *f = *state;
	struct memtar l[2];
	layer1(&l[0]);
	layer2(&l[1], 0);
	char path[400], hex[BIA_SHA256_HEX];
	snprintf(path, sizeof(path), "%s/img.tar", f->root);
	write_image(path, 1, l, 2, hex);
	free(l[0].buf);
	free(l[1].buf);
	struct bia_ctx c;
	bia_ctx_init(&c);
	struct bia_oci_image img;
	struct bia_oci_limits lim = {1000, 0};
	assert_int_equal(bia_oci_unpack_limits(&c, path, f->envs, &lim, &img), BIA_ELIMIT);
	assert_non_null(strstr(c.msg, "more than 1000 bytes"));
	lim = (struct bia_oci_limits){0, 3};
	assert_int_equal(bia_oci_unpack_limits(&c, path, f->envs, &lim, &img), BIA_ELIMIT);
	assert_non_null(strstr(c.msg, "more than 3 files"));
	assert_true(envs_clean(f->envs));
	/* not an image */
	snprintf(path, sizeof(path), "%s/junk.tar", f->root);
	put(path, "this is not a tar file");
	assert_int_not_equal(bia_oci_unpack(&c, path, f->envs, &img), 0);
	struct memtar e;
	mt_open(&e, 0);
	mt_file(&e, "hello.txt", "x");
	mt_close(&e);
	FILE *fp = fopen(path, "wb");
	fwrite(e.buf, 1, e.used, fp);
	fclose(fp);
	free(e.buf);
	bia_ctx_init(&c);
	assert_int_equal(bia_oci_unpack(&c, path, f->envs, &img), BIA_EFORMAT);
	assert_non_null(strstr(c.msg, "neither an OCI layout"));
}

/* A layer 2 that replaces the image's file with the attacker's. */
static void layer2_poison(struct memtar *m, int gzip)
{
	mt_open(m, gzip);
	mt_file(m, "etc/.wh.gone.txt", "");
	mt_add(m, "opq", AE_IFDIR, 0755, NULL, 0, NULL);
	mt_file(m, "opq/c.txt", "c\n");
	mt_file(m, "opq/.wh..wh..opq", "");
	mt_file(m, "./only-in-archive.txt", "POISONED by another archive\n");
	mt_close(m);
}

/* An OCI archive whose manifest names layer 2 by the legitimate blob's
 * digest while the blob stored under that name holds other bytes. */
static void write_lying_oci(const char *path, struct memtar *legit, struct memtar *poison,
			    const char *cfg)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	char lh[2][BIA_SHA256_HEX], cfghex[BIA_SHA256_HEX], name[128];
	blob(a, legit[0].buf, legit[0].used, lh[0]);
	bia_sha256_hex(legit[1].buf, legit[1].used, lh[1]);
	snprintf(name, sizeof(name), "blobs/sha256/%s", lh[1]);
	outer_add(a, name, poison->buf, poison->used); /* the lie */
	blob(a, cfg, strlen(cfg), cfghex);
	char man[2048], mh[BIA_SHA256_HEX], idx[512];
	int k = snprintf(man, sizeof(man),
			 "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:%s\",\"size\":%zu},"
			 "\"layers\":[{\"digest\":\"sha256:%s\",\"size\":%zu},"
			 "{\"digest\":\"sha256:%s\",\"size\":%zu}]}",
			 cfghex, strlen(cfg), lh[0], legit[0].used, lh[1], legit[1].used);
	blob(a, man, (size_t)k, mh);
	k = snprintf(idx, sizeof(idx),
		     "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:%s\",\"size\":%d}]}",
		     mh, k);
	outer_add(a, "index.json", idx, (size_t)k);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* The unpacked-image cache cannot be poisoned: an archive that ships an
 * image's config with other layers is refused (docker save and OCI, by
 * diff_id and by blob digest), leaves nothing in the cache, and the
 * legitimate archive unpacked afterwards runs its own files. */
static void test_oci_poison(void **state)
{
	struct fx *f = *state;
	struct memtar legit[2], poison[2];
	layer1(&legit[0]);
	layer2(&legit[1], 1);
	layer1(&poison[0]);
	layer2_poison(&poison[1], 1);
	char *cfg = config_for(legit, 2);
	char path[400], hex[BIA_SHA256_HEX], legit_hex[BIA_SHA256_HEX];
	struct bia_ctx c;
	struct bia_oci_image img;
	for (int oci = 0; oci < 2; oci++) {
		/* same config (so the same image digest), other layer 2 */
		snprintf(path, sizeof(path), "%s/poison%d.tar", f->root, oci);
		write_image_cfg(path, oci, poison, 2, cfg, hex);
		bia_ctx_init(&c);
		assert_int_equal(bia_oci_unpack(&c, path, f->envs, &img), BIA_ECORRUPT);
		print_message("poison (%s): %s\n", oci ? "OCI" : "docker save", c.msg);
		assert_non_null(strstr(c.msg, "rootfs.diff_ids"));
		assert_true(envs_clean(f->envs));
	}
	/* an OCI manifest naming the legitimate blob digest for other bytes */
	snprintf(path, sizeof(path), "%s/lying.tar", f->root);
	write_lying_oci(path, legit, &poison[1], cfg);
	bia_ctx_init(&c);
	assert_int_equal(bia_oci_unpack(&c, path, f->envs, &img), BIA_ECORRUPT);
	print_message("lying manifest: %s\n", c.msg);
	assert_non_null(strstr(c.msg, "its manifest names"));
	assert_true(envs_clean(f->envs));
	/* a cache entry left by an unpack that did not verify (an older
	 * biaflows: the old marker) is not trusted */
	bia_sha256_hex(cfg, strlen(cfg), legit_hex);
	char p[600];
	snprintf(p, sizeof(p), "%s/%s/rootfs", f->envs, legit_hex);
	struct bia_ctx mc;
	bia_ctx_init(&mc);
	assert_int_equal(bia_mkdir_p(&mc, p), 0);
	snprintf(p, sizeof(p), "%s/%s/rootfs/only-in-archive.txt", f->envs, legit_hex);
	put(p, "POISONED in the cache\n");
	snprintf(p, sizeof(p), "%s/%s/.biaflows-complete", f->envs, legit_hex);
	put(p, legit_hex);
	/* the legitimate archive: unpacked, and it runs its own files */
	snprintf(path, sizeof(path), "%s/legit.tar", f->root);
	write_image(path, 1, legit, 2, hex);
	assert_string_equal(hex, legit_hex);
	check_image(f, path, hex);
	snprintf(p, sizeof(p), "%s/%s/rootfs/only-in-archive.txt", f->envs, legit_hex);
	char *got = slurp(p);
	assert_string_equal(got, "hello from the image\n");
	free(got);
	/* and a poison archive after it neither fails the cache nor changes it */
	snprintf(path, sizeof(path), "%s/poison0.tar", f->root);
	bia_ctx_init(&c);
	int rc = bia_oci_unpack(&c, path, f->envs, &img);
	if (rc == 0)
		bia_oci_image_release(&img);
	got = slurp(p);
	assert_string_equal(got, "hello from the image\n");
	free(got);
	free(cfg);
	for (int i = 0; i < 2; i++) {
		free(legit[i].buf);
		free(poison[i].buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_workdir_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_outside_and_remount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_invisible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_host_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seccomp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_bomb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overhead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_malicious, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_limits_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_poison, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
