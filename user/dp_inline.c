// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inline path in mcpd: owns the sockops and sk_msg programs (bpf/mcp_inline.bpf.c), their
 * maps and their attachments, and each inline session's entries.
 *
 * A session goes inline when, at its HELLO, the sockets at the other end of all its
 * connections - the client's, and each backend's accepted one - are in mcp_inline_socks: they
 * belong to processes on this host in the configured cgroup. Its entries are written before
 * HELLO_ACK is queued, so no data byte takes another path first (docs/kernel-notes.md, note
 * 19). mcpd keeps its own ends open; they carry nothing unless the session falls back, which
 * the kernel decides (and mcpd notices by reading data on them: session_io.c). Its hooks are
 * the DATAPATH_INLINE slot's (datapath.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "pin_root.h"
#include "kstats.h"
#include "log.h"
#include "pin_dir.h"
#include "mcp_inline.skel.h"
#include "mcpd.h"
#include "tuple.h"
#include "err.h"

struct inline_path {
	struct datapath dp; /* mcpd's DATAPATH_INLINE slot points here */
	struct mcp_inline *skel;
	struct bpf_link *sockops; /* goes with mcpd: a crash or an exit detaches it */
	int cgroup_fd;
	int socks, state, peers, flight, ports, routes, mine;
	char cgroup[PATH_MAX];
	char description[PATH_MAX + 32];
};

static struct inline_path *of(struct mcpd *r)
{
	return r->paths[DATAPATH_INLINE] ? r->paths[DATAPATH_INLINE]->priv : NULL;
}

static uint32_t port_of(const struct mcp_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void inline_describe(struct mcpd *r, char *out, size_t len)
{
	snprintf(out, len, "%s", of(r)->description);
}

static void inline_apply_config(struct mcpd *r)
{
	struct inline_path *p = of(r);
	uint8_t none = 0;

	if (!p)
		return;
	for (uint32_t port = 0; port < 65536; port++)
		bpf_map_update_elem(p->ports, &port, &none, BPF_ANY);
	for (int i = 0; i < r->cfg.n_listen; i++) {
		uint32_t port = port_of(&r->cfg.listen[i]);
		uint8_t flag = MCP_INLINE_LISTENER;

		bpf_map_update_elem(p->ports, &port, &flag, BPF_ANY);
	}
	for (int pool = 0; pool < r->cfg.n_pools; pool++)
		for (int b = 0; b < r->cfg.pools[pool].n_backends; b++) {
			uint32_t port = port_of(&r->cfg.pools[pool].backends[b]);
			uint8_t flag = 0;

			bpf_map_lookup_elem(p->ports, &port, &flag);
			flag |= MCP_INLINE_BACKEND;
			bpf_map_update_elem(p->ports, &port, &flag, BPF_ANY);
		}
	for (uint32_t op = 0; op < 256; op++) {
		uint32_t slot = r->cfg.routes[op];

		bpf_map_update_elem(p->routes, &op, &slot, BPF_ANY);
	}
}

/* Whether this kernel counts what waits unread in an inline socket (sk_psock.msg_tot_len, read
 * by bpf/lib/unread.h): without it, inline_max_unread cannot be enforced. */
static bool kernel_counts_unread(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_member *m;
	bool found = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "sk_psock", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	m = t ? btf_members(t) : NULL;
	for (int i = 0; t && i < btf_vlen(t) && !found; i++)
		found = !strcmp(btf__name_by_offset(btf, m[i].name_off), "msg_tot_len");
	btf__free(btf);
	return found;
}

static void inline_destroy(struct mcpd *r)
{
	struct inline_path *p = of(r);

	if (!p)
		return;
	bpf_link__destroy(p->sockops);
	close(p->cgroup_fd);
	mcp_inline__destroy(p->skel);
	free(p);
	r->paths[DATAPATH_INLINE] = NULL;
}

static void inline_own_connection(struct mcpd *r, int fd)
{
	struct inline_path *p = of(r);
	socklen_t len = sizeof(uint64_t);
	uint64_t cookie;
	uint8_t yes = 1;

	if (p && !getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len))
		bpf_map_update_elem(p->mine, &cookie, &yes, BPF_ANY);
}

static void inline_uninstall(struct mcpd *r, struct session *s)
{
	struct inline_path *p = of(r);

	if (!p || !s->tuples)
		return;
	/* The client's state first: nothing new is redirected once it is gone. */
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct mcp_sock_key k = { .session = s->id, .slot = (uint32_t)slot };

		if (!session_conn(s, slot))
			continue;
		bpf_map_delete_elem(p->state, &s->tuples[slot]);
		bpf_map_delete_elem(p->peers, &k);
	}
	bpf_map_delete_elem(p->flight, &s->id);
	free(s->tuples);
	s->tuples = NULL;
	s->path = SESSION_PATH_MCPD;
}

