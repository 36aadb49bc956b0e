// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control requests as mcpd receives them: decoded and checked (command, prefix, session)
 * before anything acts on them. Interface: ctl_request.h.
 */
#include <stdio.h>
#include <string.h>
#include "control.pb-c.h"
#include "ctl_request.h"
#include "err.h"

int ctl_parse_request(const uint8_t *buf, size_t len, struct ctl_req *out, struct err *e)
{
	Mcp__Ctl__Request *q = mcp__ctl__request__unpack(NULL, len, buf);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!q)
		return err_set(e, EBADMSG, "malformed request (not a mcp.ctl.Request)");
	out->command = q->command;
	out->ttl_s = q->ttl_s;
	out->session = q->session;
	if (q->arg && strlen(q->arg) >= sizeof(out->arg)) {
		rc = err_set(e, E2BIG, "argument longer than %d bytes", CTL_ARG_MAX - 1);
		goto out;
	}
	snprintf(out->arg, sizeof(out->arg), "%s", q->arg ? q->arg : "");
	switch (q->command) {
	case MCP__CTL__COMMAND__COMMAND_BLOCK:
	case MCP__CTL__COMMAND__COMMAND_UNBLOCK:
		rc = mcp_prefix_parse(out->arg, &out->prefix, e);
		if (rc)
			goto out;
		if (out->ttl_s > 86400u * 365) {
			rc = err_set(e, ERANGE, "ttl of %u s: more than a year", out->ttl_s);
			goto out;
		}
		break;
	case MCP__CTL__COMMAND__COMMAND_DRAIN:
		if (!out->arg[0]) {
			rc = err_set(e, EINVAL, "drain needs a backend (HOST:PORT)");
			goto out;
		}
		break;
	case MCP__CTL__COMMAND__COMMAND_KILL:
		if (!out->session) {
			rc = err_set(e, EINVAL, "kill needs a session id");
			goto out;
		}
		break;
	case MCP__CTL__COMMAND__COMMAND_STATUS:
	case MCP__CTL__COMMAND__COMMAND_SESSIONS:
	case MCP__CTL__COMMAND__COMMAND_CLIENTS:
	case MCP__CTL__COMMAND__COMMAND_ROUTES:
	case MCP__CTL__COMMAND__COMMAND_POOLS:
	case MCP__CTL__COMMAND__COMMAND_STATS:
	case MCP__CTL__COMMAND__COMMAND_BLOCKLIST:
	case MCP__CTL__COMMAND__COMMAND_RELOAD:
	case MCP__CTL__COMMAND__COMMAND_TAKEOVER:
	case MCP__CTL__COMMAND__COMMAND_UPGRADE:
		break;
	default:
		rc = err_set(e, EOPNOTSUPP, "unknown command %d", q->command);
		goto out;
	}
	rc = 0;
out:
	mcp__ctl__request__free_unpacked(q, NULL);
	return rc;
}
