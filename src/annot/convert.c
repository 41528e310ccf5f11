/* Converters from the formats real annotated data comes in: Cell Tracking
 * Challenge folders, ISBI 2012 particle-tracking XML, point lists (CSV/TXT),
 * SWC; and whole dataset folders in those layouts (docs/convert.md).
 * SPDX-License-Identifier: MIT */
#include "annot/annot.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEXT_MAX (256u << 20)		/* largest point list, XML, SWC, track file */
#define POINTS_MAX (10u * 1000 * 1000)	/* points in one list */
#define PTC_MAX (10u * 1000 * 1000)	/* detections in one XML */
#define FIELDS_MAX 64			/* columns of a point list */
#define FRAMES_MAX 100000		/* frame files of one sequence */

/* ================================================================ helpers */

static void vnote(json_t *arr, int warn, const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (arr)
		json_array_append_new(arr, json_string(msg));
	else if (warn)
		bia_warn("%s", msg);
}

static void warnf(const struct bia_convert_opts *o, const char *fmt, ...) BIA_PRINTF(2, 3);
static void warnf(const struct bia_convert_opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(o ? o->warnings : NULL, 1, fmt, ap);
	va_end(ap);
}

static void origin(const struct bia_convert_opts *o, const char *written, const char *fmt, ...)
	BIA_PRINTF(3, 4);
static void origin(const struct bia_convert_opts *o, const char *written, const char *fmt, ...)
{
	if (!o || !o->origins)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o->origins, written, json_string(msg));
}

/* Record a failure of one item (keep_going) and clear it; else keep it. */
static int item_failed(struct bia_ctx *ctx, const struct bia_convert_opts *o)
{
	if (!ctx->rc)
		return 0;
	if (o && o->keep_going && o->invalid) {
		json_array_append_new(o->invalid, json_string(ctx->msg));
		bia_ctx_clear(ctx);
		return 0;
	}
	return ctx->rc;
}

/* Files written by one converter call: removed again when it fails, handed
 * to o->written when it succeeds. */
struct outs {
	char **v;
	size_t n, cap;
};

static int outs_add(struct bia_ctx *ctx, struct outs *w, const char *path)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		void *t = realloc(w->v, cap * sizeof(*w->v));
		if (!t)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory");
		w->v = t;
		w->cap = cap;
	}
	if (!(w->v[w->n] = bia_strdup(path)))
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	w->n++;
	return 0;
}

/* Forget (and unlink) one path. */
static void outs_drop(struct outs *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i], path)) {
			unlink(w->v[i]);
			free(w->v[i]);
			w->v[i] = w->v[--w->n];
			return;
		}
}

/* Move the paths of `from` into `to`. */
static int outs_merge(struct bia_ctx *ctx, struct outs *to, struct outs *from)
{
	int rc = 0;
	for (size_t i = 0; i < from->n && !rc; i++)
		rc = outs_add(ctx, to, from->v[i]);
	if (rc)
		return rc;
	for (size_t i = 0; i < from->n; i++)
		free(from->v[i]);
	free(from->v);
	memset(from, 0, sizeof(*from));
	return 0;
}

/* rc != 0: unlink everything; else report to o->written. Frees w. */
static int outs_done(struct outs *w, int rc, const struct bia_convert_opts *o)
{
	for (size_t i = 0; i < w->n; i++) {
		if (rc)
			unlink(w->v[i]);
		else if (o && o->written)
			json_array_append_new(o->written, json_string(w->v[i]));
		free(w->v[i]);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
	return rc;
}

static int pjoin(struct bia_ctx *ctx, char *out, const char *a, const char *b)
{
	int k = snprintf(out, BIA_PATH_MAX, "%s/%s", a, b);
	if (k < 0 || k >= BIA_PATH_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "path too long: '%s/%s'", a, b);
	return 0;
}

static int exists(const char *path)
{
	struct stat st;
	return !lstat(path, &st);
}

/* An output path inside a dataset folder: refuses an existing file. */
static int out_path(struct bia_ctx *ctx, char *out, const char *dir, const char *stem,
		    const char *ext)
{
	char name[512];
	int k = snprintf(name, sizeof(name), "%s%s", stem, ext);
	if (k < 0 || (size_t)k >= sizeof(name))
		return bia_fail(ctx, BIA_ELIMIT, "stem too long: '%s'", stem);
	if (pjoin(ctx, out, dir, name))
		return ctx->rc;
	if (exists(out))
		return bia_fail(ctx, BIA_EEXIST, "%s: already exists (not overwritten)", out);
	return 0;
}

static int check_stem(struct bia_ctx *ctx, const char *stem)
{
	if (!stem[0] || stem[0] == '.' || strchr(stem, '/') || strlen(stem) > 200)
		return bia_fail(ctx, BIA_EINVAL,
				"'%s' cannot be a stem (empty, starts with '.', has '/', or is "
				"longer than 200 bytes)",
				stem);
	return 0;
}

static int is_tiff_name(const char *name)
{
	const char *e = bia_path_ext(name);
	return !strcasecmp(e, ".tif") || !strcasecmp(e, ".tiff");
}

/* Names of the regular files (or sub-folders) of a folder, hidden ones
 * skipped, sorted. */
struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* want_dirs: 0 regular files (symlinks followed), 1 folders. */
static int list_names(struct bia_ctx *ctx, const char *dir, int want_dirs, struct names *l)
{
	memset(l, 0, sizeof(*l));
	DIR *d = opendir(dir);
	if (!d)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO,
				"cannot open folder '%s': %s", dir, strerror(errno));
	size_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[BIA_PATH_MAX];
		if ((rc = pjoin(ctx, p, dir, e->d_name)))
			break;
		if (want_dirs ? !bia_is_dir(p) : !bia_is_file(p))
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 32;
			void *t = realloc(l->v, cap * sizeof(*l->v));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				break;
			}
			l->v = t;
		}
		if (!(l->v[l->n] = bia_strdup(e->d_name))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		l->n++;
	}
	closedir(d);
	if (rc) {
		names_free(l);
		return rc;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	return 0;
}

static int read_text(struct bia_ctx *ctx, const char *path, char **pdata, size_t *plen)
{
	if (bia_read_file(ctx, path, TEXT_MAX, pdata, plen))
		return ctx->rc;
	if (memchr(*pdata, '\0', *plen)) {
		BIA_FREE(*pdata);
		return bia_fail(ctx, BIA_EFORMAT, "%s: not a text file (has NUL bytes)", path);
	}
	return 0;
}

/* Copy src to dst (a new file), or link dst -> src (absolute) when `link`
 * and possible. */
static int link_or_copy(struct bia_ctx *ctx, const char *src, const char *dst, int link)
{
	char abs[PATH_MAX];
	if (link && realpath(src, abs) && !symlink(abs, dst))
		return 0;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO, "%s: cannot open: %s",
				src, strerror(errno));
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		close(in);
		return bia_fail(ctx, e == EEXIST ? BIA_EEXIST : BIA_EIO, "%s: cannot create: %s",
				dst, strerror(e));
	}
	char buf[1 << 16];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bia_fail(ctx, BIA_EIO, "%s: read failed: %s", src, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(fd, buf + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = bia_fail(ctx, BIA_EIO, "%s: write failed: %s", dst,
					      strerror(errno));
				break;
			}
			off += k;
		}
		if (rc)
			break;
	}
	close(in);
	if (close(fd) && !rc)
		rc = bia_fail(ctx, BIA_EIO, "%s: write failed: %s", dst, strerror(errno));
	if (rc)
		unlink(dst);
	return rc;
}

static const struct bia_tiff_write_opts mask_wopts = {BIA_COMP_DEFLATE, 0, 0, 0};
static const struct bia_tiff_write_opts stack_wopts = {BIA_COMP_DEFLATE, 0, 0, 1};

/* ================================================================ layouts */

enum bia_layout bia_layout_parse(const char *s)
{
	if (!s)
		return BIA_LAYOUT_NONE;
	if (!strcasecmp(s, "ctc"))
		return BIA_LAYOUT_CTC;
	if (!strcasecmp(s, "isbi-ptc") || !strcasecmp(s, "isbi") || !strcasecmp(s, "ptc"))
		return BIA_LAYOUT_ISBI_PTC;
	if (!strcasecmp(s, "points"))
		return BIA_LAYOUT_POINTS;
	if (!strcasecmp(s, "swc"))
		return BIA_LAYOUT_SWC;
	return BIA_LAYOUT_NONE;
}

const char *bia_layout_name(enum bia_layout l)
{
	switch (l) {
	case BIA_LAYOUT_CTC:
		return "ctc";
	case BIA_LAYOUT_ISBI_PTC:
		return "isbi-ptc";
	case BIA_LAYOUT_POINTS:
		return "points";
	case BIA_LAYOUT_SWC:
		return "swc";
	default:
		return "none";
	}
}

int bia_layout_fits(enum bia_layout l, enum bia_class c)
{
	switch (l) {
	case BIA_LAYOUT_CTC:
		return c == BIA_OBJTRK;
	case BIA_LAYOUT_ISBI_PTC:
		return c == BIA_PRTTRK || c == BIA_OBJDET || c == BIA_SPTCNT;
	case BIA_LAYOUT_POINTS:
		return c == BIA_OBJDET || c == BIA_SPTCNT || c == BIA_LNDDET;
	case BIA_LAYOUT_SWC:
		return c == BIA_TRETRC;
	default:
		return 1;
	}
}

/* ============================================================ point lists */

