// SPDX-License-Identifier: GPL-2.0-only
/* The incremental stream decoder: every chunking yields the same frames or the same error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stream_decoder.h"

#define MAX_FRAMES 64

struct seen {
	int n;
	struct mcp_frame f[MAX_FRAMES];
	uint8_t payload[MAX_FRAMES][70000];
	struct mcp_decoder *d;
	int switch_to_v2_after_hello;
	int stop_after;
};

static int collect(void *ctx, const struct mcp_frame *f)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_FRAMES);
	s->f[s->n] = *f;
	if (f->length)
		memcpy(s->payload[s->n], f->payload, f->length);
	s->n++;
	if (s->switch_to_v2_after_hello && f->opcode == MCP_OP_HELLO)
		s->d->fr.version = 2;
	return s->stop_after && s->n == s->stop_after;
}

struct stream {
	uint8_t bytes[200000];
	size_t len;
	int n;
	struct mcp_frame f[MAX_FRAMES];
	size_t start[MAX_FRAMES];
};

static void add(struct stream *st, uint8_t version, uint8_t op, size_t len, uint32_t stream_id)
{
	uint8_t payload[65535];
	ssize_t n;

	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(st->n * 31 + i);
	n = mcp_frame_build(st->bytes + st->len, sizeof(st->bytes) - st->len, version, op,
			    stream_id, 0, payload, len);
	assert_true(n > 0);
	st->start[st->n] = st->len;
	st->f[st->n] = (struct mcp_frame){ .version = version, .opcode = op,
					   .length = (uint16_t)len,
					   .stream_id = version == 2 ? stream_id : 0 };
	st->len += (size_t)n;
	st->n++;
}

static void check_same(const struct stream *st, const struct seen *s, int n)
{
	assert_int_equal(s->n, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(s->f[i].version, st->f[i].version);
		assert_int_equal(s->f[i].opcode, st->f[i].opcode);
		assert_int_equal(s->f[i].length, st->f[i].length);
		assert_int_equal(s->f[i].stream_id, st->f[i].stream_id);
		for (size_t j = 0; j < s->f[i].length; j++)
			assert_int_equal(s->payload[i][j], (uint8_t)(i * 31 + j));
	}
}

/* Feed `st` cut at the given points; returns the feed's last result. */
static ssize_t feed_cut(struct mcp_decoder *d, const struct stream *st, const size_t *cuts,
			int ncuts, struct seen *s)
{
	size_t pos = 0;
	ssize_t r = 0;

	for (int i = 0; i <= ncuts; i++) {
		size_t next = i < ncuts ? cuts[i] : st->len;

		r = mcp_decoder_feed(d, st->bytes + pos, next - pos, collect, s);
		if (r < 0)
			return r;
		assert_int_equal(r, next - pos);
		pos = next;
	}
	return r;
}

static struct seen *new_seen(struct mcp_decoder *d)
{
	struct seen *s = calloc(1, sizeof(*s));

	s->d = d;
	return s;
}

static void mixed_stream(struct stream *st, uint32_t max)
{
	st->len = 0;
	st->n = 0;
	add(st, 1, MCP_OP_GET, 0, 0);
	add(st, 1, MCP_OP_SET, 1, 0);
	add(st, 1, MCP_OP_PING, 7, 0);
	add(st, 1, 0x6F, 300, 0);
	add(st, 1, MCP_OP_SYNC, 8, 0);
	add(st, 1, MCP_OP_DEL, max, 0);
	add(st, 1, MCP_OP_CLOSE, 0, 0);
}

static void test_every_split_point(void **state)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct mcp_decoder d;

	(void)state;
	mixed_stream(st, 1000);
	for (size_t cut = 0; cut <= st->len; cut++) {
		struct seen *s = new_seen(&d);

		mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, 1000);
		assert_true(feed_cut(&d, st, &cut, 1, s) >= 0);
		check_same(st, s, st->n);
		assert_true(mcp_decoder_idle(&d));
		assert_int_equal(d.offset, st->len);
		mcp_decoder_free(&d);
		free(s);
	}
	free(st);
}

