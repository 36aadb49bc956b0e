// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP guard on a real interface: a client network namespace joined to the router by a
 * veth pair, mcpd attaching the guard to the router's end, real packets from the client.
 * PONGs come back from the kernel, invalid frames are dropped and counted, a blocked prefix
 * is dropped, the rate limit holds, valid frames reach a backend and the answer comes back,
 * an upgrade puts the new mcpd's guard in place with the blocklist, and the guard lives
 * beside xdp-filter as far as this kernel lets it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "harness.h"
#include "kstats.h"

static char ns[32], rif[16], cif[16], router_ip[32] = "10.77.0.1", client_ip[32] = "10.77.0.2";
static int port, backend_port;
static pid_t mcpd, echo;
static const char *cfg_path;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A socket in the client's namespace. */
static int ns_socket(int type)
{
	char path[64];
	int self = open("/proc/self/ns/net", O_RDONLY), other, fd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	other = open(path, O_RDONLY);
	if (self < 0 || other < 0 || setns(other, CLONE_NEWNET))
		abort();
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET))
		abort();
	close(self);
	close(other);
	return fd;
}

static struct sockaddr_in router_addr(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, router_ip, &a.sin_addr);
	return a;
}

/* Send one datagram from the client; return the answer's length, or -1 if none came (see
 * h_udp_exchange: a wait for an answer only a hang runs out, a shorter one for silence). */
static int exchange(int fd, const void *p, size_t n, uint8_t *answer)
{
	struct sockaddr_in a = router_addr();

	return h_udp_exchange(fd, &a, p, n, answer, 65536 + 16, true);
}

static int no_answer(int fd, const void *p, size_t n, uint8_t *answer)
{
	struct sockaddr_in a = router_addr();

	return h_udp_exchange(fd, &a, p, n, answer, 65536 + 16, false) == -1;
}

static size_t frame(uint8_t *buf, uint8_t version, uint8_t op, const char *payload)
{
	return (size_t)mcp_frame_build(buf, 1024, version, op, 9, 0, payload, strlen(payload));
}

static uint64_t xdp_count(int reason)
{
	static struct mcp_kstats k;

	assert_int_equal(mcp_kstats_read(h_pin_root(), &k), 0);
	assert_true(k.have_xdp);
	return k.xdp[reason].count;
}

static const char *mcpd_datapath = "user"; /* a test's own, or the user path */

static pid_t start_mcpd(void)
{
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg_path, "--datapath", (char *)mcpd_datapath,
			 NULL };

	return h_spawn("mcpd-xdp.log", argv);
}

/* A run killed before its teardown leaves its namespace, and with it a veth in this one that
 * holds the router's address too: replies would leave by the wrong interface. Its namespace
 * goes (its veth pair with it) when the process that made it is gone. */
static void remove_stale_runs(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		int pid;
		char end;

		if (sscanf(de->d_name, "mcpx%d%c", &pid, &end) != 1 || pid <= 0 || pid == getpid() ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		print_message("removing %s, left by an e2e_xdp run that is gone\n", de->d_name);
		sh("ip netns del %s; ip link del mcpr%d 2>/dev/null", de->d_name, pid % 100000);
	}
	if (d)
		closedir(d);
}

/* The namespaces, the veth pair and the backend serve the run; each test has its own mcpd. */
static int setup(void **state)
{
	char addr[32];
	(void)state;

	remove_stale_runs();
	snprintf(ns, sizeof(ns), "mcpx%d", getpid());
	snprintf(rif, sizeof(rif), "mcpr%d", getpid() % 100000);
	snprintf(cif, sizeof(cif), "mcpc%d", getpid() % 100000);
	if (sh("ip netns add %s && ip link add %s type veth peer name %s && "
	       "ip link set %s netns %s && ip addr add %s/24 dev %s && ip link set %s up && "
	       "ip -n %s addr add %s/24 dev %s && ip -n %s link set %s up && ip -n %s link set lo up",
	       ns, rif, cif, cif, ns, router_ip, rif, rif, ns, client_ip, cif, ns, cif, ns))
		return -1;
	/* The client side: a veth only delivers what XDP_TX sends back when its peer runs XDP;
	 * and a real NIC would put a full UDP checksum on the wire, so no checksum offload. */
	if (sh("ip -n %s link set dev %s xdp obj %s/../tests/bpf/xdp_pass.bpf.o sec xdp", ns, cif,
	       h_bindir()) ||
	    sh("ip netns exec %s ethtool -K %s tx off >/dev/null", ns, cif))
		return -1;
	backend_port = h_free_port();
	port = h_free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", backend_port);
	char *eargv[] = { "mcp-echo", "--listen", addr, "-q", NULL };
	echo = h_spawn("echo-xdp.log", eargv);
	h_keep(echo);
	return 0;
}

