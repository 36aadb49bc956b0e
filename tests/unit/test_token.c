// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tokens (user/token.c): sign and verify; every kind of bad token is refused with its reason
 * (expired, forged by one bit anywhere, truncated, oversized, unknown key); keys rotate; the
 * key file is refused unless private; and the seeds made by Python's hmac verify here, so the
 * format is HMAC-SHA256 as anyone computes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "token.h"

static struct mcp_keyring ring;

static int setup(void **state)
{
	(void)state;
	memset(&ring, 0, sizeof(ring));
	ring.keys[0] = (struct mcp_key){ .id = 1, .len = 32 };
	memset(ring.keys[0].secret, 0x11, 32);
	ring.keys[1] = (struct mcp_key){ .id = 2, .len = 16 };
	memset(ring.keys[1].secret, 0x22, 16);
	ring.n = 2;
	return 0;
}

static size_t sign(const char *client, uint64_t expires, uint32_t key_id, uint8_t *out)
{
	struct mcp_token t = { .expires_unix = expires, .key_id = key_id, .rate_fps = 100,
			       .opcodes = { 1, 4 }, .n_opcodes = 2, .n_pools = 1 };
	ssize_t n;

	strcpy(t.client_id, client);
	strcpy(t.pools[0], "kv");
	n = mcp_token_sign(&t, mcp_keyring_find(&ring, key_id), out, MCP_TOKEN_MAX);
	assert_true(n > MCP_TOKEN_MAC_LEN);
	return (size_t)n;
}

static void test_valid(void **state)
{
	uint8_t tok[MCP_TOKEN_MAX];
	size_t n = sign("alice", 2000, 1, tok);
	struct mcp_token t;

	(void)state;
	assert_int_equal(mcp_token_verify(tok, n, &ring, 1000, &t), MCP_AUTH_OK);
	assert_string_equal(t.client_id, "alice");
	assert_int_equal(t.expires_unix, 2000);
	assert_int_equal(t.n_opcodes, 2);
	assert_int_equal(t.opcodes[1], 4);
	assert_int_equal(t.n_pools, 1);
	assert_string_equal(t.pools[0], "kv");
	assert_int_equal(t.rate_fps, 100);
	assert_int_equal(t.key_id, 1);
	assert_int_equal(mcp_token_verify(tok, 0, &ring, 1000, &t), MCP_AUTH_MISSING);
}

static void test_expired(void **state)
{
	uint8_t tok[MCP_TOKEN_MAX];
	size_t n = sign("alice", 2000, 1, tok);
	struct mcp_token t;

	(void)state;
	assert_int_equal(mcp_token_verify(tok, n, &ring, 1999, &t), MCP_AUTH_OK);
	assert_int_equal(mcp_token_verify(tok, n, &ring, 2000, &t), MCP_AUTH_EXPIRED);
	assert_int_equal(mcp_token_verify(tok, n, &ring, 5000, &t), MCP_AUTH_EXPIRED);
}

