/* Parsing and validation of BIAFLOWS descriptor.json files (cytomine-0.1
 * plus our extensions). Rules: docs/workflows.md.
 * SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workflow/wf_int.h"

#define MAX_INPUTS 1000
#define MAX_ID 128
#define MAX_NAME 256

static const char *const type_names[] = {"Number", "String", "Boolean", "Domain",
					 "ListDomain"};
static const char *const env_names[] = {"host", "image", "singularity", "docker"};

const char *bia_wf_type_name(enum bia_wf_type t)
{
	return (unsigned)t < 5 ? type_names[t] : "?";
}

const char *bia_env_type_name(enum bia_env_type t)
{
	return (unsigned)t < 4 ? env_names[t] : "?";
}

/* ------------------------------------------------------------ helpers */

struct pctx {
	struct bia_ctx *ctx;
	const char *what;
	struct bia_descriptor *d;
	struct bia_arena *a;
};

/* "<what>: '<key>': <message>" */
BIA_PRINTF(3, 4)
static int kfail(struct pctx *pc, const char *key, const char *fmt, ...)
{
	char m[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return bia_fail(pc->ctx, BIA_EFORMAT, "%s: '%s': %s", pc->what, key, m);
}

static int nomem(struct pctx *pc)
{
	return bia_fail(pc->ctx, BIA_ENOMEM, "%s: out of memory", pc->what);
}

static int has_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return 1;
	return 0;
}

/* Optional string member: absent -> dflt; wrong type -> error. */
static int get_str(struct pctx *pc, const json_t *obj, const char *key, const char *keyname,
		   const char *dflt, const char **pout)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		*pout = dflt;
		return 0;
	}
	if (!json_is_string(v))
		return kfail(pc, keyname, "must be a string");
	*pout = json_string_value(v);
	return 0;
}

static int get_bool(struct pctx *pc, const json_t *obj, const char *key, const char *keyname,
		    int *pout, int *ppresent)
{
	const json_t *v = json_object_get(obj, key);
	if (ppresent)
		*ppresent = v != NULL;
	if (!v) {
		*pout = 0;
		return 0;
	}
	if (!json_is_boolean(v))
		return kfail(pc, keyname, "must be true or false");
	*pout = json_is_true(v);
	return 0;
}

const char *bia_wf_scalar_text(const json_t *v, char *buf, size_t bufsz, int *pnull)
{
	*pnull = 0;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		double x = json_real_value(v);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, bufsz, "%.*g", prec, x);
			if (strtod(buf, NULL) == x)
				break;
		}
		if (isfinite(x) && !strpbrk(buf, ".e") && strlen(buf) + 3 <= bufsz)
			strcat(buf, ".0");
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	if (json_is_null(v)) {
		*pnull = 1;
		return NULL;
	}
	return NULL;
}

/* Replace @ID by upper(id) and @id by id. */
static const char *subst(struct pctx *pc, const char *s, const char *id)
{
	if (!strstr(s, "@ID") && !strstr(s, "@id"))
		return s;
	struct bia_buf b;
	bia_buf_init(&b, BIA_JSON_MAX_BYTES);
	for (const char *p = s; *p;) {
		if (p[0] == '@' && p[1] == 'I' && p[2] == 'D') {
			for (const char *q = id; *q; q++)
				bia_buf_addch(&b, (char)toupper((unsigned char)*q));
			p += 3;
		} else if (p[0] == '@' && p[1] == 'i' && p[2] == 'd') {
			bia_buf_adds(&b, id);
			p += 3;
		} else {
			bia_buf_addch(&b, *p++);
		}
	}
	const char *r = b.err ? NULL : bia_arena_strndup(pc->a, b.buf, b.len);
	bia_buf_release(&b);
	return r;
}

/* ----------------------------------------------------- value checking */

static int parse_number(const char *v, double *px)
{
	if (!*v || strspn(v, "0123456789+-.eE") != strlen(v))
		return -1;
	char *end;
	double x = strtod(v, &end);
	if (*end || !isfinite(x))
		return -1;
	*px = x;
	return 0;
}

static int is_integer_text(const char *v)
{
	const char *p = v + (*v == '-' || *v == '+');
	return *p && strspn(p, "0123456789") == strlen(p);
}

static int bool_of(const char *v)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static int same_value(const struct bia_wf_param *p, const char *a, const char *b)
{
	double x, y;
	if (p->type == BIA_WF_NUMBER && !parse_number(a, &x) && !parse_number(b, &y))
		return x == y;
	if (p->type == BIA_WF_BOOLEAN && bool_of(a) >= 0 && bool_of(b) >= 0)
		return bool_of(a) == bool_of(b);
	return strcmp(a, b) == 0;
}

