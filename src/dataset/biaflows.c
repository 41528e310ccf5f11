/* A BIAFLOWS project-migrator archive as one new problem: the plan from its
 * JSON (pure, fuzzed by fuzz/fuzz-biaflows-archive.c), the archive unpacked
 * with libarchive into the instance's temporary folder, then the pairs
 * imported by bia_dataset_import_new so every check of `dataset import`
 * applies and the problem exists only if the import succeeded.
 * SPDX-License-Identifier: MIT */
#include "dataset/biaflows.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_BYTES 255 /* a file name, as our records keep it */

void bia_bf_plan_init(struct bia_bf_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	bia_arena_init(&plan->arena, 1 << 16);
	plan->name = plan->discipline = plan->description = "";
	plan->invalid = json_array();
	plan->warnings = json_array();
}

void bia_bf_plan_release(struct bia_bf_plan *plan)
{
	free(plan->items);
	json_decref(plan->invalid);
	json_decref(plan->warnings);
	bia_arena_release(&plan->arena);
	memset(plan, 0, sizeof(*plan));
}

static void listf(json_t *arr, const char *fmt, ...) BIA_PRINTF(2, 3);
static void listf(json_t *arr, const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	bia_one_line(m, sizeof(m)); /* names come from the archive */
	json_array_append_new(arr, json_string(m));
}

/* ------------------------------------------------------------ HTML text */

static const struct {
	const char *name; /* entity without & and ; */
	char c;		  /* its character */
} entities[] = {{"amp", '&'}, {"lt", '<'},  {"gt", '>'},
		{"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};

char *bia_bf_html_text(const char *html)
{
	struct bia_buf b;
	bia_buf_init(&b, 1u << 20);
	const char *s = html;
	while (*s) {
		if (*s == '<') {
			const char *end = strchr(s, '>');
			if (!end)
				break; /* an unterminated tag: the rest is markup */
			const char *t = s + 1;
			if (*t == '/')
				t++;
			size_t n = 0;
			while (t[n] && t[n] != '>' && t[n] != ' ' && t[n] != '/')
				n++;
			/* block ends become line ends, so paragraphs survive */
			static const char *const blocks[] = {"br", "p",	 "div", "li", "h1", "h2",
							     "h3", "h4", "h5",	"h6", "tr"};
			for (size_t k = 0; k < sizeof(blocks) / sizeof(*blocks); k++)
				if (strlen(blocks[k]) == n && !strncasecmp(t, blocks[k], n)) {
					bia_buf_addch(&b, '\n');
					break;
				}
			s = end + 1;
		} else if (*s == '&') {
			const char *semi = strchr(s, ';');
			int done = 0;
			if (semi && semi - s <= 8) {
				size_t n = (size_t)(semi - s - 1);
				for (size_t k = 0; k < sizeof(entities) / sizeof(*entities); k++)
					if (strlen(entities[k].name) == n &&
					    !strncmp(s + 1, entities[k].name, n)) {
						bia_buf_addch(&b, entities[k].c);
						done = 1;
					}
				if (!done && s[1] == '#' && n >= 2) {
					char *e;
					long v = s[2] == 'x' || s[2] == 'X' ? strtol(s + 3, &e, 16)
									 : strtol(s + 2, &e, 10);
					/* ASCII only: anything else stays as written */
					if (e == semi && v >= 32 && v < 127) {
						bia_buf_addch(&b, (char)v);
						done = 1;
					}
				}
			}
			if (done) {
				s = semi + 1;
			} else {
				bia_buf_addch(&b, '&');
				s++;
			}
		} else {
			bia_buf_addch(&b, *s == '\r' || *s == '\t' ? ' ' : *s);
			s++;
		}
	}
	char *raw = bia_buf_detach(&b, NULL);
	if (!raw)
		return NULL;
	/* trim each line, at most one blank line in a row, none at the ends */
	char *out = bia_calloc(strlen(raw) + 1, 1);
	if (!out) {
		free(raw);
		return NULL;
	}
	size_t o = 0, blanks = 0;
	char *line = raw;
	while (line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		while (*line == ' ')
			line++;
		size_t n = strlen(line);
		while (n && line[n - 1] == ' ')
			n--;
		if (!n) {
			blanks++;
		} else {
			if (o)
				out[o++] = '\n';
			if (o && blanks)
				out[o++] = '\n';
			memcpy(out + o, line, n);
			o += n;
			blanks = 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	out[o] = '\0';
	free(raw);
	return out;
}

/* ----------------------------------------------------------------- plan */

/* A JSON text, or BIA_EFORMAT naming its file. */
static json_t *parse(struct bia_ctx *ctx, const struct bia_bf_text *t)
{
	if (!t->text) {
		bia_fail(ctx, BIA_EFORMAT, "%s: missing from the archive", t->file);
		return NULL;
	}
	json_t *j = bia_json_parse(ctx, t->file, t->text, t->len);
	if (!j && !strstr(ctx->msg, t->file))
		bia_fail_prefix(ctx, "%s", t->file);
	return j;
}

/* Cytomine collections are a bare array or {"collection": [...]}. */
static json_t *collection(struct bia_ctx *ctx, const struct bia_bf_text *t, json_t *j)
{
	if (json_is_array(j))
		return j;
	json_t *c = json_object_get(j, "collection");
	if (json_is_array(c))
		return c;
	bia_fail(ctx, BIA_EFORMAT,
		 "%s: not a collection (expected an array, or an object with a \"collection\" array)",
		 t->file);
	return NULL;
}

/* An id given as a number or as decimal text; 0 if neither. */
static int64_t id_of(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (*s && !*end && !errno)
			return (int64_t)x;
	}
	return 0;
}

/* A name that is one plain file name we can keep: not empty, no '/', not
 * hidden (a dataset folder skips those), no control character, at most
 * NAME_MAX_BYTES. */
static int plain_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > NAME_MAX_BYTES || s[0] == '.' || strchr(s, '/'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || s[i] == 127)
			return 0;
	return 1;
}

/* The first string member of obj among keys, else NULL. */
static const char *str_of(const json_t *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *s = json_string_value(json_object_get(obj, *keys));
		if (s && *s)
			return s;
	}
	return NULL;
}

/* The discipline of a project: disciplineName, or discipline given as a
 * name or as an object with a name or shortName. "" if none. */
static const char *discipline_of(const json_t *project)
{
	static const char *const direct[] = {"disciplineName", "disciplineShortName", NULL};
	const char *s = str_of(project, direct);
	if (s)
		return s;
	const json_t *d = json_object_get(project, "discipline");
	if (json_is_string(d))
		return json_string_value(d);
	static const char *const inner[] = {"name", "shortName", NULL};
	if (json_is_object(d) && (s = str_of(d, inner)))
		return s;
	return "";
}

/* The class of a discipline name, spaces around it ignored. */
static enum bia_class discipline_class(const char *s)
{
	char t[128];
	while (*s == ' ')
		s++;
	snprintf(t, sizeof(t), "%s", s);
	size_t n = strlen(t);
	while (n && t[n - 1] == ' ')
		t[--n] = '\0';
	return bia_class_parse_name(t);
}

static int cmp_item_stem(const void *a, const void *b)
{
	const struct bia_bf_item *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);
	return c ? c : strcmp(x->image, y->image);
}

