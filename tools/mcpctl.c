// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpctl: look at and steer a running router, through mcpd's control socket
 * (length-prefixed protobuf, proto/control.proto). `mcpctl maps` reads the kernel's counters
 * straight from the maps pinned under the pin root (-p, default /sys/fs/bpf/mcp), with or
 * without a daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "addr.h"
#include <time.h>
#include <unistd.h>
#include "ctl_request.h"
#include "control.pb-c.h"
#include "fdio.h"
#include "frame.h"
#include "kstats.h"
#include "version.h"
#include "mcpctl_token.h"

static int json;
static const char *pin_root = MCP_PIN_DIR;

static int read_or_explain(struct mcp_kstats *k)
{
	int err = mcp_kstats_read(pin_root, k);

	if (err)
		fprintf(stderr,
			"mcpctl: cannot read the counters in %s: %s\n"
			"mcpctl: is mcpd running with the bpf data path (and are you root)?\n",
			pin_root, strerror(-err));
	return err;
}

static const char *dir_name(int dir)
{
	return dir == MCP_DIR_TO_BACKEND ? "to_backend" : "to_client";
}

static int cmd_maps(void)
{
	struct mcp_kstats *k = calloc(1, sizeof(*k));

	if (!k || read_or_explain(k))
		return 1;
	if (json) {
		json_object *o = json_object_new_object(), *dp = json_object_new_object(),
			    *ops = json_object_new_array();

		for (int r = 0; r < MCP_DP__COUNT; r++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "skbs", json_object_new_int64((int64_t)k->dp[r].count));
			json_object_object_add(e, "bytes", json_object_new_int64((int64_t)k->dp[r].bytes));
			json_object_object_add(dp, mcp_dp_reason_name(r), e);
		}
		for (int d = 0; d < MCP_DIR__COUNT; d++)
			for (int op = 0; op < 256; op++) {
				json_object *e;

				if (!k->op[d][op].count)
					continue;
				e = json_object_new_object();
				json_object_object_add(e, "direction", json_object_new_string(dir_name(d)));
				json_object_object_add(e, "opcode", json_object_new_int(op));
				json_object_object_add(e, "name",
						       json_object_new_string(mcp_opcode_name((uint8_t)op)));
				json_object_object_add(e, "frames",
						       json_object_new_int64((int64_t)k->op[d][op].count));
				json_object_object_add(e, "bytes",
						       json_object_new_int64((int64_t)k->op[d][op].bytes));
				json_object_array_add(ops, e);
			}
		if (k->have_sockmap) {
			json_object_object_add(o, "datapath", dp);
			json_object_object_add(o, "opcodes", ops);
		} else {
			json_object_put(dp);
			json_object_put(ops);
		}
		if (k->have_inline) {
			json_object *x = json_object_new_object();

			for (int r = 0; r < MCP_INLINE__COUNT; r++) {
				json_object *e = json_object_new_object();

				json_object_object_add(e, "runs",
						       json_object_new_int64((int64_t)k->inl[r].count));
				json_object_object_add(e, "bytes",
						       json_object_new_int64((int64_t)k->inl[r].bytes));
				json_object_object_add(x, mcp_inline_reason_name(r), e);
			}
			json_object_object_add(o, "inline", x);
		}
		if (k->have_xdp) {
			json_object *x = json_object_new_object();

			for (int r = 0; r < MCP_XDP__COUNT; r++) {
				json_object *e = json_object_new_object();

				json_object_object_add(e, "packets",
						       json_object_new_int64((int64_t)k->xdp[r].count));
				json_object_object_add(e, "bytes",
						       json_object_new_int64((int64_t)k->xdp[r].bytes));
				json_object_object_add(x, mcp_xdp_reason_name(r), e);
			}
			json_object_object_add(o, "xdp", x);
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else if (k->have_sockmap) {
		printf("%-16s %14s %16s\n", "fast path", "skbs", "bytes");
		for (int r = 0; r < MCP_DP__COUNT; r++)
			printf("%-16s %14llu %16llu\n", mcp_dp_reason_name(r),
			       (unsigned long long)k->dp[r].count, (unsigned long long)k->dp[r].bytes);
		printf("\n%-11s %-6s %-10s %14s %16s\n", "direction", "opcode", "name", "frames",
		       "bytes");
		for (int d = 0; d < MCP_DIR__COUNT; d++)
			for (int op = 0; op < 256; op++)
				if (k->op[d][op].count)
					printf("%-11s 0x%02x   %-10s %14llu %16llu\n", dir_name(d), op,
					       mcp_opcode_name((uint8_t)op),
					       (unsigned long long)k->op[d][op].count,
					       (unsigned long long)k->op[d][op].bytes);
	}
	if (!json && k->have_inline) {
		printf("\n%-16s %14s %16s\n", "inline path", "runs", "bytes");
		for (int r = 0; r < MCP_INLINE__COUNT; r++)
			printf("%-16s %14llu %16llu\n", mcp_inline_reason_name(r),
			       (unsigned long long)k->inl[r].count, (unsigned long long)k->inl[r].bytes);
	}
	if (!json && k->have_xdp) {
		printf("\n%-16s %14s %16s\n", "xdp guard", "packets", "bytes");
		for (int r = 0; r < MCP_XDP__COUNT; r++)
			printf("%-16s %14llu %16llu\n", mcp_xdp_reason_name(r),
			       (unsigned long long)k->xdp[r].count, (unsigned long long)k->xdp[r].bytes);
	}
	free(k);
	return 0;
}

/* ---- the control socket --------------------------------------------------------------- */

static const char *sock_path = MCP_DEFAULT_CONTROL;
static int quiet; /* no message when mcpd cannot be asked (an upgrade polls through it) */

/* One request, one response. NULL (with a message printed) when mcpd cannot be asked. */
static Mcp__Ctl__Response *ask(const Mcp__Ctl__Request *q)
{
	size_t n = mcp__ctl__request__get_packed_size(q), len;
	uint8_t *req = malloc(n ? n : 1), *ans = NULL;
	Mcp__Ctl__Response *rsp = NULL;
	struct timeval tv = { .tv_sec = 10 };
	int fd = -1;
	bool sent;

	if (!req)
		return NULL;
	fd = mcp_unix_connect(sock_path);
	if (fd < 0) {
		if (!quiet)
			fprintf(stderr, "mcpctl: cannot reach mcpd at %s: %s%s\n", sock_path,
				strerror(-fd), fd == -ENOENT || fd == -ECONNREFUSED
						       ? " (is mcpd running? -s SOCKET?)" : "");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	mcp__ctl__request__pack(q, req);
	/* mcpd may answer before it takes the request (out of descriptors, it refuses at once and
	 * closes): its answer is read whether or not the request went in whole. */
	sent = !fd_write_msg(fd, req, n) || errno == EPIPE || errno == ECONNRESET;
	if (!sent || fd_read_msg(fd, &ans, &len, 64u << 20)) {
		if (!quiet)
			fprintf(stderr, "mcpctl: mcpd at %s did not answer, or not in whole\n",
				sock_path);
		goto out;
	}
	rsp = mcp__ctl__response__unpack(NULL, len, ans);
	if (!rsp)
		fprintf(stderr, "mcpctl: a malformed answer from mcpd\n");
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(ans);
	return rsp;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
}

#define J_STR(o, k, v) json_object_object_add((o), (k), json_object_new_string((v) ? (v) : ""))
#define J_INT(o, k, v) json_object_object_add((o), (k), json_object_new_int64((int64_t)(v)))
#define J_BOOL(o, k, v) json_object_object_add((o), (k), json_object_new_boolean(v))

static void show_status(const Mcp__Ctl__Status *s)
{
	if (json) {
		json_object *o = json_object_new_object();

		J_STR(o, "version", s->version);
		J_STR(o, "datapath", s->datapath);
		J_STR(o, "xdp", s->xdp);
		J_INT(o, "uptime_s", s->uptime_s);
		J_INT(o, "sessions", s->sessions);
		J_INT(o, "sessions_inline", s->sessions_inline);
		J_INT(o, "sessions_kernel", s->sessions_kernel);
		J_INT(o, "sessions_mcpd", s->sessions_mcpd);
		J_STR(o, "inline_path", s->inline_path);
		J_INT(o, "sessions_total", s->sessions_total);
		J_INT(o, "sessions_refused", s->sessions_refused);
		J_STR(o, "config", s->config);
		J_INT(o, "pid", s->pid);
		J_STR(o, "upgrade", s->upgrade);
		J_INT(o, "fastpath_sockets", s->fastpath_sockets);
		J_INT(o, "fastpath_capacity", s->fastpath_capacity);
		json_object *l = json_object_new_object();
		for (size_t i = 0; i < s->n_limits; i++)
			J_INT(l, s->limits[i]->name, s->limits[i]->hits);
		json_object_object_add(o, "limits_hit", l);
		print_json(o);
		return;
	}
	printf("mcpd %s, pid %u, up %llu s, config %s\n", s->version, s->pid,
	       (unsigned long long)s->uptime_s, s->config);
	printf("data path   %s\n", s->datapath);
	if (s->inline_path[0])
		printf("inline      local sessions, processes in %s\n", s->inline_path);
	printf("xdp guard   %s\n", s->xdp[0] ? s->xdp : "not attached");
	printf("sessions    %u open, %llu since start, %llu refused\n", s->sessions,
	       (unsigned long long)s->sessions_total, (unsigned long long)s->sessions_refused);
	printf("paths       %u inline, %u kernel, %u mcpd\n", s->sessions_inline, s->sessions_kernel,
	       s->sessions_mcpd);
	if (s->fastpath_capacity)
		printf("fast path   %u sockets in the maps, of %u\n", s->fastpath_sockets,
		       s->fastpath_capacity);
	if (s->upgrade[0])
		printf("upgrade     %s\n", s->upgrade);
	for (size_t i = 0; i < s->n_limits; i++)
		printf("%s %s %llu", i ? "," : "limits hit ", s->limits[i]->name,
		       (unsigned long long)s->limits[i]->hits);
	if (s->n_limits)
		printf("\n");
}

static Mcp__Ctl__Response *ask_status(void)
{
	Mcp__Ctl__Request q = MCP__CTL__REQUEST__INIT;
	Mcp__Ctl__Response *r;

	q.command = MCP__CTL__COMMAND__COMMAND_STATUS;
	r = ask(&q);
	if (r && !r->status) {
		mcp__ctl__response__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

/*
 * mcpd starts its own binary anew with --takeover; wait until the new one answers on the
 * control socket (it has every session then) or the old one reports that it failed.
 */
static int cmd_upgrade(int wait_s)
{
	Mcp__Ctl__Request q = MCP__CTL__REQUEST__INIT;
	Mcp__Ctl__Response *r = ask_status();
	uint32_t old_pid, new_pid;
	struct timespec start, now;
	char failed[128], old_version[64];

	if (!r)
		return 1;
	old_pid = r->status->pid;
	snprintf(old_version, sizeof(old_version), "%s", r->status->version);
	mcp__ctl__response__free_unpacked(r, NULL);
	q.command = MCP__CTL__COMMAND__COMMAND_UPGRADE;
	r = ask(&q);
	if (!r)
		return 1;
	if (!r->ok) {
		fprintf(stderr, "mcpctl: upgrade: %s\n", r->error);
		mcp__ctl__response__free_unpacked(r, NULL);
		return 1;
	}
	new_pid = (uint32_t)strtoul(r->message, NULL, 10);
	mcp__ctl__response__free_unpacked(r, NULL);
	snprintf(failed, sizeof(failed), "failed: pid %u ", new_pid);
	clock_gettime(CLOCK_MONOTONIC, &start);
	quiet = 1;
	for (;;) {
		r = ask_status();
		if (r && r->status->pid == new_pid) {
			if (json) {
				json_object *o = json_object_new_object();

				J_BOOL(o, "ok", true);
				J_INT(o, "old_pid", old_pid);
				J_INT(o, "pid", new_pid);
				J_INT(o, "sessions", r->status->sessions);
				json_object_object_add(o, "old_version",
						       json_object_new_string(old_version));
				J_STR(o, "version", r->status->version);
				print_json(o);
			} else {
				printf("upgrade: ok: mcpd pid %u (%s) took over from pid %u (%s) "
				       "with %u sessions\n", new_pid, r->status->version, old_pid,
				       old_version, r->status->sessions);
			}
			mcp__ctl__response__free_unpacked(r, NULL);
			return 0;
		}
		if (r && !strncmp(r->status->upgrade, failed, strlen(failed))) {
			fprintf(stderr, "mcpctl: upgrade: the new mcpd %s; pid %u carries on with every "
				"session (its log says why)\n", r->status->upgrade + 8, r->status->pid);
			mcp__ctl__response__free_unpacked(r, NULL);
			return 1;
		}
		if (r)
			mcp__ctl__response__free_unpacked(r, NULL);
		else if (kill((pid_t)old_pid, 0) && errno == ESRCH && kill((pid_t)new_pid, 0) &&
			 errno == ESRCH) {
			fprintf(stderr, "mcpctl: upgrade: neither mcpd pid %u nor the new pid %u is "
				"running (see mcpd's log)\n", old_pid, new_pid);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= wait_s) {
			fprintf(stderr, "mcpctl: upgrade: pid %u has not taken over after %d s "
				"(see mcpd's log)\n", new_pid, wait_s);
			return 1;
		}
		usleep(100000);
	}
}

static void show_sessions(const Mcp__Ctl__Response *r)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	if (!json)
		printf("%-8s %-22s %-10s %-2s %-12s %10s %12s %10s %12s %8s %-20s %-10s %s\n", "id",
		       "peer", "state", "v", "pools", "frames_in", "bytes_in", "frames_out",
		       "bytes_out", "idle_ms", "client", "auth", "path");
	for (size_t i = 0; i < r->n_sessions; i++) {
		const Mcp__Ctl__Session *s = r->sessions[i];
		char pools[128] = "";

		for (size_t p = 0; p < s->n_pools; p++)
			snprintf(pools + strlen(pools), sizeof(pools) - strlen(pools), "%s%s",
				 p ? "," : "", s->pools[p]);
		if (json) {
			json_object *o = json_object_new_object(), *pl = json_object_new_array();

			for (size_t p = 0; p < s->n_pools; p++)
				json_object_array_add(pl, json_object_new_string(s->pools[p]));
			J_INT(o, "id", s->id);
			J_STR(o, "peer", s->peer);
			J_STR(o, "client_id", s->client_id);
			J_STR(o, "state", s->state);
			J_INT(o, "version", s->version);
			json_object_object_add(o, "pools", pl);
			J_INT(o, "frames_in", s->frames_in);
			J_INT(o, "bytes_in", s->bytes_in);
			J_INT(o, "frames_out", s->frames_out);
			J_INT(o, "bytes_out", s->bytes_out);
			J_INT(o, "idle_ms", s->idle_ms);
			J_BOOL(o, "fast_path", s->fast_path);
			J_STR(o, "path", s->path[0] ? s->path : (s->fast_path ? "kernel" : "mcpd"));
			J_STR(o, "auth", s->auth);
			J_BOOL(o, "restricted", s->restricted);
			J_INT(o, "denied", s->denied);
			J_INT(o, "rate_limited", s->rate_limited);
			json_object_array_add(arr, o);
			continue;
		}
		printf("%-8u %-22s %-10s %-2u %-12s %10llu %12llu %10llu %12llu %8llu %-20s %-10s %s\n",
		       s->id, s->peer, s->state, s->version, pools, (unsigned long long)s->frames_in,
		       (unsigned long long)s->bytes_in, (unsigned long long)s->frames_out,
		       (unsigned long long)s->bytes_out, (unsigned long long)s->idle_ms,
		       s->client_id[0] ? s->client_id : "-", s->auth[0] ? s->auth : "-",
		       s->path[0] ? s->path : (s->fast_path ? "kernel" : "mcpd"));
	}
	if (json)
		print_json(arr);
}

static void show_clients(const Mcp__Ctl__Response *r)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	if (!json)
		printf("%-24s %-10s %8s %8s %12s %8s %12s\n", "client", "auth", "sessions", "total",
		       "frames", "denied", "rate_limited");
	for (size_t i = 0; i < r->n_clients; i++) {
		const Mcp__Ctl__Client *c = r->clients[i];

		if (json) {
			json_object *o = json_object_new_object();

			J_STR(o, "client_id", c->client_id);
			J_STR(o, "auth", c->auth);
			J_INT(o, "sessions", c->sessions);
			J_INT(o, "sessions_total", c->sessions_total);
			J_INT(o, "frames", c->frames);
			J_INT(o, "denied", c->denied);
			J_INT(o, "rate_limited", c->rate_limited);
			json_object_array_add(arr, o);
			continue;
		}
		printf("%-24s %-10s %8u %8llu %12llu %8llu %12llu\n",
		       c->client_id[0] ? c->client_id : "-", c->auth, c->sessions,
		       (unsigned long long)c->sessions_total, (unsigned long long)c->frames,
		       (unsigned long long)c->denied, (unsigned long long)c->rate_limited);
	}
	if (json)
		print_json(arr);
}

static void show_routes(const Mcp__Ctl__Response *r)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < r->n_routes; i++) {
		const Mcp__Ctl__Route *x = r->routes[i];

		if (json) {
			json_object *o = json_object_new_object();

			J_INT(o, "first", x->first);
			J_INT(o, "last", x->last);
			J_STR(o, "pool", x->pool);
			json_object_array_add(arr, o);
		} else if (x->first == x->last) {
			printf("0x%02x        %-6s -> %s\n", x->first, mcp_opcode_name((uint8_t)x->first),
			       x->pool[0] ? x->pool : "(no route)");
		} else {
			printf("0x%02x-0x%02x   %-6s -> %s\n", x->first, x->last, "",
			       x->pool[0] ? x->pool : "(no route)");
		}
	}
	if (json)
		print_json(arr);
}

