// SPDX-License-Identifier: GPL-2.0-only
/*
 * Upgrade in place, with privilege separation. A new mcpd must load and attach its programs
 * again, which takes more than the running one keeps after it drops its privileges (the
 * verifier needs CAP_PERFMON for the verdict program, libxdp CAP_SYS_ADMIN; measured: with
 * CAP_BPF and CAP_NET_ADMIN alone the verdict fails with E2BIG). So at start-up, before it
 * opens anything or drops anything, mcpd forks a helper ("mcpd-upgrader") that keeps the
 * privileges and does one thing: when mcpd writes 'U' on their socket pair, it starts the
 * binary mcpd was started from — the path resolved at start-up, so a package that replaced
 * the file brings the new build — with mcpd's own arguments plus -f --takeover, in the
 * directory mcpd was started in, and answers with the new pid; when that child exits (it
 * failed to take over), it says how. The request can name nothing else: a compromised mcpd
 * can only have the same binary started again. The helper exits when mcpd's end of the pair
 * closes, leaving a new mcpd running on its own.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "upgrade.h"
#include "err.h"

#define MAX_ARGS 64

struct upgrade_msg {
	char kind;     /* to the helper: 'U'; from it: 'P' started (value: pid), 'E' could not
			* start (value: errno), 'X' the child exited (value: wait status) */
	int32_t value; /* see kind */
	int32_t pid;   /* for 'X': which child */
};

static char exe[PATH_MAX], cwd[PATH_MAX];
static char *args[MAX_ARGS + 3];
static int helper_fd = -1; /* mcpd's end of the pair */
static pid_t helper;	    /* mcpd-upgrader */
static pid_t child;	   /* the new mcpd, while it runs */
static char state[128];

static void exec_new_mcpd(void)
{
	sigset_t none;

	/* Nothing of the helper's goes along: no descriptor, no blocked or ignored signal. */
	close_range(3, ~0u, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_NAME, "mcpd", 0, 0, 0);
	if (cwd[0] && chdir(cwd))
		_exit(126);
	execv(exe, args);
	fprintf(stderr, "mcpd: upgrade: cannot run %s: %s\n", exe, strerror(errno));
	_exit(127);
}

static void helper_loop(int fd)
{
	pid_t running = 0;

	prctl(PR_SET_NAME, "mcpd-upgrader", 0, 0, 0);
	/* ^C in a terminal reaches the whole process group: mcpd stops, and then this goes. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct upgrade_msg m = { 0 }, a = { 0 };
		int status;

		if (poll(&p, 1, running ? 100 : -1) < 0 && errno != EINTR)
			_exit(1);
		if (running && waitpid(running, &status, WNOHANG) == running) {
			a = (struct upgrade_msg){ .kind = 'X', .value = status, .pid = running };
			send(fd, &a, sizeof(a), MSG_NOSIGNAL);
			running = 0;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (recv(fd, &m, sizeof(m), 0) <= 0)
			_exit(0); /* mcpd is gone (or handed over and left) */
		if (m.kind != 'U')
			continue;
		if (running) {
			a = (struct upgrade_msg){ .kind = 'E', .value = EBUSY };
			send(fd, &a, sizeof(a), MSG_NOSIGNAL);
			continue;
		}
		running = fork();
		if (running == 0)
			exec_new_mcpd();
		a = running > 0 ? (struct upgrade_msg){ .kind = 'P', .value = running }
				: (struct upgrade_msg){ .kind = 'E', .value = errno };
		if (running < 0)
			running = 0;
		send(fd, &a, sizeof(a), MSG_NOSIGNAL);
	}
}

void upgrade_remember(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int k = 0, has_f = 0, has_takeover = 0;

	exe[n > 0 ? n : 0] = '\0';
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	for (int i = 0; i < argc && k < MAX_ARGS; i++) {
		has_f |= !strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground");
		has_takeover |= !strcmp(argv[i], "--takeover");
		args[k++] = argv[i];
	}
	if (!has_f)
		args[k++] = "-f"; /* it starts detached already */
	if (!has_takeover)
		args[k++] = "--takeover";
	args[k] = NULL;
}

int upgrade_helper_start(void)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		pr_err("upgrade helper: socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pr_err("upgrade helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		helper_loop(sv[1]);
	}
	close(sv[1]);
	helper_fd = sv[0];
	helper = pid;
	return 0;
}

pid_t upgrade_start(struct err *e)
{
	struct upgrade_msg m = { .kind = 'U' }, a = { 0 };
	struct pollfd p = { .fd = helper_fd, .events = POLLIN };

	if (child > 0)
		return err_set(e, EBUSY, "an upgrade is under way already (pid %d)", (int)child);
	if (!exe[0])
		return err_set(e, ENOENT, "cannot run this mcpd's binary: its path is unknown");
	if (access(exe, X_OK))
		return err_set(e, errno, "cannot run %s: %s", exe, strerror(errno));
	if (helper_fd < 0 || send(helper_fd, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m) ||
	    poll(&p, 1, 5000) != 1 || recv(helper_fd, &a, sizeof(a), 0) != sizeof(a))
		return err_set(e, EPIPE,
			       "the upgrade helper (mcpd-upgrader) is gone or does not answer; start "
			       "the new mcpd with --takeover by hand");
	if (a.kind != 'P')
		return err_set(e, a.value, "cannot start %s: %s", exe, strerror(a.value));
	child = a.value;
	snprintf(state, sizeof(state), "running: pid %d", (int)child);
	pr_info("upgrade: started %s (pid %d) to take over", exe, (int)child);
	return child;
}

void upgrade_poll(void)
{
	struct upgrade_msg a;

	/* Someone killed the helper: reap it, and end an upgrade it was watching. */
	if (helper > 0 && waitpid(helper, NULL, WNOHANG) == helper) {
		pr_err("upgrade: the helper (mcpd-upgrader, pid %d) has gone; mcpctl upgrade is "
		       "unavailable until mcpd restarts", (int)helper);
		helper = 0;
		close(helper_fd);
		helper_fd = -1;
		if (child > 0)
			snprintf(state, sizeof(state), "failed: pid %d lost its helper", (int)child);
		child = 0;
		return;
	}
	if (child <= 0 || recv(helper_fd, &a, sizeof(a), MSG_DONTWAIT) != sizeof(a) ||
	    a.kind != 'X' || a.pid != child)
		return;
	if (WIFEXITED(a.value))
		snprintf(state, sizeof(state), "failed: pid %d exited with status %d", (int)child,
			 WEXITSTATUS(a.value));
	else
		snprintf(state, sizeof(state), "failed: pid %d killed by signal %d", (int)child,
			 WTERMSIG(a.value));
	pr_err("upgrade: the new mcpd %s; this one carries on", state + strlen("failed: "));
	child = 0;
}

const char *upgrade_state(void)
{
	return state;
}
