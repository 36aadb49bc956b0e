#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every libFuzzer target in DIR for FUZZ_SECONDS each, from the seed corpus in
# tests/fuzz/corpus/<target>/. New inputs go to DIR/corpus-<target>/, crashes to DIR/.
# Exit status: 0 when no target found a crash.
set -u
dir=${1:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
rc=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	work="$dir/corpus-$name"
	mkdir -p "$work"
	log="$dir/$name.log"
	if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/$name-" "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
		echo "PASS fuzz $name (${secs}s, ${runs:-?} runs)"
	else
		echo "FAIL fuzz $name: see $log"
		tail -30 "$log"
		rc=1
	fi
done
exit $rc
