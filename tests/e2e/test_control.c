// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket, mcpctl, /metrics and anomaly detection, end to end: every mcpctl
 * command against a running mcpd, the metrics page through promtool, and each anomaly driven
 * with real traffic.
 *
 *   e2e_control user|bpf
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <bpf/bpf.h>
#include "ctl_client.h"
#include "harness.h"
#include "mcp/maps.h"
#include "version.h"

static const char *datapath;
static int port, metrics_port;
static pid_t mcpd;
static struct h_backend *one, *two;
static char sock[128], cfg_text[2048];
static const char *cfg_path;

static void write_config(const char *extra_routes)
{
	snprintf(cfg_text, sizeof(cfg_text),
		 "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\npin_root = %s\nmetrics = 127.0.0.1:%d\n"
		 "idle_timeout_ms = 60000\nauto_block = true\nauto_block_ttl_s = 60\n"
		 "anomaly_bad_frames = 20\nanomaly_new_sessions = 100\n"
		 "[pool kv]\nbackend = 127.0.0.1:%d\nbackend = 127.0.0.1:%d\n"
		 "[routes]\nGET-DEL = kv\n%s",
		 port, sock, h_pin_root(), metrics_port, h_backend_port(one), h_backend_port(two), extra_routes);
	cfg_path = h_write_file("ctl.ini", cfg_text);
}

/* systemd's notify socket, played by the test: mcpd says READY=1 and, on upgrade, MAINPID=. */
static int notify_fd = -1;

static void notify_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", h_tmpdir());
	unlink(sa.sun_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
}

/* Has mcpd sent this exact notification (one of its lines) since the last call? */
static bool notified(const char *line, int timeout_ms)
{
	static char seen[8192];
	static size_t n;
	char buf[512];

	for (int waited = 0;; waited += 10) {
		ssize_t k;

		while ((k = recv(notify_fd, buf, sizeof(buf) - 1, 0)) > 0 && n + (size_t)k + 2 < sizeof(seen)) {
			buf[k] = '\0';
			n += (size_t)snprintf(seen + n, sizeof(seen) - n, "\n%s\n", buf);
		}
		for (char *p = seen; (p = strstr(p, line)); p++)
			if (p[-1] == '\n' && p[strlen(line)] == '\n') {
				n = 0;
				seen[0] = '\0';
				return true;
			}
		if (waited >= timeout_ms)
			return false;
		usleep(10000);
	}
}

/* The running config with another pool put before kv (which moves kv to position 2). */
static void write_config_pool_first(void)
{
	char moved[2400], *kv = strstr(cfg_text, "[pool kv]");

	snprintf(moved, sizeof(moved), "%.*s[pool first]\nbackend = 127.0.0.1:%d\n%s",
		 (int)(kv - cfg_text), cfg_text, h_backend_port(two), kv);
	h_write_file("ctl.ini", moved);
}

/* The notify socket and the backends serve the run; each test has its own mcpd. */
static int setup(void **state)
{
	(void)state;
	notify_open();
	one = h_backend_start(HB_ECHO, 0);
	two = h_backend_start(HB_ECHO, 0);
	return one && two ? 0 : -1;
}

static int setup_mcpd(void **state)
{
	char *argv[] = { "mcpd", "-f", "-c", NULL, "--datapath", (char *)datapath, NULL };

	(void)state;
	h_test_begin();
	port = h_free_port();
	metrics_port = h_free_port();
	snprintf(sock, sizeof(sock), "%s/mcpd.sock", h_tmpdir());
	hc_use(sock);
	write_config("");
	argv[3] = (char *)cfg_path;
	mcpd = h_spawn("mcpd-ctl.log", argv);
	if (h_wait_port(port, 5000) || !notified("READY=1", 5000))
		return -1;
	return 0;
}

static int teardown_mcpd(void **state)
{
	(void)state;
	h_test_end();
	mcpd = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_backend_stop(one);
	h_backend_stop(two);
	return 0;
}

/* mcpctl against this test's mcpd (ctl_client.c). */
#define ctl	 hc_run
#define ctl_json hc_json
#define jint	 hc_int
#define jstr	 hc_str
#define counter	 hc_counter

/* Anomalies of a kind (and from a source, if given) in mcpctl -j stats. */
static int anomalies(const char *kind, const char *source)
{
	json_object *o = ctl_json("stats"), *as;
	int n = 0;

	json_object_object_get_ex(o, "anomalies", &as);
	for (size_t i = 0; i < json_object_array_length(as); i++) {
		json_object *a = json_object_array_get_idx(as, i);

		n += !strcmp(jstr(a, "kind"), kind) && (!source || !strcmp(jstr(a, "source"), source));
	}
	json_object_put(o);
	return n;
}

/* ---- commands ------------------------------------------------------------------------ */

static void test_status(void **state)
{
	char out[4096];
	json_object *o;

	(void)state;
	assert_int_equal(ctl(out, sizeof(out), "status", NULL), 0);
	assert_non_null(strstr(out, "data path"));
	assert_non_null(strstr(out, datapath));
	o = ctl_json("status");
	assert_string_equal(jstr(o, "datapath"), datapath);
	assert_string_equal(jstr(o, "version"), "0.1.0");
	assert_true(jint(o, "uptime_s") >= 0);
	assert_int_equal(jint(o, "sessions"), 0);
	/* auto says where its inline path takes sockets from; the others have none. */
	if (!strcmp(datapath, "auto"))
		assert_non_null(strstr(jstr(o, "inline_path"), "cgroup /"));
	else
		assert_string_equal(jstr(o, "inline_path"), "");
	json_object_put(o);
	/* A session, counted on the path it takes. */
	{
		int fd = h_session(port, 1);

		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 8), 0);
		o = ctl_json("status");
		assert_int_equal(jint(o, "sessions"), 1);
		assert_int_equal(jint(o, !strcmp(datapath, "auto")  ? "sessions_inline"
					  : !strcmp(datapath, "bpf") ? "sessions_kernel"
								     : "sessions_mcpd"),
				 1);
		json_object_put(o);
		close(fd);
	}
}

