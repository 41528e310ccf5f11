/* biaflows serve
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "server/server.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: biaflows serve [--listen ADDR:PORT] [--guest] [--threads N] [--no-worker]\n"
	"                      [--port-file FILE] [--header-timeout SECONDS]\n"
	"                      [--tile-cache MB] [--web DIR]\n"
	"\n"
	"Serve the instance's REST API under /api/v1 (docs/api.md), by default on\n"
	"127.0.0.1:8080 (port 0: any free port, written to --port-file). The\n"
	"server runs queued runs itself (--no-worker: leave them to 'biaflows\n"
	"worker'). --guest lets anonymous callers read public problems; else every\n"
	"route but /session needs a login or an API token ('biaflows user',\n"
	"'biaflows token'). SIGTERM or SIGINT stops it: no new requests, requests in\n"
	"flight finish, runs left running are recovered at the next start.\n"
	"--header-timeout (default 30): a connection that takes longer to send a\n"
	"request's headers, or stays idle that long between requests, is closed.\n"
	"--tile-cache (default 64): MiB of rendered IIIF tiles kept in memory, least\n"
	"recently used out first; 0 keeps none (docs/images.md).\n"
	"The web app (docs/web.md) is served on every other URL, from --web DIR,\n"
	"else $BIAFLOWS_WEB, else web/ beside this program (make builds build/web).\n";

static atomic_int g_stop;
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, 1);
	if (g_wake[1] >= 0) {
		ssize_t r = write(g_wake[1], "x", 1);
		(void)r;
	}
}

static void ready(void *user, const char *addr, unsigned port)
{
	(void)user;
	fprintf(stderr, "biaflows: serving http://%s:%u/api/v1 (Ctrl-C stops)\n", addr, port);
	fprintf(stderr, "biaflows: web app on http://%s:%u/\n", addr, port);
}

int cmd_serve(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"listen", required_argument, NULL, 'l'},
					   {"guest", no_argument, NULL, 'g'},
					   {"threads", required_argument, NULL, 't'},
					   {"no-worker", no_argument, NULL, 'W'},
					   {"port-file", required_argument, NULL, 'p'},
					   {"header-timeout", required_argument, NULL, 'H'},
					   {"tile-cache", required_argument, NULL, 'C'},
					   {"web", required_argument, NULL, 'w'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	struct bia_serve_opts o;
	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o.listen = optarg;
			break;
		case 'g':
			o.guest = 1;
			break;
		case 't': {
			unsigned long long n;
			if (cli_parse_count(optarg, 64, &n) || n == 0)
				return cli_usage_error(usage, "--threads is 1 to 64");
			o.threads = (unsigned)n;
			break;
		}
		case 'W':
			o.no_worker = 1;
			break;
		case 'p':
			o.port_file = optarg;
			break;
		case 'H': {
			unsigned long long n;
			if (cli_parse_count(optarg, 3600, &n) || n == 0)
				return cli_usage_error(usage, "--header-timeout is 1 to 3600 seconds");
			o.header_timeout = (unsigned)n;
			break;
		}
		case 'C': {
			unsigned long long n;
			if (cli_parse_count(optarg, 65536, &n))
				return cli_usage_error(usage, "--tile-cache is 0 to 65536 MiB");
			o.tile_cache_mb = n ? (int)n : -1;
			break;
		}
		case 'w':
			o.web_dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(usage, "serve takes no arguments");
	if (pipe2(g_wake, O_CLOEXEC | O_NONBLOCK)) {
		bia_fail(&cli->ctx, BIA_EIO, "cannot create a pipe");
		return cli_error(cli);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.ready = ready;
	int rc = bia_serve(&cli->ctx, &cli->inst, &o, &g_stop, g_wake[0]);
	if (!rc)
		fprintf(stderr, "biaflows: stopped\n");
	return rc ? cli_error(cli) : 0;
}
