/* Parameters of a run and its command line (argv, local mode).
 * Rules: docs/workflows.md.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/wf_int.h"

static const char *const local_args[] = {"--local",	"--infolder", "/data/in",
					 "--outfolder", "/data/out",  "--gtfolder",
					 "/data/gt",	"-nmc"};

int bia_descriptor_resolve(struct bia_ctx *ctx, const struct bia_descriptor *d,
			   const char *const *name_eq_value, size_t n, json_t **pvalues)
{
	*pvalues = NULL;
	const char **given = calloc(d->n_inputs ? d->n_inputs : 1, sizeof(*given));
	json_t *values = json_object();
	char why[512];
	int rc = 0;
	if (!given || !values) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = name_eq_value[i];
		const char *eq = strchr(s, '=');
		if (!eq || eq == s) {
			rc = bia_fail(ctx, BIA_EINVAL, "'%.64s': expected NAME=VALUE", s);
			goto out;
		}
		size_t k, nl = (size_t)(eq - s);
		for (k = 0; k < d->n_inputs; k++)
			if (strlen(d->inputs[k].id) == nl && !memcmp(d->inputs[k].id, s, nl))
				break;
		if (k == d->n_inputs) {
			struct bia_buf b;
			bia_buf_init(&b, 600);
			for (size_t j = 0; j < d->n_inputs; j++)
				if (!d->inputs[j].excluded)
					bia_buf_addf(&b, "%s%s", b.len ? ", " : "", d->inputs[j].id);
			rc = bia_fail(ctx, BIA_EINVAL, "unknown parameter '%.*s' (parameters: %s)",
				      (int)(nl > 64 ? 64 : nl), s, b.len ? b.buf : "none");
			bia_buf_release(&b);
			goto out;
		}
		const struct bia_wf_param *p = &d->inputs[k];
		if (p->excluded) {
			rc = bia_fail(ctx, BIA_EINVAL,
				      "parameter '%s' is set by the server and cannot be given "
				      "(left out in local mode)", p->id);
			goto out;
		}
		if (given[k]) {
			rc = bia_fail(ctx, BIA_EINVAL, "parameter '%s' given twice", p->id);
			goto out;
		}
		given[k] = eq + 1;
		if (*given[k] && bia_wf_check_value(p, given[k], why, sizeof(why))) {
			rc = bia_fail(ctx, BIA_EINVAL, "parameter '%s': %s", p->id, why);
			goto out;
		}
	}
	for (size_t k = 0; k < d->n_inputs; k++) {
		const struct bia_wf_param *p = &d->inputs[k];
		if (p->excluded)
			continue;
		/* an explicitly empty value means "no value", not the default */
		const char *v = given[k] ? given[k] : p->default_value;
		if (!*v) {
			if (!p->optional) {
				rc = bia_fail(ctx, BIA_EINVAL,
					      "parameter '%s' is required and has no default", p->id);
				goto out;
			}
			continue;
		}
		if (json_object_set_new(values, p->id, json_string(v))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out;
		}
	}
	*pvalues = values;
	values = NULL;
out:
	free(given);
	json_decref(values);
	return rc;
}

struct vec {
	char **v;
	size_t n, cap;
	int err;
};

static void push(struct vec *a, const char *s, size_t len)
{
	if (a->err)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->err = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
		a->v[a->n] = NULL;
	}
	char *c = malloc(len + 1);
	if (!c) {
		a->err = 1;
		return;
	}
	memcpy(c, s, len);
	c[len] = '\0';
	a->v[a->n++] = c;
	a->v[a->n] = NULL;
}

/* Push each whitespace-separated word of s. */
static void push_words(struct vec *a, const char *s)
{
	while (*s) {
		s += strspn(s, WF_WS);
		size_t t = strcspn(s, WF_WS);
		if (t)
			push(a, s, t);
		s += t;
	}
}

void bia_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* Push "flag value" of one parameter (nothing for an optional one without
 * a value). off: passed after the template, where an empty flag is "--ID". */
static int push_param(struct bia_ctx *ctx, struct vec *a, const struct bia_wf_param *p,
		      const json_t *values, int off)
{
	char why[512], buf[64];
	const json_t *jv = values ? json_object_get(values, p->id) : NULL;
	int isnull = 1;
	const char *v = jv ? bia_wf_scalar_text(jv, buf, sizeof(buf), &isnull) : NULL;
	if (jv && !v && !isnull)
		return bia_fail(ctx, BIA_EINVAL,
				"parameter '%s': value must be a string, a number or a boolean",
				p->id);
	if (!v || !*v) {
		if (!p->optional)
			return bia_fail(ctx, BIA_EINVAL, "parameter '%s' is required and has no value",
					p->id);
		return 0;
	}
	if (bia_wf_check_value(p, v, why, sizeof(why)))
		return bia_fail(ctx, BIA_EINVAL, "parameter '%s': %s", p->id, why);
	if (off && !*p->flag) {
		char fl[96];
		snprintf(fl, sizeof(fl), "--%s", p->id);
		push(a, fl, strlen(fl));
	} else {
		push_words(a, p->flag);
	}
	push(a, v, strlen(v));
	return 0;
}

int bia_descriptor_argv(struct bia_ctx *ctx, const struct bia_descriptor *d,
			const json_t *values, char ***pargv, size_t *pargc)
{
	struct vec a = {0};
	int rc = 0;
	*pargv = NULL;
	if (pargc)
		*pargc = 0;
	if (values && !json_is_object(values))
		return bia_fail(ctx, BIA_EINVAL, "parameter values must be a JSON object");
	for (const char *s = d->command_line; *s;) {
		s += strspn(s, WF_WS);
		size_t t = strcspn(s, WF_WS);
		if (!t)
			break;
		const struct bia_wf_param *p = NULL;
		for (size_t k = 0; k < d->n_inputs && !p; k++)
			if (strlen(d->inputs[k].value_key) == t &&
			    !memcmp(d->inputs[k].value_key, s, t))
				p = &d->inputs[k];
		if (!p) {
			push(&a, s, t);
		} else if (!p->excluded && !p->server_parameter &&
			   (rc = push_param(ctx, &a, p, values, 0))) {
			goto fail;
		}
		s += t;
	}
	/* parameters whose value-key is not in the command line follow it */
	for (size_t k = 0; k < d->n_inputs; k++)
		if (d->inputs[k].off_template &&
		    (rc = push_param(ctx, &a, &d->inputs[k], values, 1)))
			goto fail;
	for (size_t i = 0; i < sizeof(local_args) / sizeof(*local_args); i++)
		push(&a, local_args[i], strlen(local_args[i]));
	if (a.err) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto fail;
	}
	*pargv = a.v;
	if (pargc)
		*pargc = a.n;
	return 0;
fail:
	bia_argv_free(a.v);
	return rc;
}
