/* biaflows export | import: bundles of an instance's content
 * (docs/exchange.md).
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "exchange/exchange.h"

#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char export_usage[] =
	"usage: biaflows export FILE.tar[.gz|.zst] [--problem P]... [--with-runs]\n"
	"                       [--with-workflows] [--with-environments] [--progress]\n"
	"                       [--format table|json]\n"
	"\n"
	"Write a bundle: a manifest (format version, this instance's id, the digest\n"
	"of every record file), the problems (every one, or those named; repeat\n"
	"--problem or give a comma list) with their settings, images and every GT\n"
	"version; --with-runs: their ended runs with parameters, outputs, logs,\n"
	"scores, score history, error maps and reproduction verdicts (and the\n"
	"workflow versions they ran); --with-workflows: workflow versions with\n"
	"their descriptors and files (with problems named: those of their classes);\n"
	"--with-environments: also the environment archives of those versions.\n"
	"FILE's name chooses the compression (.tar, .tar.gz, .tgz, .tar.zst); it\n"
	"is written beside and renamed when complete. Prints the content digest\n"
	"(json: the report). --progress reports on stderr (on by default when\n"
	"stderr is a terminal).\n";

static const char import_usage[] =
	"usage: biaflows import FILE|FOLDER [--no-pyramids] [--progress]\n"
	"                       [--format table|json]\n"
	"\n"
	"Import a bundle written by 'biaflows export' (or an unpacked one): every\n"
	"digest is verified before anything is committed, in one transaction;\n"
	"ids are given here; content already here is skipped (problems by name,\n"
	"images by digest, GT versions, workflow versions, runs by origin). A\n"
	"bundle of a newer format, a damaged file, an image or workflow version\n"
	"that exists here with other content: refused, nothing imported. Prints\n"
	"what was added (json: the report). The OME-Zarr pyramids of what was\n"
	"added are built after the commit, unless --no-pyramids ('biaflows fsck' or\n"
	"'image pyramid' builds them later).\n";

struct prog {
	const char *what;
	int on;
	struct timespec last;
	char phase[16];
};

static void print_progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	struct prog *p = arg;
	if (!p->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - p->last.tv_sec) + (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
	int same = !strcmp(p->phase, phase);
	if (same && dt < 0.5 && !(total && done == total))
		return;
	p->last = now;
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	int bytes = !strcmp(phase, "files") || !strcmp(phase, "download");
	if (total > 0 && bytes)
		fprintf(stderr, "%s: %s %.1f of %.1f MB (%d%%)\n", p->what, phase, (double)done / 1e6,
			(double)total / 1e6, (int)(done * 100 / total));
	else if (total > 0)
		fprintf(stderr, "%s: %s %lld of %lld (%d%%)\n", p->what, phase, (long long)done,
			(long long)total, (int)(done * 100 / total));
	else
		fprintf(stderr, "%s: %s %lld\n", p->what, phase, (long long)done);
}

/* What an import added and found (a table), its warnings on stderr. */
static void print_counts(json_t *j, const struct bia_bundle_import_report *rep)
{
	static const char *const kinds[] = {"problems", "images", "gt_versions",
					    "workflow_versions", "runs"};
	printf("%-18s %8s %8s\n", "KIND", "ADDED", "PRESENT");
	for (size_t i = 0; i < 5; i++)
		printf("%-18s %8lld %8lld\n", kinds[i],
		       (long long)json_integer_value(json_object_get(json_object_get(j, "added"), kinds[i])),
		       (long long)json_integer_value(json_object_get(json_object_get(j, "present"), kinds[i])));
	printf("%-18s %8lld %8lld\n", "files", (long long)rep->files_added,
	       (long long)rep->files_present);
}

static void print_warnings(json_t *j, const struct bia_bundle_import_report *rep)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(j, "skipped"), i, v)
		cli_msg("warning: workflow %s@%s skipped: %s", bia_json_str(v, "workflow", ""),
			bia_json_str(v, "version", ""), bia_json_str(v, "reason", ""));
	if (rep->pyramids_failed)
		cli_msg("warning: %lld image pyramids could not be built ('biaflows fsck' retries)",
			(long long)rep->pyramids_failed);
}

/* The selection options export and pull share. */
#define SELECTION_OPTIONS                                                      \
	{"problem", required_argument, NULL, 'p'},                              \
	{"with-runs", no_argument, NULL, 'r'},                                 \
	{"with-workflows", no_argument, NULL, 'w'},                            \
	{"with-environments", no_argument, NULL, 'e'}
struct selection {
	const char *problems[256];
	size_t n;
	int runs, workflows, environments;
};

/* 1 if ch is a selection option (taken), else 0. */
static int selection_option(struct selection *s, int ch, char *arg)
{
	switch (ch) {
	case 'p':
		s->n += cli_split_commas(arg, (char **)s->problems + s->n, 256 - s->n);
		return 1;
	case 'r': s->runs = 1; return 1;
	case 'w': s->workflows = 1; return 1;
	case 'e': s->environments = s->workflows = 1; return 1;
	}
	return 0;
}

