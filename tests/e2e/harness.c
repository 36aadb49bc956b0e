// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "addr.h"
#include "fdio.h"
#include "harness.h"
#include "pin_root.h"
#include "stream_decoder.h"

/* ---- processes --------------------------------------------------------------------------- */

const char *h_bindir(void)
{
	static char dir[PATH_MAX - 64];

	if (!dir[0]) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		char *slash;

		if (n < 0)
			abort();
		dir[n] = '\0';
		/* build/bin/tests/e2e_router -> build/bin */
		for (int i = 0; i < 2 && (slash = strrchr(dir, '/')); i++)
			*slash = '\0';
	}
	return dir;
}

static const char *run_dir(void)
{
	static char dir[64];

	if (!dir[0]) {
		strcpy(dir, "/tmp/mcp-e2e-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

/* The current test's directory and pin root (h_test_begin), else the run's. */
static char test_dir[128], test_pin_root[96];
static int test_no;

const char *h_tmpdir(void)
{
	return test_dir[0] ? test_dir : run_dir();
}

const char *h_pin_root(void)
{
	if (!test_pin_root[0])
		snprintf(test_pin_root, sizeof(test_pin_root), "/sys/fs/bpf/mcp-e2e-%d", getpid());
	return test_pin_root;
}

static void end_leftover(void)
{
	/* A test whose setup failed never reached its teardown: what it made goes now. */
	if (test_dir[0] || test_pin_root[0])
		h_test_end();
}

void h_test_begin(void)
{
	static bool registered;

	end_leftover();
	if (!registered && !atexit(end_leftover))
		registered = true;
	test_no++;
	snprintf(test_dir, sizeof(test_dir), "%s/t%02d", run_dir(), test_no);
	if (mkdir(test_dir, 0755) && errno != EEXIST)
		abort();
	snprintf(test_pin_root, sizeof(test_pin_root), "/sys/fs/bpf/mcp-e2e-%d-%d", getpid(),
		 test_no);
}

static pid_t kept[16];
static int n_kept;

int h_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int h_lowest_free_fd(pid_t pid)
{
	char path[64];

	for (int fd = 0;; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (access(path, F_OK))
			return fd;
	}
}

void h_keep(pid_t pid)
{
	if (n_kept < (int)(sizeof(kept) / sizeof(kept[0])))
		kept[n_kept++] = pid;
}

static bool is_kept(pid_t pid)
{
	for (int i = 0; i < n_kept; i++)
		if (kept[i] == pid)
			return true;
	return false;
}

/* Processes whose parent is this one: those it spawned, and orphans it reaps (subreaper);
 * with spare_kept, not those h_keep() named. */
static int children(pid_t *out, int max, bool spare_kept)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char path[64], line[256];
		pid_t pid = (pid_t)atoi(e->d_name);
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "PPid:", 5)) {
				if (atoi(line + 5) == getpid() && !(spare_kept && is_kept(pid)))
					out[n++] = pid;
				break;
			}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void stop_children(bool spare_kept)
{
	/* SIGTERM first (mcpd ends its sessions and lets go of its pins), SIGKILL after 5 s; a
	 * round more for orphans that come to us as their parents go. */
	for (int round = 0; round < 4; round++) {
		pid_t pids[256];
		int n = children(pids, 256, spare_kept);

		if (!n)
			break;
		for (int i = 0; i < n; i++)
			kill(pids[i], round < 2 ? SIGTERM : SIGKILL);
		for (int waited = 0; waited < 5000; waited += 10) {
			int left = 0;

			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			for (int i = 0; i < n; i++)
				left += kill(pids[i], 0) == 0;
			if (!left)
				break;
			usleep(10000);
		}
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

void h_stop_all(void)
{
	stop_children(false);
	n_kept = 0;
}

void h_test_end(void)
{
	stop_children(true);
	if (test_pin_root[0] && geteuid() == 0)
		pin_root_remove(test_pin_root);
	test_dir[0] = '\0';
	test_pin_root[0] = '\0';
}

/*
 * A port below the ephemeral range: bind(0) would hand out one that an outgoing connection can
 * take before the test listens on it (CI saw EADDRINUSE), and two calls could return the same
 * port. Ports below the range never go to a connect(), and each is handed out once.
 */
uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int h_free_port(void)
{
	static unsigned short given[256];
	static unsigned int n_given, seed;
	unsigned int low = 32768, lo_in;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		if (fscanf(f, "%u", &lo_in) == 1 && lo_in > 10001)
			low = lo_in;
		fclose(f);
	}
	if (!seed)
		seed = (unsigned int)getpid() ^ (unsigned int)(h_now_ms() * 7919);
	for (int tries = 0; tries < 1000; tries++) {
		int port = 10000 + (int)(rand_r(&seed) % (low - 10000)), fd, dup = 0;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		for (unsigned int i = 0; i < n_given; i++)
			dup |= given[i] == port;
		if (dup)
			continue;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			break;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(fd);
			if (n_given < sizeof(given) / sizeof(given[0]))
				given[n_given++] = (unsigned short)port;
			return port;
		}
		close(fd);
	}
	fprintf(stderr, "harness: no free port below the ephemeral range\n");
	abort();
}

pid_t h_spawn(const char *log, char *const argv[])
{
	char path[PATH_MAX + 64], logpath[PATH_MAX];
	pid_t pid;

	if (argv[0][0] == '/')
		snprintf(path, sizeof(path), "%s", argv[0]);
	else
		snprintf(path, sizeof(path), "%s/%s", h_bindir(), argv[0]);
	/* MCP_MCPD runs another build of the daemon (the ASan+UBSan one) under the same tests. */
	if (!strcmp(argv[0], "mcpd") && getenv("MCP_MCPD"))
		snprintf(path, sizeof(path), "%s", getenv("MCP_MCPD"));
	snprintf(logpath, sizeof(logpath), "%s/%s", h_tmpdir(), log);
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* A test killed from outside (a timeout, ^C) takes its processes with it: the
		 * backends serve the whole run and would otherwise outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			if (fd > 2)
				close(fd); /* the child gets stdout and stderr, no third copy */
		}
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

int h_wait(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

void h_kill(pid_t pid, int sig)
{
	kill(pid, sig);
}

int h_wait_port(int port, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		int fd = h_connect(port);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(20000);
	}
	return -1;
}

int h_run(char *out, size_t outlen, char *const argv[])
{
	char path[PATH_MAX + 64];
	int pipefd[2], status;
	size_t got = 0;
	pid_t pid;

	if (argv[0][0] == '/')
		snprintf(path, sizeof(path), "%s", argv[0]);
	else
		snprintf(path, sizeof(path), "%s/%s", h_bindir(), argv[0]);
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(path, argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char tmp[4096];
		ssize_t n = read(pipefd[0], tmp, sizeof(tmp));

		if (n <= 0)
			break;
		if (out && got + 1 < outlen) {
			size_t k = (size_t)n < outlen - 1 - got ? (size_t)n : outlen - 1 - got;

			memcpy(out + got, tmp, k);
			got += k;
		}
	}
	if (out)
		out[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int h_wait_sessions(const char *ctl, int n)
{
	char out[4096], want[32];
	char *argv[] = { "mcpctl", "-s", (char *)ctl, "status", NULL };

	snprintf(want, sizeof(want), " %d open,", n);
	for (int waited = 0; waited < H_ANSWER_MS; waited += 50) {
		if (h_run(out, sizeof(out), argv) == 0 && strstr(out, want))
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "waited for%s mcpctl status says:\n%s\n", want, out);
	return -1;
}

long long h_counter(const char *ctl, const char *name, const char *label)
{
	static char out[1 << 16];
	char *argv[] = { "mcpctl", "-s", (char *)ctl, "stats", NULL };
	long long v = 0;

	if (h_run(out, sizeof(out), argv))
		return -1;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char n[128], l[256];
		unsigned long long x;

		if (sscanf(line, "%127s %255s %llu", n, l, &x) == 3) {
			if (!strcmp(n, name) && !strcmp(l, label))
				v = (long long)x;
		} else if (sscanf(line, "%127s %llu", n, &x) == 2 && !label[0] && !strcmp(n, name)) {
			v = (long long)x;
		}
	}
	return v;
}

const char *h_write_file(const char *name, const char *text)
{
	static char paths[8][PATH_MAX];
	static int next;
	char *path = paths[next++ % 8];
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", h_tmpdir(), name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

int h_file_contains(const char *path, const char *needle)
{
	char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

int h_wait_contains(const char *path, const char *needle)
{
	for (int waited = 0; waited < H_ANSWER_MS; waited += 50) {
		if (h_file_contains(path, needle))
			return 1;
		usleep(50000);
	}
	return h_file_contains(path, needle);
}

int h_datapath_start(int argc, char **argv, const char *prog, const char **datapath, char *name,
		     size_t len)
{
	struct rlimit rl;

	if (argc != 2 || (strcmp(argv[1], "user") && strcmp(argv[1], "bpf") &&
			  strcmp(argv[1], "auto"))) {
		fprintf(stderr, "usage: %s user|bpf|auto\n", prog);
		return 2;
	}
	/* auto: local sessions on the inline path (every client and backend here is local),
	 * the rest on the user path. */
	*datapath = argv[1];
	if (strcmp(*datapath, "user") && geteuid() != 0) {
		printf("SKIPPED: the %s data path needs root (CAP_BPF, CAP_NET_ADMIN)\n", *datapath);
		return 77;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	/* An mcpd started by another (mcpctl upgrade) is ours to wait for once its parent exits. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	snprintf(name, len, "%s_%s", prog, *datapath);
	h_filter_from_env();
	return -1;
}

void h_filter_from_env(void)
{
	if (getenv("MCP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("MCP_TEST_FILTER"));
}

/* ---- client ------------------------------------------------------------------------------- */

int h_udp_exchange(int fd, const struct sockaddr_in *to, const void *p, size_t n, void *answer,
		   size_t cap, bool expected)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	if (sendto(fd, p, n, 0, (const struct sockaddr *)to, sizeof(*to)) != (ssize_t)n)
		return -2;
	if (poll(&pf, 1, expected ? H_ANSWER_MS : H_SILENCE_MS) <= 0)
		return -1;
	return (int)recv(fd, answer, cap, 0);
}

int h_connect(int port)
{
	return h_connect_from(port, NULL);
}

int h_connect_from(int port, const char *source)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (source) {
		struct sockaddr_in s = { .sin_family = AF_INET };

		inet_pton(AF_INET, source, &s.sin_addr);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s))) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int h_send(int fd, const void *p, size_t n)
{
	return fd_write_all(fd, p, n);
}

int h_send_frame(int fd, uint8_t version, uint8_t op, uint32_t stream, const void *p, size_t n)
{
	static __thread uint8_t buf[MCP_HDR_MAX_LEN + MCP_MAX_FRAME_LIMIT]; /* tests use threads */
	ssize_t len = mcp_frame_build(buf, sizeof(buf), version, op, stream, 0, p, n);

	return len < 0 ? -1 : h_send(fd, buf, (size_t)len);
}

int h_read_frame(int fd, struct h_frame *out)
{
	uint8_t *h = out->buf;
	size_t hlen;

	if (fd_read_all(fd, h, MCP_HDR_V1_LEN))
		return -1;
	if (mcp_check_header(h, 0, MCP_MAX_FRAME_LIMIT, MCP_PEER_ANY) != MCP_CHECK_OK)
		return -1;
	hlen = mcp_hdr_len(h[MCP_OFF_VERSION]);
	if (hlen > MCP_HDR_V1_LEN && fd_read_all(fd, h + MCP_HDR_V1_LEN, hlen - MCP_HDR_V1_LEN))
		return -1;
	if (fd_read_all(fd, h + hlen, mcp_hdr_length(h)))
		return -1;
	return mcp_frame_decode(out->buf, hlen + mcp_hdr_length(h), 0, MCP_MAX_FRAME_LIMIT,
				MCP_PEER_ANY, &out->f) > 0
		       ? 0
		       : -1;
}

int h_hello(int fd, const uint32_t *versions, int n, struct mcp_hello_ack *ack)
{
	return h_hello_token(fd, versions, n, NULL, 0, ack);
}

int h_hello_token(int fd, const uint32_t *versions, int n, const uint8_t *token, size_t len,
		  struct mcp_hello_ack *ack)
{
	struct mcp_hello h = { .n_versions = (uint32_t)n };
	uint8_t buf[256 + MCP_TOKEN_MAX];
	struct h_frame *fr = malloc(sizeof(*fr));
	int rc = -1;

	memcpy(h.versions, versions, (size_t)n * sizeof(*versions));
	strcpy(h.client_id, "e2e");
	if (len > sizeof(h.token))
		goto out;
	if (len)
		memcpy(h.token, token, len);
	h.token_len = (uint32_t)len;
	if (h_send(fd, buf, (size_t)mcp_build_hello(buf, sizeof(buf), &h)) || h_read_frame(fd, fr))
		goto out;
	if (fr->f.opcode == MCP_OP_HELLO_ACK && !mcp_parse_hello_ack(fr->f.payload, fr->f.length, ack))
		rc = (int)ack->version;
	else if (fr->f.opcode == MCP_OP_ERROR) {
		struct mcp_error e;

		if (!mcp_parse_error(fr->f.payload, fr->f.length, &e))
			rc = -(int)e.code - 100;
	}
out:
	free(fr);
	return rc;
}

int h_session(int port, int version)
{
	uint32_t v = (uint32_t)version;
	struct mcp_hello_ack ack;
	int fd = h_connect(port);

	if (fd < 0)
		return -1;
	if (h_hello(fd, &v, 1, &ack) != version) {
		close(fd);
		return -1;
	}
	return fd;
}

int h_http_get(int port, const char *path, char *out, size_t len)
{
	char req[128];
	size_t got = 0;
	ssize_t n;
	int fd = h_connect(port), status = 0;
	char *body;

	out[0] = '\0';
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (h_send(fd, req, strlen(req))) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (got + 1 >= len || poll(&p, 1, H_ANSWER_MS) != 1)
			break;
		n = recv(fd, out + got, len - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
	sscanf(out, "HTTP/1.%*d %d", &status);
	body = strstr(out, "\r\n\r\n");
	if (body)
		memmove(out, body + 4, strlen(body + 4) + 1);
	return status;
}

int h_expect_eof(int fd)
{
	uint8_t b[4096];

	for (int i = 0; i < 1000; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 3000) <= 0)
			return -1;
		r = recv(fd, b, sizeof(b), 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		if (r < 0)
			return -1;
	}
	return -1;
}

int h_expect_error_close(int fd, int code)
{
	struct h_frame *fr = malloc(sizeof(*fr));
	struct mcp_error e;
	int rc = -1;

	if (!h_read_frame(fd, fr) && fr->f.opcode == MCP_OP_ERROR &&
	    !mcp_parse_error(fr->f.payload, fr->f.length, &e)) {
		if ((int)e.code == code)
			rc = h_expect_eof(fd);
		else
			fprintf(stderr, "expected ERROR %s, got %s (%s)\n", mcp_error_code_name((uint32_t)code),
				mcp_error_code_name(e.code), e.message);
	} else {
		fprintf(stderr, "expected ERROR %s, got no ERROR frame\n",
			mcp_error_code_name((uint32_t)code));
	}
	free(fr);
	return rc;
}

int h_roundtrip(int fd, int version, uint8_t op, size_t len)
{
	static __thread uint8_t payload[MCP_MAX_FRAME_LIMIT];
	struct h_frame *fr = malloc(sizeof(*fr));
	int rc = -1;

	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 13 + op);
	if (!h_send_frame(fd, (uint8_t)version, op, 77, payload, len) && !h_read_frame(fd, fr))
		rc = fr->f.opcode == mcp_response_opcode(op) && fr->f.length == len &&
				     fr->f.version == version && !memcmp(fr->f.payload, payload, len) &&
				     (version == 1 || fr->f.stream_id == 77)
			     ? 0
			     : -1;
	free(fr);
	return rc;
}

/* ---- backends: mcp-echo processes ---------------------------------------------------------- */

struct h_backend {
	pid_t pid;
	int port;
	char stats[PATH_MAX]; /* its --stats socket */
};

struct h_backend *h_backend_start(int mode, int arg)
{
	struct h_backend *b = calloc(1, sizeof(*b));
	char listen[32], num[16], log[32];
	char *argv[10] = { "mcp-echo", "-q", "--listen", listen, "--stats", NULL };
	int argc = 5;

	if (!b)
		return NULL;
	b->port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", b->port);
	snprintf(b->stats, sizeof(b->stats), "%s/echo-%d.sock", h_tmpdir(), b->port);
	snprintf(num, sizeof(num), "%d", arg);
	snprintf(log, sizeof(log), "echo-%d.log", b->port);
	argv[argc++] = b->stats;
	if (mode == HB_SLOW) {
		argv[argc++] = "--delay-ms";
		argv[argc++] = num;
	} else if (mode == HB_DIE_AFTER) {
		argv[argc++] = "--die-after";
		argv[argc++] = num;
	} else if (mode == HB_STALL) {
		argv[argc++] = "--stall";
	} else if (mode == HB_GARBAGE) {
		argv[argc++] = "--garbage";
	}
	b->pid = h_spawn(log, argv);
	if (b->pid > 0)
		h_keep(b->pid);
	/* The stats socket is bound before the port listens: once one answers, both do. */
	if (b->pid <= 0 || h_wait_port(b->port, H_ANSWER_MS)) {
		fprintf(stderr, "mcp-echo on port %d did not start (see %s/%s)\n", b->port,
			h_tmpdir(), log);
		h_backend_stop(b);
		return NULL;
	}
	return b;
}

int h_backend_port(const struct h_backend *b)
{
	return b->port;
}

int h_echo_report(const char *stats, const char *key, char *val, size_t len)
{
	static __thread char report[64 * 1024];
	size_t got = 0, klen = strlen(key);
	int fd = mcp_unix_connect(stats);
	ssize_t n = -1;

	if (fd < 0) {
		fprintf(stderr, "mcp-echo stats at %s: %s\n", stats, strerror(-fd));
		return -1;
	}
	while (got + 1 < sizeof(report)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, H_ANSWER_MS) <= 0)
			break;
		n = recv(fd, report + got, sizeof(report) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	report[got] = '\0';
	if (n != 0) {
		fprintf(stderr, "mcp-echo stats at %s: no whole report\n", stats);
		return -1;
	}
	for (char *line = report; *line;) {
		char *end = strchrnul(line, '\n');

		if ((size_t)(end - line) >= klen && !strncmp(line, key, klen) && line[klen] == ' ') {
			snprintf(val, len, "%.*s", (int)(end - line - (ptrdiff_t)klen - 1), line + klen + 1);
			return 1;
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

static int backend_report(const struct h_backend *b, const char *key, char *val, size_t len)
{
	return h_echo_report(b->stats, key, val, len);
}

uint64_t h_backend_count(const struct h_backend *b, uint8_t op)
{
	char key[16], val[64];
	unsigned long long n;

	/* "tcp 0x03 GET 12"; an opcode never seen has no line. */
	snprintf(key, sizeof(key), "tcp 0x%02x", op);
	switch (backend_report(b, key, val, sizeof(val))) {
	case 0:
		return 0;
	case 1:
		if (sscanf(val, "%*s %llu", &n) == 1)
			return n;
	}
	return UINT64_MAX; /* fails any count a test expects */
}

uint64_t h_backend_sessions(const struct h_backend *b)
{
	char val[32];

	return backend_report(b, "sessions", val, sizeof(val)) == 1 ? strtoull(val, NULL, 10)
								    : UINT64_MAX;
}

uint32_t h_backend_last_udp_session(const struct h_backend *b)
{
	char val[32];

	return backend_report(b, "last_udp_session", val, sizeof(val)) == 1
		       ? (uint32_t)strtoul(val, NULL, 16) : 0;
}

void h_backend_last_client_id(struct h_backend *b, char *out, size_t len)
{
	if (backend_report(b, "last_client_id", out, len) != 1)
		snprintf(out, len, "(no report)");
}

void h_backend_stop(struct h_backend *b)
{
	if (!b)
		return;
	if (b->pid > 0) {
		h_kill(b->pid, SIGTERM);
		h_wait(b->pid, 5000);
	}
	unlink(b->stats);
	free(b);
}
