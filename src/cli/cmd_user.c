/* biaflows user add|list|rm|passwd and biaflows token create|list|revoke
 * SPDX-License-Identifier: MIT */
#include "auth/auth.h"
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char user_usage[] =
	"usage: biaflows user add NAME --role admin|contributor|viewer [--format FMT]\n"
	"       biaflows user list [--format table|json|csv]\n"
	"       biaflows user rm NAME|ID\n"
	"       biaflows user passwd NAME|ID\n"
	"       biaflows user role NAME|ID admin|contributor|viewer\n"
	"\n"
	"Accounts of the server ('biaflows serve'). 'add' and 'passwd' read the\n"
	"password (8 to 1024 characters) from the first line of standard input;\n"
	"it is kept as an argon2id hash. Admins manage users and workflows;\n"
	"contributors create problems, upload data and launch runs; viewers read.\n"
	"Removing a user revokes its tokens and sessions.\n";

static const char token_usage[] =
	"usage: biaflows token create USER [--name LABEL] [--format table|json]\n"
	"       biaflows token list [--user USER] [--format table|json|csv]\n"
	"       biaflows token revoke ID\n"
	"\n"
	"API tokens for clients (curl, the Python client): send them as\n"
	"'Authorization: Bearer TOKEN'. 'create' prints the token once; only its\n"
	"SHA-256 is kept. A token acts as its user, with the user's role.\n";

struct uopts {
	int fmt;
	const char *role, *name, *user;
};

static int parse(const char *usage, int argc, char **argv, struct uopts *o)
{
	static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
					   {"role", required_argument, NULL, 'r'},
					   {"name", required_argument, NULL, 'n'},
					   {"user", required_argument, NULL, 'u'},
					   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->fmt = cli_parse_format(optarg);
			if (o->fmt < 0 || o->fmt == OUT_MD)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
			break;
		case 'r':
			o->role = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	return 0;
}

/* The first line of stdin (without its newline) hashed into out. */
static int read_password(struct bia_cli *cli, char *out)
{
	char line[BIA_PASSWORD_MAX + 2];
	if (!fgets(line, sizeof(line), stdin)) {
		bia_fail(&cli->ctx, BIA_EINVAL, "no password on standard input");
		return cli_error(cli);
	}
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	else if (n == sizeof(line) - 1) {
		bia_fail(&cli->ctx, BIA_EINVAL, "the password is longer than %d characters",
			 BIA_PASSWORD_MAX);
		return cli_error(cli);
	}
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	int rc = bia_password_hash(&cli->ctx, line, out);
	memset(line, 0, sizeof(line));
	return rc ? cli_error(cli) : 0;
}

