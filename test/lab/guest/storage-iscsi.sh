#!/bin/bash
# Inside the lab guest: the kernel's LIO iSCSI target (iscsi_target_mod) and the open-iscsi
# initiator (iscsid + the kernel's iscsi_tcp) on loopback, driven by fio, so that the target
# hands the pages of its read commands to TCP. Same interface as storage-nvmet.sh:
# Usage: storage-iscsi.sh up | run OUT [FIO-ARGS...] | down
#   up    load the modules, export a RAM-backed LUN (brd, /dev/ram0, 64 MiB, iblock backstore)
#         from target IQN iqn.2026-12.org.zctrace:lab on 127.0.0.1:3260 (no authentication,
#         any initiator), start iscsid, discover and log in; prints the initiator's disk
#   run   fio: a verifiable write, then a verifying read (OUT/fio-write.json, fio-read.json)
#   down  log out, stop iscsid, tear the target down (configfs objects in reverse order)
set -uo pipefail
IQN=iqn.2026-12.org.zctrace:lab
T=/sys/kernel/config/target
TPG=$T/iscsi/$IQN/tpgt_1
disk_of() { # the SCSI disk of our session
	local b
	for b in /sys/class/iscsi_session/session*/device/target*/*/block/*; do
		[[ -e $b ]] && basename "$b" && return 0
	done
	return 1
}
case ${1:-} in
up)
	modprobe brd rd_nr=1 rd_size=65536 max_part=0 || exit 1
	modprobe iscsi_target_mod && modprobe target_core_iblock && modprobe iscsi_tcp && modprobe sd_mod || exit 1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || exit 1
	mkdir -p "$T/core/iblock_0/ram0" || exit 1
	echo "udev_path=/dev/ram0" >"$T/core/iblock_0/ram0/control" || exit 1
	echo 1 >"$T/core/iblock_0/ram0/enable" || exit 1
	mkdir -p "$TPG/lun/lun_0" || exit 1
	ln -s "$T/core/iblock_0/ram0" "$TPG/lun/lun_0/ram0" || exit 1
	mkdir "$TPG/np/127.0.0.1:3260" || exit 1
	for a in authentication=0 generate_node_acls=1 cache_dynamic_acls=1 demo_mode_write_protect=0; do
		echo "${a#*=}" >"$TPG/attrib/${a%=*}" || exit 1
	done
	echo 1 >"$TPG/enable" || exit 1
	mkdir -p /run/lock/iscsi /var/lib/iscsi /etc/iscsi
	[[ -s /etc/iscsi/initiatorname.iscsi ]] || echo "InitiatorName=iqn.2026-12.org.zctrace:guest" >/etc/iscsi/initiatorname.iscsi
	iscsid || exit 1
	iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 >&2 || exit 1
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --login >&2 || exit 1
	for _ in $(seq 100); do d=$(disk_of) && [[ -b /dev/$d ]] && { echo "/dev/$d"; exit 0; }; sleep 0.2; done
	echo "storage-iscsi: no disk appeared" >&2; exit 1
	;;
run)
	out=$2; shift 2
	d=$(disk_of) || { echo "storage-iscsi: not logged in" >&2; exit 1; }
	exec bash "$(dirname "$0")/storage-fio.sh" "/dev/$d" "$out" "$@"
	;;
down)
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --logout >&2
	iscsiadm -k 0 2>/dev/null
	echo 0 >"$TPG/enable" 2>/dev/null
	rmdir "$TPG/np/127.0.0.1:3260" 2>/dev/null
	rm -f "$TPG/lun/lun_0/ram0"
	rmdir "$TPG/lun/lun_0" "$TPG" "$T/iscsi/$IQN" 2>/dev/null
	rmdir "$T/core/iblock_0/ram0" "$T/core/iblock_0" 2>/dev/null
	[[ ! -e $T/iscsi/$IQN ]]
	;;
*) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac
