#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: the router working on loopback. Two mcp-echo backends, mcpd with datapath auto
# (every client and backend here is local, so the inline sk_msg path carries the sessions),
# mcpbench load, live counters read from the pinned maps, and the bpftool commands an
# operator would type. Leaves the machine as it found it: its processes stopped,
# its pinned maps (in a pin root of its own) removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
# The router on 7800 and the backends on 9001 and 9002, unless something else has them.
read -r free1 free2 free3 < <(tools/scripts/free_port.py 3)
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${PORT:-7800}; busy "$PORT" && PORT=$free1
B1=9001; busy $B1 && B1=$free2
B2=9002; busy $B2 && B2=$free3
SECS=${SECS:-6}

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: the kernel data paths need root (CAP_BPF, CAP_NET_ADMIN); run it as root" >&2
	exit 1
fi

work=$(mktemp -d /tmp/mcp-demo-XXXXXX)
pin=/sys/fs/bpf/mcp-demo-$$ # not the production pin root: the demo removes it when done
pids=()
# Wait until a process is gone (or a zombie: the upgrade started it, so it is not our child).
gone() {
	for _ in $(seq 100); do
		grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status" || return 0
		sleep 0.1
	done
	return 1
}
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do gone "$p" || kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work" "$pin"
}
trap cleanup EXIT
# Output cut short on purpose (the first lines of a long listing) never fails the demo.
first() { # first N FILE
	sed -n "1,$1p" "$2"
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# A key for signed identities (root's, mode 0600, or mcpd refuses it).
(umask 077; echo "1 $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/auth.keys")
cat >"$work/mcpd.ini" <<EOT
[mcpd]
listen = 127.0.0.1:$PORT
datapath = auto
control = $work/mcpd.sock
pin_root = $pin
auth = optional
auth_keys = $work/auth.keys
[client reader]
allow = GET
[pool kv]
backend = 127.0.0.1:$B1
backend = 127.0.0.1:$B2
[pool sync]
backend = 127.0.0.1:$B2
[routes]
GET = kv
SET = kv
SYNC = sync
default = kv
EOT

step "two reference backends (mcp-echo) on 127.0.0.1:$B1 and :$B2"
"$BIN/mcp-echo" --listen 127.0.0.1:$B1 -q & pids+=($!)
"$BIN/mcp-echo" --listen 127.0.0.1:$B2 -q & pids+=($!)

step "mcpd, datapath auto (local sessions inline, remote ones through mcpd), config:"
sed 's/^/    /' "$work/mcpd.ini"
"$BIN/mcpd" -f -c "$work/mcpd.ini" 2>"$work/mcpd.log" & pids+=($!)
for _ in $(seq 300); do
	grep -q "listening on 127" "$work/mcpd.log" 2>/dev/null && break
	kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/mcpd.log" >&2; echo "make demo: mcpd did not start" >&2; exit 1; }
	sleep 0.1
done
sed 's/^/    /' "$work/mcpd.log"

cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
step "the kernel side, as an operator sees it"
show bpftool prog show name mcp_sockops
show bpftool prog show name mcp_inline_verdict
show bpftool cgroup show "$cgroot"
show ls "$pin"/
show bpftool map show pinned "$pin"/mcp_inline_socks

step "load: mcpbench, 16 connections x 32 in flight, 64-byte payloads, GET/SET/SYNC, ${SECS}s"
"$BIN/mcpbench" --target "127.0.0.1:$PORT" --connections 16 --depth 32 --size 64 \
	--duration "$SECS" --ops GET,SET,SYNC --ping-every 64 >"$work/bench.txt" &
bench=$!
CTL=("$BIN/mcpctl" -s "$work/mcpd.sock")
step "live rates from the control socket (mcpctl top), one line a second"
"${CTL[@]}" top -n $((SECS - 3))
step "the sessions as mcpd sees them (mcpctl sessions; 'inline': frames go from the client's sendmsg straight to the backend's socket, never through mcpd)"
"${CTL[@]}" sessions >"$work/sessions.txt"
first 6 "$work/sessions.txt"
step "one socket of a session as the inline verdict sees it (BTF shows the fields by name)"
bpftool map dump pinned "$pin"/mcp_inline_state >"$work/sock_state.txt"
first 40 "$work/sock_state.txt"
step "what the inline verdict did (mcpctl maps reads the pinned counters)"
show "${CTL[@]}" -p "$pin" maps
step "upgrade in place under load (mcpctl upgrade): a new mcpd takes every session"
show "${CTL[@]}" upgrade
mcpd_pid=$("${CTL[@]}" -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
pids+=("$mcpd_pid")
wait $bench && ok=yes || ok=no
step "mcpbench result (every answer checked for order and content)"
sed 's/^/    /' "$work/bench.txt"

step "signed identities: a token for 'reader' allowing GET and SET (mcpctl token issue), narrowed by the config's [client reader] to GET"
token=$("$BIN/mcpctl" token issue --client reader --ttl 10m --allow GET,SET --keys "$work/auth.keys")
show "$BIN/mcpctl" token inspect "$token" --keys "$work/auth.keys"
echo '$ mcpbench --token ... --ops GET --frames 2000'
"$BIN/mcpbench" --target "127.0.0.1:$PORT" --frames 2000 --depth 8 --ops GET --token "$token" |
	grep -E '^(messages|frames)' | sed 's/^/    /'
echo '$ mcpbench --token ... --ops SET --frames 10    (PERMISSION_DENIED, judged in the kernel)'
"$BIN/mcpbench" --target "127.0.0.1:$PORT" --frames 10 --ops SET --token "$token" |
	grep -E '^errors' | sed 's/^/    /' || true
show "${CTL[@]}" clients

step "status, pools and counters (mcpctl status / pools / stats)"
show "${CTL[@]}" status
show "${CTL[@]}" pools
show "${CTL[@]}" stats

step "stopping everything"
kill "$mcpd_pid"
gone "$mcpd_pid" || true
tail -n 3 "$work/mcpd.log" | sed 's/^/    /'
rm -rf "$pin"
echo "removed the demo's pinned maps ($pin)"
[ "$ok" = yes ] && echo "demo: OK, zero lost, reordered or corrupt frames through the inline path"
[ "$ok" = yes ]
