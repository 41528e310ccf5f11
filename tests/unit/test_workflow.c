/* Unit tests of src/workflow: BIAFLOWS descriptors load unchanged, every
 * refusal names its key, parameter resolution, argv building (whole-token
 * replacement, values with spaces, optional parameters), extensions.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workflow/workflow.h"

static const char *fixdir(void)
{
	const char *d = getenv("BIAFLOWS_DESCRIPTOR_FIXTURES");
	return d && *d ? d : "tests/fixtures/descriptors";
}

static void load(const char *name, struct bia_descriptor *d)
{
	struct bia_ctx ctx;
	char p[1024];
	bia_ctx_init(&ctx);
	snprintf(p, sizeof(p), "%s/%s", fixdir(), name);
	if (bia_descriptor_load(&ctx, p, d))
		fail_msg("%s: %s", name, ctx.msg);
}

static int parse(struct bia_ctx *ctx, const char *text, struct bia_descriptor *d)
{
	bia_ctx_init(ctx);
	return bia_descriptor_parse(ctx, "descriptor.json", text, strlen(text), d);
}

static void parse_ok(const char *text, struct bia_descriptor *d)
{
	struct bia_ctx ctx;
	if (parse(&ctx, text, d))
		fail_msg("%s\n%s", ctx.msg, text);
}

/* Parsing must fail with a message containing `needle`. */
static void refused(const char *text, const char *needle)
{
	struct bia_ctx ctx;
	struct bia_descriptor d;
	int rc = parse(&ctx, text, &d);
	if (rc == 0) {
		bia_descriptor_release(&d);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(ctx.msg, needle))
		fail_msg("message '%s' lacks '%s'", ctx.msg, needle);
	assert_null(d.raw);
}

/* Render argv for values "id=value"...; returns NULL-terminated argv. */
static char **render(const struct bia_descriptor *d, const char *const *set, size_t n)
{
	struct bia_ctx ctx;
	json_t *values;
	char **argv;
	size_t argc;
	bia_ctx_init(&ctx);
	if (bia_descriptor_resolve(&ctx, d, set, n, &values))
		fail_msg("resolve: %s", ctx.msg);
	if (bia_descriptor_argv(&ctx, d, values, &argv, &argc))
		fail_msg("argv: %s", ctx.msg);
	json_decref(values);
	assert_null(argv[argc]);
	return argv;
}

static void assert_argv(char **argv, const char *const *want)
{
	size_t i;
	for (i = 0; want[i]; i++) {
		if (!argv[i])
			fail_msg("argv too short at %zu (want '%s')", i, want[i]);
		if (strcmp(argv[i], want[i]))
			fail_msg("argv[%zu] = '%s', want '%s'", i, argv[i], want[i]);
	}
	if (argv[i])
		fail_msg("argv too long: extra '%s'", argv[i]);
}

/* Resolve must fail with `needle`. */
static void resolve_refused(const struct bia_descriptor *d, const char *const *set, size_t n,
			    const char *needle)
{
	struct bia_ctx ctx;
	json_t *values = NULL;
	bia_ctx_init(&ctx);
	int rc = bia_descriptor_resolve(&ctx, d, set, n, &values);
	if (rc == 0) {
		json_decref(values);
		fail_msg("resolve accepted %s", n ? set[0] : "(nothing)");
	}
	assert_int_equal(rc, BIA_EINVAL);
	assert_null(values);
	if (!strstr(ctx.msg, needle))
		fail_msg("message '%s' lacks '%s'", ctx.msg, needle);
}

#define LOCAL "--local", "--infolder", "/data/in", "--outfolder", "/data/out", \
	"--gtfolder", "/data/gt", "-nmc"

/* A small host descriptor around a command line and inputs. */
#define DESC(cmd, inputs) \
	"{\"name\":\"T\",\"environment\":{\"type\":\"host\"},\"command-line\":\"" cmd \
	"\",\"inputs\":[" inputs "]}"

/* ------------------------------------------------------------- tests */

