// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end tests of the router: the real mcpd on real loopback sockets, mcp-echo processes as
 * its backends and mcpbench as a client. The same suite runs on every data path:
 *
 *   e2e_router user     mcpd --datapath user
 *   e2e_router bpf      mcpd --datapath bpf (root; the sockmap verdict in the running kernel)
 *   e2e_router auto     mcpd --datapath auto (root; local clients on the inline sk_msg path)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"
#include "cgroup.h"
#include "kstats.h"

static const char *datapath;
static int port;
static pid_t mcpd;
static struct h_backend *pool_a, *pool_b, *dies, *slow;
static int dead_port;
static const char *config_path;
static char config_text[2048];

static pid_t start_mcpd(const char *cfg, const char *log)
{
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg, "--datapath", (char *)datapath, NULL };

	return h_spawn(log, argv);
}

/* The backends serve the whole run; each test gets its own mcpd (setup_mcpd). */
static int setup(void **state)
{
	(void)state;
	pool_a = h_backend_start(HB_ECHO, 0);
	pool_b = h_backend_start(HB_ECHO, 0);
	dies = h_backend_start(HB_DIE_AFTER, 3);
	slow = h_backend_start(HB_SLOW, 50);
	dead_port = h_free_port();
	return pool_a && pool_b && dies && slow ? 0 : -1;
}

/* Long enough that no test's sessions idle out while a loaded machine sets them up; the
 * tests of idleness say what they need (setup_mcpd_idle_3s, setup_mcpd_short_idle). */
#define IDLE_MS_DEFAULT 60000
static int idle_timeout_ms = IDLE_MS_DEFAULT, stall_timeout_ms = 5000;

static int setup_mcpd(void **state)
{
	(void)state;
	h_test_begin();
	port = h_free_port();
	snprintf(config_text, sizeof(config_text),
		 "; written by tests/e2e/test_router.c\n"
		 "[mcpd]\n"
		 "listen = 127.0.0.1:%d\n"
		 "control = %s/mcpd.sock\n"
		 "pin_root = %s\n"
		 "max_frame = 16384\n"
		 "heartbeat_ms = 1000\n"
		 "idle_timeout_ms = %d\n"
		 "stall_timeout_ms = %d\n"
		 "udp_relays = 64\n"
		 "backend_down_ms = 60000\n"
		 "[pool a]\n"
		 "backend = 127.0.0.1:%d   ; nobody listens: refused, marked down\n"
		 "backend = 127.0.0.1:%d\n"
		 "[pool b]\n"
		 "backend = 127.0.0.1:%d\n"
		 "[pool dies]\n"
		 "backend = 127.0.0.1:%d\n"
		 "[pool slow]\n"
		 "backend = 127.0.0.1:%d\n"
		 "[routes]\n"
		 "GET = a\n"
		 "SYNC = a\n"
		 "0x20 = a\n"
		 "SET = b\n"
		 "0x10-0x1f = b\n"
		 "0x40 = dies\n"
		 "0x41 = slow\n",
		 port, h_tmpdir(), h_pin_root(), idle_timeout_ms, stall_timeout_ms, dead_port, h_backend_port(pool_a), h_backend_port(pool_b),
		 h_backend_port(dies), h_backend_port(slow));
	config_path = h_write_file("mcpd.ini", config_text);
	mcpd = start_mcpd(config_path, "mcpd.log");
	return h_wait_port(port, 5000);
}

static int teardown_mcpd(void **state)
{
	(void)state;
	h_test_end();
	mcpd = 0;
	idle_timeout_ms = IDLE_MS_DEFAULT;
	stall_timeout_ms = 5000;
	return 0;
}

static int setup_mcpd_idle_3s(void **state)
{
	idle_timeout_ms = 3000;
	return setup_mcpd(state);
}

/* The same, with idle_timeout_ms shorter than the time a big pipeline takes to send (and the
 * stall timeout, which ends a client that reads nothing, out of the way). */
static int setup_mcpd_short_idle(void **state)
{
	idle_timeout_ms = 1500;
	stall_timeout_ms = 600000;
	return setup_mcpd(state);
}

static int teardown(void **state)
{
	(void)state;
	h_backend_stop(pool_a);
	h_backend_stop(pool_b);
	h_backend_stop(dies);
	h_backend_stop(slow);
	return 0;
}

static const char *ctl_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/mcpd.sock", h_tmpdir());
	return path;
}

static const char *log_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), name);
	return path;
}

/* ---- negotiation ------------------------------------------------------------------------- */

static void test_negotiate_each_version(void **state)
{
	const uint32_t v1[] = { 1 }, v2[] = { 2 }, both[] = { 1, 2 };
	struct mcp_hello_ack ack;
	int fd;

	(void)state;
	fd = h_connect(port);
	assert_int_equal(h_hello(fd, v1, 1, &ack), 1);
	assert_int_not_equal(ack.session_id, 0);
	assert_int_equal(ack.max_frame, 16384);
	assert_int_equal(ack.heartbeat_ms, 1000);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
	close(fd);

	fd = h_connect(port);
	assert_int_equal(h_hello(fd, v2, 1, &ack), 2);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 100), 0);
	close(fd);

	fd = h_connect(port);
	assert_int_equal(h_hello(fd, both, 2, &ack), 2); /* the highest in common */
	close(fd);
}

static void test_versions_side_by_side(void **state)
{
	int a = h_session(port, 1), b = h_session(port, 2);

	(void)state;
	assert_true(a >= 0 && b >= 0);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(h_roundtrip(a, 1, MCP_OP_SET, (size_t)i * 10), 0);
		assert_int_equal(h_roundtrip(b, 2, MCP_OP_GET, (size_t)i * 7), 0);
	}
	close(a);
	close(b);
}

