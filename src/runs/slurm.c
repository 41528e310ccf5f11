/* The SLURM executor: a run's sandbox spec goes to a node of a SLURM
 * cluster in a generated batch script (`sbatch --parsable`), which runs
 * `biaflows job-exec DIR` there: the same bubblewrap sandbox as locally.
 * The job's folder (spec, script, log, result) lives in the run's folder,
 * which the nodes share with the workers.
 *
 * A job id is "slurm:CLUSTER:EPOCH:NAME:ID[,ID...]": the cluster, the
 * submit time (seconds), the job name (unique per run attempt) and the
 * cluster's job ids (one per batch of images). State comes from `squeue`,
 * then from `sacct -X -P -n -S <submit time>`, each row checked against the
 * job name as well as the id (SLURM reuses ids). A job found in neither is
 * UNKNOWN, never a success: attach retries, then fails the run with that
 * reason. Success needs the job COMPLETED with exit code 0 *and* the node's
 * result file saying the workflow succeeded. docs/deployment.md "SLURM".
 * SPDX-License-Identifier: MIT */
#include "runs/runs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD_SECONDS 60		  /* one squeue/sacct/sbatch call */
#define SACCT_OUT (1u << 20)	  /* bytes of sacct's answer read */
#define SPEC_FILE_MAX (4u << 20)  /* bytes of a spec file */
#define RESULT_FILE_MAX (64u << 10)
#define TIME_MARGIN 120		  /* seconds of --time beyond the sandbox's limit */

/* ------------------------------------------------------------ settings */

/* Milliseconds between looks at a job; how many looks in a row may find
 * it unknown (SLURM answered, without it) before the run fails; how many
 * may fail to reach SLURM at all (a controller restarting: the job itself
 * may be fine, so this bound is much longer). */
static int poll_ms(void)
{
	const char *e = getenv("BIAFLOWS_SLURM_POLL_MS");
	long v = e ? strtol(e, NULL, 10) : 0;
	return v >= 50 && v <= 600000 ? (int)v : 2000;
}

static int env_tries(const char *name, int dflt)
{
	const char *e = getenv(name);
	long v = e ? strtol(e, NULL, 10) : 0;
	return v >= 1 && v <= 1000000 ? (int)v : dflt;
}

/* -------------------------------------------------------------- job ids */

