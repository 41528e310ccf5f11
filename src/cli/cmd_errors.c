/* biaflows errors: the error maps of runs (docs/benchmarks.md "Error maps").
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"
#include "runs/runs.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: biaflows errors RUN [--image STEM|ID] [--category C] [--top N]\n"
	"                       [--format table|json|csv]\n"
	"       biaflows errors --problem PROBLEM [--category C] [--top N]\n"
	"                       [--format table|json|csv]\n"
	"\n"
	"The error maps of a run: per image, the count of every error category of\n"
	"the problem's class (ObjSeg tp fp fn split merged; SptCnt, ObjDet tp fp fn;\n"
	"TreTrc, LooTrc matched missed spurious; PrtTrk paired missed spurious;\n"
	"ObjTrk fn fp ns ea ed ec; LndDet located spurious; PixCla has none).\n"
	"\n"
	"  --image STEM|ID  the per-object records of one image instead: kind, id,\n"
	"                   status, match, score and details (viewer overlays)\n"
	"  --category C     sort the images by the count of C, largest first (then\n"
	"                   by stem)\n"
	"  --top N          at most N rows\n"
	"  --problem P      every image of every run of problem P (rows sorted by\n"
	"                   --category when given, else by run and stem)\n"
	"  --format F       table (default), json or csv\n";

/* The problem's class and categories; fails for a class without error map. */
static int class_cats(struct bia_cli *cli, int64_t problem_id, const char *const **pcats)
{
	struct bia_problem p;
	if (cli->inst.ops->problem_get(&cli->ctx, &cli->inst, NULL, problem_id, &p))
		return cli->ctx.rc;
	enum bia_class cls = p.cls;
	bia_problem_release(&p);
	*pcats = bia_error_categories(cls);
	if (!*pcats)
		return bia_fail(&cli->ctx, BIA_EUNSUPPORTED,
				"%s has no error map (per-image scores only, see docs/benchmarks.md)",
				bia_class_code(cls));
	return 0;
}

/* Index of the pivot row of (run, image) in rows, or -1. */
static long find_row(json_t *rows, int64_t run_id, int64_t image_id)
{
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);
		if (json_integer_value(json_object_get(r, "run")) == run_id &&
		    json_integer_value(json_object_get(r, "image_id")) == image_id)
			return (long)i;
	}
	return -1;
}

/* One row per (run, image) with every category's count. */
static json_t *pivot(const struct bia_run_error_row *v, size_t n, const char *const *cats,
		     struct bia_run *runs, size_t nruns)
{
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		long k = find_row(rows, v[i].run_id, v[i].image_id);
		json_t *r;
		if (k < 0) {
			r = json_object();
			json_object_set_new(r, "run", json_integer(v[i].run_id));
			for (size_t j = 0; j < nruns; j++)
				if (runs[j].id == v[i].run_id) {
					char wf[400];
					snprintf(wf, sizeof(wf), "%s@%s", runs[j].workflow,
						 runs[j].version);
					json_object_set_new(r, "workflow", json_string(wf));
				}
			json_object_set_new(r, "image_id", json_integer(v[i].image_id));
			json_object_set_new(r, "stem", json_string(v[i].stem));
			for (size_t c = 0; cats[c]; c++)
				json_object_set_new(r, cats[c], json_integer(0));
			json_array_append_new(rows, r);
		} else {
			r = json_array_get(rows, (size_t)k);
		}
		if (json_object_get(r, v[i].category))
			json_object_set_new(r, v[i].category, json_integer(v[i].count));
	}
	return rows;
}

