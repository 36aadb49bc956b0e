// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpd's control socket: a Unix stream socket (mode 0660) speaking length-prefixed protobuf
 * (proto/control.proto). One request per connection: read it, answer it, close. Requests are
 * handled in the event loop, between batches of traffic, so they see a consistent state and
 * their changes (blocklist, drain, kill, reload) take effect at once.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "addr.h"
#include "anomaly.h"
#include "auth.h"
#include "control.pb-c.h"
#include "ctl.h"
#include "ctl_request.h"
#include "log.h"
#include "pools.h"
#include "mcpd.h"
#include "stats.h"
#include "takeover.h"
#include "upgrade.h"
#include "version.h"
#include "err.h"

#define MAX_REQUEST (64 * 1024)
#define CLIENT_MS   5000 /* a control connection has this long for its request and answer */
#define MAX_CLIENTS 64	 /* at once; past that the oldest goes */

struct ctl_client {
	struct handler h;
	struct buf in, out;
	uint64_t since_ms;
	struct ctl_client *prev, *next;
};

/* Everything a response points to, freed in one go after it is packed. Out of memory, an
 * allocation jumps back to where the request is answered (answer_with), which then says so. */
struct arena {
	void **p;
	size_t n, cap;
	jmp_buf *oom;
};

struct ctl {
	struct handler listen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients; /* newest first */
	int n_clients;
	struct arena arena; /* of the response being built */
	bool paused;	    /* out of descriptors: not accepting until the next tick */
};

static void ctl_on_client(struct mcpd *r, struct handler *h, uint32_t events);
static void ctl_on_listen(struct mcpd *r, struct handler *h, uint32_t events);
static void ctl_listen(struct mcpd *r, struct ctl *c, bool paused);

static void *amalloc(struct arena *a, size_t size)
{
	void *m = calloc(1, size);

	if (m && a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **p = realloc(a->p, cap * sizeof(void *));

		if (!p) {
			free(m);
			m = NULL;
		} else {
			a->p = p;
			a->cap = cap;
		}
	}
	if (!m)
		longjmp(*a->oom, 1);
	a->p[a->n++] = m;
	return m;
}

static char *astr(struct arena *a, const char *s)
{
	char *d = amalloc(a, strlen(s) + 1);

	strcpy(d, s);
	return d;
}