static void test_biaflows_example(void **state)
{
	(void)state;
	struct bia_descriptor d;
	load("nucleisegmentation-imagej.json", &d);
	assert_string_equal(d.name, "NucleiSegmentation-ImageJ");
	assert_string_equal(d.schema_version, "cytomine-0.1");
	assert_string_equal(d.container.image, "neubiaswg5/w_nucleisegmentation-imagej");
	assert_string_equal(d.container.type, "singularity");
	assert_string_equal(d.container.index, "");
	assert_int_equal(d.has_container, 1);
	assert_int_equal(d.env_explicit, 0);
	assert_int_equal(d.environment.type, BIA_ENV_SINGULARITY);
	assert_int_equal(d.problem_class, BIA_CLASS_NONE);
	assert_int_equal(d.n_inputs, 7);
	for (size_t i = 0; i < 5; i++) {
		assert_true(d.inputs[i].excluded);
		assert_true(d.inputs[i].set_by_server);
	}
	const struct bia_wf_param *r = bia_descriptor_param(&d, "ij_radius");
	assert_non_null(r);
	assert_string_equal(r->value_key, "IJ_RADIUS");
	assert_string_equal(r->flag, "--ij_radius");
	assert_string_equal(r->default_value, "5");
	assert_int_equal(r->type, BIA_WF_NUMBER);
	assert_true(r->optional && r->optional_present && !r->excluded);
	assert_string_equal(bia_descriptor_param(&d, "ij_threshold")->default_value, "-0.5");
	assert_string_equal(bia_descriptor_param(&d, "cytomine_host")->value_key,
			    "CYTOMINE_HOST");
	assert_null(bia_descriptor_param(&d, "nope"));

	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"python", "wrapper.py", "--ij_radius", "5",
					   "--ij_threshold", "-0.5", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);

	const char *set[] = {"ij_radius=3", "ij_threshold=0.25"};
	argv = render(&d, set, 2);
	static const char *const want2[] = {"python", "wrapper.py", "--ij_radius", "3",
					    "--ij_threshold", "0.25", LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);

	/* the effective values are what a run records */
	struct bia_ctx ctx;
	json_t *values;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_descriptor_resolve(&ctx, &d, set, 1, &values), 0);
	assert_int_equal(json_object_size(values), 2);
	assert_string_equal(json_string_value(json_object_get(values, "ij_radius")), "3");
	assert_string_equal(json_string_value(json_object_get(values, "ij_threshold")), "-0.5");
	json_decref(values);

	/* the raw document is kept */
	assert_true(json_is_array(json_object_get(d.raw, "inputs")));
	bia_descriptor_release(&d);
	bia_descriptor_release(&d); /* idempotent */
}

