/* Bundles (docs/exchange.md): export writes a tar (plain, gzip or zstd) of
 * a manifest, record files (JSON lines) and the files they name by digest;
 * import reads one back, verifying every digest before its one commit.
 * SPDX-License-Identifier: MIT */
#include "exchange/exchange.h"
#include "dataset/derived.h"
#include "runs/runs.h"
#include "workflow/workflow.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The record files, in the order a bundle holds them: the two indexes
 * first (before the files), then the records, parents before children. */
enum { RF_BLOBS, RF_LOGS, RF_PROBLEMS, RF_IMAGES, RF_GTS, RF_WORKFLOWS, RF_RUNS, RF_RUN_IMAGES, NRF };
static const char *const rf_path[NRF] = {
	"records/blobs.jsonl",	   "records/logs.jsonl",      "records/problems.jsonl",
	"records/images.jsonl",	   "records/gts.jsonl",	      "records/workflows.jsonl",
	"records/runs.jsonl",	   "records/run_images.jsonl",
};
static const char *const rf_kind[NRF] = {NULL, NULL, "problem", "image", "gt", "workflow", "run",
					 "run_image"};

#define MANIFEST_MAX (1u << 20)
#define LINE_MAX_BYTES BIA_JSON_MAX_BYTES

/* The content digest: sha256 over "path digest\n" of every record file
 * (the indexes name every file by digest, so this covers everything). */
static void content_digest(char digests[NRF][BIA_SHA256_HEX], char out[BIA_SHA256_HEX])
{
	struct bia_sha256 h;
	bia_sha256_init(&h);
	for (int i = 0; i < NRF; i++) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%s %s\n", rf_path[i], digests[i]);
		bia_sha256_update(&h, line, (size_t)n);
	}
	bia_sha256_final(&h, out);
}

json_t *bia_bundle_manifest_parse(struct bia_ctx *ctx, const char *text, size_t len)
{
	json_t *m = bia_json_parse(ctx, "manifest.json", text, len);
	if (!m)
		return NULL;
	json_t *v = json_object_get(m, "version");
	if (!json_is_object(m) || strcmp(bia_json_str(m, "format", ""), BIA_BUNDLE_FORMAT) ||
	    !json_is_integer(v) || json_integer_value(v) < 1) {
		bia_fail(ctx, BIA_EFORMAT, "manifest.json: not a biaflows bundle manifest (\"format\": "
			 "\"%s\" and a \"version\" are required)", BIA_BUNDLE_FORMAT);
		goto bad;
	}
	if (json_integer_value(v) > BIA_BUNDLE_VERSION) {
		bia_fail(ctx, BIA_EUNSUPPORTED,
			 "the bundle has format version %lld, newer than this biaflows reads (%d): "
			 "import it with a newer biaflows",
			 (long long)json_integer_value(v), BIA_BUNDLE_VERSION);
		goto bad;
	}
	const char *inst = bia_json_str(m, "instance", "");
	if (!inst[0] || strlen(inst) > 127) {
		bia_fail(ctx, BIA_EFORMAT, "manifest.json: \"instance\" must name the source instance");
		goto bad;
	}
	json_t *recs = json_object_get(m, "records");
	if (!json_is_array(recs) || json_array_size(recs) != NRF) {
		bia_fail(ctx, BIA_EFORMAT, "manifest.json: \"records\" must list the %d record files",
			 NRF);
		goto bad;
	}
	char dg[NRF][BIA_SHA256_HEX];
	for (int i = 0; i < NRF; i++) {
		json_t *r = json_array_get(recs, (size_t)i), *b = json_object_get(r, "bytes"),
		       *n = json_object_get(r, "rows");
		const char *d = bia_json_str(r, "digest", "");
		if (strcmp(bia_json_str(r, "path", ""), rf_path[i]) || !bia_is_sha256_hex(d) ||
		    !json_is_integer(b) || json_integer_value(b) < 0 || !json_is_integer(n) ||
		    json_integer_value(n) < 0) {
			bia_fail(ctx, BIA_EFORMAT,
				 "manifest.json: record file %d must be {\"path\": \"%s\", \"digest\", "
				 "\"bytes\", \"rows\"}",
				 i + 1, rf_path[i]);
			goto bad;
		}
		memcpy(dg[i], d, BIA_SHA256_HEX);
	}
	char cd[BIA_SHA256_HEX];
	content_digest(dg, cd);
	if (strcmp(bia_json_str(m, "content_digest", ""), cd)) {
		bia_fail(ctx, BIA_ECORRUPT, "manifest.json: \"content_digest\" does not match its "
			 "record files' digests");
		goto bad;
	}
	return m;
bad:
	json_decref(m);
	return NULL;
}

/* ----------------------------------------------------------------- export */

struct fent {
	char digest[BIA_SHA256_HEX];
	int64_t bytes;
	int64_t run_id; /* logs: a run whose log this is */
};

struct flist {
	struct fent *v;
	size_t n, cap;
};

static int flist_add(struct flist *l, const char *digest, int64_t bytes, int64_t run_id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct fent *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct fent *e = &l->v[l->n++];
	snprintf(e->digest, sizeof(e->digest), "%s", digest);
	e->bytes = bytes;
	e->run_id = run_id;
	return 0;
}

static int fent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fent *)a)->digest, ((const struct fent *)b)->digest);
}

/* Sorted by digest, each once. */
static void flist_unique(struct flist *l)
{
	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), fent_cmp);
	size_t k = 1;
	for (size_t i = 1; i < l->n; i++)
		if (strcmp(l->v[i].digest, l->v[k - 1].digest))
			l->v[k++] = l->v[i];
	l->n = k;
}

static const struct fent *flist_find(const struct flist *l, const char *digest)
{
	struct fent key;
	snprintf(key.digest, sizeof(key.digest), "%s", digest);
	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), fent_cmp) : NULL;
}

struct rfile {
	FILE *f;
	struct bia_sha256 h;
	int64_t rows, bytes;
	char digest[BIA_SHA256_HEX];
};

struct exp {
	struct bia_instance *inst;
	const struct bia_bundle_export_opts *o;
	struct bia_bundle_export_report *rep;
	char dir[BIA_PATH_MAX];
	struct rfile rf[NRF];
	struct flist blobs, logs;
	int64_t nrec;
};