static void afree(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

/* Append one element to a protobuf-c repeated field of pointers. */
#define PUSH(a, arr, n, elem)                                                                     \
	do {                                                                                      \
		void **grown = amalloc((a), ((n) + 1) * sizeof(void *));                          \
		if (n)                                                                            \
			memcpy(grown, (arr), (n) * sizeof(void *));                               \
		grown[(n)] = (elem);                                                              \
		(arr) = (void *)grown;                                                            \
		(n)++;                                                                            \
	} while (0)

static void fail(struct arena *a, Mcp__Ctl__Response *rsp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct arena *a, Mcp__Ctl__Response *rsp, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rsp->ok = false;
	rsp->error = astr(a, msg);
}

static void do_status(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	Mcp__Ctl__Status *s = amalloc(a, sizeof(*s));
	char xdp[256], inl[PATH_MAX + 32];

	mcp__ctl__status__init(s);
	datapath_describe(r, DATAPATH_XDP, xdp, sizeof(xdp));
	datapath_describe(r, DATAPATH_INLINE, inl, sizeof(inl));
	s->version = astr(a, MCP_VERSION_STRING);
	s->datapath = astr(a, datapath_mode(r));
	s->xdp = astr(a, xdp);
	s->uptime_s = (mcp_now_ms() - r->counters->started_ms) / 1000;
	s->sessions = r->sessions->n;
	s->sessions_total = r->sessions->opened;
	s->sessions_refused = r->counters->sessions_refused;
	s->config = astr(a, r->cfg.path[0] ? r->cfg.path : "(defaults)");
	s->pid = (uint32_t)getpid();
	s->upgrade = astr(a, upgrade_state());
	s->inline_path = astr(a, inl);
	for (struct session *x = r->sessions->head; x; x = x->next) {
		s->sessions_inline += x->path == SESSION_PATH_INLINE;
		s->sessions_kernel += x->path == SESSION_PATH_KERNEL;
		s->sessions_mcpd += x->path == SESSION_PATH_MCPD;
	}
	if (r->paths[DATAPATH_SOCKMAP]) {
		for (struct session *x = r->sessions->head; x; x = x->next) {
			s->fastpath_sockets += x->client.installed;
			for (int slot = 1; slot <= MCP_MAX_POOLS; slot++)
				s->fastpath_sockets += x->backends[slot] && x->backends[slot]->installed;
		}
		s->fastpath_capacity = MCP_MAX_SOCKS;
	}
	s->limits = amalloc(a, LIMIT__COUNT * sizeof(*s->limits));
	for (int i = 0; i < LIMIT__COUNT; i++) {
		Mcp__Ctl__LimitHits *l;

		if (!r->counters->limit_hits[i])
			continue;
		l = amalloc(a, sizeof(*l));
		mcp__ctl__limit_hits__init(l);
		l->name = astr(a, limit_name(i));
		l->hits = r->counters->limit_hits[i];
		s->limits[s->n_limits++] = l;
	}
	rsp->status = s;
}

static void do_sessions(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	uint64_t now = mcp_now_ms();

	for (struct session *s = r->sessions->head; s; s = s->next) {
		Mcp__Ctl__Session *m = amalloc(a, sizeof(*m));
		struct session_counters k;
		uint64_t last = session_last_active_ms(r, s);

		mcp__ctl__session__init(m);
		m->id = s->id;
		m->peer = astr(a, s->peer);
		m->state = astr(a, session_state_name(s->state));
		m->version = s->version;
		m->client_id = astr(a, s->client_id);
		for (int p = 0; p < r->cfg.n_pools; p++)
			if (s->pools & (1u << p))
				PUSH(a, m->pools, m->n_pools, astr(a, r->cfg.pools[p].name));
		session_counters(r, s, &k);
		m->frames_in = k.frames_in;
		m->bytes_in = k.bytes_in;
		m->frames_out = k.frames_out;
		m->bytes_out = k.bytes_out;
		m->fast_path = s->client.installed || s->path == SESSION_PATH_INLINE;
		m->path = (char *)session_path_name(s->path);
		m->auth = (char *)session_auth_name(s->auth);
		m->denied = s->denied;
		m->rate_limited = s->rate_limited;
		m->restricted = s->restricted;
		m->idle_ms = now > last ? now - last : 0;
		PUSH(a, rsp->sessions, rsp->n_sessions, m);
	}
}

/* Identities: the auth module's totals, with what their open sessions add. */
static void do_clients(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	const struct auth_client *rows;
	int n = auth_clients(r->auth, &rows);
	Mcp__Ctl__Client **by_row = amalloc(a, (size_t)n * sizeof(*by_row));

	for (int i = 0; i < n; i++) {
		Mcp__Ctl__Client *m = amalloc(a, sizeof(*m));

		mcp__ctl__client__init(m);
		m->client_id = astr(a, rows[i].id);
		m->auth = (char *)session_auth_name(rows[i].kind);
		m->sessions_total = rows[i].sessions_total;
		m->frames = rows[i].frames;
		m->denied = rows[i].denied;
		m->rate_limited = rows[i].rate_limited;
		by_row[i] = m;
	}
	for (struct session *s = r->sessions->head; s; s = s->next) {
		struct session_counters k;

		if (s->state == S_IDLE || s->client_ref < 0 || s->client_ref >= n)
			continue;
		session_counters(r, s, &k);
		by_row[s->client_ref]->sessions++;
		by_row[s->client_ref]->frames += k.frames_in + k.frames_out;
	}
	for (int i = 0; i < n; i++)
		if (by_row[i]->sessions_total) /* row 0, "(other)", only once used */
			PUSH(a, rsp->clients, rsp->n_clients, by_row[i]);
}

static void do_routes(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	for (int op = MCP_OP_REQUEST_MIN; op <= MCP_OP_REQUEST_MAX;) {
		int slot = r->cfg.routes[op], last = op;
		Mcp__Ctl__Route *m;

		while (last + 1 <= MCP_OP_REQUEST_MAX && r->cfg.routes[last + 1] == slot)
			last++;
		m = amalloc(a, sizeof(*m));
		mcp__ctl__route__init(m);
		m->first = (uint32_t)op;
		m->last = (uint32_t)last;
		m->pool = astr(a, slot ? r->cfg.pools[slot - 1].name : "");
		PUSH(a, rsp->routes, rsp->n_routes, m);
		op = last + 1;
	}
}

static void do_pools(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	uint64_t now = mcp_now_ms();

	for (int p = 0; p < r->cfg.n_pools; p++) {
		Mcp__Ctl__Pool *m = amalloc(a, sizeof(*m));

		mcp__ctl__pool__init(m);
		m->name = astr(a, r->cfg.pools[p].name);
		for (int b = 0; b < r->cfg.pools[p].n_backends; b++) {
			Mcp__Ctl__Backend *x = amalloc(a, sizeof(*x));
			uint32_t sessions;
			const char *health = pools_health(r->pools, p, b, now, &sessions);

			mcp__ctl__backend__init(x);
			x->address = astr(a, r->cfg.pools[p].backends[b].text);
			x->health = astr(a, health);
			x->sessions = sessions;
			PUSH(a, m->backends, m->n_backends, x);
		}
		PUSH(a, rsp->pools, rsp->n_pools, m);
	}
}

struct collect_ctx {
	struct arena *a;
	Mcp__Ctl__Response *rsp;
};

static void add_counter(void *ctx, const struct metric *m, const struct label *labels, int n,
			uint64_t value)
{
	struct collect_ctx *c = ctx;
	Mcp__Ctl__Counter *x = amalloc(c->a, sizeof(*x));
	char label[128] = "";

	for (int i = 0; i < n; i++)
		snprintf(label + strlen(label), sizeof(label) - strlen(label), "%s%s=%s",
			 i ? "," : "", labels[i].key, labels[i].value);
	mcp__ctl__counter__init(x);
	x->name = astr(c->a, m->name);
	x->label = astr(c->a, label);
	x->value = value;
	PUSH(c->a, c->rsp->counters, c->rsp->n_counters, x);
}

static void do_stats(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	struct collect_ctx c = { a, rsp };

	const struct anomaly_event *ev;
	int n;

	mcpd_collect(r, add_counter, &c);
	n = anomaly_recent(r, &ev);
	for (int i = 0; i < n; i++) {
		Mcp__Ctl__Anomaly *m = amalloc(a, sizeof(*m));

		mcp__ctl__anomaly__init(m);
		m->at_s = ev[i].at_ms / 1000;
		m->kind = astr(a, anomaly_kind_name(ev[i].kind));
		m->source = astr(a, ev[i].source);
		m->detail = astr(a, ev[i].detail);
		PUSH(a, rsp->anomalies, rsp->n_anomalies, m);
	}
}

static void do_blocklist(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp)
{
	uint64_t now = mcp_now_ms();

	for (int i = 0; i < r->blocks->n; i++) {
		const struct block_entry *e = &r->blocks->e[i];
		Mcp__Ctl__BlockEntry *m = amalloc(a, sizeof(*m));
		char p[64];

		mcp__ctl__block_entry__init(m);
		mcp_prefix_format(&e->p, p, sizeof(p));
		m->prefix = astr(a, p);
		m->ttl_left_s = e->expires_ms ? (e->expires_ms > now ? (e->expires_ms - now + 999) / 1000 : 0) : 0;
		m->hits = e->hits + blocklist_kernel_hits(r->blocks, e);
		m->reason = astr(a, e->reason);
		PUSH(a, rsp->blocks, rsp->n_blocks, m);
	}
}

static void do_block(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		     Mcp__Ctl__Response *rsp)
{
	bool block = q->command == MCP__CTL__COMMAND__COMMAND_BLOCK;
	int err = block ? blocklist_add(r->blocks, &q->prefix, (uint64_t)q->ttl_s * 1000, "operator",
					mcp_now_ms())
			: blocklist_remove(r->blocks, &q->prefix);

	if (err)
		fail(a, rsp, "%s %s: %s", block ? "block" : "unblock", q->arg,
		     err == -ENOENT ? "not in the blocklist" : strerror(-err));
	else
		pr_info("control: %s %s%s", block ? "blocked" : "unblocked", q->arg,
			q->ttl_s ? " (with a ttl)" : "");
}

static void do_drain(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		     Mcp__Ctl__Response *rsp)
{
	int pool = pools_drain(r->pools, &r->cfg, q->arg);

	if (pool < 0) {
		fail(a, rsp, "no backend '%s' in any pool", q->arg);
		return;
	}
	pr_info("control: backend %s (pool %s) drained: no new sessions", q->arg,
		r->cfg.pools[pool].name);
	rsp->message = astr(a, "drained: new sessions go to the pool's other backends");
}

static void do_kill(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		    Mcp__Ctl__Response *rsp)
{
	for (struct session *s = r->sessions->head; s; s = s->next)
		if (s->id == q->session && !s->dead) {
			pr_info("control: session %u killed", s->id);
			session_end(r, s, MCP_ERR_UNKNOWN, "ended by the operator");
			return;
		}
	fail(a, rsp, "no session %u", q->session);
}

static void do_upgrade(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		       Mcp__Ctl__Response *rsp)
{
	char text[16];
	struct err e;
	pid_t pid = upgrade_start(&e);

	(void)r;
	(void)q;
	if (pid < 0) {
		fail(a, rsp, "%s", e.msg);
	} else {
		snprintf(text, sizeof(text), "%d", (int)pid);
		rsp->message = astr(a, text);
	}
}

static void do_reload(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		      Mcp__Ctl__Response *rsp)
{
	char summary[1024];
	struct err e;

	(void)q;
	if (mcpd_reload(r, summary, sizeof(summary), &e))
		fail(a, rsp, "%s", e.msg);
	else
		rsp->message = astr(a, summary);
}

/* The commands, by their number in proto/control.proto. The queries take no arguments. */
typedef void (*query_fn)(struct mcpd *r, struct arena *a, Mcp__Ctl__Response *rsp);
typedef void (*command_fn)(struct mcpd *r, const struct ctl_req *q, struct arena *a,
			   Mcp__Ctl__Response *rsp);

static const struct {
	query_fn query;
	command_fn command;
} commands[] = {
	[MCP__CTL__COMMAND__COMMAND_STATUS] = { .query = do_status },
	[MCP__CTL__COMMAND__COMMAND_SESSIONS] = { .query = do_sessions },
	[MCP__CTL__COMMAND__COMMAND_CLIENTS] = { .query = do_clients },
	[MCP__CTL__COMMAND__COMMAND_ROUTES] = { .query = do_routes },
	[MCP__CTL__COMMAND__COMMAND_POOLS] = { .query = do_pools },
	[MCP__CTL__COMMAND__COMMAND_STATS] = { .query = do_stats },
	[MCP__CTL__COMMAND__COMMAND_BLOCKLIST] = { .query = do_blocklist },
	[MCP__CTL__COMMAND__COMMAND_BLOCK] = { .command = do_block },
	[MCP__CTL__COMMAND__COMMAND_UNBLOCK] = { .command = do_block },
	[MCP__CTL__COMMAND__COMMAND_DRAIN] = { .command = do_drain },
	[MCP__CTL__COMMAND__COMMAND_KILL] = { .command = do_kill },
	[MCP__CTL__COMMAND__COMMAND_UPGRADE] = { .command = do_upgrade },
	[MCP__CTL__COMMAND__COMMAND_RELOAD] = { .command = do_reload },
};

static void handle(struct mcpd *r, const struct ctl_req *q, struct arena *a,
		   Mcp__Ctl__Response *rsp)
{
	size_t i = (size_t)q->command;

	rsp->ok = true;
	if (q->command < 0 || i >= sizeof(commands) / sizeof(commands[0]) ||
	    (!commands[i].query && !commands[i].command))
		fail(a, rsp, "unknown command %d", q->command);
	else if (commands[i].query)
		commands[i].query(r, a, rsp);
	else
		commands[i].command(r, q, a, rsp);
}

static void client_free(struct ctl *c, struct mcpd *r, struct ctl_client *x)
{
	loop_unwatch(r->epfd, x->h.fd);
	close(x->h.fd);
	if (x->prev)
		x->prev->next = x->next;
	else
		c->clients = x->next;
	if (x->next)
		x->next->prev = x->prev;
	buf_free(&x->in);
	buf_free(&x->out);
	free(x);
	c->n_clients--;
}

/* A connection that has not sent its request, or not taken its answer, within CLIENT_MS is
 * closed: idle connections cannot pile up on the control socket. */
void ctl_tick(struct mcpd *r, uint64_t now)
{
	struct ctl *c = r->ctl;
	struct ctl_client *x, *next;

	if (c && c->paused)
		ctl_listen(r, c, false);
	for (x = c ? c->clients : NULL; x; x = next) {
		next = x->next;
		if (now > x->since_ms + CLIENT_MS) {
			r->counters->limit_hits[LIMIT_CTL_IDLE]++;
			client_free(c, r, x);
		}
	}
}

/* Pack the response behind its 4-byte length into x->out. */
static void respond(struct ctl_client *x, const Mcp__Ctl__Response *rsp)
{
	size_t n = mcp__ctl__response__get_packed_size(rsp);
	uint8_t *t = buf_reserve(&x->out, n + 4);

	if (!t)
		return;
	mcp_put_be32(t, (uint32_t)n);
	mcp__ctl__response__pack(rsp, t + 4);
	x->out.len += n + 4;
}

typedef void (*respond_fn)(struct mcpd *r, const void *arg, struct arena *a,
			   Mcp__Ctl__Response *rsp);

/* Build a response with fn and send it; out of memory, an ERROR saying so instead. The arena
 * lives on the heap (c->arena), which a longjmp leaves as it was. */
static void answer_with(struct mcpd *r, struct ctl_client *x, respond_fn fn, const void *arg)
{
	struct ctl *c = r->ctl;
	Mcp__Ctl__Response rsp = MCP__CTL__RESPONSE__INIT;
	jmp_buf oom;

	c->arena = (struct arena){ .oom = &oom };
	if (setjmp(oom)) {
		Mcp__Ctl__Response none = MCP__CTL__RESPONSE__INIT;

		afree(&c->arena);
		c->arena = (struct arena){ 0 };
		none.ok = false;
		none.error = (char *)"mcpd is out of memory";
		respond(x, &none);
		return;
	}
	fn(r, arg, &c->arena, &rsp);
	respond(x, &rsp);
	afree(&c->arena);
	c->arena = (struct arena){ 0 };
}

static void respond_handled(struct mcpd *r, const void *arg, struct arena *a,
			    Mcp__Ctl__Response *rsp)
{
	handle(r, arg, a, rsp);
}

static void respond_failure(struct mcpd *r, const void *arg, struct arena *a,
			    Mcp__Ctl__Response *rsp)
{
	(void)r;
	fail(a, rsp, "%s", (const char *)arg);
}

/* Answer a whole request. True when the connection went with it (a failed takeover). */
static bool answer(struct mcpd *r, struct ctl_client *x)
{
	const uint8_t *d = x->in.data + x->in.head;
	uint32_t n = mcp_be32_at(d);
	struct ctl_req q;
	struct err e;

	if (ctl_parse_request(d + 4, n, &q, &e)) {
		answer_with(r, x, respond_failure, e.msg);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_TAKEOVER) {
		/* A new mcpd: everything goes to it, and this one is done. If that fails, the
		 * connection closes (the new one gives up) and this one carries on. */
		buf_consume(&x->in, x->in.len);
		if (takeover_give(r, x->h.fd) == 0) {
			r->handed_over = true;
			return false;
		}
		client_free(r->ctl, r, x);
		return true;
	} else {
		answer_with(r, x, respond_handled, &q);
	}
	return false;
}

static void ctl_on_client(struct mcpd *r, struct handler *h, uint32_t events)
{
	struct ctl *c = r->ctl;
	struct ctl_client *x = (struct ctl_client *)h;

	if (events & EPOLLIN) {
		uint8_t *t = buf_reserve(&x->in, 16384);
		ssize_t n = t ? recv(x->h.fd, t, 16384, 0) : -1;

		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			client_free(c, r, x);
			return;
		}
		if (n > 0)
			x->in.len += (size_t)n;
		if (x->in.len >= 4 && !x->out.len) {
			const uint8_t *d = x->in.data + x->in.head;
			uint32_t want = mcp_be32_at(d);

			if (want > MAX_REQUEST) {
				char why[64];

				snprintf(why, sizeof(why), "request of %u bytes: more than %d", want,
					 MAX_REQUEST);
				answer_with(r, x, respond_failure, why);
			} else if (x->in.len >= 4 + want && answer(r, x)) {
				return;
			}
		}
	}
	while (x->out.len) {
		ssize_t n = send(x->h.fd, x->out.data + x->out.head, x->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &x->h };

			if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, x->h.fd, &ev))
				client_free(c, r, x); /* cannot wait for it: give up on this one */
			return;
		}
		if (n <= 0)
			break;
		buf_consume(&x->out, (size_t)n);
		if (!x->out.len) {
			client_free(c, r, x); /* one request per connection */
			return;
		}
	}
}

