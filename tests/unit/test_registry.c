/* Unit tests of src/workflow/registry.c: folder versions, digest, immutability,
 * refusals with nothing stored, image archives, git tags and sync.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <git2.h>

#include "workflow/workflow.h"

static const char DESC[] =
	"{\"name\": \"Thresh\", \"command-line\": \"python wrapper.py T\", \"environment\": "
	"{\"type\": \"host\"}, \"problem-class\": \"ObjSeg\", \"inputs\": [{\"id\": \"t\", "
	"\"type\": \"Number\", \"value-key\": \"T\", \"default-value\": 1, \"optional\": true, "
	"\"description\": \"threshold\"}]}\n";
static const char DESC_IMAGE[] =
	"{\"name\": \"Spots\", \"command-line\": \"python wrapper.py\", \"environment\": "
	"{\"type\": \"image\", \"archive\": \"img/w.tar\"}, \"inputs\": []}\n";
static const char DESC_CONTAINER[] =
	"{\"name\": \"Cont\", \"command-line\": \"python wrapper.py\", \"container-image\": "
	"{\"image\": \"neubiaswg5/w_x\", \"type\": \"singularity\"}, \"inputs\": []}\n";

struct env {
	char dir[64];
	char inst_dir[128];
	struct bia_ctx ctx;
	struct bia_instance inst;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-registry-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->inst_dir, sizeof(e->inst_dir), "%s/inst", e->dir);
	bia_ctx_init(&e->ctx);
	if (bia_instance_create(&e->ctx, e->inst_dir) ||
	    bia_instance_open(&e->ctx, e->inst_dir, &e->inst))
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
	bia_rm_rf(&ctx, e->dir);
	free(e);
	return 0;
}

static void put(const char *dir, const char *rel, const char *text, int mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_mkdir_p(&ctx, p), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, (mode_t)mode);
}

static void set_mtime(const char *dir, const char *rel, long t)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	struct timeval tv[2] = {{t, 0}, {t, 0}};
	assert_int_equal(utimes(p, tv), 0);
}

/* Number of workflow versions in the instance. */
static size_t nversions(struct env *e)
{
	struct bia_wf_version *v;
	size_t n;
	assert_int_equal(bia_store_wf_list(&e->ctx, &e->inst, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		bia_wf_version_release(&v[i]);
	free(v);
	return n;
}

/* Run fsck (dry run) and return blob files / orphans. */
static void fsck_counts(struct env *e, size_t *pblobs, size_t *porphans)
{
	struct bia_fsck_report rep;
	assert_int_equal(bia_fsck(&e->ctx, &e->inst, 1, &rep), 0);
	*pblobs = rep.blobs_checked;
	*porphans = rep.orphans;
	bia_fsck_report_release(&rep);
}

static void test_digest(void **state)
{
	struct env *e = *state;
	char a[128], b[128];
	snprintf(a, sizeof(a), "%s/a", e->dir);
	snprintf(b, sizeof(b), "%s/b", e->dir);
	/* same files, other creation order and mtimes */
	put(a, "descriptor.json", DESC, 0644);
	put(a, "wrapper.py", "print(1)\n", 0755);
	put(a, "sub/x.txt", "x\n", 0600);
	put(a, ".git/HEAD", "ignored\n", 0644);
	put(b, "sub/x.txt", "x\n", 0644);
	put(b, "wrapper.py", "print(1)\n", 0700);
	put(b, "descriptor.json", DESC, 0644);
	set_mtime(b, "wrapper.py", 1000);
	set_mtime(b, "sub/x.txt", 2000);

	struct bia_wf_added r1, r2;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r1), 0);
	assert_int_equal(r1.existed, 0);
	assert_true(r1.id > 0);
	assert_string_equal(r1.name, "Thresh");
	/* the digest is sha256 of the sorted "mode digest path" lines */
	char dd[BIA_SHA256_HEX], dw[BIA_SHA256_HEX], dx[BIA_SHA256_HEX], want[BIA_SHA256_HEX];
	bia_sha256_hex(DESC, strlen(DESC), dd);
	bia_sha256_hex("print(1)\n", 9, dw);
	bia_sha256_hex("x\n", 2, dx);
	char lines[1024];
	snprintf(lines, sizeof(lines), "644 %s descriptor.json\n644 %s sub/x.txt\n755 %s wrapper.py\n",
		 dd, dx, dw);
	bia_sha256_hex(lines, strlen(lines), want);
	assert_string_equal(r1.digest, want);
	char ver[64];
	snprintf(ver, sizeof(ver), "dev-%.12s", want);
	assert_string_equal(r1.version, ver);

	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, b, NULL, &r2), 0);
	assert_string_equal(r2.digest, r1.digest);
	assert_int_equal(r2.existed, 1);
	assert_int_equal(r2.id, r1.id);
	assert_int_equal(nversions(e), 1);

	/* the stored version: files sorted, modes normalised, .git skipped */
	struct bia_wf_version v;
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh", &v), 0);
	assert_int_equal(v.nfiles, 3);
	assert_string_equal(v.files[0].path, "descriptor.json");
	assert_string_equal(v.files[1].path, "sub/x.txt");
	assert_int_equal(v.files[1].mode, 0644);
	assert_int_equal(v.files[2].mode, 0755);
	assert_string_equal(v.problem_class, "ObjSeg");
	assert_non_null(strstr(v.source, "/a"));
	assert_string_equal(v.descriptor, DESC);
	json_t *j = bia_workflow_json(&e->ctx, &e->inst, &v);
	assert_non_null(j);
	json_t *p0 = json_array_get(json_object_get(j, "parameters"), 0);
	assert_string_equal(json_string_value(json_object_get(p0, "type")), "Number");
	assert_string_equal(json_string_value(json_object_get(p0, "default")), "1");
	assert_string_equal(json_string_value(json_object_get(p0, "description")), "threshold");
	assert_true(json_is_true(json_object_get(p0, "optional")));
	assert_int_equal(json_array_size(json_object_get(j, "versions")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "environment"), "type")),
			    "host");
	json_decref(j);
	bia_wf_version_release(&v);

	/* an execute bit changes the digest */
	char p[256];
	snprintf(p, sizeof(p), "%s/sub/x.txt", b);
	chmod(p, 0744);
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, b, NULL, &r2), 0);
	assert_string_not_equal(r2.digest, r1.digest);
	assert_int_equal(r2.existed, 0);
	assert_int_equal(nversions(e), 2);
}

