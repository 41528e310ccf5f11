/* The stored outputs of a run written back as files (`run outputs`).
 * SPDX-License-Identifier: MIT */
#include "runs/runs.h"

#include <dirent.h>
#include <string.h>

int bia_run_outputs_write(struct bia_ctx *ctx, struct bia_instance *inst, int64_t id,
			  const char *dir, size_t *pfiles)
{
	*pfiles = 0;
	struct bia_run r;
	if (bia_store_run_get(ctx, inst, id, &r))
		return ctx->rc;
	bia_run_release(&r);
	if (bia_mkdir_p(ctx, dir))
		return ctx->rc;
	/* never mixed with other files: the folder is the run's outputs */
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	if (!empty)
		return bia_fail(ctx, BIA_EEXIST, "output folder '%s' is not empty", dir);
	struct bia_run_image *ri;
	size_t n;
	if (bia_store_run_images(ctx, inst, id, &ri, &n))
		return ctx->rc;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		for (size_t k = 0; k < ri[i].nfiles && !rc; k++) {
			char dst[BIA_PATH_MAX];
			if (!(rc = bia_path_join(ctx, dst, sizeof(dst), dir, ri[i].files[k].name)) &&
			    !(rc = bia_blob_copy_out(ctx, inst, ri[i].files[k].digest, dst)))
				(*pfiles)++;
		}
	bia_run_images_free(ri, n);
	return rc;
}
