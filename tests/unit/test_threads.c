/* Concurrency of the storage interface: one shared instance, many threads,
 * each with its own connection (docs/store.md "Connections"). Also built
 * with ThreadSanitizer by `make check` (build/tsan).
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "pgtest.h"

#define NTHREADS 8
#define NCALLS 300

struct env {
	char dir[64];
	char inst_dir[128];
	struct bia_instance inst;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-threads-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->inst_dir, sizeof(e->inst_dir), "%s/inst", e->dir);
	if (bia_instance_create(&ctx, e->inst_dir) ||
	    bia_instance_open(&ctx, e->inst_dir, &e->inst))
		return -1;
	pgtest_note(e->inst_dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	bia_instance_close(&e->inst);
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	pgtest_drop_noted();
	bia_rm_rf(&ctx, e->dir);
	free(e);
	return 0;
}

struct worker {
	struct bia_instance *inst;
	int index;
	int failures;	     /* calls that returned an error */
	int committed;	     /* problems this thread committed */
	char first_error[256];
};

static void failed(struct worker *w, const struct bia_ctx *ctx)
{
	if (!w->failures++)
		snprintf(w->first_error, sizeof(w->first_error), "%s", ctx->msg);
}

/* Mixed calls: a transaction that adds a problem and sets its main metric
 * (committed), one that adds a problem and is rolled back, a list, a get. */
static void *work(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < NCALLS; i++) {
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		struct bia_problem p = {.cls = BIA_OBJSEG};
		switch (i % 4) {
		case 0:
		case 1:
			snprintf(p.name, sizeof(p.name), "t%d-%d", w->index, i);
			if (bia_store_begin(&ctx, w->inst)) {
				failed(w, &ctx);
				break;
			}
			if (bia_problem_add(&ctx, w->inst, &p) ||
			    bia_problem_set_main_metric(&ctx, w->inst, p.id, "DICE")) {
				failed(w, &ctx);
				bia_store_rollback(w->inst);
				break;
			}
			if (i % 4 == 1) {
				bia_store_rollback(w->inst);
				break;
			}
			if (bia_store_commit(&ctx, w->inst)) {
				failed(w, &ctx);
				bia_store_rollback(w->inst);
				break;
			}
			w->committed++;
			break;
		case 2: {
			struct bia_problem *v = NULL;
			size_t n = 0;
			if (bia_problem_list(&ctx, w->inst, (struct bia_page){0, 0}, &v, &n, NULL))
				failed(w, &ctx);
			for (size_t k = 0; k < n; k++)
				bia_problem_release(&v[k]);
			free(v);
			break;
		}
		default: {
			char name[64];
			snprintf(name, sizeof(name), "t%d-%d", w->index, i - 3);
			if (bia_problem_get(&ctx, w->inst, name, &p)) {
				failed(w, &ctx);
				break;
			}
			if (strcmp(p.main_metric, "DICE"))
				w->failures++;
			bia_problem_release(&p);
		}
		}
	}
	return NULL;
}

static void test_threads_share_instance(void **state)
{
	struct env *e = *state;
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.inst = &e->inst, .index = i};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	int failures = 0, committed = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures)
			print_message("thread %d: %d failures, first: %s\n", i, w[i].failures,
				      w[i].first_error);
		failures += w[i].failures;
		committed += w[i].committed;
	}
	assert_int_equal(failures, 0);
	assert_int_equal(committed, NTHREADS * NCALLS / 4);
	/* exactly the committed transactions are stored; no rolled-back one */
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_problem *v = NULL;
	size_t n = 0;
	assert_int_equal(bia_problem_list(&ctx, &e->inst, (struct bia_page){0, 0}, &v, &n, NULL), 0);
	assert_int_equal(n, (size_t)committed);
	for (size_t k = 0; k < n; k++) {
		int thread, call;
		assert_int_equal(sscanf(v[k].name, "t%d-%d", &thread, &call), 2);
		assert_int_equal(call % 4, 0);
		assert_string_equal(v[k].main_metric, "DICE");
		bia_problem_release(&v[k]);
	}
	free(v);
}

/* A store call inside a caller's transaction is part of it: rolled back
 * with it, and an inner failure does not end the outer transaction. */
static void test_nested_transactions(void **state)
{
	struct env *e = *state;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	struct bia_problem a = {.cls = BIA_OBJSEG}, b = {.cls = BIA_OBJSEG}, dup = {.cls = BIA_SPTCNT};
	snprintf(a.name, sizeof(a.name), "outer-a");
	snprintf(b.name, sizeof(b.name), "outer-b");
	snprintf(dup.name, sizeof(dup.name), "outer-a");
	assert_int_equal(bia_store_begin(&ctx, &e->inst), 0);
	assert_int_equal(bia_problem_add(&ctx, &e->inst, &a), 0);
	assert_int_equal(bia_problem_add(&ctx, &e->inst, &dup), BIA_EEXIST);
	assert_int_equal(bia_problem_add(&ctx, &e->inst, &b), 0);
	bia_store_rollback(&e->inst);
	struct bia_problem p;
	assert_int_not_equal(bia_problem_get(&ctx, &e->inst, "outer-a", &p), 0);
	assert_int_not_equal(bia_problem_get(&ctx, &e->inst, "outer-b", &p), 0);

	assert_int_equal(bia_store_begin(&ctx, &e->inst), 0);
	assert_int_equal(bia_store_begin(&ctx, &e->inst), 0);
	assert_int_equal(bia_problem_add(&ctx, &e->inst, &a), 0);
	bia_store_rollback(&e->inst); /* the inner one only */
	assert_int_equal(bia_problem_add(&ctx, &e->inst, &b), 0);
	assert_int_equal(bia_store_commit(&ctx, &e->inst), 0);
	assert_int_not_equal(bia_problem_get(&ctx, &e->inst, "outer-a", &p), 0);
	assert_int_equal(bia_problem_get(&ctx, &e->inst, "outer-b", &p), 0);
	bia_problem_release(&p);
	/* commit without a transaction is an error, not a crash */
	assert_int_not_equal(bia_store_commit(&ctx, &e->inst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threads_share_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_transactions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