enum role { R_SKIP = 0, R_X, R_Y, R_Z, R_T, R_CLASS };

/* One line: [s, s+n) without its end-of-line, trimmed. */
struct line_it {
	const char *p, *end;
	size_t lineno;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Next content line (not blank, not '#'); 0 at the end. */
static int next_line(struct line_it *it, const char **ps, size_t *pn)
{
	while (it->p < it->end) {
		const char *s = it->p;
		const char *nl = memchr(s, '\n', (size_t)(it->end - s));
		const char *e = nl ? nl : it->end;
		it->p = nl ? nl + 1 : it->end;
		it->lineno++;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		*ps = s;
		*pn = (size_t)(e - s);
		return 1;
	}
	return 0;
}

/* Split a line on sep (' ' = runs of blanks); fields trimmed and unquoted.
 * Returns the number of fields, or -1 if more than max. */
static int split(const char *s, size_t n, char sep, struct bia_str *f, int max)
{
	int k = 0;
	size_t i = 0;
	for (;;) {
		if (sep == ' ')
			while (i < n && is_blank(s[i]))
				i++;
		size_t a = i;
		while (i < n && (sep == ' ' ? !is_blank(s[i]) : s[i] != sep))
			i++;
		size_t b = i;
		while (a < b && is_blank(s[a]))
			a++;
		while (b > a && is_blank(s[b - 1]))
			b--;
		if (b - a >= 2 && (s[a] == '"' || s[a] == '\'') && s[b - 1] == s[a]) {
			a++;
			b--;
		}
		if (k >= max)
			return -1;
		f[k].p = s + a;
		f[k].len = b - a;
		k++;
		if (i >= n)
			break;
		i++; /* the separator */
		if (sep == ' ' && i >= n)
			break;
	}
	return k;
}

/* A decimal number (no hex, inf or nan). */
static int parse_num(const struct bia_str *f, double *out)
{
	char buf[64];
	if (f->len == 0 || f->len >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < f->len; i++)
		if (!strchr("0123456789+-.eE", f->p[i]))
			return -1;
	memcpy(buf, f->p, f->len);
	buf[f->len] = '\0';
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (end == buf || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int name_is(const struct bia_str *f, const char *name)
{
	return f->len == strlen(name) && !strncasecmp(f->p, name, f->len);
}

/* Role of a header name; -1 if not understood. */
static int header_role(const struct bia_str *f)
{
	static const struct {
		const char *name;
		int role;
	} names[] = {{"x", R_X},	{"y", R_Y},	  {"z", R_Z},	      {"t", R_T},
		     {"frame", R_T},	{"class", R_CLASS}, {"label", R_CLASS}, {"landmark", R_CLASS},
		     {"category", R_CLASS}, {"#", R_SKIP},  {"index", R_SKIP},  {"id", R_SKIP},
		     {"n", R_SKIP},	{"name", R_SKIP}};
	if (f->len == 0)
		return R_SKIP;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_is(f, names[i].name))
			return names[i].role;
	return -1;
}

static const char *role_name(int r)
{
	static const char *const n[] = {"-", "x", "y", "z", "t", "class"};
	return r >= 0 && r <= R_CLASS ? n[r] : "?";
}

/* Roles from an explicit spec "x,y,z,class". Returns the count or -1. */
static int spec_roles(struct bia_ctx *ctx, const char *spec, int *roles)
{
	struct bia_str f[FIELDS_MAX];
	int n = split(spec, strlen(spec), ',', f, FIELDS_MAX);
	if (n < 0) {
		bia_fail(ctx, BIA_EUSAGE, "--columns '%s': too many columns", spec);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int r = name_is(&f[i], "-") ? R_SKIP : header_role(&f[i]);
		if (r < 0 || (f[i].len == 0)) {
			bia_fail(ctx, BIA_EUSAGE,
				 "--columns '%s': '%.*s' is not a column role (x, y, z, t, class "
				 "or - to skip)",
				 spec, (int)f[i].len, f[i].p);
			return -1;
		}
		roles[i] = r;
	}
	return n;
}

/* Check roles: x and y once, others at most once. */
static int check_roles(struct bia_ctx *ctx, const char *what, size_t line, const int *roles,
		       int n, const char *how)
{
	int count[R_CLASS + 1] = {0};
	for (int i = 0; i < n; i++)
		count[roles[i]]++;
	for (int r = R_X; r <= R_CLASS; r++)
		if (count[r] > 1)
			return bia_fail(ctx, BIA_EFORMAT, "%s:%zu: column '%s' appears %d times %s",
					what, line, role_name(r), count[r], how);
	if (!count[R_X] || !count[R_Y])
		return bia_fail(ctx, BIA_EFORMAT, "%s:%zu: no x and y columns %s", what, line, how);
	return 0;
}

void bia_points_release(struct bia_points *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int bia_points_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		     const struct bia_points_opts *o, struct bia_points *out)
{
	static const struct bia_points_opts dflt = {0, 0, NULL, 0};
	if (!o)
		o = &dflt;
	memset(out, 0, sizeof(*out));
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* UTF-8 BOM */
		text += 3;
		len -= 3;
	}
	if (memchr(text, '\0', len))
		return bia_fail(ctx, BIA_EFORMAT, "%s: not a text file (has NUL bytes)", what);
	struct line_it it = {text, text + len, 0};
	const char *s;
	size_t n;
	if (!next_line(&it, &s, &n))
		return 0; /* no points at all: an empty mask */
	size_t first_line = it.lineno;
	char sep = memchr(s, ';', n) ? ';' : memchr(s, ',', n) ? ',' : ' ';
	out->sep = sep;
	struct bia_str f[FIELDS_MAX];
	int nf = split(s, n, sep, f, FIELDS_MAX);
	if (nf < 0)
		return bia_fail(ctx, BIA_EFORMAT, "%s:%zu: more than %d columns", what, first_line,
				FIELDS_MAX);
	int numeric = 1;
	for (int i = 0; i < nf && numeric; i++) {
		double v;
		numeric = !parse_num(&f[i], &v);
	}
	int roles[FIELDS_MAX] = {0};
	int ncols = nf;
	int skip_first = !numeric;
	out->header = !numeric;
	/* "N C 0" count line (Kainz et al.) */
	if (numeric && nf == 3) {
		double a, b, c;
		parse_num(&f[0], &a);
		parse_num(&f[1], &b);
		parse_num(&f[2], &c);
		struct line_it it2 = it;
		const char *s2;
		size_t n2, rest = 0;
		int nf2 = -2;
		while (next_line(&it2, &s2, &n2)) {
			if (nf2 == -2) {
				struct bia_str f2[FIELDS_MAX];
				nf2 = split(s2, n2, sep, f2, FIELDS_MAX);
			}
			rest++;
		}
		if (c == 0 && a == floor(a) && b == floor(b) && a == (double)rest && rest > 0 &&
		    b == (double)nf2) {
			skip_first = 1;
			out->count_line = 1;
		}
	}
	if (o->columns) {
		ncols = spec_roles(ctx, o->columns, roles);
		if (ncols < 0)
			return ctx->rc;
		if (check_roles(ctx, what, first_line, roles, ncols, "in --columns"))
			return bia_fail(ctx, BIA_EUSAGE, "--columns '%s' needs x and y, each once",
					o->columns);
	} else if (out->header) {
		for (int i = 0; i < nf; i++) {
			int r = header_role(&f[i]);
			if (r < 0)
				return bia_fail(ctx, BIA_EFORMAT,
						"%s:%zu: column '%.*s' not understood (names: x, y, z, "
						"t, class; or use --columns)",
						what, first_line, (int)f[i].len, f[i].p);
			roles[i] = r;
		}
		if (check_roles(ctx, what, first_line, roles, nf, "in the header"))
			return ctx->rc;
	} else {
		int cols = nf;
		if (out->count_line) {
			/* count line: columns come from the data lines */
			struct line_it it2 = it;
			const char *s2;
			size_t n2;
			if (next_line(&it2, &s2, &n2))
				cols = split(s2, n2, sep, f, FIELDS_MAX);
		}
		ncols = cols;
		if (cols == 2 && !o->class_column) {
			roles[0] = R_X, roles[1] = R_Y;
		} else if (cols == 3) {
			roles[0] = R_X, roles[1] = R_Y;
			roles[2] = o->class_column || o->ndim < 3 ? R_CLASS : R_Z;
		} else if (cols == 4) {
			roles[0] = R_X, roles[1] = R_Y, roles[2] = R_Z, roles[3] = R_CLASS;
		} else if (cols == 2) {
			return bia_fail(ctx, BIA_EFORMAT,
					"%s:%zu: 2 columns cannot hold x, y and a class", what,
					first_line);
		} else {
			return bia_fail(ctx, BIA_EFORMAT,
					"%s:%zu: %d columns and no header: cannot tell which is x, "
					"y, z or class (add a header line or use --columns)",
					what, first_line, cols);
		}
	}
	for (int i = 0; i < ncols; i++) {
		out->has_z |= roles[i] == R_Z;
		out->has_t |= roles[i] == R_T;
		out->has_class |= roles[i] == R_CLASS;
	}
	/* data lines */
	it.p = text;
	it.lineno = 0;
	size_t cap = 0;
	int first = 1;
	while (next_line(&it, &s, &n)) {
		if (first) {
			first = 0;
			if (skip_first)
				continue;
		}
		nf = split(s, n, sep, f, FIELDS_MAX);
		if (nf != ncols) {
			bia_points_release(out);
			return bia_fail(ctx, BIA_EFORMAT, "%s:%zu: %d field%s, expected %d", what,
					it.lineno, nf < 0 ? FIELDS_MAX + 1 : nf, nf == 1 ? "" : "s",
					ncols);
		}
		if (out->n >= POINTS_MAX) {
			bia_points_release(out);
			return bia_fail(ctx, BIA_ELIMIT, "%s:%zu: more than %u points", what,
					it.lineno, POINTS_MAX);
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 256;
			void *t = realloc(out->v, cap * sizeof(*out->v));
			if (!t) {
				bia_points_release(out);
				return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
			}
			out->v = t;
		}
		struct bia_point *pt = &out->v[out->n];
		memset(pt, 0, sizeof(*pt));
		pt->line = it.lineno;
		pt->cls = 1;
		for (int i = 0; i < ncols; i++) {
			if (roles[i] == R_SKIP)
				continue;
			double v;
			if (parse_num(&f[i], &v)) {
				int rc = bia_fail(ctx, BIA_EFORMAT,
						  "%s:%zu: %s value '%.*s' is not a number", what,
						  it.lineno, role_name(roles[i]),
						  (int)(f[i].len > 40 ? 40 : f[i].len), f[i].p);
				bia_points_release(out);
				return rc;
			}
			const char *bad = NULL;
			switch (roles[i]) {
			case R_X:
				pt->x = v;
				break;
			case R_Y:
				pt->y = v;
				break;
			case R_Z:
				pt->z = v;
				break;
			case R_T:
				if (v != floor(v) || v < 0 || v > 1e9)
					bad = "t must be a frame number (integer >= 0)";
				else
					pt->t = (int64_t)v;
				break;
			case R_CLASS:
				if (v != floor(v) || v < 1 || v > 65535)
					bad = v == 0 ? "class 0 is not allowed (grey value 0 is the "
						       "background; is this column a z coordinate? "
						       "use --columns)"
						     : "class must be an integer 1..65535";
				else
					pt->cls = (uint32_t)v;
				break;
			}
			if (bad) {
				int rc = bia_fail(ctx, BIA_EFORMAT, "%s:%zu: %s (found %g)", what,
						  it.lineno, bad, v);
				bia_points_release(out);
				return rc;
			}
		}
		out->n++;
	}
	if (!out->has_class && o->number_points) {
		if (out->n > 65535) {
			size_t line = out->v[65535].line;
			bia_points_release(out);
			return bia_fail(ctx, BIA_ELIMIT,
					"%s:%zu: more than 65535 points cannot be numbered", what, line);
		}
		for (size_t i = 0; i < out->n; i++)
			out->v[i].cls = (uint32_t)(i + 1);
	}
	return 0;
}

/* Nearest pixel of a coordinate, or -1 when outside [0, size). */
static int64_t pixel_of(double v, size_t size)
{
	if (!(v >= -0.5) || !(v < (double)size - 0.5))
		return -1;
	int64_t p = (int64_t)floor(v + 0.5);
	return p >= 0 && (uint64_t)p < size ? p : -1;
}

int bia_points_mask(struct bia_ctx *ctx, const char *what, const struct bia_points *pts,
		    const struct bia_image *like, struct bia_image *mask)
{
	bia_image_init(mask);
	if (pts->n && like->z > 1 && !pts->has_z)
		return bia_fail(ctx, BIA_ESHAPE,
				"%s: the image has %zu slices (Z) but the points have no z column",
				what, like->z);
	if (pts->n && like->t > 1 && !pts->has_t)
		return bia_fail(ctx, BIA_ESHAPE,
				"%s: the image has %zu frames (T) but the points have no t column",
				what, like->t);
	if (bia_image_alloc(ctx, mask, like->x, like->y, like->z, 1, like->t, BIA_U16))
		return bia_fail_prefix(ctx, "%s", what);
	memcpy(mask->phys, like->phys, sizeof(mask->phys));
	uint16_t *m = mask->data;
	for (size_t i = 0; i < pts->n; i++) {
		const struct bia_point *p = &pts->v[i];
		int64_t x = pixel_of(p->x, like->x), y = pixel_of(p->y, like->y);
		int64_t z = pixel_of(p->z, like->z);
		int inside_t = p->t >= 0 && (uint64_t)p->t < like->t;
		if (x < 0 || y < 0 || z < 0 || !inside_t) {
			char shape[96];
			int rc;
			bia_image_shape_str(like, shape, sizeof(shape));
			if (!inside_t)
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%zu: frame t=%lld is outside the image (%zu "
					      "frames)",
					      what, p->line, (long long)p->t, like->t);
			else if (pts->has_z)
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%zu: point (%g, %g, %g) is outside the image (%s)",
					      what, p->line, p->x, p->y, p->z, shape);
			else
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%zu: point (%g, %g) is outside the image (%s)", what,
					      p->line, p->x, p->y, shape);
			bia_image_release(mask);
			return rc;
		}
		size_t idx = bia_image_index(mask, (size_t)x, (size_t)y, (size_t)z, 0, (size_t)p->t);
		if (m[idx]) {
			size_t other = 0;
			for (size_t j = 0; j < i; j++) {
				const struct bia_point *q = &pts->v[j];
				if (pixel_of(q->x, like->x) == x && pixel_of(q->y, like->y) == y &&
				    pixel_of(q->z, like->z) == z && q->t == p->t) {
					other = q->line;
					break;
				}
			}
			bia_image_release(mask);
			return bia_fail(ctx, BIA_EFORMAT,
					"%s:%zu: point (%g, %g) falls on the same pixel (%lld, %lld) "
					"as the point of line %zu",
					what, p->line, p->x, p->y, (long long)x, (long long)y, other);
		}
		m[idx] = (uint16_t)p->cls;
	}
	return 0;
}

