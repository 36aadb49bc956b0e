/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Signed identities (docs/protocol.md, "Identity"): the token a client puts in its HELLO is a
 * serialized mcp.Token (proto/mcp.proto) followed by 32 bytes of HMAC-SHA256 over it, keyed
 * by the router's secret numbered key_id. libsodium computes the HMAC and compares it in
 * constant time; nothing here is hand-written crypto.
 *
 * The keys live in a file of "key_id secret-hex" lines (auth_keys), which is refused unless
 * root owns it and nobody else may read or write it. Several keys at once let keys rotate.
 */
#ifndef MCP_TOKEN_H
#define MCP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "messages.h"
#include "mcp/maps.h"
#include "err.h"

#define MCP_TOKEN_MAC_LEN   32
#define MCP_KEY_MIN	    16 /* bytes of secret, at least */
#define MCP_KEY_MAX	    64
#define MCP_MAX_KEYS	    16
#define MCP_TOKEN_POOL_MAX  32 /* bytes of a pool name, with its NUL (MCP_POOL_NAME_MAX) */

struct mcp_key {
	uint32_t id;
	uint8_t secret[MCP_KEY_MAX];
	size_t len;
};

struct mcp_keyring {
	struct mcp_key keys[MCP_MAX_KEYS];
	int n;
};

/* What a token says. */
struct mcp_token {
	char client_id[MCP_CLIENT_ID_MAX + 1];
	uint64_t expires_unix;
	uint8_t opcodes[256]; /* allow_opcodes, each 0..255 */
	uint32_t n_opcodes;   /* 0: every request opcode */
	char pools[MCP_MAX_POOLS][MCP_TOKEN_POOL_MAX];
	uint32_t n_pools; /* 0: every pool */
	uint32_t rate_fps; /* 0: no limit */
	uint32_t key_id;
};

/* The outcome of checking a HELLO's token, and the label /metrics counts it by. */
enum mcp_auth_result {
	MCP_AUTH_OK = 0,
	MCP_AUTH_MISSING,	/* no token */
	MCP_AUTH_MALFORMED,	/* not a token: too short, too long, not protobuf, fields out of bounds */
	MCP_AUTH_BAD_SIGNATURE, /* the HMAC does not match */
	MCP_AUTH_UNKNOWN_KEY,	/* signed with a key id the router does not have */
	MCP_AUTH_EXPIRED,	/* genuine, but past expires_unix */
	MCP_AUTH__COUNT,
};

const char *mcp_auth_result_name(int result);

/* Serialize t and sign it with k into out: the token's size, or a negative errno. */
ssize_t mcp_token_sign(const struct mcp_token *t, const struct mcp_key *k, uint8_t *out,
		       size_t cap);
/* What a token says, signature not checked: MCP_AUTH_OK or MCP_AUTH_MALFORMED. */
int mcp_token_parse(const uint8_t *tok, size_t len, struct mcp_token *out);
/* Check a token against the keys at `now_unix`: enum mcp_auth_result. out holds what the
 * token says whenever it parsed (for logs and `mcpctl token inspect`). */
int mcp_token_verify(const uint8_t *tok, size_t len, const struct mcp_keyring *keys,
		     uint64_t now_unix, struct mcp_token *out);

/* Load a key file. 0, or -errno with the reason (file, line) in e. With `strict`, a file not
 * owned by root or open to group or others is refused. */
int mcp_keyring_load(const char *path, bool strict, struct mcp_keyring *kr, struct err *e);
const struct mcp_key *mcp_keyring_find(const struct mcp_keyring *kr, uint32_t id);

/* "30s", "10m", "12h", "7d" or plain seconds: 0, or -1. */
int mcp_parse_duration(const char *text, uint64_t *seconds);

#endif
