// SPDX-License-Identifier: GPL-2.0-only
/* mcpd's event loop: listeners, signals, the timer, batched flushing, deferred frees. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "auth.h"
#include "perm_map.h"
#include "log.h"
#include "anomaly.h"
#include "ctl.h"
#include "messages.h"
#include "metrics.h"
#include "pools.h"
#include "mcpd.h"
#include "session_table.h"
#include "pin_dir.h"
#include "takeover.h"
#include "upgrade.h"
#include "err.h"

#define MAX_EVENTS     256
#define ACCEPT_BATCH   64
#define TICK_MS	       100
#define STOP_GRACE_MS  3000

int mcpd_watch(struct mcpd *r, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = &c->h };

	if (c->h.fd < 0)
		return -1;
	if (c->registered && c->events == events)
		return 0;
	if (epoll_ctl(r->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->h.fd, &ev)) {
		pr_err("epoll_ctl(fd %d): %s", c->h.fd, strerror(errno));
		return -1;
	}
	c->registered = true;
	c->events = events;
	return 0;
}

static void on_accept(struct mcpd *r, struct handler *h, uint32_t events);

static void flush_dirty(struct mcpd *r)
{
	struct conn *list = session_table_take_dirty(r->sessions), *c;

	r->pending_writes = false;
	while ((c = list)) {
		list = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		if (!c->s)
			continue;
		session_flush(r, c);
		/* Still holding bytes (the kernel has not queued its own yet): stay listed. */
		if (c->s && c->out.len && r->pending_writes && !c->dirty)
			session_table_mark_dirty(r->sessions, c);
	}
}

static void reap(struct mcpd *r)
{
	if (r->sessions)
		session_table_reap(r->sessions);
	udp_reap(r);
}

static int open_listener(struct mcpd *r, const struct mcp_addr *a, struct err *e)
{
	int err = loop_listen(r->epfd, a, SOCK_STREAM, &r->listeners[r->n_listeners], on_accept,
			      e);

	if (!err)
		r->n_listeners++;
	return err;
}

/* mcpd_init cannot go on: what failed, and the system's reason. */
static int cannot_start(struct err *e, const char *what, int code)
{
	return err_set(e, code, "%s: %s", what, strerror(code));
}

int mcpd_adopt_listener(struct mcpd *r, int fd)
{
	struct handler *h = &r->listeners[r->n_listeners];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	if (r->n_listeners == MCP_MAX_LISTEN || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	h->on_event = on_accept;
	h->fd = fd;
	r->n_listeners++;
	return 0;
}

static void close_listeners(struct mcpd *r)
{
	for (int i = 0; i < r->n_listeners; i++) {
		loop_unwatch(r->epfd, r->listeners[i].fd);
		close(r->listeners[i].fd);
	}
	r->n_listeners = 0;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(a->sin_port));
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(a->sin6_port));
	}
}

/* Over a limit: say which in an ERROR RATE_LIMITED and close, without a session. */
static void send_refusal(struct mcpd *r, int fd, const char *msg)
{
	uint8_t buf[160];
	ssize_t n = mcp_build_error_simple(buf, sizeof(buf), 1, 0, MCP_ERR_RATE_LIMITED, msg);

	loop_refuse(fd, buf, n > 0 ? (size_t)n : 0);
	r->counters->sessions_refused++;
	r->counters->errors_sent[MCP_ERR_RATE_LIMITED]++;
}

bool mcpd_out_of_descriptors(struct mcpd *r, int listen_fd, int err, refuse_fn refuse)
{
	uint64_t now = mcp_now_ms();
	int fd;

	r->counters->limit_hits[LIMIT_FDS]++;
	if (mcp_log_due(&r->fds_logged_ms, now, 1000))
		pr_warn("accept: %s: refusing new connections (%llu so far; raise LimitNOFILE, or "
			"lower max_sessions)", strerror(err),
			(unsigned long long)r->counters->limit_hits[LIMIT_FDS]);
	if (r->spare_fd < 0)
		return false;
	close(r->spare_fd);
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(r, fd); /* and closes it */
	r->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && r->spare_fd >= 0;
}