static const char *extra_config = ""; /* a test's own lines in [mcpd] */

static int setup_mcpd(void **state)
{
	char cfg[1024];
	(void)state;

	h_test_begin();
	port = h_free_port();
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = %s:%d\ncontrol = %s/xdp.sock\npin_root = %s\n"
		 "xdp_interfaces = %s\nxdp_mode = native\n"
		 "rate_pps = 100\nrate_burst = 50\nnewsrc_pps = 1000\n%s"
		 "[pool kv]\nbackend = 127.0.0.1:%d\n[routes]\ndefault = kv\n",
		 router_ip, port, h_tmpdir(), h_pin_root(), rif, extra_config, backend_port);
	cfg_path = h_write_file("mcpd-xdp.ini", cfg);
	mcpd = start_mcpd();
	for (int i = 0; i < 100; i++) {
		char log[256];

		snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
		if (h_file_contains(log, "XDP guard attached")) {
			/* Measured: a packet within ~100 ms of the attach can reach the stack
			 * without meeting XDP on a veth; let the attach settle first. */
			sleep(1);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

static int setup_mcpd_verify(void **state)
{
	extra_config = "udp_verify = true\n";
	return setup_mcpd(state);
}

static int setup_mcpd_auto(void **state)
{
	mcpd_datapath = "auto";
	return setup_mcpd(state);
}

static int teardown_mcpd(void **state)
{
	(void)state;
	extra_config = "";
	mcpd_datapath = "user";
	h_test_end();
	mcpd = 0;
	/* Whatever a failed test left on the interfaces goes with it. */
	sh("xdp-filter unload %s >/dev/null 2>&1; ip link set dev %s xdp off 2>/dev/null", rif, rif);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_stop_all();
	sh("ip link del %s 2>/dev/null; ip netns del %s", rif, ns);
	return 0;
}

static void test_attached_mode_is_reported(void **state)
{
	char log[256], want[64];

	(void)state;
	snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
	snprintf(want, sizeof(want), "XDP guard attached to %s in native mode", rif);
	assert_true(h_file_contains(log, want));
	assert_int_equal(sh("ip link show %s | grep -q 'prog/xdp.*mcp_xdp_guard'", rif), 0);
}

/* A second mcpd with a guard of its own would share the first one's maps: refused. */
static void test_second_mcpd_refused(void **state)
{
	char cfg[512], log[256];
	const char *path;

	(void)state;
	snprintf(cfg, sizeof(cfg),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\npin_root = %s\nxdp_interfaces = lo\n"
		 "xdp_mode = skb\n",
		 h_free_port(), h_pin_root());
	path = h_write_file("second.ini", cfg);
	char *argv[] = { "mcpd", "-f", "-c", (char *)path, "--datapath", "user", NULL };
	assert_int_equal(h_wait(h_spawn("second.log", argv), 5000), 1);
	snprintf(log, sizeof(log), "%s/second.log", h_tmpdir());
	snprintf(cfg, sizeof(cfg), "%s is in use by another mcpd", h_pin_root());
	assert_true(h_file_contains(log, cfg));
	assert_int_not_equal(sh("ip link show lo | grep -q prog/xdp"), 0);
}

static void test_pong_from_the_kernel(void **state)
{
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM), n;
	uint64_t before = xdp_count(MCP_XDP_TX_PONG), pass = xdp_count(MCP_XDP_PASS_UDP);
	size_t len;

	(void)state;
	for (uint8_t v = 1; v <= 4; v++) {
		len = frame(buf, 1 + v % 2, MCP_OP_PING, "are you there");
		n = exchange(fd, buf, len, answer);
		assert_int_equal(n, (int)len);
		assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_PONG);
		assert_memory_equal(answer + mcp_hdr_len(1 + v % 2), "are you there", 13);
	}
	/* Answered by the guard: its counter moved, and no PING went up to mcpd. */
	if (xdp_count(MCP_XDP_TX_PONG) < before + 4 || xdp_count(MCP_XDP_PASS_UDP) != pass)
		fail_msg("tx_pong %llu -> %llu, pass_udp %llu -> %llu, other %llu",
			 (unsigned long long)before, (unsigned long long)xdp_count(MCP_XDP_TX_PONG),
			 (unsigned long long)pass, (unsigned long long)xdp_count(MCP_XDP_PASS_UDP),
			 (unsigned long long)xdp_count(MCP_XDP_PASS_OTHER));
	close(fd);
}

