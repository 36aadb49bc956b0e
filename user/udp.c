// SPDX-License-Identifier: GPL-2.0-only
/*
 * MCP over UDP in mcpd (docs/protocol.md, "UDP"). One datagram is one frame. Each datagram that reaches
 * the listening socket (through the XDP guard where it is attached) is checked with the same
 * rule the guard uses (mcp_udp_check), PINGs are answered with PONGs, and requests are
 * relayed by opcode to a backend of their pool through a connected socket kept per
 * (client, pool), whose answers go back to that client from the router's port. Reads and
 * writes are batched with recvmmsg and sendmmsg.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "anomaly.h"
#include "fdio.h"
#include "log.h"
#include "router.h"

#define BATCH	 64
#define DGRAM_MAX (MCP_HDR_MAX_LEN + MCP_MAX_FRAME_LIMIT)

static uint8_t bufs[BATCH][DGRAM_MAX];

static void count(struct router *r, uint32_t reason, size_t bytes)
{
	r->udp_stats[reason].count++;
	r->udp_stats[reason].bytes += bytes;
}

int udp_open(struct router *r, const struct mcp_addr *a)
{
	struct udp_listener *l = &r->udp[r->n_udp];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->h };
	int fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
		goto fail;
	l->h.kind = H_UDP;
	l->h.fd = fd;
	l->addr = a;
	r->n_udp++;
	pr_info("listening on %s/udp", a->text);
	return 0;
fail:
	pr_err("cannot listen on %s/udp: %s", a->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int udp_adopt(struct router *r, int fd, uint32_t index)
{
	struct udp_listener *l = &r->udp[r->n_udp];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->h };

	if (index >= (uint32_t)r->cfg.n_listen || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	l->h.kind = H_UDP;
	l->h.fd = fd;
	l->addr = &r->cfg.listen[index];
	r->n_udp++;
	return 0;
}

static uint32_t hash_client(const struct sockaddr_storage *ss, socklen_t len, int pool)
{
	const uint8_t *p = (const uint8_t *)ss;
	uint32_t h = 2166136261u ^ (uint32_t)pool;

	for (socklen_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % UPSTREAM_BUCKETS;
}

static void upstream_free(struct router *r, struct upstream *u)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, u->h.fd, NULL);
	close(u->h.fd);
	r->n_upstreams--;
	free(u);
}

/* Unlink u from its hash chain and free it. */
static void upstream_drop(struct router *r, struct upstream *u)
{
	uint32_t b = hash_client(&u->client, u->client_len, u->pool);

	for (struct upstream **pp = &r->upstreams[b]; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			upstream_free(r, u);
			return;
		}
}

/* Put a connected socket for (client, pool) in the table. */
static struct upstream *upstream_add(struct router *r, int fd, int listener,
				     const struct sockaddr_storage *client, socklen_t len, int pool,
				     int backend)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t b = hash_client(client, len, pool);
	struct upstream *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->h.kind = H_UPSTREAM;
	u->h.fd = fd;
	ev.data.ptr = &u->h;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(u);
		return NULL;
	}
	memcpy(&u->client, client, len);
	u->client_len = len;
	u->listener = listener;
	u->pool = pool;
	u->backend = backend;
	u->last_ms = mcp_now_ms();
	u->next = r->upstreams[b];
	r->upstreams[b] = u;
	r->n_upstreams++;
	return u;
}

