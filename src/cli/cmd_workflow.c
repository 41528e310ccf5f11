/* biaflows workflow add|sync|list|show
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "workflow/workflow.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows workflow add FOLDER [--version V] [--image-archive FILE.tar]\n"
	"                                    [--format table|json]\n"
	"       biaflows workflow add GIT_REPO [--image-archive FILE.tar] [--format table|json]\n"
	"       biaflows workflow sync NAME|GIT_REPO [--format table|json]\n"
	"       biaflows workflow list [--format table|json|csv]\n"
	"       biaflows workflow show NAME[@VERSION] [--format table|json]\n"
	"\n"
	"'add FOLDER' stores the folder (descriptor.json at its root, validated) as\n"
	"one immutable version: --version V, else dev-<12 hex of its digest>. 'add\n"
	"GIT_REPO' (a local repository; clone URLs first) adds every tag as a version\n"
	"named by the tag; give --version to add a repository's folder as a plain\n"
	"folder instead. 'sync' adds the tags not yet added (by workflow NAME: from\n"
	"the repository it was added from); moved tags are refused. --image-archive\n"
	"stores an OCI layout / docker save archive at the descriptor's\n"
	"environment.archive, else at .biaflows/image.tar. 'add' and 'sync' print\n"
	"the version ids, one per line; NAME alone means the newest version added.\n";

struct wopts {
	int fmt;
	const char *version;
	const char *archive;
};

static int parse(int argc, char **argv, struct wopts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"version", required_argument, NULL, 'v'},
					   {"image-archive", required_argument, NULL, 'a'},
					   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'f') {
			o->fmt = cli_parse_format(optarg);
			if (o->fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 'v') {
			o->version = optarg;
		} else if (ch == 'a') {
			o->archive = optarg;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	return 0;
}

static json_t *added_json(const struct bia_wf_added *a)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "name", a->name, "version", a->version, "status",
			      a->rc ? "refused" : a->existed ? "existing" : "added");
	json_object_set_new(o, "id", a->id ? json_integer(a->id) : json_null());
	json_object_set_new(o, "digest", a->digest[0] ? json_string(a->digest) : json_null());
	if (a->rc)
		json_object_set_new(o, "error", json_string(a->msg));
	return o;
}

/* Report the tags of a git add/sync: errors on stderr, ids (or JSON) on
 * stdout; `only_new`: print only versions added now. */
static int report_git(struct bia_cli *cli, int rc, const char *repo, struct bia_wf_added *v,
		      size_t n, int fmt, int only_new)
{
	if (!v)
		return cli_error(cli);
	size_t nnew = 0, nold = 0, nbad = 0;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (v[i].rc) {
			nbad++;
			if (v[i].rc == BIA_EEXIST)
				fprintf(stderr,
					"biaflows: error: tag '%s' of '%s' no longer matches the version "
					"added from it (moved tag?): %s\n",
					v[i].version, repo, v[i].msg);
			else
				cli_msg("error: tag '%s': %s", v[i].version,
					v[i].msg);
		} else if (v[i].existed) {
			nold++;
		} else {
			nnew++;
		}
		if (!only_new || (!v[i].rc && !v[i].existed))
			json_array_append_new(arr, added_json(&v[i]));
	}
	if (fmt == OUT_JSON) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(arr, i, e)
		{
			json_t *id = json_object_get(e, "id");
			if (json_is_integer(id))
				printf("%lld\n", (long long)json_integer_value(id));
		}
	}
	json_decref(arr);
	cli_msg("%s: %zu tag(s): %zu added, %zu already present, %zu refused",
		repo, n, nnew, nold, nbad);
	free(v);
	return rc ? bia_rc_exit_code((enum bia_rc)rc) : 0;
}

static int print_version(struct bia_cli *cli, int64_t id, const char *name, const char *version,
			 int fmt, int existed);

static int do_add(struct bia_cli *cli, int argc, char **argv)
{
	struct wopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "workflow add takes one FOLDER or GIT_REPO");
	if (o.fmt == OUT_CSV)
		return cli_usage_error(usage, "workflow add prints table or json");
	const char *path = argv[optind];
	struct bia_wf_add_opts ao;
	memset(&ao, 0, sizeof(ao));
	ao.version = o.version;
	ao.image_archive = o.archive;
	if (!o.version && bia_workflow_is_git(path)) {
		struct bia_wf_added *v = NULL;
		size_t n = 0;
		int rc = bia_workflow_add_git(&cli->ctx, &cli->inst, path, &ao, &v, &n);
		return report_git(cli, rc, path, v, n, o.fmt, 0);
	}
	struct bia_wf_added a;
	if (bia_workflow_add_folder(&cli->ctx, &cli->inst, path, &ao, &a))
		return cli_error(cli);
	if (a.existed)
		fprintf(stderr,
			"biaflows: workflow '%s' version '%s' already exists with the same content\n",
			a.name, a.version);
	return print_version(cli, a.id, a.name, a.version, o.fmt, a.existed);
}

