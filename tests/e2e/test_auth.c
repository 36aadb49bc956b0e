// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signed identities end to end, on each data path: tokens in HELLO (valid, missing, and each
 * kind of bad one), permissions by opcode and by pool, the per-identity rate under a
 * pipelined burst, key rotation by reload, the backend's view of the identity, mcpctl's
 * sessions and clients, failed authentications reaching the anomaly detector, and a hot
 * upgrade under load that keeps every session's identity and permissions.
 *
 *   e2e_auth user|bpf|auto
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <setjmp.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>
#include "config.h"
#include "ctl_client.h"
#include "harness.h"
#include "messages.h"
#include "mcp.pb-c.h"
#include "token.h"

static const char *datapath;
static int port;
static pid_t mcpd;
static struct h_backend *kv, *other;
static char sock[256];
static struct mcp_key key1 = { .id = 1, .len = 32 }, key2 = { .id = 2, .len = 32 },
		      key3 = { .id = 3, .len = 32 };

struct tok {
	uint8_t b[MCP_TOKEN_MAX];
	size_t n;
};

/* A token for `client`, good for ttl seconds (negative: expired), signed with k. */
static struct tok make_token(const struct mcp_key *k, const char *client, long ttl,
			     const char *allow, const char *pools, uint32_t rate)
{
	struct mcp_token t = { .rate_fps = rate, .key_id = k->id };
	struct tok out = { 0 };
	char copy[128], *save = NULL;
	struct err e;
	uint64_t set[4];
	ssize_t n;

	snprintf(t.client_id, sizeof(t.client_id), "%s", client);
	t.expires_unix = (uint64_t)((long)time(NULL) + ttl);
	if (allow) {
		assert_int_equal(mcp_parse_opcode_set(allow, set, &e), 0);
		for (int op = 0; op < 256; op++)
			if (set[op >> 6] >> (op & 63) & 1)
				t.opcodes[t.n_opcodes++] = (uint8_t)op;
	}
	if (pools) {
		snprintf(copy, sizeof(copy), "%s", pools);
		for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
			snprintf(t.pools[t.n_pools++], MCP_TOKEN_POOL_MAX, "%s", p);
	}
	n = mcp_token_sign(&t, k, out.b, sizeof(out.b));
	assert_true(n > 0);
	out.n = (size_t)n;
	return out;
}

static void write_keys(const struct mcp_key *const *keys, int n, mode_t mode)
{
	char text[1024] = "# e2e keys\n", hex[2 * MCP_KEY_MAX + 1], path[256];

	for (int i = 0; i < n; i++) {
		sodium_bin2hex(hex, sizeof(hex), keys[i]->secret, keys[i]->len);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%u %s\n", keys[i]->id, hex);
	}
	snprintf(path, sizeof(path), "%s", h_write_file("auth.keys", text));
	assert_int_equal(chmod(path, mode), 0);
}

static const char *keys_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/auth.keys", h_tmpdir());
	return path;
}

/* A config with auth = `mode`, and more [mcpd] keys and sections if given. */
static const char *write_config(const char *mode, const char *more_mcpd, const char *sections)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\n"
		 "idle_timeout_ms = 60000\nauth = %s\nauth_keys = %s\n%s"
		 "[pool kv]\nbackend = 127.0.0.1:%d\n[pool other]\nbackend = 127.0.0.1:%d\n"
		 "[routes]\nGET = kv\nSET = kv\nDEL = kv\nSYNC = other\n%s",
		 port, sock, h_pin_root(), mode, keys_path(), more_mcpd ? more_mcpd : "",
		 h_backend_port(kv), h_backend_port(other), sections ? sections : "");
	return h_write_file("auth.ini", text);
}

static void start(const char *cfg)
{
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg, "--datapath", (char *)datapath, NULL };

	mcpd = h_spawn("mcpd-auth.log", argv);
	assert_int_equal(h_wait_port(port, 5000), 0);
}

static void restart(const char *cfg)
{
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	start(cfg);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key1.secret, key1.len);
	randombytes_buf(key2.secret, key2.len);
	randombytes_buf(key3.secret, key3.len);
	kv = h_backend_start(HB_ECHO, 0);
	other = h_backend_start(HB_ECHO, 0);
	return kv && other ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	h_backend_stop(kv);
	h_backend_stop(other);
	return 0;
}

/* Each test: its own mcpd with auth = required and keys 1 and 2. */
static int setup_mcpd(void **state)
{
	const struct mcp_key *keys[] = { &key1, &key2 };

	(void)state;
	h_test_begin();
	port = h_free_port();
	snprintf(sock, sizeof(sock), "%s/mcpd.sock", h_tmpdir());
	hc_use(sock);
	write_keys(keys, 2, 0600);
	start(write_config("required", NULL, NULL));
	return 0;
}

static int teardown_mcpd(void **state)
{
	(void)state;
	h_test_end();
	return 0;
}

/* Connect and say HELLO with a token: the session's fd, or -1 (the ERROR code in *code). */
static int session_with(const struct tok *t, int *code)
{
	const uint32_t v[] = { 2 }; /* v2: stream ids say which request each answer is for */
	struct mcp_hello_ack ack;
	int fd = h_connect(port), rc;

	assert_true(fd >= 0);
	rc = h_hello_token(fd, v, 1, t ? t->b : NULL, t ? t->n : 0, &ack);
	if (code)
		*code = rc <= -100 ? -rc - 100 : -1;
	if (rc == 2)
		return fd;
	close(fd);
	return -1;
}

static int must_session(const struct tok *t)
{
	int code, fd = session_with(t, &code);

	if (fd < 0)
		fail_msg("HELLO refused with code %d", code);
	return fd;
}

/* A HELLO refused with UNAUTHENTICATED, and the connection closed after it. */
static void refused(const uint8_t *token, size_t len)
{
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	int fd = h_connect(port);

	assert_true(fd >= 0);
	assert_int_equal(h_hello_token(fd, v, 1, token, len, &ack), -MCP_ERR_UNAUTHENTICATED - 100);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
}

/* A HELLO whose token is over MCP_TOKEN_MAX (struct mcp_hello cannot hold one): refused. */
static void oversized(const uint8_t *token, size_t len)
{
	Mcp__Hello m = MCP__HELLO__INIT;
	uint32_t v = 1;
	uint8_t buf[MCP_HDR_V1_LEN + MCP_TOKEN_MAX + 512];
	struct mcp_frame f = { .version = 1, .opcode = MCP_OP_HELLO };
	int fd = h_connect(port);

	m.n_versions = 1;
	m.versions = &v;
	m.token.data = (uint8_t *)token;
	m.token.len = len;
	f.length = (uint16_t)mcp__hello__get_packed_size(&m);
	assert_true((size_t)f.length + MCP_HDR_V1_LEN <= sizeof(buf));
	mcp_frame_encode_header(buf, &f);
	mcp__hello__pack(&m, buf + MCP_HDR_V1_LEN);
	assert_int_equal(h_send(fd, buf, MCP_HDR_V1_LEN + f.length), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_UNAUTHENTICATED), 0);
	close(fd);
}

