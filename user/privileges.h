/* SPDX-License-Identifier: GPL-2.0-only */
/* What mcpd keeps of root's powers, and which environment it trusts (privileges.c). */
#ifndef MCP_PRIVILEGES_H
#define MCP_PRIVILEGES_H

#include <stdbool.h>

/* At start: refuse to run set-uid, and drop libbpf/libxdp environment knobs. 0 or -1. */
int privileges_sanitize_env(void);
/* Once programs are loaded and sockets bound: keep CAP_BPF and CAP_NET_ADMIN when the
 * kernel paths are in use (maps, XDP detach), nothing otherwise; no new privileges. */
int privileges_drop(bool keep_bpf);

#endif
