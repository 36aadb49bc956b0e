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

/* Point a batch of n mmsghdrs at n buffers of `size` bytes each (and at `names`, if given,
 * for the peers' addresses), ready for recvmmsg. */
void mmsg_prepare(struct mmsghdr *m, struct iovec *iov, uint8_t *bufs, size_t size,
		  struct sockaddr_storage *names, int n);

#endif
