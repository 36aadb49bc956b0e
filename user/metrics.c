// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /metrics in the Prometheus text format (version 0.0.4), from mcpd_collect(): names
 * mcp_..., counters ending in _total, HELP and TYPE once per metric. libmicrohttpd runs
 * without threads of its own: its epoll fd sits in mcpd's epoll set and MHD_run() is called
 * when it is ready (and on every tick, for its timeouts), so a scrape reads the router's
 * state from the same thread that changes it. mcpd owns the listening socket and hands each
 * scraper to libmicrohttpd (MHD_add_connection), so it is mcpd that refuses when out of
 * descriptors, and the socket passes to a new mcpd in an upgrade.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "mcpd.h"
#include "stats.h"

#define MAX_CONNECTIONS 256u /* at once, over every source */

struct metrics {
	struct MHD_Daemon *d;
	struct handler h;      /* libmicrohttpd's epoll fd: its connections */
	struct handler listen; /* the listening socket: accepted by mcpd (metrics_accept) */
	bool paused;	       /* out of descriptors: not accepting until the next tick */
};

struct page {
	char *buf;
	size_t len, cap;
	const struct metric *last;
	bool short_of_memory; /* the page could not grow: answered 500, not cut short */
};

static void metrics_run(struct mcpd *r, struct handler *h, uint32_t events);

static void put(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct page *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t cap;
		char *grown;

		if (p->short_of_memory)
			return;
		va_start(ap, fmt);
		n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < p->cap - p->len)
			break;
		cap = p->cap * 2 + (size_t)n + 1;
		grown = realloc(p->buf, cap);
		if (!grown) {
			p->short_of_memory = true;
			return;
		}
		p->buf = grown;
		p->cap = cap;
	}
	p->len += (size_t)n;
}

static void sample(void *ctx, const struct metric *m, const struct label *labels, int n,
		   uint64_t value)
{
	struct page *p = ctx;

	if (p->last != m) {
		put(p, "# HELP mcp_%s %s\n# TYPE mcp_%s %s\n", m->name, m->help, m->name, m->type);
		p->last = m;
	}
	put(p, "mcp_%s", m->name);
	for (int i = 0; i < n; i++)
		put(p, "%s%s=\"%s\"", i ? "," : "{", labels[i].key, labels[i].value);
	put(p, "%s %llu\n", n ? "}" : "", (unsigned long long)value);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct mcpd *r = cls;
	struct page p = { .cap = 16384 };
	struct MHD_Response *rsp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	p.buf = malloc(p.cap);
	if (!p.buf)
		return MHD_NO;
	p.buf[0] = '\0';
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		put(&p, "only GET\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		put(&p, "mcpd serves /metrics\n");
	} else {
		mcpd_collect(r, sample, &p);
	}
	if (p.short_of_memory) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		p.len = (size_t)snprintf(p.buf, p.cap, "mcpd is out of memory\n");
	}
	rsp = MHD_create_response_from_buffer(p.len, p.buf, MHD_RESPMEM_MUST_FREE);
	if (!rsp) {
		free(p.buf);
		return MHD_NO;
	}
	MHD_add_response_header(rsp, "Content-Type",
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						      : "text/plain");
	ret = MHD_queue_response(conn, status, rsp);
	MHD_destroy_response(rsp);
	return ret;
}

/* Out of descriptors, a scraper still hears why (through the descriptor kept in reserve). */
static void refuse_scrape(struct mcpd *r, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "Content-Type: text/plain\r\nConnection: close\r\n"
				   "Content-Length: 32\r\n\r\n"
				   "mcpd is out of file descriptors\n";

	(void)r;
	loop_refuse(fd, busy, sizeof(busy) - 1);
}

static void metrics_listen(struct mcpd *r, struct metrics *m, bool paused)
{
	struct epoll_event ev = { .events = paused ? 0 : EPOLLIN, .data.ptr = &m->listen };

	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, m->listen.fd, &ev))
		pr_warn("metrics: cannot %s: %s", paused ? "pause" : "resume", strerror(errno));
	m->paused = paused;
}

