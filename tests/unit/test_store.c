/* Unit tests of src/store and src/dataset: instance, migrations, problems,
 * all-or-nothing imports, GT versions, blob store, fsck.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "pgtest.h"

static const char *fixdir(void)
{
	const char *d = getenv("BIAFLOWS_FIXTURES");
	return d && *d ? d : "tests/fixtures/images";
}

struct env {
	char dir[64];		 /* temp root */
	char inst_dir[128];	 /* instance */
	struct bia_ctx ctx;
	struct bia_instance inst;
	struct bia_problem p;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-store-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->inst_dir, sizeof(e->inst_dir), "%s/inst", e->dir);
	bia_ctx_init(&e->ctx);
	if (bia_instance_create(&e->ctx, e->inst_dir) ||
	    bia_instance_open(&e->ctx, e->inst_dir, &e->inst))
		return -1;
	pgtest_note(e->inst_dir);
	snprintf(e->p.name, sizeof(e->p.name), "nuclei");
	e->p.cls = BIA_OBJSEG;
	if (bia_problem_add(&e->ctx, &e->inst, &e->p))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	bia_instance_close(&e->inst);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	pgtest_drop_noted();
	bia_rm_rf(&ctx, e->dir);
	free(e);
	return 0;
}

static char *fx(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", fixdir(), name);
	return buf;
}

static void test_instance(void **state)
{
	struct env *e = *state;
	int ver = 0;
	assert_int_equal(bia_store_schema_version(&e->ctx, &e->inst, &ver), 0);
	assert_int_equal(ver, 11);
	assert_true(bia_instance_probe(e->inst_dir));
	char p[256];
	static const char *const sub[] = {"blobs/sha256", "blobs/tmp", "derived", "runs", "envs"};
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", e->inst_dir, sub[i]);
		assert_true(bia_is_dir(p));
	}
	/* creating again is refused; so is a non-empty folder */
	assert_int_equal(bia_instance_create(&e->ctx, e->inst_dir), BIA_EEXIST);
	snprintf(p, sizeof(p), "%s/blobs", e->inst_dir);
	assert_int_equal(bia_instance_create(&e->ctx, p), BIA_EEXIST);
	/* reopening applies no migration twice */
	struct bia_instance i2;
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &i2), 0);
	assert_int_equal(bia_store_schema_version(&e->ctx, &i2, &ver), 0);
	assert_int_equal(ver, 11);
	bia_instance_close(&i2);
	assert_int_equal(bia_instance_open(&e->ctx, e->dir, &i2), BIA_ENOENT);
}

static void test_problems(void **state)
{
	struct env *e = *state;
	struct bia_problem q;
	memset(&q, 0, sizeof(q));
	snprintf(q.name, sizeof(q.name), "nuclei");
	q.cls = BIA_SPTCNT;
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &q), BIA_EEXIST);
	snprintf(q.name, sizeof(q.name), "123");
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &q), BIA_EINVAL);
	snprintf(q.name, sizeof(q.name), "spots");
	q.cls = BIA_CLASS_NONE;
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &q), BIA_EINVAL);
	q.cls = bia_class_parse("sptcnt");
	assert_int_equal(q.cls, BIA_SPTCNT);
	q.description = "spot counting";
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst, &q), 0);
	assert_true(q.id > e->p.id);
	struct bia_problem *v;
	size_t n;
	assert_int_equal(bia_problem_list(&e->ctx, &e->inst, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].name, "spots");
	assert_string_equal(v[1].description, "spot counting");
	assert_int_equal(v[1].cls, BIA_SPTCNT);
	for (size_t i = 0; i < n; i++)
		bia_problem_release(&v[i]);
	free(v);
	struct bia_problem g;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)q.id);
	assert_int_equal(bia_problem_get(&e->ctx, &e->inst, id, &g), 0);
	assert_string_equal(g.name, "spots");
	bia_problem_release(&g);
	assert_int_equal(bia_problem_get(&e->ctx, &e->inst, "nope", &g), BIA_ENOENT);
	assert_int_equal(bia_problem_rm(&e->ctx, &e->inst, q.id, NULL), 0);
	assert_int_equal(bia_problem_get(&e->ctx, &e->inst, "spots", &g), BIA_ENOENT);
	assert_string_equal(bia_class_code(BIA_LNDDET), "LndDet");
	assert_int_equal(bia_class_parse("OBJTRK"), BIA_OBJTRK);
	assert_int_equal(bia_class_parse("Segmentation"), BIA_CLASS_NONE);
}