static int list_counts(struct bia_cli *cli, int64_t run_id, int64_t problem_id,
		       const char *const *cats, const char *category, long top, int fmt)
{
	struct bia_run_error_row *all = NULL, *ord = NULL;
	size_t nall = 0, nord = 0, nruns = 0;
	struct bia_run *runs = NULL;
	int code = 0;
	if (problem_id &&
	    cli->inst.ops->run_list(&cli->ctx, &cli->inst, problem_id, &runs, &nruns))
		return cli_error(cli);
	if (cli->inst.ops->run_errors_query(&cli->ctx, &cli->inst, run_id, problem_id, NULL, 0,
					    &all, &nall) ||
	    (category && cli->inst.ops->run_errors_query(&cli->ctx, &cli->inst, run_id,
							 problem_id, category, top, &ord, &nord))) {
		code = cli_error(cli);
		goto out;
	}
	json_t *rows = pivot(all, nall, cats, runs, nruns);
	json_t *out = rows;
	if (category) {
		/* the order (and --top) of the indexed category query */
		out = json_array();
		for (size_t i = 0; i < nord; i++) {
			long k = find_row(rows, ord[i].run_id, ord[i].image_id);
			if (k >= 0)
				json_array_append(out, json_array_get(rows, (size_t)k));
		}
		json_decref(rows);
	} else if (top > 0) {
		while (json_array_size(out) > (size_t)top)
			json_array_remove(out, json_array_size(out) - 1);
	}
	const char *cols[40];
	size_t nc = 0;
	if (problem_id) {
		cols[nc++] = "run";
		cols[nc++] = "workflow";
	}
	cols[nc++] = "image_id";
	cols[nc++] = "stem";
	for (size_t c = 0; cats[c] && nc + 1 < sizeof(cols) / sizeof(cols[0]); c++)
		cols[nc++] = cats[c];
	cols[nc] = NULL;
	if (run_id) /* one run: the run column is redundant */
		for (size_t i = 0; i < json_array_size(out); i++)
			json_object_del(json_array_get(out, i), "run");
	cli_print_list(stdout, out, cols, (enum bia_out_format)fmt);
	json_decref(out);
out:
	free(all);
	free(ord);
	bia_run_list_free(runs, nruns);
	return code;
}

/* Where an object is, from its record: "centroid" and "bbox" (ObjSeg), a
 * point x, y[, z] (ObjDet, SptCnt, LndDet), and its frame: "t", or
 * "first".."last" (tracks), or [from.t, to.t] (an edge of AOGM). Adds centroid, bbox and frame to the row and a
 * short "where" text for the table. */
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

static int show_image(struct bia_cli *cli, const struct bia_run *r, const char *ref, int fmt)
{
	struct bia_image_rec im;
	char *end;
	long long id = strtoll(ref, &end, 10);
	struct bia_ctx c2;
	bia_ctx_init(&c2);
	/* a stem of the run's problem first, else an image id */
	if (cli->inst.ops->image_get(&c2, &cli->inst, 0, r->problem_id, ref, &im) &&
	    (!*ref || *end || id <= 0 ||
	     cli->inst.ops->image_get(&cli->ctx, &cli->inst, id, 0, NULL, &im))) {
		if (!*ref || *end || id <= 0)
			bia_fail(&cli->ctx, c2.rc, "%s", c2.msg);
		return cli_error(cli);
	}
	if (im.problem_id != r->problem_id) {
		bia_fail(&cli->ctx, BIA_ENOENT, "image %s is not in problem '%s' of run %lld", ref,
			 r->problem, (long long)r->id);
		return cli_error(cli);
	}
	/* an image without error counts was not scored by this run */
	struct bia_run_error_row *ev = NULL;
	size_t ne = 0, nin = 0;
	if (cli->inst.ops->run_errors_query(&cli->ctx, &cli->inst, r->id, 0, NULL, 0, &ev, &ne))
		return cli_error(cli);
	for (size_t i = 0; i < ne; i++)
		nin += ev[i].image_id == im.id;
	free(ev);
	if (!nin) {
		bia_fail(&cli->ctx, BIA_ENOENT, "run %lld has no error map for image '%s' (%s)",
			 (long long)r->id, im.stem, r->status);
		return cli_error(cli);
	}
	struct bia_run_object *v = NULL;
	size_t n = 0;
	if (cli->inst.ops->run_objects_get(&cli->ctx, &cli->inst, r->id, im.id, &v, &n))
		return cli_error(cli);
	json_t *rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_loads(v[i].detail ? v[i].detail : "{}", 0, NULL);
		json_t *row = json_pack("{s:s, s:I, s:s, s:o, s:o}", "kind", v[i].kind, "id",
					(json_int_t)v[i].obj_id, "status", v[i].status, "match",
					v[i].has_match ? json_integer(v[i].match) : json_null(),
					"score",
					isnan(v[i].score) ? json_null() : json_real(v[i].score));
		locate(row, d);
		json_object_set_new(row, "detail", d ? d : json_object());
		json_array_append_new(rows, row);
		bia_run_object_release(&v[i]);
	}
	free(v);
	static const char *const cols[] = {"kind",  "id",    "status", "match", "score",
					   "where", "frame", "detail", NULL};
	cli_print_list(stdout, rows, cols, (enum bia_out_format)fmt);
	json_decref(rows);
	return 0;
}

