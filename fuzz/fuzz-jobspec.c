/* libFuzzer target: the files a SLURM job carries between worker and
 * node: the sandbox spec file parser (and its round trip through JSON),
 * and the executor's job ids and squeue/sacct answers.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "runs/runs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_exec_spec_file f;
	if (bia_exec_spec_parse(&ctx, (const char *)data, size, &f) == 0) {
		/* what parses must write back and parse to the same spec */
		json_t *j = bia_exec_spec_json(&f.spec);
		char *text = json_dumps(j, JSON_COMPACT);
		struct bia_exec_spec_file g;
		if (!text || bia_exec_spec_parse(&ctx, text, strlen(text), &g))
			abort();
		if (g.spec.limits.max_procs != f.spec.limits.max_procs || g.spec.uid != f.spec.uid ||
		    strcmp(g.spec.argv[0], f.spec.argv[0]))
			abort();
		bia_exec_spec_file_release(&g);
		free(text);
		json_decref(j);
		bia_exec_spec_file_release(&f);
	}
	/* the same bytes as a job id, and as squeue/sacct rows of one */
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct bia_slurm_job job;
	if (bia__slurm_job_parse(s, &job) == 0 && job.nids == 0)
		abort();
	struct bia_slurm_job k = {.cluster = "c", .epoch = 1, .name = "bia-r1-a1-00", .nids = 2,
				  .ids = {7, 8}};
	struct bia_slurm_info info[BIA_SLURM_MAX_BATCHES];
	memset(info, 0, sizeof(info));
	bia__slurm_rows(&k, s, 1, info);
	(void)bia__slurm_state(&k, info);
	free(s);
	return 0;
}