static int rf_write(struct bia_ctx *ctx, struct rfile *r, json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	size_t n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the newline; written n + 1 */
	int ok = fwrite(line, 1, n + 1, r->f) == n + 1;
	bia_sha256_update(&r->h, line, n + 1);
	free(line);
	r->rows++;
	r->bytes += (int64_t)n + 1;
	return ok ? 0 : bia_fail(ctx, BIA_EIO, "cannot write records: %s", strerror(errno));
}

static int add_files(struct bia_ctx *ctx, struct exp *e, json_t *files, const char *key,
		     const char *skip1, const char *skip2)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		const char *p = bia_json_str(f, "path", "");
		if ((skip1 && !strcmp(p, skip1)) || (skip2 && !strcmp(p, skip2)))
			continue;
		if (flist_add(&e->blobs, bia_json_str(f, key, ""),
			      json_integer_value(json_object_get(f, "bytes")), 0))
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	return 0;
}

static int export_emit(struct bia_ctx *ctx, void *arg, const char *kind, int64_t id, json_t *rec)
{
	struct exp *e = arg;
	int k = RF_PROBLEMS;
	while (k < NRF && strcmp(rf_kind[k], kind))
		k++;
	if (k == NRF)
		return bia_fail(ctx, BIA_EINVAL, "unknown record kind '%s'", kind);
	if (!strcmp(kind, "image")) {
		if (flist_add(&e->blobs, bia_json_str(rec, "digest", ""),
			      json_integer_value(json_object_get(rec, "bytes")), 0))
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	} else if (!strcmp(kind, "gt") || !strcmp(kind, "run_image")) {
		if (add_files(ctx, e, json_object_get(rec, "files"), "digest", NULL, NULL))
			return ctx->rc;
	} else if (!strcmp(kind, "workflow")) {
		/* the environment archive only when asked for (it is large and
		 * the other instance may have it) */
		char env[512] = "";
		json_t *d = json_loads(bia_json_str(rec, "descriptor", "{}"), 0, NULL);
		snprintf(env, sizeof(env), "%s",
			 bia_json_str(json_object_get(d, "environment"), "archive", ""));
		json_decref(d);
		if (add_files(ctx, e, json_object_get(rec, "files"), "digest",
			      e->o->environments ? NULL : BIA_WF_DEFAULT_ARCHIVE,
			      e->o->environments || !env[0] ? NULL : env))
			return ctx->rc;
	} else if (!strcmp(kind, "run")) {
		char p[BIA_PATH_MAX], hex[BIA_SHA256_HEX];
		uint64_t size = 0;
		struct bia_ctx c;
		bia_ctx_init(&c);
		if (!bia_run_log_path(e->inst, id, p, sizeof(p)) && bia_is_file(p) &&
		    !bia_sha256_file(&c, p, hex, &size)) {
			json_object_set_new(rec, "log", json_pack("{s:s, s:I}", "digest", hex, "bytes",
								  (json_int_t)size));
			if (flist_add(&e->logs, hex, (int64_t)size, id))
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		}
	}
	if (k == RF_PROBLEMS)
		e->rep->records[BIA_XK_PROBLEM]++;
	else if (k == RF_IMAGES)
		e->rep->records[BIA_XK_IMAGE]++;
	else if (k == RF_GTS)
		e->rep->records[BIA_XK_GT]++;
	else if (k == RF_WORKFLOWS)
		e->rep->records[BIA_XK_WORKFLOW]++;
	else if (k == RF_RUNS)
		e->rep->records[BIA_XK_RUN]++;
	if (e->o->progress && ++e->nrec % 1000 == 0)
		e->o->progress(e->o->progress_arg, "records", e->nrec, 0);
	return rf_write(ctx, &e->rf[k], rec);
}

/* Write one entry of the tar from a file. */
static int tar_file(struct bia_ctx *ctx, struct archive *a, const char *name, const char *src,
		    int64_t size, time_t mtime)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, BIA_ECORRUPT, "cannot read '%s': %s", src, strerror(errno));
	struct archive_entry *en = archive_entry_new();
	archive_entry_set_pathname(en, name);
	archive_entry_set_size(en, size);
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, 0644);
	archive_entry_set_mtime(en, mtime, 0);
	int rc = 0;
	if (archive_write_header(a, en) != ARCHIVE_OK)
		rc = bia_fail(ctx, BIA_EIO, "bundle: %s", archive_error_string(a));
	char buf[1 << 16];
	int64_t left = size;
	while (!rc && left > 0) {
		ssize_t n = read(fd, buf, sizeof(buf) < (size_t)left ? sizeof(buf) : (size_t)left);
		if (n <= 0) {
			rc = bia_fail(ctx, BIA_ECORRUPT, "'%s' changed while it was exported", src);
			break;
		}
		if (archive_write_data(a, buf, (size_t)n) != n)
			rc = bia_fail(ctx, BIA_EIO, "bundle: %s", archive_error_string(a));
		left -= n;
	}
	close(fd);
	archive_entry_free(en);
	return rc;
}

static int tar_mem(struct bia_ctx *ctx, struct archive *a, const char *name, const char *data,
		   size_t len, time_t mtime)
{
	struct archive_entry *en = archive_entry_new();
	archive_entry_set_pathname(en, name);
	archive_entry_set_size(en, (la_int64_t)len);
	archive_entry_set_filetype(en, AE_IFREG);
	archive_entry_set_perm(en, 0644);
	archive_entry_set_mtime(en, mtime, 0);
	int rc = 0;
	if (archive_write_header(a, en) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len)
		rc = bia_fail(ctx, BIA_EIO, "bundle: %s", archive_error_string(a));
	archive_entry_free(en);
	return rc;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int index_file(struct bia_ctx *ctx, struct exp *e, int k, const struct flist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		json_t *o = json_pack("{s:s, s:I}", "digest", l->v[i].digest, "bytes",
				      (json_int_t)l->v[i].bytes);
		int rc = rf_write(ctx, &e->rf[k], o);
		json_decref(o);
		if (rc)
			return rc;
	}
	return 0;
}

