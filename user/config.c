// SPDX-License-Identifier: GPL-2.0-only
/*
 * The config file (inih): owns parsing and checking every key into struct mcp_config; a
 * bad file is refused with the line and the reason. Interface: config.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>
#include "config.h"
#include "mcp/bucket.h"
#include "err.h"

struct route_line {
	int lo, hi; /* opcode range; lo = -1 for "default" */
	char pool[MCP_POOL_NAME_MAX];
	int line;
};

struct parse {
	struct mcp_config *cfg;
	struct err *e;
	FILE *f;
	int line;
	int failed;
	int listen_given;
	struct route_line routes[512];
	int n_routes;
	/* [client NAME] pools, checked once every pool is known. */
	struct {
		int client;
		char names[128];
		int line;
	} client_pools[MCP_MAX_CLIENTS];
	int n_client_pools;
};

static int fail(struct parse *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, int line, const char *fmt, ...)
{
	char reason[384];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	err_set(p->e, EINVAL, "%s:%d: %s", p->cfg->path, line, reason);
	p->failed = 1;
	return 0;
}

void mcp_config_defaults(struct mcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	mcp_parse_addr(MCP_DEFAULT_LISTEN, &cfg->listen[0]);
	cfg->n_listen = 1;
	cfg->datapath = MCP_DATAPATH_AUTO;
	/* Remote sessions on this machine kind are faster through mcpd than through the sk_skb
	 * verdict (docs/benchmarks.md): the user path is the default for them. */
	cfg->remote_datapath = MCP_DATAPATH_USER;
	cfg->inline_max_flight = 256;
	/* A pipelined client's answers (256 in flight of 16 KiB each) fit; one that stopped
	 * reading goes to mcpd well before its socket holds more than a few of its own buffers. */
	cfg->inline_max_unread = 4u << 20;
	/* The kernel path's queues for one session whose peer does not read (note 21): a few
	 * socket buffers' worth, then the session ends. */
	cfg->kernel_max_held = 32u << 20;
	cfg->max_frame = MCP_MAX_FRAME_DEFAULT;
	cfg->heartbeat_ms = 5000;
	cfg->idle_timeout_ms = 15000;
	cfg->max_sessions = 65536;
	cfg->connect_timeout_ms = 2000;
	cfg->backend_down_ms = 2000;
	cfg->partial_timeout_ms = 10000;
	cfg->stall_timeout_ms = 5000;
	cfg->handshake_timeout_ms = 5000;
	cfg->metrics_per_source = 8;
	cfg->udp_relays = 1024;
	cfg->udp_relay_idle_ms = 5000;
	cfg->max_queued_bytes = 256ull << 20;
	cfg->metrics_timeout_s = 3;
	/* Room for a reconnect storm (thousands of clients at once, each a moment from its HELLO),
	 * none for a slow-HELLO flood: the oldest goes, and handshake_timeout_ms ends the rest.
	 * Never more than half of max_sessions (mcp_config_load). */
	cfg->max_unnegotiated = 16384;
	cfg->rate_pps = 0;
	cfg->rate_burst = 100;
	cfg->newsrc_pps = 10000;
	strcpy(cfg->control, MCP_DEFAULT_CONTROL);
	strcpy(cfg->pin_root, MCP_PIN_DIR);
	cfg->auto_block = false;
	cfg->tcp_nodelay = true;
	cfg->auto_block_ttl_s = 300;
	cfg->anomaly_sigma = 6;
	cfg->anomaly_bad_frames = 20;
	cfg->anomaly_new_sessions = 100;
	cfg->anomaly_auth_failures = 10;
	cfg->auth = MCP_AUTH_MODE_OFF;
}

const char *mcp_auth_mode_name(int mode)
{
	return mode == MCP_AUTH_MODE_REQUIRED ? "required" :
	       mode == MCP_AUTH_MODE_OPTIONAL ? "optional" : "off";
}

/* "GET" or "0x10-0x1f": one request opcode, or a range of them. 0, or -1. */
static int opcode_range(const char *text, int *lo, int *hi)
{
	char copy[32], *dash;

	if (!*text || strlen(text) >= sizeof(copy))
		return -1;
	strcpy(copy, text);
	dash = strchr(copy + 1, '-');
	if (dash)
		*dash = '\0';
	*lo = mcp_parse_request_opcode(copy);
	*hi = dash ? mcp_parse_request_opcode(dash + 1) : *lo;
	return *lo < 0 || *hi < 0 || *hi < *lo ? -1 : 0;
}

