/* Trusted workflow sources: git repositories (local paths, file://,
 * http:// and https:// URLs) an admin registers, fetched into a bare
 * mirror inside the instance and synced: every new tag becomes an
 * immutable workflow version through the registry's own git import, and
 * the source records what became of each tag. One sync of a source at a
 * time, across processes (a lock file beside its mirror).
 * docs/workflows.md "Trusted sources".
 * SPDX-License-Identifier: MIT */
#include "workflow/workflow.h"
#include "workflow/registry_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ addresses */

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Which repositories we accept: a local path (made absolute), or a URL of
 * a scheme libgit2 fetches without keys or agents of ours. ssh (and
 * scp-like user@host:path) would need credentials the server does not
 * have, git:// is unauthenticated and unencrypted. out: what is stored. */
static int normalise_url(struct bia_ctx *ctx, const char *in, char *out, size_t outsz)
{
	const char *sep = strstr(in, "://");
	if (sep) {
		if (!has_prefix(in, "file://") && !has_prefix(in, "http://") &&
		    !has_prefix(in, "https://"))
			return bia_fail(ctx, BIA_EUNSUPPORTED,
					"'%s': scheme '%.*s' is not accepted (a source is a local "
					"path, or a file://, http:// or https:// URL)",
					in, (int)(sep - in), in);
		if (!sep[3])
			return bia_fail(ctx, BIA_EINVAL, "'%s': the URL has no host or path", in);
		for (const unsigned char *p = (const unsigned char *)in; *p; p++)
			if (*p <= 0x20 || *p == 0x7f)
				return bia_fail(ctx, BIA_EINVAL,
						"'%s': spaces and control characters are not "
						"allowed in a URL",
						in);
		if ((size_t)snprintf(out, outsz, "%s", in) >= outsz)
			return bia_fail(ctx, BIA_ELIMIT, "the URL is too long (at most %zu bytes)",
					outsz - 1);
		return 0;
	}
	const char *colon = strchr(in, ':'), *slash = strchr(in, '/');
	if (colon && (!slash || colon < slash) && access(in, F_OK))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"'%s' looks like an ssh address: not accepted (a source is a local "
				"path, or a file://, http:// or https:// URL)",
				in);
	char real[PATH_MAX];
	if (!bia_is_dir(in) || !realpath(in, real))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", in);
	git_repository *r = NULL;
	int bad = git_repository_open_ext(&r, real, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	git_repository_free(r);
	if (bad)
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a git repository", in);
	if ((size_t)snprintf(out, outsz, "%s", real) >= outsz)
		return bia_fail(ctx, BIA_ELIMIT, "the path is too long (at most %zu bytes)",
				outsz - 1);
	return 0;
}

/* The URL as shown: a password in it is masked (lists are read by every
 * viewer; the stored URL keeps it for fetching). */
static void display_url(const char *url, char *out, size_t outsz)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : NULL;
	const char *at = host ? strchr(host, '@') : NULL;
	const char *slash = host ? strchr(host, '/') : NULL;
	const char *colon = host ? strchr(host, ':') : NULL;
	if (at && (!slash || at < slash) && colon && colon < at)
		snprintf(out, outsz, "%.*s:***%s", (int)(colon - url), url, at);
	else
		snprintf(out, outsz, "%s", url);
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > BIA_SOURCE_NAME_MAX || strspn(s, "0123456789") == n)
		return 0;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
			return 0;
	return 1;
}

/* The default name: the last part of the path or URL without ".git",
 * other characters as '-'. */
static void default_name(const char *url, char *out, size_t outsz)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	size_t b = n;
	while (b && url[b - 1] != '/' && url[b - 1] != ':')
		b--;
	if (n - b > 4 && !strncmp(url + n - 4, ".git", 4))
		n -= 4;
	size_t k = 0;
	for (size_t i = b; i < n && k + 1 < outsz && k < BIA_SOURCE_NAME_MAX; i++) {
		char c = url[i];
		out[k++] = strchr("._-", c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9')
				   ? c
				   : '-';
	}
	out[k] = 0;
	if (!name_ok(out))
		snprintf(out, outsz, "source");
}

