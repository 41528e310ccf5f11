/* The workflow registry: add a folder or the tags of a local git repository
 * as immutable workflow versions (descriptor + files stored as blobs),
 * resolve NAME[@VERSION], describe a version as JSON.
 * Both sources feed one list of entries (struct wf_tree) into add_tree():
 * validate, hash, check immutability, store blobs, add in one transaction.
 * SPDX-License-Identifier: MIT */
#include "workflow/workflow.h"
#include "workflow/registry_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WF_MAX_DEPTH 64

/* One file of a version being added. */
struct wf_ent {
	char path[512];		     /* relative path, '/'-separated */
	int mode;		     /* 0644 or 0755 */
	char digest[BIA_SHA256_HEX]; /* filled by hash_all */
	uint64_t bytes;
	char *fs;		     /* file on disk (malloc'd), or NULL: git blob */
	git_oid oid;		     /* the blob when fs == NULL */
};

struct wf_tree {
	struct wf_ent *v;
	size_t n, cap;
	uint64_t total;
	git_repository *repo; /* for git blobs, else NULL */
	size_t max_files;
	uint64_t max_file_bytes, max_total_bytes;
	const char *what; /* the folder or "repo@tag", for messages */
};

static void tree_init(struct wf_tree *t, const struct bia_wf_add_opts *o, const char *what)
{
	memset(t, 0, sizeof(*t));
	t->max_files = o && o->max_files ? o->max_files : BIA_WF_MAX_FILES;
	t->max_file_bytes = o && o->max_file_bytes ? o->max_file_bytes : BIA_WF_MAX_FILE_BYTES;
	t->max_total_bytes = o && o->max_total_bytes ? o->max_total_bytes : BIA_WF_MAX_TOTAL_BYTES;
	t->what = what;
}

static void tree_release(struct wf_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].fs);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static int mode_of(unsigned m)
{
	return (m & 0111) ? 0755 : 0644;
}

/* Append an entry after checking its path and the limits. */
static struct wf_ent *tree_push(struct bia_ctx *ctx, struct wf_tree *t, const char *rel,
				int mode, uint64_t bytes)
{
	if (strlen(rel) >= sizeof(t->v[0].path)) {
		bia_fail(ctx, BIA_ELIMIT, "%s: path '%.80s...' is too long (at most %zu bytes)",
			 t->what, rel, sizeof(t->v[0].path) - 1);
		return NULL;
	}
	for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			bia_fail(ctx, BIA_EINVAL, "%s: file name '%s' has a control character",
				 t->what, rel);
			return NULL;
		}
	if (t->n >= t->max_files) {
		bia_fail(ctx, BIA_ELIMIT, "%s: too many files (more than %zu)", t->what,
			 t->max_files);
		return NULL;
	}
	if (bytes > t->max_file_bytes) {
		bia_fail(ctx, BIA_ELIMIT, "%s: file '%s' is too large (%llu bytes, at most %llu)",
			 t->what, rel, (unsigned long long)bytes,
			 (unsigned long long)t->max_file_bytes);
		return NULL;
	}
	if (t->total + bytes > t->max_total_bytes) {
		bia_fail(ctx, BIA_ELIMIT, "%s: files are too large in total (more than %llu bytes)",
			 t->what, (unsigned long long)t->max_total_bytes);
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		void *nv = realloc(t->v, cap * sizeof(*t->v));
		if (!nv) {
			bia_fail(ctx, BIA_ENOMEM, "out of memory");
			return NULL;
		}
		t->v = nv;
		t->cap = cap;
	}
	struct wf_ent *e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", rel);
	e->mode = mode;
	e->bytes = bytes;
	t->total += bytes;
	return e;
}

/* ------------------------------------------------------------ folder walk */

