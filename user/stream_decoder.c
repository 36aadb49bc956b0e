// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include "stream_decoder.h"

void mcp_decoder_init(struct mcp_decoder *d, uint8_t version, int peer, uint32_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->version = version;
	d->peer = (uint8_t)peer;
	d->max_frame = max_frame;
}

void mcp_decoder_free(struct mcp_decoder *d)
{
	free(d->body);
	d->body = NULL;
	d->body_cap = 0;
}

static ssize_t fail(struct mcp_decoder *d, int check, uint64_t at)
{
	d->error = check;
	d->error_offset = at;
	return -check;
}

/* Bytes of header the current frame has: 8 until its version byte says otherwise. */
static uint32_t header_need(const struct mcp_decoder *d)
{
	if (d->hdr_have <= MCP_OFF_VERSION)
		return MCP_HDR_V1_LEN;
	return mcp_hdr_len(d->hdr[MCP_OFF_VERSION]);
}

/*
 * Take one header byte, checking the field it completes with the rules of mcp/wire.h.
 * Returns MCP_CHECK_OK or the broken rule.
 */
static int take_header_byte(struct mcp_decoder *d, uint8_t b)
{
	uint32_t i = d->hdr_have;

	d->hdr[i] = b;
	if (i < MCP_MAGIC_LEN) {
		if (b != mcp_magic_byte(i))
			return MCP_CHECK_BAD_MAGIC;
	} else if (i == MCP_OFF_VERSION) {
		if (!mcp_version_ok(b, d->version))
			return MCP_CHECK_BAD_VERSION;
	} else if (i == MCP_OFF_OPCODE) {
		if (!mcp_opcode_allowed(b, d->peer))
			return MCP_CHECK_BAD_OPCODE;
	} else if (i == MCP_OFF_LENGTH + 1) {
		if (mcp_hdr_length(d->hdr) > d->max_frame)
			return MCP_CHECK_TOO_LARGE;
	}
	d->hdr_have = i + 1;
	return MCP_CHECK_OK;
}

static int grow_body(struct mcp_decoder *d, uint32_t need)
{
	uint8_t *nb;

	if (need <= d->body_cap)
		return 0;
	nb = realloc(d->body, need);
	if (!nb)
		return -1;
	d->body = nb;
	d->body_cap = need;
	return 0;
}

ssize_t mcp_decoder_feed(struct mcp_decoder *d, const void *data, size_t len, mcp_frame_cb cb,
			 void *ctx)
{
	const uint8_t *start = data, *p = data, *end = start + len;
	struct mcp_frame f;
	int stop;

	if (d->error)
		return -d->error;

	while (p < end) {
		if (d->hdr_have == 0) {
			/* Fast path: a whole, valid frame in place is handed over uncopied. */
			ssize_t n = mcp_frame_decode(p, (size_t)(end - p), d->version, d->max_frame,
						     d->peer, &f);
			if (n > 0) {
				p += n;
				d->offset += (uint64_t)n;
				if (cb(ctx, &f))
					return p - start;
				continue;
			}
			/* Partial or bad: the byte-wise path finds where. */
		}

		if (d->hdr_have < header_need(d)) {
			int check = take_header_byte(d, *p);

			if (check == MCP_CHECK_TOO_LARGE)
				return fail(d, check, d->offset - 1); /* first byte of `length` */
			if (check != MCP_CHECK_OK)
				return fail(d, check, d->offset);
			p++;
			d->offset++;
			if (d->hdr_have < header_need(d) || mcp_hdr_length(d->hdr) != 0)
				continue;
			/* An empty frame is complete with its header. */
			mcp_frame_fields(d->hdr, &f);
			f.payload = NULL;
		} else {
			uint32_t want = mcp_hdr_length(d->hdr) - d->body_have;
			uint32_t avail = (uint32_t)(end - p) < want ? (uint32_t)(end - p) : want;

			mcp_frame_fields(d->hdr, &f);
			if (d->body_have == 0 && avail == want) {
				f.payload = p; /* header was split, payload is whole */
			} else {
				if (grow_body(d, f.length))
					return fail(d, MCP_DECODER_ENOMEM, d->offset);
				memcpy(d->body + d->body_have, p, avail);
				f.payload = d->body;
			}
			d->body_have += avail;
			p += avail;
			d->offset += avail;
			if (d->body_have < f.length)
				continue;
		}
		d->hdr_have = 0;
		d->body_have = 0;
		stop = cb(ctx, &f);
		if (stop)
			return p - start;
	}
	return p - start;
}