static void test_immutable(void **state)
{
	struct env *e = *state;
	char a[128];
	snprintf(a, sizeof(a), "%s/a", e->dir);
	put(a, "descriptor.json", DESC, 0644);
	put(a, "wrapper.py", "print(1)\n", 0755);
	struct bia_wf_add_opts o = {0};
	o.version = "v1";
	struct bia_wf_added r;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), 0);
	int64_t id1 = r.id;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), 0);
	assert_int_equal(r.existed, 1);
	assert_int_equal(r.id, id1);
	size_t blobs0, orph;
	fsck_counts(e, &blobs0, &orph);
	assert_int_equal(blobs0, 2);
	put(a, "wrapper.py", "print(2)\n", 0755);
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), BIA_EEXIST);
	assert_non_null(strstr(e->ctx.msg, "immutable"));
	size_t blobs1;
	fsck_counts(e, &blobs1, &orph);
	assert_int_equal(blobs1, blobs0); /* nothing written */
	assert_int_equal(orph, 0);
	o.version = "v2";
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), 0);
	struct bia_wf_version v;
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh", &v), 0);
	assert_string_equal(v.version, "v2"); /* newest added */
	bia_wf_version_release(&v);
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh@v1", &v), 0);
	assert_int_equal(v.id, id1);
	bia_wf_version_release(&v);
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh@v9", &v), BIA_ENOENT);
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Nope", &v), BIA_ENOENT);
	/* bad version names */
	o.version = "a b";
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), BIA_EINVAL);
	o.version = "x@y";
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), BIA_EINVAL);
}