static void test_sessions(void **state)
{
	int a = h_session(port, 1), b = h_session(port, 2);
	json_object *o;
	int seen = 0;

	(void)state;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(h_roundtrip(a, 1, MCP_OP_GET, 100), 0);
		assert_int_equal(h_roundtrip(b, 2, MCP_OP_SET, 50), 0);
	}
	o = ctl_json("sessions");
	assert_int_equal(json_object_array_length(o), 2);
	for (size_t i = 0; i < 2; i++) {
		json_object *s = json_object_array_get_idx(o, i);

		assert_string_equal(jstr(s, "state"), "CONNECTED");
		assert_string_equal(jstr(s, "client_id"), "e2e");
		assert_true(jint(s, "frames_in") >= 10);
		assert_true(jint(s, "frames_out") >= 10);
		assert_true(jint(s, "idle_ms") < 5000);
		seen |= 1 << (jint(s, "version") - 1);
	}
	assert_int_equal(seen, 3); /* one v1, one v2 */
	json_object_put(o);
	close(a);
	close(b);
}

static void test_routes_and_pools(void **state)
{
	json_object *o = ctl_json("routes"), *r0, *p0, *bs;

	(void)state;
	r0 = json_object_array_get_idx(o, 0);
	assert_int_equal(jint(r0, "first"), 1);
	assert_int_equal(jint(r0, "last"), 4);
	assert_string_equal(jstr(r0, "pool"), "kv");
	json_object_put(o);
	o = ctl_json("pools");
	p0 = json_object_array_get_idx(o, 0);
	assert_string_equal(jstr(p0, "name"), "kv");
	json_object_object_get_ex(p0, "backends", &bs);
	assert_int_equal(json_object_array_length(bs), 2);
	assert_string_equal(jstr(json_object_array_get_idx(bs, 0), "health"), "up");
	json_object_put(o);
}

static void test_stats(void **state)
{
	char out[1 << 16];

	(void)state;
	for (int i = 0; i < 2; i++) { /* this test's own sessions: the counters start at 0 */
		int fd = h_session(port, 1);

		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(h_wait_sessions(sock, 0), 0);
	assert_int_equal(ctl(out, sizeof(out), "stats", NULL), 0);
	assert_non_null(strstr(out, "sessions_opened_total"));
	assert_true(counter("sessions_opened_total", "") >= 2);
	assert_int_equal(counter("sessions", ""), 0);
	assert_true(counter("pool_backends_up", "pool=kv") == 2);
}

/* Frames by the path that carried them: ten GETs and their answers on this data path's own
 * (inline under auto: client and backend are local; the kernel's under bpf; mcpd's under
 * user), and a NO_ROUTE request on mcpd's on every path (a verdict hands it over). */
static void test_frames_by_path(void **state)
{
	const char *path = !strcmp(datapath, "auto") ? "path=inline" :
			   !strcmp(datapath, "bpf") ? "path=kernel" : "path=mcpd";
	long long before = counter("path_frames_total", path), mcpd0;
	struct h_frame *fr = malloc(sizeof(*fr));
	int fd = h_session(port, 1);

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
	assert_true(counter("path_frames_total", path) >= before + 20);
	mcpd0 = counter("path_frames_total", "path=mcpd");
	assert_int_equal(h_send_frame(fd, 1, 0x30, 0, "x", 1), 0); /* no route for 0x30 */
	assert_int_equal(h_read_frame(fd, fr), 0);
	assert_int_equal(fr->f.opcode, MCP_OP_ERROR);
	assert_true(counter("path_frames_total", "path=mcpd") >= mcpd0 + 1);
	close(fd);
	free(fr);
}

/* mcpctl maps reads the kernel's counters from the pin root (-p), daemon or not. */
static void test_maps(void **state)
{
	char out[1 << 16];
	char *argv[] = { "mcpctl", "-p", (char *)h_pin_root(), "-j", "maps", NULL };
	int fd = h_session(port, 1), rc;

	(void)state;
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	close(fd);
	rc = h_run(out, sizeof(out), argv);
	if (!strcmp(datapath, "bpf")) {
		json_object *o = json_tokener_parse(out), *dp, *r;

		assert_int_equal(rc, 0);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "datapath", &dp));
		assert_true(json_object_object_get_ex(dp, "redirect", &r));
		assert_true(jint(r, "skbs") >= 1); /* the GET went through the kernel */
		json_object_put(o);
	} else if (!strcmp(datapath, "auto")) {
		json_object *o = json_tokener_parse(out), *inl, *r;

		assert_int_equal(rc, 0);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "inline", &inl));
		assert_true(json_object_object_get_ex(inl, "redirect", &r));
		assert_true(jint(r, "runs") >= 2); /* the GET and its answer, inline */
		json_object_put(o);
	} else {
		/* Nothing pinned on the user path: a clear error, not empty numbers. */
		assert_int_equal(rc, 1);
		assert_non_null(strstr(out, "cannot read the counters in"));
	}
}

