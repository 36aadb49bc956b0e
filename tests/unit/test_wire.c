// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules of include/mcp/wire.h against the protocol as docs/protocol.md writes it. Every
 * expectation here is spelled out literally, so changing a rule in the header fails a test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "mcp/wire.h"

/* docs/protocol.md "Opcodes", written out independently of the header. */
static int expected_class(unsigned op)
{
	if (op >= 0x01 && op <= 0x6F)
		return MCP_OPC_REQUEST;
	if (op >= 0x81 && op <= 0xEF)
		return MCP_OPC_RESPONSE;
	if (op == 0x70 || op == 0x71 || op == 0x72 || op == 0x73 || op == 0x74 || op == 0x7F)
		return MCP_OPC_CONTROL;
	return MCP_OPC_INVALID;
}

/* What answers each opcode: PONG answers PING, 0x80 | request answers a request (0x01-0x6F),
 * nothing answers the rest. */
static void test_answer_opcode(void **state)
{
	(void)state;
	for (unsigned op = 0; op < 256; op++) {
		unsigned want = op == 0x72 ? 0x73 : op >= 0x01 && op <= 0x6F ? (op | 0x80) : 0;

		assert_int_equal(mcp_answer_opcode((uint8_t)op), want);
	}
}

static void test_opcode_classes(void **state)
{
	(void)state;
	for (unsigned op = 0; op < 256; op++)
		assert_int_equal(mcp_opcode_class((uint8_t)op), expected_class(op));
	/* The named ones. */
	assert_int_equal(MCP_OP_GET, 0x01);
	assert_int_equal(MCP_OP_SET, 0x02);
	assert_int_equal(MCP_OP_SYNC, 0x03);
	assert_int_equal(MCP_OP_DEL, 0x04);
	assert_int_equal(MCP_OP_HELLO, 0x70);
	assert_int_equal(MCP_OP_HELLO_ACK, 0x71);
	assert_int_equal(MCP_OP_PING, 0x72);
	assert_int_equal(MCP_OP_PONG, 0x73);
	assert_int_equal(MCP_OP_CLOSE, 0x74);
	assert_int_equal(MCP_OP_ERROR, 0x7F);
	for (unsigned op = 0x01; op <= 0x6F; op++)
		assert_int_equal(mcp_response_opcode((uint8_t)op), op + 0x80);
}

static void test_opcode_direction(void **state)
{
	(void)state;
	for (unsigned op = 0; op < 256; op++) {
		int cls = expected_class(op);
		int client = cls == MCP_OPC_REQUEST ||
			     (cls == MCP_OPC_CONTROL && op != 0x71 /* HELLO_ACK */);
		int backend = cls == MCP_OPC_RESPONSE ||
			      (cls == MCP_OPC_CONTROL && op != 0x70 /* HELLO */);
		int udp = cls == MCP_OPC_REQUEST || op == 0x72;

		assert_int_equal(mcp_opcode_allowed((uint8_t)op, MCP_PEER_CLIENT), client);
		assert_int_equal(mcp_opcode_allowed((uint8_t)op, MCP_PEER_BACKEND), backend);
		assert_int_equal(mcp_opcode_allowed((uint8_t)op, MCP_PEER_ANY), cls != MCP_OPC_INVALID);
		assert_int_equal(mcp_udp_opcode_allowed((uint8_t)op), udp);
	}
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct mcp_hdr_v1), 8);
	assert_int_equal(sizeof(struct mcp_hdr_v2), 16);
	assert_int_equal(mcp_hdr_len(1), 8);
	assert_int_equal(mcp_hdr_len(2), 16);
	assert_int_equal(mcp_magic_byte(0), 0x4D);
	assert_int_equal(mcp_magic_byte(1), 0x43);
	assert_int_equal(mcp_magic_byte(2), 0x50);
	assert_int_equal(mcp_magic_byte(3), 0x01);
	assert_int_equal(MCP_MAX_FRAME_DEFAULT, 16384);
	assert_int_equal(MCP_MAX_FRAME_LIMIT, 65535);
}

static void test_versions(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		assert_int_equal(mcp_version_ok((uint8_t)v, 0), v == 1 || v == 2);
		assert_int_equal(mcp_version_ok((uint8_t)v, 1), v == 1);
		assert_int_equal(mcp_version_ok((uint8_t)v, 2), v == 2);
	}
}

static void make_header(uint8_t *h, uint8_t version, uint8_t op, uint16_t len)
{
	const uint8_t magic[4] = { 0x4D, 0x43, 0x50, 0x01 };

	memcpy(h, magic, 4);
	h[4] = version;
	h[5] = op;
	h[6] = len >> 8;
	h[7] = len & 0xff;
}