static void test_every_pair_of_split_points(void **state)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct mcp_decoder d;

	(void)state;
	st->len = 0;
	add(st, 2, MCP_OP_GET, 3, 11);
	add(st, 2, MCP_OP_PING, 0, 12);
	add(st, 2, MCP_OP_SET, 20, 13);
	for (size_t a = 0; a <= st->len; a++) {
		for (size_t b = a; b <= st->len; b++) {
			size_t cuts[2] = { a, b };
			struct seen *s = new_seen(&d);

			mcp_decoder_init(&d, 2, MCP_PEER_CLIENT, 100);
			assert_true(feed_cut(&d, st, cuts, 2, s) >= 0);
			check_same(st, s, st->n);
			mcp_decoder_free(&d);
			free(s);
		}
	}
	free(st);
}

static void test_one_byte_at_a_time_and_random(void **state)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct mcp_decoder d;
	size_t *cuts;

	(void)state;
	mixed_stream(st, 65535);
	cuts = calloc(st->len, sizeof(*cuts));
	for (size_t i = 0; i + 1 < st->len; i++)
		cuts[i] = i + 1;
	struct seen *s = new_seen(&d);
	mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, 65535);
	assert_true(feed_cut(&d, st, cuts, (int)st->len - 1, s) >= 0);
	check_same(st, s, st->n);
	mcp_decoder_free(&d);
	free(s);

	srand(7);
	for (int round = 0; round < 200; round++) {
		int n = 0;
		size_t pos = 0;

		while (n < 40) {
			pos += 1 + (size_t)rand() % 4000;
			if (pos >= st->len)
				break;
			cuts[n++] = pos;
		}
		s = new_seen(&d);
		mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, 65535);
		assert_true(feed_cut(&d, st, cuts, n, s) >= 0);
		check_same(st, s, st->n);
		mcp_decoder_free(&d);
		free(s);
	}
	free(cuts);
	free(st);
}

/* A good prefix, then a header broken at `field`; the error must land on its exact byte. */
static void expect_error_everywhere(uint8_t version, int peer, uint32_t max, uint8_t bad_version,
				    uint8_t bad_op, size_t bad_len, int magic_byte, int want,
				    size_t want_at_in_hdr)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct mcp_decoder d;
	size_t bad_start;

	add(st, version, peer == MCP_PEER_BACKEND ? 0x81 : 0x01, 5, 1);
	add(st, version, MCP_OP_PING, 0, 2);
	bad_start = st->len;
	if (bad_len > max) {
		/* Header only: the payload never arrives. */
		struct mcp_frame f = { .version = bad_version, .opcode = bad_op,
				       .length = (uint16_t)bad_len };
		st->len += mcp_frame_encode_header(st->bytes + st->len, &f);
	} else {
		add(st, bad_version, bad_op, bad_len, 3);
	}
	if (magic_byte >= 0)
		st->bytes[bad_start + (size_t)magic_byte] ^= 0xFF;

	for (size_t cut = 0; cut <= st->len; cut++) {
		struct seen *s = new_seen(&d);
		ssize_t r;

		mcp_decoder_init(&d, version, peer, max);
		r = feed_cut(&d, st, &cut, 1, s);
		assert_int_equal(r, -want);
		assert_int_equal(d.error, want);
		assert_int_equal(d.error_offset, bad_start + want_at_in_hdr);
		check_same(st, s, 2);
		/* Sticky: nothing more is accepted. */
		assert_int_equal(mcp_decoder_feed(&d, st->bytes, 8, collect, s), -want);
		assert_int_equal(s->n, 2);
		mcp_decoder_free(&d);
		free(s);
	}
	free(st);
}

