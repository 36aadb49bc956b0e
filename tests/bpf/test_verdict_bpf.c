// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sockmap verdict (bpf/mcp_sockmap.bpf.c) on real loopback sockets, without mcpd: the test
 * loads the program with a pin root of its own, builds one session by hand (a client socket
 * and a backend socket in the sockhash, with their state, as mcpd's install does) and checks
 * what the verdict does with each kind of skb: requests and responses redirected to the peer,
 * v2 requests stamped with the session, PINGs answered in the kernel, bad frames, unrouted
 * opcodes and split headers handed to the owner (mcpd), and the FAST/SLOW ordering protocol:
 * after a pass, nothing is redirected until the owner says it has forwarded what it got
 * (docs/architecture.md, "Never reordering a session"; docs/kernel-notes.md, note 4).
 *
 *   client C ──► A (the router's client socket, slot 0) ──verdict──► B (slot 1) ──► backend BB
 *   client C ◄── A ◄──verdict── B ◄── backend BB
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "frame.h"
#include "mcp/maps.h"
#include "mcp_sockmap.skel.h"
#include "pin_root.h"
#include "sock_check.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define SESSION	   4242

static struct mcp_sockmap *skel;
static char pin[64];
/* C: the client; A: the router's end of it; B: the router's end towards the backend; BB: the
 * backend's. A and B are in the sockhash. */
static int C = -1, A = -1, B = -1, BB = -1;
static uint64_t cookie_a, cookie_b;

static int listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)a, &len))
		return -1;
	return fd;
}

/* A connected pair: *out_client connects, the accepted end is returned. */
static int pair(int *out_client)
{
	struct sockaddr_in a;
	struct timeval tv = { .tv_sec = SOCK_WAIT_MS / 1000 };
	int l = listener(&a), c, s, one = 1;

	if (l < 0)
		return -1;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	for (int i = 0; i < 2; i++) {
		int fd = i ? s : c;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	*out_client = c;
	return s;
}

static uint64_t cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}

/* What mcpd's install does for one socket: its state, its counters, its place in the hash. */
static int install(int fd, uint64_t ck, uint32_t slot, uint8_t role, uint8_t version)
{
	struct mcp_sock_state st = {
		.key = { .session = SESSION, .slot = slot },
		.cur_dest = MCP_DEST_NONE,
	};
	uint64_t zero = 0, v = (uint64_t)fd;

	mcp_framer_init(&st.fr, version, role, MCP_MAX_FRAME_DEFAULT);
	MCP_SOCK_MODE(&st) = MCP_MODE_FAST;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_sock_state), &ck, &st, BPF_ANY) ||
	       bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_sock_fwd), &ck, &zero, BPF_ANY) ||
	       bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_sock_redir), &st.key, &zero,
				   BPF_ANY) ||
	       bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_socks), &st.key, &v, BPF_ANY);
}

static uint64_t dp_count(int reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mcp_counter vals[256];
	uint32_t k = (uint32_t)reason;
	uint64_t n = 0;

	assert_true(ncpu > 0 && ncpu <= 256);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_dp_stats), &k, vals), 0);
	for (int c = 0; c < ncpu; c++)
		n += vals[c].count;
	return n;
}

static struct mcp_sock_state state_of(uint64_t ck)
{
	struct mcp_sock_state st;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_sock_state), &ck, &st), 0);
	return st;
}

/* A session on version v: the sockets, their state, GET and SET routed to the backend. */
static int setup_session(uint8_t version)
{
	uint32_t one = 1;

	A = pair(&C);
	BB = pair(&B); /* B connects to the backend, which accepted BB */
	if (A < 0 || BB < 0)
		return -1;
	cookie_a = cookie(A);
	cookie_b = cookie(B);
	for (uint32_t op = MCP_OP_GET; op <= MCP_OP_SET; op++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_routes), &op, &one, BPF_ANY))
			return -1;
	return install(A, cookie_a, MCP_SLOT_CLIENT, MCP_PEER_CLIENT, version) ||
	       install(B, cookie_b, 1, MCP_PEER_BACKEND, version);
}

