/* The kit for C workflows (wfkit.h).
 * SPDX-License-Identifier: MIT */
#include "wfkit/wfkit.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/util.h"

size_t bia_wf_mirror(long i, size_t n)
{
	if (n == 1)
		return 0;
	long p = 2 * (long)n - 2;
	i %= p;
	if (i < 0)
		i += p;
	return (size_t)(i < (long)n ? i : p - i);
}

int bia_wf_gauss(float *f, const struct bia_wf_vol *v, double s, double sz)
{
	double sig[3] = {s, s, v->d > 1 ? sz : 0};
	size_t len[3] = {v->w, v->h, v->d}, stride[3] = {1, v->w, v->w * v->h};
	size_t m = v->w > v->h ? v->w : v->h;
	if (v->d > m)
		m = v->d;
	for (int ax = 0; ax < 3; ax++) {
		if (sig[ax] < 0.2 || len[ax] < 2)
			continue;
		int r = (int)ceil(3.5 * sig[ax]);
		float *k = malloc(((size_t)2 * r + 1) * sizeof(float));
		float *line = malloc((m + 2 * (size_t)r) * sizeof(float));
		if (!k || !line) {
			free(k);
			free(line);
			return -1;
		}
		double sum = 0;
		for (int j = -r; j <= r; j++)
			sum += k[j + r] = (float)exp(-0.5 * j * j / (sig[ax] * sig[ax]));
		for (int j = 0; j <= 2 * r; j++)
			k[j] = (float)(k[j] / sum);
		size_t n = len[ax], st = stride[ax];
		for (size_t start = 0; start < v->n; start++) {
			if ((start / st) % n) /* lines start at coordinate 0 along ax */
				continue;
			for (long i = -r; i < (long)n + r; i++)
				line[i + r] = f[start + bia_wf_mirror(i, n) * st];
			for (size_t i = 0; i < n; i++) {
				float acc = 0;
				for (int j = 0; j <= 2 * r; j++)
					acc += k[j] * line[i + (size_t)j];
				f[start + i * st] = acc;
			}
		}
		free(k);
		free(line);
	}
	return 0;
}