static void test_host_fixture(void **state)
{
	(void)state;
	struct bia_descriptor d;
	load("host-python.json", &d);
	assert_int_equal(d.problem_class, BIA_OBJSEG);
	assert_int_equal(d.env_explicit, 1);
	assert_int_equal(d.environment.type, BIA_ENV_HOST);
	assert_null(d.environment.archive);
	assert_int_equal(d.has_container, 0);
	assert_int_equal(d.resources.cpus, 2);
	assert_true(d.resources.memory == 2ull << 30);
	assert_int_equal(d.resources.time, 600);
	assert_int_equal(d.resources.gpus, 0);
	assert_true(json_is_array(d.outputs));
	assert_int_equal(d.n_authors, 2);
	assert_string_equal(d.authors[1], "B. Author");
	assert_string_equal(d.license, "MIT");
	assert_string_equal(json_string_value(json_object_get(d.raw, "x-our-note")),
			    "unknown keys are kept");
	assert_int_equal(bia_descriptor_param(&d, "sigma")->type, BIA_WF_NUMBER);
	assert_string_equal(bia_descriptor_param(&d, "debug")->default_value, "false");

	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"python3", "wrapper.py", "--sigma", "1.5",
					   "--min_size", "20", "--method", "otsu",
					   "--debug", "false", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);

	/* value with a space, RADIUS-style prefix keys, explicit empty = no value */
	const char *set[] = {"label_name=my nuclei", "min_size_max=40", "method=",
			     "min_size=3"};
	argv = render(&d, set, 4);
	static const char *const want2[] = {"python3", "wrapper.py", "--sigma", "1.5",
					    "--min_size", "3", "--min_size_max", "40",
					    "--label_name", "my nuclei", "--debug", "false",
					    LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_image_fixture(void **state)
{
	(void)state;
	struct bia_descriptor d;
	load("image-archive.json", &d);
	assert_int_equal(d.problem_class, BIA_SPTCNT);
	assert_int_equal(d.environment.type, BIA_ENV_IMAGE);
	assert_string_equal(d.environment.archive, "images/w_spotdetection-ij.tar");
	assert_string_equal(d.container.index, "docker://");
	assert_true(d.resources.memory == 536870912ull);
	assert_int_equal(d.resources.time, 3600);
	assert_int_equal(d.resources.gpus, -1);
	/* value-key defaults to [@ID], name substitution, real default keeps ".0" */
	const struct bia_wf_param *p = bia_descriptor_param(&d, "noise_tol");
	assert_string_equal(p->value_key, "[NOISE_TOL]");
	assert_string_equal(p->name, "Noise tolerance of noise_tol");
	assert_string_equal(p->flag, "-noise_tol");
	assert_string_equal(bia_descriptor_param(&d, "scale")->name, "scale");
	assert_string_equal(bia_descriptor_param(&d, "scale")->default_value, "2.0");
	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"python", "wrapper.py", "-noise_tol", "10",
					   "--scale", "2.0", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_radius_prefix(void **state)
{
	(void)state;
	/* BIAFLOWS' textual replace of RADIUS would corrupt RADIUS_MAX */
	struct bia_descriptor d;
	parse_ok(DESC("run RADIUS_MAX RADIUS RADIUS_MAXX",
		      "{\"id\":\"radius\",\"type\":\"Number\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"--@id\",\"default-value\":1},"
		      "{\"id\":\"radius_max\",\"type\":\"Number\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"--@id\",\"default-value\":9}"),
		 &d);
	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"run", "--radius_max", "9", "--radius", "1",
					   "RADIUS_MAXX", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_spaces_and_flags(void **state)
{
	(void)state;
	struct bia_descriptor d;
	/* tabs/newlines split the template; no flag -> value only; a value
	 * with spaces, quotes and '=' stays one argument; repeated token */
	parse_ok(DESC("prog\\tIN  @@X\\nNAME NAME",
		      "{\"id\":\"in\",\"type\":\"String\",\"value-key\":\"IN\"},"
		      "{\"id\":\"name\",\"type\":\"String\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"-n  @id\"}"),
		 &d);
	const char *set[] = {"in=a b  \"c\"=d", "name=x y"};
	char **argv = render(&d, set, 2);
	static const char *const want[] = {"prog", "a b  \"c\"=d", "@@X", "-n", "name", "x y",
					   "-n", "name", "x y", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_substitution(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok(DESC("x MyParam_X [MYPARAM]",
		      "{\"id\":\"MyParam\",\"type\":\"String\",\"value-key\":\"@id_X\","
		      "\"command-line-flag\":\"--@ID=\",\"name\":\"@id/@ID\","
		      "\"description\":\"about @id\",\"default-value\":\"d-@id\"},"
		      "{\"id\":\"other\",\"type\":\"String\",\"value-key\":\"[MYPARAM]\","
		      "\"optional\":true}"),
		 &d);
	const struct bia_wf_param *p = &d.inputs[0];
	assert_string_equal(p->value_key, "MyParam_X");
	assert_string_equal(p->flag, "--MYPARAM=");
	assert_string_equal(p->name, "MyParam/MYPARAM");
	assert_string_equal(p->description, "about MyParam");
	assert_string_equal(p->default_value, "d-MyParam");
	/* the default name is the id, default flag empty */
	assert_string_equal(d.inputs[1].name, "other");
	assert_string_equal(d.inputs[1].flag, "");
	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"x", "--MYPARAM=", "d-MyParam", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	const char *set[] = {"other=o"};
	argv = render(&d, set, 1);
	static const char *const want2[] = {"x", "--MYPARAM=", "d-MyParam", "o", LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_optional_and_excluded(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok(DESC("w OPT REQ CYTOMINE_ID_IMAGES SRV HOSTX",
		      "{\"id\":\"opt\",\"type\":\"Number\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"--@id\",\"optional\":true},"
		      "{\"id\":\"req\",\"type\":\"String\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"--@id\"},"
		      "{\"id\":\"cytomine_id_images\",\"type\":\"ListDomain\",\"value-key\":\"@ID\","
		      "\"command-line-flag\":\"--@id\",\"optional\":true},"
		      "{\"id\":\"srv\",\"type\":\"String\",\"value-key\":\"@ID\","
		      "\"server-parameter\":true,\"default-value\":\"q\",\"optional\":true},"
		      "{\"id\":\"host\",\"type\":\"String\",\"value-key\":\"HOSTX\","
		      "\"set-by-server\":true,\"default-value\":\"h\"}"),
		 &d);
	assert_true(d.inputs[2].excluded);
	/* set-by-server but not cytomine_*: an ordinary parameter (GlaS's
	 * `threshold`), settable and defaulted */
	assert_false(d.inputs[4].excluded);
	assert_false(d.inputs[3].excluded);
	/* required without value or default */
	const char *none[] = {NULL};
	resolve_refused(&d, none, 0, "parameter 'req' is required");
	const char *set[] = {"req=r"};
	char **argv = render(&d, set, 1);
	static const char *const want[] = {"w", "--req", "r", "h", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	const char *set2[] = {"req=r", "host=x"};
	argv = render(&d, set2, 2);
	static const char *const want_host[] = {"w", "--req", "r", "x", LOCAL, NULL};
	assert_argv(argv, want_host);
	bia_argv_free(argv);
	/* cytomine_* ones cannot be given */
	const char *bad[] = {"req=r", "cytomine_id_images=1"};
	resolve_refused(&d, bad, 2, "'cytomine_id_images' is set by the server");
	/* server parameters are recorded but never on the command line */
	struct bia_ctx ctx;
	json_t *values;
	bia_ctx_init(&ctx);
	assert_int_equal(bia_descriptor_resolve(&ctx, &d, set, 1, &values), 0);
	assert_string_equal(json_string_value(json_object_get(values, "srv")), "q");
	assert_null(json_object_get(values, "opt"));
	assert_string_equal(json_string_value(json_object_get(values, "host")), "h");
	json_decref(values);
	/* argv checks values it is given too */
	values = json_pack("{s:s, s:s, s:s}", "req", "r", "opt", "abc", "host", "h");
	assert_int_equal(bia_descriptor_argv(&ctx, &d, values, &argv, NULL), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "'abc' is not a number"));
	json_decref(values);
	values = json_pack("{s:i, s:i, s:s}", "req", 7, "opt", 2, "host", "h");
	assert_int_equal(bia_descriptor_argv(&ctx, &d, values, &argv, NULL), 0);
	static const char *const want2[] = {"w", "--opt", "2", "--req", "7", "h", LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);
	json_decref(values);
	assert_int_equal(bia_descriptor_argv(&ctx, &d, NULL, &argv, NULL), BIA_EINVAL);
	assert_non_null(strstr(ctx.msg, "'req' is required"));
	bia_descriptor_release(&d);
}

static void test_resolve_errors(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok(DESC("w N I C B D E",
		      "{\"id\":\"n\",\"type\":\"Number\",\"value-key\":\"N\",\"optional\":true,"
		      "\"minimum\":1,\"maximum\":10.5},"
		      "{\"id\":\"i\",\"type\":\"Number\",\"value-key\":\"I\",\"optional\":true,"
		      "\"integer\":true},"
		      "{\"id\":\"c\",\"type\":\"String\",\"value-key\":\"C\",\"optional\":true,"
		      "\"values-choice\":[\"li\",\"otsu\"]},"
		      "{\"id\":\"b\",\"type\":\"Boolean\",\"value-key\":\"B\",\"optional\":true},"
		      "{\"id\":\"d\",\"type\":\"Domain\",\"value-key\":\"D\",\"optional\":true},"
		      "{\"id\":\"e\",\"type\":\"Number\",\"value-key\":\"E\",\"optional\":true,"
		      "\"equals\":3,\"values-choice\":[1,3]}"),
		 &d);
	const char *s1[] = {"zz=1"};
	resolve_refused(&d, s1, 1, "unknown parameter 'zz' (parameters: n, i, c, b, d, e)");
	const char *s2[] = {"n=abc"};
	resolve_refused(&d, s2, 1, "parameter 'n': 'abc' is not a number");
	const char *s3[] = {"n=0.5"};
	resolve_refused(&d, s3, 1, "0.5 is below the minimum 1");
	const char *s4[] = {"n=11"};
	resolve_refused(&d, s4, 1, "11 is above the maximum 10.5");
	const char *s5[] = {"c=yen"};
	resolve_refused(&d, s5, 1, "'yen' is not one of: 'li', 'otsu'");
	const char *s6[] = {"i=2.5"};
	resolve_refused(&d, s6, 1, "'2.5' is not an integer");
	const char *s7[] = {"b=maybe"};
	resolve_refused(&d, s7, 1, "'maybe' is not a boolean");
	const char *s8[] = {"d=x"};
	resolve_refused(&d, s8, 1, "'x' is not a domain id");
	const char *s9[] = {"n=2", "n=3"};
	resolve_refused(&d, s9, 2, "parameter 'n' given twice");
	const char *s10[] = {"noequals"};
	resolve_refused(&d, s10, 1, "expected NAME=VALUE");
	const char *s11[] = {"n=nan"};
	resolve_refused(&d, s11, 1, "'nan' is not a number");
	const char *s12[] = {"n=0x5"};
	resolve_refused(&d, s12, 1, "'0x5' is not a number");
	const char *s13[] = {"e=1"};
	resolve_refused(&d, s13, 1, "'1' is not equal to '3'");
	const char *s14[] = {"n=1e400"};
	resolve_refused(&d, s14, 1, "is not a number");
	/* accepted forms */
	const char *ok[] = {"n=10.5", "i=-4", "c=otsu", "b=TRUE", "d=12", "e=3.0"};
	char **argv = render(&d, ok, 6);
	static const char *const want[] = {"w", "10.5", "-4", "otsu", "TRUE", "12", "3.0",
					   LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *ci = "\"container-image\":{\"image\":\"a/b\",\"type\":\"singularity\"}";
	char t[1024];
#define R(fmt, needle) \
	do { \
		snprintf(t, sizeof(t), fmt, ci); \
		refused(t, needle); \
	} while (0)
	refused("", "descriptor.json: invalid JSON");
	refused("[]", "descriptor.json: not a JSON object");
	R("{%s,\"command-line\":\"x\",\"inputs\":[]}", "descriptor.json: 'name': missing");
	R("{%s,\"name\":\"a b\",\"command-line\":\"x\",\"inputs\":[]}",
	  "'name': 'a b' must not contain spaces");
	R("{%s,\"name\":\"\",\"command-line\":\"x\",\"inputs\":[]}", "'name': must not be empty");
	R("{%s,\"name\":\"a/b\",\"command-line\":\"x\",\"inputs\":[]}", "'name': must not");
	R("{%s,\"name\":5,\"command-line\":\"x\",\"inputs\":[]}", "'name': must be a string");
	R("{%s,\"name\":\"A\",\"inputs\":[]}", "'command-line': missing");
	R("{%s,\"name\":\"A\",\"command-line\":\" \",\"inputs\":[]}",
	  "'command-line': must not be empty");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\"}", "'inputs': missing");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":{}}", "'inputs': must be an array");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[]}",
		"'container-image': missing (required when there is no 'environment')");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"container-image\":{}}",
		"'container-image.image': missing");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"container-image\":"
		"{\"image\":\"a\",\"type\":\"rkt\"}}",
		"'container-image.type': unknown type 'rkt'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"container-image\":\"a\"}",
		"'container-image': must be an object");
	/* inputs */
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\"},{\"id\":\"q\",\"type\":\"Number\","
	  "\"value-key\":\"P\"},{\"id\":\"r\",\"type\":\"Float\"}]}",
	  "'inputs[1].value-key': 'P' is also the value-key of 'p'");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\"},{\"id\":\"r\",\"type\":\"Float\"}]}",
	  "descriptor.json: 'inputs[1].type': unknown type 'Float'");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"type\":\"String\"}]}",
	  "'inputs[0].id': missing");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\"}]}",
	  "'inputs[0].type': missing");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"a b\","
	  "\"type\":\"String\"}]}", "'inputs[0].id': 'a b' is not a valid id");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[3]}",
	  "'inputs[0]': must be an object");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P Q\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\"},{\"id\":\"p\",\"type\":\"String\","
	  "\"value-key\":\"Q\"}]}", "'inputs[1].id': duplicate id 'p'");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"optional\":\"yes\"}]}",
	  "'inputs[0].optional': must be true or false");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"set-by-server\":1}]}",
	  "'inputs[0].set-by-server': must be true or false");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":7}]}", "'inputs[0].value-key': must be a string");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"default-value\":[1]}]}",
	  "'inputs[0].default-value': must be a string, a number or a boolean");
	/* constraints of the wrong type */
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\",\"minimum\":\"3\"}]}",
	  "'inputs[0].minimum': must be a number");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"maximum\":3}]}",
	  "'inputs[0].maximum': only for Number parameters");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\",\"minimum\":3,\"maximum\":2}]}",
	  "'inputs[0].minimum': 3 is above the maximum 2");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\",\"integer\":1}]}",
	  "'inputs[0].integer': must be true or false");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"integer\":true}]}",
	  "'inputs[0].integer': only for Number parameters");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"values-choice\":\"a\"}]}",
	  "'inputs[0].values-choice': must be a non-empty array");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"values-choice\":[\"a\",{}]}]}",
	  "'inputs[0].values-choice[1]': must be a string or a number");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"String\",\"value-key\":\"P\",\"equals\":[]}]}",
	  "'inputs[0].equals': must be");
	/* defaults are checked like values */
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\",\"default-value\":\"five\"}]}",
	  "'inputs[0].default-value': 'five' is not a number");
	R("{%s,\"name\":\"A\",\"command-line\":\"x P\",\"inputs\":[{\"id\":\"p\","
	  "\"type\":\"Number\",\"value-key\":\"P\",\"default-value\":0,\"minimum\":1}]}",
	  "'inputs[0].default-value': 0 is below the minimum 1");
	/* extensions */
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"problem-class\":\"Seg\"}",
	  "'problem-class': unknown class 'Seg' (one of ObjSeg");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"resources\":{\"cpus\":0}}",
	  "'resources.cpus': must be an integer from 1");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"resources\":"
	  "{\"memory\":\"2X\"}}", "'resources.memory': must be a size");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"resources\":"
	  "{\"time\":\"1w\"}}", "'resources.time': must be a duration");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"resources\":"
	  "{\"memroy\":1}}", "'resources.memroy': unknown resource");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"resources\":"
	  "{\"gpus\":-1}}", "'resources.gpus': must be an integer from 0");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"outputs\":\"x\"}",
	  "'outputs': must be an array or an object");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"authors\":[\"a\",1]}",
	  "'authors[1]': must be a string");
	R("{%s,\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"license\":1}",
	  "'license': must be a string");