static int setup_v1(void **state)
{
	(void)state;
	return setup_session(MCP_VERSION_1);
}

static int setup_v2(void **state)
{
	(void)state;
	return setup_session(MCP_VERSION_2);
}

static int teardown_session(void **state)
{
	int *fds[] = { &C, &A, &B, &BB };

	(void)state;
	for (int i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_sock_state), &cookie_a);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_sock_state), &cookie_b);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_sock_fwd), &cookie_a);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_sock_fwd), &cookie_b);
	return 0;
}

static void test_request_and_response_redirected(void **state)
{
	uint8_t f[2048], got[2048];
	uint64_t redirected = dp_count(MCP_DP_REDIRECT);
	size_t n = sock_frame(f, 1, MCP_OP_GET, 0, "key");

	(void)state;
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n); /* at the backend, as sent */
	assert_memory_equal(got, f, n);
	n = sock_frame(f, 1, mcp_answer_opcode(MCP_OP_GET), 0, "value");
	sock_send_all(BB, f, n);
	sock_recv_exact(C, got, n); /* back at the client */
	assert_memory_equal(got, f, n);
	sock_silent(A); /* nothing went to mcpd */
	assert_true(dp_count(MCP_DP_REDIRECT) >= redirected + 2);
	assert_int_equal(state_of(cookie_a).frames, 1);
	assert_int_equal(state_of(cookie_b).frames, 1);
}

static void test_v2_request_carries_the_session(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n = sock_frame(f, 2, MCP_OP_SET, 77, "k=v");

	(void)state;
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	assert_int_equal(mcp_be32_at(got + MCP_OFF_SESSION), SESSION); /* the verdict wrote it */
	assert_int_equal(mcp_be32_at(got + MCP_OFF_STREAM_ID), 77);
	assert_memory_equal(got + MCP_HDR_V2_LEN, "k=v", 3);
}

static void test_ping_answered_in_the_kernel(void **state)
{
	uint8_t f[2048], got[2048];
	uint64_t pongs = dp_count(MCP_DP_PONG);
	size_t n = sock_frame(f, 1, MCP_OP_PING, 0, "are you there");

	(void)state;
	sock_send_all(C, f, n);
	sock_recv_exact(C, got, n);
	assert_int_equal(got[MCP_OFF_OPCODE], MCP_OP_PONG);
	assert_memory_equal(got + MCP_HDR_V1_LEN, "are you there", 13);
	sock_silent(BB);
	sock_silent(A);
	assert_int_equal(dp_count(MCP_DP_PONG), pongs + 1);
}

/* What the verdict cannot forward goes to mcpd as sent, with the reason counted. */
static void passed_to_mcpd(const uint8_t *f, size_t n, int reason)
{
	uint8_t got[1024];
	uint64_t before = dp_count(reason);

	sock_send_all(C, f, n);
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(BB);
	assert_int_equal(dp_count(reason), before + 1);
}

static void test_control_frame_goes_to_mcpd(void **state)
{
	uint8_t f[2048];
	size_t n = sock_frame(f, 1, MCP_OP_CLOSE, 0, "");

	(void)state;
	passed_to_mcpd(f, n, MCP_DP_PASS_CONTROL);
}

static void test_no_route(void **state)
{
	uint8_t f[2048];
	size_t n = sock_frame(f, 1, MCP_OP_DEL, 0, "k"); /* DEL has no route in this session */

	(void)state;
	passed_to_mcpd(f, n, MCP_DP_PASS_NO_ROUTE);
}

static void test_bad_magic(void **state)
{
	uint8_t f[2048];
	size_t n = sock_frame(f, 1, MCP_OP_GET, 0, "key");

	(void)state;
	f[1] = 'X';
	passed_to_mcpd(f, n, MCP_DP_PASS_INVALID);
}

/*
 * The ordering protocol: once the verdict passed bytes to mcpd, later frames are passed too
 * (they must not overtake the ones mcpd still holds) until mcpd publishes, in mcp_sock_fwd,
 * that it has forwarded all it was passed; then the verdict redirects again.
 */
