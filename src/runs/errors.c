/* Error maps: the metric library's per-object records of one image turned
 * into rows (run_objects) and per-category counts (run_errors) for the
 * store. The mapping per class is in docs/benchmarks.md "Error maps".
 * SPDX-License-Identifier: MIT */
#include "runs/runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const cat_objseg[] = {"tp", "fp", "fn", "split", "merged", NULL};
static const char *const cat_det[] = {"tp", "fp", "fn", NULL};
static const char *const cat_trace[] = {"matched", "missed", "spurious", NULL};
static const char *const cat_prttrk[] = {"paired", "missed", "spurious", NULL};
static const char *const cat_objtrk[] = {"fn", "fp", "ns", "ea", "ed", "ec", NULL};
static const char *const cat_lnddet[] = {"located", "spurious", NULL};

const char *const *bia_error_categories(enum bia_class cls)
{
	switch (cls) {
	case BIA_OBJSEG:
		return cat_objseg;
	case BIA_SPTCNT:
	case BIA_OBJDET:
		return cat_det;
	case BIA_TRETRC:
	case BIA_LOOTRC:
		return cat_trace;
	case BIA_PRTTRK:
		return cat_prttrk;
	case BIA_OBJTRK:
		return cat_objtrk;
	case BIA_LNDDET:
		return cat_lnddet;
	default:
		return NULL;
	}
}

/* How a class's records map to columns: the keys of the object id, the
 * partner's id and the score (NULL: none; id NULL: the record's position). */
struct rec_keys {
	const char *id, *match, *score;
};

static struct rec_keys keys_of(enum bia_class cls)
{
	switch (cls) {
	case BIA_OBJSEG:
		return (struct rec_keys){"id", "match", "iou"};
	case BIA_SPTCNT:
	case BIA_OBJDET:
		return (struct rec_keys){"index", "match_index", "distance"};
	case BIA_TRETRC:
	case BIA_LOOTRC:
		return (struct rec_keys){"edge", NULL, "mean_closeness"};
	case BIA_PRTTRK:
		return (struct rec_keys){"id", "match", "distance"};
	case BIA_LNDDET:
		return (struct rec_keys){NULL, NULL, "distance"};
	default: /* ObjTrk: AOGM operations, no id of their own */
		return (struct rec_keys){NULL, NULL, NULL};
	}
}

/* A number of a record: JSON numbers, or the strings "nan"/"inf"/"-inf". */
static double num(json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strcmp(s, "inf"))
			return INFINITY;
		if (!strcmp(s, "-inf"))
			return -INFINITY;
	}
	return NAN;
}

static size_t cat_index(const char *const *cats, const char *c)
{
	size_t i = 0;
	for (; cats[i]; i++)
		if (!strcmp(cats[i], c))
			break;
	return i;
}

