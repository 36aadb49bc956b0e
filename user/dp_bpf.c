// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF data path: loads bpf/mcp_sockmap.bpf.c, pins its maps under /sys/fs/bpf/mcp/,
 * attaches the verdict to the sockhash, and installs each connected session's sockets. Its
 * hooks are the DATAPATH_SOCKMAP slot's (datapath.h).
 *
 * What mcpd must do so the kernel and the daemon never reorder a session's frames
 * (docs/kernel-notes.md, note 4):
 *   - read passed bytes in order and, at the start of each slow episode, forward the bytes
 *     of a frame the kernel had begun (ep_skip, ep_dest) as they are;
 *   - write into a socket only when every byte the kernel redirected into it is already on
 *     its send queue (can_write: bytes_acked + SIOCOUTQ against what both sides wrote);
 *   - tell the verdict how many passed bytes are forwarded (mcp_sock_fwd), and only once
 *     they are written, so its next redirect cannot overtake them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "pin_dir.h"
#include "pin_root.h"
#include "mcpd.h"
#include "mcp_sockmap.skel.h"
#include "err.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define BACKLOG_HIGH (1u << 20)	  /* kernel-queued bytes that make a socket "full" ... */
#define BACKLOG_LOW  (256u << 10) /* ... and that make it not full again */

struct bpf_dp {
	struct datapath dp; /* mcpd's DATAPATH_SOCKMAP slot points here */
	struct mcp_sockmap *skel;
	int full;
	int socks, state, fwd, redir, routes;
	uint64_t full_logged_ms;
};

static struct bpf_dp *dp_of(struct mcpd *r)
{
	return r->paths[DATAPATH_SOCKMAP] ? r->paths[DATAPATH_SOCKMAP]->priv : NULL;
}

static struct mcp_sockmap *open_and_load(const char *root, bool taking_over, struct err *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = root);
	struct mcp_sockmap *skel;
	bool retry;
	int err;

	for (int attempt = 0; attempt < 2; attempt++) {
		skel = mcp_sockmap__open_opts(&opts);
		if (!skel) {
			err_set(e, errno, "cannot open the sockmap program: %s", strerror(errno));
			return NULL;
		}
		err = mcp_sockmap__load(skel);
		if (!err)
			return skel;
		retry = pin_retry_fresh(skel->obj, "sockmap", err, taking_over, attempt, e);
		mcp_sockmap__destroy(skel);
		if (!retry)
			break;
		pr_warn("%s; removed the pinned maps in %s, retrying", e->msg, root);
	}
	return NULL;
}

static void bpf_apply_config(struct mcpd *r)
{
	struct bpf_dp *d = dp_of(r);

	for (uint32_t op = 0; op < 256; op++) {
		uint32_t slot = r->cfg.routes[op];

		bpf_map_update_elem(d->routes, &op, &slot, BPF_ANY);
	}
}

static int queued_bytes(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || ioctl(fd, SIOCOUTQ, &outq))
		return -1;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

/* Every entry of one socket goes with it (cookies and session ids are not reused at once,
 * but a map that kept them would fill: 131 072 sockets, then no session is installed). */
static void bpf_forget(struct mcpd *r, struct conn *c)
{
	struct bpf_dp *d = dp_of(r);
	struct mcp_sock_key key = { .session = c->s->id, .slot = (uint32_t)c->slot };

	if (!c->installed)
		return;
	bpf_map_delete_elem(d->socks, &key);
	bpf_map_delete_elem(d->state, &c->cookie);
	bpf_map_delete_elem(d->fwd, &c->cookie);
	bpf_map_delete_elem(d->redir, &key);
	bpf_map_delete_elem(d->full, &key);
	c->installed = false;
	c->full = false;
	c->backlog = 0;
}

static void bpf_uninstall(struct mcpd *r, struct session *s)
{
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);

		if (c)
			bpf_forget(r, c);
	}
}