static void test_import_dataset(void **state)
{
	struct env *e = *state;
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/../sample", fixdir());
	struct bia_import_result r;
	bia_import_result_init(&r);
	assert_int_equal(bia_dataset_import(&e->ctx, &e->inst, &e->p, dir, NULL, &r), 0);
	assert_int_equal(r.n_images, 2);
	assert_int_equal(r.n_gt, 2);
	assert_int_equal(json_array_size(r.invalid), 0);
	bia_import_result_release(&r);
	struct bia_image_rec *v;
	size_t n;
	assert_int_equal(bia_image_list(&e->ctx, &e->inst, e->p.id, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].stem, "nuc_a");
	assert_int_equal(v[0].size[0], 32);
	assert_string_equal(v[0].dtype, "uint8");
	assert_true(v[0].gt_version > 0);
	/* the blob is the original file, byte for byte */
	char bp[BIA_PATH_MAX], hex[BIA_SHA256_HEX];
	bia_blob_path(&e->inst, v[0].digest, bp, sizeof(bp));
	assert_int_equal(bia_sha256_file(&e->ctx, bp, hex, NULL), 0);
	assert_string_equal(hex, v[0].digest);
	struct bia_image_rec one;
	assert_int_equal(bia_image_resolve(&e->ctx, &e->inst, "nuclei/nuc_b", &one), 0);
	assert_int_equal(one.id, v[1].id);
	free(v);
	/* importing again: every image refused, nothing changes */
	bia_import_result_init(&r);
	assert_int_equal(bia_dataset_import(&e->ctx, &e->inst, &e->p, dir, NULL, &r), BIA_EFORMAT);
	assert_int_equal(json_array_size(r.invalid), 2);
	assert_non_null(strstr(json_string_value(json_array_get(r.invalid, 0)), "already exists"));
	bia_import_result_release(&r);
	assert_int_equal(bia_image_list(&e->ctx, &e->inst, e->p.id, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	assert_int_equal(n, 2);
	free(v);
}

static void test_import_all_or_nothing(void **state)
{
	struct env *e = *state;
	char a[1024], b[1024], c[1024];
	char *files[] = {fx(a, sizeof(a), "tf_int64.tif"), fx(b, sizeof(b), "bad_truncated.tif"),
			 fx(c, sizeof(c), "png_gray8.png")};
	struct bia_import_result r;
	bia_import_result_init(&r);
	assert_int_equal(bia_images_add(&e->ctx, &e->inst, &e->p, files, 3, NULL, &r), BIA_EFORMAT);
	assert_int_equal(json_array_size(r.invalid), 1);
	assert_non_null(strstr(json_string_value(json_array_get(r.invalid, 0)), "bad_truncated.tif"));
	/* the same problem as a record: the file, what about it, the problem */
	assert_int_equal(json_array_size(r.problems), 1);
	json_t *rec = json_array_get(r.problems, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "file")), b);
	assert_string_equal(json_string_value(json_object_get(rec, "field")), "image");
	assert_non_null(json_string_value(json_object_get(rec, "problem")));
	assert_null(strstr(json_string_value(json_object_get(rec, "problem")), b));
	bia_import_result_release(&r);
	struct bia_image_rec *v;
	size_t n;
	assert_int_equal(bia_image_list(&e->ctx, &e->inst, e->p.id, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(v);
	/* no blob file was written for the refused batch */
	struct bia_fsck_report rep;
	assert_int_equal(bia_fsck(&e->ctx, &e->inst, 1, &rep), 0);
	assert_int_equal(rep.orphans, 0);
	assert_int_equal(rep.blobs_checked, 0);
	bia_fsck_report_release(&rep);
	/* --skip-invalid imports the rest */
	struct bia_import_opts o = {1, NULL, 0};
	bia_import_result_init(&r);
	assert_int_equal(bia_images_add(&e->ctx, &e->inst, &e->p, files, 3, &o, &r), 0);
	assert_int_equal(r.n_images, 2);
	assert_int_equal(json_array_size(r.invalid), 1);
	bia_import_result_release(&r);
	/* same content under another name is refused, naming the existing id */
	char d[1024];
	snprintf(d, sizeof(d), "%s/t.tif", e->dir);
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "cp %s %s", a, d);
	assert_int_equal(system(cmd), 0);
	char *dup[] = {d};
	bia_import_result_init(&r);
	assert_int_equal(bia_images_add(&e->ctx, &e->inst, &e->p, dup, 1, NULL, &r), BIA_EEXIST);
	assert_non_null(strstr(e->ctx.msg, "already image"));
	bia_import_result_release(&r);
}

static void test_gt_versions(void **state)
{
	struct env *e = *state;
	char a[1024], m[1024], w[1024];
	char *img[] = {fx(a, sizeof(a), "tf_int64.tif")};
	struct bia_import_result r;
	bia_import_result_init(&r);
	assert_int_equal(bia_images_add(&e->ctx, &e->inst, &e->p, img, 1, NULL, &r), 0);
	bia_import_result_release(&r);
	struct bia_image_rec im;
	assert_int_equal(bia_image_resolve(&e->ctx, &e->inst, "nuclei/tf_int64", &im), 0);
	assert_int_equal(im.gt_version, 0);
	char *gt1[] = {fx(m, sizeof(m), "mask_ok.tif")};
	struct bia_import_opts o = {0, "alice", 0};
	bia_import_result_init(&r);
	assert_int_equal(bia_gt_add(&e->ctx, &e->inst, &im, gt1, 1, &o, &r), 0);
	bia_import_result_release(&r);
	/* second version by bob, not current */
	o.annotator = "bob";
	o.not_current = 1;
	bia_import_result_init(&r);
	assert_int_equal(bia_gt_add(&e->ctx, &e->inst, &im, gt1, 1, &o, &r), 0);
	bia_import_result_release(&r);
	/* wrong shape refused with a message naming both */
	char *gt2[] = {fx(w, sizeof(w), "mask_wrong_shape.tif")};
	bia_import_result_init(&r);
	assert_int_equal(bia_gt_add(&e->ctx, &e->inst, &im, gt2, 1, NULL, &r), BIA_EFORMAT);
	const char *msg = json_string_value(json_array_get(r.invalid, 0));
	assert_non_null(strstr(msg, "mask_wrong_shape.tif: ground truth is 16x11 but image "
				    "'tf_int64.tif' is 16x12"));
	bia_import_result_release(&r);
	struct bia_gt_version *v;
	size_t n;
	assert_int_equal(bia_gt_list(&e->ctx, &e->inst, im.id, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].annotator, "alice");
	assert_int_equal(v[0].current, 1);
	assert_string_equal(v[1].annotator, "bob");
	assert_int_equal(v[1].current, 0);
	assert_int_equal(v[0].nfiles, 1);
	assert_string_equal(v[0].files[0].kind, "mask");
	assert_string_equal(v[0].files[0].dtype, "uint16");
	for (size_t i = 0; i < n; i++)
		bia_gt_version_release(&v[i]);
	free(v);
}

static void test_fsck(void **state)
{
	struct env *e = *state;
	char a[1024];
	char *img[] = {fx(a, sizeof(a), "png_gray16.png")};
	struct bia_import_result r;
	bia_import_result_init(&r);
	assert_int_equal(bia_images_add(&e->ctx, &e->inst, &e->p, img, 1, NULL, &r), 0);
	bia_import_result_release(&r);
	struct bia_fsck_report rep;
	assert_int_equal(bia_fsck(&e->ctx, &e->inst, 0, &rep), 0);
	assert_int_equal(rep.blobs_checked, 1);
	assert_int_equal(rep.corrupt + rep.missing + rep.orphans, 0);
	assert_true(rep.db_ok);
	bia_fsck_report_release(&rep);
	/* an orphan (stored, never referenced) is found and removed */
	char digest[BIA_SHA256_HEX];
	assert_int_equal(bia_blob_put_mem(&e->ctx, &e->inst, "orphan", 6, digest, NULL), 0);
	char bp[BIA_PATH_MAX];
	bia_blob_path(&e->inst, digest, bp, sizeof(bp));
	assert_true(bia_is_file(bp));
	/* this handle holds the writer lock: fsck (another handle) keeps it */
	struct bia_instance i2;
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &i2), 0);
	assert_int_equal(bia_fsck(&e->ctx, &i2, 0, &rep), 0);
	assert_int_equal(rep.orphans, 1);
	assert_int_equal(rep.orphans_removed, 0);
	assert_true(rep.locked);
	bia_fsck_report_release(&rep);
	bia_instance_close(&e->inst);
	assert_int_equal(bia_fsck(&e->ctx, &i2, 0, &rep), 0);
	assert_int_equal(rep.orphans_removed, 1);
	assert_false(bia_is_file(bp));
	bia_fsck_report_release(&rep);
	bia_instance_close(&i2);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &e->inst), 0);
}