static void test_required_refuses_every_bad_token(void **state)
{
	struct tok good = make_token(&key1, "alice", 3600, NULL, NULL, 0), t;
	struct mcp_key unknown = key1;
	uint8_t big[MCP_TOKEN_MAX + 200];
	int fd;

	(void)state;
	refused(NULL, 0); /* missing */
	refused((const uint8_t *)"certainly not a token, nor protobuf at all......", 48);
	t = good;
	t.b[t.n - 1] ^= 0x01; /* the signature's last bit */
	refused(t.b, t.n);
	t = good;
	t.b[3] ^= 0x20; /* inside the signed part */
	refused(t.b, t.n);
	unknown.id = 9;
	t = make_token(&unknown, "alice", 3600, NULL, NULL, 0);
	refused(t.b, t.n);
	t = make_token(&key1, "alice", -10, NULL, NULL, 0);
	refused(t.b, t.n);
	memset(big, 'x', sizeof(big));
	oversized(big, sizeof(big));
	refused(good.b, good.n - 5); /* truncated */

	/* Every refusal is counted by its reason (a flipped bit in the signed part, or a cut
	 * signature, may leave protobuf that parses or not: bad_signature or malformed); the
	 * good token still gets in. */
	assert_int_equal(hc_counter("auth_total", "result=missing"), 1);
	assert_true(hc_counter("auth_total", "result=malformed") >= 2);
	assert_true(hc_counter("auth_total", "result=bad_signature") >= 1);
	assert_true(hc_counter("auth_total", "result=unknown_key") >= 1);
	assert_int_equal(hc_counter("auth_total", "result=unknown_key") +
				 hc_counter("auth_total", "result=bad_signature") +
				 hc_counter("auth_total", "result=malformed"),
			 6);
	assert_int_equal(hc_counter("auth_total", "result=expired"), 1);
	assert_int_equal(hc_counter("errors_sent_total", "code=UNAUTHENTICATED"), 8);
	fd = must_session(&good);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 20), 0);
	close(fd);
	assert_int_equal(hc_counter("auth_total", "result=ok"), 1);
}

/* Requests of ops[] in one write (v2), stream ids 1..n. */
static void pipeline(int fd, const uint8_t *ops, int n)
{
	static uint8_t buf[1 << 16];
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		ssize_t k = mcp_frame_build(buf + len, sizeof(buf) - len, 2, ops[i], (uint32_t)(i + 1),
					    0, "payload!", 8);

		assert_true(k > 0);
		len += (size_t)k;
	}
	assert_int_equal(h_send(fd, buf, len), 0);
}

struct answers {
	int ok, denied, limited, other;
	uint32_t last_stream; /* of the responses, which must come in order */
};

static void read_answers(int fd, int n, struct answers *a)
{
	struct h_frame *fr = malloc(sizeof(*fr));

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < n; i++) {
		assert_int_equal(h_read_frame(fd, fr), 0);
		if (fr->f.opcode == MCP_OP_ERROR) {
			struct mcp_error e;

			assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
			a->denied += e.code == MCP_ERR_PERMISSION_DENIED;
			a->limited += e.code == MCP_ERR_RATE_LIMITED;
			a->other += e.code != MCP_ERR_PERMISSION_DENIED && e.code != MCP_ERR_RATE_LIMITED;
		} else if (mcp_opcode_class(fr->f.opcode) == MCP_OPC_RESPONSE) {
			assert_true(fr->f.stream_id > a->last_stream);
			a->last_stream = fr->f.stream_id;
			a->ok++;
		} else {
			a->other++;
		}
	}
	free(fr);
}

static void test_get_only_token_gets_permission_denied_for_set(void **state)
{
	struct tok t = make_token(&key1, "reader", 3600, "GET", NULL, 0);
	const uint8_t ops[] = { MCP_OP_GET, MCP_OP_SET, MCP_OP_GET, MCP_OP_GET, MCP_OP_DEL,
				MCP_OP_GET };
	uint64_t sets = h_backend_count(kv, MCP_OP_SET), dels = h_backend_count(kv, MCP_OP_DEL);
	uint64_t gets = h_backend_count(kv, MCP_OP_GET);
	struct answers a;
	int fd = must_session(&t);

	(void)state;
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	pipeline(fd, ops, 6);
	read_answers(fd, 6, &a);
	assert_int_equal(a.ok, 4);
	assert_int_equal(a.denied, 2);
	assert_int_equal(a.other, 0);
	/* The session stays open, and the backend never saw what was denied. */
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	assert_int_equal(h_backend_count(kv, MCP_OP_SET), sets);
	assert_int_equal(h_backend_count(kv, MCP_OP_DEL), dels);
	assert_int_equal(h_backend_count(kv, MCP_OP_GET), gets + 6);
	assert_int_equal(hc_counter("denied_total", "reason=opcode"), 2);
	assert_int_equal(hc_counter("errors_sent_total", "code=PERMISSION_DENIED"), 2);
	/* On a kernel path the verdict judged the first and handed it over (mcp_perm_stats;
	 * the inline path hands the session over for good with it, so mcpd judges the rest). */
	if (strcmp(datapath, "user"))
		assert_true(hc_counter("kernel_denied_total", "reason=opcode") >= 1);
	close(fd);
}