static void test_invalid_dropped_and_counted(void **state)
{
	static const struct {
		const char *what;
		int off, value, reason;
	} cases[] = {
		{ "bad magic", 1, 'X', MCP_XDP_DROP_BAD_MAGIC },
		{ "bad version", MCP_OFF_VERSION, 7, MCP_XDP_DROP_BAD_VERSION },
		{ "HELLO over UDP", MCP_OFF_OPCODE, MCP_OP_HELLO, MCP_XDP_DROP_BAD_OPCODE },
		{ "a response", MCP_OFF_OPCODE, 0x81, MCP_XDP_DROP_BAD_OPCODE },
		{ "length too long", MCP_OFF_LENGTH + 1, 200, MCP_XDP_DROP_BAD_LENGTH },
	};
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = frame(buf, 1, MCP_OP_GET, "payload");
		uint64_t before = xdp_count(cases[i].reason);

		buf[cases[i].off] = (uint8_t)cases[i].value;
		if (!no_answer(fd, buf, len, answer))
			fail_msg("%s: got an answer", cases[i].what);
		if (xdp_count(cases[i].reason) != before + 1)
			fail_msg("%s: counter %s did not move", cases[i].what,
				 mcp_xdp_reason_name(cases[i].reason));
	}
	close(fd);
}

/* The guard reports what it drops through the ring buffer; mcpd's detector names the source. */
static void test_bad_frames_reported_with_their_source(void **state)
{
	uint8_t buf[1024];
	int fd = ns_socket(SOCK_DGRAM);
	struct sockaddr_in a = router_addr();
	char log[256], want[96];
	size_t len = frame(buf, 1, MCP_OP_GET, "payload");

	/* A second mcpd beside it, without a guard of its own: it must not take the guard's
	 * reports (each record of the ring goes to one reader). */
	char cfg[512];
	snprintf(cfg, sizeof(cfg), "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\npin_root = %s\n",
		 h_free_port(), h_pin_root());
	char *bargv[] = { "mcpd", "-f", "-c", (char *)h_write_file("bystander.ini", cfg),
			  "--datapath", "user", NULL };
	pid_t bystander = h_spawn("bystander.log", bargv);

	(void)state;
	buf[0] = 'Z'; /* not MCP */
	/* The detector judges once it has its baselines (a few quiet seconds after start). */
	snprintf(log, sizeof(log), "%s/xdp.sock", h_tmpdir());
	for (int i = 0; i < 300 && h_counter(log, "anomaly_detector_ready", "") != 1; i++)
		usleep(100000);
	assert_int_equal(h_counter(log, "anomaly_detector_ready", ""), 1);
	for (int i = 0; i < 60; i++)
		sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a));
	snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
	snprintf(want, sizeof(want), "anomaly: bad_frames from %s/32", client_ip);
	for (int i = 0; i < 100 && !h_file_contains(log, want); i++)
		usleep(100000);
	h_kill(bystander, SIGTERM);
	assert_int_equal(h_wait(bystander, 5000), 0);
	assert_true(h_file_contains(log, want));
	close(fd);
}