/* ================================================================ ISBI PTC */

static int is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

void bia_ptc_release(struct bia_ptc *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->particles[i].det);
	free(p->particles);
	memset(p, 0, sizeof(*p));
}

/* A numeric attribute: 0 ok, 1 absent, -1 malformed. */
static int attr_num(const xmlNode *n, const char *name, double *out)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (!v)
		return 1;
	struct bia_str f = {(const char *)v, strlen((const char *)v)};
	while (f.len && is_blank(*f.p))
		f.p++, f.len--;
	while (f.len && is_blank(f.p[f.len - 1]))
		f.len--;
	int rc = parse_num(&f, out) ? -1 : 0;
	xmlFree(v);
	return rc;
}

static int ptc_detection(struct bia_ctx *ctx, const char *what, const xmlNode *d,
			 struct bia_ptc_detection *det)
{
	static const char *const names[4] = {"t", "x", "y", "z"};
	double v[4] = {0, 0, 0, 0};
	long line = xmlGetLineNo(d);
	for (int k = 0; k < 4; k++) {
		int r = attr_num(d, names[k], &v[k]);
		if (r < 0)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s:%ld: <detection> attribute '%s' is not a number", what, line,
					names[k]);
		if (r > 0 && k < 3)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s:%ld: <detection> has no '%s' attribute", what, line,
					names[k]);
	}
	if (v[0] != floor(v[0]) || v[0] < 0 || v[0] > 1e9)
		return bia_fail(ctx, BIA_EFORMAT,
				"%s:%ld: <detection> t=\"%g\" is not a frame number (integer >= 0)",
				what, line, v[0]);
	det->t = (int64_t)v[0];
	det->x = v[1];
	det->y = v[2];
	det->z = v[3];
	det->line = line;
	return 0;
}

int bia_ptc_parse(struct bia_ctx *ctx, const char *what, const char *xml, size_t len,
		  struct bia_ptc *out)
{
	memset(out, 0, sizeof(*out));
	if (len > INT32_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "%s: XML too large", what);
	xmlParserCtxtPtr pc = xmlNewParserCtxt();
	if (!pc)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	xmlDocPtr doc = xmlCtxtReadMemory(pc, xml, (int)len, "isbi.xml", NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(pc);
		int rc = bia_fail(ctx, BIA_EFORMAT, "%s:%d: invalid XML: %s", what,
				  e ? e->line : 0, e && e->message ? e->message : "parse error");
		char *nl;
		while ((nl = strrchr(ctx->msg, '\n')) && nl[1] == '\0')
			*nl = '\0';
		xmlFreeParserCtxt(pc);
		return rc;
	}
	int rc = 0;
	size_t cap = 0;
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *contest = NULL;
	if (doc->intSubset || doc->extSubset) {
		rc = bia_fail(ctx, BIA_EFORMAT, "%s: XML with a DOCTYPE is not accepted", what);
		goto out;
	}
	if (is_elem(root, "TrackContestISBI2012")) {
		contest = root;
	} else if (is_elem(root, "root")) {
		for (const xmlNode *c = root->children; c; c = c->next) {
			if (is_elem(c, "TrackContestISBI2012")) {
				if (contest) {
					rc = bia_fail(ctx, BIA_EFORMAT,
						      "%s:%ld: a second <TrackContestISBI2012>", what,
						      xmlGetLineNo(c));
					goto out;
				}
				contest = c;
			}
		}
	}
	if (!contest) {
		rc = bia_fail(ctx, BIA_EFORMAT,
			      "%s: not ISBI 2012 particle-tracking XML (expected "
			      "<root><TrackContestISBI2012><particle><detection .../>)",
			      what);
		goto out;
	}
	for (const xmlNode *pn = contest->children; pn; pn = pn->next) {
		if (pn->type != XML_ELEMENT_NODE)
			continue;
		if (!is_elem(pn, "particle")) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s:%ld: unexpected element <%s> (expected <particle>)", what,
				      xmlGetLineNo(pn), (const char *)pn->name);
			goto out;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			void *t = realloc(out->particles, cap * sizeof(*out->particles));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
				goto out;
			}
			out->particles = t;
		}
		struct bia_ptc_particle *part = &out->particles[out->n++];
		memset(part, 0, sizeof(*part));
		part->line = xmlGetLineNo(pn);
		size_t dcap = 0;
		for (const xmlNode *d = pn->children; d; d = d->next) {
			if (d->type != XML_ELEMENT_NODE)
				continue;
			if (!is_elem(d, "detection")) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%ld: unexpected element <%s> in <particle> "
					      "(expected <detection>)",
					      what, xmlGetLineNo(d), (const char *)d->name);
				goto out;
			}
			if (out->n_detections >= PTC_MAX) {
				rc = bia_fail(ctx, BIA_ELIMIT, "%s:%ld: more than %u detections",
					      what, xmlGetLineNo(d), PTC_MAX);
				goto out;
			}
			if (part->n == dcap) {
				dcap = dcap ? dcap * 2 : 16;
				void *t = realloc(part->det, dcap * sizeof(*part->det));
				if (!t) {
					rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
					goto out;
				}
				part->det = t;
			}
			if ((rc = ptc_detection(ctx, what, d, &part->det[part->n])))
				goto out;
			part->n++;
			out->n_detections++;
		}
	}
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(pc);
	if (rc)
		bia_ptc_release(out);
	return rc;
}

