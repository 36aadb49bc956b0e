#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Pick TCP ports on 127.0.0.1 that tests and benchmarks can listen on.

A port the kernel hands out for bind(0) comes from the ephemeral range, which outgoing
connections also draw from: between the pick and the listen, a client socket can take it
(seen in CI as "Address already in use"). These ports come from below the ephemeral range,
which the kernel never gives to a connect(), are free at the time of the pick, and are
distinct from each other.

  tools/scripts/free_port.py [N]     prints N ports (default 1) on one line
"""
import random
import socket
import sys

_given = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    low = max(_ephemeral_low(), 10001)
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(10000, low)
        if port in _given:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _given.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print(" ".join(str(free_port()) for _ in range(n)))
