/* Cell Tracking Challenge track files ("L B E P" lines): parser, loader and
 * the consistency check of a label stack against its track file.
 *
 * Syntax (CTC-MEASURES.md §1.3), as a library that refuses instead of
 * crashing:
 *   - lines end with LF, CRLF or a lone CR (wxTextFile, which the official
 *     tools use, splits on all three); a final newline is optional; a UTF-8
 *     byte-order mark at the start is skipped;
 *   - a line holds four integers L B E P separated by spaces or tabs; a
 *     leading '+' is allowed (the official istream parser accepts it);
 *   - friendlier than the official tool: blank lines and trailing
 *     whitespace are accepted (the official tool refuses the whole file);
 *     they carry no data, so every file the official tool accepts gives
 *     the same tracks here;
 *   - refused, naming the line: a wrong number of fields, anything that is
 *     not a decimal integer (1.0, 0x1, #comments, commas), negative values
 *     (the official tool wraps them and crashes or misreads), L or P above
 *     65535, B or E above INT64_MAX, B > E (the official tool drops such a
 *     line with a warning; a dropped label still present in the images then
 *     fails its consistency check, so refusing at once names the real
 *     problem), and a label defined twice.
 * SPDX-License-Identifier: MIT */
#include "annot/annot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CTC_MAX_LABEL 65535u
#define CTC_MAX_FILE (64u << 20)
#define CTC_NLAB (CTC_MAX_LABEL + 1u)

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Printable excerpt of a token for messages. */
static void excerpt(char *out, size_t outsz, const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < outsz; i++) {
		unsigned char c = (unsigned char)p[i];
		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		if (i == 23 && n > 24) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
	}
	out[k] = 0;
}

static const char *const col_name[4] = {"label L", "begin B", "end E", "parent P"};

/* Parse one field [p, p+n) of column col. */
static int parse_field(struct bia_ctx *ctx, const char *what, size_t line, int col,
		       const char *p, size_t n, uint64_t *out)
{
	char ex[32];
	size_t i = 0;
	int neg = 0;
	if (n && (p[0] == '+' || p[0] == '-')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i == n)
		goto notnum;
	uint64_t v = 0;
	int big = 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			goto notnum;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			big = 1;
		else
			v = v * 10 + d;
	}
	excerpt(ex, sizeof(ex), p, n);
	if (neg && (v || big))
		return bia_fail(ctx, BIA_EFORMAT, "track file '%s', line %zu: %s is negative (%s)",
				what, line, col_name[col], ex);
	uint64_t max = (col == 0 || col == 3) ? CTC_MAX_LABEL : (uint64_t)INT64_MAX;
	if (big || v > max) {
		if (col == 0 || col == 3)
			return bia_fail(ctx, BIA_EFORMAT,
					"track file '%s', line %zu: %s is %s, above 65535 (CTC labels "
					"are 16-bit)",
					what, line, col_name[col], ex);
		return bia_fail(ctx, BIA_EFORMAT,
				"track file '%s', line %zu: %s is %s, too large for a frame number",
				what, line, col_name[col], ex);
	}
	*out = v;
	return 0;
notnum:
	excerpt(ex, sizeof(ex), p, n);
	return bia_fail(ctx, BIA_EFORMAT,
			"track file '%s', line %zu: %s is '%s', not a whole decimal number", what,
			line, col_name[col], ex);
}

void bia_ctc_release(struct bia_ctc_tracks *t)
{
	if (!t)
		return;
	free(t->tracks);
	t->tracks = NULL;
	t->n = 0;
}

int bia_ctc_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
		  struct bia_ctc_tracks *out)
{
	out->n = 0;
	out->tracks = NULL;
	if (!what)
		what = "tracks";
	if (!text)
		len = 0;
	size_t cap = 0;
	uint32_t *first_line = bia_calloc(CTC_NLAB, sizeof(uint32_t)); /* 0 = unseen */
	if (!first_line)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory reading track file '%s'", what);
	size_t pos = 0, line = 0;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		pos = 3;
	int rc = 0;
	while (pos < len) {
		/* one line: [pos, eol), then skip its terminator */
		size_t eol = pos;
		while (eol < len && text[eol] != '\n' && text[eol] != '\r')
			eol++;
		size_t next = eol;
		if (next < len)
			next += (text[next] == '\r' && next + 1 < len && text[next + 1] == '\n') ? 2 : 1;
		line++;
		const char *tok[5];
		size_t tlen[5], nt = 0;
		for (size_t i = pos; i < eol;) {
			if (is_blank(text[i])) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < eol && !is_blank(text[j]))
				j++;
			if (nt < 5) {
				tok[nt] = text + i;
				tlen[nt] = j - i;
			}
			nt++;
			i = j;
		}
		pos = next;
		if (nt == 0)
			continue; /* blank line: accepted (the official tool refuses) */
		if (nt != 4) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "track file '%s', line %zu: expected four integers 'L B E P', "
				      "found %zu field%s",
				      what, line, nt, nt == 1 ? "" : "s");
			goto fail;
		}
		uint64_t v[4];
		for (int c = 0; c < 4; c++)
			if ((rc = parse_field(ctx, what, line, c, tok[c], tlen[c], &v[c])))
				goto fail;
		if (v[1] > v[2]) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "track file '%s', line %zu: track %" PRIu64 " begins at frame %" PRIu64
				      " after it ends at frame %" PRIu64 " (B > E)",
				      what, line, v[0], v[1], v[2]);
			goto fail;
		}
		if (first_line[v[0]]) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "track file '%s', line %zu: label %" PRIu64
				      " is defined twice (first on line %" PRIu32 ")",
				      what, line, v[0], first_line[v[0]]);
			goto fail;
		}
		first_line[v[0]] = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct bia_ctc_track *nt2 = realloc(out->tracks, ncap * sizeof(*nt2));
			if (!nt2) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory reading track file '%s'",
					      what);
				goto fail;
			}
			out->tracks = nt2;
			cap = ncap;
		}
		struct bia_ctc_track *t = &out->tracks[out->n++];
		t->label = (uint32_t)v[0];
		t->begin = (int64_t)v[1];
		t->end = (int64_t)v[2];
		t->parent = (uint32_t)v[3];
	}
	free(first_line);
	return 0;
