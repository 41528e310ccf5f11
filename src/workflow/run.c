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

static size_t param_index(const struct bia_descriptor *d, const char *id)
{
	for (size_t k = 0; k < d->n_inputs; k++)
		if (!strcmp(d->inputs[k].id, id))
			return k;
	return d->n_inputs;
}

/* requires-inputs, disables-inputs and groups, on the explicitly given
 * values and the effective ones (eff: given, else default; "" = none). An
 * explicitly given input drops the defaults it rules out. */
static int check_constraints(struct bia_ctx *ctx, const struct bia_descriptor *d,
			     const char **given, const char **eff)
{
	for (size_t k = 0; k < d->n_inputs; k++) {
		const struct bia_wf_param *p = &d->inputs[k];
		if (!given[k] || !*given[k])
			continue;
		for (size_t j = 0; j < p->n_disables; j++) {
			size_t q = param_index(d, p->disables[j]);
			if (q == d->n_inputs)
				continue;
			if (given[q] && *given[q])
				return bia_fail(ctx, BIA_EINVAL,
						"parameters '%s' and '%s' cannot be given together "
						"('%s' disables '%s')",
						p->id, p->disables[j], p->id, p->disables[j]);
			eff[q] = "";
		}
		for (size_t g = 0; g < d->n_groups; g++) {
			const struct bia_wf_group *gr = &d->groups[g];
			int member = 0;
			for (size_t m = 0; m < gr->n_members; m++)
				member |= !strcmp(gr->members[m], p->id);
			if (!member || !gr->mutually_exclusive)
				continue;
			for (size_t m = 0; m < gr->n_members; m++) {
				size_t q = param_index(d, gr->members[m]);
				if (q == k || q == d->n_inputs)
					continue;
				if (given[q] && *given[q])
					return bia_fail(ctx, BIA_EINVAL,
							"parameters '%s' and '%s' cannot be given "
							"together (group '%s' is mutually exclusive)",
							p->id, gr->members[m], gr->id);
				eff[q] = "";
			}
		}
	}
	for (size_t k = 0; k < d->n_inputs; k++) {
		const struct bia_wf_param *p = &d->inputs[k];
		if (!*eff[k])
			continue;
		for (size_t j = 0; j < p->n_requires; j++) {
			size_t q = param_index(d, p->requires[j]);
			if (q < d->n_inputs && !*eff[q])
				return bia_fail(ctx, BIA_EINVAL,
						"parameter '%s' requires '%s', which has no value",
						p->id, p->requires[j]);
		}
	}
	for (size_t g = 0; g < d->n_groups; g++) {
		const struct bia_wf_group *gr = &d->groups[g];
		size_t have = 0;
		for (size_t m = 0; m < gr->n_members; m++) {
			size_t q = param_index(d, gr->members[m]);
			have += q < d->n_inputs && *eff[q];
		}
		if (gr->mutually_exclusive && have > 1)
			return bia_fail(ctx, BIA_EINVAL,
					"group '%s' is mutually exclusive but %zu of its parameters "
					"have a value (their defaults)",
					gr->id, have);
		if (gr->one_is_required && !have)
			return bia_fail(ctx, BIA_EINVAL,
					"group '%s' needs one of its parameters to have a value", gr->id);
		if (gr->all_or_none && have && have < gr->n_members)
			return bia_fail(ctx, BIA_EINVAL,
					"group '%s' needs all of its parameters or none (%zu of %zu "
					"have a value)",
					gr->id, have, gr->n_members);
	}
	return 0;
}

int bia_descriptor_values_equal(const struct bia_descriptor *d, const json_t *a,
				const json_t *b)
{
	if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) != json_object_size(b))
		return 0;
	const char *key;
	json_t *va;
	json_object_foreach((json_t *)a, key, va)
	{
		json_t *vb = json_object_get(b, key);
		char b1[64], b2[64];
		int n1, n2;
		const char *sa = vb ? bia_wf_scalar_text(va, b1, sizeof(b1), &n1) : NULL;
		const char *sb = vb ? bia_wf_scalar_text(vb, b2, sizeof(b2), &n2) : NULL;
		if (!sa || !sb)
			return 0;
		size_t k = param_index(d, key);
		if (k < d->n_inputs ? !bia_wf_same_value(&d->inputs[k], sa, sb) : strcmp(sa, sb))
			return 0;
	}
	return 1;
}

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
	/* Boutiques constraints: an input given explicitly drops the defaults
	 * of the inputs it disables and of the other members of its mutually
	 * exclusive groups */
	const char **eff = calloc(d->n_inputs ? d->n_inputs : 1, sizeof(*eff));
	if (!eff) {
		rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < d->n_inputs; k++)
		eff[k] = given[k] ? given[k] : d->inputs[k].default_value;
	if ((rc = check_constraints(ctx, d, given, eff)))
		goto out_eff;
	for (size_t k = 0; k < d->n_inputs; k++) {
		const struct bia_wf_param *p = &d->inputs[k];
		if (p->excluded)
			continue;
		/* an explicitly empty value means "no value", not the default */
		const char *v = eff[k];
		if (!*v) {
			if (!p->optional) {
				rc = bia_fail(ctx, BIA_EINVAL,
					      "parameter '%s' is required and has no default", p->id);
				goto out_eff;
			}
			continue;
		}
		if (json_object_set_new(values, p->id, json_string(v))) {
			rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
			goto out_eff;
		}
	}
	*pvalues = values;
	values = NULL;
out_eff:
	free(eff);
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
