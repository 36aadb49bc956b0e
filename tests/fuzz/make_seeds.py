#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/ (kept in git).

fuzz_decoder inputs start with three bytes: rules (version, peer), max_frame, chunk size.
"""
import hashlib
import hmac
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def frame(v, op, payload=b"", sid=0, sess=0):
    h = struct.pack(">IBBH", 0x4D435001, v, op, len(payload))
    if v == 2:
        h += struct.pack(">II", sid, sess)
    return h + payload


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


seeds = {
    "fuzz_decoder": {
        "v1_mixed": bytes([1, 0x40, 3]) + frame(1, 1, b"abc") + frame(1, 0x72) + frame(1, 2, b"x" * 200),
        "v2_mixed": bytes([2, 0x40, 7]) + frame(2, 1, b"k", 5) + frame(2, 0x74, b"", 6),
        "backend": bytes([4 | 1, 0xFF, 1]) + frame(1, 0x81, b"resp") + frame(1, 0x71, b"\x08\x01"),
        "bad_magic": bytes([1, 0x40, 2]) + frame(1, 1, b"ok") + b"GET / HTTP/1.1\r\n",
        "too_large": bytes([1, 0x01, 5]) + frame(1, 2, b"y" * 300),
        "bad_opcode": bytes([1, 0x40, 4]) + frame(1, 0xF0, b"z"),
    },
    "fuzz_hello": {
        "both": b"\x0a\x02\x01\x02\x12\x05bench\x18" + varint(16384) + b"\x20" + varint(5000),
        "v1_only": b"\x0a\x01\x01",
        "unpacked": b"\x08\x01\x08\x02\x12\x01x",
        "ack": b"\x08\x02\x10" + varint(12345) + b"\x18" + varint(16384) + b"\x20" + varint(5000),
    },
    "fuzz_error": {
        "unsupported": b"\x08\x02\x12\x0ano version\x1a\x02\x01\x02",
        "idle": b"\x08\x0a\x12\x04idle",
        "odd_code": b"\x08" + varint(4000000000),
    },
}

def field_varint(field, n):
    return bytes([field << 3]) + varint(n)


def field_string(field, text):
    t = text.encode()
    return bytes([field << 3 | 2]) + varint(len(t)) + t


seeds["fuzz_control"] = {  # mcp.ctl.Request: 1 command, 2 arg, 3 ttl_s, 4 session
    "status": field_varint(1, 1),
    "block_ttl": field_varint(1, 6) + field_string(2, "10.0.0.0/8") + field_varint(3, 60),
    "unblock6": field_varint(1, 7) + field_string(2, "2001:db8::/32"),
    "drain": field_varint(1, 9) + field_string(2, "127.0.0.1:9001"),
    "kill": field_varint(1, 10) + field_varint(4, 42),
    "reload": field_varint(1, 11),
    "bad": b"\xff\xff\xff",
}
seeds["fuzz_config"] = {
    "full": b"[mcpd]\nlisten = 127.0.0.1:7800\nlisten = [::1]:7801\ndatapath = user\n"
            b"max_frame = 16384\n[pool kv]\nbackend = 127.0.0.1:9001\n[routes]\nGET = kv\n"
            b"0x10-0x1f = kv\ndefault = kv\n",
    "xdp": b"[mcpd]\nxdp_interfaces = eth0, eth1\nxdp_mode = native\nrate_pps = 100\n"
           b"auto_block = true\ncontrol = /run/mcp/x.sock\nmetrics = 127.0.0.1:9800\n",
    "bad": b"[mcpd]\nmax_frame = 99999\n[nope]\nx=1\n",
}
# fuzz_framer: a rules byte (bit 0 v2, bit 1 backend, bit 2 raw stream), then per frame
# opcode, length, flags (length scale, broken magic, other version, cut in the header), cut.
seeds["fuzz_framer"] = {
    "requests": b"\x00" + b"\x01\x0a\x00\x05" + b"\x02\x20\x01\x30" + b"\x72\x00\x00\x00",
    "split_headers_v2": b"\x01" + b"\x01\x03\x10\x02" + b"\x03\x40\x12\x05",
    "responses": b"\x02" + b"\x81\x10\x00\x07" + b"\x82\x00\x10\x01",
    "too_large": b"\x00" + b"\x01\xff\x03\x09",
    "bad_magic_late": b"\x00" + b"\x01\x04\x00\x01" + b"\x01\x04\x04\x02",
    "wrong_version": b"\x01" + b"\x01\x04\x08\x03",
    "raw": b"\x04" + frame(1, 1, b"abc") + b"GET / HTTP/1.1\r\n",
}

# fuzz_token: tokens as a HELLO carries them, signed with the target's fixed keys (key 1 =
# 32 bytes of 0x11, key 2 = 16 bytes of 0x22; the target checks them at 2026-12-01).
FUZZ_KEYS = {1: b"\x11" * 32, 2: b"\x22" * 16}
FUZZ_NOW = 1796083200


def token(client, expires, ops=(), pools=(), rate=0, key_id=1, key=None):
    body = field_string(1, client) + field_varint(2, expires)
    for op in ops:
        body += field_varint(3, op)
    for p in pools:
        body += field_string(4, p)
    if rate:
        body += field_varint(5, rate)
    body += field_varint(6, key_id)
    mac = hmac.new(key if key is not None else FUZZ_KEYS.get(key_id, b"?"), body,
                   hashlib.sha256).digest()
    return body + mac


seeds["fuzz_token"] = {
    "valid": token("alice", FUZZ_NOW + 3600),
    "restricted": token("bob", FUZZ_NOW + 60, ops=(1, 2), pools=("kv", "other"), rate=100,
                        key_id=2),
    "expired": token("carol", FUZZ_NOW - 1),
    "unknown_key": token("dave", FUZZ_NOW + 60, key_id=7, key=b"k" * 32),
    "bad_signature": token("eve", FUZZ_NOW + 60)[:-1] + b"\x00",
    "short": b"\x0a\x01x",
}

for target, files in seeds.items():
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
