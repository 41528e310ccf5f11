/* The PostgreSQL back end: store URLs (always), and with a database
 * ($BIAFLOWS_DATABASE, a postgresql:// URL; make check starts one with
 * scripts/services up postgres): a schema per instance, instances side by
 * side in one database, runs claimed once by many claimers at once
 * (FOR UPDATE SKIP LOCKED and conditional updates), run events reaching a
 * listener (LISTEN/NOTIFY), migrate-store to SQLite and back. Without a
 * database those print why and are skipped.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runs/runs.h"

#include <libpq-fe.h>

static const char *database(void)
{
	const char *db = getenv("BIAFLOWS_DATABASE");
	if (!db || strncmp(db, "postgresql://", 13)) {
		printf("skipped: no PostgreSQL (set BIAFLOWS_DATABASE=postgresql://...; "
		       "scripts/services up postgres makes one)\n");
		return NULL;
	}
	return db;
}

static void test_url_parse(void **state)
{
	(void)state;
	struct bia_pg_url u;
	char err[256];
	assert_int_equal(bia_pg_url_parse("postgresql://bia@127.0.0.1:55432/biaflows?schema=bia_1",
					  &u, err, sizeof(err)),
			 0);
	assert_string_equal(u.user, "bia");
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 55432);
	assert_string_equal(u.db, "biaflows");
	assert_string_equal(u.schema, "bia_1");
	assert_string_equal(u.conninfo, "postgresql://bia@127.0.0.1:55432/biaflows");
	assert_int_equal(bia_pg_url_parse("postgresql://h/d?sslmode=disable&schema=s&connect_timeout=5",
					  &u, err, sizeof(err)),
			 0);
	assert_int_equal(u.port, 5432);
	assert_string_equal(u.conninfo, "postgresql://h/d?sslmode=disable&connect_timeout=5");
	assert_int_equal(bia_pg_url_parse("postgresql://[::1]:5/d", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	static const char *const bad[] = {
		"postgres://h/d",	   "postgresql://h",	     "postgresql:///d",
		"postgresql://h:0/d",	   "postgresql://h:99999/d", "postgresql://h:/d",
		"postgresql://h/",	   "postgresql://h/d?schema=", "postgresql://h/d?schema=A",
		"postgresql://h/d?schema=pg_x", "postgresql://h/d?schema=a;drop", "postgresql://h/d?x",
		"postgresql://h/d?schema=a&schema=b", "postgresql://h h/d", "postgresql://@h/d",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(bia_pg_url_parse(bad[i], &u, err, sizeof(err)), BIA_EINVAL);
		assert_non_null(strstr(err, "bad PostgreSQL URL"));
	}
}

struct env {
	char dir[64];
	char inst_dir[2][128];
	struct bia_ctx ctx;
	struct bia_instance inst[2];
	int64_t problem, version;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	*state = e;
	if (!database())
		return 0;
	snprintf(e->dir, sizeof(e->dir), "/tmp/bia-pg-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	bia_ctx_init(&e->ctx);
	char base[sizeof(e->dir)];
	memcpy(base, e->dir, sizeof(base));
	for (int i = 0; i < 2; i++) {
		snprintf(e->inst_dir[i], sizeof(e->inst_dir[i]), "%s/inst%d", base, i);
		if (bia_instance_create_store(&e->ctx, e->inst_dir[i], database()) ||
		    bia_instance_open(&e->ctx, e->inst_dir[i], &e->inst[i])) {
			fprintf(stderr, "%s\n", e->ctx.msg);
			return -1;
		}
	}
	struct bia_problem p = {.cls = BIA_OBJSEG};
	snprintf(p.name, sizeof(p.name), "P");
	if (bia_problem_add(&e->ctx, &e->inst[0], &p))
		return -1;
	e->problem = p.id;
	static struct bia_wf_file file = {.path = "run.sh", .bytes = 1, .mode = 0755};
	bia_sha256_hex("x", 1, file.digest);
	struct bia_wf_version v = {0};
	snprintf(v.name, sizeof(v.name), "W");
	snprintf(v.version, sizeof(v.version), "1");
	bia_sha256_hex("v", 1, v.digest);
	v.descriptor = "{\"name\": \"W\"}";
	v.files = &file;
	v.nfiles = 1;
	int existed;
	if (bia_store_wf_add(&e->ctx, &e->inst[0], &v, &existed))
		return -1;
	e->version = v.id;
	return 0;
}

/* Drop the schemas of the instances under e->dir (what this test made). */
static void drop_schemas(struct env *e)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd),
		 "cat %s/*/config 2>/dev/null | sed -n 's/.*[?&]schema=\\([a-z0-9_]*\\).*/\\1/p'",
		 e->dir);
	FILE *f = popen(cmd, "r");
	if (!f)
		return;
	PGconn *pc = PQconnectdb(database());
	PQclear(PQexec(pc, "SET client_min_messages = warning"));
	char line[128];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!bia_pg_schema_valid(line))
			continue;
		char sql[200];
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS \"%s\" CASCADE", line);
		PQclear(PQexec(pc, sql));
	}
	PQfinish(pc);
	pclose(f);
}

