// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tokens: build and sign, parse, verify (HMAC-SHA256 from libsodium, constant-time compare),
 * and the key file. Interface: token.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "mcp.pb-c.h"
#include "token.h"
#include "err.h"

const char *mcp_auth_result_name(int result)
{
	static const char *const names[MCP_AUTH__COUNT] = {
		[MCP_AUTH_OK] = "ok",
		[MCP_AUTH_MISSING] = "missing",
		[MCP_AUTH_MALFORMED] = "malformed",
		[MCP_AUTH_BAD_SIGNATURE] = "bad_signature",
		[MCP_AUTH_UNKNOWN_KEY] = "unknown_key",
		[MCP_AUTH_EXPIRED] = "expired",
	};

	return result >= 0 && result < MCP_AUTH__COUNT ? names[result] : "?";
}

static void hmac(const struct mcp_key *k, const uint8_t *body, size_t len,
		 uint8_t mac[MCP_TOKEN_MAC_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, k->secret, k->len);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

ssize_t mcp_token_sign(const struct mcp_token *t, const struct mcp_key *k, uint8_t *out,
		       size_t cap)
{
	Mcp__Token m = MCP__TOKEN__INIT;
	uint32_t ops[256];
	char *pools[MCP_MAX_POOLS];
	size_t body;

	if (sodium_init() < 0 || t->n_opcodes > 256 || t->n_pools > MCP_MAX_POOLS)
		return -EINVAL;
	for (uint32_t i = 0; i < t->n_opcodes; i++)
		ops[i] = t->opcodes[i];
	for (uint32_t i = 0; i < t->n_pools; i++)
		pools[i] = (char *)t->pools[i];
	m.client_id = (char *)t->client_id;
	m.expires_unix = t->expires_unix;
	m.n_allow_opcodes = t->n_opcodes;
	m.allow_opcodes = ops;
	m.n_allow_pools = t->n_pools;
	m.allow_pools = pools;
	m.rate_fps = t->rate_fps;
	m.key_id = t->key_id;
	body = mcp__token__get_packed_size(&m);
	if (body + MCP_TOKEN_MAC_LEN > cap || body + MCP_TOKEN_MAC_LEN > MCP_TOKEN_MAX)
		return -EMSGSIZE;
	mcp__token__pack(&m, out);
	hmac(k, out, body, out + body);
	return (ssize_t)(body + MCP_TOKEN_MAC_LEN);
}

static int copy_token(const Mcp__Token *m, struct mcp_token *out)
{
	size_t n = m->client_id ? strlen(m->client_id) : 0;

	if (!n || n > MCP_CLIENT_ID_MAX || m->n_allow_opcodes > 256 ||
	    m->n_allow_pools > MCP_MAX_POOLS)
		return MCP_AUTH_MALFORMED;
	memcpy(out->client_id, m->client_id, n);
	out->client_id[n] = '\0';
	for (size_t i = 0; i < m->n_allow_opcodes; i++) {
		if (m->allow_opcodes[i] > 255)
			return MCP_AUTH_MALFORMED;
		out->opcodes[i] = (uint8_t)m->allow_opcodes[i];
	}
	out->n_opcodes = (uint32_t)m->n_allow_opcodes;
	for (size_t i = 0; i < m->n_allow_pools; i++) {
		size_t k = m->allow_pools[i] ? strlen(m->allow_pools[i]) : 0;

		if (!k || k >= MCP_TOKEN_POOL_MAX)
			return MCP_AUTH_MALFORMED;
		memcpy(out->pools[i], m->allow_pools[i], k + 1);
	}
	out->n_pools = (uint32_t)m->n_allow_pools;
	out->expires_unix = m->expires_unix;
	out->rate_fps = m->rate_fps;
	out->key_id = m->key_id;
	return MCP_AUTH_OK;
}

int mcp_token_parse(const uint8_t *tok, size_t len, struct mcp_token *out)
{
	Mcp__Token *m;
	int res;

	memset(out, 0, sizeof(*out));
	if (len <= MCP_TOKEN_MAC_LEN || len > MCP_TOKEN_MAX)
		return MCP_AUTH_MALFORMED;
	m = mcp__token__unpack(NULL, len - MCP_TOKEN_MAC_LEN, tok);
	if (!m)
		return MCP_AUTH_MALFORMED;
	res = copy_token(m, out);
	mcp__token__free_unpacked(m, NULL);
	return res;
}

int mcp_token_verify(const uint8_t *tok, size_t len, const struct mcp_keyring *keys,
		     uint64_t now_unix, struct mcp_token *out)
{
	uint8_t mac[MCP_TOKEN_MAC_LEN];
	const struct mcp_key *k;
	int res;

	if (!len)
		return MCP_AUTH_MISSING;
	res = mcp_token_parse(tok, len, out);
	if (res != MCP_AUTH_OK)
		return res;
	k = mcp_keyring_find(keys, out->key_id);
	if (!k)
		return MCP_AUTH_UNKNOWN_KEY;
	if (sodium_init() < 0)
		return MCP_AUTH_BAD_SIGNATURE;
	hmac(k, tok, len - MCP_TOKEN_MAC_LEN, mac);
	if (sodium_memcmp(mac, tok + len - MCP_TOKEN_MAC_LEN, MCP_TOKEN_MAC_LEN))
		return MCP_AUTH_BAD_SIGNATURE;
	if (out->expires_unix <= now_unix)
		return MCP_AUTH_EXPIRED;
	return MCP_AUTH_OK;
}

const struct mcp_key *mcp_keyring_find(const struct mcp_keyring *kr, uint32_t id)
{
	for (int i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "ID HEX": one key into kr. 0, or -1 with why. */
static int parse_key_line(char *line, struct mcp_keyring *kr, struct err *e)
{
	char *id_text = strtok(line, " \t"), *hex = strtok(NULL, " \t"), *rest = strtok(NULL, " \t");
	struct mcp_key k = { 0 };
	unsigned long id;
	size_t n;
	char *end;

	if (!id_text || !hex || rest)
		return err_set(e, EINVAL, "expected 'KEY_ID SECRET_HEX'");
	errno = 0;
	id = strtoul(id_text, &end, 10);
	if (errno || *end || id > UINT32_MAX || id_text[0] == '-')
		return err_set(e, EINVAL, "'%s' is not a key id (0..4294967295)", id_text);
	n = strlen(hex);
	if (n % 2 || n / 2 < MCP_KEY_MIN || n / 2 > MCP_KEY_MAX)
		return err_set(e, EINVAL, "key %lu: the secret must be %d to %d bytes in hex", id,
			       MCP_KEY_MIN, MCP_KEY_MAX);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return err_set(e, EINVAL, "key %lu: the secret is not hex", id);
		k.secret[i] = (uint8_t)(hi << 4 | lo);
	}
	k.id = (uint32_t)id;
	k.len = n / 2;
	if (mcp_keyring_find(kr, k.id))
		return err_set(e, EINVAL, "key %lu appears twice", id);
	if (kr->n == MCP_MAX_KEYS)
		return err_set(e, EINVAL, "more than %d keys", MCP_MAX_KEYS);
	kr->keys[kr->n++] = k;
	sodium_memzero(&k, sizeof(k));
	return 0;
}

int mcp_keyring_load(const char *path, bool strict, struct mcp_keyring *kr, struct err *e)
{
	struct err line_err;
	char line[512];
	int fd, lineno = 0, err = 0;
	struct stat st;
	FILE *f;

	memset(kr, 0, sizeof(*kr));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(e, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "%s: not a regular file", path);
	}
	if (strict && (st.st_uid != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)))) {
		close(fd);
		return err_set(e, EPERM,
			       "%s: refused: a key file must be owned by root and closed to group and "
			       "others (it is uid %u, mode %04o; chown root and chmod 600 it)",
			       path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = err_set(e, errno, "%s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *s = line, *end;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			err = err_set(e, EINVAL, "%s:%d: line too long", path, lineno);
			break;
		}
		while (isspace((unsigned char)*s))
			s++;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*s || *s == '#')
			continue;
		if (parse_key_line(s, kr, &line_err))
			err = err_set(e, line_err.code, "%s:%d: %s", path, lineno, line_err.msg);
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	if (!err && !kr->n)
		err = err_set(e, EINVAL, "%s: no keys", path);
	if (err)
		sodium_memzero(kr, sizeof(*kr));
	return err;
}

int mcp_parse_duration(const char *text, uint64_t *seconds)
{
	unsigned long long v;
	uint64_t unit = 1;
	char *end;

	if (!*text || *text == '-')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -1;
	if (*end) {
		switch (*end) {
		case 's':
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -1;
		}
		if (end[1])
			return -1;
	}
	if (!v || v > UINT64_MAX / unit / 2)
		return -1;
	*seconds = v * unit;
	return 0;
}
