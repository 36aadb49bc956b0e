// SPDX-License-Identifier: GPL-2.0-only
/* What mcp-echo counts and how it reports it (user/echo_stats.h): the report is what the e2e
 * tests read their backends' counts from, so its lines are held to their documented form. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "echo_stats.h"

static void hello_from(struct echo_stats *s, const char *client_id)
{
	uint8_t buf[512];
	struct mcp_hello h = { .versions = { 1 }, .n_versions = 1 };
	struct mcp_frame f;
	ssize_t n;

	snprintf(h.client_id, sizeof(h.client_id), "%s", client_id);
	n = mcp_build_hello(buf, sizeof(buf), &h);
	assert_true(n > 0);
	assert_true(mcp_frame_decode(buf, (size_t)n, 1, MCP_MAX_FRAME_LIMIT, MCP_PEER_CLIENT, &f) > 0);
	echo_stats_frame(s, &f);
}

static void test_frames_counted_and_client_id_kept(void **state)
{
	struct echo_stats s = { 0 };
	struct mcp_frame get = { .version = 1, .opcode = MCP_OP_GET };

	(void)state;
	hello_from(&s, "alice@example");
	for (int i = 0; i < 3; i++)
		echo_stats_frame(&s, &get);
	assert_int_equal(s.frames[MCP_OP_HELLO], 1);
	assert_int_equal(s.frames[MCP_OP_GET], 3);
	assert_int_equal(s.frames[MCP_OP_SET], 0);
	assert_string_equal(s.last_client_id, "alice@example");
	/* A HELLO with no client id says so: the last one counts. */
	hello_from(&s, "");
	assert_string_equal(s.last_client_id, "");
}

static void test_datagrams_requests_only(void **state)
{
	struct echo_stats s = { 0 };
	uint8_t d[64];
	ssize_t n = mcp_frame_build(d, sizeof(d), 2, MCP_OP_SET, 9, 0xdeadbeef, "x", 1);

	(void)state;
	assert_true(n > 0);
	echo_stats_datagram(&s, d, (size_t)n);
	assert_int_equal(s.datagrams[MCP_OP_SET], 1);
	assert_int_equal(s.last_udp_session, 0xdeadbeef);
	/* A response, or a datagram shorter than a header, is not a request. */
	d[MCP_OFF_OPCODE] = mcp_response_opcode(MCP_OP_SET);
	echo_stats_datagram(&s, d, (size_t)n);
	d[MCP_OFF_OPCODE] = MCP_OP_GET;
	echo_stats_datagram(&s, d, MCP_HDR_V1_LEN - 1);
	assert_int_equal(s.datagrams[mcp_response_opcode(MCP_OP_SET)], 0);
	assert_int_equal(s.datagrams[MCP_OP_GET], 0);
	assert_int_equal(s.frames[MCP_OP_SET], 0); /* UDP and TCP apart */
}

static void test_report_lines(void **state)
{
	struct echo_stats s = { .sessions = 2, .last_udp_session = 42 };
	char out[4096];
	size_t n;

	(void)state;
	s.frames[0x12] = 7;
	s.frames[MCP_OP_GET] = 40000;
	s.datagrams[MCP_OP_SET] = 1;
	strcpy(s.last_client_id, "a b\\c\x01");
	n = echo_stats_report(&s, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	/* Opcodes in order; the id's space, backslash and control byte escaped, so one id is one
	 * word on one line. */
	assert_string_equal(out, "sessions 2\n"
				 "last_client_id a\\x20b\\x5cc\\x01\n"
				 "last_udp_session 0x0000002a\n"
				 "tcp 0x01 GET 40000\n"
				 "tcp 0x12 REQUEST 7\n"
				 "udp 0x02 SET 1\n");
}

static void test_report_cut_to_its_buffer(void **state)
{
	struct echo_stats s = { 0 };
	char out[20];

	(void)state;
	for (int op = 0; op < 256; op++)
		s.frames[op] = 1;
	assert_int_equal(echo_stats_report(&s, out, sizeof(out)), sizeof(out) - 1);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_int_equal(echo_stats_report(&s, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_counted_and_client_id_kept),
		cmocka_unit_test(test_datagrams_requests_only),
		cmocka_unit_test(test_report_lines),
		cmocka_unit_test(test_report_cut_to_its_buffer),
	};

	return cmocka_run_group_tests_name("echo_stats", tests, NULL, NULL);
}
