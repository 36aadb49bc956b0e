// SPDX-License-Identifier: GPL-2.0-only
/* Pools and their backends' health (pools.h): round robin, down, drained, sessions, reloads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pools.h"

struct backend_health {
	uint64_t down_until_ms;
	uint64_t udp_down_until_ms; /* a backend may speak TCP and not UDP: judged apart */
	uint32_t sessions;
	bool drained;
};

struct pools {
	struct backend_health health[MCP_MAX_POOLS][MCP_MAX_BACKENDS];
	uint32_t rr[MCP_MAX_POOLS];
};

static const struct metric m_pool_up = { "pool_backends_up", "gauge",
					 "Backends of the pool neither down nor drained." },
			   m_pool_sessions = { "pool_sessions", "gauge",
					       "Sessions using a backend of the pool." };

struct pools *pools_new(void)
{
	return calloc(1, sizeof(struct pools));
}

void pools_free(struct pools *p)
{
	free(p);
}

static bool valid(int pool, int backend)
{
	return pool >= 0 && pool < MCP_MAX_POOLS && backend >= 0 && backend < MCP_MAX_BACKENDS;
}

int pools_pick(struct pools *p, const struct mcp_config *cfg, int pool, uint64_t now, bool udp)
{
	const struct mcp_pool_cfg *pc = &cfg->pools[pool];

	for (int tries = 0; tries < pc->n_backends; tries++) {
		int i = (int)(p->rr[pool]++ % (uint32_t)pc->n_backends);
		const struct backend_health *h = &p->health[pool][i];

		if ((udp ? h->udp_down_until_ms : h->down_until_ms) <= now && !h->drained)
			return i;
	}
	return -1;
}

void pools_set_down(struct pools *p, int pool, int backend, uint64_t until, bool udp)
{
	if (!valid(pool, backend))
		return;
	if (udp)
		p->health[pool][backend].udp_down_until_ms = until;
	else
		p->health[pool][backend].down_until_ms = until;
}

void pools_session_opened(struct pools *p, int pool, int backend)
{
	if (valid(pool, backend))
		p->health[pool][backend].sessions++;
}

void pools_session_closed(struct pools *p, int pool, int backend)
{
	if (valid(pool, backend) && p->health[pool][backend].sessions)
		p->health[pool][backend].sessions--;
}

int pools_drain(struct pools *p, const struct mcp_config *cfg, const char *text)
{
	for (int pool = 0; pool < cfg->n_pools; pool++)
		for (int b = 0; b < cfg->pools[pool].n_backends; b++)
			if (!strcmp(cfg->pools[pool].backends[b].text, text)) {
				p->health[pool][b].drained = true;
				return pool;
			}
	return -ENOENT;
}

const char *pools_health(const struct pools *p, int pool, int backend, uint64_t now,
			 uint32_t *sessions)
{
	const struct backend_health *h = &p->health[pool][backend];

	*sessions = h->sessions;
	return h->drained ? "drained" : h->down_until_ms > now ? "down" : "up";
}

void pools_reconfigure(struct pools *p, const struct mcp_config *cfg,
		       const struct mcp_config *next)
{
	struct backend_health kept[MCP_MAX_BACKENDS];

	for (int pool = 0; pool < MCP_MAX_POOLS; pool++) {
		bool same = pool < next->n_pools && pool < cfg->n_pools &&
			    !strcmp(next->pools[pool].name, cfg->pools[pool].name);

		memset(kept, 0, sizeof(kept));
		for (int b = 0; same && b < next->pools[pool].n_backends &&
				b < cfg->pools[pool].n_backends;
		     b++)
			if (!strcmp(next->pools[pool].backends[b].text,
				    cfg->pools[pool].backends[b].text))
				kept[b] = p->health[pool][b];
		memcpy(p->health[pool], kept, sizeof(kept));
	}
}

void pools_collect(const struct pools *p, const struct mcp_config *cfg, uint64_t now,
		   metric_fn fn, void *ctx)
{
	for (int pool = 0; pool < cfg->n_pools; pool++) {
		struct label l = { "pool", cfg->pools[pool].name };
		uint64_t up = 0;

		for (int b = 0; b < cfg->pools[pool].n_backends; b++) {
			const struct backend_health *h = &p->health[pool][b];

			up += h->down_until_ms <= now && !h->drained;
		}
		fn(ctx, &m_pool_up, &l, 1, up);
	}
	for (int pool = 0; pool < cfg->n_pools; pool++) {
		struct label l = { "pool", cfg->pools[pool].name };
		uint64_t sessions = 0;

		for (int b = 0; b < cfg->pools[pool].n_backends; b++)
			sessions += p->health[pool][b].sessions;
		fn(ctx, &m_pool_sessions, &l, 1, sessions);
	}
}