/* A ground-truth image: its name and the input it names. */
struct gt_ref {
	const char *name; /* X_lbl.ext */
	char *stem;	  /* the stem of X.ext (arena) */
};

static int cmp_gt(const void *a, const void *b)
{
	const struct gt_ref *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);
	return c ? c : strcmp(x->name, y->name);
}

static struct bia_bf_item *find_stem(struct bia_bf_plan *plan, const char *stem)
{
	size_t lo = 0, hi = plan->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(plan->items[mid].stem, stem);
		if (!c) {
			while (mid > 0 && !strcmp(plan->items[mid - 1].stem, stem))
				mid--;
			return &plan->items[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* How recent an attached file is: its `created` (Cytomine writes epoch
 * milliseconds, as a number or as text), then its id. */
struct attached {
	const char *name; /* filename (arena) */
	int64_t created, id;
};

static int newer(const struct attached *a, const struct attached *b)
{
	return a->created != b->created ? a->created > b->created : a->id > b->id;
}

/* The image instances: inputs into plan->items, ground truth into *pgt. */
static int read_images(struct bia_ctx *ctx, const struct bia_bf_text *t, json_t *coll,
		       struct bia_bf_plan *plan, struct gt_ref **pgt, size_t *pngt)
{
	size_t n = json_array_size(coll), ngt = 0;
	if (n > BIA_BF_MAX_IMAGES)
		return bia_fail(ctx, BIA_ELIMIT, "%s: more than %u image instances", t->file,
				BIA_BF_MAX_IMAGES);
	plan->items = bia_calloc(n ? n : 1, sizeof(*plan->items));
	struct gt_ref *gt = bia_calloc(n ? n : 1, sizeof(*gt));
	*pgt = gt;
	if (!plan->items || !gt)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	static const char *const names[] = {"originalFilename", "filename", "instanceFilename",
					    NULL};
	for (size_t i = 0; i < n; i++) {
		json_t *im = json_array_get(coll, i);
		if (!json_is_object(im))
			return bia_fail(ctx, BIA_EFORMAT, "%s: image instance %zu is not an object",
					t->file, i + 1);
		const char *name = str_of(im, names);
		if (!name)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: image instance %zu has no originalFilename", t->file,
					i + 1);
		if (!plain_name(name)) {
			listf(plan->invalid, "images/%s: not a plain file name (1 to %d bytes, no "
					     "'/', not hidden, no control characters)",
			      name, NAME_MAX_BYTES);
			continue;
		}
		if (!bia_path_is_image(name)) {
			listf(plan->invalid,
			      "images/%s: not an image file (expected .tif, .tiff, .png, .jpg)", name);
			continue;
		}
		char stem[NAME_MAX_BYTES + 1];
		if (strstr(name, "_lbl")) {
			/* X_lbl.ext belongs to X.ext: split on the last "_lbl." */
			const char *cut = NULL, *q = name;
			while ((q = strstr(q, "_lbl.")))
				cut = q++;
			if (!cut) {
				listf(plan->invalid,
				      "images/%s: a ground-truth name ('_lbl') without '_lbl.' (expected "
				      "X_lbl.ext beside X.ext)",
				      name);
				continue;
			}
			char input[NAME_MAX_BYTES + 1];
			snprintf(input, sizeof(input), "%.*s%s", (int)(cut - name), name, cut + 4);
			bia_path_stem(input, stem, sizeof(stem));
			gt[ngt].name = bia_arena_strdup(&plan->arena, name);
			gt[ngt].stem = bia_arena_strdup(&plan->arena, stem);
			if (!gt[ngt].name || !gt[ngt].stem)
				return bia_fail(ctx, BIA_ENOMEM, "out of memory");
			ngt++;
			continue;
		}
		bia_path_stem(name, stem, sizeof(stem));
		struct bia_bf_item *it = &plan->items[plan->n++];
		it->image = bia_arena_strdup(&plan->arena, name);
		it->stem = bia_arena_strdup(&plan->arena, stem);
		it->id = id_of(json_object_get(im, "id"));
		if (!it->image || !it->stem)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	}
	*pngt = ngt;
	return 0;
}

/* The attached GT file of each input: its most recent attached file with
 * the class's extension (TreTrc .swc, ObjTrk .txt). */
static int read_attached(struct bia_ctx *ctx, const struct bia_bf_text *t,
			 struct bia_bf_plan *plan, struct attached *best)
{
	const char *want = plan->cls == BIA_TRETRC ? ".swc" : ".txt";
	json_t *j = parse(ctx, t);
	if (!j)
		return ctx->rc;
	json_t *coll = collection(ctx, t, j);
	int rc = coll ? 0 : ctx->rc;
	size_t i;
	json_t *f;
	json_array_foreach(coll, i, f)
	{
		if (rc)
			break;
		if (!json_is_object(f)) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: attached file %zu is not an object",
				      t->file, i + 1);
			break;
		}
		const char *dom = json_string_value(json_object_get(f, "domainClassName"));
		if (dom && !strstr(dom, "ImageInstance"))
			continue; /* attached to the project or something else */
		static const char *const names[] = {"filename", "originalFilename", NULL};
		const char *name = str_of(f, names);
		int64_t owner = id_of(json_object_get(f, "domainIdent"));
		if (!name || !owner || strcasecmp(bia_path_ext(name), want))
			continue;
		struct bia_bf_item *it = NULL;
		for (size_t k = 0; k < plan->n && !it; k++)
			if (plan->items[k].id == owner)
				it = &plan->items[k];
		if (!it)
			continue; /* a GT image's or an unknown image's */
		if (!plain_name(name)) {
			listf(plan->invalid, "attached_files/%s: not a plain file name", name);
			it->bad = 1;
			continue;
		}
		struct attached a = {NULL, id_of(json_object_get(f, "created")),
				     id_of(json_object_get(f, "id"))};
		struct attached *b = &best[it - plan->items];
		if (b->name && !newer(&a, b))
			continue;
		a.name = bia_arena_strdup(&plan->arena, name);
		if (!a.name) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		*b = a;
	}
	json_decref(j);
	return rc;
}

