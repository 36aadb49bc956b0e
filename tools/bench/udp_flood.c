// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcp-udpflood: send one kind of MCP datagram as fast as one core can (sendmmsg batches)
 * for a while, counting the answers that come back. With --netns it sends from a network
 * namespace (for the veth benchmarks of the XDP guard).
 *
 *   mcp-udpflood --target 10.77.0.1:7800 --kind invalid|ping|valid --seconds 3 [--netns NS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "frame.h"

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "target", required_argument, NULL, 't' },
					      { "kind", required_argument, NULL, 'k' },
					      { "seconds", required_argument, NULL, 's' },
					      { "netns", required_argument, NULL, 'N' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	const char *target = NULL, *kind = "invalid", *netns = NULL;
	double seconds = 3, t0, end;
	struct mcp_addr addr;
	uint8_t pkt[64], rbuf[BATCH][256];
	struct mmsghdr out[BATCH], in[BATCH];
	struct iovec oiov, iiov[BATCH];
	uint64_t sent = 0, answered = 0;
	int json = 0, c, fd;
	ssize_t len;

	while ((c = getopt_long(argc, argv, "t:k:s:N:jh", opts, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'k': kind = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'N': netns = optarg; break;
		case 'j': json = 1; break;
		default:
			printf("Usage: mcp-udpflood --target IP:PORT --kind invalid|ping|valid "
			       "[--seconds S] [--netns NS] [--json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!target || mcp_parse_addr(target, &addr) || seconds <= 0) {
		fprintf(stderr, "mcp-udpflood: --target IP:PORT is required\n");
		return 2;
	}
	if (netns) {
		char path[128];
		int nfd;

		snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
		nfd = open(path, O_RDONLY);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET)) {
			fprintf(stderr, "mcp-udpflood: cannot enter netns %s: %s\n", netns, strerror(errno));
			return 1;
		}
	}
	if (!strcmp(kind, "ping"))
		len = mcp_frame_build(pkt, sizeof(pkt), 1, MCP_OP_PING, 0, 0, "sixteen bytes!!!", 16);
	else if (!strcmp(kind, "valid"))
		len = mcp_frame_build(pkt, sizeof(pkt), 1, MCP_OP_GET, 0, 0, "sixteen bytes!!!", 16);
	else if (!strcmp(kind, "invalid")) {
		len = mcp_frame_build(pkt, sizeof(pkt), 1, MCP_OP_GET, 0, 0, "sixteen bytes!!!", 16);
		pkt[0] = 'X'; /* not MCP */
	} else {
		fprintf(stderr, "mcp-udpflood: --kind is invalid, ping or valid\n");
		return 2;
	}
	fd = socket(addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr.ss, addr.len)) {
		fprintf(stderr, "mcp-udpflood: %s: %s\n", target, strerror(errno));
		return 1;
	}
	oiov = (struct iovec){ .iov_base = pkt, .iov_len = (size_t)len };
	memset(out, 0, sizeof(out));
	memset(in, 0, sizeof(in));
	for (int i = 0; i < BATCH; i++) {
		out[i].msg_hdr.msg_iov = &oiov;
		out[i].msg_hdr.msg_iovlen = 1;
		iiov[i] = (struct iovec){ .iov_base = rbuf[i], .iov_len = sizeof(rbuf[i]) };
		in[i].msg_hdr.msg_iov = &iiov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	end = t0 + seconds;
	while (now_s() < end) {
		int n = sendmmsg(fd, out, BATCH, MSG_DONTWAIT);

		if (n > 0)
			sent += (uint64_t)n;
		while ((n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL)) > 0)
			answered += (uint64_t)n;
	}
	/* Answers still on their way. */
	for (double drain = now_s() + 0.2; now_s() < drain;) {
		int n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);

		if (n > 0)
			answered += (uint64_t)n;
	}
	if (json)
		printf("{\"kind\":\"%s\",\"seconds\":%.3f,\"sent_per_sec\":%.0f,\"answers_per_sec\":%.0f}\n",
		       kind, seconds, (double)sent / seconds, (double)answered / seconds);
	else
		printf("%s: sent %.0f/s, answers %.0f/s over %.1f s\n", kind, (double)sent / seconds,
		       (double)answered / seconds, seconds);
	return 0;
}
