// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inline path (bpf/mcp_inline.bpf.c) on real loopback sockets, without mcpd: the test
 * moves itself into a cgroup of its own, attaches the sockops program there, plays the client,
 * the router and the backend, and installs one session by hand as mcpd does (the state of the
 * client's and the backend's sockets, where each slot is, the flight cap). Then it checks what
 * the sk_msg verdict does inside each sendmsg: requests straight into the backend's socket,
 * responses straight back, PINGs answered in the kernel, payloads split across writes, and
 * every case that must go to mcpd instead (a control frame, a header cut by a write, too many
 * requests in flight), after which the whole session is mcpd's, the backend's side too.
 *
 *   client C ──inline──► BB (the backend's accepted socket)     C ──TCP──► A (mcpd's end)
 *   client C ◄──inline── BB                                     R ──TCP──► BB (mcpd to backend)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "frame.h"
#include "mcp/maps.h"
#include "mcp_inline.skel.h"
#include "pin_root.h"
#include "sock_check.h"
#include "tuple.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define SESSION	   7007

static struct mcp_inline *skel;
static char pin[64], cg[256], cg_root[200];
static int cg_fd = -1;
static struct bpf_link *sockops;
/* C: the client; A: mcpd's end of it; R: mcpd's end towards the backend; BB: the backend's. */
static int C = -1, A = -1, R = -1, BB = -1;
static struct mcp_tuple tc, tb;

static int listen_on(struct sockaddr_in *a)
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

static int mark_port(uint16_t port, uint8_t flag)
{
	uint32_t k = port;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_inline_ports), &k, &flag, BPF_ANY);
}

/* The sockops program takes an accepted socket before accept() returns, a connecting one
 * before connect() does; still, wait for it rather than assume. */
static int in_map(const struct mcp_tuple *t)
{
	uint64_t v;

	for (int i = 0; i < SOCK_WAIT_MS; i++) {
		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_inline_socks), t, &v))
			return 1;
		usleep(1000);
	}
	return 0;
}

static int put_state(const struct mcp_tuple *t, uint32_t slot, int peer, uint8_t version)
{
	struct mcp_sock_state st = { .key = { .session = SESSION, .slot = slot },
				     .cur_dest = MCP_DEST_NONE };
	struct mcp_sock_key k = st.key;

	mcp_framer_init(&st.fr, version, peer, MCP_MAX_FRAME_DEFAULT);
	MCP_SOCK_MODE(&st) = MCP_MODE_FAST;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_inline_state), t, &st, BPF_ANY) ||
	       bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_inline_peers), &k, t, BPF_ANY);
}

static int set_caps(int64_t cap, int64_t max_unread)
{
	struct mcp_inline_flight f = { .cap = cap, .max_unread = max_unread };
	uint32_t s = SESSION;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_inline_flight), &s, &f, BPF_ANY);
}

static int mine(int fd)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);
	uint8_t yes = 1;

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) ||
	       bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_inline_mine), &cookie, &yes, BPF_ANY);
}

/* A session as mcpd installs one, before it would send HELLO_ACK. */
static int setup_session(uint8_t version)
{
	struct sockaddr_in router, backend;
	int lr = listen_on(&router), lb = listen_on(&backend);
	uint32_t op = MCP_OP_GET, one = 1;

	if (lr < 0 || lb < 0 || mark_port(ntohs(router.sin_port), MCP_INLINE_LISTENER) ||
	    mark_port(ntohs(backend.sin_port), MCP_INLINE_BACKEND))
		return -1;
	C = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	R = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* mcpd names its own connections to backends before it connects them. */
	if (R < 0 || mine(R))
		return -1;
	if (C < 0 || connect(C, (struct sockaddr *)&router, sizeof(router)) ||
	    connect(R, (struct sockaddr *)&backend, sizeof(backend)))
		return -1;
	A = accept4(lr, NULL, NULL, SOCK_CLOEXEC);
	BB = accept4(lb, NULL, NULL, SOCK_CLOEXEC);
	close(lr);
	close(lb);
	if (A < 0 || BB < 0)
		return -1;
	sock_timeouts(C);
	sock_timeouts(A);
	sock_timeouts(R);
	sock_timeouts(BB);
	/* What mcpd knows: its two ends; the tuples of the sockets at their other ends. */
	if (mcp_tuple_of_peer(A, &tc) || mcp_tuple_of_peer(R, &tb) || !in_map(&tc) || !in_map(&tb))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.mcp_routes), &op, &one, BPF_ANY) ||
	       put_state(&tc, MCP_SLOT_CLIENT, MCP_PEER_CLIENT, version) ||
	       put_state(&tb, 1, MCP_PEER_BACKEND, version) || set_caps(64, 1 << 20);
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
	int *fds[] = { &C, &A, &R, &BB };
	uint32_t s = SESSION;

	(void)state;
	for (int i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_inline_state), &tc);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_inline_state), &tb);
	for (uint32_t slot = 0; slot < 2; slot++) {
		struct mcp_sock_key k = { .session = SESSION, .slot = slot };

		bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_inline_peers), &k);
	}
	bpf_map_delete_elem(bpf_map__fd(skel->maps.mcp_inline_flight), &s);
	return 0;
}

