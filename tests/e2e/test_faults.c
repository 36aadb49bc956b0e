// SPDX-License-Identifier: GPL-2.0-only
/*
 * Faults: backends that answer garbage or stop reading, clients that send part of a frame
 * and dawdle, connection floods past max_sessions, and 10 000 sessions at once (upgraded in
 * place, all of them, to a new mcpd). Each gets its
 * defined answer, memory stays bounded, and the other sessions carry on.
 *
 *   e2e_faults user|bpf
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "harness.h"
#include "mcp/maps.h"
#include "kstats.h"

static const char *datapath;
static int port, metrics_port;
static pid_t mcpd;
static struct h_backend *good, *garbage, *stalled;

static pid_t start_mcpd(const char *name, const char *cfg)
{
	char log[64];
	/* The max_sessions one runs on the user path beside the main one. */
	char *argv[] = { "mcpd", "-f", "-c", (char *)h_write_file(name, cfg), "--datapath",
			 strcmp(name, "small.ini") ? (char *)datapath : "user", NULL };

	snprintf(log, sizeof(log), "%s.log", name);
	return h_spawn(log, argv);
}

static void replace_mcpd_pools(const char *name, const char *extra, const char *pools);

/* The backends serve the run; each test has its own mcpd and pin root (setup_mcpd). */
static int setup(void **state)
{
	(void)state;
	good = h_backend_start(HB_ECHO, 0);
	garbage = h_backend_start(HB_GARBAGE, 0);
	stalled = h_backend_start(HB_STALL, 0);
	return good && garbage && stalled ? 0 : -1;
}

static int setup_mcpd(void **state)
{
	char cfg[1024];

	(void)state;
	h_test_begin();
	port = h_free_port();
	metrics_port = h_free_port();
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s/faults.sock\npin_root = %s\n"
		 "metrics = 127.0.0.1:%d\n"
		 "idle_timeout_ms = 5000\nhandshake_timeout_ms = 1500\nmax_unnegotiated = 20\n"
		 "heartbeat_ms = 1000\npartial_timeout_ms = 1500\nstall_timeout_ms = 2000\n"
		 "[pool good]\nbackend = 127.0.0.1:%d\n[pool garbage]\nbackend = 127.0.0.1:%d\n"
		 "[pool stalled]\nbackend = 127.0.0.1:%d\n"
		 "[routes]\nGET-DEL = good\n0x50 = garbage\n0x51 = stalled\n",
		 port, h_tmpdir(), h_pin_root(), metrics_port, h_backend_port(good),
		 h_backend_port(garbage), h_backend_port(stalled));
	mcpd = start_mcpd("faults.ini", cfg);
	return h_wait_port(port, 5000);
}

static const char *ctl_path(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/faults.sock", h_tmpdir());
	return path;
}

static int teardown_mcpd(void **state)
{
	(void)state;
	h_test_end(); /* whatever the test started, stopped whatever happened to it */
	mcpd = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_backend_stop(good);
	h_backend_stop(garbage);
	h_backend_stop(stalled);
	return 0;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static long meminfo_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), ": %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_backend_answers_garbage(void **state)
{
	int victim = h_session(port, 1), other = h_session(port, 2);

	(void)state;
	assert_int_equal(h_roundtrip(other, 2, MCP_OP_GET, 10), 0);
	assert_int_equal(h_send_frame(victim, 1, 0x50, 0, "hi", 2), 0);
	assert_int_equal(h_expect_error_close(victim, MCP_ERR_BACKEND_UNAVAILABLE), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_roundtrip(other, 2, MCP_OP_SET, 100), 0);
	close(victim);
	close(other);
}

/* The machine's TCP memory, in pages (the "mem" of /proc/net/sockstat's TCP line). */
static long tcp_mem_pages(void)
{
	char line[256];
	long mem = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	while (f && fgets(line, sizeof(line), f)) {
		const char *m = strstr(line, " mem ");

		if (!strncmp(line, "TCP:", 4) && m)
			mem = atol(m + 5);
	}
	if (f)
		fclose(f);
	return mem;
}

static void test_stalled_backend_is_bounded(void **state)
{
	static uint8_t frame[MCP_HDR_V1_LEN + 16000];
	int fd = h_session(port, 1), other = h_session(port, 1);
	long before = rss_kib(mcpd), after, avail0 = meminfo_kib("MemAvailable"), avail1;
	long tcp0 = tcp_mem_pages(), tcp1;
	size_t pushed = 0;
	double end = now_s() + 1.5; /* less than stall_timeout_ms: the session is still there */
	struct mcp_frame f = { .version = 1, .opcode = 0x51, .length = 16000 };

	(void)state;
	mcp_frame_encode_header(frame, &f);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Push as hard as we can at a backend that reads nothing (a partial send goes on from
	 * where it stopped: the stream stays whole frames). */
	while (now_s() < end) {
		size_t at = pushed % sizeof(frame);
		ssize_t n = send(fd, frame + at, sizeof(frame) - at, MSG_NOSIGNAL);

		if (n > 0)
			pushed += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break; /* the session was ended */
		else
			usleep(1000);
		if (pushed % (1 << 20) < sizeof(frame))
			assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	}
	after = rss_kib(mcpd);
	avail1 = meminfo_kib("MemAvailable");
	tcp1 = tcp_mem_pages();
	print_message("pushed %zu MiB at a stalled backend; mcpd RSS %ld -> %ld KiB; "
		      "machine MemAvailable fell %ld MiB; TCP memory %ld -> %ld pages\n",
		      pushed >> 20, before, after, (avail0 - avail1) >> 10, tcp0, tcp1);
	/* The kernel's TCP memory too (on the inline path, ingress redirects have no flow
	 * control of their own: the flight cap hands the session to mcpd). */
	assert_true(tcp0 >= 0 && tcp1 - tcp0 < (64L << 20) / 4096);
	/* Backpressure: mcpd holds at most a few MiB per destination, then stops reading. */
	assert_true(after - before < 32 * 1024);
	/* ... and the kernel's queues stay bounded too: the sender was held back (the inline
	 * path hands over to mcpd), or, on the kernel path, which cannot hold it back, the
	 * session was ended for what the kernel held (kernel_max_held), and what the client
	 * still sends is read and dropped while it lingers. */
	assert_true(pushed < (size_t)256 << 20 ||
		    h_counter(ctl_path(), "limit_hits_total", "limit=kernel_max_held") >= 1);
	assert_true(avail0 - avail1 < 256 * 1024);
	assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	/* The session whose backend stopped reading was ended (stall_timeout_ms 2000, or
	 * kernel_max_held). */
	fcntl(fd, F_SETFL, 0);
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_BACKEND_UNAVAILABLE), 0);
	close(fd);
	close(other);
}

