// SPDX-License-Identifier: GPL-2.0-only
/* The blocklist (user/blocklist.c) without the XDP guard's maps: adding and refreshing,
 * matching by prefix and family with its hits, expiry at the exact millisecond, removal, the
 * cap, what it reports, and its part of a takeover. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "blocklist.h"

static struct mcp_prefix prefix(const char *text)
{
	struct mcp_prefix p;

	assert_int_equal(mcp_prefix_parse(text, &p, NULL), 0);
	return p;
}

static bool blocked(struct blocklist *b, const char *addr, uint64_t now)
{
	struct sockaddr_storage ss = { 0 };

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
	}
	return blocklist_match(b, (struct sockaddr *)&ss, now);
}

static int setup(void **state)
{
	*state = blocklist_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	blocklist_free(*state);
	return 0;
}

static void test_match_by_prefix_and_family(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix net = prefix("10.1.0.0/16"), v6 = prefix("2001:db8::/32");

	assert_int_equal(blocklist_add(b, &net, 0, "manual", 1000), 0);
	assert_int_equal(blocklist_add(b, &v6, 0, "manual", 1000), 0);
	assert_true(blocked(b, "10.1.200.3", 2000));
	assert_true(blocked(b, "10.1.0.1", 2000));
	assert_false(blocked(b, "10.2.0.1", 2000));
	assert_true(blocked(b, "2001:db8::7", 2000));
	assert_false(blocked(b, "2001:db9::7", 2000));
	assert_false(blocked(b, "::ffff:10.1.0.1", 2000)); /* another family */
	assert_int_equal(blocklist_find(b, &net)->hits, 2);
	assert_int_equal(blocklist_find(b, &v6)->hits, 1);
}

static void test_expiry_at_the_exact_millisecond(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix one = prefix("192.0.2.7");

	assert_int_equal(blocklist_add(b, &one, 500, "auto_block", 1000), 0);
	assert_true(blocked(b, "192.0.2.7", 1499));
	assert_false(blocked(b, "192.0.2.7", 1500)); /* expired, even before the sweep */
	blocklist_expire(b, 1499);
	assert_int_equal(b->n, 1);
	blocklist_expire(b, 1500);
	assert_int_equal(b->n, 0);
	assert_null(blocklist_find(b, &one));
}

static void test_add_again_refreshes(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix one = prefix("192.0.2.7");

	assert_int_equal(blocklist_add(b, &one, 500, "auto_block", 1000), 0);
	assert_int_equal(blocklist_add(b, &one, 0, "manual", 1200), 0); /* now without expiry */
	assert_int_equal(b->n, 1);
	assert_string_equal(blocklist_find(b, &one)->reason, "manual");
	blocklist_expire(b, 10000000);
	assert_true(blocked(b, "192.0.2.7", 10000000));
}

static void test_remove(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix a = prefix("192.0.2.0/24"), c = prefix("198.51.100.0/24");

	assert_int_equal(blocklist_add(b, &a, 0, "manual", 0), 0);
	assert_int_equal(blocklist_add(b, &c, 0, "manual", 0), 0);
	assert_int_equal(blocklist_remove(b, &a), 0);
	assert_int_equal(blocklist_remove(b, &a), -ENOENT);
	assert_false(blocked(b, "192.0.2.1", 0));
	assert_true(blocked(b, "198.51.100.1", 0)); /* the other stays */
}

static void test_full_refuses_a_new_prefix(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix p = prefix("10.0.0.0/32");

	for (int i = 0; i < MCP_BLOCK_MAX; i++) {
		p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		assert_int_equal(blocklist_add(b, &p, 0, "manual", 0), 0);
	}
	p.addr[1] = 1;
	assert_int_equal(blocklist_add(b, &p, 0, "manual", 0), -ENOSPC);
	p.addr[1] = 0;
	assert_int_equal(blocklist_add(b, &p, 0, "again", 0), 0); /* a refresh still works */
	assert_int_equal(b->n, MCP_BLOCK_MAX);
}

static uint64_t reported;

static void keep(void *ctx, const struct metric *m, const struct label *l, int n, uint64_t v)
{
	(void)ctx;
	(void)l;
	assert_string_equal(m->name, "blocklist_entries");
	assert_int_equal(n, 0);
	reported = v;
}

static void test_collect(void **state)
{
	struct blocklist *b = *state;
	struct mcp_prefix a = prefix("192.0.2.0/24"), c = prefix("2001:db8::/48");

	assert_int_equal(blocklist_add(b, &a, 0, "manual", 0), 0);
	assert_int_equal(blocklist_add(b, &c, 0, "manual", 0), 0);
	blocklist_collect(b, keep, NULL);
	assert_int_equal(reported, 2);
}

