/* Fault-injection sites for crash tests (BIAFLOWS_FAULT=site[:N]).
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bia_faultsim(const char *site)
{
	static unsigned hits;
	const char *spec = getenv("BIAFLOWS_FAULT");
	if (!spec || !*spec)
		return;
	size_t n = strlen(site);
	if (strncmp(spec, site, n) || (spec[n] && spec[n] != ':'))
		return;
	unsigned want = spec[n] == ':' ? (unsigned)strtoul(spec + n + 1, NULL, 10) : 1;
	if (++hits != want)
		return;
	const char *action = getenv("BIAFLOWS_FAULT_ACTION");
	if (action && !strcmp(action, "stop")) {
		raise(SIGSTOP);
		return;
	}
	raise(SIGKILL);
}