static int git_err(struct bia_ctx *ctx, enum bia_rc rc, const char *what)
{
	const git_error *e = git_error_last();
	return bia_fail(ctx, rc, "%s: %s", what, e && e->message ? e->message : "git error");
}

/* Reach the repository and list its references (no objects fetched). */
static int probe(struct bia_ctx *ctx, const char *url)
{
	git_remote *rem = NULL;
	int rc = 0;
	if (git_remote_create_anonymous(&rem, NULL, url))
		return git_err(ctx, BIA_EINVAL, url);
	git_remote_callbacks cb;
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION); /* the macro trips
									 -Wextra */
	if (git_remote_connect(rem, GIT_DIRECTION_FETCH, &cb, NULL, NULL)) {
		rc = git_err(ctx, BIA_EIO, "cannot reach the repository");
	} else {
		const git_remote_head **heads;
		size_t n;
		if (git_remote_ls(&heads, &n, rem))
			rc = git_err(ctx, BIA_EIO, "cannot list the repository's references");
	}
	git_remote_free(rem);
	return rc;
}

/* ------------------------------------------------------------------ JSON */

static json_t *time_or_null(int64_t t)
{
	if (t <= 0)
		return json_null();
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *source_json(const struct bia_wf_source *s)
{
	char url[sizeof(s->url)];
	display_url(s->url, url, sizeof(url));
	json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s}", "id", (json_int_t)s->id,
			      "name", s->name, "url", url, "interval", (json_int_t)s->interval,
			      "status", s->status, "error", s->error, "created_at", s->created);
	if (!o)
		return NULL;
	json_object_set_new(o, "last_sync_at", time_or_null(s->synced_at));
	json_object_set_new(o, "last_ok_at", time_or_null(s->ok_at));
	return o;
}

static json_t *tag_json(const struct bia_wf_source_tag *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "tag", t->tag, "status", t->status,
			      "message", t->message, "updated_at", t->updated);
	if (!o)
		return NULL;
	json_object_set_new(o, "version_id", t->version_id ? json_integer(t->version_id)
							   : json_null());
	json_object_set_new(o, "workflow", t->workflow[0] ? json_string(t->workflow)
							  : json_null());
	json_object_set_new(o, "commit", t->commit[0] ? json_string(t->commit) : json_null());
	json_object_set_new(o, "digest", t->digest[0] ? json_string(t->digest) : json_null());
	return o;
}

/* The source with its tags (and a count per status). */
static int source_full_json(struct bia_ctx *ctx, struct bia_instance *inst,
			    const struct bia_wf_source *s, json_t **pout)
{
	struct bia_wf_source_tag *tv;
	size_t tn;
	if (bia_store_source_tags(ctx, inst, s->id, &tv, &tn))
		return ctx->rc;
	json_t *o = source_json(s), *tags = json_array();
	for (size_t i = 0; i < tn; i++)
		json_array_append_new(tags, tag_json(&tv[i]));
	free(tv);
	if (!o || !tags) {
		json_decref(o);
		json_decref(tags);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	json_object_set_new(o, "tags", tags);
	*pout = o;
	return 0;
}

/* ----------------------------------------------------------------- public */

int bia_source_add(struct bia_ctx *ctx, struct bia_instance *inst, const char *url,
		   const struct bia_source_add_opts *o, json_t **pout)
{
	*pout = NULL;
	struct bia_wf_source s;
	memset(&s, 0, sizeof(s));
	s.interval = o && o->interval ? o->interval : BIA_SOURCE_DEFAULT_INTERVAL;
	if (s.interval < BIA_SOURCE_MIN_INTERVAL || s.interval > BIA_SOURCE_MAX_INTERVAL)
		return bia_fail(ctx, BIA_EINVAL, "the interval is %d to %d seconds",
				BIA_SOURCE_MIN_INTERVAL, BIA_SOURCE_MAX_INTERVAL);
	if (o && o->name) {
		if (!name_ok(o->name))
			return bia_fail(ctx, BIA_EINVAL,
					"source name '%s': 1 to %d of letters, digits, '.', '_', "
					"'-', not all digits",
					o->name, BIA_SOURCE_NAME_MAX);
		snprintf(s.name, sizeof(s.name), "%s", o->name);
	}
	git_libgit2_init();
	int rc = normalise_url(ctx, url, s.url, sizeof(s.url));
	/* refused now rather than at every sync: nothing is stored */
	if (!rc && (rc = probe(ctx, s.url)))
		bia_fail_prefix(ctx, "source '%s'", url);
	git_libgit2_shutdown();
	if (rc)
		return rc;
	if (!s.name[0])
		default_name(s.url, s.name, sizeof(s.name));
	if (bia_store_source_add(ctx, inst, &s))
		return ctx->rc;
	if (!(*pout = source_json(&s)))
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	return 0;
}

int bia_sources_list_json(struct bia_ctx *ctx, struct bia_instance *inst, json_t **pout)
{
	struct bia_wf_source *v;
	size_t n;
	*pout = NULL;
	if (bia_store_source_list(ctx, inst, &v, &n))
		return ctx->rc;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, source_json(&v[i]));
	free(v);
	*pout = rows;
	return 0;
}