int mcp_parse_opcode_set(const char *text, uint64_t set[4], struct err *e)
{
	char copy[512], *save = NULL;

	memset(set, 0, 4 * sizeof(set[0]));
	if (strlen(text) >= sizeof(copy))
		return err_set(e, EINVAL, "list too long");
	strcpy(copy, text);
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		int lo, hi;

		if (opcode_range(t, &lo, &hi))
			return err_set(e, EINVAL, "'%s' is not a request opcode (GET, SET, SYNC, DEL, "
				       "0x01..0x6f) or a range of them", t);
		for (int op = lo; op <= hi; op++)
			set[op >> 6] |= 1ull << (op & 63);
	}
	return 0;
}

const struct mcp_client_cfg *mcp_config_client(const struct mcp_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_clients; i++)
		if (!strcmp(cfg->clients[i].name, name))
			return &cfg->clients[i];
	return NULL;
}

int mcp_config_pool_index(const struct mcp_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_pools; i++)
		if (!strcmp(cfg->pools[i].name, name))
			return i;
	return -1;
}


const char *mcp_xdp_mode_name(int mode)
{
	return mode == MCP_XDP_MODE_NATIVE ? "native" : mode == MCP_XDP_MODE_SKB ? "skb" : "auto";
}

/* "eth0, eth1": interface names for the XDP guard. */
static int parse_ifaces(struct parse *p, const char *value)
{
	char copy[256], *save = NULL;

	if (strlen(value) >= sizeof(copy))
		return fail(p, p->line, "xdp_interfaces: list too long");
	strcpy(copy, value);
	p->cfg->n_xdp_ifaces = 0;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		if (p->cfg->n_xdp_ifaces == MCP_MAX_XDP_IFACES)
			return fail(p, p->line, "xdp_interfaces: more than %d", MCP_MAX_XDP_IFACES);
		if (strlen(t) >= MCP_IFNAME_MAX)
			return fail(p, p->line, "xdp_interfaces: '%s' is not an interface name", t);
		strcpy(p->cfg->xdp_ifaces[p->cfg->n_xdp_ifaces++], t);
	}
	return 1;
}

int mcp_parse_datapath(const char *text)
{
	static const char *const names[] = { [MCP_DATAPATH_AUTO] = "auto", [MCP_DATAPATH_BPF] = "bpf",
					     [MCP_DATAPATH_USER] = "user" };

	for (int dp = 0; dp < (int)(sizeof(names) / sizeof(names[0])); dp++)
		if (!strcmp(text, names[dp]))
			return dp;
	return -1;
}

const char *mcp_datapath_name(int dp)
{
	return dp == MCP_DATAPATH_BPF ? "bpf" : dp == MCP_DATAPATH_USER ? "user" : "auto";
}

static int parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long x;

	if (!*v || *v == '-')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static struct mcp_pool_cfg *find_pool(struct mcp_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_pools; i++)
		if (!strcmp(cfg->pools[i].name, name))
			return &cfg->pools[i];
	return NULL;
}