static void test_valid_frames_reach_a_backend(void **state)
{
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM), n;
	uint64_t before = xdp_count(MCP_XDP_PASS_UDP);

	(void)state;
	for (uint8_t v = 1; v <= 2; v++) {
		size_t len = frame(buf, v, MCP_OP_SET, "key=value");

		n = exchange(fd, buf, len, answer);
		assert_int_equal(n, (int)len);
		assert_int_equal(answer[MCP_OFF_OPCODE], 0x82);
		assert_memory_equal(answer + mcp_hdr_len(v), "key=value", 9);
	}
	assert_int_equal(xdp_count(MCP_XDP_PASS_UDP), before + 2);
	close(fd);
}

/* A TCP session to the router from `fd` (already a socket): HELLO v1 and one round trip. */
static void tcp_session(int fd)
{
	struct sockaddr_in a = router_addr();
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(h_hello(fd, v, 1, &ack), 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 16), 0);
}

/* Under datapath auto, a client in another network namespace is remote even on this host:
 * its session takes the remote path (user), while a client in the router's own namespace,
 * talking to the same address, goes inline. */
static void test_auto_remote_client_takes_the_remote_path(void **state)
{
	char ctl[256], out[4096];
	char *argv[] = { "mcpctl", "-s", ctl, "sessions", NULL };
	int remote = ns_socket(SOCK_STREAM), local = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	tcp_session(remote);
	tcp_session(local);
	snprintf(ctl, sizeof(ctl), "%s/xdp.sock", h_tmpdir());
	assert_int_equal(h_run(out, sizeof(out), argv), 0);
	print_message("%s", out);
	assert_non_null(strstr(out, client_ip));
	assert_non_null(strstr(out, " mcpd\n"));
	assert_non_null(strstr(out, " inline\n"));
	close(remote);
	close(local);
}

static int block_fd(void)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), MCP_MAP_BLOCK_V4);
	fd = bpf_obj_get(path);

	assert_true(fd >= 0);
	return fd;
}

static void test_blocked_prefix(void **state)
{
	struct mcp_lpm_v4 key = { .prefixlen = 24 };
	struct mcp_block v = { 0 };
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM), mfd = block_fd(), tcp;
	uint64_t before = xdp_count(MCP_XDP_DROP_BLOCKED);
	struct sockaddr_in a = router_addr();
	struct pollfd pf;
	size_t len = frame(buf, 1, MCP_OP_PING, "x");
	struct timespec ts;

	(void)state;
	inet_pton(AF_INET, "10.77.0.0", key.addr);
	assert_int_equal(bpf_map_update_elem(mfd, &key, &v, BPF_ANY), 0);
	assert_true(no_answer(fd, buf, len, answer));
	/* TCP too: the SYN never arrives. */
	tcp = ns_socket(SOCK_STREAM);
	fcntl(tcp, F_SETFL, O_NONBLOCK);
	connect(tcp, (struct sockaddr *)&a, sizeof(a));
	pf = (struct pollfd){ .fd = tcp, .events = POLLOUT };
	assert_int_equal(poll(&pf, 1, H_SILENCE_MS), 0);
	close(tcp);
	assert_true(xdp_count(MCP_XDP_DROP_BLOCKED) >= before + 2);

	/* An entry with an expiry: blocked now, free later, and mcpd removes it. The expiry is
	 * far enough ahead that the check right after setting it happens before it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v.expires_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 3000000000ull;
	assert_int_equal(bpf_map_update_elem(mfd, &key, &v, BPF_ANY), 0);
	assert_true(no_answer(fd, buf, len, answer));
	sleep(3);
	assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	/* mcpd sweeps expired entries on its tick: give it until a hang would be the cause. */
	for (int i = 0; i < 100 && !bpf_map_lookup_elem(mfd, &key, &v); i++)
		usleep(50000);
	assert_int_not_equal(bpf_map_lookup_elem(mfd, &key, &v), 0); /* gone */
	close(mfd);
	close(fd);
}

