// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcp-echo: the reference MCP backend. Answers HELLO with HELLO_ACK, PING with PONG, CLOSE
 * with CLOSE, and each request with its response opcode (op | 0x80) and the same payload,
 * stream id and session. One epoll loop; each readable socket is read in large chunks and
 * its answers written with one send per loop iteration. A connection whose peer does not take
 * its answers is not read past ECHO_MAX_QUEUED bytes of them: TCP's backpressure, passed on.
 * Fault modes (slow, dying, stalling, garbage) stand in for a backend that misbehaves; --stats
 * reports what was received (user/echo_stats.c). The e2e tests' backends are mcp-echo.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "echo.h"
#include "echo_stats.h"
#include "addr.h"
#include "fdio.h"
#include "log.h"
#include "messages.h"
#include "stream_decoder.h"
#include "version.h"
#include "mcp/xdp.h"

/* Answers a connection may have waiting before it is no longer read. */
#define ECHO_MAX_QUEUED (1u << 20)

struct echo_conn {
	int fd;
	uint32_t id;
	uint32_t events; /* what epoll watches for it */
	bool full;	 /* its last send fell short: wait until it can be written */
	struct mcp_decoder dec;
	struct mcp_echo echo;
	struct buf out;
	int closing; /* close once out is written */
	bool stalled; /* --stall: read no more */
	uint64_t requests;
	int dirty;
	struct echo_conn *next_dirty;
};

static uint32_t versions[4] = { 1, 2 };
static size_t n_versions = 2;
static int delay_ms;
static int epfd, timer_fd = -1;
static struct echo_conn *dirty;
static uint32_t next_id;
static int quiet;
static struct mcp_echo udp_echo = { .versions = versions };
static struct echo_stats stats;
static int stats_fd = -1;
static int spare_fd = -1; /* kept in reserve for refusing when out of descriptors */

/* Fault modes, for testing what is in front of a backend. */
static long die_after = -1; /* close a connection at its request number die_after + 1 */
static bool stall;	    /* stop reading a connection once its HELLO is answered */
static bool garbage;	    /* answer each request with bytes that are no MCP frame */
static const char garbage_answer[] = "this is no MCP frame";

static void mark(struct echo_conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = dirty;
		dirty = c;
	}
}

static void drop(struct echo_conn *c)
{
	close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
	mcp_decoder_free(&c->dec);
	buf_free(&c->out);
	if (!c->dirty)
		free(c);
}

/* Read while what waits to be written is under the limit; wait for room once a send fell
 * short. A connection epoll cannot watch is dropped. */
static int watch(struct echo_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	ev.events = (c->out.len < ECHO_MAX_QUEUED && !c->stalled ? EPOLLIN : 0) |
		    (c->full ? EPOLLOUT : 0);
	if (ev.events == c->events)
		return 0;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		pr_warn("epoll_ctl: %s", strerror(errno));
		drop(c);
		return -1;
	}
	c->events = ev.events;
	return 0;
}

static void queue(struct echo_conn *c, const void *p, ssize_t n)
{
	if (n > 0 && buf_append(&c->out, p, (size_t)n) == 0)
		mark(c);
}

/* A request on a negotiated connection, under a fault mode: 1 when it is not answered. */
static int fault(struct echo_conn *c)
{
	if (die_after >= 0 && ++c->requests > (uint64_t)die_after) {
		c->closing = 1; /* what was answered before goes out first */
		mark(c);
		return 1;
	}
	if (garbage) {
		queue(c, garbage_answer, sizeof(garbage_answer) - 1);
		return 1;
	}
	return 0;
}

/* Answer f (echo.c) straight into the output buffer. */
static int on_frame(void *ctx, const struct mcp_frame *f)
{
	struct echo_conn *c = ctx;
	uint8_t *t, was = c->echo.version;
	bool close;
	size_t n;

	if (c->closing || c->stalled)
		return 1;
	echo_stats_frame(&stats, f);
	if (was && mcp_opcode_class(f->opcode) == MCP_OPC_REQUEST && fault(c))
		return c->closing;
	t = buf_reserve(&c->out, mcp_echo_room(f));
	if (!t)
		return 1;
	n = mcp_echo_answer(&c->echo, f, t, mcp_echo_room(f), &close);
	c->dec.fr.version = c->echo.version;
	c->out.len += n;
	if (n)
		mark(c);
	c->closing = close;
	if (!was && c->echo.version) {
		stats.sessions++;
		c->stalled = stall;
	}
	return close || c->stalled;
}

static void on_readable(struct echo_conn *c)
{
	static uint8_t buf[256 * 1024];

	if (c->stalled) {
		watch(c); /* stop hearing about what it will not read */
		return;
	}
	for (int i = 0; i < 4 && c->out.len < ECHO_MAX_QUEUED && !c->stalled; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0), off = 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(c);
			return;
		}
		while (off < n && !c->closing && !c->stalled) {
			ssize_t used = mcp_decoder_feed(&c->dec, buf + off, (size_t)(n - off), on_frame, c);

			if (used < 0) {
				uint8_t e[MCP_HDR_MAX_LEN + MCP_ERROR_MSG_MAX + 64];

				queue(c, e, (ssize_t)mcp_echo_broken(&c->echo, -(int)used, e, sizeof(e)));
				c->closing = 1;
				break;
			}
			off += used;
		}
		if (n < (ssize_t)sizeof(buf))
			return;
	}
	if (c->out.len >= ECHO_MAX_QUEUED)
		watch(c); /* read no more until some is written */
}