static struct mcp_sock_state state_of(const struct mcp_tuple *t)
{
	struct mcp_sock_state st;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_inline_state), t, &st), 0);
	return st;
}

static int64_t in_flight(void)
{
	struct mcp_inline_flight f;
	uint32_t s = SESSION;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_inline_flight), &s, &f), 0);
	return f.frames;
}

/* A request goes straight into the backend's socket, its response straight back; mcpd's two
 * ends see nothing; the flight count goes up and down again. */
static void test_request_and_response_inline(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n;

	(void)state;
	n = sock_frame(f, 1, MCP_OP_GET, 0, "key");
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(in_flight(), 1);
	n = sock_frame(f, 1, mcp_response_opcode(MCP_OP_GET), 0, "value");
	sock_send_all(BB, f, n);
	sock_recv_exact(C, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(in_flight(), 0);
	sock_silent(A);
	sock_silent(R);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FAST);
}

/* A v2 request gets the session id written into its header on the way. */
static void test_v2_request_carries_the_session(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n = sock_frame(f, 2, MCP_OP_GET, 99, "k2");

	(void)state;
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	assert_int_equal(mcp_be32_at(got + MCP_OFF_SESSION), SESSION);
	assert_int_equal(mcp_be32_at(got + MCP_OFF_STREAM_ID), 99);
	assert_memory_equal(got + MCP_HDR_V2_LEN, f + MCP_HDR_V2_LEN, n - MCP_HDR_V2_LEN);
}

/* A PING comes back as a PONG from the kernel; GETs around it in one write go on. */
static void test_ping_answered_in_the_kernel(void **state)
{
	uint8_t f[2048], got[2048];
	size_t a = sock_frame(f, 1, MCP_OP_GET, 0, "one");
	size_t p = sock_frame(f + a, 1, MCP_OP_PING, 0, "hb");
	size_t b = sock_frame(f + a + p, 1, MCP_OP_GET, 0, "two");

	(void)state;
	sock_send_all(C, f, a + p + b);
	sock_recv_exact(C, got, p);
	assert_int_equal(got[MCP_OFF_OPCODE], MCP_OP_PONG);
	assert_memory_equal(got + MCP_HDR_V1_LEN, "hb", 2);
	sock_recv_exact(BB, got, a + b);
	assert_memory_equal(got, f, a);
	assert_memory_equal(got + a, f + a + p, b);
	sock_silent(A);
}