static void test_block_unblock(void **state)
{
	char out[4096];
	int fd;
	json_object *o;

	(void)state;
	fd = h_connect_from(port, "127.0.0.2");
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl(out, sizeof(out), "block", "127.0.0.2", NULL), 0);
	/* At once: the next connection from there is closed before HELLO_ACK. */
	fd = h_connect_from(port, "127.0.0.2");
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	assert_true(fd < 0 || h_hello(fd, v, 1, &ack) < 0);
	if (fd >= 0)
		close(fd);
	/* Others are not touched. */
	fd = h_session(port, 1);
	assert_true(fd >= 0);
	close(fd);
	o = ctl_json("blocklist");
	assert_int_equal(json_object_array_length(o), 1);
	assert_string_equal(jstr(json_object_array_get_idx(o, 0), "prefix"), "127.0.0.2/32");
	assert_true(jint(json_object_array_get_idx(o, 0), "hits") >= 1);
	assert_string_equal(jstr(json_object_array_get_idx(o, 0), "reason"), "operator");
	json_object_put(o);
	assert_int_equal(counter("blocklist_entries", ""), 1);
	assert_int_equal(ctl(out, sizeof(out), "unblock", "127.0.0.2/32", NULL), 0);
	fd = h_connect_from(port, "127.0.0.2");
	assert_int_equal(h_hello(fd, v, 1, &ack), 1);
	close(fd);

	/* With a TTL, the entry goes by itself. */
	assert_int_equal(ctl(out, sizeof(out), "block", "127.0.5.0/24", "--ttl", "1", NULL), 0);
	o = ctl_json("blocklist");
	assert_int_equal(json_object_array_length(o), 1);
	assert_true(jint(json_object_array_get_idx(o, 0), "ttl_left_s") >= 1);
	json_object_put(o);
	for (int i = 0; i < 100; i++) { /* gone after its second: mcpd sweeps on its tick */
		o = ctl_json("blocklist");
		if (json_object_array_length(o) == 0)
			break;
		json_object_put(o);
		o = NULL;
		usleep(100000);
	}
	assert_non_null(o);
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);
	/* IPv6 prefixes too. */
	assert_int_equal(ctl(out, sizeof(out), "block", "2001:db8::/32", NULL), 0);
	assert_int_equal(ctl(out, sizeof(out), "unblock", "2001:db8::/32", NULL), 0);
}

static void test_drain(void **state)
{
	char out[4096];
	char addr[32];
	uint64_t before_one = h_backend_sessions(one), before_two = h_backend_sessions(two);
	json_object *o, *bs;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", h_backend_port(one));
	assert_int_equal(ctl(out, sizeof(out), "drain", addr, NULL), 0);
	for (int i = 0; i < 6; i++) {
		int fd = h_session(port, 1);

		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 8), 0);
		close(fd);
	}
	assert_int_equal(h_backend_sessions(one), before_one);
	assert_int_equal(h_backend_sessions(two), before_two + 6);
	o = ctl_json("pools");
	json_object_object_get_ex(json_object_array_get_idx(o, 0), "backends", &bs);
	assert_string_equal(jstr(json_object_array_get_idx(bs, 0), "health"), "drained");
	json_object_put(o);
	assert_int_equal(ctl(out, sizeof(out), "drain", "10.0.0.1:1", NULL), 1);
	assert_non_null(strstr(out, "no backend"));
}

static void test_kill(void **state)
{
	char out[4096], id[16];
	int fd = h_session(port, 1);
	json_object *o;

	(void)state;
	o = ctl_json("sessions");
	snprintf(id, sizeof(id), "%lld", (long long)jint(json_object_array_get_idx(o, 0), "id"));
	json_object_put(o);
	assert_int_equal(ctl(out, sizeof(out), "kill", id, NULL), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_UNKNOWN), 0);
	close(fd);
	assert_int_equal(ctl(out, sizeof(out), "kill", "424242", NULL), 1);
	assert_non_null(strstr(out, "no session 424242"));
}

static void test_reload(void **state)
{
	char out[4096];
	json_object *o;
	size_t n;

	(void)state;
	write_config("0x20 = kv\n");
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 0);
	o = ctl_json("routes");
	n = json_object_array_length(o);
	assert_true(n >= 3); /* 0x01-0x04, 0x05-0x1f (none), 0x20, ... */
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(o, i);

		found |= jint(r, "first") == 0x20 && jint(r, "last") == 0x20;
	}
	assert_true(found);
	json_object_put(o);
	h_write_file("ctl.ini", "[mcpd]\nmax_frame = lots\n");
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 1);
	assert_non_null(strstr(out, "ctl.ini:2: max_frame"));
	/* What only a restart changes is named, and stays as it was. */
	char moved[2300];
	snprintf(moved, sizeof(moved), "%s", cfg_text);
	char *at = strstr(moved, "listen = 127.0.0.1:");
	assert_non_null(at);
	memcpy(at, "listen = 127.0.0.9:", strlen("listen = 127.0.0.9:"));
	h_write_file("ctl.ini", moved);
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 0);
	assert_non_null(strstr(out, "unchanged until a restart: listen"));
	int fd = h_session(port, 1); /* still on the old address */
	assert_true(fd >= 0);
	close(fd);
	/* A pool that sessions use keeps its position: moving it is refused while they do. */
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	write_config_pool_first();
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 1);
	assert_non_null(strstr(out, "pool 'kv' is [pool] section 1"));
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	/* A pool added after the others is fine. */
	write_config("0x20 = kv\n[pool last]\nbackend = 127.0.0.1:1\n");
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 0);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_SET, 10), 0);
	close(fd);
	write_config("0x20 = kv\n");
	assert_int_equal(ctl(out, sizeof(out), "reload", NULL), 0);
	assert_null(strstr(out, "until a restart"));
}

