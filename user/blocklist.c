// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "blocklist.h"
#include "mcp/xdp.h"

int mcp_prefix_parse(const char *text, struct mcp_prefix *out)
{
	char addr[64], *slash, *end;
	long len;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(addr))
		return -1;
	strcpy(addr, text);
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		len = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		len = 128;
	} else {
		return -1;
	}
	if (slash) {
		long max = len;

		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || slash[1] == '\0' || len < 0 || len > max)
			return -1;
	}
	out->len = (uint32_t)len;
	/* Clear the host bits, so 10.1.2.3/16 and 10.1.0.0/16 are one prefix. */
	for (uint32_t bit = out->len; bit < (out->family == AF_INET ? 32u : 128u); bit++)
		out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

void mcp_prefix_format(const struct mcp_prefix *p, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->family, p->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, p->len);
}

bool mcp_prefix_match(const struct mcp_prefix *p, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint32_t full, rest;

	if (sa->sa_family == AF_INET && p->family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && p->family == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return false;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(a, p->addr, full))
		return false;
	return !rest || ((a[full] ^ p->addr[full]) & (uint8_t)(0xFF00u >> rest)) == 0;
}

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

void blocklist_init(struct blocklist *b)
{
	memset(b, 0, sizeof(*b));
	b->v4_fd = b->v6_fd = -1;
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
