/* The instance bench/api serves: problem "big" with N images (rows only,
 * default 100,000; the blobs are not written), problem "small" with 100
 * images and 10 succeeded runs scored on all of them (a leaderboard), and
 * an admin "bench" with an API token (printed on stdout).
 *   build/bench/api-fixture DIR [N]
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "runs/runs.h"

#include "fixture.h"


static int64_t images(struct bia_ctx *ctx, struct bia_instance *inst, const char *name, long n,
		      long first)
{
	struct bia_problem p = {.cls = BIA_OBJSEG};
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.description = "";
	if (bia_problem_add(ctx, inst, &p))
		bench_die("api-fixture", ctx, "problem");
	struct bia_import_item *items = calloc(1000, sizeof(*items));
	struct bia_gt_file *gts = calloc(1000, sizeof(*gts));
	for (long done = 0; done < n; done += 1000) {
		long k = n - done < 1000 ? n - done : 1000;
		for (long i = 0; i < k; i++) {
			struct bia_import_item *it = &items[i];
			long id = first + done + i;
			memset(it, 0, sizeof(*it));
			snprintf(it->image.stem, sizeof(it->image.stem), "img%07ld", id);
			snprintf(it->image.original_name, sizeof(it->image.original_name),
				 "img%07ld.tif", id);
			bench_fake_digest(it->image.digest, "image", id);
			it->image.bytes = 8192;
			snprintf(it->image.format, sizeof(it->image.format), "tiff");
			snprintf(it->image.layout, sizeof(it->image.layout), "plain");
			uint64_t sz[5] = {64, 64, 1, 1, 1};
			memcpy(it->image.size, sz, sizeof(sz));
			snprintf(it->image.dtype, sizeof(it->image.dtype), "uint16");
			gts[i] = (struct bia_gt_file){.kind = "mask", .bytes = 100,
						      .size = {64, 64, 1, 1, 1}, .dtype = "uint16"};
			snprintf(gts[i].name, sizeof(gts[i].name), "img%07ld.tif", id);
			bench_fake_digest(gts[i].digest, "gt", id);
			it->gt = &gts[i];
			it->ngt = 1;
			it->make_current = 1;
		}
		if (bia_store_import(ctx, inst, p.id, items, (size_t)k))
			bench_die("api-fixture", ctx, "import");
	}
	free(items);
	free(gts);
	return p.id;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: api-fixture DIR [IMAGES]\n");
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 100000;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_instance inst;
	if (bia_instance_create(&ctx, argv[1]) || bia_instance_open(&ctx, argv[1], &inst))
		bench_die("api-fixture", &ctx, "instance");
	images(&ctx, &inst, "big", n, 0);
	int64_t small = images(&ctx, &inst, "small", 100, 10000000);
	struct bia_wf_file wfile = {.path = "run.sh", .bytes = 10, .mode = 0755};
	bench_fake_digest(wfile.digest, "wf", 0);
	struct bia_wf_version wv = {0};
	snprintf(wv.name, sizeof(wv.name), "Bench-WF");
	snprintf(wv.version, sizeof(wv.version), "1.0");
	bench_fake_digest(wv.digest, "wfv", 0);
	wv.descriptor = "{\"name\": \"Bench-WF\", \"problem-class\": \"ObjSeg\", "
			"\"command-line\": \"run.sh SETTING\", \"environment\": {\"type\": \"host\"}, \"inputs\": [{\"id\": \"setting\", "
			"\"value-key\": \"@ID\", \"command-line-flag\": \"--@id\", \"type\": \"String\", "
			"\"default-value\": \"0\", \"optional\": true}]}";
	snprintf(wv.problem_class, sizeof(wv.problem_class), "ObjSeg");
	wv.files = &wfile;
	wv.nfiles = 1;
	int existed;
	if (bia_store_wf_add(&ctx, &inst, &wv, &existed))
		bench_die("api-fixture", &ctx, "workflow");
	struct bia_image_rec *ims;
	size_t nims;
	if (bia_image_list(&ctx, &inst, small, (struct bia_page){0, 0}, &ims, &nims, NULL))
		bench_die("api-fixture", &ctx, "images");
	static const char *const metrics[] = {"DICE", "AJI", "SEG", "mAP", "F1"};
	for (long r = 0; r < 10; r++) {
		struct bia_run run = {0};
		char params[64];
		snprintf(params, sizeof(params), "{\"setting\": \"%ld\"}", r);
		run.workflow_version_id = wv.id;
		run.problem_id = small;
		run.params = params;
		run.images = "[]";
		snprintf(run.executor, sizeof(run.executor), "local");
		if (bia_store_begin(&ctx, &inst) || bia_store_run_add(&ctx, &inst, &run))
			bench_die("api-fixture", &ctx, "run");
		for (size_t i = 0; i < nims; i++) {
			struct bia_run_image ri = {0};
			struct bia_run_score sc[5];
			ri.image_id = ims[i].id;
			snprintf(ri.status, sizeof(ri.status), "ok");
			ri.nfiles = 1;
			snprintf(ri.files[0].name, sizeof(ri.files[0].name), "%s.tif", ims[i].stem);
			bench_fake_digest(ri.files[0].digest, "out", r * 1000 + (long)i);
			ri.files[0].bytes = 100;
			for (int m = 0; m < 5; m++) {
				memset(&sc[m], 0, sizeof(sc[m]));
				snprintf(sc[m].metric, sizeof(sc[m].metric), "%s", metrics[m]);
				sc[m].value = (double)((r * 31 + (long)i * 7 + m) % 100) / 100.0;
				sc[m].gt_version_id = ims[i].gt_version;
				snprintf(sc[m].metrics_version, sizeof(sc[m].metrics_version), "%s",
					 BIA_METRICS_VERSION);
			}
			ri.scores = sc;
			ri.nscores = 5;
			if (bia_store_run_image_put(&ctx, &inst, run.id, &ri))
				bench_die("api-fixture", &ctx, "run image");
		}
		run.params = run.images = NULL;
		run.state = BIA_RUN_QUEUED;
		int done;
		if (bia_run_transition(&ctx, &inst, &run, BIA_RUN_RUNNING, &done) ||
		    bia_run_transition(&ctx, &inst, &run, BIA_RUN_INGESTING, &done) ||
		    bia_run_transition(&ctx, &inst, &run, BIA_RUN_SUCCEEDED, &done) ||
		    bia_store_commit(&ctx, &inst) || bia_run_summarize(&ctx, &inst, run.id))
			bench_die("api-fixture", &ctx, "run state");
		bia_run_release(&run);
	}
	free(ims);
	struct bia_user u = {.role = BIA_ROLE_ADMIN};
	snprintf(u.name, sizeof(u.name), "bench");
	char hash[BIA_PWHASH_MAX];
	json_t *t;
	if (bia_password_hash(&ctx, "bench-password", hash) || bia_user_add(&ctx, &inst, &u, hash) ||
	    bia_token_create(&ctx, &inst, "bench", "bench", &t))
		bench_die("api-fixture", &ctx, "user");
	printf("%s\n", json_string_value(json_object_get(t, "token")));
	json_decref(t);
	bia_instance_close(&inst);
	return 0;
}