static int valid_name(const char *s)
{
	if (!*s || strlen(s) >= BIA_JOB_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

int bia__slurm_job_parse(const char *s, struct bia_slurm_job *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(s, "slurm:", 6))
		return -1;
	s += 6;
	const char *c = strchr(s, ':');
	if (!c || c == s || (size_t)(c - s) >= sizeof(out->cluster))
		return -1;
	memcpy(out->cluster, s, (size_t)(c - s));
	char *end;
	errno = 0;
	long long ep = strtoll(c + 1, &end, 10);
	if (errno || end == c + 1 || *end != ':' || ep < 0)
		return -1;
	out->epoch = ep;
	const char *n = end + 1;
	c = strchr(n, ':');
	if (!c || (size_t)(c - n) >= sizeof(out->name))
		return -1;
	memcpy(out->name, n, (size_t)(c - n));
	if (!valid_name(out->name))
		return -1;
	const char *p = c + 1;
	while (*p) {
		if (out->nids == BIA_SLURM_MAX_BATCHES)
			return -1;
		errno = 0;
		long long id = strtoll(p, &end, 10);
		if (errno || end == p || id <= 0 || (*end && *end != ','))
			return -1;
		out->ids[out->nids++] = id;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -1;
	}
	return out->nids ? 0 : -1;
}

static void job_format(const struct bia_slurm_job *j, char out[BIA_JOB_ID_MAX])
{
	int n = snprintf(out, BIA_JOB_ID_MAX, "slurm:%s:%" PRId64 ":%s:", j->cluster, j->epoch,
			 j->name);
	for (size_t i = 0; i < j->nids && n > 0 && n < BIA_JOB_ID_MAX; i++)
		n += snprintf(out + n, BIA_JOB_ID_MAX - (size_t)n, "%s%" PRId64, i ? "," : "",
			      j->ids[i]);
}

/* ------------------------------------------------------ SLURM commands */

/* Run a SLURM command found on PATH; its output into out. Returns its exit
 * code, or -1 with a message on ctx when it could not run. */
static int slurm_cmd(struct bia_ctx *ctx, char **argv, char *out, size_t outsz)
{
	char path[BIA_PATH_MAX];
	if (!bia_find_on_path(argv[0], path, sizeof(path))) {
		bia_fail(ctx, BIA_EUNSUPPORTED,
			 "SLURM executor: '%s' is not on PATH (install slurm-client, or start "
			 "a test cluster with scripts/services up slurm)",
			 argv[0]);
		return -1;
	}
	char *a0 = argv[0];
	argv[0] = path;
	struct bia_cmd_result r = {.out = out, .outsz = outsz};
	bia_cmd_run(argv, CMD_SECONDS, &r);
	argv[0] = a0;
	if (!r.spawned) {
		bia_fail(ctx, BIA_EIO, "SLURM executor: cannot run %s: %s", a0, strerror(r.err));
		return -1;
	}
	if (r.timed_out) {
		bia_fail(ctx, BIA_EIO, "SLURM executor: %s did not answer in %d s", a0,
			 CMD_SECONDS);
		return -1;
	}
	return bia_cmd_exit_code(&r);
}

/* The first line of a command's output, for messages. */
static const char *first_line(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void iso_utc(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int state_is_active(const char *st)
{
	static const char *const ended[] = {"COMPLETED", "FAILED",	   "CANCELLED",
					    "TIMEOUT",	 "OUT_OF_MEMORY", "NODE_FAIL",
					    "PREEMPTED", "BOOT_FAIL",	   "DEADLINE",
					    "REVOKED"};
	for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
		if (!strcmp(st, ended[i]))
			return 0;
	return 1; /* PENDING, RUNNING, COMPLETING, SUSPENDED, REQUEUED, ... */
}

static int id_index(const struct bia_slurm_job *j, int64_t id)
{
	for (size_t i = 0; i < j->nids; i++)
		if (j->ids[i] == id)
			return (int)i;
	return -1;
}

/* Fill info[] from rows "ID|NAME|STATE[|EXIT]" (squeue's or sacct's):
 * only rows of our ids *and* our name count. Later rows win. */
void bia__slurm_rows(const struct bia_slurm_job *j, const char *text, int has_exit,
		     struct bia_slurm_info *info)
{
	const char *line = text;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char row[512];
		if (len < sizeof(row)) {
			memcpy(row, line, len);
			row[len] = '\0';
			char *f[4] = {0};
			char *save = NULL, *t = strtok_r(row, "|", &save);
			for (int k = 0; t && k < 4; k++, t = strtok_r(NULL, "|", &save))
				f[k] = t;
			char *end;
			long long id = f[0] ? strtoll(f[0], &end, 10) : 0;
			int i = f[0] && *end == '\0' && id > 0 ? id_index(j, id) : -1;
			if (i >= 0 && f[1] && !strcmp(f[1], j->name) && f[2]) {
				struct bia_slurm_info *in = &info[i];
				f[2][strcspn(f[2], " +")] = '\0'; /* "CANCELLED by 0" */
				in->found = 1;
				snprintf(in->state, sizeof(in->state), "%s", f[2]);
				in->active = state_is_active(in->state);
				if (has_exit && f[3]) {
					in->exit_code = atoi(f[3]);
					const char *c = strchr(f[3], ':');
					in->exit_signal = c ? atoi(c + 1) : 0;
				}
			}
		}
		line += len + (nl ? 1 : 0);
	}
}

/* What squeue, then sacct, know of the job's ids. Returns an error only
 * when SLURM could not be asked at all. */
static int query(struct bia_ctx *ctx, const struct bia_slurm_job *j,
		 struct bia_slurm_info info[BIA_SLURM_MAX_BATCHES])
{
	memset(info, 0, sizeof(*info) * BIA_SLURM_MAX_BATCHES);
	char *out = malloc(SACCT_OUT);
	if (!out)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	char name_opt[BIA_JOB_NAME_MAX + 8];
	snprintf(name_opt, sizeof(name_opt), "--name=%s", j->name);
	char *sq[] = {"squeue", "-h", "-o", "%i|%j|%T", name_opt, NULL};
	int code = slurm_cmd(ctx, sq, out, SACCT_OUT);
	if (code != 0) {
		if (code > 0)
			bia_fail(ctx, BIA_EIO, "SLURM executor: squeue failed: %s", first_line(out));
		free(out);
		return ctx->rc;
	}
	bia__slurm_rows(j, out, 0, info);
	int need = 0;
	for (size_t i = 0; i < j->nids; i++)
		need |= !info[i].found || !info[i].active;
	if (!need) {
		free(out);
		return 0;
	}
	/* ended or forgotten by squeue: accounting, from the submit time on
	 * (an unbounded sacct could return a years-old job of the same id) */
	char since[24];
	iso_utc(j->epoch - 60, since);
	char *sa[] = {"sacct", "-X", "-P", "-n", "-S", since, name_opt,
		      "-o", "JobIDRaw,JobName,State,ExitCode", NULL, NULL};
	code = slurm_cmd(ctx, sa, out, SACCT_OUT);
	if (code != 0 && strstr(out, "accounting storage is disabled")) {
		/* no slurmdbd: the job-completion log (JobCompType=jobcomp/filetxt) */
		sa[9] = sa[8];
		sa[8] = sa[7];
		sa[7] = "-c";
		code = slurm_cmd(ctx, sa, out, SACCT_OUT);
	}
	if (code != 0) {
		if (code > 0)
			bia_fail(ctx, BIA_EIO, "SLURM executor: sacct failed: %s", first_line(out));
		free(out);
		return ctx->rc;
	}
	struct bia_slurm_info acct[BIA_SLURM_MAX_BATCHES];
	memset(acct, 0, sizeof(acct));
	bia__slurm_rows(j, out, 1, acct);
	for (size_t i = 0; i < j->nids; i++)
		if (acct[i].found && (!info[i].found || !info[i].active || !acct[i].active))
			info[i] = acct[i];
	free(out);
	return 0;
}

enum bia_job_state bia__slurm_state(const struct bia_slurm_job *j,
				    const struct bia_slurm_info *info)
{
	int active = 0, unknown = 0;
	for (size_t i = 0; i < j->nids; i++) {
		active |= info[i].found && info[i].active;
		unknown |= !info[i].found;
	}
	return active ? BIA_JOB_ACTIVE : unknown ? BIA_JOB_UNKNOWN : BIA_JOB_ENDED;
}

/* ---------------------------------------------------------- interface */

static int slurm_poll(struct bia_ctx *ctx, const char *job, enum bia_job_state *pstate)
{
	if (!strncmp(job, "pending:", 8)) {
		/* named, its id never stored: nothing can follow it (its
		 * recovery cancels whatever went out under the name) */
		*pstate = BIA_JOB_GONE;
		return 0;
	}
	struct bia_slurm_job j;
	if (bia__slurm_job_parse(job, &j))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a SLURM job id", job);
	struct bia_slurm_info info[BIA_SLURM_MAX_BATCHES];
	if (query(ctx, &j, info))
		return ctx->rc;
	*pstate = bia__slurm_state(&j, info);
	return 0;
}

static int slurm_cancel(struct bia_ctx *ctx, const char *job)
{
	if (!strncmp(job, "pending:", 8)) {
		/* "pending:NAME:TIME": every job under the name */
		const char *name = job + 8;
		char nm[BIA_JOB_NAME_MAX + 8], out[4096];
		snprintf(nm, sizeof(nm), "--name=%.*s", (int)strcspn(name, ":"), name);
		char *sc[] = {"scancel", nm, NULL};
		int code = slurm_cmd(ctx, sc, out, sizeof(out));
		if (code < 0)
			return ctx->rc;
		if (code)
			return bia_fail(ctx, BIA_EIO, "SLURM executor: scancel failed: %s",
					first_line(out));
		return 0;
	}
	struct bia_slurm_job j;
	if (bia__slurm_job_parse(job, &j))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a SLURM job id", job);
	char *argv[BIA_SLURM_MAX_BATCHES + 2], ids[BIA_SLURM_MAX_BATCHES][24], out[4096];
	argv[0] = "scancel";
	for (size_t i = 0; i < j.nids; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%" PRId64, j.ids[i]);
		argv[i + 1] = ids[i];
	}
	argv[j.nids + 1] = NULL;
	int code = slurm_cmd(ctx, argv, out, sizeof(out));
	if (code < 0)
		return ctx->rc;
	/* an id that already ended is refused: nothing to cancel there */
	if (code && !strstr(out, "Invalid job id") && !strstr(out, "already completing"))
		return bia_fail(ctx, BIA_EIO, "SLURM executor: scancel failed: %s", first_line(out));
	return 0;
}

/* The cluster's name (ClusterName), once per process. */
static void cluster_name(char out[64])
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char name[64];
	pthread_mutex_lock(&mu);
	if (!name[0]) {
		char buf[65536];
		struct bia_ctx c;
		bia_ctx_init(&c);
		char *argv[] = {"scontrol", "show", "config", NULL};
		if (slurm_cmd(&c, argv, buf, sizeof(buf)) == 0) {
			char *p = strstr(buf, "\nClusterName");
			if (p) {
				p = strchr(p, '=');
				if (p) {
					p += strspn(p + 1, " ") + 1;
					size_t n = strcspn(p, " \n:");
					if (n > 0 && n < sizeof(name))
						memcpy(name, p, n);
				}
			}
		}
		if (!name[0])
			snprintf(name, sizeof(name), "cluster");
	}
	memcpy(out, name, 64);
	pthread_mutex_unlock(&mu);
}

/* A path that may go in a batch script's #SBATCH line and command. */
static int script_safe(struct bia_ctx *ctx, const char *what, const char *p)
{
	for (const char *s = p; *s; s++)
		if (*s == '\'' || *s == '%' || *s == '\n' || *s == ' ' || *s == '\t' ||
		    *s == '\\' || *s == '"')
			return bia_fail(ctx, BIA_EINVAL,
					"SLURM executor: %s '%s' has a space, quote, %% or "
					"backslash, which a batch script cannot carry",
					what, p);
	return 0;
}

/* The input files of spec->in_dir grouped by stem, sorted. */
struct stems {
	char (*v)[256];
	size_t n;
};

static int by_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int list_inputs(struct bia_ctx *ctx, const char *dir, struct stems *s)
{
	memset(s, 0, sizeof(*s));
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, BIA_EIO, "cannot read '%s': %s", dir, strerror(errno));
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 256)
			continue;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 64;
			s->v = realloc(s->v, cap * sizeof(*s->v));
			if (!s->v) {
				closedir(d);
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			}
		}
		snprintf(s->v[s->n++], 256, "%s", e->d_name);
	}
	closedir(d);
	qsort(s->v, s->n, sizeof(*s->v), by_name);
	return 0;
}

