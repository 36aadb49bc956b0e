/* SPDX-License-Identifier: GPL-2.0-only */
/* The version mcpd and its tools report (build_info, mcpctl status, --version). */
#ifndef MCP_VERSION_H
#define MCP_VERSION_H
#define MCP_VERSION_STRING "0.1.0"
#endif