static void test_pools_restricted(void **state)
{
	struct tok t = make_token(&key2, "kv-only", 3600, NULL, "kv", 0);
	const uint8_t ops[] = { MCP_OP_SYNC, MCP_OP_GET, MCP_OP_SYNC, MCP_OP_SET };
	uint64_t syncs = h_backend_count(other, MCP_OP_SYNC);
	struct answers a;
	int fd = must_session(&t);

	(void)state;
	pipeline(fd, ops, 4);
	read_answers(fd, 4, &a);
	assert_int_equal(a.ok, 2);
	assert_int_equal(a.denied, 2);
	assert_int_equal(h_backend_count(other, MCP_OP_SYNC), syncs);
	assert_int_equal(hc_counter("denied_total", "reason=pool"), 2);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_SET, 10), 0);
	close(fd);
}

static void test_rate_limit_under_a_pipelined_burst(void **state)
{
	enum { N = 300, RATE = 100 };
	struct tok t = make_token(&key1, "limited", 3600, NULL, NULL, RATE);
	uint64_t gets = h_backend_count(kv, MCP_OP_GET), t0;
	uint8_t ops[N];
	struct answers a;
	double secs;
	int fd = must_session(&t);

	(void)state;
	memset(ops, MCP_OP_GET, sizeof(ops));
	t0 = h_now_ms();
	pipeline(fd, ops, N);
	read_answers(fd, N, &a);
	secs = (double)(h_now_ms() - t0) / 1000.0 + 1.0; /* + the second HELLO was before */
	print_message("%d answered, %d RATE_LIMITED in %.2f s\n", a.ok, a.limited, secs - 1);
	/* Each frame has exactly one answer: forwarded and answered, or RATE_LIMITED. */
	assert_int_equal(a.ok + a.limited, N);
	assert_int_equal(a.other, 0);
	/* A second's worth at once, then RATE per second (the time it took bounds it above). */
	assert_true(a.ok >= RATE);
	assert_true(a.ok <= RATE + (int)(RATE * secs) + 1);
	assert_true(a.limited >= 1);
	assert_int_equal(h_backend_count(kv, MCP_OP_GET), gets + (uint64_t)a.ok);
	assert_int_equal(hc_counter("denied_total", "reason=rate"), a.limited);
	/* The session goes on: tokens come back with time. */
	usleep(200000);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	close(fd);
}

static void test_keys_rotate_by_reload(void **state)
{
	const struct mcp_key *rotated[] = { &key2, &key3 };
	struct tok t1 = make_token(&key1, "old", 3600, NULL, NULL, 0),
		   t2 = make_token(&key2, "mid", 3600, NULL, NULL, 0),
		   t3 = make_token(&key3, "new", 3600, NULL, NULL, 0);
	char out[4096];
	int fd1 = must_session(&t1), fd2 = must_session(&t2), code;

	(void)state;
	assert_int_equal(session_with(&t3, &code), -1); /* key 3 is not there yet */
	assert_int_equal(code, MCP_ERR_UNAUTHENTICATED);
	write_keys(rotated, 2, 0600);
	assert_int_equal(hc_run(out, sizeof(out), "reload", NULL), 0);
	/* Key 1 is gone: its tokens no longer get in; the sessions they opened go on. */
	assert_int_equal(session_with(&t1, &code), -1);
	assert_int_equal(code, MCP_ERR_UNAUTHENTICATED);
	close(must_session(&t2));
	close(must_session(&t3));
	assert_int_equal(h_roundtrip(fd1, 2, MCP_OP_GET, 10), 0);
	assert_int_equal(h_roundtrip(fd2, 2, MCP_OP_GET, 10), 0);
	/* A key file anyone may read is refused, and the keys in use stay. */
	assert_int_equal(chmod(keys_path(), 0644), 0);
	assert_int_equal(hc_run(out, sizeof(out), "reload", NULL), 1);
	assert_non_null(strstr(out, "refused"));
	close(must_session(&t3));
	close(fd1);
	close(fd2);
}

