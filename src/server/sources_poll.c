/* The server's poller of trusted workflow sources: one thread, off the
 * request threads, syncs every source whose interval has passed
 * (bia_sources_sync_due; a source being synced by another process is
 * skipped, its lock says so). $BIAFLOWS_SOURCE_INTERVAL (seconds) replaces
 * every source's interval, for tests and demonstrations.
 * SPDX-License-Identifier: MIT */
#include "server/server_priv.h"
#include "workflow/workflow.h"

#include <errno.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srcpoll {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled to stop */
	int stop;	   /* under mu */
	int started;
	int64_t interval;  /* > 0: instead of each source's */
};

static void *poll_main(void *arg)
{
	struct bia_server *srv = arg;
	struct srcpoll *p = srv->srcpoll;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		struct bia_ctx ctx;
		bia_instance_ctx(srv->inst, &ctx);
		int64_t next = 60;
		if (bia_sources_sync_due(&ctx, srv->inst, p->interval, &next))
			bia_warn("%s", ctx.msg); /* recorded on the source too; try again later */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(next < 1 ? 1 : next > 60 ? 60 : next);
		pthread_mutex_lock(&p->mu);
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

void srcpoll_git_hold(int hold)
{
	if (hold)
		git_libgit2_init();
	else
		git_libgit2_shutdown();
}

int srcpoll_start(struct bia_server *srv)
{
	struct srcpoll *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	const char *e = getenv("BIAFLOWS_SOURCE_INTERVAL");
	if (e && *e) {
		char *end;
		long long v = strtoll(e, &end, 10);
		if (*end || v < 1 || v > BIA_SOURCE_MAX_INTERVAL)
			bia_warn("BIAFLOWS_SOURCE_INTERVAL='%s' ignored (1 to %d seconds)", e,
				 BIA_SOURCE_MAX_INTERVAL);
		else
			p->interval = v;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	srv->srcpoll = p;
	if (pthread_create(&p->th, NULL, poll_main, srv))
		return -1;
	p->started = 1;
	return 0;
}

void srcpoll_stop(struct bia_server *srv)
{
	struct srcpoll *p = srv->srcpoll;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->th, NULL); /* a sync in progress finishes (and is recorded) */
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	srv->srcpoll = NULL;
}
