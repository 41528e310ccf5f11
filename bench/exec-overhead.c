/* Sandbox overhead (DESIGN.md §11: under 20 ms): median of 50 bare
 * fork/exec of /bin/true against bia_exec_run of /bin/true, without and
 * with the data folders (the /data/out tmpfs mount and copy-out).
 *   build/bench/exec-overhead [runs]
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	if (n < 1 || n > 100000)
		n = 50;
	double *bare = calloc((size_t)n, sizeof(double));
	double *sand = calloc((size_t)n, sizeof(double));
	double *full = calloc((size_t)n, sizeof(double));
	char dir[] = "/tmp/bia-bench-exec-XXXXXX";
	if (!bare || !sand || !full || !mkdtemp(dir)) {
		fprintf(stderr, "exec-overhead: setup failed\n");
		return 1;
	}
	char app[64], in[64], out[64];
	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(app, 0755);
	mkdir(in, 0755);
	mkdir(out, 0755);
	char *targv[] = {"/bin/true", NULL};
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		double t = mono();
		pid_t pid = fork();
		if (pid == 0) {
			execv(targv[0], targv);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		bare[i] = mono() - t;

		struct bia_exec_spec s;
		struct bia_exec_result r;
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		bia_exec_spec_init(&s);
		s.argv = targv;
		t = mono();
		if (bia_exec_run(&ctx, &s, &r) || r.status != BIA_EXEC_OK) {
			fprintf(stderr, "exec-overhead: %s %s\n", ctx.msg, r.reason);
			rc = 1;
			break;
		}
		sand[i] = mono() - t;

		s.app_dir = app;
		s.in_dir = in;
		s.out_dir = out;
		s.limits.max_procs = 64;
		s.limits.memory_bytes = UINT64_C(1) << 30;
		s.limits.wall_seconds = 60;
		t = mono();
		if (bia_exec_run(&ctx, &s, &r) || r.status != BIA_EXEC_OK) {
			fprintf(stderr, "exec-overhead: %s %s\n", ctx.msg, r.reason);
			rc = 1;
			break;
		}
		full[i] = mono() - t;
	}
	if (!rc) {
		double b = median(bare, n), s1 = median(sand, n), s2 = median(full, n);
		printf("exec-overhead (median of %d, %s)\n", n, geteuid() == 0 ? "root" : "not root");
		printf("  bare fork/exec /bin/true          %7.2f ms\n", b * 1e3);
		printf("  bia_exec_run /bin/true            %7.2f ms  (+%.2f ms)\n", s1 * 1e3,
		       (s1 - b) * 1e3);
		printf("  ... with folders, cgroups, limits %7.2f ms  (+%.2f ms)\n", s2 * 1e3,
		       (s2 - b) * 1e3);
		printf("  budget (DESIGN.md 11): overhead < 20 ms: %s\n",
		       s2 - b < 0.020 ? "met" : "NOT met");
	}
	struct bia_ctx c;
	bia_ctx_init(&c);
	bia_rm_rf(&c, dir);
	free(bare);
	free(sand);
	free(full);
	return rc;
}
