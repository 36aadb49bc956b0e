// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpd needs root (or CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) to load its programs, pin maps,
 * attach XDP and bind its ports. Once that is done it keeps only what it still uses:
 *   CAP_BPF        map lookups and updates (sessions, routes, blocklist, counters): with
 *                  kernel.unprivileged_bpf_disabled set, every bpf() call needs it;
 *   CAP_NET_ADMIN  detaching the XDP guard at exit, and the sockhash updates for sockets;
 * and nothing at all on the user data path without XDP. The bounding set goes too, and
 * no_new_privs is set, so nothing it runs can get them back. (An upgrade needs the start-up
 * privileges again: the helper forked before this keeps them, see upgrade.c.)
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "privileges.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_LAST_CAP_KNOWN
#define CAP_LAST_CAP_KNOWN 40
#endif

int privileges_sanitize_env(void)
{
	extern char **environ;

	if (getuid() != geteuid() || getgid() != getegid()) {
		fprintf(stderr, "mcpd: refusing to run set-uid or set-gid\n");
		return -1;
	}
	/* libbpf and libxdp read knobs from the environment (LIBXDP_OBJECT_PATH picks the
	 * dispatcher object to load, for one): a daemon takes none of them. */
	for (int i = 0; environ[i];) {
		if (!strncmp(environ[i], "LIBXDP_", 7) || !strncmp(environ[i], "LIBBPF_", 7)) {
			char name[64];
			size_t n = strcspn(environ[i], "=");

			snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
				 environ[i]);
			pr_warn("ignoring %s from the environment", name);
			unsetenv(name);
			continue; /* environ shifted */
		}
		i++;
	}
	return 0;
}

int privileges_drop(bool keep_bpf)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t keep = keep_bpf ? (1ull << CAP_BPF) | (1ull << CAP_NET_ADMIN) : 0;

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	if (!data[0].effective && !data[1].effective)
		return 0; /* nothing to drop */
	for (int cap = 0; cap <= CAP_LAST_CAP_KNOWN; cap++)
		if (!(keep & (1ull << cap)))
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		data[i].effective &= k;
		data[i].permitted &= k;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data)) {
		pr_err("cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	pr_info("privileges dropped: keeping %s", keep ? "CAP_BPF, CAP_NET_ADMIN" : "none");
	return 0;
}
