/* Metric results, parameters, aggregates and the dispatcher.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void bia_metric_params_init(struct bia_metric_params *p)
{
	memset(p, 0, sizeof(*p));
	p->gating_dist = 5;
}

int bia_metric_params_set(struct bia_ctx *ctx, struct bia_metric_params *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return bia_fail(ctx, BIA_EINVAL, "parameter '%s' is not NAME=VALUE", kv);
	size_t n = (size_t)(eq - kv);
	char *end;
	errno = 0;
	double v = strtod(eq + 1, &end);
	int bad = errno || end == eq + 1 || *end || !isfinite(v);
	if (n == strlen("gating_dist") && !strncasecmp(kv, "gating_dist", n)) {
		if (bad || v <= 0)
			return bia_fail(ctx, BIA_EINVAL, "gating_dist must be a positive number, not '%s'",
					eq + 1);
		p->gating_dist = v;
		return 0;
	}
	return bia_fail(ctx, BIA_EINVAL, "unknown metric parameter '%.*s' (known: gating_dist)",
			(int)n, kv);
}

void bia_metric_result_init(struct bia_metric_result *r, enum bia_class cls)
{
	memset(r, 0, sizeof(*r));
	r->cls = cls;
	r->params = json_object();
	r->deviations = json_array();
	r->warnings = json_array();
}

void bia_metric_result_release(struct bia_metric_result *r)
{
	json_decref(r->params);
	json_decref(r->deviations);
	json_decref(r->warnings);
	json_decref(r->objects);
	memset(r, 0, sizeof(*r));
}

void bia_metric_set(struct bia_metric_result *r, const char *code, double v)
{
	const struct bia_metric_def *d = bia_metric_find(r->cls, code);
	if (!d)
		BIA_BUG("metric '%s' is not in the table of class %s", code, bia_class_code(r->cls));
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->codes[i], d->code)) {
			r->values[i] = v;
			return;
		}
	if (r->n >= BIA_METRICS_MAX)
		BIA_BUG("too many metrics");
	r->codes[r->n] = d->code;
	r->values[r->n] = v;
	r->n++;
}

double bia_metric_get(const struct bia_metric_result *r, const char *code)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->codes[i], code))
			return r->values[i];
	return NAN;
}

static void add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return;
	json_array_append_new(arr, json_string(s));
}

void bia_metric_warn(struct bia_metric_result *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	add_unique(r->warnings, msg);
}

void bia_metric_deviation(struct bia_metric_result *r, const char *text)
{
	add_unique(r->deviations, text);
}

void bia_metric_object(struct bia_metric_result *r, json_t *rec)
{
	if (r->objects)
		json_array_append_new(r->objects, rec);
	else
		json_decref(rec);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void bia_metric_aggregate(const double *v, size_t n, struct bia_metric_agg *out)
{
	memset(out, 0, sizeof(*out));
	double *ok = bia_calloc(n ? n : 1, sizeof(double));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			out->n_nan++;
		else if (ok)
			ok[k++] = v[i];
	}
	out->n = k;
	if (k == 0) {
		out->min = out->max = out->mean = out->std = out->median = NAN;
		free(ok);
		return;
	}
	qsort(ok, k, sizeof(double), cmp_double);
	out->min = ok[0];
	out->max = ok[k - 1];
	out->median = k % 2 ? ok[k / 2] : (ok[k / 2 - 1] + ok[k / 2]) / 2;
	double sum = 0;
	for (size_t i = 0; i < k; i++)
		sum += ok[i];
	out->mean = sum / (double)k;
	double ss = 0;
	for (size_t i = 0; i < k; i++)
		ss += (ok[i] - out->mean) * (ok[i] - out->mean);
	out->std = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
	free(ok);
}

typedef int (*class_fn)(struct bia_ctx *, const struct bia_metric_input *,
			const struct bia_metric_params *, struct bia_metric_result *);

static const class_fn class_fns[BIA_CLASS_COUNT] = {
	[BIA_OBJSEG] = bia__metrics_objseg, [BIA_SPTCNT] = bia__metrics_sptcnt,
	[BIA_OBJDET] = bia__metrics_objdet, [BIA_PIXCLA] = bia__metrics_pixcla,
	[BIA_TRETRC] = bia__metrics_tretrc, [BIA_LOOTRC] = bia__metrics_lootrc,
	[BIA_OBJTRK] = bia__metrics_objtrk, [BIA_PRTTRK] = bia__metrics_prttrk,
	[BIA_LNDDET] = bia__metrics_lnddet,
};

int bia_metrics_compute(struct bia_ctx *ctx, enum bia_class cls,
			const struct bia_metric_input *in, const struct bia_metric_params *p,
			int want_objects, struct bia_metric_result *r)
{
	struct bia_metric_params dflt;
	if (!p) {
		bia_metric_params_init(&dflt);
		p = &dflt;
	}
	if ((unsigned)cls >= BIA_CLASS_COUNT || !class_fns[cls])
		return bia_fail(ctx, BIA_EINVAL, "unknown problem class");
	r->cls = cls;
	if (want_objects && !r->objects)
		r->objects = json_array();
	int needs_swc = cls == BIA_TRETRC;
	if (needs_swc && (!in->pred_swc || !in->gt_swc))
		return bia_fail(ctx, BIA_EINVAL, "%s needs SWC prediction and ground truth",
				bia_class_code(cls));
	if (!needs_swc && (!in->pred || !in->gt || !in->pred->data || !in->gt->data))
		return bia_fail(ctx, BIA_EINVAL, "%s needs prediction and ground-truth images",
				bia_class_code(cls));
	if (cls == BIA_OBJTRK && (!in->pred_trk || !in->gt_trk))
		return bia_fail(ctx, BIA_EINVAL, "ObjTrk needs the track files of both stacks");
	return class_fns[cls](ctx, in, p, r);
}
