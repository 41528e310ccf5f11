/* bia_oci_unpack: an OCI image layout or `docker save` archive unpacked
 * into envs_dir/<config-digest>/rootfs, layers in order, whiteouts
 * applied, nothing written outside the root. See docs/exec.md.
 * SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/exec.h"

#define META_MAX (4u << 20) /* index, manifests and configs */
#define DEFAULT_MAX_BYTES (UINT64_C(16) << 30)
#define DEFAULT_MAX_FILES UINT64_C(1000000)
/* written last, once every layer matched its digests; a folder without it
 * (an interrupted unpack, or one made by a version that did not verify
 * layers) is removed and unpacked again */
#define MARKER ".biaflows-verified"
#define CONFIG_COPY "config.json"

void bia_oci_image_release(struct bia_oci_image *img)
{
	char **lists[] = {img->entrypoint, img->cmd, img->env};
	for (int i = 0; i < 3; i++)
		for (char **p = lists[i]; p && *p; p++)
			free(*p);
	free(img->entrypoint);
	free(img->cmd);
	free(img->env);
	free(img->rootfs);
	free(img->workdir);
	memset(img, 0, sizeof(*img));
}

/* Strip leading "./" and "/"-less normalisation of a member name. */
static const char *member_norm(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	return n;
}

static struct archive *outer_open(struct bia_ctx *ctx, const char *path)
{
	struct archive *a = archive_read_new();
	if (!a) {
		bia_fail(ctx, BIA_ENOMEM, "out of memory");
		return NULL;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		bia_fail(ctx, BIA_EFORMAT, "image archive '%s': %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Position `a` (freshly opened) on member `name`; 1 found, 0 not, -1 error. */
static int seek_member(struct bia_ctx *ctx, const char *path, struct archive *a, const char *name)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(e);
		if (n && !strcmp(member_norm(n), name) && archive_entry_filetype(e) == AE_IFREG)
			return 1;
	}
	if (r != ARCHIVE_EOF) {
		bia_fail(ctx, BIA_EFORMAT, "image archive '%s': %s", path, archive_error_string(a));
		return -1;
	}
	return 0;
}

/* Read a small member into memory (NUL-terminated). */
static int read_member(struct bia_ctx *ctx, const char *path, const char *name, char **pdata,
		       size_t *plen)
{
	*pdata = NULL;
	struct archive *a = outer_open(ctx, path);
	if (!a)
		return ctx->rc;
	int f = seek_member(ctx, path, a, name);
	if (f <= 0) {
		archive_read_free(a);
		if (f == 0)
			return bia_fail(ctx, BIA_ENOENT, "image archive '%s': no member '%s'", path, name);
		return ctx->rc;
	}
	struct bia_buf b;
	bia_buf_init(&b, META_MAX);
	char buf[16384];
	la_ssize_t n;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		if (bia_buf_add(&b, buf, (size_t)n))
			break;
	int rc = BIA_OK;
	if (n < 0)
		rc = bia_fail(ctx, BIA_EFORMAT, "image archive '%s': %s: %s", path, name,
			      archive_error_string(a));
	else if (b.err)
		rc = bia_fail(ctx, BIA_ELIMIT, "image archive '%s': '%s' larger than %u bytes", path,
			      name, META_MAX);
	archive_read_free(a);
	if (rc) {
		bia_buf_release(&b);
		return rc;
	}
	*pdata = bia_buf_detach(&b, plen);
	if (!*pdata)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	return BIA_OK;
}

static json_t *read_json_member(struct bia_ctx *ctx, const char *path, const char *name,
				char hex[BIA_SHA256_HEX])
{
	char *d;
	size_t n;
	if (read_member(ctx, path, name, &d, &n))
		return NULL;
	if (hex)
		bia_sha256_hex(d, n, hex);
	json_t *j = bia_json_parse(ctx, name, d, n);
	free(d);
	return j;
}

/* "sha256:<hex>" -> hex; 0 or -1. */
static int digest_hex(const char *d, char hex[BIA_SHA256_HEX])
{
	if (!d || strncmp(d, "sha256:", 7) || !bia_is_sha256_hex(d + 7))
		return -1;
	memcpy(hex, d + 7, BIA_SHA256_HEX);
	return 0;
}

/* ---------------------------------------------------- string set (hash) */

struct sset {
	char **v;
	size_t cap, n;
};

static size_t shash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int sset_has(const struct sset *s, const char *k)
{
	if (!s->cap)
		return 0;
	for (size_t i = shash(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[i])
			return 0;
		if (!strcmp(s->v[i], k))
			return 1;
	}
}

static int sset_add(struct sset *s, const char *k)
{
	if (sset_has(s, k))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		char **nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t j = shash(s->v[i]) & (nc - 1);
				while (nv[j])
					j = (j + 1) & (nc - 1);
				nv[j] = s->v[i];
			}
		free(s->v);
		s->v = nv;
		s->cap = nc;
	}
	char *d = strdup(k);
	if (!d)
		return -1;
	size_t j = shash(k) & (s->cap - 1);
	while (s->v[j])
		j = (j + 1) & (s->cap - 1);
	s->v[j] = d;
	s->n++;
	return 0;
}