int bia_bf_plan_parse(struct bia_ctx *ctx, const struct bia_bf_texts *t, enum bia_class cls,
		      struct bia_bf_plan *plan)
{
	json_t *project = NULL, *images = NULL;
	struct gt_ref *gt = NULL;
	struct attached *best = NULL;
	size_t ngt = 0;
	int rc = 0;
	if (!(project = parse(ctx, &t->project))) {
		rc = ctx->rc;
		goto out;
	}
	if (!json_is_object(project)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: not a JSON object", t->project.file);
		goto out;
	}
	plan->project_id = id_of(json_object_get(project, "id"));
	const char *name = json_string_value(json_object_get(project, "name"));
	plan->name = bia_arena_strdup(&plan->arena, name ? name : "");
	plan->discipline = bia_arena_strdup(&plan->arena, discipline_of(project));
	if (!plan->name || !plan->discipline) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	plan->cls = cls;
	if (cls == BIA_CLASS_NONE) {
		plan->cls = discipline_class(plan->discipline);
		if (plan->cls == BIA_CLASS_NONE && plan->discipline[0]) {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "%s: discipline '%s' is not a BIAFLOWS problem class (%s, or "
				      "their names as in WORKFLOWS.md); give --class CODE",
				      t->project.file, plan->discipline, bia_class_list());
			goto out;
		}
		if (plan->cls == BIA_CLASS_NONE) {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "%s: the project names no discipline; give --class CODE (%s)",
				      t->project.file, bia_class_list());
			goto out;
		}
	}
	/* the description object's text, else the project's own */
	const char *html = json_string_value(json_object_get(project, "description"));
	json_t *desc = NULL;
	if (t->description.text) {
		if (!(desc = parse(ctx, &t->description))) {
			rc = ctx->rc;
			goto out;
		}
		const char *data = json_string_value(json_object_get(desc, "data"));
		if (data)
			html = data;
	}
	char *text = bia_bf_html_text(html ? html : "");
	json_decref(desc);
	plan->description = text ? bia_arena_strdup(&plan->arena, text) : NULL;
	free(text);
	if (!plan->description) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}

	if (!(images = parse(ctx, &t->images))) {
		rc = ctx->rc;
		goto out;
	}
	json_t *coll = collection(ctx, &t->images, images);
	if (!coll || (rc = read_images(ctx, &t->images, coll, plan, &gt, &ngt))) {
		rc = ctx->rc;
		goto out;
	}
	if (!plan->n && !json_array_size(plan->invalid)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: no input images (only %zu ground-truth images)",
			      t->images.file, ngt);
		goto out;
	}
	/* inputs by stem; two inputs of one stem cannot be told apart */
	if (plan->n)
		qsort(plan->items, plan->n, sizeof(*plan->items), cmp_item_stem);
	for (size_t i = 1; i < plan->n; i++)
		if (!strcmp(plan->items[i].stem, plan->items[i - 1].stem)) {
			listf(plan->invalid, "images/%s: another image has the same stem '%s' ('%s')",
			      plan->items[i].image, plan->items[i].stem, plan->items[i - 1].image);
			plan->items[i].bad = plan->items[i - 1].bad = 1;
		}
	/* each ground-truth image to its input */
	if (ngt)
		qsort(gt, ngt, sizeof(*gt), cmp_gt);
	for (size_t g = 0; g < ngt; g++) {
		struct bia_bf_item *it = find_stem(plan, gt[g].stem);
		if (!it) {
			listf(plan->invalid,
			      "images/%s: ground truth without its input image (no image of stem '%s')",
			      gt[g].name, gt[g].stem);
			continue;
		}
		if (it->mask) {
			listf(plan->invalid, "images/%s: a second ground truth of '%s' (after '%s')",
			      gt[g].name, it->image, it->mask);
			it->bad = 1;
			continue;
		}
		it->mask = gt[g].name;
	}
	/* TreTrc and ObjTrk: the input's attached file (WORKFLOWS.md §1.7) */
	if (plan->cls == BIA_TRETRC || plan->cls == BIA_OBJTRK) {
		if (t->n_attached > BIA_BF_MAX_ATTACHED) {
			rc = bia_fail(ctx, BIA_ELIMIT, "more than %d attached-file collections",
				      BIA_BF_MAX_ATTACHED);
			goto out;
		}
		best = bia_calloc(plan->n ? plan->n : 1, sizeof(*best));
		if (!best) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < t->n_attached; k++)
			if ((rc = read_attached(ctx, &t->attached[k], plan, best)))
				goto out;
		for (size_t i = 0; i < plan->n; i++)
			plan->items[i].attached = best[i].name;
	}
	for (size_t i = 0; i < plan->n; i++) {
		struct bia_bf_item *it = &plan->items[i];
		if (plan->cls == BIA_TRETRC && it->mask && !it->attached) {
			listf(plan->invalid,
			      "images/%s: TreTrc ground truth is the image's attached .swc file, and "
			      "none is attached (only '%s')",
			      it->image, it->mask);
			it->bad = 1;
		} else if (plan->cls == BIA_OBJTRK && !it->mask != !it->attached) {
			listf(plan->invalid,
			      "images/%s: ObjTrk ground truth needs the label stack X_lbl and an "
			      "attached .txt track file (found only %s)",
			      it->image, it->mask ? it->mask : it->attached);
			it->bad = 1;
		}
		if (!it->bad && (it->mask || it->attached))
			plan->n_gt++;
	}