static int on_mcpd(struct parse *p, const char *name, const char *value)
{
	struct mcp_config *cfg = p->cfg;
	static const struct {
		const char *key;
		uint32_t lo, hi;
		size_t off;
	} nums[] = {
		{ "max_frame", MCP_MAX_FRAME_FLOOR, MCP_MAX_FRAME_LIMIT,
		  offsetof(struct mcp_config, max_frame) },
		{ "heartbeat_ms", 1, 3600000, offsetof(struct mcp_config, heartbeat_ms) },
		{ "idle_timeout_ms", 1, 86400000, offsetof(struct mcp_config, idle_timeout_ms) },
		{ "max_sessions", 1, 1000000, offsetof(struct mcp_config, max_sessions) },
		{ "connect_timeout_ms", 1, 600000, offsetof(struct mcp_config, connect_timeout_ms) },
		{ "backend_down_ms", 0, 3600000, offsetof(struct mcp_config, backend_down_ms) },
		{ "partial_timeout_ms", 1, 3600000, offsetof(struct mcp_config, partial_timeout_ms) },
		{ "stall_timeout_ms", 1, 3600000, offsetof(struct mcp_config, stall_timeout_ms) },
		{ "handshake_timeout_ms", 1, 600000,
		  offsetof(struct mcp_config, handshake_timeout_ms) },
		{ "max_unnegotiated", 1, 1000000, offsetof(struct mcp_config, max_unnegotiated) },
		{ "metrics_per_source", 1, 1024, offsetof(struct mcp_config, metrics_per_source) },
		{ "udp_relays", 1, 65536, offsetof(struct mcp_config, udp_relays) },
		{ "inline_max_flight", 1, 1000000, offsetof(struct mcp_config, inline_max_flight) },
		{ "inline_max_unread", 4096, 1u << 30,
		  offsetof(struct mcp_config, inline_max_unread) },
		{ "kernel_max_held", 1u << 20, 1u << 31, offsetof(struct mcp_config, kernel_max_held) },
		{ "udp_relay_idle_ms", 100, 3600000, offsetof(struct mcp_config, udp_relay_idle_ms) },
		{ "metrics_timeout_s", 1, 3600, offsetof(struct mcp_config, metrics_timeout_s) },
		{ "rate_pps", 0, 100000000, offsetof(struct mcp_config, rate_pps) },
		{ "rate_burst", 1, 100000000, offsetof(struct mcp_config, rate_burst) },
		{ "newsrc_pps", 0, 100000000, offsetof(struct mcp_config, newsrc_pps) },
		{ "auto_block_ttl_s", 1, 86400 * 30, offsetof(struct mcp_config, auto_block_ttl_s) },
		{ "anomaly_sigma", 1, 1000, offsetof(struct mcp_config, anomaly_sigma) },
		{ "anomaly_bad_frames", 1, 100000000, offsetof(struct mcp_config, anomaly_bad_frames) },
		{ "anomaly_new_sessions", 1, 100000000,
		  offsetof(struct mcp_config, anomaly_new_sessions) },
		{ "anomaly_auth_failures", 1, 100000000,
		  offsetof(struct mcp_config, anomaly_auth_failures) },
	};

	if (!strcmp(name, "listen")) {
		if (!p->listen_given)
			cfg->n_listen = 0;
		p->listen_given = 1;
		if (cfg->n_listen == MCP_MAX_LISTEN)
			return fail(p, p->line, "more than %d listen addresses", MCP_MAX_LISTEN);
		if (mcp_parse_addr(value, &cfg->listen[cfg->n_listen]))
			return fail(p, p->line, "listen: '%s' is not HOST:PORT or [IPV6]:PORT",
				    value);
		cfg->n_listen++;
		return 1;
	}
	if (!strcmp(name, "datapath")) {
		cfg->datapath = mcp_parse_datapath(value);
		if (cfg->datapath < 0)
			return fail(p, p->line, "datapath: '%s' is not bpf, user or auto", value);
		return 1;
	}
	if (!strcmp(name, "remote_datapath")) {
		cfg->remote_datapath = mcp_parse_datapath(value);
		if (cfg->remote_datapath != MCP_DATAPATH_USER && cfg->remote_datapath != MCP_DATAPATH_BPF)
			return fail(p, p->line, "remote_datapath: '%s' is not bpf or user", value);
		return 1;
	}
	if (!strcmp(name, "inline_cgroup")) {
		if (strlen(value) >= sizeof(cfg->inline_cgroup) || (value[0] && value[0] != '/'))
			return fail(p, p->line, "inline_cgroup: '%s' is not an absolute path", value);
		strcpy(cfg->inline_cgroup, value);
		return 1;
	}
	if (!strcmp(name, "xdp_interfaces"))
		return parse_ifaces(p, value);
	if (!strcmp(name, "auth")) {
		if (!strcmp(value, "off"))
			cfg->auth = MCP_AUTH_MODE_OFF;
		else if (!strcmp(value, "optional"))
			cfg->auth = MCP_AUTH_MODE_OPTIONAL;
		else if (!strcmp(value, "required"))
			cfg->auth = MCP_AUTH_MODE_REQUIRED;
		else
			return fail(p, p->line, "auth: '%s' is not off, optional or required", value);
		return 1;
	}
	if (!strcmp(name, "auth_keys")) {
		if (strlen(value) >= sizeof(cfg->auth_keys) || value[0] != '/')
			return fail(p, p->line, "auth_keys: '%s' is not an absolute path", value);
		strcpy(cfg->auth_keys, value);
		return 1;
	}
	if (!strcmp(name, "control")) {
		if (strlen(value) >= sizeof(cfg->control) || (value[0] && value[0] != '/'))
			return fail(p, p->line, "control: '%s' is not an absolute path (< 108 bytes)",
				    value);
		strcpy(cfg->control, value);
		return 1;
	}
	if (!strcmp(name, "max_queued_bytes")) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno || end == value || *end || v < (1ull << 20) || v > (1ull << 40) ||
		    value[0] == '-')
			return fail(p, p->line, "max_queued_bytes: '%s' is not a number of bytes in "
				    "1048576..%llu", value, 1ull << 40);
		cfg->max_queued_bytes = v;
		return 1;
	}
	if (!strcmp(name, "pin_root")) {
		if (strlen(value) >= sizeof(cfg->pin_root) || value[0] != '/' || !value[1] ||
		    strstr(value, "/.."))
			return fail(p, p->line,
				    "pin_root: '%s' is not an absolute path on bpffs (< %zu bytes)",
				    value, sizeof(cfg->pin_root));
		strcpy(cfg->pin_root, value);
		return 1;
	}
	if (!strcmp(name, "metrics")) {
		if (mcp_parse_addr(value, &cfg->metrics))
			return fail(p, p->line, "metrics: '%s' is not HOST:PORT or [IPV6]:PORT", value);
		return 1;
	}
	if (!strcmp(name, "auto_block") || !strcmp(name, "tcp_nodelay") ||
	    !strcmp(name, "udp_verify")) {
		bool *flag = name[0] == 'a' ? &cfg->auto_block :
			     name[0] == 't' ? &cfg->tcp_nodelay : &cfg->udp_verify;

		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
			*flag = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
			*flag = false;
		else
			return fail(p, p->line, "%s: '%s' is not true or false", name, value);
		return 1;
	}
	if (!strcmp(name, "xdp_mode")) {
		if (!strcmp(value, "native"))
			cfg->xdp_mode = MCP_XDP_MODE_NATIVE;
		else if (!strcmp(value, "skb"))
			cfg->xdp_mode = MCP_XDP_MODE_SKB;
		else if (!strcmp(value, "auto"))
			cfg->xdp_mode = MCP_XDP_MODE_AUTO;
		else
			return fail(p, p->line, "xdp_mode: '%s' is not native, skb or auto", value);
		return 1;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(name, nums[i].key))
			continue;
		if (parse_u32(value, nums[i].lo, nums[i].hi,
			      (uint32_t *)((char *)cfg + nums[i].off)))
			return fail(p, p->line, "%s: '%s' is not a number in %u..%u", name, value,
				    nums[i].lo, nums[i].hi);
		return 1;
	}
	return fail(p, p->line, "unknown key '%s' in [mcpd]", name);
}