static void test_refused(void **state)
{
	struct env *e = *state;
	char a[128], p[256];
	struct bia_wf_added r;
	snprintf(a, sizeof(a), "%s/a", e->dir);
	/* no descriptor */
	put(a, "wrapper.py", "print(1)\n", 0755);
	assert_int_not_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), 0);
	assert_non_null(strstr(e->ctx.msg, "no descriptor.json"));
	/* invalid descriptor: named key, nothing stored */
	put(a, "descriptor.json",
	    "{\"name\": \"X\", \"command-line\": \"x T\", \"environment\": {\"type\": \"host\"}, "
	    "\"inputs\": [{\"id\": \"t\", \"type\": \"Float\", \"value-key\": \"T\"}]}",
	    0644);
	assert_int_not_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), 0);
	assert_non_null(strstr(e->ctx.msg, "'inputs[0].type'"));
	assert_int_equal(r.rc, e->ctx.rc);
	assert_int_equal(nversions(e), 0);
	size_t blobs, orph;
	fsck_counts(e, &blobs, &orph);
	assert_int_equal(blobs, 0);
	assert_int_equal(orph, 0);
	put(a, "descriptor.json", DESC, 0644);
	/* symlink escaping the folder */
	snprintf(p, sizeof(p), "%s/evil", a);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), BIA_EPERM);
	assert_non_null(strstr(e->ctx.msg, "outside"));
	unlink(p);
	/* a symlink inside is stored as the file it names */
	assert_int_equal(symlink("wrapper.py", p), 0);
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), 0);
	unlink(p);
	/* special file */
	snprintf(p, sizeof(p), "%s/fifo", a);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), BIA_EINVAL);
	assert_non_null(strstr(e->ctx.msg, "special file"));
	unlink(p);
	/* limits */
	struct bia_wf_add_opts o = {0};
	o.max_files = 1;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), BIA_ELIMIT);
	assert_non_null(strstr(e->ctx.msg, "too many files"));
	o.max_files = 0;
	o.max_file_bytes = 20;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), BIA_ELIMIT);
	assert_non_null(strstr(e->ctx.msg, "too large"));
	assert_int_equal(nversions(e), 1);
	/* not a folder */
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, "/nonexistent/x", NULL, &r),
			 BIA_ENOENT);
}

static void test_image_archive(void **state)
{
	struct env *e = *state;
	char a[128], c[128], h[128], tar[128];
	struct bia_wf_added r;
	struct bia_wf_add_opts o = {0};
	snprintf(a, sizeof(a), "%s/a", e->dir);
	snprintf(c, sizeof(c), "%s/c", e->dir);
	snprintf(h, sizeof(h), "%s/h", e->dir);
	snprintf(tar, sizeof(tar), "%s/w.tar", e->dir);
	put(e->dir, "w.tar", "not really a tar\n", 0644);
	put(a, "descriptor.json", DESC_IMAGE, 0644);
	put(c, "descriptor.json", DESC_CONTAINER, 0644);
	put(h, "descriptor.json", DESC, 0644);
	/* image environment whose archive is missing */
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, NULL, &r), BIA_ENOENT);
	assert_non_null(strstr(e->ctx.msg, "--image-archive"));
	o.image_archive = tar;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, a, &o, &r), 0);
	struct bia_wf_version v;
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Spots", &v), 0);
	assert_int_equal(v.nfiles, 2);
	assert_string_equal(v.files[1].path, "img/w.tar");
	bia_wf_version_release(&v);
	/* container-image: the default path */
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, c, &o, &r), 0);
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Cont", &v), 0);
	assert_int_equal(v.nfiles, 2);
	assert_string_equal(v.files[0].path, BIA_WF_DEFAULT_ARCHIVE);
	bia_wf_version_release(&v);
	/* the archive takes part in the digest */
	struct bia_wf_added r2;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, c, NULL, &r2), 0);
	assert_string_not_equal(r2.digest, r.digest);
	/* a host workflow has no image */
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, h, &o, &r), BIA_EINVAL);
	assert_non_null(strstr(e->ctx.msg, "--image-archive"));
}

