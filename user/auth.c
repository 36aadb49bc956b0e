// SPDX-License-Identifier: GPL-2.0-only
/*
 * The auth module: owns the keys, decides each HELLO's identity and permissions, and keeps
 * the counters of results, denials and identities. Interface: auth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "auth.h"
#include "hash.h"
#include "err.h"

#define MAX_IDENTITIES 1024 /* rows of `mcpctl clients`; past it, one "(other)" row */
#define INDEX_SLOTS    2048 /* open addressing over the rows, by identity and kind */

_Static_assert(MCP_TOKEN_POOL_MAX == MCP_POOL_NAME_MAX, "pool names in tokens and config");

struct auth {
	struct mcp_keyring keys;
	bool have_keys;
	uint64_t results[MCP_AUTH__COUNT];
	uint64_t denied[MCP_PERM__COUNT];
	struct auth_client clients[MAX_IDENTITIES];
	int n_clients;
	uint16_t index[INDEX_SLOTS]; /* row, 0 for none (row 0 is "(other)", never indexed) */
};

static const struct metric m_auth = { "auth_total", "counter",
				      "HELLOs by the outcome of their token check (docs/operations.md, Identities)." };
static const struct metric m_denied = { "denied_total", "counter",
					"Requests answered PERMISSION_DENIED or RATE_LIMITED for their identity, by reason." };
static const struct metric m_client_denied = {
	"client_denied_total", "counter",
	"Denials of identities named in the config ([client NAME]), by reason."
};
static const struct metric m_client_sessions = {
	"client_sessions_total", "counter",
	"Sessions of identities named in the config ([client NAME])."
};

const char *session_auth_name(int kind)
{
	static const char *const names[SESSION_AUTH__COUNT] = {
		[SESSION_AUTH_NONE] = "unverified",
		[SESSION_AUTH_ANONYMOUS] = "anonymous",
		[SESSION_AUTH_VERIFIED] = "verified",
	};

	return kind >= 0 && kind < SESSION_AUTH__COUNT ? names[kind] : "?";
}

static const char *perm_reason_name(int v)
{
	return v == MCP_PERM_DENY_OPCODE ? "opcode" : v == MCP_PERM_DENY_POOL ? "pool" : "rate";
}

int auth_denial_error(int perm_verdict)
{
	return perm_verdict == MCP_PERM_RATE ? MCP_ERR_RATE_LIMITED : MCP_ERR_PERMISSION_DENIED;
}

struct auth *auth_new(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a)
		snprintf(a->clients[0].id, sizeof(a->clients[0].id), "(other)");
	if (a)
		a->n_clients = 1;
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	sodium_memzero(&a->keys, sizeof(a->keys));
	free(a);
}

int auth_configure(struct auth *a, const struct mcp_config *cfg, struct err *e)
{
	struct mcp_keyring kr;
	int err;

	if (cfg->auth == MCP_AUTH_MODE_OFF || !cfg->auth_keys[0]) {
		sodium_memzero(&a->keys, sizeof(a->keys));
		a->have_keys = false;
		return 0;
	}
	err = mcp_keyring_load(cfg->auth_keys, true, &kr, e);
	if (err)
		return err;
	a->keys = kr;
	a->have_keys = true;
	sodium_memzero(&kr, sizeof(kr));
	return 0;
}

bool auth_udp_allowed(const struct mcp_config *cfg, uint8_t op, int pool)
{
	const struct mcp_client_cfg *anon;

	if (cfg->auth == MCP_AUTH_MODE_OFF)
		return true;
	if (cfg->auth == MCP_AUTH_MODE_REQUIRED)
		return false;
	anon = mcp_config_client(cfg, "anonymous");
	return !anon || ((anon->opcodes[op >> 6] >> (op & 63) & 1) && pool >= 0 && pool < 32 &&
			 (anon->pools >> pool & 1));
}

void auth_test_keys(struct auth *a, const struct mcp_key *keys, int n)
{
	memset(&a->keys, 0, sizeof(a->keys));
	for (int i = 0; i < n && i < MCP_MAX_KEYS; i++)
		a->keys.keys[a->keys.n++] = keys[i];
	a->have_keys = n > 0;
}