static int on_pool(struct parse *p, const char *pool, const char *name, const char *value)
{
	struct mcp_pool_cfg *pc = find_pool(p->cfg, pool);

	if (strcmp(name, "backend"))
		return fail(p, p->line, "unknown key '%s' in [pool %s]", name, pool);
	if (pc->n_backends == MCP_MAX_BACKENDS)
		return fail(p, p->line, "pool %s: more than %d backends", pool, MCP_MAX_BACKENDS);
	if (mcp_parse_addr(value, &pc->backends[pc->n_backends]))
		return fail(p, p->line, "backend: '%s' is not HOST:PORT or [IPV6]:PORT", value);
	pc->n_backends++;
	return 1;
}

static int on_route(struct parse *p, const char *name, const char *value)
{
	struct route_line *r;

	if (p->n_routes == (int)(sizeof(p->routes) / sizeof(p->routes[0])))
		return fail(p, p->line, "too many routes");
	r = &p->routes[p->n_routes];
	r->line = p->line;
	if (strlen(value) >= sizeof(r->pool) || !*value)
		return fail(p, p->line, "route %s: bad pool name '%s'", name, value);
	strcpy(r->pool, value);
	if (!strcmp(name, "default")) {
		r->lo = r->hi = -1;
	} else if (opcode_range(name, &r->lo, &r->hi)) {
		return fail(p, p->line,
			    "route: '%s' is not a request opcode (GET, SET, SYNC, DEL, "
			    "0x01..0x6f) or a range of them",
			    name);
	}
	p->n_routes++;
	return 1;
}

/* A [pool NAME] section: find or add the pool. NULL (with the error set) when it cannot. */
static struct mcp_pool_cfg *pool_section(struct parse *p, const char *section)
{
	const char *pool = section + 5;
	struct mcp_pool_cfg *pc;

