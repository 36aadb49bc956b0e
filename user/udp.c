// SPDX-License-Identifier: GPL-2.0-only
/*
 * MCP over UDP in mcpd (docs/protocol.md, "UDP"). One datagram is one frame. Each datagram that reaches
 * the listening socket (through the XDP guard where it is attached) is checked with the same
 * rule the guard uses (mcp_udp_check), PINGs are answered with PONGs, and requests are
 * relayed by opcode to a backend of their pool through a connected socket kept per
 * (client, pool), whose answers go back to that client from the router's port. Reads and
 * writes are batched with recvmmsg and sendmmsg. Relay sockets are bounded (udp_relays: the
 * least recently used makes room) and short-lived (udp_relay_idle_ms); with udp_verify only
 * sources that echo the cookie of their PONG are relayed (docs/operations.md, Under attack).
 */
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "anomaly.h"
#include "fdio.h"
#include "hash.h"
#include "log.h"
#include "pools.h"
#include "mcpd.h"
#include "udp.h"
#include "auth.h"
#include "kstats.h"
#include <sodium.h>

#define BATCH	 64
#define DGRAM_MAX (MCP_HDR_MAX_LEN + MCP_MAX_FRAME_LIMIT)
#define UPSTREAM_BUCKETS 4096
#define UDP_SECRET_LEN	 16 /* the key of udp_verify's cookies (libsodium crypto_shorthash) */

/* A listening socket per listen address. */
struct udp_listener {
	struct handler h;
	const struct mcp_addr *addr;
};

/* Per (client, pool), a socket connected to a backend, so its answers find their way back. */
struct upstream {
	struct handler h;
	struct sockaddr_storage client;
	socklen_t client_len;
	int listener; /* index in listeners */
	int pool;
	int backend;
	uint64_t last_ms;
	uint32_t id;		 /* written into the v2 `session` field of what it relays */
	uint32_t client_session; /* what the client wrote there, given back in its answers */
	struct upstream *next;	 /* hash chain */
	struct list_node lru;	 /* in relays, least recently used first */
};

struct udp {
	struct udp_listener listeners[MCP_MAX_LISTEN];
	int n_listeners;
	struct upstream *buckets[UPSTREAM_BUCKETS];
	uint32_t n_relays;
	struct list relays; /* the upstreams by last use */
	uint32_t next_id;
	uint8_t secret[UDP_SECRET_LEN];
	struct upstream *dead; /* closed, freed at the end of the loop iteration */
	/* What mcpd's own socket judged (the XDP guard's reasons), and what it relayed. */
	struct mcp_counter stats[MCP_XDP__COUNT];
	uint64_t no_route, relayed, answers, dropped_answers;
	uint64_t denied; /* requests without an identity where auth wants one */
	uint64_t given_count[MCP_XDP__COUNT], given_bytes[MCP_XDP__COUNT]; /* for a hand-over */
};

static void udp_on_event(struct mcpd *r, struct handler *h, uint32_t events);
static void upstream_on_readable(struct mcpd *r, struct handler *h, uint32_t events);

static uint8_t bufs[BATCH][DGRAM_MAX];

static void count(struct mcpd *r, uint32_t reason, size_t bytes)
{
	r->udp->stats[reason].count++;
	r->udp->stats[reason].bytes += bytes;
}

int udp_open(struct mcpd *r, const struct mcp_addr *a, struct err *e)
{
	struct udp_listener *l = &r->udp->listeners[r->udp->n_listeners];
	int err = loop_listen(r->epfd, a, SOCK_DGRAM, &l->h, udp_on_event, e);

	if (err)
		return err;
	l->addr = a;
	r->udp->n_listeners++;
	return 0;
}