/* The files of the bundle, in order, into the open archive. */
static int write_bundle(struct bia_ctx *ctx, struct exp *e, struct archive *a, const char *manifest)
{
	time_t now = time(NULL);
	char p[BIA_PATH_MAX], name[128];
	int64_t done = 0, total = 0;
	for (size_t i = 0; i < e->blobs.n; i++)
		total += e->blobs.v[i].bytes;
	for (size_t i = 0; i < e->logs.n; i++)
		total += e->logs.v[i].bytes;
	if (tar_mem(ctx, a, "manifest.json", manifest, strlen(manifest), now))
		return ctx->rc;
	for (int k = RF_BLOBS; k <= RF_LOGS; k++) {
		snprintf(p, sizeof(p), "%s/%d.jsonl", e->dir, k);
		if (tar_file(ctx, a, rf_path[k], p, e->rf[k].bytes, now))
			return ctx->rc;
	}
	for (size_t i = 0; i < e->blobs.n; i++) {
		const struct fent *f = &e->blobs.v[i];
		snprintf(name, sizeof(name), "blobs/%s", f->digest);
		bia_blob_path(e->inst, f->digest, p, sizeof(p));
		if (tar_file(ctx, a, name, p, f->bytes, now))
			return ctx->rc;
		done += f->bytes;
		if (e->o->progress)
			e->o->progress(e->o->progress_arg, "files", done, total);
	}
	for (size_t i = 0; i < e->logs.n; i++) {
		const struct fent *f = &e->logs.v[i];
		snprintf(name, sizeof(name), "logs/%s", f->digest);
		bia_run_log_path(e->inst, f->run_id, p, sizeof(p));
		if (tar_file(ctx, a, name, p, f->bytes, now))
			return ctx->rc;
		done += f->bytes;
	}
	for (int k = RF_PROBLEMS; k < NRF; k++) {
		snprintf(p, sizeof(p), "%s/%d.jsonl", e->dir, k);
		if (tar_file(ctx, a, rf_path[k], p, e->rf[k].bytes, now))
			return ctx->rc;
	}
	return 0;
}

static char *manifest_text(struct exp *e, const int64_t *pids, size_t np)
{
	char dg[NRF][BIA_SHA256_HEX], now[21];
	json_t *recs = json_array();
	for (int k = 0; k < NRF; k++) {
		memcpy(dg[k], e->rf[k].digest, BIA_SHA256_HEX);
		json_array_append_new(recs, json_pack("{s:s, s:s, s:I, s:I}", "path", rf_path[k],
						      "digest", dg[k], "bytes",
						      (json_int_t)e->rf[k].bytes, "rows",
						      (json_int_t)e->rf[k].rows));
	}
	content_digest(dg, e->rep->content_digest);
	bia_now_iso(now);
	json_t *sel = json_pack("{s:[], s:b, s:b, s:b}", "problems", "runs", e->o->runs, "workflows",
				e->o->workflows, "environments", e->o->environments);
	for (size_t i = 0; i < np; i++)
		json_array_append_new(json_object_get(sel, "problems"), json_integer(pids[i]));
	int64_t fb = 0;
	for (size_t i = 0; i < e->blobs.n; i++)
		fb += e->blobs.v[i].bytes;
	json_t *m = json_pack("{s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I}, s:s}", "format",
			      BIA_BUNDLE_FORMAT, "version", BIA_BUNDLE_VERSION, "instance",
			      e->rep->instance, "created", now, "software", "biaflows",
			      "selection", sel, "records", recs, "files", "count",
			      (json_int_t)(e->blobs.n + e->logs.n), "bytes", (json_int_t)fb,
			      "content_digest", e->rep->content_digest);
	char *s = m ? json_dumps(m, JSON_INDENT(1)) : NULL;
	json_decref(m);
	return s;
}