/* ---------------------------------------------------------------- git */

static void git_ok(int rc)
{
	if (rc) {
		const git_error *ge = git_error_last();
		fail_msg("libgit2: %s", ge ? ge->message : "?");
	}
}

/* Commit a tree of descriptor.json + wrapper.py (+ bin/run.sh executable). */
static void commit(git_repository *repo, const char *wrapper, git_oid *out)
{
	git_oid bd, bw, br, sub, tree_id;
	git_ok(git_blob_create_from_buffer(&bd, repo, DESC, strlen(DESC)));
	git_ok(git_blob_create_from_buffer(&bw, repo, wrapper, strlen(wrapper)));
	git_ok(git_blob_create_from_buffer(&br, repo, "#!/bin/sh\n", 10));
	git_treebuilder *tb;
	git_ok(git_treebuilder_new(&tb, repo, NULL));
	git_ok(git_treebuilder_insert(NULL, tb, "run.sh", &br, GIT_FILEMODE_BLOB_EXECUTABLE));
	git_ok(git_treebuilder_write(&sub, tb));
	git_treebuilder_free(tb);
	git_ok(git_treebuilder_new(&tb, repo, NULL));
	git_ok(git_treebuilder_insert(NULL, tb, "descriptor.json", &bd, GIT_FILEMODE_BLOB));
	git_ok(git_treebuilder_insert(NULL, tb, "wrapper.py", &bw, GIT_FILEMODE_BLOB));
	git_ok(git_treebuilder_insert(NULL, tb, "bin", &sub, GIT_FILEMODE_TREE));
	git_ok(git_treebuilder_write(&tree_id, tb));
	git_treebuilder_free(tb);
	git_tree *tree;
	git_ok(git_tree_lookup(&tree, repo, &tree_id));
	git_signature *sig;
	git_ok(git_signature_new(&sig, "T", "t@example.org", 1700000000, 0));
	git_commit *parent = NULL;
	git_reference *head = NULL;
	if (!git_repository_head(&head, repo))
		git_ok(git_commit_lookup(&parent, repo, git_reference_target(head)));
	const git_commit *parents[1] = {parent};
	git_ok(git_commit_create(out, repo, "HEAD", sig, sig, NULL, "c", tree, parent ? 1 : 0,
				 parents));
	git_commit_free(parent);
	git_reference_free(head);
	git_signature_free(sig);
	git_tree_free(tree);
}

static void tag(git_repository *repo, const char *name, const git_oid *commit_id, int annotated,
		int force)
{
	git_object *obj;
	git_oid tid;
	git_ok(git_object_lookup(&obj, repo, commit_id, GIT_OBJECT_COMMIT));
	if (annotated) {
		git_signature *sig;
		git_ok(git_signature_new(&sig, "T", "t@example.org", 1700000000, 0));
		git_ok(git_tag_create(&tid, repo, name, obj, sig, "release", force));
		git_signature_free(sig);
	} else {
		git_ok(git_tag_create_lightweight(&tid, repo, name, obj, force));
	}
	git_object_free(obj);
}