/* Narrow p by a [client] section. */
static void narrow(struct mcp_perms *p, const struct mcp_client_cfg *c)
{
	for (int i = 0; i < 4; i++)
		p->opcodes[i] &= c->opcodes[i];
	p->pools &= c->pools;
	if (c->rate_fps && (!p->rate_fps || c->rate_fps < p->rate_fps))
		p->rate_fps = c->rate_fps;
}

/* What a verified token allows, in this config's pools. */
static void token_perms(const struct mcp_token *t, const struct mcp_config *cfg,
			struct mcp_perms *p)
{
	mcp_perm_all(p);
	if (t->n_opcodes) {
		memset(p->opcodes, 0, sizeof(p->opcodes));
		for (uint32_t i = 0; i < t->n_opcodes; i++)
			mcp_perm_allow_opcode(p, t->opcodes[i]);
	}
	if (t->n_pools) {
		p->pools = 0;
		for (uint32_t i = 0; i < t->n_pools; i++) {
			int idx = mcp_config_pool_index(cfg, t->pools[i]);

			if (idx >= 0)
				p->pools |= 1u << idx;
		}
	}
	p->rate_fps = t->rate_fps > MCP_RATE_MAX ? MCP_RATE_MAX : t->rate_fps;
}

static bool is_restricted(const struct mcp_perms *p, const struct mcp_config *cfg)
{
	uint32_t all_pools = cfg->n_pools >= 32 ? ~0u : (1u << cfg->n_pools) - 1;

	if (p->rate_fps || (p->pools & all_pools) != all_pools)
		return true;
	for (int op = MCP_OP_REQUEST_MIN; op <= MCP_OP_REQUEST_MAX; op++)
		if (!mcp_perm_opcode(p, (uint8_t)op))
			return true;
	return false;
}

int auth_hello(struct auth *a, const struct mcp_config *cfg, const struct mcp_hello *h,
	       uint64_t now_ns, struct auth_verdict *v)
{
	const struct mcp_client_cfg *section = NULL;
	struct mcp_token t;

	memset(v, 0, sizeof(*v));
	mcp_perm_all(&v->perms);
	if (cfg->auth == MCP_AUTH_MODE_OFF) {
		v->kind = SESSION_AUTH_NONE;
		snprintf(v->client_id, sizeof(v->client_id), "%s", h->client_id);
		return 0;
	}
	if (h->token_too_long)
		v->result = MCP_AUTH_MALFORMED;
	else if (!h->token_len)
		v->result = MCP_AUTH_MISSING;
	else if (!a->have_keys)
		v->result = MCP_AUTH_UNKNOWN_KEY;
	else
		v->result = mcp_token_verify(h->token, h->token_len, &a->keys,
					     (uint64_t)time(NULL), &t);
	a->results[v->result]++;
	if (v->result == MCP_AUTH_MISSING && cfg->auth == MCP_AUTH_MODE_OPTIONAL) {
		v->kind = SESSION_AUTH_ANONYMOUS;
		section = mcp_config_client(cfg, "anonymous");
	} else if (v->result != MCP_AUTH_OK) {
		snprintf(v->why, sizeof(v->why), "authentication failed: %s token",
			 v->result == MCP_AUTH_MISSING ? "no" :
			 v->result == MCP_AUTH_MALFORMED ? "a malformed" :
			 v->result == MCP_AUTH_BAD_SIGNATURE ? "a badly signed" :
			 v->result == MCP_AUTH_UNKNOWN_KEY ? "an unknown key's" : "an expired");
		return -1;
	} else {
		v->kind = SESSION_AUTH_VERIFIED;
		snprintf(v->client_id, sizeof(v->client_id), "%s", t.client_id);
		token_perms(&t, cfg, &v->perms);
		section = mcp_config_client(cfg, t.client_id);
	}
	if (section)
		narrow(&v->perms, section);
	v->restricted = is_restricted(&v->perms, cfg);
	mcp_perm_fill(&v->perms, now_ns);
	return 0;
}

/* The index slot of an identity's row, or of the empty slot where it would go. */
static uint16_t *slot_of(struct auth *a, const char *id, int kind)
{
	uint32_t h = mcp_fnv1a((uint32_t)kind, id, strlen(id));

	for (uint32_t probe = 0;; probe++) {
		uint16_t *x = &a->index[(h + probe) % INDEX_SLOTS];

		if (!*x || (a->clients[*x].kind == kind && !strcmp(a->clients[*x].id, id)))
			return x; /* the index is never more than half full: an empty slot comes */
	}
}