out:
	free(gt);
	free(best);
	json_decref(project);
	json_decref(images);
	return rc;
}

/* -------------------------------------------------------------- archive */

/* Which member of the project folder we keep: its JSON files, images/X and
 * attached_files/X. Returns the maximum size to accept, 0 to skip it. */
static uint64_t wanted(const char *rel, uint64_t max_file)
{
	const char *slash = strchr(rel, '/');
	if (!slash) {
		size_t n = strlen(rel);
		int json = n > 5 && !strcmp(rel + n - 5, ".json");
		if (json && (!strncmp(rel, "project-", 8) || !strcmp(rel, "imageinstance-collection.json") ||
			     !strncmp(rel, "attached-files-object-", 22) ||
			     !strncmp(rel, "description-object-", 19)))
			return BIA_JSON_MAX_BYTES;
		return 0;
	}
	size_t dn = (size_t)(slash - rel);
	if (strchr(slash + 1, '/') || !slash[1])
		return 0;
	if ((dn == 6 && !strncmp(rel, "images", 6)) ||
	    (dn == 14 && !strncmp(rel, "attached_files", 14)))
		return max_file;
	return 0;
}

/* Copy the member's data to a new file `dst` (never an existing one). */
static int write_member(struct bia_ctx *ctx, struct archive *a, const char *shown,
			const char *name, int64_t size, const char *dst)
{
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST
			       ? bia_fail(ctx, BIA_EFORMAT, "%s: archive member '%s' appears twice",
					  shown, name)
			       : bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", dst,
					  strerror(errno));
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t seen = 0;
	int r, rc = 0;
	while (!rc && (r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		seen += len;
		if (off < 0 || seen > (uint64_t)size) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: archive member '%s' is damaged", shown,
				      name);
			break;
		}
		/* sparse members: the gap reads back as zeros */
		if (lseek(fd, off, SEEK_SET) < 0) {
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", dst, strerror(errno));
			break;
		}
		const char *p = buf;
		while (len) {
			ssize_t w = write(fd, p, len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", dst,
					      strerror(errno));
				break;
			}
			p += w;
			len -= (size_t)w;
		}
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: archive member '%s': %s", shown, name,
			      archive_error_string(a));
	if (!rc && ftruncate(fd, size))
		rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", dst, strerror(errno));
	close(fd);
	return rc;
}