/* HELLO asking for max_frame; the HELLO_ACK's grant in *granted. The session's fd, or -1. */
static int hello_max_frame(uint32_t max_frame, uint32_t *granted)
{
	struct mcp_hello h = { .versions = { 1 }, .n_versions = 1, .max_frame = max_frame };
	struct h_frame *fr = malloc(sizeof(*fr));
	struct mcp_hello_ack ack;
	uint8_t buf[256];
	int fd = h_connect(port);

	strcpy(h.client_id, "tiny");
	if (fd < 0 || h_send(fd, buf, (size_t)mcp_build_hello(buf, sizeof(buf), &h)) ||
	    h_read_frame(fd, fr) || fr->f.opcode != MCP_OP_HELLO_ACK ||
	    mcp_parse_hello_ack(fr->f.payload, fr->f.length, &ack)) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		*granted = ack.max_frame;
	}
	free(fr);
	return fd;
}

/*
 * A client's HELLO narrows its own session, never how mcpd talks to backends: HELLOs asking
 * for max_frame 1..8 (which once made every backend's HELLO_ACK look too large and marked the
 * backends down) get the floor, and every other session carries on.
 */
static void test_tiny_max_frame_takes_no_backend_down(void **state)
{
	static uint8_t big[601];
	uint32_t granted = 0;
	int fd;

	(void)state;
	for (uint32_t mf = 1; mf <= 8; mf++) {
		fd = hello_max_frame(mf, &granted);
		assert_true(fd >= 0);
		assert_int_equal(granted, MCP_MAX_FRAME_FLOOR);
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
		close(fd);
	}
	/* Every pool still serves everyone (pool a's live backend, pool b's only one). */
	for (int i = 0; i < 10; i++) {
		fd = h_session(port, 1 + i % 2);
		assert_true(fd >= 0);
		assert_int_equal(h_roundtrip(fd, 1 + i % 2, i % 2 ? MCP_OP_SET : MCP_OP_GET, 1000), 0);
		close(fd);
	}
	/* A grant above the floor is the client's limit on what it sends. */
	fd = hello_max_frame(600, &granted);
	assert_true(fd >= 0);
	assert_int_equal(granted, 600);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 600), 0);
	assert_int_equal(h_send_frame(fd, 1, MCP_OP_GET, 0, big, sizeof(big)), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_FRAME_TOO_LARGE), 0);
	close(fd);
	assert_false(h_file_contains(log_path("mcpd.log"), "did not answer HELLO"));
}

static void test_no_common_version(void **state)
{
	struct mcp_hello h = { .versions = { 3, 4 }, .n_versions = 2 };
	struct h_frame *fr = malloc(sizeof(*fr));
	struct mcp_error e;
	uint8_t buf[128];
	int fd = h_connect(port);

	(void)state;
	assert_int_equal(h_send(fd, buf, (size_t)mcp_build_hello(buf, sizeof(buf), &h)), 0);
	assert_int_equal(h_read_frame(fd, fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_ERROR);
	assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
	assert_int_equal(e.code, MCP_ERR_UNSUPPORTED_VERSION);
	assert_int_equal(e.n_versions, 2);
	assert_int_equal(e.versions[0], 1);
	assert_int_equal(e.versions[1], 2);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
	free(fr);
}

static void test_hello_twice(void **state)
{
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	int fd = h_session(port, 1);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(h_hello(fd, v, 1, &ack), -MCP_ERR_PROTOCOL_VIOLATION - 100);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
}

static void test_data_before_hello(void **state)
{
	int fd = h_connect(port);

	(void)state;
	assert_int_equal(h_send_frame(fd, 1, MCP_OP_GET, 0, "x", 1), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_NOT_NEGOTIATED), 0);
	close(fd);
}

static void test_garbage_instead_of_hello(void **state)
{
	int fd = h_connect(port);

	(void)state;
	assert_int_equal(h_send(fd, "GET / HTTP/1.1\r\n\r\n", 18), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_BAD_MAGIC), 0);
	close(fd);
}

/* ---- routing ----------------------------------------------------------------------------- */

static void test_routing_by_opcode(void **state)
{
	uint64_t a0 = h_backend_count(pool_a, MCP_OP_GET), a1 = h_backend_count(pool_a, MCP_OP_SYNC),
		 b0 = h_backend_count(pool_b, MCP_OP_SET), b1 = h_backend_count(pool_b, 0x15),
		 a_set = h_backend_count(pool_a, MCP_OP_SET), b_get = h_backend_count(pool_b, MCP_OP_GET);
	int fd = h_session(port, 1);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_SET, 10), 0);
	assert_int_equal(h_roundtrip(fd, 1, 0x15, 10), 0);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_SYNC, 10), 0);
	assert_int_equal(h_backend_count(pool_a, MCP_OP_GET) - a0, 3);
	assert_int_equal(h_backend_count(pool_a, MCP_OP_SYNC) - a1, 1);
	assert_int_equal(h_backend_count(pool_b, MCP_OP_SET) - b0, 2);
	assert_int_equal(h_backend_count(pool_b, 0x15) - b1, 1);
	assert_int_equal(h_backend_count(pool_a, MCP_OP_SET), a_set);
	assert_int_equal(h_backend_count(pool_b, MCP_OP_GET), b_get);
	close(fd);
}