static void sset_free(struct sset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Where the parts of an image are in the archive, and their digests. */
struct layout {
	char config_member[BIA_PATH_MAX];
	char config_hex[BIA_SHA256_HEX];
	char **layers;		       /* member names, NULL-terminated */
	char (*blob_hex)[BIA_SHA256_HEX]; /* digest of each layer's stored bytes, "" unknown */
	char (*diff_hex)[BIA_SHA256_HEX]; /* rootfs.diff_ids of the config: uncompressed */
	size_t nlayers;
};

/* ------------------------------------------------------------- layers */

struct unpack {
	struct bia_ctx *ctx;
	const char *archive;
	const char *root; /* absolute, symlink-free */
	uint64_t bytes, files, max_bytes, max_files;
	struct sset layer_paths; /* paths written by the current layer */
};

/* Check a member path: relative, no "..", normalised into out. */
static int safe_rel(struct unpack *u, const char *name, char *out, size_t outsz)
{
	const char *n = member_norm(name);
	if (n[0] == '/')
		return bia_fail(u->ctx, BIA_EPERM, "image archive '%s': absolute path '%s' refused",
				u->archive, name);
	size_t o = 0;
	const char *p = n;
	while (*p) {
		while (*p == '/')
			p++;
		const char *c = p;
		while (*p && *p != '/')
			p++;
		size_t cl = (size_t)(p - c);
		if (cl == 0 || (cl == 1 && c[0] == '.'))
			continue;
		if (cl == 2 && c[0] == '.' && c[1] == '.')
			return bia_fail(u->ctx, BIA_EPERM, "image archive '%s': path '%s' escapes the root",
					u->archive, name);
		if (o + cl + 2 > outsz)
			return bia_fail(u->ctx, BIA_ELIMIT, "image archive '%s': path too long", u->archive);
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, cl);
		o += cl;
	}
	out[o] = 0;
	return BIA_OK;
}

/* Open the directory `rel` under root without following any symlink; -1
 * (errno ENOENT if absent, ELOOP/ENOTDIR if a symlink or file). */
static int open_dir_nofollow(const char *root, const char *rel)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char comp[NAME_MAX + 1];
	const char *p = rel;
	while (fd >= 0 && *p) {
		const char *c = p;
		while (*p && *p != '/')
			p++;
		size_t cl = (size_t)(p - c);
		if (*p)
			p++;
		if (!cl)
			continue;
		if (cl > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, c, cl);
		comp[cl] = 0;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		errno = e;
		fd = nfd;
	}
	return fd;
}

