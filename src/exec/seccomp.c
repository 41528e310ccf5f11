/* The sandbox's seccomp filter, built with libseccomp and handed to
 * bubblewrap (`--seccomp FD`), as Flatpak does: the system calls that let a
 * process escape or attack its sandbox (ptrace of other processes, nested
 * user namespaces, the kernel keyring, BPF, perf events, userfaultfd, the
 * mount family, kexec and module loading, ...) fail with EPERM. See
 * docs/exec.md "System calls".
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/exec_int.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Refused outright (EPERM), whatever their arguments. A name this kernel's
 * libseccomp does not know on an architecture is skipped there. */
static const char *const refused[] = {
	/* other processes' memory and execution */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	/* namespaces: joining one, or a new one by unshare (clone is below) */
	"setns",
	/* the kernel keyring is not namespaced */
	"keyctl", "add_key", "request_key",
	/* kernel attack surface no workflow needs */
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register",
	/* the mount family */
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	/* kernel code and the machine */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd",
	"lookup_dcookie", "nfsservctl", "uselib", "vm86", "vm86old", "iopl", "ioperm",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
	/* file handles bypass the mount's view ("shocker") */
	"open_by_handle_at", "name_to_handle_at",
	/* pre-3.5 personality tricks and terminal injection are below */
};

/* Every namespace flag of clone/unshare. */
#define NS_FLAGS                                                                               \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

static int add_refused(scmp_filter_ctx f, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call of any architecture in the filter */
	int rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), nr, 0);
	return rc == -EDOM || rc == -EFAULT ? 0 : rc; /* absent on some architecture */
}

static int build(scmp_filter_ctx f)
{
	int rc;
	/* 32-bit x86 programs on x86_64 get the same rules (else they would be
	 * killed by the default bad-architecture action) */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		if ((rc = seccomp_arch_add(f, SCMP_ARCH_X86)) && rc != -EEXIST)
			return rc;
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if ((rc = add_refused(f, refused[i])))
			return rc;
	/* a new namespace of any kind: unshare() and clone() with a CLONE_NEW* flag */
	static const unsigned long ns[] = {CLONE_NEWUSER, CLONE_NEWNS,	CLONE_NEWPID,
					   CLONE_NEWNET,  CLONE_NEWUTS, CLONE_NEWIPC,
					   CLONE_NEWCGROUP, CLONE_NEWTIME};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]))))
			return rc;
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]))))
			return rc;
	}
	/* clone3 passes its flags in memory, which a filter cannot read: ENOSYS
	 * makes the C library fall back to clone (glibc, musl), as Flatpak and
	 * Docker do */
	rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc && rc != -EDOM && rc != -EFAULT)
		return rc;
	/* faking terminal input (TIOCSTI) and the Linux console's selection
	 * (TIOCLINUX), as Flatpak; only the low 32 bits are the request */
	static const unsigned long tio[] = {0x5412 /* TIOCSTI */, 0x541C /* TIOCLINUX */};
	for (size_t i = 0; i < sizeof(tio) / sizeof(tio[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
					   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, tio[i]))))
			return rc;
	/* personality() flags that weaken ASLR or map page 0 */
	rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
			      SCMP_A0(SCMP_CMP_MASKED_EQ, 0x0040000u /* ADDR_NO_RANDOMIZE */,
				      0x0040000u));
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, 0x0100000u /* MMAP_PAGE_ZERO */,
					      0x0100000u));
	return rc;
}

/* The program is built once per process and kept: libseccomp's compile
 * costs about a millisecond. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned char *prog;
static size_t prog_len;
static int prog_err; /* negative errno of the build, 0 */

static void build_once(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	if (!f) {
		prog_err = -ENOMEM;
		return;
	}
	int rc = build(f);
	int fd = rc ? -1 : memfd_create("biaflows-seccomp-build", MFD_CLOEXEC);
	if (!rc && fd < 0)
		rc = -errno;
	if (!rc)
		rc = seccomp_export_bpf(f, fd);
	seccomp_release(f);
	off_t n = rc ? 0 : lseek(fd, 0, SEEK_END);
	if (!rc && (n <= 0 || n > (1 << 20)))
		rc = -EIO;
	if (!rc && !(prog = malloc((size_t)n)))
		rc = -ENOMEM;
	if (!rc && pread(fd, prog, (size_t)n, 0) != n)
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(prog);
		prog = NULL;
		prog_err = rc;
		return;
	}
	prog_len = (size_t)n;
}

int bia__seccomp_fd(struct bia_ctx *ctx, int *pfd)
{
	*pfd = -1;
	pthread_once(&once, build_once);
	if (!prog)
		return bia_fail(ctx, BIA_EIO, "exec: cannot build the seccomp filter: %s",
				strerror(-prog_err));
	/* bwrap reads the program from the descriptor: a memory file */
	int fd = memfd_create("biaflows-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, BIA_EIO, "exec: memfd_create: %s", strerror(errno));
	if (bia_write_all(fd, prog, prog_len) || lseek(fd, 0, SEEK_SET) != 0) {
		int e = errno;
		close(fd);
		return bia_fail(ctx, BIA_EIO, "exec: cannot write the seccomp filter: %s",
				strerror(e));
	}
	*pfd = fd;
	return BIA_OK;
}
