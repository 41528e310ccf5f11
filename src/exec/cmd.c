/* Running a helper program (a container engine, a cluster's commands)
 * with its output captured and a deadline.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

extern char **environ;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bia_find_on_path(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		return 0;
	const char *p = path;
	while (*p) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > 0 && p[0] == '/' && n + strlen(name) + 2 <= outsz) {
			snprintf(out, outsz, "%.*s/%s", (int)n, p, name);
			struct stat st;
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

void bia_cmd_run(char *const argv[], double seconds, struct bia_cmd_result *r)
{
	char *out = r->out;
	size_t outsz = r->outsz;
	memset(r, 0, sizeof(*r));
	r->out = out;
	r->outsz = outsz;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		r->err = errno;
		return;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int e = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pfd[1]);
	if (e) {
		close(pfd[0]);
		r->err = e;
		return;
	}
	r->spawned = 1;
	double deadline = now_s() + seconds;
	size_t n = 0;
	int eof = 0, done = 0;
	while (!done) {
		double left = deadline - now_s();
		if (left <= 0) {
			r->timed_out = 1;
			break;
		}
		if (!eof) {
			struct pollfd p = {pfd[0], POLLIN, 0};
			int tmo = left > 1 ? 1000 : (int)(left * 1000) + 1;
			int pr = poll(&p, 1, tmo);
			if (pr < 0 && errno != EINTR)
				eof = 1;
			if (pr > 0) {
				char buf[4096];
				ssize_t k = read(pfd[0], buf, sizeof(buf));
				if (k <= 0) {
					if (k == 0 || (errno != EINTR && errno != EAGAIN))
						eof = 1;
				} else if (n + 1 < r->outsz) {
					size_t c = (size_t)k < r->outsz - 1 - n
							   ? (size_t)k
							   : r->outsz - 1 - n;
					memcpy(r->out + n, buf, c);
					n += c;
				}
			}
		}
		pid_t w = waitpid(pid, &r->status, WNOHANG);
		if (w == pid)
			done = 1;
		else if (w < 0 && errno != EINTR) {
			r->status = 255 << 8; /* reaped elsewhere: status lost, a failure */
			done = 1;
		} else if (eof) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (r->timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
			;
	} else if (!eof) {
		/* the engine exited: take what is left in the pipe, without
		 * waiting for a grandchild that may still hold it */
		int fl = fcntl(pfd[0], F_GETFL);
		fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
		char buf[4096];
		ssize_t k;
		while ((k = read(pfd[0], buf, sizeof(buf))) > 0 && n + 1 < r->outsz) {
			size_t c = (size_t)k < r->outsz - 1 - n ? (size_t)k
								      : r->outsz - 1 - n;
			memcpy(r->out + n, buf, c);
			n += c;
		}
		kill(-pid, SIGKILL); /* leftovers of the group, if any */
	}
	if (r->outsz)
		r->out[n] = 0;
	r->outlen = n;
	close(pfd[0]);
}

int bia_cmd_exit_code(const struct bia_cmd_result *r)
{
	if (WIFEXITED(r->status))
		return WEXITSTATUS(r->status);
	return WIFSIGNALED(r->status) ? 128 + WTERMSIG(r->status) : -1;
}