static int write_text(struct bia_ctx *ctx, const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || bia_write_all(fd, text, strlen(text)) || fsync(fd)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* A snapshot folder: manifest, records, and the indexes a server finds
 * the files with (fixed-width lines, sorted by digest: a binary search). */
static int write_snapshot(struct bia_ctx *ctx, struct exp *e, const char *dir,
			  const char *manifest)
{
	char p[BIA_PATH_MAX], q[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/records", dir);
	if (mkdir(dir, 0700) || mkdir(p, 0700))
		return bia_fail(ctx, BIA_EIO, "cannot make '%s': %s", p, strerror(errno));
	for (int k = 0; k < NRF; k++) {
		snprintf(p, sizeof(p), "%s/%d.jsonl", e->dir, k);
		snprintf(q, sizeof(q), "%s/%s", dir, rf_path[k]);
		if (rename(p, q))
			return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", q, strerror(errno));
	}
	struct bia_buf b;
	bia_buf_init(&b, SIZE_MAX);
	for (size_t i = 0; i < e->blobs.n; i++)
		bia_buf_addf(&b, "%s\n", e->blobs.v[i].digest);
	snprintf(p, sizeof(p), "%s/blobs.idx", dir);
	int rc = b.err ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : write_text(ctx, p, b.buf);
	bia_buf_reset(&b);
	for (size_t i = 0; !rc && i < e->logs.n; i++)
		bia_buf_addf(&b, "%s %020lld\n", e->logs.v[i].digest, (long long)e->logs.v[i].run_id);
	snprintf(p, sizeof(p), "%s/logs.idx", dir);
	if (!rc)
		rc = b.err ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : write_text(ctx, p, b.buf);
	bia_buf_release(&b);
	snprintf(p, sizeof(p), "%s/manifest.json", dir);
	return rc ? rc : write_text(ctx, p, manifest);
}

/* Binary search of a fixed-width index file for a line starting with
 * digest: the line (NUL-terminated, without its newline) in out. */
static int index_find(const char *path, size_t width, const char *digest, char *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t lo = 0, hi = (size_t)sb.st_size / width;
	int found = -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pread(fd, out, width, (off_t)(mid * width)) != (ssize_t)width)
			break;
		int c = strncmp(out, digest, 64);
		if (!c) {
			out[width - 1] = '\0';
			found = 0;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	close(fd);
	return found;
}

int bia_snapshot_file(struct bia_ctx *ctx, struct bia_instance *inst, const char *snapdir,
		      int log, const char *digest, char *path, size_t pathsz)
{
	char idx[BIA_PATH_MAX], line[128];
	if (!bia_is_sha256_hex(digest))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a sha256 digest", digest);
	snprintf(idx, sizeof(idx), "%s/%s", snapdir, log ? "logs.idx" : "blobs.idx");
	if (index_find(idx, log ? 86 : 65, digest, line))
		return bia_fail(ctx, BIA_ENOENT, "the snapshot has no %s %s", log ? "log" : "file",
				digest);
	if (!log)
		return bia_blob_path(inst, digest, path, pathsz)
			       ? bia_fail(ctx, BIA_EINVAL, "path too long")
			       : 0;
	return bia_run_log_path(inst, strtoll(line + 65, NULL, 10), path, pathsz)
		       ? bia_fail(ctx, BIA_EINVAL, "path too long")
		       : 0;
}

int bia_bundle_export(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
	       const struct bia_bundle_export_opts *o, struct bia_bundle_export_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	snprintf(rep->path, sizeof(rep->path), "%s", path);
	int filter = o->snapshot				    ? 0
		     : ends_with(path, ".tar")			    ? 0
		     : ends_with(path, ".tar.gz") || ends_with(path, ".tgz") ? 1
		     : ends_with(path, ".tar.zst")			    ? 2
									    : -1;
	if (filter < 0)
		return bia_fail(ctx, BIA_EINVAL,
				"'%s': a bundle's name ends in .tar, .tar.gz, .tgz or .tar.zst", path);
	int64_t *pids = calloc(o->nproblems + 1, sizeof(int64_t));
	if (!pids)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->nproblems; i++) {
		struct bia_problem p;
		if (bia_problem_get(ctx, inst, o->problems[i], &p)) {
			free(pids);
			if (ctx->rc == BIA_ENOENT)
				bia_fail(ctx, BIA_ENOENT, "no problem '%s'", o->problems[i]);
			return ctx->rc;
		}
		pids[i] = p.id;
		bia_problem_release(&p);
	}
	if (bia_store_instance_id(ctx, inst, rep->instance, sizeof(rep->instance))) {
		free(pids);
		return ctx->rc;
	}
	struct exp e = {.inst = inst, .o = o, .rep = rep};
	char tmp[BIA_PATH_MAX];
	/* the records are written first to a folder beside the bundle */
	if (snprintf(e.dir, sizeof(e.dir), "%s.tmp-%ld-XXXXXX", path, (long)getpid()) >=
		    (int)sizeof(e.dir) ||
	    !mkdtemp(e.dir)) {
		free(pids);
		return bia_fail(ctx, BIA_EIO, "cannot make a folder beside '%s': %s", path,
				strerror(errno));
	}
	snprintf(tmp, sizeof(tmp), "%s/bundle.tmp", e.dir);
	int rc = 0;
	for (int k = 0; k < NRF && !rc; k++) {
		char p[BIA_PATH_MAX];
		snprintf(p, sizeof(p), "%s/%d.jsonl", e.dir, k);
		bia_sha256_init(&e.rf[k].h);
		if (!(e.rf[k].f = fopen(p, "w")))
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
	}
	struct bia_xsel sel = {.problems = pids, .nproblems = o->nproblems, .runs = o->runs,
			       .workflows = o->workflows};
	if (!rc)
		rc = bia_store_export_records(ctx, inst, &sel, export_emit, &e);
	if (!rc) {
		flist_unique(&e.blobs);
		flist_unique(&e.logs);
		rc = index_file(ctx, &e, RF_BLOBS, &e.blobs) ||
		     index_file(ctx, &e, RF_LOGS, &e.logs);
	}
	for (int k = 0; k < NRF; k++) {
		if (e.rf[k].f && fclose(e.rf[k].f) && !rc)
			rc = bia_fail(ctx, BIA_EIO, "cannot write records: %s", strerror(errno));
		e.rf[k].f = NULL;
		bia_sha256_final(&e.rf[k].h, e.rf[k].digest);
	}
	char *manifest = rc ? NULL : manifest_text(&e, pids, o->nproblems);
	if (!rc && !manifest)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	struct archive *a = NULL;
	if (!rc && o->snapshot) {
		rc = write_snapshot(ctx, &e, path, manifest);
	} else if (!rc) {
		a = archive_write_new();
		if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
		    (filter == 1 && archive_write_add_filter_gzip(a) != ARCHIVE_OK) ||
		    (filter == 2 && archive_write_add_filter_zstd(a) != ARCHIVE_OK) ||
		    archive_write_open_filename(a, tmp) != ARCHIVE_OK)
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", tmp,
				      a ? archive_error_string(a) : "out of memory");
	}
	if (!rc && !o->snapshot)
		rc = write_bundle(ctx, &e, a, manifest);
	if (a) {
		if (archive_write_close(a) != ARCHIVE_OK && !rc)
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", tmp, archive_error_string(a));
		archive_write_free(a);
	}
	if (!rc && !o->snapshot) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd))
			rc = bia_fail(ctx, BIA_EIO, "cannot sync '%s': %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (!rc && !o->snapshot && rename(tmp, path))
		rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", path, strerror(errno));
	if (!rc) {
		struct stat sb;
		rep->bytes = stat(path, &sb) ? 0 : (int64_t)sb.st_size;
		rep->files = (int64_t)(e.blobs.n + e.logs.n);
		for (size_t i = 0; i < e.blobs.n; i++)
			rep->file_bytes += e.blobs.v[i].bytes;
		for (size_t i = 0; i < e.logs.n; i++)
			rep->file_bytes += e.logs.v[i].bytes;
	}
	struct bia_ctx c;
	bia_ctx_init(&c);
	bia_rm_rf(&c, e.dir);
	free(manifest);
	free(e.blobs.v);
	free(e.logs.v);
	free(pids);
	return rc ? bia_fail_prefix(ctx, "export to '%s'", path) : 0;
}

static json_t *kinds_json(const int64_t *v)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "problems", (json_int_t)v[BIA_XK_PROBLEM],
			 "images", (json_int_t)v[BIA_XK_IMAGE], "gt_versions",
			 (json_int_t)v[BIA_XK_GT], "workflow_versions",
			 (json_int_t)v[BIA_XK_WORKFLOW], "runs", (json_int_t)v[BIA_XK_RUN]);
}

json_t *bia_bundle_export_report_json(const struct bia_bundle_export_report *rep)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "path", rep->path, "instance",
			 rep->instance, "content_digest", rep->content_digest, "records",
			 kinds_json(rep->records), "files", (json_int_t)rep->files, "file_bytes",
			 (json_int_t)rep->file_bytes, "bytes", (json_int_t)rep->bytes);
}

json_t *bia_bundle_import_report_json(const struct bia_bundle_import_report *rep)
{
	json_t *sk = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(rep->skipped, i, v)
		json_array_append_new(sk, json_pack("{s:O, s:O, s:O}", "workflow",
						    json_object_get(v, "workflow"), "version",
						    json_object_get(v, "version"), "reason",
						    json_object_get(v, "reason")));
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I}", "source_instance",
			 rep->source_instance, "content_digest", rep->content_digest, "added",
			 kinds_json(rep->counts.added), "present", kinds_json(rep->counts.present),
			 "skipped", sk, "files_added", (json_int_t)rep->files_added, "files_present",
			 (json_int_t)rep->files_present, "logs", (json_int_t)rep->logs,
			 "pyramids_failed", (json_int_t)rep->pyramids_failed);
}