/* dst: a hard link to src, else a copy. */
static int link_or_copy(struct bia_ctx *ctx, const char *src, const char *dst)
{
	if (link(src, dst) == 0)
		return 0;
	size_t n;
	char *data = NULL;
	if (bia_read_file(ctx, src, (size_t)1 << 40, &data, &n))
		return ctx->rc;
	int rc = bia_write_file_atomic(ctx, dst, data, n);
	free(data);
	return rc;
}

static int write_script(struct bia_ctx *ctx, const struct bia_exec_spec *spec,
			const struct bia_job_opts *o, const char *bdir, const char *program)
{
	char path[BIA_PATH_MAX], body[8192];
	int n = snprintf(body, sizeof(body),
			 "#!/bin/sh\n"
			 "# a BIAFLOWS run's job: the sandboxed workflow, on this node\n"
			 "#SBATCH --job-name=%s\n"
			 "#SBATCH --output=%s/slurm.out\n"
			 "#SBATCH --open-mode=append\n"
			 "#SBATCH --chdir=%s\n"
			 "#SBATCH --nodes=1\n"
			 "#SBATCH --ntasks=1\n"
			 "#SBATCH --cpus-per-task=%" PRId64 "\n",
			 o->name, bdir, bdir, o->cpus > 0 ? o->cpus : 1);
	if (spec->limits.memory_bytes)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "#SBATCH --mem=%" PRIu64 "M\n",
			      (spec->limits.memory_bytes + (1u << 20) - 1) >> 20);
	if (spec->limits.wall_seconds > 0)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "#SBATCH --time=%" PRId64 "\n",
			      ((int64_t)spec->limits.wall_seconds + TIME_MARGIN + 59) / 60);
	if (o->gpus > 0)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "#SBATCH --gres=gpu:%" PRId64 "\n",
			      o->gpus);
	if (o->partition && o->partition[0])
		n += snprintf(body + n, sizeof(body) - (size_t)n, "#SBATCH --partition=%s\n",
			      o->partition);
	n += snprintf(body + n, sizeof(body) - (size_t)n, "exec '%s' job-exec '%s'\n", program,
		      bdir);
	if (n <= 0 || (size_t)n >= sizeof(body))
		return bia_fail(ctx, BIA_ELIMIT, "SLURM executor: batch script too long");
	snprintf(path, sizeof(path), "%s/job.sh", bdir);
	return bia_write_file_atomic(ctx, path, body, (size_t)n);
}