/* One bit flipped, anywhere in the token: never accepted. */
static void test_forged_by_one_bit(void **state)
{
	uint8_t tok[MCP_TOKEN_MAX];
	size_t n = sign("alice", 2000, 1, tok);
	struct mcp_token t;

	(void)state;
	for (size_t bit = 0; bit < n * 8; bit++) {
		int r;

		tok[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = mcp_token_verify(tok, n, &ring, 1000, &t);
		if (r == MCP_AUTH_OK)
			fail_msg("bit %zu flipped and the token still verifies", bit);
		/* In the signature itself: exactly "bad signature". */
		if (bit / 8 >= n - MCP_TOKEN_MAC_LEN)
			assert_int_equal(r, MCP_AUTH_BAD_SIGNATURE);
		tok[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(mcp_token_verify(tok, n, &ring, 1000, &t), MCP_AUTH_OK);
}

static void test_truncated_and_oversized(void **state)
{
	uint8_t tok[MCP_TOKEN_MAX + 64];
	size_t n = sign("alice", 2000, 1, tok);
	struct mcp_token t;

	(void)state;
	for (size_t len = 1; len < n; len++)
		assert_int_not_equal(mcp_token_verify(tok, len, &ring, 1000, &t), MCP_AUTH_OK);
	assert_int_equal(mcp_token_verify(tok, MCP_TOKEN_MAC_LEN, &ring, 1000, &t),
			 MCP_AUTH_MALFORMED);
	memset(tok, 0, sizeof(tok));
	assert_int_equal(mcp_token_verify(tok, MCP_TOKEN_MAX + 1, &ring, 1000, &t),
			 MCP_AUTH_MALFORMED);
	/* A token that would not fit a HELLO is not made either. */
	struct mcp_token big = { .expires_unix = 1, .key_id = 1, .n_pools = MCP_MAX_POOLS };

	memset(big.client_id, 'c', MCP_CLIENT_ID_MAX);
	for (int i = 0; i < MCP_MAX_POOLS; i++)
		memset(big.pools[i], 'p', MCP_TOKEN_POOL_MAX - 1);
	big.n_opcodes = 256;
	for (int i = 0; i < 256; i++)
		big.opcodes[i] = (uint8_t)i;
	assert_true(mcp_token_sign(&big, &ring.keys[0], tok, sizeof(tok)) < 0);
}

static void test_unknown_key_and_rotation(void **state)
{
	uint8_t tok1[MCP_TOKEN_MAX], tok2[MCP_TOKEN_MAX];
	size_t n1 = sign("old", 2000, 1, tok1), n2 = sign("new", 2000, 2, tok2);
	struct mcp_keyring only2 = { .n = 1 };
	struct mcp_token t;

	(void)state;
	/* Both keys at once: both tokens. */
	assert_int_equal(mcp_token_verify(tok1, n1, &ring, 1000, &t), MCP_AUTH_OK);
	assert_int_equal(mcp_token_verify(tok2, n2, &ring, 1000, &t), MCP_AUTH_OK);
	/* Key 1 retired: its tokens are refused for that reason. */
	only2.keys[0] = ring.keys[1];
	assert_int_equal(mcp_token_verify(tok1, n1, &only2, 1000, &t), MCP_AUTH_UNKNOWN_KEY);
	assert_int_equal(mcp_token_verify(tok2, n2, &only2, 1000, &t), MCP_AUTH_OK);
	/* A key 1 with another secret: a bad signature, not an unknown key. */
	only2.keys[0].id = 1;
	assert_int_equal(mcp_token_verify(tok1, n1, &only2, 1000, &t), MCP_AUTH_BAD_SIGNATURE);
}

static const char *write_file(const char *text, mode_t mode)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/mcp-keys-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void key_file_refused(const char *text, const char *want)
{
	const char *path = write_file(text, 0600);
	struct mcp_keyring kr;
	struct err e;

	assert_int_equal(mcp_keyring_load(path, false, &kr, &e), -EINVAL);
	assert_int_equal(e.code, EINVAL);
	if (!strstr(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
	unlink(path);
}

static void test_key_file(void **state)
{
	const char *good = "# rotate: add 2, issue with 2, retire 1\n1 "
			   "00112233445566778899aabbccddeeff\n\n  2 "
			   "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100  \n";
	const char *path = write_file(good, 0600);
	struct mcp_keyring kr;
	struct err e;

	(void)state;
	assert_int_equal(mcp_keyring_load(path, false, &kr, &e), 0);
	assert_int_equal(kr.n, 2);
	assert_int_equal(kr.keys[0].len, 16);
	assert_int_equal(kr.keys[1].id, 2);
	assert_int_equal(kr.keys[1].len, 32);
	assert_int_equal(kr.keys[1].secret[0], 0xff);
	/* Open to group or others, or not root's: refused when strict (as mcpd loads it). */
	if (geteuid() == 0) {
		assert_int_equal(mcp_keyring_load(path, true, &kr, &e), 0);
		assert_int_equal(chmod(path, 0640), 0);
		assert_int_equal(mcp_keyring_load(path, true, &kr, &e), -EPERM);
		assert_non_null(strstr(e.msg, "closed to group and others"));
		assert_int_equal(chmod(path, 0604), 0);
		assert_int_equal(mcp_keyring_load(path, true, &kr, &e), -EPERM);
	} else {
		assert_int_equal(mcp_keyring_load(path, true, &kr, &e), -EPERM);
		assert_non_null(strstr(e.msg, "owned by root"));
	}
	unlink(path);
	key_file_refused("1 0011\n", "16 to 64 bytes");
	key_file_refused("1 zz112233445566778899aabbccddeeff\n", "not hex");
	key_file_refused("x 00112233445566778899aabbccddeeff\n", "not a key id");
	key_file_refused("1 00112233445566778899aabbccddeeff\n1 00112233445566778899aabbccddeeff\n",
			 "appears twice");
	key_file_refused("1 00112233445566778899aabbccddeeff extra\n", "KEY_ID SECRET_HEX");
	key_file_refused("# nothing\n", "no keys");
	assert_int_equal(mcp_keyring_load("/nonexistent/keys", false, &kr, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/keys: No such file"));
}

/* The fuzz seeds were signed by Python's hmac module (tests/fuzz/make_seeds.py). */
static void test_seeds_from_another_implementation(void **state)
{
	static const struct {
		const char *name;
		int want;
	} seeds[] = { { "valid", MCP_AUTH_OK },	       { "restricted", MCP_AUTH_OK },
		      { "expired", MCP_AUTH_EXPIRED },   { "unknown_key", MCP_AUTH_UNKNOWN_KEY },
		      { "bad_signature", MCP_AUTH_BAD_SIGNATURE }, { "short", MCP_AUTH_MALFORMED } };

	(void)state;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[256];
		uint8_t tok[MCP_TOKEN_MAX + 1];
		struct mcp_token t;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "tests/fuzz/corpus/fuzz_token/%s", seeds[i].name);
		f = fopen(path, "rb");
		if (!f)
			fail_msg("%s: run from the repository's top directory", path);
		n = fread(tok, 1, sizeof(tok), f);
		fclose(f);
		if (mcp_token_verify(tok, n, &ring, 1796083200ull, &t) != seeds[i].want)
			fail_msg("%s: %s", seeds[i].name,
				 mcp_auth_result_name(mcp_token_verify(tok, n, &ring, 1796083200ull, &t)));
	}
}

static void test_durations(void **state)
{
	uint64_t s;

	(void)state;
	assert_int_equal(mcp_parse_duration("90", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(mcp_parse_duration("15m", &s), 0);
	assert_int_equal(s, 900);
	assert_int_equal(mcp_parse_duration("12h", &s), 0);
	assert_int_equal(s, 43200);
	assert_int_equal(mcp_parse_duration("7d", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(mcp_parse_duration("0", &s), -1);
	assert_int_equal(mcp_parse_duration("-5m", &s), -1);
	assert_int_equal(mcp_parse_duration("5 m", &s), -1);
	assert_int_equal(mcp_parse_duration("5mm", &s), -1);
	assert_int_equal(mcp_parse_duration("99999999999999999999d", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_valid, setup),
		cmocka_unit_test_setup(test_expired, setup),
		cmocka_unit_test_setup(test_forged_by_one_bit, setup),
		cmocka_unit_test_setup(test_truncated_and_oversized, setup),
		cmocka_unit_test_setup(test_unknown_key_and_rotation, setup),
		cmocka_unit_test_setup(test_key_file, setup),
		cmocka_unit_test_setup(test_seeds_from_another_implementation, setup),
		cmocka_unit_test_setup(test_durations, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