int bia_source_json(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		    json_t **pout)
{
	struct bia_wf_source s;
	*pout = NULL;
	if (bia_store_source_get(ctx, inst, ref, &s))
		return ctx->rc;
	return source_full_json(ctx, inst, &s, pout);
}

static void source_paths(const struct bia_instance *inst, int64_t id, char *mirror, size_t msz,
			 char *lock, size_t lsz)
{
	snprintf(mirror, msz, "%s/sources/%lld.git", inst->root, (long long)id);
	snprintf(lock, lsz, "%s/sources/%lld.lock", inst->root, (long long)id);
}

/* Take the lock of a source's syncs (a file lock: other processes and
 * other threads alike). wait 0: BIA_EBUSY when held. *pfd to close. */
static int lock_source(struct bia_ctx *ctx, const struct bia_instance *inst, int64_t id, int wait,
		       int *pfd)
{
	char dir[BIA_PATH_MAX], mirror[BIA_PATH_MAX], lock[BIA_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/sources", inst->root);
	source_paths(inst, id, mirror, sizeof(mirror), lock, sizeof(lock));
	if (bia_mkdir_p(ctx, dir))
		return ctx->rc;
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "cannot open '%s': %s", lock, strerror(errno));
	int r;
	while ((r = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) && errno == EINTR)
		;
	if (r) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return bia_fail(ctx, BIA_EBUSY, "source %lld is being synced", (long long)id);
		return bia_fail(ctx, BIA_EIO, "cannot lock '%s': %s", lock, strerror(e));
	}
	*pfd = fd;
	return 0;
}

