// SPDX-License-Identifier: GPL-2.0-only
/* The session state machine against docs/protocol.md, "Session states": every pair of states,
 * spelled out here independently of the code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "session_state.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests_name("session_state", tests, NULL, NULL);
}
