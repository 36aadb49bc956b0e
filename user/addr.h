/* SPDX-License-Identifier: GPL-2.0-only */
/* Addresses and prefixes as operators and tools write them (addr.c): part of the protocol
 * library. */
#ifndef MCP_ADDR_H
#define MCP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "err.h"

#define MCP_ADDR_TEXT_MAX 64

struct mcp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[MCP_ADDR_TEXT_MAX];
};

/* Parse "1.2.3.4:80" or "[::1]:80". Returns 0 or -1. */
int mcp_parse_addr(const char *text, struct mcp_addr *out);
/* A non-blocking socket of `type` (SOCK_STREAM: listening too; SOCK_DGRAM) bound to a, with
 * SO_REUSEADDR; on an IPv6 address, IPv6 only when v6only (else "[::]" takes IPv4 too). Its
 * fd, or -errno. */
int mcp_addr_bind(const struct mcp_addr *a, int type, bool v6only);

/* A listening unix stream socket at path, non-blocking, its file given `mode`. A socket file
 * already there is replaced unless something answers on it (-EADDRINUSE). Its fd, or -errno
 * (-ENAMETOOLONG for a path sun_path cannot hold). */
int mcp_unix_listen(const char *path, mode_t mode);
/* A blocking connection to the unix stream socket at path: its fd, or -errno. */
int mcp_unix_connect(const char *path);

struct mcp_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint32_t len; /* prefix length in bits */
};

/* "10.0.0.0/8", "192.0.2.7" (a /32), "2001:db8::/32". 0, or -EINVAL with the reason in e
 * (which may be NULL). */
int mcp_prefix_parse(const char *text, struct mcp_prefix *out, struct err *e);
void mcp_prefix_format(const struct mcp_prefix *p, char *out, size_t len);
/* Does the prefix contain this address? */
bool mcp_prefix_match(const struct mcp_prefix *p, const struct sockaddr *sa);

#endif
