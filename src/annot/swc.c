/* SWC neuron/filament trees (TreTrc annotations and predictions).
 *
 * One node per line: "id type x y z radius parent". Accepted, beyond what
 * BIAFLOWS reads (docs/metrics-notes-tracing.md):
 *   - line ends "\n", "\r\n" and a lone "\r" (Python's universal newlines);
 *   - lines of only spaces/tabs are blank lines and skipped;
 *   - '#' starts a comment anywhere (a whole-line comment as in BIAFLOWS, or
 *     after the fields of a node);
 *   - more than 7 fields: the parent is the LAST field (as BIAFLOWS), the
 *     fields between the radius and it are ignored.
 * Refused, naming the line: fewer than 7 fields, a non-integer id, type or
 * parent, a non-numeric or non-finite coordinate or radius, a negative id,
 * a duplicate id, a node that is its own parent, a parent that does not
 * exist. A negative parent means "root" (-1 by convention). The ids need not
 * be 1..N: the metric links nodes by id (docs/metrics.md decision 10).
 * SPDX-License-Identifier: MIT */
#include "annot/annot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Limits: the largest SWC text and node count accepted. */
#define SWC_MAX_BYTES ((size_t)128 << 20)
#define SWC_MAX_NODES ((size_t)1 << 22)
/* A numeric field longer than this is refused (no number needs more). */
#define SWC_MAX_FIELD 63

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Copy a field into buf (NUL-terminated); 0 if it is too long. */
static int field_copy(char *buf, const char *p, size_t len)
{
	if (len > SWC_MAX_FIELD || memchr(p, 0, len))
		return 0;
	memcpy(buf, p, len);
	buf[len] = 0;
	return 1;
}

/* An integer as Python int() reads it (optional sign, decimal digits). */
static int parse_int(const char *p, size_t len, int64_t *out)
{
	char buf[SWC_MAX_FIELD + 1];
	if (!field_copy(buf, p, len))
		return 0;
	const char *s = buf;
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return 0;
	for (const char *q = s; *q; q++)
		if (*q < '0' || *q > '9')
			return 0;
	errno = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return 0;
	*out = (int64_t)v;
	return 1;
}

