/* Error-map tables (`biaflows errors`, the API's error routes): per image
 * the count of every category, of one run or of every run of a problem,
 * and the per-object records of one image. docs/benchmarks.md.
 * SPDX-License-Identifier: MIT */
#include "runs/runs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bia_errors_scope(struct bia_ctx *ctx, struct bia_instance *inst, int64_t problem_id,
		     const char *category, const char *const **pcats)
{
	struct bia_problem p;
	if (bia_problem_get_id(ctx, inst, problem_id, &p))
		return ctx->rc;
	enum bia_class cls = p.cls;
	bia_problem_release(&p);
	*pcats = bia_error_categories(cls);
	if (!*pcats)
		return bia_fail(ctx, BIA_EUNSUPPORTED,
				"%s has no error map (per-image scores only, see docs/benchmarks.md)",
				bia_class_code(cls));
	if (!category)
		return 0;
	size_t c = 0;
	while ((*pcats)[c] && strcmp((*pcats)[c], category))
		c++;
	if ((*pcats)[c])
		return 0;
	char list[256] = "";
	for (size_t k = 0; (*pcats)[k]; k++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
			 (*pcats)[k]);
	return bia_fail(ctx, BIA_EINVAL, "unknown category '%s' (this class has: %s)", category,
			list);
}

/* One row per (run, image) with every category's count; rows are found
 * through an index keyed "run:image" (linear in the number of counts). */
static json_t *pivot(const struct bia_run_error_row *v, size_t n, const char *const *cats,
		     const struct bia_run *runs, size_t nruns, json_t *index)
{
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		char key[48];
		snprintf(key, sizeof(key), "%lld:%lld", (long long)v[i].run_id,
			 (long long)v[i].image_id);
		json_t *r = json_object_get(index, key);
		if (!r) {
			r = json_object();
			json_object_set_new(r, "run", json_integer(v[i].run_id));
			for (size_t j = 0; j < nruns; j++)
				if (runs[j].id == v[i].run_id) {
					char wf[400];
					snprintf(wf, sizeof(wf), "%s@%s", runs[j].workflow,
						 runs[j].version);
					json_object_set_new(r, "workflow", json_string(wf));
					break;
				}
			json_object_set_new(r, "image_id", json_integer(v[i].image_id));
			json_object_set_new(r, "stem", json_string(v[i].stem));
			for (size_t c = 0; cats[c]; c++)
				json_object_set_new(r, cats[c], json_integer(0));
			json_array_append_new(rows, r);
			json_object_set(index, key, r);
		}
		if (json_object_get(r, v[i].category))
			json_object_set_new(r, v[i].category, json_integer(v[i].count));
	}
	return rows;
}

int bia_errors_counts_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			   int64_t problem_id, const char *category, int64_t top, json_t **prows)
{
	const char *const *cats;
	struct bia_run_error_row *all = NULL, *ord = NULL;
	size_t nall = 0, nord = 0, nruns = 0;
	struct bia_run *runs = NULL;
	*prows = NULL;
	int64_t pid = problem_id;
	if (run_id) {
		struct bia_run r;
		if (bia_store_run_get(ctx, inst, run_id, &r))
			return ctx->rc;
		pid = r.problem_id;
		bia_run_release(&r);
	}
	if (bia_errors_scope(ctx, inst, pid, category, &cats))
		return ctx->rc;
	struct bia_run_filter f = {.problem_id = problem_id};
	if (problem_id &&
	    bia_store_run_list(ctx, inst, &f, (struct bia_page){0, 0}, &runs, &nruns, NULL))
		return ctx->rc;
	int rc = 0;
	if (bia_store_run_errors(ctx, inst, run_id, problem_id, NULL, 0, &all, &nall) ||
	    (category &&
	     bia_store_run_errors(ctx, inst, run_id, problem_id, category, top, &ord, &nord))) {
		rc = ctx->rc;
		goto out;
	}
	json_t *index = json_object();
	json_t *rows = pivot(all, nall, cats, runs, nruns, index), *out = rows;
	if (category) {
		/* the order (and top) of the indexed category query */
		out = json_array();
		for (size_t i = 0; i < nord; i++) {
			char key[48];
			snprintf(key, sizeof(key), "%lld:%lld", (long long)ord[i].run_id,
				 (long long)ord[i].image_id);
			json_t *r = json_object_get(index, key);
			if (r)
				json_array_append(out, r);
		}
		json_decref(rows);
	} else if (top > 0) {
		while (json_array_size(out) > (size_t)top)
			json_array_remove(out, json_array_size(out) - 1);
	}
	json_decref(index);
	if (run_id) /* one run: the run column is redundant */
		for (size_t i = 0; i < json_array_size(out); i++)
			json_object_del(json_array_get(out, i), "run");
	*prows = out;
out:
	free(all);
	free(ord);
	bia_run_list_free(runs, nruns);
	return rc;
}

/* Where an object is, from its record: "centroid" and "bbox" (ObjSeg), a
 * point x, y[, z] (ObjDet, SptCnt, LndDet), and its frame: "t", or
 * "first".."last" (tracks), or [from.t, to.t] (an edge of AOGM). Adds
 * centroid, bbox and frame to the row and a short "where" text. */