static int walk_dir(struct bia_ctx *ctx, struct wf_tree *t, const char *root_real,
		    const char *dir, const char *rel, int depth)
{
	if (depth > WF_MAX_DEPTH)
		return bia_fail(ctx, BIA_ELIMIT, "%s: folders nested too deep (more than %d)",
				t->what, WF_MAX_DEPTH);
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, BIA_EIO, "cannot read folder '%s': %s", dir, strerror(errno));
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		const char *nm = de->d_name;
		if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git"))
			continue;
		char full[BIA_PATH_MAX], r[BIA_PATH_MAX];
		if (snprintf(full, sizeof(full), "%s/%s", dir, nm) >= (int)sizeof(full) ||
		    snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", nm) >= (int)sizeof(r)) {
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: path too long under '%s'", t->what, rel);
			break;
		}
		struct stat st;
		if (lstat(full, &st)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot stat '%s': %s", full, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(ctx, t, root_real, full, r, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			struct wf_ent *e = tree_push(ctx, t, r, mode_of(st.st_mode), (uint64_t)st.st_size);
			if (!e || !(e->fs = bia_strdup(full)))
				rc = e ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : (int)ctx->rc;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			size_t rl = strlen(root_real);
			if (!realpath(full, target)) {
				rc = bia_fail(ctx, BIA_EINVAL, "%s: symbolic link '%s' is broken", t->what, r);
				break;
			}
			if (strncmp(target, root_real, rl) || target[rl] != '/') {
				rc = bia_fail(ctx, BIA_EPERM,
					      "%s: symbolic link '%s' points outside the folder ('%s')",
					      t->what, r, target);
				break;
			}
			struct stat ts;
			if (stat(target, &ts) || !S_ISREG(ts.st_mode)) {
				rc = bia_fail(ctx, BIA_EINVAL,
					      "%s: symbolic link '%s' does not name a regular file "
					      "(links to folders are not followed)",
					      t->what, r);
				break;
			}
			struct wf_ent *e = tree_push(ctx, t, r, mode_of(ts.st_mode), (uint64_t)ts.st_size);
			if (!e || !(e->fs = bia_strdup(target)))
				rc = e ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : (int)ctx->rc;
		} else {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "%s: '%s' is a special file (device, socket or fifo): refused",
				      t->what, r);
		}
	}
	closedir(d);
	return rc;
}

/* ------------------------------------------------------------- git trees */

struct gwalk {
	struct bia_ctx *ctx;
	struct wf_tree *t;
	git_tree *root;
	int rc;
};

static int git_fail(struct bia_ctx *ctx, const char *what)
{
	const git_error *e = git_error_last();
	return bia_fail(ctx, BIA_EIO, "%s: %s", what, e && e->message ? e->message : "git error");
}

/* Resolve a symlink's target relative to the link's folder, textually;
 * -1 if it leaves the tree or is absolute. */
static int norm_link(const char *linkpath, const char *target, char *out, size_t outsz)
{
	char buf[1200];
	if (target[0] == '/')
		return -1;
	const char *slash = strrchr(linkpath, '/');
	int k = snprintf(buf, sizeof(buf), "%.*s%s%s", slash ? (int)(slash - linkpath) : 0,
			 linkpath, slash ? "/" : "", target);
	if (k < 0 || (size_t)k >= sizeof(buf))
		return -1;
	size_t on = 0;
	out[0] = 0;
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (!on)
				return -1;
			char *p = strrchr(out, '/');
			on = p ? (size_t)(p - out) : 0;
			out[on] = 0;
			continue;
		}
		size_t cl = strlen(c);
		if (on + cl + 2 > outsz)
			return -1;
		if (on)
			out[on++] = '/';
		memcpy(out + on, c, cl + 1);
		on += cl;
	}
	return on ? 0 : -1;
}

static int gwalk_cb(const char *prefix, const git_tree_entry *te, void *payload)
{
	struct gwalk *w = payload;
	const char *nm = git_tree_entry_name(te);
	git_filemode_t fm = git_tree_entry_filemode(te);
	if (!strcmp(nm, ".git"))
		return 1; /* skip */
	if (fm == GIT_FILEMODE_TREE)
		return 0;
	char rel[1024];
	snprintf(rel, sizeof(rel), "%s%s", prefix, nm);
	const git_oid *oid = git_tree_entry_id(te);
	int mode = fm == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
	if (fm == GIT_FILEMODE_COMMIT) {
		w->rc = bia_fail(w->ctx, BIA_EUNSUPPORTED,
				 "%s: '%s' is a submodule: refused (workflows must be self-contained)",
				 w->t->what, rel);
		return -1;
	}
	git_tree_entry *target = NULL;
	if (fm == GIT_FILEMODE_LINK) {
		git_blob *lb;
		if (git_blob_lookup(&lb, w->t->repo, oid)) {
			w->rc = git_fail(w->ctx, rel);
			return -1;
		}
		char tgt[1024], norm[1024];
		size_t tl = (size_t)git_blob_rawsize(lb);
		if (tl >= sizeof(tgt))
			tl = sizeof(tgt) - 1;
		memcpy(tgt, git_blob_rawcontent(lb), tl);
		tgt[tl] = 0;
		git_blob_free(lb);
		if (norm_link(rel, tgt, norm, sizeof(norm))) {
			w->rc = bia_fail(w->ctx, BIA_EPERM,
					 "%s: symbolic link '%s' points outside the tree ('%s')",
					 w->t->what, rel, tgt);
			return -1;
		}
		if (git_tree_entry_bypath(&target, w->root, norm) ||
		    (git_tree_entry_filemode(target) != GIT_FILEMODE_BLOB &&
		     git_tree_entry_filemode(target) != GIT_FILEMODE_BLOB_EXECUTABLE)) {
			git_tree_entry_free(target);
			w->rc = bia_fail(w->ctx, BIA_EINVAL,
					 "%s: symbolic link '%s' does not name a regular file of the "
					 "tree ('%s')",
					 w->t->what, rel, tgt);
			return -1;
		}
		oid = git_tree_entry_id(target);
		mode = git_tree_entry_filemode(target) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
	} else if (fm != GIT_FILEMODE_BLOB && fm != GIT_FILEMODE_BLOB_EXECUTABLE) {
		w->rc = bia_fail(w->ctx, BIA_EINVAL, "%s: '%s' has an unsupported mode %o",
				 w->t->what, rel, (unsigned)fm);
		return -1;
	}
	git_odb *odb = NULL;
	size_t len = 0;
	git_object_t type;
	int gr = git_repository_odb(&odb, w->t->repo);
	if (!gr)
		gr = git_odb_read_header(&len, &type, odb, oid);
	git_odb_free(odb);
	if (gr) {
		git_tree_entry_free(target);
		w->rc = git_fail(w->ctx, rel);
		return -1;
	}
	struct wf_ent *e = tree_push(w->ctx, w->t, rel, mode, (uint64_t)len);
	if (e)
		git_oid_cpy(&e->oid, oid);
	git_tree_entry_free(target);
	if (!e) {
		w->rc = w->ctx->rc;
		return -1;
	}
	return 0;
}