static void test_check_header(void **state)
{
	uint8_t h[8];

	(void)state;
	make_header(h, 1, 0x01, 10);
	assert_int_equal(mcp_check_header(h, 1, 16384, MCP_PEER_CLIENT), MCP_CHECK_OK);
	assert_int_equal(mcp_hdr_length(h), 10);

	for (int i = 0; i < 4; i++) {
		make_header(h, 1, 0x01, 10);
		h[i] ^= 0x20;
		assert_int_equal(mcp_check_header(h, 1, 16384, MCP_PEER_CLIENT),
				 MCP_CHECK_BAD_MAGIC);
	}
	/* Magic is checked first, then version, then opcode, then length. */
	make_header(h, 9, 0x00, 65535);
	assert_int_equal(mcp_check_header(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_BAD_VERSION);
	make_header(h, 1, 0x00, 65535);
	assert_int_equal(mcp_check_header(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_BAD_OPCODE);
	make_header(h, 2, 0x01, 10);
	assert_int_equal(mcp_check_header(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_BAD_VERSION);
	assert_int_equal(mcp_check_header(h, 0, 100, MCP_PEER_CLIENT), MCP_CHECK_OK);
	make_header(h, 1, 0x81, 10);
	assert_int_equal(mcp_check_header(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_BAD_OPCODE);
	assert_int_equal(mcp_check_header(h, 1, 100, MCP_PEER_BACKEND), MCP_CHECK_OK);

	/* Length boundaries: max, max + 1, and the 16-bit limit. */
	make_header(h, 1, 0x02, 16384);
	assert_int_equal(mcp_check_header(h, 1, 16384, MCP_PEER_CLIENT), MCP_CHECK_OK);
	make_header(h, 1, 0x02, 16385);
	assert_int_equal(mcp_check_header(h, 1, 16384, MCP_PEER_CLIENT), MCP_CHECK_TOO_LARGE);
	make_header(h, 1, 0x02, 65535);
	assert_int_equal(mcp_check_header(h, 1, 65535, MCP_PEER_CLIENT), MCP_CHECK_OK);
	assert_int_equal(mcp_check_header(h, 1, 65534, MCP_PEER_CLIENT), MCP_CHECK_TOO_LARGE);
	assert_int_equal(mcp_hdr_length(h), 65535);
	make_header(h, 1, 0x02, 0);
	assert_int_equal(mcp_check_header(h, 1, 0, MCP_PEER_CLIENT), MCP_CHECK_OK);
}

static void test_error_codes(void **state)
{
	(void)state;
	/* proto/mcp.proto fixes these numbers. */
	assert_int_equal(MCP_ERR_UNKNOWN, 0);
	assert_int_equal(MCP_ERR_BAD_MAGIC, 1);
	assert_int_equal(MCP_ERR_UNSUPPORTED_VERSION, 2);
	assert_int_equal(MCP_ERR_NOT_NEGOTIATED, 3);
	assert_int_equal(MCP_ERR_FRAME_TOO_LARGE, 4);
	assert_int_equal(MCP_ERR_UNKNOWN_OPCODE, 5);
	assert_int_equal(MCP_ERR_NO_ROUTE, 6);
	assert_int_equal(MCP_ERR_BACKEND_UNAVAILABLE, 7);
	assert_int_equal(MCP_ERR_RATE_LIMITED, 8);
	assert_int_equal(MCP_ERR_SHUTTING_DOWN, 9);
	assert_int_equal(MCP_ERR_IDLE_TIMEOUT, 10);
	assert_int_equal(MCP_ERR_PROTOCOL_VIOLATION, 11);
	/* docs/protocol.md "What the router answers": what each broken rule is answered with. */
	assert_int_equal(mcp_check_error_code(MCP_CHECK_BAD_MAGIC), 1);
	assert_int_equal(mcp_check_error_code(MCP_CHECK_BAD_VERSION), 11);
	assert_int_equal(mcp_check_error_code(MCP_CHECK_BAD_OPCODE), 5);
	assert_int_equal(mcp_check_error_code(MCP_CHECK_TOO_LARGE), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcode_classes), cmocka_unit_test(test_opcode_direction),
		cmocka_unit_test(test_answer_opcode),
		cmocka_unit_test(test_layout),	       cmocka_unit_test(test_versions),
		cmocka_unit_test(test_check_header),   cmocka_unit_test(test_error_codes),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