/* A finite decimal number (no hex, nan or inf). */
static int parse_num(const char *p, size_t len, double *out)
{
	char buf[SWC_MAX_FIELD + 1];
	if (!field_copy(buf, p, len))
		return 0;
	int digits = 0;
	for (const char *q = buf; *q; q++) {
		if (*q >= '0' && *q <= '9')
			digits = 1;
		else if (!strchr("+-.eE", *q))
			return 0;
	}
	if (!digits)
		return 0;
	errno = 0;
	char *end;
	double v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

struct sort_ent {
	int64_t id;
	size_t line; /* line number in the text */
};

static int cmp_ent(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static const struct sort_ent *find_id(const struct sort_ent *s, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (s[m].id < id)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < n && s[lo].id == id ? &s[lo] : NULL;
}

static const char *field_names[7] = {"id", "type", "x", "y", "z", "radius", "parent"};

int bia_swc_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		  struct bia_swc *out)
{
	memset(out, 0, sizeof(*out));
	if (!what)
		what = "SWC";
	if (len > SWC_MAX_BYTES)
		return bia_fail(ctx, BIA_ELIMIT, "'%s' is larger than %zu bytes", what,
				SWC_MAX_BYTES);
	struct bia_swc_node *nodes = NULL;
	size_t *lines = NULL, n = 0, cap = 0, lineno = 0;
	size_t pos = 0;
	int rc = 0;
	while (pos < len) {
		/* one line: [pos, eol) */
		size_t eol = pos;
		while (eol < len && text[eol] != '\n' && text[eol] != '\r')
			eol++;
		size_t next = eol;
		if (next < len && text[next] == '\r' && next + 1 < len && text[next + 1] == '\n')
			next += 2;
		else if (next < len)
			next++;
		lineno++;
		/* fields until the end of the line or a '#' */
		const char *fp[7];
		size_t fl[7], nf = 0;
		const char *lastp = NULL;
		size_t lastl = 0;
		size_t i = pos;
		for (;;) {
			while (i < eol && is_blank(text[i]))
				i++;
			if (i >= eol || text[i] == '#')
				break;
			size_t s = i;
			while (i < eol && !is_blank(text[i]) && text[i] != '#')
				i++;
			if (nf < 6) {
				fp[nf] = text + s;
				fl[nf] = i - s;
			}
			lastp = text + s;
			lastl = i - s;
			nf++;
		}
		pos = next;
		if (nf == 0)
			continue; /* blank or comment line */
		if (nf < 7) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "'%s' line %zu: %zu fields, an SWC node needs 7 (id type x y z "
				      "radius parent)",
				      what, lineno, nf);
			goto fail;
		}
		fp[6] = lastp;
		fl[6] = lastl;
		if (n == cap) {
			if (n >= SWC_MAX_NODES) {
				rc = bia_fail(ctx, BIA_ELIMIT, "'%s': more than %zu nodes", what,
					      SWC_MAX_NODES);
				goto fail;
			}
			size_t nc = cap ? cap * 2 : 64;
			struct bia_swc_node *nn = realloc(nodes, nc * sizeof(*nodes));
			if (!nn) {
				rc = bia_fail(ctx, BIA_ENOMEM, "'%s': out of memory", what);
				goto fail;
			}
			nodes = nn;
			size_t *nl = realloc(lines, nc * sizeof(*lines));
			if (!nl) {
				rc = bia_fail(ctx, BIA_ENOMEM, "'%s': out of memory", what);
				goto fail;
			}
			lines = nl;
			cap = nc;
		}
		struct bia_swc_node *nd = &nodes[n];
		int64_t type = 0;
		double v[4];
		int bad = -1;
		if (!parse_int(fp[0], fl[0], &nd->id))
			bad = 0;
		else if (!parse_int(fp[1], fl[1], &type) || type < -2147483647 - 1 ||
			 type > 2147483647)
			bad = 1;
		else
			for (int k = 0; k < 4 && bad < 0; k++)
				if (!parse_num(fp[2 + k], fl[2 + k], &v[k]))
					bad = 2 + k;
		if (bad < 0 && !parse_int(fp[6], fl[6], &nd->parent))
			bad = 6;
		if (bad >= 0) {
			int shown = fl[bad] > 40 ? 40 : (int)fl[bad];
			rc = bia_fail(ctx, BIA_EFORMAT, "'%s' line %zu: %s '%.*s%s' is not %s", what,
				      lineno, field_names[bad], shown, fp[bad],
				      fl[bad] > 40 ? "..." : "",
				      bad == 0 || bad == 1 || bad == 6 ? "an integer"
								      : "a finite number");
			goto fail;
		}
		if (nd->id < 0) {
			rc = bia_fail(ctx, BIA_EFORMAT, "'%s' line %zu: node id %lld is negative",
				      what, lineno, (long long)nd->id);
			goto fail;
		}
		if (nd->parent == nd->id) {
			rc = bia_fail(ctx, BIA_EFORMAT, "'%s' line %zu: node %lld is its own parent",
				      what, lineno, (long long)nd->id);
			goto fail;
		}
		nd->type = (int)type;
		nd->x = v[0];
		nd->y = v[1];
		nd->z = v[2];
		nd->r = v[3];
		lines[n] = lineno;
		n++;
	}
	if (n) {
		/* duplicate ids and missing parents, reported at the first line
		 * concerned */
		struct sort_ent *s = bia_malloc2(n, sizeof(*s));
		if (!s) {
			rc = bia_fail(ctx, BIA_ENOMEM, "'%s': out of memory", what);
			goto fail;
		}
		for (size_t k = 0; k < n; k++) {
			s[k].id = nodes[k].id;
			s[k].line = lines[k];
		}
		qsort(s, n, sizeof(*s), cmp_ent);
		size_t dup_line = 0, first_line = 0;
		int64_t dup_id = 0;
		for (size_t k = 1; k < n; k++)
			if (s[k].id == s[k - 1].id && (!dup_line || s[k].line < dup_line)) {
				dup_line = s[k].line;
				dup_id = s[k].id;
				first_line = find_id(s, n, s[k].id)->line;
			}
		if (dup_line) {
			free(s);
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "'%s' line %zu: duplicate node id %lld (first on line %zu)", what,
				      dup_line, (long long)dup_id, first_line);
			goto fail;
		}
		for (size_t k = 0; k < n; k++)
			if (nodes[k].parent >= 0 && !find_id(s, n, nodes[k].parent)) {
				free(s);
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "'%s' line %zu: parent %lld of node %lld does not exist",
					      what, lines[k], (long long)nodes[k].parent,
					      (long long)nodes[k].id);
				goto fail;
			}
		free(s);
	}
	free(lines);
	out->n = n;
	out->nodes = nodes;
	return 0;
fail:
	free(nodes);
	free(lines);
	return rc;
}

int bia_swc_load(struct bia_ctx *ctx, const char *path, struct bia_swc *out)
{
	char *data;
	size_t len;
	memset(out, 0, sizeof(*out));
	int rc = bia_read_file(ctx, path, SWC_MAX_BYTES, &data, &len);
	if (rc)
		return rc;
	rc = bia_swc_parse(ctx, path, data, len, out);
	free(data);
	return rc;
}

void bia_swc_release(struct bia_swc *s)
{
	if (!s)
		return;
	free(s->nodes);
	memset(s, 0, sizeof(*s));
}
