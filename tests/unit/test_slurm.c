/* The SLURM executor's reading of SLURM: its job ids, the rows squeue and
 * sacct print (a reused job id under another name is not ours; a job in
 * neither is unknown, never ended), the spec files jobs carry, and the
 * run overrides that become sbatch options. The executor against a real
 * cluster is tests/cli/t_slurm.sh.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "runs/runs_int.h"

static void test_job_ids(void **state)
{
	(void)state;
	struct bia_slurm_job j;
	assert_int_equal(bia__slurm_job_parse("slurm:biaflows:1796655401:bia-r2-a1-9941:7,8,9", &j),
			 0);
	assert_string_equal(j.cluster, "biaflows");
	assert_int_equal(j.epoch, 1796655401);
	assert_string_equal(j.name, "bia-r2-a1-9941");
	assert_int_equal(j.nids, 3);
	assert_int_equal(j.ids[0], 7);
	assert_int_equal(j.ids[2], 9);
	assert_int_equal(bia__slurm_job_parse("slurm:c:1:n:42", &j), 0);
	assert_int_equal(j.nids, 1);
	assert_int_equal(j.ids[0], 42);
	static const char *const bad[] = {
		"local:vm:1:2:3",	     /* another executor's */
		"slurm:c:1:n:",		     /* no job id: never submitted */
		"slurm:c:1:n:7,",	     /* trailing comma */
		"slurm:c:1:n:7,,8",	     /* empty id */
		"slurm:c:1:n:0",	     /* ids are positive */
		"slurm:c:1:n:7x",	     /* not a number */
		"slurm:c:x:n:7",	     /* epoch */
		"slurm:c:-5:n:7",	     /* negative epoch */
		"slurm::1:n:7",		     /* no cluster */
		"slurm:c:1:na me:7",	     /* a name sbatch would not keep */
		"slurm:c:1:n;rm:7",	     /* nor this */
		"slurm:c:1:n",		     /* no id field */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bia__slurm_job_parse(bad[i], &j), -1);
	/* at most BIA_SLURM_MAX_BATCHES ids */
	char many[2048] = "slurm:c:1:n:";
	for (int i = 1; i <= BIA_SLURM_MAX_BATCHES + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i > 1 ? "," : "",
			 i);
	assert_int_equal(bia__slurm_job_parse(many, &j), -1);
}

static struct bia_slurm_job job2(void)
{
	struct bia_slurm_job j = {.cluster = "c", .epoch = 100, .name = "bia-r5-a1-aa", .nids = 2,
				  .ids = {41, 42}};
	return j;
}

static void test_rows_and_state(void **state)
{
	(void)state;
	struct bia_slurm_job j = job2();
	struct bia_slurm_info in[BIA_SLURM_MAX_BATCHES];

	/* squeue: one running, one pending -> active */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j, "41|bia-r5-a1-aa|RUNNING\n42|bia-r5-a1-aa|PENDING\n", 0, in);
	assert_true(in[0].found && in[0].active && in[1].found && in[1].active);
	assert_string_equal(in[0].state, "RUNNING");
	assert_int_equal(bia__slurm_state(&j, in), BIA_JOB_ACTIVE);

	/* sacct: both ended; exit codes "N:S"; "CANCELLED by 0" is CANCELLED */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j, "41|bia-r5-a1-aa|COMPLETED|0:0\n42|bia-r5-a1-aa|CANCELLED by 0|0:15\n",
			1, in);
	assert_false(in[0].active);
	assert_string_equal(in[1].state, "CANCELLED");
	assert_int_equal(in[1].exit_code, 0);
	assert_int_equal(in[1].exit_signal, 15);
	assert_int_equal(bia__slurm_state(&j, in), BIA_JOB_ENDED);

	/* SLURM reused id 42 for someone else's job: not ours, so 42 is
	 * unknown and the job is not ended (never a success by mistake) */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j, "41|bia-r5-a1-aa|COMPLETED|0:0\n42|somebody-else|COMPLETED|0:0\n", 1,
			in);
	assert_true(in[0].found);
	assert_false(in[1].found);
	assert_int_equal(bia__slurm_state(&j, in), BIA_JOB_UNKNOWN);

	/* nothing known at all: unknown */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j, "", 1, in);
	assert_int_equal(bia__slurm_state(&j, in), BIA_JOB_UNKNOWN);

	/* one ended, one still running: active */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j, "41|bia-r5-a1-aa|FAILED|3:0\n42|bia-r5-a1-aa|COMPLETING|0:0\n", 1, in);
	assert_int_equal(in[0].exit_code, 3);
	assert_int_equal(bia__slurm_state(&j, in), BIA_JOB_ACTIVE);

	/* junk lines, ids of others, a longer id with our prefix, headers */
	memset(in, 0, sizeof(in));
	bia__slurm_rows(&j,
			"JobIDRaw|JobName|State|ExitCode\n411|bia-r5-a1-aa|COMPLETED|0:0\n"
			"garbage\n|||\n41|bia-r5-a1-aa\n41.batch|bia-r5-a1-aa|COMPLETED|0:0\n",
			1, in);
	assert_false(in[0].found);
	assert_false(in[1].found);
}

