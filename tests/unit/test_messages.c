// SPDX-License-Identifier: GPL-2.0-only
/* HELLO, HELLO_ACK, ERROR, PING, PONG, CLOSE: build, parse, and reject bad payloads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "messages.h"

static void decode_one(const uint8_t *buf, ssize_t n, uint8_t version, int peer,
		       struct mcp_frame *f)
{
	assert_true(n > 0);
	assert_int_equal(mcp_frame_decode(buf, (size_t)n, version, 65535, peer, f), n);
}

static void test_hello_round_trip(void **state)
{
	struct mcp_hello h = { .versions = { 1, 2 }, .n_versions = 2, .max_frame = 4096,
			       .heartbeat_ms = 2500 }, out;
	uint8_t buf[512];
	struct mcp_frame f;
	ssize_t n;

	(void)state;
	strcpy(h.client_id, "bench-7");
	n = mcp_build_hello(buf, sizeof(buf), &h);
	decode_one(buf, n, 1, MCP_PEER_CLIENT, &f);
	assert_int_equal(f.opcode, 0x70);
	assert_int_equal(f.version, 1); /* HELLO always has a v1 header */
	assert_int_equal(mcp_parse_hello(f.payload, f.length, &out), 0);
	assert_int_equal(out.n_versions, 2);
	assert_int_equal(out.versions[0], 1);
	assert_int_equal(out.versions[1], 2);
	assert_string_equal(out.client_id, "bench-7");
	assert_int_equal(out.max_frame, 4096);
	assert_int_equal(out.heartbeat_ms, 2500);

	/* The wire bytes of field 1 (packed repeated uint32): tag 0x0A, length 2, 1, 2. */
	assert_int_equal(f.payload[0], 0x0A);
	assert_int_equal(f.payload[1], 2);
	assert_int_equal(f.payload[2], 1);
	assert_int_equal(f.payload[3], 2);
	/* Field 2, client_id: tag 0x12. */
	assert_int_equal(f.payload[4], 0x12);
	assert_int_equal(out.token_len, 0);

	/* Field 5, the token: bytes as they came, and kept out when over MCP_TOKEN_MAX. */
	{
		uint8_t big[MCP_HDR_V1_LEN + 2 * MCP_TOKEN_MAX];

		memset(h.token, 0xAB, 40);
		h.token_len = 40;
		n = mcp_build_hello(buf, sizeof(buf), &h);
		decode_one(buf, n, 1, MCP_PEER_CLIENT, &f);
		assert_int_equal(mcp_parse_hello(f.payload, f.length, &out), 0);
		assert_int_equal(out.token_len, 40);
		assert_memory_equal(out.token, h.token, 40);
		assert_false(out.token_too_long);
		/* 0x2A: field 5, length-delimited; 0x89 0x08: 1033 bytes. */
		memset(big, 0, sizeof(big));
		big[0] = 0x2A;
		big[1] = 0x89;
		big[2] = 0x08;
		assert_int_equal(mcp_parse_hello(big, 3 + 1033, &out), 0);
		assert_int_equal(out.token_len, 0);
		assert_true(out.token_too_long);
		h.token_len = 0;
	}

	/* An empty HELLO parses to nothing offered. */
	assert_int_equal(mcp_parse_hello(NULL, 0, &out), 0);
	assert_int_equal(out.n_versions, 0);
	assert_string_equal(out.client_id, "");

	h.n_versions = MCP_HELLO_MAX_VERSIONS + 1;
	assert_int_equal(mcp_build_hello(buf, sizeof(buf), &h), -EINVAL);
	h.n_versions = 2;
	assert_int_equal(mcp_build_hello(buf, 10, &h), -ENOSPC);
}

