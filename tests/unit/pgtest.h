/* For unit tests that make instances: when the instance's rows are in
 * PostgreSQL (the PostgreSQL pass of tests/run-tests), its schema is noted
 * when it is made (pgtest_note, after bia_instance_create) and dropped at
 * teardown (pgtest_drop_noted), so that a test leaves nothing behind in the
 * database either, even when it rewrote the instance's config.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_TESTS_PGTEST_H
#define BIA_TESTS_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static struct bia_pg_url pgtest_noted[8];
static int pgtest_nnoted;

static inline void pgtest_note(const char *inst_dir)
{
	char p[512], err[256];
	struct bia_ctx c;
	snprintf(p, sizeof(p), "%s/config", inst_dir);
	if (pgtest_nnoted == 8 || !bia_is_file(p))
		return;
	bia_ctx_init(&c);
	json_t *cfg = bia_json_load_file(&c, p);
	if (!cfg)
		return;
	struct bia_pg_url *u = &pgtest_noted[pgtest_nnoted];
	if (!bia_pg_url_parse(bia_json_str(cfg, "store", ""), u, err, sizeof(err)) &&
	    u->schema[0])
		pgtest_nnoted++;
	json_decref(cfg);
}

static inline void pgtest_drop_noted(void)
{
	for (int i = 0; i < pgtest_nnoted; i++) {
		PGconn *pc = PQconnectdb(pgtest_noted[i].conninfo);
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS \"%s\" CASCADE",
			 pgtest_noted[i].schema);
		PQclear(PQexec(pc, "SET client_min_messages = warning"));
		PQclear(PQexec(pc, sql));
		PQfinish(pc);
	}
	pgtest_nnoted = 0;
}

#endif