static int rm_at(int dfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	if (depth > 512)
		return -1;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -1;
	DIR *d = fdopendir(sub);
	if (!d) {
		close(sub);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc |= rm_at(sub, e->d_name, depth + 1);
	closedir(d);
	return rc | unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Apply a whiteout entry `rel` (already checked). */
static int whiteout(struct unpack *u, const char *rel)
{
	char dir[BIA_PATH_MAX];
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;
	size_t dl = slash ? (size_t)(slash - rel) : 0;
	memcpy(dir, rel, dl);
	dir[dl] = 0;
	int dfd = open_dir_nofollow(u->root, dir);
	if (dfd < 0)
		return errno == ENOENT ? BIA_OK
				       : bia_fail(u->ctx, BIA_EPERM,
						  "image archive '%s': whiteout '%s' under a symlink or file",
						  u->archive, rel);
	int rc = 0;
	if (!strcmp(base, ".wh..wh..opq")) {
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			return bia_fail(u->ctx, BIA_EIO, "cannot list '%s'", dir);
		}
		struct dirent *e;
		char p[BIA_PATH_MAX];
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s%s%s", dir, dl ? "/" : "", e->d_name);
			if (!sset_has(&u->layer_paths, p)) /* keep what this layer wrote */
				rc |= rm_at(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	} else {
		rc = rm_at(dfd, base + 4, 0);
		close(dfd);
	}
	if (rc)
		return bia_fail(u->ctx, BIA_EIO, "image archive '%s': cannot apply whiteout '%s': %s",
				u->archive, rel, strerror(errno));
	return BIA_OK;
}

/* Refuse an entry whose parent directory inside the root is reached
 * through a symlink (or a file): it would be written elsewhere. */
static int parent_ok(struct unpack *u, const char *rel, const char *what)
{
	char dir[BIA_PATH_MAX];
	const char *slash = strrchr(rel, '/');
	size_t dl = slash ? (size_t)(slash - rel) : 0;
	memcpy(dir, rel, dl);
	dir[dl] = 0;
	int fd = open_dir_nofollow(u->root, dir);
	if (fd >= 0) {
		close(fd);
		return BIA_OK;
	}
	if (errno == ENOENT)
		return BIA_OK; /* created by the extraction, as real directories */
	return bia_fail(u->ctx, BIA_EPERM,
			"image archive '%s': %s '%s' goes through a symlink or file", u->archive,
			what, rel);
}

/* A layer is read through two libarchive readers in a chain, so that both
 * of its digests are computed in the same pass that unpacks it:
 *   outer tar member --(stored bytes: blob digest)--> raw reader (any
 *   filter: gzip, zstd...) --(uncompressed bytes: diff_id)--> tar reader. */
struct nested {
	struct archive *outer; /* positioned on the layer's member */
	struct archive *raw;   /* decompresses the member (format "raw") */
	struct bia_sha256 stored, plain;
	uint64_t plain_bytes;
	char buf[65536], pbuf[65536];
};

static la_ssize_t nested_read(struct archive *a, void *cd, const void **pbuf)
{
	(void)a;
	struct nested *n = cd;
	*pbuf = n->buf;
	la_ssize_t got = archive_read_data(n->outer, n->buf, sizeof(n->buf));
	if (got > 0)
		bia_sha256_update(&n->stored, n->buf, (size_t)got);
	return got;
}

static la_ssize_t plain_read(struct archive *a, void *cd, const void **pbuf)
{
	(void)a;
	struct nested *n = cd;
	*pbuf = n->pbuf;
	la_ssize_t got = archive_read_data(n->raw, n->pbuf, sizeof(n->pbuf));
	if (got > 0) {
		bia_sha256_update(&n->plain, n->pbuf, (size_t)got);
		n->plain_bytes += (uint64_t)got;
	}
	return got;
}

/* Read what the tar reader left of the layer (its padding), so that the
 * digests cover every byte. */
static int drain_layer(struct nested *n)
{
	const void *p;
	la_ssize_t got;
	while ((got = plain_read(NULL, n, &p)) > 0)
		;
	if (got < 0)
		return -1;
	while ((got = nested_read(NULL, n, &p)) > 0)
		;
	return got < 0 ? -1 : 0;
}

/* The layer's digests against the manifest (stored bytes, when it names
 * them) and the config's rootfs.diff_ids (uncompressed tar). */
static int verify_layer(struct unpack *u, struct nested *n, const char *member, size_t idx,
			const char *blob_hex, const char *diff_hex)
{
	char got[BIA_SHA256_HEX];
	bia_sha256_final(&n->stored, got);
	if (blob_hex && blob_hex[0] && strcmp(got, blob_hex))
		return bia_fail(u->ctx, BIA_ECORRUPT,
				"image archive '%s': layer %zu ('%s') has digest sha256:%s, not the "
				"sha256:%s its manifest names",
				u->archive, idx + 1, member, got, blob_hex);
	bia_sha256_final(&n->plain, got);
	if (strcmp(got, diff_hex))
		return bia_fail(u->ctx, BIA_ECORRUPT,
				"image archive '%s': layer %zu ('%s') unpacks to content of digest "
				"sha256:%s, not the sha256:%s the image config lists (rootfs.diff_ids): "
				"refused",
				u->archive, idx + 1, member, got, diff_hex);
	return BIA_OK;
}

static int apply_layer(struct unpack *u, const struct layout *L, size_t idx, struct archive *w)
{
	struct bia_ctx *ctx = u->ctx;
	const char *member = L->layers[idx];
	struct archive *a = outer_open(ctx, u->archive);
	if (!a)
		return ctx->rc;
	int f = seek_member(ctx, u->archive, a, member);
	if (f <= 0) {
		archive_read_free(a);
		return f == 0 ? bia_fail(ctx, BIA_ENOENT, "image archive '%s': layer '%s' missing",
					 u->archive, member)
			      : (int)ctx->rc;
	}
	struct nested *nd = malloc(sizeof(*nd));
	struct archive *in = archive_read_new(), *raw = archive_read_new();
	if (!nd || !in || !raw) {
		free(nd);
		if (in)
			archive_read_free(in);
		if (raw)
			archive_read_free(raw);
		archive_read_free(a);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	nd->outer = a;
	nd->raw = raw;
	nd->plain_bytes = 0;
	bia_sha256_init(&nd->stored);
	bia_sha256_init(&nd->plain);
	archive_read_support_filter_all(raw);
	archive_read_support_format_raw(raw);
	archive_read_support_format_tar(in);
	int rc = BIA_OK;
	struct archive_entry *re;
	if (archive_read_open(raw, nd, NULL, nested_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(raw, &re) != ARCHIVE_OK) {
		rc = bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer '%s': %s", u->archive,
			      member, archive_error_string(raw));
		goto done;
	}
	if (archive_read_open(in, nd, NULL, plain_read, NULL) != ARCHIVE_OK) {
		rc = bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer '%s': %s", u->archive,
			      member, archive_error_string(in));
		goto done;
	}
	sset_free(&u->layer_paths);
	struct archive_entry *e;
	int r;
	char rel[BIA_PATH_MAX], full[BIA_PATH_MAX + 8];
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (!name)
			continue;
		if ((rc = safe_rel(u, name, rel, sizeof(rel))))
			break;
		if (!rel[0])
			continue; /* the root itself */
		if (++u->files > u->max_files) {
			rc = bia_fail(ctx, BIA_ELIMIT, "image archive '%s': more than %llu files",
				      u->archive, (unsigned long long)u->max_files);
			break;
		}
		const char *base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (!strncmp(base, ".wh.", 4)) {
			if ((rc = whiteout(u, rel)))
				break;
			continue;
		}
		mode_t ft = archive_entry_filetype(e);
		const char *hl = archive_entry_hardlink(e);
		if (!hl && ft != AE_IFREG && ft != AE_IFDIR && ft != AE_IFLNK)
			continue; /* devices, fifos, sockets: not in a rootfs we run */
		if (ft == AE_IFREG && !hl) {
			u->bytes += (uint64_t)archive_entry_size(e);
			if (u->bytes > u->max_bytes) {
				rc = bia_fail(ctx, BIA_ELIMIT,
					      "image archive '%s': unpacks to more than %llu bytes",
					      u->archive, (unsigned long long)u->max_bytes);
				break;
			}
		}
		if ((rc = parent_ok(u, rel, "entry")))
			break;
		/* never a setuid/setgid file on the host (as root the owner would match) */
		archive_entry_set_perm(e, archive_entry_perm(e) & 01777);
		snprintf(full, sizeof(full), "%s/%s", u->root, rel);
		archive_entry_set_pathname(e, full);
		if (hl) {
			char hrel[BIA_PATH_MAX], hfull[BIA_PATH_MAX + 8];
			if ((rc = safe_rel(u, hl, hrel, sizeof(hrel))) ||
			    (rc = parent_ok(u, hrel, "hard link target")))
				break;
			snprintf(hfull, sizeof(hfull), "%s/%s", u->root, hrel);
			archive_entry_set_hardlink(e, hfull);
		}
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			rc = bia_fail(ctx, BIA_EPERM, "image archive '%s': entry '%s' refused: %s",
				      u->archive, name, archive_error_string(w));
			break;
		}
		if (ft == AE_IFREG && archive_entry_size(e) > 0 && !hl) {
			const void *blk;
			size_t sz;
			la_int64_t off;
			int rr;
			while ((rr = archive_read_data_block(in, &blk, &sz, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, blk, sz, off) != ARCHIVE_OK) {
					rr = ARCHIVE_FATAL;
					break;
				}
			if (rr != ARCHIVE_EOF) {
				rc = bia_fail(ctx, BIA_EIO, "image archive '%s': writing '%s': %s",
					      u->archive, name, archive_error_string(in));
				break;
			}
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			rc = bia_fail(ctx, BIA_EIO, "image archive '%s': writing '%s': %s", u->archive,
				      name, archive_error_string(w));
			break;
		}
		if (sset_add(&u->layer_paths, rel)) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer '%s': %s", u->archive,
			      member, archive_error_string(in));
	if (!rc && drain_layer(nd))
		rc = bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer '%s': %s", u->archive,
			      member, archive_error_string(raw));
	if (!rc)
		rc = verify_layer(u, nd, member, idx, L->blob_hex[idx], L->diff_hex[idx]);
done:
	archive_read_free(in);
	archive_read_free(raw);
	archive_read_free(a);
	free(nd);
	return rc;
}

