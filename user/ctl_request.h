/* SPDX-License-Identifier: GPL-2.0-only */
/* Decoding and checking one control request (a fuzz target, shared by mcpd's ctl.c). */
#ifndef MCP_CTL_REQUEST_H
#define MCP_CTL_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "err.h"

#define MCP_DEFAULT_CONTROL "/run/mcp/mcpd.sock"

#define CTL_ARG_MAX 256

struct ctl_req {
	int command;	    /* Mcp__Ctl__Command */
	char arg[CTL_ARG_MAX];
	struct mcp_prefix prefix; /* BLOCK, UNBLOCK */
	uint32_t ttl_s;
	uint32_t session;
};

/* Decode the protobuf bytes of a request and check its arguments for its command.
 * 0, or -errno with the reason in e. */
int ctl_parse_request(const uint8_t *buf, size_t len, struct ctl_req *out, struct err *e);

#endif
