/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is talking (docs/protocol.md, "Identity"; docs/operations.md, "Identities"): the auth
 * module checks each HELLO's token against the keys (config `auth`, `auth_keys`), decides the
 * session's identity and what it may do (the token narrowed by its [client NAME] section),
 * and counts results, denials and per-identity totals for `mcpctl clients` and /metrics.
 */
#ifndef MCP_AUTH_H
#define MCP_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "messages.h"
#include "stats.h"
#include "control.pb-c.h"
#include "token.h"
#include "mcp/perm.h"

/* How a session's identity was established (mcpctl sessions, takeover). */
enum session_auth {
	SESSION_AUTH_NONE = 0,	 /* auth = off: client_id as the client typed it */
	SESSION_AUTH_ANONYMOUS,	 /* auth = optional, no token: [client anonymous] or everything */
	SESSION_AUTH_VERIFIED,	 /* a valid token */
	SESSION_AUTH__COUNT,
};

struct auth;

/* The decision on one HELLO. */
struct auth_verdict {
	int result; /* enum mcp_auth_result; MCP_AUTH_MISSING is fine unless auth = required */
	int kind;   /* enum session_auth */
	char client_id[MCP_CLIENT_ID_MAX + 1]; /* verified; as typed with auth off; else "" */
	struct mcp_perms perms;
	bool restricted; /* anything short of every opcode, every pool, no rate */
	char why[160];	 /* refused: the ERROR message */
};

struct auth *auth_new(void);
void auth_free(struct auth *a);
/* Take a config's auth settings: loads its key file. 0, or -errno with e (the running keys
 * stay). */
int auth_configure(struct auth *a, const struct mcp_config *cfg, struct err *e);
/* Tests: hold these keys, as if loaded from a key file. */
void auth_test_keys(struct auth *a, const struct mcp_key *keys, int n);
/* Decide a HELLO: 0 with the session's identity, or -1 (refuse: UNAUTHENTICATED, v->why). */
int auth_hello(struct auth *a, const struct mcp_config *cfg, const struct mcp_hello *h,
	       uint64_t now_ns, struct auth_verdict *v);
const char *session_auth_name(int kind);
/* A UDP request carries no identity: with auth = required none goes on; with optional, what
 * [client anonymous] allows (its opcodes and pools; rates are the XDP guard's, per source). */
bool auth_udp_allowed(const struct mcp_config *cfg, uint8_t op, int pool);
/* The error a denial is answered with: PERMISSION_DENIED or RATE_LIMITED. */
int auth_denial_error(int perm_verdict);

/* Per-identity totals: a session takes a reference at HELLO and reports to it. */
int auth_client_ref(struct auth *a, const char *client_id, int kind);
void auth_count_denial(struct auth *a, int ref, int perm_verdict);
void auth_session_ended(struct auth *a, int ref, uint64_t frames);
/* Totals by identity, for `mcpctl clients` (live sessions added by the caller). */
struct auth_client {
	char id[MCP_CLIENT_ID_MAX + 1];
	int kind;
	uint64_t sessions_total, frames, denied, rate_limited;
};
int auth_clients(struct auth *a, const struct auth_client **out);
void auth_collect(struct auth *a, const struct mcp_config *cfg, metric_fn fn, void *ctx);
/* For a hot upgrade: its counters into k (pointing into a: nothing to free), and back from an
 * mcpd that may have counted fewer or more kinds. */
void auth_save(struct auth *a, Mcp__Ctl__TakeoverCounters *k);
void auth_restore(struct auth *a, const Mcp__Ctl__TakeoverCounters *k);

#endif