/* A takeover: what is still in force goes across with its hits and the time it has left. */
static void test_takeover_round_trip(void **state)
{
	struct blocklist *b = *state, *next = blocklist_new();
	struct mcp_prefix forever = prefix("192.0.2.0/24"), brief = prefix("2001:db8::/48"),
			  gone = prefix("198.51.100.7");
	Mcp__Ctl__Takeover t = MCP__CTL__TAKEOVER__INIT;
	Mcp__Ctl__TakeoverBlock bad = MCP__CTL__TAKEOVER_BLOCK__INIT, *bad_one = &bad;

	(void)state;
	assert_non_null(next);
	assert_int_equal(blocklist_add(b, &forever, 0, "manual", 0), 0);
	assert_int_equal(blocklist_add(b, &brief, 1000, "anomaly", 0), 0);
	assert_int_equal(blocklist_add(b, &gone, 300, "anomaly", 0), 0);
	for (int i = 0; i < 5; i++)
		assert_true(blocked(b, "192.0.2.9", 100));
	/* Saved at 400 ms: `gone` has expired (not yet swept), `brief` has 600 ms left. */
	assert_int_equal(blocklist_save(b, 400, &t), 0);
	assert_int_equal(t.n_blocks, 2);
	/* The new mcpd's clock reads otherwise: what is left counts from its own now. */
	assert_int_equal(blocklist_restore(next, &t, 50000), 0);
	assert_int_equal(next->n, 2);
	assert_int_equal(blocklist_find(next, &forever)->hits, 5);
	assert_int_equal(blocklist_find(next, &forever)->expires_ms, 0);
	assert_string_equal(blocklist_find(next, &forever)->reason, "manual");
	assert_int_equal(blocklist_find(next, &brief)->expires_ms, 50600);
	assert_null(blocklist_find(next, &gone));
	assert_true(blocked(next, "2001:db8::1", 50599));
	assert_false(blocked(next, "2001:db8::1", 50600));
	blocklist_save_free(&t);
	assert_int_equal(t.n_blocks, 0);
	/* An entry that is no prefix is counted as lost; the others still come. */
	bad.prefix = "not/a/prefix";
	t.blocks = &bad_one;
	t.n_blocks = 1;
	assert_int_equal(blocklist_restore(next, &t, 0), 1);
	assert_int_equal(next->n, 2);
	blocklist_free(next);
}

/* What mcp_prefix_parse takes, what it makes of host bits, and why it refuses the rest. */
static void test_prefix_parse(void **state)
{
	struct mcp_prefix p, q;
	struct err e = { 0 };
	char text[64], longer[80];

	(void)state;
	assert_int_equal(mcp_prefix_parse("10.1.2.3/16", &p, &e), 0);
	assert_int_equal(mcp_prefix_parse("10.1.0.0/16", &q, &e), 0);
	assert_memory_equal(&p, &q, sizeof(p)); /* host bits cleared: one prefix */
	mcp_prefix_format(&p, text, sizeof(text));
	assert_string_equal(text, "10.1.0.0/16");
	assert_int_equal(mcp_prefix_parse("192.0.2.7", &p, NULL), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(mcp_prefix_parse("2001:db8::1/32", &p, NULL), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 32);
	assert_int_equal(mcp_prefix_parse("::/0", &p, NULL), 0);

	assert_int_equal(mcp_prefix_parse("not-an-address", &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'not-an-address' is not an address or prefix"));
	assert_int_equal(mcp_prefix_parse("10.0.0.0/33", &p, &e), -EINVAL);
	assert_string_equal(e.msg, "'10.0.0.0/33': a prefix length is 0 to 32");
	assert_int_equal(mcp_prefix_parse("2001:db8::/129", &p, &e), -EINVAL);
	assert_string_equal(e.msg, "'2001:db8::/129': a prefix length is 0 to 128");
	assert_int_equal(mcp_prefix_parse("10.0.0.0/", &p, &e), -EINVAL);
	assert_int_equal(mcp_prefix_parse("10.0.0.0/8x", &p, &e), -EINVAL);
	assert_int_equal(mcp_prefix_parse("10.0.0.0/-1", &p, &e), -EINVAL);
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(mcp_prefix_parse(longer, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is too long for an address or prefix"));
	assert_int_equal(mcp_prefix_parse("", &p, NULL), -EINVAL); /* no e: still refused */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_by_prefix_and_family, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_at_the_exact_millisecond, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_again_refreshes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_refuses_a_new_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_round_trip, setup, teardown),
		cmocka_unit_test(test_prefix_parse),
	};

	return cmocka_run_group_tests_name("blocklist", tests, NULL, NULL);
}