int udp_adopt(struct mcpd *r, int fd, uint32_t index)
{
	struct udp_listener *l = &r->udp->listeners[r->udp->n_listeners];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->h };

	if (index >= (uint32_t)r->cfg.n_listen || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	l->h.on_event = udp_on_event;
	l->h.fd = fd;
	l->addr = &r->cfg.listen[index];
	r->udp->n_listeners++;
	return 0;
}

static uint32_t hash_client(const struct sockaddr_storage *ss, socklen_t len, int pool)
{
	return mcp_fnv1a((uint32_t)pool, ss, len) % UPSTREAM_BUCKETS;
}

/* ---- relay sockets: a hash by (client, pool), and a list by last use ------------------ */

static struct upstream *least_recent(struct mcpd *r)
{
	return list_entry(r->udp->relays.oldest, struct upstream, lru);
}

/* Out of the hash chain and the list, closed; freed once the batch is done (mcpd.c). */
static void upstream_drop(struct mcpd *r, struct upstream *u)
{
	uint32_t b = hash_client(&u->client, u->client_len, u->pool);

	for (struct upstream **pp = &r->udp->buckets[b]; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	list_unlink(&r->udp->relays, &u->lru);
	loop_unwatch(r->epfd, u->h.fd);
	close(u->h.fd);
	u->h.fd = -1;
	r->udp->n_relays--;
	/* Freed at the end of the loop iteration: an event for it may still be in this batch. */
	u->next = r->udp->dead;
	r->udp->dead = u;
}

/* Put a connected socket for (client, pool) in the table; at udp_relays, the socket used
 * least recently makes room (never a refusal: a flood of new sources only churns). */
static struct upstream *upstream_add(struct mcpd *r, int fd, int listener,
				     const struct sockaddr_storage *client, socklen_t len, int pool,
				     int backend, uint32_t id)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t b = hash_client(client, len, pool);
	struct upstream *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->h.on_event = upstream_on_readable;
	u->h.fd = fd;
	ev.data.ptr = &u->h;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(u);
		return NULL;
	}
	while (r->udp->n_relays >= r->cfg.udp_relays && least_recent(r)) {
		r->counters->limit_hits[LIMIT_UDP_RELAYS]++;
		upstream_drop(r, least_recent(r));
	}
	memcpy(&u->client, client, len);
	u->client_len = len;
	u->listener = listener;
	u->pool = pool;
	u->backend = backend;
	u->last_ms = mcp_now_ms();
	if (!id) {
		id = ++r->udp->next_id;
		if (!id)
			id = ++r->udp->next_id;
	}
	u->id = id;
	u->next = r->udp->buckets[b];
	r->udp->buckets[b] = u;
	list_append(&r->udp->relays, &u->lru);
	r->udp->n_relays++;
	return u;
}

