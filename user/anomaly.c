// SPDX-License-Identifier: GPL-2.0-only
/*
 * The anomaly detector: owns per-source and per-opcode rates and their baselines; reports
 * (and with auto_block, blocks) what stands far out. Interface: anomaly.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "anomaly.h"
#include "hash.h"
#include "frame.h"
#include "kstats.h"
#include "baseline.h"
#include "log.h"
#include "mcpd.h"

#define SLOTS	       1024 /* sources seen in one second */
#define SPIKE_FLOOR    1000.0
#define PASS_FLOOR     200.0

struct src_slot {
	uint8_t used, family;
	uint8_t addr[16];
	uint32_t bad, sessions, auth;
};

struct anomaly_state {
	struct ring_buffer *rb;
	int events_fd;
	struct src_slot slots[SLOTS];
	struct baseline bad_top, sess_top, auth_top, op[MCP_DIR__COUNT][256], pass;
	uint64_t prev_op[MCP_DIR__COUNT][256], prev_pass, prev_skbs;
	uint64_t user_op[MCP_DIR__COUNT][256];
	int have_prev;
	struct anomaly_event recent[ANOMALY_RECENT];
	int n_recent, next;
	uint64_t last_tick_ms;
};

const char *anomaly_kind_name(int kind)
{
	static const char *const names[ANOMALY__COUNT] = {
		[ANOMALY_BAD_FRAMES] = "bad_frames",
		[ANOMALY_SESSION_FLOOD] = "session_flood",
		[ANOMALY_OPCODE_SPIKE] = "opcode_spike",
		[ANOMALY_PASS_SPIKE] = "pass_spike",
		[ANOMALY_AUTH_FAILURES] = "auth_failures",
	};

	return kind >= 0 && kind < ANOMALY__COUNT ? names[kind] : "?";
}

static struct anomaly_state *st_of(struct mcpd *r)
{
	return r->anomaly;
}

static struct src_slot *slot_for(struct anomaly_state *a, uint8_t family, const uint8_t *addr)
{
	uint32_t h = mcp_fnv1a(family, addr, 16);

	for (int probe = 0; probe < 32; probe++) {
		struct src_slot *s = &a->slots[(h + (uint32_t)probe) % SLOTS];

		if (!s->used) {
			s->used = 1;
			s->family = family;
			memcpy(s->addr, addr, 16);
			return s;
		}
		if (s->family == family && !memcmp(s->addr, addr, 16))
			return s;
	}
	return NULL; /* a table this full is itself a flood; the busiest are already in */
}

/* Sources as the kernel reports them: an IPv4 address, or an IPv6 /64. */
static struct src_slot *slot_for_sockaddr(struct anomaly_state *a, const struct sockaddr *sa)
{
	uint8_t addr[16] = { 0 };

	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return slot_for(a, 4, addr);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(addr, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 8);
		return slot_for(a, 6, addr);
	}
	return NULL;
}

void anomaly_bad_frame(struct mcpd *r, const struct sockaddr *src)
{
	struct anomaly_state *a = st_of(r);
	struct src_slot *s = a ? slot_for_sockaddr(a, src) : NULL;

	if (s)
		s->bad++;
}

void anomaly_new_session(struct mcpd *r, const struct sockaddr *src)
{
	struct anomaly_state *a = st_of(r);
	struct src_slot *s = a ? slot_for_sockaddr(a, src) : NULL;

	if (s)
		s->sessions++;
}

void anomaly_auth_failure(struct mcpd *r, const struct sockaddr *src)
{
	struct anomaly_state *a = st_of(r);
	struct src_slot *s = a ? slot_for_sockaddr(a, src) : NULL;

	if (s)
		s->auth++;
}

void anomaly_frame(struct mcpd *r, int dir, uint8_t opcode)
{
	struct anomaly_state *a = st_of(r);

	if (a)
		a->user_op[dir][opcode]++;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct anomaly_state *a = ctx;
	const struct mcp_event *ev = data;
	uint8_t addr[16] = { 0 };
	struct src_slot *s;

	if (len < sizeof(*ev))
		return 0;
	memcpy(addr, ev->addr, ev->family == 4 ? 4 : 8);
	s = slot_for(a, ev->family, addr);
	if (s)
		s->bad++;
	return 0;
}


static void source_text(uint8_t family, const uint8_t *addr, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(out, len, "%s/%d", a, family == 4 ? 32 : 64);
}

