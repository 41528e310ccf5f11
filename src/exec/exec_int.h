/* Private to src/exec.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_EXEC_INT_H
#define BIA_EXEC_INT_H

#include "exec/exec.h"

/* The sandbox's seccomp program (BPF), in a memory file positioned at 0,
 * for bwrap's --seccomp (docs/exec.md "System calls"). */
int bia__seccomp_fd(struct bia_ctx *ctx, int *pfd);

#endif