/* The connected socket for (client, pool), made on first use. */
static struct upstream *upstream_for(struct mcpd *r, int listener,
				     const struct sockaddr_storage *client, socklen_t len, int pool)
{
	uint32_t b = hash_client(client, len, pool);
	const struct mcp_addr *a;
	struct upstream *u;
	int backend, fd;

	for (u = r->udp->buckets[b]; u; u = u->next)
		if (u->pool == pool && u->client_len == len && !memcmp(&u->client, client, len))
			return u;
	backend = pools_pick(r->pools, &r->cfg, pool, mcp_now_ms(), true);
	if (backend < 0)
		return NULL;
	a = &r->cfg.pools[pool].backends[backend];
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && least_recent(r)) {
		/* Out of descriptors: the least recent relay gives its up. */
		r->counters->limit_hits[LIMIT_UDP_RELAYS]++;
		upstream_drop(r, least_recent(r));
		fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->ss, a->len) ||
	    !(u = upstream_add(r, fd, listener, client, len, pool, backend, 0))) {
		pr_warn("udp: cannot reach backend %s: %s", a->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return u;
}

static int adopt_upstream(struct mcpd *r, int fd, int listener, int pool, int backend,
			  const void *client, size_t len, uint32_t id, uint32_t client_session)
{
	struct sockaddr_storage ss;
	struct upstream *u;

	if (listener < 0 || listener >= r->udp->n_listeners || pool < 0 || pool >= r->cfg.n_pools ||
	    backend < 0 || backend >= r->cfg.pools[pool].n_backends || len > sizeof(ss))
		return -1;
	memcpy(&ss, client, len);
	u = upstream_add(r, fd, listener, &ss, (socklen_t)len, pool, backend, id);
	if (!u)
		return -1;
	u->client_session = client_session;
	if (id > r->udp->next_id)
		r->udp->next_id = id;
	return 0;
}

/* ---- udp_verify: a cookie per source, handed out in PONGs ----------------------------- */

#define COOKIE_EPOCH_MS 30000 /* a cookie is good for this epoch and the next */

uint32_t udp_cookie(const struct mcpd *r, const struct sockaddr_storage *ss, uint64_t epoch)
{
	uint8_t msg[1 + 16 + 2 + 8] = { 0 }, out[crypto_shorthash_BYTES];
	uint32_t c;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		msg[0] = 4;
		memcpy(msg + 1, &a->sin_addr, 4);
		memcpy(msg + 17, &a->sin_port, 2);
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;

		msg[0] = 6;
		memcpy(msg + 1, &a->sin6_addr, 16);
		memcpy(msg + 17, &a->sin6_port, 2);
	}
	memcpy(msg + 19, &epoch, 8);
	crypto_shorthash(out, msg, sizeof(msg), r->udp->secret);
	memcpy(&c, out, sizeof(c));
	return c ? c : 1; /* 0 is what a client sends that has none */
}

/* Has this request's source shown that it receives what is sent to it: does the v2
 * `session` field carry the cookie its PONG carried (this epoch or the last)? */
static bool udp_verified(struct mcpd *r, const uint8_t *d, const struct sockaddr_storage *from)
{
	uint64_t epoch = mcp_now_ms() / COOKIE_EPOCH_MS;
	uint32_t got;

	if (!r->cfg.udp_verify)
		return true;
	if (d[MCP_OFF_VERSION] != MCP_VERSION_2)
		return false; /* v1 has no field to carry it */
	got = mcp_be32_at(d + MCP_OFF_SESSION);
	return got == udp_cookie(r, from, epoch) || got == udp_cookie(r, from, epoch - 1);
}