static int walk_git_tree(struct bia_ctx *ctx, struct wf_tree *t, git_tree *tree)
{
	struct gwalk w = {ctx, t, tree, 0};
	int gr = git_tree_walk(tree, GIT_TREEWALK_PRE, gwalk_cb, &w);
	if (w.rc)
		return w.rc;
	if (gr)
		return git_fail(ctx, t->what);
	return 0;
}

/* ------------------------------------------------------------- add a tree */

/* Read an entry's bytes (descriptor). Caller frees. */
static int ent_read(struct bia_ctx *ctx, struct wf_tree *t, const struct wf_ent *e,
		    size_t max, char **pdata, size_t *plen)
{
	if (e->fs)
		return bia_read_file(ctx, e->fs, max, pdata, plen);
	git_blob *b;
	if (git_blob_lookup(&b, t->repo, &e->oid))
		return git_fail(ctx, e->path);
	size_t n = (size_t)git_blob_rawsize(b);
	if (n > max) {
		git_blob_free(b);
		return bia_fail(ctx, BIA_ELIMIT, "%s: '%s' is too large (at most %zu bytes)", t->what,
				e->path, max);
	}
	char *d = malloc(n + 1);
	if (!d) {
		git_blob_free(b);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	memcpy(d, git_blob_rawcontent(b), n);
	d[n] = 0;
	git_blob_free(b);
	*pdata = d;
	*plen = n;
	return 0;
}

static int ent_hash(struct bia_ctx *ctx, struct wf_tree *t, struct wf_ent *e)
{
	if (e->fs) {
		uint64_t n = 0;
		if (bia_sha256_file(ctx, e->fs, e->digest, &n))
			return ctx->rc;
		if (n != e->bytes)
			return bia_fail(ctx, BIA_EIO, "%s: '%s' changed while adding", t->what, e->path);
		return 0;
	}
	git_blob *b;
	if (git_blob_lookup(&b, t->repo, &e->oid))
		return git_fail(ctx, e->path);
	bia_sha256_hex(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), e->digest);
	git_blob_free(b);
	return 0;
}

