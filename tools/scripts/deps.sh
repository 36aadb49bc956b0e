#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages mcprouter's build, tests, demo and benchmarks need.
# Idempotent: installs only what is missing, runs `apt-get update` only when needed.
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config           # build: userspace with gcc, BPF with clang
	libclang-rt-14-dev                       # libFuzzer and sanitizer runtimes for clang
	bpftool                                  # skeletons; inspection
	libbpf-dev                               # loading BPF programs and maps
	libxdp-dev xdp-tools                     # XDP through the dispatcher; xdp-filter neighbour
	protobuf-c-compiler libprotobuf-c-dev    # HELLO/ERROR/control payloads
	libcmocka-dev                            # unit tests
	libinih-dev                              # mcpd config files (INI)
	libsodium-dev                            # keyed hashes (udp_verify's cookies)
	libjson-c-dev                            # mcpctl -j, mcpbench --json
	libmicrohttpd-dev                        # the /metrics page
	libsystemd-dev                           # sd_notify: mcpd.service is Type=notify
	iproute2                                 # network namespaces and veth in tests
	ethtool                                  # checksum offload off on test veths
	python3                                  # the benchmark driver (tools/scripts/bench.py)
	haproxy                                  # make bench: the relay mcpd is compared with
	gnuplot-nox                              # make bench: plots
	prometheus                               # promtool, which checks the /metrics page
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root (or apt-get install them) first" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