static void locate(json_t *row, json_t *d)
{
	char w[256] = "";
	json_t *c = json_object_get(d, "centroid"), *b = json_object_get(d, "bbox");
	if (json_is_array(c) && json_array_size(c) == 3) {
		double x = json_number_value(json_array_get(c, 0)),
		       y = json_number_value(json_array_get(c, 1)),
		       z = json_number_value(json_array_get(c, 2));
		size_t k = (size_t)snprintf(w, sizeof(w), "(%.1f, %.1f", x, y);
		if (z != 0)
			k += (size_t)snprintf(w + k, sizeof(w) - k, ", %.1f", z);
		k += (size_t)snprintf(w + k, sizeof(w) - k, ")");
		json_object_set(row, "centroid", c);
		if (json_is_array(b) && json_array_size(b) == 6) {
			long long q[6];
			for (size_t i = 0; i < 6; i++)
				q[i] = (long long)json_integer_value(json_array_get(b, i));
			if (q[2] || q[5])
				snprintf(w + k, sizeof(w) - k, " box x %lld-%lld y %lld-%lld z %lld-%lld",
					 q[0], q[3], q[1], q[4], q[2], q[5]);
			else
				snprintf(w + k, sizeof(w) - k, " box x %lld-%lld y %lld-%lld", q[0],
					 q[3], q[1], q[4]);
			json_object_set(row, "bbox", b);
		}
	} else if (json_is_number(json_object_get(d, "x")) && json_is_number(json_object_get(d, "y"))) {
		double x = json_number_value(json_object_get(d, "x")),
		       y = json_number_value(json_object_get(d, "y"));
		json_t *z = json_object_get(d, "z");
		if (json_is_number(z) && json_number_value(z) != 0)
			snprintf(w, sizeof(w), "(%g, %g, %g)", x, y, json_number_value(z));
		else
			snprintf(w, sizeof(w), "(%g, %g)", x, y);
		json_object_set_new(row, "centroid",
				    json_pack("[f,f,f]", x, y, json_is_number(z) ? json_number_value(z) : 0.0));
	}
	json_t *t = json_object_get(d, "t"), *t0 = json_object_get(d, "first"),
	       *t1 = json_object_get(d, "last");
	if (!t0 && json_is_object(json_object_get(d, "from"))) { /* an edge: from -> to */
		t0 = json_object_get(json_object_get(d, "from"), "t");
		t1 = json_object_get(json_object_get(d, "to"), "t");
	}
	if (json_is_integer(t))
		json_object_set(row, "frame", t);
	else if (json_is_integer(t0) && json_is_integer(t1))
		json_object_set_new(row, "frame", json_pack("[O,O]", t0, t1));
	json_object_set_new(row, "where", json_string(w));
	if (!json_object_get(row, "frame"))
		json_object_set_new(row, "frame", json_null());
}

int bia_errors_image_json(struct bia_ctx *ctx, struct bia_instance *inst, int64_t run_id,
			  const char *ref, json_t **prows)
{
	struct bia_run r;
	struct bia_image_rec im;
	*prows = NULL;
	if (bia_store_run_get(ctx, inst, run_id, &r))
		return ctx->rc;
	const char *const *cats;
	int rc = bia_errors_scope(ctx, inst, r.problem_id, NULL, &cats);
	char *end;
	long long id = strtoll(ref, &end, 10);
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	/* a stem of the run's problem first, else an image id */
	if (!rc && bia_store_image_find(&c2, inst, r.problem_id, ref, &im) &&
	    (!*ref || *end || id <= 0 || bia_store_image_get(ctx, inst, id, &im))) {
		rc = !*ref || *end || id <= 0 ? bia_fail(ctx, c2.rc, "%s", c2.msg) : (int)ctx->rc;
	}
	if (!rc && im.problem_id != r.problem_id)
		rc = bia_fail(ctx, BIA_ENOENT, "image %s is not in problem '%s' of run %lld", ref,
			      r.problem, (long long)r.id);
	/* an image without error counts was not scored by this run */
	struct bia_run_error_row *ev = NULL;
	size_t ne = 0, nin = 0;
	if (!rc && !(rc = bia_store_run_errors(ctx, inst, r.id, 0, NULL, 0, &ev, &ne))) {
		for (size_t i = 0; i < ne; i++)
			nin += ev[i].image_id == im.id;
		free(ev);
		if (!nin)
			rc = bia_fail(ctx, BIA_ENOENT, "run %lld has no error map for image '%s' (%s)",
				      (long long)r.id, im.stem, bia_run_state_name(r.state));
	}
	struct bia_run_object *v = NULL;
	size_t n = 0;
	if (!rc && !(rc = bia_store_run_objects(ctx, inst, r.id, im.id, &v, &n))) {
		json_t *rows = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *d = json_loads(v[i].detail ? v[i].detail : "{}", 0, NULL);
			json_t *row = json_pack(
				"{s:s, s:I, s:s, s:o, s:o}", "kind", v[i].kind, "id",
				(json_int_t)v[i].obj_id, "status", v[i].status, "match",
				v[i].has_match ? json_integer(v[i].match) : json_null(), "score",
				isnan(v[i].score) ? json_null() : json_real(v[i].score));
			locate(row, d);
			json_object_set_new(row, "detail", d ? d : json_object());
			json_array_append_new(rows, row);
		}
		bia_run_objects_free(v, n);
		*prows = rows;
	}
	bia_run_release(&r);
	return rc;
}
