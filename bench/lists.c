/* Lists at scale (docs/performance.md "Lists"): an instance with 100,000
 * images and 1,000 runs (100 images each, scored, with error maps), then
 * the time of one 50-row page of each list (goal: under 5 ms), the first
 * page and a deep one, and of the whole run list as JSON. The anchor is
 * the per-run way the run list was built before paging (each run's
 * outputs and scores read to get its main metric's mean), timed on the
 * same page in the same run.
 *   build/bench/lists [IMAGES RUNS]   (default 100000 1000)
 * SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runs/runs.h"

#include "fixture.h"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define REPS 21

/* The median time of REPS calls of fn (ms). */
#define TIME_MS(out, stmt)                                                                 \
	do {                                                                               \
		double t_[REPS];                                                           \
		for (int r_ = 0; r_ < REPS; r_++) {                                        \
			double t0_ = mono();                                               \
			stmt;                                                              \
			t_[r_] = (mono() - t0_) * 1e3;                                     \
		}                                                                          \
		qsort(t_, REPS, sizeof(double), cmpd);                                     \
		(out) = t_[REPS / 2];                                                      \
	} while (0)


static char tmp_dir[] = "/tmp/bia-bench-lists-XXXXXX";

static void remove_tmp(void)
{
	if (getenv("BIA_BENCH_KEEP") || strstr(tmp_dir, "XXXXXX"))
		return;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_rm_rf(&ctx, tmp_dir);
}