/* Unpack what we read of the archive into dest (JSON files, images/,
 * attached_files/, without the top folder); its top folder's name into
 * top. */
static int unpack(struct bia_ctx *ctx, const char *archive, const char *dest, uint64_t max_file,
		  char *top, size_t topsz)
{
	struct archive *a = archive_read_new();
	if (!a)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_none(a);
	const char *shown = archive;
	int rc = 0, r;
	size_t members = 0;
	uint64_t total = 0;
	top[0] = '\0';
	char dir[BIA_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/images", dest);
	if (mkdir(dir, 0700) && errno != EEXIST)
		rc = bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/attached_files", dest);
	if (!rc && mkdir(dir, 0700) && errno != EEXIST)
		rc = bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", dir, strerror(errno));
	if (!rc && archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: damaged or not a tar archive: %s", shown,
			      archive_error_string(a));
	struct archive_entry *e;
	while (!rc && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *nm = archive_entry_pathname(e);
		char name[1024];
		if (!nm || !*nm || strlen(nm) >= sizeof(name)) {
			rc = bia_fail(ctx, BIA_EFORMAT, "%s: an archive member without a usable name",
				      shown);
			break;
		}
		/* "./top/x" is "top/x" */
		while (nm[0] == '.' && nm[1] == '/')
			nm += 2;
		snprintf(name, sizeof(name), "%s", nm);
		bia_one_line(name, sizeof(name));
		if (++members > BIA_BF_MAX_MEMBERS) {
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: more than %u archive members", shown,
				      BIA_BF_MAX_MEMBERS);
			break;
		}
		if (!*nm)
			continue; /* "./" itself */
		if (bia_path_check_rel(ctx, nm)) {
			char why[sizeof(ctx->msg)];
			snprintf(why, sizeof(why), "%s", ctx->msg);
			rc = bia_fail(ctx, BIA_EPERM, "%s: archive member refused: %s", shown, why);
			break;
		}
		mode_t type = archive_entry_filetype(e);
		if (archive_entry_hardlink(e) || archive_entry_symlink(e) ||
		    (type != AE_IFREG && type != AE_IFDIR)) {
			rc = bia_fail(ctx, BIA_EPERM,
				      "%s: archive member '%s' is a link or a device (refused: the "
				      "layout has files and folders only)",
				      shown, name);
			break;
		}
		/* one top folder, the project's */
		const char *slash = strchr(nm, '/');
		size_t tn = slash ? (size_t)(slash - nm) : strlen(nm);
		if (!slash && type == AE_IFREG) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: archive member '%s' is outside the project folder "
				      "(expected one folder HOST-ID-NAME-DATE/)",
				      shown, name);
			break;
		}
		if (!top[0]) {
			snprintf(top, topsz, "%.*s", (int)tn, nm);
		} else if (strlen(top) != tn || strncmp(top, nm, tn)) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: more than one top folder ('%s' and '%.*s'); expected the "
				      "project's folder only",
				      shown, top, (int)tn, nm);
			break;
		}
		if (type != AE_IFREG)
			continue;
		const char *rel = slash + 1;
		while (*rel == '/')
			rel++;
		uint64_t max = wanted(rel, max_file);
		int64_t size = archive_entry_size(e);
		if (!max)
			continue; /* annotations, users, ontology...: not read */
		if (size < 0 || (uint64_t)size > max) {
			rc = bia_fail(ctx, BIA_ELIMIT,
				      "%s: archive member '%s' is larger than %" PRIu64 " bytes", shown,
				      name, max);
			break;
		}
		total += (uint64_t)size;
		if (total > BIA_BF_MAX_TOTAL) {
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: more than %" PRIu64 " bytes to unpack",
				      shown, (uint64_t)BIA_BF_MAX_TOTAL);
			break;
		}
		char dst[BIA_PATH_MAX];
		if (bia_path_join(ctx, dst, sizeof(dst), dest, rel)) {
			rc = ctx->rc;
			break;
		}
		rc = write_member(ctx, a, shown, name, size, dst);
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: damaged archive: %s", shown,
			      archive_error_string(a));
	if (!rc && !top[0])
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: the archive is empty", shown);
	archive_read_free(a);
	return rc;
}

