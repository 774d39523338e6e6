#!/bin/bash
# Inside the lab guest booted from the patched kernel (lab/kernel), started by
# test/lab/netpriv.lab.ts: `zctrace live --pack netpriv` with no owner loaded (must refuse), then
# `zctrace doctor` with zcsim loaded, then per MODE: receiver, insmod zcsim fault=MODE, zctrace
# live --pack netpriv (headless, recording), one zcsim run, /proc/zcsim, stop, rmmod.
# Usage: netpriv.sh OUT ZCSIM_KO [MODE...]      (ZCTARGET_KO: the second owner's module)
#   MODE: none | leak | underflow | early_free   (zcsim's faults, loopback as is), or
#         netem (fault none, lo made NIC-like: MTU 1500, no TSO/GSO/GRO, netem loss+delay;
#         NETEM_ARGS, default "loss 2% delay 1ms"; lo stays that way),
#         nic-none | nic-leak | nic-underflow | nic-early_free (the same faults over a real
#         driver: zcsim sends through eth0, a virtio-net NIC, to the receiver behind eth1 in its
#         own network namespace, both NICs on one segment (lab/run --nics 2); netem loss,
#         delay and reordering on eth0, NIC_NETEM_ARGS, default "loss 2% delay 1ms reorder 25% 50%"),
#         nic-notso (fault none over the NIC with its TSO and GSO off),
#         zctarget-none | zctarget-leak | zctarget-early_release, with zctarget-nic-... too (the
#         second owner, lab/kernel/zctarget: iSCSI-SCST-like; zctrace knows nothing of it but
#         --free-fn zctarget_cmnd_release)
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

# The NIC path, set up once: eth0 here (10.99.0.1), eth1 in a network namespace of its own
# (10.99.0.2) where the receiver runs, so the traffic cannot take the loopback shortcut.
nic_ns=
nic_setup() {
	[[ -n $nic_ns ]] && return 0
	modprobe virtio_net 2>/dev/null # a module on Debian's kernel; built into the lab kernel
	[[ -e /sys/class/net/eth0 && -e /sys/class/net/eth1 ]] || { log "no eth0/eth1 (lab/run --nics 2)"; return 1; }
	unshare --net sleep 100000 &
	nic_ns=$!
	for _ in $(seq 1 50); do [[ $(readlink /proc/$nic_ns/ns/net) != "$(readlink /proc/self/ns/net)" ]] && break; sleep 0.1; done
	ip link set eth1 netns $nic_ns &&
		nsenter -t $nic_ns -n sh -c 'ip link set lo up && ip addr add 10.99.0.2/24 dev eth1 && ip link set eth1 up' &&
		ip addr replace 10.99.0.1/24 dev eth0 && ip link set eth0 up || { log "nic setup failed"; return 1; }
	# shellcheck disable=SC2086 # words
	tc qdisc replace dev eth0 root netem ${NIC_NETEM_ARGS:-loss 2% delay 1ms reorder 25% 50%} || log "tc netem on eth0 failed"
	log "eth0: mtu $(cat /sys/class/net/eth0/mtu), qdisc $(tc qdisc show dev eth0 | head -1); offloads: $(ethtool -k eth0 2>/dev/null | grep -E '^(scatter-gather|tcp-segmentation-offload|tx-checksumming):' | tr -d '\n')"
	echo "$(ethtool -k eth0 2>&1)" >"$out/nic.offloads"
}

port=5100
for mode in "${modes[@]}"; do
	port=$((port + 1))
	owner=zcsim m=$mode
	[[ $mode == zctarget-* ]] && owner=zctarget m=${mode#zctarget-}
	okos=$ko proc=/proc/$owner recvopts=() ff=()
	if [[ $owner == zctarget ]]; then
		okos=${ZCTARGET_KO:?} recvopts=(--any) ff=(--free-fn zctarget_cmnd_release)
	fi
	fault=$m count=$COUNT pages=$PAGES
	dest=127.0.0.1 ns=()
	if [[ $m == nic-* ]]; then
		nic_setup || continue
		fault=${m#nic-} count=${NIC_COUNT:-8} pages=${NIC_PAGES:-16} dest=10.99.0.2 ns=(nsenter -t "$nic_ns" -n)
		# nic-notso: fault none, with the NIC's segmentation offload off (TSO and GSO), like the
		# NICs of the seed's time: TCP sends MSS-sized skbs, each holding its own page references
		# until the device has sent it; the other nic- modes keep the offloads the NIC offers
		if [[ $fault == notso ]]; then
			fault=none
			ethtool -K eth0 tso off gso off >/dev/null 2>&1 || log "ethtool -K eth0 failed"
		else
			ethtool -K eth0 tso on gso on >/dev/null 2>&1 || log "ethtool -K eth0 failed"
		fi
		log "$mode: eth0 $(ethtool -k eth0 2>/dev/null | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload):' | tr -d '\n')"
	elif [[ $m == netem ]]; then
		fault=none count=${NETEM_COUNT:-8} pages=${NETEM_PAGES:-16}
		ip link set lo mtu 1500
		ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || log "ethtool -K lo failed"
		# shellcheck disable=SC2086 # words
		tc qdisc replace dev lo root netem ${NETEM_ARGS:-loss 2% delay 1ms} || log "tc netem failed"
		log "lo: mtu $(cat /sys/class/net/lo/mtu), qdisc $(tc qdisc show dev lo | head -1)"
	fi
	"${ns[@]}" python3 lab/kernel/zcsim/recv.py "$port" --bind "$dest" "${recvopts[@]}" >"$out/$mode.recv" 2>&1 &
	rp=$!
	for _ in $(seq 1 100); do grep -q listening "$out/$mode.recv" 2>/dev/null && break; sleep 0.1; done
	insmod "$okos" addr="$dest" port="$port" count="$count" pages="$pages" fault="$fault" fault_cmd=1 wait_ms=5000 || { log "$mode: insmod failed"; kill $rp; continue; }
	if [[ $m == none ]]; then
		log "doctor ($owner)"
		df=doctor.txt; [[ $owner == zcsim ]] || df=doctor-$owner.txt
		node bin/zctrace.js doctor >"$out/$df" 2>&1
		log "doctor exit $?"
	fi
	# zcsim's early_free names the free function itself; its other modes use zcsim's default
	[[ $owner == zcsim && $fault == early_free ]] && ff=(--free-fn zcsim_cmnd_done)
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
	echo run >"$proc" || log "$mode: run failed"
	log "$mode: run took $(echo "$(date +%s.%N) - $t0" | bc) s"
	# a leaked command must outlive --leak-after (zctarget's early release leaves its last page
	# reference unseen: a leak too); the others get a moment for the last lines
	if [[ $fault == leak || $fault == early_release ]]; then sleep 7; else sleep 2; fi
	cat "$proc" >"$out/$mode.proc"
	# the programs' run counts, run time and recursion misses (a probe skipped because another
	# BPF program was running on that CPU when an interrupt fired it), while still loaded
	bpftool -j prog show >"$out/$mode.progs" 2>/dev/null || log "$mode: bpftool failed"
	kill -INT $zc
	wait $zc
	log "$mode: zctrace exit $?"
	rmmod "$owner" || log "$mode: rmmod failed"
	kill $rp 2>/dev/null
	wait $rp 2>/dev/null
	dmesg | grep "$owner:" >"$out/$mode.dmesg"
	dmesg -C
done
[[ -z $nic_ns ]] || kill $nic_ns
log "end"
