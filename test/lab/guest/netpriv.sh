#!/bin/bash
# Inside the lab guest booted from the patched kernel (lab/kernel), started by
# test/lab/netpriv.lab.ts: `zctrace live --pack netpriv` with no owner loaded (must refuse), then
# `zctrace doctor` with zcsim loaded, then per MODE: receiver, insmod zcsim fault=MODE, zctrace
# live --pack netpriv (headless, recording), one zcsim run, /proc/zcsim, stop, rmmod.
# Usage: netpriv.sh OUT ZCSIM_KO [MODE...]
#   MODE: none | leak | underflow | early_free   (zcsim's faults, loopback as is), or
#         netem (fault none, lo made NIC-like: MTU 1500, no TSO/GSO/GRO, netem loss+delay;
#         NETEM_ARGS, default "loss 2% delay 1ms"; must come last: lo stays that way)
# Writes into OUT (a lab --rw directory): nocb.err (the refusal), doctor.txt; per MODE:
# MODE.raw (the program's stdout, via netpriv-bpftrace), MODE.ndjson (zctrace's records), MODE.trace
# (the recorded events), MODE.err, MODE.proc (/proc/zcsim after the run), MODE.recv (the
# receiver's check of the data), MODE.progs (bpftool -j prog show while the programs were
# loaded: run counts, run time, recursion misses), MODE.dmesg; timings in log.
set -uo pipefail
out=$1 ko=$2; shift 2
modes=("$@"); ((${#modes[@]})) || modes=(none leak underflow early_free)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/../../.." || exit 125
log() { echo "$(date +%s.%N | cut -c1-14) $*" >>"$out/log"; }
uname -r >"$out/uname"
# Free a read skb at once instead of deferring it to its allocating CPU (a command's last
# references can otherwise wait seconds for that CPU's next softirq: lab/kernel/README.md).
sysctl -qw net.core.skb_defer_max=0
# BPF run time and run count per program, for the header's Overhead line (bpftool prog show)
sysctl -qw kernel.bpf_stats_enabled=1
COUNT=${COUNT:-4} PAGES=${PAGES:-4}

log "no owner loaded: live must refuse"
node bin/zctrace.js live --pack netpriv --headless --duration 1s --attach-timeout 300s >"$out/nocb.out" 2>"$out/nocb.err"
echo $? >"$out/nocb.status"
log "nocb exit $(cat "$out/nocb.status")"

port=5100
for mode in "${modes[@]}"; do
	port=$((port + 1))
	fault=$mode count=$COUNT pages=$PAGES
	if [[ $mode == netem ]]; then
		fault=none count=${NETEM_COUNT:-8} pages=${NETEM_PAGES:-16}
		ip link set lo mtu 1500
		ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || log "ethtool -K lo failed"
		# shellcheck disable=SC2086 # words
		tc qdisc replace dev lo root netem ${NETEM_ARGS:-loss 2% delay 1ms} || log "tc netem failed"
		log "lo: mtu $(cat /sys/class/net/lo/mtu), qdisc $(tc qdisc show dev lo | head -1)"
	fi
	python3 lab/kernel/zcsim/recv.py "$port" >"$out/$mode.recv" 2>&1 &
	rp=$!
	for _ in $(seq 1 100); do grep -q listening "$out/$mode.recv" 2>/dev/null && break; sleep 0.1; done
	insmod "$ko" port="$port" count="$count" pages="$pages" fault="$fault" fault_cmd=1 wait_ms=5000 || { log "$mode: insmod failed"; kill $rp; continue; }
	if [[ $mode == none ]]; then
		log "doctor"
		node bin/zctrace.js doctor >"$out/doctor.txt" 2>&1
		log "doctor exit $?"
	fi
	# early_free names the free function itself; the other modes use zcsim's default
	ff=(); [[ $mode == early_free ]] && ff=(--free-fn zcsim_cmnd_done)
	: >"$out/$mode.raw"
	log "$mode: start zctrace"
	ZCTRACE_BPFTRACE=$here/netpriv-bpftrace ZCTRACE_TEE=$out/$mode.raw \
		node bin/zctrace.js live --pack netpriv "${ff[@]}" --headless --interval 1s --leak-after 5s \
		--attach-timeout 300s --record "$out/$mode.trace" --force >"$out/$mode.ndjson" 2>"$out/$mode.err" &
	zc=$!
	wait_ready "$out/$mode.raw" $zc
	log "$mode: attached"
	sleep 1
	t0=$(date +%s.%N)
	echo run >/proc/zcsim || log "$mode: run failed"
	log "$mode: run took $(echo "$(date +%s.%N) - $t0" | bc) s"
	# a leaked command must outlive --leak-after; the others get a moment for the last lines
	if [[ $mode == leak ]]; then sleep 7; else sleep 2; fi
	cat /proc/zcsim >"$out/$mode.proc"
	# the programs' run counts, run time and recursion misses (a probe skipped because another
	# BPF program was running on that CPU when an interrupt fired it), while still loaded
	bpftool -j prog show >"$out/$mode.progs" 2>/dev/null || log "$mode: bpftool failed"
	kill -INT $zc
	wait $zc
	log "$mode: zctrace exit $?"
	rmmod zcsim || log "$mode: rmmod failed"
	kill $rp 2>/dev/null
	wait $rp 2>/dev/null
	dmesg | grep 'zcsim:' >"$out/$mode.dmesg"
	dmesg -C
done
log "end"