int bia_wf_same_value(const struct bia_wf_param *p, const char *a, const char *b)
{
	return same_value(p, a, b);
}

int bia_wf_check_value(const struct bia_wf_param *p, const char *v, char *why, size_t whysz)
{
	double x = 0;
	if (strlen(v) > WF_MAX_VALUE) {
		snprintf(why, whysz, "value longer than %d bytes", WF_MAX_VALUE);
		return -1;
	}
	switch (p->type) {
	case BIA_WF_NUMBER:
		if (parse_number(v, &x)) {
			snprintf(why, whysz, "'%.64s' is not a number", v);
			return -1;
		}
		if (p->integer && !is_integer_text(v)) {
			snprintf(why, whysz, "'%.64s' is not an integer", v);
			return -1;
		}
		if (p->has_minimum && x < p->minimum) {
			snprintf(why, whysz, "%.64s is below the minimum %g", v, p->minimum);
			return -1;
		}
		if (p->has_maximum && x > p->maximum) {
			snprintf(why, whysz, "%.64s is above the maximum %g", v, p->maximum);
			return -1;
		}
		break;
	case BIA_WF_BOOLEAN: {
		static const char *const ok[] = {"true", "false", "yes", "no", "1", "0"};
		int found = 0;
		for (size_t i = 0; i < 6; i++)
			found |= !strcasecmp(v, ok[i]);
		if (!found) {
			snprintf(why, whysz, "'%.64s' is not a boolean (true or false)", v);
			return -1;
		}
		break;
	}
	case BIA_WF_DOMAIN:
		if (!is_integer_text(v)) {
			snprintf(why, whysz, "'%.64s' is not a domain id (an integer)", v);
			return -1;
		}
		break;
	case BIA_WF_STRING:
	case BIA_WF_LISTDOMAIN:
		break;
	}
	if (p->choices) {
		int found = 0;
		for (size_t i = 0; i < p->n_choices && !found; i++)
			found = same_value(p, v, p->choices[i]);
		if (!found) {
			size_t n = (size_t)snprintf(why, whysz, "'%.64s' is not one of:", v);
			for (size_t i = 0; i < p->n_choices && n < whysz; i++)
				n += (size_t)snprintf(why + n, whysz - n, "%s '%.32s'", i ? "," : "",
						      p->choices[i]);
			return -1;
		}
	}
	if (p->equals && !same_value(p, v, p->equals)) {
		snprintf(why, whysz, "'%.64s' is not equal to '%.64s'", v, p->equals);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ inputs */

static int parse_type(struct pctx *pc, const char *key, const char *s, enum bia_wf_type *pt)
{
	char norm[32];
	size_t n = strlen(s);
	if (n && n < sizeof(norm)) {
		for (size_t i = 0; i <= n; i++)
			norm[i] = (char)tolower((unsigned char)s[i]);
		norm[0] = (char)toupper((unsigned char)norm[0]);
		if (!strcmp(norm, "Listdomain"))
			strcpy(norm, "ListDomain");
		for (int t = 0; t < 5; t++)
			if (!strcmp(norm, type_names[t])) {
				*pt = (enum bia_wf_type)t;
				return 0;
			}
	}
	return kfail(pc, key, "unknown type '%.64s' (one of Number, String, Boolean, Domain, "
			      "ListDomain)", s);
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > MAX_ID)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

/* A JSON scalar as text for constraints and defaults. */
static int scalar(struct pctx *pc, const char *key, const json_t *v, int allow_bool,
		  const char **pout)
{
	char buf[64];
	int isnull;
	if (!allow_bool && json_is_boolean(v))
		return kfail(pc, key, "must be a string or a number");
	const char *t = bia_wf_scalar_text(v, buf, sizeof(buf), &isnull);
	if (isnull) {
		*pout = "";
		return 0;
	}
	if (!t)
		return kfail(pc, key, allow_bool ? "must be a string, a number or a boolean"
						 : "must be a string or a number");
	*pout = bia_arena_strdup(pc->a, t);
	return *pout ? 0 : nomem(pc);
}

/* An array of input ids (strings), as Boutiques' requires-inputs,
 * disables-inputs and groups[].members. */
static int id_list(struct pctx *pc, const char *key, const json_t *v, const char *const **pout,
		   size_t *pn)
{
	if (!json_is_array(v))
		return kfail(pc, key, "must be an array of input ids");
	size_t n = json_array_size(v);
	const char **ids = bia_arena_alloc(pc->a, (n ? n : 1) * sizeof(*ids));
	if (!ids)
		return nomem(pc);
	for (size_t j = 0; j < n; j++) {
		const char *s = json_string_value(json_array_get(v, j));
		if (!s)
			return kfail(pc, key, "must be an array of input ids");
		if (!(ids[j] = bia_arena_strdup(pc->a, s)))
			return nomem(pc);
	}
	*pout = ids;
	*pn = n;
	return 0;
}

static int parse_param(struct pctx *pc, size_t i, const json_t *o, struct bia_wf_param *p)
{
	char k[64];
	const char *s = "";
	int rc;
#define KEY(name) (snprintf(k, sizeof(k), "inputs[%zu]." name, i), k)
	if (!json_is_object(o)) {
		snprintf(k, sizeof(k), "inputs[%zu]", i);
		return kfail(pc, k, "must be an object");
	}
	if (!json_object_get(o, "id"))
		return kfail(pc, KEY("id"), "missing");
	if ((rc = get_str(pc, o, "id", KEY("id"), "", &p->id)))
		return rc;
	if (!valid_id(p->id))
		return kfail(pc, KEY("id"), "'%.64s' is not a valid id (letters, digits, '_', "
					    "'-', '.', at most %d)", p->id, MAX_ID);
	if (!json_object_get(o, "type"))
		return kfail(pc, KEY("type"), "missing");
	if ((rc = get_str(pc, o, "type", KEY("type"), "", &s)) ||
	    (rc = parse_type(pc, KEY("type"), s, &p->type)))
		return rc;
	if ((rc = get_str(pc, o, "name", KEY("name"), "@id", &p->name)) ||
	    (rc = get_str(pc, o, "description", KEY("description"), "", &p->description)) ||
	    (rc = get_str(pc, o, "value-key", KEY("value-key"), "[@ID]", &p->value_key)) ||
	    (rc = get_str(pc, o, "command-line-flag", KEY("command-line-flag"), "", &p->flag)))
		return rc;
	const json_t *dv = json_object_get(o, "default-value");
	p->default_value = "";
	if (dv && (rc = scalar(pc, KEY("default-value"), dv, 1, &p->default_value)))
		return rc;
	if (!(p->name = subst(pc, p->name, p->id)) ||
	    !(p->description = subst(pc, p->description, p->id)) ||
	    !(p->value_key = subst(pc, p->value_key, p->id)) ||
	    !(p->flag = subst(pc, p->flag, p->id)) ||
	    !(p->default_value = subst(pc, p->default_value, p->id)))
		return nomem(pc);
	if (!*p->value_key)
		return kfail(pc, KEY("value-key"), "must not be empty");
	if ((rc = get_bool(pc, o, "optional", KEY("optional"), &p->optional,
			   &p->optional_present)) ||
	    (rc = get_bool(pc, o, "set-by-server", KEY("set-by-server"), &p->set_by_server,
			   NULL)) ||
	    (rc = get_bool(pc, o, "server-parameter", KEY("server-parameter"),
			   &p->server_parameter, NULL)))
		return rc;
	/* BIAFLOWS' local mode leaves out the cytomine_* inputs only; a
	 * set-by-server input of another id (e.g. `threshold` in the GlaS
	 * pixel-classification workflows) is an ordinary parameter here */
	p->excluded = !strncmp(p->id, "cytomine", 8);

	/* constraints */
	const json_t *v;
	static const char *const numkeys[] = {"minimum", "maximum"};
	for (int m = 0; m < 2; m++) {
		if (!(v = json_object_get(o, numkeys[m])))
			continue;
		snprintf(k, sizeof(k), "inputs[%zu].%s", i, numkeys[m]);
		if (!json_is_number(v))
			return kfail(pc, k, "must be a number");
		if (p->type != BIA_WF_NUMBER)
			return kfail(pc, k, "only for Number parameters ('%s' is %s)", p->id,
				     type_names[p->type]);
		if (m == 0) {
			p->has_minimum = 1;
			p->minimum = json_number_value(v);
		} else {
			p->has_maximum = 1;
			p->maximum = json_number_value(v);
		}
	}
	if (p->has_minimum && p->has_maximum && p->minimum > p->maximum)
		return kfail(pc, KEY("minimum"), "%g is above the maximum %g", p->minimum,
			     p->maximum);
	if ((rc = get_bool(pc, o, "integer", KEY("integer"), &p->integer, NULL)))
		return rc;
	if (p->integer && p->type != BIA_WF_NUMBER)
		return kfail(pc, KEY("integer"), "only for Number parameters ('%s' is %s)", p->id,
			     type_names[p->type]);
	if ((v = json_object_get(o, "values-choice"))) {
		if (!json_is_array(v) || !json_array_size(v))
			return kfail(pc, KEY("values-choice"), "must be a non-empty array");
		size_t n = json_array_size(v);
		const char **c = bia_arena_alloc(pc->a, n * sizeof(*c));
		if (!c)
			return nomem(pc);
		for (size_t j = 0; j < n; j++) {
			char kk[80];
			snprintf(kk, sizeof(kk), "inputs[%zu].values-choice[%zu]", i, j);
			const json_t *e = json_array_get(v, j);
			if (json_is_null(e))
				return kfail(pc, kk, "must be a string or a number");
			if ((rc = scalar(pc, kk, e, p->type == BIA_WF_BOOLEAN, &c[j])))
				return rc;
		}
		p->choices = c;
		p->n_choices = n;
	}
	if ((v = json_object_get(o, "equals"))) {
		if (json_is_null(v))
			return kfail(pc, KEY("equals"), "must be a string or a number");
		if ((rc = scalar(pc, KEY("equals"), v, 1, &p->equals)))
			return rc;
	}
	/* Boutiques constraints: checked against the other ids in parse_inputs */
	static const char *const ckeys[] = {"requires-inputs", "disables-inputs"};
	for (int c = 0; c < 2; c++) {
		if (!(v = json_object_get(o, ckeys[c])))
			continue;
		snprintf(k, sizeof(k), "inputs[%zu].%s", i, ckeys[c]);
		if ((rc = id_list(pc, k, v, c ? &p->disables : &p->requires,
				  c ? &p->n_disables : &p->n_requires)))
			return rc;
	}
	/* a default must itself be acceptable */
	char why[512];
	if (!p->excluded && *p->default_value &&
	    bia_wf_check_value(p, p->default_value, why, sizeof(why)))
		return kfail(pc, KEY("default-value"), "%s", why);
#undef KEY
	return 0;
}

BIA_PRINTF(2, 3)
static int add_warning(struct pctx *pc, const char *fmt, ...)
{
	struct bia_descriptor *d = pc->d;
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	const char **w = bia_arena_alloc(pc->a, (d->n_warnings + 1) * sizeof(*w));
	char *c = bia_arena_printf(pc->a, "%s: %s", pc->what, m);
	if (!w || !c)
		return -1;
	if (d->n_warnings)
		memcpy(w, d->warnings, d->n_warnings * sizeof(*w));
	w[d->n_warnings++] = c;
	d->warnings = w;
	return 0;
}

static int is_token(const char *cmd, const char *key)
{
	size_t n = strlen(key);
	const char *p = cmd;
	while (*p) {
		p += strspn(p, WF_WS);
		size_t t = strcspn(p, WF_WS);
		if (t == n && t && !memcmp(p, key, n))
			return 1;
		p += t;
	}
	return 0;
}

static int known_id(const struct bia_descriptor *d, const char *id)
{
	for (size_t i = 0; i < d->n_inputs; i++)
		if (!strcmp(d->inputs[i].id, id))
			return 1;
	return 0;
}

/* Every id a constraint names must be an input. */
static int check_refs(struct pctx *pc, const char *key, const char *const *ids, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (!known_id(pc->d, ids[j]))
			return kfail(pc, key, "'%.64s' is not the id of an input", ids[j]);
	return 0;
}

/* Boutiques `groups`: [{id, members, mutually-exclusive, one-is-required,
 * all-or-none}]. */
static int parse_groups(struct pctx *pc, const json_t *v)
{
	struct bia_descriptor *d = pc->d;
	char k[80];
	int rc;
	for (size_t i = 0; i < d->n_inputs; i++) {
		const struct bia_wf_param *p = &d->inputs[i];
		snprintf(k, sizeof(k), "inputs[%zu].requires-inputs", i);
		if ((rc = check_refs(pc, k, p->requires, p->n_requires)))
			return rc;
		snprintf(k, sizeof(k), "inputs[%zu].disables-inputs", i);
		if ((rc = check_refs(pc, k, p->disables, p->n_disables)))
			return rc;
	}
	if (!v)
		return 0;
	if (!json_is_array(v))
		return kfail(pc, "groups", "must be an array");
	size_t n = json_array_size(v);
	d->groups = bia_arena_alloc(pc->a, (n ? n : 1) * sizeof(*d->groups));
	if (!d->groups)
		return nomem(pc);
	for (size_t i = 0; i < n; i++) {
		const json_t *g = json_array_get(v, i);
		struct bia_wf_group *gr = &d->groups[i];
		memset(gr, 0, sizeof(*gr));
		snprintf(k, sizeof(k), "groups[%zu]", i);
		if (!json_is_object(g))
			return kfail(pc, k, "must be an object");
		snprintf(k, sizeof(k), "groups[%zu].id", i);
		if ((rc = get_str(pc, g, "id", k, "", &gr->id)))
			return rc;
		snprintf(k, sizeof(k), "groups[%zu].members", i);
		const json_t *m = json_object_get(g, "members");
		if (!m)
			return kfail(pc, k, "missing");
		if ((rc = id_list(pc, k, m, &gr->members, &gr->n_members)) ||
		    (rc = check_refs(pc, k, gr->members, gr->n_members)))
			return rc;
		static const char *const rules[] = {"mutually-exclusive", "one-is-required",
						    "all-or-none"};
		int *dst[] = {&gr->mutually_exclusive, &gr->one_is_required, &gr->all_or_none};
		for (int r = 0; r < 3; r++) {
			snprintf(k, sizeof(k), "groups[%zu].%s", i, rules[r]);
			if ((rc = get_bool(pc, g, rules[r], k, dst[r], NULL)))
				return rc;
		}
		d->n_groups = i + 1;
	}
	return 0;
}

static int parse_inputs(struct pctx *pc, const json_t *arr)
{
	struct bia_descriptor *d = pc->d;
	size_t n = json_array_size(arr);
	if (n > MAX_INPUTS)
		return kfail(pc, "inputs", "more than %d parameters", MAX_INPUTS);
	d->inputs = bia_arena_alloc(pc->a, (n ? n : 1) * sizeof(*d->inputs));
	if (!d->inputs)
		return nomem(pc);
	for (size_t i = 0; i < n; i++) {
		struct bia_wf_param *p = &d->inputs[i];
		int rc = parse_param(pc, i, json_array_get(arr, i), p);
		if (rc)
			return rc;
		d->n_inputs = i + 1;
		char k[64];
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(d->inputs[j].id, p->id)) {
				snprintf(k, sizeof(k), "inputs[%zu].id", i);
				return kfail(pc, k, "duplicate id '%s' (also inputs[%zu])", p->id, j);
			}
			if (!strcmp(d->inputs[j].value_key, p->value_key)) {
				snprintf(k, sizeof(k), "inputs[%zu].value-key", i);
				return kfail(pc, k, "'%.64s' is also the value-key of '%s'",
					     p->value_key, d->inputs[j].id);
			}
		}
		/* A value-key that is not in the command line: BIAFLOWS' local
		 * mode passes every non-cytomine input as an ordinary option and
		 * BIOMERO passes "flag value" for each input, so such descriptors
		 * ran there; the value follows the template as "flag VALUE". */
		if (!p->excluded && !p->server_parameter &&
		    !is_token(d->command_line, p->value_key)) {
			p->off_template = 1;
			char fl[96];
			if (*p->flag)
				snprintf(fl, sizeof(fl), "%s", p->flag);
			else
				snprintf(fl, sizeof(fl), "--%s", p->id);
			if (add_warning(pc, "'inputs[%zu].value-key': '%.64s' is not a token of "
					"'command-line': the value is passed as '%s VALUE' after it",
					i, p->value_key, fl))
				return nomem(pc);
		}
	}
	return 0;
}

