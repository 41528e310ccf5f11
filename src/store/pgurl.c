/* The PostgreSQL store URL: postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB
 * [?schema=NAME[&PARAM=VALUE...]]. The schema is ours (the instance's
 * PostgreSQL schema); other parameters go to libpq unchanged.
 * SPDX-License-Identifier: MIT */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define PG_PREFIX "postgresql://"

static int url_fail(char *err, size_t errsz, const char *what)
{
	snprintf(err, errsz, "bad PostgreSQL URL (postgresql://USER@HOST[:PORT]/DB): %s", what);
	return BIA_EINVAL;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* Letters, digits, the few marks libpq's URIs take unescaped, and %XX. */
static int plain_char(char c)
{
	return host_char(c) || c == '%' || c == '~' || c == '+';
}

int bia_pg_schema_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > BIA_PG_SCHEMA_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return strncmp(s, "pg_", 3) != 0;
}

int bia_pg_url_parse(const char *url, struct bia_pg_url *u, char *err, size_t errsz)
{
	memset(u, 0, sizeof(*u));
	size_t n = strlen(url);
	if (n >= sizeof(u->conninfo))
		return url_fail(err, errsz, "too long");
	if (strncmp(url, PG_PREFIX, strlen(PG_PREFIX)))
		return url_fail(err, errsz, "it must start with postgresql://");
	const char *p = url + strlen(PG_PREFIX);
	const char *slash = strchr(p, '/');
	if (!slash)
		return url_fail(err, errsz, "no /DATABASE");
	/* [user[:password]@]host[:port] */
	const char *at = memchr(p, '@', (size_t)(slash - p));
	const char *h = p;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ul = (size_t)((colon ? colon : at) - p);
		if (ul == 0 || ul >= sizeof(u->user))
			return url_fail(err, errsz, "empty or over-long user name");
		for (const char *c = p; c < at; c++)
			if (!plain_char(*c) && *c != ':')
				return url_fail(err, errsz, "a character not allowed in the user");
		memcpy(u->user, p, ul);
		h = at + 1;
	}
	const char *hend = slash;
	const char *pc = NULL;
	if (h < hend && *h == '[') { /* [IPv6] */
		const char *close = memchr(h, ']', (size_t)(hend - h));
		if (!close)
			return url_fail(err, errsz, "unclosed [ in the host");
		for (const char *c = h + 1; c < close; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
			      (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
				return url_fail(err, errsz, "a bad IPv6 address");
		if ((size_t)(close - h - 1) >= sizeof(u->host) || close == h + 1)
			return url_fail(err, errsz, "a bad IPv6 address");
		memcpy(u->host, h + 1, (size_t)(close - h - 1));
		if (close + 1 < hend) {
			if (close[1] != ':')
				return url_fail(err, errsz, "junk after the host");
			pc = close + 2;
		}
	} else {
		const char *colon = memchr(h, ':', (size_t)(hend - h));
		size_t hl = (size_t)((colon ? colon : hend) - h);
		if (hl == 0)
			return url_fail(err, errsz, "no host");
		if (hl >= sizeof(u->host))
			return url_fail(err, errsz, "host name too long");
		for (size_t i = 0; i < hl; i++)
			if (!host_char(h[i]))
				return url_fail(err, errsz, "a character not allowed in the host");
		memcpy(u->host, h, hl);
		if (colon)
			pc = colon + 1;
	}
	u->port = 5432;
	if (pc) {
		long port = 0;
		if (pc == hend)
			return url_fail(err, errsz, "empty port");
		for (const char *c = pc; c < hend; c++) {
			if (*c < '0' || *c > '9' || port > 65535)
				return url_fail(err, errsz, "the port is not a number of 1..65535");
			port = port * 10 + (*c - '0');
		}
		if (port < 1 || port > 65535)
			return url_fail(err, errsz, "the port is not a number of 1..65535");
		u->port = (int)port;
	}
	/* /database[?params] */
	const char *db = slash + 1, *q = strchr(db, '?');
	size_t dl = (size_t)((q ? q : url + n) - db);
	if (dl == 0)
		return url_fail(err, errsz, "no database name");
	if (dl >= sizeof(u->db))
		return url_fail(err, errsz, "database name too long");
	for (size_t i = 0; i < dl; i++)
		if (!plain_char(db[i]))
			return url_fail(err, errsz, "a character not allowed in the database name");
	memcpy(u->db, db, dl);
	/* conninfo: everything but our schema parameter */
	size_t k = (size_t)((q ? q : url + n) - url);
	memcpy(u->conninfo, url, k);
	char sep = '?';
	for (const char *s = q ? q + 1 : NULL; s && *s;) {
		const char *amp = strchr(s, '&');
		size_t pl = amp ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', pl);
		if (!eq || eq == s)
			return url_fail(err, errsz, "a parameter is not KEY=VALUE");
		for (const char *c = s; c < s + pl; c++)
			if (!plain_char(*c) && *c != '=')
				return url_fail(err, errsz, "a character not allowed in a parameter");
		if ((size_t)(eq - s) == 6 && !strncmp(s, "schema", 6)) {
			size_t sl = pl - 7;
			if (u->schema[0])
				return url_fail(err, errsz, "schema given twice");
			if (sl == 0 || sl > BIA_PG_SCHEMA_MAX)
				return url_fail(err, errsz, "the schema name is empty or too long");
			memcpy(u->schema, eq + 1, sl);
			u->schema[sl] = '\0';
			if (!bia_pg_schema_valid(u->schema))
				return url_fail(err, errsz,
						"the schema must be lower-case letters, digits and _ "
						"(not starting with a digit or pg_)");
		} else {
			u->conninfo[k++] = sep;
			memcpy(u->conninfo + k, s, pl);
			k += pl;
			sep = '&';
		}
		s = amp ? amp + 1 : s + pl;
	}
	u->conninfo[k] = '\0';
	return 0;
}
