#!/bin/bash
# Inside the lab guest (started by test/lab/msgzc-kernel.lab.ts and test/lab/make-fixtures.ts):
# `zctrace doctor`, then for each mode (stream, aggregate) one `zctrace live --pack
# msgzc-kernel` tracing the msgzc workload once per fault: none, leak, early-free, reuse (the
# workload's old name of rewrite: the buffer rewritten in place and resent while in flight),
# rewrite-quiet (rewritten in place, never resent), read-into (read(2) into the buffer in
# flight) and resend (no fault: unchanged buffers sent again while in flight).
# Usage: [ZCTRACE_LAB_COUNT=N ZCTRACE_LAB_EVERY=M] msgzc-kernel.sh OUT WORKLOAD [MODE...]
#        (MODE: stream | aggregate; default both)
# Writes into OUT (a lab --rw directory): doctor.txt; per MODE: MODE.ndjson (zctrace's
# records), MODE.raw (bpftrace's stdout, via bpftrace-tee), MODE.trace (the recorded events),
# MODE.err, MODE-FAULT.json (the workload's accounting); timings in log.
set -uo pipefail
out=$1 wl=$2; shift 2
modes=("$@"); ((${#modes[@]})) || modes=(stream aggregate)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/../../.." || exit 125
log() { echo "$(date +%s.%N | cut -c1-14) $*" >>"$out/log"; }
uname -r >"$out/uname"
log "doctor"
node bin/zctrace.js doctor >"$out/doctor.txt" 2>&1
log "doctor exit $?"
# The faults, each with the options that make it deterministic: early-free, reuse,
# rewrite-quiet and read-into with a slow receiver (the sent data stays in flight, so the
# munmap, the rewrite or the read meets buffers the kernel still references); rewrite-quiet
# makes one send more, so that its last faulted send is followed by another on the socket (the
# program checks a send's bytes at the socket's next send; a change after the last one is
# never seen), from a buffer of its own each (a send that waits for a buffer's completion
# would let the kernel complete the rewritten send first: the change is then seen after the
# kernel let go, and not reported); leak holds its socket open past zctrace's --leak-after (10 s: under TCG the
# live pipeline can lag seconds behind the kernel, see docs/msgzc-kernel.md); resend cycles
# twice as many sends over 2 buffers, never waiting for completions, with a slow receiver too
# (each buffer is sent again while earlier sends of it are in flight: without it, on the
# lab's one vCPU, loopback completes each send before the next one and nothing is resent).
# ZCTRACE_LAB_COUNT sends per run (32), a fault every ZCTRACE_LAB_EVERY sends (16).
FAULTS=(none leak early-free reuse rewrite-quiet read-into resend)
c=${ZCTRACE_LAB_COUNT:-32} e=${ZCTRACE_LAB_EVERY:-16}
n="--count $c --fault-every $e"
declare -A ARGS=(
	[none]="$n"
	[leak]="$n --duration 14"
	[early-free]="$n --slow-receiver"
	[reuse]="$n --slow-receiver"
	[rewrite-quiet]="--count $((c + 1)) --buffers $((c + 1)) --fault-every $e --slow-receiver"
	[read-into]="$n --slow-receiver"
	[resend]="--count $((c * 2)) --buffers 2 --slow-receiver"
)
for mode in "${modes[@]}"; do
	agg=(); [[ $mode == aggregate ]] && agg=(--aggregate)
	: >"$out/$mode.raw"
	log "$mode: start zctrace"
	ZCTRACE_BPFTRACE=$here/bpftrace-tee ZCTRACE_TEE=$out/$mode.raw \
		node bin/zctrace.js live --pack msgzc-kernel "${agg[@]}" --headless --interval 1s \
		--leak-after 10s --attach-timeout 300s --record "$out/$mode.trace" --force \
		>"$out/$mode.ndjson" 2>"$out/$mode.err" &
	zc=$!
	wait_ready "$out/$mode.raw" $zc
	log "$mode: attached ($(grep -c . "$out/$mode.raw") lines so far)"
	for f in "${FAULTS[@]}"; do
		t0=$(date +%s.%N)
		# shellcheck disable=SC2086 # ARGS are words
		"$wl" --fault "$f" ${ARGS[$f]} >"$out/$mode-$f.json" 2>"$out/$mode-$f.wlerr"
		log "$mode: $f exit $? in $(echo "$(date +%s.%N) - $t0" | bc) s"
	done
	sleep 2
	kill -INT $zc
	wait $zc
	log "$mode: zctrace exit $?"
done
log "end"