static void refuse_for_descriptors(struct mcpd *r, int fd)
{
	send_refusal(r, fd, "the router is out of file descriptors");
}

/* A session listener out of descriptors: without the reserve, every listener rests until the
 * next tick. */
static void out_of_descriptors(struct mcpd *r, struct handler *h, int err)
{
	if (mcpd_out_of_descriptors(r, h->fd, err, refuse_for_descriptors))
		return;
	for (int i = 0; i < r->n_listeners; i++) {
		struct epoll_event ev = { .events = 0, .data.ptr = &r->listeners[i] };

		if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->listeners[i].fd, &ev))
			pr_warn("cannot pause listener %d: %s", i, strerror(errno));
	}
	r->accept_paused = true;
}

static void resume_accepting(struct mcpd *r)
{
	if (!r->accept_paused)
		return;
	for (int i = 0; i < r->n_listeners; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->listeners[i] };

		if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->listeners[i].fd, &ev))
			pr_err("cannot resume listener %d: %s", i, strerror(errno));
	}
	r->accept_paused = false;
}

static void on_accept(struct mcpd *r, struct handler *h, uint32_t events)
{
	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && !r->accept_paused; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char peer[MCP_ADDR_TEXT_MAX];
		struct session *victim;
		int fd = accept4(h->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC),
		    one = 1;

		if (fd < 0) {
			if (loop_out_of_descriptors(errno))
				out_of_descriptors(r, h, errno);
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("accept: %s", strerror(errno));
			if (errno == ECONNABORTED)
				continue;
			return;
		}
		if (blocklist_match(r->blocks, (struct sockaddr *)&ss, mcp_now_ms())) {
			close(fd); /* the XDP guard drops these before the handshake where it runs */
			r->counters->sessions_refused++;
			continue;
		}
		anomaly_new_session(r, (struct sockaddr *)&ss);
		/* At max_sessions, a connection still without its HELLO (older than this one) makes
		 * room: slow HELLOs cannot hold every place. Only sessions all negotiated refuse. */
		victim = session_table_oldest_unnegotiated(r->sessions);
		if (r->sessions->n >= r->cfg.max_sessions && victim) {
			r->counters->limit_hits[LIMIT_UNNEGOTIATED]++;
			session_end(r, victim, MCP_ERR_RATE_LIMITED,
				    "the router is at max_sessions: the oldest connection without a "
				    "HELLO is closed");
			session_flush(r, &victim->client); /* the ERROR, if the socket takes it */
			session_free(r, victim);	   /* its place, now */
		}
		if (r->sessions->n >= r->cfg.max_sessions) {
			char msg[64];

			snprintf(msg, sizeof(msg), "the router is at max_sessions (%u)",
				 r->cfg.max_sessions);
			r->counters->limit_hits[LIMIT_MAX_SESSIONS]++;
			send_refusal(r, fd, msg);
			continue;
		}
		/* Connections that have not said HELLO have a cap of their own: at it, the oldest
		 * goes (a real client says HELLO within a round trip; one that dribbles does not). */
		victim = session_table_oldest_unnegotiated(r->sessions);
		if (r->sessions->unneg.n >= r->cfg.max_unnegotiated && victim) {
			r->counters->limit_hits[LIMIT_UNNEGOTIATED]++;
			session_end(r, victim, MCP_ERR_RATE_LIMITED,
				    "too many connections without a HELLO (max_unnegotiated): the oldest "
				    "is closed");
		}
		if (r->cfg.tcp_nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		addr_text(&ss, peer, sizeof(peer));
		if (!session_new(r, fd, &ss, peer)) {
			pr_err("cannot set up a session for %s", peer);
			close(fd);
		}
	}
}