int bia_error_map(struct bia_ctx *ctx, enum bia_class cls, json_t *objects,
		  struct bia_run_image *ri)
{
	for (size_t i = 0; i < ri->nobjects; i++)
		bia_run_object_release(&ri->objects[i]);
	free(ri->objects);
	free(ri->errors);
	ri->objects = NULL;
	ri->errors = NULL;
	ri->nobjects = ri->nerrors = 0;
	const char *const *cats = bia_error_categories(cls);
	if (!cats)
		return 0;
	size_t ncat = 0;
	while (cats[ncat])
		ncat++;
	size_t n = json_array_size(objects);
	ri->errors = bia_calloc(ncat, sizeof(*ri->errors));
	ri->objects = bia_calloc(n ? n : 1, sizeof(*ri->objects));
	if (!ri->errors || !ri->objects)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory building the error map");
	ri->nerrors = ncat;
	for (size_t c = 0; c < ncat; c++)
		snprintf(ri->errors[c].category, sizeof(ri->errors[c].category), "%s", cats[c]);
	struct rec_keys k = keys_of(cls);
	for (size_t i = 0; i < n; i++) {
		json_t *rec = json_array_get(objects, i);
		if (!json_is_object(rec))
			return bia_fail(ctx, BIA_EFORMAT, "error map: record %zu is not an object", i);
		struct bia_run_object *o = &ri->objects[ri->nobjects];
		const char *kind = json_string_value(json_object_get(rec, "kind"));
		const char *status = json_string_value(json_object_get(rec, "status"));
		json_t *d = json_deep_copy(rec);
		if (!d)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory building the error map");
		json_object_del(d, "kind");
		json_object_del(d, "status");
		if (cls == BIA_OBJTRK) {
			/* {"op": "FN"|"EA" (GT labels) | "NS"|"FP"|"ED"|"EC" (result)} */
			status = json_string_value(json_object_get(rec, "op"));
			kind = status && (!strcmp(status, "FN") || !strcmp(status, "EA")) ? "gt"
											 : "pred";
			json_object_del(d, "op");
		} else if (cls == BIA_LNDDET) {
			/* one record per predicted point; inf: its class has no GT point */
			kind = "pred";
			status = isinf(num(json_object_get(rec, "distance"))) ? "spurious" : "located";
		}
		if (!kind || !status) {
			json_decref(d);
			return bia_fail(ctx, BIA_EFORMAT,
					"error map: %s record %zu has no kind or status",
					bia_class_code(cls), i);
		}
		snprintf(o->kind, sizeof(o->kind), "%s", kind);
		snprintf(o->status, sizeof(o->status), "%s", status);
		o->obj_id = (int64_t)i;
		if (k.id) {
			json_t *v = json_object_get(rec, k.id);
			if (!json_is_integer(v)) {
				json_decref(d);
				return bia_fail(ctx, BIA_EFORMAT, "error map: %s record %zu has no '%s'",
						bia_class_code(cls), i, k.id);
			}
			o->obj_id = (int64_t)json_integer_value(v);
			json_object_del(d, k.id);
		}
		o->score = NAN;
		if (k.match) {
			json_t *v = json_object_get(rec, k.match);
			o->has_match = json_is_integer(v);
			o->match = o->has_match ? (int64_t)json_integer_value(v) : 0;
			json_object_del(d, k.match);
		}
		if (k.score) {
			json_t *v = json_object_get(rec, k.score);
			o->score = num(v);
			/* a non-finite score stays in the detail ("inf") */
			if (isfinite(o->score) || !v)
				json_object_del(d, k.score);
		}
		o->detail = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(d);
		if (!o->detail)
			return bia_fail(ctx, BIA_ENOMEM, "out of memory building the error map");
		ri->nobjects++;

		/* counts */
		size_t c = ncat;
		switch (cls) {
		case BIA_OBJSEG:
		case BIA_SPTCNT:
		case BIA_OBJDET:
			/* a TP pair counts once (its GT record) */
			if (!strcmp(status, "TP"))
				c = !strcmp(kind, "gt") ? cat_index(cats, "tp") : ncat;
			else if (!strcmp(status, "FP"))
				c = cat_index(cats, "fp");
			else if (!strcmp(status, "FN"))
				c = cat_index(cats, "fn");
			if (cls == BIA_OBJSEG) {
				if (json_is_true(json_object_get(rec, "split")))
					ri->errors[cat_index(cats, "split")].count++;
				if (json_is_true(json_object_get(rec, "merged")))
					ri->errors[cat_index(cats, "merged")].count++;
			}
			break;
		case BIA_TRETRC:
		case BIA_LOOTRC:
		case BIA_PRTTRK:
			/* a matched (paired) edge or track counts on the GT side */
			if (!strcmp(status, "matched") || !strcmp(status, "paired"))
				c = !strcmp(kind, "gt") || !strcmp(kind, "ref") ? 0 : ncat;
			else
				c = cat_index(cats, status);
			break;
		default: {
			char low[16];
			size_t j = 0;
			for (; status[j] && j + 1 < sizeof(low); j++)
				low[j] = (char)(status[j] >= 'A' && status[j] <= 'Z' ? status[j] + 32
										     : status[j]);
			low[j] = 0;
			c = cat_index(cats, low);
			break;
		}
		}
		if (c < ncat)
			ri->errors[c].count++;
	}
	return 0;
}
