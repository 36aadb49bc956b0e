// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "frame.h"
#include "sock_check.h"

void sock_send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

void sock_recv_exact(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(fd, (uint8_t *)p + got, n - got, 0);

		if (k <= 0)
			fail_msg("wanted %zu bytes, got %zu (%s)", n, got, k < 0 ? strerror(errno) : "EOF");
		got += (size_t)k;
	}
}

void sock_silent(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pf, 1, SOCK_SILENCE_MS), 0);
}

size_t sock_frame(uint8_t *buf, uint8_t version, uint8_t op, uint32_t stream, const char *payload)
{
	ssize_t n = mcp_frame_build(buf, 2048, version, op, stream, 0, payload, strlen(payload));

	assert_true(n > 0);
	return (size_t)n;
}

void sock_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = SOCK_WAIT_MS / 1000 };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}