static int do_sync(struct bia_cli *cli, int argc, char **argv)
{
	struct wopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "workflow sync takes one NAME or GIT_REPO");
	if (o.version)
		return cli_usage_error(usage, "workflow sync names versions by their tags (no --version)");
	if (o.fmt == OUT_CSV)
		return cli_usage_error(usage, "workflow sync prints table or json");
	const char *arg = argv[optind];
	char repo[BIA_PATH_MAX];
	if (bia_is_dir(arg) || strchr(arg, '/') || bia_workflow_is_git(arg)) {
		snprintf(repo, sizeof(repo), "%s", arg);
	} else if (bia_workflow_git_source(&cli->ctx, &cli->inst, arg, repo, sizeof(repo))) {
		return cli_error(cli);
	}
	struct bia_wf_add_opts ao;
	memset(&ao, 0, sizeof(ao));
	ao.image_archive = o.archive;
	struct bia_wf_added *v = NULL;
	size_t n = 0;
	int rc = bia_workflow_add_git(&cli->ctx, &cli->inst, repo, &ao, &v, &n);
	return report_git(cli, rc, repo, v, n, o.fmt, 1);
}

static int do_list(struct bia_cli *cli, int argc, char **argv)
{
	struct wopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 0)
		return cli_usage_error(usage, "workflow list takes no arguments");
	json_t *rows, *row;
	if (bia_workflows_list_json(&cli->ctx, &cli->inst, NULL, (struct bia_page){0, 0}, &rows,
				    NULL))
		return cli_error(cli);
	size_t i;
	json_array_foreach(rows, i, row)
	{
		if (o.fmt == OUT_TABLE) { /* a short digest for people */
			char short_digest[13];
			snprintf(short_digest, sizeof(short_digest), "%.12s",
				 json_string_value(json_object_get(row, "digest")));
			json_object_set_new(row, "digest", json_string(short_digest));
		}
	}
	static const char *const cols[] = {"id",	 "name",       "version", "class",
					   "digest",	 "created_at", "source",  NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

/* Print a version: its id alone (table) or the whole object (json). */
static int print_version(struct bia_cli *cli, int64_t id, const char *name, const char *version,
			 int fmt, int existed)
{
	if (fmt != OUT_JSON) {
		printf("%lld\n", (long long)id);
		return 0;
	}
	struct bia_wf_version v;
	if (bia_store_wf_get(&cli->ctx, &cli->inst, name, version, &v))
		return cli_error(cli);
	json_t *j = bia_workflow_json(&cli->ctx, &cli->inst, &v);
	bia_wf_version_release(&v);
	if (!j)
		return cli_error(cli);
	json_object_set_new(j, "existed", json_boolean(existed));
	cli_print_object(stdout, j, OUT_JSON);
	json_decref(j);
	return 0;
}

static void print_sub(const char *title, json_t *obj)
{
	const char *k;
	json_t *val;
	int first = 1;
	printf("%-16s ", title);
	json_object_foreach(obj, k, val)
	{
		if (json_is_null(val))
			continue;
		char *s = json_is_string(val) ? bia_strdup(json_string_value(val))
					      : json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s%s=%s", first ? "" : " ", k, s ? s : "");
		free(s);
		first = 0;
	}
	printf("%s\n", first ? "-" : "");
}

static int do_show(struct bia_cli *cli, int argc, char **argv)
{
	struct wopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "workflow show takes one NAME or NAME@VERSION");
	struct bia_wf_version v;
	if (bia_workflow_get(&cli->ctx, &cli->inst, argv[optind], &v))
		return cli_error(cli);
	json_t *j = bia_workflow_json(&cli->ctx, &cli->inst, &v);
	bia_wf_version_release(&v);
	if (!j)
		return cli_error(cli);
	if (o.fmt == OUT_JSON) {
		cli_print_object(stdout, j, OUT_JSON);
		json_decref(j);
		return 0;
	}
	cli_print_object(stdout, j, OUT_TABLE);
	print_sub("environment", json_object_get(j, "environment"));
	json_t *c = json_object_get(j, "container");
	if (json_is_object(c))
		print_sub("container", c);
	print_sub("resources", json_object_get(j, "resources"));
	json_t *params = json_object_get(j, "parameters");
	printf("\nparameters:\n");
	static const char *const pcols[] = {"id",	"type",	    "default",	 "optional",
					    "excluded", "description", NULL};
	cli_print_list(stdout, params, pcols, OUT_TABLE);
	printf("\nversions:\n");
	static const char *const vcols[] = {"id", "version", "created_at", "digest", NULL};
	cli_print_list(stdout, json_object_get(j, "versions"), vcols, OUT_TABLE);
	printf("\nfiles:\n");
	static const char *const fcols[] = {"mode", "bytes", "path", NULL};
	cli_print_list(stdout, json_object_get(j, "files"), fcols, OUT_TABLE);
	json_decref(j);
	return 0;
}

int cmd_workflow(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", do_add},
		{"sync", do_sync},
		{"list", do_list},
		{"show", do_show},
	};
	return cli_dispatch(cli, argc, argv, usage, "workflow", subs, sizeof(subs) / sizeof(subs[0]));
}