/*
 * A client that keeps sending and never reads. On the user and inline paths what waits for it
 * stays bounded (on the inline path its answers go straight into its own socket, which has no
 * limit of its own: past inline_max_unread the session goes to mcpd, where TCP's backpressure
 * holds the client back), and once it reads, every answer is there, in order, none lost. The
 * kernel path cannot hold a client back (docs/kernel-notes.md, note 21): there the session is
 * ended (ERROR RATE_LIMITED) once mcpd sees, at a tick, that the kernel holds more than
 * kernel_max_held for it, or (where the kernel's egress queue stopped sending, which hides
 * what it holds) after stall_timeout_ms. Another session carries on meanwhile, on all three.
 */
static void test_client_never_reading_is_bounded(void **state)
{
	enum { LEN = 16000, FRAME = MCP_HDR_V1_LEN + LEN };
	static uint8_t out[FRAME], in[4 * FRAME];
	struct mcp_frame f = { .version = 1, .opcode = MCP_OP_SET, .length = LEN };
	const size_t most = (size_t)160 << 20;
	struct mcp_counter before[MCP_INLINE__COUNT], after[MCP_INLINE__COUNT];
	size_t pushed = 0, sent_at = 0, have = 0, answers = 0;
	uint64_t seq = 0, blocked_since = 0, until, last_progress;
	long tcp0, tcp_max = 0;
	bool inl = !strcmp(datapath, "auto"), kernel = !strcmp(datapath, "bpf"), ended = false;
	int fd, other, ep = h_free_port();
	pid_t echo;
	char echo_addr[32], pools[256], extra[256];
	char *echo_argv[] = { "mcp-echo", "--listen", echo_addr, "-q", NULL };

	(void)state;
	/* Its SETs go to an mcp-echo of their own (whose memory the test watches), the other
	 * session's GETs to the good backend. */
	snprintf(echo_addr, sizeof(echo_addr), "127.0.0.1:%d", ep);
	echo = h_spawn("unread-echo.log", echo_argv);
	assert_int_equal(h_wait_port(ep, H_ANSWER_MS), 0);
	snprintf(pools, sizeof(pools),
		 "[pool good]\nbackend = 127.0.0.1:%d\n[pool echo]\nbackend = %s\n"
		 "[routes]\nGET = good\nSET = echo\n", h_backend_port(good), echo_addr);
	/* The flight cap out of the way: only the unread bound holds an inline client back. */
	snprintf(extra, sizeof(extra), "stall_timeout_ms = %d\nidle_timeout_ms = 600000\n"
		 "inline_max_unread = 262144\ninline_max_flight = 1000000\n"
		 "kernel_max_held = 8388608\n", kernel ? 2000 : 600000);
	replace_mcpd_pools("unread.ini", extra, pools);
	if (inl)
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, before), 0);
	fd = h_session(port, 1);
	other = h_session(port, 1);
	assert_true(fd >= 0 && other >= 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	tcp0 = tcp_mem_pages();
	/* Push numbered frames until the router holds the client back for a second (or, without
	 * a bound, until 160 MiB went out). */
	until = h_now_ms() + 60000;
	while (pushed < most && h_now_ms() < until) {
		ssize_t n;

		if (!sent_at) {
			f.payload = NULL;
			mcp_frame_encode_header(out, &f);
			memset(out + MCP_HDR_V1_LEN, (int)(seq & 0xff), LEN);
			memcpy(out + MCP_HDR_V1_LEN, &seq, sizeof(seq));
		}
		n = send(fd, out + sent_at, FRAME - sent_at, MSG_NOSIGNAL);
		if (n > 0) {
			pushed += (size_t)n;
			sent_at += (size_t)n;
			if (sent_at == FRAME) {
				sent_at = 0;
				seq++;
			}
			blocked_since = 0;
		} else if (n < 0 && errno != EAGAIN) {
			ended = true; /* the session was ended */
			break;
		} else {
			if (!blocked_since)
				blocked_since = h_now_ms();
			else if (h_now_ms() - blocked_since > 1000)
				break;
			usleep(1000);
		}
		if (tcp_mem_pages() > tcp_max)
			tcp_max = tcp_mem_pages();
		if (seq % 512 == 0 && !sent_at)
			assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	}
	print_message("pushed %zu MiB (%llu frames) without reading; TCP memory %ld -> at most %ld "
		      "pages; mcpd RSS %ld KiB, mcp-echo %ld KiB\n", pushed >> 20,
		      (unsigned long long)seq, tcp0, tcp_max, rss_kib(mcpd), rss_kib(echo));
	if (kernel) { /* ended, with no other session touched */
		long long held = 0, stalled = 0;

		until = h_now_ms() + H_ANSWER_MS;
		while (held + stalled < 1 && h_now_ms() < until) {
			usleep(50000);
			held = h_counter(ctl_path(), "limit_hits_total", "limit=kernel_max_held");
			stalled = h_counter(ctl_path(), "limit_hits_total", "limit=stall_timeout");
		}
		print_message("ended by kernel_max_held %lld, by stall_timeout %lld\n", held, stalled);
		assert_int_equal(held + stalled, 1);
		assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
		close(fd);
		close(other);
		return;
	}
	assert_false(ended);
	/* What waits is within a few socket buffers and mcpd's and mcp-echo's own limits, not
	 * what was pushed. */
	assert_true(tcp0 >= 0 && tcp_max - tcp0 < (64L << 20) / 4096);
	assert_true(pushed < most); /* the client was held back */
	assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	/* Now read: every answer, in order, whole (the last frame's rest goes out meanwhile). */
	last_progress = h_now_ms();
	while (answers < seq + (sent_at ? 1 : 0)) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent_at ? POLLOUT : 0) };
		ssize_t n;

		assert_true(h_now_ms() - last_progress < H_ANSWER_MS);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (sent_at && (p.revents & POLLOUT)) {
			n = send(fd, out + sent_at, FRAME - sent_at, MSG_NOSIGNAL);
			if (n > 0 && (sent_at += (size_t)n) == FRAME)
				sent_at = 0, seq++;
		}
		n = recv(fd, in + have, sizeof(in) - have, 0);
		if (n <= 0) {
			assert_true(n < 0 && errno == EAGAIN);
			continue;
		}
		have += (size_t)n;
		last_progress = h_now_ms();
		while (have >= FRAME) {
			uint64_t got;

			assert_int_equal(in[MCP_OFF_OPCODE], mcp_answer_opcode(MCP_OP_SET));
			memcpy(&got, in + MCP_HDR_V1_LEN, sizeof(got));
			assert_int_equal(got, answers);
			assert_int_equal(in[FRAME - 1], (uint8_t)(answers & 0xff));
			answers++;
			memmove(in, in + FRAME, have - FRAME);
			have -= FRAME;
		}
	}
	assert_int_equal(have, 0);
	print_message("read back %zu answers, in order\n", answers);
	if (inl) { /* the inline path handed it to mcpd for leaving its answers unread */
		assert_int_equal(mcp_kstats_sum(h_pin_root(), MCP_MAP_INLINE_STATS,
						MCP_INLINE__COUNT, after), 0);
		assert_true(after[MCP_INLINE_FALL_UNREAD].count > before[MCP_INLINE_FALL_UNREAD].count);
	}
	fcntl(fd, F_SETFL, 0);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 8), 0);
	assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	close(fd);
	close(other);
}

