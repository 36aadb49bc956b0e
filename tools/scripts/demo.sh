#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: the router working on loopback. Two mcp-echo backends, mcpd with the sockmap
# fast path, mcpbench load, live counters read from the pinned maps, and the bpftool
# commands an operator would type. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
PORT=${PORT:-7800}
SECS=${SECS:-6}

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: the sockmap fast path needs root (CAP_BPF, CAP_NET_ADMIN); run it as root" >&2
	exit 1
fi

work=$(mktemp -d /tmp/mcp-demo-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

cat >"$work/mcpd.ini" <<EOT
[mcpd]
listen = 127.0.0.1:$PORT
datapath = bpf
control = $work/mcpd.sock
[pool kv]
backend = 127.0.0.1:9001
backend = 127.0.0.1:9002
[pool sync]
backend = 127.0.0.1:9002
[routes]
GET = kv
SET = kv
SYNC = sync
default = kv
EOT

step "two reference backends (mcp-echo) on 127.0.0.1:9001 and :9002"
"$BIN/mcp-echo" --listen 127.0.0.1:9001 -q & pids+=($!)
"$BIN/mcp-echo" --listen 127.0.0.1:9002 -q & pids+=($!)

step "mcpd with the sockmap fast path, config:"
sed 's/^/    /' "$work/mcpd.ini"
"$BIN/mcpd" -f -c "$work/mcpd.ini" 2>"$work/mcpd.log" & pids+=($!)
for _ in $(seq 50); do
	grep -q "listening" "$work/mcpd.log" 2>/dev/null && break
	sleep 0.1
done
sed 's/^/    /' "$work/mcpd.log"

step "the kernel side, as an operator sees it"
show bpftool prog show name mcp_verdict
show ls /sys/fs/bpf/mcp/
show bpftool map show pinned /sys/fs/bpf/mcp/mcp_sock_state

step "load: mcpbench, 16 connections x 32 in flight, 64-byte payloads, GET/SET/SYNC, ${SECS}s"
"$BIN/mcpbench" --target "127.0.0.1:$PORT" --connections 16 --depth 32 --size 64 \
	--duration "$SECS" --ops GET,SET,SYNC --ping-every 64 >"$work/bench.txt" &
bench=$!
CTL=("$BIN/mcpctl" -s "$work/mcpd.sock")
step "live rates from the control socket (mcpctl top), one line a second"
"${CTL[@]}" top -n $((SECS - 3))
step "the sessions as mcpd sees them (mcpctl sessions; 'kernel': frames never reach mcpd)"
"${CTL[@]}" sessions | head -6
step "one session's sockets as the verdict sees them (BTF shows the fields by name)"
bpftool map dump pinned /sys/fs/bpf/mcp/mcp_sock_state | head -34
step "upgrade in place under load (mcpctl upgrade): a new mcpd takes every session"
show "${CTL[@]}" upgrade
mcpd_pid=$("${CTL[@]}" -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
pids+=("$mcpd_pid")
wait $bench && ok=yes || ok=no
step "mcpbench result (every answer checked for order and content)"
sed 's/^/    /' "$work/bench.txt"

step "status, pools and counters (mcpctl status / pools / stats)"
show "${CTL[@]}" status
show "${CTL[@]}" pools
show "${CTL[@]}" stats

step "stopping everything"
kill "$mcpd_pid"
# Not our child (the upgrade started it): wait until it is gone or a zombie.
for _ in $(seq 50); do
	grep -qs '^State:[[:space:]]*[^Z]' "/proc/$mcpd_pid/status" || break
	sleep 0.1
done
tail -n 3 "$work/mcpd.log" | sed 's/^/    /'
[ "$ok" = yes ] && echo "demo: OK, zero lost, reordered or corrupt frames through the bpf path"
[ "$ok" = yes ]