static int bpf_install(struct mcpd *r, struct session *s)
{
	struct bpf_dp *d = dp_of(r);
	uint64_t zero = 0;
	int err;

	/* State first, so the verdict knows every socket before any is in the sockhash. */
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);
		struct mcp_sock_state st = {
			.key = { .session = s->id, .slot = (uint32_t)slot },
			.cur_dest = MCP_DEST_NONE,
			.flags = s->restricted ? MCP_SF_PERMS : 0,
		};
		socklen_t len = sizeof(c ? c->cookie : 0);

		if (!c || c->closed)
			continue;
		/* The client's granted limit; mcpd's own towards backends. */
		mcp_framer_init(&st.fr, s->version, c->peer, conn_max_frame(c));
		MCP_SOCK_MODE(&st) = MCP_MODE_FAST;
		if (getsockopt(c->h.fd, SOL_SOCKET, SO_COOKIE, &c->cookie, &len) ||
		    queued_bytes(c->h.fd, &c->queue_base) ||
		    bpf_map_update_elem(d->state, &c->cookie, &st, BPF_ANY) ||
		    bpf_map_update_elem(d->fwd, &c->cookie, &zero, BPF_ANY) ||
		    bpf_map_update_elem(d->redir, &st.key, &zero, BPF_ANY))
			goto fail;
		c->daemon_written = c->read_total = c->fwd_published = 0;
		c->episode = c->raw_left = 0;
		c->installed = true;
	}
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);
		struct mcp_sock_key key = { .session = s->id, .slot = (uint32_t)slot };
		uint64_t fd;

		if (!c || !c->installed)
			continue;
		fd = (uint64_t)c->h.fd;
		if (bpf_map_update_elem(d->socks, &key, &fd, BPF_ANY))
			goto fail;
	}
	s->path = SESSION_PATH_KERNEL;
	return 0;
fail:
	err = -errno;
	if (errno == E2BIG || errno == ENOSPC || errno == ENOMEM) {
		r->counters->limit_hits[LIMIT_MAP_FULL]++;
		if (mcp_log_due(&d->full_logged_ms, mcp_now_ms(), 1000))
			pr_warn("the fast path's maps are full (%s): new sessions stay on the user "
				"path (%llu so far)", strerror(errno),
				(unsigned long long)r->counters->limit_hits[LIMIT_MAP_FULL]);
	} else {
		pr_warn("session %u: cannot install sockets in the fast path: %s", s->id,
			strerror(errno));
	}
	bpf_uninstall(r, s);
	return err;
}

static int bpf_can_write(struct mcpd *r, struct conn *c)
{
	struct bpf_dp *d = dp_of(r);
	struct mcp_sock_key key = { .session = c->s->id, .slot = (uint32_t)c->slot };
	uint64_t queued, redir = 0;

	if (queued_bytes(c->h.fd, &queued))
		return 1; /* the socket is failing: the write will say so */
	bpf_map_lookup_elem(d->redir, &key, &redir);
	return queued - c->queue_base >= c->daemon_written + redir;
}

static void bpf_on_read(struct mcpd *r, struct conn *c, size_t n)
{
	struct bpf_dp *d = dp_of(r);
	struct mcp_sock_state st;

	c->read_total += n;
	if (bpf_map_lookup_elem(d->state, &c->cookie, &st))
		return;
	if (st.episode == c->episode)
		return;
	/* A new slow episode: the verdict says where in a frame its first byte lies. */
	if (!conn_between_frames(c))
		pr_warn("session %u slot %d: slow episode %u begins with %u raw bytes pending",
			c->s->id, c->slot, st.episode, c->raw_left);
	c->episode = st.episode;
	c->raw_left = st.ep_skip;
	c->raw_dest = st.ep_dest;
}

static void bpf_publish(struct mcpd *r, struct conn *c)
{
	struct bpf_dp *d = dp_of(r);
	struct session *s = c->s;
	uint64_t done;

	if (!s || !session_flushed(s))
		return;
	/* Every conn of the session is flushed: publish each one's progress. */
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *x = session_conn(s, slot);

		if (!x || !x->installed)
			continue;
		done = x->read_total - conn_partial_len(x);
		if (done != x->fwd_published &&
		    bpf_map_update_elem(d->fwd, &x->cookie, &done, BPF_EXIST) == 0)
			x->fwd_published = done;
	}
}

