// SPDX-License-Identifier: GPL-2.0-only
/* What mcp-echo has seen, and its report (echo_stats.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "echo_stats.h"
#include "fdio.h"
#include "log.h"

void echo_stats_frame(struct echo_stats *s, const struct mcp_frame *f)
{
	struct mcp_hello h;

	s->frames[f->opcode]++;
	if (f->opcode == MCP_OP_HELLO && !mcp_parse_hello(f->payload, f->length, &h))
		snprintf(s->last_client_id, sizeof(s->last_client_id), "%s", h.client_id);
}

void echo_stats_datagram(struct echo_stats *s, const uint8_t *d, size_t n)
{
	if (n < MCP_HDR_V1_LEN || mcp_opcode_class(d[MCP_OFF_OPCODE]) != MCP_OPC_REQUEST)
		return;
	s->datagrams[d[MCP_OFF_OPCODE]]++;
	if (d[MCP_OFF_VERSION] == MCP_VERSION_2 && n >= MCP_HDR_V2_LEN)
		s->last_udp_session = mcp_be32_at(d + MCP_OFF_SESSION);
}

struct report {
	char *out;
	size_t cap, len;
};

static void say(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len + 1 >= r->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->out + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < r->cap - r->len ? (size_t)n : r->cap - r->len - 1;
}

static void by_opcode(struct report *r, const char *proto, const uint64_t *counts)
{
	for (int op = 0; op < 256; op++)
		if (counts[op])
			say(r, "%s 0x%02x %s %llu\n", proto, op, mcp_opcode_name((uint8_t)op),
			    (unsigned long long)counts[op]);
}

size_t echo_stats_report(const struct echo_stats *s, char *out, size_t cap)
{
	struct report r = { .out = out, .cap = cap };

	if (!cap)
		return 0;
	out[0] = '\0';
	say(&r, "sessions %llu\nlast_client_id ", (unsigned long long)s->sessions);
	for (const unsigned char *c = (const unsigned char *)s->last_client_id; *c; c++) {
		if (*c > ' ' && *c < 0x7f && *c != '\\')
			say(&r, "%c", *c);
		else
			say(&r, "\\x%02x", *c);
	}
	say(&r, "\nlast_udp_session 0x%08x\n", s->last_udp_session);
	by_opcode(&r, "tcp", s->frames);
	by_opcode(&r, "udp", s->datagrams);
	return r.len;
}

int echo_stats_serve(int listen_fd, const struct echo_stats *s)
{
	static char report[2 * 256 * 48 + 1024];
	size_t n = echo_stats_report(s, report, sizeof(report));
	int fd;

	/* The report fits a unix socket's buffer many times over: one write, never a wait. */
	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (fd_write_all(fd, report, n))
			pr_warn("stats: %s", strerror(errno));
		close(fd);
	}
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
}