/* The control listener rests (paused) or listens again. */
static void ctl_listen(struct mcpd *r, struct ctl *c, bool paused)
{
	struct epoll_event ev = { .events = paused ? 0 : EPOLLIN, .data.ptr = &c->listen };

	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->listen.fd, &ev))
		pr_warn("control socket: cannot %s: %s", paused ? "pause" : "resume",
			strerror(errno));
	c->paused = paused;
}

/* Out of descriptors, a control client still hears why (through the one kept in reserve). */
static void refuse_client(struct mcpd *r, int fd)
{
	Mcp__Ctl__Response rsp = MCP__CTL__RESPONSE__INIT;
	uint8_t out[256];
	size_t n;

	(void)r;
	rsp.ok = false;
	rsp.error = (char *)"mcpd is out of file descriptors (raise LimitNOFILE, or lower "
			    "max_sessions); try again";
	n = mcp__ctl__response__get_packed_size(&rsp);
	if (n + 4 <= sizeof(out)) { /* it fits: a constant sentence */
		mcp_put_be32(out, (uint32_t)n);
		mcp__ctl__response__pack(&rsp, out + 4);
		n += 4;
	} else {
		n = 0;
	}
	loop_refuse(fd, out, n);
}

static void ctl_on_listen(struct mcpd *r, struct handler *h, uint32_t events)
{
	(void)h;
	(void)events;
	struct ctl *c = r->ctl;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(c->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *x;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0) {
			if (loop_out_of_descriptors(errno) &&
			    !mcpd_out_of_descriptors(r, c->listen.fd, errno, refuse_client))
				ctl_listen(r, c, true); /* until the next tick */
			return;
		}
		x = calloc(1, sizeof(*x));
		if (!x) {
			close(fd);
			return;
		}
		x->h.on_event = ctl_on_client;
		x->h.fd = fd;
		x->since_ms = mcp_now_ms();
		ev.data.ptr = &x->h;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(x);
			continue;
		}
		x->next = c->clients;
		if (c->clients)
			c->clients->prev = x;
		c->clients = x;
		if (++c->n_clients > MAX_CLIENTS) {
			struct ctl_client *oldest = c->clients;

			while (oldest->next)
				oldest = oldest->next;
			r->counters->limit_hits[LIMIT_CTL_IDLE]++;
			client_free(c, r, oldest);
		}
	}
}