/* ------------------------------------------------------- extensions */

/* The decimal number (digits and '.') that starts s, and what follows it
 * (the unit) in *prest. Returns 0, or -1 when there is none. */
static int leading_number(const char *s, double *px, const char **prest)
{
	size_t n = strspn(s, "0123456789.");
	if (!n || n > 30)
		return -1;
	char num[32];
	memcpy(num, s, n);
	num[n] = '\0';
	char *end;
	double x = strtod(num, &end);
	if (*end || !isfinite(x))
		return -1;
	*px = x;
	*prest = s + n;
	return 0;
}

int bia_parse_memory(const char *s, uint64_t *pbytes)
{
	double x;
	const char *u;
	if (leading_number(s, &x, &u))
		return -1;
	double mult = 1;
	switch (toupper((unsigned char)*u)) {
	case 'K': mult = 1024.0; u++; break;
	case 'M': mult = 1024.0 * 1024; u++; break;
	case 'G': mult = 1024.0 * 1024 * 1024; u++; break;
	case 'T': mult = 1024.0 * 1024 * 1024 * 1024; u++; break;
	default: break;
	}
	if (mult > 1 && (*u == 'i' || *u == 'I'))
		u++;
	if (*u == 'b' || *u == 'B')
		u++;
	if (*u)
		return -1;
	x *= mult;
	if (x < 1 || x >= 9.2e18 || (mult == 1 && x != floor(x)))
		return -1;
	*pbytes = (uint64_t)x;
	return 0;
}

