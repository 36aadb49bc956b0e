/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpd's side of the pinned map mcp_perms (include/mcp/perm.h): each restricted session's
 * permissions and token bucket, which the kernel's verdicts judge and take from, and which
 * mcpd reads and writes when it judges a frame of a session on a kernel path itself.
 */
#ifndef MCP_PERM_MAP_H
#define MCP_PERM_MAP_H

#include <stdint.h>
#include "mcp/perm.h"

/* Open it now, before mcpd gives up its privileges: 0, or a negative errno. */
int perm_map_open(const char *pin_root);
/* 0, or a negative errno (no map pinned under pin_root, map full). */
int perm_map_put(const char *pin_root, uint32_t session, const struct mcp_perms *p);
int perm_map_get(const char *pin_root, uint32_t session, struct mcp_perms *p);
void perm_map_del(const char *pin_root, uint32_t session);
/* Empty the map: at a start that is not a takeover, what an earlier mcpd left. */
void perm_map_clear(const char *pin_root);
/* Drop the cached descriptor (mcpd stops, or hands over). */
void perm_map_close(void);

#endif
