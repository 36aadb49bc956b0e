// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP guard in mcpd: loads bpf/mcp_xdp.bpf.c through libxdp (so it shares each interface
 * with other XDP programs through the dispatcher), attaches it to the configured interfaces
 * in the configured mode, says which mode each really got, fills the ports and rates, and
 * removes expired blocklist entries. A failure to attach is an error that stops mcpd. Its
 * hooks are the DATAPATH_XDP slot's (datapath.h); it carries no sessions.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "pin_dir.h"
#include "mcpd.h"
#include "mcp_xdp.skel.h"
#include "err.h"

struct xdp_guard {
	struct datapath dp; /* mcpd's DATAPATH_XDP slot points here */
	struct mcp_xdp *skel;
	struct xdp_program *prog;
	int ifindex[MCP_MAX_XDP_IFACES];
	enum xdp_attach_mode mode[MCP_MAX_XDP_IFACES];
	int n;
};

static struct xdp_guard *of(struct mcpd *r)
{
	return r->paths[DATAPATH_XDP] ? r->paths[DATAPATH_XDP]->priv : NULL;
}

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "none";
	}
}

/* A guard an earlier mcpd attached (one that was killed, or the one this mcpd took over
 * from): take it off before attaching ours. Without the dispatcher (docs/kernel-notes.md, note 9: freplace is
 * refused here) libxdp sees it as a legacy program, the interface's only one. */
static void detach_earlier(int ifindex, const char *ifname)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	int removed = 0;

	if (!mp || libxdp_get_error(mp))
		return;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), "mcp_xdp_guard"))
			removed = xdp_multiprog__detach(mp) == 0;
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (!strcmp(xdp_program__name(p), "mcp_xdp_guard"))
				removed |= xdp_program__detach(p, ifindex,
							       xdp_multiprog__attach_mode(mp), 0) == 0;
	}
	if (removed)
		pr_info("%s: took off the XDP guard an earlier mcpd attached", ifname);
	xdp_multiprog__close(mp);
}

static int attach_one(struct xdp_guard *g, const char *ifname, int want, struct err *e)
{
	int ifindex = (int)if_nametoindex(ifname), err = 0;
	enum xdp_attach_mode tries[2];
	int n_tries = 0;

	if (!ifindex)
		return err_set(e, ENODEV, "cannot attach XDP to %s: no such interface", ifname);
	detach_earlier(ifindex, ifname);
	if (want == MCP_XDP_MODE_NATIVE || want == MCP_XDP_MODE_AUTO)
		tries[n_tries++] = XDP_MODE_NATIVE;
	if (want == MCP_XDP_MODE_SKB || want == MCP_XDP_MODE_AUTO)
		tries[n_tries++] = XDP_MODE_SKB;
	for (int i = 0; i < n_tries; i++) {
		err = xdp_program__attach(g->prog, ifindex, tries[i], 0);
		if (!err) {
			g->ifindex[g->n] = ifindex;
			g->mode[g->n] = xdp_program__is_attached(g->prog, ifindex);
			pr_info("XDP guard attached to %s in %s mode%s", ifname, mode_name(g->mode[g->n]),
				i ? " (native was refused)" : "");
			g->n++;
			return 0;
		}
		pr_info("cannot attach XDP to %s in %s mode: %s (%d)", ifname, mode_name(tries[i]),
			strerror(-err), err);
	}
	return err_set(e, -err, "cannot attach XDP to %s in %s mode: %s (%d)", ifname,
		       mcp_xdp_mode_name(want), strerror(-err), err);
}

static void guard_apply_config(struct mcpd *r)
{
	struct xdp_guard *g = of(r);
	struct mcp_xdp_cfg c = { .rate_pps = r->cfg.rate_pps, .burst = r->cfg.rate_burst,
				 .newsrc_pps = r->cfg.newsrc_pps };
	int ports = bpf_map__fd(g->skel->maps.mcp_xdp_ports);
	uint32_t zero = 0;
	uint8_t off = 0, both = MCP_PORT_TCP | MCP_PORT_UDP |
				(r->cfg.udp_verify ? MCP_PORT_PING_TO_MCPD : 0);

	for (uint32_t p = 0; p < 65536; p++)
		bpf_map_update_elem(ports, &p, &off, BPF_ANY);
	for (int i = 0; i < r->cfg.n_listen; i++) {
		const struct sockaddr_in *a = (const void *)&r->cfg.listen[i].ss;
		uint32_t port = ntohs(a->sin_port); /* same offset for IPv6 */

		bpf_map_update_elem(ports, &port, &both, BPF_ANY);
	}
	bpf_map_update_elem(bpf_map__fd(g->skel->maps.mcp_xdp_cfg), &zero, &c, BPF_ANY);
}

