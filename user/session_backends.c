// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session's backends: connecting to one of each pool the routes use (round robin over the
 * healthy), their HELLO, and what happens when one fails while connecting or after.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "log.h"
#include "messages.h"
#include "pools.h"
#include "mcpd.h"
#include "auth.h"
#include "perm_map.h"
#include "session_int.h"

static int connect_backend(struct mcpd *r, struct session *s, int slot)
{
	uint64_t now = mcp_now_ms();
	int pool = slot - 1, one = 1;

	for (;;) {
		int i = pools_pick(r->pools, &r->cfg, pool, now, false), fd;
		const struct mcp_addr *a;
		struct conn *b;

		if (i < 0)
			return -1;
		a = &r->cfg.pools[pool].backends[i];
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			/* Our limit, not the backend's fault: say so, and mark nothing down. */
			pr_err("cannot open a backend connection: %s%s", strerror(errno),
			       errno == EMFILE ? " (raise the open-file limit: LimitNOFILE)" : "");
			return -1;
		}
		if (r->cfg.tcp_nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		datapath_own_connection(r, fd);
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) && errno != EINPROGRESS) {
			if (errno == EADDRNOTAVAIL || errno == EAGAIN || errno == ENOBUFS ||
			    errno == ENOMEM) {
				pr_err("cannot connect to backend %s: %s (a shortage here, not the "
				       "backend's fault)", a->text, strerror(errno));
				close(fd);
				return -1;
			}
			pr_warn("backend %s (pool %s): %s; down for %u ms", a->text,
				r->cfg.pools[pool].name, strerror(errno), r->cfg.backend_down_ms);
			pools_set_down(r->pools, pool, i, now + r->cfg.backend_down_ms, false);
			close(fd);
			continue;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			close(fd);
			return -1;
		}
		b->h.on_event = session_on_event;
		b->h.fd = fd;
		b->out.account = &r->sessions->queued_bytes;
		b->s = s;
		b->slot = slot;
		b->peer = MCP_PEER_BACKEND;
		b->backend = i;
		b->connecting = true;
		/* Until HELLO_ACK a backend speaks v1. mcpd talks to backends with its own limits,
		 * never with what a client asked for (a client asking for tiny frames once made
		 * every backend's HELLO_ACK "too large" and marked them all down). */
		mcp_decoder_init(&b->dec, MCP_VERSION_1, MCP_PEER_BACKEND, r->cfg.max_frame);
		s->backends[slot] = b;
		if (mcpd_watch(r, b, EPOLLOUT)) {
			backend_failed(r, b, "epoll");
			return s->backends[slot] ? 0 : -1;
		}
		return 0;
	}
}

void backend_failed(struct mcpd *r, struct conn *b, const char *why)
{
	struct session *s = b->s;
	int slot = b->slot, pool = slot - 1;
	const struct mcp_addr *a = &r->cfg.pools[pool].backends[b->backend];
	bool setup = s->state == S_CONNECTING && !b->ready;

	if (setup) {
		/* Only a backend that cannot be reached is marked down. One that was reached but
		 * did not take this session's HELLO is not: the session's parameters (which a
		 * client chooses) may be the cause, and no client may take a backend from others. */
		if (b->connecting) {
			pools_set_down(r->pools, pool, b->backend,
				       mcp_now_ms() + r->cfg.backend_down_ms, false);
			pr_warn("backend %s (pool %s): %s; down for %u ms", a->text,
				r->cfg.pools[pool].name, why, r->cfg.backend_down_ms);
		} else {
			pr_warn("backend %s (pool %s): %s (session %u)", a->text,
				r->cfg.pools[pool].name, why, s->id);
		}
		session_drop_backend(r, s, slot);
		/* Another backend of the pool, at most once round the pool per session. */
		if (++s->setup_failures <= (uint32_t)r->cfg.pools[pool].n_backends &&
		    connect_backend(r, s, slot) == 0)
			return;
		session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, "no backend of the pool reachable");
		return;
	}
	char msg[160];

	snprintf(msg, sizeof(msg), "backend %s: %s", a->text, why);
	session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, msg);
}

/* A restricted identity's rules go into the kernel before any of its sockets does. False
 * when they cannot: the session stays where mcpd judges every frame. */
static bool kernel_may_judge(struct mcpd *r, struct session *s)
{
	int err;

	if (!s->restricted || !datapath_carries_sessions(r))
		return true;
	err = perm_map_put(r->cfg.pin_root, s->id, &s->perms);
	s->perms_in_kernel = !err;
	if (err)
		pr_warn("session %u: permissions not in the kernel (%s): it stays on mcpd's path",
			s->id, strerror(-err));
	return !err;
}

void session_connected(struct mcpd *r, struct session *s)
{
	struct mcp_hello_ack ack = { .version = s->version, .session_id = s->id,
				     .max_frame = s->max_frame, .heartbeat_ms = s->heartbeat_ms };
	uint8_t buf[64];
	ssize_t n;

	if (session_set_state(r, s, S_CONNECTED))
		return;
	s->client.dec.fr.version = s->version;
	s->client.dec.fr.max_frame = s->max_frame;
	if (kernel_may_judge(r, s)) {
		int err = datapath_install(r, s);

		if (!err)
			pr_debug("session %u: on the %s path", s->id, session_path_name(s->path));
		else if (err != -ENOENT)
			pr_warn("session %u: fast path not installed; it stays on the user path", s->id);
	}
	if (s->perms_in_kernel && s->path == SESSION_PATH_MCPD) { /* mcpd judges it alone */
		perm_map_del(r->cfg.pin_root, s->id);
		s->perms_in_kernel = false;
	}
	n = mcp_build_hello_ack(buf, sizeof(buf), &ack);
	if (n > 0)
		conn_queue(r, &s->client, buf, (size_t)n);
	s->last_active_ms = mcp_now_ms();
	pr_debug("session %u: connected, v%u", s->id, s->version);
}

void session_start_backends(struct mcpd *r, struct session *s)
{
	uint32_t used = mcp_config_pools_used(&r->cfg);

	s->pools = used;
	for (int pool = 0; pool < r->cfg.n_pools; pool++) {
		if (!(used & (1u << pool)))
			continue;
		if (connect_backend(r, s, pool + 1)) {
			char msg[128];

			snprintf(msg, sizeof(msg), "no backend of pool %s reachable",
				 r->cfg.pools[pool].name);
			session_end(r, s, MCP_ERR_BACKEND_UNAVAILABLE, msg);
			return;
		}
		s->backends_pending++;
	}
	s->deadline_ms = mcp_now_ms() + r->cfg.connect_timeout_ms;
	if (!s->backends_pending)
		session_connected(r, s);
}

void backend_connected(struct mcpd *r, struct conn *b)
{
	struct session *s = b->s;
	struct mcp_hello h = { .versions = { s->version }, .n_versions = 1,
			       .max_frame = r->cfg.max_frame, .heartbeat_ms = r->cfg.heartbeat_ms };
	uint8_t buf[256];
	ssize_t n;

	b->connecting = false;
	/* The verified identity, and nothing a client merely claimed. */
	if (s->auth == SESSION_AUTH_VERIFIED)
		snprintf(h.client_id, sizeof(h.client_id), "%s", s->client_id);
	n = mcp_build_hello(buf, sizeof(buf), &h);
	if (n > 0)
		conn_queue(r, b, buf, (size_t)n);
	mcpd_watch(r, b, EPOLLIN);
}
