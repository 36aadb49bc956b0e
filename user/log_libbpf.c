// SPDX-License-Identifier: GPL-2.0-only
/* libbpf's and libxdp's messages into mcpd's log, one level lower than they ask for: apart
 * from log.c, so what does not load BPF does not link libbpf. */
#include <stdarg.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static int from_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBBPF_WARN ? MCP_LOG_INFO : MCP_LOG_DEBUG;

	mcp_vlog(ours, fmt, ap);
	return 0;
}

static int from_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBXDP_WARN ? MCP_LOG_INFO : MCP_LOG_DEBUG;

	mcp_vlog(ours, fmt, ap);
	return 0;
}

void mcp_log_route_libbpf(void)
{
	libbpf_set_print(from_libbpf);
	libxdp_set_print(from_libxdp);
}
