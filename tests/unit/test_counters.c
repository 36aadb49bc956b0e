// SPDX-License-Identifier: GPL-2.0-only
/* The daemon's own counters (user/counters.c): every limit named, what collect reports, and
 * a takeover's round trip, also from an mcpd that counted fewer or more kinds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "counters.h"
#include "frame.h"

static void test_every_limit_named(void **state)
{
	(void)state;
	for (int i = 0; i < LIMIT__COUNT; i++) {
		assert_string_not_equal(limit_name(i), "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(limit_name(i), limit_name(j));
	}
	assert_string_equal(limit_name(LIMIT__COUNT), "?");
	assert_string_equal(limit_name(-1), "?");
}

static int n_errors, n_limits;
static uint64_t refused, rate_limited, stall;

static void keep(void *ctx, const struct metric *m, const struct label *l, int n, uint64_t v)
{
	(void)ctx;
	if (!strcmp(m->name, "sessions_refused_total")) {
		refused = v;
	} else if (!strcmp(m->name, "errors_sent_total")) {
		assert_int_equal(n, 1);
		assert_string_equal(l[0].key, "code");
		n_errors++;
		if (!strcmp(l[0].value, mcp_error_code_name(MCP_ERR_RATE_LIMITED)))
			rate_limited = v;
	} else if (!strcmp(m->name, "limit_hits_total")) {
		assert_int_equal(n, 1);
		n_limits++;
		if (!strcmp(l[0].value, "stall_timeout"))
			stall = v;
	} else {
		assert_string_equal(m->name, "uptime_seconds");
	}
}

static void test_collect(void **state)
{
	struct counters *c = counters_new();

	(void)state;
	assert_non_null(c);
	c->sessions_refused = 3;
	c->errors_sent[MCP_ERR_RATE_LIMITED] = 5;
	c->limit_hits[LIMIT_STALL] = 2;
	counters_collect(c, keep, NULL);
	assert_int_equal(refused, 3);
	assert_int_equal(rate_limited, 5);
	assert_int_equal(stall, 2);
	assert_int_equal(n_errors, MCP_ERR__COUNT); /* every code, zeros too */
	assert_int_equal(n_limits, LIMIT__COUNT);
	counters_free(c);
}

static void test_takeover_round_trip(void **state)
{
	struct counters *old = counters_new(), *next = counters_new();
	Mcp__Ctl__TakeoverCounters k = MCP__CTL__TAKEOVER_COUNTERS__INIT;

	(void)state;
	assert_non_null(old);
	assert_non_null(next);
	old->sessions_refused = 7;
	old->errors_sent[MCP_ERR_IDLE_TIMEOUT] = 11;
	old->limit_hits[LIMIT_KERNEL_HELD] = 13;
	old->anomalies[ANOMALY_AUTH_FAILURES] = 17;
	counters_save(old, &k);
	counters_restore(next, &k);
	assert_int_equal(next->sessions_refused, 7);
	assert_int_equal(next->errors_sent[MCP_ERR_IDLE_TIMEOUT], 11);
	assert_int_equal(next->limit_hits[LIMIT_KERNEL_HELD], 13);
	assert_int_equal(next->anomalies[ANOMALY_AUTH_FAILURES], 17);
	counters_free(old);
	counters_free(next);
}

static void test_restore_from_another_build(void **state)
{
	struct counters *c = counters_new();
	uint64_t fewer[2] = { 4, 9 }, more[LIMIT__COUNT + 3];
	Mcp__Ctl__TakeoverCounters k = MCP__CTL__TAKEOVER_COUNTERS__INIT;

	(void)state;
	assert_non_null(c);
	/* An older mcpd knew two limits: those come over, the rest stay 0. */
	k.limit_hits = fewer;
	k.n_limit_hits = 2;
	counters_restore(c, &k);
	assert_int_equal(c->limit_hits[0], 4);
	assert_int_equal(c->limit_hits[1], 9);
	assert_int_equal(c->limit_hits[LIMIT_KERNEL_HELD], 0);
	/* A newer one knew more: what this build does not know is dropped, nothing overruns. */
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		more[i] = 100 + i;
	k.limit_hits = more;
	k.n_limit_hits = sizeof(more) / sizeof(more[0]);
	counters_restore(c, &k);
	assert_int_equal(c->limit_hits[LIMIT__COUNT - 1], 100 + LIMIT__COUNT - 1);
	counters_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_limit_named),
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_takeover_round_trip),
		cmocka_unit_test(test_restore_from_another_build),
	};

	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