void udp_on_readable(struct mcpd *r, struct udp_listener *l)
{
	struct mmsghdr in[BATCH], out[BATCH];
	struct sockaddr_storage from[BATCH];
	struct iovec iov[BATCH];
	uint64_t now = mcp_now_ms();
	int n, n_out = 0;

	mmsg_prepare(in, iov, &bufs[0][0], DGRAM_MAX, from, BATCH);
	n = recvmmsg(l->h.fd, in, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		uint8_t *d = bufs[i];
		uint32_t len = in[i].msg_len;
		uint32_t verdict = mcp_udp_check(d, len);
		struct upstream *u;
		int slot;

		if (blocklist_match(r->blocks, (struct sockaddr *)&from[i], now))
			continue;
		if (verdict == MCP_XDP_TX_PONG) {
			/* Answered in place, never larger than the PING; with udp_verify a v2 PONG
			 * carries the source's cookie in `session`. */
			d[MCP_OFF_OPCODE] = mcp_answer_opcode(d[MCP_OFF_OPCODE]);
			if (r->cfg.udp_verify && d[MCP_OFF_VERSION] == MCP_VERSION_2)
				mcp_put_be32(d + MCP_OFF_SESSION,
					     udp_cookie(r, &from[i], now / COOKIE_EPOCH_MS));
			out[n_out].msg_hdr = in[i].msg_hdr;
			iov[i].iov_len = len;
			out[n_out].msg_len = 0;
			n_out++;
			count(r, verdict, len);
			continue;
		}
		if (verdict != MCP_XDP_PASS_UDP) {
			count(r, verdict, len);
			anomaly_bad_frame(r, (struct sockaddr *)&from[i]);
			continue;
		}
		if (!udp_verified(r, d, &from[i])) {
			r->counters->limit_hits[LIMIT_UDP_UNVERIFIED]++;
			continue;
		}
		anomaly_frame(r, MCP_DIR_TO_BACKEND, d[MCP_OFF_OPCODE]);
		slot = r->cfg.routes[d[MCP_OFF_OPCODE]];
		u = slot ? upstream_for(r, (int)(l - r->udp->listeners), &from[i], in[i].msg_hdr.msg_namelen,
					slot - 1)
			 : NULL;
		if (!u) {
			r->udp->no_route++;
			continue;
		}
		if (!auth_udp_allowed(&r->cfg, d[MCP_OFF_OPCODE], slot - 1)) {
			r->udp->denied++; /* no answer: an unauthenticated source gets nothing */
			continue;
		}
		count(r, verdict, len);
		/* v2: mcpd writes `session` (the relay's id), as on TCP; the answer gets back what
		 * the client wrote there. */
		if (d[MCP_OFF_VERSION] == MCP_VERSION_2) {
			u->client_session = mcp_be32_at(d + MCP_OFF_SESSION);
			mcp_put_be32(d + MCP_OFF_SESSION, u->id);
		}
		if (send(u->h.fd, d, len, MSG_DONTWAIT) == (ssize_t)len)
			r->udp->relayed++;
		u->last_ms = now;
		list_touch(&r->udp->relays, &u->lru);
	}
	if (n_out && sendmmsg(l->h.fd, out, (unsigned int)n_out, MSG_DONTWAIT) < 0)
		pr_debug("udp: sendmmsg: %s", strerror(errno));
}

static void udp_on_event(struct mcpd *r, struct handler *h, uint32_t events)
{
	(void)events;
	udp_on_readable(r, (struct udp_listener *)h);
}

static void upstream_on_readable(struct mcpd *r, struct handler *h, uint32_t events)
{
	struct upstream *u = (struct upstream *)h;

	(void)events;
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iov[BATCH];
	int n, n_out = 0;

	mmsg_prepare(in, iov, &bufs[0][0], DGRAM_MAX, NULL, BATCH);
	n = recvmmsg(u->h.fd, in, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0 && errno == ECONNREFUSED) {
		/* ICMP port unreachable: this backend is not there. */
		pools_set_down(r->pools, u->pool, u->backend, mcp_now_ms() + r->cfg.backend_down_ms,
			       true);
		pr_warn("udp: backend %s refused; down for %u ms",
			r->cfg.pools[u->pool].backends[u->backend].text, r->cfg.backend_down_ms);
		upstream_drop(r, u); /* the client's next datagram picks another backend */
		return;
	}
	for (int i = 0; i < n; i++) {
		uint8_t *d = bufs[i];
		uint32_t len = in[i].msg_len;

		/* Only a well-formed response, for this relay, goes back to the client. */
		if (len < MCP_HDR_V1_LEN ||
		    mcp_check_header(d, 0, MCP_MAX_FRAME_LIMIT, MCP_PEER_BACKEND) != MCP_CHECK_OK ||
		    len != mcp_hdr_len(d[MCP_OFF_VERSION]) + mcp_hdr_length(d) ||
		    (d[MCP_OFF_VERSION] == MCP_VERSION_2 &&
		     mcp_be32_at(d + MCP_OFF_SESSION) != u->id)) {
			r->udp->dropped_answers++;
			continue;
		}
		if (d[MCP_OFF_VERSION] == MCP_VERSION_2)
			mcp_put_be32(d + MCP_OFF_SESSION, u->client_session);
		memset(&out[n_out], 0, sizeof(out[n_out]));
		iov[i].iov_len = len;
		out[n_out].msg_hdr.msg_iov = &iov[i];
		out[n_out].msg_hdr.msg_iovlen = 1;
		out[n_out].msg_hdr.msg_name = &u->client;
		out[n_out].msg_hdr.msg_namelen = u->client_len;
		n_out++;
	}
	if (n_out) {
		int sent = sendmmsg(r->udp->listeners[u->listener].h.fd, out, (unsigned int)n_out, MSG_DONTWAIT);

		if (sent > 0)
			r->udp->answers += (uint64_t)sent;
	}
	u->last_ms = mcp_now_ms();
	list_touch(&r->udp->relays, &u->lru);
}

