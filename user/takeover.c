// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hot upgrade. A new mcpd started with --takeover connects to the running one's control
 * socket and asks for everything: the old one stops where it is — between two batches of its
 * event loop, so no frame is half-handled — and sends one protobuf message with every
 * session's state (including the bytes of a frame its decoder had begun and the output it had
 * not written yet) and the blocklist, followed by every socket: listeners, the control and
 * metrics sockets, each session's client and backend sockets, and the UDP relay sockets whose
 * answers may still be on their way (SCM_RIGHTS, docs/kernel-notes.md, note 6). The new one rebuilds
 * the sessions, says it has everything, and the old one exits without touching any socket or
 * map. The pinned maps and the attached programs stay in the kernel throughout; bytes that
 * arrive meanwhile wait in the sockets' queues.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include "addr.h"
#include "control.pb-c.h"
#include "ctl.h"
#include "fdio.h"
#include "log.h"
#include "metrics.h"
#include "mcpd.h"
#include "auth.h"
#include "takeover.h"
#include "session_snapshot.h"

#define FDS_PER_MSG 250 /* SCM_MAX_FD is 253 */

static int send_fds(int sock, const int *fds, int n)
{
	for (int off = 0; off < n; off += FDS_PER_MSG) {
		int k = n - off < FDS_PER_MSG ? n - off : FDS_PER_MSG;
		char cbuf[CMSG_SPACE(sizeof(int) * FDS_PER_MSG)];
		uint8_t one = 'F';
		struct iovec iov = { .iov_base = &one, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)k) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)k);
		memcpy(CMSG_DATA(c), fds + off, sizeof(int) * (size_t)k);
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
			return -1;
	}
	return 0;
}

static int recv_fds(int sock, int *fds, int n)
{
	for (int off = 0; off < n;) {
		char cbuf[CMSG_SPACE(sizeof(int) * FDS_PER_MSG)];
		uint8_t one;
		struct iovec iov = { .iov_base = &one, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		int k;

		if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
			return -1;
		c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS)
			return -1;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (k <= 0 || off + k > n)
			return -1;
		memcpy(fds + off, CMSG_DATA(c), sizeof(int) * (size_t)k);
		off += k;
	}
	return 0;
}

/* ---- the old mcpd: give ------------------------------------------------------------------ */

struct giving {
	int *fds;
	int n, cap;
	bool failed; /* out of memory describing it all: nothing is given, this mcpd carries on */
};

static uint32_t add_fd(struct giving *g, int fd)
{
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 256;
		int *fds = realloc(g->fds, (size_t)cap * sizeof(int));

		if (!fds) {
			g->failed = true;
			return 0;
		}
		g->fds = fds;
		g->cap = cap;
	}
	g->fds[g->n] = fd;
	return (uint32_t)g->n++;
}

static uint32_t give_fd(void *g, int fd)
{
	return add_fd(g, fd);
}

/* The daemon's counters; the message points into r's modules (nothing to free). */
static Mcp__Ctl__TakeoverCounters *describe_counters(struct mcpd *r,
						     Mcp__Ctl__TakeoverCounters *k)
{
	mcp__ctl__takeover_counters__init(k);
	counters_save(r->counters, k);
	auth_save(r->auth, k);
	return k;
}

static void restore_counters(struct mcpd *r, const Mcp__Ctl__TakeoverCounters *k)
{
	if (!k)
		return; /* an mcpd from before the field */
	counters_restore(r->counters, k);
	auth_restore(r->auth, k);
}