/* mcp-echo itself, with a client that sends and never reads: it stops reading that client
 * once 1 MiB of answers wait (TCP then holds the client back), instead of holding every answer
 * in its memory; another connection to it is answered meanwhile. */
/* mcp-echo on the IPv6 wildcard answers IPv4 and IPv6 clients alike (mcpd's own listeners are
 * IPv6-only: a [::] there is for IPv6, and 0.0.0.0 is listed apart). */
static void test_echo_on_any_address_takes_both_families(void **state)
{
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	const uint32_t v1[] = { 1 };
	struct mcp_hello_ack ack;
	int ep = h_free_port(), v4, v6;
	char addr[32];
	char *argv[] = { "mcp-echo", "--listen", addr, "-q", NULL };

	(void)state;
	snprintf(addr, sizeof(addr), "[::]:%d", ep);
	h_spawn("echo-any.log", argv); /* stopped with the test's other processes */
	assert_int_equal(h_wait_port(ep, H_ANSWER_MS), 0); /* 127.0.0.1 */
	v4 = h_session(ep, 1);
	assert_true(v4 >= 0);
	assert_int_equal(h_roundtrip(v4, 1, MCP_OP_GET, 64), 0);
	six.sin6_port = htons((uint16_t)ep);
	v6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(v6 >= 0);
	assert_int_equal(connect(v6, (struct sockaddr *)&six, sizeof(six)), 0);
	assert_int_equal(h_hello(v6, v1, 1, &ack), 1);
	assert_int_equal(h_roundtrip(v6, 1, MCP_OP_GET, 64), 0);
	close(v4);
	close(v6);
}

/* mcp-echo's fault modes, seen by a client talking to it directly (the tests above see them
 * through mcpd). */
static void test_echo_fault_modes(void **state)
{
	struct h_backend *dies = h_backend_start(HB_DIE_AFTER, 2);
	static uint8_t chunk[16384];
	char got[64] = { 0 };
	uint64_t sets = h_backend_count(stalled, MCP_OP_SET), until = h_now_ms() + H_ANSWER_MS;
	size_t pushed = 0;
	int fd;

	(void)state;
	/* --garbage: the HELLO is answered, a request gets bytes that are no frame. */
	fd = h_session(h_backend_port(garbage), 1);
	assert_true(fd >= 0);
	assert_int_equal(h_send_frame(fd, 1, MCP_OP_GET, 0, "k", 1), 0);
	for (size_t n = 0; n < 20;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, H_ANSWER_MS), 1);
		r = recv(fd, got + n, 20 - n, 0);
		assert_true(r > 0);
		n += (size_t)r;
	}
	assert_string_equal(got, "this is no MCP frame");
	close(fd);
	/* --die-after 2: two answers, then the connection closes at the third request. */
	assert_non_null(dies);
	fd = h_session(h_backend_port(dies), 2);
	assert_true(fd >= 0);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 8), 0);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_SET, 8), 0);
	assert_int_equal(h_send_frame(fd, 2, MCP_OP_GET, 3, "last", 4), 0);
	assert_int_equal(h_expect_eof(fd), 0);
	close(fd);
	h_backend_stop(dies);
	/* --stall: after the HELLO_ACK nothing more is read; a client's sends fill the socket
	 * buffers and stop, and none of its SETs is counted. */
	fd = h_session(h_backend_port(stalled), 1);
	assert_true(fd >= 0);
	for (size_t i = 0; i + MCP_HDR_V1_LEN + 1000 <= sizeof(chunk);)
		i += (size_t)mcp_frame_build(chunk + i, sizeof(chunk) - i, 1, MCP_OP_SET, 0, 0,
					     chunk, 1000);
	for (;;) {
		ssize_t r = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && errno == EAGAIN)
			break;
		assert_true(r > 0);
		pushed += (size_t)r;
		assert_true(h_now_ms() < until); /* a backend that reads would take it all */
	}
	print_message("a stalled mcp-echo took %zu KiB before the sender blocked\n", pushed >> 10);
	assert_int_equal(h_backend_count(stalled, MCP_OP_SET), sets);
	close(fd);
}

/* mcp-echo out of descriptors closes what it cannot take (never spinning on a full backlog)
 * and serves again once some are free. */
static void test_echo_out_of_descriptors(void **state)
{
	enum { N = 6 };
	int ep = h_free_port(), fds[N], served = 0, closed = 0;
	char cmd[2 * PATH_MAX + 128], log[PATH_MAX], stats[PATH_MAX], val[32];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	const uint32_t v1[] = { 1 };
	struct mcp_hello_ack ack;

	(void)state;
	/* stdin, stdout, stderr, the reserve, TCP, UDP, stats and epoll: room for two
	 * connections. */
	snprintf(stats, sizeof(stats), "%s/echo-nofile.sock", h_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "ulimit -n 10 && exec %s/mcp-echo --listen 127.0.0.1:%d --stats %s", h_bindir(),
		 ep, stats);
	h_spawn("echo-nofile.log", sh);
	assert_int_equal(h_wait_port(ep, H_ANSWER_MS), 0); /* that probe is closed again */
	for (int i = 0; i < N; i++) {
		fds[i] = h_connect(ep);
		assert_true(fds[i] >= 0);
		if (h_hello(fds[i], v1, 1, &ack) == 1)
			served++;
		else if (h_expect_eof(fds[i]) == 0)
			closed++;
	}
	print_message("mcp-echo under 10 descriptors: %d sessions served, %d connections closed\n",
		      served, closed);
	assert_int_equal(served + closed, N);
	assert_true(served >= 1 && closed >= 1);
	snprintf(log, sizeof(log), "%s/echo-nofile.log", h_tmpdir());
	assert_true(h_wait_contains(log, "closing new connections"));
	/* No descriptor free, and its report still comes (through the reserve). */
	assert_int_equal(h_echo_report(stats, "sessions", val, sizeof(val)), 1);
	assert_int_equal(atoi(val), served);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	/* Descriptors free again: a new session is served. */
	fds[0] = h_session(ep, 1);
	for (uint64_t until = h_now_ms() + H_ANSWER_MS; fds[0] < 0 && h_now_ms() < until;)
		fds[0] = h_session(ep, 1); /* its closes may still be on their way */
	assert_true(fds[0] >= 0);
	assert_int_equal(h_roundtrip(fds[0], 1, MCP_OP_GET, 16), 0);
	close(fds[0]);
}

