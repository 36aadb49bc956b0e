// SPDX-License-Identifier: GPL-2.0-only
/* Frame encode/decode: every opcode in both versions, every invalid header. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "frame.h"

static void test_round_trip_every_opcode(void **state)
{
	uint8_t buf[MCP_HDR_V2_LEN + 300], payload[300];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (uint8_t version = 1; version <= 2; version++) {
		for (unsigned op = 0; op < 256; op++) {
			struct mcp_frame out;
			size_t len = op % 5 == 0 ? 0 : op + 1;
			ssize_t n = mcp_frame_build(buf, sizeof(buf), version, (uint8_t)op,
						    0xA1B2C3D4u + op, 0x01020304u * version,
						    payload, len);

			assert_int_equal(n, (version == 2 ? 16 : 8) + len);
			/* The v1 wire bytes, literally. */
			assert_int_equal(buf[0], 0x4D);
			assert_int_equal(buf[3], 0x01);
			assert_int_equal(buf[4], version);
			assert_int_equal(buf[5], op);
			assert_int_equal(buf[6], len >> 8);
			assert_int_equal(buf[7], len & 0xff);

			ssize_t got = mcp_frame_decode(buf, (size_t)n, version, 65535,
						       MCP_PEER_ANY, &out);
			if (mcp_opcode_class((uint8_t)op) == MCP_OPC_INVALID) {
				assert_int_equal(got, -MCP_CHECK_BAD_OPCODE);
				continue;
			}
			assert_int_equal(got, n);
			assert_int_equal(out.version, version);
			assert_int_equal(out.opcode, op);
			assert_int_equal(out.length, len);
			assert_memory_equal(out.payload, payload, len);
			if (version == 2) {
				assert_int_equal(out.stream_id, 0xA1B2C3D4u + op);
				assert_int_equal(out.session, 0x01020304u * 2);
				assert_int_equal(buf[8], (0xA1B2C3D4u + op) >> 24);
			} else {
				assert_int_equal(out.stream_id, 0);
				assert_int_equal(out.session, 0);
			}
			/* Every proper prefix is "incomplete", never an error. */
			for (ssize_t cut = 0; cut < n; cut++)
				assert_int_equal(mcp_frame_decode(buf, (size_t)cut, version, 65535,
								  MCP_PEER_ANY, &out),
						 0);
		}
	}
}

static void test_encode_errors(void **state)
{
	uint8_t buf[32], payload[64] = { 0 };

	(void)state;
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 3, 0x01, 0, 0, payload, 1), -EINVAL);
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 0, 0x01, 0, 0, payload, 1), -EINVAL);
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 1, 0x01, 0, 0, payload, 25), -ENOSPC);
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 1, 0x01, 0, 0, payload, 24), 32);
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 2, 0x01, 0, 0, payload, 17), -ENOSPC);
	assert_int_equal(mcp_frame_build(buf, sizeof(buf), 1, 0x01, 0, 0, payload, 65536),
			 -EMSGSIZE);
}

static void test_invalid_headers(void **state)
{
	uint8_t good[8 + 4] = { 0x4D, 0x43, 0x50, 0x01, 1, 0x01, 0, 4, 'a', 'b', 'c', 'd' };
	uint8_t buf[sizeof(good)];
	struct mcp_frame f;

	(void)state;
	assert_int_equal(mcp_frame_decode(good, sizeof(good), 1, 100, MCP_PEER_CLIENT, &f), 12);

	for (int i = 0; i < 4; i++) {
		for (unsigned b = 0; b < 256; b++) {
			memcpy(buf, good, sizeof(buf));
			if (b == buf[i])
				continue;
			buf[i] = (uint8_t)b;
			assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100,
							  MCP_PEER_CLIENT, &f),
					 -MCP_CHECK_BAD_MAGIC);
		}
	}
	for (unsigned v = 0; v < 256; v++) {
		memcpy(buf, good, sizeof(buf));
		buf[4] = (uint8_t)v;
		assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_CLIENT, &f),
				 v == 1 ? 12 : -MCP_CHECK_BAD_VERSION);
	}
	memcpy(buf, good, sizeof(buf));
	buf[5] = 0x00;
	assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_CLIENT, &f),
			 -MCP_CHECK_BAD_OPCODE);
	buf[5] = 0x80;
	assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_CLIENT, &f),
			 -MCP_CHECK_BAD_OPCODE);
	buf[5] = 0xF4; /* CLOSE | 0x80 */
	assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_ANY, &f),
			 -MCP_CHECK_BAD_OPCODE);
	buf[5] = 0x81; /* a response sent by a client */
	assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_CLIENT, &f),
			 -MCP_CHECK_BAD_OPCODE);
	buf[5] = 0x01; /* a request sent by a backend */
	assert_int_equal(mcp_frame_decode(buf, sizeof(buf), 1, 100, MCP_PEER_BACKEND, &f),
			 -MCP_CHECK_BAD_OPCODE);
	/* Length over max_frame, with max_frame 3: the header alone decides. */
	assert_int_equal(mcp_frame_decode(good, 8, 1, 3, MCP_PEER_CLIENT, &f),
			 -MCP_CHECK_TOO_LARGE);
	assert_int_equal(mcp_frame_decode(good, 8, 1, 4, MCP_PEER_CLIENT, &f), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mcp_opcode_name(0x01), "GET");
	assert_string_equal(mcp_opcode_name(0x72), "PING");
	assert_string_equal(mcp_opcode_name(0x42), "REQUEST");
	assert_string_equal(mcp_opcode_name(0xC2), "RESPONSE");
	assert_string_equal(mcp_opcode_name(0xF0), "INVALID");
	assert_string_equal(mcp_check_name(MCP_CHECK_TOO_LARGE), "too_large");
	assert_string_equal(mcp_check_name(99), "unknown");
	assert_string_equal(mcp_error_code_name(7), "BACKEND_UNAVAILABLE");
	assert_string_equal(mcp_error_code_name(1000), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_opcode),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_invalid_headers),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