/* ----------------------------------------------------------- manifests */

static char **strlist(const json_t *arr)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s && !(v[k++] = strdup(s))) {
			for (size_t j = 0; j + 1 < k; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	}
	return v;
}


static int blob_member(char *out, const char *hex)
{
	snprintf(out, BIA_PATH_MAX, "blobs/sha256/%s", hex);
	return 0;
}

static int find_layout(struct bia_ctx *ctx, const char *path, struct layout *L)
{
	char hex[BIA_SHA256_HEX];
	json_t *j = read_json_member(ctx, path, "index.json", NULL);
	if (j) { /* OCI image layout */
		json_t *m = NULL;
		for (int depth = 0; depth < 4; depth++) {
			json_t *ms = json_object_get(j, "manifests");
			json_t *first = json_array_get(ms, 0);
			if (!first || digest_hex(bia_json_str(first, "digest", NULL), hex)) {
				json_decref(j);
				return bia_fail(ctx, BIA_EFORMAT,
						"image archive '%s': index.json has no usable manifest", path);
			}
			char mem[BIA_PATH_MAX];
			blob_member(mem, hex);
			char got[BIA_SHA256_HEX];
			m = read_json_member(ctx, path, mem, got);
			json_decref(j);
			if (!m)
				return ctx->rc;
			if (strcmp(got, hex)) {
				json_decref(m);
				return bia_fail(ctx, BIA_ECORRUPT, "image archive '%s': blob '%s' digest mismatch", path, mem);
			}
			if (!json_object_get(m, "manifests"))
				break; /* an image manifest, not a nested index */
			j = m;
			m = NULL;
		}
		if (!m)
			return bia_fail(ctx, BIA_EFORMAT, "image archive '%s': indexes nested too deep", path);
		json_t *cfg = json_object_get(m, "config");
		json_t *layers = json_object_get(m, "layers");
		if (digest_hex(bia_json_str(cfg, "digest", NULL), L->config_hex) || !json_is_array(layers)) {
			json_decref(m);
			return bia_fail(ctx, BIA_EFORMAT, "image archive '%s': manifest lacks config or layers", path);
		}
		blob_member(L->config_member, L->config_hex);
		size_t n = json_array_size(layers);
		L->nlayers = n;
		L->layers = calloc(n + 1, sizeof(char *));
		L->blob_hex = calloc(n + 1, sizeof(*L->blob_hex));
		if (!L->blob_hex) {
			json_decref(m);
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		}
		for (size_t i = 0; L->layers && i < n; i++) {
			if (digest_hex(bia_json_str(json_array_get(layers, i), "digest", NULL), hex)) {
				json_decref(m);
				return bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer %zu has a bad digest", path, i);
			}
			L->layers[i] = malloc(BIA_PATH_MAX);
			if (!L->layers[i])
				break;
			blob_member(L->layers[i], hex);
			memcpy(L->blob_hex[i], hex, BIA_SHA256_HEX);
		}
		json_decref(m);
		return BIA_OK;
	}
	if (ctx->rc != BIA_ENOENT)
		return ctx->rc;
	bia_ctx_clear(ctx);
	j = read_json_member(ctx, path, "manifest.json", NULL);
	if (!j) {
		if (ctx->rc == BIA_ENOENT)
			return bia_fail(ctx, BIA_EFORMAT,
					"image archive '%s': neither an OCI layout (index.json) nor a "
					"docker save archive (manifest.json)", path);
		return ctx->rc;
	}
	json_t *m = json_array_get(j, 0);
	const char *cfg = bia_json_str(m, "Config", NULL);
	json_t *layers = json_object_get(m, "Layers");
	if (!cfg || !json_is_array(layers)) {
		json_decref(j);
		return bia_fail(ctx, BIA_EFORMAT, "image archive '%s': manifest.json lacks Config or Layers", path);
	}
	snprintf(L->config_member, sizeof(L->config_member), "%s", member_norm(cfg));
	size_t n = json_array_size(layers);
	L->nlayers = n;
	L->layers = calloc(n + 1, sizeof(char *));
	L->blob_hex = calloc(n + 1, sizeof(*L->blob_hex));
	if (!L->blob_hex) {
		json_decref(j);
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; L->layers && i < n; i++) {
		const char *s = json_string_value(json_array_get(layers, i));
		if (!s) {
			json_decref(j);
			return bia_fail(ctx, BIA_EFORMAT, "image archive '%s': layer %zu is not a string", path, i);
		}
		if (!(L->layers[i] = strdup(member_norm(s))))
			break;
		/* docker 25+ names layers by their digest (blobs/sha256/<hex>) */
		if (!strncmp(L->layers[i], "blobs/sha256/", 13) &&
		    bia_is_sha256_hex(L->layers[i] + 13))
			memcpy(L->blob_hex[i], L->layers[i] + 13, BIA_SHA256_HEX);
	}
	json_decref(j);
	return BIA_OK;
}