/* Relay sockets unused for udp_relay_idle_ms go: the oldest are at the front of the list. */
void udp_tick(struct mcpd *r, uint64_t now)
{
	while (least_recent(r) && now - least_recent(r)->last_ms > r->cfg.udp_relay_idle_ms)
		upstream_drop(r, least_recent(r));
}

void udp_close_all(struct mcpd *r)
{
	while (least_recent(r))
		upstream_drop(r, least_recent(r));
	for (int i = 0; i < r->udp->n_listeners; i++) {
		loop_unwatch(r->epfd, r->udp->listeners[i].h.fd);
		close(r->udp->listeners[i].h.fd);
	}
	r->udp->n_listeners = 0;
}

int udp_init(struct mcpd *r)
{
	r->udp = calloc(1, sizeof(*r->udp));
	if (!r->udp)
		return -ENOMEM;
	randombytes_buf(r->udp->secret, sizeof(r->udp->secret));
	return 0;
}

void udp_reap(struct mcpd *r)
{
	while (r->udp && r->udp->dead) {
		struct upstream *u = r->udp->dead;

		r->udp->dead = u->next;
		free(u);
	}
}

void udp_free(struct mcpd *r)
{
	if (!r->udp)
		return;
	udp_close_all(r);
	udp_reap(r);
	free(r->udp);
	r->udp = NULL;
}

void udp_serve(struct mcpd *r)
{
	for (int i = 0; i < r->udp->n_listeners; i++)
		udp_on_readable(r, &r->udp->listeners[i]);
}

uint32_t udp_pools_in_use(struct mcpd *r)
{
	uint32_t used = 0;

	for (int b = 0; b < UPSTREAM_BUCKETS; b++)
		for (struct upstream *u = r->udp->buckets[b]; u; u = u->next)
			used |= 1u << u->pool;
	return used;
}

static const struct metric
	m_udp = { "udp_datagrams_total", "counter",
		  "Datagrams mcpd's UDP socket judged itself, by reason." },
	m_udp_relayed = { "udp_relayed_total", "counter", "UDP requests relayed to a backend." },
	m_udp_answers = { "udp_answers_total", "counter", "UDP answers relayed to a client." },
	m_udp_denied = { "udp_denied_total", "counter",
			 "UDP requests dropped: auth wants an identity a datagram cannot carry "
			 "(required), or [client anonymous] does not allow them (optional)." },
	m_udp_no_route = { "udp_no_route_total", "counter",
			   "UDP requests dropped: no route or no backend." };

void udp_collect(struct mcpd *r, metric_fn fn, void *ctx)
{
	struct udp *u = r->udp;

	for (int i = 0; i < MCP_XDP__COUNT; i++) {
		struct label l = { "reason", mcp_xdp_reason_name(i) };

		fn(ctx, &m_udp, &l, 1, u->stats[i].count);
	}
	fn(ctx, &m_udp_relayed, NULL, 0, u->relayed);
	fn(ctx, &m_udp_answers, NULL, 0, u->answers);
	fn(ctx, &m_udp_no_route, NULL, 0, u->no_route);
	fn(ctx, &m_udp_denied, NULL, 0, u->denied);
}

/* ---- hot upgrade ------------------------------------------------------------------------ */