fail:
	free(first_line);
	bia_ctc_release(out);
	return rc;
}

int bia_ctc_load(struct bia_ctx *ctx, const char *path, struct bia_ctc_tracks *out)
{
	char *data;
	size_t len;
	out->n = 0;
	out->tracks = NULL;
	if (bia_read_file(ctx, path, CTC_MAX_FILE, &data, &len))
		return ctx->rc;
	int rc = bia_ctc_parse(ctx, path, data, len, out);
	free(data);
	return rc;
}

/* ------------------------------------------------------------ consistency */

/* Label of sample i of an image, validated as a CTC label (0..65535). */
static int sample_label(const struct bia_image *img, size_t i, uint32_t *pl)
{
	switch (img->dtype) {
	case BIA_U8:
		*pl = ((const uint8_t *)img->data)[i];
		return 0;
	case BIA_U16:
		*pl = ((const uint16_t *)img->data)[i];
		return 0;
	case BIA_U32: {
		uint32_t v = ((const uint32_t *)img->data)[i];
		*pl = v;
		return v > CTC_MAX_LABEL ? -1 : 0;
	}
	case BIA_I32: {
		int32_t v = ((const int32_t *)img->data)[i];
		if (v < 0 || v > (int32_t)CTC_MAX_LABEL)
			return -1;
		*pl = (uint32_t)v;
		return 0;
	}
	case BIA_F32: {
		float v = ((const float *)img->data)[i];
		if (!(v >= 0 && v <= (float)CTC_MAX_LABEL) || v != (float)(uint32_t)v)
			return -1;
		*pl = (uint32_t)v;
		return 0;
	}
	}
	return -1;
}

/* Sorted labels present in each frame: lab[off[f] .. off[f+1]). */
struct presence {
	size_t *off;
	uint16_t *lab;
};

static void presence_release(struct presence *p)
{
	free(p->off);
	free(p->lab);
	p->off = NULL;
	p->lab = NULL;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

static int presence_build(struct bia_ctx *ctx, const char *what, const struct bia_image *img,
			  struct presence *p)
{
	size_t nf = img->t, fsz = img->x * img->y * img->z;
	size_t cap = 64, n = 0;
	uint32_t *stamp = bia_calloc(CTC_NLAB, sizeof(uint32_t));
	uint16_t *cur = bia_calloc(CTC_NLAB, sizeof(uint16_t));
	p->off = bia_calloc(nf + 1, sizeof(size_t));
	p->lab = bia_calloc(cap, sizeof(uint16_t));
	int rc = 0;
	if (!stamp || !cur || !p->off || !p->lab) {
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	for (size_t f = 0; f < nf; f++) {
		size_t nc = 0;
		uint32_t mark = (uint32_t)(f % UINT32_MAX) + 1;
		if (mark == 1 && f) /* stamp wrapped (never in practice) */
			memset(stamp, 0, CTC_NLAB * sizeof(uint32_t));
		for (size_t i = f * fsz, e = i + fsz; i < e; i++) {
			uint32_t l;
			if (sample_label(img, i, &l)) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: value %g in frame %zu is not a label in 0..65535 "
					      "(CTC label images are 16-bit)",
					      what, bia_image_get(img, i), f);
				goto out;
			}
			if (l && stamp[l] != mark) {
				stamp[l] = mark;
				cur[nc++] = (uint16_t)l;
			}
		}
		qsort(cur, nc, sizeof(uint16_t), cmp_u16);
		if (n + nc > cap) {
			size_t ncap = cap;
			while (ncap < n + nc)
				ncap *= 2;
			uint16_t *t = realloc(p->lab, ncap * sizeof(uint16_t));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
				goto out;
			}
			p->lab = t;
			cap = ncap;
		}
		memcpy(p->lab + n, cur, nc * sizeof(uint16_t));
		n += nc;
		p->off[f + 1] = n;
	}
out:
	free(stamp);
	free(cur);
	if (rc)
		presence_release(p);
	return rc;
}

