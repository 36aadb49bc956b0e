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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "harness.h"

static const char *datapath;
static int port;
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

/* The backends serve the run; each test has its own mcpd and pin root (setup_mcpd). */
static int setup(void **state)
{
	(void)state;
	good = h_backend_start(HB_ECHO, 0);
	garbage = h_backend_start(HB_GARBAGE, 0);
	stalled = h_backend_start(HB_STALL, 0);
	return 0;
}

static int setup_mcpd(void **state)
{
	char cfg[1024];

	(void)state;
	h_test_begin();
	port = h_free_port();
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\npin_root = %s\nidle_timeout_ms = 5000\n"
		 "heartbeat_ms = 1000\npartial_timeout_ms = 1500\nstall_timeout_ms = 2000\n"
		 "[pool good]\nbackend = 127.0.0.1:%d\n[pool garbage]\nbackend = 127.0.0.1:%d\n"
		 "[pool stalled]\nbackend = 127.0.0.1:%d\n"
		 "[routes]\nGET-DEL = good\n0x50 = garbage\n0x51 = stalled\n",
		 port, h_pin_root(), h_backend_port(good), h_backend_port(garbage),
		 h_backend_port(stalled));
	mcpd = start_mcpd("faults.ini", cfg);
	return h_wait_port(port, 5000);
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

static void test_stalled_backend_is_bounded(void **state)
{
	static uint8_t frame[MCP_HDR_V1_LEN + 16000];
	int fd = h_session(port, 1), other = h_session(port, 1);
	long before = rss_kib(mcpd), after, avail0 = meminfo_kib("MemAvailable"), avail1;
	size_t pushed = 0;
	double end = now_s() + 1.5; /* less than stall_timeout_ms: the session is still there */
	struct mcp_frame f = { .version = 1, .opcode = 0x51, .length = 16000 };

	(void)state;
	mcp_frame_encode_header(frame, &f);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Push as hard as we can at a backend that reads nothing. */
	while (now_s() < end) {
		ssize_t n = send(fd, frame, sizeof(frame), MSG_NOSIGNAL);

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
	print_message("pushed %zu MiB at a stalled backend; mcpd RSS %ld -> %ld KiB; "
		      "machine MemAvailable fell %ld MiB\n",
		      pushed >> 20, before, after, (avail0 - avail1) >> 10);
	/* Backpressure: mcpd holds at most a few MiB per destination, then stops reading. */
	assert_true(after - before < 32 * 1024);
	/* ... and the kernel's queues stay bounded too (the fast path hands over to mcpd). */
	assert_true(pushed < (size_t)256 << 20); /* the sender was held back */
	assert_true(avail0 - avail1 < 256 * 1024);
	assert_int_equal(h_roundtrip(other, 1, MCP_OP_GET, 8), 0);
	/* The session whose backend stopped reading was ended (stall_timeout_ms 2000). */
	fcntl(fd, F_SETFL, 0);
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_BACKEND_UNAVAILABLE), 0);
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
	h_kill(small, SIGTERM);
	assert_int_equal(h_wait(small, 5000), 0);
	free(fr);
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
	char *bench_argv[] = { "mcpbench", "-t", target, "-c", count, "-D", "25", "--idle", NULL };
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
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\nidle_timeout_ms = 60000\n"
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
	assert_int_equal(h_wait(bench, 120000), 0); /* no session closed, none failed */
	h_kill(big, SIGTERM);
	assert_int_equal(h_wait(big, 30000), 0);
	h_kill(echo, SIGTERM);
	h_wait(echo, 5000);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backend_answers_garbage, setup_mcpd, teardown_mcpd),
		cmocka_unit_test_setup_teardown(test_stalled_backend_is_bounded, setup_mcpd, teardown_mcpd),
		cmocka_unit_test_setup_teardown(test_slow_sender_is_closed, setup_mcpd, teardown_mcpd),
		cmocka_unit_test_setup_teardown(test_max_sessions, setup_mcpd, teardown_mcpd),
		cmocka_unit_test_setup_teardown(test_10000_sessions, setup_mcpd, teardown_mcpd),
	};
	char name[32];
	int rc = h_datapath_start(argc, argv, "e2e_faults", &datapath, name, sizeof(name));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