/* Control connections that send nothing are closed (and counted); mcpctl is not held up. */
static void test_idle_control_connections_close(void **state)
{
	enum { N = 80 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char out[4096];
	int fds[N];

	(void)state;
	strcpy(sa.sun_path, sock);
	for (int i = 0; i < N; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	/* Past 64 at once the oldest go; mcpctl still gets its answer. */
	assert_int_equal(ctl(out, sizeof(out), "status", NULL), 0);
	for (int i = 0; i < N; i++) {
		struct timeval tv = { .tv_sec = H_ANSWER_MS / 1000 };
		char b[16];

		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		assert_int_equal(recv(fds[i], b, sizeof(b), 0), 0); /* closed by mcpd */
		close(fds[i]);
	}
	assert_true(counter("limit_hits_total", "limit=control_idle") >= N);
}

/* A control socket in a directory others may write is refused: anyone could take it first. */
static void test_control_dir_must_be_private(void **state)
{
	char dir[256], cfg[512], log[300];
	const char *path;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/open", h_tmpdir());
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 01777), 0); /* like /tmp */
	snprintf(cfg, sizeof(cfg), "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s/mcpd.sock\n",
		 h_free_port(), dir);
	path = h_write_file("open.ini", cfg);
	char *argv[] = { "mcpd", "-f", "-c", (char *)path, "--datapath", "user", NULL };
	assert_int_equal(h_wait(h_spawn("open.log", argv), 10000), 1);
	snprintf(log, sizeof(log), "%s/open.log", h_tmpdir());
	assert_true(h_file_contains(log, "is writable by others than root and mcpd"));
}

static void test_errors_are_clear(void **state)
{
	char out[4096], *argv[] = { "mcpctl", "-s", "/nonexistent/mcpd.sock", "status", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t junk[] = { 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF }, rsp[4096];
	int fd;
	ssize_t n;

	(void)state;
	assert_int_equal(h_run(out, sizeof(out), argv), 1);
	assert_non_null(strstr(out, "cannot reach mcpd at /nonexistent/mcpd.sock"));
	assert_int_equal(ctl(out, sizeof(out), "block", "not-an-address", NULL), 1);
	assert_non_null(strstr(out, "not an address or prefix"));
	assert_int_equal(ctl(out, sizeof(out), "block", "10.0.0.0/33", NULL), 1);
	assert_non_null(strstr(out, "a prefix length is 0 to 32"));
	assert_int_equal(ctl(out, sizeof(out), "frobnicate", NULL), 2);
	assert_int_equal(ctl(out, sizeof(out), "kill", "abc", NULL), 2);
	assert_int_equal(ctl(out, sizeof(out), "block", NULL), 2);
	/* Garbage on the socket gets a refusal, and mcpd carries on. */
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, junk, sizeof(junk), 0), sizeof(junk));
	n = recv(fd, rsp, sizeof(rsp), MSG_WAITALL);
	assert_true(n > 4);
	close(fd);
	assert_int_equal(ctl(out, sizeof(out), "status", NULL), 0);
}

static void test_top(void **state)
{
	char out[8192];
	int lines = 0;

	(void)state;
	assert_int_equal(ctl(out, sizeof(out), "-j", "top", "-n", "2", NULL), 0);
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 2);
	assert_non_null(strstr(out, "frames_to_backend_per_s"));
}

static void test_metrics_pass_promtool(void **state)
{
	static char page[1 << 20];
	char path[256], cmd[300];
	FILE *f;

	(void)state;
	if (system("command -v promtool >/dev/null"))
		fail_msg("promtool is missing (Debian package prometheus; make deps installs it)");
	assert_int_equal(h_http_get(metrics_port, "/metrics", page, sizeof(page)), 200);
	assert_non_null(strstr(page, "# TYPE mcp_sessions_opened_total counter"));
	assert_non_null(strstr(page, "# HELP mcp_errors_sent_total"));
	assert_non_null(strstr(page, "mcp_errors_sent_total{code=\"NO_ROUTE\"}"));
	snprintf(cmd, sizeof(cmd), "mcp_build_info{version=\"%s\",datapath=\"%s\"} 1", MCP_VERSION_STRING,
		 datapath);
	assert_non_null(strstr(page, cmd));
	assert_null(strstr(page, "127.0.0.1")); /* never an address in a label */
	snprintf(path, sizeof(path), "%s/metrics.txt", h_tmpdir());
	f = fopen(path, "w");
	fputs(page, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(h_http_get(metrics_port, "/other", page, sizeof(page)), 404);
}

/*
 * 500 clients that connect to /metrics and never finish a request (from 127.0.0.9) do not keep
 * a scraper (from 127.0.0.1) out, during the attack or after it.
 */
static void test_metrics_under_slow_clients(void **state)
{
	enum { N = 500 };
	static int fds[N];
	static char page[1 << 20];
	const char *partial = "GET /metrics HTTP/1.1\r\nHost: mcpd\r\n"; /* never finished */

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = h_connect_from(metrics_port, "127.0.0.9");
		if (fds[i] >= 0)
			send(fds[i], partial, strlen(partial), MSG_NOSIGNAL);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_http_get(metrics_port, "/metrics", page, sizeof(page)), 200);
	assert_non_null(strstr(page, "mcp_sessions_opened_total"));
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	assert_int_equal(h_http_get(metrics_port, "/metrics", page, sizeof(page)), 200);
}

/* ---- anomalies ------------------------------------------------------------------------ */