static void test_no_route_keeps_session(void **state)
{
	struct h_frame *fr = malloc(sizeof(*fr));
	struct mcp_error e;
	int fd = h_session(port, 2);

	(void)state;
	assert_int_equal(h_send_frame(fd, 2, MCP_OP_DEL, 5, "k", 1), 0);
	assert_int_equal(h_read_frame(fd, fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_ERROR);
	assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
	assert_int_equal(e.code, MCP_ERR_NO_ROUTE);
	/* The session stays open. */
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 20), 0);
	close(fd);
	free(fr);
}

/* A request with no route in the middle of a pipeline, in one write: every frame is answered,
 * each GET once with its own stream id and payload, the DEL with NO_ROUTE, and the session
 * goes on. On the inline path this is where the session is handed to mcpd mid-stream. */
static void test_no_route_mid_pipeline(void **state)
{
	enum { BEFORE = 40, AFTER = 40, N = BEFORE + 1 + AFTER };
	uint8_t *out = malloc(N * 64), seen[N + 1] = { 0 };
	struct h_frame *fr = malloc(sizeof(*fr));
	int fd = h_session(port, 2), errors = 0;
	struct mcp_counter before[MCP_INLINE__COUNT], after[MCP_INLINE__COUNT];
	size_t len = 0;

	(void)state;
	assert_non_null(out);
	assert_non_null(fr);
	if (!strcmp(datapath, "auto"))
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, before), 0);
	for (uint32_t id = 1; id <= N; id++) {
		char payload[16];
		int n = snprintf(payload, sizeof(payload), "req-%u", id);
		ssize_t k = mcp_frame_build(out + len, N * 64 - len, 2,
					    id == BEFORE + 1 ? MCP_OP_DEL : MCP_OP_GET, id, 0, payload,
					    (size_t)n);

		assert_true(k > 0);
		len += (size_t)k;
	}
	assert_int_equal(send(fd, out, len, MSG_NOSIGNAL), (ssize_t)len);
	for (int i = 0; i < N; i++) {
		char want[16];

		assert_int_equal(h_read_frame(fd, fr), 0);
		if (fr->f.opcode == MCP_OP_ERROR) {
			struct mcp_error e;

			assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
			assert_int_equal(e.code, MCP_ERR_NO_ROUTE);
			errors++;
			continue;
		}
		assert_int_equal(fr->f.opcode, mcp_response_opcode(MCP_OP_GET));
		assert_true(fr->f.stream_id >= 1 && fr->f.stream_id <= N);
		assert_int_not_equal(fr->f.stream_id, BEFORE + 1);
		assert_int_equal(seen[fr->f.stream_id]++, 0);
		snprintf(want, sizeof(want), "req-%u", fr->f.stream_id);
		assert_int_equal(fr->f.length, strlen(want));
		assert_memory_equal(fr->f.payload, want, fr->f.length);
	}
	assert_int_equal(errors, 1);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 20), 0);
	if (!strcmp(datapath, "auto")) {
		/* The GETs before the DEL went inline; the DEL handed the session to mcpd. */
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, after), 0);
		assert_int_equal(after[MCP_INLINE_FALL_NO_ROUTE].count,
				 before[MCP_INLINE_FALL_NO_ROUTE].count + 1);
		assert_true(after[MCP_INLINE_REDIRECT].count > before[MCP_INLINE_REDIRECT].count);
	}
	close(fd);
	free(fr);
	free(out);
}

/* Under auto, a client whose socket the sockops program never saw (its process is outside
 * inline_cgroup) gets the remote path, and everything works as there. */
static void test_outside_the_cgroup_goes_remote(void **state)
{
	char root[200], dir[300], text[sizeof(config_text) + 400], out[4096];
	char *ctl_argv[] = { "mcpctl", "-s", (char *)ctl_path(), "sessions", NULL };
	const char *at;
	int fd;

	(void)state;
	if (strcmp(datapath, "auto"))
		return; /* only auto has an inline path to miss */
	assert_int_equal(mcp_cgroup2_root(root, sizeof(root)), 0);
	snprintf(dir, sizeof(dir), "%s/mcp-e2e-empty-%d", root, getpid());
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	at = strstr(config_text, "[mcpd]\n");
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s[mcpd]\ninline_cgroup = %s\n%s", (int)(at - config_text),
		 config_text, dir, at + strlen("[mcpd]\n"));
	mcpd = start_mcpd(h_write_file("outside.ini", text), "mcpd-outside.log");
	assert_int_equal(h_wait_port(port, 5000), 0);
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 30), 0);
	assert_int_equal(h_run(out, sizeof(out), ctl_argv), 0);
	assert_non_null(strstr(out, " mcpd\n"));
	assert_null(strstr(out, " inline\n"));
	close(fd);
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	assert_int_equal(rmdir(dir), 0);
	mcpd = start_mcpd(config_path, "mcpd.log");
	assert_int_equal(h_wait_port(port, 5000), 0);
}

/* ---- heartbeats, close, idle ------------------------------------------------------------- */

static void test_ping_pong_and_close(void **state)
{
	struct h_frame *fr = malloc(sizeof(*fr));

	(void)state;
	for (int v = 1; v <= 2; v++) {
		int fd = h_session(port, v);

		assert_int_equal(h_send_frame(fd, (uint8_t)v, MCP_OP_PING, 9, "beat", 4), 0);
		assert_int_equal(h_read_frame(fd, fr), 0);
		assert_int_equal(fr->f.opcode, MCP_OP_PONG);
		assert_int_equal(fr->f.length, 4);
		assert_memory_equal(fr->f.payload, "beat", 4);
		assert_int_equal(fr->f.stream_id, v == 2 ? 9 : 0);
		assert_int_equal(h_roundtrip(fd, v, MCP_OP_GET, 8), 0);
		assert_int_equal(h_send_frame(fd, (uint8_t)v, MCP_OP_CLOSE, 0, NULL, 0), 0);
		assert_int_equal(h_read_frame(fd, fr), 0);
		assert_int_equal(fr->f.opcode, MCP_OP_CLOSE);
		assert_int_equal(h_expect_eof(fd), 0);
		close(fd);
	}
	free(fr);
}

