/* Fuzz target: whole HTTP requests to a live `biaflows serve` in this
 * process (request line and routing, query strings, headers, JSON bodies,
 * multipart forms, uploads). The first input starts a server on a
 * temporary instance (a problem, an admin and a token); each input is
 * sent as raw bytes on a new connection ("@T@" becomes the admin's token)
 * and the answer read. The request line's method and path also go through
 * the router directly.
 * SPDX-License-Identifier: MIT */
#include "auth/auth.h"
#include "dataset/dataset.h"
#include "server/server.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
	int started;
	char dir[256];
	char token[BIA_SECRET_MAX];
	unsigned port;
	struct bia_instance inst;
	atomic_int stop;
	int wake[2];
	pthread_t thread;
} S;

static void ready(void *user, const char *addr, unsigned port)
{
	(void)user;
	(void)addr;
	S.port = port;
}

static void *serve_main(void *arg)
{
	(void)arg;
	struct bia_ctx ctx;
	bia_instance_ctx(&S.inst, &ctx);
	char web[300];
	snprintf(web, sizeof(web), "%s/web", S.dir);
	struct bia_serve_opts o = {.listen = "127.0.0.1:0", .threads = 2, .no_worker = 1,
				   .grace_ms = 2000, .ready = ready, .web_dir = web};
	if (bia_serve(&ctx, &S.inst, &o, &S.stop, S.wake[0]))
		fprintf(stderr, "fuzz-http: %s\n", ctx.msg);
	return NULL;
}

static void stop_server(void)
{
	atomic_store(&S.stop, 1);
	if (write(S.wake[1], "x", 1) < 0)
		return;
	pthread_join(S.thread, NULL);
	bia_instance_close(&S.inst);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	bia_rm_rf(&ctx, S.dir);
	close(S.wake[0]);
	close(S.wake[1]);
}

