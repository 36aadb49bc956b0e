// SPDX-License-Identifier: GPL-2.0-only
/* mcpd's config: what parses, and every refusal naming file, line and reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char path[64];
static struct err load_err; /* what the last load said */

static int load(const char *text, struct mcp_config *cfg)
{
	FILE *f;

	strcpy(path, "/tmp/mcp-config-test-XXXXXX");
	int fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	int rc = mcp_config_load(path, cfg, &load_err);
	unlink(path);
	return rc;
}

/* The error must be "<path>:<line>: <reason containing want>". */
static void refused(const char *text, int line, const char *want)
{
	struct mcp_config *cfg = malloc(sizeof(*cfg));
	char prefix[128];

	assert_int_equal(load(text, cfg), -EINVAL);
	assert_int_equal(load_err.code, EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(load_err.msg, prefix, strlen(prefix)) || !strstr(load_err.msg, want))
		fail_msg("got '%s', want '%s...%s'", load_err.msg, prefix, want);
	free(cfg);
}

static void test_defaults(void **state)
{
	struct mcp_config *cfg = malloc(sizeof(*cfg));

	(void)state;
	mcp_config_defaults(cfg);
	assert_int_equal(cfg->n_listen, 1);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:7800");
	assert_int_equal(cfg->datapath, MCP_DATAPATH_AUTO);
	assert_int_equal(cfg->max_frame, 16384);
	assert_int_equal(cfg->heartbeat_ms, 5000);
	assert_int_equal(cfg->idle_timeout_ms, 15000);
	assert_int_equal(cfg->max_sessions, 65536);
	assert_int_equal(cfg->n_pools, 0);
	assert_int_equal(mcp_config_pools_used(cfg), 0);
	assert_string_equal(cfg->pin_root, "/sys/fs/bpf/mcp");
	/* The limits against denial of service (docs/operations.md, Under attack). */
	assert_int_equal(cfg->handshake_timeout_ms, 5000);
	assert_int_equal(cfg->max_unnegotiated, 16384);
	assert_true(cfg->max_queued_bytes == 256ull << 20);
	assert_int_equal(cfg->udp_relays, 1024);
	assert_int_equal(cfg->inline_max_unread, 4 << 20);
	assert_int_equal(cfg->kernel_max_held, 32 << 20);
	assert_int_equal(cfg->udp_relay_idle_ms, 5000);
	assert_false(cfg->udp_verify);
	assert_int_equal(cfg->metrics_per_source, 8);
	assert_int_equal(cfg->metrics_timeout_s, 3);
	free(cfg);
}

static void test_full_config(void **state)
{
	struct mcp_config *cfg = malloc(sizeof(*cfg));

	(void)state;
	assert_int_equal(load("; comment\n"
			      "[mcpd]\n"
			      "listen = 127.0.0.1:7800\n"
			      "listen = [::1]:7801\n"
			      "datapath = user\n"
			      "max_frame = 65535 ; inline comment\n"
			      "heartbeat_ms = 1000\n"
			      "idle_timeout_ms = 3000\n"
			      "max_sessions = 10\n"
			      "tcp_nodelay = false\n"
			      "auto_block = yes\n"
			      "pin_root = /sys/fs/bpf/mcp-second\n"
			      "handshake_timeout_ms = 700\n"
			      "max_unnegotiated = 50 ; more than half of max_sessions: held to it\n"
			      "max_queued_bytes = 1048576\n"
			      "udp_relays = 7\n"
			      "udp_verify = yes\n"
			      "inline_max_unread = 65536\n"
			      "[pool kv]\n"
			      "backend = 127.0.0.1:9001\n"
			      "backend = [::1]:9002\n"
			      "[pool other]\n"
			      "backend = 10.0.0.1:1\n"
			      "[routes]\n"
			      "GET = kv\n"
			      "0x10-0x1F = other\n"
			      "SYNC-DEL = other\n"
			      "default = kv\n",
			      cfg),
			 0);
	assert_int_equal(cfg->n_listen, 2);
	assert_int_equal(cfg->listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&cfg->listen[1].ss)->sin6_port), 7801);
	assert_int_equal(cfg->datapath, MCP_DATAPATH_USER);
	assert_int_equal(cfg->max_frame, 65535);
	assert_int_equal(cfg->max_sessions, 10);
	assert_false(cfg->tcp_nodelay);
	assert_true(cfg->auto_block);
	assert_string_equal(cfg->pin_root, "/sys/fs/bpf/mcp-second");
	assert_int_equal(cfg->handshake_timeout_ms, 700);
	assert_int_equal(cfg->max_unnegotiated, 5); /* half of max_sessions */
	assert_true(cfg->max_queued_bytes == 1048576);
	assert_int_equal(cfg->udp_relays, 7);
	assert_true(cfg->udp_verify);
	assert_int_equal(cfg->inline_max_unread, 65536);
	assert_int_equal(cfg->n_pools, 2);
	assert_string_equal(cfg->pools[0].name, "kv");
	assert_int_equal(cfg->pools[0].n_backends, 2);
	assert_int_equal(cfg->routes[0x01], 1);
	assert_int_equal(cfg->routes[0x02], 1); /* default */
	assert_int_equal(cfg->routes[0x03], 2);
	assert_int_equal(cfg->routes[0x04], 2);
	assert_int_equal(cfg->routes[0x0F], 1);
	assert_int_equal(cfg->routes[0x10], 2);
	assert_int_equal(cfg->routes[0x1F], 2);
	assert_int_equal(cfg->routes[0x20], 1);
	assert_int_equal(cfg->routes[0x6F], 1);
	assert_int_equal(cfg->routes[0x00], 0); /* not requests */
	assert_int_equal(cfg->routes[0x70], 0);
	assert_int_equal(cfg->routes[0x81], 0);
	assert_int_equal(mcp_config_pools_used(cfg), 3);
	free(cfg);
}