int bia_source_rm(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		  json_t **pout)
{
	struct bia_wf_source s;
	*pout = NULL;
	if (bia_store_source_get(ctx, inst, ref, &s))
		return ctx->rc;
	/* not in the middle of its sync: that would record tags of a source
	 * that is gone (refused then anyway) and leave its mirror behind */
	int fd;
	if (lock_source(ctx, inst, s.id, 1, &fd))
		return ctx->rc;
	int rc = bia_store_source_rm(ctx, inst, s.id);
	if (!rc) {
		char mirror[BIA_PATH_MAX], lock[BIA_PATH_MAX];
		source_paths(inst, s.id, mirror, sizeof(mirror), lock, sizeof(lock));
		struct bia_ctx tmp;
		bia_ctx_init(&tmp);
		if (bia_rm_rf(&tmp, mirror)) /* the row is gone: a leftover mirror is harmless */
			bia_warn("%s", tmp.msg);
		unlink(lock);
		*pout = source_json(&s);
	}
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ sync */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fetch every tag into the bare mirror, forced (a moved tag is seen as
 * moved), and remove the mirror's tags the repository no longer has. */
static int fetch_mirror(struct bia_ctx *ctx, const char *dir, const char *url,
			git_repository **prepo)
{
	git_repository *r = NULL;
	git_remote *rem = NULL;
	git_strarray local = {0};
	int rc = 0;
	*prepo = NULL;
	if (git_repository_open_bare(&r, dir) && git_repository_init(&r, dir, 1))
		return git_err(ctx, BIA_EIO, dir);
	/* anonymous: the URL is the source's, never a remote in the mirror's
	 * config that could drift from it; and no url.*.insteadOf rewriting
	 * (libgit2 1.5 also leaks the regex match data of that lookup) */
	git_remote_create_options ro;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = r;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&rem, url, &ro)) {
		rc = git_err(ctx, BIA_EINVAL, url);
		goto out;
	}
	char *spec = "+refs/tags/*:refs/tags/*";
	git_strarray specs = {&spec, 1};
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	if (git_remote_fetch(rem, &specs, &fo, NULL)) {
		rc = git_err(ctx, BIA_EIO, "cannot fetch");
		goto out;
	}
	const git_remote_head **heads;
	size_t nh;
	if (git_remote_ls(&heads, &nh, rem)) {
		rc = git_err(ctx, BIA_EIO, "cannot list the repository's references");
		goto out;
	}
	if (git_tag_list(&local, r)) {
		rc = git_err(ctx, BIA_EIO, dir);
		goto out;
	}
	for (size_t i = 0; i < local.count; i++) {
		char ref[600];
		snprintf(ref, sizeof(ref), "refs/tags/%s", local.strings[i]);
		int there = 0;
		for (size_t k = 0; k < nh && !there; k++)
			there = !strcmp(heads[k]->name, ref);
		git_reference *gr;
		if (!there && !git_reference_lookup(&gr, r, ref)) {
			if (git_reference_delete(gr))
				rc = git_err(ctx, BIA_EIO, ref);
			git_reference_free(gr);
		}
	}
out:
	git_strarray_dispose(&local);
	git_remote_free(rem);
	if (rc)
		git_repository_free(r);
	else
		*prepo = r;
	return rc;
}

static struct bia_wf_source_tag *find_tag(struct bia_wf_source_tag *v, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].tag, tag))
			return &v[i];
	return NULL;
}

/* The commit (or tree) a tag names, as hex; "" if it names neither. */
static void tag_target(git_repository *r, const char *tag, char out[48])
{
	char ref[600];
	git_object *obj = NULL, *peeled = NULL;
	out[0] = 0;
	snprintf(ref, sizeof(ref), "refs/tags/%s", tag);
	if (git_revparse_single(&obj, r, ref))
		return;
	if (!git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) ||
	    !git_object_peel(&peeled, obj, GIT_OBJECT_TREE))
		git_oid_tostr(out, 48, git_object_id(peeled));
	git_object_free(peeled);
	git_object_free(obj);
}

/* One sync of a source whose lock is held: fetch, import, record. The
 * result (*pout): the source after the sync, its tags, `imported` (ids of
 * the versions this sync added) and `changes` (the tags whose outcome this
 * sync decided). */