static void test_hello_ack_and_error(void **state)
{
	struct mcp_hello_ack a = { .version = 2, .session_id = 0xDEADBEEF, .max_frame = 16384,
				   .heartbeat_ms = 5000 }, ack;
	struct mcp_error e = { .code = MCP_ERR_UNSUPPORTED_VERSION, .versions = { 1, 2 },
			       .n_versions = 2 }, err;
	uint8_t buf[512];
	struct mcp_frame f;
	ssize_t n;

	(void)state;
	n = mcp_build_hello_ack(buf, sizeof(buf), &a);
	decode_one(buf, n, 1, MCP_PEER_BACKEND, &f);
	assert_int_equal(f.opcode, 0x71);
	assert_int_equal(mcp_parse_hello_ack(f.payload, f.length, &ack), 0);
	assert_memory_equal(&ack, &a, sizeof(a));
	/* Field 1 varint 2: bytes 0x08 0x02. */
	assert_int_equal(f.payload[0], 0x08);
	assert_int_equal(f.payload[1], 0x02);

	strcpy(e.message, "router speaks 1,2");
	n = mcp_build_error(buf, sizeof(buf), 2, 99, &e);
	decode_one(buf, n, 2, MCP_PEER_ANY, &f);
	assert_int_equal(f.opcode, 0x7F);
	assert_int_equal(f.session, 99);
	assert_int_equal(mcp_parse_error(f.payload, f.length, &err), 0);
	assert_int_equal(err.code, 2);
	assert_string_equal(err.message, "router speaks 1,2");
	assert_int_equal(err.n_versions, 2);
	assert_int_equal(f.payload[0], 0x08); /* field 1, code */
	assert_int_equal(f.payload[1], 0x02);

	n = mcp_build_error_simple(buf, sizeof(buf), 1, 0, MCP_ERR_IDLE_TIMEOUT, "idle");
	decode_one(buf, n, 1, MCP_PEER_ANY, &f);
	assert_int_equal(mcp_parse_error(f.payload, f.length, &err), 0);
	assert_int_equal(err.code, MCP_ERR_IDLE_TIMEOUT);
	assert_string_equal(err.message, "idle");
	assert_int_equal(mcp_build_error_simple(buf, sizeof(buf), 3, 0, 1, "x"), -EINVAL);

	/* An unknown code survives as it came (proto3 enums are open). */
	uint8_t odd[] = { 0x08, 0x63 };
	assert_int_equal(mcp_parse_error(odd, sizeof(odd), &err), 0);
	assert_int_equal(err.code, 99);
}

static void test_ping_pong_close(void **state)
{
	uint8_t buf[128], buf2[128];
	struct mcp_frame ping, pong, f;
	ssize_t n;

	(void)state;
	for (uint8_t v = 1; v <= 2; v++) {
		n = mcp_build_ping(buf, sizeof(buf), v, 42, "hb-123", 6);
		decode_one(buf, n, v, MCP_PEER_CLIENT, &ping);
		assert_int_equal(ping.opcode, 0x72);
		n = mcp_build_pong(buf2, sizeof(buf2), &ping);
		decode_one(buf2, n, v, MCP_PEER_BACKEND, &pong);
		assert_int_equal(pong.opcode, 0x73);
		assert_int_equal(pong.length, 6);
		assert_memory_equal(pong.payload, "hb-123", 6);
		assert_int_equal(pong.stream_id, v == 2 ? 42 : 0);
		n = mcp_build_close(buf, sizeof(buf), v, 5);
		assert_int_equal(n, v == 2 ? 16 : 8);
		decode_one(buf, n, v, MCP_PEER_CLIENT, &f);
		assert_int_equal(f.opcode, 0x74);
		assert_int_equal(f.length, 0);
	}
}