int auth_client_ref(struct auth *a, const char *client_id, int kind)
{
	const char *id = kind == SESSION_AUTH_ANONYMOUS ? "anonymous" : client_id;
	uint16_t *x = slot_of(a, id, kind);
	struct auth_client *c;

	if (*x) {
		a->clients[*x].sessions_total++;
		return *x;
	}
	if (a->n_clients == MAX_IDENTITIES) {
		a->clients[0].sessions_total++;
		return 0;
	}
	c = &a->clients[a->n_clients];
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->kind = kind;
	c->sessions_total = 1;
	*x = (uint16_t)a->n_clients;
	return a->n_clients++;
}

void auth_count_denial(struct auth *a, int ref, int perm_verdict)
{
	if (perm_verdict <= MCP_PERM_ALLOW || perm_verdict >= MCP_PERM__COUNT)
		return;
	a->denied[perm_verdict]++;
	if (ref < 0 || ref >= a->n_clients)
		return;
	if (perm_verdict == MCP_PERM_RATE)
		a->clients[ref].rate_limited++;
	else
		a->clients[ref].denied++;
}

void auth_session_ended(struct auth *a, int ref, uint64_t frames)
{
	if (ref >= 0 && ref < a->n_clients)
		a->clients[ref].frames += frames;
}

int auth_clients(struct auth *a, const struct auth_client **out)
{
	*out = a->clients;
	return a->n_clients;
}

/* The row of a configured identity, if it has one yet. */
static const struct auth_client *named_row(struct auth *a, const char *name)
{
	int kind = strcmp(name, "anonymous") ? SESSION_AUTH_VERIFIED : SESSION_AUTH_ANONYMOUS;
	uint16_t *x = slot_of(a, name, kind);

	return *x ? &a->clients[*x] : NULL;
}

void auth_collect(struct auth *a, const struct mcp_config *cfg, metric_fn fn, void *ctx)
{
	for (int i = 0; i < MCP_AUTH__COUNT; i++) {
		struct label l = { "result", mcp_auth_result_name(i) };

		fn(ctx, &m_auth, &l, 1, a->results[i]);
	}
	for (int v = MCP_PERM_DENY_OPCODE; v < MCP_PERM__COUNT; v++) {
		struct label l = { "reason", perm_reason_name(v) };

		fn(ctx, &m_denied, &l, 1, a->denied[v]);
	}
	/* Only identities the config names: a label per token holder would be unbounded. */
	for (int i = 0; i < cfg->n_clients; i++) {
		const struct auth_client *c = named_row(a, cfg->clients[i].name);
		struct label l[2] = { { "client", cfg->clients[i].name }, { "reason", "denied" } };

		fn(ctx, &m_client_sessions, l, 1, c ? c->sessions_total : 0);
	}
	for (int i = 0; i < cfg->n_clients; i++) {
		const struct auth_client *c = named_row(a, cfg->clients[i].name);
		struct label l[2] = { { "client", cfg->clients[i].name }, { "reason", "permission" } };

		fn(ctx, &m_client_denied, l, 2, c ? c->denied : 0);
		l[1].value = "rate";
		fn(ctx, &m_client_denied, l, 2, c ? c->rate_limited : 0);
	}
}

/* For a hot upgrade: the counters (the identities' rows start anew). */
void auth_save(struct auth *a, Mcp__Ctl__TakeoverCounters *k)
{
	k->auth_results = a->results;
	k->n_auth_results = MCP_AUTH__COUNT;
	k->denials = a->denied;
	k->n_denials = MCP_PERM__COUNT;
}

void auth_restore(struct auth *a, const Mcp__Ctl__TakeoverCounters *k)
{
	for (size_t i = 0; i < k->n_auth_results && i < MCP_AUTH__COUNT; i++)
		a->results[i] = k->auth_results[i];
	for (size_t i = 0; i < k->n_denials && i < MCP_PERM__COUNT; i++)
		a->denied[i] = k->denials[i];
}