/* auth, auth_keys and [client NAME]: an identity narrowed by opcodes, pools and rate. */
static void test_identities(void **state)
{
	struct mcp_config *cfg = malloc(sizeof(*cfg));
	const struct mcp_client_cfg *c;

	(void)state;
	assert_int_equal(load("[mcpd]\nauth = required\nauth_keys = /etc/mcp/auth.keys\n"
			      "[pool kv]\nbackend = 127.0.0.1:9001\n[pool logs]\nbackend = 127.0.0.1:9002\n"
			      "[routes]\ndefault = kv\n[client alice]\nallow = GET, 0x10-0x11\n"
			      "pools = logs\nrate_fps = 50\n[client anonymous]\nallow = GET\n",
			      cfg),
			 0);
	assert_int_equal(cfg->auth, MCP_AUTH_MODE_REQUIRED);
	assert_string_equal(cfg->auth_keys, "/etc/mcp/auth.keys");
	assert_int_equal(cfg->n_clients, 2);
	c = mcp_config_client(cfg, "alice");
	assert_non_null(c);
	assert_int_equal(c->opcodes[0], (1ull << MCP_OP_GET) | (1ull << 0x10) | (1ull << 0x11));
	assert_int_equal(c->opcodes[1], 0);
	assert_int_equal(c->pools, 1u << 1);
	assert_int_equal(c->rate_fps, 50);
	c = mcp_config_client(cfg, "anonymous");
	assert_non_null(c);
	assert_int_equal(c->pools, ~0u); /* not given: every pool */
	assert_null(mcp_config_client(cfg, "bob"));
	assert_int_equal(mcp_config_pool_index(cfg, "logs"), 1);
	/* The default is off, with no key file. */
	assert_int_equal(load("[mcpd]\n", cfg), 0);
	assert_int_equal(cfg->auth, MCP_AUTH_MODE_OFF);
	free(cfg);
	refused("[mcpd]\nauth = maybe\n", 2, "auth: 'maybe'");
	refused("[mcpd]\nauth = optional\n", 2, "needs auth_keys");
	refused("[mcpd]\nauth_keys = keys.txt\n", 2, "absolute path");
	refused("[client x]\nallow = GET, HELLO\n", 2, "'HELLO' is not a request opcode");
	refused("[client x]\nrate_fps = lots\n", 2, "rate_fps");
	refused("[client x]\npools = nowhere\n", 2, "no [pool nowhere]");
	refused("[client x]\ncolour = blue\n", 2, "unknown key 'colour' in [client x]");
	refused("[client two words]\nallow = GET\n", 1, "bad client name");
}

