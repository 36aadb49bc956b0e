// SPDX-License-Identifier: GPL-2.0-only
/*
 * The auth module's decisions (user/auth.c): who a HELLO is under each `auth` mode, what it
 * may do (the token narrowed by its [client] section; anonymous's section), what is refused,
 * and the per-identity rows behind `mcpctl clients`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "auth.h"

static struct mcp_key key = { .id = 5, .len = 16 };

/* A config with pools kv and logs, and these extra lines. */
static struct mcp_config *config(const char *mode, const char *sections)
{
	struct mcp_config *cfg = malloc(sizeof(*cfg));
	char path[] = "/tmp/mcp-auth-test-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fprintf(f, "[mcpd]\nauth = %s\nauth_keys = /nonexistent\n[pool kv]\nbackend = 127.0.0.1:1\n"
		   "[pool logs]\nbackend = 127.0.0.1:2\n[routes]\ndefault = kv\n%s",
		mode, sections);
	fclose(f);
	struct err e;

	assert_int_equal(mcp_config_load(path, cfg, &e), 0);
	remove(path);
	return cfg;
}

/* An auth module holding `key` (auth_configure would read it from a root-only file). */
static struct auth *with_key(void)
{
	struct auth *a = auth_new();
	struct mcp_config off;
	struct err e;

	assert_non_null(a);
	mcp_config_defaults(&off);
	assert_int_equal(auth_configure(a, &off, &e), 0);
	auth_test_keys(a, &key, 1);
	return a;
}

static void hello_with(struct mcp_hello *h, const char *client, long ttl, const char *pools,
		       uint8_t op)
{
	struct mcp_token t = { .key_id = key.id, .expires_unix = (uint64_t)(time(NULL) + ttl) };
	ssize_t n;

	memset(h, 0, sizeof(*h));
	strcpy(h->client_id, "typed-by-the-client");
	if (!client)
		return;
	strcpy(t.client_id, client);
	if (pools) {
		strcpy(t.pools[0], pools);
		t.n_pools = 1;
	}
	if (op) {
		t.opcodes[0] = op;
		t.n_opcodes = 1;
	}
	n = mcp_token_sign(&t, &key, h->token, sizeof(h->token));
	assert_true(n > 0);
	h->token_len = (uint32_t)n;
}

static void test_off_believes_what_is_typed(void **state)
{
	struct mcp_config *cfg = config("off", "[client typed-by-the-client]\nallow = GET\n");
	struct auth *a = with_key();
	struct auth_verdict v;
	struct mcp_hello h;

	(void)state;
	hello_with(&h, NULL, 0, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), 0);
	assert_int_equal(v.kind, SESSION_AUTH_NONE);
	assert_string_equal(v.client_id, "typed-by-the-client");
	assert_false(v.restricted); /* sections name verified identities only */
	auth_free(a);
	free(cfg);
}

static void test_required(void **state)
{
	struct mcp_config *cfg = config("required", "[client alice]\nrate_fps = 7\n");
	struct auth *a = with_key();
	struct auth_verdict v;
	struct mcp_hello h;

	(void)state;
	hello_with(&h, NULL, 0, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), -1);
	assert_int_equal(v.result, MCP_AUTH_MISSING);
	assert_non_null(strstr(v.why, "no token"));
	hello_with(&h, "alice", -1, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), -1);
	assert_int_equal(v.result, MCP_AUTH_EXPIRED);
	h.token_too_long = true;
	h.token_len = 0;
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), -1);
	assert_int_equal(v.result, MCP_AUTH_MALFORMED);
	/* Verified: the token's name, not the typed one; narrowed by [client alice]. */
	hello_with(&h, "alice", 60, "logs", MCP_OP_GET);
	assert_int_equal(auth_hello(a, cfg, &h, 1000, &v), 0);
	assert_int_equal(v.kind, SESSION_AUTH_VERIFIED);
	assert_string_equal(v.client_id, "alice");
	assert_true(v.restricted);
	assert_int_equal(v.perms.pools, 1u << 1);
	assert_int_equal(v.perms.rate_fps, 7);
	assert_int_equal(v.perms.bucket.tokens_ns, 7 * MCP_NS_PER_TOKEN);
	assert_int_equal(v.perms.bucket.last_ns, 1000);
	assert_int_equal(mcp_perm_judge(&v.perms, MCP_OP_GET, 1, 1000, 0), MCP_PERM_ALLOW);
	assert_int_equal(mcp_perm_judge(&v.perms, MCP_OP_SET, 1, 1000, 0), MCP_PERM_DENY_OPCODE);
	/* A token for pools this config lacks allows none of them. */
	hello_with(&h, "bob", 60, "elsewhere", 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), 0);
	assert_int_equal(v.perms.pools, 0);
	/* Everything allowed: not restricted, nothing checked per frame. */
	hello_with(&h, "carol", 60, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), 0);
	assert_false(v.restricted);
	auth_free(a);
	free(cfg);
}