static void test_key_file_must_be_private(void **state)
{
	char out[4096], *argv[] = { "mcpd", "--check", "-c", NULL, NULL };

	(void)state;
	argv[3] = (char *)write_config("required", NULL, NULL);
	assert_int_equal(h_run(out, sizeof(out), argv), 0);
	assert_int_equal(chmod(keys_path(), 0640), 0);
	assert_int_equal(h_run(out, sizeof(out), argv), 1);
	/* Nor does mcpd start with it. */
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	char *run[] = { "mcpd", "-f", "-c", argv[3], "--datapath", (char *)datapath, NULL };
	char log[300];

	assert_int_equal(h_wait(h_spawn("mcpd-open-keys.log", run), 10000), 1);
	snprintf(log, sizeof(log), "%s/mcpd-open-keys.log", h_tmpdir());
	assert_true(h_file_contains(log, "closed to group and others"));
}

static void test_backend_hello_carries_the_verified_identity(void **state)
{
	struct tok t = make_token(&key1, "alice@example", 3600, NULL, NULL, 0);
	char id[MCP_CLIENT_ID_MAX + 1];
	int fd = must_session(&t);

	(void)state;
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	h_backend_last_client_id(kv, id, sizeof(id));
	assert_string_equal(id, "alice@example");
	close(fd);
	/* Without a token (auth = optional) the backend hears nothing the client claimed. */
	restart(write_config("optional", NULL, NULL));
	fd = must_session(NULL);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	h_backend_last_client_id(kv, id, sizeof(id));
	assert_string_equal(id, "");
	close(fd);
}

static void test_optional_gives_anonymous_its_section(void **state)
{
	struct tok bad = make_token(&key1, "x", -5, NULL, NULL, 0),
		   good = make_token(&key1, "writer", 3600, NULL, NULL, 0);
	const uint8_t ops[] = { MCP_OP_GET, MCP_OP_SET };
	struct answers a;
	int fd;

	(void)state;
	restart(write_config("optional", NULL, "[client anonymous]\nallow = GET\n"
					       "[client writer]\nallow = GET, SET\n"));
	fd = must_session(NULL);
	pipeline(fd, ops, 2);
	read_answers(fd, 2, &a);
	assert_int_equal(a.ok, 1);
	assert_int_equal(a.denied, 1);
	close(fd);
	/* A bad token is refused even where none is required. */
	refused(bad.b, bad.n);
	fd = must_session(&good);
	pipeline(fd, ops, 2);
	read_answers(fd, 2, &a);
	assert_int_equal(a.ok, 2);
	close(fd);
}

static void test_section_narrows_a_token(void **state)
{
	struct tok t = make_token(&key1, "carol", 3600, "GET,SET,DEL", NULL, 0);
	const uint8_t ops[] = { MCP_OP_GET, MCP_OP_SET, MCP_OP_DEL };
	struct answers a;
	int fd;

	(void)state;
	restart(write_config("required", NULL, "[client carol]\nallow = GET, DEL\n"));
	fd = must_session(&t);
	pipeline(fd, ops, 3);
	read_answers(fd, 3, &a);
	assert_int_equal(a.ok, 2);
	assert_int_equal(a.denied, 1);
	/* Named in the config: its own labelled counters on /metrics. */
	assert_int_equal(hc_counter("client_denied_total", "client=carol,reason=permission"), 1);
	close(fd);
}

static json_object *find(json_object *arr, const char *key, const char *value)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (!strcmp(hc_str(o, key), value))
			return o;
	}
	return NULL;
}