static void test_idle_timeout(void **state)
{
	struct h_frame *fr = malloc(sizeof(*fr));
	int quiet = h_session(port, 1), beating = h_session(port, 2);

	(void)state;
	/* idle_timeout_ms is 3000: one session PINGs every 300 ms, the other says nothing. */
	for (int i = 0; i < 14; i++) {
		usleep(300000);
		assert_int_equal(h_send_frame(beating, 2, MCP_OP_PING, (uint32_t)i, "hb", 2), 0);
		assert_int_equal(h_read_frame(beating, fr), 0);
		assert_int_equal(fr->f.opcode, MCP_OP_PONG);
	}
	assert_int_equal(h_expect_error_close(quiet, MCP_ERR_IDLE_TIMEOUT), 0);
	assert_int_equal(h_roundtrip(beating, 2, MCP_OP_GET, 3), 0);
	close(quiet);
	close(beating);
	free(fr);
}

/*
 * A client that pipelines about 3 MB of requests before it reads any answer is busy, not idle,
 * however long mcpd holds it back (its answers wait in mcpd, so mcpd stops reading it): the
 * idle timeout must not end it. idle_timeout_ms is 1500 here (setup_mcpd_short_idle).
 */
static void test_busy_pipeline_is_not_idle(void **state)
{
	enum { N = 4000, MAX = 3000 };
	static uint8_t payload[MAX];
	struct h_frame *fr = malloc(sizeof(*fr));
	struct timeval tv = { .tv_sec = 60 };
	unsigned int seed = 7;
	size_t sizes[N], total = 0;
	int fd = h_connect(port), small = 16384;
	const uint32_t v2[] = { 2 };
	struct mcp_hello_ack ack;

	(void)state;
	assert_true(fd >= 0);
	/* A small receive buffer: the answers wait in mcpd, not in this socket. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(h_hello(fd, v2, 1, &ack), 2);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t i = 0; i < MAX; i++)
		payload[i] = (uint8_t)(i * 7);
	for (int i = 0; i < N; i++) {
		sizes[i] = (size_t)rand_r(&seed) % (MAX + 1);
		total += sizes[i];
		/* Slowly enough that the whole pipeline takes longer than the idle timeout. */
		if (i % 200 == 199)
			usleep(200000);
		assert_int_equal(h_send_frame(fd, 2, MCP_OP_SET, (uint32_t)i, payload, sizes[i]), 0);
	}
	print_message("pipelined %zu bytes in %d frames before reading\n", total, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(h_read_frame(fd, fr), 0);
		if (fr->f.opcode == MCP_OP_ERROR)
			fail_msg("frame %d: an ERROR instead of the answer", i);
		assert_int_equal(fr->f.opcode, 0x82);
		assert_int_equal(fr->f.stream_id, i);
		assert_int_equal(fr->f.length, sizes[i]);
		assert_memory_equal(fr->f.payload, payload, sizes[i]);
	}
	free(fr);
	close(fd);
}

/* ---- integrity (mcpbench checks order and content of every frame) ----------------------- */

static void bench(const char *conns, const char *depth, const char *size, const char *frames,
		  const char *version, const char *extra1, const char *extra2)
{
	char target[32], out[4096];
	char *argv[16] = { "mcpbench", "-t", target, "-c", (char *)conns, "-d", (char *)depth,
			   "-s", (char *)size, "-n", (char *)frames, "-v", (char *)version };
	int argc = 13, rc;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	if (extra1)
		argv[argc++] = (char *)extra1;
	if (extra2)
		argv[argc++] = (char *)extra2;
	argv[argc] = NULL;
	rc = h_run(out, sizeof(out), argv);
	print_message("%s", out);
	assert_non_null(strstr(out, "lost 0  reordered 0  corrupt 0"));
	assert_int_equal(rc, 0);
}

static void test_integrity_random_sizes(void **state)
{
	(void)state;
	/* 100 000 pipelined frames of 0..max_frame bytes per session, 3 sessions, each version. */
	bench("3", "16", "0-16384", "100000", "1", NULL, NULL);
	bench("3", "16", "0-16384", "100000", "2", NULL, NULL);
	/* Two client threads, each with its own sessions (mcpbench --threads). */
	bench("4", "16", "0-4000", "20000", "2", "--threads", "2");
}

static void test_one_byte_per_write(void **state)
{
	(void)state;
	bench("1", "4", "0-300", "300", "1", "--chunk", "1");
	bench("1", "4", "0-300", "300", "2", "--chunk", "1");
}

static void test_pings_mixed_in(void **state)
{
	(void)state;
	bench("4", "16", "0-1000", "20000", "1", "--ping-every", "5");
	bench("4", "16", "0-1000", "20000", "2", "--ping-every", "3");
}

static void test_two_pools_one_session(void **state)
{
	uint64_t a = h_backend_count(pool_a, MCP_OP_GET), b = h_backend_count(pool_b, 0x12);

	(void)state;
	bench("4", "16", "0-2000", "20000", "2", "--ops", "GET,0x12");
	assert_int_equal(h_backend_count(pool_a, MCP_OP_GET) - a, 40000);
	assert_int_equal(h_backend_count(pool_b, 0x12) - b, 40000);
}

/* ---- bad input: each gets its ERROR and a close, healthy sessions lose nothing ---------- */

static void test_bad_input_isolated(void **state)
{
	char target[32];
	char *argv[] = { "mcpbench", "-t", target, "-c", "4", "-d", "8", "-s", "0-2000", "-D",
			 "4", "--ping-every", "9", NULL };
	uint8_t hdr[MCP_HDR_V1_LEN];
	struct mcp_frame big = { .version = 1, .opcode = MCP_OP_SET, .length = 16385 };
	pid_t healthy;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	healthy = h_spawn("healthy-bench.log", argv);
	usleep(300000);

	/* Bad magic mid-stream. */
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	assert_int_equal(h_send(fd, "\x4d\x43\x51\x01\x01\x01\x00\x00", 8), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_BAD_MAGIC), 0);
	close(fd);

	/* A length over max_frame. */
	fd = h_session(port, 1);
	mcp_frame_encode_header(hdr, &big);
	assert_int_equal(h_send(fd, hdr, sizeof(hdr)), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_FRAME_TOO_LARGE), 0);
	close(fd);

	/* An invalid opcode, and a response opcode from a client. */
	fd = h_session(port, 2);
	assert_int_equal(h_send_frame(fd, 2, 0x75, 1, "x", 1), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_UNKNOWN_OPCODE), 0);
	close(fd);
	fd = h_session(port, 1);
	assert_int_equal(h_send_frame(fd, 1, 0x81, 0, "x", 1), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_UNKNOWN_OPCODE), 0);
	close(fd);

	/* A frame of the wrong version on a negotiated session. */
	fd = h_session(port, 1);
	assert_int_equal(h_send_frame(fd, 2, MCP_OP_GET, 1, "x", 1), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_PROTOCOL_VIOLATION), 0);
	close(fd);

	/* A truncated frame, then the client goes away: the router just closes. */
	fd = h_session(port, 1);
	assert_int_equal(h_send(fd, "\x4d\x43\x50\x01\x01\x02\x00\x40partial", 15), 0);
	close(fd);

	/* The router still serves, and the healthy load lost nothing. */
	fd = h_session(port, 2);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_SET, 100), 0);
	close(fd);
	assert_int_equal(h_wait(healthy, 15000), 0);
	assert_true(h_file_contains(log_path("healthy-bench.log"), "lost 0  reordered 0  corrupt 0"));
}

/* ---- backends ---------------------------------------------------------------------------- */

static void test_backend_refused_then_next(void **state)
{
	(void)state;
	/* Pool a lists a dead backend first: sessions get the live one, and the log says why. */
	for (int i = 0; i < 4; i++) {
		int fd = h_session(port, 1);

		assert_true(fd >= 0);
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 5), 0);
		close(fd);
	}
	assert_true(h_file_contains(log_path("mcpd.log"), "down for 60000 ms"));
}

static void test_backend_none_reachable(void **state)
{
	char cfg[512];
	int other = h_free_port(), fd;
	pid_t p;

	(void)state;
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\n[pool gone]\nbackend = 127.0.0.1:%d\n"
		 "backend = 127.0.0.1:%d\n[routes]\ndefault = gone\n",
		 other, dead_port, h_free_port());
	/* A second mcpd on the user path: the pinned fast-path maps belong to the first. */
	char *argv[] = { "mcpd", "-f", "-c", (char *)h_write_file("gone.ini", cfg), "--datapath",
			 "user", NULL };
	p = h_spawn("mcpd-gone.log", argv);
	assert_int_equal(h_wait_port(other, 5000), 0);
	fd = h_connect(other);
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	assert_int_equal(h_hello(fd, v, 1, &ack), -MCP_ERR_BACKEND_UNAVAILABLE - 100);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
	h_kill(p, SIGTERM);
	assert_int_equal(h_wait(p, 5000), 0);
}

static void test_backend_dies_mid_session(void **state)
{
	int victim = h_session(port, 1), bystander = h_session(port, 2);

	(void)state;
	/* The "dies" backend closes its connection at the fourth request. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h_roundtrip(victim, 1, 0x40, 16), 0);
		assert_int_equal(h_roundtrip(bystander, 2, MCP_OP_GET, 16), 0);
	}
	assert_int_equal(h_send_frame(victim, 1, 0x40, 0, "last", 4), 0);
	assert_int_equal(h_expect_error_close(victim, MCP_ERR_BACKEND_UNAVAILABLE), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(h_roundtrip(bystander, 2, MCP_OP_SET, 16), 0);
	close(victim);
	close(bystander);
}

static void test_backend_slow(void **state)
{
	int s = h_session(port, 1), fast = h_session(port, 1);

	(void)state;
	/* The slow pool answers after 50 ms; another session meanwhile is not held up. */
	assert_int_equal(h_send_frame(s, 1, 0x41, 0, "slow", 4), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_roundtrip(fast, 1, MCP_OP_GET, 4), 0);
	struct h_frame *fr = malloc(sizeof(*fr));
	assert_int_equal(h_read_frame(s, fr), 0);
	assert_int_equal(fr->f.opcode, 0xC1);
	assert_memory_equal(fr->f.payload, "slow", 4);
	free(fr);
	close(s);
	close(fast);
}

