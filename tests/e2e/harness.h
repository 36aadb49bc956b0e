/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * End-to-end test harness: runs the real mcpd, mcp-echo and mcpbench as processes and speaks
 * MCP to them over real loopback sockets. The backends are mcp-echo processes: a test picks
 * their fault mode (dying, stalling, answering slowly or with garbage) and reads what they
 * received from their --stats socket.
 */
#ifndef MCP_E2E_HARNESS_H
#define MCP_E2E_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>
#include "messages.h"

/* ---- processes --------------------------------------------------------------------------- */

/* Directory of the built programs (build/bin). */
const char *h_bindir(void);
/* A scratch directory for the current test (configs, logs, sockets), or for the run. */
const char *h_tmpdir(void);
/*
 * Each test starts from a known state: h_test_begin() gives it a fresh directory (h_tmpdir())
 * and pin root (h_pin_root(): mcpd's `pin_root`, so no two mcpds share maps);
 * h_test_end() stops every process the test started, whatever happened to the test, and
 * removes its pin root. One failing test never fails the next.
 */
void h_test_begin(void);
/* A test of a suite whose setup_mcpd/teardown_mcpd give each test its own router. */
#define H_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_mcpd, teardown_mcpd)
void h_test_end(void);
const char *h_pin_root(void);
/* Open descriptors of a process. */
int h_count_fds(pid_t pid);
/* The descriptor a process would open next: as its RLIMIT_NOFILE, no room for one more. */
int h_lowest_free_fd(pid_t pid);
/* A process that serves the whole run (a backend): h_test_end() leaves it alone. */
void h_keep(pid_t pid);
/* Stop every child and orphan of this process, kept ones too: SIGTERM, SIGKILL after 5 s. */
void h_stop_all(void);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t h_now_ms(void);
/* A TCP port nobody listens on right now, below the ephemeral range, never the same twice. */
int h_free_port(void);
/* Start argv[0] from h_bindir() (or as is, when it is an absolute path) with its stderr in LOG
 * (a file under h_tmpdir()). It gets SIGTERM if the test process dies (call from the main
 * thread: the signal follows the thread that forked). */
pid_t h_spawn(const char *log, char *const argv[]);
/* Wait for a process; returns its exit status, or -1 after timeout_ms (then kills it). */
int h_wait(pid_t pid, int timeout_ms);
void h_kill(pid_t pid, int sig);
/* Wait until something accepts on 127.0.0.1:port. */
int h_wait_port(int port, int timeout_ms);
/* Wait until `mcpctl -s ctl status` says n sessions are open (a deadline only a hang reaches).
 * 0, or -1 (with what status said on stderr). */
int h_wait_sessions(const char *ctl, int n);
/* A counter from `mcpctl -s ctl stats` ("limit_hits_total", "limit=handshake_timeout"; "" for
 * none); 0 when it is not listed (a labelled zero is not), -1 when mcpctl failed. */
long long h_counter(const char *ctl, const char *name, const char *label);
/* Run a command (from h_bindir()) to completion; its stdout goes to out (may be NULL). */
int h_run(char *out, size_t outlen, char *const argv[]);
/* Write a file under h_tmpdir(); returns its path (static storage per call slot). */
const char *h_write_file(const char *name, const char *text);
/* Does the file contain the string? */
int h_file_contains(const char *path, const char *needle);
/* Wait until it does (a log line, say), for a deadline only a hang reaches. 1 if it did. */
int h_wait_contains(const char *path, const char *needle);

/*
 * The start of a suite run on one data path: `prog user|bpf`. Sets *datapath and the cmocka
 * group name ("prog_user"), raises the open-file limit to its hard maximum, ignores SIGPIPE,
 * and becomes the reaper of orphaned descendants (an mcpd that an upgrade started).
 * Returns -1 to go on, or the exit status: 2 on bad usage, 77 (SKIPPED, with the reason)
 * for the bpf path without root.
 */
int h_datapath_start(int argc, char **argv, const char *prog, const char **datapath, char *name,
		     size_t len);