/* Store an entry as a blob, checking it still has the digest we hashed. */
static int ent_store(struct bia_ctx *ctx, struct bia_instance *inst, struct wf_tree *t,
		     const struct wf_ent *e)
{
	char digest[BIA_SHA256_HEX];
	uint64_t size = 0;
	if (e->fs) {
		if (bia_blob_put_file(ctx, inst, e->fs, digest, &size, NULL))
			return ctx->rc;
	} else {
		git_blob *b;
		if (git_blob_lookup(&b, t->repo, &e->oid))
			return git_fail(ctx, e->path);
		int rc = bia_blob_put_mem(ctx, inst, git_blob_rawcontent(b),
					  (size_t)git_blob_rawsize(b), digest, NULL);
		git_blob_free(b);
		if (rc)
			return rc;
	}
	if (strcmp(digest, e->digest)) /* the blob stays: an orphan for fsck */
		return bia_fail(ctx, BIA_EIO, "%s: '%s' changed while adding", t->what, e->path);
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wf_ent *)a)->path, ((const struct wf_ent *)b)->path);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sha256 over the sorted lines "<mode> <digest> <path>\n". */
static int version_digest(struct bia_ctx *ctx, const struct wf_tree *t, char out[BIA_SHA256_HEX])
{
	char **lines = bia_calloc(t->n ? t->n : 1, sizeof(*lines));
	if (!lines)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < t->n && !rc; i++) {
		const struct wf_ent *e = &t->v[i];
		size_t n = strlen(e->path) + 80;
		lines[i] = malloc(n);
		if (!lines[i])
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		else
			snprintf(lines[i], n, "%o %s %s\n", (unsigned)e->mode, e->digest, e->path);
	}
	if (!rc) {
		qsort(lines, t->n, sizeof(*lines), str_cmp);
		struct bia_sha256 h;
		bia_sha256_init(&h);
		for (size_t i = 0; i < t->n; i++)
			bia_sha256_update(&h, lines[i], strlen(lines[i]));
		bia_sha256_final(&h, out);
	}
	for (size_t i = 0; i < t->n; i++)
		free(lines[i]);
	free(lines);
	return rc;
}

static int check_version_name(struct bia_ctx *ctx, const char *v)
{
	size_t n = strlen(v);
	if (!n)
		return bia_fail(ctx, BIA_EINVAL, "version name is empty");
	if (n >= sizeof(((struct bia_wf_version *)0)->version))
		return bia_fail(ctx, BIA_EINVAL, "version name '%.40s...' is too long (at most %zu bytes)",
				v, sizeof(((struct bia_wf_version *)0)->version) - 1);
	if (v[0] == '-')
		return bia_fail(ctx, BIA_EINVAL, "version name '%s' must not start with '-'", v);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '@')
			return bia_fail(ctx, BIA_EINVAL,
					"version name '%s' must not contain spaces, control "
					"characters or '@'",
					v);
	return 0;
}

static struct wf_ent *find_ent(struct wf_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].path, path))
			return &t->v[i];
	return NULL;
}