static void test_steady_load_raises_none(void **state)
{
	char target[32], out[4096];
	char *argv[] = { "mcpbench", "-t", target, "-c", "4", "-d", "8", "-s", "64", "-D", "9", NULL };
	int64_t before[4];
	static const char *const kinds[] = { "bad_frames", "session_flood", "opcode_spike",
					     "pass_spike" };
	pid_t bench;
	char l[64];

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	bench = h_spawn("steady.log", argv);
	sleep(3); /* the ramp from idle is part of the warm-up */
	for (int i = 0; i < 4; i++) {
		snprintf(l, sizeof(l), "kind=%s", kinds[i]);
		before[i] = counter("anomalies_total", l);
	}
	assert_int_equal(h_wait(bench, 20000), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(l, sizeof(l), "kind=%s", kinds[i]);
		if (counter("anomalies_total", l) != before[i])
			fail_msg("steady load raised %s", kinds[i]);
	}
	(void)out;
}

/* The detector judges once it has its baselines (a few seconds after mcpd starts). */
static void detector_ready(void)
{
	for (int i = 0; i < 300 && counter("anomaly_detector_ready", "") != 1; i++)
		usleep(100000);
	assert_int_equal(counter("anomaly_detector_ready", ""), 1);
}

static void test_bad_frames_from_a_source(void **state)
{
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	int fd;

	(void)state;
	detector_ready();
	/* 40 sessions from 127.0.0.3, each sending garbage at once. */
	for (int i = 0; i < 40; i++) {
		fd = h_connect_from(port, "127.0.0.3");
		if (fd < 0)
			break;
		h_send(fd, "GARBAGE GARBAGE!", 16);
		h_expect_eof(fd);
		close(fd);
	}
	for (int i = 0; i < 100 && !anomalies("bad_frames", "127.0.0.3/32"); i++)
		usleep(100000);
	assert_true(anomalies("bad_frames", "127.0.0.3/32") >= 1);
	/* auto_block put the source in the blocklist, and it is refused now. */
	fd = h_connect_from(port, "127.0.0.3");
	assert_true(fd < 0 || h_hello(fd, v, 1, &ack) < 0);
	if (fd >= 0)
		close(fd);
	json_object *o = ctl_json("blocklist");
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *b = json_object_array_get_idx(o, i);

		found |= !strcmp(jstr(b, "prefix"), "127.0.0.3/32") &&
			 !strcmp(jstr(b, "reason"), "anomaly: bad_frames") && jint(b, "ttl_left_s") > 0;
	}
	json_object_put(o);
	assert_true(found);
}

static void test_session_flood_from_a_source(void **state)
{
	static int fds[300];
	int n = 0;

	(void)state;
	detector_ready();
	for (int i = 0; i < 300; i++)
		if ((fds[n] = h_connect_from(port, "127.0.0.4")) >= 0)
			n++;
	for (int i = 0; i < 100 && !anomalies("session_flood", "127.0.0.4/32"); i++)
		usleep(100000);
	assert_true(anomalies("session_flood", "127.0.0.4/32") >= 1);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void test_opcode_and_pass_spikes(void **state)
{
	char target[32];
	char *argv[] = { "mcpbench", "-t", target, "-c", "4", "-d", "32", "-s", "0-200", "-D", "3",
			 "--ops", "SYNC", "--ping-every", "2", NULL };
	int fd = h_session(port, 1);

	(void)state;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	/* A steady trickle of SYNC, about 300 a second, long enough to be a baseline. */
	for (int i = 0; i < 2400; i++) {
		assert_int_equal(h_roundtrip(fd, 1, MCP_OP_SYNC, 16), 0);
		usleep(2500);
	}
	/* Then a burst of SYNC with PINGs mixed in (on the fast path: passed to mcpd). */
	assert_int_equal(h_run(NULL, 0, argv), 0);
	for (int i = 0; i < 100 && !anomalies("opcode_spike", NULL); i++)
		usleep(100000);
	assert_true(anomalies("opcode_spike", NULL) >= 1);
	if (!strcmp(datapath, "bpf"))
		assert_true(anomalies("pass_spike", NULL) >= 1);
	close(fd);
}

/* ---- upgrade ------------------------------------------------------------------------- */

static json_object *find_block(json_object *list, const char *prefix)
{
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(jstr(json_object_array_get_idx(list, i), "prefix"), prefix))
			return json_object_array_get_idx(list, i);
	return NULL;
}

