// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blocking descriptor I/O: whole writes, whole reads and length-prefixed messages, for
 * the control and hand-over conversations. Interface: fdio.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "fdio.h"
#include "mcp/wire.h"

int fd_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = recv(fd, b, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int fd_write_msg(int fd, const void *p, size_t n)
{
	uint8_t hdr[4];

	mcp_put_be32(hdr, (uint32_t)n);
	return fd_write_all(fd, hdr, 4) || fd_write_all(fd, p, n) ? -1 : 0;
}

int fd_read_msg(int fd, uint8_t **out, size_t *len, size_t max)
{
	uint8_t hdr[4];
	uint32_t n;

	*out = NULL;
	if (fd_read_all(fd, hdr, 4))
		return -1;
	n = mcp_be32_at(hdr);
	if (n > max || !(*out = malloc(n ? n : 1)))
		return -1;
	if (fd_read_all(fd, *out, n)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = n;
	return 0;
}

int fd_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

void mmsg_prepare(struct mmsghdr *m, struct iovec *iov, uint8_t *bufs, size_t size,
		  struct sockaddr_storage *names, int n)
{
	memset(m, 0, sizeof(*m) * (size_t)n);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = bufs + (size_t)i * size;
		iov[i].iov_len = size;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		if (names) {
			m[i].msg_hdr.msg_name = &names[i];
			m[i].msg_hdr.msg_namelen = sizeof(names[i]);
		}
	}
}