/* ----------------------------------------------------------------- import */

/* What one entry's bytes come from: the archive or a file. */
struct src {
	struct archive *a; /* or NULL: fd */
	int fd;
	int64_t left; /* bytes of the entry not read yet */
	struct bia_sha256 h;
	int64_t read;
};

static ssize_t src_read(void *arg, void *buf, size_t n)
{
	struct src *s = arg;
	if (s->left <= 0)
		return 0;
	if ((int64_t)n > s->left)
		n = (size_t)s->left;
	ssize_t k;
	if (s->a) {
		k = archive_read_data(s->a, buf, n);
	} else {
		do
			k = read(s->fd, buf, n);
		while (k < 0 && errno == EINTR);
	}
	if (k == 0) /* shorter than its header said */
		errno = EPIPE;
	if (k <= 0)
		return -1;
	bia_sha256_update(&s->h, buf, (size_t)k);
	s->left -= k;
	s->read += k;
	return k;
}

struct imp {
	struct bia_instance *inst;
	const struct bia_bundle_import_opts *o;
	struct bia_bundle_import_report *rep;
	json_t *manifest;
	int stage; /* the next record file expected (RF_*), NRF when all seen */
	int files_started, tx;
	struct flist blobs, logs; /* the indexes */
	unsigned char *blob_seen, *log_seen;
	char (*new_blobs)[BIA_SHA256_HEX];
	size_t nnew, capnew;
	struct bia_ximport *x;
	char staging[BIA_PATH_MAX];
	int lock_fd;
	int64_t rows_total, rows_done, bytes_total, bytes_done;
	int64_t *touched; /* images that gained a layer: their pyramids, after */
	size_t ntouched, captouched;
};

static const char *manifest_digest(const struct imp *m, int k)
{
	return bia_json_str(json_array_get(json_object_get(m->manifest, "records"), (size_t)k),
			    "digest", "");
}

static int64_t manifest_int(const struct imp *m, int k, const char *key)
{
	return json_integer_value(
		json_object_get(json_array_get(json_object_get(m->manifest, "records"), (size_t)k), key));
}

