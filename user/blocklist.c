// SPDX-License-Identifier: GPL-2.0-only
/*
 * The blocklist: owns the blocked prefixes with their TTLs and hits, mirrored into the XDP
 * guard's LPM maps when it runs. Interface: blocklist.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "blocklist.h"
#include "log.h"
#include "mcp/xdp.h"

static bool same(const struct mcp_prefix *a, const struct mcp_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The guard's LPM key for a prefix, in buf; returns the map to use, -1 without one. */
static int kernel_key(const struct blocklist *b, const struct mcp_prefix *p, void *buf)
{
	if (p->family == AF_INET && b->v4_fd >= 0) {
		struct mcp_lpm_v4 *k = buf;

		k->prefixlen = p->len;
		memcpy(k->addr, p->addr, 4);
		return b->v4_fd;
	}
	if (p->family == AF_INET6 && b->v6_fd >= 0) {
		struct mcp_lpm_v6 *k = buf;

		k->prefixlen = p->len;
		memcpy(k->addr, p->addr, 16);
		return b->v6_fd;
	}
	return -1;
}

static int mirror(const struct blocklist *b, const struct block_entry *e, uint64_t now_ms)
{
	struct mcp_block v = { 0 };
	uint8_t key[sizeof(struct mcp_lpm_v6)];
	int fd = kernel_key(b, &e->p, key);

	if (fd < 0)
		return 0;
	if (e->expires_ms)
		v.expires_ns = mono_ns() + (e->expires_ms > now_ms ? e->expires_ms - now_ms : 0) * 1000000ull;
	return bpf_map_update_elem(fd, key, &v, BPF_ANY) ? -errno : 0;
}

static void unmirror(const struct blocklist *b, const struct mcp_prefix *p)
{
	uint8_t key[sizeof(struct mcp_lpm_v6)];
	int fd = kernel_key(b, p, key);

	if (fd >= 0)
		bpf_map_delete_elem(fd, key);
}

struct blocklist *blocklist_new(void)
{
	struct blocklist *b = calloc(1, sizeof(*b));

	if (b)
		b->v4_fd = b->v6_fd = -1;
	return b;
}

void blocklist_free(struct blocklist *b)
{
	free(b);
}

void blocklist_collect(const struct blocklist *b, metric_fn fn, void *ctx)
{
	static const struct metric m_blocked = { "blocklist_entries", "gauge",
						 "Prefixes in the blocklist." };

	fn(ctx, &m_blocked, NULL, 0, (uint64_t)b->n);
}

struct block_entry *blocklist_find(struct blocklist *b, const struct mcp_prefix *p)
{
	for (int i = 0; i < b->n; i++)
		if (same(&b->e[i].p, p))
			return &b->e[i];
	return NULL;
}

int blocklist_add(struct blocklist *b, const struct mcp_prefix *p, uint64_t ttl_ms,
		  const char *reason, uint64_t now_ms)
{
	struct block_entry *e = blocklist_find(b, p);

	if (!e) {
		if (b->n == MCP_BLOCK_MAX)
			return -ENOSPC;
		e = &b->e[b->n++];
		memset(e, 0, sizeof(*e));
		e->p = *p;
	}
	e->expires_ms = ttl_ms ? now_ms + ttl_ms : 0;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	return mirror(b, e, now_ms);
}

int blocklist_remove(struct blocklist *b, const struct mcp_prefix *p)
{
	for (int i = 0; i < b->n; i++) {
		if (!same(&b->e[i].p, p))
			continue;
		unmirror(b, p);
		b->e[i] = b->e[--b->n];
		return 0;
	}
	return -ENOENT;
}

bool blocklist_match(struct blocklist *b, const struct sockaddr *sa, uint64_t now_ms)
{
	for (int i = 0; i < b->n; i++) {
		struct block_entry *e = &b->e[i];

		if ((!e->expires_ms || e->expires_ms > now_ms) && mcp_prefix_match(&e->p, sa)) {
			e->hits++;
			return true;
		}
	}
	return false;
}

void blocklist_expire(struct blocklist *b, uint64_t now_ms)
{
	for (int i = 0; i < b->n;) {
		if (b->e[i].expires_ms && b->e[i].expires_ms <= now_ms) {
			unmirror(b, &b->e[i].p);
			b->e[i] = b->e[--b->n];
		} else {
			i++;
		}
	}
}

uint64_t blocklist_kernel_hits(const struct blocklist *b, const struct block_entry *e)
{
	uint8_t key[sizeof(struct mcp_lpm_v6)];
	struct mcp_block v;
	int fd = kernel_key(b, &e->p, key);

	if (fd < 0 || bpf_map_lookup_elem(fd, key, &v))
		return 0;
	return v.hits;
}

void blocklist_attach_maps(struct blocklist *b, int v4_fd, int v6_fd, uint64_t now_ms)
{
	b->v4_fd = v4_fd;
	b->v6_fd = v6_fd;
	for (int i = 0; i < b->n; i++)
		mirror(b, &b->e[i], now_ms);
}

void blocklist_save_free(Mcp__Ctl__Takeover *t)
{
	for (size_t i = 0; i < t->n_blocks; i++) {
		free(t->blocks[i]->prefix);
		free(t->blocks[i]);
	}
	free(t->blocks);
	t->blocks = NULL;
	t->n_blocks = 0;
}

int blocklist_save(const struct blocklist *b, uint64_t now_ms, Mcp__Ctl__Takeover *t)
{
	t->n_blocks = 0;
	t->blocks = calloc(b->n ? (size_t)b->n : 1, sizeof(*t->blocks));
	if (!t->blocks)
		return -ENOMEM;
	for (int i = 0; i < b->n; i++) {
		const struct block_entry *e = &b->e[i];
		Mcp__Ctl__TakeoverBlock *m;
		char p[64];

		if (e->expires_ms && e->expires_ms <= now_ms)
			continue; /* expired, not yet swept */
		mcp_prefix_format(&e->p, p, sizeof(p));
		m = calloc(1, sizeof(*m));
		if (m)
			mcp__ctl__takeover_block__init(m);
		if (!m || !(m->prefix = strdup(p))) {
			free(m);
			blocklist_save_free(t);
			return -ENOMEM;
		}
		m->ttl_left_ms = e->expires_ms ? e->expires_ms - now_ms : 0;
		m->hits = e->hits;
		m->reason = (char *)e->reason;
		t->blocks[t->n_blocks++] = m;
	}
	return 0;
}

int blocklist_restore(struct blocklist *b, const Mcp__Ctl__Takeover *t, uint64_t now_ms)
{
	int lost = 0;

	for (size_t i = 0; i < t->n_blocks; i++) {
		const Mcp__Ctl__TakeoverBlock *m = t->blocks[i];
		struct mcp_prefix p;
		struct err e = { 0 };

		if (mcp_prefix_parse(m->prefix, &p, &e) ||
		    blocklist_add(b, &p, m->ttl_left_ms, m->reason, now_ms)) {
			pr_warn("takeover: blocklist entry '%s' not restored%s%s", m->prefix,
				e.code ? ": " : "", e.msg);
			lost++;
			continue;
		}
		blocklist_find(b, &p)->hits = m->hits;
	}
	return lost;
}
