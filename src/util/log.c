/* Levelled logging to stderr (or a chosen stream).
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <string.h>
#include <strings.h>

static enum bia_log_level log_level = BIA_LOG_WARN;
static FILE *log_stream;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void bia_log_set_level(enum bia_log_level level)
{
	log_level = level;
}

enum bia_log_level bia_log_get_level(void)
{
	return log_level;
}

int bia_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	if (!strcasecmp(s, "warning"))
		return BIA_LOG_WARN;
	return -1;
}

void bia_log_set_stream(FILE *f)
{
	log_stream = f;
}

void bia_log(enum bia_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	FILE *f = log_stream ? log_stream : stderr;
	va_list ap;
	char line[2048];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bia_one_line(line, sizeof(line));
	/* one write per line so concurrent writers do not interleave */
	fprintf(f, "%s: %s\n", level == BIA_LOG_WARN ? "warning" : level_names[level],
		line);
}
