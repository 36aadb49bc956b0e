// SPDX-License-Identifier: GPL-2.0-only
/* The event loop's small pieces every module uses: the clock, listening, leaving the epoll set,
 * refusing. Interface: loop.h. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "addr.h"
#include "log.h"
#include "loop.h"

int loop_listen(int epfd, const struct mcp_addr *a, int type, struct handler *h,
		handler_fn on_event, struct err *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };
	const char *udp = type == SOCK_DGRAM ? "/udp" : "";
	int fd = mcp_addr_bind(a, type, true), err;

	if (fd < 0)
		return err_set(e, -fd, "cannot listen on %s%s: %s", a->text, udp, strerror(-fd));
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = err_set(e, errno, "cannot listen on %s%s: epoll_ctl: %s", a->text, udp,
			      strerror(errno));
		close(fd);
		return err;
	}
	h->on_event = on_event;
	h->fd = fd;
	pr_info("listening on %s%s", a->text, udp);
	return 0;
}

void loop_refuse(int fd, const void *answer, size_t len)
{
	char drop[512];

	while (recv(fd, drop, sizeof(drop), MSG_DONTWAIT) > 0)
		;
	if (len && send(fd, answer, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("refused connection: %s", strerror(errno));
	close(fd);
}

void loop_unwatch(int epfd, int fd)
{
	if (fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) && errno != ENOENT)
		pr_warn("epoll_ctl(DEL, fd %d): %s", fd, strerror(errno));
}

uint64_t mcp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mcp_now_ms(void)
{
	return mcp_now_ns() / 1000000;
}
