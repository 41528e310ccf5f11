/* biaflows gen: synthetic datasets with ground truth for every problem
 * class; `gen baseline` runs the simple baseline workflow on one.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "gen/gen.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows gen CLASS OUTDIR [--n N] [--seed S] [--size WxH[xD]] [--frames T]\n"
	"                    [--difficulty easy|medium|hard] [--noise X] [--blur SIGMA]\n"
	"                    [--contrast C] [--density D] [--illumination A] [--bits 8|16]\n"
	"                    [--objects N] [--tracks N] [--classes K] [--landmarks N]\n"
	"                    [--rgb | --grey] [--perturb drop=F,split=F,merge=F,shift=PX[,flip=F]]\n"
	"                    [--preview FILE.png] [--force]\n"
	"       biaflows gen baseline DATASET OUTDIR\n"
	"\n"
	"Write a synthetic dataset of CLASS (ObjSeg, SptCnt, ObjDet, PixCla, TreTrc,\n"
	"LooTrc, ObjTrk, PrtTrk, LndDet) into OUTDIR: images/, groundtruth/ (same stems,\n"
	"in the class's format) and dataset.json. The same arguments give byte-identical\n"
	"files. OUTDIR must be new or empty; --force replaces an earlier dataset there.\n"
	"\n"
	"  --n N             images (sequences), default 4 (tracking: 2), at most 10000\n"
	"  --seed S          random seed, default 0\n"
	"  --size WxH[xD]    image size; D > 1 makes 3D stacks (not PixCla, LndDet);\n"
	"                    default 256x256 (TreTrc, LooTrc: 128x128x32)\n"
	"  --frames T        ObjTrk, PrtTrk: frames, default 30 / 50\n"
	"  --difficulty L    easy, medium (default) or hard: presets of the knobs below\n"
	"                    and of the structure (touching, speed, deformation...)\n"
	"  --noise X         1/SNR at object level (Poisson then Gaussian noise), 0 = none\n"
	"  --blur SIGMA      PSF sigma in pixels (axial: 2x in 3D)\n"
	"  --contrast C      object minus background, fraction of full scale, (0, 1]\n"
	"  --density D       object density relative to the medium preset\n"
	"  --illumination A  uneven illumination amplitude, 0 = flat\n"
	"  --bits 8|16       image sample size (default 8)\n"
	"  --objects N       objects per image (ObjSeg, SptCnt, ObjDet, ObjTrk)\n"
	"  --tracks N        PrtTrk: tracks per sequence\n"
	"  --classes K       PixCla: classes including background, 2..8 (default 3)\n"
	"  --landmarks N     LndDet: landmarks, 1..200 (default 10)\n"
	"  --rgb, --grey     PixCla: H&E-like colour (default) or grey images\n"
	"  --perturb SPEC    also write predictions/ made from the ground truth: drop,\n"
	"                    split and merge fractions of objects, flip a fraction of\n"
	"                    regions (PixCla, LooTrc), shift by PX pixels along X and Y\n"
	"  --preview FILE    render the first image | ground truth side by side as PNG\n"
	"\n"
	"'gen baseline' runs the class's simple baseline (threshold, components,\n"
	"nearest-neighbour linking...) on DATASET/images and writes its results, named\n"
	"as ground truth, into OUTDIR.\n";

static int parse_size(const char *s, struct bia_gen_opts *o)
{
	unsigned long long v[3] = {0, 0, 1};
	int n = 0;
	const char *p = s;
	while (n < 3) {
		char *e;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v[n++] = strtoull(p, &e, 10);
		if (errno || v[n - 1] == 0 || v[n - 1] > 1000000)
			return -1;
		if (!*e)
			break;
		if (*e != 'x' && *e != 'X')
			return -1;
		p = e + 1;
	}
	if (n < 2 || *p == 0)
		return -1;
	o->w = (size_t)v[0];
	o->h = (size_t)v[1];
	o->d = (size_t)v[2];
	return 0;
}

/* Whole number in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (!*s || *e || errno || v < lo || v > hi)
		return -1;
	*out = (long)v;
	return 0;
}

static int parse_real(const char *s, double *out)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (!*s || *e || errno || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int do_baseline(struct bia_cli *cli, int argc, char **argv)
{
	if (argc != 3)
		return cli_usage_error(usage, "gen baseline needs DATASET and OUTDIR");
	if (bia_gen_baseline_dir(&cli->ctx, argv[1], argv[2]))
		return cli_error(cli);
	return 0;
}

int cmd_gen(struct bia_cli *cli, int argc, char **argv)
{
	enum {
		O_N = 256, O_SEED, O_SIZE, O_FRAMES, O_DIFF, O_NOISE, O_BLUR, O_CONTRAST, O_DENSITY,
		O_ILLUM, O_BITS, O_OBJECTS, O_TRACKS, O_CLASSES, O_LANDMARKS, O_RGB, O_GREY,
		O_PERTURB, O_PREVIEW, O_FORCE
	};
	static const struct option lo[] = {{"n", required_argument, NULL, O_N},
					   {"seed", required_argument, NULL, O_SEED},
					   {"size", required_argument, NULL, O_SIZE},
					   {"frames", required_argument, NULL, O_FRAMES},
					   {"difficulty", required_argument, NULL, O_DIFF},
					   {"noise", required_argument, NULL, O_NOISE},
					   {"blur", required_argument, NULL, O_BLUR},
					   {"contrast", required_argument, NULL, O_CONTRAST},
					   {"density", required_argument, NULL, O_DENSITY},
					   {"illumination", required_argument, NULL, O_ILLUM},
					   {"bits", required_argument, NULL, O_BITS},
					   {"objects", required_argument, NULL, O_OBJECTS},
					   {"tracks", required_argument, NULL, O_TRACKS},
					   {"classes", required_argument, NULL, O_CLASSES},
					   {"landmarks", required_argument, NULL, O_LANDMARKS},
					   {"rgb", no_argument, NULL, O_RGB},
					   {"grey", no_argument, NULL, O_GREY},
					   {"gray", no_argument, NULL, O_GREY},
					   {"perturb", required_argument, NULL, O_PERTURB},
					   {"preview", required_argument, NULL, O_PREVIEW},
					   {"force", no_argument, NULL, O_FORCE},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "baseline"))
		return do_baseline(cli, argc - 1, argv + 1);
	struct bia_gen_opts o;
	bia_gen_opts_init(&o, BIA_CLASS_NONE);
	const char *preview = NULL;
	int force = 0, ch;
	long v;
	double x;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const char *a = optarg;
		switch (ch) {
		case O_N:
			if (parse_long(a, 1, BIA_GEN_MAX_N, &v))
				return cli_usage_error(usage, "--n must be a whole number from 1 to %d, not '%s'",
						       BIA_GEN_MAX_N, a);
			o.n = (size_t)v;
			break;
		case O_SEED:
			if (parse_long(a, 0, INT64_MAX, &v))
				return cli_usage_error(usage, "--seed must be a whole number >= 0, not '%s'", a);
			o.seed = (uint64_t)v;
			break;
		case O_SIZE:
			if (parse_size(a, &o))
				return cli_usage_error(usage, "--size must be WxH or WxHxD (e.g. 512x512), not '%s'",
						       a);
			break;
		case O_FRAMES:
			if (parse_long(a, 1, BIA_GEN_MAX_T, &v))
				return cli_usage_error(usage, "--frames must be a whole number from 2 to %d, not '%s'",
						       BIA_GEN_MAX_T, a);
			o.frames = (size_t)v;
			break;
		case O_DIFF: {
			int l = bia_gen_level_parse(a);
			if (l < 0)
				return cli_usage_error(usage, "--difficulty must be easy, medium or hard, not '%s'",
						       a);
			o.level = (enum bia_gen_level)l;
			break;
		}
		case O_NOISE:
		case O_BLUR:
		case O_CONTRAST:
		case O_DENSITY:
		case O_ILLUM:
			if (parse_real(a, &x))
				return cli_usage_error(usage, "--%s needs a number, not '%s'",
						       ch == O_NOISE	  ? "noise"
						       : ch == O_BLUR	  ? "blur"
						       : ch == O_CONTRAST ? "contrast"
						       : ch == O_DENSITY  ? "density"
									  : "illumination",
						       a);
			*(ch == O_NOISE	     ? &o.noise
			  : ch == O_BLUR     ? &o.blur
			  : ch == O_CONTRAST ? &o.contrast
			  : ch == O_DENSITY  ? &o.density
					     : &o.illum) = x;
			break;
		case O_BITS:
			if (parse_long(a, 1, 64, &v) || (v != 8 && v != 16))
				return cli_usage_error(usage, "--bits must be 8 or 16, not '%s'", a);
			o.bits = (int)v;
			break;
		case O_OBJECTS:
			if (parse_long(a, 1, 100000000, &v))
				return cli_usage_error(usage, "--objects needs a positive whole number, not '%s'", a);
			o.objects = v;
			break;
		case O_TRACKS:
			if (parse_long(a, 1, 100000000, &v))
				return cli_usage_error(usage, "--tracks needs a positive whole number, not '%s'", a);
			o.tracks = v;
			break;
		case O_CLASSES:
			if (parse_long(a, 1, 1000, &v))
				return cli_usage_error(usage, "--classes needs a whole number, not '%s'", a);
			o.classes = (int)v;
			break;
		case O_LANDMARKS:
			if (parse_long(a, 1, 100000, &v))
				return cli_usage_error(usage, "--landmarks needs a positive whole number, not '%s'",
						       a);
			o.landmarks = (int)v;
			break;
		case O_RGB:
			o.color = 1;
			break;
		case O_GREY:
			o.color = 0;
			break;
		case O_PERTURB:
			if (bia_gen_perturb_parse(&cli->ctx, a, &o.perturb))
				return cli_usage_error(usage, "%s", cli->ctx.msg);
			break;
		case O_PREVIEW:
			preview = a;
			break;
		case O_FORCE:
			force = 1;
			break;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(usage, "gen needs CLASS and OUTDIR");
	o.cls = bia_class_parse(argv[optind]);
	if (o.cls == BIA_CLASS_NONE)
		return cli_usage_error(usage, "unknown problem class '%s' (expected one of %s)",
				       argv[optind], bia_class_list());
	if (bia_gen_opts_resolve(&cli->ctx, &o))
		return cli_error(cli);
	const char *out = argv[optind + 1];
	if (bia_gen_write_dataset(&cli->ctx, &o, out, force, preview))
		return cli_error(cli);
	fprintf(stderr, "generated %zu %s %s (%s) in '%s'\n", o.n, bia_class_code(o.cls),
		o.cls == BIA_OBJTRK || o.cls == BIA_PRTTRK ? (o.n == 1 ? "sequence" : "sequences")
							   : (o.n == 1 ? "image" : "images"),
		bia_gen_level_name(o.level), out);
	return 0;
}
