// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the stream decoder. The first bytes choose the rules and the chunking;
 * the rest is the stream. Whatever the chunking, the decoder must deliver the same frames
 * and stop at the same error offset as a single whole feed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "stream_decoder.h"

struct tally {
	uint64_t frames, bytes, hash;
};

static int count(void *ctx, const struct mcp_frame *f)
{
	struct tally *t = ctx;

	t->frames++;
	t->bytes += f->length;
	t->hash = t->hash * 1000003u ^ f->opcode ^ ((uint64_t)f->length << 8) ^ f->stream_id;
	for (uint32_t i = 0; i < f->length; i++)
		t->hash = t->hash * 31 + f->payload[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_decoder whole, cut;
	struct tally a = { 0 }, b = { 0 };
	ssize_t ra, rb = 0;
	size_t pos = 0;
	uint8_t chunk;

	if (size < 3)
		return 0;
	uint8_t version = data[0] % 3;
	int peer = (data[0] >> 2) % 3;
	uint32_t max = (uint32_t)data[1] << 8 | data[1];
	chunk = data[2] ? data[2] : 1;
	data += 3;
	size -= 3;

	mcp_decoder_init(&whole, version, peer, max);
	mcp_decoder_init(&cut, version, peer, max);
	ra = mcp_decoder_feed(&whole, data, size, count, &a);
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;

		rb = mcp_decoder_feed(&cut, data + pos, n, count, &b);
		if (rb < 0)
			break;
		pos += n;
		chunk = (uint8_t)(chunk * 5 + 1) ? (uint8_t)(chunk * 5 + 1) : 1;
	}
	if ((ra < 0) != (rb < 0) || a.frames != b.frames || a.hash != b.hash ||
	    whole.error != cut.error || (ra < 0 && whole.error_offset != cut.error_offset))
		abort();
	mcp_decoder_free(&whole);
	mcp_decoder_free(&cut);
	return 0;
}