/* The connected socket for (client, pool), made on first use. */
static struct upstream *upstream_for(struct router *r, int listener,
				     const struct sockaddr_storage *client, socklen_t len, int pool)
{
	uint32_t b = hash_client(client, len, pool);
	const struct mcp_addr *a;
	struct upstream *u;
	int backend, fd;

	for (u = r->upstreams[b]; u; u = u->next)
		if (u->pool == pool && u->client_len == len && !memcmp(&u->client, client, len))
			return u;
	if (r->n_upstreams >= UPSTREAM_MAX)
		return NULL;
	backend = router_pick_backend(r, pool, mcp_now_ms(), true);
	if (backend < 0)
		return NULL;
	a = &r->cfg.pools[pool].backends[backend];
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->ss, a->len) ||
	    !(u = upstream_add(r, fd, listener, client, len, pool, backend))) {
		pr_warn("udp: cannot reach backend %s: %s", a->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return u;
}

int udp_adopt_upstream(struct router *r, int fd, int listener, int pool, int backend,
		       const void *client, size_t len)
{
	struct sockaddr_storage ss;

	if (listener < 0 || listener >= r->n_udp || pool < 0 || pool >= r->cfg.n_pools ||
	    backend < 0 || backend >= r->cfg.pools[pool].n_backends || len > sizeof(ss) ||
	    r->n_upstreams >= UPSTREAM_MAX)
		return -1;
	memcpy(&ss, client, len);
	return upstream_add(r, fd, listener, &ss, (socklen_t)len, pool, backend) ? 0 : -1;
}

void udp_on_readable(struct router *r, struct udp_listener *l)
{
	struct mmsghdr in[BATCH], out[BATCH];
	struct sockaddr_storage from[BATCH];
	struct iovec iov[BATCH];
	int n, n_out = 0;

	mmsg_prepare(in, iov, &bufs[0][0], DGRAM_MAX, from, BATCH);
	n = recvmmsg(l->h.fd, in, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		uint8_t *d = bufs[i];
		uint32_t len = in[i].msg_len;
		uint32_t verdict = mcp_udp_check(d, len);
		struct upstream *u;
		int slot;

		if (blocklist_match(&r->blocks, (struct sockaddr *)&from[i], mcp_now_ms()))
			continue;
		if (verdict == MCP_XDP_TX_PONG) {
			/* Answered in place, never larger than the PING. */
			d[MCP_OFF_OPCODE] = MCP_OP_PONG;
			out[n_out].msg_hdr = in[i].msg_hdr;
			iov[i].iov_len = len;
			out[n_out].msg_len = 0;
			n_out++;
			count(r, verdict, len);
			continue;
		}
		if (verdict != MCP_XDP_PASS_UDP) {
			count(r, verdict, len);
			anomaly_bad_frame(r, (struct sockaddr *)&from[i]);
			continue;
		}
		anomaly_frame(r, MCP_DIR_TO_BACKEND, d[MCP_OFF_OPCODE]);
		slot = r->cfg.routes[d[MCP_OFF_OPCODE]];
		u = slot ? upstream_for(r, (int)(l - r->udp), &from[i], in[i].msg_hdr.msg_namelen,
					slot - 1)
			 : NULL;
		if (!u) {
			r->udp_no_route++;
			continue;
		}
		count(r, verdict, len);
		if (send(u->h.fd, d, len, MSG_DONTWAIT) == (ssize_t)len)
			r->udp_relayed++;
		u->last_ms = mcp_now_ms();
	}
	if (n_out && sendmmsg(l->h.fd, out, (unsigned int)n_out, MSG_DONTWAIT) < 0)
		pr_debug("udp: sendmmsg: %s", strerror(errno));
}

void upstream_on_readable(struct router *r, struct upstream *u)
{
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov[BATCH];
	int n, n_out = 0;

	mmsg_prepare(in, iov, &bufs[0][0], DGRAM_MAX, NULL, BATCH);
	n = recvmmsg(u->h.fd, in, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0 && errno == ECONNREFUSED) {
		/* ICMP port unreachable: this backend is not there. */
		r->health[u->pool][u->backend].udp_down_until_ms =
			mcp_now_ms() + r->cfg.backend_down_ms;
		pr_warn("udp: backend %s refused; down for %u ms",
			r->cfg.pools[u->pool].backends[u->backend].text, r->cfg.backend_down_ms);
		upstream_drop(r, u); /* the client's next datagram picks another backend */
		return;
	}
	for (int i = 0; i < n; i++) {
		uint8_t *d = bufs[i];
		uint32_t len = in[i].msg_len;

		/* Only a well-formed response goes back to the client. */
		if (len < MCP_HDR_V1_LEN ||
		    mcp_check_header(d, 0, MCP_MAX_FRAME_LIMIT, MCP_PEER_BACKEND) != MCP_CHECK_OK ||
		    len != mcp_hdr_len(d[MCP_OFF_VERSION]) + mcp_hdr_length(d)) {
			r->udp_dropped_answers++;
			continue;
		}
		memset(&out[n_out], 0, sizeof(out[n_out]));
		iov[i].iov_len = len;
		out[n_out].msg_hdr.msg_iov = &iov[i];
		out[n_out].msg_hdr.msg_iovlen = 1;
		out[n_out].msg_hdr.msg_name = &u->client;
		out[n_out].msg_hdr.msg_namelen = u->client_len;
		n_out++;
	}
	if (n_out) {
		int sent = sendmmsg(r->udp[u->listener].h.fd, out, (unsigned int)n_out, MSG_DONTWAIT);

		if (sent > 0)
			r->udp_answers += (uint64_t)sent;
	}
	u->last_ms = mcp_now_ms();
}

void udp_tick(struct router *r, uint64_t now)
{
	for (int b = 0; b < UPSTREAM_BUCKETS; b++) {
		struct upstream **pp = &r->upstreams[b];

		while (*pp) {
			struct upstream *u = *pp;

			if (now - u->last_ms > UPSTREAM_IDLE_MS) {
				*pp = u->next;
				upstream_free(r, u);
			} else {
				pp = &u->next;
			}
		}
	}
}

void udp_close_all(struct router *r)
{
	for (int b = 0; b < UPSTREAM_BUCKETS; b++)
		while (r->upstreams[b]) {
			struct upstream *u = r->upstreams[b];

			r->upstreams[b] = u->next;
			upstream_free(r, u);
		}
	for (int i = 0; i < r->n_udp; i++) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->udp[i].h.fd, NULL);
		close(r->udp[i].h.fd);
	}
	r->n_udp = 0;
}
