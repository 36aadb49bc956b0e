#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make bench: the router measured side by side with the alternatives, in one run.

Configurations (all on loopback, one mcp-echo backend):
  direct     mcpbench straight to mcp-echo (the limit of the set-up)
  mcpd-auto  through mcpd with datapath auto: client and backend are local, so the inline
             path (sk_msg) carries the session
  mcpd-bpf   through mcpd with the sockmap fast path
  mcpd-user  through mcpd with the userspace data path
  haproxy    through HAProxy 2.6 in tcp mode, one thread (a relay that checks nothing)

Every workload runs each configuration once per round, in a rotating order, for ROUNDS
rounds; the report gives medians and ratios. Then the UDP/XDP figures, and memory per
session at many idle sessions, what an in-place upgrade (`mcpctl upgrade`) under load
costs, and what checking signed identities costs on the kernel paths. Writes docs/benchmarks.md and PNG plots next to it (--quick: build/bench/, never docs/).

  tools/scripts/bench.py [--quick] [--rounds N] [--secs S] [--out docs/benchmarks.md]
  tools/scripts/bench.py --only identity [--rounds N] [--secs S]   (that section, printed)
"""
import argparse
import ctypes
import glob
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from free_port import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")

WORKLOADS = [
    ("16x32, 64 B, v1", ["-c", "16", "-d", "32", "-s", "64", "-v", "1"]),
    ("16x32, 64 B, v2", ["-c", "16", "-d", "32", "-s", "64", "-v", "2"]),
    ("1x1 busy-poll, 64 B", ["-c", "1", "-d", "1", "-s", "64", "--busy-poll"]),
    ("256x4, 1 KiB, v1", ["-c", "256", "-d", "4", "-s", "1024", "-v", "1"]),
    ("16x4, 16 KiB, v1", ["-c", "16", "-d", "4", "-s", "16384", "-v", "1"]),
    ("16x32, PINGs only, v1", ["-c", "16", "-d", "32", "-s", "64", "-v", "1", "--ops", "PING"]),
    # The same two with two client threads: a one-thread client is the limit of these where
    # the router answers (PINGs) or copies little (docs/benchmarks.md, "The inline path").
    ("16x4, 16 KiB, v1, 2 client threads",
     ["-c", "16", "-d", "4", "-s", "16384", "-v", "1", "--threads", "2"]),
    ("16x32, PINGs only, v1, 2 client threads",
     ["-c", "16", "-d", "32", "-s", "64", "-v", "1", "--ops", "PING", "--threads", "2"]),
]
CONFIGS = ["direct", "mcpd-auto", "mcpd-bpf", "mcpd-user", "haproxy"]
PR_SET_CHILD_SUBREAPER = 36


def wait_port(port, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Setup:
    def __init__(self, work):
        self.work = work
        self.procs = []
        self.ports = {}
        self.upgraded = {}  # name -> pid of the mcpd an upgrade started (not our child)
        # Pinned maps of its own, removed when done: never a production mcpd's.
        self.pin_root = f"/sys/fs/bpf/mcp-bench-{os.getpid()}"

    def spawn(self, name, argv):
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=log)
        self.procs.append(p)
        return p

    def mcpd(self, name, datapath, backend, extra="", binary=None):
        port = free_port()
        cfg = os.path.join(self.work, name + ".ini")
        with open(cfg, "w") as f:
            f.write(f"[mcpd]\nlisten = 127.0.0.1:{port}\ndatapath = {datapath}\n"
                    f"control = {self.work}/{name}.sock\npin_root = {self.pin_root}-{name}\n"
                    f"idle_timeout_ms = 600000\nheartbeat_ms = 60000\n{extra}"
                    f"[pool kv]\nbackend = 127.0.0.1:{backend}\n[routes]\ndefault = kv\n")
        p = self.spawn(name, [binary or os.path.join(BIN, "mcpd"), "-f", "-c", cfg])
        wait_port(port)
        return port, p

    def start_echo(self):
        echo = free_port()
        self.spawn("echo", [os.path.join(BIN, "mcp-echo"), "--listen", f"127.0.0.1:{echo}", "-q"])
        wait_port(echo)
        self.echo = echo
        self.ports["direct"] = echo

    def start(self):
        self.start_echo()
        echo = self.echo
        self.ports["mcpd-auto"], self.auto_proc = self.mcpd("mcpd-auto", "auto", echo)
        self.ports["mcpd-bpf"], self.bpf_proc = self.mcpd("mcpd-bpf", "bpf", echo)
        self.ports["mcpd-user"], self.user_proc = self.mcpd("mcpd-user", "user", echo)
        hp = free_port()
        cfg = os.path.join(self.work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("global\n  nbthread 1\n  maxconn 8000\n"
                    "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 120s\n"
                    "  timeout server 120s\n"
                    f"frontend mcp\n  bind 127.0.0.1:{hp}\n  default_backend echo\n"
                    f"backend echo\n  server e 127.0.0.1:{echo}\n")
        self.spawn("haproxy", ["haproxy", "-db", "-f", cfg])
        wait_port(hp)
        self.ports["haproxy"] = hp

    def stop(self):
        for pid in self.upgraded.values():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        # Upgraded mcpds and the helpers of the ones they replaced were handed to us
        # (PR_SET_CHILD_SUBREAPER): reap them all.
        end = time.time() + 5
        while time.time() < end:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.05)
            except ChildProcessError:
                break
        for d in glob.glob(f"{self.pin_root}-*"):
            shutil.rmtree(d, ignore_errors=True)

    def upgrade(self, name):
        """mcpctl upgrade: True when a new mcpd took over."""
        sock = os.path.join(self.work, name + ".sock")
        out = subprocess.run([os.path.join(BIN, "mcpctl"), "-s", sock, "-j", "upgrade"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode:
            print(f"{name}: upgrade failed: {out.stderr.strip()}", flush=True)
            return False
        self.upgraded[name] = json.loads(out.stdout)["pid"]
        return True


def bench(port, args, secs, warmup):
    cmd = [os.path.join(BIN, "mcpbench"), "-t", f"127.0.0.1:{port}", "-D", str(secs),
           "--warmup", str(warmup), "--json"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + warmup + 30)
    return json.loads(out.stdout.strip().splitlines()[-1])


def med(values):
    return statistics.median(values) if values else 0.0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def meminfo_kib(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def memory_per_session(setup, n, hold):
    """Hold n idle sessions through each mcpd; the daemon's RSS and the machine's slab grow."""
    rows = []
    for name, proc in (("mcpd-auto", setup.auto_proc), ("mcpd-bpf", setup.bpf_proc),
                       ("mcpd-user", setup.user_proc)):
        rss0, slab0 = rss_kib(proc.pid), meminfo_kib("Slab")
        p = subprocess.Popen([os.path.join(BIN, "mcpbench"), "-t", f"127.0.0.1:{setup.ports[name]}",
                              "-c", str(n), "-D", str(hold), "--idle", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(hold * 0.7)
        rss1, slab1 = rss_kib(proc.pid), meminfo_kib("Slab")
        out, _ = p.communicate(timeout=hold + 30)
        res = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        rows.append((name, n, (rss1 - rss0) * 1024 / n, (slab1 - slab0) * 1024 / n,
                     res.get("errors", -1)))
        time.sleep(1)
    return rows


UPGRADE_ARGS = ["-c", "16", "-d", "32", "-s", "64", "-v", "1"]


def upgrade_under_load(setup, rounds, secs):
    """Runs with two `mcpctl upgrade`s in them, beside runs without, alternating; the worst
    latency with upgrades is the pause an upgrade costs."""
    rows = []
    for name in ("mcpd-auto", "mcpd-bpf", "mcpd-user"):
        plain, upgraded, done = [], [], 0
        for r in range(rounds):
            for with_upgrades in ((False, True) if r % 2 == 0 else (True, False)):
                p = subprocess.Popen([os.path.join(BIN, "mcpbench"), "-t",
                                      f"127.0.0.1:{setup.ports[name]}", "-D", str(secs),
                                      "--json"] + UPGRADE_ARGS,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                if with_upgrades:
                    for _ in range(2):
                        time.sleep(secs / 3)
                        done += setup.upgrade(name)
                out, _ = p.communicate(timeout=secs + 60)
                res = json.loads(out.strip().splitlines()[-1])
                (upgraded if with_upgrades else plain).append(res)
                print(f"upgrade under load {name:10} {'with' if with_upgrades else 'without':7} "
                      f"{res['messages_per_sec']:>11.0f} msg/s max {res['max_us']:9.1f} us "
                      f"lost {res['lost']} reordered {res['reordered']} corrupt {res['corrupt']} "
                      f"errors {res['errors']}", flush=True)
        rows.append((name, plain, upgraded, done, 2 * rounds))
    return rows


IDENTITY_ARGS = ["-c", "16", "-d", "32", "-s", "64", "-v", "1"]


def identity_cost(setup, rounds, secs, warmup):
    """What checking identities costs: the same mcpd data path without auth, with a token that
    allows everything (nothing to check: no entry in mcp_perms), and with a restricted one
    (GET only, rate 100 000 000/s: the verdict judges every request and takes its token)."""
    keys = os.path.join(setup.work, "auth.keys")
    with open(keys, "w") as f:
        f.write("1 " + os.urandom(32).hex() + "\n")
    os.chmod(keys, 0o600)
    auth = f"auth = required\nauth_keys = {keys}\n"

    def token(*extra):
        return subprocess.run([os.path.join(BIN, "mcpctl"), "token", "issue", "--client",
                               "bench", "--ttl", "1d", "--keys", keys] + list(extra),
                              capture_output=True, text=True, check=True).stdout.strip()
    everything, checked = token(), token("--allow", "GET", "--rate", "100000000")
    runs = []  # (name, port, extra mcpbench arguments)
    for dp in ("bpf", "auto"):
        plain = setup.ports[f"mcpd-{dp}"]
        port, _ = setup.mcpd(f"mcpd-{dp}-auth", dp, setup.echo, auth)
        runs += [(f"mcpd-{dp}", plain, []), (f"mcpd-{dp} + token, all allowed", port,
                                             ["--token", everything]),
                 (f"mcpd-{dp} + token, checked", port, ["--token", checked])]
    results = {name: [] for name, _, _ in runs}
    for r in range(rounds):
        for name, port, extra in runs[r % len(runs):] + runs[:r % len(runs)]:
            res = bench(port, IDENTITY_ARGS + extra, secs, warmup)
            results[name].append(res)
            print(f"identity {name:32} round {r + 1} {res['messages_per_sec']:>11.0f} msg/s "
                  f"errors {res['errors']} lost {res['lost']}", flush=True)
    return results


def identity_table(identity):
    """The identity section's table and its target line, from identity_cost()'s results."""
    lines = ["| config | runs | messages/s (median) | min | max | p99 µs | CPU µs/msg | "
             "vs without auth | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    base = {}
    for name, rs in identity.items():
        mps = [r["messages_per_sec"] for r in rs]
        plain = name.split(" + ")[0]
        base.setdefault(plain, med(mps))
        lines.append(f"| {name} | {len(rs)} | {med(mps):.0f} | {min(mps):.0f} | {max(mps):.0f} | "
                     f"{med([r['p99_us'] for r in rs]):.1f} | "
                     f"{med([r['cpu_us_per_message'] for r in rs]):.2f} | "
                     f"{med(mps) / base[plain] if base[plain] else 0:.2f} | "
                     f"{sum(r['errors'] for r in rs)} |")
    checked = med([r["messages_per_sec"] for r in identity.get("mcpd-bpf + token, checked", [])])
    ratio = checked / base["mcpd-bpf"] if base.get("mcpd-bpf") else 0
    lines.append("")
    lines.append(f"Target: the bpf path with permissions checked within 5% of it without auth: "
                 f"{ratio:.2f} ({'met' if ratio >= 0.95 else 'not met'} in this run; compare "
                 "with the spread between min and max of one configuration).")
    return lines


def run_xdp(rounds, secs):
    out = subprocess.run([os.path.join(ROOT, "tools", "scripts", "bench-xdp.sh"), str(rounds),
                          str(secs)], capture_output=True, text=True, timeout=600)
    if out.returncode:
        return f"(bench-xdp.sh failed: {out.stderr.strip()[-300:]})"
    return out.stdout.strip()


def run_xdp_cost(rounds):
    out = subprocess.run([os.path.join(BIN, "mcp-xdpcost"), "--rounds", str(rounds), "--repeat",
                          "1000000", "--json"], capture_output=True, text=True, timeout=300)
    rows = json.loads(out.stdout)
    lines = ["| packet | guard ns/packet | empty XDP ns/packet | guard - empty |",
             "| --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['packet']} | {r['guard_ns']:.0f} | {r['empty_ns']:.0f} | "
                     f"{r['guard_ns'] - r['empty_ns']:.0f} |")
    return "\n".join(lines)


def plot(results, outdir, png_names):
    if not shutil.which("gnuplot"):
        return False
    dat = os.path.join(outdir, "bench-throughput.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(CONFIGS) + "\n")
        for w, _ in WORKLOADS:
            if "busy" in w:
                continue
            f.write('"%s" ' % w + " ".join(
                "%.0f" % med([r["messages_per_sec"] for r in results[w][c]]) for c in CONFIGS) + "\n")
    lat = os.path.join(outdir, "bench-latency.dat")
    w = [w for w, _ in WORKLOADS if "busy" in w][0]
    with open(lat, "w") as f:
        for c in CONFIGS:
            rs = results[w][c]
            f.write('"%s" %.1f %.1f %.1f\n' % (c, med([r["p50_us"] for r in rs]),
                                               med([r["p99_us"] for r in rs]),
                                               med([r["p999_us"] for r in rs])))
    script = f"""
