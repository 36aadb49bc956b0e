/* SPDX-License-Identifier: GPL-2.0-only */
/* Small I/O helpers shared by mcpd, the tools and the tests. */
#ifndef MCP_FDIO_H
#define MCP_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Read or write exactly n bytes on a blocking socket (EINTR retried). 0, or -1. */
int fd_read_all(int fd, void *p, size_t n);
int fd_write_all(int fd, const void *p, size_t n);

/* The control socket's messages (and the takeover's): a 4-byte big-endian length, then that
 * many bytes, on a blocking socket. Write: 0, or -1. Read: the bytes in a malloc'ed *out
 * (free it) of *len bytes, refused over max; 0, or -1. */
int fd_write_msg(int fd, const void *p, size_t n);
int fd_read_msg(int fd, uint8_t **out, size_t *len, size_t max);

/* Point a batch of n mmsghdrs at n buffers of `size` bytes each (and at `names`, if given,
 * for the peers' addresses), ready for recvmmsg. */
void mmsg_prepare(struct mmsghdr *m, struct iovec *iov, uint8_t *bufs, size_t size,
		  struct sockaddr_storage *names, int n);

#endif