static int sync_locked(struct bia_ctx *ctx, struct bia_instance *inst, struct bia_wf_source *s,
		       json_t **pout)
{
	char mirror[BIA_PATH_MAX], lock[BIA_PATH_MAX], now_iso[21];
	source_paths(inst, s->id, mirror, sizeof(mirror), lock, sizeof(lock));
	bia_now_iso(now_iso);
	struct bia_wf_source_tag *old = NULL, *rows = NULL;
	size_t nold = 0, nrows = 0;
	git_repository *r = NULL;
	git_strarray tags = {0};
	json_t *imported = json_array(), *changes = json_array();
	size_t nrefused = 0;
	char first[1024] = "";
	int rc;

	s->synced_at = (int64_t)time(NULL);
	if ((rc = bia_store_source_tags(ctx, inst, s->id, &old, &nold)))
		goto out;
	struct bia_ctx fctx;
	bia_instance_ctx(inst, &fctx);
	if (fetch_mirror(&fctx, mirror, s->url, &r)) {
		/* not reached (or not a repository now): recorded on the source,
		 * its tags and versions as they were */
		snprintf(s->status, sizeof(s->status), "error");
		snprintf(s->error, sizeof(s->error), "%s", fctx.msg);
		goto record;
	}
	if (git_tag_list(&tags, r)) {
		rc = git_err(ctx, BIA_EIO, mirror);
		goto out;
	}
	qsort(tags.strings, tags.count, sizeof(char *), str_cmp);
	rows = bia_calloc(tags.count + nold + 1, sizeof(*rows));
	if (!rows) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	char gsource[sizeof(s->url) + 8];
	snprintf(gsource, sizeof(gsource), "git:%s", s->url);
	for (size_t i = 0; i < tags.count; i++) {
		const char *tag = tags.strings[i];
		struct bia_wf_source_tag *rec = find_tag(old, nold, tag);
		char commit[48];
		tag_target(r, tag, commit);
		if (rec && commit[0] && !strcmp(rec->commit, commit) &&
		    (!strcmp(rec->status, "imported") || !strcmp(rec->status, "present")))
			continue; /* seen before, unchanged */
		struct bia_wf_source_tag *t = &rows[nrows++];
		if (rec)
			*t = *rec; /* a refusal keeps the version the tag gave before */
		snprintf(t->tag, sizeof(t->tag), "%s", tag);
		snprintf(t->updated, sizeof(t->updated), "%s", now_iso);
		struct bia_wf_add_opts ao;
		memset(&ao, 0, sizeof(ao));
		ao.source = gsource;
		/* a tag that gave a version before must still give that content */
		ao.expect_digest = rec && rec->version_id && rec->digest[0] ? rec->digest : NULL;
		struct bia_wf_added a;
		memset(&a, 0, sizeof(a));
		struct bia_ctx tctx;
		bia_instance_ctx(inst, &tctx);
		char what[sizeof(s->url)];
		display_url(s->url, what, sizeof(what));
		if (bia__workflow_add_tag(&tctx, inst, r, what, tag, &ao, &a) == 0) {
			int same = rec && rec->version_id == a.id;
			snprintf(t->status, sizeof(t->status), "%s",
				 !a.existed ? "imported"
				 : same && !strcmp(rec->status, "imported") ? "imported"
									    : "present");
			t->version_id = a.id;
			snprintf(t->commit, sizeof(t->commit), "%s", commit);
			snprintf(t->digest, sizeof(t->digest), "%s", a.digest);
			t->message[0] = 0;
			if (!a.existed)
				json_array_append_new(imported, json_integer(a.id));
		} else {
			snprintf(t->status, sizeof(t->status), "refused");
			snprintf(t->message, sizeof(t->message), "%s", a.msg[0] ? a.msg : tctx.msg);
			if (!nrefused++)
				snprintf(first, sizeof(first), "tag '%s': %s", tag, t->message);
		}
		json_t *c = json_pack("{s:s, s:s, s:s}", "tag", tag, "status", t->status, "message",
				      t->message);
		json_object_set_new(c, "version_id",
				    t->version_id ? json_integer(t->version_id) : json_null());
		json_array_append_new(changes, c);
	}
	/* tags the repository no longer has: their versions stay */
	for (size_t i = 0; i < nold; i++) {
		struct bia_wf_source_tag *rec = &old[i];
		int there = 0;
		for (size_t k = 0; k < tags.count && !there; k++)
			there = !strcmp(tags.strings[k], rec->tag);
		if (there || !strcmp(rec->status, "deleted"))
			continue;
		struct bia_wf_source_tag *t = &rows[nrows++];
		*t = *rec;
		snprintf(t->status, sizeof(t->status), "deleted");
		snprintf(t->updated, sizeof(t->updated), "%s", now_iso);
		snprintf(t->message, sizeof(t->message), "%s",
			 rec->version_id ? "the tag was deleted from the repository; its version "
					   "is kept"
					 : "the tag was deleted from the repository");
		json_t *c = json_pack("{s:s, s:s, s:s}", "tag", t->tag, "status", t->status,
				      "message", t->message);
		json_object_set_new(c, "version_id",
				    t->version_id ? json_integer(t->version_id) : json_null());
		json_array_append_new(changes, c);
	}
	s->ok_at = s->synced_at;
	if (nrefused) {
		snprintf(s->status, sizeof(s->status), "partial");
		snprintf(s->error, sizeof(s->error), "%zu tag(s) refused; %s", nrefused, first);
	} else {
		snprintf(s->status, sizeof(s->status), "ok");
		s->error[0] = 0;
	}
record:
	if ((rc = bia_store_source_synced(ctx, inst, s, rows, nrows)))
		goto out;
	if ((rc = source_full_json(ctx, inst, s, pout)))
		goto out;
	json_object_set(*pout, "imported", imported);
	json_object_set(*pout, "changes", changes);
out:
	json_decref(imported);
	json_decref(changes);
	git_strarray_dispose(&tags);
	git_repository_free(r);
	free(rows);
	free(old);
	return rc;
}

