/* libFuzzer target: OCI image layout and `docker save` archives (index,
 * manifests, config, layer digests, whiteouts, hostile paths), unpacked
 * into a private temporary folder with small bounds.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "exec/exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/bia-fuzz-oci-XXXXXX", archive[64], envs[64];
	if (!mkdtemp(dir))
		return 0;
	snprintf(archive, sizeof(archive), "%s/a.tar", dir);
	snprintf(envs, sizeof(envs), "%s/envs", dir);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	FILE *f = fopen(archive, "wb");
	if (f) {
		if (fwrite(data, 1, size, f) == size && fclose(f) == 0) {
			struct bia_oci_limits lim = {UINT64_C(16) << 20, 2000};
			struct bia_oci_image img;
			if (bia_oci_unpack_limits(&ctx, archive, envs, &lim, &img) == 0)
				bia_oci_image_release(&img);
		} else {
			fclose(f);
		}
	}
	bia_ctx_clear(&ctx);
	(void)bia_rm_rf(&ctx, dir);
	return 0;
}