static void test_sessions_and_clients_show_identities(void **state)
{
	struct tok t = make_token(&key1, "dave", 3600, "GET", NULL, 0);
	const uint8_t ops[] = { MCP_OP_SET };
	char out[8192];
	struct answers a;
	json_object *o, *s;
	int fd = must_session(&t);

	(void)state;
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 10), 0);
	pipeline(fd, ops, 1);
	read_answers(fd, 1, &a);
	assert_int_equal(a.denied, 1);
	o = hc_json("sessions");
	s = find(o, "client_id", "dave");
	assert_non_null(s);
	assert_string_equal(hc_str(s, "auth"), "verified");
	assert_int_equal(hc_int(s, "denied"), 1);
	json_object_put(o);
	assert_int_equal(hc_run(out, sizeof(out), "sessions", NULL), 0);
	assert_non_null(strstr(out, "dave"));
	o = hc_json("clients");
	s = find(o, "client_id", "dave");
	assert_non_null(s);
	assert_int_equal(hc_int(s, "sessions"), 1);
	assert_int_equal(hc_int(s, "denied"), 1);
	assert_true(hc_int(s, "frames") >= 2);
	json_object_put(o);
	close(fd);
}

static void test_failed_authentications_are_an_anomaly(void **state)
{
	struct tok bad = make_token(&key1, "mallory", -100, NULL, NULL, 0);
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	json_object *o;
	int fd, found = 0;

	(void)state;
	restart(write_config("required", "auto_block = true\nanomaly_auth_failures = 10\n", NULL));
	for (int i = 0; i < 300 && hc_counter("anomaly_detector_ready", "") != 1; i++)
		usleep(100000);
	for (int i = 0; i < 40; i++) {
		fd = h_connect_from(port, "127.0.0.9");
		if (fd < 0)
			break;
		h_hello_token(fd, v, 1, bad.b, bad.n, &ack);
		close(fd);
	}
	for (int i = 0; i < 100 && !found; i++) {
		o = hc_json("blocklist");
		for (size_t k = 0; k < json_object_array_length(o); k++) {
			json_object *b = json_object_array_get_idx(o, k);

			found |= !strcmp(hc_str(b, "prefix"), "127.0.0.9/32") &&
				 !strcmp(hc_str(b, "reason"), "anomaly: auth_failures");
		}
		json_object_put(o);
		if (!found)
			usleep(100000);
	}
	assert_true(found);
	assert_true(hc_counter("anomalies_total", "kind=auth_failures") >= 1);
}