/* MCP_TEST_FILTER=test_name* runs only the tests it matches (cmocka_set_test_filter). */
void h_filter_from_env(void);

/* ---- an MCP client over a blocking socket -------------------------------------------------- */

struct h_frame {
	struct mcp_frame f;
	uint8_t buf[MCP_HDR_MAX_LEN + MCP_MAX_FRAME_LIMIT];
};

/* How long a test waits for an answer (only a hang runs out of it), and how long it listens
 * to be sure none comes (a late answer then passes a check it should fail, never the reverse). */
#define H_ANSWER_MS  10000
#define H_SILENCE_MS 1000

/* Send a datagram to `to` and wait for the answer: its length, -1 if none came (H_ANSWER_MS
 * when one is expected, H_SILENCE_MS when not), -2 if the send failed. */
int h_udp_exchange(int fd, const struct sockaddr_in *to, const void *p, size_t n, void *answer,
		   size_t cap, bool expected);

int h_connect(int port);
/* Connect from a given loopback source address (127.0.0.0/8). */
int h_connect_from(int port, const char *source);
int h_send(int fd, const void *p, size_t n);
int h_send_frame(int fd, uint8_t version, uint8_t op, uint32_t stream, const void *p, size_t n);
/* Read one frame of any version (timeout 5 s). 0, or -1 on EOF/timeout/garbage. */
int h_read_frame(int fd, struct h_frame *out);
/* HELLO with these versions; returns the HELLO_ACK's version, or -(ERROR code) - 100, or -1. */
int h_hello(int fd, const uint32_t *versions, int n, struct mcp_hello_ack *ack);
/* The same with a token in the HELLO (len 0: none). */
int h_hello_token(int fd, const uint32_t *versions, int n, const uint8_t *token, size_t len,
		  struct mcp_hello_ack *ack);
/* Connect and negotiate version v; returns the fd or -1. */
int h_session(int port, int version);
/* The next frame must be ERROR with `code`, then the connection must close. 0 if so. */
int h_expect_error_close(int fd, int code);
/* GET http://127.0.0.1:port/path (HTTP/1.0); the body lands in out. The status, or -1 when
 * the request could not be sent. */
int h_http_get(int port, const char *path, char *out, size_t len);
/* The peer closes (read returns 0 or a reset) within 3 s. */
int h_expect_eof(int fd);
/* A request and its echoed response on a negotiated session. 0 if the answer is right. */
int h_roundtrip(int fd, int version, uint8_t op, size_t len);

/* ---- backends: mcp-echo processes ---------------------------------------------------------- */

struct h_backend;
/* mcp-echo's fault modes: none, --delay-ms arg, --die-after arg, --stall, --garbage. */
enum h_backend_mode { HB_ECHO = 0, HB_SLOW, HB_DIE_AFTER, HB_STALL, HB_GARBAGE };

/* An mcp-echo on 127.0.0.1 (TCP and UDP) that serves the whole run; NULL (said on stderr) when
 * it did not start. */
struct h_backend *h_backend_start(int mode, int arg);
int h_backend_port(const struct h_backend *b);
/* TCP frames of opcode op it received; UINT64_MAX (never a count a test expects) when it
 * gave no report. */
uint64_t h_backend_count(const struct h_backend *b, uint8_t op);
/* HELLOs it answered with HELLO_ACK (UINT64_MAX as above). */
uint64_t h_backend_sessions(const struct h_backend *b);
/* The client_id of the last HELLO the backend got ("" for none). */
void h_backend_last_client_id(struct h_backend *b, char *out, size_t len);
/* The v2 `session` field of the last UDP request the backend got. */
uint32_t h_backend_last_udp_session(const struct h_backend *b);
/* Stop it (NULL: nothing to stop). */
void h_backend_stop(struct h_backend *b);
/* The value of the line of mcp-echo's report (from its --stats socket) that starts with `key`
 * and a space ("" for an empty one): 1, 0 when the report has no such line, -1 when mcp-echo
 * gave none (said on stderr). */
int h_echo_report(const char *stats, const char *key, char *val, size_t len);

#endif
