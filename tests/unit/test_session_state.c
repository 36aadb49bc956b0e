// SPDX-License-Identifier: GPL-2.0-only
/* The session state machine against docs/protocol.md, "Session states": every pair of states,
 * spelled out here independently of the code; what a client's frame means in each state; and
 * the terms a HELLO negotiates ("Version negotiation"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "session_state.h"
#include "mcp/wire.h"

static void test_every_transition(void **state)
{
	/* legal[from][to], from the prose: forward through the handshake, CLOSING only from
	 * CONNECTED, ERROR from any live state, CLOSED at the end of everything. */
	static const bool legal[S__COUNT][S__COUNT] = {
		[S_IDLE] = { [S_CONNECTING] = 1, [S_ERROR] = 1, [S_CLOSED] = 1 },
		[S_CONNECTING] = { [S_CONNECTED] = 1, [S_ERROR] = 1, [S_CLOSED] = 1 },
		[S_CONNECTED] = { [S_CLOSING] = 1, [S_ERROR] = 1, [S_CLOSED] = 1 },
		[S_CLOSING] = { [S_ERROR] = 1, [S_CLOSED] = 1 },
		[S_ERROR] = { [S_CLOSED] = 1 },
		[S_CLOSED] = { 0 },
	};

	(void)state;
	for (int from = 0; from < S__COUNT; from++)
		for (int to = 0; to < S__COUNT; to++)
			if (session_transition_legal(from, to) != legal[from][to])
				fail_msg("%s -> %s: %s", session_state_name(from),
					 session_state_name(to), legal[from][to] ? "refused" : "allowed");
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_false(session_transition_legal(-1, S_CLOSED));
	assert_false(session_transition_legal(S__COUNT, S_CLOSED));
	assert_false(session_transition_legal(S_IDLE, S__COUNT));
	assert_string_equal(session_state_name(S__COUNT), "?");
	assert_string_equal(session_state_name(S_CONNECTED), "CONNECTED");
}

static void test_client_frame_in_each_state(void **state)
{
	const char *why = NULL;
	int code = -1;

	(void)state;
	assert_int_equal(session_client_rule(S_IDLE, MCP_OP_HELLO, &code, &why), CLIENT_HELLO);
	assert_int_equal(session_client_rule(S_IDLE, MCP_OP_GET, &code, &why), CLIENT_REFUSE);
	assert_int_equal(code, MCP_ERR_NOT_NEGOTIATED);
	assert_string_equal(why, "data before HELLO");
	assert_int_equal(session_client_rule(S_IDLE, MCP_OP_PING, &code, &why), CLIENT_REFUSE);
	/* Between HELLO and HELLO_ACK nothing is taken, a second HELLO neither. */
	for (int op = 0; op < 256; op++) {
		code = -1;
		assert_int_equal(session_client_rule(S_CONNECTING, (uint8_t)op, &code, &why),
				 CLIENT_REFUSE);
		assert_int_equal(code, MCP_ERR_NOT_NEGOTIATED);
	}
	assert_int_equal(session_client_rule(S_CONNECTED, MCP_OP_GET, &code, &why), CLIENT_CARRY);
	assert_int_equal(session_client_rule(S_CONNECTED, MCP_OP_CLOSE, &code, &why), CLIENT_CARRY);
	assert_int_equal(session_client_rule(S_CONNECTED, MCP_OP_HELLO, &code, &why),
			 CLIENT_REFUSE);
	assert_int_equal(code, MCP_ERR_PROTOCOL_VIOLATION);
	assert_string_equal(why, "second HELLO");
	/* After CLOSE, or once ending, whatever follows is dropped. */
	for (int st = S_CLOSING; st < S__COUNT; st++)
		assert_int_equal(session_client_rule(st, MCP_OP_GET, &code, &why), CLIENT_DROP);
}

/* A HELLO frame as a client sends it: its bytes decoded into f (payload in buf). */
static void hello_frame(uint8_t *buf, size_t cap, uint8_t version, const struct mcp_hello *h,
			struct mcp_frame *f)
{
	ssize_t n = mcp_build_hello(buf, cap, h);

