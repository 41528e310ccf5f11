/* biaflows image add|list|show|get|rm
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "auth/auth.h"
#include "dataset/derived.h"
#include "dataset/overlay.h"
#include "image/image.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"usage: biaflows image add PROBLEM FILE... [--skip-invalid] [--format table|json]\n"
	"       biaflows image list [PROBLEM] [--limit N] [--offset N]\n"
	"                           [--format table|json|csv]\n"
	"       biaflows image show ID|PROBLEM/STEM [--format table|json]\n"
	"       biaflows image get ID|PROBLEM/STEM -o FILE [--as original|tiff|ome-tiff]\n"
	"       biaflows image rm ID|PROBLEM/STEM [--force]\n"
	"       biaflows image pyramid [ID|PROBLEM/STEM...] [--rebuild] [--format table|json]\n"
	"       biaflows image layers ID|PROBLEM/STEM [--format table|json|csv]\n"
	"       biaflows image link ID|PROBLEM/STEM [--expires SECONDS] [--format table|json]\n"
	"       biaflows image overlay ID|PROBLEM/STEM LAYER [--z N] [--t N]\n"
	"                              [--bbox X0,Y0,X1,Y1] [--limit N] [--run ID]\n"
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
	"'list' shows every image by id, or a page of --limit N from --offset.\n"
	"'pyramid' builds the missing OME-Zarr pyramids (the image, its GT masks and\n"
	"run outputs as labels) of the named images, or of every image; --rebuild\n"
	"builds them again (the old one is replaced once the new one is complete).\n"
	"Exit 1 if one could not be built (docs/images.md).\n"
	"'layers' lists the image's layers (the image, GT masks, run outputs) with\n"
	"their OME-Zarr paths under the server. 'link' prints a signed path to the\n"
	"image's OME-Zarr valid --expires seconds (default 86400, at most 30 days),\n"
	"for viewers that open plain URLs (napari, vizarr) on private problems.\n"
	"'overlay' prints (JSON) the points, tracks or trace of a layer (gt,\n"
	"gt-VERSION, run-RUN) on a plane and in a viewport, with each object's error\n"
	"category (a run's layer: its own; a GT layer: --run's).\n";

struct iopts {
	int fmt;
	int skip;
	int force;
	int rebuild;
	long long expires;
	const char *oz, *ot, *obbox, *orun; /* overlay filters */
	const char *out; /* -o */
	const char *as;	 /* --as */
	struct bia_page page; /* --limit, --offset */
	const char *limit;    /* --limit as given */
};

static int parse(int argc, char **argv, struct iopts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"skip-invalid", no_argument, NULL, 's'},
					   {"force", no_argument, NULL, 'F'},
					   {"rebuild", no_argument, NULL, 'R'},
					   {"expires", required_argument, NULL, 'E'},
					   {"z", required_argument, NULL, 'z'},
					   {"t", required_argument, NULL, 't'},
					   {"bbox", required_argument, NULL, 'b'},
					   {"run", required_argument, NULL, 'r'},
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
		} else if (ch == 'R') {
			o->rebuild = 1;
		} else if (ch == 'z') {
			o->oz = optarg;
		} else if (ch == 't') {
			o->ot = optarg;
		} else if (ch == 'b') {
			o->obbox = optarg;
		} else if (ch == 'r') {
			o->orun = optarg;
		} else if (ch == 'E') {
			char *end;
			o->expires = strtoll(optarg, &end, 10);
			if (*end || o->expires <= 0)
				return cli_usage_error(usage, "--expires takes a number of seconds, not '%s'",
						       optarg);
		} else if (ch == 'o') {
			o->out = optarg;
		} else if (ch == 'a') {
			o->as = optarg;
		} else if (ch == 'l') {
			o->limit = optarg; /* a page (list) or items (overlay): checked there */
		} else if (ch == 'O') {
			if (cli_parse_page_arg(usage, "--offset", optarg, &o->page.offset))
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
	if (o.limit && cli_parse_page_arg(usage, "--limit", o.limit, &o.page.limit))
		return 2;
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

static int do_pyramid(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	struct bia_derive_stats all;
	memset(&all, 0, sizeof(all));
	all.errors = json_array();
	int n = argc - optind;
	for (int i = 0; i < (n ? n : 1); i++) {
		int64_t id = 0;
		if (n) {
			struct bia_image_rec im;
			if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind + i], &im)) {
				bia_derive_stats_release(&all);
				return cli_error(cli);
			}
			id = im.id;
		}
		struct bia_derive_stats st;
		if (bia_derived_ensure(&cli->ctx, &cli->inst, id, o.rebuild, &st)) {
			bia_derive_stats_release(&all);
			return cli_error(cli);
		}
		all.layers += st.layers;
		all.built += st.built;
		all.present += st.present;
		all.failed += st.failed;
		if (st.errors)
			json_array_extend(all.errors, st.errors);
		bia_derive_stats_release(&st);
	}
	json_t *j = bia_derive_stats_json(&all);
	if (o.fmt == OUT_JSON) {
		cli_print_object(stdout, j, OUT_JSON);
	} else {
		size_t k;
		json_t *e;
		json_array_foreach(all.errors, k, e)
			fprintf(stderr, "image %lld %s: %s\n",
				(long long)json_integer_value(json_object_get(e, "image_id")),
				json_string_value(json_object_get(e, "layer")),
				json_string_value(json_object_get(e, "error")));
		printf("%zu pyramid(s): %zu built, %zu present, %zu failed\n", all.layers, all.built,
		       all.present, all.failed);
	}
	json_decref(j);
	int failed = all.failed > 0;
	bia_derive_stats_release(&all);
	return failed ? 1 : 0;
}

static int do_layers(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "image layers takes one ID or PROBLEM/STEM");
	struct bia_image_rec im;
	json_t *rows;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im) ||
	    bia_image_layers_json(&cli->ctx, &cli->inst, im.id, &rows))
		return cli_error(cli);
	static const char *const cols[] = {"name", "kind", "ref", "title", "file", "ready", "zarr",
					   NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

static int do_link(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "image link takes one ID or PROBLEM/STEM");
	struct bia_image_rec im;
	json_t *j;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im) ||
	    bia_image_link(&cli->ctx, &cli->inst, im.id,
			   o.expires ? o.expires : BIA_LINK_TTL_DEFAULT, (int64_t)time(NULL), &j))
		return cli_error(cli);
	if (o.fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	else
		printf("%s\n", json_string_value(json_object_get(j, "path")));
	json_decref(j);
	return 0;
}

static int do_overlay(struct bia_cli *cli, int argc, char **argv)
{
	struct iopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 2)
		return cli_usage_error(usage, "image overlay takes an ID or PROBLEM/STEM and a LAYER");
	struct bia_overlay_filter f;
	if (bia_overlay_filter_parse(&cli->ctx, o.oz, o.ot, o.obbox, o.limit, o.orun, &f))
		return cli_usage_error(usage, "%s", cli->ctx.msg);
	struct bia_image_rec im;
	json_t *j;
	if (bia_image_resolve(&cli->ctx, &cli->inst, argv[optind], &im) ||
	    bia_overlay_query(&cli->ctx, &cli->inst, &im, argv[optind + 1], &f, &j))
		return cli_error(cli);
	cli_print_object(stdout, j, OUT_JSON);
	json_decref(j);
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
		{"pyramid", do_pyramid},
		{"layers", do_layers},
		{"link", do_link},
		{"overlay", do_overlay},
	};
	return cli_dispatch(cli, argc, argv, usage, "image", subs, sizeof(subs) / sizeof(subs[0]));
}