int takeover_give(struct mcpd *r, int sock)
{
	Mcp__Ctl__Takeover t = MCP__CTL__TAKEOVER__INIT;
	struct giving g = { 0 };
	uint8_t ack;
	size_t n_sessions = 0, len;
	uint8_t *buf;
	int rc = -1, fl;
	struct session *s;

	/* The transfer is a conversation: block on this one socket until it is done. */
	fl = fcntl(sock, F_GETFL);
	fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
	for (int i = 0; i < r->n_listeners; i++)
		add_fd(&g, r->listeners[i].fd);
	for (int i = 0; i < udp_n_listeners(r); i++)
		add_fd(&g, udp_listener_fd(r, i));
	t.n_tcp = (uint32_t)r->n_listeners;
	t.n_udp = (uint32_t)udp_n_listeners(r);
	t.ctl = ctl_listen_fd(r) >= 0;
	if (t.ctl)
		add_fd(&g, ctl_listen_fd(r));
	t.metrics = metrics_listen_fd(r) >= 0;
	if (t.metrics)
		add_fd(&g, metrics_listen_fd(r));
	for (s = r->sessions->head; s; s = s->next)
		n_sessions++;
	t.sessions = calloc(n_sessions ? n_sessions : 1, sizeof(*t.sessions));
	g.failed |= !t.sessions;
	for (s = t.sessions ? r->sessions->head : NULL; s && !g.failed; s = s->next) {
		Mcp__Ctl__TakeoverSession *m = calloc(1, sizeof(*m));

		if (!m || session_snapshot(s, m, give_fd, &g)) {
			if (m)
				session_snapshot_free(m);
			free(m);
			g.failed = true;
			break;
		}
		t.sessions[t.n_sessions++] = m;
	}
	/* The userspace blocklist (the guard's maps stay pinned; the new mcpd mirrors it again). */
	if (blocklist_save(r->blocks, mcp_now_ms(), &t))
		g.failed = true;
	t.datapath = (char *)datapath_mode(r);
	char *pools[MCP_MAX_POOLS];
	for (int i = 0; i < r->cfg.n_pools; i++)
		pools[i] = r->cfg.pools[i].name;
	t.pools = pools;
	t.n_pools = (size_t)r->cfg.n_pools;
	Mcp__Ctl__TakeoverCounters counters;
	t.counters = describe_counters(r, &counters);
	if (udp_give(r, &t, &counters, give_fd, &g))
		g.failed = true;
	t.n_fds = (uint32_t)g.n;
	session_table_save(r->sessions, &t, &counters);

	len = mcp__ctl__takeover__get_packed_size(&t);
	buf = g.failed ? NULL : malloc(len);
	if (!buf) {
		/* The new mcpd sees the connection close and gives up; this one carries on. */
		pr_err("takeover: out of memory describing the sessions; carrying on");
	} else if (mcp__ctl__takeover__pack(&t, buf) != len || fd_write_msg(sock, buf, len) ||
		   send_fds(sock, g.fds, g.n) || fd_read_all(sock, &ack, 1) || ack != 'K') {
		pr_err("takeover: the new mcpd did not take everything; carrying on");
	} else {
		struct ucred who;
		socklen_t wl = sizeof(who);

		pr_info("takeover: handed %zu sessions and %d sockets to the new mcpd; exiting",
			t.n_sessions, g.n);
		/* Under systemd the new mcpd becomes the service's main process before this one
		 * exits, so the exit does not end the service. */
		if (!getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &who, &wl))
			sd_notifyf(0, "MAINPID=%d", (int)who.pid);
		rc = 0;
	}
	for (size_t i = 0; i < t.n_sessions; i++) {
		session_snapshot_free(t.sessions[i]);
		free(t.sessions[i]);
	}
	free(t.sessions);
	blocklist_save_free(&t);
	udp_given(&t);
	free(buf);
	free(g.fds);
	return rc;
}

/* ---- the new mcpd: take ------------------------------------------------------------------ */

/* Sessions hold their backends by pool position: this config must keep those in use. */
static bool pools_kept(struct mcpd *r, const Mcp__Ctl__Takeover *t, struct err *e)
{
	uint32_t in_use = 0;

	for (size_t i = 0; i < t->n_sessions; i++)
		for (size_t c = 0; c < t->sessions[i]->n_conns; c++)
			if (t->sessions[i]->conns[c]->slot > 0 && t->sessions[i]->conns[c]->slot <= 32)
				in_use |= 1u << (t->sessions[i]->conns[c]->slot - 1);
	for (size_t i = 0; i < t->n_upstreams; i++)
		if (t->upstreams[i]->pool < 32)
			in_use |= 1u << t->upstreams[i]->pool;
	return mcp_config_pools_kept((const char *const *)t->pools, (int)t->n_pools, &r->cfg,
				     in_use, e) == 0;
}

