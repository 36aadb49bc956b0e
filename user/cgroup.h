/* SPDX-License-Identifier: GPL-2.0-only */
/* Where cgroup v2 is mounted (cgroup.c): /sys/fs/cgroup on systemd hosts, elsewhere maybe not. */
#ifndef MCP_CGROUP_H
#define MCP_CGROUP_H

#include <stddef.h>

/* The cgroup v2 mount point from /proc/mounts into out. 0, or -ENOENT when there is none. */
int mcp_cgroup2_root(char *out, size_t len);

#endif