static void test_upgrade_keeps_sessions_and_blocklist(void **state)
{
	const uint32_t v[] = { 1 };
	struct mcp_hello_ack ack;
	char out[4096];
	int fds[3], fd;
	pid_t new_pid;
	json_object *o, *b;

	(void)state;
	fds[0] = h_session(port, 1);
	fds[1] = h_session(port, 2);
	fds[2] = h_session(port, 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_roundtrip(fds[i], i ? 2 : 1, MCP_OP_GET, 100), 0);
	assert_int_equal(ctl(out, sizeof(out), "block", "127.0.0.6", NULL), 0);
	assert_int_equal(ctl(out, sizeof(out), "block", "198.51.100.0/24", "--ttl", "600", NULL), 0);
	fd = h_connect_from(port, "127.0.0.6");
	assert_true(fd < 0 || h_hello(fd, v, 1, &ack) < 0);
	if (fd >= 0)
		close(fd);

	/* A counter of its own making besides the refusal: a BAD_MAGIC. */
	fd = h_connect(port);
	assert_int_equal(h_send(fd, "GARBAGE!", 8), 0);
	assert_int_equal(h_expect_error_close(fd, MCP_ERR_BAD_MAGIC), 0);
	close(fd);
	int64_t refused = counter("sessions_refused_total", ""),
		bad_magic = counter("errors_sent_total", "code=BAD_MAGIC");
	assert_true(refused >= 1 && bad_magic >= 1);

	/* mcpd starts its own binary with --takeover and exits once the new one has it all. */
	assert_int_equal(ctl(out, sizeof(out), "-j", "upgrade", NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_int_equal(jint(o, "old_pid"), mcpd);
	new_pid = (pid_t)jint(o, "pid");
	assert_true(new_pid > 0 && new_pid != mcpd);
	assert_true(jint(o, "sessions") >= 3);
	json_object_put(o);
	assert_int_equal(h_wait(mcpd, 5000), 0);
	mcpd = new_pid;
	/* Under systemd, the service's main process is now the new one. */
	snprintf(out, sizeof(out), "MAINPID=%d", (int)new_pid);
	assert_true(notified(out, 2000));
	o = ctl_json("status");
	assert_int_equal(jint(o, "pid"), new_pid);
	assert_string_equal(jstr(o, "datapath"), datapath);
	json_object_put(o);

	/* The counters go on from where they were, and /metrics is served on the same socket. */
	assert_true(counter("sessions_refused_total", "") >= refused);
	assert_int_equal(counter("errors_sent_total", "code=BAD_MAGIC"), bad_magic);
	{
		static char page[1 << 20];

		assert_int_equal(h_http_get(metrics_port, "/metrics", page, sizeof(page)), 200);
		assert_non_null(strstr(page, "mcp_build_info"));
		assert_non_null(strstr(page, "mcp_sessions_refused_total"));
	}

	/* Every session goes on, and new ones come. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h_roundtrip(fds[i], i ? 2 : 1, MCP_OP_SET, 3000), 0);
		close(fds[i]);
	}
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 10), 0);
	close(fd);
	/* The blocklist came along, with its reasons, hits and time left, and still refuses. */
	o = ctl_json("blocklist");
	b = find_block(o, "127.0.0.6/32");
	assert_non_null(b);
	assert_string_equal(jstr(b, "reason"), "operator");
	assert_true(jint(b, "hits") >= 1);
	b = find_block(o, "198.51.100.0/24");
	assert_non_null(b);
	assert_true(jint(b, "ttl_left_s") > 590 && jint(b, "ttl_left_s") <= 600);
	json_object_put(o);
	fd = h_connect_from(port, "127.0.0.6");
	assert_true(fd < 0 || h_hello(fd, v, 1, &ack) < 0);
	if (fd >= 0)
		close(fd);
	assert_int_equal(ctl(out, sizeof(out), "unblock", "127.0.0.6", NULL), 0);
	assert_int_equal(ctl(out, sizeof(out), "unblock", "198.51.100.0/24", NULL), 0);
}

static void test_upgrade_that_fails_changes_nothing(void **state)
{
	char out[4096], log[256];
	int fd = h_session(port, 2);
	json_object *o;

	(void)state;
	/* The new mcpd refuses the config it is started with: the running one carries on. */
	h_write_file("ctl.ini", "[mcpd]\nmax_frame = lots\n");
	assert_int_equal(ctl(out, sizeof(out), "upgrade", "--wait", "20", NULL), 1);
	assert_non_null(strstr(out, "exited with status 1"));
	assert_non_null(strstr(out, "carries on"));
	write_config("");
	o = ctl_json("status");
	assert_int_equal(jint(o, "pid"), mcpd);
	assert_non_null(strstr(jstr(o, "upgrade"), "failed"));
	json_object_put(o);
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 500), 0);
	/* A config that moves a pool the sessions use: refused before anything moves. */
	write_config_pool_first();
	assert_int_equal(ctl(out, sizeof(out), "upgrade", "--wait", "20", NULL), 1);
	assert_non_null(strstr(out, "exited with status 1"));
	snprintf(log, sizeof(log), "%s/mcpd-ctl.log", h_tmpdir());
	assert_true(h_file_contains(log, "takeover: pool 'kv' is [pool] section 1"));
	write_config("");
	assert_int_equal(h_roundtrip(fd, 2, MCP_OP_GET, 500), 0);
	close(fd);
	/* Usage errors are told apart from refusals. */
	assert_int_equal(ctl(out, sizeof(out), "upgrade", "--wait", "soon", NULL), 2);
	assert_int_equal(ctl(out, sizeof(out), "upgrade", "now", NULL), 2);
}

static void test_takeover_refuses_another_datapath(void **state)
{
	const char *other = strcmp(datapath, "bpf") ? "bpf" : "user";
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg_path, "--datapath", (char *)other,
			 "--takeover", NULL };
	char log[256], want[128];
	int fd = h_session(port, 1);
	json_object *o;

	(void)state;
	/* Sessions in the sockmap cannot go on in userspace, nor the other way round. */
	assert_int_equal(h_wait(h_spawn("takeover-other.log", argv), 10000), 1);
	snprintf(log, sizeof(log), "%s/takeover-other.log", h_tmpdir());
	snprintf(want, sizeof(want), "the running mcpd uses the %s data path, this one %s",
		 datapath, other);
	assert_true(h_file_contains(log, want));
	o = ctl_json("status");
	assert_int_equal(jint(o, "pid"), mcpd);
	json_object_put(o);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 700), 0);
	close(fd);
	/* Without a control socket in its config, a takeover has nobody to ask. */
	snprintf(want, sizeof(want), "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol =\n", port);
	/* (no pin_root either: a takeover that cannot happen must not pin anything anywhere) */
	bool had_default = access(MCP_PIN_DIR, F_OK) == 0;
	argv[3] = (char *)h_write_file("nocontrol.ini", want);
	argv[5] = (char *)datapath;
	assert_int_equal(h_wait(h_spawn("takeover-nocontrol.log", argv), 10000), 1);
	snprintf(log, sizeof(log), "%s/takeover-nocontrol.log", h_tmpdir());
	assert_true(h_file_contains(log, "the config has no control socket"));
	assert_true(had_default || access(MCP_PIN_DIR, F_OK) != 0);
}