/* Settings a reload cannot change on a running mcpd, named in out ("" when none changed). */
static void fixed_at_start(const struct mcp_config *now, const struct mcp_config *next, char *out,
			   size_t len)
{
	bool listen = now->n_listen != next->n_listen, xdp = now->n_xdp_ifaces != next->n_xdp_ifaces;

	for (int i = 0; !listen && i < now->n_listen; i++)
		listen = strcmp(now->listen[i].text, next->listen[i].text) != 0;
	for (int i = 0; !xdp && i < now->n_xdp_ifaces; i++)
		xdp = strcmp(now->xdp_ifaces[i], next->xdp_ifaces[i]) != 0;
	snprintf(out, len, "%s%s%s%s%s%s", listen ? ", listen" : "",
		 strcmp(now->control, next->control) ? ", control" : "",
		 strcmp(now->pin_root, next->pin_root) ? ", pin_root" : "",
		 now->metrics.len != next->metrics.len ||
				 strcmp(now->metrics.text, next->metrics.text) ||
				 now->metrics_per_source != next->metrics_per_source ||
				 now->metrics_timeout_s != next->metrics_timeout_s ?
			 ", metrics" :
			 "",
		 xdp ? ", xdp_interfaces" : "", now->xdp_mode != next->xdp_mode ? ", xdp_mode" : "");
}

int mcpd_pools_kept(struct mcpd *r, const struct mcp_config *next, struct err *e)
{
	const char *names[MCP_MAX_POOLS];

	for (int i = 0; i < r->cfg.n_pools; i++)
		names[i] = r->cfg.pools[i].name;
	return mcp_config_pools_kept(names, r->cfg.n_pools, next, mcpd_pools_in_use(r), e);
}

uint32_t mcpd_pools_in_use(struct mcpd *r)
{
	return session_table_pools_in_use(r->sessions) | udp_pools_in_use(r);
}

int mcpd_reload(struct mcpd *r, char *msg, size_t len, struct err *e)
{
	struct mcp_config *next = malloc(sizeof(*next));
	struct err why;
	int rc;

	if (!next)
		return err_set(e, ENOMEM, "reload refused: out of memory");
	if (!r->cfg.path[0]) {
		rc = err_set(e, ENOENT, "mcpd runs without a config file; nothing to reload");
		pr_warn("reload: %s", e ? e->msg : "no config file");
	} else if ((rc = mcp_config_load(r->cfg.path, next, &why)) ||
		   (rc = mcpd_pools_kept(r, next, &why)) ||
		   (rc = auth_configure(r->auth, next, &why))) {
		rc = err_set(e, rc, "reload refused, the running config stays: %s", why.msg);
		pr_err("reload refused, the running config stays: %s", why.msg);
	} else {
		char fixed[128];

		/* Listeners and the data path stay as they are; the rest applies to new sessions. */
		fixed_at_start(&r->cfg, next, fixed, sizeof(fixed));
		memcpy(next->listen, r->cfg.listen, sizeof(next->listen));
		next->n_listen = r->cfg.n_listen;
		next->datapath = r->cfg.datapath;
		next->remote_datapath = r->cfg.remote_datapath;
		memcpy(next->inline_cgroup, r->cfg.inline_cgroup, sizeof(next->inline_cgroup));
		memcpy(next->control, r->cfg.control, sizeof(next->control));
		memcpy(next->pin_root, r->cfg.pin_root, sizeof(next->pin_root));
		next->metrics = r->cfg.metrics;
		next->metrics_per_source = r->cfg.metrics_per_source;
		next->metrics_timeout_s = r->cfg.metrics_timeout_s;
		pools_reconfigure(r->pools, &r->cfg, next);
		next->n_xdp_ifaces = r->cfg.n_xdp_ifaces;
		memcpy(next->xdp_ifaces, r->cfg.xdp_ifaces, sizeof(next->xdp_ifaces));
		next->xdp_mode = r->cfg.xdp_mode;
		r->cfg = *next;
		datapath_apply_config(r);
		snprintf(msg, len, "reloaded %s: %d pools%s%s", r->cfg.path, r->cfg.n_pools,
			 fixed[0] ? "; unchanged until a restart: " : "", fixed[0] ? fixed + 2 : "");
		pr_info("%s", msg);
		rc = 0;
	}
	free(next);
	return rc;
}