static int present(const struct presence *p, size_t f, uint32_t label)
{
	size_t lo = p->off[f], hi = p->off[f + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->lab[mid] < label)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->off[f + 1] && p->lab[lo] == label;
}

static int cmp_track_label(const void *a, const void *b)
{
	const struct bia_ctc_track *x = *(const struct bia_ctc_track *const *)a;
	const struct bia_ctc_track *y = *(const struct bia_ctc_track *const *)b;
	return (x->label > y->label) - (x->label < y->label);
}

int bia_ctc_check(struct bia_ctx *ctx, const char *what, const struct bia_image *stack,
		  const struct bia_ctc_tracks *t)
{
	if (!what)
		what = "label stack";
	if (!stack || !stack->data || !t)
		return bia_fail(ctx, BIA_EINVAL, "%s: no label stack or no tracks", what);
	if (stack->c != 1)
		return bia_fail(ctx, BIA_ESHAPE,
				"%s: a label stack has one channel, not %zu", what, stack->c);
	int32_t *idx = bia_malloc2(CTC_NLAB, sizeof(int32_t));
	const struct bia_ctc_track **ord = bia_calloc(t->n ? t->n : 1, sizeof(*ord));
	struct presence p = {0};
	int rc = 0;
	if (!idx || !ord) {
		rc = bia_fail(ctx, BIA_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	for (size_t i = 0; i < CTC_NLAB; i++)
		idx[i] = -1;
	/* the tracks themselves (a hand-built struct may not come from the parser) */
	for (size_t i = 0; i < t->n; i++) {
		const struct bia_ctc_track *k = &t->tracks[i];
		if (k->label > CTC_MAX_LABEL || k->parent > CTC_MAX_LABEL) {
			rc = bia_fail(ctx, BIA_EINVAL, "%s: track %" PRIu32 " (parent %" PRIu32
				      "): labels are 16-bit", what, k->label, k->parent);
			goto out;
		}
		if (k->begin < 0 || k->begin > k->end) {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "%s: track %" PRIu32 " has invalid frames %" PRId64 "..%" PRId64,
				      what, k->label, k->begin, k->end);
			goto out;
		}
		if (idx[k->label] >= 0) {
			rc = bia_fail(ctx, BIA_EINVAL, "%s: label %" PRIu32 " has two tracks", what,
				      k->label);
			goto out;
		}
		idx[k->label] = (int32_t)i;
		ord[i] = k;
	}
	if (t->n > 1)
		qsort(ord, t->n, sizeof(*ord), cmp_track_label);
	if ((rc = presence_build(ctx, what, stack, &p)))
		goto out;
	size_t nf = stack->t;
	/* every track, in label order: inside the stack, parent valid, label
	 * present in every frame B..E */
	for (size_t i = 0; i < t->n; i++) {
		const struct bia_ctc_track *k = ord[i];
		if ((uint64_t)k->end >= nf) {
			rc = bia_fail(ctx, BIA_EFORMAT,
				      "%s: track %" PRIu32 " (frames %" PRId64 "..%" PRId64
				      ") does not fit in the %zu frames of the stack (0..%zu)",
				      what, k->label, k->begin, k->end, nf, nf - 1);
			goto out;
		}
		if (k->parent) {
			if (idx[k->parent] < 0) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: track %" PRIu32 " has parent %" PRIu32
					      ", which has no track",
					      what, k->label, k->parent);
				goto out;
			}
			const struct bia_ctc_track *pa = &t->tracks[idx[k->parent]];
			if (k->begin <= pa->end) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: track %" PRIu32 " begins at frame %" PRId64
					      ", not after its parent %" PRIu32 " ends (frame %" PRId64 ")",
					      what, k->label, k->begin, k->parent, pa->end);
				goto out;
			}
		}
		for (int64_t f = k->begin; f <= k->end; f++)
			if (!present(&p, (size_t)f, k->label)) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: track %" PRIu32 " (frames %" PRId64 "..%" PRId64
					      ") is not consistent with the image: label %" PRIu32
					      " is missing from frame %" PRId64 "%s",
					      what, k->label, k->begin, k->end, k->label, f,
					      k->label ? "" : " (0 is the background)");
				goto out;
			}
	}
	/* every object of every frame lies inside its track */
	for (size_t f = 0; f < nf; f++)
		for (size_t j = p.off[f]; j < p.off[f + 1]; j++) {
			uint32_t l = p.lab[j];
			if (idx[l] < 0) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: label %" PRIu32 " in frame %zu has no track", what, l, f);
				goto out;
			}
			const struct bia_ctc_track *k = &t->tracks[idx[l]];
			if ((int64_t)f < k->begin || (int64_t)f > k->end) {
				rc = bia_fail(ctx, BIA_EFORMAT,
					      "%s: label %" PRIu32 " is present in frame %zu, outside its "
					      "track (frames %" PRId64 "..%" PRId64 ")",
					      what, l, f, k->begin, k->end);
				goto out;
			}
		}
out:
	presence_release(&p);
	free(idx);
	free(ord);
	return rc;
}
