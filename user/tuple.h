/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 4-tuple, with its network namespace (include/mcp/maps.h, struct mcp_tuple), by which the
 * inline path finds a local process's socket: that of the socket at the other end of one of
 * mcpd's own connections.
 */
#ifndef MCP_TUPLE_H
#define MCP_TUPLE_H

#include "mcp/maps.h"

/* The tuple of fd's peer socket as the peer sees it (its address local, fd's remote; an IPv4
 * address mapped into IPv6 as IPv4, as a plain IPv4 socket sees it). 0, or -errno. */
int mcp_tuple_of_peer(int fd, struct mcp_tuple *t);

#endif