static int teardown(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 2; i++)
		if (e->inst[i].backend)
			bia_instance_close(&e->inst[i]);
	if (e->dir[0])
		drop_schemas(e);
	if (e->dir[0]) {
		struct bia_ctx ctx;
		bia_ctx_init(&ctx);
		bia_rm_rf(&ctx, e->dir);
	}
	free(e);
	return 0;
}

static int64_t add_run(struct env *e)
{
	struct bia_run r = {0};
	r.workflow_version_id = e->version;
	r.problem_id = e->problem;
	snprintf(r.executor, sizeof(r.executor), "local");
	assert_int_equal(bia_store_run_add(&e->ctx, &e->inst[0], &r), 0);
	return r.id;
}

/* Each instance has its schema, recorded in its config; the rows of one are
 * not the other's. */
static void test_schema_per_instance(void **state)
{
	struct env *e = *state;
	if (!database())
		skip();
	const char *s0 = bia_json_str(e->inst[0].config, "store", "");
	const char *s1 = bia_json_str(e->inst[1].config, "store", "");
	assert_non_null(strstr(s0, "?schema=bia_"));
	assert_string_not_equal(s0, s1);
	struct bia_problem *v;
	size_t n;
	int64_t total;
	assert_int_equal(bia_problem_list(&e->ctx, &e->inst[1], (struct bia_page){0, 0}, &v, &n,
					  &total),
			 0);
	assert_int_equal(n, 0);
	bia_problem_list_free(v, n);
	/* the same name in the other instance is no conflict */
	struct bia_problem p = {.cls = BIA_OBJSEG};
	snprintf(p.name, sizeof(p.name), "P");
	assert_int_equal(bia_problem_add(&e->ctx, &e->inst[1], &p), 0);
	assert_int_equal(p.id, 1);
	int ver;
	assert_int_equal(bia_store_schema_version(&e->ctx, &e->inst[1], &ver), 0);
	assert_int_equal(ver, 11);
	/* a schema named in the URL is made; a second instance on it is refused */
	char url[1300], schema[64];
	snprintf(schema, sizeof(schema), "bia_t%ld", (long)getpid());
	snprintf(url, sizeof(url), "%s?schema=%s", database(), schema);
	struct bia_ctx c;
	bia_ctx_init(&c);
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/nothing", e->dir);
	assert_int_equal(bia_instance_create_store(&c, dir, url), 0); /* named: made */
	struct bia_instance i3;
	assert_int_equal(bia_instance_open(&c, dir, &i3), 0);
	bia_instance_close(&i3);
	bia_ctx_init(&c);
	snprintf(dir, sizeof(dir), "%s/again", e->dir);
	assert_int_equal(bia_instance_create_store(&c, dir, url), BIA_EEXIST);
	assert_non_null(strstr(c.msg, schema));
	/* an instance whose schema is gone: named, nothing made */
	snprintf(dir, sizeof(dir), "%s/nothing/config", e->dir);
	FILE *f = fopen(dir, "w");
	assert_non_null(f);
	fprintf(f, "{\"format\": \"biaflows-instance\", \"version\": 1, \"store\": "
		   "\"%s?schema=bia_gone_%ld\"}", database(), (long)getpid());
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/nothing", e->dir);
	bia_ctx_init(&c);
	assert_int_equal(bia_instance_open(&c, dir, &i3), BIA_EDB);
	assert_non_null(strstr(c.msg, "does not exist"));
}

/* A server that is not there: its host and port and libpq's words. */
static void test_unreachable(void **state)
{
	struct env *e = *state;
	if (!database())
		skip();
	struct bia_ctx c;
	bia_ctx_init(&c);
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/unreachable", e->dir);
	assert_int_not_equal(
		bia_instance_create_store(&c, dir, "postgresql://nobody@127.0.0.1:1/none"), 0);
	assert_non_null(strstr(c.msg, "127.0.0.1:1"));
	assert_non_null(strstr(c.msg, "cannot connect"));
}

#define CLAIMERS 6
#define RUNS 60

struct claimer {
	struct env *e;
	int slot;
	int64_t got[RUNS];
	int n;
	int errors;
};

static void *claim_main(void *arg)
{
	struct claimer *c = arg;
	struct bia_ctx ctx;
	bia_ctx_init(&ctx);
	for (;;) {
		struct bia_run r;
		int found = 0;
		if (bia_run_claim(&ctx, &c->e->inst[0], 1000 + c->slot, c->slot, "h", &r, &found)) {
			c->errors++;
			if (c->errors > 50)
				break;
			continue;
		}
		if (!found) {
			int64_t left;
			struct bia_run *v;
			size_t n;
			struct bia_run_filter f = {.status = "queued"};
			if (bia_store_run_list(&ctx, &c->e->inst[0], &f, (struct bia_page){1, 0}, &v,
					       &n, &left))
				break;
			bia_run_list_free(v, n);
			if (!left)
				break;
			continue; /* all locked by others right now */
		}
		if (c->n < RUNS)
			c->got[c->n++] = r.id;
		bia_run_release(&r);
	}
	return NULL;
}

