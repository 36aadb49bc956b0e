// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcp-xdpcost: the XDP guard's cost per packet, measured in the kernel with
 * BPF_PROG_TEST_RUN and a repeat count, beside an empty XDP program in the same run.
 * Prints ns/packet for each packet kind and the guard's cost over the empty program.
 * Rounds alternate the programs; the medians are reported.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "frame.h"
#include "pin_root.h"
#include "mcp/xdp.h"
#include "mcp_xdp.skel.h"
#include "xdp_pass.skel.h"

#define PORT 7800

static size_t udp_packet(uint8_t *pkt, const uint8_t *payload, size_t plen)
{
	uint8_t *ip = pkt + 14, *udp = ip + 20;
	size_t tot = 20 + 8 + plen;

	memset(pkt, 0, 14 + tot);
	memcpy(pkt, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	udp[0] = 0x9c;
	udp[2] = PORT >> 8;
	udp[3] = PORT & 0xff;
	udp[4] = (uint8_t)((8 + plen) >> 8);
	udp[5] = (uint8_t)(8 + plen);
	memcpy(udp + 8, payload, plen);
	return 14 + tot;
}

static double ns_per_packet(int prog_fd, const uint8_t *pkt, size_t len, int repeat)
{
	static uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return o.duration; /* the kernel reports the mean ns per run */
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = 5, repeat = 1000000, json = 0, c;
	static const struct option opts[] = { { "rounds", required_argument, NULL, 'r' },
					      { "repeat", required_argument, NULL, 'n' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { 0 } };
	char pin[64];
	struct err err;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct mcp_xdp *guard;
	struct xdp_pass *empty;
	uint8_t payload[64], pkts[4][256];
	size_t lens[4];
	/* No PING row: XDP_TX rewrites the packet in place, so a repeated run would measure
	 * the PONG it made, not the PING. */
	const char *names[4] = { "valid frame (v1 GET, 24 B)", "invalid frame (bad magic)",
				 "valid frame, rate limit on", "not for the router (other port)" };
	uint8_t both = MCP_PORT_TCP | MCP_PORT_UDP;
	uint32_t port = PORT;

	while ((c = getopt_long(argc, argv, "r:n:jh", opts, NULL)) != -1) {
		if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'n')
			repeat = atoi(optarg);
		else if (c == 'j')
			json = 1;
		else {
			printf("Usage: mcp-xdpcost [--rounds R] [--repeat N] [--json]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || rounds > 99 || repeat < 1) {
		fprintf(stderr, "mcp-xdpcost: bad arguments\n");
		return 2;
	}
	libbpf_set_print(NULL);
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/mcp-bench-%d", getpid());
	if (pin_root_prepare(pin, &err)) {
		fprintf(stderr, "mcp-xdpcost: %s\n", err.msg);
		return 1;
	}
	oo.pin_root_path = pin;
	guard = mcp_xdp__open_opts(&oo);
	empty = xdp_pass__open_and_load();
	if (!guard || mcp_xdp__load(guard) || !empty) {
		fprintf(stderr, "mcp-xdpcost: cannot load the programs (root?): %s\n", strerror(errno));
		return 1;
	}
	bpf_map_update_elem(bpf_map__fd(guard->maps.mcp_xdp_ports), &port, &both, 0);

	size_t n = (size_t)mcp_frame_build(payload, sizeof(payload), 1, MCP_OP_GET, 0, 0, "sixteen bytes!!!", 16);
	lens[0] = udp_packet(pkts[0], payload, n);
	payload[0] = 'X';
	lens[1] = udp_packet(pkts[1], payload, n);
	payload[0] = 0x4D;
	lens[2] = udp_packet(pkts[2], payload, n);
	lens[3] = udp_packet(pkts[3], payload, n);
	pkts[3][14 + 20 + 3] = 53;

	double g[4][99], e[4][99];
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < 4; k++) {
			struct mcp_xdp_cfg cfg = { .rate_pps = k == 2 ? 1000000000 : 0,
						   .burst = 1000000000 };
			uint32_t zero = 0;

			bpf_map_update_elem(bpf_map__fd(guard->maps.mcp_xdp_cfg), &zero, &cfg, 0);
			/* Alternate: the guard, then the empty program, on the same packet. */
			g[k][r] = ns_per_packet(bpf_program__fd(guard->progs.mcp_xdp_guard), pkts[k],
						lens[k], repeat);
			e[k][r] = ns_per_packet(bpf_program__fd(empty->progs.xdp_pass_all), pkts[k],
						lens[k], repeat);
		}
	json_object *arr = json_object_new_array();
	if (!json)
		printf("%-34s %12s %12s %12s\n", "packet", "guard ns", "empty ns", "guard - empty");
	for (int k = 0; k < 4; k++) {
		qsort(g[k], (size_t)rounds, sizeof(double), cmp);
		qsort(e[k], (size_t)rounds, sizeof(double), cmp);
		double gm = g[k][rounds / 2], em = e[k][rounds / 2];

		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "packet", json_object_new_string(names[k]));
			json_object_object_add(o, "guard_ns", json_object_new_double(gm));
			json_object_object_add(o, "empty_ns", json_object_new_double(em));
			json_object_array_add(arr, o);
		} else {
			printf("%-34s %12.1f %12.1f %12.1f\n", names[k], gm, em, gm - em);
		}
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	bpf_object__unpin_maps(guard->obj, NULL);
	mcp_xdp__destroy(guard);
	xdp_pass__destroy(empty);
	pin_root_remove(pin);
	return 0;
}