static int has_tiff_ext(const char *name, size_t *pstem)
{
	size_t n = strlen(name);
	const char *exts[] = {".ome.tiff", ".ome.tif", ".tiff", ".tif"};
	for (size_t e = 0; e < 4; e++) {
		size_t m = strlen(exts[e]);
		if (n > m && !strcasecmp(name + n - m, exts[e])) {
			*pstem = n - m;
			return 1;
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Process one file; 0 on success, -1 after printing why not. */
static int process(struct bia_ctx *ctx, const struct bia_wf_prog *prog, const char *indir,
		   const char *outdir, const char *name, size_t stemlen)
{
	char in[4096], out[4096];
	snprintf(in, sizeof in, "%s/%s", indir, name);
	snprintf(out, sizeof out, "%s/%.*s.tif", outdir, (int)stemlen, name);
	struct bia_image img, res;
	bia_image_init(&img);
	bia_image_init(&res);
	bia_ctx_clear(ctx);
	if (bia_image_read(ctx, in, NULL, &img)) {
		fprintf(stderr, "%s: %s\n", prog->name, ctx->msg); /* the message names the file */
		return -1;
	}
	struct bia_wf_vol v = {img.x, img.y, img.z, img.x * img.y * img.z};
	float *f = malloc(v.n * sizeof(float));
	uint32_t *lab = malloc(v.n * img.t * sizeof(uint32_t));
	long total = 0;
	int rc = -1;
	if (!f || !lab) {
		fprintf(stderr, "%s: '%s': out of memory\n", prog->name, in);
		goto done;
	}
	for (size_t t = 0; t < img.t; t++) {
		for (size_t z = 0; z < img.z; z++)
			for (size_t i = 0; i < img.x * img.y; i++) {
				size_t x = i % img.x, y = i / img.x;
				double s;
				if (img.c >= 3)
					s = 0.299 * bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t)) +
					    0.587 * bia_image_get(&img, bia_image_index(&img, x, y, z, 1, t)) +
					    0.114 * bia_image_get(&img, bia_image_index(&img, x, y, z, 2, t));
				else
					s = bia_image_get(&img, bia_image_index(&img, x, y, z, 0, t));
				f[z * img.x * img.y + i] = (float)s;
			}
		long k = prog->frame(f, &v, prog->params, lab + t * v.n);
		if (k < 0) {
			fprintf(stderr, "%s: '%s': out of memory\n", prog->name, in);
			goto done;
		}
		total += k;
	}
	uint32_t maxv = 0;
	for (size_t i = 0; i < v.n * img.t; i++)
		maxv = lab[i] > maxv ? lab[i] : maxv;
	enum bia_dtype dt = prog->dtype;
	if ((dt == BIA_U8 && maxv > 255) || (dt == BIA_U16 && maxv > 65535))
		dt = BIA_U32;
	if (bia_image_alloc(ctx, &res, img.x, img.y, img.z, 1, img.t, dt)) {
		fprintf(stderr, "%s: '%s': %s\n", prog->name, in, ctx->msg);
		goto done;
	}
	for (size_t i = 0; i < v.n * img.t; i++) {
		if (dt == BIA_U8)
			((uint8_t *)res.data)[i] = (uint8_t)lab[i];
		else if (dt == BIA_U16)
			((uint16_t *)res.data)[i] = (uint16_t)lab[i];
		else
			((uint32_t *)res.data)[i] = lab[i];
	}
	if (bia_image_write_tiff(ctx, &res, out, NULL)) {
		fprintf(stderr, "%s: %s\n", prog->name, ctx->msg);
		goto done;
	}
	char shape[64];
	bia_image_shape_str(&img, shape, sizeof shape);
	fprintf(stderr, "%s: %s (%s): %ld %s\n", prog->name, name, shape, total, prog->noun);
	rc = 0;
done:
	free(f);
	free(lab);
	bia_image_release(&img);
	bia_image_release(&res);
	return rc;
}

static int num_arg(const char *prog, const char *flag, const char *val, double lo, double hi,
		   double *out)
{
	char *end;
	errno = 0;
	double d = strtod(val, &end);
	if (errno || end == val || *end || !isfinite(d) || d < lo || d > hi) {
		fprintf(stderr, "%s: %s: '%s' is not a number in [%g, %g]\n", prog, flag, val, lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

int bia_wf_main(int argc, char **argv, const struct bia_wf_prog *prog)
{
	const char *indir = NULL, *outdir = NULL;
	for (int a = 1; a < argc; a++) {
		const char *f = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
		int known = 0;
		for (size_t k = 0; k < prog->nnums; k++)
			if (!strcmp(f, prog->nums[k].flag)) {
				known = 1;
				if (!val || num_arg(prog->name, f, val, prog->nums[k].lo, prog->nums[k].hi,
						    (double *)((char *)prog->params + prog->nums[k].off)))
					return 2;
			}
		if (!known && prog->flag) {
			int r = prog->flag(prog->params, f, val);
			if (r < 0)
				return 2;
			known = r;
		}
		if (!known && (!strcmp(f, "--infolder") || !strcmp(f, "--outfolder"))) {
			known = 1;
			if (!val)
				return 2;
			*(f[2] == 'i' ? &indir : &outdir) = val;
		}
		if (known)
			a++; /* value consumed; anything else is ignored */
	}
	if (!indir || !outdir) {
		fprintf(stderr, "usage: %s %s\n  --infolder IN --outfolder OUT\n", prog->name,
			prog->options);
		return 2;
	}
	if (mkdir(outdir, 0777) && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create output folder '%s': %s\n", prog->name, outdir,
			strerror(errno));
		return 1;
	}
	DIR *dir = opendir(indir);
	if (!dir) {
		fprintf(stderr, "%s: cannot open input folder '%s': %s\n", prog->name, indir,
			strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		size_t stem;
		if (de->d_name[0] == '.' || !has_tiff_ext(de->d_name, &stem))
			continue;
		if (nn == cap) {
			cap = cap ? 2 * cap : 64;
			char **n2 = realloc(names, cap * sizeof(char *));
			if (!n2)
				break;
			names = n2;
		}
		if (!(names[nn] = strdup(de->d_name)))
			break;
		nn++;
	}
	closedir(dir);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_str);
	fprintf(stderr, "%s: %zu image(s); ", prog->name, nn);
	prog->describe(prog->params, stderr);
	fputc('\n', stderr);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	int failed = 0;
	for (size_t i = 0; i < nn; i++) {
		size_t stem;
		has_tiff_ext(names[i], &stem);
		if (process(&ctx, prog, indir, outdir, names[i], stem))
			failed++;
		free(names[i]);
	}
	free(names);
	if (failed)
		fprintf(stderr, "%s: %d of %zu image(s) failed\n", prog->name, failed, nn);
	return failed ? 1 : 0;
}