	assert_true(n > 0);
	if (version != MCP_VERSION_1) { /* the same payload under another header */
		uint8_t copy[512];
		struct mcp_frame v1;

		assert_true(mcp_frame_decode(buf, (size_t)n, 0, 4096, MCP_PEER_CLIENT, &v1) > 0);
		memcpy(copy, v1.payload, v1.length);
		n = mcp_frame_build(buf, cap, version, MCP_OP_HELLO, 0, 0, copy, v1.length);
		assert_true(n > 0);
	}
	assert_true(mcp_frame_decode(buf, (size_t)n, 0, 4096, MCP_PEER_CLIENT, f) > 0);
}

static void test_read_hello(void **state)
{
	struct mcp_hello h = { .versions = { 1, 2 }, .n_versions = 2 }, got;
	struct mcp_frame f;
	uint8_t buf[512];
	const char *why = NULL;

	(void)state;
	hello_frame(buf, sizeof(buf), MCP_VERSION_1, &h, &f);
	assert_int_equal(session_read_hello(&f, &got, &why), 0);
	assert_int_equal(got.n_versions, 2);
	hello_frame(buf, sizeof(buf), MCP_VERSION_2, &h, &f);
	assert_int_equal(session_read_hello(&f, &got, &why), MCP_ERR_PROTOCOL_VIOLATION);
	assert_string_equal(why, "HELLO must carry a v1 header");
	/* A payload that is not a Hello message. */
	f.version = MCP_VERSION_1;
	f.payload = (const uint8_t *)"\xff\xff\xff";
	f.length = 3;
	assert_int_equal(session_read_hello(&f, &got, &why), MCP_ERR_PROTOCOL_VIOLATION);
	assert_string_equal(why, "malformed HELLO payload");
}

static void test_terms(void **state)
{
	struct mcp_hello h = { .versions = { 1, 2 }, .n_versions = 2 };
	struct session_terms t;
	const char *why = NULL;

	(void)state;
	/* The highest version both speak, in whatever order the client lists them. */
	assert_int_equal(session_terms(&h, 65535, &t, &why), 0);
	assert_int_equal(t.version, 2);
	assert_int_equal(t.max_frame, 65535);
	h.versions[0] = 2;
	h.versions[1] = 1;
	assert_int_equal(session_terms(&h, 65535, &t, &why), 0);
	assert_int_equal(t.version, 2);
	h.versions[0] = 1;
	h.n_versions = 1;
	assert_int_equal(session_terms(&h, 65535, &t, &why), 0);
	assert_int_equal(t.version, 1);
	/* Nothing in common. */
	h.versions[0] = 3;
	h.versions[1] = 7;
	h.n_versions = 2;
	assert_int_equal(session_terms(&h, 65535, &t, &why), MCP_ERR_UNSUPPORTED_VERSION);
	assert_string_equal(why, "no common version; router speaks 1, 2");
	h.n_versions = 0;
	assert_int_equal(session_terms(&h, 65535, &t, &why), MCP_ERR_UNSUPPORTED_VERSION);
	/* The frame limit: the client's own when lower, never below the floor, never above the
	 * router's; 0 asks nothing. */
	h.versions[0] = 1;
	h.n_versions = 1;
	h.max_frame = 1000;
	assert_int_equal(session_terms(&h, 4096, &t, &why), 0);
	assert_int_equal(t.max_frame, 1000);
	h.max_frame = 100;
	assert_int_equal(session_terms(&h, 4096, &t, &why), 0);
	assert_int_equal(t.max_frame, MCP_MAX_FRAME_FLOOR);
	h.max_frame = 100000;
	assert_int_equal(session_terms(&h, 4096, &t, &why), 0);
	assert_int_equal(t.max_frame, 4096);
	h.max_frame = 0;
	assert_int_equal(session_terms(&h, 4096, &t, &why), 0);
	assert_int_equal(t.max_frame, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_client_frame_in_each_state),
		cmocka_unit_test(test_read_hello),
		cmocka_unit_test(test_terms),
	};

	return cmocka_run_group_tests_name("session_state", tests, NULL, NULL);
}
