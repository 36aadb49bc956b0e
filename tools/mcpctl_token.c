// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpctl token issue | inspect: signed identities for HELLO (docs/operations.md, "Identities").
 * A token is printed and read as hex. Issuing reads the key file, so it takes root (the file
 * is refused unless root owns it and nobody else may read it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <sodium.h>
#include "config.h"
#include "frame.h"
#include "mcpctl_token.h"
#include "mcp/bucket.h"
#include "token.h"

#define DEFAULT_KEYS "/etc/mcp/auth.keys"

static void token_usage(FILE *f)
{
	fprintf(f,
		"Usage: mcpctl token issue --client NAME --ttl DURATION [--allow OPS] [--pools P]\n"
		"                          [--rate N] [--key-id K] [--keys FILE]\n"
		"       mcpctl token inspect TOKEN [--keys FILE]\n"
		"\n"
		"  --client NAME    the identity (1..%d bytes)\n"
		"  --ttl DURATION   how long it is good for: 30s, 15m, 12h, 7d\n"
		"  --allow OPS      request opcodes it may send: GET,SET,0x10-0x1f (default: all)\n"
		"  --pools P        pools it may reach, by name: a,b (default: all)\n"
		"  --rate N         request frames per second (default 0: no limit)\n"
		"  --key-id K       which key signs it (default: the highest id in the file)\n"
		"  --keys FILE      the key file, as mcpd's auth_keys (default " DEFAULT_KEYS ")\n",
		MCP_CLIENT_ID_MAX);
}

static int from_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	return sodium_hex2bin(out, cap, hex, n, NULL, len, NULL) || *len != n / 2 || n % 2 ? -1 : 0;
}

