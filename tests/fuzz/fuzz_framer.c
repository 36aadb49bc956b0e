// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the kernel's framer and userspace's agree. The input describes a stream of
 * mostly well-formed frames, some broken, and how to cut it into chunks; the stream is walked
 * by the verdict's walk in the kernel (bpf/lib/walk.h through BPF_PROG_TEST_RUN) and by mcpd's
 * stream decoder, chunk by chunk, and they must agree on every chunk (walk_agree). Needs root.
 *
 * Input: byte 0 picks the rules (bit 0: version 2, bit 1: a backend's stream, bit 2: raw,
 * the rest of the input is the stream as it is); then records of four bytes, one per frame:
 * opcode, length, a flag byte (bits 0-1: length scale, 1, 16, 64 or 300; bit 2: a wrong magic
 * byte; bit 3: the other version; bit 4: cut inside the header), and the length of the chunk
 * that ends in this frame's payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "walk_runner.h"

#define MAX_FRAME 4096
#define STREAM_MAX (64 * 1024)
#define CUTS_MAX 4096

static struct walk_runner *runner;

static void close_runner(void)
{
	walk_runner_close(runner);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e;

	(void)argc;
	(void)argv;
	runner = walk_runner_open(&e);
	if (!runner) {
		fprintf(stderr, "fuzz_framer needs BPF (run as root): %s\n", e.msg);
		exit(1);
	}
	atexit(close_runner);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t scale[] = { 1, 16, 64, 300 };
	static uint8_t stream[STREAM_MAX + 70000];
	static const uint8_t payload[65535];
	static uint32_t cuts[CUTS_MAX];
	uint8_t version, rules;
	size_t len = 0, ncuts = 0, last_cut = 0;
	int peer;
	char why[256];

	if (size < 1)
		return 0;
	rules = data[0];
	version = rules & 1 ? 2 : 1;
	peer = rules & 2 ? MCP_PEER_BACKEND : MCP_PEER_CLIENT;
	if (rules & 4) {
		len = size - 1 < STREAM_MAX ? size - 1 : STREAM_MAX;
		memcpy(stream, data + 1, len);
		for (size_t at = 0; at < len && ncuts < CUTS_MAX; ncuts++)
			at += cuts[ncuts] = 1 + (uint32_t)((at * 2654435761u) % 97);
	} else {
		for (size_t i = 1; i + 4 <= size && len < STREAM_MAX && ncuts < CUTS_MAX; i += 4) {
			uint8_t op = data[i], flags = data[i + 2];
			uint32_t plen = (uint32_t)data[i + 1] * scale[flags & 3];
			uint8_t v = flags & 8 ? 3 - version : version;
			size_t cut;
			ssize_t n;

			if (plen > 65535)
				plen = 65535;
			n = mcp_frame_build(stream + len, sizeof(stream) - len, v, op, i, 0, payload,
					    plen);
			if (n <= 0)
				break;
			if (flags & 4)
				stream[len + (data[i + 3] & 3)] ^= 0x5A;
			/* A cut inside this frame's header, or inside its payload. */
			cut = len + 1 + (flags & 16 ? data[i + 3] % 7u : (data[i + 3] * 37u) % (size_t)n);
			if (cut > last_cut) {
				cuts[ncuts++] = (uint32_t)(cut - last_cut);
				last_cut = cut;
			}
			len += (size_t)n;
		}
	}
	if (!len)
		return 0;
	if (walk_agree(runner, version, peer, MAX_FRAME, stream, len, cuts, ncuts, why,
		       sizeof(why))) {
		fprintf(stderr, "the kernel and userspace disagree: %s\n", why);
		abort();
	}
	return 0;
}
