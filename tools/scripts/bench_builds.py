#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""This build's mcpd against another build's, side by side: did a change cost anything?

Both mcpds run at once on one mcp-echo backend, each with its own pin root, on each data path
asked for; every round runs each workload through each of them, in an order that alternates,
and the report gives medians and the ratio this/other. A ratio within the spread of the
rounds is noise, not a finding (docs/benchmarks.md says how noisy this machine is).

  git worktree add /tmp/old REV && make -C /tmp/old build/bin/mcpd
  tools/scripts/bench_builds.py --other /tmp/old/build/bin/mcpd [--paths user,auto]
                                [--rounds 8] [--secs 3]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Setup, bench, med  # noqa: E402

WORKLOADS = [
    ("16x32, 64 B, v1", ["-c", "16", "-d", "32", "-s", "64", "-v", "1"]),
    ("16x32, PINGs only, v1", ["-c", "16", "-d", "32", "-s", "64", "-v", "1", "--ops", "PING"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", required=True, help="the other build's mcpd binary")
    ap.add_argument("--paths", default="user,auto", help="data paths, comma-separated")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--secs", type=float, default=3.0)
    a = ap.parse_args()
    if not os.access(a.other, os.X_OK):
        sys.exit(f"bench_builds: {a.other} is not an executable mcpd")
    paths = [p for p in a.paths.split(",") if p]
    with tempfile.TemporaryDirectory(prefix="mcp-bench-builds-") as work:
        setup = Setup(work)
        try:
            setup.start_echo()
            ports = {}
            for dp in paths:
                ports[(dp, "this")], _ = setup.mcpd(f"this-{dp}", dp, setup.echo)
                ports[(dp, "other")], _ = setup.mcpd(f"other-{dp}", dp, setup.echo,
                                                     binary=a.other)
            results = {}
            for r in range(a.rounds):
                for name, args in WORKLOADS:
                    for dp in paths:
                        order = ("this", "other") if r % 2 == 0 else ("other", "this")
                        for which in order:
                            res = bench(ports[(dp, which)], args, a.secs, 1)
                            if res["lost"] or res["errors"]:
                                sys.exit(f"bench_builds: {which} {dp} {name}: "
                                         f"{res['lost']} lost, {res['errors']} errors")
                            results.setdefault((name, dp, which), []).append(
                                res["messages_per_sec"])
                print(f"round {r + 1} of {a.rounds} done", flush=True)
        finally:
            setup.stop()
    print(f"\n| workload | path | this msg/s | other msg/s | this/other | spread of this/other "
          f"over rounds |\n| --- | --- | ---: | ---: | ---: | --- |")
    for name, _ in WORKLOADS:
        for dp in paths:
            this, other = results[(name, dp, "this")], results[(name, dp, "other")]
            per_round = sorted(t / o for t, o in zip(this, other) if o)
            print(f"| {name} | {dp} | {med(this):.0f} | {med(other):.0f} | "
                  f"{med(this) / med(other):.2f} | {per_round[0]:.2f}–{per_round[-1]:.2f} |")


if __name__ == "__main__":
    main()