static void test_upgrade_under_load_keeps_identities(void **state)
{
	struct tok reader = make_token(&key1, "reader", 3600, "GET", NULL, 0),
		   loader = make_token(&key2, "loader", 3600, "GET,SET", "kv", 0);
	const uint8_t ops[] = { MCP_OP_SET, MCP_OP_GET };
	char hex[2 * MCP_TOKEN_MAX + 1], target[64], out[4096];
	struct answers a;
	json_object *o, *s;
	pid_t bench, new_pid;
	int fd = must_session(&reader);

	(void)state;
	sodium_bin2hex(hex, sizeof(hex), loader.b, loader.n);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	char *argv[] = { "mcpbench", "-t", target, "-c", "4", "-d", "8", "-D", "3", "--ops",
			 "GET,SET", "--token", hex, NULL };
	bench = h_spawn("bench.log", argv);
	assert_int_equal(h_wait_sessions(sock, 5), 0);
	assert_int_equal(hc_run(out, sizeof(out), "-j", "upgrade", NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	new_pid = (pid_t)hc_int(o, "pid");
	json_object_put(o);
	assert_int_equal(h_wait(mcpd, 10000), 0);
	mcpd = new_pid;
	/* The load under its own identity lost nothing (mcpbench fails on any loss or ERROR). */
	assert_int_equal(h_wait(bench, 30000), 0);
	/* The old session is still "reader", and still may not SET. */
	pipeline(fd, ops, 2);
	read_answers(fd, 2, &a);
	assert_int_equal(a.ok, 1);
	assert_int_equal(a.denied, 1);
	o = hc_json("sessions");
	s = find(o, "client_id", "reader");
	assert_non_null(s);
	assert_string_equal(hc_str(s, "auth"), "verified");
	assert_true(json_object_get_boolean(json_object_object_get(s, "restricted")));
	json_object_put(o);
	close(fd);
}

/* mcpctl token issue | inspect: a token it issues gets in and says what it was asked for; a
 * forged one is shown as such; a key file open to others is refused. */
static void test_mcpctl_token(void **state)
{
	char out[8192], *issue[] = { "mcpctl", "token", "issue", "--client", "ops-team", "--ttl",
				     "10m", "--allow", "GET", "--rate", "50", "--keys",
				     (char *)keys_path(), NULL };
	struct tok t = { 0 };
	const uint8_t ops[] = { MCP_OP_GET, MCP_OP_SET };
	struct answers a;
	json_object *o;
	size_t n;
	int fd;

	(void)state;
	assert_int_equal(h_run(out, sizeof(out), issue), 0);
	n = strcspn(out, "\n");
	out[n] = '\0';
	assert_int_equal(sodium_hex2bin(t.b, sizeof(t.b), out, n, NULL, &t.n, NULL), 0);
	fd = must_session(&t);
	pipeline(fd, ops, 2);
	read_answers(fd, 2, &a);
	assert_int_equal(a.ok, 1);
	assert_int_equal(a.denied, 1);
	close(fd);

	char hex[2 * MCP_TOKEN_MAX + 1];
	char *inspect[] = { "mcpctl", "-j", "token", "inspect", hex, "--keys", (char *)keys_path(),
			    NULL };

	assert_true(n < sizeof(hex));
	memcpy(hex, out, n + 1);
	assert_int_equal(h_run(out, sizeof(out), inspect), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(hc_str(o, "client_id"), "ops-team");
	assert_string_equal(hc_str(o, "result"), "ok");
	assert_int_equal(hc_int(o, "rate_fps"), 50);
	assert_int_equal(hc_int(o, "key_id"), 2); /* the highest id in the file */
	json_object_put(o);
	hex[strlen(hex) - 1] = hex[strlen(hex) - 1] == '0' ? '1' : '0'; /* the signature's end */
	assert_int_equal(h_run(out, sizeof(out), inspect), 1);
	assert_non_null(strstr(out, "bad_signature"));
	assert_int_equal(chmod(keys_path(), 0644), 0);
	assert_int_equal(h_run(out, sizeof(out), issue), 1);
}

/* A datagram has no HELLO: with auth = required a UDP request never reaches a backend (PINGs
 * are still answered); with optional, [client anonymous] says what may. */
static void test_udp_carries_no_identity(void **state)
{
	static uint8_t buf[64], answer[70000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t gets = h_backend_count(kv, MCP_OP_GET);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	(void)state;
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_PING, 0, 0, "hb", 2);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, sizeof(answer), true), n);
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_GET, 0, 0, "k", 1);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, sizeof(answer), false), -1);
	assert_int_equal(h_backend_count(kv, MCP_OP_GET), gets);
	assert_int_equal(hc_counter("udp_denied_total", ""), 1);
	restart(write_config("optional", NULL, "[client anonymous]\nallow = GET\n"));
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, sizeof(answer), true), n);
	assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_GET | 0x80);
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_SET, 0, 0, "k", 1);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, sizeof(answer), false), -1);
	assert_int_equal(hc_counter("udp_denied_total", ""), 1);
	close(fd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_required_refuses_every_bad_token),
		H_TEST(test_get_only_token_gets_permission_denied_for_set),
		H_TEST(test_pools_restricted),
		H_TEST(test_rate_limit_under_a_pipelined_burst),
		H_TEST(test_keys_rotate_by_reload),
		H_TEST(test_key_file_must_be_private),
		H_TEST(test_backend_hello_carries_the_verified_identity),
		H_TEST(test_optional_gives_anonymous_its_section),
		H_TEST(test_section_narrows_a_token),
		H_TEST(test_sessions_and_clients_show_identities),
		H_TEST(test_failed_authentications_are_an_anomaly),
		H_TEST(test_upgrade_under_load_keeps_identities),
		H_TEST(test_udp_carries_no_identity),
		H_TEST(test_mcpctl_token),
	};
	char name[32];
	int rc = h_datapath_start(argc, argv, "e2e_auth", &datapath, name, sizeof(name));

	if (rc >= 0)
		return rc;
	if (geteuid() != 0) {
		/* mcpd takes a key file only from root (owned by root, mode 0600). */
		printf("SKIPPED: key files must be root's: run as root\n");
		return 77;
	}
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