/* One batch's folder: spec.json (in/out replaced when batching), job.sh. */
static int prepare_batch(struct bia_ctx *ctx, const struct bia_exec_spec *spec,
			 const struct bia_job_opts *o, const struct stems *in, size_t from,
			 size_t to, int batched, const char *bdir, const char *program)
{
	struct bia_exec_spec s = *spec;
	char bin[BIA_PATH_MAX], bout[BIA_PATH_MAX];
	snprintf(bin, sizeof(bin), "%s/in", bdir);
	snprintf(bout, sizeof(bout), "%s/out", bdir);
	if (bia_mkdir_p(ctx, bdir))
		return ctx->rc;
	if (batched) {
		if (bia_mkdir_p(ctx, bin) || bia_mkdir_p(ctx, bout))
			return ctx->rc;
		for (size_t i = from; i < to; i++) {
			char src[BIA_PATH_MAX], dst[BIA_PATH_MAX];
			snprintf(src, sizeof(src), "%s/%s", spec->in_dir, in->v[i]);
			snprintf(dst, sizeof(dst), "%s/%s", bin, in->v[i]);
			if (link_or_copy(ctx, src, dst))
				return ctx->rc;
		}
		s.in_dir = bin;
		s.out_dir = bout;
	}
	json_t *j = bia_exec_spec_json(&s);
	char path[BIA_PATH_MAX];
	snprintf(path, sizeof(path), "%s/spec.json", bdir);
	int rc = bia_json_save_file(ctx, path, j);
	json_decref(j);
	return rc ? rc : write_script(ctx, spec, o, bdir, program);
}

