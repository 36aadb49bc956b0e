// SPDX-License-Identifier: GPL-2.0-only
/* The tuple of the socket at the other end of a connection (tuple.h). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#include "tuple.h"

/* Port (host order) and address bytes of one end; 0, or -EAFNOSUPPORT. */
static int end_of(const struct sockaddr_storage *ss, __u32 *family, __u32 *port, __u8 *addr)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		*family = AF_INET;
		*port = ntohs(a->sin_port);
		memcpy(addr, &a->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		*port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, &a->sin6_addr.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &a->sin6_addr, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

int mcp_tuple_of_peer(int fd, struct mcp_tuple *t)
{
	struct sockaddr_storage mine, theirs;
	socklen_t ml = sizeof(mine), tl = sizeof(theirs);
	__u32 f1, f2;

	socklen_t cl = sizeof(t->netns);

	memset(t, 0, sizeof(*t));
	/* A peer on this host that reached mcpd over loopback or a local address is in mcpd's
	 * own namespace; one in another namespace is as remote as another host. */
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &t->netns, &cl) ||
	    getsockname(fd, (struct sockaddr *)&mine, &ml) ||
	    getpeername(fd, (struct sockaddr *)&theirs, &tl))
		return -errno;
	if (end_of(&theirs, &f1, &t->local_port, t->local) ||
	    end_of(&mine, &f2, &t->remote_port, t->remote) || f1 != f2)
		return -EAFNOSUPPORT;
	t->family = f1;
	return 0;
}
