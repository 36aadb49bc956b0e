/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Incremental MCP stream decoder. Fed bytes in any chunking, it calls back once per whole
 * frame, or stops with a precise error at the byte where the stream broke a rule of
 * mcp/wire.h. Frames that lie whole inside one chunk are handed over without a copy; a frame
 * split across chunks is assembled in a buffer that grows to the largest frame seen.
 */
#ifndef MCP_STREAM_DECODER_H
#define MCP_STREAM_DECODER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "frame.h"
#include "mcp/framer.h"

struct mcp_decoder {
	/* The walk and its rules (fr.version, fr.peer, fr.max_frame): include/mcp/framer.h, the
	 * same step the kernel's verdict takes. The callback may change the rules; they apply
	 * from the next frame on. */
	struct mcp_framer fr;

	uint64_t offset;      /* stream offset of the next byte to be fed */
	uint32_t body_have;   /* payload bytes of a split frame gathered in body */
	uint8_t *body;        /* assembly buffer for split frames */
	uint32_t body_cap;

	/* A broken rule is sticky: the stream cannot be resynchronised. */
	int error;            /* enum mcp_check, MCP_CHECK_OK while healthy */
	uint64_t error_offset; /* offset of the offending byte (first byte of the field) */
};

/* Called once per whole frame; a non-zero return stops the feed after this frame. */
typedef int (*mcp_frame_cb)(void *ctx, const struct mcp_frame *f);

void mcp_decoder_init(struct mcp_decoder *d, uint8_t version, int peer, uint32_t max_frame);
void mcp_decoder_free(struct mcp_decoder *d);

/* Returned (negated) by mcp_decoder_feed when the assembly buffer cannot grow. */
#define MCP_DECODER_ENOMEM (MCP_CHECK__COUNT + 1)

/*
 * Feed `len` bytes. Returns the number of bytes consumed: `len`, or fewer when the callback
 * asked to stop (feed the rest again later). On a broken rule returns -(enum mcp_check), with
 * d->error and d->error_offset set; the frames before the bad one were delivered.
 */
ssize_t mcp_decoder_feed(struct mcp_decoder *d, const void *data, size_t len, mcp_frame_cb cb,
			 void *ctx);

/* True when the decoder sits exactly between two frames (nothing partial buffered). */
static inline int mcp_decoder_idle(const struct mcp_decoder *d)
{
	return mcp_framer_at_boundary(&d->fr);
}

/* Bytes of the frame in progress the decoder holds (fed, not yet delivered). */
uint32_t mcp_decoder_pending_len(const struct mcp_decoder *d);

/* Copy those bytes, as they came in the stream, to out (mcp_decoder_pending_len() long); fed
 * to a fresh decoder with the same rules, they put it where this one is (hot upgrade). */
void mcp_decoder_pending(const struct mcp_decoder *d, uint8_t *out);

#endif
