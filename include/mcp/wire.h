/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The MCP wire format: headers, opcodes, limits, error codes and the validity rules.
 *
 * One definition for both sides: this header compiles in BPF programs (clang -target bpf)
 * and in userspace. Every rule is a static inline function over the raw header bytes, so
 * the kernel's checks and the userspace stream decoder cannot disagree. Integers on the wire
 * are big-endian; the helpers read them byte by byte, so no byte-order helper is needed.
 */
#ifndef MCP_WIRE_H
#define MCP_WIRE_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifdef __cplusplus
#define MCP_STATIC_ASSERT static_assert
#else
#define MCP_STATIC_ASSERT _Static_assert
#endif

/* ---- header ---------------------------------------------------------------------------- */

#define MCP_MAGIC	  0x4D435001u /* "MCP" 0x01 */
#define MCP_MAGIC_LEN	  4
#define MCP_VERSION_1	  1
#define MCP_VERSION_2	  2
#define MCP_VERSION_MIN	  MCP_VERSION_1
#define MCP_VERSION_MAX	  MCP_VERSION_2
#define MCP_HDR_V1_LEN	  8
#define MCP_HDR_V2_LEN	  16
#define MCP_HDR_MAX_LEN	  MCP_HDR_V2_LEN

/* Byte offsets of the header fields. */
#define MCP_OFF_MAGIC	  0
#define MCP_OFF_VERSION	  4
#define MCP_OFF_OPCODE	  5
#define MCP_OFF_LENGTH	  6
#define MCP_OFF_STREAM_ID 8
#define MCP_OFF_SESSION	  12

/* Frame size limits: `length` counts payload bytes only. */
#define MCP_MAX_FRAME_DEFAULT 16384
#define MCP_MAX_FRAME_LIMIT   65535
/* The least max_frame a session is granted (or a config may set): room for any HELLO_ACK
 * or ERROR the router sends. A HELLO asking for less gets this. */
#define MCP_MAX_FRAME_FLOOR   512

struct mcp_hdr_v1 {
	__be32 magic;
	__u8 version;
	__u8 opcode;
	__be16 length;
};

struct mcp_hdr_v2 {
	struct mcp_hdr_v1 v1;
	__be32 stream_id; /* chosen by the requester, echoed in the response */
	__be32 session;	  /* written by the router, echoed by the backend */
};

MCP_STATIC_ASSERT(sizeof(struct mcp_hdr_v1) == MCP_HDR_V1_LEN, "v1 header is 8 bytes");
MCP_STATIC_ASSERT(sizeof(struct mcp_hdr_v2) == MCP_HDR_V2_LEN, "v2 header is 16 bytes");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v1, magic) == MCP_OFF_MAGIC, "magic");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v1, version) == MCP_OFF_VERSION, "version");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v1, opcode) == MCP_OFF_OPCODE, "opcode");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v1, length) == MCP_OFF_LENGTH, "length");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v2, stream_id) == MCP_OFF_STREAM_ID,
		  "stream_id");
MCP_STATIC_ASSERT(__builtin_offsetof(struct mcp_hdr_v2, session) == MCP_OFF_SESSION, "session");

/* ---- opcodes --------------------------------------------------------------------------- */

enum mcp_opcode {
	MCP_OP_GET = 0x01,
	MCP_OP_SET = 0x02,
	MCP_OP_SYNC = 0x03,
	MCP_OP_DEL = 0x04,
	MCP_OP_REQUEST_MIN = 0x01,
	MCP_OP_REQUEST_MAX = 0x6F,

	MCP_OP_HELLO = 0x70,
	MCP_OP_HELLO_ACK = 0x71,
	MCP_OP_PING = 0x72,
	MCP_OP_PONG = 0x73,
	MCP_OP_CLOSE = 0x74,
	MCP_OP_ERROR = 0x7F,

	MCP_OP_RESPONSE_BIT = 0x80, /* response = request | 0x80 (0x81..0xEF) */
};

