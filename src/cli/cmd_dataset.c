/* biaflows dataset import
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows dataset import PROBLEM DIR [--skip-invalid] [--annotator NAME]\n"
	"                                [--layout ctc|isbi-ptc|points|swc] [--stem NAME]\n"
	"                                [--columns SPEC] [--class-column]\n"
	"                                [--format table|json]\n"
	"\n"
	"Import DIR into PROBLEM. DIR holds images/ and groundtruth/ with the same\n"
	"stems (file names without extension), or one folder with X.tif images and\n"
	"X_lbl.tif ground truth (BIAFLOWS naming). Ground truth may also be .swc,\n"
	".txt (CTC tracks), .csv (points) or .xml files; several files per stem form\n"
	"one ground-truth version. All-or-nothing: one invalid file refuses the\n"
	"import with the list of problems; --skip-invalid imports the valid pairs.\n"
	"Prints the new image ids, one per line.\n"
	"\n"
	"--layout converts DIR first (as 'biaflows convert', see docs/convert.md):\n"
	"  ctc       Cell Tracking Challenge: NN/tTTT.tif + NN_GT/TRA/ (stems NN), or\n"
	"            images/tTTT.tif + groundtruth/TRA/ (stem = DIR's name) -> image\n"
	"            stack with a T axis + TRA label stack + man_track.txt (ObjTrk)\n"
	"  isbi-ptc  images/ frames + the ISBI 2012 XML in groundtruth/ (stem = the\n"
	"            XML's stem) -> image stack + track label stack (PrtTrk)\n"
	"  points    images/ + groundtruth/ .csv/.txt point lists -> point masks\n"
	"            (ObjDet, SptCnt, LndDet); other GT files of those stems ignored\n"
	"  swc       images/ + groundtruth/ .swc, every tree validated (TreTrc)\n"
	"--stem NAME      stem of the sequence (ctc with several sequences: NAME_NN)\n"
	"--columns SPEC   points: column roles, e.g. x,y,class or -,x,y ('-' skips)\n"
	"--class-column   points: without a header, the 3rd of 3 columns is a class\n"
	"                 even for 3D images\n";

int cmd_dataset(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"skip-invalid", no_argument, NULL, 's'},
					   {"annotator", required_argument, NULL, 'a'},
					   {"layout", required_argument, NULL, 'l'},
					   {"stem", required_argument, NULL, 'S'},
					   {"columns", required_argument, NULL, 'c'},
					   {"class-column", no_argument, NULL, 'C'},
					   {NULL, 0, NULL, 0}};
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "import"))
		return cli_usage_error(usage, "unknown dataset subcommand '%s'", argv[1]);
	argc--;
	argv++;
	int fmt = OUT_TABLE, skip = 0;
	const char *annotator = NULL;
	enum bia_layout layout = BIA_LAYOUT_NONE;
	struct bia_convert_opts co;
	memset(&co, 0, sizeof(co));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 's') {
			skip = 1;
		} else if (ch == 'a') {
			annotator = optarg;
		} else if (ch == 'l') {
			layout = bia_layout_parse(optarg);
			if (layout == BIA_LAYOUT_NONE)
				return cli_usage_error(usage,
						       "unknown layout '%s' (ctc, isbi-ptc, points, swc)",
						       optarg);
		} else if (ch == 'S') {
			co.stem = optarg;
		} else if (ch == 'c') {
			co.points.columns = optarg;
		} else if (ch == 'C') {
			co.points.class_column = 1;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(usage, "dataset import takes PROBLEM and DIR");
	if (layout == BIA_LAYOUT_NONE && (co.stem || co.points.columns || co.points.class_column))
		return cli_usage_error(usage, "--stem, --columns and --class-column need --layout");
	struct bia_problem p;
	if (bia_problem_get(&cli->ctx, &cli->inst, argv[optind], &p))
		return cli_error(cli);
	struct bia_import_opts io = {skip, annotator, 0};
	struct bia_import_result r;
	bia_import_result_init(&r);
	int rc = bia_dataset_import_layout(&cli->ctx, &cli->inst, &p, argv[optind + 1], layout,
					   &co, &io, &r);
	int code = cli_report_import(cli, rc, &r, (enum bia_out_format)fmt, 1);
	if (!code)
		fprintf(stderr, "imported %zu images and %zu ground-truth versions into '%s'\n",
			r.n_images, r.n_gt, p.name);
	bia_import_result_release(&r);
	bia_problem_release(&p);
	return code;
}
