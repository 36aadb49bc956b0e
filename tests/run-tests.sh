#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every test tier and print a summary. A test that exits 77 was SKIPPED (it says why);
# with CI=true a skip is a failure, because CI runs as root on a kernel that has everything.
set -u
BUILD=${BUILD:-build}
export BUILD
pass=0 fail=0 skip=0
# Tracked files as they were before any test ran (compared at the end).
checkout_before=$(git status --porcelain --untracked-files=no 2>/dev/null)
failed=()

run() { # run NAME CMD...
	local name=$1 out rc log
	shift
	# Output to a file, not a pipe: a process a test left behind must not hold us up.
	log=$(mktemp /tmp/mcp-test-XXXXXX.log)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	out=$(cat "$log")
	rm -f "$log"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "PASS    $name"
	elif [ $rc -eq 77 ]; then
		echo "SKIPPED $name: $(echo "$out" | grep -m1 SKIPPED | sed 's/.*SKIPPED:* *//')"
		if [ "${CI:-}" = true ]; then
			fail=$((fail + 1))
			failed+=("$name (skipped under CI)")
		else
			skip=$((skip + 1))
		fi
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL    $name (exit $rc)"
		# What failed, wherever it is in the output, then how the output ended.
		echo "$out" | grep -E '\[  (ERROR|FAILED) |\[   LINE   \]|Sanitizer|^ERROR|expected ' |
			head -20 | sed 's/^/    ! /'
		echo "$out" | tail -40 | sed 's/^/    | /'
	fi
}

echo "== unit tests (cmocka)"
for t in "$BUILD"/bin/tests/test_*; do
	case $(basename "$t") in *_bpf) continue ;; esac
	run "unit $(basename "$t")" "$t"
done

echo "== unit tests under ASan+UBSan"
for t in "$BUILD"/san/bin/tests/test_*; do
	run "asan $(basename "$t")" "$t"
done

echo "== BPF program tests (prog-test-run in the running kernel)"
for t in "$BUILD"/bin/tests/test_*_bpf; do
	run "bpf $(basename "$t")" "$t"
done

echo "== fuzz targets (${FUZZ_SECONDS_TEST:-10}s each, seeds in tests/fuzz/corpus)"
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	work="$BUILD/fuzz/corpus-$name" # libFuzzer writes new inputs to the first directory
	mkdir -p "$work"
	run "fuzz $name" "$t" -max_total_time="${FUZZ_SECONDS_TEST:-10}" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$BUILD/fuzz/$name-" "$work" \
		"tests/fuzz/corpus/$name"
done

echo "== end-to-end: the real mcpd on loopback, the same suite on each data path"
for dp in user bpf auto; do
	run "e2e router ($dp data path)" "$BUILD/bin/tests/e2e_router" "$dp"
done
echo "== end-to-end: faults (garbage and stalled backends, slow senders, floods, 10 000 sessions)"
for dp in user bpf auto; do
	run "e2e faults ($dp data path)" "$BUILD/bin/tests/e2e_faults" "$dp"
done
echo "== end-to-end: the same suite against mcpd built with ASan+UBSan"
for dp in user bpf auto; do
	MCP_MCPD="$BUILD/san/bin/mcpd" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run "e2e router, mcpd under ASan+UBSan ($dp data path)" "$BUILD/bin/tests/e2e_router" "$dp"
done
echo "== valgrind: a short session through mcpd"
run "valgrind mcpd" tests/e2e/valgrind.sh

echo "== end-to-end: control socket, mcpctl, /metrics, anomaly detection"
for dp in user bpf auto; do
	run "e2e identities and permissions ($dp data path)" "$BUILD/bin/tests/e2e_auth" "$dp"
done
for dp in user bpf auto; do
	run "e2e control ($dp data path)" "$BUILD/bin/tests/e2e_control" "$dp"
done
echo "== end-to-end: the XDP guard on a veth pair, packets from a client namespace"
run "e2e xdp guard (netns + veth)" "$BUILD/bin/tests/e2e_xdp"

echo "== packaging: make install and make uninstall into a scratch DESTDIR"
run "install" tests/install.sh

echo "== benchmarks: make bench QUICK=1 runs and writes its report (no timing is judged)"
bench_smoke() {
	local out="$BUILD/bench-smoke/benchmarks.md"
	mkdir -p "$(dirname "$out")"
	[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: make bench needs root"; return 77; }
	tools/scripts/bench.py --quick --out "$out" || return 1
	for h in "## TCP" "## Targets" "## Memory per session" "## UDP and the XDP guard"; do
		grep -q "$h" "$out" || { echo "report lacks '$h'"; return 1; }
	done
	[ -s "$(dirname "$out")/bench-throughput.png" ] || { echo "no plot"; return 1; }
}
run "bench smoke (make bench QUICK=1)" bench_smoke

# Two builds side by side: here the same mcpd twice, one short round on each path; the table
# must come out, with a ratio for each row (what the ratio is, is not judged).
builds_smoke() {
	local out
	[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: bench_builds.py needs root (the inline path)"; return 77; }
	out=$(tools/scripts/bench_builds.py --other "$BUILD/bin/mcpd" --paths user,auto --rounds 1 \
		--secs 0.5) || { echo "$out"; return 1; }
	echo "$out"
	[ "$(echo "$out" | grep -cE '^\| 16x32.* \| (user|auto) \| [0-9]+ \| [0-9]+ \| [0-9.]+ \|')" -eq 4 ] ||
		{ echo "the comparison lacks a row"; return 1; }
}
run "bench smoke (bench_builds.py, one build against itself)" builds_smoke

echo "== make demo: runs to its end and leaves nothing behind (processes, pinned maps)"
demo_smoke() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: make demo needs root"; return 77; }
	SECS=4 BIN="$BUILD/bin" tools/scripts/demo.sh || return 1
	if ls -d /sys/fs/bpf/mcp-demo-* 2>/dev/null; then
		echo "the demo left its pinned maps behind"
		return 1
	fi
	# Nor a program on a cgroup: mcpd's sockops goes with it (a bpf_link).
	local cg
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -n "$cg" ] && bpftool cgroup show "$cg" | grep -q mcp_sockops; then
		echo "a sockops program stayed attached to $cg"
		return 1
	fi
}
run "demo (tools/scripts/demo.sh)" demo_smoke

echo "== the checkout: no test and no quick benchmark wrote a tracked file"
checkout_clean() {
	git rev-parse --git-dir >/dev/null 2>&1 || { echo "not a git checkout: nothing to compare"; return 0; }
	local dirty
	dirty=$(git status --porcelain --untracked-files=no)
	[ -z "$dirty" ] || { echo "tracked files changed by the tests:"; echo "$dirty"; return 1; }
}
if [ -z "$checkout_before" ]; then
	run "checkout unchanged" checkout_clean
else
	echo "        (the checkout had local changes before the tests: not compared)"
fi

echo
echo "== summary: $pass passed, $fail failed, $skip skipped${CI:+ (CI=$CI)}"
for f in "${failed[@]}"; do echo "   failed: $f"; done
[ $fail -eq 0 ]