	while (*pool == ' ')
		pool++;
	if (!*pool || strlen(pool) >= MCP_POOL_NAME_MAX) {
		fail(p, p->line, "bad pool name in [%s]", section);
		return NULL;
	}
	pc = find_pool(p->cfg, pool);
	if (pc)
		return pc;
	if (p->cfg->n_pools == MCP_MAX_POOLS) {
		fail(p, p->line, "more than %d pools", MCP_MAX_POOLS);
		return NULL;
	}
	pc = &p->cfg->pools[p->cfg->n_pools++];
	strcpy(pc->name, pool);
	return pc;
}

/* A [client NAME] section: find or add it. NULL (with the error set) when it cannot. */
static struct mcp_client_cfg *client_section(struct parse *p, const char *section)
{
	const char *name = section + 7;
	struct mcp_client_cfg *c;

	while (*name == ' ')
		name++;
	if (!*name || strlen(name) > MCP_CLIENT_NAME_MAX || strpbrk(name, " \t\"\\")) {
		fail(p, p->line, "bad client name in [%s] (1..%d bytes, no spaces or quotes)",
		     section, MCP_CLIENT_NAME_MAX);
		return NULL;
	}
	c = (struct mcp_client_cfg *)mcp_config_client(p->cfg, name);
	if (c)
		return c;
	if (p->cfg->n_clients == MCP_MAX_CLIENTS) {
		fail(p, p->line, "more than %d [client] sections", MCP_MAX_CLIENTS);
		return NULL;
	}
	c = &p->cfg->clients[p->cfg->n_clients++];
	strcpy(c->name, name);
	memset(c->opcodes, 0xff, sizeof(c->opcodes));
	c->pools = ~0u;
	return c;
}

static int on_client(struct parse *p, struct mcp_client_cfg *c, const char *name,
		     const char *value)
{
	struct err e;

	if (!strcmp(name, "allow")) {
		if (mcp_parse_opcode_set(value, c->opcodes, &e))
			return fail(p, p->line, "allow: %s", e.msg);
		return 1;
	}
	if (!strcmp(name, "rate_fps")) {
		if (parse_u32(value, 0, MCP_RATE_MAX, &c->rate_fps))
			return fail(p, p->line, "rate_fps: '%s' is not a number in 0..%u", value,
				    MCP_RATE_MAX);
		return 1;
	}
	if (!strcmp(name, "pools")) {
		int i = p->n_client_pools;

		if (strlen(value) >= sizeof(p->client_pools[0].names))
			return fail(p, p->line, "pools: list too long");
		if (i == MCP_MAX_CLIENTS)
			return fail(p, p->line, "pools: given more than once per client");
		p->client_pools[i].client = (int)(c - p->cfg->clients);
		p->client_pools[i].line = p->line;
		strcpy(p->client_pools[i].names, value);
		p->n_client_pools++;
		return 1;
	}
	return fail(p, p->line, "unknown key '%s' in [client %s] (allow, pools, rate_fps)", name,
		    c->name);
}

/* [client] pools by name, now that every [pool] is known. */
static int resolve_client_pools(struct parse *p)
{
	for (int i = 0; i < p->n_client_pools; i++) {
		struct mcp_client_cfg *c = &p->cfg->clients[p->client_pools[i].client];
		char *save = NULL;

		c->pools = 0;
		for (char *t = strtok_r(p->client_pools[i].names, ", \t", &save); t;
		     t = strtok_r(NULL, ", \t", &save)) {
			int idx = mcp_config_pool_index(p->cfg, t);

			if (idx < 0)
				return fail(p, p->client_pools[i].line,
					    "[client %s] pools: no [pool %s]", c->name, t),
				       -1;
			c->pools |= 1u << idx;
		}
	}
	return 0;
}

static int on_section(struct parse *p, const char *section)
{
	if (!strcmp(section, "mcpd") || !strcmp(section, "routes"))
		return 1;
	if (!strncmp(section, "pool ", 5))
		return pool_section(p, section) != NULL;
	if (!strncmp(section, "client ", 7))
		return client_section(p, section) != NULL;
	return fail(p, p->line, "unknown section [%s]", section);
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (!strcmp(section, "mcpd"))
		return on_mcpd(p, name, value);
	if (!strcmp(section, "routes"))
		return on_route(p, name, value);
	if (!strncmp(section, "pool ", 5)) {
		struct mcp_pool_cfg *pc = pool_section(p, section);

		return pc ? on_pool(p, pc->name, name, value) : 0;
	}
	if (!strncmp(section, "client ", 7)) {
		struct mcp_client_cfg *c = client_section(p, section);

		return c ? on_client(p, c, name, value) : 0;
	}
	if (!section[0])
		return fail(p, p->line, "'%s' outside any section", name);
	return fail(p, p->line, "unknown section [%s]", section);
}