static void test_slow_until_mcpd_caught_up(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n;
	struct mcp_sock_state st;

	(void)state;
	n = sock_frame(f, 1, MCP_OP_DEL, 0, "unrouted");
	passed_to_mcpd(f, n, MCP_DP_PASS_NO_ROUTE);
	st = state_of(cookie_a);
	assert_int_equal(MCP_SOCK_MODE(&st), MCP_MODE_SLOW);
	assert_int_equal(st.passed, n);
	/* A routable frame now is held back behind it. */
	n = sock_frame(f, 1, MCP_OP_GET, 0, "second");
	passed_to_mcpd(f, n, MCP_DP_PASS_CATCHUP);
	/* mcpd says it has forwarded everything it got: the next one goes straight through. */
	st = state_of(cookie_a);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_sock_fwd), &cookie_a,
					     &st.passed, BPF_ANY),
			 0);
	n = sock_frame(f, 1, MCP_OP_GET, 0, "third");
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(A);
	assert_int_equal(state_of(cookie_a).fr.owner, MCP_MODE_FAST);
}

/* A header split across writes: the verdict cannot know where its frame goes, so mcpd gets it;
 * the walk's state carries across skbs (the bytes of the header kept, the frame's rest known). */
static void test_split_header(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n = sock_frame(f, 1, MCP_OP_GET, 0, "split");
	uint64_t partial = dp_count(MCP_DP_PASS_PARTIAL);
	struct pollfd pf = { .fd = A, .events = POLLIN };

	(void)state;
	sock_send_all(C, f, 3);
	assert_int_equal(poll(&pf, 1, SOCK_WAIT_MS), 1); /* the verdict has run on it */
	assert_int_equal(state_of(cookie_a).fr.hdr_have, 3);
	sock_send_all(C, f + 3, n - 3);
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(BB);
	assert_true(dp_count(MCP_DP_PASS_PARTIAL) >= partial + 1);
	assert_int_equal(state_of(cookie_a).fr.hdr_have, 0);
	assert_int_equal(state_of(cookie_a).frames, 1);
}

/* Several frames in one write, all for the backend: one redirect for the whole skb. */
static void test_many_frames_one_redirect(void **state)
{
	uint8_t f[4096], got[4096];
	size_t n = 0;
	uint64_t redirected = dp_count(MCP_DP_REDIRECT);

	(void)state;
	for (int i = 0; i < 20; i++)
		n += sock_frame(f + n, 1, i % 2 ? MCP_OP_SET : MCP_OP_GET, 0, i % 3 ? "short" : "");
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(dp_count(MCP_DP_REDIRECT), redirected + 1);
	assert_int_equal(state_of(cookie_a).frames, 20);
}

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct err e;

	(void)state;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/mcp-verdict-test-%d", getpid());
	if (pin_root_prepare(pin, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	opts.pin_root_path = pin;
	skel = mcp_sockmap__open_opts(&opts);
	if (!skel || mcp_sockmap__load(skel))
		return -1;
	return bpf_prog_attach(bpf_program__fd(skel->progs.mcp_verdict),
			       bpf_map__fd(skel->maps.mcp_socks), BPF_SK_SKB_VERDICT, 0);
}

static int teardown(void **state)
{
	(void)state;
	mcp_sockmap__destroy(skel);
	pin_root_remove(pin);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_and_response_redirected, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_v2_request_carries_the_session, setup_v2,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_ping_answered_in_the_kernel, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_control_frame_goes_to_mcpd, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_no_route, setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_slow_until_mcpd_caught_up, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_split_header, setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_many_frames_one_redirect, setup_v1,
						teardown_session),
	};

	if (geteuid() != 0) {
		printf("SKIPPED: loading the sockmap verdict needs root\n");
		return 77;
	}
	libbpf_set_print(NULL);
	return cmocka_run_group_tests_name("verdict", tests, setup, teardown);
}