static int slurm_submit(struct bia_ctx *ctx, const struct bia_exec_spec *spec,
			const struct bia_job_opts *o, char job[BIA_JOB_ID_MAX], char *host,
			size_t hostsz)
{
	if (!o || !o->dir || !o->name || !valid_name(o->name))
		return bia_fail(ctx, BIA_EINVAL, "SLURM executor: a job needs a folder and a name");
	char program[BIA_PATH_MAX];
	if (o->program)
		snprintf(program, sizeof(program), "%s", o->program);
	else {
		ssize_t k = readlink("/proc/self/exe", program, sizeof(program) - 1);
		if (k <= 0)
			return bia_fail(ctx, BIA_EIO, "SLURM executor: cannot tell this program's path");
		program[k] = '\0';
	}
	if (script_safe(ctx, "job folder", o->dir) || script_safe(ctx, "program", program) ||
	    (o->partition && script_safe(ctx, "partition", o->partition)) ||
	    bia_mkdir_p(ctx, o->dir))
		return ctx->rc;
	struct stems in = {0};
	size_t nb = 1, per = 0;
	if (o->batch_size > 0 && spec->in_dir) {
		if (list_inputs(ctx, spec->in_dir, &in))
			return ctx->rc;
		per = o->batch_size;
		if ((in.n + per - 1) / per > BIA_SLURM_MAX_BATCHES)
			per = (in.n + BIA_SLURM_MAX_BATCHES - 1) / BIA_SLURM_MAX_BATCHES;
		nb = in.n > per ? (in.n + per - 1) / per : 1;
	}
	struct bia_slurm_job j;
	memset(&j, 0, sizeof(j));
	cluster_name(j.cluster);
	j.epoch = (int64_t)time(NULL);
	snprintf(j.name, sizeof(j.name), "%s", o->name);
	int rc = 0;
	for (size_t b = 0; !rc && b < nb; b++) {
		char bdir[BIA_PATH_MAX], script[BIA_PATH_MAX], out[4096];
		snprintf(bdir, sizeof(bdir), "%s/b%zu", o->dir, b);
		size_t from = b * per, to = nb > 1 ? (from + per < in.n ? from + per : in.n) : in.n;
		if (prepare_batch(ctx, spec, o, &in, from, to, nb > 1, bdir, program))
			break;
		snprintf(script, sizeof(script), "%s/job.sh", bdir);
		char *argv[] = {"sbatch", "--parsable", script, NULL};
		int code = slurm_cmd(ctx, argv, out, sizeof(out));
		char *end;
		long long id = code == 0 ? strtoll(out, &end, 10) : 0;
		if (code > 0 || (code == 0 && (id <= 0 || (*end && *end != ';' && *end != '\n'))))
			rc = bia_fail(ctx, BIA_EIO, "SLURM executor: sbatch refused the job: %s",
				      first_line(out));
		else if (code < 0)
			rc = ctx->rc;
		else
			j.ids[j.nids++] = id;
	}
	free(in.v);
	if (rc && j.nids) {
		/* all or nothing: the batches already queued go */
		char partial[BIA_JOB_ID_MAX];
		job_format(&j, partial);
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		slurm_cancel(&c2, partial);
	}
	if (rc)
		return rc;
	job_format(&j, job);
	if (host && hostsz)
		host[0] = '\0'; /* the node is the cluster's choice; the run keeps its worker's */
	return 0;
}

/* ------------------------------------------------------------- attach */