static void test_1000_sessions(void **state)
{
	enum { N = 1000 };
	static int fds[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = h_session(port, 1 + i % 2);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(h_roundtrip(fds[i], 1 + i % 2, i % 2 ? MCP_OP_SET : MCP_OP_GET, 32), 0);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

/* ---- UDP without the XDP guard: mcpd applies the same checks itself ---------------------- */

static int udp_send(int fd, const void *p, size_t n, uint8_t *answer, bool expected)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return h_udp_exchange(fd, &a, p, n, answer, 70000, expected);
}

static int udp_exchange(int fd, const void *p, size_t n, uint8_t *answer)
{
	return udp_send(fd, p, n, answer, true);
}

static bool udp_silence(int fd, const void *p, size_t n, uint8_t *answer)
{
	return udp_send(fd, p, n, answer, false) == -1;
}

static void test_udp_in_userspace(void **state)
{
	static uint8_t buf[256], answer[70000];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	(void)state;
	for (uint8_t v = 1; v <= 2; v++) {
		n = mcp_frame_build(buf, sizeof(buf), v, MCP_OP_PING, 4, 0, "hb", 2);
		assert_int_equal(udp_exchange(fd, buf, (size_t)n, answer), n);
		assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_PONG);
		n = mcp_frame_build(buf, sizeof(buf), v, MCP_OP_SET, 4, 0, "k=v", 3);
		assert_int_equal(udp_exchange(fd, buf, (size_t)n, answer), n);
		assert_int_equal(answer[MCP_OFF_OPCODE], 0x82);
		assert_memory_equal(answer + mcp_hdr_len(v), "k=v", 3);
	}
	/* Not MCP, a length that lies, HELLO, a response: dropped without an answer. */
	assert_true(udp_silence(fd, "hello there", 11, answer));
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_GET, 0, 0, "abc", 3);
	assert_true(udp_silence(fd, buf, (size_t)n - 1, answer));
	buf[MCP_OFF_OPCODE] = MCP_OP_HELLO;
	assert_true(udp_silence(fd, buf, (size_t)n, answer));
	buf[MCP_OFF_OPCODE] = 0x81;
	assert_true(udp_silence(fd, buf, (size_t)n, answer));
	/* A request without a route is dropped too (UDP has no session to answer on). */
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_DEL, 0, 0, "k", 1);
	assert_true(udp_silence(fd, buf, (size_t)n, answer));
	close(fd);
}

/*
 * 2 000 one-shot datagrams from 2 000 sources (each would once hold a relay socket for 30 s,
 * up to 16 384): relay sockets stay within udp_relays (64 here), the least recently used
 * making room, and a new client is answered at once.
 */
static void test_udp_relays_are_bounded(void **state)
{
	enum { N = 2000 };
	static uint8_t buf[256], answer[70000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ssize_t n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_SET, 0, 0, "one-shot", 8);
	int fds0, fd, most = 0;

	(void)state;
	/* Counted from an mcpd that has finished starting (its port answers a little before its
	 * control socket, ring buffer and metrics are open: on a loaded machine, long enough to
	 * count a few descriptors short). */
	assert_int_equal(h_wait_sessions(ctl_path(), 0), 0);
	fds0 = h_count_fds(mcpd);
	for (int i = 0; i < N; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		char ip[32];

		snprintf(ip, sizeof(ip), "127.3.%d.%d", i / 250, 1 + i % 250);
		inet_pton(AF_INET, ip, &src.sin_addr);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
		assert_int_equal(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)), n);
		close(fd);
		if (i % 100 == 99 && h_count_fds(mcpd) - fds0 > most)
			most = h_count_fds(mcpd) - fds0;
	}
	/* A new client is answered (retrying, as UDP clients do: the flood may still fill the
	 * router's socket when its first datagram comes), and mcpd holds no more relay sockets
	 * than it may. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int got = -1;
	for (int i = 0; i < 5 && got < 0; i++)
		got = udp_send(fd, buf, (size_t)n, answer, false);
	if (got < 0)
		got = udp_exchange(fd, buf, (size_t)n, answer);
	assert_int_equal(got, n);
	close(fd);
	print_message("%d sources: at most %d more descriptors in mcpd, %lld relays made room\n", N,
		      most, h_counter(ctl_path(), "limit_hits_total", "limit=udp_relays"));
	assert_true(most <= 64 + 4);
	assert_true(h_count_fds(mcpd) - fds0 <= 64 + 4);
	/* (Not every one of the 2 000 made a relay: a flood overflows the socket's queue.) */
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=udp_relays") >= 1);
}

/* v2 over UDP: mcpd writes `session` towards the backend, as on TCP, and the client gets back
 * what it wrote there. */
static void test_udp_session_written_by_mcpd(void **state)
{
	static uint8_t buf[256], answer[70000];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n = mcp_frame_build(buf, sizeof(buf), 2, MCP_OP_SET, 7, 0xdeadbeef, "k=v", 3);

	(void)state;
	assert_int_equal(udp_exchange(fd, buf, (size_t)n, answer), n);
	assert_int_equal(answer[MCP_OFF_OPCODE], 0x82);
	assert_int_equal(mcp_be32_at(answer + MCP_OFF_SESSION), 0xdeadbeef);
	assert_int_equal(mcp_be32_at(answer + MCP_OFF_STREAM_ID), 7);
	assert_int_not_equal(h_backend_last_udp_session(pool_b), 0xdeadbeef);
	assert_int_not_equal(h_backend_last_udp_session(pool_b), 0);
	close(fd);
}

/*
 * udp_verify: a request is relayed only when its source echoes, in the v2 `session` field,
 * the cookie that mcpd's PONG to it carried; so a spoofed source, which never sees the PONG,
 * gets nothing relayed (PINGs are still answered, never larger than they are).
 */