/* What mcp-echo's --stats socket reports, and the flags it refuses. */
static void test_echo_reports_what_it_received(void **state)
{
	struct h_backend *b = h_backend_start(HB_ECHO, 0);
	struct mcp_hello hello = { .versions = { 2 }, .n_versions = 1 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t buf[256], answer[256];
	char id[MCP_CLIENT_ID_MAX + 1], log[PATH_MAX];
	char *bad_count[] = { "mcp-echo", "--listen", "127.0.0.1:1", "--die-after", "x", NULL };
	char *taken[] = { "mcp-echo", "--listen", "127.0.0.1:1", "--stats", NULL, NULL };
	struct h_frame *fr = malloc(sizeof(*fr));
	ssize_t n;
	int fd, udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)state;
	assert_non_null(b);
	assert_int_equal(h_backend_sessions(b), 0);
	h_backend_last_client_id(b, id, sizeof(id));
	assert_string_equal(id, "");
	fd = h_connect(h_backend_port(b));
	snprintf(hello.client_id, sizeof(hello.client_id), "reporter-1");
	n = mcp_build_hello(buf, sizeof(buf), &hello);
	assert_int_equal(h_send(fd, buf, (size_t)n), 0);
	assert_int_equal(h_read_frame(fd, fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_HELLO_ACK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 16), 0);
	assert_int_equal(h_roundtrip(fd, 2, 0x12, 16), 0);
	to.sin_port = htons((uint16_t)h_backend_port(b));
	n = mcp_frame_build(buf, sizeof(buf), 2, MCP_OP_SET, 1, 0x5e55, "k", 1);
	assert_int_equal(h_udp_exchange(udp, &to, buf, (size_t)n, answer, sizeof(answer), true), n);
	assert_int_equal(h_backend_sessions(b), 1);
	assert_int_equal(h_backend_count(b, MCP_OP_HELLO), 1);
	assert_int_equal(h_backend_count(b, MCP_OP_GET), 5);
	assert_int_equal(h_backend_count(b, 0x12), 1);
	assert_int_equal(h_backend_count(b, MCP_OP_SET), 0); /* the SET came over UDP */
	assert_int_equal(h_backend_last_udp_session(b), 0x5e55);
	h_backend_last_client_id(b, id, sizeof(id));
	assert_string_equal(id, "reporter-1");
	close(fd);
	close(udp);
	/* A count that is not one, and a stats socket another mcp-echo answers on. */
	assert_int_equal(h_wait(h_spawn("echo-bad.log", bad_count), H_ANSWER_MS), 2);
	snprintf(log, sizeof(log), "%s/echo-bad.log", h_tmpdir());
	assert_true(h_file_contains(log, "--die-after: 'x' is not a count"));
	snprintf(log, sizeof(log), "%s/echo-%d.sock", h_tmpdir(), h_backend_port(b));
	taken[4] = log;
	assert_int_equal(h_wait(h_spawn("echo-taken.log", taken), H_ANSWER_MS), 1);
	assert_int_equal(h_backend_sessions(b), 1); /* the first one's socket still answers */
	snprintf(log, sizeof(log), "%s/echo-taken.log", h_tmpdir());
	assert_true(h_file_contains(log, "another process answers there"));
	free(fr);
	h_backend_stop(b);
}

static void test_echo_passes_backpressure_on(void **state)
{
	static uint8_t frame[MCP_HDR_V1_LEN + 16000];
	struct mcp_frame f = { .version = 1, .opcode = MCP_OP_SET, .length = 16000 };
	int ep = h_free_port(), fd, other;
	char addr[32];
	char *argv[] = { "mcp-echo", "--listen", addr, "-q", NULL };
	size_t pushed = 0, at = 0;
	uint64_t blocked_since = 0, until = h_now_ms() + 60000;
	long rss0;
	pid_t echo;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ep);
	echo = h_spawn("echo-backpressure.log", argv);
	assert_int_equal(h_wait_port(ep, H_ANSWER_MS), 0);
	fd = h_session(ep, 1);
	other = h_session(ep, 1);
	assert_true(fd >= 0 && other >= 0);
	rss0 = rss_kib(echo);
	mcp_frame_encode_header(frame, &f);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (pushed < (size_t)256 << 20 && h_now_ms() < until) {
		ssize_t n = send(fd, frame + at, sizeof(frame) - at, MSG_NOSIGNAL);

		if (n > 0) {
			pushed += (size_t)n;
			at = (at + (size_t)n) % sizeof(frame);
			blocked_since = 0;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		if (!blocked_since)
			blocked_since = h_now_ms();
		else if (h_now_ms() - blocked_since > 1000)
			break; /* held back */
		usleep(1000);
	}
	print_message("pushed %zu MiB at mcp-echo without reading; its RSS %ld -> %ld KiB\n",
		      pushed >> 20, rss0, rss_kib(echo));
	assert_true(pushed < (size_t)64 << 20);
	assert_true(rss_kib(echo) - rss0 < 16 * 1024);
	assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	close(fd);
	close(other);
}