static void test_truncated_payloads(void **state)
{
	struct mcp_hello h = { .versions = { 1, 2, 3 }, .n_versions = 3, .max_frame = 70000,
			       .heartbeat_ms = 1 }, out;
	struct mcp_error e = { .code = 11, .versions = { 1 }, .n_versions = 1 }, err;
	uint8_t buf[512];
	struct mcp_frame f;
	ssize_t n;

	(void)state;
	memset(h.client_id, 'c', 100);
	n = mcp_build_hello(buf, sizeof(buf), &h);
	decode_one(buf, n, 1, MCP_PEER_CLIENT, &f);
	/* Every cut that ends inside a field is malformed; cuts between fields are valid. */
	int rejected = 0;
	for (size_t cut = 0; cut < f.length; cut++) {
		int r = mcp_parse_hello(f.payload, cut, &out);

		assert_true(r == 0 || r == -EBADMSG);
		rejected += r != 0;
	}
	assert_true(rejected >= (int)f.length - 4);
	assert_int_equal(mcp_parse_hello(f.payload, 5, &out), 0); /* after versions */
	assert_int_equal(mcp_parse_hello(f.payload, 7, &out), -EBADMSG); /* inside client_id */

	memset(e.message, 'm', 200);
	n = mcp_build_error(buf, sizeof(buf), 1, 0, &e);
	decode_one(buf, n, 1, MCP_PEER_ANY, &f);
	assert_int_equal(mcp_parse_error(f.payload, f.length - 1, &err), -EBADMSG);
	assert_int_equal(mcp_parse_hello_ack(f.payload, 1, &(struct mcp_hello_ack){ 0 }),
			 -EBADMSG);
}

static void test_garbage_and_limits(void **state)
{
	struct mcp_hello out;
	struct mcp_error err;
	struct mcp_hello_ack ack;
	uint8_t junk[256];

	(void)state;
	/* Wrong wire types and lengths past the end. */
	uint8_t bad_len[] = { 0x12, 0x7F, 'a' };
	assert_int_equal(mcp_parse_hello(bad_len, sizeof(bad_len), &out), -EBADMSG);
	uint8_t bad_wire[] = { 0x0F };
	assert_int_equal(mcp_parse_hello(bad_wire, sizeof(bad_wire), &out), -EBADMSG);

	/* More versions than a HELLO may carry. */
	uint8_t many[2 + 17];
	many[0] = 0x0A;
	many[1] = 17;
	for (int i = 0; i < 17; i++)
		many[2 + i] = 1;
	assert_int_equal(mcp_parse_hello(many, sizeof(many), &out), -EBADMSG);
	assert_int_equal(mcp_parse_error(many + 0, 0, &err), 0);

	/* A client id one byte too long. */
	uint8_t id[3 + 129];
	id[0] = 0x12;
	id[1] = 0x81; /* varint 129 */
	id[2] = 0x01;
	memset(id + 3, 'x', 129);
	assert_int_equal(mcp_parse_hello(id, sizeof(id), &out), -EBADMSG);
	id[1] = 0x80; /* 128 fits */
	assert_int_equal(mcp_parse_hello(id, sizeof(id) - 1, &out), 0);
	assert_int_equal(strlen(out.client_id), 128);

	/* Random bytes never crash a parser. */
	srand(3);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)rand() % sizeof(junk);

		for (size_t i = 0; i < len; i++)
			junk[i] = (uint8_t)rand();
		int a = mcp_parse_hello(junk, len, &out);
		int b = mcp_parse_error(junk, len, &err);
		int c = mcp_parse_hello_ack(junk, len, &ack);
		assert_true(a == 0 || a == -EBADMSG);
		assert_true(b == 0 || b == -EBADMSG);
		assert_true(c == 0 || c == -EBADMSG);
	}
}

static void test_pick_version(void **state)
{
	const uint32_t ours[] = { 1, 2 };
	const uint32_t both[] = { 2, 1 }, old[] = { 1 }, future[] = { 3, 4 }, mixed[] = { 9, 1 };

	(void)state;
	assert_int_equal(mcp_pick_version(ours, 2, both, 2), 2);
	assert_int_equal(mcp_pick_version(ours, 2, old, 1), 1);
	assert_int_equal(mcp_pick_version(ours, 2, future, 2), 0);
	assert_int_equal(mcp_pick_version(ours, 2, mixed, 2), 1);
	assert_int_equal(mcp_pick_version(ours, 2, NULL, 0), 0);
	assert_int_equal(mcp_pick_version(ours, 1, both, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_round_trip),  cmocka_unit_test(test_hello_ack_and_error),
		cmocka_unit_test(test_ping_pong_close),	  cmocka_unit_test(test_truncated_payloads),
		cmocka_unit_test(test_garbage_and_limits), cmocka_unit_test(test_pick_version),
	};
	return cmocka_run_group_tests_name("messages", tests, NULL, NULL);
}
