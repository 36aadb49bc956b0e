// SPDX-License-Identifier: GPL-2.0-only
/* The session state machine's rules (session_state.h). */
#include "session_state.h"

static const char *const state_names[S__COUNT] = {
	[S_IDLE] = "IDLE",	 [S_CONNECTING] = "CONNECTING", [S_CONNECTED] = "CONNECTED",
	[S_CLOSING] = "CLOSING", [S_ERROR] = "ERROR",		[S_CLOSED] = "CLOSED",
};

const char *session_state_name(int state)
{
	return state >= 0 && state < S__COUNT ? state_names[state] : "?";
}

bool session_transition_legal(int from, int to)
{
	switch (from) {
	case S_IDLE:
		return to == S_CONNECTING || to == S_ERROR || to == S_CLOSED;
	case S_CONNECTING:
		return to == S_CONNECTED || to == S_ERROR || to == S_CLOSED;
	case S_CONNECTED:
		return to == S_CLOSING || to == S_ERROR || to == S_CLOSED;
	case S_CLOSING:
		return to == S_CLOSED || to == S_ERROR;
	case S_ERROR:
		return to == S_CLOSED;
	default:
		return false;
	}
}