/* Threads claiming at once: every run claimed, none twice. */
static void test_claims_once(void **state)
{
	struct env *e = *state;
	if (!database())
		skip();
	for (int i = 0; i < RUNS; i++)
		add_run(e);
	struct claimer c[CLAIMERS];
	pthread_t th[CLAIMERS];
	for (int i = 0; i < CLAIMERS; i++) {
		c[i] = (struct claimer){.e = e, .slot = i};
		assert_int_equal(pthread_create(&th[i], NULL, claim_main, &c[i]), 0);
	}
	int seen[RUNS + 1] = {0}, total = 0;
	for (int i = 0; i < CLAIMERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].errors, 0);
		for (int k = 0; k < c[i].n; k++) {
			assert_true(c[i].got[k] >= 1 && c[i].got[k] <= RUNS);
			seen[c[i].got[k]]++;
			total++;
		}
	}
	assert_int_equal(total, RUNS);
	for (int i = 1; i <= RUNS; i++)
		assert_int_equal(seen[i], 1);
	/* one "running" event per run */
	struct bia_run_event_rec *v;
	size_t n;
	assert_int_equal(bia_store_run_events(&e->ctx, &e->inst[0], 0, 0, 0, &v, &n), 0);
	assert_int_equal(n, RUNS);
	bia_run_events_free(v, n);
}

/* A listener wakes when another connection writes a run event. */
static void test_notify(void **state)
{
	struct env *e = *state;
	if (!database())
		skip();
	struct bia_store_listener *l = NULL;
	assert_int_equal(bia_store_listen(&e->ctx, &e->inst[0], &l), 0);
	assert_non_null(l);
	int64_t id = add_run(e); /* a new run notifies too: drain it */
	struct pollfd pf = {bia_store_listener_fd(l), POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_int_equal(bia_store_listener_drain(l), 0);
	usleep(100 * 1000);
	bia_store_listener_drain(l);
	struct bia_run r;
	int found = 0;
	assert_int_equal(bia_run_claim(&e->ctx, &e->inst[0], 1, 0, "h", &r, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(r.id, id);
	bia_run_release(&r);
	pf.revents = 0;
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_int_equal(bia_store_listener_drain(l), 0);
	bia_store_listener_close(l);
	/* the other instance's events are not this one's */
	assert_int_equal(bia_store_listen(&e->ctx, &e->inst[1], &l), 0);
	add_run(e);
	pf = (struct pollfd){bia_store_listener_fd(l), POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 300), 0);
	bia_store_listener_close(l);
}

/* SQLite -> PostgreSQL is the CLI's test (t_migrate_store.sh); here
 * PostgreSQL -> SQLite with rows in every kind of table, and a target
 * that is not empty refused. */
static void test_migrate_to_sqlite(void **state)
{
	struct env *e = *state;
	if (!database())
		skip();
	for (int i = 0; i < 5; i++)
		add_run(e);
	struct bia_user u = {.role = BIA_ROLE_ADMIN};
	snprintf(u.name, sizeof(u.name), "alice");
	assert_int_equal(bia_user_add(&e->ctx, &e->inst[0], &u, "$argon2id$x"), 0);
	/* the blob the workflow's row names (the copy checks every one) */
	char dg[BIA_SHA256_HEX];
	assert_int_equal(bia_blob_put_mem(&e->ctx, &e->inst[0], "x", 1, dg, NULL), 0);
	struct bia_store_migration rep;
	if (bia_store_migrate(&e->ctx, &e->inst[0], "sqlite:copy.db", &rep))
		fail_msg("%s", e->ctx.msg);
	assert_true(rep.rows > 10);
	assert_int_equal(rep.tables, 30);
	bia_instance_close(&e->inst[0]);
	assert_int_equal(bia_instance_open(&e->ctx, e->inst_dir[0], &e->inst[0]), 0);
	assert_string_equal(bia_json_str(e->inst[0].config, "store", ""), "sqlite:copy.db");
	struct bia_run run;
	assert_int_equal(bia_store_run_get(&e->ctx, &e->inst[0], 5, &run), 0);
	bia_run_release(&run);
	/* a new run gets the next id */
	assert_int_equal(add_run(e), 6);
	/* back to a file that exists: refused, nothing changed */
	struct bia_ctx c;
	bia_ctx_init(&c);
	assert_int_equal(bia_store_migrate(&c, &e->inst[0], "sqlite:copy.db", &rep), BIA_EINVAL);
	bia_ctx_init(&c);
	char p[300];
	snprintf(p, sizeof(p), "%s/full.db", e->inst_dir[0]);
	FILE *f = fopen(p, "w");
	fputs("x", f);
	fclose(f);
	assert_int_equal(bia_store_migrate(&c, &e->inst[0], "sqlite:full.db", &rep), BIA_EEXIST);
	assert_string_equal(bia_json_str(e->inst[0].config, "store", ""), "sqlite:copy.db");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test_setup_teardown(test_schema_per_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_to_sqlite, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