static void begin_stop(struct mcpd *r)
{
	struct session *s, *next;

	if (r->stopping)
		return;
	r->stopping = true;
	r->stop_deadline_ms = mcp_now_ms() + STOP_GRACE_MS;
	pr_info("stopping: %u sessions to close", r->sessions->n);
	close_listeners(r);
	udp_close_all(r);
	for (s = r->sessions->head; s; s = next) {
		next = s->next;
		session_shutdown(r, s);
	}
}

static void on_signal(struct mcpd *r, struct handler *h, uint32_t events)
{
	(void)h;
	(void)events;
	struct signalfd_siginfo si;

	while (read(r->sigfd.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char msg[1024];

			mcpd_reload(r, msg, sizeof(msg), NULL); /* logged either way */
		} else {
			begin_stop(r);
		}
	}
}

static void on_tick(struct mcpd *r, struct handler *h, uint32_t events)
{
	(void)h;
	(void)events;
	uint64_t expirations, now = mcp_now_ms();
	struct session *s, *next;

	if (read(r->timer.fd, &expirations, sizeof(expirations)) < 0)
		return;
	resume_accepting(r);
	for (s = r->sessions->head; s; s = next) {
		next = s->next;
		session_tick(r, s, now);
	}
	sessions_within_budget(r, now);
	udp_tick(r, now);
	ctl_tick(r, now);
	datapath_tick(r, now);
	metrics_tick(r); /* libmicrohttpd's timeouts */
	blocklist_expire(r->blocks, now);
	anomaly_tick(r, now);
	upgrade_poll();
}

int mcpd_init(struct mcpd *r, const struct mcp_config *cfg, int datapath, bool takeover,
	      struct err *e)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN };
	struct err sub = { 0 }; /* what failed in a step mcpd carries on without */
	sigset_t mask;
	int err;

	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->taking_over = takeover;
	r->pin_lock_fd = -1;
	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium would not initialise");
	/* One descriptor kept in reserve: out of descriptors, accept-and-refuse uses it. */
	r->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return cannot_start(e, "epoll_create1", errno);
	r->auth = auth_new();
	r->pools = pools_new();
	r->sessions = session_table_new();
	r->counters = counters_new();
	r->blocks = blocklist_new();
	if (udp_init(r) || !r->auth || !r->pools || !r->sessions || !r->counters || !r->blocks)
		return cannot_start(e, "the daemon's modules", ENOMEM);
	if (auth_configure(r->auth, &r->cfg, &sub))
		return err_set(e, sub.code, "auth = %s: %s", mcp_auth_mode_name(r->cfg.auth),
			       sub.msg);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sigfd.on_event = on_signal;
	r->sigfd.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	r->timer.on_event = on_tick;
	r->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->sigfd.fd < 0 || r->timer.fd < 0 || timerfd_settime(r->timer.fd, 0, &its, NULL))
		return cannot_start(e, "the signal and timer descriptors", errno);
	ev.data.ptr = &r->sigfd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->sigfd.fd, &ev))
		return cannot_start(e, "epoll_ctl (signals)", errno);
	ev.data.ptr = &r->timer;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->timer.fd, &ev))
		return cannot_start(e, "epoll_ctl (timer)", errno);

	/* A takeover that cannot reach the running mcpd fails before it touches the kernel (a
	 * load would make pins in a pin root nobody uses). */
	if (takeover && (err = takeover_possible(r, e)))
		return err;
	/* auto: the inline path for local sessions, remote_datapath for the rest. */
	if (datapath == MCP_DATAPATH_AUTO) {
		if (inline_init(r, &sub) == 0) {
			char where[PATH_MAX + 32];

			datapath_describe(r, DATAPATH_INLINE, where, sizeof(where));
			pr_info("inline path: local sessions between processes in %s", where);
		} else {
			pr_warn("inline path unavailable: %s", sub.msg);
		}
		datapath = cfg->remote_datapath == MCP_DATAPATH_BPF ? MCP_DATAPATH_AUTO
								    : MCP_DATAPATH_USER;
	}
	if (datapath != MCP_DATAPATH_USER) {
		if (dp_bpf_init(r, &sub) == 0) {
			pr_info("data path: bpf (sockmap verdict, maps pinned under %s)",
				r->cfg.pin_root);
		} else if (datapath == MCP_DATAPATH_BPF) {
			return err_set(e, sub.code, "data path bpf requested but unavailable: %s",
				       sub.msg);
		} else {
			pr_warn("data path: user (bpf unavailable: %s)", sub.msg);
		}
	} else {
		pr_info("data path: user (%s)",
			r->paths[DATAPATH_INLINE] ? "for remote sessions" : "as configured");
	}
	/* Permissions an earlier mcpd left for sessions long gone (a takeover's are alive). */
	if (datapath_carries_sessions(r)) {
		if (perm_map_open(r->cfg.pin_root))
			pr_warn("%s/%s: %s: restricted identities stay on mcpd's path",
				r->cfg.pin_root, MCP_MAP_PERMS, strerror(errno));
		else if (!takeover)
			perm_map_clear(r->cfg.pin_root);
	}

	if (!takeover) {
		for (int i = 0; i < cfg->n_listen; i++)
			if ((err = open_listener(r, &r->cfg.listen[i], e)))
				return err;
		for (int i = 0; i < cfg->n_listen; i++)
			if ((err = udp_open(r, &r->cfg.listen[i], e)))
				return err;
		if ((err = xdp_guard_init(r, e)) || (err = ctl_init(r, e)) ||
		    (err = metrics_init(r, e)))
			return err;
	} else {
		/* Listeners, control and metrics sockets, sessions and the blocklist: all from the
		 * old mcpd. Only once it has let go does this one touch the kernel: the verdict,
		 * the routes, the XDP guard. */
		if ((err = xdp_guard_check(r, e)) || (err = takeover_take(r, e)))
			return err;
		/* The old mcpd is gone now: whatever fails from here, the sessions carry on. */
		if (dp_bpf_took_over(r, &sub))
			pr_err("after the takeover: %s; the earlier verdict stays in place", sub.msg);
		if (xdp_guard_init(r, &sub))
			pr_err("after the takeover: %s; carrying on without the XDP guard", sub.msg);
	}
	return anomaly_init(r) ? cannot_start(e, "anomaly detection", ENOMEM) : 0;
}