/*
 * The control socket's directory must be one that only root or mcpd's user can write: in a
 * directory others may write (/tmp, say), anyone could take the socket's name first and keep
 * mcpd from starting, or put their own socket where mcpctl looks. 0, or -errno with e.
 */
static int private_dir(const char *dir, struct err *e)
{
	struct stat st;

	if (stat(dir, &st))
		return err_set(e, errno, "cannot use the directory %s: %s", dir, strerror(errno));
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		return err_set(e, EPERM,
			       "%s is writable by others than root and mcpd: anyone there could take "
			       "the control socket's name first; use a directory of mcpd's own "
			       "(default /run/mcp)",
			       dir);
	}
	return 0;
}

static int serve(struct mcpd *r, int fd, const char *path, struct err *e)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		close(fd);
		return err_set(e, ENOMEM, "cannot serve the control socket %s: out of memory",
			       path);
	}
	c->listen.on_event = ctl_on_listen;
	c->listen.fd = fd;
	snprintf(c->path, sizeof(c->path), "%s", path);
	ev.data.ptr = &c->listen;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = err_set(e, errno, "cannot watch the control socket %s: %s", path,
			      strerror(errno));
		close(fd);
		free(c);
		return err;
	}
	r->ctl = c;
	pr_info("control socket on %s", path);
	return 0;
}