static void test_rate_limit_holds(void **state)
{
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM), answered = 0;
	uint64_t before = xdp_count(MCP_XDP_DROP_RATE), t0, took_ms;
	struct sockaddr_in a = router_addr();
	size_t len = frame(buf, 1, MCP_OP_PING, "flood");

	(void)state;
	t0 = h_now_ms();
	for (int i = 0; i < 300; i++)
		sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a));
	took_ms = h_now_ms() - t0;
	/* The PONGs come from the kernel: once a quiet second has passed, all are here. */
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, H_SILENCE_MS) <= 0)
			break;
		recv(fd, answer, sizeof(answer), 0);
		answered++;
	}
	/* The bucket holds 50 and refills at 100/s while the flood is sent: at most that many
	 * answers, however long a busy machine took to send it. */
	print_message("300 PINGs in %llu ms, rate 100/s, burst 50: %d PONGs\n",
		      (unsigned long long)took_ms, answered);
	assert_true(answered >= 45);
	assert_true(answered <= 50 + 1 + (int)(took_ms * 100 / 1000) + 1);
	assert_true(xdp_count(MCP_XDP_DROP_RATE) + answered >= before + 300);
	close(fd);
}

/* udp_verify: the guard passes PINGs up (still rate limited), and mcpd's PONG carries the
 * source's cookie, which its requests must echo to be relayed. */
static void test_verify_passes_pings_up(void **state)
{
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM);
	uint64_t pongs = xdp_count(MCP_XDP_TX_PONG), passed = xdp_count(MCP_XDP_PASS_UDP);
	size_t len = frame(buf, 2, MCP_OP_PING, "cookie?");
	uint32_t cookie;

	(void)state;
	assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_PONG);
	cookie = mcp_be32_at(answer + MCP_OFF_SESSION);
	assert_int_not_equal(cookie, 0);
	assert_int_equal(xdp_count(MCP_XDP_TX_PONG), pongs); /* not answered in the kernel */
	assert_true(xdp_count(MCP_XDP_PASS_UDP) > passed);
	len = frame(buf, 2, MCP_OP_SET, "key=value");
	assert_true(no_answer(fd, buf, len, answer)); /* no cookie */
	mcp_put_be32(buf + MCP_OFF_SESSION, cookie);
	assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	assert_int_equal(answer[MCP_OFF_OPCODE], 0x82);
	close(fd);
}

/* mcpctl upgrade: the new mcpd puts its guard in the old one's place, maps and all. */
static void test_upgrade_keeps_the_guard(void **state)
{
	char sock[256], out[4096], log[256];
	char *block[] = { "mcpctl", "-s", sock, "block", "10.77.0.0/24", NULL };
	char *unblock[] = { "mcpctl", "-s", sock, "unblock", "10.77.0.0/24", NULL };
	char *upgrade[] = { "mcpctl", "-s", sock, "upgrade", NULL };
	char *status[] = { "mcpctl", "-s", sock, "status", NULL };
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM);
	size_t len = frame(buf, 1, MCP_OP_PING, "upgraded");
	uint64_t blocked, pongs;
	char *p;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/xdp.sock", h_tmpdir());
	snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
	assert_int_equal(h_run(out, sizeof(out), block), 0);
	assert_int_equal(h_run(out, sizeof(out), upgrade), 0);
	p = strstr(out, "mcpd pid ");
	assert_non_null(p);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	mcpd = (pid_t)atoi(p + strlen("mcpd pid "));
	assert_true(mcpd > 0);
	assert_true(h_file_contains(log, "took off the XDP guard an earlier mcpd attached"));
	assert_int_equal(sh("ip link show %s | grep -q 'prog/xdp.*mcp_xdp_guard'", rif), 0);
	assert_int_equal(h_run(out, sizeof(out), status), 0);
	assert_non_null(strstr(out, "native"));
	sleep(1); /* a new attach settles (see setup) */
	/* The blocklist came along into the new guard's maps: dropped in the kernel. */
	blocked = xdp_count(MCP_XDP_DROP_BLOCKED);
	assert_true(no_answer(fd, buf, len, answer));
	assert_true(xdp_count(MCP_XDP_DROP_BLOCKED) > blocked);
	assert_int_equal(h_run(out, sizeof(out), unblock), 0);
	pongs = xdp_count(MCP_XDP_TX_PONG);
	assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	assert_int_equal(answer[MCP_OFF_OPCODE], MCP_OP_PONG);
	assert_true(xdp_count(MCP_XDP_TX_PONG) > pongs);
	close(fd);
}

