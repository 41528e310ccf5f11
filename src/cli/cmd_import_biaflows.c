/* biaflows import-biaflows: a BIAFLOWS project-migrator archive as a new
 * problem (the library's bia_biaflows_import does the work).
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "dataset/biaflows.h"
#include "runs/runs.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows import-biaflows ARCHIVE [--problem NAME] [--class CODE]\n"
	"                                [--skip-invalid] [--format table|json]\n"
	"\n"
	"Import a BIAFLOWS/Cytomine project-migrator archive (HOST-ID-NAME-DATE/\n"
	"with project-ID.json, imageinstance-collection.json, images/,\n"
	"attached_files/...; a .tar.gz, a .tar or the unpacked folder) as one new\n"
	"problem. Its name is --problem, else the project's name; its class is\n"
	"--class, else the project's discipline (\"Object segmentation\" -> ObjSeg).\n"
	"Images named X_lbl.ext are the ground truth of X.ext; TreTrc adds the\n"
	"image's attached .swc, ObjTrk its attached .txt track file. All-or-nothing\n"
	"as 'dataset import': one invalid file refuses the import and no problem is\n"
	"made; --skip-invalid imports the valid pairs. Nothing is downloaded.\n"
	"Prints the new problem's id (json: the problem, images, gt_versions).\n";

int cmd_import_biaflows(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"problem", required_argument, NULL, 'p'},
					   {"class", required_argument, NULL, 'c'},
					   {"skip-invalid", no_argument, NULL, 's'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	int fmt = OUT_TABLE;
	struct bia_bf_import_opts o = {NULL, BIA_CLASS_NONE, 0};
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt != OUT_TABLE && fmt != OUT_JSON)
				return cli_usage_error(usage, "unknown format '%s' (table, json)",
						       optarg);
		} else if (ch == 'p') {
			o.problem = optarg;
		} else if (ch == 'c') {
			o.cls = bia_class_parse(optarg);
			if (o.cls == BIA_CLASS_NONE)
				return cli_usage_error(usage, "unknown problem class '%s' (%s)", optarg,
						       bia_class_list());
		} else if (ch == 's') {
			o.skip_invalid = 1;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, "import-biaflows takes one ARCHIVE");
	struct bia_problem p;
	struct bia_import_result r;
	bia_import_result_init(&r);
	int rc = bia_biaflows_import(&cli->ctx, &cli->inst, argv[optind], &o, &p, &r);
	/* warnings and refusals as `dataset import` prints them */
	int code = cli_report_import(cli, rc, &r, OUT_TABLE, 0);
	if (!code) {
		struct bia_problem q;
		if (bia_problem_get_id(&cli->ctx, &cli->inst, p.id, &q)) {
			code = cli_error(cli);
		} else if (fmt == OUT_JSON) {
			json_t *j = json_pack("{s:o, s:I, s:I, s:O}", "problem", bia_problem_json(&q),
					      "images", (json_int_t)r.n_images, "gt_versions",
					      (json_int_t)r.n_gt, "warnings", r.warnings);
			cli_print_object(stdout, j, OUT_JSON);
			json_decref(j);
		} else {
			printf("%lld\n", (long long)q.id);
		}
		if (!code)
			fprintf(stderr,
				"imported %zu images and %zu ground-truth versions into new %s problem "
				"'%s'\n",
				r.n_images, r.n_gt, bia_class_code(q.cls), q.name);
		bia_problem_release(&q);
		bia_problem_release(&p);
	}
	bia_import_result_release(&r);
	return code;
}