/* A database at schema version 1 is migrated to the current version on
 * open, keeping its rows. */
static void test_migration_from_v1(void **state)
{
	struct env *e = *state;
	char cmd[512];
	const char *db = getenv("BIAFLOWS_DATABASE");
	if (db && !strncmp(db, "postgresql:", 11)) {
		printf("skipped: the version 1 database is made with sqlite3\n");
		skip();
	}
	bia_instance_close(&e->inst);
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s/biaflows.db 'DROP TABLE workflow_files; DROP TABLE workflow_versions; "
		 "DROP TABLE workflows; PRAGMA user_version = 1;'",
		 e->inst_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &e->inst), 0);
	int ver = 0;
	assert_int_equal(bia_store_schema_version(&e->ctx, &e->inst, &ver), 0);
	assert_int_equal(ver, 11);
	struct bia_problem g;
	assert_int_equal(bia_problem_get(&e->ctx, &e->inst, "nuclei", &g), 0);
	bia_problem_release(&g);
	/* a database newer than the program is refused */
	bia_instance_close(&e->inst);
	snprintf(cmd, sizeof(cmd), "sqlite3 %s/biaflows.db 'PRAGMA user_version = 99;'",
		 e->inst_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &e->inst), BIA_EUNSUPPORTED);
	assert_non_null(strstr(e->ctx.msg, "newer than this program"));
	snprintf(cmd, sizeof(cmd), "sqlite3 %s/biaflows.db 'PRAGMA user_version = 2;'",
		 e->inst_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &e->inst), 0);
}