int bia_parse_duration(const char *s, int64_t *psec)
{
	double x;
	const char *u;
	if (leading_number(s, &x, &u))
		return -1;
	double mult = 1;
	switch (*u) {
	case 's': u++; break;
	case 'm': mult = 60; u++; break;
	case 'h': mult = 3600; u++; break;
	case 'd': mult = 86400; u++; break;
	default: break;
	}
	if (*u)
		return -1;
	x *= mult;
	if (x < 1 || x > 3650.0 * 86400 || x != floor(x))
		return -1;
	*psec = (int64_t)x;
	return 0;
}

int bia_parse_int_range(const char *s, int64_t lo, int64_t hi, int64_t *pv)
{
	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+'))
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*pv = (int64_t)v;
	return 0;
}

static int parse_resources(struct pctx *pc, const json_t *r)
{
	struct bia_descriptor *d = pc->d;
	if (!json_is_object(r))
		return kfail(pc, "resources", "must be an object");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)r, key, v) {
		char k[80];
		snprintf(k, sizeof(k), "resources.%.60s", key);
		if (!strcmp(key, "cpus") || !strcmp(key, "gpus")) {
			int cpus = key[0] == 'c';
			json_int_t lo = cpus ? 1 : 0, hi = cpus ? 4096 : 64;
			if (!json_is_integer(v) || json_integer_value(v) < lo ||
			    json_integer_value(v) > hi)
				return kfail(pc, k, "must be an integer from %lld to %lld",
					     (long long)lo, (long long)hi);
			if (cpus)
				d->resources.cpus = json_integer_value(v);
			else
				d->resources.gpus = json_integer_value(v);
		} else if (!strcmp(key, "memory")) {
			if (json_is_integer(v) && json_integer_value(v) > 0) {
				d->resources.memory = (uint64_t)json_integer_value(v);
			} else if (!json_is_string(v) ||
				   bia_parse_memory(json_string_value(v), &d->resources.memory)) {
				return kfail(pc, k, "must be a size: bytes, or like \"512M\", \"2G\"");
			}
		} else if (!strcmp(key, "time")) {
			if (json_is_integer(v) && json_integer_value(v) > 0 &&
			    json_integer_value(v) <= 3650 * 86400) {
				d->resources.time = json_integer_value(v);
			} else if (!json_is_string(v) ||
				   bia_parse_duration(json_string_value(v), &d->resources.time)) {
				return kfail(pc, k, "must be a duration: seconds, or like \"90s\", "
						    "\"10m\", \"1h\", \"2d\"");
			}
		} else if (!strcmp(key, "processes") || !strcmp(key, "open_files")) {
			int procs = key[0] == 'p';
			json_int_t lo = procs ? BIA_RES_PROCESSES_MIN : BIA_RES_OPEN_FILES_MIN;
			json_int_t hi = procs ? BIA_RES_PROCESSES_MAX : BIA_RES_OPEN_FILES_MAX;
			if (!json_is_integer(v) || json_integer_value(v) < lo ||
			    json_integer_value(v) > hi)
				return kfail(pc, k, "must be an integer from %lld to %lld",
					     (long long)lo, (long long)hi);
			if (procs)
				d->resources.processes = json_integer_value(v);
			else
				d->resources.open_files = json_integer_value(v);
		} else if (!strcmp(key, "output")) {
			if (json_is_integer(v) && json_integer_value(v) > 0) {
				d->resources.output = (uint64_t)json_integer_value(v);
			} else if (!json_is_string(v) ||
				   bia_parse_memory(json_string_value(v), &d->resources.output) ||
				   d->resources.output == 0) {
				return kfail(pc, k, "must be a size: bytes, or like \"512M\", \"2G\"");
			}
		} else {
			return kfail(pc, k, "unknown resource (cpus, memory, time, gpus, processes, "
					    "open_files, output)");
		}
	}
	return 0;
}