/* Validate, hash, check immutability, store blobs, add the version. */
static int add_tree(struct bia_ctx *ctx, struct bia_instance *inst, struct wf_tree *t,
		    const char *version, const char *source, const char *image_archive,
		    const char *desc_what, const char *expect_digest, struct bia_wf_added *out)
{
	struct bia_descriptor d;
	memset(&d, 0, sizeof(d));
	char *text = NULL;
	size_t tlen = 0;
	struct bia_wf_file *files = NULL;
	int rc;

	struct wf_ent *de = find_ent(t, "descriptor.json");
	if (!de) {
		rc = bia_fail(ctx, BIA_EINVAL, "%s: no descriptor.json at its root", t->what);
		goto out;
	}
	if ((rc = ent_read(ctx, t, de, BIA_JSON_MAX_BYTES, &text, &tlen)))
		goto out;
	if ((rc = bia_descriptor_parse(ctx, desc_what, text, tlen, &d)))
		goto out;
	for (size_t i = 0; i < d.n_warnings; i++)
		bia_warn("%s", d.warnings[i]);
	snprintf(out->name, sizeof(out->name), "%s", d.name);
	const char *apath = d.environment.type == BIA_ENV_IMAGE && d.environment.archive
				    ? d.environment.archive
				    : BIA_WF_DEFAULT_ARCHIVE;
	if (image_archive) {
		if (d.environment.type != BIA_ENV_IMAGE && !d.has_container) {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "--image-archive needs a descriptor whose environment is 'image' "
				      "or that names a container-image ('%s' runs on the host)",
				      d.name);
			goto out;
		}
		if (find_ent(t, apath)) {
			rc = bia_fail(ctx, BIA_EEXIST,
				      "%s: already has a file at '%s' where --image-archive goes",
				      t->what, apath);
			goto out;
		}
		struct stat st;
		if (stat(image_archive, &st) || !S_ISREG(st.st_mode)) {
			rc = bia_fail(ctx, BIA_ENOENT, "--image-archive '%s' is not a readable file",
				      image_archive);
			goto out;
		}
		struct wf_ent *e = tree_push(ctx, t, apath, mode_of(st.st_mode), (uint64_t)st.st_size);
		if (!e || !(e->fs = bia_strdup(image_archive))) {
			rc = e ? bia_fail(ctx, BIA_ENOMEM, "out of memory") : (int)ctx->rc;
			goto out;
		}
	} else if (d.environment.type == BIA_ENV_IMAGE && d.environment.archive &&
		   !find_ent(t, d.environment.archive)) {
		rc = bia_fail(ctx, BIA_ENOENT,
			      "%s: environment.archive '%s' is not among the workflow's files (add it, "
			      "or give --image-archive FILE.tar)",
			      t->what, d.environment.archive);
		goto out;
	}
	qsort(t->v, t->n, sizeof(*t->v), ent_cmp);
	for (size_t i = 0; i < t->n; i++)
		if ((rc = ent_hash(ctx, t, &t->v[i])))
			goto out;
	/* the descriptor we validated is the one we hashed and store */
	char ddig[BIA_SHA256_HEX];
	bia_sha256_hex(text, tlen, ddig);
	de = find_ent(t, "descriptor.json");
	if (!de || strcmp(ddig, de->digest)) {
		rc = bia_fail(ctx, BIA_EIO, "%s: descriptor.json changed while adding", t->what);
		goto out;
	}
	if ((rc = version_digest(ctx, t, out->digest)))
		goto out;
	if (expect_digest && strcmp(expect_digest, out->digest)) {
		rc = bia_fail(ctx, BIA_EEXIST,
			      "%s: moved tag: its content (digest %.12s) differs from the version "
			      "added from it before (digest %.12s); versions are immutable: move "
			      "the tag back or tag a new version",
			      t->what, out->digest, expect_digest);
		goto out;
	}
	if (version) {
		if ((rc = check_version_name(ctx, version)))
			goto out;
		snprintf(out->version, sizeof(out->version), "%s", version);
	} else {
		snprintf(out->version, sizeof(out->version), "dev-%.12s", out->digest);
	}

	/* immutability, before writing anything */
	struct bia_wf_version old;
	if (!bia_store_wf_get(ctx, inst, out->name, out->version, &old)) {
		int same = !strcmp(old.digest, out->digest);
		int64_t oid = old.id;
		bia_wf_version_release(&old);
		if (!same) {
			rc = bia_fail(ctx, BIA_EEXIST,
				      "workflow '%s' version '%s' already exists with other content "
				      "(versions are immutable: use another version)",
				      out->name, out->version);
			goto out;
		}
		out->id = oid;
		out->existed = 1;
		goto out;
	}
	if (ctx->rc != BIA_ENOENT) {
		rc = ctx->rc;
		goto out;
	}
	bia_ctx_clear(ctx);

	files = bia_calloc(t->n ? t->n : 1, sizeof(*files));
	if (!files) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		if ((rc = ent_store(ctx, inst, t, &t->v[i])))
			goto out;
		struct bia_wf_file *f = &files[i];
		snprintf(f->path, sizeof(f->path), "%s", t->v[i].path);
		memcpy(f->digest, t->v[i].digest, BIA_SHA256_HEX);
		f->bytes = t->v[i].bytes;
		f->mode = t->v[i].mode;
		bia_faultsim("workflow.blob");
	}
	struct bia_wf_version v;
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", out->name);
	snprintf(v.version, sizeof(v.version), "%s", out->version);
	memcpy(v.digest, out->digest, BIA_SHA256_HEX);
	v.descriptor = text;
	if (d.problem_class != BIA_CLASS_NONE)
		snprintf(v.problem_class, sizeof(v.problem_class), "%s",
			 bia_class_code(d.problem_class));
	snprintf(v.source, sizeof(v.source), "%s", source);
	v.nfiles = t->n;
	v.files = files;
	if ((rc = bia_store_wf_add(ctx, inst, &v, &out->existed)))
		goto out;
	out->id = v.id;
out:
	if (rc) {
		/* blobs this call stored stay as orphans for fsck: a concurrent add
		 * may have found them in place and referenced them */
		out->rc = rc;
		snprintf(out->msg, sizeof(out->msg), "%s", ctx->msg);
	}
	free(files);
	free(text);
	bia_descriptor_release(&d);
	return rc;
}

/* ----------------------------------------------------------------- public */

int bia_workflow_add_folder(struct bia_ctx *ctx, struct bia_instance *inst, const char *dir,
			    const struct bia_wf_add_opts *o, struct bia_wf_added *out)
{
	memset(out, 0, sizeof(*out));
	char real[PATH_MAX];
	if (!bia_is_dir(dir))
		return out->rc = bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", dir);
	if (!realpath(dir, real))
		return out->rc = bia_fail(ctx, BIA_EIO, "cannot resolve '%s': %s", dir,
					  strerror(errno));
	struct wf_tree t;
	tree_init(&t, o, dir);
	int rc = walk_dir(ctx, &t, real, real, "", 0);
	char what[BIA_PATH_MAX + 32];
	snprintf(what, sizeof(what), "%s/descriptor.json", dir);
	if (!rc)
		rc = add_tree(ctx, inst, &t, o ? o->version : NULL, o && o->source ? o->source : real,
			      o ? o->image_archive : NULL, what, NULL, out);
	tree_release(&t);
	if (rc) {
		out->rc = rc;
		snprintf(out->msg, sizeof(out->msg), "%s", ctx->msg);
	}
	return rc;
}