int bia_ptc_stack(struct bia_ctx *ctx, const char *what, const struct bia_ptc *p,
		  const struct bia_image *like, int64_t first_frame, struct bia_image *labels)
{
	bia_image_init(labels);
	enum bia_dtype dt = p->n > 65535 ? BIA_U32 : BIA_U16;
	if ((uint64_t)p->n > UINT32_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "%s: too many particles", what);
	if (bia_image_alloc(ctx, labels, like->x, like->y, like->z, 1, like->t, dt))
		return bia_fail_prefix(ctx, "%s", what);
	memcpy(labels->phys, like->phys, sizeof(labels->phys));
	uint8_t *seen = bia_calloc(like->t, 1);
	if (!seen) {
		bia_image_release(labels);
		return bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
	}
	int rc = 0;
	for (size_t i = 0; i < p->n && !rc; i++) {
		const struct bia_ptc_particle *part = &p->particles[i];
		uint32_t id = (uint32_t)(i + 1);
		memset(seen, 0, like->t);
		for (size_t k = 0; k < part->n && !rc; k++) {
			const struct bia_ptc_detection *d = &part->det[k];
			int64_t t = d->t - first_frame;
			if (t < 0 || (uint64_t)t >= like->t) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%ld: detection of particle %u in frame t=%lld, but "
					      "the images have frames %lld..%lld",
					      what, d->line, id, (long long)d->t, (long long)first_frame,
					      (long long)(first_frame + (int64_t)like->t - 1));
				break;
			}
			int64_t x = pixel_of(d->x, like->x), y = pixel_of(d->y, like->y);
			int64_t z = pixel_of(d->z, like->z);
			if (x < 0 || y < 0 || z < 0) {
				char shape[96];
				bia_image_shape_str(like, shape, sizeof(shape));
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%ld: detection (x=%g, y=%g, z=%g) of particle %u in "
					      "frame %lld is outside the image (%s)",
					      what, d->line, d->x, d->y, d->z, id, (long long)d->t, shape);
				break;
			}
			if (seen[t]) {
				long other = 0;
				for (size_t j = 0; j < k; j++)
					if (part->det[j].t == d->t) {
						other = part->det[j].line;
						break;
					}
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%ld: particle %u has a second detection in frame "
					      "%lld (first at line %ld)",
					      what, d->line, id, (long long)d->t, other);
				break;
			}
			seen[t] = 1;
			size_t idx = bia_image_index(labels, (size_t)x, (size_t)y, (size_t)z, 0,
						     (size_t)t);
			uint32_t cur = dt == BIA_U16 ? ((uint16_t *)labels->data)[idx]
						     : ((uint32_t *)labels->data)[idx];
			if (cur) {
				long other = 0;
				const struct bia_ptc_particle *op = &p->particles[cur - 1];
				for (size_t j = 0; j < op->n; j++)
					if (op->det[j].t == d->t) {
						other = op->det[j].line;
						break;
					}
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s:%ld: particles %u and %u are on the same pixel (%lld, "
					      "%lld, %lld) in frame %lld (other detection at line %ld)",
					      what, d->line, cur, id, (long long)x, (long long)y,
					      (long long)z, (long long)d->t, other);
				break;
			}
			if (dt == BIA_U16)
				((uint16_t *)labels->data)[idx] = (uint16_t)id;
			else
				((uint32_t *)labels->data)[idx] = id;
		}
	}
	free(seen);
	if (rc)
		bia_image_release(labels);
	return rc;
}

/* ================================================================ frames */

struct frame {
	char *path;
	int64_t t, z; /* z = -1: the file holds all slices of its frame */
};

struct frames {
	struct frame *v;
	size_t n;
	int64_t first; /* first frame number */
	size_t nt, nz; /* frames; files per frame (1 unless per-slice files) */
};

static void frames_free(struct frames *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int cmp_frame(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->z != y->z)
		return x->z < y->z ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int parse_digits(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 9)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* CTC names: PREFIX + digits + .tif/.tiff ("t012.tif", "man_track012.tif"). */
static int ctc_number(const char *name, const char *prefix, int64_t *t)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) || !is_tiff_name(name))
		return -1;
	char stem[256];
	bia_path_stem(name, stem, sizeof(stem));
	size_t sl = strlen(stem);
	return sl > pl ? parse_digits(stem + pl, sl - pl, t) : -1;
}

/* A token LETTER+digits delimited by non-alphanumerics ("t000" in
 * "NAME t000 z0"). */
static int token_number(const char *stem, char letter, int64_t *out)
{
	size_t n = strlen(stem);
	for (size_t i = 0; i < n; i++) {
		if (tolower((unsigned char)stem[i]) != letter)
			continue;
		if (i > 0 && isalnum((unsigned char)stem[i - 1]))
			continue;
		size_t j = i + 1;
		while (j < n && isdigit((unsigned char)stem[j]))
			j++;
		if (j == i + 1 || (j < n && isalnum((unsigned char)stem[j])))
			continue;
		if (!parse_digits(stem + i + 1, j - i - 1, out))
			return 0;
	}
	return -1;
}

/* Frame number of a file of a frame folder: a t token, else the last run of
 * digits. z from a z token, else -1. */
static int any_number(const char *name, int64_t *t, int64_t *z)
{
	char stem[256];
	bia_path_stem(name, stem, sizeof(stem));
	if (token_number(stem, 'z', z))
		*z = -1;
	if (!token_number(stem, 't', t))
		return 0;
	size_t n = strlen(stem), e = n;
	while (e > 0 && !isdigit((unsigned char)stem[e - 1]))
		e--;
	size_t b = e;
	while (b > 0 && isdigit((unsigned char)stem[b - 1]))
		b--;
	if (b == e)
		return -1;
	if (*z >= 0) {
		/* the z token must not be the frame number */
		return -1;
	}
	return parse_digits(stem + b, e - b, t);
}

/* List frame files of dir. prefix != NULL: CTC names PREFIX + digits +
 * .tif; else any image file with a frame number. Image files that do not
 * match are ignored with a warning (non-image files silently). */
static int list_frames(struct bia_ctx *ctx, const char *dir, const char *prefix,
		       const struct bia_convert_opts *o, struct frames *fr)
{
	memset(fr, 0, sizeof(*fr));
	struct names l;
	if (list_names(ctx, dir, 0, &l))
		return ctx->rc;
	int rc = 0;
	fr->v = bia_calloc(l.n ? l.n : 1, sizeof(*fr->v));
	if (!fr->v)
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
	for (size_t i = 0; i < l.n && !rc; i++) {
		int64_t t = 0, z = -1;
		if (!bia_path_is_image(l.v[i]))
			continue;
		if (prefix ? ctc_number(l.v[i], prefix, &t) : any_number(l.v[i], &t, &z)) {
			warnf(o, "%s/%s: not a frame file, ignored", dir, l.v[i]);
			continue;
		}
		if (fr->n >= FRAMES_MAX) {
			rc = bia_fail(ctx, BIA_ELIMIT, "%s: more than %d frame files", dir,
				      FRAMES_MAX);
			break;
		}
		char p[BIA_PATH_MAX];
		if ((rc = pjoin(ctx, p, dir, l.v[i])))
			break;
		if (!(fr->v[fr->n].path = bia_strdup(p))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			break;
		}
		fr->v[fr->n].t = t;
		fr->v[fr->n].z = z;
		fr->n++;
	}
	names_free(&l);
	if (rc) {
		frames_free(fr);
		return rc;
	}
	qsort(fr->v, fr->n, sizeof(*fr->v), cmp_frame);
	return 0;
}