static void test_optional_anonymous(void **state)
{
	struct mcp_config *cfg = config("optional", "[client anonymous]\nallow = GET\npools = kv\n");
	struct auth *a = with_key();
	struct auth_verdict v;
	struct mcp_hello h;

	(void)state;
	hello_with(&h, NULL, 0, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), 0);
	assert_int_equal(v.kind, SESSION_AUTH_ANONYMOUS);
	assert_string_equal(v.client_id, "");
	assert_true(v.restricted);
	assert_int_equal(mcp_perm_judge(&v.perms, MCP_OP_GET, 0, 0, 0), MCP_PERM_ALLOW);
	assert_int_equal(mcp_perm_judge(&v.perms, MCP_OP_GET, 1, 0, 0), MCP_PERM_DENY_POOL);
	/* UDP gets the same section. */
	assert_true(auth_udp_allowed(cfg, MCP_OP_GET, 0));
	assert_false(auth_udp_allowed(cfg, MCP_OP_SET, 0));
	assert_false(auth_udp_allowed(cfg, MCP_OP_GET, 1));
	/* A bad token is refused even here. */
	hello_with(&h, "x", 60, NULL, 0);
	h.token[0] ^= 0x40;
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), -1);
	auth_free(a);
	free(cfg);
}

static void test_client_rows(void **state)
{
	struct auth *a = auth_new();
	const struct auth_client *rows;
	char id[32];
	int r1, r2;

	(void)state;
	r1 = auth_client_ref(a, "alice", SESSION_AUTH_VERIFIED);
	r2 = auth_client_ref(a, "alice", SESSION_AUTH_NONE); /* a typed "alice" is someone else */
	assert_int_not_equal(r1, r2);
	assert_int_equal(auth_client_ref(a, "alice", SESSION_AUTH_VERIFIED), r1);
	auth_count_denial(a, r1, MCP_PERM_DENY_POOL);
	auth_count_denial(a, r1, MCP_PERM_RATE);
	auth_session_ended(a, r1, 40);
	assert_int_equal(auth_clients(a, &rows), 3);
	assert_int_equal(rows[r1].sessions_total, 2);
	assert_int_equal(rows[r1].denied, 1);
	assert_int_equal(rows[r1].rate_limited, 1);
	assert_int_equal(rows[r1].frames, 40);
	/* Bounded: past the last row, "(other)". */
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		auth_client_ref(a, id, SESSION_AUTH_NONE);
	}
	assert_int_equal(auth_clients(a, &rows), 1024);
	assert_string_equal(rows[0].id, "(other)");
	assert_true(rows[0].sessions_total > 900);
	assert_int_equal(auth_client_ref(a, "alice", SESSION_AUTH_VERIFIED), r1);
	auth_free(a);
}

/* A takeover: the counts by result and by denial go across, to an mcpd that may know fewer
 * or more kinds of either. */
static void test_takeover_round_trip(void **state)
{
	struct mcp_config *cfg = config("required", "");
	struct auth *a = with_key(), *next = auth_new();
	Mcp__Ctl__TakeoverCounters k = MCP__CTL__TAKEOVER_COUNTERS__INIT, again;
	uint64_t fewer[2] = { 0 }, more[MCP_AUTH__COUNT + 3];
	struct auth_verdict v;
	struct mcp_hello h;

	(void)state;
	assert_non_null(next);
	hello_with(&h, NULL, 0, NULL, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(auth_hello(a, cfg, &h, 0, &v), -1); /* MISSING */
	hello_with(&h, "alice", 60, NULL, 0);
	assert_int_equal(auth_hello(a, cfg, &h, 0, &v), 0); /* VERIFIED */
	auth_count_denial(a, -1, MCP_PERM_RATE);
	auth_count_denial(a, -1, MCP_PERM_RATE);
	auth_save(a, &k);
	assert_int_equal(k.n_auth_results, MCP_AUTH__COUNT);
	assert_int_equal(k.n_denials, MCP_PERM__COUNT);
	auth_restore(next, &k);
	mcp__ctl__takeover_counters__init(&again);
	auth_save(next, &again);
	assert_int_equal(again.auth_results[MCP_AUTH_MISSING], 3);
	assert_int_equal(again.auth_results[MCP_AUTH_OK], 1);
	assert_int_equal(again.denials[MCP_PERM_RATE], 2);
	assert_memory_equal(again.auth_results, k.auth_results, MCP_AUTH__COUNT * sizeof(uint64_t));
	/* From an mcpd that counted two kinds: those two taken, the rest left alone. */
	fewer[MCP_AUTH_MISSING] = 9; /* MISSING is kind 1 */
	k.auth_results = fewer;
	k.n_auth_results = 2;
	k.n_denials = 0;
	auth_restore(next, &k);
	assert_int_equal(again.auth_results[MCP_AUTH_MISSING], 9); /* again points into next */
	assert_int_equal(again.auth_results[MCP_AUTH_OK], 0);
	assert_int_equal(again.denials[MCP_PERM_RATE], 2);
	/* From one that counted more: the kinds this one knows, nothing written past them. */
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		more[i] = 100 + i;
	k.auth_results = more;
	k.n_auth_results = sizeof(more) / sizeof(more[0]);
	auth_restore(next, &k);
	assert_int_equal(again.auth_results[MCP_AUTH__COUNT - 1], 100 + MCP_AUTH__COUNT - 1);
	auth_free(a);
	auth_free(next);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_believes_what_is_typed),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_optional_anonymous),
		cmocka_unit_test(test_client_rows),
		cmocka_unit_test(test_takeover_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