/* A payload written in three parts: the first write's verdict carries the rest. */
static void test_payload_across_writes(void **state)
{
	char payload[1500];
	uint8_t f[2048], got[2048];
	size_t n;

	(void)state;
	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	n = sock_frame(f, 1, MCP_OP_GET, 0, payload);
	sock_send_all(C, f, 100);
	sock_send_all(C, f + 100, 700);
	sock_send_all(C, f + 800, n - 800);
	n += sock_frame(f + n, 1, MCP_OP_GET, 0, "after");
	sock_send_all(C, f + (n - (MCP_HDR_V1_LEN + 5)), MCP_HDR_V1_LEN + 5);
	sock_recv_exact(BB, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(A);
}

/* A control frame goes to mcpd, and so does everything after it, both ways. */
static void test_control_frame_hands_the_session_to_mcpd(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n;

	(void)state;
	n = sock_frame(f, 1, MCP_OP_CLOSE, 0, "");
	sock_send_all(C, f, n);
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FALLEN);
	assert_int_equal(state_of(&tb).fr.owner, MCP_MODE_FALLEN);
	n = sock_frame(f, 1, MCP_OP_GET, 0, "later");
	sock_send_all(C, f, n);
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	n = sock_frame(f, 1, mcp_response_opcode(MCP_OP_GET), 0, "late answer");
	sock_send_all(BB, f, n);
	sock_recv_exact(R, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(C);
}

/* The hand-over comes while the backend is in the middle of a response: the rest of that
 * response still reaches the client inline, and only the frames after it go to mcpd. */
static void test_hand_over_waits_for_the_frame_in_progress(void **state)
{
	char payload[101];
	uint8_t f[2048], got[2048], c[64], at_mcpd[64];
	size_t n, k;

	(void)state;
	memset(payload, 'r', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	n = sock_frame(f, 1, mcp_response_opcode(MCP_OP_GET), 0, payload);
	sock_send_all(BB, f, MCP_HDR_V1_LEN + 10); /* a response begun */
	sock_recv_exact(C, got, MCP_HDR_V1_LEN + 10);
	k = sock_frame(c, 1, MCP_OP_CLOSE, 0, ""); /* the client hands the session over */
	sock_send_all(C, c, k);
	sock_recv_exact(A, at_mcpd, k);
	assert_memory_equal(at_mcpd, c, k);
	assert_int_equal(state_of(&tb).fr.owner, MCP_MODE_FALLEN);
	/* The rest of the response, and a whole one after it, in one write. */
	k = sock_frame(f + n, 1, mcp_response_opcode(MCP_OP_SET), 0, "next");
	sock_send_all(BB, f + MCP_HDR_V1_LEN + 10, n - MCP_HDR_V1_LEN - 10 + k);
	sock_recv_exact(C, got + MCP_HDR_V1_LEN + 10, n - MCP_HDR_V1_LEN - 10);
	assert_memory_equal(got, f, n);
	sock_recv_exact(R, got, k);
	assert_memory_equal(got, f + n, k);
	sock_silent(C);
}

/* A header cut by the end of a write cannot be routed: mcpd gets it, in order. */
static void test_cut_header_goes_to_mcpd(void **state)
{
	uint8_t f[2048], got[2048];
	size_t a = sock_frame(f, 1, MCP_OP_GET, 0, "whole");
	size_t b = sock_frame(f + a, 1, MCP_OP_GET, 0, "cut");

	(void)state;
	sock_send_all(C, f, a + 3); /* the first frame inline, then 3 bytes of the next header */
	sock_recv_exact(BB, got, a);
	assert_memory_equal(got, f, a);
	sock_recv_exact(A, got, 3);
	sock_send_all(C, f + a + 3, b - 3);
	sock_recv_exact(A, got + 3, b - 3);
	assert_memory_equal(got, f + a, b);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FALLEN);
	sock_silent(BB);
}

/* Past the cap of requests in flight, the session goes to mcpd (whose backpressure holds). */
static void test_flight_cap(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n = sock_frame(f, 1, MCP_OP_GET, 0, "q");

	(void)state;
	assert_int_equal(set_caps(2, 1 << 20), 0);
	sock_send_all(C, f, n);
	sock_send_all(C, f, n);
	sock_recv_exact(BB, got, n);
	sock_recv_exact(BB, got, n);
	sock_send_all(C, f, n); /* a third without an answer: over the cap */
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FALLEN);
}

/* Answers the client leaves unread count against it: past max_unread its next write, and the
 * session, go to mcpd; what it had been given is still there, in order. */
static void test_unread_cap(void **state)
{
	uint8_t q[256], a[256], got[512];
	size_t nq = sock_frame(q, 1, MCP_OP_GET, 0, "q"), na;

	(void)state;
	na = sock_frame(a, 1, mcp_response_opcode(MCP_OP_GET), 0, "an answer of some length");
	assert_int_equal(set_caps(100, (int64_t)na), 0);
	sock_send_all(C, q, nq);
	sock_recv_exact(BB, got, nq);
	sock_send_all(BB, a, na);
	sock_send_all(C, q, nq); /* na unread: at the cap, not past it */
	sock_recv_exact(BB, got, nq);
	sock_send_all(BB, a, na);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FAST);
	sock_send_all(C, q, nq); /* 2 * na unread: past it */
	sock_recv_exact(A, got, nq);
	assert_memory_equal(got, q, nq);
	assert_int_equal(state_of(&tc).fr.owner, MCP_MODE_FALLEN);
	sock_silent(BB);
	sock_recv_exact(C, got, 2 * na);
	assert_memory_equal(got, a, na);
	assert_memory_equal(got + na, a, na);
}

