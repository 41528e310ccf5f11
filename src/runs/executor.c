/* Executors behind one interface (submit / poll / cancel / attach), and the
 * local one: the bubblewrap sandbox of src/exec, run by a thread of the
 * worker. A local job id names the worker process across pid reuse
 * ("local:HOST:PID:STARTTIME:SEQ"): the sandbox dies with it
 * (--die-with-parent), so another process sees the job gone when that
 * process is. docs/runs.md "Executors".
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOCAL_JOBS 64

struct local_job {
	int used;
	char id[BIA_JOB_ID_MAX];
	pthread_t thread;
	struct bia_exec_spec spec; /* a copy, with our cancel pipe */
	int cancel_r, cancel_w;
	int done;		   /* the thread finished (under mu) */
	int rc;
	struct bia_ctx ctx;	   /* the thread's errors */
	struct bia_exec_result res;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct local_job jobs[MAX_LOCAL_JOBS];
static uint64_t seq;

static void *job_main(void *arg)
{
	struct local_job *j = arg;
	int rc = bia_exec_run(&j->ctx, &j->spec, &j->res);
	pthread_mutex_lock(&mu);
	j->rc = rc;
	j->done = 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* "local:HOST:PID:START:SEQ" -> pid and start time. */
static int parse_job(const char *job, long *ppid, uint64_t *pstart)
{
	if (strncmp(job, "local:", 6))
		return -1;
	const char *p = strchr(job + 6, ':');
	if (!p)
		return -1;
	char *end;
	long pid = strtol(p + 1, &end, 10);
	if (*end != ':' || pid <= 0)
		return -1;
	uint64_t start = strtoull(end + 1, &end, 10);
	if (*end != ':')
		return -1;
	*ppid = pid;
	*pstart = start;
	return 0;
}

static struct local_job *find_job(const char *job)
{
	for (int i = 0; i < MAX_LOCAL_JOBS; i++)
		if (jobs[i].used && !strcmp(jobs[i].id, job))
			return &jobs[i];
	return NULL;
}

static int local_submit(struct bia_ctx *ctx, const struct bia_exec_spec *spec,
			const struct bia_job_opts *o, char job[BIA_JOB_ID_MAX], char *host,
			size_t hostsz)
{
	(void)o;
	char h[256] = "";
	gethostname(h, sizeof(h) - 1);
	h[strcspn(h, ":")] = '\0';
	pthread_mutex_lock(&mu);
	struct local_job *j = NULL;
	for (int i = 0; i < MAX_LOCAL_JOBS && !j; i++)
		if (!jobs[i].used)
			j = &jobs[i];
	if (!j) {
		pthread_mutex_unlock(&mu);
		return bia_fail(ctx, BIA_EBUSY, "local executor: %d jobs already running",
				MAX_LOCAL_JOBS);
	}
	memset(j, 0, sizeof(*j));
	j->used = 1;
	snprintf(j->id, sizeof(j->id), "local:%s:%ld:%" PRIu64 ":%" PRIu64, h, (long)getpid(),
		 bia_pid_start_time((long)getpid()), ++seq);
	pthread_mutex_unlock(&mu);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		j->used = 0;
		return bia_fail(ctx, BIA_EIO, "local executor: pipe: %s", strerror(errno));
	}
	j->cancel_r = pfd[0];
	j->cancel_w = pfd[1];
	j->spec = *spec;
	j->spec.cancel_fd = pfd[0];
	bia_ctx_init(&j->ctx);
	j->ctx.max_pixels = ctx->max_pixels;
	if (pthread_create(&j->thread, NULL, job_main, j)) {
		close(pfd[0]);
		close(pfd[1]);
		pthread_mutex_lock(&mu);
		j->used = 0;
		pthread_mutex_unlock(&mu);
		return bia_fail(ctx, BIA_EIO, "local executor: cannot start a thread");
	}
	snprintf(job, BIA_JOB_ID_MAX, "%s", j->id);
	if (host)
		snprintf(host, hostsz, "%s", h);
	return 0;
}

static int local_poll(struct bia_ctx *ctx, const char *job, enum bia_job_state *pstate)
{
	long pid;
	uint64_t start;
	if (parse_job(job, &pid, &start))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a local job id", job);
	if (pid == (long)getpid()) {
		pthread_mutex_lock(&mu);
		struct local_job *j = find_job(job);
		*pstate = !j ? BIA_JOB_GONE : j->done ? BIA_JOB_ENDED : BIA_JOB_ACTIVE;
		pthread_mutex_unlock(&mu);
		return 0;
	}
	/* another process's job lives while that process does */
	*pstate = bia_pid_alive(pid) && bia_pid_start_time(pid) == start ? BIA_JOB_ACTIVE
									  : BIA_JOB_GONE;
	return 0;
}

static int local_cancel(struct bia_ctx *ctx, const char *job)
{
	pthread_mutex_lock(&mu);
	struct local_job *j = find_job(job);
	int fd = j ? j->cancel_w : -1;
	pthread_mutex_unlock(&mu);
	if (fd < 0)
		return bia_fail(ctx, BIA_ENOENT,
				"local job '%s' is not run by this process (its worker cancels it)",
				job);
	(void)!write(fd, "c", 1);
	return 0;
}

static int local_attach(struct bia_ctx *ctx, const char *job, const struct bia_exec_spec *spec,
			const struct bia_job_opts *o, struct bia_exec_result *res)
{
	(void)spec;
	(void)o;
	pthread_mutex_lock(&mu);
	struct local_job *j = find_job(job);
	pthread_mutex_unlock(&mu);
	if (!j)
		return bia_fail(ctx, BIA_ENOENT, "local job '%s' is not run by this process", job);
	pthread_join(j->thread, NULL);
	*res = j->res;
	int rc = j->rc;
	if (rc)
		bia_fail(ctx, j->ctx.rc, "%s", j->ctx.msg);
	close(j->cancel_r);
	close(j->cancel_w);
	pthread_mutex_lock(&mu);
	j->used = 0;
	pthread_mutex_unlock(&mu);
	return rc;
}

const struct bia_executor bia_executor_local = {
	.name = "local",
	.remote = 0,
	.submit = local_submit,
	.poll = local_poll,
	.cancel = local_cancel,
	.attach = local_attach,
};

static const struct bia_executor *const executors[] = {&bia_executor_local,
							&bia_executor_slurm};

const struct bia_executor *bia_executor_find(const char *name)
{
	for (size_t i = 0; i < sizeof(executors) / sizeof(executors[0]); i++)
		if (name && !strcmp(executors[i]->name, name))
			return executors[i];
	return NULL;
}

const char *bia_executor_names(void)
{
	return "local, slurm";
}
