#!/bin/bash
# Inside the lab guest, for bench/lab-msgzc-kernel.ts: the msgzc workload (fault none, COUNT
# sends of 64 KiB) untraced, then under `zctrace live --pack msgzc-kernel` streaming, then
# under --aggregate, with an untraced run between and after (the baseline is their median).
# Usage: bench.sh OUT WORKLOAD COUNT
# Writes OUT/bench.tsv: one line per run: what, seconds, then for traced runs: raw lines,
# and the files MODE.ndjson (zctrace's summary), MODE.raw, MODE-wl.json.
set -uo pipefail
out=$1 wl=$2 count=$3
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/../../.." || exit 125
uname -r >"$out/uname"
now() { date +%s.%N; }
# the program's event lines (not its heartbeat, nor bpftrace's own)
lines() { grep -cP '^(submit|put|frags|copy|done|read|skfree|unmap|exit|hist)\t' "$1"; }
base() {
	local t0; t0=$(now)
	"$wl" --fault none --count "$count" >"$out/base-$1.json" 2>/dev/null
	printf 'base\t%s\n' "$(echo "$(now) - $t0" | bc)" >>"$out/bench.tsv"
}
: >"$out/bench.tsv"
base 1
for mode in stream aggregate; do
	agg=(); [[ $mode == aggregate ]] && agg=(--aggregate)
	: >"$out/$mode.raw"
	ZCTRACE_BPFTRACE=$here/bpftrace-tee ZCTRACE_TEE=$out/$mode.raw \
		node bin/zctrace.js live --pack msgzc-kernel "${agg[@]}" --headless --interval 1s \
		--leak-after 1h --attach-timeout 300s >"$out/$mode.ndjson" 2>"$out/$mode.err" &
	zc=$!
	wait_ready "$out/$mode.raw" $zc
	sleep 2
	l0=$(lines "$out/$mode.raw")
	t0=$(now)
	"$wl" --fault none --count "$count" >"$out/$mode-wl.json" 2>/dev/null
	t1=$(now)
	sleep 3
	kill -INT $zc
	wait $zc
	printf '%s\t%s\t%s\n' "$mode" "$(echo "$t1 - $t0" | bc)" "$(($(lines "$out/$mode.raw") - l0))" >>"$out/bench.tsv"
	base "after-$mode"
done
