#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The XDP guard against floods, measured through a real veth pair: a client namespace sends
# as fast as one core can, and we count what the router side handles per second with the
# guard attached (xdp) and without it (user: mcpd checks every datagram itself).
# Configurations alternate for ROUNDS rounds of SECS seconds; medians and ratios are printed
# as a markdown table (to stdout) for docs/benchmarks.md.
#   tools/scripts/bench-xdp.sh [ROUNDS] [SECS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
ROUNDS=${1:-3}
SECS=${2:-2}
NS=mcpb$$
RIF=mcpbr$$
CIF=mcpbc$$
read -r PORT BPORT < <(tools/scripts/free_port.py 2)
PIN=/sys/fs/bpf/mcp-bench-xdp-$$ # its own pinned maps, removed when done
work=$(mktemp -d /tmp/mcp-bench-xdp-XXXXXX)
pids=()

cleanup() {
	# Every job this script started (mcpd too), so the wait below cannot hang.
	for p in "${pids[@]}" $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip link del "$RIF" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$work" "$PIN"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "bench-xdp: needs root (network namespaces, XDP)" >&2; exit 1; }

ip netns add "$NS"
ip link add "$RIF" type veth peer name "$CIF"
ip link set "$CIF" netns "$NS"
ip addr add 10.78.0.1/24 dev "$RIF"
ip link set "$RIF" up
ip -n "$NS" addr add 10.78.0.2/24 dev "$CIF"
ip -n "$NS" link set "$CIF" up
ip -n "$NS" link set lo up
ip -n "$NS" link set dev "$CIF" xdp obj build/tests/bpf/xdp_pass.bpf.o sec xdp
ip netns exec "$NS" ethtool -K "$CIF" tx off >/dev/null

"$BIN/mcp-echo" --listen "127.0.0.1:$BPORT" -q & pids+=($!)

config() { # config xdp|user
	cat <<EOT
[mcpd]
listen = 10.78.0.1:$PORT
datapath = user
control = $work/mcpd.sock
pin_root = $PIN
$([ "$1" = xdp ] && printf 'xdp_interfaces = %s\nxdp_mode = native\n' "$RIF")
rate_pps = 0
[pool kv]
backend = 127.0.0.1:$BPORT
[routes]
default = kv
EOT
}

udp_in() { awk '/^Udp: [0-9]/ { print $2 }' /proc/net/snmp; }
xdp_count() { "$BIN/mcpctl" -p "$PIN" -j maps | python3 -c "import json,sys; print(json.load(sys.stdin)['xdp']['$1']['packets'])"; }

declare -A R
for round in $(seq "$ROUNDS"); do
	for cfg in xdp user; do
		config "$cfg" >"$work/mcpd.ini"
		"$BIN/mcpd" -f -c "$work/mcpd.ini" 2>"$work/mcpd-$cfg.log" &
		mpid=$!
		for _ in $(seq 50); do grep -q "listening on 10.78.0.1:$PORT/udp" "$work/mcpd-$cfg.log" && break; sleep 0.1; done
		[ "$cfg" = xdp ] && { for _ in $(seq 50); do grep -q "XDP guard attached" "$work/mcpd-$cfg.log" && break; sleep 0.1; done; }

		# Invalid frames: dropped by the guard, or read and rejected by mcpd.
		if [ "$cfg" = xdp ]; then b=$(xdp_count drop_bad_magic); else b=$(udp_in); fi
		sent=$("$BIN/mcp-udpflood" --netns "$NS" --target "10.78.0.1:$PORT" --kind invalid --seconds "$SECS" --json)
		if [ "$cfg" = xdp ]; then a=$(xdp_count drop_bad_magic); else a=$(udp_in); fi
		R[$cfg,drop,$round]=$(( (a - b) / SECS ))
		R[$cfg,offered,$round]=$(echo "$sent" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['sent_per_sec']))")

		# PINGs: answered by the guard in place, or by mcpd.
		pong=$("$BIN/mcp-udpflood" --netns "$NS" --target "10.78.0.1:$PORT" --kind ping --seconds "$SECS" --json)
		R[$cfg,pong,$round]=$(echo "$pong" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['answers_per_sec']))")
		kill "$mpid"; wait "$mpid" 2>/dev/null || true
	done
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
med() { local vals=(); for r in $(seq "$ROUNDS"); do vals+=("${R[$1,$2,$r]}"); done; median "${vals[@]}"; }

xd=$(med xdp drop); ud=$(med user drop); xo=$(med xdp offered); uo=$(med user offered)
xp=$(med xdp pong); up=$(med user pong)
ratio() { python3 -c "print(f'{$1 / max($2, 1):.2f}')"; }
echo "| UDP flood through veth (median of $ROUNDS rounds x ${SECS}s) | guard (XDP) | mcpd (userspace) | ratio |"
echo "| --- | ---: | ---: | ---: |"
echo "| invalid frames offered per second | $xo | $uo | |"
echo "| invalid frames dropped/rejected per second | $xd | $ud | $(ratio "$xd" "$ud") |"
echo "| PONGs per second | $xp | $up | $(ratio "$xp" "$up") |"