/* "scheme://...", "user@host:path", "host:path" (not an existing path). */
static int looks_like_url(const char *s)
{
	if (strstr(s, "://"))
		return 1;
	const char *colon = strchr(s, ':');
	const char *slash = strchr(s, '/');
	if (colon && (!slash || colon < slash) && access(s, F_OK))
		return 1;
	return 0;
}

int bia_workflow_is_git(const char *path)
{
	if (looks_like_url(path))
		return 1; /* refused with a clear message by bia_workflow_add_git */
	if (!bia_is_dir(path))
		return 0;
	git_libgit2_init();
	git_repository *r = NULL;
	int ok = !git_repository_open_ext(&r, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	git_repository_free(r);
	git_libgit2_shutdown();
	return ok;
}

int bia__workflow_add_tag(struct bia_ctx *ctx, struct bia_instance *inst, git_repository *repo,
			  const char *root, const char *tag, const struct bia_wf_add_opts *o,
			  struct bia_wf_added *out)
{
	char ref[600], what[BIA_PATH_MAX + 700], source[BIA_PATH_MAX + 700];
	snprintf(out->version, sizeof(out->version), "%s", tag);
	snprintf(ref, sizeof(ref), "refs/tags/%s", tag);
	snprintf(what, sizeof(what), "%s@%s", root, tag);
	if (o && o->source)
		snprintf(source, sizeof(source), "%s#%s", o->source, tag);
	else
		snprintf(source, sizeof(source), "git:%s#%s", root, tag);
	git_object *obj = NULL, *tree = NULL;
	int rc = 0;
	if (git_revparse_single(&obj, repo, ref))
		rc = git_fail(ctx, what);
	else if (git_object_peel(&tree, obj, GIT_OBJECT_TREE))
		rc = bia_fail(ctx, BIA_EINVAL, "%s: tag does not name a commit or tree", what);
	if (!rc) {
		struct wf_tree t;
		tree_init(&t, o, what);
		t.repo = repo;
		rc = walk_git_tree(ctx, &t, (git_tree *)tree);
		char dwhat[BIA_PATH_MAX + 720];
		snprintf(dwhat, sizeof(dwhat), "%s:descriptor.json", what);
		if (!rc)
			rc = add_tree(ctx, inst, &t, tag, source, o ? o->image_archive : NULL, dwhat,
				      o ? o->expect_digest : NULL, out);
		tree_release(&t);
	}
	git_object_free(tree);
	git_object_free(obj);
	if (rc) {
		out->rc = rc;
		snprintf(out->msg, sizeof(out->msg), "%s", ctx->msg);
	}
	return rc;
}

int bia_workflow_add_git(struct bia_ctx *ctx, struct bia_instance *inst, const char *repo,
			 const struct bia_wf_add_opts *o, struct bia_wf_added **pv, size_t *pn)
{
	*pv = NULL;
	*pn = 0;
	if (looks_like_url(repo))
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"'%s' looks like a URL: biaflows reads local repositories only (no "
				"network); clone it first (git clone URL DIR) and give DIR",
				repo);
	char real[PATH_MAX];
	if (!bia_is_dir(repo) || !realpath(repo, real))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", repo);
	git_libgit2_init();
	git_repository *r = NULL;
	git_strarray tags = {0};
	int rc = 0;
	if (git_repository_open_ext(&r, real, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
		rc = bia_fail(ctx, BIA_EINVAL, "'%s' is not a git repository", repo);
		goto done;
	}
	if (git_tag_list(&tags, r)) {
		rc = git_fail(ctx, repo);
		goto done;
	}
	if (!tags.count) {
		rc = bia_fail(ctx, BIA_ENOENT,
			      "'%s' has no tags: tag a version (git tag v1) or add the folder with "
			      "--version",
			      repo);
		goto done;
	}
	qsort(tags.strings, tags.count, sizeof(char *), str_cmp);
	struct bia_wf_added *v = bia_calloc(tags.count, sizeof(*v));
	if (!v) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto done;
	}
	int first = 0;
	char first_msg[sizeof(ctx->msg)];
	first_msg[0] = 0;
	for (size_t i = 0; i < tags.count; i++) {
		int trc = bia__workflow_add_tag(ctx, inst, r, real, tags.strings[i], o, &v[i]);
		if (trc && !first) {
			first = trc;
			snprintf(first_msg, sizeof(first_msg), "%s", ctx->msg);
		}
		bia_ctx_clear(ctx);
	}
	*pv = v;
	*pn = tags.count;
	if (first)
		rc = bia_fail(ctx, (enum bia_rc)first, "%s", first_msg);
done:
	git_strarray_dispose(&tags);
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}

