#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make install / make uninstall into a scratch DESTDIR: every file lands where it should,
# the unit passes systemd-analyze, the installed mcpd checks the example config, and
# uninstall leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mktemp -d /tmp/mcp-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr >/dev/null
for f in usr/sbin/mcpd usr/bin/mcpctl usr/bin/mcp-echo usr/bin/mcpbench \
	usr/share/mcprouter/mcp_sockmap.bpf.o usr/share/mcprouter/mcp_inline.bpf.o \
	usr/share/mcprouter/mcp_xdp.bpf.o \
	usr/share/man/man8/mcpd.8 usr/share/man/man8/mcpctl.8 \
	usr/lib/systemd/system/mcpd.service etc/mcp/mcpd.ini.example; do
	[ -s "$dest/$f" ] || { echo "missing: $f"; exit 1; }
done
grep -q '^Type=notify' "$dest/usr/lib/systemd/system/mcpd.service"
grep -q '^ExecStart=/usr/sbin/mcpd -f -c /etc/mcp/mcpd.ini' "$dest/usr/lib/systemd/system/mcpd.service"
"$dest/usr/sbin/mcpd" --check -c "$dest/etc/mcp/mcpd.ini.example"
"$dest/usr/sbin/mcpd" --version | grep -q 'libbpf'
if command -v systemd-analyze >/dev/null; then
	# verify wants the ExecStart binary where the unit says: point it at the staged one.
	sed "s|/usr/sbin/mcpd|$dest/usr/sbin/mcpd|g; s|/etc/mcp/mcpd.ini|$dest/etc/mcp/mcpd.ini.example|g" \
		"$dest/usr/lib/systemd/system/mcpd.service" >"$dest/mcpd.service"
	out=$(systemd-analyze verify "$dest/mcpd.service" 2>&1 || true)
	if echo "$out" | grep -qi 'error\|bad\|invalid'; then echo "$out"; exit 1; fi
fi
if command -v man >/dev/null; then
	man -l "$dest/usr/share/man/man8/mcpd.8" 2>/dev/null | grep -q 'takeover'
fi
make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
left=$(find "$dest" -type f ! -name mcpd.service | wc -l)
[ "$left" -eq 0 ] || { echo "uninstall left $left files"; find "$dest" -type f; exit 1; }
echo "install and uninstall: ok"