static void test_udp_verify(void **state)
{
	static uint8_t buf[256], answer[70000];
	char cfg[512];
	int vport = h_free_port(), fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), other;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)vport),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
			   src = { .sin_family = AF_INET };
	ssize_t n;
	uint32_t cookie;

	(void)state;
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\nudp_verify = true\n"
		 "[pool b]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = b\n",
		 vport, h_backend_port(pool_b));
	char *argv[] = { "mcpd", "-f", "-c", (char *)h_write_file("verify.ini", cfg), "--datapath",
			 "user", NULL };
	h_spawn("mcpd-verify.log", argv);
	assert_int_equal(h_wait_port(vport, H_ANSWER_MS), 0);
	/* No cookie yet: nothing relayed (v2 with session 0, and v1, which has no field). */
	n = mcp_frame_build(buf, sizeof(buf), 2, MCP_OP_SET, 1, 0, "k=v", 3);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, 70000, false), -1);
	n = mcp_frame_build(buf, sizeof(buf), 1, MCP_OP_SET, 0, 0, "k=v", 3);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, 70000, false), -1);
	/* A PING's PONG carries the cookie, the same size as the PING. */
	n = mcp_frame_build(buf, sizeof(buf), 2, MCP_OP_PING, 2, 0, "hi", 2);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, 70000, true), n);
	assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_PONG);
	cookie = mcp_be32_at(answer + MCP_OFF_SESSION);
	assert_int_not_equal(cookie, 0);
	/* With it, requests are relayed (and the answer carries it back). */
	n = mcp_frame_build(buf, sizeof(buf), 2, MCP_OP_SET, 3, cookie, "k=v", 3);
	assert_int_equal(h_udp_exchange(fd, &to, buf, (size_t)n, answer, 70000, true), n);
	assert_int_equal(answer[MCP_OFF_OPCODE], 0x82);
	assert_int_equal(mcp_be32_at(answer + MCP_OFF_SESSION), cookie);
	/* Another source with the same cookie (what a spoofer could guess at best): nothing. */
	other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.7", &src.sin_addr);
	assert_int_equal(bind(other, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(h_udp_exchange(other, &to, buf, (size_t)n, answer, 70000, false), -1);
	close(other);
	close(fd);
}

static void test_mcpbench_udp_and_open_loop(void **state)
{
	(void)state;
	/* MCP over UDP through mcpd (closed loop), and TCP at a fixed rate (open loop): every
	 * answer checked; on loopback nothing may go missing. */
	bench("2", "8", "0-500", "2000", "2", "--udp", "--ops=SET"); /* pool b: no dead backend */
	bench("2", "64", "64", "1500", "1", "--rate", "3000");
}

/* ---- config and signals ------------------------------------------------------------------ */

static void test_bad_config_refused(void **state)
{
	char out[1024];
	const char *bad = h_write_file("bad.ini", "[mcpd]\nmax_frame = 16384\nmax_frame = 70000\n");
	char *argv[] = { "mcpd", "-t", "-c", (char *)bad, NULL };
	int fd;

	(void)state;
	assert_int_equal(h_run(out, sizeof(out), argv), 1);
	assert_non_null(strstr(out, "bad.ini:3: max_frame"));
	/* A reload with a broken file keeps the running config. */
	h_write_file("mcpd.ini", "[mcpd]\nlisten = nowhere\n");
	h_kill(mcpd, SIGHUP);
	assert_true(h_wait_contains(log_path("mcpd.log"), "reload refused"));
	assert_true(h_file_contains(log_path("mcpd.log"), "mcpd.ini:2: listen"));
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_SET, 9), 0);
	close(fd);
	h_write_file("mcpd.ini", config_text);
	h_kill(mcpd, SIGHUP);
	assert_true(h_wait_contains(log_path("mcpd.log"), "reloaded"));
}

/* ---- the fast path itself ---------------------------------------------------------------- */

static uint64_t dp_stat(int reason)
{
	static struct mcp_kstats k;

	assert_int_equal(mcp_kstats_read(h_pin_root(), &k), 0);
	return k.dp[reason].count;
}

static void test_fast_path_carries_data(void **state)
{
	uint64_t redirected, pongs;

	(void)state;
	if (!strcmp(datapath, "auto")) {
		/* Every client and backend here is local: the inline path carries the frames,
		 * mcpd's sockets none, and a PING comes back from the kernel. */
		struct mcp_counter before[MCP_INLINE__COUNT], after[MCP_INLINE__COUNT];
		struct h_frame *fr = malloc(sizeof(*fr));
		char out[4096];
		int fd;

		assert_non_null(fr);
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, before), 0);
		bench("2", "8", "64", "5000", "1", NULL, NULL);
		fd = h_session(port, 1);
		assert_int_equal(h_send_frame(fd, 1, MCP_OP_PING, 0, "k", 1), 0);
		assert_int_equal(h_read_frame(fd, fr), 0);
		assert_int_equal(fr->f.opcode, MCP_OP_PONG);
		char *ctl_argv[] = { "mcpctl", "-s", (char *)ctl_path(), "sessions", NULL };

		assert_int_equal(h_run(out, sizeof(out), ctl_argv), 0);
		assert_non_null(strstr(out, " inline\n"));
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, after), 0);
		/* 2 x 5000 requests and as many responses, in runs of up to 8 frames. */
		assert_true(after[MCP_INLINE_REDIRECT].bytes - before[MCP_INLINE_REDIRECT].bytes >=
			    2 * 2 * 5000 * (8 + 64));
		assert_true(after[MCP_INLINE_PONG].count > before[MCP_INLINE_PONG].count);
		assert_int_equal(after[MCP_INLINE_FALL_CONTROL].count,
				 before[MCP_INLINE_FALL_CONTROL].count);
		free(fr);
		close(fd);
		return;
	}
	if (strcmp(datapath, "bpf")) {
		/* The user path leaves the kernel alone: nothing is pinned under its pin root. */
		static struct mcp_kstats k;

		bench("2", "8", "64", "2000", "1", NULL, NULL);
		assert_int_not_equal(mcp_kstats_read(h_pin_root(), &k), 0);
		return;
	}
	redirected = dp_stat(MCP_DP_REDIRECT);
	pongs = dp_stat(MCP_DP_PONG);
	bench("2", "8", "64", "5000", "1", NULL, NULL);
	assert_true(dp_stat(MCP_DP_REDIRECT) > redirected);
	/* A PING alone in its skb is answered in the kernel. */
	int fd = h_session(port, 1);
	struct h_frame *fr = malloc(sizeof(*fr));
	assert_int_equal(h_send_frame(fd, 1, MCP_OP_PING, 0, "k", 1), 0);
	assert_int_equal(h_read_frame(fd, fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_PONG);
	assert_true(dp_stat(MCP_DP_PONG) > pongs);
	free(fr);
	close(fd);
}

