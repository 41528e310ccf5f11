/* Replays fuzz inputs through a fuzz target without libFuzzer, so the
 * committed corpus runs in every test build (normal and sanitizers).
 * usage: replay-TARGET FILE_OR_DIR...   prints "replayed N inputs"
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one(const char *path, size_t *count)
{
	struct bia_ctx ctx;
	char *data;
	size_t len;
	bia_ctx_init(&ctx);
	if (bia_is_dir(path)) {
		DIR *d = opendir(path);
		struct dirent *e;
		int rc = 0;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char sub[BIA_PATH_MAX];
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rc |= one(sub, count);
		}
		if (d)
			closedir(d);
		return rc;
	}
	if (bia_read_file(&ctx, path, 64u << 20, &data, &len)) {
		fprintf(stderr, "replay: %s\n", ctx.msg);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= one(argv[i], &count);
	printf("replayed %zu inputs\n", count);
	return rc;
}