set terminal pngcairo size 900,480 noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top right
set output '{os.path.join(outdir, png_names[0])}'
set title 'Messages per second (median), higher is better'
set ylabel 'messages/s'
plot '{dat}' using 2:xtic(1) title columnhead(2), '' using 3 title columnhead(3), \\
     '' using 4 title columnhead(4), '' using 5 title columnhead(5)
set output '{os.path.join(outdir, png_names[1])}'
set title '1x1 ping-pong, busy-polling client: latency (median of rounds), lower is better'
set ylabel 'microseconds'
plot '{lat}' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.unlink(dat)
    os.unlink(lat)
    return r.returncode == 0


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), kernel {platform.release()}, " \
           f"{meminfo_kib('MemTotal') // 1024 // 1024} GiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one short round: a smoke run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3.0)
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--only", choices=["identity"],
                    help="run one section and print its table (no report is written)")
    ap.add_argument("--out", help="the report (default: docs/benchmarks.md for a full run; "
                    "build/bench/benchmarks.md with --quick, which never touches docs/)")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.secs, a.sessions = 1, 1.0, 1000
    if not a.out:
        a.out = os.path.join(ROOT, "build", "bench", "benchmarks.md") if a.quick else \
            os.path.join(ROOT, "docs", "benchmarks.md")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    # Each session holds two of mcpd's descriptors: stay within the hard limit (20 000 on
    # this machine kind, which mcpd cannot raise without CAP_SYS_RESOURCE).
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and a.sessions * 2 + 100 > hard:
        a.sessions = (hard - 100) // 2 // 100 * 100
    warmup = 0.3 if a.quick else 0.5
    if os.geteuid() != 0:
        sys.exit("make bench: needs root (the sockmap fast path, XDP, namespaces)")
    # An upgraded mcpd outlives its parent (the old mcpd's helper): let it be ours to reap.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.time()
    work = tempfile.mkdtemp(prefix="mcp-bench-")
    setup = Setup(work)
    if a.only == "identity":
        try:
            setup.start()
            identity = identity_cost(setup, a.rounds, a.secs, warmup)
        finally:
            setup.stop()
            shutil.rmtree(work, ignore_errors=True)
        print("\n".join(identity_table(identity)))
        return 1 if any(r["errors"] or r["lost"] for rs in identity.values() for r in rs) else 0
    results = {w: {c: [] for c in CONFIGS} for w, _ in WORKLOADS}
    try:
        setup.start()
        for w, args in WORKLOADS:
            for r in range(a.rounds):
                order = CONFIGS[r % len(CONFIGS):] + CONFIGS[:r % len(CONFIGS)]
                for c in order:
                    res = bench(setup.ports[c], args, a.secs, warmup)
                    results[w][c].append(res)
                    print(f"{w:22} round {r + 1} {c:10} {res['messages_per_sec']:>11.0f} msg/s "
                          f"p99 {res['p99_us']:8.1f} us  cpu {res['cpu_us_per_message']:.2f} us/msg "
                          f"lost {res['lost']} reordered {res['reordered']} corrupt {res['corrupt']}",
                          flush=True)
        memory = memory_per_session(setup, a.sessions, 4 if a.quick else 8)
        upgrades = upgrade_under_load(setup, a.rounds, max(3.0, 2 * a.secs))
        identity = identity_cost(setup, a.rounds, a.secs, warmup)
    finally:
        setup.stop()
    xdp_flood = run_xdp(a.rounds, 1 if a.quick else 2)
    xdp_cost = run_xdp_cost(3 if a.quick else 5)
    elapsed = time.time() - started
    write_report(a, results, memory, upgrades, identity, xdp_flood, xdp_cost, elapsed)
    shutil.rmtree(work, ignore_errors=True)
    runs = [r for w in results for c in results[w] for r in results[w][c]]
    runs += [r for _, plain, upgraded, _, _ in upgrades for r in plain + upgraded]
    runs += [r for rs in identity.values() for r in rs]
    bad = sum(r["lost"] + r["reordered"] + r["corrupt"] + r["errors"] for r in runs)
    bad += sum(tried - done for _, _, _, done, tried in upgrades)
    print(f"wrote {a.out} in {elapsed:.0f} s; lost+reordered+corrupt+errors (and failed "
          f"upgrades) over every run: {bad}")
    return 1 if bad else 0


def write_report(a, results, memory, upgrades, identity, xdp_flood, xdp_cost, elapsed):
    outdir = os.path.dirname(os.path.abspath(a.out))
    pngs = ("bench-throughput.png", "bench-latency.png")
    plotted = plot(results, outdir, pngs)

    def m(w, c, key):
        return med([r[key] for r in results[w][c]])

    def ratio(x, y):
        return x / y if y else 0.0

    lines = []
    add = lines.append
    add("# Benchmarks\n")
    add("Numbers from one run of `make bench" + (" QUICK=1" if a.quick else "") + "` on this "
        "machine; configurations alternate within each round and every figure is a median. "
        "This machine is noisy (2 cores, figures vary about ±20% from run to run), so compare "
        "the ratios within one run rather than absolute numbers across runs.\n")
    add(f"- Machine: {machine()}")
    add(f"- Command: `make bench{' QUICK=1' if a.quick else ''}` "
        f"(`tools/scripts/bench.py --rounds {a.rounds} --secs {a.secs:g}`), {elapsed:.0f} s, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    add("- Set-up: loopback; one `mcp-echo` backend (one thread); `mcpbench` closed loop, "
        "every answer checked; CPU is the whole machine's user+system+softirq time from "
        "/proc/stat per message (kernel forwarding runs in softirq and workers, not in mcpd).\n")
    add("## TCP: messages per second and latency\n")
    add("| workload | config | messages/s | MB/s | p50 µs | p99 µs | p99.9 µs | CPU µs/msg | lost/reordered/corrupt |")
    add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for w, _ in WORKLOADS:
        for c in CONFIGS:
            rs = results[w][c]
            add(f"| {w} | {c} | {m(w, c, 'messages_per_sec'):.0f} | {m(w, c, 'mb_per_sec'):.1f} | "
                f"{m(w, c, 'p50_us'):.1f} | {m(w, c, 'p99_us'):.1f} | {m(w, c, 'p999_us'):.1f} | "
                f"{m(w, c, 'cpu_us_per_message'):.2f} | "
                f"{sum(r['lost'] for r in rs)}/{sum(r['reordered'] for r in rs)}/{sum(r['corrupt'] for r in rs)} |")
    add("")
    if plotted:
        add(f"![throughput]({pngs[0]})\n")
        add(f"![latency]({pngs[1]})\n")

    w1, wb = WORKLOADS[0][0], WORKLOADS[2][0]
    user_vs_ha = ratio(m(w1, "mcpd-user", "messages_per_sec"), m(w1, "haproxy", "messages_per_sec"))
    bpf_vs_user = ratio(m(w1, "mcpd-bpf", "messages_per_sec"), m(w1, "mcpd-user", "messages_per_sec"))
    bpf_cpu = ratio(m(w1, "mcpd-user", "cpu_us_per_message"), m(w1, "mcpd-bpf", "cpu_us_per_message"))
    p99 = ratio(m(wb, "mcpd-bpf", "p99_us"), m(wb, "mcpd-user", "p99_us"))
    add("## Targets (ratios from this run)\n")
    add("| target | ratio | met |")
    add("| --- | ---: | --- |")
    add(f"| mcpd-user ≥ 1.2 × haproxy messages/s (16x32, 64 B, v1) | {user_vs_ha:.2f} | {'yes' if user_vs_ha >= 1.2 else 'no'} |")
    add(f"| mcpd-bpf ≥ mcpd-user messages/s (16x32, 64 B, v1) | {bpf_vs_user:.2f} | {'yes' if bpf_vs_user >= 1 else 'no'} |")
    add(f"| mcpd-bpf ≥ mcpd-user messages per CPU-second | {bpf_cpu:.2f} | {'yes' if bpf_cpu >= 1 else 'no'} |")
    add(f"| mcpd-bpf busy-poll p99 no worse than mcpd-user (bpf/user) | {p99:.2f} | {'yes' if p99 <= 1 else 'no'} |")
    wl, wp, wl2, wp2 = WORKLOADS[4][0], WORKLOADS[5][0], WORKLOADS[6][0], WORKLOADS[7][0]
    targets = [
        ("mcpd-auto ≥ 1.1 × direct messages/s (16x32, 64 B)",
         ratio(m(w1, "mcpd-auto", "messages_per_sec"), m(w1, "direct", "messages_per_sec")), 1.1, True),
        ("mcpd-auto ≥ 1.8 × mcpd-user messages/s (16x32, 64 B)",
         ratio(m(w1, "mcpd-auto", "messages_per_sec"), m(w1, "mcpd-user", "messages_per_sec")), 1.8, True),
        ("mcpd-auto CPU per message ≤ 0.7 × mcpd-user",
         ratio(m(w1, "mcpd-auto", "cpu_us_per_message"), m(w1, "mcpd-user", "cpu_us_per_message")), 0.7, False),
        ("mcpd-auto busy-poll p50 ≤ 1.1 × direct",
         ratio(m(wb, "mcpd-auto", "p50_us"), m(wb, "direct", "p50_us")), 1.1, False),
        ("mcpd-auto busy-poll p99 ≤ 1.1 × direct",
         ratio(m(wb, "mcpd-auto", "p99_us"), m(wb, "direct", "p99_us")), 1.1, False),
        ("mcpd-auto ≥ 1.8 × direct messages/s (16x4, 16 KiB)",
         ratio(m(wl, "mcpd-auto", "messages_per_sec"), m(wl, "direct", "messages_per_sec")), 1.8, True),
        ("mcpd-auto ≥ 2 × direct messages/s (PINGs only)",
         ratio(m(wp, "mcpd-auto", "messages_per_sec"), m(wp, "direct", "messages_per_sec")), 2.0, True),
        ("mcpd-auto ≥ 1.8 × direct messages/s (16x4, 16 KiB, 2 client threads)",
         ratio(m(wl2, "mcpd-auto", "messages_per_sec"), m(wl2, "direct", "messages_per_sec")), 1.8, True),
        ("mcpd-auto ≥ 2 × direct messages/s (PINGs only, 2 client threads)",
         ratio(m(wp2, "mcpd-auto", "messages_per_sec"), m(wp2, "direct", "messages_per_sec")), 2.0, True),
    ]
    for name, r, bound, at_least in targets:
        met = r >= bound if at_least else r <= bound
        add(f"| {name} | {r:.2f} | {'yes' if met else 'no'} |")
    add("")
    add("## Memory per session\n")
    add("Idle sessions held open by `mcpbench --idle` through each mcpd; the daemon's RSS "
        "growth and the whole machine's slab growth (both ends of every TCP connection, the "
        "client's, mcpd's and the backend's, and the fast path's map entries), divided by the "
        "number of sessions.\n")
    add("| config | sessions | mcpd RSS bytes/session | machine slab bytes/session | errors |")
    add("| --- | ---: | ---: | ---: | ---: |")
    for name, n, rss, slab, err in memory:
        add(f"| {name} | {n} | {rss:.0f} | {slab:.0f} | {err} |")
    add("")
    add("## Upgrading under load\n")
    add(f"`mcpctl upgrade` twice in each run ({' '.join(UPGRADE_ARGS)}, "
        f"{max(3.0, 2 * a.secs):g} s, at a third and two thirds of it), beside a run of the same "
        "length without, alternating; every answer checked. The worst latency with upgrades, "
        "against the worst without, is the pause an upgrade costs the sessions it carries.\n")
    add("| config | upgrades done | messages/s without | messages/s with | max µs without | "
        "max µs with | p99.9 µs with | lost/reordered/corrupt | errors |")
    add("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, plain, upgraded, done, tried in upgrades:
        def um(rs, key):
            return med([r[key] for r in rs])
        add(f"| {name} | {done}/{tried} | {um(plain, 'messages_per_sec'):.0f} | "
            f"{um(upgraded, 'messages_per_sec'):.0f} | {um(plain, 'max_us'):.0f} | "
            f"{um(upgraded, 'max_us'):.0f} | {um(upgraded, 'p999_us'):.1f} | "
            f"{sum(r['lost'] for r in upgraded)}/{sum(r['reordered'] for r in upgraded)}/"
            f"{sum(r['corrupt'] for r in upgraded)} | {sum(r['errors'] for r in plain + upgraded)} |")
    add("")
    add("## What checking identities costs\n")
    add(f"`auth = required` with a token in every HELLO ({' '.join(IDENTITY_ARGS)}), beside the "
        "same data path without auth, alternating. \"all allowed\": a token that allows every "
        "opcode, pool and rate, so the session is not restricted and nothing is checked per "
        "frame. \"checked\": a token for GET only with a rate of 100 000 000 frames/s, so the "
        "verdict looks up the session's permissions for every request, judges it and takes "
        "its tokens (never limiting).\n")
    for line in identity_table(identity):
        add(line)
    add("")
    add("## UDP and the XDP guard\n")
    add("Cost per packet in the kernel (`mcp-xdpcost`: BPF_PROG_TEST_RUN with repeat 1 000 000, "
        "beside an empty XDP program in the same run; the kernel's test-run loop itself costs "
        "the empty program's figure):\n")
    add(xdp_cost + "\n")
    add("A flood through a veth pair from a client namespace (`tools/scripts/bench-xdp.sh`): "
        "one core sends as fast as it can; with the guard attached the router side drops "
        "invalid frames and answers PINGs in XDP; without it mcpd reads and rejects each "
        "datagram and answers PINGs itself:\n")
    add(xdp_flood + "\n")
    with open(os.path.join(ROOT, "docs", "benchmarks-notes.md")) as f:
        add(f.read())
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