/* A pinned map's shape, or -1 where nothing is pinned. */
static int pinned_info(const char *name, struct bpf_map_info *info)
{
	char path[256];
	__u32 len = sizeof(*info);
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	memset(info, 0, sizeof(*info));
	rc = bpf_obj_get_info_by_fd(fd, info, &len);
	close(fd);
	return rc;
}

/*
 * A restart over maps an older build pinned in another shape (after a package upgrade, say):
 * those are replaced, and it says so; the maps this build can use stay as they are; the
 * kernel path works. (A takeover never removes them: test_upgrade_* and docs/operations.md.)
 */
static void test_maps_of_another_build_are_replaced(void **state)
{
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg_path, "--datapath", (char *)datapath, NULL };
	struct bpf_map_info stats, flight, routes0, routes1;
	char path[256], log[256];
	int fd;

	(void)state;
	h_kill(mcpd, SIGTERM);
	assert_int_equal(h_wait(mcpd, H_ANSWER_MS), 0);
	if (!strcmp(datapath, "user")) { /* nothing pinned, nothing touched */
		assert_int_equal(pinned_info(MCP_MAP_DP_STATS, &stats), -1);
		return;
	}
	assert_int_equal(pinned_info(MCP_MAP_ROUTES, &routes0), 0);
	/* What an older build left: a counter map with room for 12 reasons, the flight record
	 * without its unread cap. */
	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), MCP_MAP_DP_STATS);
	unlink(path);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, MCP_MAP_DP_STATS, 4,
			    sizeof(struct mcp_counter), 12, NULL);
	assert_true(fd >= 0 && !bpf_obj_pin(fd, path));
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), MCP_MAP_INLINE_FLIGHT);
	unlink(path);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, MCP_MAP_INLINE_FLIGHT, 4, 16, 1024, NULL);
	assert_true(fd >= 0 && !bpf_obj_pin(fd, path));
	close(fd);

	mcpd = h_spawn("mcpd-older-maps.log", argv);
	assert_int_equal(h_wait_port(port, H_ANSWER_MS), 0);
	snprintf(log, sizeof(log), "%s/mcpd-older-maps.log", h_tmpdir());
	assert_true(h_file_contains(log, "removed the pinned maps in"));
	assert_int_equal(pinned_info(MCP_MAP_DP_STATS, &stats), 0);
	assert_int_equal(stats.max_entries, MCP_DP_STATS_SLOTS);
	assert_int_equal(pinned_info(MCP_MAP_ROUTES, &routes1), 0);
	assert_int_equal(routes1.id, routes0.id); /* kept: this build can use it */
	if (!strcmp(datapath, "auto")) {
		json_object *o = ctl_json("status"), *v;

		assert_int_equal(pinned_info(MCP_MAP_INLINE_FLIGHT, &flight), 0);
		assert_int_equal(flight.value_size, sizeof(struct mcp_inline_flight));
		assert_true(json_object_object_get_ex(o, "inline_path", &v));
		assert_true(json_object_get_string_len(v) > 0); /* the inline path is up */
		json_object_put(o);
	}
	fd = h_session(port, 1);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
	close(fd);
}

/* A takeover never removes the running mcpd's maps: a new build that cannot use them (here,
 * a counter map another build pinned in another shape) is refused, and the running one
 * carries on with its sessions. */
static void test_takeover_over_maps_of_another_shape(void **state)
{
	char *argv[] = { "mcpd", "-f", "-c", (char *)cfg_path, "--datapath", (char *)datapath,
			 "--takeover", NULL };
	struct bpf_map_info stats;
	char path[256], log[256];
	int fd = h_session(port, 1), m;
	json_object *o;

	(void)state;
	if (!strcmp(datapath, "user")) { /* nothing pinned to be in the way */
		assert_int_equal(pinned_info(MCP_MAP_DP_STATS, &stats), -1);
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", h_pin_root(), MCP_MAP_DP_STATS);
	assert_int_equal(unlink(path), 0); /* the running mcpd keeps its own by descriptor */
	m = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, MCP_MAP_DP_STATS, 4,
			   sizeof(struct mcp_counter), 12, NULL);
	assert_true(m >= 0 && !bpf_obj_pin(m, path));
	close(m);
	assert_int_equal(h_wait(h_spawn("takeover-shape.log", argv), 10000), 1);
	snprintf(log, sizeof(log), "%s/takeover-shape.log", h_tmpdir());
	assert_true(h_file_contains(log, "a build that cannot use the running one's maps cannot "
					 "take over"));
	assert_int_equal(pinned_info(MCP_MAP_DP_STATS, &stats), 0);
	assert_int_equal(stats.max_entries, 12); /* left where it was */
	o = ctl_json("status");
	assert_int_equal(jint(o, "pid"), mcpd);
	json_object_put(o);
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
	close(fd);
}

/* An mcpd of its own (user path) started from a copy of the binary at `copy`, which the test
 * may then remove or replace: its pid; its control socket at `sock`. */
static pid_t start_mcpd_copy(char *copy, size_t copy_len, char *sock, size_t sock_len)
{
	char cmd[600], cfg[512];
	int other_port = h_free_port();
	pid_t other;

	snprintf(copy, copy_len, "%s/mcpd-copy", h_tmpdir());
	snprintf(cmd, sizeof(cmd), "cp %s/mcpd %s", h_bindir(), copy);
	assert_int_equal(system(cmd), 0);
	snprintf(sock, sock_len, "%s/other.sock", h_tmpdir());
	snprintf(cfg, sizeof(cfg), "[mcpd]\nlisten = 127.0.0.1:%d\ncontrol = %s\n", other_port,
		 sock);
	char *argv[] = { copy, "-f", "-c", (char *)h_write_file("other.ini", cfg), "--datapath",
			 "user", NULL };
	other = h_spawn("other.log", argv);
	assert_int_equal(h_wait_port(other_port, H_ANSWER_MS), 0);
	return other;
}