static int parse_container(struct pctx *pc, const json_t *c)
{
	struct bia_descriptor *d = pc->d;
	int rc;
	const char *type = "";
	if (!json_is_object(c))
		return kfail(pc, "container-image", "must be an object");
	if (!json_object_get(c, "image"))
		return kfail(pc, "container-image.image", "missing");
	if ((rc = get_str(pc, c, "image", "container-image.image", "", &d->container.image)) ||
	    (rc = get_str(pc, c, "type", "container-image.type", "singularity", &type)) ||
	    (rc = get_str(pc, c, "index", "container-image.index", "", &d->container.index)))
		return rc;
	if (!*d->container.image || has_space(d->container.image))
		return kfail(pc, "container-image.image",
			     "must be a non-empty image name without spaces");
	if (!strcasecmp(type, "singularity"))
		d->container.type = "singularity";
	else if (!strcasecmp(type, "docker") || !strcasecmp(type, "oci"))
		d->container.type = "docker"; /* an OCI image: Docker/Podman provide it */
	else
		return kfail(pc, "container-image.type",
			     "unknown type '%.64s' (singularity, docker or oci)", type);
	d->has_container = 1;
	return 0;
}

static int parse_environment(struct pctx *pc, const json_t *e)
{
	struct bia_descriptor *d = pc->d;
	const char *key, *type = NULL;
	const json_t *v;
	if (!json_is_object(e))
		return kfail(pc, "environment", "must be an object");
	json_object_foreach((json_t *)e, key, v) {
		if (strcmp(key, "type") && strcmp(key, "archive"))
			return kfail(pc, "environment", "unknown key '%.64s' (type, archive)", key);
	}
	int rc = get_str(pc, e, "type", "environment.type", NULL, &type);
	if (rc)
		return rc;
	if (!type)
		return kfail(pc, "environment.type", "missing");
	int t = -1;
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(type, env_names[i]))
			t = i;
	if (t < 0)
		return kfail(pc, "environment.type",
			     "unknown type '%.64s' (host, image, singularity, docker)", type);
	d->environment.type = (enum bia_env_type)t;
	const char *archive = NULL;
	if ((rc = get_str(pc, e, "archive", "environment.archive", NULL, &archive)))
		return rc;
	if (t == BIA_ENV_IMAGE) {
		if (!archive)
			return kfail(pc, "environment.archive", "missing (required for type 'image')");
		struct bia_ctx tmp;
		bia_ctx_init(&tmp);
		if (bia_path_check_rel(&tmp, archive))
			return kfail(pc, "environment.archive", "%s", tmp.msg);
		d->environment.archive = archive;
	} else if (archive) {
		return kfail(pc, "environment.archive", "only for type 'image'");
	}
	if ((t == BIA_ENV_SINGULARITY || t == BIA_ENV_DOCKER) && !d->has_container)
		return kfail(pc, "environment.type", "'%s' needs 'container-image'", env_names[t]);
	return 0;
}