static void report(struct mcpd *r, int kind, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(struct mcpd *r, int kind, const char *source, const char *fmt, ...)
{
	struct anomaly_state *a = st_of(r);
	struct anomaly_event *e = &a->recent[a->next];
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->at_ms = mcp_now_ms() - r->counters->started_ms;
	e->kind = kind;
	snprintf(e->source, sizeof(e->source), "%s", source);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	a->next = (a->next + 1) % ANOMALY_RECENT;
	if (a->n_recent < ANOMALY_RECENT)
		a->n_recent++;
	r->counters->anomalies[kind]++;
	pr_warn("anomaly: %s%s%s: %s", anomaly_kind_name(kind), source[0] ? " from " : "", source,
		e->detail);
	if (r->cfg.auto_block && source[0]) {
		struct mcp_prefix p;
		char why[MCP_BLOCK_REASON];

		snprintf(why, sizeof(why), "anomaly: %s", anomaly_kind_name(kind));
		if (!mcp_prefix_parse(source, &p, NULL) &&
		    !blocklist_add(r->blocks, &p, (uint64_t)r->cfg.auto_block_ttl_s * 1000, why,
				   mcp_now_ms()))
			pr_warn("auto_block: %s blocked for %u s", source, r->cfg.auto_block_ttl_s);
	}
}

/* Per-source rates: every source over the floor and far above the busiest-source baseline. */
static void judge_sources(struct mcpd *r, uint64_t now)
{
	struct anomaly_state *a = st_of(r);
	uint32_t top_bad = 0, top_sess = 0, top_auth = 0;
	double sigma = r->cfg.anomaly_sigma;

	for (int i = 0; i < SLOTS; i++) {
		struct src_slot *s = &a->slots[i];
		char src[64];

		if (!s->used)
			continue;
		source_text(s->family, s->addr, src, sizeof(src));
		if (baseline_exceeds(&a->bad_top, s->bad, r->cfg.anomaly_bad_frames, sigma, false))
			report(r, ANOMALY_BAD_FRAMES, src, "%u bad frames in a second (baseline %.1f)",
			       s->bad, a->bad_top.mean);
		else if (s->bad > top_bad)
			top_bad = s->bad;
		if (baseline_exceeds(&a->sess_top, s->sessions, r->cfg.anomaly_new_sessions, sigma,
				     false))
			report(r, ANOMALY_SESSION_FLOOD, src,
			       "%u new sessions in a second (baseline %.1f)", s->sessions,
			       a->sess_top.mean);
		else if (s->sessions > top_sess)
			top_sess = s->sessions;
		if (baseline_exceeds(&a->auth_top, s->auth, r->cfg.anomaly_auth_failures, sigma,
				     false))
			report(r, ANOMALY_AUTH_FAILURES, src,
			       "%u failed authentications in a second (baseline %.1f)", s->auth,
			       a->auth_top.mean);
		else if (s->auth > top_auth)
			top_auth = s->auth;
	}
	baseline_learn(&a->auth_top, top_auth);
	baseline_learn(&a->bad_top, top_bad);
	baseline_learn(&a->sess_top, top_sess);
	memset(a->slots, 0, sizeof(a->slots));
	(void)now;
}

static void judge_rates(struct mcpd *r, uint64_t now, double secs)
{
	struct anomaly_state *a = st_of(r);
	static struct mcp_kstats k;
	uint64_t pass = 0, skbs = 0;
	double sigma = r->cfg.anomaly_sigma;

	memset(&k, 0, sizeof(k));
	if (datapath_carries_sessions(r))
		mcp_kstats_read(r->cfg.pin_root, &k);
	for (int i = 0; i < MCP_DP__COUNT; i++) {
		skbs += k.dp[i].count;
		if (i >= MCP_DP_PASS_CONTROL && i != MCP_DP_REDIRECT_FAIL)
			pass += k.dp[i].count;
	}
	for (int d = 0; d < MCP_DIR__COUNT; d++)
		for (int op = 0; op < 256; op++) {
			uint64_t cur = (k.have_sockmap ? k.op[d][op].count : 0) + a->user_op[d][op];
			double rate = a->have_prev ? (double)(cur - a->prev_op[d][op]) / secs : 0;

			if (a->have_prev && baseline_judge(&a->op[d][op], rate, SPIKE_FLOOR, sigma, now, 1))
				report(r, ANOMALY_OPCODE_SPIKE, "",
				       "opcode 0x%02x (%s) %s at %.0f frames/s, baseline %.0f", op,
				       mcp_opcode_name((uint8_t)op), d ? "to clients" : "to backends",
				       rate, a->op[d][op].mean);
			a->prev_op[d][op] = cur;
		}
	/* The share of skbs the fast path passes up: more traffic leaves it alone, a change in
	 * what the traffic is (control frames, mixes, partial headers) moves it. */
	if (a->have_prev && skbs - a->prev_skbs >= 100) {
		double rate = (double)(pass - a->prev_pass) / secs;
		double share = (double)(pass - a->prev_pass) / (double)(skbs - a->prev_skbs);

		if (baseline_judge(&a->pass, share, 0.2, sigma, now, 0) && rate >= PASS_FLOOR)
			report(r, ANOMALY_PASS_SPIKE, "",
			       "the fast path passes %.0f%% of skbs (%.0f/s) to mcpd, baseline %.0f%%",
			       share * 100, rate, a->pass.mean * 100);
	}
	a->prev_pass = pass;
	a->prev_skbs = skbs;
	a->have_prev = 1;
}

void anomaly_tick(struct mcpd *r, uint64_t now_ms)
{
	struct anomaly_state *a = st_of(r);
	double secs;

	if (!a || now_ms - a->last_tick_ms < 1000)
		return;
	secs = (double)(now_ms - a->last_tick_ms) / 1000.0;
	a->last_tick_ms = now_ms;
	/* The kernel reports without waking us (BPF_RB_NO_WAKEUP): read the second's events. */
	if (a->rb)
		ring_buffer__consume(a->rb);
	judge_sources(r, now_ms);
	judge_rates(r, now_ms, secs);
}

bool anomaly_ready(struct mcpd *r)
{
	struct anomaly_state *a = st_of(r);

	return a && baseline_ready(&a->bad_top) && baseline_ready(&a->sess_top);
}

int anomaly_recent(struct mcpd *r, const struct anomaly_event **out)
{
	static struct anomaly_event ordered[ANOMALY_RECENT];
	struct anomaly_state *a = st_of(r);
	int start;

	if (!a)
		return 0;
	start = (a->next - a->n_recent + ANOMALY_RECENT) % ANOMALY_RECENT;
	for (int i = 0; i < a->n_recent; i++)
		ordered[i] = a->recent[(start + i) % ANOMALY_RECENT];
	*out = ordered;
	return a->n_recent;
}

int anomaly_init(struct mcpd *r)
{
	struct anomaly_state *a = calloc(1, sizeof(*a));
	char path[128];
	int fd;

	if (!a)
		return -1;
	a->last_tick_ms = mcp_now_ms();
	r->anomaly = a;
	/* The kernel's reports, when this mcpd's programs (sockmap or XDP) fill the pinned ring
	 * buffer. Another mcpd beside it (user data path, no guard) must not read them: every
	 * record goes to one reader, and they are not its. */
	snprintf(path, sizeof(path), "%s/%s", r->cfg.pin_root, MCP_MAP_EVENTS);
	a->events_fd = -1;
	fd = r->pin_lock_fd >= 0 ? bpf_obj_get(path) : -1;
	if (fd >= 0) {
		a->rb = ring_buffer__new(fd, on_event, a, NULL);
		if (!a->rb) {
			pr_warn("cannot read %s: %s", path, strerror(errno));
			close(fd);
		} else {
			a->events_fd = fd;
		}
	}
	return 0;
}

void anomaly_free(struct mcpd *r)
{
	struct anomaly_state *a = st_of(r);

	if (!a)
		return;
	if (a->rb)
		ring_buffer__free(a->rb);
	if (a->events_fd >= 0)
		close(a->events_fd);
	free(a);
	r->anomaly = NULL;
}

static const struct metric
	m_anomalies = { "anomalies_total", "counter", "Anomalies detected, by kind." },
	m_anomaly_ready = { "anomaly_detector_ready", "gauge",
			    "1 once the anomaly detector has its baselines and judges." };

void anomaly_collect(struct mcpd *r, metric_fn fn, void *ctx)
{
	for (int i = 0; i < ANOMALY__COUNT; i++) {
		struct label l = { "kind", anomaly_kind_name(i) };

		fn(ctx, &m_anomalies, &l, 1, r->counters->anomalies[i]);
	}
	fn(ctx, &m_anomaly_ready, NULL, 0, anomaly_ready(r));
}