/* Sync one source: wait for its lock (wait) or give up (BIA_EBUSY); with
 * `due_only`, skip it (*pout NULL) unless its interval has passed. */
static int sync_one(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id, int wait,
		    int64_t due_interval, json_t **pout)
{
	int fd;
	*pout = NULL;
	if (lock_source(ctx, inst, id, wait, &fd))
		return ctx->rc;
	/* read again under the lock: another process may just have synced it
	 * (or removed it) */
	struct bia_wf_source s;
	char ref[24];
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	int rc = bia_store_source_get(ctx, inst, ref, &s);
	if (!rc) {
		int64_t iv = due_interval > 0 ? due_interval : s.interval;
		if (due_interval >= 0 && s.synced_at && s.synced_at + iv > (int64_t)time(NULL))
			rc = 0; /* not due */
		else {
			git_libgit2_init();
			rc = sync_locked(ctx, inst, &s, pout);
			git_libgit2_shutdown();
		}
	}
	close(fd);
	return rc;
}

int bia_source_sync(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		    json_t **pout)
{
	*pout = NULL;
	if (ref) {
		struct bia_wf_source s;
		if (bia_store_source_get(ctx, inst, ref, &s))
			return ctx->rc;
		return sync_one(ctx, inst, s.id, 1, -1, pout);
	}
	struct bia_wf_source *v;
	size_t n;
	if (bia_store_source_list(ctx, inst, &v, &n))
		return ctx->rc;
	json_t *all = json_array();
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *one;
		rc = sync_one(ctx, inst, v[i].id, 1, -1, &one);
		if (rc == BIA_ENOENT) { /* removed meanwhile */
			bia_ctx_clear(ctx);
			rc = 0;
		} else if (!rc) {
			json_array_append_new(all, one);
		}
	}
	free(v);
	if (rc) {
		json_decref(all);
		return rc;
	}
	*pout = all;
	return 0;
}

int bia_sources_sync_due(struct bia_ctx *ctx, struct bia_instance *inst, int64_t interval,
			 int64_t *pnext)
{
	struct bia_wf_source *v;
	size_t n;
	int64_t next = 60;
	if (bia_store_source_list(ctx, inst, &v, &n))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t iv = interval > 0 ? interval : v[i].interval;
		int64_t now = (int64_t)time(NULL), due = v[i].synced_at + iv;
		if (v[i].synced_at && due > now) {
			if (due - now < next)
				next = due - now;
			continue;
		}
		struct bia_ctx one;
		bia_instance_ctx(inst, &one);
		json_t *res = NULL;
		int r = sync_one(&one, inst, v[i].id, 0, iv, &res);
		if (r && r != BIA_EBUSY && r != BIA_ENOENT) {
			bia_warn("source '%s': sync failed: %s", v[i].name, one.msg);
			if (!rc)
				rc = bia_fail(ctx, (enum bia_rc)r, "source '%s': %s", v[i].name,
					      one.msg);
		} else if (res) {
			const char *st = bia_json_str(res, "status", "");
			size_t k = json_array_size(json_object_get(res, "imported"));
			if (k || strcmp(st, "ok"))
				bia_info("source '%s': %s, %zu version(s) imported%s%s", v[i].name,
					 st, k, strcmp(st, "ok") ? ": " : "",
					 bia_json_str(res, "error", ""));
		}
		json_decref(res);
		if (iv < next)
			next = iv;
	}
	free(v);
	*pnext = next < 1 ? 1 : next;
	return rc;
}