static int parse_extensions(struct pctx *pc, const json_t *j)
{
	struct bia_descriptor *d = pc->d;
	const json_t *v;
	int rc;
	if ((v = json_object_get(j, "problem-class"))) {
		if (!json_is_string(v))
			return kfail(pc, "problem-class", "must be a string");
		d->problem_class = bia_class_parse(json_string_value(v));
		if (d->problem_class == BIA_CLASS_NONE)
			return kfail(pc, "problem-class", "unknown class '%.64s' (one of %s)",
				     json_string_value(v), bia_class_list());
	}
	if ((v = json_object_get(j, "resources")) && (rc = parse_resources(pc, v)))
		return rc;
	if ((v = json_object_get(j, "outputs"))) {
		if (!json_is_array(v) && !json_is_object(v))
			return kfail(pc, "outputs", "must be an array or an object");
		d->outputs = v;
	}
	if ((v = json_object_get(j, "authors"))) {
		size_t n = json_is_array(v) ? json_array_size(v) : 1;
		const char **a = bia_arena_alloc(pc->a, (n ? n : 1) * sizeof(*a));
		if (!a)
			return nomem(pc);
		if (json_is_string(v)) {
			a[0] = json_string_value(v);
		} else if (json_is_array(v)) {
			for (size_t i = 0; i < n; i++) {
				const json_t *e = json_array_get(v, i);
				if (!json_is_string(e)) {
					char k[48];
					snprintf(k, sizeof(k), "authors[%zu]", i);
					return kfail(pc, k, "must be a string");
				}
				a[i] = json_string_value(e);
			}
		} else {
			return kfail(pc, "authors", "must be a string or an array of strings");
		}
		d->authors = a;
		d->n_authors = n;
	}
	if ((rc = get_str(pc, j, "citation", "citation", "", &d->citation)) ||
	    (rc = get_str(pc, j, "license", "license", "", &d->license)))
		return rc;
	return 0;
}