#undef R
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"vm\"}}", "'environment.type': unknown type 'vm'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":{}}",
		"'environment.type': missing");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"image\"}}", "'environment.archive': missing");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"image\",\"archive\":\"/etc/x.tar\"}}",
		"'environment.archive': absolute path");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"image\",\"archive\":\"a/../../x.tar\"}}",
		"'environment.archive': path 'a/../../x.tar' escapes");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\",\"archive\":\"x.tar\"}}",
		"'environment.archive': only for type 'image'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"docker\"}}", "'environment.type': 'docker' needs 'container-image'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\",\"mounts\":[]}}", "'environment': unknown key 'mounts'");
	refused("{\"name\":\"A\",\"name\":\"B\",\"command-line\":\"x\",\"inputs\":[]}",
		"duplicate");
}

static void test_tolerated(void **state)
{
	(void)state;
	struct bia_descriptor d;
	/* value-keys of cytomine / server parameters need not be tokens (a
	 * set-by-server one that is not is passed after the template, with a
	 * warning); optional key absent; type spelling normalised */
	parse_ok(DESC("x",
		      "{\"id\":\"cytomine_id_images\",\"type\":\"listdomain\"},"
		      "{\"id\":\"job_host\",\"type\":\"STRING\",\"set-by-server\":true},"
		      "{\"id\":\"mem\",\"type\":\"Number\",\"server-parameter\":true,"
		      "\"default-value\":null}"),
		 &d);
	assert_int_equal(d.inputs[0].type, BIA_WF_LISTDOMAIN);
	assert_int_equal(d.inputs[1].type, BIA_WF_STRING);
	assert_false(d.inputs[2].optional_present);
	assert_false(d.inputs[2].optional);
	assert_string_equal(d.inputs[2].default_value, "");
	assert_string_equal(bia_wf_type_name(d.inputs[0].type), "ListDomain");
	assert_string_equal(bia_env_type_name(d.environment.type), "host");
	bia_descriptor_release(&d);
	/* environment forms */
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"container-image\":"
		 "{\"image\":\"a/b\",\"type\":\"Docker\"}}", &d);
	assert_int_equal(d.environment.type, BIA_ENV_DOCKER);
	assert_string_equal(d.container.type, "docker");
	bia_descriptor_release(&d);
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"container-image\":"
		 "{\"image\":\"a/b\"},\"environment\":{\"type\":\"singularity\"}}", &d);
	assert_int_equal(d.environment.type, BIA_ENV_SINGULARITY);
	assert_int_equal(d.env_explicit, 1);
	assert_string_equal(d.container.type, "singularity");
	bia_descriptor_release(&d);
	/* empty inputs: argv is the template plus the local-mode flags */
	parse_ok(DESC("python wrapper.py", ""), &d);
	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"python", "wrapper.py", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	const char *s[] = {"x=1"};
	resolve_refused(&d, s, 1, "unknown parameter 'x' (parameters: none)");
	bia_descriptor_release(&d);
}