int bia_workflow_git_source(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			    char *out, size_t outsz)
{
	struct bia_wf_version *v;
	size_t n;
	if (bia_store_wf_list(ctx, inst, (struct bia_page){0, 0}, &v, &n, NULL))
		return ctx->rc;
	int found = 0, any = 0;
	for (size_t i = n; i-- > 0 && !found;) {
		if (strcmp(v[i].name, name))
			continue;
		any = 1;
		const char *s = v[i].source;
		size_t sl = strlen(s), vl = strlen(v[i].version);
		if (strncmp(s, "git:", 4) || sl < 4 + 1 + vl || s[sl - vl - 1] != '#' ||
		    strcmp(s + sl - vl, v[i].version))
			continue;
		snprintf(out, outsz, "%.*s", (int)(sl - vl - 1 - 4), s + 4);
		found = 1;
	}
	for (size_t i = 0; i < n; i++)
		bia_wf_version_release(&v[i]);
	free(v);
	if (!found)
		return any ? bia_fail(ctx, BIA_ENOENT,
				      "workflow '%s' was not added from a git repository", name)
			   : bia_fail(ctx, BIA_ENOENT, "no workflow named '%s'", name);
	return 0;
}

int bia_workflow_get(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
		     struct bia_wf_version *out)
{
	memset(out, 0, sizeof(*out));
	const char *at = strrchr(ref, '@');
	if (!at)
		return bia_store_wf_get(ctx, inst, ref, NULL, out);
	char name[256];
	if ((size_t)(at - ref) >= sizeof(name) || at == ref || !at[1])
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not NAME or NAME@VERSION", ref);
	snprintf(name, sizeof(name), "%.*s", (int)(at - ref), ref);
	return bia_store_wf_get(ctx, inst, name, at + 1, out);
}

static json_t *param_json(const struct bia_wf_param *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:b}", "id", p->id, "name",
			      p->name, "type", bia_wf_type_name(p->type), "optional", p->optional,
			      "description", p->description, "flag", p->flag, "set_by_server",
			      p->set_by_server, "excluded", p->excluded);
	if (!o)
		return NULL;
	json_object_set_new(o, "default",
			    p->default_value && *p->default_value ? json_string(p->default_value)
								   : json_null());
	if (p->has_minimum)
		json_object_set_new(o, "minimum", json_real(p->minimum));
	if (p->has_maximum)
		json_object_set_new(o, "maximum", json_real(p->maximum));
	if (p->integer)
		json_object_set_new(o, "integer", json_true());
	if (p->choices) {
		json_t *c = json_array();
		for (size_t i = 0; i < p->n_choices; i++)
			json_array_append_new(c, json_string(p->choices[i]));
		json_object_set_new(o, "choices", c);
	}
	if (p->equals)
		json_object_set_new(o, "equals", json_string(p->equals));
	return o;
}

