/* biaflows fsck
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "dataset/derived.h"
#include "exchange/exchange.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows fsck [--dry-run] [--format table|json]\n"
	"\n"
	"Check the instance: verify the sha256 of every stored file, report rows\n"
	"whose file is missing and files with a wrong digest, remove orphan files\n"
	"(written by an import that never committed) and stale temp files; verify\n"
	"the OME-Zarr pyramid of every image, GT mask and run output and rebuild the\n"
	"missing or damaged ones (removing pyramids of nothing). While an\n"
	"import is running its files are left alone. Exit 0 when the instance is\n"
	"consistent (after removing orphans), 1 otherwise.\n";

int cmd_fsck(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"dry-run", no_argument, NULL, 'n'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	int fmt = OUT_TABLE, dry = 0, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 'n') {
			dry = 1;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "fsck takes no arguments");
	/* what a killed import left: logs of its committed runs placed, the
	 * rest removed (before fsck, which would see its files as orphans) */
	if (!dry) {
		struct bia_ctx xc;
		bia_ctx_init(&xc);
		bia_exchange_recover(&xc, &cli->inst);
	}
	struct bia_fsck_report rep;
	if (bia_fsck(&cli->ctx, &cli->inst, dry, &rep))
		return cli_error(cli);
	struct bia_derived_fsck dr;
	if (bia_derived_fsck(&cli->ctx, &cli->inst, dry, &dr, rep.problems)) {
		bia_fsck_report_release(&rep);
		return cli_error(cli);
	}
	int consistent = rep.db_ok && !rep.corrupt && !rep.missing &&
			 rep.orphans == rep.orphans_removed &&
			 dr.missing + dr.corrupt == dr.rebuilt && (dry ? !dr.orphans : 1);
	if (fmt == OUT_JSON) {
		json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:O}",
				      "consistent", consistent, "blobs_checked",
				      (json_int_t)rep.blobs_checked, "corrupt", (json_int_t)rep.corrupt,
				      "missing", (json_int_t)rep.missing, "orphans",
				      (json_int_t)rep.orphans, "orphans_removed",
				      (json_int_t)rep.orphans_removed, "temp_live",
				      (json_int_t)rep.temp_live, "temp_removed",
				      (json_int_t)rep.temp_removed, "db_ok", rep.db_ok,
				      "import_running", rep.locked, "problems", rep.problems);
		json_object_set_new(o, "pyramids",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "checked",
					      (json_int_t)dr.checked, "missing", (json_int_t)dr.missing,
					      "corrupt", (json_int_t)dr.corrupt, "rebuilt",
					      (json_int_t)dr.rebuilt, "orphans", (json_int_t)dr.orphans,
					      "removed", (json_int_t)dr.removed));
		cli_print_object(stdout, o, OUT_JSON);
		json_decref(o);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(rep.problems, i, v)
			printf("%-10s %s: %s\n", json_string_value(json_object_get(v, "kind")),
			       json_string_value(json_object_get(v, "path")),
			       json_string_value(json_object_get(v, "detail")));
		printf("checked %zu blobs: %zu corrupt, %zu missing, %zu orphans (%zu removed), "
		       "%zu live temp files, %zu stale temp files removed, database %s\n",
		       rep.blobs_checked, rep.corrupt, rep.missing, rep.orphans, rep.orphans_removed,
		       rep.temp_live, rep.temp_removed, rep.db_ok ? "ok" : "CORRUPT");
		printf("checked %zu pyramids: %zu missing, %zu corrupt, %zu rebuilt, %zu orphans, "
		       "%zu stale removed\n",
		       dr.checked, dr.missing, dr.corrupt, dr.rebuilt, dr.orphans, dr.removed);
		printf("%s\n", consistent ? "instance is consistent"
					  : "instance has problems (see above)");
	}
	bia_fsck_report_release(&rep);
	return consistent ? 0 : 1;
}
