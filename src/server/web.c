/* The web app: its pages and assets, served from the folder make builds
 * (build/web: index.html and assets/). Every page URL (/problems/x,
 * /images/3, ...) answers the app's index.html, which reads the URL and
 * asks the API for the rest; assets have content-hashed names and are
 * cached for ever. docs/web.md.
 * SPDX-License-Identifier: MIT */
#include "server/images_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The page URLs of the app ("*" one segment). Anything else that is not
 * the API or an image route is a 404 (the app says "page not found"). */
static const char *const pages[] = {
	"/",	       "/problems",  "/problems/*", "/problems/*/benchmark", "/images/*",
	"/compare",    "/workflows", "/workflows/*", "/runs",		     "/runs/*",
	"/login",      NULL,
};

static int page_match(const char *pat, const char *path)
{
	while (*pat && *path) {
		if (*pat == '*') {
			const char *e = strchr(path, '/');
			size_t n = e ? (size_t)(e - path) : strlen(path);
			if (!n)
				return 0;
			path += n;
			pat++;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	if (!strcmp(path, "/") && *pat == '\0' && path[-1] != '/')
		return 1; /* a trailing slash */
	return !*pat && !*path;
}

int web_is_page(const char *path)
{
	for (size_t i = 0; pages[i]; i++)
		if (page_match(pages[i], path))
			return 1;
	return 0;
}

void web_init(struct bia_server *s)
{
	const char *d = s->opts.web_dir;
	if (!d || !*d)
		d = getenv("BIAFLOWS_WEB");
	char exe[BIA_PATH_MAX];
	if (!d || !*d) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 5);
		if (n > 0) {
			exe[n] = '\0';
			char *slash = strrchr(exe, '/');
			if (slash) {
				strcpy(slash + 1, "web");
				d = exe;
			}
		}
	}
	s->web_dir[0] = '\0';
	char idx[BIA_PATH_MAX + 16];
	if (d && snprintf(idx, sizeof(idx), "%s/index.html", d) < (int)sizeof(idx) &&
	    !access(idx, R_OK))
		snprintf(s->web_dir, sizeof(s->web_dir), "%s", d);
}

static const char *type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} t[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".wasm", "application/wasm"},
		{".map", "application/json"},
		{".json", "application/json"},
		{".woff2", "font/woff2"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(dot, t[i].ext))
			return t[i].type;
	return "application/octet-stream";
}

/* What a page may load: its own scripts (zarr codecs compile WebAssembly),
 * styles, images, workers and API calls; nothing from elsewhere. */
#define CSP                                                                                        \
	"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' "             \
	"'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src "      \
	"'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

static int accepts_gzip(struct req *rq)
{
	const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Accept-Encoding");
	return h && strstr(h, "gzip");
}

/* Send file name of the web folder (a name checked by the caller). */
static int send_file(struct req *rq, const char *name, int status, int immutable)
{
	struct bia_server *s = rq->srv;
	char path[BIA_PATH_MAX + 64];
	int gz = 0, fd = -1;
	if (accepts_gzip(rq)) {
		snprintf(path, sizeof(path), "%s/%s.gz", s->web_dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		gz = fd >= 0;
	}
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/%s", s->web_dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return req_fail(rq, BIA_ENOENT, "no such file of the web app: %s", name);
	}
	char etag[96];
	snprintf(etag, sizeof(etag), "\"w%llx-%llx%s\"", (unsigned long long)st.st_mtime,
		 (unsigned long long)st.st_size, gz ? "-gz" : "");
	const char *cache = immutable ? "public, max-age=31536000, immutable" : "no-cache";
	struct MHD_Response *r;
	if (status == 200 && img_etag_match(rq, etag)) {
		close(fd);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		status = 304;
	} else {
		r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
		if (!r)
			close(fd);
	}
	if (!r)
		return req_fail(rq, BIA_ENOMEM, "out of memory");
	MHD_add_response_header(r, "Content-Type", type_of(name));
	MHD_add_response_header(r, "Cache-Control", cache);
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	if (!strcmp(name, "index.html")) {
		MHD_add_response_header(r, "Content-Security-Policy", CSP);
		MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	}
	rq->resp = r;
	rq->status = status;
	return status;
}

static int asset_name_ok(const char *s)
{
	if (!*s || s[0] == '.' || strlen(s) > 200)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int web_handle(struct req *rq)
{
	struct bia_server *s = rq->srv;
	if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
		snprintf(rq->allow, sizeof(rq->allow), "GET, HEAD");
		return req_not_allowed(rq, " (the web app's pages)");
	}
	if (!s->web_dir[0])
		return req_fail(rq, BIA_ENOENT,
				"no route %s %s: the web app is not built (run make; or serve "
				"--web DIR) and the API is under %s",
				rq->method, rq->path, API_PREFIX);
	if (!strncmp(rq->path, "/assets/", 8)) {
		const char *name = rq->path + 8;
		if (!asset_name_ok(name))
			return req_fail(rq, BIA_ENOENT, "no such file of the web app: %s", name);
		char rel[256];
		snprintf(rel, sizeof(rel), "assets/%s", name);
		return send_file(rq, rel, 200, 1);
	}
	if (!strcmp(rq->path, "/favicon.ico"))
		return send_file(rq, "favicon.svg", 200, 0);
	return send_file(rq, "index.html", web_is_page(rq->path) ? 200 : 404, 0);
}