enum mcp_opcode_class {
	MCP_OPC_INVALID = 0,
	MCP_OPC_REQUEST,  /* 0x01..0x6F, routed by opcode */
	MCP_OPC_RESPONSE, /* 0x81..0xEF */
	MCP_OPC_CONTROL,  /* HELLO, HELLO_ACK, PING, PONG, CLOSE, ERROR */
};

/* Who sent a frame: a client may not send responses, a backend may not send requests. */
enum mcp_peer {
	MCP_PEER_ANY = 0,
	MCP_PEER_CLIENT = 1,
	MCP_PEER_BACKEND = 2,
};

static __always_inline int mcp_opcode_class(__u8 op)
{
	if (op >= MCP_OP_REQUEST_MIN && op <= MCP_OP_REQUEST_MAX)
		return MCP_OPC_REQUEST;
	if (op >= (MCP_OP_REQUEST_MIN | MCP_OP_RESPONSE_BIT) &&
	    op <= (MCP_OP_REQUEST_MAX | MCP_OP_RESPONSE_BIT))
		return MCP_OPC_RESPONSE;
	if ((op >= MCP_OP_HELLO && op <= MCP_OP_CLOSE) || op == MCP_OP_ERROR)
		return MCP_OPC_CONTROL;
	return MCP_OPC_INVALID;
}

/* The response opcode a backend answers `req` with. */
static __always_inline __u8 mcp_response_opcode(__u8 req)
{
	return req | MCP_OP_RESPONSE_BIT;
}

/* What answers a frame (the router's PONG, an echo backend's response), the one rule for the
 * verdict, the XDP guard, mcpd, mcp-echo and the tests: PONG for PING, the response for a
 * request, 0 for anything else. */
static __always_inline __u8 mcp_answer_opcode(__u8 op)
{
	if (op == MCP_OP_PING)
		return MCP_OP_PONG;
	return mcp_opcode_class(op) == MCP_OPC_REQUEST ? mcp_response_opcode(op) : 0;
}

/* Whether `peer` may send opcode `op` on a TCP session. */
static __always_inline int mcp_opcode_allowed(__u8 op, int peer)
{
	int cls = mcp_opcode_class(op);

	if (cls == MCP_OPC_INVALID)
		return 0;
	if (peer == MCP_PEER_CLIENT)
		return cls == MCP_OPC_REQUEST || (cls == MCP_OPC_CONTROL && op != MCP_OP_HELLO_ACK);
	if (peer == MCP_PEER_BACKEND)
		return cls == MCP_OPC_RESPONSE || (cls == MCP_OPC_CONTROL && op != MCP_OP_HELLO);
	return 1;
}

/* A UDP datagram carries a request or a PING (docs/protocol.md, "UDP"). */
static __always_inline int mcp_udp_opcode_allowed(__u8 op)
{
	return mcp_opcode_class(op) == MCP_OPC_REQUEST || op == MCP_OP_PING;
}

/* ---- error codes (the values of mcp.ErrorCode in proto/mcp.proto) ----------------------- */

enum mcp_error_code {
	MCP_ERR_UNKNOWN = 0,
	MCP_ERR_BAD_MAGIC = 1,
	MCP_ERR_UNSUPPORTED_VERSION = 2,
	MCP_ERR_NOT_NEGOTIATED = 3,
	MCP_ERR_FRAME_TOO_LARGE = 4,
	MCP_ERR_UNKNOWN_OPCODE = 5,
	MCP_ERR_NO_ROUTE = 6,
	MCP_ERR_BACKEND_UNAVAILABLE = 7,
	MCP_ERR_RATE_LIMITED = 8,
	MCP_ERR_SHUTTING_DOWN = 9,
	MCP_ERR_IDLE_TIMEOUT = 10,
	MCP_ERR_PROTOCOL_VIOLATION = 11,
	MCP_ERR_UNAUTHENTICATED = 12,	 /* no valid token where one is required: closes */
	MCP_ERR_PERMISSION_DENIED = 13, /* a request its identity may not send: stays open */
	MCP_ERR__COUNT,
};

/* ---- validity rules -------------------------------------------------------------------- */