/* A session that cannot go inline: those of its sockets in the map leave it, so their writes
 * no longer run the program for nothing. */
static void leave_map(struct inline_path *p, const struct mcp_tuple *t, const bool *found)
{
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++)
		if (found[slot])
			bpf_map_delete_elem(p->socks, &t[slot]);
}

static int inline_install(struct mcpd *r, struct session *s)
{
	struct inline_path *p = of(r);
	struct mcp_tuple t[MCP_MAX_POOLS + 1];
	struct mcp_inline_flight fl = { .cap = r->cfg.inline_max_flight,
					.max_unread = r->cfg.inline_max_unread };
	bool found[MCP_MAX_POOLS + 1], all = true;
	uint64_t cookie;
	int err;

	/* Every socket at the other end of the session's connections must be in the map. */
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct conn *c = session_conn(s, slot);

		found[slot] = c && !c->closed && !mcp_tuple_of_peer(c->h.fd, &t[slot]) &&
			      !bpf_map_lookup_elem(p->socks, &t[slot], &cookie);
		all &= !c || found[slot];
	}
	if (!all) {
		leave_map(p, t, found);
		return -ENOENT;
	}
	/* Kept: the entries go by these keys even once a socket is gone. */
	s->tuples = malloc(sizeof(t));
	if (!s->tuples)
		return -ENOMEM;
	memcpy(s->tuples, t, sizeof(t));
	/* Where each slot is, and the flight count, before any state makes the verdict act. */
	if (bpf_map_update_elem(p->flight, &s->id, &fl, BPF_ANY))
		goto undo;
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++) {
		struct mcp_sock_key k = { .session = s->id, .slot = (uint32_t)slot };

		if (session_conn(s, slot) && bpf_map_update_elem(p->peers, &k, &t[slot], BPF_ANY))
			goto undo;
	}
	/* The backends' states first: a response can only follow a request, which can only
	 * come once the client's state is there. */
	for (int slot = MCP_MAX_POOLS; slot >= 0; slot--) {
		struct conn *c = session_conn(s, slot);
		struct mcp_sock_state st = { .key = { .session = s->id, .slot = (uint32_t)slot },
					     .cur_dest = MCP_DEST_NONE,
					     .flags = s->restricted ? MCP_SF_PERMS : 0 };

		if (!c)
			continue;
		/* The client's granted limit; mcpd's own towards backends. */
		mcp_framer_init(&st.fr, s->version, c->peer, conn_max_frame(c));
		MCP_SOCK_MODE(&st) = MCP_MODE_FAST;
		if (bpf_map_update_elem(p->state, &t[slot], &st, BPF_ANY))
			goto undo;
	}
	s->path = SESSION_PATH_INLINE;
	return 0;
undo:
	err = -errno;
	r->counters->limit_hits[LIMIT_MAP_FULL]++;
	s->path = SESSION_PATH_INLINE; /* for the undo */
	inline_uninstall(r, s);
	return err;
}

static int state_of(struct mcpd *r, struct session *s, int slot, struct mcp_sock_state *st)
{
	return bpf_map_lookup_elem(of(r)->state, &s->tuples[slot], st);
}

static uint64_t inline_last_active_ms(struct mcpd *r, struct session *s)
{
	uint64_t last = 0;
	struct mcp_sock_state st;

	if (!of(r) || s->path != SESSION_PATH_INLINE)
		return 0;
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++)
		if (session_conn(s, slot) && !state_of(r, s, slot, &st) && st.last_ns > last)
			last = st.last_ns;
	return last / 1000000; /* bpf_ktime_get_ns() is CLOCK_MONOTONIC, as mcp_now_ms() */
}

static uint64_t inline_partial_since_ms(struct mcpd *r, struct session *s)
{
	struct mcp_sock_state st;

	if (!of(r) || s->path != SESSION_PATH_INLINE || state_of(r, s, MCP_SLOT_CLIENT, &st))
		return 0;
	return st.partial_ns / 1000000;
}

static void inline_counters(struct mcpd *r, struct session *s, struct session_counters *out)
{
	struct mcp_sock_state st;

	if (!of(r) || !s->tuples)
		return;
	for (int slot = 0; slot <= MCP_MAX_POOLS; slot++)
		if (session_conn(s, slot) && !state_of(r, s, slot, &st))
			session_counters_add(out, slot, st.frames, st.bytes);
}

static const struct metric m_inline = { "inline_bytes_total", "counter",
					 "Bytes the inline verdict handled, by what it did." },
			   m_inline_runs = { "inline_runs_total", "counter",
					     "Runs of frames (or messages) the inline verdict handled, "
					     "by what it did; fall_* counts sessions handed to mcpd." };

