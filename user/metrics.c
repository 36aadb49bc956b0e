// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /metrics in the Prometheus text format (version 0.0.4), from router_collect(): names
 * mcp_..., counters ending in _total, HELP and TYPE once per metric. libmicrohttpd runs
 * without threads of its own: its epoll fd sits in mcpd's epoll set and MHD_run() is called
 * when it is ready (and on every tick, for its timeouts), so a scrape reads the router's
 * state from the same thread that changes it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <microhttpd.h>
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "stats.h"

#define MAX_CONNECTIONS 256u /* at once, over every source */

struct metrics {
	struct MHD_Daemon *d;
	struct handler h;
};

struct page {
	char *buf;
	size_t len, cap;
	const struct metric *last;
	bool short_of_memory; /* the page could not grow: answered 500, not cut short */
};

static void metrics_run(struct router *r, struct handler *h, uint32_t events);

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
	struct router *r = cls;
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
		router_collect(r, sample, &p);
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

static int start(struct router *r, int listen_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL;
	struct metrics *m;

	if (!r->cfg.metrics.len)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		pr_err("cannot serve metrics on %s: out of memory", r->cfg.metrics.text);
		return -1;
	}
	if (r->cfg.metrics.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Slow or idle clients cannot keep a scraper out (Prometheus exporters do the same):
	 * a cap per source address, a short idle timeout, room for many sources. */
	if (listen_fd >= 0)
		m->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, r, MHD_OPTION_LISTEN_SOCKET,
					listen_fd, MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					r->cfg.metrics_per_source, MHD_OPTION_CONNECTION_TIMEOUT,
					r->cfg.metrics_timeout_s, MHD_OPTION_END);
	else
		m->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, r, MHD_OPTION_SOCK_ADDR,
					&r->cfg.metrics.ss, MHD_OPTION_CONNECTION_LIMIT,
					MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					r->cfg.metrics_per_source, MHD_OPTION_CONNECTION_TIMEOUT,
					r->cfg.metrics_timeout_s, MHD_OPTION_END);
	info = m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		pr_err("cannot serve metrics on %s", r->cfg.metrics.text);
		if (m->d)
			MHD_stop_daemon(m->d);
		free(m);
		return -1;
	}
	m->h.on_event = metrics_run;
	m->h.fd = info->epoll_fd;
	ev.data.ptr = &m->h;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, m->h.fd, &ev)) {
		pr_err("cannot serve metrics on %s: %s", r->cfg.metrics.text, strerror(errno));
		MHD_stop_daemon(m->d);
		free(m);
		return -1;
	}
	r->metrics = m;
	pr_info("metrics on http://%s/metrics", r->cfg.metrics.text);
	return 0;
}

int metrics_init(struct router *r)
{
	return start(r, -1);
}

int metrics_adopt(struct router *r, int fd)
{
	return start(r, fd);
}

int metrics_listen_fd(struct router *r)
{
	struct metrics *m = r->metrics;
	const union MHD_DaemonInfo *info;

	if (!m)
		return -1;
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_LISTEN_FD);
	return info ? info->listen_fd : -1;
}

void metrics_tick(struct router *r)
{
	struct metrics *m = r->metrics;

	if (m)
		MHD_run(m->d);
}

static void metrics_run(struct router *r, struct handler *h, uint32_t events)
{
	(void)h;
	(void)events;
	metrics_tick(r);
}

void metrics_free(struct router *r)
{
	struct metrics *m = r->metrics;

	if (!m)
		return;
	loop_unwatch(r->epfd, m->h.fd);
	MHD_stop_daemon(m->d);
	free(m);
	r->metrics = NULL;
}