/* inih's reader: counts lines, and checks section headers as they go by (inih only reports
 * sections that hold keys). */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(buf, size, p->f), *s, *close;

	if (!r)
		return NULL;
	p->line++;
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	if (*s == '[' && (close = strchr(s, ']')) && !p->failed) {
		char section[64];
		size_t n = (size_t)(close - s - 1);

		if (n >= sizeof(section))
			n = sizeof(section) - 1;
		memcpy(section, s + 1, n);
		section[n] = '\0';
		on_section(p, section);
	}
	return r;
}

static int resolve_routes(struct parse *p)
{
	struct mcp_config *cfg = p->cfg;
	int def = 0;

	for (int i = 0; i < p->n_routes; i++) {
		struct route_line *r = &p->routes[i];
		struct mcp_pool_cfg *pc = find_pool(cfg, r->pool);

		if (!pc)
			return fail(p, r->line, "route to unknown pool '%s'", r->pool), -1;
		if (pc->n_backends == 0)
			return fail(p, r->line, "route to pool '%s', which has no backend", r->pool),
			       -1;
		int slot = (int)(pc - cfg->pools) + 1;
		if (r->lo < 0) {
			def = slot;
			continue;
		}
		for (int op = r->lo; op <= r->hi; op++)
			cfg->routes[op] = (uint8_t)slot;
	}
	if (def)
		for (int op = MCP_OP_REQUEST_MIN; op <= MCP_OP_REQUEST_MAX; op++)
			if (!cfg->routes[op])
				cfg->routes[op] = (uint8_t)def;
	return 0;
}

int mcp_config_load(const char *path, struct mcp_config *cfg, struct err *e)
{
	struct parse *p = calloc(1, sizeof(*p));
	int rc = -EINVAL, line;

	mcp_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	if (!p)
		return err_set(e, ENOMEM, "%s: out of memory", path);
	p->cfg = cfg;
	p->e = e;
	p->f = fopen(path, "r");
	if (!p->f) {
		rc = err_set(e, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	line = ini_parse_stream(read_line, p, on_entry, p);
	if (p->failed)
		goto out;
	if (line != 0) {
		fail(p, line, "not an INI line (expected [section] or key = value)");
		goto out;
	}
	if (resolve_routes(p) || resolve_client_pools(p))
		goto out;
	if (cfg->auth != MCP_AUTH_MODE_OFF && !cfg->auth_keys[0]) {
		fail(p, p->line, "auth = %s needs auth_keys = PATH (a file of 'KEY_ID SECRET_HEX' lines)",
		     mcp_auth_mode_name(cfg->auth));
		goto out;
	}
	if (cfg->idle_timeout_ms < cfg->heartbeat_ms) {
		fail(p, p->line, "idle_timeout_ms (%u) is shorter than heartbeat_ms (%u)",
		     cfg->idle_timeout_ms, cfg->heartbeat_ms);
		goto out;
	}
	/* Below max_sessions: half of it at most, so negotiated sessions always have room. */
	if (cfg->max_unnegotiated > cfg->max_sessions / 2)
		cfg->max_unnegotiated = cfg->max_sessions / 2 ? cfg->max_sessions / 2 : 1;
	rc = 0;
out:
	if (p->f)
		fclose(p->f);
	free(p);
	return rc;
}

uint32_t mcp_config_pools_used(const struct mcp_config *cfg)
{
	uint32_t used = 0;

	for (int op = 0; op < 256; op++)
		if (cfg->routes[op])
			used |= 1u << (cfg->routes[op] - 1);
	return used;
}

int mcp_config_pools_kept(const char *const *names, int n, const struct mcp_config *next,
			  uint32_t in_use, struct err *e)
{
	for (int i = 0; i < n && i < 32; i++) {
		if (!(in_use & (1u << i)))
			continue;
		if (i < next->n_pools && !strcmp(names[i], next->pools[i].name))
			continue;
		return err_set(e, EBUSY,
			       "pool '%s' is [pool] section %d and open sessions use it by that "
			       "position; the new config %s it (add new pools after the old ones; to "
			       "reorder or remove pools in use, restart)",
			       names[i], i + 1, i < next->n_pools ? "moves" : "removes");
	}
	return 0;
}