static void test_slow_sender_is_closed(void **state)
{
	uint8_t hdr[MCP_HDR_V1_LEN];
	struct mcp_frame f = { .version = 1, .opcode = MCP_OP_SET, .length = 1000 };
	int fd = h_session(port, 1);
	double start = now_s(), took;
	int got_error = 0;

	(void)state;
	mcp_frame_encode_header(hdr, &f);
	assert_int_equal(h_send(fd, hdr, sizeof(hdr)), 0);
	assert_int_equal(h_send(fd, "0123456789", 10), 0);
	/* One byte every 300 ms: never idle, never done. */
	for (int i = 0; i < 100 && !got_error; i++) {
		struct h_frame *fr = malloc(sizeof(*fr));
		struct timeval tv = { .tv_usec = 300000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (h_read_frame(fd, fr) == 0 && fr->f.opcode == MCP_OP_ERROR) {
			struct mcp_error e;

			assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
			assert_int_equal(e.code, MCP_ERR_PROTOCOL_VIOLATION);
			got_error = 1;
		} else {
			send(fd, "x", 1, MSG_NOSIGNAL);
		}
		free(fr);
	}
	took = now_s() - start;
	print_message("a slow sender was closed after %.1f s (partial_timeout_ms 1500)\n", took);
	assert_true(got_error);
	/* PROTOCOL_VIOLATION, not IDLE_TIMEOUT: the partial frame's timer ended it (how long that
	 * took is printed, never judged). */
	close(fd);
}

static void test_max_sessions(void **state)
{
	char cfg[512], ctl[256];
	int p = h_free_port(), fds[6];
	pid_t small;
	struct h_frame *fr = malloc(sizeof(*fr));
	struct mcp_error e;

	(void)state;
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s/small.sock\nmax_sessions = 5\n"
		 "[pool good]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = good\n",
		 p, h_tmpdir(), h_backend_port(good));
	snprintf(ctl, sizeof(ctl), "%s/small.sock", h_tmpdir());
	small = start_mcpd("small.ini", cfg);
	assert_int_equal(h_wait_port(p, 5000), 0);
	assert_int_equal(h_wait_sessions(ctl, 0), 0); /* the probe connection above is gone */
	for (int i = 0; i < 5; i++) {
		fds[i] = h_session(p, 1);
		assert_true(fds[i] >= 0);
	}
	/* The sixth is told why, and closed. */
	fds[5] = h_connect(p);
	assert_int_equal(h_read_frame(fds[5], fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_ERROR);
	assert_int_equal(mcp_parse_error(fr->f.payload, fr->f.length, &e), 0);
	assert_non_null(strstr(e.message, "max_sessions"));
	assert_int_equal(e.code, MCP_ERR_RATE_LIMITED);
	assert_int_equal(h_expect_eof(fds[5]), 0);
	close(fds[5]);
	/* The five carry on, and a place freed is a place taken. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(h_roundtrip(fds[i], 1, MCP_OP_GET, 4), 0);
	close(fds[0]);
	assert_int_equal(h_wait_sessions(ctl, 4), 0);
	fds[0] = h_session(p, 2);
	assert_true(fds[0] >= 0);
	assert_int_equal(h_roundtrip(fds[0], 2, MCP_OP_GET, 4), 0);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	assert_int_equal(h_wait_sessions(ctl, 0), 0);
	/* Three sessions and two connections that never finish their HELLO fill it (at most
	 * half of max_sessions may wait for HELLO): a real client still gets in, the oldest
	 * without a HELLO making room. */
	for (int i = 0; i < 3; i++)
		assert_true((fds[i] = h_session(p, 1)) >= 0);
	for (int i = 3; i < 5; i++) {
		fds[i] = h_connect(p);
		assert_int_equal(h_send(fds[i], "M", 1), 0);
	}
	assert_int_equal(h_wait_sessions(ctl, 5), 0);
	fds[5] = h_session(p, 1);
	assert_true(fds[5] >= 0);
	assert_int_equal(h_roundtrip(fds[5], 1, MCP_OP_GET, 4), 0);
	assert_int_equal(h_expect_error_close(fds[3], MCP_ERR_RATE_LIMITED), 0);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	h_kill(small, SIGTERM);
	assert_int_equal(h_wait(small, 5000), 0);
	free(fr);
}

/*
 * Connections that dribble a HELLO one byte at a time: each is closed within
 * handshake_timeout_ms (1500 here) however it dribbles, at most max_unnegotiated (20) of them
 * are held at once (the oldest go), and a real client gets in throughout.
 */
static void test_slow_hellos_are_closed(void **state)
{
	enum { N = 60 };
	struct mcp_hello h = { .versions = { 1 }, .n_versions = 1 };
	uint8_t hello[256];
	int fds[N], sent[N], open_n = N, served = 0;
	size_t len;
	uint64_t deadline = h_now_ms() + 60000;

	(void)state;
	strcpy(h.client_id, "dribbler");
	len = (size_t)mcp_build_hello(hello, sizeof(hello), &h);
	for (int i = 0; i < N; i++) {
		fds[i] = h_connect(port);
		assert_true(fds[i] >= 0);
		sent[i] = 0;
	}
	for (int step = 0; open_n && h_now_ms() < deadline; step++) {
		for (int i = 0; i < N; i++) {
			uint8_t b[512];
			ssize_t got;

			if (fds[i] < 0)
				continue;
			got = recv(fds[i], b, sizeof(b), MSG_DONTWAIT); /* an ERROR, then the end */
			if (got == 0 || (got < 0 && errno != EAGAIN)) {
				close(fds[i]); /* closed by the router: done */
				fds[i] = -1;
				open_n--;
				continue;
			}
			/* One more byte, never the last: this HELLO is never complete. */
			if (sent[i] + 1 < (int)len && send(fds[i], hello + sent[i], 1, MSG_NOSIGNAL) == 1)
				sent[i]++;
		}
		if (step % 3 == 1) { /* a real client, amid the dribblers */
			int fd = h_session(port, 1);

			assert_true(fd >= 0);
			assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 32), 0);
			close(fd);
			served++;
		}
		usleep(200000);
	}
	print_message("%d dribbling connections closed, %d real sessions served meanwhile\n",
		      N - open_n, served);
	assert_int_equal(open_n, 0);
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=max_unnegotiated") >= N - 20);
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=handshake_timeout") >= 1);
}

/* The test's mcpd makes way for one with the same control socket and pin root, `extra` lines
 * of its own in [mcpd], and `pools` (pools and routes). */
static void replace_mcpd_pools(const char *name, const char *extra, const char *pools)
{
	char cfg[1024];

	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, H_ANSWER_MS), 0);
	port = h_free_port();
	snprintf(cfg, sizeof(cfg), "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\n%s%s",
		 port, ctl_path(), h_pin_root(), extra, pools);
	mcpd = start_mcpd(name, cfg);
	assert_int_equal(h_wait_port(port, H_ANSWER_MS), 0);
}

/* ... with a single pool, the good backend. */
static void replace_mcpd(const char *name, const char *extra)
{
	char pools[128];

	snprintf(pools, sizeof(pools), "[pool good]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = good\n",
		 h_backend_port(good));
	replace_mcpd_pools(name, extra, pools);
}

static int count_lines(const char *path, const char *needle)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* A test with no mcpd of the suite's: its own directory and pin root only. */
static int setup_own_mcpd(void **state)
{
	(void)state;
	h_test_begin();
	return 0;
}

/*
 * Started under a descriptor limit too low for it, mcpd exits 1 and its log says why, at
 * whichever step the limit stops it (each step opens descriptors of its own kind: the upgrade
 * helper's socket pair, epoll, signals, the pin root, the programs, listeners, the control
 * socket); once it has started with no descriptor to spare, a control request is told so
 * (never a hang, never a spin); under the first limit that is enough, it serves. (`auto` may
 * start without its inline path, saying so: the remote path does not need it.)
 */
