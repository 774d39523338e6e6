#!/bin/bash
# Inside the lab guest: the kernel's own NVMe/TCP target (nvmet-tcp) and initiator (nvme-tcp)
# on loopback, driven by fio, so that the target hands the pages of its read commands to TCP.
# Usage: storage-nvmet.sh up | run OUT [FIO-ARGS...] | down
#   up    load the modules, make a RAM-backed namespace (brd, /dev/ram0, 64 MiB) exported by
#         a port on $STORAGE_ADDR:4420 (default 127.0.0.1), connect the initiator (inside the
#         network namespace $STORAGE_NETNS when set: the NIC path); prints its block device
#   run   fio on it: write a verifiable pattern, then read it back with verification (the reads
#         make the target send data pages); fio's JSON output in OUT/fio-write.json and
#         OUT/fio-read.json; exit status fio's (non-zero when verification fails)
#   down  disconnect and tear the target down (configfs objects in reverse order)
# The subsystem NQN is zctrace-lab; its namespace 1 is /dev/ram0.
set -uo pipefail
NQN=zctrace-lab
CFS=/sys/kernel/config/nvmet
dev_of() { # the initiator's namespace block device of our subsystem (nvme_core's native
	# multipath, Debian's default, puts it under the subsystem: nvme-subsysN/nvmeNn1)
	local c
	for c in /sys/class/nvme-subsystem/nvme-subsys*; do
		[[ -e $c/subsysnqn && $(cat "$c/subsysnqn") == "$NQN" ]] || continue
		c=$(ls -d "$c"/nvme*n1 2>/dev/null | head -n 1)
		[[ -n $c ]] && basename "$c" && return 0
	done
	return 1
}
case ${1:-} in
up)
	modprobe brd rd_nr=1 rd_size=65536 max_part=0 || exit 1
	modprobe nvmet-tcp && modprobe nvme-tcp || exit 1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || exit 1
	mkdir "$CFS/subsystems/$NQN" && echo 1 >"$CFS/subsystems/$NQN/attr_allow_any_host" || exit 1
	mkdir "$CFS/subsystems/$NQN/namespaces/1" || exit 1
	echo -n /dev/ram0 >"$CFS/subsystems/$NQN/namespaces/1/device_path" || exit 1
	echo 1 >"$CFS/subsystems/$NQN/namespaces/1/enable" || exit 1
	mkdir "$CFS/ports/1" || exit 1
	echo tcp >"$CFS/ports/1/addr_trtype"; echo ipv4 >"$CFS/ports/1/addr_adrfam"
	echo "${STORAGE_ADDR:-127.0.0.1}" >"$CFS/ports/1/addr_traddr"; echo 4420 >"$CFS/ports/1/addr_trsvcid"
	ln -s "$CFS/subsystems/$NQN" "$CFS/ports/1/subsystems/$NQN" || exit 1
	# one I/O queue: the lab guest runs on one vCPU
	# the kernel's initiator makes its sockets in the namespace of the process that connects
	${STORAGE_NETNS:+ip netns exec "$STORAGE_NETNS"} nvme connect -t tcp -a "${STORAGE_ADDR:-127.0.0.1}" -s 4420 -n "$NQN" --nr-io-queues=1 >&2 || exit 1
	for _ in $(seq 50); do d=$(dev_of) && [[ -b /dev/$d ]] && { echo "/dev/$d"; exit 0; }; sleep 0.2; done
	echo "storage-nvmet: no namespace device appeared" >&2; exit 1
	;;
run)
	out=$2; shift 2
	d=$(dev_of) || { echo "storage-nvmet: not connected" >&2; exit 1; }
	exec bash "$(dirname "$0")/storage-fio.sh" "/dev/$d" "$out" "$@"
	;;
down)
	nvme disconnect -n "$NQN" >&2
	rm -f "$CFS/ports/1/subsystems/$NQN"
	rmdir "$CFS/ports/1" 2>/dev/null
	echo 0 >"$CFS/subsystems/$NQN/namespaces/1/enable" 2>/dev/null
	rmdir "$CFS/subsystems/$NQN/namespaces/1" "$CFS/subsystems/$NQN" 2>/dev/null
	modprobe -r nvme-tcp nvmet-tcp nvmet brd 2>/dev/null
	[[ ! -e $CFS/subsystems/$NQN ]]
	;;
*) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac
