// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel and userspace apply the same header rules: every opcode, version, length and
 * magic variant is checked by the BPF build of include/mcp/wire.h (run in the kernel with
 * BPF_PROG_TEST_RUN) and by the userspace build, and the answers must be equal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "mcp/wire.h"
#include "wire_check.skel.h"

static struct wire_check *skel;

static int run_in_kernel(const uint8_t *hdr, uint8_t want, uint32_t max, int peer)
{
	uint8_t pkt[14 + 8] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt));

	memcpy(pkt + 14, hdr, 8);
	skel->bss->want_version = want;
	skel->bss->max_frame = max;
	skel->bss->peer = (uint32_t)peer;
	skel->data->result = -1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mcp_wire_check), &opts),
			 0);
	assert_int_equal(opts.retval, 2 /* XDP_PASS */);
	return skel->data->result;
}

static void test_same_rules(void **state)
{
	static const uint16_t lengths[] = { 0, 1, 99, 100, 101, 16384, 16385, 65535 };
	static const uint32_t maxes[] = { 100, 16384, 65535 };
	uint8_t h[8] = { 0x4D, 0x43, 0x50, 0x01 };
	int compared = 0, bad = 0;

	(void)state;
	for (unsigned op = 0; op < 256; op++)
		for (unsigned v = 0; v < 4; v++)
			for (int peer = 0; peer < 3; peer++)
				for (size_t li = 0; li < 8; li++) {
					uint32_t max = maxes[(op + li) % 3];
					uint8_t want = (uint8_t)((op + peer) % 3);

					h[4] = (uint8_t)v;
					h[5] = (uint8_t)op;
					h[6] = lengths[li] >> 8;
					h[7] = lengths[li] & 0xff;
					int user = mcp_check_header(h, want, max, peer);
					int kern = run_in_kernel(h, want, max, peer);
					assert_int_equal(kern, user);
					bad += user != MCP_CHECK_OK;
					compared++;
				}
	/* Each magic byte broken. */
	h[4] = 1;
	h[5] = 1;
	h[6] = h[7] = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t saved = h[i];

		h[i] ^= 0x5A;
		assert_int_equal(run_in_kernel(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_BAD_MAGIC);
		h[i] = saved;
	}
	assert_int_equal(run_in_kernel(h, 1, 100, MCP_PEER_CLIENT), MCP_CHECK_OK);
	print_message("compared %d headers (%d invalid) in kernel and userspace\n", compared, bad);
	assert_true(bad > 0 && bad < compared);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_same_rules) };
	int err;

	skel = wire_check__open_and_load();
	if (!skel) {
		err = -errno;
		printf("SKIPPED: cannot load a BPF program (%s)%s\n", strerror(-err),
		       geteuid() ? ": not root" : "");
		return 77;
	}
	err = cmocka_run_group_tests_name("wire_bpf", tests, NULL, NULL);
	wire_check__destroy(skel);
	return err;
}