static void test_too_few_descriptors_to_start(void **state)
{
	char cfg[PATH_MAX * 3], cmd[PATH_MAX * 2], ctl[PATH_MAX], log[64], logpath[PATH_MAX];
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	char *status[] = { "mcpctl", "-s", ctl, "status", NULL };
	static char out[8192];
	int p = h_free_port(), refused = 0, up_but_full = 0, n, fd = -1;
	bool started = false;
	pid_t pid = 0;

	(void)state;
	snprintf(ctl, sizeof(ctl), "%s/fds.sock", h_tmpdir());
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\n"
		 "[pool good]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = good\n",
		 p, ctl, h_pin_root(), h_backend_port(good));
	for (n = 4; n <= 256 && !started; n++) {
		uint64_t until = h_now_ms() + 3 * H_ANSWER_MS;

		snprintf(cmd, sizeof(cmd), "ulimit -n %d && exec %s/mcpd -f -c %s --datapath %s", n,
			 h_bindir(), h_write_file("fds.ini", cfg), datapath);
		snprintf(log, sizeof(log), "mcpd-nofile-%d.log", n);
		snprintf(logpath, sizeof(logpath), "%s/%s", h_tmpdir(), log);
		pid = h_spawn(log, sh);
		for (;;) {
			int st;

			if (waitpid(pid, &st, WNOHANG) == pid) {
				/* Too few for the dynamic loader: below any program, not mcpd's. */
				if (WIFEXITED(st) && WEXITSTATUS(st) == 127 &&
				    h_file_contains(logpath, "error while loading shared libraries"))
					break;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 ||
				    !h_file_contains(logpath, "Too many open files"))
					fail_msg("under %d descriptors mcpd ended with status %d and no "
						 "reason (see %s)", n, st, logpath);
				refused++;
				break;
			}
			/* Up: serving if a session gets through; else it has nothing to spare,
			 * and the control request or the session was told so. */
			bool answered = h_run(out, sizeof(out), status) == 0;

			if (answered && (fd = h_session(p, 1)) >= 0) {
				started = true;
				break;
			}
			if (strstr(out, "out of file descriptors") ||
			    (answered && h_file_contains(logpath, "Too many open files"))) {
				up_but_full++;
				h_kill(pid, SIGTERM);
				assert_int_equal(h_wait(pid, H_ANSWER_MS), 0);
				break;
			}
			assert_true(h_now_ms() < until); /* neither gone nor serving: a hang */
			usleep(20000);
		}
	}
	print_message("mcpd refused to start under %d limits, each with its reason; up with no "
		      "descriptor to spare under %d; serving under %d\n", refused, up_but_full, n - 1);
	assert_true(started);
	assert_true(refused >= 3); /* the limits below it were tried, and each said why */
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 32), 0);
	close(fd);
	h_kill(pid, SIGTERM);
	assert_int_equal(h_wait(pid, H_ANSWER_MS), 0);
}

/*
 * Out of file descriptors, mcpd neither spins nor floods its log: each connection it cannot
 * take is told why (ERROR RATE_LIMITED) and closed, counted, logged once a second at most;
 * the sessions it has carry on, and once descriptors are free it takes new ones again.
 */
static void test_out_of_descriptors(void **state)
{
	enum { N = 200 };
	static int fds[N];
	char cmd[128], log[256];
	int healthy = h_session(port, 1), refused = 0, lines, soft;
	struct h_frame *fr = malloc(sizeof(*fr));
	struct rlimit rl;

	(void)state;
	assert_true(healthy >= 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	soft = (int)(rl.rlim_max < 4096 ? rl.rlim_max : 4096);
	/* No room at all: a control request is still answered, through the descriptor kept in
	 * reserve, with the reason (and mcpd goes on: nothing spins on the waiting client). */
	snprintf(cmd, sizeof(cmd), "prlimit --pid %d --nofile=%d:", (int)mcpd,
		 h_lowest_free_fd(mcpd));
	assert_int_equal(system(cmd), 0);
	{
		char out[4096], *argv[] = { "mcpctl", "-s", (char *)ctl_path(), "status", NULL };

		assert_int_equal(h_run(out, sizeof(out), argv), 1);
		if (!strstr(out, "mcpd is out of file descriptors"))
			fail_msg("mcpctl status, out of descriptors: %s", out);
		/* A scrape too: 503 with the reason (mcpd accepts for libmicrohttpd). */
		assert_int_equal(h_http_get(metrics_port, "/metrics", out, sizeof(out)), 503);
		assert_string_equal(out, "mcpd is out of file descriptors\n");
	}
	assert_int_equal(h_roundtrip(healthy, 1, MCP_OP_GET, 64), 0);
	/* Room for nothing more than it holds (plus one: not even a whole session). */
	snprintf(cmd, sizeof(cmd), "prlimit --pid %d --nofile=%d:", (int)mcpd, h_count_fds(mcpd) + 1);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < N; i++)
		fds[i] = h_connect(port);
	for (int i = 0; i < N && refused >= i - 2; i++) { /* a hang ends the test at the first */
		struct mcp_error e;

		if (fds[i] < 0)
			continue;
		if (!h_read_frame(fds[i], fr) && fr->f.opcode == MCP_OP_ERROR &&
		    !mcp_parse_error(fr->f.payload, fr->f.length, &e) &&
		    (e.code == MCP_ERR_RATE_LIMITED || e.code == MCP_ERR_BACKEND_UNAVAILABLE))
			refused++;
	}
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	snprintf(log, sizeof(log), "%s/faults.ini.log", h_tmpdir());
	lines = count_lines(log, "accept:");
	print_message("%d of %d connections refused with an ERROR; %d log lines about accept\n",
		      refused, N, lines);
	assert_true(refused >= N - 2);
	assert_true(lines >= 1 && lines <= 30); /* once a second at most, not once a try */
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=file_descriptors") >= N - 2);
	{
		char out[4096], *argv[] = { "mcpctl", "-s", (char *)ctl_path(), "status", NULL };

		assert_int_equal(h_run(out, sizeof(out), argv), 0);
		assert_non_null(strstr(out, "limits hit")); assert_non_null(strstr(out, "file_descriptors"));
	}
	assert_int_equal(h_roundtrip(healthy, 1, MCP_OP_GET, 64), 0);
	/* Descriptors back (the soft limit up to the hard one again): new sessions again. */
	snprintf(cmd, sizeof(cmd), "prlimit --pid %d --nofile=%d:", (int)mcpd, soft);
	assert_int_equal(system(cmd), 0);
	int fd = h_session(port, 2);
	assert_true(fd >= 0);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 64), 0);
	close(fd);
	close(healthy);
	free(fr);
}

/* Entries in one of the fast path's pinned maps. */
static long map_entries(const char *name)
{
	char path[256];
	uint8_t key[64], next[64];
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	for (void *k = NULL; !bpf_map_get_next_key(fd, k, next); k = key, n++)
		memcpy(key, next, sizeof(key));
	close(fd);
	return n;
}

#define SHORT_THREADS 4

struct short_run {
	int first, step, n, failed;
};

/* Sessions first, first + step, ... of n, each ended its own way (no cmocka asserts off
 * the main thread: failures are counted). */
