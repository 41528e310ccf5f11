/* biaflows convert ctc|isbi-ptc|points|swc|dataset
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "annot/annot.h"

static const char usage[] =
	"usage: biaflows convert ctc SRC_DIR OUT_DIR [--stem NAME] [--seg]\n"
	"       biaflows convert isbi-ptc XML FRAMES_DIR OUT_DIR [--stem NAME]\n"
	"       biaflows convert points LIST --like IMAGE OUT.tif [--class-column]\n"
	"                               [--columns SPEC] [--number-points]\n"
	"       biaflows convert swc IN.swc OUT.swc\n"
	"       biaflows convert dataset --layout ctc|isbi-ptc|points|swc DIR OUT_DIR\n"
	"                               [--stem NAME] [--columns SPEC] [--class-column]\n"
	"\n"
	"Convert annotations as real data comes into what 'biaflows dataset import'\n"
	"takes: OUT_DIR/images/ and OUT_DIR/groundtruth/ with the same stems. No\n"
	"instance is needed. Files written are printed one per line; nothing is left\n"
	"behind on failure, and files already in OUT_DIR are never overwritten.\n"
	"\n"
	"  ctc       Cell Tracking Challenge folder: NN/tTTT.tif, NN_GT/TRA/\n"
	"            man_trackTTT.tif + man_track.txt (stem NN), or one sequence as\n"
	"            images/ + groundtruth/TRA/ (stem = the folder's name). Writes\n"
	"            images/STEM.tif (frames on T, OME-TIFF), groundtruth/STEM.tif (TRA\n"
	"            label stack) and groundtruth/STEM.txt (the checked track file).\n"
	"            --seg also writes seg/STEM.tif (SEG masks; frames without SEG\n"
	"            annotation are 0) and seg/STEM_frames.txt (the annotated frames).\n"
	"  isbi-ptc  ISBI 2012 particle-tracking XML + a folder of frames (t000.tif,\n"
	"            'NAME t000 z0.tif', ...) -> images/STEM.tif + groundtruth/STEM.tif:\n"
	"            track id = particle index + 1, one pixel per detection at the\n"
	"            rounded x, y, z of frame t. STEM = the XML's stem.\n"
	"  points    CSV/TXT point list (x,y[,z][,class]; header optional; comma,\n"
	"            semicolon or blank separated) -> uint16 point mask with the shape\n"
	"            of IMAGE; grey value = class (default 1); coordinates rounded to\n"
	"            the nearest pixel; a point outside the image or two points on one\n"
	"            pixel are refused.\n"
	"  swc       validate an SWC tree and copy it.\n"
	"  dataset   a whole folder in one of the layouts above, exactly as\n"
	"            'dataset import --layout' converts it.\n"
	"\n"
	"options:\n"
	"  --stem NAME      stem of the sequence (ctc with several sequences: NAME_NN)\n"
	"  --seg            ctc: also convert the SEG masks\n"
	"  --like IMAGE     points: the image whose shape the mask takes\n"
	"  --columns SPEC   points: column roles, e.g. x,y,class or -,x,y,z ('-' skips)\n"
	"  --class-column   points: without a header, the 3rd of 3 columns is a class\n"
	"                   even for 3D images (2D: it always is)\n"
	"  --number-points  points: without a class column, number points 1..N\n"
	"                   (landmarks)\n"
	"  --layout L       dataset: the layout of DIR\n";

static void print_notes(json_t *warnings, json_t *written)
{
	size_t i;
	json_t *v;
	json_array_foreach(warnings, i, v)
		cli_msg("warning: %s", json_string_value(v));
	json_array_foreach(written, i, v) printf("%s\n", json_string_value(v));
}

int cmd_convert(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"stem", required_argument, NULL, 'S'},
					   {"seg", no_argument, NULL, 's'},
					   {"like", required_argument, NULL, 'l'},
					   {"columns", required_argument, NULL, 'c'},
					   {"class-column", no_argument, NULL, 'C'},
					   {"number-points", no_argument, NULL, 'n'},
					   {"layout", required_argument, NULL, 'L'},
					   {NULL, 0, NULL, 0}};
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *what = argv[1];
	argc--;
	argv++;
	struct bia_convert_opts o;
	memset(&o, 0, sizeof(o));
	const char *like = NULL;
	enum bia_layout layout = BIA_LAYOUT_NONE;
	int have_layout = 0;
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'S':
			o.stem = optarg;
			break;
		case 's':
			o.seg = 1;
			break;
		case 'l':
			like = optarg;
			break;
		case 'c':
			o.points.columns = optarg;
			break;
		case 'C':
			o.points.class_column = 1;
			break;
		case 'n':
			o.points.number_points = 1;
			break;
		case 'L':
			layout = bia_layout_parse(optarg);
			have_layout = 1;
			if (layout == BIA_LAYOUT_NONE)
				return cli_usage_error(usage,
						       "unknown layout '%s' (ctc, isbi-ptc, points, swc)",
						       optarg);
			break;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	int npos = argc - optind;
	char **pos = argv + optind;
	int is_points = !strcmp(what, "points"), is_ctc = !strcmp(what, "ctc");
	int is_ptc = !strcmp(what, "isbi-ptc"), is_dataset = !strcmp(what, "dataset");
	int is_swc = !strcmp(what, "swc");
	if (!is_points && !is_ctc && !is_ptc && !is_dataset && !is_swc)
		return cli_usage_error(usage, "unknown conversion '%s'", what);
	if (like && !is_points)
		return cli_usage_error(usage, "--like is for 'convert points'");
	if ((o.points.columns || o.points.class_column || o.points.number_points) && !is_points &&
	    !is_dataset)
		return cli_usage_error(usage, "--columns, --class-column and --number-points are "
					      "for point lists");
	if (o.stem && !is_ctc && !is_ptc && !is_dataset)
		return cli_usage_error(usage, "--stem is for ctc, isbi-ptc and dataset");
	if (o.seg && !is_ctc)
		return cli_usage_error(usage, "--seg is for 'convert ctc'");
	if (have_layout && !is_dataset)
		return cli_usage_error(usage, "--layout is for 'convert dataset'");

	o.warnings = json_array();
	o.written = json_array();
	int rc = 0;
	if (is_ctc) {
		if (npos != 2) {
			rc = cli_usage_error(usage, "convert ctc takes SRC_DIR and OUT_DIR");
			goto out;
		}
		size_t nseq = 0;
		if (bia_convert_ctc(&cli->ctx, pos[0], pos[1], &o, &nseq)) {
			print_notes(o.warnings, NULL);
			rc = cli_error(cli);
			goto out;
		}
		print_notes(o.warnings, o.written);
		fprintf(stderr, "converted %zu sequence%s into '%s'\n", nseq, nseq == 1 ? "" : "s",
			pos[1]);
	} else if (is_ptc) {
		if (npos != 3) {
			rc = cli_usage_error(usage, "convert isbi-ptc takes XML, FRAMES_DIR and OUT_DIR");
			goto out;
		}
		if (bia_convert_isbi_ptc(&cli->ctx, pos[0], pos[1], pos[2], &o)) {
			print_notes(o.warnings, NULL);
			rc = cli_error(cli);
			goto out;
		}
		print_notes(o.warnings, o.written);
	} else if (is_points) {
		if (npos != 2 || !like) {
			rc = cli_usage_error(usage, "convert points takes LIST, --like IMAGE and OUT.tif");
			goto out;
		}
		size_t n = 0;
		if (bia_convert_points(&cli->ctx, pos[0], like, pos[1], &o, &n)) {
			rc = cli_error(cli);
			goto out;
		}
		print_notes(o.warnings, o.written);
		fprintf(stderr, "%zu point%s written to '%s'\n", n, n == 1 ? "" : "s", pos[1]);
	} else if (is_swc) {
		if (npos != 2) {
			rc = cli_usage_error(usage, "convert swc takes IN and OUT");
			goto out;
		}
		size_t n = 0;
		if (bia_convert_swc(&cli->ctx, pos[0], pos[1], &n)) {
			rc = cli_error(cli);
			goto out;
		}
		printf("%s\n", pos[1]);
		fprintf(stderr, "%zu node%s checked, copied to '%s'\n", n, n == 1 ? "" : "s",
			pos[1]);
	} else {
		if (!have_layout) {
			rc = cli_usage_error(usage, "convert dataset needs --layout");
			goto out;
		}
		if (npos != 2) {
			rc = cli_usage_error(usage, "convert dataset takes DIR and OUT_DIR");
			goto out;
		}
		if (bia_convert_dataset(&cli->ctx, layout, pos[0], pos[1], &o)) {
			print_notes(o.warnings, NULL);
			rc = cli_error(cli);
			goto out;
		}
		print_notes(o.warnings, o.written);
		size_t n = json_array_size(o.written);
		fprintf(stderr, "wrote %zu file%s into '%s'\n", n, n == 1 ? "" : "s", pos[1]);
	}
out:
	json_decref(o.warnings);
	json_decref(o.written);
	return rc;
}