static int attach_verdict(struct bpf_dp *d, struct err *e)
{
	if (bpf_prog_attach(bpf_program__fd(d->skel->progs.mcp_verdict), d->socks,
			    BPF_SK_SKB_VERDICT, 0))
		return err_set(e, errno, "cannot attach the verdict to mcp_socks: %s", strerror(errno));
	return 0;
}

int dp_bpf_took_over(struct mcpd *r, struct err *e)
{
	struct bpf_dp *d = dp_of(r);

	if (!d)
		return 0;
	if (pin_dir_lock(r, true, e))
		pr_warn("%s", e->msg);
	/* The old verdict ran on until now; this build's replaces it, with this config's routes. */
	bpf_apply_config(r);
	return attach_verdict(d, e);
}

/* The kernel counts what each socket received. */
static void bpf_counters(struct mcpd *r, struct session *s, struct session_counters *out)
{
	struct bpf_dp *d = dp_of(r);
	struct mcp_sock_state st;

	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);

		if (c && c->installed && !bpf_map_lookup_elem(d->state, &c->cookie, &st))
			session_counters_add(out, slot, st.frames, st.bytes);
	}
}

static uint64_t bpf_last_active_ms(struct mcpd *r, struct session *s)
{
	struct bpf_dp *d = dp_of(r);
	struct mcp_sock_state st;

	if (!s->client.installed || bpf_map_lookup_elem(d->state, &s->client.cookie, &st))
		return 0;
	return st.last_ns / 1000000;
}

static uint64_t bpf_partial_since_ms(struct mcpd *r, struct session *s)
{
	struct bpf_dp *d = dp_of(r);
	struct conn *c = &s->client;
	struct mcp_sock_state st;

	if (!c->installed || bpf_map_lookup_elem(d->state, &c->cookie, &st) || !st.partial_ns)
		return 0;
	return st.partial_ns / 1000000;
}

/*
 * Bytes the kernel redirected into c that are not on its send queue yet: they wait in the
 * egress worker's queue, which has no bound of its own (measured: a client pushing at a
 * backend that stopped reading ate a gigabyte of kernel memory in three seconds).
 */
static void watch_backlog(struct bpf_dp *d, struct session *s, struct conn *c)
{
	struct mcp_sock_key key = { .session = s->id, .slot = (uint32_t)c->slot };
	uint64_t redir = 0, queued, backlog;
	uint8_t one = 1;

	if (!c->installed || bpf_map_lookup_elem(d->redir, &key, &redir))
		return;
	if (redir == c->redir_seen && !c->full && c->backlog < BACKLOG_LOW)
		return; /* nothing new went that way, and little waits (two syscalls saved) */
	c->redir_seen = redir;
	if (queued_bytes(c->h.fd, &queued))
		return;
	queued -= c->queue_base;
	backlog = redir + c->daemon_written > queued ? redir + c->daemon_written - queued : 0;
	c->backlog = backlog;
	if (!c->full && backlog > BACKLOG_HIGH) {
		if (!bpf_map_update_elem(d->full, &key, &one, BPF_ANY))
			c->full = true;
		pr_debug("session %u slot %d: %llu bytes queued in the kernel; redirects held",
			 s->id, c->slot, (unsigned long long)backlog);
	} else if (c->full && backlog < BACKLOG_LOW) {
		bpf_map_delete_elem(d->full, &key);
		c->full = false;
	}
}

static void bpf_session_tick(struct mcpd *r, struct session *s)
{
	struct bpf_dp *d = dp_of(r);

	watch_backlog(d, s, &s->client);
	for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
		if (s->backends[slot])
			watch_backlog(d, s, s->backends[slot]);
}

/*
 * What the kernel holds for the session (docs/kernel-notes.md, note 21: nothing holds the
 * sender back behind a verdict): each socket's egress backlog as the last tick saw it, and
 * what the verdict passed to mcpd that mcpd has not read, for the sockets mcpd has stopped
 * reading (it reads the others at once).
 */
