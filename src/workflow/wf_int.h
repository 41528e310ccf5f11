/* Internals shared by the workflow descriptor files.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_WF_INT_H
#define BIA_WF_INT_H

#include "workflow/workflow.h"

#define WF_WS " \t\n\r\v\f"
#define WF_MAX_VALUE 65536 /* longest parameter value we accept */

/* Check a (non-empty) value against the parameter's type and constraints.
 * On failure writes a reason ("'abc' is not a number") into why and
 * returns -1. */
int bia_wf_check_value(const struct bia_wf_param *p, const char *v, char *why,
		       size_t whysz);
/* Text of a JSON scalar (string as is; integer; real in shortest
 * round-trip form with ".0" when integral; true/false). Writes into buf for
 * numbers/booleans. Returns NULL for other types. *pnull set for null. */
const char *bia_wf_scalar_text(const json_t *v, char *buf, size_t bufsz, int *pnull);

#endif