int ctl_listen_fd(struct mcpd *r)
{
	struct ctl *c = r->ctl;

	return c ? c->listen.fd : -1;
}

int ctl_adopt(struct mcpd *r, int fd, struct err *e)
{
	return serve(r, fd, r->cfg.control, e);
}

int ctl_init(struct mcpd *r, struct err *e)
{
	const char *path = r->cfg.control;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;
	struct err why;
	int fd;

	if (!path[0])
		return 0; /* control = (empty): no control socket */
	if (strlen(path) >= sizeof(dir))
		return err_set(e, ENAMETOOLONG, "control socket path too long: %s", path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else
		strcpy(dir, "/");
	if (mkdir(dir, 0750) && errno != EEXIST)
		return err_set(e, errno, "cannot create %s for the control socket: %s", dir,
			       strerror(errno));
	if (private_dir(dir, &why))
		return err_set(e, why.code, "control socket %s refused: %s", path, why.msg);
	fd = mcp_unix_listen(path, 0660);
	if (fd == -EADDRINUSE)
		return err_set(e, EADDRINUSE, "control socket %s is in use by another mcpd", path);
	if (fd < 0)
		return err_set(e, -fd, "cannot serve the control socket %s: %s", path,
			       strerror(-fd));
	return serve(r, fd, path, e);
}

void ctl_free(struct mcpd *r)
{
	struct ctl *c = r->ctl;

	if (!c)
		return;
	while (c->clients)
		client_free(c, r, c->clients);
	loop_unwatch(r->epfd, c->listen.fd);
	close(c->listen.fd);
	unlink(c->path);
	free(c);
	r->ctl = NULL;
}