static int issue(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client", required_argument, NULL, 'c' }, { "ttl", required_argument, NULL, 't' },
		{ "allow", required_argument, NULL, 'a' },  { "pools", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },   { "key-id", required_argument, NULL, 'k' },
		{ "keys", required_argument, NULL, 'f' },   { 0 },
	};
	const char *keys_path = DEFAULT_KEYS, *client = NULL;
	struct mcp_token t = { 0 };
	struct mcp_keyring kr;
	const struct mcp_key *key = NULL;
	long key_id = -1;
	uint64_t ttl = 0;
	uint8_t tok[MCP_TOKEN_MAX];
	char hex[2 * MCP_TOKEN_MAX + 1];
	struct err e;
	ssize_t n;
	int c;

	optind = 0; /* glibc: start over, at argv[1] */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			client = optarg;
			break;
		case 't':
			if (mcp_parse_duration(optarg, &ttl)) {
				fprintf(stderr, "mcpctl: token: --ttl: '%s' is not a duration (30s, 15m, "
						"12h, 7d)\n", optarg);
				return 2;
			}
			break;
		case 'a': {
			uint64_t set[4];

			if (mcp_parse_opcode_set(optarg, set, &e)) {
				fprintf(stderr, "mcpctl: token: --allow: %s\n", e.msg);
				return 2;
			}
			for (int op = 0; op < 256; op++)
				if (set[op >> 6] >> (op & 63) & 1)
					t.opcodes[t.n_opcodes++] = (uint8_t)op;
			if (!t.n_opcodes) {
				fprintf(stderr, "mcpctl: token: --allow: no opcode\n");
				return 2;
			}
			break;
		}
		case 'p': {
			char copy[512], *save = NULL;

			snprintf(copy, sizeof(copy), "%s", optarg);
			for (char *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
				if (t.n_pools == MCP_MAX_POOLS || strlen(p) >= MCP_TOKEN_POOL_MAX) {
					fprintf(stderr, "mcpctl: token: --pools: at most %d names of "
							"under %d bytes\n", MCP_MAX_POOLS, MCP_TOKEN_POOL_MAX);
					return 2;
				}
				strcpy(t.pools[t.n_pools++], p);
			}
			break;
		}
		case 'r': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || optarg[0] == '-' || v > MCP_RATE_MAX) {
				fprintf(stderr, "mcpctl: token: --rate: '%s' is not a number in 0..%u\n",
					optarg, MCP_RATE_MAX);
				return 2;
			}
			t.rate_fps = (uint32_t)v;
			break;
		}
		case 'k':
			key_id = strtol(optarg, &end, 10);
			if (*end || key_id < 0 || key_id > UINT32_MAX) {
				fprintf(stderr, "mcpctl: token: --key-id: '%s' is not a key id\n", optarg);
				return 2;
			}
			break;
		case 'f':
			keys_path = optarg;
			break;
		default:
			token_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !client || !ttl) {
		fprintf(stderr, "mcpctl: token issue needs --client NAME and --ttl DURATION\n");
		return 2;
	}
	if (!*client || strlen(client) > MCP_CLIENT_ID_MAX || !strcmp(client, "anonymous")) {
		fprintf(stderr, "mcpctl: token: --client: '%s' is not an identity (1..%d bytes; "
				"'anonymous' names sessions without a token)\n", client, MCP_CLIENT_ID_MAX);
		return 2;
	}
	if (mcp_keyring_load(keys_path, true, &kr, &e)) {
		fprintf(stderr, "mcpctl: token: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < kr.n; i++)
		if (key_id < 0 ? (!key || kr.keys[i].id > key->id) : kr.keys[i].id == key_id)
			key = &kr.keys[i];
	if (!key) {
		fprintf(stderr, "mcpctl: token: no key %ld in %s\n", key_id, keys_path);
		sodium_memzero(&kr, sizeof(kr));
		return 1;
	}
	strcpy(t.client_id, client);
	t.expires_unix = (uint64_t)time(NULL) + ttl;
	t.key_id = key->id;
	n = mcp_token_sign(&t, key, tok, sizeof(tok));
	sodium_memzero(&kr, sizeof(kr));
	if (n < 0) {
		fprintf(stderr, "mcpctl: token: too large for a HELLO (%d bytes at most)\n",
			MCP_TOKEN_MAX);
		return 1;
	}
	sodium_bin2hex(hex, sizeof(hex), tok, (size_t)n);
	printf("%s\n", hex);
	return 0;
}

static void show(const struct mcp_token *t, int result, const char *checked, int json)
{
	char ops[1400] = "", pools[MCP_MAX_POOLS * MCP_TOKEN_POOL_MAX + 16] = "";

	for (uint32_t i = 0; i < t->n_opcodes; i++)
		snprintf(ops + strlen(ops), sizeof(ops) - strlen(ops), "%s%s", i ? "," : "",
			 mcp_opcode_name(t->opcodes[i]));
	for (uint32_t i = 0; i < t->n_pools; i++)
		snprintf(pools + strlen(pools), sizeof(pools) - strlen(pools), "%s%s", i ? "," : "",
			 t->pools[i]);
	if (json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array(),
			    *p = json_object_new_array();

		for (uint32_t i = 0; i < t->n_opcodes; i++)
			json_object_array_add(a, json_object_new_int(t->opcodes[i]));
		for (uint32_t i = 0; i < t->n_pools; i++)
			json_object_array_add(p, json_object_new_string(t->pools[i]));
		json_object_object_add(o, "client_id", json_object_new_string(t->client_id));
		json_object_object_add(o, "expires_unix", json_object_new_int64((int64_t)t->expires_unix));
		json_object_object_add(o, "allow_opcodes", a);
		json_object_object_add(o, "allow_pools", p);
		json_object_object_add(o, "rate_fps", json_object_new_int64(t->rate_fps));
		json_object_object_add(o, "key_id", json_object_new_int64(t->key_id));
		json_object_object_add(o, "result", json_object_new_string(checked ? checked :
							mcp_auth_result_name(result)));
		json_object_object_add(o, "valid", json_object_new_boolean(result == MCP_AUTH_OK && !checked));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return;
	}
	time_t exp = (time_t)t->expires_unix;
	char when[64] = "?";
	struct tm tm;

	if (gmtime_r(&exp, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("client_id  %s\n", t->client_id);
	printf("expires    %s (%lld s from now)\n", when, (long long)(exp - time(NULL)));
	printf("allow      %s\n", t->n_opcodes ? ops : "every request opcode");
	printf("pools      %s\n", t->n_pools ? pools : "every pool");
	printf("rate_fps   %u%s\n", t->rate_fps, t->rate_fps ? "" : " (no limit)");
	printf("key_id     %u\n", t->key_id);
	printf("signature  %s\n", checked ? checked :
		 result == MCP_AUTH_OK ? "valid" : mcp_auth_result_name(result));
}

static int inspect(int argc, char **argv, int json)
{
	const char *keys_path = DEFAULT_KEYS, *hex = NULL;
	uint8_t tok[MCP_TOKEN_MAX];
	struct mcp_keyring kr;
	struct mcp_token t;
	char checked[600];
	struct err e;
	size_t len;
	int result;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--keys") && i + 1 < argc)
			keys_path = argv[++i];
		else if (!hex && argv[i][0] != '-')
			hex = argv[i];
		else {
			token_usage(stderr);
			return 2;
		}
	}
	if (!hex) {
		token_usage(stderr);
		return 2;
	}
	if (from_hex(hex, tok, sizeof(tok), &len)) {
		fprintf(stderr, "mcpctl: token: not a token (hex, up to %d bytes)\n", MCP_TOKEN_MAX);
		return 1;
	}
	if (mcp_token_parse(tok, len, &t) != MCP_AUTH_OK) {
		fprintf(stderr, "mcpctl: token: malformed (not a signed mcp.Token)\n");
		return 1;
	}
	/* The key file is root's: without it, show what the token says, unverified. */
	if (mcp_keyring_load(keys_path, true, &kr, &e)) {
		snprintf(checked, sizeof(checked), "not checked (%s)", e.msg);
		show(&t, MCP_AUTH_OK, checked, json);
		return 1;
	}
	result = mcp_token_verify(tok, len, &kr, (uint64_t)time(NULL), &t);
	sodium_memzero(&kr, sizeof(kr));
	show(&t, result, NULL, json);
	return result == MCP_AUTH_OK ? 0 : 1;
}

int mcpctl_token(int argc, char **argv, int json)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "mcpctl: token: libsodium failed to start\n");
		return 1;
	}
	if (argc >= 1 && !strcmp(argv[0], "issue"))
		return issue(argc, argv);
	if (argc >= 1 && !strcmp(argv[0], "inspect"))
		return inspect(argc, argv, json);
	token_usage(argc >= 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) ? stdout
											       : stderr);
	return argc >= 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) ? 0 : 2;
}
