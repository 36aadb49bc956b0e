/* SPDX-License-Identifier: GPL-2.0-only */
/* One logging module for the daemon and the tools; libbpf and libxdp are routed into it. */
#ifndef MCP_LOG_H
#define MCP_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum mcp_log_level { MCP_LOG_ERROR = 0, MCP_LOG_WARN, MCP_LOG_INFO, MCP_LOG_DEBUG };

void mcp_log_init(const char *prog, int level);
void mcp_log_set_level(int level);
int mcp_log_level(void);
void mcp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mcp_vlog(int level, const char *fmt, va_list ap);
/* For what can happen thousands of times a second: 1 when a message may be logged now, at
 * most once per interval_ms (and *last_ms, the caller's, remembers when). */
int mcp_log_due(uint64_t *last_ms, uint64_t now_ms, uint64_t interval_ms);
/* Send libbpf's and libxdp's messages here, one level lower than they ask for. */
void mcp_log_route_libbpf(void);

#define pr_err(...)   mcp_log(MCP_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  mcp_log(MCP_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  mcp_log(MCP_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) mcp_log(MCP_LOG_DEBUG, __VA_ARGS__)

#endif
