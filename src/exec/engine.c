/* Container engines: a descriptor's `container-image` without an attached
 * archive is exported from a local Docker / Podman (`save`), never pulled
 * and never run by the engine; the archive is then unpacked and run in our
 * own sandbox like an attached one. See docs/exec.md "Container engines".
 * SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"

#define OUT_KEEP 4096	/* bytes of an engine's output kept */
#define REASON_MAX 200	/* bytes of one engine's reason in the final message */

/* One line of text from an engine's output: whitespace runs (newlines
 * included) become one space, trimmed, at most max bytes ("..." added). */
static void tidy(const char *in, char *out, size_t max)
{
	size_t k = 0;
	int space = 0;
	for (const char *s = in; *s && k + 4 < max; s++) {
		unsigned char c = (unsigned char)*s;
		if (isspace(c) || c < 0x20) {
			space = k > 0;
			continue;
		}
		if (space) {
			out[k++] = ' ';
			space = 0;
		}
		out[k++] = (char)c;
	}
	out[k] = 0;
	if (k + 4 >= max && max > 4)
		snprintf(out + k, max - k, "...");
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *h = hay; *h; h++)
		if (!strncasecmp(h, needle, n))
			return 1;
	return 0;
}

/* An image reference we pass to an engine as one argument: never an
 * option (no leading '-'), only the characters of a reference
 * (registry[:port]/name[:tag][@sha256:digest]). */