/* Check that frames are first..first+T-1, each with the same slice files. */
static int frames_check(struct bia_ctx *ctx, const char *dir, struct frames *fr)
{
	if (!fr->n)
		return bia_fail(ctx, BIA_ENOENT, "%s: no frame files", dir);
	int per_slice = fr->v[0].z >= 0;
	for (size_t i = 0; i < fr->n; i++)
		if ((fr->v[i].z >= 0) != per_slice)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: some file names have a z number and some not ('%s')", dir,
					bia_path_base(fr->v[i].path));
	for (size_t i = 1; i < fr->n; i++)
		if (fr->v[i].t == fr->v[i - 1].t && fr->v[i].z == fr->v[i - 1].z)
			return bia_fail(ctx, BIA_EFORMAT, "%s: '%s' and '%s' are the same frame", dir,
					bia_path_base(fr->v[i - 1].path), bia_path_base(fr->v[i].path));
	fr->first = fr->v[0].t;
	size_t nz = 0;
	while (nz < fr->n && fr->v[nz].t == fr->first)
		nz++;
	fr->nz = nz;
	if (fr->n % nz)
		return bia_fail(ctx, BIA_EFORMAT, "%s: frames do not all have %zu slice files", dir,
				nz);
	fr->nt = fr->n / nz;
	for (size_t i = 0; i < fr->n; i++) {
		int64_t want_t = fr->first + (int64_t)(i / nz);
		int64_t want_z = per_slice ? fr->v[i % nz].z : -1;
		if (fr->v[i].t != want_t)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: frame %lld is missing (frames must be consecutive; next "
					"file is '%s')",
					dir, (long long)want_t, bia_path_base(fr->v[i].path));
		if (fr->v[i].z != want_z)
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: '%s' does not have the slices of frame %lld", dir,
					bia_path_base(fr->v[i].path), (long long)fr->first);
	}
	return 0;
}

/* Read the frames into one stack (T = frames; per-slice files go on Z). */
static int read_stack(struct bia_ctx *ctx, const struct frames *fr, struct bia_image *st)
{
	bia_image_init(st);
	struct bia_image f0; /* shape of the first file, for messages */
	bia_image_init(&f0);
	size_t plane = 0;
	for (size_t i = 0; i < fr->n; i++) {
		struct bia_image im;
		if (bia_image_read(ctx, fr->v[i].path, NULL, &im)) {
			bia_image_release(st);
			return ctx->rc;
		}
		if (i == 0) {
			if (fr->nz > 1 && im.z > 1) {
				bia_image_release(&im);
				return bia_fail(ctx, BIA_ESHAPE,
						"%s: a per-slice frame file has %zu slices",
						fr->v[0].path, im.z);
			}
			if (im.t > 1) {
				bia_image_release(&im);
				return bia_fail(ctx, BIA_ESHAPE,
						"%s: a frame file has %zu time points", fr->v[0].path,
						im.t);
			}
			if (bia_image_alloc(ctx, st, im.x, im.y, im.z * fr->nz, im.c, fr->nt,
					    im.dtype)) {
				bia_image_release(&im);
				return bia_fail_prefix(ctx, "%s", fr->v[0].path);
			}
			memcpy(st->phys, im.phys, sizeof(st->phys));
			plane = bia_image_nbytes(&im);
			f0 = im;
			f0.data = NULL;
		} else if (im.x != f0.x || im.y != f0.y || im.z != f0.z || im.c != f0.c ||
			   im.t != 1 || im.dtype != f0.dtype) {
			char a[96], b[96];
			bia_image_shape_str(&im, a, sizeof(a));
			bia_image_shape_str(&f0, b, sizeof(b));
			int rc = bia_fail(ctx, BIA_ESHAPE,
					  "%s: frame is %s %s but the first frame '%s' is %s %s",
					  fr->v[i].path, a, bia_dtype_name(im.dtype),
					  bia_path_base(fr->v[0].path), b, bia_dtype_name(f0.dtype));
			bia_image_release(&im);
			bia_image_release(st);
			return rc;
		}
		memcpy((char *)st->data + plane * i, im.data, plane);
		bia_image_release(&im);
	}
	return 0;
}

/* Read label frames (CTC TRA/SEG) into a uint16 stack of X, Y, Z, T. Frames
 * must lie in first..first+T-1; frames not listed stay 0. */
static int read_labels(struct bia_ctx *ctx, const struct frames *fr, const struct bia_image *like,
		       int64_t first, struct bia_image *st)
{
	if (bia_image_alloc(ctx, st, like->x, like->y, like->z, 1, like->t, BIA_U16))
		return ctx->rc;
	memcpy(st->phys, like->phys, sizeof(st->phys));
	size_t plane = like->x * like->y * like->z;
	for (size_t i = 0; i < fr->n; i++) {
		const char *path = fr->v[i].path;
		int64_t t = fr->v[i].t - first;
		if (t < 0 || (uint64_t)t >= like->t) {
			bia_image_release(st);
			return bia_fail(ctx, BIA_EFORMAT,
					"%s: frame %lld, but the images have frames %lld..%lld", path,
					(long long)fr->v[i].t, (long long)first,
					(long long)(first + (int64_t)like->t - 1));
		}
		struct bia_image im;
		if (bia_image_read(ctx, path, NULL, &im)) {
			bia_image_release(st);
			return ctx->rc;
		}
		if (im.x != like->x || im.y != like->y || im.z != like->z || im.t != 1 ||
		    im.c != 1) {
			char a[96], b[96];
			struct bia_image fshape = *like;
			fshape.c = fshape.t = 1;
			fshape.data = NULL;
			bia_image_shape_str(&im, a, sizeof(a));
			bia_image_shape_str(&fshape, b, sizeof(b));
			bia_image_release(&im);
			bia_image_release(st);
			return bia_fail(ctx, BIA_ESHAPE, "%s: mask is %s but the image frames are %s",
					path, a, b);
		}
		uint32_t *lab;
		if (bia_labels_u32(ctx, path, &im, &lab)) {
			bia_image_release(&im);
			bia_image_release(st);
			return ctx->rc;
		}
		bia_image_release(&im);
		uint16_t *dst = (uint16_t *)st->data + plane * (size_t)t;
		for (size_t k = 0; k < plane; k++) {
			if (lab[k] > 65535) {
				free(lab);
				bia_image_release(st);
				return bia_fail(ctx, BIA_EFORMAT, "%s: label %u is above 65535", path,
						(unsigned)lab[k]);
			}
			dst[k] = (uint16_t)lab[k];
		}
		free(lab);
	}
	return 0;
}

static int write_stack(struct bia_ctx *ctx, const struct bia_image *im, const char *path,
		       struct outs *w)
{
	if (bia_image_write_tiff(ctx, im, path, &stack_wopts))
		return ctx->rc;
	return outs_add(ctx, w, path);
}

static int write_bytes(struct bia_ctx *ctx, const char *path, const void *data, size_t len,
		       struct outs *w)
{
	if (bia_write_file_atomic(ctx, path, data, len))
		return ctx->rc;
	return outs_add(ctx, w, path);
}

static int make_dirs(struct bia_ctx *ctx, const char *out, char *idir, char *gdir)
{
	if (pjoin(ctx, idir, out, "images") || pjoin(ctx, gdir, out, "groundtruth"))
		return ctx->rc;
	if (bia_mkdir_p(ctx, idir) || bia_mkdir_p(ctx, gdir))
		return ctx->rc;
	return 0;
}

/* ===================================================================== CTC */

/* One CTC sequence: frames in imgdir (tTTT.tif), TRA in tradir (may be
 * NULL: no GT), SEG in segdir (may be NULL). */
