#!/bin/bash
# Inside the lab guest (started by test/lab/storage.lab.ts): the kernel's own storage targets on
# loopback, one after the other: NVMe/TCP (storage-nvmet.sh) and LIO iSCSI (storage-iscsi.sh),
# each traced by `zctrace live --pack kernel-target` while fio writes a pattern and reads it back
# with verification (the reads make the target send data pages).
# Usage: [STORAGE_NETEM="loss 1% delay 2ms ..."] storage.sh OUT [TARGET...]
#        (TARGET: nvmet | iscsi | nvmet-netem | iscsi-netem | nvmet-nic-netem; default nvmet
#        iscsi nvmet-nic-netem; NAME-netem: the same target with a netem qdisc while fio runs
#        (loss 1%, delay 2 ms, reorder 25%), so that TCP retransmits and holds pages longer, on
#        lo, or with -nic- over a virtio-net NIC (lab/run --nics 2: the target on eth0 as
#        10.99.0.1, the initiator behind eth1 as 10.99.0.2 in network namespace zcst, the
#        qdisc on eth0, the target's side); no doctor run;
#        STORAGE_NETEM: a netem qdisc on lo for the whole run, lab/run --env STORAGE_NETEM=...)
# Writes into OUT (a lab --rw directory), per TARGET: TARGET.doctor (doctor with the target
# set up), TARGET.ndjson (zctrace's records), TARGET.raw (bpftrace's stdout), TARGET.trace,
# TARGET.err, TARGET-fio-write.json, TARGET-fio-read.json, TARGET.fio (fio's exit status);
# timings in log.
set -uo pipefail
out=$1; shift
targets=("$@"); ((${#targets[@]})) || targets=(nvmet iscsi nvmet-nic-netem)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$here/../../.." || exit 125
log() { echo "$(date +%s.%N | cut -c1-14) $*" >>"$out/log"; }
uname -r >"$out/uname"
if [[ -n ${STORAGE_NETEM:-} ]]; then
	# shellcheck disable=SC2086 # netem's arguments, split on purpose
	tc qdisc add dev lo root netem $STORAGE_NETEM || { log "netem failed"; exit 1; }
	log "netem on lo: $STORAGE_NETEM"
fi
# --leak-after 15s: LIO keeps a session's last command, and its pages, until the initiator
# acknowledges its status (open-iscsi's NOP-Out every 5 s when idle, or its next command): 5 s
# after fio's last read here, which a 5 s threshold reports as a leak (see docs/probes.md)
# the NIC path: eth1 (the initiator's side) in a network namespace of its own, so that the
# traffic between 10.99.0.1 and 10.99.0.2 leaves through virtio-net, not loopback
nic_done=
nic_up() {
	[[ -n $nic_done ]] && return 0
	modprobe virtio_net 2>/dev/null # a module on Debian's kernel
	[[ -e /sys/class/net/eth0 && -e /sys/class/net/eth1 ]] || { log "no eth0/eth1 (lab/run --nics 2)"; return 1; }
	ip netns add zcst && ip link set eth1 netns zcst && ip -n zcst link set lo up &&
		ip -n zcst addr add 10.99.0.2/24 dev eth1 && ip -n zcst link set eth1 up &&
		ip addr replace 10.99.0.1/24 dev eth0 && ip link set eth0 up || { log "nic setup failed"; return 1; }
	nic_done=1
}
for t in "${targets[@]}"; do
	s=$here/storage-${t%%-*}.sh
	dev=lo
	if [[ $t == *-nic-* ]]; then
		nic_up || exit 1
		dev=eth0
		export STORAGE_ADDR=10.99.0.1 STORAGE_NETNS=zcst
	else
		unset STORAGE_ADDR STORAGE_NETNS
	fi
	log "$t up"
	"$s" up >"$out/$t.dev" 2>>"$out/log" || { log "$t up failed"; exit 1; }
	if [[ $t != *-netem ]]; then
		log "$t doctor"
		node bin/zctrace.js doctor >"$out/$t.doctor" 2>&1
		log "$t doctor exit $?"
	fi
	: >"$out/$t.raw"
	ZCTRACE_BPFTRACE=$here/bpftrace-tee ZCTRACE_TEE=$out/$t.raw \
		node bin/zctrace.js live --pack kernel-target --headless --interval 1s --leak-after 15s \
		--attach-timeout 300s --record "$out/$t.trace" --force >"$out/$t.ndjson" 2>"$out/$t.err" &
	zc=$!
	wait_ready "$out/$t.raw" $zc || log "$t: zctrace did not attach"
	log "$t attached"
	if [[ $t == *-netem ]]; then
		tc qdisc add dev $dev root netem loss 1% delay 2ms reorder 25% || { log "$t: netem failed"; exit 1; }
		log "$t: netem on $dev: $(tc qdisc show dev $dev)"
	fi
	mkdir -p "$out/$t.fio.d"
	"$s" run "$out/$t.fio.d"
	echo $? >"$out/$t.fio"
	mv "$out/$t.fio.d/fio-write.json" "$out/$t-fio-write.json"; mv "$out/$t.fio.d/fio-read.json" "$out/$t-fio-read.json"
	rmdir "$out/$t.fio.d"
	log "$t fio exit $(cat "$out/$t.fio")"
	# LIO keeps a session's last command, and its pages, until the initiator acknowledges its
	# status (a NOP-Out every 5 s when idle): stopping 2 s after fio cut that command off open
	# in some runs. Wait until zctrace's latest stats record counts every read fio issued and
	# none open (at most 30 s, past the 15 s leak threshold: a command that never ends is then
	# reported, and the test judges it)
	want=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).jobs[0].read.total_ios)' "$out/$t-fio-read.json" 2>/dev/null || echo 1)
	settled "$out/$t.ndjson" 150 "$want" && log "$t settled ($want reads)" || log "$t: not every one of $want reads ended after 30 s"
	sleep 1
	[[ $t != *-netem ]] || tc qdisc del dev $dev root || log "$t: netem not removed"
	kill -INT $zc
	wait $zc
	log "$t zctrace exit $?"
	"$s" down 2>>"$out/log"
	log "$t down exit $?"
	# the next target's scenario loads brd afresh
	modprobe -r brd 2>/dev/null
done