static void test_restart_after_kill(void **state)
{
	int fd = h_session(port, 1);

	(void)state;
	/* kill -9: its sessions end; a new mcpd starts over whatever was left pinned. */
	h_kill(mcpd, SIGKILL);
	h_wait(mcpd, 5000);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
	mcpd = start_mcpd(config_path, "mcpd.log");
	assert_int_equal(h_wait_port(port, 5000), 0);
	fd = h_session(port, 2);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 50), 0);
	close(fd);
	bench("2", "8", "0-500", "5000", "1", "--ping-every", "4");
}

static void test_hot_upgrade_under_load(void **state)
{
	char target[32], log[256];
	char *bench_argv[] = { "mcpbench", "-t", target, "-c", "8", "-d", "16", "-s", "0-2000",
			       "-D", "14", "-v", "2", "--ping-every", "7", "--ops", "GET,SET", NULL };
	char *argv[] = { "mcpd", "-f", "-c", (char *)config_path, "--datapath", (char *)datapath,
			 "--takeover", NULL };
	/* UDP too: a backend's answer in flight comes back to a relay socket that went over. */
	char *udp_argv[] = { "mcpbench", "-t", target, "-c", "2", "-d", "8", "-s", "0-500", "-D",
			     "14", "-v", "2", "--udp", "--ops", "SET", NULL };
	pid_t bench, udp;

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	bench = h_spawn("upgrade-bench.log", bench_argv);
	udp = h_spawn("upgrade-udp.log", udp_argv);
	sleep(1);
	/* Ten upgrades in a row under load: each new mcpd takes every session from the last. */
	for (int i = 0; i < 10; i++) {
		pid_t next = h_spawn("mcpd.log", argv);

		assert_int_equal(h_wait(mcpd, 5000), 0); /* the old one leaves by itself */
		mcpd = next;
		usleep(400000);
	}
	assert_int_equal(h_wait(bench, 30000), 0);
	snprintf(log, sizeof(log), "%s/upgrade-bench.log", h_tmpdir());
	assert_true(h_file_contains(log, "lost 0  reordered 0  corrupt 0"));
	assert_false(h_file_contains(log, "errors"));
	assert_int_equal(h_wait(udp, 30000), 0);
	snprintf(log, sizeof(log), "%s/upgrade-udp.log", h_tmpdir());
	assert_true(h_file_contains(log, "lost 0  reordered 0  corrupt 0"));
	/* The last one serves new sessions too. */
	int fd = h_session(port, 2);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 64), 0);
	close(fd);
}

static void test_sigterm_ends_sessions(void **state)
{
	int fd = h_session(port, 1);

	(void)state;
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_SHUTTING_DOWN), 0);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	mcpd = 0;
	close(fd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_negotiate_each_version),
		H_TEST(test_versions_side_by_side),
		H_TEST(test_no_common_version),
		H_TEST(test_tiny_max_frame_takes_no_backend_down),
		H_TEST(test_hello_twice),
		H_TEST(test_data_before_hello),
		H_TEST(test_garbage_instead_of_hello),
		H_TEST(test_routing_by_opcode),
		H_TEST(test_no_route_keeps_session),
		H_TEST(test_no_route_mid_pipeline),
		H_TEST(test_outside_the_cgroup_goes_remote),
		H_TEST(test_ping_pong_and_close),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup_mcpd_idle_3s, teardown_mcpd),
		cmocka_unit_test_setup_teardown(test_busy_pipeline_is_not_idle, setup_mcpd_short_idle,
						teardown_mcpd),
		H_TEST(test_integrity_random_sizes),
		H_TEST(test_one_byte_per_write),
		H_TEST(test_pings_mixed_in),
		H_TEST(test_two_pools_one_session),
		H_TEST(test_bad_input_isolated),
		H_TEST(test_backend_refused_then_next),
		H_TEST(test_backend_none_reachable),
		H_TEST(test_backend_dies_mid_session),
		H_TEST(test_backend_slow),
		H_TEST(test_1000_sessions),
		H_TEST(test_udp_in_userspace),
		H_TEST(test_udp_relays_are_bounded),
		H_TEST(test_udp_session_written_by_mcpd),
		H_TEST(test_udp_verify),
		H_TEST(test_mcpbench_udp_and_open_loop),
		H_TEST(test_bad_config_refused),
		H_TEST(test_fast_path_carries_data),
		H_TEST(test_restart_after_kill),
		H_TEST(test_hot_upgrade_under_load),
		H_TEST(test_sigterm_ends_sessions),
	};
	char name[32];
	int rc = h_datapath_start(argc, argv, "e2e_router", &datapath, name, sizeof(name));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