static int ctc_sequence(struct bia_ctx *ctx, const char *imgdir, const char *tradir,
			const char *segdir, const char *stem, const char *out,
			const struct bia_convert_opts *o, struct outs *w)
{
	char idir[BIA_PATH_MAX], gdir[BIA_PATH_MAX], ipath[BIA_PATH_MAX], gpath[BIA_PATH_MAX],
		tpath[BIA_PATH_MAX], txt[BIA_PATH_MAX];
	struct frames fi, ft, fs;
	struct bia_image img, lab, seg;
	struct bia_ctc_tracks tr;
	char *text = NULL;
	size_t tlen = 0;
	int rc;
	memset(&fi, 0, sizeof(fi));
	memset(&ft, 0, sizeof(ft));
	memset(&fs, 0, sizeof(fs));
	memset(&tr, 0, sizeof(tr));
	bia_image_init(&img);
	bia_image_init(&lab);
	bia_image_init(&seg);
	if ((rc = check_stem(ctx, stem)) || (rc = make_dirs(ctx, out, idir, gdir)) ||
	    (rc = out_path(ctx, ipath, idir, stem, ".tif")))
		goto out;
	if (tradir && ((rc = out_path(ctx, gpath, gdir, stem, ".tif")) ||
		       (rc = out_path(ctx, tpath, gdir, stem, ".txt"))))
		goto out;
	if ((rc = list_frames(ctx, imgdir, "t", o, &fi)) || (rc = frames_check(ctx, imgdir, &fi)))
		goto out;
	if ((rc = read_stack(ctx, &fi, &img)))
		goto out;
	if (tradir) {
		if ((rc = pjoin(ctx, txt, tradir, "man_track.txt")))
			goto out;
		if (!bia_is_file(txt)) {
			rc = bia_fail(ctx, BIA_ENOENT, "%s: missing (the CTC track file)", txt);
			goto out;
		}
		if ((rc = list_frames(ctx, tradir, "man_track", o, &ft)))
			goto out;
		/* every image frame has exactly one TRA mask, and no other */
		for (size_t i = 0; i < fi.nt || i < ft.n; i++) {
			int64_t t = fi.first + (int64_t)i;
			if (i < ft.n && i < fi.nt && ft.v[i].t == t)
				continue;
			if (i < ft.n && (i >= fi.nt || ft.v[i].t < t))
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: TRA mask of frame %lld, but the images in '%s' are "
					      "frames %lld..%lld%s",
					      ft.v[i].path, (long long)ft.v[i].t, imgdir,
					      (long long)fi.first,
					      (long long)(fi.first + (int64_t)fi.nt - 1),
					      i && ft.v[i].t == ft.v[i - 1].t ? " (a second mask of "
										 "that frame)"
									       : "");
			else
				rc = bia_fail(ctx, BIA_ENOENT,
					      "%s: no TRA mask man_track%03lld.tif for image frame %lld",
					      tradir, (long long)t, (long long)t);
			goto out;
		}
		if ((rc = read_labels(ctx, &ft, &img, fi.first, &lab)))
			goto out;
		if ((rc = read_text(ctx, txt, &text, &tlen)))
			goto out;
		if ((rc = bia_ctc_parse(ctx, txt, text, tlen, &tr)))
			goto out;
		if (fi.first) {
			for (size_t i = 0; i < tr.n; i++) {
				tr.tracks[i].begin -= fi.first;
				tr.tracks[i].end -= fi.first;
			}
		}
		if ((rc = bia_ctc_check(ctx, txt, &lab, &tr)))
			goto out;
		if (fi.first) {
			/* frame numbers shifted so that the first image frame is 0 */
			struct bia_buf b;
			bia_buf_init(&b, TEXT_MAX);
			for (size_t i = 0; i < tr.n; i++)
				bia_buf_addf(&b, "%u %lld %lld %u\n", (unsigned)tr.tracks[i].label,
					     (long long)tr.tracks[i].begin, (long long)tr.tracks[i].end,
					     (unsigned)tr.tracks[i].parent);
			if (b.err) {
				bia_buf_release(&b);
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			free(text);
			text = bia_buf_detach(&b, &tlen);
			if (!text) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			warnf(o, "%s: frames start at %lld; frame numbers of '%s.txt' shifted to start at 0",
			      imgdir, (long long)fi.first, stem);
		}
	}
	if (segdir && o && o->seg) {
		char sdir[BIA_PATH_MAX], spath[BIA_PATH_MAX], fpath[BIA_PATH_MAX];
		if ((rc = pjoin(ctx, sdir, out, "seg")) || (rc = bia_mkdir_p(ctx, sdir)) ||
		    (rc = out_path(ctx, spath, sdir, stem, ".tif")) ||
		    (rc = out_path(ctx, fpath, sdir, stem, "_frames.txt")))
			goto out;
		if ((rc = list_frames(ctx, segdir, "man_seg", o, &fs)))
			goto out;
		if ((rc = read_labels(ctx, &fs, &img, fi.first, &seg)))
			goto out;
		struct bia_buf b;
		bia_buf_init(&b, 1u << 24);
		for (size_t i = 0; i < fs.n; i++)
			bia_buf_addf(&b, "%lld\n", (long long)(fs.v[i].t - fi.first));
		rc = b.err ? bia_fail(ctx, BIA_ENOMEM, "out of memory")
			   : write_stack(ctx, &seg, spath, w);
		if (!rc) {
			rc = write_bytes(ctx, fpath, b.buf, b.len, w);
			origin(o, spath, "%s", segdir);
		}
		bia_buf_release(&b);
		if (rc)
			goto out;
	}
	if ((rc = write_stack(ctx, &img, ipath, w)))
		goto out;
	origin(o, ipath, "%s (frames %lld..%lld)", imgdir, (long long)fi.first,
	       (long long)(fi.first + (int64_t)fi.nt - 1));
	if (tradir) {
		if ((rc = write_stack(ctx, &lab, gpath, w)) ||
		    (rc = write_bytes(ctx, tpath, text, tlen, w)))
			goto out;
		origin(o, gpath, "%s", tradir);
		origin(o, tpath, "%s", txt);
	}
out:
	free(text);
	bia_ctc_release(&tr);
	bia_image_release(&img);
	bia_image_release(&lab);
	bia_image_release(&seg);
	frames_free(&fi);
	frames_free(&ft);
	frames_free(&fs);
	return rc;
}

/* A sequence converted on its own: on failure its files are removed and,
 * with keep_going, the failure is recorded and the others go on. */