static void show_pools(const Mcp__Ctl__Response *r)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < r->n_pools; i++) {
		const Mcp__Ctl__Pool *p = r->pools[i];
		json_object *o = NULL, *bs = NULL;

		if (json) {
			o = json_object_new_object();
			bs = json_object_new_array();
			J_STR(o, "name", p->name);
		} else {
			printf("pool %s\n", p->name);
		}
		for (size_t b = 0; b < p->n_backends; b++) {
			const Mcp__Ctl__Backend *x = p->backends[b];

			if (json) {
				json_object *e = json_object_new_object();

				J_STR(e, "address", x->address);
				J_STR(e, "health", x->health);
				J_INT(e, "sessions", x->sessions);
				json_object_array_add(bs, e);
			} else {
				printf("  %-28s %-8s %u sessions\n", x->address, x->health, x->sessions);
			}
		}
		if (json) {
			json_object_object_add(o, "backends", bs);
			json_object_array_add(arr, o);
		}
	}
	if (json)
		print_json(arr);
}

static void show_stats(const Mcp__Ctl__Response *r)
{
	if (json) {
		json_object *o = json_object_new_object(), *cs = json_object_new_array(),
			    *as = json_object_new_array();

		for (size_t i = 0; i < r->n_counters; i++) {
			json_object *e = json_object_new_object();

			J_STR(e, "name", r->counters[i]->name);
			J_STR(e, "label", r->counters[i]->label);
			J_INT(e, "value", r->counters[i]->value);
			json_object_array_add(cs, e);
		}
		for (size_t i = 0; i < r->n_anomalies; i++) {
			json_object *e = json_object_new_object();

			J_INT(e, "at_s", r->anomalies[i]->at_s);
			J_STR(e, "kind", r->anomalies[i]->kind);
			J_STR(e, "source", r->anomalies[i]->source);
			J_STR(e, "detail", r->anomalies[i]->detail);
			json_object_array_add(as, e);
		}
		json_object_object_add(o, "counters", cs);
		json_object_object_add(o, "anomalies", as);
		print_json(o);
		return;
	}
	for (size_t i = 0; i < r->n_counters; i++) {
		const Mcp__Ctl__Counter *c = r->counters[i];

		if (!c->value && c->label[0])
			continue; /* a labelled zero says nothing */
		printf("%-28s %-40s %llu\n", c->name, c->label, (unsigned long long)c->value);
	}
	if (r->n_anomalies)
		printf("\nrecent anomalies:\n");
	for (size_t i = 0; i < r->n_anomalies; i++)
		printf("  +%llus %-14s %-22s %s\n", (unsigned long long)r->anomalies[i]->at_s,
		       r->anomalies[i]->kind, r->anomalies[i]->source, r->anomalies[i]->detail);
}

