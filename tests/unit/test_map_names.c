// SPDX-License-Identifier: GPL-2.0-only
/* The map names userspace uses (include/mcp/maps.h, xdp.h) are the programs' own: each is
 * looked up in the opened (not loaded: no privilege needed) skeletons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "mcp/maps.h"
#include "mcp/perm.h"
#include "mcp/xdp.h"
#include "mcp_sockmap.skel.h"
#include "mcp_xdp.skel.h"
#include "mcp_inline.skel.h"

static void found(struct bpf_object *obj, const char *name)
{
	if (!bpf_object__find_map_by_name(obj, name))
		fail_msg("no map named %s in %s", name, bpf_object__name(obj));
}

static void test_sockmap_names(void **state)
{
	static const char *const names[] = { MCP_MAP_SOCKS,	 MCP_MAP_SOCK_STATE, MCP_MAP_SOCK_FWD,
					     MCP_MAP_SOCK_REDIR, MCP_MAP_SOCK_FULL,  MCP_MAP_ROUTES,
					     MCP_MAP_OP_STATS,	 MCP_MAP_DP_STATS,   MCP_MAP_EVENTS,
					     MCP_MAP_EV_BUDGET, MCP_MAP_PERMS, MCP_MAP_PERM_STATS };
	struct mcp_sockmap *skel = mcp_sockmap__open();

	(void)state;
	assert_non_null(skel);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		found(skel->obj, names[i]);
	mcp_sockmap__destroy(skel);
}

static void test_xdp_names(void **state)
{
	static const char *const names[] = { MCP_MAP_XDP_PORTS, MCP_MAP_XDP_CFG, MCP_MAP_BLOCK_V4,
					     MCP_MAP_BLOCK_V6,	MCP_MAP_RATE,	 MCP_MAP_NEWSRC,
					     MCP_MAP_XDP_STATS, MCP_MAP_EVENTS };
	struct mcp_xdp *skel = mcp_xdp__open();

	(void)state;
	assert_non_null(skel);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		found(skel->obj, names[i]);
	mcp_xdp__destroy(skel);
}

static void test_inline_names(void **state)
{
	static const char *const names[] = { MCP_MAP_INLINE_SOCKS, MCP_MAP_INLINE_PORTS,
					     MCP_MAP_INLINE_STATE, MCP_MAP_INLINE_PEERS,
					     MCP_MAP_INLINE_FLIGHT, MCP_MAP_INLINE_STATS,
					     MCP_MAP_ROUTES, MCP_MAP_OP_STATS, MCP_MAP_PERMS,
					     MCP_MAP_PERM_STATS };
	struct mcp_inline *skel = mcp_inline__open();

	(void)state;
	assert_non_null(skel);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		found(skel->obj, names[i]);
	mcp_inline__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockmap_names),
		cmocka_unit_test(test_xdp_names),
		cmocka_unit_test(test_inline_names),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests_name("map_names", tests, NULL, NULL);
}