int mcpd_run(struct mcpd *r)
{
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(r->epfd, evs, MAX_EVENTS, r->pending_writes ? 1 : TICK_MS);

		if (n < 0 && errno != EINTR) {
			pr_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n && !r->handed_over; i++) {
			struct handler *h = evs[i].data.ptr;

			/* A handler closed earlier in this batch has fd -1 (and waits to be freed). */
			if (h->fd >= 0)
				h->on_event(r, h, evs[i].events);
		}
		if (r->handed_over)
			return 0;
		/* A full batch means a burst (a thousand sessions closing at once, say): the UDP
		 * listeners, whose readiness may wait several batches behind it, are served now,
		 * so a datagram waits for one batch, not for the whole burst (measured: a PING
		 * after 1 000 closes waited 45 ms on an idle machine, 300 ms on a busy one). */
		if (n == MAX_EVENTS)
			udp_serve(r);
		flush_dirty(r);
		reap(r);
		if (r->stopping && (!r->sessions->n || mcp_now_ms() > r->stop_deadline_ms)) {
			pr_info("stopped (%u sessions left)", r->sessions->n);
			return 0;
		}
	}
}

void mcpd_free(struct mcpd *r)
{
	while (r->sessions && r->sessions->head)
		session_free(r, r->sessions->head);
	close_listeners(r);
	udp_free(r);
	reap(r);
	ctl_free(r);
	metrics_free(r);
	anomaly_free(r);
	auth_free(r->auth);
	pools_free(r->pools);
	session_table_free(r->sessions);
	r->sessions = NULL;
	counters_free(r->counters);
	r->counters = NULL;
	r->auth = NULL;
	perm_map_close();
	datapath_destroy_all(r);
	blocklist_free(r->blocks);
	r->blocks = NULL;
	pin_dir_unlock(r);
	close(r->timer.fd);
	close(r->sigfd.fd);
	close(r->epfd);
	if (r->spare_fd >= 0)
		close(r->spare_fd);
}