static void test_git(void **state)
{
	struct env *e = *state;
	char rdir[128];
	snprintf(rdir, sizeof(rdir), "%s/repo", e->dir);
	git_libgit2_init();
	git_repository *repo;
	git_ok(git_repository_init(&repo, rdir, 0));
	git_oid c1, c2, c3;
	commit(repo, "print(1)\n", &c1);
	tag(repo, "v1", &c1, 0, 0);
	commit(repo, "print(2)\n", &c2);
	tag(repo, "v2", &c2, 1, 0);

	assert_true(bia_workflow_is_git(rdir));
	assert_false(bia_workflow_is_git(e->inst_dir));
	struct bia_wf_added *v;
	size_t n;
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, rdir, NULL, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].version, "v1");
	assert_string_equal(v[1].version, "v2");
	assert_int_equal(v[0].existed, 0);
	assert_int_equal(v[1].existed, 0);
	assert_string_equal(v[0].name, "Thresh");
	free(v);

	struct bia_wf_version w;
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh@v1", &w), 0);
	assert_int_equal(w.nfiles, 3);
	assert_string_equal(w.files[0].path, "bin/run.sh");
	assert_int_equal(w.files[0].mode, 0755);
	assert_string_equal(w.files[2].path, "wrapper.py");
	char d1[BIA_SHA256_HEX];
	bia_sha256_hex("print(1)\n", 9, d1);
	assert_string_equal(w.files[2].digest, d1);
	assert_non_null(strstr(w.source, "#v1"));
	assert_string_equal(w.descriptor, DESC);
	/* the same tree as a folder has the same digest */
	char wt[128];
	snprintf(wt, sizeof(wt), "%s/wt", e->dir);
	put(wt, "descriptor.json", DESC, 0644);
	put(wt, "wrapper.py", "print(1)\n", 0644);
	put(wt, "bin/run.sh", "#!/bin/sh\n", 0755);
	struct bia_wf_added fr;
	assert_int_equal(bia_workflow_add_folder(&e->ctx, &e->inst, wt, NULL, &fr), 0);
	assert_string_equal(fr.digest, w.digest);
	bia_wf_version_release(&w);

	char src[512];
	/* the newest version came from a folder: the repository is still found */
	assert_int_equal(bia_workflow_git_source(&e->ctx, &e->inst, "Thresh", src, sizeof(src)), 0);
	assert_int_equal(bia_workflow_git_source(&e->ctx, &e->inst, "Nope", src, sizeof(src)),
			 BIA_ENOENT);
	/* sync after a third tag adds one version */
	commit(repo, "print(3)\n", &c3);
	tag(repo, "v3", &c3, 0, 0);
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, rdir, NULL, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].existed, 1);
	assert_int_equal(v[1].existed, 1);
	assert_int_equal(v[2].existed, 0);
	assert_true(v[2].id > 0);
	free(v);
	assert_int_equal(bia_workflow_get(&e->ctx, &e->inst, "Thresh", &w), 0);
	assert_string_equal(w.version, "v3");
	bia_wf_version_release(&w);
	assert_int_equal(bia_workflow_git_source(&e->ctx, &e->inst, "Thresh", src, sizeof(src)), 0);
	char real[4096];
	assert_non_null(realpath(rdir, real));
	assert_string_equal(src, real);

	/* a moved tag is refused, the others are kept */
	tag(repo, "v1", &c3, 0, 1);
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, rdir, NULL, &v, &n), BIA_EEXIST);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].rc, BIA_EEXIST);
	assert_non_null(strstr(v[0].msg, "immutable"));
	assert_int_equal(v[1].rc, 0);
	assert_int_equal(v[1].existed, 1);
	free(v);
	size_t blobs, orph;
	fsck_counts(e, &blobs, &orph);
	assert_int_equal(orph, 0);

	/* URLs and non-repositories */
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, "https://github.com/a/b", NULL, &v,
					      &n),
			 BIA_EUNSUPPORTED);
	assert_non_null(strstr(e->ctx.msg, "clone it first"));
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, "git@github.com:a/b.git", NULL, &v,
					      &n),
			 BIA_EUNSUPPORTED);
	assert_int_equal(bia_workflow_add_git(&e->ctx, &e->inst, wt, NULL, &v, &n), BIA_EINVAL);
	assert_null(v);

	git_repository_free(repo);
	git_libgit2_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immutable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_git, setup, teardown),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