/* The JSON files of the project folder `root`. */
struct texts_buf {
	struct bia_bf_texts t;
	struct bia_bf_text att[BIA_BF_MAX_ATTACHED];
	char *data[BIA_BF_MAX_ATTACHED + 3]; /* malloc'd texts */
	char names[BIA_BF_MAX_ATTACHED + 3][300];
	size_t ndata;
};

static void texts_release(struct texts_buf *b)
{
	for (size_t i = 0; i < b->ndata; i++)
		free(b->data[i]);
}

static int load_text(struct bia_ctx *ctx, struct texts_buf *b, const char *root,
		     const char *file, const char *shown, struct bia_bf_text *out)
{
	char path[BIA_PATH_MAX];
	size_t k = b->ndata;
	snprintf(path, sizeof(path), "%s/%s", root, file);
	snprintf(b->names[k], sizeof(b->names[k]), "%s/%s", shown, file);
	out->file = b->names[k];
	if (bia_read_file(ctx, path, BIA_JSON_MAX_BYTES, &b->data[k], &out->len))
		return bia_fail(ctx, ctx->rc, "%s: %s", out->file, ctx->msg);
	out->text = b->data[k];
	b->ndata++;
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int has_project(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && !found && (e = readdir(d)))
		found = !strncmp(e->d_name, "project-", 8) && ends_with(e->d_name, ".json");
	if (d)
		closedir(d);
	return found;
}

static int load_texts(struct bia_ctx *ctx, const char *root, const char *shown,
		      struct texts_buf *b)
{
	memset(b, 0, sizeof(*b));
	char project[300] = "", desc[300] = "";
	size_t ndesc = 0;
	DIR *d = opendir(root);
	if (!d)
		return bia_fail(ctx, BIA_ENOENT, "cannot open folder '%s'", shown);
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		const char *n = e->d_name;
		if (strlen(n) >= 250 || !ends_with(n, ".json"))
			continue;
		if (!strncmp(n, "project-", 8)) {
			if (project[0])
				rc = bia_fail(ctx, BIA_EFORMAT, "%s: two project files ('%s', '%s')",
					      shown, project, n);
			snprintf(project, sizeof(project), "%s", n);
		} else if (!strncmp(n, "description-object-", 19)) {
			/* the project's description is the one named by its id;
			 * remember one in case the ids do not match */
			if (!ndesc++ || !desc[0])
				snprintf(desc, sizeof(desc), "%s", n);
		} else if (!strncmp(n, "attached-files-object-", 22)) {
			if (b->t.n_attached == BIA_BF_MAX_ATTACHED)
				rc = bia_fail(ctx, BIA_ELIMIT, "%s: more than %d attached-file collections",
					      shown, BIA_BF_MAX_ATTACHED);
			else
				rc = load_text(ctx, b, root, n, shown, &b->att[b->t.n_attached++]);
		}
	}
	closedir(d);
	if (rc)
		return rc;
	if (!project[0])
		return bia_fail(ctx, BIA_EFORMAT,
				"%s: no project-ID.json (not a BIAFLOWS project-migrator archive)",
				shown);
	if (load_text(ctx, b, root, project, shown, &b->t.project))
		return ctx->rc;
	/* description-object-<project id>.json, else the only one there is */
	char mine[300];
	snprintf(mine, sizeof(mine), "description-object-%.*s.json",
		 (int)(strlen(project) - 13), project + 8);
	char path[BIA_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, mine);
	if (bia_is_file(path))
		rc = load_text(ctx, b, root, mine, shown, &b->t.description);
	else if (ndesc == 1)
		rc = load_text(ctx, b, root, desc, shown, &b->t.description);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/imageinstance-collection.json", root);
	if (!bia_is_file(path))
		return bia_fail(ctx, BIA_EFORMAT, "%s: no imageinstance-collection.json", shown);
	if (load_text(ctx, b, root, "imageinstance-collection.json", shown, &b->t.images))
		return ctx->rc;
	b->t.attached = b->att;
	return 0;
}

/* Link src as dst (a symbolic link: the importer reads through it; the
 * temporary folder is removed without following it). */