/* Result of checking a header; also the "reason" index of the kernel's drop counters. */
enum mcp_check {
	MCP_CHECK_OK = 0,
	MCP_CHECK_BAD_MAGIC,
	MCP_CHECK_BAD_VERSION,
	MCP_CHECK_BAD_OPCODE,
	MCP_CHECK_TOO_LARGE,
	MCP_CHECK__COUNT,
};

static __always_inline __u32 mcp_hdr_len(__u8 version)
{
	return version == MCP_VERSION_2 ? MCP_HDR_V2_LEN : MCP_HDR_V1_LEN;
}

/* Byte `idx` (0..3) of the magic as it appears on the wire. */
static __always_inline __u8 mcp_magic_byte(__u32 idx)
{
	return (__u8)(MCP_MAGIC >> (24 - 8 * (idx & 3)));
}

/* `want` is the session's negotiated version, or 0 to accept any version the protocol has. */
static __always_inline int mcp_version_ok(__u8 version, __u8 want)
{
	if (want)
		return version == want;
	return version >= MCP_VERSION_MIN && version <= MCP_VERSION_MAX;
}

static __always_inline __u16 mcp_hdr_length(const __u8 *h)
{
	return (__u16)((h[MCP_OFF_LENGTH] << 8) | h[MCP_OFF_LENGTH + 1]);
}

static __always_inline __u32 mcp_be32_at(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline void mcp_put_be32(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 24);
	p[1] = (__u8)(v >> 16);
	p[2] = (__u8)(v >> 8);
	p[3] = (__u8)v;
}

/*
 * Check the first `have` bytes of a header, field by field in wire order: magic, version,
 * opcode, length; a field is judged once all of its bytes are there. `max_frame` is the
 * session's limit (at most MCP_MAX_FRAME_LIMIT). On a broken rule, *at is the header byte
 * where it breaks: the first wrong magic byte, or the first byte of the field.
 */
static __always_inline int mcp_check_prefix(const __u8 *h, __u32 have, __u8 want_version,
					    __u32 max_frame, int peer, __u32 *at)
{
	for (__u32 i = 0; i < MCP_MAGIC_LEN; i++) {
		if (i >= have)
			return MCP_CHECK_OK;
		if (h[i] != mcp_magic_byte(i)) {
			*at = i;
			return MCP_CHECK_BAD_MAGIC;
		}
	}
	*at = MCP_OFF_VERSION;
	if (have <= MCP_OFF_VERSION)
		return MCP_CHECK_OK;
	if (!mcp_version_ok(h[MCP_OFF_VERSION], want_version))
		return MCP_CHECK_BAD_VERSION;
	*at = MCP_OFF_OPCODE;
	if (have <= MCP_OFF_OPCODE)
		return MCP_CHECK_OK;
	if (!mcp_opcode_allowed(h[MCP_OFF_OPCODE], peer))
		return MCP_CHECK_BAD_OPCODE;
	*at = MCP_OFF_LENGTH;
	if (have < MCP_OFF_LENGTH + 2)
		return MCP_CHECK_OK;
	if (mcp_hdr_length(h) > max_frame)
		return MCP_CHECK_TOO_LARGE;
	*at = 0;
	return MCP_CHECK_OK;
}

/* Check the first eight bytes of a header (mcp_check_prefix over all of them). */
static __always_inline int mcp_check_header(const __u8 *h, __u8 want_version, __u32 max_frame,
					    int peer)
{
	__u32 at;

	return mcp_check_prefix(h, MCP_HDR_V1_LEN, want_version, max_frame, peer, &at);
}

/* The ERROR code a session ends with when a header breaks a rule. */
static __always_inline int mcp_check_error_code(int check)
{
	switch (check) {
	case MCP_CHECK_BAD_MAGIC:
		return MCP_ERR_BAD_MAGIC;
	case MCP_CHECK_BAD_VERSION:
		return MCP_ERR_PROTOCOL_VIOLATION;
	case MCP_CHECK_BAD_OPCODE:
		return MCP_ERR_UNKNOWN_OPCODE;
	case MCP_CHECK_TOO_LARGE:
		return MCP_ERR_FRAME_TOO_LARGE;
	default:
		return MCP_ERR_UNKNOWN;
	}
}

#endif /* MCP_WIRE_H */