/* Workflow versions are immutable: same content again is fine, other
 * content under the same version is refused. */
static void test_workflow_versions(void **state)
{
	struct env *e = *state;
	char digest[BIA_SHA256_HEX];
	assert_int_equal(bia_blob_put_mem(&e->ctx, &e->inst, "echo hi\n", 8, digest, NULL), 0);
	struct bia_wf_file f;
	memset(&f, 0, sizeof(f));
	snprintf(f.path, sizeof(f.path), "run.sh");
	memcpy(f.digest, digest, sizeof(digest));
	f.bytes = 8;
	f.mode = 0755;
	struct bia_wf_version v;
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "Thresh");
	snprintf(v.version, sizeof(v.version), "v1");
	memset(v.digest, 'a', 64);
	v.descriptor = "{\"name\": \"Thresh\"}";
	v.nfiles = 1;
	v.files = &f;
	int existed = -1;
	assert_int_equal(bia_store_wf_add(&e->ctx, &e->inst, &v, &existed), 0);
	assert_int_equal(existed, 0);
	int64_t id = v.id;
	assert_true(id > 0);
	assert_int_equal(bia_store_wf_add(&e->ctx, &e->inst, &v, &existed), 0);
	assert_int_equal(existed, 1);
	assert_int_equal(v.id, id);
	v.digest[0] = 'b';
	assert_int_equal(bia_store_wf_add(&e->ctx, &e->inst, &v, &existed), BIA_EEXIST);
	assert_non_null(strstr(e->ctx.msg, "immutable"));
	snprintf(v.version, sizeof(v.version), "v2");
	assert_int_equal(bia_store_wf_add(&e->ctx, &e->inst, &v, &existed), 0);
	struct bia_wf_version got;
	assert_int_equal(bia_store_wf_get(&e->ctx, &e->inst, "Thresh", NULL, &got), 0);
	assert_string_equal(got.version, "v2"); /* newest added */
	assert_int_equal(got.nfiles, 1);
	assert_string_equal(got.files[0].path, "run.sh");
	assert_int_equal(got.files[0].mode, 0755);
	bia_wf_version_release(&got);
	assert_int_equal(bia_store_wf_get(&e->ctx, &e->inst, "Thresh", "v9", &got),
			 BIA_ENOENT);
	/* the file is referenced: fsck keeps it */
	struct bia_instance i2;
	bia_instance_close(&e->inst);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &i2), 0);
	struct bia_fsck_report rep;
	assert_int_equal(bia_fsck(&e->ctx, &i2, 0, &rep), 0);
	assert_int_equal(rep.orphans, 0);
	assert_int_equal(rep.blobs_checked, 1);
	bia_fsck_report_release(&rep);
	bia_instance_close(&i2);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir, &e->inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_dataset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gt_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workflow_versions, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