static int one_sequence(struct bia_ctx *ctx, const char *imgdir, const char *tradir,
			const char *segdir, const char *stem, const char *out,
			const struct bia_convert_opts *o, struct outs *w, size_t *pnseq)
{
	struct outs lw = {0};
	int rc = ctc_sequence(ctx, imgdir, tradir, segdir, stem, out, o, &lw);
	if (!rc)
		rc = outs_merge(ctx, w, &lw);
	if (rc) {
		outs_done(&lw, rc, NULL);
		return item_failed(ctx, o);
	}
	(*pnseq)++;
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Base name of a folder (resolving "." and trailing slashes). */
static int folder_name(struct bia_ctx *ctx, const char *dir, char *out, size_t outsz)
{
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		return bia_fail(ctx, BIA_ENOENT, "cannot resolve '%s': %s", dir, strerror(errno));
	snprintf(out, outsz, "%s", bia_path_base(abs));
	return 0;
}

int bia_convert_ctc(struct bia_ctx *ctx, const char *src, const char *out,
		    const struct bia_convert_opts *o, size_t *pnseq)
{
	struct outs w = {0};
	struct names dirs = {0};
	size_t nseq = 0;
	int rc = 0;
	if (pnseq)
		*pnseq = 0;
	if (!bia_is_dir(src))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", src);
	char a[BIA_PATH_MAX], b[BIA_PATH_MAX], c[BIA_PATH_MAX];
	if ((rc = pjoin(ctx, a, src, "images")) || (rc = pjoin(ctx, b, src, "groundtruth/TRA")) ||
	    (rc = pjoin(ctx, c, src, "groundtruth/SEG")))
		return rc;
	if (bia_is_dir(a)) {
		/* one sequence: images/ + groundtruth/TRA (+ SEG) */
		char stem[256];
		if (o && o->stem)
			snprintf(stem, sizeof(stem), "%s", o->stem);
		else if ((rc = folder_name(ctx, src, stem, sizeof(stem))))
			return rc;
		int has_tra = bia_is_dir(b);
		if (!has_tra)
			warnf(o, "%s: no groundtruth/TRA folder: images converted without ground truth",
			      src);
		else if (bia_is_dir(c) && !(o && o->seg))
			warnf(o, "%s: SEG masks not converted (the ObjTrk ground truth is the TRA "
				 "stack; 'biaflows convert ctc --seg' writes them to seg/)",
			      c);
		rc = one_sequence(ctx, a, has_tra ? b : NULL, bia_is_dir(c) ? c : NULL, stem, out,
				  o, &w, &nseq);
		goto done;
	}
	if ((rc = list_names(ctx, src, 1, &dirs)))
		return rc;
	size_t nnum = 0;
	for (size_t i = 0; i < dirs.n; i++)
		nnum += all_digits(dirs.v[i]);
	for (size_t i = 0; i < dirs.n && !rc; i++) {
		if (!all_digits(dirs.v[i]))
			continue;
		char img[BIA_PATH_MAX], tra[BIA_PATH_MAX], seg[BIA_PATH_MAX], sub[300];
		snprintf(sub, sizeof(sub), "%s_GT/TRA", dirs.v[i]);
		if ((rc = pjoin(ctx, img, src, dirs.v[i])) || (rc = pjoin(ctx, tra, src, sub)))
			break;
		snprintf(sub, sizeof(sub), "%s_GT/SEG", dirs.v[i]);
		if ((rc = pjoin(ctx, seg, src, sub)))
			break;
		char stem[300];
		if (o && o->stem && nnum == 1)
			snprintf(stem, sizeof(stem), "%s", o->stem);
		else if (o && o->stem)
			snprintf(stem, sizeof(stem), "%s_%s", o->stem, dirs.v[i]);
		else
			snprintf(stem, sizeof(stem), "%s", dirs.v[i]);
		int has_tra = bia_is_dir(tra);
		if (!has_tra)
			warnf(o, "%s: no %s_GT/TRA folder: images converted without ground truth",
			      img, dirs.v[i]);
		else if (bia_is_dir(seg) && !(o && o->seg))
			warnf(o, "%s: SEG masks not converted (the ObjTrk ground truth is the TRA "
				 "stack; 'biaflows convert ctc --seg' writes them to seg/)",
			      seg);
		rc = one_sequence(ctx, img, has_tra ? tra : NULL, bia_is_dir(seg) ? seg : NULL,
				  stem, out, o, &w, &nseq);
	}
	if (!rc && !nnum)
		rc = bia_fail(ctx, BIA_ENOENT,
			      "'%s' holds no CTC sequence (expected NN/tTTT.tif with "
			      "NN_GT/TRA/man_trackTTT.tif, or images/ with groundtruth/TRA/)",
			      src);
done:
	names_free(&dirs);
	if (pnseq)
		*pnseq = rc ? 0 : nseq;
	return outs_done(&w, rc, o);
}

/* ================================================================ ISBI PTC */

static int ptc_convert(struct bia_ctx *ctx, const char *xml_path, const char *frames_dir,
		       const char *out, const struct bia_convert_opts *o, struct outs *w)
{
	char stem[256], idir[BIA_PATH_MAX], gdir[BIA_PATH_MAX], ipath[BIA_PATH_MAX],
		gpath[BIA_PATH_MAX];
	struct frames fr;
	struct bia_ptc p;
	struct bia_image img, lab;
	char *xml = NULL;
	size_t len;
	int rc;
	memset(&fr, 0, sizeof(fr));
	memset(&p, 0, sizeof(p));
	bia_image_init(&img);
	bia_image_init(&lab);
	if (o && o->stem)
		snprintf(stem, sizeof(stem), "%s", o->stem);
	else
		bia_path_stem(xml_path, stem, sizeof(stem));
	if ((rc = check_stem(ctx, stem)) || (rc = make_dirs(ctx, out, idir, gdir)) ||
	    (rc = out_path(ctx, ipath, idir, stem, ".tif")) ||
	    (rc = out_path(ctx, gpath, gdir, stem, ".tif")))
		goto out;
	if ((rc = bia_read_file(ctx, xml_path, TEXT_MAX, &xml, &len)))
		goto out;
	if ((rc = bia_ptc_parse(ctx, xml_path, xml, len, &p)))
		goto out;
	if (!bia_is_dir(frames_dir)) {
		rc = bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder (the frames)", frames_dir);
		goto out;
	}
	if ((rc = list_frames(ctx, frames_dir, NULL, o, &fr)) ||
	    (rc = frames_check(ctx, frames_dir, &fr)) || (rc = read_stack(ctx, &fr, &img)))
		goto out;
	if (fr.first)
		warnf(o, "%s: frames start at %lld: detections of frame t go to plane t - %lld",
		      frames_dir, (long long)fr.first, (long long)fr.first);
	if ((rc = bia_ptc_stack(ctx, xml_path, &p, &img, fr.first, &lab)))
		goto out;
	for (size_t i = 0; i < p.n; i++)
		if (!p.particles[i].n) {
			warnf(o, "%s:%ld: particle %zu has no detection (its track id is unused)",
			      xml_path, p.particles[i].line, i + 1);
			break;
		}
	if ((rc = write_stack(ctx, &img, ipath, w)) || (rc = write_stack(ctx, &lab, gpath, w)))
		goto out;
	origin(o, ipath, "%s (frames %lld..%lld)", frames_dir, (long long)fr.first,
	       (long long)(fr.first + (int64_t)fr.nt - 1));
	origin(o, gpath, "%s", xml_path);
out:
	free(xml);
	bia_ptc_release(&p);
	bia_image_release(&img);
	bia_image_release(&lab);
	frames_free(&fr);
	return rc;
}

int bia_convert_isbi_ptc(struct bia_ctx *ctx, const char *xml_path, const char *frames_dir,
			 const char *out, const struct bia_convert_opts *o)
{
	struct outs w = {0};
	int rc = ptc_convert(ctx, xml_path, frames_dir, out, o, &w);
	return outs_done(&w, rc, o);
}

/* ================================================================== points */

/* Convert one list against an image already read (header only). */
static int points_to_mask(struct bia_ctx *ctx, const char *list_path, const struct bia_image *like,
			  const struct bia_convert_opts *o, struct bia_image *mask, size_t *pn)
{
	char *text;
	size_t len;
	if (read_text(ctx, list_path, &text, &len))
		return ctx->rc;
	struct bia_points_opts po = {0, 0, NULL, 0};
	if (o)
		po = o->points;
	po.ndim = like->z > 1 ? 3 : 2;
	struct bia_points pts;
	int rc = bia_points_parse(ctx, list_path, text, len, &po, &pts);
	free(text);
	if (rc)
		return rc;
	rc = bia_points_mask(ctx, list_path, &pts, like, mask);
	if (pn)
		*pn = pts.n;
	bia_points_release(&pts);
	return rc;
}

int bia_convert_points(struct bia_ctx *ctx, const char *list_path, const char *like_path,
		       const char *out_path_, const struct bia_convert_opts *o, size_t *pn)
{
	struct bia_image like, mask;
	struct bia_read_opts ro = {BIA_PAGES_Z, 1, 0};
	if (bia_image_read(ctx, like_path, &ro, &like))
		return ctx->rc;
	int rc = points_to_mask(ctx, list_path, &like, o, &mask, pn);
	bia_image_release(&like);
	if (rc)
		return rc;
	rc = bia_image_write_tiff(ctx, &mask, out_path_, &mask_wopts);
	bia_image_release(&mask);
	if (!rc && o && o->written)
		json_array_append_new(o->written, json_string(out_path_));
	return rc;
}

/* ===================================================================== SWC */

static int swc_check(struct bia_ctx *ctx, const char *path, struct bia_swc *s, char **ptext,
		     size_t *plen)
{
	char *text;
	size_t len;
	if (read_text(ctx, path, &text, &len))
		return ctx->rc;
	if (bia_swc_parse(ctx, path, text, len, s)) {
		free(text);
		return ctx->rc;
	}
	if (s->n == 0) {
		free(text);
		bia_swc_release(s);
		return bia_fail(ctx, BIA_EFORMAT, "%s: no nodes", path);
	}
	*ptext = text;
	*plen = len;
	return 0;
}

int bia_convert_swc(struct bia_ctx *ctx, const char *in, const char *out_path_, size_t *pn)
{
	struct bia_swc s;
	char *text;
	size_t len;
	if (swc_check(ctx, in, &s, &text, &len))
		return ctx->rc;
	if (pn)
		*pn = s.n;
	bia_swc_release(&s);
	int rc = bia_write_file_atomic(ctx, out_path_, text, len);
	free(text);
	return rc;
}

/* =========================================================== dataset layouts */

struct gtfile {
	char *name;
	char stem[256];
};

static int cmp_gtfile(const void *a, const void *b)
{
	const struct gtfile *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);
	return c ? c : strcmp(x->name, y->name);
}

static int is_points_name(const char *name)
{
	const char *e = bia_path_ext(name);
	return !strcasecmp(e, ".csv") || !strcasecmp(e, ".txt");
}

/* Pass a file through into OUT (link or copy). */
static int pass(struct bia_ctx *ctx, const char *srcdir, const char *name, const char *dstdir,
		const struct bia_convert_opts *o, struct outs *w)
{
	char s[BIA_PATH_MAX], d[BIA_PATH_MAX];
	if (pjoin(ctx, s, srcdir, name) || pjoin(ctx, d, dstdir, name))
		return ctx->rc;
	if (exists(d))
		return bia_fail(ctx, BIA_EEXIST, "%s: already exists (not overwritten)", d);
	if (link_or_copy(ctx, s, d, o && o->link_unchanged) || outs_add(ctx, w, d))
		return ctx->rc;
	origin(o, d, "%s", s);
	return 0;
}

static void warn_subdirs(const char *dir, const struct bia_convert_opts *o)
{
	struct names l;
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	if (list_names(&c2, dir, 1, &l))
		return;
	for (size_t i = 0; i < l.n; i++)
		warnf(o, "%s/%s: sub-folder ignored", dir, l.v[i]);
	names_free(&l);
}

/* images/ + groundtruth/ of SRC, listed. */
static int split_dirs(struct bia_ctx *ctx, const char *src, char *sidir, char *sgdir,
		      struct names *imgs, struct names *gts, const struct bia_convert_opts *o)
{
	memset(imgs, 0, sizeof(*imgs));
	memset(gts, 0, sizeof(*gts));
	if (!bia_is_dir(src))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", src);
	if (pjoin(ctx, sidir, src, "images") || pjoin(ctx, sgdir, src, "groundtruth"))
		return ctx->rc;
	if (!bia_is_dir(sidir))
		return bia_fail(ctx, BIA_ENOENT, "'%s' has no images/ folder (expected images/ and "
					       "groundtruth/ with the same stems)",
				src);
	if (list_names(ctx, sidir, 0, imgs))
		return ctx->rc;
	warn_subdirs(sidir, o);
	if (bia_is_dir(sgdir)) {
		if (list_names(ctx, sgdir, 0, gts)) {
			names_free(imgs);
			return ctx->rc;
		}
		warn_subdirs(sgdir, o);
	}
	return 0;
}

/* Index of the image with this stem, or -1. */
static long image_of(const struct names *imgs, const char *stem)
{
	for (size_t i = 0; i < imgs->n; i++) {
		char s[256];
		bia_path_stem(imgs->v[i], s, sizeof(s));
		if (!strcmp(s, stem))
			return (long)i;
	}
	return -1;
}