static int fill_image(struct bia_ctx *ctx, json_t *cfgj, struct bia_oci_image *out)
{
	json_t *c = json_object_get(cfgj, "config");
	if (!c)
		c = json_object_get(cfgj, "Config"); /* very old docker configs */
	out->entrypoint = strlist(json_object_get(c, "Entrypoint"));
	out->cmd = strlist(json_object_get(c, "Cmd"));
	out->env = strlist(json_object_get(c, "Env"));
	out->workdir = strdup(bia_json_str(c, "WorkingDir", ""));
	if (!out->entrypoint || !out->cmd || !out->env || !out->workdir)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	return BIA_OK;
}

/* The config's rootfs.diff_ids: one sha256 per layer, in order (the OCI
 * image spec and docker save both require them). */
static int diff_ids(struct bia_ctx *ctx, const char *path, json_t *cfgj, struct layout *L)
{
	json_t *ids = json_object_get(json_object_get(cfgj, "rootfs"), "diff_ids");
	if (!json_is_array(ids))
		return bia_fail(ctx, BIA_EFORMAT,
				"image archive '%s': the image config has no rootfs.diff_ids", path);
	if (json_array_size(ids) != L->nlayers)
		return bia_fail(ctx, BIA_ECORRUPT,
				"image archive '%s': the image config lists %zu layer digests "
				"(rootfs.diff_ids) but the manifest has %zu layers",
				path, json_array_size(ids), L->nlayers);
	L->diff_hex = calloc(L->nlayers + 1, sizeof(*L->diff_hex));
	if (!L->diff_hex)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; i < L->nlayers; i++)
		if (digest_hex(json_string_value(json_array_get(ids, i)), L->diff_hex[i]))
			return bia_fail(ctx, BIA_EFORMAT,
					"image archive '%s': rootfs.diff_ids[%zu] is not a sha256 "
					"digest",
					path, i);
	return BIA_OK;
}