static int link_as(struct bia_ctx *ctx, const char *src, const char *dst, json_t *origins,
		   const char *shown)
{
	if (!bia_is_file(src))
		return bia_fail(ctx, BIA_ENOENT, "%s: listed but missing", shown);
	if (symlink(src, dst))
		return bia_fail(ctx, errno == EEXIST ? BIA_EFORMAT : BIA_EIO,
				"%s: cannot link it as '%s': %s", shown, dst, strerror(errno));
	json_object_set_new(origins, dst, json_string(shown));
	return 0;
}

/* The invalid list of the plan into r, each name prefixed with shown/. */
static void plan_problems(struct bia_import_result *r, const struct bia_bf_plan *plan,
			  const char *shown)
{
	size_t i;
	json_t *v;
	json_array_foreach(plan->invalid, i, v)
	{
		const char *m = json_string_value(v);
		const char *sep = strstr(m, ": ");
		json_array_append_new(r->invalid, json_sprintf("%s/%s", shown, m));
		json_t *rec = json_pack("{s:s, s:s}", "field", "stem", "problem", sep ? sep + 2 : m);
		json_object_set_new(rec, "file", sep ? json_sprintf("%s/%.*s", shown, (int)(sep - m), m)
						     : json_string(shown));
		json_array_append_new(r->problems, rec);
	}
	json_array_foreach(plan->warnings, i, v)
		json_array_append_new(r->warnings, json_sprintf("%s/%s", shown, json_string_value(v)));
}

/* The dataset folder ds (images/ + groundtruth/ by stem) of the plan's
 * good items, linked to the files under root. */
static int build_ds(struct bia_ctx *ctx, struct bia_bf_plan *plan, const char *root,
		    const char *ds, const char *shown, json_t *origins,
		    struct bia_import_result *r, int skip_invalid)
{
	char src[BIA_PATH_MAX], dst[BIA_PATH_MAX], what[BIA_PATH_MAX];
	snprintf(dst, sizeof(dst), "%s/images", ds);
	if (bia_mkdir_p(ctx, dst))
		return ctx->rc;
	snprintf(dst, sizeof(dst), "%s/groundtruth", ds);
	if (bia_mkdir_p(ctx, dst))
		return ctx->rc;
	for (size_t i = 0; i < plan->n; i++) {
		struct bia_bf_item *it = &plan->items[i];
		if (it->bad)
			continue;
		const char *files[3] = {it->image, it->mask, it->attached};
		static const char *const sub[3] = {"images", "images", "attached_files"};
		for (int k = 0; k < 3; k++) {
			if (!files[k])
				continue;
			snprintf(src, sizeof(src), "%s/%s/%s", root, sub[k], files[k]);
			snprintf(what, sizeof(what), "%s/%s/%s", shown, sub[k], files[k]);
			if (k == 0)
				snprintf(dst, sizeof(dst), "%s/images/%s", ds, files[k]);
			else /* GT by the input's stem, its own extension */
				snprintf(dst, sizeof(dst), "%s/groundtruth/%s%s", ds, it->stem,
					 bia_path_ext(files[k]));
			struct bia_ctx c;
			bia_ctx_init(&c);
			if (link_as(&c, src, dst, origins, what)) {
				if (c.rc != BIA_ENOENT)
					return bia_fail(ctx, c.rc, "%s", c.msg);
				json_array_append_new(r->invalid,
						      json_sprintf("%s: listed in "
								   "%s but missing from the archive",
								   what,
								   k == 2 ? "the attached files"
									  : "imageinstance-collection.json"));
				json_array_append_new(r->problems,
						      json_pack("{s:s, s:s, s:s}", "file", what, "field",
								k ? "ground_truth" : "image", "problem",
								"missing from the archive"));
				if (!skip_invalid)
					continue;
				/* skipping: the whole item goes, links made so far too */
				for (int j = 0; j < k; j++) {
					char d2[BIA_PATH_MAX];
					if (j == 0)
						snprintf(d2, sizeof(d2), "%s/images/%s", ds, files[0]);
					else
						snprintf(d2, sizeof(d2), "%s/groundtruth/%s%s", ds,
							 it->stem, bia_path_ext(files[j]));
					if (files[j])
						unlink(d2);
				}
				it->bad = 1;
				break;
			}
		}
	}
	return 0;
}

