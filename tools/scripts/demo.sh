#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: the router working on loopback.
set -euo pipefail
echo "make demo: the router (mcpd, mcp-echo, mcpbench) arrives with the router issue;"
echo "this build has the wire format, the protocol library and its tests (make test)."
exit 1