/* A value-key that is not a token of the command line (5 of 47 real
 * repositories): accepted with a warning, the value passed as "flag VALUE"
 * after the rendered template ("--ID" without a flag). */
static void test_value_key_off_template(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok("{\"name\":\"A\",\"environment\":{\"type\":\"host\"},"
		 "\"command-line\":\"python run.py RADIUS_MAX CYTOMINE_HOST\","
		 "\"inputs\":[{\"id\":\"radius\",\"type\":\"Number\",\"value-key\":\"@ID\","
		 "\"default-value\":5},"
		 "{\"id\":\"scale\",\"type\":\"Number\",\"value-key\":\"[SCALE]\","
		 "\"command-line-flag\":\"--scale\",\"default-value\":2,\"optional\":true},"
		 "{\"id\":\"cytomine_host\",\"type\":\"String\",\"value-key\":\"[HOSTNAME]\","
		 "\"set-by-server\":true},"
		 "{\"id\":\"note\",\"type\":\"String\",\"value-key\":\"@ID\",\"optional\":true}]}",
		 &d);
	assert_int_equal(d.n_warnings, 3);
	assert_non_null(strstr(d.warnings[0], "'inputs[0].value-key': 'RADIUS' is not a token of "
					      "'command-line': the value is passed as '--radius "
					      "VALUE' after it"));
	assert_non_null(strstr(d.warnings[1], "passed as '--scale VALUE'"));
	assert_non_null(strstr(d.warnings[2], "'NOTE'"));
	assert_true(d.inputs[0].off_template);
	assert_false(d.inputs[2].off_template); /* cytomine_*: never passed */
	char **argv = render(&d, NULL, 0);
	static const char *const want[] = {"python", "run.py", "RADIUS_MAX", "CYTOMINE_HOST",
					   "--radius", "5", "--scale", "2", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	const char *set[] = {"scale=3.5", "note=two words"};
	argv = render(&d, set, 2);
	static const char *const want2[] = {"python", "run.py", "RADIUS_MAX", "CYTOMINE_HOST",
					    "--radius", "5", "--scale", "3.5", "--note",
					    "two words", LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);
	const char *bad[] = {"radius=abc"};
	resolve_refused(&d, bad, 1, "parameter 'radius'");
	bia_descriptor_release(&d);
}

/* Boutiques constraints between inputs, checked when a run's parameters are
 * resolved (so a sweep refuses a bad combination before queueing). */
static void test_constraints(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok("{\"name\":\"C\",\"environment\":{\"type\":\"host\"},"
		 "\"command-line\":\"run [MODE] [RADIUS] [AUTO] [LO] [HI]\","
		 "\"inputs\":[{\"id\":\"mode\",\"type\":\"String\",\"optional\":true,"
		 "\"requires-inputs\":[\"radius\"]},"
		 "{\"id\":\"radius\",\"type\":\"Number\",\"optional\":true},"
		 "{\"id\":\"auto\",\"type\":\"Boolean\",\"optional\":true,\"default-value\":false,"
		 "\"disables-inputs\":[\"radius\"]},"
		 "{\"id\":\"lo\",\"type\":\"Number\",\"optional\":true},"
		 "{\"id\":\"hi\",\"type\":\"Number\",\"optional\":true,\"default-value\":9}],"
		 "\"groups\":[{\"id\":\"range\",\"members\":[\"lo\",\"hi\"],\"all-or-none\":true}]}",
		 &d);
	assert_int_equal(d.n_groups, 1);
	assert_int_equal(d.inputs[0].n_requires, 1);
	/* mode needs radius */
	const char *a[] = {"mode=x", "lo=1"};
	resolve_refused(&d, a, 2, "parameter 'mode' requires 'radius', which has no value");
	/* auto disables radius: both given is refused */
	const char *b[] = {"auto=true", "radius=3", "lo=1"};
	resolve_refused(&d, b, 3, "'auto' and 'radius' cannot be given together");
	/* lo and hi: all or none (hi has a default, so lo alone is complete) */
	const char *c[] = {"lo=1", "hi="};
	resolve_refused(&d, c, 2, "group 'range' needs all of its parameters or none");
	const char *ok[] = {"mode=x", "radius=2", "lo=1"};
	char **argv = render(&d, ok, 3);
	static const char *const want[] = {"run", "x", "2", "false", "1", "9", LOCAL, NULL};
	assert_argv(argv, want);
	bia_argv_free(argv);
	bia_descriptor_release(&d);
	/* mutually exclusive, and an explicit value drops the others' defaults */
	parse_ok("{\"name\":\"M\",\"environment\":{\"type\":\"host\"},\"command-line\":\"run [A] [B]\","
		 "\"inputs\":[{\"id\":\"a\",\"type\":\"Number\",\"optional\":true,\"default-value\":1},"
		 "{\"id\":\"b\",\"type\":\"Number\",\"optional\":true}],"
		 "\"groups\":[{\"id\":\"one\",\"members\":[\"a\",\"b\"],\"mutually-exclusive\":true,"
		 "\"one-is-required\":true}]}",
		 &d);
	const char *both[] = {"a=2", "b=3"};
	resolve_refused(&d, both, 2, "group 'one' is mutually exclusive");
	const char *onlyb[] = {"b=3"};
	argv = render(&d, onlyb, 1);
	static const char *const want2[] = {"run", "3", LOCAL, NULL};
	assert_argv(argv, want2);
	bia_argv_free(argv);
	const char *none[] = {"a="};
	resolve_refused(&d, none, 1, "group 'one' needs one of its parameters");
	bia_descriptor_release(&d);
	/* references to unknown ids are refused at parse time */
	refused("{\"name\":\"R\",\"environment\":{\"type\":\"host\"},\"command-line\":\"run A\","
		"\"inputs\":[{\"id\":\"a\",\"type\":\"Number\",\"requires-inputs\":[\"zz\"]}]}",
		"'inputs[0].requires-inputs': 'zz' is not the id of an input");
	refused("{\"name\":\"R\",\"environment\":{\"type\":\"host\"},\"command-line\":\"run A\","
		"\"inputs\":[{\"id\":\"a\",\"type\":\"Number\"}],\"groups\":[{\"id\":\"g\","
		"\"members\":[\"a\",\"q\"]}]}",
		"'groups[0].members': 'q' is not the id of an input");
}

/* Settings compared by the parameters' types: sigma=1 and sigma=1.0 are one
 * setting, true and yes too; strings compare as text. */
static void test_values_equal(void **state)
{
	(void)state;
	struct bia_descriptor d;
	parse_ok(DESC("w S B T", "{\"id\":\"s\",\"type\":\"Number\",\"value-key\":\"S\"},"
				 "{\"id\":\"b\",\"type\":\"Boolean\",\"value-key\":\"B\"},"
				 "{\"id\":\"t\",\"type\":\"String\",\"value-key\":\"T\"}"),
		 &d);
	json_t *x = json_pack("{s:s, s:s, s:s}", "s", "1", "b", "true", "t", "1");
	json_t *y = json_pack("{s:s, s:s, s:s}", "s", "1.0", "b", "yes", "t", "1");
	json_t *z = json_pack("{s:s, s:s, s:s}", "s", "1.0", "b", "yes", "t", "1.0");
	json_t *w = json_pack("{s:s, s:s}", "s", "1", "b", "true");
	assert_true(bia_descriptor_values_equal(&d, x, y));
	assert_false(bia_descriptor_values_equal(&d, x, z)); /* strings: "1" != "1.0" */
	assert_false(bia_descriptor_values_equal(&d, x, w)); /* another set of ids */
	json_decref(x);
	json_decref(y);
	json_decref(z);
	json_decref(w);
	bia_descriptor_release(&d);
}

static void test_resources_parsing(void **state)
{
	(void)state;
	uint64_t b;
	int64_t t;
	assert_int_equal(bia_parse_memory("2G", &b), 0);
	assert_true(b == 2ull << 30);
	assert_int_equal(bia_parse_memory("512M", &b), 0);
	assert_true(b == 512ull << 20);
	assert_int_equal(bia_parse_memory("512m", &b), 0);
	assert_true(b == 512ull << 20);
	assert_int_equal(bia_parse_memory("1.5GiB", &b), 0);
	assert_true(b == 3ull << 29);
	assert_int_equal(bia_parse_memory("100K", &b), 0);
	assert_true(b == 102400);
	assert_int_equal(bia_parse_memory("1048576", &b), 0);
	assert_true(b == 1048576);
	assert_int_equal(bia_parse_memory("2T", &b), 0);
	assert_true(b == 2ull << 40);
	assert_int_equal(bia_parse_memory("", &b), -1);
	assert_int_equal(bia_parse_memory("G", &b), -1);
	assert_int_equal(bia_parse_memory("0", &b), -1);
	assert_int_equal(bia_parse_memory("-1G", &b), -1);
	assert_int_equal(bia_parse_memory("2 G", &b), -1);
	assert_int_equal(bia_parse_memory("2GX", &b), -1);
	assert_int_equal(bia_parse_memory("1.5", &b), -1);
	assert_int_equal(bia_parse_memory("99999999999T", &b), -1);
	assert_int_equal(bia_parse_duration("90", &t), 0);
	assert_int_equal(t, 90);
	assert_int_equal(bia_parse_duration("90s", &t), 0);
	assert_int_equal(t, 90);
	assert_int_equal(bia_parse_duration("10m", &t), 0);
	assert_int_equal(t, 600);
	assert_int_equal(bia_parse_duration("1h", &t), 0);
	assert_int_equal(t, 3600);
	assert_int_equal(bia_parse_duration("1.5h", &t), 0);
	assert_int_equal(t, 5400);
	assert_int_equal(bia_parse_duration("2d", &t), 0);
	assert_int_equal(t, 172800);
	assert_int_equal(bia_parse_duration("0", &t), -1);
	assert_int_equal(bia_parse_duration("1H", &t), -1);
	assert_int_equal(bia_parse_duration("h", &t), -1);
	assert_int_equal(bia_parse_duration("1h30m", &t), -1);
	assert_int_equal(bia_parse_duration("99999d", &t), -1);

	struct bia_descriptor d;
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		 "{\"type\":\"host\"},\"resources\":{\"memory\":1000,\"time\":\"1h\"}}", &d);
	assert_true(d.resources.memory == 1000);
	assert_int_equal(d.resources.time, 3600);
	assert_int_equal(d.resources.cpus, 0);
	assert_int_equal(d.resources.gpus, -1);
	bia_descriptor_release(&d);
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"memory\":0}}", "'resources.memory'");

	/* sandbox limits (our extension): processes, open_files, output */
	assert_int_equal(d.resources.processes, 0);
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		 "{\"type\":\"host\"},\"resources\":{\"processes\":8,\"open_files\":16,"
		 "\"output\":\"2G\"}}", &d);
	assert_int_equal(d.resources.processes, 8);
	assert_int_equal(d.resources.open_files, 16);
	assert_true(d.resources.output == 2ull << 30);
	bia_descriptor_release(&d);
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		 "{\"type\":\"host\"},\"resources\":{\"processes\":100000,\"open_files\":1048576,"
		 "\"output\":4096}}", &d);
	assert_int_equal(d.resources.processes, 100000);
	assert_int_equal(d.resources.open_files, 1048576);
	assert_true(d.resources.output == 4096);
	bia_descriptor_release(&d);
	parse_ok("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		 "{\"type\":\"host\"}}", &d);
	assert_int_equal(d.resources.processes, 0);
	assert_int_equal(d.resources.open_files, 0);
	assert_true(d.resources.output == 0);
	bia_descriptor_release(&d);
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"processes\":0}}",
		"'resources.processes': must be an integer from 1 to 100000");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"processes\":100001}}", "'resources.processes'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"processes\":\"8\"}}", "'resources.processes'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"processes\":2.5}}", "'resources.processes'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"open_files\":15}}",
		"'resources.open_files': must be an integer from 16 to 1048576");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"open_files\":1048577}}",
		"'resources.open_files'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"output\":\"2X\"}}",
		"'resources.output': must be a size");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"output\":0}}", "'resources.output'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"output\":\"0\"}}", "'resources.output'");
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":{\"procs\":8}}",
		"'resources.procs': unknown resource");
	/* the same bounds for --processes / --open-files */
	int64_t n;
	assert_int_equal(bia_parse_int_range("8", 1, 100000, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(bia_parse_int_range("0", 1, 100000, &n), -1);
	assert_int_equal(bia_parse_int_range("100001", 1, 100000, &n), -1);
	assert_int_equal(bia_parse_int_range("8x", 1, 100000, &n), -1);
	assert_int_equal(bia_parse_int_range("", 1, 100000, &n), -1);
	assert_int_equal(bia_parse_int_range(" 8", 1, 100000, &n), -1);
	assert_int_equal(bia_parse_int_range("99999999999999999999", 1, 100000, &n), -1);
	refused("{\"name\":\"A\",\"command-line\":\"x\",\"inputs\":[],\"environment\":"
		"{\"type\":\"host\"},\"resources\":[]}", "'resources': must be an object");
}

static void test_load_missing(void **state)
{
	(void)state;
	struct bia_ctx ctx;
	struct bia_descriptor d;
	bia_ctx_init(&ctx);
	assert_int_not_equal(bia_descriptor_load(&ctx, "/nonexistent/descriptor.json", &d), 0);
	assert_null(d.raw);
	bia_descriptor_release(&d);
	/* messages name the file */
	char dir[] = "/tmp/test_workflow.XXXXXX", p[1024];
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/bad-type.json", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"name\":\"A\",\"command-line\":\"x P\",\"container-image\":{\"image\":\"i\"},"
	      "\"inputs\":[{\"id\":\"p\",\"type\":\"Float\"}]}", f);
	fclose(f);
	bia_ctx_init(&ctx);
	if (bia_descriptor_load(&ctx, p, &d) == 0)
		fail_msg("bad-type.json accepted");
	unlink(p);
	rmdir(dir);
	assert_non_null(strstr(ctx.msg, "bad-type.json: 'inputs[0].type': unknown type 'Float'"));
	assert_int_equal(ctx.rc, BIA_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_biaflows_example),
		cmocka_unit_test(test_host_fixture),
		cmocka_unit_test(test_image_fixture),
		cmocka_unit_test(test_radius_prefix),
		cmocka_unit_test(test_spaces_and_flags),
		cmocka_unit_test(test_substitution),
		cmocka_unit_test(test_optional_and_excluded),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_tolerated),
		cmocka_unit_test(test_value_key_off_template),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_values_equal),
		cmocka_unit_test(test_resources_parsing),
		cmocka_unit_test(test_load_missing),
	};
	return cmocka_run_group_tests_name("workflow", tests, NULL, NULL);
}