static void test_errors_at_exact_byte(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 1, 0x01, 4, i,
					MCP_CHECK_BAD_MAGIC, (size_t)i);
	expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 2, 0x01, 4, -1, MCP_CHECK_BAD_VERSION, 4);
	expect_error_everywhere(2, MCP_PEER_CLIENT, 100, 1, 0x01, 4, -1, MCP_CHECK_BAD_VERSION, 4);
	expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 1, 0x00, 4, -1, MCP_CHECK_BAD_OPCODE, 5);
	expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 1, 0xF2, 4, -1, MCP_CHECK_BAD_OPCODE, 5);
	expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 1, 0x85, 4, -1, MCP_CHECK_BAD_OPCODE, 5);
	expect_error_everywhere(2, MCP_PEER_BACKEND, 100, 2, 0x05, 4, -1, MCP_CHECK_BAD_OPCODE, 5);
	expect_error_everywhere(1, MCP_PEER_CLIENT, 100, 1, 0x01, 101, -1, MCP_CHECK_TOO_LARGE, 6);
	expect_error_everywhere(2, MCP_PEER_CLIENT, 16384, 2, 0x01, 16385, -1, MCP_CHECK_TOO_LARGE,
				6);
}

static void test_max_frame_boundaries(void **state)
{
	static const uint32_t limits[] = { 0, 1, 16384, 65534, 65535 };

	(void)state;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct stream *st = calloc(1, sizeof(*st));
		struct mcp_decoder d;
		struct seen *s = new_seen(&d);
		uint32_t max = limits[i];

		add(st, 1, MCP_OP_SET, max, 0);
		mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, max);
		size_t cut = st->len / 2;
		assert_true(feed_cut(&d, st, &cut, 1, s) >= 0);
		check_same(st, s, 1);
		mcp_decoder_free(&d);
		free(s);
		free(st);
		if (max == 65535)
			continue; /* max + 1 does not fit in 16 bits */
		st = calloc(1, sizeof(*st));
		struct mcp_frame f = { .version = 1, .opcode = MCP_OP_SET,
				       .length = (uint16_t)(max + 1) };
		st->len = mcp_frame_encode_header(st->bytes, &f);
		s = new_seen(&d);
		mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, max);
		assert_int_equal(feed_cut(&d, st, NULL, 0, s), -MCP_CHECK_TOO_LARGE);
		assert_int_equal(d.error_offset, 6);
		mcp_decoder_free(&d);
		free(s);
		free(st);
	}
}

static void test_callback_controls_feed(void **state)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct mcp_decoder d;
	struct seen *s = new_seen(&d);
	ssize_t r;

	(void)state;
	/* HELLO in v1, then the session's v2 frames in the same write. */
	add(st, 1, MCP_OP_HELLO, 10, 0);
	add(st, 2, MCP_OP_GET, 5, 77);
	add(st, 2, MCP_OP_SET, 0, 78);
	mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, 100);
	s->switch_to_v2_after_hello = 1;
	assert_true(feed_cut(&d, st, NULL, 0, s) >= 0);
	check_same(st, s, 3);
	mcp_decoder_free(&d);
	free(s);

	/* A callback that stops the feed gets the rest back. */
	s = new_seen(&d);
	mcp_decoder_init(&d, 1, MCP_PEER_CLIENT, 100);
	s->stop_after = 1;
	r = mcp_decoder_feed(&d, st->bytes, st->len, collect, s);
	assert_int_equal(r, st->start[1]);
	assert_int_equal(s->n, 1);
	assert_true(mcp_decoder_idle(&d));
	/* Without the switch, the v2 frame is a version error. */
	s->stop_after = 0;
	r = mcp_decoder_feed(&d, st->bytes + st->start[1], st->len - st->start[1], collect, s);
	assert_int_equal(r, -MCP_CHECK_BAD_VERSION);
	assert_int_equal(d.error_offset, st->start[1] + 4);
	mcp_decoder_free(&d);
	free(s);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_every_pair_of_split_points),
		cmocka_unit_test(test_one_byte_at_a_time_and_random),
		cmocka_unit_test(test_errors_at_exact_byte),
		cmocka_unit_test(test_max_frame_boundaries),
		cmocka_unit_test(test_callback_controls_feed),
	};
	return cmocka_run_group_tests_name("stream_decoder", tests, NULL, NULL);
}
