/* biaflows gt add|list|get|rm
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows gt add PROBLEM/STEM|ID FILE... [--annotator NAME] [--not-current]\n"
	"                 [--format table|json]\n"
	"       biaflows gt list PROBLEM/STEM|ID [--format table|json|csv]\n"
	"       biaflows gt get PROBLEM/STEM|ID -o PATH [--version V]\n"
	"       biaflows gt rm VERSION [--force]\n"
	"\n"
	"'add' links ground-truth files (a mask of the image's shape, ignoring\n"
	"channels; or .swc, .txt, .csv, .xml files) to an image as a new GT version,\n"
	"which becomes the current one unless --not-current. It prints the new\n"
	"version id. 'get' writes the files of the current version (or --version V):\n"
	"one file to PATH (or into PATH when it is a folder), several (a label stack\n"
	"and its track file) into the folder PATH, by their names. 'rm' removes a\n"
	"version (an id from 'gt list'); refused while runs are scored against it\n"
	"unless --force; the newest remaining version becomes current if it was.\n";

/* gt get: the files of one version to a file or into a folder. */
static int gt_get(struct bia_cli *cli, int argc, char **argv, const char *out,
		  const char *version)
{
	if (argc - optind != 1 || !out)
		return cli_usage_error(usage, "gt get takes one image and -o PATH");
	struct bia_image_rec im;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im))
		return cli_error(cli);
	struct bia_gt_version *v;
	size_t n;
	if (bia_gt_list(&cli->ctx, &cli->inst, im.id, &v, &n))
		return cli_error(cli);
	const struct bia_gt_version *g = NULL;
	long long want = version ? strtoll(version, NULL, 10) : 0;
	for (size_t i = 0; i < n; i++)
		if (version ? v[i].id == want : v[i].current)
			g = &v[i];
	int code = 0;
	if (!g) {
		if (version)
			bia_fail(&cli->ctx, BIA_ENOENT, "image '%s' has no ground-truth version %s",
				 im.stem, version);
		else
			bia_fail(&cli->ctx, BIA_ENOENT, "image '%s' has no current ground truth",
				 im.stem);
		code = cli_error(cli);
	} else {
		int into = g->nfiles > 1 || bia_is_dir(out);
		if (into && bia_mkdir_p(&cli->ctx, out))
			code = cli_error(cli);
		for (size_t k = 0; !code && k < g->nfiles; k++) {
			char dst[BIA_PATH_MAX];
			if (into && bia_path_join(&cli->ctx, dst, sizeof(dst), out, g->files[k].name))
				code = cli_error(cli);
			else if (!into)
				snprintf(dst, sizeof(dst), "%s", out);
			if (!code && bia_blob_copy_out(&cli->ctx, &cli->inst, g->files[k].digest, dst))
				code = cli_error(cli);
		}
	}
	for (size_t i = 0; i < n; i++)
		bia_gt_version_release(&v[i]);
	free(v);
	return code;
}

int cmd_gt(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"annotator", required_argument, NULL, 'a'},
					   {"not-current", no_argument, NULL, 'n'},
					   {"output", required_argument, NULL, 'o'},
					   {"version", required_argument, NULL, 'V'},
					   {"force", no_argument, NULL, 'F'},
					   {NULL, 0, NULL, 0}};
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	int fmt = OUT_TABLE, not_current = 0, force = 0;
	const char *annotator = NULL, *out = NULL, *version = NULL;
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 'a') {
			annotator = optarg;
		} else if (ch == 'n') {
			not_current = 1;
		} else if (ch == 'o') {
			out = optarg;
		} else if (ch == 'V') {
			version = optarg;
		} else if (ch == 'F') {
			force = 1;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!strcmp(sub, "add")) {
		if (argc - optind < 2)
			return cli_usage_error(usage, "gt add needs an image and at least one FILE");
		struct bia_image_rec im;
		if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im))
			return cli_error(cli);
		struct bia_import_opts io = {0, annotator, not_current};
		struct bia_import_result r;
		bia_import_result_init(&r);
		int rc = bia_gt_add(&cli->ctx, &cli->inst, &im, argv + optind + 1,
				    (size_t)(argc - optind - 1), &io, &r);
		int code = cli_report_import(cli, rc, &r, (enum bia_out_format)fmt, 0);
		bia_import_result_release(&r);
		if (code || fmt == OUT_JSON)
			return code;
		/* the new version is the newest one */
		struct bia_gt_version *v;
		size_t n;
		if (bia_gt_list(&cli->ctx, &cli->inst, im.id, &v, &n))
			return cli_error(cli);
		if (n)
			printf("%lld\n", (long long)v[n - 1].id);
		for (size_t i = 0; i < n; i++)
			bia_gt_version_release(&v[i]);
		free(v);
		return 0;
	}
	if (!strcmp(sub, "list")) {
		if (argc - optind != 1)
			return cli_usage_error(usage, "gt list takes one image");
		struct bia_image_rec im;
		if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im))
			return cli_error(cli);
		json_t *rows;
		if (bia_gt_versions_json(&cli->ctx, &cli->inst, im.id, &rows))
			return cli_error(cli);
		static const char *const cols[] = {"id", "current", "annotator", "created_at",
						   "file_names", NULL};
		cli_print_list(stdout, rows, cols, (enum bia_out_format)fmt);
		json_decref(rows);
		return 0;
	}
	if (!strcmp(sub, "get"))
		return gt_get(cli, argc, argv, out, version);
	if (!strcmp(sub, "rm")) {
		char *end;
		long long id = argc - optind == 1 ? strtoll(argv[optind], &end, 10) : 0;
		if (argc - optind != 1 || *end || id <= 0)
			return cli_usage_error(usage, "gt rm takes one VERSION id (from 'gt list')");
		size_t removed = 0;
		if (bia_gt_rm(&cli->ctx, &cli->inst, id, force, &removed))
			return cli_error(cli);
		fprintf(stderr, "removed ground-truth version %lld; %zu stored file(s) deleted\n", id,
			removed);
		return 0;
	}
	return cli_usage_error(usage, "unknown gt subcommand '%s'", sub);
}