/* New complete lines of batch b's log go to the run's log and followers;
 * how far it was read is kept in log.pos (a worker that re-attaches goes
 * on from there). */
static void relay_log(const struct bia_exec_spec *spec, const char *bdir)
{
	char lp[BIA_PATH_MAX], pp[BIA_PATH_MAX];
	snprintf(lp, sizeof(lp), "%s/log", bdir);
	snprintf(pp, sizeof(pp), "%s/log.pos", bdir);
	int fd = open(lp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	long long pos = 0;
	FILE *f = fopen(pp, "r");
	if (f) {
		if (fscanf(f, "%lld", &pos) != 1)
			pos = 0;
		fclose(f);
	}
	char buf[65536];
	for (;;) {
		ssize_t k = pread(fd, buf, sizeof(buf), (off_t)pos);
		if (k <= 0)
			break;
		size_t used = 0;
		for (size_t i = 0; i < (size_t)k; i++) {
			if (buf[i] != '\n')
				continue;
			const char *line = buf + used;
			size_t len = i - used;
			if (spec->log_fd >= 0)
				(void)bia_write_all(spec->log_fd, line, len + 1);
			if (spec->on_log_line) {
				/* without the node's time stamp, as the local sandbox does */
				const char *sp = memchr(line, ' ', len);
				size_t skip = sp && sp - line == 24 ? 25 : 0;
				spec->on_log_line(spec->log_user, line + skip, len - skip);
			}
			used = i + 1;
		}
		if (!used) {
			if ((size_t)k == sizeof(buf)) /* a line longer than the buffer */
				used = (size_t)k;
			else
				break;
		}
		pos += (long long)used;
	}
	close(fd);
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld\n", pos);
	struct bia_ctx c;
	bia_ctx_init(&c);
	bia_write_file_atomic(&c, pp, num, (size_t)n);
}

static enum bia_exec_status status_of_name(const char *s)
{
	for (int st = BIA_EXEC_OK; st <= BIA_EXEC_ERROR; st++)
		if (!strcmp(bia_exec_status_name((enum bia_exec_status)st), s))
			return (enum bia_exec_status)st;
	return BIA_EXEC_ERROR;
}

/* The last line of slurm.out (SLURM's own words on a failed job). */
static void slurm_out_tail(const char *bdir, char *out, size_t outsz)
{
	char p[BIA_PATH_MAX], buf[1024];
	snprintf(p, sizeof(p), "%s/slurm.out", bdir);
	out[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t at = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t k = pread(fd, buf, sizeof(buf) - 1, at);
	close(fd);
	if (k <= 0)
		return;
	buf[k] = '\0';
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' '))
		buf[--k] = '\0';
	char *nl = strrchr(buf, '\n');
	snprintf(out, outsz, "%s", nl ? nl + 1 : buf);
}

/* One batch's outcome from SLURM's state and the node's result file. */
static void batch_result(const char *bdir, int64_t id, const struct bia_slurm_info *in,
			 struct bia_exec_result *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/result.json", bdir);
	struct bia_ctx c;
	bia_ctx_init(&c);
	json_t *res = bia_is_file(p) ? bia_json_load_file(&c, p) : NULL;
	enum bia_exec_status node = BIA_EXEC_ERROR;
	if (res) {
		node = status_of_name(bia_json_str(res, "status", ""));
		json_t *v = json_object_get(res, "exit_code");
		r->exit_code = json_is_integer(v) ? (int)json_integer_value(v) : -1;
		v = json_object_get(res, "term_signal");
		r->term_signal = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		v = json_object_get(res, "wall_seconds");
		r->wall_seconds = json_is_number(v) ? json_number_value(v) : 0;
		v = json_object_get(res, "out_bytes");
		r->out_bytes = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
		r->mem_limit_hit = json_is_true(json_object_get(res, "mem_limit_hit"));
		r->proc_limit_hit = json_is_true(json_object_get(res, "proc_limit_hit"));
		r->out_limit_hit = json_is_true(json_object_get(res, "out_limit_hit"));
		snprintf(r->reason, sizeof(r->reason), "%s", bia_json_str(res, "reason", ""));
	}
	char tail[300];
	if (!strcmp(in->state, "COMPLETED") && in->exit_code == 0 && res && node == BIA_EXEC_OK) {
		r->status = BIA_EXEC_OK;
	} else if (!strcmp(in->state, "CANCELLED")) {
		r->status = BIA_EXEC_CANCELLED;
		snprintf(r->reason, sizeof(r->reason), "SLURM job %" PRId64 " cancelled", id);
	} else if (!strcmp(in->state, "TIMEOUT")) {
		r->status = BIA_EXEC_TIMED_OUT;
		snprintf(r->reason, sizeof(r->reason),
			 "SLURM job %" PRId64 " reached its time limit", id);
	} else if (!strcmp(in->state, "OUT_OF_MEMORY")) {
		r->status = BIA_EXEC_MEMORY_LIMIT;
		r->mem_limit_hit = 1;
		snprintf(r->reason, sizeof(r->reason),
			 "SLURM job %" PRId64 " ran out of its memory", id);
	} else if (res && node != BIA_EXEC_OK) {
		r->status = node; /* the sandbox's own verdict, with its reason */
	} else {
		r->status = BIA_EXEC_FAILED;
		slurm_out_tail(bdir, tail, sizeof(tail));
		snprintf(r->reason, sizeof(r->reason),
			 "SLURM job %" PRId64 " ended %s (exit %d:%d)%s%s%s", id, in->state,
			 in->exit_code, in->exit_signal, res ? "" : ", no result from the node",
			 tail[0] ? ": " : "", tail);
	}
	json_decref(res);
}