/* Read an index (blobs or logs): lines {"digest", "bytes"}, sorted, each once. */
static int read_index(struct bia_ctx *ctx, struct imp *m, struct src *s, const char *name,
		      struct flist *l, int64_t *ptotal)
{
	struct bia_buf line;
	bia_buf_init(&line, 512);
	char buf[1 << 16];
	ssize_t n;
	int rc = 0;
	while (!rc && (n = src_read(s, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && !rc; i++) {
			if (buf[i] != '\n') {
				if (bia_buf_addch(&line, buf[i]))
					rc = bia_fail(ctx, BIA_EFORMAT, "%s: a line is too long", name);
				continue;
			}
			json_t *o = bia_json_parse(ctx, name, line.buf, line.len);
			json_t *b = json_object_get(o, "bytes");
			const char *d = bia_json_str(o, "digest", "");
			if (!o)
				rc = ctx->rc;
			else if (!bia_is_sha256_hex(d) || !json_is_integer(b) || json_integer_value(b) < 0)
				rc = bia_fail(ctx, BIA_EFORMAT, "%s: line %zu must be {\"digest\", \"bytes\"}",
					      name, l->n + 1);
			else if (l->n && strcmp(l->v[l->n - 1].digest, d) >= 0)
				rc = bia_fail(ctx, BIA_EFORMAT, "%s: digests must be sorted, each once", name);
			else if (flist_add(l, d, json_integer_value(b), 0))
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			else
				*ptotal += json_integer_value(b);
			json_decref(o);
			bia_buf_reset(&line);
		}
	}
	if (!rc && n < 0)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: truncated or unreadable", name);
	if (!rc && line.len)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: the last line has no newline", name);
	bia_buf_release(&line);
	(void)m;
	return rc;
}

static void progress(struct imp *m, const char *phase, int64_t done, int64_t total)
{
	if (m->o && m->o->progress)
		m->o->progress(m->o->progress_arg, phase, done, total);
}

/* A file of the bundle (blobs/<digest>): into the blob store. */
static int import_blob(struct bia_ctx *ctx, struct imp *m, struct src *s, const char *digest)
{
	const struct fent *f = flist_find(&m->blobs, digest);
	if (!f)
		return bia_fail(ctx, BIA_EFORMAT, "blobs/%s is not in the bundle's index", digest);
	size_t i = (size_t)(f - m->blobs.v);
	if (m->blob_seen[i])
		return bia_fail(ctx, BIA_EFORMAT, "blobs/%s is in the bundle twice", digest);
	char got[BIA_SHA256_HEX];
	uint64_t size;
	int isnew = 0;
	char what[128];
	snprintf(what, sizeof(what), "blobs/%.16s...", digest);
	if (bia_blob_put_stream(ctx, m->inst, src_read, s, what, got, &size, &isnew))
		return ctx->rc;
	if (isnew) {
		if (m->nnew == m->capnew) {
			size_t cap = m->capnew ? m->capnew * 2 : 256;
			char(*v)[BIA_SHA256_HEX] = realloc(m->new_blobs, cap * sizeof(*v));
			if (!v)
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			m->new_blobs = v;
			m->capnew = cap;
		}
		memcpy(m->new_blobs[m->nnew++], got, BIA_SHA256_HEX);
		m->rep->files_added++;
	} else {
		m->rep->files_present++;
	}
	if (strcmp(got, digest))
		return bia_fail(ctx, BIA_ECORRUPT, "blobs/%s: its content has digest %s (a damaged "
			        "bundle)", digest, got);
	if ((int64_t)size != f->bytes)
		return bia_fail(ctx, BIA_ECORRUPT, "blobs/%s: %llu bytes, the index says %lld", digest,
				(unsigned long long)size, (long long)f->bytes);
	m->blob_seen[i] = 1;
	m->bytes_done += f->bytes;
	progress(m, "files", m->bytes_done, m->bytes_total);
	if (m->rep->files_added + m->rep->files_present == 3)
		bia_faultsim("exchange.after_3_files");
	return 0;
}

/* A log (logs/<digest>): kept in the staging folder until the commit. */
static int import_log(struct bia_ctx *ctx, struct imp *m, struct src *s, const char *digest)
{
	const struct fent *f = flist_find(&m->logs, digest);
	if (!f)
		return bia_fail(ctx, BIA_EFORMAT, "logs/%s is not in the bundle's index", digest);
	size_t i = (size_t)(f - m->logs.v);
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/log-%s", m->staging, digest);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
	struct bia_sha256 h;
	bia_sha256_init(&h);
	char buf[1 << 16];
	ssize_t n;
	int64_t total = 0;
	int rc = 0;
	while ((n = src_read(s, buf, sizeof(buf))) > 0) {
		if (bia_write_all(fd, buf, (size_t)n)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
			break;
		}
		bia_sha256_update(&h, buf, (size_t)n);
		total += n;
	}
	close(fd);
	if (!rc && n < 0)
		rc = bia_fail(ctx, BIA_EFORMAT, "logs/%s: truncated", digest);
	char got[BIA_SHA256_HEX];
	bia_sha256_final(&h, got);
	if (!rc && (strcmp(got, digest) || total != f->bytes))
		rc = bia_fail(ctx, BIA_ECORRUPT, "logs/%s: its content has digest %s (a damaged bundle)",
			      digest, got);
	if (!rc)
		m->log_seen[i] = 1;
	return rc;
}

/* Before the first record: every indexed file is in the bundle or here;
 * the transaction begins with the index's blob rows. */
static int begin_records(struct bia_ctx *ctx, struct imp *m)
{
	for (size_t i = 0; i < m->blobs.n; i++) {
		char p[BIA_PATH_MAX];
		if (m->blob_seen[i])
			continue;
		bia_blob_path(m->inst, m->blobs.v[i].digest, p, sizeof(p));
		if (!bia_is_file(p))
			return bia_fail(ctx, BIA_EFORMAT,
					"the bundle lacks blobs/%s, which this instance does not have",
					m->blobs.v[i].digest);
		m->rep->files_present++;
	}
	for (size_t i = 0; i < m->logs.n; i++)
		if (!m->log_seen[i])
			return bia_fail(ctx, BIA_EFORMAT, "the bundle lacks logs/%s",
					m->logs.v[i].digest);
	if (bia_store_ximport_begin(ctx, m->inst, &m->x))
		return ctx->rc;
	m->tx = 1;
	for (size_t i = 0; i < m->blobs.n; i++)
		if (bia_store_ximport_blob(ctx, m->x, m->blobs.v[i].digest,
					   (uint64_t)m->blobs.v[i].bytes))
			return ctx->rc;
	return 0;
}

/* A run's staged log goes with its new id ("run-<id>"), until the commit. */
static int stage_run_log(struct bia_ctx *ctx, struct imp *m, const json_t *rec, int64_t id)
{
	json_t *log = json_object_get(rec, "log");
	if (!log)
		return 0;
	const char *d = bia_json_str(log, "digest", "");
	if (!bia_is_sha256_hex(d) || !flist_find(&m->logs, d))
		return bia_fail(ctx, BIA_EFORMAT, "run record: its \"log\" is not in the bundle's index");
	char a[BIA_PATH_MAX], b[BIA_PATH_MAX];
	snprintf(a, sizeof(a), "%s/log-%s", m->staging, d);
	snprintf(b, sizeof(b), "%s/run-%lld", m->staging, (long long)id);
	if (link(a, b))
		return bia_fail(ctx, BIA_EIO, "cannot stage the log of run %lld: %s", (long long)id,
				strerror(errno));
	m->rep->logs++;
	return 0;
}

static int touch(struct imp *m, int64_t image)
{
	if (m->ntouched && m->touched[m->ntouched - 1] == image)
		return 0;
	if (m->ntouched == m->captouched) {
		size_t cap = m->captouched ? m->captouched * 2 : 256;
		int64_t *v = realloc(m->touched, cap * sizeof(*v));
		if (!v)
			return -1;
		m->touched = v;
		m->captouched = cap;
	}
	m->touched[m->ntouched++] = image;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The pyramids of what was added (docs/images.md), as dataset import
 * builds them; a failure leaves the import standing (fsck rebuilds). */
static void build_pyramids(struct imp *m)
{
	if (m->inst->derive_in_background || !m->ntouched || (m->o && m->o->no_pyramids))
		return;
	qsort(m->touched, m->ntouched, sizeof(int64_t), cmp_i64);
	size_t n = 1;
	for (size_t i = 1; i < m->ntouched; i++)
		if (m->touched[i] != m->touched[n - 1])
			m->touched[n++] = m->touched[i];
	m->ntouched = n;
	for (size_t i = 0; i < m->ntouched; i++) {
		struct bia_ctx c;
		bia_ctx_init(&c);
		struct bia_derive_stats ds;
		if (bia_derived_ensure(&c, m->inst, m->touched[i], 0, &ds) == 0)
			m->rep->pyramids_failed += (int64_t)ds.failed;
		bia_derive_stats_release(&ds);
		progress(m, "pyramids", (int64_t)i + 1, (int64_t)m->ntouched);
	}
}

static int import_records(struct bia_ctx *ctx, struct imp *m, struct src *s, int k)
{
	const char *name = rf_path[k];
	struct bia_buf line;
	bia_buf_init(&line, LINE_MAX_BYTES);
	char buf[1 << 16];
	ssize_t n;
	int rc = 0;
	int64_t lineno = 0;
	while (!rc && (n = src_read(s, buf, sizeof(buf))) > 0) {
		ssize_t from = 0;
		for (ssize_t i = 0; i < n && !rc; i++) {
			if (buf[i] != '\n')
				continue;
			if (bia_buf_add(&line, buf + from, (size_t)(i - from))) {
				rc = bia_fail(ctx, BIA_ELIMIT, "%s: line %lld is too long", name,
					      (long long)lineno + 1);
				break;
			}
			from = i + 1;
			lineno++;
			json_t *rec = bia_json_parse(ctx, name, line.buf, line.len);
			struct bia_ximport_result res;
			if (!rec)
				rc = ctx->rc;
			else if (bia_store_ximport_record(ctx, m->x, rf_kind[k], rec, &res))
				rc = ctx->rc;
			else if (k == RF_RUNS && res.added)
				rc = stage_run_log(ctx, m, rec, res.id);
			else if (res.image && touch(m, res.image))
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			json_decref(rec);
			bia_buf_reset(&line);
			if (rc)
				bia_fail_prefix(ctx, "%s line %lld", name, (long long)lineno);
			if (++m->rows_done % 500 == 0)
				progress(m, "records", m->rows_done, m->rows_total);
			if (m->rows_done == 2)
				bia_faultsim("exchange.in_records");
		}
		if (!rc && from < n && bia_buf_add(&line, buf + from, (size_t)(n - from)))
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: line %lld is too long", name,
				      (long long)lineno + 1);
	}
	if (!rc && n < 0)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: truncated or unreadable", name);
	if (!rc && line.len)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: the last line has no newline", name);
	if (!rc && lineno != manifest_int(m, k, "rows"))
		rc = bia_fail(ctx, BIA_ECORRUPT, "%s: %lld records, the manifest says %lld", name,
			      (long long)lineno, (long long)manifest_int(m, k, "rows"));
	bia_buf_release(&line);
	return rc;
}

/* One entry of the bundle, by name, in the order of a bundle. */
static int import_entry(struct bia_ctx *ctx, struct imp *m, const char *name, struct src *s)
{
	bia_sha256_init(&s->h);
	s->read = 0;
	if (!m->manifest) {
		if (strcmp(name, "manifest.json"))
			return bia_fail(ctx, BIA_EFORMAT, "not a biaflows bundle (it starts with '%s', "
				        "not manifest.json)", name);
		if (s->left > (int64_t)MANIFEST_MAX)
			return bia_fail(ctx, BIA_ELIMIT, "manifest.json is too large");
		char *text = malloc((size_t)s->left + 1);
		if (!text)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		size_t len = 0;
		ssize_t n;
		while ((n = src_read(s, text + len, (size_t)s->left)) > 0)
			len += (size_t)n;
		if (n < 0) {
			free(text);
			return bia_fail(ctx, BIA_EFORMAT, "manifest.json: truncated");
		}
		m->manifest = bia_bundle_manifest_parse(ctx, text, len);
		free(text);
		if (!m->manifest)
			return ctx->rc;
		snprintf(m->rep->source_instance, sizeof(m->rep->source_instance), "%s",
			 bia_json_str(m->manifest, "instance", ""));
		snprintf(m->rep->content_digest, sizeof(m->rep->content_digest), "%s",
			 bia_json_str(m->manifest, "content_digest", ""));
		for (int k = RF_PROBLEMS; k < NRF; k++)
			m->rows_total += manifest_int(m, k, "rows");
		return 0;
	}
	int k = 0;
	while (k < NRF && strcmp(rf_path[k], name))
		k++;
	int rc;
	if (k < NRF) {
		if (k != m->stage)
			return bia_fail(ctx, BIA_EFORMAT, "%s is out of order in the bundle (expected %s)",
					name, m->stage < NRF ? rf_path[m->stage] : "nothing more");
		if (k == RF_BLOBS || k == RF_LOGS) {
			rc = read_index(ctx, m, s, name, k == RF_BLOBS ? &m->blobs : &m->logs,
					&m->bytes_total);
			if (!rc && k == RF_LOGS &&
			    (!(m->blob_seen = calloc(m->blobs.n + 1, 1)) ||
			     !(m->log_seen = calloc(m->logs.n + 1, 1))))
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		} else {
			if (k == RF_PROBLEMS && begin_records(ctx, m))
				return ctx->rc;
			rc = import_records(ctx, m, s, k);
		}
		if (rc)
			return rc;
		char got[BIA_SHA256_HEX];
		bia_sha256_final(&s->h, got);
		if (strcmp(got, manifest_digest(m, k)))
			return bia_fail(ctx, BIA_ECORRUPT, "%s: its content has digest %s, the manifest "
					"says %s (a damaged bundle)", name, got, manifest_digest(m, k));
		m->stage = k + 1;
		return 0;
	}
	int blob = !strncmp(name, "blobs/", 6), log = !strncmp(name, "logs/", 5);
	const char *d = name + (blob ? 6 : 5);
	if ((!blob && !log) || !bia_is_sha256_hex(d))
		return bia_fail(ctx, BIA_EFORMAT, "'%s' is not a file a bundle holds", name);
	if (m->stage != RF_PROBLEMS)
		return bia_fail(ctx, BIA_EFORMAT, "%s is out of order in the bundle", name);
	return blob ? import_blob(ctx, m, s, d) : import_log(ctx, m, s, d);
}

/* The staging folder (runs/.exchange-<pid>-XXXXXX), locked while we live. */
static int make_staging(struct bia_ctx *ctx, struct imp *m)
{
	snprintf(m->staging, sizeof(m->staging), "%s/runs/.exchange-%ld-XXXXXX", m->inst->root,
		 (long)getpid());
	if (!mkdtemp(m->staging)) {
		m->staging[0] = '\0';
		return bia_fail(ctx, BIA_EIO, "cannot make a staging folder in '%s/runs': %s",
				m->inst->root, strerror(errno));
	}
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/lock", m->staging);
	m->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (m->lock_fd < 0 || flock(m->lock_fd, LOCK_EX))
		return bia_fail(ctx, BIA_EIO, "cannot lock '%s': %s", p, strerror(errno));
	return 0;
}

/* After the commit: each run-<id> of a staging folder becomes runs/<id>/log
 * when run <id> was imported (it has an origin) and has no log yet. */
static int place_logs(struct bia_ctx *ctx, struct bia_instance *inst, const char *staging,
		      int check_origin)
{
	DIR *d = opendir(staging);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "run-", 4))
			continue;
		char *end;
		long long id = strtoll(e->d_name + 4, &end, 10);
		if (*end || id <= 0)
			continue;
		if (check_origin) {
			char origin[512];
			struct bia_ctx c;
			bia_ctx_init(&c);
			if (bia_store_run_origin(&c, inst, id, origin, sizeof(origin)))
				continue; /* rolled back: the id is not an imported run */
		}
		char dir[BIA_PATH_MAX], src[BIA_PATH_MAX], dst[BIA_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/runs/%lld", inst->root, id);
		snprintf(src, sizeof(src), "%s/%s", staging, e->d_name);
		snprintf(dst, sizeof(dst), "%s/log", dir);
		if (bia_is_file(dst))
			continue;
		if (bia_mkdir_p(ctx, dir) || rename(src, dst)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot place the log of run %lld: %s", id,
				      strerror(errno));
			break;
		}
	}
	closedir(d);
	return rc;
}