static void inline_collect(struct mcpd *r, metric_fn fn, void *ctx)
{
	struct mcp_counter sum[MCP_INLINE__COUNT];

	if (!of(r) || mcp_kstats_sum(r->cfg.pin_root, MCP_MAP_INLINE_STATS, MCP_INLINE__COUNT, sum))
		return;
	for (int i = 0; i < MCP_INLINE__COUNT; i++) {
		struct label l = { "reason", mcp_inline_reason_name(i) };

		fn(ctx, &m_inline_runs, &l, 1, sum[i].count);
	}
	for (int i = 0; i < MCP_INLINE__COUNT; i++) {
		struct label l = { "reason", mcp_inline_reason_name(i) };

		fn(ctx, &m_inline, &l, 1, sum[i].bytes);
	}
}

int inline_init(struct mcpd *r, struct err *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = r->cfg.pin_root);
	struct inline_path *p = calloc(1, sizeof(*p));
	bool retry;
	int err;

	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	p->cgroup_fd = -1;
	/* One mcpd per pin root (pin_dir.h). */
	err = r->taking_over ? 0 : pin_dir_lock(r, false, e);
	if (err) {
		free(p);
		return err;
	}
	if (r->cfg.inline_cgroup[0])
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", r->cfg.inline_cgroup);
	else if (mcp_cgroup2_root(p->cgroup, sizeof(p->cgroup))) {
		err_set(e, ENOENT, "no cgroup v2 mount in /proc/mounts");
		goto fail;
	}
	p->cgroup_fd = open(p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cgroup_fd < 0) {
		err_set(e, errno, "cannot open the cgroup %s: %s", p->cgroup, strerror(errno));
		goto fail;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		p->skel = mcp_inline__open_opts(&opts);
		err = p->skel ? mcp_inline__load(p->skel) : -errno;
		if (!err)
			break;
		if (!p->skel) {
			err_set(e, -err, "cannot open the inline programs: %s", strerror(-err));
			goto fail;
		}
		retry = pin_retry_fresh(p->skel->obj, "inline", err, r->taking_over, attempt, e);
		mcp_inline__destroy(p->skel);
		p->skel = NULL;
		if (!retry)
			goto fail;
		pr_warn("%s; removed the pinned maps in %s, retrying", e->msg, r->cfg.pin_root);
	}
	p->socks = bpf_map__fd(p->skel->maps.mcp_inline_socks);
	p->state = bpf_map__fd(p->skel->maps.mcp_inline_state);
	p->peers = bpf_map__fd(p->skel->maps.mcp_inline_peers);
	p->flight = bpf_map__fd(p->skel->maps.mcp_inline_flight);
	p->ports = bpf_map__fd(p->skel->maps.mcp_inline_ports);
	p->routes = bpf_map__fd(p->skel->maps.mcp_routes);
	p->mine = bpf_map__fd(p->skel->maps.mcp_inline_mine);
	if (bpf_prog_attach(bpf_program__fd(p->skel->progs.mcp_inline_verdict), p->socks,
			    BPF_SK_MSG_VERDICT, 0)) {
		err_set(e, errno, "cannot attach the sk_msg verdict: %s", strerror(errno));
		goto fail;
	}
	/* A link, not a plain attach: it lives as long as mcpd holds it, so no mcpd leaves a
	 * program on the cgroup behind (a plain attach outlives the process). Other programs
	 * share the cgroup beside it; during an upgrade, the old and the new mcpd's both. */
	p->sockops = bpf_program__attach_cgroup(p->skel->progs.mcp_sockops, p->cgroup_fd);
	if (!p->sockops) {
		err_set(e, errno, "cannot attach sockops to %s: %s", p->cgroup, strerror(errno));
		goto fail;
	}
	snprintf(p->description, sizeof(p->description), "cgroup %s", p->cgroup);
	if (!kernel_counts_unread())
		pr_warn("this kernel does not count what an inline socket has not read "
			"(sk_psock.msg_tot_len): inline_max_unread is not enforced; keep clients you "
			"do not trust out of %s", p->cgroup);
	/* What an earlier mcpd left: its sessions are gone, so are their entries. Not on a
	 * takeover: those sessions are alive and coming over. */
	if (!r->taking_over) {
		pin_map_clear(p->state);
		pin_map_clear(p->peers);
		pin_map_clear(p->flight);
	}
	p->dp = (struct datapath){
		.name = "inline",
		.priv = p,
		.apply_config = inline_apply_config,
		.collect = inline_collect,
		.describe = inline_describe,
		.destroy = inline_destroy,
		.own_connection = inline_own_connection,
		.install = inline_install,
		.uninstall = inline_uninstall,
		.last_active_ms = inline_last_active_ms,
		.partial_since_ms = inline_partial_since_ms,
		.counters = inline_counters,
	};
	r->paths[DATAPATH_INLINE] = &p->dp;
	inline_apply_config(r);
	return 0;
fail:
	if (p->skel)
		mcp_inline__destroy(p->skel);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	free(p);
	return -e->code;
}
