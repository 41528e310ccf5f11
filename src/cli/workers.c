/* Workers and waiting for runs, as the CLI does them: a worker is a
 * detached `biaflows worker` process; waiting shows progress on stderr.
 * The hooks of benchmarks (src/bench) are these.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "bench/bench.h"
#include "runs/runs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Start `biaflows --instance DIR worker` detached when runs are queued and
 * a worker slot is free. */
int cli_ensure_worker(struct bia_cli *cli)
{
	int slot;
	int fd = bia_worker_lock_any(&cli->ctx, &cli->inst, &slot);
	if (fd == -2)
		return cli->ctx.rc;
	if (fd == -1)
		return 0; /* every slot has a worker draining the queue */
	close(fd);
	char logp[BIA_PATH_MAX], runs[BIA_PATH_MAX];
	snprintf(runs, sizeof(runs), "%s/runs", cli->inst.root);
	if (bia_mkdir_p(&cli->ctx, runs))
		return cli->ctx.rc;
	snprintf(logp, sizeof(logp), "%s/worker.log", runs);
	pid_t pid = fork();
	if (pid < 0)
		return bia_fail(&cli->ctx, BIA_EIO, "cannot start a worker: fork failed");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDONLY);
		int lg = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (nul >= 0)
			dup2(nul, 0);
		if (lg >= 0) {
			dup2(lg, 1);
			dup2(lg, 2);
		}
		for (int k = 3; k < 1024; k++)
			close(k);
		execl("/proc/self/exe", "biaflows", "--instance", cli->inst.root, "worker",
		      (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}

/* Runs whose worker died (gone or a zombie, its slot free) are recovered
 * by any command that reads runs, not only by the next worker: they are
 * marked failed (or requeued, with a worker started for them), so `runs`
 * never shows a dead worker's run as running or ingesting. A dead
 * worker's SLURM job goes on: a worker is started to re-attach to it. */
void cli_recover_gone(struct bia_cli *cli)
{
	struct bia_ctx c;
	bia_ctx_init(&c);
	size_t n = 0;
	if (bia_runs_recover(&c, &cli->inst, -1, &n) == 0 && n) {
		cli_msg("warning: %zu run(s) of a worker that died recovered (%s)", n,
			bia_runs_requeue_policy(&cli->inst) ? "requeued or failed" : "marked failed");
		if (bia_runs_requeue_policy(&cli->inst))
			(void)cli_ensure_worker(cli);
	}
	bia_ctx_clear(&c);
	if (bia_runs_count_adoptable(&c, &cli->inst, &n) == 0 && n) {
		cli_msg("warning: %zu run(s) of a worker that died have cluster jobs: a worker "
			"re-attaches",
			n);
		(void)cli_ensure_worker(cli);
	}
}

/* Progress of several runs on stderr: a line when one ends (on a
 * terminal, an updated line every second). */
struct wait_state {
	struct bia_cli *cli;
	struct timespec t0;
	int tty;
};

static void wait_progress(void *user, size_t done, size_t n, const char *cur, int changed)
{
	struct wait_state *w = user;
	if (n < 2 || (!changed && !w->tty))
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%s%zu/%zu runs done%s%s, %ld s elapsed%s", w->tty ? "\r" : "", done, n,
		cur[0] ? "; " : "", cur, (long)(t1.tv_sec - w->t0.tv_sec), w->tty ? "   " : "\n");
	if (w->tty && done == n)
		fputc('\n', stderr);
}

/* A worker that died leaves its slot free: starting another recovers its
 * runs. */
static int wait_every_2s(void *user, struct bia_ctx *ctx)
{
	struct wait_state *w = user;
	(void)ctx;
	return cli_ensure_worker(w->cli);
}

int cli_wait_runs(struct bia_cli *cli, const int64_t *ids, size_t n)
{
	struct wait_state w = {cli, {0, 0}, isatty(2)};
	clock_gettime(CLOCK_MONOTONIC, &w.t0);
	struct bia_wait_hooks h = {wait_progress, wait_every_2s, &w};
	return bia_runs_wait(&cli->ctx, &cli->inst, ids, n, &h);
}

static int hook_start(void *user, struct bia_ctx *ctx)
{
	(void)ctx;
	return cli_ensure_worker(user);
}

static int hook_wait(void *user, struct bia_ctx *ctx, const int64_t *ids, size_t n)
{
	(void)ctx;
	return cli_wait_runs(user, ids, n);
}

/* Queued runs as plain lines, the rest as messages. */
static void hook_note(void *user, enum bia_bench_note kind, const char *line)
{
	(void)user;
	if (kind == BIA_BENCH_QUEUED)
		fprintf(stderr, "%s\n", line);
	else
		cli_msg("%s", line);
}

void cli_bench_hooks(struct bia_cli *cli, struct bia_bench_hooks *h)
{
	h->start_worker = hook_start;
	h->wait = hook_wait;
	h->note = hook_note;
	h->user = cli;
}