static void show_blocks(const Mcp__Ctl__Response *r)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	if (!json && !r->n_blocks)
		printf("the blocklist is empty\n");
	for (size_t i = 0; i < r->n_blocks; i++) {
		const Mcp__Ctl__BlockEntry *b = r->blocks[i];

		if (json) {
			json_object *o = json_object_new_object();

			J_STR(o, "prefix", b->prefix);
			J_INT(o, "ttl_left_s", b->ttl_left_s);
			J_INT(o, "hits", b->hits);
			J_STR(o, "reason", b->reason);
			json_object_array_add(arr, o);
		} else {
			char ttl[32] = "no expiry";

			if (b->ttl_left_s)
				snprintf(ttl, sizeof(ttl), "%llus left", (unsigned long long)b->ttl_left_s);
			printf("%-44s %-12s %10llu hits  %s\n", b->prefix, ttl,
			       (unsigned long long)b->hits, b->reason);
		}
	}
	if (json)
		print_json(arr);
}

/* A counter's value from a stats answer: the sum of every label matching `want` ("" = all). */
static uint64_t stat_sum(const Mcp__Ctl__Response *r, const char *name, const char *want)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < r->n_counters; i++)
		if (!strcmp(r->counters[i]->name, name) && strstr(r->counters[i]->label, want))
			sum += r->counters[i]->value;
	return sum;
}