/* Returns 0 when everything is written, 1 when the socket is full, -1 when c is gone. */
static int flush(struct echo_conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out.head, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->full = true;
			return watch(c) ? -1 : 1;
		}
		if (n < 0) {
			drop(c);
			return -1;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (c->closing) {
		drop(c);
		return -1;
	}
	c->full = false;
	return watch(c);
}

static void flush_all(void)
{
	struct echo_conn *c;

	while ((c = dirty)) {
		dirty = c->next_dirty;
		c->dirty = 0;
		if (c->fd < 0) {
			free(c);
			continue;
		}
		flush(c);
	}
}

/* UDP: each datagram is one frame; answer it in place and send the batch back at once. */
static void on_udp(int fd)
{
	enum { BATCH = 64 };
	static uint8_t bufs[BATCH][MCP_HDR_MAX_LEN + MCP_MAX_FRAME_LIMIT];
	struct mmsghdr in[BATCH], out[BATCH];
	struct sockaddr_storage from[BATCH];
	struct iovec iov[BATCH];
	int n, n_out = 0;

	mmsg_prepare(in, iov, &bufs[0][0], sizeof(bufs[0]), from, BATCH);
	n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		echo_stats_datagram(&stats, bufs[i], in[i].msg_len);
		if (!mcp_echo_datagram(&udp_echo, bufs[i], in[i].msg_len))
			continue;
		iov[i].iov_len = in[i].msg_len;
		out[n_out++].msg_hdr = in[i].msg_hdr;
	}
	if (n_out && sendmmsg(fd, out, (unsigned int)n_out, MSG_DONTWAIT) < 0)
		pr_warn("udp: sendmmsg: %s", strerror(errno));
}

/*
 * Out of descriptors, a waiting connection is taken on the descriptor kept in reserve and
 * closed: left in the backlog, it would keep the listener readable and the loop spinning.
 * Logged once a second at most.
 */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void refuse_for_descriptors(int lfd, int err)
{
	static uint64_t logged_ms;
	int fd;

	if (mcp_log_due(&logged_ms, now_ms(), 1000))
		pr_warn("accept: %s: closing new connections", strerror(err));
	if (spare_fd < 0)
		return;
	close(spare_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(int lfd)
{
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct echo_conn *ec = calloc(1, sizeof(*ec));
		struct epoll_event cev = { .events = EPOLLIN, .data.ptr = ec };

		if (!ec) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ec->fd = fd;
		ec->events = EPOLLIN;
		ec->id = ++next_id;
		ec->echo = (struct mcp_echo){ .versions = versions,
					      .n_versions = n_versions,
					      .session_id = ec->id };
		mcp_decoder_init(&ec->dec, 0, MCP_PEER_CLIENT, MCP_MAX_FRAME_LIMIT);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev)) {
			close(fd);
			mcp_decoder_free(&ec->dec);
			free(ec);
		}
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
		refuse_for_descriptors(lfd, errno);
}

/* Out of descriptors, the reserve makes room for the report: it needs no other. */
static void serve_stats(void)
{
	static uint64_t logged_ms;
	int err = echo_stats_serve(stats_fd, &stats);

	if ((err == -EMFILE || err == -ENFILE) && spare_fd >= 0) {
		close(spare_fd);
		err = echo_stats_serve(stats_fd, &stats);
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (err && mcp_log_due(&logged_ms, now_ms(), 1000))
		pr_warn("stats: accept: %s", strerror(-err));
}

static int parse_versions(const char *s)
{
	char copy[64], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", s);
	n_versions = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long v = strtol(t, NULL, 10);

		if ((v != 1 && v != 2) || n_versions == 4)
			return -1;
		versions[n_versions++] = (uint32_t)v;
	}
	return n_versions ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mcp-echo --listen HOST:PORT [--versions 1,2] [--stats PATH] [fault] [-q]\n"
		   "\n"
		   "The reference MCP backend: HELLO -> HELLO_ACK, PING -> PONG, CLOSE -> CLOSE,\n"
		   "request op -> response op|0x80 with the same payload, stream id and session.\n"
		   "  -l, --listen ADDR      where to listen (IPv4 or [IPv6]:port), TCP and UDP\n"
		   "      --versions LIST    header versions spoken (default 1,2)\n"
		   "      --stats PATH       a unix socket that reports what was received to whoever\n"
		   "                         connects (socat - UNIX-CONNECT:PATH), then closes\n"
		   "  -q, --quiet            no log but errors\n"
		   "  -h, --help, -V, --version\n"
		   "Faults, to test what stands in front of a backend:\n"
		   "      --delay-ms N       a slow backend: answer in batches every N ms\n"
		   "      --die-after N      close each connection at its request N+1, unanswered\n"
		   "      --stall            stop reading each connection once its HELLO is answered\n"
		   "      --garbage          answer each request with bytes that are no MCP frame\n");
}