/* Outputs of the batches into the run's output folder. */
static int gather_outputs(struct bia_ctx *ctx, const char *bdir, const char *out_dir)
{
	char from[BIA_PATH_MAX];
	snprintf(from, sizeof(from), "%s/out", bdir);
	struct stems s;
	if (list_inputs(ctx, from, &s))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; !rc && i < s.n; i++) {
		char a[BIA_PATH_MAX], b[BIA_PATH_MAX];
		snprintf(a, sizeof(a), "%s/%s", from, s.v[i]);
		snprintf(b, sizeof(b), "%s/%s", out_dir, s.v[i]);
		if (rename(a, b))
			rc = bia_fail(ctx, BIA_EIO, "cannot move output '%s': %s", a, strerror(errno));
	}
	free(s.v);
	return rc;
}

static int rank(enum bia_exec_status s)
{
	return s == BIA_EXEC_OK ? 0 : s == BIA_EXEC_CANCELLED ? 3 : s == BIA_EXEC_TIMED_OUT ? 2 : 1;
}

static int slurm_attach(struct bia_ctx *ctx, const char *job, const struct bia_exec_spec *spec,
			const struct bia_job_opts *o, struct bia_exec_result *res)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	struct bia_slurm_job j;
	if (bia__slurm_job_parse(job, &j))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a SLURM job id", job);
	if (!o || !o->dir)
		return bia_fail(ctx, BIA_EINVAL, "SLURM executor: attach needs the job's folder");
	struct bia_slurm_info info[BIA_SLURM_MAX_BATCHES];
	int unknown = 0, unreachable = 0, wait = poll_ms();
	int max_unknown = env_tries("BIAFLOWS_SLURM_UNKNOWN_TRIES", 30);
	int max_unreachable = env_tries("BIAFLOWS_SLURM_UNREACHABLE_TRIES", 1800);
	for (;;) {
		for (size_t b = 0; b < j.nids; b++) {
			char bdir[BIA_PATH_MAX];
			snprintf(bdir, sizeof(bdir), "%s/b%zu", o->dir, b);
			relay_log(spec, bdir);
		}
		struct bia_ctx qc;
		bia_ctx_init(&qc);
		if (query(&qc, &j, info)) {
			if (++unreachable >= max_unreachable) {
				res->status = BIA_EXEC_ERROR;
				snprintf(res->reason, sizeof(res->reason),
					 "SLURM could not be asked about job %s %d times in a row: %s",
					 job + 6, max_unreachable, qc.msg);
				return 0;
			}
		} else {
			unreachable = 0;
			enum bia_job_state st = bia__slurm_state(&j, info);
			if (st == BIA_JOB_ENDED)
				break;
			if (st == BIA_JOB_ACTIVE)
				unknown = 0;
			else if (++unknown >= max_unknown) {
				res->status = BIA_EXEC_ERROR;
				snprintf(res->reason, sizeof(res->reason),
					 "SLURM job %s is unknown: neither squeue nor sacct knows it "
					 "(asked %d times)",
					 job + 6, max_unknown);
				return 0;
			}
		}
		struct timespec ts = {wait / 1000, (long)(wait % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	int rc = 0;
	res->status = BIA_EXEC_OK;
	for (size_t b = 0; b < j.nids; b++) {
		char bdir[BIA_PATH_MAX];
		snprintf(bdir, sizeof(bdir), "%s/b%zu", o->dir, b);
		relay_log(spec, bdir);
		struct bia_exec_result r;
		batch_result(bdir, j.ids[b], &info[b], &r);
		if (rank(r.status) > rank(res->status) || (b == 0 && r.status != BIA_EXEC_OK)) {
			res->status = r.status;
			res->exit_code = r.exit_code;
			res->term_signal = r.term_signal;
			snprintf(res->reason, sizeof(res->reason), "%s", r.reason);
		} else if (b == 0 || (res->status == BIA_EXEC_OK && res->exit_code < 0)) {
			res->exit_code = r.exit_code;
			snprintf(res->reason, sizeof(res->reason), "%s", r.reason);
		}
		if (r.wall_seconds > res->wall_seconds)
			res->wall_seconds = r.wall_seconds;
		res->out_bytes += r.out_bytes;
		res->mem_limit_hit |= r.mem_limit_hit;
		res->proc_limit_hit |= r.proc_limit_hit;
		res->out_limit_hit |= r.out_limit_hit;
		if (j.nids > 1 && spec->out_dir && !rc)
			rc = gather_outputs(ctx, bdir, spec->out_dir);
	}
	if (j.nids > 1 && res->status == BIA_EXEC_OK)
		snprintf(res->reason, sizeof(res->reason), "exit code 0 (%zu SLURM jobs)", j.nids);
	return rc;
}

const struct bia_executor bia_executor_slurm = {
	.name = "slurm",
	.remote = 1,
	.submit = slurm_submit,
	.poll = slurm_poll,
	.cancel = slurm_cancel,
	.attach = slurm_attach,
};

/* ----------------------------------------------------------- the node */

static volatile sig_atomic_t node_cancel;

static void on_term(int sig)
{
	(void)sig;
	node_cancel = 1;
}

static int write_result(struct bia_ctx *ctx, const char *dir, const struct bia_exec_result *r)
{
	char host[256] = "", p[BIA_PATH_MAX];
	gethostname(host, sizeof(host) - 1);
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(bia_exec_status_name(r->status)));
	json_object_set_new(o, "exit_code", json_integer(r->exit_code));
	json_object_set_new(o, "term_signal", json_integer(r->term_signal));
	json_object_set_new(o, "wall_seconds", json_real(r->wall_seconds));
	json_object_set_new(o, "out_bytes", json_integer((json_int_t)r->out_bytes));
	json_object_set_new(o, "mem_limit_hit", json_boolean(r->mem_limit_hit));
	json_object_set_new(o, "proc_limit_hit", json_boolean(r->proc_limit_hit));
	json_object_set_new(o, "out_limit_hit", json_boolean(r->out_limit_hit));
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "host", json_string(host));
	snprintf(p, sizeof(p), "%s/result.json", dir);
	int rc = bia_json_save_file(ctx, p, o);
	json_decref(o);
	return rc;
}