static void test_spec_file_round_trip(void **state)
{
	(void)state;
	char *argv[] = {"python3", "/app/run.py", "--t", "0.5", NULL};
	char *env[] = {"HOME=/tmp", NULL};
	struct bia_exec_spec s;
	bia_exec_spec_init(&s);
	s.argv = argv;
	s.env = env;
	s.app_dir = "/i/runs/3/app";
	s.in_dir = "/i/runs/3/in";
	s.out_dir = "/i/runs/3/out";
	s.limits.wall_seconds = 90.5;
	s.limits.memory_bytes = (uint64_t)3 << 30;
	s.limits.max_procs = 77;
	s.limits.max_open_files = 1024;
	s.limits.out_bytes = 12345;
	json_t *j = bia_exec_spec_json(&s);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_exec_spec_file f;
	assert_int_equal(bia_exec_spec_parse(&ctx, text, strlen(text), &f), 0);
	free(text);
	assert_string_equal(f.spec.argv[3], "0.5");
	assert_null(f.spec.argv[4]);
	assert_string_equal(f.spec.env[0], "HOME=/tmp");
	assert_string_equal(f.spec.out_dir, "/i/runs/3/out");
	assert_null(f.spec.rootfs);
	assert_true(f.spec.limits.wall_seconds == 90.5);
	assert_true(f.spec.limits.memory_bytes == (uint64_t)3 << 30);
	assert_int_equal(f.spec.limits.max_procs, 77);
	assert_int_equal(f.spec.uid, -1);
	assert_int_equal(f.spec.log_fd, -1); /* the node's own */
	bia_exec_spec_file_release(&f);

	static const char *const bad[] = {
		"[]",
		"{\"format\":\"other\",\"argv\":[\"x\"]}",
		"{\"format\":\"biaflows-exec-spec\"}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[]}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[1]}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[\"x\"],\"in_dir\":5}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[\"x\"],\"limits\":{\"max_procs\":-1}}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[\"x\"],\"uid\":\"root\"}",
		"{\"format\":\"biaflows-exec-spec\",\"argv\":[\"x\"],\"limits\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bia_ctx_clear(&ctx);
		assert_int_not_equal(bia_exec_spec_parse(&ctx, bad[i], strlen(bad[i]), &f), 0);
		assert_true(strstr(ctx.msg, "spec file") != NULL);
	}
}

static void test_overrides(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_run_overrides o;
	memset(&o, 0, sizeof(o));
	assert_int_equal(bia_run_override_set(&ctx, &o, "cpus", "4"), 0);
	assert_int_equal(bia_run_override_set(&ctx, &o, "gpus", "1"), 0);
	assert_int_equal(bia_run_override_set(&ctx, &o, "batch_size", "10"), 0);
	assert_int_equal(bia_run_override_set(&ctx, &o, "partition", "gpu-long"), 0);
	assert_int_equal(bia_run_override_set(&ctx, &o, "timeout", "10m"), 0);
	char *text = bia_run_overrides_json(&o);
	struct bia_run_overrides back;
	bia_run_overrides_parse(text, &back);
	free(text);
	assert_int_equal(back.cpus, 4);
	assert_int_equal(back.gpus, 1);
	assert_int_equal(back.batch_size, 10);
	assert_int_equal(back.timeout, 600);
	assert_string_equal(back.partition, "gpu-long");
	/* what a batch script could not carry, or sbatch would refuse */
	static const char *const bad[][2] = {
		{"partition", "a b"}, {"partition", "x'y"}, {"partition", "a%j"}, {"partition", ""},
		{"cpus", "0"},	      {"cpus", "99999"},    {"gpus", "-1"},	  {"batch_size", "0"},
		{"nodes", "2"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bia_ctx_clear(&ctx);
		assert_int_not_equal(bia_run_override_set(&ctx, &o, bad[i][0], bad[i][1]), 0);
		assert_true(strstr(ctx.msg, bad[i][0]) != NULL);
	}
	assert_string_equal(o.partition, "gpu-long"); /* a refused value changes nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_ids),
		cmocka_unit_test(test_rows_and_state),
		cmocka_unit_test(test_spec_file_round_trip),
		cmocka_unit_test(test_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