static int mkdirs_in(struct bia_ctx *ctx, const char *root)
{
	static const char *const d[] = {"app", "data", "data/in", "data/out", "data/gt",
					"tmp", "proc", "dev"};
	char p[BIA_PATH_MAX + 16];
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, d[i]);
		struct stat st;
		if (lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				continue;
			if (unlink(p)) /* a symlink or file where we mount: replace it */
				return bia_fail(ctx, BIA_EIO, "cannot replace '%s': %s", p, strerror(errno));
		}
		if (mkdir(p, 0755) && errno != EEXIST)
			return bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", p, strerror(errno));
	}
	return BIA_OK;
}

int bia_oci_unpack(struct bia_ctx *ctx, const char *archive, const char *envs_dir,
		   struct bia_oci_image *out)
{
	return bia_oci_unpack_limits(ctx, archive, envs_dir, NULL, out);
}

int bia_oci_unpack_limits(struct bia_ctx *ctx, const char *archive, const char *envs_dir,
			  const struct bia_oci_limits *lim, struct bia_oci_image *out)
{
	memset(out, 0, sizeof(*out));
	struct layout L;
	memset(&L, 0, sizeof(L));
	json_t *cfgj = NULL;
	char *cfgraw = NULL;
	size_t cfglen = 0;
	char envs[PATH_MAX], tmp[BIA_PATH_MAX], final[BIA_PATH_MAX], p[BIA_PATH_MAX + 64];
	int rc;
	if (bia_mkdir_p(ctx, envs_dir))
		return ctx->rc;
	if (!realpath(envs_dir, envs))
		return bia_fail(ctx, BIA_EIO, "environments folder '%s': %s", envs_dir, strerror(errno));
	if ((rc = find_layout(ctx, archive, &L)))
		goto out;
	if (!L.layers) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	char got[BIA_SHA256_HEX];
	if ((rc = read_member(ctx, archive, L.config_member, &cfgraw, &cfglen)))
		goto out;
	bia_sha256_hex(cfgraw, cfglen, got);
	if (!(cfgj = bia_json_parse(ctx, L.config_member, cfgraw, cfglen))) {
		rc = ctx->rc;
		goto out;
	}
	if (L.config_hex[0] && strcmp(got, L.config_hex)) {
		rc = bia_fail(ctx, BIA_ECORRUPT, "image archive '%s': config digest mismatch", archive);
		goto out;
	}
	memcpy(out->digest, got, BIA_SHA256_HEX);
	if ((rc = fill_image(ctx, cfgj, out)) || (rc = diff_ids(ctx, archive, cfgj, &L)))
		goto out;
	snprintf(final, sizeof(final), "%s/%s", envs, out->digest);
	snprintf(p, sizeof(p), "%s/rootfs", final);
	if (!(out->rootfs = strdup(p))) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(p, sizeof(p), "%s/" MARKER, final);
	if (bia_is_file(p)) { /* unpacked before */
		snprintf(p, sizeof(p), "%s/" CONFIG_COPY, final);
		if (!bia_is_file(p)) { /* unpacked by an older version: best effort */
			struct bia_ctx c2;
			bia_ctx_init(&c2);
			(void)bia_write_file_atomic(&c2, p, cfgraw, cfglen);
		}
		goto out;
	}
	if (bia_is_dir(final) && (rc = bia_rm_rf(ctx, final)))
		goto out; /* an interrupted unpack */

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%ld", envs, out->digest, (long)getpid());
	(void)bia_rm_rf(ctx, tmp);
	bia_ctx_clear(ctx);
	char root[BIA_PATH_MAX + 16];
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	if ((rc = bia_mkdir_p(ctx, root)))
		goto out;
	struct unpack u;
	memset(&u, 0, sizeof(u));
	u.ctx = ctx;
	u.archive = archive;
	u.root = root;
	u.max_bytes = lim && lim->max_bytes ? lim->max_bytes : DEFAULT_MAX_BYTES;
	u.max_files = lim && lim->max_files ? lim->max_files : DEFAULT_MAX_FILES;
	struct archive *w = archive_write_disk_new();
	if (!w) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto fail;
	}
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
						  ARCHIVE_EXTRACT_UNLINK |
						  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						  ARCHIVE_EXTRACT_SECURE_NODOTDOT);
	for (size_t i = 0; !rc && L.layers[i]; i++)
		rc = apply_layer(&u, &L, i, w);
	if (!rc && archive_write_close(w) != ARCHIVE_OK)
		rc = bia_fail(ctx, BIA_EIO, "unpacking '%s': %s", archive, archive_error_string(w));
	archive_write_free(w);
	sset_free(&u.layer_paths);
	if (rc)
		goto fail;
	if ((rc = mkdirs_in(ctx, root)))
		goto fail;
	/* a copy of the config, so that an engine's image can be found again
	 * by its id without exporting it (bia_oci_image_cached) */
	snprintf(p, sizeof(p), "%s/" CONFIG_COPY, tmp);
	if ((rc = bia_write_file_atomic(ctx, p, cfgraw, cfglen)))
		goto fail;
	snprintf(p, sizeof(p), "%s/" MARKER, tmp);
	if ((rc = bia_write_file_atomic(ctx, p, out->digest, strlen(out->digest))))
		goto fail;
	if (rename(tmp, final)) {
		if (errno == EEXIST || errno == ENOTEMPTY) { /* someone else finished first */
			(void)bia_rm_rf(ctx, tmp);
			bia_ctx_clear(ctx);
		} else {
			rc = bia_fail(ctx, BIA_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
			goto fail;
		}
	}
	goto out;
fail: {
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	(void)bia_rm_rf(&c2, tmp);
}
out:
	for (char **l = L.layers; l && *l; l++)
		free(*l);
	free(L.layers);
	free(L.blob_hex);
	free(L.diff_hex);
	json_decref(cfgj);
	free(cfgraw);
	if (rc)
		bia_oci_image_release(out);
	return rc;
}

