/* Shared CLI helpers: instance resolution, errors, table/JSON/CSV output.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "workflow/workflow.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_open_instance(struct bia_cli *cli)
{
	const char *dir = cli->instance_dir;
	char cwd[PATH_MAX];
	if (!dir)
		dir = getenv("BIAFLOWS_INSTANCE");
	if (!dir || !*dir) {
		if (getcwd(cwd, sizeof(cwd)) && bia_instance_probe(cwd))
			dir = cwd;
	}
	if (!dir || !*dir)
		return bia_fail(&cli->ctx, BIA_EUSAGE,
				"no instance: use --instance DIR, set BIAFLOWS_INSTANCE, or run "
				"inside an instance (create one with 'biaflows init DIR')");
	if (!bia_instance_probe(dir))
		return bia_fail(&cli->ctx, BIA_ENOENT,
				"'%s' is not a biaflows instance (create one with 'biaflows init')",
				dir);
	if (bia_instance_open(&cli->ctx, dir, &cli->inst))
		return cli->ctx.rc;
	cli->have_inst = 1;
	return 0;
}

void cli_msg(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bia_one_line(line, sizeof(line));
	fprintf(stderr, "biaflows: %s\n", line);
}

int cli_error(struct bia_cli *cli)
{
	cli_msg("error: %s",
		cli->ctx.msg[0] ? cli->ctx.msg : bia_strerror(cli->ctx.rc));
	return bia_rc_exit_code(cli->ctx.rc ? cli->ctx.rc : BIA_EIO);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cli_msg("error: %s", line);
	fputs(usage, stderr);
	return 2;
}

int cli_parse_format(const char *s)
{
	if (!strcmp(s, "table"))
		return OUT_TABLE;
	if (!strcmp(s, "json"))
		return OUT_JSON;
	if (!strcmp(s, "csv"))
		return OUT_CSV;
	return -1;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int cli_dispatch(struct bia_cli *cli, int argc, char **argv, const char *usage,
		 const char *what, const struct cli_sub *subs, size_t nsubs)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < nsubs; i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(cli, argc - 1, argv + 1);
	return cli_usage_error(usage, "unknown %s subcommand '%s'", what, argv[1]);
}

/* Text of a JSON scalar for tables and CSV. Returns malloc'd string. */
static char *cell(json_t *v)
{
	return bia_json_text(v, 6);
}

static void csv_field(FILE *f, const char *s)
{
	struct bia_buf b;
	bia_buf_init(&b, (size_t)1 << 30);
	bia_csv_field(&b, s);
	if (b.len)
		fwrite(b.buf, 1, b.len, f);
	bia_buf_release(&b);
}

void cli_print_list(FILE *f, json_t *rows, const char *const *cols, enum bia_out_format fmt)
{
	size_t ncols = 0, nrows = json_array_size(rows);
	while (cols[ncols])
		ncols++;
	if (fmt == OUT_JSON) {
		json_dumpf(rows, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		return;
	}
	if (fmt == OUT_CSV) {
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				fputc(',', f);
			csv_field(f, cols[c]);
		}
		fputc('\n', f);
		for (size_t r = 0; r < nrows; r++) {
			for (size_t c = 0; c < ncols; c++) {
				char *s = cell(json_object_get(json_array_get(rows, r), cols[c]));
				if (c)
					fputc(',', f);
				csv_field(f, s ? s : "");
				free(s);
			}
			fputc('\n', f);
		}
		return;
	}
	size_t *w = bia_calloc(ncols, sizeof(size_t));
	if (!w)
		return;
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(cols[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			char *s = cell(json_object_get(json_array_get(rows, r), cols[c]));
			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
			free(s);
		}
	for (size_t c = 0; c < ncols; c++) {
		for (const char *p = cols[c]; *p; p++)
			fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
		if (c + 1 < ncols)
			fprintf(f, "%*s", (int)(w[c] - strlen(cols[c]) + 2), "");
	}
	fputc('\n', f);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			char *s = cell(json_object_get(json_array_get(rows, r), cols[c]));
			if (c + 1 < ncols)
				fprintf(f, "%-*s  ", (int)w[c], s ? s : "");
			else
				fputs(s ? s : "", f);
			free(s);
		}
		fputc('\n', f);
	}
	free(w);
}

void cli_print_object(FILE *f, json_t *obj, enum bia_out_format fmt)
{
	if (fmt == OUT_JSON) {
		json_dumpf(obj, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (json_is_array(v) || json_is_object(v))
			continue;
		char *s = cell(v);
		fprintf(f, "%-16s %s\n", key, s ? s : "");
		free(s);
	}
}

int cli_report_import(struct bia_cli *cli, int rc, struct bia_import_result *r,
		      enum bia_out_format fmt, int print_ids)
{
	size_t i;
	json_t *v;
	json_array_foreach(r->warnings, i, v) cli_msg("warning: %s",
						      json_string_value(v));
	size_t nbad = json_array_size(r->invalid);
	if (rc) {
		if (nbad == 1 && rc == BIA_EFORMAT) {
			cli_msg("error: %s (nothing imported)",
				json_string_value(json_array_get(r->invalid, 0)));
			return 1;
		}
		json_array_foreach(r->invalid, i, v)
			cli_msg("error: %s", json_string_value(v));
		return cli_error(cli);
	}
	json_array_foreach(r->invalid, i, v)
		cli_msg("skipped: %s", json_string_value(v));
	if (fmt == OUT_JSON) {
		json_t *o = bia_import_result_json(r);
		cli_print_object(stdout, o, OUT_JSON);
		json_decref(o);
	} else if (print_ids) {
		json_array_foreach(r->added, i, v)
			printf("%lld\n", (long long)json_integer_value(json_object_get(v, "id")));
	}
	return 0;
}

int cli_parse_page_arg(const char *usage, const char *opt, const char *arg, int64_t *out)
{
	int is_limit = !strcmp(opt, "--limit");
	if (bia_parse_int_range(arg, is_limit ? 1 : 0, is_limit ? BIA_PAGE_MAX : INT64_MAX, out))
		return cli_usage_error(usage, "bad %s '%s' (%s)", opt, arg,
				       is_limit ? "1 to 1000" : "0 or more");
	return 0;
}