static volatile sig_atomic_t stop_top;

static void on_sigint(int sig)
{
	(void)sig;
	stop_top = 1;
}

static int cmd_top(int rounds)
{
	static const char *const reasons[] = { "redirect", "pong", "pass_mixed", "pass_partial",
					       "pass_catchup", "pass_control" };
	Mcp__Ctl__Request q = MCP__CTL__REQUEST__INIT;
	Mcp__Ctl__Response *prev, *cur;
	int tty = isatty(1) && !json;

	q.command = MCP__CTL__COMMAND__COMMAND_STATS;
	prev = ask(&q);
	if (!prev)
		return 1;
	signal(SIGINT, on_sigint);
	for (int i = 0; (rounds == 0 || i < rounds) && !stop_top; i++) {
		sleep(1);
		cur = ask(&q);
		if (!cur)
			return 1;
#define RATE(name, label) (stat_sum(cur, name, label) - stat_sum(prev, name, label))
		if (json) {
			json_object *o = json_object_new_object();

			J_INT(o, "sessions", stat_sum(cur, "sessions", ""));
			J_INT(o, "frames_to_backend_per_s", RATE("frames_total", "to_backend"));
			J_INT(o, "frames_to_client_per_s", RATE("frames_total", "to_client"));
			J_INT(o, "udp_per_s", RATE("udp_datagrams_total", ""));
			J_INT(o, "xdp_drops_per_s", RATE("xdp_packets_total", "drop"));
			J_INT(o, "errors_per_s", RATE("errors_sent_total", ""));
			for (size_t k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++) {
				char l[48];

				snprintf(l, sizeof(l), "reason=%s", reasons[k]);
				J_INT(o, reasons[k], RATE("fastpath_skbs_total", l));
			}
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			if (tty)
				printf("\033[H\033[2J");
			if (tty || i == 0)
				printf("%8s %12s %12s %10s %10s %8s %10s %10s %10s\n", "sessions",
				       "to_backend/s", "to_client/s", "udp/s", "xdp_drop/s", "errors/s",
				       "redirect/s", "pass/s", "pong/s");
			printf("%8llu %12llu %12llu %10llu %10llu %8llu %10llu %10llu %10llu\n",
			       (unsigned long long)stat_sum(cur, "sessions", ""),
			       (unsigned long long)RATE("frames_total", "to_backend"),
			       (unsigned long long)RATE("frames_total", "to_client"),
			       (unsigned long long)RATE("udp_datagrams_total", ""),
			       (unsigned long long)RATE("xdp_packets_total", "drop"),
			       (unsigned long long)RATE("errors_sent_total", ""),
			       (unsigned long long)RATE("fastpath_skbs_total", "reason=redirect"),
			       (unsigned long long)RATE("fastpath_skbs_total", "reason=pass"),
			       (unsigned long long)RATE("fastpath_skbs_total", "reason=pong"));
		}
		fflush(stdout);
		mcp__ctl__response__free_unpacked(prev, NULL);
		prev = cur;
	}
	mcp__ctl__response__free_unpacked(prev, NULL);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mcpctl [-s SOCKET] [-p PIN_ROOT] [-j] COMMAND [ARGS]\n"
		"\n"
		"  status                   version, data path, XDP mode per interface, uptime, sessions\n"
		"  sessions                 every session: peer, state, version, pools, traffic, idle\n"
		"  clients                  identities: sessions, frames, denials, rate-limit hits\n"
		"  token issue|inspect ...  signed identities for HELLO (mcpctl token --help)\n"
		"  routes                   opcode ranges and their pools\n"
		"  pools                    backends, health, sessions\n"
		"  stats                    every counter, and the recent anomalies\n"
		"  top [-n N]               rates, refreshed each second (N rounds; 0: until ^C)\n"
		"  block PREFIX [--ttl S]   refuse a source prefix (in the kernel where XDP runs)\n"
		"  unblock PREFIX\n"
		"  blocklist                the blocked prefixes, their time left and hits\n"
		"  drain BACKEND            no new sessions to this backend (as configured, HOST:PORT)\n"
		"  kill SESSION             end a session (ERROR, then close)\n"
		"  reload                   reload mcpd's config (a bad one is refused)\n"
		"  upgrade [--wait S]       mcpd starts its binary anew, which takes over every\n"
		"                           session (mcpd --takeover); waits S s (30) for it\n"
		"  maps                     the kernel's counters from the pin root, daemon or not\n"
		"\n"
		"  -s, --socket PATH        mcpd's control socket (default " MCP_DEFAULT_CONTROL ")\n"
		"  -p, --pin-root DIR       where mcpd pins its maps (its pin_root; default " MCP_PIN_DIR ")\n"
		"  -j, --json               JSON output\n"
		"  -h, --help, -V, --version\n"
		"Exit status: 0 done, 1 mcpd refused or could not be reached (with a message), 2 usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "pin-root", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },	     { "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	Mcp__Ctl__Request q = MCP__CTL__REQUEST__INIT;
	Mcp__Ctl__Response *r;
	const char *cmd;
	char **args;
	int nargs, c, rc = 0;

	while ((c = getopt_long(argc, argv, "+s:p:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock_path = optarg;
			break;
		case 'p':
			pin_root = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mcpctl %s\n", MCP_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;

#define NEED(n, what)                                                                             \
	do {                                                                                      \
		if (nargs != (n)) {                                                               \
			fprintf(stderr, "mcpctl: %s takes %s\n", cmd, (what));                    \
			return 2;                                                                 \
		}                                                                                 \
	} while (0)

	if (!strcmp(cmd, "token"))
		return mcpctl_token(nargs, args, json);
	if (!strcmp(cmd, "maps")) {
		NEED(0, "no arguments");
		return cmd_maps();
	}
	if (!strcmp(cmd, "top")) {
		if (nargs == 2 && !strcmp(args[0], "-n"))
			return cmd_top(atoi(args[1]));
		NEED(0, "only -n N");
		return cmd_top(0);
	}
	if (!strcmp(cmd, "upgrade")) {
		char *end = NULL;
		long wait_s = 30;

		if (nargs == 2 && !strcmp(args[0], "--wait"))
			wait_s = strtol(args[1], &end, 10);
		else
			NEED(0, "only --wait SECONDS");
		if ((end && *end) || wait_s <= 0 || wait_s > 3600) {
			fprintf(stderr, "mcpctl: --wait: '%s' is not a number of seconds\n", args[1]);
			return 2;
		}
		return cmd_upgrade((int)wait_s);
	}
	if (!strcmp(cmd, "status")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_STATUS;
	} else if (!strcmp(cmd, "sessions")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_SESSIONS;
	} else if (!strcmp(cmd, "clients")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_CLIENTS;
	} else if (!strcmp(cmd, "routes")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_ROUTES;
	} else if (!strcmp(cmd, "pools")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_POOLS;
	} else if (!strcmp(cmd, "stats")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_STATS;
	} else if (!strcmp(cmd, "blocklist")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_BLOCKLIST;
	} else if (!strcmp(cmd, "block")) {
		char *end;

		if (nargs == 3 && !strcmp(args[1], "--ttl")) {
			long ttl = strtol(args[2], &end, 10);

			if (*end || ttl <= 0 || ttl > 86400L * 365) {
				fprintf(stderr, "mcpctl: --ttl: '%s' is not a number of seconds\n", args[2]);
				return 2;
			}
			q.ttl_s = (uint32_t)ttl;
		} else {
			NEED(1, "PREFIX [--ttl SECONDS]");
		}
		q.command = MCP__CTL__COMMAND__COMMAND_BLOCK;
		q.arg = args[0];
	} else if (!strcmp(cmd, "unblock")) {
		NEED(1, "PREFIX");
		q.command = MCP__CTL__COMMAND__COMMAND_UNBLOCK;
		q.arg = args[0];
	} else if (!strcmp(cmd, "drain")) {
		NEED(1, "BACKEND (HOST:PORT as configured)");
		q.command = MCP__CTL__COMMAND__COMMAND_DRAIN;
		q.arg = args[0];
	} else if (!strcmp(cmd, "kill")) {
		char *end;
		unsigned long id;

		NEED(1, "SESSION (an id from mcpctl sessions)");
		id = strtoul(args[0], &end, 10);
		if (*end || !id || id > UINT32_MAX) {
			fprintf(stderr, "mcpctl: kill: '%s' is not a session id\n", args[0]);
			return 2;
		}
		q.command = MCP__CTL__COMMAND__COMMAND_KILL;
		q.session = (uint32_t)id;
	} else if (!strcmp(cmd, "reload")) {
		NEED(0, "no arguments");
		q.command = MCP__CTL__COMMAND__COMMAND_RELOAD;
	} else {
		fprintf(stderr, "mcpctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	r = ask(&q);
	if (!r)
		return 1;
	if (!r->ok) {
		fprintf(stderr, "mcpctl: %s: %s\n", cmd, r->error);
		rc = 1;
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_STATUS && r->status) {
		show_status(r->status);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_SESSIONS) {
		show_sessions(r);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_CLIENTS) {
		show_clients(r);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_ROUTES) {
		show_routes(r);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_POOLS) {
		show_pools(r);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_STATS) {
		show_stats(r);
	} else if (q.command == MCP__CTL__COMMAND__COMMAND_BLOCKLIST) {
		show_blocks(r);
	} else if (json) {
		json_object *o = json_object_new_object();

		J_BOOL(o, "ok", true);
		J_STR(o, "message", r->message);
		print_json(o);
	} else {
		printf("%s: ok%s%s\n", cmd, r->message && r->message[0] ? ": " : "",
		       r->message ? r->message : "");
	}
	mcp__ctl__response__free_unpacked(r, NULL);
	return rc;
}