static int layout_points(struct bia_ctx *ctx, const char *src, const char *out,
			 const struct bia_convert_opts *o, struct outs *w)
{
	char sidir[BIA_PATH_MAX], sgdir[BIA_PATH_MAX], idir[BIA_PATH_MAX], gdir[BIA_PATH_MAX];
	struct names imgs, gts;
	struct gtfile *gv = NULL;
	int rc;
	if ((rc = split_dirs(ctx, src, sidir, sgdir, &imgs, &gts, o)))
		return rc;
	if ((rc = make_dirs(ctx, out, idir, gdir)))
		goto out;
	for (size_t i = 0; i < imgs.n && !rc; i++)
		rc = pass(ctx, sidir, imgs.v[i], idir, o, w);
	if (rc)
		goto out;
	gv = bia_calloc(gts.n ? gts.n : 1, sizeof(*gv));
	if (!gv) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < gts.n; i++) {
		gv[i].name = gts.v[i];
		bia_path_stem(gts.v[i], gv[i].stem, sizeof(gv[i].stem));
	}
	qsort(gv, gts.n, sizeof(*gv), cmp_gtfile);
	for (size_t g = 0; g < gts.n && !rc;) {
		size_t e = g, nlists = 0;
		while (e < gts.n && !strcmp(gv[e].stem, gv[g].stem))
			nlists += is_points_name(gv[e++].name);
		const char *stem = gv[g].stem;
		if (!nlists) {
			for (size_t k = g; k < e && !rc; k++)
				rc = pass(ctx, sgdir, gv[k].name, gdir, o, w);
			g = e;
			continue;
		}
		long ii = image_of(&imgs, stem);
		struct bia_image like, mask, first;
		bia_image_init(&first);
		const char *first_name = NULL;
		int item_bad = 0;
		if (ii < 0) {
			for (size_t k = g; k < e && !rc; k++)
				if (is_points_name(gv[k].name)) {
					bia_fail(ctx, BIA_EFORMAT,
						 "%s/%s: ground truth without an image of stem '%s'", sgdir,
						 gv[k].name, stem);
					rc = item_failed(ctx, o);
				}
			g = e;
			continue;
		}
		char ipath[BIA_PATH_MAX];
		struct bia_read_opts ro = {BIA_PAGES_Z, 1, 0};
		if ((rc = pjoin(ctx, ipath, sidir, imgs.v[ii])))
			break;
		if (bia_image_read(ctx, ipath, &ro, &like)) {
			/* the import reports the image itself */
			bia_ctx_clear(ctx);
			for (size_t k = g; k < e && !rc; k++)
				if (is_points_name(gv[k].name)) {
					bia_fail(ctx, BIA_EFORMAT,
						 "%s/%s: not converted (its image '%s' cannot be read)",
						 sgdir, gv[k].name, imgs.v[ii]);
					rc = item_failed(ctx, o);
				}
			g = e;
			continue;
		}
		for (size_t k = g; k < e && !rc && !item_bad; k++) {
			char lpath[BIA_PATH_MAX];
			if (!is_points_name(gv[k].name)) {
				warnf(o, "%s/%s: ignored (the ground truth of '%s' comes from its point list)",
				      sgdir, gv[k].name, stem);
				continue;
			}
			if ((rc = pjoin(ctx, lpath, sgdir, gv[k].name)))
				break;
			if (points_to_mask(ctx, lpath, &like, o, &mask, NULL)) {
				rc = item_failed(ctx, o);
				item_bad = 1;
				break;
			}
			if (!first_name) {
				first = mask;
				first_name = gv[k].name;
				continue;
			}
			int same = !memcmp(first.data, mask.data, bia_image_nbytes(&mask));
			bia_image_release(&mask);
			if (!same) {
				bia_fail(ctx, BIA_EFORMAT,
					 "%s: gives other points than '%s' for the same image '%s'",
					 lpath, first_name, imgs.v[ii]);
				rc = item_failed(ctx, o);
				item_bad = 1;
				break;
			}
			warnf(o, "%s: same points as '%s'; one mask written", lpath, first_name);
		}
		bia_image_release(&like);
		if (!rc && !item_bad && first_name) {
			char gpath[BIA_PATH_MAX];
			if (!(rc = out_path(ctx, gpath, gdir, stem, ".tif")) &&
			    !(rc = bia_image_write_tiff(ctx, &first, gpath, &mask_wopts)) &&
			    !(rc = outs_add(ctx, w, gpath)))
				origin(o, gpath, "%s/%s", sgdir, first_name);
		}
		if (item_bad && !rc) {
			/* keep_going: leave the image out as well, as its pair is invalid */
			char d[BIA_PATH_MAX];
			if (!pjoin(ctx, d, idir, imgs.v[ii]))
				outs_drop(w, d);
		}
		bia_image_release(&first);
		g = e;
	}
out:
	free(gv);
	names_free(&imgs);
	names_free(&gts);
	return rc;
}

/* Warn when SWC nodes lie outside the image. */
static void swc_bounds(const char *path, const struct bia_swc *s, const char *ipath,
		       const struct bia_convert_opts *o)
{
	struct bia_ctx c2;
	struct bia_image like;
	struct bia_read_opts ro = {BIA_PAGES_Z, 1, 0};
	bia_ctx_init(&c2);
	if (bia_image_read(&c2, ipath, &ro, &like))
		return;
	size_t out = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct bia_swc_node *nd = &s->nodes[i];
		if (pixel_of(nd->x, like.x) < 0 || pixel_of(nd->y, like.y) < 0 ||
		    pixel_of(nd->z, like.z) < 0)
			out++;
	}
	if (out) {
		char shape[96];
		bia_image_shape_str(&like, shape, sizeof(shape));
		warnf(o, "%s: %zu of %zu nodes lie outside the image (%s)", path, out, s->n, shape);
	}
	bia_image_release(&like);
}

static int layout_swc(struct bia_ctx *ctx, const char *src, const char *out,
		      const struct bia_convert_opts *o, struct outs *w)
{
	char sidir[BIA_PATH_MAX], sgdir[BIA_PATH_MAX], idir[BIA_PATH_MAX], gdir[BIA_PATH_MAX];
	struct names imgs, gts;
	int rc;
	if ((rc = split_dirs(ctx, src, sidir, sgdir, &imgs, &gts, o)))
		return rc;
	if ((rc = make_dirs(ctx, out, idir, gdir)))
		goto out;
	for (size_t i = 0; i < imgs.n && !rc; i++)
		rc = pass(ctx, sidir, imgs.v[i], idir, o, w);
	for (size_t g = 0; g < gts.n && !rc; g++) {
		if (strcasecmp(bia_path_ext(gts.v[g]), ".swc")) {
			rc = pass(ctx, sgdir, gts.v[g], gdir, o, w);
			continue;
		}
		char p[BIA_PATH_MAX], stem[256];
		if ((rc = pjoin(ctx, p, sgdir, gts.v[g])))
			break;
		struct bia_swc s;
		char *text;
		size_t len;
		if (swc_check(ctx, p, &s, &text, &len)) {
			rc = item_failed(ctx, o);
			continue;
		}
		free(text);
		bia_path_stem(gts.v[g], stem, sizeof(stem));
		long ii = image_of(&imgs, stem);
		if (ii >= 0) {
			char ipath[BIA_PATH_MAX];
			if (!pjoin(ctx, ipath, sidir, imgs.v[ii]))
				swc_bounds(p, &s, ipath, o);
		}
		bia_swc_release(&s);
		rc = pass(ctx, sgdir, gts.v[g], gdir, o, w);
	}
out:
	names_free(&imgs);
	names_free(&gts);
	return rc;
}

static int layout_ptc(struct bia_ctx *ctx, const char *src, const char *out,
		      const struct bia_convert_opts *o, struct outs *w)
{
	char sidir[BIA_PATH_MAX], sgdir[BIA_PATH_MAX];
	struct names gts;
	int rc;
	if (!bia_is_dir(src))
		return bia_fail(ctx, BIA_ENOENT, "'%s' is not a folder", src);
	if (pjoin(ctx, sidir, src, "images") || pjoin(ctx, sgdir, src, "groundtruth"))
		return ctx->rc;
	if (!bia_is_dir(sidir) || !bia_is_dir(sgdir))
		return bia_fail(ctx, BIA_ENOENT,
				"'%s' needs images/ (the frames) and groundtruth/ (one ISBI XML)",
				src);
	if (list_names(ctx, sgdir, 0, &gts))
		return ctx->rc;
	warn_subdirs(sgdir, o);
	const char *xml = NULL;
	rc = 0;
	for (size_t i = 0; i < gts.n && !rc; i++) {
		if (strcasecmp(bia_path_ext(gts.v[i]), ".xml")) {
			warnf(o, "%s/%s: not an XML file, ignored", sgdir, gts.v[i]);
			continue;
		}
		if (xml)
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: holds '%s' and '%s': one sequence (one XML) per folder; "
				      "convert each with 'biaflows convert isbi-ptc'",
				      sgdir, xml, gts.v[i]);
		xml = gts.v[i];
	}
	if (!rc && !xml)
		rc = bia_fail(ctx, BIA_ENOENT, "%s: no ISBI XML file", sgdir);
	if (!rc) {
		char xp[BIA_PATH_MAX];
		struct outs lw = {0};
		if (!(rc = pjoin(ctx, xp, sgdir, xml)))
			rc = ptc_convert(ctx, xp, sidir, out, o, &lw);
		if (!rc)
			rc = outs_merge(ctx, w, &lw);
		if (rc) {
			outs_done(&lw, rc, NULL);
			rc = item_failed(ctx, o);
		}
	}
	names_free(&gts);
	return rc;
}

int bia_convert_dataset(struct bia_ctx *ctx, enum bia_layout l, const char *src,
			const char *out, const struct bia_convert_opts *o)
{
	struct outs w = {0};
	int rc;
	switch (l) {
	case BIA_LAYOUT_CTC:
		return bia_convert_ctc(ctx, src, out, o, NULL);
	case BIA_LAYOUT_ISBI_PTC:
		rc = layout_ptc(ctx, src, out, o, &w);
		break;
	case BIA_LAYOUT_POINTS:
		rc = layout_points(ctx, src, out, o, &w);
		break;
	case BIA_LAYOUT_SWC:
		rc = layout_swc(ctx, src, out, o, &w);
		break;
	default:
		return bia_fail(ctx, BIA_EINVAL, "unknown layout");
	}
	return outs_done(&w, rc, o);
}