int bia_slurm_job_exec(struct bia_ctx *ctx, const char *dir, int *pexit)
{
	*pexit = 1;
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/spec.json", dir);
	struct bia_exec_result res;
	memset(&res, 0, sizeof(res));
	res.exit_code = -1;
	res.status = BIA_EXEC_ERROR;
	char *text = NULL;
	size_t n = 0;
	struct bia_exec_spec_file f;
	if (bia_read_file(ctx, p, SPEC_FILE_MAX, &text, &n) ||
	    bia_exec_spec_parse(ctx, text, n, &f)) {
		free(text);
		snprintf(res.reason, sizeof(res.reason), "%s", ctx->msg);
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		write_result(&c2, dir, &res);
		return ctx->rc;
	}
	free(text);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	snprintf(p, sizeof(p), "%s/log", dir);
	f.spec.log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	f.spec.cancel = &node_cancel;
	int rc = bia_exec_run(ctx, &f.spec, &res);
	if (rc && !res.reason[0])
		snprintf(res.reason, sizeof(res.reason), "%s", ctx->msg);
	if (f.spec.log_fd >= 0)
		close(f.spec.log_fd);
	bia_exec_spec_file_release(&f);
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (write_result(&c2, dir, &res) && !rc)
		rc = bia_fail(ctx, c2.rc, "%s", c2.msg);
	if (!rc && res.status != BIA_EXEC_OK)
		rc = bia_fail(ctx, BIA_EINVAL, "workflow %s: %s", bia_exec_status_name(res.status),
			      res.reason);
	/* sacct then shows the workflow's own exit code */
	*pexit = rc == 0 ? 0 : res.exit_code > 0 && res.exit_code < 256 ? res.exit_code : 1;
	return rc;
}
