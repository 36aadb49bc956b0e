#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A short end-to-end session through mcpd running under valgrind (memcheck): sessions of both
# versions, PINGs, a control request, a bad client, then SIGTERM. Any memcheck error, or a
# definite leak, fails it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BUILD:-build}/bin
command -v valgrind >/dev/null || { echo "SKIPPED: valgrind is not installed"; exit 77; }
work=$(mktemp -d /tmp/mcp-valgrind-XXXXXX)
pids=()
trap '{ for p in "${pids[@]}"; do kill -9 "$p" || true; wait "$p" || true; done; } 2>/dev/null; rm -rf "$work"' EXIT
read -r port bport < <(python3 tools/scripts/free_port.py 2)
"$BIN/mcp-echo" --listen "127.0.0.1:$bport" -q & pids+=($!)
cat >"$work/mcpd.ini" <<EOT
[mcpd]
listen = 127.0.0.1:$port
datapath = user
control = $work/mcpd.sock
[pool kv]
backend = 127.0.0.1:$bport
[routes]
default = kv
EOT
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--log-file="$work/valgrind.log" "$BIN/mcpd" -f -c "$work/mcpd.ini" 2>"$work/mcpd.log" &
vg=$!
pids+=("$vg")
# valgrind starts slowly on a busy machine: wait until the control socket answers.
for _ in $(seq 300); do
	"$BIN/mcpctl" -s "$work/mcpd.sock" status >/dev/null 2>&1 && break
	sleep 0.1
done
"$BIN/mcpctl" -s "$work/mcpd.sock" status >/dev/null || { echo "mcpd under valgrind did not start"; cat "$work/mcpd.log"; exit 1; }
"$BIN/mcpbench" -t "127.0.0.1:$port" -c 2 -d 4 -s 0-500 -n 500 -v 1 --ping-every 5 >/dev/null
"$BIN/mcpbench" -t "127.0.0.1:$port" -c 2 -d 4 -s 0-500 -n 500 -v 2 >/dev/null
"$BIN/mcpctl" -s "$work/mcpd.sock" sessions >/dev/null
"$BIN/mcpctl" -s "$work/mcpd.sock" stats >/dev/null
exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'not mcp at all' >&3; sleep 0.3; exec 3>&-
kill -TERM "$vg"
rc=0
wait "$vg" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "mcpd under valgrind exited $rc"
	cat "$work/valgrind.log"
	tail -5 "$work/mcpd.log"
	exit 1
fi
echo "valgrind: no errors, no definite leaks"