int cmd_export(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {SELECTION_OPTIONS,
					   {"progress", no_argument, NULL, 'P'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(export_usage, stdout);
		return 0;
	}
	struct prog pr = {.what = "export", .on = isatty(2)};
	struct selection sel = {0};
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (selection_option(&sel, ch, optarg))
			continue;
		switch (ch) {
		case 'P': pr.on = 1; break;
		case 'f':
			if ((fmt = cli_parse_format(optarg)) < 0 || fmt == OUT_CSV)
				return cli_usage_error(export_usage, "export prints table or json");
			break;
		default:
			return cli_usage_error(export_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(export_usage, "export takes one FILE");
	struct bia_bundle_export_opts o = {
		.problems = sel.problems, .nproblems = sel.n, .runs = sel.runs,
		.workflows = sel.workflows, .environments = sel.environments,
		.progress = print_progress, .progress_arg = &pr};
	struct bia_bundle_export_report rep;
	if (bia_bundle_export(&cli->ctx, &cli->inst, argv[optind], &o, &rep))
		return cli_error(cli);
	if (fmt == OUT_JSON) {
		json_t *j = bia_bundle_export_report_json(&rep);
		cli_print_object(stdout, j, OUT_JSON);
		json_decref(j);
	} else {
		printf("%s\n", rep.content_digest);
	}
	return 0;
}

int cmd_import(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"progress", no_argument, NULL, 'P'},
					   {"format", required_argument, NULL, 'f'},
					   {"no-pyramids", no_argument, NULL, 'n'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(import_usage, stdout);
		return 0;
	}
	struct prog pr = {.what = "import", .on = isatty(2)};
	int fmt = OUT_TABLE, ch, nopyr = 0;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'P') {
			pr.on = 1;
		} else if (ch == 'n') {
			nopyr = 1;
		} else if (ch == 'f') {
			if ((fmt = cli_parse_format(optarg)) < 0 || fmt == OUT_CSV)
				return cli_usage_error(import_usage, "import prints table or json");
		} else {
			return cli_usage_error(import_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(import_usage, "import takes one FILE or FOLDER");
	struct bia_bundle_import_opts o = {.progress = print_progress, .progress_arg = &pr,
					   .no_pyramids = nopyr};
	struct bia_bundle_import_report rep;
	if (bia_bundle_import(&cli->ctx, &cli->inst, argv[optind], &o, &rep))
		return cli_error(cli);
	json_t *j = bia_bundle_import_report_json(&rep);
	print_warnings(j, &rep);
	bia_bundle_import_report_release(&rep);
	if (fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	else
		print_counts(j, &rep);
	json_decref(j);
	return 0;
}

static const char pull_usage[] =
	"usage: biaflows pull URL [--problem P]... [--with-runs] [--with-workflows]\n"
	"                     [--with-environments] [--token T] [--no-pyramids]\n"
	"                     [--progress]\n"
	"                     [--format table|json]\n"
	"\n"
	"Copy content from another biaflows server (URL: http(s)://HOST:PORT) over\n"
	"its REST API: the server makes a snapshot of the selection (the options of\n"
	"'export'; without --problem every problem, which needs an admin's token\n"
	"there), then the manifest, the record files and every file this instance\n"
	"lacks are downloaded, each verified by its sha256, and imported like a\n"
	"bundle (all-or-nothing, content already here skipped). An interrupted pull\n"
	"resumes: run it again, files fetched before are kept (in\n"
	"<instance>/exchange/pull-*/ until the import succeeds). --token (default\n"
	"$BIAFLOWS_TOKEN) is an API token of the other server; --no-pyramids as\n"
	"for import.\n";

int cmd_pull(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {SELECTION_OPTIONS,
					   {"token", required_argument, NULL, 't'},
					   {"no-pyramids", no_argument, NULL, 'n'},
					   {"progress", no_argument, NULL, 'P'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(pull_usage, stdout);
		return 0;
	}
	struct bia_pull_opts o = {.token = getenv("BIAFLOWS_TOKEN")};
	struct prog pr = {.what = "pull", .on = isatty(2)};
	struct selection sel = {0};
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (selection_option(&sel, ch, optarg))
			continue;
		switch (ch) {
		case 't': o.token = optarg; break;
		case 'n': o.no_pyramids = 1; break;
		case 'P': pr.on = 1; break;
		case 'f':
			if ((fmt = cli_parse_format(optarg)) < 0 || fmt == OUT_CSV)
				return cli_usage_error(pull_usage, "pull prints table or json");
			break;
		default:
			return cli_usage_error(pull_usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(pull_usage, "pull takes one URL");
	o.url = argv[optind];
	o.problems = sel.problems;
	o.nproblems = sel.n;
	o.runs = sel.runs;
	o.workflows = sel.workflows;
	o.environments = sel.environments;
	o.progress = print_progress;
	o.progress_arg = &pr;
	struct bia_pull_report rep;
	if (bia_pull(&cli->ctx, &cli->inst, &o, &rep))
		return cli_error(cli);
	json_t *j = bia_pull_report_json(&rep);
	print_warnings(j, &rep.import);
	bia_bundle_import_report_release(&rep.import);
	if (fmt == OUT_JSON) {
		cli_print_object(stdout, j, OUT_JSON);
	} else {
		json_t *dl = json_object_get(j, "download");
		printf("downloaded %lld files (%.1f MB), %lld fetched before, %lld already here\n",
		       (long long)json_integer_value(json_object_get(dl, "files")),
		       (double)json_integer_value(json_object_get(dl, "bytes")) / 1e6,
		       (long long)json_integer_value(json_object_get(dl, "resumed")),
		       (long long)json_integer_value(json_object_get(dl, "skipped")));
		print_counts(j, &rep.import);
	}
	json_decref(j);
	return 0;
}