/* A frame that breaks a rule goes to mcpd as it was sent (mcpd answers with the ERROR). */
static void test_bad_frame_goes_to_mcpd(void **state)
{
	uint8_t f[2048], got[2048];
	size_t n = sock_frame(f, 1, MCP_OP_GET, 0, "bad");

	(void)state;
	f[0] ^= 0xFF;
	sock_send_all(C, f, n);
	sock_recv_exact(A, got, n);
	assert_memory_equal(got, f, n);
	sock_silent(BB);
}

/* A connection to a backend that is not mcpd's own stays off the path, untouched. */
static void test_only_mcpds_own_connections_are_taken(void **state)
{
	struct sockaddr_in backend;
	int l = listen_on(&backend), x = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), y;
	struct mcp_tuple ty;
	uint64_t v;

	(void)state;
	assert_true(l >= 0 && x >= 0);
	assert_int_equal(mark_port(ntohs(backend.sin_port), MCP_INLINE_BACKEND), 0);
	assert_int_equal(connect(x, (struct sockaddr *)&backend, sizeof(backend)), 0);
	y = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(y >= 0);
	assert_int_equal(mcp_tuple_of_peer(x, &ty), 0); /* y as its process sees it */
	usleep(SOCK_SILENCE_MS * 1000);
	assert_int_not_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.mcp_inline_socks), &ty, &v),
			     0);
	/* ... while the backend's end of one of mcpd's connections is taken (setup_session). */
	assert_true(in_map(&tb));
	close(x);
	close(y);
	close(l);
}

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char path[300];
	struct err e;
	int fd;

	(void)state;
	if (mcp_cgroup2_root(cg_root, sizeof(cg_root))) {
		fprintf(stderr, "no cgroup v2 mount\n");
		return -1;
	}
	snprintf(cg, sizeof(cg), "%s/mcp-inline-test-%d", cg_root, getpid());
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	if ((mkdir(cg, 0755) && errno != EEXIST) || (fd = open(path, O_WRONLY)) < 0 ||
	    dprintf(fd, "%d\n", getpid()) < 0 || close(fd)) {
		fprintf(stderr, "cannot move into %s: %s\n", cg, strerror(errno));
		return -1;
	}
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/mcp-inline-test-%d", getpid());
	if (pin_root_prepare(pin, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	opts.pin_root_path = pin;
	skel = mcp_inline__open_opts(&opts);
	if (!skel || mcp_inline__load(skel))
		return -1;
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY);
	if (cg_fd >= 0)
		sockops = bpf_program__attach_cgroup(skel->progs.mcp_sockops, cg_fd);
	if (cg_fd < 0 || !sockops ||
	    bpf_prog_attach(bpf_program__fd(skel->progs.mcp_inline_verdict),
			    bpf_map__fd(skel->maps.mcp_inline_socks), BPF_SK_MSG_VERDICT, 0)) {
		fprintf(stderr, "cannot attach: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char path[300];
	int fd;

	(void)state;
	bpf_link__destroy(sockops);
	if (cg_fd >= 0)
		close(cg_fd);
	mcp_inline__destroy(skel);
	pin_root_remove(pin);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_root);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		dprintf(fd, "%d\n", getpid());
		close(fd);
	}
	rmdir(cg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_and_response_inline, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_v2_request_carries_the_session, setup_v2,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_ping_answered_in_the_kernel, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_payload_across_writes, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_control_frame_hands_the_session_to_mcpd,
						setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_cut_header_goes_to_mcpd, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_hand_over_waits_for_the_frame_in_progress,
						setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_flight_cap, setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_unread_cap, setup_v1, teardown_session),
		cmocka_unit_test_setup_teardown(test_bad_frame_goes_to_mcpd, setup_v1,
						teardown_session),
		cmocka_unit_test_setup_teardown(test_only_mcpds_own_connections_are_taken, setup_v1,
						teardown_session),
	};

	return cmocka_run_group_tests_name("inline", tests, setup, teardown);
}
