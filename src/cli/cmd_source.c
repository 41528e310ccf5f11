/* biaflows source add|list|show|rm|sync: trusted workflow sources (git
 * repositories whose tags become workflow versions). The library does the
 * work (src/workflow/sources.c); the REST API prints the same JSON.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "workflow/workflow.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows source add PATH|URL [--name NAME] [--interval SECONDS]\n"
	"                           [--format table|json]\n"
	"       biaflows source list [--format table|json|csv]\n"
	"       biaflows source show ID|NAME [--format table|json]\n"
	"       biaflows source rm ID|NAME\n"
	"       biaflows source sync [ID|NAME] [--format table|json]\n"
	"\n"
	"Trusted workflow sources: git repositories (a local path, or a file://,\n"
	"http:// or https:// URL the server can reach; not ssh) whose tags become\n"
	"immutable workflow versions named by the tag. 'add' checks that the\n"
	"repository answers and prints the new id; 'biaflows serve' syncs each\n"
	"source every --interval seconds (default 3600, at least 60). 'sync' (of\n"
	"one source, or of all) fetches the tags now and adds the new ones; it\n"
	"prints the ids of the versions it added and exits 1 when the repository\n"
	"could not be reached or a tag was refused (an invalid descriptor, a\n"
	"moved tag: versions never change). 'show' lists what became of each tag.\n"
	"'rm' forgets the source; its versions stay.\n";

struct sopts {
	int fmt;
	const char *name;
	int64_t interval;
};

static int parse(int argc, char **argv, struct sopts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"name", required_argument, NULL, 'n'},
					   {"interval", required_argument, NULL, 'i'},
					   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'f') {
			o->fmt = cli_parse_format(optarg);
			if (o->fmt < 0 || o->fmt == OUT_MD)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else if (ch == 'n') {
			o->name = optarg;
		} else if (ch == 'i') {
			unsigned long long n;
			if (cli_parse_count(optarg, BIA_SOURCE_MAX_INTERVAL, &n) ||
			    n < BIA_SOURCE_MIN_INTERVAL)
				return cli_usage_error(usage, "--interval is %d to %d seconds",
						       BIA_SOURCE_MIN_INTERVAL,
						       BIA_SOURCE_MAX_INTERVAL);
			o->interval = (int64_t)n;
		} else {
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	return 0;
}

static int do_add(struct bia_cli *cli, int argc, char **argv)
{
	struct sopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "source add takes one PATH or URL");
	if (o.fmt == OUT_CSV)
		return cli_usage_error(usage, "source add prints table or json");
	struct bia_source_add_opts ao = {.name = o.name, .interval = o.interval};
	json_t *j;
	if (bia_source_add(&cli->ctx, &cli->inst, argv[optind], &ao, &j))
		return cli_error(cli);
	if (o.fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	else
		printf("%lld\n", (long long)json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	return 0;
}

static const char *const list_cols[] = {"id",	   "name",	   "url",   "interval",
					"status", "last_sync_at", "error", NULL};

static int do_list(struct bia_cli *cli, int argc, char **argv)
{
	struct sopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 0)
		return cli_usage_error(usage, "source list takes no arguments");
	json_t *rows;
	if (bia_sources_list_json(&cli->ctx, &cli->inst, &rows))
		return cli_error(cli);
	cli_print_list(stdout, rows, list_cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

static const char *const tag_cols[] = {"tag",	  "status",  "version_id", "workflow",
				       "updated_at", "message", NULL};

static void print_source(json_t *j)
{
	json_t *tags = json_incref(json_object_get(j, "tags"));
	json_t *shown = json_copy(j);
	json_object_del(shown, "tags");
	json_object_del(shown, "imported");
	json_object_del(shown, "changes");
	cli_print_object(stdout, shown, OUT_TABLE);
	json_decref(shown);
	printf("\ntags:\n");
	cli_print_list(stdout, tags, tag_cols, OUT_TABLE);
	json_decref(tags);
}

static int do_show(struct bia_cli *cli, int argc, char **argv)
{
	struct sopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "source show takes one ID or NAME");
	if (o.fmt == OUT_CSV)
		return cli_usage_error(usage, "source show prints table or json");
	json_t *j;
	if (bia_source_json(&cli->ctx, &cli->inst, argv[optind], &j))
		return cli_error(cli);
	if (o.fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	else
		print_source(j);
	json_decref(j);
	return 0;
}

static int do_rm(struct bia_cli *cli, int argc, char **argv)
{
	struct sopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(usage, "source rm takes one ID or NAME");
	json_t *j;
	if (bia_source_rm(&cli->ctx, &cli->inst, argv[optind], &j))
		return cli_error(cli);
	cli_msg("removed source %lld '%s' (its versions stay)",
		(long long)json_integer_value(json_object_get(j, "id")),
		bia_json_str(j, "name", ""));
	json_decref(j);
	return 0;
}

/* One sync's result on stderr (what changed, and why the source is not
 * ok); returns 1 when it is not ok. Ids of the new versions on stdout
 * (table). */
static int report_sync(json_t *r, int fmt)
{
	const char *name = bia_json_str(r, "name", ""), *st = bia_json_str(r, "status", "");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(r, "changes"), i, c)
	{
		const char *cs = bia_json_str(c, "status", ""), *msg = bia_json_str(c, "message", "");
		if (!strcmp(cs, "refused"))
			cli_msg("error: source '%s': tag '%s' refused: %s", name,
				bia_json_str(c, "tag", ""), msg);
		else if (!strcmp(cs, "deleted"))
			cli_msg("source '%s': tag '%s': %s", name, bia_json_str(c, "tag", ""), msg);
	}
	if (!strcmp(st, "error"))
		cli_msg("error: source '%s': %s", name, bia_json_str(r, "error", ""));
	if (fmt != OUT_JSON)
		json_array_foreach(json_object_get(r, "imported"), i, c)
			printf("%lld\n", (long long)json_integer_value(c));
	cli_msg("source '%s': %s, %zu version(s) imported", name, st,
		json_array_size(json_object_get(r, "imported")));
	return strcmp(st, "ok") != 0;
}

static int do_sync(struct bia_cli *cli, int argc, char **argv)
{
	struct sopts o;
	if (parse(argc, argv, &o))
		return 2;
	if (argc - optind > 1)
		return cli_usage_error(usage, "source sync takes at most one ID or NAME");
	if (o.fmt == OUT_CSV)
		return cli_usage_error(usage, "source sync prints table or json");
	const char *ref = argc - optind == 1 ? argv[optind] : NULL;
	json_t *j;
	if (bia_source_sync(&cli->ctx, &cli->inst, ref, &j))
		return cli_error(cli);
	int bad = 0;
	if (ref) {
		bad = report_sync(j, o.fmt);
	} else {
		size_t i;
		json_t *r;
		json_array_foreach(j, i, r)
			bad |= report_sync(r, o.fmt);
	}
	if (o.fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	json_decref(j);
	return bad ? 1 : 0;
}

int cmd_source(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", do_add}, {"list", do_list}, {"show", do_show},
		{"rm", do_rm},	 {"sync", do_sync},
	};
	return cli_dispatch(cli, argc, argv, usage, "source", subs, sizeof(subs) / sizeof(subs[0]));
}