int bia_exchange_recover(struct bia_ctx *ctx, struct bia_instance *inst)
{
	char runs[BIA_PATH_MAX];
	snprintf(runs, sizeof(runs), "%s/runs", inst->root);
	DIR *d = opendir(runs);
	if (!d)
		return 0;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".exchange-", 10))
			continue;
		char dir[BIA_PATH_MAX], lock[BIA_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", runs, e->d_name);
		snprintf(lock, sizeof(lock), "%s/lock", dir);
		int fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd); /* a live import's */
			continue;
		}
		if (!place_logs(ctx, inst, dir, 1)) {
			struct bia_ctx c;
			bia_ctx_init(&c);
			bia_rm_rf(&c, dir);
			n++;
		}
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return n;
}

static int import_tar(struct bia_ctx *ctx, struct imp *m, const char *path)
{
	struct archive *a = archive_read_new();
	if (!a)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = 0;
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		rc = bia_fail(ctx, BIA_EFORMAT, "'%s': %s", path, archive_error_string(a));
	struct archive_entry *en;
	int r;
	while (!rc && (r = archive_read_next_header(a, &en)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(en);
		if (archive_entry_filetype(en) == AE_IFDIR)
			continue;
		if (!name || archive_entry_filetype(en) != AE_IFREG || !archive_entry_size_is_set(en)) {
			rc = bia_fail(ctx, BIA_EFORMAT, "'%s' in the bundle is not a regular file",
				      name ? name : "?");
			break;
		}
		struct src s = {.a = a, .fd = -1, .left = archive_entry_size(en)};
		rc = import_entry(ctx, m, name, &s);
		if (!rc && s.left)
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: not read to its end", name);
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = bia_fail(ctx, BIA_EFORMAT, "'%s': %s", path, archive_error_string(a));
	if (!rc && !m->manifest)
		rc = bia_fail(ctx, BIA_EFORMAT, "'%s' is empty: not a biaflows bundle", path);
	archive_read_free(a);
	return rc;
}

/* An unpacked bundle: the same entries, read from files in a bundle's
 * order; files the folder lacks must be here already. */
static int dir_entry(struct bia_ctx *ctx, struct imp *m, const char *dir, const char *name,
		     int optional)
{
	char p[BIA_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		return bia_fail(ctx, BIA_EFORMAT, "'%s': %s", p, strerror(errno));
	}
	struct stat sb;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return bia_fail(ctx, BIA_EFORMAT, "'%s' is not a regular file", p);
	}
	struct src s = {.fd = fd, .left = sb.st_size};
	int rc = import_entry(ctx, m, name, &s);
	close(fd);
	return rc;
}

static int import_dir(struct bia_ctx *ctx, struct imp *m, const char *dir)
{
	char name[128];
	if (dir_entry(ctx, m, dir, "manifest.json", 0) || dir_entry(ctx, m, dir, rf_path[RF_BLOBS], 0) ||
	    dir_entry(ctx, m, dir, rf_path[RF_LOGS], 0))
		return ctx->rc;
	for (size_t i = 0; i < m->blobs.n; i++) {
		snprintf(name, sizeof(name), "blobs/%s", m->blobs.v[i].digest);
		if (dir_entry(ctx, m, dir, name, 1))
			return ctx->rc;
	}
	for (size_t i = 0; i < m->logs.n; i++) {
		snprintf(name, sizeof(name), "logs/%s", m->logs.v[i].digest);
		if (dir_entry(ctx, m, dir, name, 0))
			return ctx->rc;
	}
	for (int k = RF_PROBLEMS; k < NRF; k++)
		if (dir_entry(ctx, m, dir, rf_path[k], 0))
			return ctx->rc;
	return 0;
}

int bia_bundle_import(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
	       const struct bia_bundle_import_opts *o, struct bia_bundle_import_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	struct imp m = {.inst = inst, .o = o, .rep = rep, .lock_fd = -1};
	struct stat sb;
	if (stat(path, &sb))
		return bia_fail(ctx, BIA_ENOENT, "'%s': %s", path, strerror(errno));
	struct bia_ctx rc_ctx;
	bia_ctx_init(&rc_ctx);
	bia_exchange_recover(&rc_ctx, inst);
	int rc = bia_blob_lock_shared(ctx, inst) || make_staging(ctx, &m);
	/* files synced once, before the commit (not one by one) */
	bia_blob_defer_sync(1);
	if (!rc)
		rc = S_ISDIR(sb.st_mode) ? import_dir(ctx, &m, path) : import_tar(ctx, &m, path);
	bia_blob_defer_sync(0);
	if (!rc)
		rc = bia_blob_sync(ctx, inst);
	if (!rc && m.stage != NRF)
		rc = bia_fail(ctx, BIA_EFORMAT, "the bundle ends before %s", rf_path[m.stage]);
	if (!rc) {
		rep->counts = *bia_store_ximport_counts(m.x);
		rep->skipped = bia_store_ximport_skipped(m.x);
		progress(&m, "commit", m.rows_done, m.rows_total);
		bia_faultsim("exchange.before_commit");
		struct bia_ximport *x = m.x;
		m.x = NULL;
		m.tx = 0;
		rc = bia_store_ximport_commit(ctx, x);
	}
	int committed = !rc;
	if (committed) {
		bia_faultsim("exchange.after_commit");
		if (place_logs(ctx, inst, m.staging, 0)) {
			/* the rows are in; the logs wait for recovery (fsck, the
			 * next import) in the staging folder */
			close(m.lock_fd);
			m.lock_fd = -1;
			m.staging[0] = '\0';
			rc = ctx->rc;
		}
	}
	if (committed)
		build_pyramids(&m);
	if (rc && !committed) {
		if (m.x)
			bia_store_ximport_abort(m.x);
		/* the files this import added and nothing references */
		bia_blob_remove_unreferenced(inst, m.new_blobs, m.nnew);
	}
	if (m.staging[0]) {
		struct bia_ctx c;
		bia_ctx_init(&c);
		bia_rm_rf(&c, m.staging);
	}
	if (m.lock_fd >= 0)
		close(m.lock_fd);
	json_decref(m.manifest);
	free(m.blobs.v);
	free(m.logs.v);
	free(m.blob_seen);
	free(m.log_seen);
	free(m.new_blobs);
	free(m.touched);
	if (rc) {
		json_decref(rep->skipped);
		rep->skipped = NULL;
	}
	if (rc)
		return bia_fail_prefix(ctx, committed ? "import of '%s' (imported; run logs left for "
						       "'biaflows fsck' to place)"
						     : "import of '%s' (nothing imported)",
				       path);
	return 0;
}

void bia_bundle_import_report_release(struct bia_bundle_import_report *rep)
{
	json_decref(rep->skipped);
	rep->skipped = NULL;
}
