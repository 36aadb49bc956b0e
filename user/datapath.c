// SPDX-License-Identifier: GPL-2.0-only
/*
 * What mcpd and its sessions ask the kernel data paths: each question goes to every loaded
 * path (mcpd's slots, datapath.h), which answers for the sessions on it.
 */
#include <errno.h>
#include <string.h>
#include "mcpd.h"

#define for_each_path(r, dp)                                                                       \
	for (struct datapath **dp##_slot = (r)->paths, *dp;                                        \
	     dp##_slot < (r)->paths + DATAPATH__COUNT && ((dp = *dp##_slot), 1); dp##_slot++)      \
		if (dp)

/* Every loaded path that has the hook is called with the arguments. */
#define call_each_path(r, hook, ...)                                                               \
	do {                                                                                       \
		for_each_path(r, dp_)                                                              \
			if (dp_->hook)                                                             \
				dp_->hook(__VA_ARGS__);                                            \
	} while (0)

const char *datapath_mode(struct mcpd *r)
{
	if (r->paths[DATAPATH_INLINE])
		return "auto";
	return r->paths[DATAPATH_SOCKMAP] ? "bpf" : "user";
}

bool datapath_carries_sessions(struct mcpd *r)
{
	return r->paths[DATAPATH_INLINE] || r->paths[DATAPATH_SOCKMAP];
}

void datapath_apply_config(struct mcpd *r)
{
	call_each_path(r, apply_config, r);
}

void datapath_tick(struct mcpd *r, uint64_t now_ms)
{
	call_each_path(r, tick, r, now_ms);
}

void datapath_collect(struct mcpd *r, metric_fn fn, void *ctx)
{
	call_each_path(r, collect, r, fn, ctx);
}

void datapath_describe(struct mcpd *r, enum datapath_id id, char *out, size_t len)
{
	struct datapath *dp = r->paths[id];

	out[0] = '\0';
	if (dp && dp->describe)
		dp->describe(r, out, len);
}

void datapath_destroy_all(struct mcpd *r)
{
	call_each_path(r, destroy, r);
}

void datapath_own_connection(struct mcpd *r, int fd)
{
	call_each_path(r, own_connection, r, fd);
}

int datapath_install(struct mcpd *r, struct session *s)
{
	int err = -ENOENT;

	for_each_path(r, dp) {
		if (!dp->install)
			continue;
		err = dp->install(r, s);
		if (!err)
			return 0;
	}
	return err;
}

void datapath_uninstall(struct mcpd *r, struct session *s)
{
	call_each_path(r, uninstall, r, s);
}

void datapath_linger(struct mcpd *r, struct session *s)
{
	call_each_path(r, linger, r, s);
}

void datapath_forget(struct mcpd *r, struct conn *c)
{
	call_each_path(r, forget, r, c);
}

bool datapath_can_write(struct mcpd *r, struct conn *c)
{
	for_each_path(r, dp)
		if (dp->can_write && !dp->can_write(r, c))
			return false;
	return true;
}

void datapath_on_read(struct mcpd *r, struct conn *c, size_t n)
{
	call_each_path(r, on_read, r, c, n);
}

void datapath_publish(struct mcpd *r, struct conn *c)
{
	call_each_path(r, publish, r, c);
}

uint64_t datapath_last_active_ms(struct mcpd *r, struct session *s)
{
	uint64_t last = 0;

	for_each_path(r, dp) {
		uint64_t t = dp->last_active_ms ? dp->last_active_ms(r, s) : 0;

		if (t > last)
			last = t;
	}
	return last;
}

uint64_t datapath_partial_since_ms(struct mcpd *r, struct session *s)
{
	uint64_t since = 0;

	for_each_path(r, dp) {
		uint64_t t = dp->partial_since_ms ? dp->partial_since_ms(r, s) : 0;

		if (t && (!since || t < since))
			since = t;
	}
	return since;
}

void datapath_session_tick(struct mcpd *r, struct session *s)
{
	call_each_path(r, session_tick, r, s);
}

uint64_t datapath_kernel_held(struct mcpd *r, struct session *s, struct conn **slowest)
{
	uint64_t most = 0;

	*slowest = NULL;
	for_each_path(r, dp) {
		struct conn *c = NULL;
		uint64_t held = dp->kernel_held ? dp->kernel_held(r, s, &c) : 0;

		if (held > most) {
			most = held;
			*slowest = c;
		}
	}
	return most;
}

void datapath_counters(struct mcpd *r, struct session *s, struct session_counters *out)
{
	call_each_path(r, counters, r, s, out);
}