int main(int argc, char **argv)
{
	long nimages = argc > 2 ? atol(argv[1]) : 100000, nruns = argc > 2 ? atol(argv[2]) : 1000;
	/* images go to the problems 1,000 at a time (problems 0 and 1 need
	 * some); a deep page of runs is 50 rows before the last */
	if (nimages < 2000 || nruns < 50 || nimages > 10000000 || nruns > 1000000) {
		fprintf(stderr, "usage: lists [IMAGES>=2000 RUNS>=50]\n");
		return 2;
	}
	const long per_run = 100;
	char inst_dir[64];
	if (!mkdtemp(tmp_dir))
		return 1;
	atexit(remove_tmp); /* also when a step fails */
	char *dir = tmp_dir;
	snprintf(inst_dir, sizeof(inst_dir), "%s/inst", dir);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_instance inst;
	if (bia_instance_create(&ctx, inst_dir) || bia_instance_open(&ctx, inst_dir, &inst))
		bench_die("lists", &ctx, "instance");
	double t_setup = mono();
	/* ten problems; the images in batches of 1,000 (rows only: the blobs
	 * are not written, this measures the store) */
	int64_t pid[10];
	for (int k = 0; k < 10; k++) {
		struct bia_problem p = {.cls = BIA_OBJSEG};
		snprintf(p.name, sizeof(p.name), "problem-%d", k);
		if (bia_problem_add(&ctx, &inst, &p))
			bench_die("lists", &ctx, "problem");
		pid[k] = p.id;
	}
	struct bia_import_item *items = calloc(1000, sizeof(*items));
	struct bia_gt_file gt = {.kind = "mask", .bytes = 100, .size = {64, 64, 1, 1, 1},
				 .dtype = "uint16"};
	for (long done = 0; done < nimages; done += 1000) {
		for (long i = 0; i < 1000; i++) {
			struct bia_import_item *it = &items[i];
			memset(it, 0, sizeof(*it));
			long id = done + i;
			snprintf(it->image.stem, sizeof(it->image.stem), "img%07ld", id);
			snprintf(it->image.original_name, sizeof(it->image.original_name), "img%07ld.tif", id);
			bench_fake_digest(it->image.digest, "image", id);
			it->image.bytes = 8192;
			snprintf(it->image.format, sizeof(it->image.format), "tiff");
			snprintf(it->image.layout, sizeof(it->image.layout), "plain");
			uint64_t sz[5] = {64, 64, 1, 1, 1};
			memcpy(it->image.size, sz, sizeof(sz));
			snprintf(it->image.dtype, sizeof(it->image.dtype), "uint16");
		}
		/* every image has a GT file of its own */
		struct bia_gt_file *gts = calloc(1000, sizeof(*gts));
		for (long i = 0; i < 1000; i++) {
			gts[i] = gt;
			snprintf(gts[i].name, sizeof(gts[i].name), "img%07ld.tif", done + i);
			bench_fake_digest(gts[i].digest, "gt", done + i);
			items[i].gt = &gts[i];
			items[i].ngt = 1;
			items[i].make_current = 1;
		}
		if (bia_store_import(&ctx, &inst, pid[(done / 1000) % 10], items, 1000))
			bench_die("lists", &ctx, "import");
		free(gts);
	}
	free(items);
	/* one workflow version; runs of 100 images of problem 0, each image
	 * with an output, 5 scores and an error map of 5 categories */
	struct bia_wf_file wfile = {.path = "run.sh", .bytes = 10, .mode = 0755};
	bench_fake_digest(wfile.digest, "wf", 0);
	struct bia_wf_version wv = {0};
	snprintf(wv.name, sizeof(wv.name), "Bench-WF");
	snprintf(wv.version, sizeof(wv.version), "1.0");
	bench_fake_digest(wv.digest, "wfv", 0);
	wv.descriptor = "{\"name\": \"Bench-WF\"}";
	snprintf(wv.problem_class, sizeof(wv.problem_class), "ObjSeg");
	wv.files = &wfile;
	wv.nfiles = 1;
	int existed;
	if (bia_store_wf_add(&ctx, &inst, &wv, &existed))
		bench_die("lists", &ctx, "workflow");
	struct bia_image_rec *ims;
	size_t nims;
	struct bia_page first100 = {per_run, 0};
	struct bia_image_rec *ims1;
	if (bia_image_list(&ctx, &inst, pid[0], first100, &ims, &nims, NULL) ||
	    nims != (size_t)per_run ||
	    bia_image_list(&ctx, &inst, pid[1], first100, &ims1, &nims, NULL) ||
	    nims != (size_t)per_run)
		bench_die("lists", &ctx, "images of problems 0 and 1");
	static const char *const metrics[] = {"DICE", "AJI", "SEG", "mAP", "F1"};
	static const char *const cats[] = {"tp", "fp", "fn", "split", "merged"};
	/* nruns runs of problem 0, kept with their summaries as the worker keeps
	 * them; and 100 of problem 1 without (runs of an older version, listed
	 * from their values) */
	for (long r = 0; r < nruns + 100; r++) {
		struct bia_run run = {0};
		int old = r >= nruns;
		run.workflow_version_id = wv.id;
		run.problem_id = pid[old ? 1 : 0];
		run.params = "{}";
		run.images = "[]";
		snprintf(run.executor, sizeof(run.executor), "local");
		if (bia_store_begin(&ctx, &inst) || bia_store_run_add(&ctx, &inst, &run))
			bench_die("lists", &ctx, "run");
		for (long i = 0; i < per_run; i++) {
			struct bia_run_image ri = {0};
			struct bia_run_score sc[5];
			struct bia_run_error er[5];
			const struct bia_image_rec *im = old ? &ims1[i] : &ims[i];
			ri.image_id = im->id;
			snprintf(ri.status, sizeof(ri.status), "ok");
			ri.nfiles = 1;
			snprintf(ri.files[0].name, sizeof(ri.files[0].name), "%s.tif", im->stem);
			bench_fake_digest(ri.files[0].digest, "out", r * per_run + i);
			ri.files[0].bytes = 100;
			for (int m = 0; m < 5; m++) {
				memset(&sc[m], 0, sizeof(sc[m]));
				snprintf(sc[m].metric, sizeof(sc[m].metric), "%s", metrics[m]);
				sc[m].value = (double)((r * 31 + i * 7 + m) % 100) / 100.0;
				sc[m].gt_version_id = im->gt_version;
				snprintf(sc[m].metrics_version, sizeof(sc[m].metrics_version), "1.1.0");
				snprintf(er[m].category, sizeof(er[m].category), "%s", cats[m]);
				er[m].count = (i + m + r) % 7;
			}
			ri.scores = sc;
			ri.nscores = 5;
			ri.errors = er;
			ri.nerrors = 5;
			if (bia_store_run_image_put(&ctx, &inst, run.id, &ri))
				bench_die("lists", &ctx, "run image");
		}
		run.params = run.images = NULL; /* not ours */
		run.state = BIA_RUN_QUEUED;
		snprintf(run.started, sizeof(run.started), "2026-01-01T00:00:00Z");
		snprintf(run.finished, sizeof(run.finished), "2026-01-01T00:01:00Z");
		int done;
		if (bia_run_transition(&ctx, &inst, &run, BIA_RUN_RUNNING, &done) ||
		    bia_run_transition(&ctx, &inst, &run, BIA_RUN_INGESTING, &done) ||
		    bia_run_transition(&ctx, &inst, &run, BIA_RUN_SUCCEEDED, &done) ||
		    bia_store_commit(&ctx, &inst))
			bench_die("lists", &ctx, "run state");
		if (!old && bia_run_summarize(&ctx, &inst, run.id))
			bench_die("lists", &ctx, "run summary");
		bia_run_release(&run);
	}
	free(ims);
	free(ims1);
	t_setup = mono() - t_setup;

	struct bia_page first = {50, 0}, deep_img = {50, nimages / 10 - 50},
			deep_run = {50, nruns - 50};
	double t_prob, t_img, t_img_deep, t_img_all, t_wf, t_run, t_run_deep, t_run_old, t_old,
		t_err;
	int64_t total = 0;
	TIME_MS(t_prob, {
		struct bia_problem *v;
		size_t n;
		if (bia_problem_list(&ctx, &inst, first, &v, &n, &total))
			bench_die("lists", &ctx, "problem list");
		bia_problem_list_free(v, n);
	});
	TIME_MS(t_img, {
		struct bia_image_rec *v;
		size_t n;
		if (bia_image_list(&ctx, &inst, pid[0], first, &v, &n, &total) || n != 50)
			bench_die("lists", &ctx, "image list");
		free(v);
	});
	TIME_MS(t_img_deep, {
		struct bia_image_rec *v;
		size_t n;
		if (bia_image_list(&ctx, &inst, pid[0], deep_img, &v, &n, &total) || n != 50)
			bench_die("lists", &ctx, "image list (deep)");
		free(v);
	});
	TIME_MS(t_img_all, {
		struct bia_image_rec *v;
		size_t n;
		if (bia_image_list(&ctx, &inst, 0, first, &v, &n, &total) || n != 50)
			bench_die("lists", &ctx, "image list (every problem)");
		free(v);
	});
	TIME_MS(t_wf, {
		struct bia_wf_version *v;
		size_t n;
		if (bia_store_wf_list(&ctx, &inst, first, &v, &n, &total))
			bench_die("lists", &ctx, "workflow list");
		bia_wf_list_free(v, n);
	});
	TIME_MS(t_run, {
		json_t *rows;
		if (bia_runs_list_json(&ctx, &inst, NULL, first, &rows, &total) ||
		    json_array_size(rows) != 50)
			bench_die("lists", &ctx, "run list");
		json_decref(rows);
	});
	TIME_MS(t_run_deep, {
		json_t *rows;
		if (bia_runs_list_json(&ctx, &inst, NULL, deep_run, &rows, &total) ||
		    json_array_size(rows) != 50)
			bench_die("lists", &ctx, "run list (deep)");
		json_decref(rows);
	});
	struct bia_run_filter older = {.problem_id = pid[1]};
	TIME_MS(t_run_old, {
		json_t *rows;
		if (bia_runs_list_json(&ctx, &inst, &older, first, &rows, &total) ||
		    json_array_size(rows) != 50)
			bench_die("lists", &ctx, "run list (no summaries)");
		json_decref(rows);
	});
	/* the anchor: the same page, each run's record read and its outputs and
	 * scores loaded for its mean (the run list before paging) */
	TIME_MS(t_old, {
		struct bia_run *v;
		size_t n;
		if (bia_store_run_list(&ctx, &inst, NULL, first, &v, &n, NULL))
			bench_die("lists", &ctx, "run list (anchor)");
		for (size_t i = 0; i < n; i++) {
			json_t *j = bia_run_json(&ctx, &inst, &v[i], 0);
			if (!j)
				bench_die("lists", &ctx, "run json");
			json_decref(j);
		}
		bia_run_list_free(v, n);
	});
	int64_t some_run = nruns / 2;
	TIME_MS(t_err, {
		json_t *rows;
		if (bia_errors_counts_json(&ctx, &inst, some_run, 0, "fn", 50, &rows))
			bench_die("lists", &ctx, "error counts");
		json_decref(rows);
	});
	/* the whole list as JSON through the CLI (a process: open, list, print) */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s --instance %s runs --format json >/dev/null",
		 getenv("BIAFLOWS") ? getenv("BIAFLOWS") : "build/biaflows", inst_dir);
	double t_cli;
	TIME_MS(t_cli, {
		if (system(cmd) != 0) {
			fprintf(stderr, "lists: '%s' failed\n", cmd);
			exit(1);
		}
	});
	printf("lists: %ld images in 10 problems, %ld + 100 runs of %ld images (set up in %.1f s)\n",
	       nimages, nruns, per_run, t_setup);
	printf("  one 50-row page (median of %d)                 time      goal 5 ms\n", REPS);
	printf("  problems                                  %8.3f ms  %s\n", t_prob,
	       t_prob < 5 ? "met" : "NOT met");
	printf("  images of a problem, first page           %8.3f ms  %s\n", t_img,
	       t_img < 5 ? "met" : "NOT met");
	printf("  images of a problem, last page            %8.3f ms  %s\n", t_img_deep,
	       t_img_deep < 5 ? "met" : "NOT met");
	printf("  images of every problem, first page       %8.3f ms  %s\n", t_img_all,
	       t_img_all < 5 ? "met" : "NOT met");
	printf("  workflow versions                         %8.3f ms  %s\n", t_wf,
	       t_wf < 5 ? "met" : "NOT met");
	printf("  runs (with main-metric means), first page %8.3f ms  %s\n", t_run,
	       t_run < 5 ? "met" : "NOT met");
	printf("  runs, last page                           %8.3f ms  %s\n", t_run_deep,
	       t_run_deep < 5 ? "met" : "NOT met");
	printf("  runs without summaries (older), a page    %8.3f ms  %s\n", t_run_old,
	       t_run_old < 5 ? "met" : "NOT met");
	printf("  error counts of a run by 'fn', top 50     %8.3f ms  %s\n", t_err,
	       t_err < 5 ? "met" : "NOT met");
	printf("  anchor: runs page built run by run        %8.3f ms  (paged list %.1fx faster)\n",
	       t_old, t_old / t_run);
	printf("  biaflows runs --format json (%ld runs)   %8.1f ms  (a whole process)\n", nruns,
	       t_cli);
	bia_instance_close(&inst);
	if (getenv("BIA_BENCH_KEEP"))
		printf("  (instance kept: %s)\n", inst_dir);
	return 0;
}
