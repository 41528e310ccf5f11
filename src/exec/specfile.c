/* A sandbox spec as a JSON file: what a cluster job carries to the node
 * that runs it (docs/exec.md "Spec files"). Only the fields that describe
 * the sandbox travel; the log, cancel and callback fields are the node's.
 * SPDX-License-Identifier: MIT */
#include "exec/exec.h"

#include <stdlib.h>
#include <string.h>

#define SPEC_FORMAT "biaflows-exec-spec"
#define SPEC_MAX_ARGS 4096

static json_t *str_array(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *bia_exec_spec_json(const struct bia_exec_spec *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "format", json_string(SPEC_FORMAT));
	json_object_set_new(o, "argv", str_array(s->argv));
	json_object_set_new(o, "env", str_array(s->env));
	set_str(o, "rootfs", s->rootfs);
	set_str(o, "app_dir", s->app_dir);
	set_str(o, "in_dir", s->in_dir);
	set_str(o, "out_dir", s->out_dir);
	set_str(o, "workdir", s->workdir);
	set_str(o, "bwrap", s->bwrap);
	set_str(o, "cgroup_root", s->cgroup_root);
	json_object_set_new(o, "uid", json_integer(s->uid));
	json_object_set_new(o, "gid", json_integer(s->gid));
	const struct bia_exec_limits *l = &s->limits;
	json_t *lim = json_object();
	json_object_set_new(lim, "wall_seconds", json_real(l->wall_seconds));
	json_object_set_new(lim, "memory_bytes", json_integer((json_int_t)l->memory_bytes));
	json_object_set_new(lim, "max_procs", json_integer(l->max_procs));
	json_object_set_new(lim, "max_open_files", json_integer(l->max_open_files));
	json_object_set_new(lim, "out_bytes", json_integer((json_int_t)l->out_bytes));
	json_object_set_new(lim, "log_bytes", json_integer((json_int_t)l->log_bytes));
	json_object_set_new(o, "limits", lim);
	return o;
}

void bia_exec_spec_file_release(struct bia_exec_spec_file *f)
{
	for (size_t i = 0; f->strs && f->strs[i]; i++)
		free(f->strs[i]);
	free(f->strs);
	free(f->argv);
	free(f->env);
	memset(f, 0, sizeof(*f));
}

/* A string kept by f (freed by the release). */
static const char *keep(struct bia_exec_spec_file *f, size_t *pn, const char *s)
{
	f->strs[*pn] = bia_strdup(s);
	return f->strs[(*pn)++];
}

static int str_field(struct bia_ctx *ctx, struct bia_exec_spec_file *f, size_t *pn,
		     const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) >= BIA_PATH_MAX)
		return bia_fail(ctx, BIA_EINVAL, "spec file: '%s' must be a string (a path)", key);
	*out = keep(f, pn, json_string_value(v));
	return 0;
}

static int arr_field(struct bia_ctx *ctx, struct bia_exec_spec_file *f, size_t *pn,
		     const json_t *o, const char *key, char ***out)
{
	const json_t *a = json_object_get(o, key);
	if (a && !json_is_array(a))
		return bia_fail(ctx, BIA_EINVAL, "spec file: '%s' must be an array", key);
	size_t n = a ? json_array_size(a) : 0;
	*out = bia_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_string(v))
			return bia_fail(ctx, BIA_EINVAL, "spec file: '%s' item %zu is not a string",
					key, i);
		(*out)[i] = (char *)keep(f, pn, json_string_value(v));
	}
	return 0;
}

/* A number in [lo, hi]; dflt when absent. */
static int num_field(struct bia_ctx *ctx, const json_t *o, const char *key, double lo,
		     double hi, double dflt, double *out)
{
	const json_t *v = json_object_get(o, key);
	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		return bia_fail(ctx, BIA_EINVAL, "spec file: '%s' must be a number in [%g, %g]",
				key, lo, hi);
	*out = json_number_value(v);
	return 0;
}