static int user_add(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	if (parse(user_usage, argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(user_usage, "user add takes one NAME");
	if (!o.role || bia_role_parse(o.role) == BIA_ROLE_NONE)
		return cli_usage_error(user_usage, "user add needs --role admin, contributor or viewer");
	struct bia_user u;
	memset(&u, 0, sizeof(u));
	if (strlen(argv[optind]) > BIA_USER_NAME_MAX) {
		bia_fail(&cli->ctx, BIA_EINVAL, "a user name has 1 to %d characters",
			 BIA_USER_NAME_MAX);
		return cli_error(cli);
	}
	snprintf(u.name, sizeof(u.name), "%s", argv[optind]);
	u.role = bia_role_parse(o.role);
	char hash[BIA_PWHASH_MAX];
	int code = read_password(cli, hash);
	if (code)
		return code;
	if (bia_user_add(&cli->ctx, &cli->inst, &u, hash))
		return cli_error(cli);
	if (o.fmt == OUT_JSON) {
		json_t *j = bia_user_json(&u);
		cli_print_object(stdout, j, OUT_JSON);
		json_decref(j);
	} else {
		printf("%lld\n", (long long)u.id);
	}
	return 0;
}

static int user_list(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	if (parse(user_usage, argc, argv, &o))
		return 2;
	if (argc - optind != 0)
		return cli_usage_error(user_usage, "user list takes no arguments");
	struct bia_user *v;
	size_t n;
	if (bia_user_list(&cli->ctx, &cli->inst, (struct bia_page){0, 0}, &v, &n, NULL))
		return cli_error(cli);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, bia_user_json(&v[i]));
	bia_user_list_free(v, n);
	static const char *const cols[] = {"id", "name", "role", "created_at", NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

/* The user named by argv[optind] (exactly one argument after options). */
static int one_user(struct bia_cli *cli, int argc, char **argv, int nargs, const char *what,
		    struct bia_user *u)
{
	if (argc - optind != nargs)
		return cli_usage_error(user_usage, "%s", what);
	if (bia_user_get(&cli->ctx, &cli->inst, argv[optind], u))
		return cli_error(cli);
	return 0;
}

static int user_rm(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	struct bia_user u;
	int code;
	if (parse(user_usage, argc, argv, &o))
		return 2;
	if ((code = one_user(cli, argc, argv, 1, "user rm takes one NAME or ID", &u)))
		return code;
	int rc = bia_user_rm(&cli->ctx, &cli->inst, u.id);
	if (!rc)
		fprintf(stderr, "removed user '%s'\n", u.name);
	bia_user_release(&u);
	return rc ? cli_error(cli) : 0;
}

static int user_passwd(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	struct bia_user u;
	int code;
	if (parse(user_usage, argc, argv, &o))
		return 2;
	if ((code = one_user(cli, argc, argv, 1, "user passwd takes one NAME or ID", &u)))
		return code;
	bia_user_release(&u);
	char hash[BIA_PWHASH_MAX];
	if ((code = read_password(cli, hash)))
		return code;
	if (bia_user_set_password(&cli->ctx, &cli->inst, u.id, hash))
		return cli_error(cli);
	fprintf(stderr, "password of '%s' changed\n", u.name);
	return 0;
}

static int user_role(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	struct bia_user u;
	int code;
	if (parse(user_usage, argc, argv, &o))
		return 2;
	if ((code = one_user(cli, argc, argv, 2, "user role takes NAME|ID and a role", &u)))
		return code;
	bia_user_release(&u);
	enum bia_role r = bia_role_parse(argv[optind + 1]);
	if (r == BIA_ROLE_NONE)
		return cli_usage_error(user_usage, "a role is admin, contributor or viewer");
	if (bia_user_set_role(&cli->ctx, &cli->inst, u.id, r))
		return cli_error(cli);
	fprintf(stderr, "user '%s' is now %s\n", u.name, bia_role_name(r));
	return 0;
}

int cmd_user(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"add", user_add}, {"list", user_list}, {"rm", user_rm},
		{"passwd", user_passwd}, {"role", user_role},
	};
	return cli_dispatch(cli, argc, argv, user_usage, "user", subs, sizeof(subs) / sizeof(subs[0]));
}

static int token_create(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	if (parse(token_usage, argc, argv, &o))
		return 2;
	if (argc - optind != 1)
		return cli_usage_error(token_usage, "token create takes one USER");
	json_t *j;
	if (bia_token_create(&cli->ctx, &cli->inst, argv[optind], o.name, &j))
		return cli_error(cli);
	if (o.fmt == OUT_JSON)
		cli_print_object(stdout, j, OUT_JSON);
	else
		printf("%s\n", json_string_value(json_object_get(j, "token")));
	json_decref(j);
	return 0;
}

static int token_list(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	if (parse(token_usage, argc, argv, &o))
		return 2;
	if (argc - optind != 0)
		return cli_usage_error(token_usage, "token list takes no arguments");
	int64_t uid = 0;
	if (o.user) {
		struct bia_user u;
		if (bia_user_get(&cli->ctx, &cli->inst, o.user, &u))
			return cli_error(cli);
		uid = u.id;
		bia_user_release(&u);
	}
	struct bia_token *v;
	size_t n;
	if (bia_token_list(&cli->ctx, &cli->inst, uid, NULL, &v, &n))
		return cli_error(cli);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, bia_token_json(&v[i]));
	free(v);
	static const char *const cols[] = {"id", "user", "kind", "name", "created_at", NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)o.fmt);
	json_decref(rows);
	return 0;
}

static int token_revoke(struct bia_cli *cli, int argc, char **argv)
{
	struct uopts o;
	if (parse(token_usage, argc, argv, &o))
		return 2;
	int64_t id = argc - optind == 1 ? cli_parse_run_id(argv[optind]) : 0;
	if (!id)
		return cli_usage_error(token_usage, "token revoke takes one token ID");
	if (bia_token_revoke(&cli->ctx, &cli->inst, id))
		return cli_error(cli);
	fprintf(stderr, "revoked token %lld\n", (long long)id);
	return 0;
}

int cmd_token(struct bia_cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"create", token_create}, {"list", token_list}, {"revoke", token_revoke}};
	return cli_dispatch(cli, argc, argv, token_usage, "token", subs,
			    sizeof(subs) / sizeof(subs[0]));
}
