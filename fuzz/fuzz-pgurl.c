/* libFuzzer target: the PostgreSQL store URL parser (the config's "store"
 * and init --database / migrate-store --to). Whatever it accepts must fit
 * its fields and name a valid schema, if any.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct bia_pg_url u;
	char err[256];
	if (bia_pg_url_parse(s, &u, err, sizeof(err)) == 0) {
		if (!u.host[0] || !u.db[0] || u.port < 1 || u.port > 65535 ||
		    strncmp(u.conninfo, "postgresql://", 13) || strstr(u.conninfo, "?schema=") || strstr(u.conninfo, "&schema=") ||
		    (u.schema[0] && !bia_pg_schema_valid(u.schema)))
			abort();
	} else if (!err[0]) {
		abort(); /* a refusal says why */
	}
	free(s);
	return 0;
}