int udp_n_listeners(struct mcpd *r)
{
	return r->udp->n_listeners;
}

int udp_listener_fd(struct mcpd *r, int i)
{
	return r->udp->listeners[i].h.fd;
}

int udp_give(struct mcpd *r, Mcp__Ctl__Takeover *t, Mcp__Ctl__TakeoverCounters *k,
	     takeover_fd_fn add_fd, void *ctx)
{
	struct udp *x = r->udp;

	t->udp_secret.data = x->secret;
	t->udp_secret.len = sizeof(x->secret);
	for (int i = 0; i < MCP_XDP__COUNT; i++) {
		x->given_count[i] = x->stats[i].count;
		x->given_bytes[i] = x->stats[i].bytes;
	}
	k->udp_count = x->given_count;
	k->n_udp_count = MCP_XDP__COUNT;
	k->udp_bytes = x->given_bytes;
	k->n_udp_bytes = MCP_XDP__COUNT;
	k->udp_no_route = x->no_route;
	k->udp_relayed = x->relayed;
	k->udp_answers = x->answers;
	k->udp_dropped_answers = x->dropped_answers;

	/* The relay sockets: a backend's answer in flight comes back to one of them. */
	t->upstreams = calloc(x->n_relays ? (size_t)x->n_relays : 1, sizeof(*t->upstreams));
	if (!t->upstreams)
		return -1;
	for (int b = 0; b < UPSTREAM_BUCKETS; b++)
		for (struct upstream *u = x->buckets[b]; u; u = u->next) {
			Mcp__Ctl__TakeoverUpstream *m = calloc(1, sizeof(*m));

			if (!m || t->n_upstreams >= (size_t)x->n_relays) {
				free(m);
				return -1;
			}
			mcp__ctl__takeover_upstream__init(m);
			m->fd_index = add_fd(ctx, u->h.fd);
			m->listener = (uint32_t)u->listener;
			m->pool = (uint32_t)u->pool;
			m->backend = (uint32_t)u->backend;
			m->client.data = (uint8_t *)&u->client;
			m->client.len = u->client_len;
			m->id = u->id;
			m->client_session = u->client_session;
			t->upstreams[t->n_upstreams++] = m;
		}
	return 0;
}

void udp_given(Mcp__Ctl__Takeover *t)
{
	for (size_t i = 0; i < t->n_upstreams; i++)
		free(t->upstreams[i]);
	free(t->upstreams);
	t->upstreams = NULL;
	t->n_upstreams = 0;
}

void udp_take(struct mcpd *r, const Mcp__Ctl__Takeover *t, const int *fds)
{
	const Mcp__Ctl__TakeoverCounters *k = t->counters;
	struct udp *x = r->udp;

	if (t->udp_secret.len == sizeof(x->secret))
		memcpy(x->secret, t->udp_secret.data, sizeof(x->secret));
	for (size_t i = 0; k && i < k->n_udp_count && i < MCP_XDP__COUNT; i++)
		x->stats[i].count = k->udp_count[i];
	for (size_t i = 0; k && i < k->n_udp_bytes && i < MCP_XDP__COUNT; i++)
		x->stats[i].bytes = k->udp_bytes[i];
	if (k) {
		x->no_route = k->udp_no_route;
		x->relayed = k->udp_relayed;
		x->answers = k->udp_answers;
		x->dropped_answers = k->udp_dropped_answers;
	}
	for (size_t i = 0; i < t->n_upstreams; i++) {
		const Mcp__Ctl__TakeoverUpstream *m = t->upstreams[i];

		if (m->fd_index >= t->n_fds)
			continue;
		if (adopt_upstream(r, fds[m->fd_index], (int)m->listener, (int)m->pool,
				   (int)m->backend, m->client.data, m->client.len, m->id,
				   m->client_session)) {
			pr_warn("takeover: a UDP relay socket has no place in this config; closed");
			close(fds[m->fd_index]);
		}
	}
}
