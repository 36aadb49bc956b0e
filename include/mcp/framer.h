/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * One framer step: how a byte stream, arriving in chunks of any size, divides into MCP frames.
 * The sockmap verdict (bpf/lib/walk.h) and mcpd's stream decoder (user/stream_decoder.c) both
 * walk their streams with it, so the kernel and userspace cannot disagree on where a frame
 * begins, which rule a header breaks, or at which byte (tests/fuzz/fuzz_framer.c checks this
 * on random streams in every chunking, the kernel's side run in the kernel).
 *
 * The step never reads the chunk itself: the caller copies the bytes mcp_framer_need() asks for
 * to fr->hdr + fr->hdr_have (bpf_skb_load_bytes in the kernel, memcpy in userspace), then calls
 * mcp_framer_step(). A step consumes one of:
 *   - header bytes: the header is checked field by field as its bytes arrive (a stream that
 *     starts "XYZ" breaks the magic rule at byte 0, without waiting for eight bytes);
 *     once whole and valid, as much of the frame's payload as the chunk holds;
 *   - payload bytes of a frame whose header came in an earlier chunk.
 */
#ifndef MCP_FRAMER_H
#define MCP_FRAMER_H

#include <linux/types.h>
#include "mcp/wire.h"

struct mcp_framer {
	__u8 peer;	/* rule: enum mcp_peer, who sends this stream */
	__u8 version;	/* rule: the session's header version, 0 = any the protocol has */
	__u8 owner;	/* not the framer's: a byte for the state that embeds it */
	__u8 hdr_have;	/* bytes of the next header gathered in hdr[]; 0 once it is whole */
	__u32 max_frame; /* rule: the longest payload allowed */
	__u8 hdr[MCP_HDR_MAX_LEN]; /* the header of the current (or last) frame */
	__u32 skip;	/* payload bytes of the current frame still to come */
};

MCP_STATIC_ASSERT(sizeof(struct mcp_framer) == 28, "mcp_framer");

enum mcp_step_event {
	MCP_STEP_BODY = 0, /* payload of a frame whose header came earlier */
	MCP_STEP_PARTIAL,  /* header bytes gathered, the header is not whole yet */
	MCP_STEP_HEADER,   /* a header is whole and valid; `body` of its payload bytes follow it */
	MCP_STEP_BAD,	   /* the header breaks `check` at its byte `at`: the stream is broken */
};

struct mcp_step {
	__u32 used;  /* bytes of the chunk this step consumed */
	__u32 body;  /* of them, the payload bytes at the end */
	__u8 event;  /* enum mcp_step_event */
	__u8 check;  /* MCP_STEP_BAD: enum mcp_check */
	__u8 at;     /* MCP_STEP_BAD: the header byte where it broke */
	__u8 _pad;
};

static __always_inline void mcp_framer_init(struct mcp_framer *fr, __u8 version, int peer,
					    __u32 max_frame)
{
	__builtin_memset(fr, 0, sizeof(*fr));
	fr->version = version;
	fr->peer = (__u8)peer;
	fr->max_frame = max_frame;
}

/* Between two frames: nothing of a frame is pending. */
static __always_inline int mcp_framer_at_boundary(const struct mcp_framer *fr)
{
	return fr->hdr_have == 0 && fr->skip == 0;
}

/* The length of the header being gathered, as far as its bytes (or the rules) tell. */
static __always_inline __u32 mcp_framer_hdr_len(const struct mcp_framer *fr)
{
	if (fr->hdr_have > MCP_OFF_VERSION)
		return mcp_hdr_len(fr->hdr[MCP_OFF_VERSION]);
	return fr->version ? mcp_hdr_len(fr->version) : MCP_HDR_V1_LEN;
}

/* How many bytes at the head of a chunk of `avail` the next step must find copied to
 * fr->hdr + fr->hdr_have: 0 inside a payload, else up to the rest of the header. */
static __always_inline __u32 mcp_framer_need(const struct mcp_framer *fr, __u32 avail)
{
	__u32 want;

	if (fr->skip || fr->hdr_have >= MCP_HDR_MAX_LEN)
		return 0;
	want = mcp_framer_hdr_len(fr) - fr->hdr_have;
	return want < avail ? want : avail;
}

/* One step over a chunk of `avail` (> 0) bytes whose first `loaded` bytes, as asked by
 * mcp_framer_need(fr, avail), were just copied to fr->hdr + fr->hdr_have. */
static __always_inline void mcp_framer_step(struct mcp_framer *fr, __u32 loaded, __u32 avail,
					    struct mcp_step *out)
{
	__u32 have, hlen, body, at = 0;
	int check;

	out->check = MCP_CHECK_OK;
	out->at = 0;
	if (!loaded) {
		body = fr->skip < avail ? fr->skip : avail;
		fr->skip -= body;
		out->used = body;
		out->body = body;
		out->event = MCP_STEP_BODY;
		return;
	}
	have = fr->hdr_have + loaded;
	if (have > MCP_HDR_MAX_LEN)
		have = MCP_HDR_MAX_LEN;
	check = mcp_check_prefix(fr->hdr, have, fr->version, fr->max_frame, fr->peer, &at);
	out->used = loaded;
	out->body = 0;
	if (check != MCP_CHECK_OK) {
		out->event = MCP_STEP_BAD;
		out->check = (__u8)check;
		out->at = (__u8)at;
		fr->hdr_have = (__u8)have;
		return;
	}
	fr->hdr_have = (__u8)have;
	hlen = mcp_framer_hdr_len(fr);
	if (have < hlen) {
		out->event = MCP_STEP_PARTIAL;
		return;
	}
	/* Whole: the header stays in hdr[] for the caller while its payload goes by. */
	fr->hdr_have = 0;
	fr->skip = mcp_hdr_length(fr->hdr);
	body = fr->skip < avail - loaded ? fr->skip : avail - loaded;
	fr->skip -= body;
	out->used = loaded + body;
	out->body = body;
	out->event = MCP_STEP_HEADER;
}

#endif /* MCP_FRAMER_H */