json_t *bia_workflow_json(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_wf_version *v)
{
	struct bia_descriptor d;
	const char *text = v->descriptor ? v->descriptor : "{}";
	if (bia_descriptor_parse(ctx, "descriptor.json", text, strlen(text), &d))
		return NULL;
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)v->id,
			      "name", v->name, "version", v->version, "digest", v->digest,
			      "problem_class", v->problem_class, "description", d.description,
			      "source", v->source, "created_at", v->created);
	if (!o) {
		bia_descriptor_release(&d);
		bia_fail(ctx, BIA_ENOMEM, "out of memory");
		return NULL;
	}
	json_t *env = json_pack("{s:s}", "type", bia_env_type_name(d.environment.type));
	json_object_set_new(env, "archive", d.environment.archive
						    ? json_string(d.environment.archive)
						    : json_null());
	json_object_set_new(o, "environment", env);
	json_t *warn = json_array();
	for (size_t i = 0; i < d.n_warnings; i++)
		json_array_append_new(warn, json_string(d.warnings[i]));
	json_object_set_new(o, "warnings", warn);
	/* the command line a run with the default parameters gets (local mode),
	 * or why there is none (a required parameter without a default) */
	{
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		json_t *values = NULL;
		char **argv = NULL;
		size_t argc = 0;
		if (bia_descriptor_resolve(&c2, &d, NULL, 0, &values) == 0 &&
		    bia_descriptor_argv(&c2, &d, values, &argv, &argc) == 0) {
			json_t *a = json_array();
			for (size_t i = 0; i < argc; i++)
				json_array_append_new(a, json_string(argv[i]));
			json_object_set_new(o, "default_command_line", a);
			bia_argv_free(argv);
		} else {
			json_object_set_new(o, "default_command_line", json_null());
			json_object_set_new(o, "default_command_line_missing", json_string(c2.msg));
		}
		json_decref(values);
	}
	json_object_set_new(o, "container",
			    d.has_container
				    ? json_pack("{s:s, s:s, s:s}", "image", d.container.image, "type",
						d.container.type, "index", d.container.index)
				    : json_null());
	json_t *res = json_object();
	json_object_set_new(res, "cpus",
			    d.resources.cpus ? json_integer(d.resources.cpus) : json_null());
	json_object_set_new(res, "memory",
			    d.resources.memory ? json_integer((json_int_t)d.resources.memory)
					       : json_null());
	json_object_set_new(res, "time",
			    d.resources.time ? json_integer(d.resources.time) : json_null());
	json_object_set_new(res, "gpus",
			    d.resources.gpus >= 0 ? json_integer(d.resources.gpus) : json_null());
	json_object_set_new(res, "processes",
			    d.resources.processes ? json_integer(d.resources.processes) : json_null());
	json_object_set_new(res, "open_files",
			    d.resources.open_files ? json_integer(d.resources.open_files) : json_null());
	json_object_set_new(res, "output",
			    d.resources.output ? json_integer((json_int_t)d.resources.output)
					       : json_null());
	json_object_set_new(o, "resources", res);
	json_object_set_new(o, "command_line", json_string(d.command_line));
	json_t *params = json_array();
	for (size_t i = 0; i < d.n_inputs; i++)
		json_array_append_new(params, param_json(&d.inputs[i]));
	json_object_set_new(o, "parameters", params);
	json_t *files = json_array();
	for (size_t i = 0; i < v->nfiles; i++) {
		char m[8];
		snprintf(m, sizeof(m), "%o", (unsigned)v->files[i].mode);
		json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s}", "path",
						       v->files[i].path, "mode", m, "bytes",
						       (json_int_t)v->files[i].bytes, "digest",
						       v->files[i].digest));
	}
	json_object_set_new(o, "files", files);
	bia_descriptor_release(&d);
	struct bia_wf_version *all;
	size_t n;
	if (bia_store_wf_list(ctx, inst, (struct bia_page){0, 0}, &all, &n, NULL)) {
		json_decref(o);
		return NULL;
	}
	json_t *vers = json_array();
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(all[i].name, v->name))
			json_array_append_new(vers, json_pack("{s:I, s:s, s:s, s:s}", "id",
							      (json_int_t)all[i].id, "version",
							      all[i].version, "digest", all[i].digest,
							      "created_at", all[i].created));
		bia_wf_version_release(&all[i]);
	}
	free(all);
	json_object_set_new(o, "versions", vers);
	return o;
}

int bia_workflow_descriptor(struct bia_ctx *ctx, struct bia_instance *inst, const char *ref,
			    struct bia_descriptor *out)
{
	memset(out, 0, sizeof(*out));
	struct bia_wf_version v;
	if (bia_workflow_get(ctx, inst, ref, &v))
		return ctx->rc;
	const char *text = v.descriptor ? v.descriptor : "{}";
	int rc = bia_descriptor_parse(ctx, "descriptor.json", text, strlen(text), out);
	bia_wf_version_release(&v);
	return rc;
}

int bia_workflows_list_json(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
			    struct bia_page page, json_t **pout, int64_t *ptotal)
{
	struct bia_wf_version *v;
	size_t n;
	*pout = NULL;
	if (bia_store_wf_list(ctx, inst, name ? (struct bia_page){0, 0} : page, &v, &n,
			      name ? NULL : ptotal))
		return ctx->rc;
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		int newest = i + 1 == n || strcmp(v[i + 1].name, v[i].name);
		if (!name || !strcmp(v[i].name, name))
			json_array_append_new(
				rows, json_pack("{s:I, s:s, s:s, s:b, s:s, s:s, s:s, s:s}", "id",
						(json_int_t)v[i].id, "name", v[i].name, "version",
						v[i].version, "newest", newest, "class",
						v[i].problem_class, "digest", v[i].digest, "created_at",
						v[i].created, "source", v[i].source));
		bia_wf_version_release(&v[i]);
	}
	free(v);
	if (name) {
		if (ptotal)
			*ptotal = (int64_t)json_array_size(rows);
		if (!json_array_size(rows)) {
			json_decref(rows);
			return bia_fail(ctx, BIA_ENOENT, "no workflow named '%s'", name);
		}
	}
	*pout = rows;
	return 0;
}