static int start(void)
{
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	signal(SIGPIPE, SIG_IGN);
	snprintf(S.dir, sizeof(S.dir), "/tmp/bia-fuzz-http-XXXXXX");
	if (!mkdtemp(S.dir))
		return -1;
	char inst[300];
	snprintf(inst, sizeof(inst), "%s/inst", S.dir);
	if (bia_instance_create(&ctx, inst) || bia_instance_open(&ctx, inst, &S.inst))
		return -1;
	struct bia_problem p = {.cls = BIA_OBJSEG};
	snprintf(p.name, sizeof(p.name), "p");
	p.description = "";
	struct bia_user u = {.role = BIA_ROLE_ADMIN};
	snprintf(u.name, sizeof(u.name), "adm");
	char hash[BIA_PWHASH_MAX];
	json_t *t;
	if (bia_problem_add(&ctx, &S.inst, &p) || bia_password_hash(&ctx, "fuzz-password", hash) ||
	    bia_user_add(&ctx, &S.inst, &u, hash) || bia_token_create(&ctx, &S.inst, "adm", "", &t))
		return -1;
	snprintf(S.token, sizeof(S.token), "%s", json_string_value(json_object_get(t, "token")));
	json_decref(t);
	/* an image with ground truth: /zarr, /iiif and overlays have content
	 * (its pyramids are built here, before serving) */
	struct bia_image img, gt;
	bia_image_init(&img);
	bia_image_init(&gt);
	char ip[400], gp[400];
	snprintf(ip, sizeof(ip), "%s/img.tif", S.dir);
	snprintf(gp, sizeof(gp), "%s/gt.tif", S.dir);
	if (bia_image_alloc(&ctx, &img, 300, 200, 1, 1, 1, BIA_U16) ||
	    bia_image_alloc(&ctx, &gt, 300, 200, 1, 1, 1, BIA_U16))
		return -1;
	for (size_t i = 0; i < 300 * 200; i++) {
		((uint16_t *)img.data)[i] = (uint16_t)(i * 37 % 4096);
		((uint16_t *)gt.data)[i] = (uint16_t)((i % 300) / 30 + 1);
	}
	struct bia_tiff_write_opts wo = {0};
	int wrc = bia_image_write_tiff(&ctx, &img, ip, &wo) || bia_image_write_tiff(&ctx, &gt, gp, &wo);
	bia_image_release(&img);
	bia_image_release(&gt);
	char *files[] = {ip};
	struct bia_import_result r;
	bia_import_result_init(&r);
	struct bia_import_opts io = {0};
	struct bia_image_rec im;
	if (wrc || bia_images_add(&ctx, &S.inst, &p, files, 1, &io, &r) ||
	    bia_image_resolve(&ctx, &S.inst, "1", &im))
		return -1;
	bia_import_result_release(&r);
	char *gfiles[] = {gp};
	bia_import_result_init(&r);
	if (bia_gt_add(&ctx, &S.inst, &im, gfiles, 1, &io, &r))
		return -1;
	bia_import_result_release(&r);
	/* a small web app: pages and assets have content */
	static const char *const web[][2] = {
		{"web/index.html", "<!doctype html><div id=app></div>\n"},
		{"web/assets/app-X1.js", "console.log(1)\n"},
		{"web/assets/app-X1.js.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00"},
		{"web/favicon.svg", "<svg/>\n"},
	};
	char wd[400];
	snprintf(wd, sizeof(wd), "%s/web/assets", S.dir);
	if (bia_mkdir_p(&ctx, wd))
		return -1;
	for (size_t i = 0; i < sizeof(web) / sizeof(web[0]); i++) {
		snprintf(wd, sizeof(wd), "%s/%s", S.dir, web[i][0]);
		FILE *f = fopen(wd, "w");
		if (!f || fputs(web[i][1], f) < 0 || fclose(f))
			return -1;
	}
	if (pipe(S.wake) || pthread_create(&S.thread, NULL, serve_main, NULL))
		return -1;
	for (int i = 0; i < 500 && !S.port; i++)
		usleep(10000);
	atexit(stop_server);
	return S.port ? 0 : -1;
}

/* The input with @T@ replaced by the token. */
static char *with_token(const uint8_t *data, size_t size, size_t *pn)
{
	size_t tl = strlen(S.token), cap = size + 1, n = 0;
	for (size_t i = 0; i + 3 <= size; i++)
		if (!memcmp(data + i, "@T@", 3))
			cap += tl;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (size_t i = 0; i < size;) {
		if (i + 3 <= size && !memcmp(data + i, "@T@", 3)) {
			memcpy(out + n, S.token, tl);
			n += tl;
			i += 3;
		} else {
			out[n++] = (char)data[i++];
		}
	}
	*pn = n;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!S.started) {
		S.started = 1;
		if (start()) {
			fprintf(stderr, "fuzz-http: cannot start the server\n");
			abort();
		}
	}
	/* the router alone: "METHOD PATH ..." */
	char line[512];
	size_t k = 0;
	while (k < size && k < sizeof(line) - 1 && data[k] != '\r' && data[k] != '\n') {
		line[k] = data[k] ? (char)data[k] : ' ';
		k++;
	}
	line[k] = '\0';
	char *sp = strchr(line, ' ');
	if (sp) {
		*sp = '\0';
		char *path = sp + 1, *end = strchr(path, ' '), *q;
		if (end)
			*end = '\0';
		if ((q = strchr(path, '?')))
			*q = '\0';
		size_t idx;
		bia_api_match(line, path, &idx);
	}
	/* the server */
	size_t n;
	char *req = with_token(data, size, &n);
	if (!req)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S.port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		shutdown(fd, SHUT_WR);
		char buf[65536];
		int got = 0; /* after an answer began, a pause ends it (keep-alive) */
		for (;;) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, got ? 50 : 1000) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
				break;
			got = 1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(req);
	return 0;
}