int bia_oci_image_cached(struct bia_ctx *ctx, const char *envs_dir, const char *digest,
			 struct bia_oci_image *out)
{
	memset(out, 0, sizeof(*out));
	char envs[PATH_MAX], p[BIA_PATH_MAX + 64];
	if (!digest || !bia_is_sha256_hex(digest))
		return bia_fail(ctx, BIA_EINVAL, "'%s' is not a sha256 digest", digest ? digest : "");
	if (!realpath(envs_dir, envs))
		return bia_fail(ctx, BIA_ENOENT, "environments folder '%s': %s", envs_dir,
				strerror(errno));
	snprintf(p, sizeof(p), "%s/%s/" MARKER, envs, digest);
	if (!bia_is_file(p))
		return bia_fail(ctx, BIA_ENOENT, "image %s is not unpacked in '%s'", digest, envs);
	snprintf(p, sizeof(p), "%s/%s/" CONFIG_COPY, envs, digest);
	char *raw = NULL, got[BIA_SHA256_HEX];
	size_t len = 0;
	if (!bia_is_file(p) || bia_read_file(ctx, p, META_MAX, &raw, &len))
		return bia_fail(ctx, BIA_ENOENT, "image %s: no copy of its config in '%s'", digest,
				envs);
	bia_sha256_hex(raw, len, got);
	if (strcmp(got, digest)) {
		free(raw);
		return bia_fail(ctx, BIA_ENOENT, "image %s: its config copy does not match", digest);
	}
	json_t *cfgj = bia_json_parse(ctx, CONFIG_COPY, raw, len);
	free(raw);
	if (!cfgj)
		return ctx->rc;
	int rc = fill_image(ctx, cfgj, out);
	json_decref(cfgj);
	memcpy(out->digest, digest, BIA_SHA256_HEX);
	snprintf(p, sizeof(p), "%s/%s/rootfs", envs, digest);
	if (!rc && !(out->rootfs = strdup(p)))
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	if (rc)
		bia_oci_image_release(out);
	return rc;
}
