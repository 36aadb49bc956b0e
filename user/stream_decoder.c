// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace stream decoder: owns the framer state of one stream and the assembly of frames
 * split across chunks; the framing itself is include/mcp/framer.h, shared with the kernel.
 */
#include <stdlib.h>
#include <string.h>
#include "stream_decoder.h"

void mcp_decoder_init(struct mcp_decoder *d, uint8_t version, int peer, uint32_t max_frame)
{
	memset(d, 0, sizeof(*d));
	mcp_framer_init(&d->fr, version, peer, max_frame);
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

/* Inside a payload: the frame's header is whole in fr.hdr. */
static int in_payload(const struct mcp_decoder *d)
{
	return d->fr.hdr_have == 0 && (d->fr.skip || d->body_have);
}

uint32_t mcp_decoder_pending_len(const struct mcp_decoder *d)
{
	if (!in_payload(d))
		return d->fr.hdr_have;
	return mcp_hdr_len(d->fr.hdr[MCP_OFF_VERSION]) + d->body_have;
}

void mcp_decoder_pending(const struct mcp_decoder *d, uint8_t *out)
{
	uint32_t hlen;

	if (!in_payload(d)) {
		memcpy(out, d->fr.hdr, d->fr.hdr_have);
		return;
	}
	hlen = mcp_hdr_len(d->fr.hdr[MCP_OFF_VERSION]);
	memcpy(out, d->fr.hdr, hlen);
	if (d->body_have)
		memcpy(out + hlen, d->body, d->body_have);
}

/* Keep `n` payload bytes of a frame split across chunks. */
static int gather(struct mcp_decoder *d, const uint8_t *p, uint32_t n)
{
	uint32_t need = mcp_hdr_length(d->fr.hdr);

	if (need > d->body_cap) {
		uint8_t *nb = realloc(d->body, need);

		if (!nb)
			return -1;
		d->body = nb;
		d->body_cap = need;
	}
	memcpy(d->body + d->body_have, p, n);
	d->body_have += n;
	return 0;
}

ssize_t mcp_decoder_feed(struct mcp_decoder *d, const void *data, size_t len, mcp_frame_cb cb,
			 void *ctx)
{
	const uint8_t *start = data, *p = data, *end = start + len;
	struct mcp_frame f;
	struct mcp_step st;

	if (d->error)
		return -d->error;

	while (p < end) {
		uint32_t avail = end - p > UINT32_MAX ? UINT32_MAX : (uint32_t)(end - p);
		uint32_t n = mcp_framer_need(&d->fr, avail);
		uint64_t hdr_start = d->offset - d->fr.hdr_have;

		if (n)
			memcpy(d->fr.hdr + d->fr.hdr_have, p, n);
		mcp_framer_step(&d->fr, n, avail, &st);
		if (st.event == MCP_STEP_BAD)
			return fail(d, st.check, hdr_start + st.at);
		if (st.event != MCP_STEP_PARTIAL) {
			mcp_frame_fields(d->fr.hdr, &f);
			if (st.event == MCP_STEP_HEADER && st.body == f.length) {
				f.payload = f.length ? p + n : NULL; /* whole in this chunk: no copy */
			} else {
				if (st.body && gather(d, p + n, st.body))
					return fail(d, MCP_DECODER_ENOMEM, d->offset + n);
				f.payload = d->body;
			}
		}
		p += st.used;
		d->offset += st.used;
		if (st.event == MCP_STEP_PARTIAL || d->fr.skip)
			continue;
		d->body_have = 0;
		if (cb(ctx, &f))
			return p - start;
	}
	return p - start;
}