/* xdp-filter, the neighbour from xdp-tools, on the same interface. */
static void test_beside_xdp_filter(void **state)
{
	uint8_t buf[1024], answer[70000];
	int fd = ns_socket(SOCK_DGRAM), shared;
	size_t len = frame(buf, 1, MCP_OP_PING, "neighbour");
	char log[256];

	(void)state;
	shared = sh("xdp-filter load %s -m native >/dev/null 2>&1", rif) == 0;
	if (shared) {
		/* The dispatcher runs both: each still does its job, and one leaves alone. */
		assert_int_equal(exchange(fd, buf, len, answer), (int)len);
		assert_int_equal(sh("xdp-filter unload %s >/dev/null 2>&1", rif), 0);
		assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	} else {
		/* This kernel refuses freplace programs (libxdp's dispatcher), so an interface
		 * holds one XDP program: xdp-filter must be refused, and ours must stay. */
		print_message("libxdp's dispatcher is unavailable here: one program per interface\n");
		assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	}
	/* mcpd stopping takes the guard off and leaves the interface clean. */
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	assert_int_not_equal(sh("ip link show %s | grep -q mcp_xdp_guard", rif), 0);
	/* With xdp-filter on the interface first, mcpd must not push it aside silently. */
	assert_int_equal(sh("xdp-filter load %s -m native >/dev/null 2>&1", rif), 0);
	mcpd = start_mcpd();
	if (shared) {
		snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
		for (int i = 0; i < 50 && !h_file_contains(log, "XDP guard attached"); i++)
			usleep(100000);
		assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	} else {
		assert_int_equal(h_wait(mcpd, 5000), 1); /* refused, with a clear error */
		mcpd = 0;
		snprintf(log, sizeof(log), "%s/mcpd-xdp.log", h_tmpdir());
		char want[64];
		snprintf(want, sizeof(want), "cannot attach XDP to %s", rif);
		assert_true(h_file_contains(log, want));
	}
	/* Unloading xdp-filter leaves mcpd's guard (if it is there) working. */
	assert_int_equal(sh("xdp-filter unload %s >/dev/null 2>&1", rif), 0);
	if (mcpd > 0)
		assert_int_equal(exchange(fd, buf, len, answer), (int)len);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_attached_mode_is_reported),
		H_TEST(test_second_mcpd_refused),
		H_TEST(test_pong_from_the_kernel),
		H_TEST(test_invalid_dropped_and_counted),
		H_TEST(test_valid_frames_reach_a_backend),
		H_TEST(test_bad_frames_reported_with_their_source),
		H_TEST(test_blocked_prefix),
		H_TEST(test_rate_limit_holds),
		cmocka_unit_test_setup_teardown(test_verify_passes_pings_up, setup_mcpd_verify,
						teardown_mcpd),
		H_TEST(test_upgrade_keeps_the_guard),
		H_TEST(test_beside_xdp_filter),
		cmocka_unit_test_setup_teardown(test_auto_remote_client_takes_the_remote_path,
						setup_mcpd_auto, teardown_mcpd),
	};

	if (geteuid() != 0) {
		printf("SKIPPED: network namespaces and XDP need root\n");
		return 77;
	}
	if (system("command -v ethtool >/dev/null && command -v xdp-filter >/dev/null")) {
		printf("SKIPPED: ethtool and xdp-filter (xdp-tools) are needed; run make deps\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The mcpd an upgrade starts is ours to wait for once its parent exits. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	h_filter_from_env();
	return cmocka_run_group_tests_name("xdp_netns", tests, setup, teardown);
}