/* ---------------------------------------------------------------- API */

static int parse_doc(struct pctx *pc, const json_t *j)
{
	struct bia_descriptor *d = pc->d;
	int rc;
	if (!json_is_object(j))
		return bia_fail(pc->ctx, BIA_EFORMAT, "%s: not a JSON object", pc->what);
	if (!json_object_get(j, "name"))
		return kfail(pc, "name", "missing");
	if ((rc = get_str(pc, j, "name", "name", "", &d->name)))
		return rc;
	if (!*d->name)
		return kfail(pc, "name", "must not be empty");
	if (has_space(d->name))
		return kfail(pc, "name", "'%.64s' must not contain spaces", d->name);
	if (strlen(d->name) > MAX_NAME)
		return kfail(pc, "name", "longer than %d bytes", MAX_NAME);
	for (const char *p = d->name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return kfail(pc, "name", "must not contain '/', '\\' or control characters");
	if ((rc = get_str(pc, j, "description", "description", "", &d->description)) ||
	    (rc = get_str(pc, j, "schema-version", "schema-version", "", &d->schema_version)))
		return rc;
	if (!json_object_get(j, "command-line"))
		return kfail(pc, "command-line", "missing");
	if ((rc = get_str(pc, j, "command-line", "command-line", "", &d->command_line)))
		return rc;
	if (!d->command_line[strspn(d->command_line, WF_WS)])
		return kfail(pc, "command-line", "must not be empty");
	const json_t *v;
	if ((v = json_object_get(j, "container-image")) && (rc = parse_container(pc, v)))
		return rc;
	if ((v = json_object_get(j, "environment"))) {
		d->env_explicit = 1;
		if ((rc = parse_environment(pc, v)))
			return rc;
	} else if (!d->has_container) {
		return kfail(pc, "container-image", "missing (required when there is no "
						    "'environment')");
	} else {
		d->environment.type = !strcmp(d->container.type, "docker") ? BIA_ENV_DOCKER
									   : BIA_ENV_SINGULARITY;
	}
	if (!(v = json_object_get(j, "inputs")))
		return kfail(pc, "inputs", "missing");
	if (!json_is_array(v))
		return kfail(pc, "inputs", "must be an array");
	if ((rc = parse_inputs(pc, v)) || (rc = parse_groups(pc, json_object_get(j, "groups"))))
		return rc;
	return parse_extensions(pc, j);
}

int bia_descriptor_parse(struct bia_ctx *ctx, const char *what, const char *text, size_t len,
			 struct bia_descriptor *out)
{
	memset(out, 0, sizeof(*out));
	bia_arena_init(&out->arena, 4096);
	out->resources.gpus = -1;
	out->raw = bia_json_parse(ctx, what, text, len);
	if (!out->raw) {
		bia_descriptor_release(out);
		return ctx->rc;
	}
	struct pctx pc = {ctx, what, out, &out->arena};
	int rc = parse_doc(&pc, out->raw);
	if (rc)
		bia_descriptor_release(out);
	return rc;
}

int bia_descriptor_load(struct bia_ctx *ctx, const char *path, struct bia_descriptor *out)
{
	char *data;
	size_t len;
	memset(out, 0, sizeof(*out));
	int rc = bia_read_file(ctx, path, BIA_JSON_MAX_BYTES, &data, &len);
	if (rc)
		return rc;
	rc = bia_descriptor_parse(ctx, path, data, len, out);
	free(data);
	return rc;
}

void bia_descriptor_release(struct bia_descriptor *d)
{
	if (!d)
		return;
	if (d->raw)
		json_decref(d->raw);
	bia_arena_release(&d->arena);
	memset(d, 0, sizeof(*d));
	d->resources.gpus = -1;
}

const struct bia_wf_param *bia_descriptor_param(const struct bia_descriptor *d, const char *id)
{
	for (size_t i = 0; i < d->n_inputs; i++)
		if (!strcmp(d->inputs[i].id, id))
			return &d->inputs[i];
	return NULL;
}