/* mcpd accepts scrapers itself and hands them to libmicrohttpd: out of descriptors, it is
 * mcpd that refuses and rests (MHD, accepting on its own, would retry at once and spin). */
static void metrics_accept(struct mcpd *r, struct handler *h, uint32_t events)
{
	struct metrics *m = r->metrics;

	(void)h;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(m->listen.fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (loop_out_of_descriptors(errno) &&
			    !mcpd_out_of_descriptors(r, m->listen.fd, errno, refuse_scrape))
				metrics_listen(r, m, true); /* until the next tick */
			break;
		}
		/* MHD closes it whatever happens, and applies the per-source cap. */
		if (MHD_add_connection(m->d, fd, (struct sockaddr *)&ss, len) != MHD_YES)
			pr_debug("metrics: a scrape not taken: %s", strerror(errno));
	}
	MHD_run(m->d);
}

static int start(struct mcpd *r, int listen_fd, struct err *e)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const union MHD_DaemonInfo *info;
	struct metrics *m;
	int err;

	if (!r->cfg.metrics.len)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		if (listen_fd >= 0)
			close(listen_fd);
		return err_set(e, ENOMEM, "cannot serve metrics on %s: out of memory",
			       r->cfg.metrics.text);
	}
	m->listen.on_event = metrics_accept;
	m->listen.fd = listen_fd >= 0 ? listen_fd : mcp_addr_bind(&r->cfg.metrics, SOCK_STREAM, true);
	if (m->listen.fd < 0) {
		err = err_set(e, -m->listen.fd, "cannot serve metrics on %s: %s",
			      r->cfg.metrics.text, strerror(-m->listen.fd));
		free(m);
		return err;
	}
	/* Slow or idle clients cannot keep a scraper out (Prometheus exporters do the same):
	 * a cap per source address, a short idle timeout, room for many sources. */
	m->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, answer, r,
				MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, r->cfg.metrics_per_source,
				MHD_OPTION_CONNECTION_TIMEOUT, r->cfg.metrics_timeout_s,
				MHD_OPTION_END);
	info = m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		err = err_set(e, EIO, "cannot serve metrics on %s: libmicrohttpd would not start",
			      r->cfg.metrics.text);
		goto fail;
	}
	m->h.on_event = metrics_run;
	m->h.fd = info->epoll_fd;
	ev.data.ptr = &m->h;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, m->h.fd, &ev))
		goto fail_epoll;
	ev.data.ptr = &m->listen;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, m->listen.fd, &ev)) {
		loop_unwatch(r->epfd, m->h.fd);
		goto fail_epoll;
	}
	r->metrics = m;
	pr_info("metrics on http://%s/metrics", r->cfg.metrics.text);
	return 0;
fail_epoll:
	err = err_set(e, errno, "cannot serve metrics on %s: %s", r->cfg.metrics.text,
		      strerror(errno));
fail:
	if (m->d)
		MHD_stop_daemon(m->d);
	close(m->listen.fd);
	free(m);
	return err;
}

int metrics_init(struct mcpd *r, struct err *e)
{
	return start(r, -1, e);
}

int metrics_adopt(struct mcpd *r, int fd, struct err *e)
{
	return start(r, fd, e);
}

int metrics_listen_fd(struct mcpd *r)
{
	return r->metrics ? r->metrics->listen.fd : -1;
}

void metrics_tick(struct mcpd *r)
{
	struct metrics *m = r->metrics;

	if (!m)
		return;
	if (m->paused)
		metrics_listen(r, m, false);
	MHD_run(m->d);
}

static void metrics_run(struct mcpd *r, struct handler *h, uint32_t events)
{
	struct metrics *m = r->metrics;

	(void)h;
	(void)events;
	MHD_run(m->d);
}

void metrics_free(struct mcpd *r)
{
	struct metrics *m = r->metrics;

	if (!m)
		return;
	loop_unwatch(r->epfd, m->h.fd);
	loop_unwatch(r->epfd, m->listen.fd);
	MHD_stop_daemon(m->d);
	close(m->listen.fd);
	free(m);
	r->metrics = NULL;
}
