/* In-process timing of one metric call (I/O excluded) and its peak memory.
 * usage: metrics-inproc CLASS PRED GT [REPS]
 * prints: {"class":..,"reps":N,"median_ms":..,"min_ms":..,"input_mb":..,"peak_mb":..}
 * peak_mb is the growth of the resident set's high-water mark during one
 * extra call (the kernel's VmHWM, reset through /proc/self/clear_refs), made
 * after the timed ones with every allocation of 4 KiB or more served by a
 * fresh mmap, so memory reused from earlier calls cannot hide it.
 * SPDX-License-Identifier: MIT */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n))
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int load(struct bia_ctx *ctx, enum bia_class cls, const char *path,
		struct bia_image *img, struct bia_swc *swc, struct bia_ctc_tracks *trk)
{
	if (cls == BIA_TRETRC)
		return bia_swc_load(ctx, path, swc);
	struct bia_read_opts o = {0};
	o.pages = cls == BIA_OBJTRK || cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
	if (bia_image_read(ctx, path, &o, img))
		return ctx->rc;
	if (cls == BIA_OBJTRK) {
		char tp[BIA_PATH_MAX], stem[256];
		bia_path_stem(path, stem, sizeof(stem));
		const char *slash = strrchr(path, '/');
		snprintf(tp, sizeof(tp), "%.*s%s.txt", slash ? (int)(slash - path + 1) : 0, path, stem);
		return bia_ctc_load(ctx, tp, trk);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: metrics-inproc CLASS PRED GT [REPS]\n");
		return 2;
	}
	enum bia_class cls = bia_class_parse(argv[1]);
	int reps = argc > 4 ? atoi(argv[4]) : 20;
	if (cls == BIA_CLASS_NONE || reps < 1) {
		fprintf(stderr, "metrics-inproc: bad class or reps\n");
		return 2;
	}
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_image pred, gt;
	struct bia_swc ps = {0, NULL}, gs = {0, NULL};
	struct bia_ctc_tracks pt = {0, NULL}, gtt = {0, NULL};
	bia_image_init(&pred);
	bia_image_init(&gt);
	if (load(&ctx, cls, argv[2], &pred, &ps, &pt) || load(&ctx, cls, argv[3], &gt, &gs, &gtt)) {
		fprintf(stderr, "metrics-inproc: %s\n", ctx.msg);
		return 1;
	}
	struct bia_metric_input in = {&pred, &gt, &ps, &gs, &pt, &gtt};
	double input_mb = (bia_image_nbytes(&pred) + bia_image_nbytes(&gt)) / 1048576.0;
	double *t = calloc((size_t)reps, sizeof(double));
	double peak_mb = 0;
	for (int i = -1; i <= reps; i++) {
		struct bia_metric_result r;
		bia_metric_result_init(&r, cls);
		if (i == reps) { /* the memory pass */
			mallopt(M_MMAP_THRESHOLD, 4096);
			mallopt(M_TRIM_THRESHOLD, 0);
			malloc_trim(0);
		}
		long rss0 = status_kb("VmRSS:");
		reset_hwm();
		double t0 = now_ms();
		int rc = bia_metrics_compute(&ctx, cls, &in, NULL, 0, &r);
		double t1 = now_ms();
		long hwm = status_kb("VmHWM:");
		if (rc) {
			fprintf(stderr, "metrics-inproc: %s\n", ctx.msg);
			return 1;
		}
		if (i >= 0 && i < reps)
			t[i] = t1 - t0;
		if (i == reps)
			peak_mb = (hwm - rss0) / 1024.0;
		bia_metric_result_release(&r);
	}
	qsort(t, (size_t)reps, sizeof(double), cmp);
	printf("{\"class\":\"%s\",\"reps\":%d,\"median_ms\":%.3f,\"min_ms\":%.3f,"
	       "\"input_mb\":%.2f,\"peak_mb\":%.2f}\n",
	       bia_class_code(cls), reps, t[reps / 2], t[0], input_mb, peak_mb);
	free(t);
	bia_image_release(&pred);
	bia_image_release(&gt);
	bia_swc_release(&ps);
	bia_swc_release(&gs);
	bia_ctc_release(&pt);
	bia_ctc_release(&gtt);
	return 0;
}
