/* biaflows image add|list|show|get|rm
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "image/image.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows image add PROBLEM FILE... [--skip-invalid] [--format table|json]\n"
	"       biaflows image list [PROBLEM] [--limit N] [--offset N]\n"
	"                           [--format table|json|csv]\n"
	"       biaflows image show ID|PROBLEM/STEM [--format table|json]\n"
	"       biaflows image get ID|PROBLEM/STEM -o FILE [--as original|tiff|ome-tiff]\n"
	"       biaflows image rm ID|PROBLEM/STEM [--force]\n"
	"\n"
	"'add' validates every file (decodes it fully) before storing any; one\n"
	"invalid file refuses the whole batch unless --skip-invalid. It prints the\n"
	"new image ids, one per line. Images are named by their stem (file name\n"
	"without extension), unique within a problem.\n"
	"'get' writes the stored file as it was imported (default), or converted to\n"
	"a TIFF (an OME-TIFF when Z, C or T > 1) or always an OME-TIFF. 'rm'\n"
	"removes an image and its ground truth; it is refused while a run that has\n"
	"not ended uses it, and while any run references it unless --force (which\n"
	"also removes those runs' outputs and scores of this image). Files no longer\n"
	"referenced are removed when no import is running, else by 'fsck'.\n"
	"'list' shows every image by id, or a page of --limit N from --offset.\n";

struct iopts {
	int fmt;
	int skip;
	int force;
	const char *out; /* -o */
	const char *as;	 /* --as */
	struct bia_page page; /* --limit, --offset */
};

static int parse(int argc, char **argv, struct iopts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"skip-invalid", no_argument, NULL, 's'},
					   {"force", no_argument, NULL, 'F'},
					   {"output", required_argument, NULL, 'o'},
					   {"as", required_argument, NULL, 'a'},
					   {"limit", required_argument, NULL, 'l'},
					   {"offset", required_argument, NULL, 'O'},
					   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		if (ch == 'f') {
			o->fmt = cli_parse_format(optarg);
			if (o->fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 's') {
			o->skip = 1;
		} else if (ch == 'F') {
			o->force = 1;
		} else if (ch == 'o') {
			o->out = optarg;
		} else if (ch == 'a') {
			o->as = optarg;
		} else if (ch == 'l' || ch == 'O') {
			if (cli_parse_page_arg(usage, ch == 'l' ? "--limit" : "--offset", optarg,
					       ch == 'l' ? &o->page.limit : &o->page.offset))
				return 2;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	return 0;
}

static int do_add(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind < 2)
		return cli_usage_error(usage, "image add needs a PROBLEM and at least one FILE");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	struct bia_import_opts io = {o.skip, NULL, 0};
	struct bia_import_result r;
	bia_import_result_init(&r);
	int rc = bia_images_add(&cli->ctx, &cli->inst, &p, argv + optind + 1,
				(size_t)(argc - optind - 1), &io, &r);
	int code = cli_report_import(cli, rc, &r, (enum bia_out_format)o.fmt, 1);
	bia_import_result_release(&r);
	bia_problem_release(&p);
	return code;
}

static int do_list(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind > 1)
		return cli_usage_error(usage, "image list takes at most one PROBLEM");
	int64_t pid = 0;
	if (argc - optind == 1) {
		struct bia_problem p;
		if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
			return cli_error(cli);
		pid = p.id;
		bia_problem_release(&p);
	}
	json_t *rows;
	int64_t total;
	if (bia_images_list_json(&cli->ctx, &cli->inst, pid, o.page, &rows, &total))
		return cli_error(cli);
	size_t n = json_array_size(rows);
	static const char *const cols[] = {"id",     "problem", "stem",	      "shape", "size_c",
					   "size_t", "dtype",	"gt_version", "format", NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	if (o.page.limit && o.fmt == OUT_TABLE)
		fprintf(stderr, "images %lld-%lld of %lld\n", (long long)o.page.offset + 1,
			(long long)o.page.offset + (long long)n, (long long)total);
	json_decref(rows);
	return 0;
}

static int do_show(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "image show takes one ID or PROBLEM/STEM");
	struct bia_image_rec im;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im))
		return cli_error(cli);
	json_t *j = bia_image_json(&im);
	cli_print_object(stdout, j, o.fmt == OUT_JSON ? OUT_JSON : OUT_TABLE);
	json_decref(j);
	return 0;
}

static int do_get(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1 || !o.out)
		return cli_usage_error(usage, "image get takes one ID or PROBLEM/STEM and -o FILE");
	const char *as = o.as ? o.as : "original";
	if (strcmp(as, "original") && strcmp(as, "tiff") && strcmp(as, "ome-tiff"))
		return cli_usage_error(usage, "--as is original, tiff or ome-tiff, not '%s'", as);
	struct bia_image_rec im;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im))
		return cli_error(cli);
	if (!strcmp(as, "original")) {
		if (bia_blob_copy_out(&cli->ctx, &cli->inst, im.digest, o.out))
			return cli_error(cli);
		return 0;
	}
	struct bia_problem p;
	if (bia_problem_get_id(&cli->ctx, &cli->inst, im.problem_id, &p))
		return cli_error(cli);
	char src[BIA_PATH_MAX];
	bia_blob_path(&cli->inst, im.digest, src, sizeof(src));
	struct bia_read_opts ro = {0};
	ro.pages = p.cls == BIA_OBJTRK || p.cls == BIA_PRTTRK ? BIA_PAGES_T : BIA_PAGES_Z;
	bia_problem_release(&p);
	struct bia_image img;
	if (bia_image_read(&cli->ctx, src, &ro, &img))
		return cli_error(cli);
	struct bia_tiff_write_opts wo = {0};
	wo.ome = !strcmp(as, "ome-tiff");
	int rc = bia_image_write_tiff(&cli->ctx, &img, o.out, &wo);
	bia_image_release(&img);
	return rc ? cli_error(cli) : 0;
}

static int do_rm(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "image rm takes one ID or PROBLEM/STEM");
	struct bia_image_rec im;
	size_t removed = 0;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im) ||
	    bia_image_rm(&cli->ctx, &cli->inst, im.id, o.force, &removed))
		return cli_error(cli);
	fprintf(stderr, "removed image %lld ('%s'); %zu stored file(s) deleted\n",
		(long long)im.id, im.stem, removed);
	return 0;
}

int cmd_image(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", do_add},
		{"list", do_list},
		{"show", do_show},
		{"get", do_get},
		{"rm", do_rm},
	};
	return cli_dispatch(cli, argc, argv, usage, "image", subs, sizeof(subs) / sizeof(subs[0]));
}