int takeover_possible(struct mcpd *r, struct err *e)
{
	int sock;

	if (!r->cfg.control[0])
		return err_set(e, EINVAL, "takeover: the config has no control socket (control =) "
					  "to reach the running mcpd through");
	sock = mcp_unix_connect(r->cfg.control);
	if (sock < 0)
		return err_set(e, -sock, "takeover: cannot reach the running mcpd at %s: %s",
			       r->cfg.control, strerror(-sock));
	close(sock);
	return 0;
}

int takeover_take(struct mcpd *r, struct err *e)
{
	Mcp__Ctl__Request q = MCP__CTL__REQUEST__INIT;
	Mcp__Ctl__Takeover *t = NULL;
	uint8_t *buf = NULL, ack = 'K';
	int sock, *fds = NULL, rc = -1, next = 0;
	struct err why = { 0 }; /* what broke the hand-over off, when it says */
	size_t len;

	sock = mcp_unix_connect(r->cfg.control);
	if (sock < 0) {
		rc = err_set(e, -sock, "takeover: cannot reach the running mcpd at %s: %s",
			     r->cfg.control, strerror(-sock));
		goto out;
	}
	q.command = MCP__CTL__COMMAND__COMMAND_TAKEOVER;
	len = mcp__ctl__request__get_packed_size(&q);
	buf = malloc(len);
	if (!buf)
		goto broken;
	mcp__ctl__request__pack(&q, buf);
	if (fd_write_msg(sock, buf, len))
		goto broken;
	free(buf);
	if (fd_read_msg(sock, &buf, &len, 1u << 30))
		goto broken;
	t = mcp__ctl__takeover__unpack(NULL, len, buf);
	if (!t || t->n_fds > 1000000)
		goto broken;
	fds = calloc(t->n_fds ? t->n_fds : 1, sizeof(int));
	if (!fds || recv_fds(sock, fds, (int)t->n_fds))
		goto broken;
	if (!pools_kept(r, t, &why))
		goto broken;
	/* (An mcpd from before this field says nothing: take it at its word.) */
	if (t->datapath[0] && strcmp(t->datapath, datapath_mode(r))) {
		err_set(&why, EINVAL, "the running mcpd uses the %s data path, this one %s",
			t->datapath, datapath_mode(r));
		goto broken;
	}

	for (uint32_t i = 0; i < t->n_tcp; i++)
		if (mcpd_adopt_listener(r, fds[next++]))
			goto broken;
	for (uint32_t i = 0; i < t->n_udp; i++)
		if (udp_adopt(r, fds[next++], i))
			goto broken;
	if (t->ctl && ctl_adopt(r, fds[next++], &why))
		goto broken;
	if (t->metrics && metrics_adopt(r, fds[next++], &why))
		goto broken;
	for (size_t i = 0; i < t->n_sessions; i++)
		if (session_restore(r, t->sessions[i], fds, (int)t->n_fds))
			goto broken;
	blocklist_restore(r->blocks, t, mcp_now_ms());
	udp_take(r, t, fds);
	restore_counters(r, t->counters);
	session_table_restore(r->sessions, t);
	if (fd_write_all(sock, &ack, 1))
		goto broken;
	pr_info("takeover: took %zu sessions, %zu UDP relays, %u sockets and %zu blocklist entries",
		t->n_sessions, t->n_upstreams, t->n_fds, t->n_blocks);
	rc = 0;
	goto out;
broken:
	rc = err_set(e, why.code ? why.code : EPROTO,
		     "takeover: %s; the hand-over broke off, the running mcpd keeps everything",
		     why.code ? why.msg : "the old mcpd's answer was cut short or not understood");
out:
	if (t)
		mcp__ctl__takeover__free_unpacked(t, NULL);
	free(buf);
	free(fds);
	if (sock >= 0)
		close(sock);
	return rc;
}