static uint64_t bpf_kernel_held(struct mcpd *r, struct session *s, struct conn **slowest)
{
	struct bpf_dp *d = dp_of(r);
	uint64_t held = 0, most = 0;

	*slowest = NULL;
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);
		struct mcp_sock_state st;

		if (!c || !c->installed)
			continue;
		held += c->backlog;
		if (c->backlog > most) {
			most = c->backlog;
			*slowest = c;
		}
		if (!(c->events & EPOLLIN) && !bpf_map_lookup_elem(d->state, &c->cookie, &st) &&
		    st.passed > c->read_total)
			held += st.passed - c->read_total;
	}
	return held;
}

static void bpf_destroy(struct mcpd *r)
{
	struct bpf_dp *d = dp_of(r);

	if (!d)
		return;
	/* Pinned maps stay for bpftool and the next mcpd; the verdict leaves with us. */
	bpf_prog_detach2(bpf_program__fd(d->skel->progs.mcp_verdict), d->socks,
			 BPF_SK_SKB_VERDICT);
	mcp_sockmap__destroy(d->skel);
	free(d);
	r->paths[DATAPATH_SOCKMAP] = NULL;
}

int dp_bpf_init(struct mcpd *r, struct err *e)
{
	struct bpf_dp *d;
	int err;

	/* On a takeover the old mcpd holds the directory until it has handed over: take it
	 * then (dp_bpf_took_over). */
	err = r->taking_over ? pin_root_prepare(r->cfg.pin_root, e) : pin_dir_lock(r, false, e);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d) {
		pin_dir_unlock(r);
		return err_set(e, ENOMEM, "out of memory");
	}
	d->skel = open_and_load(r->cfg.pin_root, r->taking_over, e);
	if (!d->skel) {
		free(d);
		pin_dir_unlock(r);
		return -e->code;
	}
	d->socks = bpf_map__fd(d->skel->maps.mcp_socks);
	d->state = bpf_map__fd(d->skel->maps.mcp_sock_state);
	d->fwd = bpf_map__fd(d->skel->maps.mcp_sock_fwd);
	d->redir = bpf_map__fd(d->skel->maps.mcp_sock_redir);
	d->routes = bpf_map__fd(d->skel->maps.mcp_routes);
	d->full = bpf_map__fd(d->skel->maps.mcp_sock_full);
	/* On a takeover nothing changes in the kernel until the old mcpd has handed over: if
	 * the hand-over breaks off, it carries on exactly as it was. */
	err = r->taking_over ? 0 : attach_verdict(d, e);
	if (err) {
		mcp_sockmap__destroy(d->skel);
		free(d);
		pin_dir_unlock(r);
		return err;
	}
	/* Whatever an earlier mcpd left: its sockets are gone, so is their state. Not on a
	 * takeover: those sockets are alive and coming over. */
	if (!r->taking_over) {
		pin_map_clear(d->state);
		pin_map_clear(d->fwd);
		pin_map_clear(d->redir);
		pin_map_clear(d->socks);
		pin_map_clear(d->full);
	}

	d->dp = (struct datapath){
		.name = "bpf",
		.priv = d,
		.apply_config = bpf_apply_config,
		.destroy = bpf_destroy,
		.install = bpf_install,
		.uninstall = bpf_uninstall,
		.linger = bpf_uninstall, /* the client's socket leaves before mcpd shuts it down */
		.forget = bpf_forget,
		.can_write = bpf_can_write,
		.on_read = bpf_on_read,
		.publish = bpf_publish,
		.last_active_ms = bpf_last_active_ms,
		.partial_since_ms = bpf_partial_since_ms,
		.session_tick = bpf_session_tick,
		.kernel_held = bpf_kernel_held,
		.counters = bpf_counters,
	};
	r->paths[DATAPATH_SOCKMAP] = &d->dp;
	if (!r->taking_over)
		bpf_apply_config(r);
	return 0;
}
