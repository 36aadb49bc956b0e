#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""What makes the fast path's redirect cheaper? Each attempt beside the baseline, in one run.

The 16 x 32 x 64 B workload through mcpd-bpf and mcpd-user, under each variant in turn,
for ROUNDS rounds with the variants in a rotating order; prints medians and the bpf/user
ratio per variant as a Markdown table (docs/benchmarks-notes.md records one run).

  baseline     as make bench runs it
  pinned       mcpbench on CPU 0, mcp-echo on CPU 1 (the redirect worker runs on the CPU
               that queued it, so this decides where the worker competes)
  sockbuf      TCP socket buffers of 1 MiB by default (net.ipv4.tcp_rmem/tcp_wmem)
  busy-poll    net.core.busy_read/busy_poll = 50 us and mcpbench --busy-poll
  batch-128    128 frames in flight per connection instead of 32: more frames per skb, so
               fewer redirects (and worker runs) per frame

  tools/scripts/bench_attempts.py [--rounds N] [--secs S]      (root; sysctls are restored)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

ARGS = ["-c", "16", "-d", "32", "-s", "64", "-v", "1"]
SYSCTLS = ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.core.busy_read", "net.core.busy_poll"]
VARIANTS = {
    "baseline": {},
    "pinned": {"pin": True},
    "sockbuf": {"sysctl": {"net.ipv4.tcp_rmem": "4096 1048576 33554432",
                           "net.ipv4.tcp_wmem": "4096 1048576 4194304"}},
    "busy-poll": {"sysctl": {"net.core.busy_read": "50", "net.core.busy_poll": "50"},
                  "client": ["--busy-poll"]},
    "batch-128": {"client": ["-d", "128"]},
}


def sysctl_get(name):
    return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True,
                          check=True).stdout.strip().replace("\t", " ")


def sysctl_set(name, value):
    subprocess.run(["sysctl", "-q", "-w", f"{name}={value}"], check=True)


def run(setup, config, variant, secs):
    v = VARIANTS[variant]
    cmd = [os.path.join(B.BIN, "mcpbench"), "-t", f"127.0.0.1:{setup.ports[config]}",
           "-D", str(secs), "--warmup", "0.5", "--json"] + ARGS + v.get("client", [])
    if v.get("pin"):
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3.0)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_attempts.py: needs root (the sockmap fast path, sysctls)")
    saved = {name: sysctl_get(name) for name in SYSCTLS}
    setup = B.Setup(tempfile.mkdtemp(prefix="mcp-attempts-"))
    names = list(VARIANTS)
    res = {(n, c): [] for n in names for c in ("mcpd-bpf", "mcpd-user")}
    echo_pid = None
    try:
        setup.start()
        echo_pid = setup.procs[0].pid
        all_cpus = os.sched_getaffinity(echo_pid)
        for r in range(a.rounds):
            for n in names[r % len(names):] + names[:r % len(names)]:
                v = VARIANTS[n]
                for name, value in v.get("sysctl", {}).items():
                    sysctl_set(name, value)
                os.sched_setaffinity(echo_pid, {1} if v.get("pin") else all_cpus)
                for c in ("mcpd-bpf", "mcpd-user") if r % 2 == 0 else ("mcpd-user", "mcpd-bpf"):
                    x = run(setup, c, n, a.secs)
                    res[(n, c)].append(x)
                    print(f"round {r + 1} {n:10} {c:10} {x['messages_per_sec']:>11.0f} msg/s "
                          f"cpu {x['cpu_us_per_message']:.2f} us/msg lost {x['lost']}",
                          flush=True)
                for name in v.get("sysctl", {}):
                    sysctl_set(name, saved[name])
    finally:
        for name, value in saved.items():
            sysctl_set(name, value)
        setup.stop()

    def m(n, c, key):
        return statistics.median(x[key] for x in res[(n, c)])

    print(f"\n`tools/scripts/bench_attempts.py --rounds {a.rounds} --secs {a.secs:g}`:\n")
    print("| variant | mcpd-bpf msg/s | mcpd-user msg/s | bpf/user | bpf µs CPU/msg | "
          "user µs CPU/msg | lost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in names:
        bpf, user = m(n, "mcpd-bpf", "messages_per_sec"), m(n, "mcpd-user", "messages_per_sec")
        lost = sum(x["lost"] + x["reordered"] + x["corrupt"] for c in ("mcpd-bpf", "mcpd-user")
                   for x in res[(n, c)])
        print(f"| {n} | {bpf:.0f} | {user:.0f} | {bpf / user if user else 0:.2f} | "
              f"{m(n, 'mcpd-bpf', 'cpu_us_per_message'):.2f} | "
              f"{m(n, 'mcpd-user', 'cpu_us_per_message'):.2f} | {lost} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
