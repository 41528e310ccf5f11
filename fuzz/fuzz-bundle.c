/* libFuzzer target: what an import reads from a bundle. The input is a
 * bundle manifest (checked by bia_bundle_manifest_parse) and, at once, a
 * record line fed to the store's import after a valid problem and image
 * (its kind chosen by the first byte), in a transaction that is always
 * undone; and, as a file, a whole bundle given to bia_bundle_import.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exchange/exchange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bia_instance inst;
static int have_inst;
static char root[64];

static void cleanup(void)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_instance_close(&inst);
	bia_rm_rf(&ctx, root);
}

static void setup(void)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	snprintf(root, sizeof(root), "/tmp/bia-fuzz-bundle-%ld", (long)getpid());
	unsetenv("BIAFLOWS_DATABASE");
	if (bia_instance_create(&ctx, root) || bia_instance_open(&ctx, root, &inst))
		abort();
	have_inst = 1;
	atexit(cleanup);
	/* a blob the image record below names */
	char dg[BIA_SHA256_HEX];
	if (bia_blob_put_mem(&ctx, &inst, "x", 1, dg, NULL))
		abort();
}

static const char *const kinds[] = {"problem", "image", "gt", "workflow", "run", "run_image"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	if (!have_inst)
		setup();
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	json_t *m = bia_bundle_manifest_parse(&ctx, (const char *)data, size);
	json_decref(m);

	/* one record after a problem and an image that parse */
	if (size >= 1) {
		static const char prob[] =
			"{\"ref\":1,\"name\":\"p\",\"class\":\"ObjSeg\",\"description\":\"\","
			"\"main_metric\":\"\",\"params\":\"{}\",\"created\":\"2026-01-01T00:00:00Z\","
			"\"private\":false}";
		char img[600];
		char dg[BIA_SHA256_HEX];
		bia_sha256_hex("x", 1, dg);
		snprintf(img, sizeof(img),
			 "{\"ref\":1,\"problem\":1,\"stem\":\"a\",\"original_name\":\"a.tif\","
			 "\"digest\":\"%s\",\"bytes\":1,\"format\":\"tiff\",\"layout\":\"plain\","
			 "\"size\":[1,1,1,1,1],\"dtype\":\"uint8\",\"phys\":[0,0,0],"
			 "\"created\":\"2026-01-01T00:00:00Z\"}",
			 dg);
		struct bia_ximport *x;
		struct bia_ximport_result res;
		if (bia_store_ximport_begin(&ctx, &inst, &x) == 0) {
			json_t *p = json_loads(prob, 0, NULL), *i = json_loads(img, 0, NULL);
			if (bia_store_ximport_blob(&ctx, x, dg, 1) ||
			    bia_store_ximport_record(&ctx, x, "problem", p, &res) ||
			    bia_store_ximport_record(&ctx, x, "image", i, &res))
				{ fprintf(stderr, "%s\n", ctx.msg); abort(); } /* valid records must import */
			json_decref(p);
			json_decref(i);
			json_t *r = bia_json_parse(&ctx, "record", (const char *)data + 1, size - 1);
			if (r)
				bia_store_ximport_record(&ctx, x, kinds[data[0] % 6], r, &res);
			json_decref(r);
			bia_store_ximport_abort(x);
		}
	}

	/* the bytes as a bundle file */
	char path[128];
	snprintf(path, sizeof(path), "%s/input.tar", root);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		struct bia_bundle_import_report rep;
		bia_ctx_init(&ctx);
		if (bia_bundle_import(&ctx, &inst, path, NULL, &rep) == 0)
			bia_bundle_import_report_release(&rep);
		unlink(path);
	}
	return 0;
}