/* A whole decimal number in [0, max], or -1. */
static long parse_count(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < 0 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "versions", required_argument, NULL, 'W' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "stats", required_argument, NULL, 'S' },
		{ "die-after", required_argument, NULL, 'D' },
		{ "stall", no_argument, NULL, 's' },
		{ "garbage", no_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct mcp_addr addr;
	const char *listen_at = NULL, *stats_path = NULL;
	int lfd, c;

	while ((c = getopt_long(argc, argv, "l:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'W':
			if (parse_versions(optarg)) {
				fprintf(stderr, "mcp-echo: --versions: '%s' is not a list of 1 and 2\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			delay_ms = (int)parse_count(optarg, 60000);
			if (delay_ms < 0) {
				fprintf(stderr, "mcp-echo: --delay-ms: '%s' is not 0..60000\n", optarg);
				return 2;
			}
			break;
		case 'D':
			die_after = parse_count(optarg, 1L << 30);
			if (die_after < 0) {
				fprintf(stderr, "mcp-echo: --die-after: '%s' is not a count\n", optarg);
				return 2;
			}
			break;
		case 'S':
			stats_path = optarg;
			break;
		case 's':
			stall = true;
			break;
		case 'g':
			garbage = true;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mcp-echo %s\n", MCP_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	mcp_log_init("mcp-echo", quiet ? MCP_LOG_ERROR : MCP_LOG_INFO);
	if (!listen_at || mcp_parse_addr(listen_at, &addr)) {
		fprintf(stderr, "mcp-echo: --listen HOST:PORT is required\n");
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* The stats socket first: once the port takes connections, it answers too. */
	if (stats_path) {
		stats_fd = mcp_unix_listen(stats_path, 0600);
		if (stats_fd < 0) {
			fprintf(stderr, "mcp-echo: --stats %s: %s\n", stats_path,
				stats_fd == -EADDRINUSE ? "another process answers there"
							: strerror(-stats_fd));
			return 1;
		}
	}
	lfd = mcp_addr_bind(&addr, SOCK_STREAM, false); /* [::] takes IPv4 too */
	if (lfd < 0) {
		fprintf(stderr, "mcp-echo: cannot listen on %s: %s\n", listen_at, strerror(-lfd));
		return 1;
	}
	int ufd = mcp_addr_bind(&addr, SOCK_DGRAM, false);
	if (ufd < 0) {
		fprintf(stderr, "mcp-echo: cannot listen on %s/udp: %s\n", listen_at, strerror(-ufd));
		return 1;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev)) {
		fprintf(stderr, "mcp-echo: epoll: %s\n", strerror(errno));
		return 1;
	}
	ev.data.ptr = &ufd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ufd, &ev)) {
		fprintf(stderr, "mcp-echo: epoll: %s\n", strerror(errno));
		return 1;
	}
	ev.data.ptr = &stats_fd;
	if (stats_fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, stats_fd, &ev)) {
		fprintf(stderr, "mcp-echo: epoll: %s\n", strerror(errno));
		return 1;
	}
	if (delay_ms > 0) {
		struct itimerspec its = { .it_interval = { delay_ms / 1000, (delay_ms % 1000) * 1000000L },
					  .it_value = { delay_ms / 1000, (delay_ms % 1000) * 1000000L } };

		timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		ev.data.ptr = &timer_fd;
		if (timer_fd < 0 || timerfd_settime(timer_fd, 0, &its, NULL) ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, timer_fd, &ev)) {
			fprintf(stderr, "mcp-echo: --delay-ms timer: %s\n", strerror(errno));
			return 1;
		}
	}
	udp_echo.n_versions = n_versions;
	pr_info("listening on %s, tcp and udp (versions %s%s%s%s%s)", listen_at,
		n_versions == 2 ? "1,2" : versions[0] == 1 ? "1" : "2", delay_ms ? ", slow" : "",
		die_after >= 0 ? ", dies" : "", stall ? ", stalls" : "", garbage ? ", garbage" : "");

	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(epfd, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				on_accept(lfd);
				continue;
			}
			if (evs[i].data.ptr == &ufd) {
				on_udp(ufd);
				continue;
			}
			if (evs[i].data.ptr == &stats_fd) {
				serve_stats();
				continue;
			}
			if (evs[i].data.ptr == &timer_fd) {
				uint64_t x;

				if (read(timer_fd, &x, sizeof(x)) < 0)
					continue;
				/* The slow backend releases what it has, once per tick. */
				flush_all();
				continue;
			}
			struct echo_conn *ec = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT) {
				flush(ec);
				continue;
			}
			on_readable(ec);
		}
		if (!delay_ms)
			flush_all();
	}
}