static void *short_sessions(void *arg)
{
	struct short_run *run = arg;

	for (int i = run->first; i < run->n; i += run->step) {
		/* Sources spread over 127.0.0.0/8: a 4-tuple is not reused while in TIME_WAIT. */
		char src[32];
		const uint32_t v[] = { 1 + (uint32_t)i % 2 };
		struct mcp_hello_ack ack;
		int fd, ok;

		snprintf(src, sizeof(src), "127.%d.%d.%d", 1 + (i >> 16) % 200, (i >> 8) & 255,
			 1 + i % 250);
		fd = h_connect_from(port, src);
		ok = fd >= 0 && h_hello(fd, v, 1, &ack) == (int)v[0];
		switch (ok ? i % 4 : -1) {
		case 0: /* the client just goes */
			break;
		case 1: /* a request, then CLOSE */
			ok = !h_roundtrip(fd, (int)v[0], MCP_OP_GET, 8) &&
			     !h_send_frame(fd, (uint8_t)v[0], MCP_OP_CLOSE, 0, NULL, 0);
			break;
		case 2: /* a bad opcode: ERROR, then the router closes */
			ok = !h_send_frame(fd, (uint8_t)v[0], 0x75, 0, "x", 1) &&
			     !h_expect_error_close(fd, MCP_ERR_UNKNOWN_OPCODE);
			break;
		case 3: /* a request in flight as the client goes */
			ok = !h_send_frame(fd, (uint8_t)v[0], MCP_OP_SET, 0, "k", 1);
		}
		if (fd >= 0)
			close(fd);
		run->failed += !ok;
	}
	return NULL;
}

/*
 * Many short sessions, ended every way a session ends (the client closes, CLOSE, a bad
 * opcode, an operator's kill is like these), leave nothing behind: on the bpf path every
 * entry of the fast path's maps goes with its socket (they used to stay, and after about
 * 131 000 sessions the maps were full); on both paths mcpd's descriptors come back.
 * SHORT_SESSIONS=N in the environment runs another number (by default 200 000 on the bpf path,
 * whose maps are the point, 20 000 on the user path). One pool, so one backend per session.
 */
static void test_short_sessions_leave_nothing(void **state)
{
	static const char *const maps[] = { MCP_MAP_SOCK_STATE, MCP_MAP_SOCK_FWD, MCP_MAP_SOCK_REDIR,
					    MCP_MAP_SOCK_FULL };
	long before[4], after[4];
	bool bpf = !strcmp(datapath, "bpf");
	int n = getenv("SHORT_SESSIONS") ? atoi(getenv("SHORT_SESSIONS")) : bpf ? 200000 : 20000;
	int fds0, fds1;
	uint64_t t0 = h_now_ms();

	(void)state;
	replace_mcpd("short.ini", "");
	assert_int_equal(h_wait_sessions(ctl_path(), 0), 0);
	fds0 = h_count_fds(mcpd);
	for (int m = 0; m < 4; m++)
		before[m] = bpf ? map_entries(maps[m]) : 0;
	{
		pthread_t t[SHORT_THREADS];
		struct short_run runs[SHORT_THREADS];
		int failed = 0;

		for (int k = 0; k < SHORT_THREADS; k++) {
			runs[k] = (struct short_run){ .first = k, .step = SHORT_THREADS, .n = n };
			assert_int_equal(pthread_create(&t[k], NULL, short_sessions, &runs[k]), 0);
		}
		for (int k = 0; k < SHORT_THREADS; k++) {
			pthread_join(t[k], NULL);
			failed += runs[k].failed;
		}
		if (failed)
			fail_msg("%d of %d short sessions did not go as they should", failed, n);
	}
	/* The last ends reach mcpd: wait until it has no session left. */
	assert_int_equal(h_wait_sessions(ctl_path(), 0), 0);
	for (int i = 0; i < 100 && h_count_fds(mcpd) > fds0; i++)
		usleep(100000);
	fds1 = h_count_fds(mcpd);
	for (int m = 0; m < 4; m++)
		after[m] = bpf ? map_entries(maps[m]) : 0;
	print_message("%d sessions in %llu ms; mcpd fds %d -> %d; map entries state %ld -> %ld, "
		      "fwd %ld -> %ld, redir %ld -> %ld, full %ld -> %ld\n",
		      n, (unsigned long long)(h_now_ms() - t0), fds0, fds1, before[0], after[0],
		      before[1], after[1], before[2], after[2], before[3], after[3]);
	assert_int_equal(fds1, fds0);
	for (int m = 0; m < 4; m++)
		assert_int_equal(after[m], before[m]);
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=bpf_map_full") == 0);
	if (bpf) { /* and mcpctl status says so */
		char out[4096], *argv[] = { "mcpctl", "-s", (char *)ctl_path(), "status", NULL };

		assert_int_equal(h_run(out, sizeof(out), argv), 0);
		assert_non_null(strstr(out, "fast path   0 sockets in the maps"));
	}
}

/*
 * 40 clients that send and never read: what mcpd holds for them all stays within
 * max_queued_bytes (8 MiB here; stall_timeout_ms is out of the way), the largest holders are
 * ended with ERROR RATE_LIMITED, a healthy session carries on, and the memory goes back to the
 * system afterwards. Without the budget each held about 4 MiB (170 MB for 40).
 */
