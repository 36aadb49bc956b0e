// SPDX-License-Identifier: GPL-2.0-only
/* Pools and their backends' health (user/pools.c): who gets the next session, what down and
 * drained mean, the sessions each carries, what a reload keeps, and what is counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "pools.h"

static struct mcp_config cfg;

/* Pool "kv" with backends a, b, c; pool "other" with d. */
static void two_pools(struct mcp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->n_pools = 2;
	snprintf(c->pools[0].name, sizeof(c->pools[0].name), "kv");
	c->pools[0].n_backends = 3;
	for (int b = 0; b < 3; b++)
		snprintf(c->pools[0].backends[b].text, sizeof(c->pools[0].backends[b].text),
			 "10.0.0.%d:1", b + 1);
	snprintf(c->pools[1].name, sizeof(c->pools[1].name), "other");
	c->pools[1].n_backends = 1;
	snprintf(c->pools[1].backends[0].text, sizeof(c->pools[1].backends[0].text), "10.0.1.1:1");
}

static int setup(void **state)
{
	two_pools(&cfg);
	*state = pools_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	pools_free(*state);
	return 0;
}

static void test_round_robin(void **state)
{
	struct pools *p = *state;
	int seen[3] = { 0 };

	for (int i = 0; i < 9; i++)
		seen[pools_pick(p, &cfg, 0, 1000, false)]++;
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 3);
	assert_int_equal(seen[2], 3);
	assert_int_equal(pools_pick(p, &cfg, 1, 1000, false), 0);
}

static void test_down_until_a_time_for_tcp_or_udp(void **state)
{
	struct pools *p = *state;
	uint32_t n;

	pools_set_down(p, 0, 1, 2000, false);
	for (int i = 0; i < 6; i++)
		assert_int_not_equal(pools_pick(p, &cfg, 0, 1999, false), 1);
	assert_string_equal(pools_health(p, 0, 1, 1999, &n), "down");
	assert_string_equal(pools_health(p, 0, 1, 2000, &n), "up");
	/* Down for TCP says nothing about UDP, and the other way round. */
	pools_set_down(p, 1, 0, 5000, true);
	assert_int_equal(pools_pick(p, &cfg, 1, 1000, true), -1);
	assert_int_equal(pools_pick(p, &cfg, 1, 1000, false), 0);
	assert_int_equal(pools_pick(p, &cfg, 1, 5000, true), 0);
	/* Out of range is ignored, not a write past the table. */
	pools_set_down(p, MCP_MAX_POOLS, 0, 1, false);
	pools_set_down(p, 0, MCP_MAX_BACKENDS, 1, false);
	pools_set_down(p, -1, -1, 1, false);
}

static void test_drained_gets_nothing_new(void **state)
{
	struct pools *p = *state;
	uint32_t n;

	assert_int_equal(pools_drain(p, &cfg, "10.0.0.3:1"), 0);
	assert_int_equal(pools_drain(p, &cfg, "10.0.1.1:1"), 1);
	assert_int_equal(pools_drain(p, &cfg, "10.9.9.9:1"), -ENOENT);
	for (int i = 0; i < 6; i++)
		assert_int_not_equal(pools_pick(p, &cfg, 0, 0, false), 2);
	assert_int_equal(pools_pick(p, &cfg, 1, 0, false), -1);
	assert_string_equal(pools_health(p, 0, 2, 0, &n), "drained");
}

static void test_sessions_never_below_zero(void **state)
{
	struct pools *p = *state;
	uint32_t n;

	pools_session_opened(p, 0, 0);
	pools_session_opened(p, 0, 0);
	pools_session_closed(p, 0, 0);
	pools_health(p, 0, 0, 0, &n);
	assert_int_equal(n, 1);
	pools_session_closed(p, 0, 0);
	pools_session_closed(p, 0, 0);
	pools_health(p, 0, 0, 0, &n);
	assert_int_equal(n, 0);
}

/* A reload keeps the health of a backend still at its place, and only of those. */
static void test_reload_keeps_what_stays(void **state)
{
	struct pools *p = *state;
	struct mcp_config next;
	uint32_t n;

	pools_set_down(p, 0, 0, 9000, false);
	pools_drain(p, &cfg, "10.0.0.2:1");
	pools_session_opened(p, 0, 2);
	pools_session_opened(p, 1, 0);
	two_pools(&next);
	snprintf(next.pools[0].backends[1].text, sizeof(next.pools[0].backends[1].text),
		 "10.0.0.9:1"); /* another backend in b's place */
	snprintf(next.pools[1].name, sizeof(next.pools[1].name), "renamed");
	pools_reconfigure(p, &cfg, &next);
	assert_string_equal(pools_health(p, 0, 0, 0, &n), "down");
	assert_string_equal(pools_health(p, 0, 1, 0, &n), "up");
	assert_string_equal(pools_health(p, 0, 2, 0, &n), "up");
	assert_int_equal(n, 1);
	pools_health(p, 1, 0, 0, &n);
	assert_int_equal(n, 0); /* another pool in that place */
}

struct sample {
	char name[32], pool[16];
	uint64_t value;
};

static struct sample samples[8];
static int n_samples;

static void collect(void *ctx, const struct metric *m, const struct label *labels, int n,
		    uint64_t value)
{
	struct sample *s = &samples[n_samples++];

	(void)ctx;
	assert_int_equal(n, 1);
	assert_string_equal(labels[0].key, "pool");
	snprintf(s->name, sizeof(s->name), "%s", m->name);
	snprintf(s->pool, sizeof(s->pool), "%s", labels[0].value);
	s->value = value;
}

static void test_collect(void **state)
{
	struct pools *p = *state;

	pools_set_down(p, 0, 0, 9000, false);
	pools_drain(p, &cfg, "10.0.0.2:1");
	pools_session_opened(p, 0, 2);
	pools_session_opened(p, 0, 2);
	pools_session_opened(p, 1, 0);
	n_samples = 0;
	pools_collect(p, &cfg, 1000, collect, NULL);
	assert_int_equal(n_samples, 4);
	assert_string_equal(samples[0].name, "pool_backends_up");
	assert_string_equal(samples[0].pool, "kv");
	assert_int_equal(samples[0].value, 1);
	assert_int_equal(samples[1].value, 1);
	assert_string_equal(samples[2].name, "pool_sessions");
	assert_int_equal(samples[2].value, 2);
	assert_string_equal(samples[3].pool, "other");
	assert_int_equal(samples[3].value, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_until_a_time_for_tcp_or_udp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_drained_gets_nothing_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_never_below_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_what_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
	};

	return cmocka_run_group_tests_name("pools", tests, NULL, NULL);
}