static void guard_describe(struct mcpd *r, char *out, size_t len)
{
	struct xdp_guard *g = of(r);
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; g && i < g->n && used < len; i++) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname((unsigned int)g->ifindex[i], name);
		used += (size_t)snprintf(out + used, len - used, "%s%s %s", i ? ", " : "", name,
					 mode_name(g->mode[i]));
	}
}

/* Remove blocklist entries whose time is up (the guard ignores them already). */
static void expire(int fd, size_t key_size, uint64_t now_ns)
{
	uint8_t key[32], next[32];
	void *prev = NULL;
	struct mcp_block v;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (!bpf_map_lookup_elem(fd, key, &v) && v.expires_ns && v.expires_ns < now_ns) {
			bpf_map_delete_elem(fd, key);
			prev = NULL; /* start over: the walk lost its place */
		}
	}
}

static void guard_tick(struct mcpd *r, uint64_t now_ms)
{
	struct xdp_guard *g = of(r);
	struct timespec ts;

	if (!g || now_ms % 1000 >= 100)
		return; /* about once a second */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	expire(bpf_map__fd(g->skel->maps.mcp_block_v4), sizeof(struct mcp_lpm_v4), now_ns);
	expire(bpf_map__fd(g->skel->maps.mcp_block_v6), sizeof(struct mcp_lpm_v6), now_ns);
}

static void guard_free(struct mcpd *r, struct xdp_guard *g)
{
	for (int i = 0; i < g->n; i++) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(g->prog));
		__u32 flags = g->mode[i] == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;

		if (xdp_program__detach(g->prog, g->ifindex[i], g->mode[i], 0) == 0)
			continue;
		/* libxdp looks programs up by id, which takes CAP_SYS_ADMIN, dropped by now.
		 * Attached alone (no dispatcher), the guard comes off by its fd with netlink,
		 * and only if it is still the one attached. */
		flags |= XDP_FLAGS_REPLACE;
		if (bpf_xdp_detach(g->ifindex[i], flags, &o))
			pr_warn("cannot detach the XDP guard from ifindex %d: %s", g->ifindex[i],
				strerror(errno));
	}
	if (g->prog)
		xdp_program__close(g->prog);
	if (g->skel)
		mcp_xdp__destroy(g->skel);
	free(g);
	blocklist_attach_maps(r->blocks, -1, -1, mcp_now_ms());
}

static void guard_destroy(struct mcpd *r)
{
	guard_free(r, of(r));
	r->paths[DATAPATH_XDP] = NULL;
}

int xdp_guard_check(struct mcpd *r, struct err *e)
{
	for (int i = 0; i < r->cfg.n_xdp_ifaces; i++)
		if (!if_nametoindex(r->cfg.xdp_ifaces[i]))
			return err_set(e, ENODEV, "cannot attach XDP to %s: no such interface",
				       r->cfg.xdp_ifaces[i]);
	return 0;
}

int xdp_guard_init(struct mcpd *r, struct err *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = r->cfg.pin_root);
	struct xdp_guard *g;
	int err;

	if (!r->cfg.n_xdp_ifaces)
		return 0;
	/* After a takeover the old mcpd may still be on its way out: wait for it. */
	err = pin_dir_lock(r, r->taking_over, e);
	if (err)
		return err;
	g = calloc(1, sizeof(*g));
	if (!g)
		return err_set(e, ENOMEM, "out of memory");
	g->skel = mcp_xdp__open_opts(&opts);
	if (!g->skel) {
		err_set(e, errno, "cannot open the XDP guard: %s", strerror(errno));
		goto fail;
	}
	g->prog = xdp_program__from_bpf_obj(g->skel->obj, "xdp");
	err = (int)libxdp_get_error(g->prog);
	if (err) {
		err_set(e, -err, "libxdp cannot take the XDP guard: %s", strerror(-err));
		g->prog = NULL;
		goto fail;
	}
	for (int i = 0; i < r->cfg.n_xdp_ifaces; i++)
		if (attach_one(g, r->cfg.xdp_ifaces[i], r->cfg.xdp_mode, e))
			goto fail;
	g->dp = (struct datapath){
		.name = "xdp",
		.priv = g,
		.apply_config = guard_apply_config,
		.tick = guard_tick,
		.describe = guard_describe,
		.destroy = guard_destroy,
	};
	r->paths[DATAPATH_XDP] = &g->dp;
	guard_apply_config(r);
	blocklist_attach_maps(r->blocks, bpf_map__fd(g->skel->maps.mcp_block_v4),
			      bpf_map__fd(g->skel->maps.mcp_block_v6), mcp_now_ms());
	return 0;
fail:
	guard_free(r, g);
	return -e->code;
}