static void test_refusals(void **state)
{
	(void)state;
	refused("[mcpd]\nmax_frame = 16384\nmax_frame = 70000\n", 3, "max_frame");
	refused("[mcpd]\nmax_frame = -1\n", 2, "max_frame");
	refused("[mcpd]\nmax_frame = 12abc\n", 2, "max_frame");
	refused("[mcpd]\nlisten = localhost\n", 2, "listen");
	refused("[mcpd]\nlisten = 127.0.0.1:0\n", 2, "listen");
	refused("[mcpd]\nlisten = 127.0.0.1:65536\n", 2, "listen");
	refused("[mcpd]\nlisten = [::1:80\n", 2, "listen");
	refused("[mcpd]\ndatapath = fast\n", 2, "datapath");
	refused("[mcpd]\ntcp_nodelay = maybe\n", 2, "tcp_nodelay");
	refused("[mcpd]\nspeed = 11\n", 2, "unknown key 'speed'");
	refused("[mcpd]\npin_root = mcp\n", 2, "pin_root: 'mcp' is not an absolute path");
	refused("[mcpd]\nmax_frame = 100\n", 2, "max_frame: '100' is not a number in 512..65535");
	refused("[mcpd]\nmax_queued_bytes = 1000\n", 2, "max_queued_bytes");
	refused("[mcpd]\nmax_queued_bytes = -5\n", 2, "max_queued_bytes");
	refused("[mcpd]\nudp_verify = sometimes\n", 2, "udp_verify");
	refused("[mcpd]\nudp_relays = 0\n", 2, "udp_relays");
	refused("[mcpd]\ninline_max_unread = 100\n", 2, "inline_max_unread");
	refused("[mcpd]\nkernel_max_held = 4096\n", 2, "kernel_max_held");
	refused("[mcpd]\npin_root = /sys/fs/bpf/../tmp\n", 2, "pin_root");
	refused("[mcdp]\n", 1, "unknown section");
	refused("[mcdp]\nx = 1\n", 1, "unknown section [mcdp]");
	refused("x = 1\n", 1, "outside any section");
	refused("[mcpd]\nthis is not ini\n", 2, "not an INI line");
	refused("[pool a]\nbackend = 1.2.3.4\n", 2, "backend");
	refused("[pool a]\nserver = 1.2.3.4:5\n", 2, "unknown key 'server'");
	refused("[pool a]\nbackend = 1.2.3.4:5\n[routes]\nGET = b\n", 4, "unknown pool 'b'");
	refused("[pool a]\n[routes]\nGET = a\n", 3, "no backend");
	refused("[pool a]\nbackend = 1.2.3.4:5\n[routes]\nHELLO = a\n", 4, "not a request opcode");
	refused("[pool a]\nbackend = 1.2.3.4:5\n[routes]\n0x70 = a\n", 4, "not a request opcode");
	refused("[pool a]\nbackend = 1.2.3.4:5\n[routes]\n0x20-0x10 = a\n", 4, "not a request");
	refused("[mcpd]\nheartbeat_ms = 5000\nidle_timeout_ms = 100\n", 3, "shorter than");

	struct mcp_config *cfg = malloc(sizeof(*cfg));
	assert_int_equal(mcp_config_load("/nonexistent/mcpd.ini", cfg, &load_err), -ENOENT);
	assert_non_null(strstr(load_err.msg, "/nonexistent/mcpd.ini: No such file"));
	free(cfg);
}

static void test_opcode_names(void **state)
{
	(void)state;
	assert_int_equal(mcp_parse_request_opcode("GET"), 1);
	assert_int_equal(mcp_parse_request_opcode("get"), 1);
	assert_int_equal(mcp_parse_request_opcode("DEL"), 4);
	assert_int_equal(mcp_parse_request_opcode("0x6f"), 0x6F);
	assert_int_equal(mcp_parse_request_opcode("111"), 111);
	assert_int_equal(mcp_parse_request_opcode("112"), -1);
	assert_int_equal(mcp_parse_request_opcode("0"), -1);
	assert_int_equal(mcp_parse_request_opcode(""), -1);
	assert_int_equal(mcp_parse_request_opcode("PING"), -1);
}

/* Sessions hold backends by pool position: a pool in use keeps its place across a reload. */
static void test_pools_kept(void **state)
{
	static const char *const old[] = { "kv", "sync" };
	struct mcp_config *next = malloc(sizeof(*next));
	struct err e;

	(void)state;
	/* Same pools, one added at the end: fine whatever is in use. */
	assert_int_equal(load("[pool kv]\nbackend = 127.0.0.1:1\n[pool sync]\nbackend = 127.0.0.1:2\n"
			      "[pool new]\nbackend = 127.0.0.1:3\n", next), 0);
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x3, &e), 0);
	/* Swapped: refused while either is in use, fine when neither is. */
	assert_int_equal(load("[pool sync]\nbackend = 127.0.0.1:2\n[pool kv]\nbackend = 127.0.0.1:1\n",
			      next), 0);
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x1, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "pool 'kv' is [pool] section 1"));
	assert_non_null(strstr(e.msg, "moves"));
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x2, &e), -EBUSY);
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x0, &e), 0);
	/* The second removed: refused only while it is in use. */
	assert_int_equal(load("[pool kv]\nbackend = 127.0.0.1:1\n", next), 0);
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x1, &e), 0);
	assert_int_equal(mcp_config_pools_kept(old, 2, next, 0x2, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "removes"));
	free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_opcode_names),
		cmocka_unit_test(test_pools_kept),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