int bia_exec_spec_parse(struct bia_ctx *ctx, const char *text, size_t len,
			struct bia_exec_spec_file *f)
{
	memset(f, 0, sizeof(*f));
	bia_exec_spec_init(&f->spec);
	json_t *o = bia_json_parse(ctx, "spec file", text, len);
	if (!o)
		return ctx->rc;
	int rc = 0;
	const json_t *argv = json_object_get(o, "argv"), *env = json_object_get(o, "env");
	size_t nstr = (json_is_array(argv) ? json_array_size(argv) : 0) +
		      (json_is_array(env) ? json_array_size(env) : 0) + 8;
	if (!json_is_object(o) || strcmp(bia_json_str(o, "format", ""), SPEC_FORMAT))
		rc = bia_fail(ctx, BIA_EINVAL, "spec file: not a %s object", SPEC_FORMAT);
	else if (!json_is_array(argv) || json_array_size(argv) == 0)
		rc = bia_fail(ctx, BIA_EINVAL, "spec file: 'argv' must be a non-empty array");
	else if (nstr > SPEC_MAX_ARGS)
		rc = bia_fail(ctx, BIA_ELIMIT, "spec file: more than %d arguments and variables",
			      SPEC_MAX_ARGS - 8);
	if (rc) {
		json_decref(o);
		return rc;
	}
	f->strs = bia_calloc(nstr + 1, sizeof(char *));
	size_t n = 0;
	struct bia_exec_spec *s = &f->spec;
	rc = arr_field(ctx, f, &n, o, "argv", &f->argv) ||
	     arr_field(ctx, f, &n, o, "env", &f->env) ||
	     str_field(ctx, f, &n, o, "rootfs", &s->rootfs) ||
	     str_field(ctx, f, &n, o, "app_dir", &s->app_dir) ||
	     str_field(ctx, f, &n, o, "in_dir", &s->in_dir) ||
	     str_field(ctx, f, &n, o, "out_dir", &s->out_dir) ||
	     str_field(ctx, f, &n, o, "workdir", &s->workdir) ||
	     str_field(ctx, f, &n, o, "bwrap", &s->bwrap) ||
	     str_field(ctx, f, &n, o, "cgroup_root", &s->cgroup_root);
	s->argv = f->argv;
	s->env = f->env;
	const json_t *lim = json_object_get(o, "limits");
	double d[8];
	if (!rc && lim && !json_is_object(lim))
		rc = bia_fail(ctx, BIA_EINVAL, "spec file: 'limits' must be an object");
	if (!rc)
		rc = num_field(ctx, o, "uid", -1, 4294967294.0, -1, &d[0]) ||
		     num_field(ctx, o, "gid", -1, 4294967294.0, -1, &d[1]) ||
		     num_field(ctx, lim, "wall_seconds", 0, 1e9, 0, &d[2]) ||
		     num_field(ctx, lim, "memory_bytes", 0, 9e18, 0, &d[3]) ||
		     num_field(ctx, lim, "max_procs", 0, 4294967295.0, 0, &d[4]) ||
		     num_field(ctx, lim, "max_open_files", 0, 4294967295.0, 0, &d[5]) ||
		     num_field(ctx, lim, "out_bytes", 0, 9e18, 0, &d[6]) ||
		     num_field(ctx, lim, "log_bytes", 0, 9e18, 0, &d[7]);
	json_decref(o);
	if (rc) {
		bia_exec_spec_file_release(f);
		return ctx->rc;
	}
	s->uid = (long)d[0];
	s->gid = (long)d[1];
	s->limits.wall_seconds = d[2];
	s->limits.memory_bytes = (uint64_t)d[3];
	s->limits.max_procs = (unsigned)d[4];
	s->limits.max_open_files = (unsigned)d[5];
	s->limits.out_bytes = (uint64_t)d[6];
	s->limits.log_bytes = (uint64_t)d[7];
	return 0;
}