int cmd_errors(struct bia_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {{"image", required_argument, NULL, 'i'},
					   {"category", required_argument, NULL, 'c'},
					   {"top", required_argument, NULL, 't'},
					   {"problem", required_argument, NULL, 'p'},
					   {"format", required_argument, NULL, 'f'},
					   {NULL, 0, NULL, 0}};
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	const char *image = NULL, *category = NULL, *problem = NULL;
	long top = 0;
	int fmt = OUT_TABLE, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'i')
			image = optarg;
		else if (ch == 'c')
			category = optarg;
		else if (ch == 'p')
			problem = optarg;
		else if (ch == 't') {
			char *end;
			top = strtol(optarg, &end, 10);
			if (*end || !*optarg || top <= 0)
				return cli_usage_error(usage, "--top needs a positive integer, not '%s'",
						       optarg);
		} else if (ch == 'f') {
			fmt = cli_parse_format(optarg);
			if (fmt < 0)
				return cli_usage_error(usage, "unknown format '%s'", optarg);
		} else
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	const char *runref = optind < argc ? argv[optind] : NULL;
	if (optind + (runref ? 1 : 0) < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind + 1]);
	if (!runref == !problem)
		return cli_usage_error(usage, "errors needs a RUN id or --problem (not both)");
	if (problem && image)
		return cli_usage_error(usage, "--image needs a RUN, not --problem");
	if (image && (category || top))
		return cli_usage_error(usage, "--image lists every object: no --category or --top");

	struct bia_run r;
	int have_run = 0, code = 0;
	int64_t run_id = 0, problem_id = 0;
	if (runref) {
		char *end;
		long long id = strtoll(runref, &end, 10);
		if (*end || id <= 0)
			return cli_usage_error(usage, "bad run id '%s'", runref);
		if (cli->inst.ops->run_get(&cli->ctx, &cli->inst, id, &r))
			return cli_error(cli);
		have_run = 1;
		run_id = r.id;
		problem_id = r.problem_id;
	} else {
		struct bia_problem p;
		if (bia_problem_get(&cli->ctx, &cli->inst, problem, &p))
			return cli_error(cli);
		problem_id = p.id;
		bia_problem_release(&p);
	}
	const char *const *cats;
	if (class_cats(cli, problem_id, &cats)) {
		code = cli_error(cli);
		goto out;
	}
	if (category) {
		size_t c = 0;
		while (cats[c] && strcmp(cats[c], category))
			c++;
		if (!cats[c]) {
			char list[256] = "";
			for (size_t k = 0; cats[k]; k++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 k ? ", " : "", cats[k]);
			code = cli_usage_error(usage, "unknown category '%s' (this class has: %s)",
					       category, list);
			goto out;
		}
	}
	if (image)
		code = show_image(cli, &r, image, fmt);
	else
		code = list_counts(cli, problem ? 0 : run_id, problem ? problem_id : 0, cats,
				   category, top, fmt);
out:
	if (have_run)
		bia_run_release(&r);
	return code;
}
