// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule every data path applies to a restricted session's requests (include/mcp/perm.h),
 * and the token bucket under it (include/mcp/bucket.h): what is checked in which order, a
 * second's worth at once, refill with time, and tokens taken only for frames that went on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "mcp/perm.h"

#define SEC 1000000000ull

static void test_everything_allows_everything(void **state)
{
	struct mcp_perms p;

	(void)state;
	mcp_perm_all(&p);
	for (int op = 0; op < 256; op++)
		assert_int_equal(mcp_perm_judge(&p, (__u8)op, 3, 5 * SEC, 1000000), MCP_PERM_ALLOW);
}

static void test_order_opcode_pool_rate(void **state)
{
	struct mcp_perms p;

	(void)state;
	memset(&p, 0, sizeof(p));
	mcp_perm_allow_opcode(&p, MCP_OP_GET);
	mcp_perm_allow_opcode(&p, 0x6f); /* the last word of the set */
	p.pools = 1u << 2;
	p.rate_fps = 1;
	mcp_perm_fill(&p, 0);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_SET, 0, 0, 5), MCP_PERM_DENY_OPCODE);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 0, 5), MCP_PERM_DENY_POOL);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 2, 0, 5), MCP_PERM_RATE);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 2, 0, 0), MCP_PERM_ALLOW);
	assert_int_equal(mcp_perm_judge(&p, 0x6f, 2, 0, 0), MCP_PERM_ALLOW);
	assert_int_equal(mcp_perm_judge(&p, 0x6e, 2, 0, 0), MCP_PERM_DENY_OPCODE);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 40, 0, 0), MCP_PERM_DENY_POOL);
}

/* rate 100: a second's worth at once, then 100 a second; judging takes nothing. */
static void test_rate(void **state)
{
	struct mcp_perms p;
	__u32 n = 0;

	(void)state;
	mcp_perm_all(&p);
	p.rate_fps = 100;
	mcp_perm_fill(&p, 10 * SEC);
	while (mcp_perm_judge(&p, MCP_OP_GET, 0, 10 * SEC, n) == MCP_PERM_ALLOW)
		n++;
	assert_int_equal(n, 100);
	/* Nothing was taken by judging: the same again. */
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 10 * SEC, 99), MCP_PERM_ALLOW);
	mcp_perm_take(&p, 10 * SEC, 100);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 10 * SEC, 0), MCP_PERM_RATE);
	/* 10 ms later: one more. */
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 10 * SEC + SEC / 100, 0),
			 MCP_PERM_ALLOW);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 10 * SEC + SEC / 100, 1), MCP_PERM_RATE);
	/* Taking more than is there empties it, no debt. */
	mcp_perm_take(&p, 10 * SEC + SEC / 100, 50);
	assert_int_equal(p.bucket.tokens_ns, 0);
	/* Never more than a second's worth, however long it rests. */
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 1000 * SEC, 100), MCP_PERM_RATE);
	assert_int_equal(mcp_perm_judge(&p, MCP_OP_GET, 0, 1000 * SEC, 99), MCP_PERM_ALLOW);
}

/* Two clocks read a moment apart (mcpd's, the kernel's): time never runs backwards here. */
static void test_bucket_clock_behind(void **state)
{
	struct mcp_bucket b = { .tokens_ns = 3 * MCP_NS_PER_TOKEN, .last_ns = 5 * SEC };

	(void)state;
	assert_int_equal(mcp_bucket_level(&b, 4 * SEC, 10, 10), 3 * MCP_NS_PER_TOKEN);
	assert_int_equal(mcp_bucket_take_one(&b, 5 * SEC, 10, 10), 1);
	assert_int_equal(b.tokens_ns, 2 * MCP_NS_PER_TOKEN);
	/* Rates past MCP_RATE_MAX are taken as it: no overflow. */
	assert_int_equal(mcp_bucket_level(&b, 14 * SEC, 0xffffffffu, 5), 5 * MCP_NS_PER_TOKEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everything_allows_everything),
		cmocka_unit_test(test_order_opcode_pool_rate),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bucket_clock_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
