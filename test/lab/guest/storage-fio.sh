#!/bin/bash
# Inside the lab guest: the fio run both storage scenarios share (storage-nvmet.sh and
# storage-iscsi.sh call it with their initiator's block device): write a verifiable pattern
# (crc32c), then read it back with verification, so the target sends data pages.
# Usage: storage-fio.sh DEVICE OUT [FIO-ARGS...]: fio's JSON in OUT/fio-write.json and
# OUT/fio-read.json; exit status fio's (non-zero when verification fails)
dev=$1; out=$2; shift 2
common=(--filename="$dev" --direct=1 --ioengine=psync --size=16M --bs=64k --verify=crc32c --verify_fatal=1 --output-format=json)
fio --name=write --rw=write "${common[@]}" --do_verify=0 "$@" >"$out/fio-write.json" || exit $?
fio --name=read --rw=read "${common[@]}" --verify_only=1 "$@" >"$out/fio-read.json"