/* The binary mcpd was started from is gone (removed, not replaced): refused, nothing moves. */
static void test_upgrade_when_the_binary_is_gone(void **state)
{
	char copy[256], other_sock[256], out[4096];
	pid_t other;

	(void)state;
	other = start_mcpd_copy(copy, sizeof(copy), other_sock, sizeof(other_sock));
	unlink(copy);
	char *upgrade[] = { "mcpctl", "-s", other_sock, "upgrade", NULL };
	assert_int_equal(h_run(out, sizeof(out), upgrade), 1);
	assert_non_null(strstr(out, "cannot run"));
	assert_non_null(strstr(out, "No such file"));
	h_kill(other, SIGTERM);
	assert_int_equal(h_wait(other, 5000), 0);
}

/* A second upgrade while the first one's new mcpd has not yet taken over is refused with the
 * pid it waits for; when that one dies, the running mcpd says the upgrade failed and carries
 * on. (The new "mcpd" here is a script that never takes over.) */
static void test_upgrade_while_one_is_under_way(void **state)
{
	char copy[256], other_sock[256], out[4096];
	unsigned int waiting = 0;
	pid_t other;
	FILE *f;

	(void)state;
	other = start_mcpd_copy(copy, sizeof(copy), other_sock, sizeof(other_sock));
	/* Its binary is now something that starts and never takes over. */
	assert_int_equal(unlink(copy), 0);
	f = fopen(copy, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexec sleep 600\n", f);
	fclose(f);
	assert_int_equal(chmod(copy, 0755), 0);
	char *first[] = { "mcpctl", "-s", other_sock, "upgrade", "--wait", "1", NULL };
	assert_int_equal(h_run(out, sizeof(out), first), 1);
	assert_non_null(strstr(out, "has not taken over"));
	char *second[] = { "mcpctl", "-s", other_sock, "upgrade", NULL };
	assert_int_equal(h_run(out, sizeof(out), second), 1);
	assert_non_null(strstr(out, "an upgrade is under way already (pid "));
	assert_int_equal(sscanf(strstr(out, "(pid ") + 5, "%u", &waiting), 1);
	/* The one it waits for dies: the upgrade failed, the running mcpd carries on. */
	assert_int_equal(kill((pid_t)waiting, SIGKILL), 0);
	char *status[] = { "mcpctl", "-s", other_sock, "-j", "status", NULL };
	for (uint64_t until = h_now_ms() + 3 * H_ANSWER_MS;; usleep(50000)) {
		json_object *o;

		assert_int_equal(h_run(out, sizeof(out), status), 0);
		o = json_tokener_parse(out);
		assert_non_null(o);
		assert_int_equal(jint(o, "pid"), other);
		if (strstr(jstr(o, "upgrade"), "failed")) {
			json_object_put(o);
			break;
		}
		json_object_put(o);
		assert_true(h_now_ms() < until); /* never told: a hang */
	}
	h_kill(other, SIGTERM);
	assert_int_equal(h_wait(other, H_ANSWER_MS), 0);
}

/* Someone kills mcpd-upgrader: mcpd says so, upgrades are refused with the way out. */
static void test_upgrade_without_its_helper(void **state)
{
	char path[64], out[4096];
	FILE *f;
	int helper = 0, fd = h_session(port, 1);

	(void)state;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)mcpd, (int)mcpd);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &helper), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/comm", helper);
	assert_true(h_file_contains(path, "mcpd-upgrader"));
	kill(helper, SIGKILL);
	/* mcpd notices on its tick: until then an upgrade fails some other way. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(ctl(out, sizeof(out), "upgrade", NULL), 1);
		if (strstr(out, "--takeover by hand"))
			break;
		usleep(100000);
	}
	assert_non_null(strstr(out, "--takeover by hand"));
	assert_int_equal(h_roundtrip(fd, 1, MCP_OP_GET, 100), 0);
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/stat", helper);
	for (int i = 0; i < 1000 && access(path, F_OK) == 0; i++)
		usleep(10000);
	assert_int_not_equal(access(path, F_OK), 0); /* reaped, not left a zombie */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		H_TEST(test_status),
		H_TEST(test_sessions),
		H_TEST(test_routes_and_pools),
		H_TEST(test_stats),
		H_TEST(test_frames_by_path),
		H_TEST(test_maps),
		H_TEST(test_maps_of_another_build_are_replaced),
		H_TEST(test_block_unblock),
		H_TEST(test_kill),
		H_TEST(test_reload),
		H_TEST(test_errors_are_clear),
		H_TEST(test_idle_control_connections_close),
		H_TEST(test_control_dir_must_be_private),
		H_TEST(test_top),
		H_TEST(test_metrics_pass_promtool),
		H_TEST(test_metrics_under_slow_clients),
		H_TEST(test_steady_load_raises_none),
		H_TEST(test_bad_frames_from_a_source),
		H_TEST(test_session_flood_from_a_source),
		H_TEST(test_opcode_and_pass_spikes),
		H_TEST(test_drain),
		H_TEST(test_takeover_refuses_another_datapath),
		H_TEST(test_takeover_over_maps_of_another_shape),
		H_TEST(test_upgrade_that_fails_changes_nothing),
		H_TEST(test_upgrade_keeps_sessions_and_blocklist),
		H_TEST(test_upgrade_when_the_binary_is_gone),
		H_TEST(test_upgrade_while_one_is_under_way),
		H_TEST(test_upgrade_without_its_helper),
	};
	char name[32];
	int rc = h_datapath_start(argc, argv, "e2e_control", &datapath, name, sizeof(name));

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