int bia_biaflows_import(struct bia_ctx *ctx, struct bia_instance *inst, const char *path,
			const struct bia_bf_import_opts *o, struct bia_problem *p,
			struct bia_import_result *r)
{
	struct bia_bf_plan plan;
	struct texts_buf tb;
	char tmp[BIA_PATH_MAX], root[BIA_PATH_MAX], ds[BIA_PATH_MAX + 8], shown[BIA_PATH_MAX + 300];
	json_t *origins = NULL;
	int rc = 0, have_tmp = 0;
	memset(p, 0, sizeof(*p));
	memset(&tb, 0, sizeof(tb));
	bia_bf_plan_init(&plan);
	struct stat st;
	if (stat(path, &st)) {
		rc = bia_fail(ctx, BIA_ENOENT, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s/runs/.import-tmp-XXXXXX", inst->root) >=
	    (int)sizeof(tmp)) {
		rc = bia_fail(ctx, BIA_ELIMIT, "instance path too long");
		goto out;
	}
	/* hold the writer lock while the temporary folder exists: fsck
	 * removes such folders only when no writer is active */
	if ((rc = bia_blob_lock_shared(ctx, inst)))
		goto out;
	if (!mkdtemp(tmp)) {
		rc = bia_fail(ctx, BIA_EIO, "cannot create a temporary folder in '%s/runs': %s",
			      inst->root, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if (S_ISDIR(st.st_mode)) {
		/* the unpacked folder itself, or the folder holding it */
		if (!realpath(path, root)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot resolve '%s': %s", path, strerror(errno));
			goto out;
		}
		snprintf(shown, sizeof(shown), "%s", path);
		if (!has_project(root)) {
			DIR *d = opendir(root);
			struct dirent *e;
			char only[256] = "";
			int n = 0;
			while (d && (e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				char sub[BIA_PATH_MAX + 260];
				snprintf(sub, sizeof(sub), "%s/%s", root, e->d_name);
				if (bia_is_dir(sub) && has_project(sub) && strlen(e->d_name) < 256) {
					n++;
					snprintf(only, sizeof(only), "%s", e->d_name);
				}
			}
			if (d)
				closedir(d);
			if (n == 1) {
				size_t l = strlen(root);
				snprintf(root + l, sizeof(root) - l, "/%s", only);
				snprintf(shown, sizeof(shown), "%s/%s", path, only);
			}
		}
	} else {
		char top[256];
		snprintf(root, sizeof(root), "%s/archive", tmp);
		if (mkdir(root, 0700)) {
			rc = bia_fail(ctx, BIA_EIO, "cannot create '%s': %s", root, strerror(errno));
			goto out;
		}
		uint64_t max_file = inst->limits.max_upload_bytes ? inst->limits.max_upload_bytes
								  : BIA_DEFAULT_MAX_UPLOAD;
		bia_info("unpacking '%s' into '%s'", path, root);
		if ((rc = unpack(ctx, path, root, max_file, top, sizeof(top))))
			goto out;
		snprintf(shown, sizeof(shown), "%s:%s", path, top);
	}
	if ((rc = load_texts(ctx, root, shown, &tb)))
		goto out;
	int depth = ctx->max_json_depth;
	ctx->max_json_depth = inst->limits.max_json_depth; /* the instance's JSON limits */
	rc = bia_bf_plan_parse(ctx, &tb.t, o ? o->cls : BIA_CLASS_NONE, &plan);
	ctx->max_json_depth = depth;
	if (rc)
		goto out;

	/* the new problem: checked before any image is read */
	const char *name = o && o->problem ? o->problem : plan.name;
	if (!name[0]) {
		rc = bia_fail(ctx, BIA_EINVAL, "%s: the project has no name; give --problem NAME",
			      tb.t.project.file);
		goto out;
	}
	if (strlen(name) >= sizeof(p->name) - 1) {
		rc = bia_fail(ctx, BIA_ELIMIT, "problem name '%.40s...' is too long", name);
		goto out;
	}
	struct bia_problem other;
	if (!bia_problem_get(ctx, inst, name, &other)) {
		rc = bia_fail(ctx, BIA_EEXIST, "problem '%s' already exists (id %lld); give "
					       "--problem NAME for a new one",
			      other.name, (long long)other.id);
		bia_problem_release(&other);
		goto out;
	}
	bia_ctx_clear(ctx);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cls = plan.cls;
	p->description = bia_strdup(plan.description);
	if (!p->description) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}

	plan_problems(r, &plan, shown);
	size_t nbad = json_array_size(r->invalid);
	if (nbad && !(o && o->skip_invalid)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "refused: %zu invalid file%s, nothing imported", nbad,
			      nbad == 1 ? "" : "s");
		goto out;
	}
	origins = json_object();
	snprintf(ds, sizeof(ds), "%s/ds", tmp);
	if (!origins) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = build_ds(ctx, &plan, root, ds, shown, origins, r, o && o->skip_invalid)))
		goto out;
	nbad = json_array_size(r->invalid);
	if (nbad && !(o && o->skip_invalid)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "refused: %zu invalid file%s, nothing imported", nbad,
			      nbad == 1 ? "" : "s");
		goto out;
	}
	struct bia_import_opts io = {o && o->skip_invalid, NULL, 0};
	rc = bia_dataset_import_new(ctx, inst, p, ds, &io, r);
	/* messages name the archive's files, not the temporary links */
	bia__import_map_origins(rc ? ctx : NULL, r, origins, ds, shown);
out:
	if (have_tmp) {
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		if (bia_rm_rf(&c2, tmp))
			bia_warn("%s", c2.msg);
	}
	if (rc)
		bia_problem_release(p);
	json_decref(origins);
	texts_release(&tb);
	bia_bf_plan_release(&plan);
	return rc;
}