static int image_ok(const char *image)
{
	if (!image || !*image || image[0] == '-' || strlen(image) > 512)
		return 0;
	for (const char *s = image; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-/:@", *s))
			return 0;
	return 1;
}

/* Probe one docker-like engine: 0 and eng->id when it has the image, else
 * -1 with why. */
static int probe(const char *name, const char *image, struct bia_engine *eng, char *why,
		 size_t whysz)
{
	memset(eng, 0, sizeof(*eng));
	snprintf(eng->name, sizeof(eng->name), "%s", name);
	if (!bia_find_on_path(name, eng->path, sizeof(eng->path))) {
		snprintf(why, whysz, "not installed (not on PATH)");
		return -1;
	}
	char *argv[] = {eng->path, "image", "inspect", "--format", "{{.Id}}", (char *)image, NULL};
	char rout[OUT_KEEP];
	struct bia_cmd_result r = {.out = rout, .outsz = sizeof(rout)};
	bia_cmd_run(argv, BIA_ENGINE_PROBE_SECONDS, &r);
	char msg[REASON_MAX];
	tidy(r.out, msg, sizeof(msg));
	if (!r.spawned) {
		snprintf(why, whysz, "cannot start %s: %s", eng->path, strerror(r.err));
		return -1;
	}
	if (r.timed_out) {
		snprintf(why, whysz, "did not answer within %d s (daemon not reachable?)",
			 BIA_ENGINE_PROBE_SECONDS);
		return -1;
	}
	int code = bia_cmd_exit_code(&r);
	if (code == 0) {
		const char *id = msg;
		if (!strncmp(id, "sha256:", 7))
			id += 7;
		if (strlen(id) == BIA_SHA256_HEX - 1 && bia_is_sha256_hex(id))
			memcpy(eng->id, id, BIA_SHA256_HEX);
		return 0;
	}
	if (contains_ci(r.out, "no such image") || contains_ci(r.out, "no such object") ||
	    contains_ci(r.out, "image not known") || contains_ci(r.out, "unable to find"))
		snprintf(why, whysz, "image '%s' is not present locally (run '%s pull %s' first)",
			 image, name, image);
	else if (contains_ci(r.out, "daemon") || contains_ci(r.out, "cannot connect") ||
		 contains_ci(r.out, "connection refused") || contains_ci(r.out, ".sock"))
		snprintf(why, whysz, "daemon not reachable (%s)", msg);
	else
		snprintf(why, whysz, "'%s image inspect' failed (exit %d)%s%s", name, code,
			 msg[0] ? ": " : "", msg);
	return -1;
}

int bia_engine_find(struct bia_ctx *ctx, const char *image, const char *type,
		    struct bia_engine *eng)
{
	memset(eng, 0, sizeof(*eng));
	if (!image_ok(image))
		return bia_fail(ctx, BIA_EINVAL,
				"container image '%s': not a valid image reference",
				image ? image : "");
	int docker_type = type && !strcmp(type, "docker");
	struct bia_buf tried;
	bia_buf_init(&tried, 4096);
	if (!docker_type) {
		/* SIF images are not exported: their runscript and environment
		 * would have to be run by the engine, outside our sandbox */
		static const char *const sif[] = {"apptainer", "singularity"};
		for (size_t i = 0; i < 2; i++) {
			char p[BIA_PATH_MAX];
			bia_buf_addf(&tried, "%s%s: %s", tried.len ? "; " : "", sif[i],
				     bia_find_on_path(sif[i], p, sizeof(p))
					     ? "installed, but not supported (SIF images cannot "
					       "run in the biaflows sandbox)"
					     : "not installed (not on PATH)");
		}
	}
	static const char *const dock[] = {"docker", "podman"};
	for (size_t i = 0; i < 2; i++) {
		char why[REASON_MAX + 128];
		if (probe(dock[i], image, eng, why, sizeof(why)) == 0) {
			bia_buf_release(&tried);
			return BIA_OK;
		}
		bia_buf_addf(&tried, "%s%s: %s", tried.len ? "; " : "", dock[i], why);
	}
	int rc = bia_fail(ctx, BIA_EUNSUPPORTED,
			  "container image '%s': no container engine can provide it (tried %s)",
			  image, tried.len ? tried.buf : "nothing");
	bia_buf_release(&tried);
	memset(eng, 0, sizeof(*eng));
	return rc;
}

int bia_engine_save(struct bia_ctx *ctx, const struct bia_engine *eng, const char *image,
		    const char *out_archive)
{
	if (!image_ok(image))
		return bia_fail(ctx, BIA_EINVAL, "container image '%s': not a valid image reference",
				image ? image : "");
	char *dargv[] = {(char *)eng->path, "save", "-o", (char *)out_archive, (char *)image, NULL};
	char *pargv[] = {(char *)eng->path, "save", "--format", "docker-archive", "-o",
			 (char *)out_archive, (char *)image, NULL};
	char *const *argv = strcmp(eng->name, "podman") ? dargv : pargv;
	char rout[OUT_KEEP];
	struct bia_cmd_result r = {.out = rout, .outsz = sizeof(rout)};
	bia_cmd_run(argv, BIA_ENGINE_SAVE_SECONDS, &r);
	char msg[REASON_MAX * 2];
	tidy(r.out, msg, sizeof(msg));
	int rc = BIA_OK;
	struct stat st;
	if (!r.spawned)
		rc = bia_fail(ctx, BIA_EIO, "%s: cannot start %s: %s", eng->name, eng->path,
			      strerror(r.err));
	else if (r.timed_out)
		rc = bia_fail(ctx, BIA_EIO, "%s save '%s': killed after %d s", eng->name, image,
			      BIA_ENGINE_SAVE_SECONDS);
	else if (bia_cmd_exit_code(&r) != 0)
		rc = bia_fail(ctx, BIA_EIO, "%s save '%s' failed (exit %d)%s%s", eng->name, image,
			      bia_cmd_exit_code(&r), msg[0] ? ": " : "", msg);
	else if (stat(out_archive, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
		rc = bia_fail(ctx, BIA_EIO, "%s save '%s' wrote no archive at '%s'%s%s", eng->name,
			      image, out_archive, msg[0] ? ": " : "", msg);
	if (rc)
		unlink(out_archive);
	return rc;
}

int bia_engine_export(struct bia_ctx *ctx, const char *image, const char *type,
		      const char *out_archive, char engine_used[BIA_ENGINE_NAME_MAX])
{
	struct bia_engine eng;
	if (bia_engine_find(ctx, image, type, &eng) ||
	    bia_engine_save(ctx, &eng, image, out_archive))
		return ctx->rc;
	if (engine_used)
		snprintf(engine_used, BIA_ENGINE_NAME_MAX, "%s", eng.name);
	return BIA_OK;
}

int bia_engine_image(struct bia_ctx *ctx, const char *image, const char *type,
		     const char *envs_dir, struct bia_oci_image *out,
		     char engine_used[BIA_ENGINE_NAME_MAX], int *reused)
{
	memset(out, 0, sizeof(*out));
	if (reused)
		*reused = 0;
	struct bia_engine eng;
	if (bia_engine_find(ctx, image, type, &eng) || bia_mkdir_p(ctx, envs_dir))
		return ctx->rc;
	if (engine_used)
		snprintf(engine_used, BIA_ENGINE_NAME_MAX, "%s", eng.name);
	/* the image id of docker (classic store) and podman is its config
	 * digest: an image unpacked before is used without exporting it */
	if (eng.id[0]) {
		struct bia_ctx c2;
		bia_ctx_init(&c2);
		if (bia_oci_image_cached(&c2, envs_dir, eng.id, out) == BIA_OK) {
			if (reused)
				*reused = 1;
			return BIA_OK;
		}
	}
	char dir[BIA_PATH_MAX], archive[BIA_PATH_MAX + 16];
	if (snprintf(dir, sizeof(dir), "%s/.export-XXXXXX", envs_dir) >= (int)sizeof(dir))
		return bia_fail(ctx, BIA_EINVAL, "environments folder '%s': path too long", envs_dir);
	if (!mkdtemp(dir))
		return bia_fail(ctx, BIA_EIO, "cannot create an export folder in '%s': %s", envs_dir,
				strerror(errno));
	snprintf(archive, sizeof(archive), "%s/image.tar", dir);
	int rc = bia_engine_save(ctx, &eng, image, archive);
	if (!rc)
		rc = bia_oci_unpack(ctx, archive, envs_dir, out);
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	(void)bia_rm_rf(&c2, dir);
	return rc;
}