static void test_queued_bytes_budget(void **state)
{
	enum { N = 40, FRAME = 16000 };
	static uint8_t frame[MCP_HDR_V1_LEN + FRAME];
	struct mcp_frame f = { .version = 1, .opcode = MCP_OP_SET, .length = FRAME };
	int fds[N], small = 16384, open_n = N, healthy;
	size_t at[N] = { 0 };
	long rss0, rss_max = 0, rss_after;
	uint64_t until;

	(void)state;
	/* The budget is about what mcpd holds: under auto, these local clients would be on the
	 * inline path, where mcpd holds nothing (what bounds a client that never reads there is
	 * in docs/operations.md); a cgroup with nobody in it keeps them on the remote path. */
	replace_mcpd("budget.ini", "max_queued_bytes = 8388608\nstall_timeout_ms = 600000\n"
				   "idle_timeout_ms = 600000\ninline_cgroup = /nonexistent\n");
	healthy = h_session(port, 1);
	assert_true(healthy >= 0);
	rss0 = rss_kib(mcpd);
	mcp_frame_encode_header(frame, &f);
	for (int i = 0; i < N; i++) {
		const uint32_t v[] = { 1 };
		struct mcp_hello_ack ack;

		fds[i] = h_connect(port);
		assert_true(fds[i] >= 0);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		assert_int_equal(h_hello(fds[i], v, 1, &ack), 1);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	/* Push for a few seconds (or until every pusher is ended). */
	until = h_now_ms() + 4000;
	while (open_n && h_now_ms() < until) {
		for (int i = 0; i < N; i++) {
			ssize_t n;

			if (fds[i] < 0)
				continue;
			/* From where the last send stopped: the stream stays whole frames. */
			n = send(fds[i], frame + at[i], sizeof(frame) - at[i], MSG_NOSIGNAL);
			if (n > 0)
				at[i] = (at[i] + (size_t)n) % sizeof(frame);
			if (n < 0 && errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
				open_n--;
			}
		}
		if (rss_kib(mcpd) > rss_max)
			rss_max = rss_kib(mcpd);
		assert_int_equal(h_roundtrip(healthy, 1, MCP_OP_GET, 64), 0);
	}
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	assert_int_equal(h_roundtrip(healthy, 1, MCP_OP_GET, 64), 0);
	assert_int_equal(h_wait_sessions(ctl_path(), 1), 0);
	sleep(2); /* a tick or more: the memory goes back after the peak */
	rss_after = rss_kib(mcpd);
	print_message("mcpd RSS %ld KiB, at most %ld during the push, %ld after; %lld sessions ended "
		      "by the budget\n", rss0, rss_max, rss_after,
		      h_counter(ctl_path(), "limit_hits_total", "limit=max_queued_bytes"));
	assert_true(h_counter(ctl_path(), "limit_hits_total", "limit=max_queued_bytes") >= 1);
	assert_true(rss_max - rss0 < 32 * 1024);
	assert_true(rss_after - rss0 < 16 * 1024);
	assert_int_equal(h_roundtrip(healthy, 1, MCP_OP_SET, 64), 0);
	close(healthy);
}

/*
 * As many sessions as this machine's fd limit allows: each holds two of mcpd's descriptors
 * (client and backend), and the hard limit here is 20 000 without CAP_SYS_RESOURCE, so
 * 9 900 sessions; where the limit allows, SESSIONS=10000 in the environment asks for more.
 */
static void test_10000_sessions(void **state)
{
	char cfg[512], target[32], echo_addr[32], ctl[128], out[4096];
	int p = h_free_port(), ep = h_free_port();
	char *echo_argv[] = { "mcp-echo", "--listen", echo_addr, "-q", NULL };
	char count[16];
	/* Held until the test says so (SIGTERM), however long a busy machine takes to set up. */
	char *bench_argv[] = { "mcpbench", "-t", target, "-c", count, "-D", "3600", "--idle", NULL };
	char *status_argv[] = { "mcpctl", "-s", ctl, "status", NULL };
	char *upgrade_argv[] = { "mcpctl", "-s", ctl, "upgrade", "--wait", "60", NULL };
	pid_t echo, big, bench;
	long rss0, rss1 = 0;
	int seen = 0;

	struct rlimit rl;
	int n;
	char want[32];

	(void)state;
	getrlimit(RLIMIT_NOFILE, &rl);
	n = getenv("SESSIONS") ? atoi(getenv("SESSIONS")) : 10000;
	if ((rlim_t)n * 2 + 100 > rl.rlim_max)
		n = (int)((rl.rlim_max - 100) / 2) / 100 * 100;
	snprintf(count, sizeof(count), "%d", n);
	snprintf(want, sizeof(want), "%d open", n);
	/* The test's mcpd steps aside: this one needs every descriptor there is. */
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	mcpd = 0;
	snprintf(echo_addr, sizeof(echo_addr), "127.0.0.1:%d", ep);
	snprintf(target, sizeof(target), "127.0.0.1:%d", p);
	snprintf(ctl, sizeof(ctl), "%s/big.sock", h_tmpdir());
	echo = h_spawn("echo-big.log", echo_argv);
	assert_int_equal(h_wait_port(ep, 5000), 0);
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\nidle_timeout_ms = 3600000\n"
		 "heartbeat_ms = 20000\n[pool kv]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = kv\n",
		 p, ctl, h_pin_root(), ep);
	big = start_mcpd("big.ini", cfg);
	assert_int_equal(h_wait_port(p, 5000), 0);
	sleep(1);
	rss0 = rss_kib(big);
	bench = h_spawn("bench-big.log", bench_argv);
	for (int i = 0; i < 100 && !seen; i++) {
		sleep(1);
		assert_int_equal(h_run(out, sizeof(out), status_argv), 0);
		seen = strstr(out, want) != NULL;
		rss1 = rss_kib(big);
	}
	print_message("%d sessions (fd hard limit %llu): mcpd RSS %ld -> %ld KiB, %.0f bytes per "
		      "session\n", n, (unsigned long long)rl.rlim_max, rss0, rss1,
		      (double)(rss1 - rss0) * 1024 / n);
	assert_true(seen);
	/* Every one of them goes over to a new mcpd in one upgrade, and none is closed. How long
	 * it takes is printed, never judged: a busy machine takes longer. */
	uint64_t t0 = h_now_ms();
	assert_int_equal(h_run(out, sizeof(out), upgrade_argv), 0);
	char *pid_at = strstr(out, "mcpd pid ");
	assert_non_null(pid_at);
	assert_int_equal(h_wait(big, 60000), 0);
	big = (pid_t)atoi(pid_at + strlen("mcpd pid "));
	print_message("mcpctl upgrade with %d sessions: %llu ms\n", n,
		      (unsigned long long)(h_now_ms() - t0));
	seen = 0;
	for (int i = 0; i < 60 && !seen; i++) {
		assert_int_equal(h_run(out, sizeof(out), status_argv), 0);
		seen = strstr(out, want) != NULL;
		if (!seen)
			sleep(1);
	}
	if (!seen)
		fail_msg("after the upgrade mcpctl status says:\n%s", out);
	h_kill(bench, SIGTERM);
	assert_int_equal(h_wait(bench, 120000), 0); /* no session closed, none failed */
	h_kill(big, SIGTERM);
	assert_int_equal(h_wait(big, 30000), 0);
	h_kill(echo, SIGTERM);
	h_wait(echo, 5000);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_backend_answers_garbage),
		H_TEST(test_stalled_backend_is_bounded),
		H_TEST(test_client_never_reading_is_bounded),
		H_TEST(test_echo_passes_backpressure_on),
		H_TEST(test_echo_on_any_address_takes_both_families),
		H_TEST(test_echo_fault_modes),
		H_TEST(test_echo_reports_what_it_received),
		H_TEST(test_echo_out_of_descriptors),
		H_TEST(test_slow_sender_is_closed),
		H_TEST(test_max_sessions),
		H_TEST(test_slow_hellos_are_closed),
		H_TEST(test_out_of_descriptors),
		cmocka_unit_test_setup_teardown(test_too_few_descriptors_to_start, setup_own_mcpd,
						teardown_mcpd),
		H_TEST(test_short_sessions_leave_nothing),
		H_TEST(test_queued_bytes_budget),
		H_TEST(test_10000_sessions),
	};
	char name[32];
	int rc = h_datapath_start(argc, argv, "e2e_faults", &datapath, name, sizeof(name));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
